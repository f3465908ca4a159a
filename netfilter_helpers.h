/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version compatibility for the RTSP helpers.  All differences
 * between the kernels we support live here, so that the module sources
 * read like mainline code.  Features are detected from the target kernel's
 * headers by Kbuild (RTSP_HAVE_* flags, see Kbuild) rather than from
 * version numbers, because stable updates backport API changes.
 *
 * Checked against Debian's 5.10, 6.1, 6.12 (bookworm-backports and trixie),
 * 7.2 and 7.3 headers: tests/matrix builds the modules for each.
 */
#ifndef _NETFILTER_HELPERS_H
#define _NETFILTER_HELPERS_H

#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/timer.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

/*
 * Helper registration.  Up to 7.1 the kernel links our own array of
 * helpers into its hash; from 7.2 it registers a copy of each helper and
 * hands back pointers to the copies, which unregistration then takes (and
 * frees).  So fields set after registration do not reach the kernel there.
 */
/* ports= (8 at most) and "rtsp" on 554, IPv4 and IPv6 each. */
#define RTSP_COMPAT_MAX_HELPERS	((8 + 1) * 2)
#ifdef RTSP_HAVE_HELPER_REGISTER_COPY
static struct nf_conntrack_helper *
rtsp_compat_registered[RTSP_COMPAT_MAX_HELPERS] __maybe_unused;

static inline int rtsp_helpers_register(struct nf_conntrack_helper *h,
					unsigned int n)
{
	if (WARN_ON(n > ARRAY_SIZE(rtsp_compat_registered)))
		return -EINVAL;
	return nf_conntrack_helpers_register(h, n, rtsp_compat_registered);
}

static inline void rtsp_helpers_unregister(struct nf_conntrack_helper *h,
					   unsigned int n)
{
	nf_conntrack_helpers_unregister(rtsp_compat_registered, n);
}

/*
 * The kernel's copy outlives the module with the connections that use it,
 * and nf_ct_helper_destroy() would still call its ->destroy: take ours
 * out of the copies before the module goes (callers then wait for RCU).
 * nf_ct_helper_destroy() reads ->destroy twice, with plain loads ("if
 * (helper->destroy) helper->destroy(ct)"): a NULL stored between them
 * would be called.  So put in a kernel function of the same type that
 * is harmless there, never NULL: the kernel removes a dying connection's
 * expectations right after ->destroy anyway.
 */
static inline void rtsp_helpers_forget_destroy(struct nf_conntrack_helper *h,
					       unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		WRITE_ONCE(rtsp_compat_registered[i]->destroy,
			   nf_ct_remove_expectations);
}
#else
static inline int rtsp_helpers_register(struct nf_conntrack_helper *h,
					unsigned int n)
{
	return nf_conntrack_helpers_register(h, n);
}

static inline void rtsp_helpers_unregister(struct nf_conntrack_helper *h,
					   unsigned int n)
{
	nf_conntrack_helpers_unregister(h, n);
}

/* Unregistering detaches the helper from every connection: nothing to do. */
static inline void rtsp_helpers_forget_destroy(struct nf_conntrack_helper *h,
					       unsigned int n)
{
}
#endif

/*
 * 7.3 hashes helpers by name and protocol only: nf_ct_helper_init() lost
 * its default port, port and id arguments, and a second helper of the same
 * name and family is refused (-EBUSY).  The helper names stay those older
 * kernels give: @name on the default port, "<name>-<id>" on the others.
 */
static inline void
rtsp_ct_helper_init(struct nf_conntrack_helper *helper, u16 l3num,
		    u16 protonum, const char *name, u16 default_port,
		    u16 spec_port, u32 id,
		    const struct nf_conntrack_expect_policy *exp_pol,
		    u32 expect_class_max,
		    int (*help)(struct sk_buff *skb, unsigned int protoff,
				struct nf_conn *ct,
				enum ip_conntrack_info ctinfo),
		    struct module *module)
{
#ifdef RTSP_HAVE_HELPER_INIT_NO_PORTS
	char buf[NF_CT_HELPER_NAME_LEN];

	if (spec_port != default_port) {
		snprintf(buf, sizeof(buf), "%s-%u", name, id);
		name = buf;
	}
	nf_ct_helper_init(helper, l3num, protonum, name, exp_pol,
			  expect_class_max, help, NULL, module);
#else
	nf_ct_helper_init(helper, l3num, protonum, name, default_port,
			  spec_port, id, exp_pol, expect_class_max, help, NULL,
			  module);
#endif
}

/* nf_ct_refresh() lost its skb argument in 7.2 (and 6.12.113). */
#ifdef RTSP_HAVE_REFRESH_NO_SKB
static inline void rtsp_ct_refresh(struct nf_conn *ct,
				   const struct sk_buff *skb, u32 extra_jiffies)
{
	nf_ct_refresh(ct, extra_jiffies);
}
#else
static inline void rtsp_ct_refresh(struct nf_conn *ct,
				   const struct sk_buff *skb, u32 extra_jiffies)
{
	nf_ct_refresh(ct, skb, extra_jiffies);
}
#endif

/*
 * Newer APIs under their mainline names on older kernels.
 */

/*
 * 6.1.192, 6.12.117 and 7.x replaced the timer of an expectation by a u32
 * deadline and added nf_ct_exp_is_expired().  Before, an expectation left
 * its hash when its timer fired: one whose timer is no longer pending is
 * on its way out.
 */
#ifndef RTSP_HAVE_EXP_IS_EXPIRED
static inline bool nf_ct_exp_is_expired(const struct nf_conntrack_expect *exp)
{
	return !timer_pending(&exp->timeout);
}
#endif

/* 7.2 renamed from_timer(); 6.1 added timer_delete() for del_timer(). */
#ifndef timer_container_of
#define timer_container_of(var, callback_timer, timer_fieldname) \
	from_timer(var, callback_timer, timer_fieldname)
#endif
#ifndef RTSP_HAVE_TIMER_DELETE
#define timer_delete(timer) del_timer(timer)
#endif

/* 6.1: get_random_u32_below(); 5.10 has prandom_u32_max(). */
#ifndef RTSP_HAVE_RANDOM_U32_BELOW
static inline u32 get_random_u32_below(u32 ceil)
{
	return prandom_u32_max(ceil);
}
#endif

/* 6.0 packed nf_ct_iterate_cleanup_net()'s arguments in a struct. */
static inline void rtsp_ct_iterate_net(struct net *net,
				       int (*iter)(struct nf_conn *i, void *data),
				       void *data)
{
#ifdef RTSP_HAVE_ITER_DATA
	struct nf_ct_iter_data d = { .net = net, .data = data };

	nf_ct_iterate_cleanup_net(iter, &d);
#else
	nf_ct_iterate_cleanup_net(net, iter, data, 0, 0);
#endif
}

#endif /* _NETFILTER_HELPERS_H */

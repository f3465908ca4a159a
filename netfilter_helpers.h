/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version compatibility for the out-of-tree build of the RTSP
 * helpers.  The module sources use the API of the newest kernel (7.3)
 * only, as the in-tree patch series does (scripts/mkpatch leaves this
 * header out of it).  For older kernels, each mainline function that
 * differs is mapped by a macro of its name to a wrapper of another name,
 * rtsp_compat_*(), defined here; the header defines no function under a
 * mainline name and holds no data.  Features are detected from the target
 * kernel's headers by Kbuild (RTSP_HAVE_* flags, see Kbuild) rather than
 * from version numbers, because stable updates backport API changes.
 *
 * Checked against Debian's 5.10, 6.1, 6.12 (bookworm-backports and trixie),
 * 7.2 and 7.3 headers: tests/matrix builds the modules for each.
 */
#ifndef _NETFILTER_HELPERS_H
#define _NETFILTER_HELPERS_H

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

/*
 * Helper registration.  Up to 7.1 the kernel links the caller's own array
 * of helpers into its hash; from 7.2 it registers a copy of each helper
 * and hands back pointers to the copies, which unregistration then takes.
 * Before 7.2 the "copies" are the helpers themselves.
 */
#ifndef RTSP_HAVE_HELPER_REGISTER_COPY
static inline int
rtsp_compat_helpers_register(struct nf_conntrack_helper *h, unsigned int n,
			     struct nf_conntrack_helper **copies)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		copies[i] = &h[i];
	return nf_conntrack_helpers_register(h, n);
}

static inline void
rtsp_compat_helpers_unregister(struct nf_conntrack_helper **copies,
			       unsigned int n)
{
	if (n)
		nf_conntrack_helpers_unregister(copies[0], n);
}

#define nf_conntrack_helpers_register(h, n, copies) \
	rtsp_compat_helpers_register(h, n, copies)
#define nf_conntrack_helpers_unregister(copies, n) \
	rtsp_compat_helpers_unregister(copies, n)
#endif

/*
 * 7.3 hashes helpers by name and protocol only: nf_ct_helper_init() lost
 * its default port, port and id arguments (the caller names a helper of
 * another port itself, "<name>-<id>" as older kernels did).  Before, a
 * helper also has the port its name is for, and two of the same protocol
 * and port are refused: the caller of nf_ct_helper_init() has it in a
 * variable named port (rtsp_helper_pair_init()), which this macro passes.
 */
#ifndef RTSP_HAVE_HELPER_INIT_NO_PORTS
static inline void
rtsp_compat_helper_init(struct nf_conntrack_helper *helper, u16 l3num,
			u16 protonum, const char *name, u16 port,
			const struct nf_conntrack_expect_policy *exp_pol,
			u32 expect_class_max,
			int (*help)(struct sk_buff *skb, unsigned int protoff,
				    struct nf_conn *ct,
				    enum ip_conntrack_info ctinfo),
			int (*from_nlattr)(struct nlattr *attr,
					   struct nf_conn *ct),
			struct module *module)
{
	/* The same port twice: @name as it is. */
	nf_ct_helper_init(helper, l3num, protonum, name, port, port, 0,
			  exp_pol, expect_class_max, help, from_nlattr, module);
}

#define nf_ct_helper_init(helper, l3num, protonum, name, exp_pol,	\
			  expect_class_max, help, from_nlattr, module)	\
	rtsp_compat_helper_init(helper, l3num, protonum, name, port,	\
				exp_pol, expect_class_max, help,	\
				from_nlattr, module)
#endif

/*
 * nf_ct_refresh() lost its skb argument in 7.2 (and 6.12.113); before, it
 * only used it for accounting, which nf_ct_refresh() does not ask for.
 */
#ifndef RTSP_HAVE_REFRESH_NO_SKB
static inline void rtsp_compat_ct_refresh(struct nf_conn *ct,
					  u32 extra_jiffies)
{
	nf_ct_refresh(ct, NULL, extra_jiffies);
}

#define nf_ct_refresh(ct, extra_jiffies) \
	rtsp_compat_ct_refresh(ct, extra_jiffies)
#endif

/*
 * 6.1.192, 6.12.117 and 7.x replaced the timer of an expectation by a u32
 * deadline and added nf_ct_exp_is_expired().  Before, an expectation left
 * its hash when its timer fired: one whose timer is no longer pending is
 * on its way out.
 */
#ifndef RTSP_HAVE_EXP_IS_EXPIRED
static inline bool
rtsp_compat_exp_is_expired(const struct nf_conntrack_expect *exp)
{
	return !timer_pending(&exp->timeout);
}

#define nf_ct_exp_is_expired(exp) rtsp_compat_exp_is_expired(exp)
#endif

/* 7.3: kzalloc_obj(), a typed kzalloc() of one object (a macro there too). */
#ifndef kzalloc_obj
#define kzalloc_obj(p, gfp) kzalloc(sizeof(p), gfp)
#endif

/* 6.0 packed nf_ct_iterate_cleanup_net()'s arguments in a struct. */
#ifndef RTSP_HAVE_ITER_DATA
struct rtsp_compat_iter_data {
	struct net *net;
	void *data;
	u32 portid;
	int report;
};

static inline void
rtsp_compat_ct_iterate_cleanup_net(int (*iter)(struct nf_conn *i, void *data),
				   const struct rtsp_compat_iter_data *d)
{
	nf_ct_iterate_cleanup_net(d->net, iter, d->data, d->portid,
				  d->report);
}

#define nf_ct_iter_data rtsp_compat_iter_data
#define nf_ct_iterate_cleanup_net(iter, d) \
	rtsp_compat_ct_iterate_cleanup_net(iter, d)
#endif

#endif /* _NETFILTER_HELPERS_H */

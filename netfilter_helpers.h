/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version compatibility for the RTSP helpers.  All differences
 * between the kernels we support live here, so that the module sources
 * read like mainline code.  Features are detected from the target kernel's
 * headers by Kbuild (RTSP_HAVE_* flags, see Kbuild) rather than from
 * version numbers, because stable updates backport API changes.
 */
#ifndef _NETFILTER_HELPERS_H
#define _NETFILTER_HELPERS_H

#include <linux/version.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

/*
 * Helper registration.  Up to 7.1 the kernel links our own array of
 * helpers into its hash; from 7.2 it copies each helper and hands back the
 * copies, which unregistration then takes.
 */
#ifdef RTSP_HAVE_HELPER_REGISTER_COPY
static struct nf_conntrack_helper *rtsp_compat_registered[16];

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
#endif

/*
 * 7.3 hashes helpers by name and protocol and dropped the default and
 * specified port arguments of nf_ct_helper_init(); the port is only
 * used for the "rtsp-<port>" name of extra ports there.
 */
#ifdef RTSP_HAVE_HELPER_INIT_NO_PORTS
#define rtsp_ct_helper_init(h, l3, l4, name, def, port, id, pol, max, fn, me) \
	nf_ct_helper_init(h, l3, l4, name, id, pol, max, fn, NULL, me)
#else
#define rtsp_ct_helper_init(h, l3, l4, name, def, port, id, pol, max, fn, me) \
	nf_ct_helper_init(h, l3, l4, name, def, port, id, pol, max, fn, NULL, me)
#endif

/* nf_ct_refresh() lost its skb argument in 7.2 (backported to 6.12.113). */
#ifdef RTSP_HAVE_REFRESH_NO_SKB
#define rtsp_ct_refresh(ct, skb, extra) nf_ct_refresh(ct, extra)
#else
#define rtsp_ct_refresh(ct, skb, extra) nf_ct_refresh(ct, skb, extra)
#endif

#endif /* _NETFILTER_HELPERS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RTSP connection tracking helper: the interface between nf_conntrack_rtsp
 * and its NAT companion nf_nat_rtsp.
 */
#ifndef _NF_CONNTRACK_RTSP_H
#define _NF_CONNTRACK_RTSP_H

#include <linux/skbuff.h>
#include <net/netfilter/nf_conntrack_expect.h>

#include "rtsp_parse.h"

#define RTSP_PORT		554
/* One transport spec asks for at most an RTP and an RTCP port. */
#define RTSP_MAX_SPEC_PORTS	2

/* Media ports a transport spec asks for: two for an RTP/RTCP pair. */
static inline unsigned int rtsp_spec_ports(const struct rtsp_ports *p)
{
	return p->hi != p->lo ? 2 : 1;
}

/*
 * What nf_conntrack_rtsp hands to the NAT helper for one UDP unicast
 * transport spec of a SETUP, or of a SETUP reply.  Offsets in @spec are
 * relative to @msg.
 */
struct nf_rtsp_spec_ctx {
	struct sk_buff *skb;
	unsigned int protoff;
	unsigned int dataoff;		/* TCP payload offset in @skb */
	const char **dptr;		/* TCP payload, updated on mangling */
	unsigned int *datalen;		/* its length, updated on mangling */
	const char *msg;		/* the message, to read it */
	/* Its offset in the payload; < 0 when it began in an earlier
	 * segment, and then it cannot be rewritten.
	 */
	int msgoff;
	const struct rtsp_tspec *spec;
	int delta;			/* bytes the helper added to @spec */
	u16 port[RTSP_MAX_SPEC_PORTS];	/* out: ports the media is expected on */
	unsigned int n_port;
};

struct nf_nat_rtsp_hooks {
	/*
	 * SETUP on a NATed connection: expect the client port(s) of the spec
	 * on free ports of the translated address, mapped back to the
	 * client, and rewrite the spec to match.
	 */
	unsigned int (*expect)(struct nf_rtsp_spec_ctx *c, struct nf_conn *ct,
			       enum ip_conntrack_info ctinfo);
	/* SETUP reply on a NATed connection: restore the client's ports. */
	unsigned int (*reply)(struct nf_rtsp_spec_ctx *c, struct nf_conn *ct,
			      enum ip_conntrack_info ctinfo);
};

extern const struct nf_nat_rtsp_hooks __rcu *nf_nat_rtsp_hooks;

/*
 * A new expectation for UDP to @port at the address the server of @ct sends
 * to, from the sources media_source allows.  Each object is registered at
 * most once: a caller trying several ports allocates one per success.
 */
struct nf_conntrack_expect *nf_ct_rtsp_expect_alloc(struct nf_conn *ct,
						    enum ip_conntrack_dir dir,
						    u16 port);

/* The expectfn of our expectations, and called by nf_nat_rtsp's. */
void nf_ct_rtsp_media_started(struct nf_conn *child,
			      struct nf_conntrack_expect *exp);

/* pr_debug() trace of an expectation, for the debug build. */
void nf_ct_rtsp_print_exp(const struct nf_conntrack_expect *exp);

#endif /* _NF_CONNTRACK_RTSP_H */

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
#include "rtsp_nat_plan.h"

/* The modules' version: PACKAGE_VERSION in dkms.conf. */
#define RTSP_CONNTRACK_VERSION	"0.1.0"

#define RTSP_PORT		554
/* One transport spec asks for at most an RTP and an RTCP port. */
#define RTSP_MAX_SPEC_PORTS	2

/* Media ports a transport spec asks for: two for an RTP/RTCP pair. */
static inline unsigned int rtsp_spec_ports(const struct rtsp_ports *p)
{
	return p->hi != p->lo ? 2 : 1;
}

/*
 * A NATed expectation carries its client's own port as the source port of
 * its tuple, which its mask leaves out (any source port matches): ctnetlink
 * and conntrackd's ExpectationSync carry the tuple whole, while conntrackd
 * (1.4.7) leaves out the expectfn, the NAT target and the flags, so that a
 * backup router rebuilds them from this and the master
 * (nf_nat_rtsp_hooks.adopt).
 */
static inline void rtsp_exp_set_client_port(struct nf_conntrack_expect *exp,
					    u16 port)
{
	if (!exp->mask.src.u.udp.port)
		exp->tuple.src.u.udp.port = htons(port);
}

static inline u16 rtsp_exp_client_port(const struct nf_conntrack_expect *exp)
{
	return exp->mask.src.u.udp.port ? 0 : ntohs(exp->tuple.src.u.udp.port);
}

/* Transport specs with ports handled per message; more are ignored. */
#define RTSP_MAX_SPECS		8

/*
 * What nf_conntrack_rtsp hands to the NAT helper for one message: a SETUP,
 * or a SETUP reply, with its UDP unicast transport specs.  Offsets in
 * @spec are relative to @msg.  Lives in per-CPU memory (BH off).
 */
struct nf_rtsp_msg_ctx {
	struct sk_buff *skb;
	unsigned int protoff;
	unsigned int dataoff;		/* TCP payload offset in @skb */
	const char **dptr;		/* TCP payload, updated on mangling */
	unsigned int *datalen;		/* its length, updated on mangling */
	const char *msg;		/* the message, to read it */
	/* Its offset in the payload; < 0 when it began in an earlier
	 * segment: then only bytes from -@msgoff on can be rewritten.
	 */
	int msgoff;
	u32 msglen;			/* bytes of @msg readable */
	unsigned int n_spec;
	struct rtsp_tspec spec[RTSP_MAX_SPECS];
	/*
	 * SETUP: out, the router port of each spec's first port (0: none);
	 * in when @reuse (a retransmission: the mapping the first copy
	 * got).  Reply: in, the client's own port to restore (0: leave).
	 */
	u16 port[RTSP_MAX_SPECS];
	bool reuse;
	s32 delta;			/* out: bytes the rewrite added */
	struct rtsp_plan plan;		/* scratch of the NAT helper */
	/* For nf_ct_rtsp_claim(): */
	void *owner;
	u32 cseq;
	u32 session;
};

struct nf_nat_rtsp_hooks {
	/*
	 * SETUP on a NATed connection: give each spec router ports that no
	 * other session holds (nf_ct_rtsp_claim()), expect them, mapped back
	 * to the client, and rewrite the message to match.
	 */
	unsigned int (*setup)(struct nf_rtsp_msg_ctx *c, struct nf_conn *ct,
			      enum ip_conntrack_info ctinfo);
	/* SETUP reply on a NATed connection: restore the client's ports. */
	unsigned int (*reply)(struct nf_rtsp_msg_ctx *c, struct nf_conn *ct,
			      enum ip_conntrack_info ctinfo);
	/*
	 * An expectation of a NATed connection made through ctnetlink
	 * without its expectfn and NAT target (a backup router's copy, from
	 * conntrackd): map its flow to the connection's client, at the port
	 * rtsp_exp_client_port() reads (nf_conntrack_expect_lock held, still
	 * linked).
	 */
	void (*adopt)(struct nf_conntrack_expect *exp);
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

/*
 * Router port @port, and @port + @step when @step, of @addr for the
 * session of the message in @c, the client's @client_lo and @client_hi
 * behind them: 0 when taken for it, 1 when another session holds one of
 * them, or a negative error.  A port is held from its SETUP until the
 * session's TEARDOWN, the end of its control connection, or the end of
 * its media flow.
 */
int nf_ct_rtsp_claim(struct nf_rtsp_msg_ctx *c, const union nf_inet_addr *addr,
		     u16 port, int step, u16 client_lo, u16 client_hi);
/* Give back what nf_ct_rtsp_claim() took, and end its expectations. */
void nf_ct_rtsp_unclaim(struct nf_rtsp_msg_ctx *c,
			const union nf_inet_addr *addr, u16 port, int step);

/* The expectfn of our expectations, and called by nf_nat_rtsp's. */
void nf_ct_rtsp_media_started(struct nf_conn *child,
			      struct nf_conntrack_expect *exp);

/* pr_debug() trace of an expectation, for the debug build. */
void nf_ct_rtsp_print_exp(const struct nf_conntrack_expect *exp);

#endif /* _NF_CONNTRACK_RTSP_H */

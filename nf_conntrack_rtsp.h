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

/**
 * struct nf_rtsp_msg_ctx - one RTSP message handed to the NAT helper
 * @skb: the packet
 * @protoff: offset of the TCP header in @skb
 * @dataoff: offset of the TCP payload in @skb
 * @dptr: the TCP payload, updated when the packet is mangled
 * @datalen: its length, updated when the packet is mangled
 * @msg: the message, to read it
 * @msgoff: offset of @msg in the payload; < 0 when it began in an earlier
 *	segment: then only bytes from -@msgoff on can be rewritten
 * @msglen: bytes of @msg that can be read
 * @n_spec: transport specs in @spec
 * @spec: the UDP unicast transport specs; offsets relative to @msg
 * @port: SETUP: out, the router port of each spec's first port (0: none);
 *	in when @reuse.  Reply: in, the client's own port to restore
 *	(0: leave it)
 * @reuse: a retransmitted SETUP: @port holds the mapping of its first copy
 * @delta: out: bytes the rewrite added
 * @plan: scratch space of the NAT helper
 * @owner: the state of the control connection, for nf_ct_rtsp_claim()
 * @cseq: hash of the message's CSeq, for nf_ct_rtsp_claim()
 * @session: hash of the message's Session, for nf_ct_rtsp_claim()
 *
 * What nf_conntrack_rtsp hands to the NAT helper for one message: a SETUP,
 * or a SETUP reply.  Lives in per-CPU memory, used with BH off.
 */
struct nf_rtsp_msg_ctx {
	struct sk_buff *skb;
	unsigned int protoff;
	unsigned int dataoff;
	const char **dptr;
	unsigned int *datalen;
	const char *msg;
	int msgoff;
	u32 msglen;
	unsigned int n_spec;
	struct rtsp_tspec spec[RTSP_MAX_SPECS];
	u16 port[RTSP_MAX_SPECS];
	bool reuse;
	s32 delta;
	struct rtsp_plan plan;
	void *owner;
	u32 cseq;
	u32 session;
};

/**
 * struct nf_nat_rtsp_hooks - the NAT helper's entry points
 * @setup: a SETUP on a NATed connection: give each spec router ports that
 *	no other session holds (nf_ct_rtsp_claim()), expect them, mapped back
 *	to the client, and rewrite the message to match
 * @reply: a SETUP reply on a NATed connection: restore the client's ports
 * @adopt: an expectation of a NATed connection made through ctnetlink
 *	without its expectfn and NAT target (a backup router's copy, from
 *	conntrackd): map its flow to the connection's client, at the port
 *	rtsp_exp_client_port() reads (nf_conntrack_expect_lock held, the
 *	expectation still linked)
 *
 * nf_nat_rtsp publishes them in nf_nat_rtsp_hooks while it is loaded.
 */
struct nf_nat_rtsp_hooks {
	unsigned int (*setup)(struct nf_rtsp_msg_ctx *c, struct nf_conn *ct,
			      enum ip_conntrack_info ctinfo);
	unsigned int (*reply)(struct nf_rtsp_msg_ctx *c, struct nf_conn *ct,
			      enum ip_conntrack_info ctinfo);
	void (*adopt)(struct nf_conntrack_expect *exp);
};

extern const struct nf_nat_rtsp_hooks __rcu *nf_nat_rtsp_hooks;

/**
 * nf_ct_rtsp_expect_alloc() - a media expectation of an RTSP connection
 * @ct: the RTSP control connection
 * @dir: the direction of the SETUP in @ct
 * @port: the UDP port expected, in host byte order
 *
 * A new expectation for UDP to @port at the address the server of @ct
 * sends to, from the sources media_source allows, with
 * nf_ct_rtsp_media_started() as its expectfn.  Each object is registered
 * at most once: a caller trying several ports allocates one per success.
 *
 * Return: the expectation (to put with nf_ct_expect_put()), or NULL.
 */
struct nf_conntrack_expect *nf_ct_rtsp_expect_alloc(struct nf_conn *ct,
						    enum ip_conntrack_dir dir,
						    u16 port);

/**
 * nf_ct_rtsp_claim() - take router ports for a session
 * @c: the SETUP being handled
 * @addr: the router address the media comes to
 * @port: the first port, in host byte order
 * @step: when not 0, @port + @step is taken too
 * @client_lo: the client's port behind @port
 * @client_hi: the client's port behind @port + @step
 *
 * A port is held from its SETUP until the session's TEARDOWN, the end of
 * its control connection, or the end of its media flow.
 *
 * Return: 0 when taken for the session of @c, 1 when another session holds
 * one of them, or a negative error.
 */
int nf_ct_rtsp_claim(struct nf_rtsp_msg_ctx *c, const union nf_inet_addr *addr,
		     u16 port, int step, u16 client_lo, u16 client_hi);

/**
 * nf_ct_rtsp_unclaim() - give back router ports
 * @c: the SETUP being handled
 * @addr: the router address given to nf_ct_rtsp_claim()
 * @port: the first port given to nf_ct_rtsp_claim()
 * @step: the step given to nf_ct_rtsp_claim()
 *
 * Gives back what nf_ct_rtsp_claim() took for @c and ends its expectations.
 */
void nf_ct_rtsp_unclaim(struct nf_rtsp_msg_ctx *c,
			const union nf_inet_addr *addr, u16 port, int step);

/**
 * nf_ct_rtsp_media_started() - a media flow of an RTSP session began
 * @child: the new media connection
 * @exp: the expectation it used
 *
 * The expectfn of nf_conntrack_rtsp's expectations, also called by
 * nf_nat_rtsp's own expectfn: remembers the sender, so that the session's
 * port is held while its flow lives, and ends the expectations of the port
 * from other senders.
 */
void nf_ct_rtsp_media_started(struct nf_conn *child,
			      struct nf_conntrack_expect *exp);

/* pr_debug() trace of an expectation, for the debug build. */
static inline void nf_ct_rtsp_print_exp(const struct nf_conntrack_expect *exp)
{
	const struct nf_conntrack_tuple *t = &exp->tuple;
	const union nf_inet_addr *m = &exp->mask.src.u3;
	bool any = nf_inet_addr_cmp(m, &(union nf_inet_addr){ });

	if (t->src.l3num == AF_INET)
		pr_debug("expect udp %pI4/%pI4 -> %pI4:%u%s\n",
			 &t->src.u3.ip, &m->ip, &t->dst.u3.ip,
			 ntohs(t->dst.u.udp.port), any ? " (any source)" : "");
	else
		pr_debug("expect udp %pI6c/%pI6c -> [%pI6c]:%u%s\n",
			 &t->src.u3.ip6, &m->ip6, &t->dst.u3.ip6,
			 ntohs(t->dst.u.udp.port), any ? " (any source)" : "");
}

#endif /* _NF_CONNTRACK_RTSP_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * RTSP NAT helper: the companion of nf_conntrack_rtsp.
 *
 * For a SETUP on a NATed control connection it expects the media on the
 * router's translated address, on the port the client asked for when that
 * port is free and on another one when not (two set-top boxes asking for
 * the same port), rewrites the Transport header to match, and maps the
 * media flow back to the client and the port it asked for.  The SETUP
 * reply is rewritten back so that each client sees its own port.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/inet.h>
#include <linux/netfilter.h>
#include <linux/string.h>

#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_nat.h>
#include <net/netfilter/nf_nat_helper.h>

#include "netfilter_helpers.h"
#include "nf_conntrack_rtsp.h"

#define RTSP_NAT_NAME		"rtsp"
/*
 * Candidate ports tried before giving up, as nf_nat_exp_find_port(): the
 * first few next to the client's port (easy to read in conntrack -L),
 * then random ones, so that a crowd asking the same port still fits.
 */
#define RTSP_NAT_ATTEMPTS	128
#define RTSP_NAT_NEAR		16
#define RTSP_NAT_MIN_PORT	1024

MODULE_AUTHOR("rtsp-conntrack developers");
MODULE_DESCRIPTION("RTSP NAT helper");
MODULE_LICENSE("GPL");
MODULE_ALIAS_NF_NAT_HELPER(RTSP_NAT_NAME);

static char *stunaddr;
module_param(stunaddr, charp, 0444);
MODULE_PARM_DESC(stunaddr,
		 "address written into Transport destination= instead of the router's own (when the router is itself behind NAT)");

static char *destaction = "auto";
module_param(destaction, charp, 0444);
MODULE_PARM_DESC(destaction,
		 "what to do with a Transport destination= parameter: auto (default: point it at the router, or stunaddr), strip (remove it) or none (leave it)");

enum rtsp_dest_action {
	RTSP_DEST_AUTO,
	RTSP_DEST_STRIP,
	RTSP_DEST_NONE,
};

static enum rtsp_dest_action dest_action __read_mostly;
static union nf_inet_addr stun_addr __read_mostly;
static u8 stun_family __read_mostly;

/* Map the media flow to the client and the port it asked for. */
static void nf_nat_rtsp_expected(struct nf_conn *ct,
				 struct nf_conntrack_expect *exp)
{
	struct nf_nat_range2 range = {
		.flags		= NF_NAT_RANGE_MAP_IPS |
				  NF_NAT_RANGE_PROTO_SPECIFIED,
		.min_addr	= exp->saved_addr,
		.max_addr	= exp->saved_addr,
		.min_proto	= exp->saved_proto,
		.max_proto	= exp->saved_proto,
	};

	nf_nat_setup_info(ct, &range, NF_NAT_MANIP_DST);
	nf_ct_rtsp_media_started(ct, exp);
}

static struct nf_ct_helper_expectfn rtsp_expectfn = {
	.name		= RTSP_NAT_NAME,
	.expectfn	= nf_nat_rtsp_expected,
};

/*
 * Replace @sp of the message with @buf.  nf_nat_mangle_tcp_packet() keeps
 * the TCP sequence numbers right and may move the data, so the payload
 * pointer is taken again.
 */
static bool rtsp_mangle(struct nf_rtsp_spec_ctx *c, struct nf_conn *ct,
			enum ip_conntrack_info ctinfo,
			const struct rtsp_span *sp, const char *buf,
			unsigned int len)
{
	if (!nf_nat_mangle_tcp_packet(c->skb, ct, ctinfo, c->protoff,
				      c->msgoff + sp->off, sp->len, buf, len))
		return false;

	*c->datalen += len - sp->len;
	*c->dptr = c->skb->data + c->dataoff;
	c->msg = *c->dptr + c->msgoff;
	c->delta += len - sp->len;
	return true;
}

static unsigned int rtsp_fmt_ports(char *buf, size_t size,
				   const struct rtsp_ports *cp, u16 lo, u16 hi)
{
	if (!cp->sep)
		return scnprintf(buf, size, "%u", lo);
	return scnprintf(buf, size, "%u%c%u", lo, cp->sep, hi);
}

/* Does a destination= value carry a port ("a.b.c.d:p", "[v6]:p")? */
static bool rtsp_dest_has_port(const char *v, unsigned int len)
{
	const char *colon = memchr(v, ':', len);

	if (len && v[0] == '[')
		return memchr(v, ']', len) &&
		       v[len - 1] != ']' && colon;
	return colon && !memchr(colon + 1, ':', len - (colon + 1 - v));
}

static unsigned int rtsp_fmt_dest(char *buf, size_t size, u8 family,
				  const union nf_inet_addr *addr,
				  bool with_port, u16 port)
{
	if (family == AF_INET)
		return with_port ?
		       scnprintf(buf, size, "%pI4:%u", &addr->ip, port) :
		       scnprintf(buf, size, "%pI4", &addr->ip);
	return with_port ?
	       scnprintf(buf, size, "[%pI6c]:%u", &addr->ip6, port) :
	       scnprintf(buf, size, "%pI6c", &addr->ip6);
}

/*
 * Rewrite client_port= to @lo/@hi and handle destination= as destaction
 * says.  The span further into the message goes first, so the offset of
 * the other one still holds.
 */
static bool rtsp_rewrite_spec(struct nf_rtsp_spec_ctx *c, struct nf_conn *ct,
			      enum ip_conntrack_info ctinfo,
			      const union nf_inet_addr *addr, u16 lo, u16 hi)
{
	const struct rtsp_tspec *spec = c->spec;
	const struct rtsp_span *port_sp = &spec->client.val;
	const struct rtsp_span *dest_sp = NULL;
	char pbuf[sizeof("65535-65535")];
	char dbuf[sizeof("[") + INET6_ADDRSTRLEN + sizeof("]:65535")];
	unsigned int plen = 0, dlen = 0;
	bool port_first;

	if (lo != spec->client.lo || hi != spec->client.hi)
		plen = rtsp_fmt_ports(pbuf, sizeof(pbuf), &spec->client,
				      lo, hi);

	if (spec->destination_param.len && dest_action == RTSP_DEST_STRIP) {
		dest_sp = &spec->destination_param;
	} else if (spec->destination.len && dest_action == RTSP_DEST_AUTO) {
		const char *v = c->msg + spec->destination.off;
		u8 family = stun_family ?: nf_ct_l3num(ct);

		dest_sp = &spec->destination;
		dlen = rtsp_fmt_dest(dbuf, sizeof(dbuf), family,
				     stun_family ? &stun_addr : addr,
				     rtsp_dest_has_port(v, dest_sp->len), lo);
	}

	port_first = !dest_sp || port_sp->off > dest_sp->off;
	if (port_first && plen &&
	    !rtsp_mangle(c, ct, ctinfo, port_sp, pbuf, plen))
		return false;
	if (dest_sp && !rtsp_mangle(c, ct, ctinfo, dest_sp, dbuf, dlen))
		return false;
	if (!port_first && plen &&
	    !rtsp_mangle(c, ct, ctinfo,
			 &(struct rtsp_span){ port_sp->off + c->delta,
					      port_sp->len }, pbuf, plen))
		return false;
	return true;
}

/*
 * The next port to try for the first of the client's ports; the second
 * one, if any, stays @step away (an "N/M" pair may even have M < N).  The
 * client's own port comes first, then its neighbours, then random ports;
 * for an RTP/RTCP range, even ports only.  Both ports stay within
 * [RTSP_NAT_MIN_PORT, 65535].
 */
static u16 rtsp_candidate(u16 want, int step, bool even, unsigned int attempt)
{
	int lo = RTSP_NAT_MIN_PORT + max(0, -step);
	int hi = 65535 - max(0, step);
	int span = (hi - lo + 1) & ~(int)even;
	int p;

	if (!attempt && want + step >= 1 && want + step <= 65535)
		return want;
	if (attempt < RTSP_NAT_NEAR)
		p = (want & ~(int)even) + attempt * (even ? 2 : 1);
	else
		p = lo + (int)get_random_u32_below(span);
	p &= ~(int)even;
	if (p < lo || p > hi)
		p = lo + ((p - lo) % span + span) % span;
	return p;
}

static unsigned int nf_nat_rtsp_expect(struct nf_rtsp_spec_ctx *c,
				       struct nf_conn *ct,
				       enum ip_conntrack_info ctinfo)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	const struct rtsp_ports *cp = &c->spec->client;
	struct nf_conntrack_expect *exp[RTSP_MAX_SPEC_PORTS];
	u16 want[RTSP_MAX_SPEC_PORTS] = { cp->lo, cp->hi };
	unsigned int i = 0, n = rtsp_spec_ports(cp);
	int step = (int)cp->hi - (int)cp->lo;
	/* A message begun in an earlier segment cannot be rewritten. */
	unsigned int attempts = c->msgoff < 0 ? 1 : RTSP_NAT_ATTEMPTS;
	unsigned int attempt;
	int err = -EBUSY;
	u16 port = 0;

	for (attempt = 0; attempt < attempts && err == -EBUSY; attempt++) {
		port = rtsp_candidate(cp->lo, step, cp->sep == '-', attempt);
		for (i = 0; i < n; i++) {
			exp[i] = nf_ct_rtsp_expect_alloc(ct, dir, want[i]);
			if (!exp[i]) {
				err = -ENOMEM;
				break;
			}
			exp[i]->saved_addr = ct->tuplehash[dir].tuple.src.u3;
			exp[i]->saved_proto.udp.port = htons(want[i]);
			exp[i]->dir = !dir;
			exp[i]->expectfn = nf_nat_rtsp_expected;
			exp[i]->tuple.dst.u.udp.port = htons(port + (int)i * step);
			err = nf_ct_expect_related(exp[i], 0);
			if (err) {
				nf_ct_expect_put(exp[i]);
				break;
			}
		}
		if (!err)
			break;
		/* Each object is registered once: undo and start afresh. */
		while (i--) {
			nf_ct_unexpect_related(exp[i]);
			nf_ct_expect_put(exp[i]);
		}
		if (err == -EALREADY)
			err = -EBUSY;
	}

	if (err == -EBUSY && c->msgoff < 0) {
		/* Dropping would not help: the retransmission splits alike. */
		net_info_ratelimited(pr_fmt("port %u taken, split SETUP: no expectation\n"),
				     cp->lo);
		return NF_ACCEPT;
	}
	if (err) {
		nf_ct_helper_log(c->skb, ct,
				 "no free port for client port %u: %d",
				 cp->lo, err);
		return NF_DROP;
	}

	if (c->msgoff >= 0 &&
	    !rtsp_rewrite_spec(c, ct, ctinfo, &exp[0]->tuple.dst.u3, port,
			       port + step)) {
		nf_ct_helper_log(c->skb, ct, "cannot mangle Transport");
		for (i = 0; i < n; i++)
			nf_ct_unexpect_related(exp[i]);
		err = -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (!err)
			nf_ct_rtsp_print_exp(exp[i]);
		nf_ct_expect_put(exp[i]);
		c->port[i] = port + (int)i * step;
	}
	if (err)
		return NF_DROP;
	c->n_port = n;

	pr_debug("client port %u mapped to %u\n", cp->lo, port);
	return NF_ACCEPT;
}

/* The client's port behind router port @port, from our expectations. */
static u16 rtsp_client_port(struct nf_conn *ct, u16 port)
{
	struct nf_conn_help *help = nfct_help(ct);
	struct nf_conntrack_expect *exp;
	u16 found = 0;

	if (!help)
		return 0;

	spin_lock_bh(&nf_conntrack_expect_lock);
	hlist_for_each_entry(exp, &help->expectations, lnode) {
		if (exp->tuple.dst.protonum == IPPROTO_UDP &&
		    exp->expectfn == nf_nat_rtsp_expected &&
		    exp->tuple.dst.u.udp.port == htons(port)) {
			found = ntohs(exp->saved_proto.udp.port);
			break;
		}
	}
	spin_unlock_bh(&nf_conntrack_expect_lock);
	return found;
}

static unsigned int nf_nat_rtsp_reply(struct nf_rtsp_spec_ctx *c,
				      struct nf_conn *ct,
				      enum ip_conntrack_info ctinfo)
{
	const struct rtsp_ports *cp = &c->spec->client;
	char buf[sizeof("65535-65535")];
	unsigned int len;
	u16 lo, hi;

	lo = rtsp_client_port(ct, cp->lo);
	if (!lo || lo == cp->lo)
		return NF_ACCEPT;
	hi = cp->hi == cp->lo ? lo : rtsp_client_port(ct, cp->hi);
	if (!hi)
		hi = lo + (cp->hi - cp->lo);

	len = rtsp_fmt_ports(buf, sizeof(buf), cp, lo, hi);
	if (!rtsp_mangle(c, ct, ctinfo, &cp->val, buf, len)) {
		nf_ct_helper_log(c->skb, ct, "cannot mangle SETUP reply");
		return NF_DROP;
	}
	pr_debug("reply: router port %u restored to client port %u\n",
		 cp->lo, lo);
	return NF_ACCEPT;
}

static const struct nf_nat_rtsp_hooks rtsp_hooks = {
	.expect	= nf_nat_rtsp_expect,
	.reply	= nf_nat_rtsp_reply,
};

static struct nf_conntrack_nat_helper rtsp_nat_helper =
	NF_CT_NAT_HELPER_INIT(RTSP_NAT_NAME);

static int __init nf_nat_rtsp_parse_params(void)
{
	const char *end;

	if (!destaction || !strcmp(destaction, "auto"))
		dest_action = RTSP_DEST_AUTO;
	else if (!strcmp(destaction, "strip"))
		dest_action = RTSP_DEST_STRIP;
	else if (!strcmp(destaction, "none"))
		dest_action = RTSP_DEST_NONE;
	else
		return -EINVAL;

	if (!stunaddr || !*stunaddr)
		return 0;
	if (in4_pton(stunaddr, -1, (u8 *)&stun_addr.ip, -1, &end) && !*end)
		stun_family = AF_INET;
	else if (in6_pton(stunaddr, -1, (u8 *)&stun_addr.ip6, -1, &end) &&
		 !*end)
		stun_family = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

static int __init nf_nat_rtsp_init(void)
{
	if (nf_nat_rtsp_parse_params()) {
		pr_err("destaction=%s stunaddr=%s: expected destaction auto, strip or none and stunaddr an IPv4 or IPv6 address\n",
		       destaction ?: "", stunaddr ?: "");
		return -EINVAL;
	}

	WARN_ON(rcu_access_pointer(nf_nat_rtsp_hooks));
	nf_nat_helper_register(&rtsp_nat_helper);
	nf_ct_helper_expectfn_register(&rtsp_expectfn);
	RCU_INIT_POINTER(nf_nat_rtsp_hooks, &rtsp_hooks);
	return 0;
}

static bool rtsp_exp_is_ours(struct nf_conntrack_expect *exp, void *data)
{
	return exp->expectfn == nf_nat_rtsp_expected;
}

static void __exit nf_nat_rtsp_fini(void)
{
	nf_nat_helper_unregister(&rtsp_nat_helper);
	RCU_INIT_POINTER(nf_nat_rtsp_hooks, NULL);
	nf_ct_helper_expectfn_unregister(&rtsp_expectfn);
	synchronize_rcu();
	/* No expectation may call into this module once it is gone. */
	nf_ct_expect_iterate_destroy(rtsp_exp_is_ours, NULL);
	synchronize_rcu();
}

module_init(nf_nat_rtsp_init);
module_exit(nf_nat_rtsp_fini);

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

MODULE_AUTHOR("rtsp-conntrack developers");
MODULE_DESCRIPTION("RTSP NAT helper");
MODULE_LICENSE("GPL");
MODULE_ALIAS_NF_NAT_HELPER(RTSP_NAT_NAME);
MODULE_VERSION(RTSP_CONNTRACK_VERSION);

static char *stunaddr;
module_param(stunaddr, charp, 0444);
MODULE_PARM_DESC(stunaddr,
		 "IPv4 or IPv6 address written into Transport destination= instead of the router's own, when the router is itself behind NAT (default: unset)");

static char *destaction = "auto";
module_param(destaction, charp, 0444);
MODULE_PARM_DESC(destaction,
		 "what to do with a Transport destination= parameter: auto (default: point it at the router, or stunaddr), strip (remove it) or none (leave it)");

static char *media_ports = "1024-65535";
module_param(media_ports, charp, 0444);
MODULE_PARM_DESC(media_ports,
		 "router ports the media of NATed clients may use, LO-HI (default 1024-65535, never below 1024): a client port outside them is mapped into them");

static enum rtsp_dest_action dest_action __read_mostly;
static union nf_inet_addr stun_addr __read_mostly;
static u8 stun_family __read_mostly;
static struct rtsp_port_range port_range __read_mostly;

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

/* One spec's search for router ports, for nf_rtsp_choose_port(). */
struct rtsp_nat_try {
	struct nf_rtsp_msg_ctx *c;
	struct nf_conn *ct;
	enum ip_conntrack_dir dir;
	const struct rtsp_ports *cp;
	const union nf_inet_addr *addr;	/* where the server sends */
	int step;
};

static u32 rtsp_nat_rnd(void *data)
{
	return get_random_u32();
}

/*
 * Take router port @port (and @port + step) for the spec if no session
 * holds it, and expect the media there, mapped back to the client.  Each
 * expectation object is registered at most once.
 */
static int rtsp_nat_try_port(void *data, u16 port)
{
	struct rtsp_nat_try *t = data;
	struct nf_conntrack_expect *exp[RTSP_MAX_SPEC_PORTS];
	u16 want[RTSP_MAX_SPEC_PORTS] = { t->cp->lo, t->cp->hi };
	unsigned int i, n = t->step ? 2 : 1;
	int err;

	err = nf_ct_rtsp_claim(t->c, t->addr, port, t->step, t->cp->lo,
			       t->cp->hi);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		exp[i] = nf_ct_rtsp_expect_alloc(t->ct, t->dir, want[i]);
		if (!exp[i]) {
			err = -ENOMEM;
			break;
		}
		exp[i]->saved_addr = t->ct->tuplehash[t->dir].tuple.src.u3;
		exp[i]->saved_proto.udp.port = htons(want[i]);
		rtsp_exp_set_client_port(exp[i], want[i]);
		exp[i]->dir = !t->dir;
		exp[i]->expectfn = nf_nat_rtsp_expected;
		exp[i]->tuple.dst.u.udp.port = htons(port + (int)i * t->step);
		err = nf_ct_expect_related(exp[i], 0);
		if (err) {
			nf_ct_expect_put(exp[i]);
			break;
		}
	}
	if (!err) {
		for (i = 0; i < n; i++) {
			nf_ct_rtsp_print_exp(exp[i]);
			nf_ct_expect_put(exp[i]);
		}
		return 0;
	}
	while (i--) {
		nf_ct_unexpect_related(exp[i]);
		nf_ct_expect_put(exp[i]);
	}
	nf_ct_rtsp_unclaim(t->c, t->addr, port, t->step);
	/* Another helper's expectation there: try the next port. */
	return err == -EBUSY || err == -EALREADY ? 1 : err;
}

/* Give back the ports of the first @n specs: the SETUP is not passed on. */
static void rtsp_nat_undo(struct nf_rtsp_msg_ctx *c, unsigned int n,
			  const union nf_inet_addr *addr)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (c->port[i])
			nf_ct_rtsp_unclaim(c, addr, c->port[i],
					   (int)c->spec[i].client.hi -
					   (int)c->spec[i].client.lo);
}

/*
 * Apply the plan to the packet, last edit first so that the offsets of
 * the others hold, without moving the TCP sequence numbers: the
 * conntrack helper does that once for the whole packet.  Edits of bytes
 * that went out in an earlier segment cannot be made: a port there fails
 * the message, a destination= is left as it was.
 */
static bool rtsp_nat_apply(struct nf_rtsp_msg_ctx *c, struct nf_conn *ct,
			   enum ip_conntrack_info ctinfo, bool *ports_lost)
{
	const struct rtsp_plan *p = &c->plan;
	const struct rtsp_edit *e;
	unsigned int i, k;
	bool port;
	int at;

	*ports_lost = false;
	for (i = p->n; i--; ) {
		e = &p->edit[i];
		at = c->msgoff + (int)e->off;
		if (at >= 0)
			continue;
		for (port = false, k = 0; k < c->n_spec && !port; k++)
			port = e->off == c->spec[k].client.val.off;
		if (port) {
			*ports_lost = true;
			return false;
		}
	}
	for (i = p->n; i--; ) {
		e = &p->edit[i];
		at = c->msgoff + (int)e->off;
		if (at < 0)
			continue;
		if (!__nf_nat_mangle_tcp_packet(c->skb, ct, ctinfo, c->protoff,
						at, e->len, e->rep, e->rep_len,
						false)) {
			/*
			 * It may have freed the page the payload was read
			 * from: nothing reads it after a failure (the packet
			 * is dropped), and nothing may.
			 */
			*c->dptr = NULL;
			c->msg = NULL;
			return false;
		}
		*c->datalen += e->rep_len - e->len;
		c->delta += (int)e->rep_len - (int)e->len;
		/* Mangling made the skb linear, and may have moved it. */
		*c->dptr = c->skb->data + c->dataoff;
		if (c->msgoff >= 0)
			c->msg = *c->dptr + c->msgoff;
	}
	return true;
}

/*
 * The router's address as text for destination=, and its family: stunaddr
 * for the connections of its family, the router's own for the others.
 */
static u32 rtsp_nat_addr_text(char *buf, size_t size, struct nf_conn *ct,
			      const union nf_inet_addr *addr, bool *v6)
{
	u8 family = nf_ct_l3num(ct);

	if (stun_family == family)
		addr = &stun_addr;
	*v6 = family == AF_INET6;
	return *v6 ? scnprintf(buf, size, "%pI6c", &addr->ip6) :
		     scnprintf(buf, size, "%pI4", &addr->ip);
}

static unsigned int nf_nat_rtsp_setup(struct nf_rtsp_msg_ctx *c,
				      struct nf_conn *ct,
				      enum ip_conntrack_info ctinfo)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	const union nf_inet_addr *addr = &ct->tuplehash[!dir].tuple.dst.u3;
	struct rtsp_nat_try t = { .c = c, .ct = ct, .dir = dir, .addr = addr };
	char abuf[INET6_ADDRSTRLEN];
	bool v6 = false, ports_lost = false;
	unsigned int i;
	u32 alen = 0;
	u16 port;
	int err;

	for (i = 0; i < c->n_spec && !c->reuse; i++) {
		t.cp = &c->spec[i].client;
		t.step = (int)t.cp->hi - (int)t.cp->lo;
		err = nf_rtsp_choose_port(&port_range, t.cp->lo, t.step,
					  t.cp->sep == '-', RTSP_NAT_ATTEMPTS,
					  rtsp_nat_try_port, rtsp_nat_rnd, &t,
					  &port);
		if (err) {
			if (err == -ENOMEM)
				nf_ct_helper_log(c->skb, ct,
						 "no memory for the media of client port %u",
						 t.cp->lo);
			else
				nf_ct_helper_log(c->skb, ct,
						 "no free router port in %u-%u for client port %u: %d",
						 port_range.lo, port_range.hi,
						 t.cp->lo, err);
			rtsp_nat_undo(c, i, addr);
			return NF_DROP;
		}
		c->port[i] = port;
		pr_debug("client port %u mapped to %u\n", t.cp->lo, port);
	}

	/* Formatting the address costs more than the rest: only if needed. */
	for (i = 0; i < c->n_spec && !c->spec[i].destination.len; i++)
		;
	if (i < c->n_spec && dest_action == RTSP_DEST_AUTO)
		alen = rtsp_nat_addr_text(abuf, sizeof(abuf), ct, addr, &v6);
	rtsp_plan_init(&c->plan);
	for (i = 0; i < c->n_spec; i++) {
		const struct rtsp_ports *cp = &c->spec[i].client;

		/* A retransmission: the first copy left this spec alone. */
		if (!c->port[i])
			continue;
		/* Its own port, and no destination (Movistar's): nothing. */
		if (c->port[i] == cp->lo && !c->spec[i].destination.len &&
		    !c->spec[i].destination_param.len)
			continue;
		if (nf_rtsp_plan_spec(&c->plan, c->msg, c->msglen, &c->spec[i],
				      c->port[i], c->port[i] + cp->hi - cp->lo,
				      dest_action, abuf, alen, v6))
			goto fail;
	}
	if (!rtsp_nat_apply(c, ct, ctinfo, &ports_lost))
		goto fail;
	return NF_ACCEPT;
fail:
	/* A SETUP cut before its client_port= waits to come whole. */
	nf_ct_helper_log(c->skb, ct, "cannot rewrite the Transport of a SETUP%s",
			 ports_lost ? " (split before its client_port=)" : "");
	if (!c->reuse)
		rtsp_nat_undo(c, c->n_spec, addr);
	return NF_DROP;
}

static unsigned int nf_nat_rtsp_reply(struct nf_rtsp_msg_ctx *c,
				      struct nf_conn *ct,
				      enum ip_conntrack_info ctinfo)
{
	bool ports_lost;
	unsigned int i;

	rtsp_plan_init(&c->plan);
	for (i = 0; i < c->n_spec; i++) {
		const struct rtsp_ports *cp = &c->spec[i].client;

		if (c->port[i] &&
		    nf_rtsp_plan_spec(&c->plan, c->msg, c->msglen, &c->spec[i],
				      c->port[i], c->port[i] + cp->hi - cp->lo,
				      RTSP_DEST_NONE, NULL, 0, false))
			break;
	}
	if (i < c->n_spec || !rtsp_nat_apply(c, ct, ctinfo, &ports_lost)) {
		nf_ct_helper_log(c->skb, ct, "cannot mangle SETUP reply");
		return NF_DROP;
	}
	if (c->plan.n)
		pr_debug("reply: %u router port(s) restored to the client's\n",
			 c->plan.n);
	return NF_ACCEPT;
}

/*
 * A backup router's copy of one of our expectations: the client is the
 * one who opened the control connection; its port came as the tuple's
 * source port (the router port itself for an expectation without it).
 */
static void nf_nat_rtsp_adopt(struct nf_conntrack_expect *exp)
{
	const struct nf_conn *ct = exp->master;
	u16 port = rtsp_exp_client_port(exp);

	exp->saved_addr = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3;
	exp->saved_proto.udp.port = port ? htons(port) :
					   exp->tuple.dst.u.udp.port;
	exp->dir = IP_CT_DIR_REPLY;
	exp->expectfn = nf_nat_rtsp_expected;
	pr_debug("expectation of router port %u adopted: client port %u\n",
		 ntohs(exp->tuple.dst.u.udp.port),
		 ntohs(exp->saved_proto.udp.port));
}

static const struct nf_nat_rtsp_hooks rtsp_hooks = {
	.setup	= nf_nat_rtsp_setup,
	.reply	= nf_nat_rtsp_reply,
	.adopt	= nf_nat_rtsp_adopt,
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

	if (nf_rtsp_port_range_parse(media_ports ?: "", &port_range))
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
		pr_err("destaction=%s stunaddr=%s media_ports=%s: expected destaction auto, strip or none, stunaddr an IPv4 or IPv6 address, media_ports LO-HI within 1024-65535\n",
		       destaction ?: "", stunaddr ?: "", media_ports ?: "");
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

// SPDX-License-Identifier: GPL-2.0
/*
 * RTSP connection tracking helper.
 *
 * Watches RTSP control connections (TCP 554 by default) and, for each
 * SETUP that asks for unicast media over UDP, expects the media flow(s)
 * towards the client port(s) it names.  The media may come from another
 * host than the RTSP server (IPTV video on demand does that), so who may
 * send it is a policy: media_source=any|server|<prefix>[,<prefix>].
 *
 * Expected connections get no helper: the media path never enters here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/netfilter.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_conntrack_zones.h>

#include "netfilter_helpers.h"
#include "nf_conntrack_rtsp.h"

/* The parser is shared verbatim with the userspace tests and fuzzer. */
#include "rtsp_parse.c"

#define RTSP_HELPER_NAME	"rtsp"
#define RTSP_MAX_PORTS		8
/* Transport specs with ports handled per SETUP; more are ignored. */
#define RTSP_MAX_SPECS		8

MODULE_AUTHOR("rtsp-conntrack developers");
MODULE_DESCRIPTION("RTSP connection tracking helper");
MODULE_LICENSE("GPL");
MODULE_ALIAS("ip_conntrack_rtsp");
MODULE_ALIAS_NFCT_HELPER(RTSP_HELPER_NAME);

static unsigned short ports[RTSP_MAX_PORTS];
static unsigned int ports_c;
module_param_array(ports, ushort, &ports_c, 0444);
MODULE_PARM_DESC(ports, "TCP port(s) of RTSP servers (default 554, up to 8)");

static unsigned int max_outstanding = 8;
module_param(max_outstanding, uint, 0444);
MODULE_PARM_DESC(max_outstanding,
		 "max expected media ports per control connection (default 8, at most 255)");

static unsigned int setup_timeout = 300;
module_param(setup_timeout, uint, 0444);
MODULE_PARM_DESC(setup_timeout,
		 "seconds an expectation waits for its media after a SETUP (default 300)");

static char *media_source = "any";
module_param(media_source, charp, 0444);
MODULE_PARM_DESC(media_source,
		 "who may send the media: any (default, as IPTV VoD needs), server (the RTSP server only), or address prefixes such as 172.26.0.0/16,2001:db8::/32");

const struct nf_nat_rtsp_hooks __rcu *nf_nat_rtsp_hooks __read_mostly;
EXPORT_SYMBOL_GPL(nf_nat_rtsp_hooks);

enum rtsp_source_policy {
	RTSP_SOURCE_ANY,
	RTSP_SOURCE_SERVER,
	RTSP_SOURCE_PREFIX,
};

struct rtsp_prefix {
	bool set;
	union nf_inet_addr addr;	/* already masked */
	union nf_inet_addr mask;
};

static enum rtsp_source_policy source_policy __read_mostly;
/* [0] for IPv4, [1] for IPv6: a family with no prefix falls back to server */
static struct rtsp_prefix source_prefix[2] __read_mostly;

static struct nf_conntrack_expect_policy rtsp_exp_policy __read_mostly = {
	.name		= RTSP_HELPER_NAME,
};

static struct nf_conntrack_helper rtsp_helpers[RTSP_MAX_PORTS * 2] __read_mostly;

/* Rate-limited, so that hostile input cannot flood the log. */
static void rtsp_log_bad(const struct nf_conn *ct, const char *what,
			 const char *where)
{
	const union nf_inet_addr *a =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3;

	if (!net_ratelimit())
		return;
	if (nf_ct_l3num(ct) == AF_INET)
		pr_info("%s (%s) on a connection from %pI4\n", what, where,
			&a->ip);
	else
		pr_info("%s (%s) on a connection from %pI6c\n", what, where,
			&a->ip6);
}

void nf_ct_rtsp_print_exp(const struct nf_conntrack_expect *exp)
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
EXPORT_SYMBOL_GPL(nf_ct_rtsp_print_exp);

/*
 * The media goes to the address the server sends its replies to.  Limiting
 * who may send it by prefix uses the expectation mask, so that the kernel
 * enforces it.
 */
struct nf_conntrack_expect *nf_ct_rtsp_expect_alloc(struct nf_conn *ct,
						    enum ip_conntrack_dir dir,
						    u16 port)
{
	const struct nf_conntrack_tuple *reply = &ct->tuplehash[!dir].tuple;
	u8 family = nf_ct_l3num(ct);
	const struct rtsp_prefix *pfx = &source_prefix[family == AF_INET6];
	const union nf_inet_addr *saddr = NULL;
	struct nf_conntrack_expect *exp;
	__be16 dport = htons(port);

	exp = nf_ct_expect_alloc(ct);
	if (!exp)
		return NULL;

	if (source_policy == RTSP_SOURCE_SERVER ||
	    (source_policy == RTSP_SOURCE_PREFIX && !pfx->set))
		saddr = &reply->src.u3;
	else if (source_policy == RTSP_SOURCE_PREFIX)
		saddr = &pfx->addr;

	nf_ct_expect_init(exp, NF_CT_EXPECT_CLASS_DEFAULT, family, saddr,
			  &reply->dst.u3, IPPROTO_UDP, NULL, &dport);
	if (saddr == &pfx->addr)
		exp->mask.src.u3 = pfx->mask;
	return exp;
}
EXPORT_SYMBOL_GPL(nf_ct_rtsp_expect_alloc);

/*
 * Without NAT the expectation points at the client itself, so a clash with
 * another control connection's expectation means the same host asks again
 * for a port it asked for before (a new connection after an aborted one):
 * the newest SETUP wins.
 */
static int rtsp_expect_related(struct nf_conntrack_expect *exp)
{
	struct nf_conntrack_expect *old;
	struct nf_conn *ct = exp->master;
	int ret;

	ret = nf_ct_expect_related(exp, 0);
	if (ret != -EBUSY && ret != -EALREADY)
		return ret;

	old = nf_ct_expect_find_get(nf_ct_net(ct), nf_ct_zone(ct), &exp->tuple);
	if (!old)
		return ret;
	if (old->master != ct &&
	    nf_inet_addr_cmp(&old->tuple.dst.u3, &exp->tuple.dst.u3))
		nf_ct_unexpect_related(old);
	nf_ct_expect_put(old);

	return nf_ct_expect_related(exp, 0);
}

/* Expect the media of one UDP unicast transport spec of a SETUP. */
static unsigned int rtsp_expect_spec(struct nf_rtsp_spec_ctx *c,
				     struct nf_conn *ct,
				     enum ip_conntrack_info ctinfo)
{
	struct nf_conntrack_expect *exp[RTSP_MAX_SPEC_PORTS] = { };
	const struct rtsp_ports *cp = &c->spec->client;
	unsigned int i, n = cp->hi != cp->lo ? 2 : 1;
	const struct nf_nat_rtsp_hooks *nat;
	unsigned int ret = NF_ACCEPT;
	int err;

	nat = rcu_dereference(nf_nat_rtsp_hooks);
	if (nat && ct->status & IPS_NAT_MASK)
		return nat->expect(c, ct, ctinfo);

	for (i = 0; i < n; i++) {
		exp[i] = nf_ct_rtsp_expect_alloc(ct, CTINFO2DIR(ctinfo),
						 i ? cp->hi : cp->lo);
		if (!exp[i]) {
			nf_ct_helper_log(c->skb, ct, "cannot alloc expectation");
			ret = NF_DROP;
			break;
		}
		err = rtsp_expect_related(exp[i]);
		if (err) {
			nf_ct_helper_log(c->skb, ct,
					 "cannot add expectation for port %u: %d",
					 i ? cp->hi : cp->lo, err);
			ret = NF_DROP;
			break;
		}
		nf_ct_rtsp_print_exp(exp[i]);
	}
	if (ret != NF_ACCEPT && i == 1)
		nf_ct_unexpect_related(exp[0]);
	for (i = 0; i < n; i++)
		if (exp[i])
			nf_ct_expect_put(exp[i]);
	return ret;
}

static bool rtsp_spec_wants_udp(const struct rtsp_tspec *spec)
{
	return spec->lower == RTSP_LOWER_UDP &&
	       spec->cast != RTSP_CAST_MULTICAST &&
	       !spec->interleaved && spec->client.lo;
}

/*
 * Walk the transport specs of a SETUP (or its reply) at @c->msgoff.  The
 * NAT helper may resize a spec; later offsets move by the same amount.
 */
static unsigned int rtsp_walk_specs(struct nf_rtsp_spec_ctx *c,
				    struct rtsp_msg *msg, struct nf_conn *ct,
				    enum ip_conntrack_info ctinfo)
{
	const struct nf_nat_rtsp_hooks *nat = NULL;
	bool request = msg->type == RTSP_MSG_REQUEST;
	unsigned int handled = 0, ret = NF_ACCEPT;
	struct rtsp_tspec spec;
	u32 pos = 0;
	int r;

	if (!request) {
		nat = rcu_dereference(nf_nat_rtsp_hooks);
		if (!nat)
			return NF_ACCEPT;
	}

	c->spec = &spec;
	while ((r = rtsp_transport_next(*c->dptr + c->msgoff, msg->transport,
					&pos, &spec)) != 0) {
		if (r < 0) {
			rtsp_log_bad(ct, "ignoring a malformed transport spec",
				     rtsp_method_name(msg));
			continue;
		}
		if (!rtsp_spec_wants_udp(&spec))
			continue;
		if (handled++ == RTSP_MAX_SPECS) {
			rtsp_log_bad(ct, "ignoring transport specs past the first "
				     __stringify(RTSP_MAX_SPECS), "SETUP");
			break;
		}
		pr_debug("%s udp transport, client ports %u-%u\n",
			 request ? "SETUP" : "reply", spec.client.lo,
			 spec.client.hi);

		c->delta = 0;
		if (request)
			ret = rtsp_expect_spec(c, ct, ctinfo);
		else
			ret = nat->reply(c, ct, ctinfo);
		if (ret != NF_ACCEPT)
			break;
		pos += c->delta;
		msg->transport.len += c->delta;
		msg->len += c->delta;
	}
	return ret;
}

static int rtsp_help(struct sk_buff *skb, unsigned int protoff,
		     struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	bool nat = ct->status & IPS_NAT_MASK;
	struct nf_rtsp_spec_ctx c = { .skb = skb, .protoff = protoff };
	unsigned int ret = NF_ACCEPT;
	const struct tcphdr *th;
	struct tcphdr _tcph;
	unsigned int datalen;
	const char *dptr;
	struct rtsp_msg msg;
	const u8 *first;
	u8 _first;

	if (ctinfo != IP_CT_ESTABLISHED && ctinfo != IP_CT_ESTABLISHED_REPLY)
		return NF_ACCEPT;
	/* Replies only matter when NAT must restore the client's ports. */
	if (dir == IP_CT_DIR_REPLY && !nat)
		return NF_ACCEPT;

	th = skb_header_pointer(skb, protoff, sizeof(_tcph), &_tcph);
	if (!th)
		return NF_ACCEPT;
	c.dataoff = protoff + th->doff * 4;
	if (c.dataoff >= skb->len)
		return NF_ACCEPT;

	/* Skip media interleaved in the control connection before copying. */
	first = skb_header_pointer(skb, c.dataoff, 1, &_first);
	if (!first || *first == '$')
		return NF_ACCEPT;

	/* Paged skbs are the norm; parse a linear copy, as the kernel's SIP
	 * and FTP helpers do.
	 */
	if (unlikely(skb_linearize(skb))) {
		nf_ct_helper_log(skb, ct, "cannot linearize packet");
		return NF_DROP;
	}
	dptr = skb->data + c.dataoff;
	datalen = skb->len - c.dataoff;
	c.dptr = &dptr;
	c.datalen = &datalen;

	for (c.msgoff = 0; c.msgoff < datalen; c.msgoff += msg.len) {
		switch (rtsp_parse_msg(dptr + c.msgoff, datalen - c.msgoff,
				       &msg)) {
		case RTSP_PARSE_OK:
			break;
		case RTSP_PARSE_INCOMPLETE:
			pr_debug("incomplete message, %u bytes\n",
				 datalen - c.msgoff);
			return ret;
		default:
			rtsp_log_bad(ct, "ignoring data that is not RTSP",
				     dir == IP_CT_DIR_ORIGINAL ? "request" :
				     "reply");
			return ret;
		}

		if (!msg.transport.len)
			continue;
		if (dir == IP_CT_DIR_ORIGINAL &&
		    msg.method == RTSP_METHOD_SETUP) {
			pr_debug("SETUP, Transport: %.*s\n",
				 (int)msg.transport.len,
				 dptr + c.msgoff + msg.transport.off);
			ret = rtsp_walk_specs(&c, &msg, ct, ctinfo);
		} else if (dir == IP_CT_DIR_REPLY &&
			   msg.type == RTSP_MSG_RESPONSE) {
			ret = rtsp_walk_specs(&c, &msg, ct, ctinfo);
		}
		if (ret != NF_ACCEPT)
			break;
	}
	return ret;
}

static int __init rtsp_parse_prefix(char *s)
{
	union nf_inet_addr addr = { }, mask = { };
	unsigned int plen, max, i;
	const char *end;
	char *slash;
	int family;

	slash = strchr(s, '/');
	if (slash)
		*slash = '\0';
	if (in4_pton(s, -1, (u8 *)&addr.ip, -1, &end) && !*end) {
		family = AF_INET;
		max = 32;
	} else if (in6_pton(s, -1, (u8 *)&addr.ip6, -1, &end) && !*end) {
		family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	plen = max;
	if (slash && (kstrtouint(slash + 1, 10, &plen) || plen > max))
		return -EINVAL;

	for (i = 0; i < max / 32; i++, plen -= min(plen, 32U)) {
		mask.ip6[i] = plen >= 32 ? htonl(~0U) :
			      plen ? htonl(~0U << (32 - plen)) : 0;
		addr.ip6[i] &= mask.ip6[i];
	}
	i = family == AF_INET6;
	if (source_prefix[i].set)
		return -EINVAL;
	source_prefix[i] = (struct rtsp_prefix){ true, addr, mask };
	return 0;
}

static int __init rtsp_parse_media_source(void)
{
	char *list, *cur, *tok;
	int ret = 0;

	if (!strcmp(media_source, "any")) {
		source_policy = RTSP_SOURCE_ANY;
		return 0;
	}
	if (!strcmp(media_source, "server")) {
		source_policy = RTSP_SOURCE_SERVER;
		return 0;
	}

	source_policy = RTSP_SOURCE_PREFIX;
	list = kstrdup(media_source, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	cur = list;
	while (!ret && (tok = strsep(&cur, ",")))
		ret = rtsp_parse_prefix(strim(tok));
	kfree(list);
	return ret;
}

static int __init nf_conntrack_rtsp_init(void)
{
	unsigned int i;
	int ret;

	if (rtsp_parse_media_source()) {
		pr_err("media_source=%s: expected any, server, or prefixes such as 172.26.0.0/16,2001:db8::/32 (one per family)\n",
		       media_source);
		return -EINVAL;
	}
	if (!max_outstanding || max_outstanding > NF_CT_EXPECT_MAX_CNT) {
		pr_err("max_outstanding=%u: must be 1..%u\n", max_outstanding,
		       NF_CT_EXPECT_MAX_CNT);
		return -EINVAL;
	}
	if (!setup_timeout) {
		pr_err("setup_timeout must be at least 1 second\n");
		return -EINVAL;
	}
	rtsp_exp_policy.max_expected = max_outstanding;
	rtsp_exp_policy.timeout = setup_timeout;

	if (ports_c == 0)
		ports[ports_c++] = RTSP_PORT;

	for (i = 0; i < ports_c; i++) {
		if (!ports[i]) {
			pr_err("ports: 0 is not a port\n");
			return -EINVAL;
		}
		rtsp_ct_helper_init(&rtsp_helpers[2 * i], AF_INET, IPPROTO_TCP,
				    RTSP_HELPER_NAME, RTSP_PORT, ports[i], i,
				    &rtsp_exp_policy, 0, rtsp_help,
				    THIS_MODULE);
		rtsp_ct_helper_init(&rtsp_helpers[2 * i + 1], AF_INET6,
				    IPPROTO_TCP, RTSP_HELPER_NAME, RTSP_PORT,
				    ports[i], i, &rtsp_exp_policy, 0,
				    rtsp_help, THIS_MODULE);
	}

	ret = rtsp_helpers_register(rtsp_helpers, ports_c * 2);
	if (ret < 0) {
		pr_err("failed to register helpers: %d\n", ret);
		return ret;
	}
	pr_info("helper \"%s\" on %u port(s) from %u, media_source=%s\n",
		RTSP_HELPER_NAME, ports_c, ports[0], media_source);
	return 0;
}

static void __exit nf_conntrack_rtsp_fini(void)
{
	rtsp_helpers_unregister(rtsp_helpers, ports_c * 2);
}

module_init(nf_conntrack_rtsp_init);
module_exit(nf_conntrack_rtsp_fini);

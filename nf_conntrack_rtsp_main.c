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
 * Per control connection it remembers which media each RTSP session set
 * up: TEARDOWN removes only that session's expectations and flows, and
 * while the client keeps talking (PAUSE, GET_PARAMETER keep-alives) its
 * media flows are kept from timing out.  Messages split across TCP
 * segments are reassembled in a small per-connection buffer.
 *
 * Expected connections get no helper: the media path never enters here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/jhash.h>
#include <linux/rculist.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/tcp.h>
#include <linux/workqueue.h>
#include <linux/netfilter.h>

#include <net/ipv6.h>
#include <net/netns/generic.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_conntrack_seqadj.h>
#include <net/netfilter/nf_conntrack_zones.h>

#include "netfilter_helpers.h"
#include "nf_conntrack_rtsp.h"

#define RTSP_HELPER_NAME	"rtsp"
#define RTSP_MAX_PORTS		8
/* Media ports remembered per control connection (the newest win). */
#define RTSP_MEDIA_MAX		8
/* Longest message head held while the rest of it is on its way. */
#define RTSP_HOLD_MAX		2048
/* NATed messages whose rewrite a retransmission must get again. */
#define RTSP_REMAP_MAX		3
/* Times a split SETUP is held back before it is let through. */
#define RTSP_HOLDBACK_MAX	2
/*
 * Senders other than the server that media_source=server admits for a
 * connection's media: hosts a SETUP URL or a SETUP reply's source= named.
 */
#define RTSP_ALT_MAX		2
/* Their expectations: a class of their own, so that they never push out
 * the server's (max_outstanding each).
 */
#define RTSP_EXPECT_CLASS_ALT	1
/*
 * A PLAY expects a session's media again, for a new sender: it starts at
 * once or not at all, and meanwhile (media_source=any) any host could take
 * the port's flow.  These expectations get classes of their own, with a
 * short timeout (at most setup_timeout).
 */
#define RTSP_EXPECT_CLASS_REARM	2	/* | RTSP_EXPECT_CLASS_ALT */
#define RTSP_REARM_TIMEOUT	120U
#define RTSP_EXPECT_CLASS_MAX	(RTSP_EXPECT_CLASS_REARM | RTSP_EXPECT_CLASS_ALT)
/*
 * Segments after a gap in the client's bytes dropped before giving up, and
 * segments that need a free hold buffer.
 */
#define RTSP_GAP_DROPS_MAX	64
#define RTSP_NOHOLD_DROPS_MAX	4

MODULE_AUTHOR("rtsp-conntrack developers");
MODULE_DESCRIPTION("RTSP connection tracking helper");
MODULE_LICENSE("GPL");
MODULE_ALIAS("ip_conntrack_rtsp");
MODULE_ALIAS_NFCT_HELPER(RTSP_HELPER_NAME);
MODULE_VERSION(RTSP_CONNTRACK_VERSION);

static unsigned short ports[RTSP_MAX_PORTS];
static unsigned int ports_c;
module_param_array(ports, ushort, &ports_c, 0444);
MODULE_PARM_DESC(ports,
		 "TCP port(s) of RTSP servers, up to 8 (default 554): helper \"rtsp\" on 554, \"rtsp-<index>\" on the others; \"rtsp\", which rules attach on any port, always exists");

static unsigned int max_outstanding = 8;
module_param(max_outstanding, uint, 0444);
MODULE_PARM_DESC(max_outstanding,
		 "expected media ports per control connection, 1 to 255 (default 8); past it the oldest expectation is dropped");

static unsigned int setup_timeout = 300;
module_param(setup_timeout, uint, 0444);
MODULE_PARM_DESC(setup_timeout,
		 "seconds an expectation waits for its media after a SETUP (default 300)");

static unsigned int max_per_host = 32;
module_param(max_per_host, uint, 0644);
MODULE_PARM_DESC(max_per_host,
		 "max RTSP expectations one client host may hold over all its connections, so that a flood of SETUPs cannot fill the expectation table (default 32, 0: no limit)");

static unsigned int host_prefix6 = 64;
module_param(host_prefix6, uint, 0444);
MODULE_PARM_DESC(host_prefix6,
		 "IPv6 prefix length that is one client host for the held message heads and max_per_prefix6 (default 64, as a host has many addresses in its /64)");

/*
 * IPv6: an address holds max_per_host expectations, all those of its
 * host_prefix6 prefix together max_per_prefix6: a host does not pass the
 * limit by using more addresses.  Where the LAN's hosts share one /64,
 * that is a limit for all of them together.
 */
static unsigned int max_per_prefix6 = 128;
module_param(max_per_prefix6, uint, 0644);
MODULE_PARM_DESC(max_per_prefix6,
		 "max RTSP expectations all the IPv6 addresses of one host_prefix6 prefix may hold together, with max_per_host for each (default 128; 0: no limit per prefix)");

static char *media_source = "any";
module_param(media_source, charp, 0444);
MODULE_PARM_DESC(media_source,
		 "who may send the media: any (default, as IPTV VoD needs), server (the RTSP server, and up to 2 hosts a SETUP reply's source= or a SETUP URL's literal address names), or address prefixes, at most one per family, such as 172.26.0.0/16,2001:db8::/32 (a family without one falls back to server)");

static unsigned int max_held_heads = 4096;
module_param(max_held_heads, uint, 0644);
MODULE_PARM_DESC(max_held_heads,
		 "max message heads held, over all connections, while the rest of them is on their way (2 KiB each, default 4096)");

#define RTSP_MEDIA_TIMEOUT_MAX	(7U * 24 * 3600)
static unsigned int media_timeout = 600;
module_param(media_timeout, uint, 0644);
MODULE_PARM_DESC(media_timeout,
		 "seconds each RTSP request of a client keeps its media flows alive, so that a long PAUSE keeps its stream (default 600, at most a week, 0 disables)");

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

static struct nf_conntrack_expect_policy rtsp_exp_policy[4] __read_mostly = {
	{ .name = RTSP_HELPER_NAME },
	{ .name = RTSP_HELPER_NAME "-alt" },
	{ .name = RTSP_HELPER_NAME "-play" },
	{ .name = RTSP_HELPER_NAME "-play-alt" },
};

/* Two per port of ports=, and two for "rtsp" on 554 when it is not there. */
static struct nf_conntrack_helper rtsp_helpers[(RTSP_MAX_PORTS + 1) * 2] __read_mostly;
/* The kernel registers copies of them and hands these back. */
static struct nf_conntrack_helper *rtsp_registered[ARRAY_SIZE(rtsp_helpers)];
static unsigned int rtsp_helpers_c;

/* A paged payload up to this size is parsed from a copy. */
#define RTSP_BOUNCE_MAX		2048

struct rtsp_bounce {
	char buf[RTSP_BOUNCE_MAX];
	struct nf_rtsp_msg_ctx c;	/* what the NAT helper is handed */
};

/* Allocated: static per-CPU data of modules comes from a small reserve. */
static struct rtsp_bounce __percpu *rtsp_bounce;

/* Set on unload: no packet may allocate or use per-connection state. */
static bool rtsp_unloading;

enum rtsp_media_state {
	RTSP_MEDIA_FREE,
	RTSP_MEDIA_EXPECTED,		/* an expectation waits for it */
	RTSP_MEDIA_FLOWING,		/* @child sends its newest flow */
};

/*
 * The sender of a media flow: the rest of its original tuple is the
 * media's (UDP to the address the server sends to, port @port).
 */
struct rtsp_sender {
	union nf_inet_addr addr;
	__be16 port;
};

/*
 * A media port of a session.  Behind NAT it holds its router port in
 * rtsp_ports[] (@owned), at the address the server of @master sends to:
 * its key does not change while it is there, and @state, @child, @prev
 * and @expires change only under rtsp_ports_lock too, so that other
 * connections can tell if it is alive.  @master is referenced by the
 * connection's state (rtsp_conn_get()).
 */

struct rtsp_media {
	struct hlist_node port_node;
	struct rtsp_sender child;	/* FLOWING: of the newest flow */
	/*
	 * FLOWING, the flow before @child, when a PLAY let a new sender in:
	 * it is not ended then (the new flow may be a stray datagram that
	 * took the port's expectation), only with the media.
	 */
	struct rtsp_sender prev;
	struct nf_conn *master;		/* the control connection */
	unsigned long expires;		/* EXPECTED: when that ends */
	u32 session;			/* hash of the Session id, 0: unknown */
	u32 cseq;			/* hash of the SETUP's CSeq */
	__be16 port;			/* where the media is expected */
	__be16 client_port;		/* the client's own port behind it */
	u8 state;			/* enum rtsp_media_state */
	bool owned;			/* in rtsp_ports[] */
	bool has_prev;			/* @prev is set */
	u8 gen;				/* conn->gen of its SETUP */
};

/*
 * A message the NAT helper rewrote, for its retransmissions: a SETUP (its
 * mapping, until its reply) or a SETUP reply.
 */
struct rtsp_remap {
	u32 seq;			/* of the message's first byte */
	u32 hdr_len;			/* its head, as first seen */
	u32 hash;			/* of that head, 0: slot free */
	u16 port[RTSP_MAX_SPECS];
};

/* One direction of the control connection's byte stream. */
struct rtsp_stream {
	u32 next_seq;			/* first byte not seen yet */
	/*
	 * Body bytes still to come; of a client not followed behind NAT, how
	 * many first bytes of "client_port" its bytes end with.
	 */
	u32 skip;
	u32 held;			/* bytes of a message head in @hold */
	bool synced;			/* @next_seq is valid */
	/* A split SETUP was dropped at @next_seq, @holdbacks times. */
	bool holding;
	u8 holdbacks;
	/* Segments dropped to wait: for bytes lost before us, or a buffer. */
	u8 gapdrops;
	char *hold;			/* RTSP_HOLD_MAX bytes while in use */
};

struct rtsp_conn {
	union {
		/* In rtsp_conns from its allocation to its release (@listed). */
		struct hlist_node all;
		/* Then in rtsp_releases, or not. */
		struct llist_node release;
		struct rcu_head rcu;		/* after them */
	};
	/* In rtsp_hosts[] while it may hold expectations (@indexed). */
	struct hlist_node host_node;
	struct rtsp_host_bucket *host;	/* of its client, fixed at allocation */
	/* Whose helper data points here: referenced while this lives. */
	struct nf_conn *ct;
	spinlock_t lock;		/* what follows, but where said */
	u32 freeing;			/* (cmpxchg) released, or being released */
	bool indexed;			/* (the bucket's lock) */
	bool dead;			/* (the bucket's lock) never indexed again */
	bool listed;			/* (rtsp_conns_lock) */
	/* Ports a SETUP is expecting now (cleared, under @lock, after). */
	u8 pending;
	bool released;			/* (conn->lock) no port may be held */
	/* The NAT helper gave a SETUP other ports: replies need restoring. */
	bool remapped;
	bool garbage;			/* lost the client's messages: ignored */
	u8 gen;				/* of the message being handled */
	u8 next_slot;			/* in @media, the next one to evict */
	u8 n_media;			/* @media[0, n_media) are allocated */
	u8 next_remap[IP_CT_DIR_MAX];	/* in @remap, the next to reuse */
	u8 n_alt;			/* in @alt */
	u8 next_alt;			/* in @alt, the next to replace */
	/* media_source=server: other senders named for the media. */
	union nf_inet_addr alt[RTSP_ALT_MAX];
	struct rtsp_stream stream[IP_CT_DIR_MAX];
	/*
	 * Media slots (conn->lock): the first is @media0, the others are
	 * allocated in turn when a SETUP needs them and live as long as the
	 * state, which then fits in 512 bytes.
	 */
	struct rtsp_media *media[RTSP_MEDIA_MAX];
	struct rtsp_remap remap[IP_CT_DIR_MAX][RTSP_REMAP_MAX];
	struct rtsp_media media0;
};

/*
 * Media slot *@i of @conn, or NULL past the allocated ones: the loops over
 * them (conn->lock held).
 */
static struct rtsp_media *rtsp_media_next(const struct rtsp_conn *conn,
					  unsigned int *i)
{
	return *i < conn->n_media ? conn->media[*i] : NULL;
}

static_assert(RTSP_MEDIA_MAX <= U8_MAX);

/* Callers have BH off: checked on lockdep kernels. */
#define rtsp_assert_bh_off() \
	WARN_ON_ONCE(IS_ENABLED(CONFIG_PROVE_LOCKING) && !in_softirq())

/*
 * Our connections that may hold expectations, hashed by client host (an
 * IPv4 address, an IPv6 host_prefix6 prefix: a host has many addresses in
 * it): max_per_host (per address) and max_per_prefix6 count a client's
 * expectations from its own connections instead of walking the whole
 * expectation table on each SETUP.  A SETUP
 * counts and reserves its ports under the bucket's lock, so that two
 * SETUPs of a host cannot both pass the limit; the walk also drops the
 * connections it meets that hold none, so that idle ones do not pile up.
 * Lock order: conn->lock, then the bucket's lock, then (only tried)
 * another connection's lock; rtsp_ports_lock under conn->lock.
 * rtsp_conns_lock is innermost: a release takes it, and ->destroy runs
 * inline under conn->lock, rtsp_ports_lock or a bucket's lock when a
 * conntrack lookup of ours reaps an expired master (rtsp_lookups: then
 * the rest of the release waits for a work item).
 */
#define RTSP_HOSTS_BITS		8

struct rtsp_host_bucket {
	spinlock_t lock;		/* writers of @conns */
	struct hlist_head conns;
	atomic_t holds;			/* hold buffers of its connections */
};

static struct rtsp_host_bucket rtsp_hosts[1 << RTSP_HOSTS_BITS];
static u32 rtsp_hosts_seed __read_mostly;

/*
 * Every connection state.  ctnetlink can take a helper away from a
 * conntrack ("conntrack -U --helper ''"), and then ->destroy never runs
 * for it: each new state looks at the next RTSP_CONNS_GC round the list
 * (a cursor), and a work item at all of them every RTSP_GC_INTERVAL, and
 * they free those whose conntrack is gone or no longer ours.
 */
static HLIST_HEAD(rtsp_conns);
static DEFINE_SPINLOCK(rtsp_conns_lock);
static unsigned int rtsp_conns_n;	/* listed (rtsp_conns_lock) */
/* The collector's next look (rtsp_conns_lock): a state's, NULL: the first. */
static struct hlist_node *rtsp_gc_pos;
/* Walks that let rtsp_conns_lock go with states off the list. */
static DEFINE_MUTEX(rtsp_conns_walk);
#define RTSP_CONNS_GC		2

/*
 * Router ports held by sessions behind NAT, hashed by address and port: a
 * port goes to one session at a time, also once its expectation is used
 * up by the flow.  SETUPs are rare: one lock serves them all.  It is taken
 * under conn->lock, with BH off.
 */
#define RTSP_PORTS_BITS		8

static struct hlist_head rtsp_ports[1 << RTSP_PORTS_BITS];
static DEFINE_SPINLOCK(rtsp_ports_lock);

/*
 * The media flow of a session whose control connection ended still holds
 * its router port while it lives: another session's stream from the same
 * sender would join it.  Hashed like rtsp_ports[], under its lock; freed
 * by the first look that finds the flow gone.
 */
struct rtsp_orphan {
	struct hlist_node node;
	possible_net_t net;
	struct nf_conntrack_zone zone;
	struct nf_conntrack_tuple child;
	union nf_inet_addr addr;
	__be16 port;
	u8 family;
	u8 host;			/* the client's rtsp_hosts[] bucket */
};

static struct hlist_head rtsp_orphans[1 << RTSP_PORTS_BITS];
/*
 * Records in rtsp_orphans[] (rtsp_ports_lock): up to RTSP_ORPHANS_HOST for
 * the clients of one host bucket of a namespace, RTSP_ORPHANS_NET_MAX per
 * namespace, and RTSP_ORPHANS_MAX in all the namespaces but the initial
 * one (containers do not take the router's share).  A flow whose hosts
 * have no room left is ended: left to live without its port, it could
 * get another session's stream.  When the namespace or all have none,
 * the others' flows are not ended for it: they go on without a record.
 */
static unsigned int rtsp_orphans_n;
#define RTSP_ORPHANS_NET_MAX	4096
#define RTSP_ORPHANS_HOST	256
#define RTSP_ORPHANS_MAX	(4 * RTSP_ORPHANS_NET_MAX)
/* Buckets reaped at once when there is no room (beside the new one's). */
#define RTSP_ORPHANS_REAP	2

struct rtsp_net {
	unsigned int orphans;		/* rtsp_ports_lock */
	u16 host_orphans[1 << RTSP_HOSTS_BITS];	/* per client bucket */
};

static unsigned int rtsp_net_id __read_mostly;

static struct rtsp_net *rtsp_pernet(const struct net *net)
{
	return net_generic(net, rtsp_net_id);
}

/*
 * A delayed work item looks at every state of rtsp_conns and at some of
 * rtsp_orphans[] every RTSP_GC_INTERVAL while any is there: state whose
 * conntrack lost our helper, and records whose flow is gone, do not wait
 * for new RTSP connections to be found.  An orphan bucket is swept every
 * RTSP_GC_INTERVAL * 256 / RTSP_GC_ORPHAN_BUCKETS (80 s).
 */
#define RTSP_GC_INTERVAL	(10 * HZ)
#define RTSP_GC_ORPHAN_BUCKETS	32

static void rtsp_gc_kick(void);

/* In nf_conn_help::data (zeroed when the helper is attached). */
struct nf_ct_rtsp_master {
	struct rtsp_conn *conn;
	u32 client_isn;			/* the client's first data byte */
	u32 resync_isn;			/* ...of a new connection on the tuple */
	u32 resync;			/* RTSP_RESYNC_* (cmpxchg) */
	/* ct->lock: what rtsp_seqadj_move() changed, for rtsp_seqadj_back(). */
	u32 saved_pos;
	s32 saved_before;
	u8 syn;				/* RTSP_SYN_* */
	bool unseen;			/* client bytes went by without state */
	bool adjusted;			/* (ct->lock) rewrites moved the stream */
	u8 moved;			/* (ct->lock) RTSP_MOVED_* */
};

/* How rtsp_seqadj_move() spared a SYN of the old adjustment. */
#define RTSP_MOVED_AHEAD	1	/* the SYN is after the old bytes */
#define RTSP_MOVED_BEHIND	2

#define RTSP_SYN_SEEN		1	/* @client_isn is valid */
#define RTSP_SYN_DATA		2	/* the SYN carried data (Fast Open) */
#define RTSP_SYN_PICKUP		4	/* picked up mid-stream, with no SYN */

/* A SYN of the client on an established connection, then its SYN/ACK. */
#define RTSP_RESYNC_SYN		1	/* @resync_isn: where its bytes begin */
#define RTSP_RESYNC_DONE	2	/* conntrack follows the new connection */
#define RTSP_RESYNC_DATA	4	/* the SYN carried data */

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

/*
 * Hold buffers allocated, over all connections (max_held_heads), and per
 * client host bucket (a 256th of them, 4 at least), so that one host, or
 * a few, cannot take them all.
 */
static atomic_t rtsp_holds = ATOMIC_INIT(0);
#define RTSP_HOST_HOLDS(max)	max_t(unsigned int, (max) >> RTSP_HOSTS_BITS, 4)

static char *rtsp_hold_alloc(struct rtsp_conn *conn)
{
	unsigned int max = READ_ONCE(max_held_heads);
	atomic_t *host = &conn->host->holds;
	char *p;

	if (atomic_inc_return(host) > RTSP_HOST_HOLDS(max))
		goto none_host;
	if (atomic_inc_return(&rtsp_holds) > max)
		goto none;
	p = kmalloc(RTSP_HOLD_MAX, GFP_ATOMIC);
	if (p)
		return p;
none:
	atomic_dec(&rtsp_holds);
none_host:
	atomic_dec(host);
	return NULL;
}

static void rtsp_hold_free(struct rtsp_conn *conn, char *p)
{
	if (!p)
		return;
	kfree(p);
	atomic_dec(&rtsp_holds);
	atomic_dec(&conn->host->holds);
}

static void rtsp_conn_free_rcu(struct rcu_head *head)
{
	struct rtsp_conn *conn = container_of(head, struct rtsp_conn, rcu);
	unsigned int i;

	rtsp_hold_free(conn, conn->stream[IP_CT_DIR_ORIGINAL].hold);
	rtsp_hold_free(conn, conn->stream[IP_CT_DIR_REPLY].hold);
	nf_ct_put(conn->ct);
	for (i = 1; i < conn->n_media; i++)
		kfree(conn->media[i]);
	kfree(conn);
}

/* Only for a conntrack sure to be the one it was (its state's @host). */
static struct rtsp_host_bucket *rtsp_host_bucket(const struct nf_conn *ct)
{
	const union nf_inet_addr *a =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3;
	u32 seed = rtsp_hosts_seed ^ net_hash_mix(nf_ct_net(ct));
	struct in6_addr host;
	u32 h;

	if (nf_ct_l3num(ct) == AF_INET) {
		h = jhash_1word(a->all[0], seed);
	} else {
		ipv6_addr_prefix(&host, &a->in6, host_prefix6);
		h = jhash2((const u32 *)&host, 4, seed);
	}
	return &rtsp_hosts[hash_32(h, RTSP_HOSTS_BITS)];
}

/* The clients of @a and @b: the same address, the same IPv6 prefix? */
enum rtsp_kin {
	RTSP_KIN_NONE,
	RTSP_KIN_PREFIX,		/* IPv6: within host_prefix6 */
	RTSP_KIN_ADDR,
};

static enum rtsp_kin rtsp_kin(const struct nf_conn *a, const struct nf_conn *b)
{
	const union nf_inet_addr *x =
		&a->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3;
	const union nf_inet_addr *y =
		&b->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3;

	if (nf_ct_l3num(a) != nf_ct_l3num(b) ||
	    !net_eq(nf_ct_net(a), nf_ct_net(b)))
		return RTSP_KIN_NONE;
	if (nf_ct_l3num(a) == AF_INET)
		return x->ip == y->ip ? RTSP_KIN_ADDR : RTSP_KIN_NONE;
	if (ipv6_addr_equal(&x->in6, &y->in6))
		return RTSP_KIN_ADDR;
	return ipv6_prefix_equal(&x->in6, &y->in6, host_prefix6) ?
	       RTSP_KIN_PREFIX : RTSP_KIN_NONE;
}

/*
 * rtsp_help() calls this under conn->lock; a release (->destroy, the
 * collector of rtsp_conns, the release work item) calls it without, after
 * its last use of conn->lock, maybe on another CPU at the same time: the
 * bucket's lock orders them.  A reader still on the node when it is added
 * again walks the bucket anew from its head: it may count twice, never
 * miss one.  BH off (all of them have it off).
 */
static void rtsp_host_index(struct rtsp_conn *conn, bool on, bool dead)
{
	struct rtsp_host_bucket *b = conn->host;

	rtsp_assert_bh_off();
	spin_lock(&b->lock);
	conn->dead |= dead;
	on &= !conn->dead;
	if (on != conn->indexed) {
		if (on)
			hlist_add_head_rcu(&conn->host_node, &b->conns);
		else
			hlist_del_rcu(&conn->host_node);
		WRITE_ONCE(conn->indexed, on);
	}
	spin_unlock(&b->lock);
}

/* The bucket of a router port, in rtsp_ports[] and in rtsp_orphans[]. */
static u32 rtsp_port_hash(const struct net *net,
			  const union nf_inet_addr *addr, __be16 port)
{
	u32 seed = rtsp_hosts_seed ^ net_hash_mix(net) ^ (__force u32)port;

	return hash_32(jhash2(addr->all, 4, seed), RTSP_PORTS_BITS);
}

/*
 * The flow of @tuple, with a reference, if it lives (and, with @master,
 * is that master's child).
 */
/*
 * Our conntrack lookups in progress on this CPU: a lookup reaps the expired
 * entries it meets and may call ->destroy inline, under our locks.
 */
static DEFINE_PER_CPU(unsigned int, rtsp_lookups);

static struct nf_conn *rtsp_flow_get(struct net *net,
				     const struct nf_conntrack_zone *zone,
				     const struct nf_conntrack_tuple *tuple,
				     const struct nf_conn *master)
{
	const struct nf_conntrack_tuple_hash *h;
	struct nf_conn *child;

	this_cpu_inc(rtsp_lookups);
	h = nf_conntrack_find_get(net, zone, tuple);
	this_cpu_dec(rtsp_lookups);
	if (!h)
		return NULL;
	child = nf_ct_tuplehash_to_ctrack(h);
	if ((master && child->master != master) || nf_ct_is_dying(child)) {
		nf_ct_put(child);
		return NULL;
	}
	return child;
}

static bool rtsp_flow_alive(struct net *net,
			    const struct nf_conntrack_zone *zone,
			    const struct nf_conntrack_tuple *tuple,
			    const struct nf_conn *master)
{
	struct nf_conn *child = rtsp_flow_get(net, zone, tuple, master);

	if (child)
		nf_ct_put(child);
	return child;
}

/* The address the media goes to: behind NAT, the router's it is held at. */
static const union nf_inet_addr *rtsp_media_addr(const struct rtsp_media *md)
{
	return &md->master->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u3;
}

/* The original tuple of @md's flow from @snd. */
static void rtsp_sender_tuple(const struct rtsp_media *md,
			      const struct rtsp_sender *snd,
			      struct nf_conntrack_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->src.l3num = nf_ct_l3num(md->master);
	t->src.u3 = snd->addr;
	t->src.u.udp.port = snd->port;
	t->dst.u3 = *rtsp_media_addr(md);
	t->dst.u.udp.port = md->port;
	t->dst.protonum = IPPROTO_UDP;
	t->dst.dir = IP_CT_DIR_ORIGINAL;
}

/* @md's flow from @snd, with a reference, if it lives. */
static struct nf_conn *rtsp_find_flow(const struct rtsp_media *md,
				      const struct rtsp_sender *snd)
{
	struct nf_conntrack_tuple t;

	rtsp_sender_tuple(md, snd, &t);
	return rtsp_flow_get(nf_ct_net(md->master), nf_ct_zone(md->master),
			     &t, md->master);
}

static bool rtsp_sender_eq(const struct rtsp_sender *a,
			   const struct rtsp_sender *b)
{
	return a->port == b->port && nf_inet_addr_cmp(&a->addr, &b->addr);
}

/* Does a flow of FLOWING @md live? */
static bool rtsp_media_flows(const struct rtsp_media *md)
{
	struct nf_conn *flow = rtsp_find_flow(md, &md->child);

	if (!flow && md->has_prev)
		flow = rtsp_find_flow(md, &md->prev);
	if (flow)
		nf_ct_put(flow);
	return flow;
}

/*
 * Does @md, in rtsp_ports[], still hold its port (rtsp_ports_lock held, or
 * its connection's lock: the writers of what it reads hold both)?
 * Its expectations until they would have timed out, then its flows while
 * they live: a flow ends with no word to us, so look.  @md->master lives
 * as long as its connection's state, which @md is part of.
 */
static bool rtsp_media_live(const struct rtsp_media *md)
{
	/* Expected, or (FLOWING) expected again by a PLAY. */
	if (time_before(jiffies, md->expires))
		return true;
	return md->state == RTSP_MEDIA_FLOWING && rtsp_media_flows(md);
}

/*
 * Does EXPECTED @md still hold its router port, if it has one (conn->lock
 * held: @expires changes only under it too)?  Once the hold is over the
 * port may be another session's: nothing more may be expected on it.
 */
static bool rtsp_media_held(const struct rtsp_media *md)
{
	return !md->owned || time_before(jiffies, md->expires);
}

/* rtsp_ports_lock held. */
static void rtsp_orphan_del(struct rtsp_orphan *o)
{
	struct rtsp_net *rn;

	hlist_del(&o->node);
	rtsp_orphans_n--;
	rn = rtsp_pernet(read_pnet(&o->net));
	rn->orphans--;
	rn->host_orphans[o->host]--;
	kfree(o);
}

/*
 * Is @port held, other than by @self's media?  @h is its rtsp_port_hash()
 * (rtsp_ports_lock held).
 */
static bool rtsp_port_busy(struct net *net, u8 family,
			   const union nf_inet_addr *addr, __be16 port, u32 h,
			   const struct nf_conn *self)
{
	const struct rtsp_media *md;
	struct rtsp_orphan *o;
	struct hlist_node *tmp;

	hlist_for_each_entry(md, &rtsp_ports[h], port_node)
		if (md->port == port && md->master != self &&
		    nf_ct_l3num(md->master) == family &&
		    nf_inet_addr_cmp(rtsp_media_addr(md), addr) &&
		    net_eq(nf_ct_net(md->master), net) &&
		    rtsp_media_live(md))
			return true;
	hlist_for_each_entry_safe(o, tmp, &rtsp_orphans[h], node) {
		if (o->port != port || o->family != family ||
		    !nf_inet_addr_cmp(&o->addr, addr) ||
		    !net_eq(read_pnet(&o->net), net))
			continue;
		if (rtsp_flow_alive(net, &o->zone, &o->child, NULL))
			return true;
		rtsp_orphan_del(o);
	}
	return false;
}

/* Free the records of @head whose flow is gone (rtsp_ports_lock held). */
static void rtsp_orphans_reap(struct hlist_head *head)
{
	struct rtsp_orphan *o;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(o, tmp, head, node)
		if (!rtsp_flow_alive(read_pnet(&o->net), &o->zone, &o->child,
				     NULL))
			rtsp_orphan_del(o);
}

/* Room for one more record in @net, and in all (rtsp_ports_lock)? */
static bool rtsp_orphan_room(const struct net *net)
{
	return rtsp_pernet(net)->orphans < RTSP_ORPHANS_NET_MAX &&
	       (net_eq(net, &init_net) || rtsp_orphans_n < RTSP_ORPHANS_MAX);
}

/*
 * The flow of original tuple @flow, of a client in host bucket @host,
 * holds its router port (its destination) while it lives (BH off).  With
 * @once, not when the port is held already.  -ENOSPC: the client's hosts
 * have no room left; -ENOBUFS: the namespace, or all, have none.
 */
static int rtsp_orphan_add(struct net *net,
			   const struct nf_conntrack_zone *zone,
			   const struct nf_conntrack_tuple *flow, u8 host,
			   bool once)
{
	const union nf_inet_addr *addr = &flow->dst.u3;
	struct rtsp_net *rn = rtsp_pernet(net);
	struct hlist_head *head;
	struct rtsp_orphan *o;
	unsigned int i, k;
	bool room, mine;
	u32 h;
	int ret = 0;

	/* Not for a namespace going away (rtsp_net_exit_batch()). */
	if (!check_net(net))
		return -ENOENT;
	o = kzalloc_obj(*o, GFP_ATOMIC);
	if (!o)
		return -ENOMEM;
	write_pnet(&o->net, net);
	o->zone = *zone;
	o->child = *flow;
	o->addr = *addr;
	o->port = flow->dst.u.udp.port;
	o->family = flow->src.l3num;
	o->host = host;
	h = rtsp_port_hash(net, addr, o->port);
	head = &rtsp_orphans[h];
	spin_lock(&rtsp_ports_lock);
	/* rtsp_net_exit_batch() takes this lock once it is dying. */
	if (!check_net(net) ||
	    (once && rtsp_port_busy(net, o->family, addr, o->port, h, NULL))) {
		ret = -EEXIST;
		goto out;
	}
	mine = rn->host_orphans[host] < RTSP_ORPHANS_HOST;
	room = rtsp_orphan_room(net);
	/* Dead records wait for the collector: make room here first. */
	for (k = 0; (!mine || !room) && k <= RTSP_ORPHANS_REAP; k++) {
		i = (head - rtsp_orphans + k) % ARRAY_SIZE(rtsp_orphans);
		rtsp_orphans_reap(&rtsp_orphans[i]);
		mine = rn->host_orphans[host] < RTSP_ORPHANS_HOST;
		room = rtsp_orphan_room(net);
	}
	if (!mine) {
		ret = -ENOSPC;
	} else if (!room) {
		ret = -ENOBUFS;
	} else {
		hlist_add_head(&o->node, head);
		rtsp_orphans_n++;
		rn->orphans++;
		rn->host_orphans[host]++;
	}
out:
	spin_unlock(&rtsp_ports_lock);
	if (ret)
		kfree(o);
	else
		rtsp_gc_kick();
	return ret;
}

/* At the end of its control connection, @md's live flows keep its port. */
static void rtsp_media_orphan_flow(struct rtsp_media *md,
				   const struct rtsp_sender *snd)
{
	struct nf_conn *ct = md->master, *child;
	struct net *net = nf_ct_net(ct);
	struct nf_conntrack_tuple flow;
	int ret;

	rtsp_sender_tuple(md, snd, &flow);
	child = rtsp_flow_get(net, nf_ct_zone(ct), &flow, ct);
	if (!child)
		return;
	ret = rtsp_orphan_add(net, nf_ct_zone(ct), &flow,
			      rtsp_host_bucket(ct) - rtsp_hosts, false);
	if (!ret) {
		pr_debug("media port %u: held by its flow after the control connection\n",
			 ntohs(md->port));
	} else if (ret == -ENOSPC) {
		/* Left to live without its port, it could get another's stream. */
		rtsp_log_bad(ct,
			     "too many media flows of this client's hosts outlive their RTSP connection",
			     "flow ended");
		nf_ct_kill(child);
	} else if (ret != -ENOENT) {
		rtsp_log_bad(ct, ret == -ENOMEM ? "no memory for a media flow's record" :
				 "too many media flows outlive their control connection",
			     "router port not held for its flow");
	}
	nf_ct_put(child);
}

static void rtsp_media_orphan(struct rtsp_media *md)
{
	if (!md->owned || md->state != RTSP_MEDIA_FLOWING)
		return;
	rtsp_media_orphan_flow(md, &md->child);
	if (md->has_prev)
		rtsp_media_orphan_flow(md, &md->prev);
}

/* @md no longer holds a port (conn->lock held). */
static void rtsp_media_free(struct rtsp_media *md)
{
	if (md->owned) {
		spin_lock(&rtsp_ports_lock);
		hlist_del(&md->port_node);
		md->owned = false;
		spin_unlock(&rtsp_ports_lock);
	}
	md->state = RTSP_MEDIA_FREE;
}

/* rtsp_conns_lock held. */
static void rtsp_conn_link(struct rtsp_conn *conn)
{
	hlist_add_head(&conn->all, &rtsp_conns);
	conn->listed = true;
	rtsp_conns_n++;
}

/* @conn leaves rtsp_conns: the collector's cursor moves past it. */
static void rtsp_gc_pass(struct rtsp_conn *conn)
{
	if (rtsp_gc_pos == &conn->all)
		rtsp_gc_pos = conn->all.next;
}

static void rtsp_conn_unlink(struct rtsp_conn *conn)
{
	rtsp_gc_pass(conn);
	hlist_del(&conn->all);
	conn->listed = false;
	rtsp_conns_n--;
}

/* Out of rtsp_conns, unless the collector took it out first (BH off). */
static void rtsp_conn_unlist(struct rtsp_conn *conn)
{
	rtsp_assert_bh_off();
	spin_lock(&rtsp_conns_lock);
	if (conn->listed)
		rtsp_conn_unlink(conn);
	spin_unlock(&rtsp_conns_lock);
}

/*
 * Whoever comes first releases @conn, once (the caller keeps it from being
 * freed meanwhile: an RCU section).  The release runs with BH off.
 */
static bool rtsp_conn_release_begin(struct rtsp_conn *conn)
{
	if (cmpxchg(&conn->freeing, 0, 1))
		return false;
	rtsp_conn_unlist(conn);
	return true;
}

static void rtsp_conn_release_end(struct rtsp_conn *conn)
{
	rtsp_host_index(conn, false, true);
	call_rcu(&conn->rcu, rtsp_conn_free_rcu);
}

/*
 * A packet of this connection may still be in rtsp_help() elsewhere: it
 * holds conn->lock while it uses the state, and @released tells it that
 * no port may be taken any more.  A live flow keeps its port (@orphan).
 */
static void rtsp_conn_release_rest(struct rtsp_conn *conn, bool orphan)
{
	struct rtsp_media *md;
	unsigned int i;

	rtsp_assert_bh_off();
	spin_lock(&conn->lock);
	conn->released = true;
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (orphan)
			rtsp_media_orphan(md);
		rtsp_media_free(md);
	}
	spin_unlock(&conn->lock);
	rtsp_conn_release_end(conn);
}

static void rtsp_conn_release(struct rtsp_conn *conn, bool orphan)
{
	if (rtsp_conn_release_begin(conn))
		rtsp_conn_release_rest(conn, orphan);
}

/*
 * ->destroy may run inline in a conntrack lookup of ours (it reaps the
 * expired entries it meets), under conn->lock or rtsp_ports_lock; the
 * unload sweep runs under a conntrack hash lock, which such a lookup may
 * take: then the release, which takes ours, is left to a work item.  When
 * the module goes away a live flow does not keep its port (nothing would
 * hand it out again).
 */
static LLIST_HEAD(rtsp_releases);

static void rtsp_release_work_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&rtsp_releases);
	struct rtsp_conn *conn, *tmp;

	/* The rcu_head is where the node was: read the next one first. */
	llist_for_each_entry_safe(conn, tmp, list, release) {
		rcu_read_lock();
		local_bh_disable();
		rtsp_conn_release_rest(conn, !READ_ONCE(rtsp_unloading));
		local_bh_enable();
		rcu_read_unlock();
		cond_resched();
	}
}

static DECLARE_WORK(rtsp_release_work, rtsp_release_work_fn);

static void rtsp_destroy(struct nf_conn *ct)
{
	struct nf_ct_rtsp_master *m = nfct_help_data(ct);
	struct rtsp_conn *conn = xchg(&m->conn, NULL);

	if (!conn)
		return;
	/* It may run in process context: BH off for the whole release. */
	local_bh_disable();
	if (!rtsp_conn_release_begin(conn))
		goto out;
	if (!this_cpu_read(rtsp_lookups) && !READ_ONCE(rtsp_unloading)) {
		rtsp_conn_release_rest(conn, true);
		goto out;
	}
	/* Off rtsp_conns: its node is free for the list of releases. */
	if (llist_add(&conn->release, &rtsp_releases))
		schedule_work(&rtsp_release_work);
out:
	local_bh_enable();
}

static struct rtsp_conn *rtsp_conn_of(const struct nf_conn *ct);
static void rtsp_seqadj_restore(struct nf_conn *ct);

/*
 * Is @conn's state left behind (under RCU)?  Its conntrack (referenced by
 * the state) lost our helper to ctnetlink, and ->destroy will never run
 * for it; or ->destroy has already taken the state.
 */
static bool rtsp_conn_stale(struct rtsp_conn *conn)
{
	return rtsp_conn_of(conn->ct) != conn;
}

/* State left behind: its conntrack keeps the helper data. */
static void rtsp_conn_forget(struct rtsp_conn *conn)
{
	struct nf_ct_rtsp_master *m;

	pr_debug("state of a connection whose helper was taken away freed\n");
	if (nfct_help(conn->ct)) {
		m = nfct_help_data(conn->ct);
		cmpxchg(&m->conn, conn, NULL);
		rtsp_seqadj_restore(conn->ct);
	}
}

static void rtsp_conn_release_stale(struct rtsp_conn *conn, bool orphan)
{
	rtsp_conn_forget(conn);
	rtsp_conn_release(conn, orphan);
}

/*
 * List @add (if any, and not released already), then look at the next @n
 * (at most RTSP_GC_BATCH) states from the cursor on, round the list, under
 * RCU, in the same hold of rtsp_conns_lock (one lock round per new
 * connection): those left behind are unlisted and released after it.
 * Returns how many were looked at.  BH off (its callers have it off
 * anyway: a packet's state is taken with BH off).
 */
#define RTSP_GC_BATCH		16

static unsigned int rtsp_conns_gc(struct rtsp_conn *add, unsigned int n)
{
	struct rtsp_conn *stale[RTSP_GC_BATCH], *conn;
	unsigned int i, k = 0, seen = 0;
	struct hlist_node *pos;

	n = min_t(unsigned int, n, RTSP_GC_BATCH);
	spin_lock(&rtsp_conns_lock);
	if (add && !READ_ONCE(add->freeing))
		rtsp_conn_link(add);
	/*
	 * No more than are listed.  A namespace's exit walk may hold listed
	 * states off the list meanwhile: it can be empty although counted.
	 */
	n = min(n, rtsp_conns_n);
	while (seen < n) {
		pos = rtsp_gc_pos ?: rtsp_conns.first;
		if (!pos)
			break;
		rtsp_gc_pos = pos->next;
		conn = hlist_entry(pos, struct rtsp_conn, all);
		seen++;
		if (rtsp_conn_stale(conn)) {
			rtsp_conn_unlink(conn);
			stale[k++] = conn;
		}
	}
	spin_unlock(&rtsp_conns_lock);

	/* Unlisted: a release meanwhile leaves the list alone. */
	for (i = 0; i < k; i++)
		rtsp_conn_release_stale(stale[i], true);
	return seen;
}

static void rtsp_gc_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(rtsp_gc_work, rtsp_gc_work_fn);
/* Where the next sweep of rtsp_orphans[] begins (the work item's own). */
static unsigned int rtsp_gc_orphan_next;

static void rtsp_gc_kick(void)
{
	if (!READ_ONCE(rtsp_unloading) && !delayed_work_pending(&rtsp_gc_work))
		queue_delayed_work(system_power_efficient_wq, &rtsp_gc_work,
				   RTSP_GC_INTERVAL);
}

static void rtsp_gc_work_fn(struct work_struct *work)
{
	unsigned int i, n;
	bool more;

	/* As many looks as states, RTSP_GC_BATCH at a time. */
	spin_lock_bh(&rtsp_conns_lock);
	n = rtsp_conns_n;
	spin_unlock_bh(&rtsp_conns_lock);
	for (i = 0; i < n; i += RTSP_GC_BATCH) {
		rcu_read_lock();
		local_bh_disable();
		more = rtsp_conns_gc(NULL, min_t(unsigned int, n - i,
						 RTSP_GC_BATCH)) == RTSP_GC_BATCH;
		local_bh_enable();
		rcu_read_unlock();
		if (!more)
			break;
		cond_resched();
	}
	for (i = 0; i < RTSP_GC_ORPHAN_BUCKETS; i++) {
		spin_lock_bh(&rtsp_ports_lock);
		rtsp_orphans_reap(&rtsp_orphans[rtsp_gc_orphan_next]);
		spin_unlock_bh(&rtsp_ports_lock);
		rtsp_gc_orphan_next = (rtsp_gc_orphan_next + 1) %
				      ARRAY_SIZE(rtsp_orphans);
		cond_resched();
	}
	spin_lock_bh(&rtsp_ports_lock);
	more = rtsp_orphans_n;
	spin_unlock_bh(&rtsp_ports_lock);
	spin_lock_bh(&rtsp_conns_lock);
	more |= !hlist_empty(&rtsp_conns);
	spin_unlock_bh(&rtsp_conns_lock);
	if (more)
		rtsp_gc_kick();
}

/*
 * List a new state (under RCU), and look at the next RTSP_CONNS_GC (@conn
 * itself, when there are fewer others).  @conn is not listed if released
 * already (->destroy right after it was published).
 */
static void rtsp_conn_list(struct rtsp_conn *conn)
{
	rtsp_conns_gc(conn, RTSP_CONNS_GC);
	rtsp_gc_kick();
}

/* kmalloc-512 objects, unless spinlocks carry debugging data. */
static_assert(sizeof(spinlock_t) > 4 || sizeof(struct rtsp_conn) <= 512);

static struct rtsp_conn *rtsp_conn_get(struct nf_conn *ct)
{
	struct nf_ct_rtsp_master *m = nfct_help_data(ct);
	struct rtsp_conn *conn, *old;

	if (READ_ONCE(rtsp_unloading))
		return NULL;
	conn = READ_ONCE(m->conn);
	if (conn)
		return conn;

	conn = kzalloc_obj(*conn, GFP_ATOMIC);
	if (!conn)
		return NULL;
	/* Its slots name it for as long as they live. */
	nf_conntrack_get(&ct->ct_general);
	conn->ct = ct;
	conn->host = rtsp_host_bucket(ct);
	conn->media[0] = &conn->media0;
	conn->n_media = 1;
	spin_lock_init(&conn->lock);
	old = cmpxchg(&m->conn, NULL, conn);
	if (old) {
		nf_ct_put(ct);
		kfree(conn);
		return old;
	}
	rtsp_conn_list(conn);
	/*
	 * nf_ct_delete() sets the dying bit, then calls ->destroy, perhaps
	 * just before our cmpxchg(): then nothing else would free this.
	 */
	if (unlikely(nf_ct_is_dying(ct))) {
		rtsp_destroy(ct);
		return NULL;
	}
	return conn;
}

static u32 rtsp_hash(const char *buf, const struct rtsp_span *sp)
{
	return sp->len ? jhash(buf + sp->off, sp->len, 0) | 1 : 0;
}

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
	exp->expectfn = nf_ct_rtsp_media_started;
	return exp;
}
EXPORT_SYMBOL_GPL(nf_ct_rtsp_expect_alloc);

/* @ct's helper extension, if the helper is ours (under RCU). */
static struct nf_conn_help *rtsp_ct_help(const struct nf_conn *ct)
{
	const struct nf_conntrack_helper *helper;
	struct nf_conn_help *help = nfct_help(ct);

	if (!help)
		return NULL;
	helper = rcu_dereference(help->helper);
	return helper && helper->me == THIS_MODULE ? help : NULL;
}

/* Is @ct's helper ours (under RCU)? */
static bool rtsp_ct_ours(const struct nf_conn *ct)
{
	return rtsp_ct_help(ct);
}

/* The state @ct has from our helper, if it is ours (under RCU). */
static struct rtsp_conn *rtsp_conn_of(const struct nf_conn *ct)
{
	struct nf_conn_help *help = rtsp_ct_help(ct);
	struct nf_ct_rtsp_master *m;

	if (!help)
		return NULL;
	/* nfct_help_data() without looking the extension up again. */
	m = (void *)help->data;
	return READ_ONCE(m->conn);
}

static void rtsp_unexpect(struct nf_conn *ct, __be16 port,
			  const union nf_inet_addr *src);

/* Called for each new media flow, NATed or not: remember its tuple. */
void nf_ct_rtsp_media_started(struct nf_conn *child,
			      struct nf_conntrack_expect *exp)
{
	const struct nf_conntrack_tuple *t =
		&child->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	__be16 port = exp->tuple.dst.u.udp.port;
	struct rtsp_sender snd;
	struct rtsp_conn *conn;
	struct rtsp_media *md;
	bool found = false;
	unsigned int i;

	/* Only a master of ours has our state (ctnetlink can pick any). */
	if (READ_ONCE(rtsp_unloading))
		return;
	conn = rtsp_conn_of(exp->master);
	if (!conn)
		goto unowned;

	snd.addr = t->src.u3;
	snd.port = t->src.u.udp.port;
	spin_lock_bh(&conn->lock);
	for (i = 0; !found && (md = rtsp_media_next(conn, &i)); i++) {
		bool shift = false;

		if (md->state == RTSP_MEDIA_FREE || md->port != port)
			continue;
		found = true;
		/*
		 * A PLAY expects the media again.  The flow before stays: this
		 * one may be a stray datagram that took the expectation (any
		 * host may, with media_source=any), not the stream; both end
		 * with the media.  A sender seen before whose flow was gone
		 * is the same.
		 */
		if (md->state == RTSP_MEDIA_FLOWING &&
		    !rtsp_sender_eq(&md->child, &snd)) {
			shift = true;
			/*
			 * Of three, the oldest is forgotten, not ended (a
			 * keep-alive leaves no way to tell which one idles):
			 * it lives on while datagrams come, holding its port.
			 */
			if (md->has_prev && !rtsp_sender_eq(&md->prev, &snd) &&
			    md->owned)
				rtsp_media_orphan_flow(md, &md->prev);
		}
		spin_lock(&rtsp_ports_lock);
		if (shift) {
			md->prev = md->child;
			md->has_prev = true;
		}
		md->child = snd;
		md->state = RTSP_MEDIA_FLOWING;
		/* Its expectations end below: the flows hold the port. */
		md->expires = jiffies;
		spin_unlock(&rtsp_ports_lock);
		pr_debug("media port %u: flow started\n", ntohs(port));
	}
	spin_unlock_bh(&conn->lock);
	if (!found)
		goto unowned;
	/*
	 * One sender at a time: the other senders' expectations of the port
	 * go (another sender needs a PLAY again).
	 */
	rtsp_unexpect(exp->master, port, NULL);
	return;
unowned:
	/*
	 * No session of ours holds the port: an expectation conntrackd
	 * brought (docs/ha.md).  Behind NAT the flow holds its router port.
	 */
	if (child->status & IPS_DST_NAT) {
		local_bh_disable();
		rtsp_orphan_add(nf_ct_net(child), nf_ct_zone(child), t,
				rtsp_host_bucket(exp->master) - rtsp_hosts, true);
		local_bh_enable();
	}
}
EXPORT_SYMBOL_GPL(nf_ct_rtsp_media_started);

static void rtsp_kill_flow(const struct rtsp_media *md,
			   const struct rtsp_sender *snd)
{
	struct nf_conn *flow = rtsp_find_flow(md, snd);

	if (flow) {
		nf_ct_kill(flow);
		nf_ct_put(flow);
	}
}

/*
 * End the expectations of @ct for UDP port @port (0: every port) and, with
 * @src, only those from @src: the server's and the other senders', new or
 * re-armed.  A batch at a time, as many as there are (a port may have
 * max_outstanding of each class); one already ended (on newer kernels
 * only marked dead until the garbage collector comes) is not counted.
 */
static void rtsp_unexpect(struct nf_conn *ct, __be16 port,
			  const union nf_inet_addr *src)
{
	struct nf_conntrack_expect *exp, *found[RTSP_MEDIA_MAX];
	struct nf_conn_help *help = nfct_help(ct);
	unsigned int i, n;

	do {
		n = 0;
		spin_lock_bh(&nf_conntrack_expect_lock);
		hlist_for_each_entry(exp, &help->expectations, lnode) {
			if (n == ARRAY_SIZE(found))
				break;
			if (exp->tuple.dst.protonum != IPPROTO_UDP ||
			    (port && exp->tuple.dst.u.udp.port != port) ||
			    (src && !nf_inet_addr_cmp(&exp->tuple.src.u3, src)) ||
			    nf_ct_exp_is_expired(exp) ||
			    !refcount_inc_not_zero(&exp->use))
				continue;
			found[n++] = exp;
		}
		spin_unlock_bh(&nf_conntrack_expect_lock);
		for (i = 0; i < n; i++) {
			nf_ct_unexpect_related(found[i]);
			nf_ct_expect_put(found[i]);
		}
	} while (n == ARRAY_SIZE(found));
}

/*
 * End the expectations and the flow of @md, and free it (conn->lock): a
 * flowing media may be expected again too (a PLAY).
 */
static void rtsp_media_end(struct nf_conn *ct, struct rtsp_media *md)
{
	if (md->state != RTSP_MEDIA_FREE)
		rtsp_unexpect(ct, md->port, NULL);
	if (md->state == RTSP_MEDIA_FLOWING) {
		rtsp_kill_flow(md, &md->child);
		if (md->has_prev)
			rtsp_kill_flow(md, &md->prev);
	}
	rtsp_media_free(md);
}

/*
 * A free slot for a media port, other than @not, or NULL: one of those
 * allocated, else a new one (conn->lock held).
 */
static struct rtsp_media *rtsp_media_slot_free(struct rtsp_conn *conn,
					       const struct rtsp_media *not)
{
	struct rtsp_media *md;
	unsigned int i;

	for (i = 0; (md = rtsp_media_next(conn, &i)); i++)
		if (md->state == RTSP_MEDIA_FREE && md != not)
			return md;
	if (conn->n_media == RTSP_MEDIA_MAX)
		return NULL;
	/* Freed with the state (rtsp_conn_free_rcu()). */
	md = kzalloc_obj(*md, GFP_ATOMIC);
	if (md)
		conn->media[conn->n_media++] = md;
	return md;
}

/*
 * A free slot for a media port, other than @not; when all RTSP_MEDIA_MAX
 * are in use the oldest one is reused (the newest SETUP wins).  Behind NAT
 * its media ends with it: a router port is never in use with no session
 * holding it.  NULL when a slot could not be allocated: then nothing is
 * reused, as the message's own ports may be all there are.
 */
static struct rtsp_media *rtsp_media_slot(struct rtsp_conn *conn,
					  const struct rtsp_media *not)
{
	struct rtsp_media *md = rtsp_media_slot_free(conn, not);
	unsigned int i;

	if (md)
		return md;
	if (conn->n_media < RTSP_MEDIA_MAX)
		return NULL;
	/* First a media whose flows are gone (rtsp_keepalive() keeps it). */
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++)
		if (md != not && md->gen != conn->gen &&
		    md->state == RTSP_MEDIA_FLOWING && !rtsp_media_live(md))
			goto reuse;
	/*
	 * Never one of the message's own (it has at most RTSP_MEDIA_MAX
	 * ports, @not among them): its SETUP would name a port nobody holds.
	 */
	for (i = 0; i < 2 * RTSP_MEDIA_MAX; i++) {
		md = conn->media[conn->next_slot];
		conn->next_slot = (conn->next_slot + 1) % RTSP_MEDIA_MAX;
		/*
		 * rtsp_next_gen() keeps older slots off the message's gen:
		 * the second round is only a guard.
		 */
		if (md != not && (md->gen != conn->gen || i >= RTSP_MEDIA_MAX))
			break;
	}
reuse:
	pr_debug("media port %u: slot reused for a newer SETUP\n",
		 ntohs(md->port));
	if (md->owned)
		rtsp_media_end(conn->ct, md);
	else
		rtsp_media_free(md);
	return md;
}

/*
 * Remember an expected media port of a connection without NAT.  With no
 * memory for it, the expectation stands alone, as it does for a
 * connection with no state.
 */
static void rtsp_media_add(struct rtsp_conn *conn, u16 port, u32 cseq,
			   u32 session)
{
	struct rtsp_media *md;
	unsigned int i;

	/* The same port asked again: its expectation was just replaced. */
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++)
		if (md->state != RTSP_MEDIA_FREE && !md->owned &&
		    md->port == htons(port))
			break;
	if (md)
		rtsp_media_free(md);
	else
		md = rtsp_media_slot(conn, NULL);
	if (!md)
		return;
	*md = (struct rtsp_media){
		.master	 = conn->ct,
		.gen	 = conn->gen,
		.expires = jiffies + rtsp_exp_policy[0].timeout * HZ,
		.session = session,
		.cseq	 = cseq,
		.port	 = htons(port),
		.client_port = htons(port),
		.state	 = RTSP_MEDIA_EXPECTED,
	};
}

static bool rtsp_ports_busy(struct net *net, u8 family,
			    const union nf_inet_addr *addr, const __be16 *p,
			    const u32 *h, unsigned int n)
{
	bool busy = false;
	unsigned int i;

	spin_lock(&rtsp_ports_lock);
	for (i = 0; i < n && !busy; i++)
		busy = rtsp_port_busy(net, family, addr, p[i], h[i], NULL);
	spin_unlock(&rtsp_ports_lock);
	return busy;
}

int nf_ct_rtsp_claim(struct nf_rtsp_msg_ctx *c, const union nf_inet_addr *addr,
		     u16 port, int step, u16 client_lo, u16 client_hi)
{
	struct rtsp_conn *conn = c->owner;
	struct nf_conn *ct = conn->ct;
	struct net *net = nf_ct_net(ct);
	u16 want[2] = { client_lo, client_hi };
	struct rtsp_media *md[2] = { };
	unsigned int i, n = step ? 2 : 1;
	__be16 p[2];
	u32 h[2];

	if (conn->released)
		return -ENOENT;
	p[0] = htons(port);
	p[1] = htons(port + step);
	for (i = 0; i < n; i++)
		h[i] = rtsp_port_hash(net, addr, p[i]);
	/*
	 * Only for free ports may an older media of the connection end to
	 * give up its slot, which takes other locks: look, then look again.
	 * With free slots (the common case) nothing ends: look once.
	 */
	md[0] = rtsp_media_slot_free(conn, NULL);
	if (md[0] && n > 1)
		md[1] = rtsp_media_slot_free(conn, md[0]);
	if (!md[n - 1]) {
		if (rtsp_ports_busy(net, nf_ct_l3num(ct), addr, p, h, n))
			return 1;
		for (i = 0; i < n; i++) {
			md[i] = rtsp_media_slot(conn, i ? md[0] : NULL);
			if (!md[i])
				return -ENOMEM;
		}
	}

	spin_lock(&rtsp_ports_lock);
	for (i = 0; i < n; i++) {
		if (rtsp_port_busy(net, nf_ct_l3num(ct), addr, p[i], h[i], NULL)) {
			spin_unlock(&rtsp_ports_lock);
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		*md[i] = (struct rtsp_media){
			.master	 = ct,
			.gen	 = conn->gen,
			.expires = jiffies + rtsp_exp_policy[0].timeout * HZ,
			.session = c->session,
			.cseq	 = c->cseq,
			.port	 = p[i],
			.client_port = htons(want[i]),
			.state	 = RTSP_MEDIA_EXPECTED,
			.owned	 = true,
		};
		hlist_add_head(&md[i]->port_node, &rtsp_ports[h[i]]);
	}
	spin_unlock(&rtsp_ports_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(nf_ct_rtsp_claim);

void nf_ct_rtsp_unclaim(struct nf_rtsp_msg_ctx *c,
			const union nf_inet_addr *addr, u16 port, int step)
{
	struct rtsp_conn *conn = c->owner;
	struct rtsp_media *md;
	unsigned int i;

	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (md->owned && md->state == RTSP_MEDIA_EXPECTED &&
		    nf_inet_addr_cmp(rtsp_media_addr(md), addr) &&
		    (md->port == htons(port) ||
		     (step && md->port == htons(port + step))))
			rtsp_media_end(conn->ct, md);
	}
}
EXPORT_SYMBOL_GPL(nf_ct_rtsp_unclaim);

/* Without NAT the media goes to the client itself. */
static int rtsp_expect_related(struct nf_conntrack_expect *exp)
{
	struct nf_conntrack_expect *old;
	struct nf_conn *ct = exp->master;
	int ret;

	ret = nf_ct_expect_related(exp, 0);
	if (ret != -EBUSY && ret != -EALREADY)
		return ret;

	/*
	 * A clash with another control connection's expectation means the
	 * same host asks again for a port it asked for before (a new
	 * connection after an aborted one): the newest SETUP wins.
	 */
	old = nf_ct_expect_find_get(nf_ct_net(ct), nf_ct_zone(ct), &exp->tuple);
	if (!old)
		return ret;
	if (old->master != ct &&
	    nf_inet_addr_cmp(&old->tuple.dst.u3, &exp->tuple.dst.u3))
		nf_ct_unexpect_related(old);
	nf_ct_expect_put(old);

	return nf_ct_expect_related(exp, 0);
}

/* Without NAT: expect the media of spec @k of a SETUP at the client. */
static unsigned int rtsp_expect_spec(struct nf_rtsp_msg_ctx *c,
				     unsigned int k, struct nf_conn *ct,
				     enum ip_conntrack_info ctinfo,
				     unsigned int *n_port)
{
	struct nf_conntrack_expect *exp[RTSP_MAX_SPEC_PORTS] = { };
	const struct rtsp_ports *cp = &c->spec[k].client;
	unsigned int i, n = rtsp_spec_ports(cp);
	unsigned int ret = NF_ACCEPT;
	u16 port;
	int err;

	*n_port = 0;
	for (i = 0; i < n; i++) {
		port = i ? cp->hi : cp->lo;
		exp[i] = nf_ct_rtsp_expect_alloc(ct, CTINFO2DIR(ctinfo), port);
		if (!exp[i]) {
			nf_ct_helper_log(c->skb, ct, "cannot alloc expectation");
			ret = NF_DROP;
			break;
		}
		err = rtsp_expect_related(exp[i]);
		if (err) {
			nf_ct_helper_log(c->skb, ct,
					 "cannot add expectation for port %u: %d",
					 port, err);
			ret = NF_DROP;
			break;
		}
		nf_ct_rtsp_print_exp(exp[i]);
	}
	if (ret != NF_ACCEPT && i == 1)
		nf_ct_unexpect_related(exp[0]);
	else if (ret == NF_ACCEPT)
		*n_port = n;
	for (i = 0; i < n; i++)
		if (exp[i])
			nf_ct_expect_put(exp[i]);
	return ret;
}

/*
 * Media ports @ct expects that can still match, each counted once: a port
 * may be expected from the server and from other senders too.  The kernel
 * adds and unlinks expectations with RCU list primitives; a removed one
 * is first only marked dead.  A connection has few of them.
 */
static unsigned int rtsp_live_expectations(const struct nf_conn *ct)
{
	const struct nf_conn_help *help = nfct_help(ct);
	const struct nf_conntrack_expect *exp, *e;
	unsigned int n = 0;
	bool seen;

	hlist_for_each_entry_rcu(exp, &help->expectations, lnode) {
		if (nf_ct_exp_is_expired(exp))
			continue;
		seen = false;
		hlist_for_each_entry_rcu(e, &help->expectations, lnode) {
			if (e == exp)
				break;
			if (!nf_ct_exp_is_expired(e) &&
			    e->tuple.dst.u.all == exp->tuple.dst.u.all) {
				seen = true;
				break;
			}
		}
		n += !seen;
	}
	return n;
}

/* Expectations @conn holds, and ports it is expecting (*@pending). */
static unsigned int rtsp_conn_holds(struct rtsp_conn *conn, struct nf_conn *ct,
				    u8 *pending)
{
	/* What a finished SETUP expected is seen with its end. */
	*pending = smp_load_acquire(&conn->pending);
	return rtsp_live_expectations(ct);
}

/*
 * How many more expectations may the client of @self hold (@limit for its
 * address, max_per_prefix6 for its IPv6 prefix), counting
 * those of all its RTSP connections and the ports their SETUPs are
 * expecting right now (@b's lock held)?  Only indexed connections can
 * hold any: each indexes itself before it expects.  The connections met
 * on the way, of any host, that hold none and are not in a SETUP (their
 * lock is free) leave the index; a stale entry (its helper taken away by
 * ctnetlink, or its state released) leaves it too.
 */
static unsigned int rtsp_host_room(struct rtsp_host_bucket *b,
				   struct rtsp_conn *self, unsigned int limit)
{
	unsigned int n = 0, n_prefix = 0, live, limit_prefix = UINT_MAX;
	struct rtsp_conn *conn;
	struct hlist_node *tmp;
	struct nf_conn *other;
	enum rtsp_kin kin;
	u8 pending;

	if (nf_ct_l3num(self->ct) == AF_INET6 && host_prefix6 < 128)
		limit_prefix = READ_ONCE(max_per_prefix6) ?: UINT_MAX;
	hlist_for_each_entry_safe(conn, tmp, &b->conns, host_node) {
		if (n >= limit || n_prefix >= limit_prefix)
			return 0;
		if (conn == self) {
			live = rtsp_live_expectations(self->ct);
			n += live;
			n_prefix += live;
			continue;
		}
		/* Referenced by its state, which our lock keeps. */
		other = conn->ct;
		if (rtsp_conn_of(other) != conn) {
			hlist_del_rcu(&conn->host_node);
			WRITE_ONCE(conn->indexed, false);
			continue;
		}
		if (spin_trylock(&conn->lock)) {
			live = rtsp_conn_holds(conn, other, &pending);
			if (!live && !pending) {
				hlist_del_rcu(&conn->host_node);
				WRITE_ONCE(conn->indexed, false);
			}
			spin_unlock(&conn->lock);
		} else {
			live = rtsp_conn_holds(conn, other, &pending);
		}
		kin = rtsp_kin(other, self->ct);
		if (kin == RTSP_KIN_ADDR)
			n += live + pending;
		if (kin != RTSP_KIN_NONE)
			n_prefix += live + pending;
	}
	if (n >= limit || n_prefix >= limit_prefix)
		return 0;
	return min(limit - n, limit_prefix - n_prefix);
}

/* Does @ct expect UDP port @port, or with 0 anything (under RCU)? */
static bool rtsp_port_expected(const struct nf_conn *ct, __be16 port)
{
	const struct nf_conn_help *help = nfct_help(ct);
	const struct nf_conntrack_expect *exp;

	hlist_for_each_entry_rcu(exp, &help->expectations, lnode)
		if (!nf_ct_exp_is_expired(exp) &&
		    (!port || exp->tuple.dst.u.udp.port == port))
			return true;
	return false;
}

/*
 * Reserve @n ports for a SETUP or PLAY of @conn (its bucket's lock held),
 * indexed so that a concurrent request of the same host counts them.
 */
static void rtsp_host_reserve(struct rtsp_conn *conn, unsigned int n)
{
	if (conn->dead)
		return;
	if (!conn->indexed) {
		hlist_add_head_rcu(&conn->host_node, &conn->host->conns);
		WRITE_ONCE(conn->indexed, true);
	}
	WRITE_ONCE(conn->pending, n);
}

/*
 * How many of the first @n specs in @c may be expected within
 * max_per_host: counted and reserved (conn->pending) under the bucket's
 * lock, with the connection indexed, so that a concurrent SETUP of the
 * same host counts them.  rtsp_walk_specs() clears the reservation.
 */
static unsigned int rtsp_host_admit(struct nf_rtsp_msg_ctx *c,
				    struct nf_conn *ct, unsigned int n)
{
	unsigned int limit = READ_ONCE(max_per_host);
	unsigned int i, room = 0, want, sum = 0;
	struct rtsp_conn *conn = c->owner;
	struct rtsp_host_bucket *b;

	if (!conn) {
		/* Without our state its expectations would go uncounted. */
		if (!limit)
			return n;
		rtsp_log_bad(ct, "no connection state to count max_per_host",
			     "SETUP not expected");
		return 0;
	}
	b = conn->host;
	spin_lock(&b->lock);
	if (limit)
		room = rtsp_host_room(b, conn, limit);
	for (i = 0; i < n; i++) {
		want = rtsp_spec_ports(&c->spec[i].client);
		if (limit && sum + want > room)
			break;
		sum += want;
	}
	if (i)
		rtsp_host_reserve(conn, sum);
	spin_unlock(&b->lock);
	if (i < n)
		rtsp_log_bad(ct, "client holds max_per_host expectations",
			     "SETUP not expected");
	return i;
}

static bool rtsp_spec_wants_udp(const struct rtsp_tspec *spec)
{
	return spec->lower == RTSP_LOWER_UDP &&
	       spec->cast != RTSP_CAST_MULTICAST &&
	       !spec->interleaved && spec->client.lo;
}

/*
 * Identifies a rewritten message's head.  Only its Transport is rewritten:
 * a retransmission (the same bytes at the same place) has the same
 * Transport value at the same offset of a head of the same length.
 */
static u32 rtsp_head_hash(const char *buf, const struct rtsp_msg *msg)
{
	/* Seeded: harder for a client to craft a Transport with its hash. */
	return jhash(buf + msg->transport.off, msg->transport.len,
		     rtsp_hosts_seed ^ msg->hdr_len ^
		     (msg->transport.off << 16)) | 1;
}

/* The mapping a NATed SETUP at @seq got before, if it is a retransmission. */
static struct rtsp_remap *rtsp_remap_find(struct rtsp_conn *conn, u32 seq,
					  u32 hdr_len, u32 hash)
{
	struct rtsp_remap *r = conn->remap[IP_CT_DIR_ORIGINAL];
	unsigned int i;

	for (i = 0; i < RTSP_REMAP_MAX; i++)
		if (r[i].hash == hash && r[i].seq == seq &&
		    r[i].hdr_len == hdr_len)
			return &r[i];
	return NULL;
}

/*
 * Remember a rewritten message.  Whatever was remembered over the same
 * bytes is forgotten: those bytes were dropped, and others came instead.
 * Entries go when newer ones need their place (a client retransmits a
 * SETUP until it has the server's ACK, which may come after the reply).
 */
static void rtsp_remap_add(struct rtsp_conn *conn, enum ip_conntrack_dir dir,
			   const struct nf_rtsp_msg_ctx *c, u32 seq,
			   u32 hdr_len, u32 hash)
{
	struct rtsp_remap *r = conn->remap[dir];
	unsigned int i;

	for (i = 0; i < RTSP_REMAP_MAX; i++)
		if (r[i].hash && before(r[i].seq, seq + hdr_len) &&
		    after(r[i].seq + r[i].hdr_len, seq))
			r[i].hash = 0;
	r = &r[conn->next_remap[dir]];
	conn->next_remap[dir] = (conn->next_remap[dir] + 1) % RTSP_REMAP_MAX;
	r->seq = seq;
	r->hdr_len = hdr_len;
	r->hash = hash;
	memcpy(r->port, c->port, sizeof(r->port));
}

/* The client's own port behind router port @port of this connection. */
static u16 rtsp_client_port(const struct rtsp_conn *conn, u16 port)
{
	const struct rtsp_media *md;
	unsigned int i;

	for (i = 0; (md = rtsp_media_next(conn, &i)); i++)
		if (md->owned && md->port == htons(port))
			return ntohs(md->client_port);
	return 0;
}

/* A NATed SETUP that would go out naming router ports it does not hold. */
static unsigned int rtsp_refuse_setup(const struct nf_conn *ct)
{
	rtsp_log_bad(ct,
		     "NATed SETUP with a Transport not all rewritten (unreadable or untaken spec, second header)",
		     "dropped");
	return NF_DROP;
}

/*
 * Collect the UDP unicast transport specs of a SETUP (or, behind NAT, of
 * its reply) into @c, up to what max_per_host allows.  A NATed SETUP
 * (@nat) must not go out naming router ports it does not hold: a spec
 * left as it is would name the client's own.  *@refuse when it has a
 * spec that cannot be read, one not taken (past the limits), or a
 * client_port= in a spec it does not expect (multicast, TCP).
 */
static unsigned int rtsp_collect_specs(struct nf_rtsp_msg_ctx *c,
				       const struct rtsp_msg *msg,
				       struct nf_conn *ct, bool count,
				       bool nat, bool *refuse)
{
	unsigned int n = 0, ports = 0;
	struct rtsp_tspec spec;
	u32 pos = 0;
	int r;

	*refuse = false;
	while ((r = nf_rtsp_transport_next(c->msg, msg->transport, &pos,
					   &spec)) != 0) {
		if (r < 0) {
			rtsp_log_bad(ct, "ignoring a malformed transport spec",
				     nf_rtsp_method_name(msg));
			if (nat)
				goto refuse;
			continue;
		}
		if (!rtsp_spec_wants_udp(&spec)) {
			/* Multicast, TCP...: a server may read it all the same. */
			if (nat && spec.client.val.len)
				goto refuse;
			continue;
		}
		/* A connection remembers RTSP_MEDIA_MAX ports: a SETUP that
		 * wanted more would push out its own.
		 */
		ports += rtsp_spec_ports(&spec.client);
		if (n == RTSP_MAX_SPECS || ports > RTSP_MEDIA_MAX) {
			rtsp_log_bad(ct, "ignoring transport specs past the first "
				     __stringify(RTSP_MEDIA_MAX) " ports", "SETUP");
			if (nat)
				goto refuse;
			break;
		}
		c->spec[n] = spec;
		pr_debug("%s: udp transport, client ports %u-%u\n",
			 nf_rtsp_method_name(msg), c->spec[n].client.lo,
			 c->spec[n].client.hi);
		n++;
	}
	/*
	 * Every port counts against max_per_host, the specs of this SETUP
	 * included: its ports are not in the table yet.
	 */
	if (count && n) {
		ports = rtsp_host_admit(c, ct, n);
		if (nat && ports < n)
			goto refuse;
		n = ports;
	}
	return n;
refuse:
	*refuse = true;
	return 0;
}

/* Does @conn hold router port @port, still, for client port @client? */
static bool rtsp_port_held(const struct rtsp_conn *conn, u16 port,
			   u16 client)
{
	const struct rtsp_media *md;
	unsigned int i;

	for (i = 0; (md = rtsp_media_next(conn, &i)); i++)
		if (md->owned && md->state != RTSP_MEDIA_FREE &&
		    md->port == htons(port) &&
		    md->client_port == htons(client) && rtsp_media_live(md))
			return true;
	return false;
}

/*
 * A retransmitted SETUP gets its first copy's router ports only while its
 * session holds each of them still, for the same client port: they may
 * have been given back (TEARDOWN) or their hold may be over, and another
 * session have them now; or the "retransmission" may carry other specs.
 */
static bool rtsp_remap_held(const struct rtsp_conn *conn,
			    const struct rtsp_remap *r,
			    const struct nf_rtsp_msg_ctx *c)
{
	const struct rtsp_ports *cp;
	unsigned int i;

	for (i = 0; i < RTSP_MAX_SPECS; i++) {
		/* Its first copy had every spec taken, and only these. */
		if (i >= c->n_spec) {
			if (r->port[i])
				return false;
			continue;
		}
		if (!r->port[i])
			return false;
		cp = &c->spec[i].client;
		if (!rtsp_port_held(conn, r->port[i], cp->lo) ||
		    (cp->hi != cp->lo &&
		     !rtsp_port_held(conn, r->port[i] + cp->hi - cp->lo,
				     cp->hi)))
			return false;
	}
	return true;
}

/*
 * Expect the media of @md (again, after a PLAY: @rearm): on the same
 * router port, towards the same client port, from the senders media_source
 * allows or, with @src, from @src (media_source=server).
 */
static int rtsp_expect_media(struct rtsp_conn *conn, struct nf_conn *ct,
			     const struct rtsp_media *md,
			     const union nf_inet_addr *src, bool rearm)
{
	const struct nf_ct_helper_expectfn *nat = NULL;
	struct nf_conntrack_expect *exp;
	int err;

	/* Behind NAT the flow is mapped back by nf_nat_rtsp. */
	if (md->owned) {
		nat = nf_ct_helper_expectfn_find_by_name(RTSP_HELPER_NAME);
		if (!nat)
			return -ENOENT;
	}
	exp = nf_ct_rtsp_expect_alloc(ct, IP_CT_DIR_ORIGINAL,
				      ntohs(md->client_port));
	if (!exp)
		return -ENOMEM;
	if (src) {
		exp->tuple.src.u3 = *src;
		exp->class = RTSP_EXPECT_CLASS_ALT;
	}
	if (rearm)
		exp->class |= RTSP_EXPECT_CLASS_REARM;
	if (md->owned) {
		exp->saved_addr = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3;
		exp->saved_proto.udp.port = md->client_port;
		exp->dir = IP_CT_DIR_REPLY;
		exp->expectfn = nat->expectfn;
		exp->tuple.dst.u.udp.port = md->port;
	}
	err = nf_ct_expect_related(exp, 0);
	if (!err) {
		nf_ct_rtsp_print_exp(exp);
		/* Counted for max_per_host (the flow had taken it out). */
		if (!READ_ONCE(conn->indexed))
			rtsp_host_index(conn, true, false);
	}
	nf_ct_expect_put(exp);
	return err;
}

/* Does media_source admit only the server for @family? */
static bool rtsp_server_only(u8 family)
{
	return source_policy == RTSP_SOURCE_SERVER ||
	       (source_policy == RTSP_SOURCE_PREFIX &&
		!source_prefix[family == AF_INET6].set);
}

/* The literal address buf[@sp] of @family (never a name to resolve). */
static bool rtsp_span_addr(const char *buf, const struct rtsp_span *sp,
			   u8 family, union nf_inet_addr *a)
{
	const char *p = buf + sp->off, *end;

	*a = (union nf_inet_addr){ };
	if (!sp->len || sp->len >= INET6_ADDRSTRLEN)
		return false;
	if (family == AF_INET)
		return in4_pton(p, sp->len, (u8 *)&a->ip, -1, &end) &&
		       end == p + sp->len && !ipv4_is_zeronet(a->ip) &&
		       !ipv4_is_multicast(a->ip) && !ipv4_is_lbcast(a->ip) &&
		       !ipv4_is_loopback(a->ip);
	return in6_pton(p, sp->len, (u8 *)&a->ip6, -1, &end) &&
	       end == p + sp->len && !ipv6_addr_any(&a->in6) &&
	       !ipv6_addr_is_multicast(&a->in6) && !ipv6_addr_loopback(&a->in6);
}

/*
 * media_source=server: @a, named by the server's side of the connection,
 * may send the connection's media too (the newest RTSP_ALT_MAX hosts).
 * False when it is the server itself.
 */
static bool rtsp_alt_add(struct rtsp_conn *conn, struct nf_conn *ct,
			 const union nf_inet_addr *a)
{
	unsigned int i;

	/* Neither the server nor the client itself. */
	if (nf_inet_addr_cmp(a, &ct->tuplehash[IP_CT_DIR_REPLY].tuple.src.u3) ||
	    nf_inet_addr_cmp(a, &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3))
		return false;
	for (i = 0; i < conn->n_alt; i++)
		if (nf_inet_addr_cmp(a, &conn->alt[i]))
			return true;
	if (conn->n_alt < RTSP_ALT_MAX) {
		conn->alt[conn->n_alt++] = *a;
	} else {
		/* The host it replaces may send nothing more. */
		rtsp_unexpect(ct, 0, &conn->alt[conn->next_alt]);
		conn->alt[conn->next_alt] = *a;
		conn->next_alt = (conn->next_alt + 1) % RTSP_ALT_MAX;
	}
	return true;
}

/*
 * A SETUP's media were just expected from the server.  With
 * media_source=server, the host of its URL, when that is an address and
 * not the server's (an older decoder retries SETUP against the
 * a=control: URL of DESCRIBE on the same connection), may send them too,
 * as may the other senders named before on the connection.
 */
static void rtsp_setup_alts(struct nf_rtsp_msg_ctx *c,
			    const struct rtsp_msg *msg, struct nf_conn *ct,
			    struct rtsp_conn *conn)
{
	u8 family = nf_ct_l3num(ct);
	struct rtsp_span host;
	union nf_inet_addr a;
	const struct rtsp_media *md;
	unsigned int i, k;

	if (!rtsp_server_only(family))
		return;
	if (nf_rtsp_uri_host(c->msg, msg->uri, &host) &&
	    rtsp_span_addr(c->msg, &host, family, &a) &&
	    rtsp_alt_add(conn, ct, &a))
		pr_debug("SETUP to %.*s: it may send the media too\n",
			 (int)host.len, c->msg + host.off);
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (md->state != RTSP_MEDIA_EXPECTED || md->gen != conn->gen ||
		    !rtsp_media_held(md))
			continue;
		for (k = 0; k < conn->n_alt; k++)
			rtsp_expect_media(conn, ct, md, &conn->alt[k], false);
	}
}

/*
 * A SETUP reply, where only the server may send the media
 * (media_source=server, or no prefix for the family): a source= that is
 * an address other than the server's may send the media of that SETUP
 * too (the host that streams need not be the RTSP server).
 */
static void rtsp_reply_alts(struct nf_rtsp_msg_ctx *c,
			    const struct rtsp_msg *msg, struct nf_conn *ct,
			    struct rtsp_conn *conn)
{
	u8 family = nf_ct_l3num(ct);
	struct rtsp_tspec spec;
	union nf_inet_addr a;
	struct rtsp_media *md;
	unsigned int i;
	u32 cseq, pos = 0;
	int r;

	/* Any sender may send already: nothing to learn (most replies). */
	if (msg->status / 100 != 2 || !rtsp_server_only(family))
		return;
	cseq = rtsp_hash(c->msg, &msg->cseq);
	if (!cseq)
		return;
	while ((r = nf_rtsp_transport_next(c->msg, msg->transport, &pos,
					   &spec)) != 0) {
		if (r < 0 || !rtsp_spec_wants_udp(&spec) || !spec.source.len)
			continue;
		if (!rtsp_span_addr(c->msg, &spec.source, family, &a) ||
		    !rtsp_alt_add(conn, ct, &a)) {
			pr_debug("SETUP reply: source=%.*s: no other sender\n",
				 (int)spec.source.len, c->msg + spec.source.off);
			continue;
		}
		pr_debug("SETUP reply: source=%.*s may send the media too\n",
			 (int)spec.source.len, c->msg + spec.source.off);
		for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
			/*
			 * Its expectation ends within milliseconds of the
			 * port's hold (md->expires, from the SETUP): the
			 * server's replies do not renew that.
			 */
			if (md->state == RTSP_MEDIA_EXPECTED &&
			    md->cseq == cseq && rtsp_media_held(md))
				rtsp_expect_media(conn, ct, md, &a, false);
		}
	}
}

/*
 * A new message: its media slots are those of the new gen.  A slot whose
 * gen came round to it (a u8, 256 SETUPs ago) is put back one, so that
 * it is never taken for one of the message's own.
 */
static void rtsp_next_gen(struct rtsp_conn *conn)
{
	struct rtsp_media *md;
	unsigned int i;

	conn->gen++;
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++)
		if (md->gen == conn->gen)
			md->gen--;
}

/*
 * The transport specs of a SETUP (or, for NAT, of its reply) at @seq: all
 * of them are expected, then the NAT helper rewrites the message once.
 */
static unsigned int rtsp_walk_specs(struct nf_rtsp_msg_ctx *c,
				    struct rtsp_msg *msg, struct nf_conn *ct,
				    enum ip_conntrack_info ctinfo,
				    struct rtsp_conn *conn, u32 seq, bool replay)
{
	const struct nf_nat_rtsp_hooks *nat = rcu_dereference(nf_nat_rtsp_hooks);
	bool natted = nat && (ct->status & IPS_NAT_MASK);
	bool request = msg->type == RTSP_MSG_REQUEST;
	unsigned int i, n, n_port, ret = NF_ACCEPT;
	struct rtsp_remap *remap = NULL;
	bool refuse;
	u32 hash = 0;

	if (!request && (!natted || !conn || !conn->remapped ||
			 c->msgoff < 0))
		return NF_ACCEPT;
	/*
	 * Masqueraded without the NAT helper, the media would be expected at
	 * the router's own address, for every client behind it at once.
	 */
	if (!nat && (ct->status & IPS_SRC_NAT)) {
		rtsp_log_bad(ct, "NATed, and nf_nat_rtsp not loaded: modprobe nf_nat_rtsp",
			     "SETUP not expected");
		return NF_ACCEPT;
	}
	if (natted && conn)
		hash = rtsp_head_hash(c->msg, msg);

	c->owner = conn;
	c->cseq = rtsp_hash(c->msg, &msg->cseq);
	c->session = rtsp_hash(c->msg, &msg->session);
	c->delta = 0;
	c->reuse = false;
	memset(c->port, 0, sizeof(c->port));
	if (request && natted && conn)
		remap = rtsp_remap_find(conn, seq, msg->hdr_len, hash);
	if (conn)
		rtsp_next_gen(conn);
	n = rtsp_collect_specs(c, msg, ct, request && !remap,
			       request && natted, &refuse);
	c->n_spec = n;
	/* One Transport header is read: another would go out as it is. */
	if (refuse || (request && natted && msg->n_transport > 1)) {
		ret = rtsp_refuse_setup(ct);
		goto out;
	}
	if (!n)
		return NF_ACCEPT;

	if (!request) {
		for (i = 0; i < n; i++)
			c->port[i] = rtsp_client_port(conn, c->spec[i].client.lo);
		ret = nat->reply(c, ct, ctinfo);
		if (ret == NF_ACCEPT && c->plan.n && !replay)
			rtsp_remap_add(conn, IP_CT_DIR_REPLY, c, seq,
				       msg->hdr_len, hash);
	} else if (natted) {
		/* Router ports are held by sessions: that needs our state. */
		if (!conn) {
			nf_ct_helper_log(c->skb, ct, "no state for a NATed SETUP");
			return NF_DROP;
		}
		if (remap) {
			if (!rtsp_remap_held(conn, remap, c)) {
				rtsp_log_bad(ct,
					     "SETUP sent again, its router ports no longer its session's",
					     "dropped");
				ret = NF_DROP;
				goto out;
			}
			memcpy(c->port, remap->port, sizeof(c->port));
			c->reuse = true;
		}
		ret = nat->setup(c, ct, ctinfo);
		if (ret == NF_ACCEPT && !remap) {
			rtsp_remap_add(conn, IP_CT_DIR_ORIGINAL, c, seq,
				       msg->hdr_len, hash);
			for (i = 0; i < n; i++)
				if (c->port[i] != c->spec[i].client.lo)
					conn->remapped = true;
		}
	} else {
		for (i = 0; i < n && ret == NF_ACCEPT; i++) {
			ret = rtsp_expect_spec(c, i, ct, ctinfo, &n_port);
			if (ret != NF_ACCEPT || !conn)
				continue;
			rtsp_media_add(conn, c->spec[i].client.lo, c->cseq,
				       c->session);
			if (n_port > 1)
				rtsp_media_add(conn, c->spec[i].client.hi,
					       c->cseq, c->session);
		}
	}
	if (request && ret == NF_ACCEPT && conn && !remap && !conn->released)
		rtsp_setup_alts(c, msg, ct, conn);
out:
	if (conn && conn->pending)
		/* Its expectations now count for themselves. */
		smp_store_release(&conn->pending, 0);
	msg->transport.len += c->delta;
	msg->hdr_len += c->delta;
	msg->len += c->delta;
	return ret;
}

/*
 * A SETUP reply names the session its media belongs to (the reply to the
 * SETUP of the same CSeq).  Most replies find no media waiting for one:
 * their CSeq and Session are hashed only when some is.
 */
static void rtsp_bind_session(struct rtsp_conn *conn, const char *buf,
			      const struct rtsp_msg *msg)
{
	u32 cseq = 0, session = 0;
	struct rtsp_media *md;
	unsigned int i;

	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (md->state == RTSP_MEDIA_FREE || md->session)
			continue;
		/* Not 0 once hashed: the caller saw both headers. */
		if (!cseq) {
			cseq = rtsp_hash(buf, &msg->cseq);
			session = rtsp_hash(buf, &msg->session);
		}
		if (md->cseq == cseq)
			md->session = session;
	}
}

/* Does @md's flow from @snd live?  It lives @timeout at least then. */
static bool rtsp_refresh_flow(const struct rtsp_media *md,
			      const struct rtsp_sender *snd,
			      struct sk_buff *skb, unsigned long timeout)
{
	struct nf_conn *flow = rtsp_find_flow(md, snd);

	if (!flow)
		return false;
	if (nf_ct_expires(flow) < timeout) {
		pr_debug("keep-alive: media port %u: %lu s left, refreshed\n",
			 ntohs(md->port), nf_ct_expires(flow) / HZ);
		nf_ct_refresh(flow, timeout);
	}
	nf_ct_put(flow);
	return true;
}

/*
 * Any request of the client shows that the session is alive: keep its
 * media flows from timing out while the stream is paused.  A media whose
 * flows are gone stays: the server still streams to its port after a
 * PLAY, which expects it again or, when another session took the port
 * meanwhile, is dropped (rtsp_rearm()).
 */
static void rtsp_keepalive(struct rtsp_conn *conn, struct nf_conn *ct,
			   struct sk_buff *skb)
{
	/* Within what nf_ct_refresh() takes: a huge value is "a week". */
	unsigned long timeout = min(READ_ONCE(media_timeout),
				    RTSP_MEDIA_TIMEOUT_MAX) * HZ;
	struct rtsp_media *md;
	unsigned int i;

	if (!timeout)
		return;
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (md->state != RTSP_MEDIA_FLOWING)
			continue;
		rtsp_refresh_flow(md, &md->child, skb, timeout);
		if (md->has_prev)
			rtsp_refresh_flow(md, &md->prev, skb, timeout);
	}
}

/*
 * Has owned @md lost its router port: its hold over, its flows gone, and
 * the port held by another connection's media (rtsp_ports_lock held)?
 */
static bool rtsp_port_lost(struct nf_conn *ct, const struct rtsp_media *md)
{
	const union nf_inet_addr *addr = rtsp_media_addr(md);
	struct net *net = nf_ct_net(ct);

	return !rtsp_media_live(md) &&
	       rtsp_port_busy(net, nf_ct_l3num(ct), addr, md->port,
			      rtsp_port_hash(net, addr, md->port), ct);
}

/*
 * Hold the router port of FLOWING @md again for a PLAY (conn->lock held):
 * not when its flows are gone and its hold is over and another session
 * took the port meanwhile.
 */
static bool rtsp_rearm_hold(struct nf_conn *ct, struct rtsp_media *md,
			    unsigned long timeout)
{
	bool ok;

	if (!md->owned)
		return true;
	spin_lock(&rtsp_ports_lock);
	ok = !rtsp_port_lost(ct, md);
	if (ok)
		md->expires = jiffies + timeout;
	spin_unlock(&rtsp_ports_lock);
	return ok;
}

/*
 * Is the router port of @md another connection's session's now (its own
 * hold over, its flows gone)?
 */
static bool rtsp_media_taken(struct nf_conn *ct, const struct rtsp_media *md)
{
	bool taken;

	/* Still held (@expires changes under conn->lock too). */
	if (!md->owned || time_before(jiffies, md->expires))
		return false;
	spin_lock(&rtsp_ports_lock);
	taken = rtsp_port_lost(ct, md);
	spin_unlock(&rtsp_ports_lock);
	return taken;
}

/*
 * Would a PLAY of @session make the server stream into another session's
 * flow?  Any media that flowed counts (the Session header the helper read
 * may not be the one the server reads); one that never flowed counts
 * for its own session only (@session 0: any), when none of that
 * session's flowed (the RTCP port of a server that sends none, a SETUP
 * that failed stay unflowed).
 */
static bool rtsp_play_taken(struct rtsp_conn *conn, struct nf_conn *ct,
			    u32 session)
{
	bool flowed = false, unflowed = false;
	struct rtsp_media *md;
	unsigned int i;

	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (md->state == RTSP_MEDIA_FLOWING) {
			if (rtsp_media_taken(ct, md))
				return true;
			flowed |= !session || !md->session ||
				  md->session == session;
		} else if (md->state == RTSP_MEDIA_EXPECTED && md->session &&
			   (!session || md->session == session)) {
			unflowed |= rtsp_media_taken(ct, md);
		}
	}
	return unflowed && !flowed;
}

/*
 * A PLAY (a seek, a rewind, the end of a PAUSE) may bring the media from
 * another sender, or another source port: a new flow, that the used-up
 * expectation of the SETUP would not let in.  Expect the session's media
 * again, on the same router port, to the same client port, from the
 * senders media_source allows (and the other senders named for it).
 * Returns whether a router port of the session went to another session
 * meanwhile: the PLAY would make the server stream into that session's
 * flow.
 */
static bool rtsp_rearm(struct rtsp_conn *conn, struct nf_conn *ct,
		       u32 session)
{
	struct rtsp_media *md;
	unsigned int i, k, want = 0, allowed, limit = READ_ONCE(max_per_host);
	unsigned long timeout = min(setup_timeout, RTSP_REARM_TIMEOUT) * HZ;
	struct rtsp_host_bucket *b = conn->host;
	bool again[RTSP_MEDIA_MAX] = { };
	bool refused = false, taken = false;

	/* Decided first: a PLAY that is dropped expects nothing again. */
	if (rtsp_play_taken(conn, ct, session)) {
		rtsp_log_bad(ct, "its router port went to another session meanwhile",
			     "PLAY dropped");
		return true;
	}
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (md->state != RTSP_MEDIA_FLOWING ||
		    (session && md->session && md->session != session))
			continue;
		/* A port not expected now counts for max_per_host, as at SETUP. */
		again[i] = rtsp_port_expected(ct, md->port);
		want += !again[i];
	}
	/* Counted and reserved under the bucket's lock, as a SETUP's ports. */
	allowed = want;
	if (limit && want) {
		spin_lock(&b->lock);
		allowed = min(want, rtsp_host_room(b, conn, limit));
		if (allowed)
			rtsp_host_reserve(conn, allowed);
		spin_unlock(&b->lock);
	}
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
		if (md->state != RTSP_MEDIA_FLOWING ||
		    (session && md->session && md->session != session))
			continue;
		if (!again[i] && !allowed) {
			refused = true;
			continue;
		}
		if (!rtsp_rearm_hold(ct, md, timeout)) {
			taken = true;
			continue;
		}
		if (!again[i])
			allowed--;
		if (!rtsp_expect_media(conn, ct, md, NULL, true)) {
			spin_lock(&rtsp_ports_lock);
			md->expires = jiffies + timeout;
			spin_unlock(&rtsp_ports_lock);
			pr_debug("PLAY: media port %u expected again\n",
				 ntohs(md->port));
		}
		for (k = 0; k < conn->n_alt; k++)
			rtsp_expect_media(conn, ct, md, &conn->alt[k], true);
	}
	if (conn->pending)
		/* Its expectations now count for themselves. */
		smp_store_release(&conn->pending, 0);
	if (refused)
		rtsp_log_bad(ct, "client holds max_per_host expectations",
			     "PLAY not expected again");
	if (taken)
		rtsp_log_bad(ct, "its router port went to another session meanwhile",
			     "PLAY dropped");
	return taken;
}

/*
 * TEARDOWN ends one session: its expectations and its media flows go,
 * those of other sessions on the same connection stay.  Without a Session
 * header, or when no media is known to belong to it, it ends what is not
 * known to belong to another session.
 */
static void rtsp_teardown(struct rtsp_conn *conn, struct nf_conn *ct,
			  u32 session)
{
	struct rtsp_media *md;
	unsigned int i, pass;
	bool any = false;

	for (pass = 0; pass < 2 && !any; pass++) {
		for (i = 0; (md = rtsp_media_next(conn, &i)); i++) {
			if (md->state == RTSP_MEDIA_FREE ||
			    (session && md->session != (pass ? 0 : session)))
				continue;
			any = true;
			pr_debug("TEARDOWN: media port %u ended\n",
				 ntohs(md->port));
			rtsp_media_end(ct, md);
		}
		if (!session)
			break;
	}
}

/* Per packet, beside what the NAT helper is handed. */
struct rtsp_pkt {
	u32 seq;			/* of the payload's first byte */
	u32 ack;			/* its acknowledgment number */
	s32 delta;			/* bytes the NAT helper added to it */
	s32 new_delta;			/* ... to bytes not seen before */
	bool natted;			/* NATed, with nf_nat_rtsp loaded */
	bool may_hold;			/* a split SETUP may be held back */
	bool held_back;			/* it was: drop the packet */
	bool gap;			/* dropped to wait (stream->gapdrops) */
};

/* Act on one whole message (its head, at least) at @c->msg. */
static unsigned int rtsp_message(struct nf_rtsp_msg_ctx *c,
				 struct rtsp_pkt *pk, struct rtsp_msg *msg,
				 struct nf_conn *ct,
				 enum ip_conntrack_info ctinfo,
				 struct rtsp_conn *conn)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	unsigned int ret = NF_ACCEPT;

	if (msg->type == RTSP_MSG_REQUEST && dir == IP_CT_DIR_ORIGINAL) {
		if (conn)
			rtsp_keepalive(conn, ct, c->skb);
		if (msg->method == RTSP_METHOD_TEARDOWN && conn)
			rtsp_teardown(conn, ct, rtsp_hash(c->msg, &msg->session));
		if (msg->method == RTSP_METHOD_PLAY && conn &&
		    rtsp_rearm(conn, ct, rtsp_hash(c->msg, &msg->session)))
			return NF_DROP;
		if (msg->method != RTSP_METHOD_SETUP)
			return NF_ACCEPT;
		/* Behind NAT a Transport header that is not read is refused. */
		if (pk->natted && msg->n_transport > 1)
			return rtsp_refuse_setup(ct);
		if (!msg->transport.len)
			return NF_ACCEPT;
		pr_debug("SETUP, Transport: %.*s\n", (int)msg->transport.len,
			 c->msg + msg->transport.off);
		ret = rtsp_walk_specs(c, msg, ct, ctinfo, conn,
				      pk->seq + c->msgoff - pk->delta, false);
	} else if (msg->type == RTSP_MSG_RESPONSE && dir == IP_CT_DIR_REPLY) {
		if (conn && msg->session.len && msg->cseq.len)
			rtsp_bind_session(conn, c->msg, msg);
		if (conn && msg->transport.len)
			rtsp_reply_alts(c, msg, ct, conn);
		if (msg->transport.len)
			ret = rtsp_walk_specs(c, msg, ct, ctinfo, conn,
					      pk->seq + c->msgoff - pk->delta,
					      false);
	} else {
		return NF_ACCEPT;
	}
	pk->delta += c->delta;
	pk->new_delta += c->delta;
	c->delta = 0;
	return ret;
}

/*
 * Has a Transport header begun in @p (a message head cut short)?  A line
 * cut within its name counts: the rest of the name may follow.
 */
static bool rtsp_transport_begun(const char *p, u32 len)
{
	static const char name[] = "transport";
	const char *nl;
	u32 i, n;

	while ((nl = memchr(p, '\n', len))) {
		len -= nl + 1 - p;
		p = nl + 1;
		n = min_t(u32, len, sizeof(name) - 1);
		for (i = 0; i < n && (p[i] | 0x20) == name[i]; i++)
			;
		if (n && i == n)
			return true;
	}
	return false;
}

/*
 * Behind NAT, a SETUP whose head is cut by the end of the segment after
 * its Transport header has begun may need bytes rewritten that would be
 * gone by the time the rest comes: hold it back (drop it, and what follows
 * it) so that the client sends it again, whole (Linux joins the pieces
 * when it retransmits).  Cut before Transport, it is rewritten later.
 */
static bool rtsp_hold_back(const struct rtsp_pkt *pk, const char *p, u32 len)
{
	static const char setup[] = "SETUP ";
	u32 i = 0;

	if (!pk->may_hold)
		return false;
	while (i < len && (p[i] == '\r' || p[i] == '\n'))
		i++;
	return len > i &&
	       !memcmp(p + i, setup, min_t(u32, len - i, sizeof(setup) - 1)) &&
	       rtsp_transport_begun(p + i, len - i);
}

/*
 * Where the client's next message starts is not known any more: its bytes
 * there are not RTSP, or a message head could not be held.  Bytes of a
 * browser's POST to an attached port could then pass for a SETUP (NAT
 * slipstreaming, with segments cut by the server's MSS): the helper stops
 * acting on what the client sends, for good.  The server's side only
 * loses the message.
 */
static void rtsp_lost(struct rtsp_conn *conn, struct nf_conn *ct,
		      enum ip_conntrack_info ctinfo, const char *what)
{
	if (CTINFO2DIR(ctinfo) != IP_CT_DIR_ORIGINAL) {
		rtsp_log_bad(ct, what, "reply not parsed");
		return;
	}
	if (conn) {
		if (conn->garbage)
			return;
		conn->garbage = true;
	}
	rtsp_log_bad(ct, what, "client no longer followed");
}

/* The server has acknowledged client bytes from @seq on. */
static bool rtsp_server_acked(const struct nf_conn *ct, u32 seq)
{
	const struct ip_ct_tcp_state *r = &ct->proto.tcp.seen[IP_CT_DIR_REPLY];

	/*
	 * Corrected for the rewrites' sequence adjustment (tcp_in_window()).
	 * Read without ct->lock: a stale value only delays the verdict by a
	 * segment (the client sends it again).
	 */
	return (READ_ONCE(r->flags) & IP_CT_TCP_FLAG_MAXACK_SET) &&
	       after(READ_ONCE(r->td_maxack), seq);
}

static unsigned int rtsp_unfollowed_drop(const struct nf_conn *ct)
{
	rtsp_log_bad(ct, "client_port= from a client not followed, behind NAT",
		     "dropped");
	return NF_DROP;
}

/* Any PLAY from a client not followed would stream into another's flow. */
static bool rtsp_unfollowed_taken(struct rtsp_conn *conn, struct nf_conn *ct)
{
	if (!rtsp_play_taken(conn, ct, 0))
		return false;
	rtsp_log_bad(ct, "a client not followed whose router port went to another session",
		     "dropped");
	return true;
}

/*
 * Bytes of a client not followed any more go out as they are.  Behind NAT
 * a SETUP among them would name a router port its session does not hold:
 * a segment that completes "client_port" (in any case), alone or after
 * the start of it that the client's last bytes ended with (@s->skip), is
 * dropped, and so is one past bytes not seen yet, where the start of the
 * word could hide.  Without a stream (@s NULL) a segment that ends with
 * the start of the word is dropped too.
 */
static unsigned int rtsp_unfollowed(struct nf_conn *ct,
				    const struct rtsp_pkt *pk,
				    struct rtsp_conn *conn,
				    struct rtsp_stream *s,
				    const char *dptr, u32 datalen)
{
	u32 end = pk->seq + datalen, off = 0, m;

	if (conn && rtsp_unfollowed_taken(conn, ct))
		return NF_DROP;
	m = nf_rtsp_client_port_scan(dptr, datalen, 0);
	if (m == RTSP_CLIENT_PORT_FOUND || (!s && m))
		goto drop;
	if (!s)
		return NF_ACCEPT;
	if (s->synced && after(pk->seq, s->next_seq)) {
		/*
		 * Bytes before it were not seen here.  Acknowledged by the
		 * server, they went by (data in the SYN, bytes without state:
		 * those were checked alone); else wait for them.
		 */
		if (!rtsp_server_acked(ct, pk->seq)) {
			pr_debug("client not followed: segment past a gap dropped\n");
			return NF_DROP;
		}
		s->synced = false;
	}
	if (s->synced) {
		/*
		 * Bytes seen before, sent again: the carry is that of the
		 * first copy; these may not be those bytes.
		 */
		off = s->next_seq - pk->seq;
		if (off && nf_rtsp_client_port_scan(dptr, min(off, datalen), 0))
			goto drop;
		if (!after(end, s->next_seq))
			return NF_ACCEPT;
	} else {
		s->skip = 0;
	}
	m = nf_rtsp_client_port_scan(dptr + off, datalen - off, s->skip);
	if (m == RTSP_CLIENT_PORT_FOUND)
		goto drop;
	s->skip = m;
	s->next_seq = end;
	s->synced = true;
	return NF_ACCEPT;
drop:
	return rtsp_unfollowed_drop(ct);
}

/* Parse and act on the messages of the payload from offset @off on. */
static unsigned int rtsp_payload(struct nf_rtsp_msg_ctx *c,
				 struct rtsp_pkt *pk, u32 off,
				 struct nf_conn *ct,
				 enum ip_conntrack_info ctinfo,
				 struct rtsp_conn *conn, struct rtsp_stream *s)
{
	unsigned int ret = NF_ACCEPT;
	struct rtsp_msg msg;
	u32 avail;

	while (off < *c->datalen && ret == NF_ACCEPT) {
		c->msgoff = off;
		c->msg = *c->dptr + off;
		avail = *c->datalen - off;
		c->msglen = avail;
		switch (nf_rtsp_parse_msg(c->msg, avail, &msg)) {
		case RTSP_PARSE_OK:
			ret = rtsp_message(c, pk, &msg, ct, ctinfo, conn);
			off += msg.len;
			break;
		case RTSP_PARSE_INCOMPLETE:
			if (msg.hdr_len) {
				/* Head complete: act now, skip the body. */
				ret = rtsp_message(c, pk, &msg, ct, ctinfo, conn);
				if (s)
					s->skip = msg.len - (*c->datalen - off);
			} else if (rtsp_hold_back(pk, c->msg, avail)) {
				pk->held_back = true;
				pr_debug("split SETUP held back until it comes whole\n");
				ret = NF_DROP;
			} else if (s && avail <= RTSP_HOLD_MAX) {
				if (!s->hold)
					s->hold = rtsp_hold_alloc(conn);
				if (s->hold) {
					memcpy(s->hold, c->msg, avail);
					s->held = avail;
				} else if (CTINFO2DIR(ctinfo) == IP_CT_DIR_ORIGINAL &&
					   s->gapdrops < RTSP_NOHOLD_DROPS_MAX) {
					/* It comes again, when one may be free. */
					pr_debug("no buffer to hold a message head: segment dropped\n");
					pk->gap = true;
					ret = NF_DROP;
				} else {
					rtsp_lost(conn, ct, ctinfo,
						  "max_held_heads reached, or no memory, to hold a message head");
				}
			} else {
				rtsp_lost(conn, ct, ctinfo, "message head too long");
			}
			return ret;
		default:
			if (CTINFO2DIR(ctinfo) == IP_CT_DIR_ORIGINAL)
				rtsp_lost(conn, ct, ctinfo, "data that is not RTSP");
			return ret;
		}
	}
	return ret;
}

/*
 * Complete a message head held from earlier segments with this one's
 * bytes from @*off on.  Returns false when the packet needs no more work.
 * Bytes of the message that arrived earlier can no longer be rewritten.
 */
static bool rtsp_resume(struct nf_rtsp_msg_ctx *c, struct rtsp_pkt *pk,
			u32 *off, struct nf_conn *ct,
			enum ip_conntrack_info ctinfo, struct rtsp_conn *conn,
			struct rtsp_stream *s, unsigned int *ret)
{
	u32 n = min(*c->datalen - *off, RTSP_HOLD_MAX - s->held);
	u32 before = s->held, end;
	struct rtsp_msg msg;

	memcpy(s->hold + s->held, *c->dptr + *off, n);
	s->held += n;
	c->msg = s->hold;
	c->msglen = s->held;
	c->msgoff = (int)*off - (int)before;

	switch (nf_rtsp_parse_msg(s->hold, s->held, &msg)) {
	case RTSP_PARSE_OK:
		s->held = 0;
		*ret = rtsp_message(c, pk, &msg, ct, ctinfo, conn);
		*off += msg.len - before;
		return *ret == NF_ACCEPT;
	case RTSP_PARSE_INCOMPLETE:
		if (msg.hdr_len) {
			s->held = 0;
			*ret = rtsp_message(c, pk, &msg, ct, ctinfo, conn);
			if (*ret != NF_ACCEPT)
				return false;
			/*
			 * Its end, in the payload as rewritten: the body may
			 * end in this segment, past what the buffer took, and
			 * the next message begin there.
			 */
			end = *off + msg.len - before;
			if (end <= *c->datalen) {
				*off = end;
				return true;
			}
			/* Only the head was rewritten: the rest as sent. */
			s->skip = end - *c->datalen;
			return false;
		}
		if (rtsp_hold_back(pk, s->hold, s->held)) {
			pk->held_back = true;
			*ret = NF_DROP;
			return false;
		}
		if (s->held < RTSP_HOLD_MAX)
			return false;
		rtsp_lost(conn, ct, ctinfo, "message head too long");
		break;
	default:
		if (CTINFO2DIR(ctinfo) == IP_CT_DIR_ORIGINAL)
			rtsp_lost(conn, ct, ctinfo, "data that is not RTSP");
		break;
	}
	s->held = 0;
	return false;
}

/*
 * A retransmission behind NAT: the messages of it that were rewritten get
 * the same rewrite again (the TCP sequence adjustment of their first copy
 * already counts it), in the order they come.  One cut otherwise than the
 * first copy was, or whose bytes are not those of the first copy, cannot
 * be rewritten the same way: drop it, so that it comes again.  @seen
 * bytes of the segment were seen before.
 */
static unsigned int rtsp_replay(struct nf_rtsp_msg_ctx *c,
				struct rtsp_pkt *pk, u32 *off, u32 seen,
				struct nf_conn *ct,
				enum ip_conntrack_info ctinfo,
				struct rtsp_conn *conn)
{
	const struct rtsp_remap *rm = conn->remap[CTINFO2DIR(ctinfo)];
	unsigned int i, ret, done = 0;
	const struct rtsp_remap *r;
	struct rtsp_msg msg;
	u32 at, from = 0;
	s64 pos;

	seen = min(seen, *c->datalen);
	for (;;) {
		r = NULL;
		for (i = 0; i < RTSP_REMAP_MAX; i++) {
			if (!rm[i].hash || (done & BIT(i)) ||
			    !before(rm[i].seq, pk->seq + seen) ||
			    !after(rm[i].seq + rm[i].hdr_len, pk->seq))
				continue;
			if (!r || before(rm[i].seq, r->seq))
				r = &rm[i];
		}
		if (!r)
			return NF_ACCEPT;
		done |= BIT(r - rm);
		/* Where it was in the segment, then where it is now. */
		at = r->seq - pk->seq;
		pos = (s64)at + pk->delta;
		if (before(r->seq, pk->seq) || at < from ||
		    r->hdr_len > seen - at || pos < 0 ||
		    pos + r->hdr_len > *c->datalen) {
			rtsp_log_bad(ct, "retransmission cut unlike its rewritten copy",
				     "dropped until it comes whole");
			return NF_DROP;
		}
		from = at + r->hdr_len;
		c->msgoff = pos;
		c->msg = *c->dptr + pos;
		c->msglen = *c->datalen - pos;
		if (nf_rtsp_parse_msg(c->msg, c->msglen, &msg) ==
		    RTSP_PARSE_INVALID || msg.hdr_len != r->hdr_len ||
		    rtsp_head_hash(c->msg, &msg) != r->hash)
			return NF_DROP;
		ret = rtsp_walk_specs(c, &msg, ct, ctinfo, conn, r->seq, true);
		if (ret != NF_ACCEPT)
			return ret;
		*off += c->delta;
		pk->delta += c->delta;
		c->delta = 0;
	}
}

/* The old connection goes on: its adjustment as it was (ct->lock held). */
static void rtsp_seqadj_back(struct nf_conn *ct, struct nf_ct_rtsp_master *m)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);
	struct nf_ct_seqadj *way;

	if (!seqadj || !m->moved)
		return;
	way = &seqadj->seq[IP_CT_DIR_ORIGINAL];
	if (m->moved == RTSP_MOVED_AHEAD)
		way->offset_after = way->offset_before;
	way->correction_pos = m->saved_pos;
	way->offset_before = m->saved_before;
	WRITE_ONCE(m->moved, 0);
}

/*
 * Move the TCP stream by @delta after this packet: nf_ct_seqadj_set(),
 * but a retransmission that starts where the last rewrite did, and brings
 * new bytes rewritten too, adds to that rewrite (which it ignores).  One
 * that starts before it cannot be told apart: refuse it.
 */
static bool rtsp_seqadj(struct nf_conn *ct, enum ip_conntrack_info ctinfo,
			u32 seq, s32 delta)
{
	struct nf_ct_rtsp_master *m = nfct_help_data(ct);
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);
	struct nf_ct_seqadj *way;
	bool ok = true;

	if (!seqadj)
		return false;
	set_bit(IPS_SEQ_ADJUST_BIT, &ct->status);
	spin_lock(&ct->lock);
	/* A SYN on another CPU may have moved it since our restore. */
	if (CTINFO2DIR(ctinfo) == IP_CT_DIR_ORIGINAL)
		rtsp_seqadj_back(ct, m);
	/* Under ct->lock, as rtsp_seqadj_forget() clears it. */
	WRITE_ONCE(m->adjusted, true);
	way = &seqadj->seq[CTINFO2DIR(ctinfo)];
	if (way->offset_before == way->offset_after ||
	    before(way->correction_pos, seq)) {
		way->correction_pos = seq;
		way->offset_before = way->offset_after;
		way->offset_after += delta;
	} else if (way->correction_pos == seq) {
		way->offset_after += delta;
	} else {
		ok = false;
	}
	spin_unlock(&ct->lock);
	return ok;
}

/*
 * The client's SYN tells where its bytes begin: a first segment lost
 * before the router then shows as a gap, not as the start of a message.
 * Data in a SYN (TCP Fast Open) is not parsed: the client's bytes are not
 * followed then.  Returns whether the packet has a payload.
 */
static bool rtsp_syn(struct sk_buff *skb, unsigned int protoff,
		     struct nf_ct_rtsp_master *m)
{
	const struct tcphdr *th;
	struct tcphdr _tcph;
	bool data;

	th = skb_header_pointer(skb, protoff, sizeof(_tcph), &_tcph);
	if (!th)
		return false;
	data = skb->len > protoff + th->doff * 4;
	/* A pickup stays one; a SYN sent again may bring a new ISN. */
	if (READ_ONCE(m->syn) & RTSP_SYN_PICKUP)
		return data;
	/* A first packet that is not a SYN: conntrack picked it up. */
	if (!th->syn || th->ack) {
		if (READ_ONCE(m->syn))
			return data;
		/* Read with smp_load_acquire() by rtsp_client_start(). */
		smp_store_release(&m->syn, RTSP_SYN_PICKUP);
		return data;
	}
	WRITE_ONCE(m->client_isn, ntohl(th->seq) + 1);
	/* @client_isn is seen with it (rtsp_client_start()). */
	smp_store_release(&m->syn, RTSP_SYN_SEEN | (data ? RTSP_SYN_DATA : 0));
	return data;
}

/*
 * Our helper was taken from @ct: no client segment will put it back.  (At
 * unload it stays moved: under a conntrack hash lock, ct->lock is not
 * taken; only the old connection's bytes before its last rewrite would
 * get the offset of those after it.)
 */
static void rtsp_seqadj_restore(struct nf_conn *ct)
{
	struct nf_ct_rtsp_master *m = nfct_help_data(ct);

	if (!READ_ONCE(m->moved))
		return;
	spin_lock_bh(&ct->lock);
	rtsp_seqadj_back(ct, m);
	spin_unlock_bh(&ct->lock);
}

/*
 * nf_ct_seq_offset() of one way, where ct->lock is held (it takes it) or
 * a stale answer will do.
 */
static s32 rtsp_way_offset(const struct nf_ct_seqadj *way, u32 seq)
{
	return after(seq, way->correction_pos) ? way->offset_after :
						 way->offset_before;
}

/*
 * The sequence adjustment of our rewrites belongs to the connection they
 * were made in.  A SYN of a new connection on the tuple would be moved by
 * it (nf_ct_seq_adjust(), after us) whenever the offset that applies to
 * its ISN is not 0, and conntrack would check the server's SYN/ACK
 * against the moved ISN (tcp_in_window()): it would not follow the new
 * connection.  So, until the SYN/ACK, the client's direction is written
 * around the SYN (@seq to @end): 0 for it, the old bytes' offset for
 * the bytes after the old ones (when the SYN is before them) or up to
 * them (after).  The old connection's traffic keeps its offset as long
 * as it does not cross the SYN's (the SYN may be forged, or the server's
 * end of the old connection live on), and its next client segment puts
 * the adjustment back (rtsp_seqadj_back()); conntrack following the new
 * connection drops it (rtsp_seqadj_forget()).  Under ct->lock.
 */
static void rtsp_seqadj_move(struct nf_conn *ct, struct nf_ct_rtsp_master *m,
			     u32 seq, u32 end)
{
	u32 td_end = ct->proto.tcp.seen[IP_CT_DIR_ORIGINAL].td_end;
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);
	struct nf_ct_seqadj *way;
	s32 old_after;
	u32 pos;

	if (!seqadj || !m->adjusted)
		return;
	/* Another SYN (or the same, sent again): around its own number. */
	rtsp_seqadj_back(ct, m);
	way = &seqadj->seq[IP_CT_DIR_ORIGINAL];
	/*
	 * What moves the SYN (nf_ct_seq_adjust()), what conntrack takes off
	 * the SYN/ACK's ack (tcp_in_window()) and what is taken off it on
	 * its way (nf_ct_seq_adjust()): nothing to do if all are 0.
	 */
	if (!rtsp_way_offset(way, seq) && !rtsp_way_offset(way, end - 1) &&
	    !rtsp_way_offset(way, end - way->offset_before))
		return;
	m->saved_pos = way->correction_pos;
	m->saved_before = way->offset_before;
	old_after = way->offset_after;
	/* The old bytes up to td_end keep old_after; the SYN's get 0. */
	pos = seq - 1 - max(old_after, 0);
	if (after(seq, td_end)) {
		way->correction_pos = after(pos, td_end) ||
				      pos == td_end ? pos : seq - 1;
		way->offset_before = old_after;
		way->offset_after = 0;
		WRITE_ONCE(m->moved, RTSP_MOVED_AHEAD);
	} else {
		way->correction_pos = end;
		way->offset_before = 0;
		way->offset_after = old_after;
		WRITE_ONCE(m->moved, RTSP_MOVED_BEHIND);
	}
}

/*
 * Conntrack follows a new connection on the tuple (ct->lock held): our
 * rewrites of the old one do not move its bytes.
 */
static void rtsp_seqadj_forget(struct nf_conn *ct,
			       struct nf_ct_rtsp_master *m)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);

	if (!seqadj || !m->adjusted)
		return;
	memset(seqadj->seq, 0, sizeof(seqadj->seq));
	WRITE_ONCE(m->adjusted, false);
	WRITE_ONCE(m->moved, 0);
}

/*
 * A SYN of the client on an established connection (a box that rebooted
 * and uses the same port again), then the server's SYN/ACK for it, which
 * conntrack took to follow the new connection (tcp_packet(), before us:
 * state SYN_RECV, the SYN's end as the client's): so do we, from its
 * first byte, at its next segment.  A SYN sent again (the first one's,
 * or the restart's, also once followed) is no new connection.
 */
static void rtsp_resync(struct nf_conn *ct, struct nf_ct_rtsp_master *m,
			enum ip_conntrack_dir dir, const struct tcphdr *th,
			u32 datalen)
{
	const struct ip_ct_tcp *tcp = &ct->proto.tcp;
	u32 seq = ntohl(th->seq), end = seq + 1 + datalen, isn;
	bool followed;
	u32 r;

	if (dir == IP_CT_DIR_ORIGINAL && !th->ack) {
		/* Sent again or not, it must leave as it came. */
		if (READ_ONCE(m->adjusted)) {
			spin_lock_bh(&ct->lock);
			rtsp_seqadj_move(ct, m, seq, end);
			spin_unlock_bh(&ct->lock);
		}
		isn = READ_ONCE(m->client_isn);
		if (((READ_ONCE(m->syn) & RTSP_SYN_SEEN) &&
		     (seq + 1 == isn || end == isn)) ||
		    ((READ_ONCE(m->resync) &
		      (RTSP_RESYNC_SYN | RTSP_RESYNC_DONE)) &&
		     end == READ_ONCE(m->resync_isn)))
			return;
		WRITE_ONCE(m->resync_isn, end);
		/* @resync_isn is read after @resync (acquire, below). */
		smp_store_release(&m->resync, RTSP_RESYNC_SYN |
				  (datalen ? RTSP_RESYNC_DATA : 0));
		return;
	}
	if (dir != IP_CT_DIR_REPLY || !th->ack)
		return;
	/* Pairs with the release just above. */
	r = smp_load_acquire(&m->resync);
	if (!(r & RTSP_RESYNC_SYN) ||
	    ntohl(th->ack_seq) != READ_ONCE(m->resync_isn))
		return;
	/* Conntrack saw this SYN/ACK first: the client has not answered. */
	spin_lock_bh(&ct->lock);
	followed = tcp->state == TCP_CONNTRACK_SYN_RECV &&
		   tcp->seen[IP_CT_DIR_ORIGINAL].td_end ==
		   READ_ONCE(m->resync_isn);
	/* Before nf_ct_seq_adjust() moves this SYN/ACK. */
	if (followed)
		rtsp_seqadj_forget(ct, m);
	spin_unlock_bh(&ct->lock);
	/* Ordered before rtsp_restart()'s reads (cmpxchg() is a barrier). */
	if (followed)
		cmpxchg(&m->resync, r,
			(r & ~RTSP_RESYNC_SYN) | RTSP_RESYNC_DONE);
}

/* Where the client's bytes begin, before its first segment is parsed. */
static void rtsp_client_start(struct rtsp_conn *conn, struct nf_conn *ct,
			      enum ip_conntrack_info ctinfo,
			      struct rtsp_stream *s)
{
	const struct nf_ct_rtsp_master *m = nfct_help_data(ct);
	/* Pairs with the release of rtsp_syn(): @client_isn after it. */
	u8 syn = smp_load_acquire(&m->syn);

	/*
	 * Without the SYN (conntrack picked the connection up, with
	 * nf_conntrack_tcp_loose), the first segment may begin anywhere in
	 * a message.  A conntrack made through ctnetlink (conntrackd) saw no
	 * packet at all: its first segment is taken as a message start.
	 */
	if (syn & RTSP_SYN_PICKUP)
		rtsp_lost(conn, ct, ctinfo, "connection picked up without its SYN");
	if (syn & RTSP_SYN_DATA)
		rtsp_lost(conn, ct, ctinfo, "data in the SYN (TCP Fast Open)");
	if (READ_ONCE(m->unseen))
		rtsp_lost(conn, ct, ctinfo, "client bytes went by without state");
	if (syn & RTSP_SYN_SEEN) {
		s->next_seq = READ_ONCE(m->client_isn);
		s->synced = true;
	}
}

/*
 * Does the client acknowledge server bytes that never passed us (its
 * ACK @ack, in the sequence space its side sees)?  Then the exchange went
 * by another router (a failover and a failback, docs/ha.md): the
 * client's bytes we lack will not come.  A forged ACK gains nothing: the
 * client is not followed any more.
 */
static void rtsp_ha_request(struct net *net, bool commit);

static bool rtsp_server_bypassed(const struct nf_conn *ct,
				 const struct rtsp_conn *conn, u32 ack)
{
	const struct rtsp_stream *r = &conn->stream[IP_CT_DIR_REPLY];
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);
	const struct nf_ct_seqadj *way;

	if (!r->synced)
		return false;
	/* Back to the server's numbers, as nf_ct_seq_adjust() does. */
	if (seqadj) {
		way = &seqadj->seq[IP_CT_DIR_REPLY];
		ack -= rtsp_way_offset(way, ack - way->offset_before);
	}
	return after(ack, r->next_seq);
}

/*
 * The client started a new connection on the tuple: follow it afresh (what
 * the old one showed does not count), unless its SYN carried data.
 */
static void rtsp_restart(struct rtsp_conn *conn, struct nf_conn *ct)
{
	struct nf_ct_rtsp_master *m = nfct_help_data(ct);
	u32 r = READ_ONCE(m->resync);
	struct rtsp_media *md;
	unsigned int d, i;

	if (!(r & RTSP_RESYNC_DONE) || cmpxchg(&m->resync, r, 0) != r)
		return;
	pr_debug("client restarted the connection on the same ports\n");
	WRITE_ONCE(m->client_isn, READ_ONCE(m->resync_isn));
	WRITE_ONCE(m->unseen, false);
	/* Read with smp_load_acquire() by rtsp_client_start(). */
	smp_store_release(&m->syn, RTSP_SYN_SEEN |
			  (r & RTSP_RESYNC_DATA ? RTSP_SYN_DATA : 0));
	conn->garbage = false;
	/* What the old connection's SETUPs wait for is nobody's now. */
	for (i = 0; (md = rtsp_media_next(conn, &i)); i++)
		if (md->state == RTSP_MEDIA_EXPECTED)
			rtsp_media_end(ct, md);
	for (d = 0; d < IP_CT_DIR_MAX; d++) {
		struct rtsp_stream *s = &conn->stream[d];

		s->synced = false;
		s->held = 0;
		s->skip = 0;
		s->holding = false;
		s->holdbacks = 0;
		s->gapdrops = 0;
		for (i = 0; i < RTSP_REMAP_MAX; i++)
			conn->remap[d][i].hash = 0;
	}
}

/*
 * The payload, where it lies in one piece: in the skb's head, or in one
 * page fragment that nothing else writes (user or page cache pages could
 * change under the parser, which reads some bytes twice).  NULL otherwise.
 */
static const char *rtsp_skb_data(struct sk_buff *skb, unsigned int off,
				 unsigned int len)
{
	const struct skb_shared_info *sh;
	unsigned int head = skb_headlen(skb), i, size;
	const skb_frag_t *f;
	char *p;

	if (len <= head && off <= head - len)
		return skb->data + off;
	/* A highmem page has no address of its own to keep. */
	if (IS_ENABLED(CONFIG_HIGHMEM) || off < head ||
	    skb_has_shared_frag(skb) || skb_zcopy(skb))
		return NULL;
	off -= head;
	sh = skb_shinfo(skb);
	for (i = 0; i < sh->nr_frags; i++) {
		f = &sh->frags[i];
		size = skb_frag_size(f);
		if (off < size) {
			if (len > size - off)
				return NULL;
			p = skb_frag_address_safe(f);
			return p ? p + off : NULL;
		}
		off -= size;
	}
	return NULL;
}

/*
 * A segment with data (@dataoff in the skb), of an established connection.
 * Its locals are declared here, not in rtsp_help(): bare ACKs then do not
 * zero them (CONFIG_INIT_STACK_ALL_ZERO zeroes them where declared).
 */
static int rtsp_help_data(struct sk_buff *skb, unsigned int protoff,
			  unsigned int dataoff, const struct tcphdr *th,
			  struct nf_conn *ct, enum ip_conntrack_info ctinfo,
			  struct nf_ct_rtsp_master *m)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	const struct nf_nat_rtsp_hooks *nat;
	struct rtsp_stream *s = NULL, saved;
	struct nf_rtsp_msg_ctx *c;
	unsigned int ret = NF_ACCEPT;
	struct rtsp_pkt pk = { };
	struct rtsp_conn *conn;
	unsigned int datalen;
	const char *dptr;
	u32 end, off = 0, n;
	const u8 *first;
	u8 _first;
	bool bh, was_garbage;

	datalen = skb->len - dataoff;
	dptr = rtsp_skb_data(skb, dataoff, datalen);
	/*
	 * Skip the server's media interleaved in the control connection
	 * before copying.  The client's goes through its stream, whose
	 * message starts must all be known (rtsp_lost()).
	 */
	if (dir == IP_CT_DIR_REPLY) {
		first = dptr ? (const u8 *)dptr :
			       skb_header_pointer(skb, dataoff, 1, &_first);
		if (!first || *first == '$')
			return NF_ACCEPT;
	}
	/* @th may point into the head that skb_linearize() frees. */
	pk.seq = ntohl(th->seq);
	pk.ack = ntohl(th->ack_seq);
	nat = rcu_dereference(nf_nat_rtsp_hooks);
	pk.natted = nat && (ct->status & IPS_NAT_MASK);

	/*
	 * A payload in one piece is parsed where it is.  Otherwise one up to
	 * a message's size is copied to this CPU's buffer (with BH off, so
	 * nothing else here can use it), and a bigger one is linearized, as
	 * the kernel's SIP helper does.  A rewrite makes the skb linear
	 * (nf_nat_mangle_tcp_packet() does), and the NAT helper then points
	 * dptr at the skb.  Forwarded packets come in softirq, BH off already.
	 */
	bh = !in_softirq();
	if (bh)
		local_bh_disable();
	/* Its message fields are set per message: no 2 KB memset per packet. */
	c = &this_cpu_ptr(rtsp_bounce)->c;
	c->skb = skb;
	c->protoff = protoff;
	c->dataoff = dataoff;
	c->delta = 0;
	if (!dptr) {
		if (skb_is_nonlinear(skb) && datalen <= RTSP_BOUNCE_MAX)
			dptr = skb_header_pointer(skb, dataoff, datalen,
						  this_cpu_ptr(rtsp_bounce)->buf);
		else if (likely(!skb_linearize(skb)))
			dptr = skb->data + dataoff;
	}
	if (unlikely(!dptr)) {
		if (bh)
			local_bh_enable();
		nf_ct_helper_log(skb, ct, "cannot linearize packet");
		return NF_DROP;
	}
	c->dptr = &dptr;
	c->datalen = &datalen;
	end = pk.seq + datalen;

	conn = rtsp_conn_get(ct);
	if (!conn) {
		/*
		 * Without a stream to follow, a segment could begin inside a
		 * message: the client's are not parsed.
		 */
		if (dir == IP_CT_DIR_ORIGINAL) {
			WRITE_ONCE(m->unseen, true);
			rtsp_log_bad(ct, "no connection state (no memory, or the connection ends)",
				     "client not followed");
			ret = rtsp_unfollowed(ct, &pk, NULL, NULL, dptr, datalen);
		} else {
			ret = rtsp_payload(c, &pk, 0, ct, ctinfo, NULL, NULL);
		}
		goto adjust;
	}

	spin_lock(&conn->lock);
	if (unlikely(READ_ONCE(m->resync) & RTSP_RESYNC_DONE))
		rtsp_restart(conn, ct);
	s = &conn->stream[dir];
	if (!s->synced && dir == IP_CT_DIR_ORIGINAL)
		rtsp_client_start(conn, ct, ctinfo, s);
	saved = *s;
	was_garbage = conn->garbage;
	if (was_garbage && pk.natted && dir == IP_CT_DIR_ORIGINAL) {
		ret = rtsp_unfollowed(ct, &pk, conn, s, dptr, datalen);
		goto out;
	}
	pk.may_hold = pk.natted && dir == IP_CT_DIR_ORIGINAL &&
		      s->holdbacks < RTSP_HOLDBACK_MAX && !conn->garbage;
	if (s->synced && before(pk.seq, s->next_seq)) {
		/* A retransmission: only bytes not seen before count. */
		n = s->next_seq - pk.seq;
		off = min(n, datalen);
		if (pk.natted)
			ret = rtsp_replay(c, &pk, &off, n, ct, ctinfo, conn);
		if (ret != NF_ACCEPT || !after(end, s->next_seq))
			goto out;
	} else if (s->synced && after(pk.seq, s->next_seq)) {
		/* What follows a SETUP held back waits for it. */
		if (s->holding) {
			ret = NF_DROP;
			goto out;
		}
		/*
		 * The client's bytes before this segment were lost before
		 * they reached us: it may begin inside a message, whose body
		 * could pass for a SETUP.  It waits for them (dropped: the
		 * client sends it again after them); if they never come,
		 * the client is not followed any more.
		 */
		if (dir == IP_CT_DIR_ORIGINAL && !conn->garbage) {
			/* Acknowledged by the server: they went by unseen. */
			if (s->gapdrops < RTSP_GAP_DROPS_MAX &&
			    !rtsp_server_acked(ct, s->next_seq) &&
			    !rtsp_server_bypassed(ct, conn, pk.ack)) {
				pr_debug("client bytes lost before the router: segment dropped until they come\n");
				pk.gap = true;
				ret = NF_DROP;
				goto out;
			}
			/* Its flows may have come back through conntrackd. */
			rtsp_ha_request(nf_ct_net(ct), false);
			rtsp_lost(conn, ct, ctinfo, "client bytes never seen");
		}
		/* The server's bytes were lost to us: start afresh here. */
		s->held = 0;
		s->skip = 0;
	}
	s->next_seq = end;
	s->synced = true;
	if (conn->garbage && dir == IP_CT_DIR_ORIGINAL)
		goto out;

	if (s->skip) {
		n = min(s->skip, datalen - off);
		s->skip -= n;
		off += n;
	}
	if (s->held && off < datalen &&
	    !rtsp_resume(c, &pk, &off, ct, ctinfo, conn, s, &ret))
		goto out;
	ret = rtsp_payload(c, &pk, off, ct, ctinfo, conn, s);
out:
	if (!was_garbage && conn->garbage && pk.natted &&
	    dir == IP_CT_DIR_ORIGINAL) {
		/*
		 * Lost in this segment: from here on, rtsp_unfollowed(), from
		 * what the head held back ended with.
		 */
		saved.skip = saved.held ?
			     nf_rtsp_client_port_scan(saved.hold, saved.held, 0) : 0;
		if (saved.skip == RTSP_CLIENT_PORT_FOUND)
			saved.skip = 0;
		s->skip = nf_rtsp_client_port_scan(dptr, datalen, saved.skip);
		s->held = 0;
		saved.held = 0;
		if (ret == NF_ACCEPT && s->skip == RTSP_CLIENT_PORT_FOUND)
			ret = rtsp_unfollowed_drop(ct);
		if (ret == NF_ACCEPT && rtsp_unfollowed_taken(conn, ct))
			ret = NF_DROP;
	}
	/* A dropped segment was not seen: its retransmission is parsed. */
	if (ret != NF_ACCEPT) {
		saved.hold = s->hold;
		if (pk.held_back) {
			/* Wait for this segment to come again, whole. */
			if (!saved.synced || after(pk.seq, saved.next_seq)) {
				saved.next_seq = pk.seq;
				saved.synced = true;
				saved.held = 0;
				saved.skip = 0;
			}
			saved.holding = true;
			saved.holdbacks++;
		}
		saved.gapdrops += pk.gap;
		*s = saved;
	} else if (after(s->next_seq, saved.next_seq) || !saved.synced) {
		s->holding = false;
		s->holdbacks = 0;
		s->gapdrops = 0;
	}
	if (!s->held && s->hold) {
		rtsp_hold_free(conn, s->hold);
		s->hold = NULL;
	}
	/* TEARDOWN, or the media started: nothing left to count here. */
	if (READ_ONCE(conn->indexed) && !rtsp_port_expected(ct, 0))
		rtsp_host_index(conn, false, false);
	spin_unlock(&conn->lock);
adjust:
	/* Every new rewrite of the packet moves the stream once, by the sum. */
	if (ret == NF_ACCEPT && pk.new_delta &&
	    !rtsp_seqadj(ct, ctinfo, pk.seq, pk.new_delta)) {
		rtsp_log_bad(ct, "rewrite in a retransmission before the last one",
			     "dropped");
		ret = NF_DROP;
	}
	if (bh)
		local_bh_enable();
	return ret;
}

/* NATed, with nf_nat_rtsp loaded (under RCU)? */
static bool rtsp_natted(const struct nf_conn *ct)
{
	return rcu_access_pointer(nf_nat_rtsp_hooks) &&
	       (ct->status & IPS_NAT_MASK);
}

/* A server may take urgent bytes out: they would hide client_port. */
static unsigned int rtsp_urgent(const struct nf_conn *ct)
{
	rtsp_log_bad(ct, "urgent data from a client behind NAT", "dropped");
	return NF_DROP;
}

/*
 * Client bytes the helper does not follow at all (before the server's
 * first reply: data in a SYN, a connection picked up without one): behind
 * NAT, a segment that has "client_port" or ends with the start of it is
 * dropped.
 */
static unsigned int rtsp_unfollowed_skb(const struct sk_buff *skb,
					unsigned int protoff,
					const struct nf_conn *ct)
{
	const struct tcphdr *th;
	struct tcphdr _tcph;
	unsigned int off, n;
	u32 m = 0;
	char buf[64];

	th = skb_header_pointer(skb, protoff, sizeof(_tcph), &_tcph);
	if (!th || !rtsp_natted(ct))
		return NF_ACCEPT;
	if (th->urg && protoff + th->doff * 4 < skb->len)
		return rtsp_urgent(ct);
	for (off = protoff + th->doff * 4; off < skb->len; off += n) {
		n = min_t(unsigned int, skb->len - off, sizeof(buf));
		if (skb_copy_bits(skb, off, buf, n))
			return NF_DROP;
		m = nf_rtsp_client_port_scan(buf, n, m);
		if (m == RTSP_CLIENT_PORT_FOUND)
			break;
	}
	return m ? rtsp_unfollowed_drop(ct) : NF_ACCEPT;
}

static int rtsp_help(struct sk_buff *skb, unsigned int protoff,
		     struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	struct nf_ct_rtsp_master *m = nfct_help_data(ct);
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	const struct tcphdr *th;
	struct tcphdr _tcph;
	unsigned int dataoff;

	if (ctinfo == IP_CT_NEW)
		return rtsp_syn(skb, protoff, m) ?
		       rtsp_unfollowed_skb(skb, protoff, ct) : NF_ACCEPT;
	if (ctinfo != IP_CT_ESTABLISHED && ctinfo != IP_CT_ESTABLISHED_REPLY)
		return NF_ACCEPT;
	/*
	 * Going away: the kernel may already have removed this helper's
	 * expectations, and would not see one made now (nor would our sweep,
	 * once past the grace period that follows the flag).
	 */
	if (READ_ONCE(rtsp_unloading))
		return NF_ACCEPT;

	th = skb_header_pointer(skb, protoff, sizeof(_tcph), &_tcph);
	if (!th)
		return NF_ACCEPT;
	/* The old connection goes on after a SYN: its adjustment back. */
	if (unlikely(READ_ONCE(m->moved)) && dir == IP_CT_DIR_ORIGINAL &&
	    !th->syn) {
		spin_lock_bh(&ct->lock);
		rtsp_seqadj_back(ct, m);
		spin_unlock_bh(&ct->lock);
	}
	dataoff = protoff + th->doff * 4;
	if (unlikely(th->urg) && dir == IP_CT_DIR_ORIGINAL &&
	    dataoff < skb->len && rtsp_natted(ct))
		return rtsp_urgent(ct);
	if (unlikely(th->syn)) {
		rtsp_resync(ct, m, dir, th,
			    skb->len > dataoff ? skb->len - dataoff : 0);
		return NF_ACCEPT;
	}
	if (dataoff >= skb->len)
		return NF_ACCEPT;
	return rtsp_help_data(skb, protoff, dataoff, th, ct, ctinfo, m);
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

/*
 * A backup router (docs/ha.md).  When keepalived makes it the primary,
 * conntrackd commits its copies of the control connections through
 * ctnetlink (->from_nlattr runs for each), then of their expectations,
 * without expectfn or NAT target (conntrackd 1.4.7 does not carry them),
 * and the media flows that were running, as plain conntracks.  Shortly
 * after, a sweep of the namespace gives those expectations their expectfn
 * (nf_nat_rtsp maps the flow to the connection's client, at the port the
 * expectation's tuple carries as its source port) and records each NATed media flow of one of
 * our connections as holding its router port while it lives, as for a
 * flow whose control connection ended: no SETUP on this router is given
 * the router port of a stream that came across.  Our per-connection state
 * is not rebuilt: a connection's state starts at its next segment.
 */
struct rtsp_ha_net {
	struct delayed_work sweep;
	struct net *net;
	unsigned long last;		/* jiffies of the last data-path request */
};

/* A client's packets ask for a sweep (a full table walk) at most this often. */
#define RTSP_HA_DATA_INTERVAL	(10 * HZ)

static unsigned int rtsp_ha_net_id __read_mostly;
/* After the last control connection committed: its expectations follow. */
#define RTSP_HA_SWEEP_DELAY	(HZ / 10)

/* Under nf_conntrack_expect_lock: an expectation of ours with no expectfn. */
static bool rtsp_ha_adopt(struct nf_conntrack_expect *exp, void *data)
{
	const struct nf_nat_rtsp_hooks *nat;
	struct nf_conn *ct = exp->master;

	/*
	 * A permanent one is read without nf_conntrack_expect_lock when a
	 * flow matches it: its fields would be seen half set.  SETUPs are
	 * only taken from the client (original direction), as adopt assumes.
	 */
	if (exp->expectfn || exp->tuple.dst.protonum != IPPROTO_UDP ||
	    (exp->flags & NF_CT_EXPECT_PERMANENT) || !rtsp_ct_ours(ct))
		return false;
	if (!(ct->status & IPS_NAT_MASK)) {
		exp->expectfn = nf_ct_rtsp_media_started;
		return false;
	}
	nat = rcu_dereference(nf_nat_rtsp_hooks);
	if (nat)
		nat->adopt(exp);
	return false;
}

/* The original tuple of a media flow, to record once the walk is done. */
struct rtsp_ha_flow {
	struct list_head node;
	struct nf_conntrack_zone zone;
	struct nf_conntrack_tuple tuple;
	u8 host;			/* the client's rtsp_hosts[] bucket */
};

/* Under a conntrack hash lock: a NATed media flow of one of ours. */
static int rtsp_ha_flow(struct nf_conn *ct, void *data)
{
	struct list_head *flows = data;
	struct rtsp_ha_flow *f;
	bool ours;

	if (nf_ct_protonum(ct) != IPPROTO_UDP || !ct->master ||
	    !(ct->status & IPS_DST_NAT))
		return 0;
	rcu_read_lock();
	ours = rtsp_ct_ours(ct->master);
	rcu_read_unlock();
	if (!ours)
		return 0;
	f = kzalloc_obj(*f, GFP_ATOMIC);
	if (f) {
		f->zone = *nf_ct_zone(ct);
		f->tuple = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
		f->host = rtsp_host_bucket(ct->master) - rtsp_hosts;
		list_add_tail(&f->node, flows);
	}
	return 0;
}

static void rtsp_ha_sweep(struct work_struct *work)
{
	struct rtsp_ha_net *hn = container_of(to_delayed_work(work),
					      struct rtsp_ha_net, sweep);
	LIST_HEAD(flows);
	struct nf_ct_iter_data iter = { .net = hn->net, .data = &flows };
	struct rtsp_ha_flow *f, *tmp;
	unsigned int held = 0;

	if (READ_ONCE(rtsp_unloading))
		return;
	rcu_read_lock();
	nf_ct_expect_iterate_net(hn->net, rtsp_ha_adopt, NULL, 0, 0);
	rcu_read_unlock();
	nf_ct_iterate_cleanup_net(rtsp_ha_flow, &iter);
	local_bh_disable();
	list_for_each_entry_safe(f, tmp, &flows, node) {
		if (!rtsp_orphan_add(hn->net, &f->zone, &f->tuple, f->host,
				     true))
			held++;
		kfree(f);
	}
	local_bh_enable();
	pr_debug("connections committed through ctnetlink: %u media flows hold their router ports\n",
		 held);
}

/*
 * A sweep soon: ctnetlink made a connection with our helper (a conntrackd
 * commit; ->from_nlattr is also called when it sets helper data, which we
 * have none of), or a connection came back from another router.
 */
static void rtsp_ha_request(struct net *net, bool commit)
{
	struct rtsp_ha_net *hn;
	unsigned long last;

	if (READ_ONCE(rtsp_unloading))
		return;
	hn = net_generic(net, rtsp_ha_net_id);
	/* ctnetlink (CAP_NET_ADMIN): after the last of a commit's entries. */
	if (commit) {
		mod_delayed_work(system_wq, &hn->sweep, RTSP_HA_SWEEP_DELAY);
		return;
	}
	/* A LAN client: never put off, and not more than once in a while. */
	last = READ_ONCE(hn->last);
	if (last && time_before(jiffies, last + RTSP_HA_DATA_INTERVAL))
		return;
	WRITE_ONCE(hn->last, jiffies);
	queue_delayed_work(system_wq, &hn->sweep, RTSP_HA_SWEEP_DELAY);
}

static int rtsp_from_nlattr(struct nlattr *attr, struct nf_conn *ct)
{
	rtsp_ha_request(nf_ct_net(ct), true);
	return 0;
}

static int __net_init rtsp_ha_net_init(struct net *net)
{
	struct rtsp_ha_net *hn = net_generic(net, rtsp_ha_net_id);

	hn->net = net;
	INIT_DELAYED_WORK(&hn->sweep, rtsp_ha_sweep);
	return 0;
}

static void __net_exit rtsp_ha_net_exit(struct net *net)
{
	struct rtsp_ha_net *hn = net_generic(net, rtsp_ha_net_id);

	cancel_delayed_work_sync(&hn->sweep);
}

static struct pernet_operations rtsp_ha_net_ops = {
	.init	= rtsp_ha_net_init,
	.exit	= rtsp_ha_net_exit,
	.id	= &rtsp_ha_net_id,
	.size	= sizeof(struct rtsp_ha_net),
};

/*
 * The IPv4 and IPv6 helpers of the @i-th port: "rtsp" on 554,
 * "rtsp-<i>" on another port.
 */
static void __init rtsp_helper_pair_init(unsigned int i, u16 port)
{
	struct nf_conntrack_helper *h = &rtsp_helpers[2 * i];
	char name[NF_CT_HELPER_NAME_LEN] = RTSP_HELPER_NAME;

	if (port != RTSP_PORT)
		snprintf(name, sizeof(name), "%s-%u", RTSP_HELPER_NAME, i);
	nf_ct_helper_init(&h[0], AF_INET, IPPROTO_TCP, name, rtsp_exp_policy,
			  RTSP_EXPECT_CLASS_MAX, rtsp_help, NULL, THIS_MODULE);
	nf_ct_helper_init(&h[1], AF_INET6, IPPROTO_TCP, name, rtsp_exp_policy,
			  RTSP_EXPECT_CLASS_MAX, rtsp_help, NULL, THIS_MODULE);
	h[0].destroy = rtsp_destroy;
	h[1].destroy = rtsp_destroy;
	h[0].from_nlattr = rtsp_from_nlattr;
	h[1].from_nlattr = rtsp_from_nlattr;
	rtsp_helpers_c += 2;
}

static struct pernet_operations rtsp_net_ops;
static void rtsp_quiesce(bool registered);

/* The records left (of the initial namespace): nothing looks at them. */
static void rtsp_orphans_free(void)
{
	struct rtsp_orphan *o;
	struct hlist_node *tmp;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rtsp_orphans); i++)
		hlist_for_each_entry_safe(o, tmp, &rtsp_orphans[i], node)
			kfree(o);
}

static int __init nf_conntrack_rtsp_init(void)
{
	char names[(RTSP_MAX_PORTS + 1) * 32];
	bool has_default = false;
	unsigned int i, len = 0;
	int ret;

	BUILD_BUG_ON(ARRAY_SIZE(rtsp_exp_policy) != RTSP_EXPECT_CLASS_MAX + 1 ||
		     ARRAY_SIZE(rtsp_exp_policy) > NF_CT_MAX_EXPECT_CLASSES);
	BUILD_BUG_ON(sizeof(struct nf_ct_rtsp_master) >
		     sizeof_field(struct nf_conn_help, data));

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
	if (!host_prefix6 || host_prefix6 > 128) {
		pr_err("host_prefix6=%u: must be 1..128\n", host_prefix6);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(rtsp_exp_policy); i++) {
		rtsp_exp_policy[i].max_expected = max_outstanding;
		rtsp_exp_policy[i].timeout = setup_timeout;
		if (i & RTSP_EXPECT_CLASS_REARM)
			rtsp_exp_policy[i].timeout = min(setup_timeout,
							 RTSP_REARM_TIMEOUT);
	}
	rtsp_hosts_seed = get_random_u32();
	for (i = 0; i < ARRAY_SIZE(rtsp_hosts); i++)
		spin_lock_init(&rtsp_hosts[i].lock);

	if (ports_c == 0)
		ports[ports_c++] = RTSP_PORT;

	for (i = 0; i < ports_c; i++) {
		if (!ports[i]) {
			pr_err("ports: 0 is not a port\n");
			return -EINVAL;
		}
		has_default |= ports[i] == RTSP_PORT;
		rtsp_helper_pair_init(i, ports[i]);
	}
	/*
	 * As in rtsp-linux, a port other than 554 gets "rtsp-<index>"; the
	 * rules attach "rtsp" (on whatever port they name): it always exists.
	 */
	if (!has_default)
		rtsp_helper_pair_init(ports_c, RTSP_PORT);

	rtsp_bounce = alloc_percpu(struct rtsp_bounce);
	if (!rtsp_bounce)
		return -ENOMEM;
	ret = register_pernet_subsys(&rtsp_net_ops);
	if (ret < 0) {
		free_percpu(rtsp_bounce);
		return ret;
	}
	ret = register_pernet_subsys(&rtsp_ha_net_ops);
	if (ret < 0) {
		unregister_pernet_subsys(&rtsp_net_ops);
		free_percpu(rtsp_bounce);
		return ret;
	}
	ret = nf_conntrack_helpers_register(rtsp_helpers, rtsp_helpers_c,
					    rtsp_registered);
	if (ret < 0) {
		pr_err("failed to register helpers: %d\n", ret);
		/* Those registered for a while may have made state. */
		rtsp_quiesce(false);
		unregister_pernet_subsys(&rtsp_net_ops);
		rcu_barrier();
		rtsp_orphans_free();
		free_percpu(rtsp_bounce);
		return ret;
	}
	for (i = 0; i < rtsp_helpers_c / 2; i++)
		len += scnprintf(names + len, sizeof(names) - len,
				 "%s\"%s\" on port %u", i ? ", " : "",
				 rtsp_helpers[2 * i].name,
				 i < ports_c ? ports[i] : RTSP_PORT);
	pr_info("helper %s, media_source=%s\n", names, media_source);
	return 0;
}

/*
 * Release the state of connections that still have our helper, as their
 * ->destroy would (under a conntrack hash lock: through the work item).
 * No packet uses the state any more (rtsp_unloading).
 */
static int rtsp_unload_iter(struct nf_conn *ct, void *data)
{
	const struct nf_conntrack_helper *helper;
	struct nf_conn_help *help = nfct_help(ct);

	if (!help)
		return 0;
	helper = rcu_dereference_raw(help->helper);
	if (helper && helper->me == THIS_MODULE)
		rtsp_destroy(ct);
	return 0;
}

/* Then those left behind by connections that lost our helper. */
static void rtsp_conns_drain(void)
{
	struct rtsp_conn *conn;

	for (;;) {
		rcu_read_lock();
		local_bh_disable();
		spin_lock(&rtsp_conns_lock);
		conn = hlist_entry_safe(rtsp_conns.first, struct rtsp_conn,
					all);
		if (conn)
			rtsp_conn_unlink(conn);
		spin_unlock(&rtsp_conns_lock);
		if (conn)
			rtsp_conn_release(conn, false);
		local_bh_enable();
		rcu_read_unlock();
		if (!conn)
			break;
		cond_resched();
	}
}

/*
 * Network namespaces go: the state their conntracks left behind holds
 * references to them (the kernel waits for them all to be freed), and
 * their orphan records would never be looked at again.  The conntracks
 * that still have our helper release theirs through ->destroy.  One pass
 * for the whole batch (any dying namespace's: check_net()).
 */
#define RTSP_EXIT_CHUNK		64

static void __net_exit rtsp_net_exit_batch(struct list_head *net_exit_list)
{
	struct hlist_node *n, *last = NULL;
	struct rtsp_conn *conn;
	struct rtsp_orphan *o;
	HLIST_HEAD(stale);
	HLIST_HEAD(seen);
	unsigned int i, k = 0;

	/*
	 * A state taken here is ours to release (->freeing), so its node
	 * (shared with the rcu_head) is ours to put on @stale.  The others
	 * wait on @seen, still listed, while the lock is let go now and
	 * then: a release takes them off wherever they are.
	 */
	mutex_lock(&rtsp_conns_walk);
	spin_lock_bh(&rtsp_conns_lock);
	while ((conn = hlist_entry_safe(rtsp_conns.first, struct rtsp_conn,
					all))) {
		rcu_read_lock();
		if (!check_net(nf_ct_net(conn->ct)) && rtsp_conn_stale(conn) &&
		    !cmpxchg(&conn->freeing, 0, 1)) {
			rtsp_conn_unlink(conn);
			hlist_add_head(&conn->all, &stale);
		} else {
			rtsp_gc_pass(conn);
			hlist_del(&conn->all);
			hlist_add_head(&conn->all, &seen);
		}
		rcu_read_unlock();
		if (++k % RTSP_EXIT_CHUNK == 0) {
			spin_unlock_bh(&rtsp_conns_lock);
			cond_resched();
			spin_lock_bh(&rtsp_conns_lock);
		}
	}
	/* @seen back in front (a release may have taken some meanwhile). */
	hlist_for_each(n, &seen)
		last = n;
	if (last) {
		last->next = rtsp_conns.first;
		if (last->next)
			last->next->pprev = &last->next;
		rtsp_conns.first = seen.first;
		seen.first->pprev = &rtsp_conns.first;
	}
	spin_unlock_bh(&rtsp_conns_lock);
	mutex_unlock(&rtsp_conns_walk);
	hlist_for_each_entry_safe(conn, n, &stale, all) {
		rcu_read_lock();
		local_bh_disable();
		rtsp_conn_forget(conn);
		rtsp_conn_release_rest(conn, false);
		local_bh_enable();
		rcu_read_unlock();
		cond_resched();
	}

	for (i = 0; i < ARRAY_SIZE(rtsp_orphans); i++) {
		spin_lock_bh(&rtsp_ports_lock);
		hlist_for_each_entry_safe(o, n, &rtsp_orphans[i], node)
			if (!check_net(read_pnet(&o->net)))
				rtsp_orphan_del(o);
		spin_unlock_bh(&rtsp_ports_lock);
	}
}

static struct pernet_operations rtsp_net_ops = {
	.exit_batch = rtsp_net_exit_batch,
	.id = &rtsp_net_id,
	.size = sizeof(struct rtsp_net),
};

static bool rtsp_exp_is_ours(struct nf_conntrack_expect *exp, void *data)
{
	return exp->expectfn == nf_ct_rtsp_media_started;
}

/*
 * No new per-connection state or expectation once the readers have seen
 * the flag; then none is left, nor work.  Our helpers are still
 * registered (@registered), or the failed registration took them back.
 */
static void rtsp_quiesce(bool registered)
{
	unsigned int i;

	WRITE_ONCE(rtsp_unloading, true);
	synchronize_rcu();
	/* Nothing queues it once the flag is seen. */
	cancel_delayed_work_sync(&rtsp_gc_work);
	/* No sweep adopts an expectation after this (rtsp_from_nlattr()). */
	unregister_pernet_subsys(&rtsp_ha_net_ops);
	nf_ct_expect_iterate_destroy(rtsp_exp_is_ours, NULL);
	nf_ct_iterate_destroy(rtsp_unload_iter, NULL);
	flush_work(&rtsp_release_work);
	/* Not while a namespace's exit holds some off the list. */
	mutex_lock(&rtsp_conns_walk);
	rtsp_conns_drain();
	mutex_unlock(&rtsp_conns_walk);
	/*
	 * The kernel's copy of a helper outlives the module with the
	 * connections that use it, and nf_ct_helper_destroy() would still
	 * call its ->destroy: take ours out before the module goes (then
	 * wait for RCU).  nf_ct_helper_destroy() reads ->destroy twice,
	 * with plain loads: a NULL stored between them would be called.  So
	 * put in a kernel function of the same type that is harmless there:
	 * the kernel removes a dying connection's expectations right after
	 * ->destroy anyway.
	 */
	for (i = 0; registered && i < rtsp_helpers_c; i++)
		WRITE_ONCE(rtsp_registered[i]->destroy,
			   nf_ct_remove_expectations);
	synchronize_rcu();
	/* Releases ->destroy queued before it was forgotten. */
	flush_work(&rtsp_release_work);
}

static void __exit nf_conntrack_rtsp_fini(void)
{
	/*
	 * The kernel removes a helper's expectations before it detaches the
	 * helper from the connections: one a packet made in between would
	 * outlive us.  rtsp_quiesce() removes ours first, by their expectfn.
	 */
	rtsp_quiesce(true);
	unregister_pernet_subsys(&rtsp_net_ops);
	nf_conntrack_helpers_unregister(rtsp_registered, rtsp_helpers_c);
	rcu_barrier();
	free_percpu(rtsp_bounce);
	rtsp_orphans_free();
}

module_init(nf_conntrack_rtsp_init);
module_exit(nf_conntrack_rtsp_fini);

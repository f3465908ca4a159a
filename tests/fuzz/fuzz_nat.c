// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for rtsp_nat_plan.c, driven by rtsp_parse.c, against
 * a model of the router's port table.
 *
 * Input: a header of HDR_LEN bytes, then a stream of RTSP messages, each
 * one after a control byte.
 *
 *   header[0]     port range: 0 default [1024, 65535], 1 narrow (from
 *                 header[1..3]), 2 one port, 3 raw and possibly hostile
 *                 (lo = header[1..2], hi = header[3..4], as is)
 *   header[5]     bits 0-1: destination action (0 and 3 auto, 1 strip,
 *                 2 none); bit 2: IPv6 router address; bit 3: the longest
 *                 IPv6 text
 *   header[6]     hosts (1 + % 4); connection c belongs to host c % hosts
 *   header[7]     ports a host may hold (0: no limit); over it, the claim
 *                 fails with -EMFILE, which nf_rtsp_choose_port must return
 *   header[8..11] random seed
 *   control byte  connection (% CONNS); bit 7: that connection closes
 *                 first, freeing all ports of all its sessions
 *
 * Each SETUP gets, for each spec the kernel would handle (UDP unicast, not
 * interleaved, with client ports), a router port from nf_rtsp_choose_port()
 * whose claim() consults the model, then the plan of its edits; the plan
 * is applied and the result parsed again.  A TEARDOWN frees the ports of
 * its session.  Invariant failures abort().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtsp_nat_plan.h"

#define ASSERT(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define HDR_LEN		12
#define CONNS		4
#define OWNERS		32
#define OWNER_PORTS	64
#define SESS_MAX	32
#define MAX_SPECS	24
#define EMFILE_ERR	(-24)

/* One session of one connection: the holder of router ports. */
struct owner {
	bool used;
	u8 conn;
	u8 sess_len;
	char sess[SESS_MAX];
	u32 n;			/* ports it holds in the table */
	u16 port[OWNER_PORTS];
};

struct model {
	struct rtsp_port_range r;
	u8 owner_of[65536];	/* owner index + 1, 0: free */
	struct owner owner[OWNERS];
	u32 host_ports[CONNS];
	u32 hosts;
	u32 quota;
	u32 seed;
	/* The claim in progress. */
	u32 cur;		/* owner index */
	int step;
	u32 claims_ok;
	u16 claimed;
};

static struct model M;

static u32 host_of(u32 conn)
{
	return conn % M.hosts;
}

static void take(u32 port, u32 o)
{
	struct owner *w = &M.owner[o];

	ASSERT(port <= 65535 && !M.owner_of[port]);
	ASSERT(w->used && w->n < OWNER_PORTS);
	M.owner_of[port] = (u8)(o + 1);
	w->port[w->n++] = (u16)port;
	M.host_ports[host_of(w->conn)]++;
}

/* Give back one port of the owner of @port. */
static void release(u32 port)
{
	struct owner *w;
	u32 i;

	ASSERT(port <= 65535 && M.owner_of[port]);
	w = &M.owner[M.owner_of[port] - 1];
	M.owner_of[port] = 0;
	for (i = 0; i < w->n && w->port[i] != port; i++)
		;
	ASSERT(i < w->n);
	w->port[i] = w->port[--w->n];
	ASSERT(M.host_ports[host_of(w->conn)] > 0);
	M.host_ports[host_of(w->conn)]--;
}

static int claim(void *ctx, u16 port)
{
	struct model *m = ctx;
	long long q = (long long)port + m->step;
	struct owner *w = &m->owner[m->cur];
	u32 need = q == port ? 1 : 2;

	/* nf_rtsp_choose_port only offers ports that fit. */
	ASSERT(port >= m->r.lo && port <= m->r.hi);
	ASSERT(q >= m->r.lo && q <= m->r.hi);
	if (m->owner_of[port] || m->owner_of[q])
		return 1;
	if ((m->quota && m->host_ports[host_of(w->conn)] + need > m->quota) ||
	    w->n + need > OWNER_PORTS)
		return EMFILE_ERR;
	take(port, m->cur);
	if (q != port)
		take((u32)q, m->cur);
	m->claims_ok++;
	m->claimed = port;
	return 0;
}

static u32 rnd(void *ctx)
{
	struct model *m = ctx;

	m->seed ^= m->seed << 13;
	m->seed ^= m->seed >> 17;
	m->seed ^= m->seed << 5;
	return m->seed;
}

/* Every owner's ports are marked as its own, and the host counts add up. */
static void check_owners(void)
{
	u32 hosts[CONNS] = { 0 };
	u32 o, i;

	for (o = 0; o < OWNERS; o++) {
		if (!M.owner[o].used) {
			ASSERT(!M.owner[o].n);
			continue;
		}
		for (i = 0; i < M.owner[o].n; i++)
			ASSERT(M.owner_of[M.owner[o].port[i]] == o + 1);
		hosts[host_of(M.owner[o].conn)] += M.owner[o].n;
	}
	for (o = 0; o < CONNS; o++)
		ASSERT(hosts[o] == M.host_ports[o]);
}

/*
 * The whole table, when every connection has closed: no port marked.
 * (A run leaves it empty, so the next one starts from a clean table.)
 */
static void check_table_empty(void)
{
	static const u8 zero[65536];

	ASSERT(!memcmp(M.owner_of, zero, sizeof(zero)));
}

/* Free every port of owner @o, and only those, and the owner itself. */
static void free_owner(u32 o)
{
	struct owner *w = &M.owner[o];
	u16 gone[OWNER_PORTS];
	u32 i, n = w->n;

	memcpy(gone, w->port, n * sizeof(gone[0]));
	while (w->n)
		release(w->port[0]);
	for (i = 0; i < n; i++)
		ASSERT(!M.owner_of[gone[i]]);
	w->used = false;
	check_owners();
}

static int find_owner(u32 conn, const char *s, u32 len)
{
	u32 o;

	for (o = 0; o < OWNERS; o++)
		if (M.owner[o].used && M.owner[o].conn == conn &&
		    M.owner[o].sess_len == len &&
		    !memcmp(M.owner[o].sess, s, len))
			return (int)o;
	return -1;
}

static int new_owner(u32 conn, const char *s, u32 len)
{
	u32 o;

	for (o = 0; o < OWNERS; o++) {
		if (M.owner[o].used)
			continue;
		M.owner[o].used = true;
		M.owner[o].conn = (u8)conn;
		M.owner[o].sess_len = (u8)len;
		memcpy(M.owner[o].sess, s, len);
		M.owner[o].n = 0;
		return (int)o;
	}
	return -1;
}

static void close_conn(u32 conn)
{
	u32 o;

	for (o = 0; o < OWNERS; o++)
		if (M.owner[o].used && M.owner[o].conn == conn)
			free_owner(o);
}

/* ---- checking a rewritten message ---- */

struct specs {
	u32 n;
	int rc[MAX_SPECS];
	struct rtsp_tspec t[MAX_SPECS];
};

/* What a handled spec should read after the rewrite. */
struct expect {
	bool handled;
	u16 lo, hi;
	char dest[RTSP_EDIT_MAX];
	int dest_len;		/* -1: as before, -2: stripped */
};

static void specs_of(const char *buf, struct rtsp_span val, struct specs *s)
{
	u32 pos = 0;
	int rc;

	s->n = 0;
	while (s->n < MAX_SPECS && val.len) {
		rc = nf_rtsp_transport_next(buf, val, &pos, &s->t[s->n]);
		if (!rc)
			break;
		s->rc[s->n++] = rc;
	}
}

static bool same_text(const char *a, struct rtsp_span sa, const char *b,
		      struct rtsp_span sb)
{
	return sa.len == sb.len && !memcmp(a + sa.off, b + sb.off, sa.len);
}

static void same_ports(const struct rtsp_ports *a, const char *abuf,
		       const struct rtsp_ports *b, const char *bbuf)
{
	ASSERT(a->lo == b->lo && a->hi == b->hi && a->sep == b->sep);
	ASSERT(same_text(abuf, a->val, bbuf, b->val));
}

/* The harness's own reading of "has a port", to check the library's. */
static bool oracle_has_port(const char *v, u32 len)
{
	u32 i, colons = 0;

	if (len && v[0] == '[') {
		for (i = 1; i < len; i++)
			if (v[i] == ']')
				return i + 1 < len && v[i + 1] == ':';
		return false;
	}
	for (i = 0; i < len; i++)
		colons += v[i] == ':';
	return colons == 1;
}

static void check_rewrite(const char *in, const struct rtsp_msg *m0,
			  const struct specs *s0, const struct expect *x,
			  const struct rtsp_plan *p)
{
	static struct specs s1;
	static char out[(1 << 16) + 1024];
	struct rtsp_msg m1;
	const struct rtsp_edit *e;
	u32 i, ipos = 0, opos = 0, gap;
	int n;

	if (m0->len > (1 << 16))
		return;
	n = nf_rtsp_plan_apply(p, in, m0->len, out, sizeof(out));
	ASSERT(n >= 0);
	ASSERT((long long)n == (long long)m0->len + p->delta);
	if (n)
		ASSERT(nf_rtsp_plan_apply(p, in, m0->len, out, (u32)n - 1) == -1);

	/* Bytes outside the edits, and the edits, where they should be. */
	for (i = 0; i < p->n; i++) {
		e = &p->edit[i];
		ASSERT(e->off >= ipos);
		ASSERT(e->off >= m0->transport.off &&
		       e->off + e->len <= m0->transport.off +
					  m0->transport.len);
		gap = e->off - ipos;
		ASSERT(!memcmp(in + ipos, out + opos, gap));
		opos += gap;
		ASSERT(!memcmp(out + opos, e->rep, e->rep_len));
		opos += e->rep_len;
		ipos = e->off + e->len;
	}
	ASSERT(m0->len - ipos == (u32)n - opos);
	ASSERT(!memcmp(in + ipos, out + opos, m0->len - ipos));

	/* The same message, but for the ports and destinations. */
	ASSERT(nf_rtsp_parse_msg(out, (u32)n, &m1) == RTSP_PARSE_OK);
	ASSERT(m1.len == (u32)n);
	ASSERT(m1.type == m0->type && m1.method == m0->method);
	ASSERT(m1.status == m0->status);
	ASSERT(m1.content_length == m0->content_length);
	ASSERT(m1.n_transport == m0->n_transport);
	ASSERT(same_text(in, m0->cseq, out, m1.cseq));
	ASSERT(same_text(in, m0->session, out, m1.session));
	specs_of(out, m1.transport, &s1);
	ASSERT(s1.n == s0->n);
	for (i = 0; i < s0->n; i++) {
		const struct rtsp_tspec *a = &s0->t[i], *b = &s1.t[i];

		ASSERT(s0->rc[i] == s1.rc[i]);
		if (s0->rc[i] != 1)
			continue;
		ASSERT(a->lower == b->lower && a->cast == b->cast);
		ASSERT(a->interleaved == b->interleaved);
		same_ports(&a->server, in, &b->server, out);
		ASSERT(same_text(in, a->source, out, b->source));
		ASSERT(same_text(in, a->mode, out, b->mode));
		ASSERT(a->client.sep == b->client.sep);
		if (!x[i].handled) {
			same_ports(&a->client, in, &b->client, out);
			ASSERT(same_text(in, a->destination, out,
					 b->destination));
			ASSERT(same_text(in, a->destination_param, out,
					 b->destination_param));
			continue;
		}
		ASSERT(b->client.lo == x[i].lo && b->client.hi == x[i].hi);
		if (a->client.lo == x[i].lo && a->client.hi == x[i].hi)
			same_ports(&a->client, in, &b->client, out);
		if (x[i].dest_len == -2) {
			ASSERT(!b->destination.len);
			ASSERT(!b->destination_param.len);
		} else if (x[i].dest_len == -1) {
			ASSERT(same_text(in, a->destination, out,
					 b->destination));
			ASSERT(same_text(in, a->destination_param, out,
					 b->destination_param));
		} else {
			ASSERT(b->destination.len == (u32)x[i].dest_len);
			ASSERT(!memcmp(out + b->destination.off, x[i].dest,
				       x[i].dest_len));
		}
	}
}

/* ---- one message ---- */

static enum rtsp_dest_action act;
static const char *addr;
static bool v6;

/* What destination= of @t should read: into @x. */
static void expect_dest(const char *msg, const struct rtsp_tspec *t, u16 lo,
			struct expect *x)
{
	char num[8];
	int k;

	x->dest_len = -1;
	if (act == RTSP_DEST_STRIP && t->destination_param.len) {
		x->dest_len = -2;
	} else if (act == RTSP_DEST_AUTO && t->destination.len) {
		if (oracle_has_port(msg + t->destination.off,
				    t->destination.len)) {
			k = snprintf(num, sizeof(num), "%u", lo);
			x->dest_len = snprintf(x->dest, sizeof(x->dest),
					       v6 ? "[%s]:%.*s" : "%s:%.*s",
					       addr, k, num);
		} else {
			x->dest_len = snprintf(x->dest, sizeof(x->dest), "%s",
					       addr);
		}
		ASSERT(x->dest_len > 0 &&
		       (u32)x->dest_len <= RTSP_EDIT_MAX);
	}
}

static bool plan_same(const struct rtsp_plan *a, const struct rtsp_plan *b)
{
	return a->n == b->n && a->delta == b->delta &&
	       !memcmp(a->edit, b->edit, a->n * sizeof(a->edit[0]));
}

static void setup(const char *msg, const struct rtsp_msg *m, u32 conn)
{
	static struct specs s;
	static struct expect x[MAX_SPECS];
	static struct rtsp_plan plan, before;
	const struct rtsp_tspec *t;
	u32 i, claims;
	int o, rc, step;
	u16 port, lo, hi;

	o = find_owner(conn, msg + m->session.off, m->session.len);
	if (o < 0 && m->session.len <= SESS_MAX)
		o = new_owner(conn, msg + m->session.off, m->session.len);

	specs_of(msg, m->transport, &s);
	rtsp_plan_init(&plan);
	for (i = 0; i < s.n; i++) {
		t = &s.t[i];
		x[i].handled = false;
		if (s.rc[i] != 1 || t->lower != RTSP_LOWER_UDP ||
		    t->cast == RTSP_CAST_MULTICAST || t->interleaved ||
		    !t->client.lo)
			continue;
		lo = t->client.lo;
		hi = t->client.hi;
		step = (int)hi - (int)lo;
		port = 0;
		rc = -1;
		if (o >= 0) {
			M.cur = (u32)o;
			M.step = step;
			claims = M.claims_ok;
			rc = nf_rtsp_choose_port(&M.r, lo, step,
						 t->client.sep == '-',
						 RTSP_NAT_ATTEMPTS, claim, rnd,
						 &M, &port);
			ASSERT(rc == 0 || rc == -1 || rc == EMFILE_ERR);
			ASSERT(M.claims_ok == claims + (rc == 0));
		}
		if (!rc) {
			/* Ours, in range, and the one claim() took. */
			ASSERT(port == M.claimed);
			ASSERT(port >= M.r.lo && port <= M.r.hi);
			ASSERT(port + step >= M.r.lo && port + step <= M.r.hi);
			ASSERT(M.owner_of[port] == o + 1);
			ASSERT(M.owner_of[port + step] == o + 1);
			lo = port;
			hi = (u16)(port + step);
		}
		before = plan;
		if (nf_rtsp_plan_spec(&plan, msg, m->len, t, lo, hi, act, addr,
				      (u32)strlen(addr), v6)) {
			ASSERT(plan_same(&plan, &before));
			/* The kernel gives the ports back. */
			if (!rc) {
				release(port);
				if (step)
					release(port + step);
			}
			continue;
		}
		x[i].handled = true;
		x[i].lo = lo;
		x[i].hi = hi;
		expect_dest(msg, t, lo, &x[i]);
	}
	for (; i < MAX_SPECS; i++)
		x[i].handled = false;
	check_rewrite(msg, m, &s, x, &plan);
	check_owners();
}

static void teardown(const char *msg, const struct rtsp_msg *m, u32 conn)
{
	int o = find_owner(conn, msg + m->session.off, m->session.len);

	if (o >= 0)
		free_owner((u32)o);
}

static void header(const unsigned char *h)
{
	u32 lo, hi;

	/* The table is empty after every run: clear the rest. */
	memset(M.owner, 0, sizeof(M.owner));
	memset(M.host_ports, 0, sizeof(M.host_ports));
	M.claims_ok = 0;
	switch (h[0] % 4) {
	case 0:
		lo = 1024;
		hi = 65535;
		break;
	case 1:
		lo = 1024 + ((u32)h[1] << 8 | h[2]) % 64512;
		hi = lo + h[3] % 40;
		if (hi > 65535)
			hi = 65535;
		break;
	case 2:
		lo = 1024 + ((u32)h[1] << 8 | h[2]) % 64512;
		hi = lo;
		break;
	default:
		lo = (u32)h[1] << 8 | h[2];
		hi = (u32)h[3] << 8 | h[4];
		break;
	}
	M.r.lo = (u16)lo;
	M.r.hi = (u16)hi;
	act = (enum rtsp_dest_action)((h[5] & 3) % 3);
	v6 = h[5] & 4;
	addr = !v6 ? "10.214.10.20" : (h[5] & 8) ?
	       "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" :
	       "2001:db8:1::20";
	M.hosts = 1 + h[6] % 4;
	M.quota = h[7];
	M.seed = ((u32)h[8] << 24 | (u32)h[9] << 16 | (u32)h[10] << 8 | h[11]) |
		 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *buf = (const char *)data;
	struct rtsp_msg m;
	u32 off = HDR_LEN, len = (u32)size, conn, o;
	unsigned char ctl;

	if (size < HDR_LEN || size > (1U << 20))
		return 0;
	header(data);

	while (off < len) {
		ctl = data[off++];
		conn = ctl % CONNS;
		if (ctl & 0x80)
			close_conn(conn);
		if (nf_rtsp_parse_msg(buf + off, len - off, &m) != RTSP_PARSE_OK)
			break;
		if (m.type == RTSP_MSG_REQUEST &&
		    m.method == RTSP_METHOD_SETUP && m.transport.len)
			setup(buf + off, &m, conn);
		else if (m.type == RTSP_MSG_REQUEST &&
			 m.method == RTSP_METHOD_TEARDOWN)
			teardown(buf + off, &m, conn);
		off += m.len;
	}

	/* Every connection closes: the table ends empty. */
	check_owners();
	for (conn = 0; conn < CONNS; conn++)
		close_conn(conn);
	for (o = 0; o < OWNERS; o++)
		ASSERT(!M.owner[o].used);
	for (o = 0; o < CONNS; o++)
		ASSERT(!M.host_ports[o]);
	check_table_empty();
	return 0;
}

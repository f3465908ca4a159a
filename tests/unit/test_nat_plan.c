// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for rtsp_nat_plan.c: port candidates (exhaustively over the
 * wanted port, for ordinary and hostile steps and ranges), the choice of a
 * port against a model port table, and message edit plans checked by
 * parsing the rewritten message again.  Build with AddressSanitizer and
 * UBSan: every message lives in a heap block of exactly its length.
 */
#include <limits.h>
#include <time.h>

#include "rtsp_nat_plan.h"
#include "unit.h"

/* ---- port candidates ---- */

static const struct rtsp_port_range range_default = { 1024, 65535 };
static const struct rtsp_port_range range_narrow = { 20000, 20009 };
static const struct rtsp_port_range range_one = { 40000, 40000 };
static const struct rtsp_port_range range_one_odd = { 40001, 40001 };

/* The first ports that fit, worked out the slow and obvious way. */
struct fit {
	long long lo, hi;	/* p and p + step in the range: [lo, hi] */
	bool any;
	bool any_even;
};

static struct fit fit_of(const struct rtsp_port_range *r, long long step)
{
	struct fit f;

	f.lo = r->lo > r->lo - step ? r->lo : r->lo - step;
	f.hi = r->hi < r->hi - step ? r->hi : r->hi - step;
	f.any = r->lo && r->lo <= r->hi && f.lo <= f.hi;
	f.any_even = f.any && (f.lo % 2 == 0 || f.lo + 1 <= f.hi);
	return f;
}

static long cand_calls;
static char cand_err[256];

/*
 * Check one candidate against the contract; on failure, describe it in
 * cand_err (the first one only) and return false.
 */
static bool cand_ok(const struct rtsp_port_range *r, const struct fit *f,
		    u16 want, int step, bool even, u32 attempt, u32 rnd)
{
	u16 c = nf_rtsp_port_candidate(r, want, step, even, attempt, rnd);
	const char *why = NULL;
	long long base, near;

	cand_calls++;
	if (!f->any) {
		if (c)
			why = "a port when none fits";
	} else if (!c) {
		why = "0 when a port fits";
	} else if (c < f->lo || c > f->hi) {
		why = "port or port + step outside the range";
	} else if (!attempt && want >= f->lo && want <= f->hi) {
		if (c != want)
			why = "attempt 0 is not the wanted port that fits";
	} else if (even && f->any_even) {
		if (c & 1)
			why = "odd with even ports available";
	} else if (even && c != f->lo) {
		why = "no even port: not the only one that fits";
	}
	/* A neighbour that needs no wrapping is the plain neighbour. */
	if (!why && attempt && attempt < RTSP_NAT_NEAR &&
	    (!even || f->any_even)) {
		base = even ? (want & ~1) : want;
		near = base + (long long)attempt * (even ? 2 : 1);
		if (near >= f->lo && near <= f->hi && c != near)
			why = "not the plain neighbour";
	}
	if (!why)
		return true;
	if (!cand_err[0])
		snprintf(cand_err, sizeof(cand_err),
			 "[%u,%u] want %u step %d even %d attempt %u rnd %#x: %u: %s",
			 r->lo, r->hi, want, step, even, attempt, rnd, c, why);
	return false;
}

#define CHECK_CAND()							\
	do {								\
		if (cand_err[0]) {					\
			unit_fail(__LINE__, "%s", cand_err);		\
			return;						\
		}							\
	} while (0)

static const u32 rnds[] = { 0, 1, 0xffffffffU, 0x80000000U, 0x5bd1e995U };

/* Every attempt up to RTSP_NAT_NEAR + 3; random ones with each rnd. */
static bool cand_all_attempts(const struct rtsp_port_range *r,
			      const struct fit *f, u16 want, int step,
			      bool even)
{
	u32 a, k;

	for (a = 0; a < RTSP_NAT_NEAR; a++)
		if (!cand_ok(r, f, want, step, even, a, 0x12345678U))
			return false;
	for (a = RTSP_NAT_NEAR; a < RTSP_NAT_NEAR + 4; a++)
		for (k = 0; k < sizeof(rnds) / sizeof(rnds[0]); k++)
			if (!cand_ok(r, f, want, step, even, a, rnds[k]))
				return false;
	return true;
}

static const struct {
	int step;
	bool even;
} forms[] = {
	{ 0, false },		/* client_port=N */
	{ 0, true },
	{ 1, true },		/* client_port=N-N+1 */
	{ 1, false },		/* client_port=N/N+1 */
	{ -1, false },		/* client_port=N/N-1 */
	{ 64511, false }, { 64511, true },
	{ 64512, false }, { 64512, true },
	{ -64512, false }, { -64512, true },
	{ 65534, false }, { 65534, true },
	{ -65534, false }, { -65534, true },
	{ 1000, false }, { 1000, true },
	{ -1000, false }, { -1000, true },
};

static void cand_exhaustive(const struct rtsp_port_range *r)
{
	size_t k;
	u32 want;

	cand_err[0] = 0;
	for (k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		struct fit f = fit_of(r, forms[k].step);

		for (want = 1; want <= 65535; want++)
			if (!cand_all_attempts(r, &f, (u16)want,
					       forms[k].step, forms[k].even))
				return;
	}
}

TEST(candidate_every_want_default_range)
{
	cand_exhaustive(&range_default);
	CHECK_CAND();
}

TEST(candidate_every_want_narrow_range)
{
	cand_exhaustive(&range_narrow);
	CHECK_CAND();
}

TEST(candidate_every_want_one_port_ranges)
{
	cand_exhaustive(&range_one);
	CHECK_CAND();
	cand_exhaustive(&range_one_odd);
	CHECK_CAND();
}

TEST(candidate_every_step)
{
	static const u16 wants[] = { 1, 1024, 27336, 65535 };
	static const u32 few[] = { 0, 0xffffffffU };
	struct fit f;
	size_t w, k;
	int step;
	u32 a;

	cand_err[0] = 0;
	for (step = -65534; step <= 65534; step++) {
		f = fit_of(&range_default, step);
		for (w = 0; w < sizeof(wants) / sizeof(wants[0]); w++)
			for (a = 0; a < RTSP_NAT_NEAR + 4; a++)
				for (k = 0; k < 2; k++) {
					if (!cand_ok(&range_default, &f,
						     wants[w], step, k,
						     a, few[a & 1]))
						goto out;
				}
	}
out:
	CHECK_CAND();
}

TEST(candidate_attempt0_is_want)
{
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 27336, 0, false, 0, 0),
		 27336);
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 5001, 1, true, 0, 0),
		 5001);
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 5001, -1, false, 0, 0),
		 5001);
	/* 65535 + 1 does not fit: the even port below does. */
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 65535, 1, true, 0, 0),
		 65534);
	/* Its neighbours wrap round. */
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 65535, 1, true, 1, 0),
		 1024);
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 65535, 0, false, 2, 0),
		 1025);
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 65534, 1, true, 1, 0),
		 1024);
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 5000, 1, true, 1, 0),
		 5002);
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 5001, 1, true, 1, 0),
		 5002);
	CHECK_EQ(nf_rtsp_port_candidate(&range_default, 5000, 0, false, 3, 0),
		 5003);
	/* Below the range: a port inside it. */
	CHECK_EQ(nf_rtsp_port_candidate(&range_narrow, 554, 0, false, 0, 0) /
		 10, 2000);
}

TEST(candidate_nothing_fits)
{
	static const struct rtsp_port_range bad[] = {
		{ 0, 0 }, { 0, 65535 }, { 30000, 29999 }, { 65535, 1 },
	};
	static const int steps[] = {
		INT_MIN, INT_MIN + 1, -65536, -65535, 65535, 65536, INT_MAX,
	};
	size_t k;
	u32 a;

	for (a = 0; a < RTSP_NAT_NEAR + 4; a++) {
		for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			CHECK_EQ(nf_rtsp_port_candidate(&range_default, 1024,
							steps[k], false, a,
							0xffffffffU), 0);
			CHECK_EQ(nf_rtsp_port_candidate(&range_default, 1024,
							steps[k], true, a, 1), 0);
		}
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			CHECK_EQ(nf_rtsp_port_candidate(&bad[k], 30000, 0, false,
							a, 7), 0);
		CHECK_EQ(nf_rtsp_port_candidate(NULL, 30000, 0, false, a, 7), 0);
		CHECK_EQ(nf_rtsp_port_candidate(&range_narrow, 20000, 10, true,
						a, 7), 0);
		CHECK_EQ(nf_rtsp_port_candidate(&range_narrow, 20000, -10, false,
						a, 7), 0);
		CHECK_EQ(nf_rtsp_port_candidate(&range_one, 40000, 1, false,
						a, 7), 0);
		/* The crash of old: client_port=1000-65512. */
		CHECK_EQ(nf_rtsp_port_candidate(&range_default, 1000, 64512, true,
						a, 7), 0);
	}
	/* The widest pair that fits has exactly one place. */
	for (a = 0; a < RTSP_NAT_NEAR + 4; a++) {
		CHECK_EQ(nf_rtsp_port_candidate(&range_default, 1000, 64511, true,
						a, 0xdeadbeefU), 1024);
		CHECK_EQ(nf_rtsp_port_candidate(&range_default, 1000, -64511,
						false, a, 3), 65535);
		/* No even port: the odd one (documented fallback). */
		CHECK_EQ(nf_rtsp_port_candidate(&range_one_odd, 1, 0, true, a,
						3), 40001);
	}
}

TEST(candidate_random_covers_range)
{
	static unsigned char seen[65536];
	u32 k, n = 0;
	u16 c;

	memset(seen, 0, sizeof(seen));
	for (k = 0; k < 65536; k++) {
		c = nf_rtsp_port_candidate(&range_default, 5000, 1, true,
					   RTSP_NAT_NEAR, k);
		CHECK(c >= 1024 && c <= 65534 && !(c & 1));
		n += !seen[c];
		seen[c] = 1;
	}
	/* The even ports 1024..65534, each one reachable. */
	CHECK_EQ(n, (65534 - 1024) / 2 + 1);
}

/* ---- nf_rtsp_choose_port against a model port table ---- */

struct table {
	unsigned char taken[65536];
	struct rtsp_port_range r;
	int step;
	int err;		/* claim returns this when non-zero */
	u32 claims;
	u32 rnds;
	u32 seed;
	u32 fixed;		/* rnd returns this when non-zero */
	bool bad_claim;		/* claim saw a port that does not fit */
};

static int table_claim(void *ctx, u16 port)
{
	struct table *t = ctx;
	long long q = (long long)port + t->step;

	t->claims++;
	if (port < t->r.lo || port > t->r.hi || q < t->r.lo || q > t->r.hi) {
		t->bad_claim = true;
		return -99;
	}
	if (t->err)
		return t->err;
	if (t->taken[port] || t->taken[q])
		return 1;
	t->taken[port] = 1;
	t->taken[q] = 1;
	return 0;
}

static u32 table_rnd(void *ctx)
{
	struct table *t = ctx;

	t->rnds++;
	if (t->fixed)
		return t->fixed;
	t->seed ^= t->seed << 13;
	t->seed ^= t->seed >> 17;
	t->seed ^= t->seed << 5;
	return t->seed;
}

static struct table *table_new(const struct rtsp_port_range *r, int step)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	t->r = *r;
	t->step = step;
	t->seed = 2463534242U;
	return t;
}

static int choose(struct table *t, u16 want, bool even, u16 *port)
{
	return nf_rtsp_choose_port(&t->r, want, t->step, even, RTSP_NAT_ATTEMPTS,
				   table_claim, table_rnd, t, port);
}

TEST(choose_wanted_port_when_free)
{
	struct table *t = table_new(&range_default, 1);
	u16 port = 0;

	CHECK_EQ(choose(t, 5000, true, &port), 0);
	CHECK_EQ(port, 5000);
	CHECK_EQ(t->claims, 1);
	CHECK_EQ(t->rnds, 0);
	CHECK(t->taken[5000] && t->taken[5001]);
	free(t);
}

TEST(choose_neighbour_when_taken)
{
	struct table *t = table_new(&range_default, 1);
	u16 port = 0;

	t->taken[5000] = t->taken[5001] = t->taken[5003] = 1;
	CHECK_EQ(choose(t, 5000, true, &port), 0);
	/* 5002 + 1 is taken: the next even pair. */
	CHECK_EQ(port, 5004);
	CHECK_EQ(t->claims, 3);
	CHECK_EQ(t->rnds, 0);
	/* A second client asking the same port gets the next one. */
	CHECK_EQ(choose(t, 5000, true, &port), 0);
	CHECK_EQ(port, 5006);
	CHECK(!t->bad_claim);
	free(t);
}

TEST(choose_single_port_steps_by_one)
{
	struct table *t = table_new(&range_default, 0);
	u16 port = 0;
	int i;

	for (i = 0; i < 16; i++) {
		CHECK_EQ(choose(t, 27336, false, &port), 0);
		CHECK_EQ(port, 27336 + i);
	}
	CHECK_EQ(t->rnds, 0);
	/* The 17th goes random. */
	CHECK_EQ(choose(t, 27336, false, &port), 0);
	CHECK(port < 27336 || port > 27351);
	CHECK(t->rnds >= 1);
	free(t);
}

TEST(choose_narrow_range_finds_last_free)
{
	struct table *t = table_new(&range_narrow, 1);
	u16 port = 0;
	u32 p;

	for (p = 20000; p <= 20009; p++)
		t->taken[p] = 1;
	t->taken[20008] = t->taken[20009] = 0;
	CHECK_EQ(choose(t, 20000, true, &port), 0);
	CHECK_EQ(port, 20008);
	CHECK_EQ(t->rnds, 0);
	/* Five even ports: five claims, no more. */
	CHECK_EQ(t->claims, 5);
	free(t);
}

TEST(choose_all_taken)
{
	struct table *t = table_new(&range_narrow, 1);
	u16 port = 4242;
	u32 p;

	for (p = 20000; p <= 20009; p++)
		t->taken[p] = 1;
	CHECK_EQ(choose(t, 20000, true, &port), -1);
	CHECK_EQ(port, 4242);
	CHECK(t->claims <= RTSP_NAT_ATTEMPTS);
	CHECK(!t->bad_claim);
	free(t);

	t = table_new(&range_one, 0);
	t->taken[40000] = 1;
	CHECK_EQ(choose(t, 40000, false, &port), -1);
	/* The one candidate, tried once. */
	CHECK_EQ(t->claims, 1);
	free(t);
}

TEST(choose_nothing_fits_or_no_attempts)
{
	struct table *t = table_new(&range_narrow, 10);
	u16 port = 1;

	CHECK_EQ(choose(t, 20000, true, &port), -1);
	CHECK_EQ(t->claims, 0);
	t->step = 1;
	CHECK_EQ(nf_rtsp_choose_port(&t->r, 20000, 1, true, 0, table_claim,
				     table_rnd, t, &port), -1);
	CHECK_EQ(t->claims, 0);
	CHECK_EQ(nf_rtsp_choose_port(&t->r, 20000, 1, true, 5, NULL, table_rnd,
				     t, &port), -1);
	CHECK_EQ(nf_rtsp_choose_port(&t->r, 20000, 1, true, 5, table_claim,
				     table_rnd, t, NULL), -1);
	CHECK_EQ(port, 1);
	free(t);
}

TEST(choose_propagates_errors)
{
	struct table *t = table_new(&range_default, 1);
	u16 port = 7;

	t->err = -12;
	CHECK_EQ(choose(t, 5000, true, &port), -12);
	CHECK_EQ(port, 7);
	CHECK_EQ(t->claims, 1);
	free(t);
}

TEST(choose_random_phase_and_no_rnd)
{
	struct table *t = table_new(&range_default, 1);
	u16 port = 0;
	u32 p;
	int rc;

	/* Every pair taken but 60000/60001. */
	memset(t->taken, 1, sizeof(t->taken));
	t->taken[60000] = t->taken[60001] = 0;
	rc = choose(t, 5000, true, &port);
	CHECK(rc == -1 || port == 60000);
	CHECK(t->rnds <= RTSP_NAT_ATTEMPTS - RTSP_NAT_NEAR);
	CHECK(!t->bad_claim);
	/* A draw that lands on it: the (60000 - 1024) / 2-th even port. */
	t->taken[60000] = t->taken[60001] = 0;
	t->fixed = (60000 - 1024) / 2;
	t->rnds = 0;
	t->claims = 0;
	CHECK_EQ(choose(t, 5000, true, &port), 0);
	CHECK_EQ(port, 60000);
	CHECK_EQ(t->rnds, 1);
	CHECK_EQ(t->claims, RTSP_NAT_NEAR + 1);

	/* Without rnd: a fixed spread, still valid ports. */
	for (p = 1024; p <= 65535; p++)
		t->taken[p] = p % 7 != 0;
	t->rnds = 0;
	CHECK_EQ(nf_rtsp_choose_port(&t->r, 5000, 1, false, RTSP_NAT_ATTEMPTS,
				     table_claim, NULL, t, &port), -1);
	CHECK_EQ(t->rnds, 0);
	CHECK(!t->bad_claim);
	free(t);
}

/* Many clients into a crowded table: never a port already taken. */
TEST(choose_never_returns_taken)
{
	static const int steps[] = { 0, 1, -1, 2, 1000, -1000 };
	static unsigned char before[65536];
	struct table *t;
	u32 i, fills = 0, fails = 0, s;
	u16 port, want;
	bool even;
	int rc;

	for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		t = table_new(&range_narrow, steps[s]);
		t->r.hi = 20199;
		for (i = 0; i < 400; i++) {
			want = (u16)(19990 + table_rnd(t) % 220);
			even = steps[s] == 1 && (i & 1);
			memcpy(before, t->taken, sizeof(before));
			port = 0;
			rc = choose(t, want, even, &port);
			CHECK(rc == 0 || rc == -1);
			CHECK(!t->bad_claim);
			if (rc) {
				fails++;
				CHECK(!memcmp(before, t->taken,
					      sizeof(before)));
				continue;
			}
			fills++;
			CHECK(port >= t->r.lo && port <= t->r.hi);
			CHECK(port + steps[s] >= t->r.lo &&
			      port + steps[s] <= t->r.hi);
			CHECK(!before[port] && !before[port + steps[s]]);
			CHECK(t->taken[port] && t->taken[port + steps[s]]);
			if (even && t->r.hi - t->r.lo > 2)
				CHECK(port == want || !(port & 1));
		}
		free(t);
	}
	CHECK(fills > 100 && fails > 10);
}

/* ---- edit plans ---- */

struct in {
	const char *buf;
	u32 len;
};

static struct in in_of(const char *s, size_t n)
{
	struct in in = { unit_dup(s, n), (u32)n };

	return in;
}

#define IN(lit)		in_of(lit, sizeof(lit) - 1)

static const char router4[] = "10.214.10.20";
static const char router6[] = "2001:db8:1::20";

/* What one spec should read after the rewrite. */
struct want {
	u16 lo, hi;		/* client ports; 0: as before */
	const char *dest;	/* destination value, "": none, NULL: as before */
};

/* The parsed specs of a message, the malformed ones (-1) included. */
#define MAX_SPECS	16

struct specs {
	u32 n;
	int rc[MAX_SPECS];
	struct rtsp_tspec t[MAX_SPECS];
};

static void specs_of(const char *buf, const struct rtsp_msg *m,
		     struct specs *s)
{
	u32 pos = 0;
	int rc;

	s->n = 0;
	if (!m->transport.len)
		return;
	while (s->n < MAX_SPECS) {
		rc = nf_rtsp_transport_next(buf, m->transport, &pos,
					    &s->t[s->n]);
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

static bool text_is(const char *a, struct rtsp_span sa, const char *s)
{
	return sa.len == strlen(s) && !memcmp(a + sa.off, s, sa.len);
}

#define PROP(cond)							\
	do {								\
		if (!(cond)) {						\
			unit_fail(line, "property: %s", #cond);		\
			return false;					\
		}							\
	} while (0)

static bool same_ports(const struct rtsp_ports *a, const char *abuf,
		       const struct rtsp_ports *b, const char *bbuf)
{
	return a->lo == b->lo && a->hi == b->hi && a->sep == b->sep &&
	       same_text(abuf, a->val, bbuf, b->val);
}

/* Spec @a of @in became @b of @out as @w (may be NULL) says. */
static bool check_spec(const char *in, const struct rtsp_tspec *a,
		       const char *out, const struct rtsp_tspec *b,
		       const struct want *w, int line)
{
	PROP(a->lower == b->lower);
	PROP(a->cast == b->cast);
	PROP(a->interleaved == b->interleaved);
	PROP(same_ports(&a->server, in, &b->server, out));
	PROP(same_text(in, a->source, out, b->source));
	PROP(same_text(in, a->mode, out, b->mode));
	PROP(a->client.sep == b->client.sep);
	if (w && w->lo) {
		PROP(b->client.lo == w->lo);
		PROP(b->client.hi == w->hi);
	} else {
		PROP(same_ports(&a->client, in, &b->client, out));
	}
	if (w && w->dest && !w->dest[0]) {
		PROP(!b->destination.len && !b->destination_param.len);
	} else if (w && w->dest) {
		PROP(text_is(out, b->destination, w->dest));
	} else {
		PROP(same_text(in, a->destination, out, b->destination));
		PROP(same_text(in, a->destination_param,
			       out, b->destination_param));
	}
	return true;
}

/*
 * @out is @in with @p applied: the same message but for the specs' client
 * ports and destinations as @w says, every byte outside the edits the
 * same, all edits inside the Transport header.
 */
static bool check_out(struct in in, const struct rtsp_plan *p,
		      const struct want *w, u32 nw, struct in out, int line)
{
	static struct specs s0, s1;
	struct rtsp_msg m0, m1;
	const struct rtsp_edit *e;
	u32 i, ipos = 0, opos = 0, gap;

	PROP(nf_rtsp_parse_msg(in.buf, in.len, &m0) == RTSP_PARSE_OK);
	PROP(nf_rtsp_parse_msg(out.buf, out.len, &m1) == RTSP_PARSE_OK);
	PROP(m0.len == in.len);
	PROP(m1.len == out.len);
	PROP((long long)m1.len == (long long)m0.len + p->delta);
	PROP(m1.type == m0.type);
	PROP(m1.method == m0.method);
	PROP(m1.status == m0.status);
	PROP(m1.content_length == m0.content_length);
	PROP(m1.n_transport == m0.n_transport);
	PROP(same_text(in.buf, m0.cseq, out.buf, m1.cseq));
	PROP(same_text(in.buf, m0.session, out.buf, m1.session));

	specs_of(in.buf, &m0, &s0);
	specs_of(out.buf, &m1, &s1);
	PROP(s0.n == s1.n);
	for (i = 0; i < s0.n; i++) {
		PROP(s0.rc[i] == s1.rc[i]);
		if (s0.rc[i] == 1 &&
		    !check_spec(in.buf, &s0.t[i], out.buf, &s1.t[i],
				i < nw ? &w[i] : NULL, line))
			return false;
	}

	for (i = 0; i < p->n; i++) {
		e = &p->edit[i];
		PROP(e->off >= m0.transport.off);
		PROP(e->off + e->len <= m0.transport.off + m0.transport.len);
		PROP(e->off >= ipos);
		gap = e->off - ipos;
		PROP(opos + gap + e->rep_len <= out.len);
		PROP(!memcmp(in.buf + ipos, out.buf + opos, gap));
		opos += gap;
		PROP(!memcmp(out.buf + opos, e->rep, e->rep_len));
		opos += e->rep_len;
		ipos = e->off + e->len;
	}
	PROP(in.len - ipos == out.len - opos);
	PROP(!memcmp(in.buf + ipos, out.buf + opos, in.len - ipos));
	return true;
}

/* Apply @p to @in into *@out (a heap block of exactly its length). */
static bool apply(struct in in, const struct rtsp_plan *p, struct in *out,
		  int line)
{
	char *buf = malloc(in.len + 1024);
	int n;

	if (!buf) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	n = nf_rtsp_plan_apply(p, in.buf, in.len, buf, in.len + 1024);
	if (n < 0 || (long long)n != (long long)in.len + p->delta) {
		unit_fail(line, "apply: %d, in %u delta %d", n, in.len,
			  (int)p->delta);
		free(buf);
		return false;
	}
	/* Exactly big enough works, a byte less does not. */
	if (nf_rtsp_plan_apply(p, in.buf, in.len, buf, n) != n ||
	    (n && nf_rtsp_plan_apply(p, in.buf, in.len, buf, n - 1) != -1)) {
		unit_fail(line, "apply: output size limit");
		free(buf);
		return false;
	}
	*out = in_of(buf, n);
	free(buf);
	return true;
}

/*
 * Plan every spec of the message @in: spec i to @w[i]'s ports (when
 * set), destinations as @act says with @addr; apply and check the result
 * into *@out.  Returns false (having reported) on any failure.
 */
static bool plan_msg(struct in in, struct rtsp_plan *p, const struct want *w,
		     u32 nw, enum rtsp_dest_action act, const char *addr,
		     bool v6, struct in *out, int line)
{
	static struct specs s;
	struct rtsp_msg m;
	u32 i;
	u16 lo, hi;

	rtsp_plan_init(p);
	if (nf_rtsp_parse_msg(in.buf, in.len, &m) != RTSP_PARSE_OK) {
		unit_fail(line, "does not parse");
		return false;
	}
	specs_of(in.buf, &m, &s);
	for (i = 0; i < s.n; i++) {
		if (s.rc[i] != 1)
			continue;
		lo = s.t[i].client.lo;
		hi = s.t[i].client.hi;
		if (i < nw && w[i].lo) {
			lo = w[i].lo;
			hi = w[i].hi;
		}
		if (nf_rtsp_plan_spec(p, in.buf, in.len, &s.t[i], lo, hi, act,
				      addr, addr ? strlen(addr) : 0, v6)) {
			unit_fail(line, "nf_rtsp_plan_spec of spec %u", i);
			return false;
		}
	}
	return apply(in, p, out, line) && check_out(in, p, w, nw, *out, line);
}

#define PLAN(in, p, w, act, addr, v6, out)				\
	do {								\
		if (!plan_msg(in, p, w, sizeof(w) / sizeof(w[0]), act,	\
			      addr, v6, out, __LINE__))			\
			return;						\
	} while (0)

/* The Transport value of message @in is @want. */
#define CHECK_TRANSPORT(in, want)					\
	do {								\
		struct rtsp_msg _m;					\
									\
		CHECK_EQ(nf_rtsp_parse_msg((in).buf, (in).len, &_m),	\
			 RTSP_PARSE_OK);				\
		if (!text_is((in).buf, _m.transport, want)) {		\
			unit_fail(__LINE__, "Transport: %.*s",		\
				  (int)_m.transport.len,		\
				  (in).buf + _m.transport.off);		\
			return;						\
		}							\
	} while (0)

static struct rtsp_plan plan;

TEST(plan_destination_before_ports)
{
	struct in in = IN("SETUP rtsp://172.26.22.10:554/vod RTSP/1.0\r\n"
			  "CSeq: 3\r\n"
			  "Session: 12345678\r\n"
			  "Transport: RTP/AVP;unicast;destination=192.168.1.200;"
			  "client_port=9998-9999\r\n"
			  "User-Agent: test\r\n"
			  "\r\n");
	struct want w[] = { { 10002, 10003, router4 } };
	struct in out;

	PLAN(in, &plan, w, RTSP_DEST_AUTO, router4, false, &out);
	CHECK_EQ(plan.n, 2);
	CHECK_EQ(plan.delta, 1);
	CHECK_EQ(out.len, in.len + 1);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;destination=10.214.10.20;"
			"client_port=10002-10003");
	CHECK(!memcmp(out.buf + out.len - 22, "\r\nUser-Agent: test\r\n\r\n",
		      22));
}

TEST(plan_ports_before_destination)
{
	struct in in = IN("SETUP rtsp://10.0.0.1/a RTSP/1.0\r\nCSeq: 9\r\n"
			  "Transport: RTP/AVP;unicast;client_port=5002-5003;"
			  "destination=192.168.1.200\r\n\r\n");
	struct want w[] = { { 5004, 5005, router4 } };
	struct in out;

	PLAN(in, &plan, w, RTSP_DEST_AUTO, router4, false, &out);
	CHECK_EQ(plan.delta, -1);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;client_port=5004-5005;"
			"destination=10.214.10.20");
}

TEST(plan_several_specs)
{
	struct in in = IN("SETUP rtsp://10.0.0.1/a RTSP/1.0\r\n"
			  "CSeq: 4\r\nSession: abc\r\n"
			  "Transport: RTP/AVP;unicast;destination=192.168.1.200;"
			  "client_port=5000-5001, RTP/AVP/UDP;unicast;"
			  "client_port=5002/5003;destination=192.168.1.200:5002"
			  ",RTP/AVP/TCP;interleaved=0-1,"
			  "MP2T/H2221/UDP;unicast;destination=192.168.1.200;"
			  "client_port=27336;mode=\"PLAY\"\r\n"
			  "Content-Length: 5\r\n\r\nhello");
	struct want w[] = {
		{ 6000, 6001, router4 },
		{ 6002, 6003, "10.214.10.20:6002" },
		{ 0, 0, NULL },
		{ 27400, 27400, router4 },
	};
	struct in out;

	PLAN(in, &plan, w, RTSP_DEST_AUTO, router4, false, &out);
	CHECK_EQ(plan.n, 6);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;destination=10.214.10.20;"
			"client_port=6000-6001, RTP/AVP/UDP;unicast;"
			"client_port=6002/6003;destination=10.214.10.20:6002,"
			"RTP/AVP/TCP;interleaved=0-1,"
			"MP2T/H2221/UDP;unicast;destination=10.214.10.20;"
			"client_port=27400;mode=\"PLAY\"");
	CHECK(!memcmp(out.buf + out.len - 5, "hello", 5));
}

TEST(plan_strip_and_none)
{
	struct in in = IN("SETUP rtsp://10.0.0.1/a RTSP/1.0\r\nCSeq: 5\r\n"
			  "Transport: RTP/AVP;unicast;destination=192.168.1.200;"
			  "client_port=9998-9999,RTP/AVP;unicast;"
			  "client_port=7000;destination = 192.168.1.9 ;ttl=1\r\n"
			  "\r\n");
	struct want strip[] = { { 10002, 10003, "" }, { 7002, 7002, "" } };
	struct want none[] = {
		{ 10002, 10003, NULL }, { 7002, 7002, NULL },
	};
	struct want same[] = { { 0, 0, NULL }, { 0, 0, NULL } };
	struct in out;

	PLAN(in, &plan, strip, RTSP_DEST_STRIP, router4, false, &out);
	/* The span of the parameter ends at its value: a blank stays. */
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;client_port=10002-10003,"
			"RTP/AVP;unicast;client_port=7002 ;ttl=1");
	PLAN(in, &plan, none, RTSP_DEST_NONE, NULL, false, &out);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;destination=192.168.1.200;"
			"client_port=10002-10003,RTP/AVP;unicast;"
			"client_port=7002;destination = 192.168.1.9 ;ttl=1");
	CHECK_EQ(plan.n, 2);
	/* Nothing to change: no edits at all. */
	PLAN(in, &plan, same, RTSP_DEST_NONE, NULL, false, &out);
	CHECK_EQ(plan.n, 0);
	CHECK_EQ(plan.delta, 0);
	CHECK_EQ(out.len, in.len);
	CHECK(!memcmp(out.buf, in.buf, in.len));
}

TEST(plan_destination_with_port_and_ipv6)
{
	struct in in4 = IN("SETUP rtsp://10.0.0.1/a RTSP/1.0\r\nCSeq: 5\r\n"
			   "Transport: RTP/AVP;unicast;"
			   "destination=192.168.1.200:9998;"
			   "client_port=9998-9999\r\n\r\n");
	struct in in6 = IN("SETUP rtsp://[fd00:1::1]/a RTSP/1.0\r\n"
			   "CSeq: 5\r\n"
			   "Transport: RTP/AVP;unicast;"
			   "destination=[fd00:1::200]:9998;"
			   "client_port=9998-9999,RTP/AVP;unicast;"
			   "destination=fd00:1::200;client_port=5000\r\n\r\n");
	struct want w4[] = { { 10002, 10003, "10.214.10.20:10002" } };
	struct want w6[] = {
		{ 10002, 10003, "[2001:db8:1::20]:10002" },
		{ 5000, 5000, router6 },
	};
	struct in out;

	PLAN(in4, &plan, w4, RTSP_DEST_AUTO, router4, false, &out);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;destination=10.214.10.20:10002;"
			"client_port=10002-10003");
	PLAN(in6, &plan, w6, RTSP_DEST_AUTO, router6, true, &out);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;"
			"destination=[2001:db8:1::20]:10002;"
			"client_port=10002-10003,RTP/AVP;unicast;"
			"destination=2001:db8:1::20;client_port=5000");
	/* The port stayed: only the destinations changed. */
	CHECK_EQ(plan.n, 3);
}

TEST(plan_longest_destination)
{
	static const char v6[] = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
	struct in in = IN("SETUP * RTSP/1.0\r\nCSeq: 1\r\n"
			  "Transport: RTP/AVP;destination=[::1]:1;"
			  "client_port=1-2\r\n\r\n");
	struct want w[] = {
		{ 65534, 65535,
		  "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65534" },
	};
	struct in out;

	CHECK_EQ(strlen(w[0].dest), 53);
	CHECK(strlen(w[0].dest) <= RTSP_EDIT_MAX);
	PLAN(in, &plan, w, RTSP_DEST_AUTO, v6, true, &out);
}

TEST(plan_slash_pairs)
{
	struct in in = IN("SETUP * RTSP/1.0\r\nCSeq: 1\r\n"
			  "Transport: RTP/AVP;unicast;client_port=6001/6000,"
			  "RTP/AVP;unicast;client_port=6002/6003\r\n\r\n");
	struct want w[] = { { 7001, 7000, NULL }, { 7002, 7003, NULL } };
	struct in out;

	PLAN(in, &plan, w, RTSP_DEST_AUTO, router4, false, &out);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;client_port=7001/7000,"
			"RTP/AVP;unicast;client_port=7002/7003");
}

TEST(plan_reply_restores_ports)
{
	struct in in = IN("RTSP/1.0 200 OK\r\nCSeq: 3\r\n"
			  "Session: 1;timeout=60\r\n"
			  "Transport: RTP/AVP;unicast;client_port=10002-10003;"
			  "server_port=6970-6971;source=10.1.1.1\r\n\r\n");
	struct want w[] = { { 9998, 9999, NULL } };
	struct in out;

	PLAN(in, &plan, w, RTSP_DEST_NONE, NULL, false, &out);
	CHECK_EQ(plan.delta, -2);
	CHECK_TRANSPORT(out, "RTP/AVP;unicast;client_port=9998-9999;"
			"server_port=6970-6971;source=10.1.1.1");
}

/* A spec parsed from @s, a Transport value on its own. */
static bool spec_of(struct in in, struct rtsp_tspec *t)
{
	struct rtsp_span all = { 0, in.len };
	u32 pos = 0;

	return nf_rtsp_transport_next(in.buf, all, &pos, t) == 1;
}

static bool plan_same(const struct rtsp_plan *a, const struct rtsp_plan *b)
{
	return a->n == b->n && a->delta == b->delta &&
	       !memcmp(a->edit, b->edit, a->n * sizeof(a->edit[0]));
}

TEST(plan_spec_is_atomic)
{
	static struct rtsp_plan before;
	struct in in = IN("RTP/AVP;unicast;client_port=5000-5001;"
			  "destination=192.168.1.200;ttl=3");
	struct rtsp_tspec t;
	u32 i;

	CHECK(spec_of(in, &t));
	/* Full after the port edit: the destination does not fit. */
	rtsp_plan_init(&plan);
	for (i = 0; i < RTSP_PLAN_MAX_EDITS - 1; i++)
		CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, i, 0, "x", 1),
			 0);
	before = plan;
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, router4, strlen(router4),
				   false), -1);
	CHECK(plan_same(&plan, &before));
	/* The port alone fits. */
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_NONE, NULL, 0, false), 0);
	CHECK_EQ(plan.n, RTSP_PLAN_MAX_EDITS);
	CHECK_EQ(plan.delta, RTSP_PLAN_MAX_EDITS - 1);

	/* An edit planned inside the destination already. */
	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, t.destination.off + 3,
				  2, "zz", 2), 0);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 0, 7, "RTP/AVPF", 8),
		 0);
	before = plan;
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, router4, strlen(router4),
				   false), -1);
	CHECK(plan_same(&plan, &before));
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_STRIP, NULL, 0, false), -1);
	CHECK(plan_same(&plan, &before));

	/* Bad addresses: nothing planned. */
	rtsp_plan_init(&plan);
	before = plan;
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, "10.0.0.1;x", 10, false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, "10.0.0.1\r\n", 10, false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, router6, strlen(router6),
				   false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, router4, strlen(router4),
				   true), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, "", 0, false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO, NULL, 0, false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_AUTO,
				   "1111:2222:3333:4444:5555:6666:7777:8888:9999:0", 47,
				   true), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   (enum rtsp_dest_action)7, router4,
				   strlen(router4), false), -1);
	CHECK(plan_same(&plan, &before));
	CHECK_EQ(plan.n, 0);
}

TEST(plan_spec_refusals)
{
	struct in in = IN("RTP/AVP;unicast;destination=192.168.1.200");
	struct rtsp_tspec t;

	CHECK(spec_of(in, &t));
	rtsp_plan_init(&plan);
	/* Ports to write but no client_port= to write them in. */
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 6000, 6001,
				   RTSP_DEST_NONE, NULL, 0, false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 0, 0,
				   RTSP_DEST_STRIP, NULL, 0, false), 0);
	CHECK_EQ(plan.n, 1);
	CHECK_EQ(plan.delta, -(int)strlen(";destination=192.168.1.200"));
	/* A destination outside the message. */
	rtsp_plan_init(&plan);
	t.destination.off = in.len;
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 0, 0,
				   RTSP_DEST_AUTO, router4, strlen(router4),
				   false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(NULL, in.buf, in.len, &t, 0, 0,
				   RTSP_DEST_NONE, NULL, 0, false), -1);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, NULL, 0, 0,
				   RTSP_DEST_NONE, NULL, 0, false), -1);
	CHECK_EQ(plan.n, 0);
}

TEST(plan_unchanged_destination_not_planned)
{
	struct in in = IN("RTP/AVP;unicast;destination=10.214.10.20;"
			  "client_port=5000");
	struct rtsp_tspec t;

	CHECK(spec_of(in, &t));
	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 5000, 5000,
				   RTSP_DEST_AUTO, router4, strlen(router4),
				   false), 0);
	CHECK_EQ(plan.n, 0);
	CHECK_EQ(plan.delta, 0);
	/* A single port: hi does not show. */
	CHECK_EQ(nf_rtsp_plan_spec(&plan, in.buf, in.len, &t, 5000, 5001,
				   RTSP_DEST_NONE, NULL, 0, false), 0);
	CHECK_EQ(plan.n, 0);
}

TEST(plan_add_rules)
{
	struct in in = IN("0123456789abcdefghij");
	static struct rtsp_plan before;
	char big[RTSP_EDIT_MAX + 1];
	char out[64];
	u32 i;

	memset(big, 'B', sizeof(big));
	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 0, 1, big,
				  RTSP_EDIT_MAX + 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 0, 1, big,
				  RTSP_EDIT_MAX), 0);
	CHECK_EQ(plan.delta, RTSP_EDIT_MAX - 1);
	/* Outside the message, including wrapping spans. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 21, 0, "x", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 15, 6, "x", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 0xffffffffU, 2, "x", 1),
		 -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 2, 0xffffffffU, "x", 1),
		 -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 5, 3, NULL, 1), -1);
	/* The end of the message is a place to insert at. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 20, 0, "!", 1), 0);
	CHECK_EQ(plan.n, 2);

	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 10, 4, "AB", 2), 0);
	/* Overlaps, from either side or inside. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 8, 3, "x", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 13, 3, "x", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 11, 1, "x", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 11, 0, "x", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 9, 6, "x", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 10, 0, "x", 1), -1);
	/* Adjacent on both sides is fine, out of order too. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 14, 2, "", 0), 0);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 7, 3, "-", 1), 0);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 0, 0, "<", 1), 0);
	/* Same bytes: not added, even over another edit. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 10, 4, "abcd", 4), 0);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 3, 0, "", 0), 0);
	CHECK_EQ(plan.n, 4);
	CHECK_EQ(plan.delta, -2 - 2 - 2 + 1);
	for (i = 1; i < plan.n; i++)
		CHECK(plan.edit[i].off > plan.edit[i - 1].off);
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)),
		 in.len - 5);
	CHECK(!memcmp(out, "<0123456-ABghij", 15));

	/* Full. */
	rtsp_plan_init(&plan);
	for (i = 0; i < RTSP_PLAN_MAX_EDITS; i++)
		CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, i, 1, "#", 1),
			 0);
	before = plan;
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 19, 1, "#", 1), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 19, 1, "j", 1), 0);
	CHECK(plan_same(&plan, &before));
	CHECK_EQ(plan.delta, 0);
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)),
		 in.len);
	CHECK(!memcmp(out, "################ghij", 20));
}

TEST(plan_apply_refusals)
{
	struct in in = IN("0123456789");
	char out[32];

	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)),
		 10);
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, NULL, 0), -1);
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, 0, NULL, 0), 0);
	CHECK_EQ(nf_rtsp_plan_apply(NULL, in.buf, in.len, out, sizeof(out)), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 2, 2, "ab", 2), 0);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 6, 2, "c", 1), 0);
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), 9);
	CHECK(!memcmp(out, "01ab45c89", 9));
	/* The message the plan was not made for. */
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, 7, out, sizeof(out)), -1);
	/* Tampered plans. */
	plan.delta = 0;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), -1);
	plan.delta = -1;
	plan.edit[1].off = 3;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), -1);
	plan.edit[1].off = 1;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), -1);
	plan.edit[1].off = 6;
	plan.edit[1].rep_len = RTSP_EDIT_MAX + 1;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), -1);
	plan.edit[1].rep_len = 1;
	plan.edit[1].len = 0xfffffffaU;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), -1);
	plan.edit[1].len = 2;
	plan.n = RTSP_PLAN_MAX_EDITS + 1;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), -1);
	plan.n = 2;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), 9);
	/* Two edits at one offset. */
	rtsp_plan_init(&plan);
	plan.n = 2;
	plan.edit[0].off = plan.edit[1].off = 4;
	plan.edit[0].len = plan.edit[1].len = 0;
	plan.edit[0].rep_len = plan.edit[1].rep_len = 1;
	plan.delta = 2;
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, in.len, out, sizeof(out)), -1);
	/* A length that would not fit an int. */
	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_apply(&plan, in.buf, 0x80000000U, out, sizeof(out)),
		 -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, 0x80000000U, 0, 1, "x", 1), -1);
}

/* ---- small helpers ---- */

TEST(port_range_parse)
{
	static const struct {
		const char *s;
		int lo, hi;	/* -1: refused */
	} cases[] = {
		{ "1024-65535", 1024, 65535 },
		{ "1024", 1024, 1024 },
		{ "65535", 65535, 65535 },
		{ "20000-20009", 20000, 20009 },
		{ "40000-40000", 40000, 40000 },
		{ "01024-09999", 1024, 9999 },
		{ "", -1, -1 },
		{ "-", -1, -1 },
		{ "1023", -1, -1 },
		{ "1023-2000", -1, -1 },
		{ "0-65535", -1, -1 },
		{ "1024-65536", -1, -1 },
		{ "65536", -1, -1 },
		{ "99999", -1, -1 },
		{ "2000-1999", -1, -1 },
		{ "+1024", -1, -1 },
		{ "1024-+2000", -1, -1 },
		{ " 1024", -1, -1 },
		{ "1024 ", -1, -1 },
		{ "1024 -2000", -1, -1 },
		{ "1024-", -1, -1 },
		{ "-1024", -1, -1 },
		{ "1024--2000", -1, -1 },
		{ "1024-2000x", -1, -1 },
		{ "1024-2000-3000", -1, -1 },
		{ "001024", -1, -1 },
		{ "1024-0002000", -1, -1 },
		{ "4294968320", -1, -1 },
		{ "1024:2000", -1, -1 },
		{ "0x400", -1, -1 },
	};
	struct rtsp_port_range r;
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		r.lo = 7;
		r.hi = 8;
		if (cases[k].lo < 0) {
			if (nf_rtsp_port_range_parse(cases[k].s, &r) != -1 ||
			    r.lo != 7 || r.hi != 8) {
				unit_fail(__LINE__, "accepted \"%s\"",
					  cases[k].s);
				return;
			}
			continue;
		}
		if (nf_rtsp_port_range_parse(cases[k].s, &r) != 0 ||
		    r.lo != cases[k].lo || r.hi != cases[k].hi) {
			unit_fail(__LINE__, "\"%s\": %u-%u", cases[k].s, r.lo,
				  r.hi);
			return;
		}
	}
	CHECK_EQ(nf_rtsp_port_range_parse(NULL, &r), -1);
	CHECK_EQ(nf_rtsp_port_range_parse("2000", NULL), -1);
}

TEST(fmt_ports)
{
	char buf[12];

	CHECK_EQ(nf_rtsp_fmt_ports(buf, 0, 1, 1), 1);
	CHECK(!memcmp(buf, "1", 1));
	CHECK_EQ(nf_rtsp_fmt_ports(buf, 0, 65535, 7), 5);
	CHECK(!memcmp(buf, "65535", 5));
	CHECK_EQ(nf_rtsp_fmt_ports(buf, 0, 0, 0), 1);
	CHECK(!memcmp(buf, "0", 1));
	CHECK_EQ(nf_rtsp_fmt_ports(buf, '-', 5000, 5001), 9);
	CHECK(!memcmp(buf, "5000-5001", 9));
	CHECK_EQ(nf_rtsp_fmt_ports(buf, '/', 6001, 6000), 9);
	CHECK(!memcmp(buf, "6001/6000", 9));
	CHECK_EQ(nf_rtsp_fmt_ports(buf, '-', 65535, 65535), 11);
	CHECK(!memcmp(buf, "65535-65535", 11));
	CHECK_EQ(nf_rtsp_fmt_ports(buf, '-', 9, 10), 4);
	CHECK(!memcmp(buf, "9-10", 4));
	CHECK_EQ(nf_rtsp_fmt_ports(buf, '/', 100, 99999 % 65536), 9);
	CHECK(!memcmp(buf, "100/34463", 9));
}

TEST(fmt_ports_every_port)
{
	char buf[12], want[16];
	u32 p;
	int n;

	for (p = 0; p <= 65535; p++) {
		n = snprintf(want, sizeof(want), "%u-%u", p, 65535 - p);
		CHECK_EQ(nf_rtsp_fmt_ports(buf, '-', (u16)p, (u16)(65535 - p)),
			 n);
		CHECK(!memcmp(buf, want, n));
	}
}

TEST(dest_has_port)
{
	static const struct {
		const char *v;
		bool port;
	} cases[] = {
		{ "192.168.1.200:9998", true },
		{ "192.168.1.200", false },
		{ "host", false },
		{ "host:1", true },
		{ "[fd00:1::200]:9998", true },
		{ "[fd00:1::200]", false },
		{ "[fd00:1::200]x:1", false },
		{ "[fd00:1::200", false },
		{ "[::1]:", true },
		{ "2001:db8::1", false },
		{ "::1", false },
		{ "a:b", true },
		{ ":", true },
		{ "[", false },
		{ "]:", true },
		{ "", false },
	};
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct in v = in_of(cases[k].v, strlen(cases[k].v));

		if (nf_rtsp_dest_has_port(v.buf, v.len) != cases[k].port) {
			unit_fail(__LINE__, "\"%s\"", cases[k].v);
			return;
		}
	}
	CHECK(!nf_rtsp_dest_has_port(NULL, 5));
}

int main(void)
{
	struct timespec a, b;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = unit_main();
	clock_gettime(CLOCK_MONOTONIC, &b);
	fflush(stdout);
	fprintf(stderr, "test_nat_plan: %.2f s, %ld candidates checked\n",
		(double)(b.tv_sec - a.tv_sec) +
		(double)(b.tv_nsec - a.tv_nsec) / 1e9, cand_calls);
	return rc;
}

/*
 * A rewrite never makes a line longer than the parser takes (fuzz_nat
 * found a 4 KiB Transport line that a grown port made invalid); other
 * lines, and shrinking edits, are not limited by it.
 */
TEST(plan_line_limit)
{
	static char buf[RTSP_MAX_LINE + 64];
	struct in in;
	u32 n = RTSP_MAX_LINE - 2;

	/* "x...x\r\ny" with the first line RTSP_MAX_LINE - 1 bytes, CR in. */
	memset(buf, 'x', n);
	memcpy(buf + n, "\r\ny", 3);
	in = in_of(buf, n + 3);
	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 10, 1, "ab", 2), 0);
	CHECK_EQ(plan.delta, 1);
	/* One more byte on that line is one too many, wherever it goes. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 20, 1, "ab", 2), -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 0, 0, "a", 1), -1);
	/* Unless another edit on it gives one back. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 30, 2, "a", 1), 0);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 40, 1, "ab", 2), 0);
	/* The next line has room. */
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, n + 2, 1, "abc", 3), 0);
	CHECK_EQ(plan.n, 4);
	CHECK_EQ(plan.delta, 3);
}

/* No edit across a line end: a destination= folded over two lines. */
TEST(plan_no_edit_across_lines)
{
	struct in in = IN("destination=10.0.0\r\n .1;client_port=5000");

	rtsp_plan_init(&plan);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 12, 12, "1.2.3.4", 7),
		 -1);
	CHECK_EQ(nf_rtsp_plan_add(&plan, in.buf, in.len, 12, 6, "1.2.3.", 6), 0);
	CHECK_EQ(plan.n, 1);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Pure decisions of the RTSP NAT helper: see rtsp_nat_plan.h.
 *
 * Built twice: into nf_nat_rtsp.ko, as one of its objects, and into the
 * userspace unit tests and fuzzer.  So it uses nothing but memcpy(),
 * memcmp(), memchr() and memmove(), formats numbers itself, and keeps all
 * arithmetic on input-chosen values unsigned and range-checked: a port
 * range, a step or a plan from anywhere must never fault or overflow.
 */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#else
#include <string.h>
#endif

#include "rtsp_nat_plan.h"

/*
 * Longest message a plan refers to: the new length of a message, at most
 * this plus RTSP_PLAN_MAX_EDITS * RTSP_EDIT_MAX, must fit the int that
 * nf_rtsp_plan_apply() returns and the s32 delta of the plan.
 */
#define RTSP_PLAN_LEN_MAX	0x7fff0000U

static bool rtsp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Up to five decimal digits at *@s, no sign; moves *@s past them.
 * Returns the value, or -1 when there are none or more than five.
 */
static s32 rtsp_parse_u16ish(const char **s)
{
	const char *p = *s;
	s32 v = 0;
	u32 n = 0;

	while (rtsp_is_digit(*p)) {
		if (++n > 5)
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	if (!n)
		return -1;
	*s = p;
	return v;
}

int nf_rtsp_port_range_parse(const char *s, struct rtsp_port_range *r)
{
	s32 lo, hi;

	if (!s || !r)
		return -1;
	lo = rtsp_parse_u16ish(&s);
	if (lo < 0)
		return -1;
	hi = lo;
	if (*s == '-') {
		s++;
		hi = rtsp_parse_u16ish(&s);
		if (hi < 0)
			return -1;
	}
	if (*s || lo < (s32)RTSP_NAT_PORT_FLOOR || hi > 65535 || hi < lo)
		return -1;
	r->lo = (u16)lo;
	r->hi = (u16)hi;
	return 0;
}

/*
 * The first ports a spec may get in a range: p and p + step both inside
 * it.  They are first, first + g, ..., first + (cnt - 1) * g, with g == 2
 * when only even ones are wanted.
 */
struct rtsp_port_set {
	u32 lo;		/* every valid first port, odd or even: [lo, hi] */
	u32 hi;
	u32 first;	/* the candidates after attempt 0 */
	u32 g;
	u32 cnt;
};

/*
 * Fill @s for @r, @step and @even; false when no port of @r holds the
 * pair.  With @even and no even port among the valid ones (only when a
 * single, odd, port fits), the candidates fall back to that odd port: a
 * pair on an odd port works (attempt 0 may give one anyway), no pair at
 * all does not.
 */
static bool rtsp_port_set(const struct rtsp_port_range *r, int step,
			  bool even, struct rtsp_port_set *s)
{
	u32 lo, hi, mag;

	if (!r || !r->lo || r->lo > r->hi)
		return false;
	lo = r->lo;
	hi = r->hi;
	/* |step| without the overflow of -INT_MIN */
	mag = step < 0 ? 0U - (u32)step : (u32)step;
	if (mag > hi - lo)
		return false;
	if (step < 0)
		lo += mag;
	else
		hi -= mag;
	s->lo = lo;
	s->hi = hi;
	s->g = 1;
	if (even && lo + (lo & 1) <= hi) {
		lo += lo & 1;
		hi &= ~1U;
		s->g = 2;
	}
	s->first = lo;
	s->cnt = (hi - lo) / s->g + 1;
	return true;
}

/* Port @c of the (unbounded) candidate lattice, wrapped into @s. */
static u32 rtsp_port_wrap(const struct rtsp_port_set *s, u32 c)
{
	u32 k;

	if (s->g == 2)
		c &= ~1U;
	if (c >= s->first) {
		k = (c - s->first) / s->g % s->cnt;
	} else {
		k = (s->first - c) / s->g % s->cnt;
		k = k ? s->cnt - k : 0;
	}
	return s->first + k * s->g;
}

static u16 rtsp_candidate(const struct rtsp_port_set *s, u16 want,
			  u32 attempt, u32 rnd)
{
	if (!attempt && want >= s->lo && want <= s->hi)
		return want;
	/* attempt < RTSP_NAT_NEAR: no overflow of the u32 */
	if (attempt < RTSP_NAT_NEAR)
		return rtsp_port_wrap(s, (want & ~(s->g - 1)) +
					 attempt * s->g);
	return s->first + (rnd % s->cnt) * s->g;
}

u16 nf_rtsp_port_candidate(const struct rtsp_port_range *r, u16 want, int step,
			   bool even, u32 attempt, u32 rnd)
{
	struct rtsp_port_set s;

	if (!rtsp_port_set(r, step, even, &s))
		return 0;
	return rtsp_candidate(&s, want, attempt, rnd);
}

/*
 * rnd() is only called for the random attempts, so a claim that succeeds
 * next to @want costs no random numbers.  A candidate equal to the one
 * just tried, and the neighbours of @want beyond the number of candidates
 * there are (they come round again in a narrow range), are skipped.
 * Without @rnd, the random attempts take a fixed spread of the range.
 */
int nf_rtsp_choose_port(const struct rtsp_port_range *r, u16 want, int step,
			bool even, u32 attempts,
			int (*claim)(void *ctx, u16 port),
			u32 (*rnd)(void *ctx), void *ctx, u16 *port)
{
	struct rtsp_port_set s;
	u32 attempt, x;
	u16 cand, prev = 0;
	int err;

	if (!claim || !port || !rtsp_port_set(r, step, even, &s))
		return -1;
	for (attempt = 0; attempt < attempts; attempt++) {
		x = 0;
		if (attempt >= RTSP_NAT_NEAR)
			x = rnd ? rnd(ctx) : attempt * 0x9e3779b9U;
		else if (attempt && attempt >= s.cnt)
			continue;
		cand = rtsp_candidate(&s, want, attempt, x);
		if (cand == prev)
			continue;
		prev = cand;
		err = claim(ctx, cand);
		if (!err) {
			*port = cand;
			return 0;
		}
		if (err < 0)
			return err;
	}
	return -1;
}

/*
 * Insert an edit in offset order.  Returns 1 with *@at its index, 0 when
 * it changes nothing (not added), -1 when refused.  Two edits at the same
 * offset are refused even when one is empty: their order would be
 * ambiguous.
 */
/*
 * Would the line holding [@off, @off + @len) stay within RTSP_MAX_LINE with
 * this edit and those planned on it?  A longer one would make the message
 * one that the parser (ours, on the next router too) refuses.  The CR of
 * the line's end counts, as it may be there.
 */
static bool rtsp_plan_line_fits(const struct rtsp_plan *p, const char *msg,
				u32 msg_len, u32 off, u32 len, u32 rep_len)
{
	long long n;
	u32 ls = off, le = off + len, i;

	while (ls && msg[ls - 1] != '\n')
		ls--;
	while (le < msg_len && msg[le] != '\n')
		le++;
	n = (long long)(le - ls) + rep_len - len;
	for (i = 0; i < p->n; i++)
		if (p->edit[i].off >= ls && p->edit[i].off < le)
			n += (long long)p->edit[i].rep_len - p->edit[i].len;
	return n <= RTSP_MAX_LINE;
}

static int rtsp_plan_insert(struct rtsp_plan *p, const char *msg,
			    u32 msg_len, u32 off, u32 len, const char *rep,
			    u32 rep_len, u32 *at)
{
	struct rtsp_edit *e;
	long long delta;
	u32 i;

	if (!p || p->n > RTSP_PLAN_MAX_EDITS || rep_len > RTSP_EDIT_MAX ||
	    (rep_len && !rep) || (msg_len && !msg) ||
	    msg_len > RTSP_PLAN_LEN_MAX || off > msg_len ||
	    len > msg_len - off)
		return -1;
	if (len == rep_len && (!len || !memcmp(msg + off, rep, len)))
		return 0;
	if (p->n == RTSP_PLAN_MAX_EDITS)
		return -1;
	delta = (long long)p->delta + rep_len - len;
	if (delta < -(long long)RTSP_PLAN_LEN_MAX ||
	    delta > (long long)RTSP_PLAN_LEN_MAX)
		return -1;

	for (i = 0; i < p->n && p->edit[i].off < off; i++)
		;
	/* off - e->off: no overflow whatever the plan holds */
	if (i && off - p->edit[i - 1].off < p->edit[i - 1].len)
		return -1;
	if (i < p->n && (p->edit[i].off == off || off + len > p->edit[i].off))
		return -1;

	/*
	 * Never across a line end (a value folded over two lines): the lines
	 * would join, out of the reach of rtsp_plan_line_fits().
	 */
	if (len && (memchr(msg + off, '\n', len) || memchr(msg + off, '\r', len)))
		return -1;
	if (!rtsp_plan_line_fits(p, msg, msg_len, off, len, rep_len))
		return -1;

	memmove(&p->edit[i + 1], &p->edit[i],
		(p->n - i) * sizeof(p->edit[0]));
	e = &p->edit[i];
	e->off = off;
	e->len = len;
	e->rep_len = rep_len;
	if (rep_len)
		memcpy(e->rep, rep, rep_len);
	p->n++;
	p->delta = (s32)delta;
	*at = i;
	return 1;
}

/* Take back edit @i, just inserted. */
static void rtsp_plan_remove(struct rtsp_plan *p, u32 i)
{
	p->delta -= (s32)p->edit[i].rep_len - (s32)p->edit[i].len;
	p->n--;
	memmove(&p->edit[i], &p->edit[i + 1],
		(p->n - i) * sizeof(p->edit[0]));
}

int nf_rtsp_plan_add(struct rtsp_plan *p, const char *msg, u32 msg_len,
		     u32 off, u32 len, const char *rep, u32 rep_len)
{
	u32 at;

	return rtsp_plan_insert(p, msg, msg_len, off, len, rep, rep_len,
				&at) < 0 ? -1 : 0;
}

/* @v in decimal at @buf (5 bytes at most); returns the length. */
static u32 rtsp_fmt_u16(char *buf, u16 v)
{
	char tmp[5];
	u32 n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

u32 nf_rtsp_fmt_ports(char *buf, char sep, u16 lo, u16 hi)
{
	u32 n = rtsp_fmt_u16(buf, lo);

	if (!sep)
		return n;
	buf[n++] = sep;
	return n + rtsp_fmt_u16(buf + n, hi);
}

/*
 * "[v6]" has a port when ':' follows the first ']'; otherwise exactly one
 * ':' means "addr:port", none a bare name, more a bare IPv6 address.
 */
bool nf_rtsp_dest_has_port(const char *v, u32 len)
{
	const char *c;

	if (!v || !len)
		return false;
	if (v[0] == '[') {
		c = memchr(v, ']', len);
		return c && c + 1 < v + len && c[1] == ':';
	}
	c = memchr(v, ':', len);
	return c && !memchr(c + 1, ':', len - (u32)(c + 1 - v));
}

/*
 * The new destination= value into @buf (RTSP_EDIT_MAX bytes): @addr, or
 * "addr:port" / "[addr]:port".  Returns its length, 0 when @addr is
 * empty, too long, or not an address literal of the family @v6 says:
 * anything else could end the parameter, the spec or the header.
 */
static u32 rtsp_fmt_dest(char *buf, const char *addr, u32 addr_len, bool v6,
			 bool with_port, u16 port)
{
	bool colon = false;
	u32 i, n = 0;
	char c;

	if (!addr || !addr_len ||
	    addr_len > RTSP_EDIT_MAX - (sizeof("[]:65535") - 1))
		return 0;
	for (i = 0; i < addr_len; i++) {
		c = addr[i];
		if (c == ':')
			colon = true;
		else if (!rtsp_is_digit(c) && c != '.' &&
			 !(v6 && ((c >= 'a' && c <= 'f') ||
				  (c >= 'A' && c <= 'F'))))
			return 0;
	}
	if (colon != v6)
		return 0;

	if (with_port && v6)
		buf[n++] = '[';
	memcpy(buf + n, addr, addr_len);
	n += addr_len;
	if (with_port) {
		if (v6)
			buf[n++] = ']';
		buf[n++] = ':';
		n += rtsp_fmt_u16(buf + n, port);
	}
	return n;
}

static bool rtsp_span_in(const struct rtsp_span *sp, u32 len)
{
	return sp->off <= len && sp->len <= len - sp->off;
}

int nf_rtsp_plan_spec(struct rtsp_plan *p, const char *msg, u32 msg_len,
		      const struct rtsp_tspec *spec, u16 lo, u16 hi,
		      enum rtsp_dest_action act, const char *addr, u32 addr_len,
		      bool v6)
{
	const struct rtsp_span *port_sp = NULL, *dest_sp = NULL;
	char pbuf[sizeof("65535-65535")];
	char dbuf[RTSP_EDIT_MAX];
	u32 plen = 0, dlen = 0, at = 0;
	int added = 0;

	if (!p || !spec || (msg_len && !msg))
		return -1;

	if (lo != spec->client.lo || hi != spec->client.hi) {
		/* No client_port= to put the ports in. */
		if (!spec->client.val.len)
			return -1;
		port_sp = &spec->client.val;
		plen = nf_rtsp_fmt_ports(pbuf, spec->client.sep, lo, hi);
	}

	switch (act) {
	case RTSP_DEST_AUTO:
		if (!spec->destination.len)
			break;
		dest_sp = &spec->destination;
		if (!rtsp_span_in(dest_sp, msg_len))
			return -1;
		dlen = rtsp_fmt_dest(dbuf, addr, addr_len, v6,
				     nf_rtsp_dest_has_port(msg + dest_sp->off,
							   dest_sp->len), lo);
		if (!dlen)
			return -1;
		break;
	case RTSP_DEST_STRIP:
		if (spec->destination_param.len)
			dest_sp = &spec->destination_param;
		break;
	case RTSP_DEST_NONE:
		break;
	default:
		return -1;
	}

	if (port_sp) {
		added = rtsp_plan_insert(p, msg, msg_len, port_sp->off,
					 port_sp->len, pbuf, plen, &at);
		if (added < 0)
			return -1;
	}
	if (dest_sp) {
		u32 unused;

		/* A refused edit leaves the plan as it was: undo the port. */
		if (rtsp_plan_insert(p, msg, msg_len, dest_sp->off,
				     dest_sp->len, dbuf, dlen, &unused) < 0) {
			if (added > 0)
				rtsp_plan_remove(p, at);
			return -1;
		}
	}
	return 0;
}

/*
 * The plan is checked whole before a byte is written, as if it came from
 * anywhere: edits in order, apart, inside @in, and adding up to its delta.
 * @out must not overlap @in.
 */
int nf_rtsp_plan_apply(const struct rtsp_plan *p, const char *in, u32 in_len,
		       char *out, u32 out_size)
{
	const struct rtsp_edit *e;
	u32 i, pos = 0, cut = 0, added = 0, out_len;

	if (!p || p->n > RTSP_PLAN_MAX_EDITS || in_len > RTSP_PLAN_LEN_MAX ||
	    (in_len && !in))
		return -1;
	for (i = 0; i < p->n; i++) {
		e = &p->edit[i];
		if (e->off < pos || (i && e->off == p->edit[i - 1].off) ||
		    e->off > in_len || e->len > in_len - e->off ||
		    e->rep_len > RTSP_EDIT_MAX)
			return -1;
		pos = e->off + e->len;
		cut += e->len;
		added += e->rep_len;
	}
	/* cut <= in_len <= RTSP_PLAN_LEN_MAX; added is small */
	if ((s32)added - (s32)cut != p->delta)
		return -1;
	out_len = in_len - cut + added;
	if (out_len > out_size || (out_len && !out))
		return -1;

	pos = 0;
	out_len = 0;
	for (i = 0; i < p->n; i++) {
		e = &p->edit[i];
		if (e->off > pos)
			memcpy(out + out_len, in + pos, e->off - pos);
		out_len += e->off - pos;
		if (e->rep_len)
			memcpy(out + out_len, e->rep, e->rep_len);
		out_len += e->rep_len;
		pos = e->off + e->len;
	}
	if (in_len > pos)
		memcpy(out + out_len, in + pos, in_len - pos);
	return (int)(out_len + in_len - pos);
}

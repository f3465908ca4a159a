/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure decisions of the RTSP NAT helper: which router port a transport
 * spec gets, and which bytes of a message change.
 *
 * Shared verbatim by nf_nat_rtsp (rtsp_nat_plan.o is linked into it) and by
 * the userspace unit tests and fuzzer.  No skb, no locks, no allocation:
 * plain data in, plain data out.  Offsets are relative to the message, as
 * those of rtsp_parse.h.
 */
#ifndef _RTSP_NAT_PLAN_H
#define _RTSP_NAT_PLAN_H

#include "rtsp_parse.h"

#ifndef __KERNEL__
typedef int s32;
#endif

/* Router ports media may use: never below this (the router's services). */
#define RTSP_NAT_PORT_FLOOR	1024U
/* Candidates tried next to the client's port before random ones. */
#define RTSP_NAT_NEAR		16U
/* Candidates tried in all before giving up. */
#define RTSP_NAT_ATTEMPTS	128U

/* [lo, hi], RTSP_NAT_PORT_FLOOR <= lo <= hi <= 65535. */
struct rtsp_port_range {
	u16 lo;
	u16 hi;
};

/*
 * Parse "LO-HI" (or "PORT") into @r; 0 on success, -1 when malformed or
 * outside [RTSP_NAT_PORT_FLOOR, 65535] or HI < LO.
 */
int nf_rtsp_port_range_parse(const char *s, struct rtsp_port_range *r);

/*
 * Candidate router port number @attempt for a spec whose first port is
 * @want and whose second port is @step away (0: one port; a "N/M" pair may
 * have M < N, so @step may be negative; |step| <= 65534).  The candidate
 * and candidate + @step both lie in @r.  Attempt 0 is @want itself when
 * that fits, then its neighbours (RTSP_NAT_NEAR), then ports drawn from
 * @rnd (the caller's random number for this attempt).  With @even (an
 * RTP/RTCP range, "N-M"), candidates after the first are even, unless the
 * only port that fits is odd: then it is that one.  Neighbours and random
 * ports wrap round the ports that fit.
 * Returns 0 when no port of @r can hold the pair (or @r is not a range):
 * the caller gives up.  Never faults, for any input.
 */
u16 nf_rtsp_port_candidate(const struct rtsp_port_range *r, u16 want, int step,
			   bool even, u32 attempt, u32 rnd);

/*
 * Try candidates until @claim takes one: @claim returns 0 when it took
 * @port (and @port + @step), 1 when they are taken (try the next one), and
 * a negative error to give up.  @rnd(ctx) gives the random numbers; it
 * is only called for attempts from RTSP_NAT_NEAR on (NULL: a fixed spread
 * of the range instead).  Neighbours that would come round again in a
 * narrow range, and a candidate equal to the one just tried, are skipped.
 * Returns 0 with *@port set, -1 when no candidate was free (or none
 * fits), or @claim's negative error.
 */
int nf_rtsp_choose_port(const struct rtsp_port_range *r, u16 want, int step,
			bool even, u32 attempts,
			int (*claim)(void *ctx, u16 port),
			u32 (*rnd)(void *ctx), void *ctx, u16 *port);

/*
 * Longest replacement text: "[" IPv6 "]:65535", where the IPv6 text may
 * take 45 bytes ("ffff:...:ffff:255.255.255.255"), 53 in all.
 */
#define RTSP_EDIT_MAX		56U
/* Edits of one message: a port and a destination per spec. */
#define RTSP_PLAN_MAX_EDITS	16U

/* Replace @len bytes at @off with @rep. */
struct rtsp_edit {
	u32 off;
	u32 len;
	u32 rep_len;
	char rep[RTSP_EDIT_MAX];
};

/* The edits of one message, sorted by offset, never overlapping. */
struct rtsp_plan {
	u32 n;
	s32 delta;			/* length change of the message */
	struct rtsp_edit edit[RTSP_PLAN_MAX_EDITS];
};

enum rtsp_dest_action {
	RTSP_DEST_AUTO,		/* point destination= at the router */
	RTSP_DEST_STRIP,	/* remove ";destination=..." */
	RTSP_DEST_NONE,		/* leave it */
};

static inline void rtsp_plan_init(struct rtsp_plan *p)
{
	p->n = 0;
	p->delta = 0;
}

/*
 * Add one edit.  An edit that changes nothing (same bytes) is not added.
 * Returns 0, or -1 when @rep_len > RTSP_EDIT_MAX, the plan is full, or the
 * span overlaps an edit already planned (adjacent spans are fine; two
 * edits at one offset are not, even empty ones).  @msg and @msg_len are
 * the message the offsets refer to: a span outside it is refused too, and
 * so is a message longer than 2 GiB - 64 KiB.
 */
int nf_rtsp_plan_add(struct rtsp_plan *p, const char *msg, u32 msg_len,
		     u32 off, u32 len, const char *rep, u32 rep_len);

/*
 * "LO", "LO-HI" or "LO/HI" as @sep says (0, '-', '/'), into @buf of at
 * least 12 bytes (not NUL-terminated); returns the length.
 */
u32 nf_rtsp_fmt_ports(char *buf, char sep, u16 lo, u16 hi);

/* Does a destination= value carry a port ("a.b.c.d:p", "[v6]:p")? */
bool nf_rtsp_dest_has_port(const char *v, u32 len);

/*
 * Plan the edits of one transport spec of @msg (@msg_len bytes): its
 * client_port= becomes @lo/@hi (in the spec's own form) when they differ,
 * and its destination= is handled as @act says.  For RTSP_DEST_AUTO,
 * @addr (@addr_len bytes, no brackets) is the router's address text and
 * @v6 says whether it is IPv6: a value that carried a port keeps one
 * (@lo), in brackets for IPv6.  Returns 0 or -1 (the plan is left as it
 * was before the call): -1 also when the ports differ but the spec has no
 * client_port=, or @addr is not an address literal of that family.
 */
int nf_rtsp_plan_spec(struct rtsp_plan *p, const char *msg, u32 msg_len,
		      const struct rtsp_tspec *spec, u16 lo, u16 hi,
		      enum rtsp_dest_action act, const char *addr, u32 addr_len,
		      bool v6);

/*
 * Apply @p to @in (@in_len bytes) into @out (@out_size bytes).  Returns
 * the new length, in_len + p->delta, or -1 when @out is too small or the
 * plan does not fit @in (or is not one nf_rtsp_plan_add() could build).
 * @out must not overlap @in.  The kernel applies the same edits to the
 * packet itself, last first.
 */
int nf_rtsp_plan_apply(const struct rtsp_plan *p, const char *in, u32 in_len,
		       char *out, u32 out_size);

#endif /* _RTSP_NAT_PLAN_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * Pure RTSP message and Transport header parser; see rtsp_parse.h.
 *
 * Written from RFC 2326 (sections 4, 6, 7, 10.12 and 12.39) and RFC 7826.
 * It is built both into the kernel module and into userspace tests, so it
 * uses no library at all: the few byte helpers it needs are below.  Every
 * loop only moves forward, so the cost is linear in the bytes looked at,
 * whatever the shape of the input.
 */
#include "rtsp_parse.h"

static bool rtspp_is_digit(u8 c)
{
	return c >= '0' && c <= '9';
}

static bool rtspp_is_ctl(u8 c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Byte classes, so that the per-byte tests of the scanning loops are one
 * table load each.  RTSPP_TCHAR: RFC 2326 section 15.1 token characters
 * (no CTLs, SP or tspecials).  RTSPP_VIS: visible bytes (above SP, not
 * DEL), UTF-8 included.  RTSPP_ELEM: the bytes that end or quote a
 * Transport element.
 */
#define RTSPP_TCHAR	0x01
#define RTSPP_VIS	0x02
#define RTSPP_ELEM	0x04
#define RTSPP_WS	0x08	/* SP, HT */
#define RTSPP_LWS	0x10	/* SP, HT, CR, LF */
#define RTSPP_UPPER	('a' - 'A')	/* A-Z; the bit that lowers them */
#define RTSPP_TOK	(RTSPP_TCHAR | RTSPP_VIS)

static const u8 rtspp_class[256] = {
	['\t'] = RTSPP_WS | RTSPP_LWS,
	['\n'] = RTSPP_LWS,
	['\r'] = RTSPP_LWS,
	[' '] = RTSPP_WS | RTSPP_LWS,
	['!'] = RTSPP_TOK,
	['"'] = RTSPP_VIS | RTSPP_ELEM,
	['#' ... '\''] = RTSPP_TOK,
	['(' ... ')'] = RTSPP_VIS,
	['*' ... '+'] = RTSPP_TOK,
	[','] = RTSPP_VIS | RTSPP_ELEM,
	['-' ... '.'] = RTSPP_TOK,
	['/'] = RTSPP_VIS,
	['0' ... '9'] = RTSPP_TOK,
	[':'] = RTSPP_VIS,
	[';'] = RTSPP_VIS | RTSPP_ELEM,
	['<' ... '@'] = RTSPP_VIS,
	['A' ... 'Z'] = RTSPP_TOK | RTSPP_UPPER,
	['[' ... ']'] = RTSPP_VIS,
	['^' ... 'z'] = RTSPP_TOK,
	['{'] = RTSPP_VIS,
	['|'] = RTSPP_TOK,
	['}'] = RTSPP_VIS,
	['~'] = RTSPP_TOK,
	[0x80 ... 0xff] = RTSPP_VIS,
};

static bool rtspp_is(u8 c, u8 class)
{
	return rtspp_class[c] & class;
}

static bool rtspp_is_ws(u8 c)
{
	return rtspp_is(c, RTSPP_WS);
}

/* Folded header values keep their CR LF, so Transport parsing skips them. */
static bool rtspp_is_lws(u8 c)
{
	return rtspp_is(c, RTSPP_LWS);
}

/*
 * Runs of uninteresting bytes (lines, URIs, Transport elements) are
 * skipped a word at a time: some byte of w is zero iff (w - 0x01..01) &
 * ~w & 0x80..80 is non-zero.  That is exact for the word as a whole, and
 * for its lowest byte so flagged (see rtspp_first()).  Words are loaded
 * with memcpy (unaligned) and never outside the bytes given.
 */
#define RTSPP_ONES	(~0UL / 0xff)
#define RTSPP_HIGHS	(RTSPP_ONES << 7)

static unsigned long rtspp_word(const char *p)
{
	unsigned long w;

	__builtin_memcpy(&w, p, sizeof(w));
	return w;
}

/* Non-zero when some byte of @w is below @c (at most 0x80). */
static unsigned long rtspp_has_below(unsigned long w, u8 c)
{
	return (w - RTSPP_ONES * c) & ~w & RTSPP_HIGHS;
}

/* Non-zero when some byte of @w is @c. */
static unsigned long rtspp_has(unsigned long w, u8 c)
{
	return rtspp_has_below(w ^ (RTSPP_ONES * c), 1);
}

/*
 * Little-endian: the lowest byte that rtspp_has() or rtspp_has_below()
 * flags is exact (no borrow reaches it from below), so its offset in the
 * word is the mask's trailing zero bits / 8.  Other byte orders find it
 * with a byte loop.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RTSPP_LE	1
#else
#define RTSPP_LE	0
#endif

static u32 rtspp_first(unsigned long mask)
{
	return __builtin_ctzl(mask) / 8;
}

/* The first @c in buf[i, e), or @e. */
static inline u32 rtspp_find(const char *buf, u32 i, u32 e, u8 c)
{
	unsigned long m, x;
	u32 b;

	for (; e - i >= sizeof(unsigned long); i += sizeof(unsigned long)) {
		m = rtspp_has(rtspp_word(buf + i), c);
		if (m) {
			if (RTSPP_LE)
				return i + rtspp_first(m);
			/* It is in this word: no bound needed. */
			while ((u8)buf[i] != c)
				i++;
			return i;
		}
	}
	/*
	 * Fewer bytes than a word: the word that ends at @e, its bytes
	 * before @i made 0xff (they neither match nor borrow).
	 */
	if (RTSPP_LE && i < e && e >= sizeof(unsigned long)) {
		b = e - sizeof(unsigned long);
		x = rtspp_word(buf + b) ^ (RTSPP_ONES * c);
		x |= (1UL << (8 * (i - b))) - 1;
		m = rtspp_has_below(x, 1);
		return m ? b + rtspp_first(m) : e;
	}
	while (i < e && (u8)buf[i] != c)
		i++;
	return i;
}

/* The first byte of buf[i, e) that is not visible (a CTL, SP or DEL), or @e. */
static u32 rtspp_vis_end(const char *buf, u32 i, u32 e)
{
	unsigned long w, m;

	for (; e - i >= sizeof(w); i += sizeof(w)) {
		w = rtspp_word(buf + i);
		m = rtspp_has_below(w, ' ' + 1) | rtspp_has(w, 0x7f);
		if (m) {
			if (RTSPP_LE)
				return i + rtspp_first(m);
			while (rtspp_is(buf[i], RTSPP_VIS))
				i++;
			return i;
		}
	}
	while (i < e && rtspp_is(buf[i], RTSPP_VIS))
		i++;
	return i;
}

static u8 rtspp_lower(u8 c)
{
	return c | (rtspp_class[c] & RTSPP_UPPER);
}

/*
 * Does buf[off, off + len) equal @lit, ignoring case?  @lit is @len bytes
 * long (the callers have checked) of lower-case letters and bytes below
 * 'a' such as '-' and '_'.
 *
 * Four bytes at a time, the last four overlapping when @len is not a
 * multiple of four.  ORing 0x20 into the input bytes where @lit has a
 * letter folds their case; elsewhere they must match exactly.  Adding
 * 0x1f to each byte of @lit sets the top bit of its letters, and only
 * theirs, without a carry between bytes.
 */
static bool rtspp_ieq(const char *buf, u32 off, u32 len, const char *lit)
{
	const char *p = buf + off;
	u32 i, a, l;

	if (len < 4) {
		for (i = 0; i < len; i++)
			if (rtspp_lower(p[i]) != (u8)lit[i])
				return false;
		return true;
	}
	for (i = 0;; i += 4) {
		if (i > len - 4)
			i = len - 4;
		__builtin_memcpy(&a, p + i, 4);
		__builtin_memcpy(&l, lit + i, 4);
		if ((a | (((l + 0x1f1f1f1fU) & 0x80808080U) >> 2)) != l)
			return false;
		if (i == len - 4)
			return true;
	}
}

/* Method names are case-sensitive (RFC 2326 section 6.1). */
static bool rtspp_eq(const char *buf, u32 off, u32 len, const char *lit)
{
	u32 i;

	for (i = 0; i < len; i++)
		if (!lit[i] || buf[off + i] != lit[i])
			return false;
	return !lit[len];
}

/*
 * Compare buf[i, e) with the start of @lit, @n bytes long: 1 when all of
 * @lit is there, 0 when the bytes run out while still matching, -1 on a
 * mismatch.
 */
static int rtspp_lit(const char *buf, u32 i, u32 e, const char *lit, u32 n)
{
	u32 k = 0, m = e - i < n ? e - i : n;
	u32 a, b;

	/* Usually it is all there: compare its first four bytes at once. */
	if (m == n && n >= 4) {
		__builtin_memcpy(&a, buf + i, 4);
		__builtin_memcpy(&b, lit, 4);
		if (a != b)
			return -1;
		k = 4;
	}
	for (; k < m; k++)
		if (buf[i + k] != lit[k])
			return -1;
	return m == n;
}

/* Shrink [*s, *e) past surrounding SP, HT, CR and LF. */
static inline void rtspp_trim(const char *buf, u32 *s, u32 *e)
{
	while (*s < *e && rtspp_is_lws(buf[*s]))
		(*s)++;
	while (*e > *s && rtspp_is_lws(buf[*e - 1]))
		(*e)--;
}

#define RTSPP_N_METHODS	(RTSP_METHOD_PLAY_NOTIFY + 1)

static const char * const rtspp_method_names[RTSPP_N_METHODS] = {
	[RTSP_METHOD_NONE]		= "NONE",
	[RTSP_METHOD_OTHER]		= "OTHER",
	[RTSP_METHOD_OPTIONS]		= "OPTIONS",
	[RTSP_METHOD_DESCRIBE]		= "DESCRIBE",
	[RTSP_METHOD_ANNOUNCE]		= "ANNOUNCE",
	[RTSP_METHOD_SETUP]		= "SETUP",
	[RTSP_METHOD_PLAY]		= "PLAY",
	[RTSP_METHOD_PAUSE]		= "PAUSE",
	[RTSP_METHOD_TEARDOWN]		= "TEARDOWN",
	[RTSP_METHOD_GET_PARAMETER]	= "GET_PARAMETER",
	[RTSP_METHOD_SET_PARAMETER]	= "SET_PARAMETER",
	[RTSP_METHOD_REDIRECT]		= "REDIRECT",
	[RTSP_METHOD_RECORD]		= "RECORD",
	[RTSP_METHOD_PLAY_NOTIFY]	= "PLAY_NOTIFY",
};

/* The first byte and the length leave at most one name to compare. */
static u8 rtspp_method_id(const char *buf, u32 off, u32 len)
{
	u8 m;

	switch (buf[off]) {
	case 'A':
		m = RTSP_METHOD_ANNOUNCE;
		break;
	case 'D':
		m = RTSP_METHOD_DESCRIBE;
		break;
	case 'G':
		m = RTSP_METHOD_GET_PARAMETER;
		break;
	case 'O':
		m = RTSP_METHOD_OPTIONS;
		break;
	case 'P':
		m = len == 4 ? RTSP_METHOD_PLAY :
		    len == 5 ? RTSP_METHOD_PAUSE : RTSP_METHOD_PLAY_NOTIFY;
		break;
	case 'R':
		m = len == 6 ? RTSP_METHOD_RECORD : RTSP_METHOD_REDIRECT;
		break;
	case 'S':
		m = len == 5 ? RTSP_METHOD_SETUP : RTSP_METHOD_SET_PARAMETER;
		break;
	case 'T':
		m = RTSP_METHOD_TEARDOWN;
		break;
	default:
		return RTSP_METHOD_OTHER;
	}
	return rtspp_eq(buf, off, len, rtspp_method_names[m]) ?
	       m : RTSP_METHOD_OTHER;
}

const char *nf_rtsp_method_name(const struct rtsp_msg *msg)
{
	switch (msg->type) {
	case RTSP_MSG_RESPONSE:
		return "RESPONSE";
	case RTSP_MSG_INTERLEAVED:
		return "INTERLEAVED";
	case RTSP_MSG_REQUEST:
		if (msg->method < RTSPP_N_METHODS)
			return rtspp_method_names[msg->method];
		break;
	}
	return "UNKNOWN";
}

/*
 * Find the line that starts at @i.  On RTSP_PARSE_OK, *@eol is the end of
 * its text (a CR before the LF is not part of it) and *@next the start of
 * the following line.  With no LF yet, *@eol is the end of what is there
 * (less a final CR, which may be half of a CR LF) and the result is
 * RTSP_PARSE_INCOMPLETE.  Only RTSP_MAX_LINE + 2 bytes are ever looked at.
 */
static inline enum rtsp_parse_result rtspp_line(const char *buf, u32 len,
						u32 i, u32 *eol, u32 *next)
{
	u32 lim = len - i > RTSP_MAX_LINE + 2 ? i + RTSP_MAX_LINE + 2 : len;
	u32 j = rtspp_find(buf, i, lim, '\n');

	if (j == lim) {
		if (lim < len)
			return RTSP_PARSE_INVALID;
		if (j > i && buf[j - 1] == '\r')
			j--;
		*eol = j;
		return j - i > RTSP_MAX_LINE ? RTSP_PARSE_INVALID :
					       RTSP_PARSE_INCOMPLETE;
	}
	*next = j + 1;
	if (j > i && buf[j - 1] == '\r')
		j--;
	*eol = j;
	return j - i > RTSP_MAX_LINE ? RTSP_PARSE_INVALID : RTSP_PARSE_OK;
}

/*
 * "RTSP/" 1*DIGIT "." 1*DIGIT at *@ip.  RTSP_PARSE_INCOMPLETE here only
 * means that the bytes ran out while the text still matched.
 */
static enum rtsp_parse_result rtspp_version(const char *buf, u32 *ip, u32 e)
{
	u32 i = *ip, d;
	u64 v, w;
	int r;

	/* Nearly always "RTSP/1.0", not followed by another digit. */
	if (e - i >= 8) {
		__builtin_memcpy(&v, buf + i, 8);
		__builtin_memcpy(&w, "RTSP/1.0", 8);
		if (v == w && (e - i == 8 || !rtspp_is_digit(buf[i + 8]))) {
			*ip = i + 8;
			return RTSP_PARSE_OK;
		}
	}
	r = rtspp_lit(buf, i, e, "RTSP/", 5);
	if (r <= 0)
		return r ? RTSP_PARSE_INVALID : RTSP_PARSE_INCOMPLETE;
	i += 5;
	for (d = i; i < e && rtspp_is_digit(buf[i]); i++)
		;
	if (i == e)
		return RTSP_PARSE_INCOMPLETE;
	if (i == d || buf[i] != '.')
		return RTSP_PARSE_INVALID;
	for (d = ++i; i < e && rtspp_is_digit(buf[i]); i++)
		;
	*ip = i;
	if (i == d)
		return i == e ? RTSP_PARSE_INCOMPLETE : RTSP_PARSE_INVALID;
	return RTSP_PARSE_OK;
}

/*
 * Check the start line buf[i, e).  @whole is false when its LF has not
 * arrived: running out of bytes is then INCOMPLETE rather than INVALID, so
 * that a segment cut anywhere inside a good line is waited for.
 */
static enum rtsp_parse_result rtspp_start_line(const char *buf, u32 i,
					       u32 e, bool whole,
					       struct rtsp_msg *msg)
{
	enum rtsp_parse_result out, r;
	u32 m, k;

	out = whole ? RTSP_PARSE_INVALID : RTSP_PARSE_INCOMPLETE;
	m = i;
	r = rtspp_version(buf, &i, e);
	if (r == RTSP_PARSE_OK) {
		/* Status-Line: RTSP-Version SP Status-Code [SP Reason] */
		msg->type = RTSP_MSG_RESPONSE;
		if (i == e)
			return out;
		if (!rtspp_is_ws(buf[i]))
			return RTSP_PARSE_INVALID;
		while (i < e && rtspp_is_ws(buf[i]))
			i++;
		for (k = 0; k < 3; k++, i++) {
			if (i == e)
				return out;
			if (!rtspp_is_digit(buf[i]))
				return RTSP_PARSE_INVALID;
			msg->status = msg->status * 10 + (buf[i] - '0');
		}
		if (msg->status < 100 || (i < e && !rtspp_is_ws(buf[i])))
			return RTSP_PARSE_INVALID;
		for (; i < e; i++)
			if (buf[i] != '\t' && rtspp_is_ctl(buf[i]))
				return RTSP_PARSE_INVALID;
		return whole ? RTSP_PARSE_OK : RTSP_PARSE_INCOMPLETE;
	}
	/* Cut inside the version: wait (a bare "RTS" may be a method too). */
	if (r == RTSP_PARSE_INCOMPLETE)
		return out;

	/* Request-Line: Method SP Request-URI SP RTSP-Version */
	i = m;
	while (i < e && rtspp_is(buf[i], RTSPP_TCHAR))
		i++;
	if (i == e)
		return out;
	if (i == m || !rtspp_is_ws(buf[i]))
		return RTSP_PARSE_INVALID;
	msg->type = RTSP_MSG_REQUEST;
	msg->method = rtspp_method_id(buf, m, i - m);
	while (i < e && rtspp_is_ws(buf[i]))
		i++;
	/* The URI: any visible bytes, including UTF-8 sent by some boxes. */
	m = i;
	i = rtspp_vis_end(buf, i, e);
	if (i == e)
		return out;
	msg->uri = (struct rtsp_span){ m, i - m };
	if (!rtspp_is_ws(buf[i]))
		return RTSP_PARSE_INVALID;
	while (i < e && rtspp_is_ws(buf[i]))
		i++;
	r = rtspp_version(buf, &i, e);
	if (r != RTSP_PARSE_OK)
		return r == RTSP_PARSE_INCOMPLETE ? out : r;
	while (i < e && rtspp_is_ws(buf[i]))
		i++;
	if (i != e)
		return RTSP_PARSE_INVALID;
	return whole ? RTSP_PARSE_OK : RTSP_PARSE_INCOMPLETE;
}

enum rtspp_hdr {
	RTSPP_HDR_OTHER,
	RTSPP_HDR_TRANSPORT,
	RTSPP_HDR_SESSION,
	RTSPP_HDR_CSEQ,
	RTSPP_HDR_CONTENT_LENGTH,
};

/* The length alone leaves at most one name to compare. */
static enum rtspp_hdr rtspp_hdr_id(const char *buf, u32 off, u32 len)
{
	switch (len) {
	case 4:
		if (rtspp_ieq(buf, off, len, "cseq"))
			return RTSPP_HDR_CSEQ;
		break;
	case 7:
		if (rtspp_ieq(buf, off, len, "session"))
			return RTSPP_HDR_SESSION;
		break;
	case 9:
		if (rtspp_ieq(buf, off, len, "transport"))
			return RTSPP_HDR_TRANSPORT;
		break;
	case 14:
		if (rtspp_ieq(buf, off, len, "content-length"))
			return RTSPP_HDR_CONTENT_LENGTH;
		break;
	}
	return RTSPP_HDR_OTHER;
}

/* Header parsing state carried from one line to the next. */
struct rtspp_hdr_state {
	enum rtspp_hdr id;	/* header whose value is open */
	u32 vs, ve;		/* its value so far, folded lines included */
	bool session, cseq, clen;	/* first one already taken */
};

/*
 * The value of the header in @h, one we look at, is complete: record what
 * we need of it.
 */
static enum rtsp_parse_result rtspp_hdr_done(const char *buf,
					     struct rtspp_hdr_state *h,
					     struct rtsp_msg *msg)
{
	u32 s = h->vs, e = h->ve, i, v;

	rtspp_trim(buf, &s, &e);
	switch (h->id) {
	case RTSPP_HDR_OTHER:
		break;
	case RTSPP_HDR_TRANSPORT:
		if (!msg->n_transport) {
			msg->transport.off = s;
			msg->transport.len = e - s;
		}
		if (msg->n_transport < 255)
			msg->n_transport++;
		break;
	case RTSPP_HDR_SESSION:
		/* session-id [ ";" "timeout" "=" delta-seconds ] */
		if (h->session)
			break;
		h->session = true;
		i = rtspp_find(buf, s, e, ';');
		rtspp_trim(buf, &s, &i);
		msg->session.off = s;
		msg->session.len = i - s;
		break;
	case RTSPP_HDR_CSEQ:
		if (h->cseq)
			break;
		h->cseq = true;
		msg->cseq.off = s;
		msg->cseq.len = e - s;
		break;
	case RTSPP_HDR_CONTENT_LENGTH:
		/*
		 * A body we cannot delimit would make us parse payload as
		 * headers, so anything doubtful here is invalid.
		 */
		if (s == e)
			return RTSP_PARSE_INVALID;
		for (v = 0, i = s; i < e; i++) {
			if (!rtspp_is_digit(buf[i]))
				return RTSP_PARSE_INVALID;
			v = v * 10 + (buf[i] - '0');
			if (v > RTSP_MAX_CONTENT_LENGTH)
				return RTSP_PARSE_INVALID;
		}
		if (h->clen && v != msg->content_length)
			return RTSP_PARSE_INVALID;
		h->clen = true;
		msg->content_length = v;
		break;
	}
	h->id = RTSPP_HDR_OTHER;
	return RTSP_PARSE_OK;
}

enum rtsp_parse_result nf_rtsp_parse_msg(const char *buf, u32 len,
					 struct rtsp_msg *msg)
{
	struct rtspp_hdr_state h = { .id = RTSPP_HDR_OTHER };
	enum rtsp_parse_result r;
	bool in_hdr = false;
	u32 i = 0, eol, next = 0, n;
	const u8 *p;

	*msg = (struct rtsp_msg){ .type = RTSP_MSG_REQUEST };

	/* Empty lines between messages (RFC 2326 section 4). */
	while (i < len && (buf[i] == '\r' || buf[i] == '\n')) {
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return RTSP_PARSE_INCOMPLETE;
			if (buf[i + 1] != '\n')
				return RTSP_PARSE_INVALID;
			i++;
		}
		i++;
	}
	if (i == len)
		return RTSP_PARSE_INCOMPLETE;
	msg->start = i;

	/* '$', channel, 16-bit big-endian length, data (section 10.12). */
	if (buf[i] == '$') {
		if (len - i < 4)
			return RTSP_PARSE_INCOMPLETE;
		n = (u8)buf[i + 2] << 8 | (u8)buf[i + 3];
		msg->type = RTSP_MSG_INTERLEAVED;
		msg->hdr_len = i + 4;
		msg->content_length = n;
		msg->len = i + 4 + n;
		if (len - i - 4 < n)
			return RTSP_PARSE_INCOMPLETE;
		return RTSP_PARSE_OK;
	}

	r = rtspp_line(buf, len, i, &eol, &next);
	if (r == RTSP_PARSE_OK)
		r = rtspp_start_line(buf, i, eol, true, msg);
	else if (r == RTSP_PARSE_INCOMPLETE)
		r = rtspp_start_line(buf, i, eol, false, msg);
	if (r != RTSP_PARSE_OK)
		return r;

	for (i = next;; i = next) {
		r = rtspp_line(buf, len, i, &eol, &next);
		if (r != RTSP_PARSE_OK)
			return r;
		if (eol == i)
			break;
		if (rtspp_is_ws(buf[i])) {
			/* A folded line continues the header above it. */
			if (!in_hdr)
				return RTSP_PARSE_INVALID;
			h.ve = eol;
			continue;
		}
		if (h.id != RTSPP_HDR_OTHER &&
		    rtspp_hdr_done(buf, &h, msg) != RTSP_PARSE_OK)
			return RTSP_PARSE_INVALID;
		/*
		 * field-name [SP/HT] ":" value; a line without ':' is bad.
		 * buf[eol] is the CR or LF, which stops both loops.
		 */
		for (p = (const u8 *)buf + i; rtspp_is(*p, RTSPP_TCHAR); p++)
			;
		n = p - (const u8 *)buf;
		h.id = rtspp_hdr_id(buf, i, n - i);
		while (rtspp_is_ws(buf[n]))
			n++;
		if (n == i || n == eol || buf[n] != ':')
			return RTSP_PARSE_INVALID;
		h.vs = n + 1;
		h.ve = eol;
		in_hdr = true;
	}
	if (h.id != RTSPP_HDR_OTHER &&
	    rtspp_hdr_done(buf, &h, msg) != RTSP_PARSE_OK)
		return RTSP_PARSE_INVALID;

	msg->hdr_len = next;
	msg->len = next + msg->content_length;
	if (len - next < msg->content_length)
		return RTSP_PARSE_INCOMPLETE;
	return RTSP_PARSE_OK;
}

/* The first ';', ',' or '"' in buf[i, e), or @e. */
static u32 rtspp_find_elem(const char *buf, u32 i, u32 e)
{
	unsigned long w, m;

	for (; e - i >= sizeof(w); i += sizeof(w)) {
		w = rtspp_word(buf + i);
		m = rtspp_has(w, ';') | rtspp_has(w, ',') | rtspp_has(w, '"');
		if (m) {
			if (RTSPP_LE)
				return i + rtspp_first(m);
			while (!rtspp_is(buf[i], RTSPP_ELEM))
				i++;
			return i;
		}
	}
	while (i < e && !rtspp_is(buf[i], RTSPP_ELEM))
		i++;
	return i;
}

/*
 * End of the element (a spec, or a parameter of one) starting at @i: the
 * first ';' or ',' outside double quotes, or @e.  Inside quotes a
 * backslash escapes the next byte (RFC 7826 quoted-pair).  False when a
 * quote is left open.
 */
static inline bool rtspp_elem_end(const char *buf, u32 i, u32 e, u32 *end)
{
	for (;;) {
		i = rtspp_find_elem(buf, i, e);
		if (i == e || buf[i] != '"')
			break;
		/* A quoted string: only '\\' and its closing '"' count. */
		for (i++; i < e && buf[i] != '"'; i++)
			if (buf[i] == '\\')
				i++;
		if (i >= e) {
			*end = e;
			return false;
		}
		i++;
	}
	*end = i;
	return true;
}

/* One port: 1 to 5 digits, 1..65535. */
static int rtspp_port(const char *buf, u32 *ip, u32 e, u16 *port)
{
	u32 i = *ip, v = 0;

	for (; i < e && rtspp_is_digit(buf[i]); i++) {
		if (i - *ip == 5)
			return -1;
		v = v * 10 + (buf[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = v;
	*ip = i;
	return 0;
}

/* "N", "N-M" with M >= N, or "N/M" (kept as sent, odd N too). */
static int rtspp_ports(const char *buf, u32 s, u32 e, struct rtsp_ports *p)
{
	u32 i = s;
	char sep;

	if (rtspp_port(buf, &i, e, &p->lo))
		return -1;
	p->hi = p->lo;
	if (i < e) {
		sep = buf[i++];
		if (sep != '-' && sep != '/')
			return -1;
		if (rtspp_port(buf, &i, e, &p->hi))
			return -1;
		if (sep == '-' && p->hi < p->lo)
			return -1;
		p->sep = sep;
	}
	if (i != e)
		return -1;
	p->val.off = s;
	p->val.len = e - s;
	return 0;
}

/* transport-protocol "/" profile ["/" lower-transport], e.g. RTP/AVP/TCP */
static int rtspp_lower_transport(const char *buf, u32 s, u32 e,
				 struct rtsp_tspec *t)
{
	u32 ls, le;

	rtspp_trim(buf, &s, &e);
	if (s == e)
		return -1;
	/* The lower transport is between the second and a third '/'. */
	ls = rtspp_find(buf, s, e, '/');
	if (ls < e)
		ls = rtspp_find(buf, ls + 1, e, '/');
	if (ls == e) {
		t->lower = RTSP_LOWER_UDP;
		return 0;
	}
	ls++;
	le = rtspp_find(buf, ls, e, '/');
	rtspp_trim(buf, &ls, &le);
	if (le - ls == 3 && rtspp_ieq(buf, ls, 3, "udp"))
		t->lower = RTSP_LOWER_UDP;
	else if (le - ls == 3 && rtspp_ieq(buf, ls, 3, "tcp"))
		t->lower = RTSP_LOWER_TCP;
	else
		t->lower = RTSP_LOWER_OTHER;
	return 0;
}

enum rtspp_tparam {
	RTSPP_TP_OTHER,
	RTSPP_TP_UNICAST,
	RTSPP_TP_MULTICAST,
	RTSPP_TP_INTERLEAVED,
	RTSPP_TP_CLIENT_PORT,
	RTSPP_TP_SERVER_PORT,
	RTSPP_TP_DESTINATION,
	RTSPP_TP_SOURCE,
	RTSPP_TP_MODE,
};

static const char * const rtspp_tparam_names[] = {
	[RTSPP_TP_UNICAST]	= "unicast",
	[RTSPP_TP_MULTICAST]	= "multicast",
	[RTSPP_TP_INTERLEAVED]	= "interleaved",
	[RTSPP_TP_CLIENT_PORT]	= "client_port",
	[RTSPP_TP_SERVER_PORT]	= "server_port",
	[RTSPP_TP_DESTINATION]	= "destination",
	[RTSPP_TP_SOURCE]	= "source",
	[RTSPP_TP_MODE]		= "mode",
};

/* The length and first letter leave at most one name to compare. */
static enum rtspp_tparam rtspp_tparam_id(const char *buf, u32 off, u32 len)
{
	enum rtspp_tparam p;

	switch (len) {
	case 4:
		p = RTSPP_TP_MODE;
		break;
	case 6:
		p = RTSPP_TP_SOURCE;
		break;
	case 7:
		p = RTSPP_TP_UNICAST;
		break;
	case 9:
		p = RTSPP_TP_MULTICAST;
		break;
	case 11:
		switch (rtspp_lower(buf[off])) {
		case 'c':
			p = RTSPP_TP_CLIENT_PORT;
			break;
		case 'd':
			p = RTSPP_TP_DESTINATION;
			break;
		case 'i':
			p = RTSPP_TP_INTERLEAVED;
			break;
		case 's':
			p = RTSPP_TP_SERVER_PORT;
			break;
		default:
			return RTSPP_TP_OTHER;
		}
		break;
	default:
		return RTSPP_TP_OTHER;
	}
	return rtspp_ieq(buf, off, len, rtspp_tparam_names[p]) ?
	       p : RTSPP_TP_OTHER;
}

#define RTSPP_SEEN_CLIENT	0x1
#define RTSPP_SEEN_SERVER	0x2
#define RTSPP_SEEN_DEST		0x4
#define RTSPP_SEEN_SOURCE	0x8
#define RTSPP_SEEN_MODE		0x10

/*
 * The parameter after the ';' at @semi, up to @e.  Unknown parameters
 * (ttl, layers, ssrc, ...) are ignored.  A repeated port or destination
 * parameter is refused: a NAT helper would rewrite or strip only one.
 */
static int rtspp_tparam(const char *buf, u32 semi, u32 e,
			struct rtsp_tspec *t, u8 *seen)
{
	u32 ns = semi + 1, ne, vs, ve;
	struct rtsp_span *span;
	u8 bit;

	ne = rtspp_find(buf, ns, e, '=');
	vs = ne < e ? ne + 1 : e;
	ve = e;
	rtspp_trim(buf, &ns, &ne);
	if (ns == ne)
		return 0;

	switch (rtspp_tparam_id(buf, ns, ne - ns)) {
	case RTSPP_TP_UNICAST:
		t->cast = RTSP_CAST_UNICAST;
		return 0;
	case RTSPP_TP_MULTICAST:
		t->cast = RTSP_CAST_MULTICAST;
		return 0;
	case RTSPP_TP_INTERLEAVED:
		t->interleaved = true;
		return 0;
	case RTSPP_TP_CLIENT_PORT:
		if (*seen & RTSPP_SEEN_CLIENT)
			return -1;
		*seen |= RTSPP_SEEN_CLIENT;
		rtspp_trim(buf, &vs, &ve);
		return rtspp_ports(buf, vs, ve, &t->client);
	case RTSPP_TP_SERVER_PORT:
		if (*seen & RTSPP_SEEN_SERVER)
			return -1;
		*seen |= RTSPP_SEEN_SERVER;
		rtspp_trim(buf, &vs, &ve);
		return rtspp_ports(buf, vs, ve, &t->server);
	case RTSPP_TP_DESTINATION:
		if (*seen & RTSPP_SEEN_DEST)
			return -1;
		/* Where the parameter's text ends, for destination_param. */
		while (e > ne && rtspp_is_lws(buf[e - 1]))
			e--;
		t->destination_param.off = semi;
		t->destination_param.len = e - semi;
		span = &t->destination;
		bit = RTSPP_SEEN_DEST;
		break;
	case RTSPP_TP_SOURCE:
		span = &t->source;
		bit = RTSPP_SEEN_SOURCE;
		break;
	case RTSPP_TP_MODE:
		span = &t->mode;
		bit = RTSPP_SEEN_MODE;
		break;
	default:
		return 0;
	}
	if (*seen & bit)
		return 0;
	*seen |= bit;
	rtspp_trim(buf, &vs, &ve);
	/* Report a quoted value (mode="PLAY") without its quotes. */
	if (ve - vs >= 2 && buf[vs] == '"' && buf[ve - 1] == '"') {
		vs++;
		ve--;
	}
	span->off = vs;
	span->len = ve - vs;
	return 0;
}

int nf_rtsp_transport_next(const char *buf, struct rtsp_span val, u32 *pos,
			   struct rtsp_tspec *spec)
{
	u32 b = val.off, e = val.off + val.len, i, s, q, semi;
	bool bad = false;
	u8 seen = 0;

	if (*pos >= val.len) {
		*pos = val.len;
		return 0;
	}
	/* Empty alternatives (",,") are skipped, not reported as bad. */
	for (i = b + *pos; i < e; i++)
		if (!rtspp_is_lws(buf[i]) && buf[i] != ',')
			break;
	if (i == e) {
		*pos = val.len;
		return 0;
	}

	*spec = (struct rtsp_tspec){ .lower = RTSP_LOWER_UDP };
	s = i;
	if (!rtspp_elem_end(buf, s, e, &q))
		bad = true;
	if (rtspp_lower_transport(buf, s, q, spec))
		bad = true;
	while (q < e && buf[q] == ';') {
		semi = q;
		if (!rtspp_elem_end(buf, semi + 1, e, &q))
			bad = true;
		if (!bad && rtspp_tparam(buf, semi, q, spec, &seen))
			bad = true;
	}
	/* Here q is at the ',' ending this spec, or at the end. */
	*pos = (q < e ? q + 1 : e) - b;
	if (bad)
		return -1;
	rtspp_trim(buf, &s, &q);
	spec->spec.off = s;
	spec->spec.len = q - s;
	return 1;
}

/*
 * The host of an absolute rtsp:// (rtsps://, rtspu://) URI: after the
 * scheme and any userinfo ("user:pass@"), up to the port, the path, a
 * query or the end; without the brackets of an IPv6 literal.  Nothing is
 * checked beyond that: the caller decides what a host may be.
 */
bool nf_rtsp_uri_host(const char *buf, struct rtsp_span uri,
		      struct rtsp_span *host)
{
	static const char scheme[] = "rtsp";
	u32 i = uri.off, e = uri.off + uri.len, a, at, k;

	*host = (struct rtsp_span){ 0, 0 };
	if (uri.len < sizeof(scheme) - 1 ||
	    !rtspp_ieq(buf, i, sizeof(scheme) - 1, scheme))
		return false;
	i += sizeof(scheme) - 1;
	if (i < e && (rtspp_lower(buf[i]) == 's' || rtspp_lower(buf[i]) == 'u'))
		i++;
	if (e - i < 3 || buf[i] != ':' || buf[i + 1] != '/' || buf[i + 2] != '/')
		return false;
	i += 3;
	/* The authority ends at the path, a query or a fragment. */
	for (a = i; a < e && buf[a] != '/' && buf[a] != '?' && buf[a] != '#';
	     a++)
		;
	for (at = i, k = i; k < a; k++)
		if (buf[k] == '@')
			at = k + 1;
	i = at;
	if (i < a && buf[i] == '[') {
		for (k = i + 1; k < a && buf[k] != ']'; k++)
			if (buf[k] == '[')
				return false;
		if (k == a || k == i + 1 || (k + 1 < a && buf[k + 1] != ':'))
			return false;
		*host = (struct rtsp_span){ i + 1, k - i - 1 };
		return true;
	}
	for (k = i; k < a && buf[k] != ':'; k++)
		if (buf[k] == '[' || buf[k] == ']')
			return false;
	if (k == i)
		return false;
	*host = (struct rtsp_span){ i, k - i };
	return true;
}

/*
 * "client_port" has one 'c', its first byte, and no border: on a mismatch
 * the match starts again at that byte or not at all.
 */
u32 nf_rtsp_client_port_scan(const char *buf, u32 len, u32 matched)
{
	static const char word[] = "client_port";
	u32 i;
	u8 c;

	if (matched >= RTSP_CLIENT_PORT_FOUND)
		return RTSP_CLIENT_PORT_FOUND;
	for (i = 0; i < len; i++) {
		c = rtspp_lower(buf[i]);
		if (c == (u8)word[matched])
			matched++;
		else
			matched = c == 'c';
		if (matched == RTSP_CLIENT_PORT_FOUND)
			break;
	}
	return matched;
}

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

static bool rtspp_is_ws(u8 c)
{
	return c == ' ' || c == '\t';
}

/* Folded header values keep their CR LF, so Transport parsing skips them. */
static bool rtspp_is_lws(u8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool rtspp_is_digit(u8 c)
{
	return c >= '0' && c <= '9';
}

static bool rtspp_is_ctl(u8 c)
{
	return c < 0x20 || c == 0x7f;
}

/* RFC 2326 section 15.1 token characters: no CTLs, SP or tspecials. */
static bool rtspp_is_tchar(u8 c)
{
	if (c <= ' ' || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '<': case '>': case '@':
	case ',': case ';': case ':': case '\\': case '"':
	case '/': case '[': case ']': case '?': case '=':
	case '{': case '}':
		return false;
	}
	return true;
}

static u8 rtspp_lower(u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Does buf[off, off + len) equal the lower-case @lit, ignoring case? */
static bool rtspp_ieq(const char *buf, u32 off, u32 len, const char *lit)
{
	u32 i;

	for (i = 0; i < len; i++)
		if (!lit[i] || rtspp_lower(buf[off + i]) != (u8)lit[i])
			return false;
	return !lit[len];
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
 * Compare buf[i, e) with the start of @lit: 1 when all of @lit is there,
 * 0 when the bytes run out while still matching, -1 on a mismatch.
 */
static int rtspp_lit(const char *buf, u32 i, u32 e, const char *lit)
{
	for (; *lit; lit++, i++) {
		if (i == e)
			return 0;
		if (buf[i] != *lit)
			return -1;
	}
	return 1;
}

/* Shrink [*s, *e) past surrounding SP, HT, CR and LF. */
static void rtspp_trim(const char *buf, u32 *s, u32 *e)
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

static u8 rtspp_method_id(const char *buf, u32 off, u32 len)
{
	u32 m;

	for (m = RTSP_METHOD_OPTIONS; m < RTSPP_N_METHODS; m++)
		if (rtspp_eq(buf, off, len, rtspp_method_names[m]))
			return m;
	return RTSP_METHOD_OTHER;
}

const char *rtsp_method_name(const struct rtsp_msg *msg)
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
static enum rtsp_parse_result rtspp_line(const char *buf, u32 len, u32 i,
					 u32 *eol, u32 *next)
{
	u32 lim = len - i > RTSP_MAX_LINE + 2 ? i + RTSP_MAX_LINE + 2 : len;
	u32 j;

	for (j = i; j < lim; j++)
		if (buf[j] == '\n')
			break;
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
	int r;

	r = rtspp_lit(buf, i, e, "RTSP/");
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
	while (i < e && rtspp_is_tchar(buf[i]))
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
	while (i < e && (u8)buf[i] > ' ' && buf[i] != 0x7f)
		i++;
	if (i == e)
		return out;
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

static enum rtspp_hdr rtspp_hdr_id(const char *buf, u32 off, u32 len)
{
	if (rtspp_ieq(buf, off, len, "transport"))
		return RTSPP_HDR_TRANSPORT;
	if (rtspp_ieq(buf, off, len, "session"))
		return RTSPP_HDR_SESSION;
	if (rtspp_ieq(buf, off, len, "cseq"))
		return RTSPP_HDR_CSEQ;
	if (rtspp_ieq(buf, off, len, "content-length"))
		return RTSPP_HDR_CONTENT_LENGTH;
	return RTSPP_HDR_OTHER;
}

/* Header parsing state carried from one line to the next. */
struct rtspp_hdr_state {
	enum rtspp_hdr id;	/* header whose value is open */
	u32 vs, ve;		/* its value so far, folded lines included */
	bool session, cseq, clen;	/* first one already taken */
};

/* The value of the header in @h is complete: record what we need of it. */
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
		for (i = s; i < e && buf[i] != ';'; i++)
			;
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

enum rtsp_parse_result rtsp_parse_msg(const char *buf, u32 len,
				      struct rtsp_msg *msg)
{
	struct rtspp_hdr_state h = { .id = RTSPP_HDR_OTHER };
	enum rtsp_parse_result r;
	bool in_hdr = false;
	u32 i = 0, eol, next, n;

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
		if (rtspp_hdr_done(buf, &h, msg) != RTSP_PARSE_OK)
			return RTSP_PARSE_INVALID;
		/* field-name [SP/HT] ":" value; a line without ':' is bad */
		for (n = i; n < eol && rtspp_is_tchar(buf[n]); n++)
			;
		h.id = rtspp_hdr_id(buf, i, n - i);
		while (n < eol && rtspp_is_ws(buf[n]))
			n++;
		if (n == i || n == eol || buf[n] != ':')
			return RTSP_PARSE_INVALID;
		h.vs = n + 1;
		h.ve = eol;
		in_hdr = true;
	}
	if (rtspp_hdr_done(buf, &h, msg) != RTSP_PARSE_OK)
		return RTSP_PARSE_INVALID;

	msg->hdr_len = next;
	msg->len = next + msg->content_length;
	if (len - next < msg->content_length)
		return RTSP_PARSE_INCOMPLETE;
	return RTSP_PARSE_OK;
}

/*
 * End of the element (a spec, or a parameter of one) starting at @i: the
 * first ';' or ',' outside double quotes, or @e.  Inside quotes a
 * backslash escapes the next byte (RFC 7826 quoted-pair).  False when a
 * quote is left open.
 */
static bool rtspp_elem_end(const char *buf, u32 i, u32 e, u32 *end)
{
	bool quoted = false;

	for (; i < e; i++) {
		if (quoted) {
			if (buf[i] == '\\')
				i++;
			else if (buf[i] == '"')
				quoted = false;
		} else if (buf[i] == '"') {
			quoted = true;
		} else if (buf[i] == ';' || buf[i] == ',') {
			break;
		}
	}
	*end = i < e ? i : e;
	return !quoted;
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
	u32 i, slashes = 0, ls = e, le = e;

	rtspp_trim(buf, &s, &e);
	if (s == e)
		return -1;
	for (i = s; i < e; i++) {
		if (buf[i] != '/')
			continue;
		if (++slashes == 2) {
			ls = i + 1;
		} else if (slashes == 3) {
			le = i;
			break;
		}
	}
	if (slashes < 2) {
		t->lower = RTSP_LOWER_UDP;
		return 0;
	}
	rtspp_trim(buf, &ls, &le);
	if (rtspp_ieq(buf, ls, le - ls, "udp"))
		t->lower = RTSP_LOWER_UDP;
	else if (rtspp_ieq(buf, ls, le - ls, "tcp"))
		t->lower = RTSP_LOWER_TCP;
	else
		t->lower = RTSP_LOWER_OTHER;
	return 0;
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

	for (ne = ns; ne < e && buf[ne] != '='; ne++)
		;
	vs = ne < e ? ne + 1 : e;
	ve = e;
	rtspp_trim(buf, &ns, &ne);
	rtspp_trim(buf, &vs, &ve);
	if (ns == ne)
		return 0;
	/* Where the parameter's text ends, for destination_param. */
	while (e > ne && rtspp_is_lws(buf[e - 1]))
		e--;

	if (rtspp_ieq(buf, ns, ne - ns, "unicast")) {
		t->cast = RTSP_CAST_UNICAST;
		return 0;
	}
	if (rtspp_ieq(buf, ns, ne - ns, "multicast")) {
		t->cast = RTSP_CAST_MULTICAST;
		return 0;
	}
	if (rtspp_ieq(buf, ns, ne - ns, "interleaved")) {
		t->interleaved = true;
		return 0;
	}
	if (rtspp_ieq(buf, ns, ne - ns, "client_port")) {
		if (*seen & RTSPP_SEEN_CLIENT)
			return -1;
		*seen |= RTSPP_SEEN_CLIENT;
		return rtspp_ports(buf, vs, ve, &t->client);
	}
	if (rtspp_ieq(buf, ns, ne - ns, "server_port")) {
		if (*seen & RTSPP_SEEN_SERVER)
			return -1;
		*seen |= RTSPP_SEEN_SERVER;
		return rtspp_ports(buf, vs, ve, &t->server);
	}

	if (rtspp_ieq(buf, ns, ne - ns, "destination")) {
		if (*seen & RTSPP_SEEN_DEST)
			return -1;
		t->destination_param.off = semi;
		t->destination_param.len = e - semi;
		span = &t->destination;
		bit = RTSPP_SEEN_DEST;
	} else if (rtspp_ieq(buf, ns, ne - ns, "source")) {
		span = &t->source;
		bit = RTSPP_SEEN_SOURCE;
	} else if (rtspp_ieq(buf, ns, ne - ns, "mode")) {
		span = &t->mode;
		bit = RTSPP_SEEN_MODE;
	} else {
		return 0;
	}
	if (*seen & bit)
		return 0;
	*seen |= bit;
	/* Report a quoted value (mode="PLAY") without its quotes. */
	if (ve - vs >= 2 && buf[vs] == '"' && buf[ve - 1] == '"') {
		vs++;
		ve--;
	}
	span->off = vs;
	span->len = ve - vs;
	return 0;
}

int rtsp_transport_next(const char *buf, struct rtsp_span val, u32 *pos,
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

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure RTSP message and Transport header parser.
 *
 * Shared verbatim by the kernel module (rtsp_parse.o is linked into
 * nf_conntrack_rtsp) and by the userspace unit tests, benchmarks and fuzzer.
 * It takes a byte buffer and its length and never reads outside it, never
 * allocates, never locks, never writes to the buffer.  The buffer need not
 * be NUL-terminated and may contain NUL bytes.  A function given a span
 * of the buffer may read the buffer's bytes before the span too, so all
 * of buf[0, span end) must be readable.
 *
 * All offsets it returns are relative to the start of the buffer it was
 * given, so that a NAT helper can rewrite the bytes in place later.
 */
#ifndef _RTSP_PARSE_H
#define _RTSP_PARSE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
#endif

/* A Content-Length above this makes a message invalid, not incomplete. */
#define RTSP_MAX_CONTENT_LENGTH	(16U << 20)
/* A start line or a header line longer than this is invalid. */
#define RTSP_MAX_LINE		4096U

enum rtsp_parse_result {
	RTSP_PARSE_OK,		/* one whole message; @msg is filled in */
	RTSP_PARSE_INCOMPLETE,	/* a plausible prefix; wait for more bytes */
	RTSP_PARSE_INVALID,	/* not RTSP, or malformed beyond recovery */
};

enum rtsp_msg_type {
	RTSP_MSG_REQUEST,
	RTSP_MSG_RESPONSE,
	RTSP_MSG_INTERLEAVED,	/* '$' channel len16 binary frame (RFC 2326 10.12) */
};

enum rtsp_method {
	RTSP_METHOD_NONE,	/* responses and interleaved frames */
	RTSP_METHOD_OTHER,	/* a well-formed extension method */
	RTSP_METHOD_OPTIONS,
	RTSP_METHOD_DESCRIBE,
	RTSP_METHOD_ANNOUNCE,
	RTSP_METHOD_SETUP,
	RTSP_METHOD_PLAY,
	RTSP_METHOD_PAUSE,
	RTSP_METHOD_TEARDOWN,
	RTSP_METHOD_GET_PARAMETER,
	RTSP_METHOD_SET_PARAMETER,
	RTSP_METHOD_REDIRECT,
	RTSP_METHOD_RECORD,
	RTSP_METHOD_PLAY_NOTIFY,
};

/* A byte range of the buffer; len == 0 means "absent". */
struct rtsp_span {
	u32 off;
	u32 len;
};

struct rtsp_msg {
	u8 type;			/* enum rtsp_msg_type */
	u8 method;			/* enum rtsp_method */
	u16 status;			/* response status code, else 0 */
	/* First byte of the start line, after any empty lines before it. */
	u32 start;
	u32 hdr_len;			/* from offset 0 through the blank line */
	/* hdr_len + body: the next message starts at this offset. */
	u32 len;
	u32 content_length;		/* body length, 0 if no header */
	struct rtsp_span uri;		/* a request's Request-URI */
	/* Value of the first Transport header, whitespace-trimmed. */
	struct rtsp_span transport;
	struct rtsp_span session;	/* Session id token (without ;timeout) */
	struct rtsp_span cseq;		/* CSeq value, trimmed */
	u8 n_transport;			/* Transport headers seen (saturates) */
};

/*
 * Parse the message at the start of @buf.
 *
 * Empty lines (CRLF or LF) before a start line are skipped and counted in
 * msg->len.  Lines end in CRLF or bare LF; header names are matched
 * case-insensitively; whitespace around values is optional; folded
 * continuation lines (starting with SP or HT) belong to the header above.
 * Content-Length bodies are skipped: RTSP_PARSE_INCOMPLETE until the whole
 * body is in @buf.  Interleaved binary frames are reported as
 * RTSP_MSG_INTERLEAVED with their length, so a caller can step over them.
 *
 * On RTSP_PARSE_INCOMPLETE, msg->hdr_len is non-zero when the head (or an
 * interleaved frame's header) is complete: then the header fields are
 * filled in and msg->len is the length the whole message will have, so a
 * caller can act on the head and skip the body as it streams past.
 * Otherwise msg->hdr_len is 0 and the other fields must not be used.
 */
enum rtsp_parse_result nf_rtsp_parse_msg(const char *buf, u32 len,
					 struct rtsp_msg *msg);

enum rtsp_lower {
	/*
	 * ".../UDP", or a profile with no lower transport such as "RTP/AVP"
	 * (UDP is the default).
	 */
	RTSP_LOWER_UDP,
	RTSP_LOWER_TCP,		/* ".../TCP" */
	RTSP_LOWER_OTHER,	/* anything else, e.g. ".../SCTP" */
};

enum rtsp_cast {
	RTSP_CAST_UNSPEC,
	RTSP_CAST_UNICAST,
	RTSP_CAST_MULTICAST,
};

/* A client_port= or server_port= parameter. */
struct rtsp_ports {
	struct rtsp_span val;	/* the value text, e.g. "5000-5001" */
	u16 lo;			/* first port, 0 when absent */
	u16 hi;			/* second port; == lo for a single port */
	char sep;		/* 0 single, '-' range, '/' RTP/RTCP pair */
};

struct rtsp_tspec {
	struct rtsp_span spec;		/* the whole spec, trimmed */
	u8 lower;			/* enum rtsp_lower */
	u8 cast;			/* enum rtsp_cast */
	bool interleaved;		/* an interleaved= parameter is present */
	struct rtsp_ports client;	/* client_port= */
	struct rtsp_ports server;	/* server_port= */
	/* Value of destination=: "addr", "addr:port" or "[v6]:port". */
	struct rtsp_span destination;
	/* ";destination=..." including its leading ';', for stripping. */
	struct rtsp_span destination_param;
	struct rtsp_span source;	/* value of source= */
	struct rtsp_span mode;		/* value of mode= */
};

/*
 * Iterate over the comma-separated transport specs of a Transport header
 * value (@val, as found by nf_rtsp_parse_msg) in @buf.  Start with *@pos = 0;
 * the cursor is relative to val.off.  Commas inside double quotes do not
 * split specs.  Parameter names are case-insensitive, in any order, with
 * optional whitespace around ';', '=' and ','.
 *
 * Returns 1 when @spec was filled in, 0 when no specs remain, and -1 when
 * the spec at the cursor is malformed (a port of 0 or above 65535, hi < lo,
 * non-digits or too many digits in a port, a repeated client_port=, an
 * unterminated quote).  On -1 the cursor has moved past the bad spec, so
 * the caller can go on to the next one; @spec must not be used.
 */
int nf_rtsp_transport_next(const char *buf, struct rtsp_span val, u32 *pos,
			   struct rtsp_tspec *spec);

/*
 * The host of an absolute rtsp://, rtsps:// or rtspu:// URI (@uri, as
 * found by nf_rtsp_parse_msg) in @buf: after any userinfo, without the port
 * and without the brackets of an IPv6 literal.  Returns false (and an
 * empty @host) for another scheme, a relative URI or "*", an empty host
 * or a bracket out of place.  The host is not checked further: it may be
 * a name.
 */
bool nf_rtsp_uri_host(const char *buf, struct rtsp_span uri,
		      struct rtsp_span *host);

/*
 * Bytes that are not parsed, that a server may read client_port= from:
 * scan @len bytes at @buf, which follow bytes that ended with the first
 * @matched bytes of "client_port" (in any case; 0: none).  Returns
 * RTSP_CLIENT_PORT_FOUND when the word is complete, else how many of its
 * first bytes the scanned ones end with (0 to 10).
 */
#define RTSP_CLIENT_PORT_FOUND	11
u32 nf_rtsp_client_port_scan(const char *buf, u32 len, u32 matched);

/* Upper-case name of a method, "RESPONSE" or "INTERLEAVED"; never NULL. */
const char *nf_rtsp_method_name(const struct rtsp_msg *msg);

#endif /* _RTSP_PARSE_H */

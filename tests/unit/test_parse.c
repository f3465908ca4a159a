// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for rtsp_parse.c.  Build with AddressSanitizer: every input
 * lives in a heap block of exactly its length, so an over-read fails.
 */
#include <time.h>

#include "rtsp_parse.h"
#include "unit.h"

struct in {
	const char *buf;
	u32 len;
};

static struct in in_of(const char *s, size_t n)
{
	struct in in = { unit_dup(s, n), (u32)n };

	return in;
}

/* IN() for string literals (may hold NULs), INS() for C strings. */
#define IN(lit)		in_of(lit, sizeof(lit) - 1)
#define INS(str)	in_of(str, strlen(str))

static enum rtsp_parse_result parse(struct in in, struct rtsp_msg *m)
{
	return nf_rtsp_parse_msg(in.buf, in.len, m);
}

static bool span_is(struct in in, struct rtsp_span sp, const char *want,
		    int line)
{
	size_t n = strlen(want);

	if (sp.off > in.len || sp.len > in.len - sp.off) {
		unit_fail(line, "span %u+%u outside buffer of %u", sp.off,
			  sp.len, in.len);
		return false;
	}
	if (sp.len != n || memcmp(in.buf + sp.off, want, n)) {
		unit_fail(line, "span \"%.*s\", expected \"%s\"", (int)sp.len,
			  in.buf + sp.off, want);
		return false;
	}
	return true;
}

#define CHECK_SPAN(in, sp, want)					\
	do {								\
		if (!span_is(in, sp, want, __LINE__))			\
			return;						\
	} while (0)

/* The whole buffer as one transport header value. */
static struct rtsp_span whole(struct in in)
{
	struct rtsp_span sp = { 0, in.len };

	return sp;
}

static const char movistar_setup[] =
	"SETUP rtsp://172.26.22.10:554/4294967295?videoid=123 RTSP/1.0\r\n"
	"CSeq: 3\r\n"
	"User-Agent: MICA-IP-STB\r\n"
	"Transport: MP2T/H2221/UDP;unicast;client_port=27336\r\n"
	"x-mayNotify:\r\n"
	"\r\n";

static const char describe_reply[] =
	"RTSP/1.0 200 OK\r\n"
	"CSeq: 2\r\n"
	"Content-Base: rtsp://example.com/media.mp4/\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 117\r\n"
	"\r\n"
	"v=0\r\n"
	"o=- 1 1 IN IP4 192.0.2.1\r\n"
	"s=Example\r\n"
	"t=0 0\r\n"
	"m=video 0 RTP/AVP 96\r\n"
	"a=rtpmap:96 H264/90000\r\n"
	"a=control:streamid=0\r\n"
	"SETUP x\r\n";

/* ---- Movistar decoder dialogue ---- */

TEST(movistar_setup)
{
	struct in in = IN(movistar_setup);
	struct rtsp_msg m;
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.type, RTSP_MSG_REQUEST);
	CHECK_EQ(m.method, RTSP_METHOD_SETUP);
	CHECK_EQ(m.status, 0);
	CHECK_EQ(m.start, 0);
	CHECK_EQ(m.len, in.len);
	CHECK_EQ(m.hdr_len, in.len);
	CHECK_EQ(m.content_length, 0);
	CHECK_EQ(m.n_transport, 1);
	CHECK_SPAN(in, m.cseq, "3");
	CHECK_EQ(m.session.len, 0);
	CHECK_SPAN(in, m.transport,
		   "MP2T/H2221/UDP;unicast;client_port=27336");
	CHECK(!strcmp(nf_rtsp_method_name(&m), "SETUP"));
	CHECK_SPAN(in, m.uri, "rtsp://172.26.22.10:554/4294967295?videoid=123");

	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "MP2T/H2221/UDP;unicast;client_port=27336");
	CHECK_EQ(t.lower, RTSP_LOWER_UDP);
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
	CHECK(!t.interleaved);
	CHECK_EQ(t.client.lo, 27336);
	CHECK_EQ(t.client.hi, 27336);
	CHECK_EQ(t.client.sep, 0);
	CHECK_SPAN(in, t.client.val, "27336");
	CHECK_EQ(t.server.lo, 0);
	CHECK_EQ(t.server.val.len, 0);
	CHECK_EQ(t.destination.len, 0);
	CHECK_EQ(t.destination_param.len, 0);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 0);
	CHECK_EQ(pos, m.transport.len);
}

TEST(movistar_options)
{
	struct in in = IN("OPTIONS rtsp://172.26.22.10:554 RTSP/1.0\r\n"
			  "CSeq: 2\r\nUser-Agent: MICA-IP-STB\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_OPTIONS);
	CHECK_EQ(m.len, in.len);
	CHECK_EQ(m.transport.len, 0);
	CHECK_EQ(m.n_transport, 0);
	CHECK_SPAN(in, m.cseq, "2");
}

TEST(movistar_play)
{
	struct in in = IN("PLAY rtsp://172.26.22.10:554/4294967295?videoid=1 "
			  "RTSP/1.0\r\nCSeq: 4\r\nSession: 98765\r\n"
			  "Range: npt=0.000-end\r\nScale: 1.000\r\n"
			  "x-playNow:\r\nx-noFlush:\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_PLAY);
	CHECK_SPAN(in, m.session, "98765");
	CHECK_SPAN(in, m.cseq, "4");
	CHECK_EQ(m.len, in.len);
}

TEST(movistar_keepalive_and_teardown)
{
	struct in in = IN("GET_PARAMETER rtsp://172.26.22.10:554/1 RTSP/1.0\r\n"
			  "CSeq: 9\r\nSession: 98765\r\n\r\n"
			  "TEARDOWN rtsp://172.26.22.10:554/1 RTSP/1.0\r\n"
			  "CSeq: 10\r\nSession: 98765\r\n\r\n");
	struct rtsp_msg m;
	u32 first;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_GET_PARAMETER);
	first = m.len;
	CHECK_EQ(nf_rtsp_parse_msg(in.buf + first, in.len - first, &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_TEARDOWN);
	CHECK_EQ(first + m.len, in.len);
}

TEST(movistar_setup_reply)
{
	struct in in = IN("RTSP/1.0 200 OK\r\nCSeq: 3\r\n"
			  "Session: 12345678;timeout=60\r\n"
			  "Transport: MP2T/H2221/UDP;unicast;"
			  "destination=10.214.1.2;client_port=27336;"
			  "source=172.26.83.137\r\n\r\n");
	struct rtsp_msg m;
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.type, RTSP_MSG_RESPONSE);
	CHECK_EQ(m.status, 200);
	CHECK_SPAN(in, m.session, "12345678");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_SPAN(in, t.destination, "10.214.1.2");
	CHECK_SPAN(in, t.destination_param, ";destination=10.214.1.2");
	CHECK_SPAN(in, t.source, "172.26.83.137");
	CHECK_EQ(t.client.lo, 27336);
}

/* ---- Responses ---- */

TEST(response_ok_session_timeout)
{
	struct in in = IN("RTSP/1.0 200 OK\r\nCSeq: 1\r\n"
			  "Session: 12345678;timeout=60\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.type, RTSP_MSG_RESPONSE);
	CHECK_EQ(m.method, RTSP_METHOD_NONE);
	CHECK_EQ(m.status, 200);
	CHECK_SPAN(in, m.session, "12345678");
	CHECK_SPAN(in, m.cseq, "1");
	CHECK(!strcmp(nf_rtsp_method_name(&m), "RESPONSE"));
}

TEST(response_without_reason)
{
	struct in in = IN("RTSP/1.0 200\r\nCSeq: 1\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.status, 200);
	CHECK_EQ(m.len, in.len);
}

TEST(response_error_status)
{
	struct in in = IN("RTSP/1.0 454 Session Not Found\r\nCSeq: 7\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.status, 454);
}

TEST(response_rtsp2)
{
	struct in in = IN("RTSP/2.0 461 Unsupported Transport\r\n"
			  "CSeq: 1\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.status, 461);
}

TEST(response_session_spaces)
{
	struct in in = IN("RTSP/1.0 200 OK\r\nSession:\t abc-DEF_1 ;"
			  " timeout = 60 \r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.session, "abc-DEF_1");
}

TEST(response_bad_status)
{
	static const char * const bad[] = {
		"RTSP/1.0 2000 OK\r\n\r\n",
		"RTSP/1.0 20 OK\r\n\r\n",
		"RTSP/1.0 abc OK\r\n\r\n",
		"RTSP/1.0 099 Low\r\n\r\n",
		"RTSP/1.0\r\n\r\n",
		"RTSP/1.0200 OK\r\n\r\n",
		"RTSP/ 200 OK\r\n\r\n",
		"RTSP/1 200 OK\r\n\r\n",
		"RTSP/1. 200 OK\r\n\r\n",
		"RTSP/1.0 200 O\001K\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
	};
	struct rtsp_msg m;
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		CHECK_EQ(parse(INS(bad[k]), &m), RTSP_PARSE_INVALID);
}

/* ---- Bodies ---- */

TEST(describe_reply_body_skipped)
{
	struct in in = IN(describe_reply);
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.content_length, 117);
	CHECK_EQ(m.len, m.hdr_len + 117);
	CHECK_EQ(m.len, in.len - 9);
	CHECK(!memcmp(in.buf + m.hdr_len, "v=0\r\n", 5));
	/* The SDP's "m=" and "a=" lines were not taken as headers. */
	CHECK_EQ(m.n_transport, 0);
}

TEST(describe_reply_body_incomplete)
{
	struct in full = IN(describe_reply);
	struct rtsp_msg m;
	u32 n;

	/* Every cut inside the body still waits for more. */
	for (n = 0; n < full.len - 9; n++) {
		CHECK_EQ(nf_rtsp_parse_msg(unit_dup(full.buf, n), n, &m),
			 RTSP_PARSE_INCOMPLETE);
		free(unit_allocs[--unit_n_allocs]);
	}
}

/*
 * INCOMPLETE tells whether the head is complete: the helper then acts on it
 * and skips the body as it streams past, instead of holding it.
 */
TEST(incomplete_reports_head_and_length)
{
	struct in full = IN(describe_reply);
	u32 head = full.len - 9 - 117;
	struct rtsp_msg m;
	u32 n;

	for (n = 0; n < full.len - 9; n++) {
		CHECK_EQ(nf_rtsp_parse_msg(unit_dup(full.buf, n), n, &m),
			 RTSP_PARSE_INCOMPLETE);
		if (n < head) {
			CHECK_EQ(m.hdr_len, 0);
		} else {
			CHECK_EQ(m.hdr_len, head);
			CHECK_EQ(m.len, head + 117);
			CHECK_EQ(m.content_length, 117);
			CHECK_EQ(m.type, RTSP_MSG_RESPONSE);
			CHECK_EQ(m.status, 200);
		}
		free(unit_allocs[--unit_n_allocs]);
	}
}

TEST(incomplete_interleaved_reports_length)
{
	static const char frame[] = "$\001\002\000abcdefgh";
	struct rtsp_msg m;

	CHECK_EQ(nf_rtsp_parse_msg(unit_dup(frame, 3), 3, &m),
		 RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(m.hdr_len, 0);
	free(unit_allocs[--unit_n_allocs]);
	CHECK_EQ(nf_rtsp_parse_msg(unit_dup(frame, 10), 10, &m),
		 RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(m.type, RTSP_MSG_INTERLEAVED);
	CHECK_EQ(m.hdr_len, 4);
	CHECK_EQ(m.len, 4 + 512);
	free(unit_allocs[--unit_n_allocs]);
}

TEST(body_with_nul_and_crlf)
{
	struct in in = IN("ANNOUNCE rtsp://x/ RTSP/1.0\r\nContent-Length: 6\r\n"
			  "\r\n\0\r\n\r\n\0OPTIONS * RTSP/1.0\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_ANNOUNCE);
	CHECK_EQ(m.len, m.hdr_len + 6);
	CHECK_EQ(nf_rtsp_parse_msg(in.buf + m.len, in.len - m.len, &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_OPTIONS);
}

TEST(content_length_zero)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 0\r\n\r\n"), &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.content_length, 0);
	CHECK_EQ(m.len, m.hdr_len);
}

TEST(content_length_non_numeric)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 1x\r\n\r\nx"),
		       &m), RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: -1\r\n\r\n"),
		       &m), RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: +1\r\n\r\nx"),
		       &m), RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 1 2\r\n\r\n"),
		       &m), RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 0x10\r\n\r\n"),
		       &m), RTSP_PARSE_INVALID);
}

TEST(content_length_empty)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length:\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length:   \r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
}

TEST(content_length_limits)
{
	struct rtsp_msg m;

	/* 16 MiB is allowed and waited for; one byte more is not. */
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 16777216\r\n"
			  "\r\n"), &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 16777217\r\n"
			  "\r\n"), &m), RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: "
			  "99999999999999999999999\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: "
			  "0000000000000000000000000003\r\n\r\nabc"), &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.content_length, 3);
}

TEST(content_length_duplicates)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 2\r\n"
			  "content-length: 2\r\n\r\nab"), &m), RTSP_PARSE_OK);
	CHECK_EQ(m.len, m.hdr_len + 2);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 2\r\n"
			  "Content-Length: 3\r\n\r\nabc"), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("PLAY * RTSP/1.0\r\nContent-Length: 0\r\n"
			  "Content-Length: 3\r\n\r\nabc"), &m),
		 RTSP_PARSE_INVALID);
}

/* ---- Line endings, case and whitespace ---- */

TEST(bare_lf)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\nCSeq: 5\n"
			  "Transport: RTP/AVP;unicast;client_port=4000-4001\n"
			  "\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.len, in.len);
	CHECK_SPAN(in, m.cseq, "5");
	CHECK_SPAN(in, m.transport, "RTP/AVP;unicast;client_port=4000-4001");
}

TEST(mixed_line_endings)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\nCSeq: 5\n"
			  "Session: 77\r\n\nrest");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.len, in.len - 4);
	CHECK_SPAN(in, m.session, "77");
}

TEST(header_name_case)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\ncseq: 1\r\n"
			  "TRANSPORT: RTP/AVP;unicast\r\nsEsSiOn: s1\r\n"
			  "CONTENT-length: 1\r\n\r\nX");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.cseq, "1");
	CHECK_SPAN(in, m.transport, "RTP/AVP;unicast");
	CHECK_SPAN(in, m.session, "s1");
	CHECK_EQ(m.content_length, 1);
	CHECK_EQ(m.len, in.len);
}

TEST(header_whitespace_variants)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\nCSeq:7\r\n"
			  "Transport \t:  \t RTP/AVP;unicast \t \r\n"
			  "Session :x\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.cseq, "7");
	CHECK_SPAN(in, m.transport, "RTP/AVP;unicast");
	CHECK_SPAN(in, m.session, "x");
}

TEST(header_prefix_names_not_matched)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\nTransports: a\r\n"
			  "CSeqX: 1\r\nX-Transport: b\r\nTransport-X: c\r\n"
			  "Content-Lengthy: 5\r\nSessio: q\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.n_transport, 0);
	CHECK_EQ(m.cseq.len, 0);
	CHECK_EQ(m.session.len, 0);
	CHECK_EQ(m.content_length, 0);
	CHECK_EQ(m.len, in.len);
}

TEST(folded_header)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\n"
			  "Transport: RTP/AVP;\r\n unicast;\r\n"
			  "\tclient_port=5000-5001\r\nCSeq: 2\r\n\r\n");
	struct rtsp_msg m;
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.transport, "RTP/AVP;\r\n unicast;\r\n"
		   "\tclient_port=5000-5001");
	CHECK_SPAN(in, m.cseq, "2");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
	CHECK_EQ(t.client.lo, 5000);
	CHECK_EQ(t.client.hi, 5001);
	CHECK_SPAN(in, t.client.val, "5000-5001");
}

TEST(folded_without_header_invalid)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("SETUP rtsp://h/x RTSP/1.0\r\n folded\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
}

TEST(header_without_colon_invalid)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("SETUP rtsp://h/x RTSP/1.0\r\nCSeq 3\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("SETUP rtsp://h/x RTSP/1.0\r\nCSeq\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
}

TEST(header_bad_names_invalid)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("SETUP rtsp://h/x RTSP/1.0\r\n: v\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("SETUP rtsp://h/x RTSP/1.0\r\nTrans port: v\r\n\r\n"),
		       &m), RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("SETUP rtsp://h/x RTSP/1.0\r\nA\0B: v\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
}

TEST(empty_header_value)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\nx-mayNotify:\r\n"
			  "Transport:\r\nCSeq: \t \r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.n_transport, 1);
	CHECK_EQ(m.transport.len, 0);
	CHECK_EQ(m.cseq.len, 0);
}

TEST(nul_in_header_value)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\nX-Bin: a\0b\r\n"
			  "CSeq: 4\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.cseq, "4");
}

TEST(multiple_transport_headers)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\n"
			  "Transport: RTP/AVP;client_port=1-2\r\n"
			  "Transport: RTP/AVP;client_port=3-4\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.n_transport, 2);
	CHECK_SPAN(in, m.transport, "RTP/AVP;client_port=1-2");
}

TEST(n_transport_saturates)
{
	static char buf[20000];
	struct rtsp_msg m;
	size_t n = 0;
	int k;

	n += sprintf(buf + n, "SETUP * RTSP/1.0\r\n");
	for (k = 0; k < 300; k++)
		n += sprintf(buf + n, "Transport: RTP/AVP;client_port=%d\r\n",
			     k + 1);
	n += sprintf(buf + n, "\r\n");
	CHECK_EQ(parse(in_of(buf, n), &m), RTSP_PARSE_OK);
	CHECK_EQ(m.n_transport, 255);
	CHECK_EQ(m.len, n);
}

TEST(first_session_and_cseq_kept)
{
	struct in in = IN("RTSP/1.0 200 OK\r\nCSeq: 1\r\nCSeq: 2\r\n"
			  "Session: aa\r\nSession: bb\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.cseq, "1");
	CHECK_SPAN(in, m.session, "aa");
}

/* ---- Start lines ---- */

TEST(all_methods)
{
	static const struct {
		const char *name;
		u8 id;
	} meth[] = {
		{ "OPTIONS", RTSP_METHOD_OPTIONS },
		{ "DESCRIBE", RTSP_METHOD_DESCRIBE },
		{ "ANNOUNCE", RTSP_METHOD_ANNOUNCE },
		{ "SETUP", RTSP_METHOD_SETUP },
		{ "PLAY", RTSP_METHOD_PLAY },
		{ "PAUSE", RTSP_METHOD_PAUSE },
		{ "TEARDOWN", RTSP_METHOD_TEARDOWN },
		{ "GET_PARAMETER", RTSP_METHOD_GET_PARAMETER },
		{ "SET_PARAMETER", RTSP_METHOD_SET_PARAMETER },
		{ "REDIRECT", RTSP_METHOD_REDIRECT },
		{ "RECORD", RTSP_METHOD_RECORD },
		{ "PLAY_NOTIFY", RTSP_METHOD_PLAY_NOTIFY },
	};
	struct rtsp_msg m;
	char line[128];
	size_t k;
	int n;

	for (k = 0; k < sizeof(meth) / sizeof(meth[0]); k++) {
		n = sprintf(line, "%s rtsp://h/x RTSP/1.0\r\n\r\n",
			    meth[k].name);
		CHECK_EQ(parse(in_of(line, n), &m), RTSP_PARSE_OK);
		CHECK_EQ(m.method, meth[k].id);
		CHECK(!strcmp(nf_rtsp_method_name(&m), meth[k].name));
	}
}

TEST(method_case_sensitive)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("setup rtsp://h/x RTSP/1.0\r\n\r\n"), &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_OTHER);
	CHECK_EQ(parse(IN("Setup rtsp://h/x RTSP/1.0\r\n\r\n"), &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_OTHER);
	CHECK_EQ(parse(IN("SETUPX rtsp://h/x RTSP/1.0\r\n\r\n"), &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_OTHER);
	CHECK_EQ(parse(IN("SETU rtsp://h/x RTSP/1.0\r\n\r\n"), &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_OTHER);
}

TEST(method_extension)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("X-VENDOR_CMD rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
		       &m), RTSP_PARSE_OK);
	CHECK_EQ(m.type, RTSP_MSG_REQUEST);
	CHECK_EQ(m.method, RTSP_METHOD_OTHER);
	CHECK(!strcmp(nf_rtsp_method_name(&m), "OTHER"));
}

TEST(method_name_never_null)
{
	struct rtsp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RTSP_MSG_INTERLEAVED;
	CHECK(!strcmp(nf_rtsp_method_name(&m), "INTERLEAVED"));
	m.type = RTSP_MSG_REQUEST;
	m.method = 200;
	CHECK(nf_rtsp_method_name(&m) != NULL);
	m.type = 99;
	CHECK(nf_rtsp_method_name(&m) != NULL);
}

TEST(request_uri_star_and_spaces)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("OPTIONS * RTSP/1.0\r\n\r\n"), &m), RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_OPTIONS);
	CHECK_EQ(parse(IN("SETUP  rtsp://h/x \tRTSP/1.0  \r\n\r\n"), &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.method, RTSP_METHOD_SETUP);
}

TEST(invalid_start_lines)
{
	static const char * const bad[] = {
		"GET / HTTP/1.1\r\n\r\n",
		"SETUP\r\n\r\n",
		"SETUP \r\n\r\n",
		"SETUP rtsp://h/x\r\n\r\n",
		"SETUP rtsp://h/x \r\n\r\n",
		"SETUP rtsp://h/x RTSP/\r\n\r\n",
		"SETUP rtsp://h/x RTSP/1.0 junk\r\n\r\n",
		"SETUP rtsp://h/x rtsp/1.0\r\n\r\n",
		"SETUP rtsp://h/x RTSP/1.x\r\n\r\n",
		"SET(UP rtsp://h/x RTSP/1.0\r\n\r\n",
		" SETUP rtsp://h/x RTSP/1.0\r\n\r\n",
		"SETUP rtsp://h/\001x RTSP/1.0\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"\r\r\n",
		"RTSP\r\n\r\n",
	};
	struct rtsp_msg m;
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		if (parse(INS(bad[k]), &m) != RTSP_PARSE_INVALID) {
			unit_fail(__LINE__, "not INVALID: %s", bad[k]);
			return;
		}
	}
}

TEST(nul_in_start_line_invalid)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("SETUP rtsp://h/\0x RTSP/1.0\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("SET\0UP rtsp://h/x RTSP/1.0\r\n\r\n"), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(IN("\0"), &m), RTSP_PARSE_INVALID);
}

TEST(truncated_start_line_prefixes)
{
	static const char * const ok[] = {
		"S", "SETU", "SETUP", "SETUP ", "SETUP rtsp://h", "SETUP r ",
		"SETUP r R", "SETUP r RTSP/", "SETUP r RTSP/1",
		"SETUP r RTSP/1.", "SETUP r RTSP/1.0", "SETUP r RTSP/1.0 ",
		"SETUP r RTSP/1.0\r", "R", "RTS", "RTSP", "RTSP/", "RTSP/1",
		"RTSP/1.", "RTSP/1.0", "RTSP/1.0 ", "RTSP/1.0 2",
		"RTSP/1.0 20", "RTSP/1.0 200", "RTSP/1.0 200 O",
		"RTSP/1.0 200 OK\r", "X-FOO", "\r\n\r\nOPT",
	};
	struct rtsp_msg m;
	size_t k;

	for (k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
		if (parse(INS(ok[k]), &m) != RTSP_PARSE_INCOMPLETE) {
			unit_fail(__LINE__, "not INCOMPLETE: \"%s\"", ok[k]);
			return;
		}
	}
}

TEST(truncated_implausible_prefixes)
{
	static const char * const bad[] = {
		"GET / HTT", "SETUP r HTTP", "RTSP/1.0 2x", "RTSP/x",
		"(", "SETUP r RTSP/1.0 x", "RTSP/1.0 2000",
		"SETUP\001",
	};
	struct rtsp_msg m;
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		if (parse(INS(bad[k]), &m) != RTSP_PARSE_INVALID) {
			unit_fail(__LINE__, "not INVALID: \"%s\"", bad[k]);
			return;
		}
	}
}

TEST(empty_and_blank_buffers)
{
	struct rtsp_msg m;

	CHECK_EQ(nf_rtsp_parse_msg(unit_dup("", 0), 0, &m),
		 RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("\r\n"), &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("\r\n\n\r\n"), &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("\r"), &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("\rX"), &m), RTSP_PARSE_INVALID);
}

TEST(leading_empty_lines)
{
	struct in in = IN("\r\n\n\r\nPLAY * RTSP/1.0\r\nCSeq: 8\r\n\r\n");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.start, 5);
	CHECK_EQ(m.hdr_len, in.len);
	CHECK_EQ(m.len, in.len);
	CHECK_SPAN(in, m.cseq, "8");
}

TEST(line_length_limit)
{
	static char buf[3 * RTSP_MAX_LINE];
	struct rtsp_msg m;
	size_t n, v;

	/* "X: " + value is exactly RTSP_MAX_LINE bytes: allowed. */
	n = sprintf(buf, "PLAY * RTSP/1.0\r\nX: ");
	v = RTSP_MAX_LINE - 3;
	memset(buf + n, 'a', v);
	n += v;
	n += sprintf(buf + n, "\r\nCSeq: 1\r\n\r\n");
	CHECK_EQ(parse(in_of(buf, n), &m), RTSP_PARSE_OK);
	/* One byte more is not. */
	n = sprintf(buf, "PLAY * RTSP/1.0\r\nX: ");
	memset(buf + n, 'a', v + 1);
	n += v + 1;
	n += sprintf(buf + n, "\r\nCSeq: 1\r\n\r\n");
	CHECK_EQ(parse(in_of(buf, n), &m), RTSP_PARSE_INVALID);
	/* Same with bare LF. */
	n = sprintf(buf, "PLAY * RTSP/1.0\nX: ");
	memset(buf + n, 'a', v + 1);
	n += v + 1;
	n += sprintf(buf + n, "\n\n");
	CHECK_EQ(parse(in_of(buf, n), &m), RTSP_PARSE_INVALID);
}

TEST(line_length_limit_unterminated)
{
	static char buf[3 * RTSP_MAX_LINE];
	struct rtsp_msg m;
	size_t n;

	n = sprintf(buf, "PLAY * RTSP/1.0\r\n");
	memset(buf + n, 'a', RTSP_MAX_LINE);
	CHECK_EQ(parse(in_of(buf, n + RTSP_MAX_LINE), &m),
		 RTSP_PARSE_INCOMPLETE);
	buf[n + RTSP_MAX_LINE] = '\r';
	CHECK_EQ(parse(in_of(buf, n + RTSP_MAX_LINE + 1), &m),
		 RTSP_PARSE_INCOMPLETE);
	memset(buf + n, 'a', 2 * RTSP_MAX_LINE);
	CHECK_EQ(parse(in_of(buf, n + RTSP_MAX_LINE + 1), &m),
		 RTSP_PARSE_INVALID);
	CHECK_EQ(parse(in_of(buf, n + 2 * RTSP_MAX_LINE), &m),
		 RTSP_PARSE_INVALID);
}

TEST(start_line_too_long)
{
	static char buf[3 * RTSP_MAX_LINE];
	struct rtsp_msg m;
	size_t n;

	n = sprintf(buf, "SETUP rtsp://h/");
	memset(buf + n, 'u', 2 * RTSP_MAX_LINE);
	n += 2 * RTSP_MAX_LINE;
	CHECK_EQ(parse(in_of(buf, n), &m), RTSP_PARSE_INVALID);
	n += sprintf(buf + n, " RTSP/1.0\r\n\r\n");
	CHECK_EQ(parse(in_of(buf, n), &m), RTSP_PARSE_INVALID);
}

/* ---- Truncation at every point ---- */

static bool all_prefixes_incomplete(const char *s, u32 len, int line)
{
	struct rtsp_msg m;
	u32 n;
	int r;

	for (n = 0; n < len; n++) {
		r = nf_rtsp_parse_msg(unit_dup(s, n), n, &m);
		if (r != RTSP_PARSE_INCOMPLETE) {
			unit_fail(line, "prefix of %u bytes gave %d", n, r);
			return false;
		}
		/* Free as we go: these are many. */
		free(unit_allocs[--unit_n_allocs]);
	}
	r = nf_rtsp_parse_msg(unit_dup(s, len), len, &m);
	if (r != RTSP_PARSE_OK || m.len != len) {
		unit_fail(line, "whole message gave %d, len %u", r, m.len);
		return false;
	}
	return true;
}

#define CHECK_PREFIXES(lit)						\
	do {								\
		if (!all_prefixes_incomplete(lit, sizeof(lit) - 1,	\
					     __LINE__))			\
			return;						\
	} while (0)

TEST(truncation_movistar_setup)
{
	CHECK_PREFIXES(movistar_setup);
}

TEST(truncation_reply_with_body)
{
	CHECK_PREFIXES("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 10\r\n"
		       "Session: 1;timeout=60\r\n\r\n0123456789");
}

TEST(truncation_bare_lf_and_folding)
{
	CHECK_PREFIXES("\n\nSETUP rtsp://h/x RTSP/1.0\nTransport: RTP/AVP;\n"
		       " unicast;client_port=1-2\nCSeq:  1 \n\n");
}

TEST(truncation_interleaved)
{
	CHECK_PREFIXES("$\001\000\010abcdefgh");
}

/* ---- Pipelining and interleaved frames ---- */

TEST(pipelined_messages)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n"
			  "Transport: RTP/AVP;client_port=1-2\r\n\r\n"
			  "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 4\r\n"
			  "\r\nbody"
			  "\r\n"
			  "PLAY rtsp://h/x RTSP/1.0\nCSeq: 2\n\n"
			  "TEARDOWN rtsp://h/x RTSP/1.0\r\nCSeq: 3\r\n");
	static const u8 want[] = {
		RTSP_METHOD_SETUP, RTSP_METHOD_NONE, RTSP_METHOD_PLAY,
	};
	struct rtsp_msg m;
	u32 off = 0, k;

	for (k = 0; k < 3; k++) {
		CHECK_EQ(nf_rtsp_parse_msg(in.buf + off, in.len - off, &m),
			 RTSP_PARSE_OK);
		CHECK_EQ(m.method, want[k]);
		CHECK(m.len > 0 && m.len <= in.len - off);
		if (k == 1)
			CHECK(!memcmp(in.buf + off + m.hdr_len, "body", 4));
		if (k == 2)
			CHECK_EQ(m.start, 2);
		off += m.len;
	}
	CHECK_EQ(nf_rtsp_parse_msg(in.buf + off, in.len - off, &m),
		 RTSP_PARSE_INCOMPLETE);
}

TEST(pipelined_offsets_are_relative)
{
	struct in in = IN("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"
			  "SETUP rtsp://h/x RTSP/1.0\r\nCSeq: 2\r\n"
			  "Transport: RTP/AVP;client_port=7-8\r\n\r\n");
	struct in rest;
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	rest.buf = in.buf + m.len;
	rest.len = in.len - m.len;
	CHECK_EQ(parse(rest, &m), RTSP_PARSE_OK);
	CHECK_SPAN(rest, m.cseq, "2");
	CHECK_SPAN(rest, m.transport, "RTP/AVP;client_port=7-8");
}

TEST(interleaved_frames)
{
	struct in in = IN("$\000\000\004\001\002\003\004"
			  "$\001\000\000"
			  "RTSP/1.0 200 OK\r\nCSeq: 5\r\n\r\n"
			  "$\002\001\000");
	struct rtsp_msg m;
	u32 off = 0;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.type, RTSP_MSG_INTERLEAVED);
	CHECK_EQ(m.method, RTSP_METHOD_NONE);
	CHECK_EQ(m.len, 8);
	CHECK_EQ(m.hdr_len, 4);
	CHECK_EQ(m.content_length, 4);
	CHECK(!strcmp(nf_rtsp_method_name(&m), "INTERLEAVED"));
	off += m.len;
	CHECK_EQ(nf_rtsp_parse_msg(in.buf + off, in.len - off, &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.type, RTSP_MSG_INTERLEAVED);
	CHECK_EQ(m.len, 4);
	off += m.len;
	CHECK_EQ(nf_rtsp_parse_msg(in.buf + off, in.len - off, &m),
		 RTSP_PARSE_OK);
	CHECK_EQ(m.type, RTSP_MSG_RESPONSE);
	off += m.len;
	/* 256 bytes announced, none there yet. */
	CHECK_EQ(nf_rtsp_parse_msg(in.buf + off, in.len - off, &m),
		 RTSP_PARSE_INCOMPLETE);
}

TEST(interleaved_short_header)
{
	struct rtsp_msg m;

	CHECK_EQ(parse(IN("$"), &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("$\000"), &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("$\000\377"), &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(parse(IN("$\000\377\377"), &m), RTSP_PARSE_INCOMPLETE);
}

TEST(interleaved_max_length)
{
	static char buf[4 + 65535];
	struct rtsp_msg m;

	memset(buf, 'z', sizeof(buf));
	buf[0] = '$';
	buf[1] = 0;
	buf[2] = (char)0xff;
	buf[3] = (char)0xff;
	CHECK_EQ(parse(in_of(buf, sizeof(buf)), &m), RTSP_PARSE_OK);
	CHECK_EQ(m.len, sizeof(buf));
	CHECK_EQ(m.content_length, 65535);
	CHECK_EQ(parse(in_of(buf, sizeof(buf) - 1), &m),
		 RTSP_PARSE_INCOMPLETE);
}

/* ---- Transport: RFC examples ---- */

TEST(rfc2326_transport_example)
{
	struct in in = IN("SETUP rtsp://example.com/foo/bar/baz.rm RTSP/1.0\r\n"
			  "CSeq: 302\r\n"
			  "Transport: RTP/AVP;multicast;ttl=127;mode=\"PLAY\","
			  " RTP/AVP;unicast;client_port=3456-3457;"
			  "mode=\"PLAY\"\r\n\r\n");
	struct rtsp_msg m;
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "RTP/AVP;multicast;ttl=127;mode=\"PLAY\"");
	CHECK_EQ(t.lower, RTSP_LOWER_UDP);
	CHECK_EQ(t.cast, RTSP_CAST_MULTICAST);
	CHECK_EQ(t.client.lo, 0);
	CHECK_SPAN(in, t.mode, "PLAY");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_SPAN(in, t.spec,
		   "RTP/AVP;unicast;client_port=3456-3457;mode=\"PLAY\"");
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
	CHECK_EQ(t.client.lo, 3456);
	CHECK_EQ(t.client.hi, 3457);
	CHECK_EQ(t.client.sep, '-');
	CHECK_SPAN(in, t.client.val, "3456-3457");
	CHECK_SPAN(in, t.mode, "PLAY");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 0);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 0);
}

TEST(rfc2326_reply_server_port)
{
	struct in in = IN("RTSP/1.0 200 OK\r\nCSeq: 302\r\n"
			  "Date: 23 Jan 1997 15:35:06 GMT\r\n"
			  "Session: 47112344\r\n"
			  "Transport: RTP/AVP;unicast;"
			  "client_port=4588-4589;server_port=6256-6257\r\n"
			  "\r\n");
	struct rtsp_msg m;
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.session, "47112344");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_EQ(t.client.lo, 4588);
	CHECK_EQ(t.client.hi, 4589);
	CHECK_EQ(t.server.lo, 6256);
	CHECK_EQ(t.server.hi, 6257);
	CHECK_SPAN(in, t.server.val, "6256-6257");
}

TEST(rfc7826_interleaved_tcp)
{
	struct in in = IN("RTP/AVP/TCP;unicast;interleaved=0-1");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.lower, RTSP_LOWER_TCP);
	CHECK(t.interleaved);
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
	CHECK_EQ(t.client.lo, 0);
}

TEST(rfc7826_dest_addr_quoted)
{
	struct in in = IN("RTP/AVP/UDP;unicast;dest_addr=\":4588\"/\":4589\","
			  "RTP/AVP/TCP;unicast;interleaved=0-1");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.spec,
		   "RTP/AVP/UDP;unicast;dest_addr=\":4588\"/\":4589\"");
	CHECK_EQ(t.lower, RTSP_LOWER_UDP);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.lower, RTSP_LOWER_TCP);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

TEST(rfc7826_multiple_alternatives)
{
	struct in in = IN("RTP/AVPF/UDP;unicast;client_port=3456-3457,"
			  "RTP/AVP/UDP;unicast;client_port=3458-3459,"
			  "RTP/SAVP;unicast;client_port=3460-3461");
	struct rtsp_tspec t;
	u32 pos = 0;
	u16 lo;

	for (lo = 3456; lo <= 3460; lo += 2) {
		CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
		CHECK_EQ(t.lower, RTSP_LOWER_UDP);
		CHECK_EQ(t.client.lo, lo);
		CHECK_EQ(t.client.hi, lo + 1);
	}
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

/* ---- Transport: lower transport ---- */

static int lower_of(const char *s)
{
	struct in in = INS(s);
	struct rtsp_tspec t;
	u32 pos = 0;

	if (nf_rtsp_transport_next(in.buf, whole(in), &pos, &t) != 1)
		return -1;
	return t.lower;
}

TEST(lower_transport_tokens)
{
	CHECK_EQ(lower_of("RTP/AVP"), RTSP_LOWER_UDP);
	CHECK_EQ(lower_of("RTP/AVPF"), RTSP_LOWER_UDP);
	CHECK_EQ(lower_of("RTP/SAVP"), RTSP_LOWER_UDP);
	CHECK_EQ(lower_of("RTP/AVP/UDP"), RTSP_LOWER_UDP);
	CHECK_EQ(lower_of("RTP/AVP/TCP"), RTSP_LOWER_TCP);
	CHECK_EQ(lower_of("MP2T/H2221/UDP"), RTSP_LOWER_UDP);
	CHECK_EQ(lower_of("MP2T/H2221/TCP"), RTSP_LOWER_TCP);
	CHECK_EQ(lower_of("RTP/AVP/SCTP"), RTSP_LOWER_OTHER);
	CHECK_EQ(lower_of("RTP/AVP/UDPX"), RTSP_LOWER_OTHER);
	CHECK_EQ(lower_of("RAW/RAW/UDP;unicast"), RTSP_LOWER_UDP);
	CHECK_EQ(lower_of("x-pn-tng/tcp"), RTSP_LOWER_UDP);
}

TEST(lower_transport_case_insensitive)
{
	CHECK_EQ(lower_of("rtp/avp/tcp"), RTSP_LOWER_TCP);
	CHECK_EQ(lower_of("Rtp/Avp/Tcp"), RTSP_LOWER_TCP);
	CHECK_EQ(lower_of("mp2t/h2221/udp"), RTSP_LOWER_UDP);
	CHECK_EQ(lower_of("RTP/AVP/Udp;unicast"), RTSP_LOWER_UDP);
}

TEST(empty_protocol_rejected)
{
	struct in in = IN(";unicast;client_port=1-2, RTP/AVP;client_port=3");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 3);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

/* ---- Transport: ports ---- */

/* Parse a single spec "RTP/AVP;client_port=<v>"; returns the result. */
static int client_port(const char *v, struct rtsp_tspec *t)
{
	char s[256];
	struct in in;
	u32 pos = 0;
	int r;

	snprintf(s, sizeof(s), "RTP/AVP;unicast;client_port=%s", v);
	in = INS(s);
	r = nf_rtsp_transport_next(in.buf, whole(in), &pos, t);
	if (pos != in.len)
		return 99;
	return r;
}

TEST(port_single)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("27336", &t), 1);
	CHECK_EQ(t.client.lo, 27336);
	CHECK_EQ(t.client.hi, 27336);
	CHECK_EQ(t.client.sep, 0);
}

TEST(port_range)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("5000-5001", &t), 1);
	CHECK_EQ(t.client.lo, 5000);
	CHECK_EQ(t.client.hi, 5001);
	CHECK_EQ(t.client.sep, '-');
}

TEST(port_range_equal)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("5000-5000", &t), 1);
	CHECK_EQ(t.client.lo, 5000);
	CHECK_EQ(t.client.hi, 5000);
	CHECK_EQ(t.client.sep, '-');
}

TEST(port_range_odd_start_kept)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("5001-5002", &t), 1);
	CHECK_EQ(t.client.lo, 5001);
	CHECK_EQ(t.client.hi, 5002);
}

TEST(port_slash_pair)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("5000/5001", &t), 1);
	CHECK_EQ(t.client.lo, 5000);
	CHECK_EQ(t.client.hi, 5001);
	CHECK_EQ(t.client.sep, '/');
}

TEST(port_slash_odd_and_descending)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("5001/5002", &t), 1);
	CHECK_EQ(t.client.lo, 5001);
	CHECK_EQ(t.client.hi, 5002);
	CHECK_EQ(client_port("6000/2", &t), 1);
	CHECK_EQ(t.client.lo, 6000);
	CHECK_EQ(t.client.hi, 2);
	CHECK_EQ(t.client.sep, '/');
}

TEST(port_bounds)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("1", &t), 1);
	CHECK_EQ(t.client.lo, 1);
	CHECK_EQ(client_port("65535", &t), 1);
	CHECK_EQ(t.client.lo, 65535);
	CHECK_EQ(client_port("65534-65535", &t), 1);
	CHECK_EQ(t.client.hi, 65535);
	CHECK_EQ(client_port("05000", &t), 1);
	CHECK_EQ(t.client.lo, 5000);
}

TEST(port_zero_rejected)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("0", &t), -1);
	CHECK_EQ(client_port("00000", &t), -1);
	CHECK_EQ(client_port("0-1", &t), -1);
	CHECK_EQ(client_port("5000/0", &t), -1);
	CHECK_EQ(client_port("5000-0", &t), -1);
}

TEST(port_too_big_rejected)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("65536", &t), -1);
	CHECK_EQ(client_port("99999", &t), -1);
	CHECK_EQ(client_port("99999999999", &t), -1);
	CHECK_EQ(client_port("005000", &t), -1);
	CHECK_EQ(client_port("5000-65536", &t), -1);
	CHECK_EQ(client_port("5000/4294972296", &t), -1);
}

TEST(port_descending_range_rejected)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("5001-5000", &t), -1);
	CHECK_EQ(client_port("65535-1", &t), -1);
}

TEST(port_letters_rejected)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("abc", &t), -1);
	CHECK_EQ(client_port("50a0", &t), -1);
	CHECK_EQ(client_port("5000-abc", &t), -1);
	CHECK_EQ(client_port("5000x", &t), -1);
	CHECK_EQ(client_port("-5000", &t), -1);
	CHECK_EQ(client_port("+5000", &t), -1);
	CHECK_EQ(client_port("0x1388", &t), -1);
	CHECK_EQ(client_port("5000 - 5001", &t), -1);
	CHECK_EQ(client_port("\"5000\"", &t), -1);
}

TEST(port_bad_separators_rejected)
{
	struct rtsp_tspec t;

	CHECK_EQ(client_port("5000-", &t), -1);
	CHECK_EQ(client_port("5000/", &t), -1);
	CHECK_EQ(client_port("5000--5001", &t), -1);
	CHECK_EQ(client_port("5000-5001-5002", &t), -1);
	CHECK_EQ(client_port("5000:5001", &t), -1);
}

TEST(port_empty_rejected)
{
	struct in in = IN("RTP/AVP;client_port=,RTP/AVP;client_port;unicast,"
			  "RTP/AVP;client_port = ;unicast,RTP/AVP;client_port=9");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 9);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

TEST(port_repeated_rejected)
{
	struct in in = IN("RTP/AVP;client_port=1-2;client_port=3-4,"
			  "RTP/AVP;CLIENT_PORT=5;Client_Port=5,"
			  "RTP/AVP;server_port=1;server_port=2,"
			  "RTP/AVP;client_port=7;server_port=8");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 7);
	CHECK_EQ(t.server.lo, 8);
}

TEST(bad_spec_then_good_spec)
{
	struct in in = IN("RTP/AVP;unicast;client_port=0,"
			  "RTP/AVP;unicast;client_port=65536,"
			  "RTP/AVP;unicast;client_port=99999999999,"
			  "RTP/AVP;unicast;client_port=10-9,"
			  "RTP/AVP;unicast;client_port=1a,"
			  "RTP/AVP;unicast;client_port=,"
			  "RTP/AVP;unicast;client_port=1;client_port=1,"
			  "RTP/AVP;unicast;client_port=6970-6971");
	struct rtsp_tspec t;
	u32 pos = 0, last = 0;
	int k;

	for (k = 0; k < 7; k++) {
		CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
		CHECK(pos > last);
		last = pos;
	}
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "RTP/AVP;unicast;client_port=6970-6971");
	CHECK_EQ(t.client.lo, 6970);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

TEST(server_port_bad_rejected)
{
	struct in in = IN("RTP/AVP;server_port=0-1");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(pos, in.len);
}

/* ---- Transport: cast, interleaved, addresses, mode ---- */

TEST(cast_flags)
{
	struct in in = IN("RTP/AVP;unicast,RTP/AVP;multicast,RTP/AVP,"
			  "RTP/AVP;UNICAST,RTP/AVP;MultiCast");
	static const u8 want[] = {
		RTSP_CAST_UNICAST, RTSP_CAST_MULTICAST, RTSP_CAST_UNSPEC,
		RTSP_CAST_UNICAST, RTSP_CAST_MULTICAST,
	};
	struct rtsp_tspec t;
	u32 pos = 0, k;

	for (k = 0; k < 5; k++) {
		CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
		CHECK_EQ(t.cast, want[k]);
	}
}

TEST(multicast_spec)
{
	struct in in = IN("RTP/AVP;multicast;destination=224.2.0.1;"
			  "port=3456-3457;ttl=16");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.cast, RTSP_CAST_MULTICAST);
	CHECK_SPAN(in, t.destination, "224.2.0.1");
	CHECK_EQ(t.client.lo, 0);
	CHECK_EQ(t.client.val.len, 0);
}

TEST(interleaved_param)
{
	struct in in = IN("RTP/AVP/TCP;interleaved=0-1,RTP/AVP/TCP;"
			  "Interleaved = 4,RTP/AVP/TCP;unicast");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK(t.interleaved);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK(t.interleaved);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK(!t.interleaved);
}

TEST(destination_addr)
{
	struct in in = IN("RTP/AVP;unicast;destination=192.0.2.7;"
			  "client_port=5000-5001");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.destination, "192.0.2.7");
	CHECK_SPAN(in, t.destination_param, ";destination=192.0.2.7");
	CHECK_EQ(t.client.lo, 5000);
}

TEST(destination_addr_port)
{
	struct in in = IN("MP2T/H2221/UDP;unicast;destination=10.1.2.3:27336");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.destination, "10.1.2.3:27336");
	CHECK_SPAN(in, t.destination_param, ";destination=10.1.2.3:27336");
}

TEST(destination_ipv6_port)
{
	struct in in = IN("RTP/AVP;unicast;destination=[2001:db8::1]:5000;"
			  "client_port=5000-5001");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.destination, "[2001:db8::1]:5000");
	CHECK_SPAN(in, t.destination_param,
		   ";destination=[2001:db8::1]:5000");
}

TEST(destination_first_param_and_spaces)
{
	struct in in = IN("RTP/AVP ;  Destination = 192.0.2.9  ;unicast");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.destination, "192.0.2.9");
	CHECK_SPAN(in, t.destination_param, ";  Destination = 192.0.2.9");
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
}

TEST(destination_without_value)
{
	struct in in = IN("RTP/AVP;multicast;destination;ttl=1");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.destination.len, 0);
	CHECK_SPAN(in, t.destination_param, ";destination");
}

TEST(destination_empty_value_inside_spec)
{
	/* Found by the fuzzer: the param span must not take trailing LWS. */
	struct in in = IN("P?t\r\n\r;ht :t;destination=\n\r\n");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "P?t\r\n\r;ht :t;destination=");
	CHECK_SPAN(in, t.destination_param, ";destination=");
	CHECK_EQ(t.destination.len, 0);
	in = IN("RTP/AVP;destination =  ;unicast");
	pos = 0;
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.destination_param, ";destination =");
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
}

TEST(destination_repeated_rejected)
{
	struct in in = IN("RTP/AVP;destination=1.1.1.1;destination=2.2.2.2,"
			  "RTP/AVP;destination=3.3.3.3");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.destination, "3.3.3.3");
}

TEST(source_param)
{
	struct in in = IN("RTP/AVP;unicast;source=172.26.83.137;"
			  "server_port=48440-48441;ssrc=1234ABCD");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.source, "172.26.83.137");
	CHECK_EQ(t.server.lo, 48440);
	CHECK_EQ(t.server.hi, 48441);
}

TEST(mode_values)
{
	struct in in = IN("RTP/AVP;mode=PLAY,RTP/AVP;MODE = \"RECORD\" ,"
			  "RTP/AVP;mode=\"\"");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.mode, "PLAY");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.mode, "RECORD");
	CHECK_SPAN(in, t.spec, "RTP/AVP;MODE = \"RECORD\"");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.mode.len, 0);
}

TEST(quoted_value_with_comma_and_semicolon)
{
	struct in in = IN("RTP/AVP;mode=\"PLAY,RECORD;X\";client_port=1-2,"
			  "RTP/AVP;client_port=3-4");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.mode, "PLAY,RECORD;X");
	CHECK_EQ(t.client.lo, 1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 3);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

TEST(quoted_value_with_escape)
{
	struct in in = IN("RTP/AVP;x=\"a\\\"b,c\";client_port=11,RTP/AVP");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 11);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "RTP/AVP");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

TEST(unterminated_quote_rejected)
{
	struct in in = IN("RTP/AVP;client_port=1-2,RTP/AVP;mode=\"PLAY,"
			  "RTP/AVP;client_port=3-4");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(pos, in.len);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

TEST(unterminated_quote_backslash_at_end)
{
	struct in in = IN("RTP/AVP;mode=\"x\\");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(pos, in.len);
}

TEST(params_any_order_and_case)
{
	struct in in = IN("RTP/AVP;CLIENT_PORT=7000-7001;Mode=Play;"
			  "Source=192.0.2.1;SERVER_PORT=8000/8001;UniCast;"
			  "DESTINATION=192.0.2.2");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 7000);
	CHECK_EQ(t.client.hi, 7001);
	CHECK_EQ(t.server.lo, 8000);
	CHECK_EQ(t.server.hi, 8001);
	CHECK_EQ(t.server.sep, '/');
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
	CHECK_SPAN(in, t.mode, "Play");
	CHECK_SPAN(in, t.source, "192.0.2.1");
	CHECK_SPAN(in, t.destination, "192.0.2.2");
	CHECK_SPAN(in, t.destination_param, ";DESTINATION=192.0.2.2");
}

TEST(whitespace_everywhere)
{
	struct in in = IN("  RTP/AVP ; unicast ;\tclient_port = 5000-5001 , "
			  "RTP/AVP/TCP ; interleaved = 0-1  ");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "RTP/AVP ; unicast ;\tclient_port = 5000-5001");
	CHECK_SPAN(in, t.client.val, "5000-5001");
	CHECK_EQ(t.client.lo, 5000);
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "RTP/AVP/TCP ; interleaved = 0-1");
	CHECK_EQ(t.lower, RTSP_LOWER_TCP);
	CHECK(t.interleaved);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
}

TEST(empty_alternatives_skipped)
{
	struct in in = IN(" , ,RTP/AVP;client_port=2,, ,");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "RTP/AVP;client_port=2");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
	CHECK_EQ(pos, in.len);
}

TEST(empty_and_absent_values)
{
	struct in in = IN("x");
	struct rtsp_span none = { 0, 0 };
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, none, &pos, &t), 0);
	CHECK_EQ(pos, 0);
	in = IN("  \t ");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
	CHECK_EQ(pos, in.len);
}

TEST(cursor_past_end)
{
	struct in in = IN("RTP/AVP");
	struct rtsp_tspec t;
	u32 pos = 1000;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
	CHECK_EQ(pos, in.len);
}

TEST(trailing_and_empty_params)
{
	struct in in = IN("RTP/AVP;;unicast;;client_port=4-5;;=x; =;");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.cast, RTSP_CAST_UNICAST);
	CHECK_EQ(t.client.lo, 4);
	CHECK_SPAN(in, t.spec, "RTP/AVP;;unicast;;client_port=4-5;;=x; =;");
}

TEST(unknown_params_ignored)
{
	struct in in = IN("RTP/AVP;ttl=127;layers=2;ssrc=DEADBEEF;append;"
			  "rtcp-mux;setup=active;connection=new;"
			  "client_port_x=0;xclient_port=0;port=0;"
			  "client_port=3000");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 3000);
}

TEST(transport_offsets_in_message)
{
	struct in in = IN("SETUP rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n"
			  "Transport:RTP/AVP;unicast;client_port=4588-4589, "
			  "RTP/AVP/TCP;interleaved=2-3\r\n\r\n");
	struct rtsp_msg m;
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK(m.transport.off > 30);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_SPAN(in, t.client.val, "4588-4589");
	CHECK_EQ(t.client.val.off, m.transport.off + 28);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 1);
	CHECK_SPAN(in, t.spec, "RTP/AVP/TCP;interleaved=2-3");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, m.transport, &pos, &t), 0);
}

TEST(iterator_stops_at_value_end)
{
	/* The value is cut out of a larger buffer: nothing past it counts. */
	struct in in = IN("RTP/AVP;client_port=1234,RTP/AVP;client_port=5");
	struct rtsp_span val = { 0, 22 };
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, val, &pos, &t), 1);
	CHECK_EQ(t.client.lo, 12);
	CHECK_SPAN(in, t.client.val, "12");
	CHECK_EQ(nf_rtsp_transport_next(in.buf, val, &pos, &t), 0);
}

TEST(transport_nul_bytes)
{
	struct in in = IN("RTP/AVP;x=\0;client_port=6\0,RTP/\0AVP;client_port=7");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.client.lo, 7);
}

/* ---- Cost stays linear ---- */

static double secs(clock_t a)
{
	return (double)(clock() - a) / CLOCKS_PER_SEC;
}

TEST(many_tiny_specs_linear)
{
	/* Far beyond a 4 KiB header: a quadratic walk would take minutes. */
	enum { N = 1 << 20 };
	struct rtsp_tspec t;
	struct in in;
	char *s = malloc(N);
	u32 pos = 0, specs = 0, k;
	clock_t c;
	int r;

	CHECK(s);
	for (k = 0; k < N; k += 2) {
		s[k] = 'a';
		s[k + 1] = ',';
	}
	in = in_of(s, N);
	free(s);
	c = clock();
	while ((r = nf_rtsp_transport_next(in.buf, whole(in), &pos, &t)) != 0)
		specs += r == 1;
	CHECK_EQ(specs, N / 2);
	CHECK(secs(c) < 5.0);
}

TEST(many_params_linear)
{
	enum { N = 1 << 20 };
	struct rtsp_tspec t;
	struct in in;
	char *s = malloc(N);
	u32 pos = 0, k;
	clock_t c;

	CHECK(s);
	memcpy(s, "RTP/AVP", 7);
	for (k = 7; k < N; k++)
		s[k] = ';';
	in = in_of(s, N);
	free(s);
	c = clock();
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
	CHECK(secs(c) < 5.0);
}

TEST(many_headers_linear)
{
	enum { N = 1 << 21 };
	struct rtsp_msg m;
	struct in in;
	char *s = malloc(N);
	size_t n;
	clock_t c;

	CHECK(s);
	n = sprintf(s, "SETUP rtsp://h/x RTSP/1.0\r\n");
	while (n + 16 < N)
		n += sprintf(s + n, "X-A: b\r\n");
	n += sprintf(s + n, "\r\n");
	in = in_of(s, n);
	free(s);
	c = clock();
	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.len, n);
	/* And the cut-off version still answers quickly. */
	CHECK_EQ(nf_rtsp_parse_msg(in.buf, in.len - 1, &m),
		 RTSP_PARSE_INCOMPLETE);
	CHECK(secs(c) < 5.0);
}

TEST(many_empty_lines_linear)
{
	enum { N = 1 << 21 };
	struct rtsp_msg m;
	struct in in;
	char *s = malloc(N);
	clock_t c;

	CHECK(s);
	memset(s, '\n', N);
	in = in_of(s, N);
	free(s);
	c = clock();
	CHECK_EQ(parse(in, &m), RTSP_PARSE_INCOMPLETE);
	CHECK(secs(c) < 5.0);
}

/*
 * The scans that look at a word at a time: a LF (or ';', ',', '"', a
 * CTL) at every offset of a word, buffers ending at and around word
 * boundaries.  Every input and every prefix of it is in a heap block of
 * exactly its length.
 */
static enum rtsp_parse_result parse_exact(const char *s, u32 n,
					  struct rtsp_msg *m)
{
	char *b = malloc(n ? n : 1);
	enum rtsp_parse_result r;

	if (!b)
		abort();
	memcpy(b, s, n);
	r = nf_rtsp_parse_msg(b, n, m);
	free(b);
	return r;
}

TEST(word_scan_lf_at_each_offset)
{
	static const char pad[] = "abcdefghijklmnopqrstuvwxyz";
	struct rtsp_msg m;
	struct in in;
	char s[160];
	int k, n, cut;

	for (k = 0; k < 20; k++) {
		n = snprintf(s, sizeof(s),
			     "OPTIONS * RTSP/1.0\r\nX-Pad: %.*s\r\n"
			     "CSeq: 7\nSession: %.*s;timeout=5\r\n\r\n",
			     k, pad, k + 1, pad);
		in = in_of(s, n);

		CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
		CHECK_EQ(m.len, n);
		CHECK_SPAN(in, m.cseq, "7");
		CHECK_EQ(m.session.len, k + 1);
		for (cut = 0; cut < n; cut++)
			CHECK_EQ(parse_exact(s, cut, &m),
				 RTSP_PARSE_INCOMPLETE);
	}
}

TEST(word_scan_uri_lengths)
{
	struct rtsp_msg m;
	char s[96];
	int k, n, bad;

	for (k = 1; k < 20; k++) {
		memset(s, 0, sizeof(s));
		memcpy(s, "PLAY ", 5);
		memset(s + 5, '\xc3', k);
		memcpy(s + 5 + k, " RTSP/1.0\r\n\r\n", 13);
		n = 5 + k + 13;
		CHECK_EQ(parse_exact(s, n, &m), RTSP_PARSE_OK);
		CHECK_EQ(m.method, RTSP_METHOD_PLAY);
		/* A CTL or DEL anywhere in the URI. */
		for (bad = 0; bad < k; bad++) {
			s[5 + bad] = bad & 1 ? '\x7f' : '\x01';
			CHECK_EQ(parse_exact(s, n, &m), RTSP_PARSE_INVALID);
			/* Cut before the line ends: still invalid. */
			CHECK_EQ(parse_exact(s, 5 + k, &m),
				 RTSP_PARSE_INVALID);
			s[5 + bad] = '\xc3';
		}
		/* Cut inside the URI, which is still good so far. */
		CHECK_EQ(parse_exact(s, 5 + k, &m), RTSP_PARSE_INCOMPLETE);
	}
}

TEST(word_scan_elem_at_each_offset)
{
	static const char pad[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	struct rtsp_tspec t;
	struct in in;
	char s[128];
	u32 pos;
	int k, n;

	for (k = 0; k < 20; k++) {
		n = snprintf(s, sizeof(s),
			     "RTP/AVP/%.*s;x=\"%.*s;,\\\"\";client_port=%d,b",
			     k, pad, k, pad, 1000 + k);
		in = in_of(s, n);

		pos = 0;
		CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
		CHECK_EQ(t.lower, RTSP_LOWER_OTHER);
		CHECK_EQ(t.client.lo, 1000 + k);
		CHECK_EQ(pos, n - 1);
		CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
		CHECK_SPAN(in, t.spec, "b");
		CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 0);
		/* The same without its closing quote: bad, cursor at end. */
		n = snprintf(s, sizeof(s), "RTP/AVP;x=\"%.*s\\\";y", k, pad);
		in = in_of(s, n);
		pos = 0;
		CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
		CHECK_EQ(pos, n);
	}
}

/* Names of the same length (and first letter) as the ones we look for. */
TEST(header_names_near_ours)
{
	struct in in = IN("RTSP/1.0 200 OK\r\n"
			  "CSeX: 1\r\nCSEQ: 2\r\ncseq: 3\r\n"
			  "Sessiom: a\r\nsESSION: b;timeout=1\r\n"
			  "Transpore: c\r\nTRANSPORT: RTP/AVP/udP\r\n"
			  "Content_Length: 5\r\nContent-Lengtx: 6\r\n"
			  "content-LENGTH: 2\r\n\r\nhi");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.cseq, "2");
	CHECK_SPAN(in, m.session, "b");
	CHECK_SPAN(in, m.transport, "RTP/AVP/udP");
	CHECK_EQ(m.n_transport, 1);
	CHECK_EQ(m.content_length, 2);
	CHECK_EQ(m.len, in.len);
}

TEST(transport_params_near_ours)
{
	struct in in = IN("RTP/AVP/Tcp;client-port=1;client\x7fport=2;"
			  "Client_Porx=3;CLIENT_PORT=4;moDE=\"PLAY\";modf=x;"
			  "sourcf=y;Source=z;multicasT;unicasx;"
			  "DESTINATION=h;destinatioN=i");
	struct rtsp_tspec t;
	u32 pos = 0;

	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), -1);
	in = IN("RTP/AVP/Tcp;client-port=1;client\x7fport=2;"
		"Client_Porx=3;CLIENT_PORT=4;moDE=\"PLAY\";modf=x;"
		"sourcf=y;Source=z;multicasT;unicasx;DESTINATION=h");
	pos = 0;
	CHECK_EQ(nf_rtsp_transport_next(in.buf, whole(in), &pos, &t), 1);
	CHECK_EQ(t.lower, RTSP_LOWER_TCP);
	CHECK_EQ(t.client.lo, 4);
	CHECK_SPAN(in, t.mode, "PLAY");
	CHECK_SPAN(in, t.source, "z");
	CHECK_EQ(t.cast, RTSP_CAST_MULTICAST);
	CHECK_SPAN(in, t.destination, "h");
	CHECK_SPAN(in, t.destination_param, ";DESTINATION=h");
}

TEST(methods_near_ours)
{
	static const struct {
		const char *name;
		u8 method;
	} cases[] = {
		{ "PLAY", RTSP_METHOD_PLAY },
		{ "PLAX", RTSP_METHOD_OTHER },
		{ "PAUSE", RTSP_METHOD_PAUSE },
		{ "PLAYS", RTSP_METHOD_OTHER },
		{ "PLAY_NOTIFY", RTSP_METHOD_PLAY_NOTIFY },
		{ "PLAY_NOTIFYX", RTSP_METHOD_OTHER },
		{ "SETUP", RTSP_METHOD_SETUP },
		{ "Setup", RTSP_METHOD_OTHER },
		{ "SET_PARAMETER", RTSP_METHOD_SET_PARAMETER },
		{ "SET_PARAMETERS", RTSP_METHOD_OTHER },
		{ "GET_PARAMETER", RTSP_METHOD_GET_PARAMETER },
		{ "RECORD", RTSP_METHOD_RECORD },
		{ "REDIRECT", RTSP_METHOD_REDIRECT },
		{ "RECORDS", RTSP_METHOD_OTHER },
		{ "TEARDOWN", RTSP_METHOD_TEARDOWN },
		{ "T", RTSP_METHOD_OTHER },
		{ "OPTIONS", RTSP_METHOD_OPTIONS },
		{ "DESCRIBE", RTSP_METHOD_DESCRIBE },
		{ "ANNOUNCE", RTSP_METHOD_ANNOUNCE },
		{ "ANNOUNCED", RTSP_METHOD_OTHER },
	};
	struct rtsp_msg m;
	char s[64];
	size_t k;
	int n;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		n = snprintf(s, sizeof(s), "%s * RTSP/1.0\r\n\r\n",
			     cases[k].name);
		CHECK_EQ(parse_exact(s, n, &m), RTSP_PARSE_OK);
		CHECK_EQ(m.method, cases[k].method);
	}
}

/* ---- The Request-URI and its host (issue 15: a SETUP to another host) ---- */

TEST(uri_span_request_and_response)
{
	struct in in = IN("PLAY  rtsp://[2001:db8::1]:554/v?x=1 \t RTSP/1.0\r\n\r\n");
	struct in rep = IN("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
	struct in cut = IN("SETUP rtsp://10.0.0.1/a");
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK_SPAN(in, m.uri, "rtsp://[2001:db8::1]:554/v?x=1");
	CHECK_EQ(parse(rep, &m), RTSP_PARSE_OK);
	CHECK_EQ(m.uri.len, 0);
	CHECK_EQ(parse(cut, &m), RTSP_PARSE_INCOMPLETE);
	CHECK_EQ(m.hdr_len, 0);
}

static bool uri_host_is(const char *uri, const char *want, int line)
{
	struct in in = INS(uri);
	struct rtsp_span sp = { 0, in.len }, host;
	bool ok = nf_rtsp_uri_host(in.buf, sp, &host);

	if (!want) {
		if (ok || host.off || host.len)
			unit_fail(line, "%s: host \"%.*s\", expected none", uri,
				  (int)host.len, in.buf + host.off);
		return !ok && !host.len;
	}
	if (!ok) {
		unit_fail(line, "%s: no host, expected \"%s\"", uri, want);
		return false;
	}
	return span_is(in, host, want, line);
}

#define CHECK_HOST(uri, want)						\
	do {								\
		if (!uri_host_is(uri, want, __LINE__))			\
			return;						\
	} while (0)

TEST(uri_host)
{
	CHECK_HOST("rtsp://172.26.22.10/vod", "172.26.22.10");
	CHECK_HOST("rtsp://172.26.84.10:554/rolling_buffer/1/2", "172.26.84.10");
	CHECK_HOST("RTSP://172.26.84.10", "172.26.84.10");
	CHECK_HOST("rtsps://h.example/x", "h.example");
	CHECK_HOST("rtspu://10.0.0.1:8554", "10.0.0.1");
	CHECK_HOST("rtsp://[2001:db8:84::10]/vod/trackID=1", "2001:db8:84::10");
	CHECK_HOST("rtsp://[2001:db8:84::10]:8554/", "2001:db8:84::10");
	CHECK_HOST("rtsp://user:pw@10.1.2.3:554/a", "10.1.2.3");
	CHECK_HOST("rtsp://a@b@10.1.2.3/a", "10.1.2.3");
	CHECK_HOST("rtsp://10.1.2.3?x", "10.1.2.3");
	CHECK_HOST("rtsp://10.1.2.3#f", "10.1.2.3");
	CHECK_HOST("rtsp://10.1.2.3/a@b", "10.1.2.3");
	CHECK_HOST("*", NULL);
	CHECK_HOST("/vod", NULL);
	CHECK_HOST("http://10.1.2.3/", NULL);
	CHECK_HOST("rtspx://10.1.2.3/", NULL);
	CHECK_HOST("rtsp:/10.1.2.3/", NULL);
	CHECK_HOST("rtsp://", NULL);
	CHECK_HOST("rtsp:///vod", NULL);
	CHECK_HOST("rtsp://:554/vod", NULL);
	CHECK_HOST("rtsp://user@/vod", NULL);
	CHECK_HOST("rtsp://[]/vod", NULL);
	CHECK_HOST("rtsp://[2001:db8::1/vod", NULL);
	CHECK_HOST("rtsp://[2001:db8::1]x/vod", NULL);
	CHECK_HOST("rtsp://10.0.0.1]/vod", NULL);
	CHECK_HOST("rtsp://10.0.0.1[/vod", NULL);
	CHECK_HOST("rtsp://[10[2001:db8::1]:5000/x", NULL);
	CHECK_HOST("rts", NULL);
	CHECK_HOST("", NULL);
}

/* A host within a message: the span is relative to the buffer. */
TEST(uri_host_in_message)
{
	struct in in = IN("SETUP rtsp://172.26.84.10/vod RTSP/1.0\r\nCSeq: 2\r\n\r\n");
	struct rtsp_span host;
	struct rtsp_msg m;

	CHECK_EQ(parse(in, &m), RTSP_PARSE_OK);
	CHECK(nf_rtsp_uri_host(in.buf, m.uri, &host));
	CHECK_SPAN(in, host, "172.26.84.10");
}

/* Bytes a server may read client_port= from, in one segment or across two. */
static u32 cp_scan(const char *s, u32 matched)
{
	return nf_rtsp_client_port_scan(s, strlen(s), matched);
}

/* The same, spelled out: the longest end of @s that starts the word. */
static u32 cp_ref(const char *s)
{
	static const char word[] = "client_port";
	char low[64];
	u32 i, len = strlen(s), k;

	for (i = 0; i <= len; i++)
		low[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i];
	if (strstr(low, word))
		return RTSP_CLIENT_PORT_FOUND;
	for (k = sizeof(word) - 2; k; k--)
		if (k <= len && !strncmp(low + len - k, word, k))
			return k;
	return 0;
}

TEST(client_port_scan)
{
	static const char alpha[] = "clientCLIENT_por=x";
	u32 i, k, n, len, m, seed = 1;
	char buf[24];

	CHECK_EQ(cp_scan("Transport: RTP/AVP;unicast;client_port=5000\r\n", 0),
		 RTSP_CLIENT_PORT_FOUND);
	CHECK_EQ(cp_scan("CLIENT_PORT=1", 0), RTSP_CLIENT_PORT_FOUND);
	CHECK_EQ(cp_scan("x;Client_Port", 0), RTSP_CLIENT_PORT_FOUND);
	CHECK_EQ(cp_scan("c", 0), 1);
	CHECK_EQ(cp_scan("X: cl", 0), 2);
	CHECK_EQ(cp_scan("client_por", 0), 10);
	CHECK_EQ(cp_scan("cclient_po", 0), 9);
	CHECK_EQ(cp_scan("", 0), 0);
	CHECK_EQ(cp_scan("", 4), 4);
	CHECK_EQ(cp_scan("client_porx", 0), 0);
	CHECK_EQ(cp_scan("clientport", 0), 0);
	CHECK_EQ(cp_scan("PLAY rtsp://a/b RTSP/1.0\r\nCSeq: 4\r\n\r\n", 0), 0);
	/* Across segments: the match goes on, or starts again. */
	CHECK_EQ(cp_scan("rt=1", 9), RTSP_CLIENT_PORT_FOUND);
	CHECK_EQ(cp_scan("t", 10), RTSP_CLIENT_PORT_FOUND);
	CHECK_EQ(cp_scan("lient", 1), 6);
	CHECK_EQ(cp_scan("x", 10), 0);
	CHECK_EQ(cp_scan("client_port", 3), RTSP_CLIENT_PORT_FOUND);
	CHECK_EQ(cp_scan("c", 5), 1);
	CHECK_EQ(cp_scan("x", RTSP_CLIENT_PORT_FOUND), RTSP_CLIENT_PORT_FOUND);

	/*
	 * Against the reference, on strings of the word's letters, whole and
	 * cut anywhere into two segments: the state carried over the cut
	 * gives what the whole gives.
	 */
	for (n = 0; n < 200000; n++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % 20;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		buf[len] = 0;
		k = cp_ref(buf);
		if (cp_scan(buf, 0) != k) {
			CHECK_EQ(cp_scan(buf, 0), k);
			break;
		}
		for (i = 0; i <= len; i++) {
			m = nf_rtsp_client_port_scan(buf, i, 0);
			if (m != RTSP_CLIENT_PORT_FOUND)
				m = nf_rtsp_client_port_scan(buf + i, len - i, m);
			if (m != k) {
				CHECK_EQ(m, k);
				n = ~0U - 1;
				break;
			}
		}
	}
}

int main(void)
{
	return unit_main();
}

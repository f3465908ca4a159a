// SPDX-License-Identifier: GPL-2.0
/*
 * Differential libFuzzer harness: rtsp_parse.c against a reference
 * version of itself (FUZZ_REF in tests/unit.mk, a git revision with the
 * same rtsp_parse.h structures, built with its public functions renamed
 * ref_*).  A rewrite for speed must give the same answer, byte for byte,
 * on every input: same result, same message fields, same transport specs
 * and cursor positions, same URI host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtsp_parse.h"

enum rtsp_parse_result ref_rtsp_parse_msg(const char *buf, u32 len,
					  struct rtsp_msg *msg);
int ref_rtsp_transport_next(const char *buf, struct rtsp_span val, u32 *pos,
			    struct rtsp_tspec *spec);
bool ref_rtsp_uri_host(const char *buf, struct rtsp_span uri,
		       struct rtsp_span *host);

#define SAME(a, b, what)						\
	do {								\
		if ((a) != (b)) {					\
			fprintf(stderr, "differs: %s: %lld vs ref %lld\n",\
				what, (long long)(a), (long long)(b));	\
			abort();					\
		}							\
	} while (0)

static void same_span(struct rtsp_span a, struct rtsp_span b, const char *w)
{
	SAME(a.len, b.len, w);
	if (a.len)
		SAME(a.off, b.off, w);
}

static void same_ports(const struct rtsp_ports *a, const struct rtsp_ports *b)
{
	same_span(a->val, b->val, "ports.val");
	SAME(a->lo, b->lo, "ports.lo");
	SAME(a->hi, b->hi, "ports.hi");
	SAME(a->sep, b->sep, "ports.sep");
}

static void same_transport(const char *buf, struct rtsp_span val)
{
	struct rtsp_tspec a, b;
	u32 pa = 0, pb = 0;
	int ra, rb;

	do {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		ra = nf_rtsp_transport_next(buf, val, &pa, &a);
		rb = ref_rtsp_transport_next(buf, val, &pb, &b);
		SAME(ra, rb, "transport_next result");
		SAME(pa, pb, "transport_next pos");
		if (ra != 1)
			continue;
		same_span(a.spec, b.spec, "spec");
		SAME(a.lower, b.lower, "lower");
		SAME(a.cast, b.cast, "cast");
		SAME(a.interleaved, b.interleaved, "interleaved");
		same_ports(&a.client, &b.client);
		same_ports(&a.server, &b.server);
		same_span(a.destination, b.destination, "destination");
		same_span(a.destination_param, b.destination_param,
			  "destination_param");
		same_span(a.source, b.source, "source");
		same_span(a.mode, b.mode, "mode");
	} while (ra != 0);
}

/* Parse at @buf as the module does; returns the next offset or 0. */
static u32 same_msg(const char *buf, u32 len, u32 base)
{
	struct rtsp_msg a, b;
	enum rtsp_parse_result ra, rb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = nf_rtsp_parse_msg(buf, len, &a);
	rb = ref_rtsp_parse_msg(buf, len, &b);
	SAME(ra, rb, "parse_msg result");
	if (ra == RTSP_PARSE_INVALID)
		return 0;
	SAME(a.hdr_len, b.hdr_len, "hdr_len");
	if (ra == RTSP_PARSE_INCOMPLETE && !a.hdr_len)
		return 0;
	SAME(a.type, b.type, "type");
	SAME(a.method, b.method, "method");
	SAME(a.status, b.status, "status");
	SAME(a.start, b.start, "start");
	SAME(a.len, b.len, "len");
	SAME(a.content_length, b.content_length, "content_length");
	same_span(a.transport, b.transport, "transport");
	same_span(a.session, b.session, "session");
	same_span(a.cseq, b.cseq, "cseq");
	same_span(a.uri, b.uri, "uri");
	SAME(a.n_transport, b.n_transport, "n_transport");
	if (a.uri.len) {
		struct rtsp_span ha, hb;
		bool ua = nf_rtsp_uri_host(buf, a.uri, &ha);
		bool ub = ref_rtsp_uri_host(buf, a.uri, &hb);

		SAME(ua, ub, "uri_host");
		same_span(ha, hb, "uri_host span");
	}
	if (a.transport.len) {
		a.transport.off += base;
		same_transport(buf - base, a.transport);
	}
	return ra == RTSP_PARSE_OK ? a.len : 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *buf = (const char *)data;
	struct rtsp_span whole = { 0, (u32)size };
	u32 len = (u32)size, off = 0, n, cut, step;

	if (size > (1U << 20))
		return 0;
	/* Pipelined messages, then prefixes of the first one. */
	while (off < len && (n = same_msg(buf + off, len - off, off)) != 0)
		off += n;
	step = len / 32 + 1;
	for (cut = size % step; cut < len; cut += step)
		same_msg(buf, cut, 0);
	same_transport(buf, whole);
	return 0;
}

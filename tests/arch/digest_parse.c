// SPDX-License-Identifier: GPL-2.0
/*
 * Byte-order differential harness for rtsp_parse.c, run through
 * tests/fuzz/driver.c on the host and on big-endian s390x with the same
 * seed (tests/arch/be-test): every result of the parser (each message's
 * fields, each Transport spec's fields and return code, as values, never
 * as struct bytes) is folded into one FNV-1a digest, which the driver
 * prints.  Both runs see the same inputs, so the digests differ only if
 * the parser's results depend on the byte order.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rtsp_parse.h"

static uint64_t digest = 0xcbf29ce484222325ULL;
static uint64_t inputs;

static void mix(uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		digest ^= (v >> (8 * i)) & 0xff;
		digest *= 0x100000001b3ULL;
	}
}

static void mix_span(struct rtsp_span s)
{
	mix(s.off);
	mix(s.len);
}

static void mix_ports(const struct rtsp_ports *p)
{
	mix_span(p->val);
	mix(p->lo);
	mix(p->hi);
	mix((unsigned char)p->sep);
}

static void walk(const char *buf, struct rtsp_span val)
{
	struct rtsp_tspec t;
	u32 pos = 0, rounds = 0;
	int r;

	while (rounds++ < 4096) {
		memset(&t, 0, sizeof(t));
		r = nf_rtsp_transport_next(buf, val, &pos, &t);
		mix((uint64_t)(int64_t)r);
		mix(pos);
		if (r == 0)
			break;
		if (r < 0)
			continue;
		mix_span(t.spec);
		mix(t.lower);
		mix(t.cast);
		mix(t.interleaved);
		mix_ports(&t.client);
		mix_ports(&t.server);
		mix_span(t.destination);
		mix_span(t.destination_param);
		mix_span(t.source);
		mix_span(t.mode);
	}
}

uint64_t driver_digest(void);

uint64_t driver_digest(void)
{
	return digest ^ inputs;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *buf = (const char *)data;
	struct rtsp_span whole = { 0, (u32)size };
	u32 len = (u32)size, off = 0;
	enum rtsp_parse_result r;
	struct rtsp_msg m;

	inputs++;
	if (size > (1U << 20))
		return 0;
	while (off < len) {
		memset(&m, 0, sizeof(m));
		r = nf_rtsp_parse_msg(buf + off, len - off, &m);
		mix(r);
		if (r == RTSP_PARSE_INVALID)
			break;
		mix(m.hdr_len);
		if (r == RTSP_PARSE_INCOMPLETE && !m.hdr_len)
			break;
		mix(m.type);
		mix(m.method);
		mix(m.status);
		mix(m.start);
		mix(m.len);
		mix(m.content_length);
		mix_span(m.transport);
		mix_span(m.session);
		mix_span(m.cseq);
		mix(m.n_transport);
		if (m.transport.len) {
			struct rtsp_span v = m.transport;

			v.off += off;
			walk(buf, v);
		}
		if (r != RTSP_PARSE_OK)
			break;
		off += m.len;
	}
	walk(buf, whole);
	return 0;
}

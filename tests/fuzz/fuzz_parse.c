// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for rtsp_parse.c.
 *
 * Walks the input as a stream of pipelined messages, iterates over the
 * Transport specs of each one, and also treats the whole input as one
 * Transport value.  Besides the sanitizers, it checks the invariants the
 * kernel module relies on: spans inside the buffer, forward progress,
 * consistent port fields, and that a message cut short is INCOMPLETE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtsp_parse.h"

#define ASSERT(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

/* @sp lies inside [lo, hi). */
static void in_range(struct rtsp_span sp, u32 lo, u32 hi)
{
	if (!sp.len)
		return;
	ASSERT(sp.off >= lo && sp.off <= hi);
	ASSERT(sp.len <= hi - sp.off);
}

static void check_ports(const struct rtsp_ports *p, u32 lo, u32 hi)
{
	if (!p->val.len) {
		ASSERT(p->lo == 0 && p->hi == 0 && p->sep == 0);
		return;
	}
	in_range(p->val, lo, hi);
	ASSERT(p->lo >= 1 && p->hi >= 1);
	ASSERT(p->sep == 0 || p->sep == '-' || p->sep == '/');
	if (p->sep == 0)
		ASSERT(p->lo == p->hi);
	if (p->sep == '-')
		ASSERT(p->lo <= p->hi);
	ASSERT(p->val.len <= 11);
}

static void walk_transport(const char *buf, struct rtsp_span val)
{
	u32 lo = val.off, hi = val.off + val.len;
	u32 pos = 0, prev = 0, rounds = 0;
	struct rtsp_tspec t;
	int r;

	for (;;) {
		r = nf_rtsp_transport_next(buf, val, &pos, &t);
		ASSERT(r >= -1 && r <= 1);
		ASSERT(pos <= val.len);
		ASSERT(++rounds <= val.len + 1);
		if (r == 0) {
			ASSERT(pos == val.len);
			/* Stays done. */
			ASSERT(nf_rtsp_transport_next(buf, val, &pos, &t) == 0);
			return;
		}
		ASSERT(pos > prev);
		prev = pos;
		if (r < 0)
			continue;
		ASSERT(t.spec.len > 0);
		in_range(t.spec, lo, hi);
		ASSERT(t.spec.off + t.spec.len <= lo + pos);
		lo = t.spec.off;
		hi = t.spec.off + t.spec.len;
		ASSERT(t.lower <= RTSP_LOWER_OTHER);
		ASSERT(t.cast <= RTSP_CAST_MULTICAST);
		check_ports(&t.client, lo, hi);
		check_ports(&t.server, lo, hi);
		/* What the parser reads a client port from, the scan sees. */
		if (t.client.lo)
			ASSERT(nf_rtsp_client_port_scan(buf + t.spec.off,
							t.spec.len, 0) ==
			       RTSP_CLIENT_PORT_FOUND);
		in_range(t.destination, lo, hi);
		in_range(t.destination_param, lo, hi);
		in_range(t.source, lo, hi);
		in_range(t.mode, lo, hi);
		if (t.destination.len) {
			ASSERT(t.destination_param.len);
			ASSERT(buf[t.destination_param.off] == ';');
			ASSERT(t.destination.off > t.destination_param.off);
			ASSERT(t.destination.off + t.destination.len <=
			       t.destination_param.off +
			       t.destination_param.len);
		}
		lo = val.off;
		hi = val.off + val.len;
	}
}

/* nf_rtsp_client_port_scan() from 0, spelled out. */
static u32 client_port_scan(const char *buf, u32 len)
{
	static const char word[] = "client_port";
	u32 i, k, best = 0;
	char c;

	for (i = 0; i < len; i++) {
		for (k = 0; k < sizeof(word) - 1 && i + k < len; k++) {
			c = buf[i + k];
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (c != word[k])
				break;
		}
		if (k == sizeof(word) - 1)
			return RTSP_CLIENT_PORT_FOUND;
		if (k && i + k == len && k > best)
			best = k;
	}
	return best;
}

static void check_msg(const char *buf, u32 len, const struct rtsp_msg *m)
{
	struct rtsp_msg m2;
	u32 cut;

	ASSERT(m->len > 0 && m->len <= len);
	ASSERT(m->start < m->hdr_len && m->hdr_len <= m->len);
	ASSERT(m->len - m->hdr_len == m->content_length);
	ASSERT(nf_rtsp_method_name(m) != NULL);
	if (m->type == RTSP_MSG_INTERLEAVED) {
		ASSERT(buf[m->start] == '$');
		ASSERT(m->hdr_len == m->start + 4);
	} else {
		ASSERT(m->type == RTSP_MSG_REQUEST ||
		       m->type == RTSP_MSG_RESPONSE);
		ASSERT(m->content_length <= RTSP_MAX_CONTENT_LENGTH);
		ASSERT((m->type == RTSP_MSG_RESPONSE) ==
		       (m->method == RTSP_METHOD_NONE));
		ASSERT((m->type == RTSP_MSG_RESPONSE) ==
		       (m->status >= 100));
		in_range(m->transport, m->start, m->hdr_len);
		in_range(m->session, m->start, m->hdr_len);
		in_range(m->cseq, m->start, m->hdr_len);
		if (m->transport.len)
			ASSERT(m->n_transport > 0);
		ASSERT((m->type == RTSP_MSG_REQUEST) == (m->uri.len > 0));
		if (m->uri.len) {
			struct rtsp_span host;
			u32 i;

			in_range(m->uri, m->start, m->hdr_len);
			if (nf_rtsp_uri_host(buf, m->uri, &host)) {
				/* Within the URI, no delimiter inside. */
				ASSERT(host.len > 0);
				in_range(host, m->uri.off,
					 m->uri.off + m->uri.len);
				for (i = host.off; i < host.off + host.len; i++)
					ASSERT(buf[i] != '/' && buf[i] != '@' &&
					       buf[i] != '[' && buf[i] != ']');
			} else {
				ASSERT(!host.off && !host.len);
			}
		}
	}

	/* The message alone parses the same. */
	ASSERT(nf_rtsp_parse_msg(buf, m->len, &m2) == RTSP_PARSE_OK);
	ASSERT(m2.len == m->len && m2.hdr_len == m->hdr_len);
	ASSERT(m2.transport.off == m->transport.off &&
	       m2.transport.len == m->transport.len);

	/* Any cut of it is a prefix to wait on, never OK or INVALID. */
	for (cut = m->len - 1;; cut /= 2) {
		ASSERT(nf_rtsp_parse_msg(buf, cut, &m2) ==
		       RTSP_PARSE_INCOMPLETE);
		if (!cut)
			break;
	}
	cut = m->start + (m->hdr_len - m->start) / 3;
	ASSERT(nf_rtsp_parse_msg(buf, cut, &m2) == RTSP_PARSE_INCOMPLETE);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *buf = (const char *)data;
	struct rtsp_span whole = { 0, (u32)size };
	struct rtsp_msg m;
	u32 len = (u32)size, off = 0;
	enum rtsp_parse_result r;

	if (size > (1U << 20))
		return 0;

	while (off < len) {
		r = nf_rtsp_parse_msg(buf + off, len - off, &m);
		ASSERT(r == RTSP_PARSE_OK || r == RTSP_PARSE_INCOMPLETE ||
		       r == RTSP_PARSE_INVALID);
		if (r == RTSP_PARSE_INCOMPLETE && m.hdr_len) {
			/* A complete head: the module acts on it and skips
			 * the rest of the message by its length.
			 */
			ASSERT(m.hdr_len <= len - off);
			ASSERT(m.len > len - off);
			ASSERT(m.len == m.hdr_len + m.content_length);
			if (m.transport.len) {
				in_range(m.transport, 0, m.hdr_len);
				m.transport.off += off;
				walk_transport(buf, m.transport);
			}
		}
		if (r != RTSP_PARSE_OK)
			break;
		check_msg(buf + off, len - off, &m);
		if (m.transport.len) {
			struct rtsp_span v = m.transport;

			v.off += off;
			walk_transport(buf, v);
		}
		off += m.len;
	}

	walk_transport(buf, whole);
	/* Whole, and cut in two at a place the input picks. */
	ASSERT(nf_rtsp_client_port_scan(buf, len, 0) ==
	       client_port_scan(buf, len));
	if (len) {
		u32 cut = (u8)buf[0] % (len + 1);
		u32 m = nf_rtsp_client_port_scan(buf, cut, 0);

		ASSERT(nf_rtsp_client_port_scan(buf + cut, len - cut, m) ==
		       client_port_scan(buf, len));
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace cost of the RTSP parser (rtsp_parse.c, the very file the
 * kernel module includes): what the helper spends on one message, as
 * nf_rtsp_parse_msg() + nf_rtsp_transport_next() over every transport spec.
 *
 *   parse_bench list                    names, sizes and spec counts
 *   parse_bench time [RUNS [RUN_MS]]    ns per message: RUNS (21) timed runs
 *                                       of ~RUN_MS (20) each, median/min/max
 *   parse_bench count NAME ITER         ITER calls of bench_one() on NAME,
 *                                       for callgrind --toggle-collect=bench_one
 *
 * Every message sits in a heap block of exactly its length, as in the unit
 * tests; each one is checked to parse (and to have the expected number of
 * transport specs) before it is measured.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtsp_parse.h"

struct bench_msg {
	const char *name;
	const char *what;
	char *buf;
	u32 len;
	int want_specs;
};

#define URI "rtsp://172.26.22.10:554/4294967295?videoid=123"

static const char movistar_setup[] =
	"SETUP " URI " RTSP/1.0\r\n"
	"CSeq: 3\r\n"
	"User-Agent: MICA-IP-STB\r\n"
	"Transport: MP2T/H2221/UDP;unicast;client_port=27336\r\n"
	"x-mayNotify:\r\n"
	"\r\n";

static const char rtp_setup[] =
	"SETUP " URI " RTSP/1.0\r\n"
	"CSeq: 3\r\n"
	"User-Agent: MICA-IP-STB\r\n"
	"Transport: RTP/AVP;unicast;client_port=5000-5001\r\n"
	"x-mayNotify:\r\n"
	"\r\n";

static const char play[] =
	"PLAY " URI " RTSP/1.0\r\n"
	"CSeq: 4\r\n"
	"Session: 1234567890;timeout=60\r\n"
	"Range: npt=0.000-end\r\n"
	"Scale: 1.000\r\n"
	"x-playNow:\r\n"
	"x-noFlush:\r\n"
	"User-Agent: MICA-IP-STB\r\n"
	"\r\n";

static const char get_parameter[] =
	"GET_PARAMETER " URI " RTSP/1.0\r\n"
	"CSeq: 5\r\n"
	"Session: 1234567890\r\n"
	"User-Agent: MICA-IP-STB\r\n"
	"\r\n";

#define BIG_LEN		4096
#define BIG_SPECS	50

/* A 4 KiB SETUP whose Transport offers 50 alternatives. */
static u32 make_big_setup(char *out)
{
	static const char head[] =
		"SETUP " URI " RTSP/1.0\r\n"
		"CSeq: 3\r\n"
		"User-Agent: MICA-IP-STB\r\n"
		"Transport: ";
	static const char tail[] = "\r\nx-mayNotify:\r\nX-Pad: ";
	u32 n = 0, i;

	memcpy(out, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (i = 0; i < BIG_SPECS; i++)
		n += sprintf(out + n,
			     "%sRTP/AVP;unicast;destination=192.168.1.200;client_port=%u-%u;mode=PLAY",
			     i ? "," : "", 20000 + 2 * i, 20001 + 2 * i);
	memcpy(out + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	if (n > BIG_LEN - 8) {
		fprintf(stderr, "big SETUP: %u bytes before padding\n", n);
		exit(2);
	}
	/* X-Pad value up to exactly BIG_LEN bytes with the final CRLFCRLF. */
	while (n < BIG_LEN - 4)
		out[n++] = 'p';
	memcpy(out + n, "\r\n\r\n", 4);
	return n + 4;
}

static struct bench_msg msgs[] = {
	{ "movistar_setup", "Movistar SETUP, MP2T/H2221/UDP client_port=27336", NULL, 0, 1 },
	{ "rtp_range_setup", "SETUP, RTP/AVP;unicast;client_port=5000-5001", NULL, 0, 1 },
	{ "setup_4k_50specs", "4 KiB SETUP, 50 transport alternatives", NULL, 0, BIG_SPECS },
	{ "play", "PLAY (Session, Range, Scale, x-playNow)", NULL, 0, 0 },
	{ "get_parameter", "GET_PARAMETER keep-alive", NULL, 0, 0 },
};
#define N_MSGS (sizeof(msgs) / sizeof(msgs[0]))

static void set_msg(struct bench_msg *m, const char *text, u32 len)
{
	m->buf = malloc(len);
	if (!m->buf) {
		perror("malloc");
		exit(2);
	}
	memcpy(m->buf, text, len);
	m->len = len;
}

static void init_msgs(void)
{
	char big[2 * BIG_LEN];
	u32 n = make_big_setup(big);

	set_msg(&msgs[0], movistar_setup, sizeof(movistar_setup) - 1);
	set_msg(&msgs[1], rtp_setup, sizeof(rtp_setup) - 1);
	set_msg(&msgs[2], big, n);
	set_msg(&msgs[3], play, sizeof(play) - 1);
	set_msg(&msgs[4], get_parameter, sizeof(get_parameter) - 1);
}

/*
 * What the helper does per message: parse it, then walk every transport
 * spec.  Returns a value depending on all results so nothing is optimised
 * away; noinline so that callgrind can collect exactly this.
 */
__attribute__((noinline)) u32 bench_one(const char *buf, u32 len, int *specs)
{
	struct rtsp_msg msg;
	struct rtsp_tspec spec;
	u32 pos = 0, acc;
	int r, n = 0;

	if (nf_rtsp_parse_msg(buf, len, &msg) != RTSP_PARSE_OK)
		return 0;
	acc = msg.len + msg.method;
	if (msg.transport.len) {
		while ((r = nf_rtsp_transport_next(buf, msg.transport, &pos,
						   &spec)) != 0) {
			if (r < 0)
				continue;
			acc += spec.client.lo + spec.client.hi;
			n++;
		}
	}
	*specs = n;
	return acc;
}

static volatile u32 sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void check_msgs(void)
{
	unsigned int i;
	int specs;

	for (i = 0; i < N_MSGS; i++) {
		specs = -1;
		if (!bench_one(msgs[i].buf, msgs[i].len, &specs) ||
		    specs != msgs[i].want_specs) {
			fprintf(stderr, "%s: does not parse as expected (%d specs)\n",
				msgs[i].name, specs);
			exit(2);
		}
	}
}

static double run_once(const struct bench_msg *m, unsigned long iter)
{
	unsigned long k;
	double t0, t1;
	u32 acc = 0;
	int specs;

	t0 = now_ns();
	for (k = 0; k < iter; k++) {
		/* The buffer "changes" each time as far as the compiler knows. */
		__asm__ __volatile__("" : : "r"(m->buf) : "memory");
		acc += bench_one(m->buf, m->len, &specs);
	}
	t1 = now_ns();
	sink = acc;
	return (t1 - t0) / iter;
}

static void do_time(int runs, double run_ms)
{
	double *ns = calloc(runs, sizeof(*ns));
	unsigned long iter;
	unsigned int i;
	int r;

	printf("# msg bytes specs iter_per_run runs ns_median ns_min ns_max\n");
	for (i = 0; i < N_MSGS; i++) {
		const struct bench_msg *m = &msgs[i];
		double t;

		/*
		 * Warm up, then size a run to take about run_ms from the
		 * fastest of a few short runs (the least disturbed one).
		 */
		t = run_once(m, 1000);
		for (r = 0; r < 5; r++) {
			double u = run_once(m, 1000);

			if (u < t)
				t = u;
		}
		iter = (unsigned long)(run_ms * 1e6 / t) + 1;
		for (r = 0; r < runs; r++)
			ns[r] = run_once(m, iter);
		qsort(ns, runs, sizeof(*ns), cmp_double);
		printf("%s %u %d %lu %d %.1f %.1f %.1f\n", m->name, m->len,
		       m->want_specs, iter, runs, ns[runs / 2], ns[0],
		       ns[runs - 1]);
		fflush(stdout);
	}
	free(ns);
}

int main(int argc, char **argv)
{
	unsigned int i;

	init_msgs();
	check_msgs();

	if (argc >= 2 && !strcmp(argv[1], "list")) {
		for (i = 0; i < N_MSGS; i++)
			printf("%s %u %d %s\n", msgs[i].name, msgs[i].len,
			       msgs[i].want_specs, msgs[i].what);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "time")) {
		int runs = argc > 2 ? atoi(argv[2]) : 21;
		double run_ms = argc > 3 ? atof(argv[3]) : 20;

		do_time(runs > 0 ? runs : 21, run_ms > 0 ? run_ms : 20);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "count")) {
		unsigned long iter = strtoul(argv[3], NULL, 10), k;
		u32 acc = 0;
		int specs;

		for (i = 0; i < N_MSGS; i++)
			if (!strcmp(msgs[i].name, argv[2]))
				break;
		if (i == N_MSGS) {
			fprintf(stderr, "no message %s\n", argv[2]);
			return 2;
		}
		for (k = 0; k < iter; k++)
			acc += bench_one(msgs[i].buf, msgs[i].len, &specs);
		sink = acc;
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "dump")) {
		for (i = 0; i < N_MSGS; i++)
			if (argc < 3 || !strcmp(msgs[i].name, argv[2]))
				fwrite(msgs[i].buf, 1, msgs[i].len, stdout);
		return 0;
	}
	fprintf(stderr, "usage: %s list | time [RUNS [RUN_MS]] | count NAME ITER | dump [NAME]\n",
		argv[0]);
	return 2;
}

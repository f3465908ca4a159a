// SPDX-License-Identifier: GPL-2.0
/*
 * UDP sender for the benchmarks (the MPEG server's role): datagrams of
 * 7 x 188-byte MPEG-TS packets (1316 bytes) by default.
 *
 *   udpblast -d DST -p PORT [-s SRCPORT] [-l SIZE] [-t SECS] [-n COUNT] [-b BATCH]
 *       as fast as it can for SECS, or until COUNT datagrams are sent
 *       (sendmmsg, BATCH datagrams a call);
 *       prints: sent=N errors=N secs=S pps=X
 *   udpblast -f TARGETS -k K [-s SRCPORT] [-l SIZE] [-r PPS]
 *       K datagrams to each "ADDR PORT" line of TARGETS, round-robin,
 *       at most PPS datagrams a second overall (0: no pacing);
 *       prints: sent=N errors=N targets=N secs=S
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH	256

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill_ts(unsigned char *buf, size_t len)
{
	size_t i;

	memset(buf, 0xff, len);
	for (i = 0; i + 4 <= len; i += 188) {
		buf[i] = 0x47;
		buf[i + 1] = 0x01;
		buf[i + 2] = 0x00;
		buf[i + 3] = 0x10 | ((i / 188) & 0x0f);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	const char *targets = NULL;
	unsigned long k = 10, sent = 0, errors = 0, count = 0;
	int size = 1316, batch = 32, opt, fd, i;
	double secs = 3, pps = 0, t0, t1;
	unsigned char *buf;

	while ((opt = getopt(argc, argv, "d:p:s:l:t:n:b:f:k:r:")) != -1) {
		switch (opt) {
		case 'd': inet_pton(AF_INET, optarg, &dst.sin_addr); break;
		case 'p': dst.sin_port = htons(atoi(optarg)); break;
		case 's': src.sin_port = htons(atoi(optarg)); break;
		case 'l': size = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'b': batch = atoi(optarg); break;
		case 'f': targets = optarg; break;
		case 'k': k = strtoul(optarg, NULL, 10); break;
		case 'r': pps = atof(optarg); break;
		default:
			fprintf(stderr, "usage: %s -d DST -p PORT [-s SRCPORT] [-l SIZE] [-t SECS] [-n COUNT] [-b BATCH]\n"
				"       %s -f TARGETS -k K [-s SRCPORT] [-l SIZE] [-r PPS]\n",
				argv[0], argv[0]);
			return 2;
		}
	}
	if (size < 1 || size > 65000)
		size = 1316;
	if (batch < 1 || batch > MAX_BATCH)
		batch = 32;
	buf = malloc(size);
	fill_ts(buf, size);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	opt = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
	if (src.sin_port && bind(fd, (void *)&src, sizeof(src)) < 0) {
		perror("bind");
		return 2;
	}

	if (targets) {
		struct sockaddr_in *to = NULL;
		unsigned long n = 0, cap = 0, r;
		char addr[64];
		int port;
		FILE *f = fopen(targets, "r");

		if (!f) {
			perror(targets);
			return 2;
		}
		while (fscanf(f, "%63s %d", addr, &port) == 2) {
			if (n == cap) {
				cap = cap ? 2 * cap : 1024;
				to = realloc(to, cap * sizeof(*to));
			}
			to[n] = (struct sockaddr_in){ .sin_family = AF_INET,
						      .sin_port = htons(port) };
			if (inet_pton(AF_INET, addr, &to[n].sin_addr) == 1)
				n++;
		}
		fclose(f);
		t0 = now();
		for (r = 0; r < k; r++) {
			unsigned long j;

			for (j = 0; j < n; j++) {
				if (sendto(fd, buf, size, 0, (void *)&to[j],
					   sizeof(to[j])) == size)
					sent++;
				else
					errors++;
				/* Pacing: never ahead of the schedule. */
				while (pps > 0 && now() < t0 + (sent + errors) / pps)
					;
			}
		}
		t1 = now();
		printf("sent=%lu errors=%lu targets=%lu secs=%.3f\n", sent, errors,
		       n, t1 - t0);
		return 0;
	}

	{
		struct mmsghdr msgs[MAX_BATCH];
		struct iovec iov = { .iov_base = buf, .iov_len = size };
		double deadline;

		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < batch; i++) {
			msgs[i].msg_hdr.msg_name = &dst;
			msgs[i].msg_hdr.msg_namelen = sizeof(dst);
			msgs[i].msg_hdr.msg_iov = &iov;
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		t0 = now();
		deadline = t0 + secs;
		while ((t1 = now()) < deadline && (!count || sent < count)) {
			int b = count && count - sent < (unsigned long)batch ?
				(int)(count - sent) : batch;
			int r = sendmmsg(fd, msgs, b, 0);

			if (r > 0)
				sent += r;
			else
				errors++;	/* e.g. ECONNREFUSED from an ICMP error */
		}
		printf("sent=%lu errors=%lu secs=%.3f pps=%.1f\n", sent, errors,
		       t1 - t0, sent / (t1 - t0));
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * UDP receiver for the benchmarks (the set-top box's media socket): counts
 * what arrives, which is what a figure is based on.
 *
 *   udpsink -p PORT [-b ADDR] [-t MAXSECS] [-i IDLE_MS] [-R READY]
 *
 * Counts from the first datagram until none has come for IDLE_MS (default
 * 500) or MAXSECS (default 60) pass; rates are over first..last datagram.
 * Prints: packets=N bytes=N secs=S pps=X mbit_s=X
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64
#define MAXLEN	2048

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	static char bufs[BATCH][MAXLEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long packets = 0, bytes = 0;
	double maxsecs = 60, idle = 0.5, start, first = 0, last = 0, secs;
	const char *ready = NULL;
	int fd, opt, i, rcvbuf = 8 << 20;

	while ((opt = getopt(argc, argv, "p:b:t:i:R:")) != -1) {
		switch (opt) {
		case 'p': a.sin_port = htons(atoi(optarg)); break;
		case 'b': inet_pton(AF_INET, optarg, &a.sin_addr); break;
		case 't': maxsecs = atof(optarg); break;
		case 'i': idle = atof(optarg) / 1000; break;
		case 'R': ready = optarg; break;
		default:
			fprintf(stderr, "usage: %s -p PORT [-b ADDR] [-t MAXSECS] [-i IDLE_MS] [-R READY]\n",
				argv[0]);
			return 2;
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (void *)&a, sizeof(a)) < 0) {
		perror("bind");
		return 2;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = MAXLEN;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now();
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double t = now();
		int n;

		if (t - start > maxsecs || (packets && t - last > idle))
			break;
		if (poll(&p, 1, 20) <= 0)
			continue;
		while ((n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL)) > 0) {
			t = now();
			if (!packets)
				first = t;
			last = t;
			packets += n;
			for (i = 0; i < n; i++)
				bytes += msgs[i].msg_len;
		}
	}
	secs = last - first;
	printf("packets=%lu bytes=%lu secs=%.3f pps=%.1f mbit_s=%.2f\n", packets,
	       bytes, secs, secs > 0 ? (packets - 1) / secs : 0,
	       secs > 0 ? bytes * 8 / secs / 1e6 : 0);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * RTSP load generator for the benchmarks (the set-top boxes' role), in C so
 * that the client is not what limits a figure.  Non-blocking sockets and
 * epoll; IPv4.
 *
 * Many short control connections (rtsp_help's per-connection cost):
 *
 *   rtspcli load -s SERVER [-p 554] [-d SECS] [-N CONNS] [-c CONC]
 *                [-T THREADS] [-q OPTIONS,SETUP,PLAY,TEARDOWN] [-b SRC]...
 *                [-P PORT0]
 *
 *   Each thread keeps CONC connections going for SECS seconds (with -N,
 *   until CONNS connections have been made, at most SECS); each one
 *   sends the requests of -q in turn (SETUP with
 *   "Transport: MP2T/H2221/UDP;unicast;client_port=N", N cycling from
 *   PORT0; later requests with the Session of the SETUP reply), waits for
 *   each 200 reply, then closes (FIN).  Thread i binds source -b address
 *   i modulo their number.  Prints one line (with -N, secs is the time
 *   from the start to the last completion):
 *     conns=N reqs=N errors=N secs=S conn_per_s=X req_per_s=X
 *
 * Many long sessions at once (expectations and per-session state):
 *
 *   rtspcli hold -s SERVER -n N (-B FIRST_SRC | -b SRC) [-u PORT | -U PORT0]
 *                [-c CONC] [-k K] [-w SECS] [-x] [-R READY] [-G GO]
 *                [-M MEDIA_DONE] [-g TEARDOWN_GATE] [-t STALL_SECS]
 *
 *   Session i binds source address FIRST_SRC + i, a UDP socket on
 *   (that address, PORT) -- or PORT0 + 2 i with -U; none with -x -- and
 *   sends SETUP then PLAY, CONC sessions being set up at a time (those
 *   still pending when nothing has moved for STALL_SECS, 10, count as
 *   failed).  Then it
 *   writes READY, waits for GO to exist, counts datagrams per session
 *   until each has K or SECS pass, writes MEDIA_DONE, waits for
 *   TEARDOWN_GATE, and tears every session down.  Prints lines
 *     setup: ok=N failed=N secs=S per_s=X
 *     media: sessions=N full=N partial=N none=N datagrams=N min=N max=N secs=S
 *     teardown: ok=N failed=N secs=S
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS	8
#define RBUF		4096
#define URI		"rtsp://172.26.22.10:554/4294967295?videoid=123"

struct sess {
	int fd;			/* TCP, -1 when closed */
	int udp;		/* UDP, -1 when none */
	int step;		/* request being answered */
	int nsteps;
	const char *const *steps;
	int cseq;
	int cport;
	struct in_addr src;
	unsigned long received;
	unsigned int rlen;
	int done;		/* 1 all steps answered, -1 failed */
	char session[64];
	char rbuf[RBUF];
};

static struct sockaddr_in server;
static int verbose;
/* hold: give up on the sessions still being set up after this long idle */
static int stall_ms = 10000;

/* As many descriptors as allowed: the hard limit if it cannot be raised. */
static void raise_nofile(void)
{
	struct rlimit rl = { 1 << 17, 1 << 17 };

	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_steps(char *list, const char **steps)
{
	int n = 0;
	char *tok;

	for (tok = strtok(list, ","); tok && n < MAX_STEPS;
	     tok = strtok(NULL, ","))
		steps[n++] = tok;
	return n;
}

static int send_request(struct sess *s)
{
	const char *m = s->steps[s->step];
	char buf[1024];
	int n;

	s->cseq++;
	if (!strcmp(m, "SETUP"))
		n = snprintf(buf, sizeof(buf),
			     "SETUP " URI " RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: MICA-IP-STB\r\nTransport: MP2T/H2221/UDP;unicast;client_port=%d\r\nx-mayNotify:\r\n\r\n",
			     s->cseq, s->cport);
	else if (!strcmp(m, "PLAY"))
		n = snprintf(buf, sizeof(buf),
			     "PLAY " URI " RTSP/1.0\r\nCSeq: %d\r\nSession: %s\r\nRange: npt=0.000-end\r\nScale: 1.000\r\nx-playNow:\r\nx-noFlush:\r\nUser-Agent: MICA-IP-STB\r\n\r\n",
			     s->cseq, s->session);
	else if (!strcmp(m, "OPTIONS"))
		n = snprintf(buf, sizeof(buf),
			     "OPTIONS " URI " RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: MICA-IP-STB\r\n\r\n",
			     s->cseq);
	else
		n = snprintf(buf, sizeof(buf),
			     "%s " URI " RTSP/1.0\r\nCSeq: %d\r\nSession: %s\r\nUser-Agent: MICA-IP-STB\r\n\r\n",
			     m, s->cseq, s->session);
	s->rlen = 0;
	return write(s->fd, buf, n) == n ? 0 : -1;
}

/*
 * Read the reply to the current request.  Returns 1 when it is complete
 * and good, 0 when more is needed, -1 on error or a non-200 reply.
 */
static int read_reply(struct sess *s)
{
	char *e, *p;
	ssize_t n;

	for (;;) {
		n = read(s->fd, s->rbuf + s->rlen, RBUF - 1 - s->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		s->rlen += n;
		s->rbuf[s->rlen] = 0;
		e = strstr(s->rbuf, "\r\n\r\n");
		if (!e)
			continue;
		if (strncmp(s->rbuf, "RTSP/1.0 200", 12))
			return -1;
		p = strcasestr(s->rbuf, "\r\nSession:");
		if (p && p < e) {
			int i = 0;

			p += 10;
			while (*p == ' ')
				p++;
			while (i < (int)sizeof(s->session) - 1 && p[i] &&
			       p[i] != ';' && p[i] != '\r')
				i++;
			memcpy(s->session, p, i);
			s->session[i] = 0;
		}
		return 1;
	}
}

static int tcp_open(struct sess *s)
{
	int one = 1;

	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->src.s_addr) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = s->src };

		/* The port is chosen at connect(): the 4-tuple is what counts. */
		setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
		if (bind(s->fd, (void *)&a, sizeof(a)) < 0) {
			if (verbose)
				perror("bind");
			close(s->fd);
			s->fd = -1;
			return -1;
		}
	}
	if (connect(s->fd, (void *)&server, sizeof(server)) < 0 &&
	    errno != EINPROGRESS) {
		if (verbose)
			perror("connect");
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	s->step = 0;
	s->cseq = 0;
	s->rlen = 0;
	s->done = 0;
	s->session[0] = 0;
	return 0;
}

/* Drive @s on an epoll event; returns 1 when all steps are done, -1 on error. */
static int sess_event(struct sess *s, int ep, uint32_t events)
{
	struct epoll_event ev = { .data.ptr = s };
	int r;

	if (events & EPOLLOUT) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			if (verbose)
				fprintf(stderr, "connect: %s\n", strerror(err));
			return -1;
		}
		ev.events = EPOLLIN;
		epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
		return send_request(s) ? -1 : 0;
	}
	r = read_reply(s);
	if (r <= 0)
		return r;
	if (++s->step == s->nsteps)
		return 1;
	return send_request(s) ? -1 : 0;
}

/* --- load ------------------------------------------------------------- */

struct load_thread {
	pthread_t tid;
	int conc;
	struct in_addr src;
	int port0;
	double secs;
	const char *const *steps;
	int nsteps;
	unsigned long conns, reqs, errors;
	double last;		/* when the last connection completed */
};

/* With -N, connections left to start, shared by all threads. */
static int limited;
static long to_start;

static int may_start(double deadline)
{
	if (now() >= deadline)
		return 0;
	if (!limited)
		return 1;
	if (__atomic_sub_fetch(&to_start, 1, __ATOMIC_RELAXED) >= 0)
		return 1;
	__atomic_add_fetch(&to_start, 1, __ATOMIC_RELAXED);
	return 0;
}

static void *load_run(void *arg)
{
	struct load_thread *t = arg;
	struct sess *ss = calloc(t->conc, sizeof(*ss));
	struct epoll_event ev, evs[256];
	unsigned long k = 0;
	int ep, i, n, r, active = 0;
	double deadline;

	ep = epoll_create1(0);
	if (!ss || ep < 0)
		die("load setup");
	deadline = now() + t->secs;

	for (i = 0; i < t->conc; i++) {
		ss[i].fd = -1;
		ss[i].udp = -1;
		ss[i].steps = t->steps;
		ss[i].nsteps = t->nsteps;
		ss[i].src = t->src;
	}

	for (;;) {
		/* (Re)start idle slots, also after a failed open. */
		for (i = 0; i < t->conc; i++) {
			struct sess *s = &ss[i];

			if (s->fd >= 0 || !may_start(deadline))
				continue;
			s->cport = t->port0 + 2 * (k++ % 16384);
			if (tcp_open(s)) {
				t->errors++;
				if (limited)
					__atomic_add_fetch(&to_start, 1,
							   __ATOMIC_RELAXED);
				continue;
			}
			ev.events = EPOLLOUT;
			ev.data.ptr = s;
			epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
			active++;
		}
		if (!active || now() >= deadline)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < n; i++) {
			struct sess *s = evs[i].data.ptr;

			r = sess_event(s, ep, evs[i].events);
			if (!r)
				continue;
			if (r > 0 && now() < deadline) {
				t->conns++;
				t->reqs += s->nsteps;
				t->last = now();
			} else if (r < 0) {
				t->errors++;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
			close(s->fd);
			s->fd = -1;
			active--;
		}
	}
	for (i = 0; i < t->conc; i++)
		if (ss[i].fd >= 0)
			close(ss[i].fd);
	close(ep);
	free(ss);
	return NULL;
}

/* --- hold ------------------------------------------------------------- */

static int file_exists(const char *p)
{
	return p && !access(p, F_OK);
}

static void touch(const char *p)
{
	FILE *f;

	if (!p)
		return;
	f = fopen(p, "w");
	if (f)
		fclose(f);
}

static int udp_open(struct sess *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = s->src,
				 .sin_port = htons(s->cport) };
	int one = 1;

	s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (s->udp < 0)
		return -1;
	setsockopt(s->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(s->udp, (void *)&a, sizeof(a));
}

static int hold_main(int n, struct in_addr first, int same_src, int port,
		     int distinct, int conc, unsigned long k, double wait,
		     int no_udp, const char *ready, const char *go,
		     const char *media_done, const char *gate,
		     const char *const *steps, int nsteps)
{
	static const char *const teardown[] = { "TEARDOWN" };
	struct sess *ss = calloc(n, sizeof(*ss));
	struct epoll_event ev, *evs = calloc(1024, sizeof(*evs));
	int ep = epoll_create1(0), i, e, r, started = 0, pending = 0;
	int ok = 0, failed = 0, full = 0, partial = 0, none = 0;
	unsigned long total = 0, mn = ~0UL, mx = 0;
	double t0, t1, tgo;

	if (!ss || !evs || ep < 0)
		die("hold setup");

	for (i = 0; i < n; i++) {
		struct sess *s = &ss[i];

		s->fd = -1;
		s->udp = -1;
		s->src.s_addr = same_src ? first.s_addr :
				htonl(ntohl(first.s_addr) + i);
		s->cport = distinct ? port + 2 * i : port;
		s->steps = steps;
		s->nsteps = nsteps;
		if (!no_udp && udp_open(s)) {
			fprintf(stderr, "udp bind %s:%d: %s\n",
				inet_ntoa(s->src), s->cport, strerror(errno));
			exit(2);
		}
	}

	/* Set up: CONC sessions in flight at a time. */
	t0 = now();
	while (ok + failed < n) {
		while (pending < conc && started < n) {
			struct sess *s = &ss[started++];

			if (tcp_open(s)) {
				s->done = -1;
				failed++;
				continue;
			}
			ev.events = EPOLLOUT;
			ev.data.ptr = s;
			epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
			pending++;
		}
		if (!pending)
			continue;
		e = epoll_wait(ep, evs, 1024, stall_ms);
		if (e == 0) {
			fprintf(stderr, "setup: no progress for %d ms, %d sessions pending\n",
				stall_ms, pending);
			failed += pending + (n - started);
			break;
		}
		for (i = 0; i < e; i++) {
			struct sess *s = evs[i].data.ptr;

			r = sess_event(s, ep, evs[i].events);
			if (!r)
				continue;
			pending--;
			epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
			if (r > 0) {
				s->done = 1;
				ok++;
			} else {
				s->done = -1;
				failed++;
				close(s->fd);
				s->fd = -1;
			}
		}
	}
	t1 = now();
	printf("setup: ok=%d failed=%d secs=%.3f per_s=%.1f\n", ok, failed,
	       t1 - t0, ok / (t1 - t0));
	fflush(stdout);
	touch(ready);

	/* Media: count per session. */
	for (i = 0; i < n; i++) {
		if (ss[i].udp < 0)
			continue;
		ev.events = EPOLLIN;
		ev.data.ptr = &ss[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, ss[i].udp, &ev);
	}
	while (go && !file_exists(go))
		usleep(20000);
	tgo = now();
	while (!no_udp && k && now() < tgo + wait) {
		int all = 1;

		e = epoll_wait(ep, evs, 1024, 50);
		for (i = 0; i < e; i++) {
			struct sess *s = evs[i].data.ptr;
			char buf[2048];

			while (recv(s->udp, buf, sizeof(buf), 0) >= 0)
				s->received++;
		}
		for (i = 0; i < n && all; i++)
			if (ss[i].done > 0 && ss[i].received < k)
				all = 0;
		if (all)
			break;
	}
	t1 = now();
	for (i = 0; i < n; i++) {
		unsigned long got = ss[i].received;

		total += got;
		mn = got < mn ? got : mn;
		mx = got > mx ? got : mx;
		if (got >= k && k)
			full++;
		else if (got)
			partial++;
		else
			none++;
	}
	printf("media: sessions=%d full=%d partial=%d none=%d datagrams=%lu min=%lu max=%lu secs=%.3f\n",
	       n, full, partial, none, total, n ? mn : 0, mx, t1 - tgo);
	fflush(stdout);
	touch(media_done);
	while (gate && !file_exists(gate))
		usleep(20000);

	/* Tear down every session that was set up. */
	t0 = now();
	ok = failed = pending = 0;
	for (i = 0; i < n; i++) {
		struct sess *s = &ss[i];

		if (s->udp >= 0) {
			close(s->udp);
			s->udp = -1;
		}
		if (s->done <= 0)
			continue;
		s->steps = teardown;
		s->nsteps = 1;
		s->step = 0;
		if (send_request(s)) {
			failed++;
			continue;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = s;
		epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
		pending++;
	}
	while (pending) {
		e = epoll_wait(ep, evs, 1024, 10000);
		if (e <= 0)
			break;
		for (i = 0; i < e; i++) {
			struct sess *s = evs[i].data.ptr;

			r = read_reply(s);
			if (!r)
				continue;
			pending--;
			if (r > 0)
				ok++;
			else
				failed++;
			epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
		}
	}
	t1 = now();
	for (i = 0; i < n; i++)
		if (ss[i].fd >= 0)
			close(ss[i].fd);
	printf("teardown: ok=%d failed=%d secs=%.3f\n", ok, failed + pending,
	       t1 - t0);
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s load -s SERVER [-p PORT] [-d SECS] [-N CONNS] [-c CONC] [-T THREADS] [-q STEPS] [-b SRC]... [-P PORT0]\n"
		"       %s hold -s SERVER -n N (-B FIRST_SRC | -b SRC) [-u PORT | -U PORT0] [-c CONC] [-k K] [-w SECS]\n"
		"               [-x] [-q STEPS] [-R READY] [-G GO] [-M MEDIA_DONE] [-g TEARDOWN_GATE] [-t STALL_SECS]\n",
		argv0, argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *steps[MAX_STEPS], *ready = NULL, *go = NULL;
	const char *media_done = NULL, *gate = NULL;
	struct in_addr srcs[64], first = { 0 };
	int nsrc = 0, conc = 0, threads = 1, port0 = 20000, opt, i;
	int n = 1, port = 27336, distinct = 0, no_udp = 0, nsteps;
	unsigned long k = 10;
	long total = 0;
	double secs = 5, wait = 30;
	char *seq = NULL, *mode;

	if (argc < 2)
		usage(argv[0]);
	mode = argv[1];
	argv++;
	argc--;
	server.sin_family = AF_INET;
	server.sin_port = htons(554);
	while ((opt = getopt(argc, argv, "s:p:d:N:c:T:q:b:B:P:n:u:U:k:w:xR:G:M:g:t:v")) != -1) {
		switch (opt) {
		case 's':
			if (inet_pton(AF_INET, optarg, &server.sin_addr) != 1)
				usage(argv[-1]);
			break;
		case 'p': server.sin_port = htons(atoi(optarg)); break;
		case 'd': secs = atof(optarg); break;
		case 'N': total = atol(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 'T': threads = atoi(optarg); break;
		case 'q': seq = strdup(optarg); break;
		case 'b':
			if (nsrc < 64 && inet_pton(AF_INET, optarg, &srcs[nsrc]) == 1)
				nsrc++;
			break;
		case 'B': inet_pton(AF_INET, optarg, &first); break;
		case 'P': port0 = atoi(optarg); break;
		case 'n': n = atoi(optarg); break;
		case 'u': port = atoi(optarg); break;
		case 'U': port = atoi(optarg); distinct = 1; break;
		case 'k': k = strtoul(optarg, NULL, 10); break;
		case 'w': wait = atof(optarg); break;
		case 'x': no_udp = 1; break;
		case 'R': ready = optarg; break;
		case 'G': go = optarg; break;
		case 'M': media_done = optarg; break;
		case 'g': gate = optarg; break;
		case 't': stall_ms = atof(optarg) * 1000; break;
		case 'v': verbose = 1; break;
		default: usage(argv[-1]);
		}
	}
	if (!server.sin_addr.s_addr)
		usage(argv[-1]);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	if (!strcmp(mode, "load")) {
		struct load_thread *t;
		unsigned long conns = 0, reqs = 0, errors = 0;
		double t0, last = 0, secs_run;

		nsteps = parse_steps(seq ? seq : strdup("SETUP,TEARDOWN"), steps);
		if (threads < 1)
			threads = 1;
		if (total > 0) {
			limited = 1;
			to_start = total;
		}
		t = calloc(threads, sizeof(*t));
		t0 = now();
		for (i = 0; i < threads; i++) {
			t[i].conc = conc > 0 ? conc : 8;
			t[i].src = nsrc ? srcs[i % nsrc] : (struct in_addr){ 0 };
			t[i].port0 = port0 + i * 32768 / threads;
			t[i].secs = secs;
			t[i].steps = steps;
			t[i].nsteps = nsteps;
			if (pthread_create(&t[i].tid, NULL, load_run, &t[i]))
				die("pthread_create");
		}
		for (i = 0; i < threads; i++) {
			pthread_join(t[i].tid, NULL);
			conns += t[i].conns;
			reqs += t[i].reqs;
			errors += t[i].errors;
			if (t[i].last > last)
				last = t[i].last;
		}
		/* With -N: the time the N connections took; else the duration. */
		secs_run = total > 0 && last > t0 ? last - t0 : secs;
		printf("conns=%lu reqs=%lu errors=%lu secs=%.4f conn_per_s=%.1f req_per_s=%.1f\n",
		       conns, reqs, errors, secs_run, conns / secs_run,
		       reqs / secs_run);
		return 0;
	}
	if (!strcmp(mode, "hold")) {
		nsteps = parse_steps(seq ? seq : strdup("SETUP,PLAY"), steps);
		int same_src = !first.s_addr;

		if (same_src && nsrc)
			first = srcs[0];
		return hold_main(n, first, same_src, port, distinct, conc > 0 ? conc : 64, k, wait,
				 no_udp, ready, go, media_done, gate, steps,
				 nsteps);
	}
	usage(argv[-1]);
	return 2;
}

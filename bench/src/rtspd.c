// SPDX-License-Identifier: GPL-2.0
/*
 * A fast RTSP/1.0 responder for the benchmarks (the VoD manager's role):
 * epoll, non-blocking, one thread per listening socket (SO_REUSEPORT), so
 * that the server is never what limits a control-path figure.
 *
 *   rtspd [-l ADDR] [-p PORT] [-t THREADS] [-s SESSIONS_FILE] [-r READY_FILE]
 *
 * Every request gets "200 OK" with its CSeq; SETUP echoes the Transport
 * and hands out a Session id unique per connection; PLAY, PAUSE,
 * GET_PARAMETER and TEARDOWN echo the Session.  With -s, each SETUP
 * appends "PEER_ADDR CLIENT_PORT" (as received, i.e. after NAT) to
 * SESSIONS_FILE: where the media of that session has to be sent.
 * Requests carry no bodies (Content-Length is not supported).
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
#include <unistd.h>

#define BUF_SIZE	8192

struct conn {
	int fd;
	unsigned int len;
	unsigned long session;
	char peer[INET6_ADDRSTRLEN];
	char buf[BUF_SIZE];
};

static const char *bind_addr = "0.0.0.0";
static int port = 554;
static FILE *sessions;
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long next_session = 1000000;
static pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* Value of header @name in the head [p, end), trimmed; NULL if absent. */
static const char *header(const char *p, const char *end, const char *name,
			  int *vlen)
{
	size_t n = strlen(name);

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > n && !strncasecmp(p, name, n) &&
		    p[n] == ':') {
			const char *v = p + n + 1, *e = eol;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' '))
				e--;
			*vlen = e - v;
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

static int client_port(const char *t, int len)
{
	const char *p = memmem(t, len, "client_port=", 12);

	return p ? atoi(p + 12) : 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* Tiny replies: the socket buffer is never full in
				 * practice; wait for it if it is.
				 */
				usleep(100);
				continue;
			}
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Answer one request head [0, hlen) of @c. */
static int answer(struct conn *c, unsigned int hlen)
{
	const char *h = c->buf, *end = c->buf + hlen, *v, *tr;
	char out[BUF_SIZE + 256];
	int vlen = 0, tlen = 0, n;
	char cseq[32] = "0";

	v = header(h, end, "CSeq", &vlen);
	if (v && vlen < (int)sizeof(cseq)) {
		memcpy(cseq, v, vlen);
		cseq[vlen] = 0;
	}
	if (!strncmp(h, "SETUP ", 6)) {
		tr = header(h, end, "Transport", &tlen);
		if (!tr)
			n = snprintf(out, sizeof(out),
				     "RTSP/1.0 461 Unsupported Transport\r\nCSeq: %s\r\n\r\n",
				     cseq);
		else
			n = snprintf(out, sizeof(out),
				     "RTSP/1.0 200 OK\r\nCSeq: %s\r\nTransport: %.*s\r\nSession: %lu;timeout=60\r\n\r\n",
				     cseq, tlen, tr, c->session);
		if (tr && sessions) {
			pthread_mutex_lock(&sessions_lock);
			fprintf(sessions, "%s %d\n", c->peer,
				client_port(tr, tlen));
			fflush(sessions);
			pthread_mutex_unlock(&sessions_lock);
		}
	} else if (!strncmp(h, "OPTIONS ", 8)) {
		n = snprintf(out, sizeof(out),
			     "RTSP/1.0 200 OK\r\nCSeq: %s\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, GET_PARAMETER, TEARDOWN\r\n\r\n",
			     cseq);
	} else {
		n = snprintf(out, sizeof(out),
			     "RTSP/1.0 200 OK\r\nCSeq: %s\r\nSession: %lu\r\n\r\n",
			     cseq, c->session);
	}
	return write_all(c->fd, out, n);
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Read what is there and answer every whole request head. */
static void conn_read(int ep, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len, BUF_SIZE - c->len);
		char *e;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(ep, c);
			return;
		}
		c->len += n;
		while ((e = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
			unsigned int hlen = e + 4 - c->buf;

			if (answer(c, hlen)) {
				conn_close(ep, c);
				return;
			}
			memmove(c->buf, c->buf + hlen, c->len - hlen);
			c->len -= hlen;
		}
		if (c->len == BUF_SIZE) {
			conn_close(ep, c);	/* a head too long: not ours */
			return;
		}
	}
}

static int listen_socket(void)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, one = 1;

	if (strchr(bind_addr, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, bind_addr, &s6->sin6_addr) != 1)
			die("bad -l address");
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (inet_pton(AF_INET, bind_addr, &s4->sin_addr) != 1)
			die("bad -l address");
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (void *)&ss, sl) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	return fd;
}

static void *serve(void *arg)
{
	int lfd = (int)(long)arg, ep, i, n;
	struct epoll_event ev, evs[256];

	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll_ctl");

	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c) {
				conn_read(ep, c);
				continue;
			}
			for (;;) {
				struct sockaddr_storage ss;
				socklen_t sl = sizeof(ss);
				int fd = accept4(lfd, (void *)&ss, &sl,
						 SOCK_NONBLOCK);
				int one = 1;

				if (fd < 0)
					break;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					   sizeof(one));
				c = calloc(1, sizeof(*c));
				if (!c)
					die("calloc");
				c->fd = fd;
				if (ss.ss_family == AF_INET)
					inet_ntop(AF_INET,
						  &((struct sockaddr_in *)&ss)->sin_addr,
						  c->peer, sizeof(c->peer));
				else
					inet_ntop(AF_INET6,
						  &((struct sockaddr_in6 *)&ss)->sin6_addr,
						  c->peer, sizeof(c->peer));
				pthread_mutex_lock(&session_lock);
				c->session = next_session++;
				pthread_mutex_unlock(&session_lock);
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	int threads = 1, i, opt;
	pthread_t tid;
	int lfds[64];

	while ((opt = getopt(argc, argv, "l:p:t:s:r:")) != -1) {
		switch (opt) {
		case 'l': bind_addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 's':
			sessions = fopen(optarg, "a");
			if (!sessions)
				die(optarg);
			break;
		case 'r': ready = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-l ADDR] [-p PORT] [-t THREADS] [-s SESSIONS_FILE] [-r READY_FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (threads < 1 || threads > 64)
		threads = 1;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	for (i = 0; i < threads; i++)
		lfds[i] = listen_socket();
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fprintf(f, "%d\n", getpid());
			fclose(f);
		}
	}
	for (i = 1; i < threads; i++)
		if (pthread_create(&tid, NULL, serve, (void *)(long)lfds[i]))
			die("pthread_create");
	serve((void *)(long)lfds[0]);
	return 0;
}

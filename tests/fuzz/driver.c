// SPDX-License-Identifier: GPL-2.0
/*
 * A standalone driver for the libFuzzer harnesses (fuzz_parse.c,
 * fuzz_nat.c), for targets libFuzzer does not reach: cross compilers, the
 * big-endian run under qemu-s390x (tests/arch/be-test).
 *
 *   driver [-runs=N] [-max_total_time=S] [-seed=S] [-max_len=N]
 *          [-dict=FILE] [-artifact_prefix=P] CORPUS_DIR_OR_FILE...
 *
 * Replays every seed input, then runs N inputs (default 10000; 0: no
 * limit), or as many as fit in S seconds with -max_total_time, each a
 * seed changed by 1 to 8 random mutations: bit flips, bytes set to RTSP
 * punctuation or digits, deletions, duplicated ranges, dictionary tokens
 * inserted or written over, decimal numbers (port edges), truncation, and
 * splices of two seeds.  No coverage feedback: it is a replay and a random
 * walk around the corpus, the harness's own invariant checks (abort())
 * and the sanitizers it is built with doing the judging.
 *
 * A crash (a signal, or a sanitizer's death) writes the input to
 * P<crash|seed>-<number> first.  The last line is "driver: N inputs (S
 * seeds + M mutated) in T s, seed X, no crash", with ", digest D" before
 * "no crash" when the harness defines driver_digest().  The inputs depend
 * only on the seed, the seed files and -runs, never on the host's byte
 * order or word size.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* UBSan (and ASan) runtime: called before it exits on a report. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));
const char *__ubsan_default_options(void);
/* A harness may fold its results into a digest (tests/arch/digest_*.c). */
uint64_t driver_digest(void) __attribute__((weak));

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1";
}

struct input {
	unsigned char *data;
	size_t len;
};

static struct input *seeds;
static size_t n_seeds, cap_seeds;
static struct input *dict;
static size_t n_dict, cap_dict;
static size_t max_len = 4096;
static uint64_t rng_state;

/* The input under test, for the crash handlers. */
static const unsigned char *cur;
static size_t cur_len;
static unsigned long cur_no;
static int cur_is_seed;
static char artifact[4096];

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		perror("driver: realloc");
		exit(2);
	}
	return p;
}

static void push(struct input **v, size_t *n, size_t *cap,
		 const unsigned char *d, size_t len)
{
	struct input *in;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	in = &(*v)[(*n)++];
	in->data = xrealloc(NULL, len);
	memcpy(in->data, d, len);
	in->len = len;
}

/* Async-signal-safe: the current input to the artifact file. */
static void save_current(void)
{
	static const char msg[] = "driver: crashing input saved to ";
	ssize_t r;
	int fd;

	if (!cur)
		return;
	/* A dying process: write() results are not acted upon. */
	fd = open(artifact, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		r = write(fd, cur, cur_len);
		close(fd);
	}
	r = write(2, msg, sizeof(msg) - 1);
	r = write(2, artifact, strlen(artifact));
	r = write(2, "\n", 1);
	(void)r;
	cur = NULL;
}

static void on_signal(int sig)
{
	save_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void load_file(const char *path)
{
	unsigned char *buf;
	struct stat st;
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		exit(2);
	}
	buf = xrealloc(NULL, (size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r <= 0) {
			perror(path);
			exit(2);
		}
		got += (size_t)r;
	}
	close(fd);
	if (got > max_len)
		got = max_len;
	push(&seeds, &n_seeds, &cap_seeds, buf, got);
	free(buf);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_path(const char *path)
{
	char **names = NULL, full[4096];
	size_t n = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (stat(path, &st)) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		load_file(path);
		return;
	}
	d = opendir(path);
	if (!d) {
		perror(path);
		exit(2);
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	/* Name order: the same seed gives the same run on every host. */
	qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		load_file(full);
		free(names[i]);
	}
	free(names);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* libFuzzer's dictionary format: [name=]"value", \\ \" \xNN escapes. */
static void load_dict(const char *path)
{
	unsigned char tok[1024];
	char line[2048], *p;
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		p = strchr(line, '"');
		if (line[0] == '#' || !p)
			continue;
		for (n = 0, p++; *p && *p != '"' && n < sizeof(tok); p++) {
			if (*p == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 &&
			    hexval(p[3]) >= 0) {
				tok[n++] = (unsigned char)(hexval(p[2]) << 4 |
							   hexval(p[3]));
				p += 3;
			} else if (*p == '\\' && p[1]) {
				tok[n++] = (unsigned char)*++p;
			} else {
				tok[n++] = (unsigned char)*p;
			}
		}
		if (n)
			push(&dict, &n_dict, &cap_dict, tok, n);
	}
	fclose(f);
}

/* Insert @n bytes of @src at @pos of buf (len *len, room max_len). */
static void insert(unsigned char *buf, size_t *len, size_t pos,
		   const unsigned char *src, size_t n)
{
	if (n > max_len - *len)
		n = max_len - *len;
	memmove(buf + pos + n, buf + pos, *len - pos);
	memcpy(buf + pos, src, n);
	*len += n;
}

static void mutate(unsigned char *buf, size_t *len)
{
	static const char punct[] = " \t\r\n;:=-/,.0123456789\"";
	static const char *const numbers[] = {
		"0", "1", "00", "554", "1023", "1024", "9999", "27336",
		"65534", "65535", "65536", "99999", "4294967295",
		"4294967296", "18446744073709551616", "-1",
	};
	unsigned char tmp[64];
	const struct input *o;
	size_t pos, n, k;

	pos = below(*len + 1);
	switch (below(10)) {
	case 0:
		if (*len)
			buf[below(*len)] ^= (unsigned char)(1U << below(8));
		break;
	case 1:
		if (*len)
			buf[below(*len)] = (unsigned char)
				punct[below(sizeof(punct) - 1)];
		break;
	case 2:
		if (*len)
			buf[below(*len)] = (unsigned char)rnd();
		break;
	case 3:		/* delete */
		n = below(*len - pos + 1);
		if (n > 16 && below(2))
			n = 1 + below(16);
		memmove(buf + pos, buf + pos + n, *len - pos - n);
		*len -= n;
		break;
	case 4:		/* duplicate a range */
		if (*len) {
			k = below(*len);
			n = 1 + below(*len - k < 64 ? *len - k : 64);
			memcpy(tmp, buf + k, n);
			insert(buf, len, pos, tmp, n);
		}
		break;
	case 5:		/* insert a dictionary token */
		if (n_dict) {
			o = &dict[below(n_dict)];
			insert(buf, len, pos, o->data, o->len);
		}
		break;
	case 6:		/* write one over */
		if (n_dict) {
			o = &dict[below(n_dict)];
			n = o->len;
			if (pos + n > *len)
				n = *len - pos;
			memcpy(buf + pos, o->data, n);
		}
		break;
	case 7:		/* a number, in place of the digits there */
		k = pos;
		while (k < *len && buf[k] >= '0' && buf[k] <= '9')
			k++;
		memmove(buf + pos, buf + k, *len - k);
		*len -= k - pos;
		if (below(2)) {
			const char *s = numbers[below(sizeof(numbers) /
						      sizeof(numbers[0]))];
			insert(buf, len, pos, (const unsigned char *)s,
			       strlen(s));
		} else {
			n = (size_t)snprintf((char *)tmp, sizeof(tmp), "%u",
					     (unsigned int)below(70000));
			insert(buf, len, pos, tmp, n);
		}
		break;
	case 8:		/* truncate */
		*len = pos;
		break;
	default:	/* splice: our head, another seed's tail */
		o = &seeds[below(n_seeds)];
		k = below(o->len + 1);
		n = o->len - k;
		if (pos + n > max_len)
			n = max_len - pos;
		memcpy(buf + pos, o->data + k, n);
		*len = pos + n;
		break;
	}
}

static void run_one(const unsigned char *d, size_t len, unsigned long no,
		    int is_seed)
{
	cur = d;
	cur_len = len;
	cur_no = no;
	cur_is_seed = is_seed;
	LLVMFuzzerTestOneInput(d, len);
	cur = NULL;
}

static void set_artifact(const char *prefix)
{
	snprintf(artifact, sizeof(artifact), "%s%s-%lu", prefix,
		 cur_is_seed ? "seed" : "crash", cur_no);
}

static const char *prefix = "";

static void before_death(void)
{
	set_artifact(prefix);
	save_current();
}

int main(int argc, char **argv)
{
	unsigned long runs = 10000, max_time = 0, i, n;
	unsigned long long seed = 0;
	struct timespec t0, t1;
	unsigned char *buf;
	size_t len, s;
	int a, have_seed = 0;

	for (a = 1; a < argc; a++) {
		if (!strncmp(argv[a], "-runs=", 6)) {
			runs = strtoul(argv[a] + 6, NULL, 10);
		} else if (!strncmp(argv[a], "-max_total_time=", 16)) {
			max_time = strtoul(argv[a] + 16, NULL, 10);
		} else if (!strncmp(argv[a], "-seed=", 6)) {
			seed = strtoull(argv[a] + 6, NULL, 10);
			have_seed = 1;
		} else if (!strncmp(argv[a], "-max_len=", 9)) {
			max_len = strtoul(argv[a] + 9, NULL, 10);
		} else if (!strncmp(argv[a], "-dict=", 6)) {
			load_dict(argv[a] + 6);
		} else if (!strncmp(argv[a], "-artifact_prefix=", 17)) {
			prefix = argv[a] + 17;
		} else if (argv[a][0] != '-') {
			load_path(argv[a]);
		} else {
			fprintf(stderr, "driver: unknown option %s\n", argv[a]);
			return 2;
		}
	}
	if (!n_seeds) {
		fprintf(stderr, "driver: no seed inputs\n");
		return 2;
	}
	if (!max_len)
		max_len = 1;
	if (!runs && !max_time)
		runs = 10000;
	if (!have_seed)
		seed = (unsigned long long)time(NULL) ^
		       ((unsigned long long)getpid() << 32);
	rng_state = seed * 2 + 1;

	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	signal(SIGILL, on_signal);
	signal(SIGFPE, on_signal);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(before_death);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (s = 0; s < n_seeds; s++) {
		cur_is_seed = 1;
		cur_no = s;
		set_artifact(prefix);
		run_one(seeds[s].data, seeds[s].len, s, 1);
	}
	buf = xrealloc(NULL, max_len);
	cur_is_seed = 0;
	for (i = 0; !runs || i < runs; i++) {
		const struct input *o = &seeds[below(n_seeds)];

		if (max_time && !(i & 255)) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((double)(t1.tv_sec - t0.tv_sec) +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 >=
			    (double)max_time)
				break;
		}

		len = o->len;
		memcpy(buf, o->data, len);
		for (n = 1 + below(8); n; n--)
			mutate(buf, &len);
		cur_no = i;
		set_artifact(prefix);
		run_one(buf, len, i, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("driver: %lu inputs (%zu seeds + %lu mutated) in %.1f s, seed %llu, ",
	       (unsigned long)n_seeds + i, n_seeds, i,
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, seed);
	if (driver_digest)
		printf("digest %016llx, ",
		       (unsigned long long)driver_digest());
	printf("no crash\n");
	free(buf);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny self-contained test framework for the userspace unit tests.
 *
 * TEST(name) { ... } defines and registers a test.  CHECK*() macros report
 * the first failure of a test (one line) and leave it.  Inputs are copied
 * into heap blocks of exactly their length, so that AddressSanitizer
 * catches any read past the end; they are freed after each test.
 * unit_main() runs every test and ends with "N passed, N failed".
 */
#ifndef RTSP_UNIT_H
#define RTSP_UNIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_MAX_TESTS	512
#define UNIT_MAX_ALLOCS	256

struct unit_test {
	const char *name;
	void (*fn)(void);
};

static struct unit_test unit_tests[UNIT_MAX_TESTS];
static int unit_n_tests;
static const char *unit_cur;
static bool unit_cur_failed;
static void *unit_allocs[UNIT_MAX_ALLOCS];
static int unit_n_allocs;

static void unit_register(const char *name, void (*fn)(void))
{
	if (unit_n_tests == UNIT_MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	unit_tests[unit_n_tests].name = name;
	unit_tests[unit_n_tests].fn = fn;
	unit_n_tests++;
}

#define TEST(name)							\
	static void test_##name(void);					\
	__attribute__((constructor)) static void reg_##name(void)	\
	{								\
		unit_register(#name, test_##name);			\
	}								\
	static void test_##name(void)

__attribute__((format(printf, 2, 3)))
static void unit_fail(int line, const char *fmt, ...)
{
	va_list ap;

	if (unit_cur_failed)
		return;
	unit_cur_failed = true;
	printf("FAIL %s (line %d): ", unit_cur, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			unit_fail(__LINE__, "%s", #cond);		\
			return;						\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b) {						\
			unit_fail(__LINE__, "%s == %lld, expected %s == %lld", \
				  #a, _a, #b, _b);			\
			return;						\
		}							\
	} while (0)

/* Heap copy of exactly @n bytes (at least one byte is allocated). */
static char *unit_dup(const void *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p || unit_n_allocs == UNIT_MAX_ALLOCS) {
		fprintf(stderr, "out of memory or allocation slots\n");
		exit(2);
	}
	if (n)
		memcpy(p, s, n);
	unit_allocs[unit_n_allocs++] = p;
	return p;
}

static int unit_main(void)
{
	int i, passed = 0, failed = 0;

	for (i = 0; i < unit_n_tests; i++) {
		unit_cur = unit_tests[i].name;
		unit_cur_failed = false;
		unit_tests[i].fn();
		while (unit_n_allocs)
			free(unit_allocs[--unit_n_allocs]);
		if (unit_cur_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* RTSP_UNIT_H */

/*
 * The unit-test harness: a handful of macros, no framework. A test program is a main() that calls
 * its cases through T_RUN and returns t_done(). Every CHECK counts; a failed one prints where and
 * why and makes the program exit non-zero, but the remaining checks still run.
 */
#ifndef CS_TEST_T_H
#define CS_TEST_T_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static int t_failed;
static int t_checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		t_checks++;                                                                        \
		if (!(cond)) {                                                                     \
			t_failed++;                                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

/* Expects an enum cs_err value; prints both names when they differ. */
#define CHECK_ERR(expr, want)                                                                      \
	do {                                                                                       \
		enum cs_err t_got_ = (expr);                                                       \
		t_checks++;                                                                        \
		if (t_got_ != (want)) {                                                            \
			t_failed++;                                                                \
			fprintf(stderr, "%s:%d: %s: got %s, want %s\n", __FILE__, __LINE__, #expr, \
			        cs_err_name(t_got_), cs_err_name(want));                           \
		}                                                                                  \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, CS_OK)

#define CHECK_MEM(a, b, n)                                                                         \
	do {                                                                                       \
		t_checks++;                                                                        \
		if (memcmp((a), (b), (n)) != 0) {                                                  \
			t_failed++;                                                                \
			fprintf(stderr, "%s:%d: bytes differ: %s vs %s\n", __FILE__, __LINE__, #a, \
			        #b);                                                               \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *t_a_ = (a), *t_b_ = (b);                                               \
		t_checks++;                                                                        \
		if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {                     \
			t_failed++;                                                                \
			fprintf(stderr, "%s:%d: strings differ:\n  got  %s\n  want %s\n",          \
			        __FILE__, __LINE__, t_a_ ? t_a_ : "(null)",                        \
			        t_b_ ? t_b_ : "(null)");                                           \
		}                                                                                  \
	} while (0)

#define T_RUN(fn)                                                                                  \
	do {                                                                                       \
		int t_before_ = t_failed;                                                          \
		fn();                                                                              \
		printf("%-40s %s\n", #fn, t_failed == t_before_ ? "ok" : "FAILED");                \
	} while (0)

static inline int
t_done(void)
{
	printf("%d checks, %d failed\n", t_checks, t_failed);
	return t_failed == 0 && t_checks > 0 ? 0 : 1;
}

/* The fixtures folder: $CUSTOS_FIXTURES, else the default meson passes, else NULL. */
static inline const char *
t_fixtures(void)
{
	const char *p = getenv("CUSTOS_FIXTURES");
	if (p == NULL || *p == '\0')
		p = getenv("CUSTOS_FIXTURES_DEFAULT");
	return p;
}

/* Reads a whole file; returns owned memory (free), NULL if absent. */
static inline uint8_t *
t_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Deterministic pseudo-random bytes (an LCG), so that a failing case can be reproduced. */
static inline void
t_fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Writes (b, n) to path, created or truncated; a failure is a failed check. */
static inline void
t_write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	t_checks++;
	if (f == NULL || (n > 0 && fwrite(b, 1, n, f) != n) || fclose(f) != 0) {
		t_failed++;
		fprintf(stderr, "t_write_file: cannot write %s\n", path);
	}
}

#endif

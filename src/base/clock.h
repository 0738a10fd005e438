/*
 * Time, in one place, so that tests can pin it. Verifiers never call time() themselves: they take
 * a verification time as an input; servers take it from cs_clock_now().
 */
#ifndef CS_BASE_CLOCK_H
#define CS_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

/* Seconds since the Unix epoch: the pinned time if one is set, else the real clock. */
int64_t cs_clock_now(void);

/* Monotonic nanoseconds, for durations (never pinned). */
uint64_t cs_clock_mono_ns(void);

/* Pins cs_clock_now() to t; t < 0 unpins. For tests and `--at` options. */
void cs_clock_pin(int64_t t);

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" into Unix seconds. */
CS_MUST_USE enum cs_err cs_time_parse_rfc3339(const char *s, size_t n, int64_t *t);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into dst (at least 21 bytes). */
void cs_time_format_rfc3339(int64_t t, char dst[static 21]);

#endif

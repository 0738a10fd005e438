#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

static _Atomic int64_t pinned = -1;

int64_t
cs_clock_now(void)
{
	int64_t t = atomic_load(&pinned);

	return t >= 0 ? t : (int64_t)time(NULL);
}

uint64_t
cs_clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
cs_clock_pin(int64_t t)
{
	atomic_store(&pinned, t < 0 ? -1 : t);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 1;
}

static unsigned
month_days(unsigned y, unsigned m)
{
	static const unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* RFC 3339 §5.6 date-time. Leap seconds (:60) are refused: no verifier needs them. */
enum cs_err
cs_time_parse_rfc3339(const char *s, size_t n, int64_t *t)
{
	unsigned Y, M, D, h, m, sec, oh = 0, om = 0;
	size_t i = 19;
	int64_t off = 0;

	ENSURE(n >= 20, CS_ERR_INVAL);
	ENSURE(digits(s, 4, &Y) && s[4] == '-' && digits(s + 5, 2, &M) && s[7] == '-' &&
	               digits(s + 8, 2, &D) && (s[10] == 'T' || s[10] == 't') &&
	               digits(s + 11, 2, &h) && s[13] == ':' && digits(s + 14, 2, &m) &&
	               s[16] == ':' && digits(s + 17, 2, &sec),
	       CS_ERR_INVAL);
	ENSURE(M >= 1 && M <= 12 && D >= 1 && D <= month_days(Y, M) && h < 24 && m < 60 && sec < 60,
	       CS_ERR_INVAL);
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		ENSURE(i > start, CS_ERR_INVAL);
	}
	ENSURE(i < n, CS_ERR_INVAL);
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else {
		ENSURE(s[i] == '+' || s[i] == '-', CS_ERR_INVAL);
		ENSURE(n - i == 6 && digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
		               digits(s + i + 4, 2, &om) && oh < 24 && om < 60,
		       CS_ERR_INVAL);
		off = (int64_t)(oh * 3600 + om * 60);
		if (s[i] == '+')
			off = -off;
		i += 6;
	}
	ENSURE(i == n, CS_ERR_INVAL);
	*t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec + off;
	return CS_OK;
}

void
cs_time_format_rfc3339(int64_t t, char dst[static 21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(dst, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		memcpy(dst, "0000-00-00T00:00:00Z", 21);
}

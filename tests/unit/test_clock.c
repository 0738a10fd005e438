#include "base/clock.h"
#include "t.h"

static void
rfc3339(const char *s, enum cs_err err, int64_t want)
{
	int64_t t = -1;

	CHECK_ERR(cs_time_parse_rfc3339(s, strlen(s), &t), err);
	if (err == CS_OK && t != want) {
		t_failed++;
		fprintf(stderr, "%s: got %lld want %lld\n", s, (long long)t, (long long)want);
	}
}

static void
test_parse(void)
{
	rfc3339("1970-01-01T00:00:00Z", CS_OK, 0);
	rfc3339("2024-02-29T12:34:56Z", CS_OK, 1709210096);
	rfc3339("2024-02-29T12:34:56.123456z", CS_OK, 1709210096);
	rfc3339("2024-02-29T14:34:56+02:00", CS_OK, 1709210096);
	rfc3339("2024-02-29T10:04:56-02:30", CS_OK, 1709210096);
	rfc3339("2038-01-19T03:14:08Z", CS_OK, 2147483648);
	rfc3339("1969-12-31T23:59:59Z", CS_OK, -1);
	rfc3339("2023-02-29T00:00:00Z", CS_ERR_INVAL, 0);
	rfc3339("2024-13-01T00:00:00Z", CS_ERR_INVAL, 0);
	rfc3339("2024-01-01T24:00:00Z", CS_ERR_INVAL, 0);
	rfc3339("2024-01-01T00:00:60Z", CS_ERR_INVAL, 0);
	rfc3339("2024-01-01 00:00:00Z", CS_ERR_INVAL, 0);
	rfc3339("2024-01-01T00:00:00", CS_ERR_INVAL, 0);
	rfc3339("2024-01-01T00:00:00.Z", CS_ERR_INVAL, 0);
	rfc3339("2024-01-01T00:00:00Zx", CS_ERR_INVAL, 0);
	rfc3339("2024-01-01T00:00:00+0100", CS_ERR_INVAL, 0);
	rfc3339("", CS_ERR_INVAL, 0);
}

static void
test_format_and_pin(void)
{
	char s[21];
	int64_t t;

	cs_time_format_rfc3339(1709210096, s);
	CHECK_STR(s, "2024-02-29T12:34:56Z");
	CHECK_OK(cs_time_parse_rfc3339(s, strlen(s), &t));
	CHECK(t == 1709210096);

	cs_clock_pin(1000);
	CHECK(cs_clock_now() == 1000);
	cs_clock_pin(-1);
	CHECK(cs_clock_now() > 1700000000);
	uint64_t a = cs_clock_mono_ns(), b = cs_clock_mono_ns();
	CHECK(b >= a);
}

int
main(void)
{
	T_RUN(test_parse);
	T_RUN(test_format_and_pin);
	return t_done();
}

/* The /auth token buckets: burst, refusal, refill over time, independence of addresses. */
#include <stdio.h>
#include <string.h>

#include "kbs/ratelimit.h"
#include "t.h"

#define SEC 1000000000ull

static void
test_bucket(void)
{
	struct cs_ratelimit rl;
	char longaddr[CS_RL_ADDR_MAX + 1];
	int ok = 0;

	CHECK(cs_rl_init(&rl, 2.0, 5.0));
	rl.seed = 0; /* deterministic slots: these two addresses land in 2223 and 2658 */
	for (int i = 0; i < 10; i++)
		ok += cs_rl_take(&rl, "10.0.0.1", 100 * SEC);
	CHECK(ok == 5); /* the burst, then nothing */
	CHECK(!cs_rl_take(&rl, "10.0.0.1", 100 * SEC));
	/* Another client is not affected. */
	CHECK(cs_rl_take(&rl, "10.0.0.2", 100 * SEC));
	/* Half a second at 2/s refills one token; a minute refills only up to the burst. */
	CHECK(cs_rl_take(&rl, "10.0.0.1", 100 * SEC + SEC / 2));
	CHECK(!cs_rl_take(&rl, "10.0.0.1", 100 * SEC + SEC / 2));
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += cs_rl_take(&rl, "10.0.0.1", 200 * SEC);
	CHECK(ok == 5);
	/* A clock that goes backwards grants nothing. */
	CHECK(!cs_rl_take(&rl, "10.0.0.1", 150 * SEC));
	/* An address longer than any real one is refused. */
	memset(longaddr, 'a', CS_RL_ADDR_MAX);
	longaddr[CS_RL_ADDR_MAX] = '\0';
	CHECK(!cs_rl_take(&rl, longaddr, 300 * SEC));
	cs_rl_fini(&rl);
}

/* An IPv6 host owns at least a /64: every address in it draws from the one bucket. */
static void
test_ipv6_prefix(void)
{
	struct cs_ratelimit rl;
	char a[CS_RL_ADDR_MAX];
	int ok = 0;

	CHECK(cs_rl_init(&rl, 1.0, 3.0));
	for (int i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "2001:db8:1:2:%x::%x", i, i + 1);
		ok += cs_rl_take(&rl, a, 100 * SEC);
	}
	CHECK(ok == 3); /* one burst for the whole /64, not one per address */
	CHECK(!cs_rl_take(&rl, "2001:db8:1:2::1", 100 * SEC));
	/* The next /64 is another client. */
	CHECK(cs_rl_take(&rl, "2001:db8:1:3::1", 100 * SEC));
	/* IPv4 (also written as IPv4-mapped IPv6) is keyed by the whole address. */
	ok = 0;
	for (int i = 1; i <= 5; i++) {
		snprintf(a, sizeof(a), "::ffff:192.0.2.%d", i);
		ok += cs_rl_take(&rl, a, 100 * SEC);
	}
	CHECK(ok == 5);
	CHECK(cs_rl_take(&rl, "192.0.2.77", 100 * SEC));
	/* Text that is not an address is still its own key (the server passes "?"). */
	CHECK(cs_rl_take(&rl, "?", 100 * SEC));
	cs_rl_fini(&rl);
}

/* The global cap: many clients together draw at most its burst, then its rate; a client refused
 * by the cap keeps its own tokens, and a cap refusal takes none from the client. */
static void
test_global(void)
{
	struct cs_ratelimit rl;
	char a[CS_RL_ADDR_MAX];
	int ok = 0;

	CHECK(cs_rl_init(&rl, 2.0, 5.0));
	cs_rl_set_global(&rl, 1.0, 8.0);
	for (int i = 0; i < 30; i++) {
		snprintf(a, sizeof(a), "10.1.0.%d", i % 3);
		ok += cs_rl_take(&rl, a, 100 * SEC);
	}
	CHECK(ok == 8); /* 3 clients x 5 would be 15 */
	/* One second at 1/s: one more record in all, whoever asks first. */
	CHECK(cs_rl_take(&rl, "10.1.0.2", 101 * SEC));
	CHECK(!cs_rl_take(&rl, "10.1.0.0", 101 * SEC));
	/* After a long pause the cap is full again and a fresh client draws its own burst. */
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += cs_rl_take(&rl, "10.1.0.9", 200 * SEC);
	CHECK(ok == 5);
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += cs_rl_take(&rl, "10.1.0.8", 200 * SEC);
	CHECK(ok == 3); /* what the cap had left */
	cs_rl_fini(&rl);
}

int
main(void)
{
	T_RUN(test_bucket);
	T_RUN(test_ipv6_prefix);
	T_RUN(test_global);
	return t_done();
}

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

int
main(void)
{
	T_RUN(test_bucket);
	T_RUN(test_ipv6_prefix);
	return t_done();
}

/* The /auth token buckets: burst, refusal, refill over time, independence of addresses. */
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

int
main(void)
{
	T_RUN(test_bucket);
	return t_done();
}

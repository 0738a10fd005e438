/* Token buckets per client address (see ratelimit.h). */
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "kbs/ratelimit.h"

bool
cs_rl_init(struct cs_ratelimit *rl, double rate, double burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
	if (cs_random((uint8_t *)&rl->seed, sizeof(rl->seed)) != CS_OK)
		return false;
	rl->slots = calloc(CS_RL_SLOTS, sizeof(*rl->slots));
	if (rl->slots == NULL)
		return false;
	pthread_mutex_init(&rl->mu, NULL);
	return true;
}

void
cs_rl_fini(struct cs_ratelimit *rl)
{
	if (rl->slots != NULL) {
		pthread_mutex_destroy(&rl->mu);
		free(rl->slots);
	}
	memset(rl, 0, sizeof(*rl));
}

/* FNV-1a, keyed by a random seed so that clients cannot aim at one slot. */
static size_t
slot_of(uint64_t seed, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ seed;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return (size_t)(h % CS_RL_SLOTS);
}

bool
cs_rl_take(struct cs_ratelimit *rl, const char *addr, uint64_t now_ns)
{
	struct cs_rl_slot *s;
	bool ok = false;

	if (strlen(addr) >= CS_RL_ADDR_MAX)
		return false;
	pthread_mutex_lock(&rl->mu);
	s = &rl->slots[slot_of(rl->seed, addr)];
	if (strcmp(s->addr, addr) != 0) {
		memcpy(s->addr, addr, strlen(addr) + 1); /* length checked above */
		s->tokens = rl->burst;
		s->last_ns = now_ns;
	}
	if (now_ns > s->last_ns) {
		s->tokens += (double)(now_ns - s->last_ns) / 1e9 * rl->rate;
		if (s->tokens > rl->burst)
			s->tokens = rl->burst;
		s->last_ns = now_ns;
	}
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
		ok = true;
	}
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

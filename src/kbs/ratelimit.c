/* Token buckets per client address (see ratelimit.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
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

void
cs_rl_set_global(struct cs_ratelimit *rl, double rate, double burst)
{
	rl->g_rate = rate;
	rl->g_burst = burst;
	rl->g_tokens = burst;
	rl->g_last_ns = 0;
}

/* Adds what rate has earned since *last (a clock going backwards earns nothing), up to burst. */
static void
refill(double *tokens, uint64_t *last, double rate, double burst, uint64_t now_ns)
{
	if (now_ns > *last) {
		*tokens += (double)(now_ns - *last) / 1e9 * rate;
		if (*tokens > burst)
			*tokens = burst;
		*last = now_ns;
	}
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

/*
 * The bucket key of a client address: an IPv6 client is keyed by its /64, the smallest prefix a
 * site is given (RFC 6177) and one whose 2^64 addresses a single host may use at will; keyed by
 * the full address, it would get a fresh bucket per address. IPv4 and IPv4-mapped addresses are
 * kept whole. Fails for text longer than any address.
 */
static bool
bucket_key(const char *addr, char key[CS_RL_ADDR_MAX])
{
	struct in6_addr a6;
	size_t n = strlen(addr);

	if (n >= CS_RL_ADDR_MAX)
		return false;
	memcpy(key, addr, n + 1);
	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1 ||
	    IN6_IS_ADDR_V4MAPPED(&a6))
		return true;
	memset(a6.s6_addr + 8, 0, 8);
	return inet_ntop(AF_INET6, &a6, key, CS_RL_ADDR_MAX) != NULL;
}

bool
cs_rl_take(struct cs_ratelimit *rl, const char *client, uint64_t now_ns)
{
	char addr[CS_RL_ADDR_MAX];
	struct cs_rl_slot *s;
	bool ok = false;

	if (!bucket_key(client, addr))
		return false;
	pthread_mutex_lock(&rl->mu);
	s = &rl->slots[slot_of(rl->seed, addr)];
	if (strcmp(s->addr, addr) != 0) {
		memcpy(s->addr, addr, strlen(addr) + 1); /* length checked above */
		s->tokens = rl->burst;
		s->last_ns = now_ns;
	}
	refill(&s->tokens, &s->last_ns, rl->rate, rl->burst, now_ns);
	if (rl->g_rate > 0)
		refill(&rl->g_tokens, &rl->g_last_ns, rl->g_rate, rl->g_burst, now_ns);
	if (s->tokens >= 1.0 && (rl->g_rate <= 0 || rl->g_tokens >= 1.0)) {
		s->tokens -= 1.0;
		if (rl->g_rate > 0)
			rl->g_tokens -= 1.0;
		ok = true;
	}
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

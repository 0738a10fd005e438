/*
 * Per-client token buckets for POST /kbs/v0/auth (Trustee issue #1536: /auth has no rate limit).
 * A fixed table of buckets indexed by a keyed hash of the client address; when two addresses
 * share a slot the newer takes it over (a full bucket), so the table never grows and an attacker
 * cycling addresses cannot exhaust memory. Thread-safe.
 */
#ifndef CS_KBS_RATELIMIT_H
#define CS_KBS_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_RL_SLOTS 4096
#define CS_RL_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

struct cs_rl_slot {
	char addr[CS_RL_ADDR_MAX];
	double tokens;
	uint64_t last_ns;
};

struct cs_ratelimit {
	pthread_mutex_t mu;
	double rate;  /* tokens per second */
	double burst; /* bucket size */
	uint64_t seed;
	struct cs_rl_slot *slots; /* owned, CS_RL_SLOTS */
	double g_rate;            /* the global cap's tokens per second; 0: no global cap */
	double g_burst;
	double g_tokens;
	uint64_t g_last_ns;
};

/* false on allocation failure. */
bool cs_rl_init(struct cs_ratelimit *rl, double rate, double burst);
void cs_rl_fini(struct cs_ratelimit *rl);

/*
 * Adds a cap over all clients together (one bucket of rate and burst): a take then succeeds only
 * when both the client's bucket and the global one hold a token, and takes one from each. Bounds
 * what many addresses (or clients evicting each other's slots) can draw in all. Call after
 * cs_rl_init, before the limiter is shared.
 */
void cs_rl_set_global(struct cs_ratelimit *rl, double rate, double burst);

/*
 * Takes one token for the client address (text, as inet_ntop writes it) at monotonic time now_ns;
 * false when the bucket is empty. IPv6 clients share one bucket per /64.
 */
bool cs_rl_take(struct cs_ratelimit *rl, const char *client, uint64_t now_ns);

#endif

/*
 * Verified-token cache for GET /resource. A fetch with a token must establish three things: the
 * token is ours (ES256 under our key), it has not expired, and which key to encrypt to. The first
 * is a pure function of the token's bytes, so once a token has passed cs_ear_verify (or was
 * issued by this process), its claims and its parsed tee-pubkey are kept under SHA-256 of the
 * token; a later fetch with the same bytes skips the signature check and the key import, but its
 * expiry is checked against the clock on every use. Only tokens that verified (or that we signed)
 * are ever inserted, so a hit is exactly as strong as a verification.
 *
 * A fixed, direct-mapped table (no growth: a flood of distinct tokens only evicts); entries are
 * reference-counted so a reader keeps its entry while another thread replaces the slot.
 */
#ifndef CS_KBS_TOKCACHE_H
#define CS_KBS_TOKCACHE_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jose/jwk.h"

#define CS_TOKCACHE_SLOTS 4096

struct cs_tok {
	atomic_uint refs;
	uint8_t id[32];    /* SHA-256 of the token */
	int64_t exp;       /* the token's exp */
	json_t *claims;    /* owned, never modified after insertion */
	struct cs_jwk jwk; /* the tee-pubkey, parsed */
};

struct cs_tokcache {
	pthread_mutex_t mu;
	struct cs_tok **slots; /* owned, CS_TOKCACHE_SLOTS */
	atomic_ulong hits, misses;
};

CS_MUST_USE enum cs_err cs_tokcache_init(struct cs_tokcache *c);
void cs_tokcache_fini(struct cs_tokcache *c);

/* The SHA-256 of a token, the cache key. */
CS_MUST_USE enum cs_err cs_tok_id(const char *tok, size_t n, uint8_t id[32]);

/*
 * Returns a referenced entry for id if cached and exp > now (release it with cs_tok_put), else
 * NULL.
 */
struct cs_tok *cs_tokcache_get(struct cs_tokcache *c, const uint8_t id[32], int64_t now);

/*
 * Caches the verified claims (takes a reference of its own) under id with the parsed key (takes
 * jwk's contents: *jwk is left empty). Returns a referenced entry (cs_tok_put it), or NULL on
 * allocation failure (then jwk is left to the caller).
 */
struct cs_tok *cs_tokcache_put(struct cs_tokcache *c, const uint8_t id[32], int64_t exp,
                               json_t *claims, struct cs_jwk *jwk);

void cs_tok_put(struct cs_tok *t);

#endif

/* Verified-token cache (see tokcache.h). */
#include <stdlib.h>
#include <string.h>

#include "base/secret.h"
#include "crypto/hash.h"
#include "kbs/tokcache.h"

enum cs_err
cs_tokcache_init(struct cs_tokcache *c)
{
	memset(c, 0, sizeof(*c));
	c->slots = calloc(CS_TOKCACHE_SLOTS, sizeof(*c->slots));
	ENSURE(c->slots != NULL, CS_ERR_NOMEM);
	pthread_mutex_init(&c->mu, NULL);
	return CS_OK;
}

void
cs_tok_put(struct cs_tok *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	json_decref(t->claims);
	cs_jwk_fini(&t->jwk);
	free(t);
}

void
cs_tokcache_fini(struct cs_tokcache *c)
{
	if (c->slots != NULL) {
		for (size_t i = 0; i < CS_TOKCACHE_SLOTS; i++)
			cs_tok_put(c->slots[i]);
		free(c->slots);
		pthread_mutex_destroy(&c->mu);
	}
	memset(c, 0, sizeof(*c));
}

enum cs_err
cs_tok_id(const char *tok, size_t n, uint8_t id[32])
{
	return cs_hash(CS_SHA256, (const uint8_t *)tok, n, id);
}

static size_t
slot_of(const uint8_t id[32])
{
	/* id is a SHA-256 output: any of its bytes are uniform. */
	return ((size_t)id[0] | (size_t)id[1] << 8 | (size_t)id[2] << 16) % CS_TOKCACHE_SLOTS;
}

struct cs_tok *
cs_tokcache_get(struct cs_tokcache *c, const uint8_t id[32], int64_t now)
{
	struct cs_tok *t;

	pthread_mutex_lock(&c->mu);
	t = c->slots[slot_of(id)];
	if (t != NULL && cs_ct_eq(t->id, id, 32) && t->exp > now)
		atomic_fetch_add(&t->refs, 1);
	else
		t = NULL;
	pthread_mutex_unlock(&c->mu);
	atomic_fetch_add(t != NULL ? &c->hits : &c->misses, 1);
	return t;
}

struct cs_tok *
cs_tokcache_put(struct cs_tokcache *c, const uint8_t id[32], int64_t exp, json_t *claims,
                struct cs_jwk *jwk)
{
	struct cs_tok *t = calloc(1, sizeof(*t)), *old;
	size_t i = slot_of(id);

	if (t == NULL)
		return NULL;
	atomic_init(&t->refs, 2); /* the slot's and the caller's */
	memcpy(t->id, id, 32);
	t->exp = exp;
	t->claims = json_incref(claims);
	t->jwk = *jwk;
	cs_jwk_init(jwk);
	pthread_mutex_lock(&c->mu);
	old = c->slots[i];
	c->slots[i] = t;
	pthread_mutex_unlock(&c->mu);
	cs_tok_put(old);
	return t;
}

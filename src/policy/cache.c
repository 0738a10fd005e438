/*
 * The process-wide cache of compiled policies, keyed by their exact source bytes (so a store
 * that is reset, or two ids holding one text, can never alias a stale compilation). Lookups
 * compare the whole text; with policies of a few KiB that costs less than a microsecond, against
 * tens of microseconds to compile.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ast.h"

#define SLOTS 64

struct slot {
	char *src; /* owned copy */
	size_t len;
	uint64_t hash;       /* FNV-1a 64 of src, to skip most comparisons */
	uint64_t used;       /* clock of the last hit */
	struct cs_policy *p; /* one reference held by the cache */
};

static struct {
	pthread_mutex_t mu;
	struct slot s[SLOTS];
	uint64_t clock;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static struct cs_policy *
lookup(const char *src, size_t len, uint64_t h)
{
	for (size_t i = 0; i < SLOTS; i++) {
		struct slot *s = &cache.s[i];
		if (s->p != NULL && s->hash == h && s->len == len &&
		    (len == 0 || memcmp(s->src, src, len) == 0)) {
			s->used = ++cache.clock;
			return cs_policy_ref(s->p);
		}
	}
	return NULL;
}

enum cs_err
cs_policy_compile_cached(const char *src, size_t len, struct cs_policy **out,
                         struct cs_policy_diag *diag)
{
	uint64_t h = fnv1a(src, len);
	struct cs_policy *p;
	struct slot *victim;
	char *copy;

	*out = NULL;
	ENSURE(src != NULL || len == 0, CS_ERR_INVAL);
	pthread_mutex_lock(&cache.mu);
	p = lookup(src, len, h);
	pthread_mutex_unlock(&cache.mu);
	if (p != NULL) {
		if (diag != NULL)
			memset(diag, 0, sizeof(*diag));
		*out = p;
		return CS_OK;
	}
	/* Compiled outside the lock: two threads may both compile a new text; one copy is kept. */
	TRY(cs_policy_compile(src, len, &p, diag));
	if ((copy = malloc(len + 1)) == NULL) {
		*out = p; /* usable, just not cached */
		return CS_OK;
	}
	memcpy(copy, src, len);
	copy[len] = '\0';
	pthread_mutex_lock(&cache.mu);
	struct cs_policy *again = lookup(src, len, h);
	if (again != NULL) {
		pthread_mutex_unlock(&cache.mu);
		free(copy);
		cs_policy_free(p);
		*out = again;
		return CS_OK;
	}
	victim = &cache.s[0];
	for (size_t i = 1; i < SLOTS && victim->p != NULL; i++)
		if (cache.s[i].p == NULL || cache.s[i].used < victim->used)
			victim = &cache.s[i];
	cs_policy_free(victim->p);
	free(victim->src);
	victim->src = copy;
	victim->len = len;
	victim->hash = h;
	victim->used = ++cache.clock;
	victim->p = cs_policy_ref(p);
	pthread_mutex_unlock(&cache.mu);
	*out = p;
	return CS_OK;
}

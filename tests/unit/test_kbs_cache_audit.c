/*
 * The broker's verified-token cache (hits only for the same bytes and before exp, eviction
 * without leaks, references outliving replacement) and the audit group commit (every event
 * committed, in order, single events as themselves and concurrent ones batched, wait=true
 * returning only after the commit, the chain verifying afterwards).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kbs/audit.h"
#include "kbs/tokcache.h"
#include "store/store.h"
#include "t.h"

static void
test_tokcache(void)
{
	struct cs_tokcache c;
	struct cs_jwk jwk;
	uint8_t id[32], other[32];
	struct cs_tok *t, *u;
	json_t *claims = json_pack("{s:i}", "exp", 100);

	CHECK_OK(cs_tokcache_init(&c));
	CHECK_OK(cs_tok_id("a.b.c", 5, id));
	CHECK_OK(cs_tok_id("a.b.d", 5, other));
	CHECK(memcmp(id, other, 32) != 0);
	CHECK(cs_tokcache_get(&c, id, 0) == NULL);
	cs_jwk_init(&jwk);
	t = cs_tokcache_put(&c, id, 100, claims, &jwk);
	CHECK(t != NULL && t->claims == claims);
	cs_tok_put(t);
	u = cs_tokcache_get(&c, id, 99);
	CHECK(u != NULL && json_integer_value(json_object_get(u->claims, "exp")) == 100);
	/* At and after exp: a miss, so the caller verifies (and fails with EXPIRED). */
	CHECK(cs_tokcache_get(&c, id, 100) == NULL);
	CHECK(cs_tokcache_get(&c, other, 0) == NULL);
	/* Replacing the slot while u is held: u stays valid until released. */
	for (int i = 0; i < 3 * CS_TOKCACHE_SLOTS; i++) {
		char tok[32];
		uint8_t x[32];
		struct cs_jwk j;
		int n = snprintf(tok, sizeof(tok), "tok-%d", i);
		CHECK_OK(cs_tok_id(tok, (size_t)n, x));
		cs_jwk_init(&j);
		cs_tok_put(cs_tokcache_put(&c, x, 1000, claims, &j));
	}
	CHECK(json_integer_value(json_object_get(u->claims, "exp")) == 100);
	cs_tok_put(u);
	CHECK(atomic_load(&c.hits) == 1);
	cs_tokcache_fini(&c);
	json_decref(claims);
}

struct worker_arg {
	struct cs_kbs_audit *a;
	int id;
	int ok;
};

static void *
worker(void *p)
{
	struct worker_arg *w = p;

	for (int i = 0; i < 50; i++)
		if (cs_audit_log(w->a, 1000 + i, "release",
		                 json_pack("{s:i,s:i}", "worker", w->id, "i", i),
		                 i % 10 == 0) == CS_OK)
			w->ok++;
	return NULL;
}

static void
test_audit(void)
{
	struct cs_store *s;
	struct cs_kbs_audit a;
	struct cs_audit_rec *recs = NULL;
	size_t n = 0, events = 0;
	uint64_t count = 0;
	pthread_t th[4];
	struct worker_arg args[4];
	int last_i[4] = {-1, -1, -1, -1}, ordered = 1;

	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	CHECK_OK(cs_audit_start(&a, s));
	/* A waited-for event is in the log when the call returns, as its own record. */
	CHECK_OK(cs_audit_log(&a, 5, "admin", json_pack("{s:s}", "op", "x"), true));
	CHECK_OK(cs_store_audit_list(s, 1, 10, &recs, &n));
	CHECK(n == 1 && strcmp(recs[0].kind, "admin") == 0 && recs[0].time == 5);
	cs_audit_recs_free(recs, n);
	CHECK_ERR(cs_audit_log(&a, 5, "admin", NULL, true), CS_ERR_NOMEM);

	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){&a, i, 0};
		pthread_create(&th[i], NULL, worker, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].ok == 50);
	}
	cs_audit_stop(&a); /* commits what is queued */
	CHECK_OK(cs_store_audit_list(s, 2, 1000, &recs, &n));
	for (size_t r = 0; r < n; r++) {
		json_error_t je;
		json_t *b = json_loadb(recs[r].body, recs[r].body_len, 0, &je), *evs, *e;
		size_t k;

		if (strcmp(recs[r].kind, "batch") == 0) {
			evs = json_object_get(b, "events");
			json_array_foreach(evs, k, e)
			{
				const json_t *eb = json_object_get(e, "body");
				int w = (int)json_integer_value(json_object_get(eb, "worker"));
				int i = (int)json_integer_value(json_object_get(eb, "i"));
				ordered &= i > last_i[w];
				last_i[w] = i;
				events++;
			}
		} else {
			int w = (int)json_integer_value(json_object_get(b, "worker"));
			int i = (int)json_integer_value(json_object_get(b, "i"));
			CHECK(strcmp(recs[r].kind, "release") == 0);
			ordered &= i > last_i[w];
			last_i[w] = i;
			events++;
		}
		json_decref(b);
	}
	cs_audit_recs_free(recs, n);
	CHECK(events == 200); /* nothing lost */
	CHECK(ordered);       /* each thread's events in its order */
	CHECK(atomic_load(&a.records) == n + 1);
	CHECK_OK(cs_store_audit_verify(s, &count, NULL));
	CHECK(count == n + 1);
	/* After stop: refused, not lost silently. */
	CHECK_ERR(cs_audit_log(&a, 1, "x", json_object(), false), CS_ERR_STATE);
	cs_store_free(s);
}

/* Jansson allocations fail on every thread but the test's while fail_others is set. */
static atomic_bool fail_others;
static pthread_t test_thread;

static void *
picky_malloc(size_t n)
{
	if (atomic_load(&fail_others) && !pthread_equal(pthread_self(), test_thread))
		return NULL;
	return malloc(n);
}

/* The writer out of memory (its fresh queue, its batch): nothing leaks (ASan), nothing is lost,
 * and the events are committed once memory is back. */
static void
test_audit_oom(void)
{
	struct cs_store *s;
	struct cs_kbs_audit a;
	struct cs_audit_rec *recs = NULL;
	size_t n = 0, events = 0;
	struct timespec ts = {0, 10 * 1000 * 1000};

	test_thread = pthread_self();
	json_set_alloc_funcs(picky_malloc, free);
	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	CHECK_OK(cs_audit_start(&a, s));
	atomic_store(&fail_others, true);
	for (int i = 0; i < 3; i++)
		CHECK_OK(cs_audit_log(&a, 10 + i, "release", json_pack("{s:i}", "i", i), false));
	for (int i = 0; i < 500 && atomic_load(&a.failures) < 2; i++)
		nanosleep(&ts, NULL);
	CHECK(atomic_load(&a.failures) >= 2); /* the writer failed and retried */
	atomic_store(&fail_others, false);
	CHECK_OK(cs_audit_log(&a, 20, "admin", json_pack("{s:s}", "op", "after"), true));
	cs_audit_stop(&a);
	CHECK_OK(cs_store_audit_list(s, 1, 100, &recs, &n));
	for (size_t r = 0; r < n; r++) {
		json_error_t je;
		json_t *b = json_loadb(recs[r].body, recs[r].body_len, 0, &je);

		events += strcmp(recs[r].kind, "batch") == 0
		                  ? json_array_size(json_object_get(b, "events"))
		                  : 1;
		json_decref(b);
	}
	cs_audit_recs_free(recs, n);
	CHECK(events == 4);
	cs_store_free(s);
	json_set_alloc_funcs(malloc, free);
}

int
main(void)
{
	T_RUN(test_tokcache);
	T_RUN(test_audit);
	T_RUN(test_audit_oom);
	return t_done();
}

/*
 * The broker's reference-value lookup: the store's value while valid; an expired stored value
 * never matches and never falls back to a static value of the same name; the configuration only
 * for names the store lacks; a store that fails yields nothing.
 */
#include <stdbool.h>
#include <string.h>

#include "kbs/refval.h"
#include "store/store.h"
#include "t.h"

static bool
is_list_of(const json_t *v, const char *s)
{
	const char *e = json_string_value(json_array_get(v, 0));

	return json_is_array(v) && json_array_size(v) == 1 && e != NULL && strcmp(e, s) == 0;
}

static void
test_refval(void)
{
	struct cs_store *s = NULL;
	json_t *cfg =
	        json_pack("{s:[s],s:[s],s:[s]}", "svn", "1", "only-config", "c", "bad name", "b");
	json_t *stored = json_pack("[s]", "2"), *v;

	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	CHECK_OK(cs_store_refval_put(s, "svn", stored, 1000));

	/* Valid in the store: the store's value, not the configuration's. */
	v = cs_kbs_refval_get(s, cfg, "svn", 999);
	CHECK(is_list_of(v, "2"));
	json_decref(v);
	/* Expired at 1000 and after: nothing, and not the static ["1"] either. */
	CHECK(cs_kbs_refval_get(s, cfg, "svn", 1000) == NULL);
	CHECK(cs_kbs_refval_get(s, cfg, "svn", 5000) == NULL);
	/* A name only the configuration has, or one the store cannot hold. */
	v = cs_kbs_refval_get(s, cfg, "only-config", 5000);
	CHECK(is_list_of(v, "c"));
	json_decref(v);
	v = cs_kbs_refval_get(s, cfg, "bad name", 5000);
	CHECK(is_list_of(v, "b"));
	json_decref(v);
	CHECK(cs_kbs_refval_get(s, cfg, "nowhere", 0) == NULL);
	CHECK(cs_kbs_refval_get(s, NULL, "only-config", 0) == NULL);
	/* Deleted from the store: the configuration's again. */
	CHECK_OK(cs_store_refval_delete(s, "svn"));
	v = cs_kbs_refval_get(s, cfg, "svn", 5000);
	CHECK(is_list_of(v, "1"));
	json_decref(v);
	/* No store at all: the configuration. */
	v = cs_kbs_refval_get(NULL, cfg, "svn", 0);
	CHECK(is_list_of(v, "1"));
	json_decref(v);
	cs_store_free(s);
	json_decref(stored);
	json_decref(cfg);
}

int
main(void)
{
	T_RUN(test_refval);
	return t_done();
}

/*
 * Policies from a real store (SQLite in memory): per-path selection over stored resource
 * policies, an update effective on the next decision, a broken stored policy failing closed,
 * appraisal policies per TEE type, and the built-in defaults when nothing is stored.
 */
#include <string.h>

#include "policy/store/stored.h"
#include "t.h"

static enum cs_err
put(struct cs_store *s, const char *kind, const char *id, const char *text)
{
	return cs_store_policy_put(s, kind, id, (const uint8_t *)text, strlen(text), NULL);
}

static enum cs_err
decide(struct cs_store *s, const char *path, struct cs_decision *d)
{
	json_error_t je;
	json_t *claims =
	        json_loads("{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"}}}", 0, &je);
	struct cs_resource_in in = {.claims = claims, .path = path};
	enum cs_err err = cs_policy_store_decide(s, &in, d);

	json_decref(claims);
	return err;
}

static void
test_resource(void)
{
	struct cs_store *s = NULL;
	struct cs_decision d;

	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	if (s == NULL)
		return;
	/* Nothing stored (or no store): the built-in default. */
	CHECK_OK(decide(NULL, "default/key/a", &d));
	CHECK_OK(decide(s, "default/key/a", &d));
	CHECK_STR(d.reason, "every submodule is affirming");

	CHECK_OK(put(s, "resource", "models",
	             "policy resource for \"default/model/*\";\n"
	             "deny \"models are closed\";"));
	CHECK_OK(put(s, "resource", "tenant-b",
	             "policy resource for \"tenant-b/*\";\n"
	             "allow \"tenant b\" if path[0] == \"tenant-b\";"));
	CHECK_ERR(decide(s, "default/model/llama", &d), CS_ERR_DENIED);
	CHECK_STR(d.reason, "models are closed");
	CHECK_OK(decide(s, "tenant-b/key/1", &d));
	CHECK_STR(d.reason, "tenant b");
	CHECK_OK(decide(s, "default/key/a", &d)); /* no pattern matches: the default */

	/* An update is effective on the next decision. */
	CHECK_OK(put(s, "resource", "models",
	             "policy resource for \"default/model/*\";\n"
	             "allow \"models open\";"));
	CHECK_OK(decide(s, "default/model/llama", &d));
	CHECK_STR(d.reason, "models open");
	CHECK(d.policy >= 0 && d.policy_version == 2);
	CHECK_STR(d.policy_id, "models");
	CHECK_OK(decide(s, "default/key/a", &d));
	CHECK(d.policy == -1 && d.policy_id[0] == '\0' && d.policy_version == 0);

	/* A stored policy that does not compile closes everything. */
	CHECK_OK(put(s, "resource", "broken", "policy resource;\nallow if x ==;"));
	CHECK_ERR(decide(s, "tenant-b/key/1", &d), CS_ERR_DENIED);
	CHECK(strstr(d.reason, "does not compile (2:14: expected an expression") != NULL);
	CHECK_STR(d.policy_id, "broken");
	cs_store_free(s);
}

static void
test_appraisal(void)
{
	struct cs_store *s = NULL;
	struct cs_appraisal a;
	json_error_t je;
	json_t *claims = json_loads("{\"svn\":\"1\"}", 0, &je);
	struct cs_appraisal_in in = {.claims = claims, .tee = "sample"};

	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	if (s == NULL)
		return;
	CHECK_OK(cs_policy_store_appraise(s, &in, &a));
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 97); /* the built-in sample default */
	CHECK_OK(put(s, "appraisal", "default_sample",
	             "policy appraisal for \"sample\";\nhardware = 2 if svn == \"1\";"));
	CHECK_OK(cs_policy_store_appraise(s, &in, &a));
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 2 && a.status == CS_TIER_AFFIRMING);
	in.tee = "snp"; /* not for snp: the snp default */
	CHECK_OK(cs_policy_store_appraise(s, &in, &a));
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 97);
	cs_store_free(s);
	json_decref(claims);
}

int
main(void)
{
	T_RUN(test_resource);
	T_RUN(test_appraisal);
	return t_done();
}

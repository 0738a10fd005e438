/* AR4SI tiers, the built-in sample appraisal, and the default resource decision. */
#include <stdio.h>
#include <string.h>

#include "attest/appraise.h"
#include "store/store.h"
#include "t.h"

static void
test_tiers(void)
{
	static const struct {
		int v;
		enum cs_ear_status s;
	} cases[] = {
	        {0, CS_EAR_NONE},
	        {1, CS_EAR_NONE},
	        {-1, CS_EAR_NONE},
	        {2, CS_EAR_AFFIRMING},
	        {31, CS_EAR_AFFIRMING},
	        {-2, CS_EAR_AFFIRMING},
	        {-32, CS_EAR_AFFIRMING},
	        {32, CS_EAR_WARNING},
	        {95, CS_EAR_WARNING},
	        {-33, CS_EAR_WARNING},
	        {-96, CS_EAR_WARNING},
	        {96, CS_EAR_CONTRAINDICATED},
	        {127, CS_EAR_CONTRAINDICATED},
	        {-97, CS_EAR_CONTRAINDICATED},
	        {-128, CS_EAR_CONTRAINDICATED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_tvec tv = {{0}};
		tv.v[CS_TV_HARDWARE] = (int8_t)cases[i].v;
		CHECK(cs_tvec_status(&tv) == cases[i].s);
	}
	/* The worst claim wins. */
	struct cs_tvec tv = {{2, 2, 2, 2, 2, 2, 2, 33}};
	CHECK(cs_tvec_status(&tv) == CS_EAR_WARNING);
	CHECK_STR(cs_ear_status_name(CS_EAR_CONTRAINDICATED), "contraindicated");
	CHECK_STR(cs_tv_claim_name(CS_TV_FILE_SYSTEM), "file-system");
}

static json_t *refs;

static json_t *
get_ref(void *ctx, const char *name)
{
	json_t *v = json_object_get(refs, name);
	(void)ctx;
	return v != NULL ? json_incref(v) : NULL;
}

static void
test_sample_appraisal(void)
{
	json_error_t je;
	json_t *claims =
	        json_loads("{\"svn\":\"1\",\"launch_digest\":\"abcde\",\"platform_version\":"
	                   "{\"major\":1,\"minor\":4},\"debug\":false}",
	                   0, &je);
	struct cs_refvals rv = {get_ref, NULL};
	struct cs_policy_env env = {NULL, &rv, 0};
	struct cs_tvec tv;

	/* No reference values: nothing recognised, contraindicated (Trustee's defaults). */
	CHECK_OK(cs_appraise(NULL, "sample", claims, &tv, NULL));
	CHECK(tv.v[CS_TV_EXECUTABLES] == 33 && tv.v[CS_TV_HARDWARE] == 97);
	CHECK(tv.v[CS_TV_CONFIGURATION] == 2); /* debug is false */
	CHECK(cs_tvec_status(&tv) == CS_EAR_CONTRAINDICATED);

	refs = json_loads("{\"svn\":[\"1\"],\"launch_digest\":[\"abcde\"],\"major_version\":1,"
	                  "\"minimum_minor_version\":4}",
	                  0, &je);
	CHECK_OK(cs_appraise(&env, "sample", claims, &tv, NULL));
	CHECK(tv.v[CS_TV_EXECUTABLES] == 3 && tv.v[CS_TV_HARDWARE] == 2);
	CHECK(cs_tvec_status(&tv) == CS_EAR_AFFIRMING);
	/* minor 4 < minimum 5: hardware not recognised. */
	json_object_set_new(refs, "minimum_minor_version", json_integer(5));
	CHECK_OK(cs_appraise(&env, "sample", claims, &tv, NULL));
	CHECK(tv.v[CS_TV_HARDWARE] == 97);
	json_object_set_new(refs, "minimum_minor_version", json_integer(4));
	/* svn not among the reference values. */
	json_object_set_new(refs, "svn", json_pack("[s]", "2"));
	CHECK_OK(cs_appraise(&env, "sample", claims, &tv, NULL));
	CHECK(tv.v[CS_TV_HARDWARE] == 97);
	/* An unknown TEE keeps the defaults. */
	CHECK_OK(cs_appraise(&env, "tdx", claims, &tv, NULL));
	CHECK(cs_tvec_status(&tv) == CS_EAR_CONTRAINDICATED);
	CHECK_ERR(cs_appraise(&env, "sample", NULL, &tv, NULL), CS_ERR_INVAL);
	json_decref(refs);
	json_decref(claims);
}

static enum cs_err
decide(const char *claims_text, char *reason, size_t n)
{
	json_error_t je;
	json_t *c = json_loads(claims_text, 0, &je);
	struct cs_decision d;
	enum cs_err err = cs_decide_resource(NULL, c, "default/key/1", NULL, &d);

	CHECK(d.allow == (err == CS_OK));
	CHECK(d.policy == -1 && d.policy_id[0] == '\0' && d.policy_version == 0);
	snprintf(reason, n, "%s", d.reason);
	json_decref(c);
	return err;
}

static void
test_decision(void)
{
	char reason[256];

	CHECK_OK(decide("{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"},"
	                "\"gpu0\":{\"ear.status\":\"affirming\"}}}",
	                reason, sizeof(reason)));
	CHECK_ERR(decide("{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"},"
	                 "\"gpu0\":{\"ear.status\":\"warning\"}}}",
	                 reason, sizeof(reason)),
	          CS_ERR_DENIED);
	CHECK(strstr(reason, "gpu0") != NULL && strstr(reason, "warning") != NULL);
	CHECK_ERR(decide("{\"submods\":{}}", reason, sizeof(reason)), CS_ERR_DENIED);
	CHECK_ERR(decide("{}", reason, sizeof(reason)), CS_ERR_DENIED);
	CHECK_ERR(decide("{\"submods\":{\"cpu0\":{}}}", reason, sizeof(reason)), CS_ERR_DENIED);
	CHECK_ERR(decide("{\"submods\":{\"cpu0\":{\"ear.status\":2}}}", reason, sizeof(reason)),
	          CS_ERR_DENIED);
	CHECK_ERR(decide("{\"submods\":[{\"ear.status\":\"affirming\"}]}", reason, sizeof(reason)),
	          CS_ERR_DENIED);
}

/* Stored policies: the decision and the appraisal name the deciding policy's id and version. */
static void
test_provenance(void)
{
	static const char res[] = "policy resource for \"default/model/*\";\n"
	                          "deny \"closed\" if path[2] == \"x\";\nallow \"open\";\n";
	static const char app[] = "policy appraisal for \"sample\";\nhardware = 2;\n";
	static const char broken[] = "policy appraisal for \"sample\";\nhardware = \"a\";\n";
	struct cs_store *s = NULL;
	struct cs_policy_env env = {NULL, NULL, 0};
	struct cs_appraise_info info;
	struct cs_decision d;
	struct cs_tvec tv;
	json_t *claims = json_pack("{s:{s:{s:s}}}", "submods", "cpu0", "ear.status", "warning");
	json_t *ev = json_pack("{s:s}", "svn", "1");

	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	env.store = s;
	CHECK_OK(cs_store_policy_put(s, "resource", "models", (const uint8_t *)res, sizeof(res) - 1,
	                             NULL));
	CHECK_OK(cs_store_policy_put(s, "resource", "models", (const uint8_t *)res, sizeof(res) - 1,
	                             NULL));
	CHECK_OK(cs_decide_resource(&env, claims, "default/model/a", NULL, &d));
	CHECK(d.allow && d.policy_version == 2 && d.line == 3);
	CHECK_STR(d.policy_id, "models");
	CHECK_STR(d.reason, "open");
	CHECK_ERR(cs_decide_resource(&env, claims, "default/model/x", NULL, &d), CS_ERR_DENIED);
	CHECK(!d.allow && d.policy_version == 2 && d.line == 2);
	CHECK_STR(d.policy_id, "models");
	/* Elsewhere the built-in default decides (a warning token: denied). */
	CHECK_ERR(cs_decide_resource(&env, claims, "default/key/a", NULL, &d), CS_ERR_DENIED);
	CHECK(d.policy_id[0] == '\0' && d.policy_version == 0);

	CHECK_OK(cs_appraise(&env, "sample", ev, &tv, &info));
	CHECK(info.policy_id[0] == '\0' && info.policy_version == 0 && info.reason[0] == '\0');
	CHECK_OK(cs_store_policy_put(s, "appraisal", "sample-ap", (const uint8_t *)app,
	                             sizeof(app) - 1, NULL));
	CHECK_OK(cs_appraise(&env, "sample", ev, &tv, &info));
	CHECK(tv.v[CS_TV_HARDWARE] == 2 && info.policy_version == 1 && info.reason[0] == '\0');
	CHECK_STR(info.policy_id, "sample-ap");
	/* A policy that fails at evaluation: the fail-closed vector, with the reason. */
	CHECK_OK(cs_store_policy_put(s, "appraisal", "sample-ap", (const uint8_t *)broken,
	                             sizeof(broken) - 1, NULL));
	CHECK_OK(cs_appraise(&env, "sample", ev, &tv, &info));
	CHECK(cs_tvec_status(&tv) == CS_EAR_CONTRAINDICATED && info.policy_version == 2);
	CHECK(info.reason[0] != '\0');
	cs_store_free(s);
	json_decref(claims);
	json_decref(ev);
}

int
main(void)
{
	T_RUN(test_tiers);
	T_RUN(test_sample_appraisal);
	T_RUN(test_decision);
	T_RUN(test_provenance);
	return t_done();
}

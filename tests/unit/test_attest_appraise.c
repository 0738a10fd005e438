/* AR4SI tiers, the built-in sample appraisal, and the default resource decision. */
#include <string.h>

#include "attest/appraise.h"
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
	CHECK_OK(cs_appraise(NULL, "sample", claims, &tv));
	CHECK(tv.v[CS_TV_EXECUTABLES] == 33 && tv.v[CS_TV_HARDWARE] == 97);
	CHECK(tv.v[CS_TV_CONFIGURATION] == 2); /* debug is false */
	CHECK(cs_tvec_status(&tv) == CS_EAR_CONTRAINDICATED);

	refs = json_loads("{\"svn\":[\"1\"],\"launch_digest\":[\"abcde\"],\"major_version\":1,"
	                  "\"minimum_minor_version\":4}",
	                  0, &je);
	CHECK_OK(cs_appraise(&env, "sample", claims, &tv));
	CHECK(tv.v[CS_TV_EXECUTABLES] == 3 && tv.v[CS_TV_HARDWARE] == 2);
	CHECK(cs_tvec_status(&tv) == CS_EAR_AFFIRMING);
	/* minor 4 < minimum 5: hardware not recognised. */
	json_object_set_new(refs, "minimum_minor_version", json_integer(5));
	CHECK_OK(cs_appraise(&env, "sample", claims, &tv));
	CHECK(tv.v[CS_TV_HARDWARE] == 97);
	json_object_set_new(refs, "minimum_minor_version", json_integer(4));
	/* svn not among the reference values. */
	json_object_set_new(refs, "svn", json_pack("[s]", "2"));
	CHECK_OK(cs_appraise(&env, "sample", claims, &tv));
	CHECK(tv.v[CS_TV_HARDWARE] == 97);
	/* An unknown TEE keeps the defaults. */
	CHECK_OK(cs_appraise(&env, "tdx", claims, &tv));
	CHECK(cs_tvec_status(&tv) == CS_EAR_CONTRAINDICATED);
	CHECK_ERR(cs_appraise(&env, "sample", NULL, &tv), CS_ERR_INVAL);
	json_decref(refs);
	json_decref(claims);
}

static enum cs_err
decide(const char *claims_text, char *reason, size_t n)
{
	json_error_t je;
	json_t *c = json_loads(claims_text, 0, &je);
	enum cs_err err = cs_decide_resource(NULL, c, "default/key/1", NULL, reason, n);
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
	/* A tiny reason buffer is cut, not overrun. */
	char small[8];
	CHECK_ERR(
	        decide("{\"submods\":{\"cpu0\":{\"ear.status\":\"none\"}}}", small, sizeof(small)),
	        CS_ERR_DENIED);
	CHECK(strlen(small) == sizeof(small) - 1);
}

int
main(void)
{
	T_RUN(test_tiers);
	T_RUN(test_sample_appraisal);
	T_RUN(test_decision);
	return t_done();
}

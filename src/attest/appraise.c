/*
 * The built-in appraisal and resource policies (see appraise.h). Replaced by the policy engine.
 */
#include <stdio.h>
#include <string.h>

#include "attest/appraise.h"
#include "policy/store/stored.h"

static const char *const tv_names[CS_TV_COUNT_] = {
        "instance-identity", "configuration",  "executables",    "file-system",
        "hardware",          "runtime-opaque", "storage-opaque", "sourced-data",
};

const char *
cs_tv_claim_name(enum cs_tv_claim c)
{
	return (unsigned)c < CS_TV_COUNT_ ? tv_names[c] : "?";
}

const char *
cs_ear_status_name(enum cs_ear_status s)
{
	switch (s) {
	case CS_EAR_AFFIRMING:
		return "affirming";
	case CS_EAR_WARNING:
		return "warning";
	case CS_EAR_CONTRAINDICATED:
		return "contraindicated";
	case CS_EAR_NONE:
	default:
		return "none";
	}
}

/* One tier logic in the project: the policy language's (AR4SI §2.3.3 as veraison/rust-ear). */
enum cs_ear_status
cs_tvec_status(const struct cs_tvec *tv)
{
	_Static_assert(sizeof(tv->v) / sizeof(tv->v[0]) == (size_t)CS_AR4SI_COUNT,
	               "one trust vector length");
	switch (cs_policy_vector_tier(tv->v)) {
	case CS_TIER_AFFIRMING:
		return CS_EAR_AFFIRMING;
	case CS_TIER_WARNING:
		return CS_EAR_WARNING;
	case CS_TIER_CONTRAINDICATED:
		return CS_EAR_CONTRAINDICATED;
	case CS_TIER_NONE:
	default:
		return CS_EAR_NONE;
	}
}

enum cs_err
cs_appraise(const struct cs_policy_env *env, const char *tee, const json_t *claims,
            struct cs_tvec *tv, struct cs_appraise_info *info)
{
	/*
	 * The policy language (src/policy, docs/policy.md §5-6): the stored appraisal policy for
	 * tee (store kind "appraisal"), else the built-in default for tee, which for the sample TEE
	 * is Trustee's ear_default_policy_cpu.rego block (defaults executables 33, hardware 97,
	 * configuration 36). Reference values through env->rv, as Trustee's query_reference_value.
	 */
	_Static_assert((int)CS_TV_COUNT_ == (int)CS_AR4SI_COUNT &&
	                       (int)CS_TV_INSTANCE_IDENTITY == (int)CS_AR4SI_INSTANCE_IDENTITY &&
	                       (int)CS_TV_CONFIGURATION == (int)CS_AR4SI_CONFIGURATION &&
	                       (int)CS_TV_EXECUTABLES == (int)CS_AR4SI_EXECUTABLES &&
	                       (int)CS_TV_FILE_SYSTEM == (int)CS_AR4SI_FILE_SYSTEM &&
	                       (int)CS_TV_HARDWARE == (int)CS_AR4SI_HARDWARE &&
	                       (int)CS_TV_RUNTIME_OPAQUE == (int)CS_AR4SI_RUNTIME_OPAQUE &&
	                       (int)CS_TV_STORAGE_OPAQUE == (int)CS_AR4SI_STORAGE_OPAQUE &&
	                       (int)CS_TV_SOURCED_DATA == (int)CS_AR4SI_SOURCED_DATA,
	               "the trust vector orders agree");
	const struct cs_refvals *rv = env != NULL ? env->rv : NULL;
	struct cs_rv_getter g = {rv != NULL ? rv->get : NULL, rv != NULL ? rv->ctx : NULL};
	struct cs_rv_source src = cs_rv_source_getter(&g, env != NULL ? env->now : 0);
	struct cs_appraisal_in in = {.claims = claims, .tee = tee, .rv = &src};
	struct cs_appraisal a;
	enum cs_err err;

	memset(tv, 0, sizeof(*tv));
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	tv->v[CS_TV_EXECUTABLES] = 33;
	tv->v[CS_TV_HARDWARE] = 97;
	tv->v[CS_TV_CONFIGURATION] = 36;
	ENSURE(tee != NULL && json_is_object(claims), CS_ERR_INVAL);
	err = cs_policy_store_appraise(env != NULL ? env->store : NULL, &in, &a);
	/* A failing policy (or store) appraises fail-closed: a verdict, not an error. */
	if (err != CS_OK && err != CS_ERR_POLICY && err != CS_ERR_TOO_LARGE && err != CS_ERR_STORE)
		return err;
	memcpy(tv->v, a.tv, sizeof(tv->v));
	if (info != NULL) {
		snprintf(info->policy_id, sizeof(info->policy_id), "%s", a.policy_id);
		info->policy_version = a.policy_version;
		if (err != CS_OK)
			snprintf(info->reason, sizeof(info->reason), "%s", a.reason);
	}
	return CS_OK;
}

enum cs_err
cs_decide_resource(const struct cs_policy_env *env, const json_t *claims, const char *path,
                   const json_t *query, struct cs_decision *d)
{
	/*
	 * The policy language (src/policy, docs/policy.md §4-6): of the stored resource policies
	 * (store kind "resource"), the one whose path pattern matches most specifically, else the
	 * built-in default (release only when the token has submodules and every one is affirming).
	 */
	enum cs_err err = CS_ERR_DENIED; /* default deny */
	const struct cs_refvals *rv = env != NULL ? env->rv : NULL;
	struct cs_rv_getter g = {rv != NULL ? rv->get : NULL, rv != NULL ? rv->ctx : NULL};
	struct cs_rv_source src = cs_rv_source_getter(&g, env != NULL ? env->now : 0);
	struct cs_resource_in in = {.claims = claims, .path = path, .query = query, .rv = &src};

	memset(d, 0, sizeof(*d));
	d->policy = -1;
	if (claims == NULL || path == NULL) {
		snprintf(d->reason, sizeof(d->reason), "no token claims or resource path");
		return err;
	}
	if (cs_policy_store_decide(env != NULL ? env->store : NULL, &in, d) == CS_OK && d->allow)
		err = CS_OK; /* the only line that grants release */
	else
		d->allow = false;
	return err;
}

/*
 * The built-in appraisal and resource policies (see appraise.h). Replaced by the policy engine.
 */
#include <stdio.h>
#include <string.h>

#include "attest/appraise.h"

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

/* AR4SI §2.3.3 tiers, as the ear crate's TrustClaim::tier computes them. */
static enum cs_ear_status
tier(int v)
{
	if (v >= -1 && v <= 1)
		return CS_EAR_NONE;
	if ((v >= 2 && v <= 31) || (v >= -32 && v <= -2))
		return CS_EAR_AFFIRMING;
	if ((v >= 32 && v <= 95) || (v >= -96 && v <= -33))
		return CS_EAR_WARNING;
	return CS_EAR_CONTRAINDICATED;
}

enum cs_ear_status
cs_tvec_status(const struct cs_tvec *tv)
{
	enum cs_ear_status s = CS_EAR_NONE;

	for (int i = 0; i < CS_TV_COUNT_; i++)
		if (tier(tv->v[i]) > s)
			s = tier(tv->v[i]);
	return s;
}

/* Rego's `x in query_reference_value(name)`: x equals a member of the array value. */
static int
rv_in(const struct cs_refvals *rv, const char *name, const json_t *x)
{
	json_t *v, *e;
	size_t i;
	int hit = 0;

	if (rv == NULL || rv->get == NULL || x == NULL)
		return 0;
	v = rv->get(rv->ctx, name);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) if (json_equal(e, x)) hit = 1;
	}
	json_decref(v);
	return hit;
}

/* The integer reference value of name (a number, or an array of exactly one number). */
static int
rv_int(const struct cs_refvals *rv, const char *name, json_int_t *out)
{
	json_t *v, *x;
	int ok = 0;

	if (rv == NULL || rv->get == NULL)
		return 0;
	v = rv->get(rv->ctx, name);
	x = json_is_array(v) && json_array_size(v) == 1 ? json_array_get(v, 0) : v;
	if (json_is_integer(x)) {
		*out = json_integer_value(x);
		ok = 1;
	}
	json_decref(v);
	return ok;
}

/* Trustee ear_default_policy_cpu.rego, block "Sample". */
static void
appraise_sample(const json_t *c, const struct cs_refvals *rv, struct cs_tvec *tv)
{
	const json_t *pv = json_object_get(c, "platform_version");
	json_int_t major, minor;

	if (rv_in(rv, "launch_digest", json_object_get(c, "launch_digest")))
		tv->v[CS_TV_EXECUTABLES] = 3;
	if (rv_in(rv, "svn", json_object_get(c, "svn")) && json_is_object(pv) &&
	    json_is_integer(json_object_get(pv, "major")) &&
	    json_is_integer(json_object_get(pv, "minor")) && rv_int(rv, "major_version", &major) &&
	    rv_int(rv, "minimum_minor_version", &minor) &&
	    json_integer_value(json_object_get(pv, "major")) == major &&
	    json_integer_value(json_object_get(pv, "minor")) >= minor)
		tv->v[CS_TV_HARDWARE] = 2;
	if (json_is_false(json_object_get(c, "debug")))
		tv->v[CS_TV_CONFIGURATION] = 2;
}

enum cs_err
cs_appraise(const struct cs_policy_env *env, const char *tee, const json_t *claims,
            struct cs_tvec *tv)
{
	const struct cs_refvals *rv = env != NULL ? env->rv : NULL;

	memset(tv, 0, sizeof(*tv));
	tv->v[CS_TV_EXECUTABLES] = 33;
	tv->v[CS_TV_HARDWARE] = 97;
	tv->v[CS_TV_CONFIGURATION] = 36;
	ENSURE(tee != NULL && json_is_object(claims), CS_ERR_INVAL);
	if (strcmp(tee, "sample") == 0)
		appraise_sample(claims, rv, tv);
	/* Other TEEs keep the defaults until their block is written: contraindicated. */
	return CS_OK;
}

enum cs_err
cs_decide_resource(const struct cs_policy_env *env, const json_t *claims, const char *path,
                   const json_t *query, char *reason, size_t reason_len)
{
	enum cs_err err = CS_ERR_DENIED; /* default deny */
	const json_t *submods, *m;
	const char *name;
	size_t count = 0;

	(void)env;
	(void)path;
	(void)query;
	if (reason_len > 0)
		reason[0] = '\0';
	submods = json_object_get(claims, "submods");
	if (!json_is_object(submods) || json_object_size(submods) == 0) {
		snprintf(reason, reason_len, "token has no submodules");
		return err;
	}
	json_object_foreach((json_t *)submods, name, m)
	{
		const char *st = json_string_value(json_object_get(m, "ear.status"));
		if (st == NULL || strcmp(st, "affirming") != 0) {
			snprintf(reason, reason_len,
			         "default policy: submodule %s is %s, not affirming", name,
			         st ? st : "without status");
			return err;
		}
		count++;
	}
	if (count == json_object_size(submods))
		err = CS_OK; /* the only line that grants release */
	return err;
}

/*
 * Appraisal (claims -> AR4SI trust vector -> EAR status) and the resource decision. Each is ONE
 * function so that the policy engine can later replace its body without touching any caller:
 *
 *   cs_appraise(tee, claims, refvals, &tv, &info)     the appraisal policy for one submodule
 *   cs_decide_resource(token claims, path, query, &d) the resource policy
 *
 * The built-in appraisal mirrors Trustee's ear_default_policy_cpu.rego for the TEEs custos has
 * (defaults executables 33, hardware 97, configuration 36, the rest 0). The built-in resource
 * policy is stricter than Trustee's default.rego: release only when the token has at least one
 * submodule and every submodule's ear.status is "affirming" (DESIGN.md §6).
 */
#ifndef CS_ATTEST_APPRAISE_H
#define CS_ATTEST_APPRAISE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "policy/policy.h"

/* AR4SI trustworthiness claims (draft-ietf-rats-ar4si §2.3), in EAR's member order. */
enum cs_tv_claim {
	CS_TV_INSTANCE_IDENTITY,
	CS_TV_CONFIGURATION,
	CS_TV_EXECUTABLES,
	CS_TV_FILE_SYSTEM,
	CS_TV_HARDWARE,
	CS_TV_RUNTIME_OPAQUE,
	CS_TV_STORAGE_OPAQUE,
	CS_TV_SOURCED_DATA,
	CS_TV_COUNT_
};

struct cs_tvec {
	int8_t v[CS_TV_COUNT_]; /* each -128..127; tiers as AR4SI §2.3.3 */
};

enum cs_ear_status {
	CS_EAR_NONE,            /* -1..1 */
	CS_EAR_AFFIRMING,       /* 2..31, -2..-32 */
	CS_EAR_WARNING,         /* 32..95, -33..-96 */
	CS_EAR_CONTRAINDICATED, /* 96..127, -97..-128 */
};

/* The EAR member name of a claim ("instance-identity", ...). */
const char *cs_tv_claim_name(enum cs_tv_claim c);
/* "none", "affirming", "warning", "contraindicated". */
const char *cs_ear_status_name(enum cs_ear_status s);
/* The worst tier over all claims (none < affirming < warning < contraindicated). */
enum cs_ear_status cs_tvec_status(const struct cs_tvec *tv);

/*
 * Reference values for appraisal: get returns the value of a name (owned; json_decref) or NULL
 * when there is none or it has expired. Trustee's query_reference_value.
 */
struct cs_refvals {
	json_t *(*get)(void *ctx, const char *name);
	void *ctx;
};

struct cs_store;

/*
 * What both policy functions may consult, all borrowed: the store (policies uploaded through the
 * admin API, kinds "resource" and "appraisal"; NULL: none), reference values (store first, then
 * the static configuration; NULL: none) and the evaluation time.
 */
struct cs_policy_env {
	struct cs_store *store;
	const struct cs_refvals *rv;
	int64_t now;
};

/* Which policy appraised, and why it failed (for the audit log; no secrets). */
struct cs_appraise_info {
	char policy_id[64];      /* the stored appraisal policy's id; "" for the built-in default */
	uint64_t policy_version; /* its version; 0 for the built-in */
	char reason[256];        /* "" when the policy evaluated; else why (fail-closed vector) */
};

/*
 * Appraises the claims (borrowed) a verifier produced for tee into *tv; *info (may be NULL) gets
 * the policy that decided. env may be NULL (no reference values: nothing can be recognised).
 * Unknown TEEs get the defaults (contraindicated).
 */
CS_MUST_USE enum cs_err cs_appraise(const struct cs_policy_env *env, const char *tee,
                                    const json_t *claims, struct cs_tvec *tv,
                                    struct cs_appraise_info *info);

/*
 * The resource decision for the verified token claims (borrowed), a resource path
 * "repo/type/tag" (already checked against the grammar) and the request query (an object of
 * string values, or NULL). CS_OK releases; CS_ERR_DENIED refuses. Either way *d holds the
 * decision: its reason (fixed text plus submodule names and statuses, never secrets), the
 * deciding rule and the deciding policy's store id and version ("" and 0: the built-in default).
 */
CS_MUST_USE enum cs_err cs_decide_resource(const struct cs_policy_env *env, const json_t *claims,
                                           const char *path, const json_t *query,
                                           struct cs_decision *d);

#endif

/*
 * Target: the policy compiler and evaluator. An input is policy source, optionally followed by a
 * NUL byte and a JSON claims object. Every policy either compiles or fails with a position; every
 * compiled policy evaluates within its budget (a small one here, so each input stays fast), and
 * the verdicts are consistent: CS_OK exactly when allowed, a failed appraisal fully
 * contraindicated.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "policy/policy.h"

#define BUDGET 20000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *
lookup(void *ctx, const char *name, size_t len, int64_t now)
{
	(void)ctx;
	(void)now;
	if (len > 0 && name[0] == 'x')
		return NULL;
	return json_pack("[sss]", "1", "abcd", name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t plen = nul ? (size_t)(nul - data) : size;
	struct cs_policy *p = NULL;
	struct cs_policy_diag d;
	json_t *claims = NULL, *query = json_pack("{ss}", "v", "1");
	struct cs_rv_source rv = {.lookup = lookup};
	enum cs_err e;

	e = cs_policy_compile((const char *)data, plen, &p, &d);
	if ((e == CS_OK) != (p != NULL))
		abort();
	if (e == CS_ERR_POLICY &&
	    (d.line == 0 || d.col == 0 || memchr(d.msg, '\0', sizeof(d.msg)) == NULL))
		abort();
	if (p == NULL)
		goto out;
	if (nul == NULL || cs_json_parse(nul + 1, size - plen - 1, 1 << 16, &claims) != CS_OK)
		claims = json_pack("{s{s{ss}}s[i]}", "submods", "cpu0", "ear.status", "affirming",
		                   "l", 1);
	if (cs_policy_kind(p) == CS_POLICY_RESOURCE) {
		struct cs_resource_in in = {.claims = claims,
		                            .path = "default/key/k",
		                            .query = query,
		                            .rv = &rv,
		                            .budget = BUDGET};
		struct cs_decision dec;
		e = cs_policy_eval_resource(p, &in, &dec);
		if ((e == CS_OK) != dec.allow || (e != CS_OK && e != CS_ERR_DENIED) ||
		    dec.steps > BUDGET || memchr(dec.reason, '\0', sizeof(dec.reason)) == NULL)
			abort();
	} else {
		struct cs_appraisal_in in = {
		        .claims = claims, .tee = "sample", .rv = &rv, .budget = BUDGET};
		struct cs_appraisal a;
		e = cs_policy_eval_appraisal(p, &in, &a);
		if (a.steps > BUDGET || (e == CS_OK && a.status != cs_policy_vector_tier(a.tv)))
			abort();
		if (e != CS_OK && a.status != CS_TIER_CONTRAINDICATED)
			abort();
		for (int i = 0; e != CS_OK && i < CS_AR4SI_COUNT; i++)
			if (a.tv[i] != CS_AR4SI_FAILED)
				abort();
	}
out:
	cs_policy_free(p);
	json_decref(claims);
	json_decref(query);
	return 0;
}

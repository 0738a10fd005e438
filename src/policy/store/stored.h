/*
 * The policy decisions over the policies in the store: the texts of a kind are read from the
 * store on every call (so that an update is effective on the next request), compiled through the
 * cache, and decided by cs_policy_decide / cs_policy_appraise. Above src/store in the build, so
 * that src/policy itself stays free of storage.
 *
 * Store kinds: "resource" (resource policies, any ids) and "appraisal" (appraisal policies).
 */
#ifndef CS_POLICY_STORED_H
#define CS_POLICY_STORED_H

#include "base/err.h"
#include "policy/policy.h"
#include "store/store.h"

#define CS_POLICY_KIND_RESOURCE "resource"
#define CS_POLICY_KIND_APPRAISAL "appraisal"

/*
 * cs_policy_decide over the latest version of every stored resource policy (s borrowed; NULL:
 * none stored, the built-in default decides). A store that cannot be read denies, with the reason
 * "policy store unavailable".
 */
CS_MUST_USE enum cs_err cs_policy_store_decide(struct cs_store *s, const struct cs_resource_in *in,
                                               struct cs_decision *out);

/*
 * cs_policy_appraise over the latest version of every stored appraisal policy (s borrowed; NULL:
 * the built-in default). A store that cannot be read fails closed (CS_ERR_STORE, every claim
 * CS_AR4SI_FAILED).
 */
CS_MUST_USE enum cs_err cs_policy_store_appraise(struct cs_store *s,
                                                 const struct cs_appraisal_in *in,
                                                 struct cs_appraisal *out);

#endif

/*
 * The attestation service inside custos-kbs: the ENABLED verifiers (by Trustee tee name; nothing
 * is enabled by default), the appraisal, and the EAR token signer. One call turns a parsed attest
 * request into a signed token.
 */
#ifndef CS_ATTEST_AS_H
#define CS_ATTEST_AS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/appraise.h"
#include "attest/ear.h"
#include "attest/rcar.h"
#include "base/buf.h"
#include "base/err.h"
#include "tee/tee.h"

#define CS_AS_MAX_TEES 16

struct cs_as_tee {
	const struct cs_tee_ops *ops; /* borrowed, static */
	void *state;                  /* owned verifier state */
};

struct cs_as {
	struct cs_as_tee tees[CS_AS_MAX_TEES];
	size_t ntees;
	const char *failed; /* after a failed cs_as_init: the TEE whose verifier refused, or NULL */
	struct cs_ear_signer signer;
	struct cs_refvals refvals; /* borrowed callbacks; get may be NULL */
	struct cs_store *store;    /* borrowed; policies for cs_appraise (NULL: none) */
	int64_t token_ttl;         /* seconds */
	const char *iss;           /* borrowed */
	const char *build;         /* borrowed */
};

/*
 * Enables the n named TEEs (each must exist in the registry: CS_ERR_CONFIG otherwise), creating
 * the verifier state of tees[i] from cfgs[i] (trust anchors and collateral differ per TEE: a
 * sim-* verifier takes its test roots), and loads the signing key from key_path (NULL:
 * ephemeral).
 * cs_as_fini releases everything, also after a failed init.
 */
CS_MUST_USE enum cs_err cs_as_init(struct cs_as *as, const char *const *tees, size_t n,
                                   const struct cs_verify_cfg *cfgs, const char *key_path);
void cs_as_fini(struct cs_as *as);

/* Whether tee is enabled. */
bool cs_as_enabled(const struct cs_as *as, const char *tee);

/*
 * Verifies req for tee at time now: tee must be enabled (CS_ERR_UNSUPPORTED), the report data is
 * recomputed from req and must be what the evidence binds (CS_ERR_BINDING from the verifier),
 * the init-data digest is computed when present; the claims are appraised and a token issued
 * into token (appended). *status gets the cpu0 status; *claims (may be NULL) returns the token's
 * claims owned; *info (may be NULL) gets the appraisal policy that decided (for the audit log).
 * The caller has already checked req->nonce against its session.
 */
CS_MUST_USE enum cs_err cs_as_attest(const struct cs_as *as, const char *tee,
                                     const struct cs_attest_req *req, int64_t now,
                                     struct cs_buf *token, enum cs_ear_status *status,
                                     json_t **claims, struct cs_appraise_info *info);

#endif

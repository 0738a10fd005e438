/*
 * EAR attestation tokens (draft-ietf-rats-ear) as Trustee's attestation service issues them: a JWT
 * signed ES256 whose claims are
 *
 *   {"eat_profile": "tag:github.com,2024:confidential-containers/Trustee",
 *    "iat": n, "exp": n, "iss": "<issuer>",
 *    "ear.verifier-id": {"developer": "...", "build": "..."},
 *    "submods": {"cpu0": {"ear.status": "affirming|warning|contraindicated|none",
 *                         "ear.trustworthiness-vector": {<8 AR4SI claims>},
 *                         "ear.appraisal-policy-id": "default" or the stored policy's id,
 *                         "ear.veraison.annotated-evidence": {
 *                             "<tee>": {verifier claims, minus report_data},
 *                             "report_data": "<hex of the 64-byte binding>",
 *                             "runtime_data_claims": {"nonce", "tee-pubkey"},
 *                             "init_data": "<hex>"?,
 *                             "init_data_claims": {<[data] of the init-data TOML>}?}}}}
 *
 * The resource endpoint finds the tee-pubkey at Trustee's JSON pointer
 * /submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey. Tokens stay small:
 * digests, never raw evidence (the additional-evidence string is bound through report_data, not
 * copied). The header carries "kid" (the RFC 7638 thumbprint) and "jwk", as Trustee's does.
 *
 * The signing key is a P-256 key persisted as PKCS#8 PEM in a 0600 file created on first use, and
 * published as a JWK set.
 */
#ifndef CS_ATTEST_EAR_H
#define CS_ATTEST_EAR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/appraise.h"
#include "base/buf.h"
#include "base/err.h"
#include "crypto/key.h"
#include "jose/jwk.h"

#define CS_EAR_PROFILE "tag:github.com,2024:confidential-containers/Trustee"
#define CS_EAR_MAX ((size_t)64 << 10) /* bytes of a token we accept back */

struct cs_ear_signer {
	struct cs_key *key; /* owned, private P-256 */
	struct cs_jwk pub;  /* the public JWK (alg ES256) */
	char kid[44];       /* base64url of the thumbprint */
	json_t *header;     /* owned: {"kid", "jwk"} merged into every token header */
};

/*
 * Loads the signing key from path, creating it (0600, O_EXCL, fsynced) when absent; refuses a
 * file with group/other permission bits (CS_ERR_CONFIG) or a key that is not P-256 (CS_ERR_KEY).
 * path NULL: an ephemeral key (tests). Initialises *s; cs_ear_signer_fini releases it.
 */
CS_MUST_USE enum cs_err cs_ear_signer_load(const char *path, struct cs_ear_signer *s);
void cs_ear_signer_fini(struct cs_ear_signer *s);

/* Appends the JWK set {"keys":[{..., "kid", "use":"sig", "alg":"ES256"}]} to out. */
CS_MUST_USE enum cs_err cs_ear_jwks(const struct cs_ear_signer *s, struct cs_buf *out);

/* One appraised submodule. Everything borrowed. */
struct cs_ear_submod {
	const char *name;     /* "cpu0" */
	const char *tee;      /* "sample", "snp", ... */
	const json_t *claims; /* the verifier's claims */
	struct cs_tvec tv;
	const uint8_t *report_data; /* CS_REPORT_DATA_LEN bytes, or NULL */
	const json_t *runtime_data; /* {"nonce", "tee-pubkey"}, or NULL */
	const uint8_t *init_data;   /* the init-data digest, or NULL */
	size_t init_data_len;
	const json_t *init_data_claims; /* the init-data's [data] table, or NULL */
	const char *policy_id;          /* the stored appraisal policy's id; NULL: "default" */
};

struct cs_ear_meta {
	int64_t iat;
	int64_t ttl;       /* seconds; exp = iat + ttl */
	const char *iss;   /* issuer name */
	const char *build; /* verifier-id build, e.g. "custos-kbs 0.1.0" */
};

/* Builds the claims set (returns owned) for n submodules. */
CS_MUST_USE enum cs_err cs_ear_claims(const struct cs_ear_meta *meta,
                                      const struct cs_ear_submod *mods, size_t n, json_t **out);

/* Signs claims (borrowed) and appends the JWT to out. */
CS_MUST_USE enum cs_err cs_ear_sign(const struct cs_ear_signer *s, const json_t *claims,
                                    struct cs_buf *out);

/*
 * Verifies a token: ES256 under OUR key only (never a key named in the token), exp required and
 * > now. Returns the claims owned. CS_ERR_EXPIRED, CS_ERR_SIGNATURE, CS_ERR_TOKEN, ...
 */
CS_MUST_USE enum cs_err cs_ear_verify(const struct cs_ear_signer *s, const char *tok, size_t n,
                                      int64_t now, json_t **claims);

/* The tee-pubkey JWK at Trustee's EAR path in claims (borrowed), or NULL. */
const json_t *cs_ear_tee_pubkey(const json_t *claims);

#endif

/*
 * The messages of the KBS protocol 0.4.0 (RCAR) that the broker parses, and the binding of the
 * challenge into the evidence, exactly as Trustee computes them (research/trustee.md §1):
 *
 *   auth:   {"version": "0.4.0", "tee": "<tee>", "extra-params": <any>}
 *   attest: {"init-data"?: {"format": "toml", "body": "<TOML>"} | null,
 *            "runtime-data": {"nonce": "<challenge nonce>", "tee-pubkey": <JWK>},
 *            "tee-evidence": {"primary_evidence": <any JSON>, "additional_evidence": "<string>"}}
 *   (outer keys kebab-case, the keys inside tee-evidence snake_case)
 *
 *   report data = SHA-384(JCS({"additional-evidence": <string verbatim, "" when absent>,
 *                              "nonce": <nonce>, "tee-pubkey": <JWK>})), zero-padded to 64 bytes
 *   device nonce = SHA-384(JCS({"nonce", "tee-pubkey"}))[0:32]
 *
 * The JWK is canonicalised as Trustee's kbs_types::TeePubKey re-serializes it: only its known
 * members (EC: kty, crv, alg, x, y; RSA: kty, alg, n, e), all required strings; extra members the
 * client sent are dropped, exactly as serde drops them on the Rust side.
 *
 * Parsers are pure: bytes in, caller-owned struct out.
 */
#ifndef CS_ATTEST_RCAR_H
#define CS_ATTEST_RCAR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "tee/tee.h"

#define CS_KBS_PROTOCOL_VERSION "0.4.0"
#define CS_RCAR_NONCE_LEN 32       /* random bytes of a challenge nonce */
#define CS_RCAR_TEE_MAX 31         /* characters of a tee name */
#define CS_RCAR_AUTH_MAX 65536     /* bytes of an auth body */
#define CS_RCAR_NONCE_TEXT_MAX 512 /* characters of runtime-data.nonce */
#define CS_INIT_DATA_MAX 65536     /* bytes of an init-data TOML body */
#define CS_DEVICE_NONCE_LEN 32

struct cs_auth_req {
	char version[16];              /* as sent (checked by the caller against 0.4.0) */
	char tee[CS_RCAR_TEE_MAX + 1]; /* Trustee's tee name */
};

/* Parses an auth body of at most CS_RCAR_AUTH_MAX bytes. extra-params may be any JSON value. */
CS_MUST_USE enum cs_err cs_auth_req_parse(const uint8_t *p, size_t n, struct cs_auth_req *out);

struct cs_attest_req {
	json_t *root;      /* owned: the parsed body; everything below borrows it */
	const char *nonce; /* runtime-data.nonce */
	size_t nonce_len;
	json_t *tee_pubkey;              /* owned: the canonical TeePubKey (see above) */
	const json_t *primary_evidence;  /* tee-evidence.primary_evidence */
	const char *additional_evidence; /* "" when absent */
	size_t additional_evidence_len;
	const char *init_data; /* init-data.body; NULL when absent or null */
	size_t init_data_len;
};

/*
 * Parses an attest body of at most max bytes into *out (the caller calls cs_attest_req_fini even
 * on failure). CS_ERR_JSON* for shape errors, CS_ERR_UNSUPPORTED for an init-data format other
 * than "toml", CS_ERR_KEY for a tee-pubkey without the members above.
 */
CS_MUST_USE enum cs_err cs_attest_req_parse(const uint8_t *p, size_t n, size_t max,
                                            struct cs_attest_req *out);
void cs_attest_req_fini(struct cs_attest_req *r);

/* Returns owned (*out) the canonical TeePubKey object for a JWK (borrowed). */
CS_MUST_USE enum cs_err cs_tee_pubkey_canon(const json_t *jwk, json_t **out);

/* The CPU report data for (additional_evidence, nonce, canonical tee_pubkey); 48 bytes of
 * SHA-384 followed by 16 zero bytes. */
CS_MUST_USE enum cs_err cs_report_data(const char *additional_evidence, size_t ae_len,
                                       const char *nonce, size_t nonce_len,
                                       const json_t *tee_pubkey, uint8_t out[CS_REPORT_DATA_LEN]);

/* The device (GPU SPDM) nonce: the first 32 bytes of SHA-384(JCS({nonce, tee-pubkey})). */
CS_MUST_USE enum cs_err cs_device_nonce(const char *nonce, size_t nonce_len,
                                        const json_t *tee_pubkey, uint8_t out[CS_DEVICE_NONCE_LEN]);

/*
 * The init-data digest: reads the top-level `version` and `algorithm` (sha256, sha384, sha512)
 * of the TOML body (nothing else of it) and hashes the body's raw bytes with that algorithm into
 * out; *len gets 32, 48 or 64. CS_ERR_UNSUPPORTED for another algorithm, CS_ERR_INVAL for TOML
 * this subset cannot read safely (a missing, duplicated or multi-line version/algorithm).
 */
CS_MUST_USE enum cs_err cs_init_data_digest(const char *body, size_t n, uint8_t out[64],
                                            size_t *len);

/*
 * init_data_claims (Trustee): the init-data TOML's [data] table as a JSON object of strings
 * (returns owned through *out; {} without a [data] table). Only a simple subset is read
 * (initdata.c: string values without escapes, single- and multi-line; the root table and [data]);
 * CS_ERR_UNSUPPORTED for TOML outside it, CS_ERR_INVAL for malformed TOML or a duplicate key,
 * CS_ERR_UTF8, CS_ERR_TOO_LARGE above CS_INIT_DATA_MAX. Nothing is ever guessed.
 */
CS_MUST_USE enum cs_err cs_init_data_claims(const char *body, size_t n, json_t **out);

#endif

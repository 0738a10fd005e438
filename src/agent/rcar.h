/*
 * The guest side of the KBS protocol 0.4.0 (RCAR: Request, Challenge, Attestation, Response),
 * byte-compatible with guest-components' kbs_protocol client (research/trustee.md §1-2):
 *
 *   POST /kbs/v0/auth {"version":"0.4.0","tee":T,"extra-params":{"supported-hash-algorithms":..}}
 *                        -> {"nonce", "extra-params"} + Set-Cookie kbs-session-id
 *   POST /kbs/v0/attest  {"runtime-data":{"nonce","tee-pubkey"},
 *                         "tee-evidence":{"primary_evidence":..,"additional_evidence":""}}
 *                        -> {"token": EAR JWT}
 *   GET  /kbs/v0/resource/<repo>/<type>/<tag> -> flattened JWE to the tee-pubkey
 *
 * Each attestation uses a fresh ephemeral EC P-256 key ("alg":"ECDH-ES+A256KW"); the report data
 * is H(JCS({"additional-evidence":"","nonce","tee-pubkey"})) zero-padded to 64 bytes, H being
 * SHA-384 unless the challenge selects another hash. A resource request answered 401 re-attests
 * and retries (at most CS_RCAR_MAX_TRIES requests in all); 404 is CS_ERR_NOT_FOUND and 403
 * CS_ERR_DENIED, with the server's reason in cs_rcar_detail().
 */
#ifndef CS_AGENT_RCAR_H
#define CS_AGENT_RCAR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/http.h"
#include "base/buf.h"
#include "base/err.h"
#include "crypto/hash.h"
#include "tee/tee.h"

#define CS_RCAR_VERSION "0.4.0"
#define CS_RCAR_MAX_TRIES 3
#define CS_RCAR_RESOURCE_MAX (1u << 20) /* largest secret accepted, as the KBS stores them */
#define CS_RCAR_TOKEN_MAX (256u * 1024) /* largest attestation token accepted */
#define CS_RCAR_DETAIL_MAX 256

struct cs_rcar_cfg {
	const char *kbs_url;          /* "http(s)://host:port", no trailing path; borrowed */
	const struct cs_tee_ops *tee; /* attester; borrowed */
	struct cs_http_cfg http;      /* TLS trust, pin, timeouts */
	const char *init_data;        /* init-data TOML, sent as {"format":"toml","body":...}, or
	                                 NULL; borrowed. Its digest is bound at launch (SNP
	                                 HOST_DATA, TDX MRCONFIGID), not by the agent. */
};

struct cs_rcar; /* opaque: HTTP connection, session cookie, token, ephemeral key */

/* Returns owned a client (no network traffic yet). */
CS_MUST_USE enum cs_err cs_rcar_new(const struct cs_rcar_cfg *cfg, struct cs_rcar **out);
/* Wipes the key, token and cookie; NULL is a no-op. */
void cs_rcar_free(struct cs_rcar *r);

/* Runs auth + attest with a fresh ephemeral key; on CS_OK a token is held. */
CS_MUST_USE enum cs_err cs_rcar_attest(struct cs_rcar *r);

/*
 * Fetches and decrypts the resource at path ("repo/type/tag", checked against the KBS path
 * grammar) and appends the plaintext to out (caller's cs_buf; wipe it when done). Attests first
 * when no valid token is held.
 */
CS_MUST_USE enum cs_err cs_rcar_get_resource(struct cs_rcar *r, const char *path,
                                             struct cs_buf *out);

/*
 * The held token (borrowed, NUL-terminated, valid until the next call on r) and its "exp"
 * (0 when it has none); NULL when no token is held.
 */
const char *cs_rcar_token(const struct cs_rcar *r, int64_t *exp);

/* Appends the PKCS#8 PEM of the ephemeral private key the token is bound to. */
CS_MUST_USE enum cs_err cs_rcar_key_pem(const struct cs_rcar *r, struct cs_buf *out);

/* The last error's reason from the server (RFC 7807 detail) or ""; borrowed. */
const char *cs_rcar_detail(const struct cs_rcar *r);

/* Drops the token and session (e.g. when it is about to expire). */
void cs_rcar_forget(struct cs_rcar *r);

/*
 * The report data for a runtime-data object: H(JCS({"additional-evidence": ae, "nonce": nonce,
 * "tee-pubkey": jwk})) zero-padded into out (CS_REPORT_DATA_LEN bytes). Borrows its inputs.
 */
CS_MUST_USE enum cs_err cs_rcar_report_data(enum cs_hash h, const char *nonce,
                                            const json_t *tee_pubkey, const char *ae,
                                            uint8_t out[CS_REPORT_DATA_LEN]);

/*
 * Parses a challenge {"nonce": <non-empty string>, "extra-params": "" | {...}} of at most 64 KiB:
 * returns the nonce owned (free) and the hash the report data must use (SHA-384 unless
 * extra-params selects sha256/sha384/sha512 by "selected-hash-algorithm"; another name is
 * CS_ERR_UNSUPPORTED).
 */
CS_MUST_USE enum cs_err cs_rcar_parse_challenge(const uint8_t *p, size_t n, char **nonce,
                                                enum cs_hash *h);

/* Checks "repo/type/tag": three segments of [A-Za-z0-9_.-], not starting with '.'. */
CS_MUST_USE enum cs_err cs_rcar_check_path(const char *path);

/*
 * Decodes the payload of a compact JWT without verifying it (for exp and display). Owned.
 * CS_ERR_TOKEN unless the token is three dot-separated base64url parts and nothing else.
 */
CS_MUST_USE enum cs_err cs_rcar_peek_claims(const char *tok, size_t n, json_t **claims);

#endif

/*
 * JSON Web Signature, compact serialization only (RFC 7515 §7.1), for the algorithms custos'
 * protocols use: ES256 (EAR tokens), ES384, ES512, EdDSA with Ed25519 (RFC 8037; admin tokens),
 * RS256 and PS256. The verifier is given an allow-list and one key: the header's "alg" must be in
 * the allow-list AND fit the key (ES256 only with a P-256 key, RS256/PS256 only with RSA of at
 * least 2048 bits, ...), so "none", HMAC with a public key as the secret, and key confusion are
 * impossible by construction. "crit" is refused (we understand no extension), as is any
 * non-canonical base64url.
 */
#ifndef CS_JOSE_JWS_H
#define CS_JOSE_JWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/key.h"

/* Bit flags, so that an allow-list is their OR. */
enum cs_jws_alg {
	CS_JWS_ES256 = 1u << 0,
	CS_JWS_ES384 = 1u << 1,
	CS_JWS_ES512 = 1u << 2,
	CS_JWS_EDDSA = 1u << 3,
	CS_JWS_RS256 = 1u << 4,
	CS_JWS_PS256 = 1u << 5,
};

#define CS_JWS_MAX_DEFAULT (1u << 20) /* bytes of a token, when the caller passes 0 */
#define CS_JWS_HEADER_MAX 65536       /* bytes of the decoded protected header */
#define CS_RSA_MIN_BITS 2048          /* smaller RSA keys are refused for signing and encryption */

/* "ES256" etc.; NULL for a value that is not exactly one flag. */
const char *cs_jws_alg_name(enum cs_jws_alg alg);
/* Parses an alg name (s, n); CS_ERR_ALG for anything not in the list above. */
CS_MUST_USE enum cs_err cs_jws_alg_from_name(const char *s, size_t n, enum cs_jws_alg *alg);
/* The one algorithm a key can sign with when the caller does not choose (EC by curve, Ed25519
 * EdDSA, RSA RS256). */
CS_MUST_USE enum cs_err cs_jws_alg_for_key(const struct cs_key *k, enum cs_jws_alg *alg);

/*
 * Signs (p, n) with k and appends the compact JWS to out. The protected header is {"alg":...}
 * merged with extra (borrowed, may be NULL; its "alg" is overridden), serialized canonically.
 * CS_ERR_ALG when alg does not fit the key.
 */
CS_MUST_USE enum cs_err cs_jws_sign(enum cs_jws_alg alg, const struct cs_key *k,
                                    const json_t *extra, const uint8_t *p, size_t n,
                                    struct cs_buf *out);

/*
 * Verifies the compact JWS (tok, n) with k, accepting only algorithms in allow (an OR of flags).
 * max bounds n (0: CS_JWS_MAX_DEFAULT). On success appends the payload to payload, and when
 * header != NULL returns the parsed protected header owned; *alg_out (may be NULL) gets the alg.
 * Errors: CS_ERR_TOO_LARGE, CS_ERR_ENCODING, CS_ERR_JSON*, CS_ERR_PROTOCOL (shape),
 * CS_ERR_ALG (not allowed or not fitting the key), CS_ERR_UNSUPPORTED (crit), CS_ERR_SIGNATURE.
 */
CS_MUST_USE enum cs_err cs_jws_verify(const char *tok, size_t n, size_t max, unsigned allow,
                                      const struct cs_key *k, struct cs_buf *payload,
                                      json_t **header, enum cs_jws_alg *alg_out);

/*
 * Decodes the protected header WITHOUT verifying anything (returns owned), so a caller can choose
 * the key by "kid" or "jwk" before calling cs_jws_verify. Nothing in it may be trusted.
 */
CS_MUST_USE enum cs_err cs_jws_peek_header(const char *tok, size_t n, size_t max, json_t **header);

#endif

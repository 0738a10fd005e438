/*
 * JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2): parse, emit the public part, thumbprint.
 * Allow-listed: kty EC (crv P-256, P-384, P-521; coordinates of exactly the curve's length),
 * RSA (n, e, and optionally all of d, p, q, dp, dq, qi), OKP (crv Ed25519) and oct (a secret of
 * 1..CS_JWK_OCT_MAX bytes, wiped on fini). Anything else is CS_ERR_UNSUPPORTED. The optional
 * "alg" member is kept: Trustee's tee-pubkey names the key-management algorithm there
 * ("ECDH-ES+A256KW", "RSA-OAEP-256", "RSA1_5"), and JOSE operations refuse an algorithm that
 * differs from the key's own.
 */
#ifndef CS_JOSE_JWK_H
#define CS_JOSE_JWK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/key.h"

#define CS_JWK_OCT_MAX 64     /* bytes of a symmetric key */
#define CS_JWK_ALG_MAX 31     /* characters of the "alg" member */
#define CS_JWK_TEXT_MAX 16384 /* bytes of a JWK's JSON text */

enum cs_jwk_kty {
	CS_JWK_EC,
	CS_JWK_RSA,
	CS_JWK_OKP,
	CS_JWK_OCT,
};

struct cs_jwk {
	enum cs_jwk_kty kty;
	struct cs_key *key;          /* owned; NULL for oct */
	uint8_t oct[CS_JWK_OCT_MAX]; /* secret for oct, wiped by cs_jwk_fini */
	size_t oct_len;
	char alg[CS_JWK_ALG_MAX + 1]; /* "" when the JWK has no "alg" */
};

/* An empty JWK (no key); cs_jwk_fini on it is a no-op. */
void cs_jwk_init(struct cs_jwk *jwk);
/* Wipes the secret, frees the key; the struct may be reused after cs_jwk_init. */
void cs_jwk_fini(struct cs_jwk *jwk);

/*
 * Parses a JWK object (borrows obj) into *out (initialised here; the caller finis it even on
 * failure). Private members are read when present; "use", "key_ops", "kid", "x5c" and other
 * members are ignored. EC points are checked to be on the curve.
 */
CS_MUST_USE enum cs_err cs_jwk_parse(const json_t *obj, struct cs_jwk *out);
/* Same, from JSON text of at most CS_JWK_TEXT_MAX bytes. */
CS_MUST_USE enum cs_err cs_jwk_parse_text(const uint8_t *p, size_t n, struct cs_jwk *out);

/* Makes a JWK around a key (takes key: on failure it is freed and *out left empty); alg may be
 * NULL, else at most CS_JWK_ALG_MAX characters (CS_ERR_UNSUPPORTED). */
CS_MUST_USE enum cs_err cs_jwk_from_key(struct cs_key *key, const char *alg, struct cs_jwk *out);
/* Makes an oct JWK from n secret bytes (copied); alg may be NULL. */
CS_MUST_USE enum cs_err cs_jwk_from_oct(const uint8_t *k, size_t n, const char *alg,
                                        struct cs_jwk *out);

/*
 * Returns owned (json_decref) the public JWK: the required members of RFC 7638 §3.2 for its kty
 * plus "alg" when set. CS_ERR_KEY for oct (a symmetric key has no public part).
 */
CS_MUST_USE enum cs_err cs_jwk_public_json(const struct cs_jwk *jwk, json_t **out);
/* Appends the public JWK serialized canonically (RFC 8785: sorted, no whitespace). */
CS_MUST_USE enum cs_err cs_jwk_public_text(const struct cs_jwk *jwk, struct cs_buf *out);
/*
 * Returns owned the private JWK (all members, secrets included) for tests and tools that hand a
 * key to another JOSE implementation; CS_ERR_KEY when the key has no private part.
 */
CS_MUST_USE enum cs_err cs_jwk_private_json(const struct cs_jwk *jwk, json_t **out);

/* RFC 7638 thumbprint: SHA-256 of the required members, canonical. oct included. */
CS_MUST_USE enum cs_err cs_jwk_thumbprint(const struct cs_jwk *jwk, uint8_t out[32]);

#endif

/*
 * Asymmetric keys: EC P-256/P-384/P-521, RSA, Ed25519, in one opaque type over EVP_PKEY.
 * Conversions to and from the raw parts JWKs carry (big-endian, fixed-length coordinates) live
 * here so that JOSE never touches OpenSSL's key objects.
 */
#ifndef CS_CRYPTO_KEY_H
#define CS_CRYPTO_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

enum cs_key_type {
	CS_KEY_EC_P256,
	CS_KEY_EC_P384,
	CS_KEY_EC_P521,
	CS_KEY_RSA,
	CS_KEY_ED25519,
};

struct cs_key; /* opaque; wraps an EVP_PKEY */

/* Byte length of one EC coordinate / scalar: 32, 48, 66; 0 for other types. */
size_t cs_key_ec_coord_len(enum cs_key_type t);

/* Generates a fresh key; rsa_bits is used only for CS_KEY_RSA (2048..8192). Returns owned. */
CS_MUST_USE enum cs_err cs_key_generate(enum cs_key_type t, unsigned rsa_bits, struct cs_key **out);

void cs_key_free(struct cs_key *k);
enum cs_key_type cs_key_type(const struct cs_key *k);
bool cs_key_has_private(const struct cs_key *k);
/* RSA modulus size in bits; 0 for other types. */
unsigned cs_key_rsa_bits(const struct cs_key *k);

/*
 * PEM (PKCS#8 / SubjectPublicKeyInfo / traditional) or DER, public or private. Returns owned.
 * Other curves and key types are CS_ERR_UNSUPPORTED; RSA moduli outside 2048..16384 bits,
 * encrypted PEM (no passphrase is ever asked for) and malformed input are CS_ERR_KEY; DER with
 * trailing bytes is CS_ERR_TRAILING. The same RSA size rule holds for every other constructor.
 */
CS_MUST_USE enum cs_err cs_key_from_pem(const uint8_t *p, size_t n, struct cs_key **out);
CS_MUST_USE enum cs_err cs_key_from_der(const uint8_t *p, size_t n, struct cs_key **out);
/* Appends PEM: PKCS#8 when the private part is present and want_private, else SPKI. */
CS_MUST_USE enum cs_err cs_key_to_pem(const struct cs_key *k, bool want_private,
                                      struct cs_buf *out);
/* Appends the DER SubjectPublicKeyInfo. */
CS_MUST_USE enum cs_err cs_key_to_spki_der(const struct cs_key *k, struct cs_buf *out);

/*
 * EC from raw coordinates (each exactly cs_key_ec_coord_len bytes, big-endian); d may be NULL for a
 * public key. The point is checked to lie on the curve. Returns owned.
 */
CS_MUST_USE enum cs_err cs_key_ec_from_raw(enum cs_key_type t, const uint8_t *x, size_t xlen,
                                           const uint8_t *y, size_t ylen, const uint8_t *d,
                                           size_t dlen, struct cs_key **out);
/* Writes fixed-length x, y (and d if d != NULL: the scalar, or zeros for a public key) of
 * cs_key_ec_coord_len bytes each. */
CS_MUST_USE enum cs_err cs_key_ec_to_raw(const struct cs_key *k, uint8_t *x, uint8_t *y,
                                         uint8_t *d);

/* RSA parts, big-endian, leading zeros allowed. Private parts may all be NULL. */
struct cs_rsa_parts {
	const uint8_t *n, *e, *d, *p, *q, *dp, *dq, *qi;
	size_t n_len, e_len, d_len, p_len, q_len, dp_len, dq_len, qi_len;
};
CS_MUST_USE enum cs_err cs_key_rsa_from_parts(const struct cs_rsa_parts *parts,
                                              struct cs_key **out);
/* Appends the minimal big-endian n and e (and, if priv != NULL and the key is private, the rest
 * to priv as d|p|q|dp|dq|qi, each preceded by a u32be length). */
CS_MUST_USE enum cs_err cs_key_rsa_to_parts(const struct cs_key *k, struct cs_buf *n,
                                            struct cs_buf *e, struct cs_buf *priv);

/* Ed25519 from 32-byte raw public and optional 32-byte private seed. Returns owned. */
CS_MUST_USE enum cs_err cs_key_ed25519_from_raw(const uint8_t *pub, size_t publen,
                                                const uint8_t *priv, size_t privlen,
                                                struct cs_key **out);
/* priv may be NULL; for a public key it receives zeros. */
CS_MUST_USE enum cs_err cs_key_ed25519_to_raw(const struct cs_key *k, uint8_t pub[32],
                                              uint8_t priv[32]);

/* Whether a and b hold the same public key. */
bool cs_key_public_eq(const struct cs_key *a, const struct cs_key *b);

/* The underlying EVP_PKEY (borrowed), for the other crypto modules only. */
void *cs_key_evp(const struct cs_key *k);

#endif

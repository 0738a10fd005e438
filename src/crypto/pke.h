/* Public-key encryption and key agreement: ECDH, RSA-OAEP-256, RSAES-PKCS1-v1_5. */
#ifndef CS_CRYPTO_PKE_H
#define CS_CRYPTO_PKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/key.h"

/* Ephemeral-static ECDH: appends the shared secret (the x coordinate, coordinate length bytes).
 * Both keys must be on the same curve; peer's point is validated. */
CS_MUST_USE enum cs_err cs_ecdh(const struct cs_key *priv, const struct cs_key *peer,
                                struct cs_buf *z);

/* RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label. */
CS_MUST_USE enum cs_err cs_rsa_oaep256_encrypt(const struct cs_key *k, const uint8_t *pt, size_t n,
                                               struct cs_buf *ct);
CS_MUST_USE enum cs_err cs_rsa_oaep256_decrypt(const struct cs_key *k, const uint8_t *ct, size_t n,
                                               struct cs_buf *pt);

/* RSAES-PKCS1-v1_5 encryption. */
CS_MUST_USE enum cs_err cs_rsa_pkcs1_encrypt(const struct cs_key *k, const uint8_t *pt, size_t n,
                                             struct cs_buf *ct);
/*
 * RSAES-PKCS1-v1_5 decryption of a key of exactly key_len bytes, resistant to Bleichenbacher's
 * attack (RFC 7516 §11.5): the result is always key_len bytes in out, either the real key or,
 * when the padding is bad or the length differs, fallback (which the caller fills with random
 * bytes beforehand); which one is chosen is not observable in timing or in the return value.
 */
CS_MUST_USE enum cs_err cs_rsa_pkcs1_decrypt_key(const struct cs_key *k, const uint8_t *ct,
                                                 size_t n, const uint8_t *fallback, size_t key_len,
                                                 uint8_t *out);

/*
 * Ephemeral-static ECDH (JWE ECDH-ES, sender side): generates a fresh key on peer's curve,
 * writes its public coordinates to x and y (cs_key_ec_coord_len bytes each, big-endian), appends
 * Z = ECDH(eph, peer) (the x coordinate of the shared point) to z, and forgets the ephemeral
 * private key. peer must be P-256, P-384 or P-521 and is checked to be on its curve. Same result
 * as cs_key_generate + cs_ecdh + cs_key_ec_to_raw, about twice as fast (ecdh_eph.c says why).
 */
CS_MUST_USE enum cs_err cs_ecdh_ephemeral(const struct cs_key *peer, uint8_t *x, uint8_t *y,
                                          struct cs_buf *z);

/*
 * ECDH with the peer given as raw coordinates (JWE ECDH-ES, recipient side: the header's "epk"):
 * appends Z = ECDH(priv, (x, y)) to z. x and y are cs_key_ec_coord_len bytes each, big-endian,
 * on priv's curve (P-256, P-384 or P-521); CS_ERR_KEY when they are not a point of that curve.
 * Same result as cs_key_ec_from_raw + cs_ecdh, about twice as fast (ecdh_eph.c says why).
 */
CS_MUST_USE enum cs_err cs_ecdh_raw_peer(const struct cs_key *priv, const uint8_t *x, size_t xlen,
                                         const uint8_t *y, size_t ylen, struct cs_buf *z);

#endif

/* Key derivation: HKDF (RFC 5869) and the Concat KDF of NIST SP 800-56A §5.8.1 (JWE ECDH-ES). */
#ifndef CS_CRYPTO_KDF_H
#define CS_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/hash.h"

CS_MUST_USE enum cs_err cs_hkdf(enum cs_hash h, const uint8_t *salt, size_t salt_len,
                                const uint8_t *ikm, size_t ikm_len, const uint8_t *info,
                                size_t info_len, uint8_t *out, size_t out_len);

/*
 * Concat KDF with SHA-256 as RFC 7518 §4.6.2 uses it: otherinfo = AlgorithmID || PartyUInfo ||
 * PartyVInfo (each a u32be length then the bytes) || SuppPubInfo (keydatalen in bits, u32be).
 * out_len bytes of key material.
 */
CS_MUST_USE enum cs_err cs_concat_kdf(const uint8_t *z, size_t z_len, const uint8_t *alg_id,
                                      size_t alg_id_len, const uint8_t *apu, size_t apu_len,
                                      const uint8_t *apv, size_t apv_len, uint8_t *out,
                                      size_t out_len);

#endif

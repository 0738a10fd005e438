/*
 * Interop: reading (never writing) KServe's JWE-encrypted model files — compact serialization,
 * alg "dir", enc "A256GCM", the key being the CDH resource named by CONFIDENTIAL_RESOURCE_ID — so
 * that models sealed for KServe's storage initializer can be served or resealed into the custos
 * format (docs/sealed-format.md §7). A JWE is one GCM message: it is decrypted whole, in memory,
 * and released only after its tag verifies.
 */
#ifndef CS_SEAL_KSERVE_H
#define CS_SEAL_KSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Largest JWE text accepted (its plaintext is 3/4 of it, held in memory). */
#define CS_KSERVE_JWE_MAX (UINT64_C(64) << 30)

/* Whether (p, n) starts like a compact JWE ("eyJ", base64url of '{"'). */
int cs_kserve_is_jwe(const uint8_t *p, size_t n);

/*
 * The 32-byte content key from a CDH resource's bytes as KServe's decryptor reads them: a JSON
 * oct JWK ({"kty":"oct","k":...}); else text that is the base64url of the key; else the raw key.
 * CS_ERR_KEY when none of these gives 32 bytes.
 */
CS_MUST_USE enum cs_err cs_kserve_key(const uint8_t *res, size_t n, uint8_t key[32]);

/*
 * Decrypts the compact JWE (jwe, n) with key into a fresh private anonymous mapping (excluded from
 * core dumps), returned owned through *out / *len (release with cs_seal_unmap). Only dir/A256GCM
 * is accepted (CS_ERR_ALG otherwise); CS_ERR_DECRYPT when the tag does not verify.
 */
CS_MUST_USE enum cs_err cs_kserve_jwe_decrypt(const uint8_t *jwe, size_t n, const uint8_t key[32],
                                              void **out, size_t *len);

#endif

/* Helpers shared by the src/crypto modules only; no other area includes this header. */
#ifndef CS_CRYPTO_INTERNAL_H
#define CS_CRYPTO_INTERNAL_H

#include <openssl/evp.h>

#include "crypto/hash.h"
#include "crypto/key.h"

/* The EVP_MD for h (static, never freed); NULL for an unknown value. */
const EVP_MD *cs_hash_md(enum cs_hash h);

/* Wraps an EVP_PKEY into a cs_key; takes pkey (freed on failure). Returns owned. */
enum cs_err cs_key_wrap_evp(EVP_PKEY *pkey, struct cs_key **out);

/*
 * The branch-free PKCS#1 v1.5 padding check and select of cs_rsa_pkcs1_decrypt_key, on the raw
 * RSA result em of klen bytes: out (key_len bytes, holding the fallback) receives M if the
 * padding is valid and M is exactly key_len bytes, else keeps the fallback. Requires
 * klen >= key_len + 11.
 */
void cs_pkcs1_v15_select(const uint8_t *em, size_t klen, size_t key_len, uint8_t *out);

#endif

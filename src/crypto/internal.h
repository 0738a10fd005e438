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

#endif

/* Helpers shared by the src/crypto modules only; no other area includes this header. */
#ifndef CS_CRYPTO_INTERNAL_H
#define CS_CRYPTO_INTERNAL_H

#include <stdbool.h>

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

/*
 * Pools of initialized EVP_PKEY_CTX (ctxpool.c): one free list per use, so that repeated
 * operations with one key skip OpenSSL's per-call fetches and setup. A taken context belongs to
 * its taker alone until given back; ok false frees it instead (after a failed operation).
 */
enum cs_ctx_use {
	CS_CTX_CHECK,      /* no operation: EVP_PKEY_public_check_quick */
	CS_CTX_KEYGEN,     /* keygen from a parameter template */
	CS_CTX_ECDSA_SIGN, /* EVP_PKEY_sign over a digest */
	CS_CTX_ECDSA_VERIFY,
	CS_CTX_DERIVE, /* ECDH with this key as the private side; set the peer per call */
	CS_CTX_RSA_OAEP256_ENC,
	CS_CTX_RSA_PKCS1_ENC,
	CS_CTX_RSA_PKCS1_VERIFY_SHA256, /* the three in enum cs_hash order */
	CS_CTX_RSA_PKCS1_VERIFY_SHA384,
	CS_CTX_RSA_PKCS1_VERIFY_SHA512,
	CS_CTX_RSA_PSS_VERIFY_SHA256, /* MGF1 with the same hash, salt of the hash length */
	CS_CTX_RSA_PSS_VERIFY_SHA384,
	CS_CTX_RSA_PSS_VERIFY_SHA512,
	CS_CTX_USES
};
struct cs_ctx_pool;
struct cs_pctx;

/* A pool over pkey (borrowed: it must outlive the pool). Returns owned; NULL if out of memory. */
struct cs_ctx_pool *cs_ctx_pool_new(EVP_PKEY *pkey);
void cs_ctx_pool_free(struct cs_ctx_pool *p);
/* A context initialized for use, from the pool or new; NULL on failure. */
struct cs_pctx *cs_ctx_take(struct cs_ctx_pool *p, enum cs_ctx_use use);
/* Gives c back (takes it); ok false, or a full list, frees it. */
void cs_ctx_give(struct cs_ctx_pool *p, enum cs_ctx_use use, struct cs_pctx *c, bool ok);
EVP_PKEY_CTX *cs_pctx_get(const struct cs_pctx *c);
/* Whether the pool's key passed the quick public check (a key never changes: checked once). */
bool cs_ctx_pool_checked(struct cs_ctx_pool *p);
void cs_ctx_pool_set_checked(struct cs_ctx_pool *p);

/* The key's pool (created with the key; NULL only if that allocation failed). */
struct cs_ctx_pool *cs_key_pool(const struct cs_key *k);

/*
 * The per-curve parameter template of an EC key type (key.c; built once, never freed), and the
 * checked public key at an uncompressed SEC 1 point on that curve (returns owned).
 */
EVP_PKEY *cs_ec_template(enum cs_key_type t);
enum cs_err cs_ec_public_from_point(enum cs_key_type t, const uint8_t *point, size_t len,
                                    EVP_PKEY **out);

#endif

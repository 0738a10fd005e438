/* Hashes and HMAC (OpenSSL 3 EVP). */
#ifndef CS_CRYPTO_HASH_H
#define CS_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum cs_hash {
	CS_SHA256,
	CS_SHA384,
	CS_SHA512,
};

#define CS_HASH_MAX_LEN 64

/* Digest length in bytes: 32, 48 or 64. */
size_t cs_hash_len(enum cs_hash h);

/* One-shot digest of (p, n) into out (cs_hash_len(h) bytes). */
CS_MUST_USE enum cs_err cs_hash(enum cs_hash h, const uint8_t *p, size_t n, uint8_t *out);

/* Streaming digest; a context is owned by its user and released with cs_hash_fini. */
struct cs_hash_ctx {
	void *md_ctx; /* owned EVP_MD_CTX */
	enum cs_hash h;
};

CS_MUST_USE enum cs_err cs_hash_init(struct cs_hash_ctx *c, enum cs_hash h);
CS_MUST_USE enum cs_err cs_hash_update(struct cs_hash_ctx *c, const uint8_t *p, size_t n);
/* Writes the digest and releases the context. */
CS_MUST_USE enum cs_err cs_hash_final(struct cs_hash_ctx *c, uint8_t *out);
/* Releases a context without finishing it; safe after cs_hash_final. */
void cs_hash_fini(struct cs_hash_ctx *c);

/* HMAC of (p, n) under key into out (cs_hash_len(h) bytes). */
CS_MUST_USE enum cs_err cs_hmac(enum cs_hash h, const uint8_t *key, size_t klen, const uint8_t *p,
                                size_t n, uint8_t *out);

#endif

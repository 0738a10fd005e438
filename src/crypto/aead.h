/*
 * AES-256-GCM (one-shot and streaming, 12-byte IV, 16-byte tag) and AES key wrap (RFC 3394,
 * default IV). Decryption releases plaintext only after the tag verifies: the one-shot open writes
 * to the caller's buffer and wipes it on failure; the streaming open's caller must not use what
 * cs_gcm_update produced until cs_gcm_open_final returns CS_OK.
 */
#ifndef CS_CRYPTO_AEAD_H
#define CS_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CS_GCM_KEY_LEN 32
#define CS_GCM_IV_LEN 12
#define CS_GCM_TAG_LEN 16

/* ct may equal pt (in place). ct receives n bytes. */
CS_MUST_USE enum cs_err cs_gcm_seal(const uint8_t key[CS_GCM_KEY_LEN],
                                    const uint8_t iv[CS_GCM_IV_LEN], const uint8_t *aad,
                                    size_t aad_len, const uint8_t *pt, size_t n, uint8_t *ct,
                                    uint8_t tag[CS_GCM_TAG_LEN]);
/* pt may equal ct. On failure (CS_ERR_DECRYPT) the n bytes at pt are wiped. */
CS_MUST_USE enum cs_err cs_gcm_open(const uint8_t key[CS_GCM_KEY_LEN],
                                    const uint8_t iv[CS_GCM_IV_LEN], const uint8_t *aad,
                                    size_t aad_len, const uint8_t *ct, size_t n,
                                    const uint8_t tag[CS_GCM_TAG_LEN], uint8_t *pt);

/*
 * Streaming GCM: init, aad (any number of times, before any update), update, then seal_final or
 * open_final. The context owns an EVP_CIPHER_CTX; cs_gcm_fini releases it (safe to repeat).
 * A context may be re-keyed with cs_gcm_init again after final, reusing its allocation.
 * Zero-initialize the struct before its first cs_gcm_init (struct cs_gcm g = {0}): a non-NULL ctx
 * is taken to be an allocation to reuse. A failed cs_gcm_init leaves it released.
 */
struct cs_gcm {
	void *ctx;   /* owned EVP_CIPHER_CTX */
	int encrypt; /* 1 seal, 0 open */
};

CS_MUST_USE enum cs_err cs_gcm_init(struct cs_gcm *g, int encrypt,
                                    const uint8_t key[CS_GCM_KEY_LEN],
                                    const uint8_t iv[CS_GCM_IV_LEN]);
CS_MUST_USE enum cs_err cs_gcm_aad(struct cs_gcm *g, const uint8_t *aad, size_t n);
CS_MUST_USE enum cs_err cs_gcm_update(struct cs_gcm *g, const uint8_t *in, size_t n, uint8_t *out);
CS_MUST_USE enum cs_err cs_gcm_seal_final(struct cs_gcm *g, uint8_t tag[CS_GCM_TAG_LEN]);
CS_MUST_USE enum cs_err cs_gcm_open_final(struct cs_gcm *g, const uint8_t tag[CS_GCM_TAG_LEN]);
void cs_gcm_fini(struct cs_gcm *g);

/* RFC 3394 AES key wrap with a 256-bit KEK: out gets n + 8 bytes; n a multiple of 8, >= 16. */
CS_MUST_USE enum cs_err cs_aes_kw_wrap(const uint8_t kek[32], const uint8_t *in, size_t n,
                                       uint8_t *out);
/* out gets n - 8 bytes; CS_ERR_DECRYPT when the integrity check fails. */
CS_MUST_USE enum cs_err cs_aes_kw_unwrap(const uint8_t kek[32], const uint8_t *in, size_t n,
                                         uint8_t *out);

#endif

/*
 * Key agreement and RSA encryption over EVP. The RSAES-PKCS1-v1_5 key decryption does its own
 * padding check on the raw RSA result: OpenSSL 3.0 (Debian 12) has no implicit rejection, and its
 * PKCS#1 decryption reports bad padding through a return value and the error queue, both of
 * which branch. Here the only data-dependent work is arithmetic on masks.
 */
#include "crypto/pke.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "base/secret.h"
#include "crypto/internal.h"

enum cs_err
cs_ecdh(const struct cs_key *priv, const struct cs_key *peer, struct cs_buf *z)
{
	enum cs_err err = CS_ERR_KEY;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t secret[66];
	size_t len = sizeof(secret), cl;

	ENSURE(priv != NULL && peer != NULL && z != NULL, CS_ERR_INVAL);
	cl = cs_key_ec_coord_len(cs_key_type(priv));
	ENSURE(cl != 0 && cs_key_type(peer) == cs_key_type(priv), CS_ERR_KEY);
	ENSURE(cs_key_has_private(priv), CS_ERR_KEY);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(priv), NULL);
	ENSURE(ctx != NULL, CS_ERR_NOMEM);
	if (EVP_PKEY_derive_init(ctx) != 1)
		goto out;
	/* validate_peer = 1: the peer's point is fully checked (on curve, in the subgroup). */
	if (EVP_PKEY_derive_set_peer_ex(ctx, cs_key_evp(peer), 1) != 1)
		goto out;
	err = CS_ERR_CRYPTO;
	if (EVP_PKEY_derive(ctx, secret, &len) != 1 || len != cl)
		goto out;
	err = cs_buf_append(z, secret, len);
out:
	cs_wipe(secret, sizeof(secret));
	EVP_PKEY_CTX_free(ctx);
	return err;
}

/* An encrypt or decrypt context on k with the given RSA padding (OAEP: SHA-256 and MGF1-SHA-256).
 */
static EVP_PKEY_CTX *
rsa_ctx(const struct cs_key *k, bool encrypt, int pad)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(k), NULL);

	if (ctx == NULL)
		return NULL;
	if ((encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
		goto fail;
	if (pad == RSA_PKCS1_OAEP_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, cs_hash_md(CS_SHA256)) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, cs_hash_md(CS_SHA256)) != 1))
		goto fail;
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

static enum cs_err
rsa_encrypt(const struct cs_key *k, int pad, const uint8_t *pt, size_t n, struct cs_buf *ct)
{
	enum cs_ctx_use use =
	        pad == RSA_PKCS1_OAEP_PADDING ? CS_CTX_RSA_OAEP256_ENC : CS_CTX_RSA_PKCS1_ENC;
	enum cs_err err = CS_ERR_CRYPTO;
	struct cs_pctx *ctx;
	size_t len;
	uint8_t *dst;

	ENSURE(k != NULL && ct != NULL && (pt != NULL || n == 0), CS_ERR_INVAL);
	ENSURE(cs_key_type(k) == CS_KEY_RSA, CS_ERR_KEY);
	len = (size_t)EVP_PKEY_get_size(cs_key_evp(k));
	/* One of the key's contexts with the padding (and OAEP's digests) set once (ctxpool.c). */
	ctx = cs_ctx_take(cs_key_pool(k), use);
	ENSURE(ctx != NULL, CS_ERR_KEY);
	if ((err = cs_buf_extend(ct, len, &dst)) != CS_OK)
		goto out;
	err = CS_ERR_TOO_LARGE; /* the only way a well-formed encryption fails: too long a message
	                         */
	if (EVP_PKEY_encrypt(cs_pctx_get(ctx), dst, &len, pt != NULL ? pt : (const uint8_t *)"",
	                     n) != 1 ||
	    len != (size_t)EVP_PKEY_get_size(cs_key_evp(k))) {
		ct->len -= (size_t)EVP_PKEY_get_size(cs_key_evp(k));
		goto out;
	}
	err = CS_OK;
out:
	ERR_clear_error();
	cs_ctx_give(cs_key_pool(k), use, ctx, err == CS_OK);
	return err;
}

enum cs_err
cs_rsa_oaep256_encrypt(const struct cs_key *k, const uint8_t *pt, size_t n, struct cs_buf *ct)
{
	return rsa_encrypt(k, RSA_PKCS1_OAEP_PADDING, pt, n, ct);
}

enum cs_err
cs_rsa_pkcs1_encrypt(const struct cs_key *k, const uint8_t *pt, size_t n, struct cs_buf *ct)
{
	return rsa_encrypt(k, RSA_PKCS1_PADDING, pt, n, ct);
}

/* Private-key operation into a locked buffer of the modulus size; returns owned. */
static enum cs_err
rsa_decrypt_raw(const struct cs_key *k, int pad, const uint8_t *ct, size_t n, uint8_t **out,
                size_t *out_len, size_t *cap)
{
	size_t klen;
	EVP_PKEY_CTX *ctx;
	uint8_t *buf;
	int ok;

	*out = NULL;
	ENSURE(k != NULL && ct != NULL, CS_ERR_INVAL);
	ENSURE(cs_key_type(k) == CS_KEY_RSA && cs_key_has_private(k), CS_ERR_KEY);
	klen = (size_t)EVP_PKEY_get_size(cs_key_evp(k));
	/* RFC 8017 §7.1.2 / §7.2.2 step 1: the ciphertext is exactly the modulus length. */
	ENSURE(n == klen, CS_ERR_DECRYPT);
	ctx = rsa_ctx(k, false, pad);
	ENSURE(ctx != NULL, CS_ERR_KEY);
	buf = cs_secure_alloc(klen);
	if (buf == NULL) {
		EVP_PKEY_CTX_free(ctx);
		return CS_ERR_NOMEM;
	}
	*out_len = klen;
	ok = EVP_PKEY_decrypt(ctx, buf, out_len, ct, n);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (ok != 1) {
		cs_secure_free(buf, klen);
		return CS_ERR_DECRYPT;
	}
	*out = buf;
	*cap = klen;
	return CS_OK;
}

enum cs_err
cs_rsa_oaep256_decrypt(const struct cs_key *k, const uint8_t *ct, size_t n, struct cs_buf *pt)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	enum cs_err err;

	ENSURE(pt != NULL, CS_ERR_INVAL);
	TRY(rsa_decrypt_raw(k, RSA_PKCS1_OAEP_PADDING, ct, n, &buf, &len, &cap));
	err = cs_buf_append(pt, buf, len);
	cs_secure_free(buf, cap);
	return err;
}

/*
 * Constant-time helpers on size_t masks (all ones or zero). The empty asm hides the value from
 * the optimizer so that a select cannot be compiled back into a branch.
 */
#define SZ_BITS (sizeof(size_t) * 8)

static size_t
ct_barrier(size_t x)
{
	__asm__("" : "+r"(x));
	return x;
}

/* All ones if the top bit of x is set. */
static size_t
ct_msb(size_t x)
{
	return ct_barrier((size_t)0 - (x >> (SZ_BITS - 1)));
}

static size_t
ct_is_zero(size_t x)
{
	return ct_msb(~x & (x - 1));
}

static size_t
ct_eq(size_t a, size_t b)
{
	return ct_is_zero(a ^ b);
}

/* All ones if a < b (unsigned). */
static size_t
ct_lt(size_t a, size_t b)
{
	return ct_msb(a ^ ((a ^ b) | ((a - b) ^ b)));
}

static size_t
ct_select(size_t mask, size_t a, size_t b)
{
	return (mask & a) | (~mask & b);
}

/*
 * RFC 8017 §7.2.2 step 3 and RFC 7516 §11.5, without data-dependent branches or memory accesses:
 * EM = 0x00 || 0x02 || PS (>= 8 nonzero bytes) || 0x00 || M, and M must be exactly key_len bytes
 * long; then out (which holds the fallback) takes M, else keeps the fallback. klen and key_len
 * are public (klen >= key_len + 11). tests/unit/test_ct.c checks under valgrind that no branch
 * or address depends on em.
 */
void
cs_pkcs1_v15_select(const uint8_t *em, size_t klen, size_t key_len, uint8_t *out)
{
	size_t i, zero_at = 0, good, found = 0;

	good = ct_eq(em[0], 0) & ct_eq(em[1], 2);
	/* zero_at: the index of the first zero byte after the two-byte prefix. */
	for (i = 2; i < klen; i++) {
		size_t first = ct_eq(em[i], 0) & ~found;
		zero_at = ct_select(first, i, zero_at);
		found |= first;
	}
	good &= found;
	/* PS is at least 8 bytes, so the separator is at index 10 or later. */
	good &= ~ct_lt(zero_at, 10);
	/* M = EM[zero_at + 1 ..] must be exactly key_len bytes. */
	good &= ct_eq(klen - zero_at - 1, key_len);
	for (i = 0; i < key_len; i++)
		out[i] = (uint8_t)ct_select(good, em[klen - key_len + i], out[i]);
}

enum cs_err
cs_rsa_pkcs1_decrypt_key(const struct cs_key *k, const uint8_t *ct, size_t n,
                         const uint8_t *fallback, size_t key_len, uint8_t *out)
{
	uint8_t *em = NULL;
	size_t klen = 0, cap = 0;
	enum cs_err err;

	ENSURE(fallback != NULL && out != NULL && key_len > 0, CS_ERR_INVAL);
	/* Copy the fallback first: every exit below leaves out holding a usable key, and the
	 * final select reads it back from out (so out may equal fallback). */
	memmove(out, fallback, key_len);
	err = rsa_decrypt_raw(k, RSA_NO_PADDING, ct, n, &em, &klen, &cap);
	if (err == CS_ERR_DECRYPT)
		return CS_OK; /* wrong ciphertext length or ct >= n: both public facts */
	TRY(err);
	/* A key that cannot fit the padding is rejected on public data (key and modulus sizes). */
	if (klen == cap && key_len <= klen - 11)
		cs_pkcs1_v15_select(em, klen, key_len, out);
	cs_secure_free(em, cap);
	return CS_OK;
}

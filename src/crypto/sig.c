/*
 * Signatures over EVP. ECDSA signatures in raw form (JWS big-endian r||s, SEV-SNP little-endian
 * r||s) are re-encoded as DER for OpenSSL; a half that does not fit the curve's scalar size is a
 * failed signature, never an error of another kind. Verification collapses every failure into
 * CS_ERR_SIGNATURE (or CS_ERR_NOMEM), so callers cannot mistake a rejected signature for a
 * usage error that they might retry or ignore.
 */
#include "crypto/sig.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/internal.h"

/* SEV-SNP ABI rev 1.57 Table 139: r and s are each a 72-byte little-endian field. */
#define RAW_HALF_MAX 72

static bool
is_ec(const struct cs_key *k)
{
	return k != NULL && cs_key_ec_coord_len(cs_key_type(k)) != 0;
}

/*
 * Builds the DER ECDSA-Sig-Value from a raw r||s. Values are accepted only if they fit the
 * coordinate length (OpenSSL's verify then checks 0 < r, s < n); bigger ones fail here.
 */
static enum cs_err
raw_to_der(const struct cs_key *k, const uint8_t *sig, size_t siglen, enum cs_ecdsa_fmt fmt,
           unsigned char **der, int *der_len)
{
	size_t cl = cs_key_ec_coord_len(cs_key_type(k)), half;
	BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG *es = NULL;
	enum cs_err err = CS_ERR_SIGNATURE;

	*der = NULL;
	if (fmt == CS_ECDSA_RAW_BE) {
		ENSURE(siglen == 2 * cl, CS_ERR_SIGNATURE);
		half = cl;
		r = BN_bin2bn(sig, (int)half, NULL);
		s = BN_bin2bn(sig + half, (int)half, NULL);
	} else {
		ENSURE(siglen % 2 == 0 && siglen >= 2 * cl && siglen <= 2 * RAW_HALF_MAX,
		       CS_ERR_SIGNATURE);
		half = siglen / 2;
		r = BN_lebin2bn(sig, (int)half, NULL);
		s = BN_lebin2bn(sig + half, (int)half, NULL);
	}
	if (r == NULL || s == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	if ((size_t)BN_num_bytes(r) > cl || (size_t)BN_num_bytes(s) > cl || BN_is_zero(r) ||
	    BN_is_zero(s))
		goto out;
	es = ECDSA_SIG_new();
	if (es == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	r = s = NULL; /* owned by es */
	*der_len = i2d_ECDSA_SIG(es, der);
	if (*der_len <= 0) {
		*der = NULL;
		goto out;
	}
	err = CS_OK;
out:
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return err;
}

/* True if sig is exactly one strict-DER ECDSA-Sig-Value (re-encoding reproduces it). */
static bool
der_is_canonical(const uint8_t *sig, size_t siglen)
{
	const unsigned char *p = sig;
	unsigned char *again = NULL;
	ECDSA_SIG *es;
	bool ok = false;
	int len;

	if (siglen == 0 || siglen > 2 * (RAW_HALF_MAX + 8))
		return false;
	es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
	if (es == NULL)
		return false;
	len = i2d_ECDSA_SIG(es, &again);
	ok = p == sig + siglen && len > 0 && (size_t)len == siglen &&
	     memcmp(again, sig, siglen) == 0;
	OPENSSL_free(again);
	ECDSA_SIG_free(es);
	return ok;
}

enum cs_err
cs_ecdsa_verify_digest(const struct cs_key *k, const uint8_t *dgst, size_t dlen, const uint8_t *sig,
                       size_t siglen, enum cs_ecdsa_fmt fmt)
{
	enum cs_err err = CS_ERR_SIGNATURE;
	unsigned char *der = NULL;
	const uint8_t *use;
	size_t use_len;
	struct cs_pctx *ctx = NULL;
	int der_len = 0;

	if (!is_ec(k) || dgst == NULL || dlen == 0 || dlen > CS_HASH_MAX_LEN || sig == NULL)
		return CS_ERR_SIGNATURE;
	switch (fmt) {
	case CS_ECDSA_RAW_BE:
	case CS_ECDSA_RAW_LE:
		TRY(raw_to_der(k, sig, siglen, fmt, &der, &der_len));
		use = der, use_len = (size_t)der_len;
		break;
	case CS_ECDSA_DER:
		if (!der_is_canonical(sig, siglen))
			return CS_ERR_SIGNATURE;
		use = sig, use_len = siglen;
		break;
	default:
		return CS_ERR_SIGNATURE;
	}
	ctx = cs_ctx_take(cs_key_pool(k), CS_CTX_ECDSA_VERIFY);
	if (ctx == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_verify(cs_pctx_get(ctx), use, use_len, dgst, dlen) != 1)
		goto out;
	err = CS_OK; /* the only line that grants success */
out:
	ERR_clear_error(); /* a rejected signature leaves no error state behind */
	cs_ctx_give(cs_key_pool(k), CS_CTX_ECDSA_VERIFY, ctx, err == CS_OK);
	OPENSSL_free(der);
	return err;
}

enum cs_err
cs_ecdsa_verify(const struct cs_key *k, enum cs_hash h, const uint8_t *msg, size_t n,
                const uint8_t *sig, size_t siglen, enum cs_ecdsa_fmt fmt)
{
	uint8_t dgst[CS_HASH_MAX_LEN];

	if (cs_hash(h, msg, n, dgst) != CS_OK)
		return CS_ERR_SIGNATURE;
	return cs_ecdsa_verify_digest(k, dgst, cs_hash_len(h), sig, siglen, fmt);
}

/* A signing or verifying context for k: digest md (NULL for Ed25519) and RSA padding pad. */
static EVP_MD_CTX *
md_ctx_for(const struct cs_key *k, bool sign, const EVP_MD *md, int pad, int salt_len)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (mctx == NULL)
		return NULL;
	ok = (sign ? EVP_DigestSignInit(mctx, &pctx, md, NULL, cs_key_evp(k))
	           : EVP_DigestVerifyInit(mctx, &pctx, md, NULL, cs_key_evp(k))) == 1;
	if (ok && pad != 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, pad) == 1;
	if (ok && pad == RSA_PKCS1_PSS_PADDING)
		ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
	if (!ok) {
		EVP_MD_CTX_free(mctx);
		return NULL;
	}
	return mctx;
}

/* One-shot EVP_DigestSign into out (appended); md NULL for Ed25519. */
static enum cs_err
digest_sign(const struct cs_key *k, const EVP_MD *md, int pad, int salt_len, const uint8_t *msg,
            size_t n, uint8_t **sig, size_t *siglen)
{
	enum cs_err err = CS_ERR_CRYPTO;
	EVP_MD_CTX *mctx;
	size_t len = 0;

	*sig = NULL;
	mctx = md_ctx_for(k, true, md, pad, salt_len);
	ENSURE(mctx != NULL, CS_ERR_CRYPTO);
	if (EVP_DigestSign(mctx, NULL, &len, msg, n) != 1 || len == 0)
		goto out;
	*sig = OPENSSL_malloc(len);
	if (*sig == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestSign(mctx, *sig, &len, msg, n) != 1) {
		OPENSSL_free(*sig);
		*sig = NULL;
		goto out;
	}
	*siglen = len;
	err = CS_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	return err;
}

/* One-shot EVP_DigestVerify; every failure is CS_ERR_SIGNATURE. */
static enum cs_err
digest_verify(const struct cs_key *k, const EVP_MD *md, int pad, int salt_len, const uint8_t *msg,
              size_t n, const uint8_t *sig, size_t siglen)
{
	enum cs_err err = CS_ERR_SIGNATURE;
	EVP_MD_CTX *mctx;

	if (sig == NULL || siglen == 0 || (msg == NULL && n != 0))
		return CS_ERR_SIGNATURE;
	mctx = md_ctx_for(k, false, md, pad, salt_len);
	ENSURE(mctx != NULL, CS_ERR_SIGNATURE);
	if (EVP_DigestVerify(mctx, sig, siglen, msg != NULL ? msg : (const uint8_t *)"", n) != 1)
		goto out;
	err = CS_OK; /* the only line that grants success */
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	return err;
}

/*
 * ECDSA over h(msg) with one of the key's pooled signing contexts (ctxpool.c): the same
 * signature EVP_DigestSign makes, without a context set up per call. Returns owned DER.
 */
static enum cs_err
pooled_ecdsa_sign(const struct cs_key *k, enum cs_hash h, const uint8_t *msg, size_t n,
                  uint8_t **der, size_t *len)
{
	uint8_t dgst[CS_HASH_MAX_LEN];
	enum cs_err err = CS_ERR_CRYPTO;
	struct cs_pctx *ctx;
	size_t cap = 0;

	*der = NULL;
	TRY(cs_hash(h, msg, n, dgst));
	ctx = cs_ctx_take(cs_key_pool(k), CS_CTX_ECDSA_SIGN);
	ENSURE(ctx != NULL, CS_ERR_CRYPTO);
	if (EVP_PKEY_sign(cs_pctx_get(ctx), NULL, &cap, dgst, cs_hash_len(h)) != 1 || cap == 0)
		goto out;
	*der = OPENSSL_malloc(cap);
	if (*der == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	*len = cap;
	if (EVP_PKEY_sign(cs_pctx_get(ctx), *der, len, dgst, cs_hash_len(h)) != 1) {
		OPENSSL_free(*der);
		*der = NULL;
		goto out;
	}
	err = CS_OK;
out:
	ERR_clear_error();
	cs_ctx_give(cs_key_pool(k), CS_CTX_ECDSA_SIGN, ctx, err == CS_OK);
	return err;
}

/*
 * RSA verification of h(msg) with one of the key's pooled contexts for use (padding and digest
 * set once). Every failure is CS_ERR_SIGNATURE.
 */
static enum cs_err
pooled_rsa_verify(const struct cs_key *k, enum cs_ctx_use use, enum cs_hash h, const uint8_t *msg,
                  size_t n, const uint8_t *sig, size_t siglen)
{
	uint8_t dgst[CS_HASH_MAX_LEN];
	enum cs_err err = CS_ERR_SIGNATURE;
	struct cs_pctx *ctx;

	if (sig == NULL || siglen == 0 || (msg == NULL && n != 0))
		return CS_ERR_SIGNATURE;
	if (cs_hash(h, msg != NULL ? msg : (const uint8_t *)"", n, dgst) != CS_OK)
		return CS_ERR_SIGNATURE;
	ctx = cs_ctx_take(cs_key_pool(k), use);
	ENSURE(ctx != NULL, CS_ERR_SIGNATURE);
	if (EVP_PKEY_verify(cs_pctx_get(ctx), sig, siglen, dgst, cs_hash_len(h)) != 1)
		goto out;
	err = CS_OK; /* the only line that grants success */
out:
	ERR_clear_error();
	cs_ctx_give(cs_key_pool(k), use, ctx, err == CS_OK);
	return err;
}

/* Plain RSA keys only: an RSASSA-PSS key's own restrictions stay with the EVP_DigestVerify path. */
static bool
is_plain_rsa(const struct cs_key *k)
{
	return EVP_PKEY_get_base_id(cs_key_evp(k)) == EVP_PKEY_RSA;
}

enum cs_err
cs_ecdsa_sign(const struct cs_key *k, enum cs_hash h, const uint8_t *msg, size_t n,
              struct cs_buf *sig)
{
	size_t cl, len = 0;
	uint8_t *der = NULL, *dst;
	const unsigned char *p;
	const BIGNUM *r, *s;
	ECDSA_SIG *es = NULL;
	enum cs_err err;

	ENSURE(is_ec(k) && cs_key_has_private(k) && sig != NULL, CS_ERR_KEY);
	ENSURE(cs_hash_md(h) != NULL && (msg != NULL || n == 0), CS_ERR_INVAL);
	cl = cs_key_ec_coord_len(cs_key_type(k));
	TRY(pooled_ecdsa_sign(k, h, msg != NULL ? msg : (const uint8_t *)"", n, &der, &len));
	err = CS_ERR_CRYPTO;
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (es == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if ((err = cs_buf_extend(sig, 2 * cl, &dst)) != CS_OK)
		goto out;
	err = CS_ERR_CRYPTO;
	if (BN_bn2binpad(r, dst, (int)cl) != (int)cl ||
	    BN_bn2binpad(s, dst + cl, (int)cl) != (int)cl)
		goto out;
	err = CS_OK;
out:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return err;
}

static bool
is_rsa(const struct cs_key *k)
{
	return k != NULL && cs_key_type(k) == CS_KEY_RSA;
}

/* salt_len -1 means the hash length (RFC 7518 §3.5 for PS256/384/512). */
static int
pss_salt(enum cs_hash h, int salt_len)
{
	return salt_len == -1 ? (int)cs_hash_len(h) : salt_len;
}

enum cs_err
cs_rsa_pss_verify(const struct cs_key *k, enum cs_hash h, int salt_len, const uint8_t *msg,
                  size_t n, const uint8_t *sig, size_t siglen)
{
	if (!is_rsa(k) || cs_hash_md(h) == NULL || salt_len < -1)
		return CS_ERR_SIGNATURE;
	/* RFC 8017 §8.1.2 step 1: the signature is exactly the modulus length. */
	if (siglen != (size_t)EVP_PKEY_get_size(cs_key_evp(k)))
		return CS_ERR_SIGNATURE;
	if (is_plain_rsa(k) && pss_salt(h, salt_len) == (int)cs_hash_len(h))
		return pooled_rsa_verify(k,
		                         (enum cs_ctx_use)(CS_CTX_RSA_PSS_VERIFY_SHA256 + (int)h),
		                         h, msg, n, sig, siglen);
	return digest_verify(k, cs_hash_md(h), RSA_PKCS1_PSS_PADDING, pss_salt(h, salt_len), msg, n,
	                     sig, siglen);
}

static enum cs_err
append_sig(struct cs_buf *out, uint8_t *sig, size_t len)
{
	enum cs_err err = cs_buf_append(out, sig, len);

	OPENSSL_free(sig);
	return err;
}

enum cs_err
cs_rsa_pss_sign(const struct cs_key *k, enum cs_hash h, int salt_len, const uint8_t *msg, size_t n,
                struct cs_buf *sig)
{
	uint8_t *s = NULL;
	size_t len = 0;

	ENSURE(is_rsa(k) && cs_key_has_private(k) && sig != NULL, CS_ERR_KEY);
	ENSURE(cs_hash_md(h) != NULL && salt_len >= -1 && (msg != NULL || n == 0), CS_ERR_INVAL);
	TRY(digest_sign(k, cs_hash_md(h), RSA_PKCS1_PSS_PADDING, pss_salt(h, salt_len),
	                msg != NULL ? msg : (const uint8_t *)"", n, &s, &len));
	return append_sig(sig, s, len);
}

enum cs_err
cs_rsa_pkcs1_verify(const struct cs_key *k, enum cs_hash h, const uint8_t *msg, size_t n,
                    const uint8_t *sig, size_t siglen)
{
	if (!is_rsa(k) || cs_hash_md(h) == NULL)
		return CS_ERR_SIGNATURE;
	if (siglen != (size_t)EVP_PKEY_get_size(cs_key_evp(k)))
		return CS_ERR_SIGNATURE;
	if (is_plain_rsa(k))
		return pooled_rsa_verify(k,
		                         (enum cs_ctx_use)(CS_CTX_RSA_PKCS1_VERIFY_SHA256 + (int)h),
		                         h, msg, n, sig, siglen);
	return digest_verify(k, cs_hash_md(h), RSA_PKCS1_PADDING, 0, msg, n, sig, siglen);
}

enum cs_err
cs_rsa_pkcs1_sign(const struct cs_key *k, enum cs_hash h, const uint8_t *msg, size_t n,
                  struct cs_buf *sig)
{
	uint8_t *s = NULL;
	size_t len = 0;

	ENSURE(is_rsa(k) && cs_key_has_private(k) && sig != NULL, CS_ERR_KEY);
	ENSURE(cs_hash_md(h) != NULL && (msg != NULL || n == 0), CS_ERR_INVAL);
	TRY(digest_sign(k, cs_hash_md(h), RSA_PKCS1_PADDING, 0,
	                msg != NULL ? msg : (const uint8_t *)"", n, &s, &len));
	return append_sig(sig, s, len);
}

enum cs_err
cs_ed25519_verify(const struct cs_key *k, const uint8_t *msg, size_t n, const uint8_t *sig,
                  size_t siglen)
{
	if (k == NULL || cs_key_type(k) != CS_KEY_ED25519 || siglen != 64)
		return CS_ERR_SIGNATURE;
	return digest_verify(k, NULL, 0, 0, msg, n, sig, siglen);
}

enum cs_err
cs_ed25519_sign(const struct cs_key *k, const uint8_t *msg, size_t n, struct cs_buf *sig)
{
	uint8_t *s = NULL;
	size_t len = 0;

	ENSURE(k != NULL && cs_key_type(k) == CS_KEY_ED25519 && cs_key_has_private(k) &&
	               sig != NULL,
	       CS_ERR_KEY);
	ENSURE(msg != NULL || n == 0, CS_ERR_INVAL);
	TRY(digest_sign(k, NULL, 0, 0, msg != NULL ? msg : (const uint8_t *)"", n, &s, &len));
	if (len != 64) {
		OPENSSL_free(s);
		return CS_ERR_CRYPTO;
	}
	return append_sig(sig, s, len);
}

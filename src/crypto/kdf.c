/* HKDF (RFC 5869) through EVP_KDF, and the single-step Concat KDF of NIST SP 800-56A §5.8.1. */
#include "crypto/kdf.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "base/secret.h"
#include "crypto/internal.h"

/* The HKDF implementation, fetched once per process (a fetch is a locked table lookup). */
static EVP_KDF *hkdf_impl;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

static void
fetch_hkdf(void)
{
	hkdf_impl = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

enum cs_err
cs_hkdf(enum cs_hash h, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
        const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	const EVP_MD *md = cs_hash_md(h);
	enum cs_err err = CS_ERR_CRYPTO;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	static uint8_t empty[1];

	ENSURE(md != NULL && out != NULL && out_len > 0, CS_ERR_INVAL);
	ENSURE((salt != NULL || salt_len == 0) && (ikm != NULL || ikm_len == 0) &&
	               (info != NULL || info_len == 0),
	       CS_ERR_INVAL);
	/* RFC 5869 §2.3: L <= 255 * HashLen. */
	ENSURE(out_len <= 255 * cs_hash_len(h), CS_ERR_TOO_LARGE);

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md),
	                                        0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm_len ? (void *)ikm : empty,
	                                         ikm_len);
	/* An absent salt is HashLen zero bytes (§2.2), which is what OpenSSL does without one. */
	if (salt_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
		                                         salt_len);
	if (info_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
		                                         info_len);
	*p = OSSL_PARAM_construct_end();

	if (pthread_once(&hkdf_once, fetch_hkdf) != 0 || hkdf_impl == NULL ||
	    (kctx = EVP_KDF_CTX_new(hkdf_impl)) == NULL)
		goto out;
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1)
		goto out;
	err = CS_OK;
out:
	if (err != CS_OK)
		cs_wipe(out, out_len);
	EVP_KDF_CTX_free(kctx);
	return err;
}

static void
put_u32be(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* Hashes a u32be length prefix and then the bytes (a Datalen || Data field of OtherInfo). */
static int
update_field(EVP_MD_CTX *ctx, const uint8_t *p, size_t n)
{
	uint8_t len[4];

	put_u32be(len, (uint32_t)n);
	return EVP_DigestUpdate(ctx, len, 4) == 1 && (n == 0 || EVP_DigestUpdate(ctx, p, n) == 1);
}

/*
 * SP 800-56A §5.8.1 with H = SHA-256: K(i) = H(counter_i || Z || OtherInfo) for i = 1..reps, the
 * key the leading out_len bytes of K(1) || K(2) || ...; RFC 7518 §4.6.2 fixes OtherInfo as
 * AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo (keydatalen in bits) with no SuppPrivInfo.
 */
enum cs_err
cs_concat_kdf(const uint8_t *z, size_t z_len, const uint8_t *alg_id, size_t alg_id_len,
              const uint8_t *apu, size_t apu_len, const uint8_t *apv, size_t apv_len, uint8_t *out,
              size_t out_len)
{
	enum cs_err err = CS_ERR_CRYPTO;
	EVP_MD_CTX *ctx = NULL;
	uint8_t block[32], ctr[4], bits[4];
	unsigned int got;
	size_t done = 0;
	uint32_t i;

	ENSURE(z != NULL && z_len > 0 && out != NULL && out_len > 0, CS_ERR_INVAL);
	ENSURE((alg_id != NULL || alg_id_len == 0) && (apu != NULL || apu_len == 0) &&
	               (apv != NULL || apv_len == 0),
	       CS_ERR_INVAL);
	/* keydatalen in bits is a u32, and so are the field lengths. */
	ENSURE(out_len <= UINT32_MAX / 8 && alg_id_len <= UINT32_MAX && apu_len <= UINT32_MAX &&
	               apv_len <= UINT32_MAX,
	       CS_ERR_TOO_LARGE);
	put_u32be(bits, (uint32_t)(out_len * 8));
	ctx = EVP_MD_CTX_new();
	ENSURE(ctx != NULL, CS_ERR_NOMEM);
	for (i = 1; done < out_len; i++) {
		size_t take = out_len - done < sizeof(block) ? out_len - done : sizeof(block);
		put_u32be(ctr, i);
		if (EVP_DigestInit_ex(ctx, cs_hash_md(CS_SHA256), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, ctr, 4) != 1 || EVP_DigestUpdate(ctx, z, z_len) != 1 ||
		    !update_field(ctx, alg_id, alg_id_len) || !update_field(ctx, apu, apu_len) ||
		    !update_field(ctx, apv, apv_len) || EVP_DigestUpdate(ctx, bits, 4) != 1 ||
		    EVP_DigestFinal_ex(ctx, block, &got) != 1 || got != sizeof(block))
			goto out;
		memcpy(out + done, block, take);
		done += take;
	}
	err = CS_OK;
out:
	cs_wipe(block, sizeof(block));
	if (err != CS_OK)
		cs_wipe(out, out_len);
	EVP_MD_CTX_free(ctx);
	return err;
}

/* Hashes and HMAC over OpenSSL 3 EVP. */
#include "crypto/hash.h"

#include <limits.h>
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/internal.h"

/*
 * The digests, fetched once per process: EVP_sha256() and friends are legacy handles that make
 * every EVP_DigestInit, and every context that names them, fetch the implementation again (a
 * locked table lookup).
 */
static EVP_MD *mds[3];
static pthread_once_t mds_once = PTHREAD_ONCE_INIT;

static void
fetch_mds(void)
{
	mds[CS_SHA256] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	mds[CS_SHA384] = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	mds[CS_SHA512] = EVP_MD_fetch(NULL, "SHA2-512", NULL);
}

const EVP_MD *
cs_hash_md(enum cs_hash h)
{
	switch (h) {
	case CS_SHA256:
	case CS_SHA384:
	case CS_SHA512:
		if (pthread_once(&mds_once, fetch_mds) != 0)
			return NULL;
		return mds[h];
	}
	return NULL;
}

size_t
cs_hash_len(enum cs_hash h)
{
	switch (h) {
	case CS_SHA256:
		return 32;
	case CS_SHA384:
		return 48;
	case CS_SHA512:
		return 64;
	}
	return 0;
}

enum cs_err
cs_hash(enum cs_hash h, const uint8_t *p, size_t n, uint8_t *out)
{
	const EVP_MD *md = cs_hash_md(h);
	unsigned int len = 0;

	ENSURE(md != NULL && out != NULL && (p != NULL || n == 0), CS_ERR_INVAL);
	if (EVP_Digest(n ? p : (const uint8_t *)"", n, out, &len, md, NULL) != 1)
		return CS_ERR_CRYPTO;
	ENSURE(len == cs_hash_len(h), CS_ERR_CRYPTO);
	return CS_OK;
}

enum cs_err
cs_hash_init(struct cs_hash_ctx *c, enum cs_hash h)
{
	const EVP_MD *md = cs_hash_md(h);
	EVP_MD_CTX *ctx;

	ENSURE(c != NULL, CS_ERR_INVAL);
	c->md_ctx = NULL;
	c->h = h;
	ENSURE(md != NULL, CS_ERR_INVAL);
	ctx = EVP_MD_CTX_new();
	ENSURE(ctx != NULL, CS_ERR_NOMEM);
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return CS_ERR_CRYPTO;
	}
	c->md_ctx = ctx;
	return CS_OK;
}

enum cs_err
cs_hash_update(struct cs_hash_ctx *c, const uint8_t *p, size_t n)
{
	ENSURE(c != NULL && c->md_ctx != NULL && (p != NULL || n == 0), CS_ERR_INVAL);
	if (n == 0)
		return CS_OK;
	ENSURE(EVP_DigestUpdate(c->md_ctx, p, n) == 1, CS_ERR_CRYPTO);
	return CS_OK;
}

enum cs_err
cs_hash_final(struct cs_hash_ctx *c, uint8_t *out)
{
	unsigned int len = 0;
	int ok;

	ENSURE(c != NULL && c->md_ctx != NULL && out != NULL, CS_ERR_INVAL);
	ok = EVP_DigestFinal_ex(c->md_ctx, out, &len);
	cs_hash_fini(c);
	ENSURE(ok == 1 && len == cs_hash_len(c->h), CS_ERR_CRYPTO);
	return CS_OK;
}

void
cs_hash_fini(struct cs_hash_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md_ctx);
	c->md_ctx = NULL;
}

enum cs_err
cs_hmac(enum cs_hash h, const uint8_t *key, size_t klen, const uint8_t *p, size_t n, uint8_t *out)
{
	const EVP_MD *md = cs_hash_md(h);
	static const uint8_t empty[1];
	unsigned int len = 0;

	ENSURE(md != NULL && out != NULL, CS_ERR_INVAL);
	ENSURE((key != NULL || klen == 0) && (p != NULL || n == 0), CS_ERR_INVAL);
	ENSURE(klen <= INT_MAX, CS_ERR_TOO_LARGE);
	if (HMAC(md, klen ? key : empty, (int)klen, n ? p : empty, n, out, &len) == NULL)
		return CS_ERR_CRYPTO;
	ENSURE(len == cs_hash_len(h), CS_ERR_CRYPTO);
	return CS_OK;
}

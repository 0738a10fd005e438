/*
 * Pools of initialized EVP_PKEY_CTX objects, one free list per use, kept per key (and per curve
 * for the ephemeral key generation of ECDH-ES).
 *
 * Creating a context and initializing it for an operation costs OpenSSL 3 several locked method
 * fetches, allocations and parameter setups per call, as much as a third of an RSA-2048 public
 * operation or of an ECDSA P-256 signature. A context is not safe for two threads at once, so
 * one is never shared: a caller takes a context off the list (or gets a new one when the list
 * is empty), uses it alone, and gives it back. The lock is held only for the list operation, and
 * the number of contexts a pool holds is bounded by how many calls ran at once (and by
 * POOL_MAX). A context whose operation failed is freed, never given back, so that whatever
 * state a failure left in it is not reused.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/internal.h"

/* Contexts kept per use and pool; more concurrent callers get fresh ones, freed after use. */
#define POOL_MAX 64

struct cs_pctx {
	EVP_PKEY_CTX *ctx;
	struct cs_pctx *next;
};

struct cs_ctx_pool {
	pthread_mutex_t mu;
	EVP_PKEY *pkey; /* borrowed: the key's, or a curve template */
	struct cs_pctx *free[CS_CTX_USES];
	unsigned n[CS_CTX_USES];
	atomic_bool checked; /* the key's public part passed EVP_PKEY_public_check_quick */
};

struct cs_ctx_pool *
cs_ctx_pool_new(EVP_PKEY *pkey)
{
	struct cs_ctx_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return NULL;
	}
	p->pkey = pkey;
	return p;
}

static void
pctx_free(struct cs_pctx *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_CTX_free(c->ctx);
	free(c);
}

void
cs_ctx_pool_free(struct cs_ctx_pool *p)
{
	if (p == NULL)
		return;
	for (int u = 0; u < CS_CTX_USES; u++) {
		while (p->free[u] != NULL) {
			struct cs_pctx *c = p->free[u];

			p->free[u] = c->next;
			pctx_free(c);
		}
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* The RSA signature digest of a verify use. */
static const EVP_MD *
use_md(enum cs_ctx_use use)
{
	switch (use) {
	case CS_CTX_RSA_PKCS1_VERIFY_SHA256:
	case CS_CTX_RSA_PSS_VERIFY_SHA256:
		return cs_hash_md(CS_SHA256);
	case CS_CTX_RSA_PKCS1_VERIFY_SHA384:
	case CS_CTX_RSA_PSS_VERIFY_SHA384:
		return cs_hash_md(CS_SHA384);
	case CS_CTX_RSA_PKCS1_VERIFY_SHA512:
	case CS_CTX_RSA_PSS_VERIFY_SHA512:
		return cs_hash_md(CS_SHA512);
	default:
		return NULL;
	}
}

/* Initializes a fresh context for use; 1 on success. */
static int
init_for(EVP_PKEY_CTX *ctx, enum cs_ctx_use use)
{
	const EVP_MD *md = use_md(use);

	switch (use) {
	case CS_CTX_CHECK:
		return 1;
	case CS_CTX_KEYGEN:
		return EVP_PKEY_keygen_init(ctx);
	case CS_CTX_ECDSA_SIGN:
		return EVP_PKEY_sign_init(ctx);
	case CS_CTX_ECDSA_VERIFY:
		return EVP_PKEY_verify_init(ctx);
	case CS_CTX_DERIVE:
		return EVP_PKEY_derive_init(ctx);
	case CS_CTX_RSA_OAEP256_ENC:
		return EVP_PKEY_encrypt_init(ctx) == 1 &&
		       EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
		       EVP_PKEY_CTX_set_rsa_oaep_md(ctx, cs_hash_md(CS_SHA256)) == 1 &&
		       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, cs_hash_md(CS_SHA256)) == 1;
	case CS_CTX_RSA_PKCS1_ENC:
		return EVP_PKEY_encrypt_init(ctx) == 1 &&
		       EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
	case CS_CTX_RSA_PKCS1_VERIFY_SHA256:
	case CS_CTX_RSA_PKCS1_VERIFY_SHA384:
	case CS_CTX_RSA_PKCS1_VERIFY_SHA512:
		return md != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		       EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		       EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
	case CS_CTX_RSA_PSS_VERIFY_SHA256:
	case CS_CTX_RSA_PSS_VERIFY_SHA384:
	case CS_CTX_RSA_PSS_VERIFY_SHA512:
		/* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash. */
		return md != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		       EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		       EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
		       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 &&
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, EVP_MD_get_size(md)) == 1;
	case CS_CTX_USES:
		break;
	}
	return 0;
}

struct cs_pctx *
cs_ctx_take(struct cs_ctx_pool *p, enum cs_ctx_use use)
{
	struct cs_pctx *c = NULL;

	if (p == NULL || (unsigned)use >= CS_CTX_USES)
		return NULL;
	if (pthread_mutex_lock(&p->mu) == 0) {
		c = p->free[use];
		if (c != NULL) {
			p->free[use] = c->next;
			p->n[use]--;
		}
		(void)pthread_mutex_unlock(&p->mu);
	}
	if (c != NULL) {
		c->next = NULL;
		return c;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, p->pkey, NULL);
	if (c->ctx == NULL || init_for(c->ctx, use) != 1) {
		ERR_clear_error();
		pctx_free(c);
		return NULL;
	}
	return c;
}

void
cs_ctx_give(struct cs_ctx_pool *p, enum cs_ctx_use use, struct cs_pctx *c, bool ok)
{
	if (c == NULL)
		return;
	if (!ok || p == NULL || (unsigned)use >= CS_CTX_USES || pthread_mutex_lock(&p->mu) != 0) {
		pctx_free(c);
		return;
	}
	if (p->n[use] < POOL_MAX) {
		c->next = p->free[use];
		p->free[use] = c;
		p->n[use]++;
		c = NULL;
	}
	(void)pthread_mutex_unlock(&p->mu);
	pctx_free(c);
}

bool
cs_ctx_pool_checked(struct cs_ctx_pool *p)
{
	return p != NULL && atomic_load(&p->checked);
}

void
cs_ctx_pool_set_checked(struct cs_ctx_pool *p)
{
	if (p != NULL)
		atomic_store(&p->checked, true);
}

EVP_PKEY_CTX *
cs_pctx_get(const struct cs_pctx *c)
{
	return c->ctx;
}

/*
 * ECDH for JWE ECDH-ES, added by the JOSE engineer. Senders (the KBS, once per resource
 * release) use cs_ecdh_ephemeral: the same result as cs_key_generate + cs_ecdh +
 * cs_key_ec_to_raw, about twice as fast. Recipients use cs_ecdh_raw_peer: the same result as
 * cs_key_ec_from_raw + cs_ecdh, about twice as fast.
 *  - The ephemeral key is generated from a per-curve parameter template built once, instead of
 *    EVP_PKEY_Q_keygen looking the group up on every call.
 *  - The peer's point gets OpenSSL's quick public check (not at infinity, on the curve) rather
 *    than the full one, whose extra n*Q == O test is a second scalar multiplication and proves
 *    nothing more on P-256, P-384 and P-521: their cofactor is 1, so every point on the curve
 *    is in the prime-order group.
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "base/secret.h"
#include "crypto/pke.h"

/* Both run one scalar multiplication where the general path runs two or three. */
static const char *const names[3] = {"P-256", "P-384", "P-521"};
static EVP_PKEY *templates[3]; /* P-256, P-384, P-521 parameters; built once, never freed */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
build_templates(void)
{
	for (int i = 0; i < 3; i++) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

		if (c != NULL && EVP_PKEY_paramgen_init(c) == 1 &&
		    EVP_PKEY_CTX_set_group_name(c, names[i]) == 1)
			(void)EVP_PKEY_paramgen(c, &templates[i]);
		EVP_PKEY_CTX_free(c);
	}
}

/* 0, 1, 2 for P-256, P-384, P-521 (the index into names and templates); -1 otherwise. */
static int
curve_index(const struct cs_key *k)
{
	switch (cs_key_type(k)) {
	case CS_KEY_EC_P256:
		return 0;
	case CS_KEY_EC_P384:
		return 1;
	case CS_KEY_EC_P521:
		return 2;
	default:
		return -1;
	}
}

enum cs_err
cs_ecdh_ephemeral(const struct cs_key *peer, uint8_t *x, uint8_t *y, struct cs_buf *z)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t secret[66], point[1 + 2 * 66];
	size_t len = sizeof(secret), plen = 0, cl;
	int idx;
	enum cs_err err = CS_ERR_KEY;

	ENSURE(peer != NULL && x != NULL && y != NULL && z != NULL, CS_ERR_INVAL);
	idx = curve_index(peer);
	ENSURE(idx >= 0, CS_ERR_KEY);
	cl = cs_key_ec_coord_len(cs_key_type(peer));
	ENSURE(pthread_once(&once, build_templates) == 0, CS_ERR_CRYPTO);
	ENSURE(templates[idx] != NULL, CS_ERR_CRYPTO);
	/* The peer's point: on the curve and not the point at infinity. */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(peer), NULL);
	ENSURE(ctx != NULL, CS_ERR_NOMEM);
	if (EVP_PKEY_public_check_quick(ctx) != 1)
		goto out;
	EVP_PKEY_CTX_free(ctx);
	err = CS_ERR_CRYPTO;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, templates[idx], NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
		goto out;
	EVP_PKEY_CTX_free(ctx);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, cs_key_evp(peer), 0) != 1 ||
	    EVP_PKEY_derive(ctx, secret, &len) != 1 || len != cl)
		goto out;
	/* SEC 1 §2.3.3 uncompressed point 04 || x || y, the default encoding of a new key. */
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                                    sizeof(point), &plen) != 1 ||
	    plen != 1 + 2 * cl || point[0] != 0x04)
		goto out;
	memcpy(x, point + 1, cl);
	memcpy(y, point + 1 + cl, cl);
	err = cs_buf_append(z, secret, len);
out:
	if (err != CS_OK)
		ERR_clear_error();
	cs_wipe(secret, sizeof(secret));
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return err;
}

enum cs_err
cs_ecdh_raw_peer(const struct cs_key *priv, const uint8_t *x, size_t xlen, const uint8_t *y,
                 size_t ylen, struct cs_buf *z)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	OSSL_PARAM params[3];
	uint8_t secret[66], point[1 + 2 * 66];
	size_t len = sizeof(secret), cl;
	int idx;
	enum cs_err err = CS_ERR_KEY;

	ENSURE(priv != NULL && x != NULL && y != NULL && z != NULL, CS_ERR_INVAL);
	idx = curve_index(priv);
	ENSURE(idx >= 0, CS_ERR_KEY);
	cl = cs_key_ec_coord_len(cs_key_type(priv));
	ENSURE(xlen == cl && ylen == cl && cs_key_has_private(priv), CS_ERR_KEY);
	/* SEC 1 §2.3.3 uncompressed point. */
	point[0] = 0x04;
	memcpy(point + 1, x, cl);
	memcpy(point + 1 + cl, y, cl);
	params[0] =
	        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)names[idx], 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * cl);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	ENSURE(ctx != NULL, CS_ERR_NOMEM);
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	EVP_PKEY_CTX_free(ctx);
	/* On the curve and not the point at infinity: complete for cofactor-1 curves. */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	if (ctx == NULL || EVP_PKEY_public_check_quick(ctx) != 1)
		goto out;
	EVP_PKEY_CTX_free(ctx);
	err = CS_ERR_CRYPTO;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(priv), NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1 ||
	    EVP_PKEY_derive(ctx, secret, &len) != 1 || len != cl)
		goto out;
	err = cs_buf_append(z, secret, len);
out:
	if (err != CS_OK)
		ERR_clear_error(); /* a rejected point leaves nothing in the thread's queue */
	cs_wipe(secret, sizeof(secret));
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(ctx);
	return err;
}

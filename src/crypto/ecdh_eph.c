/*
 * ECDH for JWE ECDH-ES, added by the JOSE engineer. Senders (the KBS, once per resource
 * release) use cs_ecdh_ephemeral: the same result as cs_key_generate + cs_ecdh +
 * cs_key_ec_to_raw, about twice as fast. Recipients use cs_ecdh_raw_peer: the same result as
 * cs_key_ec_from_raw + cs_ecdh, about twice as fast.
 *  - The ephemeral key is generated from the per-curve parameter template of key.c, with
 *    key-generation contexts pooled per curve (ctxpool.c), instead of EVP_PKEY_Q_keygen looking
 *    the group up and setting up a context on every call.
 *  - The recipient's derivation contexts are pooled per key; the epk is built from the same
 *    template (cs_ec_public_from_point) rather than by EVP_PKEY_fromdata.
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
#include "crypto/internal.h"
#include "crypto/pke.h"

/* Key-generation contexts per curve (P-256, P-384, P-521), over key.c's templates. */
static struct cs_ctx_pool *gen_pools[3]; /* built once, never freed */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
build_pools(void)
{
	static const enum cs_key_type types[3] = {CS_KEY_EC_P256, CS_KEY_EC_P384, CS_KEY_EC_P521};

	for (int i = 0; i < 3; i++) {
		EVP_PKEY *t = cs_ec_template(types[i]);

		gen_pools[i] = t != NULL ? cs_ctx_pool_new(t) : NULL;
	}
}

/* 0, 1, 2 for P-256, P-384, P-521 (the index into gen_pools); -1 otherwise. */
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

/* A fresh key from the curve's pooled generation contexts; NULL on failure. */
static EVP_PKEY *
ephemeral_key(int idx)
{
	struct cs_pctx *c;
	EVP_PKEY *pkey = NULL;
	int ok;

	if (pthread_once(&once, build_pools) != 0 || gen_pools[idx] == NULL)
		return NULL;
	c = cs_ctx_take(gen_pools[idx], CS_CTX_KEYGEN);
	if (c == NULL)
		return NULL;
	ok = EVP_PKEY_keygen(cs_pctx_get(c), &pkey) == 1;
	cs_ctx_give(gen_pools[idx], CS_CTX_KEYGEN, c, ok);
	if (!ok) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

/*
 * OpenSSL's quick public check (on the curve, not infinity) of k, run once per key: a key never
 * changes, and the check costs a field inversion (~5 us on P-256) per call otherwise.
 */
static bool
point_ok(const struct cs_key *k)
{
	struct cs_pctx *c;
	bool ok;

	if (cs_ctx_pool_checked(cs_key_pool(k)))
		return true;
	c = cs_ctx_take(cs_key_pool(k), CS_CTX_CHECK);
	if (c == NULL)
		return false;
	ok = EVP_PKEY_public_check_quick(cs_pctx_get(c)) == 1;
	cs_ctx_give(cs_key_pool(k), CS_CTX_CHECK, c, ok);
	if (ok)
		cs_ctx_pool_set_checked(cs_key_pool(k));
	return ok;
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
	/* The peer's point: on the curve and not the point at infinity. */
	if (!point_ok(peer))
		goto out;
	err = CS_ERR_CRYPTO;
	pkey = ephemeral_key(idx);
	if (pkey == NULL)
		goto out;
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
	struct cs_pctx *ctx = NULL;
	EVP_PKEY *peer = NULL;
	uint8_t secret[66], point[1 + 2 * 66];
	size_t len = sizeof(secret), cl;
	enum cs_err err = CS_ERR_KEY;

	ENSURE(priv != NULL && x != NULL && y != NULL && z != NULL, CS_ERR_INVAL);
	ENSURE(curve_index(priv) >= 0, CS_ERR_KEY);
	cl = cs_key_ec_coord_len(cs_key_type(priv));
	ENSURE(xlen == cl && ylen == cl && cs_key_has_private(priv), CS_ERR_KEY);
	/* SEC 1 §2.3.3 uncompressed point. */
	point[0] = 0x04;
	memcpy(point + 1, x, cl);
	memcpy(point + 1 + cl, y, cl);
	/* On the curve and not the point at infinity: complete for cofactor-1 curves. */
	if (cs_ec_public_from_point(cs_key_type(priv), point, 1 + 2 * cl, &peer) != CS_OK)
		goto out;
	err = CS_ERR_CRYPTO;
	ctx = cs_ctx_take(cs_key_pool(priv), CS_CTX_DERIVE);
	if (ctx == NULL || EVP_PKEY_derive_set_peer_ex(cs_pctx_get(ctx), peer, 0) != 1 ||
	    EVP_PKEY_derive(cs_pctx_get(ctx), secret, &len) != 1 || len != cl)
		goto out;
	err = cs_buf_append(z, secret, len);
out:
	if (err != CS_OK)
		ERR_clear_error(); /* a rejected point leaves nothing in the thread's queue */
	cs_wipe(secret, sizeof(secret));
	cs_ctx_give(cs_key_pool(priv), CS_CTX_DERIVE, ctx, err == CS_OK);
	EVP_PKEY_free(peer);
	return err;
}

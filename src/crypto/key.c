/*
 * Asymmetric keys over EVP_PKEY. Every constructor validates what it builds (the point on the
 * curve, the pair matching, the RSA modulus size), so that the rest of custos can treat a
 * struct cs_key as usable.
 */
#include "crypto/key.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/secret.h"
#include "crypto/internal.h"

/* RSA moduli accepted from any source: below 2048 bits is broken, above 16384 a DoS lever. */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384
/* PEM/DER key inputs larger than this are not keys custos uses. */
#define KEY_MAX_INPUT (64 * 1024)

struct cs_key {
	EVP_PKEY *pkey;           /* owned */
	enum cs_key_type type;    /* derived from pkey */
	bool priv;                /* private part present */
	struct cs_ctx_pool *pool; /* owned: this key's initialized EVP_PKEY_CTXs (ctxpool.c) */
};

size_t
cs_key_ec_coord_len(enum cs_key_type t)
{
	switch (t) {
	case CS_KEY_EC_P256:
		return 32;
	case CS_KEY_EC_P384:
		return 48;
	case CS_KEY_EC_P521:
		return 66;
	case CS_KEY_RSA:
	case CS_KEY_ED25519:
		break;
	}
	return 0;
}

static const char *
group_name(enum cs_key_type t)
{
	switch (t) {
	case CS_KEY_EC_P256:
		return "P-256";
	case CS_KEY_EC_P384:
		return "P-384";
	case CS_KEY_EC_P521:
		return "P-521";
	case CS_KEY_RSA:
	case CS_KEY_ED25519:
		break;
	}
	return NULL;
}

static enum cs_err
classify(EVP_PKEY *pkey, enum cs_key_type *t, bool *priv)
{
	BIGNUM *bn = NULL;
	char grp[64];
	size_t len = 0;
	uint8_t raw[32];

	*priv = false;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, grp,
		                                   sizeof(grp), &len) != 1)
			return CS_ERR_UNSUPPORTED; /* explicit curve parameters */
		if (strcmp(grp, "prime256v1") == 0 || strcmp(grp, "P-256") == 0)
			*t = CS_KEY_EC_P256;
		else if (strcmp(grp, "secp384r1") == 0 || strcmp(grp, "P-384") == 0)
			*t = CS_KEY_EC_P384;
		else if (strcmp(grp, "secp521r1") == 0 || strcmp(grp, "P-521") == 0)
			*t = CS_KEY_EC_P521;
		else
			return CS_ERR_UNSUPPORTED;
		*priv = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
		break;
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS: /* AMD's ARK and ASK carry rsassaPss keys */
		*t = CS_KEY_RSA;
		if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS ||
		    EVP_PKEY_get_bits(pkey) > RSA_MAX_BITS)
			return CS_ERR_KEY;
		*priv = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
		break;
	case EVP_PKEY_ED25519:
		*t = CS_KEY_ED25519;
		*priv = EVP_PKEY_get_raw_private_key(pkey, raw, &(size_t){sizeof(raw)}) == 1;
		cs_wipe(raw, sizeof(raw));
		break;
	default:
		return CS_ERR_UNSUPPORTED;
	}
	BN_clear_free(bn);
	return CS_OK;
}

enum cs_err
cs_key_wrap_evp(EVP_PKEY *pkey, struct cs_key **out)
{
	enum cs_err err;
	struct cs_key *k;

	*out = NULL;
	ENSURE(pkey != NULL, CS_ERR_KEY);
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return CS_ERR_NOMEM;
	}
	k->pkey = pkey;
	err = classify(pkey, &k->type, &k->priv);
	ERR_clear_error(); /* probing for the private part fails on public keys */
	if (err == CS_OK && (k->pool = cs_ctx_pool_new(pkey)) == NULL)
		err = CS_ERR_NOMEM;
	if (err != CS_OK) {
		cs_key_free(k);
		return err;
	}
	*out = k;
	return CS_OK;
}

enum cs_err
cs_key_generate(enum cs_key_type t, unsigned rsa_bits, struct cs_key **out)
{
	EVP_PKEY *pkey = NULL;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	switch (t) {
	case CS_KEY_EC_P256:
	case CS_KEY_EC_P384:
	case CS_KEY_EC_P521:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group_name(t));
		break;
	case CS_KEY_RSA:
		ENSURE(rsa_bits >= 2048 && rsa_bits <= 8192, CS_ERR_INVAL);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
		break;
	case CS_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		return CS_ERR_INVAL;
	}
	ENSURE(pkey != NULL, CS_ERR_CRYPTO);
	return cs_key_wrap_evp(pkey, out);
}

void
cs_key_free(struct cs_key *k)
{
	if (k == NULL)
		return;
	cs_ctx_pool_free(k->pool); /* before the key its contexts refer to */
	EVP_PKEY_free(k->pkey);    /* OpenSSL clears private key material on free */
	free(k);
}

enum cs_key_type
cs_key_type(const struct cs_key *k)
{
	return k->type;
}

bool
cs_key_has_private(const struct cs_key *k)
{
	return k != NULL && k->priv;
}

unsigned
cs_key_rsa_bits(const struct cs_key *k)
{
	if (k == NULL || k->type != CS_KEY_RSA)
		return 0;
	return (unsigned)EVP_PKEY_get_bits(k->pkey);
}

void *
cs_key_evp(const struct cs_key *k)
{
	return k != NULL ? k->pkey : NULL;
}

struct cs_ctx_pool *
cs_key_pool(const struct cs_key *k)
{
	return k != NULL ? k->pool : NULL;
}

static int
no_passphrase(char *pass, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
	(void)pass, (void)size, (void)params, (void)arg;
	*len = 0;
	return 0;
}

/* Decodes a key of any supported type, private first, then public; input_type "PEM" or "DER". */
static enum cs_err
decode(const char *input_type, const uint8_t *p, size_t n, struct cs_key **out)
{
	static const int selections[] = {EVP_PKEY_KEYPAIR, EVP_PKEY_PUBLIC_KEY};
	size_t i;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	ENSURE(p != NULL && n > 0, CS_ERR_KEY);
	ENSURE(n <= KEY_MAX_INPUT, CS_ERR_TOO_LARGE);
	for (i = 0; i < sizeof(selections) / sizeof(selections[0]); i++) {
		EVP_PKEY *pkey = NULL;
		OSSL_DECODER_CTX *dctx;
		const unsigned char *data = p;
		size_t len = n;
		int ok;

		dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, input_type, NULL, NULL, selections[i],
		                                     NULL, NULL);
		ENSURE(dctx != NULL, CS_ERR_NOMEM);
		/* Encrypted keys fail to decode: never fall back to prompting on a terminal. */
		ok = OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase, NULL) == 1 &&
		     OSSL_DECODER_from_data(dctx, &data, &len) == 1;
		OSSL_DECODER_CTX_free(dctx);
		ERR_clear_error(); /* a failed attempt leaves nothing for the next caller to trip on
		                    */
		if (ok && pkey != NULL) {
			/* DER must be consumed whole; PEM may carry other blocks after the key. */
			if (strcmp(input_type, "DER") == 0 && len != 0) {
				EVP_PKEY_free(pkey);
				return CS_ERR_TRAILING;
			}
			return cs_key_wrap_evp(pkey, out);
		}
		EVP_PKEY_free(pkey);
	}
	return CS_ERR_KEY;
}

enum cs_err
cs_key_from_pem(const uint8_t *p, size_t n, struct cs_key **out)
{
	return decode("PEM", p, n, out);
}

enum cs_err
cs_key_from_der(const uint8_t *p, size_t n, struct cs_key **out)
{
	return decode("DER", p, n, out);
}

/* Appends the contents of a memory BIO to out. */
static enum cs_err
append_bio(BIO *bio, struct cs_buf *out)
{
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);

	ENSURE(len > 0 && data != NULL, CS_ERR_CRYPTO);
	return cs_buf_append(out, data, (size_t)len);
}

enum cs_err
cs_key_to_pem(const struct cs_key *k, bool want_private, struct cs_buf *out)
{
	enum cs_err err = CS_ERR_CRYPTO;
	bool priv;
	BIO *bio;

	ENSURE(k != NULL && out != NULL, CS_ERR_INVAL);
	priv = want_private && k->priv;
	/* A secure-memory BIO clears its buffer when freed. */
	bio = BIO_new(priv ? BIO_s_secmem() : BIO_s_mem());
	ENSURE(bio != NULL, CS_ERR_NOMEM);
	if (priv ? PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1
	         : PEM_write_bio_PUBKEY(bio, k->pkey) != 1)
		goto out;
	err = append_bio(bio, out);
out:
	BIO_free(bio);
	return err;
}

enum cs_err
cs_key_to_spki_der(const struct cs_key *k, struct cs_buf *out)
{
	unsigned char *der = NULL;
	enum cs_err err;
	int len;

	ENSURE(k != NULL && out != NULL, CS_ERR_INVAL);
	len = i2d_PUBKEY(k->pkey, &der);
	ENSURE(len > 0, CS_ERR_CRYPTO);
	err = cs_buf_append(out, der, (size_t)len);
	OPENSSL_free(der);
	return err;
}

/* Runs the public (and with priv the pairwise) consistency checks on a freshly built key. */
static enum cs_err
check_key(EVP_PKEY *pkey, bool priv)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok;

	ENSURE(ctx != NULL, CS_ERR_NOMEM);
	ok = EVP_PKEY_public_check(ctx) == 1;
	if (ok && priv)
		ok = EVP_PKEY_private_check(ctx) == 1 && EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok ? CS_OK : CS_ERR_KEY;
}

/*
 * Public EC keys are built from a per-curve parameter template made once: duplicating it and
 * setting the point costs about a third of EVP_PKEY_fromdata, which looks the group up and builds
 * it anew on every call (a KBS imports one tee-pubkey per attestation).
 */
static EVP_PKEY *ec_templates[3]; /* P-256, P-384, P-521 parameters; built once, never freed */
static pthread_once_t ec_templates_once = PTHREAD_ONCE_INIT;

static void
build_ec_templates(void)
{
	static const enum cs_key_type types[3] = {CS_KEY_EC_P256, CS_KEY_EC_P384, CS_KEY_EC_P521};

	for (int i = 0; i < 3; i++) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

		if (c != NULL && EVP_PKEY_paramgen_init(c) == 1 &&
		    EVP_PKEY_CTX_set_group_name(c, group_name(types[i])) == 1)
			(void)EVP_PKEY_paramgen(c, &ec_templates[i]);
		EVP_PKEY_CTX_free(c);
	}
	ERR_clear_error();
}

EVP_PKEY *
cs_ec_template(enum cs_key_type t)
{
	if (cs_key_ec_coord_len(t) == 0 ||
	    pthread_once(&ec_templates_once, build_ec_templates) != 0)
		return NULL;
	return ec_templates[t == CS_KEY_EC_P256 ? 0 : t == CS_KEY_EC_P384 ? 1 : 2];
}

/*
 * The public key at point (SEC 1 §2.3.3 uncompressed, 04 || x || y) on curve t, checked: not the
 * identity, coordinates in range, on the curve. Setting the point does that check: the
 * uncompressed form cannot encode the identity, OpenSSL's decoding refuses a coordinate >= p and
 * EC_POINT_set_affine_coordinates a point off the curve (test_key and test_ctxpool pin all
 * three, so an OpenSSL that stopped checking fails them). A separate EVP_PKEY_public_check_quick
 * would check the same again at the cost of a field inversion (~5 us on P-256). The full
 * check's n*Q == O test, a second scalar multiplication, proves nothing more on these curves:
 * their cofactor is 1, so every point on the curve is in the prime-order group.
 */
enum cs_err
cs_ec_public_from_point(enum cs_key_type t, const uint8_t *point, size_t len, EVP_PKEY **out)
{
	EVP_PKEY *tmpl = cs_ec_template(t), *pkey;

	*out = NULL;
	ENSURE(tmpl != NULL, CS_ERR_CRYPTO);
	ENSURE(len == 1 + 2 * cs_key_ec_coord_len(t) && point[0] == 0x04, CS_ERR_KEY);
	pkey = EVP_PKEY_dup(tmpl);
	ENSURE(pkey != NULL, CS_ERR_NOMEM);
	if (EVP_PKEY_set1_encoded_public_key(pkey, point, len) != 1) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return CS_ERR_KEY;
	}
	*out = pkey;
	return CS_OK;
}

/* Builds an EVP_PKEY of the given type from params; selection KEYPAIR or PUBLIC_KEY. */
static enum cs_err
fromdata(const char *type, int selection, OSSL_PARAM *params, EVP_PKEY **pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	int ok;

	*pkey = NULL;
	ENSURE(ctx != NULL, CS_ERR_NOMEM);
	ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
	     EVP_PKEY_fromdata(ctx, pkey, selection, params) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
		return CS_ERR_KEY;
	}
	return CS_OK;
}

enum cs_err
cs_key_ec_from_raw(enum cs_key_type t, const uint8_t *x, size_t xlen, const uint8_t *y, size_t ylen,
                   const uint8_t *d, size_t dlen, struct cs_key **out)
{
	size_t cl = cs_key_ec_coord_len(t);
	enum cs_err err = CS_ERR_KEY;
	uint8_t point[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *dbn = NULL;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	ENSURE(cl != 0, CS_ERR_INVAL);
	ENSURE(x != NULL && y != NULL && xlen == cl && ylen == cl, CS_ERR_KEY);
	ENSURE(d == NULL || dlen == cl, CS_ERR_KEY);
	/* SEC 1 §2.3.3 uncompressed point. */
	point[0] = 0x04;
	memcpy(point + 1, x, cl);
	memcpy(point + 1 + cl, y, cl);
	if (d == NULL) {
		if ((err = cs_ec_public_from_point(t, point, 1 + 2 * cl, &pkey)) != CS_OK)
			return err;
		return cs_key_wrap_evp(pkey, out);
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group_name(t), 0) !=
	            1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * cl) != 1)
		goto out;
	dbn = BN_secure_new();
	if (dbn == NULL || BN_bin2bn(d, (int)dlen, dbn) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, dbn) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL)
		goto out;
	if (fromdata("EC", EVP_PKEY_KEYPAIR, params, &pkey) != CS_OK)
		goto out;
	/* On the curve, not the identity, in the prime-order group; d in range and matching. */
	if (check_key(pkey, true) != CS_OK)
		goto out;
	err = cs_key_wrap_evp(pkey, out);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params); /* OSSL_PARAM_BLD clears secure BN copies */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(dbn);
	return err;
}

/* Writes bn, big-endian, left-padded to len bytes; CS_ERR_KEY if it does not fit. */
static enum cs_err
get_bn_fixed(EVP_PKEY *pkey, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;
	int ok;

	ENSURE(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, CS_ERR_KEY);
	ok = BN_bn2binpad(bn, out, (int)len) == (int)len;
	BN_clear_free(bn);
	return ok ? CS_OK : CS_ERR_KEY;
}

enum cs_err
cs_key_ec_to_raw(const struct cs_key *k, uint8_t *x, uint8_t *y, uint8_t *d)
{
	size_t cl;

	ENSURE(k != NULL && x != NULL && y != NULL, CS_ERR_INVAL);
	cl = cs_key_ec_coord_len(k->type);
	ENSURE(cl != 0, CS_ERR_KEY);
	TRY(get_bn_fixed(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, x, cl));
	TRY(get_bn_fixed(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, y, cl));
	if (d != NULL) {
		if (!k->priv) {
			memset(d, 0, cl);
			return CS_OK;
		}
		TRY(get_bn_fixed(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, d, cl));
	}
	return CS_OK;
}

/* The OpenSSL parameter names of the RSA parts, in struct cs_rsa_parts order after n and e. */
static const char *const rsa_priv_names[] = {
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

static enum cs_err
push_bn(OSSL_PARAM_BLD *bld, const char *name, const uint8_t *p, size_t n, BIGNUM **keep)
{
	BIGNUM *bn;

	ENSURE(p != NULL && n > 0 && n <= RSA_MAX_BITS / 8, CS_ERR_KEY);
	bn = BN_secure_new();
	ENSURE(bn != NULL, CS_ERR_NOMEM);
	*keep = bn; /* freed by the caller, also on failure */
	ENSURE(BN_bin2bn(p, (int)n, bn) != NULL, CS_ERR_NOMEM);
	ENSURE(OSSL_PARAM_BLD_push_BN(bld, name, bn) == 1, CS_ERR_CRYPTO);
	return CS_OK;
}

enum cs_err
cs_key_rsa_from_parts(const struct cs_rsa_parts *parts, struct cs_key **out)
{
	const uint8_t *priv[6];
	size_t priv_len[6], i, nparts = 0;
	BIGNUM *bns[8] = {0};
	enum cs_err err = CS_ERR_KEY;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	ENSURE(out != NULL && parts != NULL, CS_ERR_INVAL);
	*out = NULL;
	priv[0] = parts->d, priv_len[0] = parts->d_len;
	priv[1] = parts->p, priv_len[1] = parts->p_len;
	priv[2] = parts->q, priv_len[2] = parts->q_len;
	priv[3] = parts->dp, priv_len[3] = parts->dp_len;
	priv[4] = parts->dq, priv_len[4] = parts->dq_len;
	priv[5] = parts->qi, priv_len[5] = parts->qi_len;
	for (i = 0; i < 6; i++)
		nparts += priv[i] != NULL;
	/* Public only, d alone, or d with the whole CRT set: nothing in between. */
	ENSURE(nparts == 0 || (priv[0] != NULL && (nparts == 1 || nparts == 6)), CS_ERR_KEY);
	bld = OSSL_PARAM_BLD_new();
	ENSURE(bld != NULL, CS_ERR_NOMEM);
	if ((err = push_bn(bld, OSSL_PKEY_PARAM_RSA_N, parts->n, parts->n_len, &bns[0])) != CS_OK ||
	    (err = push_bn(bld, OSSL_PKEY_PARAM_RSA_E, parts->e, parts->e_len, &bns[1])) != CS_OK)
		goto out;
	for (i = 0; i < nparts; i++)
		if ((err = push_bn(bld, rsa_priv_names[i], priv[i], priv_len[i], &bns[2 + i])) !=
		    CS_OK)
			goto out;
	err = CS_ERR_KEY;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL)
		goto out;
	if (fromdata("RSA", nparts ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params, &pkey) !=
	    CS_OK)
		goto out;
	/* n odd and of an accepted size, e odd and > 1 (SP 800-89 §5.3.3 partial validation). */
	if (check_key(pkey, false) != CS_OK)
		goto out;
	err = cs_key_wrap_evp(pkey, out);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < 8; i++)
		BN_clear_free(bns[i]);
	return err;
}

/* Appends bn in minimal big-endian form (one zero byte for zero). */
static enum cs_err
append_bn(struct cs_buf *out, const BIGNUM *bn, bool with_len)
{
	size_t n = (size_t)BN_num_bytes(bn);
	uint8_t *dst;

	if (n == 0)
		n = 1;
	if (with_len)
		TRY(cs_buf_put_u32be(out, (uint32_t)n));
	TRY(cs_buf_extend(out, n, &dst));
	ENSURE(BN_bn2binpad(bn, dst, (int)n) == (int)n, CS_ERR_CRYPTO);
	return CS_OK;
}

static enum cs_err
append_param(EVP_PKEY *pkey, const char *name, struct cs_buf *out, bool with_len)
{
	BIGNUM *bn = NULL;
	enum cs_err err;

	ENSURE(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, CS_ERR_KEY);
	err = append_bn(out, bn, with_len);
	BN_clear_free(bn);
	return err;
}

enum cs_err
cs_key_rsa_to_parts(const struct cs_key *k, struct cs_buf *n, struct cs_buf *e, struct cs_buf *priv)
{
	size_t i;

	ENSURE(k != NULL && n != NULL && e != NULL, CS_ERR_INVAL);
	ENSURE(k->type == CS_KEY_RSA, CS_ERR_KEY);
	TRY(append_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, n, false));
	TRY(append_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, e, false));
	if (priv == NULL || !k->priv)
		return CS_OK;
	for (i = 0; i < sizeof(rsa_priv_names) / sizeof(rsa_priv_names[0]); i++)
		TRY(append_param(k->pkey, rsa_priv_names[i], priv, true));
	return CS_OK;
}

enum cs_err
cs_key_ed25519_from_raw(const uint8_t *pub, size_t publen, const uint8_t *priv, size_t privlen,
                        struct cs_key **out)
{
	uint8_t derived[32];
	size_t dlen = sizeof(derived);
	EVP_PKEY *pkey;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	ENSURE(pub != NULL && publen == 32, CS_ERR_KEY);
	ENSURE(priv == NULL || privlen == 32, CS_ERR_KEY);
	if (priv == NULL) {
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, publen);
		ENSURE(pkey != NULL, CS_ERR_KEY);
		return cs_key_wrap_evp(pkey, out);
	}
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, privlen);
	ENSURE(pkey != NULL, CS_ERR_KEY);
	/* The public key given must be the one the seed derives (RFC 8032 §5.1.5). */
	if (EVP_PKEY_get_raw_public_key(pkey, derived, &dlen) != 1 || dlen != 32 ||
	    !cs_ct_eq(derived, pub, 32)) {
		EVP_PKEY_free(pkey);
		return CS_ERR_KEY;
	}
	return cs_key_wrap_evp(pkey, out);
}

enum cs_err
cs_key_ed25519_to_raw(const struct cs_key *k, uint8_t pub[32], uint8_t priv[32])
{
	size_t len = 32;

	ENSURE(k != NULL && pub != NULL, CS_ERR_INVAL);
	ENSURE(k->type == CS_KEY_ED25519, CS_ERR_KEY);
	ENSURE(EVP_PKEY_get_raw_public_key(k->pkey, pub, &len) == 1 && len == 32, CS_ERR_KEY);
	if (priv != NULL) {
		if (!k->priv) {
			memset(priv, 0, 32);
			return CS_OK;
		}
		len = 32;
		ENSURE(EVP_PKEY_get_raw_private_key(k->pkey, priv, &len) == 1 && len == 32,
		       CS_ERR_KEY);
	}
	return CS_OK;
}

bool
cs_key_public_eq(const struct cs_key *a, const struct cs_key *b)
{
	if (a == NULL || b == NULL || a->type != b->type)
		return false;
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

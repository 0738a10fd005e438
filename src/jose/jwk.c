/*
 * JWK members per RFC 7518 §6.2 (EC: crv, x, y, d — each exactly the curve's coordinate length,
 * §6.2.1.2), §6.3 (RSA: n, e, d, p, q, dp, dq, qi; no "oth"), §6.4 (oct: k) and RFC 8037 §2
 * (OKP: crv, x, d).
 */
#include <string.h>

#include "base/b64.h"
#include "base/json.h"
#include "base/secret.h"
#include "crypto/hash.h"
#include "jose/jose_int.h"
#include "jose/jwk.h"

#define RSA_PART_MAX 1024 /* bytes: 8192-bit keys */

void
cs_jwk_init(struct cs_jwk *jwk)
{
	memset(jwk, 0, sizeof(*jwk));
}

void
cs_jwk_fini(struct cs_jwk *jwk)
{
	cs_key_free(jwk->key);
	cs_wipe(jwk, sizeof(*jwk));
}

static enum cs_err
set_alg(struct cs_jwk *jwk, const char *alg, size_t n)
{
	ENSURE(n <= CS_JWK_ALG_MAX, CS_ERR_UNSUPPORTED);
	ENSURE(memchr(alg, 0, n) == NULL, CS_ERR_JSON_FIELD);
	memcpy(jwk->alg, alg, n);
	jwk->alg[n] = 0;
	return CS_OK;
}

static enum cs_err
parse_ec(const json_t *obj, struct cs_jwk *out)
{
	uint8_t x[66], y[66], d[66];
	enum cs_key_type t;
	const char *crv;
	size_t crvlen, clen;
	int hx, hy, hd;
	enum cs_err err;

	TRY(cs_json_get_str(obj, "crv", &crv, &crvlen));
	if (cs_jose_streq(crv, crvlen, "P-256"))
		t = CS_KEY_EC_P256;
	else if (cs_jose_streq(crv, crvlen, "P-384"))
		t = CS_KEY_EC_P384;
	else if (cs_jose_streq(crv, crvlen, "P-521"))
		t = CS_KEY_EC_P521;
	else
		return CS_ERR_UNSUPPORTED;
	clen = cs_key_ec_coord_len(t);
	err = cs_jose_get_fixed(obj, "x", x, clen, &hx);
	if (err == CS_OK)
		err = cs_jose_get_fixed(obj, "y", y, clen, &hy);
	if (err == CS_OK)
		err = cs_jose_get_fixed(obj, "d", d, clen, &hd);
	if (err == CS_OK && (!hx || !hy))
		err = CS_ERR_JSON_FIELD;
	if (err == CS_OK)
		err = cs_key_ec_from_raw(t, x, clen, y, clen, hd ? d : NULL, hd ? clen : 0,
		                         &out->key);
	cs_wipe(d, sizeof(d));
	out->kty = CS_JWK_EC;
	return err;
}

/* Appends the base64url member key (at most RSA_PART_MAX bytes) to b; absent is an error. */
static enum cs_err
get_rsa_part(const json_t *obj, const char *key, struct cs_buf *b)
{
	cs_buf_init(b, RSA_PART_MAX);
	TRY(cs_json_get_b64url(obj, key, b));
	ENSURE(b->len > 0, CS_ERR_KEY);
	return CS_OK;
}

static enum cs_err
parse_rsa(const json_t *obj, struct cs_jwk *out)
{
	static const char *const names[8] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
	struct cs_buf b[8];
	struct cs_rsa_parts parts;
	size_t i, nparts = 2;
	enum cs_err err = CS_OK;

	for (i = 0; i < 8; i++)
		cs_buf_init(&b[i], RSA_PART_MAX);
	out->kty = CS_JWK_RSA;
	if (json_object_get(obj, "oth") != NULL) {
		err = CS_ERR_UNSUPPORTED; /* multi-prime keys */
		goto out;
	}
	if (json_object_get(obj, "d") != NULL)
		nparts = 8; /* a private key: all CRT members are required */
	for (i = 0; i < nparts && err == CS_OK; i++)
		err = get_rsa_part(obj, names[i], &b[i]);
	if (err != CS_OK)
		goto out;
	/* RFC 7518 §6.3.1.1: n and e are minimal; a leading zero octet is a malformed key. */
	err = CS_ERR_KEY;
	if (b[0].p[0] == 0 || b[1].p[0] == 0)
		goto out;
	memset(&parts, 0, sizeof(parts));
	parts.n = b[0].p, parts.n_len = b[0].len;
	parts.e = b[1].p, parts.e_len = b[1].len;
	if (nparts == 8) {
		parts.d = b[2].p, parts.d_len = b[2].len;
		parts.p = b[3].p, parts.p_len = b[3].len;
		parts.q = b[4].p, parts.q_len = b[4].len;
		parts.dp = b[5].p, parts.dp_len = b[5].len;
		parts.dq = b[6].p, parts.dq_len = b[6].len;
		parts.qi = b[7].p, parts.qi_len = b[7].len;
	}
	err = cs_key_rsa_from_parts(&parts, &out->key);
out:
	for (i = 0; i < 8; i++)
		cs_buf_fini(&b[i]);
	return err;
}

static enum cs_err
parse_okp(const json_t *obj, struct cs_jwk *out)
{
	uint8_t x[32], d[32];
	const char *crv;
	size_t crvlen;
	int hx, hd;
	enum cs_err err;

	out->kty = CS_JWK_OKP;
	TRY(cs_json_get_str(obj, "crv", &crv, &crvlen));
	ENSURE(cs_jose_streq(crv, crvlen, "Ed25519"), CS_ERR_UNSUPPORTED);
	err = cs_jose_get_fixed(obj, "x", x, sizeof(x), &hx);
	if (err == CS_OK)
		err = cs_jose_get_fixed(obj, "d", d, sizeof(d), &hd);
	if (err == CS_OK && !hx)
		err = CS_ERR_JSON_FIELD;
	if (err == CS_OK)
		err = cs_key_ed25519_from_raw(x, sizeof(x), hd ? d : NULL, hd ? sizeof(d) : 0,
		                              &out->key);
	cs_wipe(d, sizeof(d));
	return err;
}

static enum cs_err
parse_oct(const json_t *obj, struct cs_jwk *out)
{
	struct cs_buf b;
	enum cs_err err;

	out->kty = CS_JWK_OCT;
	cs_buf_init(&b, CS_JWK_OCT_MAX);
	err = cs_json_get_b64url(obj, "k", &b);
	if (err == CS_OK && b.len == 0)
		err = CS_ERR_KEY;
	if (err == CS_OK) {
		memcpy(out->oct, b.p, b.len);
		out->oct_len = b.len;
	}
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_jwk_parse(const json_t *obj, struct cs_jwk *out)
{
	const char *kty, *alg;
	size_t ktylen, alglen;

	cs_jwk_init(out);
	ENSURE(json_is_object(obj), CS_ERR_JSON_FIELD);
	TRY(cs_json_get_str(obj, "kty", &kty, &ktylen));
	if (json_object_get(obj, "alg") != NULL) {
		TRY(cs_json_get_str(obj, "alg", &alg, &alglen));
		TRY(set_alg(out, alg, alglen));
	}
	if (cs_jose_streq(kty, ktylen, "EC"))
		return parse_ec(obj, out);
	if (cs_jose_streq(kty, ktylen, "RSA"))
		return parse_rsa(obj, out);
	if (cs_jose_streq(kty, ktylen, "OKP"))
		return parse_okp(obj, out);
	if (cs_jose_streq(kty, ktylen, "oct"))
		return parse_oct(obj, out);
	return CS_ERR_UNSUPPORTED;
}

enum cs_err
cs_jwk_parse_text(const uint8_t *p, size_t n, struct cs_jwk *out)
{
	json_t *obj;
	enum cs_err err;

	cs_jwk_init(out);
	TRY(cs_json_parse(p, n, CS_JWK_TEXT_MAX, &obj));
	err = cs_jwk_parse(obj, out);
	json_decref(obj);
	return err;
}

enum cs_err
cs_jwk_from_key(struct cs_key *key, const char *alg, struct cs_jwk *out)
{
	cs_jwk_init(out);
	out->key = key;
	switch (cs_key_type(key)) {
	case CS_KEY_EC_P256:
	case CS_KEY_EC_P384:
	case CS_KEY_EC_P521:
		out->kty = CS_JWK_EC;
		break;
	case CS_KEY_RSA:
		out->kty = CS_JWK_RSA;
		break;
	case CS_KEY_ED25519:
		out->kty = CS_JWK_OKP;
		break;
	default:
		cs_jwk_fini(out); /* frees key */
		return CS_ERR_KEY;
	}
	if (alg != NULL && set_alg(out, alg, strlen(alg)) != CS_OK) {
		cs_jwk_fini(out);
		return CS_ERR_UNSUPPORTED;
	}
	return CS_OK;
}

enum cs_err
cs_jwk_from_oct(const uint8_t *k, size_t n, const char *alg, struct cs_jwk *out)
{
	cs_jwk_init(out);
	out->kty = CS_JWK_OCT;
	ENSURE(n > 0 && n <= CS_JWK_OCT_MAX, CS_ERR_KEY);
	memcpy(out->oct, k, n);
	out->oct_len = n;
	if (alg != NULL)
		TRY(set_alg(out, alg, strlen(alg)));
	return CS_OK;
}

static const char *
crv_name(enum cs_key_type t)
{
	switch (t) {
	case CS_KEY_EC_P256:
		return "P-256";
	case CS_KEY_EC_P384:
		return "P-384";
	case CS_KEY_EC_P521:
		return "P-521";
	case CS_KEY_ED25519:
		return "Ed25519";
	default:
		return NULL;
	}
}

static enum cs_err
set_str(json_t *obj, const char *key, const char *val)
{
	json_t *s = json_string(val);

	ENSURE(s != NULL, CS_ERR_NOMEM);
	ENSURE(json_object_set_new(obj, key, s) == 0, CS_ERR_NOMEM);
	return CS_OK;
}

/* Sets the members of the public key (the RFC 7638 required set) and, when priv, the private
 * ones. */
static enum cs_err
fill(const struct cs_jwk *jwk, json_t *o, int priv)
{
	uint8_t x[66], y[66], d[66];
	struct cs_buf n, e, rest;
	enum cs_err err = CS_OK;
	size_t clen;

	switch (jwk->kty) {
	case CS_JWK_EC:
		clen = cs_key_ec_coord_len(cs_key_type(jwk->key));
		TRY(set_str(o, "kty", "EC"));
		TRY(set_str(o, "crv", crv_name(cs_key_type(jwk->key))));
		err = cs_key_ec_to_raw(jwk->key, x, y, priv ? d : NULL);
		if (err == CS_OK)
			err = cs_jose_set_b64url(o, "x", x, clen);
		if (err == CS_OK)
			err = cs_jose_set_b64url(o, "y", y, clen);
		if (err == CS_OK && priv)
			err = cs_jose_set_b64url(o, "d", d, clen);
		cs_wipe(d, sizeof(d));
		return err;
	case CS_JWK_OKP:
		TRY(set_str(o, "kty", "OKP"));
		TRY(set_str(o, "crv", "Ed25519"));
		err = cs_key_ed25519_to_raw(jwk->key, x, priv ? d : NULL);
		if (err == CS_OK)
			err = cs_jose_set_b64url(o, "x", x, 32);
		if (err == CS_OK && priv)
			err = cs_jose_set_b64url(o, "d", d, 32);
		cs_wipe(d, sizeof(d));
		return err;
	case CS_JWK_RSA:
		TRY(set_str(o, "kty", "RSA"));
		cs_buf_init(&n, RSA_PART_MAX);
		cs_buf_init(&e, RSA_PART_MAX);
		cs_buf_init(&rest, 8 * (RSA_PART_MAX + 4));
		err = cs_key_rsa_to_parts(jwk->key, &n, &e, priv ? &rest : NULL);
		if (err == CS_OK)
			err = cs_jose_set_b64url(o, "n", n.p, n.len);
		if (err == CS_OK)
			err = cs_jose_set_b64url(o, "e", e.p, e.len);
		if (err == CS_OK && priv) {
			static const char *const names[6] = {"d", "p", "q", "dp", "dq", "qi"};
			size_t off = 0;

			for (int i = 0; i < 6 && err == CS_OK; i++) {
				uint32_t len;

				err = CS_ERR_KEY;
				if (rest.len - off < 4)
					break;
				len = (uint32_t)rest.p[off] << 24 |
				      (uint32_t)rest.p[off + 1] << 16 |
				      (uint32_t)rest.p[off + 2] << 8 | rest.p[off + 3];
				off += 4;
				if (len > rest.len - off)
					break;
				err = cs_jose_set_b64url(o, names[i], rest.p + off, len);
				off += len;
			}
		}
		cs_buf_fini(&n);
		cs_buf_fini(&e);
		cs_buf_fini(&rest);
		return err;
	case CS_JWK_OCT:
		TRY(set_str(o, "kty", "oct"));
		return cs_jose_set_b64url(o, "k", jwk->oct, jwk->oct_len);
	}
	return CS_ERR_KEY;
}

static enum cs_err
to_json(const struct cs_jwk *jwk, int priv, int with_alg, json_t **out)
{
	json_t *o = json_object();
	enum cs_err err;

	*out = NULL;
	ENSURE(o != NULL, CS_ERR_NOMEM);
	err = fill(jwk, o, priv);
	if (err == CS_OK && with_alg && jwk->alg[0] != 0)
		err = set_str(o, "alg", jwk->alg);
	if (err != CS_OK) {
		json_decref(o); /* may hold secrets: jansson frees without wiping, see report */
		return err;
	}
	*out = o;
	return CS_OK;
}

enum cs_err
cs_jwk_public_json(const struct cs_jwk *jwk, json_t **out)
{
	*out = NULL;
	ENSURE(jwk->kty != CS_JWK_OCT && jwk->key != NULL, CS_ERR_KEY);
	return to_json(jwk, 0, 1, out);
}

enum cs_err
cs_jwk_public_text(const struct cs_jwk *jwk, struct cs_buf *out)
{
	json_t *o;
	enum cs_err err;

	TRY(cs_jwk_public_json(jwk, &o));
	err = cs_jcs(out, o);
	json_decref(o);
	return err;
}

enum cs_err
cs_jwk_private_json(const struct cs_jwk *jwk, json_t **out)
{
	*out = NULL;
	ENSURE(jwk->kty == CS_JWK_OCT || (jwk->key != NULL && cs_key_has_private(jwk->key)),
	       CS_ERR_KEY);
	return to_json(jwk, jwk->kty != CS_JWK_OCT, 1, out);
}

enum cs_err
cs_jwk_thumbprint(const struct cs_jwk *jwk, uint8_t out[32])
{
	struct cs_buf b;
	json_t *o = NULL;
	enum cs_err err;

	ENSURE(jwk->kty == CS_JWK_OCT || jwk->key != NULL, CS_ERR_KEY);
	cs_buf_init(&b, 4 * RSA_PART_MAX);
	if (jwk->kty == CS_JWK_OCT) {
		/* Built by hand so that the secret only ever sits in wiped buffers. */
		err = cs_buf_append_str(&b, "{\"k\":\"");
		if (err == CS_OK)
			err = cs_b64url_encode(&b, jwk->oct, jwk->oct_len);
		if (err == CS_OK)
			err = cs_buf_append_str(&b, "\",\"kty\":\"oct\"}");
	} else {
		err = to_json(jwk, 0, 0, &o);
		if (err == CS_OK)
			err = cs_jcs(&b, o);
		json_decref(o);
	}
	if (err == CS_OK)
		err = cs_hash(CS_SHA256, b.p, b.len, out);
	cs_buf_fini(&b);
	return err;
}

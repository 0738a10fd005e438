/*
 * JWE (RFC 7516) with enc A256GCM (RFC 7518 §5.3: 32-byte CEK, 96-bit IV, 128-bit tag; AAD =
 * ASCII(BASE64URL(UTF8(protected header)))) and the key-management algorithms of RFC 7518 §4.2
 * (RSA1_5), §4.3 (RSA-OAEP-256), §4.5 (dir) and §4.6 (ECDH-ES+A256KW: Concat KDF over Z with
 * AlgorithmID "ECDH-ES+A256KW", keydatalen 256, then AES key wrap of the CEK, 40 bytes).
 *
 * Compact (RFC 7516 §7.1):  BASE64URL(header) '.' ek '.' iv '.' ciphertext '.' tag
 * Flattened (§7.2.2):       {"protected","encrypted_key","iv","ciphertext","tag"}
 */
#include <string.h>

#include "base/b64.h"
#include "base/json.h"
#include "base/secret.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/pke.h"
#include "crypto/rand.h"
#include "jose/jose_int.h"
#include "jose/jwe.h"
#include "jose/jws.h"

#define KW_LEN (CS_JWE_CEK_LEN + 8) /* AES-KW output for a 32-byte CEK */
#define EK_MAX 1024                 /* bytes of an RSA-8192 encrypted key */
#define PARTY_MAX 1024              /* bytes of apu / apv */

static const struct {
	enum cs_jwe_alg alg;
	const char *name;
} algs[] = {
        {CS_JWE_ECDH_ES_A256KW, "ECDH-ES+A256KW"},
        {CS_JWE_RSA_OAEP_256, "RSA-OAEP-256"},
        {CS_JWE_RSA1_5, "RSA1_5"},
        {CS_JWE_DIR, "dir"},
};

const char *
cs_jwe_alg_name(enum cs_jwe_alg alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

enum cs_err
cs_jwe_alg_from_name(const char *s, size_t n, enum cs_jwe_alg *alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (cs_jose_streq(s, n, algs[i].name)) {
			*alg = algs[i].alg;
			return CS_OK;
		}
	}
	return CS_ERR_ALG;
}

/* Whether alg may be used with the JWK: by key type, and equal to the JWK's own "alg". */
static int
alg_fits(enum cs_jwe_alg alg, const struct cs_jwk *jwk)
{
	if (jwk->alg[0] != 0 &&
	    strcmp(jwk->alg, cs_jwe_alg_name(alg) ? cs_jwe_alg_name(alg) : "") != 0)
		return 0;
	switch (alg) {
	case CS_JWE_ECDH_ES_A256KW:
		return jwk->kty == CS_JWK_EC && jwk->key != NULL;
	case CS_JWE_RSA_OAEP_256:
	case CS_JWE_RSA1_5:
		return jwk->kty == CS_JWK_RSA && jwk->key != NULL &&
		       cs_key_rsa_bits(jwk->key) >= CS_RSA_MIN_BITS;
	case CS_JWE_DIR:
		return jwk->kty == CS_JWK_OCT && jwk->oct_len == CS_JWE_CEK_LEN;
	}
	return 0;
}

enum cs_err
cs_jwe_alg_for_jwk(const struct cs_jwk *jwk, enum cs_jwe_alg *alg)
{
	enum cs_jwe_alg a;

	if (jwk->alg[0] != 0)
		TRY(cs_jwe_alg_from_name(jwk->alg, strlen(jwk->alg), &a));
	else if (jwk->kty == CS_JWK_EC)
		a = CS_JWE_ECDH_ES_A256KW;
	else if (jwk->kty == CS_JWK_RSA)
		a = CS_JWE_RSA_OAEP_256;
	else if (jwk->kty == CS_JWK_OCT)
		a = CS_JWE_DIR;
	else
		return CS_ERR_ALG;
	ENSURE(alg_fits(a, jwk), CS_ERR_ALG);
	*alg = a;
	return CS_OK;
}

/* RFC 7518 §4.6.2: the Concat KDF over Z (wiped here, with its buffer). */
static enum cs_err
kdf_z(struct cs_buf *z, const char *alg_id, const uint8_t *apu, size_t apu_len, const uint8_t *apv,
      size_t apv_len, uint8_t *out, size_t out_len)
{
	enum cs_err err = cs_concat_kdf(z->p, z->len, (const uint8_t *)alg_id, strlen(alg_id), apu,
	                                apu_len, apv, apv_len, out, out_len);

	cs_buf_fini(z);
	return err;
}

enum cs_err
cs_jwe_ecdh_es_derive(const struct cs_key *priv, const struct cs_key *pub, const char *alg_id,
                      const uint8_t *apu, size_t apu_len, const uint8_t *apv, size_t apv_len,
                      uint8_t *out, size_t out_len)
{
	struct cs_buf z;
	enum cs_err err;

	cs_buf_init(&z, 66);
	err = cs_ecdh(priv, pub, &z);
	if (err != CS_OK) {
		cs_buf_fini(&z);
		return err;
	}
	return kdf_z(&z, alg_id, apu, apu_len, apv, apv_len, out, out_len);
}

static const char *
crv_name(enum cs_key_type t)
{
	return t == CS_KEY_EC_P256 ? "P-256" : t == CS_KEY_EC_P384 ? "P-384" : "P-521";
}

/*
 * Makes the CEK's wrapping for alg: the encrypted key into ek, and the protected header text,
 * canonical (members sorted, no whitespace), into hdr.
 */
static enum cs_err
wrap_cek(const struct cs_jwk *r, enum cs_jwe_alg alg, const uint8_t cek[CS_JWE_CEK_LEN],
         struct cs_buf *ek, struct cs_buf *hdr)
{
	uint8_t kek[32], x[66], y[66], *w;
	struct cs_buf z;
	enum cs_key_type t;
	size_t clen;
	enum cs_err err;

	switch (alg) {
	case CS_JWE_RSA_OAEP_256:
		TRY(cs_buf_append_str(hdr, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}"));
		return cs_rsa_oaep256_encrypt(r->key, cek, CS_JWE_CEK_LEN, ek);
	case CS_JWE_RSA1_5:
		TRY(cs_buf_append_str(hdr, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}"));
		return cs_rsa_pkcs1_encrypt(r->key, cek, CS_JWE_CEK_LEN, ek);
	case CS_JWE_DIR:
		return cs_buf_append_str(hdr, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}");
	case CS_JWE_ECDH_ES_A256KW:
		break;
	}
	t = cs_key_type(r->key);
	clen = cs_key_ec_coord_len(t);
	cs_buf_init(&z, 66);
	err = cs_ecdh_ephemeral(r->key, x, y, &z);
	if (err == CS_OK)
		err = kdf_z(&z, "ECDH-ES+A256KW", NULL, 0, NULL, 0, kek, sizeof(kek));
	cs_buf_fini(&z);
	if (err == CS_OK)
		err = cs_buf_extend(ek, KW_LEN, &w);
	if (err == CS_OK)
		err = cs_aes_kw_wrap(kek, cek, CS_JWE_CEK_LEN, w);
	if (err == CS_OK)
		err = cs_buf_printf(hdr,
		                    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{"
		                    "\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"",
		                    crv_name(t));
	if (err == CS_OK)
		err = cs_b64url_encode(hdr, x, clen);
	if (err == CS_OK)
		err = cs_buf_append_str(hdr, "\",\"y\":\"");
	if (err == CS_OK)
		err = cs_b64url_encode(hdr, y, clen);
	if (err == CS_OK)
		err = cs_buf_append_str(hdr, "\"}}");
	cs_wipe(kek, sizeof(kek));
	return err;
}

/* Appends ,"name":"<base64url>". */
static enum cs_err
put_member(struct cs_buf *out, const char *name, const uint8_t *p, size_t n)
{
	TRY(cs_buf_printf(out, ",\"%s\":\"", name));
	TRY(cs_b64url_encode(out, p, n));
	return cs_buf_putc(out, '"');
}

enum cs_err
cs_jwe_encrypt(const struct cs_jwk *recipient, enum cs_jwe_alg alg, enum cs_jwe_ser ser,
               const uint8_t *pt, size_t n, struct cs_buf *out)
{
	uint8_t rnd[CS_JWE_CEK_LEN + CS_GCM_IV_LEN], tag[CS_GCM_TAG_LEN], *ct;
	uint8_t *cek = rnd, *iv = rnd + CS_JWE_CEK_LEN;
	struct cs_buf ek, hdr, ctb;
	size_t start = out->len, aad_off, aad_len;
	const uint8_t *key;
	int flat = ser == CS_JWE_FLAT;
	enum cs_err err = CS_ERR_ALG;

	cs_buf_init(&ek, EK_MAX);
	cs_buf_init(&hdr, CS_JWE_HEADER_MAX);
	cs_buf_init(&ctb, n);
	if (alg == 0 && cs_jwe_alg_for_jwk(recipient, &alg) != CS_OK)
		goto out;
	if (cs_jwe_alg_name(alg) == NULL || !alg_fits(alg, recipient))
		goto out;
	err = CS_ERR_INVAL;
	if (ser != CS_JWE_FLAT && ser != CS_JWE_COMPACT)
		goto out;
	key = alg == CS_JWE_DIR ? recipient->oct : cek;
	/* CEK and IV in one draw: each call into OpenSSL's DRBG costs ~0.8 us. */
	err = cs_random(rnd, sizeof(rnd));
	if (err == CS_OK)
		err = wrap_cek(recipient, alg, cek, &ek, &hdr);
	if (err == CS_OK && flat)
		err = cs_buf_append_str(out, "{\"protected\":\"");
	aad_off = out->len;
	if (err == CS_OK)
		err = cs_b64url_encode(out, hdr.p, hdr.len);
	aad_len = out->len - aad_off;
	if (err == CS_OK)
		err = cs_buf_extend(&ctb, n, &ct);
	/* The AAD is borrowed from out, which does not grow until the seal is done. */
	if (err == CS_OK)
		err = cs_gcm_seal(key, iv, out->p + aad_off, aad_len, pt, n, ct, tag);
	if (err != CS_OK)
		goto out;
	if (flat) {
		err = cs_buf_putc(out, '"');
		if (err == CS_OK && ek.len > 0) /* RFC 7516 §7.2.1: absent when empty (dir) */
			err = put_member(out, "encrypted_key", ek.p, ek.len);
		if (err == CS_OK)
			err = put_member(out, "iv", iv, CS_GCM_IV_LEN);
		if (err == CS_OK)
			err = put_member(out, "ciphertext", ct, n);
		if (err == CS_OK)
			err = put_member(out, "tag", tag, sizeof(tag));
		if (err == CS_OK)
			err = cs_buf_putc(out, '}');
	} else {
		err = cs_buf_putc(out, '.');
		if (err == CS_OK)
			err = cs_b64url_encode(out, ek.p, ek.len);
		if (err == CS_OK)
			err = cs_buf_putc(out, '.');
		if (err == CS_OK)
			err = cs_b64url_encode(out, iv, CS_GCM_IV_LEN);
		if (err == CS_OK)
			err = cs_buf_putc(out, '.');
		if (err == CS_OK)
			err = cs_b64url_encode(out, ct, n);
		if (err == CS_OK)
			err = cs_buf_putc(out, '.');
		if (err == CS_OK)
			err = cs_b64url_encode(out, tag, sizeof(tag));
	}
out:
	if (err != CS_OK)
		cs_jose_buf_truncate(out, start);
	cs_wipe(rnd, sizeof(rnd));
	cs_buf_fini(&ek);
	cs_buf_fini(&hdr);
	cs_buf_fini(&ctb);
	return err;
}

/* The five parts of a JWE, borrowed from the input (or from the parsed flattened object). */
struct parts {
	struct cs_jose_part protected, ek, iv, ct, tag;
	const json_t *header; /* flattened only: the per-recipient unprotected header, or NULL */
};

static enum cs_err
get_part(const json_t *o, const char *key, struct cs_jose_part *p, int required)
{
	if (!required && json_object_get(o, key) == NULL) {
		p->p = "";
		p->n = 0;
		return CS_OK;
	}
	return cs_json_get_str(o, key, &p->p, &p->n);
}

/* RFC 7516 §7.2.2 flattened syntax, allow-listed: no aad, no shared unprotected header. */
static enum cs_err
flat_parts(const json_t *o, struct parts *pt)
{
	const char *k;
	json_t *v;

	ENSURE(json_is_object(o), CS_ERR_JSON_FIELD);
	pt->header = NULL;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "protected") == 0 || strcmp(k, "encrypted_key") == 0 ||
		    strcmp(k, "iv") == 0 || strcmp(k, "ciphertext") == 0 || strcmp(k, "tag") == 0)
			continue;
		if (strcmp(k, "header") == 0) {
			ENSURE(json_is_object(v), CS_ERR_JSON_FIELD);
			pt->header = v;
			continue;
		}
		if (strcmp(k, "aad") == 0 || strcmp(k, "unprotected") == 0 ||
		    strcmp(k, "recipients") == 0)
			return CS_ERR_UNSUPPORTED;
		return CS_ERR_PROTOCOL;
	}
	TRY(get_part(o, "protected", &pt->protected, 1));
	TRY(get_part(o, "encrypted_key", &pt->ek, 0));
	TRY(get_part(o, "iv", &pt->iv, 1));
	TRY(get_part(o, "ciphertext", &pt->ct, 1));
	return get_part(o, "tag", &pt->tag, 1);
}

/*
 * Merges the per-recipient unprotected header into h (our parsed copy; the AAD stays the received
 * text). Only "epk" and "kid" may appear there: python-jwcrypto, for one, puts the ephemeral key
 * in it by default. Unauthenticated epk is safe: a different epk gives a different KEK, and the
 * AES key wrap's integrity check (then the GCM tag) fails. Names must not repeat (RFC 7516 §7.2.1).
 */
static enum cs_err
merge_unprotected(json_t *h, const json_t *u)
{
	const char *k;
	json_t *v;

	if (u == NULL)
		return CS_OK;
	json_object_foreach((json_t *)u, k, v)
	{
		ENSURE(strcmp(k, "epk") == 0 || strcmp(k, "kid") == 0, CS_ERR_UNSUPPORTED);
		ENSURE(json_object_get(h, k) == NULL, CS_ERR_PROTOCOL);
		ENSURE(json_object_set(h, k, v) == 0, CS_ERR_NOMEM);
	}
	return CS_OK;
}

/* Header members we understand; anything else (zip, crit, jku, ...) is refused. */
static enum cs_err
check_header(const json_t *h, enum cs_jwe_alg alg)
{
	const char *k, *enc;
	size_t enclen;
	json_t *v;

	TRY(cs_json_get_str(h, "enc", &enc, &enclen));
	ENSURE(cs_jose_streq(enc, enclen, "A256GCM"), CS_ERR_UNSUPPORTED);
	json_object_foreach((json_t *)h, k, v)
	{
		if (strcmp(k, "alg") == 0 || strcmp(k, "enc") == 0 || strcmp(k, "kid") == 0 ||
		    strcmp(k, "typ") == 0 || strcmp(k, "cty") == 0)
			continue;
		if (alg == CS_JWE_ECDH_ES_A256KW &&
		    (strcmp(k, "epk") == 0 || strcmp(k, "apu") == 0 || strcmp(k, "apv") == 0))
			continue;
		return CS_ERR_UNSUPPORTED;
	}
	return CS_OK;
}

/* RFC 7518 §4.6: the CEK from epk (on the recipient's curve), apu, apv and the wrapped key. */
static enum cs_err
unwrap_ecdh(const struct cs_jwk *r, const json_t *h, const struct parts *pt,
            uint8_t cek[CS_JWE_CEK_LEN])
{
	uint8_t kek[32], ek[KW_LEN], x[66], y[66];
	struct cs_buf apu, apv, z;
	enum cs_key_type t = cs_key_type(r->key);
	size_t cl = cs_key_ec_coord_len(t), crvlen, ktylen;
	const char *crv, *kty;
	int hx = 0, hy = 0;
	json_t *e;
	enum cs_err err;

	cs_buf_init(&apu, PARTY_MAX);
	cs_buf_init(&apv, PARTY_MAX);
	cs_buf_init(&z, 66);
	/* The epk is a public EC JWK on the recipient's own curve (RFC 7518 §4.6.1.1). */
	err = cs_json_get_obj(h, "epk", &e);
	if (err == CS_OK && json_object_get(e, "d") != NULL)
		err = CS_ERR_PROTOCOL; /* an ephemeral public key, never a private one */
	if (err == CS_OK)
		err = cs_json_get_str(e, "kty", &kty, &ktylen);
	if (err == CS_OK && !cs_jose_streq(kty, ktylen, "EC"))
		err = CS_ERR_KEY;
	if (err == CS_OK)
		err = cs_json_get_str(e, "crv", &crv, &crvlen);
	if (err == CS_OK && !cs_jose_streq(crv, crvlen, crv_name(t)))
		err = CS_ERR_KEY;
	if (err == CS_OK)
		err = cs_jose_get_fixed(e, "x", x, cl, &hx);
	if (err == CS_OK)
		err = cs_jose_get_fixed(e, "y", y, cl, &hy);
	if (err == CS_OK && (!hx || !hy))
		err = CS_ERR_JSON_FIELD;
	if (err == CS_OK && json_object_get(h, "apu") != NULL)
		err = cs_json_get_b64url(h, "apu", &apu);
	if (err == CS_OK && json_object_get(h, "apv") != NULL)
		err = cs_json_get_b64url(h, "apv", &apv);
	if (err == CS_OK)
		err = cs_b64url_decode_fixed(ek, sizeof(ek), pt->ek.p, pt->ek.n);
	/* Not a point of the recipient's curve: CS_ERR_KEY, public information. */
	if (err == CS_OK)
		err = cs_ecdh_raw_peer(r->key, x, cl, y, cl, &z);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_DECRYPT;
	if (kdf_z(&z, "ECDH-ES+A256KW", apu.p, apu.len, apv.p, apv.len, kek, sizeof(kek)) != CS_OK)
		goto out;
	if (cs_aes_kw_unwrap(kek, ek, sizeof(ek), cek) != CS_OK)
		goto out;
	err = CS_OK;
out:
	cs_wipe(kek, sizeof(kek));
	cs_buf_fini(&z);
	cs_buf_fini(&apu);
	cs_buf_fini(&apv);
	return err;
}

static enum cs_err
unwrap_rsa(const struct cs_jwk *r, enum cs_jwe_alg alg, const struct parts *pt,
           uint8_t cek[CS_JWE_CEK_LEN])
{
	uint8_t fallback[CS_JWE_CEK_LEN];
	struct cs_buf ek, key;
	enum cs_err err;

	cs_buf_init(&ek, EK_MAX);
	cs_buf_init(&key, EK_MAX);
	err = cs_b64url_decode(&ek, pt->ek.p, pt->ek.n);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_DECRYPT;
	if (ek.len == 0)
		goto out;
	if (alg == CS_JWE_RSA1_5) {
		/*
		 * RFC 7516 §11.5: on bad padding continue with a random CEK, so that the failure
		 * surfaces only as the tag mismatch every other wrong key gives.
		 */
		if (cs_random(fallback, sizeof(fallback)) != CS_OK)
			goto out;
		if (cs_rsa_pkcs1_decrypt_key(r->key, ek.p, ek.len, fallback, CS_JWE_CEK_LEN, cek) !=
		    CS_OK)
			goto out;
	} else {
		if (cs_rsa_oaep256_decrypt(r->key, ek.p, ek.len, &key) != CS_OK ||
		    key.len != CS_JWE_CEK_LEN)
			goto out;
		memcpy(cek, key.p, CS_JWE_CEK_LEN);
	}
	err = CS_OK;
out:
	cs_wipe(fallback, sizeof(fallback));
	cs_buf_fini(&ek);
	cs_buf_fini(&key);
	return err;
}

enum cs_err
cs_jwe_decrypt(const struct cs_jwk *recipient, unsigned allow, const uint8_t *in, size_t n,
               size_t max, struct cs_buf *pt)
{
	uint8_t cek[CS_JWE_CEK_LEN], iv[CS_GCM_IV_LEN], tag[CS_GCM_TAG_LEN], *ct, empty = 0;
	struct cs_jose_part five[5];
	struct parts p;
	json_t *o = NULL, *h = NULL;
	const char *name;
	size_t namelen, start = pt->len;
	enum cs_jwe_alg alg;
	enum cs_err err = CS_ERR_TOO_LARGE;

	if (n > max)
		goto out;
	err = CS_ERR_PROTOCOL;
	if (n == 0)
		goto out;
	if (in[0] == '{') {
		err = cs_json_parse(in, n, max, &o);
		if (err == CS_OK)
			err = flat_parts(o, &p);
	} else {
		err = cs_jose_split((const char *)in, n, five, 5);
		p.protected = five[0], p.ek = five[1], p.iv = five[2], p.ct = five[3];
		p.tag = five[4];
		p.header = NULL;
	}
	if (err == CS_OK)
		err = cs_jose_parse_header(p.protected.p, p.protected.n, CS_JWE_HEADER_MAX, &h);
	if (err == CS_OK)
		err = cs_json_get_str(h, "alg", &name, &namelen);
	if (err == CS_OK)
		err = cs_jwe_alg_from_name(name, namelen, &alg);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_ALG;
	if ((allow & alg) == 0 || !alg_fits(alg, recipient))
		goto out;
	err = CS_ERR_KEY;
	if (alg != CS_JWE_DIR && !cs_key_has_private(recipient->key))
		goto out;
	err = merge_unprotected(h, p.header);
	if (err == CS_OK)
		err = check_header(h, alg);
	if (err == CS_OK)
		err = cs_b64url_decode_fixed(iv, sizeof(iv), p.iv.p, p.iv.n);
	if (err == CS_OK)
		err = cs_b64url_decode_fixed(tag, sizeof(tag), p.tag.p, p.tag.n);
	if (err != CS_OK)
		goto out;
	switch (alg) {
	case CS_JWE_ECDH_ES_A256KW:
		err = unwrap_ecdh(recipient, h, &p, cek);
		break;
	case CS_JWE_RSA_OAEP_256:
	case CS_JWE_RSA1_5:
		err = unwrap_rsa(recipient, alg, &p, cek);
		break;
	case CS_JWE_DIR:
		err = p.ek.n == 0 ? CS_OK : CS_ERR_PROTOCOL;
		memcpy(cek, recipient->oct, CS_JWE_CEK_LEN);
		break;
	}
	if (err != CS_OK)
		goto out;
	/* Ciphertext decoded straight into pt and opened in place; wiped there on failure. */
	err = cs_b64url_decode(pt, p.ct.p, p.ct.n);
	if (err != CS_OK)
		goto out;
	ct = pt->len > start ? pt->p + start : &empty;
	err = cs_gcm_open(cek, iv, (const uint8_t *)p.protected.p, p.protected.n, ct,
	                  pt->len - start, tag, ct);
	if (err != CS_OK)
		goto out;
	err = CS_OK; /* the only line that grants success */
out:
	if (err != CS_OK)
		cs_jose_buf_truncate(pt, start);
	cs_wipe(cek, sizeof(cek));
	json_decref(h);
	json_decref(o);
	return err;
}

/*
 * Compact JWS (RFC 7515 §7.1): BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature),
 * the signature over the ASCII of the first two parts. Algorithms per RFC 7518 §3.3 (RS256),
 * §3.4 (ES*, raw r||s of exactly twice the coordinate length), §3.5 (PS256, salt = hash length)
 * and RFC 8037 §3.1 (EdDSA over Ed25519).
 */
#include <string.h>

#include "base/b64.h"
#include "base/json.h"
#include "crypto/sig.h"
#include "jose/jose_int.h"
#include "jose/jws.h"

#define SIG_MAX 1024 /* bytes: RSA-8192 */

static const struct {
	enum cs_jws_alg alg;
	const char *name;
} algs[] = {
        {CS_JWS_ES256, "ES256"}, {CS_JWS_ES384, "ES384"}, {CS_JWS_ES512, "ES512"},
        {CS_JWS_EDDSA, "EdDSA"}, {CS_JWS_RS256, "RS256"}, {CS_JWS_PS256, "PS256"},
};

const char *
cs_jws_alg_name(enum cs_jws_alg alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

enum cs_err
cs_jws_alg_from_name(const char *s, size_t n, enum cs_jws_alg *alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (cs_jose_streq(s, n, algs[i].name)) {
			*alg = algs[i].alg;
			return CS_OK;
		}
	}
	return CS_ERR_ALG;
}

enum cs_err
cs_jws_alg_for_key(const struct cs_key *k, enum cs_jws_alg *alg)
{
	switch (cs_key_type(k)) {
	case CS_KEY_EC_P256:
		*alg = CS_JWS_ES256;
		return CS_OK;
	case CS_KEY_EC_P384:
		*alg = CS_JWS_ES384;
		return CS_OK;
	case CS_KEY_EC_P521:
		*alg = CS_JWS_ES512;
		return CS_OK;
	case CS_KEY_ED25519:
		*alg = CS_JWS_EDDSA;
		return CS_OK;
	case CS_KEY_RSA:
		*alg = CS_JWS_RS256;
		return CS_OK;
	}
	return CS_ERR_KEY;
}

/* Whether alg may be used with k: the key type decides, never the token. */
static int
alg_fits(enum cs_jws_alg alg, const struct cs_key *k)
{
	switch (alg) {
	case CS_JWS_ES256:
		return cs_key_type(k) == CS_KEY_EC_P256;
	case CS_JWS_ES384:
		return cs_key_type(k) == CS_KEY_EC_P384;
	case CS_JWS_ES512:
		return cs_key_type(k) == CS_KEY_EC_P521;
	case CS_JWS_EDDSA:
		return cs_key_type(k) == CS_KEY_ED25519;
	case CS_JWS_RS256:
	case CS_JWS_PS256:
		return cs_key_type(k) == CS_KEY_RSA && cs_key_rsa_bits(k) >= CS_RSA_MIN_BITS;
	}
	return 0;
}

static enum cs_err
do_sign(enum cs_jws_alg alg, const struct cs_key *k, const uint8_t *m, size_t n, struct cs_buf *sig)
{
	switch (alg) {
	case CS_JWS_ES256:
		return cs_ecdsa_sign(k, CS_SHA256, m, n, sig);
	case CS_JWS_ES384:
		return cs_ecdsa_sign(k, CS_SHA384, m, n, sig);
	case CS_JWS_ES512:
		return cs_ecdsa_sign(k, CS_SHA512, m, n, sig);
	case CS_JWS_EDDSA:
		return cs_ed25519_sign(k, m, n, sig);
	case CS_JWS_RS256:
		return cs_rsa_pkcs1_sign(k, CS_SHA256, m, n, sig);
	case CS_JWS_PS256:
		return cs_rsa_pss_sign(k, CS_SHA256, -1, m, n, sig);
	}
	return CS_ERR_ALG;
}

static enum cs_err
do_verify(enum cs_jws_alg alg, const struct cs_key *k, const uint8_t *m, size_t n,
          const uint8_t *sig, size_t siglen)
{
	switch (alg) {
	case CS_JWS_ES256:
	case CS_JWS_ES384:
	case CS_JWS_ES512:
		ENSURE(siglen == 2 * cs_key_ec_coord_len(cs_key_type(k)), CS_ERR_SIGNATURE);
		return cs_ecdsa_verify(k,
		                       alg == CS_JWS_ES256   ? CS_SHA256
		                       : alg == CS_JWS_ES384 ? CS_SHA384
		                                             : CS_SHA512,
		                       m, n, sig, siglen, CS_ECDSA_RAW_BE);
	case CS_JWS_EDDSA:
		return cs_ed25519_verify(k, m, n, sig, siglen);
	case CS_JWS_RS256:
		return cs_rsa_pkcs1_verify(k, CS_SHA256, m, n, sig, siglen);
	case CS_JWS_PS256:
		return cs_rsa_pss_verify(k, CS_SHA256, -1, m, n, sig, siglen);
	}
	return CS_ERR_SIGNATURE;
}

enum cs_err
cs_jws_sign(enum cs_jws_alg alg, const struct cs_key *k, const json_t *extra, const uint8_t *p,
            size_t n, struct cs_buf *out)
{
	struct cs_buf hdr, sig;
	json_t *h = NULL, *name;
	size_t start = out->len;
	enum cs_err err = CS_ERR_ALG;

	cs_buf_init(&hdr, CS_JWS_HEADER_MAX);
	cs_buf_init(&sig, SIG_MAX);
	if (cs_jws_alg_name(alg) == NULL || !alg_fits(alg, k))
		goto out;
	if (extra == NULL) {
		err = cs_buf_printf(&hdr, "{\"alg\":\"%s\"}", cs_jws_alg_name(alg));
	} else {
		err = CS_ERR_JSON_FIELD;
		if (!json_is_object(extra))
			goto out;
		err = CS_ERR_NOMEM;
		h = json_deep_copy(extra);
		name = json_string(cs_jws_alg_name(alg));
		if (h == NULL || name == NULL || json_object_set_new(h, "alg", name) != 0)
			goto out;
		err = cs_jcs(&hdr, h);
	}
	if (err == CS_OK)
		err = cs_b64url_encode(out, hdr.p, hdr.len);
	if (err == CS_OK)
		err = cs_buf_putc(out, '.');
	if (err == CS_OK)
		err = cs_b64url_encode(out, p, n);
	if (err == CS_OK)
		err = do_sign(alg, k, out->p + start, out->len - start, &sig);
	if (err == CS_OK)
		err = cs_buf_putc(out, '.');
	if (err == CS_OK)
		err = cs_b64url_encode(out, sig.p, sig.len);
out:
	if (err != CS_OK)
		cs_jose_buf_truncate(out, start);
	json_decref(h);
	cs_buf_fini(&hdr);
	cs_buf_fini(&sig);
	return err;
}

enum cs_err
cs_jws_peek_header(const char *tok, size_t n, size_t max, json_t **header)
{
	struct cs_jose_part parts[3];

	*header = NULL;
	ENSURE(n <= (max ? max : CS_JWS_MAX_DEFAULT), CS_ERR_TOO_LARGE);
	TRY(cs_jose_split(tok, n, parts, 3));
	return cs_jose_parse_header(parts[0].p, parts[0].n, CS_JWS_HEADER_MAX, header);
}

enum cs_err
cs_jws_verify(const char *tok, size_t n, size_t max, unsigned allow, const struct cs_key *k,
              struct cs_buf *payload, json_t **header, enum cs_jws_alg *alg_out)
{
	struct cs_jose_part parts[3];
	struct cs_buf sig;
	json_t *h = NULL;
	const char *name;
	size_t namelen, start = payload->len;
	enum cs_jws_alg alg;
	enum cs_err err;

	if (header != NULL)
		*header = NULL;
	cs_buf_init(&sig, SIG_MAX);
	err = CS_ERR_TOO_LARGE;
	if (n > (max ? max : CS_JWS_MAX_DEFAULT))
		goto out;
	err = cs_jose_split(tok, n, parts, 3);
	if (err == CS_OK)
		err = cs_jose_parse_header(parts[0].p, parts[0].n, CS_JWS_HEADER_MAX, &h);
	if (err != CS_OK)
		goto out;
	err = cs_json_get_str(h, "alg", &name, &namelen);
	if (err != CS_OK)
		goto out;
	err = cs_jws_alg_from_name(name, namelen, &alg);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_ALG;
	if ((allow & alg) == 0 || !alg_fits(alg, k))
		goto out;
	/* We implement no extension, so any critical one (and RFC 7797 "b64") is refused. */
	err = CS_ERR_UNSUPPORTED;
	if (json_object_get(h, "crit") != NULL || json_object_get(h, "b64") != NULL)
		goto out;
	err = cs_b64url_decode(&sig, parts[2].p, parts[2].n);
	if (err == CS_ERR_TOO_LARGE)
		err = CS_ERR_SIGNATURE;
	if (err != CS_OK)
		goto out;
	err = CS_ERR_SIGNATURE;
	if (sig.len == 0)
		goto out;
	if (do_verify(alg, k, (const uint8_t *)tok, parts[0].n + 1 + parts[1].n, sig.p, sig.len) !=
	    CS_OK)
		goto out;
	err = cs_b64url_decode(payload, parts[1].p, parts[1].n);
	if (err != CS_OK)
		goto out;
	if (alg_out != NULL)
		*alg_out = alg;
	if (header != NULL) {
		*header = h;
		h = NULL;
	}
	err = CS_OK; /* the only line that grants success */
out:
	if (err != CS_OK)
		cs_jose_buf_truncate(payload, start);
	json_decref(h);
	cs_buf_fini(&sig);
	return err;
}

/*
 * RCAR message parsing and the report-data binding (see rcar.h; Trustee kbs/src/attestation,
 * attestation-service/src/lib.rs::parse_runtime_data, guest-components rcar_client.rs).
 */
#include <string.h>

#include "attest/rcar.h"
#include "base/buf.h"
#include "base/json.h"
#include "crypto/hash.h"

/* Copies a string member of at most cap - 1 bytes into dst. */
static enum cs_err
get_str_into(const json_t *obj, const char *key, char *dst, size_t cap)
{
	const char *s;
	size_t n;

	TRY(cs_json_get_str(obj, key, &s, &n));
	ENSURE(n > 0 && n < cap, CS_ERR_JSON_FIELD);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return CS_OK;
}

enum cs_err
cs_auth_req_parse(const uint8_t *p, size_t n, struct cs_auth_req *out)
{
	enum cs_err err;
	json_t *root = NULL, *v;

	memset(out, 0, sizeof(*out));
	if ((err = cs_json_parse(p, n, CS_RCAR_AUTH_MAX, &root)) != CS_OK)
		return err;
	err = CS_ERR_JSON_FIELD;
	if (!json_is_object(root))
		goto out;
	if ((err = get_str_into(root, "version", out->version, sizeof(out->version))) != CS_OK)
		goto out;
	if ((err = get_str_into(root, "tee", out->tee, sizeof(out->tee))) != CS_OK)
		goto out;
	/* kbs_types::Request: extra-params is required. Clients send an object (guest-components:
	 * supported-hash-algorithms) or, in older versions, a string; nothing else is meaningful.
	 */
	v = json_object_get(root, "extra-params");
	if (!json_is_object(v) && !json_is_string(v)) {
		err = CS_ERR_JSON_FIELD;
		goto out;
	}
	err = CS_OK;
out:
	json_decref(root);
	return err;
}

/* kbs_types::TeePubKey, tagged by kty: only the members it knows, all required strings. */
enum cs_err
cs_tee_pubkey_canon(const json_t *jwk, json_t **out)
{
	static const char *const ec[] = {"kty", "crv", "alg", "x", "y"};
	static const char *const rsa[] = {"kty", "alg", "n", "e"};
	const char *const *names;
	size_t count;
	const char *kty, *s;
	size_t len;
	json_t *o;

	*out = NULL;
	ENSURE(json_is_object(jwk), CS_ERR_KEY);
	ENSURE(cs_json_get_str(jwk, "kty", &kty, &len) == CS_OK, CS_ERR_KEY);
	if (strcmp(kty, "EC") == 0) {
		names = ec;
		count = sizeof(ec) / sizeof(ec[0]);
	} else if (strcmp(kty, "RSA") == 0) {
		names = rsa;
		count = sizeof(rsa) / sizeof(rsa[0]);
	} else {
		return CS_ERR_UNSUPPORTED;
	}
	o = json_object();
	ENSURE(o != NULL, CS_ERR_NOMEM);
	for (size_t i = 0; i < count; i++) {
		if (cs_json_get_str(jwk, names[i], &s, &len) != CS_OK ||
		    json_object_set_new(o, names[i], json_stringn(s, len)) != 0) {
			json_decref(o);
			return CS_ERR_KEY;
		}
	}
	*out = o;
	return CS_OK;
}

enum cs_err
cs_attest_req_parse(const uint8_t *p, size_t n, size_t max, struct cs_attest_req *out)
{
	json_t *rt, *ev, *init, *pk;
	const char *fmt;
	size_t fmt_len;

	memset(out, 0, sizeof(*out));
	out->additional_evidence = "";
	TRY(cs_json_parse(p, n, max, &out->root));
	ENSURE(json_is_object(out->root), CS_ERR_JSON_FIELD);

	TRY(cs_json_get_obj(out->root, "runtime-data", &rt));
	TRY(cs_json_get_str(rt, "nonce", &out->nonce, &out->nonce_len));
	ENSURE(out->nonce_len <= CS_RCAR_NONCE_TEXT_MAX, CS_ERR_TOO_LARGE);
	pk = json_object_get(rt, "tee-pubkey");
	ENSURE(json_is_object(pk), CS_ERR_JSON_FIELD);
	TRY(cs_tee_pubkey_canon(pk, &out->tee_pubkey));

	TRY(cs_json_get_obj(out->root, "tee-evidence", &ev));
	out->primary_evidence = json_object_get(ev, "primary_evidence");
	ENSURE(out->primary_evidence != NULL, CS_ERR_JSON_FIELD);
	/* kbs_types::CompositeEvidence.additional_evidence is a required String (guest-components
	 * always sends it, "" when there is no device). */
	TRY(cs_json_get_str(ev, "additional_evidence", &out->additional_evidence,
	                    &out->additional_evidence_len));

	init = json_object_get(out->root, "init-data");
	if (init != NULL && !json_is_null(init)) {
		ENSURE(json_is_object(init), CS_ERR_JSON_FIELD);
		TRY(cs_json_get_str(init, "format", &fmt, &fmt_len));
		ENSURE(strcmp(fmt, "toml") == 0, CS_ERR_UNSUPPORTED);
		TRY(cs_json_get_str(init, "body", &out->init_data, &out->init_data_len));
		ENSURE(out->init_data_len <= CS_INIT_DATA_MAX, CS_ERR_TOO_LARGE);
	}
	return CS_OK;
}

void
cs_attest_req_fini(struct cs_attest_req *r)
{
	json_decref(r->tee_pubkey);
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

/* SHA-384 of the JCS form of obj into out (48 bytes). */
static enum cs_err
jcs_sha384(const json_t *obj, uint8_t out[48])
{
	struct cs_buf b;
	enum cs_err err;

	cs_buf_init(&b, (size_t)4 << 20);
	err = cs_jcs(&b, obj);
	if (err == CS_OK)
		err = cs_hash(CS_SHA384, b.p, b.len, out);
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_report_data(const char *ae, size_t ae_len, const char *nonce, size_t nonce_len,
               const json_t *tee_pubkey, uint8_t out[CS_REPORT_DATA_LEN])
{
	enum cs_err err;
	json_t *o;

	memset(out, 0, CS_REPORT_DATA_LEN);
	o = json_pack("{s:s%,s:s%,s:O}", "additional-evidence", ae, ae_len, "nonce", nonce,
	              nonce_len, "tee-pubkey", tee_pubkey);
	ENSURE(o != NULL, CS_ERR_NOMEM);
	err = jcs_sha384(o, out);
	json_decref(o);
	return err;
}

enum cs_err
cs_device_nonce(const char *nonce, size_t nonce_len, const json_t *tee_pubkey,
                uint8_t out[CS_DEVICE_NONCE_LEN])
{
	uint8_t h[48];
	enum cs_err err;
	json_t *o;

	o = json_pack("{s:s%,s:O}", "nonce", nonce, nonce_len, "tee-pubkey", tee_pubkey);
	ENSURE(o != NULL, CS_ERR_NOMEM);
	err = jcs_sha384(o, h);
	json_decref(o);
	if (err == CS_OK)
		memcpy(out, h, CS_DEVICE_NONCE_LEN);
	return err;
}

/*
 * Reads `key = "value"` lines of the TOML's root table (before the first `[`), keeping only
 * version and algorithm. Basic strings without escapes and literal strings are understood; a
 * wanted key with any other value form is refused rather than guessed at.
 */
static enum cs_err
toml_root_str(const char *s, size_t n, const char *key, const char **val, size_t *val_len)
{
	size_t klen = strlen(key), i = 0;
	int found = 0;

	while (i < n) {
		size_t end = i, a, b;

		while (end < n && s[end] != '\n')
			end++;
		a = i;
		while (a < end && (s[a] == ' ' || s[a] == '\t'))
			a++;
		if (a < end && s[a] == '[')
			break; /* the first table header ends the root table */
		if (a + klen < end && memcmp(s + a, key, klen) == 0 &&
		    (s[a + klen] == ' ' || s[a + klen] == '\t' || s[a + klen] == '=')) {
			b = a + klen;
			while (b < end && (s[b] == ' ' || s[b] == '\t'))
				b++;
			ENSURE(b < end && s[b] == '=', CS_ERR_INVAL);
			b++;
			while (b < end && (s[b] == ' ' || s[b] == '\t'))
				b++;
			ENSURE(b < end && (s[b] == '"' || s[b] == '\''), CS_ERR_INVAL);
			char q = s[b];
			size_t v = b + 1, e = v;
			while (e < end && s[e] != q && s[e] != '\\')
				e++;
			ENSURE(e < end && s[e] == q && e > v, CS_ERR_INVAL);
			/* After the closing quote: only blanks, a comment or a CR. */
			for (size_t t = e + 1; t < end && s[t] != '#'; t++)
				ENSURE(s[t] == ' ' || s[t] == '\t' || s[t] == '\r', CS_ERR_INVAL);
			ENSURE(!found, CS_ERR_INVAL); /* TOML forbids duplicate keys */
			found = 1;
			*val = s + v;
			*val_len = e - v;
		}
		i = end + 1;
	}
	ENSURE(found, CS_ERR_INVAL);
	return CS_OK;
}

enum cs_err
cs_init_data_digest(const char *body, size_t n, uint8_t out[64], size_t *len)
{
	const char *alg, *ver;
	size_t alg_len, ver_len;
	enum cs_hash h;

	ENSURE(n <= CS_INIT_DATA_MAX, CS_ERR_TOO_LARGE);
	ENSURE(memchr(body, '\0', n) == NULL, CS_ERR_INVAL);
	TRY(toml_root_str(body, n, "version", &ver, &ver_len));
	TRY(toml_root_str(body, n, "algorithm", &alg, &alg_len));
	if (alg_len == 6 && memcmp(alg, "sha256", 6) == 0)
		h = CS_SHA256;
	else if (alg_len == 6 && memcmp(alg, "sha384", 6) == 0)
		h = CS_SHA384;
	else if (alg_len == 6 && memcmp(alg, "sha512", 6) == 0)
		h = CS_SHA512;
	else
		return CS_ERR_UNSUPPORTED;
	*len = cs_hash_len(h);
	return cs_hash(h, (const uint8_t *)body, n, out);
}

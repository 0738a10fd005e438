#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/rcar.h"
#include "base/b64.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/secret.h"
#include "crypto/key.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/jwt.h"

#define CHALLENGE_MAX (64u * 1024)
#define JWE_MAX (CS_RCAR_RESOURCE_MAX * 2)
#define REQUEST_MAX (4u << 20)
#define TOKEN_EARLY_S 10 /* re-attest this long before the token's exp */

struct cs_rcar {
	struct cs_http http;
	char *base; /* owned: the KBS URL without a trailing '/' */
	const struct cs_tee_ops *tee;
	char *init_data;   /* owned copy of cfg->init_data, or NULL */
	struct cs_jwk key; /* ephemeral key of the current session; kty unset when none */
	bool have_key;
	char *token; /* owned, NUL-terminated; NULL when none */
	size_t token_len;
	int64_t exp;
	char cookie[CS_HTTP_COOKIE_MAX + 1];
	char detail[CS_RCAR_DETAIL_MAX];
};

enum cs_err
cs_rcar_check_path(const char *path)
{
	int segs = 0;
	size_t seglen = 0;

	for (const char *p = path;; p++) {
		char c = *p;

		if (c == '/' || c == '\0') {
			if (seglen == 0)
				return CS_ERR_PATH;
			segs++;
			seglen = 0;
			if (c == '\0')
				break;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return CS_ERR_PATH;
		if (seglen == 0 && c == '.')
			return CS_ERR_PATH; /* also rules out "." and ".." */
		if (++seglen > 255)
			return CS_ERR_PATH;
	}
	return segs == 3 ? CS_OK : CS_ERR_PATH;
}

enum cs_err
cs_rcar_report_data(enum cs_hash h, const char *nonce, const json_t *tee_pubkey, const char *ae,
                    uint8_t out[CS_REPORT_DATA_LEN])
{
	uint8_t dg[CS_HASH_MAX_LEN];
	struct cs_buf b;
	json_t *o;
	enum cs_err err = CS_ERR_NOMEM;
	size_t n = cs_hash_len(h);

	cs_buf_init(&b, 1u << 20);
	o = json_pack("{s:s, s:s, s:O}", "additional-evidence", ae, "nonce", nonce, "tee-pubkey",
	              tee_pubkey);
	if (o == NULL)
		goto out;
	if ((err = cs_jcs(&b, o)) != CS_OK)
		goto out;
	if ((err = cs_hash(h, b.p, b.len, dg)) != CS_OK)
		goto out;
	memset(out, 0, CS_REPORT_DATA_LEN);
	memcpy(out, dg, n < CS_REPORT_DATA_LEN ? n : CS_REPORT_DATA_LEN);
out:
	json_decref(o);
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_rcar_peek_claims(const char *tok, size_t n, json_t **claims)
{
	const char *d1, *d2;
	struct cs_buf b;
	enum cs_err err;

	*claims = NULL;
	/* Compact JWS is base64url and dots only: anything else (CR, LF, spaces) must never reach
	 * the Authorization header this token is later sent in. */
	for (size_t i = 0; i < n; i++) {
		char c = tok[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return CS_ERR_TOKEN;
	}
	d1 = memchr(tok, '.', n);
	if (d1 == NULL)
		return CS_ERR_TOKEN;
	d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok));
	if (d2 == NULL || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - tok)) != NULL)
		return CS_ERR_TOKEN;
	cs_buf_init(&b, CS_RCAR_TOKEN_MAX);
	err = cs_b64url_decode(&b, d1 + 1, (size_t)(d2 - d1 - 1));
	if (err == CS_OK)
		err = cs_json_parse(b.p, b.len, CS_RCAR_TOKEN_MAX, claims);
	if (err == CS_OK && !json_is_object(*claims)) {
		json_decref(*claims);
		*claims = NULL;
		err = CS_ERR_TOKEN;
	}
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_rcar_new(const struct cs_rcar_cfg *cfg, struct cs_rcar **out)
{
	struct cs_rcar *r;
	size_t n;
	enum cs_err err;

	*out = NULL;
	if (cfg->kbs_url == NULL || cfg->tee == NULL || cfg->tee->attest == NULL)
		return CS_ERR_INVAL;
	if (strncmp(cfg->kbs_url, "http://", 7) != 0 && strncmp(cfg->kbs_url, "https://", 8) != 0)
		return CS_ERR_INVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CS_ERR_NOMEM;
	cs_jwk_init(&r->key);
	r->tee = cfg->tee;
	if ((r->base = strdup(cfg->kbs_url)) == NULL) {
		free(r);
		return CS_ERR_NOMEM;
	}
	if (cfg->init_data != NULL && (r->init_data = strdup(cfg->init_data)) == NULL) {
		cs_rcar_free(r);
		return CS_ERR_NOMEM;
	}
	for (n = strlen(r->base); n > 0 && r->base[n - 1] == '/'; n--)
		r->base[n - 1] = '\0';
	if ((err = cs_http_init(&r->http, &cfg->http)) != CS_OK) {
		cs_rcar_free(r);
		return err;
	}
	*out = r;
	return CS_OK;
}

void
cs_rcar_forget(struct cs_rcar *r)
{
	if (r->token != NULL) {
		cs_wipe(r->token, r->token_len);
		free(r->token);
	}
	r->token = NULL;
	r->token_len = 0;
	r->exp = 0;
	cs_wipe(r->cookie, sizeof(r->cookie));
	if (r->have_key)
		cs_jwk_fini(&r->key);
	cs_jwk_init(&r->key);
	r->have_key = false;
}

void
cs_rcar_free(struct cs_rcar *r)
{
	if (r == NULL)
		return;
	cs_rcar_forget(r);
	cs_http_fini(&r->http);
	free(r->init_data);
	free(r->base);
	free(r);
}

const char *
cs_rcar_detail(const struct cs_rcar *r)
{
	return r->detail;
}

const char *
cs_rcar_token(const struct cs_rcar *r, int64_t *exp)
{
	if (exp != NULL)
		*exp = r->exp;
	return r->token;
}

enum cs_err
cs_rcar_key_pem(const struct cs_rcar *r, struct cs_buf *out)
{
	if (!r->have_key)
		return CS_ERR_STATE;
	return cs_key_to_pem(r->key.key, true, out);
}

/* The error for a non-2xx status; the server's reason goes to r->detail. */
static enum cs_err
status_err(struct cs_rcar *r, const struct cs_http_resp *resp)
{
	cs_http_problem_detail(resp, r->detail, sizeof(r->detail));
	switch (resp->status) {
	case 401:
		return CS_ERR_UNAUTHENTICATED;
	case 403:
		return CS_ERR_DENIED;
	case 404:
		return CS_ERR_NOT_FOUND;
	case 413:
		return CS_ERR_TOO_LARGE;
	case 429:
		return CS_ERR_RATE_LIMIT;
	default:
		return CS_ERR_PROTOCOL;
	}
}

/* Sends method url with the session cookie (if any), extra header (may be NULL) and body. */
static enum cs_err
kbs_send(struct cs_rcar *r, const char *method, const char *path, const char *extra,
         const struct cs_buf *body, struct cs_http_resp *resp)
{
	char cookie[CS_HTTP_COOKIE_MAX + 32];
	const char *hdrs[4];
	struct cs_buf url;
	size_t nh = 0;
	enum cs_err err;

	cs_buf_init(&url, 4096);
	if ((err = cs_buf_printf(&url, "%s%s", r->base, path)) != CS_OK)
		goto out;
	if (body != NULL)
		hdrs[nh++] = "Content-Type: application/json";
	if (r->cookie[0] != '\0') {
		snprintf(cookie, sizeof(cookie), "Cookie: kbs-session-id=%s", r->cookie);
		hdrs[nh++] = cookie;
	}
	if (extra != NULL)
		hdrs[nh++] = extra;
	hdrs[nh] = NULL;
	err = cs_http_do(&r->http, method, (const char *)url.p, hdrs, body ? body->p : NULL,
	                 body ? body->len : 0, resp);
	if (err == CS_OK && resp->cookie[0] != '\0')
		memcpy(r->cookie, resp->cookie, sizeof(r->cookie));
	cs_wipe(cookie, sizeof(cookie));
out:
	cs_buf_fini(&url);
	return err;
}

enum cs_err
cs_rcar_parse_challenge(const uint8_t *p, size_t n0, char **nonce, enum cs_hash *h)
{
	json_t *c = NULL, *ep;
	const char *s, *alg;
	size_t n, alen;
	enum cs_err err;

	*nonce = NULL;
	*h = CS_SHA384;
	if ((err = cs_json_parse(p, n0, CHALLENGE_MAX, &c)) != CS_OK)
		goto out;
	err = CS_ERR_JSON_FIELD;
	if (!json_is_object(c) || cs_json_get_str(c, "nonce", &s, &n) != CS_OK || n == 0)
		goto out;
	/* Trustee sends "extra-params": "" (a string) for every TEE but IBM SE, which sends
	 * {"selected-hash-algorithm": ...}; the client uses SHA-384 unless one is selected. */
	ep = json_object_get(c, "extra-params");
	if (json_is_object(ep) &&
	    cs_json_get_str(ep, "selected-hash-algorithm", &alg, &alen) == CS_OK) {
		if (strcmp(alg, "sha256") == 0)
			*h = CS_SHA256;
		else if (strcmp(alg, "sha384") == 0)
			*h = CS_SHA384;
		else if (strcmp(alg, "sha512") == 0)
			*h = CS_SHA512;
		else {
			err = CS_ERR_UNSUPPORTED;
			goto out;
		}
	} else if (ep != NULL && !json_is_string(ep) && !json_is_object(ep)) {
		goto out;
	}
	if ((*nonce = strndup(s, n)) == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	err = CS_OK;
out:
	json_decref(c);
	return err;
}

static enum cs_err
take_token(struct cs_rcar *r, const struct cs_buf *b)
{
	json_t *o = NULL, *claims = NULL;
	const char *s;
	size_t n;
	int64_t exp = 0;
	enum cs_err err;

	if ((err = cs_json_parse(b->p, b->len, CS_RCAR_TOKEN_MAX + 1024, &o)) != CS_OK)
		goto out;
	err = CS_ERR_JSON_FIELD;
	if (!json_is_object(o) || cs_json_get_str(o, "token", &s, &n) != CS_OK || n == 0)
		goto out;
	/* The agent cannot verify the token (it does not hold the broker's key); it reads exp
	 * only to know when to re-attest. The broker verifies it on every use. */
	if ((err = cs_rcar_peek_claims(s, n, &claims)) != CS_OK)
		goto out;
	if (json_object_get(claims, "exp") != NULL &&
	    (err = cs_json_get_int(claims, "exp", &exp)) != CS_OK)
		goto out;
	/* An unverified value from the network: a NumericDate is a positive count of seconds, and
	 * anything else (0, negative, INT64_MIN) is refused rather than used in time arithmetic. */
	err = CS_ERR_TOKEN;
	if (json_object_get(claims, "exp") != NULL && exp <= 0)
		goto out;
	err = CS_ERR_NOMEM;
	if ((r->token = strndup(s, n)) == NULL)
		goto out;
	r->token_len = n;
	r->exp = exp;
	err = CS_OK;
out:
	json_decref(claims);
	json_decref(o);
	return err;
}

enum cs_err
cs_rcar_attest(struct cs_rcar *r)
{
	uint8_t rd[CS_REPORT_DATA_LEN];
	struct cs_key *k = NULL;
	json_t *req = NULL, *jwk = NULL, *ev = NULL;
	struct cs_http_resp resp;
	struct cs_buf body;
	char *nonce = NULL;
	enum cs_hash h;
	enum cs_err err;

	cs_rcar_forget(r);
	r->detail[0] = '\0';
	cs_buf_init(&body, REQUEST_MAX);
	cs_http_resp_init(&resp, 0);

	/* A fresh key per session: a token is bound to exactly one key, never reused. */
	if ((err = cs_key_generate(CS_KEY_EC_P256, 0, &k)) != CS_OK)
		goto out;
	err = cs_jwk_from_key(k, "ECDH-ES+A256KW", &r->key);
	k = NULL; /* taken, also on failure */
	if (err != CS_OK)
		goto out;
	r->have_key = true;
	if ((err = cs_jwk_public_json(&r->key, &jwk)) != CS_OK)
		goto out;

	/* Request. */
	err = CS_ERR_NOMEM;
	req = json_pack("{s:s, s:s, s:{s:[s,s,s]}}", "version", CS_RCAR_VERSION, "tee",
	                r->tee->name, "extra-params", "supported-hash-algorithms", "sha384",
	                "sha256", "sha512");
	if (req == NULL)
		goto out;
	if ((err = cs_json_dump(&body, req)) != CS_OK)
		goto out;
	if ((err = kbs_send(r, "POST", "/kbs/v0/auth", NULL, &body, &resp)) != CS_OK)
		goto out;
	if (resp.status != 200) {
		err = status_err(r, &resp);
		goto out;
	}
	/* Challenge. */
	err = CS_ERR_PROTOCOL;
	if (r->cookie[0] == '\0')
		goto out; /* no session to attest in */
	if ((err = cs_rcar_parse_challenge(resp.body.p, resp.body.len, &nonce, &h)) != CS_OK)
		goto out;

	/* Attestation: the evidence binds the nonce and our key (DESIGN.md §5). */
	if ((err = cs_rcar_report_data(h, nonce, jwk, "", rd)) != CS_OK)
		goto out;
	if ((err = r->tee->attest(rd, &ev)) != CS_OK)
		goto out;
	json_decref(req);
	req = json_pack("{s:{s:s, s:O}, s:{s:o, s:s}}", "runtime-data", "nonce", nonce,
	                "tee-pubkey", jwk, "tee-evidence", "primary_evidence", ev,
	                "additional_evidence", "");
	ev = NULL; /* taken by json_pack, also on failure */
	if (req == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	/* guest-components sends init-data when it has some, always as TOML. */
	if (r->init_data != NULL && json_object_set_new(req, "init-data",
	                                                json_pack("{s:s, s:s}", "format", "toml",
	                                                          "body", r->init_data)) != 0) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	cs_buf_reset(&body);
	if ((err = cs_json_dump(&body, req)) != CS_OK)
		goto out;
	if ((err = kbs_send(r, "POST", "/kbs/v0/attest", NULL, &body, &resp)) != CS_OK)
		goto out;
	if (resp.status != 200) {
		err = status_err(r, &resp);
		if (err == CS_ERR_UNAUTHENTICATED || err == CS_ERR_DENIED)
			err = CS_ERR_VERIFY; /* Trustee answers a failed attestation with 401 */
		goto out;
	}
	err = take_token(r, &resp.body);
out:
	if (err != CS_OK)
		cs_rcar_forget(r);
	cs_wipe(rd, sizeof(rd));
	free(nonce);
	json_decref(ev);
	json_decref(req);
	json_decref(jwk);
	cs_key_free(k);
	cs_http_resp_fini(&resp);
	cs_buf_fini(&body);
	return err;
}

enum cs_err
cs_rcar_get_resource(struct cs_rcar *r, const char *path, struct cs_buf *out)
{
	struct cs_http_resp resp;
	struct cs_buf url, auth;
	enum cs_err err;

	if ((err = cs_rcar_check_path(path)) != CS_OK)
		return err;
	cs_buf_init(&url, 4096);
	cs_buf_init(&auth, CS_RCAR_TOKEN_MAX + 64);
	cs_http_resp_init(&resp, 0);
	if ((err = cs_buf_printf(&url, "/kbs/v0/resource/%s", path)) != CS_OK)
		goto out;
	err = CS_ERR_UNAUTHENTICATED;
	for (int tries = 0; tries < CS_RCAR_MAX_TRIES; tries++) {
		if (r->token != NULL && r->exp != 0 && r->exp <= cs_clock_now() + TOKEN_EARLY_S)
			cs_rcar_forget(r);
		if (r->token == NULL && (err = cs_rcar_attest(r)) != CS_OK)
			goto out;
		/* Both the session cookie (guest-components' kbs_protocol client) and the token
		 * (its CDH): either authenticates, and the broker verifies the token either way. */
		cs_buf_reset(&auth);
		if ((err = cs_buf_printf(&auth, "Authorization: Bearer %s", r->token)) != CS_OK)
			goto out;
		if ((err = kbs_send(r, "GET", (const char *)url.p, (const char *)auth.p, NULL,
		                    &resp)) != CS_OK)
			goto out;
		if (resp.status == 200) {
			err = cs_jwe_decrypt(&r->key, CS_JWE_ECDH_ES_A256KW, resp.body.p,
			                     resp.body.len, JWE_MAX, out);
			goto out;
		}
		err = status_err(r, &resp);
		if (err != CS_ERR_UNAUTHENTICATED)
			goto out;
		/* 401: the token or session is no longer good (or, from Trustee, any failure):
		 * attest again with a new key and retry, a bounded number of times. */
		cs_rcar_forget(r);
	}
out:
	cs_http_resp_fini(&resp);
	cs_buf_fini(&auth);
	cs_buf_fini(&url);
	return err;
}

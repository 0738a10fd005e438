/* JWT (RFC 7519): claims set checks of §4.1.4 (exp), §4.1.5 (nbf) and §4.1.6 (iat). */
#include <math.h>

#include "base/json.h"
#include "jose/jwt.h"

/* Reads the optional NumericDate key into *t (floored); *present says whether it was there. */
static enum cs_err
get_time(const json_t *claims, const char *key, int64_t *t, int *present)
{
	const json_t *v = json_object_get(claims, key);
	double d;

	*present = v != NULL;
	if (v == NULL)
		return CS_OK;
	if (json_is_integer(v)) {
		*t = (int64_t)json_integer_value(v);
		return CS_OK;
	}
	ENSURE(json_is_real(v), CS_ERR_TOKEN);
	d = floor(json_real_value(v));
	ENSURE(d > -9.2e18 && d < 9.2e18, CS_ERR_TOKEN);
	*t = (int64_t)d;
	return CS_OK;
}

/* a + b, saturating, for times and leeways that come from input. */
static int64_t
sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

enum cs_err
cs_jwt_verify(const char *tok, size_t n, size_t max, unsigned allow, const struct cs_key *k,
              int64_t now, int64_t leeway, unsigned flags, json_t **claims, json_t **header)
{
	struct cs_buf payload;
	json_t *c = NULL, *h = NULL;
	int64_t t;
	int present;
	enum cs_err err;

	*claims = NULL;
	if (header != NULL)
		*header = NULL;
	cs_buf_init(&payload, CS_JWT_CLAIMS_MAX);
	err = cs_jws_verify(tok, n, max, allow, k, &payload, &h, NULL);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_TOKEN;
	if (payload.len == 0)
		goto out;
	err = cs_json_parse(payload.p, payload.len, CS_JWT_CLAIMS_MAX, &c);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_TOKEN;
	if (!json_is_object(c))
		goto out;
	err = get_time(c, "exp", &t, &present);
	if (err == CS_OK && !present && (flags & CS_JWT_REQUIRE_EXP))
		err = CS_ERR_TOKEN;
	if (err == CS_OK && present && t <= sat_add(now, -leeway))
		err = CS_ERR_EXPIRED;
	if (err == CS_OK)
		err = get_time(c, "nbf", &t, &present);
	if (err == CS_OK && present && t > sat_add(now, leeway))
		err = CS_ERR_NOT_YET_VALID;
	if (err == CS_OK)
		err = get_time(c, "iat", &t, &present);
	if (err == CS_OK && present && t > sat_add(now, leeway))
		err = CS_ERR_NOT_YET_VALID;
	if (err != CS_OK)
		goto out;
	*claims = c;
	c = NULL;
	if (header != NULL) {
		*header = h;
		h = NULL;
	}
	err = CS_OK; /* the only line that grants success */
out:
	json_decref(c);
	json_decref(h);
	cs_buf_fini(&payload);
	return err;
}

enum cs_err
cs_jwt_issue(enum cs_jws_alg alg, const struct cs_key *k, const json_t *claims,
             const json_t *extra_header, struct cs_buf *out)
{
	struct cs_buf body;
	json_t *h;
	enum cs_err err;

	ENSURE(json_is_object(claims), CS_ERR_JSON_FIELD);
	ENSURE(extra_header == NULL || json_is_object(extra_header), CS_ERR_JSON_FIELD);
	h = extra_header != NULL ? json_deep_copy(extra_header) : json_object();
	ENSURE(h != NULL, CS_ERR_NOMEM);
	cs_buf_init(&body, CS_JWT_CLAIMS_MAX);
	err = CS_ERR_NOMEM;
	if (json_object_get(h, "typ") == NULL && json_object_set_new(h, "typ", json_string("JWT")))
		goto out;
	err = cs_jcs(&body, claims);
	if (err == CS_OK)
		err = cs_jws_sign(alg, k, h, body.p, body.len, out);
out:
	json_decref(h);
	cs_buf_fini(&body);
	return err;
}

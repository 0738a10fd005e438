/*
 * Reference-value registration messages (Trustee rvps/src/lib.rs, `Message`; the sample
 * extractor, rvps/src/extractors/sample) and the in-memory set policies look values up in.
 */
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "policy/rv.h"

void
cs_rv_set_init(struct cs_rv_set *s)
{
	memset(s, 0, sizeof(*s));
}

static void
rv_fini(struct cs_rv *r)
{
	free(r->name);
	json_decref(r->values);
}

void
cs_rv_set_fini(struct cs_rv_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		rv_fini(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static struct cs_rv *
find(const struct cs_rv_set *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i].name) == len && memcmp(s->v[i].name, name, len) == 0)
			return &s->v[i];
	return NULL;
}

const struct cs_rv *
cs_rv_set_get(const struct cs_rv_set *s, const char *name, size_t len)
{
	return find(s, name, len);
}

/* A name is 1..CS_RV_MAX_NAME bytes of printable ASCII, as the store's names are. */
static int
name_ok(const char *name, size_t len)
{
	if (len == 0 || len > CS_RV_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
			return 0;
	return 1;
}

/* An array of at most CS_RV_MAX_VALUES strings of at most CS_RV_MAX_VALUE bytes, no NUL. */
static int
values_ok(const json_t *values)
{
	size_t i;
	json_t *v;

	if (!json_is_array(values) || json_array_size(values) > CS_RV_MAX_VALUES)
		return 0;
	json_array_foreach(values, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) > CS_RV_MAX_VALUE ||
		    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
			return 0;
	}
	return 1;
}

enum cs_err
cs_rv_set_put(struct cs_rv_set *s, const char *name, size_t len, json_t *values, int64_t expires)
{
	struct cs_rv *r;
	char *copy;

	ENSURE(name_ok(name, len), CS_ERR_INVAL);
	ENSURE(values != NULL, CS_ERR_INVAL);
	if ((copy = malloc(len + 1)) == NULL)
		return CS_ERR_NOMEM;
	memcpy(copy, name, len);
	copy[len] = '\0';
	if ((r = find(s, name, len)) != NULL) {
		rv_fini(r);
	} else {
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 8;
			struct cs_rv *v = realloc(s->v, cap * sizeof(*v));
			if (v == NULL) {
				free(copy);
				return CS_ERR_NOMEM;
			}
			s->v = v;
			s->cap = cap;
		}
		r = &s->v[s->n++];
	}
	r->name = copy;
	r->values = json_incref(values);
	r->expires = expires;
	return CS_OK;
}

enum cs_err
cs_rv_parse_message(const uint8_t *p, size_t n, int64_t now, struct cs_rv_set *out)
{
	enum cs_err err;
	json_t *msg = NULL, *payload = NULL, *values;
	const char *version, *type, *b64, *exp, *key;
	size_t vlen, tlen, blen, elen;
	int64_t expires = now + CS_RV_DEFAULT_TTL;
	struct cs_buf raw;
	struct cs_rv_set tmp;

	cs_buf_init(&raw, CS_RV_MAX_MSG);
	cs_rv_set_init(&tmp);
	if ((err = cs_json_parse(p, n, CS_RV_MAX_MSG, &msg)) != CS_OK)
		goto out;
	err = CS_ERR_JSON_FIELD;
	if (!json_is_object(msg))
		goto out;
	json_object_foreach(msg, key, values)
	{
		if (strcmp(key, "version") != 0 && strcmp(key, "type") != 0 &&
		    strcmp(key, "payload") != 0 && strcmp(key, "expiration") != 0)
			goto out;
	}
	if ((err = cs_json_get_str(msg, "version", &version, &vlen)) != CS_OK ||
	    (err = cs_json_get_str(msg, "type", &type, &tlen)) != CS_OK ||
	    (err = cs_json_get_str(msg, "payload", &b64, &blen)) != CS_OK)
		goto out;
	err = CS_ERR_UNSUPPORTED;
	if (strcmp(version, "0.1.0") != 0 || strcmp(type, "sample") != 0)
		goto out;
	if (json_object_get(msg, "expiration") != NULL) {
		if ((err = cs_json_get_str(msg, "expiration", &exp, &elen)) != CS_OK ||
		    (err = cs_time_parse_rfc3339(exp, elen, &expires)) != CS_OK)
			goto out;
		err = CS_ERR_EXPIRED;
		if (expires <= now)
			goto out;
	}
	if ((err = cs_b64_decode(&raw, b64, blen)) != CS_OK ||
	    (err = cs_json_parse(raw.p, raw.len, CS_RV_MAX_MSG, &payload)) != CS_OK)
		goto out;
	err = CS_ERR_JSON_FIELD;
	if (!json_is_object(payload))
		goto out;
	json_object_foreach(payload, key, values)
	{
		err = CS_ERR_INVAL;
		if (!values_ok(values) ||
		    (err = cs_rv_set_put(&tmp, key, strlen(key), values, expires)) != CS_OK)
			goto out;
	}
	/* All or nothing: only a wholly valid message changes out. */
	for (size_t i = 0; i < tmp.n; i++)
		if ((err = cs_rv_set_put(out, tmp.v[i].name, strlen(tmp.v[i].name), tmp.v[i].values,
		                         tmp.v[i].expires)) != CS_OK)
			goto out;
	err = CS_OK;
out:
	json_decref(msg);
	json_decref(payload);
	cs_buf_fini(&raw);
	cs_rv_set_fini(&tmp);
	return err;
}

static json_t *
set_lookup(void *ctx, const char *name, size_t len, int64_t now)
{
	const struct cs_rv *r = find(ctx, name, len);

	/* Expired values never match. */
	if (r == NULL || now >= r->expires)
		return NULL;
	return json_incref(r->values);
}

struct cs_rv_source
cs_rv_set_source(const struct cs_rv_set *s, int64_t now)
{
	struct cs_rv_source src = {.lookup = set_lookup, .ctx = (void *)s, .now = now};

	return src;
}

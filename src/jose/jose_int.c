#include <string.h>

#include "base/b64.h"
#include "base/json.h"
#include "base/secret.h"
#include "jose/jose_int.h"

enum cs_err
cs_jose_set_b64url(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
	struct cs_buf b;
	json_t *s;
	enum cs_err err;

	cs_buf_init(&b, cs_b64url_enc_len(n) + 1);
	err = cs_b64url_encode(&b, p, n);
	if (err != CS_OK)
		goto out;
	s = json_stringn(b.len ? (const char *)b.p : "", b.len);
	err = CS_ERR_NOMEM;
	if (s == NULL || json_object_set_new(obj, key, s) != 0)
		goto out;
	err = CS_OK;
out:
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_jose_get_fixed(const json_t *obj, const char *key, uint8_t *dst, size_t n, int *present)
{
	const char *s;
	size_t len;

	*present = 0;
	if (json_object_get(obj, key) == NULL)
		return CS_OK;
	TRY(cs_json_get_str(obj, key, &s, &len));
	TRY(cs_b64url_decode_fixed(dst, n, s, len));
	*present = 1;
	return CS_OK;
}

int
cs_jose_streq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

enum cs_err
cs_jose_split(const char *s, size_t n, struct cs_jose_part *parts, size_t want)
{
	size_t i, k = 0, start = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		ENSURE(c > 0x20 && c < 0x7f, CS_ERR_ENCODING);
		if (c != '.')
			continue;
		ENSURE(k + 1 < want, CS_ERR_PROTOCOL);
		parts[k].p = s + start;
		parts[k].n = i - start;
		k++;
		start = i + 1;
	}
	ENSURE(k + 1 == want, CS_ERR_PROTOCOL);
	parts[k].p = s + start;
	parts[k].n = n - start;
	return CS_OK;
}

enum cs_err
cs_jose_parse_header(const char *s, size_t n, size_t max, json_t **out)
{
	struct cs_buf b;
	json_t *h = NULL;
	enum cs_err err;

	*out = NULL;
	cs_buf_init(&b, max);
	err = CS_ERR_TOO_LARGE;
	if (n / 4 * 3 > max)
		goto out;
	err = cs_b64url_decode(&b, s, n);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_JSON;
	if (b.len == 0)
		goto out;
	err = cs_json_parse(b.p, b.len, max, &h);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_JSON_FIELD;
	if (!json_is_object(h))
		goto out;
	*out = h;
	h = NULL;
	err = CS_OK;
out:
	json_decref(h);
	cs_buf_fini(&b);
	return err;
}

void
cs_jose_buf_truncate(struct cs_buf *b, size_t len)
{
	if (b->p == NULL || len >= b->len)
		return;
	cs_wipe(b->p + len, b->len - len);
	b->len = len;
}

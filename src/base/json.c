/*
 * JSON input with limits, and RFC 8785 (JCS) output.
 *
 * Parsing: jansson validates UTF-8, rejects NUL escapes and, with JSON_REJECT_DUPLICATES,
 * duplicate members. Its own depth limit is 2048, far above ours, so nesting is measured first by a
 * linear pre-scan that tracks strings and escapes; nothing is allocated for an input that fails it.
 *
 * JCS (RFC 8785 §3.2): no whitespace; literals as is; strings with only '"', '\\' and C0 controls
 * escaped (\b \t \n \f \r short forms, others \u00xx in lower case); numbers as ECMAScript's
 * Number.prototype.toString would print the IEEE 754 double (§3.2.2.3); object members sorted
 * by their names' UTF-16 code units (§3.2.3), recursively.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/json.h"

/* Nesting depth of a JSON text, or CS_ERR_JSON_DEPTH once it passes the limit. */
static enum cs_err
check_depth(const uint8_t *p, size_t n)
{
	size_t depth = 0;
	int in_str = 0, esc = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case '[':
		case '{':
			ENSURE(++depth <= CS_JSON_MAX_DEPTH, CS_ERR_JSON_DEPTH);
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case '\0':
			return CS_ERR_JSON;
		default:
			break;
		}
	}
	return CS_OK;
}

enum cs_err
cs_json_parse(const uint8_t *p, size_t n, size_t max, json_t **out)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	ENSURE(n <= max, CS_ERR_TOO_LARGE);
	ENSURE(p != NULL || n == 0, CS_ERR_INVAL);
	TRY(check_depth(p, n));
	v = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	/* An integer beyond int64 is still a JSON number (RFC 8259 §6, and what JCS prints for
	 * 1e20): read such a document with every number as a double, as ECMAScript would. */
	if (v == NULL && json_error_code(&jerr) == json_error_numeric_overflow)
		v = json_loadb((const char *)p, n,
		               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
		               &jerr);
	if (v == NULL)
		return json_error_code(&jerr) == json_error_invalid_utf8 ? CS_ERR_UTF8
		                                                         : CS_ERR_JSON;
	*out = v;
	return CS_OK;
}

/* RFC 8785 §3.2.2.2. s is valid UTF-8 (jansson guarantees it). */
static enum cs_err
jcs_string(struct cs_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	TRY(cs_buf_putc(out, '"'));
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
		size_t elen = 2;

		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			if (c >= 0x20) {
				TRY(cs_buf_putc(out, c));
				continue;
			}
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
			break;
		}
		TRY(cs_buf_append(out, esc, elen));
	}
	return cs_buf_putc(out, '"');
}

/*
 * ECMAScript Number::toString for a finite double (ECMA-262 §6.1.6.1.20), as RFC 8785 §3.2.2.3
 * requires. The shortest digit string that reads back as d comes from %.*e at increasing
 * precision: glibc rounds exactly, so the first precision that round-trips yields the k digits and
 * the exponent ECMAScript calls s and n, and among k-digit candidates the closest one.
 */
static enum cs_err
jcs_number(struct cs_buf *out, double d)
{
	char tmp[40], digits[20];
	int k = 0, n, exp10;

	ENSURE(isfinite(d), CS_ERR_JSON_NUMBER);
	if (d == 0)
		return cs_buf_putc(out, '0'); /* also -0 */
	if (d < 0) {
		TRY(cs_buf_putc(out, '-'));
		d = -d;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* tmp is "D[.DDD]e±XX". */
	const char *e = strchr(tmp, 'e');
	ENSURE(e != NULL, CS_ERR_JSON_NUMBER);
	for (const char *c = tmp; c < e; c++)
		if (*c != '.')
			digits[k++] = *c;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	exp10 = (int)strtol(e + 1, NULL, 10);
	n = exp10 + 1;

	if (k <= n && n <= 21) {
		TRY(cs_buf_append(out, digits, (size_t)k));
		for (int i = 0; i < n - k; i++)
			TRY(cs_buf_putc(out, '0'));
	} else if (0 < n && n <= 21) {
		TRY(cs_buf_append(out, digits, (size_t)n));
		TRY(cs_buf_putc(out, '.'));
		TRY(cs_buf_append(out, digits + n, (size_t)(k - n)));
	} else if (-6 < n && n <= 0) {
		TRY(cs_buf_append_str(out, "0."));
		for (int i = 0; i < -n; i++)
			TRY(cs_buf_putc(out, '0'));
		TRY(cs_buf_append(out, digits, (size_t)k));
	} else {
		TRY(cs_buf_putc(out, (uint8_t)digits[0]));
		if (k > 1) {
			TRY(cs_buf_putc(out, '.'));
			TRY(cs_buf_append(out, digits + 1, (size_t)(k - 1)));
		}
		TRY(cs_buf_printf(out, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1)));
	}
	return CS_OK;
}

/* Next UTF-16 code unit of a UTF-8 string; *pending holds a low surrogate still to come. */
static unsigned
utf16_next(const uint8_t **p, const uint8_t *end, unsigned *pending)
{
	unsigned cp;
	uint8_t c;

	if (*pending) {
		cp = *pending;
		*pending = 0;
		return cp;
	}
	c = *(*p)++;
	if (c < 0x80) {
		cp = c;
	} else if (c < 0xe0) {
		cp = (unsigned)(c & 0x1f) << 6;
		if (*p < end)
			cp |= *(*p)++ & 0x3fu;
	} else if (c < 0xf0) {
		cp = (unsigned)(c & 0x0f) << 12;
		for (int i = 1; i >= 0 && *p < end; i--)
			cp |= (unsigned)(*(*p)++ & 0x3f) << (6 * i);
	} else {
		cp = (unsigned)(c & 0x07) << 18;
		for (int i = 2; i >= 0 && *p < end; i--)
			cp |= (unsigned)(*(*p)++ & 0x3f) << (6 * i);
	}
	if (cp >= 0x10000) {
		cp -= 0x10000;
		*pending = 0xdc00 | (cp & 0x3ff);
		return 0xd800 | (cp >> 10);
	}
	return cp;
}

struct member {
	const char *key;
	size_t len;
	json_t *val;
};

static int
cmp_utf16(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	const uint8_t *p = (const uint8_t *)x->key, *pe = p + x->len;
	const uint8_t *q = (const uint8_t *)y->key, *qe = q + y->len;
	unsigned pp = 0, qp = 0;

	while ((p < pe || pp) && (q < qe || qp)) {
		unsigned u = utf16_next(&p, pe, &pp), v = utf16_next(&q, qe, &qp);
		if (u != v)
			return u < v ? -1 : 1;
	}
	if (p < pe || pp)
		return 1;
	if (q < qe || qp)
		return -1;
	return 0;
}

static enum cs_err
jcs_value(struct cs_buf *out, const json_t *v, int depth)
{
	ENSURE(depth <= CS_JSON_MAX_DEPTH, CS_ERR_JSON_DEPTH);
	switch (json_typeof(v)) {
	case JSON_NULL:
		return cs_buf_append_str(out, "null");
	case JSON_TRUE:
		return cs_buf_append_str(out, "true");
	case JSON_FALSE:
		return cs_buf_append_str(out, "false");
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);
		/* Exactly a double and below 1e21: ECMAScript prints the integer's digits, which
		 * is what jcs_number's search (up to 17 printf + strtod rounds) would find. */
		if (i >= -((json_int_t)1 << 53) && i <= (json_int_t)1 << 53)
			return cs_buf_printf(out, "%lld", (long long)i);
		return jcs_number(out, (double)i);
	}
	case JSON_REAL:
		return jcs_number(out, json_real_value(v));
	case JSON_STRING:
		return jcs_string(out, json_string_value(v), json_string_length(v));
	case JSON_ARRAY:
		TRY(cs_buf_putc(out, '['));
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				TRY(cs_buf_putc(out, ','));
			TRY(jcs_value(out, json_array_get(v, i), depth + 1));
		}
		return cs_buf_putc(out, ']');
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		struct member *m;
		enum cs_err err = CS_OK;
		void *it;

		if (n == 0)
			return cs_buf_append_str(out, "{}");
		m = calloc(n, sizeof(*m));
		ENSURE(m != NULL, CS_ERR_NOMEM);
		for (it = json_object_iter((json_t *)v); it != NULL && i < n;
		     it = json_object_iter_next((json_t *)v, it), i++) {
			m[i].key = json_object_iter_key(it);
			m[i].len = json_object_iter_key_len(it);
			m[i].val = json_object_iter_value(it);
		}
		qsort(m, i, sizeof(*m), cmp_utf16);
		err = cs_buf_putc(out, '{');
		for (size_t j = 0; j < i && err == CS_OK; j++) {
			if (j > 0)
				err = cs_buf_putc(out, ',');
			if (err == CS_OK)
				err = jcs_string(out, m[j].key, m[j].len);
			if (err == CS_OK)
				err = cs_buf_putc(out, ':');
			if (err == CS_OK)
				err = jcs_value(out, m[j].val, depth + 1);
		}
		free(m);
		TRY(err);
		return cs_buf_putc(out, '}');
	}
	}
	return CS_ERR_JSON;
}

enum cs_err
cs_jcs(struct cs_buf *out, const json_t *v)
{
	ENSURE(v != NULL, CS_ERR_INVAL);
	return jcs_value(out, v, 0);
}

static int
dump_cb(const char *p, size_t n, void *data)
{
	return cs_buf_append(data, p, n) == CS_OK ? 0 : -1;
}

enum cs_err
cs_json_dump(struct cs_buf *out, const json_t *v)
{
	ENSURE(v != NULL, CS_ERR_INVAL);
	ENSURE(json_dump_callback(v, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY) == 0,
	       CS_ERR_TOO_LARGE);
	return CS_OK;
}

enum cs_err
cs_json_get_str(const json_t *obj, const char *key, const char **s, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	ENSURE(json_is_string(v), CS_ERR_JSON_FIELD);
	/* jansson rejects \u0000 on input, but values built in memory may hold a NUL. */
	ENSURE(strlen(json_string_value(v)) == json_string_length(v), CS_ERR_JSON_FIELD);
	*s = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return CS_OK;
}

enum cs_err
cs_json_get_obj(const json_t *obj, const char *key, json_t **v)
{
	json_t *x = json_object_get(obj, key);

	ENSURE(json_is_object(x), CS_ERR_JSON_FIELD);
	*v = x;
	return CS_OK;
}

enum cs_err
cs_json_get_arr(const json_t *obj, const char *key, json_t **v)
{
	json_t *x = json_object_get(obj, key);

	ENSURE(json_is_array(x), CS_ERR_JSON_FIELD);
	*v = x;
	return CS_OK;
}

enum cs_err
cs_json_get_int(const json_t *obj, const char *key, int64_t *v)
{
	json_t *x = json_object_get(obj, key);

	ENSURE(json_is_integer(x), CS_ERR_JSON_FIELD);
	*v = json_integer_value(x);
	return CS_OK;
}

enum cs_err
cs_json_get_bool(const json_t *obj, const char *key, int *v)
{
	json_t *x = json_object_get(obj, key);

	ENSURE(json_is_boolean(x), CS_ERR_JSON_FIELD);
	*v = json_is_true(x);
	return CS_OK;
}

enum cs_err
cs_json_get_b64url(const json_t *obj, const char *key, struct cs_buf *out)
{
	const char *s;
	size_t n;

	TRY(cs_json_get_str(obj, key, &s, &n));
	return cs_b64url_decode(out, s, n);
}

/*
 * Base64 (RFC 4648 §4), base64url (§5) and hex, encoded and decoded without secret-dependent
 * branches or table lookups: keys and tokens pass through here, so character classification is
 * done with arithmetic masks (after WireGuard's encoding.c). Decoding is strict: one accepted
 * encoding per byte string.
 */
#include <string.h>

#include "base/b64.h"
#include "base/secret.h"

/* x < 0 -> all ones, else 0; x is in a small range, so the arithmetic shift is exact. */
#define NEG_MASK(x) ((int)(x) >> 8)

/* 6-bit value of a base64 or base64url character, or -1. */
static int
b64_val(int c, int url)
{
	int v = -1;

	v += NEG_MASK(('A' - 1 - c) & (c - ('Z' + 1))) & (c - 64);
	v += NEG_MASK(('a' - 1 - c) & (c - ('z' + 1))) & (c - 70);
	v += NEG_MASK(('0' - 1 - c) & (c - ('9' + 1))) & (c + 5);
	if (url) {
		v += NEG_MASK(('-' - 1 - c) & (c - ('-' + 1))) & 63;
		v += NEG_MASK(('_' - 1 - c) & (c - ('_' + 1))) & 64;
	} else {
		v += NEG_MASK(('+' - 1 - c) & (c - ('+' + 1))) & 63;
		v += NEG_MASK(('/' - 1 - c) & (c - ('/' + 1))) & 64;
	}
	return v;
}

static char
b64_chr(int x, int url)
{
	int diff = 'A';

	diff += NEG_MASK(25 - x) & 6;
	diff -= NEG_MASK(51 - x) & 75;
	diff -= NEG_MASK(61 - x) & (url ? 13 : 15);
	diff += NEG_MASK(62 - x) & (url ? 49 : 3);
	return (char)(x + diff);
}

/* Undoes a failed decode: wipes what it appended and restores the caller's length. */
static enum cs_err
undo(struct cs_buf *out, size_t start)
{
	cs_wipe(out->p + start, out->len - start);
	out->len = start;
	out->p[start] = 0;
	return CS_ERR_ENCODING;
}

size_t
cs_b64_enc_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
cs_b64url_enc_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

static enum cs_err
encode(struct cs_buf *out, const uint8_t *p, size_t n, int url)
{
	size_t len = url ? cs_b64url_enc_len(n) : cs_b64_enc_len(n);
	uint8_t *d;
	size_t i, o = 0;

	ENSURE(n <= SIZE_MAX / 4 * 3 - 3, CS_ERR_TOO_LARGE);
	TRY(cs_buf_extend(out, len, &d));
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		d[o++] = (uint8_t)b64_chr((int)(v >> 18) & 63, url);
		d[o++] = (uint8_t)b64_chr((int)(v >> 12) & 63, url);
		d[o++] = (uint8_t)b64_chr((int)(v >> 6) & 63, url);
		d[o++] = (uint8_t)b64_chr((int)v & 63, url);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		d[o++] = (uint8_t)b64_chr((int)(v >> 18) & 63, url);
		d[o++] = (uint8_t)b64_chr((int)(v >> 12) & 63, url);
		if (!url) {
			d[o++] = '=';
			d[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		d[o++] = (uint8_t)b64_chr((int)(v >> 18) & 63, url);
		d[o++] = (uint8_t)b64_chr((int)(v >> 12) & 63, url);
		d[o++] = (uint8_t)b64_chr((int)(v >> 6) & 63, url);
		if (!url)
			d[o++] = '=';
	}
	return CS_OK;
}

enum cs_err
cs_b64_encode(struct cs_buf *out, const uint8_t *p, size_t n)
{
	return encode(out, p, n, 0);
}

enum cs_err
cs_b64url_encode(struct cs_buf *out, const uint8_t *p, size_t n)
{
	return encode(out, p, n, 1);
}

/*
 * Decodes (s, n). Padded base64 must be a multiple of 4 long with at most two '=' at the very
 * end; base64url must carry no '=' and cannot be 1 mod 4 long. In both, the bits of the last
 * character that fall beyond the final byte must be zero. On error nothing is appended.
 */
static enum cs_err
decode(struct cs_buf *out, const char *s, size_t n, int url)
{
	size_t pad = 0, chars, full, rem, o = 0, start = out->len;
	uint8_t *d;
	int bad = 0;

	if (!url) {
		ENSURE(n % 4 == 0, CS_ERR_ENCODING);
		if (n >= 1 && s[n - 1] == '=')
			pad = n >= 2 && s[n - 2] == '=' ? 2 : 1;
	}
	chars = n - pad;
	ENSURE(chars % 4 != 1, CS_ERR_ENCODING);
	full = chars / 4;
	rem = chars % 4;
	TRY(cs_buf_extend(out, full * 3 + (rem == 0 ? 0 : rem - 1), &d));
	for (size_t i = 0; i < full; i++) {
		int a = b64_val((uint8_t)s[4 * i], url), b = b64_val((uint8_t)s[4 * i + 1], url);
		int c = b64_val((uint8_t)s[4 * i + 2], url),
		    e = b64_val((uint8_t)s[4 * i + 3], url);
		bad |= a | b | c | e;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)e;
		d[o++] = (uint8_t)(v >> 16);
		d[o++] = (uint8_t)(v >> 8);
		d[o++] = (uint8_t)v;
	}
	if (rem >= 2) {
		const char *t = s + 4 * full;
		int a = b64_val((uint8_t)t[0], url), b = b64_val((uint8_t)t[1], url);
		int c = rem == 3 ? b64_val((uint8_t)t[2], url) : 0;
		bad |= a | b | c;
		/* Invalid characters are -1 here: shift their unsigned images, never a negative. */
		d[o++] = (uint8_t)((unsigned)a << 2 | (unsigned)b >> 4);
		if (rem == 3) {
			d[o++] = (uint8_t)((unsigned)b << 4 | (unsigned)c >> 2);
			bad |= -((c & 3) != 0);
		} else {
			bad |= -((b & 15) != 0);
		}
	}
	if (bad < 0)
		return undo(out, start);
	return CS_OK;
}

enum cs_err
cs_b64_decode(struct cs_buf *out, const char *s, size_t n)
{
	return decode(out, s, n, 0);
}

enum cs_err
cs_b64url_decode(struct cs_buf *out, const char *s, size_t n)
{
	return decode(out, s, n, 1);
}

static int
hex_val(int c)
{
	int v = -1;

	v += NEG_MASK(('0' - 1 - c) & (c - ('9' + 1))) & (c - 47);
	v += NEG_MASK(('a' - 1 - c) & (c - ('f' + 1))) & (c - 86);
	v += NEG_MASK(('A' - 1 - c) & (c - ('F' + 1))) & (c - 54);
	return v;
}

enum cs_err
cs_hex_encode(struct cs_buf *out, const uint8_t *p, size_t n)
{
	uint8_t *d;

	ENSURE(n <= SIZE_MAX / 2 - 1, CS_ERR_TOO_LARGE);
	TRY(cs_buf_extend(out, 2 * n, &d));
	for (size_t i = 0; i < n; i++) {
		int hi = p[i] >> 4, lo = p[i] & 15;
		/* 0..9 -> '0'.., 10..15 -> 'a'.. without a branch on the value. */
		d[2 * i] = (uint8_t)(hi + '0' + (NEG_MASK(9 - hi) & 39));
		d[2 * i + 1] = (uint8_t)(lo + '0' + (NEG_MASK(9 - lo) & 39));
	}
	return CS_OK;
}

enum cs_err
cs_hex_decode(struct cs_buf *out, const char *s, size_t n)
{
	size_t start = out->len;
	uint8_t *d;
	int bad = 0;

	ENSURE(n % 2 == 0, CS_ERR_ENCODING);
	TRY(cs_buf_extend(out, n / 2, &d));
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_val((uint8_t)s[2 * i]), lo = hex_val((uint8_t)s[2 * i + 1]);
		bad |= hi | lo;
		d[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo);
	}
	if (bad < 0)
		return undo(out, start);
	return CS_OK;
}

typedef enum cs_err (*decoder)(struct cs_buf *, const char *, size_t);

static enum cs_err
decode_fixed(decoder dec, uint8_t *dst, size_t n, const char *s, size_t slen)
{
	struct cs_buf b;
	enum cs_err err;

	cs_buf_init(&b, n + 3);
	err = dec(&b, s, slen);
	if (err == CS_ERR_TOO_LARGE)
		err = CS_ERR_LENGTH;
	if (err == CS_OK && b.len != n)
		err = CS_ERR_LENGTH;
	if (err == CS_OK && n > 0)
		memcpy(dst, b.p, n);
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_b64url_decode_fixed(uint8_t *dst, size_t n, const char *s, size_t slen)
{
	return decode_fixed(cs_b64url_decode, dst, n, s, slen);
}

enum cs_err
cs_hex_decode_fixed(uint8_t *dst, size_t n, const char *s, size_t slen)
{
	return decode_fixed(cs_hex_decode, dst, n, s, slen);
}

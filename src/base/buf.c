#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/secret.h"

void
cs_buf_init(struct cs_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
cs_buf_fini(struct cs_buf *b)
{
	if (b->p != NULL) {
		cs_wipe(b->p, b->cap + 1);
		free(b->p);
	}
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void
cs_buf_reset(struct cs_buf *b)
{
	if (b->p != NULL)
		cs_wipe(b->p, b->len + 1);
	b->len = 0;
}

/* Makes room for n more bytes; the old allocation is wiped, never left behind by realloc. */
static enum cs_err
grow(struct cs_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	ENSURE(n <= b->max - b->len, CS_ERR_TOO_LARGE);
	need = b->len + n;
	if (need <= b->cap && b->p != NULL)
		return CS_OK;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max)
		cap = b->max;
	if (cap < need)
		cap = need;
	ENSURE(cap < SIZE_MAX, CS_ERR_TOO_LARGE);
	p = malloc(cap + 1);
	ENSURE(p != NULL, CS_ERR_NOMEM);
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		cs_wipe(b->p, b->cap + 1);
		free(b->p);
	}
	p[b->len] = 0;
	b->p = p;
	b->cap = cap;
	return CS_OK;
}

enum cs_err
cs_buf_extend(struct cs_buf *b, size_t n, uint8_t **out)
{
	TRY(grow(b, n));
	memset(b->p + b->len, 0, n);
	*out = b->p + b->len;
	b->len += n;
	b->p[b->len] = 0;
	return CS_OK;
}

enum cs_err
cs_buf_append(struct cs_buf *b, const void *p, size_t n)
{
	uint8_t *dst;

	TRY(cs_buf_extend(b, n, &dst));
	if (n > 0)
		memcpy(dst, p, n);
	return CS_OK;
}

enum cs_err
cs_buf_append_str(struct cs_buf *b, const char *s)
{
	return cs_buf_append(b, s, strlen(s));
}

enum cs_err
cs_buf_putc(struct cs_buf *b, uint8_t c)
{
	return cs_buf_append(b, &c, 1);
}

enum cs_err
cs_buf_printf(struct cs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	uint8_t *dst;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ENSURE(n >= 0, CS_ERR_INVAL);
	TRY(grow(b, (size_t)n));
	dst = b->p + b->len;
	va_start(ap, fmt);
	n = vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ENSURE(n >= 0, CS_ERR_INVAL);
	b->len += (size_t)n;
	return CS_OK;
}

static enum cs_err
put_int(struct cs_buf *b, uint64_t v, size_t n, int big_endian)
{
	uint8_t tmp[8];

	for (size_t i = 0; i < n; i++) {
		size_t shift = 8 * (big_endian ? n - 1 - i : i);
		tmp[i] = (uint8_t)(v >> shift);
	}
	return cs_buf_append(b, tmp, n);
}

enum cs_err
cs_buf_put_u16le(struct cs_buf *b, uint16_t v)
{
	return put_int(b, v, 2, 0);
}

enum cs_err
cs_buf_put_u16be(struct cs_buf *b, uint16_t v)
{
	return put_int(b, v, 2, 1);
}

enum cs_err
cs_buf_put_u32le(struct cs_buf *b, uint32_t v)
{
	return put_int(b, v, 4, 0);
}

enum cs_err
cs_buf_put_u32be(struct cs_buf *b, uint32_t v)
{
	return put_int(b, v, 4, 1);
}

enum cs_err
cs_buf_put_u64le(struct cs_buf *b, uint64_t v)
{
	return put_int(b, v, 8, 0);
}

enum cs_err
cs_buf_put_u64be(struct cs_buf *b, uint64_t v)
{
	return put_int(b, v, 8, 1);
}

uint8_t *
cs_buf_take(struct cs_buf *b, size_t *len)
{
	uint8_t *p = b->p;

	if (p == NULL) {
		p = calloc(1, 1);
		if (p == NULL)
			return NULL;
	}
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

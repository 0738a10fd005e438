#include <string.h>

#include "base/rd.h"

void
cs_rd_init(struct cs_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = p == NULL ? 0 : len;
	r->off = 0;
}

/* The one bounds check every read goes through. */
static enum cs_err
take(struct cs_rd *r, size_t n, const uint8_t **out)
{
	ENSURE(n <= r->len - r->off, CS_ERR_TRUNCATED);
	*out = r->p + r->off;
	r->off += n;
	return CS_OK;
}

enum cs_err
cs_rd_u8(struct cs_rd *r, uint8_t *v)
{
	const uint8_t *b;

	TRY(take(r, 1, &b));
	*v = b[0];
	return CS_OK;
}

static uint64_t
load_le(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = (v << 8) | b[i];
	return v;
}

static uint64_t
load_be(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

#define CS_RD_INT_(name, type, n, load)                                                            \
	enum cs_err name(struct cs_rd *r, type *v)                                                 \
	{                                                                                          \
		const uint8_t *b;                                                                  \
		TRY(take(r, n, &b));                                                               \
		*v = (type)load(b, n);                                                             \
		return CS_OK;                                                                      \
	}

CS_RD_INT_(cs_rd_u16le, uint16_t, 2, load_le)
CS_RD_INT_(cs_rd_u16be, uint16_t, 2, load_be)
CS_RD_INT_(cs_rd_u32le, uint32_t, 4, load_le)
CS_RD_INT_(cs_rd_u32be, uint32_t, 4, load_be)
CS_RD_INT_(cs_rd_u64le, uint64_t, 8, load_le)
CS_RD_INT_(cs_rd_u64be, uint64_t, 8, load_be)

enum cs_err
cs_rd_bytes(struct cs_rd *r, size_t n, const uint8_t **out)
{
	return take(r, n, out);
}

enum cs_err
cs_rd_copy(struct cs_rd *r, void *dst, size_t n)
{
	const uint8_t *b;

	TRY(take(r, n, &b));
	if (n > 0)
		memcpy(dst, b, n);
	return CS_OK;
}

enum cs_err
cs_rd_skip(struct cs_rd *r, size_t n)
{
	const uint8_t *b;

	return take(r, n, &b);
}

enum cs_err
cs_rd_zero(struct cs_rd *r, size_t n)
{
	uint8_t acc = 0;

	ENSURE(n <= cs_rd_left(r), CS_ERR_TRUNCATED);
	for (size_t i = 0; i < n; i++)
		acc |= r->p[r->off + i];
	ENSURE(acc == 0, CS_ERR_RESERVED);
	r->off += n;
	return CS_OK;
}

enum cs_err
cs_rd_sub(struct cs_rd *r, size_t n, struct cs_rd *sub)
{
	const uint8_t *b;

	TRY(take(r, n, &b));
	cs_rd_init(sub, b, n);
	return CS_OK;
}

enum cs_err
cs_rd_end(const struct cs_rd *r)
{
	ENSURE(r->off == r->len, CS_ERR_TRAILING);
	return CS_OK;
}

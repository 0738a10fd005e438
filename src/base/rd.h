/*
 * The bounds-checked reader: every parser of untrusted bytes reads through it. A read either
 * succeeds and advances the cursor by exactly its size, or fails with CS_ERR_TRUNCATED and leaves
 * the cursor where it was. Lengths are compared, never pointers, so no arithmetic can overflow.
 * A parser finishes with cs_rd_end() so that trailing bytes are an error.
 */
#ifndef CS_BASE_RD_H
#define CS_BASE_RD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct cs_rd {
	const uint8_t *p; /* borrowed input */
	size_t len;       /* bytes at p */
	size_t off;       /* bytes consumed */
};

/* Borrows p for the reader's lifetime. */
void cs_rd_init(struct cs_rd *r, const uint8_t *p, size_t len);

static inline size_t
cs_rd_left(const struct cs_rd *r)
{
	return r->len - r->off;
}

CS_MUST_USE enum cs_err cs_rd_u8(struct cs_rd *r, uint8_t *v);
CS_MUST_USE enum cs_err cs_rd_u16le(struct cs_rd *r, uint16_t *v);
CS_MUST_USE enum cs_err cs_rd_u16be(struct cs_rd *r, uint16_t *v);
CS_MUST_USE enum cs_err cs_rd_u32le(struct cs_rd *r, uint32_t *v);
CS_MUST_USE enum cs_err cs_rd_u32be(struct cs_rd *r, uint32_t *v);
CS_MUST_USE enum cs_err cs_rd_u64le(struct cs_rd *r, uint64_t *v);
CS_MUST_USE enum cs_err cs_rd_u64be(struct cs_rd *r, uint64_t *v);

/* Borrows n bytes of the input: *out points into it. */
CS_MUST_USE enum cs_err cs_rd_bytes(struct cs_rd *r, size_t n, const uint8_t **out);

/* Copies n bytes into caller memory dst. */
CS_MUST_USE enum cs_err cs_rd_copy(struct cs_rd *r, void *dst, size_t n);

/* Skips n bytes whose value does not matter. */
CS_MUST_USE enum cs_err cs_rd_skip(struct cs_rd *r, size_t n);

/* Consumes n reserved bytes; CS_ERR_RESERVED (cursor unmoved) unless all are zero. */
CS_MUST_USE enum cs_err cs_rd_zero(struct cs_rd *r, size_t n);

/* Consumes n bytes and makes them a reader of their own (borrowing the same input). */
CS_MUST_USE enum cs_err cs_rd_sub(struct cs_rd *r, size_t n, struct cs_rd *sub);

/* CS_OK only if every byte was consumed, else CS_ERR_TRAILING. */
CS_MUST_USE enum cs_err cs_rd_end(const struct cs_rd *r);

#endif

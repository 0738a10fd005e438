/*
 * A growable byte buffer with a hard cap. Appends past the cap fail with CS_ERR_TOO_LARGE and
 * leave the buffer unchanged, so a writer cannot be made to allocate without bound. Memory that
 * the buffer gives up (on growth and in fini) is wiped first, so it can hold secrets.
 */
#ifndef CS_BASE_BUF_H
#define CS_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct cs_buf {
	uint8_t *p; /* owned; NUL-terminated one past len when non-NULL */
	size_t len; /* bytes written */
	size_t cap; /* bytes allocated, excluding the terminator */
	size_t max; /* the hard cap on len */
};

void cs_buf_init(struct cs_buf *b, size_t max);

/* Wipes and frees the contents; the buffer may be reused after cs_buf_init. */
void cs_buf_fini(struct cs_buf *b);

/* Forgets the contents (wiped) but keeps the allocation. */
void cs_buf_reset(struct cs_buf *b);

CS_MUST_USE enum cs_err cs_buf_append(struct cs_buf *b, const void *p, size_t n);
CS_MUST_USE enum cs_err cs_buf_append_str(struct cs_buf *b, const char *s);
CS_MUST_USE enum cs_err cs_buf_putc(struct cs_buf *b, uint8_t c);
CS_MUST_USE enum cs_err cs_buf_printf(struct cs_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
CS_MUST_USE enum cs_err cs_buf_put_u16le(struct cs_buf *b, uint16_t v);
CS_MUST_USE enum cs_err cs_buf_put_u16be(struct cs_buf *b, uint16_t v);
CS_MUST_USE enum cs_err cs_buf_put_u32le(struct cs_buf *b, uint32_t v);
CS_MUST_USE enum cs_err cs_buf_put_u32be(struct cs_buf *b, uint32_t v);
CS_MUST_USE enum cs_err cs_buf_put_u64le(struct cs_buf *b, uint64_t v);
CS_MUST_USE enum cs_err cs_buf_put_u64be(struct cs_buf *b, uint64_t v);

/* Appends n zero bytes and borrows them to the caller through *out (valid until the next append).
 */
CS_MUST_USE enum cs_err cs_buf_extend(struct cs_buf *b, size_t n, uint8_t **out);

/* Returns owned contents (NUL-terminated, free() it) and resets b to empty; *len may be NULL. */
uint8_t *cs_buf_take(struct cs_buf *b, size_t *len);

#endif

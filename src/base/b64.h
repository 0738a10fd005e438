/*
 * Strict base64 (RFC 4648 §4, padded), base64url (RFC 4648 §5, unpadded, as JOSE uses it) and
 * hex. Decoders reject every non-canonical input: characters outside the alphabet, whitespace,
 * wrong or missing padding (base64), any padding (base64url), and non-zero unused trailing bits,
 * so that each byte string has exactly one accepted encoding.
 */
#ifndef CS_BASE_B64_H
#define CS_BASE_B64_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Encoded lengths, without a terminator. */
size_t cs_b64_enc_len(size_t n);
size_t cs_b64url_enc_len(size_t n);

/* Append the encoding of (p, n) to out. */
CS_MUST_USE enum cs_err cs_b64_encode(struct cs_buf *out, const uint8_t *p, size_t n);
CS_MUST_USE enum cs_err cs_b64url_encode(struct cs_buf *out, const uint8_t *p, size_t n);
CS_MUST_USE enum cs_err cs_hex_encode(struct cs_buf *out, const uint8_t *p, size_t n);

/* Append the decoding of the text (s, n) to out; CS_ERR_ENCODING on any non-canonical input. */
CS_MUST_USE enum cs_err cs_b64_decode(struct cs_buf *out, const char *s, size_t n);
CS_MUST_USE enum cs_err cs_b64url_decode(struct cs_buf *out, const char *s, size_t n);
/* Hex accepts upper and lower case digits; the length must be even. */
CS_MUST_USE enum cs_err cs_hex_decode(struct cs_buf *out, const char *s, size_t n);

/* Decode into a fixed-size array: CS_ERR_LENGTH unless the decoded size is exactly n. */
CS_MUST_USE enum cs_err cs_b64url_decode_fixed(uint8_t *dst, size_t n, const char *s, size_t slen);
CS_MUST_USE enum cs_err cs_hex_decode_fixed(uint8_t *dst, size_t n, const char *s, size_t slen);

#endif

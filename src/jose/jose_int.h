/* Helpers shared by the JOSE modules; not part of any public contract. */
#ifndef CS_JOSE_INT_H
#define CS_JOSE_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Sets obj[key] to the base64url of (p, n). */
CS_MUST_USE enum cs_err cs_jose_set_b64url(json_t *obj, const char *key, const uint8_t *p,
                                           size_t n);

/* Decodes the optional member key of obj, of exactly n bytes, into dst; *present says whether it
 * was there. CS_ERR_JSON_FIELD when present but not a string, CS_ERR_LENGTH on another size. */
CS_MUST_USE enum cs_err cs_jose_get_fixed(const json_t *obj, const char *key, uint8_t *dst,
                                          size_t n, int *present);

/* Whether (s, n) equals the C string lit exactly. */
int cs_jose_streq(const char *s, size_t n, const char *lit);

/*
 * Splits a compact serialization into exactly want parts at '.'; parts may be empty. The text
 * must be printable ASCII without whitespace (CS_ERR_ENCODING), and contain exactly want - 1 dots
 * (CS_ERR_PROTOCOL).
 */
struct cs_jose_part {
	const char *p;
	size_t n;
};
CS_MUST_USE enum cs_err cs_jose_split(const char *s, size_t n, struct cs_jose_part *parts,
                                      size_t want);

/* Decodes the base64url protected header (s, n) and parses it into an object (returns owned);
 * max bounds the decoded size. */
CS_MUST_USE enum cs_err cs_jose_parse_header(const char *s, size_t n, size_t max, json_t **out);

/* Wipes and drops what b holds beyond its first len bytes (len <= b->len). */
void cs_jose_buf_truncate(struct cs_buf *b, size_t len);

#endif

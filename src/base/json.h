/*
 * JSON on jansson, with the limits untrusted input needs, and RFC 8785 canonical serialization
 * (JCS). Trustee binds the challenge nonce and the TEE public key into hardware report data as
 * SHA-384(JCS(...)), so cs_jcs must produce byte-for-byte what serde_json_canonicalizer produces:
 * object members sorted by the UTF-16 code units of their names, numbers in ECMAScript's
 * Number.prototype.toString form, strings with the minimal escaping of RFC 8785 §3.2.2.2.
 */
#ifndef CS_BASE_JSON_H
#define CS_BASE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Nesting deeper than this is rejected before any value is built. */
#define CS_JSON_MAX_DEPTH 32

/*
 * Parses one JSON text of at most max bytes into *out (returns owned; json_decref). Rejects
 * trailing data, embedded NUL, invalid UTF-8, duplicate object keys, nesting beyond
 * CS_JSON_MAX_DEPTH and inputs over max (CS_ERR_TOO_LARGE) before parsing.
 */
CS_MUST_USE enum cs_err cs_json_parse(const uint8_t *p, size_t n, size_t max, json_t **out);

/* Appends the RFC 8785 canonical form of v to out. CS_ERR_JSON_NUMBER for NaN/Inf. */
CS_MUST_USE enum cs_err cs_jcs(struct cs_buf *out, const json_t *v);

/* Appends compact JSON (no whitespace, members in stored order) to out. */
CS_MUST_USE enum cs_err cs_json_dump(struct cs_buf *out, const json_t *v);

/*
 * Field accessors for validating parsed input: each returns CS_ERR_JSON_FIELD when the member is
 * missing or has another type. Strings are borrowed from obj (valid while obj lives); *len
 * excludes the terminator, and strings containing NUL are rejected.
 */
CS_MUST_USE enum cs_err cs_json_get_str(const json_t *obj, const char *key, const char **s,
                                        size_t *len);
CS_MUST_USE enum cs_err cs_json_get_obj(const json_t *obj, const char *key, json_t **v);
CS_MUST_USE enum cs_err cs_json_get_arr(const json_t *obj, const char *key, json_t **v);
CS_MUST_USE enum cs_err cs_json_get_int(const json_t *obj, const char *key, int64_t *v);
CS_MUST_USE enum cs_err cs_json_get_bool(const json_t *obj, const char *key, int *v);

/* Decodes a base64url member into out (appended). */
CS_MUST_USE enum cs_err cs_json_get_b64url(const json_t *obj, const char *key, struct cs_buf *out);

#endif

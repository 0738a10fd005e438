/*
 * Reference values with Trustee RVPS semantics (research/trustee.md §5): a registration message
 * {"version":"0.1.0","type":"sample","payload":"<base64 of {"name":["v1","v2"],...}>"} yields one
 * reference value per name, each with an expiry (default: registration time + 365 days, Trustee's
 * 12 months). Registering a name again replaces its values. Expired values never match: a lookup
 * after the expiry finds nothing. Storage is the store's; this module parses messages and gives
 * policies an in-memory set to look values up in (the CLI and tests use it directly).
 */
#ifndef CS_POLICY_RV_H
#define CS_POLICY_RV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "policy/policy.h"

#define CS_RV_MAX_MSG (1024 * 1024) /* registration message bytes */
#define CS_RV_MAX_NAME 256          /* bytes of a reference-value name */
#define CS_RV_MAX_VALUES 4096       /* values under one name */
#define CS_RV_MAX_VALUE 4096        /* bytes of one value */
#define CS_RV_DEFAULT_TTL (365 * 24 * 3600)

struct cs_rv {
	char *name;      /* owned, NUL-terminated, no NUL inside */
	json_t *values;  /* owned: from a message, an array of strings */
	int64_t expires; /* Unix seconds; the values match while now < expires */
};

struct cs_rv_set {
	struct cs_rv *v; /* owned */
	size_t n;
	size_t cap;
};

void cs_rv_set_init(struct cs_rv_set *s);
void cs_rv_set_fini(struct cs_rv_set *s);

/*
 * Parses a registration message (p, n) (borrows) received at time now, appending its reference
 * values to out (replacing same-named ones). Accepted: version "0.1.0", type "sample", payload in
 * standard base64 of a JSON object mapping names to arrays of strings. custos extension: an
 * optional "expiration" member (RFC 3339) sets the expiry of every value in the message; one in
 * the past is CS_ERR_EXPIRED. CS_ERR_UNSUPPORTED for another version or type; on any error out is
 * unchanged.
 */
CS_MUST_USE enum cs_err cs_rv_parse_message(const uint8_t *p, size_t n, int64_t now,
                                            struct cs_rv_set *out);

/*
 * Adds (name, values, expires) to s, replacing a same-named entry; borrows values (increfs). Any
 * JSON value is accepted (configured reference values may be numbers); messages give arrays.
 */
CS_MUST_USE enum cs_err cs_rv_set_put(struct cs_rv_set *s, const char *name, size_t len,
                                      json_t *values, int64_t expires);

/* The entry named (name, len) or NULL, expired or not (for listing). Borrowed from s. */
const struct cs_rv *cs_rv_set_get(const struct cs_rv_set *s, const char *name, size_t len);

/* A policy reference-value source over s at time now (s borrowed for the source's lifetime). */
struct cs_rv_source cs_rv_set_source(const struct cs_rv_set *s, int64_t now);

#endif

/*
 * The broker's reference-value lookup (Trustee's query_reference_value, as policies see it through
 * rv("name")): the store's value of a name, else the static configuration's ("reference_values").
 *
 * Issue 5: an expired value never matches. A name the store holds, expired or not, is the store's:
 * an expired stored value yields nothing and does NOT fall back to a static value of the same
 * name (otherwise letting a registration expire would silently re-enable an older, configured
 * value). A store that cannot be read yields nothing either (fail closed). Only a name the store
 * has never held (or had deleted) is looked up in the configuration.
 */
#ifndef CS_KBS_REFVAL_H
#define CS_KBS_REFVAL_H

#include <jansson.h>
#include <stdint.h>

struct cs_store;

/* Returns a new reference (json_decref) or NULL. s and static_refvals (may be NULL) borrowed. */
json_t *cs_kbs_refval_get(struct cs_store *s, const json_t *static_refvals, const char *name,
                          int64_t now);

#endif

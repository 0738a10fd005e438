/*
 * Target: the store's handling of untrusted names and values, end to end on an in-memory SQLite
 * database. Input: a name (up to the first NUL) and a payload. The name goes through the resource
 * path grammar, the policy-id and reference-value-name checks; the payload is stored as a
 * resource (and must come back byte for byte), and, when it parses as JSON, as a reference value
 * (must come back equal) and, when it is an object, as an audit record (the chain must verify).
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_store *s = NULL;
	struct cs_buf b;
	struct cs_store_policy pol;
	const uint8_t *nul = memchr(data, 0, size);
	size_t nlen = nul != NULL ? (size_t)(nul - data) : size;
	const uint8_t *val = nul != NULL ? nul + 1 : data + size;
	size_t vlen = size - (size_t)(val - data);
	char *name;
	json_t *j = NULL, *back = NULL;
	uint64_t ver = 0, got = 0, count = 0, bad = 0;

	if (nlen > 1024 || cs_store_open("sqlite::memory:", NULL, &s) != CS_OK)
		return 0;
	name = malloc(nlen + 1);
	if (name == NULL)
		abort();
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	cs_buf_init(&b, CS_STORE_VALUE_MAX);

	if (cs_store_resource_put(s, name, val, vlen, &ver) == CS_OK) {
		if (ver != 1 || cs_store_resource_get(s, name, 0, &b, &got) != CS_OK || got != 1 ||
		    b.len != vlen || (vlen > 0 && memcmp(b.p, val, vlen) != 0))
			abort();
		if (cs_store_resource_delete(s, name) != CS_OK)
			abort();
	}
	if (vlen > 0 && cs_store_policy_put(s, "resource", name, val, vlen, &ver) == CS_OK) {
		if (cs_store_policy_get(s, "resource", name, 0, &pol) != CS_OK ||
		    pol.text_len != vlen || memcmp(pol.text, val, vlen) != 0)
			abort();
		cs_store_policy_fini(&pol);
	}
	if (cs_json_parse(val, vlen, CS_STORE_VALUE_MAX, &j) == CS_OK) {
		if (cs_store_refval_put(s, name, j, 100) == CS_OK) {
			if (cs_store_refval_get(s, name, 99, &back, NULL) != CS_OK ||
			    !json_equal(j, back))
				abort();
			json_decref(back);
		}
		if (json_is_object(j) && cs_store_audit_append(s, 1, "fuzz", j, NULL) == CS_OK &&
		    (cs_store_audit_verify(s, &count, &bad) != CS_OK || count != 1))
			abort();
		json_decref(j);
	}
	cs_buf_fini(&b);
	free(name);
	cs_store_free(s);
	return 0;
}

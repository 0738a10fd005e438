/*
 * Target: cs_json_parse and cs_jcs. Canonical output must itself parse, and canonicalizing it
 * again must give the same bytes (JCS is idempotent).
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *w = NULL;
	struct cs_buf a, b;

	if (cs_json_parse(data, size, 1 << 16, &v) != CS_OK)
		return 0;
	cs_buf_init(&a, 1 << 20);
	cs_buf_init(&b, 1 << 20);
	if (cs_jcs(&a, v) == CS_OK) {
		if (cs_json_parse(a.p, a.len, 1 << 20, &w) != CS_OK)
			abort();
		if (cs_jcs(&b, w) != CS_OK || a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
			abort();
	}
	json_decref(v);
	json_decref(w);
	cs_buf_fini(&a);
	cs_buf_fini(&b);
	return 0;
}

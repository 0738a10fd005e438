/*
 * Target: reference-value registration messages. Whatever the input, parsing either fails and
 * leaves the set as it was, or registers names that look up to arrays of strings until they expire.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/rv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_rv_set set;
	struct cs_rv_source src;

	cs_rv_set_init(&set);
	if (cs_rv_parse_message(data, size, 1700000000, &set) != CS_OK && set.n != 0)
		abort();
	src = cs_rv_set_source(&set, 1700000000);
	for (size_t i = 0; i < set.n; i++) {
		json_t *v = src.lookup(src.ctx, set.v[i].name, strlen(set.v[i].name), src.now);
		if (!json_is_array(v) || set.v[i].expires <= 1700000000)
			abort();
		json_decref(v);
		src.now = set.v[i].expires;
		if ((v = src.lookup(src.ctx, set.v[i].name, strlen(set.v[i].name), src.now)) !=
		    NULL)
			abort();
		src.now = 1700000000;
	}
	cs_rv_set_fini(&set);
	return 0;
}

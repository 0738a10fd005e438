/*
 * Target: the sealed-directory manifest parser (docs/sealed-format.md §5). Parsing never reads
 * past the input nor allocates from a count the bytes cannot back; an accepted manifest has
 * sorted, unique, well-formed names and re-encodes (under any key) to the same bytes but the MAC.
 */
#include <stdlib.h>
#include <string.h>

#include "seal/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t kek[CS_SEAL_KEY_LEN] = {2};
	struct cs_seal_manifest m;
	uint8_t *enc = NULL;
	size_t enc_len = 0;

	cs_seal_manifest_init(&m);
	if (cs_seal_manifest_verify(data, size, kek) == CS_OK)
		abort(); /* the fuzzer cannot forge the MAC */
	if (cs_seal_manifest_parse(data, size, &m) != CS_OK) {
		if (m.entries != NULL || m.n != 0)
			abort(); /* a failed parse owns nothing */
		return 0;
	}
	for (size_t i = 0; i < m.n; i++) {
		if (cs_seal_path_check(m.entries[i].name, strlen(m.entries[i].name)) != CS_OK)
			abort();
		if (i > 0 && strcmp(m.entries[i - 1].name, m.entries[i].name) >= 0)
			abort();
		if (cs_seal_manifest_find(&m, m.entries[i].name) != &m.entries[i])
			abort();
	}
	if (cs_seal_manifest_encode(&m, kek, &enc, &enc_len) != CS_OK || enc_len != size ||
	    memcmp(enc, data, size - 32) != 0)
		abort();
	free(enc);
	cs_seal_manifest_fini(&m);
	return 0;
}

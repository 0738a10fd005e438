/*
 * Target: the sealed-file header parser (docs/sealed-format.md §2). Whatever the bytes, parsing
 * never reads past the input, an accepted header satisfies every documented bound, and encoding
 * it back gives the same bytes (one encoding per header). An accepted header is then opened with
 * a fixed KEK, which must fail closed (the fuzzer cannot forge the wrap).
 */
#include <stdlib.h>
#include <string.h>

#include "seal/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t kek[CS_SEAL_KEY_LEN] = {1};
	struct cs_seal_header h;
	struct cs_seal_keys keys;
	uint8_t again[CS_SEAL_HEADER_LEN];

	if (cs_seal_header_parse(data, size, &h) != CS_OK)
		return 0;
	if (size < CS_SEAL_HEADER_LEN || h.version != CS_SEAL_VERSION ||
	    h.chunk_log2 < CS_SEAL_CHUNK_LOG2_MIN || h.chunk_log2 > CS_SEAL_CHUNK_LOG2_MAX ||
	    h.plaintext_len > CS_SEAL_PLAINTEXT_MAX || h.key_id_len < 1 ||
	    h.key_id_len > CS_SEAL_KEY_ID_MAX || strlen(h.key_id) != h.key_id_len)
		abort();
	if (cs_seal_chunk_count(&h) < 1 || cs_seal_sealed_len(&h) < CS_SEAL_HEADER_LEN + 16)
		abort();
	if (cs_seal_header_encode(&h, again) != CS_OK || memcmp(again, data, sizeof(again)) != 0)
		abort();
	if (cs_seal_header_open(&h, data, kek, &keys) == CS_OK)
		abort();
	return 0;
}

/*
 * Target: cs_b64_decode, cs_b64url_decode, cs_hex_decode. Whatever decodes must re-encode to
 * exactly the input (strictness: one accepted encoding per byte string).
 */
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static enum cs_err (*const dec[])(struct cs_buf *, const char *, size_t) = {
	        cs_b64_decode, cs_b64url_decode, cs_hex_decode};
	static enum cs_err (*const enc[])(struct cs_buf *, const uint8_t *, size_t) = {
	        cs_b64_encode, cs_b64url_encode, cs_hex_encode};

	for (size_t i = 0; i < 3; i++) {
		struct cs_buf d, e;

		cs_buf_init(&d, 1 << 20);
		cs_buf_init(&e, 1 << 21);
		if (dec[i](&d, (const char *)data, size) == CS_OK) {
			if (enc[i](&e, d.p, d.len) != CS_OK)
				abort();
			/* hex accepts upper case; compare case-insensitively there. */
			if (e.len != size || (i < 2 && memcmp(e.p, data, size) != 0) ||
			    (i == 2 &&
			     strncasecmp((const char *)e.p, (const char *)data, size) != 0))
				abort();
		}
		cs_buf_fini(&d);
		cs_buf_fini(&e);
	}
	return 0;
}

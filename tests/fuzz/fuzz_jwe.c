/*
 * Target: JWE decryption (flattened and compact) with fixed private keys: P-256 (RFC 7515 A.3),
 * RSA (RFC 7520 §3.4) and a 32-byte dir key (RFC 7520 §3.6), every algorithm allowed. A failed
 * decryption must release no plaintext.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/jose_vectors.h"
#include "jose/jwe.h"
#include "jose/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cs_jwk keys[3];
static int loaded;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *texts[3] = {rfc7515_a3_jwk, rfc7520_rsa_jwk, rfc7520_oct_enc_jwk};
	const unsigned all =
	        CS_JWE_ECDH_ES_A256KW | CS_JWE_RSA_OAEP_256 | CS_JWE_RSA1_5 | CS_JWE_DIR;
	struct cs_buf pt;

	if (!loaded) {
		for (int i = 0; i < 3; i++)
			if (cs_jwk_parse_text((const uint8_t *)texts[i], strlen(texts[i]),
			                      &keys[i]) != CS_OK)
				abort();
		loaded = 1;
	}
	cs_buf_init(&pt, 1 << 16);
	for (int i = 0; i < 3; i++) {
		if (cs_jwe_decrypt(&keys[i], all, data, size, 1 << 16, &pt) != CS_OK && pt.len != 0)
			abort();
		cs_buf_reset(&pt);
	}
	cs_buf_fini(&pt);
	return 0;
}

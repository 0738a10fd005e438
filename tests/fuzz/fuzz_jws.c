/*
 * Target: compact JWS verification against fixed public keys of every type (RFC 7515 A.3 P-256,
 * RFC 7520 P-521 and RSA, RFC 8037 Ed25519), every algorithm allowed. A failed verification
 * must release no payload; a token must never verify under two key types.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/jose_vectors.h"
#include "jose/jwk.h"
#include "jose/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cs_key *keys[4];

static void
load(void)
{
	const char *texts[4] = {rfc7515_a3_jwk, rfc7520_p521_jwk, rfc7520_rsa_jwk,
	                        rfc8037_ed25519_jwk};

	for (int i = 0; i < 4; i++) {
		struct cs_jwk jwk;

		if (cs_jwk_parse_text((const uint8_t *)texts[i], strlen(texts[i]), &jwk) != CS_OK)
			abort();
		keys[i] = jwk.key;
		jwk.key = NULL;
		cs_jwk_fini(&jwk);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_buf payload;
	json_t *hdr = NULL;
	int verified = 0;

	if (keys[0] == NULL)
		load();
	cs_buf_init(&payload, 1 << 16);
	for (int i = 0; i < 4; i++) {
		enum cs_err err = cs_jws_verify((const char *)data, size, 1 << 16, ~0u, keys[i],
		                                &payload, &hdr, NULL);

		if (err != CS_OK && (payload.len != 0 || hdr != NULL))
			abort();
		if (err == CS_OK)
			verified++;
		json_decref(hdr);
		hdr = NULL;
		cs_buf_reset(&payload);
	}
	if (verified > 1)
		abort();
	if (cs_jws_peek_header((const char *)data, size, 1 << 16, &hdr) == CS_OK && hdr == NULL)
		abort();
	json_decref(hdr);
	cs_buf_fini(&payload);
	return 0;
}

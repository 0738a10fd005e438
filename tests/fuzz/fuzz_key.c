/*
 * Target: key decoding (PEM and DER, public and private) and signature verification on
 * attacker-chosen signature bytes in every ECDSA encoding. The first byte picks the input kind;
 * a decoded key is re-encoded and must decode to the same public key.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cs_key *p384;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_key *k = NULL, *again = NULL;
	struct cs_buf b;
	uint8_t dgst[48] = {0};

	if (size < 1)
		return 0;
	if (p384 == NULL && cs_key_generate(CS_KEY_EC_P384, 0, &p384) != CS_OK)
		abort();
	switch (data[0] % 5) {
	case 0:
	case 1:
		if ((data[0] % 5 == 0 ? cs_key_from_der : cs_key_from_pem)(data + 1, size - 1,
		                                                           &k) != CS_OK)
			break;
		cs_buf_init(&b, 1 << 16);
		if (cs_key_to_spki_der(k, &b) != CS_OK ||
		    cs_key_from_der(b.p, b.len, &again) != CS_OK || !cs_key_public_eq(k, again))
			abort();
		cs_buf_fini(&b);
		break;
	case 2:
		if (cs_ecdsa_verify_digest(p384, dgst, sizeof(dgst), data + 1, size - 1,
		                           CS_ECDSA_DER) == CS_OK)
			abort(); /* nobody holds the private key's signature over zeros */
		break;
	case 3:
		if (cs_ecdsa_verify_digest(p384, dgst, sizeof(dgst), data + 1, size - 1,
		                           CS_ECDSA_RAW_LE) == CS_OK)
			abort();
		break;
	case 4:
		if (cs_ecdsa_verify_digest(p384, dgst, sizeof(dgst), data + 1, size - 1,
		                           CS_ECDSA_RAW_BE) == CS_OK)
			abort();
		break;
	}
	cs_key_free(k);
	cs_key_free(again);
	return 0;
}

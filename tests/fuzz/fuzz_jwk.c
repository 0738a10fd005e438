/*
 * Target: JWK parsing. Whatever the input, parsing either fails cleanly or yields a key whose
 * canonical public form parses back to the same public key with the same thumbprint (see below
 * for the one exception).
 */
#include <stdlib.h>
#include <string.h>

#include "jose/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_jwk a, b;
	struct cs_buf text;
	uint8_t ta[32], tb[32];
	enum cs_err err;

	cs_buf_init(&text, 1 << 16);
	cs_jwk_init(&b);
	if (cs_jwk_parse_text(data, size, &a) != CS_OK)
		goto out;
	if (cs_jwk_thumbprint(&a, ta) != CS_OK)
		abort();
	if (a.kty == CS_JWK_OCT)
		goto out;
	if (cs_jwk_public_text(&a, &text) != CS_OK)
		abort();
	/*
	 * OpenSSL's RSA public-key check (SP 800-56B) runs Miller-Rabin with random bases, so a
	 * modulus that is not a product of two primes (fuzzed input) is rejected only sometimes:
	 * the second parse of such a key may fail where the first succeeded.
	 */
	err = cs_jwk_parse_text(text.p, text.len, &b);
	if (err == CS_ERR_KEY && a.kty == CS_JWK_RSA)
		goto out;
	if (err != CS_OK || !cs_key_public_eq(a.key, b.key))
		abort();
	if (cs_jwk_thumbprint(&b, tb) != CS_OK || memcmp(ta, tb, sizeof(ta)) != 0)
		abort();
out:
	cs_jwk_fini(&a);
	cs_jwk_fini(&b);
	cs_buf_fini(&text);
	return 0;
}

/* The CSPRNG: OpenSSL's DRBG, chunked because RAND_bytes takes an int. */
#include "crypto/rand.h"

#include <limits.h>

#include <openssl/rand.h>

enum cs_err
cs_random(uint8_t *out, size_t n)
{
	ENSURE(out != NULL || n == 0, CS_ERR_INVAL);
	while (n > 0) {
		size_t chunk = n > (size_t)INT_MAX ? (size_t)INT_MAX : n;
		ENSURE(RAND_bytes(out, (int)chunk) == 1, CS_ERR_CRYPTO);
		out += chunk;
		n -= chunk;
	}
	return CS_OK;
}

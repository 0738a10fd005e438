/* The CSPRNG (OpenSSL's DRBG, seeded from getrandom). */
#ifndef CS_CRYPTO_RAND_H
#define CS_CRYPTO_RAND_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

CS_MUST_USE enum cs_err cs_random(uint8_t *out, size_t n);

#endif

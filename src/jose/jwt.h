/*
 * JSON Web Tokens (RFC 7519) on compact JWS: the claims set is a JSON object; "exp", "nbf" and
 * "iat" are NumericDates checked against a time the caller gives (custos never reads the clock
 * inside a verifier), with a leeway for clock skew.
 */
#ifndef CS_JOSE_JWT_H
#define CS_JOSE_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/key.h"
#include "jose/jws.h"

#define CS_JWT_CLAIMS_MAX (1u << 20) /* bytes of the decoded claims */

enum cs_jwt_flags {
	CS_JWT_REQUIRE_EXP = 1u << 0, /* a token without "exp" is refused (CS_ERR_TOKEN) */
};

/*
 * Verifies the JWT (see cs_jws_verify for tok, n, max, allow, k), then its times at now (Unix
 * seconds): exp <= now - leeway is CS_ERR_EXPIRED, nbf > now + leeway or iat > now + leeway is
 * CS_ERR_NOT_YET_VALID; a time claim that is not a number is CS_ERR_TOKEN. Returns the claims
 * owned (and the header owned when header != NULL).
 */
CS_MUST_USE enum cs_err cs_jwt_verify(const char *tok, size_t n, size_t max, unsigned allow,
                                      const struct cs_key *k, int64_t now, int64_t leeway,
                                      unsigned flags, json_t **claims, json_t **header);

/*
 * Issues a JWT: header {"alg":..,"typ":"JWT"} merged with extra_header (borrowed, may be NULL),
 * payload the claims (borrowed, an object) serialized canonically; appends it to out.
 */
CS_MUST_USE enum cs_err cs_jwt_issue(enum cs_jws_alg alg, const struct cs_key *k,
                                     const json_t *claims, const json_t *extra_header,
                                     struct cs_buf *out);

#endif

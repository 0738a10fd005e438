/*
 * Admin API authentication and authorization, decided in one function. Modes, in order:
 *   dev mode        no token; only loopback clients (anything else: CS_ERR_DENIED)
 *   insecure_admin  no token, any client (explicitly named in the configuration; warned)
 *   admin key       Authorization: Bearer <JWT> signed by the configured key (ES256 with a P-256
 *                   key, EdDSA with an Ed25519 key; the key decides, the token cannot), "exp"
 *                   required and in the future, a string "role" claim whose configured endpoints
 *                   ("<METHOD> <path glob>") match the request. With no roles configured, the
 *                   role "admin" may call every admin endpoint.
 *   otherwise       the admin API is disabled (Trustee's DenyAll)
 */
#ifndef CS_KBS_ADMIN_H
#define CS_KBS_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/key.h"
#include "kbs/kbs.h"

#define CS_ADMIN_TOKEN_MAX 8192

struct cs_kbs_admin {
	const struct cs_kbs_config *cfg; /* borrowed */
	struct cs_key *key;              /* owned; NULL unless an admin key is configured */
	unsigned allow;                  /* the one JWS algorithm the key admits */
};

CS_MUST_USE enum cs_err cs_admin_init(struct cs_kbs_admin *a, const struct cs_kbs_config *cfg);
void cs_admin_fini(struct cs_kbs_admin *a);

/*
 * Decides an admin request. authz is the Authorization header (may be NULL). CS_OK allows;
 * CS_ERR_UNAUTHENTICATED (no, malformed, expired or forged token; admin disabled) or
 * CS_ERR_DENIED (valid token whose role may not call this endpoint; non-loopback in dev mode).
 * role (may be NULL) receives the role name for the log.
 */
CS_MUST_USE enum cs_err cs_admin_check(const struct cs_kbs_admin *a, const char *authz,
                                       const char *method, const char *path, bool loopback,
                                       int64_t now, char *role, size_t role_len);

#endif

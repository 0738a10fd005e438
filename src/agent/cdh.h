/*
 * The local API of guest-components' confidential data hub and attestation agent (their
 * api-server-rest), so that workloads written for CoCo work against custos-agent unchanged:
 *
 *   GET /cdh/resource/<repo>/<type>/<tag>   the secret's raw bytes (application/octet-stream)
 *   GET /aa/token?token_type=kbs            {"token": <EAR JWT>, "tee_keypair": <PKCS#8 PEM>}
 *   GET /aa/evidence?runtime_data=<text>[&encoding=base64]
 *                                           the TEE's evidence JSON binding the runtime data's
 *                                           bytes (the text, or its base64url decoding; at most
 *                                           64, zero-padded, as the AA does)
 *
 * Bodies are application/octet-stream and parameters are checked as api-server-rest checks them
 * (/aa/token: exactly one parameter, else 405; /aa/evidence: no unknown parameter, else 400).
 *
 * One RCAR session is cached and shared: its token is reused until CS_CDH_REFRESH_S before its
 * "exp", then the agent attests again with a new key. The server listens on loopback by default,
 * accepts GET only, and limits connections, per-connection memory and time.
 */
#ifndef CS_AGENT_CDH_H
#define CS_AGENT_CDH_H

#include <stdint.h>

#include "agent/rcar.h"
#include "base/err.h"

#define CS_CDH_DEFAULT_LISTEN "127.0.0.1:8006"
#define CS_CDH_REFRESH_S 60 /* re-attest when the cached token expires within this */

struct cs_cdh; /* opaque */

/*
 * Starts serving on listen ("IPv4:port" in 127.0.0.0/8, else CS_ERR_CONFIG; port 0 picks a
 * free one) in a background thread.
 * rcar_cfg is copied (its strings are borrowed and must outlive the server). Returns owned.
 */
CS_MUST_USE enum cs_err cs_cdh_start(const char *listen, const struct cs_rcar_cfg *rcar_cfg,
                                     struct cs_cdh **out);

/* The port actually bound. */
uint16_t cs_cdh_port(const struct cs_cdh *c);

/* Stops the server and wipes the cached session; NULL is a no-op. */
void cs_cdh_stop(struct cs_cdh *c);

/* Parses "a.b.c.d:port" into a sockaddr-ready address and port. */
CS_MUST_USE enum cs_err cs_cdh_parse_listen(const char *s, uint32_t *addr_be, uint16_t *port);

#endif

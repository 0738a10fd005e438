/*
 * custos-kbs: the key broker. KBS protocol 0.4.0 (Trustee-compatible) on libmicrohttpd, with the
 * attestation service (src/attest), the store (src/store) and the admin API.
 *
 * Routes (every error is an RFC 7807 body {"type": ".../errors/<Variant>", "detail": ...}):
 *   POST   /kbs/v0/auth                         challenge; sets the kbs-session-id cookie
 *   POST   /kbs/v0/attest                       evidence -> {"token": <EAR JWT>}
 *   GET    /kbs/v0/resource/<repo>/<type>/<tag> JWE of the resource to the token's tee-pubkey
 *   POST   /kbs/v0/resource/<repo>/<type>/<tag> (admin) store a new version (raw body)
 *   DELETE /kbs/v0/resource/<repo>/<type>/<tag> (admin) delete with all versions
 *   POST   /kbs/v0/resource-policy              (admin) {"policy": base64url-no-pad}
 *   GET    /kbs/v0/resource-policy              (admin) JSON list of resource-policy ids
 *   POST   /kbs/v0/attestation-policy           (admin) {"policy_id", "policy", "type"?}
 *   POST   /kbs/v0/reference-value              (admin) RVPS message {"version","type","payload"}
 *   GET    /kbs/v0/reference-value/<name>       (admin) the reference value as JSON
 *   GET    /kbs/v0/audit?from=N&to=M            (admin) audit records as JSON lines (paged)
 *   GET    /kbs/v0/audit/verify                 (admin) {"intact", "records", "first_bad_seq"}
 *   GET    /kbs/v0/jwks                         the EAR signing key as a JWK set (public)
 *   GET    /healthz, GET /metrics               liveness; Prometheus text
 *
 * Library code: it never logs by itself; each finished request produces one structured line that
 * is handed to cfg->log (cmd/custos-kbs.c writes it to stderr).
 */
#ifndef CS_KBS_KBS_H
#define CS_KBS_KBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CS_KBS_MAX_TEES 16
#define CS_KBS_MAX_ROLES 16
#define CS_KBS_MAX_ENDPOINTS 32

/* An admin role and the endpoints it may call: "<METHOD> <path glob>" (fnmatch(3); e.g. the
 * method "POST" or "*" and the glob "/kbs/v0/resource/default" followed by a star). */
struct cs_kbs_role {
	char *name;
	char *endpoints[CS_KBS_MAX_ENDPOINTS];
	size_t n;
};

/* Trust anchors and collateral for one verifier (config "verifiers": {"<tee>": {...}}). */
struct cs_kbs_verifier {
	char *tee;
	char *roots;      /* pinned roots directory (sim-*: the simulator's test roots) */
	char *collateral; /* collateral cache / imported bundle directory */
	bool online;      /* may fetch collateral from the vendor (default: offline) */
	char *kds;        /* snp: AMD KDS base URL (NULL: $CUSTOS_KDS_URL, else AMD's) */
};

struct cs_kbs_config {
	char *listen;      /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080" */
	char *data_dir;    /* holds the defaults below */
	char *store_url;   /* default sqlite://<data>/kbs.db */
	char *master_key;  /* store master key file (32 bytes, 0600); default for SQLite: the
	                      database path + ".master-key"; PostgreSQL requires it (the same file
	                      on every replica) */
	char *session_key; /* default <data>/session.key (32 bytes, 0600; share among replicas) */
	char *signer_key;  /* default <data>/token-signer.pem (P-256 PKCS#8, 0600; share too) */
	char *tls_cert;    /* PEM; both set: HTTPS */
	char *tls_key;
	char *tees[CS_KBS_MAX_TEES]; /* enabled verifiers; nothing by default */
	size_t ntees;
	struct cs_kbs_verifier verifiers[CS_KBS_MAX_TEES];
	size_t nverifiers;
	size_t body_max;     /* request body bytes (413 beyond); default 2 MiB */
	size_t header_max;   /* per-connection memory for the request head; default 64 KiB */
	unsigned conn_max;   /* concurrent connections; default 1024 */
	unsigned per_ip_max; /* concurrent connections per IPv4 address or IPv6 /64; default 16 */
	unsigned timeout_s;  /* idle connection timeout; default 30 */
	/* Seconds within which a request head must be complete, counted from the connection's
	 * opening or its last response (slow-client bound); default 10. */
	unsigned head_timeout_s;
	/* Seconds within which the request body must have arrived once the head is complete;
	 * default 30. */
	unsigned body_timeout_s;
	unsigned threads;    /* worker threads; 0: one per CPU */
	int64_t session_ttl; /* seconds; default 300 */
	int64_t token_ttl;   /* seconds; default 300 */
	double auth_rate;    /* /auth requests per second per client address; default 10 */
	double auth_burst;   /* bucket size; default 20 */
	bool dev;            /* development mode (see custos-kbs --help) */
	bool insecure_admin; /* admin API without authentication: explicit, off by default */
	bool audit_sync;     /* attest/release wait for their audit record's commit (kbs/audit.h) */
	char *admin_key;     /* admin JWT public key (PEM; ES256 P-256 or EdDSA Ed25519) */
	struct cs_kbs_role roles[CS_KBS_MAX_ROLES];
	size_t nroles;
	json_t *refvals; /* owned: static reference values {name: value}, under the store's */
	void (*log)(void *ctx, const char *line); /* one line per request; may be NULL */
	void *log_ctx;
};

/* Defaults (nothing enabled, admin denied, limits as above). */
void cs_kbs_config_init(struct cs_kbs_config *c);
void cs_kbs_config_fini(struct cs_kbs_config *c);

/*
 * Reads a JSON configuration file (members as in docs/ARCHITECTURE.md "custos-kbs configuration";
 * unknown members are an error, so a typo cannot silently disable a setting) over *c.
 */
CS_MUST_USE enum cs_err cs_kbs_config_load(struct cs_kbs_config *c, const char *path, char *why,
                                           size_t why_len);

/*
 * Completes the configuration: paths derived from data_dir, and for dev mode the sample TEE (and
 * sim-* TEEs present in the registry) enabled plus the sample reference values seeded.
 */
CS_MUST_USE enum cs_err cs_kbs_config_finish(struct cs_kbs_config *c, char *why, size_t why_len);

struct cs_kbs; /* opaque */

/* Opens the store, loads keys, creates the verifiers and starts serving. cfg is borrowed and
 * must outlive the server. Returns owned through *out. */
CS_MUST_USE enum cs_err cs_kbs_start(const struct cs_kbs_config *cfg, struct cs_kbs **out,
                                     char *why, size_t why_len);

/* Stops accepting, finishes in-flight requests, releases everything. NULL is a no-op. */
void cs_kbs_stop(struct cs_kbs *k);

/* The port actually bound (for "--listen 127.0.0.1:0"). */
uint16_t cs_kbs_port(const struct cs_kbs *k);

#endif

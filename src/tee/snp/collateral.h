/*
 * SEV-SNP collateral: VCEKs, cert chains and CRLs from AMD's Key Distribution Service
 * (kdsintf.amd.com), an on-disk cache, and offline bundles for air-gapped brokers.
 *
 * Cache layout under a collateral directory D (every file is what KDS serves, unchanged):
 *   D/snp/<Product>/vcek/<hwid hex>-<tcb>.der   VCEK for one chip and TCB; <tcb> is
 *                                                "bl<n>-tee<n>-snp<n>-ucode<n>[-fmc<n>]"
 *   D/snp/<Product>/cert_chain.pem              ASK then ARK (informative: roots stay pinned)
 *   D/snp/<Product>/crl.der                     the ARK-signed CRL
 *
 * A bundle is one JSON file {"custos_collateral": 1, "created": RFC 3339, "files": [{"path":
 * <relative path as above>, "data": <base64>}]}; import checks every path against the grammar
 * above and every file's contents (DER/PEM certificates, DER CRL) before writing any of them.
 */
#ifndef CS_TEE_SNP_COLLATERAL_H
#define CS_TEE_SNP_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "tee/snp/format.h"

#define CS_SNP_KDS_BASE "https://kdsintf.amd.com"
#define CS_SNP_KDS_ATTEMPTS 4 /* tries for an operator's fetch (429/503 backoff) */
#define CS_SNP_KDS_ENV "CUSTOS_KDS_URL"

/* Appends AMD's KDS URL (CS_SNP_KDS_BASE) of the VCEK for chip_id (64 bytes; Turin uses the first
 * 8) and tcb. */
CS_MUST_USE enum cs_err cs_snp_kds_vcek_url(enum cs_snp_product p, const uint8_t *chip_id,
                                            const struct cs_snp_tcb *tcb, struct cs_buf *out);

/* Appends the cache path of that VCEK relative to a collateral directory. */
CS_MUST_USE enum cs_err cs_snp_vcek_relpath(enum cs_snp_product p, const uint8_t *chip_id,
                                            const struct cs_snp_tcb *tcb, struct cs_buf *out);

/* Appends the cached VCEK (DER) to out; CS_ERR_COLLATERAL when it is not cached. */
CS_MUST_USE enum cs_err cs_snp_cache_vcek(const char *dir, enum cs_snp_product p,
                                          const uint8_t *chip_id, const struct cs_snp_tcb *tcb,
                                          struct cs_buf *out);

/* Writes one file of the layout (rel must match the grammar) atomically under dir. */
CS_MUST_USE enum cs_err cs_snp_cache_put(const char *dir, const char *rel, const uint8_t *p,
                                         size_t n);

/*
 * Where and how KDS is asked; zero fields take the defaults. base: an "https://host[:port][/path]"
 * prefix (AMD's layout below it), NULL for $CUSTOS_KDS_URL when set, else CS_SNP_KDS_BASE; plain
 * "http://" is accepted only for a loopback host (127.0.0.1, [::1], localhost: a local KDS cache
 * or a test). Whatever the transport, a fetched file is checked to be what its path says (see
 * cs_snp_cache_put) and a VCEK is trusted only through the pinned roots.
 */
struct cs_snp_kds {
	const char *base;
	unsigned attempts;           /* tries on HTTP 429/503; 0: 1 */
	unsigned connect_timeout_ms; /* 0: 10 s */
	unsigned timeout_ms;         /* whole transfer; 0: 30 s */
	unsigned backoff_max_ms;     /* cap on one wait (Retry-After or 1, 2, 4 s...); 0: 30 s */
};

/* The base URL kds (may be NULL) resolves to, as described above. */
const char *cs_snp_kds_base(const struct cs_snp_kds *kds);

/*
 * Fetches the VCEK from KDS at <base>/vcek/v1/<Product>/<hwid>?<SPLs> (libcurl; on HTTP 429 or 503
 * waits per Retry-After, else 1, 2, 4 s, each wait capped, up to kds->attempts tries), checks that
 * the body is one DER certificate and stores it in the cache (dir may be NULL). The broker asks
 * once (attempts 1): a guest must not be able to hold a broker thread in backoff. Errors:
 * CS_ERR_CONFIG (base not allowed), CS_ERR_NETWORK (no connection, other HTTP status),
 * CS_ERR_TIMEOUT, CS_ERR_RATE_LIMIT (still 429/503 after the last try), CS_ERR_NOT_FOUND (HTTP
 * 404), CS_ERR_TOO_LARGE (body over 256 KiB), the certificate parser's error for a body that is not
 * one.
 */
CS_MUST_USE enum cs_err cs_snp_kds_fetch_vcek(const char *dir, const struct cs_snp_kds *kds,
                                              enum cs_snp_product p, const uint8_t *chip_id,
                                              const struct cs_snp_tcb *tcb, struct cs_buf *out);
/* Fetches cert_chain (PEM) and crl (DER) for p into the cache dir, with the errors above. */
CS_MUST_USE enum cs_err cs_snp_kds_fetch_chain(const char *dir, const struct cs_snp_kds *kds,
                                               enum cs_snp_product p);

/* Writes every cached SNP file under dir into one bundle file at path. */
CS_MUST_USE enum cs_err cs_snp_bundle_export(const char *dir, const char *path, int64_t now);
/* Checks and imports a bundle into dir; *count (may be NULL) gets the number of files. */
CS_MUST_USE enum cs_err cs_snp_bundle_import(const char *dir, const uint8_t *p, size_t n,
                                             size_t *count);

#endif

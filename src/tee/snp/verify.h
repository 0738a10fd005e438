/*
 * The SEV-SNP verifier: VCEK/VLEK -> ASK/ASVK -> ARK (RSASSA-PSS) to roots pinned per product,
 * the report's ECDSA P-384 signature over [0, 0x2A0), the VEK's TCB and hardware-ID extensions
 * against REPORTED_TCB and CHIP_ID, and the bindings (REPORT_DATA, HOST_DATA). Order as in
 * research cpu-tee.md §1.4 (Trustee's and go-sev-guest's verifiers agree on it).
 *
 * Trust anchors are never taken from evidence: the built-in AMD roots (src/tee/snp/roots/, compiled
 * in) or a directory with milan.pem / genoa.pem / turin.pem, each "ASK, ARK[, ASVK]" in PEM as
 * AMD's KDS cert_chain serves them (test roots for sim-snp).
 */
#ifndef CS_TEE_SNP_VERIFY_H
#define CS_TEE_SNP_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "tee/snp/format.h"

struct cs_x509_crls;
struct cs_snp_trust; /* opaque: pinned roots per product, CRLs, and a cache of verified VEKs */

/*
 * Loads pinned roots: the built-in AMD ARK/ASK/ASVK when dir is NULL, else dir/{milan,genoa,
 * turin}.pem (a product whose file is absent is unsupported). Returns owned.
 */
CS_MUST_USE enum cs_err cs_snp_trust_new(const char *dir, struct cs_snp_trust **out);
/*
 * From one PEM text "ASK, ARK[, ASVK]" for product (used by cs_snp_trust_new and tests). This and
 * cs_snp_trust_set_crls configure a trust before it is shared: once cs_snp_verify has run with it
 * (other threads may hold its cached VEKs and roots) both return CS_ERR_STATE and change nothing;
 * build a new trust to change roots or CRLs.
 */
CS_MUST_USE enum cs_err cs_snp_trust_set(struct cs_snp_trust *t, enum cs_snp_product p,
                                         const uint8_t *pem, size_t n);
/*
 * Sets the CRLs (DER or PEM, AMD KDS /crl), replacing any before; takes crls (freed on failure).
 * Revoked ASK/ASVK/VEK are then rejected. CS_ERR_STATE after a verification, as above.
 */
CS_MUST_USE enum cs_err cs_snp_trust_set_crls(struct cs_snp_trust *t, struct cs_x509_crls *crls);
void cs_snp_trust_free(struct cs_snp_trust *t);

/* The built-in roots PEM for a product (borrowed, static); NULL for an unknown product. */
const char *cs_snp_builtin_roots(enum cs_snp_product p);

struct cs_snp_verify_opts {
	int64_t at;                  /* verification time, Unix seconds */
	const uint8_t *report_data;  /* 64 bytes expected in REPORT_DATA; NULL: not checked */
	const uint8_t *host_data;    /* init-data digest; NULL: not checked */
	size_t host_data_len;        /* compared as Trustee does: truncated/zero-padded to 32 */
	enum cs_snp_product product; /* for v2 reports whose VEK names no product; else UNKNOWN */
};

/* What a verified report says, decoded. */
struct cs_snp_verified {
	struct cs_snp_report report;
	enum cs_snp_product product;
	enum cs_snp_signer signer;
	struct cs_snp_tcb reported_tcb;
	struct cs_snp_tcb current_tcb;
	struct cs_snp_tcb committed_tcb;
	struct cs_snp_tcb launch_tcb;
	struct cs_snp_vek_info vek;
};

/*
 * Verifies report (n bytes, borrowed) signed by the VEK certificate vek (DER or PEM, borrowed;
 * NULL: CS_ERR_COLLATERAL). On CS_OK fills *out. Errors: the parser's; CS_ERR_UNSUPPORTED for a
 * product without pinned roots or an unsigned report; CS_ERR_CERT / CS_ERR_EXPIRED /
 * CS_ERR_NOT_YET_VALID / CS_ERR_CERT_REVOKED for the chain; CS_ERR_SIGNATURE; CS_ERR_TCB when the
 * VEK's SPLs differ from REPORTED_TCB; CS_ERR_HWID when its hwID is not CHIP_ID; CS_ERR_BINDING for
 * REPORT_DATA or HOST_DATA. Thread-safe for one trust shared by many threads.
 */
CS_MUST_USE enum cs_err cs_snp_verify(struct cs_snp_trust *t, const uint8_t *report, size_t n,
                                      const uint8_t *vek, size_t vek_len,
                                      const struct cs_snp_verify_opts *o,
                                      struct cs_snp_verified *out);

/* Reads the VEK extensions of a certificate (DER or PEM). */
CS_MUST_USE enum cs_err cs_snp_vek_info_read(const uint8_t *cert, size_t n,
                                             struct cs_snp_vek_info *out);

/*
 * The claims of a verified report, named as Trustee's SNP verifier names them (string values:
 * decimal numbers, "true"/"false", standard base64 for measurement/report_data/init_data), plus
 * custos additions (product, version, vmpl, signer, chip_id, reported_tcb_fmc, ...). Returns
 * owned.
 */
CS_MUST_USE enum cs_err cs_snp_claims(const struct cs_snp_verified *v, json_t **out);

#endif

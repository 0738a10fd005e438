/* The SEV-SNP TEE types for the registry (src/tee/registry.c): real `snp` and simulated `sim-snp`.
 */
#ifndef CS_TEE_SNP_SNP_H
#define CS_TEE_SNP_SNP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "tee/snp/verify.h"
#include "tee/tee.h"

extern const struct cs_tee_ops cs_tee_snp;
extern const struct cs_tee_ops cs_tee_sim_snp;

/*
 * The VCEK for a raw report (CS_SNP_REPORT_LEN bytes) that carries none: from the collateral cache
 * dir (may be NULL), else, when online, from AMD KDS (cached into dir; one try; the base URL from
 * $CUSTOS_KDS_URL when set, see cs_snp_kds_base). Appends DER to vek;
 * CS_ERR_COLLATERAL when it is neither cached nor fetchable (VLEK-signed reports: always).
 */
CS_MUST_USE enum cs_err cs_snp_find_vcek(const char *dir, bool online, const uint8_t *report,
                                         struct cs_buf *vek);
/* The same, asking KDS at kds_base (NULL: as above; checked as cs_snp_kds's base). */
CS_MUST_USE enum cs_err cs_snp_find_vcek_at(const char *dir, bool online, const char *kds_base,
                                            const uint8_t *report, struct cs_buf *vek);

/*
 * Loads the CRLs cached under dir (snp/<Product>/crl.der, see collateral.h) into t and returns the
 * earliest nextUpdate through *next_update (INT64_MAX when none): past it the collateral is stale.
 */
CS_MUST_USE enum cs_err cs_snp_trust_load_crls(struct cs_snp_trust *t, const char *dir,
                                               int64_t *next_update);

#endif

/*
 * sim-snp (DESIGN.md §7): a software SEV-SNP that emits byte-exact ATTESTATION_REPORTs signed by
 * a generated test VCEK under a generated test ASK/ARK. The certificates have AMD's shape: the
 * same distinguished names, RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48) for ARK->ASK->VCEK, a
 * P-384 VCEK carrying the structVersion, productName, SPL and hwID extensions. The real verifier
 * runs on it unchanged, with the test roots as its trust anchors; with AMD's roots it refuses.
 *
 * State directory (cs_snp_sim_save / _load): <product>.pem (test ASK, ARK: a roots directory for
 * cs_snp_trust_new), vcek.der, vcek.key (PKCS#8 PEM, mode 0600), chip.json (product, TCB,
 * chip ID).
 */
#ifndef CS_TEE_SNP_SIM_H
#define CS_TEE_SNP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "tee/snp/format.h"

struct cs_snp_sim;

struct cs_snp_sim_params {
	enum cs_snp_product product;
	struct cs_snp_tcb tcb;               /* the platform's TCB (reported = current) */
	uint8_t chip_id[CS_SNP_CHIP_ID_LEN]; /* Turin: 8 bytes, the rest zero */
	unsigned rsa_bits;                   /* ARK/ASK modulus; 0: 2048 (AMD uses 4096) */
	int64_t not_before, not_after;       /* validity of all three certificates */
};

/* Generates the test chain for p. Returns owned. */
CS_MUST_USE enum cs_err cs_snp_sim_new(const struct cs_snp_sim_params *p, struct cs_snp_sim **out);
void cs_snp_sim_free(struct cs_snp_sim *s);

/* Appends the test roots as "ASK, ARK" PEM (for cs_snp_trust_set). */
CS_MUST_USE enum cs_err cs_snp_sim_roots_pem(const struct cs_snp_sim *s, struct cs_buf *out);
/*
 * Appends a DER CRL issued by the test ARK (as AMD's KDS /crl), valid from this_update to
 * next_update, revoking the test ASK when revoke_ask. CS_ERR_STATE after cs_snp_sim_load.
 */
CS_MUST_USE enum cs_err cs_snp_sim_crl(const struct cs_snp_sim *s, bool revoke_ask,
                                       int64_t this_update, int64_t next_update,
                                       struct cs_buf *out);
/* Appends the VCEK certificate (DER). */
CS_MUST_USE enum cs_err cs_snp_sim_vcek_der(const struct cs_snp_sim *s, struct cs_buf *out);
/*
 * Issues another VCEK under the same test ASK for tcb and hwid (hwid_len 64 or 8), keeping the
 * sim's signing key: a certificate for another chip or TCB, for negative tests. Appends DER.
 */
CS_MUST_USE enum cs_err cs_snp_sim_issue_vcek(const struct cs_snp_sim *s,
                                              const struct cs_snp_tcb *tcb, const uint8_t *hwid,
                                              size_t hwid_len, struct cs_buf *out);

/* A report template for the sim's chip: version (3 or 5), policy 0x30000 (SMT, no debug),
 * VMPL 0, CPUID, TCBs and chip ID of the sim, firmware 1.55. */
void cs_snp_sim_template(const struct cs_snp_sim *s, unsigned version, struct cs_snp_report *r);

/* Signs r (its signature fields are replaced) with the VCEK key into out. */
CS_MUST_USE enum cs_err cs_snp_sim_sign(const struct cs_snp_sim *s, const struct cs_snp_report *r,
                                        uint8_t out[CS_SNP_REPORT_LEN]);

/* Saves / loads the sim's state directory (created with mode 0700 if absent). */
CS_MUST_USE enum cs_err cs_snp_sim_save(const struct cs_snp_sim *s, const char *dir);
CS_MUST_USE enum cs_err cs_snp_sim_load(const char *dir, struct cs_snp_sim **out);

#endif

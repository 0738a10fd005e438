/* The SEV-SNP attester (guest side): configfs-tsm, then /dev/sev-guest. */
#ifndef CS_TEE_SNP_ATTEST_H
#define CS_TEE_SNP_ATTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "tee/tee.h"

/* Names the configfs-tsm report directory to use instead of /sys/kernel/config/tsm/report. */
#define CS_SNP_TSM_ENV "CUSTOS_TSM_REPORT_DIR"

/* The configfs-tsm report directory: $CUSTOS_TSM_REPORT_DIR when set, else the kernel's. */
const char *cs_snp_tsm_root(void);

/* Whether an SEV-SNP guest interface exists here. */
bool cs_snp_attest_available(void);

/*
 * Requests a report binding report_data (CS_REPORT_DATA_LEN bytes) at VMPL 0 and returns owned
 * Trustee `snp` evidence JSON (with the VCEK/VLEK when the host supplies certificates).
 * CS_ERR_NO_TEE when neither configfs-tsm (with the sev_guest provider) nor /dev/sev-guest exists.
 */
CS_MUST_USE enum cs_err cs_snp_attest(const uint8_t *report_data, json_t **evidence);

/*
 * configfs-tsm only, under tsm_root (a configfs-tsm "report" directory): mkdir an entry, write
 * privlevel (when privlevel_floor is not 0) and inblob, read outblob, auxblob (optional) and
 * generation, rmdir. Errors: CS_ERR_NO_TEE (no root, provider not sev_guest), CS_ERR_IO,
 * CS_ERR_TRUNCATED / CS_ERR_TOO_LARGE (outblob not one report), CS_ERR_STATE (generation is not
 * the count of our own writes: another writer), CS_ERR_PROTOCOL (generation not a number),
 * CS_ERR_BINDING (the report's REPORT_DATA is not the inblob), the report parser's and
 * cs_snp_certtable_find's errors for a malformed outblob or auxblob.
 */
CS_MUST_USE enum cs_err cs_snp_attest_tsm(const char *tsm_root, const uint8_t *report_data,
                                          json_t **evidence);

#endif

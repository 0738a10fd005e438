/* The SEV-SNP attester (guest side): configfs-tsm, then /dev/sev-guest. */
#ifndef CS_TEE_SNP_ATTEST_H
#define CS_TEE_SNP_ATTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "tee/tee.h"

/* Whether an SEV-SNP guest interface exists here. */
bool cs_snp_attest_available(void);

/*
 * Requests a report binding report_data (CS_REPORT_DATA_LEN bytes) at VMPL 0 and returns owned
 * Trustee `snp` evidence JSON (with the VCEK/VLEK when the host supplies certificates).
 * CS_ERR_NO_TEE when neither configfs-tsm nor /dev/sev-guest exists.
 */
CS_MUST_USE enum cs_err cs_snp_attest(const uint8_t *report_data, json_t **evidence);

#endif

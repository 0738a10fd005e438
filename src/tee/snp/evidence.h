/*
 * Trustee's `snp` primary evidence: the JSON the attestation agent sends, `{"attestation_report":
 * {...}, "cert_chain": [{"cert_type": "VCEK", "data": [bytes]}] | null}`, where the report is the
 * serde form of virtee/sev's AttestationReport (one member per field, byte arrays as arrays of
 * numbers, TCB versions as {fmc, bootloader, tee, snp, microcode}). Reserved bytes are not in
 * the JSON: the raw report is rebuilt with them zero, and the signature check then proves the
 * rebuild byte-exact.
 */
#ifndef CS_TEE_SNP_EVIDENCE_H
#define CS_TEE_SNP_EVIDENCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "tee/snp/format.h"

/*
 * Rebuilds the raw report from ev (borrowed) into report, and appends the VCEK/VLEK DER from
 * cert_chain to vek (left empty when the chain is null or has none). CS_ERR_JSON_FIELD for a
 * missing member or one of the wrong type or size; CS_ERR_INVAL for more than one VEK.
 */
CS_MUST_USE enum cs_err cs_snp_evidence_parse(const json_t *ev, uint8_t report[CS_SNP_REPORT_LEN],
                                              struct cs_buf *vek);

/*
 * Builds the evidence JSON for a raw report (parsed first: it must be well-formed) and an
 * optional VEK (DER; NULL for none, giving "cert_chain": null); vlek says which cert_type to
 * name. Returns owned.
 */
CS_MUST_USE enum cs_err cs_snp_evidence_build(const uint8_t *report, size_t n, const uint8_t *vek,
                                              size_t vek_len, json_t **out);

#endif

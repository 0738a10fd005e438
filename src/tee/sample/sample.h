/*
 * Trustee's `sample` TEE: no hardware, no signature. The evidence is the JSON object
 * {"svn": "<string>", "report_data": "<base64 (standard, padded) of the report data>"} exactly as
 * guest-components' sample attester writes it and Trustee's sample verifier reads it. It proves
 * nothing about the platform; the KBS refuses it unless its configuration enables it by name, and
 * tokens it yields carry the `sample` key in their annotated evidence so that policies can see it.
 */
#ifndef CS_TEE_SAMPLE_H
#define CS_TEE_SAMPLE_H

#include "tee/tee.h"

extern const struct cs_tee_ops cs_tee_sample;

/*
 * Report data the sample attester emits: guest-components hands its attester the 48-byte SHA-384
 * binding, unpadded, and Trustee compares the decoded bytes with that. Our interface passes the
 * binding zero-padded to CS_REPORT_DATA_LEN, so the attester emits 48 bytes when the last 16 are
 * zero and all 64 otherwise; the verifier accepts exactly those two lengths.
 */
#define CS_SAMPLE_BINDING_LEN 48

#endif

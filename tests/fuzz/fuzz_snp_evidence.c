/*
 * Target: Trustee `snp` evidence JSON (the broker's untrusted input before any signature check):
 * parsed with the JSON limits, rebuilt into a raw report. Whatever parses must rebuild into 1184
 * bytes that survive a build/parse round trip when the report itself is well-formed.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "tee/snp/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rep[CS_SNP_REPORT_LEN], again[CS_SNP_REPORT_LEN];
	struct cs_buf vek, vek2;
	json_t *ev = NULL, *ev2 = NULL;

	if (cs_json_parse(data, size, 1 << 20, &ev) != CS_OK)
		return 0;
	cs_buf_init(&vek, 1 << 16);
	cs_buf_init(&vek2, 1 << 16);
	if (cs_snp_evidence_parse(ev, rep, &vek) == CS_OK &&
	    cs_snp_evidence_build(rep, sizeof(rep), vek.p, vek.len, &ev2) == CS_OK) {
		if (cs_snp_evidence_parse(ev2, again, &vek2) != CS_OK ||
		    memcmp(rep, again, sizeof(rep)) != 0 || vek2.len != vek.len)
			abort();
	}
	json_decref(ev);
	json_decref(ev2);
	cs_buf_fini(&vek);
	cs_buf_fini(&vek2);
	return 0;
}

/*
 * Target: the RCAR request parsers (auth and attest bodies) and, for bodies that parse, the
 * report-data binding, init-data digest and init_data_claims computed from them (a parsed
 * [data] table is an object of strings). The first byte picks the parser.
 */
#include <stdlib.h>

#include "attest/rcar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_auth_req a;
	struct cs_attest_req r;
	uint8_t rd[CS_REPORT_DATA_LEN], init[64];
	size_t init_len;
	enum cs_err e;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		e = cs_auth_req_parse(data + 1, size - 1, &a);
		if (e == CS_OK && (a.tee[0] == '\0' || a.version[0] == '\0'))
			abort();
		return 0;
	}
	if (cs_attest_req_parse(data + 1, size - 1, 1 << 20, &r) == CS_OK) {
		e = cs_report_data(r.additional_evidence, r.additional_evidence_len, r.nonce,
		                   r.nonce_len, r.tee_pubkey, rd);
		if (e != CS_OK)
			abort(); /* a parsed request always yields a binding */
		if (r.init_data != NULL) {
			json_t *o = NULL, *v;
			const char *k;

			e = cs_init_data_digest(r.init_data, r.init_data_len, init, &init_len);
			(void)e;
			if (cs_init_data_claims(r.init_data, r.init_data_len, &o) == CS_OK) {
				if (!json_is_object(o))
					abort();
				json_object_foreach(o, k, v) if (!json_is_string(v)) abort();
			} else if (o != NULL) {
				abort(); /* nothing is returned on failure */
			}
			json_decref(o);
		}
	}
	cs_attest_req_fini(&r);
	return 0;
}

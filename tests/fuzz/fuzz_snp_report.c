/*
 * Target: the SEV-SNP report parser and the extended-report certificate table. Every input is
 * parsed as a report; whatever the outcome, a report that parses must satisfy the invariants the
 * verifier relies on. The same bytes are then searched as a certificate table, and any entry
 * found must lie inside the input.
 */
#include <stdlib.h>

#include "tee/snp/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_snp_report rep;
	struct cs_snp_tcb tcb;
	const uint8_t *cert;
	size_t cert_len;

	if (cs_snp_report_parse(data, size, &rep) == CS_OK) {
		enum cs_snp_product prod =
		        cs_snp_product_from_cpuid(rep.cpuid_fam_id, rep.cpuid_mod_id);

		if (size != CS_SNP_REPORT_LEN || rep.version < 2 || rep.version > 5 ||
		    rep.sig_algo != 1 || (rep.policy & CS_SNP_POLICY_MBZ) != 0)
			abort();
		if (prod != CS_SNP_PRODUCT_UNKNOWN &&
		    cs_snp_tcb_decode(rep.reported_tcb, prod, &tcb) == CS_OK &&
		    cs_snp_tcb_encode(&tcb, prod) != rep.reported_tcb)
			abort();
	}
	if (cs_snp_certtable_find(data, size, cs_snp_guid_vcek, &cert, &cert_len) == CS_OK) {
		if (cert < data || cert_len > size || (size_t)(cert - data) > size - cert_len)
			abort();
	}
	return 0;
}

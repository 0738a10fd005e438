/*
 * Target: the SEV-SNP report parser and the extended-report certificate table. Every input is
 * parsed as a report; whatever the outcome, a report that parses must satisfy the invariants the
 * verifier relies on. The same bytes are then searched as a certificate table (a configfs-tsm
 * auxblob) for each GUID, and any entry found must be non-empty, lie inside the input and after
 * the table (at least one entry and the terminator).
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
	for (int g = 0; g < 4; g++) {
		const uint8_t *guid = g == 0   ? cs_snp_guid_vcek
		                      : g == 1 ? cs_snp_guid_vlek
		                      : g == 2 ? cs_snp_guid_ask
		                               : cs_snp_guid_ark;

		if (cs_snp_certtable_find(data, size, guid, &cert, &cert_len) != CS_OK)
			continue;
		if (cert < data || cert_len == 0 || cert_len > size ||
		    (size_t)(cert - data) > size - cert_len || cert - data < 48)
			abort();
	}
	return 0;
}

/*
 * Target: the VCEK/VLEK certificate-extension value decoders (SPL integers, structVersion, hwID in
 * both encodings, IA5String names) and, with selector 4, a whole VCEK/VLEK certificate. The
 * first byte picks the decoder; the rest is the extension value (or the certificate's DER). Decoded
 * values must respect their documented bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "tee/snp/format.h"
#include "tee/snp/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t spl, hwid[CS_SNP_CHIP_ID_LEN];
	uint32_t u32;
	size_t hwid_len;
	char name[32];

	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;

	switch (data[0] % 5) {
	case 0:
		if (cs_snp_ext_spl(p, n, &spl) == CS_OK && n < 3)
			abort();
		break;
	case 1:
		if (cs_snp_ext_u32(p, n, &u32) == CS_OK && n > 7)
			abort();
		break;
	case 2:
		if (cs_snp_ext_hwid(p, n, hwid, &hwid_len) == CS_OK &&
		    hwid_len != CS_SNP_CHIP_ID_LEN && hwid_len != CS_SNP_TURIN_CHIP_ID_LEN)
			abort();
		break;
	case 4: {
		/* A whole certificate: X.509 parse, then every AMD extension decoded. */
		struct cs_snp_vek_info info;

		if (cs_snp_vek_info_read(p, n, &info) == CS_OK &&
		    (info.hwid_len > CS_SNP_CHIP_ID_LEN ||
		     strlen(info.product_name) >= sizeof(info.product_name)))
			abort();
		break;
	}
	default:
		if (cs_snp_ext_ia5(p, n, name, sizeof(name)) == CS_OK &&
		    strlen(name) >= sizeof(name))
			abort();
		if (cs_snp_product_from_name((const char *)p, n) > CS_SNP_TURIN)
			abort();
		break;
	}
	return 0;
}

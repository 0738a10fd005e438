/*
 * The pinned AMD roots, compiled in from src/tee/snp/roots/<product>.pem (ASK, ARK, ASVK in that
 * order, as Trustee ships them and as AMD KDS serves /vcek/v1/<product>/cert_chain plus the
 * ASVK of /vlek/v1/<product>/cert_chain). Public AMD certificates; SHA-256 of each DER:
 *
 *   ARK-Milan      69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd  2020..2045
 *   SEV-Milan      67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b  2020..2045
 *   SEV-VLEK-Milan c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5  2022..2047
 *   ARK-Genoa      4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1  2022..2047
 *   SEV-Genoa      5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521  2022..2047
 *   SEV-VLEK-Genoa 197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372  2022..2047
 *   ARK-Turin      1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a  2023..2048
 *   SEV-Turin      5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185  2023..2048
 *   SEV-VLEK-Turin 104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c  2023..2048
 *
 * test_snp checks these fingerprints against the compiled-in certificates.
 */
#include <stddef.h>

#include "tee/snp/verify.h"

extern const char cs_snp_roots_milan_pem[];
extern const char cs_snp_roots_genoa_pem[];
extern const char cs_snp_roots_turin_pem[];

const char *
cs_snp_builtin_roots(enum cs_snp_product p)
{
	switch (p) {
	case CS_SNP_MILAN:
		return cs_snp_roots_milan_pem;
	case CS_SNP_GENOA:
		return cs_snp_roots_genoa_pem;
	case CS_SNP_TURIN:
		return cs_snp_roots_turin_pem;
	case CS_SNP_PRODUCT_UNKNOWN:
		break;
	}
	return NULL;
}

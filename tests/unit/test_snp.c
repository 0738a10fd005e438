/*
 * SEV-SNP: the report parser, TCB decoding, certificate-extension decoding and the certificate
 * table, on real reports from ../shared/fixtures (SOURCES.md there gives each verdict) and on
 * mutations of them.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "tee/snp/format.h"

/* One real report with what SOURCES.md says about it. */
struct fx_report {
	const char *report; /* path under the fixtures folder */
	const char *vek;    /* its VCEK/VLEK (DER or PEM), NULL if not shipped */
	unsigned version;
	enum cs_snp_product product; /* from CPUID (v3+) or the VEK's productName (v2) */
	enum cs_snp_signer signer;
	unsigned vmpl;
	const char *at; /* a verification time inside the VEK's validity window */
};

static const struct fx_report fx_reports[] = {
        {"snp/trustee/test-report.bin", "snp/trustee/test-vcek.der", 2, CS_SNP_MILAN,
         CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"trustee/snp-milan-vcek-report.bin", "trustee/snp-milan-vcek.der", 2, CS_SNP_MILAN,
         CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der", 3, CS_SNP_MILAN,
         CS_SNP_SIGNER_VLEK, 1, "2025-06-01T00:00:00Z"},
        {"snp/openanolis-trustee/test-vlek-report.bin", "snp/openanolis-trustee/test-vlek.der", 2,
         CS_SNP_MILAN, CS_SNP_SIGNER_VLEK, 1, "2025-01-01T00:00:00Z"},
        {"snp/openanolis-trustee/turin-report.bin", "snp/openanolis-trustee/turin-vcek.der", 5,
         CS_SNP_TURIN, CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"snp/trustee/e2e-evidence-genoa-report.bin", "snp/trustee/e2e-evidence-genoa-vcek.der", 3,
         CS_SNP_GENOA, CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"snp/gosevguest/attestation.bin", "snp/gosevguest/vcek.der", 2, CS_SNP_MILAN,
         CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"snp/virtee-sev/report_milan.bin", "snp/virtee-sev/vcek_milan.der", 2, CS_SNP_MILAN,
         CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"snp/teekit/sev-gcp.bin", "snp/teekit/sev-gcp-vcek.pem", 5, CS_SNP_MILAN,
         CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"snp/teekit/sev-gcp-reportdata.bin", "snp/teekit/sev-gcp-vcek.pem", 5, CS_SNP_MILAN,
         CS_SNP_SIGNER_VCEK, 1, "2026-11-30T00:00:00Z"},
        {"snp/teekit/sev-gcp-x25519-bound.bin", "snp/teekit/sev-gcp-x25519-vcek.pem", 5,
         CS_SNP_MILAN, CS_SNP_SIGNER_VCEK, 1, "2026-11-30T00:00:00Z"},
        {"peers/tinfoil/tinfoil-genoa-report.bin", "peers/tinfoil/tinfoil-genoa-vcek.der", 3,
         CS_SNP_GENOA, CS_SNP_SIGNER_VCEK, 0, "2026-11-30T00:00:00Z"},
        {"peers/lit-sev-snp-utils/guest_report.bin", NULL, 2, CS_SNP_MILAN, CS_SNP_SIGNER_VCEK, 0,
         "2026-11-30T00:00:00Z"},
};
#define FX_COUNT (sizeof(fx_reports) / sizeof(fx_reports[0]))

static int fx_skipped;

/* Reads a fixture; NULL (and counts a skip) when the folder or file is absent. */
static uint8_t *
fx_read(const char *rel, size_t *len)
{
	const char *dir = t_fixtures();
	char path[512];

	if (dir == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return t_read_file(path, len);
}

static bool
have_fixtures(void)
{
	size_t n;
	uint8_t *p = fx_read(fx_reports[0].report, &n);

	free(p);
	return p != NULL;
}

/* ---- parser ---- */

static void
test_parse_fixtures(void)
{
	if (!have_fixtures()) {
		fx_skipped += (int)FX_COUNT;
		return;
	}
	for (size_t i = 0; i < FX_COUNT; i++) {
		const struct fx_report *f = &fx_reports[i];
		struct cs_snp_report rep;
		size_t n;
		uint8_t *p = fx_read(f->report, &n);

		CHECK(p != NULL);
		if (p == NULL)
			continue;
		CHECK_OK(cs_snp_report_parse(p, n, &rep));
		CHECK(rep.version == f->version);
		CHECK(rep.vmpl == f->vmpl);
		CHECK(cs_snp_report_signer(&rep) == f->signer);
		CHECK(rep.sig_algo == 1);
		if (rep.version >= 3)
			CHECK(cs_snp_product_from_cpuid(rep.cpuid_fam_id, rep.cpuid_mod_id) ==
			      f->product);
		else
			CHECK(rep.cpuid_fam_id == 0 && rep.cpuid_mod_id == 0);
		CHECK_MEM(rep.report_data, p + 0x50, 64);
		CHECK_MEM(rep.measurement, p + 0x90, 48);
		CHECK_MEM(rep.chip_id, p + 0x1A0, 64);
		CHECK_MEM(rep.sig_r, p + 0x2A0, 72);
		CHECK_MEM(rep.sig_s, p + 0x2E8, 72);
		free(p);
	}
}

/* A report from the fixtures, or NULL (counting a skip). */
static uint8_t *
milan_report(size_t *n)
{
	uint8_t *p = fx_read("snp/trustee/test-report.bin", n);

	if (p == NULL)
		fx_skipped++;
	return p;
}

static void
test_parse_lengths(void)
{
	struct cs_snp_report rep;
	size_t n;
	uint8_t *p = milan_report(&n), *big;

	if (p == NULL)
		return;
	CHECK_ERR(cs_snp_report_parse(p, 0, &rep), CS_ERR_TRUNCATED);
	CHECK_ERR(cs_snp_report_parse(NULL, 0, &rep), CS_ERR_TRUNCATED);
	CHECK_ERR(cs_snp_report_parse(p, 1, &rep), CS_ERR_TRUNCATED);
	CHECK_ERR(cs_snp_report_parse(p, CS_SNP_REPORT_LEN - 1, &rep), CS_ERR_TRUNCATED);
	CHECK_OK(cs_snp_report_parse(p, CS_SNP_REPORT_LEN, &rep));
	big = calloc(1, CS_SNP_REPORT_LEN + 1);
	memcpy(big, p, CS_SNP_REPORT_LEN);
	CHECK_ERR(cs_snp_report_parse(big, CS_SNP_REPORT_LEN + 1, &rep), CS_ERR_TRAILING);
	free(big);
	free(p);

	/* LIT's negative vectors: one byte too long, and truncated at 793 bytes. */
	p = fx_read("peers/lit-sev-snp-utils/guest_report_bad_sig.bin", &n);
	if (p != NULL) {
		CHECK(n == CS_SNP_REPORT_LEN + 1);
		CHECK_ERR(cs_snp_report_parse(p, n, &rep), CS_ERR_TRAILING);
		free(p);
	}
	p = fx_read("peers/lit-sev-snp-utils/guest_report_corrupt.bin", &n);
	if (p != NULL) {
		CHECK(n == 793);
		CHECK_ERR(cs_snp_report_parse(p, n, &rep), CS_ERR_TRUNCATED);
		free(p);
	}
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
test_parse_fields(void)
{
	static const struct {
		size_t off, len;
	} reserved[] = {
	        {0x04C, 4},
	        {0x188, 3} /* CPUID in v2 */,
	        {0x18B, 21},
	        {0x1EB, 1},
	        {0x1EF, 1},
	        {0x1F8, 16} /* mitigation vectors before v5 */,
	        {0x208, 152},
	        {0x2A0 + 48, 24} /* R high bytes */,
	        {0x2E8 + 48, 24} /* S high bytes */,
	        {0x330, 0x4A0 - 0x330},
	};
	struct cs_snp_report rep;
	size_t n;
	uint8_t *p = milan_report(&n), m[CS_SNP_REPORT_LEN];

	if (p == NULL)
		return;
	/* Every byte of every reserved range, one at a time. */
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		for (size_t j = 0; j < reserved[i].len; j++) {
			memcpy(m, p, sizeof(m));
			m[reserved[i].off + j] ^= 0x01;
			CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep), CS_ERR_RESERVED);
		}
	for (uint32_t v = 0; v < 8; v++) {
		memcpy(m, p, sizeof(m));
		put32(m, v);
		CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep),
		          v >= 2 && v <= 5 ? CS_OK : CS_ERR_UNSUPPORTED);
	}
	memcpy(m, p, sizeof(m));
	put32(m + 0x34, 2); /* SIGNATURE_ALGO */
	CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep), CS_ERR_UNSUPPORTED);
	memcpy(m, p, sizeof(m));
	m[0x08 + 2] &= (uint8_t)~0x02; /* policy bit 17 must be one */
	CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep), CS_ERR_RESERVED);
	memcpy(m, p, sizeof(m));
	m[0x08 + 3] |= 0x04; /* policy bit 26 */
	CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep), CS_ERR_RESERVED);
	memcpy(m, p, sizeof(m));
	m[0x08 + 2] |= 0x08; /* DEBUG: parses, the verifier exposes it */
	CHECK_OK(cs_snp_report_parse(m, sizeof(m), &rep));
	CHECK((rep.policy & CS_SNP_POLICY_DEBUG) != 0);
	for (uint32_t key = 0; key < 8; key++) {
		memcpy(m, p, sizeof(m));
		put32(m + 0x48, key << 2);
		CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep),
		          key <= 1 || key == 7 ? CS_OK : CS_ERR_RESERVED);
	}
	memcpy(m, p, sizeof(m));
	put32(m + 0x48, 1U << 5);
	CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep), CS_ERR_RESERVED);
	/* v3 fields are read in a v3 report, v5 fields in a v5 report. */
	memcpy(m, p, sizeof(m));
	put32(m, 3);
	m[0x188] = 0x19;
	m[0x189] = 0x11;
	CHECK_OK(cs_snp_report_parse(m, sizeof(m), &rep));
	CHECK(cs_snp_product_from_cpuid(rep.cpuid_fam_id, rep.cpuid_mod_id) == CS_SNP_GENOA);
	m[0x1F8] = 1;
	CHECK_ERR(cs_snp_report_parse(m, sizeof(m), &rep), CS_ERR_RESERVED);
	put32(m, 5);
	CHECK_OK(cs_snp_report_parse(m, sizeof(m), &rep));
	CHECK(rep.launch_mit_vector == 1);
	free(p);
}

static void
test_products_and_tcb(void)
{
	struct cs_snp_tcb t;

	CHECK(cs_snp_product_from_cpuid(0x19, 0x01) == CS_SNP_MILAN);
	CHECK(cs_snp_product_from_cpuid(0x19, 0x11) == CS_SNP_GENOA);
	CHECK(cs_snp_product_from_cpuid(0x19, 0xA0) == CS_SNP_GENOA);
	CHECK(cs_snp_product_from_cpuid(0x19, 0x20) == CS_SNP_PRODUCT_UNKNOWN);
	CHECK(cs_snp_product_from_cpuid(0x1A, 0x02) == CS_SNP_TURIN);
	CHECK(cs_snp_product_from_cpuid(0x1A, 0x50) == CS_SNP_PRODUCT_UNKNOWN);
	CHECK(cs_snp_product_from_cpuid(0x17, 0x01) == CS_SNP_PRODUCT_UNKNOWN);
	CHECK(cs_snp_product_from_name("Milan-B0", 8) == CS_SNP_MILAN);
	CHECK(cs_snp_product_from_name("Genoa", 5) == CS_SNP_GENOA);
	CHECK(cs_snp_product_from_name("turin", 5) == CS_SNP_TURIN);
	CHECK(cs_snp_product_from_name("Milano", 6) == CS_SNP_PRODUCT_UNKNOWN);
	CHECK(cs_snp_product_from_name("Mila", 4) == CS_SNP_PRODUCT_UNKNOWN);
	CHECK_STR(cs_snp_product_name(CS_SNP_GENOA), "Genoa");

	/* Milan fixture: 03 00 00 00 00 00 08 73 (bl 3, tee 0, snp 8, ucode 115). */
	CHECK_OK(cs_snp_tcb_decode(0x7308000000000003ULL, CS_SNP_MILAN, &t));
	CHECK(t.bootloader == 3 && t.tee == 0 && t.snp == 8 && t.microcode == 115 && t.fmc == 0);
	CHECK(cs_snp_tcb_encode(&t, CS_SNP_MILAN) == 0x7308000000000003ULL);
	CHECK_ERR(cs_snp_tcb_decode(0x7308000000010003ULL, CS_SNP_MILAN, &t), CS_ERR_RESERVED);
	/* Turin fixture: 01 03 02 05 00 00 00 61 (fmc 1, bl 3, tee 2, snp 5, ucode 0x61). */
	CHECK_OK(cs_snp_tcb_decode(0x6100000005020301ULL, CS_SNP_TURIN, &t));
	CHECK(t.fmc == 1 && t.bootloader == 3 && t.tee == 2 && t.snp == 5 && t.microcode == 0x61);
	CHECK(cs_snp_tcb_encode(&t, CS_SNP_TURIN) == 0x6100000005020301ULL);
	CHECK_ERR(cs_snp_tcb_decode(0x6100000105020301ULL, CS_SNP_TURIN, &t), CS_ERR_RESERVED);
	CHECK_ERR(cs_snp_tcb_decode(0, CS_SNP_PRODUCT_UNKNOWN, &t), CS_ERR_INVAL);
}

static void
test_ext_decoders(void)
{
	uint8_t v, id[64], raw[66];
	uint32_t u;
	size_t len;
	char s[16];

	CHECK_OK(cs_snp_ext_spl((const uint8_t *)"\x02\x01\x73", 3, &v));
	CHECK(v == 0x73);
	CHECK_OK(cs_snp_ext_spl((const uint8_t *)"\x02\x02\x00\xd9", 4, &v));
	CHECK(v == 0xD9);
	CHECK_OK(cs_snp_ext_spl((const uint8_t *)"\x02\x01\x00", 3, &v));
	CHECK(v == 0);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"\x02\x01\xd9", 3, &v), CS_ERR_ENCODING);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"\x02\x02\x00\x12", 4, &v), CS_ERR_ENCODING);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"\x02\x02\x01\x00", 4, &v), CS_ERR_TOO_LARGE);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"\x02\x00", 2, &v), CS_ERR_ENCODING);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"\x04\x01\x01", 3, &v), CS_ERR_ENCODING);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"\x02\x02\x01", 3, &v), CS_ERR_TRUNCATED);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"\x02\x01\x01\x00", 4, &v), CS_ERR_TRAILING);
	CHECK_ERR(cs_snp_ext_spl((const uint8_t *)"", 0, &v), CS_ERR_TRUNCATED);
	CHECK_OK(cs_snp_ext_u32((const uint8_t *)"\x02\x01\x01", 3, &u));
	CHECK(u == 1);

	/* hwID: raw 64 bytes (legacy), DER OCTET STRING, Turin's 8 bytes; a raw ID may begin 04. */
	for (int i = 0; i < 64; i++)
		raw[i] = (uint8_t)i;
	raw[0] = 0x04;
	CHECK_OK(cs_snp_ext_hwid(raw, 64, id, &len));
	CHECK(len == 64);
	CHECK_MEM(id, raw, 64);
	memmove(raw + 2, raw, 64);
	raw[0] = 0x04;
	raw[1] = 0x40;
	CHECK_OK(cs_snp_ext_hwid(raw, 66, id, &len));
	CHECK(len == 64);
	CHECK_MEM(id, raw + 2, 64);
	CHECK_ERR(cs_snp_ext_hwid(raw, 65, id, &len), CS_ERR_TRUNCATED);
	CHECK_OK(cs_snp_ext_hwid((const uint8_t *)"\x04\x08\x09\x10\xb4\xf8\x84\xff\x4b\xa9", 10,
	                         id, &len));
	CHECK(len == 8 && id[0] == 0x09 && id[7] == 0xa9 && id[8] == 0);
	CHECK_ERR(cs_snp_ext_hwid((const uint8_t *)"\x04\x02\x01\x02", 4, id, &len), CS_ERR_LENGTH);

	CHECK_OK(cs_snp_ext_ia5((const uint8_t *)"\x16\x08Milan-B0", 10, s, sizeof(s)));
	CHECK_STR(s, "Milan-B0");
	CHECK_ERR(cs_snp_ext_ia5((const uint8_t *)"\x16\x02M\x00", 4, s, sizeof(s)),
	          CS_ERR_ENCODING);
	CHECK_ERR(cs_snp_ext_ia5((const uint8_t *)"\x0c\x01M", 3, s, sizeof(s)), CS_ERR_ENCODING);
	CHECK_ERR(cs_snp_ext_ia5((const uint8_t *)"\x16\x10"
	                                          "0123456789abcdef",
	                         18, s, sizeof(s)),
	          CS_ERR_TOO_LARGE);
	/* Long-form lengths must be minimal. */
	CHECK_ERR(cs_snp_ext_ia5((const uint8_t *)"\x16\x81\x01M", 4, s, sizeof(s)),
	          CS_ERR_ENCODING);
}

static void
test_certtable(void)
{
	uint8_t t[32 * 3 + 8];
	const uint8_t *c;
	size_t n;

	memset(t, 0, sizeof(t));
	memcpy(t, cs_snp_guid_ark, 16);
	put32(t + 16, 72);
	put32(t + 20, 4);
	memcpy(t + 24, cs_snp_guid_vcek, 16);
	put32(t + 40, 76);
	put32(t + 44, 4);
	memcpy(t + 72, "ARK!VCEK", 8);
	CHECK_OK(cs_snp_certtable_find(t, 80, cs_snp_guid_vcek, &c, &n));
	CHECK(n == 4 && memcmp(c, "VCEK", 4) == 0);
	CHECK_OK(cs_snp_certtable_find(t, 80, cs_snp_guid_ark, &c, &n));
	CHECK(n == 4 && memcmp(c, "ARK!", 4) == 0);
	CHECK_ERR(cs_snp_certtable_find(t, 80, cs_snp_guid_vlek, &c, &n), CS_ERR_NOT_FOUND);
	/* An entry pointing past the end, and a table without its terminator. */
	CHECK_ERR(cs_snp_certtable_find(t, 79, cs_snp_guid_vcek, &c, &n), CS_ERR_LENGTH);
	CHECK_ERR(cs_snp_certtable_find(t, 20, cs_snp_guid_vlek, &c, &n), CS_ERR_TRUNCATED);
	put32(t + 44, 0xFFFFFFFFu);
	CHECK_ERR(cs_snp_certtable_find(t, 80, cs_snp_guid_vcek, &c, &n), CS_ERR_LENGTH);
}

int
main(void)
{
	T_RUN(test_parse_fixtures);
	T_RUN(test_parse_lengths);
	T_RUN(test_parse_fields);
	T_RUN(test_products_and_tcb);
	T_RUN(test_ext_decoders);
	T_RUN(test_certtable);
	if (fx_skipped > 0)
		printf("SKIP: %d fixture tests: fixtures folder not found (set CUSTOS_FIXTURES)\n",
		       fx_skipped);
	return t_done();
}

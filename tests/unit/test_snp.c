/*
 * SEV-SNP: the report parser, TCB decoding, certificate-extension decoding and the certificate
 * table, on real reports from ../shared/fixtures (SOURCES.md there gives each verdict) and on
 * mutations of them.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/clock.h"
#include "crypto/hash.h"
#include "crypto/x509.h"
#include "t.h"
#include "tee/snp/attest.h"
#include "tee/snp/collateral.h"
#include "tee/snp/evidence.h"
#include "tee/snp/format.h"
#include "tee/snp/sim.h"
#include "tee/snp/snp.h"
#include "tee/snp/verify.h"

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

static void
rm_tree(const char *dir)
{
	char cmd[600];

	/* Test scratch directories only: names come from mkdtemp below. */
	if (strncmp(dir, "/tmp/custos-test-snp-", 21) != 0)
		abort();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
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

/* ---- verifier on real reports ---- */

static int64_t
at_time(const char *s)
{
	int64_t t = 0;

	if (cs_time_parse_rfc3339(s, strlen(s), &t) != CS_OK)
		abort();
	return t;
}

static enum cs_err
verify_fx(struct cs_snp_trust *t, const uint8_t *rep, size_t n, const uint8_t *vek, size_t vlen,
          const char *at, struct cs_snp_verified *v)
{
	struct cs_snp_verify_opts o = {.at = at_time(at)};

	return cs_snp_verify(t, rep, n, vek, vlen, &o, v);
}

static void
test_builtin_roots(void)
{
	static const char *fps[] = {
	        "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
	        "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
	        "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
	        "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
	        "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
	        "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372",
	        "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
	        "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
	        "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c",
	};
	const enum cs_snp_product prods[] = {CS_SNP_MILAN, CS_SNP_GENOA, CS_SNP_TURIN};
	struct cs_snp_trust *t = NULL;

	for (size_t i = 0; i < 3; i++) {
		const char *pem = cs_snp_builtin_roots(prods[i]);
		struct cs_x509_set *set = NULL;

		CHECK(pem != NULL);
		CHECK_OK(cs_x509_set_from_pem((const uint8_t *)pem, strlen(pem), &set));
		CHECK(set != NULL && cs_x509_set_len(set) == 3);
		for (size_t j = 0; set != NULL && j < 3; j++) {
			uint8_t fp[32], want[32];

			CHECK_OK(cs_x509_fingerprint(cs_x509_set_get(set, j), fp));
			CHECK_OK(cs_hex_decode_fixed(want, 32, fps[3 * i + j], 64));
			CHECK_MEM(fp, want, 32);
		}
		cs_x509_set_free(set);
	}
	CHECK(cs_snp_builtin_roots(CS_SNP_PRODUCT_UNKNOWN) == NULL);
	CHECK_OK(cs_snp_trust_new(NULL, &t));
	cs_snp_trust_free(t);
	CHECK_ERR(cs_snp_trust_new("/nonexistent-custos-roots", &t), CS_ERR_CONFIG);
}

static void
test_verify_fixtures(void)
{
	struct cs_snp_trust *t = NULL;

	if (!have_fixtures()) {
		fx_skipped += (int)FX_COUNT;
		return;
	}
	CHECK_OK(cs_snp_trust_new(NULL, &t));
	for (size_t i = 0; i < FX_COUNT; i++) {
		const struct fx_report *f = &fx_reports[i];
		struct cs_snp_verified v;
		size_t n, vn = 0;
		uint8_t *p = fx_read(f->report, &n), *vek = f->vek ? fx_read(f->vek, &vn) : NULL;
		json_t *claims = NULL;

		CHECK(p != NULL && (f->vek == NULL || vek != NULL));
		if (f->vek == NULL) {
			/* No VEK shipped (LIT): collateral is missing, said so precisely. */
			CHECK_ERR(verify_fx(t, p, n, NULL, 0, f->at, &v), CS_ERR_COLLATERAL);
			free(p);
			continue;
		}
		if (p == NULL || vek == NULL) {
			free(p);
			free(vek);
			continue;
		}
		CHECK_ERR(verify_fx(t, p, n, vek, vn, f->at, &v), CS_OK);
		CHECK(v.product == f->product);
		CHECK(v.signer == f->signer);
		CHECK(v.report.vmpl == f->vmpl);
		if (f->signer == CS_SNP_SIGNER_VLEK)
			CHECK(v.vek.hwid_len == 0 && v.vek.csp_id[0] != '\0');
		else
			CHECK(v.vek.hwid_len == (f->product == CS_SNP_TURIN ? 8u : 64u));
		/* A second time: from the cache, same verdict. */
		CHECK_ERR(verify_fx(t, p, n, vek, vn, f->at, &v), CS_OK);
		CHECK_OK(cs_snp_claims(&v, &claims));
		/* go-sev-guest's sample was taken from a debug guest (policy 0xb0000). */
		CHECK_STR(json_string_value(json_object_get(claims, "policy_debug_allowed")),
		          strstr(f->report, "gosevguest") != NULL ? "true" : "false");
		CHECK_STR(json_string_value(json_object_get(claims, "product")),
		          cs_snp_product_name(f->product));
		json_decref(claims);
		/* Long before the VEK existed, and long after. */
		CHECK_ERR(verify_fx(t, p, n, vek, vn, "2019-01-01T00:00:00Z", &v),
		          CS_ERR_NOT_YET_VALID);
		CHECK_ERR(verify_fx(t, p, n, vek, vn, "2060-01-01T00:00:00Z", &v), CS_ERR_EXPIRED);
		free(p);
		free(vek);
	}
	cs_snp_trust_free(t);
}

/* The Milan v2 VCEK report and its VCEK; false (and a skip) without fixtures. */
static bool
milan_pair(uint8_t **rep, size_t *n, uint8_t **vek, size_t *vn)
{
	*rep = fx_read("snp/trustee/test-report.bin", n);
	*vek = fx_read("snp/trustee/test-vcek.der", vn);
	if (*rep == NULL || *vek == NULL) {
		free(*rep);
		free(*vek);
		fx_skipped++;
		return false;
	}
	return true;
}

static void
test_verify_negatives(void)
{
	struct cs_snp_trust *t = NULL, *wrong = NULL;
	struct cs_snp_verified v;
	uint8_t *rep, *vek, *bad, m[CS_SNP_REPORT_LEN + 1], rd[64] = {0};
	size_t n, vn, bn;
	const char *at = "2026-11-30T00:00:00Z";
	struct cs_snp_verify_opts o = {.at = at_time(at)};
	const char *genoa = cs_snp_builtin_roots(CS_SNP_GENOA);
	struct cs_snp_vek_info info;

	if (!milan_pair(&rep, &n, &vek, &vn))
		return;
	CHECK_OK(cs_snp_trust_new(NULL, &t));

	/* A flipped bit in every byte of the report: signed range, signature, reserved. */
	for (size_t i = 0; i < CS_SNP_REPORT_LEN; i++) {
		memcpy(m, rep, CS_SNP_REPORT_LEN);
		m[i] ^= (uint8_t)(1u << (i % 8));
		if (cs_snp_verify(t, m, CS_SNP_REPORT_LEN, vek, vn, &o, &v) == CS_OK) {
			CHECK(!"a mutated report verified");
			fprintf(stderr, "  byte 0x%zx\n", i);
		}
	}
	/* Precise errors for a flip in REPORT_DATA and in the signature. */
	memcpy(m, rep, CS_SNP_REPORT_LEN);
	m[0x50] ^= 1;
	CHECK_ERR(cs_snp_verify(t, m, CS_SNP_REPORT_LEN, vek, vn, &o, &v), CS_ERR_SIGNATURE);
	memcpy(m, rep, CS_SNP_REPORT_LEN);
	m[0x2A0] ^= 1;
	CHECK_ERR(cs_snp_verify(t, m, CS_SNP_REPORT_LEN, vek, vn, &o, &v), CS_ERR_SIGNATURE);
	/* Truncation and extension by one byte. */
	memcpy(m, rep, CS_SNP_REPORT_LEN);
	m[CS_SNP_REPORT_LEN] = 0;
	CHECK_ERR(cs_snp_verify(t, m, CS_SNP_REPORT_LEN - 1, vek, vn, &o, &v), CS_ERR_TRUNCATED);
	CHECK_ERR(cs_snp_verify(t, m, CS_SNP_REPORT_LEN + 1, vek, vn, &o, &v), CS_ERR_TRAILING);

	/* The tampered VCEKs: both hwID encodings parse, neither chains. */
	static const char *invalid[] = {"snp/trustee/test-vcek-invalid-legacy.der",
	                                "snp/trustee/test-vcek-invalid-new.der"};
	for (size_t i = 0; i < 2; i++) {
		bad = fx_read(invalid[i], &bn);
		CHECK(bad != NULL);
		if (bad == NULL)
			continue;
		CHECK_OK(cs_snp_vek_info_read(bad, bn, &info));
		CHECK(info.hwid_len == 64 && info.hwid[0] == 0x00 && info.hwid[63] == 0x3f);
		CHECK_ERR(cs_snp_verify(t, rep, n, bad, bn, &o, &v), CS_ERR_CERT);
		free(bad);
	}
	/* A VCEK of another chip with the same TCB (virtee's Milan report was signed by it). */
	bad = fx_read("snp/virtee-sev/vcek_milan.der", &bn);
	if (bad != NULL) {
		CHECK_ERR(cs_snp_verify(t, rep, n, bad, bn, &o, &v), CS_ERR_SIGNATURE);
		free(bad);
	}
	/* The VLEK of another report in place of this report's VCEK. */
	bad = fx_read("snp/trustee/test-vlek.der", &bn);
	if (bad != NULL) {
		CHECK(cs_snp_verify(t, rep, n, bad, bn, &o, &v) != CS_OK);
		free(bad);
	}
	/* Wrong product roots: Genoa's chain pinned as Milan's. */
	CHECK_OK(cs_snp_trust_new(NULL, &wrong));
	CHECK_OK(cs_snp_trust_set(wrong, CS_SNP_MILAN, (const uint8_t *)genoa, strlen(genoa)));
	CHECK_ERR(cs_snp_verify(wrong, rep, n, vek, vn, &o, &v), CS_ERR_CERT);
	cs_snp_trust_free(wrong);
	/* report_data and host_data bindings. */
	o.report_data = rd;
	CHECK_ERR(cs_snp_verify(t, rep, n, vek, vn, &o, &v), CS_ERR_BINDING);
	o.report_data = rep + 0x50;
	CHECK_OK(cs_snp_verify(t, rep, n, vek, vn, &o, &v));
	o.host_data = rd;
	o.host_data_len = 32;
	rd[0] = 1;
	CHECK_ERR(cs_snp_verify(t, rep, n, vek, vn, &o, &v), CS_ERR_BINDING);
	o.host_data = rep + 0xC0;
	CHECK_OK(cs_snp_verify(t, rep, n, vek, vn, &o, &v));
	/* An unsigned report and a missing VEK. */
	memcpy(m, rep, CS_SNP_REPORT_LEN);
	m[0x48] = 7 << 2;
	CHECK_ERR(cs_snp_verify(t, m, CS_SNP_REPORT_LEN, vek, vn, &o, &v), CS_ERR_UNSUPPORTED);
	CHECK_ERR(cs_snp_verify(t, rep, n, NULL, 0, &o, &v), CS_ERR_COLLATERAL);
	cs_snp_trust_free(t);
	free(rep);
	free(vek);
}

/* teekit's GCP report binds SHA-512(nonce || X25519 key) in REPORT_DATA. */
static void
test_verify_binding_vector(void)
{
	struct cs_snp_trust *t = NULL;
	struct cs_snp_verified v;
	uint8_t *rep, *vek, in[64], rd[64];
	size_t n, vn;
	struct cs_snp_verify_opts o = {.at = at_time("2026-11-30T00:00:00Z"), .report_data = rd};

	rep = fx_read("snp/teekit/sev-gcp-x25519-bound.bin", &n);
	vek = fx_read("snp/teekit/sev-gcp-x25519-vcek.pem", &vn);
	if (rep == NULL || vek == NULL) {
		free(rep);
		free(vek);
		fx_skipped++;
		return;
	}
	CHECK_OK(cs_hex_decode_fixed(
	        in, 32, "df82306ff38a9da023854af947d02a878cfab1b40a793823ff41dc51213b96aa", 64));
	CHECK_OK(cs_hex_decode_fixed(
	        in + 32, 32, "03a8107030fabeac06b0df4ef865763918b5e2a9fa030e20025a4315dab4b2a6",
	        64));
	CHECK_OK(cs_hash(CS_SHA512, in, 64, rd));
	CHECK_OK(cs_snp_trust_new(NULL, &t));
	CHECK_OK(cs_snp_verify(t, rep, n, vek, vn, &o, &v));
	/* A PEM VEK from evidence is exactly one certificate: whitespace may follow, nothing else.
	 */
	{
		struct cs_buf b;

		cs_buf_init(&b, vn + 64);
		CHECK_OK(cs_buf_append(&b, vek, vn));
		CHECK_OK(cs_buf_append_str(&b, "\n\n"));
		CHECK_OK(cs_snp_verify(t, rep, n, b.p, b.len, &o, &v));
		CHECK_OK(cs_buf_append_str(&b, "-----BEGIN CERTIFICATE-----\n"));
		CHECK_ERR(cs_snp_verify(t, rep, n, b.p, b.len, &o, &v), CS_ERR_TRAILING);
		cs_buf_fini(&b);
	}
	rd[63] ^= 1;
	CHECK_ERR(cs_snp_verify(t, rep, n, vek, vn, &o, &v), CS_ERR_BINDING);
	cs_snp_trust_free(t);
	free(rep);
	free(vek);
}

/* Trustee's e2e evidence JSON: rebuilt byte-exact (the signature verifies), and round-trips. */
static void
test_evidence_json(void)
{
	struct cs_snp_trust *t = NULL;
	struct cs_snp_verified v;
	struct cs_buf vek, vek2;
	uint8_t rep[CS_SNP_REPORT_LEN], rep2[CS_SNP_REPORT_LEN], *raw, *j;
	size_t rn, jn;
	json_t *ev = NULL, *ev2 = NULL;
	struct cs_snp_verify_opts o = {.at = at_time("2026-11-30T00:00:00Z")};

	j = fx_read("trustee/snp-evidence-e2e.json", &jn);
	raw = fx_read("snp/trustee/e2e-evidence-genoa-report.bin", &rn);
	if (j == NULL || raw == NULL) {
		free(j);
		free(raw);
		fx_skipped++;
		return;
	}
	cs_buf_init(&vek, 1 << 16);
	cs_buf_init(&vek2, 1 << 16);
	ev = json_loadb((const char *)j, jn, 0, NULL);
	CHECK(ev != NULL);
	CHECK_OK(cs_snp_evidence_parse(ev, rep, &vek));
	CHECK(rn == CS_SNP_REPORT_LEN);
	CHECK_MEM(rep, raw, CS_SNP_REPORT_LEN);
	CHECK(vek.len == 1347);
	CHECK_OK(cs_snp_trust_new(NULL, &t));
	CHECK_OK(cs_snp_verify(t, rep, sizeof(rep), vek.p, vek.len, &o, &v));
	CHECK(v.product == CS_SNP_GENOA);
	CHECK_OK(cs_snp_evidence_build(rep, sizeof(rep), vek.p, vek.len, &ev2));
	CHECK_OK(cs_snp_evidence_parse(ev2, rep2, &vek2));
	CHECK_MEM(rep2, rep, CS_SNP_REPORT_LEN);
	CHECK(vek2.len == vek.len);
	/* A wrong-typed member and a missing one. */
	json_object_set_new(json_object_get(ev, "attestation_report"), "vmpl", json_string("0"));
	CHECK_ERR(cs_snp_evidence_parse(ev, rep, &vek), CS_ERR_JSON_FIELD);
	json_object_del(json_object_get(ev, "attestation_report"), "vmpl");
	CHECK_ERR(cs_snp_evidence_parse(ev, rep, &vek), CS_ERR_JSON_FIELD);
	json_decref(ev);
	json_decref(ev2);
	cs_buf_fini(&vek);
	cs_buf_fini(&vek2);
	cs_snp_trust_free(t);
	free(j);
	free(raw);
}

/* ---- sim-snp ---- */

static struct cs_snp_sim *
sim_make(enum cs_snp_product p)
{
	struct cs_snp_sim_params sp = {
	        .product = p,
	        .tcb = {.fmc = p == CS_SNP_TURIN ? 1 : 0,
	                .bootloader = 9,
	                .tee = 0,
	                .snp = 23,
	                .microcode = 0xD9},
	        .not_before = at_time("2025-01-01T00:00:00Z"),
	        .not_after = at_time("2032-01-01T00:00:00Z"),
	};
	struct cs_snp_sim *s = NULL;

	for (size_t i = 0; i < (p == CS_SNP_TURIN ? 8u : 64u); i++)
		sp.chip_id[i] = (uint8_t)(0xA0 + i);
	CHECK_OK(cs_snp_sim_new(&sp, &s));
	return s;
}

static void
test_sim_round_trip(void)
{
	const enum cs_snp_product prods[] = {CS_SNP_MILAN, CS_SNP_GENOA, CS_SNP_TURIN};
	struct cs_snp_verify_opts o = {.at = at_time("2026-11-30T00:00:00Z")};

	for (size_t k = 0; k < 3; k++) {
		struct cs_snp_sim *s = sim_make(prods[k]);
		struct cs_snp_trust *test = NULL, *amd = NULL;
		struct cs_buf roots, vcek, other;
		struct cs_snp_report r;
		struct cs_snp_verified v;
		struct cs_snp_tcb tcb;
		uint8_t rep[CS_SNP_REPORT_LEN], chip[64];
		json_t *claims = NULL;

		if (s == NULL)
			continue;
		cs_buf_init(&roots, 1 << 16);
		cs_buf_init(&vcek, 1 << 16);
		cs_buf_init(&other, 1 << 16);
		CHECK_OK(cs_snp_sim_roots_pem(s, &roots));
		CHECK_OK(cs_snp_sim_vcek_der(s, &vcek));
		CHECK_OK(cs_snp_trust_new(NULL, &test));
		CHECK_OK(cs_snp_trust_set(test, prods[k], roots.p, roots.len));
		CHECK_OK(cs_snp_trust_new(NULL, &amd));
		for (unsigned ver = 3; ver <= 5; ver += 2) {
			cs_snp_sim_template(s, ver, &r);
			memset(r.report_data, 0x5A, 64);
			CHECK_OK(cs_snp_sim_sign(s, &r, rep));
			CHECK_OK(cs_snp_verify(test, rep, sizeof(rep), vcek.p, vcek.len, &o, &v));
			CHECK(v.product == prods[k] && v.report.version == ver);
			CHECK(v.reported_tcb.microcode == 0xD9 && v.reported_tcb.snp == 23);
			/* AMD's roots refuse the test chain. */
			CHECK_ERR(cs_snp_verify(amd, rep, sizeof(rep), vcek.p, vcek.len, &o, &v),
			          CS_ERR_CERT);
		}
		/* Debug policy: verifies, and the claim says so. */
		cs_snp_sim_template(s, 3, &r);
		r.policy |= CS_SNP_POLICY_DEBUG;
		CHECK_OK(cs_snp_sim_sign(s, &r, rep));
		CHECK_OK(cs_snp_verify(test, rep, sizeof(rep), vcek.p, vcek.len, &o, &v));
		CHECK_OK(cs_snp_claims(&v, &claims));
		CHECK_STR(json_string_value(json_object_get(claims, "policy_debug_allowed")),
		          "true");
		json_decref(claims);
		/* TCB mismatch with the certificate: REPORTED_TCB one SNP SVN higher. */
		cs_snp_sim_template(s, 3, &r);
		CHECK_OK(cs_snp_tcb_decode(r.reported_tcb, prods[k], &tcb));
		tcb.snp++;
		r.reported_tcb = cs_snp_tcb_encode(&tcb, prods[k]);
		CHECK_OK(cs_snp_sim_sign(s, &r, rep));
		CHECK_ERR(cs_snp_verify(test, rep, sizeof(rep), vcek.p, vcek.len, &o, &v),
		          CS_ERR_TCB);
		/* A VCEK for another chip (same key, other hwID). */
		cs_snp_sim_template(s, 3, &r);
		CHECK_OK(cs_snp_tcb_decode(r.reported_tcb, prods[k], &tcb));
		memcpy(chip, r.chip_id, 64);
		chip[0] ^= 0xFF;
		CHECK_OK(cs_snp_sim_issue_vcek(s, &tcb, chip, prods[k] == CS_SNP_TURIN ? 8 : 64,
		                               &other));
		CHECK_OK(cs_snp_sim_sign(s, &r, rep));
		CHECK_ERR(cs_snp_verify(test, rep, sizeof(rep), other.p, other.len, &o, &v),
		          CS_ERR_HWID);
		/* A masked chip ID cannot be bound to a VCEK. */
		r.signer_info = CS_SNP_SIGNER_MASK_CHIP_KEY;
		memset(r.chip_id, 0, 64);
		CHECK_OK(cs_snp_sim_sign(s, &r, rep));
		CHECK_ERR(cs_snp_verify(test, rep, sizeof(rep), vcek.p, vcek.len, &o, &v),
		          CS_ERR_HWID);
		cs_buf_fini(&roots);
		cs_buf_fini(&vcek);
		cs_buf_fini(&other);
		cs_snp_trust_free(test);
		cs_snp_trust_free(amd);
		cs_snp_sim_free(s);
	}
}

static void
test_sim_state_dir(void)
{
	char dir[] = "/tmp/custos-test-snp-XXXXXX";
	struct cs_snp_sim *s = sim_make(CS_SNP_GENOA), *l = NULL;
	struct cs_snp_trust *t = NULL;
	struct cs_snp_report r;
	struct cs_snp_verified v;
	struct cs_buf vcek;
	uint8_t rep[CS_SNP_REPORT_LEN];
	struct cs_snp_verify_opts o = {.at = at_time("2026-11-30T00:00:00Z")};

	if (s == NULL || mkdtemp(dir) == NULL) {
		CHECK(!"sim or tmpdir");
		cs_snp_sim_free(s);
		return;
	}
	cs_buf_init(&vcek, 1 << 16);
	CHECK_OK(cs_snp_sim_save(s, dir));
	CHECK_OK(cs_snp_sim_load(dir, &l));
	if (l != NULL) {
		cs_snp_sim_template(l, 5, &r);
		CHECK_OK(cs_snp_sim_sign(l, &r, rep));
		CHECK_OK(cs_snp_sim_vcek_der(l, &vcek));
		CHECK_OK(cs_snp_trust_new(dir, &t)); /* the state dir is a roots dir */
		CHECK_OK(cs_snp_verify(t, rep, sizeof(rep), vcek.p, vcek.len, &o, &v));
		cs_snp_trust_free(t);
	}
	cs_snp_sim_free(l);
	cs_snp_sim_free(s);
	cs_buf_fini(&vcek);
	rm_tree(dir);
}

/* ---- collateral, bundles, TEE ops ---- */

static void
test_kds_urls(void)
{
	struct cs_buf b;
	uint8_t chip[64] = {0};
	struct cs_snp_tcb milan = {.bootloader = 3, .snp = 8, .microcode = 115};
	struct cs_snp_tcb turin = {
	        .fmc = 1, .bootloader = 3, .tee = 2, .snp = 5, .microcode = 0x61};
	static const uint8_t tchip[8] = {0x09, 0x10, 0xb4, 0xf8, 0x84, 0xff, 0x4b, 0xa9};

	chip[0] = 0xc3;
	chip[63] = 0x4e;
	cs_buf_init(&b, 1024);
	CHECK_OK(cs_snp_kds_vcek_url(CS_SNP_MILAN, chip, &milan, &b));
	{
		char want[256] = "https://kdsintf.amd.com/vcek/v1/Milan/c3";
		size_t l = strlen(want);

		for (int i = 0; i < 62; i++, l += 2)
			memcpy(want + l, "00", 2);
		snprintf(want + l, sizeof(want) - l,
		         "4e?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115");
		CHECK_STR((const char *)b.p, want);
	}
	cs_buf_reset(&b);
	memset(chip, 0, sizeof(chip));
	memcpy(chip, tchip, 8);
	CHECK_OK(cs_snp_kds_vcek_url(CS_SNP_TURIN, chip, &turin, &b));
	CHECK_STR((const char *)b.p, "https://kdsintf.amd.com/vcek/v1/Turin/0910b4f884ff4ba9"
	                             "?fmcSPL=01&blSPL=03&teeSPL=02&snpSPL=05&ucodeSPL=97");
	cs_buf_reset(&b);
	CHECK_OK(cs_snp_vcek_relpath(CS_SNP_TURIN, chip, &turin, &b));
	CHECK_STR((const char *)b.p,
	          "snp/Turin/vcek/0910b4f884ff4ba9-bl3-tee2-snp5-ucode97-fmc1.der");
	CHECK_ERR(cs_snp_kds_vcek_url(CS_SNP_PRODUCT_UNKNOWN, chip, &turin, &b), CS_ERR_INVAL);
	cs_buf_fini(&b);
}

/* Evidence JSON for a report with no VEK in it (as from a host that supplies no certificates). */
static json_t *
bare_evidence(const uint8_t *rep, size_t n)
{
	json_t *ev = NULL;

	CHECK_OK(cs_snp_evidence_build(rep, n, NULL, 0, &ev));
	return ev;
}

static void
test_collateral_cache_and_bundle(void)
{
	char d1[] = "/tmp/custos-test-snp-XXXXXX", d2[] = "/tmp/custos-test-snp-XXXXXX";
	char bundle[64];
	uint8_t *rep, *vek, *bb;
	size_t n, vn, bn, count = 0;
	struct cs_buf rel, got;
	struct cs_snp_tcb tcb;
	struct cs_snp_report r;
	json_t *ev = NULL, *claims = NULL;
	void *st = NULL;
	struct cs_verify_cfg cfg = {.collateral_dir = d1, .offline = true};
	struct cs_verify_in in = {.at = at_time("2026-11-30T00:00:00Z")};

	if (!milan_pair(&rep, &n, &vek, &vn))
		return;
	if (mkdtemp(d1) == NULL || mkdtemp(d2) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	cs_buf_init(&rel, 512);
	cs_buf_init(&got, 1 << 16);
	CHECK_OK(cs_snp_report_parse(rep, n, &r));
	CHECK_OK(cs_snp_tcb_decode(r.reported_tcb, CS_SNP_MILAN, &tcb));
	CHECK_OK(cs_snp_vcek_relpath(CS_SNP_MILAN, r.chip_id, &tcb, &rel));

	/* Not cached yet: the offline verifier says collateral is missing. */
	ev = bare_evidence(rep, n);
	CHECK_OK(cs_tee_snp.verifier_new(&cfg, &st));
	in.evidence = ev;
	CHECK_ERR(cs_tee_snp.verify(st, &in, &claims), CS_ERR_COLLATERAL);
	cs_tee_snp.verifier_free(st);

	/* The grammar keeps writes inside the cache; contents must be what the path says. */
	CHECK_ERR(cs_snp_cache_put(d1, "snp/Milan/../../evil.der", vek, vn), CS_ERR_PATH);
	CHECK_ERR(cs_snp_cache_put(d1, "snp/Milan/vcek/zz.der", vek, vn), CS_ERR_PATH);
	CHECK_ERR(cs_snp_cache_put(d1, "/etc/x", vek, vn), CS_ERR_PATH);
	CHECK(cs_snp_cache_put(d1, (const char *)rel.p, rep, n) != CS_OK);
	CHECK_OK(cs_snp_cache_put(d1, (const char *)rel.p, vek, vn));
	CHECK_OK(cs_snp_cache_vcek(d1, CS_SNP_MILAN, r.chip_id, &tcb, &got));
	CHECK(got.len == vn && memcmp(got.p, vek, vn) == 0);

	/* Now the VCEK comes from the cache. */
	CHECK_OK(cs_tee_snp.verifier_new(&cfg, &st));
	CHECK_OK(cs_tee_snp.verify(st, &in, &claims));
	CHECK_STR(json_string_value(json_object_get(claims, "reported_tcb_microcode")), "115");
	json_decref(claims);
	claims = NULL;
	cs_tee_snp.verifier_free(st);

	/* Export a bundle, import it on the "air-gapped" side, verify there. */
	snprintf(bundle, sizeof(bundle), "%s/bundle.json", d2);
	CHECK_OK(cs_snp_bundle_export(d1, bundle, at_time("2026-11-30T00:00:00Z")));
	bb = t_read_file(bundle, &bn);
	CHECK(bb != NULL);
	if (bb != NULL) {
		char d3[] = "/tmp/custos-test-snp-XXXXXX";

		CHECK(mkdtemp(d3) != NULL);
		CHECK_OK(cs_snp_bundle_import(d3, bb, bn, &count));
		CHECK(count == 1);
		cfg.collateral_dir = d3;
		CHECK_OK(cs_tee_snp.verifier_new(&cfg, &st));
		CHECK_OK(cs_tee_snp.verify(st, &in, &claims));
		json_decref(claims);
		claims = NULL;
		cs_tee_snp.verifier_free(st);
		rm_tree(d3);
		free(bb);
	}
	/* A bundle with a path outside the grammar changes nothing. */
	{
		char d4[] = "/tmp/custos-test-snp-XXXXXX", evil[512];
		static const char *bad =
		        "{\"custos_collateral\":1,\"files\":[{\"path\":\"snp/Milan/crl.der\","
		        "\"data\":\"AAAA\"}]}";

		CHECK(mkdtemp(d4) != NULL);
		snprintf(evil, sizeof(evil),
		         "{\"custos_collateral\":1,\"files\":[{\"path\":\"snp/../x.der\","
		         "\"data\":\"AAAA\"}]}");
		CHECK_ERR(cs_snp_bundle_import(d4, (const uint8_t *)evil, strlen(evil), NULL),
		          CS_ERR_PATH);
		CHECK(cs_snp_bundle_import(d4, (const uint8_t *)bad, strlen(bad), NULL) != CS_OK);
		CHECK_ERR(cs_snp_bundle_import(d4, (const uint8_t *)"{}", 2, NULL),
		          CS_ERR_JSON_FIELD);
		/* Bundles are parsed with the project's JSON limits: nesting is bounded. */
		static const char deep[] = "{\"files\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		                           "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}";
		CHECK_ERR(cs_snp_bundle_import(d4, (const uint8_t *)deep, sizeof(deep) - 1, NULL),
		          CS_ERR_JSON_DEPTH);
		CHECK_ERR(cs_snp_bundle_export(d4, bundle, 0), CS_ERR_COLLATERAL);
		rm_tree(d4);
	}
	json_decref(ev);
	cs_buf_fini(&rel);
	cs_buf_fini(&got);
	rm_tree(d1);
	rm_tree(d2);
	free(rep);
	free(vek);
}

static void
test_tee_ops(void)
{
	char dir[] = "/tmp/custos-test-snp-XXXXXX";
	struct cs_snp_sim *s = sim_make(CS_SNP_GENOA);
	struct cs_verify_cfg none = {0}, test = {.roots_dir = dir};
	uint8_t rd[64];
	json_t *ev = NULL, *claims = NULL;
	void *st = NULL, *amd = NULL;
	struct cs_verify_in in = {.report_data = rd, .at = at_time("2026-11-30T00:00:00Z")};

	CHECK(strcmp(cs_tee_snp.name, "snp") == 0 && strcmp(cs_tee_sim_snp.name, "sim-snp") == 0);
	/* No SNP guest interface on a build machine: a clear error, not a crash. */
	if (!cs_snp_attest_available())
		CHECK_ERR(cs_snp_attest(rd, &ev), CS_ERR_NO_TEE);
	/* sim-snp is refused without explicit (test) roots. */
	CHECK_ERR(cs_tee_sim_snp.verifier_new(&none, &st), CS_ERR_CONFIG);
	CHECK(st == NULL);
	if (s == NULL || mkdtemp(dir) == NULL) {
		cs_snp_sim_free(s);
		return;
	}
	CHECK_OK(cs_snp_sim_save(s, dir));
	unsetenv("CUSTOS_SIM_SNP_DIR");
	CHECK(!cs_tee_sim_snp.detect());
	CHECK_ERR(cs_tee_sim_snp.attest(rd, &ev), CS_ERR_NO_TEE);
	setenv("CUSTOS_SIM_SNP_DIR", dir, 1);
	setenv("CUSTOS_SIM_SNP_MEASUREMENT",
	       "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	       "202122232425262728292a2b2c2d2e2f",
	       1);
	CHECK(cs_tee_sim_snp.detect());
	memset(rd, 0x42, sizeof(rd));
	CHECK_OK(cs_tee_sim_snp.attest(rd, &ev));
	in.evidence = ev;
	CHECK_OK(cs_tee_sim_snp.verifier_new(&test, &st));
	CHECK_OK(cs_tee_sim_snp.verify(st, &in, &claims));
	CHECK_STR(json_string_value(json_object_get(claims, "measurement")),
	          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v");
	CHECK_STR(json_string_value(json_object_get(claims, "product")), "Genoa");
	json_decref(claims);
	claims = NULL;
	rd[0] ^= 1; /* another session's binding */
	CHECK_ERR(cs_tee_sim_snp.verify(st, &in, &claims), CS_ERR_BINDING);
	CHECK(claims == NULL);
	rd[0] ^= 1;
	/* The real `snp` verifier with AMD's roots refuses simulated evidence, also when the
	 * evidence's certificate table carries the sim's ASK and ARK: roots never come from it. */
	CHECK_OK(cs_tee_snp.verifier_new(&none, &amd));
	CHECK_ERR(cs_tee_snp.verify(amd, &in, &claims), CS_ERR_CERT);
	{
		struct cs_buf pem;
		struct cs_x509_set *set = NULL;
		json_t *chain = json_object_get(ev, "cert_chain");

		cs_buf_init(&pem, 1 << 16);
		CHECK_OK(cs_snp_sim_roots_pem(s, &pem));
		CHECK_OK(cs_x509_set_from_pem(pem.p, pem.len, &set));
		for (size_t i = 0; set != NULL && i < cs_x509_set_len(set); i++) {
			struct cs_buf der;
			json_t *bytes = json_array();

			cs_buf_init(&der, 1 << 16);
			CHECK_OK(cs_x509_to_der(cs_x509_set_get(set, i), &der));
			for (size_t j = 0; j < der.len; j++)
				json_array_append_new(bytes, json_integer(der.p[j]));
			json_array_append_new(chain,
			                      json_pack("{s:s,s:o}", "cert_type",
			                                i == 0 ? "ASK" : "ARK", "data", bytes));
			cs_buf_fini(&der);
		}
		CHECK(json_array_size(chain) == 3);
		CHECK_ERR(cs_tee_snp.verify(amd, &in, &claims), CS_ERR_CERT);
		CHECK_OK(cs_tee_sim_snp.verify(st, &in, &claims)); /* still fine with its roots */
		json_decref(claims);
		claims = NULL;
		cs_x509_set_free(set);
		cs_buf_fini(&pem);
	}
	cs_tee_snp.verifier_free(amd);
	cs_tee_sim_snp.verifier_free(st);
	unsetenv("CUSTOS_SIM_SNP_DIR");
	unsetenv("CUSTOS_SIM_SNP_MEASUREMENT");
	json_decref(ev);
	cs_snp_sim_free(s);
	rm_tree(dir);
}

/* CRLs from the collateral directory: a revoked ASK is rejected, an empty CRL changes nothing,
 * a stale CRL is reported as stale collateral. */
static void
test_crl(void)
{
	char roots[] = "/tmp/custos-test-snp-XXXXXX", coll[] = "/tmp/custos-test-snp-XXXXXX";
	struct cs_snp_sim *s = sim_make(CS_SNP_MILAN);
	struct cs_verify_cfg cfg = {.roots_dir = roots, .collateral_dir = coll};
	struct cs_snp_report r;
	struct cs_buf crl, vcek;
	uint8_t rep[CS_SNP_REPORT_LEN];
	json_t *ev = NULL, *claims = NULL;
	void *st = NULL;
	struct cs_verify_in in = {.at = at_time("2026-11-30T00:00:00Z")};
	int64_t t0 = at_time("2026-11-01T00:00:00Z"), t1 = at_time("2027-11-01T00:00:00Z");

	if (s == NULL || mkdtemp(roots) == NULL || mkdtemp(coll) == NULL) {
		CHECK(!"sim or tmpdir");
		cs_snp_sim_free(s);
		return;
	}
	cs_buf_init(&crl, 1 << 16);
	cs_buf_init(&vcek, 1 << 16);
	CHECK_OK(cs_snp_sim_save(s, roots));
	CHECK_OK(cs_snp_sim_vcek_der(s, &vcek));
	cs_snp_sim_template(s, 3, &r);
	CHECK_OK(cs_snp_sim_sign(s, &r, rep));
	CHECK_OK(cs_snp_evidence_build(rep, sizeof(rep), vcek.p, vcek.len, &ev));
	in.evidence = ev;
	for (int revoke = 0; revoke <= 1; revoke++) {
		cs_buf_reset(&crl);
		CHECK_OK(cs_snp_sim_crl(s, revoke, t0, t1, &crl));
		CHECK_OK(cs_snp_cache_put(coll, "snp/Milan/crl.der", crl.p, crl.len));
		CHECK_OK(cs_tee_sim_snp.verifier_new(&cfg, &st));
		CHECK_ERR(cs_tee_sim_snp.verify(st, &in, &claims),
		          revoke ? CS_ERR_CERT_REVOKED : CS_OK);
		json_decref(claims);
		claims = NULL;
		cs_tee_sim_snp.verifier_free(st);
		st = NULL;
	}
	/* A CRL past its nextUpdate is stale: the verifier says collateral, not a verdict. */
	cs_buf_reset(&crl);
	CHECK_OK(cs_snp_sim_crl(s, false, t0, at_time("2026-11-15T00:00:00Z"), &crl));
	CHECK_OK(cs_snp_cache_put(coll, "snp/Milan/crl.der", crl.p, crl.len));
	CHECK_OK(cs_tee_sim_snp.verifier_new(&cfg, &st));
	CHECK_ERR(cs_tee_sim_snp.verify(st, &in, &claims), CS_ERR_COLLATERAL);
	CHECK(claims == NULL);
	cs_tee_sim_snp.verifier_free(st);
	json_decref(ev);
	cs_buf_fini(&crl);
	cs_buf_fini(&vcek);
	cs_snp_sim_free(s);
	rm_tree(roots);
	rm_tree(coll);
}

/*
 * More distinct VCEKs than the chain cache holds: every one still verifies. Then the trust is
 * frozen against root/CRL swaps.
 */
static void
test_cache_overflow(void)
{
	struct cs_snp_sim *s = sim_make(CS_SNP_GENOA);
	struct cs_snp_trust *t = NULL;
	struct cs_snp_report r;
	struct cs_snp_verified v;
	struct cs_snp_tcb tcb;
	struct cs_buf roots, vcek, crl;
	struct cs_x509_crls *crls = NULL;
	uint8_t rep[CS_SNP_REPORT_LEN];
	struct cs_snp_verify_opts o = {.at = at_time("2026-11-30T00:00:00Z")};
	int ok = 0;

	if (s == NULL)
		return;
	cs_buf_init(&roots, 1 << 16);
	cs_buf_init(&vcek, 1 << 16);
	cs_buf_init(&crl, 1 << 16);
	CHECK_OK(cs_snp_sim_roots_pem(s, &roots));
	CHECK_OK(cs_snp_trust_new(NULL, &t));
	CHECK_OK(cs_snp_trust_set(t, CS_SNP_GENOA, roots.p, roots.len));
	cs_snp_sim_template(s, 3, &r);
	CHECK_OK(cs_snp_tcb_decode(r.reported_tcb, CS_SNP_GENOA, &tcb));
	CHECK_OK(cs_snp_sim_sign(s, &r, rep));
	for (int i = 0; i < 260; i++) {
		cs_buf_reset(&vcek);
		if (cs_snp_sim_issue_vcek(s, &tcb, r.chip_id, 64, &vcek) == CS_OK &&
		    cs_snp_verify(t, rep, sizeof(rep), vcek.p, vcek.len, &o, &v) == CS_OK)
			ok++;
	}
	CHECK(ok == 260);
	/*
	 * Once verifications ran, other threads may hold cached VEKs: roots and CRLs can no longer
	 * be swapped (the swap would free them), and the trust still verifies as before.
	 */
	CHECK_ERR(cs_snp_trust_set(t, CS_SNP_GENOA, roots.p, roots.len), CS_ERR_STATE);
	cs_buf_reset(&crl);
	CHECK_OK(cs_snp_sim_crl(s, true, at_time("2026-11-01T00:00:00Z"),
	                        at_time("2027-11-01T00:00:00Z"), &crl));
	CHECK_OK(cs_x509_crls_from(crl.p, crl.len, &crls));
	CHECK_ERR(cs_snp_trust_set_crls(t, crls), CS_ERR_STATE); /* crls freed */
	CHECK_OK(cs_snp_verify(t, rep, sizeof(rep), vcek.p, vcek.len, &o, &v));
	cs_snp_trust_free(t);
	/* Before any verification both still configure (the revoked ASK then fails). */
	CHECK_OK(cs_snp_trust_new(NULL, &t));
	CHECK_OK(cs_snp_trust_set(t, CS_SNP_GENOA, roots.p, roots.len));
	CHECK_OK(cs_x509_crls_from(crl.p, crl.len, &crls));
	CHECK_OK(cs_snp_trust_set_crls(t, crls));
	CHECK_ERR(cs_snp_verify(t, rep, sizeof(rep), vcek.p, vcek.len, &o, &v),
	          CS_ERR_CERT_REVOKED);
	cs_snp_trust_free(t);
	cs_snp_sim_free(s);
	cs_buf_fini(&roots);
	cs_buf_fini(&vcek);
	cs_buf_fini(&crl);
}

/* One trust shared by threads, from empty: cache inserts race with lookups (run under ASan). */
struct thread_arg {
	struct cs_snp_trust *t;
	uint8_t *rep[2], *vek[2];
	size_t rn[2], vn[2];
	int ok;
};

static void *
verify_thread(void *p)
{
	struct thread_arg *a = p;
	struct cs_snp_verify_opts o = {.at = at_time("2026-11-30T00:00:00Z")};
	struct cs_snp_verified v;

	for (int i = 0; i < 40; i++)
		if (cs_snp_verify(a->t, a->rep[i % 2], a->rn[i % 2], a->vek[i % 2], a->vn[i % 2],
		                  &o, &v) == CS_OK)
			__atomic_add_fetch(&a->ok, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void
test_threads(void)
{
	struct thread_arg a = {0};
	pthread_t th[4];

	a.rep[0] = fx_read("snp/trustee/test-report.bin", &a.rn[0]);
	a.vek[0] = fx_read("snp/trustee/test-vcek.der", &a.vn[0]);
	a.rep[1] = fx_read("peers/tinfoil/tinfoil-genoa-report.bin", &a.rn[1]);
	a.vek[1] = fx_read("peers/tinfoil/tinfoil-genoa-vcek.der", &a.vn[1]);
	if (a.rep[0] != NULL && a.vek[0] != NULL && a.rep[1] != NULL && a.vek[1] != NULL) {
		CHECK_OK(cs_snp_trust_new(NULL, &a.t));
		for (int i = 0; i < 4; i++)
			CHECK(pthread_create(&th[i], NULL, verify_thread, &a) == 0);
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		CHECK(a.ok == 160);
		cs_snp_trust_free(a.t);
	} else {
		fx_skipped++;
	}
	for (int i = 0; i < 2; i++) {
		free(a.rep[i]);
		free(a.vek[i]);
	}
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
	T_RUN(test_builtin_roots);
	T_RUN(test_verify_fixtures);
	T_RUN(test_verify_negatives);
	T_RUN(test_verify_binding_vector);
	T_RUN(test_evidence_json);
	T_RUN(test_sim_round_trip);
	T_RUN(test_sim_state_dir);
	T_RUN(test_kds_urls);
	T_RUN(test_collateral_cache_and_bundle);
	T_RUN(test_tee_ops);
	T_RUN(test_crl);
	T_RUN(test_cache_overflow);
	T_RUN(test_threads);
	if (fx_skipped > 0)
		printf("SKIP: %d fixture tests: fixtures folder not found (set CUSTOS_FIXTURES)\n",
		       fx_skipped);
	return t_done();
}

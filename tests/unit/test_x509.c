/*
 * X.509: the real AMD Milan ARK -> ASK -> VCEK chain (RSA-PSS SHA-384 signatures, P-384 leaf) at
 * pinned times, wrong roots and partial chains, AMD's VCEK extensions by OID, a real SEV-SNP
 * report signature through the raw little-endian ECDSA path, and CRLs made at test time with the
 * openssl CLI (a real peer).
 */
#include "crypto/sig.h"
#include "crypto/x509.h"

#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "t.h"

/* Unix times inside and around the VCEK's validity (2023-01-24 .. 2030-01-24). */
#define T_2024_06_01 1717200000
#define T_2023_01_01 1672531200
#define T_2030_02_01 1896134400
/* The VLEK is valid 2024-12-10 .. 2025-12-10. */
#define T_2025_06_01 1748736000

/* SEV-SNP ABI Table 23: the signature over [0, 0x2A0) is r (72 bytes LE) at 0x2A0, s at 0x2E8. */
#define SNP_REPORT_LEN 0x4A0
#define SNP_SIG_OFF 0x2A0

static int skipped;

static uint8_t *
fixture(const char *rel, size_t *n)
{
	char path[4096];
	const char *root = t_fixtures();
	uint8_t *p;

	if (root == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	p = t_read_file(path, n);
	return p;
}

struct amd {
	struct cs_x509 *vcek, *vlek;
	struct cs_x509_set *milan, *genoa; /* ASK, ARK, ASVK */
	struct cs_x509_set *ask, *ark, *asvk, *genoa_ark;
	uint8_t *report, *vlek_report;
	size_t report_len, vlek_report_len;
};

static bool
load_amd(struct amd *a)
{
	uint8_t *p;
	size_t n;

	memset(a, 0, sizeof(*a));
	if ((p = fixture("trustee/snp-milan-vcek.der", &n)) == NULL)
		return false;
	CHECK_OK(cs_x509_from_der(p, n, &a->vcek));
	free(p);
	if ((p = fixture("trustee/snp-milan-vlek.der", &n)) == NULL)
		return false;
	CHECK_OK(cs_x509_from_der(p, n, &a->vlek));
	free(p);
	if ((p = fixture("trustee/snp-root-milan-ask-ark-asvk.pem", &n)) == NULL)
		return false;
	CHECK_OK(cs_x509_set_from_pem(p, n, &a->milan));
	free(p);
	if ((p = fixture("trustee/snp-root-genoa-ask-ark-asvk.pem", &n)) == NULL)
		return false;
	CHECK_OK(cs_x509_set_from_pem(p, n, &a->genoa));
	free(p);
	a->report = fixture("trustee/snp-milan-vcek-report.bin", &a->report_len);
	a->vlek_report = fixture("trustee/snp-milan-vlek-report.bin", &a->vlek_report_len);
	if (!a->vcek || !a->vlek || !a->milan || !a->genoa || !a->report || !a->vlek_report)
		return false;
	CHECK(cs_x509_set_len(a->milan) == 3 && cs_x509_set_len(a->genoa) == 3);
	CHECK_OK(cs_x509_set_new(&a->ask));
	CHECK_OK(cs_x509_set_new(&a->ark));
	CHECK_OK(cs_x509_set_new(&a->asvk));
	CHECK_OK(cs_x509_set_new(&a->genoa_ark));
	CHECK_OK(cs_x509_set_add(a->ask, cs_x509_set_get(a->milan, 0)));
	CHECK_OK(cs_x509_set_add(a->ark, cs_x509_set_get(a->milan, 1)));
	CHECK_OK(cs_x509_set_add(a->asvk, cs_x509_set_get(a->milan, 2)));
	CHECK_OK(cs_x509_set_add(a->genoa_ark, cs_x509_set_get(a->genoa, 1)));
	return true;
}

static void
free_amd(struct amd *a)
{
	cs_x509_free(a->vcek);
	cs_x509_free(a->vlek);
	cs_x509_set_free(a->milan);
	cs_x509_set_free(a->genoa);
	cs_x509_set_free(a->ask);
	cs_x509_set_free(a->ark);
	cs_x509_set_free(a->asvk);
	cs_x509_set_free(a->genoa_ark);
	free(a->report);
	free(a->vlek_report);
}

static void
check_cn(const struct cs_x509 *c, const char *want)
{
	struct cs_buf b;

	cs_buf_init(&b, 256);
	CHECK_OK(cs_x509_subject_cn(c, &b));
	CHECK(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0);
	cs_buf_fini(&b);
}

static void
test_amd_chain(void)
{
	struct amd a;

	if (!load_amd(&a)) {
		skipped += 4;
		goto out;
	}
	check_cn(cs_x509_set_get(a.milan, 0), "SEV-Milan");
	check_cn(cs_x509_set_get(a.milan, 1), "ARK-Milan");
	check_cn(a.vcek, "SEV-VCEK");
	/* ARK -> ASK -> VCEK and ARK -> ASVK -> VLEK at a time inside every validity period. */
	CHECK_OK(cs_x509_chain_verify(a.vcek, a.ask, a.ark, NULL, T_2024_06_01));
	CHECK_OK(cs_x509_chain_verify(a.vlek, a.asvk, a.ark, NULL, T_2025_06_01));
	CHECK_ERR(cs_x509_chain_verify(a.vlek, a.asvk, a.ark, NULL, T_2024_06_01),
	          CS_ERR_NOT_YET_VALID);
	/* The whole bundle as intermediates still needs the pinned root to be the ARK. */
	CHECK_OK(cs_x509_chain_verify(a.vcek, a.milan, a.ark, NULL, T_2024_06_01));
	/* Time: after the VCEK's notAfter, before its notBefore. */
	CHECK_ERR(cs_x509_chain_verify(a.vcek, a.ask, a.ark, NULL, T_2030_02_01), CS_ERR_EXPIRED);
	CHECK_ERR(cs_x509_chain_verify(a.vcek, a.ask, a.ark, NULL, T_2023_01_01),
	          CS_ERR_NOT_YET_VALID);
	/* Wrong root (Genoa's ARK), the wrong intermediate, no intermediate. */
	CHECK_ERR(cs_x509_chain_verify(a.vcek, a.ask, a.genoa_ark, NULL, T_2024_06_01),
	          CS_ERR_CERT);
	CHECK_ERR(cs_x509_chain_verify(a.vcek, a.asvk, a.ark, NULL, T_2024_06_01), CS_ERR_CERT);
	CHECK_ERR(cs_x509_chain_verify(a.vcek, NULL, a.ark, NULL, T_2024_06_01), CS_ERR_CERT);
	CHECK_ERR(cs_x509_chain_verify(a.vlek, a.ask, a.ark, NULL, T_2025_06_01), CS_ERR_CERT);
	/* An intermediate pinned as the root is not a trust anchor: no partial chains. */
	CHECK_ERR(cs_x509_chain_verify(a.vcek, NULL, a.ask, NULL, T_2024_06_01), CS_ERR_CERT);
	/* The VCEK has no Authority Key Identifier, so RFC 5280 strict mode rejects it. */
	CHECK_ERR(cs_x509_chain_verify_flags(a.vcek, a.ask, a.ark, NULL, T_2024_06_01,
	                                     CS_X509_STRICT),
	          CS_ERR_CERT);
	CHECK_ERR(cs_x509_chain_verify_flags(a.vcek, a.ask, a.ark, NULL, T_2024_06_01, 0x80),
	          CS_ERR_INVAL);
	CHECK_ERR(cs_x509_chain_verify(a.vcek, a.ask, NULL, NULL, T_2024_06_01), CS_ERR_INVAL);
	{
		int64_t nb = 0, na = 0;
		CHECK_OK(cs_x509_validity(a.vcek, &nb, &na));
		CHECK(nb == 1674583106 && na == 1895507906); /* 2023-01-24 17:58:26 + 7 years */
	}
out:
	free_amd(&a);
}

static void
check_ext(const struct cs_x509 *c, const char *oid, const uint8_t *want, size_t n)
{
	const uint8_t *p = NULL;
	size_t len = 0;

	CHECK_OK(cs_x509_ext(c, oid, &p, &len));
	CHECK(len == n && p != NULL && memcmp(p, want, n) == 0);
}

static void
test_vcek_extensions(void)
{
	struct amd a;
	const uint8_t *p;
	size_t n;

	if (!load_amd(&a)) {
		skipped += 1;
		goto out;
	}
	/* The reported TCB of the Milan report: bl_spl 3, tee 0, snp 8, ucode 0x73. */
	check_ext(a.vcek, "1.3.6.1.4.1.3704.1.3.1", (const uint8_t *)"\x02\x01\x03", 3);
	check_ext(a.vcek, "1.3.6.1.4.1.3704.1.3.2", (const uint8_t *)"\x02\x01\x00", 3);
	check_ext(a.vcek, "1.3.6.1.4.1.3704.1.3.3", (const uint8_t *)"\x02\x01\x08", 3);
	check_ext(a.vcek, "1.3.6.1.4.1.3704.1.3.8", (const uint8_t *)"\x02\x01\x73", 3);
	/* productName: IA5String "Milan-B0". */
	check_ext(a.vcek, "1.3.6.1.4.1.3704.1.2", (const uint8_t *)"\x16\x08Milan-B0", 10);
	/* hwid: the 64 raw bytes of the chip ID, equal to the report's CHIP_ID at 0x1A0. */
	CHECK_OK(cs_x509_ext(a.vcek, "1.3.6.1.4.1.3704.1.4", &p, &n));
	CHECK(n == 64 && a.report_len == SNP_REPORT_LEN && memcmp(p, a.report + 0x1A0, 64) == 0);
	CHECK(a.report[0x180] == 3 && a.report[0x186] == 8 && a.report[0x187] == 0x73);
	/* Absent, malformed OID, a name instead of an OID. */
	CHECK_ERR(cs_x509_ext(a.vcek, "1.3.6.1.4.1.3704.1.9", &p, &n), CS_ERR_NOT_FOUND);
	CHECK_ERR(cs_x509_ext(a.vcek, "1.3..6", &p, &n), CS_ERR_INVAL);
	CHECK_ERR(cs_x509_ext(a.vcek, "1.3.6.", &p, &n), CS_ERR_INVAL);
	CHECK_ERR(cs_x509_ext(a.vcek, ".1.3.6", &p, &n), CS_ERR_INVAL);
	CHECK_ERR(cs_x509_ext(a.vcek, "1", &p, &n), CS_ERR_INVAL);
	CHECK_ERR(cs_x509_ext(a.vcek, "", &p, &n), CS_ERR_INVAL);
	CHECK_ERR(cs_x509_ext(a.vcek, "commonName", &p, &n), CS_ERR_INVAL);
	/* The VLEK has no hwid. */
	CHECK_ERR(cs_x509_ext(a.vlek, "1.3.6.1.4.1.3704.1.4", &p, &n), CS_ERR_NOT_FOUND);
out:
	free_amd(&a);
}

static void
check_report_sig(const struct cs_x509 *cert, uint8_t *rep, size_t len)
{
	struct cs_key *k = NULL;
	uint8_t dgst[48];

	CHECK(len == SNP_REPORT_LEN);
	if (len != SNP_REPORT_LEN)
		return;
	CHECK_OK(cs_x509_pubkey(cert, &k));
	if (k == NULL)
		return;
	CHECK(cs_key_type(k) == CS_KEY_EC_P384);
	CHECK_OK(cs_ecdsa_verify(k, CS_SHA384, rep, SNP_SIG_OFF, rep + SNP_SIG_OFF, 144,
	                         CS_ECDSA_RAW_LE));
	CHECK_OK(cs_hash(CS_SHA384, rep, SNP_SIG_OFF, dgst));
	CHECK_OK(cs_ecdsa_verify_digest(k, dgst, 48, rep + SNP_SIG_OFF, 144, CS_ECDSA_RAW_LE));
	/* A flipped bit in the signed body (REPORT_DATA at 0x50), in r, in s, in s's zero pad. */
	rep[0x50] ^= 1;
	CHECK_ERR(cs_ecdsa_verify(k, CS_SHA384, rep, SNP_SIG_OFF, rep + SNP_SIG_OFF, 144,
	                          CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	rep[0x50] ^= 1;
	rep[SNP_SIG_OFF] ^= 1;
	CHECK_ERR(cs_ecdsa_verify_digest(k, dgst, 48, rep + SNP_SIG_OFF, 144, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	rep[SNP_SIG_OFF] ^= 1;
	rep[0x2E8 + 10] ^= 0x20;
	CHECK_ERR(cs_ecdsa_verify_digest(k, dgst, 48, rep + SNP_SIG_OFF, 144, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	rep[0x2E8 + 10] ^= 0x20;
	rep[0x2E8 + 70] = 1; /* s no longer fits P-384's 48 bytes */
	CHECK_ERR(cs_ecdsa_verify_digest(k, dgst, 48, rep + SNP_SIG_OFF, 144, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	rep[0x2E8 + 70] = 0;
	/* The same bytes read big-endian are not a signature. */
	CHECK_ERR(cs_ecdsa_verify_digest(k, dgst, 48, rep + SNP_SIG_OFF, 144, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	CHECK_OK(cs_ecdsa_verify_digest(k, dgst, 48, rep + SNP_SIG_OFF, 144, CS_ECDSA_RAW_LE));
	cs_key_free(k);
}

static void
test_snp_report_signature(void)
{
	struct amd a;

	if (!load_amd(&a)) {
		skipped += 2;
		goto out;
	}
	check_report_sig(a.vcek, a.report, a.report_len);
	check_report_sig(a.vlek, a.vlek_report, a.vlek_report_len);
	/* The VCEK does not verify the VLEK's report. */
	{
		struct cs_key *k = NULL;
		CHECK_OK(cs_x509_pubkey(a.vcek, &k));
		CHECK_ERR(cs_ecdsa_verify(k, CS_SHA384, a.vlek_report, SNP_SIG_OFF,
		                          a.vlek_report + SNP_SIG_OFF, 144, CS_ECDSA_RAW_LE),
		          CS_ERR_SIGNATURE);
		cs_key_free(k);
	}
out:
	free_amd(&a);
}

/* Intel: the PCK Platform CA under the real SGX Root CA with the root's CRL (valid 2023-04-03 ..
 * 2024-04-02), and a synthetic Intel-style PKI that must not verify to the real root. */
#define T_2023_07_01 1688169600
#define T_2024_05_01 1714521600
#define T_2023_11_14 1700000000

static struct cs_x509_set *
fixture_set(const char *rel)
{
	struct cs_x509_set *s = NULL;
	size_t n = 0;
	uint8_t *p = fixture(rel, &n);

	if (p != NULL)
		CHECK_OK(cs_x509_set_from_pem(p, n, &s));
	free(p);
	return s;
}

static void
test_intel_chains(void)
{
	struct cs_x509_set *real_root = fixture_set("tdx/go-tdx-guest/trusted_root.pem");
	struct cs_x509_set *platform = fixture_set("tdx/go-tdx-guest/pck_crl_issuer_chain.pem");
	struct cs_x509_set *syn_root = fixture_set("tdx/teekit/tdx/trustedRootCaCert.pem");
	struct cs_x509_set *syn_chain = fixture_set("tdx/teekit/tdx/pckSignChain.pem");
	struct cs_x509_set *syn_leaf = fixture_set("tdx/teekit/tdx/pckCert.pem");
	struct cs_x509_crls *root_crl = NULL, *syn_crls = NULL;
	const struct cs_x509 *pca, *pck;
	const uint8_t *p;
	uint8_t *der;
	size_t n;

	if (!real_root || !platform || !syn_root || !syn_chain || !syn_leaf) {
		skipped += 1;
		goto out;
	}
	if ((der = fixture("tdx/go-tdx-guest/rootcrl.der", &n)) != NULL)
		CHECK_OK(cs_x509_crls_from(der, n, &root_crl));
	free(der);
	/* Two DER CRLs added one after the other. */
	if ((der = fixture("tdx/teekit/tdx/intermediateCaCrl.der", &n)) != NULL)
		CHECK_OK(cs_x509_crls_from(der, n, &syn_crls));
	free(der);
	if ((der = fixture("tdx/teekit/tdx/rootCaCrl.der", &n)) != NULL && syn_crls != NULL) {
		CHECK_OK(cs_x509_crls_add(syn_crls, der, n));
		CHECK_ERR(cs_x509_crls_add(syn_crls, der, n - 1), CS_ERR_CERT);
	}
	free(der);
	if (root_crl == NULL || syn_crls == NULL)
		goto out;
	pca = cs_x509_set_get(platform, 0);
	check_cn(pca, "Intel SGX PCK Platform CA");
	CHECK_OK(cs_x509_chain_verify(pca, NULL, real_root, NULL, T_2023_07_01));
	CHECK_OK(cs_x509_chain_verify(pca, NULL, real_root, root_crl, T_2023_07_01));
	/* Intel's chain is RFC 5280-clean. */
	CHECK_OK(cs_x509_chain_verify_flags(pca, NULL, real_root, root_crl, T_2023_07_01,
	                                    CS_X509_STRICT));
	/* A stale CRL fails the chain that would pass without it. */
	CHECK_OK(cs_x509_chain_verify(pca, NULL, real_root, NULL, T_2024_05_01));
	CHECK_ERR(cs_x509_chain_verify(pca, NULL, real_root, root_crl, T_2024_05_01),
	          CS_ERR_EXPIRED);

	pck = cs_x509_set_get(syn_leaf, 0);
	CHECK_OK(cs_x509_chain_verify(pck, syn_chain, syn_root, syn_crls, T_2023_11_14));
	CHECK_OK(cs_x509_chain_verify_flags(pck, syn_chain, syn_root, syn_crls, T_2023_11_14,
	                                    CS_X509_STRICT));
	/* Same names as Intel's, different keys: the real root does not anchor it. */
	CHECK_ERR(cs_x509_chain_verify(pck, syn_chain, real_root, NULL, T_2023_11_14), CS_ERR_CERT);
	/* The real root's CRL is not signed by the synthetic root: it covers nothing here. */
	CHECK_OK(cs_x509_chain_verify(pck, syn_chain, syn_root, root_crl, T_2023_11_14));
	/* The SGX extensions (FMSPC and TCB live inside) by OID. */
	CHECK_OK(cs_x509_ext(pck, "1.2.840.113741.1.13.1", &p, &n));
	CHECK(n > 2 && p[0] == 0x30);
out:
	cs_x509_set_free(real_root);
	cs_x509_set_free(platform);
	cs_x509_set_free(syn_root);
	cs_x509_set_free(syn_chain);
	cs_x509_set_free(syn_leaf);
	cs_x509_crls_free(root_crl);
	cs_x509_crls_free(syn_crls);
}

/* Reads one DER TLV header at p (n bytes left): returns the header length, sets *len. */
static size_t
tlv(const uint8_t *p, size_t n, size_t *len)
{
	size_t i, k;

	if (n < 2)
		return 0;
	if (p[1] < 0x80) {
		*len = p[1];
		return 2;
	}
	k = p[1] & 0x7f;
	if (k == 0 || k > 3 || n < 2 + k)
		return 0;
	for (*len = 0, i = 0; i < k; i++)
		*len = *len << 8 | p[2 + i];
	return 2 + k;
}

/*
 * Splits Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * (RFC 5280 §4.1) into the signed bytes and the signature, to check our own signature
 * verification against signatures made by AMD's and Intel's CAs.
 */
static bool
cert_split(const struct cs_x509 *c, struct cs_buf *der, const uint8_t **tbs, size_t *tbs_len,
           const uint8_t **sig, size_t *sig_len)
{
	size_t h, len, off, alg_len;

	if (cs_x509_to_der(c, der) != CS_OK || (h = tlv(der->p, der->len, &len)) == 0)
		return false;
	off = h;
	*tbs = der->p + off;
	if ((h = tlv(*tbs, der->len - off, &len)) == 0)
		return false;
	*tbs_len = h + len;
	off += *tbs_len;
	if ((h = tlv(der->p + off, der->len - off, &alg_len)) == 0)
		return false;
	off += h + alg_len;
	if ((h = tlv(der->p + off, der->len - off, &len)) == 0 || der->p[off] != 0x03 ||
	    der->p[off + h] != 0)
		return false;
	*sig = der->p + off + h + 1; /* skip the unused-bits byte */
	*sig_len = len - 1;
	return off + h + len == der->len;
}

static void
test_ca_signatures(void)
{
	struct cs_x509_set *milan = fixture_set("trustee/snp-root-milan-ask-ark-asvk.pem");
	struct cs_x509_set *intel = fixture_set("tdx/go-tdx-guest/pck_crl_issuer_chain.pem");
	struct cs_key *ark = NULL, *root = NULL;
	const uint8_t *tbs, *sig;
	size_t tbs_len, sig_len;
	struct cs_buf der;

	cs_buf_init(&der, 65536);
	if (milan == NULL || intel == NULL) {
		skipped += 1;
		goto out;
	}
	/* AMD: the ARK signs the ASK with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48. */
	CHECK_OK(cs_x509_pubkey(cs_x509_set_get(milan, 1), &ark));
	CHECK(cert_split(cs_x509_set_get(milan, 0), &der, &tbs, &tbs_len, &sig, &sig_len));
	if (ark == NULL)
		goto out;
	CHECK(cs_key_type(ark) == CS_KEY_RSA && cs_key_rsa_bits(ark) == 4096 && sig_len == 512);
	CHECK_OK(cs_rsa_pss_verify(ark, CS_SHA384, 48, tbs, tbs_len, sig, sig_len));
	CHECK_ERR(cs_rsa_pss_verify(ark, CS_SHA384, 32, tbs, tbs_len, sig, sig_len),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pss_verify(ark, CS_SHA256, 48, tbs, tbs_len, sig, sig_len),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pss_verify(ark, CS_SHA384, 48, tbs, tbs_len - 1, sig, sig_len),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pkcs1_verify(ark, CS_SHA384, tbs, tbs_len, sig, sig_len),
	          CS_ERR_SIGNATURE);
	/* The ARK is self-signed the same way. */
	cs_buf_reset(&der);
	CHECK(cert_split(cs_x509_set_get(milan, 1), &der, &tbs, &tbs_len, &sig, &sig_len));
	CHECK_OK(cs_rsa_pss_verify(ark, CS_SHA384, 48, tbs, tbs_len, sig, sig_len));

	/* Intel: the SGX Root CA signs the PCK Platform CA with ECDSA P-256 SHA-256, DER. */
	cs_buf_reset(&der);
	CHECK_OK(cs_x509_pubkey(cs_x509_set_get(intel, 1), &root));
	CHECK(cert_split(cs_x509_set_get(intel, 0), &der, &tbs, &tbs_len, &sig, &sig_len));
	if (root == NULL)
		goto out;
	CHECK(cs_key_type(root) == CS_KEY_EC_P256);
	CHECK_OK(cs_ecdsa_verify(root, CS_SHA256, tbs, tbs_len, sig, sig_len, CS_ECDSA_DER));
	CHECK_ERR(cs_ecdsa_verify(root, CS_SHA384, tbs, tbs_len, sig, sig_len, CS_ECDSA_DER),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(ark, CS_SHA256, tbs, tbs_len, sig, sig_len, CS_ECDSA_DER),
	          CS_ERR_SIGNATURE);
out:
	cs_key_free(ark);
	cs_key_free(root);
	cs_x509_set_free(milan);
	cs_x509_set_free(intel);
	cs_buf_fini(&der);
}

/*
 * cs_x509_from_pem on text whose first one_len bytes are one PEM certificate followed by more:
 * whitespace after the block is accepted; anything before it, or else after it (a byte, another
 * block), is not.
 */
static void
pem_one_strict(const uint8_t *text, size_t one_len)
{
	static const char *const after[] = {"x", "\n-----BEGIN CERTIFICATE-----\n", "\0"};
	struct cs_x509 *c = NULL;
	struct cs_buf b;

	cs_buf_init(&b, 65536);
	CHECK_OK(cs_buf_append(&b, text, one_len));
	CHECK_OK(cs_x509_from_pem(b.p, b.len, &c));
	cs_x509_free(c);
	c = NULL;
	/* The whole chain text: a second block follows. */
	CHECK_ERR(cs_x509_from_pem(text, one_len + 100, &c), CS_ERR_TRAILING);
	for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
		cs_buf_reset(&b);
		CHECK_OK(cs_buf_append(&b, text, one_len));
		CHECK_OK(cs_buf_append(&b, after[i], i == 2 ? 1 : strlen(after[i])));
		CHECK_ERR(cs_x509_from_pem(b.p, b.len, &c), CS_ERR_TRAILING);
	}
	cs_buf_reset(&b);
	CHECK_OK(cs_buf_append(&b, text, one_len));
	CHECK_OK(cs_buf_append_str(&b, "\n \t\r\n"));
	CHECK_OK(cs_x509_from_pem(b.p, b.len, &c));
	cs_x509_free(c);
	c = NULL;
	/* Before the block: not even whitespace (the PEM reader would skip whole lines). */
	for (size_t i = 0; i < 2; i++) {
		cs_buf_reset(&b);
		CHECK_OK(cs_buf_append_str(&b, i == 0 ? "junk\n" : " "));
		CHECK_OK(cs_buf_append(&b, text, one_len));
		CHECK_ERR(cs_x509_from_pem(b.p, b.len, &c), CS_ERR_CERT);
		CHECK(c == NULL);
	}
	cs_buf_fini(&b);
}

static void
test_parse_errors(void)
{
	struct cs_x509 *c = NULL;
	struct cs_x509_set *s = NULL;
	struct cs_x509_crls *crls = NULL;
	struct cs_buf der;
	uint8_t fp[32], fp2[32];
	uint8_t *p;
	size_t n;

	CHECK_ERR(cs_x509_from_der((const uint8_t *)"\x30\x03\x02\x01\x01", 5, &c), CS_ERR_CERT);
	CHECK_ERR(cs_x509_from_pem((const uint8_t *)"nope", 4, &c), CS_ERR_CERT);
	CHECK_ERR(cs_x509_set_from_pem((const uint8_t *)"nope", 4, &s), CS_ERR_CERT);
	CHECK_ERR(cs_x509_crls_from((const uint8_t *)"nope", 4, &crls), CS_ERR_CERT);
	CHECK_ERR(cs_x509_from_der(NULL, 0, &c), CS_ERR_CERT);
	CHECK(c == NULL && s == NULL && crls == NULL);
	if ((p = fixture("trustee/snp-milan-vcek.der", &n)) == NULL) {
		skipped += 1;
		return;
	}
	cs_buf_init(&der, 65536);
	CHECK_OK(cs_x509_from_der(p, n, &c));
	CHECK_OK(cs_x509_to_der(c, &der));
	CHECK(der.len == n && memcmp(der.p, p, n) == 0);
	CHECK_OK(cs_x509_fingerprint(c, fp));
	CHECK_OK(cs_hash(CS_SHA256, p, n, fp2));
	CHECK_MEM(fp, fp2, 32);
	cs_x509_free(c);
	c = NULL;
	/* Truncated, and with a trailing byte. */
	CHECK_ERR(cs_x509_from_der(p, n - 1, &c), CS_ERR_CERT);
	CHECK_OK(cs_buf_putc(&der, 0));
	CHECK_ERR(cs_x509_from_der(der.p, der.len, &c), CS_ERR_TRAILING);
	/* A damaged PEM block in a set fails the whole set. */
	free(p);
	if ((p = fixture("trustee/snp-root-milan-ask-ark-asvk.pem", &n)) != NULL) {
		char *mid = strstr((char *)p + 100, "-----BEGIN CERTIFICATE-----");
		CHECK(mid != NULL);
		if (mid != NULL) {
			pem_one_strict(p, (size_t)((uint8_t *)mid - p));
			mid[40] = '*';
			CHECK_ERR(cs_x509_set_from_pem(p, n, &s), CS_ERR_CERT);
			CHECK(s == NULL);
			/* One certificate from PEM is strict: the text after the first block fails.
			 */
			CHECK_ERR(cs_x509_from_pem(p, n, &c), CS_ERR_TRAILING);
			CHECK(c == NULL);
		}
	}
	free(p);
	cs_buf_fini(&der);
}

/* Makes a test CA, a leaf, and CRLs with the openssl CLI in dir. */
static bool
make_pki(const char *dir)
{
	char cmd[8192];

	snprintf(
	        cmd, sizeof(cmd),
	        "set -e; exec >/dev/null 2>&1; cd '%s'\n"
	        "cat > ca.cnf <<'EOF'\n"
	        "[ca]\ndefault_ca = d\n"
	        "[d]\ndatabase = index.txt\nnew_certs_dir = .\ncertificate = ca.pem\n"
	        "private_key = ca.key\ndefault_md = sha256\ndefault_crl_days = 1\n"
	        "crlnumber = crlnumber\n"
	        "EOF\n"
	        "printf "
	        "'basicConstraints=critical,CA:false\\nkeyUsage=critical,digitalSignature\\n'"
	        " > leaf.ext\n"
	        ": > index.txt; echo 01 > crlnumber\n"
	        "for ca in ca other; do openssl req -x509 -newkey ec -pkeyopt "
	        "ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem -subj \"/CN=$ca\" "
	        "-days 10 -addext basicConstraints=critical,CA:true -addext "
	        "keyUsage=critical,keyCertSign,cRLSign; done\n"
	        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
	        "-out leaf.csr -subj /CN=leaf\n"
	        "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 5 "
	        "-extfile leaf.ext -out leaf.pem\n"
	        "openssl ca -batch -config ca.cnf -gencrl -out empty.crl\n"
	        "openssl ca -batch -config ca.cnf -keyfile other.key -cert other.pem -gencrl "
	        "-out other.crl\n"
	        "openssl ca -batch -config ca.cnf -revoke leaf.pem\n"
	        "openssl ca -batch -config ca.cnf -gencrl -out revoked.crl\n"
	        "openssl crl -in revoked.crl -outform der -out revoked.der\n"
	        "cat empty.crl other.crl > two.crl\n"
	        /* sub: issued by the (non-CA) leaf; sub2: by nokcs, a CA without keyCertSign. */
	        "printf 'basicConstraints=critical,CA:true\\nkeyUsage=critical,digitalSignature\\n'"
	        " > nokcs.ext\n"
	        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sub.key "
	        "-out sub.csr -subj /CN=sub\n"
	        "openssl x509 -req -in sub.csr -CA leaf.pem -CAkey leaf.key -set_serial 3 -days 2 "
	        "-extfile leaf.ext -out sub.pem\n"
	        "openssl x509 -req -in sub.csr -CA ca.pem -CAkey ca.key -set_serial 4 -days 5 "
	        "-extfile nokcs.ext -out nokcs.pem\n"
	        "openssl x509 -req -in leaf.csr -CA nokcs.pem -CAkey sub.key -set_serial 5 -days 2 "
	        "-extfile leaf.ext -out sub2.pem\n",
	        dir);
	return system(cmd) == 0;
}

/* Reads dir/name; returns owned or NULL (and a failed check). */
static uint8_t *
read_in(const char *dir, const char *name, size_t *n)
{
	char path[4200];
	uint8_t *p;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	p = t_read_file(path, n);
	CHECK(p != NULL);
	return p;
}

static struct cs_x509_crls *
load_crls(const char *dir, const char *name)
{
	struct cs_x509_crls *c = NULL;
	size_t n = 0;
	uint8_t *p = read_in(dir, name, &n);

	if (p != NULL)
		CHECK_OK(cs_x509_crls_from(p, n, &c));
	free(p);
	return c;
}

static struct cs_x509 *
load_pem(const char *dir, const char *name)
{
	struct cs_x509 *c = NULL;
	size_t n = 0;
	uint8_t *p = read_in(dir, name, &n);

	if (p != NULL)
		CHECK_OK(cs_x509_from_pem(p, n, &c));
	free(p);
	return c;
}

static void
test_crl(void)
{
	char dir[] = "/tmp/custos-x509-XXXXXX", cmd[256];
	struct cs_x509 *ca = NULL, *leaf = NULL, *other = NULL;
	struct cs_x509_set *roots = NULL;
	struct cs_x509_crls *empty = NULL, *revoked = NULL, *revoked_der = NULL, *other_crl = NULL;
	struct cs_x509_crls *two = NULL;
	int64_t now = (int64_t)time(NULL) + 60;

	if (mkdtemp(dir) == NULL || !make_pki(dir)) {
		CHECK(!"openssl CLI could not make the test PKI");
		return;
	}
	ca = load_pem(dir, "ca.pem");
	other = load_pem(dir, "other.pem");
	leaf = load_pem(dir, "leaf.pem");
	empty = load_crls(dir, "empty.crl");
	revoked = load_crls(dir, "revoked.crl");
	revoked_der = load_crls(dir, "revoked.der");
	other_crl = load_crls(dir, "other.crl");
	two = load_crls(dir, "two.crl");
	CHECK_OK(cs_x509_set_new(&roots));
	if (!ca || !leaf || !other || !empty || !revoked || !revoked_der || !other_crl || !two ||
	    !roots)
		goto out;
	CHECK_OK(cs_x509_set_add(roots, ca));
	CHECK_OK(cs_x509_chain_verify(leaf, NULL, roots, NULL, now));
	CHECK_OK(cs_x509_chain_verify(leaf, NULL, roots, empty, now));
	CHECK_ERR(cs_x509_chain_verify(leaf, NULL, roots, revoked, now), CS_ERR_CERT_REVOKED);
	CHECK_ERR(cs_x509_chain_verify(leaf, NULL, roots, revoked_der, now), CS_ERR_CERT_REVOKED);
	/* Two PEM CRLs in one text; a CRL of another CA covers nothing here. */
	CHECK_OK(cs_x509_chain_verify(leaf, NULL, roots, two, now));
	CHECK_OK(cs_x509_chain_verify(leaf, NULL, roots, other_crl, now));
	/* The CRL's nextUpdate is one day on: two days on it is stale. */
	CHECK_ERR(cs_x509_chain_verify(leaf, NULL, roots, empty, now + 2 * 86400), CS_ERR_EXPIRED);
	/* The leaf is valid for 5 days, the CA for 10. */
	CHECK_ERR(cs_x509_chain_verify(leaf, NULL, roots, NULL, now + 6 * 86400), CS_ERR_EXPIRED);
	CHECK_ERR(cs_x509_chain_verify(leaf, NULL, roots, NULL, now - 86400), CS_ERR_NOT_YET_VALID);
	/* A root that did not issue the leaf; the leaf as its own root. */
	{
		struct cs_x509_set *wrong = NULL;
		CHECK_OK(cs_x509_set_new(&wrong));
		CHECK_OK(cs_x509_set_add(wrong, other));
		CHECK_ERR(cs_x509_chain_verify(leaf, NULL, wrong, NULL, now), CS_ERR_CERT);
		cs_x509_set_free(wrong);
		CHECK_OK(cs_x509_set_new(&wrong));
		CHECK_OK(cs_x509_set_add(wrong, leaf));
		CHECK_ERR(cs_x509_chain_verify(leaf, NULL, wrong, NULL, now), CS_ERR_CERT);
		cs_x509_set_free(wrong);
	}
	/* Basic constraints and key usage of issuers: a non-CA leaf, and a CA without keyCertSign,
	 * cannot issue, even when given as intermediates to a pinned root. */
	{
		struct cs_x509 *sub = load_pem(dir, "sub.pem"), *sub2 = load_pem(dir, "sub2.pem");
		struct cs_x509 *nokcs = load_pem(dir, "nokcs.pem");
		struct cs_x509_set *mid = NULL;
		CHECK_OK(cs_x509_set_new(&mid));
		if (sub != NULL && sub2 != NULL && nokcs != NULL && mid != NULL) {
			CHECK_OK(cs_x509_set_add(mid, leaf));
			CHECK_ERR(cs_x509_chain_verify(sub, mid, roots, NULL, now), CS_ERR_CERT);
			CHECK_OK(cs_x509_set_add(mid, nokcs));
			CHECK_ERR(cs_x509_chain_verify(sub2, mid, roots, NULL, now), CS_ERR_CERT);
			/* Unrelated intermediates do not disturb a good chain. */
			CHECK_OK(cs_x509_chain_verify(leaf, mid, roots, NULL, now));
		}
		cs_x509_set_free(mid);
		cs_x509_free(sub);
		cs_x509_free(sub2);
		cs_x509_free(nokcs);
	}
	/* Strict mode accepts this RFC 5280-clean chain. */
	CHECK_OK(cs_x509_chain_verify_flags(leaf, NULL, roots, NULL, now, CS_X509_STRICT));
out:
	cs_x509_free(ca);
	cs_x509_free(other);
	cs_x509_free(leaf);
	cs_x509_set_free(roots);
	cs_x509_crls_free(empty);
	cs_x509_crls_free(revoked);
	cs_x509_crls_free(revoked_der);
	cs_x509_crls_free(other_crl);
	cs_x509_crls_free(two);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int
main(void)
{
	T_RUN(test_amd_chain);
	T_RUN(test_vcek_extensions);
	T_RUN(test_snp_report_signature);
	T_RUN(test_intel_chains);
	T_RUN(test_ca_signatures);
	T_RUN(test_parse_errors);
	T_RUN(test_crl);
	if (skipped > 0)
		printf("SKIP: %d fixture tests: fixtures not found (set CUSTOS_FIXTURES)\n",
		       skipped);
	return t_done();
}

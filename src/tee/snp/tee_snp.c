/*
 * The `snp` and `sim-snp` TEE types (src/tee/tee.h). Both verify with the same code; they differ
 * in their trust anchors and their attester:
 *   snp      AMD's pinned roots (or cfg->roots_dir), VCEK from the evidence, else the collateral
 *            cache, else AMD KDS unless offline; attester configfs-tsm / /dev/sev-guest.
 *   sim-snp  refuses to start without cfg->roots_dir (the sim's test roots), never fetches;
 *            attester signs with the sim state in $CUSTOS_SIM_SNP_DIR (see sim.h), optionally
 *            with MEASUREMENT / HOST_DATA from $CUSTOS_SIM_SNP_MEASUREMENT / _HOST_DATA (hex).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/b64.h"
#include "base/fs.h"
#include "crypto/x509.h"
#include "tee/snp/attest.h"
#include "tee/snp/collateral.h"
#include "tee/snp/evidence.h"
#include "tee/snp/sim.h"
#include "tee/snp/snp.h"
#include "tee/snp/verify.h"

#define VEK_MAX (16 * 1024)

struct snp_state {
	struct cs_snp_trust *trust;
	int64_t crl_next_update; /* earliest nextUpdate of the loaded CRLs; INT64_MAX if none */
	char *collateral_dir;    /* owned; NULL: none */
	char *kds_base;          /* owned; NULL: $CUSTOS_KDS_URL, else AMD's */
	bool offline;
};

static void
snp_verifier_free(void *state)
{
	struct snp_state *s = state;

	if (s == NULL)
		return;
	cs_snp_trust_free(s->trust);
	free(s->collateral_dir);
	free(s->kds_base);
	free(s);
}

/* Base64 in 64-column lines, as PEM readers expect. */
static enum cs_err
pem_body(struct cs_buf *pem, const uint8_t *p, size_t n)
{
	struct cs_buf b64;
	enum cs_err err;

	cs_buf_init(&b64, 2 * n + 16);
	err = cs_b64_encode(&b64, p, n);
	for (size_t i = 0; err == CS_OK && i < b64.len; i += 64) {
		err = cs_buf_append(pem, b64.p + i, b64.len - i < 64 ? b64.len - i : 64);
		if (err == CS_OK)
			err = cs_buf_putc(pem, '\n');
	}
	cs_buf_fini(&b64);
	return err;
}

/* The CRL's nextUpdate as Unix time (INT64_MAX when absent), via OpenSSL: x509.h has no accessor.
 */
static int64_t
crl_next_update(const struct cs_buf *der)
{
	const unsigned char *q = der->p;
	X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)der->len);
	const ASN1_TIME *t = crl != NULL ? X509_CRL_get0_nextUpdate(crl) : NULL;
	struct tm tm;
	int64_t v = INT64_MAX;

	if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1)
		v = (int64_t)timegm(&tm);
	X509_CRL_free(crl);
	return crl != NULL ? v : INT64_MIN; /* unparsable: stale by definition */
}

/* Loads D/snp/<Product>/crl.der for every product into one CRL set (as PEM blocks). */
enum cs_err
cs_snp_trust_load_crls(struct cs_snp_trust *t, const char *dir, int64_t *next_update)
{
	static const enum cs_snp_product all[] = {CS_SNP_MILAN, CS_SNP_GENOA, CS_SNP_TURIN};
	struct cs_buf pem;
	struct cs_x509_crls *crls = NULL;
	enum cs_err err = CS_OK;

	*next_update = INT64_MAX;
	cs_buf_init(&pem, 4 * 1024 * 1024);
	for (size_t i = 0; i < 3 && err == CS_OK; i++) {
		char path[4096];
		struct cs_buf der;

		snprintf(path, sizeof(path), "%s/snp/%s/crl.der", dir, cs_snp_product_name(all[i]));
		cs_buf_init(&der, 1024 * 1024);
		err = cs_file_read(path, &der);
		if (err == CS_ERR_NOT_FOUND) {
			err = CS_OK;
			cs_buf_fini(&der);
			continue;
		}
		if (err == CS_OK) {
			int64_t nu = crl_next_update(&der);

			if (nu < *next_update)
				*next_update = nu;
			err = cs_buf_append_str(&pem, "-----BEGIN X509 CRL-----\n");
		}
		if (err == CS_OK)
			err = pem_body(&pem, der.p, der.len);
		if (err == CS_OK)
			err = cs_buf_append_str(&pem, "-----END X509 CRL-----\n");
		cs_buf_fini(&der);
	}
	if (err == CS_OK && pem.len > 0) {
		err = cs_x509_crls_from(pem.p, pem.len, &crls);
		if (err == CS_OK)
			err = cs_snp_trust_set_crls(t, crls);
	}
	cs_buf_fini(&pem);
	return err;
}

static enum cs_err
state_new(const struct cs_verify_cfg *cfg, bool sim, void **state)
{
	struct snp_state *s;
	enum cs_err err;

	*state = NULL;
	/* sim-snp is only ever trusted with roots named explicitly (its test roots). */
	ENSURE(!sim || (cfg != NULL && cfg->roots_dir != NULL), CS_ERR_CONFIG);
	s = calloc(1, sizeof(*s));
	ENSURE(s != NULL, CS_ERR_NOMEM);
	s->offline = sim || (cfg != NULL && cfg->offline);
	s->crl_next_update = INT64_MAX;
	err = cs_snp_trust_new(cfg != NULL ? cfg->roots_dir : NULL, &s->trust);
	if (err == CS_OK && cfg != NULL && cfg->collateral_dir != NULL) {
		s->collateral_dir = strdup(cfg->collateral_dir);
		err = s->collateral_dir != NULL
		              ? cs_snp_trust_load_crls(s->trust, s->collateral_dir,
		                                       &s->crl_next_update)
		              : CS_ERR_NOMEM;
	}
	if (err == CS_OK && cfg != NULL && cfg->kds_base != NULL &&
	    (s->kds_base = strdup(cfg->kds_base)) == NULL)
		err = CS_ERR_NOMEM;
	if (err != CS_OK) {
		snp_verifier_free(s);
		return err;
	}
	*state = s;
	return CS_OK;
}

static enum cs_err
snp_verifier_new(const struct cs_verify_cfg *cfg, void **state)
{
	return state_new(cfg, false, state);
}

static enum cs_err
sim_verifier_new(const struct cs_verify_cfg *cfg, void **state)
{
	return state_new(cfg, true, state);
}

enum cs_err
cs_snp_find_vcek(const char *dir, bool online, const uint8_t *report, struct cs_buf *vek)
{
	return cs_snp_find_vcek_at(dir, online, NULL, report, vek);
}

enum cs_err
cs_snp_find_vcek_at(const char *dir, bool online, const char *kds_base, const uint8_t *report,
                    struct cs_buf *vek)
{
	const struct cs_snp_kds kds = {.base = kds_base};
	static const enum cs_snp_product all[] = {CS_SNP_MILAN, CS_SNP_GENOA, CS_SNP_TURIN};
	struct cs_snp_report r;
	enum cs_snp_product p;
	struct cs_snp_tcb tcb;
	enum cs_err err = CS_ERR_COLLATERAL;

	TRY(cs_snp_report_parse(report, CS_SNP_REPORT_LEN, &r));
	ENSURE(cs_snp_report_signer(&r) == CS_SNP_SIGNER_VCEK, CS_ERR_COLLATERAL);
	p = cs_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
	for (size_t i = 0; i < 3 && err != CS_OK; i++) {
		enum cs_snp_product q = p != CS_SNP_PRODUCT_UNKNOWN ? p : all[i];

		if (cs_snp_tcb_decode(r.reported_tcb, q, &tcb) == CS_OK)
			err = cs_snp_cache_vcek(dir, q, r.chip_id, &tcb, vek);
		if (p != CS_SNP_PRODUCT_UNKNOWN)
			break;
	}
	/* Online only with a product to ask for (v2 reports name none). */
	if (err == CS_ERR_COLLATERAL && online && p != CS_SNP_PRODUCT_UNKNOWN &&
	    cs_snp_tcb_decode(r.reported_tcb, p, &tcb) == CS_OK)
		err = cs_snp_kds_fetch_vcek(dir, &kds, p, r.chip_id, &tcb, vek);
	return err;
}

static enum cs_err
snp_verify(void *state, const struct cs_verify_in *in, json_t **claims)
{
	struct snp_state *s = state;
	uint8_t report[CS_SNP_REPORT_LEN];
	struct cs_buf vek;
	struct cs_snp_verified v;
	struct cs_snp_verify_opts o = {
	        .at = in->at,
	        .report_data = in->report_data,
	        .host_data = in->init_data_digest,
	        .host_data_len = in->init_data_digest_len,
	};
	enum cs_err err;

	*claims = NULL;
	/* A CRL past its nextUpdate is stale collateral: say so rather than trust or ignore it. */
	ENSURE(in->at <= s->crl_next_update, CS_ERR_COLLATERAL);
	cs_buf_init(&vek, VEK_MAX);
	err = cs_snp_evidence_parse(in->evidence, report, &vek);
	if (err == CS_OK && vek.len == 0)
		err = cs_snp_find_vcek_at(s->collateral_dir, !s->offline, s->kds_base, report,
		                          &vek);
	if (err == CS_OK)
		err = cs_snp_verify(s->trust, report, sizeof(report), vek.p, vek.len, &o, &v);
	if (err == CS_OK)
		err = cs_snp_claims(&v, claims);
	cs_buf_fini(&vek);
	return err;
}

static bool
snp_detect(void)
{
	return cs_snp_attest_available();
}

static enum cs_err
snp_attest(const uint8_t *report_data, json_t **evidence)
{
	return cs_snp_attest(report_data, evidence);
}

static const char *
sim_dir(void)
{
	const char *d = getenv("CUSTOS_SIM_SNP_DIR");

	return d != NULL && d[0] != '\0' ? d : NULL;
}

static bool
sim_detect(void)
{
	struct stat st;
	char path[4096];
	const char *d = sim_dir();

	if (d == NULL || (size_t)snprintf(path, sizeof(path), "%s/vcek.key", d) >= sizeof(path))
		return false;
	return stat(path, &st) == 0;
}

/* Copies an optional hex environment variable of exactly n bytes into dst. */
static enum cs_err
env_hex(const char *name, uint8_t *dst, size_t n)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		return CS_OK;
	return cs_hex_decode_fixed(dst, n, v, strlen(v));
}

static enum cs_err
sim_attest(const uint8_t *report_data, json_t **evidence)
{
	struct cs_snp_sim *sim = NULL;
	struct cs_snp_report r;
	struct cs_buf vcek;
	uint8_t rep[CS_SNP_REPORT_LEN];
	enum cs_err err;

	ENSURE(sim_dir() != NULL, CS_ERR_NO_TEE);
	TRY(cs_snp_sim_load(sim_dir(), &sim));
	cs_buf_init(&vcek, VEK_MAX);
	cs_snp_sim_template(sim, 3, &r);
	memcpy(r.report_data, report_data, CS_REPORT_DATA_LEN);
	err = env_hex("CUSTOS_SIM_SNP_MEASUREMENT", r.measurement, sizeof(r.measurement));
	if (err == CS_OK)
		err = env_hex("CUSTOS_SIM_SNP_HOST_DATA", r.host_data, sizeof(r.host_data));
	if (err == CS_OK)
		err = cs_snp_sim_sign(sim, &r, rep);
	if (err == CS_OK)
		err = cs_snp_sim_vcek_der(sim, &vcek);
	if (err == CS_OK)
		err = cs_snp_evidence_build(rep, sizeof(rep), vcek.p, vcek.len, evidence);
	cs_buf_fini(&vcek);
	cs_snp_sim_free(sim);
	return err;
}

const struct cs_tee_ops cs_tee_snp = {
        .name = "snp",
        .verifier_new = snp_verifier_new,
        .verifier_free = snp_verifier_free,
        .verify = snp_verify,
        .detect = snp_detect,
        .attest = snp_attest,
};

const struct cs_tee_ops cs_tee_sim_snp = {
        .name = "sim-snp",
        .verifier_new = sim_verifier_new,
        .verifier_free = snp_verifier_free,
        .verify = snp_verify,
        .detect = sim_detect,
        .attest = sim_attest,
};

/*
 * SEV-SNP verification (see verify.h). The chain of a VEK is checked once and cached by the
 * SHA-256 of its DER with the time window in which the whole chain is valid, so that verifying
 * many reports from one chip costs one ECDSA P-384 verification each.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/fs.h"
#include "base/buf.h"
#include "base/secret.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/sig.h"
#include "crypto/x509.h"
#include "tee/snp/collateral.h"
#include "tee/snp/verify.h"

#define VEK_CACHE_MAX 256
#define ROOTS_FILE_MAX (64 * 1024)

struct vek_entry {
	uint8_t fp[32]; /* SHA-256 of the VEK's DER */
	enum cs_snp_product product;
	enum cs_snp_signer signer;
	bool named;                    /* the product came from the VEK's productName */
	int64_t not_before, not_after; /* the window in which every chain certificate is valid */
	struct cs_key *key;            /* owned; shared read-only by verifying threads */
	struct cs_snp_vek_info info;
};

struct product_roots {
	struct cs_x509 *ask, *ark, *asvk;       /* owned */
	struct cs_x509_set *roots;              /* {ARK} */
	struct cs_x509_set *ask_set, *asvk_set; /* intermediates */
};

struct cs_snp_trust {
	struct product_roots prod[CS_SNP_PRODUCT_COUNT];
	struct cs_x509_crls *crls; /* owned, may be NULL */
	pthread_mutex_t lock;      /* guards cache, n_cache and frozen */
	struct vek_entry cache[VEK_CACHE_MAX];
	size_t n_cache;
	/*
	 * Set by the first verification: from then on threads hold cache entries and roots without
	 * the lock, so roots, CRLs and the cache are never replaced or cleared until the trust is
	 * freed (cs_snp_trust_set / _set_crls return CS_ERR_STATE).
	 */
	bool frozen;
};

static void
product_roots_fini(struct product_roots *r)
{
	cs_x509_set_free(r->roots);
	cs_x509_set_free(r->ask_set);
	cs_x509_set_free(r->asvk_set);
	cs_x509_free(r->ask);
	cs_x509_free(r->ark);
	cs_x509_free(r->asvk);
	memset(r, 0, sizeof(*r));
}

static void
cache_clear(struct cs_snp_trust *t)
{
	for (size_t i = 0; i < t->n_cache; i++)
		cs_key_free(t->cache[i].key);
	t->n_cache = 0;
}

void
cs_snp_trust_free(struct cs_snp_trust *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < CS_SNP_PRODUCT_COUNT; i++)
		product_roots_fini(&t->prod[i]);
	cache_clear(t);
	cs_x509_crls_free(t->crls);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

enum cs_err
cs_snp_trust_set_crls(struct cs_snp_trust *t, struct cs_x509_crls *crls)
{
	enum cs_err err = CS_ERR_STATE;

	pthread_mutex_lock(&t->lock);
	if (!t->frozen) {
		cs_x509_crls_free(t->crls);
		t->crls = crls;
		crls = NULL;
		cache_clear(t); /* verdicts cached before may now be revoked */
		err = CS_OK;
	}
	pthread_mutex_unlock(&t->lock);
	cs_x509_crls_free(crls);
	return err;
}

static enum cs_err
set_of_one(const struct cs_x509 *c, struct cs_x509_set **out)
{
	enum cs_err err;

	TRY(cs_x509_set_new(out));
	err = cs_x509_set_add(*out, c);
	if (err != CS_OK) {
		cs_x509_set_free(*out);
		*out = NULL;
	}
	return err;
}

/* Copies certificate i of s into an owned certificate (through DER). */
static enum cs_err
cert_copy(const struct cs_x509_set *s, size_t i, struct cs_x509 **out)
{
	struct cs_buf der;
	enum cs_err err;

	cs_buf_init(&der, 64 * 1024);
	err = cs_x509_to_der(cs_x509_set_get(s, i), &der);
	if (err == CS_OK)
		err = cs_x509_from_der(der.p, der.len, out);
	cs_buf_fini(&der);
	return err;
}

enum cs_err
cs_snp_trust_set(struct cs_snp_trust *t, enum cs_snp_product p, const uint8_t *pem, size_t n)
{
	struct product_roots r = {0};
	struct cs_x509_set *all = NULL;
	enum cs_err err;
	size_t count;

	ENSURE(p > CS_SNP_PRODUCT_UNKNOWN && p < CS_SNP_PRODUCT_COUNT, CS_ERR_INVAL);
	err = cs_x509_set_from_pem(pem, n, &all);
	if (err != CS_OK)
		goto out;
	count = cs_x509_set_len(all);
	err = CS_ERR_CERT;
	if (count != 2 && count != 3)
		goto out;
	if ((err = cert_copy(all, 0, &r.ask)) != CS_OK ||
	    (err = cert_copy(all, 1, &r.ark)) != CS_OK)
		goto out;
	if (count == 3 && (err = cert_copy(all, 2, &r.asvk)) != CS_OK)
		goto out;
	if ((err = set_of_one(r.ark, &r.roots)) != CS_OK ||
	    (err = set_of_one(r.ask, &r.ask_set)) != CS_OK)
		goto out;
	if (r.asvk != NULL && (err = set_of_one(r.asvk, &r.asvk_set)) != CS_OK)
		goto out;
	pthread_mutex_lock(&t->lock);
	err = CS_ERR_STATE;
	if (!t->frozen) {
		product_roots_fini(&t->prod[p]);
		t->prod[p] = r;
		memset(&r, 0, sizeof(r));
		cache_clear(t);
		err = CS_OK;
	}
	pthread_mutex_unlock(&t->lock);
out:
	product_roots_fini(&r);
	cs_x509_set_free(all);
	return err;
}

enum cs_err
cs_snp_trust_new(const char *dir, struct cs_snp_trust **out)
{
	static const enum cs_snp_product all[] = {CS_SNP_MILAN, CS_SNP_GENOA, CS_SNP_TURIN};
	struct cs_snp_trust *t;
	enum cs_err err = CS_OK;
	size_t loaded = 0;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	ENSURE(t != NULL, CS_ERR_NOMEM);
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return CS_ERR_NOMEM;
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && err == CS_OK; i++) {
		const char *name = cs_snp_product_name(all[i]);
		struct cs_buf pem;
		char path[4096], lower[8];
		size_t k;

		if (dir == NULL) {
			const char *b = cs_snp_builtin_roots(all[i]);

			err = cs_snp_trust_set(t, all[i], (const uint8_t *)b, strlen(b));
			loaded += err == CS_OK;
			continue;
		}
		for (k = 0; name[k] != '\0' && k < sizeof(lower) - 1; k++)
			lower[k] = (char)(name[k] | 0x20);
		lower[k] = '\0';
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.pem", dir, lower) >= sizeof(path)) {
			err = CS_ERR_INVAL;
			break;
		}
		cs_buf_init(&pem, ROOTS_FILE_MAX);
		err = cs_file_read(path, &pem);
		if (err == CS_ERR_NOT_FOUND) {
			err = CS_OK; /* that product is simply not trusted */
		} else if (err == CS_OK) {
			err = cs_snp_trust_set(t, all[i], pem.p, pem.len);
			loaded += err == CS_OK;
		}
		cs_buf_fini(&pem);
	}
	if (err == CS_OK && loaded == 0)
		err = CS_ERR_CONFIG; /* a roots directory that trusts nothing is a mistake */
	if (err != CS_OK) {
		cs_snp_trust_free(t);
		return err;
	}
	*out = t;
	return CS_OK;
}

static bool
is_pem(const uint8_t *p, size_t n)
{
	return n >= 10 && memcmp(p, "-----BEGIN", 10) == 0;
}

static enum cs_err
cert_parse(const uint8_t *p, size_t n, struct cs_x509 **out)
{
	return is_pem(p, n) ? cs_x509_from_pem(p, n, out) : cs_x509_from_der(p, n, out);
}

static enum cs_err
ext_spl(const struct cs_x509 *c, const char *oid, uint8_t *v)
{
	const uint8_t *p;
	size_t n;

	TRY(cs_x509_ext(c, oid, &p, &n));
	return cs_snp_ext_spl(p, n, v);
}

static enum cs_err
vek_info(const struct cs_x509 *c, struct cs_snp_vek_info *out)
{
	const uint8_t *p;
	size_t n;
	enum cs_err err;

	memset(out, 0, sizeof(*out));
	/* structVersion and productName are informative; absent in some old certificates. */
	if (cs_x509_ext(c, CS_SNP_OID_STRUCT_VERSION, &p, &n) == CS_OK)
		TRY(cs_snp_ext_u32(p, n, &out->struct_version));
	if (cs_x509_ext(c, CS_SNP_OID_PRODUCT_NAME, &p, &n) == CS_OK)
		TRY(cs_snp_ext_ia5(p, n, out->product_name, sizeof(out->product_name)));
	TRY(ext_spl(c, CS_SNP_OID_BL_SPL, &out->tcb.bootloader));
	TRY(ext_spl(c, CS_SNP_OID_TEE_SPL, &out->tcb.tee));
	TRY(ext_spl(c, CS_SNP_OID_SNP_SPL, &out->tcb.snp));
	TRY(ext_spl(c, CS_SNP_OID_UCODE_SPL, &out->tcb.microcode));
	err = ext_spl(c, CS_SNP_OID_FMC_SPL, &out->tcb.fmc);
	ENSURE(err == CS_OK || err == CS_ERR_NOT_FOUND, err);
	out->has_fmc = err == CS_OK;
	if (cs_x509_ext(c, CS_SNP_OID_HWID, &p, &n) == CS_OK)
		TRY(cs_snp_ext_hwid(p, n, out->hwid, &out->hwid_len));
	if (cs_x509_ext(c, CS_SNP_OID_CSP_ID, &p, &n) == CS_OK)
		TRY(cs_snp_ext_ia5(p, n, out->csp_id, sizeof(out->csp_id)));
	return CS_OK;
}

enum cs_err
cs_snp_vek_info_read(const uint8_t *cert, size_t n, struct cs_snp_vek_info *out)
{
	struct cs_x509 *c = NULL;
	enum cs_err err;

	TRY(cert_parse(cert, n, &c));
	err = vek_info(c, out);
	cs_x509_free(c);
	return err;
}

static bool
cache_find(struct cs_snp_trust *t, const uint8_t fp[32], enum cs_snp_product cpuid,
           enum cs_snp_product fallback, enum cs_snp_signer s, int64_t at,
           const struct vek_entry **out)
{
	bool found = false;

	pthread_mutex_lock(&t->lock);
	t->frozen = true; /* every verification starts here */
	for (size_t i = 0; i < t->n_cache && !found; i++) {
		const struct vek_entry *e = &t->cache[i];

		/* A named VEK fixes its product; an unnamed one took the caller's. */
		bool product_ok = cpuid != CS_SNP_PRODUCT_UNKNOWN
		                          ? e->product == cpuid
		                          : e->named || e->product == fallback;

		if (product_ok && e->signer == s && memcmp(e->fp, fp, 32) == 0 &&
		    at >= e->not_before && at <= e->not_after) {
			*out = e; /* entries are never removed while the trust is shared */
			found = true;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

/* The window in which every certificate of the chain is valid. */
static enum cs_err
chain_window(const struct cs_x509 *const certs[3], int64_t *nb, int64_t *na)
{
	*nb = INT64_MIN;
	*na = INT64_MAX;
	for (size_t i = 0; i < 3; i++) {
		int64_t b, a;

		TRY(cs_x509_validity(certs[i], &b, &a));
		if (b > *nb)
			*nb = b;
		if (a < *na)
			*na = a;
	}
	return CS_OK;
}

/*
 * Verifies the VEK's chain (or finds it in the cache) and returns its entry. The product is
 * settled here: from CPUID when the report has it, else from the VEK's productName, else from
 * the caller; CPUID and productName must agree.
 */
static enum cs_err
vek_check(struct cs_snp_trust *t, const struct cs_snp_report *rep, const uint8_t *vek,
          size_t vek_len, const struct cs_snp_verify_opts *o, struct vek_entry *uncached,
          const struct vek_entry **out)
{
	struct vek_entry e = {0};
	struct cs_x509 *c = NULL;
	const struct product_roots *r;
	enum cs_snp_product from_name;
	enum cs_err err;

	e.signer = cs_snp_report_signer(rep);
	e.product = cs_snp_product_from_cpuid(rep->cpuid_fam_id, rep->cpuid_mod_id);
	TRY(cs_hash(CS_SHA256, vek, vek_len, e.fp));
	if (cache_find(t, e.fp, e.product, o->product, e.signer, o->at, out))
		return CS_OK;

	TRY(cert_parse(vek, vek_len, &c));
	err = vek_info(c, &e.info);
	if (err != CS_OK)
		goto out;
	from_name = cs_snp_product_from_name(e.info.product_name, strlen(e.info.product_name));
	err = CS_ERR_UNSUPPORTED;
	if (e.product == CS_SNP_PRODUCT_UNKNOWN)
		e.product = from_name != CS_SNP_PRODUCT_UNKNOWN ? from_name : o->product;
	if (e.product == CS_SNP_PRODUCT_UNKNOWN)
		goto out;
	err = CS_ERR_CERT;
	if (from_name != CS_SNP_PRODUCT_UNKNOWN && from_name != e.product)
		goto out;
	e.named = from_name != CS_SNP_PRODUCT_UNKNOWN;

	pthread_mutex_lock(&t->lock);
	r = &t->prod[e.product];
	err = CS_ERR_UNSUPPORTED;
	if (r->roots != NULL && (e.signer == CS_SNP_SIGNER_VCEK || r->asvk != NULL)) {
		const struct cs_x509 *chain[3] = {
		        c, e.signer == CS_SNP_SIGNER_VCEK ? r->ask : r->asvk, r->ark};

		err = cs_x509_chain_verify(
		        c, e.signer == CS_SNP_SIGNER_VCEK ? r->ask_set : r->asvk_set, r->roots,
		        t->crls, o->at);
		if (err == CS_OK)
			err = chain_window(chain, &e.not_before, &e.not_after);
	}
	if (err == CS_OK)
		err = cs_x509_pubkey(c, &e.key);
	if (err == CS_OK && cs_key_type(e.key) != CS_KEY_EC_P384)
		err = CS_ERR_KEY;
	if (err == CS_OK) {
		/* Never evict (other threads may hold entries): once full, the caller owns it. */
		if (t->n_cache < VEK_CACHE_MAX) {
			t->cache[t->n_cache] = e;
			*out = &t->cache[t->n_cache++];
		} else {
			*uncached = e;
			*out = uncached;
		}
		e.key = NULL; /* now owned by the cache or by *uncached */
	}
	pthread_mutex_unlock(&t->lock);
out:
	cs_key_free(e.key);
	cs_x509_free(c);
	return err;
}

/* The VCEK's hwID must be the report's CHIP_ID (Turin: 8 bytes, the rest of CHIP_ID zero). */
static bool
hwid_matches(const struct cs_snp_vek_info *v, const struct cs_snp_report *rep)
{
	static const uint8_t zero[CS_SNP_CHIP_ID_LEN];

	if (v->hwid_len == 0)
		return false;
	if (!cs_ct_eq(v->hwid, rep->chip_id, v->hwid_len))
		return false;
	return cs_ct_eq(rep->chip_id + v->hwid_len, zero, CS_SNP_CHIP_ID_LEN - v->hwid_len);
}

static bool
tcb_eq(const struct cs_snp_tcb *a, const struct cs_snp_tcb *b, bool fmc)
{
	return a->bootloader == b->bootloader && a->tee == b->tee && a->snp == b->snp &&
	       a->microcode == b->microcode && (!fmc || a->fmc == b->fmc);
}

static enum cs_err
verify_report(struct cs_snp_trust *t, const uint8_t *report, size_t n, const uint8_t *vek,
              size_t vek_len, const struct cs_snp_verify_opts *o, struct vek_entry *uncached,
              struct cs_snp_verified *out)
{
	const struct vek_entry *e = NULL;
	uint8_t dgst[48], host[32] = {0};
	struct cs_snp_verified v;
	bool turin;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	TRY(cs_snp_report_parse(report, n, &v.report));
	v.signer = cs_snp_report_signer(&v.report);
	ENSURE(v.signer != CS_SNP_SIGNER_NONE, CS_ERR_UNSUPPORTED);
	ENSURE(vek != NULL && vek_len > 0, CS_ERR_COLLATERAL);
	TRY(vek_check(t, &v.report, vek, vek_len, o, uncached, &e));
	v.product = e->product;
	v.vek = e->info;

	/* The signature, over exactly the signed range, with the VEK's P-384 key. */
	TRY(cs_hash(CS_SHA384, report, CS_SNP_SIGNED_LEN, dgst));
	TRY(cs_ecdsa_verify_digest(e->key, dgst, sizeof(dgst), report + CS_SNP_SIG_OFF,
	                           CS_SNP_SIG_LEN, CS_ECDSA_RAW_LE));

	/* The VEK was issued for exactly this TCB (and, for a VCEK, this chip). */
	turin = v.product == CS_SNP_TURIN;
	TRY(cs_snp_tcb_decode(v.report.reported_tcb, v.product, &v.reported_tcb));
	TRY(cs_snp_tcb_decode(v.report.current_tcb, v.product, &v.current_tcb));
	TRY(cs_snp_tcb_decode(v.report.committed_tcb, v.product, &v.committed_tcb));
	TRY(cs_snp_tcb_decode(v.report.launch_tcb, v.product, &v.launch_tcb));
	ENSURE(!turin || e->info.has_fmc, CS_ERR_TCB);
	ENSURE(tcb_eq(&e->info.tcb, &v.reported_tcb, turin), CS_ERR_TCB);
	if (v.signer == CS_SNP_SIGNER_VCEK)
		ENSURE(hwid_matches(&e->info, &v.report), CS_ERR_HWID);

	/* Bindings: the session's report data, and the init-data digest in HOST_DATA. */
	if (o->report_data != NULL)
		ENSURE(cs_ct_eq(o->report_data, v.report.report_data, 64), CS_ERR_BINDING);
	if (o->host_data != NULL) {
		memcpy(host, o->host_data, o->host_data_len < 32 ? o->host_data_len : 32);
		ENSURE(cs_ct_eq(host, v.report.host_data, 32), CS_ERR_BINDING);
	}
	*out = v;
	return CS_OK;
}

enum cs_err
cs_snp_verify(struct cs_snp_trust *t, const uint8_t *report, size_t n, const uint8_t *vek,
              size_t vek_len, const struct cs_snp_verify_opts *o, struct cs_snp_verified *out)
{
	struct vek_entry uncached = {0}; /* used when the cache is full */
	enum cs_err err = verify_report(t, report, n, vek, vek_len, o, &uncached, out);

	cs_key_free(uncached.key);
	return err;
}

static enum cs_err
put_str(json_t *o, const char *k, const char *v)
{
	ENSURE(json_object_set_new(o, k, json_string(v)) == 0, CS_ERR_NOMEM);
	return CS_OK;
}

static enum cs_err
put_uint(json_t *o, const char *k, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return put_str(o, k, s);
}

static enum cs_err
put_bool(json_t *o, const char *k, bool v)
{
	return put_str(o, k, v ? "true" : "false");
}

/* Standard base64 (Trustee's encoding of measurement/report_data/init_data) or lowercase hex. */
static enum cs_err
put_bytes(json_t *o, const char *k, const uint8_t *p, size_t n, bool b64)
{
	struct cs_buf s;
	enum cs_err err;

	cs_buf_init(&s, 4 * n + 8);
	err = b64 ? cs_b64_encode(&s, p, n) : cs_hex_encode(&s, p, n);
	if (err == CS_OK)
		err = put_str(o, k, s.len == 0 ? "" : (const char *)s.p);
	cs_buf_fini(&s);
	return err;
}

static enum cs_err
put_tcb(json_t *o, const char *prefix, const struct cs_snp_tcb *t, bool fmc)
{
	char k[48];

	snprintf(k, sizeof(k), "%s_bootloader", prefix);
	TRY(put_uint(o, k, t->bootloader));
	snprintf(k, sizeof(k), "%s_tee", prefix);
	TRY(put_uint(o, k, t->tee));
	snprintf(k, sizeof(k), "%s_snp", prefix);
	TRY(put_uint(o, k, t->snp));
	snprintf(k, sizeof(k), "%s_microcode", prefix);
	TRY(put_uint(o, k, t->microcode));
	if (fmc) {
		snprintf(k, sizeof(k), "%s_fmc", prefix);
		TRY(put_uint(o, k, t->fmc));
	}
	return CS_OK;
}

static enum cs_err
claims_fill(json_t *c, const struct cs_snp_verified *v)
{
	const struct cs_snp_report *r = &v->report;
	bool turin = v->product == CS_SNP_TURIN;
	char ver[16];

	/* Trustee's names and encodings (deps/verifier/src/snp parse_tee_evidence). */
	TRY(put_uint(c, "policy_abi_major", (r->policy >> 8) & 0xFF));
	TRY(put_uint(c, "policy_abi_minor", r->policy & 0xFF));
	TRY(put_bool(c, "policy_smt_allowed", r->policy & CS_SNP_POLICY_SMT));
	TRY(put_bool(c, "policy_migrate_ma", r->policy & CS_SNP_POLICY_MIGRATE_MA));
	TRY(put_bool(c, "policy_debug_allowed", r->policy & CS_SNP_POLICY_DEBUG));
	TRY(put_bool(c, "policy_single_socket", r->policy & CS_SNP_POLICY_SINGLE_SOCKET));
	TRY(put_tcb(c, "reported_tcb", &v->reported_tcb, turin));
	TRY(put_bool(c, "platform_tsme_enabled", r->platform_info & CS_SNP_PLAT_TSME_EN));
	TRY(put_bool(c, "platform_smt_enabled", r->platform_info & CS_SNP_PLAT_SMT_EN));
	TRY(put_bytes(c, "measurement", r->measurement, sizeof(r->measurement), true));
	TRY(put_bytes(c, "report_data", r->report_data, sizeof(r->report_data), true));
	TRY(put_bytes(c, "init_data", r->host_data, sizeof(r->host_data), true));

	/* custos additions. */
	TRY(put_str(c, "product", cs_snp_product_name(v->product)));
	TRY(put_uint(c, "version", r->version));
	TRY(put_uint(c, "guest_svn", r->guest_svn));
	TRY(put_uint(c, "vmpl", r->vmpl));
	TRY(put_str(c, "signer", v->signer == CS_SNP_SIGNER_VLEK ? "vlek" : "vcek"));
	if (v->vek.csp_id[0] != '\0')
		TRY(put_str(c, "csp_id", v->vek.csp_id));
	TRY(put_bool(c, "policy_cxl_allowed", r->policy & CS_SNP_POLICY_CXL_ALLOW));
	TRY(put_bool(c, "policy_mem_aes_256_xts", r->policy & CS_SNP_POLICY_MEM_AES_256_XTS));
	TRY(put_bool(c, "policy_rapl_dis", r->policy & CS_SNP_POLICY_RAPL_DIS));
	TRY(put_bool(c, "policy_ciphertext_hiding", r->policy & CS_SNP_POLICY_CIPHERTEXT_HIDING));
	TRY(put_bool(c, "policy_page_swap_disable", r->policy & CS_SNP_POLICY_PAGE_SWAP_DISABLE));
	TRY(put_bool(c, "platform_ecc_enabled", r->platform_info & CS_SNP_PLAT_ECC_EN));
	TRY(put_bool(c, "platform_rapl_disabled", r->platform_info & CS_SNP_PLAT_RAPL_DIS));
	TRY(put_bool(c, "platform_ciphertext_hiding_enabled",
	             r->platform_info & CS_SNP_PLAT_CIPHERTEXT_HIDING_EN));
	TRY(put_bool(c, "platform_alias_check_complete",
	             r->platform_info & CS_SNP_PLAT_ALIAS_CHECK_COMPLETE));
	TRY(put_tcb(c, "current_tcb", &v->current_tcb, turin));
	TRY(put_tcb(c, "committed_tcb", &v->committed_tcb, turin));
	TRY(put_tcb(c, "launch_tcb", &v->launch_tcb, turin));
	snprintf(ver, sizeof(ver), "%u.%u.%u", r->current_major, r->current_minor,
	         r->current_build);
	TRY(put_str(c, "firmware_version", ver));
	TRY(put_bytes(c, "host_data", r->host_data, sizeof(r->host_data), false));
	TRY(put_bytes(c, "family_id", r->family_id, sizeof(r->family_id), false));
	TRY(put_bytes(c, "image_id", r->image_id, sizeof(r->image_id), false));
	TRY(put_bytes(c, "id_key_digest", r->id_key_digest, sizeof(r->id_key_digest), false));
	TRY(put_bytes(c, "author_key_digest", r->author_key_digest, sizeof(r->author_key_digest),
	              false));
	TRY(put_bytes(c, "report_id", r->report_id, sizeof(r->report_id), false));
	TRY(put_bytes(c, "chip_id", r->chip_id, sizeof(r->chip_id), false));
	TRY(put_bytes(c, "measurement_hex", r->measurement, sizeof(r->measurement), false));
	TRY(put_bytes(c, "report_data_hex", r->report_data, sizeof(r->report_data), false));
	return CS_OK;
}

enum cs_err
cs_snp_claims(const struct cs_snp_verified *v, json_t **out)
{
	json_t *c = json_object();
	enum cs_err err;

	ENSURE(c != NULL, CS_ERR_NOMEM);
	err = claims_fill(c, v);
	if (err != CS_OK) {
		json_decref(c);
		return err;
	}
	*out = c;
	return CS_OK;
}

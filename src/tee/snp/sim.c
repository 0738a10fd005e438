/*
 * sim-snp (see sim.h). Certificate issuance uses OpenSSL directly: crypto/x509.h parses and
 * verifies certificates but has no issuing API, and only the simulator needs one.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/b64.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/secret.h"
#include "crypto/key.h"
#include "crypto/rand.h"
#include "crypto/sig.h"
#include "tee/snp/collateral.h"
#include "tee/snp/sim.h"

#define SIM_FILE_MAX (64 * 1024)

struct cs_snp_sim {
	struct cs_snp_sim_params p;
	struct cs_key *ark_key;  /* owned; NULL after cs_snp_sim_load */
	X509 *ark;               /* owned; NULL after cs_snp_sim_load */
	struct cs_key *ask_key;  /* owned; NULL after cs_snp_sim_load */
	X509 *ask;               /* owned; NULL after cs_snp_sim_load */
	struct cs_key *vcek_key; /* owned, private */
	struct cs_buf roots_pem; /* ASK, ARK */
	struct cs_buf vcek_der;
};

void
cs_snp_sim_free(struct cs_snp_sim *s)
{
	if (s == NULL)
		return;
	cs_key_free(s->ark_key);
	X509_free(s->ark);
	cs_key_free(s->ask_key);
	X509_free(s->ask);
	cs_key_free(s->vcek_key);
	cs_buf_fini(&s->roots_pem);
	cs_buf_fini(&s->vcek_der);
	free(s);
}

static struct cs_snp_sim *
sim_alloc(void)
{
	struct cs_snp_sim *s = calloc(1, sizeof(*s));

	if (s != NULL) {
		cs_buf_init(&s->roots_pem, SIM_FILE_MAX);
		cs_buf_init(&s->vcek_der, SIM_FILE_MAX);
	}
	return s;
}

/* AMD's distinguished name with the given CN (go-sev-guest validateAmdLocation). */
static X509_NAME *
amd_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	const char *kv[][2] = {
	        {"OU", "Engineering"},           {"C", "US"}, {"L", "Santa Clara"}, {"ST", "CA"},
	        {"O", "Advanced Micro Devices"}, {"CN", cn}};

	for (size_t i = 0; n != NULL && i < sizeof(kv) / sizeof(kv[0]); i++)
		if (!X509_NAME_add_entry_by_txt(n, kv[i][0], MBSTRING_ASC,
		                                (const unsigned char *)kv[i][1], -1, -1, 0)) {
			X509_NAME_free(n);
			n = NULL;
		}
	return n;
}

/* Adds a non-critical extension whose extnValue is the DER der. */
static int
add_raw_ext(X509 *x, const char *oid, const uint8_t *der, size_t n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	if (obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, der, (int)n))
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	if (ext != NULL)
		ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok;
}

static int
add_int_ext(X509 *x, const char *oid, uint8_t v)
{
	uint8_t der[4] = {0x02, 0x01, v};

	if (v >= 0x80) {
		der[1] = 0x02;
		der[2] = 0x00;
		der[3] = v;
		return add_raw_ext(x, oid, der, 4);
	}
	return add_raw_ext(x, oid, der, 3);
}

static int
add_ia5_ext(X509 *x, const char *oid, const char *s)
{
	uint8_t der[64];
	size_t n = strlen(s);

	if (n > sizeof(der) - 2)
		return 0;
	der[0] = 0x16;
	der[1] = (uint8_t)n;
	memcpy(der + 2, s, n);
	return add_raw_ext(x, oid, der, n + 2);
}

static int
add_v3_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* Signs x with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48, as AMD signs ARK, ASK and VCEK. */
static int
sign_pss(X509 *x, EVP_PKEY *key)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;

	if (mctx != NULL && EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), NULL, key) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0)
		ok = X509_sign_ctx(x, mctx) > 0;
	EVP_MD_CTX_free(mctx);
	return ok;
}

/* A certificate for subject key subj under issuer (NULL: self-signed), unsigned. */
static X509 *
cert_new(const char *cn, EVP_PKEY *subj, X509 *issuer, const struct cs_snp_sim_params *p)
{
	X509 *x = X509_new();
	X509_NAME *name = amd_name(cn);
	uint8_t serial[8];
	BIGNUM *bn = NULL;
	int ok = x != NULL && name != NULL && X509_set_version(x, 2);

	if (ok && cs_random(serial, sizeof(serial)) == CS_OK) {
		serial[0] &= 0x7F;
		bn = BN_bin2bn(serial, sizeof(serial), NULL);
		ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	} else {
		ok = 0;
	}
	ok = ok && X509_set_subject_name(x, name) &&
	     X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) &&
	     ASN1_TIME_set(X509_getm_notBefore(x), (time_t)p->not_before) != NULL &&
	     ASN1_TIME_set(X509_getm_notAfter(x), (time_t)p->not_after) != NULL &&
	     X509_set_pubkey(x, subj);
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static X509 *
ca_new(const char *cn, EVP_PKEY *subj, X509 *issuer, EVP_PKEY *issuer_key,
       const struct cs_snp_sim_params *p)
{
	X509 *x = cert_new(cn, subj, issuer, p);

	if (x == NULL)
		return NULL;
	if (!add_v3_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
	                "critical,CA:TRUE") ||
	    !add_v3_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
	                "critical,keyCertSign,cRLSign") ||
	    !add_v3_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier, "hash") ||
	    !sign_pss(x, issuer_key)) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static enum cs_err
pem_append(X509 *x, struct cs_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	enum cs_err err = CS_ERR_CRYPTO;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
		n = BIO_get_mem_data(b, &p);
		err = n > 0 ? cs_buf_append(out, p, (size_t)n) : CS_ERR_CRYPTO;
	}
	BIO_free(b);
	return err;
}

static enum cs_err
der_append(X509 *x, struct cs_buf *out)
{
	uint8_t *dst;
	int n = i2d_X509(x, NULL);

	ENSURE(n > 0, CS_ERR_CRYPTO);
	TRY(cs_buf_extend(out, (size_t)n, &dst));
	ENSURE(i2d_X509(x, &dst) == n, CS_ERR_CRYPTO);
	return CS_OK;
}

static enum cs_err
vcek_issue(const struct cs_snp_sim *s, const struct cs_snp_tcb *tcb, const uint8_t *hwid,
           size_t hwid_len, struct cs_buf *out)
{
	const struct cs_snp_sim_params *p = &s->p;
	bool turin = p->product == CS_SNP_TURIN;
	uint8_t hw[2 + CS_SNP_CHIP_ID_LEN];
	X509 *x;
	enum cs_err err = CS_ERR_CRYPTO;
	char name[16];

	ENSURE(s->ask != NULL && s->ask_key != NULL, CS_ERR_STATE);
	ENSURE(hwid_len == CS_SNP_CHIP_ID_LEN || hwid_len == CS_SNP_TURIN_CHIP_ID_LEN,
	       CS_ERR_INVAL);
	x = cert_new("SEV-VCEK", cs_key_evp(s->vcek_key), s->ask, p);
	ENSURE(x != NULL, CS_ERR_CRYPTO);
	snprintf(name, sizeof(name), "%s%s", cs_snp_product_name(p->product),
	         p->product == CS_SNP_MILAN ? "-B0" : "");
	hw[0] = 0x04;
	hw[1] = (uint8_t)hwid_len;
	memcpy(hw + 2, hwid, hwid_len);
	if (add_int_ext(x, CS_SNP_OID_STRUCT_VERSION, turin ? 1 : 0) &&
	    add_ia5_ext(x, CS_SNP_OID_PRODUCT_NAME, name) &&
	    add_int_ext(x, CS_SNP_OID_BL_SPL, tcb->bootloader) &&
	    add_int_ext(x, CS_SNP_OID_TEE_SPL, tcb->tee) &&
	    add_int_ext(x, CS_SNP_OID_SNP_SPL, tcb->snp) &&
	    add_int_ext(x, CS_SNP_OID_UCODE_SPL, tcb->microcode) &&
	    (!turin || add_int_ext(x, CS_SNP_OID_FMC_SPL, tcb->fmc)) &&
	    add_raw_ext(x, CS_SNP_OID_HWID, hw, 2 + hwid_len) &&
	    sign_pss(x, cs_key_evp(s->ask_key)))
		err = der_append(x, out);
	X509_free(x);
	return err;
}

enum cs_err
cs_snp_sim_issue_vcek(const struct cs_snp_sim *s, const struct cs_snp_tcb *tcb, const uint8_t *hwid,
                      size_t hwid_len, struct cs_buf *out)
{
	return vcek_issue(s, tcb, hwid, hwid_len, out);
}

enum cs_err
cs_snp_sim_new(const struct cs_snp_sim_params *p, struct cs_snp_sim **out)
{
	struct cs_snp_sim *s;
	char cn[32];
	enum cs_err err = CS_ERR_CRYPTO;
	unsigned bits = p->rsa_bits != 0 ? p->rsa_bits : 2048;

	*out = NULL;
	ENSURE(p->product > CS_SNP_PRODUCT_UNKNOWN && p->product < CS_SNP_PRODUCT_COUNT,
	       CS_ERR_INVAL);
	s = sim_alloc();
	ENSURE(s != NULL, CS_ERR_NOMEM);
	s->p = *p;
	if ((err = cs_key_generate(CS_KEY_RSA, bits, &s->ark_key)) != CS_OK ||
	    (err = cs_key_generate(CS_KEY_RSA, bits, &s->ask_key)) != CS_OK ||
	    (err = cs_key_generate(CS_KEY_EC_P384, 0, &s->vcek_key)) != CS_OK)
		goto out;
	err = CS_ERR_CRYPTO;
	snprintf(cn, sizeof(cn), "ARK-%s", cs_snp_product_name(p->product));
	s->ark = ca_new(cn, cs_key_evp(s->ark_key), NULL, cs_key_evp(s->ark_key), p);
	if (s->ark == NULL)
		goto out;
	snprintf(cn, sizeof(cn), "SEV-%s", cs_snp_product_name(p->product));
	s->ask = ca_new(cn, cs_key_evp(s->ask_key), s->ark, cs_key_evp(s->ark_key), p);
	if (s->ask == NULL)
		goto out;
	if ((err = pem_append(s->ask, &s->roots_pem)) != CS_OK ||
	    (err = pem_append(s->ark, &s->roots_pem)) != CS_OK)
		goto out;
	err = vcek_issue(s, &p->tcb, p->chip_id,
	                 p->product == CS_SNP_TURIN ? CS_SNP_TURIN_CHIP_ID_LEN : CS_SNP_CHIP_ID_LEN,
	                 &s->vcek_der);
out:
	if (err != CS_OK) {
		cs_snp_sim_free(s);
		return err;
	}
	*out = s;
	return CS_OK;
}

enum cs_err
cs_snp_sim_crl(const struct cs_snp_sim *s, bool revoke_ask, int64_t this_update,
               int64_t next_update, struct cs_buf *out)
{
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *rev = NULL;
	ASN1_TIME *t = ASN1_TIME_new();
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	enum cs_err err = CS_ERR_CRYPTO;
	uint8_t *dst;
	int n, ok;

	ENSURE(s->ark != NULL && s->ark_key != NULL, CS_ERR_STATE);
	ok = crl != NULL && t != NULL && mctx != NULL && X509_CRL_set_version(crl, 1) &&
	     X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->ark)) &&
	     ASN1_TIME_set(t, (time_t)this_update) != NULL && X509_CRL_set1_lastUpdate(crl, t) &&
	     ASN1_TIME_set(t, (time_t)next_update) != NULL && X509_CRL_set1_nextUpdate(crl, t);
	if (ok && revoke_ask) {
		rev = X509_REVOKED_new();
		ok = rev != NULL &&
		     X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(s->ask)) &&
		     ASN1_TIME_set(t, (time_t)this_update) != NULL &&
		     X509_REVOKED_set_revocationDate(rev, t) && X509_CRL_add0_revoked(crl, rev);
		if (ok)
			rev = NULL; /* owned by the CRL */
	}
	/* Signed as AMD signs its CRL: RSASSA-PSS, SHA-384, salt 48, by the ARK. */
	ok = ok && X509_CRL_sort(crl) &&
	     EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), NULL, cs_key_evp(s->ark_key)) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 &&
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0 &&
	     X509_CRL_sign_ctx(crl, mctx) > 0;
	if (ok && (n = i2d_X509_CRL(crl, NULL)) > 0 &&
	    cs_buf_extend(out, (size_t)n, &dst) == CS_OK && i2d_X509_CRL(crl, &dst) == n)
		err = CS_OK;
	X509_REVOKED_free(rev);
	EVP_MD_CTX_free(mctx);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return err;
}

enum cs_err
cs_snp_sim_roots_pem(const struct cs_snp_sim *s, struct cs_buf *out)
{
	return cs_buf_append(out, s->roots_pem.p, s->roots_pem.len);
}

enum cs_err
cs_snp_sim_vcek_der(const struct cs_snp_sim *s, struct cs_buf *out)
{
	return cs_buf_append(out, s->vcek_der.p, s->vcek_der.len);
}

void
cs_snp_sim_template(const struct cs_snp_sim *s, unsigned version, struct cs_snp_report *r)
{
	uint64_t tcb = cs_snp_tcb_encode(&s->p.tcb, s->p.product);

	memset(r, 0, sizeof(*r));
	r->version = version;
	r->policy = CS_SNP_POLICY_SMT | CS_SNP_POLICY_RESERVED_ONE;
	r->sig_algo = 1;
	r->current_tcb = r->reported_tcb = r->committed_tcb = r->launch_tcb = tcb;
	r->platform_info = CS_SNP_PLAT_SMT_EN | CS_SNP_PLAT_ECC_EN;
	switch (s->p.product) {
	case CS_SNP_MILAN:
		r->cpuid_fam_id = 0x19, r->cpuid_mod_id = 0x01, r->cpuid_step = 0x01;
		break;
	case CS_SNP_GENOA:
		r->cpuid_fam_id = 0x19, r->cpuid_mod_id = 0x11, r->cpuid_step = 0x01;
		break;
	case CS_SNP_TURIN:
		r->cpuid_fam_id = 0x1A, r->cpuid_mod_id = 0x02, r->cpuid_step = 0x01;
		break;
	case CS_SNP_PRODUCT_UNKNOWN:
		break;
	}
	memcpy(r->chip_id, s->p.chip_id, CS_SNP_CHIP_ID_LEN);
	r->current_major = r->committed_major = 1;
	r->current_minor = r->committed_minor = 55;
	memset(r->report_id_ma, 0xFF, sizeof(r->report_id_ma));
	if (cs_random(r->report_id, sizeof(r->report_id)) != CS_OK)
		memset(r->report_id, 0, sizeof(r->report_id));
}

enum cs_err
cs_snp_sim_sign(const struct cs_snp_sim *s, const struct cs_snp_report *r,
                uint8_t out[CS_SNP_REPORT_LEN])
{
	struct cs_snp_report tmp = *r;
	struct cs_buf sig;
	enum cs_err err;

	memset(tmp.sig_r, 0, sizeof(tmp.sig_r));
	memset(tmp.sig_s, 0, sizeof(tmp.sig_s));
	cs_snp_report_write(&tmp, out);
	cs_buf_init(&sig, 256);
	err = cs_ecdsa_sign(s->vcek_key, CS_SHA384, out, CS_SNP_SIGNED_LEN, &sig);
	if (err == CS_OK && sig.len != 2 * CS_SNP_ECDSA_P384_LEN)
		err = CS_ERR_CRYPTO;
	if (err == CS_OK) {
		/* Big-endian r||s -> little-endian 72-byte fields. */
		for (size_t i = 0; i < CS_SNP_ECDSA_P384_LEN; i++) {
			out[CS_SNP_SIG_OFF + i] = sig.p[CS_SNP_ECDSA_P384_LEN - 1 - i];
			out[CS_SNP_SIG_OFF + CS_SNP_SIG_COMPONENT_LEN + i] =
			        sig.p[2 * CS_SNP_ECDSA_P384_LEN - 1 - i];
		}
	}
	cs_buf_fini(&sig);
	return err;
}

/* ---- state directory ---- */

static enum cs_err
write_file(const char *dir, const char *name, const void *p, size_t n, mode_t mode)
{
	char path[4096];
	int fd;
	ssize_t w;

	ENSURE((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path),
	       CS_ERR_INVAL);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	ENSURE(fd >= 0, CS_ERR_IO);
	/* An existing file keeps its mode through O_TRUNC: set it, before the key is written. */
	if (fchmod(fd, mode) != 0) {
		close(fd);
		return CS_ERR_IO;
	}
	w = write(fd, p, n);
	if (close(fd) != 0 || w < 0 || (size_t)w != n)
		return CS_ERR_IO;
	return CS_OK;
}

static enum cs_err
read_file(const char *dir, const char *name, struct cs_buf *out)
{
	char path[4096];

	ENSURE((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path),
	       CS_ERR_INVAL);
	return cs_file_read(path, out);
}

/* "<product>.pem" in lower case: the roots file name cs_snp_trust_new looks for. */
static void
roots_name(enum cs_snp_product p, char dst[16])
{
	const char *s = cs_snp_product_name(p);
	size_t i;

	for (i = 0; s[i] != '\0' && i < 10; i++)
		dst[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] | 0x20 : s[i]);
	memcpy(dst + i, ".pem", 5);
}

enum cs_err
cs_snp_sim_save(const struct cs_snp_sim *s, const char *dir)
{
	struct cs_buf key, hex;
	json_t *chip = NULL;
	char *text = NULL, name[16];
	enum cs_err err;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return CS_ERR_IO;
	cs_buf_init(&key, SIM_FILE_MAX);
	cs_buf_init(&hex, 256);
	roots_name(s->p.product, name);
	err = write_file(dir, name, s->roots_pem.p, s->roots_pem.len, 0644);
	if (err == CS_OK)
		err = write_file(dir, "vcek.der", s->vcek_der.p, s->vcek_der.len, 0644);
	if (err == CS_OK)
		err = cs_key_to_pem(s->vcek_key, true, &key);
	if (err == CS_OK)
		err = write_file(dir, "vcek.key", key.p, key.len, 0600);
	if (err == CS_OK)
		err = cs_hex_encode(&hex, s->p.chip_id, CS_SNP_CHIP_ID_LEN);
	if (err == CS_OK) {
		chip = json_pack("{s:s,s:s,s:{s:i,s:i,s:i,s:i,s:i}}", "product",
		                 cs_snp_product_name(s->p.product), "chip_id", (const char *)hex.p,
		                 "tcb", "fmc", s->p.tcb.fmc, "bootloader", s->p.tcb.bootloader,
		                 "tee", s->p.tcb.tee, "snp", s->p.tcb.snp, "microcode",
		                 s->p.tcb.microcode);
		text = chip != NULL ? json_dumps(chip, JSON_SORT_KEYS) : NULL;
		err = text != NULL ? write_file(dir, "chip.json", text, strlen(text), 0644)
		                   : CS_ERR_NOMEM;
	}
	free(text);
	json_decref(chip);
	cs_buf_fini(&key);
	cs_buf_fini(&hex);
	return err;
}

static enum cs_err
tcb_field(const json_t *t, const char *k, uint8_t *v)
{
	const json_t *j = json_object_get(t, k);

	ENSURE(json_is_integer(j) && json_integer_value(j) >= 0 && json_integer_value(j) <= 255,
	       CS_ERR_JSON_FIELD);
	*v = (uint8_t)json_integer_value(j);
	return CS_OK;
}

static enum cs_err
chip_parse(const uint8_t *p, size_t n, struct cs_snp_sim_params *out)
{
	json_t *j, *t;
	const char *prod, *hex;
	enum cs_err err = CS_ERR_JSON_FIELD;

	TRY(cs_json_parse(p, n, n, &j));
	prod = json_string_value(json_object_get(j, "product"));
	hex = json_string_value(json_object_get(j, "chip_id"));
	t = json_object_get(j, "tcb");
	if (prod != NULL && hex != NULL && json_is_object(t)) {
		out->product = cs_snp_product_from_name(prod, strlen(prod));
		err = out->product == CS_SNP_PRODUCT_UNKNOWN
		              ? CS_ERR_UNSUPPORTED
		              : cs_hex_decode_fixed(out->chip_id, CS_SNP_CHIP_ID_LEN, hex,
		                                    strlen(hex));
		if (err == CS_OK && (err = tcb_field(t, "fmc", &out->tcb.fmc)) == CS_OK &&
		    (err = tcb_field(t, "bootloader", &out->tcb.bootloader)) == CS_OK &&
		    (err = tcb_field(t, "tee", &out->tcb.tee)) == CS_OK &&
		    (err = tcb_field(t, "snp", &out->tcb.snp)) == CS_OK)
			err = tcb_field(t, "microcode", &out->tcb.microcode);
	}
	json_decref(j);
	return err;
}

enum cs_err
cs_snp_sim_load(const char *dir, struct cs_snp_sim **out)
{
	struct cs_snp_sim *s = sim_alloc();
	struct cs_buf chip, key;
	char name[16];
	enum cs_err err;

	*out = NULL;
	ENSURE(s != NULL, CS_ERR_NOMEM);
	cs_buf_init(&chip, SIM_FILE_MAX);
	cs_buf_init(&key, SIM_FILE_MAX);
	err = read_file(dir, "chip.json", &chip);
	if (err == CS_OK)
		err = chip_parse(chip.p, chip.len, &s->p);
	if (err == CS_OK) {
		roots_name(s->p.product, name);
		err = read_file(dir, name, &s->roots_pem);
	}
	if (err == CS_OK)
		err = read_file(dir, "vcek.der", &s->vcek_der);
	if (err == CS_OK)
		err = read_file(dir, "vcek.key", &key);
	if (err == CS_OK)
		err = cs_key_from_pem(key.p, key.len, &s->vcek_key);
	if (err == CS_OK &&
	    (cs_key_type(s->vcek_key) != CS_KEY_EC_P384 || !cs_key_has_private(s->vcek_key)))
		err = CS_ERR_KEY;
	cs_buf_fini(&chip);
	cs_buf_fini(&key);
	if (err != CS_OK) {
		cs_snp_sim_free(s);
		return err;
	}
	*out = s;
	return CS_OK;
}

/*
 * Trustee `snp` evidence JSON <-> raw ATTESTATION_REPORT (see evidence.h). Field order and
 * offsets are the report layout of format.c; the JSON member names are virtee/sev's.
 */
#include <string.h>

#include "tee/snp/evidence.h"

#define VEK_MAX (16 * 1024)

/* ---- JSON -> bytes ---- */

static enum cs_err
get_uint(const json_t *o, const char *k, uint64_t max, uint64_t *v)
{
	const json_t *j = json_object_get(o, k);

	ENSURE(json_is_integer(j), CS_ERR_JSON_FIELD);
	ENSURE(json_integer_value(j) >= 0 && (uint64_t)json_integer_value(j) <= max,
	       CS_ERR_JSON_FIELD);
	*v = (uint64_t)json_integer_value(j);
	return CS_OK;
}

static enum cs_err
get_bytes(const json_t *o, const char *k, uint8_t *dst, size_t n)
{
	const json_t *a = json_object_get(o, k);

	ENSURE(json_is_array(a) && json_array_size(a) == n, CS_ERR_JSON_FIELD);
	for (size_t i = 0; i < n; i++) {
		const json_t *b = json_array_get(a, i);

		ENSURE(json_is_integer(b), CS_ERR_JSON_FIELD);
		ENSURE(json_integer_value(b) >= 0 && json_integer_value(b) <= 255,
		       CS_ERR_JSON_FIELD);
		dst[i] = (uint8_t)json_integer_value(b);
	}
	return CS_OK;
}

static void
put_le(uint8_t *dst, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
}

static enum cs_err
copy_uint(const json_t *o, const char *k, uint8_t *dst, size_t n)
{
	uint64_t v;

	TRY(get_uint(o, k, n >= 8 ? UINT64_MAX : (1ULL << (8 * n)) - 1, &v));
	put_le(dst, v, n);
	return CS_OK;
}

/* {fmc: null | n, bootloader, tee, snp, microcode}; a non-null fmc means Turin's layout. */
static enum cs_err
copy_tcb(const json_t *o, const char *k, uint8_t dst[8])
{
	const json_t *t = json_object_get(o, k), *fmc;
	struct cs_snp_tcb tcb = {0};
	enum cs_snp_product layout = CS_SNP_MILAN;
	uint64_t v;

	ENSURE(json_is_object(t), CS_ERR_JSON_FIELD);
	fmc = json_object_get(t, "fmc");
	if (fmc != NULL && !json_is_null(fmc)) {
		TRY(get_uint(t, "fmc", 255, &v));
		tcb.fmc = (uint8_t)v;
		layout = CS_SNP_TURIN;
	}
	TRY(get_uint(t, "bootloader", 255, &v));
	tcb.bootloader = (uint8_t)v;
	TRY(get_uint(t, "tee", 255, &v));
	tcb.tee = (uint8_t)v;
	TRY(get_uint(t, "snp", 255, &v));
	tcb.snp = (uint8_t)v;
	TRY(get_uint(t, "microcode", 255, &v));
	tcb.microcode = (uint8_t)v;
	put_le(dst, cs_snp_tcb_encode(&tcb, layout), 8);
	return CS_OK;
}

/* {major, minor, build} -> build, minor, major bytes. */
static enum cs_err
copy_version(const json_t *o, const char *k, uint8_t dst[3])
{
	const json_t *t = json_object_get(o, k);

	ENSURE(json_is_object(t), CS_ERR_JSON_FIELD);
	TRY(copy_uint(t, "build", dst + 0, 1));
	TRY(copy_uint(t, "minor", dst + 1, 1));
	return copy_uint(t, "major", dst + 2, 1);
}

/* A member that may be absent or null (fields newer than some serializers): zero then. */
static enum cs_err
copy_uint_opt(const json_t *o, const char *k, uint8_t *dst, size_t n)
{
	const json_t *j = json_object_get(o, k);

	if (j == NULL || json_is_null(j))
		return CS_OK;
	return copy_uint(o, k, dst, n);
}

static enum cs_err
report_from_json(const json_t *r, uint8_t *b)
{
	const json_t *sig;

	ENSURE(json_is_object(r), CS_ERR_JSON_FIELD);
	memset(b, 0, CS_SNP_REPORT_LEN);
	TRY(copy_uint(r, "version", b + 0x000, 4));
	TRY(copy_uint(r, "guest_svn", b + 0x004, 4));
	TRY(copy_uint(r, "policy", b + 0x008, 8));
	TRY(get_bytes(r, "family_id", b + 0x010, 16));
	TRY(get_bytes(r, "image_id", b + 0x020, 16));
	TRY(copy_uint(r, "vmpl", b + 0x030, 4));
	TRY(copy_uint(r, "sig_algo", b + 0x034, 4));
	TRY(copy_tcb(r, "current_tcb", b + 0x038));
	TRY(copy_uint(r, "plat_info", b + 0x040, 8));
	TRY(copy_uint(r, "key_info", b + 0x048, 4));
	TRY(get_bytes(r, "report_data", b + 0x050, 64));
	TRY(get_bytes(r, "measurement", b + 0x090, 48));
	TRY(get_bytes(r, "host_data", b + 0x0C0, 32));
	TRY(get_bytes(r, "id_key_digest", b + 0x0E0, 48));
	TRY(get_bytes(r, "author_key_digest", b + 0x110, 48));
	TRY(get_bytes(r, "report_id", b + 0x140, 32));
	TRY(get_bytes(r, "report_id_ma", b + 0x160, 32));
	TRY(copy_tcb(r, "reported_tcb", b + 0x180));
	TRY(copy_uint_opt(r, "cpuid_fam_id", b + 0x188, 1));
	TRY(copy_uint_opt(r, "cpuid_mod_id", b + 0x189, 1));
	TRY(copy_uint_opt(r, "cpuid_step", b + 0x18A, 1));
	TRY(get_bytes(r, "chip_id", b + 0x1A0, 64));
	TRY(copy_tcb(r, "committed_tcb", b + 0x1E0));
	TRY(copy_version(r, "current", b + 0x1E8));
	TRY(copy_version(r, "committed", b + 0x1EC));
	TRY(copy_tcb(r, "launch_tcb", b + 0x1F0));
	TRY(copy_uint_opt(r, "launch_mit_vector", b + 0x1F8, 8));
	TRY(copy_uint_opt(r, "current_mit_vector", b + 0x200, 8));
	sig = json_object_get(r, "signature");
	ENSURE(json_is_object(sig), CS_ERR_JSON_FIELD);
	TRY(get_bytes(sig, "r", b + 0x2A0, 72));
	return get_bytes(sig, "s", b + 0x2E8, 72);
}

enum cs_err
cs_snp_evidence_parse(const json_t *ev, uint8_t report[CS_SNP_REPORT_LEN], struct cs_buf *vek)
{
	const json_t *chain;
	size_t found = 0;

	ENSURE(json_is_object(ev), CS_ERR_JSON_FIELD);
	TRY(report_from_json(json_object_get(ev, "attestation_report"), report));
	chain = json_object_get(ev, "cert_chain");
	if (chain == NULL || json_is_null(chain))
		return CS_OK;
	ENSURE(json_is_array(chain), CS_ERR_JSON_FIELD);
	for (size_t i = 0; i < json_array_size(chain); i++) {
		const json_t *e = json_array_get(chain, i), *type, *data;
		uint8_t *dst;

		ENSURE(json_is_object(e), CS_ERR_JSON_FIELD);
		type = json_object_get(e, "cert_type");
		data = json_object_get(e, "data");
		if (!json_is_string(type) || (strcmp(json_string_value(type), "VCEK") != 0 &&
		                              strcmp(json_string_value(type), "VLEK") != 0))
			continue; /* ASK/ARK/CRL from the host are never trusted; roots are pinned
			           */
		ENSURE(found++ == 0, CS_ERR_INVAL);
		ENSURE(json_is_array(data) && json_array_size(data) > 0 &&
		               json_array_size(data) <= VEK_MAX,
		       CS_ERR_JSON_FIELD);
		TRY(cs_buf_extend(vek, json_array_size(data), &dst));
		TRY(get_bytes(e, "data", dst, json_array_size(data)));
	}
	return CS_OK;
}

/* ---- bytes -> JSON ---- */

static json_t *
bytes_json(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_integer(p[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
tcb_json(uint64_t raw, enum cs_snp_product p)
{
	struct cs_snp_tcb t;

	if (cs_snp_tcb_decode(raw, p, &t) != CS_OK)
		return NULL;
	return json_pack("{s:o,s:i,s:i,s:i,s:i}", "fmc",
	                 p == CS_SNP_TURIN ? json_integer(t.fmc) : json_null(), "bootloader",
	                 t.bootloader, "tee", t.tee, "snp", t.snp, "microcode", t.microcode);
}

/* json_object_set_new that records failure (a NULL value included) in *ok. */
static void
set(json_t *o, const char *k, json_t *v, int *ok)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*ok = 0;
}

enum cs_err
cs_snp_evidence_build(const uint8_t *report, size_t n, const uint8_t *vek, size_t vek_len,
                      json_t **out)
{
	struct cs_snp_report r;
	enum cs_snp_product p;
	json_t *o, *ev, *chain;
	int ok = 1;

	TRY(cs_snp_report_parse(report, n, &r));
	/* The TCB layout follows the CPU; v2 reports come from Milan/Genoa-layout parts. */
	p = cs_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
	if (p == CS_SNP_PRODUCT_UNKNOWN)
		p = CS_SNP_MILAN;
	o = json_object();
	ev = json_object();
	if (o == NULL || ev == NULL) {
		json_decref(o);
		json_decref(ev);
		return CS_ERR_NOMEM;
	}
	set(o, "version", json_integer(r.version), &ok);
	set(o, "guest_svn", json_integer(r.guest_svn), &ok);
	set(o, "policy", json_integer((json_int_t)r.policy), &ok);
	set(o, "family_id", bytes_json(r.family_id, 16), &ok);
	set(o, "image_id", bytes_json(r.image_id, 16), &ok);
	set(o, "vmpl", json_integer(r.vmpl), &ok);
	set(o, "sig_algo", json_integer(r.sig_algo), &ok);
	set(o, "current_tcb", tcb_json(r.current_tcb, p), &ok);
	set(o, "plat_info", json_integer((json_int_t)r.platform_info), &ok);
	set(o, "key_info", json_integer(r.signer_info), &ok);
	set(o, "report_data", bytes_json(r.report_data, 64), &ok);
	set(o, "measurement", bytes_json(r.measurement, 48), &ok);
	set(o, "host_data", bytes_json(r.host_data, 32), &ok);
	set(o, "id_key_digest", bytes_json(r.id_key_digest, 48), &ok);
	set(o, "author_key_digest", bytes_json(r.author_key_digest, 48), &ok);
	set(o, "report_id", bytes_json(r.report_id, 32), &ok);
	set(o, "report_id_ma", bytes_json(r.report_id_ma, 32), &ok);
	set(o, "reported_tcb", tcb_json(r.reported_tcb, p), &ok);
	set(o, "cpuid_fam_id", json_integer(r.cpuid_fam_id), &ok);
	set(o, "cpuid_mod_id", json_integer(r.cpuid_mod_id), &ok);
	set(o, "cpuid_step", json_integer(r.cpuid_step), &ok);
	set(o, "chip_id", bytes_json(r.chip_id, 64), &ok);
	set(o, "committed_tcb", tcb_json(r.committed_tcb, p), &ok);
	set(o, "current",
	    json_pack("{s:i,s:i,s:i}", "major", r.current_major, "minor", r.current_minor, "build",
	              r.current_build),
	    &ok);
	set(o, "committed",
	    json_pack("{s:i,s:i,s:i}", "major", r.committed_major, "minor", r.committed_minor,
	              "build", r.committed_build),
	    &ok);
	set(o, "launch_tcb", tcb_json(r.launch_tcb, p), &ok);
	if (r.version >= 5) {
		set(o, "launch_mit_vector", json_integer((json_int_t)r.launch_mit_vector), &ok);
		set(o, "current_mit_vector", json_integer((json_int_t)r.current_mit_vector), &ok);
	}
	set(o, "signature",
	    json_pack("{s:o,s:o}", "r", bytes_json(r.sig_r, 72), "s", bytes_json(r.sig_s, 72)),
	    &ok);
	set(ev, "attestation_report", o, &ok);
	if (vek == NULL || vek_len == 0) {
		chain = json_null();
	} else {
		const char *type = cs_snp_report_signer(&r) == CS_SNP_SIGNER_VLEK ? "VLEK" : "VCEK";

		chain = json_pack("[{s:s,s:o}]", "cert_type", type, "data",
		                  bytes_json(vek, vek_len));
	}
	set(ev, "cert_chain", chain, &ok);
	if (!ok) {
		json_decref(ev);
		return CS_ERR_NOMEM;
	}
	*out = ev;
	return CS_OK;
}

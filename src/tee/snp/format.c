/*
 * SEV-SNP Firmware ABI rev 1.57, Table 23: ATTESTATION_REPORT, 0x4A0 bytes, little-endian.
 * The signature covers bytes [0x000, 0x2A0).
 *
 *   off    size  field                       off    size  field
 *   0x000  4     VERSION (2..5)              0x180  8     REPORTED_TCB
 *   0x004  4     GUEST_SVN                   0x188  1     CPUID_FAM_ID (v3+, else MBZ)
 *   0x008  8     POLICY                      0x189  1     CPUID_MOD_ID (v3+)
 *   0x010  16    FAMILY_ID                   0x18A  1     CPUID_STEP (v3+)
 *   0x020  16    IMAGE_ID                    0x18B  21    reserved
 *   0x030  4     VMPL                        0x1A0  64    CHIP_ID
 *   0x034  4     SIGNATURE_ALGO (1)          0x1E0  8     COMMITTED_TCB
 *   0x038  8     CURRENT_TCB                 0x1E8  3     CURRENT_BUILD/MINOR/MAJOR
 *   0x040  8     PLATFORM_INFO               0x1EB  1     reserved
 *   0x048  4     SIGNER_INFO                 0x1EC  3     COMMITTED_BUILD/MINOR/MAJOR
 *   0x04C  4     reserved                    0x1EF  1     reserved
 *   0x050  64    REPORT_DATA                 0x1F0  8     LAUNCH_TCB
 *   0x090  48    MEASUREMENT                 0x1F8  8     LAUNCH_MIT_VECTOR (v5, else MBZ)
 *   0x0C0  32    HOST_DATA                   0x200  8     CURRENT_MIT_VECTOR (v5, else MBZ)
 *   0x0E0  48    ID_KEY_DIGEST               0x208  152   reserved
 *   0x110  48    AUTHOR_KEY_DIGEST           0x2A0  72    SIGNATURE.R (LE, 48 significant)
 *   0x140  32    REPORT_ID                   0x2E8  72    SIGNATURE.S (LE, 48 significant)
 *   0x160  32    REPORT_ID_MA                0x330  368   reserved
 */
#include <string.h>
#include <strings.h>

#include "base/rd.h"
#include "tee/snp/format.h"

/* The signature field is 512 bytes: R (72), S (72), reserved (368). */
#define SIG_RESERVED_LEN (0x4A0 - 0x330)

/* Reads one 72-byte signature component; bytes past the 48 of a P-384 scalar must be zero. */
static enum cs_err
read_sig_component(struct cs_rd *r, uint8_t out[CS_SNP_SIG_COMPONENT_LEN])
{
	TRY(cs_rd_copy(r, out, CS_SNP_ECDSA_P384_LEN));
	memset(out + CS_SNP_ECDSA_P384_LEN, 0, CS_SNP_SIG_COMPONENT_LEN - CS_SNP_ECDSA_P384_LEN);
	return cs_rd_zero(r, CS_SNP_SIG_COMPONENT_LEN - CS_SNP_ECDSA_P384_LEN);
}

static enum cs_err
check_fields(const struct cs_snp_report *o)
{
	enum cs_snp_signer key;

	ENSURE(o->version >= CS_SNP_VERSION_MIN && o->version <= CS_SNP_VERSION_MAX,
	       CS_ERR_UNSUPPORTED);
	ENSURE(o->sig_algo == 1, CS_ERR_UNSUPPORTED);
	ENSURE((o->policy & CS_SNP_POLICY_MBZ) == 0, CS_ERR_RESERVED);
	ENSURE((o->policy & CS_SNP_POLICY_RESERVED_ONE) != 0, CS_ERR_RESERVED);
	ENSURE((o->signer_info & CS_SNP_SIGNER_MBZ) == 0, CS_ERR_RESERVED);
	key = cs_snp_report_signer(o);
	ENSURE(key == CS_SNP_SIGNER_VCEK || key == CS_SNP_SIGNER_VLEK || key == CS_SNP_SIGNER_NONE,
	       CS_ERR_RESERVED);
	return CS_OK;
}

enum cs_err
cs_snp_report_parse(const uint8_t *p, size_t n, struct cs_snp_report *out)
{
	struct cs_rd r;

	memset(out, 0, sizeof(*out));
	cs_rd_init(&r, p, n);
	ENSURE(n >= CS_SNP_REPORT_LEN, CS_ERR_TRUNCATED);
	TRY(cs_rd_u32le(&r, &out->version));
	TRY(cs_rd_u32le(&r, &out->guest_svn));
	TRY(cs_rd_u64le(&r, &out->policy));
	TRY(cs_rd_copy(&r, out->family_id, sizeof(out->family_id)));
	TRY(cs_rd_copy(&r, out->image_id, sizeof(out->image_id)));
	TRY(cs_rd_u32le(&r, &out->vmpl));
	TRY(cs_rd_u32le(&r, &out->sig_algo));
	TRY(cs_rd_u64le(&r, &out->current_tcb));
	TRY(cs_rd_u64le(&r, &out->platform_info));
	TRY(cs_rd_u32le(&r, &out->signer_info));
	TRY(cs_rd_zero(&r, 4));
	TRY(cs_rd_copy(&r, out->report_data, sizeof(out->report_data)));
	TRY(cs_rd_copy(&r, out->measurement, sizeof(out->measurement)));
	TRY(cs_rd_copy(&r, out->host_data, sizeof(out->host_data)));
	TRY(cs_rd_copy(&r, out->id_key_digest, sizeof(out->id_key_digest)));
	TRY(cs_rd_copy(&r, out->author_key_digest, sizeof(out->author_key_digest)));
	TRY(cs_rd_copy(&r, out->report_id, sizeof(out->report_id)));
	TRY(cs_rd_copy(&r, out->report_id_ma, sizeof(out->report_id_ma)));
	TRY(cs_rd_u64le(&r, &out->reported_tcb));
	if (out->version >= 3) {
		TRY(cs_rd_u8(&r, &out->cpuid_fam_id));
		TRY(cs_rd_u8(&r, &out->cpuid_mod_id));
		TRY(cs_rd_u8(&r, &out->cpuid_step));
	} else {
		TRY(cs_rd_zero(&r, 3));
	}
	TRY(cs_rd_zero(&r, 0x1A0 - 0x18B));
	TRY(cs_rd_copy(&r, out->chip_id, sizeof(out->chip_id)));
	TRY(cs_rd_u64le(&r, &out->committed_tcb));
	TRY(cs_rd_u8(&r, &out->current_build));
	TRY(cs_rd_u8(&r, &out->current_minor));
	TRY(cs_rd_u8(&r, &out->current_major));
	TRY(cs_rd_zero(&r, 1));
	TRY(cs_rd_u8(&r, &out->committed_build));
	TRY(cs_rd_u8(&r, &out->committed_minor));
	TRY(cs_rd_u8(&r, &out->committed_major));
	TRY(cs_rd_zero(&r, 1));
	TRY(cs_rd_u64le(&r, &out->launch_tcb));
	if (out->version >= 5) {
		TRY(cs_rd_u64le(&r, &out->launch_mit_vector));
		TRY(cs_rd_u64le(&r, &out->current_mit_vector));
	} else {
		TRY(cs_rd_zero(&r, 16));
	}
	TRY(cs_rd_zero(&r, CS_SNP_SIG_OFF - 0x208));
	TRY(read_sig_component(&r, out->sig_r));
	TRY(read_sig_component(&r, out->sig_s));
	TRY(cs_rd_zero(&r, SIG_RESERVED_LEN));
	TRY(cs_rd_end(&r));
	return check_fields(out);
}

/* Family/model ranges: AMD PPRs; virtee/sev identify_cpu agrees (research cpu-tee.md §1.2). */
enum cs_snp_product
cs_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19) {
		if (model <= 0x0F)
			return CS_SNP_MILAN;
		if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))
			return CS_SNP_GENOA;
	} else if (family == 0x1A) {
		if (model <= 0x11)
			return CS_SNP_TURIN;
	}
	return CS_SNP_PRODUCT_UNKNOWN;
}

const char *
cs_snp_product_name(enum cs_snp_product p)
{
	switch (p) {
	case CS_SNP_MILAN:
		return "Milan";
	case CS_SNP_GENOA:
		return "Genoa";
	case CS_SNP_TURIN:
		return "Turin";
	case CS_SNP_PRODUCT_UNKNOWN:
		break;
	}
	return "unknown";
}

/* productName is "<Name>" or "<Name>-<stepping>" ("Milan-B0"); case-insensitive on the name. */
enum cs_snp_product
cs_snp_product_from_name(const char *s, size_t n)
{
	static const enum cs_snp_product all[] = {CS_SNP_MILAN, CS_SNP_GENOA, CS_SNP_TURIN};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *name = cs_snp_product_name(all[i]);
		size_t len = strlen(name);

		if (n < len || strncasecmp(s, name, len) != 0)
			continue;
		if (n == len || s[len] == '-')
			return all[i];
	}
	return CS_SNP_PRODUCT_UNKNOWN;
}

enum cs_err
cs_snp_tcb_decode(uint64_t raw, enum cs_snp_product product, struct cs_snp_tcb *out)
{
	uint8_t b[8];

	for (size_t i = 0; i < 8; i++)
		b[i] = (uint8_t)(raw >> (8 * i));
	memset(out, 0, sizeof(*out));
	switch (product) {
	case CS_SNP_MILAN:
	case CS_SNP_GENOA:
		/* byte 0 BOOT_LOADER, 1 TEE, 2..5 reserved, 6 SNP, 7 MICROCODE */
		ENSURE((b[2] | b[3] | b[4] | b[5]) == 0, CS_ERR_RESERVED);
		out->bootloader = b[0];
		out->tee = b[1];
		out->snp = b[6];
		out->microcode = b[7];
		return CS_OK;
	case CS_SNP_TURIN:
		/* byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 4..6 reserved, 7 MICROCODE */
		ENSURE((b[4] | b[5] | b[6]) == 0, CS_ERR_RESERVED);
		out->fmc = b[0];
		out->bootloader = b[1];
		out->tee = b[2];
		out->snp = b[3];
		out->microcode = b[7];
		return CS_OK;
	case CS_SNP_PRODUCT_UNKNOWN:
		break;
	}
	return CS_ERR_INVAL;
}

uint64_t
cs_snp_tcb_encode(const struct cs_snp_tcb *t, enum cs_snp_product product)
{
	uint8_t b[8] = {0};
	uint64_t v = 0;

	if (product == CS_SNP_TURIN) {
		b[0] = t->fmc;
		b[1] = t->bootloader;
		b[2] = t->tee;
		b[3] = t->snp;
	} else {
		b[0] = t->bootloader;
		b[1] = t->tee;
		b[6] = t->snp;
	}
	b[7] = t->microcode;
	for (size_t i = 8; i-- > 0;)
		v = (v << 8) | b[i];
	return v;
}

/* Reads one DER tag and short- or long-form length; the value must be exactly what remains. */
static enum cs_err
der_whole(const uint8_t *p, size_t n, uint8_t tag, const uint8_t **val, size_t *vlen)
{
	struct cs_rd r;
	uint8_t t, l0, b;
	size_t len = 0;

	cs_rd_init(&r, p, n);
	TRY(cs_rd_u8(&r, &t));
	ENSURE(t == tag, CS_ERR_ENCODING);
	TRY(cs_rd_u8(&r, &l0));
	if (l0 < 0x80) {
		len = l0;
	} else {
		size_t nb = l0 & 0x7F;

		/* DER: long form only for lengths >= 128, no leading zero byte, at most 2 bytes. */
		ENSURE(nb >= 1 && nb <= 2, CS_ERR_ENCODING);
		for (size_t i = 0; i < nb; i++) {
			TRY(cs_rd_u8(&r, &b));
			ENSURE(i != 0 || b != 0, CS_ERR_ENCODING);
			len = (len << 8) | b;
		}
		ENSURE(len >= 0x80, CS_ERR_ENCODING);
	}
	ENSURE(len == cs_rd_left(&r), len > cs_rd_left(&r) ? CS_ERR_TRUNCATED : CS_ERR_TRAILING);
	TRY(cs_rd_bytes(&r, len, val));
	*vlen = len;
	return cs_rd_end(&r);
}

/* A non-negative DER INTEGER in minimal encoding, at most 32 bits. */
static enum cs_err
der_uint(const uint8_t *p, size_t n, uint32_t *v)
{
	const uint8_t *b = NULL;
	size_t len = 0;
	uint32_t x = 0;

	TRY(der_whole(p, n, 0x02, &b, &len));
	ENSURE(len >= 1, CS_ERR_ENCODING);
	ENSURE((b[0] & 0x80) == 0, CS_ERR_ENCODING);                          /* negative */
	ENSURE(len == 1 || b[0] != 0 || (b[1] & 0x80) != 0, CS_ERR_ENCODING); /* not minimal */
	if (b[0] == 0) {
		b++;
		len--;
	}
	ENSURE(len <= 4, CS_ERR_TOO_LARGE);
	for (size_t i = 0; i < len; i++)
		x = (x << 8) | b[i];
	*v = x;
	return CS_OK;
}

enum cs_err
cs_snp_ext_spl(const uint8_t *p, size_t n, uint8_t *v)
{
	uint32_t x;

	TRY(der_uint(p, n, &x));
	ENSURE(x <= 0xFF, CS_ERR_TOO_LARGE);
	*v = (uint8_t)x;
	return CS_OK;
}

enum cs_err
cs_snp_ext_u32(const uint8_t *p, size_t n, uint32_t *v)
{
	return der_uint(p, n, v);
}

enum cs_err
cs_snp_ext_hwid(const uint8_t *p, size_t n, uint8_t out[CS_SNP_CHIP_ID_LEN], size_t *len)
{
	const uint8_t *v = p;
	size_t vlen = n;

	/*
	 * The legacy encoding puts the raw ID in the extension; current KDS wraps it in an OCTET
	 * STRING. A raw 64-byte ID can start with 0x04, so the raw form is decided by length
	 * first, exactly as the KDS history allows: 64 (or Turin's 8) raw bytes, else DER.
	 */
	if (n != CS_SNP_CHIP_ID_LEN && n != CS_SNP_TURIN_CHIP_ID_LEN)
		TRY(der_whole(p, n, 0x04, &v, &vlen));
	ENSURE(vlen == CS_SNP_CHIP_ID_LEN || vlen == CS_SNP_TURIN_CHIP_ID_LEN, CS_ERR_LENGTH);
	memset(out, 0, CS_SNP_CHIP_ID_LEN);
	memcpy(out, v, vlen);
	*len = vlen;
	return CS_OK;
}

enum cs_err
cs_snp_ext_ia5(const uint8_t *p, size_t n, char *out, size_t cap)
{
	const uint8_t *v = NULL;
	size_t vlen = 0;

	TRY(der_whole(p, n, 0x16, &v, &vlen));
	ENSURE(vlen < cap, CS_ERR_TOO_LARGE);
	for (size_t i = 0; i < vlen; i++)
		ENSURE(v[i] >= 0x20 && v[i] < 0x7F, CS_ERR_ENCODING);
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return CS_OK;
}

/* GUIDs in RFC 4122 byte order (go-sev-guest abi.go; the GHCB spec's table). */
const uint8_t cs_snp_guid_vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
const uint8_t cs_snp_guid_vlek[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                      0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
const uint8_t cs_snp_guid_ask[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                     0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
const uint8_t cs_snp_guid_ark[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                     0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

/* The table may hold at most this many entries before its terminator. */
#define CERTTABLE_MAX_ENTRIES 64

enum cs_err
cs_snp_certtable_find(const uint8_t *p, size_t n, const uint8_t guid[16], const uint8_t **out,
                      size_t *out_len)
{
	static const uint8_t zero[16];
	const uint8_t *hit = NULL;
	size_t hit_len = 0, hit_off = 0;
	struct cs_rd r;

	cs_rd_init(&r, p, n);
	/* The whole table is checked, not only up to the entry asked for. */
	for (size_t i = 0; i <= CERTTABLE_MAX_ENTRIES; i++) {
		const uint8_t *g;
		uint32_t off, len;

		TRY(cs_rd_bytes(&r, 16, &g));
		TRY(cs_rd_u32le(&r, &off));
		TRY(cs_rd_u32le(&r, &len));
		if (memcmp(g, zero, 16) == 0) {
			ENSURE(off == 0 && len == 0, CS_ERR_RESERVED);
			ENSURE(hit != NULL, CS_ERR_NOT_FOUND);
			/* The certificate lies after the table, not inside it. */
			ENSURE(hit_off >= (i + 1) * 24, CS_ERR_LENGTH);
			*out = hit;
			*out_len = hit_len;
			return CS_OK;
		}
		/* Every entry must lie inside the blob, found or not, and hold something. */
		ENSURE(off <= n && len <= n - off && len > 0, CS_ERR_LENGTH);
		if (hit == NULL && memcmp(g, guid, 16) == 0) {
			hit = p + off;
			hit_len = len;
			hit_off = off;
		}
	}
	return CS_ERR_TOO_LARGE;
}

static void
wr_le(uint8_t *dst, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
}

void
cs_snp_report_write(const struct cs_snp_report *r, uint8_t out[CS_SNP_REPORT_LEN])
{
	memset(out, 0, CS_SNP_REPORT_LEN);
	wr_le(out + 0x000, r->version, 4);
	wr_le(out + 0x004, r->guest_svn, 4);
	wr_le(out + 0x008, r->policy, 8);
	memcpy(out + 0x010, r->family_id, 16);
	memcpy(out + 0x020, r->image_id, 16);
	wr_le(out + 0x030, r->vmpl, 4);
	wr_le(out + 0x034, r->sig_algo, 4);
	wr_le(out + 0x038, r->current_tcb, 8);
	wr_le(out + 0x040, r->platform_info, 8);
	wr_le(out + 0x048, r->signer_info, 4);
	memcpy(out + 0x050, r->report_data, 64);
	memcpy(out + 0x090, r->measurement, 48);
	memcpy(out + 0x0C0, r->host_data, 32);
	memcpy(out + 0x0E0, r->id_key_digest, 48);
	memcpy(out + 0x110, r->author_key_digest, 48);
	memcpy(out + 0x140, r->report_id, 32);
	memcpy(out + 0x160, r->report_id_ma, 32);
	wr_le(out + 0x180, r->reported_tcb, 8);
	if (r->version >= 3) {
		out[0x188] = r->cpuid_fam_id;
		out[0x189] = r->cpuid_mod_id;
		out[0x18A] = r->cpuid_step;
	}
	memcpy(out + 0x1A0, r->chip_id, 64);
	wr_le(out + 0x1E0, r->committed_tcb, 8);
	out[0x1E8] = r->current_build;
	out[0x1E9] = r->current_minor;
	out[0x1EA] = r->current_major;
	out[0x1EC] = r->committed_build;
	out[0x1ED] = r->committed_minor;
	out[0x1EE] = r->committed_major;
	wr_le(out + 0x1F0, r->launch_tcb, 8);
	if (r->version >= 5) {
		wr_le(out + 0x1F8, r->launch_mit_vector, 8);
		wr_le(out + 0x200, r->current_mit_vector, 8);
	}
	memcpy(out + 0x2A0, r->sig_r, CS_SNP_SIG_COMPONENT_LEN);
	memcpy(out + 0x2E8, r->sig_s, CS_SNP_SIG_COMPONENT_LEN);
}

/*
 * AMD SEV-SNP formats: the ATTESTATION_REPORT (SEV-SNP Firmware ABI rev 1.57, Table 23), the
 * TCB_VERSION encodings of each product generation, the VCEK/VLEK certificate extensions
 * (AMD "Versioned Chip Endorsement Key" spec, OID arc 1.3.6.1.4.1.3704.1) and the certificate
 * table the host hands out with an extended report (GHCB spec §4.1.8.1).
 *
 * Pure parsers: bytes in, caller-owned structs out; no I/O, no allocation, no logging. The
 * verifier, the fuzzers and the tests run the same code.
 */
#ifndef CS_TEE_SNP_FORMAT_H
#define CS_TEE_SNP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CS_SNP_REPORT_LEN 0x4A0 /* 1184 bytes, every version */
#define CS_SNP_SIGNED_LEN 0x2A0 /* the signature covers [0, 0x2A0) */
#define CS_SNP_SIG_OFF 0x2A0    /* R then S, 72 bytes each, little-endian */
#define CS_SNP_SIG_LEN 144      /* the R and S fields together */
#define CS_SNP_SIG_COMPONENT_LEN 72
#define CS_SNP_ECDSA_P384_LEN 48 /* significant bytes of R and S */
#define CS_SNP_VERSION_MIN 2
#define CS_SNP_VERSION_MAX 5
#define CS_SNP_CHIP_ID_LEN 64
#define CS_SNP_TURIN_CHIP_ID_LEN 8 /* Turin's hardware ID is 8 bytes, zero-padded in the report */

/* POLICY bits (ABI Table 9). */
#define CS_SNP_POLICY_SMT (1ULL << 16)
#define CS_SNP_POLICY_RESERVED_ONE (1ULL << 17) /* must be set */
#define CS_SNP_POLICY_MIGRATE_MA (1ULL << 18)
#define CS_SNP_POLICY_DEBUG (1ULL << 19)
#define CS_SNP_POLICY_SINGLE_SOCKET (1ULL << 20)
#define CS_SNP_POLICY_CXL_ALLOW (1ULL << 21)
#define CS_SNP_POLICY_MEM_AES_256_XTS (1ULL << 22)
#define CS_SNP_POLICY_RAPL_DIS (1ULL << 23)
#define CS_SNP_POLICY_CIPHERTEXT_HIDING (1ULL << 24)
#define CS_SNP_POLICY_PAGE_SWAP_DISABLE (1ULL << 25)
#define CS_SNP_POLICY_MBZ (~((1ULL << 26) - 1)) /* bits 26..63 */

/* PLATFORM_INFO bits (ABI Table 23, offset 0x40). */
#define CS_SNP_PLAT_SMT_EN (1ULL << 0)
#define CS_SNP_PLAT_TSME_EN (1ULL << 1)
#define CS_SNP_PLAT_ECC_EN (1ULL << 2)
#define CS_SNP_PLAT_RAPL_DIS (1ULL << 3)
#define CS_SNP_PLAT_CIPHERTEXT_HIDING_EN (1ULL << 4)
#define CS_SNP_PLAT_ALIAS_CHECK_COMPLETE (1ULL << 5)
#define CS_SNP_PLAT_TIO_EN (1ULL << 7)

/* SIGNER_INFO (KEY_INFO) fields. */
#define CS_SNP_SIGNER_AUTHOR_KEY_EN (1U << 0)
#define CS_SNP_SIGNER_MASK_CHIP_KEY (1U << 1)
#define CS_SNP_SIGNER_KEY_SHIFT 2
#define CS_SNP_SIGNER_KEY_MASK 0x7U
#define CS_SNP_SIGNER_MBZ (~0x1FU)

enum cs_snp_product {
	CS_SNP_PRODUCT_UNKNOWN = 0,
	CS_SNP_MILAN,
	CS_SNP_GENOA,
	CS_SNP_TURIN,
};
#define CS_SNP_PRODUCT_COUNT 4

/* SIGNER_INFO.SIGNING_KEY: which key signed the report. */
enum cs_snp_signer {
	CS_SNP_SIGNER_VCEK = 0,
	CS_SNP_SIGNER_VLEK = 1,
	CS_SNP_SIGNER_NONE = 7,
};

/* A decoded TCB_VERSION. fmc is only meaningful for Turin and later. */
struct cs_snp_tcb {
	uint8_t fmc;
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
};

/* Every field of the report, decoded; reserved bytes are checked and not kept. */
struct cs_snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t sig_algo;    /* 1: ECDSA P-384 with SHA-384, the only one defined */
	uint64_t current_tcb; /* raw TCB_VERSION; decode with cs_snp_tcb_decode */
	uint64_t platform_info;
	uint32_t signer_info;
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint64_t reported_tcb; /* the TCB the VCEK was derived for */
	uint8_t cpuid_fam_id;  /* v3+; zero in v2 */
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t chip_id[CS_SNP_CHIP_ID_LEN];
	uint64_t committed_tcb;
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	uint64_t launch_tcb;
	uint64_t launch_mit_vector;              /* v5; zero before */
	uint64_t current_mit_vector;             /* v5; zero before */
	uint8_t sig_r[CS_SNP_SIG_COMPONENT_LEN]; /* little-endian, as in the report */
	uint8_t sig_s[CS_SNP_SIG_COMPONENT_LEN];
};

/*
 * Parses exactly CS_SNP_REPORT_LEN bytes (borrows p). Errors: CS_ERR_TRUNCATED / CS_ERR_TRAILING
 * for any other length, CS_ERR_UNSUPPORTED for a version outside 2..5 or a signature algorithm
 * other than ECDSA P-384, CS_ERR_RESERVED for a non-zero reserved field or bit (including the
 * unused high bytes of R and S), a cleared must-be-one policy bit, or a reserved signing key.
 */
CS_MUST_USE enum cs_err cs_snp_report_parse(const uint8_t *p, size_t n, struct cs_snp_report *out);

/*
 * Serializes r (every field as given; reserved bytes zero) into out. The inverse of
 * cs_snp_report_parse for well-formed reports; used by sim-snp and tests.
 */
void cs_snp_report_write(const struct cs_snp_report *r, uint8_t out[CS_SNP_REPORT_LEN]);

static inline enum cs_snp_signer
cs_snp_report_signer(const struct cs_snp_report *r)
{
	return (enum cs_snp_signer)((r->signer_info >> CS_SNP_SIGNER_KEY_SHIFT) &
	                            CS_SNP_SIGNER_KEY_MASK);
}

/* The product from the report's CPUID fields (v3+); UNKNOWN for v2 or an unknown model. */
enum cs_snp_product cs_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* "Milan", "Genoa", "Turin" (KDS spelling) or "unknown". */
const char *cs_snp_product_name(enum cs_snp_product p);

/* The product for a KDS name or a VCEK productName ("Milan-B0", "Genoa", "Turin", ...). */
enum cs_snp_product cs_snp_product_from_name(const char *s, size_t n);

/*
 * Decodes a TCB_VERSION for product (ABI §2.2 for Milan/Genoa; Turin moved the fields and added
 * FMC). CS_ERR_RESERVED if a reserved byte is non-zero, CS_ERR_INVAL for an unknown product.
 */
CS_MUST_USE enum cs_err cs_snp_tcb_decode(uint64_t raw, enum cs_snp_product product,
                                          struct cs_snp_tcb *out);
/* The inverse, for the simulator and KDS queries. */
uint64_t cs_snp_tcb_encode(const struct cs_snp_tcb *t, enum cs_snp_product product);

/* VCEK/VLEK extension OIDs (dotted). */
#define CS_SNP_OID_STRUCT_VERSION "1.3.6.1.4.1.3704.1.1"
#define CS_SNP_OID_PRODUCT_NAME "1.3.6.1.4.1.3704.1.2"
#define CS_SNP_OID_BL_SPL "1.3.6.1.4.1.3704.1.3.1"
#define CS_SNP_OID_TEE_SPL "1.3.6.1.4.1.3704.1.3.2"
#define CS_SNP_OID_SNP_SPL "1.3.6.1.4.1.3704.1.3.3"
#define CS_SNP_OID_UCODE_SPL "1.3.6.1.4.1.3704.1.3.8"
#define CS_SNP_OID_FMC_SPL "1.3.6.1.4.1.3704.1.3.9"
#define CS_SNP_OID_HWID "1.3.6.1.4.1.3704.1.4"
#define CS_SNP_OID_CSP_ID "1.3.6.1.4.1.3704.1.5"

/*
 * Extension value decoders (the DER inside each extension's OCTET STRING; borrow p).
 * An SPL is a DER INTEGER 0..255 in minimal encoding (`02 01 xx`, or `02 02 00 xx` for >= 0x80).
 */
CS_MUST_USE enum cs_err cs_snp_ext_spl(const uint8_t *p, size_t n, uint8_t *v);
/* structVersion: a non-negative DER INTEGER that fits 32 bits. */
CS_MUST_USE enum cs_err cs_snp_ext_u32(const uint8_t *p, size_t n, uint32_t *v);
/*
 * hwID: either the raw ID (64 bytes; 8 on Turin) or a DER OCTET STRING holding it. Writes the ID
 * into out (zero-padded to 64) and its length (64 or 8) to *len.
 */
CS_MUST_USE enum cs_err cs_snp_ext_hwid(const uint8_t *p, size_t n, uint8_t out[CS_SNP_CHIP_ID_LEN],
                                        size_t *len);
/*
 * productName / cspId: a DER IA5String of printable ASCII, at most cap - 1 bytes. Writes it
 * NUL-terminated into out.
 */
CS_MUST_USE enum cs_err cs_snp_ext_ia5(const uint8_t *p, size_t n, char *out, size_t cap);

/* The endorsement-key facts a VCEK/VLEK certificate carries in its extensions. */
struct cs_snp_vek_info {
	uint32_t struct_version;
	char product_name[32];
	struct cs_snp_tcb tcb; /* bl/tee/snp/ucode SPLs; fmc when has_fmc */
	bool has_fmc;
	uint8_t hwid[CS_SNP_CHIP_ID_LEN]; /* zero-padded */
	size_t hwid_len;                  /* 0 when absent (VLEK), else 64 or 8 */
	char csp_id[128];                 /* VLEK only; "" when absent */
};

/*
 * The certificate table of an extended report / configfs-tsm auxblob (GHCB spec §4.1.8.1): entries
 * of {GUID[16], u32le offset, u32le length} ending with an all-zero entry; offsets count from the
 * table's start. Checks the whole table, then borrows the bytes of the (first) entry with guid
 * through *out, *out_len. CS_ERR_NOT_FOUND when absent; CS_ERR_TRUNCATED when the blob ends before
 * the terminator; CS_ERR_RESERVED for a terminator with a non-zero offset or length;
 * CS_ERR_LENGTH when an entry is empty or points outside the blob, or the found one into the
 * table; CS_ERR_TOO_LARGE past 64 entries.
 */
CS_MUST_USE enum cs_err cs_snp_certtable_find(const uint8_t *p, size_t n, const uint8_t guid[16],
                                              const uint8_t **out, size_t *out_len);

/* The table's GUIDs, in the byte order they appear in the table. */
extern const uint8_t cs_snp_guid_vcek[16];
extern const uint8_t cs_snp_guid_vlek[16];
extern const uint8_t cs_snp_guid_ask[16];
extern const uint8_t cs_snp_guid_ark[16];

#endif

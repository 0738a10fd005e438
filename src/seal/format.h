/*
 * The sealed-model format, version 1: pure encoders and parsers (bytes in, caller-owned structs
 * out, no I/O) and the key schedule. docs/sealed-format.md is the specification; the section
 * numbers below refer to it.
 *
 * A sealed file is a fixed 512-byte header (§2) followed by the payload: AES-256-GCM chunks of
 * C = 2^chunk_log2 plaintext bytes each (the last one shorter, possibly empty), each followed by
 * its 16-byte tag (§3). Chunk i covers plaintext [i*C, i*C + C) and starts at file offset
 * 512 + i*(C + 16), so any byte range is reachable in O(1).
 *
 * A sealed directory holds one sealed file per plaintext file, under the same relative name, and
 * a manifest (§5) that lists every file and is MAC'd under a key derived from the KEK.
 */
#ifndef CS_SEAL_FORMAT_H
#define CS_SEAL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CS_SEAL_HEADER_LEN 512
#define CS_SEAL_BOUND_LEN 96 /* header bytes [0, 96): the AAD of every chunk */
#define CS_SEAL_MAC_OFF 480  /* header MAC covers [0, 480) */
#define CS_SEAL_VERSION 1
#define CS_SEAL_ALG_AES256GCM_HKDF 1
#define CS_SEAL_WRAP_AES256KW 1
#define CS_SEAL_KEY_LEN 32
#define CS_SEAL_SALT_LEN 32
#define CS_SEAL_WRAPPED_LEN 40
#define CS_SEAL_TAG_LEN 16
#define CS_SEAL_KEY_ID_MAX 256
#define CS_SEAL_CHUNK_LOG2_MIN 12
#define CS_SEAL_CHUNK_LOG2_MAX 30
#define CS_SEAL_CHUNK_LOG2_DEFAULT 20
/* A bound on plaintext_len that keeps every offset computation far from 2^64 (2^60 = 1 EiB). */
#define CS_SEAL_PLAINTEXT_MAX (UINT64_C(1) << 60)

extern const uint8_t cs_seal_magic[8];

/* §2: the decoded header. */
struct cs_seal_header {
	uint16_t version;                         /* CS_SEAL_VERSION */
	uint8_t alg;                              /* CS_SEAL_ALG_AES256GCM_HKDF */
	uint8_t chunk_log2;                       /* 12..30 */
	uint32_t header_len;                      /* CS_SEAL_HEADER_LEN */
	uint8_t salt[CS_SEAL_SALT_LEN];           /* random per file */
	uint8_t commit[CS_SEAL_KEY_LEN];          /* key commitment */
	uint64_t plaintext_len;                   /* <= CS_SEAL_PLAINTEXT_MAX */
	uint8_t wrap_alg;                         /* CS_SEAL_WRAP_AES256KW */
	uint16_t key_id_len;                      /* 1..CS_SEAL_KEY_ID_MAX */
	char key_id[CS_SEAL_KEY_ID_MAX + 1];      /* printable ASCII, NUL-terminated here */
	uint8_t wrapped_dek[CS_SEAL_WRAPPED_LEN]; /* RFC 3394 wrap of the DEK under the KEK */
	uint8_t mac[32];                          /* HMAC-SHA256 over bytes [0, 480) */
};

/* The per-file keys derived from the DEK (§4). Secret: keep in locked memory, wipe after use. */
struct cs_seal_keys {
	uint8_t dek[CS_SEAL_KEY_LEN];
	uint8_t payload[CS_SEAL_KEY_LEN]; /* AES-256-GCM key of the chunks */
	uint8_t mac[CS_SEAL_KEY_LEN];     /* HMAC-SHA256 key of the header */
	uint8_t commit[CS_SEAL_KEY_LEN];  /* expected header commit */
};

/*
 * Parses a header (pure). Checks magic, version, algorithms, sizes, reserved bytes and the key id
 * grammar; it cannot check the MAC (that needs the key: cs_seal_header_open). n must be at least
 * CS_SEAL_HEADER_LEN; only the first CS_SEAL_HEADER_LEN bytes are read.
 */
CS_MUST_USE enum cs_err cs_seal_header_parse(const uint8_t *p, size_t n, struct cs_seal_header *h);

/* Encodes h (with h->mac as it stands) into out. h must satisfy what parse checks. */
CS_MUST_USE enum cs_err cs_seal_header_encode(const struct cs_seal_header *h,
                                              uint8_t out[CS_SEAL_HEADER_LEN]);

/* A key id: 1..256 bytes of printable ASCII (0x21..0x7e); e.g. kbs:///default/model/llama-kek. */
CS_MUST_USE enum cs_err cs_seal_key_id_check(const char *s, size_t n);

/* Chunk size C, chunk count max(1, ceil(L / C)), and total sealed file length. */
uint64_t cs_seal_chunk_size(const struct cs_seal_header *h);
uint64_t cs_seal_chunk_count(const struct cs_seal_header *h);
uint64_t cs_seal_sealed_len(const struct cs_seal_header *h);

/* §3: the 12-byte nonce of chunk i: 11-byte big-endian i, then 0x01 if last else 0x00. */
void cs_seal_nonce(uint64_t i, int last, uint8_t nonce[12]);

/* §4: derives payload, MAC and commitment keys from k->dek and the salt. */
CS_MUST_USE enum cs_err cs_seal_keys_derive(struct cs_seal_keys *k,
                                            const uint8_t salt[CS_SEAL_SALT_LEN]);

/*
 * Creates a fresh header for a new file: random DEK and salt, commitment, DEK wrapped under kek.
 * plaintext_len may be set later (cs_seal_header_finish). Fills *keys (secret).
 */
CS_MUST_USE enum cs_err cs_seal_header_new(struct cs_seal_header *h, struct cs_seal_keys *keys,
                                           const uint8_t kek[CS_SEAL_KEY_LEN], const char *key_id,
                                           unsigned chunk_log2);

/* Computes h->mac under keys and encodes the header into out. */
CS_MUST_USE enum cs_err cs_seal_header_finish(struct cs_seal_header *h,
                                              const struct cs_seal_keys *keys,
                                              uint8_t out[CS_SEAL_HEADER_LEN]);

/*
 * §4.2: the check a reader makes before touching any chunk: unwrap the DEK with kek
 * (CS_ERR_WRONG_KEY when the wrap's integrity check fails), recompute the commitment
 * (CS_ERR_WRONG_KEY on mismatch) and the header MAC over raw[0, 480) (CS_ERR_SEAL_HEADER).
 * raw is the header as read, h its parse. On success *keys holds the file's keys.
 */
CS_MUST_USE enum cs_err cs_seal_header_open(const struct cs_seal_header *h,
                                            const uint8_t raw[CS_SEAL_HEADER_LEN],
                                            const uint8_t kek[CS_SEAL_KEY_LEN],
                                            struct cs_seal_keys *keys);

/*
 * §4.3 rotation: rewrap keys->dek under new_kek with new_key_id into h and re-MAC into out.
 * The bound prefix (and so every chunk) is unchanged.
 */
CS_MUST_USE enum cs_err cs_seal_header_rewrap(struct cs_seal_header *h,
                                              const struct cs_seal_keys *keys,
                                              const uint8_t new_kek[CS_SEAL_KEY_LEN],
                                              const char *new_key_id,
                                              uint8_t out[CS_SEAL_HEADER_LEN]);

/* §5: the directory manifest. */
#define CS_SEAL_MANIFEST_NAME ".custos-manifest"
#define CS_SEAL_MANIFEST_MAX (16u << 20) /* bytes */
#define CS_SEAL_MANIFEST_FILES_MAX 65536
#define CS_SEAL_PATH_MAX 1024

struct cs_seal_entry {
	char *name;             /* owned, NUL-terminated relative path */
	uint64_t plaintext_len; /* bytes */
	uint8_t plaintext_sha256[32];
	uint8_t header_sha256[32]; /* SHA-256 of the sealed file's 512-byte header */
};

struct cs_seal_manifest {
	uint8_t salt[CS_SEAL_SALT_LEN];
	char key_id[CS_SEAL_KEY_ID_MAX + 1];
	size_t n;                      /* entries, sorted by name, unique */
	struct cs_seal_entry *entries; /* owned */
	uint8_t mac[32];
};

void cs_seal_manifest_init(struct cs_seal_manifest *m);
void cs_seal_manifest_fini(struct cs_seal_manifest *m);

/* A relative path: '/'-separated components of printable ASCII or UTF-8 bytes >= 0x20 except '/',
 * none empty, ".", or "..", total 1..CS_SEAL_PATH_MAX bytes. */
CS_MUST_USE enum cs_err cs_seal_path_check(const char *s, size_t n);

/* Parses (pure) a manifest into m (caller-initialized; entries returned owned). The MAC is
 * checked by cs_seal_manifest_verify. */
CS_MUST_USE enum cs_err cs_seal_manifest_parse(const uint8_t *p, size_t n,
                                               struct cs_seal_manifest *m);

/* Checks the manifest MAC over (p, n) under the key derived from kek: CS_ERR_MANIFEST when it
 * does not match. */
CS_MUST_USE enum cs_err cs_seal_manifest_verify(const uint8_t *p, size_t n,
                                                const uint8_t kek[CS_SEAL_KEY_LEN]);

/* Encodes m (entries sorted by the caller or not: this sorts them) and MACs it under kek.
 * Returns owned bytes in *out (free). */
CS_MUST_USE enum cs_err cs_seal_manifest_encode(struct cs_seal_manifest *m,
                                                const uint8_t kek[CS_SEAL_KEY_LEN], uint8_t **out,
                                                size_t *out_len);

/* Finds name in m; NULL if absent. Borrows. */
const struct cs_seal_entry *cs_seal_manifest_find(const struct cs_seal_manifest *m,
                                                  const char *name);

#endif

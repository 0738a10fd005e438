/*
 * Sealed-model format v1 (docs/sealed-format.md §2): the 512-byte header, little-endian.
 *
 *   off  len  field             part
 *     0    8  magic 89 'C' 'S' 'E' 'A' 'L' 0d 0a     bound (chunk AAD)
 *     8    2  version = 1
 *    10    1  alg = 1 (AES-256-GCM chunks, HKDF-SHA256, HMAC-SHA256)
 *    11    1  chunk_log2 (12..30)
 *    12    4  header_len = 512
 *    16   32  salt
 *    48   32  commit
 *    80   16  reserved, zero
 *    96    8  plaintext_len (<= 2^60)             immutable, MAC'd
 *   104    1  wrap_alg = 1 (AES-256-KW, RFC 3394)  mutable (rotation), MAC'd
 *   105    1  reserved, zero
 *   106    2  key_id_len (1..256)
 *   108   40  wrapped_dek
 *   148  256  key_id, zero-padded
 *   404   76  reserved, zero
 *   480   32  mac = HMAC-SHA256(K_mac, bytes [0, 480))
 *
 * The manifest (§5), little-endian:
 *   magic 89 'C' 'S' 'M' 'A' 'N' 0d 0a | version u16 = 1 | reserved u16 = 0 | count u32 |
 *   salt[32] | key_id_len u16 | key_id | count x { name_len u16 | name | plaintext_len u64 |
 *   plaintext_sha256[32] | header_sha256[32] } | mac[32] = HMAC-SHA256(K_man, all before it)
 */
#include "seal/format.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/rd.h"
#include "base/secret.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"

const uint8_t cs_seal_magic[8] = {0x89, 'C', 'S', 'E', 'A', 'L', 0x0d, 0x0a};
static const uint8_t manifest_magic[8] = {0x89, 'C', 'S', 'M', 'A', 'N', 0x0d, 0x0a};

/* §4: HKDF-SHA256 info strings; each derived key has its own. */
#define INFO_PAYLOAD "custos seal v1 payload key"
#define INFO_MAC "custos seal v1 header mac key"
#define INFO_COMMIT "custos seal v1 key commitment"
#define INFO_MANIFEST "custos seal v1 manifest mac key"

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

enum cs_err
cs_seal_key_id_check(const char *s, size_t n)
{
	ENSURE(s != NULL && n >= 1, CS_ERR_INVAL);
	ENSURE(n <= CS_SEAL_KEY_ID_MAX, CS_ERR_TOO_LARGE);
	for (size_t i = 0; i < n; i++)
		ENSURE(s[i] >= 0x21 && s[i] <= 0x7e, CS_ERR_ENCODING);
	return CS_OK;
}

enum cs_err
cs_seal_header_parse(const uint8_t *p, size_t n, struct cs_seal_header *h)
{
	struct cs_rd r;
	const uint8_t *magic, *key_id;

	ENSURE(p != NULL && h != NULL, CS_ERR_INVAL);
	ENSURE(n >= CS_SEAL_HEADER_LEN, CS_ERR_TRUNCATED);
	memset(h, 0, sizeof(*h));
	cs_rd_init(&r, p, CS_SEAL_HEADER_LEN);
	TRY(cs_rd_bytes(&r, 8, &magic));
	ENSURE(memcmp(magic, cs_seal_magic, 8) == 0, CS_ERR_UNSUPPORTED);
	TRY(cs_rd_u16le(&r, &h->version));
	ENSURE(h->version == CS_SEAL_VERSION, CS_ERR_UNSUPPORTED);
	TRY(cs_rd_u8(&r, &h->alg));
	ENSURE(h->alg == CS_SEAL_ALG_AES256GCM_HKDF, CS_ERR_UNSUPPORTED);
	TRY(cs_rd_u8(&r, &h->chunk_log2));
	ENSURE(h->chunk_log2 >= CS_SEAL_CHUNK_LOG2_MIN && h->chunk_log2 <= CS_SEAL_CHUNK_LOG2_MAX,
	       CS_ERR_TOO_LARGE);
	TRY(cs_rd_u32le(&r, &h->header_len));
	ENSURE(h->header_len == CS_SEAL_HEADER_LEN, CS_ERR_LENGTH);
	TRY(cs_rd_copy(&r, h->salt, sizeof(h->salt)));
	TRY(cs_rd_copy(&r, h->commit, sizeof(h->commit)));
	TRY(cs_rd_zero(&r, 16));
	TRY(cs_rd_u64le(&r, &h->plaintext_len));
	ENSURE(h->plaintext_len <= CS_SEAL_PLAINTEXT_MAX, CS_ERR_TOO_LARGE);
	TRY(cs_rd_u8(&r, &h->wrap_alg));
	ENSURE(h->wrap_alg == CS_SEAL_WRAP_AES256KW, CS_ERR_UNSUPPORTED);
	TRY(cs_rd_zero(&r, 1));
	TRY(cs_rd_u16le(&r, &h->key_id_len));
	ENSURE(h->key_id_len >= 1 && h->key_id_len <= CS_SEAL_KEY_ID_MAX, CS_ERR_LENGTH);
	TRY(cs_rd_copy(&r, h->wrapped_dek, sizeof(h->wrapped_dek)));
	TRY(cs_rd_bytes(&r, h->key_id_len, &key_id));
	TRY(cs_seal_key_id_check((const char *)key_id, h->key_id_len));
	memcpy(h->key_id, key_id, h->key_id_len);
	h->key_id[h->key_id_len] = '\0';
	TRY(cs_rd_zero(&r, CS_SEAL_KEY_ID_MAX - h->key_id_len));
	TRY(cs_rd_zero(&r, 76));
	TRY(cs_rd_copy(&r, h->mac, sizeof(h->mac)));
	return cs_rd_end(&r);
}

enum cs_err
cs_seal_header_encode(const struct cs_seal_header *h, uint8_t out[CS_SEAL_HEADER_LEN])
{
	ENSURE(h != NULL && out != NULL, CS_ERR_INVAL);
	ENSURE(h->key_id_len >= 1 && h->key_id_len <= CS_SEAL_KEY_ID_MAX, CS_ERR_LENGTH);
	TRY(cs_seal_key_id_check(h->key_id, h->key_id_len));
	ENSURE(h->chunk_log2 >= CS_SEAL_CHUNK_LOG2_MIN && h->chunk_log2 <= CS_SEAL_CHUNK_LOG2_MAX,
	       CS_ERR_INVAL);
	ENSURE(h->plaintext_len <= CS_SEAL_PLAINTEXT_MAX, CS_ERR_TOO_LARGE);
	memset(out, 0, CS_SEAL_HEADER_LEN);
	memcpy(out, cs_seal_magic, 8);
	put16(out + 8, CS_SEAL_VERSION);
	out[10] = CS_SEAL_ALG_AES256GCM_HKDF;
	out[11] = h->chunk_log2;
	put32(out + 12, CS_SEAL_HEADER_LEN);
	memcpy(out + 16, h->salt, 32);
	memcpy(out + 48, h->commit, 32);
	put64(out + 96, h->plaintext_len);
	out[104] = CS_SEAL_WRAP_AES256KW;
	put16(out + 106, h->key_id_len);
	memcpy(out + 108, h->wrapped_dek, CS_SEAL_WRAPPED_LEN);
	memcpy(out + 148, h->key_id, h->key_id_len);
	memcpy(out + CS_SEAL_MAC_OFF, h->mac, 32);
	return CS_OK;
}

uint64_t
cs_seal_chunk_size(const struct cs_seal_header *h)
{
	return UINT64_C(1) << h->chunk_log2;
}

uint64_t
cs_seal_chunk_count(const struct cs_seal_header *h)
{
	uint64_t c = cs_seal_chunk_size(h);

	/* An empty file still has one (empty, final) chunk, so truncation to nothing is seen. */
	if (h->plaintext_len == 0)
		return 1;
	return (h->plaintext_len + c - 1) >> h->chunk_log2;
}

uint64_t
cs_seal_sealed_len(const struct cs_seal_header *h)
{
	/* plaintext_len <= 2^60 and chunks >= 2^12 bytes: no term comes near 2^64. */
	return CS_SEAL_HEADER_LEN + h->plaintext_len + cs_seal_chunk_count(h) * CS_SEAL_TAG_LEN;
}

void
cs_seal_nonce(uint64_t i, int last, uint8_t nonce[12])
{
	nonce[0] = 0;
	nonce[1] = 0;
	nonce[2] = 0;
	for (int k = 0; k < 8; k++)
		nonce[3 + k] = (uint8_t)(i >> (56 - 8 * k));
	nonce[11] = last ? 1 : 0;
}

enum cs_err
cs_seal_keys_derive(struct cs_seal_keys *k, const uint8_t salt[CS_SEAL_SALT_LEN])
{
	TRY(cs_hkdf(CS_SHA256, salt, CS_SEAL_SALT_LEN, k->dek, CS_SEAL_KEY_LEN,
	            (const uint8_t *)INFO_PAYLOAD, strlen(INFO_PAYLOAD), k->payload,
	            CS_SEAL_KEY_LEN));
	TRY(cs_hkdf(CS_SHA256, salt, CS_SEAL_SALT_LEN, k->dek, CS_SEAL_KEY_LEN,
	            (const uint8_t *)INFO_MAC, strlen(INFO_MAC), k->mac, CS_SEAL_KEY_LEN));
	TRY(cs_hkdf(CS_SHA256, salt, CS_SEAL_SALT_LEN, k->dek, CS_SEAL_KEY_LEN,
	            (const uint8_t *)INFO_COMMIT, strlen(INFO_COMMIT), k->commit, CS_SEAL_KEY_LEN));
	return CS_OK;
}

static enum cs_err
set_key_id(struct cs_seal_header *h, const char *key_id)
{
	size_t n;

	ENSURE(key_id != NULL, CS_ERR_INVAL);
	n = strnlen(key_id, CS_SEAL_KEY_ID_MAX + 1);
	TRY(cs_seal_key_id_check(key_id, n));
	memset(h->key_id, 0, sizeof(h->key_id));
	memcpy(h->key_id, key_id, n);
	h->key_id_len = (uint16_t)n;
	return CS_OK;
}

enum cs_err
cs_seal_header_new(struct cs_seal_header *h, struct cs_seal_keys *keys,
                   const uint8_t kek[CS_SEAL_KEY_LEN], const char *key_id, unsigned chunk_log2)
{
	enum cs_err err;

	ENSURE(h != NULL && keys != NULL && kek != NULL, CS_ERR_INVAL);
	if (chunk_log2 == 0)
		chunk_log2 = CS_SEAL_CHUNK_LOG2_DEFAULT;
	ENSURE(chunk_log2 >= CS_SEAL_CHUNK_LOG2_MIN && chunk_log2 <= CS_SEAL_CHUNK_LOG2_MAX,
	       CS_ERR_INVAL);
	memset(h, 0, sizeof(*h));
	h->version = CS_SEAL_VERSION;
	h->alg = CS_SEAL_ALG_AES256GCM_HKDF;
	h->chunk_log2 = (uint8_t)chunk_log2;
	h->header_len = CS_SEAL_HEADER_LEN;
	h->wrap_alg = CS_SEAL_WRAP_AES256KW;
	TRY(set_key_id(h, key_id));
	if ((err = cs_random(keys->dek, CS_SEAL_KEY_LEN)) != CS_OK ||
	    (err = cs_random(h->salt, CS_SEAL_SALT_LEN)) != CS_OK ||
	    (err = cs_seal_keys_derive(keys, h->salt)) != CS_OK ||
	    (err = cs_aes_kw_wrap(kek, keys->dek, CS_SEAL_KEY_LEN, h->wrapped_dek)) != CS_OK) {
		cs_wipe(keys, sizeof(*keys));
		return err;
	}
	memcpy(h->commit, keys->commit, CS_SEAL_KEY_LEN);
	return CS_OK;
}

enum cs_err
cs_seal_header_finish(struct cs_seal_header *h, const struct cs_seal_keys *keys,
                      uint8_t out[CS_SEAL_HEADER_LEN])
{
	ENSURE(h != NULL && keys != NULL && out != NULL, CS_ERR_INVAL);
	memset(h->mac, 0, sizeof(h->mac));
	TRY(cs_seal_header_encode(h, out));
	TRY(cs_hmac(CS_SHA256, keys->mac, CS_SEAL_KEY_LEN, out, CS_SEAL_MAC_OFF, h->mac));
	memcpy(out + CS_SEAL_MAC_OFF, h->mac, 32);
	return CS_OK;
}

enum cs_err
cs_seal_header_open(const struct cs_seal_header *h, const uint8_t raw[CS_SEAL_HEADER_LEN],
                    const uint8_t kek[CS_SEAL_KEY_LEN], struct cs_seal_keys *keys)
{
	enum cs_err err = CS_ERR_WRONG_KEY; /* default deny */
	uint8_t mac[32];

	ENSURE(h != NULL && raw != NULL && kek != NULL && keys != NULL, CS_ERR_INVAL);
	/* The 64-bit integrity check of RFC 3394 rejects a wrong KEK or a tampered wrap. */
	if (cs_aes_kw_unwrap(kek, h->wrapped_dek, CS_SEAL_WRAPPED_LEN, keys->dek) != CS_OK)
		goto out;
	if ((err = cs_seal_keys_derive(keys, h->salt)) != CS_OK)
		goto out;
	/* Key commitment, before any chunk is touched: this DEK is the one the file was sealed
	 * under, so no ciphertext can be made to open under two keys. */
	err = CS_ERR_WRONG_KEY;
	if (!cs_ct_eq(keys->commit, h->commit, CS_SEAL_KEY_LEN))
		goto out;
	if ((err = cs_hmac(CS_SHA256, keys->mac, CS_SEAL_KEY_LEN, raw, CS_SEAL_MAC_OFF, mac)) !=
	    CS_OK)
		goto out;
	err = CS_ERR_SEAL_HEADER;
	if (!cs_ct_eq(mac, raw + CS_SEAL_MAC_OFF, sizeof(mac)))
		goto out;
	err = CS_OK; /* the only line that grants success */
out:
	cs_wipe(mac, sizeof(mac));
	if (err != CS_OK)
		cs_wipe(keys, sizeof(*keys));
	return err;
}

enum cs_err
cs_seal_header_rewrap(struct cs_seal_header *h, const struct cs_seal_keys *keys,
                      const uint8_t new_kek[CS_SEAL_KEY_LEN], const char *new_key_id,
                      uint8_t out[CS_SEAL_HEADER_LEN])
{
	ENSURE(h != NULL && keys != NULL && new_kek != NULL, CS_ERR_INVAL);
	TRY(set_key_id(h, new_key_id));
	TRY(cs_aes_kw_wrap(new_kek, keys->dek, CS_SEAL_KEY_LEN, h->wrapped_dek));
	return cs_seal_header_finish(h, keys, out);
}

/* ---- §5 manifest ---- */

void
cs_seal_manifest_init(struct cs_seal_manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void
cs_seal_manifest_fini(struct cs_seal_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].name);
	free(m->entries);
	memset(m, 0, sizeof(*m));
}

enum cs_err
cs_seal_path_check(const char *s, size_t n)
{
	size_t start = 0;

	ENSURE(s != NULL && n >= 1, CS_ERR_PATH);
	ENSURE(n <= CS_SEAL_PATH_MAX, CS_ERR_PATH);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '/') {
			ENSURE((uint8_t)s[i] >= 0x20 && (uint8_t)s[i] != 0x7f, CS_ERR_PATH);
			continue;
		}
		/* Component [start, i). */
		size_t len = i - start;
		ENSURE(len > 0, CS_ERR_PATH);
		ENSURE(!(len == 1 && s[start] == '.'), CS_ERR_PATH);
		ENSURE(!(len == 2 && s[start] == '.' && s[start + 1] == '.'), CS_ERR_PATH);
		start = i + 1;
	}
	/* The manifest's own name is reserved at the top level. */
	ENSURE(!(n == strlen(CS_SEAL_MANIFEST_NAME) && memcmp(s, CS_SEAL_MANIFEST_NAME, n) == 0),
	       CS_ERR_PATH);
	return CS_OK;
}

static int
name_cmp(const char *a, const char *b)
{
	return strcmp(a, b);
}

/* Each entry takes at least 2 + 1 + 8 + 32 + 32 bytes. */
#define ENTRY_MIN 75

enum cs_err
cs_seal_manifest_parse(const uint8_t *p, size_t n, struct cs_seal_manifest *m)
{
	enum cs_err err;
	struct cs_rd r;
	const uint8_t *magic, *s;
	uint16_t v16, klen;
	uint32_t count;

	ENSURE(p != NULL && m != NULL && m->entries == NULL, CS_ERR_INVAL);
	ENSURE(n <= CS_SEAL_MANIFEST_MAX, CS_ERR_TOO_LARGE);
	cs_rd_init(&r, p, n);
	TRY(cs_rd_bytes(&r, 8, &magic));
	ENSURE(memcmp(magic, manifest_magic, 8) == 0, CS_ERR_UNSUPPORTED);
	TRY(cs_rd_u16le(&r, &v16));
	ENSURE(v16 == CS_SEAL_VERSION, CS_ERR_UNSUPPORTED);
	TRY(cs_rd_zero(&r, 2));
	TRY(cs_rd_u32le(&r, &count));
	ENSURE(count <= CS_SEAL_MANIFEST_FILES_MAX, CS_ERR_TOO_LARGE);
	TRY(cs_rd_copy(&r, m->salt, sizeof(m->salt)));
	TRY(cs_rd_u16le(&r, &klen));
	ENSURE(klen >= 1 && klen <= CS_SEAL_KEY_ID_MAX, CS_ERR_LENGTH);
	TRY(cs_rd_bytes(&r, klen, &s));
	TRY(cs_seal_key_id_check((const char *)s, klen));
	memcpy(m->key_id, s, klen);
	m->key_id[klen] = '\0';
	/* Never allocate from a declared count before the bytes are known to be present. */
	ENSURE((uint64_t)count * ENTRY_MIN + 32 <= cs_rd_left(&r), CS_ERR_TRUNCATED);
	if (count > 0) {
		m->entries = calloc(count, sizeof(*m->entries));
		ENSURE(m->entries != NULL, CS_ERR_NOMEM);
	}
	for (uint32_t i = 0; i < count; i++) {
		struct cs_seal_entry *e = &m->entries[i];
		uint16_t nlen;

		if ((err = cs_rd_u16le(&r, &nlen)) != CS_OK ||
		    (err = cs_rd_bytes(&r, nlen, &s)) != CS_OK)
			goto fail;
		if ((err = cs_seal_path_check((const char *)s, nlen)) != CS_OK)
			goto fail;
		if ((e->name = malloc((size_t)nlen + 1)) == NULL) {
			err = CS_ERR_NOMEM;
			goto fail;
		}
		memcpy(e->name, s, nlen);
		e->name[nlen] = '\0';
		m->n = i + 1;
		if ((err = cs_rd_u64le(&r, &e->plaintext_len)) != CS_OK ||
		    (err = cs_rd_copy(&r, e->plaintext_sha256, 32)) != CS_OK ||
		    (err = cs_rd_copy(&r, e->header_sha256, 32)) != CS_OK)
			goto fail;
		err = CS_ERR_TOO_LARGE;
		if (e->plaintext_len > CS_SEAL_PLAINTEXT_MAX)
			goto fail;
		/* Strictly sorted: no duplicates, one canonical encoding. */
		err = CS_ERR_MANIFEST;
		if (i > 0 && name_cmp(m->entries[i - 1].name, e->name) >= 0)
			goto fail;
	}
	if ((err = cs_rd_copy(&r, m->mac, sizeof(m->mac))) != CS_OK ||
	    (err = cs_rd_end(&r)) != CS_OK)
		goto fail;
	return CS_OK;
fail:
	cs_seal_manifest_fini(m);
	return err;
}

static enum cs_err
manifest_key(const uint8_t kek[CS_SEAL_KEY_LEN], const uint8_t salt[CS_SEAL_SALT_LEN],
             uint8_t key[32])
{
	return cs_hkdf(CS_SHA256, salt, CS_SEAL_SALT_LEN, kek, CS_SEAL_KEY_LEN,
	               (const uint8_t *)INFO_MANIFEST, strlen(INFO_MANIFEST), key, 32);
}

enum cs_err
cs_seal_manifest_verify(const uint8_t *p, size_t n, const uint8_t kek[CS_SEAL_KEY_LEN])
{
	enum cs_err err = CS_ERR_MANIFEST; /* default deny */
	uint8_t key[32], mac[32];

	/* The salt sits at [16, 48); the MAC is the last 32 bytes. */
	ENSURE(p != NULL && kek != NULL, CS_ERR_INVAL);
	ENSURE(n >= 48 + 32, CS_ERR_TRUNCATED);
	if ((err = manifest_key(kek, p + 16, key)) != CS_OK)
		goto out;
	if ((err = cs_hmac(CS_SHA256, key, sizeof(key), p, n - 32, mac)) != CS_OK)
		goto out;
	err = CS_ERR_MANIFEST;
	if (!cs_ct_eq(mac, p + n - 32, 32))
		goto out;
	err = CS_OK; /* the only line that grants success */
out:
	cs_wipe(key, sizeof(key));
	return err;
}

static int
entry_cmp(const void *a, const void *b)
{
	return name_cmp(((const struct cs_seal_entry *)a)->name,
	                ((const struct cs_seal_entry *)b)->name);
}

enum cs_err
cs_seal_manifest_encode(struct cs_seal_manifest *m, const uint8_t kek[CS_SEAL_KEY_LEN],
                        uint8_t **out, size_t *out_len)
{
	enum cs_err err;
	struct cs_buf b;
	uint8_t key[32];
	size_t klen;

	ENSURE(m != NULL && kek != NULL && out != NULL && out_len != NULL, CS_ERR_INVAL);
	ENSURE(m->n <= CS_SEAL_MANIFEST_FILES_MAX, CS_ERR_TOO_LARGE);
	klen = strnlen(m->key_id, sizeof(m->key_id));
	TRY(cs_seal_key_id_check(m->key_id, klen));
	if (m->n > 1)
		qsort(m->entries, m->n, sizeof(*m->entries), entry_cmp);
	for (size_t i = 0; i < m->n; i++) {
		TRY(cs_seal_path_check(m->entries[i].name, strlen(m->entries[i].name)));
		ENSURE(i == 0 || name_cmp(m->entries[i - 1].name, m->entries[i].name) < 0,
		       CS_ERR_EXISTS);
	}
	cs_buf_init(&b, CS_SEAL_MANIFEST_MAX);
	if ((err = cs_buf_append(&b, manifest_magic, 8)) != CS_OK ||
	    (err = cs_buf_put_u16le(&b, CS_SEAL_VERSION)) != CS_OK ||
	    (err = cs_buf_put_u16le(&b, 0)) != CS_OK ||
	    (err = cs_buf_put_u32le(&b, (uint32_t)m->n)) != CS_OK ||
	    (err = cs_buf_append(&b, m->salt, sizeof(m->salt))) != CS_OK ||
	    (err = cs_buf_put_u16le(&b, (uint16_t)klen)) != CS_OK ||
	    (err = cs_buf_append(&b, m->key_id, klen)) != CS_OK)
		goto out;
	for (size_t i = 0; i < m->n; i++) {
		const struct cs_seal_entry *e = &m->entries[i];
		size_t nlen = strlen(e->name);

		if ((err = cs_buf_put_u16le(&b, (uint16_t)nlen)) != CS_OK ||
		    (err = cs_buf_append(&b, e->name, nlen)) != CS_OK ||
		    (err = cs_buf_put_u64le(&b, e->plaintext_len)) != CS_OK ||
		    (err = cs_buf_append(&b, e->plaintext_sha256, 32)) != CS_OK ||
		    (err = cs_buf_append(&b, e->header_sha256, 32)) != CS_OK)
			goto out;
	}
	if ((err = manifest_key(kek, m->salt, key)) != CS_OK ||
	    (err = cs_hmac(CS_SHA256, key, sizeof(key), b.p, b.len, m->mac)) != CS_OK ||
	    (err = cs_buf_append(&b, m->mac, 32)) != CS_OK)
		goto out;
	*out = cs_buf_take(&b, out_len);
	err = *out != NULL ? CS_OK : CS_ERR_NOMEM;
out:
	cs_wipe(key, sizeof(key));
	cs_buf_fini(&b);
	return err;
}

const struct cs_seal_entry *
cs_seal_manifest_find(const struct cs_seal_manifest *m, const char *name)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(m->entries[mid].name, name);
		if (c == 0)
			return &m->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

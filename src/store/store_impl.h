/*
 * The backend contract behind store.h. A backend stores rows; it never sees a plaintext resource
 * value or the master key. store.c validates arguments, does the envelope encryption and the audit
 * chain hashing, and calls these operations. Every write operation commits durably before it
 * returns; every operation is safe to call from many threads at once.
 */
#ifndef CS_STORE_IMPL_H
#define CS_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/aead.h"
#include "store/store.h"

/* The envelope of one resource version. alg 1: AES-256-GCM value, DEK wrapped with RFC 3394. */
#define CS_STORE_ALG_GCM_KW 1
#define CS_STORE_WDEK_LEN 40

struct cs_res_row {
	uint64_t version;
	int64_t created;
	uint32_t alg;
	uint8_t iv[CS_GCM_IV_LEN];
	uint8_t tag[CS_GCM_TAG_LEN];
	uint8_t wdek[CS_STORE_WDEK_LEN];
	uint8_t *ct; /* put: borrowed; get: returned owned (free()) */
	size_t ct_len;
};

/* Called by res_put inside its write transaction once the next version is known: fills row. */
typedef enum cs_err (*cs_res_seal_fn)(void *arg, uint64_t version, struct cs_res_row *row);

/* A stored audit record, borrowed for the duration of the callback. */
struct cs_audit_row {
	uint64_t seq;
	int64_t time;
	const char *kind;
	size_t kind_len;
	const char *body;
	size_t body_len;
	const uint8_t *hash; /* hash_len bytes as stored (may be of the wrong length if edited) */
	size_t hash_len;
};

/* Iteration callback: anything but CS_OK stops the iteration and is returned. */
typedef enum cs_err (*cs_audit_row_fn)(void *arg, const struct cs_audit_row *r);

/*
 * Called by audit_append inside its write transaction: computes hash_seq from hash_{seq-1}, and
 * the MAC of the new chain head (seq, hash_seq) that the backend stores with the head.
 */
typedef enum cs_err (*cs_audit_chain_fn)(void *arg, uint64_t seq,
                                         const uint8_t prev[CS_STORE_HASH_LEN],
                                         uint8_t hash[CS_STORE_HASH_LEN],
                                         uint8_t mac[CS_STORE_HASH_LEN]);

/* Master key rotation, called inside the backend's rekey transaction. */
struct cs_rekey_fns {
	/* Unwraps a DEK under the old master key and wraps it under the new one. */
	enum cs_err (*rewrap)(void *arg, const uint8_t in[CS_STORE_WDEK_LEN],
	                      uint8_t out[CS_STORE_WDEK_LEN]);
	/* Checks the audit head's MAC under the old key, computes it under the new one. */
	enum cs_err (*remac)(void *arg, uint64_t seq, const uint8_t hash[CS_STORE_HASH_LEN],
	                     const uint8_t mac[CS_STORE_HASH_LEN], uint8_t out[CS_STORE_HASH_LEN]);
};

struct cs_store_ops {
	void (*close)(void *be);

	enum cs_err (*res_put)(void *be, const char *path, int64_t created, cs_res_seal_fn seal,
	                       void *arg, uint64_t *version);
	/* version 0: the latest. row->ct returns owned. */
	enum cs_err (*res_get)(void *be, const char *path, uint64_t version,
	                       struct cs_res_row *row);
	enum cs_err (*res_versions)(void *be, const char *path, struct cs_store_version **out,
	                            size_t *n);
	enum cs_err (*res_delete)(void *be, const char *path);
	enum cs_err (*res_list)(void *be, const char *prefix, struct cs_store_list *out);

	enum cs_err (*pol_put)(void *be, const char *kind, const char *id, const uint8_t *text,
	                       size_t len, int64_t created, uint64_t *version);
	enum cs_err (*pol_get)(void *be, const char *kind, const char *id, uint64_t version,
	                       struct cs_store_policy *out);
	enum cs_err (*pol_list)(void *be, const char *kind, struct cs_store_list *out);
	enum cs_err (*pol_versions)(void *be, const char *kind, const char *id,
	                            struct cs_store_version **out, size_t *n);
	enum cs_err (*pol_delete)(void *be, const char *kind, const char *id);

	enum cs_err (*rv_put)(void *be, const char *name, const uint8_t *json, size_t len,
	                      int64_t expires, int64_t updated);
	/* Appends the stored JSON text to out; *expires gets the expiry. */
	enum cs_err (*rv_get)(void *be, const char *name, struct cs_buf *out, int64_t *expires);
	enum cs_err (*rv_list)(void *be, int64_t now, struct cs_store_list *out);
	enum cs_err (*rv_delete)(void *be, const char *name);

	enum cs_err (*nonce_record)(void *be, const uint8_t *digest, size_t len, int64_t expires);
	enum cs_err (*nonce_purge)(void *be, int64_t now, uint64_t *purged);

	enum cs_err (*audit_append)(void *be, int64_t time, const char *kind, const char *body,
	                            size_t body_len, cs_audit_chain_fn chain, void *arg,
	                            uint64_t *seq);
	/*
	 * Calls fn for each record with from <= seq <= to (to 0: all), in seq order, in one read
	 * snapshot; then, when head_seq is not NULL, reads the chain head in the same snapshot
	 * and its MAC (head_seq 0 and zero hash and MAC when there is no head).
	 */
	enum cs_err (*audit_iter)(void *be, uint64_t from, uint64_t to, cs_audit_row_fn fn,
	                          void *arg, uint64_t *head_seq,
	                          uint8_t head_hash[CS_STORE_HASH_LEN],
	                          uint8_t head_mac[CS_STORE_HASH_LEN]);

	/* The store's own settings (text key -> text value): get appends the value to out. */
	enum cs_err (*meta_get)(void *be, const char *k, struct cs_buf *out);
	/* Sets k to v unless k exists (then nothing changes, and CS_OK). */
	enum cs_err (*meta_add)(void *be, const char *k, const char *v);

	/*
	 * In one write transaction: rewraps every resource's DEK, re-MACs the audit head (when
	 * there is one) and sets the key check value to kcv.
	 */
	enum cs_err (*rekey)(void *be, const struct cs_rekey_fns *f, void *arg, const char *kcv);
};

/* The SQLite backend. path: a file name or ":memory:"; *be returns owned (close it through ops). */
enum cs_err cs_store_sqlite_open(const char *path, const struct cs_store_opts *opts,
                                 const struct cs_store_ops **ops, void **be);

/*
 * The PostgreSQL backend (when built with libpq): url is a libpq connection URI
 * ("postgresql://user@host/db?..." or "postgres://..."), borrowed.
 */
enum cs_err cs_store_pg_open(const char *url, const struct cs_store_opts *opts,
                             const struct cs_store_ops **ops, void **be);

/* Shared by the backends: appends a copy of s to l. */
enum cs_err cs_store_list_add(struct cs_store_list *l, const char *s, size_t n);

#endif

/*
 * The storage layer of custos-kbs: resources (secret, versioned, encrypted at rest), policies
 * (versioned), reference values (with expiry), consumed nonces (the replay cache) and a
 * hash-chained audit log.
 *
 * A store is opened by URL. "sqlite:///abs/path/kbs.db" (or "sqlite://relative/path.db", or
 * "sqlite::memory:" for tests) selects the embedded SQLite backend; "postgresql://..." or
 * "postgres://..." (a libpq connection URI) selects PostgreSQL, which several KBS replicas can
 * share. Both run the same SQL layer (sql.c) through a small driver, so callers never see which
 * backend they use. store.c validates arguments and does all the cryptography; a backend only
 * moves rows and never sees a plaintext resource value or the master key.
 *
 * Threads: a struct cs_store may be used from any number of threads at once. Each call borrows a
 * database connection from a small pool held by the store (one connection per concurrent caller,
 * each with its own cached prepared statements), so calls run in parallel where the backend allows.
 *
 * Concurrent writes of one process share a transaction and its commit (group commit; each write
 * is undone alone if it fails), so write throughput grows with the number of writers.
 *
 * Durability: every write function returns only after its transaction is durably committed
 * (SQLite: WAL with synchronous=FULL; PostgreSQL: synchronous_commit=on). What was acknowledged
 * survives kill -9 and power loss.
 *
 * Encryption at rest: every resource value gets a fresh 32-byte data key (DEK); the value is
 * sealed with AES-256-GCM under the DEK, with additional data binding the resource path and
 * version (rows cannot be swapped or replayed under another name), and the DEK is wrapped with
 * AES-256 key wrap (RFC 3394) under the master key. The master key is a file of exactly 32 random
 * bytes, created 0600 on first open (O_EXCL, file and directory fsynced) and refused if it has any
 * group or other permission bits or the wrong size; in memory it lives in cs_secure_alloc memory.
 * Policies, reference values, nonces and the audit log are not secret and are stored in clear.
 *
 * Names: resource paths are "<repo>/<type>/<tag>", each segment 1..128 bytes of [A-Za-z0-9_.-]
 * and not "." or ".." (CS_ERR_PATH otherwise). Policy ids, policy kinds and reference-value names
 * are 1..CS_STORE_NAME_MAX bytes of printable ASCII (0x21..0x7e) (CS_ERR_INVAL otherwise).
 *
 * Ownership: every char * and const char * argument is borrowed, NUL-terminated text; outputs are
 * stated per function.
 */
#ifndef CS_STORE_STORE_H
#define CS_STORE_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* The largest resource value, policy text and reference value: 1 MiB. */
#define CS_STORE_VALUE_MAX ((size_t)1 << 20)
/* The longest policy id, kind or reference-value name. */
#define CS_STORE_NAME_MAX 256
/* The longest resource path ("repo/type/tag"). */
#define CS_STORE_PATH_MAX 386
/* Audit chain hashes are SHA-256. */
#define CS_STORE_HASH_LEN 32

struct cs_store; /* opaque */

struct cs_store_opts {
	/*
	 * The master key file. NULL: "<database path>.master-key" for an SQLite file; an
	 * in-memory database gets an ephemeral random key (tests only); PostgreSQL requires it
	 * (CS_ERR_CONFIG), and every replica must be given the same key file.
	 */
	const char *master_key_path;
	/* Connections kept for concurrent callers; 0 means 8. Callers beyond it wait. */
	unsigned max_connections;
	/* SQLite: how long a writer waits for another process's lock, in ms; 0 means 5000. */
	unsigned busy_timeout_ms;
};

/*
 * Opens (creating when absent) the store named by url. opts may be NULL for the defaults.
 * *out returns owned; release with cs_store_free. CS_ERR_UNSUPPORTED for an unknown scheme,
 * CS_ERR_CONFIG for an unusable master key file (wrong mode, owner or size, a symlink),
 * CS_ERR_KEY when the database was bound to another master key, or its key file is missing (the
 * database records a check value of its key on first open; a key is created only for a
 * database that has none),
 * CS_ERR_STORE when the database cannot be opened or its schema is of another version,
 * CS_ERR_NETWORK when a PostgreSQL server cannot be reached.
 */
CS_MUST_USE enum cs_err cs_store_open(const char *url, const struct cs_store_opts *opts,
                                      struct cs_store **out);

/* Takes s; waits for nothing (callers must have returned); NULL is a no-op. */
void cs_store_free(struct cs_store *s);

/*
 * Master key rotation, an OFFLINE operation: s must be the only user of the database (stop every
 * KBS replica first; no other call on s may run meanwhile). Opens or creates the key file at
 * new_key_path (same rules as the master key) and, in one transaction, rewraps every resource's
 * data key under it, re-MACs the audit head (after checking it under the old key) and rebinds the
 * database to it; s then uses the new key. Values are not re-encrypted (their data keys are
 * unchanged). A crash leaves the database bound to exactly one of the two keys. Afterwards point
 * the configuration at the new key file, then destroy the old one. CS_ERR_INVAL when it is the
 * same key, CS_ERR_VERIFY when the audit head does not verify, CS_ERR_DECRYPT when a wrapped
 * key does not unwrap (a tampered row: delete or restore it first); nothing changes on error.
 */
CS_MUST_USE enum cs_err cs_store_rekey(struct cs_store *s, const char *new_key_path);

/* A list of names; cs_store_list_fini frees it (safe on a zeroed list). */
struct cs_store_list {
	char **items; /* owned; items[i] owned, NUL-terminated */
	size_t n;
};
void cs_store_list_fini(struct cs_store_list *l);

/* One version of a resource or policy. */
struct cs_store_version {
	uint64_t version; /* 1, 2, ... */
	int64_t created;  /* Unix seconds (cs_clock_now at put) */
	size_t size;      /* bytes of the value or text */
};

/* ---- Resources (secret, encrypted at rest, versioned) ---- */

/*
 * Stores value (borrowed, 0..CS_STORE_VALUE_MAX bytes; CS_ERR_TOO_LARGE above) as the next version
 * of path (1 if new); earlier versions are kept. *version (may be NULL) gets the new version.
 */
CS_MUST_USE enum cs_err cs_store_resource_put(struct cs_store *s, const char *path,
                                              const uint8_t *value, size_t len, uint64_t *version);

/*
 * Appends the plaintext of version `version` of path (0: the latest) to out, which the caller
 * owns and must cs_buf_fini (it wipes); size out's cap at least CS_STORE_VALUE_MAX. *got (may be
 * NULL) gets the version returned. CS_ERR_NOT_FOUND when the path or version does not exist;
 * CS_ERR_DECRYPT when the row fails authentication (tampered, swapped, or wrong master key).
 */
CS_MUST_USE enum cs_err cs_store_resource_get(struct cs_store *s, const char *path,
                                              uint64_t version, struct cs_buf *out, uint64_t *got);

/* Lists the versions of path, oldest first, into *out (returns owned, free()); *n entries. */
CS_MUST_USE enum cs_err cs_store_resource_versions(struct cs_store *s, const char *path,
                                                   struct cs_store_version **out, size_t *n);

/*
 * Removes path and ALL its versions (history included; SQLite overwrites the freed pages). A later
 * put starts again at version 1. CS_ERR_NOT_FOUND when absent.
 */
CS_MUST_USE enum cs_err cs_store_resource_delete(struct cs_store *s, const char *path);

/* Lists the paths that exist (sorted) whose text starts with prefix (NULL or "": all). */
CS_MUST_USE enum cs_err cs_store_resource_list(struct cs_store *s, const char *prefix,
                                               struct cs_store_list *out);

/* ---- Policies (not secret, versioned) ---- */

/* A policy version as returned by cs_store_policy_get; cs_store_policy_fini frees it. */
struct cs_store_policy {
	char *kind;    /* owned, e.g. "resource", "appraisal" */
	char *id;      /* owned */
	uint8_t *text; /* owned, NUL-terminated one past text_len */
	size_t text_len;
	uint64_t version;
	int64_t created; /* Unix seconds */
};
void cs_store_policy_fini(struct cs_store_policy *p);

/*
 * Policies are keyed by (kind, id). Stores text (borrowed, 1..CS_STORE_VALUE_MAX bytes) as the
 * next version; *version (may be NULL) gets it.
 */
CS_MUST_USE enum cs_err cs_store_policy_put(struct cs_store *s, const char *kind, const char *id,
                                            const uint8_t *text, size_t len, uint64_t *version);

/* Gets version `version` (0: latest) into *out (returns owned). CS_ERR_NOT_FOUND when absent. */
CS_MUST_USE enum cs_err cs_store_policy_get(struct cs_store *s, const char *kind, const char *id,
                                            uint64_t version, struct cs_store_policy *out);

/* Lists the ids of kind (sorted) into *out. */
CS_MUST_USE enum cs_err cs_store_policy_list(struct cs_store *s, const char *kind,
                                             struct cs_store_list *out);

/* Lists the versions of (kind, id), oldest first; *out returns owned (free()). */
CS_MUST_USE enum cs_err cs_store_policy_versions(struct cs_store *s, const char *kind,
                                                 const char *id, struct cs_store_version **out,
                                                 size_t *n);

/* Removes (kind, id) and all its versions. CS_ERR_NOT_FOUND when absent. */
CS_MUST_USE enum cs_err cs_store_policy_delete(struct cs_store *s, const char *kind,
                                               const char *id);

/* ---- Reference values (not secret, with expiry) ---- */

/*
 * Sets name to value (borrowed; any JSON, typically an array of strings; serialized at most
 * CS_STORE_VALUE_MAX bytes) valid until `expires` (Unix seconds; a value with expires <= now is
 * expired). Replaces any earlier value of name.
 */
CS_MUST_USE enum cs_err cs_store_refval_put(struct cs_store *s, const char *name,
                                            const json_t *value, int64_t expires);

/*
 * Gets name's value at time now into *value (returns owned; json_decref) and its expiry into
 * *expires (may be NULL). CS_ERR_NOT_FOUND when absent, CS_ERR_EXPIRED when present but expired
 * (callers treat both as "no match").
 */
CS_MUST_USE enum cs_err cs_store_refval_get(struct cs_store *s, const char *name, int64_t now,
                                            json_t **value, int64_t *expires);

/* Lists the names not expired at now (sorted). */
CS_MUST_USE enum cs_err cs_store_refval_list(struct cs_store *s, int64_t now,
                                             struct cs_store_list *out);

/* Removes name. CS_ERR_NOT_FOUND when absent. */
CS_MUST_USE enum cs_err cs_store_refval_delete(struct cs_store *s, const char *name);

/* ---- Consumed nonces (replay cache shared by replicas) ---- */

/*
 * Records digest (borrowed, 1..64 bytes; e.g. SHA-256 of a challenge nonce) as consumed until
 * `expires`. CS_ERR_EXISTS when it is already recorded (expired or not, until purged): the
 * insert is atomic, so of two replicas racing on one nonce exactly one gets CS_OK.
 * Durability is weaker than every other write's, on purpose: on SQLite the record survives a
 * crash of the process (kill -9) but a power loss or OS crash may drop the last few (WAL with
 * synchronous=NORMAL; any later durable write makes them durable too). Losing one re-opens replay
 * of that challenge only until `expires`, and a replayed attestation stays bound to the original
 * tee-pubkey, whose private key the replayer lacks (docs/ARCHITECTURE.md, "Nonce records").
 * PostgreSQL commits them durably like everything else.
 */
CS_MUST_USE enum cs_err cs_store_nonce_record(struct cs_store *s, const uint8_t *digest, size_t len,
                                              int64_t expires);

/* Deletes nonces with expires <= now; *purged (may be NULL) gets how many. */
CS_MUST_USE enum cs_err cs_store_nonce_purge(struct cs_store *s, int64_t now, uint64_t *purged);

/* ---- Audit log (append-only, hash-chained) ---- */

/*
 * Record n's canonical bytes are the RFC 8785 (JCS) form of
 *   {"body": <body>, "kind": <kind>, "seq": n, "time": <time>}
 * and hash_n = SHA-256(hash_{n-1} || canonical bytes), hash_0 = 32 zero bytes; seq starts at 1.
 * The chain head (last seq and hash) is updated in the same transaction as the append and
 * carries an HMAC-SHA256 under a key derived from the master key, so dropping the last records
 * is detected too, even with the head rewritten to match (by anyone without the master key).
 * Not detectable from inside: a rollback of the whole database to an older copy.
 *
 * NEVER put a secret value in an audit record (resource values, keys, tokens): the log is not
 * encrypted and is exported verbatim. Record digests, paths, versions, verdicts and ids instead.
 * This is the caller's duty; the store cannot tell.
 */
struct cs_audit_rec {
	uint64_t seq;
	int64_t time; /* Unix seconds */
	char *kind;   /* owned, e.g. "attest", "release", "admin" */
	char *body;   /* owned JCS JSON text of the body */
	size_t body_len;
	uint8_t hash[CS_STORE_HASH_LEN]; /* hash_seq as stored */
};

/*
 * Appends a record: kind is 1..64 bytes of [A-Za-z0-9_.-]; body (borrowed) a JSON object whose
 * canonical form is at most CS_STORE_VALUE_MAX bytes; |time| < 2^53. *seq (may be NULL) gets the
 * record's seq. CS_ERR_VERIFY when the stored chain head is malformed (tampered).
 */
CS_MUST_USE enum cs_err cs_store_audit_append(struct cs_store *s, int64_t time, const char *kind,
                                              const json_t *body, uint64_t *seq);

/*
 * Lists at most max records with seq >= from, in order, into *recs (returns owned; free with
 * cs_audit_recs_free(*recs, *n)).
 */
CS_MUST_USE enum cs_err cs_store_audit_list(struct cs_store *s, uint64_t from, size_t max,
                                            struct cs_audit_rec **recs, size_t *n);
void cs_audit_recs_free(struct cs_audit_rec *recs, size_t n);

/*
 * Appends records with from <= seq <= to (to == 0: through the last) to out as JSON lines:
 *   {"body":...,"hash":"<hex>","kind":"...","seq":n,"time":t}\n
 * CS_ERR_TOO_LARGE when out's cap is reached (out then holds whole lines only up to that point).
 */
CS_MUST_USE enum cs_err cs_store_audit_export(struct cs_store *s, uint64_t from, uint64_t to,
                                              struct cs_buf *out);

/*
 * Recomputes the whole chain from its stored fields and compares with the stored hashes and the
 * chain head. CS_OK when intact (*count gets the number of records); CS_ERR_VERIFY when not, with
 * *bad_seq the first seq at which the chain breaks (an edited, inserted, dropped or reordered
 * record, or a head that does not match; for records dropped from the end, last seq + 1).
 * count and bad_seq may be NULL.
 */
CS_MUST_USE enum cs_err cs_store_audit_verify(struct cs_store *s, uint64_t *count,
                                              uint64_t *bad_seq);

#endif

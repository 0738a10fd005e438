/*
 * The SQLite backend: one database file in WAL mode with synchronous=FULL, so a commit is durable
 * when sqlite3_step returns for COMMIT (the WAL is fsynced), and readers never block the writer.
 *
 * Threads: a pool of connections, each used by one thread at a time (SQLITE_OPEN_NOMUTEX), each
 * with its prepared statements cached (prepared once, reset after use). Writers inside this
 * process are serialized by a mutex before BEGIN IMMEDIATE, so they queue on a futex instead of in
 * SQLite's sleeping busy handler; busy_timeout still covers other processes on the same file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_impl.h"

#define SCHEMA_VERSION "1"

/*
 * The schema. Resource rows hold only the envelope (IV, tag, wrapped DEK, ciphertext). The audit
 * table refuses UPDATE and DELETE through triggers: defence in depth for the hash chain, which is
 * what actually detects tampering by someone who drops the triggers.
 */
static const char schema_sql[] =
        "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS resource ("
        " path TEXT NOT NULL, version INTEGER NOT NULL, created INTEGER NOT NULL,"
        " alg INTEGER NOT NULL, iv BLOB NOT NULL, tag BLOB NOT NULL, wdek BLOB NOT NULL,"
        " ct BLOB NOT NULL, UNIQUE (path, version));"
        "CREATE TABLE IF NOT EXISTS policy ("
        " kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,"
        " created INTEGER NOT NULL, text BLOB NOT NULL, UNIQUE (kind, id, version));"
        "CREATE TABLE IF NOT EXISTS refval ("
        " name TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER NOT NULL,"
        " updated INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS nonce ("
        " digest BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS nonce_expires ON nonce (expires);"
        "CREATE TABLE IF NOT EXISTS audit ("
        " seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,"
        " body TEXT NOT NULL, hash BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS audit_head ("
        " id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash BLOB NOT NULL,"
        " mac BLOB NOT NULL);"
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
        " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
        " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
        "INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', '" SCHEMA_VERSION "');";

enum st {
	ST_BEGIN,
	ST_BEGIN_IMM,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_RES_MAXV,
	ST_RES_INS,
	ST_RES_LATEST,
	ST_RES_VER,
	ST_RES_VERSIONS,
	ST_RES_DEL,
	ST_RES_LIST,
	ST_POL_MAXV,
	ST_POL_INS,
	ST_POL_LATEST,
	ST_POL_VER,
	ST_POL_LIST,
	ST_POL_VERSIONS,
	ST_POL_DEL,
	ST_RV_PUT,
	ST_RV_GET,
	ST_RV_LIST,
	ST_RV_DEL,
	ST_NONCE_INS,
	ST_NONCE_PURGE,
	ST_AUD_HEAD,
	ST_AUD_INS,
	ST_AUD_HEAD_SET,
	ST_AUD_ITER,
	ST_COUNT_
};

static const char *const st_sql[ST_COUNT_] = {
        [ST_BEGIN] = "BEGIN",
        [ST_BEGIN_IMM] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_RES_MAXV] = "SELECT COALESCE(MAX(version), 0) FROM resource WHERE path = ?1",
        [ST_RES_INS] = "INSERT INTO resource (path, version, created, alg, iv, tag, wdek, ct)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        [ST_RES_LATEST] = "SELECT version, created, alg, iv, tag, wdek, ct FROM resource"
                          " WHERE path = ?1 ORDER BY version DESC LIMIT 1",
        [ST_RES_VER] = "SELECT version, created, alg, iv, tag, wdek, ct FROM resource"
                       " WHERE path = ?1 AND version = ?2",
        [ST_RES_VERSIONS] = "SELECT version, created, length(ct) FROM resource WHERE path = ?1"
                            " ORDER BY version",
        [ST_RES_DEL] = "DELETE FROM resource WHERE path = ?1",
        [ST_RES_LIST] = "SELECT DISTINCT path FROM resource"
                        " WHERE substr(path, 1, length(?1)) = ?1 ORDER BY path",
        [ST_POL_MAXV] = "SELECT COALESCE(MAX(version), 0) FROM policy WHERE kind = ?1 AND id = ?2",
        [ST_POL_INS] = "INSERT INTO policy (kind, id, version, created, text)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
        [ST_POL_LATEST] = "SELECT version, created, text FROM policy WHERE kind = ?1 AND id = ?2"
                          " ORDER BY version DESC LIMIT 1",
        [ST_POL_VER] = "SELECT version, created, text FROM policy"
                       " WHERE kind = ?1 AND id = ?2 AND version = ?3",
        [ST_POL_LIST] = "SELECT DISTINCT id FROM policy WHERE kind = ?1 ORDER BY id",
        [ST_POL_VERSIONS] = "SELECT version, created, length(text) FROM policy"
                            " WHERE kind = ?1 AND id = ?2 ORDER BY version",
        [ST_POL_DEL] = "DELETE FROM policy WHERE kind = ?1 AND id = ?2",
        [ST_RV_PUT] = "INSERT INTO refval (name, value, expires, updated) VALUES (?1, ?2, ?3, ?4)"
                      " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
                      " expires = excluded.expires, updated = excluded.updated",
        [ST_RV_GET] = "SELECT value, expires FROM refval WHERE name = ?1",
        [ST_RV_LIST] = "SELECT name FROM refval WHERE expires > ?1 ORDER BY name",
        [ST_RV_DEL] = "DELETE FROM refval WHERE name = ?1",
        [ST_NONCE_INS] = "INSERT INTO nonce (digest, expires) VALUES (?1, ?2)",
        [ST_NONCE_PURGE] = "DELETE FROM nonce WHERE expires <= ?1",
        [ST_AUD_HEAD] = "SELECT seq, hash, mac FROM audit_head WHERE id = 1",
        [ST_AUD_INS] =
                "INSERT INTO audit (seq, time, kind, body, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        [ST_AUD_HEAD_SET] = "INSERT OR REPLACE INTO audit_head (id, seq, hash, mac)"
                            " VALUES (1, ?1, ?2, ?3)",
        [ST_AUD_ITER] = "SELECT seq, time, kind, body, hash FROM audit"
                        " WHERE seq >= ?1 AND (?2 = 0 OR seq <= ?2) ORDER BY seq",
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT_];
	struct conn *next; /* in the free list */
};

struct be {
	char *path;
	unsigned busy_ms;
	pthread_mutex_t mu; /* guards free, open */
	pthread_cond_t cv;
	struct conn *free;
	unsigned open, max;
	pthread_mutex_t wmu; /* serializes this process's write transactions */
};

static enum cs_err
rc_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return CS_OK;
	case SQLITE_NOMEM:
		return CS_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CS_ERR_TIMEOUT;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		return CS_ERR_IO;
	case SQLITE_TOOBIG:
		return CS_ERR_TOO_LARGE;
	case SQLITE_CONSTRAINT:
		return CS_ERR_EXISTS;
	default:
		return CS_ERR_STORE;
	}
}

static void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

static enum cs_err
conn_open(struct be *b, bool first, struct conn **out)
{
	struct conn *c = calloc(1, sizeof(*c));
	int rc, on = 1;
	enum cs_err err = CS_ERR_STORE;

	ENSURE(c != NULL, CS_ERR_NOMEM);
	rc = sqlite3_open_v2(b->path, &c->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
	                             SQLITE_OPEN_EXRESCODE,
	                     NULL);
	if (rc != SQLITE_OK) {
		err = rc_err(rc) == CS_ERR_NOMEM ? CS_ERR_NOMEM : CS_ERR_STORE;
		goto fail;
	}
	/* Refuse SQL that could corrupt the file (writable_schema and friends). */
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on);
	sqlite3_busy_timeout(c->db, (int)b->busy_ms);
	/*
	 * synchronous=FULL: in WAL mode, NORMAL may lose the last commits on power loss; FULL
	 * fsyncs the WAL at every commit. secure_delete: deleted resources are overwritten with
	 * zeros in the file, not left in free pages.
	 */
	if (sqlite3_exec(c->db,
	                 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
	                 " PRAGMA secure_delete = ON;",
	                 NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (first) {
		sqlite3_stmt *st = NULL;
		const unsigned char *v;
		/* journal_mode cannot change inside a transaction; it persists in the file. */
		if (sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(c->db, schema_sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v2(c->db, "SELECT v FROM meta WHERE k = 'schema'", -1,
			                        &st, NULL);
		if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
			v = sqlite3_column_text(st, 0);
			if (v == NULL || strcmp((const char *)v, SCHEMA_VERSION) != 0)
				rc = SQLITE_MISMATCH;
		} else if (rc == SQLITE_OK) {
			rc = SQLITE_MISMATCH;
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			err = rc_err(rc) == CS_ERR_TIMEOUT ? CS_ERR_TIMEOUT : CS_ERR_STORE;
			goto fail;
		}
	}
	*out = c;
	return CS_OK;
fail:
	conn_close(c);
	return err;
}

static enum cs_err
acquire(struct be *b, struct conn **out)
{
	struct conn *c = NULL;
	enum cs_err err;

	pthread_mutex_lock(&b->mu);
	while (b->free == NULL && b->open >= b->max)
		pthread_cond_wait(&b->cv, &b->mu);
	if (b->free != NULL) {
		c = b->free;
		b->free = c->next;
		pthread_mutex_unlock(&b->mu);
		*out = c;
		return CS_OK;
	}
	b->open++;
	pthread_mutex_unlock(&b->mu);
	err = conn_open(b, false, &c);
	if (err != CS_OK) {
		pthread_mutex_lock(&b->mu);
		b->open--;
		pthread_cond_signal(&b->cv);
		pthread_mutex_unlock(&b->mu);
		return err;
	}
	*out = c;
	return CS_OK;
}

static void
release(struct be *b, struct conn *c)
{
	/* Never hand on a connection with a transaction left open by a failed path. */
	if (!sqlite3_get_autocommit(c->db))
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&b->mu);
	c->next = b->free;
	b->free = c;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* The cached statement i, reset and unbound; NULL when it cannot be prepared. */
static sqlite3_stmt *
stmt(struct conn *c, enum st i)
{
	if (c->st[i] == NULL) {
		if (sqlite3_prepare_v3(c->db, st_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
		                       NULL) != SQLITE_OK)
			return NULL;
	}
	return c->st[i];
}

static void
done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* Runs a statement without results (BEGIN, COMMIT, ...). */
static enum cs_err
exec1(struct conn *c, enum st i)
{
	sqlite3_stmt *st = stmt(c, i);
	int rc;

	ENSURE(st != NULL, CS_ERR_STORE);
	rc = sqlite3_step(st);
	done(st);
	return rc == SQLITE_DONE ? CS_OK : rc_err(rc) == CS_OK ? CS_ERR_STORE : rc_err(rc);
}

static enum cs_err
wbegin(struct be *b, struct conn *c)
{
	enum cs_err err;

	pthread_mutex_lock(&b->wmu);
	err = exec1(c, ST_BEGIN_IMM);
	if (err != CS_OK)
		pthread_mutex_unlock(&b->wmu);
	return err;
}

/* Commits when err is CS_OK, else rolls back; returns the outcome and releases the writer lock. */
static enum cs_err
wend(struct be *b, struct conn *c, enum cs_err err)
{
	if (err == CS_OK)
		err = exec1(c, ST_COMMIT);
	if (err != CS_OK && !sqlite3_get_autocommit(c->db))
		(void)exec1(c, ST_ROLLBACK);
	pthread_mutex_unlock(&b->wmu);
	return err;
}

/* Copies a blob column of exactly n bytes; false if the stored value has another length. */
static bool
col_fixed(sqlite3_stmt *st, int i, uint8_t *dst, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);
	int len = sqlite3_column_bytes(st, i);

	if (len < 0 || (size_t)len != n || (p == NULL && n > 0))
		return false;
	memcpy(dst, p, n);
	return true;
}

static uint8_t *
col_dup(sqlite3_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(st, i);
	int len = sqlite3_column_bytes(st, i);
	uint8_t *d;

	if (len < 0 || (p == NULL && len > 0))
		return NULL;
	d = malloc((size_t)len + 1);
	if (d == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, p, (size_t)len);
	d[len] = '\0';
	*n = (size_t)len;
	return d;
}

/* ---- statements with parameters ---- */

/* One statement parameter: text (NUL-terminated when n is SIZE_MAX), integer or blob. */
struct param {
	enum { P_TEXT, P_INT, P_BLOB } type;
	const void *p;
	size_t n;
	int64_t i;
};

#define PT(s) ((struct param){P_TEXT, (s), SIZE_MAX, 0})
#define PTN(s, len) ((struct param){P_TEXT, (s), (len), 0})
#define PI(v) ((struct param){P_INT, NULL, 0, (int64_t)(v)})
#define PB(b, len) ((struct param){P_BLOB, (b), (len), 0})
/* A parameter list: the array and its length, as two arguments. */
#define PARAMS(...)                                                                                \
	(const struct param[]){__VA_ARGS__},                                                       \
	        sizeof((const struct param[]){__VA_ARGS__}) / sizeof(struct param)

/* The cached statement i with ps bound; NULL when it cannot be prepared or bound. */
static sqlite3_stmt *
prep(struct conn *c, enum st i, const struct param *ps, size_t n)
{
	sqlite3_stmt *st = stmt(c, i);
	int rc = SQLITE_OK;

	if (st == NULL)
		return NULL;
	for (size_t k = 0; k < n && rc == SQLITE_OK; k++) {
		const struct param *p = &ps[k];
		int idx = (int)k + 1;
		if (p->type == P_INT)
			rc = sqlite3_bind_int64(st, idx, p->i);
		else if (p->type == P_BLOB)
			rc = sqlite3_bind_blob64(st, idx, p->p != NULL ? p->p : "", p->n,
			                         SQLITE_STATIC);
		else if (p->n == SIZE_MAX)
			rc = sqlite3_bind_text(st, idx, p->p, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_text64(st, idx, p->p, p->n, SQLITE_STATIC, SQLITE_UTF8);
	}
	if (rc != SQLITE_OK) {
		done(st);
		return NULL;
	}
	return st;
}

/* Steps a statement that returns no rows; the statement is reset. */
static enum cs_err
step_done(sqlite3_stmt *st)
{
	int rc;

	ENSURE(st != NULL, CS_ERR_STORE);
	rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_DONE)
		return CS_OK;
	return rc_err(rc) == CS_OK ? CS_ERR_STORE : rc_err(rc);
}

/* Runs one write statement in its own durable transaction; *changes (may be NULL) gets rows. */
static enum cs_err
run_write(struct be *b, enum st i, const struct param *ps, size_t n, int64_t *changes)
{
	struct conn *c;
	enum cs_err err;

	TRY(acquire(b, &c));
	err = wbegin(b, c);
	if (err == CS_OK) {
		err = step_done(prep(c, i, ps, n));
		if (err == CS_OK && changes != NULL)
			*changes = sqlite3_changes64(c->db);
		err = wend(b, c, err);
	}
	release(b, c);
	return err;
}

/* run_write for DELETEs: CS_ERR_NOT_FOUND when no row matched. */
static enum cs_err
run_delete(struct be *b, enum st i, const struct param *ps, size_t n)
{
	int64_t changes = 0;

	TRY(run_write(b, i, ps, n, &changes));
	return changes > 0 ? CS_OK : CS_ERR_NOT_FOUND;
}

/* Reads one row; CS_ERR_NOT_FOUND when there is none; fn decodes it. */
typedef enum cs_err (*row_fn)(void *arg, sqlite3_stmt *st);

static enum cs_err
run_row(struct be *b, enum st i, const struct param *ps, size_t n, row_fn fn, void *arg)
{
	struct conn *c;
	sqlite3_stmt *st;
	enum cs_err err = CS_ERR_STORE;
	int rc;

	TRY(acquire(b, &c));
	st = prep(c, i, ps, n);
	if (st != NULL) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = fn(arg, st);
		else
			err = rc == SQLITE_DONE ? CS_ERR_NOT_FOUND : rc_err(rc);
		done(st);
	}
	release(b, c);
	return err;
}

/* Collects the first column of every row as text. */
static enum cs_err
run_list(struct be *b, enum st i, const struct param *ps, size_t n, struct cs_store_list *out)
{
	struct conn *c;
	sqlite3_stmt *st;
	enum cs_err err = CS_ERR_STORE;
	int rc = SQLITE_ERROR;

	TRY(acquire(b, &c));
	st = prep(c, i, ps, n);
	if (st != NULL) {
		err = CS_OK;
		while (err == CS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			const unsigned char *s = sqlite3_column_text(st, 0);
			int len = sqlite3_column_bytes(st, 0);
			err = s == NULL || len < 0
			              ? CS_ERR_NOMEM
			              : cs_store_list_add(out, (const char *)s, (size_t)len);
		}
		if (err == CS_OK && rc != SQLITE_DONE)
			err = rc_err(rc) == CS_OK ? CS_ERR_STORE : rc_err(rc);
		done(st);
	}
	release(b, c);
	if (err != CS_OK)
		cs_store_list_fini(out);
	return err;
}

/* Collects (version, created, size) rows; CS_ERR_NOT_FOUND when there are none. */
static enum cs_err
run_versions(struct be *b, enum st i, const struct param *ps, size_t n,
             struct cs_store_version **out, size_t *cnt)
{
	struct conn *c;
	sqlite3_stmt *st;
	struct cs_store_version *v = NULL, *nv;
	size_t k = 0, cap = 0;
	enum cs_err err = CS_ERR_STORE;
	int rc = SQLITE_ERROR;

	TRY(acquire(b, &c));
	st = prep(c, i, ps, n);
	if (st != NULL) {
		err = CS_OK;
		while (err == CS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (k == cap) {
				cap = cap ? cap * 2 : 8;
				nv = realloc(v, cap * sizeof(*v));
				if (nv == NULL) {
					err = CS_ERR_NOMEM;
					break;
				}
				v = nv;
			}
			v[k].version = (uint64_t)sqlite3_column_int64(st, 0);
			v[k].created = sqlite3_column_int64(st, 1);
			v[k].size = (size_t)sqlite3_column_int64(st, 2);
			k++;
		}
		if (err == CS_OK && rc != SQLITE_DONE)
			err = rc_err(rc) == CS_OK ? CS_ERR_STORE : rc_err(rc);
		done(st);
	}
	release(b, c);
	if (err == CS_OK && k == 0)
		err = CS_ERR_NOT_FOUND;
	if (err != CS_OK) {
		free(v);
		return err;
	}
	*out = v;
	*cnt = k;
	return CS_OK;
}

/* Fills the INSERT's parameters for a new version (at most 8). */
typedef enum cs_err (*fill_fn)(void *arg, uint64_t version, struct param *ps, size_t *n);

/*
 * Versioned insert in one write transaction: reads MAX(version) with the key parameters, asks
 * fill for the row of version max + 1, and inserts it.
 */
static enum cs_err
put_next(struct be *b, enum st maxv_st, const struct param *key, size_t nkey, enum st ins_st,
         fill_fn fill, void *arg, uint64_t *version)
{
	struct conn *c;
	struct param ins[8];
	sqlite3_stmt *st;
	size_t nins = 0;
	int64_t maxv = -1;
	enum cs_err err;

	TRY(acquire(b, &c));
	err = wbegin(b, c);
	if (err != CS_OK)
		goto out;
	err = CS_ERR_STORE;
	st = prep(c, maxv_st, key, nkey);
	if (st != NULL) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			maxv = sqlite3_column_int64(st, 0);
		else
			err = rc_err(rc) == CS_OK ? CS_ERR_STORE : rc_err(rc);
		done(st);
	}
	if (maxv >= 0 && maxv < INT64_MAX)
		err = fill(arg, (uint64_t)maxv + 1, ins, &nins);
	if (err == CS_OK)
		err = step_done(prep(c, ins_st, ins, nins));
	err = wend(b, c, err);
	if (err == CS_OK)
		*version = (uint64_t)maxv + 1;
out:
	release(b, c);
	return err;
}

/* ---- resources ---- */

struct res_fill {
	const char *path;
	int64_t created;
	cs_res_seal_fn seal;
	void *arg;
	struct cs_res_row row;
};

static enum cs_err
res_fill(void *arg, uint64_t version, struct param *ps, size_t *n)
{
	struct res_fill *f = arg;
	struct cs_res_row *r = &f->row;

	r->version = version;
	r->created = f->created;
	TRY(f->seal(f->arg, version, r));
	ps[0] = PT(f->path);
	ps[1] = PI(version);
	ps[2] = PI(r->created);
	ps[3] = PI(r->alg);
	ps[4] = PB(r->iv, sizeof(r->iv));
	ps[5] = PB(r->tag, sizeof(r->tag));
	ps[6] = PB(r->wdek, sizeof(r->wdek));
	ps[7] = PB(r->ct, r->ct_len);
	*n = 8;
	return CS_OK;
}

static enum cs_err
res_put(void *be, const char *path, int64_t created, cs_res_seal_fn seal, void *arg,
        uint64_t *version)
{
	struct res_fill f = {path, created, seal, arg, {0}};

	return put_next(be, ST_RES_MAXV, PARAMS(PT(path)), ST_RES_INS, res_fill, &f, version);
}

static enum cs_err
res_row(void *arg, sqlite3_stmt *st)
{
	struct cs_res_row *row = arg;

	row->version = (uint64_t)sqlite3_column_int64(st, 0);
	row->created = sqlite3_column_int64(st, 1);
	row->alg = (uint32_t)sqlite3_column_int64(st, 2);
	/* A field of the wrong length is a tampered row: it fails like a bad tag. */
	if (!col_fixed(st, 3, row->iv, sizeof(row->iv)) ||
	    !col_fixed(st, 4, row->tag, sizeof(row->tag)) ||
	    !col_fixed(st, 5, row->wdek, sizeof(row->wdek)))
		return CS_ERR_DECRYPT;
	row->ct = col_dup(st, 6, &row->ct_len);
	return row->ct != NULL ? CS_OK : CS_ERR_NOMEM;
}

static enum cs_err
res_get(void *be, const char *path, uint64_t version, struct cs_res_row *row)
{
	ENSURE(version <= INT64_MAX, CS_ERR_NOT_FOUND);
	if (version == 0)
		return run_row(be, ST_RES_LATEST, PARAMS(PT(path)), res_row, row);
	return run_row(be, ST_RES_VER, PARAMS(PT(path), PI(version)), res_row, row);
}

static enum cs_err
res_versions(void *be, const char *path, struct cs_store_version **out, size_t *n)
{
	return run_versions(be, ST_RES_VERSIONS, PARAMS(PT(path)), out, n);
}

static enum cs_err
res_delete(void *be, const char *path)
{
	return run_delete(be, ST_RES_DEL, PARAMS(PT(path)));
}

static enum cs_err
res_list(void *be, const char *prefix, struct cs_store_list *out)
{
	return run_list(be, ST_RES_LIST, PARAMS(PT(prefix)), out);
}

/* ---- policies ---- */

struct pol_fill {
	const char *kind, *id;
	const uint8_t *text;
	size_t len;
	int64_t created;
};

static enum cs_err
pol_fill(void *arg, uint64_t version, struct param *ps, size_t *n)
{
	struct pol_fill *f = arg;

	ps[0] = PT(f->kind);
	ps[1] = PT(f->id);
	ps[2] = PI(version);
	ps[3] = PI(f->created);
	ps[4] = PB(f->text, f->len);
	*n = 5;
	return CS_OK;
}

static enum cs_err
pol_put(void *be, const char *kind, const char *id, const uint8_t *text, size_t len,
        int64_t created, uint64_t *version)
{
	struct pol_fill f = {kind, id, text, len, created};

	return put_next(be, ST_POL_MAXV, PARAMS(PT(kind), PT(id)), ST_POL_INS, pol_fill, &f,
	                version);
}

static enum cs_err
pol_row(void *arg, sqlite3_stmt *st)
{
	struct cs_store_policy *out = arg;

	out->version = (uint64_t)sqlite3_column_int64(st, 0);
	out->created = sqlite3_column_int64(st, 1);
	out->text = col_dup(st, 2, &out->text_len);
	return out->text != NULL ? CS_OK : CS_ERR_NOMEM;
}

static enum cs_err
pol_get(void *be, const char *kind, const char *id, uint64_t version, struct cs_store_policy *out)
{
	enum cs_err err;

	ENSURE(version <= INT64_MAX, CS_ERR_NOT_FOUND);
	if (version == 0)
		err = run_row(be, ST_POL_LATEST, PARAMS(PT(kind), PT(id)), pol_row, out);
	else
		err = run_row(be, ST_POL_VER, PARAMS(PT(kind), PT(id), PI(version)), pol_row, out);
	if (err == CS_OK) {
		out->kind = strdup(kind);
		out->id = strdup(id);
		if (out->kind == NULL || out->id == NULL)
			err = CS_ERR_NOMEM;
	}
	if (err != CS_OK)
		cs_store_policy_fini(out);
	return err;
}

static enum cs_err
pol_list(void *be, const char *kind, struct cs_store_list *out)
{
	return run_list(be, ST_POL_LIST, PARAMS(PT(kind)), out);
}

static enum cs_err
pol_versions(void *be, const char *kind, const char *id, struct cs_store_version **out, size_t *n)
{
	return run_versions(be, ST_POL_VERSIONS, PARAMS(PT(kind), PT(id)), out, n);
}

static enum cs_err
pol_delete(void *be, const char *kind, const char *id)
{
	return run_delete(be, ST_POL_DEL, PARAMS(PT(kind), PT(id)));
}

/* ---- reference values ---- */

static enum cs_err
rv_put(void *be, const char *name, const uint8_t *json, size_t len, int64_t expires,
       int64_t updated)
{
	return run_write(be, ST_RV_PUT, PARAMS(PT(name), PTN(json, len), PI(expires), PI(updated)),
	                 NULL);
}

struct rv_out {
	struct cs_buf *out;
	int64_t *expires;
};

static enum cs_err
rv_row(void *arg, sqlite3_stmt *st)
{
	struct rv_out *o = arg;
	const void *p = sqlite3_column_blob(st, 0);
	int len = sqlite3_column_bytes(st, 0);

	*o->expires = sqlite3_column_int64(st, 1);
	ENSURE(len >= 0 && (p != NULL || len == 0), CS_ERR_STORE);
	return cs_buf_append(o->out, p, (size_t)len);
}

static enum cs_err
rv_get(void *be, const char *name, struct cs_buf *out, int64_t *expires)
{
	struct rv_out o = {out, expires};

	return run_row(be, ST_RV_GET, PARAMS(PT(name)), rv_row, &o);
}

static enum cs_err
rv_list(void *be, int64_t now, struct cs_store_list *out)
{
	return run_list(be, ST_RV_LIST, PARAMS(PI(now)), out);
}

static enum cs_err
rv_delete(void *be, const char *name)
{
	return run_delete(be, ST_RV_DEL, PARAMS(PT(name)));
}

/* ---- nonces ---- */

static enum cs_err
nonce_record(void *be, const uint8_t *digest, size_t len, int64_t expires)
{
	/* The primary key makes a second insert fail: CS_ERR_EXISTS. */
	return run_write(be, ST_NONCE_INS, PARAMS(PB(digest, len), PI(expires)), NULL);
}

static enum cs_err
nonce_purge(void *be, int64_t now, uint64_t *purged)
{
	int64_t n = 0;

	TRY(run_write(be, ST_NONCE_PURGE, PARAMS(PI(now)), &n));
	*purged = n > 0 ? (uint64_t)n : 0;
	return CS_OK;
}

/* ---- audit ---- */

/* Reads the chain head in the current transaction: seq 0 and zeros when there is none. */
static enum cs_err
read_head(struct conn *c, uint64_t *seq, uint8_t hash[CS_STORE_HASH_LEN],
          uint8_t mac[CS_STORE_HASH_LEN])
{
	sqlite3_stmt *st = stmt(c, ST_AUD_HEAD);
	enum cs_err err = CS_ERR_STORE;
	int rc;

	ENSURE(st != NULL, CS_ERR_STORE);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*seq = 0;
		memset(hash, 0, CS_STORE_HASH_LEN);
		memset(mac, 0, CS_STORE_HASH_LEN);
		err = CS_OK;
	} else if (rc == SQLITE_ROW) {
		int64_t s = sqlite3_column_int64(st, 0);
		*seq = s < 0 ? 0 : (uint64_t)s;
		/* A head of the wrong shape is tampering: the chain does not verify past it. */
		err = s >= 0 && col_fixed(st, 1, hash, CS_STORE_HASH_LEN) &&
		                      col_fixed(st, 2, mac, CS_STORE_HASH_LEN)
		              ? CS_OK
		              : CS_ERR_VERIFY;
	} else {
		err = rc_err(rc);
	}
	done(st);
	return err;
}

static enum cs_err
audit_append(void *be, int64_t time, const char *kind, const char *body, size_t body_len,
             cs_audit_chain_fn chain, void *arg, uint64_t *seq)
{
	struct be *b = be;
	struct conn *c;
	uint64_t head = 0;
	uint8_t prev[CS_STORE_HASH_LEN], h[CS_STORE_HASH_LEN], mac[CS_STORE_HASH_LEN];
	enum cs_err err;

	TRY(acquire(b, &c));
	err = wbegin(b, c);
	if (err != CS_OK)
		goto out;
	err = read_head(c, &head, prev, mac);
	if (err == CS_OK)
		err = head < INT64_MAX ? chain(arg, head + 1, prev, h, mac) : CS_ERR_STORE;
	if (err != CS_OK)
		goto end;
	err = step_done(prep(
	        c, ST_AUD_INS,
	        PARAMS(PI(head + 1), PI(time), PT(kind), PTN(body, body_len), PB(h, sizeof(h)))));
	if (err == CS_OK)
		err = step_done(prep(c, ST_AUD_HEAD_SET,
		                     PARAMS(PI(head + 1), PB(h, sizeof(h)), PB(mac, sizeof(mac)))));
end:
	err = wend(b, c, err);
	if (err == CS_OK)
		*seq = head + 1;
out:
	release(b, c);
	return err;
}

static const char *
col_str(sqlite3_stmt *st, int i, size_t *n)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	int len = sqlite3_column_bytes(st, i);

	if (s == NULL || len < 0) {
		*n = 0;
		return "";
	}
	*n = (size_t)len;
	return (const char *)s;
}

static enum cs_err
audit_iter(void *be, uint64_t from, uint64_t to, cs_audit_row_fn fn, void *arg, uint64_t *head_seq,
           uint8_t head_hash[CS_STORE_HASH_LEN], uint8_t head_mac[CS_STORE_HASH_LEN])
{
	struct be *b = be;
	struct conn *c;
	sqlite3_stmt *st;
	enum cs_err err;
	int rc = SQLITE_ERROR;

	ENSURE(from <= INT64_MAX && to <= INT64_MAX, CS_ERR_INVAL);
	TRY(acquire(b, &c));
	err = exec1(c, ST_BEGIN); /* one read snapshot for the records and the head */
	if (err != CS_OK)
		goto out;
	err = CS_ERR_STORE;
	st = prep(c, ST_AUD_ITER, PARAMS(PI(from), PI(to)));
	if (st == NULL)
		goto end;
	err = CS_OK;
	while (err == CS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cs_audit_row r;
		int64_t seq = sqlite3_column_int64(st, 0);
		r.seq = seq < 0 ? 0 : (uint64_t)seq;
		r.time = sqlite3_column_int64(st, 1);
		r.kind = col_str(st, 2, &r.kind_len);
		r.body = col_str(st, 3, &r.body_len);
		r.hash = sqlite3_column_blob(st, 4);
		r.hash_len = (size_t)sqlite3_column_bytes(st, 4);
		if (r.hash == NULL)
			r.hash_len = 0;
		err = fn(arg, &r);
	}
	if (err == CS_OK && rc != SQLITE_DONE)
		err = rc_err(rc) == CS_OK ? CS_ERR_STORE : rc_err(rc);
	done(st);
	if (err == CS_OK && head_seq != NULL)
		err = read_head(c, head_seq, head_hash, head_mac);
end:
	(void)exec1(c, ST_COMMIT); /* ends the read transaction */
out:
	release(b, c);
	return err;
}

/* ---- open / close ---- */

static void
be_close(void *be)
{
	struct be *b = be;
	struct conn *c;

	if (b == NULL)
		return;
	while ((c = b->free) != NULL) {
		b->free = c->next;
		conn_close(c);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->wmu);
	free(b->path);
	free(b);
}

static const struct cs_store_ops sqlite_ops = {
        .close = be_close,
        .res_put = res_put,
        .res_get = res_get,
        .res_versions = res_versions,
        .res_delete = res_delete,
        .res_list = res_list,
        .pol_put = pol_put,
        .pol_get = pol_get,
        .pol_list = pol_list,
        .pol_versions = pol_versions,
        .pol_delete = pol_delete,
        .rv_put = rv_put,
        .rv_get = rv_get,
        .rv_list = rv_list,
        .rv_delete = rv_delete,
        .nonce_record = nonce_record,
        .nonce_purge = nonce_purge,
        .audit_append = audit_append,
        .audit_iter = audit_iter,
};

enum cs_err
cs_store_sqlite_open(const char *path, const struct cs_store_opts *opts,
                     const struct cs_store_ops **ops, void **be)
{
	struct be *b;
	struct conn *c = NULL;
	bool mem = strcmp(path, ":memory:") == 0;
	enum cs_err err;

	if (!mem) {
		/* Create the file 0600 before SQLite does (with the umask's mode); SQLite gives
		 * the -wal and -shm files the database file's permissions. */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		ENSURE(fd >= 0, CS_ERR_IO);
		close(fd);
	}
	b = calloc(1, sizeof(*b));
	ENSURE(b != NULL, CS_ERR_NOMEM);
	b->path = strdup(path);
	b->busy_ms = opts->busy_timeout_ms ? opts->busy_timeout_ms : 5000;
	/* Every connection to ":memory:" is a database of its own: keep exactly one. */
	b->max = mem ? 1 : (opts->max_connections ? opts->max_connections : 8);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	pthread_mutex_init(&b->wmu, NULL);
	if (b->path == NULL) {
		be_close(b);
		return CS_ERR_NOMEM;
	}
	err = conn_open(b, true, &c);
	if (err != CS_OK) {
		be_close(b);
		return err;
	}
	b->open = 1;
	b->free = c;
	*ops = &sqlite_ops;
	*be = b;
	return CS_OK;
}

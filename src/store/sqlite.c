/*
 * The SQLite driver of the SQL layer (sql.h): one database file in WAL mode with
 * synchronous=FULL, so a commit is durable when COMMIT returns (the WAL is fsynced), and readers
 * never block the writer; nonce records alone commit with synchronous=NORMAL (sq_set_durable). Each
 * connection is used by one thread at a time (SQLITE_OPEN_NOMUTEX) and keeps its statements
 * prepared; busy_timeout covers other processes on the same file.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sql.h"

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

static const char *const st_sql[ST_COUNT_] = {
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
        [ST_META_GET] = "SELECT v FROM meta WHERE k = ?1",
        [ST_META_ADD] = "INSERT INTO meta (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO NOTHING",
        [ST_META_SET] = "UPDATE meta SET v = ?2 WHERE k = ?1",
        [ST_RES_WDEKS] = "SELECT path, version, wdek FROM resource ORDER BY path, version",
        [ST_RES_SET_WDEK] = "UPDATE resource SET wdek = ?1 WHERE path = ?2 AND version = ?3",
        [ST_SAVEPOINT] = "SAVEPOINT cs_w",
        [ST_SAVEPOINT_UNDO] = "ROLLBACK TO SAVEPOINT cs_w",
        [ST_SAVEPOINT_END] = "RELEASE SAVEPOINT cs_w",
};

static const struct sql_driver sqlite_driver_;

enum {
	CTL_BEGIN,
	CTL_BEGIN_IMM,
	CTL_COMMIT,
	CTL_ROLLBACK,
	CTL_SYNC_FULL,
	CTL_SYNC_NORMAL,
	CTL_COUNT_
};
static const char *const ctl_sql[CTL_COUNT_] = {
        "BEGIN",    "BEGIN IMMEDIATE",           "COMMIT",
        "ROLLBACK", "PRAGMA synchronous = FULL", "PRAGMA synchronous = NORMAL",
};

struct sq_cfg {
	char *path;
	unsigned busy_ms;
};

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT_];
	sqlite3_stmt *ctl[CTL_COUNT_];
	bool relaxed; /* synchronous=NORMAL is in force (sq_set_durable) */
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

/* An error for a step that did not finish: never CS_OK. */
static enum cs_err
step_err(int rc)
{
	enum cs_err e = rc_err(rc);
	return e == CS_OK ? CS_ERR_STORE : e;
}

static void
sq_disconnect(void *conn)
{
	struct sq_conn *c = conn;

	if (c == NULL)
		return;
	for (int i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(c->st[i]);
	for (int i = 0; i < CTL_COUNT_; i++)
		sqlite3_finalize(c->ctl[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

/* Creates the schema (first connection only), or checks that the file's is ours. */
static int
schema(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc;

	/* journal_mode cannot change inside a transaction; it persists in the file. */
	rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = 'schema'", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_text(st, 0);
		if (v == NULL || strcmp((const char *)v, SCHEMA_VERSION) != 0)
			rc = SQLITE_MISMATCH;
	} else if (rc == SQLITE_OK) {
		rc = SQLITE_MISMATCH;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static enum cs_err
sq_connect(const void *cfg, bool first, void **out)
{
	const struct sq_cfg *cf = cfg;
	struct sq_conn *c = calloc(1, sizeof(*c));
	int rc, on = 1;
	enum cs_err err = CS_ERR_STORE;

	ENSURE(c != NULL, CS_ERR_NOMEM);
	rc = sqlite3_open_v2(cf->path, &c->db,
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
	sqlite3_busy_timeout(c->db, (int)cf->busy_ms);
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
	if (first && (rc = schema(c->db)) != SQLITE_OK) {
		err = rc_err(rc) == CS_ERR_TIMEOUT ? CS_ERR_TIMEOUT : CS_ERR_STORE;
		goto fail;
	}
	*out = c;
	return CS_OK;
fail:
	sq_disconnect(c);
	return err;
}

/* Runs a cached control statement (BEGIN, COMMIT, ...). */
static enum cs_err
ctl(struct sq_conn *c, int i)
{
	int rc;

	if (c->ctl[i] == NULL &&
	    sqlite3_prepare_v3(c->db, ctl_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->ctl[i],
	                       NULL) != SQLITE_OK)
		return CS_ERR_STORE;
	rc = sqlite3_step(c->ctl[i]);
	sqlite3_reset(c->ctl[i]);
	return rc == SQLITE_DONE ? CS_OK : step_err(rc);
}

static enum cs_err
sq_begin(void *conn, bool write)
{
	return ctl(conn, write ? CTL_BEGIN_IMM : CTL_BEGIN);
}

/*
 * WAL with synchronous=NORMAL: COMMIT writes the WAL but does not fsync it, so the transaction
 * survives a crash of this process (the data is in the OS's page cache) but may be rolled back by
 * a power loss or an OS crash; the database stays consistent either way. The next FULL commit on
 * any connection fsyncs the WAL, and with it every NORMAL transaction written before it.
 */
static enum cs_err
sq_set_durable(void *conn, bool durable)
{
	struct sq_conn *c = conn;

	if (c->relaxed == !durable)
		return CS_OK;
	TRY(ctl(c, durable ? CTL_SYNC_FULL : CTL_SYNC_NORMAL));
	c->relaxed = !durable;
	return CS_OK;
}

static bool
sq_in_txn(void *conn)
{
	return !sqlite3_get_autocommit(((struct sq_conn *)conn)->db);
}

static enum cs_err
sq_end(void *conn, enum cs_err err)
{
	if (err == CS_OK)
		err = ctl(conn, CTL_COMMIT);
	if (err != CS_OK && sq_in_txn(conn))
		(void)ctl(conn, CTL_ROLLBACK);
	return err;
}

/* The cached statement i with ps bound; NULL when it cannot be prepared or bound. */
static sqlite3_stmt *
prep(struct sq_conn *c, enum sql_st i, const struct param *ps, size_t n)
{
	sqlite3_stmt *st = c->st[i];
	int rc = SQLITE_OK;

	if (st == NULL) {
		if (sqlite3_prepare_v3(c->db, st_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
		                       NULL) != SQLITE_OK)
			return NULL;
		st = c->st[i];
	}
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
		sqlite3_clear_bindings(st);
		return NULL;
	}
	return st;
}

static enum cs_err
sq_run(void *conn, enum sql_st i, const struct param *ps, size_t n, sql_row_fn fn, void *arg,
       int64_t *changes)
{
	struct sq_conn *c = conn;
	sqlite3_stmt *st = prep(c, i, ps, n);
	struct sql_row row;
	enum cs_err err = CS_OK;
	int rc;

	ENSURE(st != NULL, CS_ERR_STORE);
	row = (struct sql_row){&sqlite_driver_, st, 0};
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn != NULL && (err = fn(arg, &row)) != CS_OK)
			break;
		row.row++;
	}
	if (err == CS_OK && rc != SQLITE_DONE)
		err = step_err(rc);
	if (err == CS_OK && changes != NULL)
		*changes = sqlite3_changes64(c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

static int64_t
sq_col_int(const struct sql_row *r, int col)
{
	return sqlite3_column_int64(r->h, col);
}

static const uint8_t *
sq_col_blob(const struct sql_row *r, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(r->h, col);
	int n = sqlite3_column_bytes(r->h, col);

	*len = p != NULL && n > 0 ? (size_t)n : 0;
	return p;
}

static const struct sql_driver sqlite_driver_ = {
        .name = "sqlite",
        .connect = sq_connect,
        .disconnect = sq_disconnect,
        .begin = sq_begin,
        .end = sq_end,
        .in_txn = sq_in_txn,
        .set_durable = sq_set_durable,
        .run = sq_run,
        .col_int = sq_col_int,
        .col_blob = sq_col_blob,
};

static void
free_cfg(void *cfg)
{
	struct sq_cfg *cf = cfg;

	if (cf != NULL)
		free(cf->path);
	free(cf);
}

enum cs_err
cs_store_sqlite_open(const char *path, const struct cs_store_opts *opts,
                     const struct cs_store_ops **ops, void **be)
{
	struct sq_cfg *cf;
	bool mem = strcmp(path, ":memory:") == 0;

	if (!mem) {
		/* Create the file 0600 before SQLite does (with the umask's mode); SQLite gives
		 * the -wal and -shm files the database file's permissions. */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		ENSURE(fd >= 0, CS_ERR_IO);
		close(fd);
	}
	cf = calloc(1, sizeof(*cf));
	ENSURE(cf != NULL, CS_ERR_NOMEM);
	cf->path = strdup(path);
	cf->busy_ms = opts->busy_timeout_ms ? opts->busy_timeout_ms : 5000;
	if (cf->path == NULL) {
		free_cfg(cf);
		return CS_ERR_NOMEM;
	}
	/* Every connection to ":memory:" is a database of its own: keep exactly one. */
	return cs_store_sql_open(&sqlite_driver_, cf, free_cfg,
	                         mem ? 1 : (opts->max_connections ? opts->max_connections : 8), ops,
	                         be);
}

/*
 * The PostgreSQL driver of the SQL layer (sql.h), on libpq: what several KBS replicas share.
 *
 * Durability: synchronous_commit=on for every connection, so COMMIT returns after the server has
 * flushed its WAL. Serialization across replicas: a write transaction takes one transaction-scoped
 * advisory lock, the equivalent of SQLite's single writer, so MAX(version) + 1 and the audit
 * chain head are read and advanced by one writer at a time; reads run in parallel (the audit
 * iteration in one REPEATABLE READ snapshot). Statements are prepared once per connection with
 * explicit parameter types and run in binary format in single-row mode, so a long audit log
 * streams instead of being loaded whole.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/secret.h"
#include "store/sql.h"

#define SCHEMA_VERSION "1"
/* The advisory lock every write transaction of every replica takes ("custos" in ASCII). */
#define WRITE_LOCK "99395716674163"

static const char schema_sql[] =
        "BEGIN;"
        "SELECT pg_advisory_xact_lock(" WRITE_LOCK ");"
        "CREATE TABLE IF NOT EXISTS meta (k TEXT COLLATE \"C\" PRIMARY KEY, v TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS resource ("
        " path TEXT COLLATE \"C\" NOT NULL, version BIGINT NOT NULL, created BIGINT NOT NULL,"
        " alg BIGINT NOT NULL, iv BYTEA NOT NULL, tag BYTEA NOT NULL, wdek BYTEA NOT NULL,"
        " ct BYTEA NOT NULL, PRIMARY KEY (path, version));"
        "CREATE TABLE IF NOT EXISTS policy ("
        " kind TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
        " version BIGINT NOT NULL, created BIGINT NOT NULL, text BYTEA NOT NULL,"
        " PRIMARY KEY (kind, id, version));"
        "CREATE TABLE IF NOT EXISTS refval ("
        " name TEXT COLLATE \"C\" PRIMARY KEY, value TEXT NOT NULL, expires BIGINT NOT NULL,"
        " updated BIGINT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS nonce (digest BYTEA PRIMARY KEY, expires BIGINT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS nonce_expires ON nonce (expires);"
        "CREATE TABLE IF NOT EXISTS audit ("
        " seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, kind TEXT COLLATE \"C\" NOT NULL,"
        " body TEXT NOT NULL, hash BYTEA NOT NULL);"
        "CREATE TABLE IF NOT EXISTS audit_head ("
        " id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash BYTEA NOT NULL,"
        " mac BYTEA NOT NULL);"
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'audit log is append-only'; END$$;"
        "CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
        " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
        "CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();"
        "INSERT INTO meta (k, v) VALUES ('schema', '" SCHEMA_VERSION "')"
        " ON CONFLICT (k) DO NOTHING;"
        "COMMIT;";

static const char *const st_sql[ST_COUNT_] = {
        [ST_RES_MAXV] = "SELECT COALESCE(MAX(version), 0)::int8 FROM resource WHERE path = $1",
        [ST_RES_INS] = "INSERT INTO resource (path, version, created, alg, iv, tag, wdek, ct)"
                       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [ST_RES_LATEST] = "SELECT version, created, alg, iv, tag, wdek, ct FROM resource"
                          " WHERE path = $1 ORDER BY version DESC LIMIT 1",
        [ST_RES_VER] = "SELECT version, created, alg, iv, tag, wdek, ct FROM resource"
                       " WHERE path = $1 AND version = $2",
        [ST_RES_VERSIONS] = "SELECT version, created, octet_length(ct)::int8 FROM resource"
                            " WHERE path = $1 ORDER BY version",
        [ST_RES_DEL] = "DELETE FROM resource WHERE path = $1",
        [ST_RES_LIST] = "SELECT DISTINCT path FROM resource WHERE starts_with(path, $1)"
                        " ORDER BY path",
        [ST_POL_MAXV] = "SELECT COALESCE(MAX(version), 0)::int8 FROM policy"
                        " WHERE kind = $1 AND id = $2",
        [ST_POL_INS] = "INSERT INTO policy (kind, id, version, created, text)"
                       " VALUES ($1, $2, $3, $4, $5)",
        [ST_POL_LATEST] = "SELECT version, created, text FROM policy WHERE kind = $1 AND id = $2"
                          " ORDER BY version DESC LIMIT 1",
        [ST_POL_VER] = "SELECT version, created, text FROM policy"
                       " WHERE kind = $1 AND id = $2 AND version = $3",
        [ST_POL_LIST] = "SELECT DISTINCT id FROM policy WHERE kind = $1 ORDER BY id",
        [ST_POL_VERSIONS] = "SELECT version, created, octet_length(text)::int8 FROM policy"
                            " WHERE kind = $1 AND id = $2 ORDER BY version",
        [ST_POL_DEL] = "DELETE FROM policy WHERE kind = $1 AND id = $2",
        [ST_RV_PUT] = "INSERT INTO refval (name, value, expires, updated) VALUES ($1, $2, $3, $4)"
                      " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
                      " expires = excluded.expires, updated = excluded.updated",
        [ST_RV_GET] = "SELECT value, expires FROM refval WHERE name = $1",
        [ST_RV_LIST] = "SELECT name FROM refval WHERE expires > $1 ORDER BY name",
        [ST_RV_DEL] = "DELETE FROM refval WHERE name = $1",
        [ST_NONCE_INS] = "INSERT INTO nonce (digest, expires) VALUES ($1, $2)",
        [ST_NONCE_PURGE] = "DELETE FROM nonce WHERE expires <= $1",
        [ST_AUD_HEAD] = "SELECT seq, hash, mac FROM audit_head WHERE id = 1",
        [ST_AUD_INS] =
                "INSERT INTO audit (seq, time, kind, body, hash) VALUES ($1, $2, $3, $4, $5)",
        [ST_AUD_HEAD_SET] = "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, $1, $2, $3)"
                            " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq,"
                            " hash = excluded.hash, mac = excluded.mac",
        [ST_AUD_ITER] = "SELECT seq, time, kind, body, hash FROM audit"
                        " WHERE seq >= $1 AND ($2 = 0 OR seq <= $2) ORDER BY seq",
        [ST_META_GET] = "SELECT v FROM meta WHERE k = $1",
        [ST_META_ADD] = "INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING",
        [ST_META_SET] = "UPDATE meta SET v = $2 WHERE k = $1",
        [ST_RES_WDEKS] = "SELECT path, version, wdek FROM resource ORDER BY path, version",
        [ST_RES_SET_WDEK] = "UPDATE resource SET wdek = $1 WHERE path = $2 AND version = $3",
        [ST_SAVEPOINT] = "SAVEPOINT cs_w",
        [ST_SAVEPOINT_UNDO] = "ROLLBACK TO SAVEPOINT cs_w",
        [ST_SAVEPOINT_END] = "RELEASE SAVEPOINT cs_w",
};

/* Type OIDs of the parameters (pg_type.h): text, int8, bytea. */
#define OID_TEXT 25
#define OID_INT8 20
#define OID_BYTEA 17
#define MAX_PARAMS 8

struct pg_cfg {
	char *conninfo;
};

struct pg_conn {
	PGconn *pc;
	bool prepared[ST_COUNT_];
	bool txn; /* between a successful begin and end */
};

static const struct sql_driver pg_driver_;

/* Maps a failed result's SQLSTATE (PostgreSQL manual, Appendix A) to a precise error. */
static enum cs_err
res_err(const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (state == NULL)
		return CS_ERR_NETWORK; /* no server answer: the connection failed */
	if (strcmp(state, "23505") == 0)
		return CS_ERR_EXISTS; /* unique_violation */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0)
		return CS_ERR_NETWORK; /* connection exception, server shutting down or starting */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
		return CS_ERR_TIMEOUT; /* serialization, deadlock, cancel, lock not available */
	if (strcmp(state, "54000") == 0)
		return CS_ERR_TOO_LARGE; /* program_limit_exceeded */
	if (strncmp(state, "53", 2) == 0)
		return CS_ERR_IO; /* insufficient resources (disk full, memory) */
	return CS_ERR_STORE;
}

/* Runs SQL without parameters or rows; ok is the expected status. */
static enum cs_err
exec_simple(PGconn *pc, const char *sql, ExecStatusType ok)
{
	PGresult *res = PQexec(pc, sql);
	enum cs_err err = PQresultStatus(res) == ok ? CS_OK : res_err(res);

	PQclear(res);
	return err;
}

/*
 * Connects with a default connect_timeout of 10 s (libpq's default is to wait forever); a
 * connect_timeout in the URL overrides it, since later parameters win.
 */
static PGconn *
connect_url(const char *url)
{
	static const char *const keys[] = {"connect_timeout", "dbname", NULL};
	const char *const values[] = {"10", url, NULL};

	return PQconnectdbParams(keys, values, 1);
}

static void
pg_disconnect(void *conn)
{
	struct pg_conn *c = conn;

	if (c == NULL)
		return;
	PQfinish(c->pc);
	free(c);
}

static enum cs_err
session_setup(PGconn *pc)
{
	/*
	 * Commits wait for the WAL flush; warnings and notices stay out of our stderr. A writer
	 * waits at most 30 s for the write lock (CS_ERR_TIMEOUT); no statement runs longer than
	 * 10 minutes (a streamed audit verification of a very long log is the longest).
	 */
	return exec_simple(pc,
	                   "SET synchronous_commit = on; SET client_min_messages = error;"
	                   " SET lock_timeout = '30s'; SET statement_timeout = '10min'",
	                   PGRES_COMMAND_OK);
}

static void
no_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static enum cs_err
pg_connect(const void *cfg, bool first, void **out)
{
	const struct pg_cfg *cf = cfg;
	struct pg_conn *c = calloc(1, sizeof(*c));
	enum cs_err err = CS_ERR_NETWORK;

	ENSURE(c != NULL, CS_ERR_NOMEM);
	c->pc = connect_url(cf->conninfo);
	if (c->pc == NULL || PQstatus(c->pc) != CONNECTION_OK)
		goto fail;
	PQsetNoticeProcessor(c->pc, no_notices, NULL);
	err = session_setup(c->pc);
	if (err == CS_OK && first)
		err = exec_simple(c->pc, schema_sql, PGRES_COMMAND_OK);
	if (err == CS_OK && first) {
		PGresult *res = PQexec(c->pc, "SELECT v FROM meta WHERE k = 'schema'");
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
		    strcmp(PQgetvalue(res, 0, 0), SCHEMA_VERSION) != 0)
			err = CS_ERR_STORE;
		PQclear(res);
	}
	if (err != CS_OK)
		goto fail;
	*out = c;
	return CS_OK;
fail:
	if (c->pc != NULL && PQtransactionStatus(c->pc) != PQTRANS_IDLE)
		(void)exec_simple(c->pc, "ROLLBACK", PGRES_COMMAND_OK);
	pg_disconnect(c);
	return err;
}

/* Re-establishes a broken connection (a server restart, a dropped socket) once. */
static enum cs_err
ensure_live(struct pg_conn *c)
{
	if (PQstatus(c->pc) == CONNECTION_OK)
		return CS_OK;
	PQreset(c->pc);
	memset(c->prepared, 0, sizeof(c->prepared));
	ENSURE(PQstatus(c->pc) == CONNECTION_OK, CS_ERR_NETWORK);
	return session_setup(c->pc);
}

static enum cs_err
begin_once(struct pg_conn *c, bool write)
{
	enum cs_err err;

	TRY(ensure_live(c));
	if (write)
		err = exec_simple(c->pc, "BEGIN; SELECT pg_advisory_xact_lock(" WRITE_LOCK ")",
		                  PGRES_TUPLES_OK);
	else
		err = exec_simple(c->pc, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		                  PGRES_COMMAND_OK);
	if (err != CS_OK && PQstatus(c->pc) == CONNECTION_OK &&
	    PQtransactionStatus(c->pc) != PQTRANS_IDLE)
		(void)exec_simple(c->pc, "ROLLBACK", PGRES_COMMAND_OK);
	return err;
}

static enum cs_err
pg_begin(void *conn, bool write)
{
	struct pg_conn *c = conn;
	enum cs_err err = begin_once(c, write);

	/* A connection found dead by BEGIN had nothing in flight: start over on a new one. */
	if (err != CS_OK && PQstatus(c->pc) != CONNECTION_OK)
		err = begin_once(c, write);
	c->txn = err == CS_OK;
	return err;
}

static bool
pg_in_txn(void *conn)
{
	return ((struct pg_conn *)conn)->txn;
}

static enum cs_err
pg_end(void *conn, enum cs_err err)
{
	struct pg_conn *c = conn;

	if (err == CS_OK) {
		/* A transaction a failed statement aborted answers COMMIT with ROLLBACK. */
		PGresult *res = PQexec(c->pc, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			err = res_err(res);
		else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
			err = CS_ERR_STORE;
		PQclear(res);
	}
	if (err != CS_OK && PQstatus(c->pc) == CONNECTION_OK &&
	    PQtransactionStatus(c->pc) != PQTRANS_IDLE)
		(void)exec_simple(c->pc, "ROLLBACK", PGRES_COMMAND_OK);
	c->txn = false;
	return err;
}

static enum cs_err
prepare(struct pg_conn *c, enum sql_st i, const struct param *ps, size_t n)
{
	Oid types[MAX_PARAMS];
	char name[16];
	PGresult *res;
	enum cs_err err;

	for (size_t k = 0; k < n; k++)
		types[k] = ps[k].type == P_INT    ? OID_INT8
		           : ps[k].type == P_BLOB ? OID_BYTEA
		                                  : OID_TEXT;
	snprintf(name, sizeof(name), "cs%d", (int)i);
	res = PQprepare(c->pc, name, st_sql[i], (int)n, types);
	err = PQresultStatus(res) == PGRES_COMMAND_OK ? CS_OK : res_err(res);
	PQclear(res);
	if (err == CS_OK)
		c->prepared[i] = true;
	return err;
}

/* Runs statement i once; *rows is set when any row reached fn. */
static enum cs_err
run_once(struct pg_conn *c, enum sql_st i, const struct param *ps, size_t n, sql_row_fn fn,
         void *arg, int64_t *changes, bool *rows)
{
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS], formats[MAX_PARAMS];
	uint8_t ints[MAX_PARAMS][8];
	char name[16];
	PGresult *res;
	struct sql_row row = {&pg_driver_, NULL, 0};
	enum cs_err err = CS_OK;

	if (!c->prepared[i])
		TRY(prepare(c, i, ps, n));
	for (size_t k = 0; k < n; k++) {
		const struct param *p = &ps[k];
		formats[k] = 1; /* binary */
		if (p->type == P_INT) {
			uint64_t v = (uint64_t)p->i;
			for (int b = 0; b < 8; b++)
				ints[k][b] = (uint8_t)(v >> (56 - 8 * b));
			values[k] = (const char *)ints[k];
			lengths[k] = 8;
		} else {
			size_t len = p->type == P_TEXT && p->n == SIZE_MAX ? strlen(p->p) : p->n;
			ENSURE(len <= INT32_MAX, CS_ERR_TOO_LARGE);
			values[k] = p->p != NULL ? p->p : "";
			lengths[k] = (int)len;
		}
	}
	snprintf(name, sizeof(name), "cs%d", (int)i);
	if (!PQsendQueryPrepared(c->pc, name, (int)n, values, lengths, formats, 1))
		return CS_ERR_NETWORK;
	(void)PQsetSingleRowMode(c->pc);
	/* Every result is read, even after a failure, so the connection is ready again. */
	while ((res = PQgetResult(c->pc)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		/* Rows come one per result in single-row mode, all in the last one otherwise. */
		if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
			row.h = res;
			for (row.row = 0; row.row < PQntuples(res); row.row++) {
				if (err == CS_OK && fn != NULL)
					err = fn(arg, &row);
				*rows = true;
			}
		}
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			if (err == CS_OK && changes != NULL)
				*changes = strtoll(PQcmdTuples(res), NULL, 10);
		} else if (st != PGRES_SINGLE_TUPLE && err == CS_OK) {
			err = res_err(res);
		}
		PQclear(res);
	}
	return err;
}

static enum cs_err
pg_run(void *conn, enum sql_st i, const struct param *ps, size_t n, sql_row_fn fn, void *arg,
       int64_t *changes)
{
	struct pg_conn *c = conn;
	bool rows = false;
	enum cs_err err;

	ENSURE(n <= MAX_PARAMS, CS_ERR_INVAL);
	/*
	 * Inside a transaction a dead connection fails the call: running the rest of a
	 * transaction's statements on a fresh session would run them without its lock and outside
	 * its atomicity.
	 */
	if (c->txn)
		return PQstatus(c->pc) == CONNECTION_OK
		               ? run_once(c, i, ps, n, fn, arg, changes, &rows)
		               : CS_ERR_NETWORK;
	TRY(ensure_live(c));
	err = run_once(c, i, ps, n, fn, arg, changes, &rows);
	/*
	 * Outside a transaction the store only reads (every write runs in one), so after a dropped
	 * connection (a server restart is noticed only on first use) the statement is run again,
	 * once, on a new session, provided no row of it was delivered yet.
	 */
	if (err != CS_OK && !rows && PQstatus(c->pc) != CONNECTION_OK) {
		TRY(ensure_live(c));
		err = run_once(c, i, ps, n, fn, arg, changes, &rows);
	}
	return err;
}

static int64_t
pg_col_int(const struct sql_row *r, int col)
{
	const PGresult *res = r->h;
	const uint8_t *p;
	uint64_t v = 0;
	int len;

	if (col >= PQnfields(res) || PQgetisnull(res, r->row, col))
		return 0;
	p = (const uint8_t *)PQgetvalue(res, r->row, col);
	len = PQgetlength(res, r->row, col);
	if (len != 8 && len != 4)
		return 0;
	for (int b = 0; b < len; b++)
		v = v << 8 | p[b];
	if (len == 4)
		return (int64_t)(int32_t)(uint32_t)v;
	return (int64_t)v;
}

static const uint8_t *
pg_col_blob(const struct sql_row *r, int col, size_t *len)
{
	const PGresult *res = r->h;
	int n;

	*len = 0;
	if (col >= PQnfields(res) || PQgetisnull(res, r->row, col))
		return NULL;
	n = PQgetlength(res, r->row, col);
	*len = n > 0 ? (size_t)n : 0;
	return (const uint8_t *)PQgetvalue(res, r->row, col);
}

static const struct sql_driver pg_driver_ = {
        .name = "postgres",
        .connect = pg_connect,
        .disconnect = pg_disconnect,
        .begin = pg_begin,
        .end = pg_end,
        .in_txn = pg_in_txn,
        .run = pg_run,
        .col_int = pg_col_int,
        .col_blob = pg_col_blob,
};

static void
free_cfg(void *cfg)
{
	struct pg_cfg *cf = cfg;

	if (cf != NULL && cf->conninfo != NULL) {
		/* The URL may carry a password. */
		cs_wipe(cf->conninfo, strlen(cf->conninfo));
		free(cf->conninfo);
	}
	free(cf);
}

enum cs_err
cs_store_pg_open(const char *url, const struct cs_store_opts *opts, const struct cs_store_ops **ops,
                 void **be)
{
	struct pg_cfg *cf = calloc(1, sizeof(*cf));

	ENSURE(cf != NULL, CS_ERR_NOMEM);
	cf->conninfo = strdup(url);
	if (cf->conninfo == NULL) {
		free_cfg(cf);
		return CS_ERR_NOMEM;
	}
	return cs_store_sql_open(&pg_driver_, cf, free_cfg,
	                         opts->max_connections ? opts->max_connections : 8, ops, be);
}

/*
 * The SQL layer shared by the SQL backends. sql.c implements every struct cs_store_ops operation
 * once, over a small driver (connect, transactions, run one statement with parameters and read its
 * rows); sqlite.c and pg.c are drivers, each with its dialect's text for the same statements.
 *
 * Statement parameters are numbered from 1 in the order given; columns are numbered from 0.
 */
#ifndef CS_STORE_SQL_H
#define CS_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store_impl.h"

enum sql_st {
	ST_RES_MAXV,       /* (path) -> max version or 0 */
	ST_RES_INS,        /* (path, version, created, alg, iv, tag, wdek, ct) */
	ST_RES_LATEST,     /* (path) -> version, created, alg, iv, tag, wdek, ct */
	ST_RES_VER,        /* (path, version) -> the same */
	ST_RES_VERSIONS,   /* (path) -> version, created, size; by version */
	ST_RES_DEL,        /* (path) */
	ST_RES_LIST,       /* (prefix) -> path; distinct, sorted bytewise */
	ST_POL_MAXV,       /* (kind, id) -> max version or 0 */
	ST_POL_INS,        /* (kind, id, version, created, text) */
	ST_POL_LATEST,     /* (kind, id) -> version, created, text */
	ST_POL_VER,        /* (kind, id, version) -> the same */
	ST_POL_LIST,       /* (kind) -> id; distinct, sorted bytewise */
	ST_POL_VERSIONS,   /* (kind, id) -> version, created, size */
	ST_POL_DEL,        /* (kind, id) */
	ST_RV_PUT,         /* (name, value, expires, updated); insert or replace */
	ST_RV_GET,         /* (name) -> value, expires */
	ST_RV_LIST,        /* (now) -> name where expires > now; sorted */
	ST_RV_DEL,         /* (name) */
	ST_NONCE_INS,      /* (digest, expires); a duplicate fails with CS_ERR_EXISTS */
	ST_NONCE_PURGE,    /* (now) */
	ST_AUD_HEAD,       /* () -> seq, hash, mac */
	ST_AUD_INS,        /* (seq, time, kind, body, hash) */
	ST_AUD_HEAD_SET,   /* (seq, hash, mac); insert or replace the one head row */
	ST_AUD_ITER,       /* (from, to or 0) -> seq, time, kind, body, hash; by seq */
	ST_META_GET,       /* (k) -> v */
	ST_META_ADD,       /* (k, v); nothing when k exists */
	ST_META_SET,       /* (k, v); update */
	ST_RES_WDEKS,      /* () -> path, version, wdek */
	ST_RES_SET_WDEK,   /* (wdek, path, version) */
	ST_SAVEPOINT,      /* () */
	ST_SAVEPOINT_UNDO, /* () rolls back to the savepoint */
	ST_SAVEPOINT_END,  /* () releases the savepoint */
	ST_COUNT_
};

/* One statement parameter: text (NUL-terminated when n is SIZE_MAX), 64-bit integer or blob. */
enum sql_type { P_TEXT, P_INT, P_BLOB };
struct param {
	enum sql_type type;
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

/* One result row, valid during the row callback. */
struct sql_row {
	const struct sql_driver *d;
	void *h; /* the driver's statement or result */
	int row; /* the row index, for drivers that need it */
};

/* Anything but CS_OK stops the iteration and is returned by run. */
typedef enum cs_err (*sql_row_fn)(void *arg, const struct sql_row *r);

struct sql_driver {
	const char *name;
	/* Opens a connection with the driver's configuration (cfg); *conn returns owned. */
	enum cs_err (*connect)(const void *cfg, bool first, void **conn);
	void (*disconnect)(void *conn);
	/*
	 * Starts a transaction: write (the caller holds the process's writer lock; the driver
	 * takes the database's, e.g. BEGIN IMMEDIATE or an advisory lock) or a read snapshot.
	 */
	enum cs_err (*begin)(void *conn, bool write);
	/* Commits (durably) when err is CS_OK, else rolls back; returns the outcome. */
	enum cs_err (*end)(void *conn, enum cs_err err);
	/* True while a transaction is open (a failed path left it): release rolls it back. */
	bool (*in_txn)(void *conn);
	/*
	 * Optional (NULL: every commit is durable). Called outside any transaction, before begin:
	 * durable false makes the next commits survive a crash of this process (kill -9) but not
	 * necessarily a power loss or an OS crash; true restores durable commits. Used only for
	 * the nonce table (store.h, cs_store_nonce_record, says why that is enough).
	 */
	enum cs_err (*set_durable)(void *conn, bool durable);
	/*
	 * Runs statement st with ps; calls fn (may be NULL) for each row; *changes (may be NULL)
	 * gets the rows a write changed.
	 */
	enum cs_err (*run)(void *conn, enum sql_st st, const struct param *ps, size_t n,
	                   sql_row_fn fn, void *arg, int64_t *changes);
	/* Column accessors. A NULL or missing column reads as 0 / empty (p NULL, len 0). */
	int64_t (*col_int)(const struct sql_row *r, int col);
	const uint8_t *(*col_blob)(const struct sql_row *r, int col, size_t *len);
};

/*
 * Opens the shared SQL layer over driver d with its configuration cfg (borrowed for the life of
 * the store; freed by free_cfg at close when not NULL). max_conns: the pool size.
 */
enum cs_err cs_store_sql_open(const struct sql_driver *d, void *cfg, void (*free_cfg)(void *),
                              unsigned max_conns, const struct cs_store_ops **ops, void **be);

#endif

/*
 * The store operations, once, over an SQL driver (sql.h): a pool of connections, the process's
 * writer lock, and the queries of each operation. The drivers (sqlite.c, pg.c) only connect, run
 * statements and read columns.
 *
 * Threads: each call borrows a connection from the pool (opening one when none is free and the
 * pool is below its size, else waiting), so reads run in parallel up to the pool size. Writes go
 * through a group commit (write_group): concurrent writers of this process share one transaction
 * and one durable commit, each under its own savepoint; the database has one writer at a time
 * anyway (SQLite by design, PostgreSQL through our advisory lock), so batching is what lets write
 * throughput grow with concurrency instead of being one fsync per write.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"

struct conn {
	void *h;           /* the driver's connection */
	struct conn *next; /* in the free list */
};

struct be {
	const struct sql_driver *d;
	void *cfg;
	void (*free_cfg)(void *);
	pthread_mutex_t mu; /* guards free, open */
	pthread_cond_t cv;
	struct conn *free;
	unsigned open, max;
	pthread_mutex_t wmu; /* serializes this process's write transactions */
	/* The group commit queue (see write_group). */
	pthread_mutex_t gmu; /* guards the queue and leading */
	pthread_cond_t gcv;
	struct wop *qhead, **qtail;
	bool leading;
};

/* A write operation: statements run inside a write transaction that the caller opened. */
typedef enum cs_err (*wfn)(struct be *b, struct conn *c, void *arg);

/* A write waiting in the group commit queue; lives on its caller's stack. */
struct wop {
	wfn fn;
	void *arg;
	enum cs_err err;
	bool done;
	bool relaxed; /* may commit without power-loss durability (sql_driver.set_durable) */
	struct wop *next;
};

/* ---- the pool ---- */

static enum cs_err
conn_new(struct be *b, bool first, struct conn **out)
{
	struct conn *c = calloc(1, sizeof(*c));
	enum cs_err err;

	ENSURE(c != NULL, CS_ERR_NOMEM);
	err = b->d->connect(b->cfg, first, &c->h);
	if (err != CS_OK) {
		free(c);
		return err;
	}
	*out = c;
	return CS_OK;
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
	err = conn_new(b, false, &c);
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
	if (b->d->in_txn(c->h))
		(void)b->d->end(c->h, CS_ERR_STATE);
	pthread_mutex_lock(&b->mu);
	c->next = b->free;
	b->free = c;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/*
 * Takes the writer lock and begins a write transaction whose commit is durable, or relaxed
 * (sql_driver.set_durable) when durable is false; the connection keeps that setting until the
 * next wbegin changes it, so every write transaction must start here.
 */
static enum cs_err
wbegin(struct be *b, struct conn *c, bool durable)
{
	enum cs_err err = CS_OK;

	pthread_mutex_lock(&b->wmu);
	if (b->d->set_durable != NULL)
		err = b->d->set_durable(c->h, durable);
	if (err == CS_OK)
		err = b->d->begin(c->h, true);
	if (err != CS_OK)
		pthread_mutex_unlock(&b->wmu);
	return err;
}

/* Commits when err is CS_OK, else rolls back; returns the outcome and releases the writer lock. */
static enum cs_err
wend(struct be *b, struct conn *c, enum cs_err err)
{
	err = b->d->end(c->h, err);
	pthread_mutex_unlock(&b->wmu);
	return err;
}

/* ---- statement shapes ---- */

/*
 * Runs a batch of writes in one transaction: one durable commit for all of them. With more than
 * one, each runs under a savepoint, so one that fails (a duplicate nonce, say) is undone alone
 * and the others still commit; if the commit fails, every write of the batch fails.
 */
static void
run_batch(struct be *b, struct wop *batch)
{
	struct conn *c = NULL;
	struct wop *w;
	bool many = batch->next != NULL, durable = false;
	enum cs_err err;

	/* The batch is durable as soon as one of its writes must be. */
	for (w = batch; w != NULL; w = w->next)
		durable |= !w->relaxed;
	err = acquire(b, &c);
	if (err == CS_OK && (err = wbegin(b, c, durable)) != CS_OK)
		release(b, c);
	if (err != CS_OK) {
		for (w = batch; w != NULL; w = w->next)
			w->err = err;
		return;
	}
	for (w = batch; w != NULL; w = w->next) {
		if (many &&
		    (err = b->d->run(c->h, ST_SAVEPOINT, NULL, 0, NULL, NULL, NULL)) != CS_OK) {
			w->err = err;
			continue;
		}
		w->err = w->fn(b, c, w->arg);
		if (many && w->err != CS_OK)
			(void)b->d->run(c->h, ST_SAVEPOINT_UNDO, NULL, 0, NULL, NULL, NULL);
		if (many &&
		    (err = b->d->run(c->h, ST_SAVEPOINT_END, NULL, 0, NULL, NULL, NULL)) != CS_OK &&
		    w->err == CS_OK)
			w->err = err;
	}
	/* A single write that failed rolls back; a batch commits what succeeded. */
	err = wend(b, c, many ? CS_OK : batch->err);
	for (w = batch; w != NULL; w = w->next)
		if (w->err == CS_OK)
			w->err = err;
	release(b, c);
}

/*
 * Group commit: a writer queues its operation; if no batch is running it becomes the leader,
 * takes the whole queue and runs it as one transaction; otherwise it waits, and either finds its
 * operation done by a leader or leads the next batch itself. A write still returns only after its
 * own transaction committed durably, but concurrent writers share one fsync instead of queueing
 * for one each. Alone, a writer runs at once, as before. A leader takes only the writes of its own
 * durability class (wop.relaxed), so that a relaxed write never pays for an fsync of durable
 * ones batched with it, and a durable one is never committed relaxed.
 */

/* Unlinks the queued writes of one class, in queue order, and returns them as a list. */
static struct wop *
take_class(struct be *b, bool relaxed)
{
	struct wop *batch = NULL, **bt = &batch, **pp = &b->qhead, *w;

	while ((w = *pp) != NULL) {
		if (w->relaxed == relaxed) {
			*pp = w->next;
			w->next = NULL;
			*bt = w;
			bt = &w->next;
		} else {
			pp = &w->next;
		}
	}
	b->qtail = pp;
	return batch;
}

static enum cs_err
write_group(struct be *b, wfn fn, void *arg, bool relaxed)
{
	struct wop op = {fn, arg, CS_OK, false, relaxed, NULL};
	struct wop *batch, *w, *next;

	pthread_mutex_lock(&b->gmu);
	*b->qtail = &op;
	b->qtail = &op.next;
	while (!op.done && b->leading)
		pthread_cond_wait(&b->gcv, &b->gmu);
	if (op.done) {
		pthread_mutex_unlock(&b->gmu);
		return op.err;
	}
	b->leading = true;
	batch = take_class(b, relaxed); /* our op is in it: it was queued and is not done */
	pthread_mutex_unlock(&b->gmu);

	run_batch(b, batch);

	pthread_mutex_lock(&b->gmu);
	for (w = batch; w != NULL; w = next) {
		next = w->next; /* w may vanish once done is seen */
		w->done = true;
	}
	b->leading = false;
	pthread_cond_broadcast(&b->gcv);
	pthread_mutex_unlock(&b->gmu);
	return op.err;
}

struct stmt_op {
	enum sql_st i;
	const struct param *ps;
	size_t n;
	int64_t changes;
};

static enum cs_err
stmt_fn(struct be *b, struct conn *c, void *arg)
{
	struct stmt_op *o = arg;

	return b->d->run(c->h, o->i, o->ps, o->n, NULL, NULL, &o->changes);
}

/*
 * Runs one write statement, committed durably (relaxed false) or to survive a crash of this
 * process only (relaxed true: see sql_driver.set_durable); *changes (may be NULL) gets rows.
 */
static enum cs_err
run_write_as(struct be *b, bool relaxed, enum sql_st i, const struct param *ps, size_t n,
             int64_t *changes)
{
	struct stmt_op o = {i, ps, n, 0};

	TRY(write_group(b, stmt_fn, &o, relaxed));
	if (changes != NULL)
		*changes = o.changes;
	return CS_OK;
}

/* Runs one write statement, durably committed; *changes (may be NULL) gets rows. */
static enum cs_err
run_write(struct be *b, enum sql_st i, const struct param *ps, size_t n, int64_t *changes)
{
	return run_write_as(b, false, i, ps, n, changes);
}

/* run_write for DELETEs: CS_ERR_NOT_FOUND when no row matched. */
static enum cs_err
run_delete(struct be *b, enum sql_st i, const struct param *ps, size_t n)
{
	int64_t changes = 0;

	TRY(run_write(b, i, ps, n, &changes));
	return changes > 0 ? CS_OK : CS_ERR_NOT_FOUND;
}

struct one_row {
	sql_row_fn fn;
	void *arg;
	bool seen;
};

static enum cs_err
one_row_cb(void *arg, const struct sql_row *r)
{
	struct one_row *o = arg;

	if (o->seen)
		return CS_OK; /* only the first row counts */
	o->seen = true;
	return o->fn(o->arg, r);
}

/* Reads one row; CS_ERR_NOT_FOUND when there is none; fn decodes it. */
static enum cs_err
run_row(struct be *b, enum sql_st i, const struct param *ps, size_t n, sql_row_fn fn, void *arg)
{
	struct conn *c;
	struct one_row o = {fn, arg, false};
	enum cs_err err;

	TRY(acquire(b, &c));
	err = b->d->run(c->h, i, ps, n, one_row_cb, &o, NULL);
	release(b, c);
	if (err == CS_OK && !o.seen)
		err = CS_ERR_NOT_FOUND;
	return err;
}

static enum cs_err
list_cb(void *arg, const struct sql_row *r)
{
	size_t len = 0;
	const uint8_t *s = r->d->col_blob(r, 0, &len);

	return cs_store_list_add(arg, s != NULL ? (const char *)s : "", len);
}

/* Collects the first column of every row as text. */
static enum cs_err
run_list(struct be *b, enum sql_st i, const struct param *ps, size_t n, struct cs_store_list *out)
{
	struct conn *c;
	enum cs_err err;

	TRY(acquire(b, &c));
	err = b->d->run(c->h, i, ps, n, list_cb, out, NULL);
	release(b, c);
	if (err != CS_OK)
		cs_store_list_fini(out);
	return err;
}

/*
 * Makes room for one more element in a growing array (v, n used, *cap allocated): returns the
 * array to use from now on, or NULL (v untouched and still owned by the caller) when out of memory.
 */
static void *
grow(void *v, size_t n, size_t *cap, size_t size)
{
	void *nv;
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size || (nv = realloc(v, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return nv;
}

struct versions {
	struct cs_store_version *v;
	size_t n, cap;
};

static enum cs_err
versions_cb(void *arg, const struct sql_row *r)
{
	struct versions *vs = arg;
	struct cs_store_version *nv = grow(vs->v, vs->n, &vs->cap, sizeof(*nv));

	ENSURE(nv != NULL, CS_ERR_NOMEM);
	vs->v = nv;
	vs->v[vs->n].version = (uint64_t)r->d->col_int(r, 0);
	vs->v[vs->n].created = r->d->col_int(r, 1);
	vs->v[vs->n].size = (size_t)r->d->col_int(r, 2);
	vs->n++;
	return CS_OK;
}

/* Collects (version, created, size) rows; CS_ERR_NOT_FOUND when there are none. */
static enum cs_err
run_versions(struct be *b, enum sql_st i, const struct param *ps, size_t n,
             struct cs_store_version **out, size_t *cnt)
{
	struct conn *c;
	struct versions vs = {NULL, 0, 0};
	enum cs_err err;

	TRY(acquire(b, &c));
	err = b->d->run(c->h, i, ps, n, versions_cb, &vs, NULL);
	release(b, c);
	if (err == CS_OK && vs.n == 0)
		err = CS_ERR_NOT_FOUND;
	if (err != CS_OK) {
		free(vs.v);
		return err;
	}
	*out = vs.v;
	*cnt = vs.n;
	return CS_OK;
}

static enum cs_err
int_cb(void *arg, const struct sql_row *r)
{
	*(int64_t *)arg = r->d->col_int(r, 0);
	return CS_OK;
}

/* Fills the INSERT's parameters for a new version (at most 8). */
typedef enum cs_err (*fill_fn)(void *arg, uint64_t version, struct param *ps, size_t *n);

struct put_op {
	enum sql_st maxv_st, ins_st;
	const struct param *key;
	size_t nkey;
	fill_fn fill;
	void *arg;
	uint64_t version;
};

static enum cs_err
put_fn(struct be *b, struct conn *c, void *arg)
{
	struct put_op *o = arg;
	struct param ins[8];
	size_t nins = 0;
	int64_t maxv = -1;

	TRY(b->d->run(c->h, o->maxv_st, o->key, o->nkey, int_cb, &maxv, NULL));
	ENSURE(maxv >= 0 && maxv < INT64_MAX, CS_ERR_STORE);
	TRY(o->fill(o->arg, (uint64_t)maxv + 1, ins, &nins));
	TRY(b->d->run(c->h, o->ins_st, ins, nins, NULL, NULL, NULL));
	o->version = (uint64_t)maxv + 1;
	return CS_OK;
}

/*
 * Versioned insert in one write transaction: reads MAX(version) with the key parameters, asks
 * fill for the row of version max + 1, and inserts it.
 */
static enum cs_err
put_next(struct be *b, enum sql_st maxv_st, const struct param *key, size_t nkey,
         enum sql_st ins_st, fill_fn fill, void *arg, uint64_t *version)
{
	struct put_op o = {maxv_st, ins_st, key, nkey, fill, arg, 0};

	TRY(write_group(b, put_fn, &o, false));
	*version = o.version;
	return CS_OK;
}

/* Copies a blob column of exactly n bytes; false if the stored value has another length. */
static bool
col_fixed(const struct sql_row *r, int col, uint8_t *dst, size_t n)
{
	size_t len = 0;
	const uint8_t *p = r->d->col_blob(r, col, &len);

	if (len != n || (p == NULL && n > 0))
		return false;
	if (n > 0)
		memcpy(dst, p, n);
	return true;
}

/* Returns an owned, NUL-terminated copy of a blob or text column. */
static uint8_t *
col_dup(const struct sql_row *r, int col, size_t *n)
{
	size_t len = 0;
	const uint8_t *p = r->d->col_blob(r, col, &len);
	uint8_t *d;

	if (p == NULL && len > 0)
		return NULL;
	d = malloc(len + 1);
	if (d == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, p, len);
	d[len] = '\0';
	*n = len;
	return d;
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
res_row(void *arg, const struct sql_row *r)
{
	struct cs_res_row *row = arg;

	row->version = (uint64_t)r->d->col_int(r, 0);
	row->created = r->d->col_int(r, 1);
	row->alg = (uint32_t)r->d->col_int(r, 2);
	/* A field of the wrong length is a tampered row: it fails like a bad tag. */
	if (!col_fixed(r, 3, row->iv, sizeof(row->iv)) ||
	    !col_fixed(r, 4, row->tag, sizeof(row->tag)) ||
	    !col_fixed(r, 5, row->wdek, sizeof(row->wdek)))
		return CS_ERR_DECRYPT;
	row->ct = col_dup(r, 6, &row->ct_len);
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
pol_row(void *arg, const struct sql_row *r)
{
	struct cs_store_policy *out = arg;

	out->version = (uint64_t)r->d->col_int(r, 0);
	out->created = r->d->col_int(r, 1);
	out->text = col_dup(r, 2, &out->text_len);
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
rv_row(void *arg, const struct sql_row *r)
{
	struct rv_out *o = arg;
	size_t len = 0;
	const uint8_t *p = r->d->col_blob(r, 0, &len);

	*o->expires = r->d->col_int(r, 1);
	ENSURE(p != NULL || len == 0, CS_ERR_STORE);
	return cs_buf_append(o->out, p, len);
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
	/* The primary key makes a second insert fail: CS_ERR_EXISTS. Relaxed commit: store.h. */
	return run_write_as(be, true, ST_NONCE_INS, PARAMS(PB(digest, len), PI(expires)), NULL);
}

static enum cs_err
nonce_purge(void *be, int64_t now, uint64_t *purged)
{
	int64_t n = 0;

	TRY(run_write_as(be, true, ST_NONCE_PURGE, PARAMS(PI(now)), &n));
	*purged = n > 0 ? (uint64_t)n : 0;
	return CS_OK;
}

/* ---- audit ---- */

struct head {
	uint64_t seq;
	uint8_t hash[CS_STORE_HASH_LEN];
	uint8_t mac[CS_STORE_HASH_LEN];
	bool seen, bad;
};

static enum cs_err
head_cb(void *arg, const struct sql_row *r)
{
	struct head *h = arg;
	int64_t s = r->d->col_int(r, 0);

	h->seen = true;
	h->seq = s < 0 ? 0 : (uint64_t)s;
	/* A head of the wrong shape is tampering: the chain does not verify past it. */
	h->bad = s < 0 || !col_fixed(r, 1, h->hash, CS_STORE_HASH_LEN) ||
	         !col_fixed(r, 2, h->mac, CS_STORE_HASH_LEN);
	return CS_OK;
}

/* Reads the chain head in the current transaction: seq 0 and zeros when there is none. */
static enum cs_err
read_head(struct be *b, struct conn *c, struct head *h)
{
	memset(h, 0, sizeof(*h));
	TRY(b->d->run(c->h, ST_AUD_HEAD, NULL, 0, head_cb, h, NULL));
	if (h->bad)
		return CS_ERR_VERIFY;
	if (!h->seen)
		memset(h, 0, sizeof(*h));
	return CS_OK;
}

struct audit_op {
	int64_t time;
	const char *kind, *body;
	size_t body_len;
	cs_audit_chain_fn chain;
	void *arg;
	uint64_t seq;
};

static enum cs_err
audit_fn(struct be *b, struct conn *c, void *arg)
{
	struct audit_op *o = arg;
	struct head head;
	uint8_t h[CS_STORE_HASH_LEN], mac[CS_STORE_HASH_LEN];

	TRY(read_head(b, c, &head));
	ENSURE(head.seq < INT64_MAX, CS_ERR_STORE);
	TRY(o->chain(o->arg, head.seq + 1, head.hash, h, mac));
	TRY(b->d->run(c->h, ST_AUD_INS,
	              PARAMS(PI(head.seq + 1), PI(o->time), PT(o->kind), PTN(o->body, o->body_len),
	                     PB(h, sizeof(h))),
	              NULL, NULL, NULL));
	TRY(b->d->run(c->h, ST_AUD_HEAD_SET,
	              PARAMS(PI(head.seq + 1), PB(h, sizeof(h)), PB(mac, sizeof(mac))), NULL, NULL,
	              NULL));
	o->seq = head.seq + 1;
	return CS_OK;
}

static enum cs_err
audit_append(void *be, int64_t time, const char *kind, const char *body, size_t body_len,
             cs_audit_chain_fn chain, void *arg, uint64_t *seq)
{
	struct audit_op o = {time, kind, body, body_len, chain, arg, 0};

	TRY(write_group(be, audit_fn, &o, false));
	*seq = o.seq;
	return CS_OK;
}

struct iter {
	cs_audit_row_fn fn;
	void *arg;
};

static enum cs_err
iter_cb(void *arg, const struct sql_row *r)
{
	struct iter *it = arg;
	struct cs_audit_row a;
	int64_t seq = r->d->col_int(r, 0);
	const uint8_t *p;

	a.seq = seq < 0 ? 0 : (uint64_t)seq;
	a.time = r->d->col_int(r, 1);
	p = r->d->col_blob(r, 2, &a.kind_len);
	a.kind = p != NULL ? (const char *)p : "";
	p = r->d->col_blob(r, 3, &a.body_len);
	a.body = p != NULL ? (const char *)p : "";
	a.hash = r->d->col_blob(r, 4, &a.hash_len);
	if (a.hash == NULL)
		a.hash_len = 0;
	return it->fn(it->arg, &a);
}

static enum cs_err
audit_iter(void *be, uint64_t from, uint64_t to, cs_audit_row_fn fn, void *arg, uint64_t *head_seq,
           uint8_t head_hash[CS_STORE_HASH_LEN], uint8_t head_mac[CS_STORE_HASH_LEN])
{
	struct be *b = be;
	struct conn *c;
	struct iter it = {fn, arg};
	struct head head;
	enum cs_err err;

	ENSURE(from <= INT64_MAX && to <= INT64_MAX, CS_ERR_INVAL);
	TRY(acquire(b, &c));
	err = b->d->begin(c->h, false); /* one read snapshot for the records and the head */
	if (err != CS_OK)
		goto out;
	err = b->d->run(c->h, ST_AUD_ITER, PARAMS(PI(from), PI(to)), iter_cb, &it, NULL);
	if (err == CS_OK && head_seq != NULL) {
		err = read_head(b, c, &head);
		*head_seq = head.seq;
		memcpy(head_hash, head.hash, CS_STORE_HASH_LEN);
		memcpy(head_mac, head.mac, CS_STORE_HASH_LEN);
	}
	(void)b->d->end(c->h, CS_ERR_STATE); /* a read: nothing to commit */
out:
	release(b, c);
	return err;
}

/* ---- settings ---- */

static enum cs_err
meta_row(void *arg, const struct sql_row *r)
{
	size_t len = 0;
	const uint8_t *p = r->d->col_blob(r, 0, &len);

	ENSURE(p != NULL || len == 0, CS_ERR_STORE);
	return cs_buf_append(arg, p, len);
}

static enum cs_err
meta_get(void *be, const char *k, struct cs_buf *out)
{
	return run_row(be, ST_META_GET, PARAMS(PT(k)), meta_row, out);
}

static enum cs_err
meta_add(void *be, const char *k, const char *v)
{
	return run_write(be, ST_META_ADD, PARAMS(PT(k), PT(v)), NULL);
}

/* ---- master key rotation ---- */

struct wdek_row {
	char *path;
	int64_t version;
	uint8_t wdek[CS_STORE_WDEK_LEN];
	bool ok; /* the stored wrapped key had the right length */
};

struct wdeks {
	struct wdek_row *v;
	size_t n, cap;
};

static enum cs_err
wdeks_cb(void *arg, const struct sql_row *r)
{
	struct wdeks *w = arg;
	struct wdek_row *row, *nv = grow(w->v, w->n, &w->cap, sizeof(*nv));
	size_t len = 0;
	const uint8_t *p = r->d->col_blob(r, 0, &len);

	ENSURE(nv != NULL, CS_ERR_NOMEM);
	w->v = nv;
	row = &w->v[w->n];
	memset(row, 0, sizeof(*row));
	row->path = malloc(len + 1);
	ENSURE(row->path != NULL, CS_ERR_NOMEM);
	w->n++;
	if (len > 0)
		memcpy(row->path, p, len);
	row->path[len] = '\0';
	row->version = r->d->col_int(r, 1);
	row->ok = col_fixed(r, 2, row->wdek, sizeof(row->wdek));
	return CS_OK;
}

/*
 * The rows are collected first and updated after, so no statement updates the table another
 * statement is still reading. A wrapped key of the wrong length (a tampered row) fails the whole
 * rotation: delete or restore that resource first.
 */
static enum cs_err
rekey(void *be, const struct cs_rekey_fns *f, void *arg, const char *kcv)
{
	struct be *b = be;
	struct conn *c;
	struct wdeks w = {NULL, 0, 0};
	struct head head = {0};
	uint8_t out[CS_STORE_WDEK_LEN], mac[CS_STORE_HASH_LEN];
	int64_t changes = 0;
	enum cs_err err;

	TRY(acquire(b, &c));
	err = wbegin(b, c, true);
	if (err != CS_OK)
		goto out;
	err = b->d->run(c->h, ST_RES_WDEKS, NULL, 0, wdeks_cb, &w, NULL);
	for (size_t i = 0; i < w.n && err == CS_OK; i++) {
		err = w.v[i].ok ? f->rewrap(arg, w.v[i].wdek, out) : CS_ERR_DECRYPT;
		if (err == CS_OK)
			err = b->d->run(
			        c->h, ST_RES_SET_WDEK,
			        PARAMS(PB(out, sizeof(out)), PT(w.v[i].path), PI(w.v[i].version)),
			        NULL, NULL, NULL);
	}
	if (err == CS_OK)
		err = read_head(b, c, &head);
	if (err == CS_OK && head.seen)
		err = f->remac(arg, head.seq, head.hash, head.mac, mac);
	if (err == CS_OK && head.seen)
		err = b->d->run(c->h, ST_AUD_HEAD_SET,
		                PARAMS(PI(head.seq), PB(head.hash, sizeof(head.hash)),
		                       PB(mac, sizeof(mac))),
		                NULL, NULL, NULL);
	if (err == CS_OK)
		err = b->d->run(c->h, ST_META_SET, PARAMS(PT("key_check"), PT(kcv)), NULL, NULL,
		                &changes);
	if (err == CS_OK && changes != 1)
		err = CS_ERR_STORE;
	err = wend(b, c, err);
out:
	release(b, c);
	for (size_t i = 0; i < w.n; i++)
		free(w.v[i].path);
	free(w.v);
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
		b->d->disconnect(c->h);
		free(c);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->wmu);
	pthread_mutex_destroy(&b->gmu);
	pthread_cond_destroy(&b->gcv);
	if (b->free_cfg != NULL)
		b->free_cfg(b->cfg);
	free(b);
}

static const struct cs_store_ops sql_ops = {
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
        .meta_get = meta_get,
        .meta_add = meta_add,
        .rekey = rekey,
};

enum cs_err
cs_store_sql_open(const struct sql_driver *d, void *cfg, void (*free_cfg)(void *),
                  unsigned max_conns, const struct cs_store_ops **ops, void **be)
{
	struct be *b = calloc(1, sizeof(*b));
	struct conn *c = NULL;
	enum cs_err err;

	if (b == NULL) {
		if (free_cfg != NULL)
			free_cfg(cfg);
		return CS_ERR_NOMEM;
	}
	b->d = d;
	b->cfg = cfg;
	b->free_cfg = free_cfg;
	b->max = max_conns > 0 ? max_conns : 1;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	pthread_mutex_init(&b->wmu, NULL);
	pthread_mutex_init(&b->gmu, NULL);
	pthread_cond_init(&b->gcv, NULL);
	b->qtail = &b->qhead;
	/* The first connection creates or checks the schema. */
	err = conn_new(b, true, &c);
	if (err != CS_OK) {
		be_close(b);
		return err;
	}
	b->open = 1;
	b->free = c;
	*ops = &sql_ops;
	*be = b;
	return CS_OK;
}

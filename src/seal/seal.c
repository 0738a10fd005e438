/*
 * Sealing and unsealing (docs/sealed-format.md §3, §6): a small worker pool runs one job per chunk;
 * each worker owns its GCM context. Sequential streams go in batches of 2 x threads chunks; random
 * access reads each chunk with preadv straight into the destination and decrypts it in place.
 */
#include "seal/seal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/secret.h"
#include "crypto/aead.h"
#include "crypto/hash.h"

#define THREADS_MAX 256

unsigned
cs_seal_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > THREADS_MAX ? THREADS_MAX : (unsigned)n;
}

/* ---- the worker pool ---- */

/* A job is run for indices 0..njobs-1 by whichever worker claims them; worker ids are
 * 0..nthreads-1, the calling thread being the last. */
typedef enum cs_err (*job_fn)(void *arg, unsigned worker, uint64_t idx);

struct pool {
	unsigned nthreads; /* workers including the caller */
	pthread_t *th;     /* nthreads - 1 helper threads */
	unsigned started;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t gen;
	bool stop;
	job_fn job;
	void *arg;
	uint64_t njobs;
	atomic_uint_fast64_t next;
	atomic_int err;
	unsigned active;
};

struct helper {
	struct pool *p;
	unsigned id;
};

static void
pool_work(struct pool *p, unsigned id)
{
	for (;;) {
		uint64_t i;
		enum cs_err e;

		if (atomic_load(&p->err) != CS_OK)
			return;
		i = atomic_fetch_add(&p->next, 1);
		if (i >= p->njobs)
			return;
		e = p->job(p->arg, id, i);
		if (e != CS_OK) {
			int ok = CS_OK;
			atomic_compare_exchange_strong(&p->err, &ok, (int)e);
		}
	}
}

static void *
pool_main(void *v)
{
	struct pool *p = ((struct helper *)v)->p;
	unsigned id = ((struct helper *)v)->id;
	uint64_t seen = 0;

	free(v);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		pool_work(p, id);
		pthread_mutex_lock(&p->mu);
		if (--p->active == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void
pool_fini(struct pool *p)
{
	if (p->th == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->th[i], NULL);
	free(p->th);
	p->th = NULL;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
}

static enum cs_err
pool_init(struct pool *p, unsigned nthreads)
{
	memset(p, 0, sizeof(*p));
	p->nthreads = nthreads == 0 ? 1 : nthreads;
	atomic_init(&p->next, 0);
	atomic_init(&p->err, CS_OK);
	if (p->nthreads == 1)
		return CS_OK;
	p->th = calloc(p->nthreads - 1, sizeof(*p->th));
	ENSURE(p->th != NULL, CS_ERR_NOMEM);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (unsigned i = 0; i + 1 < p->nthreads; i++) {
		struct helper *h = malloc(sizeof(*h));
		if (h != NULL) {
			h->p = p;
			h->id = i;
		}
		if (h == NULL || pthread_create(&p->th[i], NULL, pool_main, h) != 0) {
			free(h);
			pool_fini(p);
			return CS_ERR_NOMEM;
		}
		p->started++;
	}
	return CS_OK;
}

/* Runs job for 0..njobs-1 on all workers; returns the first error. */
static enum cs_err
pool_run(struct pool *p, job_fn job, void *arg, uint64_t njobs)
{
	p->job = job;
	p->arg = arg;
	p->njobs = njobs;
	atomic_store(&p->next, 0);
	atomic_store(&p->err, CS_OK);
	if (p->th != NULL && njobs > 1) {
		pthread_mutex_lock(&p->mu);
		p->active = p->started;
		p->gen++;
		pthread_cond_broadcast(&p->go);
		pthread_mutex_unlock(&p->mu);
	}
	pool_work(p, p->nthreads - 1);
	if (p->th != NULL && njobs > 1) {
		pthread_mutex_lock(&p->mu);
		while (p->active > 0)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
	return (enum cs_err)atomic_load(&p->err);
}

/* ---- per-worker crypto state ---- */

struct worker {
	struct cs_gcm g;
	uint8_t *buf; /* chunk + tag scratch, lazily allocated (random access partial chunks) */
	size_t cap;
};

struct workers {
	unsigned n;
	struct worker *w;
};

static enum cs_err
workers_init(struct workers *ws, unsigned n)
{
	ws->n = n;
	ws->w = calloc(n, sizeof(*ws->w));
	return ws->w != NULL ? CS_OK : CS_ERR_NOMEM;
}

static void
workers_fini(struct workers *ws)
{
	if (ws->w == NULL)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		cs_gcm_fini(&ws->w[i].g);
		if (ws->w[i].buf != NULL) {
			cs_wipe(ws->w[i].buf, ws->w[i].cap);
			free(ws->w[i].buf);
		}
	}
	free(ws->w);
	ws->w = NULL;
}

/* Seals or opens one chunk. in and out may be equal. On open failure out is wiped. */
static enum cs_err
chunk_crypt(struct cs_gcm *g, int encrypt, const struct cs_seal_keys *k, const uint8_t *bound,
            uint64_t idx, int last, const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
	enum cs_err err;
	uint8_t nonce[12];

	cs_seal_nonce(idx, last, nonce);
	if ((err = cs_gcm_init(g, encrypt, k->payload, nonce)) != CS_OK ||
	    (err = cs_gcm_aad(g, bound, CS_SEAL_BOUND_LEN)) != CS_OK ||
	    (err = cs_gcm_update(g, in, n, out)) != CS_OK)
		goto out;
	err = encrypt ? cs_gcm_seal_final(g, tag) : cs_gcm_open_final(g, tag);
out:
	if (err != CS_OK && !encrypt) {
		cs_wipe(out, n);
		err = CS_ERR_DECRYPT;
	}
	return err;
}

/* ---- plain I/O helpers ---- */

/* Reads up to n bytes (fewer only at end of input). */
static enum cs_err
read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
	size_t off = 0;

	while (off < n) {
		size_t want = n - off > (1u << 30) ? (1u << 30) : n - off;
		ssize_t r = read(fd, p + off, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return CS_ERR_IO;
		if (r == 0)
			break;
		off += (size_t)r;
	}
	*got = off;
	return CS_OK;
}

static enum cs_err
write_full(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t want = n > (1u << 30) ? (1u << 30) : n;
		ssize_t w = write(fd, p, want);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CS_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return CS_OK;
}

static enum cs_err
pread_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		size_t want = n > (1u << 30) ? (1u << 30) : n;
		ssize_t r = pread(fd, p, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return CS_ERR_IO;
		if (r == 0)
			return CS_ERR_TRUNCATED;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return CS_OK;
}

static enum cs_err
pwrite_full(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		size_t want = n > (1u << 30) ? (1u << 30) : n;
		ssize_t w = pwrite(fd, p, want, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CS_ERR_IO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return CS_OK;
}

/* Where a regular file's descriptor stands, or -1 when fd is not one (or appends). */
static off_t
regular_pos(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	/* pwrite on an O_APPEND descriptor appends wherever it is told to write: stream instead. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || fl < 0 || (fl & O_APPEND) != 0)
		return -1;
	return lseek(fd, 0, SEEK_CUR);
}

/*
 * File to file, both regular: every worker preads its chunk, seals or opens it in place and
 * pwrites it at its own offset, so reading, crypto and writing all run in parallel. Offsets are
 * relative to in_start / out_start (the plaintext's start and the sealed file's header).
 */
struct pfile {
	int in, out;
	uint64_t pt_start, sealed_start; /* plaintext and sealed-file origins in their fds */
	const struct cs_seal_header *h;
	const struct cs_seal_keys *keys;
	const uint8_t *bound;
	size_t chunk;
	uint64_t nchunks, base;
	int encrypt;
	struct workers ws;
};

static enum cs_err
pfile_job(void *arg, unsigned worker, uint64_t j)
{
	struct pfile *pf = arg;
	struct worker *w = &pf->ws.w[worker];
	uint64_t i = pf->base + j, start = i * pf->chunk;
	uint64_t left = pf->h->plaintext_len - start;
	size_t n = left < pf->chunk ? (size_t)left : pf->chunk;
	uint64_t sealed_off = pf->sealed_start + CS_SEAL_HEADER_LEN + i * (pf->chunk + 16);
	int last = i + 1 == pf->nchunks;
	enum cs_err err;

	if (w->buf == NULL) {
		w->buf = malloc(pf->chunk + CS_SEAL_TAG_LEN);
		if (w->buf == NULL)
			return CS_ERR_NOMEM;
		w->cap = pf->chunk + CS_SEAL_TAG_LEN;
	}
	if (pf->encrypt) {
		err = pread_full(pf->in, w->buf, n, pf->pt_start + start);
		if (err == CS_ERR_TRUNCATED)
			err = CS_ERR_LENGTH; /* the input shrank while being sealed */
		if (err == CS_OK)
			err = chunk_crypt(&w->g, 1, pf->keys, pf->bound, i, last, w->buf, n, w->buf,
			                  w->buf + n);
		if (err == CS_OK)
			err = pwrite_full(pf->out, w->buf, n + CS_SEAL_TAG_LEN, sealed_off);
	} else {
		err = pread_full(pf->in, w->buf, n + CS_SEAL_TAG_LEN, sealed_off);
		if (err == CS_OK)
			err = chunk_crypt(&w->g, 0, pf->keys, pf->bound, i, last, w->buf, n, w->buf,
			                  w->buf + n);
		if (err == CS_OK)
			err = pwrite_full(pf->out, w->buf, n, pf->pt_start + start);
	}
	cs_wipe(w->buf, n);
	return err;
}

/* A thread hashing len bytes of fd from off (pread, so the pool's reads are undisturbed). */
struct hasher {
	int fd;
	uint64_t off, len;
	enum cs_err err;
	uint8_t out[32];
};

static void *
hash_main(void *v)
{
	struct hasher *hs = v;
	struct cs_hash_ctx c = {0};
	const size_t step = (size_t)1 << 20;
	uint8_t *buf = malloc(step);

	hs->err = CS_ERR_NOMEM;
	if (buf == NULL)
		return NULL;
	if ((hs->err = cs_hash_init(&c, CS_SHA256)) != CS_OK)
		goto out;
	for (uint64_t done = 0; done < hs->len;) {
		size_t n = hs->len - done < step ? (size_t)(hs->len - done) : step;
		if ((hs->err = pread_full(hs->fd, buf, n, hs->off + done)) != CS_OK) {
			if (hs->err == CS_ERR_TRUNCATED)
				hs->err = CS_ERR_LENGTH; /* the input shrank while being sealed */
			goto out;
		}
		if ((hs->err = cs_hash_update(&c, buf, n)) != CS_OK)
			goto out;
		done += n;
	}
	hs->err = cs_hash_final(&c, hs->out);
out:
	cs_hash_fini(&c);
	cs_wipe(buf, step);
	free(buf);
	return NULL;
}

static enum cs_err
pfile_run(struct pfile *pf, struct pool *pool, unsigned threads, const struct cs_seal_opts *opts)
{
	enum cs_err err = CS_OK;
	uint64_t step = 64 * (uint64_t)threads;

	TRY(workers_init(&pf->ws, threads));
	for (pf->base = 0; pf->base < pf->nchunks && err == CS_OK; pf->base += step) {
		uint64_t k = pf->nchunks - pf->base < step ? pf->nchunks - pf->base : step;
		uint64_t done;

		err = pool_run(pool, pfile_job, pf, k);
		done = (pf->base + k) * pf->chunk;
		if (done > pf->h->plaintext_len)
			done = pf->h->plaintext_len;
		if (err == CS_OK && opts != NULL && opts->progress != NULL)
			opts->progress(opts->progress_arg, done, pf->h->plaintext_len);
	}
	workers_fini(&pf->ws);
	return err;
}

static unsigned
threads_of(const struct cs_seal_opts *o)
{
	unsigned t = o != NULL && o->threads > 0 ? o->threads : cs_seal_cpus();
	return t > THREADS_MAX ? THREADS_MAX : t;
}

/* ---- sequential sealing ---- */

struct batch {
	struct workers ws;
	const struct cs_seal_keys *keys;
	const uint8_t *bound;
	uint64_t first; /* index of the batch's first chunk in the file */
	size_t chunk;   /* C */
	size_t pt_len;  /* plaintext bytes in the batch */
	size_t nch;     /* chunks in the batch */
	bool has_last;  /* the batch ends the file */
	uint8_t *pt;    /* nch x C plaintext */
	uint8_t *ct;    /* nch x (C + 16) ciphertext */
};

static size_t
batch_chunk_len(const struct batch *b, uint64_t j)
{
	size_t start = (size_t)j * b->chunk;
	size_t left = b->pt_len - start;
	return left < b->chunk ? left : b->chunk;
}

static enum cs_err
seal_job(void *arg, unsigned worker, uint64_t j)
{
	struct batch *b = arg;
	size_t n = batch_chunk_len(b, j);
	uint8_t *out = b->ct + (size_t)j * (b->chunk + CS_SEAL_TAG_LEN);
	int last = b->has_last && j + 1 == b->nch;

	return chunk_crypt(&b->ws.w[worker].g, 1, b->keys, b->bound, b->first + j, last,
	                   b->pt + (size_t)j * b->chunk, n, out, out + n);
}

static enum cs_err
open_job(void *arg, unsigned worker, uint64_t j)
{
	struct batch *b = arg;
	size_t n = batch_chunk_len(b, j);
	const uint8_t *in = b->ct + (size_t)j * (b->chunk + CS_SEAL_TAG_LEN);
	int last = b->has_last && j + 1 == b->nch;

	return chunk_crypt(&b->ws.w[worker].g, 0, b->keys, b->bound, b->first + j, last, in, n,
	                   b->pt + (size_t)j * b->chunk, (uint8_t *)in + n);
}

static enum cs_err
batch_alloc(struct batch *b, unsigned threads, size_t chunk, size_t per_batch)
{
	memset(b, 0, sizeof(*b));
	b->chunk = chunk;
	TRY(workers_init(&b->ws, threads));
	b->pt = malloc(per_batch * chunk);
	b->ct = malloc(per_batch * (chunk + CS_SEAL_TAG_LEN));
	ENSURE(b->pt != NULL && b->ct != NULL, CS_ERR_NOMEM);
	return CS_OK;
}

static void
batch_free(struct batch *b, size_t per_batch)
{
	workers_fini(&b->ws);
	if (b->pt != NULL) {
		cs_wipe(b->pt, per_batch * b->chunk);
		free(b->pt);
	}
	free(b->ct);
}

enum cs_err
cs_seal_stream(int in_fd, int out_fd, const uint8_t kek[CS_SEAL_KEY_LEN], const char *key_id,
               const struct cs_seal_opts *opts, struct cs_seal_result *res)
{
	enum cs_err err;
	struct cs_seal_header h;
	struct cs_seal_keys *keys = NULL;
	struct cs_hash_ctx hc = {0};
	struct batch b = {0};
	struct pool pool;
	struct stat st;
	uint8_t raw[CS_SEAL_HEADER_LEN], carry = 0;
	bool known = false, have_carry = false, eof = false, pool_up = false;
	uint64_t want_len = 0, total = 0, idx = 0;
	off_t out_start = -1;
	unsigned threads = threads_of(opts);
	size_t per_batch = 2 * (size_t)threads, chunk;

	ENSURE(kek != NULL && key_id != NULL && res != NULL, CS_ERR_INVAL);
	memset(res, 0, sizeof(*res));
	ENSURE(fstat(in_fd, &st) == 0, CS_ERR_IO);
	if (S_ISREG(st.st_mode)) {
		off_t cur = lseek(in_fd, 0, SEEK_CUR);
		ENSURE(cur >= 0 && cur <= st.st_size, CS_ERR_IO);
		known = true;
		want_len = (uint64_t)(st.st_size - cur);
		ENSURE(want_len <= CS_SEAL_PLAINTEXT_MAX, CS_ERR_TOO_LARGE);
	}
	if (!known) {
		/* The header holds the length: it must be rewritten at the end. */
		ENSURE(fstat(out_fd, &st) == 0, CS_ERR_IO);
		out_start = lseek(out_fd, 0, SEEK_CUR);
		ENSURE(S_ISREG(st.st_mode) && out_start >= 0, CS_ERR_UNSUPPORTED);
	}
	keys = cs_secure_alloc(sizeof(*keys));
	ENSURE(keys != NULL, CS_ERR_NOMEM);
	if ((err = cs_seal_header_new(&h, keys, kek, key_id,
	                              opts != NULL ? opts->chunk_log2 : 0)) != CS_OK)
		goto out;
	h.plaintext_len = want_len;
	if ((err = cs_seal_header_finish(&h, keys, raw)) != CS_OK)
		goto out;
	chunk = (size_t)cs_seal_chunk_size(&h);
	if ((err = batch_alloc(&b, threads, chunk, per_batch)) != CS_OK)
		goto out;
	b.keys = keys;
	b.bound = raw; /* [0, 96) does not depend on the length */
	if ((err = pool_init(&pool, threads)) != CS_OK)
		goto out;
	pool_up = true;
	if (known && (out_start = regular_pos(out_fd)) >= 0) {
		struct pfile pf = {.in = in_fd,
		                   .out = out_fd,
		                   .h = &h,
		                   .keys = keys,
		                   .bound = raw,
		                   .chunk = chunk,
		                   .nchunks = cs_seal_chunk_count(&h),
		                   .encrypt = 1};
		off_t in_start = lseek(in_fd, 0, SEEK_CUR);

		err = CS_ERR_IO;
		if (in_start < 0)
			goto out;
		pf.pt_start = (uint64_t)in_start;
		pf.sealed_start = (uint64_t)out_start;
		if ((err = pwrite_full(out_fd, raw, sizeof(raw), pf.sealed_start)) != CS_OK)
			goto out;
		if (opts != NULL && opts->want_sha256) {
			/* The digest is sequential: one more thread hashes the input while the pool
			 * seals it (both from the page cache). */
			struct hasher hs = {.fd = in_fd, .off = pf.pt_start, .len = want_len};
			pthread_t th;
			err = CS_ERR_NOMEM;
			if (pthread_create(&th, NULL, hash_main, &hs) != 0)
				goto out;
			err = pfile_run(&pf, &pool, threads, opts);
			pthread_join(th, NULL);
			if (err == CS_OK)
				err = hs.err;
			memcpy(res->plaintext_sha256, hs.out, sizeof(hs.out));
			if (err != CS_OK)
				goto out;
		} else if ((err = pfile_run(&pf, &pool, threads, opts)) != CS_OK) {
			goto out;
		}
		/* The input must not have grown either; leave both descriptors at their ends. */
		err = CS_ERR_LENGTH;
		if (fstat(in_fd, &st) != 0 || (uint64_t)st.st_size != pf.pt_start + want_len)
			goto out;
		err = CS_ERR_IO;
		if (lseek(in_fd, 0, SEEK_END) < 0 ||
		    lseek(out_fd, (off_t)(pf.sealed_start + cs_seal_sealed_len(&h)), SEEK_SET) < 0)
			goto out;
		total = want_len;
		goto done;
	}
	if (opts != NULL && opts->want_sha256 && (err = cs_hash_init(&hc, CS_SHA256)) != CS_OK)
		goto out;
	if ((err = write_full(out_fd, raw, sizeof(raw))) != CS_OK)
		goto out;
	while (!eof) {
		size_t pos = 0, got, cap = per_batch * chunk;

		if (have_carry) {
			b.pt[pos++] = carry;
			have_carry = false;
		}
		if ((err = read_full(in_fd, b.pt + pos, cap - pos, &got)) != CS_OK)
			goto out;
		got += pos;
		if (got < cap) {
			eof = true;
		} else {
			/* A full batch: peek one byte to learn whether it ends the input, since the
			 * last chunk must carry the final flag. */
			size_t peek;
			if ((err = read_full(in_fd, &carry, 1, &peek)) != CS_OK)
				goto out;
			have_carry = peek == 1;
			eof = !have_carry;
		}
		err = CS_ERR_LENGTH; /* the input changed size while being read */
		if (known && (total + got > want_len || (eof && total + got != want_len)))
			goto out;
		b.first = idx;
		b.pt_len = got;
		b.nch = (got + chunk - 1) / chunk;
		if (b.nch == 0)
			b.nch = 1; /* the empty file: one empty, final chunk */
		b.has_last = eof;
		if ((err = pool_run(&pool, seal_job, &b, b.nch)) != CS_OK)
			goto out;
		if (opts != NULL && opts->want_sha256 &&
		    (err = cs_hash_update(&hc, b.pt, got)) != CS_OK)
			goto out;
		if ((err = write_full(out_fd, b.ct, got + b.nch * CS_SEAL_TAG_LEN)) != CS_OK)
			goto out;
		total += got;
		idx += b.nch;
		err = CS_ERR_TOO_LARGE;
		if (total > CS_SEAL_PLAINTEXT_MAX)
			goto out;
		if (opts != NULL && opts->progress != NULL)
			opts->progress(opts->progress_arg, total, want_len);
	}
	if (!known) {
		h.plaintext_len = total;
		if ((err = cs_seal_header_finish(&h, keys, raw)) != CS_OK)
			goto out;
		err = CS_ERR_IO;
		if (pwrite(out_fd, raw, sizeof(raw), out_start) != (ssize_t)sizeof(raw))
			goto out;
	}
	if (opts != NULL && opts->want_sha256) {
		if ((err = cs_hash_final(&hc, res->plaintext_sha256)) != CS_OK)
			goto out;
	}
done:
	if ((err = cs_hash(CS_SHA256, raw, sizeof(raw), res->header_sha256)) != CS_OK)
		goto out;
	res->plaintext_len = total;
	err = CS_OK;
out:
	cs_hash_fini(&hc);
	if (pool_up)
		pool_fini(&pool);
	batch_free(&b, per_batch);
	cs_secure_free(keys, sizeof(*keys));
	return err;
}

/* Reads and opens a header from a sequential stream. */
static enum cs_err
read_header(int fd, const uint8_t kek[CS_SEAL_KEY_LEN], struct cs_seal_header *h,
            uint8_t raw[CS_SEAL_HEADER_LEN], struct cs_seal_keys *keys)
{
	size_t got;

	TRY(read_full(fd, raw, CS_SEAL_HEADER_LEN, &got));
	ENSURE(got == CS_SEAL_HEADER_LEN, CS_ERR_TRUNCATED);
	TRY(cs_seal_header_parse(raw, CS_SEAL_HEADER_LEN, h));
	return cs_seal_header_open(h, raw, kek, keys);
}

enum cs_err
cs_unseal_stream(int in_fd, int out_fd, const uint8_t kek[CS_SEAL_KEY_LEN],
                 const struct cs_seal_opts *opts, struct cs_seal_result *res)
{
	enum cs_err err;
	struct cs_seal_header h;
	struct cs_seal_keys *keys = NULL;
	struct cs_hash_ctx hc = {0};
	struct batch b = {0};
	struct pool pool;
	uint8_t raw[CS_SEAL_HEADER_LEN], extra;
	bool pool_up = false;
	off_t in_pos, out_pos;
	uint64_t nchunks, idx = 0, done = 0;
	unsigned threads = threads_of(opts);
	size_t per_batch = 2 * (size_t)threads, chunk, got;

	ENSURE(kek != NULL && res != NULL, CS_ERR_INVAL);
	memset(res, 0, sizeof(*res));
	keys = cs_secure_alloc(sizeof(*keys));
	ENSURE(keys != NULL, CS_ERR_NOMEM);
	if ((err = read_header(in_fd, kek, &h, raw, keys)) != CS_OK)
		goto out;
	chunk = (size_t)cs_seal_chunk_size(&h);
	nchunks = cs_seal_chunk_count(&h);
	if ((err = batch_alloc(&b, threads, chunk, per_batch)) != CS_OK)
		goto out;
	b.keys = keys;
	b.bound = raw;
	if ((err = pool_init(&pool, threads)) != CS_OK)
		goto out;
	pool_up = true;
	if ((opts == NULL || !opts->want_sha256) && (in_pos = regular_pos(in_fd)) >= 0 &&
	    (out_pos = regular_pos(out_fd)) >= 0) {
		struct pfile pf = {.in = in_fd,
		                   .out = out_fd,
		                   .h = &h,
		                   .keys = keys,
		                   .bound = raw,
		                   .chunk = chunk,
		                   .nchunks = nchunks,
		                   .encrypt = 0};
		struct stat st;
		uint64_t have;

		pf.sealed_start = (uint64_t)in_pos - CS_SEAL_HEADER_LEN;
		pf.pt_start = (uint64_t)out_pos;
		/* The authenticated length fixes the size: refuse a truncated or extended file
		 * before writing anything. */
		err = CS_ERR_IO;
		if (fstat(in_fd, &st) != 0)
			goto out;
		have = (uint64_t)st.st_size - pf.sealed_start;
		err = have < cs_seal_sealed_len(&h) ? CS_ERR_TRUNCATED : CS_ERR_TRAILING;
		if (have != cs_seal_sealed_len(&h))
			goto out;
		if ((err = pfile_run(&pf, &pool, threads, opts)) != CS_OK)
			goto out;
		err = CS_ERR_IO;
		if (lseek(in_fd, 0, SEEK_END) < 0 ||
		    lseek(out_fd, (off_t)(pf.pt_start + h.plaintext_len), SEEK_SET) < 0)
			goto out;
		goto done;
	}
	if (opts != NULL && opts->want_sha256 && (err = cs_hash_init(&hc, CS_SHA256)) != CS_OK)
		goto out;
	while (idx < nchunks) {
		uint64_t left = h.plaintext_len - done;
		size_t nch = nchunks - idx < per_batch ? (size_t)(nchunks - idx) : per_batch;
		size_t pt = left < (uint64_t)nch * chunk ? (size_t)left : nch * chunk;
		size_t ct = pt + nch * CS_SEAL_TAG_LEN;

		if ((err = read_full(in_fd, b.ct, ct, &got)) != CS_OK)
			goto out;
		err = CS_ERR_TRUNCATED;
		if (got != ct)
			goto out;
		b.first = idx;
		b.pt_len = pt;
		b.nch = nch;
		b.has_last = idx + nch == nchunks;
		if ((err = pool_run(&pool, open_job, &b, nch)) != CS_OK) {
			cs_wipe(b.pt, per_batch * chunk);
			goto out;
		}
		if (opts != NULL && opts->want_sha256 &&
		    (err = cs_hash_update(&hc, b.pt, pt)) != CS_OK)
			goto out;
		if ((err = write_full(out_fd, b.pt, pt)) != CS_OK)
			goto out;
		idx += nch;
		done += pt;
		if (opts != NULL && opts->progress != NULL)
			opts->progress(opts->progress_arg, done, h.plaintext_len);
	}
	if ((err = read_full(in_fd, &extra, 1, &got)) != CS_OK)
		goto out;
	err = CS_ERR_TRAILING;
	if (got != 0)
		goto out;
	if (opts != NULL && opts->want_sha256 &&
	    (err = cs_hash_final(&hc, res->plaintext_sha256)) != CS_OK)
		goto out;
done:
	if ((err = cs_hash(CS_SHA256, raw, sizeof(raw), res->header_sha256)) != CS_OK)
		goto out;
	res->plaintext_len = h.plaintext_len;
	err = CS_OK;
out:
	cs_hash_fini(&hc);
	if (pool_up)
		pool_fini(&pool);
	batch_free(&b, per_batch);
	cs_secure_free(keys, sizeof(*keys));
	return err;
}

enum cs_err
cs_seal_rewrap_fd(int fd, const uint8_t old_kek[CS_SEAL_KEY_LEN],
                  const uint8_t new_kek[CS_SEAL_KEY_LEN], const char *new_key_id,
                  uint8_t new_header[CS_SEAL_HEADER_LEN])
{
	enum cs_err err;
	struct cs_seal_header h;
	struct cs_seal_keys *keys;
	uint8_t raw[CS_SEAL_HEADER_LEN];

	ENSURE(old_kek != NULL && new_kek != NULL && new_header != NULL, CS_ERR_INVAL);
	TRY(pread_full(fd, raw, sizeof(raw), 0));
	TRY(cs_seal_header_parse(raw, sizeof(raw), &h));
	keys = cs_secure_alloc(sizeof(*keys));
	ENSURE(keys != NULL, CS_ERR_NOMEM);
	if ((err = cs_seal_header_open(&h, raw, old_kek, keys)) == CS_OK)
		err = cs_seal_header_rewrap(&h, keys, new_kek, new_key_id, new_header);
	cs_secure_free(keys, sizeof(*keys));
	return err;
}

/* ---- random access ---- */

struct cs_seal_file {
	int fd;
	bool owns_fd;
	const uint8_t *map; /* optional read-only mapping of the whole sealed file */
	size_t map_len;
	struct cs_seal_header h;
	uint8_t raw[CS_SEAL_HEADER_LEN];
	struct cs_seal_keys *keys; /* locked memory */
	size_t chunk;
	uint64_t nchunks;
	unsigned threads;
	bool pool_up;
	struct pool pool;
	struct workers ws;
};

enum cs_err
cs_seal_file_open_fd(int fd, const uint8_t kek[CS_SEAL_KEY_LEN], struct cs_seal_file **out)
{
	enum cs_err err;
	struct cs_seal_file *f;
	struct stat st;

	ENSURE(fd >= 0 && kek != NULL && out != NULL, CS_ERR_INVAL);
	*out = NULL;
	f = calloc(1, sizeof(*f));
	ENSURE(f != NULL, CS_ERR_NOMEM);
	f->fd = fd;
	f->threads = cs_seal_cpus();
	f->keys = cs_secure_alloc(sizeof(*f->keys));
	err = CS_ERR_NOMEM;
	if (f->keys == NULL)
		goto fail;
	err = CS_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto fail;
	err = CS_ERR_TRUNCATED;
	if ((uint64_t)st.st_size < CS_SEAL_HEADER_LEN)
		goto fail;
	if ((err = pread_full(fd, f->raw, sizeof(f->raw), 0)) != CS_OK ||
	    (err = cs_seal_header_parse(f->raw, sizeof(f->raw), &f->h)) != CS_OK ||
	    (err = cs_seal_header_open(&f->h, f->raw, kek, f->keys)) != CS_OK)
		goto fail;
	/* The authenticated length fixes the file size: fewer bytes is truncation, more is an
	 * extension; both are refused before any chunk is read. */
	if ((uint64_t)st.st_size != cs_seal_sealed_len(&f->h)) {
		err = (uint64_t)st.st_size < cs_seal_sealed_len(&f->h) ? CS_ERR_TRUNCATED
		                                                       : CS_ERR_TRAILING;
		goto fail;
	}
	f->chunk = (size_t)cs_seal_chunk_size(&f->h);
	f->nchunks = cs_seal_chunk_count(&f->h);
	*out = f;
	return CS_OK;
fail:
	cs_secure_free(f->keys, sizeof(*f->keys));
	free(f);
	return err;
}

enum cs_err
cs_seal_file_open(const char *path, const uint8_t kek[CS_SEAL_KEY_LEN], struct cs_seal_file **out)
{
	enum cs_err err;
	int fd;

	ENSURE(path != NULL && out != NULL, CS_ERR_INVAL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ENSURE(fd >= 0, errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO);
	if ((err = cs_seal_file_open_fd(fd, kek, out)) != CS_OK) {
		close(fd);
		return err;
	}
	(*out)->owns_fd = true;
	return CS_OK;
}

enum cs_err
cs_seal_file_set_mmap(struct cs_seal_file *f, int on)
{
	void *p;

	ENSURE(f != NULL, CS_ERR_INVAL);
	if (!on || f->map != NULL) {
		if (!on && f->map != NULL) {
			munmap((void *)f->map, f->map_len);
			f->map = NULL;
		}
		return CS_OK;
	}
	ENSURE(cs_seal_sealed_len(&f->h) <= SIZE_MAX, CS_ERR_TOO_LARGE);
	f->map_len = (size_t)cs_seal_sealed_len(&f->h);
	p = mmap(NULL, f->map_len, PROT_READ, MAP_SHARED, f->fd, 0);
	ENSURE(p != MAP_FAILED, CS_ERR_IO);
	f->map = p;
	return CS_OK;
}

void
cs_seal_file_close(struct cs_seal_file *f)
{
	if (f == NULL)
		return;
	if (f->map != NULL)
		munmap((void *)f->map, f->map_len);
	if (f->pool_up)
		pool_fini(&f->pool);
	workers_fini(&f->ws);
	cs_secure_free(f->keys, sizeof(*f->keys));
	if (f->owns_fd)
		close(f->fd);
	free(f);
}

const struct cs_seal_header *
cs_seal_file_header(const struct cs_seal_file *f)
{
	return &f->h;
}

void
cs_seal_file_header_sha256(const struct cs_seal_file *f, uint8_t out[32])
{
	if (cs_hash(CS_SHA256, f->raw, sizeof(f->raw), out) != CS_OK)
		memset(out, 0, 32);
}

void
cs_seal_file_set_threads(struct cs_seal_file *f, unsigned threads)
{
	if (f->pool_up) {
		pool_fini(&f->pool);
		f->pool_up = false;
	}
	workers_fini(&f->ws);
	f->threads = threads == 0 ? cs_seal_cpus() : threads > THREADS_MAX ? THREADS_MAX : threads;
}

static enum cs_err
file_pool(struct cs_seal_file *f)
{
	if (f->pool_up)
		return CS_OK;
	TRY(workers_init(&f->ws, f->threads));
	if (pool_init(&f->pool, f->threads) != CS_OK) {
		workers_fini(&f->ws);
		return CS_ERR_NOMEM;
	}
	f->pool_up = true;
	return CS_OK;
}

/* Plaintext bytes in chunk i. */
static size_t
file_chunk_len(const struct cs_seal_file *f, uint64_t i)
{
	uint64_t start = i * f->chunk;
	uint64_t left = f->h.plaintext_len - start;
	return left < f->chunk ? (size_t)left : f->chunk;
}

/* Reads chunk i with one preadv (ciphertext into dst, the tag aside) and decrypts it in place.
 * dst receives file_chunk_len(i) bytes, wiped on failure. */
static enum cs_err
file_chunk(struct cs_seal_file *f, struct worker *w, uint64_t i, uint8_t *dst)
{
	size_t n = file_chunk_len(f, i);
	uint64_t off = CS_SEAL_HEADER_LEN + i * (f->chunk + CS_SEAL_TAG_LEN);
	uint8_t tag[CS_SEAL_TAG_LEN];
	struct iovec iov[2] = {{dst, n}, {tag, sizeof(tag)}};

	if (f->map != NULL) {
		/* Copy the ciphertext out of the shared mapping first, then decrypt in place: GCM
		 * reads its input twice (for the tag and for the keystream), and whoever can write
		 * the file (an untrusted host's storage) could change it between the two reads. */
		memcpy(dst, f->map + off, n);
		memcpy(tag, f->map + off + n, sizeof(tag));
		return chunk_crypt(&w->g, 0, f->keys, f->raw, i, i + 1 == f->nchunks, dst, n, dst,
		                   tag);
	}
	size_t want = n + sizeof(tag), got = 0;

	while (got < want) {
		ssize_t r;
		/* Resume a short read in whichever iovec it stopped. */
		if (got < n) {
			iov[0].iov_base = dst + got;
			iov[0].iov_len = n - got;
			r = preadv(f->fd, iov, 2, (off_t)(off + got));
		} else {
			r = pread(f->fd, tag + (got - n), want - got, (off_t)(off + got));
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			cs_wipe(dst, n);
			return r < 0 ? CS_ERR_IO : CS_ERR_TRUNCATED;
		}
		got += (size_t)r;
	}
	return chunk_crypt(&w->g, 0, f->keys, f->raw, i, i + 1 == f->nchunks, dst, n, dst, tag);
}

struct range {
	struct cs_seal_file *f;
	uint64_t off, len; /* plaintext range */
	uint64_t first;    /* first chunk */
	uint8_t *dst;
};

static enum cs_err
range_job(void *arg, unsigned worker, uint64_t k)
{
	struct range *r = arg;
	struct cs_seal_file *f = r->f;
	struct worker *w = &f->ws.w[worker];
	uint64_t i = r->first + k, start = i * f->chunk;
	size_t n = file_chunk_len(f, i);
	uint64_t lo = start > r->off ? start : r->off;
	uint64_t hi = start + n < r->off + r->len ? start + n : r->off + r->len;
	enum cs_err err;

	if (lo == start && hi == start + n) /* the whole chunk: decrypt in place */
		return file_chunk(f, w, i, r->dst + (start - r->off));
	/* A partial chunk: authenticate all of it privately, release only the part asked for. */
	if (w->buf == NULL) {
		w->buf = malloc(f->chunk);
		if (w->buf == NULL)
			return CS_ERR_NOMEM;
		w->cap = f->chunk;
	}
	err = file_chunk(f, w, i, w->buf);
	if (err == CS_OK)
		memcpy(r->dst + (lo - r->off), w->buf + (lo - start), (size_t)(hi - lo));
	cs_wipe(w->buf, n);
	return err;
}

enum cs_err
cs_seal_file_read(struct cs_seal_file *f, uint64_t off, void *dst, size_t len)
{
	enum cs_err err;
	struct range r;
	uint64_t last;

	ENSURE(f != NULL && (dst != NULL || len == 0), CS_ERR_INVAL);
	ENSURE(off <= f->h.plaintext_len && len <= f->h.plaintext_len - off, CS_ERR_INVAL);
	if (len == 0)
		return CS_OK;
	TRY(file_pool(f));
	r.f = f;
	r.off = off;
	r.len = len;
	r.dst = dst;
	r.first = off / f->chunk;
	last = (off + len - 1) / f->chunk;
	err = pool_run(&f->pool, range_job, &r, last - r.first + 1);
	if (err != CS_OK)
		cs_wipe(dst, len); /* nothing is released from a failed read */
	return err;
}

void
cs_seal_unmap(void *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
	cs_wipe(p, len);
	munmap(p, len);
}

enum cs_err
cs_seal_file_map(struct cs_seal_file *f, void **out, size_t *len)
{
	enum cs_err err;
	void *p;
	uint64_t n;

	ENSURE(f != NULL && out != NULL && len != NULL, CS_ERR_INVAL);
	*out = NULL;
	*len = 0;
	n = f->h.plaintext_len;
	ENSURE(n <= SIZE_MAX, CS_ERR_TOO_LARGE);
	if (n == 0) /* still authenticate the single empty chunk */
		return cs_seal_file_stream(f, NULL, NULL);
	p = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ENSURE(p != MAP_FAILED, CS_ERR_NOMEM);
	/* Plaintext weights never land in a core file; huge pages cut the page-fault cost. */
	(void)madvise(p, (size_t)n, MADV_DONTDUMP);
	(void)madvise(p, (size_t)n, MADV_HUGEPAGE);
	if ((err = cs_seal_file_read(f, 0, p, (size_t)n)) != CS_OK) {
		munmap(p, (size_t)n); /* already wiped */
		return err;
	}
	*out = p;
	*len = (size_t)n;
	return CS_OK;
}

enum cs_err
cs_seal_file_memfd(struct cs_seal_file *f, int *fd_out)
{
	enum cs_err err = CS_ERR_IO;
	void *p = MAP_FAILED;
	uint64_t n;
	int fd;

	ENSURE(f != NULL && fd_out != NULL, CS_ERR_INVAL);
	*fd_out = -1;
	n = f->h.plaintext_len;
	ENSURE(n <= SIZE_MAX && n <= (uint64_t)INT64_MAX, CS_ERR_TOO_LARGE);
	fd = memfd_create("custos-unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ENSURE(fd >= 0, CS_ERR_IO);
	if (ftruncate(fd, (off_t)n) != 0)
		goto out;
	if (n == 0) {
		err = cs_seal_file_stream(f, NULL, NULL);
	} else {
		p = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			goto out;
		err = cs_seal_file_read(f, 0, p, (size_t)n);
		munmap(p, (size_t)n);
	}
	if (err != CS_OK)
		goto out;
	err = CS_ERR_IO;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
		goto out;
	*fd_out = fd;
	fd = -1;
	err = CS_OK;
out:
	if (fd >= 0) {
		/* Drop whatever was written (the read already wiped it on failure). */
		if (ftruncate(fd, 0) != 0) {
			/* close() below releases the memory anyway */
		}
		close(fd);
	}
	return err;
}

struct stream {
	struct cs_seal_file *f;
	uint64_t first;
	uint8_t *buf; /* per_batch x C */
};

static enum cs_err
stream_job(void *arg, unsigned worker, uint64_t k)
{
	struct stream *s = arg;
	return file_chunk(s->f, &s->f->ws.w[worker], s->first + k,
	                  s->buf + (size_t)k * s->f->chunk);
}

enum cs_err
cs_seal_file_stream(struct cs_seal_file *f, cs_seal_sink_fn sink, void *arg)
{
	enum cs_err err = CS_OK;
	struct stream s;
	size_t per_batch;

	ENSURE(f != NULL, CS_ERR_INVAL);
	TRY(file_pool(f));
	per_batch = 2 * (size_t)f->threads;
	if (per_batch > f->nchunks)
		per_batch = (size_t)f->nchunks;
	s.f = f;
	s.buf = malloc(per_batch * f->chunk);
	ENSURE(s.buf != NULL, CS_ERR_NOMEM);
	for (s.first = 0; s.first < f->nchunks && err == CS_OK;) {
		uint64_t nch = f->nchunks - s.first < per_batch ? f->nchunks - s.first : per_batch;

		if ((err = pool_run(&f->pool, stream_job, &s, nch)) != CS_OK)
			break;
		for (uint64_t k = 0; k < nch && err == CS_OK; k++) {
			uint64_t i = s.first + k;
			if (sink != NULL)
				err = sink(arg, i * f->chunk, s.buf + k * f->chunk,
				           file_chunk_len(f, i));
		}
		s.first += nch;
	}
	cs_wipe(s.buf, per_batch * f->chunk);
	free(s.buf);
	return err;
}

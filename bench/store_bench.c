/*
 * store_bench: throughput of the SQLite store on a real file (WAL, synchronous=FULL), 1 KiB
 * values. Usage: store_bench [DIR|URL] [THREADS] (DIR defaults to a fresh directory under /tmp; put
 * it on the disk the KBS would use, since durable puts are bounded by fsync latency). A
 * postgresql:// URL benchmarks that server instead (master key: $CUSTOS_BENCH_KEY, else
 * /tmp/custos-store-bench.key).
 * Prints: durable puts/s (1 thread and THREADS threads), gets/s (1 and THREADS threads), the
 * envelope crypto alone per value, nonce records/s, audit appends/s and audit verify records/s.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "crypto/aead.h"
#include "crypto/rand.h"
#include "store/store.h"

#define VAL 1024
#define NPATHS 1000

static struct cs_store *store;
static int n_ops;

static double
secs(uint64_t t0)
{
	return (double)(cs_clock_mono_ns() - t0) / 1e9;
}

static void
die(const char *what, enum cs_err e)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, cs_err_str(e));
	exit(1);
}

static void *
put_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint8_t v[VAL];
	char path[64];

	memset(v, id, sizeof(v));
	for (int i = 0; i < n_ops; i++) {
		snprintf(path, sizeof(path), "bench/t%d/k%d", id, i % NPATHS);
		enum cs_err e = cs_store_resource_put(store, path, v, sizeof(v), NULL);
		if (e != CS_OK)
			die("put", e);
	}
	return NULL;
}

static void *
get_worker(void *arg)
{
	unsigned seed = (unsigned)(intptr_t)arg;
	struct cs_buf b;
	char path[64];

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	for (int i = 0; i < n_ops; i++) {
		seed = seed * 1103515245u + 12345u;
		snprintf(path, sizeof(path), "bench/t0/k%u", (seed >> 8) % NPATHS);
		cs_buf_reset(&b);
		enum cs_err e = cs_store_resource_get(store, path, 0, &b, NULL);
		if (e != CS_OK)
			die("get", e);
	}
	cs_buf_fini(&b);
	return NULL;
}

static void *
nonce_worker(void *arg)
{
	uint8_t d[32];

	(void)arg;
	for (int i = 0; i < n_ops; i++) {
		enum cs_err e = cs_random(d, sizeof(d));
		if (e == CS_OK)
			e = cs_store_nonce_record(store, d, sizeof(d), 1);
		if (e != CS_OK)
			die("nonce", e);
	}
	return NULL;
}

static void *
audit_worker(void *arg)
{
	json_t *body = json_pack("{s:s,s:i,s:s}", "path", "default/model/llama-kek", "version", 3,
	                         "decision", "allow");

	(void)arg;
	for (int i = 0; i < n_ops; i++) {
		enum cs_err e = cs_store_audit_append(store, cs_clock_now(), "release", body, NULL);
		if (e != CS_OK)
			die("audit", e);
	}
	json_decref(body);
	return NULL;
}

static double
run(void *(*fn)(void *), int threads, int ops)
{
	pthread_t th[64];
	uint64_t t0;

	n_ops = ops;
	t0 = cs_clock_mono_ns();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i) != 0)
			exit(1);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return (double)threads * ops / secs(t0);
}

int
main(int argc, char **argv)
{
	char dir[256] = "/tmp/custos-store-bench-XXXXXX", url[400];
	int threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 4;
	struct cs_store_opts o = {0};
	uint8_t key[32], iv[12], tag[16], v[VAL], ct[VAL], w[40];
	uint64_t t0;
	int n;

	if (threads < 1 || threads > 64)
		threads = 4;
	bool pg = argc > 1 && strncmp(argv[1], "postgres", 8) == 0;
	if (pg) {
		const char *k = getenv("CUSTOS_BENCH_KEY");
		o.master_key_path = k != NULL ? k : "/tmp/custos-store-bench.key";
		snprintf(url, sizeof(url), "%s", argv[1]);
	} else {
		if (argc > 1 && argv[1][0] != '\0')
			snprintf(dir, sizeof(dir), "%s", argv[1]);
		else if (mkdtemp(dir) == NULL)
			return 1;
		snprintf(url, sizeof(url), "sqlite://%s/bench.db", dir);
	}
	o.max_connections = (unsigned)threads;
	enum cs_err e = cs_store_open(url, &o, &store);
	if (e != CS_OK)
		die("open", e);
	printf("store_bench: %s, %d-byte values, %d threads\n", url, VAL, threads);

	/* Puts first: 1 thread fills bench/t0/k0..k999 (the get set). */
	printf("  put (durable commit), 1 thread:   %8.0f /s\n", run(put_worker, 1, 2000));
	printf("  put (durable commit), %d threads:  %8.0f /s\n", threads,
	       run(put_worker, threads, 500));
	printf("  get (decrypt), 1 thread:          %8.0f /s\n", run(get_worker, 1, 50000));
	printf("  get (decrypt), %d threads:         %8.0f /s\n", threads,
	       run(get_worker, threads, 50000));

	/* The envelope crypto alone, per 1 KiB value: what a put adds (fresh DEK and IV, GCM seal,
	 * key wrap) and what a get adds (unwrap, GCM open). */
	memset(v, 7, sizeof(v));
	n = 100000;
	t0 = cs_clock_mono_ns();
	for (int i = 0; i < n; i++)
		if (cs_random(key, sizeof(key)) != CS_OK || cs_random(iv, sizeof(iv)) != CS_OK ||
		    cs_gcm_seal(key, iv, NULL, 0, v, sizeof(v), ct, tag) != CS_OK ||
		    cs_aes_kw_wrap(key, key, sizeof(key), w) != CS_OK)
			die("crypto", CS_ERR_CRYPTO);
	printf("  envelope seal alone:              %8.0f /s\n", n / secs(t0));
	t0 = cs_clock_mono_ns();
	for (int i = 0; i < n; i++)
		if (cs_aes_kw_unwrap(key, w, sizeof(w), key) != CS_OK ||
		    cs_gcm_open(key, iv, NULL, 0, ct, sizeof(ct), tag, v) != CS_OK)
			die("crypto", CS_ERR_CRYPTO);
	printf("  envelope open alone:              %8.0f /s\n", n / secs(t0));

	uint8_t d[32];
	n = 2000;
	t0 = cs_clock_mono_ns();
	for (int i = 0; i < n; i++) {
		if (cs_random(d, sizeof(d)) != CS_OK)
			die("random", CS_ERR_CRYPTO);
		if ((e = cs_store_nonce_record(store, d, sizeof(d), 1)) != CS_OK)
			die("nonce", e);
	}
	printf("  nonce record, 1 thread:           %8.0f /s\n", n / secs(t0));
	printf("  nonce record, %d threads:          %8.0f /s\n", threads,
	       run(nonce_worker, threads, 1000));
	printf("  audit append, %d threads:          %8.0f /s\n", threads,
	       run(audit_worker, threads, 1000));

	json_t *body =
	        json_pack("{s:s,s:i,s:s,s:s}", "path", "default/model/llama-kek", "version", 3,
	                  "decision", "allow", "token", "9f86d081884c7d659a2feaa0c55ad015");
	n = 2000;
	t0 = cs_clock_mono_ns();
	for (int i = 0; i < n; i++)
		if ((e = cs_store_audit_append(store, cs_clock_now(), "release", body, NULL)) !=
		    CS_OK)
			die("audit", e);
	printf("  audit append, 1 thread:           %8.0f /s\n", n / secs(t0));
	json_decref(body);
	uint64_t count = 0, bad = 0;
	t0 = cs_clock_mono_ns();
	if ((e = cs_store_audit_verify(store, &count, &bad)) != CS_OK)
		die("verify", e);
	printf("  audit verify:                     %8.0f records/s (%llu records)\n",
	       (double)count / secs(t0), (unsigned long long)count);
	cs_store_free(store);
	if (!pg && (argc <= 1 || argv[1][0] == '\0')) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}

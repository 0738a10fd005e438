/*
 * bench_seal: sealed-model throughput (docs/sealed-format.md) next to its references, measured in
 * the same run: `openssl speed -evp aes-256-gcm -bytes 1048576` (OpenSSL's own GCM on 1 MiB
 * blocks, one core) and the machine's memcpy bandwidth (the ceiling). Then a model-sized file
 * (default 2 GiB) in the page cache: plain read() into fresh memory versus unsealing it into fresh
 * memory (cs_seal_file_map) on 1 thread and on all cores, and seal/unseal streams.
 *
 * usage: bench_seal [SIZE_MIB [DIR [REPS]]]   (DIR default /dev/shm, else /tmp)
 * Prints one line per figure: the best of REPS runs (default 3), and the median.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto/aead.h"
#include "seal/format.h"
#include "seal/seal.h"

static const uint8_t kek[32] = {7, 7, 7};

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
report(const char *what, uint64_t bytes, double *t, int reps)
{
	qsort(t, (size_t)reps, sizeof(*t), cmp_d);
	printf("%-52s %7.2f GB/s  (best of %d; median %.2f GB/s, %.3f s)\n", what,
	       (double)bytes / t[0] / 1e9, reps, (double)bytes / t[reps / 2] / 1e9, t[reps / 2]);
}

/* OpenSSL's own figure, from its CLI, in GB/s; 0 when unavailable. */
static double
openssl_speed(void)
{
	FILE *p =
	        popen("openssl speed -evp aes-256-gcm -bytes 1048576 -seconds 3 2>/dev/null", "r");
	char line[512];
	double v = 0;

	if (p == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		/* "AES-256-GCM   5512345.67k" (thousands of bytes per second) */
		if (strncasecmp(line, "aes-256-gcm", 11) == 0) {
			char *last = strrchr(line, ' ');
			if (last != NULL)
				v = strtod(last + 1, NULL) * 1000 / 1e9;
		}
	}
	pclose(p);
	return v;
}

struct mc_arg {
	uint8_t *dst, *src;
	size_t n;
};

static void *
mc_thread(void *v)
{
	struct mc_arg *a = v;
	memcpy(a->dst, a->src, a->n);
	return NULL;
}

/* memcpy bandwidth with t threads over a buffer of n bytes (pages already faulted in). */
static double
memcpy_time(uint8_t *dst, uint8_t *src, size_t n, unsigned t)
{
	pthread_t th[64];
	struct mc_arg a[64];
	double t0 = now();

	for (unsigned i = 0; i < t; i++) {
		a[i].dst = dst + i * (n / t);
		a[i].src = src + i * (n / t);
		a[i].n = n / t;
		pthread_create(&th[i], NULL, mc_thread, &a[i]);
	}
	for (unsigned i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	return now() - t0;
}

/*
 * The chunk encryption alone, in memory: what seal does per chunk, one thread. hot: the same
 * 1 MiB buffer every time (cache-resident, as `openssl speed` measures); else streaming through
 * n bytes of memory.
 */
static double
gcm_chunks_time(uint8_t *buf, size_t n, int hot)
{
	struct cs_gcm g = {0};
	uint8_t key[32] = {1}, nonce[12], tag[16], aad[96] = {0};
	double t0 = now();

	for (size_t k = 0; k < 4 * n; k += 1 << 20) {
		size_t off = k % n;
		uint8_t *p = hot ? buf : buf + off;
		cs_seal_nonce(off >> 20, 0, nonce);
		if (cs_gcm_init(&g, 1, key, nonce) != CS_OK || cs_gcm_aad(&g, aad, 96) != CS_OK ||
		    cs_gcm_update(&g, p, 1 << 20, p) != CS_OK ||
		    cs_gcm_seal_final(&g, tag) != CS_OK)
			abort();
	}
	cs_gcm_fini(&g);
	return now() - t0;
}

/*
 * Control: raw EVP on the same loop, one cache-hot 1 MiB buffer. rekey 0: one continuous GCM
 * message (what `openssl speed` measures); 1: key, IV, 96 B AAD and tag per chunk (what the
 * format does, without the custos wrapper).
 */
static double
evp_time(uint8_t *buf, size_t n, int rekey)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint8_t key[32] = {1}, iv[12] = {0}, tag[16], aad[96] = {0};
	int o;
	double t0 = now();

	if (c == NULL || x == NULL || EVP_EncryptInit_ex(x, c, NULL, key, iv) != 1)
		abort();
	for (size_t k = 0; k < 4 * n; k += 1 << 20) {
		iv[11] = (uint8_t)(k >> 20);
		if (rekey && (EVP_EncryptInit_ex(x, NULL, NULL, key, iv) != 1 ||
		              EVP_EncryptUpdate(x, NULL, &o, aad, sizeof(aad)) != 1))
			abort();
		if (EVP_EncryptUpdate(x, buf, &o, buf, 1 << 20) != 1)
			abort();
		if (rekey && (EVP_EncryptFinal_ex(x, tag, &o) != 1 ||
		              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1))
			abort();
	}
	double t = now() - t0;
	EVP_CIPHER_CTX_free(x);
	EVP_CIPHER_free(c);
	return t;
}

static void *
fresh(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		abort();
	(void)madvise(p, n, MADV_HUGEPAGE);
	return p;
}

/* Plain read() of a file into fresh memory: the baseline an unsealed model would cost. */
static double
plain_read_time(const char *path, size_t n)
{
	int fd = open(path, O_RDONLY);
	uint8_t *p;
	size_t got = 0;
	double t0 = now();

	p = fresh(n);
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got > (1u << 30) ? (1u << 30) : n - got);
		if (r <= 0)
			abort();
		got += (size_t)r;
	}
	double t = now() - t0;
	munmap(p, n);
	close(fd);
	return t;
}

static double
unseal_map_time(const char *path, unsigned threads, size_t n, int use_mmap)
{
	struct cs_seal_file *f;
	void *p;
	size_t len;
	double t0 = now(), t;

	if (cs_seal_file_open(path, kek, &f) != CS_OK)
		abort();
	cs_seal_file_set_threads(f, threads);
	if (cs_seal_file_set_mmap(f, use_mmap) != CS_OK)
		abort();
	if (cs_seal_file_map(f, &p, &len) != CS_OK || len != n)
		abort();
	t = now() - t0;
	munmap(p, len); /* not cs_seal_unmap: the wipe is not part of the load */
	cs_seal_file_close(f);
	return t;
}

/* Unsealing into memory that is already faulted in: the decryption's own scaling, without the
 * kernel's page-fault work for a fresh destination. */
static double
unseal_prefaulted_time(const char *path, unsigned threads, uint8_t *dst, size_t n)
{
	struct cs_seal_file *f;
	double t0, t;

	if (cs_seal_file_open(path, kek, &f) != CS_OK)
		abort();
	cs_seal_file_set_threads(f, threads);
	t0 = now();
	if (cs_seal_file_read(f, 0, dst, n) != CS_OK)
		abort();
	t = now() - t0;
	cs_seal_file_close(f);
	return t;
}

static double
seal_stream_time(const char *in_path, const char *out_path, unsigned threads)
{
	struct cs_seal_opts o = {.threads = threads};
	struct cs_seal_result res;
	int in = open(in_path, O_RDONLY);
	int out = strcmp(out_path, "/dev/null") == 0
	                  ? open(out_path, O_WRONLY)
	                  : open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	double t0 = now(), t;

	if (cs_seal_stream(in, out, kek, "kbs:///default/model/bench", &o, &res) != CS_OK)
		abort();
	t = now() - t0;
	close(in);
	close(out);
	return t;
}

static double
unseal_stream_time(const char *in_path, unsigned threads)
{
	struct cs_seal_opts o = {.threads = threads};
	struct cs_seal_result res;
	int in = open(in_path, O_RDONLY), out = open("/dev/null", O_WRONLY);
	double t0 = now(), t;

	if (cs_unseal_stream(in, out, kek, &o, &res) != CS_OK)
		abort();
	t = now() - t0;
	close(in);
	close(out);
	return t;
}

static double
unseal_file_time(const char *in_path, const char *out_path, unsigned threads)
{
	struct cs_seal_opts o = {.threads = threads};
	struct cs_seal_result res;
	int in = open(in_path, O_RDONLY), out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	double t0 = now(), t;

	if (cs_unseal_stream(in, out, kek, &o, &res) != CS_OK)
		abort();
	t = now() - t0;
	close(in);
	close(out);
	unlink(out_path);
	return t;
}

int
main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 2048;
	const char *dir =
	        argc > 2 ? argv[2] : (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	int reps = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 3;
	size_t n = mib << 20, small = (size_t)256 << 20;
	unsigned cpus = cs_seal_cpus();
	char pt_path[512], sealed_path[512], junk_path[512];
	double t[16];
	uint8_t *a, *b;
	char label[128];

	if (reps < 1 || reps > 16 || mib == 0)
		return 2;
	snprintf(pt_path, sizeof(pt_path), "%s/bench_seal.pt", dir);
	snprintf(sealed_path, sizeof(sealed_path), "%s/bench_seal.sealed", dir);
	snprintf(junk_path, sizeof(junk_path), "%s/bench_seal.out", dir);
	printf("bench_seal: %zu MiB model in %s, %u CPUs, 1 MiB chunks\n", mib, dir, cpus);

	/* References. */
	printf("%-52s %7.2f GB/s\n", "openssl speed -evp aes-256-gcm -bytes 1048576 (1 core)",
	       openssl_speed());
	a = fresh(small);
	b = fresh(small);
	memset(a, 1, small);
	memset(b, 2, small);
	for (int i = 0; i < reps; i++)
		t[i] = memcpy_time(b, a, small, 1);
	report("memcpy, 1 thread (ceiling)", small, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = memcpy_time(b, a, small, cpus);
	snprintf(label, sizeof(label), "memcpy, %u threads (ceiling)", cpus);
	report(label, small, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = gcm_chunks_time(a, small, 1);
	report("cs_gcm per 1 MiB chunk, same buffer (as openssl)", 4 * small, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = gcm_chunks_time(a, small, 0);
	report("cs_gcm per 1 MiB chunk through 256 MiB, 1 thread", 4 * small, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = evp_time(a, small, 1);
	report("  control: raw EVP, re-keyed per 1 MiB chunk", 4 * small, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = evp_time(a, small, 0);
	report("  control: raw EVP, one continuous message", 4 * small, t, reps);
	if (getenv("BENCH_SEAL_GCM_ONLY") != NULL)
		return 0;
	munmap(a, small);
	munmap(b, small);

	/* The model file: random-looking plaintext, in the page cache. */
	{
		int fd = open(pt_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		uint8_t *chunk = malloc(1 << 20);
		uint32_t s = 1;
		for (size_t i = 0; i < (1u << 20); i++) {
			s = s * 1103515245u + 12345u;
			chunk[i] = (uint8_t)(s >> 16);
		}
		for (size_t off = 0; off < n; off += 1 << 20) {
			chunk[0] = (uint8_t)off;
			if (write(fd, chunk, 1 << 20) != 1 << 20)
				abort();
		}
		close(fd);
		free(chunk);
	}
	for (int i = 0; i < reps; i++)
		t[i] = seal_stream_time(pt_path, "/dev/null", 1);
	report("seal stream file -> /dev/null, 1 thread", n, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = seal_stream_time(pt_path, "/dev/null", cpus);
	snprintf(label, sizeof(label), "seal stream file -> /dev/null, %u threads", cpus);
	report(label, n, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = seal_stream_time(pt_path, sealed_path, cpus);
	snprintf(label, sizeof(label), "seal stream file -> file (%s), %u threads", dir, cpus);
	report(label, n, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = unseal_file_time(sealed_path, junk_path, cpus);
	snprintf(label, sizeof(label), "unseal file -> file (%s), %u threads", dir, cpus);
	report(label, n, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = unseal_stream_time(sealed_path, 1);
	report("unseal stream file -> /dev/null, 1 thread", n, t, reps);
	for (int i = 0; i < reps; i++)
		t[i] = unseal_stream_time(sealed_path, cpus);
	snprintf(label, sizeof(label), "unseal stream file -> /dev/null, %u threads", cpus);
	report(label, n, t, reps);

	/* The model load: page cache -> fresh process memory. */
	double plain[16], m1[16], mn[16], q1[16], qn[16];
	for (int i = 0; i < reps; i++) {
		plain[i] = plain_read_time(pt_path, n);
		m1[i] = unseal_map_time(sealed_path, 1, n, 0);
		mn[i] = unseal_map_time(sealed_path, cpus, n, 0);
		q1[i] = unseal_map_time(sealed_path, 1, n, 1);
		qn[i] = unseal_map_time(sealed_path, cpus, n, 1);
	}
	report("plain read() of the unsealed model into memory", n, plain, reps);
	/* Scaling without the destination's page faults. */
	{
		uint8_t *dst = fresh(n);
		memset(dst, 0, n);
		for (unsigned th = 1; th <= cpus; th *= 2) {
			for (int i = 0; i < reps; i++)
				t[i] = unseal_prefaulted_time(sealed_path, th, dst, n);
			snprintf(label, sizeof(label), "unseal into faulted-in memory, %u threads",
			         th);
			report(label, n, t, reps);
			if (th < cpus && th * 2 > cpus)
				th = cpus / 2;
		}
		munmap(dst, n);
	}
	/* Scaling: where the threads stop adding, memory bandwidth is the limit. */
	for (unsigned th = 2; th < cpus; th *= 2) {
		for (int i = 0; i < reps; i++)
			t[i] = unseal_map_time(sealed_path, th, n, 0);
		snprintf(label, sizeof(label), "unseal into memory (cs_seal_file_map), %u threads",
		         th);
		report(label, n, t, reps);
	}
	report("unseal into memory (cs_seal_file_map), 1 thread", n, m1, reps);
	snprintf(label, sizeof(label), "unseal into memory (cs_seal_file_map), %u threads", cpus);
	report(label, n, mn, reps);
	report("  same, source mmap'd (cs_seal_file_set_mmap), 1 thread", n, q1, reps);
	snprintf(label, sizeof(label), "  same, source mmap'd, %u threads", cpus);
	report(label, n, qn, reps);
	printf("%-52s %7.2f x  (1 thread %.2f x)\n", "unseal time / plain read time (medians)",
	       mn[reps / 2] / plain[reps / 2], m1[reps / 2] / plain[reps / 2]);
	printf("%-52s %7.2f x  (1 thread %.2f x)\n", "  same, source mmap'd",
	       qn[reps / 2] / plain[reps / 2], q1[reps / 2] / plain[reps / 2]);
	unlink(pt_path);
	unlink(sealed_path);
	unlink(junk_path);
	return 0;
}

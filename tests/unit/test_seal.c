/*
 * Sealed files (docs/sealed-format.md): round trips at every length edge through every reader,
 * every tamper case, rotation, the > 4 GiB offsets, and the header parser's limits.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "seal/seal.h"
#include "t.h"

#define LOG2 12 /* 4 KiB chunks keep the tests fast */
#define C ((size_t)1 << LOG2)
#define KEY_ID "kbs:///default/model/test-kek"

static uint8_t kek[32], kek2[32];
static char dir[64];

static char *
path(const char *name)
{
	static char buf[8][256];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static enum cs_err
seal_file(const char *in, const char *out, const uint8_t *k, unsigned threads, unsigned log2,
          struct cs_seal_result *res)
{
	struct cs_seal_opts o = {.threads = threads, .chunk_log2 = log2, .want_sha256 = 1};
	int i = open(in, O_RDONLY), w = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	enum cs_err e = cs_seal_stream(i, w, k, KEY_ID, &o, res);
	close(i);
	close(w);
	return e;
}

static enum cs_err
unseal_file(const char *in, const char *out, const uint8_t *k, unsigned threads)
{
	struct cs_seal_opts o = {.threads = threads};
	struct cs_seal_result res;
	int i = open(in, O_RDONLY), w = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	enum cs_err e = cs_unseal_stream(i, w, k, &o, &res);
	close(i);
	close(w);
	return e;
}

static uint8_t *
slurp(const char *p, size_t *n)
{
	uint8_t *b = t_read_file(p, n);
	CHECK(b != NULL);
	return b;
}

/* Decrypting via the random-access API with fresh keys. */
static enum cs_err
open_read_all(const char *p, const uint8_t *k, uint8_t **out, size_t *n)
{
	struct cs_seal_file *f;
	enum cs_err e = cs_seal_file_open(p, k, &f);
	void *m = NULL;

	*out = NULL;
	*n = 0;
	if (e != CS_OK)
		return e;
	e = cs_seal_file_map(f, &m, n);
	if (e == CS_OK && *n > 0) {
		*out = malloc(*n);
		memcpy(*out, m, *n);
		cs_seal_unmap(m, *n);
	}
	cs_seal_file_close(f);
	return e;
}

struct sink_state {
	uint8_t *buf;
	size_t n;
	uint64_t expect_off;
	int calls;
};

static enum cs_err
sink(void *arg, uint64_t off, const uint8_t *p, size_t n)
{
	struct sink_state *s = arg;
	CHECK(off == s->expect_off);
	if (off + n > s->n)
		return CS_ERR_INVAL;
	memcpy(s->buf + off, p, n);
	s->expect_off += n;
	s->calls++;
	return CS_OK;
}

static void
roundtrip(size_t n, unsigned threads)
{
	uint8_t *pt = malloc(n + 1), *got = NULL, dig[32];
	size_t got_n = 0;
	struct cs_seal_result res;
	struct cs_seal_file *f = NULL;
	struct stat st;

	t_fill(pt, n, (uint32_t)n);
	t_write_file(path("pt"), pt, n);
	CHECK_OK(seal_file(path("pt"), path("sealed"), kek, threads, LOG2, &res));
	CHECK(res.plaintext_len == n);
	CHECK_OK(cs_hash(CS_SHA256, pt, n, dig));
	CHECK_MEM(dig, res.plaintext_sha256, 32);
	CHECK(stat(path("sealed"), &st) == 0);
	CHECK((uint64_t)st.st_size == CS_SEAL_HEADER_LEN + n + 16 * (n == 0 ? 1 : (n + C - 1) / C));

	/* The parallel file-to-file path (no digest asked): same plaintext back. */
	{
		struct cs_seal_opts o = {.threads = threads, .chunk_log2 = LOG2};
		int i = open(path("pt"), O_RDONLY),
		    w = open(path("sealed2"), O_RDWR | O_CREAT | O_TRUNC, 0600);
		CHECK_OK(cs_seal_stream(i, w, kek, KEY_ID, &o, &res));
		CHECK(lseek(w, 0, SEEK_CUR) == (off_t)cs_seal_sealed_len(&(struct cs_seal_header){
		                                       .chunk_log2 = LOG2, .plaintext_len = n}));
		close(i);
		close(w);
		CHECK_OK(open_read_all(path("sealed2"), kek, &got, &got_n));
		CHECK(got_n == n && (n == 0 || memcmp(got, pt, n) == 0));
		free(got);
		got = NULL;
		/* And the sequential reader on it, through a pipe (the batch path). */
		struct cs_seal_result r2;
		struct cs_seal_opts o2 = {.threads = threads, .want_sha256 = 1};
		int p[2];
		CHECK(pipe(p) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			int fd = open(path("sealed2"), O_RDONLY);
			uint8_t buf[4096];
			ssize_t r;
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				if (write(p[1], buf, (size_t)r) != r)
					_exit(1);
			_exit(0);
		}
		close(p[1]);
		int nul = open("/dev/null", O_WRONLY);
		CHECK_OK(cs_unseal_stream(p[0], nul, kek, &o2, &r2));
		close(nul);
		close(p[0]);
		waitpid(pid, NULL, 0);
		CHECK_MEM(r2.plaintext_sha256, dig, 32);
	}

	/* Sequential unseal. */
	CHECK_OK(unseal_file(path("sealed"), path("out"), kek, threads));
	free(got);
	got = slurp(path("out"), &got_n);
	CHECK(got_n == n);
	CHECK(n == 0 || memcmp(got, pt, n) == 0);
	free(got);

	/* Anonymous mapping. */
	CHECK_OK(open_read_all(path("sealed"), kek, &got, &got_n));
	CHECK(got_n == n);
	CHECK(n == 0 || (got != NULL && memcmp(got, pt, n) == 0));
	free(got);

	CHECK_OK(cs_seal_file_open(path("sealed"), kek, &f));
	if (f != NULL) {
		struct sink_state s = {.buf = calloc(1, n + 1), .n = n};
		int mfd = -1;
		cs_seal_file_set_threads(f, threads);
		/* Chunk-by-chunk stream, in order. */
		CHECK_OK(cs_seal_file_stream(f, sink, &s));
		CHECK(s.expect_off == n);
		CHECK(s.calls == (int)(n == 0 ? 1 : (n + C - 1) / C));
		CHECK(n == 0 || memcmp(s.buf, pt, n) == 0);
		/* Ranges: every start/end around chunk edges. */
		for (size_t off = 0; off <= n; off += (n / 7) + 1) {
			for (size_t len = 0; off + len <= n; len += (n / 5) + 1) {
				memset(s.buf, 0xaa, n + 1);
				CHECK_OK(cs_seal_file_read(f, off, s.buf, len));
				CHECK(len == 0 || memcmp(s.buf, pt + off, len) == 0);
				CHECK(s.buf[len] == 0xaa);
			}
		}
		CHECK_ERR(cs_seal_file_read(f, n, s.buf, 1), CS_ERR_INVAL);
		/* The same through a mapping of the sealed file. */
		CHECK_OK(cs_seal_file_set_mmap(f, 1));
		for (size_t off = 0; off <= n; off += (n / 3) + 1) {
			size_t len = n - off;
			memset(s.buf, 0xaa, n + 1);
			CHECK_OK(cs_seal_file_read(f, off, s.buf, len));
			CHECK(len == 0 || memcmp(s.buf, pt + off, len) == 0);
			CHECK(s.buf[len] == 0xaa);
		}
		CHECK_OK(cs_seal_file_set_mmap(f, 0));
		/* memfd. */
		CHECK_OK(cs_seal_file_memfd(f, &mfd));
		if (mfd >= 0) {
			CHECK(fstat(mfd, &st) == 0 && (size_t)st.st_size == n);
			CHECK(pread(mfd, s.buf, n, 0) == (ssize_t)n);
			CHECK(n == 0 || memcmp(s.buf, pt, n) == 0);
			CHECK(pwrite(mfd, "x", 1, 0) < 0); /* sealed against writes */
			close(mfd);
		}
		free(s.buf);
		cs_seal_file_close(f);
	}
	free(pt);
}

static void
test_roundtrip_sizes(void)
{
	static const size_t sizes[] = {0, 1, C - 1, C, C + 1, 2 * C, 5 * C + 7, 33 * C - 1};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		roundtrip(sizes[i], 1);
		roundtrip(sizes[i], 3);
	}
}

static void
test_default_chunk(void)
{
	/* 1 MiB chunks: 2.5 chunks. */
	size_t n = (5u << 20) / 2;
	uint8_t *pt = malloc(n), *got;
	size_t got_n;
	struct cs_seal_result res;
	struct cs_seal_header h;
	uint8_t raw[512];
	int fd;

	t_fill(pt, n, 7);
	t_write_file(path("pt"), pt, n);
	CHECK_OK(seal_file(path("pt"), path("sealed"), kek, 2, 0, &res));
	fd = open(path("sealed"), O_RDONLY);
	CHECK(pread(fd, raw, 512, 0) == 512);
	close(fd);
	CHECK_OK(cs_seal_header_parse(raw, sizeof(raw), &h));
	CHECK(h.chunk_log2 == 20);
	CHECK(h.plaintext_len == n);
	CHECK_STR(h.key_id, KEY_ID);
	CHECK_OK(open_read_all(path("sealed"), kek, &got, &got_n));
	CHECK(got_n == n && memcmp(got, pt, n) == 0);
	free(got);
	free(pt);
}

/* Sealing from a pipe: the length is unknown until the end, so the header is rewritten. */
static void
test_pipe_input(void)
{
	size_t n = 3 * C + 5;
	uint8_t *pt = malloc(n), *got;
	size_t got_n;
	int p[2], out;
	pid_t pid;
	struct cs_seal_opts o = {.threads = 2, .chunk_log2 = LOG2};
	struct cs_seal_result res;

	t_fill(pt, n, 99);
	CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (size_t off = 0; off < n; off += 1000)
			if (write(p[1], pt + off, n - off < 1000 ? n - off : 1000) < 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	out = open(path("sealed"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK_OK(cs_seal_stream(p[0], out, kek, KEY_ID, &o, &res));
	close(p[0]);
	close(out);
	waitpid(pid, NULL, 0);
	CHECK(res.plaintext_len == n);
	CHECK_OK(open_read_all(path("sealed"), kek, &got, &got_n));
	CHECK(got_n == n && got != NULL && memcmp(got, pt, n) == 0);
	free(got);

	/* Pipe in and pipe out: the format cannot, and says so. */
	CHECK(pipe(p) == 0);
	{
		int q[2];
		CHECK(pipe(q) == 0);
		close(p[1]);
		CHECK_ERR(cs_seal_stream(p[0], q[1], kek, KEY_ID, &o, &res), CS_ERR_UNSUPPORTED);
		close(q[0]);
		close(q[1]);
	}
	close(p[0]);
	free(pt);
}

/* A reference file for the tamper tests: 5 chunks, the last one short. */
#define TN (4 * C + 100)
static uint8_t *ref;
static size_t ref_n;

static void
make_ref(void)
{
	uint8_t *pt = malloc(TN);
	struct cs_seal_result res;

	t_fill(pt, TN, 5);
	t_write_file(path("ref_pt"), pt, TN);
	CHECK_OK(seal_file(path("ref_pt"), path("ref"), kek, 2, LOG2, &res));
	free(ref);
	ref = slurp(path("ref"), &ref_n);
	free(pt);
}

/* Opens (random access + sequential) a mutated copy; both must fail with want, and the
 * random-access read must leave the destination wiped. */
static void
expect_bad(const uint8_t *b, size_t n, const uint8_t *k, enum cs_err want, int line)
{
	struct cs_seal_file *f = NULL;
	enum cs_err e1, e2;
	uint8_t *dst = malloc(TN);

	t_write_file(path("bad"), b, n);
	e1 = cs_seal_file_open(path("bad"), k, &f);
	if (e1 == CS_OK) {
		size_t len = (size_t)cs_seal_file_header(f)->plaintext_len;
		CHECK(len <= TN);
		memset(dst, 0xaa, TN);
		for (int mapped = 0; mapped < 2; mapped++) {
			enum cs_err e;
			CHECK_OK(cs_seal_file_set_mmap(f, mapped));
			memset(dst, 0xaa, TN);
			e = cs_seal_file_read(f, 0, dst, len);
			if (e != CS_OK) {
				size_t nz = 0;
				for (size_t i = 0; i < len; i++)
					nz += dst[i] != 0;
				CHECK(nz == 0); /* nothing from the failed read is released */
			}
			CHECK(mapped == 0 || e == e1);
			e1 = e;
		}
		cs_seal_file_close(f);
	}
	e2 = unseal_file(path("bad"), path("bad_out"), k, 2);
	if (e1 != want || e2 != want)
		fprintf(stderr, "line %d: random access %s, stream %s, want %s\n", line,
		        cs_err_name(e1), cs_err_name(e2), cs_err_name(want));
	CHECK(e1 == want);
	CHECK(e2 == want);
	free(dst);
}

static void
test_tamper_header(void)
{
	uint8_t *b;

	make_ref();
	b = malloc(ref_n);
	/* Every header byte, one bit each: never accepted. */
	for (size_t i = 0; i < CS_SEAL_HEADER_LEN; i++) {
		struct cs_seal_file *f = NULL;
		memcpy(b, ref, ref_n);
		b[i] ^= 0x01;
		t_write_file(path("bad"), b, ref_n);
		enum cs_err e = cs_seal_file_open(path("bad"), kek, &f);
		CHECK(e != CS_OK);
		if (e == CS_OK) {
			fprintf(stderr, "header byte %zu flip accepted\n", i);
			cs_seal_file_close(f);
		}
	}
	/* And the precise code for each kind of field. */
	memcpy(b, ref, ref_n);
	b[0] ^= 1; /* magic */
	expect_bad(b, ref_n, kek, CS_ERR_UNSUPPORTED, __LINE__);
	memcpy(b, ref, ref_n);
	b[20] ^= 1; /* salt: derived keys change, the commitment no longer matches */
	expect_bad(b, ref_n, kek, CS_ERR_WRONG_KEY, __LINE__);
	memcpy(b, ref, ref_n);
	b[50] ^= 1; /* commitment */
	expect_bad(b, ref_n, kek, CS_ERR_WRONG_KEY, __LINE__);
	memcpy(b, ref, ref_n);
	b[85] ^= 1; /* reserved */
	expect_bad(b, ref_n, kek, CS_ERR_RESERVED, __LINE__);
	memcpy(b, ref, ref_n);
	b[96] ^= 1; /* plaintext_len: the MAC catches it */
	expect_bad(b, ref_n, kek, CS_ERR_SEAL_HEADER, __LINE__);
	memcpy(b, ref, ref_n);
	b[110] ^= 1; /* wrapped DEK: RFC 3394 integrity check */
	expect_bad(b, ref_n, kek, CS_ERR_WRONG_KEY, __LINE__);
	memcpy(b, ref, ref_n);
	b[150] ^= 1; /* key id */
	expect_bad(b, ref_n, kek, CS_ERR_SEAL_HEADER, __LINE__);
	memcpy(b, ref, ref_n);
	b[500] ^= 1; /* MAC */
	expect_bad(b, ref_n, kek, CS_ERR_SEAL_HEADER, __LINE__);
	/* Wrong KEK. */
	expect_bad(ref, ref_n, kek2, CS_ERR_WRONG_KEY, __LINE__);
	/* Short header. */
	expect_bad(ref, 100, kek, CS_ERR_TRUNCATED, __LINE__);
	expect_bad(ref, 0, kek, CS_ERR_TRUNCATED, __LINE__);
	free(b);
}

static void
test_tamper_chunks(void)
{
	uint8_t *b;
	size_t cc = C + 16;
	uint8_t *other;
	size_t other_n;
	struct cs_seal_result res;

	make_ref();
	b = malloc(ref_n + C + 16);
	/* A byte of each chunk's ciphertext, and of each tag, including the last chunk's. */
	for (size_t i = 0; i < 5; i++) {
		size_t start = 512 + i * cc, clen = i == 4 ? 100 : C;
		memcpy(b, ref, ref_n);
		b[start + clen / 2] ^= 0x80;
		expect_bad(b, ref_n, kek, CS_ERR_DECRYPT, __LINE__);
		memcpy(b, ref, ref_n);
		b[start + clen + 15] ^= 0x01; /* tag */
		expect_bad(b, ref_n, kek, CS_ERR_DECRYPT, __LINE__);
	}
	/* Last byte of the file. */
	memcpy(b, ref, ref_n);
	b[ref_n - 1] ^= 1;
	expect_bad(b, ref_n, kek, CS_ERR_DECRYPT, __LINE__);
	/* Truncated: by one byte, by a whole chunk; extended by a byte and by a chunk. */
	expect_bad(ref, ref_n - 1, kek, CS_ERR_TRUNCATED, __LINE__);
	expect_bad(ref, ref_n - 116, kek, CS_ERR_TRUNCATED, __LINE__);
	expect_bad(ref, 512, kek, CS_ERR_TRUNCATED, __LINE__);
	memcpy(b, ref, ref_n);
	b[ref_n] = 0;
	expect_bad(b, ref_n + 1, kek, CS_ERR_TRAILING, __LINE__);
	memcpy(b + ref_n, ref + 512, cc);
	expect_bad(b, ref_n + cc, kek, CS_ERR_TRAILING, __LINE__);
	/* Swapped chunks 1 and 2. */
	memcpy(b, ref, ref_n);
	memcpy(b + 512 + cc, ref + 512 + 2 * cc, cc);
	memcpy(b + 512 + 2 * cc, ref + 512 + cc, cc);
	expect_bad(b, ref_n, kek, CS_ERR_DECRYPT, __LINE__);
	/* A chunk spliced from another file sealed under the same KEK. */
	CHECK_OK(seal_file(path("ref_pt"), path("other"), kek, 1, LOG2, &res));
	other = slurp(path("other"), &other_n);
	CHECK(other_n == ref_n);
	memcpy(b, ref, ref_n);
	memcpy(b + 512 + cc, other + 512 + cc, cc);
	expect_bad(b, ref_n, kek, CS_ERR_DECRYPT, __LINE__);
	/* Another file's header on this file's chunks: same KEK, same size, wrong DEK. */
	memcpy(b, ref, ref_n);
	memcpy(b, other, 512);
	expect_bad(b, ref_n, kek, CS_ERR_DECRYPT, __LINE__);
	/* Only the wrapped DEK swapped in from the other file: the commitment catches it. */
	memcpy(b, ref, ref_n);
	memcpy(b + 108, other + 108, 40);
	expect_bad(b, ref_n, kek, CS_ERR_WRONG_KEY, __LINE__);
	free(other);
	free(b);
}

/*
 * The final flag: someone holding the DEK rewrites the header to claim fewer chunks (2 of 5) and
 * truncates; chunk 1 was sealed as not-last, so it fails as a last chunk.
 */
static void
test_final_flag(void)
{
	struct cs_seal_header h;
	struct cs_seal_keys keys;
	uint8_t raw[512];
	size_t cc = C + 16;
	uint8_t *b;

	make_ref();
	b = malloc(ref_n);
	memcpy(b, ref, ref_n);
	CHECK_OK(cs_seal_header_parse(b, 512, &h));
	CHECK_OK(cs_seal_header_open(&h, b, kek, &keys));
	h.plaintext_len = 2 * C;
	CHECK_OK(cs_seal_header_finish(&h, &keys, raw));
	memcpy(b, raw, 512);
	expect_bad(b, 512 + 2 * cc, kek, CS_ERR_DECRYPT, __LINE__);
	/* Control: the same forged header over a file whose chunk 1 is final is accepted, so the
	 * failure above is the flag and nothing else. */
	{
		uint8_t nonce[12], tag[16], *pt = malloc(C);
		CHECK_OK(cs_gcm_open(keys.payload, (cs_seal_nonce(1, 0, nonce), nonce), raw, 96,
		                     b + 512 + cc, C, b + 512 + cc + C, pt));
		cs_seal_nonce(1, 1, nonce);
		CHECK_OK(cs_gcm_seal(keys.payload, nonce, raw, 96, pt, C, b + 512 + cc, tag));
		memcpy(b + 512 + cc + C, tag, 16);
		t_write_file(path("bad"), b, 512 + 2 * cc);
		struct cs_seal_file *f = NULL;
		CHECK_OK(cs_seal_file_open(path("bad"), kek, &f));
		CHECK_OK(cs_seal_file_read(f, 0, pt, C));
		cs_seal_file_close(f);
		free(pt);
	}
	free(b);
}

static void
test_rotation(void)
{
	uint8_t hdr[512], *after, *got;
	size_t after_n, got_n;
	int fd;

	make_ref();
	fd = open(path("ref"), O_RDWR);
	CHECK_ERR(cs_seal_rewrap_fd(fd, kek2, kek, "kbs:///default/model/new", hdr),
	          CS_ERR_WRONG_KEY);
	CHECK_ERR(cs_seal_rewrap_fd(fd, kek, kek2, "bad id", hdr), CS_ERR_ENCODING);
	CHECK_OK(cs_seal_rewrap_fd(fd, kek, kek2, "kbs:///default/model/new", hdr));
	CHECK(pwrite(fd, hdr, 512, 0) == 512);
	close(fd);
	after = slurp(path("ref"), &after_n);
	CHECK(after_n == ref_n);
	/* Only the mutable part and the MAC changed; every chunk byte is identical. */
	CHECK_MEM(after, ref, CS_SEAL_BOUND_LEN + 8);
	CHECK(memcmp(after, ref, 512) != 0);
	CHECK_MEM(after + 512, ref + 512, ref_n - 512);
	CHECK_ERR(open_read_all(path("ref"), kek, &got, &got_n), CS_ERR_WRONG_KEY);
	CHECK_OK(open_read_all(path("ref"), kek2, &got, &got_n));
	{
		size_t pn;
		uint8_t *pt = slurp(path("ref_pt"), &pn);
		CHECK(got_n == pn && memcmp(got, pt, pn) == 0);
		free(pt);
	}
	{
		struct cs_seal_header h;
		CHECK_OK(cs_seal_header_parse(after, 512, &h));
		CHECK_STR(h.key_id, "kbs:///default/model/new");
	}
	free(got);
	free(after);
}

static void
put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
test_header_limits(void)
{
	struct cs_seal_header h;
	uint8_t b[512];

	make_ref();
	memcpy(b, ref, 512);
	CHECK_OK(cs_seal_header_parse(b, 512, &h));
	CHECK_ERR(cs_seal_header_parse(b, 511, &h), CS_ERR_TRUNCATED);
	put_u64le(b + 96, (UINT64_C(1) << 60) + 1); /* absurd plaintext length */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_TOO_LARGE);
	put_u64le(b + 96, UINT64_MAX);
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_TOO_LARGE);
	memcpy(b, ref, 512);
	b[11] = 40; /* absurd chunk size */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_TOO_LARGE);
	b[11] = 11;
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_TOO_LARGE);
	memcpy(b, ref, 512);
	b[106] = 0x2c;
	b[107] = 0x01; /* key id length 300 */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_LENGTH);
	b[106] = 0;
	b[107] = 0;
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_LENGTH);
	memcpy(b, ref, 512);
	b[13] = 1; /* header_len 256 */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_LENGTH);
	memcpy(b, ref, 512);
	b[8] = 2; /* version */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_UNSUPPORTED);
	memcpy(b, ref, 512);
	b[104] = 2; /* wrap algorithm */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_UNSUPPORTED);
	memcpy(b, ref, 512);
	b[148 + strlen(KEY_ID)] = 'x'; /* byte after the key id in its padding */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_RESERVED);
	memcpy(b, ref, 512);
	b[150] = ' '; /* key id grammar */
	CHECK_ERR(cs_seal_header_parse(b, 512, &h), CS_ERR_ENCODING);
	/* A header claiming 1 EiB over a small file: size check, before any chunk. */
	{
		struct cs_seal_keys keys;
		struct cs_seal_file *f;
		uint8_t raw[512];
		memcpy(b, ref, 512);
		CHECK_OK(cs_seal_header_parse(b, 512, &h));
		CHECK_OK(cs_seal_header_open(&h, b, kek, &keys));
		h.plaintext_len = UINT64_C(1) << 60;
		CHECK_OK(cs_seal_header_finish(&h, &keys, raw));
		t_write_file(path("bad"), raw, 512);
		CHECK_ERR(cs_seal_file_open(path("bad"), kek, &f), CS_ERR_TRUNCATED);
	}
	CHECK_OK(cs_seal_key_id_check("kbs:///default/model/llama-kek", 30));
	CHECK_ERR(cs_seal_key_id_check("", 0), CS_ERR_INVAL);
}

/*
 * Offsets past 4 GiB without writing 4 GiB: a sparse sealed file of 5 GiB + 123 bytes in which
 * only the chunks around the 4 GiB boundary and the last chunk are written (by hand, with the
 * file's keys); reads of those ranges must verify and return the plaintext.
 */
static void
test_over_4gib_sparse(void)
{
	const unsigned log2 = 16;
	const uint64_t cs = UINT64_C(1) << log2, L = (UINT64_C(5) << 30) + 123;
	struct cs_seal_header h;
	struct cs_seal_keys keys;
	uint8_t raw[512], nonce[12], tag[16];
	uint8_t *pt = malloc(cs), *ct = malloc(cs), *got = malloc(3 * cs);
	uint64_t nch, around = (UINT64_C(4) << 30) / cs; /* chunk starting at 4 GiB */
	struct cs_seal_file *f = NULL;
	int fd;

	CHECK_OK(cs_seal_header_new(&h, &keys, kek, KEY_ID, log2));
	h.plaintext_len = L;
	CHECK_OK(cs_seal_header_finish(&h, &keys, raw));
	nch = cs_seal_chunk_count(&h);
	CHECK(nch == (L + cs - 1) / cs);
	fd = open(path("big"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, (off_t)cs_seal_sealed_len(&h)) == 0);
	CHECK(pwrite(fd, raw, 512, 0) == 512);
	for (uint64_t i = around - 1; i <= around + 1; i++) {
		t_fill(pt, cs, (uint32_t)i);
		cs_seal_nonce(i, 0, nonce);
		CHECK_OK(cs_gcm_seal(keys.payload, nonce, raw, 96, pt, cs, ct, tag));
		CHECK(pwrite(fd, ct, cs, (off_t)(512 + i * (cs + 16))) == (ssize_t)cs);
		CHECK(pwrite(fd, tag, 16, (off_t)(512 + i * (cs + 16) + cs)) == 16);
	}
	{
		uint64_t i = nch - 1;
		size_t n = (size_t)(L - i * cs);
		CHECK(n == 123);
		t_fill(pt, n, 777);
		cs_seal_nonce(i, 1, nonce);
		CHECK_OK(cs_gcm_seal(keys.payload, nonce, raw, 96, pt, n, ct, tag));
		CHECK(pwrite(fd, ct, n, (off_t)(512 + i * (cs + 16))) == (ssize_t)n);
		CHECK(pwrite(fd, tag, 16, (off_t)(512 + i * (cs + 16) + n)) == 16);
	}
	CHECK_OK(cs_seal_file_open_fd(fd, kek, &f));
	if (f != NULL) {
		uint64_t b4 = UINT64_C(4) << 30;
		cs_seal_file_set_threads(f, 2);
		/* 1000 bytes each side of 2^32. */
		CHECK_OK(cs_seal_file_read(f, b4 - 1000, got, 2000));
		t_fill(pt, cs, (uint32_t)(around - 1));
		CHECK_MEM(got, pt + cs - 1000, 1000);
		t_fill(pt, cs, (uint32_t)around);
		CHECK_MEM(got + 1000, pt, 1000);
		/* Three whole chunks straddling it. */
		CHECK_OK(cs_seal_file_read(f, (around - 1) * cs, got, 3 * cs));
		t_fill(pt, cs, (uint32_t)(around + 1));
		CHECK_MEM(got + 2 * cs, pt, cs);
		/* The last 123 bytes. */
		CHECK_OK(cs_seal_file_read(f, L - 123, got, 123));
		t_fill(pt, 123, 777);
		CHECK_MEM(got, pt, 123);
		/* An unwritten (zero) chunk fails authentication. */
		CHECK_ERR(cs_seal_file_read(f, 0, got, 10), CS_ERR_DECRYPT);
		cs_seal_file_close(f);
	}
	close(fd);
	unlink(path("big"));
	free(pt);
	free(ct);
	free(got);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/*
 * A real round trip of 4 GiB + 1 byte (a sparse plaintext, default 1 MiB chunks): seal into a
 * pipe, unseal from it in another thread to /dev/null, compare digests. No 4 GiB ciphertext
 * touches the disk. Plain build only; under ASan it is skipped (it would take minutes), the
 * offsets being covered there by test_over_4gib_sparse.
 */
#ifndef UNDER_ASAN
struct unseal_arg {
	int in;
	enum cs_err err;
	struct cs_seal_result res;
};

static void *
unseal_thread(void *v)
{
	struct unseal_arg *a = v;
	struct cs_seal_opts o = {.want_sha256 = 1, .threads = 1};
	int out = open("/dev/null", O_WRONLY);
	a->err = cs_unseal_stream(a->in, out, kek, &o, &a->res);
	close(out);
	return NULL;
}
#endif

static void
test_over_4gib_real(void)
{
#ifdef UNDER_ASAN
	printf("SKIP: 1 test: real 4 GiB round trip not run under ASan (sparse test covers "
	       "offsets)\n");
#else
	const uint64_t L = (UINT64_C(4) << 30) + 1;
	struct cs_seal_result res;
	struct cs_seal_opts o = {.want_sha256 = 1, .threads = 1};
	struct unseal_arg a = {0};
	pthread_t th;
	int fd, in, p[2];

	fd = open(path("big_pt"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(ftruncate(fd, (off_t)L) == 0);
	CHECK(pwrite(fd, "Z", 1, (off_t)(L - 1)) == 1);
	close(fd);
	CHECK(pipe(p) == 0);
	a.in = p[0];
	CHECK(pthread_create(&th, NULL, unseal_thread, &a) == 0);
	in = open(path("big_pt"), O_RDONLY);
	CHECK_OK(cs_seal_stream(in, p[1], kek, KEY_ID, &o, &res));
	close(in);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	unlink(path("big_pt"));
	CHECK(res.plaintext_len == L);
	CHECK_OK(a.err);
	CHECK(a.res.plaintext_len == L);
	CHECK_MEM(res.plaintext_sha256, a.res.plaintext_sha256, 32);
#endif
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/custos-test-seal-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	t_fill(kek, 32, 1);
	t_fill(kek2, 32, 2);
	T_RUN(test_roundtrip_sizes);
	T_RUN(test_default_chunk);
	T_RUN(test_pipe_input);
	T_RUN(test_tamper_header);
	T_RUN(test_tamper_chunks);
	T_RUN(test_final_flag);
	T_RUN(test_rotation);
	T_RUN(test_header_limits);
	T_RUN(test_over_4gib_sparse);
	T_RUN(test_over_4gib_real);
	free(ref);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", dir);
	}
	return t_done();
}

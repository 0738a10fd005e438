/*
 * Sealed model directories (docs/sealed-format.md §5) and KServe JWE interop (§7): a Hugging
 * Face-shaped model directory sealed, opened, read; a file swapped, dropped, added, a manifest
 * byte changed, a wrong KEK; directory rotation; a compact JWE made by python3-jwcrypto read and
 * resealed. The manifest parser's limits.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "seal/dir.h"
#include "seal/kserve.h"
#include "t.h"

#define KEY_ID "kbs:///default/model/llama-kek"

static uint8_t kek[32], kek2[32];
static char tmp[64];

/* tmp + "/" + rel, in one of 8 rotating buffers. */
static char *
P(const char *rel)
{
	static char buf[8][512];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, 512, "%s/%s", tmp, rel);
	return p;
}

/* Runs a shell command in which every '@' stands for the test's directory. */
static int
sh(const char *tmpl)
{
	char cmd[2048];
	size_t k = 0;

	for (const char *c = tmpl; *c != '\0' && k + sizeof(tmp) + 1 < sizeof(cmd); c++) {
		if (*c == '@') {
			memcpy(cmd + k, tmp, strlen(tmp));
			k += strlen(tmp);
		} else {
			cmd[k++] = *c;
		}
	}
	cmd[k] = '\0';
	return system(cmd);
}

/* The files of a small Hugging Face model directory. */
static const struct {
	const char *name;
	size_t size;
} files[] = {
        {"config.json", 612},
        {"generation_config.json", 0},
        {"model-00001-of-00002.safetensors", 70000},
        {"model-00002-of-00002.safetensors", 33333},
        {"model.safetensors.index.json", 1500},
        {"tokenizer.json", 9000},
        {"tokenizer/special_tokens_map.json", 77},
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static void
make_model(const char *dir)
{
	char p[512];
	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/tokenizer", dir);
	mkdir(p, 0755);
	for (size_t i = 0; i < NFILES; i++) {
		uint8_t *b = malloc(files[i].size + 1);
		t_fill(b, files[i].size, (uint32_t)i + 1);
		snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
		t_write_file(p, b, files[i].size);
		free(b);
	}
}

static struct cs_seal_opts opts = {.threads = 2, .chunk_log2 = 12};

static void
check_contents(struct cs_seal_dir *d)
{
	for (size_t i = 0; i < NFILES; i++) {
		struct cs_seal_file *f = NULL;
		uint8_t *want = malloc(files[i].size + 1), *got = malloc(files[i].size + 1);
		t_fill(want, files[i].size, (uint32_t)i + 1);
		CHECK_OK(cs_seal_dir_file(d, files[i].name, &f));
		if (f != NULL) {
			CHECK(cs_seal_file_header(f)->plaintext_len == files[i].size);
			CHECK_OK(cs_seal_file_read(f, 0, got, files[i].size));
			CHECK(files[i].size == 0 || memcmp(got, want, files[i].size) == 0);
			cs_seal_file_close(f);
		}
		free(want);
		free(got);
	}
}

static void
test_dir_roundtrip(void)
{
	struct cs_seal_dir *d = NULL;

	make_model(P("model"));
	CHECK_OK(cs_seal_dir(P("model"), P("sealed"), kek, KEY_ID, &opts));
	CHECK_ERR(cs_seal_dir(P("model"), P("sealed"), kek, KEY_ID, &opts), CS_ERR_EXISTS);
	CHECK_OK(cs_seal_dir_open(P("sealed"), kek, &d));
	if (d != NULL) {
		const struct cs_seal_manifest *m = cs_seal_dir_manifest(d);
		CHECK(m->n == NFILES);
		CHECK_STR(m->key_id, KEY_ID);
		for (size_t i = 0; i < NFILES && i < m->n; i++) {
			uint8_t *b = malloc(files[i].size + 1), dig[32];
			t_fill(b, files[i].size, (uint32_t)i + 1);
			CHECK_OK(cs_hash(CS_SHA256, b, files[i].size, dig));
			CHECK_STR(m->entries[i].name, files[i].name);
			CHECK(m->entries[i].plaintext_len == files[i].size);
			CHECK_MEM(m->entries[i].plaintext_sha256, dig, 32);
			free(b);
		}
		check_contents(d);
		{
			struct cs_seal_file *f;
			CHECK_ERR(cs_seal_dir_file(d, "nope.json", &f), CS_ERR_NOT_FOUND);
		}
		cs_seal_dir_close(d);
	}
	CHECK_ERR(cs_seal_dir_open(P("sealed"), kek2, &d), CS_ERR_MANIFEST);
	/* Unseal to a directory: identical files. */
	CHECK_OK(cs_unseal_dir(P("sealed"), P("plain"), kek, &opts));
	CHECK(sh("diff -r '@/model' '@/plain' >/dev/null") == 0);
}

static void
expect_dir(enum cs_err want, int line)
{
	struct cs_seal_dir *d = NULL;
	enum cs_err e = cs_seal_dir_open(P("t"), kek, &d);
	if (e != want)
		fprintf(stderr, "line %d: got %s want %s\n", line, cs_err_name(e),
		        cs_err_name(want));
	CHECK(e == want);
	cs_seal_dir_close(d);
}

static void
fresh_copy(void)
{
	CHECK(sh("rm -rf '@/t' && cp -a '@/sealed' '@/t'") == 0);
}

static void
test_dir_tamper(void)
{
	fresh_copy();
	expect_dir(CS_OK, __LINE__);
	/* Swap two shards (both valid sealed files under the same KEK). */
	CHECK(sh("cd '@/t' && mv model-00001-of-00002.safetensors x && "
	         "mv model-00002-of-00002.safetensors model-00001-of-00002.safetensors && "
	         "mv x model-00002-of-00002.safetensors") == 0);
	expect_dir(CS_ERR_MANIFEST, __LINE__);
	/* Drop one. */
	fresh_copy();
	CHECK(sh("rm '@/t/tokenizer.json'") == 0);
	expect_dir(CS_ERR_MANIFEST, __LINE__);
	/* Add one (even a validly sealed one). */
	fresh_copy();
	CHECK(sh("cp '@/t/config.json' '@/t/extra.json'") == 0);
	expect_dir(CS_ERR_MANIFEST, __LINE__);
	fresh_copy();
	CHECK(sh("mkdir '@/t/sub' && cp '@/t/config.json' '@/t/sub/config.json'") == 0);
	expect_dir(CS_ERR_MANIFEST, __LINE__);
	/* Replace a file by the same name sealed again from the same plaintext (new DEK). */
	fresh_copy();
	{
		struct cs_seal_opts o = opts;
		struct cs_seal_result res;
		int in = open(P("model/config.json"), O_RDONLY);
		int out = open(P("t/config.json"), O_WRONLY | O_TRUNC);
		CHECK_OK(cs_seal_stream(in, out, kek, KEY_ID, &o, &res));
		close(in);
		close(out);
	}
	expect_dir(CS_ERR_MANIFEST, __LINE__);
	/* Every byte of the manifest, one bit flipped. */
	{
		size_t n;
		uint8_t *m;
		fresh_copy();
		m = t_read_file(P("t/.custos-manifest"), &n);
		CHECK(m != NULL);
		for (size_t i = 0; m != NULL && i < n; i++) {
			m[i] ^= 0x10;
			t_write_file(P("t/.custos-manifest"), m, n);
			struct cs_seal_dir *d = NULL;
			enum cs_err e = cs_seal_dir_open(P("t"), kek, &d);
			CHECK(e == CS_ERR_MANIFEST);
			cs_seal_dir_close(d);
			m[i] ^= 0x10;
		}
		/* Truncated and missing manifest. */
		t_write_file(P("t/.custos-manifest"), m, n - 1);
		expect_dir(CS_ERR_MANIFEST, __LINE__);
		unlink(P("t/.custos-manifest"));
		expect_dir(CS_ERR_MANIFEST, __LINE__);
		free(m);
	}
	/* A file swapped after the directory was opened is still caught when it is read. */
	fresh_copy();
	{
		struct cs_seal_dir *d = NULL;
		struct cs_seal_file *f = NULL;
		CHECK_OK(cs_seal_dir_open(P("t"), kek, &d));
		CHECK(sh("cd '@/t' && cp tokenizer.json config.json") == 0);
		CHECK_ERR(cs_seal_dir_file(d, "config.json", &f), CS_ERR_MANIFEST);
		cs_seal_dir_close(d);
	}
	/* A failed unseal leaves no output directory. */
	CHECK_ERR(cs_unseal_dir(P("t"), P("t_out"), kek, &opts), CS_ERR_MANIFEST);
	CHECK(access(P("t_out"), F_OK) != 0);
}

static void
test_dir_rotation(void)
{
	struct cs_seal_dir *d = NULL;

	fresh_copy();
	/* A rotation that fails (here: the new manifest cannot be written) leaves the directory
	 * as it was, readable under the old KEK, never half-rotated. */
	CHECK(mkdir(P("t/.custos-manifest.tmp"), 0700) == 0);
	CHECK_ERR(cs_seal_dir_rewrap(P("t"), kek, kek2, "kbs:///default/model/k2"), CS_ERR_IO);
	CHECK(rmdir(P("t/.custos-manifest.tmp")) == 0);
	expect_dir(CS_OK, __LINE__);
	CHECK(sh("cmp -s '@/sealed/config.json' '@/t/config.json'") == 0);
	CHECK_ERR(cs_seal_dir_rewrap(P("t"), kek2, kek, "kbs:///default/model/k2"),
	          CS_ERR_MANIFEST);
	CHECK_OK(cs_seal_dir_rewrap(P("t"), kek, kek2, "kbs:///default/model/k2"));
	/* Every chunk byte is unchanged: compare everything after each 512-byte header. */
	for (size_t i = 0; i < NFILES; i++) {
		char rel[256];
		size_t a_n = 0, b_n = 0;
		snprintf(rel, sizeof(rel), "sealed/%s", files[i].name);
		uint8_t *a = t_read_file(P(rel), &a_n);
		snprintf(rel, sizeof(rel), "t/%s", files[i].name);
		uint8_t *b = t_read_file(P(rel), &b_n);
		CHECK(a != NULL && b != NULL && a_n == b_n && a_n > 512);
		if (a != NULL && b != NULL && a_n == b_n && a_n > 512) {
			CHECK(memcmp(a + 512, b + 512, a_n - 512) == 0);
			CHECK(memcmp(a, b, 512) != 0);
		}
		free(a);
		free(b);
	}
	expect_dir(CS_ERR_MANIFEST, __LINE__); /* the old KEK no longer opens it */
	CHECK_OK(cs_seal_dir_open(P("t"), kek2, &d));
	if (d != NULL) {
		CHECK_STR(cs_seal_dir_manifest(d)->key_id, "kbs:///default/model/k2");
		check_contents(d);
		cs_seal_dir_close(d);
	}
}

static void
test_manifest_parser(void)
{
	struct cs_seal_manifest m;
	size_t n;
	uint8_t *b;

	fresh_copy();
	b = t_read_file(P("t/.custos-manifest"), &n);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	cs_seal_manifest_init(&m);
	CHECK_OK(cs_seal_manifest_parse(b, n, &m));
	CHECK(m.n == NFILES);
	cs_seal_manifest_fini(&m);
	CHECK_OK(cs_seal_manifest_verify(b, n, kek));
	/* Every truncation is refused. */
	for (size_t k = 0; k < n; k++) {
		cs_seal_manifest_init(&m);
		CHECK(cs_seal_manifest_parse(b, k, &m) != CS_OK);
		cs_seal_manifest_fini(&m);
	}
	/* A count claiming 65536 files in a few bytes: refused before allocating. */
	b[12] = 0;
	b[13] = 0;
	b[14] = 1;
	b[15] = 0;
	cs_seal_manifest_init(&m);
	CHECK_ERR(cs_seal_manifest_parse(b, n, &m), CS_ERR_TRUNCATED);
	b[14] = 2; /* 131072: over the limit */
	CHECK_ERR(cs_seal_manifest_parse(b, n, &m), CS_ERR_TOO_LARGE);
	free(b);
	/* Path grammar. */
	CHECK_OK(cs_seal_path_check("a/b.json", 8));
	CHECK_ERR(cs_seal_path_check("../x", 4), CS_ERR_PATH);
	CHECK_ERR(cs_seal_path_check("a/./x", 5), CS_ERR_PATH);
	CHECK_ERR(cs_seal_path_check("/abs", 4), CS_ERR_PATH);
	CHECK_ERR(cs_seal_path_check("a//b", 4), CS_ERR_PATH);
	CHECK_ERR(cs_seal_path_check("a/", 2), CS_ERR_PATH);
	CHECK_ERR(cs_seal_path_check("a\nb", 3), CS_ERR_PATH);
	CHECK_ERR(cs_seal_path_check(".custos-manifest", 16), CS_ERR_PATH);
}

/* KServe: python3-jwcrypto writes a compact dir/A256GCM JWE, as KServe's docs do. */
static void
test_kserve_jwe(void)
{
	static const char py[] =
	        "import sys\n"
	        "from jwcrypto import jwe, jwk\n"
	        "from jwcrypto.common import json_encode\n"
	        "key = jwk.JWK(kty='oct', k=jwk.base64url_encode(open(sys.argv[1],'rb').read()))\n"
	        "data = open(sys.argv[2], 'rb').read()\n"
	        "t = jwe.JWE(data, json_encode({'alg': 'dir', 'enc': 'A256GCM'}))\n"
	        "t.add_recipient(key)\n"
	        "open(sys.argv[3], 'w').write(t.serialize(compact=True))\n"
	        "open(sys.argv[4], 'w').write(key.export())\n";
	char cmd[2048];
	size_t jn, kn, n = 100000;
	uint8_t *jwe_text, *jwk_text, *pt = malloc(n), key[32];
	void *got = NULL;
	size_t got_n = 0;

	if (system("/usr/bin/python3 -c 'import jwcrypto' 2>/dev/null") != 0) {
		printf("SKIP: 1 fixture tests: /usr/bin/python3 with jwcrypto missing\n");
		free(pt);
		return;
	}
	t_fill(pt, n, 42);
	t_write_file(P("jwe_pt"), pt, n);
	t_write_file(P("jwe_kek"), kek, 32);
	t_write_file(P("gen.py"), (const uint8_t *)py, strlen(py));
	snprintf(cmd, sizeof(cmd),
	         "/usr/bin/python3 %s/gen.py %s/jwe_kek %s/jwe_pt %s/m.jwe %s/k.jwk", tmp, tmp, tmp,
	         tmp, tmp);
	CHECK(system(cmd) == 0);
	jwe_text = t_read_file(P("m.jwe"), &jn);
	jwk_text = t_read_file(P("k.jwk"), &kn);
	CHECK(jwe_text != NULL && jwk_text != NULL);
	if (jwe_text == NULL || jwk_text == NULL)
		goto out;
	CHECK(cs_kserve_is_jwe(jwe_text, jn));
	/* The key the way a CDH resource may hold it: a JWK, base64url text, raw bytes. */
	CHECK_OK(cs_kserve_key(jwk_text, kn, key));
	CHECK_MEM(key, kek, 32);
	memset(key, 0, 32);
	CHECK_OK(cs_kserve_key(kek, 32, key));
	CHECK_MEM(key, kek, 32);
	CHECK_ERR(cs_kserve_key(kek, 31, key), CS_ERR_KEY);
	CHECK_OK(cs_kserve_jwe_decrypt(jwe_text, jn, kek, &got, &got_n));
	CHECK(got_n == n && got != NULL && memcmp(got, pt, n) == 0);
	cs_seal_unmap(got, got_n);
	/* Wrong key; a tampered ciphertext character. */
	CHECK_ERR(cs_kserve_jwe_decrypt(jwe_text, jn, kek2, &got, &got_n), CS_ERR_DECRYPT);
	{
		char *dot = strrchr((char *)jwe_text, '.');
		dot[-5] = dot[-5] == 'A' ? 'B' : 'A';
		CHECK_ERR(cs_kserve_jwe_decrypt(jwe_text, jn, kek, &got, &got_n), CS_ERR_DECRYPT);
		CHECK(got == NULL && got_n == 0);
	}
	/* Reseal through the CLI (the JWE read, its plaintext sealed), then unseal and compare. */
	if (getenv("CUSTOS_BUILD_ROOT") != NULL) {
		snprintf(cmd, sizeof(cmd),
		         "cd %s && /usr/bin/python3 gen.py jwe_kek jwe_pt m2.jwe k2.jwk && "
		         "%s/cmd/custos seal m2.jwe --jwe-key k2.jwk -o m.sealed --key-id %s "
		         "--kek jwe_kek -q && %s/cmd/custos unseal m.sealed -o m.out --kek jwe_kek "
		         "-q && "
		         "cmp m.out jwe_pt && %s/cmd/custos unseal m2.jwe -o m2.out --kek jwe_kek "
		         "-q && "
		         "cmp m2.out jwe_pt",
		         tmp, getenv("CUSTOS_BUILD_ROOT"), KEY_ID, getenv("CUSTOS_BUILD_ROOT"),
		         getenv("CUSTOS_BUILD_ROOT"));
		CHECK(system(cmd) == 0);
	}
out:
	free(jwe_text);
	free(jwk_text);
	free(pt);
}

/* The CLI's exit statuses and its promise that a failed command leaves no output behind. */
static void
test_cli(void)
{
	const char *b = getenv("CUSTOS_BUILD_ROOT");
	char cmd[4096];
	uint8_t *pt = malloc(300000);

	if (b == NULL) {
		printf("SKIP: 1 test: CUSTOS_BUILD_ROOT unset, no custos binary\n");
		free(pt);
		return;
	}
	t_fill(pt, 300000, 3);
	t_write_file(P("c_pt"), pt, 300000);
	t_write_file(P("c_kek"), kek, 32);
	t_write_file(P("c_kek2"), kek2, 32);
	free(pt);
#define RUN(want, ...)                                                                             \
	do {                                                                                       \
		snprintf(cmd, sizeof(cmd), "cd %s && " __VA_ARGS__);                               \
		int st_ = system(cmd);                                                             \
		CHECK(WIFEXITED(st_) && WEXITSTATUS(st_) == (want));                               \
		if (!WIFEXITED(st_) || WEXITSTATUS(st_) != (want))                                 \
			fprintf(stderr, "  command: %s\n", cmd);                                   \
	} while (0)
	RUN(0,
	    "%s/cmd/custos seal c_pt -o c.s --key-id " KEY_ID " --kek c_kek --chunk-size 65536 -q",
	    tmp, b);
	RUN(0, "%s/cmd/custos inspect c.s --kek c_kek >/dev/null", tmp, b);
	RUN(1, "%s/cmd/custos inspect c.s --kek c_kek2 >/dev/null", tmp, b);
	RUN(2, "%s/cmd/custos seal c_pt -o c.s --key-id " KEY_ID " --kek c_kek -q 2>/dev/null", tmp,
	    b); /* exists */
	RUN(2, "%s/cmd/custos seal nope -o c2.s --key-id " KEY_ID " --kek c_kek -q 2>/dev/null",
	    tmp, b);
	RUN(2, "%s/cmd/custos seal c_pt -o c2.s --key-id 'bad id' --kek c_kek -q 2>/dev/null", tmp,
	    b);
	RUN(2,
	    "%s/cmd/custos seal c_pt -o c2.s --key-id " KEY_ID " --kek c_kek --chunk-size 1000 "
	    "2>/dev/null",
	    tmp, b);
	RUN(0, "test ! -e c2.s", tmp);
	/* Tampered, truncated, extended, wrong KEK: exit 1 and no output file. */
	RUN(0, "cp c.s t.s && printf 'X' | dd of=t.s bs=1 seek=200000 conv=notrunc 2>/dev/null",
	    tmp);
	RUN(1, "%s/cmd/custos unseal t.s -o t.out --kek c_kek -q 2>/dev/null", tmp, b);
	RUN(0, "test ! -e t.out && ls -a | grep -c custos- | grep -qx 0", tmp);
	RUN(0, "head -c 250000 c.s > t.s", tmp);
	RUN(1, "%s/cmd/custos unseal t.s -o t.out --kek c_kek -q 2>/dev/null", tmp, b);
	RUN(1,
	    "cat c.s | head -c 250000 | %s/cmd/custos unseal - -o - --kek c_kek >/dev/null "
	    "2>/dev/null",
	    tmp, b);
	RUN(0, "cp c.s t.s && printf 'X' >> t.s", tmp);
	RUN(1, "%s/cmd/custos unseal t.s -o t.out --kek c_kek -q 2>/dev/null", tmp, b);
	RUN(1, "%s/cmd/custos unseal c.s -o t.out --kek c_kek2 -q 2>/dev/null", tmp, b);
	RUN(0, "test ! -e t.out", tmp);
	/* Reseal to a copy: the chunks byte-identical; the new key opens it, the old does not. */
	RUN(0,
	    "%s/cmd/custos reseal c.s -o r.s --kek c_kek --new-kek c_kek2 --new-key-id "
	    "kbs:///default/model/rotated && cmp -i 512 c.s r.s && ! cmp -s c.s r.s",
	    tmp, b);
	RUN(0, "%s/cmd/custos unseal r.s -o r.out --kek c_kek2 -q && cmp r.out c_pt", tmp, b);
	RUN(1, "%s/cmd/custos unseal r.s -o r2.out --kek c_kek -q 2>/dev/null", tmp, b);
	RUN(2, "%s/cmd/custos unseal 2>/dev/null", tmp, b);
#undef RUN
}

int
main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/custos-test-seal-dir-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return 2;
	t_fill(kek, 32, 11);
	t_fill(kek2, 32, 12);
	T_RUN(test_dir_roundtrip);
	T_RUN(test_dir_tamper);
	T_RUN(test_dir_rotation);
	T_RUN(test_manifest_parser);
	T_RUN(test_kserve_jwe);
	T_RUN(test_cli);
	if (sh("rm -rf '@'") != 0)
		fprintf(stderr, "cleanup failed\n");
	return t_done();
}

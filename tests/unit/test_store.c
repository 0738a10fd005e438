/*
 * The store against a real SQLite file: round trips, versions, deletion, the 1 MiB edge,
 * encryption at rest (checked by reading the database with SQLite directly and tampering with it
 * by hand), the master key file, reference-value expiry, the nonce replay cache, the audit chain
 * after hand edits, and many threads at once.
 */
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "store/store.h"
#include "t.h"

static char tmpdir[] = "/tmp/custos-test-store-XXXXXX";

static void
path_in(char *dst, size_t n, const char *name)
{
	int k = snprintf(dst, n, "%s/%s", tmpdir, name);
	if (k < 0 || (size_t)k >= n)
		abort();
}

/* Opens sqlite://<tmpdir>/<name> with the default key file beside it. */
static struct cs_store *
open_db(const char *name)
{
	char url[512], p[400];
	struct cs_store *s = NULL;

	path_in(p, sizeof(p), name);
	snprintf(url, sizeof(url), "sqlite://%s", p);
	CHECK_OK(cs_store_open(url, NULL, &s));
	return s;
}

/* Runs SQL on the database file directly, as an attacker or an operator with a shell would. */
static int
raw_sql(const char *name, const char *sql)
{
	char p[400];
	sqlite3 *db = NULL;
	int rc;

	path_in(p, sizeof(p), name);
	rc = sqlite3_open(p, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static enum cs_err
get_bytes(struct cs_store *s, const char *path, uint64_t version, struct cs_buf *b, uint64_t *got)
{
	cs_buf_reset(b);
	return cs_store_resource_get(s, path, version, b, got);
}

static void
test_resources(void)
{
	struct cs_store *s = open_db("res.db");
	struct cs_buf b;
	struct cs_store_version *v = NULL;
	struct cs_store_list l = {0};
	size_t n = 0;
	uint64_t ver = 0, got = 0;

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	CHECK_OK(cs_store_resource_put(s, "default/key/a", (const uint8_t *)"one", 3, &ver));
	CHECK(ver == 1);
	CHECK_OK(cs_store_resource_put(s, "default/key/a", (const uint8_t *)"second", 6, &ver));
	CHECK(ver == 2);
	CHECK_OK(cs_store_resource_put(s, "default/key/b", (const uint8_t *)"", 0, &ver));
	CHECK(ver == 1);
	CHECK_OK(cs_store_resource_put(s, "other/key/c", (const uint8_t *)"c", 1, NULL));

	CHECK_OK(get_bytes(s, "default/key/a", 0, &b, &got));
	CHECK(got == 2 && b.len == 6);
	CHECK_MEM(b.p, "second", 6);
	CHECK_OK(get_bytes(s, "default/key/a", 1, &b, &got));
	CHECK(got == 1 && b.len == 3);
	CHECK_MEM(b.p, "one", 3);
	CHECK_ERR(get_bytes(s, "default/key/a", 3, &b, &got), CS_ERR_NOT_FOUND);
	CHECK_OK(get_bytes(s, "default/key/b", 0, &b, &got));
	CHECK(b.len == 0);
	CHECK_ERR(get_bytes(s, "default/key/zz", 0, &b, &got), CS_ERR_NOT_FOUND);

	CHECK_OK(cs_store_resource_versions(s, "default/key/a", &v, &n));
	CHECK(n == 2 && v != NULL && v[0].version == 1 && v[1].version == 2 && v[0].size == 3 &&
	      v[1].size == 6);
	free(v);
	v = NULL;
	CHECK_ERR(cs_store_resource_versions(s, "default/key/none", &v, &n), CS_ERR_NOT_FOUND);
	CHECK(v == NULL && n == 0);

	CHECK_OK(cs_store_resource_list(s, "default/", &l));
	CHECK(l.n == 2);
	if (l.n == 2) {
		CHECK_STR(l.items[0], "default/key/a");
		CHECK_STR(l.items[1], "default/key/b");
	}
	cs_store_list_fini(&l);
	CHECK_OK(cs_store_resource_list(s, NULL, &l));
	CHECK(l.n == 3);
	cs_store_list_fini(&l);

	/* Delete removes every version; a later put starts again at version 1. */
	CHECK_OK(cs_store_resource_delete(s, "default/key/a"));
	CHECK_ERR(cs_store_resource_delete(s, "default/key/a"), CS_ERR_NOT_FOUND);
	CHECK_ERR(get_bytes(s, "default/key/a", 0, &b, &got), CS_ERR_NOT_FOUND);
	CHECK_ERR(get_bytes(s, "default/key/a", 1, &b, &got), CS_ERR_NOT_FOUND);
	CHECK_ERR(cs_store_resource_versions(s, "default/key/a", &v, &n), CS_ERR_NOT_FOUND);
	CHECK_OK(cs_store_resource_put(s, "default/key/a", (const uint8_t *)"x", 1, &ver));
	CHECK(ver == 1);

	/* The path grammar. */
	static const char *const bad[] = {
	        "",       "a",     "a/b",    "a/b/c/d",  "a//c",    "/a/b",    "a/b/",
	        "../b/c", "a/./c", "a/b/..", "a/b/c%2e", "a b/c/d", "a/b/c\n", "ä/b/c",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(cs_store_resource_put(s, bad[i], (const uint8_t *)"x", 1, NULL),
		          CS_ERR_PATH);
		CHECK_ERR(get_bytes(s, bad[i], 0, &b, NULL), CS_ERR_PATH);
	}
	char longseg[300];
	memset(longseg, 'a', sizeof(longseg));
	memcpy(longseg, "r/t/", 4);
	longseg[4 + 128] = '\0';
	CHECK_OK(cs_store_resource_put(s, longseg, (const uint8_t *)"x", 1, NULL));
	longseg[4 + 128] = 'a';
	longseg[4 + 129] = '\0';
	CHECK_ERR(cs_store_resource_put(s, longseg, (const uint8_t *)"x", 1, NULL), CS_ERR_PATH);
	CHECK_OK(cs_store_resource_put(s, "A-z_0.9/t.y-p_e/..x", (const uint8_t *)"x", 1, NULL));

	cs_buf_fini(&b);
	cs_store_free(s);
}

static void
test_size_edge(void)
{
	struct cs_store *s = open_db("size.db");
	struct cs_buf b, small;
	size_t max = CS_STORE_VALUE_MAX;
	uint8_t *v = malloc(max + 1);
	uint64_t got = 0;

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	t_fill(v, max + 1, 7);
	CHECK_OK(cs_store_resource_put(s, "big/blob/max", v, max, NULL));
	CHECK_OK(cs_store_resource_put(s, "big/blob/max-1", v, max - 1, NULL));
	CHECK_OK(cs_store_resource_put(s, "big/blob/one", v, 1, NULL));
	CHECK_ERR(cs_store_resource_put(s, "big/blob/over", v, max + 1, NULL), CS_ERR_TOO_LARGE);
	CHECK_ERR(get_bytes(s, "big/blob/over", 0, &b, &got), CS_ERR_NOT_FOUND);
	CHECK_OK(get_bytes(s, "big/blob/max", 0, &b, &got));
	CHECK(b.len == max);
	CHECK_MEM(b.p, v, max);
	CHECK_OK(get_bytes(s, "big/blob/max-1", 0, &b, &got));
	CHECK(b.len == max - 1);
	CHECK_MEM(b.p, v, max - 1);
	CHECK_OK(get_bytes(s, "big/blob/one", 0, &b, &got));
	CHECK(b.len == 1 && b.p[0] == v[0]);
	/* An output buffer capped too small refuses, without partial plaintext left in it. */
	cs_buf_init(&small, 100);
	CHECK_ERR(cs_store_resource_get(s, "big/blob/max", 0, &small, NULL), CS_ERR_TOO_LARGE);
	CHECK(small.len == 0);
	cs_buf_fini(&small);
	/* Policies share the limit. */
	CHECK_ERR(cs_store_policy_put(s, "resource", "big", v, max + 1, NULL), CS_ERR_TOO_LARGE);
	CHECK_OK(cs_store_policy_put(s, "resource", "big", v, max, NULL));
	free(v);
	cs_buf_fini(&b);
	cs_store_free(s);
}

/* True if needle occurs in the file (the database or its WAL). */
static int
file_contains(const char *name, const void *needle, size_t n)
{
	char p[400];
	size_t len = 0;
	uint8_t *data;
	int found;

	path_in(p, sizeof(p), name);
	data = t_read_file(p, &len);
	if (data == NULL)
		return 0;
	found = memmem(data, len, needle, n) != NULL;
	free(data);
	return found;
}

/* SQL that changes the first byte of a blob column of default/key/one (to 0x00, or 0x01). */
#define FLIP_FIRST(col)                                                                            \
	"UPDATE resource SET " col " = CASE WHEN substr(" col ", 1, 1) = x'00' THEN x'01'"         \
	" ELSE x'00' END || substr(" col ", 2) WHERE path = 'default/key/one'"

static void
test_at_rest(void)
{
	static const char secret1[] = "TOP-SECRET-KEK-0123456789abcdef-ONE";
	static const char secret2[] = "TOP-SECRET-KEK-0123456789abcdef-TWO";
	struct cs_store *s = open_db("rest.db");
	struct cs_buf b;
	uint64_t got;

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	CHECK_OK(cs_store_resource_put(s, "default/key/one", (const uint8_t *)secret1,
	                               sizeof(secret1), NULL));
	CHECK_OK(cs_store_resource_put(s, "default/key/two", (const uint8_t *)secret2,
	                               sizeof(secret2), NULL));
	/* While open (data in the WAL) and after close (checkpointed into the file). */
	CHECK(file_contains("rest.db-wal", "default/key/one", 15));
	CHECK(!file_contains("rest.db-wal", "TOP-SECRET", 10));
	CHECK(!file_contains("rest.db", "TOP-SECRET", 10));
	cs_store_free(s);
	CHECK(!file_contains("rest.db", "TOP-SECRET", 10));
	CHECK(file_contains("rest.db", "default/key/one", 15)); /* the file is the right one */

	/* The database file and the key file are private to their owner. */
	char p[400];
	struct stat st;
	path_in(p, sizeof(p), "rest.db");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* Change the first ciphertext byte (to 0x00, or 0x01 if it was 0x00). */
	CHECK(raw_sql("rest.db", "CREATE TABLE save AS SELECT * FROM resource") == SQLITE_OK);
	CHECK(raw_sql("rest.db", FLIP_FIRST("ct")) == SQLITE_OK);
	s = open_db("rest.db");
	CHECK_ERR(get_bytes(s, "default/key/one", 0, &b, &got), CS_ERR_DECRYPT);
	CHECK(b.len == 0);
	CHECK_OK(get_bytes(s, "default/key/two", 0, &b, &got));
	cs_store_free(s);

	/* Restore, then flip a tag bit, an IV bit, a wrapped-key bit. */
	static const char *const edits[] = {
	        FLIP_FIRST("tag"),
	        FLIP_FIRST("iv"),
	        FLIP_FIRST("wdek"),
	        "UPDATE resource SET wdek = substr(wdek, 2) WHERE path = 'default/key/one'",
	        "UPDATE resource SET version = 7 WHERE path = 'default/key/one'",
	        "UPDATE resource SET ct = substr(ct, 1, length(ct) - 1) WHERE path = "
	        "'default/key/one'",
	        /* Swap the two rows' ciphertexts only, then the whole envelopes. */
	        "UPDATE resource SET ct = (SELECT ct FROM save WHERE path = 'default/key/two')"
	        " WHERE path = 'default/key/one'",
	        "UPDATE resource SET (iv, tag, wdek, ct) = (SELECT iv, tag, wdek, ct FROM save"
	        " WHERE path = 'default/key/two') WHERE path = 'default/key/one'",
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		CHECK(raw_sql("rest.db", "DELETE FROM resource; INSERT INTO resource SELECT * FROM"
		                         " save") == SQLITE_OK);
		s = open_db("rest.db");
		CHECK_OK(get_bytes(s, "default/key/one", 0, &b, &got));
		CHECK(b.len == sizeof(secret1));
		CHECK_MEM(b.p, secret1, sizeof(secret1));
		cs_store_free(s);
		CHECK(raw_sql("rest.db", edits[i]) == SQLITE_OK);
		s = open_db("rest.db");
		enum cs_err e = get_bytes(s, "default/key/one", 0, &b, &got);
		if (e != CS_ERR_DECRYPT)
			fprintf(stderr, "edit %zu: %s\n", i, cs_err_name(e));
		CHECK_ERR(e, CS_ERR_DECRYPT);
		CHECK(b.len == 0);
		cs_store_free(s);
	}
	cs_buf_fini(&b);
}

static void
test_master_key(void)
{
	char key[400], url[512], db[400];
	struct cs_store_opts o = {0};
	struct cs_store *s = NULL;
	struct stat st;
	struct cs_buf b;
	int fd;

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	path_in(key, sizeof(key), "mk.key");
	path_in(db, sizeof(db), "mk.db");
	snprintf(url, sizeof(url), "sqlite://%s", db);
	o.master_key_path = key;
	CHECK_OK(cs_store_open(url, &o, &s));
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);
	/* No temporary copy of the key is left beside it. */
	glob_t g;
	char pat[420];
	snprintf(pat, sizeof(pat), "%s*", key);
	CHECK(glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1);
	globfree(&g);
	CHECK_OK(cs_store_resource_put(s, "a/b/c", (const uint8_t *)"v", 1, NULL));
	cs_store_free(s);
	s = NULL;

	/* Group- or other-readable: refused. */
	CHECK(chmod(key, 0644) == 0);
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_CONFIG);
	CHECK(s == NULL);
	CHECK(chmod(key, 0640) == 0);
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_CONFIG);
	CHECK(chmod(key, 0600) == 0);
	CHECK_OK(cs_store_open(url, &o, &s));
	CHECK_OK(cs_store_resource_get(s, "a/b/c", 0, &b, NULL));
	CHECK(b.len == 1 && b.p[0] == 'v');
	cs_store_free(s);
	s = NULL;

	/* Wrong sizes: refused. */
	char k2[400];
	path_in(k2, sizeof(k2), "short.key");
	fd = open(k2, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, "0123456789012345678901234567890", 31) == 31);
	close(fd);
	o.master_key_path = k2;
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_CONFIG);
	path_in(k2, sizeof(k2), "long.key");
	fd = open(k2, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, "012345678901234567890123456789012", 33) == 33);
	close(fd);
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_CONFIG);
	/* A symlink is not followed. */
	path_in(k2, sizeof(k2), "link.key");
	CHECK(symlink(key, k2) == 0);
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_CONFIG);

	/*
	 * The database is bound to its key: another key (here, a file that does not exist yet) is
	 * refused at open, and is not created; a valid key file of another key is refused too.
	 */
	path_in(k2, sizeof(k2), "other.key");
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_KEY);
	CHECK(s == NULL && stat(k2, &st) != 0);
	struct cs_store *s2 = NULL;
	CHECK_OK(cs_store_open("sqlite::memory:", &o, &s2)); /* creates other.key */
	cs_store_free(s2);
	CHECK(stat(k2, &st) == 0);
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_KEY);
	CHECK(s == NULL);
	/* A tampered check value is refused; a deleted one rebinds, but old rows stay opaque. */
	CHECK(raw_sql("mk.db", "UPDATE meta SET v = 'x' WHERE k = 'key_check'") == SQLITE_OK);
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_KEY);
	CHECK(raw_sql("mk.db", "DELETE FROM meta WHERE k = 'key_check'") == SQLITE_OK);
	CHECK_OK(cs_store_open(url, &o, &s)); /* rebinds to other.key: the old rows are opaque */
	cs_buf_reset(&b);
	CHECK_ERR(cs_store_resource_get(s, "a/b/c", 0, &b, NULL), CS_ERR_DECRYPT);
	cs_store_free(s);
	s = NULL;

	/* The default key file sits beside the database; unknown schemes are refused. */
	s = open_db("default.db");
	path_in(k2, sizeof(k2), "default.db.master-key");
	CHECK(stat(k2, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);
	cs_store_free(s);
	s = NULL;
	/* A lost key file is not silently replaced by a new key for a database that has data. */
	CHECK(unlink(k2) == 0);
	snprintf(url, sizeof(url), "sqlite://%s/default.db", tmpdir);
	CHECK_ERR(cs_store_open(url, NULL, &s), CS_ERR_KEY);
	CHECK(s == NULL && stat(k2, &st) != 0);
	/* A server database has no file beside which to keep the key: it must be named. */
	CHECK_ERR(cs_store_open("postgres://localhost/kbs", NULL, &s), CS_ERR_CONFIG);
	CHECK_ERR(cs_store_open("mysql:///x", NULL, &s), CS_ERR_UNSUPPORTED);
	CHECK_ERR(cs_store_open("sqlite://", NULL, &s), CS_ERR_CONFIG);
	CHECK(s == NULL);
	cs_buf_fini(&b);
}

static void
test_policies(void)
{
	struct cs_store *s = NULL;
	struct cs_store_policy p;
	struct cs_store_list l = {0};
	struct cs_store_version *v = NULL;
	size_t n = 0;
	uint64_t ver = 0;

	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	CHECK_OK(cs_store_policy_put(s, "resource", "default/model/*", (const uint8_t *)"allow 1",
	                             7, &ver));
	CHECK(ver == 1);
	CHECK_OK(cs_store_policy_put(s, "resource", "default/model/*", (const uint8_t *)"allow 2",
	                             7, &ver));
	CHECK(ver == 2);
	CHECK_OK(cs_store_policy_put(s, "resource", "*", (const uint8_t *)"deny", 4, &ver));
	CHECK_OK(cs_store_policy_put(s, "appraisal", "*", (const uint8_t *)"appraise", 8, &ver));
	CHECK(ver == 1);

	CHECK_OK(cs_store_policy_get(s, "resource", "default/model/*", 0, &p));
	CHECK(p.version == 2 && p.text_len == 7 && memcmp(p.text, "allow 2", 7) == 0);
	CHECK_STR(p.kind, "resource");
	CHECK_STR(p.id, "default/model/*");
	CHECK(p.text != NULL && p.text[p.text_len] == '\0');
	cs_store_policy_fini(&p);
	CHECK_OK(cs_store_policy_get(s, "resource", "default/model/*", 1, &p));
	CHECK(p.version == 1 && memcmp(p.text, "allow 1", 7) == 0);
	cs_store_policy_fini(&p);
	CHECK_OK(cs_store_policy_get(s, "appraisal", "*", 0, &p));
	CHECK(p.text_len == 8 && memcmp(p.text, "appraise", 8) == 0);
	cs_store_policy_fini(&p);
	CHECK_ERR(cs_store_policy_get(s, "resource", "default/model/*", 3, &p), CS_ERR_NOT_FOUND);
	CHECK_ERR(cs_store_policy_get(s, "nokind", "*", 0, &p), CS_ERR_NOT_FOUND);

	CHECK_OK(cs_store_policy_list(s, "resource", &l));
	CHECK(l.n == 2);
	if (l.n == 2) {
		CHECK_STR(l.items[0], "*");
		CHECK_STR(l.items[1], "default/model/*");
	}
	cs_store_list_fini(&l);
	CHECK_OK(cs_store_policy_versions(s, "resource", "default/model/*", &v, &n));
	CHECK(n == 2 && v[1].version == 2 && v[1].size == 7);
	free(v);

	CHECK_OK(cs_store_policy_delete(s, "resource", "default/model/*"));
	CHECK_ERR(cs_store_policy_get(s, "resource", "default/model/*", 0, &p), CS_ERR_NOT_FOUND);
	CHECK_ERR(cs_store_policy_delete(s, "resource", "default/model/*"), CS_ERR_NOT_FOUND);
	CHECK_OK(cs_store_policy_get(s, "resource", "*", 0, &p));
	cs_store_policy_fini(&p);

	CHECK_ERR(cs_store_policy_put(s, "resource", "", (const uint8_t *)"x", 1, NULL),
	          CS_ERR_INVAL);
	CHECK_ERR(cs_store_policy_put(s, "resource", "a b", (const uint8_t *)"x", 1, NULL),
	          CS_ERR_INVAL);
	CHECK_ERR(cs_store_policy_put(s, "resource", "x", (const uint8_t *)"x", 0, NULL),
	          CS_ERR_INVAL);
	cs_store_free(s);
}

static void
test_refvals(void)
{
	struct cs_store *s = NULL;
	struct cs_store_list l = {0};
	json_t *v = NULL, *in;
	int64_t exp = 0, now = 1700000000;

	CHECK_OK(cs_store_open("sqlite::memory:", NULL, &s));
	in = json_pack("[s,s]", "aa11", "bb22");
	CHECK_OK(cs_store_refval_put(s, "snp.measurement", in, now + 100));
	CHECK_OK(cs_store_refval_put(s, "old", in, now - 1));
	CHECK_OK(cs_store_refval_get(s, "snp.measurement", now, &v, &exp));
	CHECK(exp == now + 100 && v != NULL && json_equal(v, in));
	json_decref(v);
	CHECK_ERR(cs_store_refval_get(s, "snp.measurement", now + 100, &v, &exp), CS_ERR_EXPIRED);
	CHECK(v == NULL);
	CHECK_ERR(cs_store_refval_get(s, "old", now, &v, NULL), CS_ERR_EXPIRED);
	CHECK_ERR(cs_store_refval_get(s, "none", now, &v, NULL), CS_ERR_NOT_FOUND);

	CHECK_OK(cs_store_refval_list(s, now, &l));
	CHECK(l.n == 1 && strcmp(l.items[0], "snp.measurement") == 0);
	cs_store_list_fini(&l);
	CHECK_OK(cs_store_refval_list(s, now - 10, &l));
	CHECK(l.n == 2);
	cs_store_list_fini(&l);
	CHECK_OK(cs_store_refval_list(s, now + 1000, &l));
	CHECK(l.n == 0);
	cs_store_list_fini(&l);

	/* Replacing renews the value and its expiry. */
	json_t *in2 = json_pack("[s]", "cc33");
	CHECK_OK(cs_store_refval_put(s, "old", in2, now + 5));
	CHECK_OK(cs_store_refval_get(s, "old", now, &v, &exp));
	CHECK(exp == now + 5 && json_equal(v, in2));
	json_decref(v);
	CHECK_OK(cs_store_refval_delete(s, "old"));
	CHECK_ERR(cs_store_refval_delete(s, "old"), CS_ERR_NOT_FOUND);
	CHECK_ERR(cs_store_refval_get(s, "old", now, &v, NULL), CS_ERR_NOT_FOUND);
	json_decref(in);
	json_decref(in2);
	cs_store_free(s);
}

static void
test_nonces(void)
{
	struct cs_store *s = open_db("nonce.db");
	struct cs_store *s2 = open_db("nonce.db"); /* a second replica on the same database */
	uint8_t d1[32], d2[32];
	uint64_t purged = 99;

	t_fill(d1, sizeof(d1), 1);
	t_fill(d2, sizeof(d2), 2);
	CHECK_OK(cs_store_nonce_record(s, d1, sizeof(d1), 1000));
	CHECK_ERR(cs_store_nonce_record(s, d1, sizeof(d1), 1000), CS_ERR_EXISTS);
	CHECK_ERR(cs_store_nonce_record(s2, d1, sizeof(d1), 5000), CS_ERR_EXISTS);
	CHECK_OK(cs_store_nonce_record(s2, d2, sizeof(d2), 2000));
	CHECK_ERR(cs_store_nonce_record(s, d2, sizeof(d2), 2000), CS_ERR_EXISTS);
	CHECK_OK(cs_store_nonce_record(s, d2, 31, 2000)); /* another digest */
	CHECK_ERR(cs_store_nonce_record(s, d2, 0, 2000), CS_ERR_INVAL);
	CHECK_ERR(cs_store_nonce_record(s, d2, 65, 2000), CS_ERR_INVAL);

	CHECK_OK(cs_store_nonce_purge(s, 999, &purged));
	CHECK(purged == 0);
	CHECK_OK(cs_store_nonce_purge(s, 1000, &purged));
	CHECK(purged == 1);
	CHECK_OK(cs_store_nonce_record(s, d1, sizeof(d1), 3000)); /* purged: usable again */
	CHECK_ERR(cs_store_nonce_record(s, d2, sizeof(d2), 3000), CS_ERR_EXISTS);
	cs_store_free(s2);
	cs_store_free(s);
}

/* Builds audit.db with n records and a copy of it as audit.orig. */
static void
audit_fixture(int n)
{
	struct cs_store *s;

	(void)raw_sql("audit.db", "DROP TABLE IF EXISTS audit; DROP TABLE IF EXISTS audit_head");
	s = open_db("audit.db");
	for (int i = 1; i <= n; i++) {
		json_t *body = json_pack("{s:s, s:i, s:{s:s}}", "path", "default/key/k", "version",
		                         i, "verdict", "why", "affirming");
		uint64_t seq = 0;
		CHECK_OK(cs_store_audit_append(s, 1700000000 + i, i % 2 ? "release" : "attest",
		                               body, &seq));
		CHECK(seq == (uint64_t)i);
		json_decref(body);
	}
	cs_store_free(s);
}

static void
expect_bad(const char *what, const char *sql, uint64_t want_bad)
{
	struct cs_store *s;
	uint64_t count = 0, bad = 0;

	audit_fixture(5);
	CHECK(raw_sql("audit.db", "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete") ==
	      SQLITE_OK);
	CHECK(raw_sql("audit.db", sql) == SQLITE_OK);
	s = open_db("audit.db");
	CHECK_ERR(cs_store_audit_verify(s, &count, &bad), CS_ERR_VERIFY);
	if (bad != want_bad)
		fprintf(stderr, "%s: first bad seq %llu, want %llu\n", what,
		        (unsigned long long)bad, (unsigned long long)want_bad);
	CHECK(bad == want_bad);
	cs_store_free(s);
}

static void
test_audit(void)
{
	struct cs_store *s;
	struct cs_audit_rec *recs = NULL;
	struct cs_buf b;
	size_t n = 0;
	uint64_t count = 0, bad = 0;

	audit_fixture(5);
	s = open_db("audit.db");
	CHECK_OK(cs_store_audit_verify(s, &count, &bad));
	CHECK(count == 5 && bad == 0);
	CHECK_OK(cs_store_audit_list(s, 2, 2, &recs, &n));
	CHECK(n == 2 && recs[0].seq == 2 && recs[1].seq == 3);
	if (n == 2) {
		CHECK_STR(recs[0].kind, "attest");
		CHECK_STR(recs[0].body,
		          "{\"path\":\"default/key/k\",\"verdict\":{\"why\":\"affirming\"},"
		          "\"version\":2}");
	}
	cs_audit_recs_free(recs, n);
	CHECK_OK(cs_store_audit_list(s, 4, 100, &recs, &n));
	CHECK(n == 2);
	cs_audit_recs_free(recs, n);

	cs_buf_init(&b, 1 << 20);
	CHECK_OK(cs_store_audit_export(s, 1, 0, &b));
	size_t lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.p[i] == '\n';
	CHECK(lines == 5);
	/* Each line is JSON whose hash matches list's. */
	json_t *first = json_loadb((const char *)b.p,
	                           (size_t)(strchr((char *)b.p, '\n') - (char *)b.p), 0, NULL);
	CHECK(first != NULL && json_integer_value(json_object_get(first, "seq")) == 1);
	CHECK(first != NULL && strlen(json_string_value(json_object_get(first, "hash"))) == 64);
	json_decref(first);
	cs_buf_reset(&b);
	CHECK_OK(cs_store_audit_export(s, 2, 3, &b));
	lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.p[i] == '\n';
	CHECK(lines == 2);
	cs_buf_fini(&b);
	/* Only whole lines when the cap is reached. */
	cs_buf_init(&b, 200);
	CHECK_ERR(cs_store_audit_export(s, 1, 0, &b), CS_ERR_TOO_LARGE);
	CHECK(b.len > 0 && b.p[b.len - 1] == '\n');
	cs_buf_fini(&b);

	/* Arguments: kinds are a strict grammar, bodies are objects. */
	json_t *arr = json_array(), *obj = json_object();
	CHECK_ERR(cs_store_audit_append(s, 1, "release", arr, NULL), CS_ERR_INVAL);
	CHECK_ERR(cs_store_audit_append(s, 1, "re\"lease", obj, NULL), CS_ERR_INVAL);
	CHECK_ERR(cs_store_audit_append(s, 1, "", obj, NULL), CS_ERR_INVAL);
	CHECK_ERR(cs_store_audit_append(s, (int64_t)1 << 53, "release", obj, NULL), CS_ERR_INVAL);
	json_decref(arr);
	json_decref(obj);
	cs_store_free(s);

	/* The database itself refuses UPDATE and DELETE on the log. */
	CHECK(raw_sql("audit.db", "UPDATE audit SET time = 0 WHERE seq = 1") != SQLITE_OK);
	CHECK(raw_sql("audit.db", "DELETE FROM audit WHERE seq = 5") != SQLITE_OK);

	/* Hand edits, with the triggers dropped. */
	expect_bad("edit body",
	           "UPDATE audit SET body = replace(body, 'affirming', 'warning')"
	           " WHERE seq = 3",
	           3);
	expect_bad("edit time", "UPDATE audit SET time = time + 1 WHERE seq = 2", 2);
	expect_bad("edit kind", "UPDATE audit SET kind = 'admin' WHERE seq = 4", 4);
	expect_bad("respell body", "UPDATE audit SET body = ' ' || body WHERE seq = 1", 1);
	expect_bad("edit hash", "UPDATE audit SET hash = zeroblob(32) WHERE seq = 5", 5);
	expect_bad("drop middle", "DELETE FROM audit WHERE seq = 3", 3);
	expect_bad("drop first", "DELETE FROM audit WHERE seq = 1", 1);
	expect_bad("drop last", "DELETE FROM audit WHERE seq = 5", 5);
	expect_bad("drop last two and fix head",
	           "DELETE FROM audit WHERE seq >= 4;"
	           " UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit WHERE seq = 3)",
	           4); /* caught by the head's MAC under the master key */
	expect_bad("reorder",
	           "UPDATE audit SET seq = -seq WHERE seq IN (2, 3);"
	           " UPDATE audit SET seq = 3 WHERE seq = -2;"
	           " UPDATE audit SET seq = 2 WHERE seq = -3",
	           2);
	expect_bad("insert in the middle",
	           "UPDATE audit SET seq = seq + 10 WHERE seq >= 3;"
	           " UPDATE audit SET seq = seq - 9 WHERE seq >= 13;"
	           " INSERT INTO audit VALUES (3, 1700000003, 'release', '{}', zeroblob(32))",
	           3);
	expect_bad("append past the head",
	           "INSERT INTO audit VALUES (6, 1700000006, 'release', '{}', zeroblob(32))", 6);
	expect_bad("drop the head", "DELETE FROM audit_head", 1);
	expect_bad("move the head back",
	           "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit WHERE seq = 2)",
	           3);
	expect_bad("forge the head's MAC", "UPDATE audit_head SET mac = zeroblob(32)", 6);

	/* Appending to an intact log after reopening continues the chain. */
	audit_fixture(3);
	s = open_db("audit.db");
	json_t *body = json_object();
	uint64_t seq = 0;
	CHECK_OK(cs_store_audit_append(s, 5, "admin", body, &seq));
	CHECK(seq == 4);
	json_decref(body);
	CHECK_OK(cs_store_audit_verify(s, &count, &bad));
	CHECK(count == 4);
	cs_store_free(s);
}

/* Reads back every value put by rekey_fill; returns how many matched. */
static int
rekey_check(struct cs_store *s)
{
	struct cs_buf b;
	char path[64], want[64];
	int ok = 0;

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	for (int i = 0; i < 5; i++) {
		for (uint64_t v = 1; v <= 2; v++) {
			snprintf(path, sizeof(path), "rk/key/k%d", i);
			snprintf(want, sizeof(want), "value %d.%llu", i, (unsigned long long)v);
			cs_buf_reset(&b);
			if (cs_store_resource_get(s, path, v, &b, NULL) == CS_OK &&
			    b.len == strlen(want) && memcmp(b.p, want, b.len) == 0)
				ok++;
		}
	}
	cs_buf_fini(&b);
	return ok;
}

static void
test_rekey(void)
{
	char url[512], k1[400], k2[400];
	struct cs_store_opts o = {0};
	struct cs_store *s = NULL;
	uint64_t count = 0, bad = 0;
	char val[64];

	path_in(k1, sizeof(k1), "rk1.key");
	path_in(k2, sizeof(k2), "rk2.key");
	snprintf(url, sizeof(url), "sqlite://%s/rk.db", tmpdir);
	o.master_key_path = k1;
	CHECK_OK(cs_store_open(url, &o, &s));
	if (s == NULL)
		return;
	for (int i = 0; i < 5; i++) {
		for (int v = 1; v <= 2; v++) {
			char path[64];
			snprintf(path, sizeof(path), "rk/key/k%d", i);
			snprintf(val, sizeof(val), "value %d.%d", i, v);
			CHECK_OK(cs_store_resource_put(s, path, (const uint8_t *)val, strlen(val),
			                               NULL));
		}
		json_t *body = json_pack("{s:i}", "i", i);
		CHECK_OK(cs_store_audit_append(s, i, "admin", body, NULL));
		json_decref(body);
	}
	CHECK_ERR(cs_store_rekey(s, k1), CS_ERR_INVAL); /* the same key */
	CHECK_OK(cs_store_rekey(s, k2));
	CHECK(rekey_check(s) == 10); /* the open store switched keys */
	CHECK_OK(cs_store_audit_verify(s, &count, &bad));
	CHECK(count == 5);
	CHECK_OK(cs_store_resource_put(s, "rk/key/new", (const uint8_t *)"n", 1, NULL));
	cs_store_free(s);
	s = NULL;

	/* The database now belongs to the new key only. */
	CHECK_ERR(cs_store_open(url, &o, &s), CS_ERR_KEY);
	o.master_key_path = k2;
	CHECK_OK(cs_store_open(url, &o, &s));
	if (s == NULL)
		return;
	CHECK(rekey_check(s) == 10);
	CHECK_OK(cs_store_audit_verify(s, &count, &bad));
	CHECK(count == 5);
	cs_store_free(s);
	s = NULL;

	/* A head forged by hand is not laundered: rotation refuses it and changes nothing. */
	CHECK(raw_sql("rk.db", "UPDATE audit_head SET mac = zeroblob(32)") == SQLITE_OK);
	CHECK_OK(cs_store_open(url, &o, &s));
	if (s == NULL)
		return;
	CHECK_ERR(cs_store_rekey(s, k1), CS_ERR_VERIFY);
	cs_store_free(s);
	s = NULL;
	CHECK_OK(cs_store_open(url, &o, &s)); /* still bound to k2, values intact */
	CHECK(s != NULL && rekey_check(s) == 10);
	cs_store_free(s);
	s = NULL;

	/* A tampered wrapped key fails the rotation as a whole. */
	CHECK(raw_sql("rk.db", "DELETE FROM audit_head") ==
	      SQLITE_OK); /* no head: nothing to MAC */
	CHECK(raw_sql("rk.db", "UPDATE resource SET wdek = x'00' WHERE path = 'rk/key/k3'"
	                       " AND version = 1") == SQLITE_OK);
	CHECK_OK(cs_store_open(url, &o, &s));
	if (s == NULL)
		return;
	CHECK_ERR(cs_store_rekey(s, k1), CS_ERR_DECRYPT);
	CHECK(rekey_check(s) == 9); /* everything but the tampered row still reads under k2 */
	cs_store_free(s);
}

#define THREADS 8
#define PER_THREAD 40

struct worker {
	struct cs_store *s;
	int id;
	int errors;
	int nonce_wins;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct cs_buf b;
	char path[64];
	uint8_t val[1024];

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t ver = 0, got = 0;
		snprintf(path, sizeof(path), "t%d/key/k%d", w->id, i % 5);
		t_fill(val, sizeof(val), (uint32_t)(w->id * 1000 + i));
		if (cs_store_resource_put(w->s, path, val, sizeof(val), &ver) != CS_OK)
			w->errors++;
		if (cs_store_resource_put(w->s, "shared/key/all", val, 16, NULL) != CS_OK)
			w->errors++;
		cs_buf_reset(&b);
		if (cs_store_resource_get(w->s, path, ver, &b, &got) != CS_OK || got != ver ||
		    b.len != sizeof(val) || memcmp(b.p, val, sizeof(val)) != 0)
			w->errors++;
		cs_buf_reset(&b);
		if (cs_store_resource_get(w->s, "shared/key/all", 0, &b, NULL) != CS_OK ||
		    b.len != 16)
			w->errors++;
		json_t *body = json_pack("{s:i,s:i}", "thread", w->id, "i", i);
		if (cs_store_audit_append(w->s, i, "release", body, NULL) != CS_OK)
			w->errors++;
		json_decref(body);
		/* Every thread races on nonce i; in a group commit the losers are undone alone. */
		uint8_t d[16];
		memset(d, i + 1, sizeof(d));
		enum cs_err e = cs_store_nonce_record(w->s, d, sizeof(d), 100);
		if (e == CS_OK)
			w->nonce_wins++;
		else if (e != CS_ERR_EXISTS)
			w->errors++;
	}
	cs_buf_fini(&b);
	return NULL;
}

static void
test_threads(void)
{
	struct cs_store_opts o = {.max_connections = 4};
	struct cs_store *s = NULL;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct cs_store_version *v = NULL;
	size_t n = 0;
	uint64_t count = 0, bad = 0;
	char url[512], p[400];

	path_in(p, sizeof(p), "threads.db");
	snprintf(url, sizeof(url), "sqlite://%s", p);
	CHECK_OK(cs_store_open(url, &o, &s));
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){s, i, 0, 0};
		CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
	}
	int wins = 0;
	for (int i = 0; i < THREADS; i++) {
		CHECK(pthread_join(th[i], NULL) == 0);
		CHECK(w[i].errors == 0);
		wins += w[i].nonce_wins;
	}
	CHECK(wins == PER_THREAD); /* each nonce won exactly once */
	CHECK_OK(cs_store_resource_versions(s, "shared/key/all", &v, &n));
	CHECK(n == THREADS * PER_THREAD);
	for (size_t i = 0; i < n; i++)
		CHECK(v[i].version == i + 1);
	free(v);
	CHECK_OK(cs_store_resource_versions(s, "t3/key/k1", &v, &n));
	CHECK(n == PER_THREAD / 5);
	free(v);
	CHECK_OK(cs_store_audit_verify(s, &count, &bad));
	CHECK(count == THREADS * PER_THREAD);
	cs_store_free(s);
}

static void
cleanup(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_resources);
	T_RUN(test_size_edge);
	T_RUN(test_at_rest);
	T_RUN(test_master_key);
	T_RUN(test_policies);
	T_RUN(test_refvals);
	T_RUN(test_nonces);
	T_RUN(test_audit);
	T_RUN(test_rekey);
	T_RUN(test_threads);
	cleanup();
	return t_done();
}

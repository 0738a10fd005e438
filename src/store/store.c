/*
 * The backend-independent half of the store: URL dispatch, argument validation, the master key
 * file, envelope encryption of resource values, and the audit hash chain.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/secret.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "store/store_impl.h"

#define MKEY_LEN 32
#define SEGMENT_MAX 128
/* Audit times and sequence numbers stay within the integers JSON numbers represent exactly. */
#define JSON_INT_MAX ((int64_t)1 << 53)

struct cs_store {
	const struct cs_store_ops *ops;
	void *be;
	uint8_t *mkey; /* owned, cs_secure_alloc, KEYS_LEN bytes: the master key, then akey */
	uint8_t *akey; /* borrowed from mkey: the audit head MAC key */
};

/* The master key and the audit head key derived from it, in one locked allocation. */
#define KEYS_LEN (MKEY_LEN + CS_STORE_HASH_LEN)
#define AKEY_LABEL "custos-store-audit-head-key-v1"

/* ---- names ---- */

static bool
seg_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* "<repo>/<type>/<tag>": three segments of [A-Za-z0-9_.-]{1,128}, none "." or "..". */
static enum cs_err
check_path(const char *path)
{
	size_t segs = 0, i = 0;

	ENSURE(path != NULL, CS_ERR_PATH);
	for (;;) {
		size_t start = i;
		while (path[i] != '\0' && path[i] != '/') {
			ENSURE(seg_char(path[i]), CS_ERR_PATH);
			i++;
		}
		size_t n = i - start;
		ENSURE(n >= 1 && n <= SEGMENT_MAX, CS_ERR_PATH);
		ENSURE(!(n == 1 && path[start] == '.'), CS_ERR_PATH);
		ENSURE(!(n == 2 && path[start] == '.' && path[start + 1] == '.'), CS_ERR_PATH);
		segs++;
		if (path[i] == '\0')
			break;
		i++; /* the '/' */
	}
	ENSURE(segs == 3, CS_ERR_PATH);
	return CS_OK;
}

/* Policy ids, kinds and reference-value names: 1..CS_STORE_NAME_MAX printable ASCII bytes. */
static enum cs_err
check_name(const char *s)
{
	size_t i;

	ENSURE(s != NULL, CS_ERR_INVAL);
	for (i = 0; s[i] != '\0'; i++) {
		ENSURE(i < CS_STORE_NAME_MAX, CS_ERR_INVAL);
		ENSURE(s[i] >= 0x21 && s[i] <= 0x7e, CS_ERR_INVAL);
	}
	ENSURE(i >= 1, CS_ERR_INVAL);
	return CS_OK;
}

/* Audit kinds are written into the canonical record unescaped, so they are [A-Za-z0-9_.-]. */
static enum cs_err
check_kind(const char *s)
{
	size_t i;

	ENSURE(s != NULL, CS_ERR_INVAL);
	for (i = 0; s[i] != '\0'; i++) {
		ENSURE(i < 64, CS_ERR_INVAL);
		ENSURE(seg_char(s[i]), CS_ERR_INVAL);
	}
	ENSURE(i >= 1, CS_ERR_INVAL);
	return CS_OK;
}

/* ---- the master key file ---- */

static enum cs_err
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum cs_err err = CS_OK;

	ENSURE(fd >= 0, CS_ERR_IO);
	if (fsync(fd) != 0)
		err = CS_ERR_IO;
	close(fd);
	return err;
}

/* The directory part of path ("." when there is none) into dir. */
static enum cs_err
dir_of(const char *path, char dir[PATH_MAX])
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		dir[0] = '.';
		n = 1;
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1; /* "/file" lives in "/" */
		ENSURE(n < PATH_MAX, CS_ERR_IO);
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	return CS_OK;
}

/* Writes the key to fd and makes it durable. */
static enum cs_err
write_key(int fd, const uint8_t *key)
{
	ENSURE(fchmod(fd, 0600) == 0, CS_ERR_IO);
	ENSURE(write(fd, key, MKEY_LEN) == (ssize_t)MKEY_LEN, CS_ERR_IO);
	ENSURE(fsync(fd) == 0, CS_ERR_IO);
	return CS_OK;
}

/*
 * Creates the key file atomically: the 32 bytes are written and fsynced in a file that has no
 * name yet (O_TMPFILE, mode 0600; where the file system lacks it, a temporary name made with
 * O_EXCL), then linked to the final name, which fails if it exists, so two processes racing to
 * create it agree on one key; then the directory is fsynced. A crash leaves no key file or a
 * complete one, never a short one (and, with O_TMPFILE, no stray copy).
 */
static enum cs_err
mkey_create(const char *path)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	uint8_t key[MKEY_LEN];
	int fd = -1, n, linked;
	bool named = false;
	enum cs_err err;

	TRY(dir_of(path, dir));
	n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	ENSURE(n > 0 && (size_t)n < sizeof(tmp), CS_ERR_CONFIG);
	TRY(cs_random(key, sizeof(key)));
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		fd = mkostemp(tmp, O_CLOEXEC); /* O_CREAT | O_EXCL, mode 0600 */
		named = true;
	}
	err = fd >= 0 ? write_key(fd, key) : CS_ERR_IO;
	cs_wipe(key, sizeof(key));
	if (err == CS_OK) {
		if (named) {
			linked = link(tmp, path);
		} else {
			/* Linking an unnamed file by its /proc path needs no privilege. */
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			linked = linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
		}
		if (linked != 0 && errno != EEXIST)
			err = CS_ERR_IO;
	}
	if (err == CS_OK)
		err = fsync_dir(dir);
	if (named && fd >= 0)
		(void)unlink(tmp);
	if (fd >= 0)
		close(fd);
	return err;
}

static enum cs_err
mkey_load(const char *path, uint8_t *key)
{
	struct stat st;
	int fd;
	ssize_t got;
	enum cs_err err = CS_ERR_CONFIG;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_CONFIG;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	/* Refuse a key that anyone but its owner could read or write, or that is not ours. */
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid())
		goto out;
	if (st.st_size != MKEY_LEN)
		goto out;
	got = read(fd, key, MKEY_LEN);
	if (got != MKEY_LEN) {
		cs_wipe(key, MKEY_LEN);
		goto out;
	}
	err = CS_OK;
out:
	close(fd);
	return err;
}

static enum cs_err
mkey_open(const char *path, uint8_t *key)
{
	enum cs_err err = mkey_load(path, key);

	if (err != CS_ERR_NOT_FOUND)
		return err;
	TRY(mkey_create(path));
	return mkey_load(path, key);
}

/* ---- open / free ---- */

static bool
is_postgres(const char *url)
{
	return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

static enum cs_err
open_postgres(const char *url, const struct cs_store_opts *o, const struct cs_store_ops **ops,
              void **be)
{
#ifdef CS_STORE_HAVE_PG
	return cs_store_pg_open(url, o, ops, be);
#else
	(void)url;
	(void)o;
	(void)ops;
	(void)be;
	return CS_ERR_UNSUPPORTED; /* built without libpq */
#endif
}

#define KCV_LABEL "custos-store-key-check-v1"

/* The key check value of a master key, in hex, appended to hex. */
static enum cs_err
key_check(const uint8_t *mkey, struct cs_buf *hex)
{
	uint8_t kcv[CS_STORE_HASH_LEN];
	enum cs_err err;

	err = cs_hmac(CS_SHA256, mkey, MKEY_LEN, (const uint8_t *)KCV_LABEL, sizeof(KCV_LABEL) - 1,
	              kcv);
	if (err == CS_OK)
		err = cs_hex_encode(hex, kcv, sizeof(kcv));
	cs_wipe(kcv, sizeof(kcv));
	return err;
}

/* Derives the audit head key into keys[MKEY_LEN..KEYS_LEN) from the master key before it. */
static enum cs_err
derive_akey(uint8_t *keys)
{
	return cs_hmac(CS_SHA256, keys, MKEY_LEN, (const uint8_t *)AKEY_LABEL,
	               sizeof(AKEY_LABEL) - 1, keys + MKEY_LEN);
}

/*
 * Binds the store to its master key. The database records a check value, HMAC(master key,
 * KCV_LABEL) in hex, when it first meets a key; every later open must present the same key
 * (CS_ERR_KEY otherwise). So a lost or replaced key file is refused at start, before anything is
 * written under a second key, and a missing key file is never silently created anew for a
 * database that already holds data. kp NULL: an ephemeral key (in-memory databases).
 */
static enum cs_err
bind_key(struct cs_store *s, const char *kp)
{
	struct cs_buf stored, mine;
	bool bound;
	enum cs_err err;

	cs_buf_init(&stored, 256);
	cs_buf_init(&mine, 256);
	err = s->ops->meta_get(s->be, "key_check", &stored);
	bound = err == CS_OK;
	if (err != CS_OK && err != CS_ERR_NOT_FOUND)
		goto out;
	if (bound) {
		err = kp != NULL ? mkey_load(kp, s->mkey) : CS_ERR_KEY;
		if (err == CS_ERR_NOT_FOUND)
			err = CS_ERR_KEY; /* the key this database was written under is missing */
	} else {
		err = kp != NULL ? mkey_open(kp, s->mkey) : cs_random(s->mkey, MKEY_LEN);
	}
	if (err == CS_OK)
		err = key_check(s->mkey, &mine);
	if (err == CS_OK && !bound) {
		/* First meeting; of two processes racing here, the first to insert wins. */
		err = s->ops->meta_add(s->be, "key_check", (const char *)mine.p);
		cs_buf_reset(&stored);
		if (err == CS_OK)
			err = s->ops->meta_get(s->be, "key_check", &stored);
	}
	if (err == CS_OK && (stored.len != mine.len || !cs_ct_eq(stored.p, mine.p, mine.len)))
		err = CS_ERR_KEY;
	if (err == CS_OK)
		err = derive_akey(s->mkey);
out:
	cs_buf_fini(&stored);
	cs_buf_fini(&mine);
	return err;
}

enum cs_err
cs_store_open(const char *url, const struct cs_store_opts *opts, struct cs_store **out)
{
	static const char sqlite_scheme[] = "sqlite://";
	struct cs_store_opts o = {0};
	struct cs_store *s = NULL;
	const char *dbpath, *kp;
	char keypath[PATH_MAX];
	enum cs_err err;

	ENSURE(url != NULL && out != NULL, CS_ERR_INVAL);
	*out = NULL;
	if (opts != NULL)
		o = *opts;
	if (strcmp(url, "sqlite::memory:") == 0)
		dbpath = ":memory:";
	else if (strncmp(url, sqlite_scheme, sizeof(sqlite_scheme) - 1) == 0)
		dbpath = url + sizeof(sqlite_scheme) - 1;
	else if (is_postgres(url))
		dbpath = NULL;
	else
		return CS_ERR_UNSUPPORTED;
	ENSURE(dbpath == NULL || dbpath[0] != '\0', CS_ERR_CONFIG);
	/* A server database has no file to put the key beside: it must be named. */
	ENSURE(dbpath != NULL || o.master_key_path != NULL, CS_ERR_CONFIG);
	kp = o.master_key_path;
	if (kp == NULL && strcmp(dbpath, ":memory:") != 0) {
		int n = snprintf(keypath, sizeof(keypath), "%s.master-key", dbpath);
		ENSURE(n > 0 && (size_t)n < sizeof(keypath), CS_ERR_CONFIG);
		kp = keypath;
	}

	s = calloc(1, sizeof(*s));
	ENSURE(s != NULL, CS_ERR_NOMEM);
	s->mkey = cs_secure_alloc(KEYS_LEN);
	err = CS_ERR_NOMEM;
	if (s->mkey == NULL)
		goto fail;
	s->akey = s->mkey + MKEY_LEN;
	if (dbpath == NULL)
		err = open_postgres(url, &o, &s->ops, &s->be);
	else
		err = cs_store_sqlite_open(dbpath, &o, &s->ops, &s->be);
	if (err == CS_OK)
		err = bind_key(s, kp);
	if (err != CS_OK)
		goto fail;
	*out = s;
	return CS_OK;
fail:
	cs_store_free(s);
	return err;
}

void
cs_store_free(struct cs_store *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL)
		s->ops->close(s->be);
	cs_secure_free(s->mkey, KEYS_LEN);
	free(s);
}

/* ---- lists ---- */

enum cs_err
cs_store_list_add(struct cs_store_list *l, const char *str, size_t n)
{
	char **items;
	char *copy;

	ENSURE(l->n < SIZE_MAX / sizeof(char *) - 1, CS_ERR_NOMEM);
	copy = malloc(n + 1);
	ENSURE(copy != NULL, CS_ERR_NOMEM);
	memcpy(copy, str, n);
	copy[n] = '\0';
	items = realloc(l->items, (l->n + 1) * sizeof(char *));
	if (items == NULL) {
		free(copy);
		return CS_ERR_NOMEM;
	}
	l->items = items;
	l->items[l->n++] = copy;
	return CS_OK;
}

void
cs_store_list_fini(struct cs_store_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void
cs_store_policy_fini(struct cs_store_policy *p)
{
	if (p == NULL)
		return;
	free(p->kind);
	free(p->id);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* ---- resources ---- */

/*
 * The GCM additional data: a domain label, the path and the version, so a row copied to another
 * path or version number does not authenticate.
 *   "custos-store-resource-v1" 0x00 | u16be path length | path | u64be version
 */
#define AAD_LABEL "custos-store-resource-v1"
#define AAD_MAX (sizeof(AAD_LABEL) + 2 + CS_STORE_PATH_MAX + 8)

static size_t
res_aad(uint8_t *aad, const char *path, uint64_t version)
{
	size_t plen = strlen(path), off = 0;

	memcpy(aad, AAD_LABEL, sizeof(AAD_LABEL)); /* with its NUL */
	off += sizeof(AAD_LABEL);
	aad[off++] = (uint8_t)(plen >> 8);
	aad[off++] = (uint8_t)plen;
	memcpy(aad + off, path, plen);
	off += plen;
	for (int i = 7; i >= 0; i--)
		aad[off++] = (uint8_t)(version >> (8 * i));
	return off;
}

struct res_seal_ctx {
	const struct cs_store *s;
	const char *path;
	const uint8_t *value;
	size_t len;
	uint8_t *ct; /* owned scratch, len bytes (at least 1) */
};

static enum cs_err
res_seal(void *arg, uint64_t version, struct cs_res_row *row)
{
	struct res_seal_ctx *c = arg;
	uint8_t dek[CS_GCM_KEY_LEN], aad[AAD_MAX];
	size_t aad_len = res_aad(aad, c->path, version);
	enum cs_err err;

	row->alg = CS_STORE_ALG_GCM_KW;
	/* A fresh random key per value, so a random 96-bit IV is never reused under one key. */
	err = cs_random(dek, sizeof(dek));
	if (err == CS_OK)
		err = cs_random(row->iv, sizeof(row->iv));
	if (err == CS_OK)
		err = cs_gcm_seal(dek, row->iv, aad, aad_len, c->value, c->len, c->ct, row->tag);
	if (err == CS_OK)
		err = cs_aes_kw_wrap(c->s->mkey, dek, sizeof(dek), row->wdek);
	cs_wipe(dek, sizeof(dek));
	row->ct = c->ct;
	row->ct_len = c->len;
	return err;
}

enum cs_err
cs_store_resource_put(struct cs_store *s, const char *path, const uint8_t *value, size_t len,
                      uint64_t *version)
{
	struct res_seal_ctx c = {s, path, value, len, NULL};
	uint64_t v = 0;
	enum cs_err err;

	ENSURE(s != NULL, CS_ERR_INVAL);
	TRY(check_path(path));
	ENSURE(value != NULL || len == 0, CS_ERR_INVAL);
	ENSURE(len <= CS_STORE_VALUE_MAX, CS_ERR_TOO_LARGE);
	c.ct = malloc(len > 0 ? len : 1);
	ENSURE(c.ct != NULL, CS_ERR_NOMEM);
	err = s->ops->res_put(s->be, path, cs_clock_now(), res_seal, &c, &v);
	free(c.ct); /* ciphertext: nothing to wipe */
	if (err == CS_OK && version != NULL)
		*version = v;
	return err;
}

enum cs_err
cs_store_resource_get(struct cs_store *s, const char *path, uint64_t version, struct cs_buf *out,
                      uint64_t *got)
{
	struct cs_res_row row = {0};
	uint8_t dek[CS_GCM_KEY_LEN], aad[AAD_MAX];
	uint8_t *pt = NULL;
	size_t aad_len;
	enum cs_err err;

	ENSURE(s != NULL && out != NULL, CS_ERR_INVAL);
	TRY(check_path(path));
	TRY(s->ops->res_get(s->be, path, version, &row));
	err = CS_ERR_DECRYPT;
	if (row.alg != CS_STORE_ALG_GCM_KW || row.ct_len > CS_STORE_VALUE_MAX)
		goto out;
	if (version != 0 && row.version != version)
		goto out;
	err = cs_aes_kw_unwrap(s->mkey, row.wdek, sizeof(row.wdek), dek);
	if (err != CS_OK)
		goto out;
	aad_len = res_aad(aad, path, row.version);
	/* Decrypt straight into out's storage; cs_gcm_open wipes it if the tag does not verify. */
	err = cs_buf_extend(out, row.ct_len, &pt);
	if (err != CS_OK)
		goto out;
	err = cs_gcm_open(dek, row.iv, aad, aad_len, row.ct, row.ct_len, row.tag, pt);
	if (err != CS_OK) {
		out->len -= row.ct_len; /* give back the (wiped) bytes */
		goto out;
	}
	if (got != NULL)
		*got = row.version;
out:
	cs_wipe(dek, sizeof(dek));
	free(row.ct);
	return err;
}

enum cs_err
cs_store_resource_versions(struct cs_store *s, const char *path, struct cs_store_version **out,
                           size_t *n)
{
	ENSURE(s != NULL && out != NULL && n != NULL, CS_ERR_INVAL);
	*out = NULL;
	*n = 0;
	TRY(check_path(path));
	return s->ops->res_versions(s->be, path, out, n);
}

enum cs_err
cs_store_resource_delete(struct cs_store *s, const char *path)
{
	ENSURE(s != NULL, CS_ERR_INVAL);
	TRY(check_path(path));
	return s->ops->res_delete(s->be, path);
}

enum cs_err
cs_store_resource_list(struct cs_store *s, const char *prefix, struct cs_store_list *out)
{
	ENSURE(s != NULL && out != NULL, CS_ERR_INVAL);
	out->items = NULL;
	out->n = 0;
	ENSURE(prefix == NULL || strlen(prefix) <= CS_STORE_PATH_MAX, CS_ERR_PATH);
	return s->ops->res_list(s->be, prefix != NULL ? prefix : "", out);
}

/* ---- policies ---- */

enum cs_err
cs_store_policy_put(struct cs_store *s, const char *kind, const char *id, const uint8_t *text,
                    size_t len, uint64_t *version)
{
	uint64_t v = 0;

	ENSURE(s != NULL && text != NULL, CS_ERR_INVAL);
	TRY(check_name(kind));
	TRY(check_name(id));
	ENSURE(len >= 1, CS_ERR_INVAL);
	ENSURE(len <= CS_STORE_VALUE_MAX, CS_ERR_TOO_LARGE);
	TRY(s->ops->pol_put(s->be, kind, id, text, len, cs_clock_now(), &v));
	if (version != NULL)
		*version = v;
	return CS_OK;
}

enum cs_err
cs_store_policy_get(struct cs_store *s, const char *kind, const char *id, uint64_t version,
                    struct cs_store_policy *out)
{
	ENSURE(s != NULL && out != NULL, CS_ERR_INVAL);
	memset(out, 0, sizeof(*out));
	TRY(check_name(kind));
	TRY(check_name(id));
	return s->ops->pol_get(s->be, kind, id, version, out);
}

enum cs_err
cs_store_policy_list(struct cs_store *s, const char *kind, struct cs_store_list *out)
{
	ENSURE(s != NULL && out != NULL, CS_ERR_INVAL);
	out->items = NULL;
	out->n = 0;
	TRY(check_name(kind));
	return s->ops->pol_list(s->be, kind, out);
}

enum cs_err
cs_store_policy_versions(struct cs_store *s, const char *kind, const char *id,
                         struct cs_store_version **out, size_t *n)
{
	ENSURE(s != NULL && out != NULL && n != NULL, CS_ERR_INVAL);
	*out = NULL;
	*n = 0;
	TRY(check_name(kind));
	TRY(check_name(id));
	return s->ops->pol_versions(s->be, kind, id, out, n);
}

enum cs_err
cs_store_policy_delete(struct cs_store *s, const char *kind, const char *id)
{
	ENSURE(s != NULL, CS_ERR_INVAL);
	TRY(check_name(kind));
	TRY(check_name(id));
	return s->ops->pol_delete(s->be, kind, id);
}

/* ---- reference values ---- */

enum cs_err
cs_store_refval_put(struct cs_store *s, const char *name, const json_t *value, int64_t expires)
{
	struct cs_buf b;
	enum cs_err err;

	ENSURE(s != NULL && value != NULL, CS_ERR_INVAL);
	TRY(check_name(name));
	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	err = cs_jcs(&b, value);
	if (err == CS_OK)
		err = s->ops->rv_put(s->be, name, b.p, b.len, expires, cs_clock_now());
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_store_refval_get(struct cs_store *s, const char *name, int64_t now, json_t **value,
                    int64_t *expires)
{
	struct cs_buf b;
	int64_t exp = 0;
	enum cs_err err;

	ENSURE(s != NULL && value != NULL, CS_ERR_INVAL);
	*value = NULL;
	TRY(check_name(name));
	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	err = s->ops->rv_get(s->be, name, &b, &exp);
	if (err == CS_OK && exp <= now)
		err = CS_ERR_EXPIRED;
	if (err == CS_OK)
		err = cs_json_parse(b.p, b.len, CS_STORE_VALUE_MAX, value);
	if (err == CS_OK && expires != NULL)
		*expires = exp;
	cs_buf_fini(&b);
	return err;
}

enum cs_err
cs_store_refval_list(struct cs_store *s, int64_t now, struct cs_store_list *out)
{
	ENSURE(s != NULL && out != NULL, CS_ERR_INVAL);
	out->items = NULL;
	out->n = 0;
	return s->ops->rv_list(s->be, now, out);
}

enum cs_err
cs_store_refval_delete(struct cs_store *s, const char *name)
{
	ENSURE(s != NULL, CS_ERR_INVAL);
	TRY(check_name(name));
	return s->ops->rv_delete(s->be, name);
}

/* ---- nonces ---- */

enum cs_err
cs_store_nonce_record(struct cs_store *s, const uint8_t *digest, size_t len, int64_t expires)
{
	ENSURE(s != NULL && digest != NULL, CS_ERR_INVAL);
	ENSURE(len >= 1 && len <= 64, CS_ERR_INVAL);
	return s->ops->nonce_record(s->be, digest, len, expires);
}

enum cs_err
cs_store_nonce_purge(struct cs_store *s, int64_t now, uint64_t *purged)
{
	uint64_t n = 0;

	ENSURE(s != NULL, CS_ERR_INVAL);
	TRY(s->ops->nonce_purge(s->be, now, &n));
	if (purged != NULL)
		*purged = n;
	return CS_OK;
}

/* ---- the audit log ---- */

/*
 * The canonical bytes of a record: the JCS form of {"body","kind","seq","time"}. The body is
 * stored in its JCS form and the kind needs no escaping (check_kind), so the canonical object is
 * assembled by concatenation: members in JCS order (ASCII names sort as UTF-16), integers in
 * decimal. A body edited into a different spelling of the same JSON therefore breaks the chain too.
 */
static enum cs_err
audit_canon(struct cs_buf *b, uint64_t seq, int64_t time, const char *kind, size_t kind_len,
            const char *body, size_t body_len)
{
	TRY(cs_buf_append_str(b, "{\"body\":"));
	TRY(cs_buf_append(b, body, body_len));
	TRY(cs_buf_append_str(b, ",\"kind\":\""));
	TRY(cs_buf_append(b, kind, kind_len));
	TRY(cs_buf_printf(b, "\",\"seq\":%" PRIu64 ",\"time\":%" PRId64 "}", seq, time));
	return CS_OK;
}

static enum cs_err
audit_hash(const uint8_t prev[CS_STORE_HASH_LEN], uint64_t seq, int64_t time, const char *kind,
           size_t kind_len, const char *body, size_t body_len, uint8_t out[CS_STORE_HASH_LEN])
{
	struct cs_buf b;
	struct cs_hash_ctx h;
	enum cs_err err;

	cs_buf_init(&b, CS_STORE_VALUE_MAX + 256);
	err = audit_canon(&b, seq, time, kind, kind_len, body, body_len);
	if (err == CS_OK)
		err = cs_hash_init(&h, CS_SHA256);
	if (err == CS_OK) {
		err = cs_hash_update(&h, prev, CS_STORE_HASH_LEN);
		if (err == CS_OK)
			err = cs_hash_update(&h, b.p, b.len);
		if (err == CS_OK)
			err = cs_hash_final(&h, out);
		cs_hash_fini(&h);
	}
	cs_buf_fini(&b);
	return err;
}

/*
 * The chain head (last seq and hash) carries an HMAC-SHA256 under a key derived from the master
 * key: the hash chain alone cannot tell a log cut short with its head rewritten to match from an
 * honest shorter log; the MAC can, unless the whole database is rolled back to an older copy.
 *   mac = HMAC(akey, "custos-audit-head-v1" 0x00 | u64be seq | hash)
 */
static enum cs_err
head_mac(const uint8_t *akey, uint64_t seq, const uint8_t hash[CS_STORE_HASH_LEN],
         uint8_t mac[CS_STORE_HASH_LEN])
{
	static const char label[] = "custos-audit-head-v1";
	uint8_t msg[sizeof(label) + 8 + CS_STORE_HASH_LEN];

	memcpy(msg, label, sizeof(label));
	for (int i = 0; i < 8; i++)
		msg[sizeof(label) + (size_t)i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(msg + sizeof(label) + 8, hash, CS_STORE_HASH_LEN);
	return cs_hmac(CS_SHA256, akey, CS_STORE_HASH_LEN, msg, sizeof(msg), mac);
}

struct audit_append_ctx {
	const struct cs_store *s;
	int64_t time;
	const char *kind;
	const struct cs_buf *body;
};

static enum cs_err
audit_chain(void *arg, uint64_t seq, const uint8_t prev[CS_STORE_HASH_LEN],
            uint8_t hash[CS_STORE_HASH_LEN], uint8_t mac[CS_STORE_HASH_LEN])
{
	struct audit_append_ctx *c = arg;

	ENSURE(seq < (uint64_t)JSON_INT_MAX, CS_ERR_TOO_LARGE);
	TRY(audit_hash(prev, seq, c->time, c->kind, strlen(c->kind), (const char *)c->body->p,
	               c->body->len, hash));
	return head_mac(c->s->akey, seq, hash, mac);
}

enum cs_err
cs_store_audit_append(struct cs_store *s, int64_t time, const char *kind, const json_t *body,
                      uint64_t *seq)
{
	struct cs_buf b;
	struct audit_append_ctx c = {s, time, kind, &b};
	uint64_t n = 0;
	enum cs_err err;

	ENSURE(s != NULL && body != NULL && json_is_object(body), CS_ERR_INVAL);
	ENSURE(time > -JSON_INT_MAX && time < JSON_INT_MAX, CS_ERR_INVAL);
	TRY(check_kind(kind));
	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	err = cs_jcs(&b, body);
	if (err == CS_OK)
		err = s->ops->audit_append(s->be, time, kind, (const char *)b.p, b.len, audit_chain,
		                           &c, &n);
	cs_buf_fini(&b);
	if (err == CS_OK && seq != NULL)
		*seq = n;
	return err;
}

void
cs_audit_recs_free(struct cs_audit_rec *recs, size_t n)
{
	if (recs == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(recs[i].kind);
		free(recs[i].body);
	}
	free(recs);
}

static char *
dup_n(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

struct audit_list_ctx {
	struct cs_audit_rec *recs;
	size_t n, cap, max;
};

static enum cs_err
audit_list_row(void *arg, const struct cs_audit_row *r)
{
	struct audit_list_ctx *c = arg;
	struct cs_audit_rec *rec;

	if (c->n == c->max)
		return CS_ERR_STATE; /* enough: stops the iteration */
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cs_audit_rec *nr = realloc(c->recs, cap * sizeof(*nr));
		ENSURE(nr != NULL, CS_ERR_NOMEM);
		c->recs = nr;
		c->cap = cap;
	}
	rec = &c->recs[c->n];
	memset(rec, 0, sizeof(*rec));
	rec->seq = r->seq;
	rec->time = r->time;
	if (r->hash_len == CS_STORE_HASH_LEN)
		memcpy(rec->hash, r->hash, CS_STORE_HASH_LEN);
	rec->kind = dup_n(r->kind, r->kind_len);
	rec->body = dup_n(r->body, r->body_len);
	rec->body_len = r->body_len;
	c->n++;
	ENSURE(rec->kind != NULL && rec->body != NULL, CS_ERR_NOMEM);
	return CS_OK;
}

enum cs_err
cs_store_audit_list(struct cs_store *s, uint64_t from, size_t max, struct cs_audit_rec **recs,
                    size_t *n)
{
	struct audit_list_ctx c = {NULL, 0, 0, max};
	enum cs_err err;

	ENSURE(s != NULL && recs != NULL && n != NULL, CS_ERR_INVAL);
	*recs = NULL;
	*n = 0;
	ENSURE(max <= 1u << 20, CS_ERR_TOO_LARGE);
	if (max == 0)
		return CS_OK;
	err = s->ops->audit_iter(s->be, from, 0, audit_list_row, &c, NULL, NULL, NULL);
	if (err == CS_ERR_STATE && c.n == c.max)
		err = CS_OK;
	if (err != CS_OK) {
		cs_audit_recs_free(c.recs, c.n);
		return err;
	}
	*recs = c.recs;
	*n = c.n;
	return CS_OK;
}

static enum cs_err
audit_export_row(void *arg, const struct cs_audit_row *r)
{
	struct cs_buf *out = arg;
	size_t mark = out->len;
	enum cs_err err;

	err = cs_buf_append_str(out, "{\"body\":");
	if (err == CS_OK)
		err = cs_buf_append(out, r->body, r->body_len);
	if (err == CS_OK)
		err = cs_buf_append_str(out, ",\"hash\":\"");
	if (err == CS_OK)
		err = cs_hex_encode(out, r->hash, r->hash_len);
	if (err == CS_OK)
		err = cs_buf_append_str(out, "\",\"kind\":\"");
	if (err == CS_OK)
		err = cs_buf_append(out, r->kind, r->kind_len);
	if (err == CS_OK)
		err = cs_buf_printf(out, "\",\"seq\":%" PRIu64 ",\"time\":%" PRId64 "}\n", r->seq,
		                    r->time);
	if (err != CS_OK)
		out->len = mark; /* whole lines only */
	return err;
}

enum cs_err
cs_store_audit_export(struct cs_store *s, uint64_t from, uint64_t to, struct cs_buf *out)
{
	ENSURE(s != NULL && out != NULL, CS_ERR_INVAL);
	return s->ops->audit_iter(s->be, from, to, audit_export_row, out, NULL, NULL, NULL);
}

struct audit_verify_ctx {
	uint64_t expect;                 /* the next seq */
	uint8_t prev[CS_STORE_HASH_LEN]; /* hash_{expect-1} as recomputed */
	uint64_t bad;                    /* first bad seq, 0 while intact */
};

static enum cs_err
audit_verify_row(void *arg, const struct cs_audit_row *r)
{
	struct audit_verify_ctx *c = arg;
	uint8_t h[CS_STORE_HASH_LEN];

	/* A gap (dropped record) or a seq out of order breaks the chain at the expected seq. */
	if (r->seq != c->expect || r->hash_len != CS_STORE_HASH_LEN) {
		c->bad = c->expect;
		return CS_ERR_VERIFY;
	}
	TRY(audit_hash(c->prev, r->seq, r->time, r->kind, r->kind_len, r->body, r->body_len, h));
	if (!cs_ct_eq(h, r->hash, CS_STORE_HASH_LEN)) {
		c->bad = r->seq;
		return CS_ERR_VERIFY;
	}
	memcpy(c->prev, h, sizeof(h));
	c->expect++;
	return CS_OK;
}

enum cs_err
cs_store_audit_verify(struct cs_store *s, uint64_t *count, uint64_t *bad_seq)
{
	struct audit_verify_ctx c = {1, {0}, 0};
	uint64_t head_seq = 0;
	uint8_t head_hash[CS_STORE_HASH_LEN], mac[CS_STORE_HASH_LEN], want[CS_STORE_HASH_LEN];
	enum cs_err err = CS_ERR_VERIFY; /* default deny */

	ENSURE(s != NULL, CS_ERR_INVAL);
	if (count != NULL)
		*count = 0;
	if (bad_seq != NULL)
		*bad_seq = 0;
	err = s->ops->audit_iter(s->be, 1, 0, audit_verify_row, &c, &head_seq, head_hash, mac);
	if (err == CS_OK && c.expect > 1)
		err = head_mac(s->akey, head_seq, head_hash, want);
	if (err == CS_OK) {
		err = CS_ERR_VERIFY;
		/* The head names the last record: records dropped from the end break here. */
		if (head_seq != c.expect - 1 || !cs_ct_eq(head_hash, c.prev, sizeof(c.prev)))
			c.bad = (head_seq < c.expect - 1 ? head_seq : c.expect - 1) + 1;
		else if (c.expect > 1 && !cs_ct_eq(mac, want, sizeof(mac)))
			c.bad = c.expect; /* a head rewritten without the key */
		else
			err = CS_OK; /* the only line that grants success */
	}
	if (err == CS_OK && count != NULL)
		*count = c.expect - 1;
	if (err == CS_ERR_VERIFY && bad_seq != NULL)
		*bad_seq = c.bad;
	return err;
}

/* ---- master key rotation ---- */

struct rekey_ctx {
	const uint8_t *old; /* KEYS_LEN: master key, audit head key */
	const uint8_t *new;
};

static enum cs_err
rewrap(void *arg, const uint8_t in[CS_STORE_WDEK_LEN], uint8_t out[CS_STORE_WDEK_LEN])
{
	struct rekey_ctx *c = arg;
	uint8_t dek[CS_GCM_KEY_LEN];
	enum cs_err err;

	err = cs_aes_kw_unwrap(c->old, in, CS_STORE_WDEK_LEN, dek);
	if (err == CS_OK)
		err = cs_aes_kw_wrap(c->new, dek, sizeof(dek), out);
	cs_wipe(dek, sizeof(dek));
	return err;
}

static enum cs_err
remac(void *arg, uint64_t seq, const uint8_t hash[CS_STORE_HASH_LEN],
      const uint8_t mac[CS_STORE_HASH_LEN], uint8_t out[CS_STORE_HASH_LEN])
{
	struct rekey_ctx *c = arg;
	uint8_t want[CS_STORE_HASH_LEN];

	/* Never re-authenticate a head that the old key does not vouch for. */
	TRY(head_mac(c->old + MKEY_LEN, seq, hash, want));
	ENSURE(cs_ct_eq(want, mac, sizeof(want)), CS_ERR_VERIFY);
	return head_mac(c->new + MKEY_LEN, seq, hash, out);
}

enum cs_err
cs_store_rekey(struct cs_store *s, const char *new_key_path)
{
	static const struct cs_rekey_fns fns = {rewrap, remac};
	uint8_t *nk = NULL;
	struct cs_buf kcv;
	struct rekey_ctx c;
	enum cs_err err;

	ENSURE(s != NULL && new_key_path != NULL, CS_ERR_INVAL);
	nk = cs_secure_alloc(KEYS_LEN);
	ENSURE(nk != NULL, CS_ERR_NOMEM);
	cs_buf_init(&kcv, 256);
	err = mkey_open(new_key_path, nk);
	if (err == CS_OK && cs_ct_eq(nk, s->mkey, MKEY_LEN))
		err = CS_ERR_INVAL; /* the same key: nothing would change */
	if (err == CS_OK)
		err = derive_akey(nk);
	if (err == CS_OK)
		err = key_check(nk, &kcv);
	if (err == CS_OK) {
		c = (struct rekey_ctx){s->mkey, nk};
		err = s->ops->rekey(s->be, &fns, &c, (const char *)kcv.p);
	}
	if (err == CS_OK)
		memcpy(s->mkey, nk, KEYS_LEN); /* s->akey points into it */
	cs_secure_free(nk, KEYS_LEN);
	cs_buf_fini(&kcv);
	return err;
}

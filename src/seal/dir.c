/* Sealed model directories (docs/sealed-format.md §5). */
#define _XOPEN_SOURCE 700
#include "seal/dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/secret.h"
#include "crypto/hash.h"
#include "crypto/rand.h"

#define DEPTH_MAX 16

struct names {
	char **v;
	size_t n, cap;
};

static void
names_fini(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static enum cs_err
names_add(struct names *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		ENSURE(v != NULL, CS_ERR_NOMEM);
		l->v = v;
		l->cap = cap;
	}
	ENSURE(l->n < CS_SEAL_MANIFEST_FILES_MAX, CS_ERR_TOO_LARGE);
	l->v[l->n] = strdup(s);
	ENSURE(l->v[l->n] != NULL, CS_ERR_NOMEM);
	l->n++;
	return CS_OK;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a" + "/" + "b" into an owned string, or just b when a is empty. */
static char *
join(const char *a, const char *b)
{
	struct cs_buf buf;

	cs_buf_init(&buf, 2 * 4096);
	if ((a[0] != '\0' && cs_buf_printf(&buf, "%s/", a) != CS_OK) ||
	    cs_buf_append_str(&buf, b) != CS_OK) {
		cs_buf_fini(&buf);
		return NULL;
	}
	return (char *)cs_buf_take(&buf, NULL);
}

/* Lists the regular files under root/rel (following links), as relative paths. The manifest at
 * the top is skipped when skip_manifest. */
static enum cs_err
walk(const char *root, const char *rel, int depth, bool skip_manifest, struct names *out)
{
	enum cs_err err = CS_OK;
	char *dir_path;
	DIR *d;
	struct dirent *e;

	ENSURE(depth <= DEPTH_MAX, CS_ERR_TOO_LARGE);
	dir_path = join(root, rel);
	ENSURE(dir_path != NULL, CS_ERR_NOMEM);
	d = opendir(dir_path);
	if (d == NULL) {
		err = errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO;
		free(dir_path);
		return err;
	}
	while (err == CS_OK && (e = readdir(d)) != NULL) {
		char *r, *full;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (skip_manifest && rel[0] == '\0' &&
		    strcmp(e->d_name, CS_SEAL_MANIFEST_NAME) == 0)
			continue;
		r = join(rel, e->d_name);
		full = r != NULL ? join(root, r) : NULL;
		if (full == NULL)
			err = CS_ERR_NOMEM;
		else if (stat(full, &st) != 0)
			err = CS_ERR_IO;
		else if (cs_seal_path_check(r, strlen(r)) != CS_OK)
			err = CS_ERR_PATH;
		else if (S_ISDIR(st.st_mode))
			err = walk(root, r, depth + 1, skip_manifest, out);
		else if (S_ISREG(st.st_mode))
			err = names_add(out, r);
		else
			err = CS_ERR_UNSUPPORTED;
		free(r);
		free(full);
	}
	closedir(d);
	free(dir_path);
	return err;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes a tree this module created (never follows links). */
static void
rm_tree(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the parent directories of rel under root. */
static enum cs_err
make_parents(const char *root, const char *rel, mode_t mode)
{
	char *full = join(root, rel);
	enum cs_err err = CS_OK;

	ENSURE(full != NULL, CS_ERR_NOMEM);
	for (char *p = full + strlen(root) + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(full, mode) != 0 && errno != EEXIST)
			err = CS_ERR_IO;
		*p = '/';
		if (err != CS_OK)
			break;
	}
	free(full);
	return err;
}

static enum cs_err
read_small(const char *path, size_t max, uint8_t **out, size_t *len)
{
	enum cs_err err = CS_ERR_IO;
	struct stat st;
	uint8_t *p = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ENSURE(fd >= 0, errno == ENOENT ? CS_ERR_MANIFEST : CS_ERR_IO);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	err = CS_ERR_TOO_LARGE;
	if ((uint64_t)st.st_size > max)
		goto out;
	err = CS_ERR_NOMEM;
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	err = CS_ERR_IO;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	*out = p;
	*len = got;
	p = NULL;
	err = CS_OK;
out:
	free(p);
	close(fd);
	return err;
}

static enum cs_err
write_file(const char *path, const uint8_t *p, size_t n, mode_t mode)
{
	enum cs_err err = CS_ERR_IO;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ENSURE(fd >= 0, CS_ERR_IO);
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	err = CS_OK;
out:
	close(fd);
	return err;
}

/* Seals (key_id != NULL) or unseals root_in/rel to root_out/rel, creating parents. */
static enum cs_err
one_file(const char *root_in, const char *root_out, const char *rel, mode_t fmode, mode_t dmode,
         const uint8_t kek[CS_SEAL_KEY_LEN], const char *key_id, const struct cs_seal_opts *o,
         struct cs_seal_result *res)
{
	char *src = join(root_in, rel), *dst = join(root_out, rel);
	enum cs_err err = CS_ERR_NOMEM;
	int in = -1, out = -1;

	if (src == NULL || dst == NULL)
		goto out;
	if ((err = make_parents(root_out, rel, dmode)) != CS_OK)
		goto out;
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fmode);
	err = CS_ERR_IO;
	if (in < 0 || out < 0)
		goto out;
	err = key_id != NULL ? cs_seal_stream(in, out, kek, key_id, o, res)
	                     : cs_unseal_stream(in, out, kek, o, res);
	if (err == CS_OK && fsync(out) != 0)
		err = CS_ERR_IO;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(src);
	free(dst);
	return err;
}

int
cs_seal_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

enum cs_err
cs_seal_dir(const char *in_dir, const char *out_dir, const uint8_t kek[CS_SEAL_KEY_LEN],
            const char *key_id, const struct cs_seal_opts *opts)
{
	enum cs_err err;
	struct names files = {0};
	struct cs_seal_manifest m;
	struct cs_seal_opts o = opts != NULL ? *opts : (struct cs_seal_opts){0};
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	char *mpath = NULL;
	bool created = false;

	ENSURE(in_dir != NULL && out_dir != NULL && kek != NULL && key_id != NULL, CS_ERR_INVAL);
	cs_seal_manifest_init(&m);
	if ((err = cs_seal_key_id_check(key_id, strlen(key_id))) != CS_OK)
		goto out;
	if ((err = walk(in_dir, "", 0, false, &files)) != CS_OK)
		goto out;
	qsort(files.v, files.n, sizeof(*files.v), str_cmp);
	err = CS_ERR_EXISTS;
	if (mkdir(out_dir, 0755) != 0)
		goto out;
	created = true;
	err = CS_ERR_NOMEM;
	if (files.n > 0 && (m.entries = calloc(files.n, sizeof(*m.entries))) == NULL)
		goto out;
	o.want_sha256 = 1;
	for (size_t i = 0; i < files.n; i++) {
		struct cs_seal_result res;

		if ((err = one_file(in_dir, out_dir, files.v[i], 0644, 0755, kek, key_id, &o,
		                    &res)) != CS_OK)
			goto out;
		m.entries[i].name = files.v[i];
		files.v[i] = NULL;
		m.n = i + 1;
		m.entries[i].plaintext_len = res.plaintext_len;
		memcpy(m.entries[i].plaintext_sha256, res.plaintext_sha256, 32);
		memcpy(m.entries[i].header_sha256, res.header_sha256, 32);
	}
	memcpy(m.key_id, key_id, strlen(key_id) + 1);
	if ((err = cs_random(m.salt, sizeof(m.salt))) != CS_OK ||
	    (err = cs_seal_manifest_encode(&m, kek, &enc, &enc_len)) != CS_OK)
		goto out;
	err = CS_ERR_NOMEM;
	if ((mpath = join(out_dir, CS_SEAL_MANIFEST_NAME)) == NULL)
		goto out;
	err = write_file(mpath, enc, enc_len, 0644);
out:
	if (err != CS_OK && created)
		rm_tree(out_dir);
	free(mpath);
	free(enc);
	cs_seal_manifest_fini(&m);
	names_fini(&files);
	return err;
}

struct cs_seal_dir {
	char *path;
	uint8_t *kek; /* locked copy, to open the listed files */
	struct cs_seal_manifest m;
};

void
cs_seal_dir_close(struct cs_seal_dir *d)
{
	if (d == NULL)
		return;
	cs_seal_manifest_fini(&d->m);
	cs_secure_free(d->kek, CS_SEAL_KEY_LEN);
	free(d->path);
	free(d);
}

const struct cs_seal_manifest *
cs_seal_dir_manifest(const struct cs_seal_dir *d)
{
	return &d->m;
}

/* Reads a sealed file's raw header and checks digest and length against its entry. */
static enum cs_err
check_entry(const char *dir, const struct cs_seal_entry *e)
{
	enum cs_err err = CS_ERR_MANIFEST;
	struct cs_seal_header h;
	uint8_t raw[CS_SEAL_HEADER_LEN], dig[32];
	char *path = join(dir, e->name);
	struct stat st;
	ssize_t r;
	int fd;

	ENSURE(path != NULL, CS_ERR_NOMEM);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	ENSURE(fd >= 0, CS_ERR_MANIFEST);
	r = pread(fd, raw, sizeof(raw), 0);
	if (r != (ssize_t)sizeof(raw) || fstat(fd, &st) != 0)
		goto out;
	if (cs_hash(CS_SHA256, raw, sizeof(raw), dig) != CS_OK || memcmp(dig, e->header_sha256, 32))
		goto out;
	if (cs_seal_header_parse(raw, sizeof(raw), &h) != CS_OK ||
	    h.plaintext_len != e->plaintext_len || (uint64_t)st.st_size != cs_seal_sealed_len(&h))
		goto out;
	err = CS_OK;
out:
	close(fd);
	return err;
}

enum cs_err
cs_seal_dir_open(const char *dir, const uint8_t kek[CS_SEAL_KEY_LEN], struct cs_seal_dir **out)
{
	enum cs_err err;
	struct cs_seal_dir *d;
	struct names files = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	char *mpath;

	ENSURE(dir != NULL && kek != NULL && out != NULL, CS_ERR_INVAL);
	*out = NULL;
	d = calloc(1, sizeof(*d));
	ENSURE(d != NULL, CS_ERR_NOMEM);
	cs_seal_manifest_init(&d->m);
	err = CS_ERR_NOMEM;
	if ((d->kek = cs_secure_alloc(CS_SEAL_KEY_LEN)) == NULL ||
	    (d->path = strdup(dir)) == NULL || (mpath = join(dir, CS_SEAL_MANIFEST_NAME)) == NULL)
		goto out;
	memcpy(d->kek, kek, CS_SEAL_KEY_LEN);
	err = read_small(mpath, CS_SEAL_MANIFEST_MAX, &buf, &len);
	free(mpath);
	if (err != CS_OK)
		goto out;
	/* Authenticate, then parse: the parser is fuzzed, but nothing forged reaches it here. */
	if ((err = cs_seal_manifest_verify(buf, len, kek)) != CS_OK ||
	    (err = cs_seal_manifest_parse(buf, len, &d->m)) != CS_OK)
		goto out;
	/* Exactly the listed files: none added, none dropped. */
	if ((err = walk(dir, "", 0, true, &files)) != CS_OK)
		goto out;
	qsort(files.v, files.n, sizeof(*files.v), str_cmp);
	err = CS_ERR_MANIFEST;
	if (files.n != d->m.n)
		goto out;
	for (size_t i = 0; i < files.n; i++)
		if (strcmp(files.v[i], d->m.entries[i].name) != 0)
			goto out;
	/* None swapped: each header is the one the manifest recorded. */
	for (size_t i = 0; i < d->m.n; i++)
		if ((err = check_entry(dir, &d->m.entries[i])) != CS_OK)
			goto out;
	*out = d;
	d = NULL;
	err = CS_OK;
out:
	free(buf);
	names_fini(&files);
	cs_seal_dir_close(d);
	return err;
}

enum cs_err
cs_seal_dir_file(struct cs_seal_dir *d, const char *name, struct cs_seal_file **out)
{
	enum cs_err err;
	const struct cs_seal_entry *e;
	struct cs_seal_file *f = NULL;
	uint8_t dig[32];
	char *path;

	ENSURE(d != NULL && name != NULL && out != NULL, CS_ERR_INVAL);
	*out = NULL;
	e = cs_seal_manifest_find(&d->m, name);
	ENSURE(e != NULL, CS_ERR_NOT_FOUND);
	path = join(d->path, name);
	ENSURE(path != NULL, CS_ERR_NOMEM);
	err = cs_seal_file_open(path, d->kek, &f);
	free(path);
	TRY(err);
	cs_seal_file_header_sha256(f, dig);
	if (memcmp(dig, e->header_sha256, 32) != 0 ||
	    cs_seal_file_header(f)->plaintext_len != e->plaintext_len) {
		cs_seal_file_close(f);
		return CS_ERR_MANIFEST;
	}
	*out = f;
	return CS_OK;
}

enum cs_err
cs_unseal_dir(const char *in_dir, const char *out_dir, const uint8_t kek[CS_SEAL_KEY_LEN],
              const struct cs_seal_opts *opts)
{
	enum cs_err err;
	struct cs_seal_dir *d = NULL;
	struct cs_seal_opts o = opts != NULL ? *opts : (struct cs_seal_opts){0};
	bool created = false;

	ENSURE(in_dir != NULL && out_dir != NULL && kek != NULL, CS_ERR_INVAL);
	TRY(cs_seal_dir_open(in_dir, kek, &d));
	err = CS_ERR_EXISTS;
	if (mkdir(out_dir, 0700) != 0)
		goto out;
	created = true;
	o.want_sha256 = 1;
	for (size_t i = 0; i < d->m.n; i++) {
		const struct cs_seal_entry *e = &d->m.entries[i];
		struct cs_seal_result res;

		if ((err = one_file(in_dir, out_dir, e->name, 0600, 0700, kek, NULL, &o, &res)) !=
		    CS_OK)
			goto out;
		/* The manifest binds the header and the plaintext: both must match. */
		err = CS_ERR_MANIFEST;
		if (memcmp(res.header_sha256, e->header_sha256, 32) != 0 ||
		    memcmp(res.plaintext_sha256, e->plaintext_sha256, 32) != 0 ||
		    res.plaintext_len != e->plaintext_len)
			goto out;
	}
	err = CS_OK;
out:
	if (err != CS_OK && created)
		rm_tree(out_dir);
	cs_seal_dir_close(d);
	return err;
}

/* Writes a 512-byte header at offset 0 of dir/name and makes it durable. */
static enum cs_err
put_header(const char *dir, const char *name, const uint8_t hdr[CS_SEAL_HEADER_LEN])
{
	char *path = join(dir, name);
	enum cs_err err = CS_ERR_IO;
	int fd;

	ENSURE(path != NULL, CS_ERR_NOMEM);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	free(path);
	ENSURE(fd >= 0, CS_ERR_IO);
	if (pwrite(fd, hdr, CS_SEAL_HEADER_LEN, 0) == (ssize_t)CS_SEAL_HEADER_LEN && fsync(fd) == 0)
		err = CS_OK;
	close(fd);
	return err;
}

/*
 * Reads dir/name's header, checks it is still the one the manifest recorded (the file may have
 * been replaced since cs_seal_dir_open), keeps it in old and computes its rewrapped form in hdr.
 */
static enum cs_err
rewrap_one(const char *dir, const struct cs_seal_entry *e, const uint8_t old_kek[CS_SEAL_KEY_LEN],
           const uint8_t new_kek[CS_SEAL_KEY_LEN], const char *new_key_id,
           uint8_t old[CS_SEAL_HEADER_LEN], uint8_t hdr[CS_SEAL_HEADER_LEN])
{
	char *path = join(dir, e->name);
	enum cs_err err = CS_ERR_MANIFEST;
	uint8_t dig[32];
	int fd;

	ENSURE(path != NULL, CS_ERR_NOMEM);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	ENSURE(fd >= 0, CS_ERR_IO);
	if (pread(fd, old, CS_SEAL_HEADER_LEN, 0) != (ssize_t)CS_SEAL_HEADER_LEN ||
	    cs_hash(CS_SHA256, old, CS_SEAL_HEADER_LEN, dig) != CS_OK ||
	    memcmp(dig, e->header_sha256, 32) != 0)
		goto out;
	err = cs_seal_rewrap_fd(fd, old_kek, new_kek, new_key_id, hdr);
out:
	close(fd);
	return err;
}

enum cs_err
cs_seal_dir_rewrap(const char *dir, const uint8_t old_kek[CS_SEAL_KEY_LEN],
                   const uint8_t new_kek[CS_SEAL_KEY_LEN], const char *new_key_id)
{
	enum cs_err err;
	struct cs_seal_dir *d = NULL;
	uint8_t *enc = NULL, *hdrs = NULL; /* per entry: the old header, then the new one */
	size_t enc_len = 0, touched = 0;   /* headers that may differ from their old bytes */
	char *mpath = NULL, *tmp = NULL;
	bool tmp_made = false;

	ENSURE(dir != NULL && old_kek != NULL && new_kek != NULL && new_key_id != NULL,
	       CS_ERR_INVAL);
	TRY(cs_seal_key_id_check(new_key_id, strlen(new_key_id)));
	TRY(cs_seal_dir_open(dir, old_kek, &d));
	err = CS_ERR_NOMEM;
	if (d->m.n > 0 && (hdrs = malloc(d->m.n * 2 * CS_SEAL_HEADER_LEN)) == NULL)
		goto out;
	/* 1. Every new header, in memory: nothing on disk changes if any file fails. */
	for (size_t i = 0; i < d->m.n; i++) {
		struct cs_seal_entry *e = &d->m.entries[i];
		uint8_t *old = hdrs + 2 * i * CS_SEAL_HEADER_LEN, *hdr = old + CS_SEAL_HEADER_LEN;

		if ((err = rewrap_one(dir, e, old_kek, new_kek, new_key_id, old, hdr)) != CS_OK ||
		    (err = cs_hash(CS_SHA256, hdr, CS_SEAL_HEADER_LEN, e->header_sha256)) != CS_OK)
			goto out;
	}
	/* 2. The new manifest, in memory. */
	memcpy(d->m.key_id, new_key_id, strlen(new_key_id) + 1);
	if ((err = cs_random(d->m.salt, sizeof(d->m.salt))) != CS_OK ||
	    (err = cs_seal_manifest_encode(&d->m, new_kek, &enc, &enc_len)) != CS_OK)
		goto out;
	err = CS_ERR_NOMEM;
	if ((mpath = join(dir, CS_SEAL_MANIFEST_NAME)) == NULL ||
	    (tmp = join(dir, CS_SEAL_MANIFEST_NAME ".tmp")) == NULL)
		goto out;
	/* 3. The headers, then 4. the manifest by write-to-temporary and rename. A failure puts
	 * the old headers back, so the directory still opens under the old KEK. */
	for (size_t i = 0; i < d->m.n; i++) {
		touched = i + 1; /* one that fails may be half-written */
		if ((err = put_header(dir, d->m.entries[i].name,
		                      hdrs + (2 * i + 1) * CS_SEAL_HEADER_LEN)) != CS_OK)
			goto out;
	}
	tmp_made = true;
	if ((err = write_file(tmp, enc, enc_len, 0644)) != CS_OK)
		goto out;
	err = CS_ERR_IO;
	if (rename(tmp, mpath) != 0)
		goto out;
	tmp_made = false;
	err = CS_OK;
out:
	for (size_t i = 0; err != CS_OK && i < touched; i++)
		(void)put_header(dir, d->m.entries[i].name, hdrs + 2 * i * CS_SEAL_HEADER_LEN);
	if (tmp_made)
		unlink(tmp);
	free(mpath);
	free(tmp);
	free(enc);
	free(hdrs);
	cs_seal_dir_close(d);
	return err;
}

/*
 * custos seal | unseal | inspect | reseal: sealed model files and directories
 * (docs/sealed-format.md). Outputs go to a temporary file beside the target that is renamed
 * into place only on success, so an error or an interrupt never leaves a partial output; `-`
 * means standard input or output where the format allows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent/rcar.h"
#include "base/buf.h"
#include "base/secret.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "custos.h"
#include "seal/dir.h"
#include "seal/kserve.h"
#include "seal/seal.h"
#include "tee/tee.h"

#define RESOURCE_MAX 4096 /* bytes of a key resource accepted from an agent or KBS */

struct opts {
	const char *out;
	const char *key_id;
	const char *new_key_id;
	const char *kek_file;
	const char *new_kek_file;
	const char *agent;
	const char *kbs;
	const char *admin_key;
	const char *cacert;
	const char *tee;
	const char *jwe_key;
	unsigned threads;
	unsigned chunk_log2;
	bool force;
	bool quiet;
};

/* ---- exit status ---- */

/* 1 for a negative verdict on the data (tampered, wrong key, refused), 2 for usage and I/O. */
static int
status_of(enum cs_err e)
{
	switch (e) {
	case CS_OK:
		return 0;
	case CS_ERR_DECRYPT:
	case CS_ERR_WRONG_KEY:
	case CS_ERR_SEAL_HEADER:
	case CS_ERR_MANIFEST:
	case CS_ERR_TRUNCATED:
	case CS_ERR_TRAILING:
	case CS_ERR_RESERVED:
	case CS_ERR_LENGTH:
	case CS_ERR_TOO_LARGE:
	case CS_ERR_UNSUPPORTED:
	case CS_ERR_ENCODING:
	case CS_ERR_DENIED:
	case CS_ERR_ALG:
	case CS_ERR_PROTOCOL:
		return 1;
	default:
		return 2;
	}
}

static int
fail(const char *cmd, const char *what, enum cs_err e)
{
	fprintf(stderr, "custos %s: %s: %s (%s)\n", cmd, what, cs_err_str(e), cs_err_name(e));
	return status_of(e);
}

/* ---- temporary outputs, removed on error and on SIGINT/SIGTERM ---- */

static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_live;

static void
on_signal(int sig)
{
	if (tmp_live)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

struct out {
	const char *final; /* NULL for stdout */
	int fd;
};

static enum cs_err
out_open(struct out *o, const char *path, bool force)
{
	const char *slash;
	int n;

	o->fd = -1;
	o->final = NULL;
	if (strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		return CS_OK;
	}
	ENSURE(force || access(path, F_OK) != 0, CS_ERR_EXISTS);
	slash = strrchr(path, '/');
	if (slash == NULL)
		n = snprintf(tmp_path, sizeof(tmp_path), ".%s.custos-XXXXXX", path);
	else
		n = snprintf(tmp_path, sizeof(tmp_path), "%.*s/.%s.custos-XXXXXX",
		             (int)(slash - path), path, slash + 1);
	ENSURE(n > 0 && (size_t)n < sizeof(tmp_path), CS_ERR_PATH);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	o->fd = mkstemp(tmp_path);
	ENSURE(o->fd >= 0, CS_ERR_IO);
	tmp_live = 1;
	o->final = path;
	return CS_OK;
}

/* Publishes the output on success, removes it otherwise. */
static enum cs_err
out_close(struct out *o, enum cs_err err, bool force)
{
	if (o->final == NULL)
		return err;
	if (err == CS_OK && fsync(o->fd) != 0)
		err = CS_ERR_IO;
	close(o->fd);
	if (err == CS_OK) {
		if (force)
			err = rename(tmp_path, o->final) == 0 ? CS_OK : CS_ERR_IO;
		else /* link(2) fails rather than replace a file that appeared meanwhile */
			err = link(tmp_path, o->final) == 0 ? CS_OK
			      : errno == EEXIST             ? CS_ERR_EXISTS
			                                    : CS_ERR_IO;
		if (!force || err != CS_OK)
			unlink(tmp_path);
	} else {
		unlink(tmp_path);
	}
	tmp_live = 0;
	return err;
}

/* ---- progress ---- */

struct progress {
	const char *label;
	struct timespec last;
	bool on;
	bool drawn;
};

static void
progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	struct timespec now;
	char bar[31];
	int fill;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->drawn && done != total &&
	    (now.tv_sec - p->last.tv_sec) * 1000000000L + (now.tv_nsec - p->last.tv_nsec) <
	            100000000L)
		return;
	p->last = now;
	p->drawn = true;
	if (total == 0) {
		fprintf(stderr, "\r%s %.2f GiB", p->label, (double)done / (1 << 30));
		return;
	}
	fill = (int)(30 * (double)done / (double)total);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(30 - fill));
	bar[30] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%% %.2f/%.2f GiB", p->label, bar,
	        (int)(100 * (double)done / (double)total), (double)done / (1 << 30),
	        (double)total / (1 << 30));
}

static void
progress_end(struct progress *p)
{
	if (p->on && p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
}

static void
progress_init(struct progress *p, const char *label, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->on = !quiet && isatty(STDERR_FILENO);
}

/* ---- keys ---- */

/* Reads a small file (at most max bytes) into locked memory. */
static enum cs_err
read_secret_file(const char *path, uint8_t *dst, size_t max, size_t *len)
{
	enum cs_err err = CS_ERR_IO;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ENSURE(fd >= 0, errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO);
	for (;;) {
		ssize_t r = read(fd, dst + got, max - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		got += (size_t)r;
		err = CS_ERR_KEY;
		if (got == max)
			goto out;
	}
	*len = got;
	err = CS_OK;
out:
	close(fd);
	return err;
}

/* A KEK file holds exactly the 32 raw key bytes, as the KBS resource does. */
static enum cs_err
read_kek(const char *path, uint8_t kek[32])
{
	uint8_t *tmp = cs_secure_alloc(RESOURCE_MAX);
	size_t n = 0;
	enum cs_err err;

	ENSURE(tmp != NULL, CS_ERR_NOMEM);
	err = read_secret_file(path, tmp, RESOURCE_MAX, &n);
	if (err == CS_OK && n != 32)
		err = CS_ERR_KEY;
	if (err == CS_OK)
		memcpy(kek, tmp, 32);
	cs_secure_free(tmp, RESOURCE_MAX);
	return err;
}

/* "kbs:///repo/type/tag" -> "repo/type/tag" (borrowed from uri). */
static enum cs_err
resource_path(const char *uri, const char **path)
{
	static const char prefix[] = "kbs:///";

	ENSURE(uri != NULL && strncmp(uri, prefix, sizeof(prefix) - 1) == 0, CS_ERR_PATH);
	*path = uri + sizeof(prefix) - 1;
	return cs_rcar_check_path(*path);
}

struct body {
	uint8_t *p; /* locked, RESOURCE_MAX */
	size_t n;
	bool over;
};

static size_t
body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > RESOURCE_MAX - b->n) {
		b->over = true;
		return 0;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	return n;
}

/*
 * GET <agent>/cdh/resource/<repo>/<type>/<tag> from a running custos-agent (or guest-components'
 * api-server-rest): the resource's raw bytes, into locked memory res (RESOURCE_MAX).
 */
static enum cs_err
agent_fetch(const char *agent, const char *key_id, uint8_t *res, size_t *len)
{
	enum cs_err err;
	struct cs_buf url;
	struct body b = {.p = res};
	const char *path;
	CURL *c;
	long status = 0;

	TRY(resource_path(key_id, &path));
	cs_buf_init(&url, 4096);
	if ((err = cs_buf_printf(&url, "%s/cdh/resource/%s", agent, path)) != CS_OK) {
		cs_buf_fini(&url);
		return err;
	}
	c = curl_easy_init();
	if (c == NULL) {
		cs_buf_fini(&url);
		return CS_ERR_NOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, (const char *)url.p);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	err = CS_ERR_NETWORK;
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
		err = status == 200                    ? CS_OK
		      : status == 404                  ? CS_ERR_NOT_FOUND
		      : status == 403 || status == 401 ? CS_ERR_DENIED
		                                       : CS_ERR_PROTOCOL;
	if (b.over)
		err = CS_ERR_TOO_LARGE;
	curl_easy_cleanup(c);
	cs_buf_fini(&url);
	*len = b.n;
	if (err != CS_OK)
		cs_wipe(res, RESOURCE_MAX);
	return err;
}

/* Attests to the KBS directly (this machine's TEE) and fetches the resource. */
static enum cs_err
kbs_fetch(const struct opts *o, const char *key_id, uint8_t *res, size_t *len)
{
	enum cs_err err;
	struct cs_rcar_cfg cfg = {0};
	struct cs_rcar *r = NULL;
	struct cs_buf out;
	const char *path;

	TRY(resource_path(key_id, &path));
	cfg.kbs_url = o->kbs;
	cfg.tee = o->tee != NULL ? cs_tee_find(o->tee) : cs_tee_detect();
	cfg.http.ca_file = o->cacert;
	ENSURE(cfg.tee != NULL, CS_ERR_NO_TEE);
	TRY(cs_rcar_new(&cfg, &r));
	cs_buf_init(&out, RESOURCE_MAX);
	err = cs_rcar_get_resource(r, path, &out);
	if (err != CS_OK && cs_rcar_detail(r)[0] != '\0')
		fprintf(stderr, "custos: KBS: %s\n", cs_rcar_detail(r));
	if (err == CS_OK) {
		memcpy(res, out.p, out.len);
		*len = out.len;
	}
	cs_buf_fini(&out); /* wipes */
	cs_rcar_free(r);
	return err;
}

/*
 * The key resource for key_id by whichever means the options name: --kek FILE, --agent URL or
 * --kbs URL. res is locked memory of RESOURCE_MAX bytes.
 */
static enum cs_err
get_resource(const struct opts *o, const char *kek_file, const char *key_id, uint8_t *res,
             size_t *len)
{
	if (kek_file != NULL)
		return read_secret_file(kek_file, res, RESOURCE_MAX, len);
	if (o->agent != NULL)
		return agent_fetch(o->agent, key_id, res, len);
	if (o->kbs != NULL)
		return kbs_fetch(o, key_id, res, len);
	return CS_ERR_INVAL;
}

static enum cs_err
get_kek(const struct opts *o, const char *kek_file, const char *key_id, uint8_t kek[32])
{
	uint8_t *res = cs_secure_alloc(RESOURCE_MAX);
	size_t n = 0;
	enum cs_err err;

	ENSURE(res != NULL, CS_ERR_NOMEM);
	err = get_resource(o, kek_file, key_id, res, &n);
	if (err == CS_OK && n != 32)
		err = CS_ERR_KEY;
	if (err == CS_OK)
		memcpy(kek, res, 32);
	cs_secure_free(res, RESOURCE_MAX);
	return err;
}

/*
 * Stores a fresh KEK on the KBS as the resource key_id through `custos admin resource put`,
 * handing it over a pipe (/dev/fd/N) so that it never touches a file.
 */
static enum cs_err
kbs_store_kek(const struct opts *o, const uint8_t kek[32])
{
	const char *path;
	char fdpath[32], rpath[512];
	int p[2], rc;

	TRY(resource_path(o->key_id, &path));
	ENSURE(strlen(path) < sizeof(rpath), CS_ERR_PATH);
	memcpy(rpath, path, strlen(path) + 1);
	ENSURE(pipe(p) == 0, CS_ERR_IO);
	if (write(p[1], kek, 32) != 32) {
		close(p[0]);
		close(p[1]);
		return CS_ERR_IO;
	}
	close(p[1]);
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", p[0]);
	{
		char *argv[] = {"admin",    "--kbs", (char *)o->kbs, "--key", (char *)o->admin_key,
		                "resource", "put",   rpath,          fdpath,  NULL};
		int argc = 9;
		if (o->admin_key == NULL) { /* a development broker without admin auth */
			argv[3] = "resource";
			argv[4] = "put";
			argv[5] = rpath;
			argv[6] = fdpath;
			argv[7] = NULL;
			argc = 7;
		}
		rc = cs_cmd_admin(argc, argv);
	}
	close(p[0]);
	return rc == 0 ? CS_OK : rc == 1 ? CS_ERR_DENIED : CS_ERR_NETWORK;
}

/* ---- option parsing ---- */

enum {
	O_KEY_ID = 256,
	O_NEW_KEY_ID,
	O_KEK,
	O_NEW_KEK,
	O_AGENT,
	O_KBS,
	O_ADMIN_KEY,
	O_CACERT,
	O_TEE,
	O_JWE_KEY,
	O_THREADS,
	O_CHUNK,
	O_FORCE,
};

static const struct option long_opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"key-id", required_argument, NULL, O_KEY_ID},
        {"new-key-id", required_argument, NULL, O_NEW_KEY_ID},
        {"kek", required_argument, NULL, O_KEK},
        {"new-kek", required_argument, NULL, O_NEW_KEK},
        {"agent", required_argument, NULL, O_AGENT},
        {"kbs", required_argument, NULL, O_KBS},
        {"admin-key", required_argument, NULL, O_ADMIN_KEY},
        {"cacert", required_argument, NULL, O_CACERT},
        {"tee", required_argument, NULL, O_TEE},
        {"jwe-key", required_argument, NULL, O_JWE_KEY},
        {"threads", required_argument, NULL, O_THREADS},
        {"chunk-size", required_argument, NULL, O_CHUNK},
        {"force", no_argument, NULL, O_FORCE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static const char usage_text[] =
        "usage: custos seal IN -o OUT --key-id URI (--kek FILE | --kbs URL [--admin-key FILE])\n"
        "                  [--jwe-key FILE] [--chunk-size BYTES] [--threads N] [--force] [-q]\n"
        "       custos unseal IN -o OUT (--kek FILE | --agent URL | --kbs URL [--tee NAME])\n"
        "                  [--key-id URI] [--threads N] [--force] [-q]\n"
        "       custos inspect PATH [--kek FILE]\n"
        "       custos reseal IN [-o OUT] --kek FILE --new-kek FILE --new-key-id URI\n"
        "\n"
        "IN and OUT are files or directories (a Hugging Face model directory is sealed file by\n"
        "file with a MAC'd manifest). `-` is standard input (seal, unseal) or output (seal from a\n"
        "regular file, unseal). A KEK file holds exactly 32 raw bytes; URI is "
        "kbs:///REPO/TYPE/TAG.\n"
        "seal --kbs generates the KEK and stores it on the KBS as the resource URI names.\n"
        "unseal --agent asks a custos-agent's CDH API (e.g. http://127.0.0.1:8006); --kbs attests\n"
        "directly. seal --jwe-key FILE reads IN as a KServe compact JWE (dir/A256GCM) with that\n"
        "key (JWK, base64url or raw) and seals its plaintext; unseal reads such a JWE too.\n"
        "reseal rewrites only headers (in place, or a copy with -o): the chunks stay "
        "byte-identical.\n"
        "exit status: 0 ok, 1 verification failed or refused, 2 usage or I/O error\n";

static int
usage(int rc)
{
	fputs(usage_text, rc == 0 ? stdout : stderr);
	return rc;
}

/* Parses options; returns the index of the first operand, or -1 (usage printed, *rc set). */
static int
parse(int argc, char **argv, struct opts *o, int *rc)
{
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:qh", long_opts, NULL)) != -1) {
		char *end;
		unsigned long v;
		switch (ch) {
		case 'o':
			o->out = optarg;
			break;
		case O_KEY_ID:
			o->key_id = optarg;
			break;
		case O_NEW_KEY_ID:
			o->new_key_id = optarg;
			break;
		case O_KEK:
			o->kek_file = optarg;
			break;
		case O_NEW_KEK:
			o->new_kek_file = optarg;
			break;
		case O_AGENT:
			o->agent = optarg;
			break;
		case O_KBS:
			o->kbs = optarg;
			break;
		case O_ADMIN_KEY:
			o->admin_key = optarg;
			break;
		case O_CACERT:
			o->cacert = optarg;
			break;
		case O_TEE:
			o->tee = optarg;
			break;
		case O_JWE_KEY:
			o->jwe_key = optarg;
			break;
		case O_FORCE:
			o->force = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case O_THREADS:
			v = strtoul(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 256) {
				fprintf(stderr, "custos: --threads: 1..256\n");
				*rc = 2;
				return -1;
			}
			o->threads = (unsigned)v;
			break;
		case O_CHUNK:
			v = strtoul(optarg, &end, 10);
			o->chunk_log2 = 0;
			while (o->chunk_log2 < 63 && (1ul << o->chunk_log2) < v)
				o->chunk_log2++;
			if (*end != '\0' || (1ul << o->chunk_log2) != v ||
			    o->chunk_log2 < CS_SEAL_CHUNK_LOG2_MIN ||
			    o->chunk_log2 > CS_SEAL_CHUNK_LOG2_MAX) {
				fprintf(stderr,
				        "custos: --chunk-size: a power of two, 4096..2^30\n");
				*rc = 2;
				return -1;
			}
			break;
		case 'h':
			*rc = usage(0);
			return -1;
		default:
			*rc = usage(2);
			return -1;
		}
	}
	return optind;
}

static int
one_key_source(const struct opts *o)
{
	return (o->kek_file != NULL) + (o->agent != NULL) + (o->kbs != NULL);
}

static int
open_in(const char *path)
{
	return strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
}

/* Reads all of fd (a JWE file) into owned memory, bounded by max. */
static enum cs_err
slurp_fd(int fd, uint64_t max, struct cs_buf *out)
{
	uint8_t tmp[1 << 16];

	cs_buf_init(out, (size_t)max);
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		ENSURE(r >= 0, CS_ERR_IO);
		if (r == 0)
			return CS_OK;
		TRY(cs_buf_append(out, tmp, (size_t)r));
	}
}

/* KServe JWE (whole file in memory) -> a memfd holding its plaintext, positioned at 0. */
static enum cs_err
jwe_to_memfd(int in, const uint8_t *res, size_t res_len, int *out_fd)
{
	enum cs_err err;
	struct cs_buf jwe;
	uint8_t key[32];
	void *pt = NULL;
	size_t n = 0;
	int fd = -1;

	if ((err = slurp_fd(in, CS_KSERVE_JWE_MAX, &jwe)) != CS_OK)
		goto out;
	if ((err = cs_kserve_key(res, res_len, key)) != CS_OK ||
	    (err = cs_kserve_jwe_decrypt(jwe.p, jwe.len, key, &pt, &n)) != CS_OK)
		goto out;
	err = CS_ERR_IO;
	fd = memfd_create("custos-jwe-plaintext", MFD_CLOEXEC);
	if (fd < 0)
		goto out;
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, (uint8_t *)pt + off, n - off);
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		goto out;
	*out_fd = fd;
	fd = -1;
	err = CS_OK;
out:
	if (fd >= 0)
		close(fd);
	cs_wipe(key, sizeof(key));
	cs_seal_unmap(pt, n);
	cs_buf_fini(&jwe);
	return err;
}

/* ---- seal ---- */

int
cs_cmd_seal(int argc, char **argv)
{
	struct opts o;
	struct progress pr;
	struct cs_seal_opts so = {0};
	struct cs_seal_result res;
	struct out out = {.fd = -1};
	uint8_t *kek = NULL, *jres = NULL;
	enum cs_err err;
	const char *in_path, *what = "seal";
	int rc = 2, first, in = -1;

	if ((first = parse(argc, argv, &o, &rc)) < 0)
		return rc;
	if (argc - first != 1 || o.out == NULL || o.key_id == NULL || o.agent != NULL ||
	    (o.kek_file != NULL) + (o.kbs != NULL) != 1 || (o.admin_key != NULL && o.kbs == NULL))
		return usage(2);
	in_path = argv[first];
	if (strcmp(in_path, "-") == 0 && strcmp(o.out, "-") == 0) {
		/* The header holds the length: it is known up front only for a file, or written
		 * last into a seekable output. */
		fprintf(stderr, "custos seal: from standard input, -o must name a file\n");
		return 2;
	}
	if ((err = cs_seal_key_id_check(o.key_id, strlen(o.key_id))) != CS_OK) {
		(void)fail("seal", "--key-id", err);
		return 2;
	}
	kek = cs_secure_alloc(32);
	if (kek == NULL)
		return fail("seal", "memory", CS_ERR_NOMEM);
	if (o.kek_file != NULL) {
		if ((err = read_kek(o.kek_file, kek)) != CS_OK) {
			what = o.kek_file;
			goto done;
		}
	} else {
		/* A new KEK, stored on the KBS before anything is sealed under it. */
		if ((err = cs_random(kek, 32)) != CS_OK ||
		    (err = kbs_store_kek(&o, kek)) != CS_OK) {
			what = "storing the KEK on the KBS";
			goto done;
		}
	}
	progress_init(&pr, "sealing", o.quiet);
	so.threads = o.threads;
	so.chunk_log2 = o.chunk_log2;
	so.progress = progress_cb;
	so.progress_arg = &pr;
	if (strcmp(in_path, "-") != 0 && cs_seal_is_dir(in_path)) {
		what = in_path;
		err = CS_ERR_INVAL;
		if (o.jwe_key == NULL && strcmp(o.out, "-") != 0)
			err = cs_seal_dir(in_path, o.out, kek, o.key_id, &so);
		progress_end(&pr);
		goto done;
	}
	what = in_path;
	if ((in = open_in(in_path)) < 0) {
		err = errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO;
		goto done;
	}
	if (o.jwe_key != NULL) {
		size_t n = 0;
		int pt_fd = -1;
		jres = cs_secure_alloc(RESOURCE_MAX);
		err = jres == NULL ? CS_ERR_NOMEM
		                   : read_secret_file(o.jwe_key, jres, RESOURCE_MAX, &n);
		if (err == CS_OK)
			err = jwe_to_memfd(in, jres, n, &pt_fd);
		if (err != CS_OK)
			goto done;
		close(in);
		in = pt_fd;
	}
	what = o.out;
	if ((err = out_open(&out, o.out, o.force)) != CS_OK)
		goto done;
	err = cs_seal_stream(in, out.fd, kek, o.key_id, &so, &res);
	progress_end(&pr);
	err = out_close(&out, err, o.force);
	what = in_path;
done:
	if (in >= 0)
		close(in);
	cs_secure_free(kek, 32);
	cs_secure_free(jres, RESOURCE_MAX);
	return err == CS_OK ? 0 : fail("seal", what, err);
}

/* ---- unseal ---- */

/* The key id a sealed file or directory names (unauthenticated: only to know what to fetch). */
static enum cs_err
peek_key_id(const char *path, bool is_dir, char *key_id, size_t cap)
{
	enum cs_err err = CS_ERR_IO;
	uint8_t raw[CS_SEAL_HEADER_LEN];
	struct cs_seal_header h;

	if (is_dir) {
		struct cs_seal_manifest m;
		struct cs_buf b;
		char mp[PATH_MAX];
		int fd;
		snprintf(mp, sizeof(mp), "%s/%s", path, CS_SEAL_MANIFEST_NAME);
		fd = open(mp, O_RDONLY | O_CLOEXEC);
		ENSURE(fd >= 0, CS_ERR_MANIFEST);
		err = slurp_fd(fd, CS_SEAL_MANIFEST_MAX, &b);
		close(fd);
		cs_seal_manifest_init(&m);
		if (err == CS_OK)
			err = cs_seal_manifest_parse(b.p, b.len, &m);
		if (err == CS_OK)
			snprintf(key_id, cap, "%s", m.key_id);
		cs_seal_manifest_fini(&m);
		cs_buf_fini(&b);
		return err;
	}
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ENSURE(fd >= 0, errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO);
		if (pread(fd, raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			err = CS_ERR_TRUNCATED;
		else
			err = cs_seal_header_parse(raw, sizeof(raw), &h);
		close(fd);
	}
	if (err == CS_OK)
		snprintf(key_id, cap, "%s", h.key_id);
	return err;
}

int
cs_cmd_unseal(int argc, char **argv)
{
	struct opts o;
	struct progress pr;
	struct cs_seal_opts so = {0};
	struct cs_seal_result res;
	struct out out = {.fd = -1};
	uint8_t *kek = NULL, head[3] = {0};
	char key_id[CS_SEAL_KEY_ID_MAX + 1] = "";
	enum cs_err err;
	const char *in_path, *what;
	bool is_dir, from_stdin, is_jwe = false, refused = false;
	int rc = 2, first, in = -1;

	if ((first = parse(argc, argv, &o, &rc)) < 0)
		return rc;
	if (argc - first != 1 || o.out == NULL || one_key_source(&o) != 1 || o.admin_key != NULL)
		return usage(2);
	in_path = argv[first];
	what = in_path;
	from_stdin = strcmp(in_path, "-") == 0;
	is_dir = !from_stdin && cs_seal_is_dir(in_path);
	kek = cs_secure_alloc(RESOURCE_MAX);
	if (kek == NULL)
		return fail("unseal", "memory", CS_ERR_NOMEM);
	if (!from_stdin && !is_dir) {
		int fd = open(in_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			is_jwe = pread(fd, head, 3, 0) == 3 && cs_kserve_is_jwe(head, 3);
			close(fd);
		}
	}
	/* Which resource to ask for: --key-id, else what the file names. A JWE names none. */
	if (o.key_id != NULL) {
		snprintf(key_id, sizeof(key_id), "%s", o.key_id);
	} else if (o.kek_file == NULL) {
		err = CS_ERR_INVAL;
		if (from_stdin || is_jwe) {
			fprintf(stderr,
			        "custos unseal: --key-id is needed with --agent/--kbs here\n");
			goto done;
		}
		if ((err = peek_key_id(in_path, is_dir, key_id, sizeof(key_id))) != CS_OK)
			goto done;
	}
	progress_init(&pr, "unsealing", o.quiet);
	so.threads = o.threads;
	so.progress = progress_cb;
	so.progress_arg = &pr;
	if (is_jwe) {
		size_t n = 0;
		int pt_fd = -1;
		if ((err = get_resource(&o, o.kek_file, key_id, kek, &n)) != CS_OK) {
			what = "key";
			refused = o.kek_file == NULL &&
			          (err == CS_ERR_NOT_FOUND || err == CS_ERR_DENIED);
			goto done;
		}
		if ((in = open_in(in_path)) < 0 ||
		    (err = jwe_to_memfd(in, kek, n, &pt_fd)) != CS_OK) {
			err = in < 0 ? CS_ERR_IO : err;
			goto done;
		}
		close(in);
		in = pt_fd;
		what = o.out;
		if ((err = out_open(&out, o.out, o.force)) != CS_OK)
			goto done;
		err = CS_OK;
		uint8_t buf[1 << 16]; /* plaintext: wiped below */
		for (;;) {
			ssize_t r = read(in, buf, sizeof(buf));
			if (r <= 0) {
				err = r < 0 ? CS_ERR_IO : err;
				break;
			}
			if (write(out.fd, buf, (size_t)r) != r) {
				err = CS_ERR_IO;
				break;
			}
		}
		cs_wipe(buf, sizeof(buf));
		err = out_close(&out, err, o.force);
		goto done;
	}
	if ((err = get_kek(&o, o.kek_file, key_id, kek)) != CS_OK) {
		what = o.kek_file != NULL ? o.kek_file : "fetching the KEK";
		/* The broker or agent holding no such key, or refusing it, is a negative verdict.
		 */
		refused = o.kek_file == NULL && (err == CS_ERR_NOT_FOUND || err == CS_ERR_DENIED);
		goto done;
	}
	if (is_dir) {
		err = CS_ERR_INVAL;
		if (strcmp(o.out, "-") != 0)
			err = cs_unseal_dir(in_path, o.out, kek, &so);
		progress_end(&pr);
		goto done;
	}
	if ((in = open_in(in_path)) < 0) {
		err = errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO;
		goto done;
	}
	if ((err = out_open(&out, o.out, o.force)) != CS_OK) {
		what = o.out;
		goto done;
	}
	err = cs_unseal_stream(in, out.fd, kek, &so, &res);
	progress_end(&pr);
	err = out_close(&out, err, o.force);
done:
	if (in >= 0)
		close(in);
	cs_secure_free(kek, RESOURCE_MAX);
	if (err == CS_OK)
		return 0;
	rc = fail("unseal", what, err);
	return refused ? 1 : rc;
}

/* ---- inspect ---- */

static void
print_hex(const char *label, const uint8_t *p, size_t n)
{
	printf("%-16s ", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int
inspect_dir(const char *path, const struct opts *o)
{
	char key_id[CS_SEAL_KEY_ID_MAX + 1];
	struct cs_seal_manifest m;
	struct cs_buf b;
	char mp[PATH_MAX];
	enum cs_err err;
	int fd;

	snprintf(mp, sizeof(mp), "%s/%s", path, CS_SEAL_MANIFEST_NAME);
	fd = open(mp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("inspect", path, CS_ERR_MANIFEST);
	err = slurp_fd(fd, CS_SEAL_MANIFEST_MAX, &b);
	close(fd);
	cs_seal_manifest_init(&m);
	if (err == CS_OK)
		err = cs_seal_manifest_parse(b.p, b.len, &m);
	if (err != CS_OK) {
		cs_buf_fini(&b);
		return fail("inspect", mp, err);
	}
	printf("format           custos sealed directory, manifest v1\n");
	printf("key id           %s\n", m.key_id);
	printf("files            %zu\n", m.n);
	for (size_t i = 0; i < m.n; i++) {
		printf("  %-40s %12llu bytes  sha256 ", m.entries[i].name,
		       (unsigned long long)m.entries[i].plaintext_len);
		for (int k = 0; k < 32; k++)
			printf("%02x", m.entries[i].plaintext_sha256[k]);
		printf("\n");
	}
	snprintf(key_id, sizeof(key_id), "%s", m.key_id);
	cs_seal_manifest_fini(&m);
	cs_buf_fini(&b);
	if (o->kek_file != NULL) {
		uint8_t *kek = cs_secure_alloc(32);
		struct cs_seal_dir *d = NULL;
		err = kek == NULL ? CS_ERR_NOMEM : read_kek(o->kek_file, kek);
		if (err == CS_OK)
			err = cs_seal_dir_open(path, kek, &d);
		cs_seal_dir_close(d);
		cs_secure_free(kek, 32);
		printf("verified         %s\n",
		       err == CS_OK ? "yes: manifest MAC, file set, headers" : cs_err_str(err));
		return status_of(err);
	}
	printf("verified         no (pass --kek to check the manifest)\n");
	return 0;
}

int
cs_cmd_inspect(int argc, char **argv)
{
	struct opts o;
	struct cs_seal_header h;
	uint8_t raw[CS_SEAL_HEADER_LEN], dig[32];
	struct stat st;
	enum cs_err err;
	int rc = 2, first, fd;
	ssize_t got;

	if ((first = parse(argc, argv, &o, &rc)) < 0)
		return rc;
	if (argc - first != 1)
		return usage(2);
	if (cs_seal_is_dir(argv[first]))
		return inspect_dir(argv[first], &o);
	fd = open(argv[first], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("inspect", argv[first], errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO);
	got = pread(fd, raw, sizeof(raw), 0);
	if (fstat(fd, &st) != 0)
		got = -1;
	close(fd);
	if (got >= 3 && cs_kserve_is_jwe(raw, (size_t)got)) {
		printf("format           KServe compact JWE (read-only interop; reseal with "
		       "`custos seal --jwe-key`)\n");
		printf("size             %llu bytes\n", (unsigned long long)st.st_size);
		return 0;
	}
	if (got != (ssize_t)sizeof(raw))
		return fail("inspect", argv[first], got < 0 ? CS_ERR_IO : CS_ERR_TRUNCATED);
	if ((err = cs_seal_header_parse(raw, sizeof(raw), &h)) != CS_OK)
		return fail("inspect", argv[first], err);
	printf("format           custos sealed file v%u\n", h.version);
	printf("algorithm        AES-256-GCM chunks, HKDF-SHA256, HMAC-SHA256 header MAC\n");
	printf("key wrap         AES-256-KW (RFC 3394)\n");
	printf("key id           %s\n", h.key_id);
	printf("chunk size       %llu bytes\n", (unsigned long long)cs_seal_chunk_size(&h));
	printf("plaintext        %llu bytes\n", (unsigned long long)h.plaintext_len);
	printf("chunks           %llu\n", (unsigned long long)cs_seal_chunk_count(&h));
	printf("sealed size      %llu bytes (file: %llu%s)\n",
	       (unsigned long long)cs_seal_sealed_len(&h), (unsigned long long)st.st_size,
	       (uint64_t)st.st_size == cs_seal_sealed_len(&h) ? "" : ", MISMATCH");
	print_hex("salt", h.salt, sizeof(h.salt));
	print_hex("commitment", h.commit, sizeof(h.commit));
	if (cs_hash(CS_SHA256, raw, sizeof(raw), dig) == CS_OK)
		print_hex("header sha256", dig, sizeof(dig));
	if (o.kek_file != NULL) {
		uint8_t *kek = cs_secure_alloc(32);
		struct cs_seal_file *f = NULL;
		err = kek == NULL ? CS_ERR_NOMEM : read_kek(o.kek_file, kek);
		if (err == CS_OK)
			err = cs_seal_file_open(argv[first], kek, &f);
		cs_seal_file_close(f);
		cs_secure_free(kek, 32);
		printf("verified         %s\n",
		       err == CS_OK ? "yes: key commitment, header MAC, size" : cs_err_str(err));
		return status_of(err);
	}
	printf("verified         no (pass --kek to check the header)\n");
	return (uint64_t)st.st_size == cs_seal_sealed_len(&h) ? 0 : 1;
}

/* ---- reseal ---- */

/* Copies [off, end) of in to out at the same offsets, verbatim. */
static enum cs_err
copy_rest(int in, int out, uint64_t off, uint64_t end)
{
	while (off < end) {
		loff_t a = (loff_t)off, b = (loff_t)off;
		ssize_t n = copy_file_range(in, &a, out, &b, (size_t)(end - off), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Fallback for file systems without copy_file_range. */
			uint8_t buf[1 << 16];
			size_t want = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
			ssize_t r = pread(in, buf, want, (off_t)off);
			ENSURE(r > 0, CS_ERR_TRUNCATED);
			ENSURE(pwrite(out, buf, (size_t)r, (off_t)off) == r, CS_ERR_IO);
			n = r;
		}
		off += (uint64_t)n;
	}
	return CS_OK;
}

int
cs_cmd_reseal(int argc, char **argv)
{
	struct opts o;
	struct out out = {.fd = -1};
	uint8_t *keks = NULL, hdr[CS_SEAL_HEADER_LEN];
	enum cs_err err;
	const char *in_path, *what;
	struct stat st;
	int rc = 2, first, fd = -1;

	if ((first = parse(argc, argv, &o, &rc)) < 0)
		return rc;
	if (argc - first != 1 || o.kek_file == NULL || o.new_kek_file == NULL ||
	    o.new_key_id == NULL)
		return usage(2);
	in_path = argv[first];
	what = in_path;
	if ((err = cs_seal_key_id_check(o.new_key_id, strlen(o.new_key_id))) != CS_OK) {
		(void)fail("reseal", "--new-key-id", err);
		return 2;
	}
	keks = cs_secure_alloc(64);
	if (keks == NULL)
		return fail("reseal", "memory", CS_ERR_NOMEM);
	if ((err = read_kek(o.kek_file, keks)) != CS_OK ||
	    (err = read_kek(o.new_kek_file, keks + 32)) != CS_OK) {
		what = "KEK file";
		goto done;
	}
	if (cs_seal_is_dir(in_path)) {
		err = CS_ERR_INVAL;
		if (o.out == NULL)
			err = cs_seal_dir_rewrap(in_path, keks, keks + 32, o.new_key_id);
		else
			fprintf(stderr,
			        "custos reseal: directories are resealed in place (no -o)\n");
		goto done;
	}
	fd = open(in_path, (o.out == NULL ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		err = errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO;
		goto done;
	}
	if ((err = cs_seal_rewrap_fd(fd, keks, keks + 32, o.new_key_id, hdr)) != CS_OK)
		goto done;
	if (o.out == NULL) {
		/* In place: one 512-byte write; no chunk byte is read or written. */
		err = pwrite(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && fsync(fd) == 0
		              ? CS_OK
		              : CS_ERR_IO;
		goto done;
	}
	what = o.out;
	if ((err = out_open(&out, o.out, o.force)) != CS_OK)
		goto done;
	err = pwrite(out.fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) ? CS_OK : CS_ERR_IO;
	if (err == CS_OK)
		err = copy_rest(fd, out.fd, CS_SEAL_HEADER_LEN, (uint64_t)st.st_size);
	err = out_close(&out, err, o.force);
done:
	if (fd >= 0)
		close(fd);
	cs_secure_free(keks, 64);
	return err == CS_OK ? 0 : fail("reseal", what, err);
}

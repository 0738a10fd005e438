/*
 * SEV-SNP collateral (see collateral.h). KDS paths: AMD "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification" rev 0.51 §4; Turin takes the 8-byte hwID and an
 * fmcSPL parameter (snpguest fetch.rs, Trustee snp verifier).
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/clock.h"
#include "crypto/x509.h"
#include "tee/snp/collateral.h"

#define FILE_MAX (256 * 1024)
#define BUNDLE_MAX (64 * 1024 * 1024)
#define KDS_ATTEMPTS CS_SNP_KDS_ATTEMPTS
#define KDS_BACKOFF_MAX_S 30

static size_t
hwid_len(enum cs_snp_product p)
{
	return p == CS_SNP_TURIN ? CS_SNP_TURIN_CHIP_ID_LEN : CS_SNP_CHIP_ID_LEN;
}

static enum cs_err
vcek_url(const char *base, enum cs_snp_product p, const uint8_t *chip_id,
         const struct cs_snp_tcb *tcb, struct cs_buf *out)
{
	ENSURE(p > CS_SNP_PRODUCT_UNKNOWN && p < CS_SNP_PRODUCT_COUNT, CS_ERR_INVAL);
	TRY(cs_buf_printf(out, "%s/vcek/v1/%s/", base, cs_snp_product_name(p)));
	TRY(cs_hex_encode(out, chip_id, hwid_len(p)));
	if (p == CS_SNP_TURIN)
		TRY(cs_buf_printf(out, "?fmcSPL=%02u&blSPL=%02u", tcb->fmc, tcb->bootloader));
	else
		TRY(cs_buf_printf(out, "?blSPL=%02u", tcb->bootloader));
	return cs_buf_printf(out, "&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u", tcb->tee, tcb->snp,
	                     tcb->microcode);
}

enum cs_err
cs_snp_kds_vcek_url(enum cs_snp_product p, const uint8_t *chip_id, const struct cs_snp_tcb *tcb,
                    struct cs_buf *out)
{
	return vcek_url(CS_SNP_KDS_BASE, p, chip_id, tcb, out);
}

enum cs_err
cs_snp_vcek_relpath(enum cs_snp_product p, const uint8_t *chip_id, const struct cs_snp_tcb *tcb,
                    struct cs_buf *out)
{
	ENSURE(p > CS_SNP_PRODUCT_UNKNOWN && p < CS_SNP_PRODUCT_COUNT, CS_ERR_INVAL);
	TRY(cs_buf_printf(out, "snp/%s/vcek/", cs_snp_product_name(p)));
	TRY(cs_hex_encode(out, chip_id, hwid_len(p)));
	TRY(cs_buf_printf(out, "-bl%u-tee%u-snp%u-ucode%u", tcb->bootloader, tcb->tee, tcb->snp,
	                  tcb->microcode));
	if (p == CS_SNP_TURIN)
		TRY(cs_buf_printf(out, "-fmc%u", tcb->fmc));
	return cs_buf_append_str(out, ".der");
}

/* ---- path grammar ---- */

static size_t
span(const char *s, const char *set)
{
	return strspn(s, set);
}

/* Accepts "<u8 decimal>" at s, advancing. */
static bool
take_num(const char **s)
{
	size_t n = span(*s, "0123456789");

	if (n == 0 || n > 3 || ((*s)[0] == '0' && n > 1))
		return false;
	*s += n;
	return true;
}

static bool
take_lit(const char **s, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*s, lit, n) != 0)
		return false;
	*s += n;
	return true;
}

/*
 * The only relative paths a cache holds or a bundle may carry: snp/<Product>/cert_chain.pem,
 * snp/<Product>/crl.der, snp/<Product>/vcek/<hex>-bl<n>-tee<n>-snp<n>-ucode<n>[-fmc<n>].der.
 * No "..", no other characters, so that a bundle cannot write outside the cache.
 */
static bool
relpath_ok(const char *rel, enum cs_snp_product *prod, int *kind)
{
	static const enum cs_snp_product all[] = {CS_SNP_MILAN, CS_SNP_GENOA, CS_SNP_TURIN};
	const char *s = rel;
	size_t hex;

	if (!take_lit(&s, "snp/"))
		return false;
	*prod = CS_SNP_PRODUCT_UNKNOWN;
	for (size_t i = 0; i < 3; i++) {
		const char *name = cs_snp_product_name(all[i]);
		size_t n = strlen(name);

		if (strncmp(s, name, n) == 0 && s[n] == '/') {
			*prod = all[i];
			s += n + 1;
		}
	}
	if (*prod == CS_SNP_PRODUCT_UNKNOWN)
		return false;
	if (strcmp(s, "cert_chain.pem") == 0)
		return *kind = 1, true;
	if (strcmp(s, "crl.der") == 0)
		return *kind = 2, true;
	if (!take_lit(&s, "vcek/"))
		return false;
	hex = span(s, "0123456789abcdef");
	if (hex != 2 * hwid_len(*prod))
		return false;
	s += hex;
	if (!take_lit(&s, "-bl") || !take_num(&s) || !take_lit(&s, "-tee") || !take_num(&s) ||
	    !take_lit(&s, "-snp") || !take_num(&s) || !take_lit(&s, "-ucode") || !take_num(&s))
		return false;
	if (*prod == CS_SNP_TURIN && (!take_lit(&s, "-fmc") || !take_num(&s)))
		return false;
	*kind = 3;
	return strcmp(s, ".der") == 0;
}

/* The contents must be what the path says: a certificate chain, a CRL, a certificate. */
static enum cs_err
content_ok(int kind, const uint8_t *p, size_t n)
{
	struct cs_x509_set *set = NULL;
	struct cs_x509_crls *crls = NULL;
	struct cs_x509 *c = NULL;
	enum cs_err err;

	switch (kind) {
	case 1:
		err = cs_x509_set_from_pem(p, n, &set);
		cs_x509_set_free(set);
		return err;
	case 2:
		err = cs_x509_crls_from(p, n, &crls);
		cs_x509_crls_free(crls);
		return err;
	default:
		err = cs_x509_from_der(p, n, &c);
		cs_x509_free(c);
		return err;
	}
}

/* ---- files ---- */

static enum cs_err
mkdirs(char *path)
{
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			*p = '/';
			return CS_ERR_IO;
		}
		*p = '/';
	}
	return CS_OK;
}

/* Writes path via a temporary file and rename, so readers never see half a file. */
static enum cs_err
write_atomic(const char *path, const uint8_t *p, size_t n)
{
	char tmp[4200];
	int fd;
	ssize_t w;

	ENSURE((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) < sizeof(tmp),
	       CS_ERR_INVAL);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	ENSURE(fd >= 0, CS_ERR_IO);
	w = write(fd, p, n);
	if (w < 0 || (size_t)w != n || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return CS_ERR_IO;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return CS_ERR_IO;
	}
	return CS_OK;
}

static enum cs_err
join(const char *dir, const char *rel, char *out, size_t cap)
{
	ENSURE((size_t)snprintf(out, cap, "%s/%s", dir, rel) < cap, CS_ERR_INVAL);
	return CS_OK;
}

enum cs_err
cs_snp_cache_put(const char *dir, const char *rel, const uint8_t *p, size_t n)
{
	enum cs_snp_product prod;
	int kind;
	char path[4096];

	ENSURE(relpath_ok(rel, &prod, &kind), CS_ERR_PATH);
	TRY(content_ok(kind, p, n));
	TRY(join(dir, rel, path, sizeof(path)));
	TRY(mkdirs(path));
	return write_atomic(path, p, n);
}

enum cs_err
cs_snp_cache_vcek(const char *dir, enum cs_snp_product p, const uint8_t *chip_id,
                  const struct cs_snp_tcb *tcb, struct cs_buf *out)
{
	struct cs_buf rel;
	char path[4096];
	enum cs_err err;

	ENSURE(dir != NULL, CS_ERR_COLLATERAL);
	cs_buf_init(&rel, 512);
	err = cs_snp_vcek_relpath(p, chip_id, tcb, &rel);
	if (err == CS_OK)
		err = join(dir, (const char *)rel.p, path, sizeof(path));
	if (err == CS_OK)
		err = cs_file_read(path, out);
	if (err == CS_ERR_NOT_FOUND)
		err = CS_ERR_COLLATERAL;
	cs_buf_fini(&rel);
	return err;
}

/* ---- KDS over libcurl ---- */

struct fetch {
	struct cs_buf *body;
	long retry_after; /* seconds, from the Retry-After header; -1 if none */
	bool too_large;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb;

	if (f->body->len + n > FILE_MAX || cs_buf_append(f->body, p, n) != CS_OK) {
		f->too_large = true;
		return 0; /* aborts the transfer */
	}
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		long v = 0;
		size_t i = sizeof(name) - 1, start;

		while (i < n && p[i] == ' ')
			i++;
		for (start = i; i < n && p[i] >= '0' && p[i] <= '9' && v < 100000; i++)
			v = v * 10 + (p[i] - '0');
		/* delay-seconds; an HTTP-date (or nothing) leaves the default backoff */
		if (i > start)
			f->retry_after = v;
	}
	return n;
}

const char *
cs_snp_kds_base(const struct cs_snp_kds *kds)
{
	const char *env = getenv(CS_SNP_KDS_ENV);

	if (kds != NULL && kds->base != NULL)
		return kds->base;
	return env != NULL && env[0] != '\0' ? env : CS_SNP_KDS_BASE;
}

/* The curl protocol set base allows: https anywhere, http to a loopback host only. */
static const char *
base_protocols(const char *base)
{
	static const char *const loop[] = {"127.0.0.1", "[::1]", "localhost"};
	const char *host;

	if (strncmp(base, "https://", 8) == 0)
		return "https";
	if (strncmp(base, "http://", 7) != 0)
		return NULL;
	host = base + 7;
	for (size_t i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
		size_t n = strlen(loop[i]);

		const char *q = host + n;

		if (strncmp(host, loop[i], n) != 0)
			continue;
		/* Only a port may follow the host: "http://127.0.0.1:1@host" names another host. */
		if (*q == ':') {
			size_t digits = strspn(q + 1, "0123456789");

			if (digits == 0 || digits > 5)
				return NULL;
			q += 1 + digits;
		}
		if (*q == '\0' || *q == '/')
			return "http";
	}
	return NULL;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* GET url into out; retries 429/503 with bounded backoff. */
static enum cs_err
http_get(const struct cs_snp_kds *kds, const char *url, struct cs_buf *out)
{
	const char *proto = base_protocols(url);
	unsigned attempts = kds != NULL && kds->attempts > 0 ? kds->attempts : 1;
	unsigned cap = kds != NULL && kds->backoff_max_ms > 0 ? kds->backoff_max_ms
	                                                      : KDS_BACKOFF_MAX_S * 1000u;
	long conn_ms =
	        kds != NULL && kds->connect_timeout_ms > 0 ? (long)kds->connect_timeout_ms : 10000L;
	long all_ms = kds != NULL && kds->timeout_ms > 0 ? (long)kds->timeout_ms : 30000L;
	enum cs_err err = CS_ERR_NETWORK;

	ENSURE(proto != NULL, CS_ERR_CONFIG);
	for (unsigned attempt = 0; attempt < attempts; attempt++) {
		struct fetch f = {.body = out, .retry_after = -1};
		CURL *c = curl_easy_init();
		CURLcode rc;
		long status = 0;
		unsigned wait;

		ENSURE(c != NULL, CS_ERR_NOMEM);
		cs_buf_reset(out);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, proto);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, all_ms);
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)FILE_MAX);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &f);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "custos");
		if (strcmp(proto, "http") == 0)
			curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* loopback is never proxied */
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return CS_ERR_TIMEOUT;
		if (rc == CURLE_FILESIZE_EXCEEDED || f.too_large)
			return CS_ERR_TOO_LARGE;
		if (rc != CURLE_OK)
			return CS_ERR_NETWORK;
		if (status == 200)
			return CS_OK;
		if (status == 404)
			return CS_ERR_NOT_FOUND;
		if (status != 429 && status != 503)
			return CS_ERR_NETWORK;
		err = CS_ERR_RATE_LIMIT;
		wait = f.retry_after >= 0 ? (unsigned)f.retry_after * 1000u : 1000u << attempt;
		if (wait > cap)
			wait = cap;
		if (attempt + 1 < attempts)
			sleep_ms(wait);
	}
	return err;
}

enum cs_err
cs_snp_kds_fetch_vcek(const char *dir, const struct cs_snp_kds *kds, enum cs_snp_product p,
                      const uint8_t *chip_id, const struct cs_snp_tcb *tcb, struct cs_buf *out)
{
	struct cs_buf url, rel;
	enum cs_err err;

	cs_buf_init(&url, 4096);
	cs_buf_init(&rel, 512);
	err = vcek_url(cs_snp_kds_base(kds), p, chip_id, tcb, &url);
	if (err == CS_OK)
		err = http_get(kds, (const char *)url.p, out);
	/* What KDS served must be a certificate, cached or not. */
	if (err == CS_OK)
		err = content_ok(3, out->p, out->len);
	if (err == CS_OK && dir != NULL)
		err = cs_snp_vcek_relpath(p, chip_id, tcb, &rel);
	if (err == CS_OK && dir != NULL)
		err = cs_snp_cache_put(dir, (const char *)rel.p, out->p, out->len);
	if (err != CS_OK)
		cs_buf_reset(out);
	cs_buf_fini(&url);
	cs_buf_fini(&rel);
	return err;
}

enum cs_err
cs_snp_kds_fetch_chain(const char *dir, const struct cs_snp_kds *kds, enum cs_snp_product p)
{
	static const char *const what[][2] = {{"cert_chain", "cert_chain.pem"}, {"crl", "crl.der"}};
	enum cs_err err = CS_OK;

	ENSURE(p > CS_SNP_PRODUCT_UNKNOWN && p < CS_SNP_PRODUCT_COUNT, CS_ERR_INVAL);
	ENSURE(dir != NULL, CS_ERR_INVAL);
	for (size_t i = 0; i < 2 && err == CS_OK; i++) {
		struct cs_buf url, body;
		char rel[64];

		cs_buf_init(&url, 4096);
		cs_buf_init(&body, FILE_MAX);
		snprintf(rel, sizeof(rel), "snp/%s/%s", cs_snp_product_name(p), what[i][1]);
		err = cs_buf_printf(&url, "%s/vcek/v1/%s/%s", cs_snp_kds_base(kds),
		                    cs_snp_product_name(p), what[i][0]);
		if (err == CS_OK)
			err = http_get(kds, (const char *)url.p, &body);
		if (err == CS_OK)
			err = cs_snp_cache_put(dir, rel, body.p, body.len);
		cs_buf_fini(&url);
		cs_buf_fini(&body);
	}
	return err;
}

/* ---- bundles ---- */

/* Adds one cached file to the bundle's "files" array. */
static enum cs_err
bundle_add(json_t *files, const char *dir, const char *rel)
{
	struct cs_buf data, b64;
	char path[4096];
	enum cs_err err;
	json_t *e;

	TRY(join(dir, rel, path, sizeof(path)));
	cs_buf_init(&data, FILE_MAX);
	cs_buf_init(&b64, 2 * FILE_MAX);
	err = cs_file_read(path, &data);
	if (err == CS_OK)
		err = cs_b64_encode(&b64, data.p, data.len);
	if (err == CS_OK) {
		e = json_pack("{s:s,s:s}", "path", rel, "data", b64.len ? (char *)b64.p : "");
		if (e == NULL || json_array_append_new(files, e) != 0)
			err = CS_ERR_NOMEM;
	}
	cs_buf_fini(&data);
	cs_buf_fini(&b64);
	return err;
}

static enum cs_err
bundle_walk(json_t *files, const char *dir, const char *reldir, int depth)
{
	char path[4096], rel[1024];
	struct dirent *d;
	DIR *dh;
	enum cs_err err = CS_OK;

	ENSURE(depth < 4, CS_ERR_TOO_LARGE);
	TRY(join(dir, reldir, path, sizeof(path)));
	dh = opendir(path);
	if (dh == NULL)
		return errno == ENOENT ? CS_OK : CS_ERR_IO;
	while (err == CS_OK && (d = readdir(dh)) != NULL) {
		enum cs_snp_product prod;
		int kind;

		if (d->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(rel, sizeof(rel), "%s/%s", reldir, d->d_name) >= sizeof(rel))
			continue;
		if (relpath_ok(rel, &prod, &kind))
			err = bundle_add(files, dir, rel);
		else if (d->d_type == DT_DIR)
			err = bundle_walk(files, dir, rel, depth + 1);
		/* anything else (temporary files, strays) is not collateral */
	}
	closedir(dh);
	return err;
}

enum cs_err
cs_snp_bundle_export(const char *dir, const char *path, int64_t now)
{
	json_t *b = NULL, *files = json_array();
	char created[21], *text = NULL;
	enum cs_err err;

	ENSURE(files != NULL, CS_ERR_NOMEM);
	err = bundle_walk(files, dir, "snp", 0);
	if (err == CS_OK && json_array_size(files) == 0)
		err = CS_ERR_COLLATERAL;
	if (err == CS_OK) {
		cs_time_format_rfc3339(now, created);
		b = json_pack("{s:i,s:s,s:O}", "custos_collateral", 1, "created", created, "files",
		              files);
		text = b != NULL ? json_dumps(b, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
		err = text != NULL ? write_atomic(path, (const uint8_t *)text, strlen(text))
		                   : CS_ERR_NOMEM;
	}
	free(text);
	json_decref(b);
	json_decref(files);
	return err;
}

enum cs_err
cs_snp_bundle_import(const char *dir, const uint8_t *p, size_t n, size_t *count)
{
	json_t *b, *files, *e;
	struct cs_buf *data = NULL;
	size_t i, nfiles = 0;
	enum cs_err err = CS_ERR_JSON_FIELD;

	TRY(cs_json_parse(p, n, BUNDLE_MAX, &b));
	files = json_object_get(b, "files");
	if (json_integer_value(json_object_get(b, "custos_collateral")) != 1 ||
	    !json_is_array(files))
		goto out;
	nfiles = json_array_size(files);
	data = calloc(nfiles + 1, sizeof(*data));
	err = CS_ERR_NOMEM;
	if (data == NULL)
		goto out;
	/* First check every entry, then write: a bad bundle changes nothing. */
	json_array_foreach(files, i, e)
	{
		const char *rel = json_string_value(json_object_get(e, "path"));
		const char *s = json_string_value(json_object_get(e, "data"));
		enum cs_snp_product prod;
		int kind;

		cs_buf_init(&data[i], FILE_MAX);
		err = CS_ERR_JSON_FIELD;
		if (rel == NULL || s == NULL)
			goto out;
		err = CS_ERR_PATH;
		if (!relpath_ok(rel, &prod, &kind))
			goto out;
		if ((err = cs_b64_decode(&data[i], s, strlen(s))) != CS_OK ||
		    (err = content_ok(kind, data[i].p, data[i].len)) != CS_OK)
			goto out;
	}
	json_array_foreach(files, i, e)
	{
		const char *rel = json_string_value(json_object_get(e, "path"));

		if ((err = cs_snp_cache_put(dir, rel, data[i].p, data[i].len)) != CS_OK)
			goto out;
	}
	if (count != NULL)
		*count = nfiles;
	err = CS_OK;
out:
	for (i = 0; data != NULL && i < nfiles; i++)
		cs_buf_fini(&data[i]);
	free(data);
	json_decref(b);
	return err;
}

/*
 * `custos admin`: the operator's client for a KBS's admin API, with Trustee's endpoints and bodies
 * (research/trustee.md §1 "Admin endpoints"): resources, the resource policy, attestation
 * policies and reference values. Each request carries a short-lived bearer JWT (ES256 or EdDSA,
 * 5 minutes, a `role` claim) signed with the admin key given by --key; without --key requests go
 * unauthenticated, which only a development broker (custos-kbs --dev, loopback) accepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/http.h"
#include "agent/rcar.h"
#include "base/b64.h"
#include "base/fs.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/secret.h"
#include "crypto/key.h"
#include "custos.h"
#include "jose/jws.h"
#include "jose/jwt.h"

#define ADMIN_TOKEN_TTL 300
#define VALUE_MAX CS_RCAR_RESOURCE_MAX
#define KEY_FILE_MAX (64u * 1024)

struct admin {
	const char *kbs;
	const char *key_file;
	const char *role;
	struct cs_http_cfg http;
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: custos admin keygen [--alg ES256|EdDSA] [--out PREFIX]\n"
	        "       custos admin [--kbs URL] [--key FILE] [--role ROLE] [--cacert FILE] "
	        "COMMAND\n"
	        "\n"
	        "keygen writes PREFIX.key (private, PKCS#8 PEM, mode 0600) and PREFIX.pub (public "
	        "PEM,\n"
	        "for the broker's configuration); PREFIX defaults to ./admin.\n"
	        "\n"
	        "commands (Trustee-compatible admin API):\n"
	        "  resource put REPO/TYPE/TAG [FILE]   store a secret (FILE or standard input)\n"
	        "  resource delete REPO/TYPE/TAG\n"
	        "  policy set FILE                     set the resource policy\n"
	        "  policy get                          print the resource policy list\n"
	        "  attestation-policy set ID FILE      set an attestation policy (rego)\n"
	        "  reference-value set FILE            register an RVPS message (JSON)\n"
	        "  reference-value get ID              print reference values\n"
	        "  audit list [--from N] [--to M]      audit records, one per line: seq, time,\n"
	        "                                      kind, body\n"
	        "  audit export [--from N] [--to M]    audit records as JSON lines (with hashes)\n"
	        "  audit verify                        recompute the hash chain; exit 1 and the\n"
	        "                                      first bad record when it is broken\n"
	        "\n"
	        "options:\n"
	        "  --kbs URL      the broker (default $CUSTOS_KBS_URL or http://127.0.0.1:8080)\n"
	        "  --key FILE     admin private key (PEM) to sign the bearer token; omit only\n"
	        "                 against a development broker\n"
	        "  --role ROLE    the token's role claim (default admin)\n"
	        "  --cacert FILE  trust this PEM certificate for https\n"
	        "exit status: 0 ok, 1 refused by the broker (401/403/404), 2 usage or I/O error\n");
}

static int
fail(enum cs_err err, const char *what, const char *detail)
{
	fprintf(stderr, "custos admin: %s: %s%s%s\n", what, cs_err_str(err),
	        detail && detail[0] ? ": " : "", detail ? detail : "");
	switch (err) {
	case CS_ERR_UNAUTHENTICATED:
	case CS_ERR_DENIED:
	case CS_ERR_NOT_FOUND:
		return 1;
	default:
		return 2;
	}
}

/* Reads a local file ("-" or NULL: stdin). A missing local file is an I/O error (exit 2), never
 * the broker's "not found" (exit 1). */
static enum cs_err
read_local(const char *path, struct cs_buf *out)
{
	enum cs_err err = cs_file_read(path, out);

	return err == CS_ERR_NOT_FOUND ? CS_ERR_IO : err;
}

/* Writes (p, n) to path, created with mode; refuses to overwrite. */
static enum cs_err
write_new(const char *path, const uint8_t *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t off = 0;
	ssize_t w;

	if (fd < 0)
		return errno == EEXIST ? CS_ERR_EXISTS : CS_ERR_IO;
	while (off < n) {
		w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(path);
			return CS_ERR_IO;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		unlink(path);
		return CS_ERR_IO;
	}
	return CS_OK;
}

static int
cmd_keygen(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"alg", required_argument, NULL, 'a'},
	        {"out", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *alg = "ES256", *prefix = "admin";
	struct cs_key *k = NULL;
	struct cs_buf priv, pub, path;
	enum cs_err err;
	int ch, rc = 2;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (ch == 'a')
			alg = optarg;
		else if (ch == 'o')
			prefix = optarg;
		else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(alg, "ES256") == 0)
		err = cs_key_generate(CS_KEY_EC_P256, 0, &k);
	else if (strcmp(alg, "EdDSA") == 0)
		err = cs_key_generate(CS_KEY_ED25519, 0, &k);
	else {
		fprintf(stderr, "custos admin: --alg must be ES256 or EdDSA\n");
		return 2;
	}
	if (err != CS_OK)
		return fail(err, "keygen", NULL);
	cs_buf_init(&priv, KEY_FILE_MAX);
	cs_buf_init(&pub, KEY_FILE_MAX);
	cs_buf_init(&path, 4096);
	if ((err = cs_key_to_pem(k, true, &priv)) != CS_OK ||
	    (err = cs_key_to_pem(k, false, &pub)) != CS_OK) {
		rc = fail(err, "keygen", NULL);
		goto out;
	}
	if ((err = cs_buf_printf(&path, "%s.key", prefix)) != CS_OK ||
	    (err = write_new((const char *)path.p, priv.p, priv.len, 0600)) != CS_OK) {
		rc = fail(err, (const char *)path.p, NULL);
		goto out;
	}
	cs_buf_reset(&path);
	if ((err = cs_buf_printf(&path, "%s.pub", prefix)) != CS_OK ||
	    (err = write_new((const char *)path.p, pub.p, pub.len, 0644)) != CS_OK) {
		rc = fail(err, (const char *)path.p, NULL);
		goto out;
	}
	printf("%s.key (private, 0600) and %s.pub written (%s)\n", prefix, prefix, alg);
	rc = 0;
out:
	cs_buf_fini(&path);
	cs_buf_fini(&pub);
	cs_buf_fini(&priv);
	cs_key_free(k);
	return rc;
}

/* Appends "Authorization: Bearer <JWT>" signed with the admin key. */
static enum cs_err
bearer(const struct admin *a, struct cs_buf *hdr)
{
	struct cs_buf pem;
	struct cs_key *k = NULL;
	enum cs_jws_alg alg;
	json_t *claims = NULL;
	int64_t now = cs_clock_now();
	enum cs_err err;

	cs_buf_init(&pem, KEY_FILE_MAX);
	if ((err = read_local(a->key_file, &pem)) != CS_OK)
		goto out;
	if ((err = cs_key_from_pem(pem.p, pem.len, &k)) != CS_OK)
		goto out;
	err = CS_ERR_KEY;
	if (!cs_key_has_private(k) || cs_jws_alg_for_key(k, &alg) != CS_OK ||
	    (alg != CS_JWS_ES256 && alg != CS_JWS_EDDSA))
		goto out;
	err = CS_ERR_NOMEM;
	claims = json_pack("{s:s, s:I, s:I, s:s}", "iss", "custos-admin", "iat", (json_int_t)now,
	                   "exp", (json_int_t)(now + ADMIN_TOKEN_TTL), "role", a->role);
	if (claims == NULL)
		goto out;
	if ((err = cs_buf_append_str(hdr, "Authorization: Bearer ")) != CS_OK)
		goto out;
	err = cs_jwt_issue(alg, k, claims, NULL, hdr);
out:
	json_decref(claims);
	cs_key_free(k);
	cs_buf_fini(&pem);
	return err;
}

/* Sends one admin request; 0 with the 2xx response in *resp (initialized by the caller), else
 * reports the refusal or failure and returns the exit status. */
static int
exchange(const struct admin *a, const char *method, const char *path, const char *ctype,
         const struct cs_buf *body, struct cs_http_resp *resp)
{
	struct cs_http h;
	struct cs_buf url, auth, ct;
	const char *hdrs[3];
	char detail[CS_RCAR_DETAIL_MAX];
	size_t nh = 0;
	enum cs_err err;
	int rc = 2;

	cs_buf_init(&url, 4096);
	cs_buf_init(&auth, 8192);
	cs_buf_init(&ct, 256);
	if ((err = cs_http_init(&h, &a->http)) != CS_OK) {
		cs_buf_fini(&url);
		cs_buf_fini(&auth);
		cs_buf_fini(&ct);
		return fail(err, "http", NULL);
	}
	if ((err = cs_buf_printf(&url, "%s%s", a->kbs, path)) != CS_OK)
		goto failed;
	if (a->key_file != NULL) {
		if ((err = bearer(a, &auth)) != CS_OK) {
			rc = fail(err, a->key_file, NULL);
			goto out;
		}
		hdrs[nh++] = (const char *)auth.p;
	}
	if (ctype != NULL) {
		if ((err = cs_buf_printf(&ct, "Content-Type: %s", ctype)) != CS_OK)
			goto failed;
		hdrs[nh++] = (const char *)ct.p;
	}
	hdrs[nh] = NULL;
	if ((err = cs_http_do(&h, method, (const char *)url.p, hdrs, body ? body->p : NULL,
	                      body ? body->len : 0, resp)) != CS_OK)
		goto failed;
	if (resp->status >= 200 && resp->status < 300) {
		rc = 0;
		goto out;
	}
	cs_http_problem_detail(resp, detail, sizeof(detail));
	switch (resp->status) {
	case 401:
		err = CS_ERR_UNAUTHENTICATED;
		break;
	case 403:
		err = CS_ERR_DENIED;
		break;
	case 404:
		err = CS_ERR_NOT_FOUND;
		break;
	case 413:
		err = CS_ERR_TOO_LARGE;
		break;
	default:
		err = CS_ERR_PROTOCOL;
	}
	fprintf(stderr, "custos admin: %s %s: HTTP %ld\n", method, path, resp->status);
	rc = fail(err, path, detail);
	goto out;
failed:
	rc = fail(err, path, NULL);
out:
	cs_http_fini(&h);
	cs_buf_fini(&ct);
	cs_buf_fini(&auth); /* wipes the token */
	cs_buf_fini(&url);
	return rc;
}

/* Sends one admin request and reports the outcome; a 200 body is printed when print is set. */
static int
request(const struct admin *a, const char *method, const char *path, const char *ctype,
        const struct cs_buf *body, bool print)
{
	struct cs_http_resp resp;
	int rc;

	cs_http_resp_init(&resp, 0);
	rc = exchange(a, method, path, ctype, body, &resp);
	if (rc == 0 && print && resp.body.len > 0) {
		fwrite(resp.body.p, 1, resp.body.len, stdout);
		if (resp.body.p[resp.body.len - 1] != '\n')
			putchar('\n');
	}
	cs_http_resp_fini(&resp);
	return rc;
}

/* {"<k1>": v1, "policy": base64url-no-pad(file) ...} as Trustee's policy endpoints expect. */
static int
policy_body(const char *file, const char *policy_id, struct cs_buf *body)
{
	struct cs_buf raw, enc;
	json_t *o = NULL;
	enum cs_err err;

	cs_buf_init(&raw, VALUE_MAX);
	cs_buf_init(&enc, VALUE_MAX * 2);
	if ((err = read_local(file, &raw)) != CS_OK ||
	    (err = cs_b64url_encode(&enc, raw.p, raw.len)))
		goto out;
	err = CS_ERR_NOMEM;
	if (policy_id != NULL)
		o = json_pack("{s:s, s:s, s:s}", "policy_id", policy_id, "policy",
		              (const char *)enc.p, "type", "rego");
	else
		o = json_pack("{s:s}", "policy", (const char *)enc.p);
	if (o != NULL)
		err = cs_json_dump(body, o);
out:
	json_decref(o);
	cs_buf_fini(&enc);
	cs_buf_fini(&raw);
	return err == CS_OK ? 0 : fail(err, file ? file : "stdin", NULL);
}

/* A record number for --from/--to: decimal, 1..2^53. */
static bool
parse_seq(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (*s == '\0' || strlen(s) > 16)
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	if (n == 0 || n > ((uint64_t)1 << 53))
		return false;
	*out = n;
	return true;
}

/* Prints one exported record as "seq time kind body" (list) or verbatim (export). */
static int
audit_line(const uint8_t *p, size_t n, bool raw, uint64_t *seq)
{
	json_t *o = NULL;
	int64_t s = 0, t = 0;
	const char *kind;
	size_t kl;
	char when[21], *body;

	if (cs_json_parse(p, n, (size_t)4 << 20, &o) != CS_OK ||
	    cs_json_get_int(o, "seq", &s) != CS_OK || s < 1 ||
	    cs_json_get_int(o, "time", &t) != CS_OK ||
	    cs_json_get_str(o, "kind", &kind, &kl) != CS_OK) {
		json_decref(o);
		return fail(CS_ERR_PROTOCOL, "audit", "malformed record from the broker");
	}
	*seq = (uint64_t)s;
	if (raw) {
		fwrite(p, 1, n, stdout);
		putchar('\n');
	} else {
		body = json_dumps(json_object_get(o, "body"), JSON_COMPACT | JSON_SORT_KEYS);
		cs_time_format_rfc3339(t, when);
		printf("%llu %s %s %s\n", (unsigned long long)s, when, kind, body ? body : "null");
		free(body);
	}
	json_decref(o);
	return 0;
}

/* audit list|export: pages through GET /kbs/v0/audit until an empty page or past `to`. */
static int
audit_pages(const struct admin *a, uint64_t from, uint64_t to, bool raw)
{
	struct cs_http_resp resp;
	char path[128];
	int rc = 0;

	while (rc == 0 && (to == 0 || from <= to)) {
		uint64_t last = 0;
		size_t off = 0;

		if (to != 0)
			snprintf(path, sizeof(path), "/kbs/v0/audit?from=%llu&to=%llu",
			         (unsigned long long)from, (unsigned long long)to);
		else
			snprintf(path, sizeof(path), "/kbs/v0/audit?from=%llu",
			         (unsigned long long)from);
		cs_http_resp_init(&resp, 0);
		rc = exchange(a, "GET", path, NULL, NULL, &resp);
		while (rc == 0 && off < resp.body.len) {
			const uint8_t *p = resp.body.p + off;
			const uint8_t *nl = memchr(p, '\n', resp.body.len - off);
			size_t n = nl != NULL ? (size_t)(nl - p) : resp.body.len - off;

			rc = audit_line(p, n, raw, &last);
			if (rc == 0 && last < from)
				rc = fail(CS_ERR_PROTOCOL, "audit", "records out of order");
			from = last + 1;
			off += n + 1;
		}
		cs_http_resp_fini(&resp);
		if (last == 0)
			break; /* an empty page: the end */
	}
	if (fflush(stdout) != 0 && rc == 0)
		rc = fail(CS_ERR_IO, "stdout", NULL);
	return rc;
}

/* audit verify: 0 intact, 1 broken (the first bad record named), 2 on errors. */
static int
audit_verify(const struct admin *a)
{
	struct cs_http_resp resp;
	json_t *o = NULL;
	int64_t n = 0, bad = 0;
	int intact = 0, rc;

	cs_http_resp_init(&resp, 0);
	rc = exchange(a, "GET", "/kbs/v0/audit/verify", NULL, NULL, &resp);
	if (rc == 0 && (cs_json_parse(resp.body.p, resp.body.len, 4096, &o) != CS_OK ||
	                cs_json_get_bool(o, "intact", &intact) != CS_OK ||
	                cs_json_get_int(o, "records", &n) != CS_OK ||
	                (!intact && cs_json_get_int(o, "first_bad_seq", &bad) != CS_OK)))
		rc = fail(CS_ERR_PROTOCOL, "audit verify", "malformed answer from the broker");
	if (rc == 0 && intact)
		printf("audit log intact: %lld records\n", (long long)n);
	else if (rc == 0) {
		printf("audit log BROKEN at record %lld (%lld records verified before it)\n",
		       (long long)bad, (long long)(bad > 0 ? bad - 1 : 0));
		rc = 1;
	}
	json_decref(o);
	cs_http_resp_fini(&resp);
	return rc;
}

/* custos admin audit list|export [--from N] [--to M] | verify */
static int
cmd_audit(const struct admin *a, int nargs, char **args)
{
	uint64_t from = 1, to = 0;
	int i;

	if (nargs == 2 && strcmp(args[1], "verify") == 0)
		return audit_verify(a);
	if (nargs < 2 || (strcmp(args[1], "list") != 0 && strcmp(args[1], "export") != 0))
		goto usage;
	for (i = 2; i + 1 < nargs; i += 2) {
		if (strcmp(args[i], "--from") == 0 && parse_seq(args[i + 1], &from))
			continue;
		if (strcmp(args[i], "--to") == 0 && parse_seq(args[i + 1], &to))
			continue;
		goto usage;
	}
	if (i != nargs || (to != 0 && to < from))
		goto usage;
	return audit_pages(a, from, to, strcmp(args[1], "export") == 0);
usage:
	usage(stderr);
	return 2;
}

int
cs_cmd_admin(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"kbs", required_argument, NULL, 'k'},
	        {"key", required_argument, NULL, 'K'},
	        {"role", required_argument, NULL, 'r'},
	        {"cacert", required_argument, NULL, 'c'},
	        {"pin", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct admin a = {0};
	struct cs_buf body, path;
	char **args;
	int nargs, ch, rc = 2;
	enum cs_err err;

	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	a.kbs = getenv("CUSTOS_KBS_URL") ? getenv("CUSTOS_KBS_URL") : "http://127.0.0.1:8080";
	a.role = "admin";
	optind = 1;
	/* '+': stop at the first command word, so that its own arguments are left alone. */
	while ((ch = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			a.kbs = optarg;
			break;
		case 'K':
			a.key_file = optarg;
			break;
		case 'r':
			a.role = optarg;
			break;
		case 'c':
			a.http.ca_file = optarg;
			break;
		case 'p':
			a.http.pinned_pubkey = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs < 2) {
		usage(stderr);
		return 2;
	}
	cs_buf_init(&body, VALUE_MAX + 1);
	cs_buf_init(&path, 4096);
#define IS(i, s) (strcmp(args[i], (s)) == 0)
	if (IS(0, "resource") && (IS(1, "put") || IS(1, "delete")) && nargs >= 3) {
		bool put = IS(1, "put");

		if ((put && nargs > 4) || (!put && nargs != 3))
			goto usage;
		if (cs_rcar_check_path(args[2]) != CS_OK) {
			rc = fail(CS_ERR_PATH, args[2], NULL);
			goto out;
		}
		if ((err = cs_buf_printf(&path, "/kbs/v0/resource/%s", args[2])) != CS_OK)
			goto usage;
		if (put) {
			if ((err = read_local(nargs == 4 ? args[3] : NULL, &body)) != CS_OK) {
				rc = fail(err, nargs == 4 ? args[3] : "stdin", NULL);
				goto out;
			}
			rc = request(&a, "POST", (const char *)path.p, "application/octet-stream",
			             &body, false);
		} else {
			rc = request(&a, "DELETE", (const char *)path.p, NULL, NULL, false);
		}
	} else if (IS(0, "policy") && IS(1, "set") && nargs == 3) {
		if ((rc = policy_body(args[2], NULL, &body)) == 0)
			rc = request(&a, "POST", "/kbs/v0/resource-policy", "application/json",
			             &body, false);
	} else if (IS(0, "policy") && IS(1, "get") && nargs == 2) {
		rc = request(&a, "GET", "/kbs/v0/resource-policy", NULL, NULL, true);
	} else if (IS(0, "attestation-policy") && IS(1, "set") && nargs == 4) {
		if ((rc = policy_body(args[3], args[2], &body)) == 0)
			rc = request(&a, "POST", "/kbs/v0/attestation-policy", "application/json",
			             &body, false);
	} else if (IS(0, "reference-value") && IS(1, "set") && nargs == 3) {
		if ((err = read_local(args[2], &body)) != CS_OK) {
			rc = fail(err, args[2], NULL);
			goto out;
		}
		rc = request(&a, "POST", "/kbs/v0/reference-value", "application/json", &body,
		             false);
	} else if (IS(0, "audit")) {
		rc = cmd_audit(&a, nargs, args);
	} else if (IS(0, "reference-value") && IS(1, "get") && nargs == 3) {
		if ((err = cs_buf_printf(&path, "/kbs/v0/reference-value/%s", args[2])) != CS_OK)
			goto usage;
		rc = request(&a, "GET", (const char *)path.p, NULL, NULL, true);
	} else {
		goto usage;
	}
#undef IS
	goto out;
usage:
	usage(stderr);
	rc = 2;
out:
	cs_buf_fini(&path);
	cs_buf_fini(&body);
	return rc;
}

/*
 * custos-agent: the guest side. Attests to a KBS from inside the TEE and fetches secrets, once
 * (get-resource, attest) or as a long-running local service with guest-components' CDH/AA API
 * (serve). Exit status: 0 success, 1 a negative verdict (attestation refused, access denied,
 * resource not found), 2 usage, I/O or network error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cdh.h"
#include "agent/rcar.h"
#include "base/json.h"
#include "base/secret.h"

#define DEFAULT_KBS "http://127.0.0.1:8080"

struct opts {
	const char *kbs;
	const char *tee;
	const char *out;
	const char *listen;
	const char *init_data_file;
	struct cs_http_cfg http;
	bool claims;
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: custos-agent get-resource kbs:///<repo>/<type>/<tag> [-o FILE] [OPTIONS]\n"
	        "       custos-agent attest [--claims] [OPTIONS]\n"
	        "       custos-agent serve [--listen ADDR:PORT] [OPTIONS]\n"
	        "\n"
	        "get-resource  attest and print the secret's bytes (or write FILE, mode 0600,\n"
	        "              atomically: never partially written)\n"
	        "attest        attest and print the attestation token (--claims: its claims, "
	        "decoded)\n"
	        "serve         the CDH/AA local API (default %s): /cdh/resource/..., /aa/token,\n"
	        "              /aa/evidence\n"
	        "\n"
	        "options:\n"
	        "  --kbs URL        the broker (default $CUSTOS_KBS_URL or %s)\n"
	        "  --tee TYPE       the TEE to attest with (default: detected), e.g. sample\n"
	        "  --cacert FILE    trust this PEM CA / self-signed certificate for https\n"
	        "  --pin PUBKEY     pin the broker's public key (file or sha256//BASE64)\n"
	        "  --timeout SEC    total time per request (default 30)\n"
	        "  --init-data FILE send this init-data TOML with the evidence, as "
	        "guest-components\n"
	        "exit status: 0 ok, 1 refused/denied/not found, 2 usage or I/O error\n",
	        CS_CDH_DEFAULT_LISTEN, DEFAULT_KBS);
}

/* 1 for verdicts about us (refused, denied, missing), 2 for failures to ask. */
static int
exit_code(enum cs_err err)
{
	switch (err) {
	case CS_OK:
		return 0;
	case CS_ERR_VERIFY:
	case CS_ERR_DENIED:
	case CS_ERR_NOT_FOUND:
	case CS_ERR_UNAUTHENTICATED:
		return 1;
	default:
		return 2;
	}
}

static int
fail(enum cs_err err, const char *what, const char *detail)
{
	fprintf(stderr, "custos-agent: %s: %s%s%s\n", what, cs_err_str(err),
	        detail && detail[0] ? ": " : "", detail ? detail : "");
	return exit_code(err);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	        {"kbs", required_argument, NULL, 'k'},
	        {"tee", required_argument, NULL, 't'},
	        {"cacert", required_argument, NULL, 'c'},
	        {"pin", required_argument, NULL, 'p'},
	        {"timeout", required_argument, NULL, 'T'},
	        {"listen", required_argument, NULL, 'l'},
	        {"output", required_argument, NULL, 'o'},
	        {"claims", no_argument, NULL, 'C'},
	        {"init-data", required_argument, NULL, 'I'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->kbs = getenv("CUSTOS_KBS_URL") ? getenv("CUSTOS_KBS_URL") : DEFAULT_KBS;
	o->listen = CS_CDH_DEFAULT_LISTEN;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			o->kbs = optarg;
			break;
		case 't':
			o->tee = optarg;
			break;
		case 'c':
			o->http.ca_file = optarg;
			break;
		case 'p':
			o->http.pinned_pubkey = optarg;
			break;
		case 'T':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v <= 0 || v > 3600)
				return -1;
			o->http.timeout_ms = v * 1000;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'C':
			o->claims = true;
			break;
		case 'I':
			o->init_data_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	return 0;
}

#define INIT_DATA_MAX (64u * 1024) /* as the broker's limit on an init-data body */

/* The client configuration from the options; init holds the init-data text (owned by caller). */
static enum cs_err
rcar_cfg(const struct opts *o, struct cs_rcar_cfg *cfg, struct cs_buf *init)
{
	uint8_t chunk[4096];
	size_t n;
	FILE *f;

	memset(cfg, 0, sizeof(*cfg));
	cfg->kbs_url = o->kbs;
	cfg->http = o->http;
	if (o->init_data_file != NULL) {
		if ((f = fopen(o->init_data_file, "rb")) == NULL)
			return CS_ERR_IO;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			if (cs_buf_append(init, chunk, n) != CS_OK)
				break;
		if (ferror(f) || !feof(f) || memchr(init->p, '\0', init->len) != NULL) {
			fclose(f);
			return CS_ERR_IO; /* unreadable, over INIT_DATA_MAX, or not text */
		}
		fclose(f);
		cfg->init_data = init->len > 0 ? (const char *)init->p : "";
	}
	cfg->tee = o->tee != NULL ? cs_tee_find(o->tee) : cs_tee_detect();
	if (cfg->tee == NULL || cfg->tee->attest == NULL)
		return CS_ERR_NO_TEE;
	return CS_OK;
}

/* rcar_cfg with the error reported; 0 or the exit status. */
static int
setup(const struct opts *o, struct cs_rcar_cfg *cfg, struct cs_buf *init)
{
	enum cs_err err = rcar_cfg(o, cfg, init);

	if (err == CS_ERR_NO_TEE)
		return fail(err, "no attester (use --tee)", NULL);
	if (err != CS_OK)
		return fail(err, o->init_data_file, NULL);
	return 0;
}

/* A client for the options; 0 or the exit status (the error reported). */
static int
new_client(const struct opts *o, struct cs_rcar **r)
{
	struct cs_rcar_cfg cfg;
	struct cs_buf init;
	enum cs_err err;
	int rc;

	cs_buf_init(&init, INIT_DATA_MAX);
	if ((rc = setup(o, &cfg, &init)) == 0 && (err = cs_rcar_new(&cfg, r)) != CS_OK)
		rc = fail(err, "setup", NULL);
	cs_buf_fini(&init); /* cs_rcar_new copied the init-data */
	return rc;
}

/* Writes (p, n) to path through a 0600 temporary file in the same directory and a rename. */
static enum cs_err
write_atomic(const char *path, const uint8_t *p, size_t n)
{
	size_t plen = strlen(path), off = 0;
	char *tmp = malloc(plen + 8);
	enum cs_err err = CS_ERR_IO;
	ssize_t w;
	int fd;

	if (tmp == NULL)
		return CS_ERR_NOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	if ((fd = mkstemp(tmp)) < 0) { /* created 0600 */
		free(tmp);
		return CS_ERR_IO;
	}
	while (off < n) {
		w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	err = CS_OK;
out:
	if (fd >= 0)
		close(fd);
	if (err != CS_OK)
		unlink(tmp);
	free(tmp);
	return err;
}

static int
cmd_get_resource(int argc, char **argv)
{
	static const char scheme[] = "kbs:///";
	struct cs_rcar *r = NULL;
	struct cs_buf secret;
	struct opts o;
	enum cs_err err;
	const char *uri;
	int rc;

	if (parse_opts(argc, argv, &o) != 0 || optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	uri = argv[optind];
	if (strncmp(uri, scheme, sizeof(scheme) - 1) != 0 ||
	    cs_rcar_check_path(uri + sizeof(scheme) - 1) != CS_OK) {
		fprintf(stderr, "custos-agent: resource must be kbs:///<repo>/<type>/<tag>\n");
		return 2;
	}
	if ((rc = new_client(&o, &r)) != 0)
		return rc;
	cs_buf_init(&secret, CS_RCAR_RESOURCE_MAX);
	err = cs_rcar_get_resource(r, uri + sizeof(scheme) - 1, &secret);
	if (err != CS_OK) {
		rc = fail(err, "get-resource", cs_rcar_detail(r));
		goto out;
	}
	if (o.out != NULL) {
		err = write_atomic(o.out, secret.p, secret.len);
		rc = err == CS_OK ? 0 : fail(err, o.out, NULL);
	} else {
		rc = fwrite(secret.p, 1, secret.len, stdout) == secret.len && fflush(stdout) == 0
		             ? 0
		             : fail(CS_ERR_IO, "stdout", NULL);
	}
out:
	cs_buf_fini(&secret);
	cs_rcar_free(r);
	return rc;
}

static int
cmd_attest(int argc, char **argv)
{
	struct cs_rcar *r = NULL;
	json_t *claims = NULL;
	struct opts o;
	enum cs_err err;
	const char *tok;
	int rc = 0;

	if (parse_opts(argc, argv, &o) != 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((rc = new_client(&o, &r)) != 0)
		return rc;
	if ((err = cs_rcar_attest(r)) != CS_OK) {
		rc = fail(err, "attest", cs_rcar_detail(r));
		cs_rcar_free(r);
		return rc;
	}
	tok = cs_rcar_token(r, NULL);
	if (!o.claims) {
		printf("%s\n", tok);
	} else if ((err = cs_rcar_peek_claims(tok, strlen(tok), &claims)) == CS_OK) {
		char *s = json_dumps(claims, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else {
		rc = fail(err, "token", NULL);
	}
	json_decref(claims);
	cs_rcar_free(r);
	return rc;
}

static int
cmd_serve(int argc, char **argv)
{
	struct cs_rcar_cfg cfg;
	struct cs_cdh *c = NULL;
	struct cs_buf init;
	struct opts o;
	enum cs_err err;
	sigset_t set;
	int rc;
	int sig;

	if (parse_opts(argc, argv, &o) != 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	cs_buf_init(&init, INIT_DATA_MAX);
	if ((rc = setup(&o, &cfg, &init)) != 0) {
		cs_buf_fini(&init);
		return rc;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server's threads start */
	err = cs_cdh_start(o.listen, &cfg, &c); /* copies the init-data */
	cs_buf_fini(&init);
	if (err != CS_OK)
		return fail(err, o.listen, NULL);
	fprintf(stderr, "custos-agent: serving the CDH API on port %u (tee %s, kbs %s)\n",
	        (unsigned)cs_cdh_port(c), cfg.tee->name, o.kbs);
	sigwait(&set, &sig);
	cs_cdh_stop(c);
	return 0;
}

int
main(int argc, char **argv)
{
	if (cs_process_harden() != CS_OK) {
		fprintf(stderr, "custos-agent: cannot harden the process\n");
		return 2;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "get-resource") == 0)
		return cmd_get_resource(argc - 1, argv + 1);
	if (strcmp(argv[1], "attest") == 0)
		return cmd_attest(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	fprintf(stderr, "custos-agent: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

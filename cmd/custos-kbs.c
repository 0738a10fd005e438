/*
 * custos-kbs: the key broker service. Configuration from a JSON file (--config) and flags (flags
 * win); see --help. Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight requests
 * finish and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/secret.h"
#include "kbs/kbs.h"
#include "tee/tee.h"

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: custos-kbs [--config FILE] [--listen ADDR:PORT] [--data DIR] [options]\n"
	        "       custos-kbs --dev --listen 127.0.0.1:PORT --data DIR\n"
	        "\n"
	        "Key Broker Service, KBS protocol 0.4.0 (Trustee-compatible).\n"
	        "\n"
	        "  --config FILE        JSON configuration (docs/ARCHITECTURE.md, custos-kbs "
	        "section)\n"
	        "  --listen ADDR:PORT   listen address (default 127.0.0.1:8080; [::1]:8080 for "
	        "IPv6)\n"
	        "  --data DIR           data directory: kbs.db, its master key, session.key,\n"
	        "                       token-signer.pem (created 0600 on first start)\n"
	        "  --store URL          store (default sqlite://DIR/kbs.db; postgresql://... for\n"
	        "                       replicas sharing one database)\n"
	        "  --master-key FILE    master key of the store (32 bytes, 0600; created on first\n"
	        "                       start): default DIR/kbs.db.master-key for SQLite;\n"
	        "                       REQUIRED for PostgreSQL, the same file on every replica\n"
	        "  --tee NAME           enable a verifier (repeatable): nothing is enabled by "
	        "default\n"
	        "  --tls-cert FILE      PEM certificate chain; with --tls-key serves HTTPS\n"
	        "  --tls-key FILE       PEM private key\n"
	        "  --admin-key FILE     PEM public key (P-256 or Ed25519) that signs admin JWTs\n"
	        "  --insecure-admin     admin API WITHOUT authentication (local experiments only)\n"
	        "  --threads N          worker threads (default: one per CPU)\n"
	        "  --dev                development mode: sample (and sim-*) TEEs enabled with\n"
	        "                       sample reference values, admin API unauthenticated but\n"
	        "                       loopback-only; must listen on loopback\n"
	        "  --help, --version\n"
	        "\n"
	        "Routes: POST /kbs/v0/auth, POST /kbs/v0/attest, GET /kbs/v0/resource/R/T/TAG;\n"
	        "admin: POST|DELETE /kbs/v0/resource/R/T/TAG, POST|GET /kbs/v0/resource-policy,\n"
	        "POST /kbs/v0/attestation-policy, POST /kbs/v0/reference-value,\n"
	        "GET /kbs/v0/reference-value/NAME, GET /kbs/v0/audit?from=N&to=M (JSON lines),\n"
	        "GET /kbs/v0/audit/verify; GET /kbs/v0/jwks, /healthz, /metrics.\n");
}

static void
log_line(void *ctx, const char *line)
{
	(void)ctx;
	flockfile(stderr);
	fputs(line, stderr);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static int
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst != NULL ? 0 : -1;
}

static bool
is_loopback_listen(const char *l)
{
	return strncmp(l, "127.", 4) == 0 || strncmp(l, "[::1]:", 6) == 0 ||
	       strncmp(l, "localhost:", 10) == 0;
}

int
main(int argc, char **argv)
{
	enum {
		O_CONFIG = 256,
		O_LISTEN,
		O_DATA,
		O_TEE,
		O_STORE,
		O_MASTER_KEY,
		O_CERT,
		O_KEY,
		O_ADMIN_KEY,
		O_INSECURE,
		O_THREADS,
		O_DEV,
		O_HELP,
		O_VERSION
	};
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, O_CONFIG},
	        {"listen", required_argument, NULL, O_LISTEN},
	        {"data", required_argument, NULL, O_DATA},
	        {"tee", required_argument, NULL, O_TEE},
	        {"store", required_argument, NULL, O_STORE},
	        {"master-key", required_argument, NULL, O_MASTER_KEY},
	        {"tls-cert", required_argument, NULL, O_CERT},
	        {"tls-key", required_argument, NULL, O_KEY},
	        {"admin-key", required_argument, NULL, O_ADMIN_KEY},
	        {"insecure-admin", no_argument, NULL, O_INSECURE},
	        {"threads", required_argument, NULL, O_THREADS},
	        {"dev", no_argument, NULL, O_DEV},
	        {"help", no_argument, NULL, O_HELP},
	        {"version", no_argument, NULL, O_VERSION},
	        {NULL, 0, NULL, 0},
	};
	struct cs_kbs_config cfg, flags;
	struct cs_kbs *k = NULL;
	const char *config = NULL;
	char why[512] = "";
	sigset_t set;
	int opt, sig, rc = 2;
	enum cs_err err;

	cs_kbs_config_init(&cfg);
	cs_kbs_config_init(&flags);
	/* First pass: find --config, so that flags can override the file. */
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *end;
		long n;

		switch (opt) {
		case O_CONFIG:
			config = optarg;
			break;
		case O_LISTEN:
			if (set_str(&flags.listen, optarg) != 0)
				goto out;
			break;
		case O_DATA:
			if (set_str(&flags.data_dir, optarg) != 0)
				goto out;
			break;
		case O_STORE:
			if (set_str(&flags.store_url, optarg) != 0)
				goto out;
			break;
		case O_MASTER_KEY:
			if (set_str(&flags.master_key, optarg) != 0)
				goto out;
			break;
		case O_TEE:
			if (cs_tee_find(optarg) == NULL || flags.ntees >= CS_KBS_MAX_TEES) {
				fprintf(stderr, "custos-kbs: unknown TEE '%s'\n", optarg);
				goto out;
			}
			if ((flags.tees[flags.ntees] = strdup(optarg)) == NULL)
				goto out;
			flags.ntees++;
			break;
		case O_CERT:
			if (set_str(&flags.tls_cert, optarg) != 0)
				goto out;
			break;
		case O_KEY:
			if (set_str(&flags.tls_key, optarg) != 0)
				goto out;
			break;
		case O_ADMIN_KEY:
			if (set_str(&flags.admin_key, optarg) != 0)
				goto out;
			break;
		case O_INSECURE:
			flags.insecure_admin = true;
			break;
		case O_THREADS:
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 1024) {
				fprintf(stderr, "custos-kbs: bad --threads\n");
				goto out;
			}
			flags.threads = (unsigned)n;
			break;
		case O_DEV:
			flags.dev = true;
			break;
		case O_HELP:
			usage(stdout);
			rc = 0;
			goto out;
		case O_VERSION:
			printf("custos-kbs %s\n", CUSTOS_VERSION);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		goto out;
	}
	if (config != NULL && cs_kbs_config_load(&cfg, config, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "custos-kbs: %s\n", why);
		goto out;
	}
	/* Flags override the file. */
	if (flags.listen != NULL && set_str(&cfg.listen, flags.listen) != 0)
		goto out;
	if (flags.data_dir != NULL && set_str(&cfg.data_dir, flags.data_dir) != 0)
		goto out;
	if (flags.store_url != NULL && set_str(&cfg.store_url, flags.store_url) != 0)
		goto out;
	if (flags.master_key != NULL && set_str(&cfg.master_key, flags.master_key) != 0)
		goto out;
	if (flags.tls_cert != NULL && set_str(&cfg.tls_cert, flags.tls_cert) != 0)
		goto out;
	if (flags.tls_key != NULL && set_str(&cfg.tls_key, flags.tls_key) != 0)
		goto out;
	if (flags.admin_key != NULL && set_str(&cfg.admin_key, flags.admin_key) != 0)
		goto out;
	for (size_t i = 0; i < flags.ntees; i++) {
		bool have = false;
		for (size_t j = 0; j < cfg.ntees; j++)
			have = have || strcmp(cfg.tees[j], flags.tees[i]) == 0;
		if (!have && cfg.ntees < CS_KBS_MAX_TEES) {
			cfg.tees[cfg.ntees++] = flags.tees[i];
			flags.tees[i] = NULL;
		}
	}
	cfg.insecure_admin = cfg.insecure_admin || flags.insecure_admin;
	cfg.dev = flags.dev;
	if (flags.threads != 0)
		cfg.threads = flags.threads;
	if (cfg.data_dir != NULL && mkdir(cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "custos-kbs: cannot create %s\n", cfg.data_dir);
		goto out;
	}
	if (cs_kbs_config_finish(&cfg, why, sizeof(why)) != CS_OK) {
		fprintf(stderr, "custos-kbs: %s\n", why);
		goto out;
	}
	if (cfg.dev && !is_loopback_listen(cfg.listen)) {
		fprintf(stderr, "custos-kbs: --dev listens on loopback only (got %s)\n",
		        cfg.listen);
		goto out;
	}
	cfg.log = log_line;
	if (cs_process_harden() != CS_OK) {
		fprintf(stderr, "custos-kbs: cannot harden the process\n");
		goto out;
	}
	if (cfg.dev)
		fprintf(stderr,
		        "\n"
		        "************************************************************************\n"
		        "*  custos-kbs DEVELOPMENT MODE: NOT FOR PRODUCTION                     *\n"
		        "*  - the sample TEE is enabled: it proves NOTHING about the platform,  *\n"
		        "*    and sample reference values are seeded so it appraises affirming *\n"
		        "*  - the admin API needs no authentication (loopback clients only)     *\n"
		        "************************************************************************"
		        "\n\n");
	if (cfg.insecure_admin && !cfg.dev)
		fprintf(stderr,
		        "custos-kbs: WARNING: --insecure-admin: the admin API is open to "
		        "every client that can reach %s\n",
		        cfg.listen);
	/* Block the signals before any thread starts, so that only sigwait below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	err = cs_kbs_start(&cfg, &k, why, sizeof(why));
	if (err != CS_OK) {
		fprintf(stderr, "custos-kbs: %s\n", why[0] ? why : cs_err_str(err));
		goto out;
	}
	fprintf(stderr,
	        "{\"ev\":\"start\",\"listen\":\"%s\",\"port\":%u,\"tls\":%s,\"tees\":%zu,"
	        "\"dev\":%s}\n",
	        cfg.listen, cs_kbs_port(k), cfg.tls_cert ? "true" : "false", cfg.ntees,
	        cfg.dev ? "true" : "false");
	do {
		if (sigwait(&set, &sig) != 0)
			sig = SIGTERM;
	} while (sig != SIGTERM && sig != SIGINT);
	fprintf(stderr, "{\"ev\":\"stop\",\"signal\":%d}\n", sig);
	cs_kbs_stop(k);
	rc = 0;
out:
	cs_kbs_config_fini(&flags);
	cs_kbs_config_fini(&cfg);
	return rc;
}

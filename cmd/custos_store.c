/*
 * `custos store`: direct access to a broker's store, for its operator (docs/store.md).
 *   audit verify  recomputes the audit hash chain and its head MAC; exit 1 with the first bad seq
 *   audit export  prints records as JSON lines (each with its hash), for archiving elsewhere
 *   rekey         rotates the master key (offline: stop every broker on the database first)
 * The store is opened exactly as the broker opens it, so the same key rules apply.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "custos.h"
#include "store/store.h"

/* The most an export holds in memory at once; larger logs are exported in pieces. */
#define EXPORT_CHUNK 100

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: custos store audit verify URL [--master-key FILE]\n"
	        "       custos store audit export URL [--master-key FILE] [--from SEQ] [--to SEQ]\n"
	        "       custos store rekey URL [--master-key FILE] --new-key FILE\n"
	        "\n"
	        "URL is the broker's store: sqlite:///path/kbs.db or postgresql://...\n"
	        "--master-key defaults to <database>.master-key for SQLite (required for\n"
	        "PostgreSQL). rekey is offline: stop every broker using the database first;\n"
	        "it creates --new-key when absent. Exit 0 ok, 1 the audit log does not verify,\n"
	        "2 usage or store error.\n");
}

static int
parse_seq(const char *s, uint64_t *v)
{
	char *end = NULL;
	unsigned long long x;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	x = strtoull(s, &end, 10);
	if (end == NULL || *end != '\0')
		return 0;
	*v = x;
	return 1;
}

static int
fail(const char *what, enum cs_err err)
{
	fprintf(stderr, "custos store: %s: %s\n", what, cs_err_str(err));
	return 2;
}

static int
audit_verify(struct cs_store *s)
{
	uint64_t count = 0, bad = 0;
	enum cs_err err = cs_store_audit_verify(s, &count, &bad);

	if (err == CS_ERR_VERIFY) {
		printf("audit log BROKEN at seq %llu\n", (unsigned long long)bad);
		return 1;
	}
	if (err != CS_OK)
		return fail("audit verify", err);
	printf("audit log intact: %llu records\n", (unsigned long long)count);
	return 0;
}

static int
audit_export(struct cs_store *s, uint64_t from, uint64_t to)
{
	struct cs_audit_rec *recs = NULL;
	struct cs_buf b;
	size_t n = 0;
	enum cs_err err = CS_OK;

	/* In pieces: list finds where each piece ends, export writes it. */
	while (to == 0 || from <= to) {
		err = cs_store_audit_list(s, from, EXPORT_CHUNK, &recs, &n);
		if (err != CS_OK || n == 0)
			break;
		uint64_t last = recs[n - 1].seq;
		cs_audit_recs_free(recs, n);
		if (to != 0 && last > to)
			last = to;
		cs_buf_init(&b, (size_t)EXPORT_CHUNK * (CS_STORE_VALUE_MAX + 256));
		err = cs_store_audit_export(s, from, last, &b);
		if (err == CS_OK && b.len > 0 && fwrite(b.p, 1, b.len, stdout) != b.len)
			err = CS_ERR_IO;
		cs_buf_fini(&b);
		if (err != CS_OK || last == UINT64_MAX)
			break;
		from = last + 1;
	}
	if (err == CS_OK && fflush(stdout) != 0)
		err = CS_ERR_IO;
	return err == CS_OK ? 0 : fail("audit export", err);
}

int
cs_cmd_store(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"master-key", required_argument, NULL, 'k'},
	        {"new-key", required_argument, NULL, 'n'},
	        {"from", required_argument, NULL, 'f'},
	        {"to", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cs_store_opts o = {0};
	struct cs_store *s = NULL;
	const char *newkey = NULL, *verb, *url;
	uint64_t from = 1, to = 0;
	int c, rc, audit;
	enum cs_err err;

	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	verb = argv[optind++];
	audit = strcmp(verb, "audit") == 0;
	if (audit) {
		if (optind >= argc) {
			usage(stderr);
			return 2;
		}
		verb = argv[optind++];
	} else if (strcmp(verb, "rekey") != 0) {
		usage(stderr);
		return 2;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	url = argv[optind++];
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'k') {
			o.master_key_path = optarg;
		} else if (c == 'n') {
			newkey = optarg;
		} else if ((c == 'f' && parse_seq(optarg, &from)) ||
		           (c == 't' && parse_seq(optarg, &to))) {
			continue;
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind != argc ||
	    (audit && strcmp(verb, "verify") != 0 && strcmp(verb, "export") != 0) ||
	    (!audit && newkey == NULL)) {
		usage(stderr);
		return 2;
	}
	err = cs_store_open(url, &o, &s);
	if (err != CS_OK)
		return fail("open", err);
	if (audit && strcmp(verb, "verify") == 0) {
		rc = audit_verify(s);
	} else if (audit) {
		rc = audit_export(s, from, to);
	} else {
		err = cs_store_rekey(s, newkey);
		rc = err == CS_OK ? 0 : fail("rekey", err);
		if (rc == 0)
			printf("master key rotated: the store now needs %s\n", newkey);
	}
	cs_store_free(s);
	return rc;
}

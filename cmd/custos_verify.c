/*
 * `custos verify`: offline verification of TEE evidence, printing the claims. SEV-SNP (`--tee
 * snp`, and `sim-snp` with its test roots) for now. The verdict comes from the same verifier the
 * broker runs. Exit 0 verified, 1 rejected (the reason on stderr), 2 usage or I/O error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "cli.h"
#include "custos.h"
#include "tee/snp/collateral.h"
#include "tee/snp/evidence.h"
#include "tee/snp/snp.h"
#include "tee/snp/verify.h"

#define FILE_MAX (4u << 20)

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: custos verify --tee snp|sim-snp (--report FILE | --evidence FILE)\n"
	        "                     [--vcek FILE] [--collateral DIR] [--online] [--roots DIR]\n"
	        "                     [--report-data HEX] [--init-data-digest HEX] [--product "
	        "NAME]\n"
	        "                     [--at RFC3339] [--json]\n"
	        "\n"
	        "--report    raw 1184-byte ATTESTATION_REPORT; --evidence: Trustee `snp` JSON\n"
	        "--vcek      the VCEK/VLEK (DER or PEM); else from the evidence, else from the\n"
	        "            collateral cache DIR (see `custos collateral`), else with --online\n"
	        "            from AMD KDS; CRLs cached in DIR apply, and a stale one is refused\n"
	        "--roots     DIR with milan.pem/genoa.pem/turin.pem (ASK, ARK[, ASVK]) instead of\n"
	        "            the built-in AMD roots; required for sim-snp (its test roots)\n"
	        "--report-data, --init-data-digest  expected REPORT_DATA / HOST_DATA (hex; "
	        "shorter\n"
	        "            values are zero-padded as Trustee does)\n"
	        "--product   Milan|Genoa|Turin, for v2 reports whose VCEK names no product\n"
	        "--at        verification time (default now)\n"
	        "--json      print the claims as JSON (default: a summary)\n");
}

/* Hex of at most max bytes into dst, zero-padded (Trustee's regularize_data). */
static int
hex_arg(const char *what, const char *s, uint8_t *dst, size_t max, size_t *len)
{
	struct cs_buf b;
	int ok;

	cs_buf_init(&b, max);
	ok = cs_hex_decode(&b, s, strlen(s)) == CS_OK;
	if (ok) {
		memset(dst, 0, max);
		if (b.len > 0)
			memcpy(dst, b.p, b.len);
		*len = b.len;
	} else {
		fprintf(stderr, "custos verify: %s: at most %zu bytes of hex\n", what, max);
	}
	cs_buf_fini(&b);
	return ok;
}

static void
print_summary(const struct cs_snp_verified *v)
{
	char hex[2 * 64 + 1];
	const struct cs_snp_report *r = &v->report;

	for (size_t i = 0; i < 48; i++)
		snprintf(hex + 2 * i, 3, "%02x", r->measurement[i]);
	printf("verified: SEV-SNP %s report v%u, %s-signed, VMPL %u\n",
	       cs_snp_product_name(v->product), r->version,
	       v->signer == CS_SNP_SIGNER_VLEK ? "VLEK" : "VCEK", r->vmpl);
	printf("measurement  %s\n", hex);
	for (size_t i = 0; i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", r->report_data[i]);
	printf("report_data  %s\n", hex);
	printf("reported_tcb bootloader %u tee %u snp %u microcode %u", v->reported_tcb.bootloader,
	       v->reported_tcb.tee, v->reported_tcb.snp, v->reported_tcb.microcode);
	if (v->product == CS_SNP_TURIN)
		printf(" fmc %u", v->reported_tcb.fmc);
	printf("\npolicy       0x%llx (debug %s, migration agent %s, SMT %s)\n",
	       (unsigned long long)r->policy, r->policy & CS_SNP_POLICY_DEBUG ? "ALLOWED" : "off",
	       r->policy & CS_SNP_POLICY_MIGRATE_MA ? "allowed" : "off",
	       r->policy & CS_SNP_POLICY_SMT ? "allowed" : "off");
}

struct verify_args {
	const char *tee, *report, *evidence, *vcek, *collateral, *roots, *at;
	const char *report_data, *init_data, *product;
	int json, online;
};

static int
parse_args(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = {
	        {"tee", required_argument, NULL, 't'},
	        {"report", required_argument, NULL, 'r'},
	        {"evidence", required_argument, NULL, 'e'},
	        {"vcek", required_argument, NULL, 'v'},
	        {"collateral", required_argument, NULL, 'c'},
	        {"roots", required_argument, NULL, 'R'},
	        {"report-data", required_argument, NULL, 'd'},
	        {"init-data-digest", required_argument, NULL, 'i'},
	        {"product", required_argument, NULL, 'p'},
	        {"at", required_argument, NULL, 'a'},
	        {"json", no_argument, NULL, 'j'},
	        {"online", no_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			a->tee = optarg;
			break;
		case 'r':
			a->report = optarg;
			break;
		case 'e':
			a->evidence = optarg;
			break;
		case 'v':
			a->vcek = optarg;
			break;
		case 'c':
			a->collateral = optarg;
			break;
		case 'R':
			a->roots = optarg;
			break;
		case 'd':
			a->report_data = optarg;
			break;
		case 'i':
			a->init_data = optarg;
			break;
		case 'p':
			a->product = optarg;
			break;
		case 'a':
			a->at = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'o':
			a->online = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || a->tee == NULL || (a->report == NULL) == (a->evidence == NULL)) {
		usage(stderr);
		return 2;
	}
	if (strcmp(a->tee, "snp") != 0 && strcmp(a->tee, "sim-snp") != 0) {
		fprintf(stderr, "custos verify: --tee %s: not supported by this command\n", a->tee);
		return 2;
	}
	if (strcmp(a->tee, "sim-snp") == 0 && a->roots == NULL) {
		fprintf(stderr, "custos verify: sim-snp needs --roots (its test roots)\n");
		return 2;
	}
	return -1;
}

/* Loads the report (raw bytes, any length) and the VEK (from the evidence or --vcek). */
static int
load_inputs(const struct verify_args *a, struct cs_buf *report, struct cs_buf *vek)
{
	struct cs_buf in;
	json_t *ev = NULL;
	uint8_t *dst;
	enum cs_err err;
	int ok;

	if (a->report != NULL)
		return cs_cli_read("custos verify", a->report, report) &&
		       (a->vcek == NULL || cs_cli_read("custos verify", a->vcek, vek));
	cs_buf_init(&in, FILE_MAX);
	ok = cs_cli_read("custos verify", a->evidence, &in);
	if (ok) {
		err = cs_json_parse(in.p, in.len, FILE_MAX, &ev);
		if (err == CS_OK)
			err = cs_buf_extend(report, CS_SNP_REPORT_LEN, &dst);
		if (err == CS_OK)
			err = cs_snp_evidence_parse(ev, dst, vek);
		if (err != CS_OK) {
			fprintf(stderr, "custos verify: %s: %s\n", a->evidence, cs_err_str(err));
			ok = 0;
		}
		json_decref(ev);
	}
	if (ok && a->vcek != NULL) {
		cs_buf_reset(vek);
		ok = cs_cli_read("custos verify", a->vcek, vek);
	}
	cs_buf_fini(&in);
	return ok;
}

int
cs_cmd_verify(int argc, char **argv)
{
	struct verify_args a;
	uint8_t rd[64], host[64];
	size_t rdlen = 0, hostlen = 0;
	struct cs_buf vek, report;
	struct cs_snp_trust *trust = NULL;
	struct cs_snp_verify_opts o = {0};
	struct cs_snp_verified v;
	json_t *claims = NULL;
	enum cs_err err;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	o.at = cs_clock_now();
	if (a.at != NULL && cs_time_parse_rfc3339(a.at, strlen(a.at), &o.at) != CS_OK) {
		fprintf(stderr, "custos verify: --at: not an RFC 3339 time\n");
		return 2;
	}
	if (a.report_data != NULL && !hex_arg("--report-data", a.report_data, rd, 64, &rdlen))
		return 2;
	if (a.init_data != NULL && !hex_arg("--init-data-digest", a.init_data, host, 64, &hostlen))
		return 2;
	o.report_data = a.report_data != NULL ? rd : NULL;
	o.host_data = a.init_data != NULL ? host : NULL;
	o.host_data_len = hostlen;
	if (a.product != NULL) {
		o.product = cs_snp_product_from_name(a.product, strlen(a.product));
		if (o.product == CS_SNP_PRODUCT_UNKNOWN) {
			fprintf(stderr, "custos verify: --product: Milan, Genoa or Turin\n");
			return 2;
		}
	}
	cs_buf_init(&vek, FILE_MAX);
	cs_buf_init(&report, FILE_MAX);
	rc = 2;
	if (!load_inputs(&a, &report, &vek))
		goto out;
	err = cs_snp_trust_new(a.roots, &trust);
	if (err != CS_OK) {
		fprintf(stderr, "custos verify: roots: %s\n", cs_err_str(err));
		goto out;
	}
	rc = 1;
	err = CS_OK;
	if (a.collateral != NULL) {
		int64_t next_update;

		err = cs_snp_trust_load_crls(trust, a.collateral, &next_update);
		if (err == CS_OK && o.at > next_update)
			err = CS_ERR_COLLATERAL; /* a stale CRL */
	}
	if (err == CS_OK && vek.len == 0 && report.len == CS_SNP_REPORT_LEN)
		err = cs_snp_find_vcek(a.collateral, a.online, report.p, &vek);
	if (err == CS_OK)
		err = cs_snp_verify(trust, report.p, report.len, vek.p, vek.len, &o, &v);
	if (err != CS_OK) {
		fprintf(stderr, "custos verify: rejected: %s (%s)\n", cs_err_str(err),
		        cs_err_name(err));
		goto out;
	}
	if (a.json) {
		struct cs_buf out;

		cs_buf_init(&out, FILE_MAX);
		err = cs_snp_claims(&v, &claims);
		if (err == CS_OK)
			err = cs_jcs(&out, claims);
		if (err == CS_OK)
			printf("%s\n", (const char *)out.p);
		cs_buf_fini(&out);
		if (err != CS_OK) {
			fprintf(stderr, "custos verify: %s\n", cs_err_str(err));
			rc = 2;
			goto out;
		}
	} else {
		print_summary(&v);
	}
	rc = 0;
out:
	json_decref(claims);
	cs_snp_trust_free(trust);
	cs_buf_fini(&vek);
	cs_buf_fini(&report);
	return rc;
}

/*
 * `custos sim snp`: the sim-snp simulator from the command line, for demos and end-to-end tests.
 *   init DIR     generates a test ARK/ASK/VCEK chain and chip identity into DIR (see
 *                src/tee/snp/sim.h); DIR is then both the attester's state
 *                ($CUSTOS_SIM_SNP_DIR) and the verifier's roots directory (--roots DIR)
 *   report DIR   writes one signed ATTESTATION_REPORT (the VCEK is DIR/vcek.der)
 * Exit 0 success, 2 usage or I/O error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/clock.h"
#include "crypto/rand.h"
#include "custos.h"
#include "tee/snp/sim.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: custos sim snp init DIR [--product Milan|Genoa|Turin] [--rsa-bits N]\n"
	           "       custos sim snp report DIR --out FILE [--report-data HEX]\n"
	           "                             [--measurement HEX] [--host-data HEX] [--version "
	           "3|5]\n"
	           "                             [--vmpl N] [--debug]\n");
}

static int
hex_opt(const char *what, const char *s, uint8_t *dst, size_t n)
{
	if (s == NULL)
		return 1;
	if (cs_hex_decode_fixed(dst, n, s, strlen(s)) != CS_OK) {
		fprintf(stderr, "custos sim: %s: exactly %zu bytes of hex\n", what, n);
		return 0;
	}
	return 1;
}

static int
cmd_init(const char *dir, const char *product, unsigned bits)
{
	struct cs_snp_sim_params p = {
	        .product = cs_snp_product_from_name(product, strlen(product)),
	        .tcb = {.bootloader = 10, .tee = 0, .snp = 23, .microcode = 84},
	        .rsa_bits = bits,
	};
	struct cs_snp_sim *s = NULL;
	enum cs_err err;

	if (p.product == CS_SNP_PRODUCT_UNKNOWN) {
		fprintf(stderr, "custos sim: --product: Milan, Genoa or Turin\n");
		return 2;
	}
	if (p.product == CS_SNP_TURIN)
		p.tcb = (struct cs_snp_tcb){
		        .fmc = 1, .bootloader = 3, .tee = 2, .snp = 5, .microcode = 0x61};
	/* A random chip identity (Turin's is 8 bytes). */
	err = cs_random(p.chip_id, p.product == CS_SNP_TURIN ? 8 : 64);
	p.not_before = cs_clock_now() - 86400;
	p.not_after = cs_clock_now() + 7 * 365 * 86400LL;
	if (err == CS_OK)
		err = cs_snp_sim_new(&p, &s);
	if (err == CS_OK)
		err = cs_snp_sim_save(s, dir);
	cs_snp_sim_free(s);
	if (err != CS_OK) {
		fprintf(stderr, "custos sim: %s: %s\n", dir, cs_err_str(err));
		return 2;
	}
	printf("sim-snp %s chip in %s\n", cs_snp_product_name(p.product), dir);
	return 0;
}

struct report_args {
	const char *out, *rd, *meas, *host;
	unsigned version, vmpl;
	int debug;
};

static int
cmd_report(const char *dir, const struct report_args *a)
{
	struct cs_snp_sim *s = NULL;
	struct cs_snp_report r;
	uint8_t rep[CS_SNP_REPORT_LEN];
	enum cs_err err;
	FILE *f;

	if (a->out == NULL || (a->version != 3 && a->version != 5)) {
		usage(stderr);
		return 2;
	}
	err = cs_snp_sim_load(dir, &s);
	if (err != CS_OK) {
		fprintf(stderr, "custos sim: %s: %s\n", dir, cs_err_str(err));
		return 2;
	}
	cs_snp_sim_template(s, a->version, &r);
	r.vmpl = a->vmpl;
	if (a->debug)
		r.policy |= CS_SNP_POLICY_DEBUG;
	if (!hex_opt("--report-data", a->rd, r.report_data, 64) ||
	    !hex_opt("--measurement", a->meas, r.measurement, 48) ||
	    !hex_opt("--host-data", a->host, r.host_data, 32)) {
		cs_snp_sim_free(s);
		return 2;
	}
	err = cs_snp_sim_sign(s, &r, rep);
	cs_snp_sim_free(s);
	if (err != CS_OK) {
		fprintf(stderr, "custos sim: sign: %s\n", cs_err_str(err));
		return 2;
	}
	f = fopen(a->out, "wb");
	if (f == NULL || fwrite(rep, 1, sizeof(rep), f) != sizeof(rep) || fclose(f) != 0) {
		fprintf(stderr, "custos sim: cannot write %s\n", a->out);
		return 2;
	}
	return 0;
}

int
cs_cmd_sim(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"product", required_argument, NULL, 'p'},
	        {"rsa-bits", required_argument, NULL, 'b'},
	        {"out", required_argument, NULL, 'o'},
	        {"report-data", required_argument, NULL, 'd'},
	        {"measurement", required_argument, NULL, 'm'},
	        {"host-data", required_argument, NULL, 'H'},
	        {"version", required_argument, NULL, 'v'},
	        {"vmpl", required_argument, NULL, 'V'},
	        {"debug", no_argument, NULL, 'D'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct report_args a = {.version = 3};
	const char *product = "Genoa";
	unsigned bits = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			product = optarg;
			break;
		case 'b':
			bits = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'o':
			a.out = optarg;
			break;
		case 'd':
			a.rd = optarg;
			break;
		case 'm':
			a.meas = optarg;
			break;
		case 'H':
			a.host = optarg;
			break;
		case 'v':
			a.version = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'V':
			a.vmpl = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'D':
			a.debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 3 || strcmp(argv[optind], "snp") != 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind + 1], "init") == 0)
		return cmd_init(argv[optind + 2], product, bits);
	if (strcmp(argv[optind + 1], "report") == 0)
		return cmd_report(argv[optind + 2], &a);
	usage(stderr);
	return 2;
}

/*
 * `custos collateral`: vendor collateral for offline and air-gapped verification (SEV-SNP now).
 *   fetch snp   on a connected machine: VCEK (+ cert_chain and CRL) from AMD KDS into a cache,
 *               and optionally a bundle of the whole cache
 *   add snp     a VCEK obtained elsewhere (cloud metadata, the host) into the cache, under the
 *               path its own extensions name
 *   export      the cache as one bundle file; import: a bundle into the cache of an isolated KBS
 * Exit 0 success, 1 collateral refused (bad bundle, bad certificate), 2 usage, I/O or network.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "cli.h"
#include "custos.h"
#include "tee/snp/collateral.h"
#include "tee/snp/verify.h"

#define FILE_MAX (64u << 20)

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: custos collateral fetch snp --cache DIR (--report FILE | --product NAME\n"
	        "                                   --hwid HEX --tcb "
	        "bl=N,tee=N,snp=N,ucode=N[,fmc=N])\n"
	        "                                   [--kds URL] [--out BUNDLE]\n"
	        "       custos collateral add snp --cache DIR --vcek FILE\n"
	        "       custos collateral export --cache DIR --out BUNDLE\n"
	        "       custos collateral import --cache DIR BUNDLE\n");
}

/* "bl=N,tee=N,snp=N,ucode=N[,fmc=N]" in any order. */
static int
parse_tcb(const char *s, struct cs_snp_tcb *t)
{
	int seen = 0;

	memset(t, 0, sizeof(*t));
	while (*s != '\0') {
		static const char *names[] = {"bl=", "tee=", "snp=", "ucode=", "fmc="};
		uint8_t *fields[] = {&t->bootloader, &t->tee, &t->snp, &t->microcode, &t->fmc};
		size_t i;
		char *end;
		unsigned long v;

		for (i = 0; i < 5; i++)
			if (strncmp(s, names[i], strlen(names[i])) == 0)
				break;
		if (i == 5)
			return 0;
		s += strlen(names[i]);
		v = strtoul(s, &end, 10);
		if (end == s || v > 255 || (*end != ',' && *end != '\0'))
			return 0;
		*fields[i] = (uint8_t)v;
		seen |= 1 << i;
		s = *end == ',' ? end + 1 : end;
	}
	return (seen & 0xF) == 0xF;
}

static int
fail(enum cs_err err, const char *what)
{
	fprintf(stderr, "custos collateral: %s: %s\n", what, cs_err_str(err));
	return err == CS_ERR_IO || err == CS_ERR_NETWORK || err == CS_ERR_TIMEOUT ||
	                       err == CS_ERR_RATE_LIMIT || err == CS_ERR_NOT_FOUND
	               ? 2
	               : 1;
}

struct coll_args {
	const char *cache, *out, *report, *product, *hwid, *tcb, *vcek, *kds;
};

static int
parse_args(int argc, char **argv, struct coll_args *a)
{
	/* clang-format off */
	static const struct option opts[] = {
	        {"cache", required_argument, NULL, 'c'},
	        {"out", required_argument, NULL, 'o'},
	        {"report", required_argument, NULL, 'r'},
	        {"product", required_argument, NULL, 'p'},
	        {"hwid", required_argument, NULL, 'w'},
	        {"tcb", required_argument, NULL, 't'},
	        {"vcek", required_argument, NULL, 'v'},
	        {"kds", required_argument, NULL, 'k'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	/* clang-format on */
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->cache = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'r':
			a->report = optarg;
			break;
		case 'p':
			a->product = optarg;
			break;
		case 'w':
			a->hwid = optarg;
			break;
		case 't':
			a->tcb = optarg;
			break;
		case 'v':
			a->vcek = optarg;
			break;
		case 'k':
			a->kds = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (a->cache == NULL) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The chip to fetch for: from a report, or from --product/--hwid/--tcb. */
static int
chip_from_args(const struct coll_args *a, enum cs_snp_product *p, uint8_t chip[64],
               struct cs_snp_tcb *tcb)
{
	memset(chip, 0, 64);
	if (a->report != NULL) {
		struct cs_buf b;
		struct cs_snp_report r;
		int ok;

		cs_buf_init(&b, 1 << 16);
		ok = cs_cli_read("custos collateral", a->report, &b) &&
		     cs_snp_report_parse(b.p, b.len, &r) == CS_OK;
		cs_buf_fini(&b);
		if (!ok) {
			fprintf(stderr, "custos collateral: %s: not an SNP report\n", a->report);
			return 0;
		}
		*p = cs_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
		if (*p == CS_SNP_PRODUCT_UNKNOWN && a->product != NULL)
			*p = cs_snp_product_from_name(a->product, strlen(a->product));
		memcpy(chip, r.chip_id, 64);
		if (*p == CS_SNP_PRODUCT_UNKNOWN ||
		    cs_snp_tcb_decode(r.reported_tcb, *p, tcb) != CS_OK) {
			fprintf(stderr, "custos collateral: v2 report: give --product\n");
			return 0;
		}
		return 1;
	}
	if (a->product == NULL || a->hwid == NULL || a->tcb == NULL) {
		usage(stderr);
		return 0;
	}
	*p = cs_snp_product_from_name(a->product, strlen(a->product));
	if (*p == CS_SNP_PRODUCT_UNKNOWN || !parse_tcb(a->tcb, tcb) ||
	    cs_hex_decode_fixed(chip, *p == CS_SNP_TURIN ? 8 : 64, a->hwid, strlen(a->hwid)) !=
	            CS_OK) {
		fprintf(stderr, "custos collateral: bad --product, --hwid or --tcb\n");
		return 0;
	}
	return 1;
}

static int
cmd_fetch(const struct coll_args *a)
{
	struct cs_snp_kds kds = {.base = a->kds, .attempts = CS_SNP_KDS_ATTEMPTS};
	enum cs_snp_product p;
	uint8_t chip[64];
	struct cs_snp_tcb tcb;
	struct cs_buf vek;
	enum cs_err err;

	if (!chip_from_args(a, &p, chip, &tcb))
		return 2;
	cs_buf_init(&vek, 1 << 16);
	err = cs_snp_kds_fetch_vcek(a->cache, &kds, p, chip, &tcb, &vek);
	cs_buf_fini(&vek);
	if (err != CS_OK)
		return fail(err, "KDS VCEK");
	err = cs_snp_kds_fetch_chain(a->cache, &kds, p);
	if (err != CS_OK)
		return fail(err, "KDS cert_chain/crl");
	if (a->out != NULL &&
	    (err = cs_snp_bundle_export(a->cache, a->out, cs_clock_now())) != CS_OK)
		return fail(err, a->out);
	return 0;
}

static int
cmd_add(const struct coll_args *a)
{
	struct cs_buf der, rel;
	struct cs_snp_vek_info info;
	enum cs_snp_product p;
	enum cs_err err;
	int rc = 2;

	if (a->vcek == NULL) {
		usage(stderr);
		return 2;
	}
	cs_buf_init(&der, 1 << 16);
	cs_buf_init(&rel, 512);
	if (!cs_cli_read("custos collateral", a->vcek, &der))
		goto out;
	rc = 1;
	err = cs_snp_vek_info_read(der.p, der.len, &info);
	p = cs_snp_product_from_name(info.product_name, strlen(info.product_name));
	if (err == CS_OK && (p == CS_SNP_PRODUCT_UNKNOWN || info.hwid_len == 0))
		err = CS_ERR_UNSUPPORTED; /* VLEKs come with the evidence, not from a cache */
	if (err == CS_OK)
		err = cs_snp_vcek_relpath(p, info.hwid, &info.tcb, &rel);
	if (err == CS_OK)
		err = cs_snp_cache_put(a->cache, (const char *)rel.p, der.p, der.len);
	if (err != CS_OK) {
		rc = fail(err, a->vcek);
		goto out;
	}
	printf("%s\n", (const char *)rel.p);
	rc = 0;
out:
	cs_buf_fini(&der);
	cs_buf_fini(&rel);
	return rc;
}

int
cs_cmd_collateral(int argc, char **argv)
{
	struct coll_args a;
	const char *verb;
	int rc, snp;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
	snp = argc >= 3 && strcmp(argv[2], "snp") == 0;
	optind = 1;
	rc = parse_args(argc - 1 - snp, argv + 1 + snp, &a);
	if (rc >= 0)
		return rc;
	if (strcmp(verb, "fetch") == 0 && snp && optind == argc - 1 - snp)
		return cmd_fetch(&a);
	if (strcmp(verb, "add") == 0 && snp && optind == argc - 1 - snp)
		return cmd_add(&a);
	if (strcmp(verb, "export") == 0 && a.out != NULL && optind == argc - 1) {
		enum cs_err err = cs_snp_bundle_export(a.cache, a.out, cs_clock_now());

		return err == CS_OK ? 0 : fail(err, a.out);
	}
	if (strcmp(verb, "import") == 0 && optind == argc - 2) {
		struct cs_buf b;
		size_t count = 0;
		enum cs_err err;

		cs_buf_init(&b, FILE_MAX);
		if (!cs_cli_read("custos collateral", argv[argc - 1], &b)) {
			cs_buf_fini(&b);
			return 2;
		}
		err = cs_snp_bundle_import(a.cache, b.p, b.len, &count);
		cs_buf_fini(&b);
		if (err != CS_OK)
			return fail(err, argv[argc - 1]);
		printf("imported %zu files into %s\n", count, a.cache);
		return 0;
	}
	usage(stderr);
	return 2;
}

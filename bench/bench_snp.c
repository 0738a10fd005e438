/*
 * bench_snp: SEV-SNP report verifications per second on one core, for a Genoa and a Milan report
 * from the fixtures, next to the cost of their signature checks measured in the same run:
 *   sig      SHA-384 over the signed range + ECDSA P-384 verify with the VCEK's key (the floor)
 *   warm     cs_snp_verify with the VCEK's chain cached (parse, signature, TCB/hwID, bindings)
 *   cold     a fresh trust each time: built-in roots loaded, VCEK parsed, chain verified
 *            (RSA-PSS ASK <- ARK and VCEK <- ASK), then the warm path; printed as the
 *            verification without its chain cached (cold minus roots) plus the roots load
 *            (cs_snp_trust_new of the 9 built-in certificates, once per process)
 *   claims   building the Trustee-named claims JSON of a verified report
 * Each measure is the best of 8 interleaved rounds.
 * Usage: bench_snp [FIXTURES_DIR] [SECONDS_PER_CASE]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/sig.h"
#include "crypto/x509.h"
#include "tee/snp/collateral.h"
#include "tee/snp/verify.h"

#define ROUNDS 8

struct sample {
	const char *name, *report, *vcek;
	struct cs_buf rep, vek;
};

static double
now_s(void)
{
	return (double)cs_clock_mono_ns() / 1e9;
}

struct ctx {
	struct sample *s;
	struct cs_snp_trust *t;
	struct cs_snp_verify_opts o;
	struct cs_snp_verified v;
	struct cs_key *k;
};

static int failures;

static void
check(enum cs_err err, const char *what)
{
	if (err != CS_OK) {
		fprintf(stderr, "bench_snp: %s: %s\n", what, cs_err_name(err));
		failures++;
	}
}

/* Runs fn until secs have passed; returns operations per second. */
static double
rate(double secs, void (*fn)(struct ctx *), struct ctx *c)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		for (int k = 0; k < 16; k++)
			fn(c);
		n += 16;
	} while ((t = now_s() - t0) < secs);
	return (double)n / t;
}

static void
op_sig(struct ctx *c)
{
	uint8_t d[48];
	const uint8_t *rep = c->s->rep.p;

	check(cs_hash(CS_SHA384, rep, CS_SNP_SIGNED_LEN, d), "hash");
	check(cs_ecdsa_verify_digest(c->k, d, sizeof(d), rep + CS_SNP_SIG_OFF, CS_SNP_SIG_LEN,
	                             CS_ECDSA_RAW_LE),
	      "sig");
}

static void
op_warm(struct ctx *c)
{
	check(cs_snp_verify(c->t, c->s->rep.p, c->s->rep.len, c->s->vek.p, c->s->vek.len, &c->o,
	                    &c->v),
	      "warm");
}

static void
op_cold(struct ctx *c)
{
	struct cs_snp_trust *t = NULL;

	check(cs_snp_trust_new(NULL, &t), "roots");
	check(cs_snp_verify(t, c->s->rep.p, c->s->rep.len, c->s->vek.p, c->s->vek.len, &c->o,
	                    &c->v),
	      "cold");
	cs_snp_trust_free(t);
}

static void
op_roots(struct ctx *c)
{
	struct cs_snp_trust *t = NULL;

	(void)c;
	check(cs_snp_trust_new(NULL, &t), "roots");
	cs_snp_trust_free(t);
}

static void
op_claims(struct ctx *c)
{
	json_t *j = NULL;

	check(cs_snp_claims(&c->v, &j), "claims");
	json_decref(j);
}

static int
load(const char *dir, struct sample *s)
{
	char path[1024];

	cs_buf_init(&s->rep, 1 << 16);
	cs_buf_init(&s->vek, 1 << 16);
	snprintf(path, sizeof(path), "%s/%s", dir, s->report);
	if (cs_file_read(path, &s->rep) != CS_OK)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, s->vcek);
	return cs_file_read(path, &s->vek) == CS_OK;
}

static void
bench(struct sample *s, double secs, int64_t at)
{
	struct ctx c = {.s = s, .o = {.at = at}};
	struct cs_x509 *x = NULL;
	double sig, warm, cold, roots, claims;

	check(cs_x509_from_der(s->vek.p, s->vek.len, &x), "vcek");
	check(cs_x509_pubkey(x, &c.k), "vcek key");
	check(cs_snp_trust_new(NULL, &c.t), "roots");
	op_warm(&c);
	if (failures == 0) {
		/* Interleaved rounds, best of each: the machine is shared, so a round that another
		 * process slowed says nothing about the code. */
		sig = warm = cold = roots = claims = 0;
		for (int r = 0; r < ROUNDS; r++) {
			sig = fmax(sig, rate(secs / ROUNDS, op_sig, &c));
			warm = fmax(warm, rate(secs / ROUNDS, op_warm, &c));
			cold = fmax(cold, rate(secs / ROUNDS, op_cold, &c));
			roots = fmax(roots, rate(secs / ROUNDS, op_roots, &c));
			claims = fmax(claims, rate(secs / ROUNDS, op_claims, &c));
		}
		printf("%-6s sig check %7.0f /s (%6.1f us) | verify, chain cached %7.0f /s (%6.1f "
		       "us, %.2fx sig) | verify, chain not cached %6.1f us (+ roots load %6.1f us) "
		       "| "
		       "claims %7.0f /s\n",
		       s->name, sig, 1e6 / sig, warm, 1e6 / warm, sig / warm,
		       1e6 / cold - 1e6 / roots, 1e6 / roots, claims);
	}
	cs_snp_trust_free(c.t);
	cs_key_free(c.k);
	cs_x509_free(x);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../shared/fixtures";
	double secs = argc > 2 ? atof(argv[2]) : 2.0;
	struct sample samples[] = {
	        {"Genoa",
	         "peers/tinfoil/tinfoil-genoa-report.bin",
	         "peers/tinfoil/tinfoil-genoa-vcek.der",
	         {0},
	         {0}},
	        {"Milan", "snp/trustee/test-report.bin", "snp/trustee/test-vcek.der", {0}, {0}},
	};
	int64_t at = 0;

	if (cs_time_parse_rfc3339("2026-11-30T00:00:00Z", 20, &at) != CS_OK)
		return 2;
	printf("bench_snp: one thread, %.1f s per case, reports from %s\n", secs, dir);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		if (!load(dir, &samples[i])) {
			fprintf(stderr, "bench_snp: %s: fixtures not found under %s\n",
			        samples[i].name, dir);
			return 2;
		}
		bench(&samples[i], secs, at);
		cs_buf_fini(&samples[i].rep);
		cs_buf_fini(&samples[i].vek);
	}
	return failures == 0 ? 0 : 1;
}

/*
 * rcar_load: load generator for a KBS. Measures, in one run:
 *   1. the crypto one RCAR round trip needs, through the same library calls the agent and the
 *      broker make (client: P-256 key generation, JCS + SHA-384 binding, JWE decrypt; broker:
 *      EAR token ES256 sign, token ES256 verify, JWE encrypt to the tee-pubkey);
 *   2. full round trips (new connection, auth, attest with the sample TEE, resource fetch and
 *      decrypt) per second, with p50/p99 latency;
 *   3. token-authenticated resource fetches per second (one attested session per thread).
 * Usage: rcar_load --kbs URL [--path repo/type/tag] [--threads N] [--seconds S] [--kbs-cores C]
 * --kbs-cores only divides the rates to give figures per broker core.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/rcar.h"
#include "base/clock.h"
#include "base/json.h"
#include "crypto/key.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/jwt.h"

#define MAX_SAMPLES 1000000

struct run {
	const char *kbs;
	const char *path;
	const struct cs_tee_ops *tee;
	double seconds;
	bool reuse; /* token fetches on one session instead of full round trips */
	pthread_mutex_t lock;
	uint64_t *lat_ns; /* samples, shared */
	size_t nlat;
	uint64_t ok, errors;
};

static double
now_s(void)
{
	return (double)cs_clock_mono_ns() / 1e9;
}

static void
record(struct run *r, uint64_t ns, bool ok)
{
	pthread_mutex_lock(&r->lock);
	if (ok) {
		r->ok++;
		if (r->nlat < MAX_SAMPLES)
			r->lat_ns[r->nlat++] = ns;
	} else {
		r->errors++;
	}
	pthread_mutex_unlock(&r->lock);
}

static void *
worker(void *arg)
{
	struct run *r = arg;
	struct cs_rcar_cfg cfg = {.kbs_url = r->kbs, .tee = r->tee};
	struct cs_rcar *s = NULL;
	struct cs_buf out;
	double end = now_s() + r->seconds;

	cs_buf_init(&out, CS_RCAR_RESOURCE_MAX);
	if (r->reuse && (cs_rcar_new(&cfg, &s) != CS_OK || cs_rcar_attest(s) != CS_OK)) {
		record(r, 0, false);
		goto out;
	}
	while (now_s() < end) {
		uint64_t t0 = cs_clock_mono_ns();
		enum cs_err err;

		if (!r->reuse) {
			/* A fresh client: new connection, new key, the whole exchange. */
			if ((err = cs_rcar_new(&cfg, &s)) == CS_OK)
				err = cs_rcar_get_resource(s, r->path, &out);
			cs_rcar_free(s);
			s = NULL;
		} else {
			err = cs_rcar_get_resource(s, r->path, &out);
		}
		cs_buf_reset(&out);
		record(r, cs_clock_mono_ns() - t0, err == CS_OK);
		if (err != CS_OK && r->errors == 1)
			fprintf(stderr, "rcar_load: %s\n", cs_err_str(err));
	}
out:
	cs_rcar_free(s);
	cs_buf_fini(&out);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Runs the load; prints and returns the rate (per second, whole broker). */
static double
load(struct run *r, unsigned threads, const char *what, unsigned cores)
{
	pthread_t th[256];
	double t0, el, rate;

	r->nlat = 0;
	r->ok = r->errors = 0;
	t0 = now_s();
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, r);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	el = now_s() - t0;
	qsort(r->lat_ns, r->nlat, sizeof(r->lat_ns[0]), cmp_u64);
	rate = (double)r->ok / el;
	printf("%-28s %9.0f /s  %9.0f /s/core  p50 %7.3f ms  p99 %7.3f ms  (%llu ok, %llu errors, "
	       "%u threads, %.1f s)\n",
	       what, rate, rate / cores, r->nlat ? (double)r->lat_ns[r->nlat / 2] / 1e6 : 0.0,
	       r->nlat ? (double)r->lat_ns[r->nlat * 99 / 100] / 1e6 : 0.0,
	       (unsigned long long)r->ok, (unsigned long long)r->errors, threads, el);
	return rate;
}

/* Sets var to the microseconds per execution of body, repeated for about 0.5 s. */
#define TIME_OP(var, label, body)                                                                  \
	do {                                                                                       \
		uint64_t n_ = 0, t0_ = cs_clock_mono_ns(), el_;                                    \
		do {                                                                               \
			body;                                                                      \
			n_++;                                                                      \
		} while ((el_ = cs_clock_mono_ns() - t0_) < 500000000ull);                         \
		(var) = (double)el_ / 1e3 / (double)n_;                                            \
		printf("  %-38s %9.1f us\n", label, (var));                                        \
	} while (0)

static int
crypto_costs(double *broker_rt_us, double *broker_fetch_us)
{
	struct cs_key *k = NULL, *signer = NULL;
	struct cs_jwk jwk, *pj = &jwk;
	struct cs_buf jwe, pt, tok, payload;
	json_t *pub = NULL, *claims = NULL, *got = NULL;
	uint8_t rd[CS_REPORT_DATA_LEN], secret[32] = {1};
	double kg, bind, sign, verify, enc, dec;
	unsigned e = CS_OK;

	cs_jwk_init(&jwk);
	cs_buf_init(&jwe, 1u << 20);
	cs_buf_init(&pt, 1u << 20);
	cs_buf_init(&tok, 1u << 20);
	cs_buf_init(&payload, 1u << 20);
	if (cs_key_generate(CS_KEY_EC_P256, 0, &k) != CS_OK ||
	    cs_jwk_from_key(k, "ECDH-ES+A256KW", &jwk) != CS_OK ||
	    cs_jwk_public_json(&jwk, &pub) != CS_OK ||
	    cs_key_generate(CS_KEY_EC_P256, 0, &signer) != CS_OK)
		return -1;
	claims = json_pack("{s:I, s:I, s:s, s:{s:{s:s, s:{s:O}}}}", (const char *)"iat",
	                   (json_int_t)cs_clock_now(), "exp", (json_int_t)cs_clock_now() + 300,
	                   "iss", "custos", "submods", "cpu0", "ear.status", "affirming",
	                   "ear.veraison.annotated-evidence", "tee-pubkey", pub);
	printf("crypto of one round trip (this library, this machine, one core):\n");
	TIME_OP(kg, "client: P-256 key generation", {
		struct cs_key *t = NULL;
		e |= cs_key_generate(CS_KEY_EC_P256, 0, &t);
		cs_key_free(t);
	});
	TIME_OP(bind, "client+broker: JCS + SHA-384 binding",
	        e |= cs_rcar_report_data(CS_SHA384, "bm9uY2U=", pub, "", rd));
	TIME_OP(sign, "broker: EAR token ES256 sign", {
		cs_buf_reset(&tok);
		e |= cs_jwt_issue(CS_JWS_ES256, signer, claims, NULL, &tok);
	});
	TIME_OP(verify, "broker: token ES256 verify", {
		json_t *c = NULL;
		e |= cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, signer,
		                   cs_clock_now(), 60, 0, &c, NULL);
		json_decref(c);
	});
	TIME_OP(enc, "broker: JWE encrypt (ECDH-ES+A256KW)", {
		cs_buf_reset(&jwe);
		e |= cs_jwe_encrypt(pj, 0, CS_JWE_FLAT, secret, sizeof(secret), &jwe);
	});
	TIME_OP(dec, "client: JWE decrypt", {
		cs_buf_reset(&pt);
		e |= cs_jwe_decrypt(pj, CS_JWE_ECDH_ES_A256KW, jwe.p, jwe.len, 1u << 20, &pt);
	});
	/* The broker's share: it recomputes the binding, signs the token, verifies it on the
	 * fetch and encrypts; the client generates the key and decrypts. */
	*broker_rt_us = bind + sign + verify + enc;
	*broker_fetch_us = verify + enc;
	printf("  %-38s %9.1f us (broker %.1f us, client %.1f us)\n", "= one full round trip",
	       kg + 2 * bind + sign + verify + enc + dec, *broker_rt_us, kg + bind + dec);
	printf("  %-38s %9.1f us (broker %.1f us, client %.1f us)\n",
	       "= one token-authenticated fetch", verify + enc + dec, *broker_fetch_us, dec);
	json_decref(got);
	json_decref(claims);
	json_decref(pub);
	cs_key_free(signer);
	cs_jwk_fini(&jwk);
	cs_buf_fini(&jwe);
	cs_buf_fini(&pt);
	cs_buf_fini(&tok);
	cs_buf_fini(&payload);
	return e == CS_OK ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"kbs", required_argument, NULL, 'k'},
	        {"path", required_argument, NULL, 'p'},
	        {"threads", required_argument, NULL, 't'},
	        {"seconds", required_argument, NULL, 's'},
	        {"kbs-cores", required_argument, NULL, 'c'},
	        {NULL, 0, NULL, 0},
	};
	struct run r = {.kbs = NULL, .path = "default/bench/secret", .seconds = 5};
	unsigned threads = 4, cores = 1;
	double rt_us, fetch_us, rt_rate, fetch_rate;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'k')
			r.kbs = optarg;
		else if (ch == 'p')
			r.path = optarg;
		else if (ch == 't')
			threads = (unsigned)strtoul(optarg, NULL, 10);
		else if (ch == 's')
			r.seconds = strtod(optarg, NULL);
		else if (ch == 'c')
			cores = (unsigned)strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (r.kbs == NULL || threads == 0 || threads > 256 || cores == 0 || r.seconds <= 0) {
		fprintf(stderr, "usage: rcar_load --kbs URL [--path P] [--threads N] [--seconds S] "
		                "[--kbs-cores C]\n");
		return 2;
	}
	if ((r.tee = cs_tee_find("sample")) == NULL || crypto_costs(&rt_us, &fetch_us) != 0) {
		fprintf(stderr, "rcar_load: setup failed\n");
		return 2;
	}
	r.lat_ns = calloc(MAX_SAMPLES, sizeof(uint64_t));
	pthread_mutex_init(&r.lock, NULL);
	printf("load against %s (%u broker core%s):\n", r.kbs, cores, cores == 1 ? "" : "s");
	r.reuse = false;
	rt_rate = load(&r, threads, "full RCAR + fetch", cores);
	r.reuse = true;
	fetch_rate = load(&r, threads, "token-authenticated fetch", cores);
	/* Per broker core, the time one operation costs the broker, against its crypto. */
	printf("round trip: %.1f us of broker core time vs %.1f us of broker crypto: %.2fx "
	       "(goal < 2x)\n",
	       1e6 / (rt_rate / cores), rt_us, 1e6 / (rt_rate / cores) / rt_us);
	printf("fetch: %.1f us of broker core time vs %.1f us of broker crypto: %.2fx; "
	       "%.0f /s/core (goal >= 2000)\n",
	       1e6 / (fetch_rate / cores), fetch_us, 1e6 / (fetch_rate / cores) / fetch_us,
	       fetch_rate / cores);
	free(r.lat_ns);
	return 0;
}

/*
 * rcar_load: load generator for a KBS. Measures, in one run:
 *   1. the crypto one RCAR round trip needs, through the same library calls the agent and the
 *      broker make (client: P-256 key generation, JCS + SHA-384 binding, JWE decrypt; broker:
 *      the binding, tee-pubkey JWK import with its point check, EAR token ES256 sign, token
 *      ES256 verify, JWE encrypt to the tee-pubkey, session cookie AES-GCM seal and open);
 *   2. full round trips (new connection, auth, attest with the sample TEE, resource fetch and
 *      decrypt) per second, with p50/p99 latency; then the same on a kept connection (one client
 *      re-attesting with a fresh key each time, as the agent's token cache does on expiry), which
 *      leaves the TCP connection setup out;
 *   3. token-authenticated resource fetches per second (one attested session per thread).
 * Usage: rcar_load --kbs URL [--path repo/type/tag] [--threads N] [--seconds S] [--kbs-cores C]
 *                  [--kbs-pid PID]
 * --kbs-cores only divides the rates to give figures per broker core. --kbs-pid (a broker on this
 * machine) adds the broker's CPU time per operation, read from /proc/PID/stat around each phase:
 * on a shared machine, where the broker's core is not its own, that is the figure to compare with
 * the crypto (it leaves out time a worker waits, e.g. on an fsync, which the rate includes).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/rcar.h"
#include "base/clock.h"
#include "base/json.h"
#include "crypto/key.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "kbs/session.h"

#define MAX_SAMPLES 1000000

struct run {
	const char *kbs;
	const char *path;
	const struct cs_tee_ops *tee;
	double seconds;
	bool reuse; /* token fetches on one session instead of full round trips */
	bool keep;  /* full round trips on one client (its connection kept) */
	pthread_mutex_t lock;
	uint64_t *lat_ns; /* samples, shared */
	size_t nlat;
	uint64_t ok, errors;
	long kbs_pid;  /* 0: unknown */
	double cpu_us; /* the broker's CPU time per operation of the last phase; < 0: unknown */
};

/* The CPU time (user + system, all threads, seconds) of process pid so far; < 0 on failure. */
static double
proc_cpu_s(long pid)
{
	char path[64], line[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* Fields 14 and 15, counted after the ")" that ends the command name (field 2): the
	 * state letter (field 3), ten numbers (4-13), then utime and stime. */
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	p += 1;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return -1;
	p++;
	for (int i = 0; i < 10; i++) {
		char *end;
		(void)strtoll(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	{
		char *e1, *e2;
		ut = strtoull(p, &e1, 10);
		st = strtoull(e1, &e2, 10);
		if (e1 == p || e2 == e1)
			return -1;
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

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
	if (r->keep && cs_rcar_new(&cfg, &s) != CS_OK) {
		record(r, 0, false);
		goto out;
	}
	if (r->reuse && (cs_rcar_new(&cfg, &s) != CS_OK || cs_rcar_attest(s) != CS_OK)) {
		record(r, 0, false);
		goto out;
	}
	while (now_s() < end) {
		uint64_t t0 = cs_clock_mono_ns();
		enum cs_err err;

		if (r->keep) {
			/* The whole exchange again (new key, auth, attest, fetch), same connection.
			 */
			if ((err = cs_rcar_attest(s)) == CS_OK)
				err = cs_rcar_get_resource(s, r->path, &out);
		} else if (!r->reuse) {
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
	double t0, el, rate, c0 = r->kbs_pid ? proc_cpu_s(r->kbs_pid) : -1, c1;

	r->nlat = 0;
	r->ok = r->errors = 0;
	t0 = now_s();
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, r);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	el = now_s() - t0;
	c1 = c0 >= 0 ? proc_cpu_s(r->kbs_pid) : -1;
	r->cpu_us = c1 >= 0 && r->ok > 0 ? (c1 - c0) * 1e6 / (double)r->ok : -1;
	qsort(r->lat_ns, r->nlat, sizeof(r->lat_ns[0]), cmp_u64);
	rate = (double)r->ok / el;
	printf("%-28s %9.0f /s  %9.0f /s/core  p50 %7.3f ms  p99 %7.3f ms  (%llu ok, %llu errors, "
	       "%u threads, %.1f s)\n",
	       what, rate, rate / cores, r->nlat ? (double)r->lat_ns[r->nlat / 2] / 1e6 : 0.0,
	       r->nlat ? (double)r->lat_ns[r->nlat * 99 / 100] / 1e6 : 0.0,
	       (unsigned long long)r->ok, (unsigned long long)r->errors, threads, el);
	if (r->cpu_us >= 0)
		printf("%-28s %9.1f us of broker CPU per operation (all its threads)\n", "",
		       r->cpu_us);
	return rate;
}

/* CPU time of the calling thread, ns: the crypto figures are per CPU-second, as the broker's. */
static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sets var to the CPU microseconds per execution of body, repeated for about 0.5 s of CPU. */
#define TIME_OP(var, label, body)                                                                  \
	do {                                                                                       \
		uint64_t n_ = 0, t0_ = thread_cpu_ns(), el_;                                       \
		do {                                                                               \
			body;                                                                      \
			n_++;                                                                      \
		} while ((el_ = thread_cpu_ns() - t0_) < 500000000ull);                            \
		(var) = (double)el_ / 1e3 / (double)n_;                                            \
		printf("  %-38s %9.1f us\n", label, (var));                                        \
	} while (0)

/*
 * The broker's crypto per operation. Round trip: auth seals a cookie; attest opens it, recomputes
 * the binding, imports the tee-pubkey, signs the token and seals the attested cookie; the resource
 * GET opens that cookie and encrypts. The token is verified on the GET only when this process has
 * not seen it (tokcache.h: a token it issued or verified already is not verified again), so the
 * figures this bench compares against are those with the cache (*_us), and those without it
 * (*_nc_us) are printed beside them. A token-authenticated fetch (the agent sends the attested
 * session's cookie, which carries the token): cookie open and encrypt (+ verify without cache).
 */
struct broker_crypto {
	double rt_us, rt_nc_us, fetch_us, fetch_nc_us;
};

static int
crypto_costs(struct broker_crypto *bc)
{
	struct cs_key *k = NULL, *signer = NULL;
	struct cs_jwk jwk, *pj = &jwk;
	struct cs_buf jwe, pt, tok, payload;
	json_t *pub = NULL, *claims = NULL, *got = NULL;
	uint8_t rd[CS_REPORT_DATA_LEN], secret[32] = {1};
	double kg, bind, imp, sign, verify, enc, dec, seal, open;
	uint8_t skey[CS_SESSION_KEY_LEN] = {7};
	struct cs_session sess = {.state = CS_SESSION_ATTESTED, .tee = "sample"};
	struct cs_buf cookie;
	unsigned e = CS_OK;

	cs_jwk_init(&jwk);
	cs_buf_init(&jwe, 1u << 20);
	cs_buf_init(&pt, 1u << 20);
	cs_buf_init(&tok, 1u << 20);
	cs_buf_init(&payload, 1u << 20);
	cs_buf_init(&cookie, CS_SESSION_COOKIE_MAX);
	if (cs_key_generate(CS_KEY_EC_P256, 0, &k) != CS_OK ||
	    cs_jwk_from_key(k, "ECDH-ES+A256KW", &jwk) != CS_OK ||
	    cs_jwk_public_json(&jwk, &pub) != CS_OK ||
	    cs_key_generate(CS_KEY_EC_P256, 0, &signer) != CS_OK)
		return -1;
	claims = json_pack("{s:I, s:I, s:s, s:{s:{s:s, s:{s:O}}}}", (const char *)"iat",
	                   (json_int_t)cs_clock_now(), "exp", (json_int_t)cs_clock_now() + 300,
	                   "iss", "custos", "submods", "cpu0", "ear.status", "affirming",
	                   "ear.veraison.annotated-evidence", "tee-pubkey", pub);
	printf("crypto of one round trip (this library, this machine, CPU time of one thread):\n");
	TIME_OP(kg, "client: P-256 key generation", {
		struct cs_key *t = NULL;
		e |= cs_key_generate(CS_KEY_EC_P256, 0, &t);
		cs_key_free(t);
	});
	TIME_OP(bind, "client+broker: JCS + SHA-384 binding",
	        e |= cs_rcar_report_data(CS_SHA384, "bm9uY2U=", pub, "", rd));
	TIME_OP(imp, "broker: tee-pubkey JWK import", {
		struct cs_jwk t;
		cs_jwk_init(&t);
		e |= cs_jwk_parse(pub, &t);
		cs_jwk_fini(&t);
	});
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
	sess.token = (char *)tok.p;
	sess.token_len = tok.len;
	sess.expires = cs_clock_now() + 300;
	TIME_OP(seal, "broker: session cookie seal (AES-GCM)", {
		cs_buf_reset(&cookie);
		e |= cs_session_seal(skey, &sess, &cookie);
	});
	TIME_OP(open, "broker: session cookie open (AES-GCM)", {
		struct cs_session t;
		e |= cs_session_open(skey, (const char *)cookie.p, cookie.len, cs_clock_now(), &t);
		cs_session_fini(&t);
	});
	TIME_OP(enc, "broker: JWE encrypt (ECDH-ES+A256KW)", {
		cs_buf_reset(&jwe);
		e |= cs_jwe_encrypt(pj, 0, CS_JWE_FLAT, secret, sizeof(secret), &jwe);
	});
	TIME_OP(dec, "client: JWE decrypt", {
		cs_buf_reset(&pt);
		e |= cs_jwe_decrypt(pj, CS_JWE_ECDH_ES_A256KW, jwe.p, jwe.len, 1u << 20, &pt);
	});
	/* The broker's share (see struct broker_crypto); the client generates the key, computes
	 * the binding and decrypts. */
	bc->rt_us = bind + imp + sign + enc + 2 * seal + 2 * open;
	bc->rt_nc_us = bc->rt_us + verify;
	bc->fetch_us = open + enc; /* the agent fetches with the attested session's cookie */
	bc->fetch_nc_us = bc->fetch_us + verify;
	printf("  %-38s %9.1f us (broker %.1f us; %.1f us with a token verify; client %.1f us)\n",
	       "= one full round trip", kg + bind + dec + bc->rt_us, bc->rt_us, bc->rt_nc_us,
	       kg + bind + dec);
	printf("  %-38s %9.1f us (broker %.1f us; %.1f us with a token verify; client %.1f us)\n",
	       "= one token-authenticated fetch", bc->fetch_us + dec, bc->fetch_us, bc->fetch_nc_us,
	       dec);
	json_decref(got);
	json_decref(claims);
	json_decref(pub);
	cs_key_free(signer);
	cs_jwk_fini(&jwk);
	cs_buf_fini(&jwe);
	cs_buf_fini(&pt);
	cs_buf_fini(&tok);
	cs_buf_fini(&payload);
	cs_buf_fini(&cookie);
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
	        {"kbs-pid", required_argument, NULL, 'P'},
	        {NULL, 0, NULL, 0},
	};
	struct run r = {.kbs = NULL, .path = "default/bench/secret", .seconds = 5};
	unsigned threads = 4, cores = 1;
	struct broker_crypto bc;
	double rt_rate, fetch_rate, keep_rate, rt_core_us, fetch_core_us, rt_cpu_us, fetch_cpu_us,
	        keep_cpu_us;
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
		else if (ch == 'P')
			r.kbs_pid = strtol(optarg, NULL, 10);
		else
			return 2;
	}
	if (r.kbs == NULL || threads == 0 || threads > 256 || cores == 0 || r.seconds <= 0) {
		fprintf(stderr, "usage: rcar_load --kbs URL [--path P] [--threads N] [--seconds S] "
		                "[--kbs-cores C] [--kbs-pid PID]\n");
		return 2;
	}
	if ((r.tee = cs_tee_find("sample")) == NULL || crypto_costs(&bc) != 0) {
		fprintf(stderr, "rcar_load: setup failed\n");
		return 2;
	}
	r.lat_ns = calloc(MAX_SAMPLES, sizeof(uint64_t));
	pthread_mutex_init(&r.lock, NULL);
	printf("load against %s (%u broker core%s):\n", r.kbs, cores, cores == 1 ? "" : "s");
	r.reuse = false;
	rt_rate = load(&r, threads, "full RCAR + fetch", cores);
	rt_cpu_us = r.cpu_us;
	r.keep = true;
	keep_rate = load(&r, threads, "full RCAR + fetch, kept conn", cores);
	keep_cpu_us = r.cpu_us;
	r.keep = false;
	r.reuse = true;
	fetch_rate = load(&r, threads, "token-authenticated fetch", cores);
	fetch_cpu_us = r.cpu_us;
	/* Per broker core, the time one operation costs the broker, against its crypto: the crypto
	 * it does (token cache hit), and in brackets what it would be with a token verify. */
	rt_core_us = 1e6 / (rt_rate / cores);
	fetch_core_us = 1e6 / (fetch_rate / cores);
	printf("round trip: %.1f us of broker core time vs %.1f us of broker crypto: %.2fx "
	       "(goal < 2x) [%.1f us, %.2fx with a token verify]\n",
	       rt_core_us, bc.rt_us, rt_core_us / bc.rt_us, bc.rt_nc_us, rt_core_us / bc.rt_nc_us);
	printf("fetch: %.1f us of broker core time vs %.1f us of broker crypto: %.2fx "
	       "[%.1f us, %.2fx with a token verify]; %.0f /s/core (goal >= 2000)\n",
	       fetch_core_us, bc.fetch_us, fetch_core_us / bc.fetch_us, bc.fetch_nc_us,
	       fetch_core_us / bc.fetch_nc_us, fetch_rate / cores);
	printf("round trip, kept connection: %.1f us of broker core time: %.2fx\n",
	       1e6 / (keep_rate / cores), 1e6 / (keep_rate / cores) / bc.rt_us);
	if (rt_cpu_us >= 0 && fetch_cpu_us >= 0) {
		printf("round trip: %.1f us of broker CPU vs %.1f us of broker crypto: %.2fx "
		       "(goal < 2x) [%.2fx with a token verify]\n",
		       rt_cpu_us, bc.rt_us, rt_cpu_us / bc.rt_us, rt_cpu_us / bc.rt_nc_us);
		printf("round trip, kept connection: %.1f us of broker CPU: %.2fx "
		       "[%.2fx with a token verify]\n",
		       keep_cpu_us, keep_cpu_us / bc.rt_us, keep_cpu_us / bc.rt_nc_us);
		printf("fetch: %.1f us of broker CPU vs %.1f us of broker crypto: %.2fx "
		       "[%.2fx with a token verify]; %.0f /s per CPU-second (goal >= 2000)\n",
		       fetch_cpu_us, bc.fetch_us, fetch_cpu_us / bc.fetch_us,
		       fetch_cpu_us / bc.fetch_nc_us, 1e6 / fetch_cpu_us);
	}
	free(r.lat_ns);
	return 0;
}

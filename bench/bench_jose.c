/*
 * bench_jose: JOSE operations per second per core, each next to the same primitives called
 * directly through the crypto wrappers in the same run, so the ratio is the JOSE layer's own
 * cost (header building and parsing, base64url, JSON, allow-list checks).
 *
 *   bench_jose [seconds-per-measurement [name-filter]]
 *                                  (default 0.5; 3 interleaved rounds, best kept; with a filter,
 *                                   only the rows whose name contains it, e.g. for perf record)
 *
 * Rates are per CPU-second of this thread (CLOCK_THREAD_CPUTIME_ID), so they are per core and
 * hold on a shared machine. The payload is a 32-byte key, as in a KBS resource release.
 *
 * After the table, the bare OpenSSL operations the rows rest on, measured the way `openssl speed`
 * measures them (a context initialized once, then only the operation in the loop), and the
 * recipient's ECDH with the import of the sender's ephemeral point that JWE decryption cannot
 * skip (the cheapest EVP import: a parameter template duplicated and the point set, which
 * checks it is on the curve).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/pke.h"
#include "crypto/rand.h"
#include "crypto/sig.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/jws.h"

static double secs = 0.5;

struct ctx {
	struct cs_jwk ec, rsa;          /* recipients (private) */
	struct cs_key *es256, *ed, *rs; /* signers */
	struct cs_buf jwe_ec, jwe_rsa;  /* one JWE of each, for decryption */
	struct cs_buf tok[3];           /* one JWS of each alg, for verification */
	struct cs_buf out;
	uint8_t eph_x[32], eph_y[32]; /* an ephemeral public key, as a decryptor gets it */
	uint8_t ek_ec[40], ct[32], tag[16], iv[12];
	struct cs_buf ek_rsa;
	uint8_t sig[3][512];
	size_t siglen[3];
	/* bare OpenSSL references: contexts initialized once */
	EVP_PKEY_CTX *r_derive, *r_keygen, *r_sign, *r_oaep, *r_verify;
	EVP_PKEY *r_tmpl, *r_peer;
	EVP_MD *r_sha256; /* fetched once, as the wrappers do */
	uint8_t r_point[65];
};

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
static const char hdr_es256[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0"; /* signing input */

static double
now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
must(enum cs_err err, const char *what)
{
	if (err != CS_OK) {
		fprintf(stderr, "bench_jose: %s: %s\n", what, cs_err_name(err));
		exit(1);
	}
}

typedef void (*op_fn)(struct ctx *c);

/* ---- JOSE operations ---- */

static void
jose_enc_ec(struct ctx *c)
{
	cs_buf_reset(&c->out);
	must(cs_jwe_encrypt(&c->ec, 0, CS_JWE_FLAT, secret, sizeof(secret), &c->out), "jwe enc ec");
}

static void
jose_dec_ec(struct ctx *c)
{
	cs_buf_reset(&c->out);
	must(cs_jwe_decrypt(&c->ec, CS_JWE_ECDH_ES_A256KW, c->jwe_ec.p, c->jwe_ec.len, 1 << 16,
	                    &c->out),
	     "jwe dec ec");
}

static void
jose_enc_rsa(struct ctx *c)
{
	cs_buf_reset(&c->out);
	must(cs_jwe_encrypt(&c->rsa, 0, CS_JWE_FLAT, secret, sizeof(secret), &c->out),
	     "jwe enc rsa");
}

static void
jose_dec_rsa(struct ctx *c)
{
	cs_buf_reset(&c->out);
	must(cs_jwe_decrypt(&c->rsa, CS_JWE_RSA_OAEP_256, c->jwe_rsa.p, c->jwe_rsa.len, 1 << 16,
	                    &c->out),
	     "jwe dec rsa");
}

static void
jws_sign(struct ctx *c, enum cs_jws_alg alg, const struct cs_key *k)
{
	cs_buf_reset(&c->out);
	must(cs_jws_sign(alg, k, NULL, (const uint8_t *)"{\"sub\":\"test\"}", 14, &c->out),
	     "jws sign");
}

static void
jws_verify(struct ctx *c, int i, enum cs_jws_alg alg, const struct cs_key *k)
{
	cs_buf_reset(&c->out);
	must(cs_jws_verify((const char *)c->tok[i].p, c->tok[i].len, 0, alg, k, &c->out, NULL,
	                   NULL),
	     "jws verify");
}

static void
jose_sign_es256(struct ctx *c)
{
	jws_sign(c, CS_JWS_ES256, c->es256);
}
static void
jose_sign_eddsa(struct ctx *c)
{
	jws_sign(c, CS_JWS_EDDSA, c->ed);
}
static void
jose_sign_rs256(struct ctx *c)
{
	jws_sign(c, CS_JWS_RS256, c->rs);
}
static void
jose_verify_es256(struct ctx *c)
{
	jws_verify(c, 0, CS_JWS_ES256, c->es256);
}
static void
jose_verify_eddsa(struct ctx *c)
{
	jws_verify(c, 1, CS_JWS_EDDSA, c->ed);
}
static void
jose_verify_rs256(struct ctx *c)
{
	jws_verify(c, 2, CS_JWS_RS256, c->rs);
}

/* ---- the same primitives, called directly ---- */

static void
raw_enc_ec(struct ctx *c)
{
	uint8_t kek[32], cek[32], x[32], y[32], iv[12], ct[32], tag[16], ek[40];
	struct cs_buf z;

	cs_buf_init(&z, 66);
	must(cs_ecdh_ephemeral(c->ec.key, x, y, &z), "ecdh");
	must(cs_concat_kdf(z.p, z.len, (const uint8_t *)"ECDH-ES+A256KW", 14, NULL, 0, NULL, 0, kek,
	                   32),
	     "kdf");
	cs_buf_fini(&z);
	must(cs_random(cek, 32), "rand");
	must(cs_random(iv, 12), "rand");
	must(cs_aes_kw_wrap(kek, cek, 32, ek), "kw");
	must(cs_gcm_seal(cek, iv, x, 32, secret, 32, ct, tag), "gcm");
}

static void
raw_dec_ec(struct ctx *c)
{
	uint8_t kek[32], cek[32], pt[32];
	struct cs_buf z;

	cs_buf_init(&z, 66);
	must(cs_ecdh_raw_peer(c->ec.key, c->eph_x, 32, c->eph_y, 32, &z), "ecdh");
	must(cs_concat_kdf(z.p, z.len, (const uint8_t *)"ECDH-ES+A256KW", 14, NULL, 0, NULL, 0, kek,
	                   32),
	     "kdf");
	cs_buf_fini(&z);
	must(cs_aes_kw_unwrap(kek, c->ek_ec, 40, cek), "unwrap");
	must(cs_gcm_open(cek, c->iv, (const uint8_t *)"h", 1, c->ct, 32, c->tag, pt), "gcm");
}

static void
raw_enc_rsa(struct ctx *c)
{
	uint8_t cek[32], iv[12], ct[32], tag[16];
	struct cs_buf ek;

	cs_buf_init(&ek, 1024);
	must(cs_random(cek, 32), "rand");
	must(cs_random(iv, 12), "rand");
	must(cs_rsa_oaep256_encrypt(c->rsa.key, cek, 32, &ek), "oaep");
	must(cs_gcm_seal(cek, iv, (const uint8_t *)"h", 1, secret, 32, ct, tag), "gcm");
	cs_buf_fini(&ek);
}

static void
raw_dec_rsa(struct ctx *c)
{
	uint8_t pt[32];
	struct cs_buf cek;

	cs_buf_init(&cek, 1024);
	must(cs_rsa_oaep256_decrypt(c->rsa.key, c->ek_rsa.p, c->ek_rsa.len, &cek), "oaep");
	must(cs_gcm_open(cek.p, c->iv, (const uint8_t *)"h", 1, c->ct, 32, c->tag, pt), "gcm");
	cs_buf_fini(&cek);
}

static void
raw_sign(struct ctx *c, int i)
{
	struct cs_buf s;

	cs_buf_init(&s, 1024);
	if (i == 0)
		must(cs_ecdsa_sign(c->es256, CS_SHA256, (const uint8_t *)hdr_es256,
		                   sizeof(hdr_es256) - 1, &s),
		     "ecdsa");
	else if (i == 1)
		must(cs_ed25519_sign(c->ed, (const uint8_t *)hdr_es256, sizeof(hdr_es256) - 1, &s),
		     "ed25519");
	else
		must(cs_rsa_pkcs1_sign(c->rs, CS_SHA256, (const uint8_t *)hdr_es256,
		                       sizeof(hdr_es256) - 1, &s),
		     "rsa");
	cs_buf_fini(&s);
}

static void
raw_verify(struct ctx *c, int i)
{
	const uint8_t *m = (const uint8_t *)hdr_es256;
	size_t n = sizeof(hdr_es256) - 1;

	if (i == 0)
		must(cs_ecdsa_verify(c->es256, CS_SHA256, m, n, c->sig[0], c->siglen[0],
		                     CS_ECDSA_RAW_BE),
		     "ecdsa");
	else if (i == 1)
		must(cs_ed25519_verify(c->ed, m, n, c->sig[1], c->siglen[1]), "ed25519");
	else
		must(cs_rsa_pkcs1_verify(c->rs, CS_SHA256, m, n, c->sig[2], c->siglen[2]), "rsa");
}

static void
raw_sign_es256(struct ctx *c)
{
	raw_sign(c, 0);
}
static void
raw_sign_eddsa(struct ctx *c)
{
	raw_sign(c, 1);
}
static void
raw_sign_rs256(struct ctx *c)
{
	raw_sign(c, 2);
}
static void
raw_verify_es256(struct ctx *c)
{
	raw_verify(c, 0);
}
static void
raw_verify_eddsa(struct ctx *c)
{
	raw_verify(c, 1);
}
static void
raw_verify_rs256(struct ctx *c)
{
	raw_verify(c, 2);
}

/* ---- bare OpenSSL, as `openssl speed` runs it ---- */

static void
bare_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_jose: %s failed\n", what);
		exit(1);
	}
}

static void
bare_ecdh(struct ctx *c)
{
	uint8_t z[32];
	size_t len = sizeof(z);

	bare_check(EVP_PKEY_derive(c->r_derive, z, &len) == 1, "derive");
}

static void
bare_ecdh_import(struct ctx *c)
{
	EVP_PKEY *peer = EVP_PKEY_dup(c->r_tmpl);
	uint8_t z[32];
	size_t len = sizeof(z);

	bare_check(peer != NULL && EVP_PKEY_set1_encoded_public_key(peer, c->r_point,
	                                                            sizeof(c->r_point)) == 1,
	           "import");
	bare_check(EVP_PKEY_derive_set_peer_ex(c->r_derive, peer, 0) == 1 &&
	                   EVP_PKEY_derive(c->r_derive, z, &len) == 1,
	           "derive");
	EVP_PKEY_free(peer);
}

static void
bare_keygen(struct ctx *c)
{
	EVP_PKEY *k = NULL;

	bare_check(EVP_PKEY_keygen(c->r_keygen, &k) == 1, "keygen");
	EVP_PKEY_free(k);
}

/* A JWE sender needs the ephemeral public point encoded (the epk's x and y). */
static void
bare_keygen_point(struct ctx *c)
{
	EVP_PKEY *k = NULL;
	uint8_t pt[65];
	size_t len = 0;

	bare_check(EVP_PKEY_keygen(c->r_keygen, &k) == 1 &&
	                   EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
	                                                   pt, sizeof(pt), &len) == 1,
	           "keygen");
	EVP_PKEY_free(k);
}

static void
bare_ecdsa_sign(struct ctx *c)
{
	uint8_t sig[80], dgst[32] = {1};
	size_t len = sizeof(sig);

	bare_check(EVP_PKEY_sign(c->r_sign, sig, &len, dgst, sizeof(dgst)) == 1, "sign");
}

static void
bare_oaep(struct ctx *c)
{
	uint8_t out[256];
	size_t len = sizeof(out);

	bare_check(EVP_PKEY_encrypt(c->r_oaep, out, &len, secret, 32) == 1, "oaep");
}

static void
bare_rsa_verify(struct ctx *c)
{
	uint8_t dgst[32];
	unsigned int dlen = 0;

	bare_check(EVP_Digest(hdr_es256, sizeof(hdr_es256) - 1, dgst, &dlen, c->r_sha256, NULL) ==
	                           1 &&
	                   EVP_PKEY_verify(c->r_verify, c->sig[2], c->siglen[2], dgst, dlen) == 1,
	           "verify");
}

static void
bare_setup(struct ctx *c)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *eph = NULL;
	size_t plen = 0;

	bare_check(pc != NULL && EVP_PKEY_paramgen_init(pc) == 1 &&
	                   EVP_PKEY_CTX_set_group_name(pc, "P-256") == 1 &&
	                   EVP_PKEY_paramgen(pc, &c->r_tmpl) == 1,
	           "template");
	EVP_PKEY_CTX_free(pc);
	c->r_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	bare_check(c->r_sha256 != NULL, "fetch");
	c->r_keygen = EVP_PKEY_CTX_new_from_pkey(NULL, c->r_tmpl, NULL);
	bare_check(c->r_keygen != NULL && EVP_PKEY_keygen_init(c->r_keygen) == 1 &&
	                   EVP_PKEY_keygen(c->r_keygen, &eph) == 1,
	           "keygen");
	bare_check(EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
	                                           c->r_point, sizeof(c->r_point), &plen) == 1 &&
	                   plen == sizeof(c->r_point),
	           "point");
	c->r_peer = eph;
	c->r_derive = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(c->ec.key), NULL);
	bare_check(c->r_derive != NULL && EVP_PKEY_derive_init(c->r_derive) == 1 &&
	                   EVP_PKEY_derive_set_peer_ex(c->r_derive, eph, 0) == 1,
	           "derive");
	c->r_sign = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(c->es256), NULL);
	bare_check(c->r_sign != NULL && EVP_PKEY_sign_init(c->r_sign) == 1, "sign");
	c->r_oaep = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(c->rsa.key), NULL);
	bare_check(c->r_oaep != NULL && EVP_PKEY_encrypt_init(c->r_oaep) == 1 &&
	                   EVP_PKEY_CTX_set_rsa_padding(c->r_oaep, RSA_PKCS1_OAEP_PADDING) == 1 &&
	                   EVP_PKEY_CTX_set_rsa_oaep_md(c->r_oaep, c->r_sha256) == 1 &&
	                   EVP_PKEY_CTX_set_rsa_mgf1_md(c->r_oaep, c->r_sha256) == 1,
	           "oaep");
	c->r_verify = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(c->rs), NULL);
	bare_check(c->r_verify != NULL && EVP_PKEY_verify_init(c->r_verify) == 1 &&
	                   EVP_PKEY_CTX_set_rsa_padding(c->r_verify, RSA_PKCS1_PADDING) == 1 &&
	                   EVP_PKEY_CTX_set_signature_md(c->r_verify, c->r_sha256) == 1,
	           "verify");
}

/* ops per CPU-second of fn, run for about secs. */
static double
rate(op_fn fn, struct ctx *c)
{
	double t0 = now_cpu(), t;
	long n = 0;

	do {
		for (int i = 0; i < 8; i++)
			fn(c);
		n += 8;
		t = now_cpu() - t0;
	} while (t < secs);
	return (double)n / t;
}

static void
setup(struct ctx *c)
{
	struct cs_key *k = NULL, *eph = NULL;
	struct cs_buf s;
	uint8_t cek[32], kek[32];

	must(cs_key_generate(CS_KEY_EC_P256, 0, &k), "keygen");
	must(cs_jwk_from_key(k, "ECDH-ES+A256KW", &c->ec), "jwk");
	must(cs_key_generate(CS_KEY_RSA, 2048, &k), "keygen");
	must(cs_jwk_from_key(k, "RSA-OAEP-256", &c->rsa), "jwk");
	must(cs_key_generate(CS_KEY_EC_P256, 0, &c->es256), "keygen");
	must(cs_key_generate(CS_KEY_ED25519, 0, &c->ed), "keygen");
	must(cs_key_generate(CS_KEY_RSA, 2048, &c->rs), "keygen");
	cs_buf_init(&c->out, 1 << 16);
	cs_buf_init(&c->jwe_ec, 1 << 16);
	cs_buf_init(&c->jwe_rsa, 1 << 16);
	must(cs_jwe_encrypt(&c->ec, 0, CS_JWE_FLAT, secret, 32, &c->jwe_ec), "jwe");
	must(cs_jwe_encrypt(&c->rsa, 0, CS_JWE_FLAT, secret, 32, &c->jwe_rsa), "jwe");
	for (int i = 0; i < 3; i++)
		cs_buf_init(&c->tok[i], 4096);
	must(cs_jws_sign(CS_JWS_ES256, c->es256, NULL, (const uint8_t *)"{\"sub\":\"test\"}", 14,
	                 &c->tok[0]),
	     "sign");
	must(cs_jws_sign(CS_JWS_EDDSA, c->ed, NULL, (const uint8_t *)"{\"sub\":\"test\"}", 14,
	                 &c->tok[1]),
	     "sign");
	must(cs_jws_sign(CS_JWS_RS256, c->rs, NULL, (const uint8_t *)"{\"sub\":\"test\"}", 14,
	                 &c->tok[2]),
	     "sign");
	/* Inputs for the raw decryptions and verifications. */ must(
	        cs_key_generate(CS_KEY_EC_P256, 0, &eph), "keygen");
	must(cs_key_ec_to_raw(eph, c->eph_x, c->eph_y, NULL), "raw");
	must(cs_jwe_ecdh_es_derive(eph, c->ec.key, "ECDH-ES+A256KW", NULL, 0, NULL, 0, kek, 32),
	     "ecdh");
	cs_key_free(eph);
	must(cs_random(cek, 32), "rand");
	must(cs_random(c->iv, 12), "rand");
	must(cs_aes_kw_wrap(kek, cek, 32, c->ek_ec), "kw");
	must(cs_gcm_seal(cek, c->iv, (const uint8_t *)"h", 1, secret, 32, c->ct, c->tag), "gcm");
	cs_buf_init(&c->ek_rsa, 1024);
	must(cs_rsa_oaep256_encrypt(c->rsa.key, cek, 32, &c->ek_rsa), "oaep");
	for (int i = 0; i < 3; i++) {
		cs_buf_init(&s, 1024);
		if (i == 0)
			must(cs_ecdsa_sign(c->es256, CS_SHA256, (const uint8_t *)hdr_es256,
			                   sizeof(hdr_es256) - 1, &s),
			     "sign");
		else if (i == 1)
			must(cs_ed25519_sign(c->ed, (const uint8_t *)hdr_es256,
			                     sizeof(hdr_es256) - 1, &s),
			     "sign");
		else
			must(cs_rsa_pkcs1_sign(c->rs, CS_SHA256, (const uint8_t *)hdr_es256,
			                       sizeof(hdr_es256) - 1, &s),
			     "sign");
		memcpy(c->sig[i], s.p, s.len);
		c->siglen[i] = s.len;
		cs_buf_fini(&s);
	}
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		op_fn jose, raw;
	} ops[] = {
	        {"JWE encrypt ECDH-ES+A256KW P-256", jose_enc_ec, raw_enc_ec},
	        {"JWE decrypt ECDH-ES+A256KW P-256", jose_dec_ec, raw_dec_ec},
	        {"JWE encrypt RSA-OAEP-256 2048", jose_enc_rsa, raw_enc_rsa},
	        {"JWE decrypt RSA-OAEP-256 2048", jose_dec_rsa, raw_dec_rsa},
	        {"JWS sign ES256", jose_sign_es256, raw_sign_es256},
	        {"JWS verify ES256", jose_verify_es256, raw_verify_es256},
	        {"JWS sign EdDSA", jose_sign_eddsa, raw_sign_eddsa},
	        {"JWS verify EdDSA", jose_verify_eddsa, raw_verify_eddsa},
	        {"JWS sign RS256 2048", jose_sign_rs256, raw_sign_rs256},
	        {"JWS verify RS256 2048", jose_verify_rs256, raw_verify_rs256},
	};
	static const struct {
		const char *name;
		op_fn fn;
	} bare[] = {
	        {"ECDH P-256 derive (openssl speed ecdhp256)", bare_ecdh},
	        {"ECDH P-256 derive + import of the peer point", bare_ecdh_import},
	        {"EC P-256 keygen", bare_keygen},
	        {"EC P-256 keygen + public point encoded", bare_keygen_point},
	        {"ECDSA P-256 sign of a digest (speed ecdsap256)", bare_ecdsa_sign},
	        {"RSA-2048 OAEP-256 encrypt of 32 bytes", bare_oaep},
	        {"RSA-2048 PKCS#1 SHA-256 verify incl. digest", bare_rsa_verify},
	};
	struct ctx c;

	if (argc > 1)
		secs = strtod(argv[1], NULL);
	if (!(secs > 0.01 && secs < 60))
		secs = 0.5;
	memset(&c, 0, sizeof(c));
	setup(&c);
	printf("%-36s %12s %12s %9s\n", "operation (per core)", "JOSE ops/s", "raw ops/s",
	       "overhead");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		double j = 0, r = 0;

		if (argc > 2 && strstr(ops[i].name, argv[2]) == NULL)
			continue;

		for (int round = 0; round < 3; round++) {
			double a = rate(ops[i].jose, &c), b = rate(ops[i].raw, &c);

			j = a > j ? a : j;
			r = b > r ? b : r;
		}
		printf("%-36s %12.0f %12.0f %8.1f%%\n", ops[i].name, j, r, (r / j - 1.0) * 100.0);
	}
	bare_setup(&c);
	printf("\n%-52s %12s\n", "bare OpenSSL, context set up once (per core)", "ops/s");
	for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		double b = 0;

		if (argc > 2 && strstr(bare[i].name, argv[2]) == NULL)
			continue;
		for (int round = 0; round < 3; round++) {
			double a = rate(bare[i].fn, &c);

			b = a > b ? a : b;
		}
		printf("%-52s %12.0f\n", bare[i].name, b);
	}
	return 0;
}

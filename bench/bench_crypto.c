/*
 * bench_crypto: the crypto wrappers' own overhead, each next to the raw OpenSSL EVP call it wraps,
 * measured in the same run: AES-256-GCM on the sealed-model path (64 KiB chunks, one context
 * re-keyed per chunk), ECDSA P-384 verification in the SEV-SNP little-endian encoding versus DER,
 * and the constant-time RSA1_5 key decryption versus OAEP.
 *
 *   bench_crypto [seconds-per-measurement]      (default 0.5; 3 interleaved rounds, best kept)
 *
 * Rates are per CPU-second of this thread (CLOCK_THREAD_CPUTIME_ID), i.e. per core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "crypto/aead.h"
#include "crypto/pke.h"
#include "crypto/rand.h"
#include "crypto/sig.h"

#define CHUNK (64 * 1024)

static double secs = 0.5;
static uint8_t key[32], iv[12], aad[64], tag[16], buf[CHUNK], ct[CHUNK];
static struct cs_gcm g = {0};
static EVP_CIPHER_CTX *raw;
static EVP_CIPHER *raw_cipher;
static struct cs_key *p384, *rsa;
static uint8_t dgst[48], sig_le[144], sig_der[128], ek_pkcs1[256], ek_oaep[256], fb[32], out[32];
static size_t der_len;

static double
now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_crypto: %s failed\n", what);
		exit(1);
	}
}

static void
gcm_stream(void)
{
	must(cs_gcm_init(&g, 0, key, iv) == CS_OK && cs_gcm_aad(&g, aad, sizeof(aad)) == CS_OK &&
	             cs_gcm_update(&g, ct, CHUNK, buf) == CS_OK &&
	             cs_gcm_open_final(&g, tag) == CS_OK,
	     "cs_gcm stream");
}

static void
gcm_oneshot(void)
{
	must(cs_gcm_open(key, iv, aad, sizeof(aad), ct, CHUNK, tag, buf) == CS_OK, "cs_gcm_open");
}

static void
gcm_raw(void)
{
	int n = 0;

	must(EVP_DecryptInit_ex(raw, NULL, NULL, key, iv) == 1 &&
	             EVP_DecryptUpdate(raw, NULL, &n, aad, sizeof(aad)) == 1 &&
	             EVP_DecryptUpdate(raw, buf, &n, ct, CHUNK) == 1 &&
	             EVP_CIPHER_CTX_ctrl(raw, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
	             EVP_DecryptFinal_ex(raw, buf, &n) == 1,
	     "EVP GCM");
}

static void
ecdsa_le(void)
{
	must(cs_ecdsa_verify_digest(p384, dgst, 48, sig_le, 144, CS_ECDSA_RAW_LE) == CS_OK, "LE");
}

static void
ecdsa_der(void)
{
	must(cs_ecdsa_verify_digest(p384, dgst, 48, sig_der, der_len, CS_ECDSA_DER) == CS_OK,
	     "DER");
}

static void
ecdsa_raw_evp(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, cs_key_evp(p384), NULL);

	must(c != NULL && EVP_PKEY_verify_init(c) == 1 &&
	             EVP_PKEY_verify(c, sig_der, der_len, dgst, 48) == 1,
	     "EVP ECDSA");
	EVP_PKEY_CTX_free(c);
}

static void
rsa1_5(void)
{
	must(cs_rsa_pkcs1_decrypt_key(rsa, ek_pkcs1, 256, fb, 32, out) == CS_OK, "RSA1_5");
}

static void
oaep(void)
{
	struct cs_buf pt;

	cs_buf_init(&pt, 64);
	must(cs_rsa_oaep256_decrypt(rsa, ek_oaep, 256, &pt) == CS_OK, "OAEP");
	cs_buf_fini(&pt);
}

/* Best rate over 3 rounds of secs each. */
static double
rate(void (*fn)(void))
{
	double best = 0;

	for (int r = 0; r < 3; r++) {
		double t0 = now_cpu(), t;
		long n = 0;
		do {
			fn();
			n++;
		} while ((t = now_cpu() - t0) < secs);
		if (n / t > best)
			best = n / t;
	}
	return best;
}

int
main(int argc, char **argv)
{
	struct cs_buf b;
	double s, o, r;

	if (argc > 1)
		secs = atof(argv[1]);
	must(cs_random(key, 32) == CS_OK && cs_random(iv, 12) == CS_OK, "random");
	must(cs_random(buf, CHUNK) == CS_OK && cs_random(aad, sizeof(aad)) == CS_OK, "random");
	must(cs_gcm_seal(key, iv, aad, sizeof(aad), buf, CHUNK, ct, tag) == CS_OK, "seal");
	raw_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	raw = EVP_CIPHER_CTX_new();
	must(raw != NULL && EVP_DecryptInit_ex(raw, raw_cipher, NULL, key, iv) == 1, "EVP init");

	must(cs_key_generate(CS_KEY_EC_P384, 0, &p384) == CS_OK, "P-384");
	must(cs_random(dgst, 48) == CS_OK, "random");
	cs_buf_init(&b, 4096);
	must(cs_ecdsa_sign(p384, CS_SHA384, dgst, 48, &b) == CS_OK, "sign");
	/* cs_ecdsa_sign signed SHA-384(dgst): make dgst that digest for the verify_digest path. */
	must(cs_hash(CS_SHA384, dgst, 48, dgst) == CS_OK, "hash");
	for (int i = 0; i < 48; i++) {
		sig_le[i] = b.p[47 - i];
		sig_le[72 + i] = b.p[95 - i];
	}
	{
		/* The same r, s as DER: a SEQUENCE of two minimal INTEGERs. */
		uint8_t *p = sig_der;
		const uint8_t *r_ = b.p, *s_ = b.p + 48;
		size_t rl = 48, sl = 48;
		while (rl > 1 && *r_ == 0)
			r_++, rl--;
		while (sl > 1 && *s_ == 0)
			s_++, sl--;
		*p++ = 0x30;
		*p++ = (uint8_t)(4 + rl + (*r_ >> 7) + sl + (*s_ >> 7));
		*p++ = 0x02, *p++ = (uint8_t)(rl + (*r_ >> 7));
		if (*r_ >> 7)
			*p++ = 0;
		memcpy(p, r_, rl), p += rl;
		*p++ = 0x02, *p++ = (uint8_t)(sl + (*s_ >> 7));
		if (*s_ >> 7)
			*p++ = 0;
		memcpy(p, s_, sl), p += sl;
		der_len = (size_t)(p - sig_der);
	}
	cs_buf_fini(&b);

	must(cs_key_generate(CS_KEY_RSA, 2048, &rsa) == CS_OK, "RSA");
	cs_buf_init(&b, 4096);
	must(cs_rsa_pkcs1_encrypt(rsa, key, 32, &b) == CS_OK && b.len == 256, "pkcs1 enc");
	memcpy(ek_pkcs1, b.p, 256);
	cs_buf_reset(&b);
	must(cs_rsa_oaep256_encrypt(rsa, key, 32, &b) == CS_OK && b.len == 256, "oaep enc");
	memcpy(ek_oaep, b.p, 256);
	cs_buf_fini(&b);

	printf("== bench_crypto (%s, %.1f s x 3 rounds per figure, best round)\n",
	       OpenSSL_version(OPENSSL_VERSION), secs);
	s = rate(gcm_stream), o = rate(gcm_oneshot), r = rate(gcm_raw);
	printf("AES-256-GCM open, 64 KiB chunks + 64 B AAD (MiB/s): cs_gcm re-keyed %.0f, "
	       "cs_gcm_open one-shot %.0f, raw EVP reused ctx %.0f (wrapper/raw %.3f)\n",
	       s * CHUNK / 1048576, o * CHUNK / 1048576, r * CHUNK / 1048576, s / r);
	s = rate(ecdsa_le), o = rate(ecdsa_der), r = rate(ecdsa_raw_evp);
	printf("ECDSA P-384 verify (/s): raw LE (SNP) %.0f, DER %.0f, raw EVP_PKEY_verify %.0f "
	       "(LE/raw %.3f)\n",
	       s, o, r, s / r);
	s = rate(rsa1_5), o = rate(oaep);
	printf("RSA-2048 key decrypt (/s): RSA1_5 constant-time %.0f, OAEP-256 %.0f\n", s, o);
	cs_gcm_fini(&g);
	EVP_CIPHER_CTX_free(raw);
	EVP_CIPHER_free(raw_cipher);
	cs_key_free(p384);
	cs_key_free(rsa);
	return 0;
}

/*
 * The per-key context pools (src/crypto/ctxpool.c) under concurrency: several threads use the
 * same keys at once for every pooled operation, mixing rejected inputs (whose contexts are
 * dropped) with accepted ones, and every result is checked against its inverse operation. Run
 * under TSan once (-Db_sanitize=thread) to check the locking.
 */
#include <pthread.h>
#include <string.h>

#include "crypto/pke.h"
#include "crypto/rand.h"
#include "crypto/sig.h"
#include "t.h"

#define THREADS 8
#define ROUNDS 24

static struct cs_key *ec, *rsa, *ec384;
static uint8_t pkcs1_sig[256], pss_sig[256], pss20_sig[256];
static const uint8_t msg[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0";

struct worker {
	int id;
	int bad;  /* failed expectations; checked after join (the harness is not thread-safe) */
	int runs; /* operations completed */
};

static void
expect(struct worker *w, int cond)
{
	if (!cond)
		w->bad++;
	w->runs++;
}

static void
ecdsa_round(struct worker *w, struct cs_key *k, enum cs_hash h, size_t siglen)
{
	uint8_t m[16];
	struct cs_buf sig;

	cs_buf_init(&sig, 256);
	memset(m, w->id, sizeof(m));
	expect(w, cs_ecdsa_sign(k, h, m, sizeof(m), &sig) == CS_OK && sig.len == siglen);
	if (sig.len == siglen) {
		expect(w, cs_ecdsa_verify(k, h, m, sizeof(m), sig.p, sig.len, CS_ECDSA_RAW_BE) ==
		                  CS_OK);
		sig.p[3] ^= 1;
		expect(w, cs_ecdsa_verify(k, h, m, sizeof(m), sig.p, sig.len, CS_ECDSA_RAW_BE) ==
		                  CS_ERR_SIGNATURE);
		m[0] ^= 1; /* the right signature of another message */
		sig.p[3] ^= 1;
		expect(w, cs_ecdsa_verify(k, h, m, sizeof(m), sig.p, sig.len, CS_ECDSA_RAW_BE) ==
		                  CS_ERR_SIGNATURE);
	}
	cs_buf_fini(&sig);
}

static void
rsa_round(struct worker *w)
{
	uint8_t bad[256], cek[32];
	struct cs_buf ct, pt;

	expect(w,
	       cs_rsa_pkcs1_verify(rsa, CS_SHA256, msg, sizeof(msg) - 1, pkcs1_sig, 256) == CS_OK);
	memcpy(bad, pkcs1_sig, 256);
	bad[100] ^= 0x40;
	expect(w, cs_rsa_pkcs1_verify(rsa, CS_SHA256, msg, sizeof(msg) - 1, bad, 256) ==
	                  CS_ERR_SIGNATURE);
	/* Same key, other digest: a pool of its own, and the SHA-256 signature does not pass. */
	expect(w, cs_rsa_pkcs1_verify(rsa, CS_SHA384, msg, sizeof(msg) - 1, pkcs1_sig, 256) ==
	                  CS_ERR_SIGNATURE);
	expect(w,
	       cs_rsa_pss_verify(rsa, CS_SHA256, -1, msg, sizeof(msg) - 1, pss_sig, 256) == CS_OK);
	expect(w,
	       cs_rsa_pss_verify(rsa, CS_SHA256, 32, msg, sizeof(msg) - 1, pss_sig, 256) == CS_OK);
	/* A salt of another length: the unpooled path, and each signature fails the other's. */
	expect(w, cs_rsa_pss_verify(rsa, CS_SHA256, 20, msg, sizeof(msg) - 1, pss20_sig, 256) ==
	                  CS_OK);
	expect(w, cs_rsa_pss_verify(rsa, CS_SHA256, -1, msg, sizeof(msg) - 1, pss20_sig, 256) ==
	                  CS_ERR_SIGNATURE);
	expect(w, cs_rsa_pss_verify(rsa, CS_SHA256, 20, msg, sizeof(msg) - 1, pss_sig, 256) ==
	                  CS_ERR_SIGNATURE);
	cs_buf_init(&ct, 512);
	cs_buf_init(&pt, 64);
	memset(cek, w->id + 1, sizeof(cek));
	expect(w, cs_rsa_oaep256_encrypt(rsa, cek, sizeof(cek), &ct) == CS_OK && ct.len == 256);
	/* Too long a message fails and drops its context; the next one works. */
	expect(w, cs_rsa_oaep256_encrypt(rsa, bad, 256, &ct) == CS_ERR_TOO_LARGE && ct.len == 256);
	expect(w, cs_rsa_oaep256_decrypt(rsa, ct.p, ct.len, &pt) == CS_OK && pt.len == 32 &&
	                  memcmp(pt.p, cek, 32) == 0);
	cs_buf_reset(&ct);
	expect(w, cs_rsa_pkcs1_encrypt(rsa, cek, sizeof(cek), &ct) == CS_OK && ct.len == 256);
	cs_buf_fini(&ct);
	cs_buf_fini(&pt);
}

static void
ecdh_round(struct worker *w)
{
	uint8_t x[32], y[32];
	struct cs_buf z1, z2, z3;

	cs_buf_init(&z1, 66);
	cs_buf_init(&z2, 66);
	cs_buf_init(&z3, 66);
	expect(w, cs_ecdh_ephemeral(ec, x, y, &z1) == CS_OK && z1.len == 32);
	expect(w, cs_ecdh_raw_peer(ec, x, 32, y, 32, &z2) == CS_OK && z2.len == 32 &&
	                  memcmp(z1.p, z2.p, 32) == 0);
	y[31] ^= 1; /* off the curve: refused, then the pool still serves the right point */
	expect(w, cs_ecdh_raw_peer(ec, x, 32, y, 32, &z3) == CS_ERR_KEY && z3.len == 0);
	y[31] ^= 1;
	expect(w, cs_ecdh_raw_peer(ec, x, 32, y, 32, &z3) == CS_OK && z3.len == 32 &&
	                  memcmp(z1.p, z3.p, 32) == 0);
	cs_buf_fini(&z1);
	cs_buf_fini(&z2);
	cs_buf_fini(&z3);
}

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		ecdsa_round(w, ec, CS_SHA256, 64);
		ecdsa_round(w, ec384, CS_SHA384, 96);
		rsa_round(w);
		ecdh_round(w);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	int started = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.id = i};
		if (pthread_create(&th[i], NULL, work, &w[i]) == 0)
			started++;
		else
			break;
	}
	CHECK(started == THREADS);
	for (int i = 0; i < started; i++) {
		CHECK(pthread_join(th[i], NULL) == 0);
		CHECK(w[i].bad == 0);
		CHECK(w[i].runs == ROUNDS * (2 * 4 + 12 + 4));
	}
}

/* A key whose pool holds contexts of every kind is freed cleanly (ASan/LSan see leaks). */
static void
test_free_with_pooled(void)
{
	struct worker w = {.id = 99};
	struct cs_key *k = NULL;
	struct cs_buf sig;

	CHECK_OK(cs_key_generate(CS_KEY_EC_P256, 0, &k));
	cs_buf_init(&sig, 128);
	CHECK_OK(cs_ecdsa_sign(k, CS_SHA256, msg, 4, &sig));
	CHECK_OK(cs_ecdsa_verify(k, CS_SHA256, msg, 4, sig.p, sig.len, CS_ECDSA_RAW_BE));
	cs_buf_fini(&sig);
	cs_key_free(k);
	ecdh_round(&w);
	CHECK(w.bad == 0);
}

/*
 * The EC point import (cs_ec_public_from_point) relies on OpenSSL refusing, while setting the
 * point, a coordinate >= p and a point off the curve. On P-521 (p = 2^521 - 1) a valid y plus p
 * still fits the 66-byte field and is congruent to a point on the curve: refused all the same.
 */
static void
test_point_import(void)
{
	struct cs_key *k = NULL, *bad = NULL;
	uint8_t x[66], y[66], yp[66];
	struct cs_buf z;
	unsigned carry = 0;

	CHECK_OK(cs_key_generate(CS_KEY_EC_P521, 0, &k));
	CHECK_OK(cs_key_ec_to_raw(k, x, y, NULL));
	/* yp = y + p, big-endian: p is 0x01 then 65 bytes of 0xff. */
	for (int i = 65; i >= 0; i--) {
		unsigned sum = y[i] + (i == 0 ? 0x01u : 0xffu) + carry;

		yp[i] = (uint8_t)sum;
		carry = sum >> 8;
	}
	CHECK(carry == 0 && yp[0] <= 0x03);
	cs_buf_init(&z, 66);
	CHECK_ERR(cs_key_ec_from_raw(CS_KEY_EC_P521, x, 66, yp, 66, NULL, 0, &bad), CS_ERR_KEY);
	CHECK(bad == NULL);
	CHECK_ERR(cs_ecdh_raw_peer(k, x, 66, yp, 66, &z), CS_ERR_KEY);
	CHECK(z.len == 0);
	CHECK_OK(cs_key_ec_from_raw(CS_KEY_EC_P521, x, 66, y, 66, NULL, 0, &bad));
	CHECK_OK(cs_ecdh_raw_peer(k, x, 66, y, 66, &z));
	CHECK(z.len == 66);
	cs_buf_fini(&z);
	cs_key_free(bad);
	cs_key_free(k);
}

int
main(void)
{
	struct cs_buf s;

	if (cs_key_generate(CS_KEY_EC_P256, 0, &ec) != CS_OK ||
	    cs_key_generate(CS_KEY_EC_P384, 0, &ec384) != CS_OK ||
	    cs_key_generate(CS_KEY_RSA, 2048, &rsa) != CS_OK)
		return 1;
	cs_buf_init(&s, 1024);
	CHECK_OK(cs_rsa_pkcs1_sign(rsa, CS_SHA256, msg, sizeof(msg) - 1, &s));
	CHECK(s.len == 256);
	memcpy(pkcs1_sig, s.p, 256);
	cs_buf_reset(&s);
	CHECK_OK(cs_rsa_pss_sign(rsa, CS_SHA256, -1, msg, sizeof(msg) - 1, &s));
	CHECK(s.len == 256);
	memcpy(pss_sig, s.p, 256);
	cs_buf_reset(&s);
	CHECK_OK(cs_rsa_pss_sign(rsa, CS_SHA256, 20, msg, sizeof(msg) - 1, &s));
	CHECK(s.len == 256);
	memcpy(pss20_sig, s.p, 256);
	cs_buf_fini(&s);
	T_RUN(test_threads);
	T_RUN(test_free_with_pooled);
	T_RUN(test_point_import);
	cs_key_free(ec);
	cs_key_free(ec384);
	cs_key_free(rsa);
	return t_done();
}

/*
 * Signatures: ECDSA in raw big-endian, raw little-endian (SEV-SNP layout) and DER, with the same
 * signature accepted in all three encodings and every malformation rejected; RSA-PSS and
 * PKCS#1 v1.5; Ed25519 against RFC 8032 §7.1 tests 1 and 2.
 */
#include "crypto/sig.h"
#include "crypto/rand.h"

#include <openssl/err.h>

#include "t.h"
#include "t_hex.h"

static const uint8_t msg[] = "custos attested key release";

/* Writes a DER INTEGER for the big-endian unsigned value (p, n); returns bytes written. */
static size_t
der_int(const uint8_t *p, size_t n, uint8_t *out)
{
	size_t i = 0, len;

	while (n > 1 && p[0] == 0)
		p++, n--;
	len = n + (p[0] & 0x80 ? 1 : 0);
	out[i++] = 0x02;
	out[i++] = (uint8_t)len;
	if (p[0] & 0x80)
		out[i++] = 0;
	memcpy(out + i, p, n);
	return i + n;
}

/* SEQUENCE { r, s } from raw big-endian halves of cl bytes each (lengths < 128 or two-byte). */
static size_t
to_der(const uint8_t *raw, size_t cl, uint8_t *out)
{
	uint8_t body[2 * 70];
	size_t b = der_int(raw, cl, body);
	size_t i = 0;

	b += der_int(raw + cl, cl, body + b);
	out[i++] = 0x30;
	if (b >= 128)
		out[i++] = 0x81;
	out[i++] = (uint8_t)b;
	memcpy(out + i, body, b);
	return i + b;
}

/* Raw little-endian with each half zero-extended to half bytes, as an SNP report stores it. */
static void
to_le(const uint8_t *raw, size_t cl, size_t half, uint8_t *out)
{
	size_t i;

	memset(out, 0, 2 * half);
	for (i = 0; i < cl; i++) {
		out[i] = raw[cl - 1 - i];
		out[half + i] = raw[2 * cl - 1 - i];
	}
}

static void
check_ecdsa(enum cs_key_type t, enum cs_hash h)
{
	struct cs_key *k = NULL, *other = NULL;
	struct cs_buf sig;
	uint8_t le[144], der[160], dgst[CS_HASH_MAX_LEN], ext[200];
	size_t cl = cs_key_ec_coord_len(t), der_len, i;

	cs_buf_init(&sig, 1024);
	CHECK_OK(cs_key_generate(t, 0, &k));
	CHECK_OK(cs_key_generate(t, 0, &other));
	if (k == NULL || other == NULL)
		goto out;
	CHECK_OK(cs_ecdsa_sign(k, h, msg, sizeof(msg), &sig));
	CHECK(sig.len == 2 * cl);
	if (sig.len != 2 * cl)
		goto out;
	to_le(sig.p, cl, 72, le);
	der_len = to_der(sig.p, cl, der);

	/* The one signature, three encodings; LE both at the curve length and zero-extended. */
	CHECK_OK(cs_ecdsa_verify(k, h, msg, sizeof(msg), sig.p, sig.len, CS_ECDSA_RAW_BE));
	CHECK_OK(cs_ecdsa_verify(k, h, msg, sizeof(msg), le, 144, CS_ECDSA_RAW_LE));
	CHECK_OK(cs_ecdsa_verify(k, h, msg, sizeof(msg), der, der_len, CS_ECDSA_DER));
	to_le(sig.p, cl, cl, ext);
	CHECK_OK(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, 2 * cl, CS_ECDSA_RAW_LE));
	CHECK_OK(cs_hash(h, msg, sizeof(msg), dgst));
	CHECK_OK(cs_ecdsa_verify_digest(k, dgst, cs_hash_len(h), le, 144, CS_ECDSA_RAW_LE));
	CHECK_OK(cs_ecdsa_verify_digest(k, dgst, cs_hash_len(h), der, der_len, CS_ECDSA_DER));

	/* Encodings are not interchangeable. */
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), sig.p, sig.len, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), sig.p, sig.len, CS_ECDSA_DER),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), der, der_len, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);

	/* Wrong key, wrong message, wrong hash. */
	CHECK_ERR(cs_ecdsa_verify(other, h, msg, sizeof(msg), sig.p, sig.len, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg) - 1, sig.p, sig.len, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h == CS_SHA256 ? CS_SHA384 : CS_SHA256, msg, sizeof(msg),
	                          sig.p, sig.len, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);

	/* A flipped bit anywhere in each encoding. */
	for (i = 0; i < sig.len; i++) {
		sig.p[i] ^= 0x01;
		CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), sig.p, sig.len, CS_ECDSA_RAW_BE),
		          CS_ERR_SIGNATURE);
		sig.p[i] ^= 0x01;
	}
	for (i = 0; i < 144; i++) {
		le[i] ^= 0x80;
		CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), le, 144, CS_ECDSA_RAW_LE),
		          CS_ERR_SIGNATURE);
		le[i] ^= 0x80;
	}
	for (i = 0; i < der_len; i++) {
		der[i] ^= 0x04;
		CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), der, der_len, CS_ECDSA_DER),
		          CS_ERR_SIGNATURE);
		der[i] ^= 0x04;
	}
	/* Rejections leave no OpenSSL error state behind for an unrelated later call. */
	CHECK(ERR_peek_error() == 0);
	/* Truncated and extended, in each encoding. */
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), sig.p, sig.len - 1, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	memcpy(ext, sig.p, sig.len);
	ext[sig.len] = 0;
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, sig.len + 1, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), le, 143, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), le, 2 * cl - 2, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), der, der_len - 1, CS_ECDSA_DER),
	          CS_ERR_SIGNATURE);
	memcpy(ext, der, der_len);
	ext[der_len] = 0;
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, der_len + 1, CS_ECDSA_DER),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), sig.p, 0, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	/* 146 bytes: halves beyond SNP's 72. */
	memset(ext, 0, sizeof(ext));
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, 146, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	/* r = 0, and r, s all ones in the 72-byte field (far above the order): a failure. */
	memset(ext, 0, 144);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, 144, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	memset(ext, 0xff, 144);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, 144, CS_ECDSA_RAW_LE),
	          CS_ERR_SIGNATURE);
	memset(ext, 0xff, 2 * cl);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, 2 * cl, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	/* s replaced by n - s would be the malleable twin; here simply s := r must fail. */
	memcpy(ext, sig.p, cl);
	memcpy(ext + cl, sig.p, cl);
	CHECK_ERR(cs_ecdsa_verify(k, h, msg, sizeof(msg), ext, 2 * cl, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	/* A public key cannot sign. */
	{
		struct cs_key *pub = NULL;
		struct cs_buf spki;
		cs_buf_init(&spki, 4096);
		CHECK_OK(cs_key_to_spki_der(k, &spki));
		CHECK_OK(cs_key_from_der(spki.p, spki.len, &pub));
		if (pub != NULL) {
			CHECK_ERR(cs_ecdsa_sign(pub, h, msg, sizeof(msg), &sig), CS_ERR_KEY);
			CHECK_OK(cs_ecdsa_verify(pub, h, msg, sizeof(msg), le, 144,
			                         CS_ECDSA_RAW_LE));
		}
		cs_key_free(pub);
		cs_buf_fini(&spki);
	}
out:
	cs_key_free(k);
	cs_key_free(other);
	cs_buf_fini(&sig);
}

static void
test_ecdsa_formats(void)
{
	check_ecdsa(CS_KEY_EC_P256, CS_SHA256);
	check_ecdsa(CS_KEY_EC_P384, CS_SHA384);
	check_ecdsa(CS_KEY_EC_P521, CS_SHA512);
	check_ecdsa(CS_KEY_EC_P384, CS_SHA256);
}

static void
test_ecdsa_wrong_key_type(void)
{
	struct cs_key *ed = NULL;
	struct cs_buf sig;
	uint8_t raw[64] = {1};

	cs_buf_init(&sig, 256);
	CHECK_OK(cs_key_generate(CS_KEY_ED25519, 0, &ed));
	CHECK_ERR(cs_ecdsa_verify(ed, CS_SHA256, msg, sizeof(msg), raw, 64, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_sign(ed, CS_SHA256, msg, sizeof(msg), &sig), CS_ERR_KEY);
	CHECK_ERR(cs_rsa_pss_verify(ed, CS_SHA256, -1, msg, sizeof(msg), raw, 64),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ecdsa_verify(NULL, CS_SHA256, msg, sizeof(msg), raw, 64, CS_ECDSA_RAW_BE),
	          CS_ERR_SIGNATURE);
	cs_key_free(ed);
	cs_buf_fini(&sig);
}

static void
test_rsa(void)
{
	struct cs_key *k = NULL, *other = NULL;
	struct cs_buf sig;
	size_t i;

	cs_buf_init(&sig, 4096);
	CHECK_OK(cs_key_generate(CS_KEY_RSA, 2048, &k));
	CHECK_OK(cs_key_generate(CS_KEY_RSA, 2048, &other));
	if (k == NULL || other == NULL)
		goto out;
	CHECK(cs_key_rsa_bits(k) == 2048);

	/* PSS, SHA-384 with a 48-byte salt as SEV-SNP's ARK/ASK use, and PS256 (salt = hash). */
	CHECK_OK(cs_rsa_pss_sign(k, CS_SHA384, 48, msg, sizeof(msg), &sig));
	CHECK(sig.len == 256);
	CHECK_OK(cs_rsa_pss_verify(k, CS_SHA384, 48, msg, sizeof(msg), sig.p, sig.len));
	CHECK_OK(cs_rsa_pss_verify(k, CS_SHA384, -1, msg, sizeof(msg), sig.p, sig.len));
	CHECK_ERR(cs_rsa_pss_verify(k, CS_SHA384, 32, msg, sizeof(msg), sig.p, sig.len),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pss_verify(k, CS_SHA256, 48, msg, sizeof(msg), sig.p, sig.len),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pss_verify(other, CS_SHA384, 48, msg, sizeof(msg), sig.p, sig.len),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pkcs1_verify(k, CS_SHA384, msg, sizeof(msg), sig.p, sig.len),
	          CS_ERR_SIGNATURE);
	for (i = 0; i < sig.len; i += 17) {
		sig.p[i] ^= 0x10;
		CHECK_ERR(cs_rsa_pss_verify(k, CS_SHA384, 48, msg, sizeof(msg), sig.p, sig.len),
		          CS_ERR_SIGNATURE);
		sig.p[i] ^= 0x10;
	}
	CHECK_ERR(cs_rsa_pss_verify(k, CS_SHA384, 48, msg, sizeof(msg), sig.p, sig.len - 1),
	          CS_ERR_SIGNATURE);
	cs_buf_reset(&sig);
	CHECK_OK(cs_rsa_pss_sign(k, CS_SHA256, -1, msg, sizeof(msg), &sig));
	CHECK_OK(cs_rsa_pss_verify(k, CS_SHA256, 32, msg, sizeof(msg), sig.p, sig.len));

	/* PKCS#1 v1.5 is deterministic: two signatures are equal. */
	cs_buf_reset(&sig);
	CHECK_OK(cs_rsa_pkcs1_sign(k, CS_SHA256, msg, sizeof(msg), &sig));
	CHECK_OK(cs_rsa_pkcs1_sign(k, CS_SHA256, msg, sizeof(msg), &sig));
	CHECK(sig.len == 512 && memcmp(sig.p, sig.p + 256, 256) == 0);
	CHECK_OK(cs_rsa_pkcs1_verify(k, CS_SHA256, msg, sizeof(msg), sig.p, 256));
	CHECK_ERR(cs_rsa_pkcs1_verify(k, CS_SHA512, msg, sizeof(msg), sig.p, 256),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pkcs1_verify(k, CS_SHA256, msg, sizeof(msg), sig.p, 512),
	          CS_ERR_SIGNATURE);
	CHECK_ERR(cs_rsa_pss_verify(k, CS_SHA256, -1, msg, sizeof(msg), sig.p, 256),
	          CS_ERR_SIGNATURE);
	sig.p[255] ^= 1;
	CHECK_ERR(cs_rsa_pkcs1_verify(k, CS_SHA256, msg, sizeof(msg), sig.p, 256),
	          CS_ERR_SIGNATURE);
out:
	cs_key_free(k);
	cs_key_free(other);
	cs_buf_fini(&sig);
}

static void
check_ed25519(const char *sk_hex, const char *pk_hex, const uint8_t *m, size_t n,
              const char *sig_hex)
{
	uint8_t sk[32], pk[32], want[64], pub[32], priv[32];
	struct cs_key *k = NULL, *pubk = NULL;
	struct cs_buf sig;
	size_t i;

	t_hex(sk_hex, sk, 32);
	t_hex(pk_hex, pk, 32);
	t_hex(sig_hex, want, 64);
	cs_buf_init(&sig, 256);
	CHECK_OK(cs_key_ed25519_from_raw(pk, 32, sk, 32, &k));
	CHECK_OK(cs_key_ed25519_from_raw(pk, 32, NULL, 0, &pubk));
	if (k == NULL || pubk == NULL)
		goto out;
	CHECK_OK(cs_key_ed25519_to_raw(k, pub, priv));
	CHECK_MEM(pub, pk, 32);
	CHECK_MEM(priv, sk, 32);
	CHECK_OK(cs_ed25519_sign(k, m, n, &sig));
	CHECK(sig.len == 64);
	CHECK_MEM(sig.p, want, 64); /* Ed25519 is deterministic */
	CHECK_OK(cs_ed25519_verify(pubk, m, n, want, 64));
	CHECK(cs_key_public_eq(k, pubk));
	for (i = 0; i < 64; i += 7) {
		want[i] ^= 0x01;
		CHECK_ERR(cs_ed25519_verify(pubk, m, n, want, 64), CS_ERR_SIGNATURE);
		want[i] ^= 0x01;
	}
	CHECK_ERR(cs_ed25519_verify(pubk, m, n, want, 63), CS_ERR_SIGNATURE);
	CHECK_ERR(cs_ed25519_verify(pubk, (const uint8_t *)"x", 1, want, 64), CS_ERR_SIGNATURE);
	/* A seed whose public key is not the one given. */
	pk[0] ^= 1;
	cs_key_free(k);
	k = NULL;
	CHECK_ERR(cs_key_ed25519_from_raw(pk, 32, sk, 32, &k), CS_ERR_KEY);
	CHECK(k == NULL);
out:
	cs_key_free(k);
	cs_key_free(pubk);
	cs_buf_fini(&sig);
}

static void
test_ed25519_rfc8032(void)
{
	static const uint8_t m2[] = {0x72};

	check_ed25519("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	              "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", NULL, 0,
	              "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	              "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	check_ed25519("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	              "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", m2, 1,
	              "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	              "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

int
main(void)
{
	T_RUN(test_ecdsa_formats);
	T_RUN(test_ecdsa_wrong_key_type);
	T_RUN(test_rsa);
	T_RUN(test_ed25519_rfc8032);
	return t_done();
}

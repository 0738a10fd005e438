/* JWE: jwcrypto-made vectors for every alg, round trips, Trustee's header form, and refusals. */
#include <string.h>

#include "base/b64.h"
#include "base/json.h"
#include "crypto/kdf.h"
#include "crypto/pke.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose_vectors.h"
#include "t.h"

#define ALL (CS_JWE_ECDH_ES_A256KW | CS_JWE_RSA_OAEP_256 | CS_JWE_RSA1_5 | CS_JWE_DIR)
#define MAX (1u << 20)

static const char msg[] = "a 32-byte model key, or any secret resource";

static void
jwk_of(const char *text, struct cs_jwk *jwk)
{
	CHECK_OK(cs_jwk_parse_text((const uint8_t *)text, strlen(text), jwk));
}

/* Decrypts text; on success checks the plaintext is msg_expected (when non-NULL). */
static enum cs_err
dec(const struct cs_jwk *k, unsigned allow, const char *text, const char *expected)
{
	struct cs_buf pt;
	enum cs_err err;

	cs_buf_init(&pt, 1 << 16);
	err = cs_jwe_decrypt(k, allow, (const uint8_t *)text, strlen(text), MAX, &pt);
	if (err == CS_OK && expected != NULL)
		CHECK(pt.len == strlen(expected) && memcmp(pt.p, expected, pt.len) == 0);
	if (err != CS_OK)
		CHECK(pt.len == 0);
	cs_buf_fini(&pt);
	return err;
}

/* Vectors produced by python3-jwcrypto (tests/interop/make_jose_vectors.py). Their protected
 * headers contain whitespace, so they also show the AAD is the header as received. */
static void
test_jwcrypto_vectors(void)
{
	for (size_t i = 0; i < sizeof(jwe_vectors) / sizeof(jwe_vectors[0]); i++) {
		const struct jwe_vector *v = &jwe_vectors[i];
		enum cs_jwe_alg alg = 0;
		struct cs_jwk k;

		jwk_of(v->jwk, &k);
		CHECK_OK(cs_jwe_alg_from_name(v->alg, strlen(v->alg), &alg));
		CHECK_OK(dec(&k, alg, v->flat, jwe_plaintext));
		CHECK_OK(dec(&k, alg, v->compact, jwe_plaintext));
		CHECK_ERR(dec(&k, ALL & ~alg, v->flat, NULL), CS_ERR_ALG);
		CHECK_ERR(dec(&k, ALL & ~alg, v->compact, NULL), CS_ERR_ALG);
		cs_jwk_fini(&k);
	}
}

/* Generates a recipient for alg (type for EC); sets jwk alg as Trustee's tee-pubkey does. */
static void
make_key(enum cs_jwe_alg alg, enum cs_key_type type, struct cs_jwk *k)
{
	struct cs_key *key = NULL;
	uint8_t secret[32];

	if (alg == CS_JWE_DIR) {
		for (size_t i = 0; i < sizeof(secret); i++)
			secret[i] = (uint8_t)(i * 7 + 1);
		CHECK_OK(cs_jwk_from_oct(secret, sizeof(secret), NULL, k));
		return;
	}
	CHECK_OK(cs_key_generate(alg == CS_JWE_ECDH_ES_A256KW ? type : CS_KEY_RSA, 2048, &key));
	CHECK_OK(cs_jwk_from_key(key, cs_jwe_alg_name(alg), k));
}

static const struct {
	enum cs_jwe_alg alg;
	enum cs_key_type type;
} cases[] = {
        {CS_JWE_ECDH_ES_A256KW, CS_KEY_EC_P256},
        {CS_JWE_ECDH_ES_A256KW, CS_KEY_EC_P384},
        {CS_JWE_ECDH_ES_A256KW, CS_KEY_EC_P521},
        {CS_JWE_RSA_OAEP_256, CS_KEY_RSA},
        {CS_JWE_RSA1_5, CS_KEY_RSA},
        {CS_JWE_DIR, CS_KEY_RSA},
};

/* Splits a compact JWE into five owned strings. */
static void
split5(const char *s, char *part[5])
{
	for (int i = 0; i < 5; i++) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		part[i] = strndup(s, n);
		s += n + (dot ? 1 : 0);
	}
}

static char *
join5(char *part[5])
{
	size_t n = 5;
	char *s;

	for (int i = 0; i < 5; i++)
		n += strlen(part[i]);
	s = malloc(n);
	snprintf(s, n, "%s.%s.%s.%s.%s", part[0], part[1], part[2], part[3], part[4]);
	return s;
}

/* Replaces the character in the middle of part i (all its bits are significant there). */
static char *
flip(const char *jwe, int i)
{
	char *part[5], *s;
	size_t m;

	split5(jwe, part);
	m = strlen(part[i]) / 2;
	part[i][m] = part[i][m] == 'A' ? 'B' : 'A';
	s = join5(part);
	for (int j = 0; j < 5; j++)
		free(part[j]);
	return s;
}

static void
test_roundtrip_and_tamper(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_jwk k, other;
		struct cs_buf flat, compact;
		enum cs_jwe_alg alg = cases[i].alg;

		cs_buf_init(&flat, MAX);
		cs_buf_init(&compact, MAX);
		make_key(alg, cases[i].type, &k);
		make_key(alg, cases[i].type, &other);
		if (alg == CS_JWE_DIR)
			other.oct[0] ^= 1;
		CHECK_OK(cs_jwe_encrypt(&k, 0, CS_JWE_FLAT, (const uint8_t *)msg, strlen(msg),
		                        &flat));
		CHECK_OK(cs_jwe_encrypt(&k, alg, CS_JWE_COMPACT, (const uint8_t *)msg, strlen(msg),
		                        &compact));
		CHECK(flat.len > 0 && flat.p[0] == '{');
		CHECK_OK(dec(&k, alg, (const char *)flat.p, msg));
		CHECK_OK(dec(&k, alg, (const char *)compact.p, msg));
		/* Another key of the same kind. */
		CHECK_ERR(dec(&other, alg, (const char *)compact.p, NULL), CS_ERR_DECRYPT);
		/* Every part flipped (the encrypted key is empty for dir). */
		for (int p = 0; p < 5; p++) {
			char *t;

			if (p == 1 && alg == CS_JWE_DIR)
				continue;
			t = flip((const char *)compact.p, p);
			if (p == 0)
				CHECK(dec(&k, alg, t, NULL) !=
				      CS_OK); /* the header no longer parses */
			else
				CHECK_ERR(dec(&k, alg, t, NULL), CS_ERR_DECRYPT);
			free(t);
		}
		/* The header re-serialized with the same meaning changes the AAD. */
		{
			char *part[5], *t;
			struct cs_buf h, e;

			cs_buf_init(&h, 8192);
			cs_buf_init(&e, 8192);
			split5((const char *)compact.p, part);
			CHECK_OK(cs_b64url_decode(&h, part[0], strlen(part[0])));
			CHECK(h.len > 1 && h.p[0] == '{');
			CHECK_OK(cs_buf_append(&e, "{ ", 2));
			CHECK_OK(cs_buf_append(&e, h.p + 1, h.len - 1));
			cs_buf_reset(&h);
			CHECK_OK(cs_b64url_encode(&h, e.p, e.len));
			cs_buf_reset(&e);
			CHECK_OK(cs_buf_append(&e, h.p, h.len));
			free(part[0]);
			part[0] = strdup((const char *)e.p);
			t = join5(part);
			CHECK_ERR(dec(&k, alg, t, NULL), CS_ERR_DECRYPT);
			free(t);
			for (int j = 0; j < 5; j++)
				free(part[j]);
			cs_buf_fini(&h);
			cs_buf_fini(&e);
		}
		/* Size limit on the input, and on the plaintext through pt's cap. */
		{
			struct cs_buf pt;

			cs_buf_init(&pt, strlen(msg));
			CHECK_ERR(cs_jwe_decrypt(&k, alg, compact.p, compact.len, compact.len - 1,
			                         &pt),
			          CS_ERR_TOO_LARGE);
			CHECK_OK(cs_jwe_decrypt(&k, alg, compact.p, compact.len, compact.len, &pt));
			cs_buf_fini(&pt);
			cs_buf_init(&pt, strlen(msg) - 1);
			CHECK_ERR(cs_jwe_decrypt(&k, alg, compact.p, compact.len, MAX, &pt),
			          CS_ERR_TOO_LARGE);
			CHECK(pt.len == 0);
			cs_buf_fini(&pt);
		}
		cs_jwk_fini(&k);
		cs_jwk_fini(&other);
		cs_buf_fini(&flat);
		cs_buf_fini(&compact);
	}
}

/* Plaintext lengths: empty, one byte, and a megabyte (KServe's compact dir JWEs hold files). */
static void
test_lengths(void)
{
	static const size_t lens[] = {0, 1, 1u << 20};
	struct cs_jwk k;

	make_key(CS_JWE_DIR, CS_KEY_RSA, &k);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t *m = malloc(lens[i] + 1);
		struct cs_buf jwe, pt;

		for (size_t j = 0; j < lens[i]; j++)
			m[j] = (uint8_t)(j * 31 + 7);
		cs_buf_init(&jwe, 2 * lens[i] + 4096);
		cs_buf_init(&pt, lens[i]);
		CHECK_OK(cs_jwe_encrypt(&k, CS_JWE_DIR, CS_JWE_COMPACT, m, lens[i], &jwe));
		CHECK_OK(cs_jwe_decrypt(&k, CS_JWE_DIR, jwe.p, jwe.len, jwe.len, &pt));
		CHECK(pt.len == lens[i] && (lens[i] == 0 || memcmp(pt.p, m, lens[i]) == 0));
		cs_buf_reset(&jwe);
		cs_buf_reset(&pt);
		CHECK_OK(cs_jwe_encrypt(&k, CS_JWE_DIR, CS_JWE_FLAT, m, lens[i], &jwe));
		CHECK_OK(cs_jwe_decrypt(&k, CS_JWE_DIR, jwe.p, jwe.len, jwe.len, &pt));
		CHECK(pt.len == lens[i] && (lens[i] == 0 || memcmp(pt.p, m, lens[i]) == 0));
		cs_buf_fini(&jwe);
		cs_buf_fini(&pt);
		free(m);
	}
	cs_jwk_fini(&k);
}

/* Our flattened JWE is exactly what Trustee's client accepts: members in Trustee's order, the
 * protected header canonical (its own JCS), no "aad". */
static void
test_trustee_form(void)
{
	static const char *const crv[] = {"P-256", "P-384", "P-521"};
	static const enum cs_key_type types[] = {CS_KEY_EC_P256, CS_KEY_EC_P384, CS_KEY_EC_P521};

	for (size_t i = 0; i < 3; i++) {
		struct cs_jwk k;
		struct cs_buf out, hdr, canon, prefix;
		json_t *o = NULL, *h = NULL;
		const char *prot;
		size_t plen;

		cs_buf_init(&out, MAX);
		cs_buf_init(&hdr, 8192);
		cs_buf_init(&canon, 8192);
		cs_buf_init(&prefix, 256);
		make_key(CS_JWE_ECDH_ES_A256KW, types[i], &k);
		CHECK_OK(cs_jwe_encrypt(&k, 0, CS_JWE_FLAT, (const uint8_t *)msg, strlen(msg),
		                        &out));
		CHECK(strncmp((const char *)out.p, "{\"protected\":\"", 14) == 0);
		CHECK(strstr((const char *)out.p, "\",\"encrypted_key\":\"") != NULL);
		CHECK(strstr((const char *)out.p, "\",\"iv\":\"") >
		      strstr((const char *)out.p, "encrypted_key"));
		CHECK(strstr((const char *)out.p, "\",\"ciphertext\":\"") >
		      strstr((const char *)out.p, "\"iv\""));
		CHECK(strstr((const char *)out.p, "\",\"tag\":\"") >
		      strstr((const char *)out.p, "ciphertext"));
		CHECK(out.p[out.len - 1] == '}' && strstr((const char *)out.p, "aad") == NULL);
		CHECK_OK(cs_json_parse(out.p, out.len, MAX, &o));
		CHECK(json_object_size(o) == 5);
		CHECK_OK(cs_json_get_str(o, "protected", &prot, &plen));
		CHECK_OK(cs_b64url_decode(&hdr, prot, plen));
		CHECK_OK(cs_json_parse(hdr.p, hdr.len, 8192, &h));
		CHECK_OK(cs_jcs(&canon, h));
		CHECK(canon.len == hdr.len && memcmp(canon.p, hdr.p, hdr.len) == 0);
		CHECK_OK(cs_buf_printf(
		        &prefix,
		        "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":"
		        "\"%s\",\"kty\":\"EC\",\"x\":\"",
		        crv[i]));
		CHECK(hdr.len > prefix.len && memcmp(hdr.p, prefix.p, prefix.len) == 0);
		json_decref(o);
		json_decref(h);
		cs_jwk_fini(&k);
		cs_buf_fini(&out);
		cs_buf_fini(&hdr);
		cs_buf_fini(&canon);
		cs_buf_fini(&prefix);
	}
}

/* RFC 7518 Appendix C: ECDH-ES key agreement with apu "Alice", apv "Bob" for A128GCM. */
static void
test_rfc7518_appendix_c(void)
{
	struct cs_jwk alice, bob;
	uint8_t k[16];
	struct cs_buf b;

	cs_buf_init(&b, 64);
	jwk_of("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	       "\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\","
	       "\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\",\"d\":\"0_"
	       "NxaRPUMQoAJt50Gz8YiTr8"
	       "gRTwyEaCumd-MToTmIo\"}",
	       &alice);
	jwk_of("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_"
	       "PxMQ\","
	       "\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\",\"d\":"
	       "\"VEmDZpDXXK8p8N0Cndsxs924"
	       "q6nS1RXFASRl6BfUqdw\"}",
	       &bob);
	CHECK_OK(cs_jwe_ecdh_es_derive(alice.key, bob.key, "A128GCM", (const uint8_t *)"Alice", 5,
	                               (const uint8_t *)"Bob", 3, k, sizeof(k)));
	CHECK_OK(cs_b64url_encode(&b, k, sizeof(k)));
	CHECK_STR((const char *)b.p, "VqqN6vgjbSBcIijNcacQGg");
	/* Symmetric: Bob derives the same from Alice's public key. */
	memset(k, 0, sizeof(k));
	cs_buf_reset(&b);
	CHECK_OK(cs_jwe_ecdh_es_derive(bob.key, alice.key, "A128GCM", (const uint8_t *)"Alice", 5,
	                               (const uint8_t *)"Bob", 3, k, sizeof(k)));
	CHECK_OK(cs_b64url_encode(&b, k, sizeof(k)));
	CHECK_STR((const char *)b.p, "VqqN6vgjbSBcIijNcacQGg");
	cs_jwk_fini(&alice);
	cs_jwk_fini(&bob);
	cs_buf_fini(&b);
}

/* cs_ecdh_ephemeral and cs_ecdh_raw_peer (src/crypto/ecdh_eph.c, the JWE fast paths) agree
 * with cs_ecdh on every curve, and refuse what is not a point or key of the curve. */
static void
test_ecdh_ephemeral(void)
{
	static const enum cs_key_type types[] = {CS_KEY_EC_P256, CS_KEY_EC_P384, CS_KEY_EC_P521};

	for (size_t i = 0; i < 3; i++) {
		struct cs_key *r = NULL, *eph = NULL;
		struct cs_buf z1, z2;
		uint8_t x[66], y[66], x2[66], y2[66];
		size_t cl = cs_key_ec_coord_len(types[i]);

		cs_buf_init(&z1, 66);
		cs_buf_init(&z2, 66);
		CHECK_OK(cs_key_generate(types[i], 0, &r));
		CHECK_OK(cs_ecdh_ephemeral(r, x, y, &z1));
		CHECK(z1.len == cl);
		CHECK_OK(cs_key_ec_from_raw(types[i], x, cl, y, cl, NULL, 0, &eph));
		CHECK_OK(cs_ecdh(r, eph, &z2));
		CHECK(z2.len == cl && z1.len == cl && memcmp(z1.p, z2.p, cl) == 0);
		/* The recipient's side from raw coordinates gives the same Z. */
		cs_buf_reset(&z2);
		CHECK_OK(cs_ecdh_raw_peer(r, x, cl, y, cl, &z2));
		CHECK(z2.len == cl && memcmp(z1.p, z2.p, cl) == 0);
		/* Off the curve (y changed), wrong lengths, a public-only key: refused, z
		 * unchanged. */
		cs_buf_reset(&z2);
		y[cl - 1] ^= 1;
		CHECK_ERR(cs_ecdh_raw_peer(r, x, cl, y, cl, &z2), CS_ERR_KEY);
		y[cl - 1] ^= 1;
		CHECK_ERR(cs_ecdh_raw_peer(r, x, cl - 1, y, cl, &z2), CS_ERR_KEY);
		CHECK_ERR(cs_ecdh_raw_peer(eph, x, cl, y, cl, &z2), CS_ERR_KEY);
		CHECK(z2.len == 0);
		/* A second call makes a different ephemeral key. */
		cs_buf_reset(&z2);
		CHECK_OK(cs_ecdh_ephemeral(r, x2, y2, &z2));
		CHECK(memcmp(x, x2, cl) != 0 && memcmp(z1.p, z2.p, cl) != 0);
		cs_key_free(r);
		cs_key_free(eph);
		cs_buf_fini(&z1);
		cs_buf_fini(&z2);
	}
	{
		struct cs_key *ed = NULL;
		struct cs_buf z;
		uint8_t x[66], y[66];

		cs_buf_init(&z, 66);
		CHECK_OK(cs_key_generate(CS_KEY_ED25519, 0, &ed));
		CHECK_ERR(cs_ecdh_ephemeral(ed, x, y, &z), CS_ERR_KEY);
		CHECK(z.len == 0);
		cs_key_free(ed);
		cs_buf_fini(&z);
	}
}

/* A compact JWE with the given header (JSON text) and base64url parts. */
static char *
forge(const char *hdr, const char *ek, const char *iv, const char *ct, const char *tag)
{
	struct cs_buf b;

	cs_buf_init(&b, MAX);
	CHECK_OK(cs_b64url_encode(&b, (const uint8_t *)hdr, strlen(hdr)));
	CHECK_OK(cs_buf_printf(&b, ".%s.%s.%s.%s", ek, iv, ct, tag));
	return (char *)cs_buf_take(&b, NULL);
}

#define IV "AAAAAAAAAAAAAAAA"
#define TAG "AAAAAAAAAAAAAAAAAAAAAA"
#define EK40 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define EPK256                                                                                     \
	"\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"                                         \
	"\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"                                            \
	"\",\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\"}"

static void
expect_forged(const struct cs_jwk *k, unsigned allow, const char *hdr, const char *ek,
              enum cs_err want)
{
	char *t = forge(hdr, ek, IV, "AAAA", TAG);

	CHECK_ERR(dec(k, allow, t, NULL), want);
	free(t);
}

static void
test_refusals(void)
{
	struct cs_jwk ec, rsa, dir, pub, p384;
	struct cs_buf b;
	char *t;

	cs_buf_init(&b, MAX);
	jwk_of(rfc7515_a3_jwk, &ec);
	jwk_of(rfc7520_rsa_jwk, &rsa);
	jwk_of(rfc7520_oct_enc_jwk, &dir);
	jwk_of(p384_jwk, &p384);
	jwk_of("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	       "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	       "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
	       &pub);

	/* Algorithms: none, unknown, not allowed, not fitting the key. */
	expect_forged(&ec, ALL, "{\"alg\":\"none\",\"enc\":\"A256GCM\"}", "", CS_ERR_ALG);
	expect_forged(&ec, ALL, "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\"," EPK256 "}", "",
	              CS_ERR_ALG);
	expect_forged(&ec, ALL, "{\"alg\":\"A256KW\",\"enc\":\"A256GCM\"}", EK40, CS_ERR_ALG);
	expect_forged(&ec, CS_JWE_RSA_OAEP_256,
	              "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK256 "}", EK40,
	              CS_ERR_ALG);
	expect_forged(&ec, ALL, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}", EK40, CS_ERR_ALG);
	expect_forged(&ec, ALL, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", CS_ERR_ALG);
	expect_forged(&rsa, ALL, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK256 "}",
	              EK40, CS_ERR_ALG);
	expect_forged(&dir, ALL, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", EK40, CS_ERR_ALG);
	/* A key whose JWK says RSA-OAEP-256 refuses an RSA1_5 JWE (no downgrade). */
	snprintf(rsa.alg, sizeof(rsa.alg), "%s", "RSA-OAEP-256");
	expect_forged(&rsa, ALL, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", EK40, CS_ERR_ALG);
	rsa.alg[0] = 0;
	/* A public key cannot decrypt. */
	expect_forged(&pub, ALL, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK256 "}",
	              EK40, CS_ERR_KEY);
	/* Header members: other enc, zip, crit, jku, epk outside ECDH, alg missing. */
	expect_forged(&ec, ALL, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128GCM\"," EPK256 "}", EK40,
	              CS_ERR_UNSUPPORTED);
	expect_forged(&ec, ALL,
	              "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"," EPK256 "}",
	              EK40, CS_ERR_UNSUPPORTED);
	expect_forged(&ec, ALL,
	              "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"crit\":[\"x\"]," EPK256
	              "}",
	              EK40, CS_ERR_UNSUPPORTED);
	expect_forged(&dir, ALL, "{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"jku\":\"https://x\"}", "",
	              CS_ERR_UNSUPPORTED);
	expect_forged(&dir, ALL, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"," EPK256 "}", "",
	              CS_ERR_UNSUPPORTED);
	expect_forged(&dir, ALL, "{\"enc\":\"A256GCM\"}", "", CS_ERR_JSON_FIELD);
	expect_forged(&dir, ALL, "{\"alg\":\"dir\"}", "", CS_ERR_JSON_FIELD);
	/* epk: on another curve, off the curve, carrying a private key, missing, wrong kty. */
	expect_forged(&p384, ALL, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK256 "}",
	              EK40, CS_ERR_KEY);
	expect_forged(
	        &ec, ALL,
	        "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\",\"crv"
	        "\":\"P-256\",\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\",\"y\":\"SLW_"
	        "xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFppA\"}}",
	        EK40, CS_ERR_KEY);
	expect_forged(
	        &ec, ALL,
	        "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\",\"crv"
	        "\":\"P-256\",\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\",\"y\":\"SLW_"
	        "xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\",\"d\":\"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyE"
	        "aCumd-MToTmIo\"}}",
	        EK40, CS_ERR_PROTOCOL);
	expect_forged(&ec, ALL, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}", EK40,
	              CS_ERR_JSON_FIELD);
	expect_forged(
	        &ec, ALL,
	        "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"oct\",\"k\":"
	        "\"AQ\"}}",
	        EK40, CS_ERR_KEY);
	/* A valid epk but an encrypted key of the wrong size, or one that does not unwrap. */
	expect_forged(&ec, ALL, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK256 "}",
	              "AAAA", CS_ERR_LENGTH);
	expect_forged(&ec, ALL, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK256 "}", EK40,
	              CS_ERR_DECRYPT);
	/* RSA1_5 with an encrypted key that is garbage: the same error as a bad tag. */
	{
		char ek[400];

		memset(ek, 'Q', 342);
		ek[342] = 0;
		expect_forged(&rsa, ALL, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", ek,
		              CS_ERR_DECRYPT);
		expect_forged(&rsa, ALL, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}", ek,
		              CS_ERR_DECRYPT);
	}
	/* dir with an encrypted key. */
	expect_forged(&dir, ALL, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", EK40, CS_ERR_PROTOCOL);
	expect_forged(&dir, ALL, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", CS_ERR_DECRYPT);
	/* Lengths and encodings of iv and tag; the number of parts. */
	t = forge("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", "AAAAAAAAAAAAAAA", "AAAA", TAG);
	CHECK_ERR(dec(&dir, ALL, t, NULL), CS_ERR_LENGTH);
	free(t);
	t = forge("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", "AAAAAAAAAAAAAAAAA", "AAAA", TAG);
	CHECK_ERR(dec(&dir, ALL, t, NULL), CS_ERR_ENCODING);
	free(t);
	t = forge("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", "AAAAAAAAAAAAAAAAAAAA", "AAAA", TAG);
	CHECK_ERR(dec(&dir, ALL, t, NULL), CS_ERR_LENGTH);
	free(t);
	t = forge("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", IV, "AAAA",
	          "AAAAAAAAAAAAAAAAAAAAAB");
	CHECK_ERR(dec(&dir, ALL, t, NULL), CS_ERR_ENCODING);
	free(t);
	t = forge("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", IV, "AAAA", "AAAAAAAAAAAAAAAAAAAAA");
	CHECK_ERR(dec(&dir, ALL, t, NULL), CS_ERR_ENCODING);
	free(t);
	t = forge("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "", IV, "AAAA", "AAAAAAAAAAAAAAAAAAAA");
	CHECK_ERR(dec(&dir, ALL, t, NULL), CS_ERR_LENGTH);
	free(t);
	CHECK_ERR(dec(&dir, ALL, "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.AAAA",
	              NULL),
	          CS_ERR_PROTOCOL);
	CHECK_ERR(dec(&dir, ALL, "", NULL), CS_ERR_PROTOCOL);
	/* Flattened: aad, shared unprotected headers, unknown members are refused; the
	 * per-recipient header may carry only epk and kid, never repeating a protected member. */
	{
		static const char *const bad[][2] = {
		        {"\"aad\":\"AAAA\",", "UNSUPPORTED"},
		        {"\"header\":{\"zip\":\"DEF\"},", "UNSUPPORTED"},
		        {"\"header\":{\"alg\":\"dir\"},", "UNSUPPORTED"},
		        {"\"header\":{\"kid\":\"1\"},", "DECRYPT"},
		        {"\"header\":[],", "JSON"},
		        {"\"unprotected\":{},", "UNSUPPORTED"},
		        {"\"recipients\":[],", "UNSUPPORTED"},
		        {"\"extra\":1,", "PROTOCOL"},
		        {"\"iv\":1,", "JSON"},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			cs_buf_reset(&b);
			CHECK_OK(cs_buf_printf(
			        &b,
			        "{%s\"protected\":\"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0"
			        "NNIn0\",\"iv\":\"" IV "\",\"ciphertext\":\"AAAA\","
			        "\"tag\":\"" TAG "\"}",
			        bad[i][0]));
			if (strcmp(bad[i][1], "UNSUPPORTED") == 0)
				CHECK_ERR(dec(&dir, ALL, (const char *)b.p, NULL),
				          CS_ERR_UNSUPPORTED);
			else if (strcmp(bad[i][1], "PROTOCOL") == 0)
				CHECK_ERR(dec(&dir, ALL, (const char *)b.p, NULL), CS_ERR_PROTOCOL);
			else if (strcmp(bad[i][1], "DECRYPT") == 0)
				CHECK_ERR(dec(&dir, ALL, (const char *)b.p, NULL), CS_ERR_DECRYPT);
			else
				CHECK(dec(&dir, ALL, (const char *)b.p, NULL) != CS_OK);
		}
	}
	/* The same member in the protected and the per-recipient header. */
	{
		char *f = forge("{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK256 "}", EK40,
		                IV, "AAAA", TAG);

		cs_buf_reset(&b);
		*strchr(f, '.') = 0;
		CHECK_OK(cs_buf_printf(
		        &b,
		        "{\"protected\":\"%s\",\"header\":{" EPK256 "},\"encrypted_key"
		        "\":\"" EK40 "\",\"iv\":\"" IV "\",\"ciphertext\":\"AAAA\",\"tag"
		        "\":\"" TAG "\"}",
		        f));
		CHECK_ERR(dec(&ec, ALL, (const char *)b.p, NULL), CS_ERR_PROTOCOL);
		free(f);
	}
	/* Encrypting refuses what does not fit. */
	cs_buf_reset(&b);
	CHECK_ERR(
	        cs_jwe_encrypt(&ec, CS_JWE_RSA_OAEP_256, CS_JWE_FLAT, (const uint8_t *)"x", 1, &b),
	        CS_ERR_ALG);
	CHECK_ERR(cs_jwe_encrypt(&dir, CS_JWE_ECDH_ES_A256KW, CS_JWE_FLAT, (const uint8_t *)"x", 1,
	                         &b),
	          CS_ERR_ALG);
	snprintf(ec.alg, sizeof(ec.alg), "%s", "ES256");
	CHECK_ERR(cs_jwe_encrypt(&ec, 0, CS_JWE_FLAT, (const uint8_t *)"x", 1, &b), CS_ERR_ALG);
	CHECK(b.len == 0);
	cs_jwk_fini(&ec);
	cs_jwk_fini(&rsa);
	cs_jwk_fini(&dir);
	cs_jwk_fini(&pub);
	cs_jwk_fini(&p384);
	cs_buf_fini(&b);
}

int
main(void)
{
	T_RUN(test_jwcrypto_vectors);
	T_RUN(test_roundtrip_and_tamper);
	T_RUN(test_lengths);
	T_RUN(test_trustee_form);
	T_RUN(test_rfc7518_appendix_c);
	T_RUN(test_ecdh_ephemeral);
	T_RUN(test_refusals);
	return t_done();
}

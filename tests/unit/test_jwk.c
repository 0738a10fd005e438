/* JWK: parsing every allowed kty, exact lengths, canonical public form, RFC 7638 thumbprints. */
#include <string.h>

#include "base/b64.h"
#include "base/json.h"
#include "jose/jwk.h"
#include "jose_vectors.h"
#include "t.h"

static enum cs_err
parse(const char *text, struct cs_jwk *jwk)
{
	return cs_jwk_parse_text((const uint8_t *)text, strlen(text), jwk);
}

/* Parses text and expects err; the JWK is always finished. */
static void
expect(const char *text, enum cs_err want)
{
	struct cs_jwk jwk;

	CHECK_ERR(parse(text, &jwk), want);
	cs_jwk_fini(&jwk);
}

static void
thumb_is(const char *text, const char *want_b64url)
{
	struct cs_jwk jwk;
	struct cs_buf b;
	uint8_t tp[32];

	cs_buf_init(&b, 64);
	CHECK_OK(parse(text, &jwk));
	CHECK_OK(cs_jwk_thumbprint(&jwk, tp));
	CHECK_OK(cs_b64url_encode(&b, tp, sizeof(tp)));
	CHECK_STR((const char *)b.p, want_b64url);
	cs_buf_fini(&b);
	cs_jwk_fini(&jwk);
}

/* RFC 7638 §3.1 (RSA) and RFC 8037 Appendix A.3 (Ed25519). */
static void
test_thumbprints(void)
{
	thumb_is("{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4"
	         "cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4"
	         "Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7"
	         "d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3X"
	         "PksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\","
	         "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}",
	         "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	thumb_is(rfc8037_ed25519_jwk, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

/* The public form is exactly the required members (+ alg), canonical; private parts never. */
static void
test_public_text(void)
{
	struct cs_jwk jwk;
	struct cs_buf b;

	cs_buf_init(&b, 4096);
	CHECK_OK(parse(rfc7515_a3_jwk, &jwk));
	CHECK(jwk.kty == CS_JWK_EC && cs_key_type(jwk.key) == CS_KEY_EC_P256);
	CHECK(cs_key_has_private(jwk.key));
	CHECK_OK(cs_jwk_public_text(&jwk, &b));
	CHECK_STR((const char *)b.p, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":"
	                             "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
	                             "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}");
	cs_jwk_fini(&jwk);

	/* Trustee's tee-pubkey keeps its alg. */
	cs_buf_reset(&b);
	CHECK_OK(parse(
	        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"f83OJ3D2x"
	        "F1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCy"
	        "StikYjKIWI5a0\"}",
	        &jwk));
	CHECK_STR(jwk.alg, "ECDH-ES+A256KW");
	CHECK(!cs_key_has_private(jwk.key));
	CHECK_OK(cs_jwk_public_text(&jwk, &b));
	CHECK(strstr((const char *)b.p, "{\"alg\":\"ECDH-ES+A256KW\",\"crv\":\"P-256\"") ==
	      (const char *)b.p);
	cs_jwk_fini(&jwk);

	cs_buf_reset(&b);
	CHECK_OK(parse(rfc8037_ed25519_jwk, &jwk));
	CHECK_OK(cs_jwk_public_text(&jwk, &b));
	CHECK_STR((const char *)b.p,
	          "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg"
	          "7hcvPapiMlrwIaaPcHURo\"}");
	cs_jwk_fini(&jwk);

	/* A symmetric key has no public form. */
	cs_buf_reset(&b);
	CHECK_OK(parse(rfc7520_oct_enc_jwk, &jwk));
	CHECK(jwk.kty == CS_JWK_OCT && jwk.oct_len == 32);
	CHECK_ERR(cs_jwk_public_text(&jwk, &b), CS_ERR_KEY);
	CHECK(b.len == 0);
	cs_jwk_fini(&jwk);
	cs_buf_fini(&b);
}

/* Every kty: public round trip through text, and the private export parses back to the same. */
static void
test_roundtrip(void)
{
	const char *keys[] = {rfc7515_a3_jwk, p384_jwk, rfc7520_p521_jwk, rfc7520_rsa_jwk,
	                      rfc8037_ed25519_jwk};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct cs_jwk a, b, c;
		struct cs_buf t;
		json_t *priv = NULL;
		char *text;

		cs_buf_init(&t, 8192);
		CHECK_OK(parse(keys[i], &a));
		CHECK_OK(cs_jwk_public_text(&a, &t));
		CHECK_OK(parse((const char *)t.p, &b));
		CHECK(b.key != NULL && cs_key_public_eq(a.key, b.key));
		CHECK(b.key != NULL && !cs_key_has_private(b.key));
		CHECK_ERR(cs_jwk_private_json(&b, &priv), CS_ERR_KEY);
		CHECK_OK(cs_jwk_private_json(&a, &priv));
		text = json_dumps(priv, JSON_COMPACT);
		CHECK(text != NULL);
		CHECK_OK(parse(text ? text : "", &c));
		CHECK(c.key != NULL && cs_key_has_private(c.key) && cs_key_public_eq(a.key, c.key));
		free(text);
		json_decref(priv);
		cs_jwk_fini(&a);
		cs_jwk_fini(&b);
		cs_jwk_fini(&c);
		cs_buf_fini(&t);
	}
}

#define X256 "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\""
#define Y256 "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\""

static void
test_rejects(void)
{
	/* Shapes. */
	expect("[]", CS_ERR_JSON_FIELD);
	expect("{\"crv\":\"P-256\"," X256 "," Y256 "}", CS_ERR_JSON_FIELD);
	expect("{\"kty\":1,\"crv\":\"P-256\"," X256 "," Y256 "}", CS_ERR_JSON_FIELD);
	expect("{\"kty\":\"EC\"," X256 "," Y256 "}", CS_ERR_JSON_FIELD);
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\"," X256 "}", CS_ERR_JSON_FIELD);
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":7," Y256 "}", CS_ERR_JSON_FIELD);
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\"," X256 "," Y256 ",\"alg\":5}", CS_ERR_JSON_FIELD);
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\"," X256 "," Y256 ",\"alg\":\""
	       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\"}",
	       CS_ERR_UNSUPPORTED);
	/* Not allow-listed. */
	expect("{\"kty\":\"EC\",\"crv\":\"P-192\"," X256 "," Y256 "}", CS_ERR_UNSUPPORTED);
	expect("{\"kty\":\"EC\",\"crv\":\"secp256k1\"," X256 "," Y256 "}", CS_ERR_UNSUPPORTED);
	expect("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPc"
	       "HURo\"}",
	       CS_ERR_UNSUPPORTED);
	expect("{\"kty\":\"DSA\"}", CS_ERR_UNSUPPORTED);
	expect("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"oth\":[]}", CS_ERR_UNSUPPORTED);
	/* Coordinates of the wrong length: 31 and 33 bytes, and a P-256 x under P-384. */
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	       "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA\"," Y256 "}",
	       CS_ERR_LENGTH);
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	       "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEUA"
	       "\"," Y256 "}",
	       CS_ERR_LENGTH);
	expect("{\"kty\":\"EC\",\"crv\":\"P-384\"," X256 "," Y256 "}", CS_ERR_LENGTH);
	/* Not on the curve: y changed in its last byte. */
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\"," X256
	       ",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4\"}",
	       CS_ERR_KEY);
	/* Non-canonical base64url: padding, unused bits set, a '+' of plain base64. */
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	       "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU="
	       "\"," Y256 "}",
	       CS_ERR_ENCODING);
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	       "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEV"
	       "\"," Y256 "}",
	       CS_ERR_ENCODING);
	expect("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvR+"
	       "EU"
	       "\"," Y256 "}",
	       CS_ERR_ENCODING);
	/* RSA: leading zero in n, private key missing CRT parts. */
	expect("{\"kty\":\"RSA\",\"n\":\"AAEC\",\"e\":\"AQAB\"}", CS_ERR_KEY);
	expect("{\"kty\":\"RSA\",\"n\":\"AQID\",\"e\":\"AQAB\",\"d\":\"AQID\"}", CS_ERR_JSON_FIELD);
	/* oct: empty and over CS_JWK_OCT_MAX (65 bytes). */
	expect("{\"kty\":\"oct\",\"k\":\"\"}", CS_ERR_KEY);
	expect("{\"kty\":\"oct\",\"k\":"
	       "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	       "AAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	       CS_ERR_TOO_LARGE);
	/* Text: trailing bytes, over the size limit. */
	expect("{\"kty\":\"oct\",\"k\":\"AQ\"} x", CS_ERR_JSON);
	{
		size_t n = CS_JWK_TEXT_MAX + 1;
		char *big = malloc(n + 1);
		struct cs_jwk jwk;

		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		big[n] = 0;
		CHECK_ERR(cs_jwk_parse_text((const uint8_t *)big, n, &jwk), CS_ERR_TOO_LARGE);
		cs_jwk_fini(&jwk);
		free(big);
	}
}

static void
test_from_key(void)
{
	struct cs_key *k = NULL;
	struct cs_jwk jwk;
	uint8_t secret[32] = {1, 2, 3};

	CHECK_OK(cs_key_generate(CS_KEY_EC_P521, 0, &k));
	CHECK_OK(cs_jwk_from_key(k, "ECDH-ES+A256KW", &jwk));
	CHECK(jwk.kty == CS_JWK_EC);
	CHECK_STR(jwk.alg, "ECDH-ES+A256KW");
	cs_jwk_fini(&jwk);
	/* An alg too long: the key is freed (ASan's leak check sees it) and the JWK left empty. */
	CHECK_OK(cs_key_generate(CS_KEY_ED25519, 0, &k));
	CHECK_ERR(cs_jwk_from_key(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", &jwk),
	          CS_ERR_UNSUPPORTED);
	CHECK(jwk.key == NULL);
	cs_jwk_fini(&jwk);
	CHECK_OK(cs_jwk_from_oct(secret, sizeof(secret), "dir", &jwk));
	CHECK(jwk.oct_len == 32 && jwk.oct[2] == 3);
	cs_jwk_fini(&jwk);
	CHECK(jwk.oct[2] == 0 && jwk.oct_len == 0); /* wiped */
	CHECK_ERR(cs_jwk_from_oct(secret, 0, NULL, &jwk), CS_ERR_KEY);
	CHECK_ERR(cs_jwk_from_oct(secret, CS_JWK_OCT_MAX + 1, NULL, &jwk), CS_ERR_KEY);
}

int
main(void)
{
	T_RUN(test_thumbprints);
	T_RUN(test_public_text);
	T_RUN(test_roundtrip);
	T_RUN(test_rejects);
	T_RUN(test_from_key);
	return t_done();
}

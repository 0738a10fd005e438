/* JWS and JWT: RFC 7515/7520/8037 vectors, every algorithm both ways, and every refusal. */
#include <string.h>

#include "base/b64.h"
#include "base/json.h"
#include "crypto/hash.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "jose_vectors.h"
#include "t.h"

#define ALL                                                                                        \
	(CS_JWS_ES256 | CS_JWS_ES384 | CS_JWS_ES512 | CS_JWS_EDDSA | CS_JWS_RS256 | CS_JWS_PS256)

static struct cs_key *
key_of(const char *jwk_text)
{
	struct cs_jwk jwk;
	struct cs_key *k = NULL;

	if (cs_jwk_parse_text((const uint8_t *)jwk_text, strlen(jwk_text), &jwk) == CS_OK) {
		k = jwk.key;
		jwk.key = NULL;
	}
	cs_jwk_fini(&jwk);
	CHECK(k != NULL);
	return k;
}

static enum cs_err
verify(const char *tok, unsigned allow, const struct cs_key *k)
{
	struct cs_buf p;
	enum cs_err err;

	cs_buf_init(&p, 1 << 20);
	err = cs_jws_verify(tok, strlen(tok), 0, allow, k, &p, NULL, NULL);
	if (err != CS_OK)
		CHECK(p.len == 0); /* nothing is released from a failed verification */
	cs_buf_fini(&p);
	return err;
}

static void
test_rfc_vectors(void)
{
	struct cs_key *ec = key_of(rfc7515_a3_jwk), *p521 = key_of(rfc7520_p521_jwk),
	              *rsa = key_of(rfc7520_rsa_jwk), *ed = key_of(rfc8037_ed25519_jwk);
	struct cs_buf p, want, tok;
	json_t *hdr = NULL, *extra;
	enum cs_jws_alg alg = 0;

	cs_buf_init(&p, 4096);
	cs_buf_init(&want, 4096);
	cs_buf_init(&tok, 4096);
	/* RFC 7515 A.3: ES256. */
	CHECK_OK(cs_jws_verify(rfc7515_a3_jws, strlen(rfc7515_a3_jws), 0, CS_JWS_ES256, ec, &p,
	                       &hdr, &alg));
	CHECK(alg == CS_JWS_ES256);
	CHECK(p.len == 70 && memcmp(p.p, "{\"iss\":\"joe\",\r\n \"exp\":1300819380,", 33) == 0);
	CHECK(hdr != NULL && json_object_size(hdr) == 1);
	json_decref(hdr);
	/* RFC 7520 §4.3: ES512. */
	CHECK_OK(verify(rfc7520_4_3_es512, CS_JWS_ES512, p521));
	/* RFC 7520 §4.1: RS256 is deterministic, so our signer must give the RFC's bytes. */
	CHECK_OK(verify(rfc7520_4_1_rs256, CS_JWS_RS256, rsa));
	CHECK_OK(cs_b64url_decode(&want, rfc7520_payload_b64, strlen(rfc7520_payload_b64)));
	extra = json_pack("{s:s}", "kid", "bilbo.baggins@hobbiton.example");
	CHECK_OK(cs_jws_sign(CS_JWS_RS256, rsa, extra, want.p, want.len, &tok));
	CHECK_STR((const char *)tok.p, rfc7520_4_1_rs256);
	json_decref(extra);
	/* RFC 8037 A.4/A.5: Ed25519 is deterministic too. */
	CHECK_OK(verify(rfc8037_jws, CS_JWS_EDDSA, ed));
	cs_buf_reset(&tok);
	CHECK_OK(cs_jws_sign(CS_JWS_EDDSA, ed, NULL, (const uint8_t *)"Example of Ed25519 signing",
	                     26, &tok));
	CHECK_STR((const char *)tok.p, rfc8037_jws);
	/* RFC 7520 §4.4: HS256 is never accepted, whatever the allow-list and key. */
	CHECK_ERR(verify(rfc7520_4_4_hs256, ~0u, rsa), CS_ERR_ALG);
	CHECK_ERR(verify(rfc7520_4_4_hs256, ~0u, ec), CS_ERR_ALG);
	cs_buf_fini(&p);
	cs_buf_fini(&want);
	cs_buf_fini(&tok);
	cs_key_free(ec);
	cs_key_free(p521);
	cs_key_free(rsa);
	cs_key_free(ed);
}

static void
test_roundtrip(void)
{
	static const struct {
		enum cs_jws_alg alg;
		enum cs_key_type type;
	} cases[] = {
	        {CS_JWS_ES256, CS_KEY_EC_P256}, {CS_JWS_ES384, CS_KEY_EC_P384},
	        {CS_JWS_ES512, CS_KEY_EC_P521}, {CS_JWS_EDDSA, CS_KEY_ED25519},
	        {CS_JWS_RS256, CS_KEY_RSA},     {CS_JWS_PS256, CS_KEY_RSA},
	};
	const uint8_t msg[] = "{\"hello\":\"world\"}";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_key *k = NULL, *other = NULL;
		struct cs_buf tok, p;
		enum cs_jws_alg got = 0;

		cs_buf_init(&tok, 8192);
		cs_buf_init(&p, 1024);
		CHECK_OK(cs_key_generate(cases[i].type, 2048, &k));
		CHECK_OK(cs_key_generate(cases[i].type, 2048, &other));
		CHECK_OK(cs_jws_sign(cases[i].alg, k, NULL, msg, sizeof(msg) - 1, &tok));
		CHECK_OK(cs_jws_verify((const char *)tok.p, tok.len, 0, cases[i].alg, k, &p, NULL,
		                       &got));
		CHECK(got == cases[i].alg);
		CHECK(p.len == sizeof(msg) - 1 && memcmp(p.p, msg, p.len) == 0);
		/* Not in the allow-list; a key of the same type that did not sign. */
		CHECK_ERR(verify((const char *)tok.p, ALL & ~cases[i].alg, k), CS_ERR_ALG);
		CHECK_ERR(verify((const char *)tok.p, ALL, other), CS_ERR_SIGNATURE);
		/* Flip one bit in the middle of the signature and of the payload. */
		{
			char *t = strdup((const char *)tok.p), *dot2 = strrchr(t, '.');
			size_t s = (size_t)(dot2 - t) + 1 + (tok.len - (size_t)(dot2 - t)) / 2;

			t[s] = t[s] == 'A' ? 'B' : 'A';
			CHECK_ERR(verify(t, ALL, k), CS_ERR_SIGNATURE);
			memcpy(t, tok.p, tok.len + 1);
			t[strchr(t, '.') - t + 3] ^= 1;
			CHECK(verify(t, ALL, k) != CS_OK);
			free(t);
		}
		cs_key_free(k);
		cs_key_free(other);
		cs_buf_fini(&tok);
		cs_buf_fini(&p);
	}
}

/* A token with header h (JSON text), payload "{}" and signature sig (base64url). */
static char *
forge(const char *h, const char *sig)
{
	struct cs_buf b;

	cs_buf_init(&b, 1 << 16);
	CHECK_OK(cs_b64url_encode(&b, (const uint8_t *)h, strlen(h)));
	CHECK_OK(cs_buf_append_str(&b, ".e30."));
	CHECK_OK(cs_buf_append_str(&b, sig));
	return (char *)cs_buf_take(&b, NULL);
}

/* Verifies a forged token and expects err. */
static void
expect_forged(const char *h, const char *sig, const struct cs_key *k, enum cs_err want)
{
	char *t = forge(h, sig);

	CHECK_ERR(verify(t, ~0u, k), want);
	free(t);
}

static void
test_refusals(void)
{
	struct cs_key *ec = key_of(rfc7515_a3_jwk), *rsa = key_of(rfc7520_rsa_jwk);
	struct cs_buf mac_in, pub, tok;
	uint8_t mac[32];
	char *t;
	json_t *extra;

	cs_buf_init(&mac_in, 4096);
	cs_buf_init(&pub, 4096);
	cs_buf_init(&tok, 8192);
	/* alg "none", with and without a signature part. */
	expect_forged("{\"alg\":\"none\"}", "", ec, CS_ERR_ALG);
	expect_forged("{\"alg\":\"None\"}", "", ec, CS_ERR_ALG);
	/* HS256 keyed with the verifier's public key (the classic key confusion). */
	{
		struct cs_jwk j;
		struct cs_buf sig;
		char *h;

		cs_buf_init(&sig, 64);
		CHECK_OK(cs_jwk_from_key(rsa, NULL, &j));
		CHECK_OK(cs_jwk_public_text(&j, &pub));
		j.key = NULL; /* still owned here */
		cs_jwk_fini(&j);
		h = forge("{\"alg\":\"HS256\"}", "");
		CHECK_OK(
		        cs_hmac(CS_SHA256, pub.p, pub.len, (const uint8_t *)h, strlen(h) - 1, mac));
		CHECK_OK(cs_b64url_encode(&sig, mac, sizeof(mac)));
		CHECK_OK(cs_buf_append(&mac_in, h, strlen(h)));
		CHECK_OK(cs_buf_append(&mac_in, sig.p, sig.len));
		CHECK_ERR(verify((const char *)mac_in.p, ~0u, rsa), CS_ERR_ALG);
		free(h);
		cs_buf_fini(&sig);
	}
	/* Header alg that does not fit the key: ES384 and RS256 headers against a P-256 key,
	 * ES256 against RSA; and a real ES256 token presented to an RSA verifier. */
	expect_forged("{\"alg\":\"ES384\"}", "AAAA", ec, CS_ERR_ALG);
	expect_forged("{\"alg\":\"RS256\"}", "AAAA", ec, CS_ERR_ALG);
	expect_forged("{\"alg\":\"PS256\"}", "AAAA", ec, CS_ERR_ALG);
	CHECK_ERR(verify(rfc7515_a3_jws, ~0u, rsa), CS_ERR_ALG);
	/* Shapes: alg missing or not a string, header not an object, not JSON, crit, b64. */
	expect_forged("{\"typ\":\"JWT\"}", "AAAA", ec, CS_ERR_JSON_FIELD);
	expect_forged("{\"alg\":256}", "AAAA", ec, CS_ERR_JSON_FIELD);
	expect_forged("[\"ES256\"]", "AAAA", ec, CS_ERR_JSON_FIELD);
	expect_forged("{\"alg\":\"ES256\"", "AAAA", ec, CS_ERR_JSON);
	t = forge("{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "AAAA");
	CHECK(verify(t, ~0u, ec) != CS_OK); /* duplicate member */
	free(t);
	extra = json_pack("{s:[s],s:i}", "crit", "exp", "exp", 1);
	CHECK_OK(cs_jws_sign(CS_JWS_ES256, ec, extra, (const uint8_t *)"x", 1, &tok));
	CHECK_ERR(verify((const char *)tok.p, CS_JWS_ES256, ec), CS_ERR_UNSUPPORTED);
	json_decref(extra);
	cs_buf_reset(&tok);
	extra = json_pack("{s:b}", "b64", 0);
	CHECK_OK(cs_jws_sign(CS_JWS_ES256, ec, extra, (const uint8_t *)"x", 1, &tok));
	CHECK_ERR(verify((const char *)tok.p, CS_JWS_ES256, ec), CS_ERR_UNSUPPORTED);
	json_decref(extra);
	/* Signing refuses a key that does not fit. */
	cs_buf_reset(&tok);
	CHECK_ERR(cs_jws_sign(CS_JWS_RS256, ec, NULL, (const uint8_t *)"x", 1, &tok), CS_ERR_ALG);
	CHECK_ERR(cs_jws_sign(CS_JWS_ES384, ec, NULL, (const uint8_t *)"x", 1, &tok), CS_ERR_ALG);
	CHECK_ERR(cs_jws_sign(CS_JWS_ES256 | CS_JWS_ES384, ec, NULL, (const uint8_t *)"x", 1, &tok),
	          CS_ERR_ALG);
	CHECK(tok.len == 0);
	cs_buf_fini(&mac_in);
	cs_buf_fini(&pub);
	cs_buf_fini(&tok);
	cs_key_free(ec);
	cs_key_free(rsa);
}

static void
test_encoding_and_size(void)
{
	struct cs_key *ec = key_of(rfc7515_a3_jwk);
	char *t = strdup(rfc7515_a3_jws);
	size_t n = strlen(t);
	struct cs_buf p;

	cs_buf_init(&p, 4096);
	/* Truncated: drop the signature part, or cut inside it; a fourth part. */
	*strrchr(t, '.') = 0;
	CHECK_ERR(verify(t, CS_JWS_ES256, ec), CS_ERR_PROTOCOL);
	memcpy(t, rfc7515_a3_jws, n + 1);
	t[n - 2] = 0;
	CHECK_ERR(verify(t, CS_JWS_ES256, ec), CS_ERR_SIGNATURE);
	free(t);
	t = malloc(n + 3);
	snprintf(t, n + 3, "%s.A", rfc7515_a3_jws);
	CHECK_ERR(verify(t, CS_JWS_ES256, ec), CS_ERR_PROTOCOL);
	/* Non-canonical base64url: the signature's last character with unused bits set
	 * ('Q' -> 'R'), padding, whitespace, a '/' of plain base64. */
	memcpy(t, rfc7515_a3_jws, n + 1);
	t[n - 1] = 'R';
	CHECK_ERR(verify(t, CS_JWS_ES256, ec), CS_ERR_ENCODING);
	snprintf(t, n + 3, "%s==", rfc7515_a3_jws);
	CHECK_ERR(verify(t, CS_JWS_ES256, ec), CS_ERR_ENCODING);
	snprintf(t, n + 3, " %s", rfc7515_a3_jws);
	CHECK_ERR(verify(t, CS_JWS_ES256, ec), CS_ERR_ENCODING);
	memcpy(t, rfc7515_a3_jws, n + 1);
	t[n - 10] = '/';
	CHECK_ERR(verify(t, CS_JWS_ES256, ec), CS_ERR_ENCODING);
	/* Size limit: exactly n is fine, n - 1 is too large. */
	CHECK_OK(cs_jws_verify(rfc7515_a3_jws, n, n, CS_JWS_ES256, ec, &p, NULL, NULL));
	cs_buf_reset(&p);
	CHECK_ERR(cs_jws_verify(rfc7515_a3_jws, n, n - 1, CS_JWS_ES256, ec, &p, NULL, NULL),
	          CS_ERR_TOO_LARGE);
	/* The payload goes to the caller's capped buffer. */
	cs_buf_fini(&p);
	cs_buf_init(&p, 10);
	CHECK_ERR(cs_jws_verify(rfc7515_a3_jws, n, 0, CS_JWS_ES256, ec, &p, NULL, NULL),
	          CS_ERR_TOO_LARGE);
	CHECK(p.len == 0);
	free(t);
	cs_buf_fini(&p);
	cs_key_free(ec);
}

static void
test_jwt(void)
{
	struct cs_key *k = NULL, *ec = key_of(rfc7515_a3_jwk);
	struct cs_buf tok;
	json_t *claims, *got = NULL, *hdr = NULL;
	const int64_t now = 1767225600; /* 2026-01-01T00:00:00Z */
	const char *typ;
	size_t len;

	cs_buf_init(&tok, 8192);
	CHECK_OK(cs_key_generate(CS_KEY_EC_P256, 0, &k));
	claims = json_pack("{s:s,s:I,s:I,s:I}", "iss", "custos", "iat", (json_int_t)now, "nbf",
	                   (json_int_t)now, "exp", (json_int_t)(now + 300));
	CHECK_OK(cs_jwt_issue(CS_JWS_ES256, k, claims, NULL, &tok));
	CHECK_OK(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now, 0,
	                       CS_JWT_REQUIRE_EXP, &got, &hdr));
	CHECK(got != NULL && json_equal(got, claims));
	CHECK(hdr != NULL && cs_json_get_str(hdr, "typ", &typ, &len) == CS_OK && len == 3);
	json_decref(got);
	json_decref(hdr);
	/* exp: valid until exp - 1, expired at exp; a leeway extends it. */
	CHECK_OK(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now + 299, 0, 0,
	                       &got, NULL));
	json_decref(got);
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now + 300, 0, 0,
	                        &got, NULL),
	          CS_ERR_EXPIRED);
	CHECK(got == NULL);
	CHECK_OK(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now + 330, 60, 0,
	                       &got, NULL));
	json_decref(got);
	/* nbf / iat in the future. */
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now - 1, 0, 0,
	                        &got, NULL),
	          CS_ERR_NOT_YET_VALID);
	CHECK_OK(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now - 1, 5, 0,
	                       &got, NULL));
	json_decref(got);
	/* Signature errors come first. */
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, ec, now, 0, 0, &got,
	                        NULL),
	          CS_ERR_SIGNATURE);
	/* exp required but absent; a time that is not a number. */
	cs_buf_reset(&tok);
	json_object_del(claims, "exp");
	CHECK_OK(cs_jwt_issue(CS_JWS_ES256, k, claims, NULL, &tok));
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now, 0,
	                        CS_JWT_REQUIRE_EXP, &got, NULL),
	          CS_ERR_TOKEN);
	cs_buf_reset(&tok);
	json_object_set_new(claims, "exp", json_string("tomorrow"));
	CHECK_OK(cs_jwt_issue(CS_JWS_ES256, k, claims, NULL, &tok));
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now, 0, 0, &got,
	                        NULL),
	          CS_ERR_TOKEN);
	/* A payload that is not an object. */
	cs_buf_reset(&tok);
	CHECK_OK(cs_jws_sign(CS_JWS_ES256, k, NULL, (const uint8_t *)"[1]", 3, &tok));
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, k, now, 0, 0, &got,
	                        NULL),
	          CS_ERR_TOKEN);
	/* RFC 7515 A.3 as a JWT: exp 1300819380. */
	CHECK_OK(cs_jwt_verify(rfc7515_a3_jws, strlen(rfc7515_a3_jws), 0, CS_JWS_ES256, ec,
	                       1300819379, 0, CS_JWT_REQUIRE_EXP, &got, NULL));
	json_decref(got);
	CHECK_ERR(cs_jwt_verify(rfc7515_a3_jws, strlen(rfc7515_a3_jws), 0, CS_JWS_ES256, ec, now, 0,
	                        0, &got, NULL),
	          CS_ERR_EXPIRED);
	json_decref(claims);
	cs_buf_fini(&tok);
	cs_key_free(k);
	cs_key_free(ec);
}

/*
 * Trustee's example EAR claims (fixture): issued as Trustee's AS does (ES256, the signer's public
 * JWK in the header), verified inside [iat, exp) and refused at exp; claims survive unchanged.
 */
static void
test_ear_fixture(void)
{
	const char *dir = t_fixtures();
	char path[4096];
	uint8_t *text;
	size_t n;
	struct cs_key *k = NULL;
	struct cs_jwk jwk;
	struct cs_buf tok;
	json_t *claims = NULL, *got = NULL, *hdr = NULL, *pub = NULL, *extra;
	int64_t iat = 0, exp = 0;

	snprintf(path, sizeof(path), "%s/trustee/ear-token-example-claims.json", dir ? dir : "");
	text = dir ? t_read_file(path, &n) : NULL;
	if (text == NULL) {
		printf("SKIP: 1 fixture tests: %s not found\n", dir ? path : "fixtures directory");
		return;
	}
	cs_buf_init(&tok, 1 << 16);
	CHECK_OK(cs_json_parse(text, n, 1 << 16, &claims));
	CHECK_OK(cs_json_get_int(claims, "iat", &iat));
	CHECK_OK(cs_json_get_int(claims, "exp", &exp));
	CHECK(exp - iat == 300); /* Trustee's default 5 minutes */
	CHECK_OK(cs_key_generate(CS_KEY_EC_P256, 0, &k));
	CHECK_OK(cs_jwk_from_key(k, "ES256", &jwk));
	CHECK_OK(cs_jwk_public_json(&jwk, &pub));
	extra = json_pack("{s:O}", "jwk", pub);
	CHECK_OK(cs_jwt_issue(CS_JWS_ES256, jwk.key, claims, extra, &tok));
	CHECK_OK(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, jwk.key, iat, 0,
	                       CS_JWT_REQUIRE_EXP, &got, &hdr));
	CHECK(got != NULL && json_equal(got, claims));
	CHECK(hdr != NULL && json_equal(json_object_get(hdr, "jwk"), pub));
	json_decref(got);
	got = NULL;
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_ES256, jwk.key, exp, 0,
	                        CS_JWT_REQUIRE_EXP, &got, NULL),
	          CS_ERR_EXPIRED);
	CHECK_ERR(cs_jwt_verify((const char *)tok.p, tok.len, 0, CS_JWS_EDDSA, jwk.key, iat, 0, 0,
	                        &got, NULL),
	          CS_ERR_ALG);
	json_decref(hdr);
	json_decref(extra);
	json_decref(pub);
	json_decref(claims);
	cs_jwk_fini(&jwk);
	cs_buf_fini(&tok);
	free(text);
}

int
main(void)
{
	T_RUN(test_rfc_vectors);
	T_RUN(test_roundtrip);
	T_RUN(test_refusals);
	T_RUN(test_encoding_and_size);
	T_RUN(test_jwt);
	T_RUN(test_ear_fixture);
	return t_done();
}

/*
 * The agent's pure parts: the resource path grammar, the report-data binding (checked against a
 * digest computed independently with `openssl dgst -sha384` over the JCS text written out by
 * hand), the unverified JWT claims reader and the listen-address parser. The network parts are
 * exercised by the end-to-end tests against real brokers (tests/e2e/).
 */
#include <string.h>

#include "agent/cdh.h"
#include "agent/rcar.h"
#include "base/b64.h"
#include "base/json.h"
#include "t.h"

static void
test_path(void)
{
	CHECK_OK(cs_rcar_check_path("default/key/k1"));
	CHECK_OK(cs_rcar_check_path("a_b/c-d/e.f"));
	CHECK_OK(cs_rcar_check_path("A/B/0.9"));
	CHECK_ERR(cs_rcar_check_path(""), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b/c/d"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a//c"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b/"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("/a/b/c"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/../c"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b/.."), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b/.hidden"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b/%2e%2e"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b/c d"), CS_ERR_PATH);
	CHECK_ERR(cs_rcar_check_path("a/b/c?x=1"), CS_ERR_PATH);
}

static void
test_report_data(void)
{
	/* SHA-384 of exactly this text, computed with openssl dgst:
	 * {"additional-evidence":"","nonce":"MTIz...MTI=","tee-pubkey":{"alg":"ECDH-ES+A256KW",
	 *  "crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}} */
	static const char want_hex[] =
	        "f141a25a3fd1f4666a2e66c2a7ca0d22ab311d3669b03cb460794d81d84e49b8"
	        "46294ce4434a521fcfe45945310d6d19";
	static const char nonce[] = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
	uint8_t want[48], got[CS_REPORT_DATA_LEN], zero[16] = {0};
	/* Member order as guest-components sends it: JCS must sort it. */
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "alg",
	                        "ECDH-ES+A256KW", "x", "AAAA", "y", "BBBB");

	CHECK_OK(cs_hex_decode_fixed(want, sizeof(want), want_hex, strlen(want_hex)));
	CHECK_OK(cs_rcar_report_data(CS_SHA384, nonce, jwk, "", got));
	CHECK_MEM(got, want, 48);
	CHECK_MEM(got + 48, zero, 16);
	/* Any change to the bound values changes the binding. */
	CHECK_OK(cs_rcar_report_data(CS_SHA384, nonce, jwk, "{}", got));
	CHECK(memcmp(got, want, 48) != 0);
	CHECK_OK(cs_rcar_report_data(CS_SHA384, "MTIz", jwk, "", got));
	CHECK(memcmp(got, want, 48) != 0);
	/* SHA-512 fills all 64 bytes. */
	CHECK_OK(cs_rcar_report_data(CS_SHA512, nonce, jwk, "", got));
	CHECK(memcmp(got + 48, zero, 16) != 0);
	json_decref(jwk);
}

static void
test_peek_claims(void)
{
	/* {"alg":"ES256"} . {"exp":1700000000,"iss":"x"} . sig */
	static const char tok[] =
	        "eyJhbGciOiJFUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDAsImlzcyI6IngifQ.c2ln";
	json_t *c = NULL;
	int64_t exp = 0;

	CHECK_OK(cs_rcar_peek_claims(tok, strlen(tok), &c));
	CHECK_OK(cs_json_get_int(c, "exp", &exp));
	CHECK(exp == 1700000000);
	json_decref(c);
	CHECK_ERR(cs_rcar_peek_claims("abc", 3, &c), CS_ERR_TOKEN);
	CHECK(c == NULL);
	CHECK_ERR(cs_rcar_peek_claims("a.b.c.d", 7, &c), CS_ERR_TOKEN);
	CHECK(cs_rcar_peek_claims("a.!!.c", 6, &c) != CS_OK);
	/* A payload that is JSON but not an object. */
	CHECK_ERR(cs_rcar_peek_claims("a.WzFd.c", 8, &c), CS_ERR_TOKEN);
	CHECK(c == NULL);
}

static void
test_listen(void)
{
	uint32_t a;
	uint16_t p;

	CHECK_OK(cs_cdh_parse_listen("127.0.0.1:8006", &a, &p));
	CHECK(p == 8006);
	CHECK(((const uint8_t *)&a)[0] == 127 && ((const uint8_t *)&a)[3] == 1);
	CHECK_OK(cs_cdh_parse_listen("0.0.0.0:0", &a, &p));
	CHECK(p == 0);
	CHECK_ERR(cs_cdh_parse_listen("127.0.0.1", &a, &p), CS_ERR_INVAL);
	CHECK_ERR(cs_cdh_parse_listen("127.0.0.1:", &a, &p), CS_ERR_INVAL);
	CHECK_ERR(cs_cdh_parse_listen("127.0.0.1:65536", &a, &p), CS_ERR_INVAL);
	CHECK_ERR(cs_cdh_parse_listen("127.0.0.1:8x", &a, &p), CS_ERR_INVAL);
	CHECK_ERR(cs_cdh_parse_listen("localhost:80", &a, &p), CS_ERR_INVAL);
	CHECK_ERR(cs_cdh_parse_listen(":80", &a, &p), CS_ERR_INVAL);
}

int
main(void)
{
	T_RUN(test_path);
	T_RUN(test_report_data);
	T_RUN(test_peek_claims);
	T_RUN(test_listen);
	return t_done();
}

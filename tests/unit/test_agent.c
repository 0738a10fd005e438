/*
 * The agent's pure parts: the resource path grammar, the report-data binding (checked against a
 * digest computed independently with `openssl dgst -sha384` over the JCS text written out by
 * hand), the unverified JWT claims reader and the listen-address parser. The network parts are
 * exercised by the end-to-end tests against real brokers (tests/e2e/).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cdh.h"
#include "agent/http.h"
#include "agent/rcar.h"
#include "base/b64.h"
#include "base/json.h"
#include "t.h"
#include "tee/tee.h"

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
	/* A header injection attempt through the token the broker returns. */
	CHECK_ERR(cs_rcar_peek_claims("a.e30.c\r\nX: y", 14, &c), CS_ERR_TOKEN);
	CHECK_ERR(cs_rcar_peek_claims("a.e30.c ", 8, &c), CS_ERR_TOKEN);
	CHECK_OK(cs_rcar_peek_claims("a.e30.c", 7, &c));
	json_decref(c);
	CHECK(cs_rcar_peek_claims("a.!!!!.c", 8, &c) != CS_OK);
	CHECK(cs_rcar_peek_claims("a.!!.c", 6, &c) != CS_OK); /* invalid in the remainder */
	/* A payload that is JSON but not an object. */
	CHECK_ERR(cs_rcar_peek_claims("a.WzFd.c", 8, &c), CS_ERR_TOKEN);
	CHECK(c == NULL);
}

static enum cs_err
challenge(const char *text, char **nonce, enum cs_hash *h)
{
	return cs_rcar_parse_challenge((const uint8_t *)text, strlen(text), nonce, h);
}

static void
test_challenge(void)
{
	char *nonce = NULL;
	enum cs_hash h = CS_SHA256;

	/* Trustee's challenge for every TEE but SE: extra-params is the empty string. */
	CHECK_OK(challenge("{\"nonce\":\"bm9uY2U=\",\"extra-params\":\"\"}", &nonce, &h));
	CHECK_STR(nonce, "bm9uY2U=");
	CHECK(h == CS_SHA384);
	free(nonce);
	/* IBM SE's form selects the hash. */
	CHECK_OK(challenge("{\"nonce\":\"n\",\"extra-params\":{\"selected-hash-algorithm\":"
	                   "\"sha512\"}}",
	                   &nonce, &h));
	CHECK(h == CS_SHA512);
	free(nonce);
	CHECK_OK(challenge("{\"nonce\":\"n\",\"extra-params\":{}}", &nonce, &h));
	CHECK(h == CS_SHA384);
	free(nonce);
	CHECK_OK(challenge("{\"nonce\":\"n\"}", &nonce, &h));
	free(nonce);
	CHECK_ERR(challenge("{\"nonce\":\"n\",\"extra-params\":{\"selected-hash-algorithm\":"
	                    "\"sm3\"}}",
	                    &nonce, &h),
	          CS_ERR_UNSUPPORTED);
	CHECK(nonce == NULL);
	CHECK_ERR(challenge("{\"nonce\":\"\",\"extra-params\":\"\"}", &nonce, &h),
	          CS_ERR_JSON_FIELD);
	CHECK_ERR(challenge("{\"nonce\":7,\"extra-params\":\"\"}", &nonce, &h), CS_ERR_JSON_FIELD);
	CHECK_ERR(challenge("{\"extra-params\":\"\"}", &nonce, &h), CS_ERR_JSON_FIELD);
	CHECK_ERR(challenge("{\"nonce\":\"n\",\"extra-params\":7}", &nonce, &h), CS_ERR_JSON_FIELD);
	CHECK_ERR(challenge("[\"nonce\"]", &nonce, &h), CS_ERR_JSON_FIELD);
	CHECK(challenge("{\"nonce\":\"n\"", &nonce, &h) != CS_OK);
	CHECK(nonce == NULL);
}

static enum cs_err
cookie(const char *line, char out[CS_HTTP_COOKIE_MAX + 1])
{
	return cs_http_parse_set_cookie(line, strlen(line), out);
}

static void
test_cookie(void)
{
	char out[CS_HTTP_COOKIE_MAX + 1];
	char *big;

	/* Trustee's form: the value, then Expires; no other attributes. */
	CHECK_OK(cookie("Set-Cookie: kbs-session-id=0123abcd; Expires=Mon, 30 Nov 2026 03:50:46 "
	                "GMT\r\n",
	                out));
	CHECK_STR(out, "0123abcd");
	CHECK_OK(cookie("set-cookie:kbs-session-id=A-b_c.9\r\n", out));
	CHECK_STR(out, "A-b_c.9");
	CHECK_ERR(cookie("Set-Cookie: other=1\r\n", out), CS_ERR_NOT_FOUND);
	CHECK_ERR(cookie("Content-Type: application/json\r\n", out), CS_ERR_NOT_FOUND);
	CHECK_ERR(cookie("Set-Cookie: kbs-session-id=; Max-Age=0\r\n", out), CS_ERR_PROTOCOL);
	CHECK_ERR(cookie("Set-Cookie: kbs-session-id=a b\r\n", out), CS_ERR_PROTOCOL);
	CHECK_ERR(cookie("Set-Cookie: kbs-session-id=a,b\r\n", out), CS_ERR_PROTOCOL);
	CHECK_ERR(cookie("Set-Cookie: kbs-session-id=\"ab\"\r\n", out), CS_ERR_PROTOCOL);
	/* Length edges: the cap, and one past it. */
	big = malloc(CS_HTTP_COOKIE_MAX + 64);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memcpy(big, "Set-Cookie: kbs-session-id=", 27);
	memset(big + 27, 'x', CS_HTTP_COOKIE_MAX);
	big[27 + CS_HTTP_COOKIE_MAX] = '\0';
	CHECK_OK(cookie(big, out));
	CHECK(strlen(out) == CS_HTTP_COOKIE_MAX);
	big[27 + CS_HTTP_COOKIE_MAX] = 'x';
	big[28 + CS_HTTP_COOKIE_MAX] = '\0';
	CHECK_ERR(cookie(big, out), CS_ERR_PROTOCOL);
	free(big);
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

/*
 * A broker that answers /auth with a challenge and /attest with a token whose (unverified) claims
 * payload is fake_claims: what a hostile or broken broker can make the agent read.
 */
static const char *fake_claims;

static enum MHD_Result
fake_kbs(void *cls, struct MHD_Connection *c, const char *url, const char *method,
         const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	static int started;
	struct MHD_Response *resp;
	struct cs_buf tok, body;
	enum MHD_Result ret;

	(void)cls;
	(void)method;
	(void)version;
	(void)upload;
	if (*ctx == NULL) {
		*ctx = &started;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	cs_buf_init(&tok, 4096);
	cs_buf_init(&body, 4096);
	if (strcmp(url, "/kbs/v0/auth") == 0) {
		CHECK_OK(
		        cs_buf_append_str(&body, "{\"nonce\":\"bm9uY2U=\",\"extra-params\":\"\"}"));
	} else {
		CHECK_OK(cs_buf_append_str(&tok, "eyJhbGciOiJFUzI1NiJ9."));
		CHECK_OK(cs_b64url_encode(&tok, (const uint8_t *)fake_claims, strlen(fake_claims)));
		CHECK_OK(cs_buf_printf(&body, "{\"token\":\"%.*s.c2ln\"}", (int)tok.len,
		                       (const char *)tok.p));
	}
	resp = MHD_create_response_from_buffer(body.len, body.p, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Set-Cookie", "kbs-session-id=s1; Path=/kbs");
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	cs_buf_fini(&tok);
	cs_buf_fini(&body);
	return ret;
}

/* The token's exp is read unverified: a value no NumericDate has is refused, not computed with. */
static void
test_token_exp(void)
{
	static const struct {
		const char *claims;
		enum cs_err want;
	} cases[] = {
	        {"{\"exp\":4102444800}", CS_OK},
	        {"{}", CS_OK}, /* no exp: the broker decides */
	        {"{\"exp\":-9223372036854775808}", CS_ERR_TOKEN},
	        {"{\"exp\":-1}", CS_ERR_TOKEN},
	        {"{\"exp\":0}", CS_ERR_TOKEN},
	};
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	struct cs_rcar_cfg cfg = {0};
	struct sockaddr_in sa = {0};
	char url[64];

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
	                     fake_kbs, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                     MHD_OPTION_END);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", di != NULL ? di->port : 0);
	cfg.kbs_url = url;
	cfg.tee = cs_tee_find("sample");
	CHECK(cfg.tee != NULL);
	for (size_t i = 0; cfg.tee != NULL && i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_rcar *r = NULL;
		int64_t exp = -1;

		fake_claims = cases[i].claims;
		CHECK_OK(cs_rcar_new(&cfg, &r));
		if (r == NULL)
			break;
		CHECK_ERR(cs_rcar_attest(r), cases[i].want);
		CHECK((cs_rcar_token(r, &exp) != NULL) == (cases[i].want == CS_OK));
		CHECK(cases[i].want != CS_OK || exp >= 0);
		cs_rcar_free(r);
	}
	MHD_stop_daemon(d);
}

/* GET on the CDH API; the HTTP status, 0 when the request failed. */
static long
cdh_get(struct cs_http *h, uint16_t port, const char *target)
{
	struct cs_http_resp resp;
	char url[512];
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, target);
	cs_http_resp_init(&resp, 0);
	if (cs_http_do(h, "GET", url, NULL, NULL, 0, &resp) == CS_OK)
		status = resp.status;
	cs_http_resp_fini(&resp);
	return status;
}

/*
 * The CDH resource path is used as received: an escape that would decode to a NUL (and cut the
 * path short) or to a '/' is refused with 400 before any broker is asked. The broker here is a
 * closed port, so a path that gets through is answered 502.
 */
static void
test_cdh_escapes(void)
{
	struct cs_rcar_cfg cfg = {0};
	struct cs_http_cfg hc = {0};
	struct cs_cdh *c = NULL;
	struct cs_http h;
	uint16_t port;

	cfg.kbs_url = "http://127.0.0.1:1";
	cfg.tee = cs_tee_find("sample");
	cfg.http.connect_timeout_ms = 2000;
	CHECK(cfg.tee != NULL);
	if (cfg.tee == NULL)
		return;
	CHECK_OK(cs_cdh_start("127.0.0.1:0", &cfg, &c));
	if (c == NULL)
		return;
	port = cs_cdh_port(c);
	CHECK_OK(cs_http_init(&h, &hc));
	CHECK(cdh_get(&h, port, "/cdh/resource/default/key/k1") == 502);
	CHECK(cdh_get(&h, port, "/cdh/resource/default/key/k1%00x") == 400);
	CHECK(cdh_get(&h, port, "/cdh/resource/default%2Fkey%2Fk1") == 400);
	CHECK(cdh_get(&h, port, "/cdh/resource/default/key/%6b1") == 400);
	CHECK(cdh_get(&h, port, "/cdh/resource/default/../k1") == 400);
	/* Query values are still decoded, as api-server-rest decodes them. */
	CHECK(cdh_get(&h, port, "/aa/evidence?runtime_data=%61%62") == 200);
	CHECK(cdh_get(&h, port, "/cdh/resource/default/key/k1?x=%00") == 502);
	cs_http_fini(&h);
	cs_cdh_stop(c);
}

int
main(void)
{
	T_RUN(test_path);
	T_RUN(test_report_data);
	T_RUN(test_peek_claims);
	T_RUN(test_challenge);
	T_RUN(test_cookie);
	T_RUN(test_listen);
	T_RUN(test_token_exp);
	T_RUN(test_cdh_escapes);
	return t_done();
}

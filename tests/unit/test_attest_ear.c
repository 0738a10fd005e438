/*
 * EAR tokens: every claim at Trustee's path, the signature under our persisted key and no other,
 * expiry, tampering, and the key file's creation and permission checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/ear.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/json.h"
#include "t.h"

static json_t *
sample_claims(void)
{
	json_error_t je;
	return json_loads("{\"svn\":\"1\",\"report_data\":\"AAAA\",\"launch_digest\":\"abcde\","
	                  "\"platform_version\":{\"major\":1,\"minor\":4},\"debug\":false}",
	                  0, &je);
}

static json_t *
runtime_data(void)
{
	json_error_t je;
	return json_loads("{\"nonce\":\"bm9uY2U=\",\"tee-pubkey\":{\"alg\":\"ECDH-ES+A256KW\","
	                  "\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"eA\",\"y\":\"eQ\"}}",
	                  0, &je);
}

static json_t *
make(int64_t iat, const struct cs_tvec *tv, bool with_init)
{
	uint8_t rd[64], init[48];
	struct cs_ear_submod m = {0};
	struct cs_ear_meta meta = {iat, 300, "custos-kbs", "custos-kbs test"};
	json_t *c = sample_claims(), *rt = runtime_data(), *out = NULL;

	memset(rd, 0xab, sizeof(rd));
	memset(init, 0xcd, sizeof(init));
	m.name = "cpu0";
	m.tee = "sample";
	m.claims = c;
	m.tv = *tv;
	m.report_data = rd;
	m.runtime_data = rt;
	m.init_data = with_init ? init : NULL;
	m.init_data_len = sizeof(init);
	CHECK_OK(cs_ear_claims(&meta, &m, 1, &out));
	json_decref(c);
	json_decref(rt);
	return out;
}

static const json_t *
at(const json_t *o, const char *const *path)
{
	for (; *path != NULL && o != NULL; path++)
		o = json_object_get(o, *path);
	return o;
}

static void
test_layout(void)
{
	struct cs_tvec tv = {{0, 2, 3, 0, 2, 0, 0, 0}};
	json_t *c = make(1700000000, &tv, true);
	static const char *const status[] = {"submods", "cpu0", "ear.status", NULL};
	static const char *const pid[] = {"submods", "cpu0", "ear.appraisal-policy-id", NULL};
	static const char *const tvp[] = {"submods", "cpu0", "ear.trustworthiness-vector", NULL};
	static const char *const ev[] = {"submods", "cpu0", "ear.veraison.annotated-evidence",
	                                 NULL};
	static const char *const vid[] = {"ear.verifier-id", "build", NULL};
	const json_t *e, *t;

	CHECK_STR(json_string_value(json_object_get(c, "eat_profile")),
	          "tag:github.com,2024:confidential-containers/Trustee");
	CHECK(json_integer_value(json_object_get(c, "iat")) == 1700000000);
	CHECK(json_integer_value(json_object_get(c, "exp")) == 1700000300);
	CHECK_STR(json_string_value(json_object_get(c, "iss")), "custos-kbs");
	CHECK_STR(json_string_value(at(c, vid)), "custos-kbs test");
	CHECK_STR(json_string_value(at(c, status)), "affirming");
	CHECK_STR(json_string_value(at(c, pid)), "default");
	t = at(c, tvp);
	CHECK(json_object_size(t) == 8);
	CHECK(json_integer_value(json_object_get(t, "executables")) == 3);
	CHECK(json_integer_value(json_object_get(t, "hardware")) == 2);
	CHECK(json_integer_value(json_object_get(t, "configuration")) == 2);
	CHECK(json_integer_value(json_object_get(t, "instance-identity")) == 0);
	CHECK(json_object_get(t, "sourced-data") != NULL);
	e = at(c, ev);
	/* The TEE's claims under its name, without report_data (moved out, as Trustee does). */
	CHECK_STR(json_string_value(json_object_get(json_object_get(e, "sample"), "svn")), "1");
	CHECK(json_object_get(json_object_get(e, "sample"), "report_data") == NULL);
	CHECK(strlen(json_string_value(json_object_get(e, "report_data"))) == 128);
	CHECK(strncmp(json_string_value(json_object_get(e, "report_data")), "abab", 4) == 0);
	CHECK(strlen(json_string_value(json_object_get(e, "init_data"))) == 96);
	/* tee-pubkey at Trustee's JSON pointer. */
	CHECK(cs_ear_tee_pubkey(c) != NULL);
	CHECK_STR(json_string_value(json_object_get(cs_ear_tee_pubkey(c), "crv")), "P-256");
	json_decref(c);

	/* Without init-data there is no init_data claim; a warning vector says so. */
	tv.v[CS_TV_CONFIGURATION] = 36;
	c = make(1, &tv, false);
	CHECK(json_object_get(at(c, ev), "init_data") == NULL);
	CHECK_STR(json_string_value(at(c, status)), "warning");
	json_decref(c);
}

static void
test_sign_verify(void)
{
	struct cs_ear_signer s, other;
	struct cs_tvec tv = {{0, 2, 3, 0, 2, 0, 0, 0}};
	struct cs_buf tok, hdr;
	json_t *c = make(1000, &tv, false), *got = NULL, *h;
	json_error_t je;
	char *dot;

	CHECK_OK(cs_ear_signer_load(NULL, &s));
	CHECK_OK(cs_ear_signer_load(NULL, &other));
	cs_buf_init(&tok, CS_EAR_MAX);
	CHECK_OK(cs_ear_sign(&s, c, &tok));
	CHECK(tok.len < 4096); /* small: digests, not evidence */
	CHECK_OK(cs_ear_verify(&s, (const char *)tok.p, tok.len, 1299, &got));
	CHECK(json_equal(got, c));
	json_decref(got);
	/* Header: ES256 with kid and jwk, as Trustee's. */
	dot = strchr((char *)tok.p, '.');
	cs_buf_init(&hdr, 4096);
	CHECK_OK(cs_b64url_decode(&hdr, (const char *)tok.p, (size_t)(dot - (char *)tok.p)));
	h = json_loadb((const char *)hdr.p, hdr.len, 0, &je);
	CHECK_STR(json_string_value(json_object_get(h, "alg")), "ES256");
	CHECK_STR(json_string_value(json_object_get(h, "kid")), s.kid);
	CHECK(json_is_object(json_object_get(h, "jwk")));
	json_decref(h);
	cs_buf_fini(&hdr);
	/* Expired at exp, and any time after. */
	CHECK_ERR(cs_ear_verify(&s, (const char *)tok.p, tok.len, 1300, &got), CS_ERR_EXPIRED);
	/* Another key (even though the token names its own jwk): refused. */
	CHECK_ERR(cs_ear_verify(&other, (const char *)tok.p, tok.len, 1000, &got),
	          CS_ERR_SIGNATURE);
	/* A flipped payload character: refused. */
	tok.p[dot - (char *)tok.p + 5] ^= 0x01;
	CHECK(cs_ear_verify(&s, (const char *)tok.p, tok.len, 1000, &got) != CS_OK);
	CHECK(got == NULL);
	cs_buf_fini(&tok);
	json_decref(c);
	cs_ear_signer_fini(&s);
	cs_ear_signer_fini(&other);
}

static void
test_key_file(void)
{
	char dir[] = "/tmp/cs-ear-XXXXXX", path[64];
	struct cs_ear_signer a, b;
	struct cs_buf jwks;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/signer.pem", dir);
	CHECK_OK(cs_ear_signer_load(path, &a));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_OK(cs_ear_signer_load(path, &b));
	CHECK_STR(a.kid, b.kid); /* the same key after a restart */
	cs_buf_init(&jwks, 8192);
	CHECK_OK(cs_ear_jwks(&a, &jwks));
	CHECK(strstr((const char *)jwks.p, a.kid) != NULL);
	CHECK(strstr((const char *)jwks.p, "\"d\"") == NULL); /* public only */
	cs_buf_fini(&jwks);
	cs_ear_signer_fini(&a);
	cs_ear_signer_fini(&b);
	CHECK(chmod(path, 0640) == 0);
	CHECK_ERR(cs_ear_signer_load(path, &a), CS_ERR_CONFIG);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	T_RUN(test_layout);
	T_RUN(test_sign_verify);
	T_RUN(test_key_file);
	return t_done();
}

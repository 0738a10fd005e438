/*
 * RCAR parsing and the report-data binding. The expected digests were computed independently with
 * Python's hashlib over the JCS strings written out literally below, so a canonicalisation or
 * member-selection mistake in cs_report_data cannot hide behind a shared helper.
 */
#include <stdio.h>
#include <string.h>

#include "attest/rcar.h"
#include "base/b64.h"
#include "base/buf.h"
#include "t.h"

static void
from_hex(const char *h, uint8_t *out, size_t n)
{
	CHECK_OK(cs_hex_decode_fixed(out, n, h, strlen(h)));
}

static const char attest_ec[] =
        "{\"runtime-data\":{\"nonce\":\"ZmFrZS1ub25jZQ==\",\"tee-pubkey\":{\"kty\":\"EC\","
        "\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"AAAA\",\"y\":\"BBBB\","
        "\"kid\":\"dropped\"}},\"tee-evidence\":{\"primary_evidence\":{\"svn\":\"1\"},"
        "\"additional_evidence\":\"\"}}";

static void
test_binding_ec(void)
{
	/* sha384('{"additional-evidence":"","nonce":"ZmFrZS1ub25jZQ==","tee-pubkey":{"alg":
	 * "ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}}') */
	uint8_t want[64] = {0}, got[64], dev[32], want_dev[32];
	struct cs_attest_req r;

	from_hex("61c2160384187106d36130b5c6335c1b09725ec112f166f446941343af3551b6fef807fe2943e4b1"
	         "bb1c00f91821e651",
	         want, 48);
	CHECK_OK(cs_attest_req_parse((const uint8_t *)attest_ec, strlen(attest_ec), 1 << 20, &r));
	CHECK_OK(cs_report_data(r.additional_evidence, r.additional_evidence_len, r.nonce,
	                        r.nonce_len, r.tee_pubkey, got));
	CHECK_MEM(got, want, 64);
	/* sha384('{"nonce":...,"tee-pubkey":{...}}')[0:32] */
	from_hex("6162217f77ce4a6bddf5d2075e77ede35fd2c90c31aa7988793d55c1a23c1609", want_dev, 32);
	CHECK_OK(cs_device_nonce(r.nonce, r.nonce_len, r.tee_pubkey, dev));
	CHECK_MEM(dev, want_dev, 32);
	CHECK(r.init_data == NULL);
	cs_attest_req_fini(&r);
}

static void
test_binding_rsa_additional(void)
{
	static const char body[] =
	        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{\"kty\":\"RSA\",\"alg\":"
	        "\"RSA-OAEP-256\",\"n\":\"q\",\"e\":\"AQAB\"}},\"tee-evidence\":{"
	        "\"primary_evidence\":{},\"additional_evidence\":\"{\\\"nvidia\\\":{}}\"}}";
	uint8_t want[64] = {0}, got[64];
	struct cs_attest_req r;

	from_hex("9cdb9fc69ff6d0ab74eb3b1a96ade31d2119015ec5996c9b41d364451b42306c8cd5ef79c90349eb"
	         "b1bd5b85f7ff355e",
	         want, 48);
	CHECK_OK(cs_attest_req_parse((const uint8_t *)body, strlen(body), 1 << 20, &r));
	CHECK_OK(cs_report_data(r.additional_evidence, r.additional_evidence_len, r.nonce,
	                        r.nonce_len, r.tee_pubkey, got));
	CHECK_MEM(got, want, 64);
	cs_attest_req_fini(&r);
}

static void
test_attest_malformed(void)
{
	static const char *const bad[] = {
	        "[]",
	        "{}",
	        "{\"runtime-data\":{\"nonce\":1,\"tee-pubkey\":{}},\"tee-evidence\":{}}",
	        "{\"runtime_data\":{\"nonce\":\"n\",\"tee-pubkey\":{\"kty\":\"EC\"}}}",
	        /* EC key without alg: kbs_types refuses it */
	        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{\"kty\":\"EC\",\"crv\":\"P-"
	        "256\","
	        "\"x\":\"A\",\"y\":\"B\"}},\"tee-evidence\":{\"primary_evidence\":{}}}",
	        /* additional_evidence must be a string */
	        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{\"kty\":\"RSA\",\"alg\":\"a\","
	        "\"n\":\"q\",\"e\":\"AQAB\"}},\"tee-evidence\":{\"primary_evidence\":{},"
	        "\"additional_evidence\":{}}}",
	        /* init-data of another format */
	        "{\"init-data\":{\"format\":\"json\",\"body\":\"\"},\"runtime-data\":{\"nonce\":"
	        "\"n\","
	        "\"tee-pubkey\":{\"kty\":\"RSA\",\"alg\":\"a\",\"n\":\"q\",\"e\":\"AQAB\"}},"
	        "\"tee-evidence\":{\"primary_evidence\":{}}}",
	        "{\"runtime-data\":",
	        /* additional_evidence is a required string (kbs_types::CompositeEvidence) */
	        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{\"kty\":\"RSA\",\"alg\":\"a\","
	        "\"n\":\"q\",\"e\":\"AQAB\"}},\"tee-evidence\":{\"primary_evidence\":{}}}",
	};
	struct cs_attest_req r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(cs_attest_req_parse((const uint8_t *)bad[i], strlen(bad[i]), 1 << 20, &r) !=
		      CS_OK);
		cs_attest_req_fini(&r);
	}
	CHECK_ERR(cs_attest_req_parse((const uint8_t *)attest_ec, strlen(attest_ec), 16, &r),
	          CS_ERR_TOO_LARGE);
	cs_attest_req_fini(&r);
}

static void
test_auth(void)
{
	static const char ok[] = "{\"version\":\"0.4.0\",\"tee\":\"sample\",\"extra-params\":"
	                         "{\"supported-hash-algorithms\":[\"sha384\"]}}";
	static const char no_extra[] = "{\"version\":\"0.4.0\",\"tee\":\"sample\"}";
	static const char bad_ver[] = "{\"version\":4,\"tee\":\"x\",\"extra-params\":\"\"}";
	static const char num_extra[] = "{\"version\":\"0.4.0\",\"tee\":\"x\",\"extra-params\":1}";
	static const char str_extra[] =
	        "{\"version\":\"0.4.0\",\"tee\":\"x\",\"extra-params\":\"\"}";
	struct cs_auth_req a;

	CHECK_OK(cs_auth_req_parse((const uint8_t *)ok, strlen(ok), &a));
	CHECK_STR(a.version, "0.4.0");
	CHECK_STR(a.tee, "sample");
	CHECK_ERR(cs_auth_req_parse((const uint8_t *)no_extra, strlen(no_extra), &a),
	          CS_ERR_JSON_FIELD);
	CHECK_ERR(cs_auth_req_parse((const uint8_t *)bad_ver, strlen(bad_ver), &a),
	          CS_ERR_JSON_FIELD);
	CHECK_ERR(cs_auth_req_parse((const uint8_t *)num_extra, strlen(num_extra), &a),
	          CS_ERR_JSON_FIELD);
	CHECK_OK(cs_auth_req_parse((const uint8_t *)str_extra, strlen(str_extra), &a));
}

static void
test_init_data(void)
{
	/* The [data] table holds a multi-line string that looks like an algorithm line: only the
	 * root table counts. sha256 of the body, computed with hashlib. */
	static const char toml[] = "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n"
	                           "\"aa.toml\" = \"\"\"\nalgorithm = \"sha512\"\n\"\"\"\n";
	static const char md5[] = "version = \"0.1.0\"\nalgorithm = \"md5\"\n";
	static const char noalg[] = "version = \"0.1.0\"\n";
	static const char dup[] =
	        "version = \"1\"\nalgorithm = \"sha384\"\nalgorithm = \"sha384\"\n";
	static const char lit[] = "version = '1'\nalgorithm = 'sha512' # c\n";
	uint8_t got[64], want[32];
	size_t len;

	from_hex("70a30e542beae6135fc5646815495c503ce43b74a5ff23c20bad2dd792fbc5c5", want, 32);
	CHECK_OK(cs_init_data_digest(toml, strlen(toml), got, &len));
	CHECK(len == 32);
	CHECK_MEM(got, want, 32);
	CHECK_ERR(cs_init_data_digest(md5, strlen(md5), got, &len), CS_ERR_UNSUPPORTED);
	CHECK_ERR(cs_init_data_digest(noalg, strlen(noalg), got, &len), CS_ERR_INVAL);
	CHECK_ERR(cs_init_data_digest(dup, strlen(dup), got, &len), CS_ERR_INVAL);
	CHECK_OK(cs_init_data_digest(lit, strlen(lit), got, &len));
	CHECK(len == 64);
}

/* init_data_claims: the [data] table read exactly, or refused. */
static void
test_init_data_claims(void)
{
	static const char good[] =
	        "# Trustee's initdata example, shortened\n"
	        "version = \"0.1.0\"\r\n"
	        "algorithm = \"sha384\" # comment\n"
	        "\n"
	        "[ data ]\n"
	        "\"aa.toml\" = '''\n"
	        "[token_configs]\n"
	        "[token_configs.kbs]\n"
	        "url = \"http://1.2.3.4:8080\"\n"
	        "'''\n"
	        "'policy.rego' = \"\"\"\npackage agent_policy\ndefault x := true\"\"\"\n"
	        "plain_key-1 = 'C:\\path'\n"
	        "empty = \"\"\n";
	static const struct {
		const char *toml;
		enum cs_err err;
	} bad[] = {
	        {"[data]\nk = \"a\\nb\"\n", CS_ERR_UNSUPPORTED},          /* escape */
	        {"[data]\nk = 1\n", CS_ERR_UNSUPPORTED},                  /* number */
	        {"[data]\nk = [\"a\"]\n", CS_ERR_UNSUPPORTED},            /* array */
	        {"[data]\nk = {a = \"b\"}\n", CS_ERR_UNSUPPORTED},        /* inline table */
	        {"[data]\na.b = \"x\"\n", CS_ERR_UNSUPPORTED},            /* dotted key */
	        {"[other]\nk = \"x\"\n", CS_ERR_UNSUPPORTED},             /* another table */
	        {"[data.sub]\nk = \"x\"\n", CS_ERR_UNSUPPORTED},          /* sub-table */
	        {"[[data]]\nk = \"x\"\n", CS_ERR_UNSUPPORTED},            /* array of tables */
	        {"[data]\nk = '''a\r\nb'''\n", CS_ERR_UNSUPPORTED},       /* CR in multi-line */
	        {"[data]\nk = \"\"\"a\\\nb\"\"\"\n", CS_ERR_UNSUPPORTED}, /* line-end backslash */
	        {"[data]\nk = '''a''''\n", CS_ERR_UNSUPPORTED},           /* quote before close */
	        {"[data]\nk = \"x\"\nk = \"y\"\n", CS_ERR_INVAL},         /* duplicate key */
	        {"[data]\n[data]\n", CS_ERR_INVAL},                       /* table twice */
	        {"[data]\nk = \"x\" y\n", CS_ERR_INVAL},                  /* trailing junk */
	        {"[data]\nk = \"x\n\"\n", CS_ERR_INVAL},                  /* newline in a string */
	        {"[data]\nk = '''never closed\n", CS_ERR_INVAL},
	        {"[data]\nk \"x\"\n", CS_ERR_INVAL},      /* no '=' */
	        {"[data]\n= \"x\"\n", CS_ERR_INVAL},      /* no key */
	        {"[data]\nk = \"\x01\"\n", CS_ERR_INVAL}, /* control byte */
	        {"[data]\nk = \"\xff\"\n", CS_ERR_UTF8},
	        {"[data\nk = \"x\"\n", CS_ERR_UNSUPPORTED},
	};
	json_t *o = NULL;

	CHECK_OK(cs_init_data_claims(good, strlen(good), &o));
	CHECK(json_object_size(o) == 4);
	CHECK_STR(json_string_value(json_object_get(o, "aa.toml")),
	          "[token_configs]\n[token_configs.kbs]\nurl = \"http://1.2.3.4:8080\"\n");
	CHECK_STR(json_string_value(json_object_get(o, "policy.rego")),
	          "package agent_policy\ndefault x := true");
	CHECK_STR(json_string_value(json_object_get(o, "plain_key-1")), "C:\\path");
	CHECK_STR(json_string_value(json_object_get(o, "empty")), "");
	CHECK(json_object_get(o, "version") == NULL); /* the root table stays out */
	json_decref(o);
	/* No [data]: an empty object. */
	CHECK_OK(cs_init_data_claims("version = \"0.1.0\"", 17, &o));
	CHECK(json_is_object(o) && json_object_size(o) == 0);
	json_decref(o);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum cs_err e = cs_init_data_claims(bad[i].toml, strlen(bad[i].toml), &o);
		if (e != bad[i].err)
			fprintf(stderr, "init-data case %zu: %s\n", i, cs_err_name(e));
		CHECK(e == bad[i].err && o == NULL);
	}
}

int
main(void)
{
	T_RUN(test_binding_ec);
	T_RUN(test_binding_rsa_additional);
	T_RUN(test_attest_malformed);
	T_RUN(test_auth);
	T_RUN(test_init_data);
	T_RUN(test_init_data_claims);
	return t_done();
}

/*
 * The sample TEE in Trustee's exact format: guest-components' evidence (svn + base64 of the bare
 * 48-byte SHA-384 binding) verifies, every wrong binding, length and type is refused, and the
 * claims are the ones Trustee's sample verifier reports.
 */
#include <string.h>

#include "tee/sample/sample.h"
#include "tee/tee.h"
#include "t.h"

static enum cs_err
verify_json(const char *ev_text, const uint8_t rd[CS_REPORT_DATA_LEN], json_t **claims)
{
	struct cs_verify_in in = {0};
	json_error_t je;
	json_t *ev = json_loads(ev_text, 0, &je);
	enum cs_err err;

	in.evidence = ev;
	in.report_data = rd;
	err = cs_tee_sample.verify(NULL, &in, claims);
	json_decref(ev);
	return err;
}

static void
test_registry(void)
{
	CHECK(cs_tee_find("sample") == &cs_tee_sample);
	CHECK(cs_tee_find("no-such-tee") == NULL);
	CHECK(cs_tee_find(NULL) == NULL);
	CHECK(cs_tee_detect() != NULL); /* sample is always there, tried last */
}

static void
test_guest_components_evidence(void)
{
	/* report_data = base64 of bytes 0..47: what guest-components' sample attester sends. */
	static const char ev[] =
	        "{\"svn\":\"1\",\"report_data\":"
	        "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\"}";
	uint8_t rd[CS_REPORT_DATA_LEN] = {0};
	json_t *claims = NULL;

	for (int i = 0; i < 48; i++)
		rd[i] = (uint8_t)i;
	CHECK_OK(verify_json(ev, rd, &claims));
	CHECK_STR(json_string_value(json_object_get(claims, "svn")), "1");
	CHECK_STR(json_string_value(json_object_get(claims, "launch_digest")), "abcde");
	CHECK(json_is_false(json_object_get(claims, "debug")));
	CHECK(json_integer_value(
	              json_object_get(json_object_get(claims, "platform_version"), "major")) == 1);
	CHECK(json_integer_value(
	              json_object_get(json_object_get(claims, "platform_version"), "minor")) == 4);
	CHECK(json_is_string(json_object_get(claims, "report_data")));
	json_decref(claims);

	/* One bit off in the expected binding: refused. */
	rd[17] ^= 1;
	CHECK_ERR(verify_json(ev, rd, &claims), CS_ERR_BINDING);
	CHECK(claims == NULL);
	rd[17] ^= 1;
	/* A non-zero byte in the padding the 48-byte form does not cover: refused. */
	rd[60] = 1;
	CHECK_ERR(verify_json(ev, rd, &claims), CS_ERR_BINDING);
}

static void
test_refusals(void)
{
	uint8_t rd[CS_REPORT_DATA_LEN] = {0};
	json_t *claims = NULL;

	/* 47 zero bytes (base64 "AAAA...A="): neither 48 nor 64. */
	CHECK_ERR(
	        verify_json("{\"svn\":\"1\",\"report_data\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
	                    rd, &claims),
	        CS_ERR_BINDING);
	/* No report_data at all (Trustee defaults it to "", which binds nothing): refused. */
	CHECK_ERR(verify_json("{\"svn\":\"1\"}", rd, &claims), CS_ERR_BINDING);
	CHECK_ERR(verify_json("{\"report_data\":\"\"}", rd, &claims), CS_ERR_JSON_FIELD);
	CHECK_ERR(verify_json("{\"svn\":1,\"report_data\":\"\"}", rd, &claims), CS_ERR_JSON_FIELD);
	CHECK_ERR(verify_json("{\"svn\":\"1\",\"report_data\":7}", rd, &claims), CS_ERR_JSON_FIELD);
	CHECK_ERR(verify_json("{\"svn\":\"1\",\"report_data\":\"!!!!\"}", rd, &claims),
	          CS_ERR_ENCODING);
	CHECK_ERR(verify_json("[]", rd, &claims), CS_ERR_JSON_FIELD);
	CHECK(claims == NULL);
}

static void
test_attest_roundtrip(void)
{
	uint8_t rd[CS_REPORT_DATA_LEN] = {0};
	struct cs_verify_in in = {0};
	json_t *ev = NULL, *claims = NULL;

	/* 48-byte binding (zero tail): the attester emits 48 bytes, as guest-components. */
	memset(rd, 0x5a, 48);
	CHECK_OK(cs_tee_sample.attest(rd, &ev));
	CHECK(strlen(json_string_value(json_object_get(ev, "report_data"))) == 64);
	in.evidence = ev;
	in.report_data = rd;
	CHECK_OK(cs_tee_sample.verify(NULL, &in, &claims));
	json_decref(claims);
	json_decref(ev);
	/* A full 64-byte value is carried whole. */
	memset(rd, 0xa5, sizeof(rd));
	CHECK_OK(cs_tee_sample.attest(rd, &ev));
	CHECK(strlen(json_string_value(json_object_get(ev, "report_data"))) == 88);
	in.evidence = ev;
	CHECK_OK(cs_tee_sample.verify(NULL, &in, &claims));
	json_decref(claims);
	json_decref(ev);
}

int
main(void)
{
	T_RUN(test_registry);
	T_RUN(test_guest_components_evidence);
	T_RUN(test_refusals);
	T_RUN(test_attest_roundtrip);
	return t_done();
}

/*
 * The sample TEE (Trustee deps/verifier/src/sample, guest-components attester/src/sample).
 *
 * Evidence: {"svn": string, "report_data": string (base64 STANDARD; Trustee defaults it to "")}.
 * Trustee ignores unknown members (serde's default); so do we, but both known members must have
 * the right type. Claims, as Trustee's verifier emits them:
 *   {"svn", "report_data" (the evidence's base64 string), "launch_digest": "abcde",
 *    "platform_version": {"major": 1, "minor": 4}, "debug": false}
 * Trustee skips the init-data check for sample (with a warning); so do we, since the sample TEE
 * has no register to hold the digest.
 */
#include <string.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/secret.h"
#include "tee/sample/sample.h"

/* The largest report_data accepted: base64 of 64 bytes is 88 characters. */
#define SAMPLE_RD_B64_MAX 88

static enum cs_err
sample_verifier_new(const struct cs_verify_cfg *cfg, void **state)
{
	(void)cfg;
	*state = NULL;
	return CS_OK;
}

static void
sample_verifier_free(void *state)
{
	(void)state;
}

static enum cs_err
sample_verify(void *state, const struct cs_verify_in *in, json_t **claims)
{
	enum cs_err err = CS_ERR_VERIFY; /* default deny */
	const char *svn, *rd = "";
	size_t svn_len, rd_len = 0;
	struct cs_buf dec;
	json_t *c = NULL, *v;

	(void)state;
	*claims = NULL;
	cs_buf_init(&dec, CS_REPORT_DATA_LEN);
	if (!json_is_object(in->evidence)) {
		err = CS_ERR_JSON_FIELD;
		goto out;
	}
	if ((err = cs_json_get_str(in->evidence, "svn", &svn, &svn_len)) != CS_OK)
		goto out;
	v = json_object_get(in->evidence, "report_data");
	if (v != NULL &&
	    (err = cs_json_get_str(in->evidence, "report_data", &rd, &rd_len)) != CS_OK)
		goto out;
	if (rd_len > SAMPLE_RD_B64_MAX) {
		err = CS_ERR_BINDING;
		goto out;
	}
	if (cs_b64_decode(&dec, rd, rd_len) != CS_OK) {
		err = CS_ERR_ENCODING;
		goto out;
	}
	/* 48 bytes (guest-components: the bare SHA-384) or 64 (zero-padded); nothing shorter. */
	err = CS_ERR_BINDING;
	if (dec.len != CS_SAMPLE_BINDING_LEN && dec.len != CS_REPORT_DATA_LEN)
		goto out;
	if (!cs_ct_eq(dec.p, in->report_data, dec.len))
		goto out;
	if (dec.len == CS_SAMPLE_BINDING_LEN) {
		static const uint8_t zero[CS_REPORT_DATA_LEN - CS_SAMPLE_BINDING_LEN];
		if (!cs_ct_eq(in->report_data + CS_SAMPLE_BINDING_LEN, zero, sizeof(zero)))
			goto out;
	}
	c = json_pack("{s:s%,s:s%,s:s,s:{s:i,s:i},s:b}", "svn", svn, svn_len, "report_data", rd,
	              rd_len, "launch_digest", "abcde", "platform_version", "major", 1, "minor", 4,
	              "debug", 0);
	if (c == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	*claims = c;
	err = CS_OK; /* the only line that grants success */
out:
	cs_buf_fini(&dec);
	return err;
}

static bool
sample_detect(void)
{
	/* Like guest-components: the sample attester is always available, and tried last. */
	return true;
}

static enum cs_err
sample_attest(const uint8_t *report_data, json_t **evidence)
{
	static const uint8_t zero[CS_REPORT_DATA_LEN - CS_SAMPLE_BINDING_LEN];
	size_t n = CS_REPORT_DATA_LEN;
	struct cs_buf b64;
	enum cs_err err;
	json_t *ev;

	*evidence = NULL;
	if (memcmp(report_data + CS_SAMPLE_BINDING_LEN, zero, sizeof(zero)) == 0)
		n = CS_SAMPLE_BINDING_LEN;
	cs_buf_init(&b64, 128);
	if ((err = cs_b64_encode(&b64, report_data, n)) != CS_OK)
		goto out;
	ev = json_pack("{s:s,s:s%}", "svn", "1", "report_data", (const char *)b64.p, b64.len);
	if (ev == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	*evidence = ev;
out:
	cs_buf_fini(&b64);
	return err;
}

const struct cs_tee_ops cs_tee_sample = {
        .name = "sample",
        .verifier_new = sample_verifier_new,
        .verifier_free = sample_verifier_free,
        .verify = sample_verify,
        .detect = sample_detect,
        .attest = sample_attest,
};

/*
 * The attestation service: dispatch to the enabled verifier, appraisal, EAR issue (see as.h).
 */
#include <string.h>

#include "attest/as.h"

enum cs_err
cs_as_init(struct cs_as *as, const char *const *tees, size_t n, const struct cs_verify_cfg *cfgs,
           const char *key_path)
{
	memset(as, 0, sizeof(*as));
	cs_jwk_init(&as->signer.pub);
	as->token_ttl = 300;
	as->iss = "custos-kbs";
	as->build = "custos-kbs";
	ENSURE(n <= CS_AS_MAX_TEES, CS_ERR_CONFIG);
	for (size_t i = 0; i < n; i++) {
		const struct cs_tee_ops *ops = cs_tee_find(tees[i]);

		as->failed = tees[i];
		ENSURE(ops != NULL && ops->verify != NULL, CS_ERR_CONFIG);
		if (cs_as_enabled(as, tees[i]))
			continue;
		as->tees[as->ntees].ops = ops;
		if (ops->verifier_new != NULL)
			TRY(ops->verifier_new(&cfgs[i], &as->tees[as->ntees].state));
		as->ntees++;
	}
	as->failed = NULL;
	return cs_ear_signer_load(key_path, &as->signer);
}

void
cs_as_fini(struct cs_as *as)
{
	for (size_t i = 0; i < as->ntees; i++)
		if (as->tees[i].ops->verifier_free != NULL)
			as->tees[i].ops->verifier_free(as->tees[i].state);
	cs_ear_signer_fini(&as->signer);
	memset(as, 0, sizeof(*as));
}

static const struct cs_as_tee *
find(const struct cs_as *as, const char *tee)
{
	for (size_t i = 0; i < as->ntees; i++)
		if (strcmp(as->tees[i].ops->name, tee) == 0)
			return &as->tees[i];
	return NULL;
}

bool
cs_as_enabled(const struct cs_as *as, const char *tee)
{
	return find(as, tee) != NULL;
}

enum cs_err
cs_as_attest(const struct cs_as *as, const char *tee, const struct cs_attest_req *req, int64_t now,
             struct cs_buf *token, enum cs_ear_status *status, json_t **ear_claims,
             struct cs_appraise_info *info)
{
	const struct cs_as_tee *t = find(as, tee);
	uint8_t rd[CS_REPORT_DATA_LEN], init[64];
	size_t init_len = 0;
	struct cs_verify_in in = {0};
	struct cs_ear_submod mod = {0};
	struct cs_ear_meta meta;
	struct cs_policy_env env;
	struct cs_appraise_info ai;
	json_t *claims = NULL, *rt = NULL, *ear = NULL, *idc = NULL;
	enum cs_err err;

	*status = CS_EAR_NONE;
	if (ear_claims != NULL)
		*ear_claims = NULL;
	ENSURE(t != NULL, CS_ERR_UNSUPPORTED);
	TRY(cs_report_data(req->additional_evidence, req->additional_evidence_len, req->nonce,
	                   req->nonce_len, req->tee_pubkey, rd));
	if (req->init_data != NULL)
		TRY(cs_init_data_digest(req->init_data, req->init_data_len, init, &init_len));
	in.evidence = req->primary_evidence;
	in.report_data = rd;
	in.init_data_digest = req->init_data != NULL ? init : NULL;
	in.init_data_digest_len = init_len;
	in.at = now;
	if ((err = t->ops->verify(t->state, &in, &claims)) != CS_OK)
		goto out;
	mod.name = "cpu0";
	mod.tee = tee;
	mod.claims = claims;
	env.store = as->store;
	env.rv = &as->refvals;
	env.now = now;
	if ((err = cs_appraise(&env, tee, claims, &mod.tv, &ai)) != CS_OK)
		goto out;
	if (info != NULL)
		*info = ai;
	mod.policy_id = ai.policy_id[0] != '\0' ? ai.policy_id : NULL;
	rt = json_pack("{s:s%,s:O}", "nonce", req->nonce, req->nonce_len, "tee-pubkey",
	               req->tee_pubkey);
	if (rt == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	mod.report_data = rd;
	mod.runtime_data = rt;
	mod.init_data = req->init_data != NULL ? init : NULL;
	mod.init_data_len = init_len;
	/* The digest binds the init-data; its [data] goes into the token when this subset reads
	 * it exactly, and is left out otherwise (a policy that reads it then fails closed). */
	if (req->init_data != NULL &&
	    cs_init_data_claims(req->init_data, req->init_data_len, &idc) == CS_OK)
		mod.init_data_claims = idc;
	meta.iat = now;
	meta.ttl = as->token_ttl;
	meta.iss = as->iss;
	meta.build = as->build;
	if ((err = cs_ear_claims(&meta, &mod, 1, &ear)) != CS_OK)
		goto out;
	if ((err = cs_ear_sign(&as->signer, ear, token)) != CS_OK)
		goto out;
	*status = cs_tvec_status(&mod.tv);
	if (ear_claims != NULL) {
		*ear_claims = ear;
		ear = NULL;
	}
out:
	json_decref(idc);
	json_decref(ear);
	json_decref(rt);
	json_decref(claims);
	return err;
}

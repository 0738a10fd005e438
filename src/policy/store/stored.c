/*
 * Stored policies into the broker's decisions (stored.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/store/stored.h"

struct texts {
	struct cs_store_policy *v; /* owned */
	const char **p;            /* borrowed from v */
	size_t *len;
	size_t n;
};

static void
texts_fini(struct texts *t)
{
	for (size_t i = 0; i < t->n; i++)
		cs_store_policy_fini(&t->v[i]);
	free(t->v);
	free(t->p);
	free(t->len);
	memset(t, 0, sizeof(*t));
}

/* The latest text of every policy of kind; none when s is NULL. */
static enum cs_err
texts_load(struct cs_store *s, const char *kind, struct texts *t)
{
	struct cs_store_list ids = {0};
	enum cs_err err;

	memset(t, 0, sizeof(*t));
	if (s == NULL)
		return CS_OK;
	TRY(cs_store_policy_list(s, kind, &ids));
	err = CS_ERR_NOMEM;
	t->v = calloc(ids.n + 1, sizeof(*t->v));
	t->p = calloc(ids.n + 1, sizeof(*t->p));
	t->len = calloc(ids.n + 1, sizeof(*t->len));
	if (t->v == NULL || t->p == NULL || t->len == NULL)
		goto out;
	for (size_t i = 0; i < ids.n; i++) {
		err = cs_store_policy_get(s, kind, ids.items[i], 0, &t->v[t->n]);
		if (err == CS_ERR_NOT_FOUND)
			continue; /* deleted since the listing */
		if (err != CS_OK)
			goto out;
		t->p[t->n] = (const char *)t->v[t->n].text;
		t->len[t->n] = t->v[t->n].text_len;
		t->n++;
	}
	err = CS_OK;
out:
	cs_store_list_fini(&ids);
	if (err != CS_OK)
		texts_fini(t);
	return err;
}

enum cs_err
cs_policy_store_decide(struct cs_store *s, const struct cs_resource_in *in, struct cs_decision *out)
{
	struct texts t;
	enum cs_err err;

	memset(out, 0, sizeof(*out));
	if ((err = texts_load(s, CS_POLICY_KIND_RESOURCE, &t)) != CS_OK) {
		out->eval_err = err;
		snprintf(out->reason, sizeof(out->reason), "policy store unavailable");
		return CS_ERR_DENIED;
	}
	err = cs_policy_decide(t.p, t.len, t.n, in, out);
	if (out->policy >= 0 && (size_t)out->policy < t.n) {
		snprintf(out->policy_id, sizeof(out->policy_id), "%s", t.v[out->policy].id);
		out->policy_version = t.v[out->policy].version;
	}
	texts_fini(&t);
	return err;
}

enum cs_err
cs_policy_store_appraise(struct cs_store *s, const struct cs_appraisal_in *in,
                         struct cs_appraisal *out)
{
	struct texts t;
	enum cs_err err;

	if ((err = texts_load(s, CS_POLICY_KIND_APPRAISAL, &t)) != CS_OK) {
		memset(out, 0, sizeof(*out));
		memset(out->tv, CS_AR4SI_FAILED, sizeof(out->tv));
		out->status = CS_TIER_CONTRAINDICATED;
		out->eval_err = CS_ERR_STORE;
		out->policy = -1;
		snprintf(out->reason, sizeof(out->reason), "policy store unavailable");
		return CS_ERR_STORE;
	}
	err = cs_policy_appraise(t.p, t.len, t.n, in, out);
	if (out->policy >= 0 && (size_t)out->policy < t.n) {
		snprintf(out->policy_id, sizeof(out->policy_id), "%s", t.v[out->policy].id);
		out->policy_version = t.v[out->policy].version;
	}
	texts_fini(&t);
	return err;
}

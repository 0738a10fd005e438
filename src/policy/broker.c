/*
 * The two decisions as the broker makes them: stored policy texts in, the right policy chosen,
 * compiled (through the cache), evaluated; the built-in defaults where nothing is stored. Every
 * failure on the way (a stored text that does not compile, memory) decides against the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static json_t *
getter_lookup(void *ctx, const char *name, size_t len, int64_t now)
{
	const struct cs_rv_getter *g = ctx;

	(void)len; /* name is NUL-terminated, without NUL inside (the evaluator checks) */
	(void)now; /* the getter applies expiry at its own time */
	return g != NULL && g->get != NULL ? g->get(g->ctx, name) : NULL;
}

struct cs_rv_source
cs_rv_source_getter(const struct cs_rv_getter *g, int64_t now)
{
	struct cs_rv_source src = {.lookup = getter_lookup, .ctx = (void *)g, .now = now};

	return src;
}

/* Compiles n texts into ps (new references); *bad gets the index of the first failure. */
static enum cs_err
compile_all(const char *const *texts, const size_t *lens, size_t n, enum cs_policy_kind kind,
            struct cs_policy **ps, size_t *bad, struct cs_policy_diag *d)
{
	for (size_t i = 0; i < n; i++) {
		enum cs_err err = cs_policy_compile_cached(texts[i], lens[i], &ps[i], d);
		if (err == CS_OK && cs_policy_kind(ps[i]) != kind) {
			snprintf(d->msg, sizeof(d->msg), "%s",
			         kind == CS_POLICY_RESOURCE ? "not a resource policy"
			                                    : "not an appraisal policy");
			d->line = d->col = 1;
			err = CS_ERR_POLICY;
		}
		if (err != CS_OK) {
			*bad = i;
			return err;
		}
	}
	return CS_OK;
}

static void
release_all(struct cs_policy **ps, size_t n)
{
	for (size_t i = 0; ps != NULL && i < n; i++)
		cs_policy_free(ps[i]);
	free(ps);
}

enum cs_err
cs_policy_decide(const char *const *texts, const size_t *lens, size_t n,
                 const struct cs_resource_in *in, struct cs_decision *out)
{
	enum cs_err err = CS_ERR_DENIED; /* default deny */
	struct cs_policy **ps = calloc(n + 1, sizeof(*ps)), *def = NULL;
	const char **pats = calloc(n + 1, sizeof(*pats));
	struct cs_policy_diag d = {0};
	const char *src;
	size_t bad = 0;
	long pick, which = -1; /* the deciding text; -1: the built-in */

	memset(out, 0, sizeof(*out));
	if (in == NULL || in->path == NULL || (n > 0 && (texts == NULL || lens == NULL))) {
		err = CS_ERR_INVAL;
		goto out;
	}
	if (ps == NULL || pats == NULL) {
		out->eval_err = CS_ERR_NOMEM;
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		goto out;
	}
	if ((out->eval_err = compile_all(texts, lens, n, CS_POLICY_RESOURCE, ps, &bad, &d)) !=
	    CS_OK) {
		snprintf(out->reason, sizeof(out->reason),
		         "stored resource policy %zu does not compile (%u:%u: %s)", bad + 1, d.line,
		         d.col, d.msg);
		which = (long)bad;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		pats[i] = cs_policy_target(ps[i]);
	if ((pick = cs_policy_select(pats, n, in->path)) >= 0) {
		err = cs_policy_eval_resource(ps[pick], in, out);
		which = pick;
		goto out;
	}
	src = cs_policy_default_resource();
	if ((out->eval_err = cs_policy_compile_cached(src, strlen(src), &def, &d)) != CS_OK) {
		snprintf(out->reason, sizeof(out->reason), "built-in policy unavailable");
		goto out;
	}
	err = cs_policy_eval_resource(def, in, out);
out:
	out->policy = which;
	cs_policy_free(def);
	release_all(ps, n);
	free(pats);
	return err;
}

enum cs_err
cs_policy_appraise(const char *const *texts, const size_t *lens, size_t n,
                   const struct cs_appraisal_in *in, struct cs_appraisal *out)
{
	enum cs_err err;
	struct cs_policy **ps = calloc(n + 1, sizeof(*ps)), *use = NULL;
	struct cs_policy_diag d = {0};
	const char *src;
	size_t bad = 0;

	long which = -1; /* the text used (or broken); -1: the built-in */

	memset(out, 0, sizeof(*out));
	memset(out->tv, CS_AR4SI_FAILED, sizeof(out->tv));
	out->status = CS_TIER_CONTRAINDICATED;
	out->eval_err = CS_ERR_POLICY;
	if (in == NULL || (n > 0 && (texts == NULL || lens == NULL))) {
		err = CS_ERR_INVAL;
		goto out;
	}
	if (ps == NULL) {
		err = CS_ERR_NOMEM;
		goto out;
	}
	if ((err = compile_all(texts, lens, n, CS_POLICY_APPRAISAL, ps, &bad, &d)) != CS_OK) {
		snprintf(out->reason, sizeof(out->reason),
		         "stored appraisal policy %zu does not compile (%u:%u: %s)", bad + 1,
		         d.line, d.col, d.msg);
		err = out->eval_err = CS_ERR_POLICY;
		which = (long)bad;
		goto out;
	}
	/* The one for this TEE type, else one for every type. */
	for (int pass = 0; pass < 2 && use == NULL; pass++)
		for (size_t i = 0; i < n && use == NULL; i++)
			if (strcmp(cs_policy_target(ps[i]), pass == 0 && in->tee ? in->tee : "*") ==
			    0) {
				use = cs_policy_ref(ps[i]);
				which = (long)i;
			}
	if (use == NULL) {
		src = cs_policy_default_appraisal(in->tee);
		if ((err = cs_policy_compile_cached(src, strlen(src), &use, &d)) != CS_OK)
			goto out;
	}
	err = cs_policy_eval_appraisal(use, in, out);
out:
	out->policy = which;
	cs_policy_free(use);
	release_all(ps, n);
	return err;
}

enum cs_err
cs_policy_check(const char *src, size_t len, enum cs_policy_kind kind, char *detail,
                size_t detail_len)
{
	struct cs_policy *p = NULL;
	struct cs_policy_diag d = {0};
	enum cs_err err = cs_policy_compile(src, len, &p, &d);

	if (err == CS_OK && cs_policy_kind(p) != kind) {
		err = CS_ERR_POLICY;
		d.line = d.col = 1;
		snprintf(d.msg, sizeof(d.msg), "%s",
		         kind == CS_POLICY_RESOURCE ? "not a resource policy"
		                                    : "not an appraisal policy");
	}
	cs_policy_free(p);
	if (detail_len > 0)
		snprintf(detail, detail_len, "%u:%u: %s", d.line, d.col,
		         err == CS_OK ? "ok"
		         : d.msg[0]   ? d.msg
		                      : cs_err_str(err));
	return err;
}

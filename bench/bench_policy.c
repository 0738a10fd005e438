/*
 * bench_policy: policy evaluations per second on one core for a realistic resource policy (10
 * rules, a 20-entry reference-value list that the matching measurement ends, an EAR token with a
 * CPU and a GPU submodule), at each layer the broker goes through:
 *
 *   compile            the policy text to a tree (what the cache saves per request)
 *   eval               cs_policy_eval_resource on the compiled policy
 *   decide             cs_policy_decide over 3 stored texts (cache lookups, selection, eval)
 *   store decide       cs_policy_store_decide over an SQLite file store holding the 3 policies
 *                      (what cs_decide_resource costs the broker per fetch), with the reference
 *                      values in memory, then read from the store as the broker does
 *   appraise           the built-in SNP appraisal of one submodule (20 reference values each)
 *
 * Usage: bench_policy [SECONDS per round] (default 0.5; 3 rounds, the best is printed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "policy/policy.h"
#include "policy/store/stored.h"

static const char policy_text[] =
        "policy resource for \"default/model/*\";\n"
        "let cpu = submods.cpu0;\n"
        "let snp = cpu[\"ear.veraison.annotated-evidence\"].snp;\n"
        "let bad = first(m in keys(submods) : (submods[m][\"ear.status\"] ?? \"\") != "
        "\"affirming\");\n"
        "deny \"the token has no submodules\" if len(submods ?? []) == 0;\n"
        "deny \"submodule {bad} is not affirming\" if exists(bad);\n"
        "deny \"no GPU\" if not exists(submods.gpu0);\n"
        "deny \"unknown launch measurement\" if hex(snp.measurement) not in "
        "rv(\"snp_launch_measurement\");\n"
        "deny \"SNP firmware too old\" if int(snp.reported_tcb_snp) < 8;\n"
        "deny \"debug allowed\" if snp.policy_debug_allowed != \"false\";\n"
        "deny \"migration agent allowed\" if snp.policy_migrate_ma != \"false\";\n"
        "deny \"wrong issuer\" if iss != \"custos-kbs\";\n"
        "deny \"not this tenant\" if path[0] != \"default\";\n"
        "allow \"model key for an attested CPU+GPU\"\n"
        "\tif (query.version ?? \"latest\") in [\"latest\", \"1\", \"2\"] and glob(resource, "
        "\"default/model/*\");\n";

static const char other1[] = "policy resource for \"default/key/*\";\nallow if len(submods) > 0;\n";
static const char other2[] = "policy resource for \"tenant-b/*\";\ndeny \"closed\";\n";

#define MEAS "5f1c1b83ddd6b1ff6ab16e1b2c6d9a3e2f3d21e5b2a1c0d9e8f7a6b5c4d3e2f1"

static json_t *
make_claims(void)
{
	json_error_t je;
	json_t *c = json_loads(
	        "{\"eat_profile\":\"tag:github.com,2024:confidential-containers/Trustee\","
	        "\"iss\":\"custos-kbs\",\"iat\":1760000000,\"exp\":1760000300,"
	        "\"submods\":{"
	        "\"cpu0\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":"
	        "{\"instance-identity\":0,\"configuration\":2,\"executables\":3,\"file-system\":0,"
	        "\"hardware\":2,\"runtime-opaque\":0,\"storage-opaque\":0,\"sourced-data\":0},"
	        "\"ear.appraisal-policy-id\":\"default\",\"ear.veraison.annotated-evidence\":{"
	        "\"snp\":{\"measurement\":\"" MEAS MEAS "\",\"reported_tcb_snp\":\"22\","
	        "\"reported_tcb_tee\":\"0\",\"reported_tcb_bootloader\":\"9\","
	        "\"reported_tcb_microcode\":\"213\",\"policy_debug_allowed\":\"false\","
	        "\"policy_migrate_ma\":\"false\",\"policy_smt_allowed\":\"true\","
	        "\"policy_abi_major\":\"0\",\"policy_abi_minor\":\"31\",\"platform_smt_enabled\":"
	        "\"true\","
	        "\"platform_tsme_enabled\":\"false\",\"policy_single_socket\":\"false\"},"
	        "\"report_data\":\"00\",\"runtime_data_claims\":{\"nonce\":\"abc\"}}},"
	        "\"gpu0\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":"
	        "{\"hardware\":2,\"configuration\":2,\"executables\":3}}}}",
	        0, &je);
	if (c == NULL) {
		fprintf(stderr, "bench_policy: claims: %s\n", je.text);
		exit(1);
	}
	return c;
}

/* 20 launch measurements; the token's is the last (a full scan). */
static json_t *
make_refs(void)
{
	json_t *r = json_object(), *m = json_array();
	char v[200];

	for (int i = 0; i < 19; i++) {
		snprintf(v, sizeof(v), "%064d%032d", i, i);
		json_array_append_new(m, json_string(v));
	}
	json_array_append_new(m, json_string(MEAS MEAS));
	json_object_set_new(r, "snp_launch_measurement", m);
	const char *names[] = {"snp_bootloader",      "snp_microcode",       "snp_snp_svn",
	                       "snp_tee_svn",         "snp_smt_enabled",     "snp_tsme_enabled",
	                       "snp_guest_abi_major", "snp_guest_abi_minor", "snp_single_socket",
	                       "snp_smt_allowed"};
	const char *vals[] = {"9", "213", "22", "0", "true", "false", "0", "31", "false", "true"};
	for (size_t i = 0; i < 10; i++)
		json_object_set_new(r, names[i], json_pack("[ss]", "1", vals[i]));
	return r;
}

static json_t *refs;

static json_t *
get_ref(void *ctx, const char *name)
{
	json_t *v = json_object_get(refs, name);

	(void)ctx;
	return v != NULL ? json_incref(v) : NULL;
}

static struct cs_store *rv_store;

/* The broker's way: every rv() name is one read of the store (kbs/server.c refval_get). */
static json_t *
get_ref_store(void *ctx, const char *name)
{
	json_t *v = NULL;

	(void)ctx;
	if (cs_store_refval_get(rv_store, name, 1, &v, NULL) != CS_OK)
		return NULL;
	return v;
}

enum what { COMPILE, EVAL, DECIDE, STORE_DECIDE, STORE_DECIDE_RV, APPRAISE };

struct env {
	struct cs_policy *p;
	struct cs_policy *snp;
	json_t *claims;
	json_t *snp_claims;
	struct cs_rv_source rv;
	struct cs_rv_source rv_store; /* reference values read from the store */
	struct cs_store *store;
};

static void
die(const char *what, enum cs_err e)
{
	fprintf(stderr, "bench_policy: %s: %s\n", what, cs_err_str(e));
	exit(1);
}

static void
one(const struct env *e, enum what w)
{
	static const char *const texts[] = {other1, policy_text, other2};
	static const size_t lens[] = {sizeof(other1) - 1, sizeof(policy_text) - 1,
	                              sizeof(other2) - 1};
	struct cs_resource_in in = {
	        .claims = e->claims, .path = "default/model/llama", .rv = &e->rv};
	struct cs_appraisal_in ain = {.claims = e->snp_claims, .tee = "snp", .rv = &e->rv};
	struct cs_decision d;
	struct cs_appraisal a;
	struct cs_policy *p;
	enum cs_err err = CS_OK;

	switch (w) {
	case COMPILE:
		if ((err = cs_policy_compile(policy_text, sizeof(policy_text) - 1, &p, NULL)) ==
		    CS_OK)
			cs_policy_free(p);
		break;
	case EVAL:
		err = cs_policy_eval_resource(e->p, &in, &d);
		break;
	case DECIDE:
		err = cs_policy_decide(texts, lens, 3, &in, &d);
		break;
	case STORE_DECIDE_RV:
		in.rv = &e->rv_store;
		err = cs_policy_store_decide(e->store, &in, &d);
		break;
	case STORE_DECIDE:
		err = cs_policy_store_decide(e->store, &in, &d);
		break;
	case APPRAISE:
		err = cs_policy_eval_appraisal(e->snp, &ain, &a);
		break;
	}
	if (err != CS_OK)
		die(w == COMPILE ? "compile" : d.reason, err);
}

/* Operations per second: the best of 3 rounds of `secs` each. */
static double
rate(const struct env *e, enum what w, double secs)
{
	double best = 0;

	for (int round = 0; round < 3; round++) {
		uint64_t t0 = cs_clock_mono_ns(), n = 0, dt;
		do {
			for (int i = 0; i < 64; i++)
				one(e, w);
			n += 64;
			dt = cs_clock_mono_ns() - t0;
		} while ((double)dt < secs * 1e9);
		if ((double)n * 1e9 / (double)dt > best)
			best = (double)n * 1e9 / (double)dt;
	}
	return best;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	struct cs_rv_getter g = {get_ref, NULL};
	struct env e = {0};
	struct cs_decision d;
	char dir[] = "/tmp/custos-bench-policy-XXXXXX", url[128];
	const char *snp_src = cs_policy_default_appraisal("snp");
	enum cs_err err;

	if (secs <= 0)
		secs = 0.5;
	refs = make_refs();
	e.claims = make_claims();
	e.snp_claims = json_deep_copy(json_object_get(
	        json_object_get(json_object_get(json_object_get(e.claims, "submods"), "cpu0"),
	                        "ear.veraison.annotated-evidence"),
	        "snp"));
	e.rv = cs_rv_source_getter(&g, 0);
	if ((err = cs_policy_compile(policy_text, sizeof(policy_text) - 1, &e.p, NULL)) != CS_OK)
		die("compile", err);
	if ((err = cs_policy_compile(snp_src, strlen(snp_src), &e.snp, NULL)) != CS_OK)
		die("compile snp", err);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", CS_ERR_IO);
	snprintf(url, sizeof(url), "sqlite://%s/kbs.db", dir);
	if ((err = cs_store_open(url, NULL, &e.store)) != CS_OK)
		die("store", err);
	const char *ids[] = {"keys", "models", "tenant-b"};
	const char *texts[] = {other1, policy_text, other2};
	for (int i = 0; i < 3; i++)
		if ((err = cs_store_policy_put(e.store, "resource", ids[i],
		                               (const uint8_t *)texts[i], strlen(texts[i]),
		                               NULL)) != CS_OK)
			die("policy put", err);
	rv_store = e.store;
	static const struct cs_rv_getter gs = {get_ref_store, NULL};
	e.rv_store = cs_rv_source_getter(&gs, 0);
	const char *k;
	json_t *v;
	json_object_foreach(refs, k, v)
	{
		if ((err = cs_store_refval_put(e.store, k, v, 2)) != CS_OK)
			die("refval put", err);
	}
	/* The bench must measure a release that walks every rule. */
	struct cs_resource_in in = {.claims = e.claims, .path = "default/model/llama", .rv = &e.rv};
	if ((err = cs_policy_eval_resource(e.p, &in, &d)) != CS_OK)
		die(d.reason, err);

	printf("policy: %zu bytes, 10 rules (9 deny + 1 allow), 20 measurements in the reference "
	       "list (match last); %llu evaluation steps per decision\n",
	       sizeof(policy_text) - 1, (unsigned long long)d.steps);
	static const struct {
		enum what w;
		const char *name;
	} rows[] = {
	        {COMPILE, "compile (no cache)"},
	        {EVAL, "eval (compiled policy)"},
	        {DECIDE, "decide (3 texts, cache)"},
	        {STORE_DECIDE, "store decide (SQLite, 3 policies)"},
	        {STORE_DECIDE_RV, "  + reference values from the store"},
	        {APPRAISE, "appraise (SNP default, 1 submodule)"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double r = rate(&e, rows[i].w, secs);
		printf("  %-38s %10.0f /s  %8.2f us each\n", rows[i].name, r, 1e6 / r);
	}
	cs_store_free(e.store);
	static const char *const files[] = {"kbs.db", "kbs.db-wal", "kbs.db-shm",
	                                    "kbs.db.master-key"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(url, sizeof(url), "%s/%s", dir, files[i]);
		(void)unlink(url);
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, "bench_policy: could not remove %s\n", dir);
	cs_policy_free(e.p);
	cs_policy_free(e.snp);
	json_decref(e.claims);
	json_decref(e.snp_claims);
	json_decref(refs);
	return 0;
}

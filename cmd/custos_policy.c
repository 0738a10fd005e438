/*
 * `custos policy`: for policy authors. `check` compiles a policy and reports the first syntax or
 * type error as FILE:LINE:COLUMN; `eval` runs a policy over claims exactly as the broker does
 * (same compiler, same evaluator, same budget) and prints the decision as JSON; `default` prints a
 * built-in policy, the starting point for one's own. The language is docs/policy.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "cli.h"
#include "custos.h"
#include "policy/policy.h"
#include "policy/rv.h"

#define CLAIMS_MAX (1u << 20)

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: custos policy check FILE...\n"
	        "       custos policy eval FILE --claims JSON|JWT|FILE [--resource R/T/TAG]\n"
	        "                          [--query JSON] [--tee TEE] [--rv FILE]... [--at TIME]\n"
	        "                          [--budget STEPS]\n"
	        "       custos policy default resource | appraisal TEE\n"
	        "\n"
	        "check   compiles each FILE; prints FILE:LINE:COLUMN: message for the first "
	        "error.\n"
	        "eval    evaluates FILE (\"-\" for the built-in default of its kind: resource, or "
	        "the\n"
	        "        appraisal default of --tee) over the claims: a resource policy over a "
	        "token's\n"
	        "        claims and --resource, an appraisal policy over one submodule's claims.\n"
	        "        --claims is JSON, or an EAR token whose claims are read WITHOUT "
	        "verifying\n"
	        "        it. --rv registers a reference-value message (Trustee RVPS JSON) first; "
	        "--at\n"
	        "        (RFC 3339) is the evaluation time, which decides reference-value expiry.\n"
	        "        Prints the decision as JSON. Exit 0 allowed / affirming, 1 denied / not.\n"
	        "default prints a built-in policy.\n");
}

/* Compiles FILE; prints the first error. Returns the policy, or NULL. */
static struct cs_policy *
load(const char *path, const char *src, size_t len, int *exit_code)
{
	struct cs_policy *p = NULL;
	struct cs_policy_diag d;
	enum cs_err err = cs_policy_compile(src, len, &p, &d);

	if (err == CS_OK)
		return p;
	if (err == CS_ERR_POLICY || err == CS_ERR_TOO_LARGE) {
		fprintf(stderr, "%s:%u:%u: %s\n", path, d.line, d.col,
		        d.msg[0] ? d.msg : cs_err_str(err));
		*exit_code = 1;
	} else {
		fprintf(stderr, "custos policy: %s: %s\n", path, cs_err_str(err));
		*exit_code = 2;
	}
	return NULL;
}

static int
cmd_check(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct cs_buf b;
		struct cs_policy *p;
		int code = 0;

		cs_buf_init(&b, CS_POLICY_MAX_SRC);
		if (!cs_cli_read("custos policy", argv[i], &b)) {
			cs_buf_fini(&b);
			return 2;
		}
		p = load(argv[i], (const char *)b.p, b.len, &code);
		if (p != NULL)
			printf("%s: ok (%s policy for \"%s\")\n", argv[i],
			       cs_policy_kind(p) == CS_POLICY_RESOURCE ? "resource" : "appraisal",
			       cs_policy_target(p));
		else if (code > rc)
			rc = code;
		cs_policy_free(p);
		cs_buf_fini(&b);
	}
	return rc;
}

/* Parses JSON given inline (starting with '{') or as a file name. */
static json_t *
load_json(const char *arg, const char *what)
{
	struct cs_buf b;
	json_t *j = NULL;
	enum cs_err err;

	cs_buf_init(&b, CLAIMS_MAX);
	if (arg[0] == '{' || strncmp(arg, "eyJ", 3) == 0)
		err = cs_buf_append_str(&b, arg);
	else
		err = cs_cli_read("custos policy", arg, &b) ? CS_OK : CS_ERR_IO;
	/* A JWT (an EAR token, e.g. from `custos-agent` or the broker): its claims, NOT verified.
	 */
	if (err == CS_OK && b.len > 3 && memcmp(b.p, "eyJ", 3) == 0) {
		const char *d1 = memchr(b.p, '.', b.len), *d2;
		struct cs_buf payload;

		while (b.len > 0 && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
			b.len--;
		d2 = d1 ? memchr(d1 + 1, '.', b.len - (size_t)(d1 + 1 - (const char *)b.p)) : NULL;
		cs_buf_init(&payload, CLAIMS_MAX);
		err = d2 == NULL ? CS_ERR_ENCODING
		                 : cs_b64url_decode(&payload, d1 + 1, (size_t)(d2 - d1 - 1));
		if (err == CS_OK)
			err = cs_json_parse(payload.p, payload.len, CLAIMS_MAX, &j);
		cs_buf_fini(&payload);
	} else if (err == CS_OK) {
		err = cs_json_parse(b.p, b.len, CLAIMS_MAX, &j);
	}
	if (err == CS_OK && !json_is_object(j))
		err = CS_ERR_JSON_FIELD;
	if (err != CS_OK) {
		fprintf(stderr, "custos policy: %s: %s\n", what, cs_err_str(err));
		json_decref(j);
		j = NULL;
	}
	cs_buf_fini(&b);
	return j;
}

struct eval_opts {
	const char *file;
	const char *claims;
	const char *resource;
	const char *query;
	const char *tee;
	const char *at;
	uint64_t budget;
};

static int
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s == NULL)
		return 0;
	printf("%s\n", s);
	free(s);
	return 1;
}

static int
eval_resource(const struct cs_policy *p, const struct eval_opts *o, json_t *claims, json_t *query,
              const struct cs_rv_source *rv)
{
	struct cs_resource_in in = {.claims = claims,
	                            .path = o->resource,
	                            .query = query,
	                            .rv = rv,
	                            .budget = o->budget};
	struct cs_decision d;
	enum cs_err err;
	json_t *out;
	int ok;

	if (o->resource == NULL) {
		fprintf(stderr, "custos policy: a resource policy needs --resource\n");
		return 2;
	}
	err = cs_policy_eval_resource(p, &in, &d);
	if (err != CS_OK && err != CS_ERR_DENIED) {
		fprintf(stderr, "custos policy: %s\n", cs_err_str(err));
		return 2;
	}
	out = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I}", "kind", "resource", "policy-target",
	                cs_policy_target(p), "resource", o->resource, "allow", d.allow, "reason",
	                d.reason, "steps", (json_int_t)d.steps);
	if (out != NULL && d.line != 0)
		json_object_set_new(out, "rule", json_sprintf("%u:%u", d.line, d.col));
	if (out != NULL && d.eval_err != CS_OK)
		json_object_set_new(out, "error", json_string(cs_err_name(d.eval_err)));
	ok = out != NULL && print_json(out);
	json_decref(out);
	if (!ok)
		return 2;
	return err == CS_OK ? 0 : 1;
}

static int
eval_appraisal(const struct cs_policy *p, const struct eval_opts *o, json_t *claims,
               const struct cs_rv_source *rv)
{
	struct cs_appraisal_in in = {
	        .claims = claims, .tee = o->tee, .rv = rv, .budget = o->budget};
	struct cs_appraisal a;
	enum cs_err err = cs_policy_eval_appraisal(p, &in, &a);
	json_t *out, *tv = json_object();
	int ok;

	if (err == CS_ERR_INVAL || err == CS_ERR_NOMEM) {
		fprintf(stderr, "custos policy: %s\n", cs_err_str(err));
		json_decref(tv);
		return 2;
	}
	for (int i = 0; tv != NULL && i < CS_AR4SI_COUNT; i++)
		json_object_set_new(tv, cs_ar4si_name((enum cs_ar4si)i), json_integer(a.tv[i]));
	out = json_pack("{s:s,s:s,s:s,s:o,s:I}", "kind", "appraisal", "tee", o->tee ? o->tee : "",
	                "ear.status", cs_policy_tier_name(a.status), "ear.trustworthiness-vector",
	                tv, "steps", (json_int_t)a.steps);
	if (out != NULL && err != CS_OK) {
		json_object_set_new(out, "error", json_string(cs_err_name(err)));
		json_object_set_new(out, "reason", json_string(a.reason));
	}
	ok = out != NULL && print_json(out);
	json_decref(out);
	if (!ok)
		return 2;
	return err == CS_OK && a.status == CS_TIER_AFFIRMING ? 0 : 1;
}

static int
cmd_eval(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"claims", required_argument, NULL, 'c'},
	        {"resource", required_argument, NULL, 'r'},
	        {"query", required_argument, NULL, 'q'},
	        {"tee", required_argument, NULL, 't'},
	        {"rv", required_argument, NULL, 'v'},
	        {"at", required_argument, NULL, 'a'},
	        {"budget", required_argument, NULL, 'b'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct eval_opts o = {0};
	struct cs_rv_set rvs;
	struct cs_rv_source rv;
	struct cs_policy *p = NULL;
	struct cs_buf src;
	json_t *claims = NULL, *query = NULL;
	int64_t now;
	int c, rc = 2;
	char *end;

	cs_rv_set_init(&rvs);
	cs_buf_init(&src, CS_POLICY_MAX_SRC);
	/* Options first (reference values need the time), then the work. */
	const char *rv_files[64];
	size_t nrv = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.claims = optarg;
			break;
		case 'r':
			o.resource = optarg;
			break;
		case 'q':
			o.query = optarg;
			break;
		case 't':
			o.tee = optarg;
			break;
		case 'a':
			o.at = optarg;
			break;
		case 'v':
			if (nrv == sizeof(rv_files) / sizeof(rv_files[0])) {
				fprintf(stderr, "custos policy: too many --rv\n");
				goto out;
			}
			rv_files[nrv++] = optarg;
			break;
		case 'b':
			o.budget = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o.budget == 0) {
				fprintf(stderr,
				        "custos policy: --budget takes a positive integer\n");
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind + 1 != argc || o.claims == NULL) {
		usage(stderr);
		goto out;
	}
	o.file = argv[optind];
	now = cs_clock_now();
	if (o.at != NULL && cs_time_parse_rfc3339(o.at, strlen(o.at), &now) != CS_OK) {
		fprintf(stderr, "custos policy: --at: not an RFC 3339 time\n");
		goto out;
	}
	for (size_t i = 0; i < nrv; i++) {
		struct cs_buf m;
		enum cs_err err;

		cs_buf_init(&m, CS_RV_MAX_MSG);
		err = cs_cli_read("custos policy", rv_files[i], &m)
		              ? cs_rv_parse_message(m.p, m.len, now, &rvs)
		              : CS_ERR_IO;
		cs_buf_fini(&m);
		if (err != CS_OK) {
			fprintf(stderr, "custos policy: %s: %s\n", rv_files[i], cs_err_str(err));
			goto out;
		}
	}
	rv = cs_rv_set_source(&rvs, now);
	if (strcmp(o.file, "-") == 0) {
		const char *def = o.resource != NULL ? cs_policy_default_resource()
		                                     : cs_policy_default_appraisal(o.tee);
		if (cs_buf_append_str(&src, def) != CS_OK)
			goto out;
	} else if (!cs_cli_read("custos policy", o.file, &src)) {
		goto out;
	}
	if ((p = load(o.file, (const char *)src.p, src.len, &rc)) == NULL)
		goto out;
	if ((claims = load_json(o.claims, "--claims")) == NULL)
		goto out;
	if (o.query != NULL && (query = load_json(o.query, "--query")) == NULL)
		goto out;
	if (cs_policy_kind(p) == CS_POLICY_RESOURCE)
		rc = eval_resource(p, &o, claims, query, &rv);
	else
		rc = eval_appraisal(p, &o, claims, &rv);
out:
	cs_policy_free(p);
	json_decref(claims);
	json_decref(query);
	cs_buf_fini(&src);
	cs_rv_set_fini(&rvs);
	return rc;
}

int
cs_cmd_policy(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return cmd_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "default") == 0 && argc == 3 && strcmp(argv[2], "resource") == 0) {
		fputs(cs_policy_default_resource(), stdout);
		return 0;
	}
	if (strcmp(argv[1], "default") == 0 && argc == 4 && strcmp(argv[2], "appraisal") == 0) {
		fputs(cs_policy_default_appraisal(argv[3]), stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}

/*
 * The policy language: grammar (precedence, every syntax and type error with its line:column),
 * the evaluator (types at run time, missing paths, the budget, huge and deep inputs), resource
 * and appraisal semantics, the built-in policies, path patterns and policy selection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/rv.h"
#include "t.h"

static struct cs_policy *
compile(const char *src)
{
	struct cs_policy *p = NULL;
	struct cs_policy_diag d;
	enum cs_err e = cs_policy_compile(src, strlen(src), &p, &d);

	if (e != CS_OK)
		fprintf(stderr, "compile failed at %u:%u: %s\n  in: %s\n", d.line, d.col, d.msg,
		        src);
	CHECK_OK(e);
	return p;
}

/* Expects a compile error at line:col whose message contains want. */
static void
compile_err_at(const char *src, uint32_t line, uint32_t col, const char *want, int srcline)
{
	struct cs_policy *p = NULL;
	struct cs_policy_diag d;
	enum cs_err e = cs_policy_compile(src, strlen(src), &p, &d);

	t_checks++;
	if (e != CS_ERR_POLICY || p != NULL || d.line != line || d.col != col ||
	    strstr(d.msg, want) == NULL) {
		t_failed++;
		fprintf(stderr, "test_policy.c:%d: want %u:%u \"%s\", got %s at %u:%u \"%s\"\n",
		        srcline, line, col, want, cs_err_name(e), d.line, d.col, d.msg);
	}
	cs_policy_free(p);
}
#define COMPILE_ERR(src, line, col, want) compile_err_at(src, line, col, want, __LINE__)

static json_t *
js(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL)
		fprintf(stderr, "bad test JSON: %s: %s\n", je.text, text);
	return j;
}

/* Evaluates a resource policy; returns 1 allow, 0 deny; reason copied out. */
static int
decide(const char *src, const char *claims, const char *path, const char *query,
       const struct cs_rv_source *rv, struct cs_decision *d)
{
	struct cs_policy *p = compile(src);
	json_t *c = js(claims), *q = query ? js(query) : NULL;
	struct cs_resource_in in = {.claims = c, .path = path, .query = q, .rv = rv};
	enum cs_err e = CS_ERR_INVAL;

	if (p != NULL && c != NULL)
		e = cs_policy_eval_resource(p, &in, d);
	CHECK(e == CS_OK || e == CS_ERR_DENIED);
	CHECK((e == CS_OK) == d->allow);
	cs_policy_free(p);
	json_decref(c);
	json_decref(q);
	return e == CS_OK;
}

static int
allows(const char *src, const char *claims)
{
	struct cs_decision d;

	return decide(src, claims, "default/key/one", NULL, NULL, &d);
}

#define RES(body) "policy resource;\n" body

static void
test_precedence(void)
{
	/* and binds tighter than or; not tighter than and; ?? tighter than comparisons. */
	CHECK(allows(RES("allow if true or true and false;"), "{}"));
	CHECK(!allows(RES("allow if (true or true) and false;"), "{}"));
	CHECK(allows(RES("allow if not false and true;"), "{}"));
	CHECK(!allows(RES("allow if not (false or true);"), "{}"));
	CHECK(allows(RES("allow if not not true;"), "{}"));
	CHECK(allows(RES("allow if missing ?? 1 == 1;"), "{}"));
	CHECK(allows(RES("allow if a ?? b ?? 3 == 3;"), "{}"));
	CHECK(allows(RES("allow if a ?? b ?? 3 == 2;"), "{\"b\":2}"));
	CHECK(allows(RES("allow if 1 < 2 and \"a\" < \"b\" and \"ab\" > \"a\";"), "{}"));
	CHECK(allows(RES("allow if -5 < 0 and 3 >= 3 and 3 <= 3 and 4 != 3;"), "{}"));
	CHECK(allows(RES("allow if \"x\" not in [\"a\", \"b\"] and \"a\" in [\"a\"];"), "{}"));
	/* Short circuit: the right side is never evaluated, so its missing claim is no error. */
	CHECK(allows(RES("allow if true or nothing.here == 1;"), "{}"));
	CHECK(!allows(RES("allow if false and nothing.here == 1;"), "{}"));
}

static void
test_paths(void)
{
	const char *claims = "{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\","
	                     "\"ear.trustworthiness-vector\":{\"instance-identity\":2}}},"
	                     "\"list\":[10,20,30],\"in\":{\"and\":true},\"n\":null}";

	CHECK(allows(RES("allow if submods.cpu0[\"ear.status\"] == \"affirming\";"), claims));
	CHECK(allows(RES("allow if submods[\"cpu0\"][\"ear.trustworthiness-vector\"]"
	                 "[\"instance-identity\"] == 2;"),
	             claims));
	CHECK(allows(RES("allow if list[1] == 20 and len(list) == 3;"), claims));
	CHECK(allows(RES("allow if claims[\"in\"].and;"), claims)); /* keywords after '.' */
	CHECK(allows(RES("allow if exists(submods.cpu0) and not exists(submods.gpu0);"), claims));
	CHECK(allows(RES("allow if not exists(n) and not exists(n.x) and (n ?? 5) == 5;"), claims));
	CHECK(allows(RES("allow if \"cpu0\" in submods and \"gpu0\" not in submods;"), claims));
	CHECK(allows(RES("allow if not exists(list[3]) and not exists(list[-1]);"), claims));
}

static void
test_missing_denies(void)
{
	struct cs_decision d;

	CHECK(!decide(RES("allow if submods.gpu0[\"ear.status\"] == \"affirming\";"),
	              "{\"submods\":{}}", "a/b/c", NULL, NULL, &d));
	CHECK(d.eval_err == CS_ERR_POLICY);
	CHECK(strstr(d.reason, "policy error at 2:18") != NULL);
	CHECK(strstr(d.reason, "missing member 'gpu0'") != NULL);
	/* A missing claim in a deny rule denies too: errors never fail open. */
	CHECK(!decide(RES("deny if x == 1;\nallow;"), "{}", "a/b/c", NULL, NULL, &d));
	CHECK(strstr(d.reason, "policy error at 2:9") != NULL);
	/* Run-time type errors deny. */
	CHECK(!decide(RES("allow if x == 1;"), "{\"x\":\"1\"}", "a/b/c", NULL, NULL, &d));
	CHECK(strstr(d.reason, "cannot compare string with int") != NULL);
	CHECK(!decide(RES("allow if x;"), "{\"x\":1}", "a/b/c", NULL, NULL, &d));
	CHECK(strstr(d.reason, "expected a bool") != NULL);
	CHECK(!decide(RES("allow if x.y == 1;"), "{\"x\":[1]}", "a/b/c", NULL, NULL, &d));
	CHECK(!decide(RES("allow if x < 1;"), "{\"x\":\"a\"}", "a/b/c", NULL, NULL, &d));
	CHECK(!decide(RES("allow if x == 1;"), "{\"x\":1.5}", "a/b/c", NULL, NULL, &d));
	CHECK(strstr(d.reason, "non-integer") != NULL);
	CHECK(!decide(RES("allow if int(x) == 1;"), "{\"x\":\"1a\"}", "a/b/c", NULL, NULL, &d));
	CHECK(!decide(RES("allow if hex(x) == hex(\"00\");"), "{\"x\":\"0g\"}", "a/b/c", NULL, NULL,
	              &d));
}

static void
test_values(void)
{
	/* Strings compare as bytes; hex byte strings compare as bytes, whatever their case. */
	CHECK(allows(RES("allow if hex(m) == hex(\"ABCDEF\");"), "{\"m\":\"abcdef\"}"));
	CHECK(allows(RES("allow if hex(m) == \"ABCDEF\";"), "{\"m\":\"abcdef\"}"));
	CHECK(allows(RES("allow if hex(m) in [\"00\", \"AbCdEf\"];"), "{\"m\":\"abcdef\"}"));
	CHECK(!allows(RES("allow if hex(m) == \"abcdeg\";"), "{\"m\":\"abcdef\"}"));
	CHECK(!allows(RES("allow if m == \"ABCDEF\";"), "{\"m\":\"abcdef\"}"));
	CHECK(allows(RES("allow if hex(a) < hex(b);"), "{\"a\":\"00ff\",\"b\":\"0100\"}"));
	CHECK(allows(RES("allow if int(svn) >= 3 and int(n) == -7;"),
	             "{\"svn\":\"12\",\"n\":\"-7\"}"));
	CHECK(allows(RES("allow if int(svn) == 12;"), "{\"svn\":12}"));
	CHECK(allows(RES("allow if len(\"\") == 0 and len(hex(\"0102\")) == 2;"), "{}"));
	CHECK(allows(RES("allow if glob(resource, \"default/*/one\");"), "{}"));
	CHECK(allows(RES("allow if starts_with(resource, \"default/\");"), "{}"));
	CHECK(allows(RES("allow if x == null and y != null;"), "{\"x\":null,\"y\":1}"));
	CHECK(allows(RES("allow if [1, 2] == l;"), "{\"l\":[1,2]}"));
	CHECK(allows(RES("allow if o == claims.o and o != claims.p;"),
	             "{\"o\":{\"a\":1},\"p\":{\"a\":2}}"));
	/* 1 in ["1"] is simply false: elements of another type never match. */
	CHECK(!allows(RES("allow if 1 in [\"1\"];"), "{}"));
	CHECK(!allows(RES("allow if x in l;"), "{\"x\":1,\"l\":[1.0,\"1\"]}"));
}

static void
test_quantifiers_and_inputs(void)
{
	struct cs_decision d;
	const char *claims = "{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"},"
	                     "\"gpu0\":{\"ear.status\":\"warning\"}},\"l\":[1,2,3]}";

	CHECK(allows(RES("allow if any(s in submods : s[\"ear.status\"] == \"warning\");"),
	             claims));
	CHECK(!allows(RES("allow if all(s in submods : s[\"ear.status\"] == \"affirming\");"),
	              claims));
	CHECK(allows(RES("allow if all(x in l : any(y in l : y > x) or x == 3);"), claims));
	CHECK(allows(RES("allow if all(x in [] : false) and not any(x in [] : true);"), claims));
	/* Inputs: the path's segments, the whole path, the query. */
	CHECK(decide(RES("allow if path[0] == \"default\" and path[2] == \"one\" and len(path) == 3"
	                 " and resource == \"default/key/one\";"),
	             "{}", "default/key/one", NULL, NULL, &d));
	CHECK(decide(RES("allow if query.version == \"2\" and not exists(query.x);"), "{}",
	             "default/key/one", "{\"version\":\"2\"}", NULL, &d));
	CHECK(!decide(RES("allow if query.version == \"2\";"), "{}", "default/key/one", NULL, NULL,
	              &d));
	/* A claim shadowed by an input name is still reachable through claims[...]. */
	CHECK(decide(RES("allow if claims[\"path\"] == 1 and path[0] == \"r\";"), "{\"path\":1}",
	             "r/t/g", NULL, NULL, &d));
	/* Lets are evaluated when first used, once. */
	CHECK(allows(RES("let ok = x == 1;\nallow if ok and ok;"), "{\"x\":1}"));
	CHECK(allows(RES("let v = x;\nallow if not exists(v);"), "{}"));
}

static void
test_first_keys_templates(void)
{
	struct cs_decision d;
	const char *claims = "{\"m\":{\"a\":1,\"b\":5,\"c\":7},\"s\":\"x\\u0001\\u00e9y\"}";

	CHECK(allows(RES("allow if first(v in [3, 5, 8] : v > 4) == 5;"), claims));
	CHECK(allows(RES("allow if first(k in keys(m) : m[k] > 4) == \"b\";"), claims));
	CHECK(allows(RES("allow if keys(m) == [\"a\", \"b\", \"c\"] and len(keys(m)) == 3;"),
	             claims));
	CHECK(allows(RES("allow if not exists(first(v in [1] : v > 4));"), claims));
	CHECK(!allows(RES("allow if first(v in [1] : v > 4) == 1;"), claims));
	/* Reasons name lets: strings are cut to printable ASCII; failing lets show as '?'. */
	CHECK(!decide(RES("let k = first(k in keys(m) : m[k] > 4);\nlet v = m[k];\nlet s2 = s;\n"
	                  "let nope = m.zz;\nlet o = m;\n"
	                  "deny \"{k}={v} {s2} {nope} {o} {} {k\" if true;\nallow;"),
	              claims, "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "b=5 x???y ? <object> {} {k");
	COMPILE_ERR(RES("deny \"{later}\";\nlet later = 1;"), 2, 6, "not a let above");
	COMPILE_ERR(RES("allow if keys(1) == [];"), 2, 15, "keys() of int");
	COMPILE_ERR(RES("allow if first(v in 1 : true);"), 2, 21, "cannot iterate over int");
}

static void
test_rules_and_reasons(void)
{
	struct cs_decision d;
	const char *pol = RES("allow \"first allow\" if x == 1;\n"
	                      "deny \"x is two\" if x == 2;\n"
	                      "allow if x == 2 or x == 3;\n");

	CHECK(decide(pol, "{\"x\":1}", "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "first allow");
	CHECK(d.line == 2 && d.col == 1);
	/* Deny rules are consulted first, whatever their place. */
	CHECK(!decide(pol, "{\"x\":2}", "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "x is two");
	CHECK(d.eval_err == CS_OK);
	CHECK(decide(pol, "{\"x\":3}", "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "allowed by the rule at 4:1");
	CHECK(!decide(pol, "{\"x\":4}", "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "no rule allows this resource");
	CHECK(d.line == 0);
	CHECK(!decide(RES("deny;\nallow;"), "{}", "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "denied by the rule at 2:1");
}

/* Every error, at its line:column. */
static void
test_errors(void)
{
	COMPILE_ERR("", 1, 1, "a policy starts with");
	COMPILE_ERR("policy foo;", 1, 8, "expected 'appraisal' or 'resource'");
	COMPILE_ERR("policy resource", 1, 16, "expected ';' after the policy header");
	COMPILE_ERR("policy resource for 3;", 1, 21, "expected a string after 'for'");
	COMPILE_ERR("policy resource for \"\";", 1, 21, "target must be");
	COMPILE_ERR("policy resource;", 1, 17, "needs at least one allow or deny rule");
	COMPILE_ERR("policy appraisal;\n", 2, 1, "needs at least one trust claim");
	COMPILE_ERR("policy resource;\nallow if x == ;", 2, 15, "expected an expression");
	COMPILE_ERR("policy resource;\nallow if x", 2, 11, "expected ';' at the end");
	COMPILE_ERR("policy resource;\nallow if (x;", 2, 12, "expected ')' to close '('");
	COMPILE_ERR("policy resource;\nallow if x[1;", 2, 13, "expected ']' to close '['");
	COMPILE_ERR("policy resource;\n  allow if x == \"abc", 2, 17, "unterminated string");
	COMPILE_ERR("policy resource;\nallow if x == \"a\\qb\";", 2, 17, "unknown escape");
	COMPILE_ERR("policy resource;\nallow if x == \"a\tb\";", 2, 17, "control character");
	COMPILE_ERR("policy resource;\nallow if x == \"\xff\";", 2, 16, "invalid UTF-8");
	COMPILE_ERR("policy resource;\nallow if x == 99999999999999999999;", 2, 15,
	            "integer out of range");
	COMPILE_ERR("policy resource;\nallow if x == 12ab;", 2, 15, "malformed number");
	COMPILE_ERR("policy resource;\nallow if x == @;", 2, 15, "unexpected character '@'");
	COMPILE_ERR("policy resource;\nallow if x == \xc3\xa9;", 2, 15, "non-ASCII byte");
	COMPILE_ERR("policy resource;\n# comment\n\tallow if 1;", 3, 11, "needs a bool, not int");
	COMPILE_ERR("policy resource;\nallow if not \"a\";", 2, 14, "'not' needs a bool");
	COMPILE_ERR("policy resource;\nallow if true and 3;", 2, 19, "'and' needs a bool");
	COMPILE_ERR("policy resource;\nallow if 1 or true;", 2, 10, "'or' needs a bool");
	COMPILE_ERR("policy resource;\nallow if 1 == \"1\";", 2, 12,
	            "cannot compare int with string");
	COMPILE_ERR("policy resource;\nallow if 1 < \"1\";", 2, 12,
	            "cannot order int against string");
	COMPILE_ERR("policy resource;\nallow if true < false;", 2, 10, "bool has no order");
	COMPILE_ERR("policy resource;\nallow if x in 3;", 2, 15, "'in' needs a list or object");
	COMPILE_ERR("policy resource;\nallow if 3 in query;", 2, 10, "object keys are strings");
	COMPILE_ERR("policy resource;\nallow if 1 < 2 < 3;", 2, 16, "comparisons do not chain");
	COMPILE_ERR("policy resource;\nallow if \"a\".b;", 2, 13, "string has no members");
	COMPILE_ERR("policy resource;\nallow if x.3;", 2, 12, "expected a member name");
	COMPILE_ERR("policy resource;\nallow if 3[0];", 2, 11, "cannot index int");
	COMPILE_ERR("policy resource;\nallow if x[true];", 2, 12, "must be a string or int");
	COMPILE_ERR("policy resource;\nallow if path[\"a\"];", 2, 15,
	            "cannot index list with string");
	COMPILE_ERR("policy resource;\nallow if foo(1);", 2, 10, "unknown function 'foo'");
	COMPILE_ERR("policy resource;\nallow if rv();", 2, 13, "rv() takes 1 argument");
	COMPILE_ERR("policy resource;\nallow if glob(\"a\", \"b\", \"c\");", 2, 25,
	            "glob() takes 2");
	COMPILE_ERR("policy resource;\nallow if rv(1) == [];", 2, 13, "argument must be a string");
	COMPILE_ERR("policy resource;\nallow if hex(\"abc\") == x;", 2, 14, "not a hex string");
	COMPILE_ERR("policy resource;\nallow if int(true) == 1;", 2, 14, "int() takes a string");
	COMPILE_ERR("policy resource;\nallow if len(3) == 1;", 2, 14, "len() of int");
	COMPILE_ERR("policy resource;\nallow if [x] == 1;", 2, 11,
	            "list elements must be literals");
	COMPILE_ERR("policy resource;\nallow if any(1 in x : true);", 2, 14, "expected a variable");
	COMPILE_ERR("policy resource;\nallow if any(v in 3 : true);", 2, 19,
	            "cannot iterate over int");
	COMPILE_ERR("policy resource;\nallow if any(v in x : 1);", 2, 23,
	            "the condition needs a bool");
	COMPILE_ERR("policy resource;\nallow if any(v in x, true);", 2, 20,
	            "expected ':' after the list");
	COMPILE_ERR("policy resource;\nlet a = 1;\nlet a = 2;\nallow;", 3, 5,
	            "'a' is already defined");
	COMPILE_ERR("policy resource;\nlet path = 1;\nallow;", 2, 5, "'path' is already defined");
	COMPILE_ERR("policy resource;\nlet 3 = 1;", 2, 5, "expected a name after 'let'");
	COMPILE_ERR("policy resource;\nhardware = 2;", 2, 1, "expected 'allow', 'deny' or 'let'");
	COMPILE_ERR("policy appraisal;\nallow;", 2, 1, "belong in resource policies");
	COMPILE_ERR("policy appraisal;\nhardwar = 2;", 2, 1, "unknown trust claim 'hardwar'");
	COMPILE_ERR("policy appraisal;\nhardware = \"2\";", 2, 12, "takes an int, not string");
	COMPILE_ERR("policy appraisal;\nhardware = 128;", 2, 12, "values are -128 to 127");
	COMPILE_ERR("policy appraisal;\nhardware 2;", 2, 10, "expected '=' after the trust claim");
	COMPILE_ERR("policy appraisal;\nhardware = 2 if 3;", 2, 17, "the condition needs a bool");
	COMPILE_ERR("policy resource;\nallow if a b;", 2, 12, "expected ';' at the end");
	COMPILE_ERR("policy resource;\nallow if x not y;", 2, 16, "expected 'in' after 'not'");
	COMPILE_ERR("policy resource;\nallow if any(v of x : true);", 2, 16,
	            "expected 'in' after the variable, found name");
	COMPILE_ERR("policy resource;\nallow \""
	            "0123456789012345678901234567890123456789012345678901234567890123456789"
	            "0123456789012345678901234567890123456789012345678901234567890123456789"
	            "0123456789012345678901234567890123456789012345678901234567890123456789"
	            "\";",
	            2, 7, "a reason is at most 200 bytes");
}

/* A compile error for these (a NUL byte is one too, checked in test_errors with strlen). */
static void
test_errors_binary(void)
{
	static const char src[] = "policy resource;\nallow # a comment with a \0 NUL\n;";
	static const char src2[] = "policy resource;\nallow \"a\0b\";";
	struct cs_policy *p = NULL;
	struct cs_policy_diag d;

	CHECK_ERR(cs_policy_compile(src, sizeof(src) - 1, &p, &d), CS_ERR_POLICY);
	CHECK(d.line == 2 && d.col == 26);
	CHECK(p == NULL);
	CHECK_ERR(cs_policy_compile(src2, sizeof(src2) - 1, &p, &d), CS_ERR_POLICY);
	CHECK(d.line == 2 && d.col == 9 && strstr(d.msg, "control character") != NULL);
}

/* Appends text at *off in dst (big enough by construction). */
static void
put(char *dst, size_t *off, const char *text)
{
	size_t n = strlen(text);

	memcpy(dst + *off, text, n + 1);
	*off += n;
}

static void
test_limits(void)
{
	struct cs_policy *p = NULL;
	struct cs_policy_diag d;
	struct cs_decision dec;
	size_t n = 200000, off = 0;
	char *src = malloc(n + 64), *big;
	json_t *claims, *arr;

	/* Nesting deeper than CS_POLICY_MAX_DEPTH is refused with the position of the culprit. */
	put(src, &off, "policy resource;\nallow if ");
	for (int i = 0; i < CS_POLICY_MAX_DEPTH + 5; i++)
		put(src, &off, "(");
	put(src, &off, "true");
	for (int i = 0; i < CS_POLICY_MAX_DEPTH + 5; i++)
		put(src, &off, ")");
	put(src, &off, ";");
	CHECK_ERR(cs_policy_compile(src, strlen(src), &p, &d), CS_ERR_POLICY);
	CHECK(strstr(d.msg, "nested too deeply") != NULL && d.line == 2);
	/* So is a long flat chain (each link is one level of the tree). */
	off = 0;
	put(src, &off, "policy resource;\nallow if true");
	for (int i = 0; i < 300; i++)
		put(src, &off, " and true");
	put(src, &off, ";");
	CHECK_ERR(cs_policy_compile(src, strlen(src), &p, &d), CS_ERR_POLICY);
	CHECK(strstr(d.msg, "expression too deep") != NULL);
	off = 0;
	put(src, &off, "policy resource;\nallow if x");
	for (int i = 0; i < 300; i++)
		put(src, &off, ".a");
	put(src, &off, ";");
	CHECK_ERR(cs_policy_compile(src, strlen(src), &p, &d), CS_ERR_POLICY);
	/* Over CS_POLICY_MAX_SRC bytes: refused before parsing. */
	memset(src, ' ', n);
	CHECK_ERR(cs_policy_compile(src, CS_POLICY_MAX_SRC + 1, &p, &d), CS_ERR_TOO_LARGE);
	/* Too many nodes. */
	big = malloc(CS_POLICY_MAX_SRC);
	off = 0;
	put(big, &off, "policy resource;\n");
	while (off < CS_POLICY_MAX_SRC - 32)
		put(big, &off, "allow if a==a and a==a and a==a;\n");
	CHECK_ERR(cs_policy_compile(big, strlen(big), &p, &d), CS_ERR_TOO_LARGE);
	CHECK(strstr(d.msg, "policy too large") != NULL);
	free(big);

	/* Claims nested as deep as the JSON parser allows: reachable, comparable, bounded. */
	{
		char deep[512], pol[512];
		size_t o = 0, q = 0;
		for (int i = 0; i < 30; i++)
			put(deep, &o, "{\"a\":");
		put(deep, &o, "1");
		for (int i = 0; i < 30; i++)
			put(deep, &o, "}");
		put(pol, &q, "policy resource;\nallow if claims");
		for (int i = 0; i < 29; i++)
			put(pol, &q, ".a");
		put(pol, &q, " == claims");
		for (int i = 0; i < 28; i++)
			put(pol, &q, ".a");
		put(pol, &q, " ?? false;");
		CHECK(!allows(pol, deep)); /* {"a":1} vs {"a":{"a":1}}: deep equality, not equal */
		q = 0;
		put(pol, &q, "policy resource;\nallow if claims");
		for (int i = 0; i < 30; i++)
			put(pol, &q, ".a");
		put(pol, &q, " == 1 and claims == claims;");
		CHECK(allows(pol, deep));
	}
	/* A huge claim list runs the budget out: denied, with the reason. */
	p = compile(RES("allow if any(x in l : any(y in l : x == -1));"));
	claims = json_object();
	arr = json_array();
	for (int i = 0; i < 5000; i++)
		json_array_append_new(arr, json_integer(i));
	json_object_set_new(claims, "l", arr);
	struct cs_resource_in in = {.claims = claims, .path = "a/b/c"};
	CHECK_ERR(cs_policy_eval_resource(p, &in, &dec), CS_ERR_DENIED);
	CHECK(dec.eval_err == CS_ERR_TOO_LARGE);
	CHECK(strstr(dec.reason, "budget") != NULL);
	CHECK(dec.steps == CS_POLICY_BUDGET);
	/* The same under a budget large enough: still denied (no x == -1), but by no rule. */
	in.budget = 200000000;
	CHECK_ERR(cs_policy_eval_resource(p, &in, &dec), CS_ERR_DENIED);
	CHECK(dec.eval_err == CS_OK);
	CHECK(dec.steps > CS_POLICY_BUDGET);
	cs_policy_free(p);
	json_decref(claims);
	free(src);
}

static json_t *
one_lookup(void *ctx, const char *name, size_t len, int64_t now)
{
	(void)ctx;
	(void)now;
	if (len == 3 && memcmp(name, "svn", 3) == 0)
		return js("[\"1\", \"2\"]");
	if (len == 3 && memcmp(name, "bad", 3) == 0)
		return js("{\"not\":\"a list\"}");
	return NULL;
}

static void
test_appraisal(void)
{
	struct cs_rv_source rv = {.lookup = one_lookup};
	struct cs_appraisal a;
	struct cs_policy *p;
	json_t *c = js("{\"sample\":{\"svn\":\"1\"},\"t\":\"x\"}");
	struct cs_appraisal_in in = {.claims = c, .tee = "sample", .rv = &rv};

	p = compile("policy appraisal for \"sample\";\n"
	            "hardware = 97;\n"
	            "hardware = 2 if sample.svn in rv(\"svn\");\n"
	            "executables = 33;\n"
	            "executables = 3 if \"9\" in rv(\"svn\") or (x ?? \"\") in rv(\"bad\");\n"
	            "file-system = -3 if tee == \"sample\";\n"
	            "sourced-data = 1;\n");
	CHECK_STR(cs_policy_target(p), "sample");
	CHECK(cs_policy_kind(p) == CS_POLICY_APPRAISAL);
	CHECK_OK(cs_policy_eval_appraisal(p, &in, &a));
	if (a.eval_err != CS_OK)
		fprintf(stderr, "appraisal: %s\n", a.reason);
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 2);
	CHECK(a.tv[CS_AR4SI_EXECUTABLES] == 33);
	CHECK(a.tv[CS_AR4SI_FILE_SYSTEM] == -3);
	CHECK(a.tv[CS_AR4SI_SOURCED_DATA] == 1);
	CHECK(a.tv[CS_AR4SI_CONFIGURATION] == 0);
	CHECK(a.status == CS_TIER_WARNING);
	cs_policy_free(p);

	/* An evaluation error fails closed: every claim contraindicated, the reason says where. */
	p = compile("policy appraisal;\nhardware = 2;\nexecutables = 3 if sample.launch_digest == "
	            "\"a\";\n");
	CHECK_ERR(cs_policy_eval_appraisal(p, &in, &a), CS_ERR_POLICY);
	CHECK(a.status == CS_TIER_CONTRAINDICATED);
	CHECK(a.tv[CS_AR4SI_HARDWARE] == CS_AR4SI_FAILED);
	CHECK(strstr(a.reason, "3:27") != NULL);
	cs_policy_free(p);
	p = compile("policy appraisal;\nhardware = t;\n");
	CHECK_ERR(cs_policy_eval_appraisal(p, &in, &a), CS_ERR_POLICY);
	CHECK(strstr(a.reason, "takes an int, not string") != NULL);
	cs_policy_free(p);
	/* The wrong kind is a caller error. */
	p = compile(RES("allow;"));
	CHECK_ERR(cs_policy_eval_appraisal(p, &in, &a), CS_ERR_INVAL);
	cs_policy_free(p);
	json_decref(c);
}

static void
test_tiers(void)
{
	static const struct {
		int v;
		enum cs_policy_tier t;
	} bands[] = {
	        {0, CS_TIER_NONE},
	        {1, CS_TIER_NONE},
	        {-1, CS_TIER_NONE},
	        {2, CS_TIER_AFFIRMING},
	        {31, CS_TIER_AFFIRMING},
	        {-2, CS_TIER_AFFIRMING},
	        {-32, CS_TIER_AFFIRMING},
	        {32, CS_TIER_WARNING},
	        {95, CS_TIER_WARNING},
	        {-33, CS_TIER_WARNING},
	        {-96, CS_TIER_WARNING},
	        {96, CS_TIER_CONTRAINDICATED},
	        {127, CS_TIER_CONTRAINDICATED},
	        {-97, CS_TIER_CONTRAINDICATED},
	        {-128, CS_TIER_CONTRAINDICATED},
	};
	int8_t tv[CS_AR4SI_COUNT] = {0};

	for (size_t i = 0; i < sizeof(bands) / sizeof(bands[0]); i++)
		CHECK(cs_policy_claim_tier(bands[i].v) == bands[i].t);
	CHECK(cs_policy_vector_tier(tv) == CS_TIER_NONE);
	tv[CS_AR4SI_HARDWARE] = 2;
	CHECK(cs_policy_vector_tier(tv) == CS_TIER_AFFIRMING);
	tv[CS_AR4SI_CONFIGURATION] = 36;
	CHECK(cs_policy_vector_tier(tv) == CS_TIER_WARNING);
	tv[CS_AR4SI_EXECUTABLES] = 97;
	CHECK(cs_policy_vector_tier(tv) == CS_TIER_CONTRAINDICATED);
	CHECK_STR(cs_policy_tier_name(CS_TIER_WARNING), "warning");
	CHECK_STR(cs_ar4si_name(CS_AR4SI_INSTANCE_IDENTITY), "instance-identity");
	CHECK_STR(cs_ar4si_name(CS_AR4SI_SOURCED_DATA), "sourced-data");
	CHECK(cs_ar4si_name(CS_AR4SI_COUNT) == NULL);
}

static void
test_defaults(void)
{
	struct cs_policy *p = compile(cs_policy_default_resource());
	struct cs_decision d;
	struct cs_appraisal a;
	struct cs_rv_set set;
	struct cs_rv_source rv;
	json_t *c, *svn = js("[\"1\"]"), *ld = js("[\"abcde\"]"), *one = js("[1]"),
	           *zero = js("[0]"), *five = js("[5]");

	CHECK_STR(cs_policy_target(p), "*");
	cs_policy_free(p);
	CHECK(decide(cs_policy_default_resource(),
	             "{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"},"
	             "\"gpu0\":{\"ear.status\":\"affirming\"}}}",
	             "default/model/k", NULL, NULL, &d));
	CHECK_STR(d.reason, "every submodule is affirming");
	CHECK(!decide(cs_policy_default_resource(),
	              "{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"},"
	              "\"gpu0\":{\"ear.status\":\"warning\"}}}",
	              "default/model/k", NULL, NULL, &d));
	CHECK_STR(d.reason, "default policy: submodule gpu0 is warning, not affirming");
	CHECK(!decide(cs_policy_default_resource(), "{\"submods\":{\"cpu0\":{}}}", "a/b/c", NULL,
	              NULL, &d));
	CHECK_STR(d.reason, "default policy: submodule cpu0 is without status, not affirming");
	CHECK(!decide(cs_policy_default_resource(),
	              "{\"submods\":[{\"ear.status\":\"affirming\"}]}", "a/b/c", NULL, NULL, &d));
	CHECK(d.eval_err == CS_ERR_POLICY);
	CHECK(!decide(cs_policy_default_resource(), "{\"submods\":{}}", "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "the token has no submodules");
	CHECK(!decide(cs_policy_default_resource(), "{}", "a/b/c", NULL, NULL, &d));
	CHECK_STR(d.reason, "the token has no submodules");

	/* Every built-in appraisal policy compiles; unknown TEEs get the generic one. */
	const char *tees[] = {"sample", "snp", "tdx", "nonesuch", NULL};
	for (size_t i = 0; i < sizeof(tees) / sizeof(tees[0]); i++) {
		p = compile(cs_policy_default_appraisal(tees[i]));
		CHECK(p != NULL && cs_policy_kind(p) == CS_POLICY_APPRAISAL);
		cs_policy_free(p);
	}
	CHECK(cs_policy_default_appraisal("nonesuch") == cs_policy_default_appraisal(NULL));
	/* The SNP simulator is appraised like SNP (no appraisal policy to store first). */
	CHECK(cs_policy_default_appraisal("sim-snp") == cs_policy_default_appraisal("snp"));
	CHECK(cs_policy_default_appraisal("sim-snp") != cs_policy_default_appraisal(NULL));

	/* The sample default: contraindicated without reference values, affirming with them. */
	cs_rv_set_init(&set);
	c = js("{\"svn\":\"1\",\"report_data\":\"\",\"launch_digest\":\"abcde\","
	       "\"platform_version\":{\"major\":1,\"minor\":4},\"debug\":false}");
	struct cs_appraisal_in in = {.claims = c, .tee = "sample"};
	p = compile(cs_policy_default_appraisal("sample"));
	CHECK_OK(cs_policy_eval_appraisal(p, &in, &a));
	CHECK(a.status == CS_TIER_CONTRAINDICATED && a.tv[CS_AR4SI_HARDWARE] == 97);
	CHECK(a.tv[CS_AR4SI_CONFIGURATION] == 2 && a.tv[CS_AR4SI_EXECUTABLES] == 33);
	CHECK_OK(cs_rv_set_put(&set, "svn", 3, svn, 1000));
	CHECK_OK(cs_rv_set_put(&set, "launch_digest", 13, ld, 1000));
	CHECK_OK(cs_rv_set_put(&set, "major_version", 13, one, 1000));
	CHECK_OK(cs_rv_set_put(&set, "minimum_minor_version", 21, zero, 1000));
	rv = cs_rv_set_source(&set, 999);
	in.rv = &rv;
	CHECK_OK(cs_policy_eval_appraisal(p, &in, &a));
	CHECK(a.status == CS_TIER_AFFIRMING);
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 2 && a.tv[CS_AR4SI_EXECUTABLES] == 3 &&
	      a.tv[CS_AR4SI_CONFIGURATION] == 2);
	/* Expired at 1000: never matches again. */
	rv = cs_rv_set_source(&set, 1000);
	CHECK_OK(cs_policy_eval_appraisal(p, &in, &a));
	CHECK(a.status == CS_TIER_CONTRAINDICATED);
	/* A minor version below the reference: hardware not recognised. */
	rv = cs_rv_set_source(&set, 999);
	CHECK_OK(cs_rv_set_put(&set, "minimum_minor_version", 21, five, 1000));
	CHECK_OK(cs_policy_eval_appraisal(p, &in, &a));
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 97 && a.tv[CS_AR4SI_EXECUTABLES] == 3);
	cs_policy_free(p);

	/* The SNP default over claims shaped as the SNP verifier reports them. */
	json_decref(c);
	c = js("{\"measurement\":\"aa\",\"policy_debug_allowed\":\"false\","
	       "\"policy_migrate_ma\":\"false\"}");
	in.claims = c;
	in.tee = "snp";
	p = compile(cs_policy_default_appraisal("snp"));
	CHECK_OK(cs_policy_eval_appraisal(p, &in, &a));
	CHECK(a.tv[CS_AR4SI_CONFIGURATION] == 3 && a.tv[CS_AR4SI_EXECUTABLES] == 33);
	CHECK(a.status == CS_TIER_CONTRAINDICATED);
	cs_policy_free(p);
	json_decref(c);
	json_decref(ld);
	json_decref(one);
	json_decref(zero);
	json_decref(five);
	json_decref(svn);
	cs_rv_set_fini(&set);
}

static void
test_glob_select(void)
{
	static const struct {
		const char *pat, *s;
		bool want;
	} g[] = {
	        {"*", "", true},
	        {"*", "a/b/c", true},
	        {"a/b/c", "a/b/c", true},
	        {"a/b/c", "a/b/cd", false},
	        {"a/b/*", "a/b/c", true},
	        {"a/b/*", "a/bc", false},
	        {"default/model/*", "default/model/llama-kek", true},
	        {"*/key/*", "default/key/k1", true},
	        {"*/key/*", "default/model/k1", false},
	        {"a*a", "a", false},
	        {"a*a", "aa", true},
	        {"a*b*c", "abc", true},
	        {"a*b*c", "acb", false},
	        {"*ab*ab*", "xabyab", true},
	        {"*ab*ab*", "xaby", false},
	        {"**", "x", true},
	        {"*.json", "a/b.json", true},
	        {"*aaa*aaa*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	         false},
	};
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		bool got = cs_policy_glob(g[i].pat, strlen(g[i].pat), g[i].s, strlen(g[i].s));
		if (got != g[i].want)
			fprintf(stderr, "glob(%s, %s) = %d\n", g[i].pat, g[i].s, got);
		CHECK(got == g[i].want);
	}

	const char *pats[] = {"*",         "default/model/*", "default/*", "default/model/llama",
	                      "*/model/*", "other/*"};
	CHECK(cs_policy_select(pats, 6, "default/model/llama") == 3);
	CHECK(cs_policy_select(pats, 6, "default/model/mistral") == 1);
	CHECK(cs_policy_select(pats, 6, "default/key/x") == 2);
	CHECK(cs_policy_select(pats, 6, "tenant/model/x") == 4);
	CHECK(cs_policy_select(pats, 6, "other/a/b") == 5);
	CHECK(cs_policy_select(pats, 6, "x/y/z") == 0);
	CHECK(cs_policy_select(pats + 1, 1, "x/y/z") == -1);
	/* Ties: fewer stars, then byte order, never the order given. */
	const char *more[] = {"a/**", "a/*/*"};
	CHECK(cs_policy_select(more, 2, "a/b/c") == 1);
	const char *tie1[] = {"a/*c", "a*/c"};
	const char *tie2[] = {"a*/c", "a/*c"};
	CHECK(cs_policy_select(tie1, 2, "a/b/c") == 1);
	CHECK(cs_policy_select(tie2, 2, "a/b/c") == 0);
	const char *tie3[] = {"*/b/c", "a/b/*"};
	const char *tie4[] = {"a/b/*", "*/b/c"};
	CHECK(cs_policy_select(tie3, 2, "a/b/c") == 0);
	CHECK(cs_policy_select(tie4, 2, "a/b/c") == 1);

	/* A resource policy's pattern comes from its header. */
	struct cs_policy *p = compile("policy resource for \"default/model/*\";\nallow;");
	CHECK_STR(cs_policy_target(p), "default/model/*");
	cs_policy_free(p);
}

static void
test_cache(void)
{
	const char *a = RES("allow if x == 1;"), *b = RES("allow if x == 2;");
	struct cs_policy *p1, *p2, *p3, *many[70];
	struct cs_policy_diag d;
	char src[64];

	CHECK_OK(cs_policy_compile_cached(a, strlen(a), &p1, &d));
	CHECK_OK(cs_policy_compile_cached(a, strlen(a), &p2, &d));
	CHECK(p1 != NULL && p1 == p2); /* compiled once */
	CHECK_OK(cs_policy_compile_cached(b, strlen(b), &p3, &d));
	CHECK(p3 != NULL && p3 != p1);
	CHECK(allows(a, "{\"x\":1}") && !allows(b, "{\"x\":1}"));
	cs_policy_free(p3);
	CHECK_ERR(cs_policy_compile_cached("policy x;", 9, &p3, &d), CS_ERR_POLICY);
	CHECK(p3 == NULL && d.line == 1 && d.col == 8);
	/* More texts than slots: the oldest are evicted, references held stay valid. */
	for (int i = 0; i < 70; i++) {
		snprintf(src, sizeof(src), "policy resource;\nallow if x == %d;", i);
		CHECK_OK(cs_policy_compile_cached(src, strlen(src), &many[i], &d));
	}
	CHECK_OK(cs_policy_compile_cached(a, strlen(a), &p3, &d));
	CHECK(p3 != NULL);
	for (int i = 0; i < 70; i++)
		cs_policy_free(many[i]);
	cs_policy_free(p1);
	cs_policy_free(p2);
	cs_policy_free(p3);
}

static json_t *
get_by_name(void *ctx, const char *name)
{
	json_t *o = ctx, *v = json_object_get(o, name);

	return v != NULL ? json_incref(v) : NULL;
}

static void
test_broker(void)
{
	const char *texts[] = {
	        "policy resource for \"default/model/*\";\nallow \"model\" if rv(\"k\") == [1];",
	        "policy resource for \"default/*\";\ndeny \"tenant default\";",
	        "policy resource for \"default/model/special\";\ndeny \"special\";",
	};
	size_t lens[3];
	json_t *refs = js("{\"k\":1}"), *claims = js("{\"submods\":{}}");
	struct cs_rv_getter g = {get_by_name, refs};
	struct cs_rv_source rv = cs_rv_source_getter(&g, 0);
	struct cs_resource_in in = {.claims = claims, .rv = &rv};
	struct cs_decision d;

	for (size_t i = 0; i < 3; i++)
		lens[i] = strlen(texts[i]);
	in.path = "default/model/llama";
	CHECK_OK(cs_policy_decide(texts, lens, 3, &in, &d));
	CHECK_STR(d.reason, "model");
	in.path = "default/model/special";
	CHECK_ERR(cs_policy_decide(texts, lens, 3, &in, &d), CS_ERR_DENIED);
	CHECK_STR(d.reason, "special");
	in.path = "default/key/x";
	CHECK_ERR(cs_policy_decide(texts, lens, 3, &in, &d), CS_ERR_DENIED);
	CHECK_STR(d.reason, "tenant default");
	/* Nothing matches: the built-in default. */
	in.path = "other/key/x";
	CHECK_ERR(cs_policy_decide(texts, lens, 3, &in, &d), CS_ERR_DENIED);
	CHECK_STR(d.reason, "the token has no submodules");
	CHECK_ERR(cs_policy_decide(NULL, NULL, 0, &in, &d), CS_ERR_DENIED);
	CHECK_STR(d.reason, "the token has no submodules");
	/* A stored policy that does not compile, or of the other kind, denies everything. */
	const char *broken[] = {texts[0], "policy resource;\nallow if;"};
	size_t blens[] = {lens[0], strlen(broken[1])};
	in.path = "default/model/llama";
	CHECK_ERR(cs_policy_decide(broken, blens, 2, &in, &d), CS_ERR_DENIED);
	CHECK_STR(d.reason,
	          "stored resource policy 2 does not compile (2:9: expected an expression, "
	          "found ';')");
	const char *other[] = {"policy appraisal;\nhardware = 2;"};
	size_t olen[] = {strlen(other[0])};
	CHECK_ERR(cs_policy_decide(other, olen, 1, &in, &d), CS_ERR_DENIED);
	CHECK(strstr(d.reason, "not a resource policy") != NULL);
	in.path = NULL;
	CHECK_ERR(cs_policy_decide(texts, lens, 3, &in, &d), CS_ERR_INVAL);

	/* Appraisal: the TEE's own, else "*", else the built-in default. */
	const char *ap[] = {"policy appraisal for \"snp\";\nhardware = 3;",
	                    "policy appraisal for \"*\";\nhardware = 4;"};
	size_t aplen[] = {strlen(ap[0]), strlen(ap[1])};
	struct cs_appraisal_in ain = {.claims = claims, .tee = "snp", .rv = &rv};
	struct cs_appraisal a;
	CHECK_OK(cs_policy_appraise(ap, aplen, 2, &ain, &a));
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 3);
	ain.tee = "tdx";
	CHECK_OK(cs_policy_appraise(ap, aplen, 2, &ain, &a));
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 4);
	CHECK_OK(cs_policy_appraise(ap, aplen, 1, &ain, &a));
	CHECK(a.tv[CS_AR4SI_HARDWARE] == 97 && a.status == CS_TIER_CONTRAINDICATED);
	CHECK_ERR(cs_policy_appraise(texts, lens, 1, &ain, &a), CS_ERR_POLICY);
	CHECK(a.tv[CS_AR4SI_HARDWARE] == CS_AR4SI_FAILED && strstr(a.reason, "not an appraisal"));
	json_decref(refs);
	json_decref(claims);

	/* The admin API's upload check. */
	char detail[128];
	CHECK_OK(cs_policy_check(texts[0], lens[0], CS_POLICY_RESOURCE, detail, sizeof(detail)));
	CHECK_ERR(cs_policy_check(texts[0], lens[0], CS_POLICY_APPRAISAL, detail, sizeof(detail)),
	          CS_ERR_POLICY);
	CHECK_STR(detail, "1:1: not an appraisal policy");
	CHECK_ERR(cs_policy_check(broken[1], blens[1], CS_POLICY_RESOURCE, detail, sizeof(detail)),
	          CS_ERR_POLICY);
	CHECK_STR(detail, "2:9: expected an expression, found ';'");
	CHECK_ERR(cs_policy_check("package policy\ndefault allow = false", 37, CS_POLICY_RESOURCE,
	                          detail, sizeof(detail)),
	          CS_ERR_POLICY);
	CHECK_STR(detail, "1:1: a policy starts with 'policy appraisal' or 'policy resource'");
}

/* Threads compiling through the cache (80 texts, 64 slots: constant eviction) and evaluating. */
static void *
cache_worker(void *arg)
{
	long id = (long)arg, bad = 0;
	char src[96];
	json_t *claims = json_pack("{s:i}", "x", 7);

	for (int i = 0; i < 400; i++) {
		int k = (int)((i * 7 + id * 13) % 80);
		struct cs_policy *p = NULL;
		struct cs_decision d;
		struct cs_resource_in in = {.claims = claims, .path = "a/b/c"};
		snprintf(src, sizeof(src), "policy resource;\nallow if x == %d or x == 7;\n", k);
		if (cs_policy_compile_cached(src, strlen(src), &p, NULL) != CS_OK ||
		    cs_policy_eval_resource(p, &in, &d) != CS_OK)
			bad++;
		cs_policy_free(p);
	}
	json_decref(claims);
	return (void *)bad;
}

static void
test_threads(void)
{
	pthread_t th[4];
	void *bad;

	for (long i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, cache_worker, (void *)i) == 0);
	for (int i = 0; i < 4; i++) {
		CHECK(pthread_join(th[i], &bad) == 0);
		CHECK(bad == NULL);
	}
}

int
main(void)
{
	T_RUN(test_precedence);
	T_RUN(test_paths);
	T_RUN(test_missing_denies);
	T_RUN(test_values);
	T_RUN(test_quantifiers_and_inputs);
	T_RUN(test_rules_and_reasons);
	T_RUN(test_first_keys_templates);
	T_RUN(test_errors);
	T_RUN(test_errors_binary);
	T_RUN(test_limits);
	T_RUN(test_appraisal);
	T_RUN(test_tiers);
	T_RUN(test_defaults);
	T_RUN(test_glob_select);
	T_RUN(test_cache);
	T_RUN(test_broker);
	T_RUN(test_threads);
	return t_done();
}

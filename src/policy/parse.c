/*
 * Lexer, parser and type checker of the policy language. The grammar is in docs/policy.md §2; the
 * functions below follow it rule by rule (recursive descent, one token of lookahead). Every error
 * is reported once, at the line:column of the token that caused it, and stops compilation.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ast.h"

/* Tree height bound: evaluation recurses once per level. */
#define MAX_HEIGHT 256

enum tk {
	TK_EOF,
	TK_IDENT,
	TK_INT,
	TK_STR,
	TK_LP,
	TK_RP,
	TK_LB,
	TK_RB,
	TK_COMMA,
	TK_SEMI,
	TK_COLON,
	TK_DOT,
	TK_ASSIGN,
	TK_EQ,
	TK_NE,
	TK_LT,
	TK_LE,
	TK_GT,
	TK_GE,
	TK_COAL,
	/* keywords */
	TK_LET,
	TK_ALLOW,
	TK_DENY,
	TK_IF,
	TK_AND,
	TK_OR,
	TK_NOT,
	TK_IN,
	TK_TRUE,
	TK_FALSE,
	TK_NULL,
};

static const struct {
	const char *s;
	enum tk k;
} keywords[] = {
        {"let", TK_LET},   {"allow", TK_ALLOW}, {"deny", TK_DENY}, {"if", TK_IF},
        {"and", TK_AND},   {"or", TK_OR},       {"not", TK_NOT},   {"in", TK_IN},
        {"true", TK_TRUE}, {"false", TK_FALSE}, {"null", TK_NULL},
};

static const char *const ar4si_names[CS_AR4SI_COUNT] = {
        "instance-identity", "configuration",  "executables",    "file-system",
        "hardware",          "runtime-opaque", "storage-opaque", "sourced-data",
};

struct tok {
	enum tk k;
	uint32_t line;
	uint32_t col;
	const char *p; /* the token's bytes in the source */
	size_t n;
	int64_t i;       /* TK_INT */
	const char *str; /* TK_STR: the unescaped value, owned by the policy */
	size_t slen;
};

struct var {
	const char *p;
	size_t n;
	uint32_t slot;
};

struct ps {
	const char *src;
	size_t len;
	size_t off;
	uint32_t line;
	size_t line_start;
	struct tok t;
	struct cs_policy *pol;
	struct cs_policy_diag *diag;
	int depth;
	struct var vars[CS_POLICY_MAX_DEPTH];
	size_t nvars;
};

const char *
cs_ar4si_name(enum cs_ar4si c)
{
	return (unsigned)c < CS_AR4SI_COUNT ? ar4si_names[c] : NULL;
}

static enum cs_err fail_at(struct ps *ps, uint32_t line, uint32_t col, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static enum cs_err
fail_at(struct ps *ps, uint32_t line, uint32_t col, const char *fmt, ...)
{
	va_list ap;

	if (ps->diag != NULL) {
		ps->diag->line = line;
		ps->diag->col = col;
		va_start(ap, fmt);
		vsnprintf(ps->diag->msg, sizeof(ps->diag->msg), fmt, ap);
		va_end(ap);
	}
	return CS_ERR_POLICY;
}

/* Names from the policy go into messages clipped, so that a message stays one short line. */
#define NAMEF "%.*s"
#define NAMEA(p, n) (int)((n) > 40 ? 40 : (n)), (p)

static void *
palloc(struct cs_policy *pol, size_t n)
{
	struct cs_palloc *a = malloc(sizeof(*a) + n + 1);

	if (a == NULL)
		return NULL;
	a->next = pol->allocs;
	pol->allocs = a;
	memset(a + 1, 0, n + 1);
	return a + 1;
}

static struct cs_pnode *
node_new(struct ps *ps, enum cs_pn kind, const struct tok *at)
{
	struct cs_pnode *n;

	if (ps->pol->nnodes >= CS_POLICY_MAX_NODES)
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->next_alloc = ps->pol->nodes;
	ps->pol->nodes = n;
	ps->pol->nnodes++;
	n->kind = (uint8_t)kind;
	n->line = at->line;
	n->col = at->col;
	return n;
}

/* CS_ERR_TOO_LARGE or CS_ERR_NOMEM after node_new returned NULL. */
static enum cs_err
node_fail(struct ps *ps)
{
	if (ps->pol->nnodes >= CS_POLICY_MAX_NODES) {
		fail_at(ps, ps->t.line, ps->t.col, "policy too large (over %d nodes)",
		        CS_POLICY_MAX_NODES);
		return CS_ERR_TOO_LARGE;
	}
	return CS_ERR_NOMEM;
}

/* ---- lexer ---- */

static int
is_ident0(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_ident(int c)
{
	return is_ident0(c) || (c >= '0' && c <= '9') || c == '-';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static uint32_t
col_of(const struct ps *ps, size_t off)
{
	size_t c = off - ps->line_start + 1;

	return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

static enum cs_err
lex_string(struct ps *ps)
{
	const uint8_t *s = (const uint8_t *)ps->src;
	size_t start = ps->off + 1, i = start, n = 0;
	char *out;

	/* First pass: find the end and validate; second pass: unescape into the policy's memory. */
	for (;;) {
		if (i >= ps->len || s[i] == '\n')
			return fail_at(ps, ps->t.line, ps->t.col, "unterminated string");
		if (s[i] == '"')
			break;
		if (s[i] < 0x20 || s[i] == 0x7f)
			return fail_at(ps, ps->line, col_of(ps, i), "control character in string");
		if (s[i] == '\\') {
			if (i + 1 >= ps->len)
				return fail_at(ps, ps->t.line, ps->t.col, "unterminated string");
			if (strchr("\"\\nt", s[i + 1]) == NULL || s[i + 1] == 0)
				return fail_at(ps, ps->line, col_of(ps, i),
				               "unknown escape (use \\\" \\\\ \\n \\t)");
			i += 2;
			n++;
			continue;
		}
		size_t k = cs_policy_utf8_len(s + i, ps->len - i);
		if (k == 0)
			return fail_at(ps, ps->line, col_of(ps, i), "invalid UTF-8 in string");
		i += k;
		n += k;
	}
	if ((out = palloc(ps->pol, n)) == NULL)
		return CS_ERR_NOMEM;
	for (size_t j = start, o = 0; j < i; j++) {
		if (s[j] == '\\') {
			j++;
			out[o++] = s[j] == 'n' ? '\n' : s[j] == 't' ? '\t' : (char)s[j];
		} else {
			out[o++] = (char)s[j];
		}
	}
	ps->t.k = TK_STR;
	ps->t.str = out;
	ps->t.slen = n;
	ps->off = i + 1;
	return CS_OK;
}

static enum cs_err
lex_int(struct ps *ps)
{
	const char *s = ps->src;
	size_t i = ps->off;
	int neg = 0;
	uint64_t v = 0;

	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	for (; i < ps->len && is_digit(s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_C(1) << 63) / 10 ||
		    v * 10 + d > (UINT64_C(1) << 63) - (neg ? 0 : 1))
			return fail_at(ps, ps->t.line, ps->t.col, "integer out of range");
		v = v * 10 + d;
	}
	if (i < ps->len && is_ident(s[i]))
		return fail_at(ps, ps->t.line, ps->t.col, "malformed number");
	ps->t.k = TK_INT;
	ps->t.i = neg ? (v == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	ps->off = i;
	return CS_OK;
}

static enum cs_err
next(struct ps *ps)
{
	const char *s = ps->src;
	struct tok *t = &ps->t;

	for (;;) {
		if (ps->off >= ps->len)
			break;
		char c = s[ps->off];
		if (c == '\n') {
			ps->off++;
			ps->line++;
			ps->line_start = ps->off;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->off++;
		} else if (c == '#') {
			while (ps->off < ps->len && s[ps->off] != '\n' && s[ps->off] != '\0')
				ps->off++;
		} else {
			break;
		}
	}
	memset(t, 0, sizeof(*t));
	t->line = ps->line;
	t->col = col_of(ps, ps->off);
	t->p = s + ps->off;
	if (ps->off >= ps->len) {
		t->k = TK_EOF;
		return CS_OK;
	}
	size_t start = ps->off;
	char c = s[ps->off];
	char d = ps->off + 1 < ps->len ? s[ps->off + 1] : 0;
	if (is_ident0(c)) {
		while (ps->off < ps->len && is_ident(s[ps->off]))
			ps->off++;
		t->k = TK_IDENT;
		t->n = ps->off - start;
		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (strlen(keywords[i].s) == t->n && memcmp(keywords[i].s, t->p, t->n) == 0)
				t->k = keywords[i].k;
		return CS_OK;
	}
	if (is_digit(c) || (c == '-' && is_digit(d))) {
		TRY(lex_int(ps));
		t->n = ps->off - start;
		return CS_OK;
	}
	if (c == '"') {
		TRY(lex_string(ps));
		t->n = ps->off - start;
		return CS_OK;
	}
	static const struct {
		char a, b;
		enum tk k;
	} punct[] = {
	        {'=', '=', TK_EQ},   {'!', '=', TK_NE},   {'<', '=', TK_LE}, {'>', '=', TK_GE},
	        {'?', '?', TK_COAL}, {'(', 0, TK_LP},     {')', 0, TK_RP},   {'[', 0, TK_LB},
	        {']', 0, TK_RB},     {',', 0, TK_COMMA},  {';', 0, TK_SEMI}, {':', 0, TK_COLON},
	        {'.', 0, TK_DOT},    {'=', 0, TK_ASSIGN}, {'<', 0, TK_LT},   {'>', 0, TK_GT},
	};
	for (size_t i = 0; i < sizeof(punct) / sizeof(punct[0]); i++) {
		if (c == punct[i].a && (punct[i].b == 0 || d == punct[i].b)) {
			t->k = punct[i].k;
			t->n = punct[i].b ? 2 : 1;
			ps->off += t->n;
			return CS_OK;
		}
	}
	if (c == '\0')
		return fail_at(ps, t->line, t->col, "NUL byte in policy");
	if ((unsigned char)c >= 0x80)
		return fail_at(ps, t->line, t->col, "non-ASCII byte outside a string");
	return fail_at(ps, t->line, t->col, "unexpected character '%c'", c);
}

static const char *
tok_name(enum tk k)
{
	static const char *const names[] = {
	        "end of policy", "name", "integer", "string", "'('",    "')'",     "'['",    "']'",
	        "','",           "';'",  "':'",     "'.'",    "'='",    "'=='",    "'!='",   "'<'",
	        "'<='",          "'>'",  "'>='",    "'?\?'",  "'let'",  "'allow'", "'deny'", "'if'",
	        "'and'",         "'or'", "'not'",   "'in'",   "'true'", "'false'", "'null'",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "token";
}

static enum cs_err
expect(struct ps *ps, enum tk k, const char *where)
{
	if (ps->t.k != k)
		return fail_at(ps, ps->t.line, ps->t.col, "expected %s %s, found %s", tok_name(k),
		               where, tok_name(ps->t.k));
	return next(ps);
}

static int
tok_is(const struct tok *t, const char *word)
{
	return t->k == TK_IDENT && strlen(word) == t->n && memcmp(word, t->p, t->n) == 0;
}

/* ---- type checking helpers ---- */

static const char *
type_name(enum cs_pt t)
{
	static const char *const names[] = {"any",    "null",  "bool", "int",
	                                    "string", "bytes", "list", "object"};
	return names[t];
}

static uint32_t
height(const struct cs_pnode *n)
{
	return n == NULL ? 0 : n->h;
}

/* Records the node's height in the tree, refusing trees deeper than evaluation may recurse. */
static enum cs_err
seal(struct ps *ps, struct cs_pnode *n)
{
	uint32_t h = height(n->a) > height(n->b) ? height(n->a) : height(n->b);

	if (h + 1 > MAX_HEIGHT)
		return fail_at(ps, n->line, n->col, "expression too deep (over %d levels)",
		               MAX_HEIGHT);
	n->h = (uint16_t)(h + 1);
	return CS_OK;
}

static int
known(enum cs_pt t)
{
	return t != T_ANY;
}

static enum cs_err
want_bool(struct ps *ps, const struct cs_pnode *n, const char *what)
{
	if (known(n->type) && n->type != T_BOOL)
		return fail_at(ps, n->line, n->col, "%s needs a bool, not %s", what,
		               type_name(n->type));
	return CS_OK;
}

static enum cs_err
binary(struct ps *ps, enum cs_pn kind, uint8_t op, const struct tok *at, struct cs_pnode *a,
       struct cs_pnode *b, struct cs_pnode **out)
{
	struct cs_pnode *n = node_new(ps, kind, at);

	if (n == NULL)
		return node_fail(ps);
	n->op = op;
	n->a = a;
	n->b = b;
	*out = n;
	return seal(ps, n);
}

/* ---- expressions ---- */

static enum cs_err parse_expr(struct ps *ps, struct cs_pnode **out);

static enum cs_err
enter(struct ps *ps)
{
	if (++ps->depth > CS_POLICY_MAX_DEPTH)
		return fail_at(ps, ps->t.line, ps->t.col, "expression nested too deeply (over %d)",
		               CS_POLICY_MAX_DEPTH);
	return CS_OK;
}

static enum cs_err
parse_list(struct ps *ps, struct cs_pnode **out)
{
	struct tok at = ps->t;
	struct cs_pnode *n = node_new(ps, N_LIST, &at);

	if (n == NULL)
		return node_fail(ps);
	if ((n->list = json_array()) == NULL)
		return CS_ERR_NOMEM;
	n->type = T_LIST;
	*out = n;
	TRY(next(ps));
	while (ps->t.k != TK_RB) {
		json_t *v;

		switch (ps->t.k) {
		case TK_STR:
			v = json_stringn(ps->t.str, ps->t.slen);
			break;
		case TK_INT:
			v = json_integer(ps->t.i);
			break;
		case TK_TRUE:
			v = json_true();
			break;
		case TK_FALSE:
			v = json_false();
			break;
		case TK_NULL:
			v = json_null();
			break;
		default:
			return fail_at(
			        ps, ps->t.line, ps->t.col,
			        "list elements must be literals (string, integer, bool, null)");
		}
		if (v == NULL || json_array_append_new(n->list, v) != 0)
			return CS_ERR_NOMEM;
		TRY(next(ps));
		if (ps->t.k != TK_COMMA)
			break;
		TRY(next(ps));
	}
	TRY(expect(ps, TK_RB, "to close the list"));
	return seal(ps, n);
}

static const struct {
	const char *name;
	enum cs_pfn fn;
	int nargs;
} builtins[] = {
        {"rv", FN_RV, 1},
        {"hex", FN_HEX, 1},
        {"int", FN_INT, 1},
        {"len", FN_LEN, 1},
        {"exists", FN_EXISTS, 1},
        {"glob", FN_GLOB, 2},
        {"starts_with", FN_STARTS_WITH, 2},
        {"keys", FN_KEYS, 1},
};

/* Checks a call's argument types; the result type is set by the caller's table. */
static enum cs_err
check_call(struct ps *ps, struct cs_pnode *n)
{
	const struct cs_pnode *a = n->a, *b = n->b;

	switch ((enum cs_pfn)n->op) {
	case FN_RV:
	case FN_HEX:
		if (known(a->type) && a->type != T_STR)
			return fail_at(ps, a->line, a->col, "argument must be a string, not %s",
			               type_name(a->type));
		if (n->op == FN_HEX && a->kind == N_STR) {
			int ok = a->slen % 2 == 0;
			for (size_t i = 0; ok && i < a->slen; i++)
				ok = cs_policy_hexval((unsigned char)a->s[i]) >= 0;
			if (!ok)
				return fail_at(ps, a->line, a->col, "not a hex string");
		}
		n->type = n->op == FN_RV ? T_LIST : T_BYTES;
		return CS_OK;
	case FN_INT:
		if (known(a->type) && a->type != T_STR && a->type != T_INT)
			return fail_at(ps, a->line, a->col, "int() takes a string or int, not %s",
			               type_name(a->type));
		n->type = T_INT;
		return CS_OK;
	case FN_LEN:
		if (known(a->type) && a->type != T_STR && a->type != T_BYTES && a->type != T_LIST &&
		    a->type != T_OBJ)
			return fail_at(ps, a->line, a->col, "len() of %s", type_name(a->type));
		n->type = T_INT;
		return CS_OK;
	case FN_EXISTS:
		n->type = T_BOOL;
		return CS_OK;
	case FN_KEYS:
		if (known(a->type) && a->type != T_OBJ)
			return fail_at(ps, a->line, a->col, "keys() of %s", type_name(a->type));
		n->type = T_LIST;
		return CS_OK;
	case FN_GLOB:
	case FN_STARTS_WITH:
		if (known(a->type) && a->type != T_STR)
			return fail_at(ps, a->line, a->col, "argument must be a string, not %s",
			               type_name(a->type));
		if (known(b->type) && b->type != T_STR)
			return fail_at(ps, b->line, b->col, "argument must be a string, not %s",
			               type_name(b->type));
		n->type = T_BOOL;
		return CS_OK;
	}
	return CS_ERR_INVAL;
}

static enum cs_err
parse_call(struct ps *ps, const struct tok *name, struct cs_pnode **out)
{
	struct cs_pnode *n, *args[2] = {NULL, NULL};
	size_t fn = sizeof(builtins) / sizeof(builtins[0]);
	int nargs = 0;

	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (tok_is(name, builtins[i].name))
			fn = i;
	if (fn == sizeof(builtins) / sizeof(builtins[0]))
		return fail_at(ps, name->line, name->col, "unknown function '" NAMEF "'",
		               NAMEA(name->p, name->n));
	TRY(next(ps)); /* ( */
	while (ps->t.k != TK_RP) {
		if (nargs == builtins[fn].nargs)
			return fail_at(ps, ps->t.line, ps->t.col, "%s() takes %d argument%s",
			               builtins[fn].name, builtins[fn].nargs,
			               builtins[fn].nargs == 1 ? "" : "s");
		TRY(parse_expr(ps, &args[nargs++]));
		if (ps->t.k != TK_COMMA)
			break;
		TRY(next(ps));
	}
	if (nargs != builtins[fn].nargs)
		return fail_at(ps, ps->t.line, ps->t.col, "%s() takes %d argument%s",
		               builtins[fn].name, builtins[fn].nargs,
		               builtins[fn].nargs == 1 ? "" : "s");
	TRY(expect(ps, TK_RP, "after the arguments"));
	TRY(binary(ps, N_CALL, (uint8_t)builtins[fn].fn, name, args[0], args[1], &n));
	*out = n;
	return check_call(ps, n);
}

/* any(x in list : cond), all(x in list : cond) and first(x in list : cond) */
static enum cs_err
parse_quant(struct ps *ps, const struct tok *kw, struct cs_pnode **out)
{
	struct cs_pnode *n, *list, *body;
	struct tok var;

	TRY(next(ps)); /* ( */
	var = ps->t;
	if (var.k != TK_IDENT)
		return fail_at(ps, var.line, var.col, "expected a variable name, found %s",
		               tok_name(var.k));
	TRY(next(ps));
	TRY(expect(ps, TK_IN, "after the variable"));
	TRY(parse_expr(ps, &list));
	if (known(list->type) && list->type != T_LIST && list->type != T_OBJ)
		return fail_at(ps, list->line, list->col, "cannot iterate over %s",
		               type_name(list->type));
	TRY(expect(ps, TK_COLON, "after the list"));
	if (ps->nvars >= CS_POLICY_MAX_DEPTH)
		return fail_at(ps, var.line, var.col, "quantifiers nested too deeply");
	ps->vars[ps->nvars].p = var.p;
	ps->vars[ps->nvars].n = var.n;
	ps->vars[ps->nvars].slot = ps->pol->nvars++;
	ps->nvars++;
	TRY(parse_expr(ps, &body));
	ps->nvars--;
	TRY(want_bool(ps, body, "the condition"));
	TRY(expect(ps, TK_RP, "to close the quantifier"));
	TRY(binary(ps,
	           tok_is(kw, "any")   ? N_ANY
	           : tok_is(kw, "all") ? N_ALL
	                               : N_FIRST,
	           0, kw, list, body, &n));
	n->slot = ps->vars[ps->nvars].slot; /* still there after the pop */
	n->type = n->kind == N_FIRST ? T_ANY : T_BOOL;
	*out = n;
	return CS_OK;
}

/* A bare name: a quantifier variable, a let, one of the kind's inputs, or a top-level claim. */
static enum cs_err
resolve(struct ps *ps, const struct tok *t, struct cs_pnode **out)
{
	static const struct {
		const char *name;
		enum cs_policy_kind kind; /* 0: both */
		enum cs_pn node;
		enum cs_pt type;
	} inputs[] = {
	        {"claims", 0, N_CLAIMS, T_OBJ},
	        {"path", CS_POLICY_RESOURCE, N_PATH, T_LIST},
	        {"resource", CS_POLICY_RESOURCE, N_RESPATH, T_STR},
	        {"query", CS_POLICY_RESOURCE, N_QUERY, T_OBJ},
	        {"tee", CS_POLICY_APPRAISAL, N_TEE, T_STR},
	};
	struct cs_pnode *n;

	for (size_t i = ps->nvars; i-- > 0;) {
		if (ps->vars[i].n == t->n && memcmp(ps->vars[i].p, t->p, t->n) == 0) {
			if ((n = node_new(ps, N_VAR, t)) == NULL)
				return node_fail(ps);
			n->slot = ps->vars[i].slot;
			n->type = T_ANY;
			*out = n;
			return CS_OK;
		}
	}
	for (size_t i = 0; i < ps->pol->nlets; i++) {
		const char *ln = ps->pol->lets[i].name;
		if (strlen(ln) == t->n && memcmp(ln, t->p, t->n) == 0) {
			if ((n = node_new(ps, N_LET, t)) == NULL)
				return node_fail(ps);
			n->slot = (uint32_t)i;
			n->type = ps->pol->lets[i].value->type;
			*out = n;
			return CS_OK;
		}
	}
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		if ((inputs[i].kind == 0 || inputs[i].kind == ps->pol->kind) &&
		    tok_is(t, inputs[i].name)) {
			if ((n = node_new(ps, inputs[i].node, t)) == NULL)
				return node_fail(ps);
			n->type = (uint8_t)inputs[i].type;
			*out = n;
			return seal(ps, n);
		}
	}
	if ((n = node_new(ps, N_CLAIM, t)) == NULL)
		return node_fail(ps);
	n->s = t->p; /* points into the source: copied below */
	n->slen = t->n;
	char *s = palloc(ps->pol, t->n);
	if (s == NULL)
		return CS_ERR_NOMEM;
	memcpy(s, t->p, t->n);
	n->s = s;
	n->type = T_ANY;
	*out = n;
	return seal(ps, n);
}

static enum cs_err
parse_primary(struct ps *ps, struct cs_pnode **out)
{
	struct tok t = ps->t;
	struct cs_pnode *n;

	switch (t.k) {
	case TK_INT:
	case TK_STR:
	case TK_TRUE:
	case TK_FALSE:
	case TK_NULL:
		if ((n = node_new(ps, N_INT, &t)) == NULL)
			return node_fail(ps);
		if (t.k == TK_INT) {
			n->i = t.i;
			n->type = T_INT;
		} else if (t.k == TK_STR) {
			n->kind = N_STR;
			n->s = t.str;
			n->slen = t.slen;
			n->type = T_STR;
		} else if (t.k == TK_NULL) {
			n->kind = N_NULL;
			n->type = T_NULL;
		} else {
			n->kind = N_BOOL;
			n->i = t.k == TK_TRUE;
			n->type = T_BOOL;
		}
		*out = n;
		TRY(seal(ps, n));
		return next(ps);
	case TK_LB:
		return parse_list(ps, out);
	case TK_LP:
		TRY(next(ps));
		TRY(parse_expr(ps, out));
		return expect(ps, TK_RP, "to close '('");
	case TK_IDENT:
		TRY(next(ps));
		if (ps->t.k == TK_LP) {
			if (tok_is(&t, "any") || tok_is(&t, "all") || tok_is(&t, "first"))
				return parse_quant(ps, &t, out);
			return parse_call(ps, &t, out);
		}
		return resolve(ps, &t, out);
	default:
		return fail_at(ps, t.line, t.col, "expected an expression, found %s",
		               tok_name(t.k));
	}
}

static enum cs_err
parse_postfix(struct ps *ps, struct cs_pnode **out)
{
	struct cs_pnode *a, *b, *n;

	TRY(parse_primary(ps, &a));
	for (;;) {
		struct tok at = ps->t;
		if (at.k == TK_DOT) {
			TRY(next(ps));
			/* Any word may follow a dot, keywords included: claims are named freely. */
			if (ps->t.k != TK_IDENT && ps->t.k < TK_LET)
				return fail_at(ps, ps->t.line, ps->t.col,
				               "expected a member name after '.', found %s",
				               tok_name(ps->t.k));
			if (known(a->type) && a->type != T_OBJ)
				return fail_at(ps, at.line, at.col, "%s has no members",
				               type_name(a->type));
			/* Positioned at the name: that is what a "missing member" error points to.
			 */
			TRY(binary(ps, N_MEMBER, 0, &ps->t, a, NULL, &n));
			char *s = palloc(ps->pol, ps->t.n);
			if (s == NULL)
				return CS_ERR_NOMEM;
			memcpy(s, ps->t.p, ps->t.n);
			n->s = s;
			n->slen = ps->t.n;
			n->type = T_ANY;
			TRY(next(ps));
		} else if (at.k == TK_LB) {
			TRY(next(ps));
			TRY(parse_expr(ps, &b));
			TRY(expect(ps, TK_RB, "to close '['"));
			if (known(a->type) && a->type != T_OBJ && a->type != T_LIST)
				return fail_at(ps, at.line, at.col, "cannot index %s",
				               type_name(a->type));
			if (known(b->type) && b->type != T_STR && b->type != T_INT)
				return fail_at(ps, b->line, b->col,
				               "an index must be a string or int, not %s",
				               type_name(b->type));
			if (known(a->type) && known(b->type) &&
			    (a->type == T_OBJ) != (b->type == T_STR))
				return fail_at(ps, b->line, b->col, "cannot index %s with %s",
				               type_name(a->type), type_name(b->type));
			TRY(binary(ps, N_INDEX, 0, &at, a, b, &n));
			n->type = a->kind == N_PATH ? T_STR : T_ANY;
		} else {
			break;
		}
		a = n;
	}
	*out = a;
	return CS_OK;
}

static enum cs_err
parse_coal(struct ps *ps, struct cs_pnode **out)
{
	struct cs_pnode *a, *b, *n;

	TRY(parse_postfix(ps, &a));
	while (ps->t.k == TK_COAL) {
		struct tok at = ps->t;
		TRY(next(ps));
		TRY(parse_postfix(ps, &b));
		TRY(binary(ps, N_COAL, 0, &at, a, b, &n));
		n->type = a->type == b->type ? a->type : T_ANY;
		a = n;
	}
	*out = a;
	return CS_OK;
}

static int
comparable_eq(enum cs_pt a, enum cs_pt b)
{
	if (!known(a) || !known(b) || a == b || a == T_NULL || b == T_NULL)
		return 1;
	return (a == T_STR && b == T_BYTES) || (a == T_BYTES && b == T_STR);
}

static enum cs_err
parse_cmp(struct ps *ps, struct cs_pnode **out)
{
	static const struct {
		enum tk k;
		enum cs_pop op;
	} ops[] = {{TK_EQ, OP_EQ}, {TK_NE, OP_NE}, {TK_LT, OP_LT},
	           {TK_LE, OP_LE}, {TK_GT, OP_GT}, {TK_GE, OP_GE}};
	struct cs_pnode *a, *b, *n;
	struct tok at;

	TRY(parse_coal(ps, &a));
	at = ps->t;
	if (at.k == TK_IN || at.k == TK_NOT) {
		TRY(next(ps));
		if (at.k == TK_NOT)
			TRY(expect(ps, TK_IN, "after 'not' in a comparison"));
		TRY(parse_coal(ps, &b));
		if (known(b->type) && b->type != T_LIST && b->type != T_OBJ)
			return fail_at(ps, b->line, b->col, "'in' needs a list or object, not %s",
			               type_name(b->type));
		if (b->type == T_OBJ && known(a->type) && a->type != T_STR)
			return fail_at(ps, a->line, a->col, "object keys are strings, not %s",
			               type_name(a->type));
		TRY(binary(ps, at.k == TK_IN ? N_IN : N_NOTIN, 0, &at, a, b, &n));
		n->type = T_BOOL;
		*out = n;
	} else {
		size_t i;
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (ops[i].k == at.k)
				break;
		if (i == sizeof(ops) / sizeof(ops[0])) {
			*out = a;
			return CS_OK;
		}
		TRY(next(ps));
		TRY(parse_coal(ps, &b));
		if (ops[i].op == OP_EQ || ops[i].op == OP_NE) {
			if (!comparable_eq(a->type, b->type))
				return fail_at(ps, at.line, at.col, "cannot compare %s with %s",
				               type_name(a->type), type_name(b->type));
		} else {
			const struct cs_pnode *x = a;
			for (int k = 0; k < 2; k++, x = b)
				if (known(x->type) && x->type != T_INT && x->type != T_STR &&
				    x->type != T_BYTES)
					return fail_at(ps, x->line, x->col, "%s has no order",
					               type_name(x->type));
			if (known(a->type) && known(b->type) && a->type != b->type)
				return fail_at(ps, at.line, at.col, "cannot order %s against %s",
				               type_name(a->type), type_name(b->type));
		}
		TRY(binary(ps, N_CMP, (uint8_t)ops[i].op, &at, a, b, &n));
		n->type = T_BOOL;
		*out = n;
	}
	if (ps->t.k >= TK_EQ && ps->t.k <= TK_GE)
		return fail_at(ps, ps->t.line, ps->t.col,
		               "comparisons do not chain; use 'and' or parentheses");
	if (ps->t.k == TK_IN)
		return fail_at(ps, ps->t.line, ps->t.col,
		               "comparisons do not chain; use 'and' or parentheses");
	return CS_OK;
}

static enum cs_err
parse_not(struct ps *ps, struct cs_pnode **out)
{
	struct cs_pnode *a, *n;
	struct tok at = ps->t;

	if (at.k != TK_NOT)
		return parse_cmp(ps, out);
	TRY(enter(ps));
	TRY(next(ps));
	TRY(parse_not(ps, &a));
	ps->depth--;
	TRY(want_bool(ps, a, "'not'"));
	TRY(binary(ps, N_NOT, 0, &at, a, NULL, &n));
	n->type = T_BOOL;
	*out = n;
	return CS_OK;
}

static enum cs_err
parse_and_or(struct ps *ps, enum tk op, struct cs_pnode **out)
{
	struct cs_pnode *a, *b, *n;

	if (op == TK_OR)
		TRY(parse_and_or(ps, TK_AND, &a));
	else
		TRY(parse_not(ps, &a));
	while (ps->t.k == op) {
		struct tok at = ps->t;
		TRY(next(ps));
		if (op == TK_OR)
			TRY(parse_and_or(ps, TK_AND, &b));
		else
			TRY(parse_not(ps, &b));
		TRY(want_bool(ps, a, op == TK_OR ? "'or'" : "'and'"));
		TRY(want_bool(ps, b, op == TK_OR ? "'or'" : "'and'"));
		TRY(binary(ps, op == TK_OR ? N_OR : N_AND, 0, &at, a, b, &n));
		n->type = T_BOOL;
		a = n;
	}
	*out = a;
	return CS_OK;
}

static enum cs_err
parse_expr(struct ps *ps, struct cs_pnode **out)
{
	TRY(enter(ps));
	TRY(parse_and_or(ps, TK_OR, out));
	ps->depth--;
	return CS_OK;
}

/* ---- statements ---- */

static enum cs_err
parse_header(struct ps *ps)
{
	struct cs_policy *pol = ps->pol;
	const char *target = "*";
	size_t tlen = 1;

	if (!tok_is(&ps->t, "policy"))
		return fail_at(ps, ps->t.line, ps->t.col,
		               "a policy starts with 'policy appraisal' or 'policy resource'");
	TRY(next(ps));
	if (tok_is(&ps->t, "appraisal"))
		pol->kind = CS_POLICY_APPRAISAL;
	else if (tok_is(&ps->t, "resource"))
		pol->kind = CS_POLICY_RESOURCE;
	else
		return fail_at(ps, ps->t.line, ps->t.col,
		               "expected 'appraisal' or 'resource' after 'policy'");
	TRY(next(ps));
	if (tok_is(&ps->t, "for")) {
		TRY(next(ps));
		if (ps->t.k != TK_STR)
			return fail_at(ps, ps->t.line, ps->t.col,
			               "expected a string after 'for', found %s",
			               tok_name(ps->t.k));
		if (ps->t.slen == 0 || ps->t.slen > CS_POLICY_MAX_PATTERN ||
		    memchr(ps->t.str, '\0', ps->t.slen) != NULL)
			return fail_at(ps, ps->t.line, ps->t.col,
			               "target must be 1 to %d bytes without NUL",
			               CS_POLICY_MAX_PATTERN);
		target = ps->t.str;
		tlen = ps->t.slen;
		TRY(next(ps));
	}
	if ((pol->target = malloc(tlen + 1)) == NULL)
		return CS_ERR_NOMEM;
	memcpy(pol->target, target, tlen);
	pol->target[tlen] = '\0';
	return expect(ps, TK_SEMI, "after the policy header");
}

static enum cs_err
parse_let(struct ps *ps)
{
	struct cs_policy *pol = ps->pol;
	struct tok name;
	struct cs_pnode *v, *dummy;
	struct cs_plet *lets;
	char *s;

	TRY(next(ps));
	name = ps->t;
	if (name.k != TK_IDENT)
		return fail_at(ps, name.line, name.col, "expected a name after 'let', found %s",
		               tok_name(name.k));
	/* A let may not hide another let or an input: every name means one thing. */
	TRY(resolve(ps, &name, &dummy));
	if (dummy->kind != N_CLAIM)
		return fail_at(ps, name.line, name.col, "'" NAMEF "' is already defined",
		               NAMEA(name.p, name.n));
	TRY(next(ps));
	TRY(expect(ps, TK_ASSIGN, "after the let's name"));
	TRY(parse_expr(ps, &v));
	TRY(expect(ps, TK_SEMI, "after the let"));
	if ((s = palloc(pol, name.n)) == NULL)
		return CS_ERR_NOMEM;
	memcpy(s, name.p, name.n);
	if ((lets = realloc(pol->lets, (pol->nlets + 1) * sizeof(*lets))) == NULL)
		return CS_ERR_NOMEM;
	pol->lets = lets;
	lets[pol->nlets].name = s;
	lets[pol->nlets].value = v;
	pol->nlets++;
	return CS_OK;
}

static enum cs_err
add_stmt(struct ps *ps, const struct cs_pstmt *st)
{
	struct cs_pstmt *v;

	if ((v = realloc(ps->pol->stmts, (ps->pol->nstmts + 1) * sizeof(*v))) == NULL)
		return CS_ERR_NOMEM;
	ps->pol->stmts = v;
	v[ps->pol->nstmts++] = *st;
	return CS_OK;
}

static enum cs_err
parse_cond(struct ps *ps, struct cs_pstmt *st)
{
	if (ps->t.k == TK_IF) {
		TRY(next(ps));
		TRY(parse_expr(ps, &st->cond));
		TRY(want_bool(ps, st->cond, "the condition"));
	}
	return expect(ps, TK_SEMI, "at the end of the statement");
}

/* Every {name} in a reason must name a let defined above the rule. */
static enum cs_err
check_reason(struct ps *ps, const struct tok *t)
{
	const char *s = t->str;

	for (size_t i = 0; i < t->slen; i++) {
		size_t j = i + 1;
		if (s[i] != '{')
			continue;
		while (j < t->slen && is_ident(s[j]))
			j++;
		if (j == i + 1 || j == t->slen || s[j] != '}')
			continue; /* not a placeholder: a literal brace */
		size_t k = 0;
		while (k < ps->pol->nlets &&
		       (strlen(ps->pol->lets[k].name) != j - i - 1 ||
		        memcmp(ps->pol->lets[k].name, s + i + 1, j - i - 1) != 0))
			k++;
		if (k == ps->pol->nlets)
			return fail_at(ps, t->line, t->col,
			               "reason names '{" NAMEF "}', not a let above",
			               NAMEA(s + i + 1, j - i - 1));
		i = j;
	}
	return CS_OK;
}

static enum cs_err
parse_rule(struct ps *ps)
{
	struct cs_pstmt st = {.line = ps->t.line, .col = ps->t.col};

	if (ps->pol->kind != CS_POLICY_RESOURCE)
		return fail_at(ps, ps->t.line, ps->t.col,
		               "allow and deny rules belong in resource policies");
	st.allow = ps->t.k == TK_ALLOW;
	TRY(next(ps));
	if (ps->t.k == TK_STR) {
		if (memchr(ps->t.str, '\0', ps->t.slen) != NULL || ps->t.slen > 200)
			return fail_at(ps, ps->t.line, ps->t.col,
			               "a reason is at most 200 bytes without NUL");
		st.reason = ps->t.str;
		TRY(check_reason(ps, &ps->t));
		TRY(next(ps));
	}
	TRY(parse_cond(ps, &st));
	return add_stmt(ps, &st);
}

static enum cs_err
parse_assign(struct ps *ps)
{
	struct cs_pstmt st = {.line = ps->t.line, .col = ps->t.col};
	size_t c;

	for (c = 0; c < CS_AR4SI_COUNT; c++)
		if (tok_is(&ps->t, ar4si_names[c]))
			break;
	if (ps->pol->kind != CS_POLICY_APPRAISAL) {
		if (ps->t.k == TK_IDENT)
			return fail_at(ps, ps->t.line, ps->t.col,
			               "expected 'allow', 'deny' or 'let', found '" NAMEF "'",
			               NAMEA(ps->t.p, ps->t.n));
		return fail_at(ps, ps->t.line, ps->t.col,
		               "expected 'allow', 'deny' or 'let', found %s", tok_name(ps->t.k));
	}
	if (ps->t.k != TK_IDENT)
		return fail_at(ps, ps->t.line, ps->t.col,
		               "expected a trust claim or 'let', found %s", tok_name(ps->t.k));
	if (c == CS_AR4SI_COUNT)
		return fail_at(ps, ps->t.line, ps->t.col, "unknown trust claim '" NAMEF "'",
		               NAMEA(ps->t.p, ps->t.n));
	st.claim = (uint8_t)c;
	TRY(next(ps));
	TRY(expect(ps, TK_ASSIGN, "after the trust claim"));
	TRY(parse_expr(ps, &st.value));
	if (known(st.value->type) && st.value->type != T_INT)
		return fail_at(ps, st.value->line, st.value->col,
		               "a trust claim takes an int, not %s", type_name(st.value->type));
	if (st.value->kind == N_INT && (st.value->i < -128 || st.value->i > 127))
		return fail_at(ps, st.value->line, st.value->col,
		               "trust claim values are -128 to 127");
	TRY(parse_cond(ps, &st));
	return add_stmt(ps, &st);
}

struct cs_policy *
cs_policy_ref(struct cs_policy *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void
cs_policy_free(struct cs_policy *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	for (struct cs_pnode *n = p->nodes, *nx; n != NULL; n = nx) {
		nx = n->next_alloc;
		json_decref(n->list);
		free(n);
	}
	for (struct cs_palloc *a = p->allocs, *ax; a != NULL; a = ax) {
		ax = a->next;
		free(a);
	}
	free(p->target);
	free(p->stmts);
	free(p->lets);
	free(p);
}

enum cs_err
cs_policy_compile(const char *src, size_t len, struct cs_policy **out, struct cs_policy_diag *diag)
{
	struct ps ps = {.src = src, .len = len, .line = 1, .diag = diag};
	enum cs_err err;

	*out = NULL;
	if (diag != NULL)
		memset(diag, 0, sizeof(*diag));
	if (src == NULL && len != 0)
		return CS_ERR_INVAL;
	if (len > CS_POLICY_MAX_SRC) {
		fail_at(&ps, 0, 0, "policy larger than %d bytes", CS_POLICY_MAX_SRC);
		return CS_ERR_TOO_LARGE;
	}
	if ((ps.pol = calloc(1, sizeof(*ps.pol))) == NULL)
		return CS_ERR_NOMEM;
	atomic_init(&ps.pol->refs, 1);
	ps.pol->kind = CS_POLICY_RESOURCE; /* until the header says */
	if ((err = next(&ps)) != CS_OK || (err = parse_header(&ps)) != CS_OK)
		goto out;
	while (ps.t.k != TK_EOF) {
		if (ps.t.k == TK_LET)
			err = parse_let(&ps);
		else if (ps.t.k == TK_ALLOW || ps.t.k == TK_DENY)
			err = parse_rule(&ps);
		else
			err = parse_assign(&ps);
		if (err != CS_OK)
			goto out;
	}
	if (ps.pol->nstmts == 0) {
		err = fail_at(&ps, ps.t.line, ps.t.col,
		              ps.pol->kind == CS_POLICY_RESOURCE
		                      ? "a resource policy needs at least one allow or deny rule"
		                      : "an appraisal policy needs at least one trust claim");
		goto out;
	}
	*out = ps.pol;
	ps.pol = NULL;
	err = CS_OK;
out:
	if (err == CS_ERR_NOMEM)
		fail_at(&ps, ps.t.line, ps.t.col, "out of memory");
	cs_policy_free(ps.pol);
	return err;
}

enum cs_policy_kind
cs_policy_kind(const struct cs_policy *p)
{
	return p->kind;
}

const char *
cs_policy_target(const struct cs_policy *p)
{
	return p->target;
}

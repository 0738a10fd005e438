/*
 * The evaluator: walks a compiled policy over one request's inputs. Every node visited costs one
 * step, and list walks, comparisons and lookups cost in proportion to their size, against a budget
 * that makes every evaluation finish; running out of it is an error like any other, and every
 * error denies (docs/policy.md §4). Nothing here writes anywhere but the evaluation's own context,
 * so a compiled policy can be evaluated concurrently.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "policy/ast.h"

#define MAX_EVAL_DEPTH 1024      /* recursion, lets included */
#define MAX_EVAL_BYTES (1 << 20) /* bytes that hex() may allocate per evaluation */

enum ev {
	EV_OK,
	EV_MISSING, /* a member or element that is not there: exists() and ?? catch it */
	EV_ERR,     /* a type error or bad value */
	EV_BUDGET,  /* out of steps, depth or memory: never caught */
	EV_NOMEM,
};

struct val {
	uint8_t t;     /* enum cs_pt, never T_ANY */
	int64_t i;     /* T_BOOL, T_INT */
	const char *p; /* T_STR, T_BYTES */
	size_t n;
	const json_t *j; /* T_LIST, T_OBJ */
};

struct letslot {
	int done;
	struct val v;
};

struct blob {
	struct blob *next;
	/* followed by the bytes */
};

struct ectx {
	const struct cs_policy *pol;
	const json_t *claims;
	json_t *path; /* owned: the path's segments */
	const char *respath;
	const json_t *query;
	json_t *empty; /* owned: stands in for an absent query */
	const char *tee;
	const struct cs_rv_source *rv;
	json_t *rvcache; /* owned: name -> values, one lookup per name per evaluation */
	json_t *owned;   /* owned: values built during the evaluation (keys()) */
	uint64_t steps;
	uint64_t budget;
	int depth;
	struct val *vars;
	struct letslot *lets;
	struct blob *blobs;
	size_t blob_bytes;
	uint32_t eline, ecol;
	char emsg[128];
};

static enum ev ev_fail(struct ectx *c, const struct cs_pnode *at, enum ev e, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static enum ev
ev_fail(struct ectx *c, const struct cs_pnode *at, enum ev e, const char *fmt, ...)
{
	va_list ap;

	c->eline = at->line;
	c->ecol = at->col;
	va_start(ap, fmt);
	vsnprintf(c->emsg, sizeof(c->emsg), fmt, ap);
	va_end(ap);
	return e;
}

#define NAMEF "%.*s"
#define NAMEA(p, n) (int)((n) > 40 ? 40 : (n)), (p)

static const char *
vtype_name(uint8_t t)
{
	static const char *const names[] = {"any",    "null",  "bool", "int",
	                                    "string", "bytes", "list", "object"};
	return names[t];
}

static enum ev
charge(struct ectx *c, const struct cs_pnode *at, uint64_t k)
{
	if (k > c->budget - c->steps) {
		c->steps = c->budget;
		return ev_fail(c, at, EV_BUDGET, "evaluation budget of %llu steps exhausted",
		               (unsigned long long)c->budget);
	}
	c->steps += k;
	return EV_OK;
}

static enum ev
from_json(struct ectx *c, const struct cs_pnode *at, const json_t *j, struct val *v)
{
	memset(v, 0, sizeof(*v));
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		v->t = T_OBJ;
		v->j = j;
		return EV_OK;
	case JSON_ARRAY:
		v->t = T_LIST;
		v->j = j;
		return EV_OK;
	case JSON_STRING:
		v->t = T_STR;
		v->p = json_string_value(j);
		v->n = json_string_length(j);
		return EV_OK;
	case JSON_INTEGER:
		v->t = T_INT;
		v->i = json_integer_value(j);
		return EV_OK;
	case JSON_TRUE:
		v->t = T_BOOL;
		v->i = 1;
		return EV_OK;
	case JSON_FALSE:
		v->t = T_BOOL;
		v->i = 0;
		return EV_OK;
	case JSON_NULL:
		v->t = T_NULL;
		return EV_OK;
	case JSON_REAL:
		break;
	}
	return ev_fail(c, at, EV_ERR, "a claim holds a non-integer number");
}

/* Bytes equal to the hex string s? A string that is not hex equals no bytes. */
static int
bytes_eq_hex(const char *b, size_t bn, const char *s, size_t sn)
{
	int eq = 1;

	if (sn != 2 * bn)
		return 0;
	for (size_t i = 0; i < bn; i++) {
		int hi = cs_policy_hexval((unsigned char)s[2 * i]),
		    lo = cs_policy_hexval((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		eq &= (uint8_t)b[i] == (uint8_t)(hi << 4 | lo);
	}
	return eq;
}

/* 1 equal, 0 not equal, -1 the types do not compare. */
static int
veq(const struct val *a, const struct val *b)
{
	if (a->t == T_NULL || b->t == T_NULL)
		return a->t == b->t;
	if (a->t == T_BYTES && b->t == T_STR)
		return bytes_eq_hex(a->p, a->n, b->p, b->n);
	if (a->t == T_STR && b->t == T_BYTES)
		return bytes_eq_hex(b->p, b->n, a->p, a->n);
	if (a->t != b->t)
		return -1;
	switch (a->t) {
	case T_BOOL:
	case T_INT:
		return a->i == b->i;
	case T_STR:
	case T_BYTES:
		return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
	default:
		return json_equal((json_t *)a->j, (json_t *)b->j);
	}
}

static uint64_t
vcost(const struct val *v)
{
	if (v->t == T_STR || v->t == T_BYTES)
		return v->n / 64;
	if (v->t == T_LIST)
		return json_array_size(v->j);
	if (v->t == T_OBJ)
		return json_object_size(v->j);
	return 0;
}

static enum ev eval(struct ectx *c, const struct cs_pnode *n, struct val *out);

static enum ev
eval_bool(struct ectx *c, const struct cs_pnode *n, int *out)
{
	struct val v;
	enum ev e = eval(c, n, &v);

	if (e != EV_OK)
		return e;
	if (v.t != T_BOOL)
		return ev_fail(c, n, EV_ERR, "expected a bool, got %s", vtype_name(v.t));
	*out = (int)v.i;
	return EV_OK;
}

static enum ev
eval_in(struct ectx *c, const struct cs_pnode *n, const struct val *x, const struct val *set,
        int *found)
{
	*found = 0;
	if (set->t == T_OBJ) {
		if (x->t != T_STR)
			return ev_fail(c, n, EV_ERR, "object keys are strings, not %s",
			               vtype_name(x->t));
		if (memchr(x->p, '\0', x->n) == NULL)
			*found = json_object_get(set->j, x->p) != NULL;
		return charge(c, n, 1 + x->n / 64);
	}
	if (set->t != T_LIST)
		return ev_fail(c, n, EV_ERR, "'in' needs a list or object, not %s",
		               vtype_name(set->t));
	size_t i;
	json_t *e;
	json_array_foreach(set->j, i, e)
	{
		struct val v;
		/* Elements of another type (or not representable) are simply not equal. */
		if (charge(c, n, 1 + vcost(x)) != EV_OK)
			return EV_BUDGET;
		if (json_typeof(e) == JSON_REAL)
			continue;
		if (from_json(c, n, e, &v) != EV_OK)
			continue;
		if (veq(x, &v) == 1) {
			*found = 1;
			break;
		}
	}
	return EV_OK;
}

static enum ev
eval_cmp(struct ectx *c, const struct cs_pnode *n, const struct val *a, const struct val *b,
         int *res)
{
	int r;

	if (n->op == OP_EQ || n->op == OP_NE) {
		if ((r = veq(a, b)) < 0)
			return ev_fail(c, n, EV_ERR, "cannot compare %s with %s", vtype_name(a->t),
			               vtype_name(b->t));
		*res = n->op == OP_EQ ? r : !r;
		return charge(c, n, vcost(a));
	}
	if (a->t != b->t || (a->t != T_INT && a->t != T_STR && a->t != T_BYTES))
		return ev_fail(c, n, EV_ERR, "cannot order %s against %s", vtype_name(a->t),
		               vtype_name(b->t));
	if (a->t == T_INT) {
		r = (a->i > b->i) - (a->i < b->i);
	} else {
		size_t m = a->n < b->n ? a->n : b->n;
		r = m ? memcmp(a->p, b->p, m) : 0;
		if (r == 0)
			r = (a->n > b->n) - (a->n < b->n);
	}
	switch (n->op) {
	case OP_LT:
		*res = r < 0;
		break;
	case OP_LE:
		*res = r <= 0;
		break;
	case OP_GT:
		*res = r > 0;
		break;
	default:
		*res = r >= 0;
		break;
	}
	return charge(c, n, vcost(a));
}

static enum ev
get_member(struct ectx *c, const struct cs_pnode *n, const struct val *obj, const char *key,
           size_t klen, struct val *out)
{
	const json_t *j;

	if (obj->t == T_NULL)
		return ev_fail(c, n, EV_MISSING, "no member '" NAMEF "' (the value is null)",
		               NAMEA(key, klen));
	if (obj->t != T_OBJ)
		return ev_fail(c, n, EV_ERR, "member '" NAMEF "' of a %s", NAMEA(key, klen),
		               vtype_name(obj->t));
	if (memchr(key, '\0', klen) != NULL || (j = json_object_get(obj->j, key)) == NULL)
		return ev_fail(c, n, EV_MISSING, "missing member '" NAMEF "'", NAMEA(key, klen));
	return from_json(c, n, j, out);
}

static enum ev
eval_index(struct ectx *c, const struct cs_pnode *n, struct val *out)
{
	struct val a, b;
	enum ev e;

	if ((e = eval(c, n->a, &a)) != EV_OK || (e = eval(c, n->b, &b)) != EV_OK)
		return e;
	if (b.t == T_STR)
		return get_member(c, n, &a, b.p, b.n, out);
	if (b.t != T_INT)
		return ev_fail(c, n, EV_ERR, "an index must be a string or int, not %s",
		               vtype_name(b.t));
	if (a.t == T_NULL)
		return ev_fail(c, n, EV_MISSING, "no element %lld (the value is null)",
		               (long long)b.i);
	if (a.t != T_LIST)
		return ev_fail(c, n, EV_ERR, "cannot index a %s with an int", vtype_name(a.t));
	if (b.i < 0 || (uint64_t)b.i >= json_array_size(a.j))
		return ev_fail(c, n, EV_MISSING, "no element %lld", (long long)b.i);
	return from_json(c, n, json_array_get(a.j, (size_t)b.i), out);
}

static enum ev
eval_rv(struct ectx *c, const struct cs_pnode *n, const struct val *name, struct val *out)
{
	json_t *vals;

	if (name->t != T_STR)
		return ev_fail(c, n, EV_ERR, "rv() takes a string, not %s", vtype_name(name->t));
	if (memchr(name->p, '\0', name->n) != NULL)
		return ev_fail(c, n, EV_ERR, "reference-value name with a NUL byte");
	if ((vals = json_object_get(c->rvcache, name->p)) == NULL) {
		vals = c->rv != NULL && c->rv->lookup != NULL
		               ? c->rv->lookup(c->rv->ctx, name->p, name->n, c->rv->now)
		               : NULL;
		/*
		 * Always a list: nothing found (or a store error) is the empty list, and a single
		 * value registered without a list around it (a configured number, say) is a list of
		 * one, so that `x in rv(...)` and rv(...)[0] mean one thing whatever was stored.
		 */
		if (vals == NULL) {
			vals = json_array();
		} else if (!json_is_array(vals)) {
			json_t *one = json_array();
			/* json_array_append_new takes vals even when it fails. */
			if (one == NULL) {
				json_decref(vals);
			} else if (json_array_append_new(one, vals) != 0) {
				json_decref(one);
				one = NULL;
			}
			vals = one;
		}
		if (vals == NULL)
			return EV_NOMEM;
		if (json_object_set_new(c->rvcache, name->p, vals) != 0)
			return EV_NOMEM;
	}
	out->t = T_LIST;
	out->j = vals;
	return charge(c, n, 8 + json_array_size(vals));
}

static enum ev
eval_hex(struct ectx *c, const struct cs_pnode *n, const struct val *s, struct val *out)
{
	struct blob *b;
	uint8_t *d;

	if (s->t != T_STR)
		return ev_fail(c, n, EV_ERR, "hex() takes a string, not %s", vtype_name(s->t));
	if (s->n % 2 != 0 || s->n / 2 > MAX_EVAL_BYTES - c->blob_bytes)
		return ev_fail(c, n, EV_ERR, "not a hex string (or too long)");
	if ((b = malloc(sizeof(*b) + s->n / 2 + 1)) == NULL)
		return EV_NOMEM;
	b->next = c->blobs;
	c->blobs = b;
	c->blob_bytes += s->n / 2;
	d = (uint8_t *)(b + 1);
	for (size_t i = 0; i < s->n / 2; i++) {
		int hi = cs_policy_hexval((unsigned char)s->p[2 * i]),
		    lo = cs_policy_hexval((unsigned char)s->p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ev_fail(c, n, EV_ERR, "not a hex string");
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	out->t = T_BYTES;
	out->p = (const char *)d;
	out->n = s->n / 2;
	return charge(c, n, s->n / 64);
}

static enum ev
eval_int(struct ectx *c, const struct cs_pnode *n, const struct val *s, struct val *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int neg = 0;

	out->t = T_INT;
	if (s->t == T_INT) {
		out->i = s->i;
		return EV_OK;
	}
	if (s->t != T_STR)
		return ev_fail(c, n, EV_ERR, "int() of a %s", vtype_name(s->t));
	if (s->n > 0 && s->p[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == s->n || s->n > 20)
		return ev_fail(c, n, EV_ERR, "not a decimal integer");
	for (; i < s->n; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return ev_fail(c, n, EV_ERR, "not a decimal integer");
		if (v > ((UINT64_C(1) << 63) - 9) / 10)
			return ev_fail(c, n, EV_ERR, "integer out of range");
		v = v * 10 + (uint64_t)(s->p[i] - '0');
	}
	out->i = neg ? -(int64_t)v : (int64_t)v;
	return EV_OK;
}

static enum ev
eval_keys(struct ectx *c, const struct cs_pnode *n, const struct val *obj, struct val *out)
{
	json_t *keys;
	void *it;

	if (obj->t != T_OBJ)
		return ev_fail(c, n, EV_ERR, "keys() of a %s", vtype_name(obj->t));
	/* Held by the evaluation (c->owned) until it ends. */
	if ((keys = json_array()) == NULL || json_array_append_new(c->owned, keys) != 0)
		return EV_NOMEM;
	it = json_object_iter((json_t *)obj->j);
	for (; it != NULL; it = json_object_iter_next((json_t *)obj->j, it))
		if (json_array_append_new(keys, json_string(json_object_iter_key(it))) != 0)
			return EV_NOMEM;
	out->t = T_LIST;
	out->j = keys;
	return charge(c, n, json_array_size(keys));
}

static enum ev
eval_call(struct ectx *c, const struct cs_pnode *n, struct val *out)
{
	struct val a, b;
	enum ev e;

	memset(out, 0, sizeof(*out));
	if (n->op == FN_EXISTS) {
		e = eval(c, n->a, &a);
		if (e == EV_MISSING) {
			c->emsg[0] = '\0';
			a.t = T_NULL;
		} else if (e != EV_OK) {
			return e;
		}
		out->t = T_BOOL;
		out->i = a.t != T_NULL;
		return EV_OK;
	}
	if ((e = eval(c, n->a, &a)) != EV_OK)
		return e;
	if (n->b != NULL && (e = eval(c, n->b, &b)) != EV_OK)
		return e;
	switch ((enum cs_pfn)n->op) {
	case FN_RV:
		return eval_rv(c, n, &a, out);
	case FN_HEX:
		return eval_hex(c, n, &a, out);
	case FN_INT:
		return eval_int(c, n, &a, out);
	case FN_LEN:
		out->t = T_INT;
		if (a.t == T_STR || a.t == T_BYTES)
			out->i = (int64_t)a.n;
		else if (a.t == T_LIST)
			out->i = (int64_t)json_array_size(a.j);
		else if (a.t == T_OBJ)
			out->i = (int64_t)json_object_size(a.j);
		else
			return ev_fail(c, n, EV_ERR, "len() of a %s", vtype_name(a.t));
		return EV_OK;
	case FN_GLOB:
	case FN_STARTS_WITH:
		if (a.t != T_STR || b.t != T_STR)
			return ev_fail(c, n, EV_ERR, "%s() takes strings",
			               n->op == FN_GLOB ? "glob" : "starts_with");
		/* Charged before the work: glob is O(len(s) * len(pattern)). */
		if ((e = charge(c, n,
		                n->op == FN_GLOB ? (a.n / 64 + 1) * (b.n / 64 + 1) : b.n / 64)) !=
		    EV_OK)
			return e;
		out->t = T_BOOL;
		if (n->op == FN_GLOB)
			out->i = cs_policy_glob(b.p, b.n, a.p, a.n);
		else
			out->i = b.n <= a.n && (b.n == 0 || memcmp(a.p, b.p, b.n) == 0);
		return EV_OK;
	case FN_KEYS:
		return eval_keys(c, n, &a, out);
	case FN_EXISTS:
		break;
	}
	return ev_fail(c, n, EV_ERR, "unknown function");
}

/* One step of a quantifier: binds the variable to el and runs the body into *r. */
static enum ev
quant_step(struct ectx *c, const struct cs_pnode *n, const json_t *el, int *r)
{
	enum ev e;

	if ((e = charge(c, n, 1)) != EV_OK || (e = from_json(c, n, el, &c->vars[n->slot])) != EV_OK)
		return e;
	return eval_bool(c, n->b, r);
}

static enum ev
eval_quant(struct ectx *c, const struct cs_pnode *n, struct val *out)
{
	struct val list;
	enum ev e;
	int want = n->kind != N_ALL; /* the body value that decides early */
	int r = !want;
	void *it;

	if ((e = eval(c, n->a, &list)) != EV_OK)
		return e;
	if (list.t != T_LIST && list.t != T_OBJ)
		return ev_fail(c, n, EV_ERR, "cannot iterate over a %s", vtype_name(list.t));
	/* Lists in order; objects in member order (jansson keeps the document's order). */
	if (list.t == T_LIST) {
		for (size_t i = 0; r != want && i < json_array_size(list.j); i++)
			if ((e = quant_step(c, n, json_array_get(list.j, i), &r)) != EV_OK)
				return e;
	} else {
		it = json_object_iter((json_t *)list.j);
		for (; r != want && it != NULL; it = json_object_iter_next((json_t *)list.j, it))
			if ((e = quant_step(c, n, json_object_iter_value(it), &r)) != EV_OK)
				return e;
	}
	if (n->kind == N_FIRST) {
		if (r != want)
			return ev_fail(c, n, EV_MISSING, "no element satisfies first()");
		*out = c->vars[n->slot]; /* the element that decided */
		return EV_OK;
	}
	out->t = T_BOOL;
	out->i = r;
	return EV_OK;
}

static enum ev
eval_node(struct ectx *c, const struct cs_pnode *n, struct val *out)
{
	struct val a, b;
	enum ev e;
	int r;

	memset(out, 0, sizeof(*out));
	switch ((enum cs_pn)n->kind) {
	case N_NULL:
		out->t = T_NULL;
		return EV_OK;
	case N_BOOL:
		out->t = T_BOOL;
		out->i = n->i;
		return EV_OK;
	case N_INT:
		out->t = T_INT;
		out->i = n->i;
		return EV_OK;
	case N_STR:
		out->t = T_STR;
		out->p = n->s;
		out->n = n->slen;
		return EV_OK;
	case N_LIST:
		out->t = T_LIST;
		out->j = n->list;
		return EV_OK;
	case N_CLAIMS:
		out->t = T_OBJ;
		out->j = c->claims;
		return EV_OK;
	case N_CLAIM:
		a.t = T_OBJ;
		a.j = c->claims;
		return get_member(c, n, &a, n->s, n->slen, out);
	case N_PATH:
		out->t = T_LIST;
		out->j = c->path;
		return EV_OK;
	case N_RESPATH:
		out->t = T_STR;
		out->p = c->respath;
		out->n = strlen(c->respath);
		return EV_OK;
	case N_QUERY:
		out->t = T_OBJ;
		out->j = c->query;
		return EV_OK;
	case N_TEE:
		out->t = T_STR;
		out->p = c->tee;
		out->n = strlen(c->tee);
		return EV_OK;
	case N_LET:
		if (!c->lets[n->slot].done) {
			/* Only successes are remembered: a caught miss must be able to recur. */
			if ((e = eval(c, c->pol->lets[n->slot].value, &c->lets[n->slot].v)) !=
			    EV_OK)
				return e;
			c->lets[n->slot].done = 1;
		}
		*out = c->lets[n->slot].v;
		return EV_OK;
	case N_VAR:
		*out = c->vars[n->slot];
		return EV_OK;
	case N_MEMBER:
		if ((e = eval(c, n->a, &a)) != EV_OK)
			return e;
		return get_member(c, n, &a, n->s, n->slen, out);
	case N_INDEX:
		return eval_index(c, n, out);
	case N_NOT:
		if ((e = eval_bool(c, n->a, &r)) != EV_OK)
			return e;
		out->t = T_BOOL;
		out->i = !r;
		return EV_OK;
	case N_AND:
	case N_OR:
		if ((e = eval_bool(c, n->a, &r)) != EV_OK)
			return e;
		if (r == (n->kind == N_AND) && (e = eval_bool(c, n->b, &r)) != EV_OK)
			return e;
		out->t = T_BOOL;
		out->i = r;
		return EV_OK;
	case N_CMP:
		if ((e = eval(c, n->a, &a)) != EV_OK || (e = eval(c, n->b, &b)) != EV_OK)
			return e;
		if ((e = eval_cmp(c, n, &a, &b, &r)) != EV_OK)
			return e;
		out->t = T_BOOL;
		out->i = r;
		return EV_OK;
	case N_IN:
	case N_NOTIN:
		if ((e = eval(c, n->a, &a)) != EV_OK || (e = eval(c, n->b, &b)) != EV_OK)
			return e;
		if ((e = eval_in(c, n, &a, &b, &r)) != EV_OK)
			return e;
		out->t = T_BOOL;
		out->i = n->kind == N_IN ? r : !r;
		return EV_OK;
	case N_COAL:
		e = eval(c, n->a, out);
		if (e == EV_MISSING || (e == EV_OK && out->t == T_NULL)) {
			c->emsg[0] = '\0';
			return eval(c, n->b, out);
		}
		return e;
	case N_CALL:
		return eval_call(c, n, out);
	case N_ANY:
	case N_ALL:
	case N_FIRST:
		return eval_quant(c, n, out);
	}
	return ev_fail(c, n, EV_ERR, "unknown node");
}

static enum ev
eval(struct ectx *c, const struct cs_pnode *n, struct val *out)
{
	enum ev e;

	if (c->depth >= MAX_EVAL_DEPTH)
		return ev_fail(c, n, EV_BUDGET, "evaluation nested too deeply");
	if ((e = charge(c, n, 1)) != EV_OK)
		return e;
	c->depth++;
	e = eval_node(c, n, out);
	c->depth--;
	return e;
}

static void
ectx_fini(struct ectx *c)
{
	for (struct blob *b = c->blobs, *nx; b != NULL; b = nx) {
		nx = b->next;
		free(b);
	}
	json_decref(c->path);
	json_decref(c->empty);
	json_decref(c->rvcache);
	json_decref(c->owned);
	free(c->vars);
	free(c->lets);
}

static enum cs_err
ectx_init(struct ectx *c, const struct cs_policy *p, const json_t *claims, uint64_t budget,
          const struct cs_rv_source *rv)
{
	memset(c, 0, sizeof(*c));
	c->pol = p;
	c->claims = claims;
	c->rv = rv;
	c->budget = budget ? budget : CS_POLICY_BUDGET;
	c->respath = "";
	c->tee = "";
	c->vars = calloc(p->nvars + 1, sizeof(*c->vars));
	c->lets = calloc(p->nlets + 1, sizeof(*c->lets));
	c->rvcache = json_object();
	c->owned = json_array();
	c->empty = json_object();
	c->path = json_array();
	if (c->vars == NULL || c->lets == NULL || c->rvcache == NULL || c->owned == NULL ||
	    c->empty == NULL || c->path == NULL)
		return CS_ERR_NOMEM;
	c->query = c->empty;
	return CS_OK;
}

/* Replaces every byte that is not part of valid UTF-8 (a sequence cut by truncation) with '?'. */
static void
utf8_fix(char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t k = cs_policy_utf8_len((const uint8_t *)s + i, n - i);
		if (k == 0) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
}

/* Appends a value to a reason: printable ASCII of strings (64 bytes at most), numbers, names. */
static void
put_value(struct cs_buf *b, const struct val *v)
{
	enum cs_err e = CS_OK;

	switch (v->t) {
	case T_STR:
		for (size_t i = 0; i < v->n && i < 64 && e == CS_OK; i++)
			e = cs_buf_putc(b,
			                v->p[i] >= 0x20 && v->p[i] < 0x7f ? (uint8_t)v->p[i] : '?');
		break;
	case T_INT:
		e = cs_buf_printf(b, "%lld", (long long)v->i);
		break;
	case T_BOOL:
		e = cs_buf_append_str(b, v->i ? "true" : "false");
		break;
	default:
		e = cs_buf_printf(b, "<%s>", vtype_name(v->t));
		break;
	}
	(void)e; /* a reason cut at the cap is still a reason */
}

/* Expands {let} placeholders (checked at compile time) into out; a failing let shows as "?". */
static void
format_reason(struct ectx *c, const char *tpl, char *out, size_t outlen)
{
	struct cs_buf b;
	size_t n = strlen(tpl);

	cs_buf_init(&b, outlen - 1);
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1, k = 0;
		while (j < n &&
		       ((tpl[j] >= 'a' && tpl[j] <= 'z') || (tpl[j] >= 'A' && tpl[j] <= 'Z') ||
		        (tpl[j] >= '0' && tpl[j] <= '9') || tpl[j] == '_' || tpl[j] == '-'))
			j++;
		if (tpl[i] == '{' && j > i + 1 && j < n && tpl[j] == '}') {
			while (k < c->pol->nlets &&
			       (strlen(c->pol->lets[k].name) != j - i - 1 ||
			        memcmp(c->pol->lets[k].name, tpl + i + 1, j - i - 1)))
				k++;
		}
		if (tpl[i] != '{' || j == i + 1 || j >= n || tpl[j] != '}' || k == c->pol->nlets) {
			if (cs_buf_putc(&b, (uint8_t)tpl[i]) != CS_OK)
				break; /* a reason cut at the cap is still a reason */
			continue;
		}
		struct val v;
		if (!c->lets[k].done && eval(c, c->pol->lets[k].value, &c->lets[k].v) == EV_OK)
			c->lets[k].done = 1;
		v = c->lets[k].v;
		if (c->lets[k].done)
			put_value(&b, &v);
		else if (cs_buf_putc(&b, '?') != CS_OK)
			break;
		i = j;
	}
	snprintf(out, outlen, "%s", b.p != NULL ? (const char *)b.p : "");
	cs_buf_fini(&b);
	utf8_fix(out);
}

/* An evaluation failure as an error code and a reason ("policy error at L:C: why"). */
static enum cs_err
fold_error(struct ectx *c, enum ev e, char *reason, size_t rlen)
{
	if (e == EV_NOMEM) {
		snprintf(reason, rlen, "out of memory while evaluating the policy");
		return CS_ERR_NOMEM;
	}
	snprintf(reason, rlen, "policy error at %u:%u: %s", (unsigned)c->eline, (unsigned)c->ecol,
	         c->emsg);
	utf8_fix(reason);
	return e == EV_BUDGET ? CS_ERR_TOO_LARGE : CS_ERR_POLICY;
}

/* Runs one condition (NULL: true), folding every failure into err and a reason. */
static enum cs_err
run_cond(struct ectx *c, const struct cs_pnode *cond, int *r, char *reason, size_t rlen)
{
	enum ev e;

	*r = 1;
	if (cond == NULL)
		return CS_OK;
	e = eval_bool(c, cond, r);
	return e == EV_OK ? CS_OK : fold_error(c, e, reason, rlen);
}

enum cs_err
cs_policy_eval_resource(const struct cs_policy *p, const struct cs_resource_in *in,
                        struct cs_decision *out)
{
	enum cs_err err = CS_ERR_DENIED; /* default deny */
	struct ectx c;
	const struct cs_pstmt *hit = NULL;

	if (out == NULL)
		return CS_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	snprintf(out->reason, sizeof(out->reason), "denied");
	if (p == NULL || in == NULL || in->claims == NULL || in->path == NULL ||
	    p->kind != CS_POLICY_RESOURCE)
		return CS_ERR_INVAL;
	if ((out->eval_err = ectx_init(&c, p, in->claims, in->budget, in->rv)) != CS_OK)
		goto out;
	c.respath = in->path;
	if (in->query != NULL) {
		if (!json_is_object(in->query)) {
			out->eval_err = CS_ERR_INVAL;
			goto out;
		}
		c.query = in->query;
	}
	for (const char *s = in->path, *e;; s = e + 1) {
		e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (json_array_append_new(c.path, json_stringn(s, n)) != 0) {
			out->eval_err = CS_ERR_NOMEM;
			goto out;
		}
		if (e == NULL)
			break;
	}
	if (!json_is_object(in->claims)) {
		out->eval_err = CS_ERR_POLICY;
		snprintf(out->reason, sizeof(out->reason), "token claims are not an object");
		goto out;
	}
	/* Deny rules first, then allow rules, each in source order; the first that holds decides.
	 */
	for (int pass = 0; pass < 2 && hit == NULL; pass++) {
		for (size_t i = 0; i < p->nstmts && hit == NULL; i++) {
			const struct cs_pstmt *st = &p->stmts[i];
			int r;
			if (st->allow != pass)
				continue;
			out->eval_err =
			        run_cond(&c, st->cond, &r, out->reason, sizeof(out->reason));
			if (out->eval_err != CS_OK) {
				out->line = c.eline;
				out->col = c.ecol;
				goto out;
			}
			if (r)
				hit = st;
		}
	}
	if (hit == NULL) {
		snprintf(out->reason, sizeof(out->reason), "no rule allows this resource");
		goto out;
	}
	out->line = hit->line;
	out->col = hit->col;
	if (hit->reason != NULL)
		format_reason(&c, hit->reason, out->reason, sizeof(out->reason));
	else
		snprintf(out->reason, sizeof(out->reason), "%s by the rule at %u:%u",
		         hit->allow ? "allowed" : "denied", (unsigned)hit->line,
		         (unsigned)hit->col);
	if (!hit->allow)
		goto out;
	out->allow = true;
	err = CS_OK; /* the only line that grants access */
out:
	out->steps = c.steps;
	ectx_fini(&c);
	return err;
}

enum cs_err
cs_policy_eval_appraisal(const struct cs_policy *p, const struct cs_appraisal_in *in,
                         struct cs_appraisal *out)
{
	enum cs_err err = CS_ERR_POLICY;
	struct ectx c;
	int8_t tv[CS_AR4SI_COUNT] = {0};

	if (out == NULL)
		return CS_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	memset(out->tv, CS_AR4SI_FAILED, sizeof(out->tv));
	out->status = CS_TIER_CONTRAINDICATED;
	if (p == NULL || in == NULL || in->claims == NULL || p->kind != CS_POLICY_APPRAISAL)
		return CS_ERR_INVAL;
	if ((err = ectx_init(&c, p, in->claims, in->budget, in->rv)) != CS_OK)
		goto out;
	if (in->tee != NULL)
		c.tee = in->tee;
	if (!json_is_object(in->claims)) {
		snprintf(out->reason, sizeof(out->reason), "claims are not an object");
		err = CS_ERR_POLICY;
		goto out;
	}
	/* Statements run in source order; a later one that holds overrides an earlier one. */
	for (size_t i = 0; i < p->nstmts; i++) {
		const struct cs_pstmt *st = &p->stmts[i];
		struct val v;
		enum ev e;
		int r;

		if ((err = run_cond(&c, st->cond, &r, out->reason, sizeof(out->reason))) != CS_OK)
			goto out;
		if (!r)
			continue;
		if ((e = eval(&c, st->value, &v)) == EV_OK && v.t != T_INT)
			e = ev_fail(&c, st->value, EV_ERR, "a trust claim takes an int, not %s",
			            vtype_name(v.t));
		if (e == EV_OK && (v.i < -128 || v.i > 127))
			e = ev_fail(&c, st->value, EV_ERR, "trust claim value out of range");
		if (e != EV_OK) {
			err = fold_error(&c, e, out->reason, sizeof(out->reason));
			goto out;
		}
		tv[st->claim] = (int8_t)v.i;
	}
	memcpy(out->tv, tv, sizeof(tv));
	out->status = cs_policy_vector_tier(tv);
	err = CS_OK;
out:
	out->eval_err = err;
	out->steps = c.steps;
	ectx_fini(&c);
	return err;
}

enum cs_policy_tier
cs_policy_claim_tier(int v)
{
	/* AR4SI §2.3.3 as veraison/rust-ear's TrustTier: the negative bands are shifted by one. */
	if (v >= -1 && v <= 1)
		return CS_TIER_NONE;
	if ((v >= 2 && v <= 31) || (v >= -32 && v <= -2))
		return CS_TIER_AFFIRMING;
	if ((v >= 32 && v <= 95) || (v >= -96 && v <= -33))
		return CS_TIER_WARNING;
	return CS_TIER_CONTRAINDICATED;
}

enum cs_policy_tier
cs_policy_vector_tier(const int8_t tv[CS_AR4SI_COUNT])
{
	enum cs_policy_tier s = CS_TIER_NONE;

	for (size_t i = 0; i < CS_AR4SI_COUNT; i++)
		if (cs_policy_claim_tier(tv[i]) > s)
			s = cs_policy_claim_tier(tv[i]);
	return s;
}

const char *
cs_policy_tier_name(enum cs_policy_tier s)
{
	switch (s) {
	case CS_TIER_AFFIRMING:
		return "affirming";
	case CS_TIER_WARNING:
		return "warning";
	case CS_TIER_CONTRAINDICATED:
		return "contraindicated";
	default:
		return "none";
	}
}

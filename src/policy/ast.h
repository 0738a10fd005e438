/*
 * Internal to src/policy: the compiled form of a policy, shared by the parser (parse.c) and the
 * evaluator (eval.c). Not part of the contract; use policy.h.
 */
#ifndef CS_POLICY_AST_H
#define CS_POLICY_AST_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "policy/policy.h"

/* Static types; T_ANY is "known only at evaluation" (claims, query members). */
enum cs_pt {
	T_ANY,
	T_NULL,
	T_BOOL,
	T_INT,
	T_STR,
	T_BYTES,
	T_LIST,
	T_OBJ,
};

enum cs_pn {
	N_NULL,
	N_BOOL,    /* i */
	N_INT,     /* i */
	N_STR,     /* s, slen */
	N_LIST,    /* list: a constant JSON array */
	N_CLAIM,   /* s, slen: a top-level claim */
	N_CLAIMS,  /* the whole claims object */
	N_PATH,    /* resource path segments, a list */
	N_RESPATH, /* the resource path as one string */
	N_QUERY,   /* the request query, an object */
	N_TEE,     /* the TEE type, a string */
	N_LET,     /* slot: a let binding */
	N_VAR,     /* slot: a quantifier variable */
	N_MEMBER,  /* a.s: member by constant name */
	N_INDEX,   /* a[b]: member by string or element by int */
	N_NOT,     /* not a */
	N_AND,     /* a and b */
	N_OR,      /* a or b */
	N_CMP,     /* a op b, op one of enum cs_pop */
	N_IN,      /* a in b */
	N_NOTIN,   /* a not in b */
	N_COAL,    /* a ?? b */
	N_CALL,    /* op: builtin; a, b: arguments */
	N_ANY,     /* any(var slot in a : b) */
	N_ALL,     /* all(var slot in a : b) */
	N_FIRST,   /* first(var slot in a : b): the first element for which b holds */
};

enum cs_pop { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

enum cs_pfn { FN_RV, FN_HEX, FN_INT, FN_LEN, FN_EXISTS, FN_GLOB, FN_STARTS_WITH, FN_KEYS };

struct cs_pnode {
	uint8_t kind; /* enum cs_pn */
	uint8_t op;   /* enum cs_pop or enum cs_pfn */
	uint8_t type; /* enum cs_pt, the static type */
	uint16_t h;   /* height of the subtree */
	uint32_t line;
	uint32_t col;
	uint32_t slot;
	int64_t i;
	const char *s; /* owned by the policy's allocation list */
	size_t slen;
	json_t *list; /* owned (N_LIST) */
	struct cs_pnode *a, *b;
	struct cs_pnode *next_alloc; /* every node, for freeing */
};

/* A resource rule or an appraisal assignment. */
struct cs_pstmt {
	uint8_t allow; /* resource: 1 allow, 0 deny */
	uint8_t claim; /* appraisal: enum cs_ar4si */
	uint32_t line; /* of the statement's first token */
	uint32_t col;
	const char *reason;     /* resource: the rule's reason, or NULL */
	struct cs_pnode *value; /* appraisal: the value */
	struct cs_pnode *cond;  /* NULL: unconditional */
};

struct cs_plet {
	const char *name;
	struct cs_pnode *value;
};

struct cs_palloc {
	struct cs_palloc *next;
	/* followed by the allocation */
};

struct cs_policy {
	_Atomic unsigned refs; /* cs_policy_ref / cs_policy_free */
	enum cs_policy_kind kind;
	char *target;           /* owned */
	struct cs_pstmt *stmts; /* owned */
	size_t nstmts;
	struct cs_plet *lets; /* owned */
	size_t nlets;
	uint32_t nvars; /* quantifier variable slots */
	size_t nnodes;
	struct cs_pnode *nodes;   /* every node (through next_alloc) */
	struct cs_palloc *allocs; /* strings */
};

/* The value of a hex digit (either case), -1 for anything else. */
static inline int
cs_policy_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the UTF-8 sequence at p (n bytes left), 0 if invalid (RFC 3629 §4). */
static inline size_t
cs_policy_utf8_len(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t k;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, c = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t j = 1; j < k; j++) {
		if ((p[j] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[j] & 0x3f);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return k;
}

#endif

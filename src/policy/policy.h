/*
 * The custos policy language (docs/policy.md): a small, deterministic, side-effect-free language
 * for the two decisions the broker makes.
 *
 *   appraisal policies: the claims of one submodule + reference values -> the eight AR4SI trust
 *                       claims (draft-ietf-rats-ar4si §2.3), hence ear.status;
 *   resource policies:  the token's claims + resource path + request query -> allow or deny, with
 *                       a reason.
 *
 * A policy is compiled once (syntax and type errors carry line:column) and evaluated many times.
 * Evaluation always terminates: every step is counted against a budget, and running out of it, or
 * any other evaluation error, denies (resource) or yields a contraindicated vector (appraisal).
 * Compiled policies are immutable, so one may be evaluated from many threads at once.
 */
#ifndef CS_POLICY_POLICY_H
#define CS_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CS_POLICY_MAX_SRC (64 * 1024) /* policy source bytes */
#define CS_POLICY_MAX_DEPTH 64        /* expression nesting */
#define CS_POLICY_MAX_NODES 16384     /* syntax-tree nodes per policy */
#define CS_POLICY_BUDGET 100000       /* default evaluation steps */
#define CS_POLICY_MAX_PATTERN 256     /* bytes of a resource path pattern */

enum cs_policy_kind {
	CS_POLICY_APPRAISAL = 1,
	CS_POLICY_RESOURCE = 2,
};

/* Where and why compilation failed. line and col are 1-based; col counts bytes. */
struct cs_policy_diag {
	uint32_t line;
	uint32_t col;
	char msg[160]; /* fixed text plus names from the policy itself; NUL-terminated */
};

struct cs_policy;

/*
 * Compiles policy source (src, len) (borrows). On CS_OK returns an owned policy through *out.
 * On CS_ERR_POLICY (syntax or type error) fills *diag when diag is not NULL. CS_ERR_TOO_LARGE
 * when len > CS_POLICY_MAX_SRC or the tree exceeds CS_POLICY_MAX_NODES.
 */
CS_MUST_USE enum cs_err cs_policy_compile(const char *src, size_t len, struct cs_policy **out,
                                          struct cs_policy_diag *diag);

/*
 * For the admin API at upload: CS_OK when (src, len) compiles to a policy of kind; otherwise
 * CS_ERR_POLICY (or CS_ERR_TOO_LARGE) with "LINE:COL: message" in detail (NUL-terminated, cut to
 * detail_len), for a 400 body. Nothing is kept.
 */
CS_MUST_USE enum cs_err cs_policy_check(const char *src, size_t len, enum cs_policy_kind kind,
                                        char *detail, size_t detail_len);

/* Another reference to p (compiled policies are shared, e.g. by the cache); returns p. */
struct cs_policy *cs_policy_ref(struct cs_policy *p);

/* Drops a reference (takes p); the last one frees. NULL is a no-op. */
void cs_policy_free(struct cs_policy *p);

/*
 * Compiles (src, len), or returns the policy compiled earlier from the same bytes, from a
 * process-wide cache (64 policies, least recently used out first; thread-safe). *out is a new
 * reference (cs_policy_free). Errors as cs_policy_compile; failures are not cached. The broker
 * fetches policy text per request, so that an update is effective on the next request, and this
 * keeps it from compiling the same text each time.
 */
CS_MUST_USE enum cs_err cs_policy_compile_cached(const char *src, size_t len,
                                                 struct cs_policy **out,
                                                 struct cs_policy_diag *diag);

enum cs_policy_kind cs_policy_kind(const struct cs_policy *p);

/*
 * The header's `for` target, borrowed from p: a resource path pattern for resource policies, a
 * TEE name for appraisal policies; "*" when the header names none.
 */
const char *cs_policy_target(const struct cs_policy *p);

/*
 * Reference values, as policies see them through rv("name"). lookup returns a new reference to the
 * JSON value registered under (name, len) that has not expired at `now` (RVPS registers arrays of
 * strings; a configured value may be any JSON), or NULL when there is none. rv() always yields a
 * list: the array itself, a one-element list around any other value, the empty list for NULL. A
 * lookup must not fail open: on a storage error return NULL.
 */
struct cs_rv_source {
	json_t *(*lookup)(void *ctx, const char *name, size_t len, int64_t now);
	void *ctx;
	int64_t now; /* evaluation time, Unix seconds */
};

/* Inputs of a resource decision; everything borrowed. */
struct cs_resource_in {
	const json_t *claims;          /* the verified token's claims (an object) */
	const char *path;              /* "repo/type/tag", already checked by the KBS' grammar */
	const json_t *query;           /* object of string values, or NULL */
	const struct cs_rv_source *rv; /* NULL: rv() is always empty */
	uint64_t budget;               /* evaluation steps; 0: CS_POLICY_BUDGET */
};

struct cs_decision {
	bool allow;
	enum cs_err eval_err; /* CS_OK, or why evaluation failed (and so denied) */
	uint32_t line;        /* the deciding rule (0 when no rule matched) */
	uint32_t col;
	uint64_t steps;   /* evaluation steps spent */
	char reason[256]; /* for the RFC 7807 detail and the audit log; claim values only where the
	                     policy's reason names them ({let}), as printable ASCII */
	/* Which policy decided, for the audit log (cs_policy_decide, cs_policy_store_decide): */
	long policy;             /* index into the texts given (deciding or broken); -1: built-in */
	char policy_id[64];      /* cs_policy_store_decide: the store id ("" for the built-in) */
	uint64_t policy_version; /* cs_policy_store_decide: its version (0 for the built-in) */
};

/*
 * Decides a resource request under p (a resource policy). Returns CS_OK only when allowed;
 * CS_ERR_DENIED when denied for any reason (a deny rule, no allow rule, an evaluation error, the
 * budget), with out->reason saying why; CS_ERR_INVAL for a missing input or an appraisal policy.
 */
CS_MUST_USE enum cs_err cs_policy_eval_resource(const struct cs_policy *p,
                                                const struct cs_resource_in *in,
                                                struct cs_decision *out);

/* The AR4SI trust vector, in this order (Trustee's ear.trustworthiness-vector member names). */
enum cs_ar4si {
	CS_AR4SI_INSTANCE_IDENTITY,
	CS_AR4SI_CONFIGURATION,
	CS_AR4SI_EXECUTABLES,
	CS_AR4SI_FILE_SYSTEM,
	CS_AR4SI_HARDWARE,
	CS_AR4SI_RUNTIME_OPAQUE,
	CS_AR4SI_STORAGE_OPAQUE,
	CS_AR4SI_SOURCED_DATA,
	CS_AR4SI_COUNT
};

/* "instance-identity", ... ; NULL out of range. */
const char *cs_ar4si_name(enum cs_ar4si c);

/* ear.status tiers, valued as the lowest claim value of each tier (as veraison/rust-ear does). */
enum cs_policy_tier {
	CS_TIER_NONE = 0,
	CS_TIER_AFFIRMING = 2,
	CS_TIER_WARNING = 32,
	CS_TIER_CONTRAINDICATED = 96,
};

/*
 * The tier of one claim value: -1..1 none; 2..31 and -32..-2 affirming; 32..95 and -96..-33
 * warning; the rest contraindicated.
 */
enum cs_policy_tier cs_policy_claim_tier(int v);

/* ear.status of a vector: its worst tier (none < affirming < warning < contraindicated). */
enum cs_policy_tier cs_policy_vector_tier(const int8_t tv[CS_AR4SI_COUNT]);

/* "none", "affirming", "warning", "contraindicated". */
const char *cs_policy_tier_name(enum cs_policy_tier s);

/* Inputs of an appraisal; everything borrowed. */
struct cs_appraisal_in {
	const json_t *claims;          /* one submodule's verified claims (annotated evidence) */
	const char *tee;               /* "sample", "snp", ... */
	const struct cs_rv_source *rv; /* NULL: rv() is always empty */
	uint64_t budget;               /* 0: CS_POLICY_BUDGET */
};

struct cs_appraisal {
	int8_t tv[CS_AR4SI_COUNT];
	enum cs_policy_tier status;
	enum cs_err eval_err; /* CS_OK, or why evaluation failed */
	uint64_t steps;
	char reason[256]; /* on an evaluation error: where and why */
	/* Which policy appraised, for the audit log (cs_policy_appraise, cs_policy_store_appraise):
	 */
	long policy;             /* index into the texts given (used or broken); -1: built-in */
	char policy_id[64];      /* cs_policy_store_appraise: the store id ("" for the built-in) */
	uint64_t policy_version; /* cs_policy_store_appraise: its version (0 for the built-in) */
};

/* Value every claim gets when appraisal evaluation fails (AR4SI: contraindicated). */
#define CS_AR4SI_FAILED 96

/*
 * Appraises one submodule under p (an appraisal policy). Claims no statement assigns are 0. On
 * CS_OK, out->tv and out->status hold the result. On an evaluation error returns CS_ERR_POLICY (or
 * CS_ERR_TOO_LARGE for the budget) and fails closed: every claim CS_AR4SI_FAILED, status
 * contraindicated, out->reason saying where and why; the caller may still issue that result.
 */
CS_MUST_USE enum cs_err cs_policy_eval_appraisal(const struct cs_policy *p,
                                                 const struct cs_appraisal_in *in,
                                                 struct cs_appraisal *out);

/*
 * Path patterns. `*` matches any run of characters, `/` included; everything else matches
 * itself. Matching is greedy-leftmost without backtracking over stars, O(len(pattern) * len(s)).
 */
bool cs_policy_glob(const char *pat, size_t plen, const char *s, size_t slen);

/*
 * Of n patterns (borrowed), the index of the most specific one that matches path, or -1.
 * Specificity: a pattern without `*` beats any with one; then more literal characters; then fewer
 * stars; then the byte-wise smaller pattern, so that the choice never depends on the order given.
 */
long cs_policy_select(const char *const *patterns, size_t n, const char *path);

/*
 * Adapts a name-only reference-value lookup (the shape of Trustee's query_reference_value, which
 * applies expiry itself) to a cs_rv_source; g is borrowed for the source's lifetime and g->get
 * may be NULL (no reference values).
 */
struct cs_rv_getter {
	json_t *(*get)(void *ctx, const char *name); /* new reference or NULL */
	void *ctx;
};
struct cs_rv_source cs_rv_source_getter(const struct cs_rv_getter *g, int64_t now);

/*
 * The broker's resource decision over the stored resource policies: texts[i] (lens[i] bytes,
 * borrowed) for i < n, compiled through the cache. The one whose pattern most specifically
 * matches in->path decides (cs_policy_select); when none matches, the built-in default. Fails
 * closed: a stored text that does not compile, or is not a resource policy, denies every request
 * (its pattern is unknown) with a reason saying so. Returns as cs_policy_eval_resource.
 */
CS_MUST_USE enum cs_err cs_policy_decide(const char *const *texts, const size_t *lens, size_t n,
                                         const struct cs_resource_in *in, struct cs_decision *out);

/*
 * The broker's appraisal of one submodule: of the stored appraisal policies texts[i] (lens[i]
 * bytes, borrowed), the one for in->tee, else one for "*", else the built-in default for in->tee.
 * A stored text that does not compile or is not an appraisal policy fails closed (every claim
 * CS_AR4SI_FAILED, CS_ERR_POLICY). Returns as cs_policy_eval_appraisal.
 */
CS_MUST_USE enum cs_err cs_policy_appraise(const char *const *texts, const size_t *lens, size_t n,
                                           const struct cs_appraisal_in *in,
                                           struct cs_appraisal *out);

/*
 * The built-in policies' source (static, never freed): the default resource policy (release only
 * when every submodule is affirming), and the default appraisal policy for a TEE type (a generic
 * one — Trustee's default_cpu defaults, nothing affirmed — for a type that has none of its own).
 */
const char *cs_policy_default_resource(void);
const char *cs_policy_default_appraisal(const char *tee);

#endif

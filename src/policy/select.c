/*
 * Resource path patterns and the choice of the most specific policy for a path. A pattern is
 * literal text with `*` wildcards (each matching any run of characters, `/` included); there are
 * no other metacharacters, so matching needs no backtracking engine: the literal pieces between
 * stars are found left to right, each at its leftmost position, which is optimal for star-only
 * globs (a later piece can only gain from an earlier piece ending sooner).
 */
#include <string.h>

#include "policy/policy.h"

/* Leftmost occurrence of (p, n) in (s, slen) at or after from; slen + 1 if none. */
static size_t
find(const char *s, size_t slen, size_t from, const char *p, size_t n)
{
	if (n == 0)
		return from;
	for (size_t i = from; i < slen && slen - i >= n; i++)
		if (s[i] == p[0] && memcmp(s + i, p, n) == 0)
			return i;
	return slen + 1;
}

bool
cs_policy_glob(const char *pat, size_t plen, const char *s, size_t slen)
{
	const char *star = memchr(pat, '*', plen);
	size_t pre, pos, last, lastlen;

	if (star == NULL)
		return plen == slen && memcmp(pat, s, plen) == 0;
	/* The piece before the first star is a prefix, the piece after the last one a suffix. */
	pre = (size_t)(star - pat);
	if (pre > slen || memcmp(pat, s, pre) != 0)
		return false;
	last = plen;
	while (pat[last - 1] != '*')
		last--;
	lastlen = plen - last;
	if (lastlen > slen - pre || memcmp(pat + last, s + slen - lastlen, lastlen) != 0)
		return false;
	/* The middle pieces, in order, inside s[pre, slen - lastlen). */
	pos = pre;
	for (size_t i = pre + 1; i < last;) {
		size_t j = i;
		while (j < last && pat[j] != '*')
			j++;
		size_t at = find(s, slen - lastlen, pos, pat + i, j - i);
		if (at > slen - lastlen)
			return false;
		pos = at + (j - i);
		i = j + 1;
	}
	return true;
}

/* <0 when a is more specific than b. */
static int
specificity_cmp(const char *a, const char *b)
{
	size_t sa = 0, sb = 0, la = strlen(a), lb = strlen(b);

	for (size_t i = 0; i < la; i++)
		sa += a[i] == '*';
	for (size_t i = 0; i < lb; i++)
		sb += b[i] == '*';
	if ((sa == 0) != (sb == 0))
		return sa == 0 ? -1 : 1;
	if (la - sa != lb - sb)
		return la - sa > lb - sb ? -1 : 1;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return strcmp(a, b);
}

long
cs_policy_select(const char *const *patterns, size_t n, const char *path)
{
	long best = -1;
	size_t plen = strlen(path);

	for (size_t i = 0; i < n; i++) {
		if (patterns[i] == NULL ||
		    !cs_policy_glob(patterns[i], strlen(patterns[i]), path, plen))
			continue;
		if (best < 0 || specificity_cmp(patterns[i], patterns[best]) < 0)
			best = (long)i;
	}
	return best;
}

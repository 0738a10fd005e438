/*
 * init_data_claims: the [data] table of Trustee's init-data TOML (research/trustee.md §1, "parsed
 * data exposed in the token as init_data_claims"), for the subset Trustee's own documents use:
 * comments, blank lines, `key = 'literal'`, `key = "basic"` without escapes, multi-line
 * literal ''' ... ''' and multi-line basic """ ... """ without backslashes, bare or quoted keys,
 * the root table and one [data] table. Anything else (escapes, numbers, arrays, inline or other
 * tables, dotted keys, CR inside a multi-line string) is refused with CS_ERR_UNSUPPORTED rather
 * than guessed at; malformed TOML is CS_ERR_INVAL.
 */
#include <stdbool.h>
#include <string.h>

#include "attest/rcar.h"

struct tp {
	const char *s;
	size_t n, i;
};

static void
blanks(struct tp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
		p->i++;
}

/* After a key/value or header: blanks, an optional comment, then a newline or the end. */
static enum cs_err
line_end(struct tp *p)
{
	blanks(p);
	if (p->i < p->n && p->s[p->i] == '#')
		while (p->i < p->n && p->s[p->i] != '\n')
			p->i++;
	if (p->i + 1 < p->n && p->s[p->i] == '\r' && p->s[p->i + 1] == '\n')
		p->i++;
	ENSURE(p->i == p->n || p->s[p->i] == '\n', CS_ERR_INVAL);
	if (p->i < p->n)
		p->i++;
	return CS_OK;
}

/* A string: quote q, single- or multi-line; *v and *vl point into the text. */
static enum cs_err
string(struct tp *p, const char **v, size_t *vl)
{
	char q = p->s[p->i];
	bool multi = p->i + 2 < p->n && p->s[p->i + 1] == q && p->s[p->i + 2] == q;
	size_t a;

	p->i += multi ? 3 : 1;
	if (multi && p->i < p->n && p->s[p->i] == '\n')
		p->i++; /* a newline right after the opening delimiter is trimmed */
	a = p->i;
	for (;; p->i++) {
		ENSURE(p->i < p->n, CS_ERR_INVAL);
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == (unsigned char)q &&
		    (!multi || (p->i + 2 < p->n && p->s[p->i + 1] == q && p->s[p->i + 2] == q)))
			break;
		if (c == '\\' && q == '"')
			return CS_ERR_UNSUPPORTED; /* escapes */
		if (c == '\r' && multi)
			return CS_ERR_UNSUPPORTED; /* newline normalisation */
		ENSURE((c >= 0x20 && c != 0x7f) || c == '\t' || (c == '\n' && multi), CS_ERR_INVAL);
	}
	*v = p->s + a;
	*vl = p->i - a;
	p->i += multi ? 3 : 1;
	/* Up to two quotes may end a multi-line string's content: ambiguous here, refused. */
	ENSURE(!multi || p->i >= p->n || p->s[p->i] != q, CS_ERR_UNSUPPORTED);
	return CS_OK;
}

static enum cs_err
key(struct tp *p, const char **k, size_t *kl)
{
	char c = p->i < p->n ? p->s[p->i] : '\0';

	if (c == '"' || c == '\'') {
		ENSURE(p->i + 1 < p->n && p->s[p->i + 1] != c, CS_ERR_UNSUPPORTED); /* "" key */
		TRY(string(p, k, kl));
		ENSURE(memchr(*k, '\n', *kl) == NULL, CS_ERR_INVAL);
	} else {
		*k = p->s + p->i;
		while (p->i < p->n && ((p->s[p->i] >= 'A' && p->s[p->i] <= 'Z') ||
		                       (p->s[p->i] >= 'a' && p->s[p->i] <= 'z') ||
		                       (p->s[p->i] >= '0' && p->s[p->i] <= '9') ||
		                       p->s[p->i] == '_' || p->s[p->i] == '-'))
			p->i++;
		*kl = (size_t)(p->s + p->i - *k);
		ENSURE(*kl > 0, CS_ERR_INVAL);
	}
	blanks(p);
	ENSURE(p->i >= p->n || p->s[p->i] != '.', CS_ERR_UNSUPPORTED); /* dotted keys */
	return CS_OK;
}

enum cs_err
cs_init_data_claims(const char *s, size_t n, json_t **out)
{
	struct tp p = {s, n, 0};
	bool in_data = false, seen_data = false;
	json_t *data = json_object(), *root = json_object(), *t, *v;
	enum cs_err err = CS_OK;

	*out = NULL;
	if (data == NULL || root == NULL)
		err = CS_ERR_NOMEM;
	else if (n > CS_INIT_DATA_MAX)
		err = CS_ERR_TOO_LARGE;
	else if (memchr(s, '\0', n) != NULL)
		err = CS_ERR_INVAL;
	while (err == CS_OK && p.i < n) {
		const char *k, *val;
		size_t kl, vl;

		blanks(&p);
		if (p.i < n && (s[p.i] == '\n' || s[p.i] == '\r' || s[p.i] == '#')) {
			err = line_end(&p);
			continue;
		}
		if (p.i < n && s[p.i] == '[') {
			p.i++;
			blanks(&p);
			err = p.i + 4 <= n && memcmp(s + p.i, "data", 4) == 0 ? CS_OK
			                                                      : CS_ERR_UNSUPPORTED;
			p.i += 4;
			blanks(&p);
			if (err == CS_OK && (p.i >= n || s[p.i] != ']'))
				err = CS_ERR_UNSUPPORTED; /* another table, or [[...]] */
			if (err == CS_OK && seen_data)
				err = CS_ERR_INVAL; /* a table defined twice */
			p.i++;
			in_data = seen_data = true;
			if (err == CS_OK)
				err = line_end(&p);
			continue;
		}
		if ((err = key(&p, &k, &kl)) != CS_OK)
			break;
		if (p.i >= n || s[p.i] != '=') {
			err = CS_ERR_INVAL;
			break;
		}
		p.i++;
		blanks(&p);
		if (p.i >= n || (s[p.i] != '"' && s[p.i] != '\'')) {
			err = CS_ERR_UNSUPPORTED; /* not a string */
			break;
		}
		if ((err = string(&p, &val, &vl)) != CS_OK || (err = line_end(&p)) != CS_OK)
			break;
		t = in_data ? data : root;
		/* jansson keys are NUL-terminated: a key with NUL cannot occur (checked above). */
		char kbuf[257];
		if (kl >= sizeof(kbuf)) {
			err = CS_ERR_UNSUPPORTED;
			break;
		}
		memcpy(kbuf, k, kl);
		kbuf[kl] = '\0';
		if (json_object_get(t, kbuf) != NULL) {
			err = CS_ERR_INVAL; /* TOML forbids duplicate keys */
			break;
		}
		if ((v = json_stringn(val, vl)) == NULL || json_object_set_new(t, kbuf, v) != 0)
			err = CS_ERR_UTF8; /* jansson refuses invalid UTF-8 */
	}
	json_decref(root);
	if (err != CS_OK) {
		json_decref(data);
		return err;
	}
	*out = data;
	return CS_OK;
}

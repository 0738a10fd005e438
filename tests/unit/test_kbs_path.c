/* The resource path grammar: every edge of Trustee's segment rule, traversal and encodings. */
#include <string.h>

#include "kbs/path.h"
#include "t.h"

static enum cs_err
check(const char *p)
{
	return cs_kbs_resource_path_check(p, strlen(p));
}

static void
test_accepts(void)
{
	static const char *const ok[] = {
	        "default/key/1", "a/b/c",     "repo_1/type-2/tag.3",
	        "A-Z/0.9/x..y",  "r/t/tag.",  "default/model/llama-kek",
	        "_/-/x",         "a/b/c.d.e",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK_ERR(check(ok[i]), CS_OK);
}

static void
test_rejects(void)
{
	static const char *const bad[] = {
	        "",         "/",       "a/b",         "a/b/c/d",    "/a/b/c",
	        "a/b/c/",   "a//c",    "../b/c",      "a/../c",     "a/b/..",
	        "a/./c",    ".a/b/c",  "a/b/.hidden", "a/%2e%2e/c", "a/b%2Fc/d",
	        "a/b/c%00", "a/b/c d", "a/b/c\\d",    "a/b/c?x",    "a/b/ü",
	        "a\n/b/c",  "a/b/c;x", "a/b/c#f",     "%61/b/c",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_ERR(check(bad[i]), CS_ERR_PATH);
}

static void
test_lengths(void)
{
	char p[3 * CS_KBS_SEGMENT_MAX + 8];
	size_t n;

	/* a/b/<tag of max> passes, max+1 fails */
	memcpy(p, "a/b/", 4);
	memset(p + 4, 'x', CS_KBS_SEGMENT_MAX);
	p[4 + CS_KBS_SEGMENT_MAX] = '\0';
	CHECK_ERR(check(p), CS_OK);
	p[4 + CS_KBS_SEGMENT_MAX] = 'x';
	p[5 + CS_KBS_SEGMENT_MAX] = '\0';
	CHECK_ERR(check(p), CS_ERR_PATH);
	/* three segments of max length: the longest path */
	memset(p, 'y', sizeof(p));
	p[CS_KBS_SEGMENT_MAX] = '/';
	p[2 * CS_KBS_SEGMENT_MAX + 1] = '/';
	n = 3 * CS_KBS_SEGMENT_MAX + 2;
	CHECK_ERR(cs_kbs_resource_path_check(p, n), CS_OK);
	/* embedded NUL within the length */
	CHECK_ERR(cs_kbs_resource_path_check("a/b\0/c", 6), CS_ERR_PATH);
	/* single-byte segments */
	CHECK_ERR(check("a/b/c"), CS_OK);
}

int
main(void)
{
	T_RUN(test_accepts);
	T_RUN(test_rejects);
	T_RUN(test_lengths);
	return t_done();
}

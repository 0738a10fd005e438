/* Resource path grammar (see path.h). */
#include "kbs/path.h"

static int
seg_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

enum cs_err
cs_kbs_resource_path_check(const char *p, size_t n)
{
	size_t segs = 0, i = 0;

	ENSURE(n > 0 && n <= CS_KBS_PATH_MAX, CS_ERR_PATH);
	while (i <= n) {
		size_t start = i;

		while (i < n && p[i] != '/') {
			ENSURE(seg_char(p[i]), CS_ERR_PATH);
			i++;
		}
		ENSURE(i > start && i - start <= CS_KBS_SEGMENT_MAX, CS_ERR_PATH);
		ENSURE(p[start] != '.', CS_ERR_PATH);
		segs++;
		i++; /* past the '/' (or past the end) */
	}
	ENSURE(segs == 3, CS_ERR_PATH);
	return CS_OK;
}

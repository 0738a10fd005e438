/*
 * The resource path grammar, checked on the raw request target before anything else:
 * exactly three segments repo/type/tag, each 1..CS_KBS_SEGMENT_MAX bytes of [A-Za-z0-9_.-] whose
 * first byte is not '.' (Trustee's `[a-zA-Z0-9_\-]+[a-zA-Z0-9_\-\.]*`), so "." and ".." cannot
 * occur; any '%' is refused outright, so no encoding can smuggle a '/' or a '.' past the check.
 */
#ifndef CS_KBS_PATH_H
#define CS_KBS_PATH_H

#include <stddef.h>

#include "base/err.h"

#define CS_KBS_SEGMENT_MAX 128
#define CS_KBS_PATH_MAX (3 * CS_KBS_SEGMENT_MAX + 2)

/* CS_OK when (p, n) is "repo/type/tag" as above, else CS_ERR_PATH. */
CS_MUST_USE enum cs_err cs_kbs_resource_path_check(const char *p, size_t n);

#endif

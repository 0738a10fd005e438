/*
 * Whole-file reads, the one way custos reads a key, a certificate, a policy or a report from a
 * file. The buffer's cap bounds the read: a file larger than out->max is CS_ERR_TOO_LARGE, never
 * a truncated read.
 */
#ifndef CS_BASE_FS_H
#define CS_BASE_FS_H

#include "base/buf.h"
#include "base/err.h"

/*
 * Appends the whole of path (standard input when path is NULL or "-") to out. CS_ERR_NOT_FOUND
 * when the file does not exist, CS_ERR_IO for any other failure to open or read,
 * CS_ERR_TOO_LARGE past out's cap. The intermediate buffer is wiped: the file may hold a key.
 */
CS_MUST_USE enum cs_err cs_file_read(const char *path, struct cs_buf *out);

#endif

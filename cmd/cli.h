/* Helpers shared by the custos subcommands: they print once, at the edge, with the error's text. */
#ifndef CS_CMD_CLI_H
#define CS_CMD_CLI_H

#include "base/buf.h"

/*
 * Reads the whole of path ("-": standard input) into out with cs_file_read; on failure prints
 * "<prog>: <path>: <error>" to stderr. Returns 1 on success, 0 on failure.
 */
int cs_cli_read(const char *prog, const char *path, struct cs_buf *out);

#endif

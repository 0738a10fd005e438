#include <stdio.h>

#include "base/fs.h"
#include "cli.h"

int
cs_cli_read(const char *prog, const char *path, struct cs_buf *out)
{
	enum cs_err err = cs_file_read(path, out);

	if (err != CS_OK)
		fprintf(stderr, "%s: %s: %s\n", prog, path, cs_err_str(err));
	return err == CS_OK;
}

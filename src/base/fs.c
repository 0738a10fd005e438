#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/secret.h"

enum cs_err
cs_file_read(const char *path, struct cs_buf *out)
{
	int use_stdin = path == NULL || strcmp(path, "-") == 0;
	int fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	uint8_t chunk[16384];
	enum cs_err err = CS_OK;

	if (fd < 0)
		return errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? CS_ERR_IO : CS_OK;
			break;
		}
		if ((err = cs_buf_append(out, chunk, (size_t)n)) != CS_OK)
			break;
	}
	cs_wipe(chunk, sizeof(chunk));
	if (!use_stdin)
		close(fd);
	return err;
}

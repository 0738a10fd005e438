/*
 * Replays a libFuzzer corpus without libFuzzer: every file under the directories (or the files)
 * named on the command line is fed once to LLVMFuzzerTestOneInput. `make test` runs this for every
 * target, plain and under ASan+UBSan, so committed crashers stay fixed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	/* One extra byte so that an empty input still gets a valid, unique pointer. */
	if ((buf = malloc((size_t)len + 1)) == NULL)
		goto out;
	if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) != 0)
				return 1;
			n++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((e = readdir(d)) != NULL) {
			char path[4096];
			int k;

			if (e->d_name[0] == '.')
				continue;
			k = snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (k < 0 || (size_t)k >= sizeof(path)) {
				closedir(d);
				return 1;
			}
			if (replay_file(path) != 0) {
				fprintf(stderr, "replay: cannot read %s\n", path);
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
	}
	if (n == 0) {
		fprintf(stderr, "replay: empty corpus\n");
		return 1;
	}
	printf("replay: %zu inputs, no crash\n", n);
	return 0;
}

#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "t.h"

static void
test_read(void)
{
	char dir[] = "/tmp/custos-fs-XXXXXX", path[64], missing[64];
	struct cs_buf b;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(missing, sizeof(missing), "%s/none", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	for (int i = 0; i < 40000; i++)
		fputc(i & 0xff, f);
	fclose(f);

	/* Exactly the cap reads; one byte under the file's size is refused, not truncated. */
	cs_buf_init(&b, 40000);
	CHECK_OK(cs_file_read(path, &b));
	CHECK(b.len == 40000 && b.p[39999] == (uint8_t)(39999 & 0xff));
	cs_buf_fini(&b);
	cs_buf_init(&b, 39999);
	CHECK_ERR(cs_file_read(path, &b), CS_ERR_TOO_LARGE);
	cs_buf_fini(&b);

	/* Appends to what the buffer holds. */
	cs_buf_init(&b, 1 << 20);
	CHECK_OK(cs_buf_append(&b, "ab", 2));
	CHECK_OK(cs_file_read(path, &b));
	CHECK(b.len == 40002 && b.p[0] == 'a' && b.p[2] == 0);
	cs_buf_fini(&b);

	cs_buf_init(&b, 16);
	CHECK_ERR(cs_file_read(missing, &b), CS_ERR_NOT_FOUND);
	CHECK_ERR(cs_file_read(dir, &b), CS_ERR_IO); /* a directory cannot be read */
	CHECK(b.len == 0);
	cs_buf_fini(&b);

	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	T_RUN(test_read);
	return t_done();
}

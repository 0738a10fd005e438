/* Crash safety of the SQLite store: see store_crash.h. Several rounds on one database file. */
#include "store_crash.h"

int
main(void)
{
	char tmpdir[] = "/tmp/custos-test-crash-XXXXXX", url[512], cmd[600];
	struct cs_store *s = NULL;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(url, sizeof(url), "sqlite://%s/crash.db", tmpdir);
	crash_url = url;
	/* Create the database and key first, so the children only write. */
	CHECK_OK(cs_store_open(url, NULL, &s));
	cs_store_free(s);
	for (int round = 0; round < 6; round++)
		crash_round(round);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return t_done();
}

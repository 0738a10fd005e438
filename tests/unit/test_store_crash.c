/* Crash safety of the SQLite store: see store_crash.h. Several rounds on one database file. */
#include "store_crash.h"

/*
 * Nonce records commit without an fsync (store.h): a burst of them and nothing else, the writer
 * killed mid-burst, so no durable commit after the last ones could have flushed them. Every
 * acknowledged record must still be there (SIGKILL keeps the page cache). Indices from MAX_ACKS
 * on: no crash_round uses those nonces.
 */
static void
nonce_writer(int round, int fd)
{
	struct cs_store *s = NULL;
	uint8_t d[32];

	if (cs_store_open(crash_url, crash_opts, &s) != CS_OK)
		_exit(3);
	for (uint32_t k = 0;; k++) {
		nonce_of(d, round, MAX_ACKS + k);
		if (cs_store_nonce_record(s, d, sizeof(d), 4000000000) != CS_OK)
			_exit(6);
		if (write(fd, &k, sizeof(k)) != (ssize_t)sizeof(k))
			_exit(7);
	}
}

static void
nonce_only_round(void)
{
	uint32_t acked = crash_kill_after(nonce_writer, 0, 300);
	struct cs_store *s = NULL;
	uint8_t d[32];
	int lost = 0;

	CHECK_OK(cs_store_open(crash_url, crash_opts, &s));
	for (uint32_t k = 0; s != NULL && k < acked; k++) {
		nonce_of(d, 0, MAX_ACKS + k);
		lost += cs_store_nonce_record(s, d, sizeof(d), 4000000000) != CS_ERR_EXISTS;
	}
	CHECK(lost == 0);
	printf("nonce-only round: %u acknowledged nonce records, all present\n", acked);
	cs_store_free(s);
}

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
	nonce_only_round();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return t_done();
}

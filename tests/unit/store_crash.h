/*
 * The crash-safety rounds shared by test_store_crash (SQLite) and test_store_pg (PostgreSQL): a
 * child process writes a burst (resource puts, audit appends, nonces) and, after each write call
 * returns, reports its index on a pipe; the parent SIGKILLs it mid-burst, reopens the store and
 * checks that every acknowledged write is present and intact and that the audit chain verifies.
 *
 * SIGKILL loses the process, not the kernel's page cache, so this proves the commit protocol
 * (nothing acknowledged before it is committed, no torn state on reopen); power loss additionally
 * relies on the backend's fsync (SQLite synchronous=FULL, PostgreSQL synchronous_commit), which a
 * test cannot cut.
 */
#ifndef CS_TEST_STORE_CRASH_H
#define CS_TEST_STORE_CRASH_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "store/store.h"
#include "t.h"

#define MAX_ACKS 100000

/* The store under test; set by the including program before crash_round. */
static const char *crash_url;
static const struct cs_store_opts *crash_opts;

static size_t
value_len(int round, uint32_t i)
{
	return 1 + (i * 7919u + (uint32_t)round * 31u) % 4096u;
}

static void
nonce_of(uint8_t d[32], int round, uint32_t i)
{
	t_fill(d, 32, 0x9e3779b9u ^ ((uint32_t)round << 20) ^ i);
}

/* The child: writes until killed, acknowledging each index after its writes returned CS_OK. */
static void
child(int round, int fd)
{
	struct cs_store *s = NULL;
	uint8_t v[4096], d[32];
	char path[64];

	if (cs_store_open(crash_url, crash_opts, &s) != CS_OK)
		_exit(3);
	for (uint32_t i = 0; i < MAX_ACKS; i++) {
		size_t n = value_len(round, i);
		snprintf(path, sizeof(path), "crash/r%d/k%u", round, i);
		t_fill(v, n, ((uint32_t)round << 24) ^ i);
		if (cs_store_resource_put(s, path, v, n, NULL) != CS_OK)
			_exit(4);
		if (i % 3 == 0) {
			json_t *body = json_pack("{s:i,s:i}", "round", round, "i", (int)i);
			enum cs_err e =
			        cs_store_audit_append(s, 1700000000 + i, "admin", body, NULL);
			json_decref(body);
			if (e != CS_OK)
				_exit(5);
		}
		if (i % 5 == 0) {
			nonce_of(d, round, i);
			if (cs_store_nonce_record(s, d, sizeof(d), 4000000000) != CS_OK)
				_exit(6);
		}
		if (write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
			_exit(7);
	}
	_exit(0);
}

static int
read_ack(int fd, uint32_t *i)
{
	size_t got = 0;
	while (got < sizeof(*i)) {
		ssize_t r = read(fd, (uint8_t *)i + got, sizeof(*i) - got);
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

static void
check_round(int round, uint32_t acked)
{
	struct cs_store *s = NULL;
	struct cs_buf b;
	struct cs_audit_rec *recs = NULL;
	uint8_t v[4096], d[32];
	char path[64];
	size_t n = 0, found = 0;
	uint64_t count = 0, bad = 0;
	int lost = 0, corrupt = 0, nonce_lost = 0;

	CHECK_OK(cs_store_open(crash_url, crash_opts, &s));
	if (s == NULL)
		return;
	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	for (uint32_t i = 0; i < acked; i++) {
		uint64_t ver = 0;
		size_t len = value_len(round, i);
		snprintf(path, sizeof(path), "crash/r%d/k%u", round, i);
		t_fill(v, len, ((uint32_t)round << 24) ^ i);
		cs_buf_reset(&b);
		enum cs_err e = cs_store_resource_get(s, path, 0, &b, &ver);
		if (e == CS_ERR_NOT_FOUND)
			lost++;
		else if (e != CS_OK || ver != 1 || b.len != len || memcmp(b.p, v, len) != 0)
			corrupt++;
		if (i % 5 == 0) {
			nonce_of(d, round, i);
			if (cs_store_nonce_record(s, d, sizeof(d), 4000000000) != CS_ERR_EXISTS)
				nonce_lost++;
		}
	}
	CHECK(lost == 0);
	CHECK(corrupt == 0);
	CHECK(nonce_lost == 0);

	/* Every acknowledged audit record of this round is in the log, and the chain verifies. */
	CHECK_OK(cs_store_audit_verify(s, &count, &bad));
	CHECK(bad == 0);
	CHECK_OK(cs_store_audit_list(s, 1, MAX_ACKS, &recs, &n));
	for (size_t k = 0; k < n; k++) {
		json_t *j = json_loads(recs[k].body, 0, NULL);
		json_int_t r = json_integer_value(json_object_get(j, "round"));
		json_int_t i = json_integer_value(json_object_get(j, "i"));
		if (json_is_integer(json_object_get(j, "round")) && r == round && i >= 0 &&
		    i < (json_int_t)acked)
			found++;
		json_decref(j);
	}
	cs_audit_recs_free(recs, n);
	CHECK(found == (acked + 2) / 3); /* i = 0, 3, 6, ... below acked */
	printf("round %d: %u acknowledged writes, all present; audit chain of %llu verifies\n",
	       round, acked, (unsigned long long)count);
	cs_buf_fini(&b);
	cs_store_free(s);
}

/*
 * Forks writer(round, fd), which writes and acknowledges indices 0, 1, ... on fd; SIGKILLs it
 * after target acknowledgements; returns how many it acknowledged (those written before the kill
 * included).
 */
static uint32_t
crash_kill_after(void (*writer)(int round, int fd), int round, uint32_t target)
{
	int fds[2], status = 0;
	uint32_t i = 0, acked = 0;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		writer(round, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	CHECK(pid > 0);
	while (acked < target && read_ack(fds[0], &i)) {
		CHECK(i == acked);
		acked++;
	}
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFSIGNALED(status))
		printf("the writer exited with %d before the kill\n", WEXITSTATUS(status));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Acknowledgements written before the kill are acknowledged too. */
	while (read_ack(fds[0], &i)) {
		CHECK(i == acked);
		acked++;
	}
	close(fds[0]);
	CHECK(acked >= target);
	return acked;
}

/* One round: kill the writer after a number of acknowledgements that varies with round. */
static void
crash_round(int round)
{
	/* Kill after a varying number of acknowledgements: 5 .. ~200. */
	uint32_t target = 5 + (uint32_t)(round * 37 % 200);

	check_round(round, crash_kill_after(child, round, target));
}

#endif

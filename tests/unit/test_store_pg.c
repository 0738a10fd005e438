/*
 * The store on a real PostgreSQL server, started for the test in a temporary directory (initdb,
 * pg_ctl; as the postgres user when run as root; Unix socket only). Two store instances on one
 * database play two KBS replicas. Covers round trips, versions, deletion, the 1 MiB edge,
 * encryption at rest and row tampering (through libpq directly), reference-value expiry, a nonce
 * raced by both replicas, the audit chain under concurrent appends from both replicas and after
 * hand edits. Skipped (exit 77, one SKIP line) when no PostgreSQL server binaries are installed.
 */
#include <glob.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "store/store.h"
#include "store_crash.h"
#include "t.h"

static char dir[] = "/tmp/custos-test-pg-XXXXXX";
static char bindir[256], url[512], conninfo[512], keypath[512];
static const char *runas = ""; /* "runuser -u postgres -- " when root */

/* Runs "<bindir>/<prog> <args>" as the server's user. */
static int
pg_cmd(const char *prog, const char *args)
{
	char cmd[2048];
	int n = snprintf(cmd, sizeof(cmd), "%s%s/%s %s", runas, bindir, prog, args);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	return system(cmd);
}

static int
start_server(void)
{
	glob_t g;
	char args[1024];

	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		printf("SKIP: store_pg: no PostgreSQL server binaries (install postgresql)\n");
		return 77;
	}
	snprintf(bindir, sizeof(bindir), "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - 7),
	         g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	if (mkdtemp(dir) == NULL)
		return 1;
	if (geteuid() == 0) {
		/* PostgreSQL refuses to run as root: hand the directory to its own user. */
		struct passwd *pw = getpwnam("postgres");
		if (pw == NULL || chown(dir, pw->pw_uid, pw->pw_gid) != 0) {
			printf("SKIP: store_pg: running as root and no postgres user\n");
			return 77;
		}
		runas = "runuser -u postgres -- ";
	}
	snprintf(args, sizeof(args), "-D %s/data -A trust -U custos -E UTF8 >%s/initdb.log 2>&1",
	         dir, dir);
	if (pg_cmd("initdb", args) != 0)
		return 1;
	/* Unix socket in dir only; fsync on (the default) so commits are truly durable. */
	snprintf(args, sizeof(args),
	         "-D %s/data -l %s/server.log -w -o \"-k %s -c listen_addresses=''\" start"
	         " >/dev/null",
	         dir, dir, dir);
	if (pg_cmd("pg_ctl", args) != 0)
		return 1;
	snprintf(url, sizeof(url), "postgresql://custos@/postgres?host=%s", dir);
	snprintf(conninfo, sizeof(conninfo), "host=%s user=custos dbname=postgres", dir);
	snprintf(keypath, sizeof(keypath), "%s/master.key", dir);
	return 0;
}

static void
stop_server(void)
{
	char args[600], cmd[600];

	snprintf(args, sizeof(args), "-D %s/data -m immediate stop >/dev/null 2>&1", dir);
	(void)pg_cmd("pg_ctl", args);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static struct cs_store *
open_pg(void)
{
	struct cs_store_opts o = {.master_key_path = keypath, .max_connections = 4};
	struct cs_store *s = NULL;

	CHECK_OK(cs_store_open(url, &o, &s));
	return s;
}

/* Runs SQL through libpq directly; returns 1 when it succeeded. */
static int
raw_sql(const char *sql)
{
	PGconn *pc = PQconnectdb(conninfo);
	PGresult *res = PQexec(pc, sql);
	ExecStatusType st = PQresultStatus(res);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	PQclear(res);
	PQfinish(pc);
	return ok;
}

static void
test_roundtrip(void)
{
	struct cs_store *s = open_pg();
	struct cs_buf b;
	struct cs_store_version *v = NULL;
	struct cs_store_list l = {0};
	struct cs_store_policy p;
	size_t n = 0, max = CS_STORE_VALUE_MAX;
	uint64_t ver = 0, got = 0;
	uint8_t *big = malloc(max + 1);

	if (s == NULL)
		return;
	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	CHECK_OK(cs_store_resource_put(s, "default/key/a", (const uint8_t *)"one", 3, &ver));
	CHECK(ver == 1);
	CHECK_OK(cs_store_resource_put(s, "default/key/a", (const uint8_t *)"second", 6, &ver));
	CHECK(ver == 2);
	CHECK_OK(cs_store_resource_put(s, "default/key/b", (const uint8_t *)"", 0, &ver));
	CHECK_OK(cs_store_resource_get(s, "default/key/a", 0, &b, &got));
	CHECK(got == 2 && b.len == 6 && memcmp(b.p, "second", 6) == 0);
	cs_buf_reset(&b);
	CHECK_OK(cs_store_resource_get(s, "default/key/a", 1, &b, &got));
	CHECK(got == 1 && b.len == 3 && memcmp(b.p, "one", 3) == 0);
	cs_buf_reset(&b);
	CHECK_OK(cs_store_resource_get(s, "default/key/b", 0, &b, &got));
	CHECK(b.len == 0);
	CHECK_ERR(cs_store_resource_get(s, "default/key/a", 3, &b, &got), CS_ERR_NOT_FOUND);
	CHECK_OK(cs_store_resource_versions(s, "default/key/a", &v, &n));
	CHECK(n == 2 && v[1].version == 2 && v[1].size == 6);
	free(v);
	CHECK_OK(cs_store_resource_list(s, "default/", &l));
	CHECK(l.n == 2 && strcmp(l.items[0], "default/key/a") == 0);
	cs_store_list_fini(&l);
	CHECK_OK(cs_store_resource_delete(s, "default/key/a"));
	CHECK_ERR(cs_store_resource_delete(s, "default/key/a"), CS_ERR_NOT_FOUND);
	CHECK_ERR(cs_store_resource_get(s, "default/key/a", 0, &b, &got), CS_ERR_NOT_FOUND);

	for (size_t i = 0; i <= max; i++)
		big[i] = (uint8_t)(i * 31 + 7);
	CHECK_OK(cs_store_resource_put(s, "big/blob/max", big, max, NULL));
	CHECK_ERR(cs_store_resource_put(s, "big/blob/over", big, max + 1, NULL), CS_ERR_TOO_LARGE);
	cs_buf_reset(&b);
	CHECK_OK(cs_store_resource_get(s, "big/blob/max", 0, &b, NULL));
	CHECK(b.len == max && memcmp(b.p, big, max) == 0);
	free(big);

	CHECK_OK(cs_store_policy_put(s, "resource", "default/model/*", (const uint8_t *)"p1", 2,
	                             &ver));
	CHECK_OK(cs_store_policy_put(s, "resource", "default/model/*", (const uint8_t *)"p2", 2,
	                             &ver));
	CHECK(ver == 2);
	CHECK_OK(cs_store_policy_get(s, "resource", "default/model/*", 1, &p));
	CHECK(p.version == 1 && p.text_len == 2 && memcmp(p.text, "p1", 2) == 0);
	cs_store_policy_fini(&p);
	CHECK_OK(cs_store_policy_list(s, "resource", &l));
	CHECK(l.n == 1);
	cs_store_list_fini(&l);

	json_t *rv = json_pack("[s,s]", "aa", "bb"), *back = NULL;
	CHECK_OK(cs_store_refval_put(s, "m", rv, 1000));
	CHECK_OK(cs_store_refval_get(s, "m", 999, &back, NULL));
	CHECK(back != NULL && json_equal(rv, back));
	json_decref(back);
	CHECK_ERR(cs_store_refval_get(s, "m", 1000, &back, NULL), CS_ERR_EXPIRED);
	CHECK_OK(cs_store_refval_put(s, "m", rv, 2000)); /* replace */
	CHECK_OK(cs_store_refval_get(s, "m", 1500, &back, NULL));
	json_decref(back);
	json_decref(rv);
	cs_buf_fini(&b);
	cs_store_free(s);
}

static void
test_at_rest(void)
{
	static const char secret[] = "PG-TOP-SECRET-0123456789";
	struct cs_store *s = open_pg();
	struct cs_buf b;
	PGconn *pc;
	PGresult *res;

	if (s == NULL)
		return;
	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	CHECK_OK(cs_store_resource_put(s, "rest/key/one", (const uint8_t *)secret, sizeof(secret),
	                               NULL));
	CHECK_OK(cs_store_resource_put(s, "rest/key/two", (const uint8_t *)secret, sizeof(secret),
	                               NULL));
	/* Every stored byte of the rows, read by the server's own client library. */
	pc = PQconnectdb(conninfo);
	res = PQexecParams(
	        pc,
	        "SELECT convert_to(path, 'UTF8') || iv || tag || wdek || ct FROM resource"
	        " WHERE path LIKE 'rest/%'",
	        0, NULL, NULL, NULL, NULL, 1);
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 2);
	for (int i = 0; i < PQntuples(res); i++) {
		CHECK(memmem(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), "rest/key", 8));
		CHECK(!memmem(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), "TOP-SECRET",
		              10));
	}
	PQclear(res);
	PQfinish(pc);

	CHECK(raw_sql("UPDATE resource SET ct = set_byte(ct, 0, get_byte(ct, 0) # 1)"
	              " WHERE path = 'rest/key/one'"));
	CHECK_ERR(cs_store_resource_get(s, "rest/key/one", 0, &b, NULL), CS_ERR_DECRYPT);
	CHECK(b.len == 0);
	CHECK(raw_sql("UPDATE resource SET ct = set_byte(ct, 0, get_byte(ct, 0) # 1)"
	              " WHERE path = 'rest/key/one'"));
	CHECK_OK(cs_store_resource_get(s, "rest/key/one", 0, &b, NULL));
	CHECK(b.len == sizeof(secret) && memcmp(b.p, secret, sizeof(secret)) == 0);
	cs_buf_reset(&b);
	/* Move two's whole envelope onto one: the path in the AAD refuses it. */
	CHECK(raw_sql(
	        "UPDATE resource r SET iv = o.iv, tag = o.tag, wdek = o.wdek, ct = o.ct"
	        " FROM resource o WHERE r.path = 'rest/key/one' AND o.path = 'rest/key/two'"));
	CHECK_ERR(cs_store_resource_get(s, "rest/key/one", 0, &b, NULL), CS_ERR_DECRYPT);
	cs_buf_fini(&b);
	cs_store_free(s);
}

#define THREADS 6
#define PER_THREAD 20

struct worker {
	struct cs_store *s;
	int id, errors, nonce_wins;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t v[1024], d[32];
	struct cs_buf b;
	char path[64];

	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t ver = 0, got = 0;
		memset(v, w->id * 16 + i, sizeof(v));
		snprintf(path, sizeof(path), "t%d/key/k", w->id);
		if (cs_store_resource_put(w->s, path, v, sizeof(v), &ver) != CS_OK ||
		    cs_store_resource_put(w->s, "shared/key/all", v, 8, NULL) != CS_OK)
			w->errors++;
		cs_buf_reset(&b);
		if (cs_store_resource_get(w->s, path, ver, &b, &got) != CS_OK || got != ver ||
		    b.len != sizeof(v) || memcmp(b.p, v, sizeof(v)) != 0)
			w->errors++;
		json_t *body = json_pack("{s:i,s:i}", "thread", w->id, "i", i);
		if (cs_store_audit_append(w->s, i, "release", body, NULL) != CS_OK)
			w->errors++;
		json_decref(body);
		/* Every thread of both replicas races on the same nonce i. */
		memset(d, i + 1, sizeof(d));
		enum cs_err e = cs_store_nonce_record(w->s, d, sizeof(d), 5000);
		if (e == CS_OK)
			w->nonce_wins++;
		else if (e != CS_ERR_EXISTS)
			w->errors++;
	}
	cs_buf_fini(&b);
	return NULL;
}

/* Two replicas (two stores on one database), three threads each. */
static void
test_replicas(void)
{
	struct cs_store *r1 = open_pg(), *r2 = open_pg();
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct cs_store_version *v = NULL;
	size_t n = 0;
	uint64_t count = 0, bad = 0;
	int wins = 0;

	if (r1 == NULL || r2 == NULL)
		return;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){i % 2 ? r2 : r1, i, 0, 0};
		CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++) {
		CHECK(pthread_join(th[i], NULL) == 0);
		CHECK(w[i].errors == 0);
		wins += w[i].nonce_wins;
	}
	CHECK(wins == PER_THREAD); /* each nonce won exactly once */
	CHECK_OK(cs_store_resource_versions(r2, "shared/key/all", &v, &n));
	CHECK(n == THREADS * PER_THREAD);
	for (size_t i = 0; i < n; i++)
		CHECK(v[i].version == i + 1);
	free(v);
	CHECK_OK(cs_store_audit_verify(r1, &count, &bad));
	CHECK(count == THREADS * PER_THREAD && bad == 0);
	cs_store_free(r1);
	cs_store_free(r2);
}

static void
test_audit_tamper(void)
{
	struct cs_store *s = open_pg();
	uint64_t count = 0, bad = 0, first = 0;
	struct cs_audit_rec *recs = NULL;
	size_t n = 0;
	char sql[256];

	if (s == NULL)
		return;
	CHECK_OK(cs_store_audit_verify(s, &count, &bad));
	first = count + 1;
	for (int i = 0; i < 3; i++) {
		json_t *body = json_pack("{s:s}", "verdict", "affirming");
		CHECK_OK(cs_store_audit_append(s, 100 + i, "attest", body, NULL));
		json_decref(body);
	}
	CHECK_OK(cs_store_audit_list(s, first, 10, &recs, &n));
	CHECK(n == 3 && recs[0].seq == first);
	cs_audit_recs_free(recs, n);
	/* The triggers refuse edits... */
	CHECK(!raw_sql("UPDATE audit SET time = 0"));
	CHECK(!raw_sql("DELETE FROM audit"));
	CHECK(!raw_sql("TRUNCATE audit"));
	/* ...and with them disabled, verify finds the first edited record. */
	CHECK(raw_sql("ALTER TABLE audit DISABLE TRIGGER USER"));
	snprintf(sql, sizeof(sql),
	         "UPDATE audit SET body = replace(body, 'affirming', 'warning') WHERE seq = %llu",
	         (unsigned long long)first + 1);
	CHECK(raw_sql(sql));
	CHECK_ERR(cs_store_audit_verify(s, &count, &bad), CS_ERR_VERIFY);
	CHECK(bad == first + 1);
	snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq = %llu",
	         (unsigned long long)first + 1);
	CHECK(raw_sql(sql));
	CHECK_ERR(cs_store_audit_verify(s, &count, &bad), CS_ERR_VERIFY);
	CHECK(bad == first + 1);
	CHECK(raw_sql("ALTER TABLE audit ENABLE TRIGGER USER"));
	cs_store_free(s);
}

/* SIGKILL a writer mid-burst, three times: everything acknowledged is in the database. */
static void
test_crash(void)
{
	static struct cs_store_opts o;

	o.master_key_path = keypath;
	crash_url = url;
	crash_opts = &o;
	for (int round = 0; round < 3; round++)
		crash_round(round);
}

/* A server restart: pooled connections are re-established and statements prepared again. */
static void
test_restart(void)
{
	struct cs_store *s = open_pg();
	struct cs_buf b;
	char args[1024];

	if (s == NULL)
		return;
	cs_buf_init(&b, CS_STORE_VALUE_MAX);
	CHECK_OK(cs_store_resource_put(s, "rs/key/a", (const uint8_t *)"before", 6, NULL));
	snprintf(args, sizeof(args),
	         "-D %s/data -l %s/server.log -w -m fast -o \"-k %s -c listen_addresses=''\""
	         " restart >/dev/null",
	         dir, dir, dir);
	CHECK(pg_cmd("pg_ctl", args) == 0);
	CHECK_OK(cs_store_resource_get(s, "rs/key/a", 0, &b, NULL));
	CHECK(b.len == 6 && memcmp(b.p, "before", 6) == 0);
	CHECK_OK(cs_store_resource_put(s, "rs/key/a", (const uint8_t *)"after", 5, NULL));
	uint8_t d[8] = {9};
	CHECK_OK(cs_store_nonce_record(s, d, sizeof(d), 1));
	CHECK_ERR(cs_store_nonce_record(s, d, sizeof(d), 1), CS_ERR_EXISTS);
	cs_buf_fini(&b);
	cs_store_free(s);
}

/* A server that is not there: a precise error, quickly, and nothing leaks. */
static void
test_unreachable(void)
{
	struct cs_store_opts o = {.master_key_path = keypath};
	struct cs_store *s = NULL;
	char bad[600];

	snprintf(bad, sizeof(bad), "postgresql://custos@/postgres?host=%s/nowhere", dir);
	CHECK_ERR(cs_store_open(bad, &o, &s), CS_ERR_NETWORK);
	CHECK(s == NULL);
}

int
main(void)
{
	int rc = start_server();

	if (rc != 0) {
		if (rc != 77)
			fprintf(stderr, "could not start PostgreSQL (see %s)\n", dir);
		return rc;
	}
	T_RUN(test_roundtrip);
	T_RUN(test_at_rest);
	T_RUN(test_replicas);
	T_RUN(test_crash); /* before the audit log is tampered with */
	T_RUN(test_audit_tamper);
	T_RUN(test_restart);
	T_RUN(test_unreachable);
	stop_server();
	return t_done();
}

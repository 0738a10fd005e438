/*
 * Sealed session cookies: round trip, tampering at every byte, forged keys, expiry, truncation,
 * and that the TEE, nonce and state come back exactly (so a session cannot be moved to another
 * TEE type or nonce without the key).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/secret.h"
#include "kbs/session.h"
#include "t.h"

static const uint8_t key[CS_SESSION_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void
make(struct cs_session *s, const char *tee, int64_t exp)
{
	memset(s, 0, sizeof(*s));
	s->state = CS_SESSION_CHALLENGED;
	snprintf(s->tee, sizeof(s->tee), "%s", tee);
	for (int i = 0; i < CS_SESSION_NONCE_LEN; i++)
		s->nonce[i] = (uint8_t)(0xa0 + i);
	s->expires = exp;
}

static void
test_roundtrip(void)
{
	struct cs_session s, o;
	struct cs_buf c;
	char tok[] = "header.payload.signature";

	make(&s, "sample", 1000);
	cs_buf_init(&c, CS_SESSION_COOKIE_MAX);
	CHECK_OK(cs_session_seal(key, &s, &c));
	CHECK_OK(cs_session_open(key, (const char *)c.p, c.len, 999, &o));
	CHECK(o.state == CS_SESSION_CHALLENGED);
	CHECK_STR(o.tee, "sample");
	CHECK_MEM(o.nonce, s.nonce, CS_SESSION_NONCE_LEN);
	CHECK(o.expires == 1000);
	CHECK(o.token == NULL);
	cs_session_fini(&o);
	/* Two seals of one session differ (fresh IV). */
	struct cs_buf c2;
	cs_buf_init(&c2, CS_SESSION_COOKIE_MAX);
	CHECK_OK(cs_session_seal(key, &s, &c2));
	CHECK(c.len == c2.len && memcmp(c.p, c2.p, c.len) != 0);
	cs_buf_fini(&c2);

	s.state = CS_SESSION_ATTESTED;
	s.token = tok;
	s.token_len = strlen(tok);
	cs_buf_reset(&c);
	CHECK_OK(cs_session_seal(key, &s, &c));
	CHECK_OK(cs_session_open(key, (const char *)c.p, c.len, 0, &o));
	CHECK(o.state == CS_SESSION_ATTESTED);
	CHECK_STR(o.token, tok);
	cs_session_fini(&o);
	cs_buf_fini(&c);
}

static void
test_expiry(void)
{
	struct cs_session s, o;
	struct cs_buf c;

	make(&s, "snp", 500);
	cs_buf_init(&c, CS_SESSION_COOKIE_MAX);
	CHECK_OK(cs_session_seal(key, &s, &c));
	CHECK_OK(cs_session_open(key, (const char *)c.p, c.len, 499, &o));
	cs_session_fini(&o);
	CHECK_ERR(cs_session_open(key, (const char *)c.p, c.len, 500, &o), CS_ERR_EXPIRED);
	CHECK_ERR(cs_session_open(key, (const char *)c.p, c.len, 501, &o), CS_ERR_EXPIRED);
	cs_buf_fini(&c);
}

static void
test_tamper(void)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct cs_session s, o;
	struct cs_buf c, raw, re;
	uint8_t other[CS_SESSION_KEY_LEN] = {9};
	int rejected = 0, total = 0;

	make(&s, "sample", 1000);
	cs_buf_init(&c, CS_SESSION_COOKIE_MAX);
	CHECK_OK(cs_session_seal(key, &s, &c));
	/* Every byte of the decoded blob flipped: all refused. */
	cs_buf_init(&raw, CS_SESSION_COOKIE_MAX);
	CHECK_OK(cs_b64url_decode(&raw, (const char *)c.p, c.len));
	for (size_t i = 0; i < raw.len; i++) {
		raw.p[i] ^= 0x01;
		cs_buf_init(&re, CS_SESSION_COOKIE_MAX);
		CHECK_OK(cs_b64url_encode(&re, raw.p, raw.len));
		total++;
		if (cs_session_open(key, (const char *)re.p, re.len, 0, &o) == CS_ERR_SESSION)
			rejected++;
		cs_session_fini(&o);
		cs_buf_fini(&re);
		raw.p[i] ^= 0x01;
	}
	CHECK(total > 0 && rejected == total);
	/* Truncations: refused. */
	for (size_t n = 0; n < c.len; n += 7)
		CHECK_ERR(cs_session_open(key, (const char *)c.p, n, 0, &o), CS_ERR_SESSION);
	/* Another key: refused. */
	CHECK_ERR(cs_session_open(other, (const char *)c.p, c.len, 0, &o), CS_ERR_SESSION);
	/* Not base64url at all; characters outside the alphabet. */
	CHECK_ERR(cs_session_open(key, "not a cookie!", 13, 0, &o), CS_ERR_SESSION);
	CHECK(strchr(alphabet, '!') == NULL);
	/* Oversized. */
	char *big = malloc(CS_SESSION_COOKIE_MAX + 2);
	memset(big, 'A', CS_SESSION_COOKIE_MAX + 1);
	big[CS_SESSION_COOKIE_MAX + 1] = '\0';
	CHECK_ERR(cs_session_open(key, big, CS_SESSION_COOKIE_MAX + 1, 0, &o), CS_ERR_SESSION);
	free(big);
	cs_buf_fini(&raw);
	cs_buf_fini(&c);
}

static void
test_seal_limits(void)
{
	struct cs_session s;
	struct cs_buf c;

	cs_buf_init(&c, CS_SESSION_COOKIE_MAX);
	make(&s, "", 1);
	CHECK_ERR(cs_session_seal(key, &s, &c), CS_ERR_INVAL);
	make(&s, "sample", 1);
	s.state = CS_SESSION_ATTESTED;
	s.token = "x";
	s.token_len = CS_SESSION_TOKEN_MAX + 1;
	CHECK_ERR(cs_session_seal(key, &s, &c), CS_ERR_TOO_LARGE);
	cs_buf_fini(&c);
}

static void
test_key_file(void)
{
	char dir[] = "/tmp/cs-session-XXXXXX", path[64];
	uint8_t k1[CS_SESSION_KEY_LEN], k2[CS_SESSION_KEY_LEN];
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/session.key", dir);
	CHECK_OK(cs_session_key_load(path, k1));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);
	CHECK_OK(cs_session_key_load(path, k2));
	CHECK_MEM(k1, k2, sizeof(k1));
	CHECK(chmod(path, 0644) == 0);
	CHECK_ERR(cs_session_key_load(path, k2), CS_ERR_CONFIG);
	unlink(path);
	rmdir(dir);
}

/* Replicas starting together: every one gets the same whole key, none a partial file. */
#define RACERS 8
#define ROUNDS 100

struct racer {
	pthread_barrier_t *go;
	const char *path;
	uint8_t key[CS_SESSION_KEY_LEN];
	enum cs_err err;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->err = cs_session_key_load(r->path, r->key);
	return NULL;
}

static void
test_key_race(void)
{
	char dir[] = "/tmp/cs-session-XXXXXX", path[512];
	struct racer rs[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t go;
	int bad = 0, files = 0;
	DIR *d;

	CHECK(mkdtemp(dir) != NULL);
	for (int round = 0; round < ROUNDS; round++) {
		snprintf(path, sizeof(path), "%s/k%d", dir, round);
		pthread_barrier_init(&go, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			rs[i] = (struct racer){.go = &go, .path = path};
			pthread_create(&th[i], NULL, race, &rs[i]);
		}
		for (int i = 0; i < RACERS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		for (int i = 0; i < RACERS; i++)
			bad += rs[i].err != CS_OK ||
			       !cs_ct_eq(rs[i].key, rs[0].key, sizeof(rs[0].key));
	}
	CHECK(bad == 0);
	/* Only the keys remain: no temporary file is left behind. */
	CHECK((d = opendir(dir)) != NULL);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		files++;
		CHECK(strstr(e->d_name, ".tmp") == NULL);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	CHECK(files == ROUNDS);
	rmdir(dir);
}

int
main(void)
{
	T_RUN(test_roundtrip);
	T_RUN(test_expiry);
	T_RUN(test_tamper);
	T_RUN(test_seal_limits);
	T_RUN(test_key_file);
	T_RUN(test_key_race);
	return t_done();
}

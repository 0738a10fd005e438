/*
 * Admin authorization, decided in one function: dev mode (loopback only), insecure mode, admin
 * key with ES256 and EdDSA JWTs, roles mapped to endpoint globs, expiry, wrong keys, algorithm
 * confusion, malformed headers; and the admin API disabled when nothing is configured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/key.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "kbs/admin.h"
#include "t.h"

#define NOW 1700000000

static char *
token(const struct cs_key *k, enum cs_jws_alg alg, const char *role, int64_t exp)
{
	struct cs_buf b;
	json_t *c = json_pack("{s:I}", "exp", (json_int_t)exp);
	char *out;

	if (role != NULL)
		json_object_set_new(c, "role", json_string(role));
	cs_buf_init(&b, 8192);
	CHECK_OK(cs_jwt_issue(alg, k, c, NULL, &b));
	json_decref(c);
	out = (char *)cs_buf_take(&b, NULL);
	return out;
}

static char *
bearer(const char *tok)
{
	char *s = malloc(strlen(tok) + 8);
	snprintf(s, strlen(tok) + 8, "Bearer %s", tok);
	return s;
}

/* cs_admin_check of "<method> <path>" with a fresh token of key/alg/role valid for a minute. */
static enum cs_err
with_token(const struct cs_kbs_admin *a, const struct cs_key *k, enum cs_jws_alg alg,
           const char *role, const char *method, const char *path)
{
	char *t = token(k, alg, role, NOW + 60), *h = bearer(t);
	enum cs_err err = cs_admin_check(a, h, method, path, false, NOW, NULL, 0);

	free(h);
	free(t);
	return err;
}

static void
write_pub(const struct cs_key *k, const char *path)
{
	struct cs_buf pem;
	FILE *f = fopen(path, "wb");

	cs_buf_init(&pem, 8192);
	CHECK_OK(cs_key_to_pem(k, false, &pem));
	CHECK(f != NULL && fwrite(pem.p, 1, pem.len, f) == pem.len);
	fclose(f);
	cs_buf_fini(&pem);
}

static void
test_modes(void)
{
	struct cs_kbs_config cfg;
	struct cs_kbs_admin a;

	cs_kbs_config_init(&cfg);
	CHECK_OK(cs_admin_init(&a, &cfg));
	/* Nothing configured: disabled. */
	CHECK_ERR(cs_admin_check(&a, NULL, "POST", "/kbs/v0/resource/a/b/c", true, NOW, NULL, 0),
	          CS_ERR_UNAUTHENTICATED);
	CHECK_ERR(cs_admin_check(&a, "Bearer x.y.z", "POST", "/kbs/v0/resource/a/b/c", true, NOW,
	                         NULL, 0),
	          CS_ERR_UNAUTHENTICATED);
	/* Dev: loopback only, no token. */
	cfg.dev = true;
	CHECK_OK(cs_admin_check(&a, NULL, "POST", "/kbs/v0/resource/a/b/c", true, NOW, NULL, 0));
	CHECK_ERR(cs_admin_check(&a, NULL, "POST", "/kbs/v0/resource/a/b/c", false, NOW, NULL, 0),
	          CS_ERR_DENIED);
	/* Insecure: anyone. */
	cfg.dev = false;
	cfg.insecure_admin = true;
	CHECK_OK(cs_admin_check(&a, NULL, "DELETE", "/kbs/v0/resource/a/b/c", false, NOW, NULL, 0));
	cs_admin_fini(&a);
	cs_kbs_config_fini(&cfg);
}

static void
check_key(enum cs_key_type type, enum cs_jws_alg alg, enum cs_jws_alg wrong_alg_type_key)
{
	char dir[] = "/tmp/cs-admin-XXXXXX", path[64], role[32];
	struct cs_key *k = NULL, *other = NULL, *wrong = NULL;
	struct cs_kbs_config cfg;
	struct cs_kbs_admin a;
	char *t, *h;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/admin.pub", dir);
	CHECK_OK(cs_key_generate(type, 0, &k));
	CHECK_OK(cs_key_generate(type, 0, &other));
	CHECK_OK(cs_key_generate(type == CS_KEY_EC_P256 ? CS_KEY_ED25519 : CS_KEY_EC_P256, 0,
	                         &wrong));
	write_pub(k, path);
	cs_kbs_config_init(&cfg);
	cfg.admin_key = strdup(path);
	cfg.roles[0].name = strdup("writer");
	cfg.roles[0].endpoints[0] = strdup("POST /kbs/v0/resource/default/*");
	cfg.roles[0].n = 1;
	cfg.roles[1].name = strdup("reader");
	cfg.roles[1].endpoints[0] = strdup("GET /kbs/v0/*");
	cfg.roles[1].n = 1;
	cfg.nroles = 2;
	CHECK_OK(cs_admin_init(&a, &cfg));

	t = token(k, alg, "writer", NOW + 60);
	h = bearer(t);
	CHECK_OK(cs_admin_check(&a, h, "POST", "/kbs/v0/resource/default/key/1", false, NOW, role,
	                        sizeof(role)));
	CHECK_STR(role, "writer");
	/* Role without the right: 403, not 401. */
	CHECK_ERR(cs_admin_check(&a, h, "DELETE", "/kbs/v0/resource/default/key/1", false, NOW,
	                         NULL, 0),
	          CS_ERR_DENIED);
	CHECK_ERR(
	        cs_admin_check(&a, h, "POST", "/kbs/v0/resource/other/key/1", false, NOW, NULL, 0),
	        CS_ERR_DENIED);
	/* Expired at exp. */
	CHECK_ERR(cs_admin_check(&a, h, "POST", "/kbs/v0/resource/default/key/1", false, NOW + 60,
	                         NULL, 0),
	          CS_ERR_UNAUTHENTICATED);
	/* Without "Bearer ", or with a lower-case scheme: refused. */
	CHECK_ERR(cs_admin_check(&a, t, "POST", "/kbs/v0/resource/default/key/1", false, NOW, NULL,
	                         0),
	          CS_ERR_UNAUTHENTICATED);
	h[0] = 'b';
	CHECK_ERR(cs_admin_check(&a, h, "POST", "/kbs/v0/resource/default/key/1", false, NOW, NULL,
	                         0),
	          CS_ERR_UNAUTHENTICATED);
	free(h);
	free(t);
	/* Signed by another key of the same type; by a key of the other type with its algorithm;
	 * no role claim; the reader reads, and only reads. */
	CHECK_ERR(with_token(&a, other, alg, "writer", "POST", "/kbs/v0/resource/default/key/1"),
	          CS_ERR_UNAUTHENTICATED);
	CHECK_ERR(with_token(&a, wrong, wrong_alg_type_key, "writer", "POST",
	                     "/kbs/v0/resource/default/key/1"),
	          CS_ERR_UNAUTHENTICATED);
	CHECK_ERR(with_token(&a, k, alg, NULL, "GET", "/kbs/v0/resource-policy"),
	          CS_ERR_UNAUTHENTICATED);
	CHECK_OK(with_token(&a, k, alg, "reader", "GET", "/kbs/v0/resource-policy"));
	CHECK_ERR(with_token(&a, k, alg, "reader", "POST", "/kbs/v0/resource-policy"),
	          CS_ERR_DENIED);

	cs_admin_fini(&a);
	cs_kbs_config_fini(&cfg);
	cs_key_free(k);
	cs_key_free(other);
	cs_key_free(wrong);
	unlink(path);
	rmdir(dir);
}

static void
test_es256(void)
{
	check_key(CS_KEY_EC_P256, CS_JWS_ES256, CS_JWS_EDDSA);
}

static void
test_eddsa(void)
{
	check_key(CS_KEY_ED25519, CS_JWS_EDDSA, CS_JWS_ES256);
}

static void
test_default_admin_role(void)
{
	char dir[] = "/tmp/cs-admin-XXXXXX", path[64];
	struct cs_kbs_config cfg;
	struct cs_kbs_admin a;
	struct cs_key *k = NULL;
	char *t, *h;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/admin.pub", dir);
	CHECK_OK(cs_key_generate(CS_KEY_EC_P256, 0, &k));
	write_pub(k, path);
	cs_kbs_config_init(&cfg);
	cfg.admin_key = strdup(path);
	CHECK_OK(cs_admin_init(&a, &cfg));
	t = token(k, CS_JWS_ES256, "admin", NOW + 10);
	h = bearer(t);
	CHECK_OK(cs_admin_check(&a, h, "DELETE", "/kbs/v0/resource/a/b/c", false, NOW, NULL, 0));
	free(h);
	free(t);
	t = token(k, CS_JWS_ES256, "someone", NOW + 10);
	h = bearer(t);
	CHECK_ERR(cs_admin_check(&a, h, "DELETE", "/kbs/v0/resource/a/b/c", false, NOW, NULL, 0),
	          CS_ERR_DENIED);
	free(h);
	free(t);
	cs_admin_fini(&a);
	cs_kbs_config_fini(&cfg);
	cs_key_free(k);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	T_RUN(test_modes);
	T_RUN(test_es256);
	T_RUN(test_eddsa);
	T_RUN(test_default_admin_role);
	return t_done();
}

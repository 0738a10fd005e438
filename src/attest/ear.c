/*
 * EAR tokens: claims layout, signing with the persisted ES256 key, verification (see ear.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/ear.h"
#include "base/b64.h"
#include "base/json.h"
#include "base/secret.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "tee/tee.h"

#define KEY_FILE_MAX 16384

static enum cs_err
read_key_file(const char *path, struct cs_key **key)
{
	uint8_t buf[KEY_FILE_MAX];
	struct stat st;
	enum cs_err err;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO;
	err = CS_ERR_CONFIG;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
		goto out;
	err = CS_ERR_TOO_LARGE;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 || (size_t)n >= sizeof(buf))
		goto out;
	err = cs_key_from_pem(buf, (size_t)n, key);
out:
	cs_wipe(buf, sizeof(buf)); /* on every path: a too-large read holds key bytes too */
	close(fd);
	return err;
}

static enum cs_err
write_key_file(const char *path, const struct cs_key *key)
{
	struct cs_buf pem;
	enum cs_err err = CS_ERR_IO;
	int fd;

	cs_buf_init(&pem, KEY_FILE_MAX);
	if ((err = cs_key_to_pem(key, true, &pem)) != CS_OK)
		goto out;
	err = CS_ERR_IO;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = errno == EEXIST ? CS_ERR_EXISTS : CS_ERR_IO;
		goto out;
	}
	if (write(fd, pem.p, pem.len) == (ssize_t)pem.len && fsync(fd) == 0)
		err = CS_OK;
	if (close(fd) != 0)
		err = CS_ERR_IO;
	if (err != CS_OK)
		unlink(path);
out:
	cs_buf_fini(&pem);
	return err;
}

void
cs_ear_signer_fini(struct cs_ear_signer *s)
{
	cs_key_free(s->key);
	cs_jwk_fini(&s->pub);
	json_decref(s->header);
	memset(s, 0, sizeof(*s));
}

static enum cs_err
signer_setup(struct cs_ear_signer *s)
{
	uint8_t x[32], y[32], tp[32];
	struct cs_key *pub = NULL;
	struct cs_buf kid;
	json_t *jwk = NULL;
	enum cs_err err;

	ENSURE(cs_key_type(s->key) == CS_KEY_EC_P256, CS_ERR_KEY);
	TRY(cs_key_ec_to_raw(s->key, x, y, NULL));
	TRY(cs_key_ec_from_raw(CS_KEY_EC_P256, x, 32, y, 32, NULL, 0, &pub));
	TRY(cs_jwk_from_key(pub, "ES256", &s->pub));
	TRY(cs_jwk_thumbprint(&s->pub, tp));
	cs_buf_init(&kid, sizeof(s->kid) - 1);
	err = cs_b64url_encode(&kid, tp, sizeof(tp));
	if (err == CS_OK)
		memcpy(s->kid, kid.p, kid.len + 1);
	cs_buf_fini(&kid);
	TRY(err);
	TRY(cs_jwk_public_json(&s->pub, &jwk));
	s->header = json_pack("{s:s,s:o}", "kid", s->kid, "jwk", jwk);
	ENSURE(s->header != NULL, CS_ERR_NOMEM);
	return CS_OK;
}

enum cs_err
cs_ear_signer_load(const char *path, struct cs_ear_signer *s)
{
	enum cs_err err;

	memset(s, 0, sizeof(*s));
	cs_jwk_init(&s->pub);
	if (path == NULL) {
		err = cs_key_generate(CS_KEY_EC_P256, 0, &s->key);
	} else {
		err = read_key_file(path, &s->key);
		if (err == CS_ERR_NOT_FOUND) {
			if ((err = cs_key_generate(CS_KEY_EC_P256, 0, &s->key)) != CS_OK)
				goto out;
			err = write_key_file(path, s->key);
			if (err == CS_ERR_EXISTS) { /* another replica won the race: use its key */
				cs_key_free(s->key);
				s->key = NULL;
				err = read_key_file(path, &s->key);
			}
		}
	}
	if (err == CS_OK)
		err = signer_setup(s);
out:
	if (err != CS_OK)
		cs_ear_signer_fini(s);
	return err;
}

enum cs_err
cs_ear_jwks(const struct cs_ear_signer *s, struct cs_buf *out)
{
	enum cs_err err;
	json_t *k = NULL, *set;

	TRY(cs_jwk_public_json(&s->pub, &k));
	json_object_set_new(k, "kid", json_string(s->kid));
	json_object_set_new(k, "use", json_string("sig"));
	json_object_set_new(k, "alg", json_string("ES256"));
	set = json_pack("{s:[o]}", "keys", k);
	ENSURE(set != NULL, CS_ERR_NOMEM);
	err = cs_jcs(out, set);
	json_decref(set);
	return err;
}

static json_t *
hex_json(const uint8_t *p, size_t n)
{
	struct cs_buf b;
	json_t *s = NULL;

	cs_buf_init(&b, 2 * n + 1);
	if (cs_hex_encode(&b, p, n) == CS_OK)
		s = json_stringn((const char *)b.p, b.len);
	cs_buf_fini(&b);
	return s;
}

static enum cs_err
submod_json(const struct cs_ear_submod *m, json_t **out)
{
	json_t *tv, *ev, *tee_claims, *sm;

	tv = json_object();
	for (int i = 0; i < CS_TV_COUNT_; i++)
		json_object_set_new(tv, cs_tv_claim_name((enum cs_tv_claim)i),
		                    json_integer(m->tv.v[i]));
	ev = json_object();
	/* As Trustee's transform_claims: report_data leaves the TEE's own claims. */
	tee_claims = json_deep_copy(m->claims);
	if (json_is_object(tee_claims))
		json_object_del(tee_claims, "report_data");
	json_object_set_new(ev, m->tee, tee_claims);
	if (m->report_data != NULL)
		json_object_set_new(ev, "report_data",
		                    hex_json(m->report_data, CS_REPORT_DATA_LEN));
	if (m->runtime_data != NULL)
		json_object_set_new(ev, "runtime_data_claims", json_deep_copy(m->runtime_data));
	if (m->init_data != NULL)
		json_object_set_new(ev, "init_data", hex_json(m->init_data, m->init_data_len));
	if (m->init_data_claims != NULL)
		json_object_set_new(ev, "init_data_claims", json_deep_copy(m->init_data_claims));
	sm = json_pack("{s:s,s:o,s:s,s:o}", "ear.status",
	               cs_ear_status_name(cs_tvec_status(&m->tv)), "ear.trustworthiness-vector", tv,
	               "ear.appraisal-policy-id", m->policy_id != NULL ? m->policy_id : "default",
	               "ear.veraison.annotated-evidence", ev);
	ENSURE(sm != NULL && tv != NULL && ev != NULL, CS_ERR_NOMEM);
	*out = sm;
	return CS_OK;
}

enum cs_err
cs_ear_claims(const struct cs_ear_meta *meta, const struct cs_ear_submod *mods, size_t n,
              json_t **out)
{
	json_t *c, *submods;

	*out = NULL;
	ENSURE(n > 0, CS_ERR_INVAL);
	submods = json_object();
	ENSURE(submods != NULL, CS_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		json_t *sm;
		enum cs_err err = submod_json(&mods[i], &sm);
		if (err != CS_OK) {
			json_decref(submods);
			return err;
		}
		json_object_set_new(submods, mods[i].name, sm);
	}
	c = json_pack("{s:s,s:I,s:I,s:s,s:{s:s,s:s},s:o}", "eat_profile", CS_EAR_PROFILE, "iat",
	              (json_int_t)meta->iat, "exp", (json_int_t)(meta->iat + meta->ttl), "iss",
	              meta->iss, "ear.verifier-id", "developer", "custos", "build", meta->build,
	              "submods", submods);
	ENSURE(c != NULL, CS_ERR_NOMEM);
	*out = c;
	return CS_OK;
}

enum cs_err
cs_ear_sign(const struct cs_ear_signer *s, const json_t *claims, struct cs_buf *out)
{
	return cs_jwt_issue(CS_JWS_ES256, s->key, claims, s->header, out);
}

enum cs_err
cs_ear_verify(const struct cs_ear_signer *s, const char *tok, size_t n, int64_t now,
              json_t **claims)
{
	const struct cs_key *k = s->pub.key;

	*claims = NULL;
	ENSURE(n <= CS_EAR_MAX, CS_ERR_TOO_LARGE);
	return cs_jwt_verify(tok, n, CS_EAR_MAX, CS_JWS_ES256, k, now, 0, CS_JWT_REQUIRE_EXP,
	                     claims, NULL);
}

const json_t *
cs_ear_tee_pubkey(const json_t *claims)
{
	const json_t *v = json_object_get(claims, "submods");

	v = json_object_get(v, "cpu0");
	v = json_object_get(v, "ear.veraison.annotated-evidence");
	v = json_object_get(v, "runtime_data_claims");
	v = json_object_get(v, "tee-pubkey");
	return json_is_object(v) ? v : NULL;
}

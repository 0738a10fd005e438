/* Sealed session cookies (see session.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/rd.h"
#include "base/secret.h"
#include "crypto/aead.h"
#include "crypto/rand.h"
#include "kbs/session.h"

#define SESSION_VERSION 1
static const uint8_t aad[] = "custos-kbs-session-v1";

void
cs_session_fini(struct cs_session *s)
{
	if (s->token != NULL) {
		cs_wipe(s->token, s->token_len);
		free(s->token);
	}
	memset(s, 0, sizeof(*s));
}

enum cs_err
cs_session_seal(const uint8_t key[CS_SESSION_KEY_LEN], const struct cs_session *s,
                struct cs_buf *out)
{
	size_t tee_len = strlen(s->tee);
	struct cs_buf pt, blob;
	uint8_t *ct;
	enum cs_err err;

	ENSURE(tee_len > 0 && tee_len <= CS_SESSION_TEE_MAX, CS_ERR_INVAL);
	ENSURE(s->token_len <= CS_SESSION_TOKEN_MAX, CS_ERR_TOO_LARGE);
	cs_buf_init(&pt, CS_SESSION_TOKEN_MAX + 128);
	cs_buf_init(&blob, CS_SESSION_TOKEN_MAX + 256);
	if ((err = cs_buf_putc(&pt, (uint8_t)s->state)) != CS_OK ||
	    (err = cs_buf_putc(&pt, (uint8_t)tee_len)) != CS_OK ||
	    (err = cs_buf_append(&pt, s->tee, tee_len)) != CS_OK ||
	    (err = cs_buf_append(&pt, s->nonce, sizeof(s->nonce))) != CS_OK ||
	    (err = cs_buf_put_u64be(&pt, (uint64_t)s->expires)) != CS_OK ||
	    (err = cs_buf_put_u32be(&pt, (uint32_t)s->token_len)) != CS_OK ||
	    (err = cs_buf_append(&pt, s->token, s->token_len)) != CS_OK)
		goto out;
	if ((err = cs_buf_putc(&blob, SESSION_VERSION)) != CS_OK ||
	    (err = cs_buf_extend(&blob, CS_GCM_IV_LEN + pt.len + CS_GCM_TAG_LEN, &ct)) != CS_OK)
		goto out;
	if ((err = cs_random(ct, CS_GCM_IV_LEN)) != CS_OK)
		goto out;
	if ((err = cs_gcm_seal(key, ct, aad, sizeof(aad) - 1, pt.p, pt.len, ct + CS_GCM_IV_LEN,
	                       ct + CS_GCM_IV_LEN + pt.len)) != CS_OK)
		goto out;
	err = cs_b64url_encode(out, blob.p, blob.len);
out:
	cs_buf_fini(&pt);
	cs_buf_fini(&blob);
	return err;
}

enum cs_err
cs_session_parse(const uint8_t *p, size_t n, struct cs_session *s)
{
	struct cs_rd r;
	uint8_t state, tee_len;
	uint64_t exp;
	uint32_t tok_len;
	const uint8_t *tok;

	cs_rd_init(&r, p, n);
	TRY(cs_rd_u8(&r, &state));
	ENSURE(state == CS_SESSION_CHALLENGED || state == CS_SESSION_ATTESTED, CS_ERR_SESSION);
	s->state = (enum cs_session_state)state;
	TRY(cs_rd_u8(&r, &tee_len));
	ENSURE(tee_len > 0 && tee_len <= CS_SESSION_TEE_MAX, CS_ERR_SESSION);
	TRY(cs_rd_copy(&r, s->tee, tee_len));
	s->tee[tee_len] = '\0';
	ENSURE(strlen(s->tee) == tee_len, CS_ERR_SESSION);
	TRY(cs_rd_copy(&r, s->nonce, sizeof(s->nonce)));
	TRY(cs_rd_u64be(&r, &exp));
	s->expires = (int64_t)exp;
	TRY(cs_rd_u32be(&r, &tok_len));
	ENSURE(tok_len <= CS_SESSION_TOKEN_MAX, CS_ERR_SESSION);
	ENSURE((tok_len > 0) == (state == CS_SESSION_ATTESTED), CS_ERR_SESSION);
	TRY(cs_rd_bytes(&r, tok_len, &tok));
	TRY(cs_rd_end(&r));
	if (tok_len > 0) {
		s->token = malloc((size_t)tok_len + 1);
		ENSURE(s->token != NULL, CS_ERR_NOMEM);
		memcpy(s->token, tok, tok_len);
		s->token[tok_len] = '\0';
		s->token_len = tok_len;
	}
	return CS_OK;
}

enum cs_err
cs_session_open(const uint8_t key[CS_SESSION_KEY_LEN], const char *v, size_t n, int64_t now,
                struct cs_session *out)
{
	enum cs_err err = CS_ERR_SESSION; /* default deny */
	struct cs_buf blob;
	size_t ct_len;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > CS_SESSION_COOKIE_MAX)
		return CS_ERR_SESSION;
	cs_buf_init(&blob, CS_SESSION_COOKIE_MAX);
	if (cs_b64url_decode(&blob, v, n) != CS_OK)
		goto out;
	if (blob.len < 1 + CS_GCM_IV_LEN + CS_GCM_TAG_LEN || blob.p[0] != SESSION_VERSION)
		goto out;
	ct_len = blob.len - 1 - CS_GCM_IV_LEN - CS_GCM_TAG_LEN;
	if (cs_gcm_open(key, blob.p + 1, aad, sizeof(aad) - 1, blob.p + 1 + CS_GCM_IV_LEN, ct_len,
	                blob.p + 1 + CS_GCM_IV_LEN + ct_len, blob.p + 1 + CS_GCM_IV_LEN) != CS_OK)
		goto out;
	if (cs_session_parse(blob.p + 1 + CS_GCM_IV_LEN, ct_len, out) != CS_OK)
		goto out;
	if (out->expires <= now) {
		err = CS_ERR_EXPIRED;
		goto out;
	}
	err = CS_OK; /* the only line that grants a session */
out:
	if (err != CS_OK)
		cs_session_fini(out);
	cs_buf_fini(&blob);
	return err;
}

/*
 * A new key is written whole to a private temporary file in the same directory and then linked
 * into place: link(2) is atomic and, unlike rename(2), never replaces a key another replica
 * created meanwhile. A replica starting at the same moment thus finds no file or the whole key,
 * never a half-written one.
 */
static enum cs_err
key_create(const char *path, uint8_t key[CS_SESSION_KEY_LEN])
{
	enum cs_err err = CS_ERR_IO;
	uint8_t rnd[8];
	char tmp[4096], *slash;
	size_t dl;
	int fd, dfd;

	TRY(cs_random(rnd, sizeof(rnd)));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0],
	             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]) >= (int)sizeof(tmp))
		return CS_ERR_CONFIG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return CS_ERR_IO;
	if ((err = cs_random(key, CS_SESSION_KEY_LEN)) == CS_OK &&
	    (write(fd, key, CS_SESSION_KEY_LEN) != CS_SESSION_KEY_LEN || fsync(fd) != 0))
		err = CS_ERR_IO;
	close(fd);
	if (err == CS_OK && link(tmp, path) != 0)
		err = errno == EEXIST ? CS_ERR_EXISTS : CS_ERR_IO;
	unlink(tmp);
	if (err == CS_OK) { /* the new name survives a crash too */
		slash = strrchr(path, '/');
		dl = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
		if (snprintf(tmp, sizeof(tmp), "%.*s", (int)dl, slash == NULL ? "." : path) > 0 &&
		    (dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	if (err != CS_OK)
		cs_wipe(key, CS_SESSION_KEY_LEN);
	return err;
}

enum cs_err
cs_session_key_load(const char *path, uint8_t key[CS_SESSION_KEY_LEN])
{
	struct stat st;
	enum cs_err err = CS_ERR_IO;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		err = key_create(path, key);
		if (err != CS_ERR_EXISTS)
			return err;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* a replica created it */
	}
	if (fd < 0)
		return CS_ERR_IO;
	err = CS_ERR_CONFIG;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0 &&
	    st.st_size == CS_SESSION_KEY_LEN) {
		n = read(fd, key, CS_SESSION_KEY_LEN);
		err = n == CS_SESSION_KEY_LEN ? CS_OK : CS_ERR_IO;
	}
	close(fd);
	if (err != CS_OK)
		cs_wipe(key, CS_SESSION_KEY_LEN);
	return err;
}

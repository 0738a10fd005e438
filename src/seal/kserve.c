/* KServe JWE model files (docs/sealed-format.md §7): RFC 7516 compact, dir + A256GCM. */
#include "seal/kserve.h"

#include <string.h>
#include <sys/mman.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/secret.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "seal/seal.h"

int
cs_kserve_is_jwe(const uint8_t *p, size_t n)
{
	return n >= 3 && p[0] == 'e' && p[1] == 'y' && p[2] == 'J';
}

enum cs_err
cs_kserve_key(const uint8_t *res, size_t n, uint8_t key[32])
{
	struct cs_jwk jwk;
	enum cs_err err;

	ENSURE(res != NULL && key != NULL, CS_ERR_INVAL);
	if (n > 0 && res[0] == '{') {
		cs_jwk_init(&jwk);
		err = cs_jwk_parse_text(res, n, &jwk);
		if (err == CS_OK && (jwk.kty != CS_JWK_OCT || jwk.oct_len != 32))
			err = CS_ERR_KEY;
		if (err == CS_OK)
			memcpy(key, jwk.oct, 32);
		cs_jwk_fini(&jwk);
		return err;
	}
	/* 43 characters of base64url without padding encode 32 bytes. */
	if (n == 43 && cs_b64url_decode_fixed(key, 32, (const char *)res, n) == CS_OK)
		return CS_OK;
	ENSURE(n == 32, CS_ERR_KEY);
	memcpy(key, res, 32);
	return CS_OK;
}

enum cs_err
cs_kserve_jwe_decrypt(const uint8_t *jwe, size_t n, const uint8_t key[32], void **out, size_t *len)
{
	enum cs_err err;
	struct cs_jwk jwk;
	struct cs_buf pt;
	void *p;

	ENSURE(jwe != NULL && key != NULL && out != NULL && len != NULL, CS_ERR_INVAL);
	*out = NULL;
	*len = 0;
	ENSURE(n <= CS_KSERVE_JWE_MAX, CS_ERR_TOO_LARGE);
	ENSURE(cs_kserve_is_jwe(jwe, n), CS_ERR_UNSUPPORTED);
	cs_jwk_init(&jwk);
	cs_buf_init(&pt, n);
	if ((err = cs_jwk_from_oct(key, 32, NULL, &jwk)) != CS_OK ||
	    (err = cs_jwe_decrypt(&jwk, CS_JWE_DIR, jwe, n, n, &pt)) != CS_OK)
		goto out;
	if (pt.len == 0) {
		err = CS_OK;
		goto out;
	}
	err = CS_ERR_NOMEM;
	p = mmap(NULL, pt.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto out;
	(void)madvise(p, pt.len, MADV_DONTDUMP);
	memcpy(p, pt.p, pt.len);
	*out = p;
	*len = pt.len;
	err = CS_OK;
out:
	cs_buf_fini(&pt); /* wipes */
	cs_jwk_fini(&jwk);
	return err;
}

/*
 * Test-only JOSE tool, driven by jose_interop.py against python3-jwcrypto:
 *   jose_tool genkey P-256|P-384|P-521|RSA|Ed25519|oct   > private JWK
 *   jose_tool pubjwk KEY                                 > canonical public JWK
 *   jose_tool encrypt KEY ALG|auto flat|compact          < plaintext > JWE
 *   jose_tool decrypt KEY ALG[,ALG...]                   < JWE > plaintext
 *   jose_tool sign KEY ALG                               < payload > compact JWS
 *   jose_tool verify KEY ALG[,ALG...]                    < JWS > payload
 * KEY is a file holding a JWK. Exit 0 on success, 1 on a negative verdict (decryption or
 * verification failed), 2 on usage or I/O errors; the error's name goes to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "crypto/rand.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/jws.h"

#define IO_MAX (16u << 20)

static int
read_all(FILE *f, struct cs_buf *b)
{
	uint8_t chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (cs_buf_append(b, chunk, n) != CS_OK)
			return -1;
	return ferror(f) ? -1 : 0;
}

static int
load_jwk(const char *path, struct cs_jwk *jwk)
{
	struct cs_buf b;
	FILE *f = fopen(path, "rb");
	enum cs_err err = CS_ERR_IO;

	cs_jwk_init(jwk);
	cs_buf_init(&b, CS_JWK_TEXT_MAX);
	if (f != NULL && read_all(f, &b) == 0)
		err = cs_jwk_parse_text(b.p, b.len, jwk);
	if (f != NULL)
		fclose(f);
	cs_buf_fini(&b);
	if (err != CS_OK)
		fprintf(stderr, "jose_tool: %s: %s\n", path, cs_err_name(err));
	return err == CS_OK ? 0 : -1;
}

/* Parses "A,B,C" into an OR of flags with the given parser. */
static int
parse_algs(const char *list, int jwe, unsigned *out)
{
	*out = 0;
	while (*list) {
		size_t n = strcspn(list, ",");
		enum cs_jwe_alg a;
		enum cs_jws_alg s;

		if (jwe ? cs_jwe_alg_from_name(list, n, &a) != CS_OK
		        : cs_jws_alg_from_name(list, n, &s) != CS_OK)
			return -1;
		*out |= jwe ? (unsigned)a : (unsigned)s;
		list += n + (list[n] == ',');
	}
	return *out ? 0 : -1;
}

static int
genkey(const char *type, struct cs_buf *out)
{
	static const struct {
		const char *name;
		enum cs_key_type t;
	} types[] = {{"P-256", CS_KEY_EC_P256},
	             {"P-384", CS_KEY_EC_P384},
	             {"P-521", CS_KEY_EC_P521},
	             {"RSA", CS_KEY_RSA},
	             {"Ed25519", CS_KEY_ED25519}};
	struct cs_key *k = NULL;
	struct cs_jwk jwk;
	json_t *j = NULL;
	char *text;
	enum cs_err err = CS_ERR_INVAL;

	cs_jwk_init(&jwk);
	if (strcmp(type, "oct") == 0) {
		uint8_t s[32];

		err = cs_random(s, sizeof(s));
		if (err == CS_OK)
			err = cs_jwk_from_oct(s, sizeof(s), NULL, &jwk);
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(type, types[i].name) != 0)
			continue;
		err = cs_key_generate(types[i].t, 2048, &k);
		if (err == CS_OK)
			err = cs_jwk_from_key(k, NULL, &jwk);
	}
	if (err == CS_OK)
		err = cs_jwk_private_json(&jwk, &j);
	if (err == CS_OK) {
		text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		err = text != NULL ? cs_buf_append_str(out, text) : CS_ERR_NOMEM;
		free(text);
	}
	json_decref(j);
	cs_jwk_fini(&jwk);
	return err;
}

int
main(int argc, char **argv)
{
	struct cs_buf in, out;
	struct cs_jwk jwk;
	unsigned allow;
	enum cs_err err = CS_ERR_INVAL;
	int negative = 0;

	cs_jwk_init(&jwk);
	cs_buf_init(&in, IO_MAX);
	cs_buf_init(&out, IO_MAX);
	if (argc == 3 && strcmp(argv[1], "genkey") == 0) {
		err = genkey(argv[2], &out);
		goto done;
	}
	if (argc < 3 || load_jwk(argv[2], &jwk) != 0)
		goto usage;
	if (read_all(stdin, &in) != 0) {
		err = CS_ERR_IO;
		goto done;
	}
	if (argc == 3 && strcmp(argv[1], "pubjwk") == 0) {
		err = cs_jwk_public_text(&jwk, &out);
	} else if (argc == 5 && strcmp(argv[1], "encrypt") == 0) {
		enum cs_jwe_alg alg = 0;

		if (strcmp(argv[3], "auto") != 0 &&
		    cs_jwe_alg_from_name(argv[3], strlen(argv[3]), &alg) != CS_OK)
			goto usage;
		err = cs_jwe_encrypt(&jwk, alg,
		                     strcmp(argv[4], "compact") == 0 ? CS_JWE_COMPACT : CS_JWE_FLAT,
		                     in.p, in.len, &out);
	} else if (argc == 4 && strcmp(argv[1], "decrypt") == 0) {
		if (parse_algs(argv[3], 1, &allow) != 0)
			goto usage;
		err = cs_jwe_decrypt(&jwk, allow, in.p, in.len, IO_MAX, &out);
		negative = 1;
	} else if (argc == 4 && strcmp(argv[1], "sign") == 0) {
		enum cs_jws_alg alg;

		if (cs_jws_alg_from_name(argv[3], strlen(argv[3]), &alg) != CS_OK)
			goto usage;
		err = cs_jws_sign(alg, jwk.key, NULL, in.p, in.len, &out);
	} else if (argc == 4 && strcmp(argv[1], "verify") == 0) {
		if (parse_algs(argv[3], 0, &allow) != 0 || jwk.key == NULL)
			goto usage;
		/* A trailing newline from a shell is not part of a compact JWS. */
		while (in.len > 0 && (in.p[in.len - 1] == '\n' || in.p[in.len - 1] == '\r'))
			in.len--;
		err = cs_jws_verify((const char *)in.p, in.len, IO_MAX, allow, jwk.key, &out, NULL,
		                    NULL);
		negative = 1;
	} else {
		goto usage;
	}
done:
	if (err == CS_OK &&
	    fwrite(out.p ? out.p : (const uint8_t *)"", 1, out.len, stdout) != out.len)
		err = CS_ERR_IO;
	cs_buf_fini(&in);
	cs_buf_fini(&out);
	cs_jwk_fini(&jwk);
	if (err != CS_OK)
		fprintf(stderr, "jose_tool: %s\n", cs_err_name(err));
	return err == CS_OK ? 0 : negative && err != CS_ERR_IO ? 1 : 2;
usage:
	fprintf(stderr, "usage: see the comment at the top of tests/interop/jose_tool.c\n");
	cs_buf_fini(&in);
	cs_buf_fini(&out);
	cs_jwk_fini(&jwk);
	return 2;
}

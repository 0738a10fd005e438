/*
 * Keys: generation, PEM/DER in and out, EC raw coordinates with on-curve checks, RSA parts,
 * public-key equality, and refusal of unsupported or weak keys.
 */
#include "crypto/key.h"
#include "crypto/sig.h"

#include "t.h"
#include "t_hex.h"

/* Generated with the openssl CLI for these tests. */
static const char secp256k1_pub[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAELdBJeAgS6QSxBuAb/pelVcLyE//9ebM+\n"
        "F/X8AR4MYhJ3KGm0Wit881ugu1p5DY5sOJ6DALMPztL/z5Zw0v7vVw==\n"
        "-----END PUBLIC KEY-----\n";
static const char x25519_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                                 "MCowBQYDK2VuAyEAUhS6gvR9KycTR6LJDmwrsr4RlKkaZDpzmlnwPFbL/0A=\n"
                                 "-----END PUBLIC KEY-----\n";
static const char rsa1024_pub[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCvVON8nf1zAKpyDsCJx/+tlm6F\n"
        "wxplqgv9f6bmy+Vjn/nndFfpZn9xIY/2XZoOKH8ykOZA+YQ3Mcsewsl1NJm0dJ2a\n"
        "1Cth8CxeZHtwDWYPiuoRHkohZz/YJUH7OQPF7p+jJl9F9HxCxdno9YBf6zM5HSZv\n"
        "y9ingFmvkQbnkx5f+wIDAQAB\n"
        "-----END PUBLIC KEY-----\n";
/* Traditional (SEC 1) EC private key PEM. */
static const char p256_sec1[] = "-----BEGIN EC PRIVATE KEY-----\n"
                                "MHcCAQEEIJ4DAC4dtY2XSNFXJXRq2vs+xVAdv6YKbgRAC2NCvTqroAoGCCqGSM49\n"
                                "AwEHoUQDQgAEVffIjMtvsLyvppeOvI0+NU2YSc3dskab8AQ+tdolFyozUbrrZaRf\n"
                                "O8jVihjSn1/gYQ33rQdNYTtGEkcgCfirXw==\n"
                                "-----END EC PRIVATE KEY-----\n";

/* PKCS#8 encrypted under the passphrase "x". */
static const char p256_encrypted[] =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhR3ScnR4BMxwICCAAw\n"
        "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEMhVJAW84YUA+kjJ6xe+E7MEgZBJ\n"
        "1tEoN/dUm1BIb4hp2hegBlacP3Q8uFNNIAeLbEiUjZRlXAoFZQofc4zPeca1nXb3\n"
        "BfmrewLMCog9pA6XeI+yhZAsOUkNV/mDUWuVvWYMUfAUjzJqtyH11TeLvQQRir74\n"
        "GtaEXBzTnP+imAp+ZijmIRWoDEGM493syMP9mTWktB2eQhomMwss0wcKb1zEbAc=\n"
        "-----END ENCRYPTED PRIVATE KEY-----\n";

static const uint8_t msg[] = "message";

static void
check_pem_roundtrip(enum cs_key_type t)
{
	struct cs_key *k = NULL, *priv = NULL, *pub = NULL, *der = NULL;
	struct cs_buf pem, pubpem, spki, sig;

	cs_buf_init(&pem, 65536);
	cs_buf_init(&pubpem, 65536);
	cs_buf_init(&spki, 65536);
	cs_buf_init(&sig, 4096);
	CHECK_OK(cs_key_generate(t, 2048, &k));
	if (k == NULL)
		goto out;
	CHECK(cs_key_type(k) == t && cs_key_has_private(k));
	CHECK_OK(cs_key_to_pem(k, true, &pem));
	CHECK(pem.len > 0 && strstr((char *)pem.p, "-----BEGIN PRIVATE KEY-----") != NULL);
	CHECK_OK(cs_key_to_pem(k, false, &pubpem));
	CHECK(pubpem.len > 0 && strstr((char *)pubpem.p, "-----BEGIN PUBLIC KEY-----") != NULL);
	CHECK_OK(cs_key_to_spki_der(k, &spki));
	CHECK_OK(cs_key_from_pem(pem.p, pem.len, &priv));
	CHECK_OK(cs_key_from_pem(pubpem.p, pubpem.len, &pub));
	CHECK_OK(cs_key_from_der(spki.p, spki.len, &der));
	if (priv == NULL || pub == NULL || der == NULL)
		goto out;
	CHECK(cs_key_has_private(priv) && !cs_key_has_private(pub) && !cs_key_has_private(der));
	CHECK(cs_key_type(priv) == t && cs_key_type(pub) == t);
	CHECK(cs_key_public_eq(k, priv) && cs_key_public_eq(k, pub) && cs_key_public_eq(pub, der));
	/* The reloaded private key signs for the original public key. */
	if (t == CS_KEY_ED25519) {
		CHECK_OK(cs_ed25519_sign(priv, msg, sizeof(msg), &sig));
		CHECK_OK(cs_ed25519_verify(k, msg, sizeof(msg), sig.p, sig.len));
	} else if (t == CS_KEY_RSA) {
		CHECK_OK(cs_rsa_pkcs1_sign(priv, CS_SHA256, msg, sizeof(msg), &sig));
		CHECK_OK(cs_rsa_pkcs1_verify(der, CS_SHA256, msg, sizeof(msg), sig.p, sig.len));
	} else {
		CHECK_OK(cs_ecdsa_sign(priv, CS_SHA256, msg, sizeof(msg), &sig));
		CHECK_OK(cs_ecdsa_verify(der, CS_SHA256, msg, sizeof(msg), sig.p, sig.len,
		                         CS_ECDSA_RAW_BE));
	}
	/* A public key asked for its private PEM gives the SPKI. */
	cs_buf_reset(&pem);
	CHECK_OK(cs_key_to_pem(pub, true, &pem));
	CHECK(pem.len == pubpem.len && memcmp(pem.p, pubpem.p, pem.len) == 0);
	/* DER with a trailing byte; PEM cut short. */
	{
		struct cs_key *bad = NULL;
		uint8_t *p = spki.p;
		CHECK_OK(cs_buf_putc(&spki, 0));
		p = spki.p;
		CHECK_ERR(cs_key_from_der(p, spki.len, &bad), CS_ERR_TRAILING);
		CHECK_ERR(cs_key_from_der(p, spki.len - 2, &bad), CS_ERR_KEY);
		CHECK_ERR(cs_key_from_pem(pubpem.p, pubpem.len / 2, &bad), CS_ERR_KEY);
		CHECK(bad == NULL);
	}
out:
	cs_key_free(k);
	cs_key_free(priv);
	cs_key_free(pub);
	cs_key_free(der);
	cs_buf_fini(&pem);
	cs_buf_fini(&pubpem);
	cs_buf_fini(&spki);
	cs_buf_fini(&sig);
}

static void
test_pem_der(void)
{
	check_pem_roundtrip(CS_KEY_EC_P256);
	check_pem_roundtrip(CS_KEY_EC_P384);
	check_pem_roundtrip(CS_KEY_EC_P521);
	check_pem_roundtrip(CS_KEY_ED25519);
	check_pem_roundtrip(CS_KEY_RSA);
}

static void
test_unsupported(void)
{
	struct cs_key *k = NULL;

	CHECK_ERR(cs_key_from_pem((const uint8_t *)secp256k1_pub, strlen(secp256k1_pub), &k),
	          CS_ERR_UNSUPPORTED);
	CHECK_ERR(cs_key_from_pem((const uint8_t *)x25519_pub, strlen(x25519_pub), &k),
	          CS_ERR_UNSUPPORTED);
	CHECK_ERR(cs_key_from_pem((const uint8_t *)rsa1024_pub, strlen(rsa1024_pub), &k),
	          CS_ERR_KEY);
	CHECK_ERR(cs_key_from_pem((const uint8_t *)"garbage", 7, &k), CS_ERR_KEY);
	/* Encrypted keys are refused without asking for a passphrase. */
	CHECK_ERR(cs_key_from_pem((const uint8_t *)p256_encrypted, strlen(p256_encrypted), &k),
	          CS_ERR_KEY);
	CHECK_ERR(cs_key_from_der((const uint8_t *)"\x30\x00", 2, &k), CS_ERR_KEY);
	CHECK_ERR(cs_key_from_der(NULL, 0, &k), CS_ERR_KEY);
	CHECK(k == NULL);
	CHECK_ERR(cs_key_generate(CS_KEY_RSA, 1024, &k), CS_ERR_INVAL);
	CHECK_ERR(cs_key_generate((enum cs_key_type)42, 0, &k), CS_ERR_INVAL);
	/* Traditional SEC 1 private keys load. */
	CHECK_OK(cs_key_from_pem((const uint8_t *)p256_sec1, strlen(p256_sec1), &k));
	CHECK(k != NULL && cs_key_type(k) == CS_KEY_EC_P256 && cs_key_has_private(k));
	cs_key_free(k);
	cs_key_free(NULL);
}

static void
check_ec_raw(enum cs_key_type t)
{
	size_t cl = cs_key_ec_coord_len(t);
	uint8_t x[66], y[66], d[66], x2[66], y2[66], d2[66];
	struct cs_key *k = NULL, *pub = NULL, *priv = NULL, *bad = NULL, *other = NULL;

	CHECK_OK(cs_key_generate(t, 0, &k));
	CHECK_OK(cs_key_generate(t, 0, &other));
	if (k == NULL || other == NULL)
		goto out;
	CHECK_OK(cs_key_ec_to_raw(k, x, y, d));
	CHECK_OK(cs_key_ec_from_raw(t, x, cl, y, cl, NULL, 0, &pub));
	CHECK_OK(cs_key_ec_from_raw(t, x, cl, y, cl, d, cl, &priv));
	if (pub == NULL || priv == NULL)
		goto out;
	CHECK(!cs_key_has_private(pub) && cs_key_has_private(priv));
	CHECK(cs_key_public_eq(k, pub) && cs_key_public_eq(k, priv));
	CHECK(!cs_key_public_eq(k, other));
	CHECK_OK(cs_key_ec_to_raw(priv, x2, y2, d2));
	CHECK_MEM(x2, x, cl);
	CHECK_MEM(y2, y, cl);
	CHECK_MEM(d2, d, cl);
	/* A public key's d comes back zeroed. */
	memset(d2, 0xaa, sizeof(d2));
	CHECK_OK(cs_key_ec_to_raw(pub, x2, y2, d2));
	CHECK(d2[0] == 0 && d2[cl - 1] == 0);

	/* Off the curve. */
	y[cl - 1] ^= 1;
	CHECK_ERR(cs_key_ec_from_raw(t, x, cl, y, cl, NULL, 0, &bad), CS_ERR_KEY);
	y[cl - 1] ^= 1;
	/* Wrong lengths, the other curve's length. */
	CHECK_ERR(cs_key_ec_from_raw(t, x, cl - 1, y, cl, NULL, 0, &bad), CS_ERR_KEY);
	CHECK_ERR(cs_key_ec_from_raw(t, x, cl, y, cl + 1, NULL, 0, &bad), CS_ERR_KEY);
	CHECK_ERR(cs_key_ec_from_raw(t, x, cl, y, cl, d, cl - 1, &bad), CS_ERR_KEY);
	/* d that does not belong to (x, y); d = 0. */
	CHECK_OK(cs_key_ec_to_raw(other, x2, y2, d2));
	CHECK_ERR(cs_key_ec_from_raw(t, x, cl, y, cl, d2, cl, &bad), CS_ERR_KEY);
	memset(d2, 0, sizeof(d2));
	CHECK_ERR(cs_key_ec_from_raw(t, x, cl, y, cl, d2, cl, &bad), CS_ERR_KEY);
	/* The point at infinity has no affine encoding; all zeros is not on the curve. */
	memset(x2, 0, sizeof(x2));
	memset(y2, 0, sizeof(y2));
	CHECK_ERR(cs_key_ec_from_raw(t, x2, cl, y2, cl, NULL, 0, &bad), CS_ERR_KEY);
	/* Coordinates >= p (all ones), as a public key and with the valid point's x. */
	memset(x2, 0xff, sizeof(x2));
	memset(y2, 0xff, sizeof(y2));
	CHECK_ERR(cs_key_ec_from_raw(t, x2, cl, y2, cl, NULL, 0, &bad), CS_ERR_KEY);
	CHECK_ERR(cs_key_ec_from_raw(t, x, cl, y2, cl, NULL, 0, &bad), CS_ERR_KEY);
	CHECK(bad == NULL);
	CHECK_ERR(cs_key_ec_from_raw(CS_KEY_RSA, x, cl, y, cl, NULL, 0, &bad), CS_ERR_INVAL);
out:
	cs_key_free(k);
	cs_key_free(pub);
	cs_key_free(priv);
	cs_key_free(other);
}

static void
test_ec_raw(void)
{
	CHECK(cs_key_ec_coord_len(CS_KEY_EC_P256) == 32);
	CHECK(cs_key_ec_coord_len(CS_KEY_EC_P384) == 48);
	CHECK(cs_key_ec_coord_len(CS_KEY_EC_P521) == 66);
	CHECK(cs_key_ec_coord_len(CS_KEY_RSA) == 0);
	check_ec_raw(CS_KEY_EC_P256);
	check_ec_raw(CS_KEY_EC_P384);
	check_ec_raw(CS_KEY_EC_P521);
}

/* Reads the u32be-length-prefixed parts that cs_key_rsa_to_parts appends. */
static const uint8_t *
next_part(const struct cs_buf *b, size_t *off, size_t *len)
{
	const uint8_t *p = b->p + *off;

	*len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	*off += 4 + *len;
	return p + 4;
}

static void
test_rsa_parts(void)
{
	struct cs_key *k = NULL, *pub = NULL, *full = NULL, *donly = NULL, *bad = NULL;
	struct cs_buf n, e, priv, sig;
	struct cs_rsa_parts parts = {0};
	size_t off = 0;

	cs_buf_init(&n, 4096);
	cs_buf_init(&e, 16);
	cs_buf_init(&priv, 8192);
	cs_buf_init(&sig, 4096);
	CHECK_OK(cs_key_generate(CS_KEY_RSA, 2048, &k));
	if (k == NULL)
		goto out;
	CHECK_OK(cs_key_rsa_to_parts(k, &n, &e, &priv));
	CHECK(n.len == 256 && e.len == 3 && e.p[0] == 0x01 && e.p[2] == 0x01);
	parts.n = n.p, parts.n_len = n.len;
	parts.e = e.p, parts.e_len = e.len;
	CHECK_OK(cs_key_rsa_from_parts(&parts, &pub));
	parts.d = next_part(&priv, &off, &parts.d_len);
	CHECK_OK(cs_key_rsa_from_parts(&parts, &donly));
	parts.p = next_part(&priv, &off, &parts.p_len);
	/* d with only some of the CRT parts is refused. */
	CHECK_ERR(cs_key_rsa_from_parts(&parts, &bad), CS_ERR_KEY);
	parts.q = next_part(&priv, &off, &parts.q_len);
	parts.dp = next_part(&priv, &off, &parts.dp_len);
	parts.dq = next_part(&priv, &off, &parts.dq_len);
	parts.qi = next_part(&priv, &off, &parts.qi_len);
	CHECK(off == priv.len);
	CHECK_OK(cs_key_rsa_from_parts(&parts, &full));
	if (pub == NULL || full == NULL || donly == NULL)
		goto out;
	CHECK(!cs_key_has_private(pub) && cs_key_has_private(full) && cs_key_has_private(donly));
	CHECK(cs_key_public_eq(k, pub) && cs_key_public_eq(k, full));
	CHECK_OK(cs_rsa_pss_sign(full, CS_SHA256, -1, msg, sizeof(msg), &sig));
	CHECK_OK(cs_rsa_pss_verify(pub, CS_SHA256, -1, msg, sizeof(msg), sig.p, sig.len));
	cs_buf_reset(&sig);
	CHECK_OK(cs_rsa_pkcs1_sign(donly, CS_SHA256, msg, sizeof(msg), &sig));
	CHECK_OK(cs_rsa_pkcs1_verify(pub, CS_SHA256, msg, sizeof(msg), sig.p, sig.len));
	/* Leading zeros in n are allowed. */
	{
		uint8_t padded[257];
		struct cs_rsa_parts pp = {0};
		struct cs_key *k2 = NULL;
		padded[0] = 0;
		memcpy(padded + 1, n.p, 256);
		pp.n = padded, pp.n_len = 257, pp.e = e.p, pp.e_len = e.len;
		CHECK_OK(cs_key_rsa_from_parts(&pp, &k2));
		CHECK(k2 != NULL && cs_key_public_eq(k2, k));
		cs_key_free(k2);
		/* Half the modulus (1024 bits) is too small; an even modulus is invalid. */
		pp.n = n.p, pp.n_len = 128;
		CHECK_ERR(cs_key_rsa_from_parts(&pp, &k2), CS_ERR_KEY);
		memcpy(padded, n.p, 256);
		padded[255] &= 0xfe;
		pp.n = padded, pp.n_len = 256;
		CHECK_ERR(cs_key_rsa_from_parts(&pp, &k2), CS_ERR_KEY);
		pp.n = n.p, pp.n_len = 256, pp.e = NULL, pp.e_len = 0;
		CHECK_ERR(cs_key_rsa_from_parts(&pp, &k2), CS_ERR_KEY);
	}
	/* A public key has no private parts to give. */
	cs_buf_reset(&priv);
	cs_buf_reset(&n);
	cs_buf_reset(&e);
	CHECK_OK(cs_key_rsa_to_parts(pub, &n, &e, &priv));
	CHECK(priv.len == 0 && n.len == 256);
out:
	cs_key_free(k);
	cs_key_free(pub);
	cs_key_free(full);
	cs_key_free(donly);
	cs_buf_fini(&n);
	cs_buf_fini(&e);
	cs_buf_fini(&priv);
	cs_buf_fini(&sig);
}

int
main(void)
{
	T_RUN(test_pem_der);
	T_RUN(test_unsupported);
	T_RUN(test_ec_raw);
	T_RUN(test_rsa_parts);
	return t_done();
}

/*
 * ECDH (RFC 7518 Appendix C keys), RSA-OAEP-256 and RSAES-PKCS1-v1_5, including the
 * Bleichenbacher-safe key decryption that returns the caller's fallback for any bad input.
 */
#include "crypto/pke.h"
#include "crypto/rand.h"

#include <stdbool.h>
#include <unistd.h>

#include "t.h"
#include "t_hex.h"

static void
test_ecdh_rfc7518(void)
{
	uint8_t ax[32], ay[32], ad[32], bx[32], by[32], bd[32], z[32];
	struct cs_key *alice = NULL, *bob = NULL, *bob_pub = NULL, *alice_pub = NULL;
	struct cs_key *p384 = NULL;
	struct cs_buf s1, s2;

	t_hex("808d060082c176eed3e776a4ac598cc8672c1779f974eecc9b03411ca5b9495d", ax, 32);
	t_hex("48b5bfc527dfce53d6ac7115237d031ccff87a0570b77350a9e503ee7305a69b", ay, 32);
	t_hex("d3f3716913d4310a0026de741b3f18893afc8114f0c84682ba677e313a13988a", ad, 32);
	t_hex("c1e349cb61ec70248ce801034c3834e1b88ebe1161cb25af38741f785fcfc4c4", bx, 32);
	t_hex("7bc96708ef80952b53f8d2555fe72b841ed04588628b1d378a594939500ec9c9", by, 32);
	t_hex("5449836690d75caf29f0dd029ddb31b3ddb8aba9d2d515c5012465e817d4a9dc", bd, 32);
	t_hex("9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa7798cfe90c4", z, 32);
	cs_buf_init(&s1, 256);
	cs_buf_init(&s2, 256);
	CHECK_OK(cs_key_ec_from_raw(CS_KEY_EC_P256, ax, 32, ay, 32, ad, 32, &alice));
	CHECK_OK(cs_key_ec_from_raw(CS_KEY_EC_P256, bx, 32, by, 32, bd, 32, &bob));
	CHECK_OK(cs_key_ec_from_raw(CS_KEY_EC_P256, bx, 32, by, 32, NULL, 0, &bob_pub));
	CHECK_OK(cs_key_ec_from_raw(CS_KEY_EC_P256, ax, 32, ay, 32, NULL, 0, &alice_pub));
	CHECK_OK(cs_key_generate(CS_KEY_EC_P384, 0, &p384));
	if (!alice || !bob || !bob_pub || !alice_pub || !p384)
		goto out;
	/* Both directions give the Z of the RFC. */
	CHECK_OK(cs_ecdh(alice, bob_pub, &s1));
	CHECK_OK(cs_ecdh(bob, alice_pub, &s2));
	CHECK(s1.len == 32 && s2.len == 32);
	CHECK_MEM(s1.p, z, 32);
	CHECK_MEM(s2.p, z, 32);
	/* Curve mismatch, public-only own key. */
	CHECK_ERR(cs_ecdh(alice, p384, &s1), CS_ERR_KEY);
	CHECK_ERR(cs_ecdh(alice_pub, bob_pub, &s1), CS_ERR_KEY);
	CHECK(s1.len == 32);
	/* P-384 and P-521 agree with themselves at their coordinate length. */
	{
		static const enum cs_key_type ts[] = {CS_KEY_EC_P384, CS_KEY_EC_P521};
		size_t i;
		for (i = 0; i < 2; i++) {
			struct cs_key *a = NULL, *b = NULL;
			cs_buf_reset(&s1);
			cs_buf_reset(&s2);
			CHECK_OK(cs_key_generate(ts[i], 0, &a));
			CHECK_OK(cs_key_generate(ts[i], 0, &b));
			CHECK_OK(cs_ecdh(a, b, &s1));
			CHECK_OK(cs_ecdh(b, a, &s2));
			CHECK(s1.len == cs_key_ec_coord_len(ts[i]) && s1.len == s2.len);
			CHECK(s1.len == s2.len && memcmp(s1.p, s2.p, s1.len) == 0);
			cs_key_free(a);
			cs_key_free(b);
		}
	}
out:
	cs_key_free(alice);
	cs_key_free(bob);
	cs_key_free(bob_pub);
	cs_key_free(alice_pub);
	cs_key_free(p384);
	cs_buf_fini(&s1);
	cs_buf_fini(&s2);
}

static struct cs_key *rsa_key, *rsa_other;

static void
test_oaep256(void)
{
	uint8_t cek[32];
	struct cs_buf ct, pt;
	size_t i;

	cs_buf_init(&ct, 4096);
	cs_buf_init(&pt, 4096);
	CHECK_OK(cs_random(cek, sizeof(cek)));
	CHECK_OK(cs_rsa_oaep256_encrypt(rsa_key, cek, sizeof(cek), &ct));
	CHECK(ct.len == 256);
	CHECK_OK(cs_rsa_oaep256_decrypt(rsa_key, ct.p, ct.len, &pt));
	CHECK(pt.len == 32 && memcmp(pt.p, cek, 32) == 0);
	/* Randomized: a second encryption differs. */
	CHECK_OK(cs_rsa_oaep256_encrypt(rsa_key, cek, sizeof(cek), &ct));
	CHECK(ct.len == 512 && memcmp(ct.p, ct.p + 256, 256) != 0);
	cs_buf_reset(&pt);
	for (i = 0; i < 256; i += 31) {
		ct.p[i] ^= 0x01;
		CHECK_ERR(cs_rsa_oaep256_decrypt(rsa_key, ct.p, 256, &pt), CS_ERR_DECRYPT);
		ct.p[i] ^= 0x01;
	}
	CHECK_ERR(cs_rsa_oaep256_decrypt(rsa_key, ct.p, 255, &pt), CS_ERR_DECRYPT);
	CHECK_ERR(cs_rsa_oaep256_decrypt(rsa_key, ct.p, 257, &pt), CS_ERR_DECRYPT);
	CHECK_ERR(cs_rsa_oaep256_decrypt(rsa_other, ct.p, 256, &pt), CS_ERR_DECRYPT);
	CHECK(pt.len == 0);
	/* Maximum message for OAEP-SHA-256 with a 2048-bit key: 256 - 2*32 - 2 = 190 bytes. */
	{
		uint8_t big[191] = {0};
		cs_buf_reset(&ct);
		CHECK_OK(cs_rsa_oaep256_encrypt(rsa_key, big, 190, &ct));
		CHECK_ERR(cs_rsa_oaep256_encrypt(rsa_key, big, 191, &ct), CS_ERR_TOO_LARGE);
		CHECK(ct.len == 256);
		CHECK_OK(cs_rsa_oaep256_decrypt(rsa_key, ct.p, 256, &pt));
		CHECK(pt.len == 190);
	}
	/* PKCS#1 v1.5 ciphertext is not OAEP. */
	cs_buf_reset(&ct);
	cs_buf_reset(&pt);
	CHECK_OK(cs_rsa_pkcs1_encrypt(rsa_key, cek, sizeof(cek), &ct));
	CHECK_ERR(cs_rsa_oaep256_decrypt(rsa_key, ct.p, ct.len, &pt), CS_ERR_DECRYPT);
	cs_buf_fini(&ct);
	cs_buf_fini(&pt);
}

static void
test_pkcs1_key_decrypt(void)
{
	uint8_t cek[32], fb[32], out[32], short_key[16];
	struct cs_buf ct;
	size_t i;

	cs_buf_init(&ct, 4096);
	CHECK_OK(cs_random(cek, sizeof(cek)));
	CHECK_OK(cs_random(fb, sizeof(fb)));
	CHECK_OK(cs_random(short_key, sizeof(short_key)));
	CHECK_OK(cs_rsa_pkcs1_encrypt(rsa_key, cek, sizeof(cek), &ct));
	CHECK(ct.len == 256);
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, fb, 32, out));
	CHECK_MEM(out, cek, 32);
	/* Bad padding anywhere: the fallback, and success. */
	for (i = 0; i < 256; i += 15) {
		ct.p[i] ^= 0x40;
		memset(out, 0, sizeof(out));
		CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, fb, 32, out));
		CHECK_MEM(out, fb, 32);
		ct.p[i] ^= 0x40;
	}
	/* Right padding, wrong key length (16 bytes where 32 are expected, and the reverse). */
	cs_buf_reset(&ct);
	CHECK_OK(cs_rsa_pkcs1_encrypt(rsa_key, short_key, sizeof(short_key), &ct));
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, fb, 32, out));
	CHECK_MEM(out, fb, 32);
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, fb, 16, out));
	CHECK_MEM(out, short_key, 16);
	cs_buf_reset(&ct);
	CHECK_OK(cs_rsa_pkcs1_encrypt(rsa_key, cek, sizeof(cek), &ct));
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, fb, 16, out));
	CHECK_MEM(out, fb, 16);
	/* Wrong private key, wrong ciphertext length, ciphertext >= n, key longer than k - 11. */
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_other, ct.p, ct.len, fb, 32, out));
	CHECK_MEM(out, fb, 32);
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len - 1, fb, 32, out));
	CHECK_MEM(out, fb, 32);
	memset(ct.p, 0xff, ct.len);
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, fb, 32, out));
	CHECK_MEM(out, fb, 32);
	{
		static uint8_t bigfb[250];
		static uint8_t bigout[250];
		CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, bigfb, 250, bigout));
		CHECK_MEM(bigout, bigfb, 250);
	}
	/* out may be the fallback buffer itself. */
	cs_buf_reset(&ct);
	CHECK_OK(cs_rsa_pkcs1_encrypt(rsa_key, cek, sizeof(cek), &ct));
	memcpy(out, fb, 32);
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, out, 32, out));
	CHECK_MEM(out, cek, 32);
	/* The decryption-side checks do not accept a public key. */
	CHECK_ERR(cs_rsa_pkcs1_decrypt_key(rsa_key, ct.p, ct.len, NULL, 32, out), CS_ERR_INVAL);
	cs_buf_fini(&ct);
}

/*
 * A real peer: Debian's python3-cryptography (a jwcrypto dependency) encrypts to our public key
 * with OAEP (SHA-256 / MGF1-SHA-256), OAEP with MGF1-SHA-1 (which must not decrypt: the MGF1
 * digest matters) and PKCS#1 v1.5, and derives ECDH with our P-384 key.
 */
static const char peer_py[] =
        "import sys\n"
        "from cryptography.hazmat.primitives import serialization, hashes\n"
        "from cryptography.hazmat.primitives.asymmetric import padding, ec\n"
        "rsa = serialization.load_pem_public_key(open(sys.argv[1], 'rb').read())\n"
        "ecp = serialization.load_pem_public_key(open(sys.argv[2], 'rb').read())\n"
        "m = b'custos key release 0123456789abc'\n"
        "o = lambda g: padding.OAEP(mgf=padding.MGF1(g), algorithm=hashes.SHA256(), label=None)\n"
        "print(rsa.encrypt(m, o(hashes.SHA256())).hex())\n"
        "print(rsa.encrypt(m, o(hashes.SHA1())).hex())\n"
        "print(rsa.encrypt(m, padding.PKCS1v15()).hex())\n"
        "e = ec.generate_private_key(ec.SECP384R1())\n"
        "print(e.public_key().public_bytes(serialization.Encoding.PEM,\n"
        "      serialization.PublicFormat.SubjectPublicKeyInfo).hex())\n"
        "print(e.exchange(ec.ECDH(), ecp).hex())\n";

static size_t
unhex_line(const char *line, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (line[0] && line[1] && line[0] != '\n' && n < cap) {
		int hi = t_nibble(line[0]), lo = t_nibble(line[1]);
		if (hi < 0 || lo < 0)
			return 0;
		out[n++] = (uint8_t)(hi << 4 | lo);
		line += 2;
	}
	return n;
}

static bool
write_file(const char *path, const struct cs_buf *b)
{
	FILE *f = fopen(path, "wb");
	bool ok = f != NULL && fwrite(b->p, 1, b->len, f) == b->len;

	if (f != NULL && fclose(f) != 0)
		ok = false;
	return ok;
}

static void
test_python_peer(void)
{
	static const char m[] = "custos key release 0123456789abc";
	char dir[] = "/tmp/custos-pke-XXXXXX", rsa_path[64], ec_path[64], py_path[64];
	char cmd[512], line[4096];
	uint8_t ct[3][256], fb[32] = {0}, out[32], pem[1024], zpeer[48];
	size_t ct_len[3] = {0}, pem_len = 0, z_len = 0, i;
	struct cs_buf rsa_pem, ec_pem, pt, z;
	struct cs_key *ecp = NULL, *peer = NULL;
	FILE *f;

	cs_buf_init(&rsa_pem, 8192);
	cs_buf_init(&ec_pem, 8192);
	cs_buf_init(&pt, 512);
	cs_buf_init(&z, 128);
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    system("/usr/bin/python3 -c 'import cryptography' 2>/dev/null") != 0) {
		printf("SKIP: 1 peer test: /usr/bin/python3 with python3-cryptography not found\n");
		goto out;
	}
	CHECK(mkdtemp(dir) != NULL);
	snprintf(rsa_path, sizeof(rsa_path), "%s/rsa.pem", dir);
	snprintf(ec_path, sizeof(ec_path), "%s/ec.pem", dir);
	snprintf(py_path, sizeof(py_path), "%s/peer.py", dir);
	CHECK_OK(cs_key_generate(CS_KEY_EC_P384, 0, &ecp));
	if (ecp == NULL)
		goto out;
	CHECK_OK(cs_key_to_pem(rsa_key, false, &rsa_pem));
	CHECK_OK(cs_key_to_pem(ecp, false, &ec_pem));
	f = fopen(py_path, "w");
	CHECK(f != NULL && fputs(peer_py, f) >= 0);
	if (f != NULL)
		fclose(f);
	CHECK(write_file(rsa_path, &rsa_pem) && write_file(ec_path, &ec_pem));
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s %s", py_path, rsa_path, ec_path);
	f = popen(cmd, "r");
	CHECK(f != NULL);
	if (f == NULL)
		goto clean;
	for (i = 0; i < 3 && fgets(line, sizeof(line), f) != NULL; i++)
		ct_len[i] = unhex_line(line, ct[i], sizeof(ct[i]));
	if (fgets(line, sizeof(line), f) != NULL)
		pem_len = unhex_line(line, pem, sizeof(pem));
	if (fgets(line, sizeof(line), f) != NULL)
		z_len = unhex_line(line, zpeer, sizeof(zpeer));
	CHECK(pclose(f) == 0);
	CHECK(ct_len[0] == 256 && ct_len[1] == 256 && ct_len[2] == 256 && pem_len > 0);
	CHECK(z_len == 48);
	if (ct_len[0] != 256 || ct_len[1] != 256 || ct_len[2] != 256 || z_len != 48)
		goto clean;
	CHECK_OK(cs_rsa_oaep256_decrypt(rsa_key, ct[0], 256, &pt));
	CHECK(pt.len == 32 && memcmp(pt.p, m, 32) == 0);
	CHECK_ERR(cs_rsa_oaep256_decrypt(rsa_key, ct[1], 256, &pt), CS_ERR_DECRYPT);
	CHECK_OK(cs_rsa_pkcs1_decrypt_key(rsa_key, ct[2], 256, fb, 32, out));
	CHECK_MEM(out, m, 32);
	CHECK_OK(cs_key_from_pem(pem, pem_len, &peer));
	if (peer != NULL) {
		CHECK_OK(cs_ecdh(ecp, peer, &z));
		CHECK(z.len == 48 && memcmp(z.p, zpeer, 48) == 0);
	}
clean:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
out:
	cs_key_free(ecp);
	cs_key_free(peer);
	cs_buf_fini(&rsa_pem);
	cs_buf_fini(&ec_pem);
	cs_buf_fini(&pt);
	cs_buf_fini(&z);
}

int
main(void)
{
	T_RUN(test_ecdh_rfc7518);
	CHECK_OK(cs_key_generate(CS_KEY_RSA, 2048, &rsa_key));
	CHECK_OK(cs_key_generate(CS_KEY_RSA, 2048, &rsa_other));
	if (rsa_key != NULL && rsa_other != NULL) {
		T_RUN(test_oaep256);
		T_RUN(test_pkcs1_key_decrypt);
		T_RUN(test_python_peer);
	}
	cs_key_free(rsa_key);
	cs_key_free(rsa_other);
	return t_done();
}

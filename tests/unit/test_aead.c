/* AES-256-GCM (McGrew-Viega test cases 13, 14, 16), streaming == one-shot, tamper detection with
 * output wiping, and RFC 3394 key wrap (§4.6). */
#include "crypto/aead.h"
#include "crypto/rand.h"

#include "t.h"
#include "t_hex.h"

static const char *tc16_key = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char *tc16_iv = "cafebabefacedbaddecaf888";
static const char *tc16_aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char *tc16_pt = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                             "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char *tc16_ct = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                             "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
static const char *tc16_tag = "76fc6ece0f4e1768cddf8853bb2d551b";

struct tc16 {
	uint8_t key[32], iv[12], aad[20], p[60], c[60], tag[16];
};

static void
load_tc16(struct tc16 *v)
{
	t_hex(tc16_key, v->key, 32);
	t_hex(tc16_iv, v->iv, 12);
	CHECK(t_hex(tc16_aad, v->aad, sizeof(v->aad)) == 20);
	CHECK(t_hex(tc16_pt, v->p, sizeof(v->p)) == 60);
	CHECK(t_hex(tc16_ct, v->c, sizeof(v->c)) == 60);
	t_hex(tc16_tag, v->tag, 16);
}

static void
test_gcm_kat(void)
{
	uint8_t key[32] = {0}, iv[12] = {0}, tag[16], want_tag[16], want_ct[16], ct[64], pt[64];
	uint8_t z16[16] = {0}, aad[20], p[60], c[60];

	/* Test case 13: empty plaintext, zero key and IV. */
	t_hex("530f8afbc74536b9a963b4f1c4cb738b", want_tag, 16);
	CHECK_OK(cs_gcm_seal(key, iv, NULL, 0, NULL, 0, NULL, tag));
	CHECK_MEM(tag, want_tag, 16);
	CHECK_OK(cs_gcm_open(key, iv, NULL, 0, NULL, 0, tag, NULL));
	/* Test case 14: one zero block. */
	t_hex("cea7403d4d606b6e074ec5d3baf39d18", want_ct, 16);
	t_hex("d0d1c8a799996bf0265b98b5d48ab919", want_tag, 16);
	CHECK_OK(cs_gcm_seal(key, iv, NULL, 0, z16, 16, ct, tag));
	CHECK_MEM(ct, want_ct, 16);
	CHECK_MEM(tag, want_tag, 16);
	CHECK_OK(cs_gcm_open(key, iv, NULL, 0, ct, 16, tag, pt));
	CHECK_MEM(pt, z16, 16);
	/* Test case 16: AAD and a partial final block; in place both ways. */
	t_hex(tc16_key, key, 32);
	t_hex(tc16_iv, iv, 12);
	CHECK(t_hex(tc16_aad, aad, sizeof(aad)) == 20);
	CHECK(t_hex(tc16_pt, p, sizeof(p)) == 60);
	CHECK(t_hex(tc16_ct, c, sizeof(c)) == 60);
	t_hex(tc16_tag, want_tag, 16);
	memcpy(ct, p, 60);
	CHECK_OK(cs_gcm_seal(key, iv, aad, 20, ct, 60, ct, tag));
	CHECK_MEM(ct, c, 60);
	CHECK_MEM(tag, want_tag, 16);
	CHECK_OK(cs_gcm_open(key, iv, aad, 20, ct, 60, tag, ct));
	CHECK_MEM(ct, p, 60);
}

static void
test_gcm_tamper_wipes(void)
{
	struct tc16 v;
	uint8_t *key = v.key, *iv = v.iv, *aad = v.aad, *p = v.p, *c = v.c, *tag = v.tag;
	uint8_t out[60], zero[60] = {0};
	size_t i;

	load_tc16(&v);
	/* Every single-bit flip in a representative byte of tag, ciphertext, AAD, IV and key. */
	for (i = 0; i < 8; i++) {
		uint8_t bit = (uint8_t)(1u << i);
		tag[i] ^= bit;
		memset(out, 0x55, sizeof(out));
		CHECK_ERR(cs_gcm_open(key, iv, aad, 20, c, 60, tag, out), CS_ERR_DECRYPT);
		CHECK_MEM(out, zero, 60);
		tag[i] ^= bit;
		c[59 - i] ^= bit;
		memset(out, 0x55, sizeof(out));
		CHECK_ERR(cs_gcm_open(key, iv, aad, 20, c, 60, tag, out), CS_ERR_DECRYPT);
		CHECK_MEM(out, zero, 60);
		c[59 - i] ^= bit;
		aad[i] ^= bit;
		CHECK_ERR(cs_gcm_open(key, iv, aad, 20, c, 60, tag, out), CS_ERR_DECRYPT);
		aad[i] ^= bit;
		iv[i] ^= bit;
		CHECK_ERR(cs_gcm_open(key, iv, aad, 20, c, 60, tag, out), CS_ERR_DECRYPT);
		iv[i] ^= bit;
		key[31 - i] ^= bit;
		CHECK_ERR(cs_gcm_open(key, iv, aad, 20, c, 60, tag, out), CS_ERR_DECRYPT);
		key[31 - i] ^= bit;
	}
	/* Truncated ciphertext and dropped AAD. */
	CHECK_ERR(cs_gcm_open(key, iv, aad, 20, c, 59, tag, out), CS_ERR_DECRYPT);
	CHECK_ERR(cs_gcm_open(key, iv, aad, 19, c, 60, tag, out), CS_ERR_DECRYPT);
	CHECK_ERR(cs_gcm_open(key, iv, NULL, 0, c, 60, tag, out), CS_ERR_DECRYPT);
	/* Still correct after all of that. */
	CHECK_OK(cs_gcm_open(key, iv, aad, 20, c, 60, tag, out));
	CHECK_MEM(out, p, 60);
	CHECK_ERR(cs_gcm_open(key, iv, NULL, 1, c, 60, tag, out), CS_ERR_INVAL);
}

/* Streams (aad, pt) through ctx in pieces of the given size and compares with one-shot. */
static void
check_stream(struct cs_gcm *g, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
             size_t aad_len, const uint8_t *pt, size_t n, size_t piece)
{
	static uint8_t ct1[4096], ct2[4096], back[4096];
	uint8_t tag1[16], tag2[16];
	size_t off, a;

	CHECK_OK(cs_gcm_seal(key, iv, aad, aad_len, pt, n, ct1, tag1));
	CHECK_OK(cs_gcm_init(g, 1, key, iv));
	for (a = 0; a < aad_len; a += piece)
		CHECK_OK(cs_gcm_aad(g, aad + a, aad_len - a < piece ? aad_len - a : piece));
	for (off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		CHECK_OK(cs_gcm_update(g, pt + off, k, ct2 + off));
	}
	CHECK_OK(cs_gcm_seal_final(g, tag2));
	CHECK_MEM(ct2, ct1, n);
	CHECK_MEM(tag2, tag1, 16);

	/* Open with the same (re-keyed) context. */
	CHECK_OK(cs_gcm_init(g, 0, key, iv));
	CHECK_OK(cs_gcm_aad(g, aad, aad_len));
	for (off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		CHECK_OK(cs_gcm_update(g, ct1 + off, k, back + off));
	}
	CHECK_OK(cs_gcm_open_final(g, tag1));
	CHECK_MEM(back, pt, n);

	/* A wrong tag fails the streaming open. */
	tag1[15] ^= 1;
	CHECK_OK(cs_gcm_init(g, 0, key, iv));
	CHECK_OK(cs_gcm_aad(g, aad, aad_len));
	CHECK_OK(cs_gcm_update(g, ct1, n, back));
	CHECK_ERR(cs_gcm_open_final(g, tag1), CS_ERR_DECRYPT);
}

static void
test_gcm_stream(void)
{
	static uint8_t pt[4096], aad[100];
	uint8_t key[32], key2[32], iv[12];
	struct cs_gcm g = {0};
	static const size_t pieces[] = {1, 15, 16, 17, 1000, 4096};
	static const size_t lens[] = {0, 1, 15, 16, 17, 4095, 4096};
	size_t i, j;

	CHECK_OK(cs_random(pt, sizeof(pt)));
	CHECK_OK(cs_random(aad, sizeof(aad)));
	CHECK_OK(cs_random(key, sizeof(key)));
	CHECK_OK(cs_random(key2, sizeof(key2)));
	CHECK_OK(cs_random(iv, sizeof(iv)));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++)
			check_stream(&g, (j & 1) ? key : key2, iv, aad, (i * 7) % 100, pt, lens[i],
			             pieces[j]);
	/* Known answer through the stream: test case 16. */
	{
		struct tc16 v;
		uint8_t out[60], tag[16];
		load_tc16(&v);
		CHECK_OK(cs_gcm_init(&g, 1, v.key, v.iv));
		CHECK_OK(cs_gcm_aad(&g, v.aad, 20));
		CHECK_OK(cs_gcm_update(&g, v.p, 33, out));
		CHECK_OK(cs_gcm_update(&g, v.p + 33, 27, out + 33));
		CHECK_OK(cs_gcm_seal_final(&g, tag));
		CHECK_MEM(out, v.c, 60);
		CHECK_MEM(tag, v.tag, 16);
		/* Finals in the wrong direction are refused. */
		CHECK_ERR(cs_gcm_open_final(&g, tag), CS_ERR_INVAL);
	}
	cs_gcm_fini(&g);
	CHECK(g.ctx == NULL);
	cs_gcm_fini(&g);
	CHECK_ERR(cs_gcm_update(&g, pt, 1, pt), CS_ERR_INVAL);
}

static void
test_key_wrap_rfc3394(void)
{
	uint8_t kek[32], key[32], want[40], out[40], back[32], zero[32] = {0};
	size_t i;

	for (i = 0; i < 32; i++)
		kek[i] = (uint8_t)i;
	t_hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", key, 32);
	t_hex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
	      want, 40);
	CHECK_OK(cs_aes_kw_wrap(kek, key, 32, out));
	CHECK_MEM(out, want, 40);
	CHECK_OK(cs_aes_kw_unwrap(kek, out, 40, back));
	CHECK_MEM(back, key, 32);
	/* 128-bit key data (the shortest allowed). */
	CHECK_OK(cs_aes_kw_wrap(kek, key, 16, out));
	CHECK_OK(cs_aes_kw_unwrap(kek, out, 24, back));
	CHECK_MEM(back, key, 16);
	/* Integrity: every byte position, and the wrong KEK. */
	CHECK_OK(cs_aes_kw_wrap(kek, key, 32, out));
	for (i = 0; i < 40; i++) {
		out[i] ^= 0x80;
		memset(back, 0x55, sizeof(back));
		CHECK_ERR(cs_aes_kw_unwrap(kek, out, 40, back), CS_ERR_DECRYPT);
		CHECK_MEM(back, zero, 32);
		out[i] ^= 0x80;
	}
	kek[0] ^= 1;
	CHECK_ERR(cs_aes_kw_unwrap(kek, out, 40, back), CS_ERR_DECRYPT);
	kek[0] ^= 1;
	/* Lengths: not a multiple of 8, too short, truncated. */
	CHECK_ERR(cs_aes_kw_wrap(kek, key, 8, out), CS_ERR_LENGTH);
	CHECK_ERR(cs_aes_kw_wrap(kek, key, 17, out), CS_ERR_LENGTH);
	CHECK_ERR(cs_aes_kw_wrap(kek, key, 0, out), CS_ERR_LENGTH);
	CHECK_ERR(cs_aes_kw_unwrap(kek, out, 16, back), CS_ERR_DECRYPT);
	CHECK_ERR(cs_aes_kw_unwrap(kek, out, 39, back), CS_ERR_DECRYPT);
	CHECK_ERR(cs_aes_kw_unwrap(kek, out, 32, back), CS_ERR_DECRYPT);
}

/* RFC 3394 §4.3 and §4.5 (256-bit KEK, 128- and 192-bit key data), also wrapped in place. */
static void
test_key_wrap_more(void)
{
	uint8_t kek[32], key[24], want[32], buf[32], back[24];
	size_t i;

	for (i = 0; i < 32; i++)
		kek[i] = (uint8_t)i;
	t_hex("00112233445566778899AABBCCDDEEFF", key, 16);
	t_hex("64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7", want, 24);
	CHECK_OK(cs_aes_kw_wrap(kek, key, 16, buf));
	CHECK_MEM(buf, want, 24);
	CHECK_OK(cs_aes_kw_unwrap(kek, buf, 24, back));
	CHECK_MEM(back, key, 16);
	t_hex("00112233445566778899AABBCCDDEEFF0001020304050607", key, 24);
	t_hex("A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1", want, 32);
	memcpy(buf, key, 24);
	CHECK_OK(cs_aes_kw_wrap(kek, buf, 24, buf)); /* in place */
	CHECK_MEM(buf, want, 32);
	CHECK_OK(cs_aes_kw_unwrap(kek, buf, 32, buf));
	CHECK_MEM(buf, key, 24);
	/* The last block altered: the integrity check fails and the output is wiped. */
	memcpy(buf, want, 32);
	buf[31] ^= 0x80;
	memset(back, 0x55, sizeof(back));
	CHECK_ERR(cs_aes_kw_unwrap(kek, buf, 32, back), CS_ERR_DECRYPT);
	for (i = 0; i < 24; i++)
		CHECK(back[i] == 0);
}

int
main(void)
{
	T_RUN(test_gcm_kat);
	T_RUN(test_gcm_tamper_wipes);
	T_RUN(test_gcm_stream);
	T_RUN(test_key_wrap_rfc3394);
	T_RUN(test_key_wrap_more);
	return t_done();
}

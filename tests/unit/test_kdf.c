/* HKDF (RFC 5869 test cases 1-3) and the Concat KDF (RFC 7518 Appendix C). */
#include "crypto/kdf.h"

#include "t.h"
#include "t_hex.h"

static void
check_hkdf(const char *ikm_hex, const char *salt_hex, const char *info_hex, const char *okm_hex)
{
	uint8_t ikm[80], salt[80], info[80], okm[82], got[82];
	size_t ikm_len = t_hex(ikm_hex, ikm, sizeof(ikm));
	size_t salt_len = t_hex(salt_hex, salt, sizeof(salt));
	size_t info_len = t_hex(info_hex, info, sizeof(info));
	size_t okm_len = t_hex(okm_hex, okm, sizeof(okm));

	CHECK_OK(cs_hkdf(CS_SHA256, salt_len ? salt : NULL, salt_len, ikm, ikm_len,
	                 info_len ? info : NULL, info_len, got, okm_len));
	CHECK_MEM(got, okm, okm_len);
	/* A prefix of the output is the output of the shorter length. */
	CHECK_OK(cs_hkdf(CS_SHA256, salt_len ? salt : NULL, salt_len, ikm, ikm_len,
	                 info_len ? info : NULL, info_len, got, 1));
	CHECK(got[0] == okm[0]);
}

static void
test_hkdf_rfc5869(void)
{
	uint8_t out[255 * 48];

	check_hkdf("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
	           "f0f1f2f3f4f5f6f7f8f9",
	           "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	           "34007208d5b887185865");
	check_hkdf("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	           "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	           "404142434445464748494a4b4c4d4e4f",
	           "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	           "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	           "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	           "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	           "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	           "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	           "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	           "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	           "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	check_hkdf("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
	           "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	           "9d201395faa4b61a96c8");
	/* L = 255 * HashLen is the limit (§2.3). */
	CHECK_OK(cs_hkdf(CS_SHA256, NULL, 0, (const uint8_t *)"k", 1, NULL, 0, out, 255 * 32));
	CHECK_ERR(cs_hkdf(CS_SHA256, NULL, 0, (const uint8_t *)"k", 1, NULL, 0, out, 255 * 32 + 1),
	          CS_ERR_TOO_LARGE);
	CHECK_ERR(cs_hkdf(CS_SHA256, NULL, 0, (const uint8_t *)"k", 1, NULL, 0, out, 0),
	          CS_ERR_INVAL);
	CHECK_OK(cs_hkdf(CS_SHA384, NULL, 0, (const uint8_t *)"k", 1, NULL, 0, out, 255 * 48));
}

static void
test_concat_kdf_rfc7518(void)
{
	uint8_t z[32], want[16], got[64], again[64];

	/* RFC 7518 Appendix C: Z from the P-256 keys there, enc A128GCM, apu Alice, apv Bob. */
	t_hex("9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa7798cfe90c4", z, 32);
	t_hex("56aa8deaf8236d205c2228cd71a7101a", want, 16); /* VqqN6vgjbSBcIijNcacQGg */
	CHECK_OK(cs_concat_kdf(z, 32, (const uint8_t *)"A128GCM", 7, (const uint8_t *)"Alice", 5,
	                       (const uint8_t *)"Bob", 3, got, 16));
	CHECK_MEM(got, want, 16);
	/* Any change of a party or the algorithm changes the key. */
	CHECK_OK(cs_concat_kdf(z, 32, (const uint8_t *)"A128GCM", 7, (const uint8_t *)"Alice", 5,
	                       (const uint8_t *)"Bob!", 4, got, 16));
	CHECK(memcmp(got, want, 16) != 0);
	CHECK_OK(cs_concat_kdf(z, 32, (const uint8_t *)"A256GCM", 7, (const uint8_t *)"Alice", 5,
	                       (const uint8_t *)"Bob", 3, got, 16));
	CHECK(memcmp(got, want, 16) != 0);
	/* Two rounds (64 bytes): keydatalen is part of the input, so 32 is not a prefix of 64. */
	CHECK_OK(cs_concat_kdf(z, 32, (const uint8_t *)"A256KW", 6, NULL, 0, NULL, 0, got, 64));
	CHECK_OK(cs_concat_kdf(z, 32, (const uint8_t *)"A256KW", 6, NULL, 0, NULL, 0, again, 32));
	CHECK(memcmp(got, again, 32) != 0);
	CHECK_OK(cs_concat_kdf(z, 32, (const uint8_t *)"A256KW", 6, NULL, 0, NULL, 0, again, 64));
	CHECK_MEM(got, again, 64);
	CHECK_ERR(cs_concat_kdf(NULL, 0, NULL, 0, NULL, 0, NULL, 0, got, 16), CS_ERR_INVAL);
	CHECK_ERR(cs_concat_kdf(z, 32, NULL, 3, NULL, 0, NULL, 0, got, 16), CS_ERR_INVAL);
}

int
main(void)
{
	T_RUN(test_hkdf_rfc5869);
	T_RUN(test_concat_kdf_rfc7518);
	return t_done();
}

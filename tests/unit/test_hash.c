/* SHA-2 (FIPS 180-4 examples) and HMAC (RFC 4231), one-shot and streaming. */
#include "crypto/hash.h"
#include "crypto/rand.h"

#include "t.h"
#include "t_hex.h"

static void
check_hash(enum cs_hash h, const char *msg, const char *want_hex)
{
	uint8_t want[CS_HASH_MAX_LEN], got[CS_HASH_MAX_LEN];
	struct cs_hash_ctx c;
	size_t n = strlen(msg), i;

	CHECK(t_hex(want_hex, want, sizeof(want)) == cs_hash_len(h));
	CHECK_OK(cs_hash(h, (const uint8_t *)msg, n, got));
	CHECK_MEM(got, want, cs_hash_len(h));

	/* Streaming, one byte at a time, with an empty update in between. */
	memset(got, 0, sizeof(got));
	CHECK_OK(cs_hash_init(&c, h));
	for (i = 0; i < n; i++)
		CHECK_OK(cs_hash_update(&c, (const uint8_t *)msg + i, 1));
	CHECK_OK(cs_hash_update(&c, NULL, 0));
	CHECK_OK(cs_hash_final(&c, got));
	CHECK(c.md_ctx == NULL);
	cs_hash_fini(&c); /* safe after final */
	CHECK_MEM(got, want, cs_hash_len(h));
}

static void
test_sha2_fips180(void)
{
	static const char *l448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	CHECK(cs_hash_len(CS_SHA256) == 32 && cs_hash_len(CS_SHA384) == 48);
	CHECK(cs_hash_len(CS_SHA512) == 64);
	check_hash(CS_SHA256, "abc",
	           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_hash(CS_SHA256, l448,
	           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_hash(CS_SHA256, "",
	           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_hash(CS_SHA384, "abc",
	           "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	           "8086072ba1e7cc2358baeca134c825a7");
	check_hash(CS_SHA512, "abc",
	           "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	           "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static void
test_hash_errors(void)
{
	uint8_t out[CS_HASH_MAX_LEN];
	struct cs_hash_ctx c = {0};

	CHECK_ERR(cs_hash((enum cs_hash)99, (const uint8_t *)"a", 1, out), CS_ERR_INVAL);
	CHECK_ERR(cs_hash(CS_SHA256, NULL, 1, out), CS_ERR_INVAL);
	CHECK_ERR(cs_hash_init(&c, (enum cs_hash)99), CS_ERR_INVAL);
	CHECK_ERR(cs_hash_update(&c, (const uint8_t *)"a", 1), CS_ERR_INVAL);
	CHECK_ERR(cs_hash_final(&c, out), CS_ERR_INVAL);
	/* Abandoning a streaming context releases it. */
	CHECK_OK(cs_hash_init(&c, CS_SHA384));
	CHECK_OK(cs_hash_update(&c, (const uint8_t *)"abc", 3));
	cs_hash_fini(&c);
	CHECK(c.md_ctx == NULL);
}

static void
check_hmac(enum cs_hash h, const uint8_t *key, size_t klen, const char *msg, const char *want_hex)
{
	uint8_t want[CS_HASH_MAX_LEN], got[CS_HASH_MAX_LEN];

	CHECK(t_hex(want_hex, want, sizeof(want)) == cs_hash_len(h));
	CHECK_OK(cs_hmac(h, key, klen, (const uint8_t *)msg, strlen(msg), got));
	CHECK_MEM(got, want, cs_hash_len(h));
}

static void
test_hmac_rfc4231(void)
{
	uint8_t k1[20], k6[131];

	memset(k1, 0x0b, sizeof(k1));
	memset(k6, 0xaa, sizeof(k6));
	/* Test case 1 with every hash. */
	check_hmac(CS_SHA256, k1, sizeof(k1), "Hi There",
	           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	check_hmac(CS_SHA384, k1, sizeof(k1), "Hi There",
	           "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
	           "faea9ea9076ede7f4af152e8b2fa9cb6");
	check_hmac(CS_SHA512, k1, sizeof(k1), "Hi There",
	           "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
	           "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
	/* Test case 2: a key shorter than the output. */
	check_hmac(CS_SHA256, (const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
	           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Test case 6: a key longer than the block, hashed first. */
	check_hmac(CS_SHA512, k6, sizeof(k6),
	           "Test Using Larger Than Block-Size Key - Hash Key First",
	           "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
	           "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598");
}

static void
test_random(void)
{
	uint8_t a[64] = {0}, b[64] = {0}, zero[64] = {0};

	CHECK_OK(cs_random(a, sizeof(a)));
	CHECK_OK(cs_random(b, sizeof(b)));
	CHECK(memcmp(a, zero, sizeof(a)) != 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_OK(cs_random(NULL, 0));
	CHECK_ERR(cs_random(NULL, 1), CS_ERR_INVAL);
}

int
main(void)
{
	T_RUN(test_sha2_fips180);
	T_RUN(test_hash_errors);
	T_RUN(test_hmac_rfc4231);
	T_RUN(test_random);
	return t_done();
}

#include "base/b64.h"
#include "t.h"

typedef enum cs_err (*enc_fn)(struct cs_buf *, const uint8_t *, size_t);
typedef enum cs_err (*dec_fn)(struct cs_buf *, const char *, size_t);

static void
roundtrip(enc_fn enc, dec_fn dec, const char *plain, const char *want)
{
	struct cs_buf e, d;

	cs_buf_init(&e, 1024);
	cs_buf_init(&d, 1024);
	CHECK_OK(enc(&e, (const uint8_t *)plain, strlen(plain)));
	CHECK_STR((const char *)e.p, want);
	CHECK_OK(dec(&d, want, strlen(want)));
	CHECK(d.len == strlen(plain));
	CHECK_MEM(d.p, plain, strlen(plain));
	cs_buf_fini(&e);
	cs_buf_fini(&d);
}

static void
reject(dec_fn dec, const char *s)
{
	struct cs_buf d;

	cs_buf_init(&d, 1024);
	CHECK_OK(cs_buf_append(&d, "keep", 4));
	if (dec(&d, s, strlen(s)) != CS_ERR_ENCODING) {
		t_failed++;
		fprintf(stderr, "accepted non-canonical '%s'\n", s);
	}
	/* A failed decode leaves what the buffer held before. */
	CHECK(d.len == 4 && memcmp(d.p, "keep", 4) == 0);
	t_checks++;
	cs_buf_fini(&d);
}

/* RFC 4648 §10 test vectors. */
static void
test_rfc4648(void)
{
	static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	static const char *hex[] = {"",         "66",         "666f",        "666f6f",
	                            "666f6f62", "666f6f6261", "666f6f626172"};

	for (size_t i = 0; i < 7; i++) {
		roundtrip(cs_b64_encode, cs_b64_decode, plain[i], b64[i]);
		roundtrip(cs_b64url_encode, cs_b64url_decode, plain[i], url[i]);
		roundtrip(cs_hex_encode, cs_hex_decode, plain[i], hex[i]);
		CHECK(cs_b64_enc_len(strlen(plain[i])) == strlen(b64[i]));
		CHECK(cs_b64url_enc_len(strlen(plain[i])) == strlen(url[i]));
	}
}

/* Every byte value, at every length 0..66, through all three codecs. */
static void
test_all_bytes(void)
{
	uint8_t in[256];
	dec_fn decs[] = {cs_b64_decode, cs_b64url_decode, cs_hex_decode};
	enc_fn encs[] = {cs_b64_encode, cs_b64url_encode, cs_hex_encode};

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)(255 - i);
	for (size_t c = 0; c < 3; c++) {
		for (size_t len = 0; len <= 66; len++) {
			for (size_t off = 0; off + len <= 256; off += 61) {
				struct cs_buf e, d;
				cs_buf_init(&e, 4096);
				cs_buf_init(&d, 4096);
				CHECK_OK(encs[c](&e, in + off, len));
				CHECK_OK(decs[c](&d, (const char *)e.p, e.len));
				CHECK(d.len == len);
				CHECK_MEM(d.p, in + off, len);
				cs_buf_fini(&e);
				cs_buf_fini(&d);
			}
		}
	}
	/* The last two alphabet characters differ between base64 and base64url. */
	roundtrip(cs_b64_encode, cs_b64_decode, "\xfb\xff", "+/8=");
	roundtrip(cs_b64url_encode, cs_b64url_decode, "\xfb\xff", "-_8");
	roundtrip(cs_hex_encode, cs_hex_decode, "\x01\x9f\xa0\xff", "019fa0ff");
}

static void
test_strict(void)
{
	/* base64: padding, length, alphabet, trailing bits. */
	reject(cs_b64_decode, "Zg");
	reject(cs_b64_decode, "Zg=");
	reject(cs_b64_decode, "Zh==");
	reject(cs_b64_decode, "Zm9=");
	reject(cs_b64_decode, "Z===");
	reject(cs_b64_decode, "====");
	reject(cs_b64_decode, "=Zg=");
	reject(cs_b64_decode, "Zg=a");
	reject(cs_b64_decode, "Zm=v");
	reject(cs_b64_decode, "Zm9v\n");
	reject(cs_b64_decode, "Zm 9v");
	reject(cs_b64_decode, "Zm-v");
	reject(cs_b64_decode, "Zm_v");
	reject(cs_b64_decode, "Zm9vYg==Zm9v");
	/* base64url: no padding at all, never 1 mod 4, alphabet, trailing bits. */
	reject(cs_b64url_decode, "Zg==");
	reject(cs_b64url_decode, "Zm8=");
	reject(cs_b64url_decode, "Z");
	reject(cs_b64url_decode, "Zm9vY");
	reject(cs_b64url_decode, "Zh");
	reject(cs_b64url_decode, "Zm9");
	reject(cs_b64url_decode, "Zm+v");
	reject(cs_b64url_decode, "Zm/v");
	reject(cs_b64url_decode, "Zm9v\x80");
	reject(cs_b64url_decode, ".m9v");
	/* hex */
	reject(cs_hex_decode, "0");
	reject(cs_hex_decode, "0g");
	reject(cs_hex_decode, "g0");
	reject(cs_hex_decode, " 00");
	reject(cs_hex_decode, "0x00");
	reject(cs_hex_decode, "@0");
	reject(cs_hex_decode, "`0");
}

static void
test_fixed(void)
{
	uint8_t out[3];

	CHECK_OK(cs_hex_decode_fixed(out, 3, "AbCdEf", 6));
	CHECK(out[0] == 0xab && out[1] == 0xcd && out[2] == 0xef);
	CHECK_ERR(cs_hex_decode_fixed(out, 3, "abcd", 4), CS_ERR_LENGTH);
	CHECK_ERR(cs_hex_decode_fixed(out, 3, "abcdef01", 8), CS_ERR_LENGTH);
	CHECK_ERR(cs_hex_decode_fixed(out, 3, "abcdeZ", 6), CS_ERR_ENCODING);
	CHECK_OK(cs_b64url_decode_fixed(out, 3, "Zm9v", 4));
	CHECK_MEM(out, "foo", 3);
	CHECK_ERR(cs_b64url_decode_fixed(out, 3, "Zm8", 3), CS_ERR_LENGTH);
	CHECK_ERR(cs_b64url_decode_fixed(out, 3, "Zm9vYmFyYmF6", 12), CS_ERR_LENGTH);
}

int
main(void)
{
	T_RUN(test_rfc4648);
	T_RUN(test_all_bytes);
	T_RUN(test_strict);
	T_RUN(test_fixed);
	return t_done();
}

#include "base/buf.h"
#include "base/secret.h"
#include "t.h"

static void
test_cap(void)
{
	struct cs_buf b;
	uint8_t *p;

	cs_buf_init(&b, 10);
	CHECK_OK(cs_buf_append(&b, "0123456789", 9));
	CHECK_OK(cs_buf_putc(&b, 'x'));
	CHECK(b.len == 10);
	CHECK_ERR(cs_buf_putc(&b, 'y'), CS_ERR_TOO_LARGE);
	CHECK_ERR(cs_buf_append(&b, "z", SIZE_MAX), CS_ERR_TOO_LARGE);
	CHECK(b.len == 10);
	CHECK_STR((char *)b.p, "012345678x");
	cs_buf_reset(&b);
	CHECK(b.len == 0);
	CHECK_OK(cs_buf_printf(&b, "%d-%s", 42, "ab"));
	CHECK_STR((char *)b.p, "42-ab");
	CHECK_ERR(cs_buf_printf(&b, "%s", "too long!"), CS_ERR_TOO_LARGE);
	CHECK(b.len == 5);
	CHECK_OK(cs_buf_extend(&b, 5, &p));
	CHECK(p[0] == 0 && b.len == 10);
	cs_buf_fini(&b);
	CHECK(b.p == NULL);
}

static void
test_ints(void)
{
	struct cs_buf b;
	static const uint8_t want[] = {0x02, 0x01, 0x01, 0x02, 0x04, 0x03, 0x02, 0x01, 0x01, 0x02,
	                               0x03, 0x04, 8,    7,    6,    5,    4,    3,    2,    1,
	                               1,    2,    3,    4,    5,    6,    7,    8};
	uint8_t *p;
	size_t len;

	cs_buf_init(&b, 1024);
	CHECK_OK(cs_buf_put_u16le(&b, 0x0102));
	CHECK_OK(cs_buf_put_u16be(&b, 0x0102));
	CHECK_OK(cs_buf_put_u32le(&b, 0x01020304));
	CHECK_OK(cs_buf_put_u32be(&b, 0x01020304));
	CHECK_OK(cs_buf_put_u64le(&b, 0x0102030405060708ull));
	CHECK_OK(cs_buf_put_u64be(&b, 0x0102030405060708ull));
	CHECK(b.len == sizeof(want));
	CHECK_MEM(b.p, want, sizeof(want));
	p = cs_buf_take(&b, &len);
	CHECK(len == sizeof(want) && b.p == NULL && b.len == 0);
	free(p);
	p = cs_buf_take(&b, &len);
	CHECK(p != NULL && len == 0 && p[0] == 0);
	free(p);
}

static void
test_growth(void)
{
	struct cs_buf b;

	cs_buf_init(&b, 1 << 20);
	for (int i = 0; i < 100000; i++)
		CHECK_OK(cs_buf_putc(&b, (uint8_t)i));
	CHECK(b.len == 100000 && b.p[99999] == (uint8_t)99999 && b.p[b.len] == 0);
	cs_buf_fini(&b);
}

static void
test_secret(void)
{
	uint8_t a[33], c[33];
	uint8_t *s;

	memset(a, 0x5a, sizeof(a));
	memcpy(c, a, sizeof(c));
	CHECK(cs_ct_eq(a, c, sizeof(a)));
	CHECK(cs_ct_eq(a, c, 0));
	c[32] ^= 1;
	CHECK(!cs_ct_eq(a, c, sizeof(a)));
	c[32] ^= 1;
	c[0] ^= 0x80;
	CHECK(!cs_ct_eq(a, c, sizeof(a)));
	cs_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		CHECK(a[i] == 0);
	cs_wipe(NULL, 0);

	s = cs_secure_alloc(4096);
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(s[0] == 0 && s[4095] == 0);
		memset(s, 0xff, 4096);
		cs_secure_free(s, 4096);
	}
	cs_secure_free(NULL, 0);
}

int
main(void)
{
	T_RUN(test_cap);
	T_RUN(test_ints);
	T_RUN(test_growth);
	T_RUN(test_secret);
	return t_done();
}

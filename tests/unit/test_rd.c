#include "base/rd.h"
#include "t.h"

static const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void
test_ints(void)
{
	struct cs_rd r;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	cs_rd_init(&r, data, 9);
	CHECK_OK(cs_rd_u8(&r, &v8));
	CHECK(v8 == 0x01);
	CHECK_OK(cs_rd_u16le(&r, &v16));
	CHECK(v16 == 0x0302);
	CHECK_OK(cs_rd_u16be(&r, &v16));
	CHECK(v16 == 0x0405);
	CHECK_OK(cs_rd_u32le(&r, &v32));
	CHECK(v32 == 0x09080706);
	CHECK_OK(cs_rd_end(&r));

	cs_rd_init(&r, data, 8);
	CHECK_OK(cs_rd_u32be(&r, &v32));
	CHECK(v32 == 0x01020304);
	cs_rd_init(&r, data, 8);
	CHECK_OK(cs_rd_u64le(&r, &v64));
	CHECK(v64 == 0x0807060504030201ull);
	cs_rd_init(&r, data, 8);
	CHECK_OK(cs_rd_u64be(&r, &v64));
	CHECK(v64 == 0x0102030405060708ull);
}

/* Every width at lengths max-1 (fails, cursor unmoved), max (ok), max+1 (ok, trailing byte). */
static void
test_edges(void)
{
	static const size_t widths[] = {1, 2, 4, 8};

	for (size_t w = 0; w < 4; w++) {
		size_t n = widths[w];
		for (size_t len = 0; len <= n + 1; len++) {
			struct cs_rd r;
			enum cs_err e;
			uint8_t v8;
			uint16_t v16;
			uint32_t v32;
			uint64_t v64;

			cs_rd_init(&r, data, len);
			switch (n) {
			case 1:
				e = cs_rd_u8(&r, &v8);
				break;
			case 2:
				e = cs_rd_u16be(&r, &v16);
				break;
			case 4:
				e = cs_rd_u32le(&r, &v32);
				break;
			default:
				e = cs_rd_u64be(&r, &v64);
				break;
			}
			if (len < n) {
				CHECK_ERR(e, CS_ERR_TRUNCATED);
				CHECK(r.off == 0);
			} else {
				CHECK_OK(e);
				CHECK(r.off == n);
				CHECK_ERR(cs_rd_end(&r), len == n ? CS_OK : CS_ERR_TRAILING);
			}
		}
	}
}

static void
test_bytes(void)
{
	static const uint8_t z[] = {0, 0, 0, 1};
	struct cs_rd r, sub;
	const uint8_t *p;
	uint8_t out[4];

	cs_rd_init(&r, data, 9);
	CHECK_OK(cs_rd_bytes(&r, 0, &p));
	CHECK_OK(cs_rd_bytes(&r, 3, &p));
	CHECK(p == data);
	CHECK_ERR(cs_rd_copy(&r, out, 7), CS_ERR_TRUNCATED);
	CHECK(r.off == 3);
	CHECK_OK(cs_rd_copy(&r, out, 4));
	CHECK_MEM(out, data + 3, 4);
	CHECK_OK(cs_rd_sub(&r, 2, &sub));
	CHECK(cs_rd_left(&sub) == 2);
	CHECK_OK(cs_rd_skip(&sub, 2));
	CHECK_OK(cs_rd_end(&sub));
	CHECK_ERR(cs_rd_sub(&r, 1, &sub), CS_ERR_TRUNCATED);
	CHECK_ERR(cs_rd_skip(&r, SIZE_MAX), CS_ERR_TRUNCATED);
	CHECK_OK(cs_rd_end(&r));

	cs_rd_init(&r, z, 4);
	CHECK_OK(cs_rd_zero(&r, 3));
	CHECK(r.off == 3);
	CHECK_ERR(cs_rd_zero(&r, 2), CS_ERR_TRUNCATED);
	CHECK_ERR(cs_rd_zero(&r, 1), CS_ERR_RESERVED);
	CHECK(r.off == 3);

	cs_rd_init(&r, NULL, 5);
	CHECK(cs_rd_left(&r) == 0);
	CHECK_OK(cs_rd_end(&r));
}

static void
test_errors(void)
{
	CHECK_STR(cs_err_name(CS_ERR_TRUNCATED), "CS_ERR_TRUNCATED");
	CHECK_STR(cs_err_str(CS_OK), "success");
	CHECK_STR(cs_err_str((enum cs_err)9999), "unknown error");
}

int
main(void)
{
	T_RUN(test_ints);
	T_RUN(test_edges);
	T_RUN(test_bytes);
	T_RUN(test_errors);
	return t_done();
}

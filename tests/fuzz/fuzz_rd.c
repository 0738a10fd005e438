/*
 * Target: the bounds-checked reader. The first byte of each input is a program: every following
 * byte pair picks an operation and a length, run against the rest of the input; whatever happens,
 * the cursor never passes the end and a failed read never moves it.
 */
#include <stdlib.h>

#include "base/rd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_rd prog, r, sub;
	uint8_t op, n, v8, tmp[256];
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	const uint8_t *p;

	if (size < 1)
		return 0;
	size_t plen = data[0] % 32;
	if (plen > size - 1)
		plen = size - 1;
	cs_rd_init(&prog, data + 1, plen);
	cs_rd_init(&r, data + 1 + plen, size - 1 - plen);
	while (cs_rd_u8(&prog, &op) == CS_OK && cs_rd_u8(&prog, &n) == CS_OK) {
		size_t before = r.off;
		enum cs_err e;

		switch (op % 12) {
		case 0:
			e = cs_rd_u8(&r, &v8);
			break;
		case 1:
			e = cs_rd_u16le(&r, &v16);
			break;
		case 2:
			e = cs_rd_u16be(&r, &v16);
			break;
		case 3:
			e = cs_rd_u32le(&r, &v32);
			break;
		case 4:
			e = cs_rd_u32be(&r, &v32);
			break;
		case 5:
			e = cs_rd_u64le(&r, &v64);
			break;
		case 6:
			e = cs_rd_u64be(&r, &v64);
			break;
		case 7:
			e = cs_rd_bytes(&r, n, &p);
			break;
		case 8:
			e = cs_rd_copy(&r, tmp, n);
			break;
		case 9:
			e = cs_rd_zero(&r, n);
			break;
		case 10:
			e = cs_rd_sub(&r, n, &sub);
			break;
		default:
			e = cs_rd_skip(&r, n);
			break;
		}
		if (r.off > r.len || (e != CS_OK && r.off != before))
			abort();
	}
	if (cs_rd_end(&r) == CS_OK && r.off != r.len)
		abort();
	return 0;
}

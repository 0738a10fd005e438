/*
 * Constant-time check of the RSA1_5 padding check and select (cs_pkcs1_v15_select): run under
 * valgrind (the ct_valgrind test), the decrypted block is marked undefined, so that memcheck
 * reports any branch or memory address that depends on it; the error count must not move. A
 * control (a naive, branching padding check) must make it move, which shows the method works.
 * Run plainly, the same cases check the function's results against the naive reference.
 */
#include <stdbool.h>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else /* without valgrind's headers only the functional checks run */
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_COUNT_ERRORS 0u
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)(p), (void)(n))
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#include "crypto/internal.h"
#include "crypto/rand.h"

#include "t.h"

#define K 256 /* RSA-2048 block */

/* The naive reference, with every early exit a careless implementation would take. */
static bool
naive(const uint8_t *em, size_t klen, size_t key_len)
{
	size_t i = 2;

	if (em[0] != 0 || em[1] != 2)
		return false;
	while (i < klen && em[i] != 0)
		i++;
	return i < klen && i >= 10 && klen - i - 1 == key_len;
}

static size_t ct_errors;

/* Runs the select with em secret (undefined to memcheck) and checks its result. */
static void
check_case(const uint8_t *em, size_t key_len)
{
	uint8_t secret_em[K], fb[K], out[K];
	unsigned before;
	bool ok = naive(em, K, key_len);
	size_t i;

	memcpy(secret_em, em, K);
	for (i = 0; i < key_len; i++)
		fb[i] = (uint8_t)(0xA5 ^ i);
	memcpy(out, fb, key_len);
	VALGRIND_MAKE_MEM_UNDEFINED(secret_em, K);
	before = VALGRIND_COUNT_ERRORS;
	cs_pkcs1_v15_select(secret_em, K, key_len, out);
	ct_errors += VALGRIND_COUNT_ERRORS - before;
	VALGRIND_MAKE_MEM_DEFINED(out, key_len);
	CHECK(memcmp(out, ok ? em + K - key_len : fb, key_len) == 0);
}

static void
make_valid(uint8_t *em, size_t key_len)
{
	size_t i;

	if (cs_random(em, K) != CS_OK)
		abort();
	em[0] = 0;
	em[1] = 2;
	for (i = 2; i < K - key_len - 1; i++)
		em[i] |= 1; /* PS: nonzero */
	em[K - key_len - 1] = 0;
}

static void
test_select(void)
{
	uint8_t em[K];
	int r;

	make_valid(em, 32);
	CHECK(naive(em, K, 32));
	check_case(em, 32);
	check_case(em, 31); /* right padding, other length */
	check_case(em, 33);
	em[0] = 1;
	check_case(em, 32);
	em[0] = 0, em[1] = 1;
	check_case(em, 32);
	em[1] = 2, em[K - 33] = 7; /* no separator */
	check_case(em, 32);
	/* Separator at index 9 (PS of 7 bytes: too short) and at 10 (8 bytes: the minimum). */
	make_valid(em, K - 10);
	CHECK(!naive(em, K, K - 10));
	check_case(em, K - 10);
	make_valid(em, K - 11);
	CHECK(naive(em, K, K - 11));
	check_case(em, K - 11);
	/* An earlier zero inside M makes M longer: the first zero counts. */
	make_valid(em, 32);
	em[K - 20] = 0;
	check_case(em, 32);
	check_case(em, 19);
	for (r = 0; r < 200; r++) {
		make_valid(em, 32);
		em[r % K] ^= (uint8_t)(r & 1 ? 0xff : 0x01);
		check_case(em, 32);
	}
}

int
main(int argc, char **argv)
{
	bool require = argc > 1 && strcmp(argv[1], "--require-valgrind") == 0;

	T_RUN(test_select);
	if (RUNNING_ON_VALGRIND) {
		uint8_t em[K];
		unsigned before;
		volatile bool sink;

		CHECK(ct_errors == 0);
		/* Control: the naive check on the same kind of secret must be flagged. */
		make_valid(em, 32);
		VALGRIND_MAKE_MEM_UNDEFINED(em, K);
		before = VALGRIND_COUNT_ERRORS;
		sink = naive(em, K, 32);
		(void)sink;
		CHECK(VALGRIND_COUNT_ERRORS > before);
		printf("constant-time: %zu memcheck errors in cs_pkcs1_v15_select (control: %u)\n",
		       ct_errors, VALGRIND_COUNT_ERRORS - before);
	} else if (require) {
		CHECK(!"--require-valgrind given but not running under valgrind");
	} else {
		printf("SKIP: 1 constant-time check: not under valgrind (meson test "
		       "ct_valgrind)\n");
	}
	return t_done();
}

#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "base/secret.h"

void
cs_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

bool
cs_ct_eq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= x[i] ^ y[i];
	return acc == 0;
}

void *
cs_secure_alloc(size_t n)
{
	void *p;

	if (n == 0)
		n = 1;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Locking can fail under a small RLIMIT_MEMLOCK; the memory is still usable and still kept
	 * out of core dumps, which is the property that matters most. */
	(void)mlock(p, n);
	(void)madvise(p, n, MADV_DONTDUMP);
	(void)madvise(p, n, MADV_WIPEONFORK);
	return p;
}

void
cs_secure_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n == 0)
		n = 1;
	cs_wipe(p, n);
	(void)munlock(p, n);
	(void)munmap(p, n);
}

enum cs_err
cs_process_harden(void)
{
	struct rlimit none = {0, 0};

	ENSURE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, CS_ERR_IO);
	ENSURE(setrlimit(RLIMIT_CORE, &none) == 0, CS_ERR_IO);
	return CS_OK;
}

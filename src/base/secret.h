/*
 * Secrets: wiping, constant-time comparison, and locked memory that never reaches swap or a core
 * file. Every key, password and plaintext secret custos holds lives in memory that is wiped with
 * cs_wipe before it is freed.
 */
#ifndef CS_BASE_SECRET_H
#define CS_BASE_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Zeroes n bytes at p in a way the compiler cannot elide. p may be NULL when n is 0. */
void cs_wipe(void *p, size_t n);

/* True if the n bytes at a and b are equal; the time taken depends only on n. */
bool cs_ct_eq(const void *a, const void *b, size_t n);

/*
 * Returns owned, zeroed memory of n bytes that is locked in RAM (best effort when RLIMIT_MEMLOCK
 * is too small) and excluded from core dumps; NULL on failure. Release with cs_secure_free.
 */
void *cs_secure_alloc(size_t n);

/* Wipes and releases memory from cs_secure_alloc; takes p; NULL is a no-op. */
void cs_secure_free(void *p, size_t n);

/*
 * Makes the process non-dumpable and disables core files, so that no secret it holds can be read
 * through ptrace by another user's process or found in a core dump. Daemons call it first thing.
 */
CS_MUST_USE enum cs_err cs_process_harden(void);

#endif

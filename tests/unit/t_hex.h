/* Hex test vectors for the crypto tests: decodes a literal into a fixed buffer, aborting on bad
 * input so that a typo in a vector cannot make a test vacuous. */
#ifndef CS_TEST_T_HEX_H
#define CS_TEST_T_HEX_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int
t_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex (spaces ignored) into out (cap bytes); returns the length. */
static inline size_t
t_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;
		if (*hex == ' ' || *hex == '\n')
			continue;
		v = t_nibble(*hex);
		if (v < 0 || (hi < 0 && n >= cap)) {
			fprintf(stderr, "bad test vector: %s\n", hex);
			abort();
		}
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0) {
		fprintf(stderr, "odd-length test vector\n");
		abort();
	}
	return n;
}

#endif

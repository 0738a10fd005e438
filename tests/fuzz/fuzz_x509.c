/*
 * Target: certificate, certificate-set and CRL parsing, and the lookups done on parsed
 * certificates (extension by OID, CN, validity, public key, DER round trip). The first byte
 * picks the parser; the rest is the input.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void
inspect(const struct cs_x509 *c)
{
	static const char *const oids[] = {"1.3.6.1.4.1.3704.1.3.1", "1.3.6.1.4.1.3704.1.4",
	                                   "2.5.29.19", "1.2.840.113741.1.13.1"};
	struct cs_key *k = NULL;
	struct cs_buf b;
	int64_t nb, na;
	uint8_t fp[32];
	const uint8_t *p;
	size_t n, i;

	cs_buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof(oids) / sizeof(oids[0]); i++)
		if (cs_x509_ext(c, oids[i], &p, &n) == CS_OK && n > 0)
			sink = p[n - 1]; /* the whole borrowed value must be readable */
	if (cs_x509_subject_cn(c, &b) == CS_OK && b.len > 0)
		sink = b.p[b.len - 1];
	if (cs_x509_validity(c, &nb, &na) == CS_OK)
		sink = (uint8_t)(nb ^ na);
	if (cs_x509_fingerprint(c, fp) == CS_OK)
		sink = fp[31];
	cs_buf_reset(&b);
	if (cs_x509_to_der(c, &b) == CS_OK) {
		struct cs_x509 *again = NULL;
		/* What we emit must parse back. */
		if (cs_x509_from_der(b.p, b.len, &again) != CS_OK)
			abort();
		cs_x509_free(again);
	}
	if (cs_x509_pubkey(c, &k) == CS_OK)
		cs_key_free(k);
	cs_buf_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_x509 *c = NULL;
	struct cs_x509_set *s = NULL;
	struct cs_x509_crls *crls = NULL;
	size_t i;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (cs_x509_from_der(data + 1, size - 1, &c) == CS_OK)
			inspect(c);
		break;
	case 1:
		if (cs_x509_from_pem(data + 1, size - 1, &c) == CS_OK)
			inspect(c);
		break;
	case 2:
		if (cs_x509_set_from_pem(data + 1, size - 1, &s) == CS_OK) {
			if (cs_x509_set_len(s) == 0)
				abort();
			for (i = 0; i < cs_x509_set_len(s); i++)
				inspect(cs_x509_set_get(s, i));
		}
		break;
	case 3:
		if (cs_x509_crls_from(data + 1, size - 1, &crls) == CS_OK && crls == NULL)
			abort();
		break;
	}
	cs_x509_free(c);
	cs_x509_set_free(s);
	cs_x509_crls_free(crls);
	return 0;
}

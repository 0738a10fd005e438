/*
 * The TEE registry: every verifier/attester custos has, by Trustee's `tee` name. The KBS enables a
 * subset by configuration; nothing here is trusted by merely being listed. Attesters are tried by
 * cs_tee_detect in the order below, hardware first and `sample` (always present) last.
 */
#include <string.h>

#include "tee/sample/sample.h"
#include "tee/snp/snp.h"
#include "tee/tee.h"

static const struct cs_tee_ops *const tees[] = {
        /* Hardware and simulated TEEs are added here, above sample, as they land. */
        &cs_tee_snp,
        &cs_tee_sim_snp,
        &cs_tee_sample,
};

const struct cs_tee_ops *
cs_tee_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(tees) / sizeof(tees[0]); i++)
		if (strcmp(tees[i]->name, name) == 0)
			return tees[i];
	return NULL;
}

const struct cs_tee_ops *
cs_tee_detect(void)
{
	for (size_t i = 0; i < sizeof(tees) / sizeof(tees[0]); i++)
		if (tees[i]->detect != NULL && tees[i]->attest != NULL && tees[i]->detect())
			return tees[i];
	return NULL;
}

/* The SEV-SNP TEE types for the registry (src/tee/registry.c): real `snp` and simulated `sim-snp`.
 */
#ifndef CS_TEE_SNP_SNP_H
#define CS_TEE_SNP_SNP_H

#include "tee/tee.h"

extern const struct cs_tee_ops cs_tee_snp;
extern const struct cs_tee_ops cs_tee_sim_snp;

#endif

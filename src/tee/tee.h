/*
 * The contract every TEE type implements: a verifier (broker side) and an attester (guest side).
 * One folder per evidence type under src/tee/ (sample/, snp/, tdx/, nvidia/, azure/, sim/), each
 * exporting a `const struct cs_tee_ops cs_tee_<name>`. The registry in src/tee/registry.c lists
 * them; the KBS enables a subset by configuration, so that nothing is accepted by default.
 */
#ifndef CS_TEE_TEE_H
#define CS_TEE_TEE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CS_REPORT_DATA_LEN 64

/* What the broker asks a verifier to check. Everything is borrowed. */
struct cs_verify_in {
	const json_t *evidence;          /* tee-evidence.primary_evidence (or the device entry) */
	const uint8_t *report_data;      /* the expected binding, CS_REPORT_DATA_LEN bytes */
	const uint8_t *init_data_digest; /* NULL when the request carried no init-data */
	size_t init_data_digest_len;     /* 32, 48 or 64 */
	int64_t at;                      /* verification time, Unix seconds */
};

/* Verifier configuration: trust anchors and collateral, from the KBS configuration. */
struct cs_verify_cfg {
	const char *roots_dir; /* pinned vendor roots, or test roots for sim-* (NULL: built-in) */
	const char *collateral_dir; /* cached / imported collateral (NULL: none) */
	bool offline;               /* never fetch collateral from the network */
	const char *kds_base;       /* SNP: AMD KDS base URL (NULL: $CUSTOS_KDS_URL, else AMD's) */
};

struct cs_tee_ops {
	const char *name; /* Trustee's `tee` value: "sample", "snp", "tdx", "sim-snp", ... */

	/* Creates verifier state (pinned roots loaded). Returns owned through *state. */
	enum cs_err (*verifier_new)(const struct cs_verify_cfg *cfg, void **state);
	void (*verifier_free)(void *state);

	/*
	 * Verifies in->evidence: signature and chain to pinned roots at in->at, report data equal
	 * to in->report_data, init-data digest when given. On CS_OK returns owned claims (a JSON
	 * object, named as Trustee's verifier for this TEE names them) through *claims.
	 */
	enum cs_err (*verify)(void *state, const struct cs_verify_in *in, json_t **claims);

	/* Guest side: whether this TEE's interface exists on this machine. */
	bool (*detect)(void);

	/*
	 * Guest side: collects evidence binding report_data (CS_REPORT_DATA_LEN bytes). Returns the
	 * owned primary_evidence JSON through *evidence. NULL for verifier-only types.
	 */
	enum cs_err (*attest)(const uint8_t *report_data, json_t **evidence);
};

/* The ops for a TEE name, or NULL if custos has none by that name. */
const struct cs_tee_ops *cs_tee_find(const char *name);

/* The first attester whose detect() is true, in order of preference; NULL if none. */
const struct cs_tee_ops *cs_tee_detect(void);

#endif

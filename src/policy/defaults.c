/*
 * The built-in policies, in the policy language itself so that they are read, checked and
 * evaluated exactly like uploaded ones (tests/unit/test_policy.c compiles every one of them).
 * TEE engineers: add your TEE's default appraisal policy as one more entry in `appraisals`.
 */
#include <string.h>

#include "policy/policy.h"

/* custos' default resource policy (issue 3 item 6): release only to an all-affirming token. */
static const char default_resource[] =
        "policy resource for \"*\";\n"
        "# custos default: release only when every submodule of the token is affirming.\n"
        "deny \"the token has no submodules\" if not exists(submods) or len(submods) == 0;\n"
        "deny \"a submodule is not affirming\"\n"
        "\tif not all(s in submods : (s[\"ear.status\"] ?? \"\") == \"affirming\");\n"
        "allow \"every submodule is affirming\";\n";

/*
 * For TEE types without their own: Trustee's default_cpu.rego defaults, which recognize nothing
 * (executables 33, hardware 97, configuration 36: contraindicated).
 */
static const char default_generic[] = "policy appraisal;\n"
                                      "executables = 33;\n"
                                      "hardware = 97;\n"
                                      "configuration = 36;\n";

/*
 * The sample TEE proves nothing, so nothing is affirmed until the operator registers its SVN as
 * the reference value "svn" (Trustee's name). Trustee then sets only hardware = 2 and the token
 * stays "warning"; custos affirms executables and configuration too, because the sample TEE has
 * none to measure and custos' default resource policy wants every submodule affirming. A
 * deliberate deviation (docs/policy.md §6): the sample TEE is off unless configured anyway.
 */
static const char default_sample[] =
        "policy appraisal for \"sample\";\n"
        "executables = 33;\n"
        "hardware = 97;\n"
        "configuration = 36;\n"
        "let svn_ok = (sample.svn ?? null) in rv(\"svn\");\n"
        "hardware = 2 if svn_ok;\n"
        "executables = 3 if svn_ok or (sample.launch_digest ?? null) in rv(\"launch_digest\");\n"
        "configuration = 2 if svn_ok;\n";

/*
 * AMD SEV-SNP, after Trustee's default_cpu.rego (SNP section), with Trustee's reference-value
 * names. The SNP verifier's claim names are Trustee's (snp.measurement, snp.reported_tcb_*,
 * snp.policy_*, snp.platform_*); a missing claim never matches.
 */
static const char default_snp[] =
        "policy appraisal for \"snp\";\n"
        "executables = 33;\n"
        "hardware = 97;\n"
        "configuration = 36;\n"
        "executables = 3 if (snp.measurement ?? null) in rv(\"snp_launch_measurement\");\n"
        "hardware = 2 if (snp.reported_tcb_bootloader ?? null) in rv(\"snp_bootloader\")\n"
        "\tand (snp.reported_tcb_microcode ?? null) in rv(\"snp_microcode\")\n"
        "\tand (snp.reported_tcb_snp ?? null) in rv(\"snp_snp_svn\")\n"
        "\tand (snp.reported_tcb_tee ?? null) in rv(\"snp_tee_svn\");\n"
        "let safe = int(snp.policy_debug_allowed ?? 1) == 0 and int(snp.policy_migrate_ma ?? 1) == "
        "0;\n"
        "configuration = 3 if safe;\n"
        "configuration = 2 if safe\n"
        "\tand (snp.platform_smt_enabled ?? null) in rv(\"snp_smt_enabled\")\n"
        "\tand (snp.platform_tsme_enabled ?? null) in rv(\"snp_tsme_enabled\")\n"
        "\tand (snp.policy_abi_major ?? null) in rv(\"snp_guest_abi_major\")\n"
        "\tand (snp.policy_abi_minor ?? null) in rv(\"snp_guest_abi_minor\")\n"
        "\tand (snp.policy_single_socket ?? null) in rv(\"snp_single_socket\")\n"
        "\tand (snp.policy_smt_allowed ?? null) in rv(\"snp_smt_allowed\");\n";

static const struct {
	const char *tee;
	const char *src;
} appraisals[] = {
        {"sample", default_sample},
        {"snp", default_snp},
};

const char *
cs_policy_default_resource(void)
{
	return default_resource;
}

const char *
cs_policy_default_appraisal(const char *tee)
{
	for (size_t i = 0; tee != NULL && i < sizeof(appraisals) / sizeof(appraisals[0]); i++)
		if (strcmp(tee, appraisals[i].tee) == 0)
			return appraisals[i].src;
	return default_generic;
}

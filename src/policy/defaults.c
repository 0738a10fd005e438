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
        "let bad = first(m in keys(submods) : (submods[m][\"ear.status\"] ?? \"\") != "
        "\"affirming\");\n"
        "let status = submods[bad][\"ear.status\"] ?? \"without status\";\n"
        "deny \"the token has no submodules\" if len(submods ?? []) == 0;\n"
        "deny \"default policy: submodule {bad} is {status}, not affirming\" if exists(bad);\n"
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
 * The sample TEE, exactly as Trustee's default_cpu.rego "Sample" block (and custos' former
 * built-in): its verifier reports {svn, launch_digest, platform_version{major, minor}, debug}.
 */
static const char default_sample[] =
        "policy appraisal for \"sample\";\n"
        "executables = 33;\n"
        "hardware = 97;\n"
        "configuration = 36;\n"
        "executables = 3 if (launch_digest ?? null) in rv(\"launch_digest\");\n"
        "let minor = rv(\"minimum_minor_version\");\n"
        "hardware = 2 if (svn ?? null) in rv(\"svn\")\n"
        "\tand len(rv(\"major_version\")) == 1 and len(minor) == 1\n"
        "\tand (platform_version.major ?? null) == rv(\"major_version\")[0]\n"
        "\tand (platform_version.minor ?? -1) >= minor[0];\n"
        "configuration = 2 if (debug ?? true) == false;\n";

/*
 * AMD SEV-SNP, after Trustee's default_cpu.rego (SNP block), with Trustee's reference-value
 * names over the claims the SNP verifier reports (Trustee's names; numbers and booleans as
 * strings). A missing claim never matches.
 */
static const char default_snp[] =
        "policy appraisal for \"snp\";\n"
        "executables = 33;\n"
        "hardware = 97;\n"
        "configuration = 36;\n"
        "executables = 3 if (measurement ?? null) in rv(\"snp_launch_measurement\");\n"
        "hardware = 2 if (reported_tcb_bootloader ?? null) in rv(\"snp_bootloader\")\n"
        "\tand (reported_tcb_microcode ?? null) in rv(\"snp_microcode\")\n"
        "\tand (reported_tcb_snp ?? null) in rv(\"snp_snp_svn\")\n"
        "\tand (reported_tcb_tee ?? null) in rv(\"snp_tee_svn\");\n"
        "let safe = (policy_debug_allowed ?? \"true\") == \"false\"\n"
        "\tand (policy_migrate_ma ?? \"true\") == \"false\";\n"
        "configuration = 3 if safe;\n"
        "configuration = 2 if safe\n"
        "\tand (platform_smt_enabled ?? null) in rv(\"snp_smt_enabled\")\n"
        "\tand (platform_tsme_enabled ?? null) in rv(\"snp_tsme_enabled\")\n"
        "\tand (policy_abi_major ?? null) in rv(\"snp_guest_abi_major\")\n"
        "\tand (policy_abi_minor ?? null) in rv(\"snp_guest_abi_minor\")\n"
        "\tand (policy_single_socket ?? null) in rv(\"snp_single_socket\")\n"
        "\tand (policy_smt_allowed ?? null) in rv(\"snp_smt_allowed\");\n";

static const struct {
	const char *tee;
	const char *src;
} appraisals[] = {
        {"sample", default_sample},
        {"snp", default_snp},
        /* The simulator's reports are real SNP reports (under test roots): same claims, same
         * reference-value names, same default. */
        {"sim-snp", default_snp},
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

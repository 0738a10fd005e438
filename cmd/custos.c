/*
 * custos: the operator's command. One subcommand per area; each lives in its own file and is
 * declared in cmd/custos.h. This file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "custos.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
        /* Each area adds its line here, keeping the list sorted. */
        {"admin", cs_cmd_admin, "manage a KBS: resources, policies, reference values; keygen"},
        {"collateral", cs_cmd_collateral, "vendor collateral: fetch, add, export, import bundles"},
        {"inspect", cs_cmd_inspect, "show a sealed model's header or manifest"},
        {"policy", cs_cmd_policy, "check and evaluate policies (docs/policy.md)"},
        {"reseal", cs_cmd_reseal, "rotate the KEK of sealed models (rewrites headers only)"},
        {"seal", cs_cmd_seal, "seal a model file or directory under a KEK"},
        {"sim", cs_cmd_sim, "simulated TEEs for demos and tests (sim-snp)"},
        {"store", cs_cmd_store, "a broker's store: audit verify/export, master key rotation"},
        {"unseal", cs_cmd_unseal, "unseal a sealed model (or read a KServe JWE model)"},
        {"verify", cs_cmd_verify, "verify TEE evidence offline and print its claims"},
        {"version", cs_cmd_version, "print the version"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: custos COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`custos COMMAND --help` for a command's options.\n");
}

int
cs_cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("custos %s\n", CUSTOS_VERSION);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "custos: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

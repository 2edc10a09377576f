/*
 * pinbridge: one binary, many subcommands. This file only dispatches; each
 * subcommand lives in src/cli/<name>.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "util/banned.h"

#ifndef PB_VERSION
#define PB_VERSION "0.1.0"
#endif

static void
print_help(FILE *f)
{
	fprintf(f, "usage: pinbridge <command> [options]\n\ncommands:\n");
	for (size_t i = 0; cmd_table[i]; i++)
		fprintf(f, "  %-12s %s\n", cmd_table[i]->name,
		    cmd_table[i]->summary);
	fprintf(f, "\n'pinbridge <command> --help' describes one command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		print_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("pinbridge %s\n", PB_VERSION);
		return 0;
	}
	for (size_t i = 0; cmd_table[i]; i++)
		if (!strcmp(argv[1], cmd_table[i]->name))
			return cmd_table[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "pinbridge: '%s' is not a command\n\n", argv[1]);
	print_help(stderr);
	return 2;
}

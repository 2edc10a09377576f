/*
 * cmd.h: the subcommand table. Each subcommand is one file in src/cli/
 * exporting a `const struct cmd_entry` and is listed in cmd_table[]
 * (cli/commands.c). Handlers parse their own options with getopt_long and
 * return the process exit status:
 *
 *   0  success
 *   1  the work was done but something failed (a rejected event, ...)
 *   2  usage or I/O error: nothing useful was done
 */
#ifndef PB_CMD_H
#define PB_CMD_H

#include <stdio.h>

#define EXIT_PARTIAL	1
#define EXIT_USAGE	2

struct cmd_entry {
	const char *name;
	const char *usage;	/* one line, after "pinbridge <name> " */
	const char *summary;	/* one line for `pinbridge help` */
	int (*run)(int argc, char **argv);
};

extern const struct cmd_entry *const cmd_table[];

/* Prints "usage: pinbridge <name> <usage>" to f. */
void cmd_usage(const struct cmd_entry *cmd, FILE *f);

#endif

#include "cli/cmd.h"

#include <stddef.h>

#include "util/banned.h"

extern const struct cmd_entry cmd_backtest;
extern const struct cmd_entry cmd_convert;
extern const struct cmd_entry cmd_serve;
extern const struct cmd_entry cmd_deadletters;
extern const struct cmd_entry cmd_replay;

const struct cmd_entry *const cmd_table[] = {
	&cmd_convert,
	&cmd_backtest,
	&cmd_serve,
	&cmd_deadletters,
	&cmd_replay,
	NULL,
};

void
cmd_usage(const struct cmd_entry *cmd, FILE *f)
{
	fprintf(f, "usage: pinbridge %s %s\n", cmd->name, cmd->usage);
}

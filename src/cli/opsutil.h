/*
 * opsutil.h: what the operations commands (deadletters, replay) share:
 * finding the store from -c/--db, and parsing dead-letter filters.
 */
#ifndef PB_CLI_OPSUTIL_H
#define PB_CLI_OPSUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

struct ops_args {
	const char *config;	/* -c FILE (default pinbridge.ini) */
	const char *db;		/* --db FILE overrides the config */
	struct store_filter filter;
	size_t limit;
	bool all;		/* replay: explicit "everything" */
	bool json;		/* deadletters: NDJSON instead of a table */
};

/*
 * Parses the shared options; `cmd` names the command in messages.
 * Returns 0, 1 for --help (usage printed), or -1 (message printed).
 */
int ops_parse(const char *cmd, const char *usage, int argc, char **argv,
    struct ops_args *out);

/* Opens the store named by --db or the config's data_dir. */
int ops_open_store(const char *cmd, const struct ops_args *a, bool readonly,
    struct store **out);

#endif

/*
 * pinbridge replay: puts dead letters back in the delivery queue after the
 * cause was fixed (a token, a payload bug, an outage). Replaying everything
 * must be asked for with --all, so a typo cannot resend a store's history.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cmd.h"
#include "cli/opsutil.h"
#include "util/banned.h"

#define USAGE "[-c FILE | --db FILE] (--all | [--account NAME] " \
	"[--since TIME] [--until TIME] [--event-id ID])"

static int run(int argc, char **argv);

const struct cmd_entry cmd_replay = {
	"replay", USAGE,
	"re-queue dead letters for delivery (by account, time or event id)",
	run,
};

static int
run(int argc, char **argv)
{
	struct ops_args a;
	struct store *st;
	int64_t count = 0;
	int rc;

	rc = ops_parse("replay", USAGE, argc, argv, &a);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (!a.all && !a.filter.account && !a.filter.event_id &&
	    !a.filter.from_time && !a.filter.to_time) {
		fprintf(stderr, "pinbridge replay: name what to replay "
		    "(--account, --since, --until, --event-id) or pass --all\n");
		return EXIT_USAGE;
	}
	if (ops_open_store("replay", &a, false, &st) < 0)
		return EXIT_USAGE;
	rc = store_dead_requeue(st, &a.filter, &count);
	store_close(st);
	if (rc < 0) {
		fprintf(stderr, "pinbridge replay: %s\n", store_strerror(rc));
		return EXIT_USAGE;
	}
	printf("requeued %" PRId64 " dead letter%s\n", count,
	    count == 1 ? "" : "s");
	return 0;
}

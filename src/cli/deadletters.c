/*
 * pinbridge deadletters: the events delivery gave up on, and why.
 * A table for people, --json (NDJSON, with the payload) for tools.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cmd.h"
#include "cli/opsutil.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/banned.h"

#define USAGE "[-c FILE | --db FILE] [--account NAME] [--since TIME] " \
	"[--until TIME] [--event-id ID] [--limit N] [--json]"

static int run(int argc, char **argv);

const struct cmd_entry cmd_deadletters = {
	"deadletters", USAGE,
	"list events delivery gave up on, with Pinterest's reasons",
	run,
};

struct listing {
	bool json;
	size_t n;
	struct buf line;
};

static int
print_dead(void *arg, const struct store_dead *d)
{
	struct listing *l = arg;
	char when[21];

	l->n++;
	time_format_iso8601(d->event_time, when);
	if (!l->json) {
		printf("%-12s %-30s %-14s %s  %-11s %s\n", d->account,
		    d->event_id, d->event_name, when, d->reason,
		    d->message ? d->message : "");
		return 0;
	}
	buf_reset(&l->line);
	buf_adds(&l->line, "{\"account\":");
	buf_add_json_cstr(&l->line, d->account);
	buf_adds(&l->line, ",\"event_id\":");
	buf_add_json_cstr(&l->line, d->event_id);
	buf_adds(&l->line, ",\"event_name\":");
	buf_add_json_cstr(&l->line, d->event_name);
	buf_addf(&l->line, ",\"event_time\":\"%s\",\"attempts\":%d,"
	    "\"reason\":", when, d->attempts);
	buf_add_json_cstr(&l->line, d->reason);
	buf_adds(&l->line, ",\"message\":");
	buf_add_json_cstr(&l->line, d->message ? d->message : "");
	buf_adds(&l->line, ",\"payload\":");
	buf_add(&l->line, d->payload, d->payload_len);
	buf_addch(&l->line, '}');
	puts(l->line.data);
	return 0;
}

static int
run(int argc, char **argv)
{
	struct ops_args a;
	struct listing l = { .line = BUF_INIT };
	struct store *st;
	int rc;

	rc = ops_parse("deadletters", USAGE, argc, argv, &a);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (ops_open_store("deadletters", &a, true, &st) < 0)
		return EXIT_USAGE;
	l.json = a.json;
	if (!l.json)
		printf("%-12s %-30s %-14s %-20s  %-11s %s\n", "ACCOUNT",
		    "EVENT_ID", "EVENT", "EVENT_TIME", "REASON", "MESSAGE");
	rc = store_dead_list(st, &a.filter, a.limit, print_dead, &l);
	store_close(st);
	buf_release(&l.line);
	if (rc < 0) {
		fprintf(stderr, "pinbridge deadletters: %s\n", store_strerror(rc));
		return EXIT_USAGE;
	}
	if (!l.json)
		fprintf(stderr, "%zu dead letter%s\n", l.n, l.n == 1 ? "" : "s");
	return 0;
}

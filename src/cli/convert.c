/*
 * pinbridge convert: NDJSON events in, Pinterest CAPI events out.
 *
 * One output line per input line, in order: the event Pinterest would
 * receive, or {"error":{...}}. Warnings go to stderr with the line number,
 * then a summary. With --batch N the converted events are wrapped into
 * request bodies {"data":[...]} of at most N events instead, and errors go
 * to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "event/event.h"
#include "event/hash.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/limits.h"
#include "util/lines.h"
#include "util/banned.h"

#define MAX_REASONS	32
#define OUT_FLUSH_BYTES	(256 * 1024)

struct convert {
	struct event_ctx ctx;
	size_t batch;		/* 0: one line per input line */
	bool quiet;
	struct buf out;
	size_t in_batch;
	/* Counters for the summary. */
	size_t read, converted, rejected, warnings;
	struct {
		const char *code;
		size_t n;
	} reasons[MAX_REASONS];
	size_t n_reasons;
};

static const struct option options[] = {
	{ "now", required_argument, NULL, 'n' },
	{ "max-age", required_argument, NULL, 'a' },
	{ "batch", required_argument, NULL, 'b' },
	{ "partner-name", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int run(int argc, char **argv);

const struct cmd_entry cmd_convert = {
	"convert",
	"[--now TIME] [--max-age DAYS] [--batch N] [--partner-name NAME] "
	"[--quiet] [FILE...]",
	"NDJSON events in, Pinterest Conversions API events out",
	run,
};

static void
count_reason(struct convert *c, const char *code)
{
	for (size_t i = 0; i < c->n_reasons; i++)
		if (!strcmp(c->reasons[i].code, code)) {
			c->reasons[i].n++;
			return;
		}
	if (c->n_reasons < MAX_REASONS) {
		c->reasons[c->n_reasons].code = code;
		c->reasons[c->n_reasons++].n = 1;
	}
}

static void
flush_out(struct convert *c, bool force)
{
	if (c->out.len && (force || c->out.len >= OUT_FLUSH_BYTES)) {
		fwrite(c->out.data, 1, c->out.len, stdout);
		buf_reset(&c->out);
	}
}

static void
close_batch(struct convert *c)
{
	if (c->in_batch) {
		buf_add(&c->out, "]}\n", 3);
		c->in_batch = 0;
	}
}

static void
emit_event(struct convert *c, const struct event *ev)
{
	if (!c->batch) {
		event_encode(ev, &c->out);
		buf_addch(&c->out, '\n');
		return;
	}
	buf_adds(&c->out, c->in_batch ? "," : "{\"data\":[");
	event_encode(ev, &c->out);
	if (++c->in_batch == c->batch)
		close_batch(c);
}

static void
report_warnings(struct convert *c, const char *file, size_t lineno,
    const struct event_diag *d)
{
	size_t shown = d->n_warnings < PB_MAX_WARNINGS ? d->n_warnings :
	    PB_MAX_WARNINGS;

	c->warnings += d->n_warnings;
	if (c->quiet)
		return;
	for (size_t i = 0; i < shown; i++)
		fprintf(stderr, "%s:%zu: warning: %s\n", file, lineno,
		    d->warnings[i].message);
	if (d->n_warnings > shown)
		fprintf(stderr, "%s:%zu: warning: %zu more warnings\n", file,
		    lineno, d->n_warnings - shown);
}

static void
reject(struct convert *c, const char *file, size_t lineno,
    const struct event_error *err)
{
	c->rejected++;
	count_reason(c, err->code);
	if (c->batch) {
		fprintf(stderr, "%s:%zu: error: %s%s%s: %s\n", file, lineno,
		    err->code, err->field ? " in " : "",
		    err->field ? err->field : "", err->message);
		return;
	}
	event_encode_error(err, &c->out);
	buf_addch(&c->out, '\n');
}

static void
convert_line(struct convert *c, const char *file, size_t lineno,
    const char *line, size_t len)
{
	struct event_diag diag;
	struct event ev;
	cJSON *root;
	size_t off = 0;

	event_diag_reset(&diag);
	diag.count_only = c->quiet;
	c->read++;
	if (len == 0) {
		event_fail(&diag, "empty_line", NULL, "empty line: expected one "
		    "JSON event object");
		goto rejected;
	}
	switch (json_precheck(line, len)) {
	case JSON_TOO_DEEP:
		event_fail(&diag, "too_deep", NULL, "JSON nested deeper than "
		    "%d levels", PB_MAX_JSON_DEPTH);
		goto rejected;
	case JSON_STRING_TOO_LONG:
		event_fail(&diag, "string_too_long", NULL, "a string is longer "
		    "than %d bytes", PB_MAX_STRING_BYTES);
		goto rejected;
	case JSON_OK:
		break;
	}
	root = json_parse(line, len, &off);
	if (!root) {
		event_fail(&diag, "invalid_json", NULL, "not valid JSON (at "
		    "byte %zu)", off + 1);
		goto rejected;
	}
	if (event_from_json(&c->ctx, root, &ev, &diag) < 0)
		goto rejected;
	report_warnings(c, file, lineno, &diag);
	emit_event(c, &ev);
	c->converted++;
	return;
rejected:
	report_warnings(c, file, lineno, &diag);
	reject(c, file, lineno, &diag.error);
}

static int
convert_stream(struct convert *c, FILE *f, const char *file)
{
	struct lines lines;
	enum lines_result r;
	const char *line;
	size_t len;
	int status = 0;

	lines_init(&lines, f, PB_MAX_LINE_BYTES);
	while ((r = lines_next_view(&lines, &line, &len)) != LINES_EOF) {
		struct event_error err = { "line_too_long", NULL, "" };

		if (r == LINES_ERROR) {
			fprintf(stderr, "pinbridge convert: %s: read error: %s\n",
			    file, strerror(errno));
			status = -1;
			break;
		}
		if (r == LINES_TOO_LONG) {
			snprintf(err.message, sizeof(err.message),
			    "line is longer than %u bytes", PB_MAX_LINE_BYTES);
			c->read++;
			reject(c, file, lines.lineno, &err);
		} else {
			convert_line(c, file, lines.lineno, line, len);
		}
		arena_reset(c->ctx.arena);
		flush_out(c, false);
	}
	lines_release(&lines);
	return status;
}

static void
print_summary(const struct convert *c)
{
	if (c->quiet)
		return;
	fprintf(stderr, "convert: read %zu, converted %zu, rejected %zu, "
	    "warnings %zu", c->read, c->converted, c->rejected, c->warnings);
	for (size_t i = 0; i < c->n_reasons; i++)
		fprintf(stderr, "%s%s %zu", i ? ", " : " (", c->reasons[i].code,
		    c->reasons[i].n);
	fprintf(stderr, "%s\n", c->n_reasons ? ")" : "");
}

static int
parse_now(const char *s, int64_t *now_s)
{
	char *end;
	long long v;
	int64_t ms;

	if (time_parse_iso8601(s, &ms) == 0) {
		*now_s = ms / 1000;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v <= 0)
		return -1;
	*now_s = v;
	return 0;
}

static int
parse_count(const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end || end == s || *out < min || *out > max ? -1 : 0;
}

static int
run(int argc, char **argv)
{
	struct arena arena;
	struct convert c;
	long long n;
	int opt, status = 0;

	memset(&c, 0, sizeof(c));
	c.ctx.now_s = clock_now_s(clock_system());
	c.ctx.max_age_s = PB_DEFAULT_MAX_AGE_S;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_now(optarg, &c.ctx.now_s) < 0) {
				fprintf(stderr, "pinbridge convert: --now '%s' "
				    "is not ISO 8601 or Unix seconds\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'a':
			if (parse_count(optarg, 1, 3650, &n) < 0) {
				fprintf(stderr, "pinbridge convert: --max-age "
				    "takes whole days from 1 to 3650\n");
				return EXIT_USAGE;
			}
			c.ctx.max_age_s = n * 86400;
			break;
		case 'b':
			if (parse_count(optarg, 1, PB_MAX_BATCH_EVENTS, &n) < 0) {
				fprintf(stderr, "pinbridge convert: --batch "
				    "takes 1 to %d\n", PB_MAX_BATCH_EVENTS);
				return EXIT_USAGE;
			}
			c.batch = (size_t)n;
			break;
		case 'p':
			c.ctx.partner_name = optarg;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'h':
			cmd_usage(&cmd_convert, stdout);
			return 0;
		default:
			cmd_usage(&cmd_convert, stderr);
			return EXIT_USAGE;
		}
	}

	arena_init(&arena, 0);
	json_use_arena(&arena);
	c.ctx.arena = &arena;
	c.ctx.hasher = hasher_new();
	buf_init(&c.out, OUT_FLUSH_BYTES + 4096);

	if (optind == argc) {
		status = convert_stream(&c, stdin, "<stdin>");
	} else {
		for (int i = optind; i < argc && status == 0; i++) {
			FILE *f = fopen(argv[i], "r");

			if (!f) {
				fprintf(stderr, "pinbridge convert: %s: %s\n",
				    argv[i], strerror(errno));
				status = -1;
				break;
			}
			status = convert_stream(&c, f, argv[i]);
			fclose(f);
		}
	}
	close_batch(&c);
	flush_out(&c, true);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "pinbridge convert: write error: %s\n",
		    strerror(errno));
		status = -1;
	}
	print_summary(&c);

	json_use_arena(NULL);
	hasher_free(c.ctx.hasher);
	arena_release(&arena);
	buf_release(&c.out);
	if (status < 0)
		return EXIT_USAGE;
	return c.rejected ? EXIT_PARTIAL : 0;
}

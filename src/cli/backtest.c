/*
 * backtest.c: `pinbridge backtest FILE...`: replays historic NDJSON events
 * through the monitoring engine with a clock that follows each event's
 * received time, and prints every alert transition, so a store can tune
 * thresholds on its own history. The engine is the one the server runs.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "event/event.h"
#include "event/hash.h"
#include "monitor/monitor.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/limits.h"
#include "util/lines.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* One accepted event, kept until the replay. */
struct rec {
	int64_t at_ms;			/* received time */
	size_t seq;			/* input order, for a stable sort */
	char *event_name;
	char *event_id;
	char *order_id;			/* or NULL */
	enum ledger_leg leg;
	double value;
	uint32_t fields;
};

struct backtest {
	struct event_ctx ctx;
	struct monitor_config cfg;
	const char *account;
	struct rec *recs;
	size_t n, cap;
	size_t lines, rejected;
	uint64_t transitions, fired;
	int64_t last_time_s;		/* fallback "now" for untimed events */
	struct buf out;
};

static const struct option options[] = {
	{ "account", required_argument, NULL, 'A' },
	{ "dedup-threshold", required_argument, NULL, 'd' },
	{ "volume-threshold", required_argument, NULL, 'v' },
	{ "leg-down-share", required_argument, NULL, 'l' },
	{ "fail-share", required_argument, NULL, 'f' },
	{ "alpha", required_argument, NULL, 'a' },
	{ "min-events", required_argument, NULL, 'm' },
	{ "window", required_argument, NULL, 'w' },
	{ "eval-window", required_argument, NULL, 'e' },
	{ "clear", required_argument, NULL, 'c' },
	{ "grace", required_argument, NULL, 'g' },
	{ "disable", required_argument, NULL, 'x' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

extern const struct cmd_entry cmd_backtest;

static void
help(FILE *f)
{
	cmd_usage(&cmd_backtest, f);
	fputs("\n"
	    "Replays NDJSON events (any accepted dialect, each with \"source\":\n"
	    "\"browser\"|\"server\" and optional \"received_at\", default its\n"
	    "event_time) through the monitoring rules, ticking every minute of\n"
	    "event time. Prints one JSON line per alert transition, then a\n"
	    "final {\"summary\":{...}} line. Rejected lines go to stderr.\n"
	    "\n"
	    "  --account NAME           account label (default \"default\")\n"
	    "  --dedup-threshold R      dedup_rate_low below R (0.70)\n"
	    "  --volume-threshold R     volume_low below R x expected (0.50)\n"
	    "  --leg-down-share R       a leg below R x the other (0.10)\n"
	    "  --fail-share R           delivery_failing above R (0.10)\n"
	    "  --alpha P                significance of a bad verdict (0.01)\n"
	    "  --min-events N           evidence before deciding (20)\n"
	    "  --window D               sustained window (30m)\n"
	    "  --eval-window D          first evaluation window (5m)\n"
	    "  --clear D                ok this long resolves (10m)\n"
	    "  --grace D                wait for the server leg (10m)\n"
	    "  --disable RULE           turn a rule off (repeatable)\n"
	    "\n"
	    "Durations: 90s, 30m, 2h or plain seconds. Exit 0: all lines used;\n"
	    "1: some lines rejected; 2: usage or I/O error.\n", f);
}

static int
parse_ratio(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !(*out >= lo && *out <= hi) ?
	    -1 : 0;
}

/* "90s", "30m", "2h", "1800" -> milliseconds (1 s .. 7 days). */
static int
parse_duration(const char *s, int64_t *out_ms)
{
	char *end;
	long long v;
	int64_t unit = 1000;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		unit = 60 * 1000, end++;
	else if (*end == 'h')
		unit = 3600 * 1000, end++;
	if (*end || v > 7LL * 86400 * 1000 / unit)
		return -1;
	*out_ms = v * unit;
	return 0;
}

/* Unix seconds of a time-like JSON value (number s/ms or ISO 8601). */
static int
json_time_s(const cJSON *v, int64_t *out)
{
	int64_t ms;

	if (cJSON_IsNumber(v) && v->valuedouble > 0) {
		*out = (int64_t)(v->valuedouble >= 1e11 ?
		    v->valuedouble / 1000 : v->valuedouble);
		return 0;
	}
	if (cJSON_IsString(v) && time_parse_iso8601(v->valuestring, &ms) == 0) {
		*out = ms / 1000;
		return 0;
	}
	return -1;
}

/*
 * The event's own time, so that event_from_json judges its age against
 * the moment it happened rather than today.
 */
static int64_t
peek_time(struct backtest *bt, const cJSON *obj)
{
	static const char *const keys[] = {
		"event_time", "received_at", "timestamp", "time", "ts",
	};
	int64_t t;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_time_s(cJSON_GetObjectItemCaseSensitive(obj, keys[i]),
		    &t) == 0)
			return t;
	return bt->last_time_s;
}

static char *
dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static void
reject(struct backtest *bt, const char *file, size_t line, const char *code,
    const char *msg)
{
	bt->rejected++;
	fprintf(stderr, "pinbridge backtest: %s:%zu: %s: %s\n", file, line, code,
	    msg);
}

static void
add_line(struct backtest *bt, const char *file, size_t lineno,
    const char *s, size_t len)
{
	struct event_diag diag;
	struct event ev;
	struct rec *r;
	cJSON *obj;
	size_t off = 0;

	if (json_precheck(s, len) != JSON_OK) {
		reject(bt, file, lineno, "invalid_json", "too deep or too long");
		return;
	}
	if (!(obj = json_parse(s, len, &off)) || !cJSON_IsObject(obj)) {
		reject(bt, file, lineno, "invalid_json",
		    "not a JSON object");
		return;
	}
	bt->ctx.now_s = peek_time(bt, obj);
	memset(&ev, 0, sizeof(ev));
	event_diag_reset(&diag);
	if (event_from_json(&bt->ctx, obj, &ev, &diag) < 0) {
		reject(bt, file, lineno, diag.error.code, diag.error.message);
		return;
	}
	if (ev.leg != LEG_BROWSER && ev.leg != LEG_SERVER) {
		reject(bt, file, lineno, "missing_source",
		    "\"source\" must be \"browser\" or \"server\"");
		return;
	}
	if (!ev.event_id || !*ev.event_id || !ev.event_name) {
		reject(bt, file, lineno, "missing_event_id",
		    "no event_id and none derivable");
		return;
	}
	if (bt->n == bt->cap) {
		bt->cap = bt->cap ? bt->cap * 2 : 1024;
		bt->recs = xrealloc(bt->recs, bt->cap * sizeof(*bt->recs));
	}
	r = &bt->recs[bt->n];
	memset(r, 0, sizeof(*r));
	r->at_ms = ev.received_at_ms > 0 ? ev.received_at_ms :
	    ev.event_time * 1000;
	r->seq = bt->n++;
	r->event_name = xstrdup(ev.event_name);
	r->event_id = xstrdup(ev.event_id);
	r->order_id = dup_or_null(ev.custom.order_id);
	r->leg = ev.leg == LEG_BROWSER ? LEDGER_BROWSER : LEDGER_SERVER;
	r->value = ev.custom.value ? strtod(ev.custom.value, NULL) : 0;
	r->fields = monitor_fields_of(&ev);
	if (ev.event_time)
		bt->last_time_s = ev.event_time;
}

static int
read_stream(struct backtest *bt, struct arena *arena, FILE *f,
    const char *name)
{
	struct lines l;
	enum lines_result lr;
	int rc = 0;

	lines_init(&l, f, PB_MAX_LINE_BYTES);
	while ((lr = lines_next(&l)) != LINES_EOF) {
		if (lr == LINES_ERROR) {
			fprintf(stderr, "pinbridge backtest: %s: %s\n", name,
			    strerror(errno));
			rc = -1;
			break;
		}
		bt->lines++;
		if (lr == LINES_TOO_LONG) {
			reject(bt, name, l.lineno, "line_too_long",
			    "line exceeds the limit");
			continue;
		}
		if (l.line.len == 0)
			continue;
		add_line(bt, name, l.lineno, l.line.data, l.line.len);
		arena_reset(arena);
	}
	lines_release(&l);
	return rc;
}

static int
cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
on_transition(void *ctx, const struct monitor_transition *t)
{
	struct backtest *bt = ctx;

	monitor_transition_json(t, MONITOR_JSON_CONTEXT, &bt->out);
	buf_addch(&bt->out, '\n');
	bt->transitions++;
	bt->fired += t->state == ALERT_FIRING;
	if (bt->out.len >= 64 * 1024) {
		fwrite(bt->out.data, 1, bt->out.len, stdout);
		buf_reset(&bt->out);
	}
}

static void
summary(struct backtest *bt, struct monitor *m)
{
	uint64_t tot[BC_COUNT] = { 0 };
	char from[21] = "", to[21] = "";
	size_t firing = 0;
	struct buf *o = &bt->out;

	/* Totals over every series the replay created. */
	for (size_t i = 0; i < bt->n; i++) {
		struct monitor_series_status st;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(bt->recs[j].event_name,
			    bt->recs[i].event_name);
		if (seen || monitor_series_status(m, bt->account,
		    bt->recs[i].event_name, &st) < 0)
			continue;
		for (int c = 0; c < BC_COUNT; c++)
			tot[c] += st.totals[c];
	}
	if (bt->n) {
		time_format_iso8601(bt->recs[0].at_ms / 1000, from);
		time_format_iso8601(bt->recs[bt->n - 1].at_ms / 1000, to);
	}
	buf_adds(o, "{\"summary\":{");
	buf_addf(o, "\"lines\":%zu,\"events\":%zu,\"rejected\":%zu", bt->lines,
	    bt->n, bt->rejected);
	buf_adds(o, ",\"from\":");
	buf_add_json_cstr(o, from);
	buf_adds(o, ",\"to\":");
	buf_add_json_cstr(o, to);
	buf_addf(o, ",\"browser\":%llu,\"server\":%llu,\"conversions\":%llu,"
	    "\"matched\":%llu,\"id_mismatch\":%llu",
	    (unsigned long long)tot[BC_BROWSER],
	    (unsigned long long)tot[BC_SERVER],
	    (unsigned long long)tot[BC_UNION],
	    (unsigned long long)tot[BC_MATCHED],
	    (unsigned long long)tot[BC_ID_MISMATCH]);
	if (tot[BC_SETTLED])
		buf_addf(o, ",\"match_rate\":%.4f",
		    (double)tot[BC_SETTLED_MATCHED] / (double)tot[BC_SETTLED]);
	else
		buf_adds(o, ",\"match_rate\":null");
	buf_addf(o, ",\"transitions\":%llu,\"fired\":%llu,\"still_firing\":[",
	    (unsigned long long)bt->transitions, (unsigned long long)bt->fired);
	for (size_t i = 0; i < monitor_alert_count(m); i++) {
		const struct monitor_alert *a = monitor_alert_at(m, i);

		if (a->state != ALERT_FIRING)
			continue;
		buf_adds(o, firing++ ? ",{\"alert\":" : "{\"alert\":");
		buf_add_json_cstr(o, rule_name(a->rule));
		buf_adds(o, ",\"event_name\":");
		buf_add_json_cstr(o, a->event_name);
		buf_addch(o, '}');
	}
	buf_adds(o, "]}}\n");
}

static void
replay(struct backtest *bt)
{
	struct clock clk;
	struct monitor *m;
	int64_t tick;

	qsort(bt->recs, bt->n, sizeof(*bt->recs), cmp_rec);
	clock_fixed(&clk, bt->n ? bt->recs[0].at_ms : 0);
	m = monitor_new(&clk, &bt->cfg);
	monitor_set_sink(m, on_transition, bt);
	tick = clk.fixed_ms - clk.fixed_ms % MONITOR_TICK_MS + MONITOR_TICK_MS;
	for (size_t i = 0; i < bt->n; i++) {
		const struct rec *r = &bt->recs[i];
		struct monitor_obs o;

		for (; tick <= r->at_ms; tick += MONITOR_TICK_MS) {
			clk.fixed_ms = tick;
			monitor_tick(m);
		}
		clk.fixed_ms = r->at_ms;
		memset(&o, 0, sizeof(o));
		o.account = bt->account;
		o.event_name = r->event_name;
		o.event_id = r->event_id;
		o.order_id = r->order_id;
		o.leg = r->leg;
		o.value = r->value;
		o.fields = r->fields;
		monitor_observe(m, &o);
	}
	/* The minute the last event fell in is evaluated; nothing beyond. */
	if (bt->n) {
		clk.fixed_ms = tick;
		monitor_tick(m);
	}
	summary(bt, m);
	monitor_free(m);
}

static int
run(int argc, char **argv)
{
	struct arena arena;
	struct backtest bt;
	struct rule_config *rc;
	int opt, rule, status = 0;

	memset(&bt, 0, sizeof(bt));
	monitor_config_defaults(&bt.cfg);
	rc = &bt.cfg.rules;
	bt.account = "default";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		int bad = 0;

		switch (opt) {
		case 'A':
			bt.account = optarg;
			bad = !*optarg;
			break;
		case 'd':
			bad = parse_ratio(optarg, 0, 1, &rc->dedup_threshold);
			break;
		case 'v':
			bad = parse_ratio(optarg, 0, 1, &rc->volume_threshold);
			break;
		case 'l':
			bad = parse_ratio(optarg, 0, 1, &rc->leg_down_share);
			break;
		case 'f':
			bad = parse_ratio(optarg, 0, 1, &rc->fail_share);
			break;
		case 'a':
			bad = parse_ratio(optarg, 1e-9, 0.5, &rc->alpha);
			break;
		case 'm': {
			double v;

			bad = parse_ratio(optarg, 1, 1e6, &v) || v != floor(v);
			rc->min_events = (uint32_t)v;
			break;
		}
		case 'w':
			bad = parse_duration(optarg, &rc->sustain_ms);
			break;
		case 'e':
			bad = parse_duration(optarg, &rc->window_ms) ||
			    rc->window_ms < 60000 || rc->window_ms > 3600000;
			break;
		case 'c':
			bad = parse_duration(optarg, &rc->clear_ms);
			break;
		case 'g':
			bad = parse_duration(optarg, &bt.cfg.grace_ms);
			if (bt.cfg.retention_ms < bt.cfg.grace_ms + 3600000)
				bt.cfg.retention_ms = bt.cfg.grace_ms + 3600000;
			break;
		case 'x':
			if ((rule = rule_by_name(optarg)) < 0)
				bad = 1;
			else
				rc->enabled[rule] = false;
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			cmd_usage(&cmd_backtest, stderr);
			return EXIT_USAGE;
		}
		if (bad) {
			fprintf(stderr, "pinbridge backtest: bad value '%s' "
			    "(see --help)\n", optarg);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		cmd_usage(&cmd_backtest, stderr);
		return EXIT_USAGE;
	}

	arena_init(&arena, 0);
	json_use_arena(&arena);
	bt.ctx.arena = &arena;
	bt.ctx.hasher = hasher_new();
	bt.ctx.max_age_s = 100LL * 365 * 86400;
	bt.last_time_s = clock_now_s(clock_system());
	buf_init(&bt.out, 64 * 1024 + 4096);

	for (int i = optind; i < argc && status == 0; i++) {
		FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;

		if (!f) {
			fprintf(stderr, "pinbridge backtest: %s: %s\n", argv[i],
			    strerror(errno));
			status = -1;
			break;
		}
		status = read_stream(&bt, &arena, f, argv[i]);
		if (f != stdin)
			fclose(f);
	}
	json_use_arena(NULL);
	hasher_free(bt.ctx.hasher);
	arena_release(&arena);

	if (status == 0) {
		replay(&bt);
		fwrite(bt.out.data, 1, bt.out.len, stdout);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "pinbridge backtest: write error: %s\n",
			    strerror(errno));
			status = -1;
		}
	}
	for (size_t i = 0; i < bt.n; i++) {
		free(bt.recs[i].event_name);
		free(bt.recs[i].event_id);
		free(bt.recs[i].order_id);
	}
	free(bt.recs);
	buf_release(&bt.out);
	if (status < 0)
		return EXIT_USAGE;
	return bt.rejected || bt.n == 0 ? EXIT_PARTIAL : 0;
}

const struct cmd_entry cmd_backtest = {
	"backtest",
	"[options] FILE...",
	"replay historic events through the monitoring rules",
	run,
};

/*
 * pinbridge serve: the gateway. Wires the pieces of design §2 together:
 *
 *   ingest (HTTP) -> journal (group commit) -> store <- deliver (Pinterest)
 *
 * Signals: SIGTERM/SIGINT stop accepting, answer what is in progress,
 * commit what is queued, let delivery finish its requests, exit 0.
 * SIGHUP re-reads every secret and resumes accounts paused on 401/403.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cmd.h"
#include "deliver/worker.h"
#include "event/merge.h"
#include "ingest/batch.h"
#include "ingest/server.h"
#include "monitor/live.h"
#include "store/journal.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/log.h"
#include "util/banned.h"

#define SHUTDOWN_GRACE_MS	10000
/* How often the main thread hands freed heap back to the kernel. */
#define TRIM_INTERVAL_S		5
/*
 * A fixed mmap threshold: glibc otherwise raises it after the first large
 * free (up to 32 MiB), and 1000-event request buffers then stay in the
 * heap. Below 512 KiB (a 100-event request's buffers) the heap serves,
 * without a page fault per fresh mapping.
 */
#define MALLOC_MMAP_BYTES	(512 * 1024)

struct gateway {
	struct config cfg;
	const struct clock *clock;
	char db_path[CONFIG_VALUE_MAX + 32];
	char sink_path[CONFIG_VALUE_MAX + 32];
	struct journal *journal;
	struct store *stats_store;	/* read-only connection for health */
	pthread_mutex_t stats_lock;
	struct deliver *deliver;
	struct store *deliver_store;
	struct ingest *ingest;
	struct live_monitor *monitor;
	char alerts_path[CONFIG_VALUE_MAX + 32];
	char state_path[CONFIG_VALUE_MAX + 32];
	/* Delivery counters at the previous tick, to feed the monitor deltas. */
	uint64_t prev_delivered[CONFIG_MAX_ACCOUNTS];
	uint64_t prev_failed[CONFIG_MAX_ACCOUNTS];
};

static int run(int argc, char **argv);

const struct cmd_entry cmd_serve = {
	"serve",
	"[-c FILE]",
	"run the gateway: ingest, durable journal, delivery to Pinterest",
	run,
};

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
mkdir_p(const char *path)
{
	char tmp[CONFIG_VALUE_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0750) < 0 && errno != EEXIST ? -1 : 0;
}

/* ---- health and metrics ---------------------------------------------- */

static const struct store_stats *
find_stats(const struct store_stats *st, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(st[i].account, name))
			return &st[i];
	return NULL;
}

/* One account's entry of /v1/health; sets *paused for a 401/403 pause. */
static void
health_account(struct gateway *g, const struct account_config *ac,
    const struct store_stats *s, int64_t now_s, struct buf *out,
    bool *paused)
{
	struct deliver_account_stats ds;

	memset(&ds, 0, sizeof(ds));
	deliver_account_stats_by_name(g->deliver, ac->name, &ds);
	*paused |= ds.state == DELIVER_PAUSED;
	buf_adds(out, "{\"name\":");
	buf_add_json_cstr(out, ac->name);
	buf_addf(out, ",\"ad_account_id\":\"%s\",\"state\":\"%s\","
	    "\"pending\":%" PRId64 ",\"in_flight\":%" PRId64 ","
	    "\"dead\":%" PRId64 ",\"oldest_pending_age_s\":%" PRId64 ","
	    "\"delivered\":%llu,\"failed\":%llu,\"retried\":%llu,"
	    "\"lag_over_1h\":%llu,\"last_status\":%d,\"last_error\":",
	    ac->ad_account_id, deliver_state_name(ds.state),
	    s ? s->pending : 0, s ? s->in_flight : 0, s ? s->dead : 0,
	    s && s->oldest_pending_time ? now_s - s->oldest_pending_time : 0,
	    (unsigned long long)ds.delivered, (unsigned long long)ds.failed,
	    (unsigned long long)ds.retried, (unsigned long long)ds.lag_over_1h,
	    ds.last_status);
	buf_add_json_cstr(out, ds.last_error);
	buf_addch(out, '}');
}

/*
 * GET /v1/health: 200 "ok", 200 "degraded" (an account is paused on its
 * credentials: it keeps its events, the gateway still serves), or 503 when
 * the store cannot be read.
 */
static int
health(void *arg, struct buf *out)
{
	struct gateway *g = arg;
	struct journal_stats js;
	struct store_stats *ss = NULL;
	struct buf accounts = BUF_INIT;
	struct arena a;
	size_t nss = 0;
	int rc;
	bool paused = false;

	arena_init(&a, 0);
	pthread_mutex_lock(&g->stats_lock);
	rc = store_stats(g->stats_store, &a, &ss, &nss);
	pthread_mutex_unlock(&g->stats_lock);
	journal_get_stats(g->journal, &js);
	for (size_t i = 0; i < g->cfg.n_accounts; i++) {
		if (i)
			buf_addch(&accounts, ',');
		health_account(g, &g->cfg.accounts[i], rc < 0 ? NULL :
		    find_stats(ss, nss, g->cfg.accounts[i].name),
		    clock_now_s(g->clock), &accounts, &paused);
	}
	buf_addf(out, "{\"status\":\"%s\",\"store\":{\"ok\":%s,"
	    "\"commits\":%llu,\"failed_commits\":%llu,\"queued\":%zu},"
	    "\"accounts\":[%s]}",
	    rc < 0 ? "unavailable" : paused ? "degraded" : "ok",
	    rc < 0 ? "false" : "true", js.commits, js.failures, js.queued,
	    accounts.data);
	buf_release(&accounts);
	arena_release(&a);
	return rc < 0 ? 503 : 200;
}

/* The commit-duration histogram, in Prometheus' cumulative form. */
static void
journal_commit_metrics(const struct journal_stats *js, struct buf *out)
{
	unsigned long long cum = 0;

	buf_adds(out, "# HELP pinbridge_journal_commit_seconds Duration of a "
	    "group commit, fsync included (what each request in it waited).\n"
	    "# TYPE pinbridge_journal_commit_seconds histogram\n");
	for (size_t k = 0; k < JOURNAL_COMMIT_BUCKETS; k++) {
		cum += js->commit_hist[k];
		buf_addf(out, "pinbridge_journal_commit_seconds_bucket{le=\"%g\"} "
		    "%llu\n", journal_commit_bounds_ms[k] / 1000, cum);
	}
	cum += js->commit_hist[JOURNAL_COMMIT_BUCKETS];
	buf_addf(out, "pinbridge_journal_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "pinbridge_journal_commit_seconds_sum %.6f\n"
	    "pinbridge_journal_commit_seconds_count %llu\n",
	    cum, js->commit_seconds, cum);
}

static void
metrics(void *arg, struct buf *out)
{
	struct gateway *g = arg;
	struct journal_stats js;
	struct store_stats *ss = NULL;
	struct arena a;
	size_t nss = 0;

	arena_init(&a, 0);
	journal_get_stats(g->journal, &js);
	buf_addf(out,
	    "# HELP pinbridge_journal_commits_total Group commits (one fsync each).\n"
	    "# TYPE pinbridge_journal_commits_total counter\n"
	    "pinbridge_journal_commits_total %llu\n"
	    "# HELP pinbridge_journal_failed_commits_total Commits that failed (clients got 503).\n"
	    "# TYPE pinbridge_journal_failed_commits_total counter\n"
	    "pinbridge_journal_failed_commits_total %llu\n"
	    "# HELP pinbridge_journal_records_total Records made durable.\n"
	    "# TYPE pinbridge_journal_records_total counter\n"
	    "pinbridge_journal_records_total %llu\n"
	    "# HELP pinbridge_journal_queued Records waiting for the next commit.\n"
	    "# TYPE pinbridge_journal_queued gauge\n"
	    "pinbridge_journal_queued %zu\n",
	    js.commits, js.failures, js.records, js.queued);
	journal_commit_metrics(&js, out);
	pthread_mutex_lock(&g->stats_lock);
	if (store_stats(g->stats_store, &a, &ss, &nss) < 0)
		nss = 0;
	pthread_mutex_unlock(&g->stats_lock);
	buf_adds(out, "# HELP pinbridge_queue_events Events by delivery state.\n"
	    "# TYPE pinbridge_queue_events gauge\n");
	for (size_t i = 0; i < nss; i++)
		buf_addf(out,
		    "pinbridge_queue_events{account=\"%s\",state=\"pending\"} %" PRId64 "\n"
		    "pinbridge_queue_events{account=\"%s\",state=\"in_flight\"} %" PRId64 "\n"
		    "pinbridge_queue_events{account=\"%s\",state=\"dead\"} %" PRId64 "\n",
		    ss[i].account, ss[i].pending, ss[i].account, ss[i].in_flight,
		    ss[i].account, ss[i].dead);
	buf_adds(out, "# HELP pinbridge_delivery_events_total Delivery outcomes.\n"
	    "# TYPE pinbridge_delivery_events_total counter\n");
	for (size_t i = 0; i < deliver_account_count(g->deliver); i++) {
		struct deliver_account_stats ds;

		if (deliver_account_stats(g->deliver, i, &ds) < 0)
			continue;
		buf_addf(out,
		    "pinbridge_delivery_events_total{account=\"%s\",outcome=\"delivered\"} %llu\n"
		    "pinbridge_delivery_events_total{account=\"%s\",outcome=\"failed\"} %llu\n"
		    "pinbridge_delivery_events_total{account=\"%s\",outcome=\"dead\"} %llu\n"
		    "pinbridge_delivery_events_total{account=\"%s\",outcome=\"expired\"} %llu\n"
		    "pinbridge_delivery_events_total{account=\"%s\",outcome=\"retried\"} %llu\n"
		    "pinbridge_delivery_events_total{account=\"%s\",outcome=\"lag_over_1h\"} %llu\n"
		    "pinbridge_delivery_batches_total{account=\"%s\"} %llu\n"
		    "pinbridge_delivery_paused{account=\"%s\"} %d\n",
		    ds.name, (unsigned long long)ds.delivered,
		    ds.name, (unsigned long long)ds.failed,
		    ds.name, (unsigned long long)ds.dead,
		    ds.name, (unsigned long long)ds.expired,
		    ds.name, (unsigned long long)ds.retried,
		    ds.name, (unsigned long long)ds.lag_over_1h,
		    ds.name, (unsigned long long)ds.batches,
		    ds.name, ds.state == DELIVER_PAUSED);
	}
	arena_release(&a);
	if (g->monitor)
		live_metrics(g->monitor, out);
}

/* ---- parity monitoring ----------------------------------------------- */

static void
observe(void *arg, const char *account, const struct batch *b)
{
	struct gateway *g = arg;

	for (size_t i = 0; i < b->n; i++) {
		const struct batch_result *r = &b->results[i];
		const struct store_record *rec;
		struct monitor_obs o;

		if (!r->accepted)
			continue;
		rec = &b->recs[r->record];
		/* A leg counts once: the ledger dedupes a client's retries. */
		memset(&o, 0, sizeof(o));
		o.account = account;
		o.event_name = rec->event_name;
		o.event_id = rec->event_id;
		o.order_id = rec->order_id;
		o.leg = rec->legs & LEG_BROWSER ? LEDGER_BROWSER : LEDGER_SERVER;
		o.value = r->value;
		o.fields = r->fields;
		live_observe(g->monitor, &o);
	}
}

static void
status_json(void *arg, struct buf *out)
{
	live_status_json(((struct gateway *)arg)->monitor, out);
}

static void
alerts_json(void *arg, struct buf *out)
{
	live_alerts_json(((struct gateway *)arg)->monitor, out);
}

/* Runs on the monitor thread before each tick, with the engine locked. */
static void
feed_delivery(void *arg, struct monitor *m)
{
	struct gateway *g = arg;

	for (size_t i = 0; i < deliver_account_count(g->deliver) &&
	    i < CONFIG_MAX_ACCOUNTS; i++) {
		struct deliver_account_stats ds;
		int status;

		if (deliver_account_stats(g->deliver, i, &ds) < 0)
			continue;
		status = ds.state == DELIVER_PAUSED ? ds.last_status : 200;
		monitor_delivery(m, ds.name, NULL,
		    (uint32_t)(ds.delivered - g->prev_delivered[i]),
		    (uint32_t)(ds.failed - g->prev_failed[i]), status);
		g->prev_delivered[i] = ds.delivered;
		g->prev_failed[i] = ds.failed;
	}
}

/* [monitor] and [rules "..."] from the INI, applied over the defaults. */
static void
apply_settings(struct rule_config *rc, const struct rule_settings *s)
{
	if (s->dedup_threshold >= 0)
		rc->dedup_threshold = s->dedup_threshold;
	if (s->volume_threshold >= 0)
		rc->volume_threshold = s->volume_threshold;
	if (s->leg_down_share >= 0)
		rc->leg_down_share = s->leg_down_share;
	if (s->fail_share >= 0)
		rc->fail_share = s->fail_share;
	if (s->sustain_ms >= 0)
		rc->sustain_ms = s->sustain_ms;
	if (s->clear_ms >= 0)
		rc->clear_ms = s->clear_ms;
	if (s->min_events >= 0)
		rc->min_events = (uint32_t)s->min_events;
}

static int
apply_disable(struct rule_config *rc, const struct rule_settings *s,
    const char *path)
{
	char list[CONFIG_VALUE_MAX], *save = NULL;

	snprintf(list, sizeof(list), "%s", s->disable);
	for (char *name = strtok_r(list, ", \t", &save); name;
	    name = strtok_r(NULL, ", \t", &save)) {
		int r = rule_by_name(name);

		if (r < 0) {
			fprintf(stderr, "pinbridge serve: %s:%d: disable: '%s' "
			    "is not a rule\n", path, s->line, name);
			return -1;
		}
		rc->enabled[r] = false;
	}
	return 0;
}

struct rules_job {
	const struct config *cfg;
	int rc;
};

static void
set_rules(struct monitor *m, void *arg)
{
	struct rules_job *job = arg;
	const struct config *cfg = job->cfg;

	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct rule_settings *s = &cfg->rules[i];
		struct rule_config rc;

		rule_config_defaults(&rc);
		apply_settings(&rc, &cfg->monitor);
		apply_settings(&rc, s);
		if (apply_disable(&rc, &cfg->monitor, cfg->path) < 0 ||
		    apply_disable(&rc, s, cfg->path) < 0) {
			job->rc = -1;
			return;
		}
		monitor_set_rules(m, s->account[0] ? s->account : NULL,
		    s->event_name[0] ? s->event_name : NULL, &rc);
	}
}

static int
start_monitor(struct gateway *g)
{
	struct live_config lc;
	struct rules_job job = { &g->cfg, 0 };

	memset(&lc, 0, sizeof(lc));
	lc.clock = g->clock;
	monitor_config_defaults(&lc.engine);
	apply_settings(&lc.engine.rules, &g->cfg.monitor);
	if (apply_disable(&lc.engine.rules, &g->cfg.monitor, g->cfg.path) < 0)
		return -1;
	lc.engine.grace_ms = g->cfg.grace_ms;
	if (g->cfg.ledger_max_bytes)
		lc.engine.max_ledger_bytes = g->cfg.ledger_max_bytes;
	snprintf(g->alerts_path, sizeof(g->alerts_path), "%s/alerts.ndjson",
	    g->cfg.data_dir);
	snprintf(g->state_path, sizeof(g->state_path), "%s/monitor.state",
	    g->cfg.data_dir);
	lc.alerts_path = g->alerts_path;
	lc.state_path = g->state_path;
	lc.webhook_url = g->cfg.webhook_url[0] ? g->cfg.webhook_url : NULL;
	lc.before_tick = feed_delivery;
	lc.arg = g;
	g->monitor = live_start(&lc);
	if (!g->monitor) {
		log_error("cannot start parity monitoring");
		return -1;
	}
	live_with(g->monitor, set_rules, &job);
	return job.rc;
}

/* ---- start and stop ---------------------------------------------------- */

enum store_role { ROLE_JOURNAL, ROLE_DELIVERY, ROLE_STATS };

static int
open_store(struct gateway *g, enum store_role role, struct store **out)
{
	struct store_config sc;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.path = g->db_path;
	sc.clock = g->clock;
	sc.readonly = role == ROLE_STATS;
	/* Two legs of one pending event become one delivery (event/merge.h). */
	if (!sc.readonly)
		sc.merge = event_merge_legs;
	/* Acks wait for the journal's commits: keep checkpoints off them. */
	sc.background_checkpoint = role == ROLE_JOURNAL;
	rc = store_open(&sc, out);
	if (rc < 0)
		log_error("cannot open store %s: %s", g->db_path,
		    store_strerror(rc));
	return rc;
}

static int
start_delivery(struct gateway *g)
{
	struct deliver_account_config accts[CONFIG_MAX_ACCOUNTS];
	struct deliver_config dc;
	struct buf err = BUF_INIT;

	deliver_config_defaults(&dc);
	dc.clock = g->clock;
	dc.http.api_base = g->cfg.api_base;
	dc.http.timeout_ms = (long)g->cfg.request_timeout_ms;
	dc.policy.backoff_base_ms = g->cfg.backoff_base_ms;
	dc.policy.backoff_cap_ms = g->cfg.backoff_max_ms;
	dc.policy.max_age_s = g->cfg.max_age_s;
	dc.sink_path = g->sink_path;
	dc.batch_max = (size_t)g->cfg.batch_size;
	dc.flush_delay_ms = g->cfg.flush_ms;
	for (size_t i = 0; i < g->cfg.n_accounts; i++) {
		const struct account_config *a = &g->cfg.accounts[i];

		memset(&accts[i], 0, sizeof(accts[i]));
		accts[i].name = a->name;
		accts[i].ad_account_id = a->ad_account_id;
		accts[i].token = a->token;
		accts[i].test_mode = a->test_mode;
		accts[i].rate_per_min = a->rate_limit_per_min;
	}
	if (open_store(g, ROLE_DELIVERY, &g->deliver_store) < 0)
		return -1;
	g->deliver = deliver_new(&dc, g->deliver_store, accts,
	    g->cfg.n_accounts, &err);
	if (!g->deliver) {
		log_error("delivery: %s", err.data);
		buf_release(&err);
		return -1;
	}
	buf_release(&err);
	if (deliver_start(g->deliver) < 0) {
		log_error("delivery: cannot start its thread");
		return -1;
	}
	return 0;
}

static void
reload_secrets(struct gateway *g)
{
	char err[512];

	config_release(&g->cfg);
	if (config_load_secrets(&g->cfg, err, sizeof(err)) < 0) {
		log_error("SIGHUP: %s; keeping delivery paused", err);
		return;
	}
	for (size_t i = 0; i < g->cfg.n_accounts; i++) {
		const struct account_config *a = &g->cfg.accounts[i];

		if (a->token)
			deliver_resume_account(g->deliver, a->name, a->token);
	}
	log_info("SIGHUP: secrets re-read, paused accounts resumed");
}

static void
announce(const struct gateway *g)
{
	log_info("pinbridge listening on http://%s:%d (store %s)",
	    g->cfg.listen_host, ingest_port(g->ingest), g->db_path);
	for (size_t i = 0; i < g->cfg.n_accounts; i++) {
		const struct account_config *a = &g->cfg.accounts[i];

		if (a->token)
			log_info("account \"%s\": ad account %s -> %s%s", a->name,
			    a->ad_account_id, g->cfg.api_base,
			    a->test_mode ? " (test mode)" : "");
		else
			log_info("account \"%s\": no token configured: dry run, "
			    "request bodies go to %s", a->name, g->sink_path);
	}
}

static void
stop_all(struct gateway *g)
{
	ingest_stop(g->ingest, SHUTDOWN_GRACE_MS);
	g->ingest = NULL;
	journal_close(g->journal);
	g->journal = NULL;
	live_stop(g->monitor);
	g->monitor = NULL;
	if (g->deliver) {
		deliver_stop(g->deliver);
		deliver_free(g->deliver);
	}
	store_close(g->deliver_store);
	store_close(g->stats_store);
	pthread_mutex_destroy(&g->stats_lock);
	config_release(&g->cfg);
}

static int
start_all(struct gateway *g)
{
	struct ingest_hooks hooks = {
		.health = health,
		.metrics = metrics,
		.observe = observe,
		.status = status_json,
		.alerts = alerts_json,
		.arg = g,
	};
	struct store *writer;
	char err[512];

	if (mkdir_p(g->cfg.data_dir) < 0) {
		log_error("cannot create data_dir %s: %s", g->cfg.data_dir,
		    strerror(errno));
		return -1;
	}
	snprintf(g->db_path, sizeof(g->db_path), "%s/pinbridge.db",
	    g->cfg.data_dir);
	if (g->cfg.sink_path[0])
		snprintf(g->sink_path, sizeof(g->sink_path), "%s",
		    g->cfg.sink_path);
	else
		snprintf(g->sink_path, sizeof(g->sink_path), "%s/sink.ndjson",
		    g->cfg.data_dir);
	if (open_store(g, ROLE_JOURNAL, &writer) < 0)
		return -1;
	if (journal_start(writer, NULL, &g->journal) < 0) {
		log_error("cannot start the journal");
		store_close(writer);
		return -1;
	}
	if (open_store(g, ROLE_STATS, &g->stats_store) < 0 ||
	    start_delivery(g) < 0 ||
	    start_monitor(g) < 0)
		return -1;
	g->ingest = ingest_start(&g->cfg, g->journal, g->clock, &hooks, err,
	    sizeof(err));
	if (!g->ingest) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static int
run(int argc, char **argv)
{
	struct gateway g;
	const char *path = "pinbridge.ini";
	char err[512];
	sigset_t sigs;
	int opt, sig, level;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			cmd_usage(&cmd_serve, stdout);
			return 0;
		default:
			cmd_usage(&cmd_serve, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cmd_usage(&cmd_serve, stderr);
		return EXIT_USAGE;
	}
	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.stats_lock, NULL);
	g.clock = clock_system();
	config_defaults(&g.cfg);
	if (config_load(&g.cfg, path, err, sizeof(err)) < 0 ||
	    config_load_secrets(&g.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "pinbridge serve: %s\n", err);
		config_release(&g.cfg);
		return EXIT_USAGE;
	}
	if ((level = log_level_parse(g.cfg.log_level)) >= 0)
		log_set_level((enum log_level)level);

	mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_BYTES);
	/* Every thread started below inherits this mask; only sigwait sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (start_all(&g) < 0) {
		stop_all(&g);
		return 1;
	}
	announce(&g);
	for (;;) {
		struct timespec tick = { .tv_sec = TRIM_INTERVAL_S };

		if ((sig = sigtimedwait(&sigs, NULL, &tick)) < 0) {
			/*
			 * A burst of large requests leaves tens of MiB free
			 * inside the worker threads' malloc arenas, which glibc
			 * keeps resident; giving them back holds RSS near what
			 * is in use (docs/PERFORMANCE.md, memory).
			 */
			if (errno == EAGAIN)
				malloc_trim(0);
			continue;
		}
		if (sig == SIGHUP) {
			reload_secrets(&g);
			continue;
		}
		break;
	}
	log_info("%s: draining (no new connections; finishing requests, "
	    "commits and deliveries in flight)", sig == SIGINT ? "SIGINT" :
	    "SIGTERM");
	stop_all(&g);
	log_info("stopped cleanly");
	return 0;
}

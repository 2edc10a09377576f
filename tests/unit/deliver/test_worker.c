/*
 * test_worker.c: the delivery loop end to end, against a real SQLite
 * store in a temp dir and the fake Pinterest on 127.0.0.1. Timers are
 * shortened through the config; every wait is bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "deliver/worker.h"
#include "fake_pinterest.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

#define WAIT_MS	15000
#define EM	"\"em\":[\"87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674\"]"

struct fx {
	char dir[64];
	char db[128];
	char sink[128];
	struct store *st;		/* the worker's connection */
	struct store *ist;		/* the test's, as ingest would have */
	struct fake_pinterest *fp;
	struct deliver *d;
	struct deliver_config cfg;
	char base[64];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct fake_pinterest_config fc = { 0 };
	struct store_config sc = { 0 };

	log_set_level(LOG_ERROR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pb-deliver-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/pb.db", f->dir);
	snprintf(f->sink, sizeof(f->sink), "%s/sink.ndjson", f->dir);
	sc.path = f->db;
	if (store_open(&sc, &f->st) != 0 || store_open(&sc, &f->ist) != 0)
		return -1;
	fc.token = "tok";
	f->fp = fake_pinterest_start(&fc);
	if (!f->fp)
		return -1;
	fake_pinterest_base_url(f->fp, f->base, sizeof(f->base));

	deliver_config_defaults(&f->cfg);
	f->cfg.http.api_base = f->base;
	f->cfg.http.connect_timeout_ms = 2000;
	f->cfg.http.timeout_ms = 5000;
	f->cfg.flush_delay_ms = 20;
	f->cfg.idle_poll_ms = 10;
	f->cfg.policy.backoff_base_ms = 20;
	f->cfg.policy.backoff_cap_ms = 200;
	f->cfg.policy.pause_probe_ms = 100;
	f->cfg.sink_path = f->sink;
	f->cfg.sink_sync = PIN_SINK_SYNC_NONE;
	f->cfg.stop_timeout_ms = 3000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	deliver_free(f->d);
	fake_pinterest_stop(f->fp);
	store_close(f->st);
	store_close(f->ist);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* Appends n events "<prefix><i>" with event_time t to account. */
static void
add_events(struct fx *f, const char *account, const char *prefix, size_t n,
    int64_t t)
{
	struct store_record *recs = calloc(n, sizeof(*recs));
	char **ids = calloc(n, sizeof(*ids));
	char **payloads = calloc(n, sizeof(*payloads));

	for (size_t i = 0; i < n; i++) {
		struct buf id = BUF_INIT, p = BUF_INIT;

		if (n == 1 && strchr(prefix, '*') == NULL && prefix[0] == '=')
			buf_adds(&id, prefix + 1);
		else
			buf_addf(&id, "%s%zu", prefix, i);
		buf_addf(&p, "{\"event_name\":\"checkout\",\"action_source\":"
		    "\"web\",\"event_time\":%lld,\"event_id\":", (long long)t);
		buf_add_json_cstr(&p, id.data);
		buf_adds(&p, ",\"user_data\":{" EM "}}");
		ids[i] = buf_detach(&id, NULL);
		payloads[i] = buf_detach(&p, &recs[i].payload_len);
		recs[i].account = account;
		recs[i].event_id = ids[i];
		recs[i].event_name = "checkout";
		recs[i].event_time = t;
		recs[i].received_at_ms = clock_now_ms(clock_system());
		recs[i].legs = 2;
		recs[i].payload = payloads[i];
	}
	assert_int_equal(store_append(f->ist, recs, n), 0);
	for (size_t i = 0; i < n; i++) {
		free(ids[i]);
		free(payloads[i]);
	}
	free(ids);
	free(payloads);
	free(recs);
}

static void
start(struct fx *f, const struct deliver_account_config *acc, size_t n)
{
	struct buf err = BUF_INIT;

	f->d = deliver_new(&f->cfg, f->st, acc, n, &err);
	if (!f->d)
		fail_msg("deliver_new: %s", err.data);
	buf_release(&err);
	assert_int_equal(deliver_start(f->d), 0);
}

static struct deliver_account_stats
stats(struct fx *f, const char *name)
{
	struct deliver_account_stats s;

	assert_int_equal(deliver_account_stats_by_name(f->d, name, &s), 0);
	return s;
}

/* Polls until delivered + dead of `name` reaches `n`. */
static void
wait_settled(struct fx *f, const char *name, uint64_t n)
{
	int64_t end = clock_mono_ms() + WAIT_MS;
	struct deliver_account_stats s;

	for (;;) {
		s = stats(f, name);
		if (s.delivered + s.dead >= n)
			return;
		if (clock_mono_ms() > end)
			fail_msg("account %s: %llu delivered + %llu dead after "
			    "%d ms, want %llu (state %s, last error '%s')", name,
			    (unsigned long long)s.delivered,
			    (unsigned long long)s.dead, WAIT_MS,
			    (unsigned long long)n, deliver_state_name(s.state),
			    s.last_error);
		usleep(5000);
	}
}

static void
wait_state(struct fx *f, const char *name, enum deliver_state want)
{
	int64_t end = clock_mono_ms() + WAIT_MS;

	while (stats(f, name).state != want) {
		if (clock_mono_ms() > end)
			fail_msg("account %s never reached state %s", name,
			    deliver_state_name(want));
		usleep(5000);
	}
}

static struct store_stats
store_counts(struct fx *f, const char *account)
{
	struct arena a;
	struct store_stats *ss = NULL, out = { 0 };
	size_t n = 0;

	arena_init(&a, 4096);
	assert_int_equal(store_stats(f->ist, &a, &ss, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ss[i].account, account) == 0)
			out = ss[i];
	out.account = NULL;
	arena_release(&a);
	return out;
}

struct dead_seen {
	size_t n;
	char ids[32][64];
	char reasons[32][32];
	char messages[32][256];
};

static int
on_dead(void *arg, const struct store_dead *dl)
{
	struct dead_seen *ds = arg;

	if (ds->n < 32) {
		snprintf(ds->ids[ds->n], 64, "%s", dl->event_id);
		snprintf(ds->reasons[ds->n], 32, "%s", dl->reason);
		snprintf(ds->messages[ds->n], 256, "%s",
		    dl->message ? dl->message : "");
	}
	ds->n++;
	return 0;
}

static void
dead_list(struct fx *f, const char *account, struct dead_seen *ds)
{
	struct store_filter flt = { 0 };

	memset(ds, 0, sizeof(*ds));
	flt.account = account;
	assert_int_equal(store_dead_list(f->ist, &flt, 0, on_dead, ds), 0);
}

/* ---- tests ----------------------------------------------------------- */

static void
test_happy_path(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct fake_pinterest_stats fs;
	size_t sizes[64], nb;
	struct store_stats ss;

	add_events(f, "shop", "ev-", 2500, now_s() - 10);
	start(f, &acc, 1);
	wait_settled(f, "shop", 2500);
	deliver_stop(f->d);

	fake_pinterest_get_stats(f->fp, &fs);
	assert_int_equal(fs.events_accepted, 2500);
	assert_int_equal(fs.unique_events, 2500);
	assert_int_equal(fs.duplicate_accepts, 0);
	assert_int_equal(fs.max_batch, 1000);
	nb = fake_pinterest_batch_sizes(f->fp, sizes, 64);
	assert_true(nb >= 3);
	for (size_t i = 0; i < nb && i < 64; i++)
		assert_true(sizes[i] >= 1 && sizes[i] <= 1000);
	assert_int_equal(fake_pinterest_accepted(f->fp, "ev-0"), 1);
	assert_int_equal(fake_pinterest_accepted(f->fp, "ev-2499"), 1);

	ss = store_counts(f, "shop");
	assert_int_equal(ss.pending, 0);
	assert_int_equal(ss.in_flight, 0);
	assert_int_equal(ss.done, 2500);
	assert_int_equal(ss.dead, 0);
	assert_int_equal(stats(f, "shop").delivered, 2500);
	assert_int_equal(stats(f, "shop").lag_over_1h, 0);
	assert_int_equal(stats(f, "shop").batches, nb);
}

static void
test_flush_delay_batches_small_trickle(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	size_t sizes[8];

	f->cfg.flush_delay_ms = 300;
	f->cfg.idle_poll_ms = 20;
	start(f, &acc, 1);
	/* Three events a few ms apart arrive within one flush delay. */
	add_events(f, "shop", "a-", 1, now_s());
	deliver_wakeup(f->d);
	usleep(30000);
	add_events(f, "shop", "b-", 1, now_s());
	usleep(30000);
	add_events(f, "shop", "c-", 1, now_s());
	wait_settled(f, "shop", 3);
	assert_int_equal(fake_pinterest_batch_sizes(f->fp, sizes, 8), 1);
	assert_int_equal(sizes[0], 3);
}

static void
test_partial_422_dead_letters(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct dead_seen ds;
	struct deliver_account_stats s;

	add_events(f, "shop", "ok-", 7, now_s());
	add_events(f, "shop", "fail-", 3, now_s());
	start(f, &acc, 1);
	wait_settled(f, "shop", 10);
	deliver_stop(f->d);

	s = stats(f, "shop");
	assert_int_equal(s.delivered, 7);
	assert_int_equal(s.failed, 3);
	assert_int_equal(s.dead, 3);
	assert_int_equal(s.last_status, 422);
	dead_list(f, "shop", &ds);
	assert_int_equal(ds.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(strncmp(ds.ids[i], "fail-", 5), 0);
		assert_string_equal(ds.reasons[i], "rejected");
		assert_string_equal(ds.messages[i],
		    "Invalid event: forced failure for this event_id");
	}
	/* Failed events are not resent. */
	assert_int_equal(fake_pinterest_received(f->fp, "fail-0"), 1);
	assert_int_equal(store_counts(f, "shop").done, 7);
}

static void
test_bisect_isolates_bad_event(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct fake_pinterest_stats fs;
	struct dead_seen ds;

	add_events(f, "shop", "good-", 40, now_s());
	add_events(f, "shop", "=bad-400", 1, now_s());
	add_events(f, "shop", "more-", 23, now_s());
	start(f, &acc, 1);
	wait_settled(f, "shop", 64);
	deliver_stop(f->d);

	assert_int_equal(stats(f, "shop").delivered, 63);
	assert_true(stats(f, "shop").bisections >= 6);	/* 64 → 1 */
	dead_list(f, "shop", &ds);
	assert_int_equal(ds.n, 1);
	assert_string_equal(ds.ids[0], "bad-400");
	assert_string_equal(ds.reasons[0], "bad_request");
	assert_string_equal(ds.messages[0],
	    "Invalid request: event 'bad-400' is malformed");
	fake_pinterest_get_stats(f->fp, &fs);
	assert_int_equal(fs.events_accepted, 63);
	assert_int_equal(fs.duplicate_accepts, 0);
	for (int i = 0; i < 40; i++) {
		char id[16];

		snprintf(id, sizeof(id), "good-%d", i);
		assert_int_equal(fake_pinterest_accepted(f->fp, id), 1);
	}
}

static void
test_401_pause_then_resume(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "stale", false, 0, 0 };
	struct store_stats ss;

	f->cfg.policy.pause_probe_ms = 60000;	/* only an explicit resume helps */
	add_events(f, "shop", "ev-", 50, now_s());
	start(f, &acc, 1);
	wait_state(f, "shop", DELIVER_PAUSED);
	usleep(100000);
	assert_int_equal(stats(f, "shop").delivered, 0);
	assert_int_equal(stats(f, "shop").dead, 0);
	assert_int_equal(stats(f, "shop").pauses, 1);
	assert_int_equal(stats(f, "shop").last_status, 401);
	assert_non_null(strstr(stats(f, "shop").last_error,
	    "credentials_invalid"));

	/* Token fixed (e.g. token file re-read): resume with it. */
	assert_int_equal(deliver_resume_account(f->d, "shop", "tok"), 0);
	assert_int_equal(deliver_resume_account(f->d, "nope", NULL), -ENOENT);
	wait_settled(f, "shop", 50);
	deliver_stop(f->d);
	ss = store_counts(f, "shop");
	assert_int_equal(ss.done, 50);
	assert_int_equal(ss.dead, 0);
	assert_int_equal(fake_pinterest_accepted(f->fp, "ev-49"), 1);
}

static void
test_401_probe_resumes_when_token_accepted(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct fake_pinterest_stats fs;

	fake_pinterest_set_token(f->fp, "rotated");
	add_events(f, "shop", "ev-", 30, now_s());
	start(f, &acc, 1);
	wait_state(f, "shop", DELIVER_PAUSED);
	/* Pinterest accepts our token again (revocation undone). */
	fake_pinterest_set_token(f->fp, "tok");
	wait_settled(f, "shop", 30);
	assert_int_equal(stats(f, "shop").delivered, 30);
	assert_int_equal(stats(f, "shop").dead, 0);
	fake_pinterest_get_stats(f->fp, &fs);
	assert_int_equal(fs.duplicate_accepts, 0);
}

static void
test_retry_429_and_5xx_then_success(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct fake_pinterest_stats fs;
	struct deliver_account_stats s;

	fake_pinterest_push(f->fp, 429, NULL, "0");
	fake_pinterest_push(f->fp, 503, NULL, NULL);
	fake_pinterest_push(f->fp, 500, NULL, NULL);
	fake_pinterest_push(f->fp, 0, NULL, NULL);	/* connection dropped */
	add_events(f, "shop", "ev-", 100, now_s());
	start(f, &acc, 1);
	wait_settled(f, "shop", 100);
	deliver_stop(f->d);

	s = stats(f, "shop");
	assert_int_equal(s.delivered, 100);
	assert_int_equal(s.dead, 0);
	assert_true(s.retried >= 4 * 100 - 300);	/* ≥ 4 failed requests */
	fake_pinterest_get_stats(f->fp, &fs);
	assert_int_equal(fs.forced, 4);
	assert_int_equal(fs.events_accepted, 100);
	assert_int_equal(fs.duplicate_accepts, 0);
	assert_int_equal(store_counts(f, "shop").done, 100);
}

static void
test_retry_after_is_honoured(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	int64_t t0;

	fake_pinterest_push(f->fp, 429, NULL, "1");
	add_events(f, "shop", "ev-", 5, now_s());
	t0 = clock_mono_ms();
	start(f, &acc, 1);
	wait_settled(f, "shop", 5);
	/* Backoff alone would be ≤ 20 ms; Retry-After says 1 s. */
	assert_true(clock_mono_ms() - t0 >= 1000);
}

static void
test_failing_account_does_not_block_others(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc[] = {
		{ "broken", "111", "tok", false, 0, 0 },
		{ "healthy", "222", "tok", false, 0, 0 },
		{ "dry", NULL, NULL, false, 0, 0 },
	};

	f->cfg.policy.backoff_base_ms = 2000;
	f->cfg.policy.backoff_cap_ms = 2000;
	fake_pinterest_fail_account(f->fp, "111", 503);
	add_events(f, "broken", "b-", 20, now_s());
	add_events(f, "healthy", "h-", 500, now_s());
	add_events(f, "dry", "d-", 5, now_s());
	start(f, acc, 3);
	wait_settled(f, "healthy", 500);
	wait_settled(f, "dry", 5);
	assert_int_equal(stats(f, "broken").delivered, 0);
	assert_int_equal(stats(f, "broken").dead, 0);
	assert_true(stats(f, "broken").retried >= 20);
	assert_int_equal(stats(f, "dry").state, DELIVER_DRY_RUN);
	fake_pinterest_fail_account(f->fp, "111", 0);
	wait_settled(f, "broken", 20);
}

static void
test_expiry(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct dead_seen ds;

	f->cfg.policy.max_age_s = 100;
	/* Too old before sending: never reaches Pinterest. */
	add_events(f, "shop", "old-", 3, now_s() - 200);
	start(f, &acc, 1);
	wait_settled(f, "shop", 3);
	assert_int_equal(fake_pinterest_received(f->fp, "old-0"), 0);
	assert_int_equal(stats(f, "shop").expired, 3);

	/* Young enough now, too old by the time Retry-After allows a retry. */
	fake_pinterest_push(f->fp, 503, NULL, "30");
	add_events(f, "shop", "aging-", 4, now_s() - 90);
	add_events(f, "shop", "fresh-", 2, now_s());
	deliver_wakeup(f->d);
	wait_settled(f, "shop", 3 + 4);
	deliver_stop(f->d);
	assert_int_equal(fake_pinterest_received(f->fp, "aging-0"), 1);
	dead_list(f, "shop", &ds);
	assert_int_equal(ds.n, 7);
	for (size_t i = 0; i < ds.n; i++)
		assert_string_equal(ds.reasons[i], "expired");
	assert_int_equal(stats(f, "shop").expired, 7);
	/* The fresh ones wait for their retry. */
	assert_int_equal(store_counts(f, "shop").pending, 2);
}

static void
test_lag_counted(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };

	add_events(f, "shop", "late-", 4, now_s() - 2 * 3600);
	add_events(f, "shop", "now-", 6, now_s());
	start(f, &acc, 1);
	wait_settled(f, "shop", 10);
	assert_int_equal(stats(f, "shop").lag_over_1h, 4);
	assert_int_equal(stats(f, "shop").delivered, 10);
}

static void
test_dry_run_sink(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "dry", NULL, NULL, false, 0, 0 };
	char line[4096];
	FILE *in;
	size_t n = 0;

	add_events(f, "dry", "s-", 2, 1800000000);
	start(f, &acc, 1);
	wait_settled(f, "dry", 2);
	deliver_stop(f->d);
	in = fopen(f->sink, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		n++;
		assert_string_equal(line,
		    "{\"data\":[{\"event_name\":\"checkout\",\"action_source\":"
		    "\"web\",\"event_time\":1800000000,\"event_id\":\"s-0\","
		    "\"user_data\":{" EM "}},{\"event_name\":\"checkout\","
		    "\"action_source\":\"web\",\"event_time\":1800000000,"
		    "\"event_id\":\"s-1\",\"user_data\":{" EM "}}]}\n");
	}
	fclose(in);
	assert_int_equal(n, 1);
	assert_int_equal(store_counts(f, "dry").done, 2);
	assert_int_equal(fake_pinterest_received(f->fp, "s-0"), 0);
}

static void
test_test_mode_query(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", true, 0, 0 };
	struct fake_pinterest_stats fs;

	add_events(f, "shop", "t-", 3, now_s());
	start(f, &acc, 1);
	wait_settled(f, "shop", 3);
	fake_pinterest_get_stats(f->fp, &fs);
	assert_int_equal(fs.test_requests, fs.requests);
	assert_true(fs.requests >= 1);
}

static void
test_stop_finishes_in_flight(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct store_stats ss;
	int64_t t0;

	fake_pinterest_set_delay_ms(f->fp, 400);
	add_events(f, "shop", "ev-", 10, now_s());
	start(f, &acc, 1);
	/* Wait until the request is on the wire, then stop mid-flight. */
	for (int i = 0; i < 400; i++) {
		struct fake_pinterest_stats fs;

		fake_pinterest_get_stats(f->fp, &fs);
		if (fs.requests)
			break;
		usleep(5000);
	}
	t0 = clock_mono_ms();
	deliver_stop(f->d);
	assert_true(clock_mono_ms() - t0 < 3000);
	ss = store_counts(f, "shop");
	assert_int_equal(ss.done, 10);
	assert_int_equal(ss.in_flight, 0);
}

static void
test_stop_releases_unsent_leases(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	struct store_stats ss;

	/* A batch held back by a long flush delay is released, not kept. */
	f->cfg.flush_delay_ms = 60000;
	add_events(f, "shop", "ev-", 10, now_s());
	start(f, &acc, 1);
	usleep(200000);
	deliver_stop(f->d);
	ss = store_counts(f, "shop");
	assert_int_equal(ss.pending, 10);
	assert_int_equal(ss.in_flight, 0);
	assert_int_equal(fake_pinterest_received(f->fp, "ev-0"), 0);
}

/*
 * Regression: during an outage the worker once counted every waiting batch
 * as one, leased the whole backlog and held it in memory (1.4 GiB with 1M
 * events waiting). Leases must stay within max_in_flight batches.
 */
static void
test_outage_leases_stay_bounded(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config acc = { "shop", "123", "tok", false, 0, 0 };
	int64_t most = 0;

	f->cfg.batch_max = 50;
	f->cfg.max_in_flight = 2;
	f->cfg.policy.backoff_base_ms = 200;
	f->cfg.policy.backoff_cap_ms = 400;
	fake_pinterest_set_down(f->fp, FAKE_DOWN_503);
	add_events(f, "shop", "out-", 2000, now_s());
	start(f, &acc, 1);
	for (int i = 0; i < 60; i++) {
		int64_t leased = store_counts(f, "shop").in_flight;

		if (leased > most)
			most = leased;
		usleep(10000);
	}
	assert_true(stats(f, "shop").retried > 0);
	if (most > 2 * 50)
		fail_msg("%lld rows leased during the outage; at most %d expected",
		    (long long)most, 2 * 50);
	fake_pinterest_set_down(f->fp, FAKE_UP);
	wait_settled(f, "shop", 2000);
	deliver_stop(f->d);
	assert_int_equal(stats(f, "shop").delivered, 2000);
}

static void
test_config_errors(void **state)
{
	struct fx *f = *state;
	struct deliver_account_config bad_id = { "x", "12ab", "tok", false, 0, 0 };
	struct deliver_account_config dup[] = {
		{ "x", "1", "tok", false, 0, 0 }, { "x", "2", "tok", false, 0, 0 },
	};
	struct buf err = BUF_INIT;

	assert_null(deliver_new(&f->cfg, f->st, &bad_id, 1, &err));
	assert_non_null(strstr(err.data, "ad_account_id"));
	buf_reset(&err);
	assert_null(deliver_new(&f->cfg, f->st, dup, 2, &err));
	assert_non_null(strstr(err.data, "twice"));
	buf_release(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_happy_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_delay_batches_small_trickle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_422_dead_letters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bisect_isolates_bad_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_401_pause_then_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_401_probe_resumes_when_token_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_429_and_5xx_then_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_is_honoured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failing_account_does_not_block_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lag_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_test_mode_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_finishes_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_releases_unsent_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outage_leases_stay_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

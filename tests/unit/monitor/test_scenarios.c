/*
 * test_scenarios.c: days and weeks of synthetic traffic played in seconds
 * through the same engine and rules the server and `backtest` use.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "monitor/monitor.h"
#include "util/buf.h"
#include "util/clock.h"
#include "sim.h"
#include "util/banned.h"

#define JUN18	(1781740800000LL)	/* 2026-06-18T00:00:00Z, a Thursday */
#define HIST	(4 * SIM_WEEK)		/* four weeks of history before */
#define AT(h, m) (JUN18 + (h) * SIM_HOUR + (m) * SIM_MIN)

struct scenario {
	struct clock clk;
	struct monitor *m;
	struct sim sim;
	struct sim_log log;
};

static void
scenario_start(struct scenario *sc, int64_t start, uint64_t seed)
{
	memset(sc, 0, sizeof(*sc));
	clock_fixed(&sc->clk, start);
	sc->m = monitor_new(&sc->clk, NULL);
	monitor_set_sink(sc->m, sim_sink, &sc->log);
	sim_init(&sc->sim, "shop", "checkout", seed);
}

static void
scenario_end(struct scenario *sc)
{
	if (sc->log.n)
		sim_log_print(&sc->log);
	monitor_free(sc->m);
	sim_release(&sc->sim);
	sim_log_release(&sc->log);
}

static struct monitor_series_status
status(struct scenario *sc)
{
	struct monitor_series_status st;

	assert_int_equal(monitor_series_status(sc->m, "shop", "checkout",
	    &st), 0);
	return st;
}

/*
 * The monitoring seed's worked example: a UK home decor store, Tag and
 * CAPI healthy (~94% matched); at 15:05 a theme update changes the
 * browser's event_id format; conversions run near 190% of expected and
 * dedup_rate_low must fire by 15:40, then resolve after the fix at 17:00.
 */
static void
test_worked_example(void **state)
{
	struct sim_store st;
	struct sim_fault f[] = {
		{ SIM_ID_BREAK, AT(15, 5), AT(17, 0), 0.97 },
	};
	struct scenario sc;
	struct monitor_series_status s;
	const struct sim_alert *fire, *res;

	(void)state;
	sim_store_default(&st);
	st.orders_per_hour = 600;
	st.browser_day = 0.93;	/* a desktop-heavy audience */
	st.browser_night = 0.88;
	st.server_cov = 0.94;	/* "94% dedup match rate" */
	scenario_start(&sc, JUN18 - HIST, 18);
	sim_generate(&sc.sim, &st, f, 1, JUN18 - HIST, AT(19, 0));

	sim_replay(&sc.sim, sc.m, &sc.clk, AT(9, 0));
	s = status(&sc);
	assert_true(s.eval[RULE_DEDUP_RATE_LOW].value > 0.85);
	assert_true(s.eval[RULE_VOLUME_LOW].value > 0.7 &&
	    s.eval[RULE_VOLUME_LOW].value < 1.3);
	assert_int_equal(s.eval[RULE_VOLUME_LOW].baseline, BASELINE_WEEKLY);

	sim_replay(&sc.sim, sc.m, &sc.clk, AT(14, 20));
	s = status(&sc);
	assert_true(s.eval[RULE_DEDUP_RATE_LOW].value > 0.85);
	assert_int_equal(sc.log.n, 0);

	sim_replay(&sc.sim, sc.m, &sc.clk, AT(15, 20));
	s = status(&sc);
	assert_true(s.eval[RULE_DEDUP_RATE_LOW].value < 0.3);
	assert_int_equal(s.eval[RULE_DEDUP_RATE_LOW].verdict, VERDICT_BAD);
	assert_false(s.firing[RULE_DEDUP_RATE_LOW]);	/* not sustained yet */
	assert_true(s.totals[BC_ID_MISMATCH] > 0);

	sim_replay(&sc.sim, sc.m, &sc.clk, AT(15, 40));
	fire = sim_find(&sc.log, RULE_DEDUP_RATE_LOW, ALERT_FIRING);
	assert_non_null(fire);
	assert_true(fire->at_ms >= AT(15, 30) && fire->at_ms <= AT(15, 40));
	assert_true(fire->value < 0.3);
	/* Conversions near 190% of expected. */
	assert_true(fire->volume_ratio > 1.6 && fire->volume_ratio < 2.1);
	/* The id-mismatch examples show what changed in the id format. */
	assert_true(fire->n_examples > 0);
	assert_non_null(strstr(fire->examples[0].browser_id, "_v2"));
	assert_non_null(strstr(fire->examples[0].server_id, "checkout:"));
	assert_non_null(strstr(fire->examples[0].browser_id,
	    fire->examples[0].order_id));

	sim_replay(&sc.sim, sc.m, &sc.clk, AT(19, 0));
	res = sim_find(&sc.log, RULE_DEDUP_RATE_LOW, ALERT_RESOLVED);
	assert_non_null(res);
	assert_true(res->at_ms > AT(17, 0) && res->at_ms <= AT(17, 30));
	/* Fired once, resolved once, and nothing else fired. */
	assert_int_equal(sc.log.n, 2);
	scenario_end(&sc);
}

/* Both legs lose 92% of orders from 11:00 to 14:00: volume_low only. */
static void
test_volume_collapse(void **state)
{
	struct sim_store st;
	struct sim_fault f[] = {
		{ SIM_VOLUME_DROP, AT(11, 0), AT(14, 0), 0.92 },
	};
	struct scenario sc;
	const struct sim_alert *a;

	(void)state;
	sim_store_default(&st);
	scenario_start(&sc, JUN18 - HIST, 2);
	sim_generate(&sc.sim, &st, f, 1, JUN18 - HIST, AT(16, 0));
	sim_replay(&sc.sim, sc.m, &sc.clk, AT(16, 0));
	a = sim_find(&sc.log, RULE_VOLUME_LOW, ALERT_FIRING);
	assert_non_null(a);
	assert_true(a->at_ms >= AT(11, 30) && a->at_ms <= AT(12, 0));
	assert_true(a->value < 0.5);
	a = sim_find(&sc.log, RULE_VOLUME_LOW, ALERT_RESOLVED);
	assert_non_null(a);
	assert_true(a->at_ms > AT(14, 0) && a->at_ms <= AT(14, 45));
	assert_int_equal(sc.log.n, 2);
	scenario_end(&sc);
}

static void
leg_down(enum sim_fault_kind kind, enum rule_id expect)
{
	struct sim_store st;
	struct sim_fault f[] = {
		{ kind, AT(10, 0), AT(13, 0), 1.0 },
	};
	struct scenario sc;
	const struct sim_alert *a;

	sim_store_default(&st);
	scenario_start(&sc, JUN18 - HIST, 3 + (uint64_t)kind);
	sim_generate(&sc.sim, &st, f, 1, JUN18 - HIST, AT(15, 0));
	sim_replay(&sc.sim, sc.m, &sc.clk, AT(15, 0));
	a = sim_find(&sc.log, expect, ALERT_FIRING);
	assert_non_null(a);
	/*
	 * 30 minutes sustained after ~20 events of the healthy leg (about
	 * 20-25 minutes of this store's mid-morning traffic) show it.
	 */
	assert_true(a->at_ms >= AT(10, 30) && a->at_ms <= AT(11, 0));
	assert_true(a->value < 0.1);
	a = sim_find(&sc.log, expect, ALERT_RESOLVED);
	assert_non_null(a);
	assert_true(a->at_ms > AT(13, 0) && a->at_ms <= AT(13, 30));
	/* Neither dedup_rate_low nor volume_low: the leg rule explains it. */
	assert_int_equal(sc.log.n, 2);
	scenario_end(&sc);
}

static void
test_server_leg_down(void **state)
{
	(void)state;
	leg_down(SIM_SERVER_DOWN, RULE_SERVER_LEG_DOWN);
}

static void
test_browser_leg_down(void **state)
{
	(void)state;
	leg_down(SIM_BROWSER_DOWN, RULE_BROWSER_LEG_DOWN);
}

/*
 * Five weeks (four of history, then the week under test) of a healthy
 * store with daily and weekly seasonality, day and hour noise, a flash
 * sale, and 20-35% browser loss that is worse at night: nothing fires.
 */
static void
test_healthy_noisy_weeks(void **state)
{
	struct sim_store st;
	struct sim_fault f[] = {
		{ SIM_SALE, JUN18 - 2 * SIM_WEEK + 8 * SIM_HOUR,
		    JUN18 - 2 * SIM_WEEK + 22 * SIM_HOUR, 2.5 },
	};
	struct scenario sc;
	struct monitor_series_status s;
	double by_union;

	(void)state;
	sim_store_default(&st);
	scenario_start(&sc, JUN18 - HIST, 5);
	sim_generate(&sc.sim, &st, f, 1, JUN18 - HIST, JUN18 + SIM_WEEK);
	sim_replay(&sc.sim, sc.m, &sc.clk, JUN18 + 3 * SIM_DAY + 3 * SIM_HOUR);
	/* At 03:00 the night's browser loss is at its worst. */
	s = status(&sc);
	assert_int_equal(s.eval[RULE_VOLUME_LOW].baseline, BASELINE_WEEKLY);
	assert_true(s.eval[RULE_DEDUP_RATE_LOW].value > 0.85);
	sim_replay(&sc.sim, sc.m, &sc.clk, JUN18 + SIM_WEEK);
	sim_log_print(&sc.log);
	assert_int_equal(sc.log.n, 0);
	s = status(&sc);
	/*
	 * The traffic is realistic: matched / union (the ratio not to alert
	 * on) sits far below 70%... of the browser-coverage kind, while the
	 * match rate over settled browser events stays near server coverage.
	 */
	by_union = (double)s.totals[BC_MATCHED] / (double)s.totals[BC_UNION];
	assert_true(by_union < 0.8);
	assert_true((double)s.totals[BC_SETTLED_MATCHED] /
	    (double)s.totals[BC_SETTLED] > 0.93);
	scenario_end(&sc);
}

/* A small store: a handful of events an hour, fewer at night. */
static void
small_store(double per_hour, uint64_t seed)
{
	struct sim_store st;
	struct scenario sc;

	sim_store_default(&st);
	st.orders_per_hour = per_hour;
	st.night_floor = 0.05;
	st.day_noise = 0.2;
	st.hour_noise = 0.2;
	scenario_start(&sc, JUN18 - HIST, seed);
	sim_generate(&sc.sim, &st, NULL, 0, JUN18 - HIST, JUN18 + SIM_WEEK);
	sim_replay(&sc.sim, sc.m, &sc.clk, JUN18 + SIM_WEEK);
	sim_log_print(&sc.log);
	assert_int_equal(sc.log.n, 0);
	scenario_end(&sc);
}

static void
test_small_store_quiet_nights(void **state)
{
	(void)state;
	small_store(12, 7);	/* ~0.6 orders an hour at night */
	small_store(3, 8);	/* a few orders a day */
}

/* The same small store still sees a day-long server outage. */
static void
test_small_store_real_outage(void **state)
{
	struct sim_store st;
	struct sim_fault f[] = {
		{ SIM_SERVER_DOWN, AT(6, 0), AT(24, 0), 1.0 },
	};
	struct scenario sc;
	const struct sim_alert *a;

	(void)state;
	sim_store_default(&st);
	st.orders_per_hour = 12;
	st.night_floor = 0.05;
	scenario_start(&sc, JUN18 - HIST, 9);
	sim_generate(&sc.sim, &st, f, 1, JUN18 - HIST, AT(24, 0));
	sim_replay(&sc.sim, sc.m, &sc.clk, AT(24, 0));
	a = sim_find(&sc.log, RULE_SERVER_LEG_DOWN, ALERT_FIRING);
	assert_non_null(a);
	assert_true(a->at_ms > AT(6, 30) && a->at_ms < AT(18, 0));
	scenario_end(&sc);
}

/* Each fault for 20 minutes (shorter than the 30-minute window). */
static void
blips(int64_t len, struct sim_log *out)
{
	struct sim_store st;
	struct sim_fault f[] = {
		{ SIM_ID_BREAK, AT(9, 0), AT(9, 0) + len, 1.0 },
		{ SIM_SERVER_DOWN, AT(11, 0), AT(11, 0) + len, 1.0 },
		{ SIM_BROWSER_DOWN, AT(13, 0), AT(13, 0) + len, 1.0 },
		{ SIM_VOLUME_DROP, AT(15, 0), AT(15, 0) + len, 1.0 },
	};
	struct scenario sc;

	sim_store_default(&st);
	scenario_start(&sc, JUN18 - HIST, 11);
	sim_generate(&sc.sim, &st, f, 4, JUN18 - HIST, AT(18, 0));
	sim_replay(&sc.sim, sc.m, &sc.clk, AT(18, 0));
	*out = sc.log;
	memset(&sc.log, 0, sizeof(sc.log));
	scenario_end(&sc);
}

static void
test_blips_do_not_fire(void **state)
{
	struct sim_log l;

	(void)state;
	blips(20 * SIM_MIN, &l);
	sim_log_print(&l);
	assert_int_equal(l.n, 0);
	sim_log_release(&l);
	/* The control: the same faults for 75 minutes all fire. */
	blips(75 * SIM_MIN, &l);
	assert_non_null(sim_find(&l, RULE_DEDUP_RATE_LOW, ALERT_FIRING));
	assert_non_null(sim_find(&l, RULE_SERVER_LEG_DOWN, ALERT_FIRING));
	assert_non_null(sim_find(&l, RULE_BROWSER_LEG_DOWN, ALERT_FIRING));
	assert_non_null(sim_find(&l, RULE_VOLUME_LOW, ALERT_FIRING));
	sim_log_release(&l);
}

/* Per-series thresholds: the most specific scope wins. */
static void
test_rule_overrides(void **state)
{
	struct sim_store st;
	struct rule_config rc;
	struct scenario sc;

	(void)state;
	sim_store_default(&st);
	scenario_start(&sc, JUN18, 12);
	rule_config_defaults(&rc);
	st.server_cov = 0.90;
	rc.dedup_threshold = 0.98;	/* stricter than this store's traffic */
	monitor_set_rules(sc.m, "other", "checkout", &rc);
	monitor_set_rules(sc.m, NULL, "checkout", &rc);
	rc.dedup_threshold = 0.70;
	monitor_set_rules(sc.m, "shop", NULL, &rc);	/* outranks (*, ev) */
	sim_generate(&sc.sim, &st, NULL, 0, JUN18, AT(18, 0));
	sim_replay(&sc.sim, sc.m, &sc.clk, AT(12, 0));
	assert_int_equal(sim_count(&sc.log, RULE_DEDUP_RATE_LOW), 0);
	rc.dedup_threshold = 0.98;
	monitor_set_rules(sc.m, "shop", "checkout", &rc);
	sim_replay(&sc.sim, sc.m, &sc.clk, AT(18, 0));
	assert_non_null(sim_find(&sc.log, RULE_DEDUP_RATE_LOW, ALERT_FIRING));
	scenario_end(&sc);
}

static void
deliver_minutes(struct scenario *sc, int64_t *t, int minutes,
    uint32_t ok, uint32_t failed)
{
	for (int i = 0; i < minutes; i++) {
		*t += SIM_MIN;
		sc->clk.fixed_ms = *t;
		monitor_delivery(sc->m, "shop", NULL, ok, failed, 200);
		monitor_tick(sc->m);
	}
}

static void
test_delivery_and_credentials(void **state)
{
	struct scenario sc;
	int64_t t = JUN18;
	const struct sim_alert *a;

	(void)state;
	scenario_start(&sc, t, 13);
	deliver_minutes(&sc, &t, 60, 30, 0);
	deliver_minutes(&sc, &t, 10, 20, 10);	/* a 10-minute blip */
	deliver_minutes(&sc, &t, 30, 30, 0);
	assert_int_equal(sc.log.n, 0);
	deliver_minutes(&sc, &t, 40, 20, 10);	/* a third fails for 40 min */
	a = sim_find(&sc.log, RULE_DELIVERY_FAILING, ALERT_FIRING);
	assert_non_null(a);
	assert_true(a->at_ms >= JUN18 + 115 * SIM_MIN &&
	    a->at_ms <= JUN18 + 125 * SIM_MIN);
	assert_true(a->value > 0.2);
	deliver_minutes(&sc, &t, 30, 30, 0);
	assert_non_null(sim_find(&sc.log, RULE_DELIVERY_FAILING,
	    ALERT_RESOLVED));

	/* A 401 fires credentials_invalid at once, for the account. */
	t += SIM_MIN;
	sc.clk.fixed_ms = t;
	monitor_delivery(sc.m, "shop", NULL, 0, 50, 401);
	a = sim_find(&sc.log, RULE_CREDENTIALS_INVALID, ALERT_FIRING);
	assert_non_null(a);
	assert_int_equal(a->at_ms, t);
	deliver_minutes(&sc, &t, 5, 0, 0);	/* still nothing accepted */
	assert_null(sim_find(&sc.log, RULE_CREDENTIALS_INVALID,
	    ALERT_RESOLVED));
	deliver_minutes(&sc, &t, 1, 30, 0);	/* a new token works */
	assert_non_null(sim_find(&sc.log, RULE_CREDENTIALS_INVALID,
	    ALERT_RESOLVED));
	scenario_end(&sc);
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_non_null(v);
	return v;
}

/* /metrics, /v1/status and /v1/alerts while dedup_rate_low is firing. */
static void
test_surfaces(void **state)
{
	struct sim_store st;
	struct sim_fault f[] = {
		{ SIM_ID_BREAK, AT(10, 0), AT(12, 0), 1.0 },
	};
	struct scenario sc;
	struct buf b = BUF_INIT;
	cJSON *doc;
	const cJSON *series, *rules, *alerts;

	(void)state;
	sim_store_default(&st);
	scenario_start(&sc, JUN18 - 2 * SIM_DAY, 14);
	sim_generate(&sc.sim, &st, f, 1, JUN18 - 2 * SIM_DAY, AT(12, 0));
	sim_replay(&sc.sim, sc.m, &sc.clk, AT(11, 15));
	monitor_queue_depth(sc.m, "shop", 17);
	monitor_delivery_lag(sc.m, "shop", 2500);

	monitor_metrics(sc.m, &b);
	assert_non_null(strstr(b.data, "# TYPE pinbridge_events_total "
	    "counter\n"));
	assert_non_null(strstr(b.data, "pinbridge_events_total{account="
	    "\"shop\",event_name=\"checkout\",leg=\"browser\"} "));
	assert_non_null(strstr(b.data, "pinbridge_alert_firing{alert="
	    "\"dedup_rate_low\",account=\"shop\",event_name=\"checkout\"} 1\n"));
	assert_non_null(strstr(b.data, "pinbridge_alert_firing{alert="
	    "\"volume_low\",account=\"shop\",event_name=\"checkout\"} 0\n"));
	assert_non_null(strstr(b.data, "pinbridge_match_rate{"));
	assert_non_null(strstr(b.data, "pinbridge_volume_ratio{"));
	assert_non_null(strstr(b.data, "pinbridge_queue_depth{account="
	    "\"shop\"} 17\n"));
	assert_non_null(strstr(b.data, "pinbridge_delivery_lag_seconds_bucket"
	    "{account=\"shop\",le=\"5\"} 1\n"));
	assert_non_null(strstr(b.data, "pinbridge_delivery_lag_seconds_bucket"
	    "{account=\"shop\",le=\"1\"} 0\n"));
	assert_non_null(strstr(b.data, "field=\"em\"}"));
	buf_reset(&b);

	monitor_status_json(sc.m, &b);
	doc = cJSON_Parse(b.data);
	assert_non_null(doc);
	series = cJSON_GetArrayItem(get(doc, "series"), 0);
	assert_non_null(series);
	assert_string_equal(get(series, "account")->valuestring, "shop");
	rules = get(get(series, "rules"), "dedup_rate_low");
	assert_true(cJSON_IsTrue(get(rules, "firing")));
	assert_true(get(get(series, "last_hour"), "id_mismatch")->valuedouble
	    > 0);
	assert_true(get(get(get(series, "completeness_24h"), "server"),
	    "em")->valuedouble == 1.0);
	assert_int_equal(get(doc, "alerts_firing")->valueint, 1);
	cJSON_Delete(doc);
	buf_reset(&b);

	monitor_alerts_json(sc.m, &b);
	doc = cJSON_Parse(b.data);
	assert_non_null(doc);
	alerts = get(doc, "alerts");
	assert_int_equal(cJSON_GetArraySize(alerts), 1);
	assert_string_equal(get(cJSON_GetArrayItem(alerts, 0), "alert")
	    ->valuestring, "dedup_rate_low");
	assert_non_null(strstr(get(cJSON_GetArrayItem(alerts, 0), "triage")
	    ->valuestring, "shared id"));
	assert_true(cJSON_GetArraySize(get(cJSON_GetArrayItem(alerts, 0),
	    "examples")) > 0);
	cJSON_Delete(doc);

	/* Bucket history survives a save and load into a new engine. */
	{
		FILE *fp = tmpfile();
		struct monitor *m2 = monitor_new(&sc.clk, NULL);
		struct monitor_series_status a, c;

		assert_non_null(fp);
		assert_int_equal(monitor_save(sc.m, fp), 0);
		rewind(fp);
		assert_int_equal(monitor_load(m2, fp), 0);
		assert_int_equal(monitor_series_status(sc.m, "shop", "checkout",
		    &a), 0);
		assert_int_equal(monitor_series_status(m2, "shop", "checkout",
		    &c), 0);
		assert_memory_equal(a.totals, c.totals, sizeof(a.totals));
		fclose(fp);
		monitor_free(m2);
	}
	buf_release(&b);
	scenario_end(&sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_volume_collapse),
		cmocka_unit_test(test_server_leg_down),
		cmocka_unit_test(test_browser_leg_down),
		cmocka_unit_test(test_healthy_noisy_weeks),
		cmocka_unit_test(test_small_store_quiet_nights),
		cmocka_unit_test(test_small_store_real_outage),
		cmocka_unit_test(test_blips_do_not_fire),
		cmocka_unit_test(test_rule_overrides),
		cmocka_unit_test(test_delivery_and_credentials),
		cmocka_unit_test(test_surfaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

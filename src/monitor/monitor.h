/*
 * monitor.h: the parity monitoring engine (issue 5).
 *
 *   legs (browser via tag.js, server via native/drop-in endpoints)
 *     -> monitor_observe*(): ledger (match, id mismatch) + buckets
 *   delivery outcomes -> monitor_delivery*()
 *   every minute of engine time -> monitor_tick(): settle browser legs
 *     whose grace ended, evaluate every rule of every series, fire and
 *     resolve alerts (sink callback + in-memory list)
 *   surfaces -> monitor_metrics() (Prometheus text), monitor_status_json(),
 *     monitor_alerts_json()
 *
 * The engine never reads the wall clock: "now" is the injected clock, so
 * the live server and `pinbridge backtest` run the same code with only the
 * clock differing. A series is one (account, event_name). Not thread-safe:
 * the caller serialises calls (one monitor thread, or a mutex).
 */
#ifndef PB_MONITOR_H
#define PB_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "monitor/ledger.h"
#include "monitor/rules.h"

struct buf;
struct clock;
struct event;
struct monitor;

#define MONITOR_NAME_MAX	128	/* account and event names, truncated */
#define MONITOR_ID_MAX		128	/* event ids and order ids in examples */
#define MONITOR_EXAMPLES	3	/* id-mismatch pairs kept per series */
#define MONITOR_TICK_MS		(60 * 1000)	/* the cadence callers use */

struct monitor_config {
	struct rule_config rules;	/* defaults for every series */
	int64_t grace_ms;		/* server leg may lag: 10 min */
	int64_t retention_ms;		/* ledger entry lifetime; 0: grace
					 * + 5 min, never below grace */
	size_t max_ledger_entries;	/* bound on the ledger: 2M */
	size_t max_ledger_bytes;	/* and on its memory: 16 MiB */
	size_t max_resolved_kept;	/* resolved alerts listed: 256 */
};

void monitor_config_defaults(struct monitor_config *c);

enum alert_state {
	ALERT_FIRING = 1,
	ALERT_RESOLVED = 2,
};

/* One id-mismatch pair: the same order under two event_ids. */
struct monitor_example {
	char order_id[MONITOR_ID_MAX];
	char browser_id[MONITOR_ID_MAX];
	char server_id[MONITOR_ID_MAX];
	int64_t at_ms;
};

/* An alert: open while firing, kept in the list after it resolves. */
struct monitor_alert {
	uint64_t id;			/* 1, 2, ... per engine */
	enum rule_id rule;
	enum alert_state state;
	char account[MONITOR_NAME_MAX];
	char event_name[MONITOR_NAME_MAX];
	int64_t since_ms;		/* condition first held */
	int64_t fired_ms;
	int64_t resolved_ms;		/* 0 while firing */
	double value;			/* measured value when it fired */
	double threshold;
	double last_value;		/* latest measurement */
	double observed, total;		/* the counts behind value, at firing */
	int64_t window_ms;		/* window behind value, at firing */
	double match_rate;		/* context at firing (NaN: unknown) */
	double volume_ratio;
	size_t n_examples;		/* dedup_rate_low: id-mismatch pairs */
	struct monitor_example examples[MONITOR_EXAMPLES];
	const char *triage;		/* static text, rule_triage() */
};

struct monitor_transition {
	const struct monitor_alert *alert;
	enum alert_state state;		/* the state entered */
	int64_t at_ms;
	double value;			/* measurement at the transition */
};

/*
 * Called for every transition, synchronously inside monitor_tick() or
 * monitor_delivery(). t and t->alert are valid during the call only; the
 * callback must not call back into the engine.
 */
typedef void (*monitor_sink_fn)(void *ctx, const struct monitor_transition *t);

/* One sighting of one leg. Strings are borrowed for the call. */
struct monitor_obs {
	const char *account;
	const char *event_name;		/* CAPI name */
	const char *event_id;
	const char *order_id;		/* or NULL */
	enum ledger_leg leg;
	double value;
	uint32_t fields;		/* bits of enum bucket_quality */
};

/*
 * Creates an engine reading time from clk (borrowed; must outlive the
 * engine). cfg may be NULL for the defaults.
 */
struct monitor *monitor_new(const struct clock *clk,
    const struct monitor_config *cfg);
void monitor_free(struct monitor *m);

/* Borrows ctx; fn may be NULL. */
void monitor_set_sink(struct monitor *m, monitor_sink_fn fn, void *ctx);

/*
 * Thresholds for a scope: account and/or event_name (NULL = any). The most
 * specific scope wins: (account, event) > (account, *) > (*, event) >
 * defaults. Applies to existing and future series. Copies rc.
 */
void monitor_set_rules(struct monitor *m, const char *account,
    const char *event_name, const struct rule_config *rc);

/* Presence bits (enum bucket_quality) of a decoded event. */
uint32_t monitor_fields_of(const struct event *ev);

/*
 * Records one leg sighting at engine time. Returns 0, or -1 when the
 * sighting cannot be counted (no event_id, no event_name, unknown leg). A
 * full ledger evicts its oldest entry instead (a browser event still
 * waiting counts as unmatched; pinbridge_ledger_evicted_pending_total).
 */
int monitor_observe(struct monitor *m, const struct monitor_obs *o);
/* The same for a decoded event; its leg is ev->leg. */
int monitor_observe_event(struct monitor *m, const char *account,
    const struct event *ev);

/*
 * Delivery outcomes from the deliver module: `delivered` events accepted and
 * `failed` rejected or failed for good; http_status 401/403 reports the
 * credentials as invalid (credentials_invalid fires at once, resolves on
 * the next success). event_name NULL = the account as a whole ("*").
 */
void monitor_delivery(struct monitor *m, const char *account,
    const char *event_name, uint32_t delivered, uint32_t failed,
    int http_status);
/* Time from an event's acceptance to Pinterest's answer, for the histogram. */
void monitor_delivery_lag(struct monitor *m, const char *account,
    int64_t lag_ms);
/* Events waiting for delivery for an account (a gauge). */
void monitor_queue_depth(struct monitor *m, const char *account,
    uint64_t depth);

/*
 * Advances the engine to the clock's now: settles browser legs whose grace
 * ended and evaluates every rule of every series. Call once a minute of
 * engine time (MONITOR_TICK_MS); "sustained" is counted in ticks.
 */
void monitor_tick(struct monitor *m);

/* The last evaluation of a series, for tests and the dashboard. */
struct monitor_series_status {
	uint64_t totals[BC_COUNT];		/* lifetime counters */
	struct rule_eval eval[RULE_COUNT];	/* at the last tick */
	bool firing[RULE_COUNT];
	size_t n_examples;
	struct monitor_example examples[MONITOR_EXAMPLES];
};

/* Returns 0, or -1 when the series does not exist. */
int monitor_series_status(const struct monitor *m, const char *account,
    const char *event_name, struct monitor_series_status *st);

/* Alerts in firing order (open ones and the last resolved ones). */
size_t monitor_alert_count(const struct monitor *m);
const struct monitor_alert *monitor_alert_at(const struct monitor *m,
    size_t i);

enum monitor_json_flags {
	MONITOR_JSON_CONTEXT = 1 << 0,	/* window, counts, ratios, examples */
	MONITOR_JSON_TRIAGE = 1 << 1,	/* the triage text */
};

/*
 * Appends one transition as a JSON object: {"alert","state","at",
 * "account","event_name","value","threshold"} plus what flags ask for.
 */
void monitor_transition_json(const struct monitor_transition *t,
    unsigned flags, struct buf *out);
/* Appends an alert (as listed by GET /v1/alerts) as a JSON object. */
void monitor_alert_json(const struct monitor_alert *a, struct buf *out);

/* Appends the Prometheus text exposition (format 0.0.4) of every series. */
void monitor_metrics(struct monitor *m, struct buf *out);
/* Appends the GET /v1/status document. */
void monitor_status_json(struct monitor *m, struct buf *out);
/* Appends {"alerts":[...]} for GET /v1/alerts (newest first). */
void monitor_alerts_json(const struct monitor *m, struct buf *out);

/*
 * Persistence of the 8-week bucket history (not the ledger or alert
 * state, which rebuild within the grace period and one sustained window).
 * Return 0, or -1 on an I/O error or a malformed file.
 */
int monitor_save(const struct monitor *m, FILE *f);
int monitor_load(struct monitor *m, FILE *f);

#endif

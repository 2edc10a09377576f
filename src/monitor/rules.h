/*
 * rules.h: the alert rules, their thresholds, and how each one decides.
 *
 * A rule looks at a series' recent counters over a sliding window that
 * starts at `window_ms` and widens (in `window_ms` steps up to six of them,
 * then doubling, up to `max_window_ms`) until it holds `min_events` events of the kind it needs; with less evidence than that
 * it answers "unknown" and never fires. A verdict of "bad" also needs a
 * statistical test at level `alpha`, so a handful of events cannot fire a
 * rule (a quiet night in a small store). The engine (monitor.c) turns
 * verdicts into alerts: bad for `sustain_ms` fires, ok for `clear_ms`
 * resolves.
 */
#ifndef PB_MONITOR_RULES_H
#define PB_MONITOR_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "monitor/baseline.h"
#include "monitor/buckets.h"

enum rule_id {
	RULE_DEDUP_RATE_LOW,
	RULE_VOLUME_LOW,
	RULE_SERVER_LEG_DOWN,
	RULE_BROWSER_LEG_DOWN,
	RULE_DELIVERY_FAILING,
	RULE_CREDENTIALS_INVALID,
	RULE_COUNT
};

/* Thresholds of one series; rule_config_defaults() gives the defaults. */
struct rule_config {
	bool enabled[RULE_COUNT];
	double dedup_threshold;		/* match rate below: 0.70 */
	double volume_threshold;	/* union / expected below: 0.50 */
	double leg_down_share;		/* leg / other leg below: 0.10 */
	double leg_floor;		/* a healthy leg carries >= this share
					 * of the other's events: 0.30 */
	double fail_share;		/* failed / (delivered+failed): 0.10 */
	double alpha;			/* significance of "bad": 0.01 */
	uint32_t min_events;		/* evidence before deciding: 20 */
	int64_t window_ms;		/* first evaluation window: 5 min */
	int64_t max_window_ms;		/* widest window: 6 h (the fine ring) */
	int64_t sustain_ms;		/* bad this long fires: 30 min */
	int64_t delivery_sustain_ms;	/* same for delivery_failing: 15 min */
	int64_t clear_ms;		/* ok this long resolves: 10 min */
};

void rule_config_defaults(struct rule_config *c);

/* "dedup_rate_low", ...; rule_by_name() returns -1 when unknown. */
const char *rule_name(enum rule_id r);
int rule_by_name(const char *name);

/* What probably broke and where to look, for a person reading the alert. */
const char *rule_triage(enum rule_id r);

enum rule_verdict {
	VERDICT_UNKNOWN,	/* not enough evidence either way */
	VERDICT_OK,
	VERDICT_BAD,
};

struct rule_eval {
	enum rule_verdict verdict;
	double value;		/* the measured ratio (NaN when unknown) */
	double threshold;
	double observed;	/* numerator side: matched, union, failed ... */
	double total;		/* denominator side: settled, expected ... */
	double p;		/* test statistic: p-value or bound */
	int64_t window_ms;	/* window the verdict used */
	enum baseline_source baseline;	/* volume_low only */
};

/*
 * Evaluate one rule of the series b at now_ms (credentials_invalid is
 * decided by the engine, not here). Reads only b.
 */
void rule_evaluate(enum rule_id r, const struct rule_config *c,
    const struct buckets *b, int64_t now_ms, struct rule_eval *out);

#endif

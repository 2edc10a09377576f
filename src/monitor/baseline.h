/*
 * baseline.h: expected volume for a window, by hour of week.
 *
 * Weekly: the median of the same window 1..4 weeks back, when at least 3
 * of those weeks lie inside recorded history (a median of 3 or 4 shrugs
 * off one flash sale or one outage). Fallback while history is short: the
 * median of the same time of day over the previous 7 days (at least 1).
 * With less than a day of history there is no baseline and rules that need
 * one do not evaluate (the series is still learning).
 */
#ifndef PB_MONITOR_BASELINE_H
#define PB_MONITOR_BASELINE_H

#include <stdint.h>

#include "monitor/buckets.h"

enum baseline_source {
	BASELINE_NONE,		/* learning: less than a day of history */
	BASELINE_DAILY,		/* same time on previous days */
	BASELINE_WEEKLY,	/* same hour of week, trailing 4 weeks */
};

struct baseline {
	double expected;		/* sum of the counter over the window */
	enum baseline_source source;
	int samples;			/* weeks or days the median used */
};

/* "none", "daily", "weekly" */
const char *baseline_source_name(enum baseline_source s);

/* Expected sum of counter c over [from_ms, to_ms), from b's history. */
void baseline_expected(const struct buckets *b, enum bucket_counter c,
    int64_t from_ms, int64_t to_ms, struct baseline *out);

#endif

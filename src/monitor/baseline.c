/*
 * baseline.c: median of the same window in earlier weeks, or days.
 */
#include "monitor/baseline.h"

#include "monitor/stats.h"
#include "util/banned.h"

#define BASELINE_WEEKS		4
#define BASELINE_MIN_WEEKS	3
#define BASELINE_DAYS		7

const char *
baseline_source_name(enum baseline_source s)
{
	switch (s) {
	case BASELINE_WEEKLY:
		return "weekly";
	case BASELINE_DAILY:
		return "daily";
	default:
		return "none";
	}
}

/* Median of the window shifted back by 1..n periods, when >= min exist. */
static int
median_back(const struct buckets *b, enum bucket_counter c, int64_t from_ms,
    int64_t to_ms, int64_t period, int n, int min, double *out)
{
	double v[BASELINE_DAYS];
	int k = 0;

	for (int i = 1; i <= n; i++) {
		int64_t f = from_ms - i * period, t = to_ms - i * period;

		if (buckets_covered(b, f, t))
			v[k++] = buckets_sum(b, c, f, t);
	}
	if (k < min)
		return 0;
	*out = stats_median(v, (size_t)k);
	return k;
}

void
baseline_expected(const struct buckets *b, enum bucket_counter c,
    int64_t from_ms, int64_t to_ms, struct baseline *out)
{
	double e = 0;
	int k;

	if ((k = median_back(b, c, from_ms, to_ms, BUCKET_WEEK_MS,
	    BASELINE_WEEKS, BASELINE_MIN_WEEKS, &e)) > 0) {
		out->source = BASELINE_WEEKLY;
	} else if ((k = median_back(b, c, from_ms, to_ms, BUCKET_DAY_MS,
	    BASELINE_DAYS, 1, &e)) > 0) {
		out->source = BASELINE_DAILY;
	} else {
		out->source = BASELINE_NONE;
		k = 0;
	}
	out->expected = e;
	out->samples = k;
}

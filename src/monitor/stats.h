/*
 * stats.h: the small statistics the monitoring rules decide with.
 *
 * A ratio over a handful of events is noise; the rules only fire when a
 * test says the observation is improbable under healthy traffic (Poisson
 * for counts against an expectation, Wilson bounds for proportions).
 */
#ifndef PB_MONITOR_STATS_H
#define PB_MONITOR_STATS_H

#include <stddef.h>
#include <stdint.h>

/* P(X <= k) for X ~ Poisson(lambda). lambda <= 0 gives 1. */
double stats_poisson_cdf(uint64_t k, double lambda);

/*
 * Wilson score interval bounds for `successes` out of `n` trials at normal
 * quantile z (1.645: 95% one-sided, 2.326: 99% one-sided). n == 0 gives
 * 0 (lower) and 1 (upper).
 */
double stats_wilson_lower(double successes, double n, double z);
double stats_wilson_upper(double successes, double n, double z);

/* The z with P(Z > z) = p for a standard normal (0 < p < 0.5). */
double stats_normal_upper_quantile(double p);

/* Median of v[0..n) (mean of the middle two for even n); sorts v. n > 0. */
double stats_median(double *v, size_t n);

#endif

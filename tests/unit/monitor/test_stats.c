/*
 * test_stats.c: Poisson tail, Wilson bounds, normal quantile, median.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "monitor/stats.h"
#include "util/banned.h"

#define NEAR(a, b, eps) assert_true(fabs((a) - (b)) < (eps))

static void
test_poisson(void **state)
{
	(void)state;
	NEAR(stats_poisson_cdf(0, 2.0), exp(-2.0), 1e-12);
	/* P(X <= 5 | 5) = 0.615960655 */
	NEAR(stats_poisson_cdf(5, 5.0), 0.615960655, 1e-8);
	/* P(X <= 2 | 10) = 0.002769396 */
	NEAR(stats_poisson_cdf(2, 10.0), 0.002769396, 1e-8);
	/* Large lambda: far below the mean is tiny, far above is 1. */
	assert_true(stats_poisson_cdf(400, 1000.0) < 1e-60);
	assert_true(stats_poisson_cdf(2000, 1000.0) > 1.0 - 1e-12);
	assert_true(stats_poisson_cdf(5000, 1000.0) == 1.0);
	/* Near the mean of a large lambda, about one half. */
	NEAR(stats_poisson_cdf(10000, 10000.0), 0.5027, 1e-3);
	assert_true(stats_poisson_cdf(3, 0.0) == 1.0);
}

static void
test_wilson(void **state)
{
	(void)state;
	/* 0 of 10 at z = 1.96: [0, 0.2775] */
	NEAR(stats_wilson_upper(0, 10, 1.96), 0.27753, 1e-4);
	NEAR(stats_wilson_lower(0, 10, 1.96), 0.0, 1e-12);
	/* 5 of 10 at z = 1.96: [0.2366, 0.7634] */
	NEAR(stats_wilson_lower(5, 10, 1.96), 0.23659, 1e-4);
	NEAR(stats_wilson_upper(5, 10, 1.96), 0.76341, 1e-4);
	assert_true(stats_wilson_upper(0, 0, 2) == 1.0);
	assert_true(stats_wilson_lower(0, 0, 2) == 0.0);
	/* More evidence narrows the interval. */
	assert_true(stats_wilson_upper(50, 100, 2.326) <
	    stats_wilson_upper(5, 10, 2.326));
}

static void
test_quantile(void **state)
{
	(void)state;
	NEAR(stats_normal_upper_quantile(0.05), 1.6449, 1e-3);
	NEAR(stats_normal_upper_quantile(0.01), 2.3263, 1e-3);
	NEAR(stats_normal_upper_quantile(0.001), 3.0902, 1e-3);
}

static void
test_median(void **state)
{
	double a[] = { 5, 1, 100, 3 }, b[] = { 7, 2, 9 }, c[] = { 4 };

	(void)state;
	NEAR(stats_median(a, 4), 4.0, 1e-12);	/* one outlier ignored */
	NEAR(stats_median(b, 3), 7.0, 1e-12);
	NEAR(stats_median(c, 1), 4.0, 1e-12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poisson),
		cmocka_unit_test(test_wilson),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_median),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

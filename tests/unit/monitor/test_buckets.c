/*
 * test_buckets.c: coarse and fine rings, prorating, coverage, ring reuse,
 * completeness, dump/load.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "monitor/baseline.h"
#include "monitor/buckets.h"
#include "util/banned.h"

#define NEAR(a, b, eps) assert_true(fabs((a) - (b)) < (eps))
#define MIN	(60 * 1000LL)
#define T0	(1781740800000LL)	/* 2026-06-18T00:00:00Z */

static void
test_sum_and_prorate(void **state)
{
	struct buckets *b = buckets_new(T0);

	(void)state;
	buckets_add(b, T0 + 1 * MIN, BC_BROWSER, 10);	/* bucket 0 */
	buckets_add(b, T0 + 6 * MIN, BC_BROWSER, 20);	/* bucket 1 */
	buckets_add(b, T0 + 7 * MIN, BC_SERVER, 3);
	NEAR(buckets_sum(b, BC_BROWSER, T0, T0 + 10 * MIN), 30, 1e-9);
	NEAR(buckets_sum(b, BC_SERVER, T0, T0 + 10 * MIN), 3, 1e-9);
	/* Half of bucket 1 (5..7.5 min): 10. */
	NEAR(buckets_sum(b, BC_BROWSER, T0 + 5 * MIN, T0 + 7 * MIN + 30000),
	    10, 1e-9);
	/* Fine ring: whole minutes. */
	assert_int_equal(buckets_recent(b, BC_BROWSER, T0, T0 + 2 * MIN), 10);
	assert_int_equal(buckets_recent(b, BC_BROWSER, T0 + 6 * MIN,
	    T0 + 7 * MIN), 20);
	assert_int_equal(buckets_recent(b, BC_BROWSER, T0 + 2 * MIN,
	    T0 + 6 * MIN), 0);
	buckets_free(b);
}

static void
test_fine_ring_forgets(void **state)
{
	struct buckets *b = buckets_new(T0);

	(void)state;
	buckets_add(b, T0, BC_UNION, 5);
	/* Six hours later the same fine slot is reused. */
	buckets_add(b, T0 + FINE_SLOTS * MIN, BC_UNION, 7);
	assert_int_equal(buckets_recent(b, BC_UNION, T0, T0 + MIN), 0);
	assert_int_equal(buckets_recent(b, BC_UNION, T0 + FINE_SLOTS * MIN,
	    T0 + (FINE_SLOTS + 1) * MIN), 7);
	/* The coarse ring still has both. */
	NEAR(buckets_sum(b, BC_UNION, T0, T0 + FINE_SLOTS * MIN + 5 * MIN), 12,
	    1e-9);
	buckets_free(b);
}

static void
test_coverage_and_day_ring(void **state)
{
	struct buckets *b = buckets_new(T0);
	int64_t later = T0 + BUCKET_DAYS * BUCKET_DAY_MS;

	(void)state;
	assert_false(buckets_covered(b, T0 - MIN, T0 + MIN));
	buckets_add(b, T0 + MIN, BC_UNION, 4);
	assert_true(buckets_covered(b, T0, T0 + 5 * MIN));
	/* 56 days later the same day slot is recycled. */
	buckets_add(b, later + MIN, BC_UNION, 9);
	NEAR(buckets_sum(b, BC_UNION, T0, T0 + 5 * MIN), 0, 1e-9);
	NEAR(buckets_sum(b, BC_UNION, later, later + 5 * MIN), 9, 1e-9);
	assert_false(buckets_covered(b, T0, T0 + 5 * MIN));
	assert_true(buckets_covered(b, later - 30 * BUCKET_DAY_MS,
	    later - 29 * BUCKET_DAY_MS));
	/* An add older than the ring's reach is dropped, not misfiled. */
	buckets_add(b, T0 + 2 * MIN, BC_UNION, 100);
	NEAR(buckets_sum(b, BC_UNION, later, later + 5 * MIN), 9, 1e-9);
	buckets_free(b);
}

static void
test_quality(void **state)
{
	struct buckets *b = buckets_new(T0);
	uint64_t q[BQ_COUNT];

	(void)state;
	buckets_add_quality(b, T0 + MIN, 1, (1u << BQ_EVENT_ID) |
	    (1u << BQ_EM));
	buckets_add_quality(b, T0 + 2 * MIN, 1, 1u << BQ_EVENT_ID);
	buckets_add_quality(b, T0 + 3 * MIN, 0, 1u << BQ_CLICK_ID);
	buckets_quality_sum(b, 1, T0, T0 + 3600 * 1000, q);
	assert_int_equal(q[BQ_EVENTS], 2);
	assert_int_equal(q[BQ_EVENT_ID], 2);
	assert_int_equal(q[BQ_EM], 1);
	assert_int_equal(q[BQ_CLICK_ID], 0);
	buckets_quality_sum(b, 0, T0, T0 + 3600 * 1000, q);
	assert_int_equal(q[BQ_EVENTS], 1);
	assert_int_equal(q[BQ_CLICK_ID], 1);
	assert_string_equal(bucket_quality_name(BQ_IP_UA), "ip_ua");
	buckets_free(b);
}

static void
test_dump_load(void **state)
{
	struct buckets *b = buckets_new(T0), *c = buckets_new(T0 + 99 * MIN);
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	for (int d = 0; d < 10; d++)
		buckets_add(b, T0 + d * BUCKET_DAY_MS + 17 * MIN, BC_MATCHED,
		    (uint32_t)(d + 1));
	assert_int_equal(buckets_dump(b, f), 0);
	rewind(f);
	assert_int_equal(buckets_load(c, f), 0);
	NEAR(buckets_sum(c, BC_MATCHED, T0, T0 + 10 * BUCKET_DAY_MS), 55,
	    1e-9);
	assert_int_equal(buckets_start_ms(c), T0);
	/* A truncated dump is refused and leaves the target unchanged. */
	rewind(f);
	assert_int_equal(ftruncate(fileno(f), 30), 0);
	assert_int_equal(buckets_load(c, f), -1);
	NEAR(buckets_sum(c, BC_MATCHED, T0, T0 + 10 * BUCKET_DAY_MS), 55,
	    1e-9);
	fclose(f);
	buckets_free(b);
	buckets_free(c);
}

/* Weekly median ignores one flash-sale week; fallbacks while short. */
static void
test_baseline(void **state)
{
	struct buckets *b = buckets_new(T0);
	int64_t now = T0 + 4 * BUCKET_WEEK_MS + 12 * 3600 * 1000LL;
	struct baseline bl;

	(void)state;
	for (int w = 1; w <= 4; w++)
		buckets_add(b, now - w * BUCKET_WEEK_MS - 10 * MIN, BC_UNION,
		    w == 2 ? 500 : (uint32_t)(40 + w));
	buckets_touch(b, now);
	baseline_expected(b, BC_UNION, now - 30 * MIN, now, &bl);
	assert_int_equal(bl.source, BASELINE_WEEKLY);
	assert_int_equal(bl.samples, 4);
	NEAR(bl.expected, (43.0 + 44.0) / 2, 1e-9);	/* 41,43,44,500 */
	buckets_free(b);

	/* Two days of history: daily fallback. */
	b = buckets_new(now - 2 * BUCKET_DAY_MS - 31 * MIN);
	buckets_add(b, now - BUCKET_DAY_MS - 10 * MIN, BC_UNION, 30);
	buckets_add(b, now - 2 * BUCKET_DAY_MS - 10 * MIN, BC_UNION, 20);
	buckets_touch(b, now);
	baseline_expected(b, BC_UNION, now - 30 * MIN, now, &bl);
	assert_int_equal(bl.source, BASELINE_DAILY);
	assert_int_equal(bl.samples, 2);
	NEAR(bl.expected, 25.0, 1e-9);	/* median of 30 and 20 */
	buckets_free(b);

	/* Less than a day: learning, no baseline. */
	b = buckets_new(now - 3600 * 1000LL);
	buckets_touch(b, now);
	baseline_expected(b, BC_UNION, now - 30 * MIN, now, &bl);
	assert_int_equal(bl.source, BASELINE_NONE);
	assert_string_equal(baseline_source_name(bl.source), "none");
	buckets_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_and_prorate),
		cmocka_unit_test(test_fine_ring_forgets),
		cmocka_unit_test(test_coverage_and_day_ring),
		cmocka_unit_test(test_quality),
		cmocka_unit_test(test_dump_load),
		cmocka_unit_test(test_baseline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

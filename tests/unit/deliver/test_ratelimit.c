/*
 * test_ratelimit.c: the token bucket under a hand-driven clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "deliver/ratelimit.h"
#include "util/clock.h"
#include "util/banned.h"

static void
test_default_rate(void **state)
{
	struct clock c;
	struct pin_ratelimit rl;
	int sent = 0;

	(void)state;
	clock_fixed(&c, 1000000);
	pin_ratelimit_init(&rl, &c, PIN_RATELIMIT_DEFAULT_PER_MIN, 0);
	/* Burst: one second's worth (5000/60 = 83). */
	while (pin_ratelimit_take(&rl))
		sent++;
	assert_int_equal(sent, 83);
	assert_int_equal(pin_ratelimit_wait_ms(&rl), 12);	/* 60000/5000 */
	/* Over one simulated minute, step 1 ms at a time: 5000 more. */
	for (int ms = 0; ms < 60000; ms++) {
		c.fixed_ms++;
		while (pin_ratelimit_take(&rl))
			sent++;
	}
	assert_int_equal(sent, 83 + 5000);
}

static void
test_wait_and_refill(void **state)
{
	struct clock c;
	struct pin_ratelimit rl;

	(void)state;
	clock_fixed(&c, 0);
	pin_ratelimit_init(&rl, &c, 60, 1);	/* one per second */
	assert_true(pin_ratelimit_take(&rl));
	assert_false(pin_ratelimit_take(&rl));
	assert_int_equal(pin_ratelimit_wait_ms(&rl), 1000);
	c.fixed_ms = 400;
	assert_int_equal(pin_ratelimit_wait_ms(&rl), 600);
	assert_false(pin_ratelimit_take(&rl));
	c.fixed_ms = 1000;
	assert_int_equal(pin_ratelimit_wait_ms(&rl), 0);
	assert_true(pin_ratelimit_take(&rl));
	/* A long idle spell refills only up to the burst. */
	c.fixed_ms = 1000000;
	assert_true(pin_ratelimit_take(&rl));
	assert_false(pin_ratelimit_take(&rl));
}

static void
test_clock_backwards(void **state)
{
	struct clock c;
	struct pin_ratelimit rl;

	(void)state;
	clock_fixed(&c, 50000);
	pin_ratelimit_init(&rl, &c, 60, 2);
	assert_true(pin_ratelimit_take(&rl));
	assert_true(pin_ratelimit_take(&rl));
	c.fixed_ms = 10000;	/* stepped back 40 s */
	assert_false(pin_ratelimit_take(&rl));
	c.fixed_ms = 11000;	/* one second after the step */
	assert_true(pin_ratelimit_take(&rl));
	assert_false(pin_ratelimit_take(&rl));
}

static void
test_unlimited(void **state)
{
	struct clock c;
	struct pin_ratelimit rl;

	(void)state;
	clock_fixed(&c, 0);
	pin_ratelimit_init(&rl, &c, 0, 0);
	for (int i = 0; i < 100000; i++)
		assert_true(pin_ratelimit_take(&rl));
	assert_int_equal(pin_ratelimit_wait_ms(&rl), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_rate),
		cmocka_unit_test(test_wait_and_refill),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_unlimited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

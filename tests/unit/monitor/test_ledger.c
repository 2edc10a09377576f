/*
 * test_ledger.c: matching, duplicates, grace settlement, id mismatch in
 * both arrival orders, expiry, growth and the memory bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/ledger.h"
#include "util/banned.h"

#define MIN	(60 * 1000LL)

struct settled {
	int n;
	uint32_t last_series;
};

static void
on_settle(void *ctx, uint32_t series)
{
	struct settled *s = ctx;

	s->n++;
	s->last_series = series;
}

static void
see(struct ledger *l, uint32_t series, const char *id, const char *order,
    enum ledger_leg leg, int64_t at, struct ledger_result *r)
{
	struct ledger_obs o;

	memset(&o, 0, sizeof(o));
	o.account = 1;
	o.series = series;
	o.event_id = id;
	o.order_id = order;
	o.leg = leg;
	o.at_ms = at;
	ledger_observe(l, &o, r);
}

static void
test_match_and_duplicates(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 60 * MIN, 0);
	struct ledger_result r;
	struct ledger_stats st;

	(void)state;
	see(l, 0, "checkout:1", "1", LEDGER_BROWSER, 0, &r);
	assert_true(r.new_entry && r.new_leg && !r.matched && !r.settled);
	ledger_get_stats(l, &st);
	assert_int_equal(st.pending, 1);
	/* The browser leg again: a duplicate, nothing new. */
	see(l, 0, "checkout:1", "1", LEDGER_BROWSER, 1000, &r);
	assert_false(r.new_entry || r.new_leg || r.matched);
	see(l, 0, "checkout:1", "1", LEDGER_SERVER, 2000, &r);
	assert_true(!r.new_entry && r.new_leg && r.matched);
	assert_int_equal(r.settled, 1);
	assert_true(r.settled_matched);
	assert_false(r.mismatch);
	/* Server first, browser later: matched and settled at once. */
	see(l, 3, "checkout:2", "2", LEDGER_SERVER, 3000, &r);
	assert_true(r.new_entry && !r.settled);
	see(l, 3, "checkout:2", "2", LEDGER_BROWSER, 4000, &r);
	assert_true(r.matched && r.settled == 1 && r.settled_matched);
	assert_int_equal(r.series, 3);
	ledger_get_stats(l, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.entries, 2);
	ledger_free(l);
}

static void
test_grace_and_expiry(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 60 * MIN, 0);
	struct settled s = { 0, 0 };
	struct ledger_result r;
	struct ledger_stats st;

	(void)state;
	see(l, 7, "a", NULL, LEDGER_BROWSER, 0, &r);
	see(l, 7, "b", NULL, LEDGER_BROWSER, 5 * MIN, &r);
	ledger_advance(l, 9 * MIN, on_settle, &s);
	assert_int_equal(s.n, 0);
	ledger_advance(l, 10 * MIN, on_settle, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last_series, 7);
	/* A late server leg still pairs (matched) but settles nothing. */
	see(l, 7, "a", NULL, LEDGER_SERVER, 11 * MIN, &r);
	assert_true(r.matched && r.settled == 0);
	ledger_advance(l, 15 * MIN, on_settle, &s);
	assert_int_equal(s.n, 2);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.pending, 0);
	/* After the retention both are forgotten: a sighting is new again. */
	ledger_advance(l, 66 * MIN, on_settle, &s);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 0);
	see(l, 7, "a", NULL, LEDGER_SERVER, 67 * MIN, &r);
	assert_true(r.new_entry);
	ledger_free(l);
}

static void
test_id_mismatch(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 60 * MIN, 0);
	struct settled s = { 0, 0 };
	struct ledger_result r;
	struct ledger_stats st;

	(void)state;
	/* Browser first with a new id format, then the server's. */
	see(l, 2, "ord-1001-v2", "1001", LEDGER_BROWSER, 0, &r);
	assert_false(r.mismatch);
	see(l, 2, "checkout:1001", "1001", LEDGER_SERVER, 30000, &r);
	assert_true(r.mismatch && r.new_entry);
	assert_string_equal(r.browser_id, "ord-1001-v2");
	assert_string_equal(r.server_id, "checkout:1001");
	assert_string_equal(r.order_id, "1001");
	assert_int_equal(r.settled, 1);
	assert_false(r.settled_matched);
	/* Server first, then the browser's. */
	see(l, 2, "checkout:1002", "1002", LEDGER_SERVER, 40000, &r);
	see(l, 2, "ord-1002-v2", "1002", LEDGER_BROWSER, 50000, &r);
	assert_true(r.mismatch && r.settled == 1 && !r.settled_matched);
	assert_string_equal(r.browser_id, "ord-1002-v2");
	ledger_get_stats(l, &st);
	assert_int_equal(st.pending, 0);
	/* Settled already: the grace period settles nothing twice. */
	ledger_advance(l, 20 * MIN, on_settle, &s);
	assert_int_equal(s.n, 0);
	/* Same order in another series is no mismatch. */
	see(l, 5, "x:1001", "1001", LEDGER_SERVER, 21 * MIN, &r);
	assert_false(r.mismatch);
	/* Same leg twice under two ids is no mismatch either. */
	see(l, 2, "s:2000", "2000", LEDGER_SERVER, 22 * MIN, &r);
	see(l, 2, "t:2000", "2000", LEDGER_SERVER, 22 * MIN, &r);
	assert_false(r.mismatch);
	/* A third id for an order whose browser leg is still unpaired is. */
	see(l, 2, "other:1001", "1001", LEDGER_SERVER, 23 * MIN, &r);
	assert_true(r.mismatch);
	assert_string_equal(r.browser_id, "ord-1001-v2");
	ledger_free(l);
}

/* Many entries: growth rehashes, deletion keeps every probe chain. */
static void
test_growth_and_churn(void **state)
{
	struct ledger *l = ledger_new(1 * MIN, 2 * MIN, 0);
	struct settled s = { 0, 0 };
	struct ledger_result r;
	struct ledger_stats st;
	char id[32], ord[32];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "checkout:%d", i);
		snprintf(ord, sizeof(ord), "%d", i);
		/* 200 per second of engine time. */
		see(l, 0, id, ord, LEDGER_BROWSER, i * 5, &r);
		assert_true(r.new_entry);
		ledger_advance(l, i * 5, on_settle, &s);
		/* Every event still alive must be found again. */
		if (i >= 7 && i % 7 == 0) {
			snprintf(id, sizeof(id), "checkout:%d", i - 7);
			snprintf(ord, sizeof(ord), "%d", i - 7);
			see(l, 0, id, ord, LEDGER_SERVER, i * 5, &r);
			assert_false(r.new_entry);
			assert_true(r.matched);
		}
	}
	ledger_get_stats(l, &st);
	/* 2 minutes of retention at 200/s: about 24000 ids, all alive. */
	assert_true(st.entries <= 20000);
	ledger_advance(l, 20000 * 5 + 3 * MIN, on_settle, &s);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.pending, 0);
	/* Settled by grace: every browser leg not paired by a server leg. */
	assert_int_equal(s.n, 20000 - (20000 - 1) / 7);
	ledger_free(l);
}

static void
test_bounded(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 60 * MIN, 1024);
	struct ledger_result r;
	struct ledger_stats st;
	char id[32];

	(void)state;
	for (int i = 0; i < 1100; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		see(l, 0, id, NULL, LEDGER_SERVER, i, &r);
		assert_true(r.dropped == (i >= 1024));
	}
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 1024);
	assert_int_equal(st.dropped, 1100 - 1024);
	/* Once entries expire there is room again. */
	ledger_advance(l, 61 * MIN + 2000, NULL, NULL);
	see(l, 0, "late", NULL, LEDGER_SERVER, 62 * MIN, &r);
	assert_false(r.dropped);
	ledger_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_and_duplicates),
		cmocka_unit_test(test_grace_and_expiry),
		cmocka_unit_test(test_id_mismatch),
		cmocka_unit_test(test_growth_and_churn),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ledger.c: matching, duplicates, grace settlement, id mismatch in
 * both arrival orders, expiry, growth, the entry and byte caps, probe
 * chains and collisions through a hash seam, the example-id cache.
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

/* At the entry cap the oldest go early; pending ones settle unmatched. */
static void
test_entry_cap_evicts(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 60 * MIN, 1024);
	struct settled s = { 0, 0 };
	struct ledger_result r;
	struct ledger_stats st;
	char id[32];

	(void)state;
	ledger_set_evict_cb(l, on_settle, &s);
	for (int i = 0; i < 1100; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		see(l, 4, id, NULL, i < 10 ? LEDGER_BROWSER : LEDGER_SERVER, i,
		    &r);
		assert_false(r.dropped);
		assert_true(r.new_entry);
	}
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 1024);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.evicted, 1100 - 1024);
	/* The ten browser legs were the oldest: settled early, unmatched. */
	assert_int_equal(st.evicted_pending, 10);
	assert_int_equal(s.n, 10);
	assert_int_equal(s.last_series, 4);
	assert_int_equal(st.pending, 0);
	/* The evicted are forgotten, the rest still found. */
	see(l, 4, "e0", NULL, LEDGER_SERVER, 2000, &r);
	assert_true(r.new_entry);
	see(l, 4, "e1099", NULL, LEDGER_BROWSER, 2000, &r);
	assert_true(!r.new_entry && r.matched);
	/* Grace settles nothing twice. */
	ledger_advance(l, 61 * MIN + 2000, on_settle, &s);
	assert_int_equal(s.n, 10);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 0);
	ledger_free(l);
}

/* The byte cap holds whatever the count, and counts what it evicts. */
static void
test_byte_cap(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 60 * MIN, 0);
	const size_t cap = (size_t)3 << 20;
	struct settled s = { 0, 0 };
	struct ledger_result r;
	struct ledger_stats st;
	char id[32], ord[32];
	size_t peak = 0;

	(void)state;
	ledger_set_max_bytes(l, cap);
	ledger_set_evict_cb(l, on_settle, &s);
	for (int i = 0; i < 300000; i++) {
		snprintf(id, sizeof(id), "checkout:%d", i);
		snprintf(ord, sizeof(ord), "%d", i);
		see(l, 1, id, ord, LEDGER_BROWSER, i, &r);
		assert_true(r.new_entry);
		if (ledger_bytes(l) > peak)
			peak = ledger_bytes(l);
	}
	ledger_get_stats(l, &st);
	assert_true(peak <= cap);
	assert_true(st.capacity > 40000);
	assert_int_equal(st.entries, st.capacity);
	assert_int_equal(st.evicted, 300000 - st.capacity);
	assert_int_equal(st.evicted_pending, st.evicted);
	assert_int_equal((size_t)s.n, st.evicted);
	assert_int_equal(st.pending, st.entries);
	/* The newest are all there, orders indexed. */
	see(l, 1, "server:299999", "299999", LEDGER_SERVER, 300000, &r);
	assert_true(r.mismatch);
	assert_string_equal(r.browser_id, "checkout:299999");
	/* Lowering the cap evicts down to it on the next sighting. */
	ledger_set_max_bytes(l, (size_t)1 << 20);
	see(l, 1, "x", NULL, LEDGER_BROWSER, 300001, &r);
	ledger_get_stats(l, &st);
	assert_true(st.entries <= st.capacity);
	ledger_free(l);
}

/* The ring frees its chunks and the tables shrink after a burst. */
static void
test_memory_returns(void **state)
{
	struct ledger *l = ledger_new(1 * MIN, 2 * MIN, 0);
	struct ledger_result r;
	struct ledger_stats st;
	size_t idle, burst;
	char id[32];

	(void)state;
	see(l, 0, "warm", "w", LEDGER_SERVER, 0, &r);
	idle = ledger_bytes(l);
	for (int i = 0; i < 200000; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		see(l, 0, id, id, LEDGER_SERVER, 1000, &r);
	}
	burst = ledger_bytes(l);
	assert_true(burst > idle + 200000 * 20);
	ledger_advance(l, 4 * MIN, NULL, NULL);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 0);
	/* A trickle afterwards lives in a few chunks and small tables. */
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		see(l, 0, id, id, LEDGER_SERVER, 5 * MIN, &r);
	}
	ledger_advance(l, 5 * MIN, NULL, NULL);
	assert_true(ledger_bytes(l) < burst / 4);
	ledger_free(l);
}

/* The FIFO crosses many chunk boundaries and reuses ring slots. */
static void
test_fifo_expiry_across_chunks(void **state)
{
	struct ledger *l = ledger_new(1000, 2000, 0);
	struct settled s = { 0, 0 };
	struct ledger_result r;
	struct ledger_stats st;
	char id[32];
	int64_t t = 0;

	(void)state;
	/* 100k events, 50 per ms: about 100k live at once, then expiry. */
	for (int i = 0; i < 500000; i++) {
		if (i % 50 == 0) {
			t++;
			ledger_advance(l, t, on_settle, &s);
		}
		snprintf(id, sizeof(id), "f%d", i);
		see(l, 0, id, NULL, LEDGER_BROWSER, t, &r);
		assert_true(r.new_entry);
		if (i >= 1000 && i % 97 == 0) {
			/* Within retention (20 ms old): still found. */
			snprintf(id, sizeof(id), "f%d", i - 1000);
			see(l, 0, id, NULL, LEDGER_BROWSER, t, &r);
			assert_false(r.new_entry);
		}
	}
	ledger_get_stats(l, &st);
	assert_true(st.entries <= 50 * 2001);
	/* Every browser leg settled by grace exactly once, none early. */
	ledger_advance(l, t + 5000, on_settle, &s);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(s.n, 500000);
	assert_int_equal(st.evicted, 0);
	ledger_free(l);
}

/*
 * Hash seams. "same_home" keeps each id's hash distinct but puts every
 * one in the same home slot, so every lookup walks one long probe chain
 * and each deletion shifts it back. "one_hash" makes all ids collide.
 */
static uint64_t
same_home(uint32_t ns, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ ns;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	/* Low bits (the home in both tables) fixed, the rest distinct. */
	return (h << 24) | 0x5a5a5aull;
}

static uint64_t
one_hash(uint32_t ns, const char *s)
{
	(void)ns;
	(void)s;
	return 0x1234567812345678ull;
}

static void
test_probe_chains_and_deletion(void **state)
{
	struct ledger *l = ledger_new(1 * MIN, 1 * MIN, 0);
	struct ledger_result r;
	struct ledger_stats st;
	char id[32];

	(void)state;
	ledger_set_hash(l, same_home);
	for (int i = 0; i < 600; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		see(l, 0, id, id, LEDGER_SERVER, i * 1000, &r);
		assert_true(r.new_entry);
		/* Expiry deletes from the front of the chain as it grows. */
		ledger_advance(l, i * 1000, NULL, NULL);
	}
	ledger_get_stats(l, &st);
	assert_true(st.entries >= 60 && st.entries <= 62);
	/* Every survivor is still found by id and by order. */
	for (int i = 600 - (int)st.entries; i < 600; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		see(l, 0, id, id, LEDGER_SERVER, 600 * 1000, &r);
		assert_false(r.new_entry);
		snprintf(id, sizeof(id), "q%d", i);
		see(l, 0, id, id + 1, LEDGER_BROWSER, 600 * 1000, &r);
		assert_true(r.new_entry);
	}
	/* Ids pushed out of the retention are gone. */
	see(l, 0, "p0", "p0", LEDGER_SERVER, 600 * 1000, &r);
	assert_true(r.new_entry);
	ledger_advance(l, 700 * 1000, NULL, NULL);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 0);
	ledger_free(l);
}

/* A full collision is a false match, never a crash or a lost entry. */
static void
test_full_collision(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 20 * MIN, 0);
	struct ledger_result r;
	struct ledger_stats st;

	(void)state;
	ledger_set_hash(l, one_hash);
	see(l, 0, "a", "1", LEDGER_BROWSER, 0, &r);
	assert_true(r.new_entry);
	/* "b" is taken for "a": its server leg pairs with a's browser leg. */
	see(l, 0, "b", "2", LEDGER_SERVER, 1000, &r);
	assert_true(!r.new_entry && r.matched && r.settled_matched);
	see(l, 0, "c", "3", LEDGER_SERVER, 2000, &r);
	assert_false(r.new_leg);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.pending, 0);
	ledger_advance(l, 30 * MIN, NULL, NULL);
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, 0);
	ledger_free(l);
}

/*
 * Example ids come from a bounded cache: a pair whose first id was pushed
 * out still counts as a mismatch, with that id NULL.
 */
static void
test_example_cache(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 20 * MIN, 0);
	struct ledger_result r;
	char id[32], ord[32];
	int found = 0, missing = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "ord_%d_v2", i);
		snprintf(ord, sizeof(ord), "%d", i);
		see(l, 0, id, ord, LEDGER_BROWSER, i, &r);
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "checkout:%d", i);
		snprintf(ord, sizeof(ord), "%d", i);
		see(l, 0, id, ord, LEDGER_SERVER, 20000 + i, &r);
		assert_true(r.mismatch);
		assert_string_equal(r.server_id, id);
		assert_string_equal(r.order_id, ord);
		if (r.browser_id) {
			snprintf(id, sizeof(id), "ord_%d_v2", i);
			assert_string_equal(r.browser_id, id);
			found++;
		} else {
			missing++;
		}
	}
	/*
	 * 20000 other ids written between a pair's two legs, 4096 slots: about
	 * e^-5 of the pairs stay whole, still enough for examples.
	 */
	assert_true(found > 50);
	assert_true(missing > 0);
	ledger_free(l);
}

/* Engine time far from the first sighting: offsets are rebased. */
static void
test_time_rebase(void **state)
{
	struct ledger *l = ledger_new(10 * MIN, 15 * MIN, 0);
	struct settled s = { 0, 0 };
	struct ledger_result r;
	int64_t day = 24 * 60 * MIN, t;

	(void)state;
	see(l, 0, "first", NULL, LEDGER_BROWSER, 0, &r);
	for (t = day; t < 120 * day; t += day) {
		char id[32];

		snprintf(id, sizeof(id), "d%lld", (long long)(t / day));
		see(l, 0, id, NULL, LEDGER_BROWSER, t, &r);
		ledger_advance(l, t + 9 * MIN, on_settle, &s);
		/* Still pending before its grace, settled after. */
		assert_int_equal(s.n, (int)(t / day));
		ledger_advance(l, t + 10 * MIN, on_settle, &s);
		assert_int_equal(s.n, (int)(t / day) + 1);
		see(l, 0, id, NULL, LEDGER_SERVER, t + 14 * MIN, &r);
		assert_true(!r.new_entry && r.matched);
	}
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
		cmocka_unit_test(test_entry_cap_evicts),
		cmocka_unit_test(test_byte_cap),
		cmocka_unit_test(test_memory_returns),
		cmocka_unit_test(test_fifo_expiry_across_chunks),
		cmocka_unit_test(test_probe_chains_and_deletion),
		cmocka_unit_test(test_full_collision),
		cmocka_unit_test(test_example_cache),
		cmocka_unit_test(test_time_rebase),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

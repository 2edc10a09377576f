/*
 * test_ledger_mem.c: the ledger's memory per entry with a million live
 * entries (the design's 1M-events budget), as ledger_bytes() reports it.
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

#define N_ENTRIES	1000000
/* Entries are 20 bytes; the two tables add 8-16 at a load of 3/8-3/4. */
#define MAX_BYTES_PER_ENTRY	40.0

static void
test_bytes_per_entry(void **state)
{
	struct ledger *l = ledger_new(10 * 60 * 1000, 15 * 60 * 1000,
	    2 * N_ENTRIES);
	struct ledger_obs o;
	struct ledger_result r;
	struct ledger_stats st;
	char id[64], ord[32];
	double per;

	(void)state;
	ledger_set_max_bytes(l, (size_t)256 << 20);
	memset(&o, 0, sizeof(o));
	o.event_id = id;
	o.order_id = ord;
	for (uint32_t i = 0; i < N_ENTRIES; i++) {
		/* UUID-sized ids: what the old per-entry strings cost most. */
		snprintf(id, sizeof(id), "%08x-%04x-4%03x-a%03x-%012x",
		    i * 2654435761u, i & 0xffff, i & 0xfff, (i >> 3) & 0xfff,
		    i);
		snprintf(ord, sizeof(ord), "%u", 100000 + i);
		o.account = i & 1;
		o.series = i & 3;
		/* Every order on both legs, the worst case for the tables. */
		o.leg = i & 4 ? LEDGER_SERVER : LEDGER_BROWSER;
		o.at_ms = i / 2;
		ledger_observe(l, &o, &r);
		assert_true(r.new_entry);
	}
	ledger_get_stats(l, &st);
	assert_int_equal(st.entries, N_ENTRIES);
	assert_int_equal(st.evicted, 0);
	per = (double)ledger_bytes(l) / N_ENTRIES;
	print_message("# ledger: %zu bytes for %d entries, %.1f bytes/entry\n",
	    ledger_bytes(l), N_ENTRIES, per);
	assert_true(per <= MAX_BYTES_PER_ENTRY);
	ledger_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_per_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_batches.c: the pieces under the SQLite backend's batches: the
 * writer's slot index (a multimap with backward-shift deletion) and the
 * batch blob format (round trip, and damaged blobs refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/chunk.h"
#include "store/slotindex.h"
#include "util/banned.h"

static size_t
count_slots(const struct slotindex *ix, uint64_t key)
{
	size_t pos = 0, n = 0;

	while (slotindex_next(ix, key, &pos))
		n++;
	return n;
}

/* Many keys, duplicates and removals, checked against a plain array. */
static void
test_index_against_model(void **state)
{
	enum { N = 20000 };
	static uint64_t keys[N];
	struct slotindex ix;
	uint64_t x = 88172645463325252ull;

	(void)state;
	slotindex_init(&ix);
	for (int i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* every fourth key repeats an earlier one: collisions */
		keys[i] = i % 4 == 3 ? keys[i / 2] : x;
		slotindex_add(&ix, keys[i], i + 1);
	}
	assert_int_equal(ix.n, N);
	for (int i = 0; i < N; i += 2)
		slotindex_remove(&ix, keys[i], i + 1);
	slotindex_remove(&ix, 12345, 1);	/* absent: no effect */
	assert_int_equal(ix.n, N / 2);
	for (int i = 0; i < N; i++) {
		size_t want = 0, pos = 0;
		int64_t s;
		int found = 0;

		/* Entries keep 32 bits of a key: equal tags share a list. */
		for (int k = 1; k < N; k += 2)
			want += slotindex_tag(keys[k]) == slotindex_tag(keys[i]);
		assert_int_equal(count_slots(&ix, keys[i]), want);
		while ((s = slotindex_next(&ix, keys[i], &pos)) != 0)
			found |= s == i + 1;
		assert_int_equal(found, i % 2 == 1);
		if (i > 64)
			i += 97;	/* sample the rest */
	}
	slotindex_release(&ix);
}

/* Equal low-entropy keys form one long run; removal keeps the run whole. */
static void
test_index_one_key(void **state)
{
	struct slotindex ix;

	(void)state;
	slotindex_init(&ix);
	for (int i = 1; i <= 500; i++)
		slotindex_add(&ix, i % 2, i);
	for (int i = 1; i <= 500; i += 3)
		slotindex_remove(&ix, i % 2, i);
	assert_int_equal(count_slots(&ix, 0) + count_slots(&ix, 1), ix.n);
	assert_int_equal(ix.n, 500 - 167);
	slotindex_release(&ix);
	assert_int_equal(count_slots(&ix, 0), 0);
}

/* Whether slot is among the candidates of key. */
static int
has_slot(const struct slotindex *ix, uint64_t key, int64_t slot)
{
	size_t pos = 0;
	int64_t s;

	while ((s = slotindex_next(ix, key, &pos)) != 0)
		if (s == slot)
			return 1;
	return 0;
}

/*
 * Batches come and go as a writer sees them: appended in id order, pruned
 * oldest first, one out of order (a stale writer's). Local batch numbers
 * are renumbered on the way; every handle must survive that unchanged.
 */
static void
test_index_batches_renumbered(void **state)
{
	enum { BATCHES = 3000, SLOTS = 7 };
	struct slotindex ix;
	int64_t late = 5;	/* added last, below every live id */

	(void)state;
	slotindex_init(&ix);
	for (int64_t id = 10; id < 10 + BATCHES; id++) {
		for (size_t k = 0; k < SLOTS; k++)
			slotindex_add(&ix, (uint64_t)(id * 131 + (int64_t)k),
			    chunk_slot_handle(id, k));
		/* keep a window of 200 batches, pruning the oldest */
		if (id - 200 >= 10)
			for (size_t k = 0; k < SLOTS; k++)
				slotindex_remove(&ix,
				    (uint64_t)((id - 200) * 131 + (int64_t)k),
				    chunk_slot_handle(id - 200, k));
	}
	assert_int_equal(ix.n, 200 * SLOTS);
	assert_true(ix.nlocal < 1000);	/* dead numbers were reclaimed */
	slotindex_add(&ix, 999999, chunk_slot_handle(late, 3));
	assert_true(has_slot(&ix, 999999, chunk_slot_handle(late, 3)));
	for (int64_t id = 10; id < 10 + BATCHES; id++)
		for (size_t k = 0; k < SLOTS; k++)
			assert_int_equal(has_slot(&ix,
			    (uint64_t)(id * 131 + (int64_t)k),
			    chunk_slot_handle(id, k)), id >= 10 + BATCHES - 200);
	slotindex_remove(&ix, 999999, chunk_slot_handle(late, 3));
	assert_false(has_slot(&ix, 999999, chunk_slot_handle(late, 3)));
	assert_int_equal(ix.n, 200 * SLOTS);
	slotindex_release(&ix);
}

static void
rec_set(struct chunk_rec *r, const char *id, const char *order,
	const char *payload)
{
	memset(r, 0, sizeof(*r));
	r->event_id = id;
	r->id_len = strlen(id);
	r->event_name = "checkout";
	r->name_len = 8;
	r->order_id = order;
	r->order_len = order ? strlen(order) : 0;
	r->payload = payload;
	r->payload_len = strlen(payload);
	r->event_time = 1750000000;
	r->received_at_ms = 1750000000123;
	r->attempts = 2;
	r->legs = 3;
}

static void
test_blob_round_trip(void **state)
{
	struct chunk_builder b;
	struct chunk_rec r, got;
	struct buf blob = BUF_INIT;

	(void)state;
	chunk_builder_init(&b);
	chunk_builder_reset(&b, 7, 1);
	rec_set(&r, "a-1", "o-1", "{\"x\":1}");
	assert_int_equal(chunk_builder_add(&b, &r, 11, 500), 0);
	rec_set(&r, "b-2", NULL, "");
	r.event_time = 1749999999;
	assert_int_equal(chunk_builder_add(&b, &r, 22, 400), 1);
	assert_int_equal(b.due_ms, 500);
	assert_int_equal(b.min_event_time, 1749999999);
	assert_int_equal(chunk_slot_of(chunk_slot_handle(b.id, 1)), 1);
	assert_int_equal(chunk_id_of(chunk_slot_handle(b.id, 1)), 7);

	chunk_builder_blob(&b, &blob);
	assert_int_equal(chunk_count(blob.data, blob.len), 2);
	assert_int_equal(chunk_get(blob.data, blob.len, 0, &got), 0);
	assert_memory_equal(got.event_id, "a-1", 3);
	assert_memory_equal(got.order_id, "o-1", 3);
	assert_memory_equal(got.payload, "{\"x\":1}", got.payload_len);
	assert_int_equal(got.attempts, 2);
	assert_int_equal(got.legs, 3);
	assert_int_equal(got.received_at_ms, 1750000000123);
	assert_int_equal(chunk_get(blob.data, blob.len, 1, &got), 0);
	assert_null(got.order_id);
	assert_int_equal(got.payload_len, 0);
	assert_int_equal(chunk_get(blob.data, blob.len, 2, &got), -1);
	assert_int_equal(chunk_builder_get(&b, 1, &got), 0);
	assert_memory_equal(got.event_id, "b-2", 3);

	/* Every truncation is refused, never read past. */
	for (size_t n = 0; n < blob.len; n++) {
		long c = chunk_count(blob.data, n);

		if (c == 2)
			assert_int_equal(chunk_get(blob.data, n, 1, &got), -1);
	}
	buf_release(&blob);
	chunk_builder_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_against_model),
		cmocka_unit_test(test_index_one_key),
		cmocka_unit_test(test_index_batches_renumbered),
		cmocka_unit_test(test_blob_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

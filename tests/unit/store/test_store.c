/*
 * test_store.c: the store contract (store.h) against the SQLite backend:
 * append, idempotency and merge, claim/lease, done/retry/dead, replay,
 * prune, counters, reopen, schema guard, and real SQLITE_FULL; key
 * collisions, batched dead letters, the v1 -> v2 migration, and the
 * background checkpointer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/store_int.h"
#include "store_test.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/banned.h"

#define T0_MS	1750000000000LL		/* test clock start */
#define T0_S	(T0_MS / 1000)

struct fx {
	struct tdir t;
	struct clock clk;
	struct store_config cfg;
	struct store *st;
	struct arena a;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	tdir_make(&f->t);
	clock_fixed(&f->clk, T0_MS);
	f->cfg.path = f->t.db;
	f->cfg.clock = &f->clk;
	arena_init(&f->a, 0);
	if (store_open(&f->cfg, &f->st))
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	arena_release(&f->a);
	tdir_remove(&f->t);
	free(f);
	return 0;
}

static void
reopen(struct fx *f)
{
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(&f->cfg, &f->st), 0);
}

/* Appends n fresh events "<prefix>-<i>" to account and checks NEW. */
static void
append_n(struct fx *f, const char *account, const char *prefix, int n)
{
	struct trec *t = calloc((size_t)n, sizeof(*t));
	struct store_record *r = calloc((size_t)n, sizeof(*r));
	char id[48];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%s-%d", prefix, i);
		trec_set(&t[i], account, id, 1, T0_S - 10 + i);
		t[i].r.received_at_ms = T0_MS - 100000 + i;	/* all due */
		r[i] = t[i].r;
	}
	assert_int_equal(store_append(f->st, r, (size_t)n), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(r[i].outcome, STORE_NEW);
	free(r);
	free(t);
}

static struct store_stats *
stats_for(struct fx *f, const char *account)
{
	struct store_stats *v;
	size_t n;

	assert_int_equal(store_stats(f->st, &f->a, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].account, account))
			return &v[i];
	fail_msg("no stats for account %s", account);
	return NULL;
}

static size_t
claim(struct fx *f, const char *account, const char *owner, size_t max,
      struct store_row **rows)
{
	size_t n;

	assert_int_equal(store_claim(f->st, account, owner, max, 30000,
				     &f->a, rows, &n), 0);
	return n;
}

static void
test_append_claim_done(void **state)
{
	struct fx *f = *state;
	struct store_row *rows, *again;
	struct store_stats *s;
	struct trec t;
	int64_t ids[3];

	trec_set(&t, "shop", "ev-0", 2, T0_S - 5);
	t.r.order_id = "order-7";
	t.r.received_at_ms = T0_MS - 200000;	/* due first */
	assert_int_equal(store_append(f->st, &t.r, 1), 0);
	assert_int_equal(t.r.outcome, STORE_NEW);
	append_n(f, "shop", "b", 2);
	append_n(f, "other", "o", 4);

	assert_int_equal(claim(f, "shop", "w1", 1000, &rows), 3);
	assert_string_equal(rows[0].event_id, "ev-0");
	assert_string_equal(rows[0].event_name, "checkout");
	assert_string_equal(rows[0].order_id, "order-7");
	assert_int_equal(rows[0].event_time, T0_S - 5);
	assert_int_equal(rows[0].legs, 2);
	assert_int_equal(rows[0].attempts, 0);
	assert_int_equal(rows[0].payload_len, strlen(t.payload));
	assert_memory_equal(rows[0].payload, t.payload, rows[0].payload_len);
	assert_null(rows[1].order_id);

	/* Leased rows are not handed out twice, and accounts stay apart. */
	assert_int_equal(claim(f, "shop", "w2", 1000, &again), 0);
	assert_int_equal(claim(f, "nobody", "w2", 1000, &again), 0);
	s = stats_for(f, "shop");
	assert_int_equal(s->pending, 3);
	assert_int_equal(s->in_flight, 3);
	assert_int_equal(s->oldest_pending_time, T0_S - 10);

	for (int i = 0; i < 3; i++)
		ids[i] = rows[i].id;
	assert_int_equal(store_mark_done(f->st, ids, 3), 0);
	/* Marking twice must not count twice. */
	assert_int_equal(store_mark_done(f->st, ids, 3), 0);
	s = stats_for(f, "shop");
	assert_int_equal(s->pending, 0);
	assert_int_equal(s->in_flight, 0);
	assert_int_equal(s->done, 3);
	assert_int_equal(s->oldest_pending_time, 0);
	s = stats_for(f, "other");
	assert_int_equal(s->pending, 4);
	assert_int_equal(s->in_flight, 0);
	assert_int_equal(claim(f, "shop", "w1", 1000, &rows), 0);
}

static void
test_claim_limit_and_order(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;

	append_n(f, "shop", "e", 25);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 10);
	assert_string_equal(rows[0].event_id, "e-0");
	assert_string_equal(rows[9].event_id, "e-9");
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 10);
	assert_string_equal(rows[0].event_id, "e-10");
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 5);
}

static void
test_retry_backoff(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct store_stats *s;
	int64_t id;

	append_n(f, "shop", "r", 1);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 1);
	id = rows[0].id;
	assert_int_equal(store_mark_retry(f->st, &id, 1, T0_MS + 60000,
					  "http 503"), 0);
	s = stats_for(f, "shop");
	assert_int_equal(s->pending, 1);
	assert_int_equal(s->in_flight, 0);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 0);

	f->clk.fixed_ms = T0_MS + 59999;
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 0);
	f->clk.fixed_ms = T0_MS + 60000;
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 1);
	/* Its whole batch was rescheduled: still batched, one attempt. */
	assert_int_equal(rows[0].id, id);
	assert_string_equal(rows[0].event_id, "r-0");
	assert_int_equal(rows[0].attempts, 1);
	id = rows[0].id;

	/* release: back at once, no attempt counted */
	assert_int_equal(store_release(f->st, &id, 1), 0);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 1);
	assert_int_equal(rows[0].attempts, 1);
}

static void
test_lease_expiry(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	size_t n;

	append_n(f, "shop", "l", 2);
	assert_int_equal(store_claim(f->st, "shop", "crashed", 10, 1000,
				     &f->a, &rows, &n), 0);
	assert_int_equal(n, 2);
	f->clk.fixed_ms = T0_MS + 999;
	assert_int_equal(claim(f, "shop", "w2", 10, &rows), 0);
	assert_int_equal(stats_for(f, "shop")->in_flight, 2);
	f->clk.fixed_ms = T0_MS + 1000;
	assert_int_equal(stats_for(f, "shop")->in_flight, 0);
	assert_int_equal(claim(f, "shop", "w2", 10, &rows), 2);
	assert_int_equal(stats_for(f, "shop")->in_flight, 2);
}

static void
test_not_before(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct trec t;

	trec_set(&t, "shop", "held", 1, T0_S);
	t.r.received_at_ms = T0_MS;
	t.r.not_before_ms = T0_MS + 5000;
	assert_int_equal(store_append(f->st, &t.r, 1), 0);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 0);
	f->clk.fixed_ms = T0_MS + 5000;
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 1);
}

static void
test_duplicate_and_legs(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct trec a, b, c;
	int64_t id;

	trec_set(&a, "shop", "dup", 1, T0_S);
	trec_set(&b, "shop", "dup", 2, T0_S);
	assert_int_equal(store_append(f->st, &a.r, 1), 0);
	assert_int_equal(store_append(f->st, &b.r, 1), 0);
	assert_int_equal(b.r.outcome, STORE_MERGED);
	assert_int_equal(stats_for(f, "shop")->pending, 1);

	/* Without a merge callback the first payload is kept. */
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 1);
	assert_int_equal(rows[0].legs, 3);
	assert_string_equal(rows[0].payload, a.payload);
	id = rows[0].id;
	assert_int_equal(store_mark_done(f->st, &id, 1), 0);

	/* After delivery: a duplicate, no new row, nothing to deliver. */
	trec_set(&c, "shop", "dup", 2, T0_S);
	assert_int_equal(store_append(f->st, &c.r, 1), 0);
	assert_int_equal(c.r.outcome, STORE_DUPLICATE);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 0);
	assert_int_equal(stats_for(f, "shop")->pending, 0);
	assert_int_equal(stats_for(f, "shop")->done, 1);

	/* The same event_id in another account is a different event. */
	trec_set(&c, "other", "dup", 2, T0_S);
	assert_int_equal(store_append(f->st, &c.r, 1), 0);
	assert_int_equal(c.r.outcome, STORE_NEW);
}

static void
test_duplicate_within_one_append(void **state)
{
	struct fx *f = *state;
	struct store_record r[3];
	struct trec t[3];
	struct store_row *rows;

	trec_set(&t[0], "shop", "x", 1, T0_S);
	trec_set(&t[1], "shop", "x", 2, T0_S);
	trec_set(&t[2], "shop", "y", 1, T0_S);
	for (int i = 0; i < 3; i++)
		r[i] = t[i].r;
	assert_int_equal(store_append(f->st, r, 3), 0);
	assert_int_equal(r[0].outcome, STORE_NEW);
	assert_int_equal(r[1].outcome, STORE_MERGED);
	assert_int_equal(r[2].outcome, STORE_NEW);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 2);
	assert_int_equal(stats_for(f, "shop")->pending, 2);
}

struct merge_probe {
	int calls;
	unsigned legs;
	unsigned incoming_legs;
	char stored[200];
	char incoming[200];
};

static int
merge_concat(void *arg, const char *stored, size_t stored_len,
	     const char *incoming, size_t incoming_len, unsigned legs,
	     unsigned incoming_legs, struct buf *out)
{
	struct merge_probe *p = arg;

	p->calls++;
	p->legs = legs;
	p->incoming_legs = incoming_legs;
	snprintf(p->stored, sizeof(p->stored), "%.*s", (int)stored_len,
		 stored);
	snprintf(p->incoming, sizeof(p->incoming), "%.*s",
		 (int)incoming_len, incoming);
	buf_addf(out, "{\"merged\":%u}", legs);
	return 1;
}

static void
test_merge_callback(void **state)
{
	struct fx *f = *state;
	struct merge_probe p = { 0 };
	struct store_row *rows;
	struct trec a, b;
	int64_t id;

	f->cfg.merge = merge_concat;
	f->cfg.merge_arg = &p;
	reopen(f);

	trec_set(&a, "shop", "m", 1, T0_S);
	trec_set(&b, "shop", "m", 2, T0_S);
	assert_int_equal(store_append(f->st, &a.r, 1), 0);
	assert_int_equal(p.calls, 0);
	assert_int_equal(store_append(f->st, &b.r, 1), 0);
	assert_int_equal(b.r.outcome, STORE_MERGED);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.legs, 3);
	assert_int_equal(p.incoming_legs, 2);
	assert_string_equal(p.stored, a.payload);
	assert_string_equal(p.incoming, b.payload);

	assert_int_equal(claim(f, "shop", "w", 10, &rows), 1);
	assert_string_equal(rows[0].payload, "{\"merged\":3}");
	assert_int_equal(rows[0].legs, 3);
	id = rows[0].id;
	assert_int_equal(store_mark_done(f->st, &id, 1), 0);

	/* Delivered rows are never rewritten. */
	assert_int_equal(store_append(f->st, &a.r, 1), 0);
	assert_int_equal(a.r.outcome, STORE_DUPLICATE);
	assert_int_equal(p.calls, 1);
}

struct dead_seen {
	int n;
	char ids[8][48];
	char reason[32];
	char message[64];
	char account[32];
	int payload_ok;
	int attempts;			/* of the last one seen */
};

static int
collect_dead(void *arg, const struct store_dead *d)
{
	struct dead_seen *s = arg;

	if (s->n < 8)
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", d->event_id);
	snprintf(s->reason, sizeof(s->reason), "%s", d->reason);
	snprintf(s->message, sizeof(s->message), "%s",
		 d->message ? d->message : "(null)");
	snprintf(s->account, sizeof(s->account), "%s", d->account);
	s->payload_ok = d->payload_len > 0 && d->payload[0] == '{';
	s->attempts = d->attempts;
	s->n++;
	return 0;
}

static void
test_dead_list_and_requeue(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct store_filter flt;
	struct dead_seen seen;
	struct store_stats *s;
	int64_t ids[5], count;

	append_n(f, "shop", "d", 5);	/* event_time T0_S-10 .. T0_S-6 */
	append_n(f, "other", "d", 1);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 5);
	for (int i = 0; i < 5; i++)
		ids[i] = rows[i].id;
	assert_int_equal(store_mark_dead(f->st, ids, 3, "rejected",
					 "invalid email hash"), 0);
	assert_int_equal(store_mark_dead(f->st, ids + 3, 2, "expired",
					 NULL), 0);
	assert_int_equal(claim(f, "other", "w", 10, &rows), 1);
	assert_int_equal(store_mark_dead(f->st, &rows[0].id, 1,
					 "bad_request", NULL), 0);
	s = stats_for(f, "shop");
	assert_int_equal(s->dead, 5);
	assert_int_equal(s->pending, 0);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_dead_list(f->st, NULL, 0, collect_dead,
					 &seen), 0);
	assert_int_equal(seen.n, 6);

	memset(&seen, 0, sizeof(seen));
	memset(&flt, 0, sizeof(flt));
	flt.account = "shop";
	flt.event_id = "d-1";
	assert_int_equal(store_dead_list(f->st, &flt, 0, collect_dead,
					 &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.ids[0], "d-1");
	assert_string_equal(seen.reason, "rejected");
	assert_string_equal(seen.message, "invalid email hash");
	assert_string_equal(seen.account, "shop");
	assert_true(seen.payload_ok);

	/* time range [T0_S-9, T0_S-7): d-1, d-2 */
	memset(&seen, 0, sizeof(seen));
	memset(&flt, 0, sizeof(flt));
	flt.account = "shop";
	flt.from_time = T0_S - 9;
	flt.to_time = T0_S - 7;
	assert_int_equal(store_dead_list(f->st, &flt, 0, collect_dead,
					 &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.ids[0], "d-1");
	assert_string_equal(seen.ids[1], "d-2");

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_dead_list(f->st, NULL, 2, collect_dead,
					 &seen), 0);
	assert_int_equal(seen.n, 2);
	flt.account = "nobody";
	assert_int_equal(store_dead_requeue(f->st, &flt, &count), 0);
	assert_int_equal(count, 0);

	/* replay the two from the range */
	flt.account = "shop";
	assert_int_equal(store_dead_requeue(f->st, &flt, &count), 0);
	assert_int_equal(count, 2);
	s = stats_for(f, "shop");
	assert_int_equal(s->dead, 3);
	assert_int_equal(s->pending, 2);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 2);
	assert_int_equal(rows[0].attempts, 0);
	assert_int_equal(store_dead_requeue(f->st, &flt, &count), 0);
	assert_int_equal(count, 0);

	/* everything else */
	assert_int_equal(store_dead_requeue(f->st, NULL, &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(stats_for(f, "other")->dead, 0);
	assert_int_equal(stats_for(f, "other")->pending, 1);
}

/*
 * Delivered events are pruned a batch (one append) at a time, once every
 * event of it is resolved and the last was resolved before the cutoff.
 */
static void
test_prune(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct trec t;
	int64_t ids[10], count;
	size_t n;

	append_n(f, "shop", "p", 6);
	n = claim(f, "shop", "w", 10, &rows);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		ids[i] = rows[i].id;
	append_n(f, "shop", "q", 4);
	n = claim(f, "shop", "w", 10, &rows);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		ids[6 + i] = rows[i].id;
	assert_int_equal(store_mark_done(f->st, ids, 6), 0);
	f->clk.fixed_ms = T0_MS + 1000;
	assert_int_equal(store_mark_done(f->st, ids + 6, 2), 0);
	assert_int_equal(stats_for(f, "shop")->done, 8);

	assert_int_equal(store_prune_done(f->st, T0_MS + 1, 0, &count), 0);
	assert_int_equal(count, 6);
	assert_int_equal(stats_for(f, "shop")->done, 2);
	assert_int_equal(stats_for(f, "shop")->pending, 2);
	assert_int_equal(store_prune_done(f->st, T0_MS + 1, 0, &count), 0);
	assert_int_equal(count, 0);
	/* q-* is not all resolved: nothing of it goes, whatever the time */
	assert_int_equal(store_prune_done(f->st, T0_MS + 5000, 0, &count), 0);
	assert_int_equal(count, 0);

	/* pruned keys are forgotten; kept ones still dedupe */
	trec_set(&t, "shop", "p-0", 1, T0_S);
	assert_int_equal(store_append(f->st, &t.r, 1), 0);
	assert_int_equal(t.r.outcome, STORE_NEW);
	trec_set(&t, "shop", "q-1", 1, T0_S);
	assert_int_equal(store_append(f->st, &t.r, 1), 0);
	assert_int_equal(t.r.outcome, STORE_DUPLICATE);
}

/* A limit stops a prune between batches; the next call takes the rest. */
static void
test_prune_in_slices(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	int64_t ids[8], count;
	char prefix[8];

	for (int b = 0; b < 3; b++) {
		snprintf(prefix, sizeof(prefix), "s%d", b);
		append_n(f, "shop", prefix, 8);
		assert_int_equal(claim(f, "shop", "w", 8, &rows), 8);
		for (size_t i = 0; i < 8; i++)
			ids[i] = rows[i].id;
		assert_int_equal(store_mark_done(f->st, ids, 8), 0);
	}
	assert_int_equal(stats_for(f, "shop")->done, 24);
	assert_int_equal(store_prune_done(f->st, T0_MS + 1, 5, &count), 0);
	assert_int_equal(count, 8);		/* one whole batch */
	assert_int_equal(stats_for(f, "shop")->done, 16);
	assert_int_equal(store_prune_done(f->st, T0_MS + 1, 0, &count), 0);
	assert_int_equal(count, 16);
	assert_int_equal(stats_for(f, "shop")->done, 0);
}

static void
test_reopen_keeps_everything(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct store_stats *s;
	int64_t id;

	append_n(f, "shop", "k", 3);
	assert_int_equal(claim(f, "shop", "w", 1, &rows), 1);
	id = rows[0].id;
	assert_int_equal(store_mark_done(f->st, &id, 1), 0);
	reopen(f);
	s = stats_for(f, "shop");
	assert_int_equal(s->pending, 2);
	assert_int_equal(s->done, 1);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 2);
	assert_string_equal(rows[0].event_id, "k-1");
}

static void
test_invalid_records(void **state)
{
	struct fx *f = *state;
	struct trec t;
	char *big;

	trec_set(&t, "shop", "ok", 1, T0_S);
	t.r.event_id = "";
	assert_int_equal(store_append(f->st, &t.r, 1), STORE_EINVAL);
	trec_set(&t, "", "ok", 1, T0_S);
	assert_int_equal(store_append(f->st, &t.r, 1), STORE_EINVAL);
	big = calloc(1, STORE_MAX_PAYLOAD_BYTES + 2);
	memset(big, 'x', STORE_MAX_PAYLOAD_BYTES + 1);
	trec_set(&t, "shop", "big", 1, T0_S);
	t.r.payload = big;
	t.r.payload_len = STORE_MAX_PAYLOAD_BYTES + 1;
	assert_int_equal(store_append(f->st, &t.r, 1), STORE_EINVAL);
	free(big);
	assert_int_equal(store_mark_dead(f->st, NULL, 0, "", NULL),
			 STORE_EINVAL);
}

static void
test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	struct store *st;

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->t.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL,
				      NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&f->cfg, &st), STORE_ESCHEMA);
	assert_null(st);
}

static void
test_readonly_connection(void **state)
{
	struct fx *f = *state;
	struct store_config rc = f->cfg;
	struct store *ro;
	struct store_stats *v;
	size_t n;

	append_n(f, "shop", "ro", 2);
	rc.readonly = true;
	assert_int_equal(store_open(&rc, &ro), 0);
	assert_int_equal(store_stats(ro, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].pending, 2);
	store_close(ro);
}

/* A real SQLITE_FULL: the page cap stops an append; nothing half-written
 * stays, and raising the cap lets the same append through. */
static void
test_disk_full_then_recovery(void **state)
{
	struct fx *f = *state;
	enum { N = 400 };
	struct trec *t = calloc(N, sizeof(*t));
	struct store_record *r = calloc(N, sizeof(*r));
	struct store_stats *v;
	size_t n;
	char id[48];
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t pages = 0;

	append_n(f, "shop", "pre", 1);
	assert_int_equal(sqlite3_open(f->t.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &q,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	pages = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);

	assert_int_equal(store_set_max_pages(f->st, pages + 2), 0);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "full-%d", i);
		trec_set(&t[i], "shop", id, 1, T0_S);
		r[i] = t[i].r;
	}
	assert_int_equal(store_append(f->st, r, N), STORE_EFULL);
	assert_int_equal(store_stats(f->st, &f->a, &v, &n), 0);
	assert_int_equal(v[0].pending, 1);

	assert_int_equal(store_set_max_pages(f->st, 0), 0);
	assert_int_equal(store_append(f->st, r, N), 0);
	assert_int_equal(r[N - 1].outcome, STORE_NEW);
	reopen(f);
	assert_int_equal(store_stats(f->st, &f->a, &v, &n), 0);
	assert_int_equal(v[0].pending, N + 1);
	free(r);
	free(t);
}

/* SELECT count(*) ... on the store's file, through a second connection. */
static int64_t
count_sql(struct fx *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t n;

	assert_int_equal(sqlite3_open(f->t.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/*
 * Idempotency must rest on the full (account, event_id), not on its
 * hash: with the key cut to 1 bit, every id collides with half the
 * others (in both accounts), and each must still be its own event.
 */
static void
test_key_collisions(void **state)
{
	struct fx *f = *state;
	enum { N = 40 };
	struct trec t;
	struct store_row *rows;
	int64_t ids[N];
	char id[48];
	size_t n;

	f->st->test_key_bits = 1;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "c-%d", i);
			trec_set(&t, i % 2 ? "shop" : "other", id, 1, T0_S);
			t.r.received_at_ms = T0_MS - 1000 + i;
			assert_int_equal(store_append(f->st, &t.r, 1), 0);
			assert_int_equal(t.r.outcome,
					 pass ? STORE_MERGED : STORE_NEW);
			/* the same id in the other account is another event */
			trec_set(&t, i % 2 ? "other" : "shop", id, 2, T0_S);
			t.r.received_at_ms = T0_MS - 1000 + i;
			assert_int_equal(store_append(f->st, &t.r, 1), 0);
			assert_int_equal(t.r.outcome,
					 pass ? STORE_MERGED : STORE_NEW);
		}
	}
	assert_int_equal(stats_for(f, "shop")->pending, N);
	n = claim(f, "shop", "w", 1000, &rows);
	assert_int_equal(n, N);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "c-%zu", i);
		assert_string_equal(rows[i].event_id, id);
		assert_int_equal(rows[i].legs, i % 2 ? 1 : 2);
		ids[i] = rows[i].id;
	}
	/* Done ones are duplicates now; their colliding neighbours are not. */
	assert_int_equal(store_mark_done(f->st, ids, N / 2), 0);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "c-%d", i);
		trec_set(&t, "shop", id, 1, T0_S);
		assert_int_equal(store_append(f->st, &t.r, 1), 0);
		assert_int_equal(t.r.outcome,
				 i < N / 2 ? STORE_DUPLICATE : STORE_MERGED);
	}
	assert_int_equal(stats_for(f, "shop")->pending, N / 2);
	assert_int_equal(stats_for(f, "other")->pending, N);
}

/*
 * Per-row dead messages in one call; done rows keep their key but not
 * their payload, dead rows keep both (for replay).
 */
static void
test_mark_dead_each(void **state)
{
	struct fx *f = *state;
	const char *msgs[3] = { "bad em", NULL, "bad ph" };
	struct store_row *rows;
	struct dead_seen seen;
	struct store_filter flt;
	int64_t ids[4];

	append_n(f, "shop", "e", 4);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 4);
	for (int i = 0; i < 4; i++)
		ids[i] = rows[i].id;
	assert_int_equal(store_mark_dead_each(f->st, ids, msgs, 3, ""),
			 STORE_EINVAL);
	assert_int_equal(store_mark_dead_each(f->st, ids, msgs, 3,
					      "rejected"), 0);
	/* again: no double count */
	assert_int_equal(store_mark_dead_each(f->st, ids, msgs, 3,
					      "rejected"), 0);
	assert_int_equal(store_mark_done(f->st, ids + 3, 1), 0);
	assert_int_equal(stats_for(f, "shop")->dead, 3);
	assert_int_equal(stats_for(f, "shop")->done, 1);
	assert_int_equal(stats_for(f, "shop")->pending, 0);

	memset(&flt, 0, sizeof(flt));
	for (int i = 0; i < 3; i++) {
		char id[8];

		snprintf(id, sizeof(id), "e-%d", i);
		flt.event_id = id;
		memset(&seen, 0, sizeof(seen));
		assert_int_equal(store_dead_list(f->st, &flt, 0, collect_dead,
						 &seen), 0);
		assert_int_equal(seen.n, 1);
		assert_string_equal(seen.reason, "rejected");
		assert_string_equal(seen.message, msgs[i] ? msgs[i] : "(null)");
		assert_true(seen.payload_ok);
	}
	assert_int_equal(count_sql(f, "SELECT count(*) FROM payloads"), 3);
}

/* The v1 schema as pinbridge 0.x wrote it, for the migration test. */
/*
 * A delivery request that failed as a whole reschedules its batch as a
 * whole: no event moves to a row of its own, the batch counts the retry
 * for every slot, and what does move out later (a partial retry, a dead
 * letter) carries the count with it.
 */
static void
test_batch_retried_whole(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct dead_seen seen;
	int64_t ids[5], now = T0_MS;

	append_n(f, "shop", "b", 5);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 5);
	for (int i = 0; i < 5; i++)
		ids[i] = rows[i].id;
	for (int round = 1; round <= 2; round++) {
		assert_int_equal(store_mark_retry(f->st, ids, 5, now + 60000,
						  "http 503"), 0);
		assert_int_equal(count_sql(f, "SELECT count(*) FROM events"), 0);
		assert_int_equal(stats_for(f, "shop")->pending, 5);
		assert_int_equal(stats_for(f, "shop")->in_flight, 0);
		f->clk.fixed_ms = now + 59999;
		assert_int_equal(claim(f, "shop", "w", 10, &rows), 0);
		f->clk.fixed_ms = now += 60000;
		assert_int_equal(claim(f, "shop", "w", 10, &rows), 5);
		for (int i = 0; i < 5; i++) {
			assert_int_equal(rows[i].id, ids[i]);	/* still batched */
			assert_int_equal(rows[i].attempts, round);
		}
	}

	/* Two of the five retried alone: they move out, attempts 2 + 1. */
	assert_int_equal(store_mark_retry(f->st, ids, 2, now, "http 400"), 0);
	assert_int_equal(count_sql(f, "SELECT count(*) FROM events"), 2);
	assert_int_equal(count_sql(f, "SELECT min(attempts) FROM events"), 3);
	/* The three left are the batch's whole live set: released in place. */
	assert_int_equal(store_release(f->st, ids + 2, 3), 0);
	assert_int_equal(count_sql(f, "SELECT count(*) FROM events"), 2);
	assert_int_equal(claim(f, "shop", "w", 10, &rows), 5);

	/* A dead letter out of the batch keeps the batch's retries. */
	assert_int_equal(store_mark_dead(f->st, ids + 4, 1, "expired", NULL),
			 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_dead_list(f->st, NULL, 0, collect_dead, &seen),
			 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.ids[0], "b-4");
	assert_int_equal(seen.attempts, 2);
	assert_int_equal(stats_for(f, "shop")->pending, 4);
}

static const char v1_schema[] =
	"CREATE TABLE accounts(id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE, pending INTEGER NOT NULL DEFAULT 0,"
	" done INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE events(id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL, state INTEGER NOT NULL,"
	" legs INTEGER NOT NULL, due_ms INTEGER NOT NULL,"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" event_time INTEGER NOT NULL, received_at INTEGER NOT NULL,"
	" done_at INTEGER, event_id TEXT NOT NULL,"
	" event_name TEXT NOT NULL, order_id TEXT, lease_owner TEXT,"
	" reason TEXT, message TEXT, payload TEXT NOT NULL);"
	"CREATE UNIQUE INDEX ev_key ON events(account_id, event_id);"
	"CREATE INDEX ev_due ON events(account_id, due_ms) WHERE state=0;"
	"CREATE INDEX ev_age ON events(account_id, event_time) WHERE state=0;"
	"CREATE INDEX ev_lease ON events(account_id, lease_until)"
	" WHERE lease_until>0;"
	"CREATE INDEX ev_done ON events(done_at) WHERE state=1;"
	"CREATE INDEX ev_dead ON events(account_id, event_time) WHERE state=2;"
	"INSERT INTO accounts VALUES(1, 'shop', 2, 1, 1);"
	"INSERT INTO events(id, account_id, state, legs, due_ms, event_time,"
	" received_at, event_id, event_name, order_id, payload) VALUES"
	" (1, 1, 0, 1, 1000, 1749999990, 1000, 'p-1', 'checkout', 'o-1',"
	"  '{\"v1\":1}'),"
	" (2, 1, 0, 2, 2000, 1749999991, 2000, 'p-2', 'lead', NULL,"
	"  '{\"v1\":2}');"
	"INSERT INTO events(id, account_id, state, legs, due_ms, event_time,"
	" received_at, done_at, event_id, event_name, payload) VALUES"
	" (3, 1, 1, 1, 3000, 1749999992, 3000, 5000, 'd-1', 'checkout', ''),"
	" (4, 1, 2, 1, 4000, 1749999993, 4000, 6000, 'x-1', 'checkout',"
	"  '{\"v1\":4}');"
	"UPDATE events SET reason='rejected', message='m' WHERE id=4;"
	"PRAGMA user_version=1;";

static void
test_migrate_v1(void **state)
{
	struct fx *f = *state;
	struct store_row *rows;
	struct dead_seen seen;
	struct store_stats *s;
	struct trec t;
	sqlite3 *db;
	int64_t count;

	store_close(f->st);
	f->st = NULL;
	tdir_remove(&f->t);
	tdir_make(&f->t);
	f->cfg.path = f->t.db;
	/* store_open creates var/; the v1 file is written there first */
	assert_int_equal(store_open(&f->cfg, &f->st), 0);
	store_close(f->st);
	f->st = NULL;
	unlink(f->t.db);
	assert_int_equal(sqlite3_open(f->t.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(&f->cfg, &f->st), 0);
	assert_int_equal(count_sql(f, "PRAGMA user_version"), 4);
	s = stats_for(f, "shop");
	assert_int_equal(s->pending, 2);
	assert_int_equal(s->done, 1);
	assert_int_equal(s->dead, 1);

	/* keys were computed for old rows: pending merges, done duplicates */
	trec_set(&t, "shop", "p-2", 1, T0_S);
	assert_int_equal(store_append(f->st, &t.r, 1), 0);
	assert_int_equal(t.r.outcome, STORE_MERGED);
	trec_set(&t, "shop", "d-1", 1, T0_S);
	assert_int_equal(store_append(f->st, &t.r, 1), 0);
	assert_int_equal(t.r.outcome, STORE_DUPLICATE);
	trec_set(&t, "shop", "x-1", 2, T0_S);
	assert_int_equal(store_append(f->st, &t.r, 1), 0);
	assert_int_equal(t.r.outcome, STORE_DUPLICATE);

	assert_int_equal(claim(f, "shop", "w", 10, &rows), 2);
	assert_string_equal(rows[0].event_id, "p-1");
	assert_string_equal(rows[0].order_id, "o-1");
	assert_string_equal(rows[0].payload, "{\"v1\":1}");
	assert_int_equal(rows[0].payload_len, 8);
	assert_string_equal(rows[1].payload, "{\"v1\":2}");
	assert_int_equal(rows[1].legs, 3);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_dead_list(f->st, NULL, 0, collect_dead, &seen),
			 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.ids[0], "x-1");
	assert_string_equal(seen.message, "m");
	assert_true(seen.payload_ok);
	assert_int_equal(store_dead_requeue(f->st, NULL, &count), 0);
	assert_int_equal(count, 1);
	/* only the done row went without a payload */
	assert_int_equal(count_sql(f, "SELECT count(*) FROM payloads"), 3);
}

static int64_t
file_bytes(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : (int64_t)sb.st_size;
}

/*
 * With background_checkpoint, pages reach the database file although no
 * commit crossed the inline bound (8000 pages): the checkpointer thread
 * copied them. Without it, 12 MB of WAL would all still be in the WAL.
 */
static void
test_background_checkpoint(void **state)
{
	enum { ROUNDS = 6, N = 500, PAYLOAD = 4000 };
	struct fx *f = *state;
	struct trec *t = calloc(N, sizeof(*t));
	struct store_record *r = calloc(N, sizeof(*r));
	char *big = malloc(PAYLOAD + 1);
	char id[48];
	int64_t before;

	memset(big, 'x', PAYLOAD);
	big[PAYLOAD] = '\0';
	store_close(f->st);
	f->cfg.background_checkpoint = true;
	assert_int_equal(store_open(&f->cfg, &f->st), 0);
	before = file_bytes(f->t.db);
	for (int k = 0; k < ROUNDS; k++) {
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "ck-%d-%d", k, i);
			trec_set(&t[i], "acct", id, 1, T0_S - 10);
			t[i].r.payload = big;
			t[i].r.payload_len = PAYLOAD;
			r[i] = t[i].r;
		}
		assert_int_equal(store_append(f->st, r, N), 0);
	}
	/* The thread runs on its own: give it up to 10 s. */
	for (int i = 0; i < 200 && file_bytes(f->t.db) < before + (4 << 20);
	    i++)
		nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	assert_true(file_bytes(f->t.db) >= before + (4 << 20));
	free(big);
	free(r);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_claim_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_limit_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_and_legs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_within_one_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_list_and_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_in_slices, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_then_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_collisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_dead_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_retried_whole,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_background_checkpoint, setup,
		    teardown),
	};

	test_deadline(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

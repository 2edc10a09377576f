/*
 * test_journal.c: group commit. Every callback fires once; an OK means the
 * rows survive a reopen; a failed commit fails every group in it and
 * leaves none of their rows; the journal keeps working afterwards.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/journal.h"
#include "store/store.h"
#include "store_test.h"
#include "util/arena.h"
#include "util/banned.h"

#define T0_S	1750000000LL

struct fx {
	struct tdir t;
	struct store_config cfg;
	struct journal *j;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store *st;

	tdir_make(&f->t);
	f->cfg.path = f->t.db;
	if (store_open(&f->cfg, &st) || journal_start(st, NULL, &f->j))
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	journal_close(f->j);
	tdir_remove(&f->t);
	free(f);
	return 0;
}

static int64_t
pending_after_reopen(struct fx *f, const char *account)
{
	struct store *st;
	struct store_stats *v;
	struct arena a;
	size_t n;
	int64_t pending = -1;

	journal_close(f->j);
	f->j = NULL;
	assert_int_equal(store_open(&f->cfg, &st), 0);
	arena_init(&a, 0);
	assert_int_equal(store_stats(st, &a, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].account, account))
			pending = v[i].pending;
	arena_release(&a);
	assert_int_equal(journal_start(st, NULL, &f->j), 0);
	return pending < 0 ? 0 : pending;
}

/* How many commits the duration histogram counted. */
static unsigned long long
timed_commits(const struct journal_stats *js)
{
	unsigned long long n = 0;

	for (size_t k = 0; k <= JOURNAL_COMMIT_BUCKETS; k++)
		n += js->commit_hist[k];
	return n;
}

static void
test_append_wait(void **state)
{
	struct fx *f = *state;
	struct journal_stats js;
	struct trec t[2];
	struct store_record r[2];

	trec_set(&t[0], "shop", "a", 1, T0_S);
	trec_set(&t[1], "shop", "a", 2, T0_S);
	r[0] = t[0].r;
	r[1] = t[1].r;
	assert_int_equal(journal_append_wait(f->j, r, 2), 0);
	assert_int_equal(r[0].outcome, STORE_NEW);
	assert_int_equal(r[1].outcome, STORE_MERGED);
	journal_get_stats(f->j, &js);
	assert_int_equal(js.records, 2);
	assert_true(js.commits >= 1);
	assert_int_equal(js.failures, 0);
	assert_int_equal(js.queued, 0);
	assert_int_equal(timed_commits(&js), js.commits);
	assert_true(js.commit_seconds > 0);
	assert_int_equal(journal_append_wait(f->j, r, 0), STORE_EINVAL);
	r[0].event_id = "";
	assert_int_equal(journal_append_wait(f->j, r, 1), STORE_EINVAL);
	assert_int_equal(pending_after_reopen(f, "shop"), 1);
}

struct counter {
	pthread_mutex_t mu;
	int calls;
	int ok;
	int err;
	int last_rc;
};

static void
count_cb(void *arg, int status)
{
	struct counter *c = arg;

	pthread_mutex_lock(&c->mu);
	c->calls++;
	if (status)
		c->err++;
	else
		c->ok++;
	c->last_rc = status;
	pthread_mutex_unlock(&c->mu);
}

/* Async submits, then close: close must drain every queued group. */
static void
test_close_drains(void **state)
{
	struct fx *f = *state;
	enum { G = 50 };
	struct trec t[G];
	struct store_record r[G];
	struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0 };
	char id[16];

	for (int i = 0; i < G; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		trec_set(&t[i], "shop", id, 2, T0_S);
		r[i] = t[i].r;
		assert_int_equal(journal_submit(f->j, &r[i], 1, count_cb, &c),
				 0);
	}
	journal_close(f->j);
	f->j = NULL;
	assert_int_equal(c.calls, G);
	assert_int_equal(c.ok, G);
	{
		struct store *st;

		assert_int_equal(store_open(&f->cfg, &st), 0);
		assert_int_equal(journal_start(st, NULL, &f->j), 0);
	}
	assert_int_equal(pending_after_reopen(f, "shop"), G);
}

/*
 * Holds the committer inside a callback so that later submits pile up and
 * are guaranteed to share the next transaction.
 */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int entered;
	int open;
};

static void
gate_cb(void *arg, int status)
{
	struct gate *g = arg;

	(void)status;
	pthread_mutex_lock(&g->mu);
	g->entered = 1;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
test_failed_commit_fails_whole_group(void **state)
{
	struct fx *f = *state;
	enum { G = 6 };
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			  0, 0 };
	struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0 };
	struct trec first, t[G], after;
	struct store_record r0, r[G], ra;
	struct journal_stats js;
	char id[16];

	trec_set(&first, "shop", "first", 1, T0_S);
	r0 = first.r;
	assert_int_equal(journal_submit(f->j, &r0, 1, gate_cb, &g), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.entered)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);

	for (int i = 0; i < G; i++) {
		snprintf(id, sizeof(id), "f%d", i);
		trec_set(&t[i], "shop", id, 1, T0_S);
		r[i] = t[i].r;
		assert_int_equal(journal_submit(f->j, &r[i], 1, count_cb, &c),
				 0);
	}
	journal_fail_commits(f->j, 1, STORE_EFULL);
	pthread_mutex_lock(&g.mu);
	g.open = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	/* Wait for the failed group before submitting, so it cannot join. */
	for (;;) {
		int calls;

		pthread_mutex_lock(&c.mu);
		calls = c.calls;
		pthread_mutex_unlock(&c.mu);
		if (calls == G)
			break;
		sched_yield();
	}

	/* The journal recovers: this one commits. */
	trec_set(&after, "shop", "after", 1, T0_S);
	ra = after.r;
	assert_int_equal(journal_append_wait(f->j, &ra, 1), 0);
	assert_int_equal(c.calls, G);
	assert_int_equal(c.err, G);
	assert_int_equal(c.last_rc, STORE_EFULL);
	journal_get_stats(f->j, &js);
	assert_int_equal(js.failures, 1);
	/* A failed commit kept its clients waiting too: it is timed. */
	assert_int_equal(timed_commits(&js), js.commits + js.failures);

	/* Nothing of the failed group is durable; "first" and "after" are. */
	assert_int_equal(pending_after_reopen(f, "shop"), 2);

	/* Resubmitting the failed records now works, as new rows. */
	assert_int_equal(journal_append_wait(f->j, r, G), 0);
	assert_int_equal(r[G - 1].outcome, STORE_NEW);
	assert_int_equal(pending_after_reopen(f, "shop"), 2 + G);
}

/* SQLITE_FULL for real, through the journal, then a write that fits. */
static void
test_real_disk_full(void **state)
{
	struct fx *f = *state;
	enum { N = 400 };
	struct trec *t = calloc(N, sizeof(*t));
	struct store_record *r = calloc(N, sizeof(*r));
	struct trec small;
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *q;
	char id[48];

	journal_close(f->j);
	f->j = NULL;
	assert_int_equal(sqlite3_open(f->t.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &q,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	f->cfg.max_pages = sqlite3_column_int64(q, 0) + 1;
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_int_equal(store_open(&f->cfg, &st), 0);
	assert_int_equal(journal_start(st, NULL, &f->j), 0);

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "big-%d", i);
		trec_set(&t[i], "shop", id, 1, T0_S);
		r[i] = t[i].r;
	}
	assert_int_equal(journal_append_wait(f->j, r, N), STORE_EFULL);
	trec_set(&small, "shop", "small", 1, T0_S);
	assert_int_equal(journal_append_wait(f->j, &small.r, 1), 0);
	f->cfg.max_pages = 0;
	assert_int_equal(pending_after_reopen(f, "shop"), 1);
	free(r);
	free(t);
}

/* ---- concurrent submitters ------------------------------------------ */

enum { THREADS = 8, GROUPS = 150, MAXG = 16 };

struct worker {
	struct journal *j;
	int no;
	int acked;			/* records acknowledged OK */
	int failed;
};

struct async_slot {
	struct trec t[MAXG];
	struct store_record r[MAXG];
	struct counter c;
};

static void *
submitter(void *arg)
{
	struct worker *w = arg;
	struct async_slot *slot = calloc(1, sizeof(*slot));
	struct trec t[MAXG];
	struct store_record r[MAXG];
	char id[48];
	unsigned seed = (unsigned)w->no * 7919u + 1;

	pthread_mutex_init(&slot->c.mu, NULL);
	for (int g = 0; g < GROUPS; g++) {
		int n = 1 + (int)(rand_r(&seed) % MAXG);
		int async = g % 3 == 0;
		struct trec *tt = async ? slot->t : t;
		struct store_record *rr = async ? slot->r : r;

		for (int i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "w%d-g%d-i%d", w->no, g, i);
			trec_set(&tt[i], w->no % 2 ? "odd" : "even", id, 2,
				 T0_S + g);
			rr[i] = tt[i].r;
		}
		if (async) {
			int before = slot->c.calls;

			if (journal_submit(w->j, rr, (size_t)n, count_cb,
					   &slot->c)) {
				w->failed++;
				continue;
			}
			/* wait for our own callback before reusing slot */
			for (;;) {
				int done;

				pthread_mutex_lock(&slot->c.mu);
				done = slot->c.calls > before;
				pthread_mutex_unlock(&slot->c.mu);
				if (done)
					break;
				sched_yield();
			}
			if (slot->c.last_rc == 0)
				w->acked += n;
			else
				w->failed++;
		} else if (journal_append_wait(w->j, rr, (size_t)n) == 0) {
			w->acked += n;
		} else {
			w->failed++;
		}
	}
	free(slot);
	return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Claims every row of account; checks each id appears exactly once. */
static int
claim_all_unique(struct store *st, const char *account)
{
	struct arena a;
	struct store_row *rows;
	char **ids = NULL;
	size_t n, total = 0;

	arena_init(&a, 0);
	do {
		assert_int_equal(store_claim(st, account, "t", 1000, 600000,
					     &a, &rows, &n), 0);
		ids = realloc(ids, (total + n) * sizeof(*ids));
		for (size_t i = 0; i < n; i++)
			ids[total++] = (char *)rows[i].event_id;
	} while (n);
	qsort(ids, total, sizeof(*ids), cmp_str);
	for (size_t i = 1; i < total; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	free(ids);
	arena_release(&a);
	return (int)total;
}

static void
test_concurrent_submitters(void **state)
{
	struct fx *f = *state;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	struct journal_stats js;
	struct store *st;
	int acked[2] = { 0, 0 };

	for (int i = 0; i < THREADS; i++) {
		w[i].j = f->j;
		w[i].no = i;
		w[i].acked = w[i].failed = 0;
		assert_int_equal(pthread_create(&th[i], NULL, submitter,
						&w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failed, 0);
		acked[i % 2] += w[i].acked;
	}
	journal_get_stats(f->j, &js);
	assert_int_equal(js.records, (unsigned long long)(acked[0] + acked[1]));
	/* Group commit actually grouped: fewer commits than groups. */
	assert_true(js.commits <= (unsigned long long)(THREADS * GROUPS));

	journal_close(f->j);
	f->j = NULL;
	assert_int_equal(store_open(&f->cfg, &st), 0);
	assert_int_equal(claim_all_unique(st, "even"), acked[0]);
	assert_int_equal(claim_all_unique(st, "odd"), acked[1]);
	assert_int_equal(journal_start(st, NULL, &f->j), 0);
}

static void
test_queue_bound(void **state)
{
	struct fx *f = *state;
	struct journal_config jc = { .max_batch = 4, .max_queued = 8 };
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			  0, 0 };
	struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0 };
	struct trec first, t[12];
	struct store_record r0, r[12];
	struct store *st;
	char id[16];
	int busy = 0;

	journal_close(f->j);
	assert_int_equal(store_open(&f->cfg, &st), 0);
	assert_int_equal(journal_start(st, &jc, &f->j), 0);
	trec_set(&first, "shop", "q-first", 1, T0_S);
	r0 = first.r;
	assert_int_equal(journal_submit(f->j, &r0, 1, gate_cb, &g), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.entered)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);
	for (int i = 0; i < 12; i++) {
		snprintf(id, sizeof(id), "q%d", i);
		trec_set(&t[i], "shop", id, 1, T0_S);
		r[i] = t[i].r;
		if (journal_submit(f->j, &r[i], 1, count_cb, &c) ==
		    STORE_EBUSY)
			busy++;
	}
	assert_int_equal(busy, 4);
	pthread_mutex_lock(&g.mu);
	g.open = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	assert_int_equal(pending_after_reopen(f, "shop"), 9);
	assert_int_equal(c.ok, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_fails_whole_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_submitters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
	};

	test_deadline(90);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

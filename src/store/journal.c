/*
 * journal.c: the group-commit thread in front of the store.
 *
 * Submitters append a group to a FIFO under one mutex and signal the
 * committer. The committer takes whole groups up to max_batch records,
 * appends them in one transaction, and completes them. While it waits for
 * fsync, new groups pile up and ride the next commit, so the batch size
 * follows the load with no timer and no sleep.
 */
#include "store/journal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DEFAULT_MAX_BATCH	10000
#define DEFAULT_MAX_QUEUED	100000

struct group {
	struct group *next;
	struct store_record *recs;	/* borrowed from the submitter */
	size_t n;
	journal_done_fn cb;
	void *arg;
};

struct journal {
	struct store *st;		/* owned; used by the committer only */
	size_t max_batch;
	size_t max_queued;
	int64_t retention_ms;		/* < 0: never prune */
	int64_t last_prune_ms;
	bool prune_more;		/* the last prune stopped at its slice */
	pthread_t thread;

	pthread_mutex_t mu;		/* guards everything below */
	pthread_cond_t work;		/* queue became non-empty or closing */
	struct group *head, *tail;	/* FIFO of waiting groups */
	size_t queued;			/* records in the FIFO */
	int closing;
	int fail_count;			/* journal_fail_commits() */
	int fail_rc;
	struct journal_stats stats;
};

/* Takes whole groups, at least one, up to max_batch records. */
static struct group *
take_batch(struct journal *j, size_t *nrecs)
{
	struct group *first = j->head, *last = NULL, *g = j->head;
	size_t total = 0;

	while (g && (total == 0 || total + g->n <= j->max_batch)) {
		total += g->n;
		last = g;
		g = g->next;
	}
	if (!last)
		return NULL;
	j->head = last->next;
	if (!j->head)
		j->tail = NULL;
	last->next = NULL;
	j->queued -= total;
	*nrecs = total;
	return first;
}

#define PRUNE_EVERY_MS	60000
/*
 * Events one prune may delete: a few ms of the committer's time, which
 * the commits queued behind it wait for. A larger backlog goes in slices,
 * one after each commit, instead of in one long stall a minute.
 */
#define PRUNE_SLICE	5000

/*
 * Forgets delivered events past the retention, on the committer's own
 * connection: it owns the writer's index, which pruning shrinks.
 */
static void
maybe_prune(struct journal *j)
{
	int64_t now = clock_now_ms(j->st->cfg.clock), count = 0;
	int rc;

	if (j->retention_ms < 0 ||
	    (!j->prune_more && now - j->last_prune_ms < PRUNE_EVERY_MS))
		return;
	j->last_prune_ms = now;
	rc = store_prune_done(j->st, now - j->retention_ms, PRUNE_SLICE,
	    &count);
	j->prune_more = rc == 0 && count >= PRUNE_SLICE;
	if (rc)
		log_warn("journal: prune failed: %s", store_strerror(rc));
}

const double journal_commit_bounds_ms[JOURNAL_COMMIT_BUCKETS] = {
	0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
};

static void
count_duration(struct journal_stats *s, int64_t us)
{
	size_t k = 0;

	while (k < JOURNAL_COMMIT_BUCKETS &&
	    (double)us > journal_commit_bounds_ms[k] * 1000)
		k++;
	s->commit_hist[k]++;
	s->commit_seconds += (double)us / 1e6;
}

static void *
committer(void *arg)
{
	struct journal *j = arg;
	struct store_span *spans = NULL;
	size_t spans_cap = 0;

	thread_name("pb-commit");
	for (;;) {
		struct group *batch, *g, *next;
		size_t nrecs = 0, ngroups = 0;
		int64_t t0, took_us;
		int rc;

		pthread_mutex_lock(&j->mu);
		while (!j->head && !j->closing)
			pthread_cond_wait(&j->work, &j->mu);
		batch = take_batch(j, &nrecs);
		if (!batch) {		/* closing and drained */
			pthread_mutex_unlock(&j->mu);
			break;
		}
		if (j->fail_count > 0) {
			j->fail_count--;
			j->st->fail_commits = 1;
			j->st->fail_rc = j->fail_rc;
		}
		pthread_mutex_unlock(&j->mu);

		for (g = batch; g; g = g->next)
			ngroups++;
		if (ngroups > spans_cap) {
			spans_cap = ngroups * 2;
			spans = xrealloc(spans, spans_cap * sizeof(*spans));
		}
		ngroups = 0;
		for (g = batch; g; g = g->next) {
			spans[ngroups].recs = g->recs;
			spans[ngroups++].n = g->n;
		}
		t0 = clock_mono_us();
		rc = store_append_spans(j->st, spans, ngroups);
		took_us = clock_mono_us() - t0;
		j->st->fail_commits = 0;
		if (rc)
			log_warn("journal: commit of %zu records failed: %s",
				 nrecs, store_strerror(rc));

		pthread_mutex_lock(&j->mu);
		count_duration(&j->stats, took_us);
		if (rc) {
			j->stats.failures++;
		} else {
			j->stats.commits++;
			j->stats.records += nrecs;
		}
		pthread_mutex_unlock(&j->mu);

		for (g = batch; g; g = next) {
			next = g->next;
			g->cb(g->arg, rc);
			free(g);
		}
		maybe_prune(j);
	}
	free(spans);
	return NULL;
}

int
journal_start(struct store *st, const struct journal_config *cfg,
	      struct journal **out)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	int rc;

	*out = NULL;
	j->st = st;
	j->max_batch = cfg && cfg->max_batch ? cfg->max_batch
					     : DEFAULT_MAX_BATCH;
	j->max_queued = cfg && cfg->max_queued ? cfg->max_queued
					       : DEFAULT_MAX_QUEUED;
	j->retention_ms = cfg && cfg->done_retention_ms ?
	    cfg->done_retention_ms : JOURNAL_DONE_RETENTION_MS;
	/* The first prune waits a minute: a restart is not a reason. */
	j->last_prune_ms = clock_now_ms(st->cfg.clock);
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->work, NULL);
	rc = pthread_create(&j->thread, NULL, committer, j);
	if (rc) {
		log_error("journal: cannot start committer thread: %s",
			  strerror(rc));
		pthread_cond_destroy(&j->work);
		pthread_mutex_destroy(&j->mu);
		free(j);
		store_close(st);
		return STORE_EIO;
	}
	*out = j;
	return 0;
}

void
journal_close(struct journal *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->closing = 1;
	pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thread, NULL);
	pthread_cond_destroy(&j->work);
	pthread_mutex_destroy(&j->mu);
	store_close(j->st);
	free(j);
}

int
journal_submit(struct journal *j, struct store_record *recs, size_t n,
	       journal_done_fn cb, void *arg)
{
	struct group *g;
	int rc = 0;

	if (!n || !cb)
		return STORE_EINVAL;
	/* Checked here so one bad group cannot fail everyone's commit. */
	for (size_t i = 0; i < n; i++)
		if ((rc = store_record_check(&recs[i])) != 0)
			return rc;
	g = xmalloc(sizeof(*g));
	g->next = NULL;
	g->recs = recs;
	g->n = n;
	g->cb = cb;
	g->arg = arg;

	pthread_mutex_lock(&j->mu);
	if (j->closing)
		rc = STORE_ECLOSED;
	else if (j->queued && j->queued + n > j->max_queued)
		rc = STORE_EBUSY;	/* an oversize group alone is allowed */
	if (!rc) {
		if (j->tail)
			j->tail->next = g;
		else
			j->head = g;
		j->tail = g;
		j->queued += n;
		pthread_cond_signal(&j->work);
	}
	pthread_mutex_unlock(&j->mu);
	if (rc)
		free(g);
	return rc;
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int rc;
};

static void
wake_waiter(void *arg, int status)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->rc = status;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int
journal_append_wait(struct journal *j, struct store_record *recs, size_t n)
{
	struct waiter w;
	int rc;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	w.done = 0;
	w.rc = 0;
	rc = journal_submit(j, recs, n, wake_waiter, &w);
	if (!rc) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		rc = w.rc;
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

void
journal_fail_commits(struct journal *j, int count, int rc)
{
	pthread_mutex_lock(&j->mu);
	j->fail_count = count;
	j->fail_rc = rc;
	pthread_mutex_unlock(&j->mu);
}

void
journal_get_stats(struct journal *j, struct journal_stats *out)
{
	pthread_mutex_lock(&j->mu);
	*out = j->stats;
	out->queued = j->queued;
	pthread_mutex_unlock(&j->mu);
}

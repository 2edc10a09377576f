/*
 * journal.h: group commit in front of the store.
 *
 * One committer thread owns the write connection. Ingest threads queue
 * record groups and return at once; the committer takes everything queued
 * (up to a cap), appends it in ONE transaction, commits (one fsync for all
 * of them), then fires every group's callback. A client may be told 2xx
 * only from a JOURNAL_OK callback: that is the durability promise.
 */
#ifndef PB_JOURNAL_H
#define PB_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct journal;

/*
 * Fired once per submitted group, on the committer thread, after the
 * transaction holding the group committed (status 0; recs[i].outcome set)
 * or failed (status < 0, enum store_err: nothing of the group is durable).
 * Keep it short: the next group commit waits for it. It may call
 * journal_submit() but must not call journal_close().
 */
typedef void (*journal_done_fn)(void *arg, int status);

struct journal_config {
	size_t max_batch;	/* records per transaction; 0: 10000 */
	size_t max_queued;	/* records waiting; beyond: EBUSY; 0: 100000 */
	/*
	 * Delivered events are kept this long for idempotency, then pruned
	 * by the committer between commits: about once a minute, or after
	 * each commit in slices while a backlog lasts.
	 * 0: JOURNAL_DONE_RETENTION_MS; negative: never prune.
	 */
	int64_t done_retention_ms;
};

#define JOURNAL_DONE_RETENTION_MS	(60 * 60 * 1000)

/*
 * Starts the committer thread on a store it takes ownership of (opened
 * read-write by the caller; closed by journal_close()). cfg may be NULL.
 */
__attribute__((warn_unused_result))
int journal_start(struct store *st, const struct journal_config *cfg,
		  struct journal **out);

/*
 * Drains everything already queued (their callbacks fire), stops the
 * committer, and closes the store. Accepts NULL.
 */
void journal_close(struct journal *j);

/*
 * Queues n records (n >= 1) and returns without waiting. `recs` is
 * borrowed and must stay valid, untouched, until `cb` fires. Returns 0
 * (cb will fire exactly once) or STORE_EBUSY / STORE_ECLOSED /
 * STORE_EINVAL (cb will not fire). A group bigger than max_batch still
 * commits as one transaction of its own.
 */
__attribute__((warn_unused_result))
int journal_submit(struct journal *j, struct store_record *recs, size_t n,
		   journal_done_fn cb, void *arg);

/* Submits and blocks until committed; returns the commit status. */
__attribute__((warn_unused_result))
int journal_append_wait(struct journal *j, struct store_record *recs,
			size_t n);

/*
 * Test seam: the next `count` commits fail with `rc` (e.g. STORE_EFULL)
 * after the rows were written, exercising the rollback path.
 */
void journal_fail_commits(struct journal *j, int count, int rc);

/*
 * Commit durations (append, commit and fsync: what every request in the
 * group waited for) are counted in buckets with these upper bounds in
 * milliseconds, and one more above the last. A slow or failing disk shows
 * here before clients time out.
 */
#define JOURNAL_COMMIT_BUCKETS	12
extern const double journal_commit_bounds_ms[JOURNAL_COMMIT_BUCKETS];

/* Counters for /metrics; read without stopping the committer. */
struct journal_stats {
	unsigned long long commits;	/* successful transactions */
	unsigned long long failures;	/* failed transactions */
	unsigned long long records;	/* records committed */
	size_t queued;			/* records waiting now */
	/* Every transaction, failed or not, by duration (not cumulative). */
	unsigned long long commit_hist[JOURNAL_COMMIT_BUCKETS + 1];
	double commit_seconds;		/* their total duration */
};

void journal_get_stats(struct journal *j, struct journal_stats *out);

#endif

/*
 * store.h: the durable event store: one row per (account, event_id), from
 * the moment ingest acknowledges it until delivery marks it done or dead.
 *
 * A struct store is ONE connection to the backing database and belongs to
 * one thread at a time: the journal's committer owns one, each delivery
 * worker opens its own, the CLI opens one. Nothing here takes an
 * in-process lock to coordinate workers: rows are claimed with a lease
 * (owner + lease_until), so several gateway processes can share a store.
 *
 * The backend sits behind a table of functions (struct store_ops in
 * store_int.h); store_open() picks it from the location. SQLite is the
 * embedded default; a PostgreSQL backend can slot in beside it.
 *
 * Row life cycle:
 *
 *   append -> PENDING --claim--> PENDING + lease --mark_done--> DONE
 *                ^                     |  |                       |
 *                |   lease expires ----+  +--mark_dead--> DEAD    prune
 *                +---- mark_retry / release ----+          |
 *                +---------------- requeue (replay) -------+
 *
 * Times: event_time is Unix seconds (Pinterest's unit); everything the
 * store schedules (received_at, not_before, next attempt, leases, done_at)
 * is Unix milliseconds taken from the config clock.
 *
 * Errors: 0 on success, a negative enum store_err otherwise. Payloads are
 * already hashed, but are still never logged.
 */
#ifndef PB_STORE_H
#define PB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct buf;
struct clock;
struct store;

#define STORE_DEFAULT_PATH	"./var/pinbridge.db"

/* A payload bigger than this is refused with STORE_EINVAL. */
#define STORE_MAX_PAYLOAD_BYTES	(256u * 1024)
/* Rows one store_claim() may hand out (Pinterest's batch cap). */
#define STORE_MAX_CLAIM		1000

enum store_err {
	STORE_OK = 0,
	STORE_EIO = -1,		/* I/O error, corruption, or a failed commit */
	STORE_EFULL = -2,	/* disk full or database size limit reached */
	STORE_EBUSY = -3,	/* locked beyond busy_timeout, or queue full */
	STORE_EINVAL = -4,	/* bad argument (empty id, oversize payload) */
	STORE_ESCHEMA = -5,	/* file written by a newer pinbridge */
	STORE_ECLOSED = -6,	/* journal is shutting down */
};

/* A short lowercase description of an enum store_err value. */
const char *store_strerror(int rc);

/* What appending one record did; written back into the record. */
enum store_outcome {
	STORE_NEW = 0,		/* a new row, pending delivery */
	STORE_MERGED,		/* row existed and was pending: legs OR'd, and
				 * the merge callback may have rewritten it */
	STORE_DUPLICATE,	/* row existed and was done, dead or merged
				 * away: only the leg was recorded */
};

/*
 * One event as ingest hands it to the store. All pointers are borrowed
 * and must stay valid until the append returns (or, through the journal,
 * until the done callback has fired).
 */
struct store_record {
	const char *account;		/* config section name, non-empty */
	const char *event_id;		/* non-empty */
	const char *event_name;		/* CAPI name, e.g. "checkout" */
	int64_t event_time;		/* Unix seconds */
	int64_t received_at_ms;		/* when ingest saw it */
	int64_t not_before_ms;		/* hold delivery until then; 0 = now */
	unsigned legs;			/* enum event_leg bits (1, 2, or 3) */
	const char *order_id;		/* may be NULL; for monitoring */
	const char *payload;		/* compact JSON Pinterest receives */
	size_t payload_len;
	enum store_outcome outcome;	/* OUT: set once the append committed */
};

/*
 * Merge hook for a second record with an existing pending (account,
 * event_id): called inside the write transaction, on the writer's thread,
 * so it must be quick and must not touch the store. `legs` is the union
 * of both rows' legs; `incoming_legs` are the appended record's own, so
 * the callback can tell which payload came from which leg (the server
 * leg wins conflicts). Return 1 after writing the merged payload to `out`
 * to replace the stored one, 0 to keep the stored payload, or -1 on
 * error (the stored payload is kept and the legs are still OR'd).
 */
typedef int (*store_merge_fn)(void *arg,
			      const char *stored, size_t stored_len,
			      const char *incoming, size_t incoming_len,
			      unsigned legs, unsigned incoming_legs,
			      struct buf *out);

struct store_config {
	const char *path;		/* NULL: STORE_DEFAULT_PATH; the parent
					 * directory is created if missing */
	const struct clock *clock;	/* NULL: the system clock */
	int busy_timeout_ms;		/* 0: 5000 */
	int cache_kib;			/* page cache per connection; 0: 2048 */
	bool readonly;			/* stats / dead-letter listing only */
	store_merge_fn merge;		/* NULL: keep the first payload */
	void *merge_arg;
	/*
	 * The journal's writer: checkpoint the WAL from a thread and
	 * connection of the store's own, so that no commit an ack waits for
	 * ever copies pages into the database file.
	 */
	bool background_checkpoint;
	/* Test seam: cap the file at this many pages to provoke
	 * STORE_EFULL; 0 = no cap. Adjustable later with
	 * store_set_max_pages(). */
	int64_t max_pages;
};

/*
 * Opens (creating if needed) the store at cfg->path and brings its schema
 * up to date. Cost does not depend on how many rows wait: no scans. The
 * config is copied; the clock and merge_arg are borrowed for the life of
 * the store. Returns 0 and *out, or an error with *out = NULL.
 */
__attribute__((warn_unused_result))
int store_open(const struct store_config *cfg, struct store **out);

/* Closes the connection. Accepts NULL. */
void store_close(struct store *st);

/* Test seam: change the page cap (0 = none) on an open store. */
int store_set_max_pages(struct store *st, int64_t max_pages);

/* ---- writing (ingest; normally through journal.h) -------------------- */

/* A run of records, so one transaction can cover many requests. */
struct store_span {
	struct store_record *recs;
	size_t n;
};

/*
 * Appends every record of every span in ONE transaction and commits it
 * durably (fsync'd) before returning 0. Sets recs[i].outcome. A record
 * whose (account, event_id) exists never creates a second row: see enum
 * store_outcome. On error nothing is committed.
 */
__attribute__((warn_unused_result))
int store_append_spans(struct store *st, const struct store_span *spans,
		       size_t nspans);

/* store_append_spans() for one span. */
__attribute__((warn_unused_result))
int store_append(struct store *st, struct store_record *recs, size_t n);

/* ---- delivery -------------------------------------------------------- */

/* One claimed row; strings live in the arena passed to store_claim(). */
struct store_row {
	int64_t id;			/* handle for the mark functions */
	const char *event_id;
	const char *event_name;
	const char *order_id;		/* NULL when none */
	int64_t event_time;		/* Unix seconds */
	int64_t received_at_ms;
	unsigned legs;
	int attempts;			/* failed attempts so far */
	const char *payload;		/* NUL-terminated */
	size_t payload_len;
};

/*
 * Claims up to `max` (<= STORE_MAX_CLAIM) deliverable rows of `account`:
 * pending, due (next attempt and not_before reached) and not under a live
 * lease, oldest due first. Each gets lease (owner, now + lease_ms); a
 * lease that expires without a mark makes the row claimable again.
 * Allocates rows from `a`. Returns 0 with *n possibly 0.
 */
__attribute__((warn_unused_result))
int store_claim(struct store *st, const char *account, const char *owner,
		size_t max, int64_t lease_ms, struct arena *a,
		struct store_row **rows, size_t *n);

/* Delivered: pending rows among ids become DONE (done_at = now). */
__attribute__((warn_unused_result))
int store_mark_done(struct store *st, const int64_t *ids, size_t n);

/*
 * Failed, try again: attempts + 1, lease dropped, next attempt at
 * next_attempt_ms, last_error = error (may be NULL; truncated to 512 B).
 */
__attribute__((warn_unused_result))
int store_mark_retry(struct store *st, const int64_t *ids, size_t n,
		     int64_t next_attempt_ms, const char *error);

/*
 * Gave up: rows become DEAD with a stable reason code ("rejected",
 * "expired", "bad_request", ...) and a human message (may be NULL).
 */
__attribute__((warn_unused_result))
int store_mark_dead(struct store *st, const int64_t *ids, size_t n,
		    const char *reason, const char *message);

/*
 * store_mark_dead() with a message per row (messages[i] may be NULL), in
 * one transaction: the events Pinterest rejected in one batch, each for
 * its own reason, cost one commit instead of one each.
 */
__attribute__((warn_unused_result))
int store_mark_dead_each(struct store *st, const int64_t *ids,
			 const char *const *messages, size_t n,
			 const char *reason);

/* Hands rows back unattempted (shutdown): lease dropped, due now. */
__attribute__((warn_unused_result))
int store_release(struct store *st, const int64_t *ids, size_t n);

/* ---- monitoring and operations ------------------------------------- */

struct store_stats {
	const char *account;		/* in the arena */
	int64_t pending;		/* includes in_flight */
	int64_t in_flight;		/* pending under a live lease */
	int64_t done;			/* not yet pruned */
	int64_t dead;
	int64_t oldest_pending_time;	/* event_time (s); 0 when none */
};

/*
 * Counts per account, from counters kept in the same transactions as the
 * rows (no table scan). Allocates the array from `a`.
 */
__attribute__((warn_unused_result))
int store_stats(struct store *st, struct arena *a, struct store_stats **out,
		size_t *n);

/* Selects dead letters; any field may be left 0/NULL to not filter. */
struct store_filter {
	const char *account;
	int64_t from_time;		/* event_time >= from_time (s) */
	int64_t to_time;		/* event_time < to_time (s); 0 = open */
	const char *event_id;
};

struct store_dead {
	int64_t id;
	const char *account;
	const char *event_id;
	const char *event_name;
	const char *order_id;		/* NULL when none */
	int64_t event_time;
	int64_t received_at_ms;
	int64_t dead_at_ms;
	unsigned legs;
	int attempts;
	const char *reason;
	const char *message;		/* NULL when none */
	const char *payload;
	size_t payload_len;
};

/*
 * Called once per dead letter, in id order; the strings are valid only
 * during the call. Return nonzero to stop early.
 */
typedef int (*store_dead_fn)(void *arg, const struct store_dead *d);

/* Lists dead letters matching f (NULL = all), at most `limit` (0 = all). */
__attribute__((warn_unused_result))
int store_dead_list(struct store *st, const struct store_filter *f,
		    size_t limit, store_dead_fn fn, void *arg);

/*
 * Replay: dead letters matching f become pending and due now, with
 * attempts reset. Stores how many in *count.
 */
__attribute__((warn_unused_result))
int store_dead_requeue(struct store *st, const struct store_filter *f,
		       int64_t *count);

/*
 * Deletes DONE events with done_at < before_ms, in bounded steps so a
 * writer is never blocked for long, and about `limit` of them at most (0:
 * all). Stores how many in *count (may be NULL); when that reaches limit,
 * more may be left: call again. After pruning, a re-sent event_id is
 * accepted as new.
 */
__attribute__((warn_unused_result))
int store_prune_done(struct store *st, int64_t before_ms, int64_t limit,
		     int64_t *count);

#endif

/*
 * worker.h: the delivery loop. One thread moves events from the store to
 * Pinterest for every configured ad account:
 *
 *   claim (lease) ≤ batch_max due rows → {"data":[payload,...]} → POST
 *   → policy → mark done / retry(next attempt) / dead(reason, message)
 *
 * A batch leaves when it is full or when its first event has waited
 * flush_delay_ms. Accounts never wait on each other: requests of all
 * accounts share one non-blocking libcurl multi handle, and each account
 * has its own rate limit, backoff and pause state. An account answered
 * 401/403 is paused with its events kept; it is probed with one event
 * every pause_probe_ms, or resumed at once by deliver_resume_account()
 * (e.g. after its token file was re-read). An account without a token
 * writes to the dry-run sink instead (sink.h).
 *
 * Threading: deliver_start/stop/free belong to the owner's thread; the
 * stats, wakeup and resume calls may come from any thread.
 */
#ifndef PB_DELIVER_WORKER_H
#define PB_DELIVER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/client.h"
#include "deliver/policy.h"
#include "deliver/sink.h"

struct buf;
struct clock;
struct deliver;
struct store;

struct deliver_account_config {
	const char *name;		/* store account (config section); copied */
	const char *ad_account_id;	/* 1..18 digits; copied */
	const char *token;		/* copied; NULL: dry-run sink */
	bool test_mode;			/* send with ?test=true */
	int64_t rate_per_min;		/* 0: 5000; < 0: unlimited */
	int64_t rate_burst;		/* 0: one second's worth */
};

struct deliver_config {
	const struct clock *clock;	/* wall time; must be the store's clock;
					 * NULL: system clock */
	struct pin_client_config http;
	struct pin_policy policy;
	const char *sink_path;		/* NULL: PIN_SINK_DEFAULT_PATH */
	enum pin_sink_sync sink_sync;
	size_t batch_max;		/* events per request, ≤ 1000 */
	size_t max_body_bytes;		/* request body cap; 0: 8 MiB */
	int64_t flush_delay_ms;		/* wait this long to fill a batch */
	int64_t idle_poll_ms;		/* look for new rows this often */
	unsigned max_in_flight;		/* requests per account at once */
	int64_t lease_ms;		/* 0: derived from the timeouts */
	int64_t stop_timeout_ms;	/* deliver_stop() waits this long */
	const char *owner;		/* lease owner; NULL: "deliver-<pid>" */
};

/* Fills every field with its default (documented in docs/internals/deliver.md). */
void deliver_config_defaults(struct deliver_config *cfg);

enum deliver_state {
	DELIVER_IDLE = 0,	/* nothing waiting */
	DELIVER_SENDING,	/* batches filling or in flight */
	DELIVER_BACKOFF,	/* waiting after a retryable failure */
	DELIVER_PAUSED,		/* 401/403: waiting for credentials */
	DELIVER_DRY_RUN,	/* no token: writing to the sink */
};

const char *deliver_state_name(enum deliver_state s);

/* Counters since start; events unless named otherwise. */
struct deliver_account_stats {
	char name[64];
	enum deliver_state state;
	uint64_t sent;		/* events put in requests (resends count again) */
	uint64_t delivered;	/* marked done */
	uint64_t failed;	/* rejected by Pinterest per event */
	uint64_t dead;		/* all dead letters (failed, expired, 400, ...) */
	uint64_t expired;	/* dead as "expired" */
	uint64_t retried;	/* scheduled for another attempt */
	uint64_t warnings;	/* processed with a warning_message */
	uint64_t lag_over_1h;	/* delivered more than offline_lag_s after event_time */
	uint64_t batches;	/* requests (or sink lines) completed */
	uint64_t bisections;	/* batches split after a 400/413/422 */
	uint64_t pauses;	/* times paused for credentials */
	int last_status;	/* HTTP status of the last request; 0: none/transport */
	char last_error[256];	/* "" when none yet */
	char last_request_id[96];
	int64_t last_success_ms;	/* wall clock; 0: never */
	int64_t last_error_ms;
};

/*
 * Creates a worker for n accounts over a store connection it borrows:
 * from deliver_start() to deliver_stop() only the worker thread may use
 * `st`. Returns NULL and a message in err on bad config (duplicate name,
 * invalid ad_account_id, sink cannot be opened, ...).
 */
struct deliver *deliver_new(const struct deliver_config *cfg, struct store *st,
    const struct deliver_account_config *accounts, size_t n, struct buf *err);

/* Starts the thread. Returns 0 or -errno. */
int deliver_start(struct deliver *d);

/*
 * Stops claiming, releases leases of batches not yet sent, waits up to
 * stop_timeout_ms for requests in flight and applies their results; any
 * still unanswered are abandoned and their rows released (they will be
 * sent again: at-least-once). Joins the thread. Idempotent.
 */
void deliver_stop(struct deliver *d);

/* Stops if needed and frees; wipes tokens. Accepts NULL. */
void deliver_free(struct deliver *d);

/* New rows were appended: look now instead of at the next poll. */
void deliver_wakeup(struct deliver *d);

/*
 * Unpauses account `name` (after credentials were fixed) and, when token
 * is not NULL, replaces its token first. Returns 0, or -ENOENT.
 */
int deliver_resume_account(struct deliver *d, const char *name,
    const char *token);

size_t deliver_account_count(const struct deliver *d);

/* Snapshot of account i's counters (thread-safe). Returns 0 or -ENOENT. */
int deliver_account_stats(struct deliver *d, size_t i,
    struct deliver_account_stats *out);

/* The same by name. */
int deliver_account_stats_by_name(struct deliver *d, const char *name,
    struct deliver_account_stats *out);

#endif

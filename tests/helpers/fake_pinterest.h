/*
 * fake_pinterest.h: a real HTTP server on 127.0.0.1 that answers
 * POST /v5/ad_accounts/{id}/events the way Pinterest does (spec §2, §6),
 * for unit tests, integration scripts and benchmarks.
 *
 * It checks the bearer token and the body shape (data[] 1..1000, the
 * required keys and types of each item, no unknown keys at the top level
 * or in an item: Pinterest's additionalProperties:false) and answers 200
 * with one result per event, in order. It can be scripted:
 *
 *   - forced responses, first in first out: status, body, Retry-After
 *     (given after the token and body checks, so a forced answer still
 *     counts the events as received, as a real overloaded server would
 *     have read them);
 *   - per-event rules: an event_id starting with "fail-" comes back
 *     "failed" inside a 422; an event_id "bad-400" fails the whole request
 *     with 400; an event_time older than max_age fails like Pinterest's
 *     "Given timestamp is in the past";
 *   - a token switch (401 until requests carry the new token);
 *   - a down switch (503 for everything, or close the connection);
 *   - a per-request delay (to provoke client timeouts).
 *
 * Every request is counted, every event_id is remembered with how often
 * it was received and accepted, and batch sizes are kept, for assertions.
 * With `admin` set it also serves /_control/... and /_stats (see
 * fake_pinterest_main.c) so a separate process can be driven by curl.
 */
#ifndef PB_FAKE_PINTEREST_H
#define PB_FAKE_PINTEREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct fake_pinterest;

struct fake_pinterest_config {
	uint16_t port;		/* 0: any free port (see fake_pinterest_port) */
	const char *token;	/* expected bearer token; NULL: accept any */
	const char *record_path;	/* append each accepted body as NDJSON; NULL: none */
	bool admin;		/* serve /_control/... and /_stats */
	int64_t max_age_s;	/* older event_time fails; 0: 7 days; < 0: no check */
};

enum fake_down {
	FAKE_UP = 0,
	FAKE_DOWN_503,		/* every request: 503 code 4197 */
	FAKE_DOWN_CLOSE,	/* every request: connection closed, no answer */
};

struct fake_pinterest_stats {
	size_t requests;		/* every request to the events path */
	size_t status_200, status_400, status_401, status_422, status_429,
	    status_5xx, closed;
	size_t forced;			/* answered from the forced queue */
	size_t test_requests;		/* carried ?test=true */
	size_t events_received;		/* items in well-formed bodies */
	size_t events_accepted;		/* items answered "processed" */
	size_t unique_events;		/* distinct event_ids received */
	size_t duplicate_accepts;	/* accepts beyond the first per id */
	size_t max_batch;
};

/* Starts the server; NULL (with a message on stderr) on failure. */
struct fake_pinterest *fake_pinterest_start(const struct fake_pinterest_config *cfg);
/* Stops the server (waits for its threads) and frees everything. */
void fake_pinterest_stop(struct fake_pinterest *fp);

uint16_t fake_pinterest_port(const struct fake_pinterest *fp);
/* "http://127.0.0.1:PORT" into out. */
void fake_pinterest_base_url(const struct fake_pinterest *fp, char *out,
    size_t outsz);

/*
 * Queues a forced answer for the next request to the events path.
 * body NULL: Pinterest's usual Error body for that status. retry_after
 * NULL: no header. status 0: close the connection without answering.
 */
void fake_pinterest_push(struct fake_pinterest *fp, int status,
    const char *body, const char *retry_after);
/* Drops the forced queue, the down switch and the delay. */
void fake_pinterest_recover(struct fake_pinterest *fp);
void fake_pinterest_set_token(struct fake_pinterest *fp, const char *token);
void fake_pinterest_set_down(struct fake_pinterest *fp, enum fake_down mode);
void fake_pinterest_set_delay_ms(struct fake_pinterest *fp, int64_t ms);
/*
 * Answers every request for ad_account_id with `status` (and Pinterest's
 * usual body) until called again with status 0. Lets a test break one
 * account while others keep working. At most 16 accounts at once.
 */
void fake_pinterest_fail_account(struct fake_pinterest *fp,
    const char *ad_account_id, int status);

void fake_pinterest_get_stats(struct fake_pinterest *fp,
    struct fake_pinterest_stats *out);
void fake_pinterest_reset_stats(struct fake_pinterest *fp);
/* How many times event_id arrived in a well-formed request / was accepted. */
unsigned fake_pinterest_received(struct fake_pinterest *fp, const char *event_id);
unsigned fake_pinterest_accepted(struct fake_pinterest *fp, const char *event_id);
/* Copies up to max batch sizes in arrival order; returns how many exist. */
size_t fake_pinterest_batch_sizes(struct fake_pinterest *fp, size_t *out,
    size_t max);
/* The /_stats document. */
void fake_pinterest_stats_json(struct fake_pinterest *fp, struct buf *out);

#endif

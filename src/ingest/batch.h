/*
 * batch.h: one request body -> events -> store records and per-event
 * results, and the response a client gets once the records are durable.
 * No HTTP here: server.c feeds bodies in and sends the rendered answer.
 *
 * Two request shapes:
 *   native  POST /v1/events: one event object, or {"events":[...]}.
 *           Answer: {"accepted":N,"rejected":N,"events":[{...},...]}
 *   dropin  POST /v5/ad_accounts/{id}/events: Pinterest's {"data":[...]}.
 *           Answer in Pinterest's own shape (num_events_received, ...).
 */
#ifndef PB_INGEST_BATCH_H
#define PB_INGEST_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "store/store.h"

struct arena;
struct buf;
struct hasher;

/* What the connection tells us about the request, beside its body. */
struct batch_source {
	const char *account;		/* config account name */
	const char *partner_name;	/* account default, or NULL */
	enum event_leg leg;
	bool dropin;			/* Pinterest-shaped request and answer */
	/* Browser leg only: these replace whatever the event says. */
	const char *client_ip;
	const char *user_agent;
	const char *click_id;		/* from the _epik cookie; may be NULL */
	/* Click id: the event's, else click_id above, else the epik
	 * parameter of the event's event_source_url (ingest/epik.h). */
	int64_t now_ms;
	int64_t max_age_s;
	int64_t not_before_ms;		/* hold for the merge window (either
					 * leg); 0 = deliver at once */
};

/* The fate of one event of the request. */
struct batch_result {
	bool accepted;
	const char *event_id;		/* accepted: the id it was stored under */
	const char *warning;		/* first warning, or NULL */
	size_t n_warnings;
	struct event_error error;	/* rejected: why */
	size_t record;			/* accepted: index into recs */
	/* For parity monitoring (monitor/monitor.h). */
	double value;			/* custom_data.value, 0 when absent */
	uint32_t fields;		/* monitor_fields_of() of the event */
};

struct batch {
	size_t n;			/* events in the request */
	struct batch_result *results;
	struct store_record *recs;	/* accepted events, durable after commit */
	size_t n_recs;
	/* Browser leg: the first epik a page URL carried that differs from
	 * the request's _epik cookie, or NULL. The answer sets the cookie. */
	const char *epik;
	bool epik_secure;		/* that page was https */
};

/* A request-level failure (the whole body is unusable). */
struct batch_error {
	int status;			/* HTTP status */
	const char *code;		/* stable, see docs/api.md */
	char message[256];
};

/*
 * Decodes body into b, allocating from a. Returns 0 (b filled; some or all
 * events may be rejected) or -1 with err filled.
 */
int batch_decode(struct arena *a, struct hasher *h,
    const struct batch_source *src, const char *body, size_t len,
    struct batch *b, struct batch_error *err);

/*
 * Renders the answer after the commit: status is the journal's status for
 * the records (0 = durable). Sets *http_status.
 */
void batch_render(const struct batch *b, bool dropin, int commit_status,
    struct buf *out, int *http_status);

/* {"error":{"code":..,"message":..}} */
void batch_render_error(const struct batch_error *err, struct buf *out);

#endif

/*
 * server.h: the HTTP front door (libmicrohttpd, epoll, internal thread
 * pool). Routes:
 *
 *   POST    /v1/events                     native and tag-style events
 *   POST    /v5/ad_accounts/{id}/events    drop-in for Pinterest's CAPI
 *   OPTIONS /v1/events                     CORS preflight (browser key)
 *   GET     /v1/health                     liveness and readiness
 *   GET     /v1/tag.js                     the browser script (ingest/tag.h)
 *   GET     /metrics                       Prometheus text (admin token)
 *   GET     /v1/status                     parity and delivery JSON (admin)
 *   GET     /v1/alerts                     open and recent alerts (admin)
 *
 * A request is answered 202 only after its events are committed to the
 * journal: the connection is suspended while the group commit runs and
 * resumed from the journal's callback.
 */
#ifndef PB_INGEST_SERVER_H
#define PB_INGEST_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct batch;
struct buf;
struct clock;
struct config;
struct journal;
struct ingest;

/* Extra surfaces the server exposes but does not own. */
struct ingest_hooks {
	/* Appends the health JSON; returns the HTTP status (200 or 503). */
	int (*health)(void *arg, struct buf *out);
	/* Appends Prometheus text exposition. */
	void (*metrics)(void *arg, struct buf *out);
	/*
	 * Called once the events of a request are durable, with the account
	 * and the request's results (ingest/batch.h): parity monitoring
	 * counts them. May be NULL.
	 */
	void (*observe)(void *arg, const char *account,
	    const struct batch *b);
	/* GET /v1/status and /v1/alerts (admin): append JSON. May be NULL. */
	void (*status)(void *arg, struct buf *out);
	void (*alerts)(void *arg, struct buf *out);
	void *arg;
};

struct ingest_stats {
	uint64_t requests;
	uint64_t events_accepted;
	uint64_t events_rejected;
	uint64_t events_duplicate;
	uint64_t responses_4xx;
	uint64_t responses_5xx;
	uint64_t active;		/* requests in progress now */
};

/*
 * Listens on cfg's address with cfg->threads threads. The config, the
 * journal and the clock are borrowed until ingest_stop(). Returns NULL and
 * a message in err on failure (port taken, ...).
 */
struct ingest *ingest_start(const struct config *cfg, struct journal *j,
    const struct clock *clock, const struct ingest_hooks *hooks,
    char *err, size_t errlen);

/* The port actually bound (useful with listen port 0). */
int ingest_port(const struct ingest *in);

/*
 * Stops accepting connections, waits up to grace_ms for requests in
 * progress to be answered, then stops the threads and frees everything.
 */
void ingest_stop(struct ingest *in, int64_t grace_ms);

void ingest_get_stats(const struct ingest *in, struct ingest_stats *out);
/* Appends the ingest counters in Prometheus text format. */
void ingest_metrics(const struct ingest *in, struct buf *out);

#endif

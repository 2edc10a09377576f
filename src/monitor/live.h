/*
 * live.h: parity monitoring inside `pinbridge serve`.
 *
 * The engine (monitor.h) is single-threaded and clock-driven, so backtest
 * and the server run the same rules. This wrapper gives it what a server
 * needs: a lock (ingest threads observe events concurrently), a thread
 * that ticks once a minute of wall time, an alert sink that logs every
 * transition, appends it to an NDJSON file (fsync'd) and posts it to an
 * optional webhook with retries, and the 8-week history saved to disk at
 * stop and every hour, loaded at start.
 */
#ifndef PB_MONITOR_LIVE_H
#define PB_MONITOR_LIVE_H

#include <stdint.h>

#include "monitor/monitor.h"

struct buf;
struct clock;
struct live_monitor;

struct live_config {
	const struct clock *clock;
	struct monitor_config engine;
	const char *state_path;		/* history file, or NULL */
	const char *alerts_path;	/* NDJSON of transitions, or NULL */
	const char *webhook_url;	/* POST each transition, or NULL */
	/* Called on the monitor thread before every tick (delivery feed). */
	void (*before_tick)(void *arg, struct monitor *m);
	void *arg;
};

struct live_monitor *live_start(const struct live_config *cfg);
/* Stops the thread, flushes pending webhooks (bounded), saves history. */
void live_stop(struct live_monitor *lm);

/* Runs fn(m, arg) under the engine's lock (observe, set rules, render). */
void live_with(struct live_monitor *lm,
    void (*fn)(struct monitor *m, void *arg), void *arg);

void live_observe(struct live_monitor *lm, const struct monitor_obs *o);

/*
 * Runs one tick now, on the calling thread (feed, rules, sink, webhooks
 * due): for tests, which cannot wait for the minute boundary.
 */
void live_tick_now(struct live_monitor *lm);
void live_metrics(struct live_monitor *lm, struct buf *out);
void live_status_json(struct live_monitor *lm, struct buf *out);
void live_alerts_json(struct live_monitor *lm, struct buf *out);

#endif

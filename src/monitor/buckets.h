/*
 * buckets.h: compact per-series time buckets (one series = one account and
 * event name).
 *
 * Two rings per series, both written at engine time:
 *   - coarse: 5-minute buckets of uint32 counters kept for 8 weeks (the
 *     baseline's history), plus hourly field/identifier completeness;
 *     allocated one day at a time, so a series costs memory for the days
 *     it has actually seen (~14 KiB a day, ~800 KiB at 8 weeks);
 *   - fine: 1-minute slots for the last 6 hours, so the rules can evaluate
 *     sliding windows to the minute.
 *
 * Counts are added at the engine's current time and times only move
 * forward; an add older than a ring's reach is dropped from that ring.
 */
#ifndef PB_MONITOR_BUCKETS_H
#define PB_MONITOR_BUCKETS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BUCKET_MS		(5 * 60 * 1000)
#define BUCKETS_PER_DAY		288
#define BUCKET_DAYS		56		/* 8 weeks */
#define BUCKET_DAY_MS		(24 * 3600 * 1000LL)
#define BUCKET_WEEK_MS		(7 * BUCKET_DAY_MS)
#define FINE_MS			(60 * 1000)
#define FINE_SLOTS		360		/* 6 hours of minutes */

enum bucket_counter {
	BC_BROWSER,		/* browser-leg events (first sighting per id) */
	BC_SERVER,		/* server-leg events (first sighting per id) */
	BC_UNION,		/* distinct event_ids (either leg) */
	BC_MATCHED,		/* event_ids that completed both legs */
	BC_SETTLED,		/* browser events whose outcome got decided */
	BC_SETTLED_MATCHED,	/* ... decided as matched */
	BC_ID_MISMATCH,		/* same order_id, different event_id per leg */
	BC_DELIVERED,		/* events Pinterest accepted */
	BC_FAILED,		/* events Pinterest rejected or that failed */
	BC_AUTH_FAILED,		/* deliveries answered 401/403 */
	BC_COUNT
};

/* Completeness bits: the dedup fields, then the other identifiers. */
enum bucket_quality {
	BQ_EVENT_ID,
	BQ_EVENT_TIME,
	BQ_EVENT_NAME,
	BQ_ACTION_SOURCE,
	BQ_EM,
	BQ_VALUE,
	BQ_CURRENCY,
	BQ_PARTNER_NAME,
	BQ_PH,
	BQ_CLICK_ID,
	BQ_IP_UA,
	BQ_EXTERNAL_ID,
	BQ_NBITS,
	BQ_EVENTS = BQ_NBITS,	/* denominator: events seen */
	BQ_COUNT
};

#define BQ_NFIELDS	8	/* BQ_EVENT_ID .. BQ_PARTNER_NAME */

/* "event_id", "em", "ip_ua", ... */
const char *bucket_quality_name(enum bucket_quality q);
/* "browser", "server", "union", ... (for dumps and debugging) */
const char *bucket_counter_name(enum bucket_counter c);

struct buckets;

/* A series whose history starts at start_ms (nothing known before). */
struct buckets *buckets_new(int64_t start_ms);
void buckets_free(struct buckets *b);

/* Adds n to counter c at time at_ms (both rings). */
void buckets_add(struct buckets *b, int64_t at_ms, enum bucket_counter c,
    uint32_t n);
/* Counts one event of leg (0 browser, 1 server) with presence bits. */
void buckets_add_quality(struct buckets *b, int64_t at_ms, int leg,
    uint32_t bits);
/* Moves the series' notion of "now" forward without counting anything. */
void buckets_touch(struct buckets *b, int64_t now_ms);

/*
 * Sum of counter c over [from_ms, to_ms) from the coarse ring, prorating
 * the buckets cut by the edges.
 */
double buckets_sum(const struct buckets *b, enum bucket_counter c,
    int64_t from_ms, int64_t to_ms);
/*
 * Sum of counter c over the whole minutes touching [from_ms, to_ms) from the
 * fine ring (6 hours deep; older minutes count as 0).
 */
uint64_t buckets_recent(const struct buckets *b, enum bucket_counter c,
    int64_t from_ms, int64_t to_ms);
/* Whether [from_ms, to_ms) lies inside recorded history. */
bool buckets_covered(const struct buckets *b, int64_t from_ms, int64_t to_ms);
/* Completeness counters of leg over the hours starting in [from, to). */
void buckets_quality_sum(const struct buckets *b, int leg, int64_t from_ms,
    int64_t to_ms, uint64_t out[BQ_COUNT]);

int64_t buckets_start_ms(const struct buckets *b);

/*
 * Persistence: writes the coarse ring (days still in reach) to f, or
 * replaces b's coarse ring with one read from f. Returns 0, or -1 on an
 * I/O error or a malformed dump (b is then unchanged).
 */
int buckets_dump(const struct buckets *b, FILE *f);
int buckets_load(struct buckets *b, FILE *f);

#endif

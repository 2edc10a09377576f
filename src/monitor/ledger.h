/*
 * ledger.h: the parity ledger, keyed by (account, event_id).
 *
 * Each entry remembers which legs were seen and when, the series (account
 * and event name), order_id, value and field presence per leg. A second
 * index by (series, order_id) finds the same order carried under another
 * event_id: the id mismatch that a broken shared id produces.
 *
 * A browser leg is "settled" once its fate is known: matched when the
 * server leg carries the same event_id, unmatched when the grace period
 * passes without it, or at once when the server leg carried the same order
 * under a different event_id. The match rate is computed over settled
 * browser events only, so server lag never counts against it.
 *
 * Memory is bounded: entries are dropped `retention_ms` after they were
 * created (grace plus a margin), and the ledger refuses new entries beyond
 * `max_entries`. Times passed in must not go backwards. Not thread-safe.
 */
#ifndef PB_MONITOR_LEDGER_H
#define PB_MONITOR_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ledger_leg {
	LEDGER_BROWSER = 1,
	LEDGER_SERVER = 2,
};

/* One sighting of one leg of an event. Strings are borrowed. */
struct ledger_obs {
	uint32_t account;		/* caller's account index */
	uint32_t series;		/* caller's (account, event_name) index */
	const char *event_id;		/* required */
	const char *order_id;		/* or NULL */
	enum ledger_leg leg;
	double value;			/* custom.value, 0 when absent */
	uint32_t fields;		/* presence bits (enum bucket_quality) */
	int64_t at_ms;			/* engine time of the sighting */
};

/* What one sighting changed. Pointers stay valid until the next call. */
struct ledger_result {
	bool new_entry;		/* first sighting of the event_id: union + 1 */
	bool new_leg;		/* first sighting of this leg (else duplicate) */
	bool matched;		/* this sighting completed both legs */
	int settled;		/* browser legs settled now: matched (1) ... */
	bool settled_matched;	/* ... and whether as matched */
	uint32_t series;	/* series of the entry (the first leg's) */
	bool mismatch;		/* the order is on the other leg, other id */
	const char *browser_id;	/* on mismatch: the two ids and the order */
	const char *server_id;
	const char *order_id;
	bool dropped;		/* ledger full: nothing recorded */
};

struct ledger_stats {
	size_t entries;
	size_t pending;		/* browser legs waiting for the server leg */
	uint64_t dropped;	/* sightings refused because the ledger is full */
};

/* Called for each browser leg settled by time (grace expired, unmatched). */
typedef void (*ledger_settle_fn)(void *ctx, uint32_t series);

struct ledger;

/*
 * grace_ms: wait for the server leg; retention_ms >= grace_ms;
 * max_entries: 0 for the default (2M), at least 1024.
 */
struct ledger *ledger_new(int64_t grace_ms, int64_t retention_ms,
    size_t max_entries);
void ledger_free(struct ledger *l);

/* Records a sighting. Always fills *r. */
void ledger_observe(struct ledger *l, const struct ledger_obs *o,
    struct ledger_result *r);

/*
 * Settles browser legs whose grace ended by now_ms (calling cb for each),
 * then forgets entries older than the retention.
 */
void ledger_advance(struct ledger *l, int64_t now_ms, ledger_settle_fn cb,
    void *ctx);

void ledger_get_stats(const struct ledger *l, struct ledger_stats *st);

#endif

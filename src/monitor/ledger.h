/*
 * ledger.h: the parity ledger, keyed by (account, event_id).
 *
 * Each entry remembers which legs were seen, when the event_id was first
 * seen, its series (account and event name) and a hash of its order_id. A
 * second index by (series, order_id) finds the same order carried under
 * another event_id: the id mismatch that a broken shared id produces.
 *
 * A browser leg is "settled" once its fate is known: matched when the
 * server leg carries the same event_id, unmatched when the grace period
 * passes without it, or at once when the server leg carried the same order
 * under a different event_id. The match rate is computed over settled
 * browser events only, so server lag never counts against it.
 *
 * No strings are kept per entry: keys are hashed (see ledger.c for what a
 * collision would do), and the event_ids an id-mismatch example needs come
 * from a small fixed cache of recent ids, so an example may be missing
 * (the mismatch is still counted) when the pair's first leg was long ago
 * in a busy ledger.
 *
 * Memory is bounded: entries are dropped `retention_ms` after they were
 * created (grace plus a margin), and at most `max_entries` entries or
 * `max_bytes` bytes are held. At either cap the oldest entry is evicted
 * before its time; a browser leg still waiting for its server leg is then
 * settled early as unmatched (through the evict callback) and counted in
 * evicted_pending. Times passed in must not go backwards. Not thread-safe.
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
	double value;			/* unused: the buckets count values */
	uint32_t fields;		/* unused: the buckets count fields */
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
	/*
	 * On mismatch: the two ids and the order. The id of the leg seen
	 * earlier comes from the recent-id cache and is NULL when it has
	 * been overwritten since (the mismatch still counts).
	 */
	const char *browser_id;
	const char *server_id;
	const char *order_id;
	bool dropped;		/* not recorded (series out of range) */
};

struct ledger_stats {
	size_t entries;
	size_t pending;		/* browser legs waiting for the server leg */
	uint64_t dropped;	/* sightings refused (see ledger_result) */
	uint64_t evicted;	/* entries dropped early at the cap */
	uint64_t evicted_pending; /* ... of them browser legs settled early */
	size_t bytes;		/* heap held, as ledger_bytes() */
	size_t capacity;	/* entries the caps allow */
};

/* Series numbers must stay below this (the rest are dropped). */
#define LEDGER_SERIES_MAX	(1u << 27)
/* Longest event_id kept for id-mismatch examples, with its NUL. */
#define LEDGER_ID_MAX		128
/*
 * Default memory cap: 393,216 entries, the retention (15 minutes) of 1.5M
 * events an hour, in a quarter of the gateway's 64 MiB budget.
 */
#define LEDGER_DEFAULT_MAX_BYTES	((size_t)16 << 20)

/* Called for each browser leg settled by time (grace expired, unmatched). */
typedef void (*ledger_settle_fn)(void *ctx, uint32_t series);

struct ledger;

/*
 * grace_ms: wait for the server leg; retention_ms >= grace_ms (at most
 * 12 days); max_entries: 0 for the default (2M), at least 1024. The memory
 * cap starts at LEDGER_DEFAULT_MAX_BYTES.
 */
struct ledger *ledger_new(int64_t grace_ms, int64_t retention_ms,
    size_t max_entries);
void ledger_free(struct ledger *l);

/*
 * Caps the heap the ledger holds, tables and caches included: 0 for the
 * default, at least what 1024 entries need (about 1.6 MiB). Lowered below
 * what is held, the oldest entries are evicted down to the new capacity on
 * the next observation; the tables shrink as entries expire.
 */
void ledger_set_max_bytes(struct ledger *l, size_t max_bytes);

/* Called for each browser leg settled early (unmatched) by eviction. */
void ledger_set_evict_cb(struct ledger *l, ledger_settle_fn cb, void *ctx);

/* Heap bytes held by the ledger now. */
size_t ledger_bytes(const struct ledger *l);

/*
 * Test seam: replaces the key hash (ns is the account for event_ids, the
 * series for order_ids) so tests can force collisions. NULL restores it.
 * Only on an empty ledger.
 */
typedef uint64_t (*ledger_hash_fn)(uint32_t ns, const char *s);
void ledger_set_hash(struct ledger *l, ledger_hash_fn fn);

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

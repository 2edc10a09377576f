/*
 * chunk.h: the byte format of a batch of events, as the SQLite backend
 * keeps appended events (one `chunks` row per account and commit rather
 * than one row per event; docs/internals/store.md).
 *
 * A batch blob is [u32 n][u32 end[n]][record...], each record a fixed
 * header then event_id, event_name, order_id and payload, back to back.
 * Integers are in host byte order: the file is not portable across byte
 * orders. Readers check every length against the blob, so a damaged blob
 * is an error, never an overread.
 */
#ifndef PB_STORE_CHUNK_H
#define PB_STORE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* At most this many events in a batch: one Pinterest request. */
#define CHUNK_MAX_SLOTS		1000
/* A slot handle is (batch id << CHUNK_SLOT_BITS) | slot. */
#define CHUNK_SLOT_BITS		10

/* What a slot of a batch says about its event (the `marks` blob). */
enum chunk_mark {
	CHUNK_LIVE = 0,		/* pending in this batch */
	CHUNK_DONE = 1,		/* delivered */
	CHUNK_MOVED = 2,	/* superseded, rescheduled or dead: the event
				 * lives on elsewhere (another slot or row) */
};

/* One event of a batch; strings point into the blob, not terminated. */
struct chunk_rec {
	const char *event_id;
	size_t id_len;
	const char *event_name;
	size_t name_len;
	const char *order_id;		/* NULL when none */
	size_t order_len;
	const char *payload;
	size_t payload_len;
	int64_t event_time;		/* Unix seconds */
	int64_t received_at_ms;
	int attempts;
	unsigned legs;
};

/* A batch being written by one transaction. */
struct chunk_builder {
	struct buf recs;		/* records, back to back */
	struct buf ends;		/* u32 end offset of each record */
	struct buf keys;		/* u64 idempotency key of each record */
	struct buf marks;		/* u8 enum chunk_mark of each record */
	size_t n;
	int64_t id;			/* the `chunks` row */
	int64_t account_id;
	int64_t due_ms;			/* the latest due time of its records */
	int64_t min_event_time;
};

static inline int64_t
chunk_slot_handle(int64_t id, size_t slot)
{
	return id << CHUNK_SLOT_BITS | (int64_t)slot;
}

static inline int64_t
chunk_id_of(int64_t handle)
{
	return handle >> CHUNK_SLOT_BITS;
}

static inline size_t
chunk_slot_of(int64_t handle)
{
	return (size_t)(handle & ((1 << CHUNK_SLOT_BITS) - 1));
}

void chunk_builder_init(struct chunk_builder *b);
void chunk_builder_release(struct chunk_builder *b);
/* Empties b for a new batch (memory kept). */
void chunk_builder_reset(struct chunk_builder *b, int64_t id,
			 int64_t account_id);

/* Appends r with its key and due time; returns its slot. */
size_t chunk_builder_add(struct chunk_builder *b, const struct chunk_rec *r,
			 uint64_t key, int64_t due_ms);

/* The batch blob of b, written to out (replacing its contents). */
void chunk_builder_blob(const struct chunk_builder *b, struct buf *out);

/* Record `slot` of a builder, before it is written. */
int chunk_builder_get(const struct chunk_builder *b, size_t slot,
		      struct chunk_rec *r);

/* The number of records in a batch blob, or -1 when it is damaged. */
long chunk_count(const void *blob, size_t len);

/*
 * The bytes before the records in a blob of len bytes that says it holds
 * n, or 0 when it cannot (for readers that fetch the blob piecewise).
 */
size_t chunk_head_len(uint32_t n, size_t len);

/*
 * The extent [*start, *end) within the records of a record whose end
 * offset is `end` and whose predecessor's is `start` (0 for slot 0);
 * -1 when it does not fit in recs_len bytes.
 */
int chunk_extent(uint32_t start, uint32_t end, size_t recs_len,
		 size_t *s, size_t *e);

/* Decodes one record of len bytes; -1 when damaged. */
int chunk_decode(const void *rec, size_t len, struct chunk_rec *r);

/* Decodes record `slot` of a batch blob; -1 when out of range or damaged. */
int chunk_get(const void *blob, size_t len, size_t slot, struct chunk_rec *r);

#endif

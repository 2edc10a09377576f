/*
 * slotindex.h: the writer's in-memory map from an idempotency key to the
 * batch slots (store/chunk.h) that may hold it.
 *
 * A multimap of candidates: an entry keeps 32 bits of the key (its tag),
 * so slots of several keys may come back for one key, and the caller
 * checks each candidate against the stored (account, event_id). It is a
 * cache of what is on disk (every batch carries its keys), rebuilt when a
 * writer opens, so it may hold stale entries (a slot moved or pruned by
 * another connection); callers treat a slot that no longer matches as
 * absent. Not thread-safe: one writer owns it.
 *
 * Memory is what bounds it (a million waiting events must fit in the
 * gateway's 64 MiB), so an entry is 8 bytes: the tag and a 32-bit
 * reference made of a local batch number and the slot. Local numbers are
 * handed out in increasing batch id order; a table maps them back to
 * batch ids (8 bytes and a 4-byte count per batch) and is renumbered
 * densely when dead numbers pile up. The entry table is open addressing
 * with linear probing and backward-shift deletion, grown by 1.5x or 2x
 * at 3/4 load.
 */
#ifndef PB_STORE_SLOTINDEX_H
#define PB_STORE_SLOTINDEX_H

#include <stddef.h>
#include <stdint.h>

struct slotindex {
	struct slot_entry {
		uint32_t tag;
		uint32_t ref;		/* local << 10 | slot; 0: empty */
	} *v;
	size_t cap;			/* 0, or 2^k or 3 * 2^(k-1) */
	size_t n;
	/* Local batch numbers 1..nlocal-1 (0 is never used). */
	int64_t *batch;			/* local -> batch id, ascending */
	uint32_t *refs;			/* local -> entries that use it */
	uint32_t nlocal, local_cap, live_locals;
};

void slotindex_init(struct slotindex *ix);
void slotindex_release(struct slotindex *ix);

/* Adds (key, slot); slot is a chunk slot handle > 0. */
void slotindex_add(struct slotindex *ix, uint64_t key, int64_t slot);

/* Removes (key, slot) if present. */
void slotindex_remove(struct slotindex *ix, uint64_t key, int64_t slot);

/*
 * Iterates the candidate slots of key (every slot whose key has the same
 * tag): start with *pos = 0; each call returns the next slot, or 0 when
 * there are no more. The index must not change during an iteration.
 */
int64_t slotindex_next(const struct slotindex *ix, uint64_t key, size_t *pos);

/* The 32 bits of key an entry keeps: keys with equal tags share entries. */
static inline uint32_t
slotindex_tag(uint64_t key)
{
	/* Keys are hashes already; the multiply spreads low-entropy test keys. */
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32);
}

#endif

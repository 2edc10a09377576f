/*
 * slotindex.h: the writer's in-memory map from an idempotency key to the
 * batch slots (store/chunk.h) that may hold it.
 *
 * A multimap: keys are 64-bit hashes, so several slots may share one and
 * the caller checks each candidate against the stored (account,
 * event_id). It is a cache of what is on disk (every batch carries its
 * keys), rebuilt when a writer opens, so it may hold stale entries (a
 * slot moved or pruned by another connection); callers treat a slot that
 * no longer matches as absent. Not thread-safe: one writer owns it.
 *
 * Open addressing with linear probing and backward-shift deletion: 16
 * bytes an entry, no tombstones, grown at 3/4 load.
 */
#ifndef PB_STORE_SLOTINDEX_H
#define PB_STORE_SLOTINDEX_H

#include <stddef.h>
#include <stdint.h>

struct slotindex {
	struct slot_entry {
		uint64_t key;
		int64_t slot;		/* > 0; 0 marks an empty entry */
	} *v;
	size_t cap;			/* a power of two, or 0 */
	size_t n;
};

void slotindex_init(struct slotindex *ix);
void slotindex_release(struct slotindex *ix);

/* Adds (key, slot); slot must be > 0. */
void slotindex_add(struct slotindex *ix, uint64_t key, int64_t slot);

/* Removes (key, slot) if present. */
void slotindex_remove(struct slotindex *ix, uint64_t key, int64_t slot);

/*
 * Iterates the slots of key: start with *pos = 0; each call returns the
 * next slot, or 0 when there are no more. The index must not change
 * during an iteration.
 */
int64_t slotindex_next(const struct slotindex *ix, uint64_t key, size_t *pos);

#endif

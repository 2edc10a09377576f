/*
 * slotindex.c: see slotindex.h.
 */
#include "store/slotindex.h"

#include <stdlib.h>
#include <string.h>

#include "store/chunk.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MIN_CAP		1024
#define SLOT_MASK	((1u << CHUNK_SLOT_BITS) - 1)
/* Local numbers must fit in a reference beside the slot. */
#define LOCAL_LIMIT	(1u << (32 - CHUNK_SLOT_BITS))
#define MIN_LOCALS	64u

void
slotindex_init(struct slotindex *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void
slotindex_release(struct slotindex *ix)
{
	free(ix->v);
	free(ix->batch);
	free(ix->refs);
	slotindex_init(ix);
}

/* Maps the tag onto [0, cap) without a division (cap need not be 2^k). */
static size_t
home(size_t cap, uint32_t tag)
{
	return (size_t)(((uint64_t)tag * cap) >> 32);
}

static size_t
next_pos(size_t cap, size_t i)
{
	return i + 1 == cap ? 0 : i + 1;
}

/* How far i lies past h, going round the table. */
static size_t
dist(size_t cap, size_t h, size_t i)
{
	return i >= h ? i - h : i + cap - h;
}

/* ---- local batch numbers --------------------------------------------- */

/* The local number of batch id, or 0. Ids ascend with local numbers. */
static uint32_t
local_find(const struct slotindex *ix, int64_t id)
{
	uint32_t lo = 1, hi = ix->nlocal;

	if (hi > 1 && ix->batch[hi - 1] == id)
		return hi - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->batch[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->nlocal && ix->batch[lo] == id ? lo : 0;
}

static void
locals_alloc(struct slotindex *ix, uint32_t cap)
{
	ix->batch = xcalloc(cap, sizeof(*ix->batch));
	ix->refs = xcalloc(cap, sizeof(*ix->refs));
	ix->local_cap = cap;
	ix->nlocal = 1;
}

/*
 * Renumbers the batches still in use densely, in id order, with *extra
 * (a batch id not yet numbered; NULL: none) among them, and rewrites every
 * entry. Returns extra's new number. Runs when dead numbers pile up or an
 * id arrives out of order: O(table), like a grow.
 */
static uint32_t
renumber(struct slotindex *ix, const int64_t *extra)
{
	int64_t *old_batch = ix->batch;
	uint32_t *old_refs = ix->refs, old_n = ix->nlocal, got = 0;
	uint32_t *map = xcalloc(old_n ? old_n : 1, sizeof(*map));
	uint32_t want = 2 * (ix->live_locals + 2);

	locals_alloc(ix, want < MIN_LOCALS ? MIN_LOCALS : want);
	for (uint32_t l = 1; l < old_n; l++) {
		if (!old_refs[l])
			continue;
		if (extra && !got && *extra < old_batch[l]) {
			got = ix->nlocal;
			ix->batch[ix->nlocal++] = *extra;
		}
		map[l] = ix->nlocal;
		ix->batch[ix->nlocal] = old_batch[l];
		ix->refs[ix->nlocal++] = old_refs[l];
	}
	if (extra && !got) {
		got = ix->nlocal;
		ix->batch[ix->nlocal++] = *extra;
	}
	for (size_t i = 0; i < ix->cap; i++) {
		uint32_t r = ix->v[i].ref;

		if (r)
			ix->v[i].ref = map[r >> CHUNK_SLOT_BITS] <<
			    CHUNK_SLOT_BITS | (r & SLOT_MASK);
	}
	free(map);
	free(old_batch);
	free(old_refs);
	return got;
}

/* A new number for batch id, which sorts after every numbered batch. */
static uint32_t
local_append(struct slotindex *ix, int64_t id)
{
	if (ix->nlocal == ix->local_cap || ix->nlocal == LOCAL_LIMIT) {
		/* Reclaim dead numbers before growing. */
		if (ix->live_locals < ix->nlocal / 2 || ix->nlocal == LOCAL_LIMIT)
			return renumber(ix, &id);
		ix->local_cap = ix->local_cap * 2 < LOCAL_LIMIT ?
		    ix->local_cap * 2 : LOCAL_LIMIT;
		ix->batch = xrealloc(ix->batch,
		    ix->local_cap * sizeof(*ix->batch));
		ix->refs = xrealloc(ix->refs, ix->local_cap * sizeof(*ix->refs));
	}
	ix->batch[ix->nlocal] = id;
	ix->refs[ix->nlocal] = 0;
	return ix->nlocal++;
}

/* The number of batch id, given one if it has none; 0 when full. */
static uint32_t
local_for(struct slotindex *ix, int64_t id)
{
	uint32_t l;

	if (!ix->batch)
		locals_alloc(ix, MIN_LOCALS);
	if ((l = local_find(ix, id)) != 0)
		return l;
	if (ix->nlocal == 1 || id > ix->batch[ix->nlocal - 1])
		l = local_append(ix, id);
	else
		l = renumber(ix, &id);
	return l < LOCAL_LIMIT ? l : 0;
}

static void
local_use(struct slotindex *ix, uint32_t l, int delta)
{
	if (delta > 0 && ix->refs[l]++ == 0)
		ix->live_locals++;
	else if (delta < 0 && --ix->refs[l] == 0)
		ix->live_locals--;
}

/* ---- the entry table --------------------------------------------------- */

static void
put(struct slotindex *ix, uint32_t tag, uint32_t ref)
{
	size_t i = home(ix->cap, tag);

	while (ix->v[i].ref)
		i = next_pos(ix->cap, i);
	ix->v[i].tag = tag;
	ix->v[i].ref = ref;
	ix->n++;
}

/* 1024, 1536, 2048, 3072, ...: at most 1.5x, so a large table never doubles. */
static size_t
next_cap(size_t cap)
{
	if (!cap)
		return MIN_CAP;
	return (cap & (cap - 1)) ? cap / 3 * 4 : cap / 2 * 3;
}

static void
grow(struct slotindex *ix)
{
	struct slot_entry *old = ix->v;
	size_t old_cap = ix->cap;

	ix->cap = next_cap(old_cap);
	ix->v = xcalloc(ix->cap, sizeof(*ix->v));
	ix->n = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].ref)
			put(ix, old[i].tag, old[i].ref);
	free(old);
}

void
slotindex_add(struct slotindex *ix, uint64_t key, int64_t slot)
{
	static int warned;
	uint32_t l = local_for(ix, chunk_id_of(slot));

	if (!l) {
		/* A cache entry missing: only a duplicate goes unnoticed. */
		if (!warned++)
			log_warn("store: more than %u batches waiting; the "
			    "duplicate check skips newer ones", LOCAL_LIMIT - 1);
		return;
	}
	if (4 * (ix->n + 1) > 3 * ix->cap)
		grow(ix);
	put(ix, slotindex_tag(key),
	    l << CHUNK_SLOT_BITS | (uint32_t)chunk_slot_of(slot));
	local_use(ix, l, +1);
}

void
slotindex_remove(struct slotindex *ix, uint64_t key, int64_t slot)
{
	uint32_t tag = slotindex_tag(key), l, ref;
	size_t i, j;

	if (!ix->cap || !(l = local_find(ix, chunk_id_of(slot))))
		return;
	ref = l << CHUNK_SLOT_BITS | (uint32_t)chunk_slot_of(slot);
	for (i = home(ix->cap, tag); ix->v[i].ref; i = next_pos(ix->cap, i))
		if (ix->v[i].ref == ref && ix->v[i].tag == tag)
			break;
	if (!ix->v[i].ref)
		return;
	/*
	 * Backward shift: pull later entries of the run into the hole when
	 * their home does not lie cyclically within (hole, entry].
	 */
	for (j = next_pos(ix->cap, i); ix->v[j].ref; j = next_pos(ix->cap, j)) {
		size_t h = home(ix->cap, ix->v[j].tag);

		if (dist(ix->cap, h, j) >= dist(ix->cap, i, j)) {
			ix->v[i] = ix->v[j];
			i = j;
		}
	}
	ix->v[i].ref = 0;
	ix->n--;
	local_use(ix, l, -1);
}

int64_t
slotindex_next(const struct slotindex *ix, uint64_t key, size_t *pos)
{
	uint32_t tag = slotindex_tag(key);
	size_t i;

	if (!ix->cap)
		return 0;
	/* *pos counts probes from home, so 0 means "from the start". */
	for (i = (home(ix->cap, tag) + *pos) % ix->cap; ix->v[i].ref;
	    i = next_pos(ix->cap, i)) {
		uint32_t r = ix->v[i].ref;

		if (++*pos > ix->cap)
			break;
		if (ix->v[i].tag == tag)
			return chunk_slot_handle(ix->batch[r >> CHUNK_SLOT_BITS],
			    r & SLOT_MASK);
	}
	return 0;
}

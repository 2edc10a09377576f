/*
 * slotindex.c: see slotindex.h.
 */
#include "store/slotindex.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define MIN_CAP	1024

/* Keys are hashes already; this only spreads low-entropy test keys. */
static size_t
home(const struct slotindex *ix, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (ix->cap - 1);
}

void
slotindex_init(struct slotindex *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void
slotindex_release(struct slotindex *ix)
{
	free(ix->v);
	slotindex_init(ix);
}

static void
put(struct slotindex *ix, uint64_t key, int64_t slot)
{
	size_t i = home(ix, key);

	while (ix->v[i].slot)
		i = (i + 1) & (ix->cap - 1);
	ix->v[i].key = key;
	ix->v[i].slot = slot;
	ix->n++;
}

static void
grow(struct slotindex *ix)
{
	struct slot_entry *old = ix->v;
	size_t old_cap = ix->cap;

	ix->cap = old_cap ? 2 * old_cap : MIN_CAP;
	ix->v = xcalloc(ix->cap, sizeof(*ix->v));
	ix->n = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].slot)
			put(ix, old[i].key, old[i].slot);
	free(old);
}

void
slotindex_add(struct slotindex *ix, uint64_t key, int64_t slot)
{
	if (4 * (ix->n + 1) > 3 * ix->cap)
		grow(ix);
	put(ix, key, slot);
}

void
slotindex_remove(struct slotindex *ix, uint64_t key, int64_t slot)
{
	size_t mask = ix->cap - 1, i, j;

	if (!ix->cap)
		return;
	for (i = home(ix, key); ix->v[i].slot; i = (i + 1) & mask)
		if (ix->v[i].key == key && ix->v[i].slot == slot)
			break;
	if (!ix->v[i].slot)
		return;
	/*
	 * Backward shift: pull later entries of the run into the hole when
	 * their home does not lie cyclically within (hole, entry].
	 */
	for (j = (i + 1) & mask; ix->v[j].slot; j = (j + 1) & mask) {
		size_t h = home(ix, ix->v[j].key);

		if (((j - h) & mask) >= ((j - i) & mask)) {
			ix->v[i] = ix->v[j];
			i = j;
		}
	}
	ix->v[i].slot = 0;
	ix->n--;
}

int64_t
slotindex_next(const struct slotindex *ix, uint64_t key, size_t *pos)
{
	size_t mask = ix->cap - 1, i;

	if (!ix->cap)
		return 0;
	/* *pos counts probes from home, so 0 means "from the start". */
	for (i = (home(ix, key) + *pos) & mask; ix->v[i].slot;
	    i = (i + 1) & mask) {
		++*pos;
		if (ix->v[i].key == key)
			return ix->v[i].slot;
		if (*pos > ix->cap)
			break;
	}
	return 0;
}

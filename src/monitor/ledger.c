/*
 * ledger.c: the parity ledger. Entries live in a slab with stable indices;
 * two open-addressing tables (linear probing, backward-shift deletion)
 * index them by (account, event_id) and (series, order_id); a FIFO in
 * creation order drives grace settlement and expiry without scanning.
 */
#include "monitor/ledger.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define NIL		UINT32_MAX
#define MIN_CAP		1024u
#define LEDGER_DEFAULT_MAX	(2u * 1024 * 1024)

enum bstate {
	B_NONE,		/* no browser leg yet */
	B_PENDING,	/* browser leg waiting for the server leg */
	B_SETTLED,	/* outcome counted */
};

struct entry {
	uint64_t id_hash;
	uint64_t order_hash;
	char *event_id;			/* owned */
	char *order_id;			/* owned, or NULL */
	int64_t created_ms;
	int64_t leg_ms[2];		/* first sighting per leg, 0 = never */
	double value;
	uint32_t account;
	uint32_t series;
	uint32_t fields[2];		/* presence bits per leg */
	uint32_t next_free;		/* free list link when !live */
	uint8_t legs;			/* LEDGER_BROWSER | LEDGER_SERVER */
	uint8_t bstate;
	bool live;
};

struct ledger {
	struct entry *e;
	uint32_t ecap;
	uint32_t nlive;
	uint32_t free_head;
	uint32_t *idt;			/* (account, event_id) -> slab index */
	uint32_t *ordt;			/* (series, order_id) -> slab index */
	size_t mask;			/* table size - 1 */
	uint32_t *fifo;			/* slab indices, creation order */
	uint64_t head, graced, tail;	/* fifo positions (mod ecap) */
	int64_t grace_ms;
	int64_t retention_ms;
	size_t max_entries;
	size_t pending;
	uint64_t dropped;
};

static uint64_t
hash_key(uint32_t ns, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)ns * 0x9e3779b97f4a7c15ull);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

struct ledger *
ledger_new(int64_t grace_ms, int64_t retention_ms, size_t max_entries)
{
	struct ledger *l = xcalloc(1, sizeof(*l));

	l->grace_ms = grace_ms;
	l->retention_ms = retention_ms > grace_ms ? retention_ms : grace_ms;
	if (max_entries == 0)
		max_entries = LEDGER_DEFAULT_MAX;
	l->max_entries = max_entries < MIN_CAP ? MIN_CAP : max_entries;
	if (l->max_entries > NIL / 4)
		l->max_entries = NIL / 4;
	l->free_head = NIL;
	return l;
}

void
ledger_free(struct ledger *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < l->ecap; i++)
		if (l->e[i].live) {
			free(l->e[i].event_id);
			free(l->e[i].order_id);
		}
	free(l->e);
	free(l->idt);
	free(l->ordt);
	free(l->fifo);
	free(l);
}

static uint64_t
entry_hash(const struct entry *e, bool order)
{
	return order ? e->order_hash : e->id_hash;
}

static void
table_insert(struct ledger *l, uint32_t *t, uint64_t h, uint32_t idx)
{
	size_t i = (size_t)h & l->mask;

	while (t[i] != NIL)
		i = (i + 1) & l->mask;
	t[i] = idx;
}

/* Removes slot `pos` of table t, shifting later probes back. */
static void
table_delete(struct ledger *l, uint32_t *t, bool order, size_t pos)
{
	size_t i = pos, j = pos, k;

	for (;;) {
		j = (j + 1) & l->mask;
		if (t[j] == NIL)
			break;
		k = (size_t)entry_hash(&l->e[t[j]], order) & l->mask;
		/* Leave t[j] where it is when its home lies in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t[i] = t[j];
		i = j;
	}
	t[i] = NIL;
}

static size_t
table_find_idx(const struct ledger *l, const uint32_t *t, uint64_t h,
    uint32_t idx)
{
	size_t i = (size_t)h & l->mask;

	while (t[i] != NIL && t[i] != idx)
		i = (i + 1) & l->mask;
	return i;
}

static uint32_t
find_id(const struct ledger *l, uint32_t account, const char *id, uint64_t h)
{
	size_t i;

	if (!l->idt)
		return NIL;
	for (i = (size_t)h & l->mask; l->idt[i] != NIL; i = (i + 1) & l->mask) {
		const struct entry *e = &l->e[l->idt[i]];

		if (e->id_hash == h && e->account == account &&
		    !strcmp(e->event_id, id))
			return l->idt[i];
	}
	return NIL;
}

static uint32_t
find_order(const struct ledger *l, uint32_t series, const char *order,
    uint64_t h)
{
	size_t i;

	if (!l->ordt)
		return NIL;
	for (i = (size_t)h & l->mask; l->ordt[i] != NIL;
	    i = (i + 1) & l->mask) {
		const struct entry *e = &l->e[l->ordt[i]];

		if (e->order_hash == h && e->series == series &&
		    !strcmp(e->order_id, order))
			return l->ordt[i];
	}
	return NIL;
}

/* Doubles the slab (up to max_entries) and rebuilds tables and fifo. */
static int
grow(struct ledger *l)
{
	uint32_t ncap, *fifo;
	size_t tsize = 1;
	uint64_t n = l->tail - l->head;

	if (l->ecap >= l->max_entries)
		return -1;
	ncap = l->ecap ? l->ecap * 2 : MIN_CAP;
	if (ncap > l->max_entries)
		ncap = (uint32_t)l->max_entries;
	l->e = xrealloc(l->e, (size_t)ncap * sizeof(*l->e));
	for (uint32_t i = ncap; i-- > l->ecap;) {
		memset(&l->e[i], 0, sizeof(l->e[i]));
		l->e[i].next_free = l->free_head;
		l->free_head = i;
	}
	fifo = xmalloc((size_t)ncap * sizeof(*fifo));
	for (uint64_t p = 0; p < n; p++)
		fifo[p] = l->fifo[(l->head + p) % l->ecap];
	free(l->fifo);
	l->fifo = fifo;
	l->graced -= l->head;
	l->tail = n;
	l->head = 0;
	l->ecap = ncap;

	while (tsize < (size_t)ncap * 2)
		tsize <<= 1;
	free(l->idt);
	free(l->ordt);
	l->idt = xmalloc(tsize * sizeof(*l->idt));
	l->ordt = xmalloc(tsize * sizeof(*l->ordt));
	memset(l->idt, 0xff, tsize * sizeof(*l->idt));
	memset(l->ordt, 0xff, tsize * sizeof(*l->ordt));
	l->mask = tsize - 1;
	for (uint32_t i = 0; i < l->ecap; i++) {
		const struct entry *e = &l->e[i];

		if (!e->live)
			continue;
		table_insert(l, l->idt, e->id_hash, i);
		if (e->order_id &&
		    find_order(l, e->series, e->order_id, e->order_hash) == NIL)
			table_insert(l, l->ordt, e->order_hash, i);
	}
	return 0;
}

static uint32_t
entry_new(struct ledger *l, const struct ledger_obs *o, uint64_t h)
{
	struct entry *e;
	uint32_t idx;

	if (l->free_head == NIL && grow(l) < 0)
		return NIL;
	idx = l->free_head;
	e = &l->e[idx];
	l->free_head = e->next_free;
	memset(e, 0, sizeof(*e));
	e->live = true;
	e->id_hash = h;
	e->event_id = xstrdup(o->event_id);
	if (o->order_id && *o->order_id) {
		e->order_id = xstrdup(o->order_id);
		e->order_hash = hash_key(o->series, o->order_id);
	}
	e->created_ms = o->at_ms;
	e->account = o->account;
	e->series = o->series;
	table_insert(l, l->idt, h, idx);
	if (e->order_id &&
	    find_order(l, e->series, e->order_id, e->order_hash) == NIL)
		table_insert(l, l->ordt, e->order_hash, idx);
	l->fifo[l->tail++ % l->ecap] = idx;
	l->nlive++;
	return idx;
}

static void
entry_remove(struct ledger *l, uint32_t idx)
{
	struct entry *e = &l->e[idx];
	size_t pos;

	pos = table_find_idx(l, l->idt, e->id_hash, idx);
	if (l->idt[pos] == idx)
		table_delete(l, l->idt, false, pos);
	if (e->order_id) {
		pos = table_find_idx(l, l->ordt, e->order_hash, idx);
		if (l->ordt[pos] == idx)
			table_delete(l, l->ordt, true, pos);
	}
	if (e->bstate == B_PENDING)
		l->pending--;
	free(e->event_id);
	free(e->order_id);
	memset(e, 0, sizeof(*e));
	e->next_free = l->free_head;
	l->free_head = idx;
	l->nlive--;
}

void
ledger_observe(struct ledger *l, const struct ledger_obs *o,
    struct ledger_result *r)
{
	uint64_t h = hash_key(o->account, o->event_id);
	int li = o->leg == LEDGER_SERVER ? 1 : 0;
	uint8_t other_leg = o->leg == LEDGER_SERVER ? LEDGER_BROWSER :
	    LEDGER_SERVER;
	uint32_t idx, oidx = NIL;
	struct entry *e, *oe;

	memset(r, 0, sizeof(*r));
	r->series = o->series;
	if ((idx = find_id(l, o->account, o->event_id, h)) == NIL) {
		if ((idx = entry_new(l, o, h)) == NIL) {
			r->dropped = true;
			l->dropped++;
			return;
		}
		r->new_entry = true;
	}
	e = &l->e[idx];
	r->series = e->series;
	if (e->legs & o->leg)
		return;			/* a duplicate of a leg already seen */
	r->new_leg = true;
	e->legs |= (uint8_t)o->leg;
	e->leg_ms[li] = o->at_ms;
	e->fields[li] = o->fields;
	if (e->value == 0)
		e->value = o->value;

	if (e->legs == (LEDGER_BROWSER | LEDGER_SERVER)) {
		r->matched = true;
		if (e->bstate != B_SETTLED) {
			if (e->bstate == B_PENDING)
				l->pending--;
			e->bstate = B_SETTLED;
			r->settled = 1;
			r->settled_matched = true;
		}
		return;
	}
	if (o->leg == LEDGER_BROWSER) {
		e->bstate = B_PENDING;
		l->pending++;
	}

	/* The same order under another event_id on the other leg only. */
	if (o->order_id && *o->order_id)
		oidx = find_order(l, e->series, o->order_id,
		    hash_key(e->series, o->order_id));
	if (oidx == NIL || oidx == idx)
		return;
	oe = &l->e[oidx];
	if (oe->legs != other_leg)
		return;
	r->mismatch = true;
	r->order_id = oe->order_id;
	r->browser_id = o->leg == LEDGER_BROWSER ? e->event_id : oe->event_id;
	r->server_id = o->leg == LEDGER_SERVER ? e->event_id : oe->event_id;
	/* The browser leg of the pair will not match: settle it now. */
	{
		struct entry *be = o->leg == LEDGER_BROWSER ? e : oe;

		if (be->bstate == B_PENDING) {
			be->bstate = B_SETTLED;
			l->pending--;
			r->settled = 1;
			r->settled_matched = false;
		}
	}
}

void
ledger_advance(struct ledger *l, int64_t now_ms, ledger_settle_fn cb,
    void *ctx)
{
	while (l->graced < l->tail) {
		struct entry *e = &l->e[l->fifo[l->graced % l->ecap]];

		if (e->created_ms + l->grace_ms > now_ms)
			break;
		if (e->bstate == B_PENDING) {
			e->bstate = B_SETTLED;
			l->pending--;
			if (cb)
				cb(ctx, e->series);
		}
		l->graced++;
	}
	while (l->head < l->graced) {
		uint32_t idx = l->fifo[l->head % l->ecap];

		if (l->e[idx].created_ms + l->retention_ms > now_ms)
			break;
		entry_remove(l, idx);
		l->head++;
	}
}

void
ledger_get_stats(const struct ledger *l, struct ledger_stats *st)
{
	st->entries = l->nlive;
	st->pending = l->pending;
	st->dropped = l->dropped;
}

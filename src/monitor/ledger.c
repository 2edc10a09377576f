/*
 * ledger.c: the parity ledger.
 *
 * Entries are 20-byte records in a ring of fixed-size chunks, in creation
 * order: the ring is the FIFO that drives grace settlement and expiry, and
 * chunks are freed as the head passes them, so memory follows the live
 * count down after a burst. An entry is named by its ring position; two
 * open-addressing tables of 32-bit positions (linear probing, backward-shift
 * deletion, load at most 3/4) index it by (account, event_id) and by
 * (series, order_id). Nothing is allocated per entry.
 *
 * Keys are hashes, never compared as strings:
 *  - event_id: 64 bits of (account, event_id). Two different ids of one
 *    account that collide are taken for one event: the second counts as a
 *    duplicate or as the other leg (a false match). With a million live
 *    ids a lookup collides with probability ~2^-44, so a store would see
 *    one false match in many thousand years; the rates are unaffected.
 *  - order_id: 32 bits of (series, order_id) plus the series itself. A
 *    collision reports an id mismatch that is not one: one extra count and
 *    one browser leg settled early as unmatched. At a million orders an
 *    hour that is about one every few months, far below anything a rule
 *    over thousands of events can notice; 32 bits keep entries at 20 bytes.
 */
#include "monitor/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define NIL		UINT32_MAX
#define MIN_CAP		1024u
#define LEDGER_DEFAULT_MAX	(2u * 1024 * 1024)
#define CHUNK_SHIFT	14
#define CHUNK_LEN	(1u << CHUNK_SHIFT)
#define CHUNK_BYTES	((size_t)CHUNK_LEN * sizeof(struct entry))
#define MIN_TABLE	64u
#define IDCACHE_LEN	4096u
/* Offsets stay below 2^31 ms: rebase long before that. */
#define REBASE_MS	((int64_t)1 << 30)
#define MAX_RETENTION	((int64_t)1 << 30)

enum bstate {
	B_NONE,		/* no browser leg yet */
	B_PENDING,	/* browser leg waiting for the server leg */
	B_SETTLED,	/* outcome counted */
};

/* meta: legs (2 bits), bstate (2), dead (1), series (27). */
#define M_LEGS		0x3u
#define M_BSHIFT	2
#define M_BSTATE	(0x3u << M_BSHIFT)
#define M_DEAD		(1u << 4)
#define M_SSHIFT	5

struct entry {
	uint32_t id_lo, id_hi;		/* hash of (account, event_id) */
	uint32_t order;			/* (series, order_id) hash; 0: none */
	uint32_t created;		/* ms since the ledger's epoch */
	uint32_t meta;
};

struct table {
	uint32_t *slot;			/* ring positions (low 32 bits), NIL */
	size_t mask;			/* size - 1; slot NULL while empty */
	size_t n;
};

/* A recent event_id that has an order_id: the other half of an example. */
struct idcache {
	uint64_t id_hash;
	char id[LEDGER_ID_MAX];
};

struct ledger {
	struct entry **chunks;		/* ring of chunk pointers */
	size_t nchunks;			/* slots in chunks[], a power of two */
	size_t live_chunks;
	struct entry *spare;		/* one freed chunk kept for reuse */
	uint64_t head, graced, tail;	/* ring positions */
	struct table idt, ordt;
	struct idcache *cache;		/* IDCACHE_LEN, allocated on use */
	char other_id[LEDGER_ID_MAX];	/* result string of the last call */
	int64_t epoch;
	bool have_epoch;
	int64_t grace_ms;
	int64_t retention_ms;
	size_t max_entries;		/* as asked */
	size_t max_bytes;
	size_t cap;			/* entries both caps allow */
	size_t nlive;
	size_t pending;
	uint64_t dropped, evicted, evicted_pending;
	ledger_hash_fn hash;
	ledger_settle_fn evict_cb;
	void *evict_ctx;
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
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t
id_hash(const struct entry *e)
{
	return (uint64_t)e->id_hi << 32 | e->id_lo;
}

static uint32_t
series_of(const struct entry *e)
{
	return e->meta >> M_SSHIFT;
}

static unsigned
bstate_of(const struct entry *e)
{
	return (e->meta & M_BSTATE) >> M_BSHIFT;
}

static void
set_bstate(struct entry *e, unsigned b)
{
	e->meta = (e->meta & ~M_BSTATE) | (uint32_t)b << M_BSHIFT;
}

static struct entry *
at(const struct ledger *l, uint64_t pos)
{
	return &l->chunks[(pos >> CHUNK_SHIFT) & (l->nchunks - 1)]
	    [pos & (CHUNK_LEN - 1)];
}

/* A table slot holds the low 32 bits of a live position. */
static uint64_t
pos_of(const struct ledger *l, uint32_t v)
{
	return l->head + (uint32_t)(v - (uint32_t)l->head);
}

static size_t
table_bytes(size_t size)
{
	return size * sizeof(uint32_t);
}

static size_t
table_size_for(size_t n)
{
	size_t size = MIN_TABLE;

	while (size / 4 * 3 < n)
		size <<= 1;
	return size;
}

/*
 * Bytes held with n entries at the worst: both tables just grown for n,
 * a partial chunk at each end plus the spare, the cache.
 */
static size_t
bytes_for(size_t n)
{
	size_t chunks = (n + CHUNK_LEN - 1) / CHUNK_LEN + 2;
	size_t ring = 4;

	while (ring < chunks)
		ring <<= 1;
	return sizeof(struct ledger) + chunks * CHUNK_BYTES +
	    ring * sizeof(struct entry *) + 2 * table_bytes(table_size_for(n)) +
	    IDCACHE_LEN * sizeof(struct idcache);
}

static void
update_cap(struct ledger *l)
{
	size_t lo = MIN_CAP, hi = l->max_entries;

	/* The largest count within both caps; MIN_CAP always fits. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;

		if (bytes_for(mid) <= l->max_bytes)
			lo = mid;
		else
			hi = mid - 1;
	}
	l->cap = lo;
}

struct ledger *
ledger_new(int64_t grace_ms, int64_t retention_ms, size_t max_entries)
{
	struct ledger *l = xcalloc(1, sizeof(*l));

	if (grace_ms > MAX_RETENTION)
		grace_ms = MAX_RETENTION;
	l->grace_ms = grace_ms;
	l->retention_ms = retention_ms > grace_ms ? retention_ms : grace_ms;
	if (l->retention_ms > MAX_RETENTION)
		l->retention_ms = MAX_RETENTION;
	if (max_entries == 0)
		max_entries = LEDGER_DEFAULT_MAX;
	l->max_entries = max_entries < MIN_CAP ? MIN_CAP : max_entries;
	if (l->max_entries > NIL / 4)
		l->max_entries = NIL / 4;
	l->max_bytes = LEDGER_DEFAULT_MAX_BYTES;
	l->hash = hash_key;
	update_cap(l);
	return l;
}

void
ledger_set_max_bytes(struct ledger *l, size_t max_bytes)
{
	l->max_bytes = max_bytes ? max_bytes : LEDGER_DEFAULT_MAX_BYTES;
	update_cap(l);
}

void
ledger_set_evict_cb(struct ledger *l, ledger_settle_fn cb, void *ctx)
{
	l->evict_cb = cb;
	l->evict_ctx = ctx;
}

void
ledger_set_hash(struct ledger *l, ledger_hash_fn fn)
{
	l->hash = fn ? fn : hash_key;
}

void
ledger_free(struct ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nchunks; i++)
		free(l->chunks[i]);
	free(l->chunks);
	free(l->spare);
	free(l->idt.slot);
	free(l->ordt.slot);
	free(l->cache);
	free(l);
}

size_t
ledger_bytes(const struct ledger *l)
{
	size_t b = sizeof(*l) + l->live_chunks * CHUNK_BYTES +
	    l->nchunks * sizeof(*l->chunks);

	if (l->spare)
		b += CHUNK_BYTES;
	if (l->idt.slot)
		b += table_bytes(l->idt.mask + 1);
	if (l->ordt.slot)
		b += table_bytes(l->ordt.mask + 1);
	if (l->cache)
		b += IDCACHE_LEN * sizeof(*l->cache);
	return b;
}

/* ---- tables ---- */

static size_t
home(const struct ledger *l, const struct table *t, uint32_t v)
{
	const struct entry *e = at(l, pos_of(l, v));

	return (t == &l->ordt ? e->order : e->id_lo) & t->mask;
}

static void
table_put(const struct ledger *l, struct table *t, uint32_t v)
{
	size_t i = home(l, t, v);

	while (t->slot[i] != NIL)
		i = (i + 1) & t->mask;
	t->slot[i] = v;
}

/* Resizes t to size slots, rehashing what it holds. */
static void
table_resize(const struct ledger *l, struct table *t, size_t size)
{
	uint32_t *old = t->slot;
	size_t osize = old ? t->mask + 1 : 0;

	t->slot = xmalloc(table_bytes(size));
	memset(t->slot, 0xff, table_bytes(size));
	t->mask = size - 1;
	for (size_t i = 0; i < osize; i++)
		if (old[i] != NIL)
			table_put(l, t, old[i]);
	free(old);
}

static void
table_add(const struct ledger *l, struct table *t, uint32_t v)
{
	if (!t->slot || t->n + 1 > (t->mask + 1) / 4 * 3)
		table_resize(l, t, t->slot ? (t->mask + 1) * 2 : MIN_TABLE);
	table_put(l, t, v);
	t->n++;
}

/* Removes v when t holds it (h: its hash), shifting later probes back. */
static void
table_del(const struct ledger *l, struct table *t, uint32_t h, uint32_t v)
{
	size_t i, j, k;

	if (!t->slot)
		return;
	for (i = h & t->mask; t->slot[i] != v; i = (i + 1) & t->mask)
		if (t->slot[i] == NIL)
			return;
	for (j = i;;) {
		j = (j + 1) & t->mask;
		if (t->slot[j] == NIL)
			break;
		k = home(l, t, t->slot[j]);
		/* Leave slot j where it is when its home lies in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slot[i] = t->slot[j];
		i = j;
	}
	t->slot[i] = NIL;
	t->n--;
}

/* Halves a table that a burst left mostly empty. */
static void
table_shrink(const struct ledger *l, struct table *t)
{
	size_t size = t->mask + 1;

	if (!t->slot || size <= MIN_TABLE || t->n >= size / 8)
		return;
	while (size > MIN_TABLE && t->n < size / 8)
		size >>= 1;
	table_resize(l, t, size);
}

static uint64_t
find_id(const struct ledger *l, uint64_t h)
{
	const struct table *t = &l->idt;

	if (!t->slot)
		return UINT64_MAX;
	for (size_t i = (uint32_t)h & t->mask; t->slot[i] != NIL;
	    i = (i + 1) & t->mask) {
		uint64_t p = pos_of(l, t->slot[i]);

		if (id_hash(at(l, p)) == h)
			return p;
	}
	return UINT64_MAX;
}

static uint64_t
find_order(const struct ledger *l, uint32_t series, uint32_t h)
{
	const struct table *t = &l->ordt;

	if (!t->slot)
		return UINT64_MAX;
	for (size_t i = h & t->mask; t->slot[i] != NIL; i = (i + 1) & t->mask) {
		uint64_t p = pos_of(l, t->slot[i]);
		const struct entry *e = at(l, p);

		if (e->order == h && series_of(e) == series)
			return p;
	}
	return UINT64_MAX;
}

/* ---- the ring ---- */

static void
chunk_release(struct ledger *l, struct entry *c)
{
	if (!l->spare)
		l->spare = c;
	else
		free(c);
	l->live_chunks--;
}

/* Makes room for position l->tail: a chunk when it starts one. */
static void
ring_reserve(struct ledger *l)
{
	size_t need;

	if (l->tail & (CHUNK_LEN - 1))
		return;
	need = (size_t)((l->tail >> CHUNK_SHIFT) - (l->head >> CHUNK_SHIFT)) +
	    1;
	if (need > l->nchunks) {
		size_t n = l->nchunks ? l->nchunks * 2 : 4;
		struct entry **c = xcalloc(n, sizeof(*c));

		for (uint64_t k = l->head >> CHUNK_SHIFT;
		    k < l->tail >> CHUNK_SHIFT; k++)
			c[k & (n - 1)] = l->chunks[k & (l->nchunks - 1)];
		free(l->chunks);
		l->chunks = c;
		l->nchunks = n;
	}
	if (l->spare) {
		l->chunks[(l->tail >> CHUNK_SHIFT) & (l->nchunks - 1)] =
		    l->spare;
		l->spare = NULL;
	} else {
		l->chunks[(l->tail >> CHUNK_SHIFT) & (l->nchunks - 1)] =
		    xmalloc(CHUNK_BYTES);
	}
	l->live_chunks++;
}

/* Forgets the entry at the head of the ring. */
static void
pop_head(struct ledger *l)
{
	struct entry *e = at(l, l->head);
	uint32_t v = (uint32_t)l->head;

	if (!(e->meta & M_DEAD)) {
		table_del(l, &l->idt, e->id_lo, v);
		if (e->order)
			table_del(l, &l->ordt, e->order, v);
		if (bstate_of(e) == B_PENDING)
			l->pending--;
		l->nlive--;
	}
	l->head++;
	if (l->graced < l->head)
		l->graced = l->head;
	/* The head left its chunk: the tail is past it too. */
	if (!(l->head & (CHUNK_LEN - 1))) {
		size_t k = (size_t)((l->head - 1) >> CHUNK_SHIFT) &
		    (l->nchunks - 1);

		chunk_release(l, l->chunks[k]);
		l->chunks[k] = NULL;
	}
}

/* At the cap: the oldest entry goes early, its browser leg settled. */
static void
evict_oldest(struct ledger *l)
{
	struct entry *e = at(l, l->head);

	if (!(e->meta & M_DEAD)) {
		l->evicted++;
		if (bstate_of(e) == B_PENDING) {
			set_bstate(e, B_SETTLED);
			l->pending--;
			l->evicted_pending++;
			if (l->evict_cb)
				l->evict_cb(l->evict_ctx, series_of(e));
		}
	}
	pop_head(l);
}

/*
 * Moves the epoch so that offsets stay small; live entries are younger
 * than the retention, far below 2^31 ms.
 */
static void
rebase(struct ledger *l, int64_t now)
{
	int64_t to = now - MAX_RETENTION;
	uint32_t d;

	if (to <= l->epoch)
		return;
	d = (uint32_t)(to - l->epoch);
	for (uint64_t p = l->head; p < l->tail; p++) {
		struct entry *e = at(l, p);

		e->created = e->created > d ? e->created - d : 0;
	}
	l->epoch = to;
}

static uint32_t
offset_of(struct ledger *l, int64_t ms)
{
	if (!l->have_epoch) {
		l->epoch = ms;
		l->have_epoch = true;
	}
	if (ms < l->epoch)
		return 0;
	if (ms - l->epoch >= 2 * REBASE_MS)
		rebase(l, ms);
	return (uint32_t)(ms - l->epoch);
}

static int64_t
created_ms(const struct ledger *l, const struct entry *e)
{
	return l->epoch + e->created;
}

static uint64_t
entry_new(struct ledger *l, const struct ledger_obs *o, uint64_t h,
    uint32_t oh)
{
	uint32_t created = offset_of(l, o->at_ms);
	struct entry *e;
	uint64_t p;

	while (l->nlive >= l->cap)
		evict_oldest(l);
	/* Position NIL cannot be indexed: leave a dead entry there. */
	if ((uint32_t)l->tail == NIL) {
		ring_reserve(l);
		e = at(l, l->tail++);
		memset(e, 0, sizeof(*e));
		e->meta = M_DEAD;
		e->created = created;
	}
	ring_reserve(l);
	p = l->tail++;
	e = at(l, p);
	e->id_lo = (uint32_t)h;
	e->id_hi = (uint32_t)(h >> 32);
	e->order = oh;
	e->created = created;
	e->meta = o->series << M_SSHIFT;
	table_add(l, &l->idt, (uint32_t)p);
	/* Only the first entry of an order is indexed, as mismatches need. */
	if (oh && find_order(l, o->series, oh) == UINT64_MAX)
		table_add(l, &l->ordt, (uint32_t)p);
	l->nlive++;
	return p;
}

/* ---- recent ids, for examples ---- */

static void
cache_put(struct ledger *l, uint64_t h, const char *id)
{
	struct idcache *c;

	if (!l->cache)
		l->cache = xcalloc(IDCACHE_LEN, sizeof(*l->cache));
	c = &l->cache[(h >> 20) & (IDCACHE_LEN - 1)];
	c->id_hash = h;
	snprintf(c->id, sizeof(c->id), "%s", id);
}

static const char *
cache_get(const struct ledger *l, uint64_t h)
{
	const struct idcache *c;

	if (!l->cache)
		return NULL;
	c = &l->cache[(h >> 20) & (IDCACHE_LEN - 1)];
	return c->id_hash == h && c->id[0] ? c->id : NULL;
}

/* A matched id can never be half of an example: free its slot. */
static void
cache_drop(struct ledger *l, uint64_t h)
{
	struct idcache *c;

	if (!l->cache)
		return;
	c = &l->cache[(h >> 20) & (IDCACHE_LEN - 1)];
	if (c->id_hash == h)
		c->id[0] = '\0';
}

/* ---- the interface ---- */

/* Never 0, which marks an entry without order_id. */
static uint32_t
order_hash(const struct ledger *l, uint32_t series, const char *order)
{
	uint32_t h = (uint32_t)(l->hash(series, order) >> 32);

	return h ? h : 1;
}

void
ledger_observe(struct ledger *l, const struct ledger_obs *o,
    struct ledger_result *r)
{
	uint64_t h = l->hash(o->account, o->event_id);
	bool has_order = o->order_id && *o->order_id;
	uint32_t oh = 0;
	uint32_t other_leg = o->leg == LEDGER_SERVER ? LEDGER_BROWSER :
	    LEDGER_SERVER;
	uint64_t p, op = UINT64_MAX;
	struct entry *e, *oe;
	const char *other;

	memset(r, 0, sizeof(*r));
	r->series = o->series;
	if (o->series >= LEDGER_SERIES_MAX) {
		r->dropped = true;
		l->dropped++;
		return;
	}
	if (has_order)
		oh = order_hash(l, o->series, o->order_id);
	if ((p = find_id(l, h)) == UINT64_MAX) {
		p = entry_new(l, o, h, oh);
		r->new_entry = true;
		if (has_order)
			cache_put(l, h, o->event_id);
	}
	e = at(l, p);
	r->series = series_of(e);
	if ((e->meta & o->leg) != 0)
		return;			/* a duplicate of a leg already seen */
	r->new_leg = true;
	e->meta |= (uint32_t)o->leg;

	if ((e->meta & M_LEGS) == (LEDGER_BROWSER | LEDGER_SERVER)) {
		r->matched = true;
		cache_drop(l, h);
		if (bstate_of(e) != B_SETTLED) {
			if (bstate_of(e) == B_PENDING)
				l->pending--;
			set_bstate(e, B_SETTLED);
			r->settled = 1;
			r->settled_matched = true;
		}
		return;
	}
	if (o->leg == LEDGER_BROWSER) {
		set_bstate(e, B_PENDING);
		l->pending++;
	}

	/* The same order under another event_id on the other leg only. */
	if (has_order)
		op = find_order(l, series_of(e), series_of(e) == o->series ?
		    oh : order_hash(l, series_of(e), o->order_id));
	if (op == UINT64_MAX || op == p)
		return;
	oe = at(l, op);
	if ((oe->meta & M_LEGS) != other_leg)
		return;
	r->mismatch = true;
	r->order_id = o->order_id;
	if ((other = cache_get(l, id_hash(oe))) != NULL) {
		snprintf(l->other_id, sizeof(l->other_id), "%s", other);
		other = l->other_id;
	}
	r->browser_id = o->leg == LEDGER_BROWSER ? o->event_id : other;
	r->server_id = o->leg == LEDGER_SERVER ? o->event_id : other;
	/* The browser leg of the pair will not match: settle it now. */
	{
		struct entry *be = o->leg == LEDGER_BROWSER ? e : oe;

		if (bstate_of(be) == B_PENDING) {
			set_bstate(be, B_SETTLED);
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
	bool popped = false;

	while (l->graced < l->tail) {
		struct entry *e = at(l, l->graced);

		if (created_ms(l, e) + l->grace_ms > now_ms)
			break;
		if (!(e->meta & M_DEAD) && bstate_of(e) == B_PENDING) {
			set_bstate(e, B_SETTLED);
			l->pending--;
			if (cb)
				cb(ctx, series_of(e));
		}
		l->graced++;
	}
	while (l->head < l->graced) {
		if (created_ms(l, at(l, l->head)) + l->retention_ms > now_ms)
			break;
		pop_head(l);
		popped = true;
	}
	if (popped) {
		table_shrink(l, &l->idt);
		table_shrink(l, &l->ordt);
		if (l->head == l->tail && l->spare) {
			free(l->spare);
			l->spare = NULL;
		}
	}
}

void
ledger_get_stats(const struct ledger *l, struct ledger_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->entries = l->nlive;
	st->pending = l->pending;
	st->dropped = l->dropped;
	st->evicted = l->evicted;
	st->evicted_pending = l->evicted_pending;
	st->bytes = ledger_bytes(l);
	st->capacity = l->cap;
}

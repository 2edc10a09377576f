/*
 * store.c: the store front end. Checks arguments once, so every backend
 * sees the same contract, and picks the backend from the location.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/banned.h"

const char *
store_strerror(int rc)
{
	switch (rc) {
	case STORE_OK:		return "ok";
	case STORE_EIO:		return "store i/o error";
	case STORE_EFULL:	return "store is full";
	case STORE_EBUSY:	return "store is busy";
	case STORE_EINVAL:	return "invalid argument";
	case STORE_ESCHEMA:	return "store written by a newer version";
	case STORE_ECLOSED:	return "store is closed";
	}
	return "unknown store error";
}

int
store_record_check(const struct store_record *r)
{
	if (!r->account || !*r->account || !r->event_id || !*r->event_id)
		return STORE_EINVAL;
	if (!r->event_name || !r->payload)
		return STORE_EINVAL;
	if (r->payload_len > STORE_MAX_PAYLOAD_BYTES)
		return STORE_EINVAL;
	return 0;
}

static int
is_postgres(const char *path)
{
	return !strncmp(path, "postgres://", 11) ||
	       !strncmp(path, "postgresql://", 13);
}

int
store_open(const struct store_config *cfg, struct store **out)
{
	struct store_config c;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (cfg)
		c = *cfg;
	if (!c.path || !*c.path)
		c.path = STORE_DEFAULT_PATH;
	if (c.busy_timeout_ms <= 0)
		c.busy_timeout_ms = 5000;
	/*
	 * Batches are written once and read once, so a large cache only
	 * holds pages nobody asks for again; 2 MiB keeps the tree's inner
	 * pages and the batch being delivered.
	 */
	if (c.cache_kib <= 0)
		c.cache_kib = 2048;
	if (is_postgres(c.path))
		return STORE_EINVAL;	/* NEEDSWORK: pg.c */
	return store_sqlite_open(&c, out);
}

void
store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

int
store_set_max_pages(struct store *st, int64_t max_pages)
{
	return st->ops->set_max_pages(st, max_pages);
}

int
store_append_spans(struct store *st, const struct store_span *spans,
		   size_t nspans)
{
	size_t total = 0;

	for (size_t i = 0; i < nspans; i++) {
		for (size_t k = 0; k < spans[i].n; k++) {
			int rc = store_record_check(&spans[i].recs[k]);

			if (rc)
				return rc;
		}
		total += spans[i].n;
	}
	if (!total)
		return 0;
	return st->ops->append_spans(st, spans, nspans);
}

int
store_append(struct store *st, struct store_record *recs, size_t n)
{
	struct store_span span = { recs, n };

	return store_append_spans(st, &span, 1);
}

int
store_claim(struct store *st, const char *account, const char *owner,
	    size_t max, int64_t lease_ms, struct arena *a,
	    struct store_row **rows, size_t *n)
{
	*rows = NULL;
	*n = 0;
	if (!account || !*account || !owner || lease_ms <= 0)
		return STORE_EINVAL;
	if (max > STORE_MAX_CLAIM)
		max = STORE_MAX_CLAIM;
	if (!max)
		return 0;
	return st->ops->claim(st, account, owner, max, lease_ms, a, rows, n);
}

int
store_mark_done(struct store *st, const int64_t *ids, size_t n)
{
	return n ? st->ops->mark_done(st, ids, n) : 0;
}

int
store_mark_retry(struct store *st, const int64_t *ids, size_t n,
		 int64_t next_attempt_ms, const char *error)
{
	return n ? st->ops->mark_retry(st, ids, n, next_attempt_ms, error) : 0;
}

int
store_mark_dead(struct store *st, const int64_t *ids, size_t n,
		const char *reason, const char *message)
{
	if (!reason || !*reason)
		return STORE_EINVAL;
	return n ? st->ops->mark_dead(st, ids, n, reason, message) : 0;
}

int
store_mark_dead_each(struct store *st, const int64_t *ids,
		     const char *const *messages, size_t n, const char *reason)
{
	if (!reason || !*reason)
		return STORE_EINVAL;
	return n ? st->ops->mark_dead_each(st, ids, messages, n, reason) : 0;
}

int
store_release(struct store *st, const int64_t *ids, size_t n)
{
	return n ? st->ops->release(st, ids, n) : 0;
}

int
store_stats(struct store *st, struct arena *a, struct store_stats **out,
	    size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->stats(st, a, out, n);
}

int
store_dead_list(struct store *st, const struct store_filter *f,
		size_t limit, store_dead_fn fn, void *arg)
{
	static const struct store_filter all;

	return st->ops->dead_list(st, f ? f : &all, limit, fn, arg);
}

int
store_dead_requeue(struct store *st, const struct store_filter *f,
		   int64_t *count)
{
	static const struct store_filter all;
	int64_t dummy;

	return st->ops->dead_requeue(st, f ? f : &all, count ? count : &dummy);
}

int
store_prune_done(struct store *st, int64_t before_ms, int64_t limit,
		 int64_t *count)
{
	int64_t dummy;

	return st->ops->prune_done(st, before_ms, limit > 0 ? limit : INT64_MAX,
	    count ? count : &dummy);
}

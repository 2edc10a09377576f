/*
 * store_int.h: what the store front end (store.c), its backends (sqlite.c,
 * later pg.c) and the journal share. Not for use outside src/store/.
 *
 * A backend embeds struct store as its first member and fills in a
 * struct store_ops; store.c checks arguments once and dispatches, so the
 * backends can assume valid input.
 */
#ifndef PB_STORE_INT_H
#define PB_STORE_INT_H

#include "store/store.h"

struct store_ops {
	const char *name;
	void (*close)(struct store *st);
	int (*set_max_pages)(struct store *st, int64_t max_pages);
	int (*append_spans)(struct store *st, const struct store_span *spans,
			    size_t nspans);
	int (*claim)(struct store *st, const char *account, const char *owner,
		     size_t max, int64_t lease_ms, struct arena *a,
		     struct store_row **rows, size_t *n);
	int (*mark_done)(struct store *st, const int64_t *ids, size_t n);
	int (*mark_retry)(struct store *st, const int64_t *ids, size_t n,
			  int64_t next_attempt_ms, const char *error);
	int (*mark_dead)(struct store *st, const int64_t *ids, size_t n,
			 const char *reason, const char *message);
	int (*mark_dead_each)(struct store *st, const int64_t *ids,
			      const char *const *messages, size_t n,
			      const char *reason);
	int (*release)(struct store *st, const int64_t *ids, size_t n);
	int (*stats)(struct store *st, struct arena *a,
		     struct store_stats **out, size_t *n);
	int (*dead_list)(struct store *st, const struct store_filter *f,
			 size_t limit, store_dead_fn fn, void *arg);
	int (*dead_requeue)(struct store *st, const struct store_filter *f,
			    int64_t *count);
	int (*prune_done)(struct store *st, int64_t before_ms, int64_t limit,
			  int64_t *count);
};

struct store {
	const struct store_ops *ops;
	struct store_config cfg;	/* copy; cfg.path points at path */
	char *path;			/* owned */
	/*
	 * Test seam (journal_fail_commits): the next fail_commits appends
	 * write their rows, then roll back and return fail_rc instead of
	 * committing. Touched only by the thread that owns the store.
	 */
	int fail_commits;
	int fail_rc;
	/*
	 * Test seam: keep only this many low bits of the idempotency key
	 * hash (0 = all 64), so that tests can make collisions common.
	 */
	int test_key_bits;
};

/* Per-record validation shared by store_append*() and journal_submit(). */
int store_record_check(const struct store_record *r);

/* Backend constructors; st->cfg and st->path are filled in by store.c. */
int store_sqlite_open(const struct store_config *cfg, struct store **out);

#endif

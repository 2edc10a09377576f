/*
 * sqlite.c: the embedded store backend (SQLite, WAL; appends fsync'd,
 * delivery bookkeeping not, see txn_begin()).
 *
 * One struct sq per connection and thread. Statements are prepared once
 * per connection and kept. Per-account counters live in `accounts` and
 * change in the same transaction as the rows they count, so health and
 * metrics never scan `events`. Opening runs PRAGMAs and a version check
 * only: its cost does not grow with the backlog.
 */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "store/chunk.h"
#include "store/slotindex.h"
#include "store/store_int.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SCHEMA_VERSION		4
#define PRUNE_STEP		5000	/* rows deleted per transaction */
#define MAX_ERROR_BYTES		512
/* SQLite clamps this to its compiled-in maximum, i.e. "no cap". */
#define NO_PAGE_CAP		4294967294LL

enum row_state { ST_PENDING = 0, ST_DONE = 1, ST_DEAD = 2 };

/*
 * How hard a transaction's COMMIT waits for the disk (see txn_begin()).
 * DURABLE: fsync before COMMIT returns; what a 2xx promises. RELAXED:
 * WAL order is kept, so a crash or power loss can only roll back the
 * last few RELAXED transactions, whole; a SIGKILL loses nothing.
 */
enum durability { SYNC_UNSET = 0, DURABLE, RELAXED };

/*
 * WAL pages after a commit that make a connection checkpoint (PASSIVE:
 * never waits for readers or blocks the writer). Relaxed (delivery)
 * transactions checkpoint early, off the ack path; durable (journal)
 * ones only as a backstop when no delivery connection runs, so that an
 * ack does not wait for a checkpoint in the common case.
 */
#define CKPT_RELAXED_PAGES	1000
#define CKPT_DURABLE_PAGES	8000
/*
 * With a background checkpointer (store_config.background_checkpoint) a
 * commit only wakes it, from this many pages on; it checkpoints inline
 * only past the last bound, should the checkpointer fall behind.
 */
#define CKPT_WAKE_PAGES		1000
#define CKPT_INLINE_PAGES	64000

/*
 * Schema v1. `due_ms` folds not_before, the next retry time and the lease
 * into one column: a claim moves due_ms to lease_until, so the claim query
 * is one range scan of ev_due that never steps over leased rows, and a
 * lease that runs out makes its row due again with no sweeper. Partial
 * indexes keep each index to the rows of the state that needs it; the
 * literal `state=0` etc. in queries lets the planner use them.
 */
static const char schema_v1[] =
	"CREATE TABLE accounts("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" pending INTEGER NOT NULL DEFAULT 0,"
	" done INTEGER NOT NULL DEFAULT 0,"
	" dead INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL,"
	" state INTEGER NOT NULL,"
	" legs INTEGER NOT NULL,"
	" due_ms INTEGER NOT NULL,"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" event_time INTEGER NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" done_at INTEGER,"
	" event_id TEXT NOT NULL,"
	" event_name TEXT NOT NULL,"
	" order_id TEXT,"
	" lease_owner TEXT,"
	" reason TEXT,"
	" message TEXT,"
	" payload TEXT NOT NULL);"
	"CREATE UNIQUE INDEX ev_key ON events(account_id, event_id);"
	"CREATE INDEX ev_due ON events(account_id, due_ms) WHERE state=0;"
	"CREATE INDEX ev_age ON events(account_id, event_time) WHERE state=0;"
	"CREATE INDEX ev_lease ON events(account_id, lease_until)"
	" WHERE lease_until>0;"
	"CREATE INDEX ev_done ON events(done_at) WHERE state=1;"
	"CREATE INDEX ev_dead ON events(account_id, event_time) WHERE state=2;";

/*
 * v1 -> v2, measured in docs/internals/store.md:
 *
 * - Idempotency goes through `key`, a 64-bit hash of (account_id,
 *   event_id) (key_of()), in a non-unique index; a hit is checked against
 *   the stored account_id and event_id, so a collision costs a lookup,
 *   never a lost event. The text index on random ids was 2.5x bigger, and
 *   every append dirtied a random page of it.
 * - Payloads live in `payloads`, one row per pending or dead event (done
 *   rows drop theirs at once). Claims and marks rewrite the small events
 *   row only, instead of copying the payload each time.
 *
 * The copy needs pb_key() (registered on every connection). It runs once,
 * at the first open by this version, and its cost grows with the rows.
 */
static const char migrate_v2[] =
	"CREATE TABLE payloads("
	" id INTEGER PRIMARY KEY,"
	" body BLOB NOT NULL);"
	"INSERT INTO payloads(id, body)"
	" SELECT id, CAST(payload AS BLOB) FROM events WHERE state<>1;"
	"CREATE TABLE events_v2("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL,"
	" state INTEGER NOT NULL,"
	" legs INTEGER NOT NULL,"
	" due_ms INTEGER NOT NULL,"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" event_time INTEGER NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" done_at INTEGER,"
	" key INTEGER NOT NULL,"
	" event_id TEXT NOT NULL,"
	" event_name TEXT NOT NULL,"
	" order_id TEXT,"
	" lease_owner TEXT,"
	" reason TEXT,"
	" message TEXT);"
	"INSERT INTO events_v2(id, account_id, state, legs, due_ms,"
	" lease_until, attempts, event_time, received_at, done_at, key,"
	" event_id, event_name, order_id, lease_owner, reason, message)"
	" SELECT id, account_id, state, legs, due_ms, lease_until, attempts,"
	" event_time, received_at, done_at, pb_key(account_id, event_id),"
	" event_id, event_name, order_id, lease_owner, reason, message"
	" FROM events;"
	"DROP TABLE events;"
	"ALTER TABLE events_v2 RENAME TO events;"
	"CREATE INDEX ev_key ON events(key);"
	"CREATE INDEX ev_due ON events(account_id, due_ms) WHERE state=0;"
	"CREATE INDEX ev_age ON events(account_id, event_time) WHERE state=0;"
	"CREATE INDEX ev_lease ON events(account_id, lease_until)"
	" WHERE lease_until>0;"
	"CREATE INDEX ev_done ON events(done_at) WHERE state=1;"
	"CREATE INDEX ev_dead ON events(account_id, event_time) WHERE state=2;";

/*
 * v2 -> v3: appended events go into batches, one `chunks` row per account
 * and commit (store/chunk.h), instead of one `events` row each: an append
 * costs a few rows per commit, not an index entry per event, and a claim
 * or a delivered batch updates one row. `marks` says per slot whether the
 * event is live, done or moved out; an event that needs a row of its own
 * (a retry, a release, a dead letter, or a claim smaller than its batch)
 * moves to `events`, where everything works as in v2. `chunk_data` holds
 * the immutable part (keys for the writer's index, then the records), so
 * updating a batch's marks does not rewrite its records.
 */
static const char migrate_v3[] =
	"CREATE TABLE chunks("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" due_ms INTEGER NOT NULL,"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" lease_owner TEXT,"
	" min_time INTEGER NOT NULL DEFAULT 0,"
	" live INTEGER NOT NULL DEFAULT 0,"
	" done_at INTEGER,"
	" marks BLOB NOT NULL);"
	"CREATE TABLE chunk_data("
	" id INTEGER PRIMARY KEY,"
	" keys BLOB NOT NULL,"
	" recs BLOB NOT NULL);"
	"CREATE INDEX ck_due ON chunks(account_id, due_ms) WHERE state=0;"
	"CREATE INDEX ck_done ON chunks(done_at) WHERE state=1;";

/*
 * v3 -> v4: a batch whose delivery failed as a whole (a timeout, a 5xx, a
 * 429: every event alike) is rescheduled as a whole: `attempts` counts
 * those retries for all its slots, on top of each record's own count. In
 * a long outage that is one row update per batch and retry, where moving
 * every event to a row of its own cost two inserts and four index
 * entries each.
 */
static const char migrate_v4[] =
	"ALTER TABLE chunks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;";

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SYNC_FULL,
	S_SYNC_NORMAL,
	S_ACCOUNT_GET,
	S_ACCOUNT_ADD,
	S_ACCOUNT_BUMP,
	S_KEY_FIND,
	S_INSERT,
	S_PAYLOAD_ADD,
	S_PAYLOAD_GET,
	S_PAYLOAD_PUT,
	S_PAYLOAD_DROP,
	S_SET_LEGS,
	S_CLAIM_SELECT,
	S_CLAIM_LEASE,
	S_PENDING_ACCOUNT,
	S_DONE,
	S_RETRY,
	S_DEAD,
	S_RELEASE,
	S_ACCOUNTS_ALL,
	S_IN_FLIGHT,
	S_OLDEST,
	S_DEAD_LIST,
	S_REQUEUE_SELECT,
	S_REQUEUE,
	S_PRUNE,
	S_CK_NEW,
	S_CK_FLUSH,
	S_CK_DATA,
	S_CK_MARKS,
	S_CK_REQUEUE,
	S_CK_SET_MARKS,
	S_CK_RECS,
	S_CK_DUE,
	S_CK_LEASE,
	S_CK_IN_FLIGHT,
	S_CK_OLDEST,
	S_CK_PRUNE_SELECT,
	S_CK_DELETE,
	S_CK_DATA_DELETE,
	S_CK_ALL_KEYS,
	S_MOVE_INSERT,
	S_COUNT
};

/* Dead-letter filter: ?1 account id or NULL, ?2/?3 time, ?4 event_id. */
#define DEAD_FILTER \
	" state=2 AND (?1 IS NULL OR account_id=?1)" \
	" AND event_time>=?2 AND (?3=0 OR event_time<?3)" \
	" AND (?4 IS NULL OR event_id=?4)"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SYNC_FULL] = "PRAGMA synchronous=FULL",
	[S_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[S_ACCOUNT_GET] = "SELECT id FROM accounts WHERE name=?1",
	[S_ACCOUNT_ADD] = "INSERT INTO accounts(name) VALUES(?1)",
	[S_ACCOUNT_BUMP] = "UPDATE accounts SET pending=pending+?2,"
		" done=done+?3, dead=dead+?4 WHERE id=?1",
	[S_KEY_FIND] = "SELECT id, account_id, state, legs, event_id"
		" FROM events INDEXED BY ev_key WHERE key=?1",
	[S_INSERT] = "INSERT INTO events(account_id, state, legs, due_ms,"
		" event_time, received_at, key, event_id, event_name, order_id)"
		" VALUES(?1,0,?2,?3,?4,?5,?6,?7,?8,?9)",
	[S_PAYLOAD_ADD] = "INSERT INTO payloads(id, body) VALUES(?1,?2)",
	[S_PAYLOAD_GET] = "SELECT body FROM payloads WHERE id=?1",
	[S_PAYLOAD_PUT] = "INSERT OR REPLACE INTO payloads(id, body)"
		" VALUES(?1,?2)",
	[S_PAYLOAD_DROP] = "DELETE FROM payloads WHERE id=?1",
	[S_SET_LEGS] = "UPDATE events SET legs=?2 WHERE id=?1",
	[S_CLAIM_SELECT] = "SELECT e.id, e.event_id, e.event_name,"
		" e.order_id, e.event_time, e.received_at, e.legs, e.attempts,"
		" p.body FROM events AS e INDEXED BY ev_due"
		" LEFT JOIN payloads AS p ON p.id=e.id"
		" WHERE e.account_id=?1 AND e.state=0 AND e.due_ms<=?2"
		" ORDER BY e.due_ms LIMIT ?3",
	[S_CLAIM_LEASE] = "UPDATE events SET lease_owner=?2, lease_until=?3,"
		" due_ms=?3 WHERE id=?1",
	/* Done rows keep their key (idempotency) but not their payload. */
	/*
	 * No RETURNING on hot paths: SQLite runs such a statement into an
	 * ephemeral table (a temp b-tree per execution), which cost more
	 * than the update itself. A rowid lookup first is cheaper.
	 */
	[S_PENDING_ACCOUNT] = "SELECT account_id FROM events"
		" WHERE id=?1 AND state=0",
	[S_DONE] = "UPDATE events SET state=1, done_at=?2, lease_until=0,"
		" lease_owner=NULL WHERE id=?1",
	[S_RETRY] = "UPDATE events SET attempts=attempts+1, due_ms=?2,"
		" lease_until=0, lease_owner=NULL, message=?3"
		" WHERE id=?1 AND state=0",
	[S_DEAD] = "UPDATE events SET state=2, done_at=?2, lease_until=0,"
		" lease_owner=NULL, reason=?3, message=?4"
		" WHERE id=?1",
	[S_RELEASE] = "UPDATE events SET due_ms=?2, lease_until=0,"
		" lease_owner=NULL WHERE id=?1 AND state=0",
	[S_ACCOUNTS_ALL] = "SELECT id, name, pending, done, dead"
		" FROM accounts ORDER BY name",
	[S_IN_FLIGHT] = "SELECT count(*) FROM events INDEXED BY ev_lease"
		" WHERE account_id=?1 AND lease_until>0 AND lease_until>?2",
	[S_OLDEST] = "SELECT min(event_time) FROM events INDEXED BY ev_age"
		" WHERE account_id=?1 AND state=0",
	[S_DEAD_LIST] = "SELECT e.id, a.name, e.event_id, e.event_name,"
		" e.order_id, e.event_time, e.received_at, e.done_at, e.legs,"
		" e.attempts, e.reason, e.message, p.body"
		" FROM events AS e INDEXED BY ev_dead"
		" JOIN accounts AS a ON a.id=e.account_id"
		" LEFT JOIN payloads AS p ON p.id=e.id WHERE"
		DEAD_FILTER " ORDER BY e.id",
	[S_REQUEUE_SELECT] = "SELECT id, account_id FROM events"
		" INDEXED BY ev_dead WHERE" DEAD_FILTER,
	[S_REQUEUE] = "UPDATE events SET state=0, attempts=0, due_ms=?2,"
		" done_at=NULL, reason=NULL, message=NULL WHERE id=?1",
	[S_PRUNE] = "DELETE FROM events WHERE id IN (SELECT id FROM events"
		" INDEXED BY ev_done WHERE state=1 AND done_at<?1 LIMIT ?2)"
		" RETURNING account_id",
	[S_CK_NEW] = "INSERT INTO chunks(account_id, due_ms, marks)"
		" VALUES(?1, 0, x'')",
	[S_CK_FLUSH] = "UPDATE chunks SET due_ms=?2, min_time=?3, live=?4,"
		" marks=?5, state=?4=0, done_at=CASE WHEN ?4=0 THEN ?6 END"
		" WHERE id=?1",
	[S_CK_DATA] = "INSERT INTO chunk_data(id, keys, recs) VALUES(?1,?2,?3)",
	[S_CK_MARKS] = "SELECT account_id, live, marks, attempts FROM chunks"
		" WHERE id=?1",
	/* A batch with no live slot left is resolved: prunable, unleased. */
	[S_CK_SET_MARKS] = "UPDATE chunks SET marks=?2, live=?3,"
		" state=?3=0, done_at=CASE WHEN ?3=0 THEN ?4 END,"
		" lease_until=CASE WHEN ?3=0 THEN 0 ELSE lease_until END"
		" WHERE id=?1",
	[S_CK_RECS] = "SELECT recs FROM chunk_data WHERE id=?1",
	[S_CK_DUE] = "SELECT id FROM chunks INDEXED BY ck_due"
		" WHERE account_id=?1 AND state=0 AND due_ms<=?2"
		" ORDER BY due_ms LIMIT ?3",
	[S_CK_LEASE] = "UPDATE chunks SET lease_owner=?2, lease_until=?3,"
		" due_ms=?3 WHERE id=?1",
	[S_CK_REQUEUE] = "UPDATE chunks SET due_ms=?2, lease_until=0,"
		" lease_owner=NULL, attempts=attempts+?3 WHERE id=?1 AND state=0",
	[S_CK_IN_FLIGHT] = "SELECT coalesce(sum(live), 0) FROM chunks"
		" INDEXED BY ck_due WHERE account_id=?1 AND state=0"
		" AND due_ms>?2 AND lease_until>?2",
	[S_CK_OLDEST] = "SELECT min(min_time) FROM chunks INDEXED BY ck_due"
		" WHERE account_id=?1 AND state=0",
	[S_CK_PRUNE_SELECT] = "SELECT c.id, c.account_id, c.marks, d.keys"
		" FROM chunks AS c INDEXED BY ck_done"
		" JOIN chunk_data AS d ON d.id=c.id"
		" WHERE c.state=1 AND c.done_at<?1 LIMIT ?2",
	[S_CK_DELETE] = "DELETE FROM chunks WHERE id=?1",
	[S_CK_DATA_DELETE] = "DELETE FROM chunk_data WHERE id=?1",
	[S_CK_ALL_KEYS] = "SELECT c.id, c.marks, d.keys FROM chunks AS c"
		" JOIN chunk_data AS d ON d.id=c.id",
	[S_MOVE_INSERT] = "INSERT INTO events(account_id, state, legs, due_ms,"
		" event_time, received_at, key, event_id, event_name, order_id,"
		" attempts) VALUES(?1,0,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
};

/* A cached account name -> id, with this transaction's counter deltas. */
struct account {
	int64_t id;
	char *name;
	int64_t d_pending, d_done, d_dead;
	int touched;			/* deltas pending in this transaction */
};

struct sq {
	struct store base;		/* must be first */
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];	/* prepared on first use */
	struct account *acct;		/* ids of committed accounts */
	size_t nacct, acct_cap;
	size_t last_acct;		/* index of the last lookup hit */
	struct buf merged;		/* merge callback output, reused */
	enum durability sync;		/* the connection's synchronous now */
	/*
	 * Appending (the writer only): the slots of every batch by key,
	 * loaded at the first append; this transaction's batches, one per
	 * account; and the index entries to take back if it rolls back.
	 */
	struct slotindex ix;
	bool ix_loaded;
	struct chunk_builder *bld;
	size_t nbld, bld_cap;
	struct index_undo {
		uint64_t key;
		int64_t slot;
	} *undo;			/* index entries this transaction added */
	size_t nundo, undo_cap;
	struct buf scratch;		/* blobs and record copies, reused */
	struct checkpointer *ckpt;	/* NULL: checkpoints run inline */
};

/* A thread with a connection of its own that copies the WAL back. */
struct checkpointer {
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool due, stop;
};

static struct sq *
sq_of(struct store *st)
{
	return (struct sq *)st;
}

static int64_t
now_ms(struct sq *s)
{
	return clock_now_ms(s->base.cfg.clock);
}

/* Maps a SQLite result code to enum store_err. */
static int
map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return STORE_EFULL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_EBUSY;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
	case SQLITE_CONSTRAINT:
		return STORE_EINVAL;
	default:
		return STORE_EIO;
	}
}

/* Logs a failed SQLite call once, where it is handled (never payloads). */
static int
fail(struct sq *s, int rc, const char *what)
{
	log_error("store: %s on \"%s\": %s", what, s->base.path,
		  sqlite3_errstr(rc));
	return map_rc(rc);
}

static sqlite3_stmt *
stmt(struct sq *s, enum stmt_id id)
{
	int rc;

	if (s->stmt[id])
		return s->stmt[id];
	rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
				SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
	if (rc != SQLITE_OK) {
		/* The SQL is fixed, so this is a bug or a damaged file. */
		log_error("store: cannot prepare statement %d: %s", (int)id,
			  sqlite3_errmsg(s->db));
		s->stmt[id] = NULL;
	}
	return s->stmt[id];
}

/*
 * Runs a statement that returns no rows (or whose rows are ignored) and
 * resets it. Returns the SQLite code.
 */
static int
run(sqlite3_stmt *q)
{
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		;
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
run_id(struct sq *s, enum stmt_id id)
{
	sqlite3_stmt *q = stmt(s, id);

	return q ? run(q) : SQLITE_ERROR;
}

static void
bind_text_or_null(sqlite3_stmt *q, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

static char *
col_dup(struct arena *a, sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	if (!t)
		return NULL;
	return arena_strndup(a, (const char *)t,
			     (size_t)sqlite3_column_bytes(q, i));
}

/* ---- accounts ------------------------------------------------------- */

static struct account *
acct_add_cache(struct sq *s, const char *name, int64_t id)
{
	struct account *ac;

	if (s->nacct == s->acct_cap) {
		s->acct_cap = s->acct_cap ? 2 * s->acct_cap : 8;
		s->acct = xrealloc(s->acct, s->acct_cap * sizeof(*s->acct));
	}
	ac = &s->acct[s->nacct++];
	memset(ac, 0, sizeof(*ac));
	ac->id = id;
	ac->name = xstrdup(name);
	return ac;
}

static void
acct_cache_clear(struct sq *s)
{
	for (size_t i = 0; i < s->nacct; i++)
		free(s->acct[i].name);
	s->nacct = 0;
	s->last_acct = 0;
}

static struct account *
acct_find_cached(struct sq *s, const char *name)
{
	if (s->last_acct < s->nacct &&
	    !strcmp(s->acct[s->last_acct].name, name))
		return &s->acct[s->last_acct];
	for (size_t i = 0; i < s->nacct; i++) {
		if (!strcmp(s->acct[i].name, name)) {
			s->last_acct = i;
			return &s->acct[i];
		}
	}
	return NULL;
}

/*
 * Finds (and with `create`, adds) an account. Must run inside a write
 * transaction when `create` is set. *out is NULL when the account does not
 * exist and was not created.
 */
static int
acct_get(struct sq *s, const char *name, int create, struct account **out)
{
	sqlite3_stmt *q;
	int64_t id = 0;
	int rc;

	*out = acct_find_cached(s, name);
	if (*out)
		return SQLITE_OK;
	if (!(q = stmt(s, S_ACCOUNT_GET)))
		return SQLITE_ERROR;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (!id) {
		if (!create)
			return SQLITE_OK;
		if (!(q = stmt(s, S_ACCOUNT_ADD)))
			return SQLITE_ERROR;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		if ((rc = run(q)) != SQLITE_OK)
			return rc;
		id = sqlite3_last_insert_rowid(s->db);
	}
	*out = acct_add_cache(s, name, id);
	s->last_acct = s->nacct - 1;
	return SQLITE_OK;
}

static struct account *
acct_by_id(struct sq *s, int64_t id)
{
	for (size_t i = 0; i < s->nacct; i++)
		if (s->acct[i].id == id)
			return &s->acct[i];
	return NULL;
}

/*
 * Applies a state change to the counters of account `id`. Accounts not in
 * the cache (created by another connection) are cached by id with an
 * empty name; they never match a name lookup.
 */
static void
acct_delta(struct sq *s, int64_t id, int64_t dp, int64_t dd, int64_t dx)
{
	struct account *ac = acct_by_id(s, id);

	if (!ac)
		ac = acct_add_cache(s, "", id);
	ac->d_pending += dp;
	ac->d_done += dd;
	ac->d_dead += dx;
	ac->touched = 1;
}

/* ---- transactions --------------------------------------------------- */

/*
 * synchronous is per connection, but it is read at each COMMIT, so it is
 * set per transaction: appends (and replay) are DURABLE whatever else the
 * connection did before. Delivery transactions (claims, leases, marks,
 * prune) are RELAXED: losing the last of them on power loss means a row
 * is leased again or delivered again, which at-least-once allows (design
 * §5); it can never lose a row, because the append that created the row
 * was fsync'd before it was acknowledged, and WAL frames only ever follow
 * it. A durable commit fsyncs the whole WAL, relaxed frames before it
 * included.
 */
static int
txn_begin(struct sq *s, enum durability d)
{
	int rc;

	if (s->sync != d) {
		rc = run_id(s, d == DURABLE ? S_SYNC_FULL : S_SYNC_NORMAL);
		if (rc != SQLITE_OK)
			return rc;
		s->sync = d;
	}
	return run_id(s, S_BEGIN);
}

static void
checkpointer_wake(struct checkpointer *c)
{
	pthread_mutex_lock(&c->mu);
	c->due = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
}

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq *s = arg;
	int inline_at = s->ckpt ? CKPT_INLINE_PAGES : s->sync == RELAXED ?
	    CKPT_RELAXED_PAGES : CKPT_DURABLE_PAGES;

	/* The journal's relaxed prunes are on the ack path too. */
	if (s->ckpt && pages >= CKPT_WAKE_PAGES)
		checkpointer_wake(s->ckpt);
	if (pages >= inline_at)
		(void)sqlite3_wal_checkpoint_v2(db, name,
						SQLITE_CHECKPOINT_PASSIVE,
						NULL, NULL);
	return SQLITE_OK;
}

static void *
checkpointer_run(void *arg)
{
	struct checkpointer *c = arg;

	thread_name("pb-checkpoint");
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->due && !c->stop)
			pthread_cond_wait(&c->wake, &c->mu);
		if (c->stop)
			break;
		c->due = false;
		pthread_mutex_unlock(&c->mu);
		/*
		 * PASSIVE copies what no reader still needs and never waits
		 * for the writer, which keeps committing meanwhile; what it
		 * leaves the next wake-up takes.
		 */
		(void)sqlite3_wal_checkpoint_v2(c->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void
checkpointer_stop(struct checkpointer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close_v2(c->db);
	free(c);
}

static int
checkpointer_start(struct sq *s, const struct store_config *cfg)
{
	struct checkpointer *c = xcalloc(1, sizeof(*c));
	int rc = sqlite3_open_v2(cfg->path, &c->db, SQLITE_OPEN_READWRITE,
	    NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->db, cfg->busy_timeout_ms);
	/* A connection learns the file is in WAL mode when it first reads it. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL,
		    NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close_v2(c->db);
		free(c);
		return fail(s, rc, "cannot open the checkpoint connection");
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, checkpointer_run, c) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close_v2(c->db);
		free(c);
		return STORE_EIO;
	}
	s->ckpt = c;
	return 0;
}

static void
txn_rollback(struct sq *s)
{
	if (!sqlite3_get_autocommit(s->db))
		run_id(s, S_ROLLBACK);
	/* The batches and index entries of this transaction never were. */
	for (size_t i = 0; i < s->nundo; i++)
		slotindex_remove(&s->ix, s->undo[i].key, s->undo[i].slot);
	s->nundo = 0;
	s->nbld = 0;
	/*
	 * Accounts inserted by the rolled-back transaction are gone from the
	 * file, and the counter deltas never happened: forget the whole
	 * cache rather than track which entries are still true.
	 */
	acct_cache_clear(s);
}

/* Writes the counter deltas, then commits. Rolls back on any failure. */
static int
txn_commit(struct sq *s)
{
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;

	for (size_t i = 0; i < s->nacct && rc == SQLITE_OK; i++) {
		struct account *ac = &s->acct[i];

		if (!ac->touched)
			continue;
		if (!q && !(q = stmt(s, S_ACCOUNT_BUMP))) {
			rc = SQLITE_ERROR;
			break;
		}
		sqlite3_bind_int64(q, 1, ac->id);
		sqlite3_bind_int64(q, 2, ac->d_pending);
		sqlite3_bind_int64(q, 3, ac->d_done);
		sqlite3_bind_int64(q, 4, ac->d_dead);
		rc = run(q);
	}
	if (rc == SQLITE_OK && s->base.fail_commits > 0) {
		s->base.fail_commits--;
		txn_rollback(s);
		return s->base.fail_rc ? s->base.fail_rc : STORE_EIO;
	}
	if (rc == SQLITE_OK)
		rc = run_id(s, S_COMMIT);
	if (rc != SQLITE_OK) {
		int err = fail(s, rc, "commit failed");

		txn_rollback(s);
		return err;
	}
	for (size_t i = 0; i < s->nacct; i++) {
		struct account *ac = &s->acct[i];

		ac->d_pending = ac->d_done = ac->d_dead = 0;
		ac->touched = 0;
	}
	s->nundo = 0;
	s->nbld = 0;
	return 0;
}

/* Rolls back after a failed statement and maps its code. */
static int
txn_abort(struct sq *s, int rc, const char *what)
{
	int err = fail(s, rc, what);

	txn_rollback(s);
	return err;
}

/* ---- append --------------------------------------------------------- */

/*
 * The idempotency key: a 64-bit hash of (account_id, event_id), stored in
 * every row. It is on disk, so it must never change without a migration:
 * 8 bytes at a time, little-endian whatever the host, each folded in with
 * a multiply-xorshift. Only the index lookup depends on its quality;
 * correctness does not (see find_row()).
 */
static uint64_t
key_mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

static int64_t
key_of(int64_t account_id, const char *id, size_t n)
{
	const unsigned char *p = (const unsigned char *)id;
	uint64_t h = key_mix((uint64_t)account_id ^ 0x9e3779b97f4a7c15ull) ^ n;

	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w = 0;

		for (int i = 7; i >= 0; i--)
			w = w << 8 | p[i];
		h = key_mix(h ^ w) + 0x2545f4914f6cdd1dull;
	}
	if (n) {
		uint64_t w = 0;

		for (size_t i = n; i-- > 0;)
			w = w << 8 | p[i];
		h = key_mix(h ^ w ^ 0xff51afd7ed558ccdull);
	}
	return (int64_t)key_mix(h);
}

/* pb_key(account_id, event_id) for SQL: the v1 -> v2 migration. */
static void
sql_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *id = sqlite3_value_text(argv[1]);

	(void)argc;
	sqlite3_result_int64(ctx, key_of(sqlite3_value_int64(argv[0]),
					 id ? (const char *)id : "",
					 (size_t)sqlite3_value_bytes(argv[1])));
}

static int64_t
record_key(struct sq *s, int64_t account_id, const char *event_id,
	   size_t n)
{
	int64_t k = key_of(account_id, event_id, n);

	/* Test seam: few distinct keys, so collisions are the norm. */
	if (s->base.test_key_bits > 0 && s->base.test_key_bits < 64)
		k &= (int64_t)((1ull << s->base.test_key_bits) - 1);
	return k;
}

struct found {
	int64_t id;
	int64_t state;
	unsigned legs;
};

/*
 * Finds the row of (account, event_id) through its key. Rows whose key
 * merely collides are skipped by comparing the stored id. Returns
 * SQLITE_ROW (found), SQLITE_DONE (none) or an error.
 */
static int
find_row(struct sq *s, const struct account *ac, int64_t key,
	 const char *event_id, size_t n, struct found *f)
{
	sqlite3_stmt *q = stmt(s, S_KEY_FIND);
	int rc;

	if (!q)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, key);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const void *id = sqlite3_column_blob(q, 4);

		if (sqlite3_column_int64(q, 1) != ac->id ||
		    (size_t)sqlite3_column_bytes(q, 4) != n ||
		    (n && memcmp(id, event_id, n)))
			continue;
		f->id = sqlite3_column_int64(q, 0);
		f->state = sqlite3_column_int64(q, 2);
		f->legs = (unsigned)sqlite3_column_int64(q, 3);
		break;
	}
	sqlite3_reset(q);
	return rc;
}

/* Lets the merge callback rewrite a pending row's payload. */
static int
merge_payload(struct sq *s, int64_t id, struct store_record *r,
	      unsigned legs, int *replace)
{
	sqlite3_stmt *q = stmt(s, S_PAYLOAD_GET);
	const char *p = "";
	size_t n = 0;
	int rc;

	*replace = 0;
	if (!q)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_reset(q);
		return rc;
	}
	if (rc == SQLITE_ROW && sqlite3_column_blob(q, 0)) {
		p = sqlite3_column_blob(q, 0);
		n = (size_t)sqlite3_column_bytes(q, 0);
	}
	buf_reset(&s->merged);
	*replace = s->base.cfg.merge(s->base.cfg.merge_arg, p, n, r->payload,
				     r->payload_len, legs, r->legs,
				     &s->merged) == 1;
	sqlite3_reset(q);
	if (*replace && s->merged.len > STORE_MAX_PAYLOAD_BYTES)
		*replace = 0;
	if (!*replace)
		return SQLITE_OK;
	if (!(q = stmt(s, S_PAYLOAD_PUT)))
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_blob(q, 2, s->merged.data, (int)s->merged.len,
			  SQLITE_STATIC);
	return run(q);
}

/* Folds a record into the existing row with the same key. */
static int
append_existing(struct sq *s, const struct found *f, struct store_record *r)
{
	sqlite3_stmt *u;
	unsigned legs = f->legs | r->legs;
	int rc, replace;

	r->outcome = f->state == ST_PENDING ? STORE_MERGED : STORE_DUPLICATE;
	if (f->state == ST_PENDING && s->base.cfg.merge &&
	    (rc = merge_payload(s, f->id, r, legs, &replace)) != SQLITE_OK)
		return rc;
	if (legs == f->legs)
		return SQLITE_OK;
	if (!(u = stmt(s, S_SET_LEGS)))
		return SQLITE_ERROR;
	sqlite3_bind_int64(u, 1, f->id);
	sqlite3_bind_int64(u, 2, legs);
	return run(u);
}

/* ---- batches ------------------------------------------------------- */

/* Copies blob column i of the current row into out. */
static void
col_to_buf(sqlite3_stmt *q, int i, struct buf *out)
{
	buf_reset(out);
	buf_add(out, sqlite3_column_blob(q, i),
		(size_t)sqlite3_column_bytes(q, i));
}

/*
 * Reads a batch's account, live count, marks (into `marks`) and the
 * retries it had as a whole, which every record read out of it adds to
 * its own attempts.
 */
static int
chunk_marks_read(struct sq *s, int64_t id, int64_t *account_id,
		 int64_t *live, struct buf *marks, int *attempts)
{
	sqlite3_stmt *q = stmt(s, S_CK_MARKS);
	int rc;

	if (!q)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*account_id = sqlite3_column_int64(q, 0);
		*live = sqlite3_column_int64(q, 1);
		col_to_buf(q, 2, marks);
		*attempts = sqlite3_column_int(q, 3);
	}
	sqlite3_reset(q);
	return rc;
}

static int
chunk_marks_write(struct sq *s, int64_t id, const struct buf *marks,
		  int64_t live)
{
	sqlite3_stmt *q = stmt(s, S_CK_SET_MARKS);

	if (!q)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_blob(q, 2, marks->data, (int)marks->len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, live);
	sqlite3_bind_int64(q, 4, now_ms(s));
	return run(q);
}

/* Reads a whole batch blob into `out`. SQLITE_DONE when it is gone. */
static int
chunk_recs_read(struct sq *s, int64_t id, struct buf *out)
{
	sqlite3_stmt *q = stmt(s, S_CK_RECS);
	int rc;

	if (!q)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		col_to_buf(q, 0, out);
	sqlite3_reset(q);
	return rc;
}

/*
 * Reads one record of a written batch without loading the others (an
 * incremental blob read) into s->scratch. SQLITE_DONE when the batch or
 * slot is gone.
 */
static int
chunk_read_slot(struct sq *s, int64_t id, size_t slot, struct chunk_rec *r)
{
	sqlite3_blob *b;
	uint32_t n, ends[2] = { 0, 0 };
	size_t head, start, end;
	int rc, len;

	rc = sqlite3_blob_open(s->db, "main", "chunk_data", "recs", id, 0, &b);
	if (rc != SQLITE_OK)
		return SQLITE_DONE;	/* pruned, or never written */
	len = sqlite3_blob_bytes(b);
	if ((rc = sqlite3_blob_read(b, &n, 4, 0)) != SQLITE_OK)
		goto out;
	rc = SQLITE_CORRUPT;
	if (slot >= n || !(head = chunk_head_len(n, (size_t)len)))
		goto out;
	if (slot) {
		if ((rc = sqlite3_blob_read(b, ends, 8,
		    (int)(4 + 4 * (slot - 1)))) != SQLITE_OK)
			goto out;
	} else if ((rc = sqlite3_blob_read(b, &ends[1], 4, 4)) != SQLITE_OK) {
		goto out;
	}
	rc = SQLITE_CORRUPT;
	if (chunk_extent(ends[0], ends[1], (size_t)len - head, &start,
	    &end) < 0)
		goto out;
	buf_reset(&s->scratch);
	buf_grow(&s->scratch, end - start);
	if ((rc = sqlite3_blob_read(b, s->scratch.data, (int)(end - start),
	    (int)(head + start))) != SQLITE_OK)
		goto out;
	s->scratch.len = end - start;
	rc = chunk_decode(s->scratch.data, s->scratch.len, r) < 0 ?
	    SQLITE_CORRUPT : SQLITE_OK;
out:
	sqlite3_blob_close(b);
	return rc;
}

/* Loads the writer's index from every batch on disk (moved slots aside). */
static int
index_load(struct sq *s)
{
	sqlite3_stmt *q = stmt(s, S_CK_ALL_KEYS);
	int rc;

	if (!q)
		return SQLITE_ERROR;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		const unsigned char *marks = sqlite3_column_blob(q, 1);
		size_t nm = (size_t)sqlite3_column_bytes(q, 1);
		const unsigned char *keys = sqlite3_column_blob(q, 2);
		size_t nk = (size_t)sqlite3_column_bytes(q, 2) / 8;

		for (size_t i = 0; i < nk && i < nm; i++) {
			uint64_t k;

			if (marks[i] == CHUNK_MOVED)
				continue;
			memcpy(&k, keys + 8 * i, 8);
			slotindex_add(&s->ix, k, chunk_slot_handle(id, i));
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return rc;
	s->ix_loaded = true;
	return SQLITE_OK;
}

static void
index_add(struct sq *s, uint64_t key, int64_t slot)
{
	slotindex_add(&s->ix, key, slot);
	if (s->nundo == s->undo_cap) {
		s->undo_cap = s->undo_cap ? 2 * s->undo_cap : 256;
		s->undo = xrealloc(s->undo, s->undo_cap * sizeof(*s->undo));
	}
	s->undo[s->nundo].key = key;
	s->undo[s->nundo++].slot = slot;
}

static struct chunk_builder *
builder_of(struct sq *s, int64_t chunk_id)
{
	for (size_t i = 0; i < s->nbld; i++)
		if (s->bld[i].id == chunk_id)
			return &s->bld[i];
	return NULL;
}

/* Writes a finished batch: its row's summary, then its immutable data. */
static int
builder_flush(struct sq *s, struct chunk_builder *b)
{
	sqlite3_stmt *u = stmt(s, S_CK_FLUSH), *d = stmt(s, S_CK_DATA);
	int64_t live = 0;
	int rc;

	if (!u || !d)
		return SQLITE_ERROR;
	for (size_t i = 0; i < b->n; i++)
		live += b->marks.data[i] == CHUNK_LIVE;
	sqlite3_bind_int64(u, 1, b->id);
	sqlite3_bind_int64(u, 2, b->due_ms);
	sqlite3_bind_int64(u, 3, b->min_event_time);
	sqlite3_bind_int64(u, 4, live);
	sqlite3_bind_blob(u, 5, b->marks.data, (int)b->marks.len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(u, 6, now_ms(s));
	if ((rc = run(u)) != SQLITE_OK)
		return rc;
	chunk_builder_blob(b, &s->scratch);
	sqlite3_bind_int64(d, 1, b->id);
	sqlite3_bind_blob(d, 2, b->keys.data, (int)b->keys.len, SQLITE_STATIC);
	sqlite3_bind_blob(d, 3, s->scratch.data, (int)s->scratch.len,
			  SQLITE_STATIC);
	return run(d);
}

/* This transaction's open batch for account_id, started if needed. */
static int
builder_for(struct sq *s, int64_t account_id, struct chunk_builder **out)
{
	struct chunk_builder *b = NULL;
	sqlite3_stmt *q;
	int rc;

	for (size_t i = s->nbld; i-- > 0;) {
		if (s->bld[i].account_id == account_id) {
			b = &s->bld[i];
			break;
		}
	}
	if (b && b->n < CHUNK_MAX_SLOTS) {
		*out = b;
		return SQLITE_OK;
	}
	if (b) {
		if ((rc = builder_flush(s, b)) != SQLITE_OK)
			return rc;
		/* On disk now: later changes to it go through its row. */
		b->id = b->account_id = 0;
		b->n = 0;
	}
	if (!(q = stmt(s, S_CK_NEW)))
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, account_id);
	if ((rc = run(q)) != SQLITE_OK)
		return rc;
	if (s->nbld == s->bld_cap) {
		size_t cap = s->bld_cap ? 2 * s->bld_cap : 4;

		s->bld = xrealloc(s->bld, cap * sizeof(*s->bld));
		for (size_t i = s->bld_cap; i < cap; i++)
			chunk_builder_init(&s->bld[i]);
		s->bld_cap = cap;
	}
	/* A flushed batch keeps its slot: ids stay unique per transaction. */
	b = &s->bld[s->nbld++];
	chunk_builder_reset(b, sqlite3_last_insert_rowid(s->db), account_id);
	*out = b;
	return SQLITE_OK;
}

/*
 * Puts c in this transaction's batch of account_id, due when the store
 * record r is (not before not_before, nor before it was received), and
 * indexes it under key.
 */
static int
batch_add(struct sq *s, int64_t account_id, const struct chunk_rec *c,
	  uint64_t key, const struct store_record *r)
{
	struct chunk_builder *b;
	int64_t due = r->not_before_ms > r->received_at_ms ? r->not_before_ms
							   : r->received_at_ms;
	int rc = builder_for(s, account_id, &b);

	if (rc == SQLITE_OK)
		index_add(s, key, chunk_slot_handle(b->id,
		    chunk_builder_add(b, c, key, due)));
	return rc;
}

/*
 * Where a slot stands, and its record when it matches the event; kept so
 * that marking the slot moved does not read its batch again.
 */
struct slot_hit {
	int64_t slot;
	enum chunk_mark mark;
	struct chunk_rec rec;
	struct chunk_builder *b;	/* this transaction's batch, or NULL */
	int64_t live;			/* else: the batch's live count */
	struct buf marks;		/* and its marks (the caller's buffer) */
};

/*
 * Whether index candidate `slot` holds (account_id, event_id): SQLITE_ROW
 * with h filled when it does, SQLITE_DONE when not (a collision, or a
 * stale entry).
 */
static int
slot_match(struct sq *s, int64_t slot, int64_t account_id,
	   const char *event_id, size_t idlen, struct slot_hit *h)
{
	int64_t id = chunk_id_of(slot), acct;
	size_t k = chunk_slot_of(slot);
	int rc, attempts;

	h->slot = slot;
	if ((h->b = builder_of(s, id)) != NULL) {
		if (h->b->account_id != account_id ||
		    chunk_builder_get(h->b, k, &h->rec) < 0)
			return SQLITE_DONE;
		h->mark = (enum chunk_mark)h->b->marks.data[k];
	} else {
		rc = chunk_marks_read(s, id, &acct, &h->live, &h->marks,
		    &attempts);
		if (rc != SQLITE_ROW)
			return rc;
		h->mark = k < h->marks.len ? (enum chunk_mark)h->marks.data[k]
		    : CHUNK_MOVED;
		if (acct != account_id)
			return SQLITE_DONE;
		if ((rc = chunk_read_slot(s, id, k, &h->rec)) != SQLITE_OK)
			return rc;
		h->rec.attempts += attempts;
	}
	if (h->mark == CHUNK_MOVED || h->rec.id_len != idlen ||
	    memcmp(h->rec.event_id, event_id, idlen))
		return SQLITE_DONE;
	return SQLITE_ROW;
}

/* Marks the slot slot_match() found moved. */
static int
slot_mark_moved(struct sq *s, struct slot_hit *h)
{
	size_t k = chunk_slot_of(h->slot);

	if (h->b) {
		h->b->marks.data[k] = CHUNK_MOVED;
		return SQLITE_OK;
	}
	if (h->mark != CHUNK_LIVE)
		return SQLITE_OK;
	h->marks.data[k] = CHUNK_MOVED;
	return chunk_marks_write(s, chunk_id_of(h->slot), &h->marks,
	    h->live - 1);
}

/*
 * A second leg for a pending batched event: the merged event takes a new
 * slot in this transaction's batch and the old slot is marked moved, so a
 * worker holding the old one delivers it and the new one follows (the
 * same event_id; Pinterest keeps one).
 */
static int
slot_supersede(struct sq *s, struct account *ac, struct slot_hit *h,
	       struct store_record *r, uint64_t key)
{
	struct chunk_rec m = h->rec;
	struct buf copy = BUF_INIT;
	int rc, replace = 0;

	m.legs = h->rec.legs | r->legs;
	if (s->base.cfg.merge) {
		buf_reset(&s->merged);
		replace = s->base.cfg.merge(s->base.cfg.merge_arg,
		    h->rec.payload, h->rec.payload_len, r->payload,
		    r->payload_len, m.legs, r->legs, &s->merged) == 1 &&
		    s->merged.len <= STORE_MAX_PAYLOAD_BYTES;
	}
	/* The old record may live in the buffer the new one grows. */
	buf_add(&copy, h->rec.event_id, h->rec.id_len);
	buf_add(&copy, h->rec.event_name, h->rec.name_len);
	if (h->rec.order_id)
		buf_add(&copy, h->rec.order_id, h->rec.order_len);
	if (!replace)
		buf_add(&copy, h->rec.payload, h->rec.payload_len);
	m.event_id = copy.data;
	m.event_name = copy.data + m.id_len;
	if (m.order_id)
		m.order_id = copy.data + m.id_len + m.name_len;
	if (replace) {
		m.payload = s->merged.data;
		m.payload_len = s->merged.len;
	} else {
		m.payload = copy.data + m.id_len + m.name_len +
		    (m.order_id ? m.order_len : 0);
	}
	rc = slot_mark_moved(s, h);
	if (rc == SQLITE_OK)
		rc = batch_add(s, ac->id, &m, key, r);
	if (rc == SQLITE_OK)
		r->outcome = STORE_MERGED;
	buf_release(&copy);
	return rc;
}

/*
 * Looks the event up among the batched slots. SQLITE_ROW when it was
 * found and handled (merged or a duplicate), SQLITE_DONE when not there.
 */
static int
append_batched(struct sq *s, struct account *ac, uint64_t key,
	       struct store_record *r, size_t idlen)
{
	struct slot_hit h = { .marks = BUF_INIT };
	size_t pos = 0;
	int64_t slot;
	int rc = SQLITE_DONE;

	while ((slot = slotindex_next(&s->ix, key, &pos)) != 0) {
		rc = slot_match(s, slot, ac->id, r->event_id, idlen, &h);
		if (rc == SQLITE_DONE)
			continue;
		if (rc == SQLITE_ROW && h.mark == CHUNK_DONE) {
			r->outcome = STORE_DUPLICATE;
		} else if (rc == SQLITE_ROW) {
			rc = slot_supersede(s, ac, &h, r, key);
			if (rc == SQLITE_OK)
				rc = SQLITE_ROW;
		}
		break;
	}
	buf_release(&h.marks);
	return rc;
}

static int
append_one(struct sq *s, struct store_record *r)
{
	struct account *ac;
	struct chunk_rec c;
	struct found f;
	size_t idlen = strlen(r->event_id);
	int64_t key;
	int rc;

	if ((rc = acct_get(s, r->account, 1, &ac)) != SQLITE_OK)
		return rc;
	key = record_key(s, ac->id, r->event_id, idlen);
	rc = append_batched(s, ac, (uint64_t)key, r, idlen);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_ROW ? SQLITE_OK : rc;
	/* Rows of their own: retried, released, dead or replayed events. */
	rc = find_row(s, ac, key, r->event_id, idlen, &f);
	if (rc == SQLITE_ROW)
		return append_existing(s, &f, r);
	if (rc != SQLITE_DONE)
		return rc;
	memset(&c, 0, sizeof(c));
	c.event_id = r->event_id;
	c.id_len = idlen;
	c.event_name = r->event_name;
	c.name_len = strlen(r->event_name);
	c.order_id = r->order_id;
	c.order_len = r->order_id ? strlen(r->order_id) : 0;
	c.payload = r->payload;
	c.payload_len = r->payload_len;
	c.event_time = r->event_time;
	c.received_at_ms = r->received_at_ms;
	c.legs = r->legs;
	if ((rc = batch_add(s, ac->id, &c, (uint64_t)key, r)) != SQLITE_OK)
		return rc;
	r->outcome = STORE_NEW;
	ac->d_pending++;
	ac->touched = 1;
	return SQLITE_OK;
}

static int
sq_append_spans(struct store *st, const struct store_span *spans,
		size_t nspans)
{
	struct sq *s = sq_of(st);
	int rc;

	if ((rc = txn_begin(s, DURABLE)) != SQLITE_OK)
		return fail(s, rc, "cannot begin append");
	if (!s->ix_loaded && (rc = index_load(s)) != SQLITE_OK)
		return txn_abort(s, rc, "cannot load the batch index");
	for (size_t i = 0; i < nspans; i++) {
		for (size_t k = 0; k < spans[i].n; k++) {
			rc = append_one(s, &spans[i].recs[k]);
			if (rc != SQLITE_OK)
				return txn_abort(s, rc, "append failed");
		}
	}
	for (size_t i = 0; i < s->nbld; i++) {
		if (s->bld[i].n && (rc = builder_flush(s, &s->bld[i])) !=
		    SQLITE_OK)
			return txn_abort(s, rc, "append failed");
	}
	return txn_commit(s);
}

/* ---- delivery ------------------------------------------------------- */

/* Batches one claim looks at, at most. */
#define CLAIM_BATCHES	16

/*
 * Gives a batched event a row of its own in `events` (pending, due at
 * due_ms, attempts kept). The caller marks its slot moved.
 */
static int
move_slot(struct sq *s, int64_t account_id, const struct chunk_rec *c,
	  int64_t due_ms, int64_t *rowid)
{
	sqlite3_stmt *q = stmt(s, S_MOVE_INSERT), *p = stmt(s, S_PAYLOAD_ADD);
	int rc;

	if (!q || !p)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, account_id);
	sqlite3_bind_int64(q, 2, c->legs);
	sqlite3_bind_int64(q, 3, due_ms);
	sqlite3_bind_int64(q, 4, c->event_time);
	sqlite3_bind_int64(q, 5, c->received_at_ms);
	sqlite3_bind_int64(q, 6, record_key(s, account_id, c->event_id,
					    c->id_len));
	sqlite3_bind_text(q, 7, c->event_id, (int)c->id_len, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, c->event_name, (int)c->name_len,
			  SQLITE_STATIC);
	if (c->order_id)
		sqlite3_bind_text(q, 9, c->order_id, (int)c->order_len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 9);
	sqlite3_bind_int64(q, 10, c->attempts);
	if ((rc = run(q)) != SQLITE_OK)
		return rc;
	*rowid = sqlite3_last_insert_rowid(s->db);
	sqlite3_bind_int64(p, 1, *rowid);
	sqlite3_bind_blob(p, 2, c->payload, (int)c->payload_len, SQLITE_STATIC);
	return run(p);
}

/* Copies a batched event into a claimed row. */
static void
row_from_rec(struct store_row *r, int64_t slot, const struct chunk_rec *c,
	     struct arena *a)
{
	r->id = -slot;
	r->event_id = arena_strndup(a, c->event_id, c->id_len);
	r->event_name = arena_strndup(a, c->event_name, c->name_len);
	r->order_id = c->order_id ? arena_strndup(a, c->order_id,
						  c->order_len) : NULL;
	r->event_time = c->event_time;
	r->received_at_ms = c->received_at_ms;
	r->legs = c->legs;
	r->attempts = c->attempts;
	r->payload = arena_strndup(a, c->payload, c->payload_len);
	r->payload_len = c->payload_len;
}

/*
 * Claims one due batch whole: its live slots become rows v[*k...], and
 * the batch one lease. A batch bigger than what is left of `max` is
 * skipped, unless nothing was claimed yet: then the slots past `max` move
 * to rows of their own, due now.
 */
static int
claim_batch(struct sq *s, int64_t id, const char *owner, int64_t until,
	    size_t max, struct arena *a, struct store_row *v, size_t *k)
{
	struct buf marks = BUF_INIT;
	struct chunk_rec c;
	sqlite3_stmt *u;
	int64_t acct, live, taken = 0, rowid;
	int rc, attempts;
	long n;

	rc = chunk_marks_read(s, id, &acct, &live, &marks, &attempts);
	if (rc != SQLITE_ROW || live <= 0 || (*k && *k + (size_t)live > max))
		goto out;
	if ((rc = chunk_recs_read(s, id, &s->scratch)) != SQLITE_ROW)
		goto out;
	n = chunk_count(s->scratch.data, s->scratch.len);
	rc = SQLITE_CORRUPT;
	if (n < 0 || (size_t)n != marks.len)
		goto out;
	for (long i = 0; i < n; i++) {
		if (marks.data[i] != CHUNK_LIVE)
			continue;
		if (chunk_get(s->scratch.data, s->scratch.len, (size_t)i, &c))
			goto out;
		c.attempts += attempts;
		if (*k < max) {
			row_from_rec(&v[(*k)++], chunk_slot_handle(id,
			    (size_t)i), &c, a);
			taken++;
			continue;
		}
		if ((rc = move_slot(s, acct, &c, now_ms(s), &rowid)) !=
		    SQLITE_OK)
			goto out;
		marks.data[i] = CHUNK_MOVED;
	}
	if (taken != live &&
	    (rc = chunk_marks_write(s, id, &marks, taken)) != SQLITE_OK)
		goto out;
	rc = SQLITE_ERROR;
	if (!(u = stmt(s, S_CK_LEASE)))
		goto out;
	sqlite3_bind_int64(u, 1, id);
	sqlite3_bind_text(u, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(u, 3, until);
	rc = run(u);
out:
	buf_release(&marks);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
claim_batches(struct sq *s, int64_t account_id, const char *owner,
	      size_t max, int64_t now, int64_t until, struct arena *a,
	      struct store_row *v, size_t *k)
{
	sqlite3_stmt *q = stmt(s, S_CK_DUE);
	int64_t ids[CLAIM_BATCHES];
	size_t nid, before;
	int rc;

	if (!q)
		return SQLITE_ERROR;
	/* Rounds until full, or until a round takes nothing (too big). */
	do {
		before = *k;
		nid = 0;
		sqlite3_bind_int64(q, 1, account_id);
		sqlite3_bind_int64(q, 2, now);
		sqlite3_bind_int64(q, 3, CLAIM_BATCHES);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW &&
		    nid < CLAIM_BATCHES)
			ids[nid++] = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			return rc;
		/* Leasing moves due_ms, so only after the scan is finished. */
		for (size_t i = 0; i < nid && *k < max; i++) {
			rc = claim_batch(s, ids[i], owner, until, max, a, v, k);
			if (rc != SQLITE_OK)
				return rc;
		}
	} while (nid == CLAIM_BATCHES && *k < max && *k > before);
	return SQLITE_OK;
}

static int
sq_claim(struct store *st, const char *account, const char *owner,
	 size_t max, int64_t lease_ms, struct arena *a,
	 struct store_row **rows, size_t *n)
{
	struct sq *s = sq_of(st);
	struct account *ac;
	struct store_row *v;
	sqlite3_stmt *q, *u;
	int64_t now = now_ms(s);
	size_t k = 0;
	int rc;

	if ((rc = txn_begin(s, RELAXED)) != SQLITE_OK)
		return fail(s, rc, "cannot begin claim");
	if ((rc = acct_get(s, account, 0, &ac)) != SQLITE_OK)
		return txn_abort(s, rc, "claim failed");
	if (!ac) {
		txn_rollback(s);
		return 0;
	}
	q = stmt(s, S_CLAIM_SELECT);
	u = stmt(s, S_CLAIM_LEASE);
	if (!q || !u)
		return txn_abort(s, SQLITE_ERROR, "cannot prepare claim");
	v = arena_alloc(a, max * sizeof(*v));
	sqlite3_bind_int64(q, 1, ac->id);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && k < max) {
		struct store_row *r = &v[k++];

		r->id = sqlite3_column_int64(q, 0);
		r->event_id = col_dup(a, q, 1);
		r->event_name = col_dup(a, q, 2);
		r->order_id = col_dup(a, q, 3);
		r->event_time = sqlite3_column_int64(q, 4);
		r->received_at_ms = sqlite3_column_int64(q, 5);
		r->legs = (unsigned)sqlite3_column_int64(q, 6);
		r->attempts = (int)sqlite3_column_int64(q, 7);
		r->payload_len = (size_t)sqlite3_column_bytes(q, 8);
		r->payload = arena_strndup(a, r->payload_len ?
					   sqlite3_column_blob(q, 8) : "",
					   r->payload_len);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return txn_abort(s, rc, "claim failed");
	/*
	 * Updating after the scan finished: changing due_ms moves rows
	 * within ev_due, which the open SELECT is walking.
	 */
	for (size_t i = 0; i < k; i++) {
		sqlite3_bind_int64(u, 1, v[i].id);
		sqlite3_bind_text(u, 2, owner, -1, SQLITE_STATIC);
		sqlite3_bind_int64(u, 3, now + lease_ms);
		if ((rc = run(u)) != SQLITE_OK)
			return txn_abort(s, rc, "claim failed");
	}
	if (k < max && (rc = claim_batches(s, ac->id, owner, max, now,
	    now + lease_ms, a, v, &k)) != SQLITE_OK)
		return txn_abort(s, rc, "claim failed");
	if ((rc = txn_commit(s)) != 0)
		return rc;
	*rows = v;
	*n = k;
	return 0;
}

/* A batch whose slots one delivery transaction is marking. */
struct open_batch {
	int64_t id;			/* 0: none open; -1: gone */
	int64_t account_id;
	int64_t live;
	int attempts;			/* the batch's own retries */
	bool dirty;
	bool have_recs;			/* s->scratch holds its records */
	struct buf marks;
};

static int
batch_close(struct sq *s, struct open_batch *ob)
{
	int rc = SQLITE_OK;

	if (ob->id > 0 && ob->dirty)
		rc = chunk_marks_write(s, ob->id, &ob->marks, ob->live);
	ob->id = 0;
	ob->dirty = ob->have_recs = false;
	return rc;
}

static int
batch_open(struct sq *s, struct open_batch *ob, int64_t id)
{
	int rc;

	if (ob->id == id || (ob->id == -1 && id == -1))
		return SQLITE_OK;
	if ((rc = batch_close(s, ob)) != SQLITE_OK)
		return rc;
	rc = chunk_marks_read(s, id, &ob->account_id, &ob->live,
			      &ob->marks, &ob->attempts);
	ob->id = rc == SQLITE_ROW ? id : -1;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A whole batch rescheduled: retried (attempts + 1) or released. */
struct requeue {
	int64_t due_ms;
	int attempts;
};

/*
 * How many ids from ids[i] on are slots of the open batch, if together
 * they are exactly its live slots (each once); 0 otherwise.
 */
static size_t
whole_batch_run(const struct open_batch *ob, const int64_t *ids, size_t i,
		size_t n)
{
	uint8_t seen[(CHUNK_MAX_SLOTS + 7) / 8];
	size_t j;

	memset(seen, 0, sizeof(seen));
	for (j = i; j < n && ids[j] < 0 && chunk_id_of(-ids[j]) == ob->id;
	    j++) {
		size_t k = chunk_slot_of(-ids[j]);

		if (k >= ob->marks.len || k >= CHUNK_MAX_SLOTS ||
		    ob->marks.data[k] != CHUNK_LIVE || seen[k / 8] & 1 << k % 8)
			return 0;
		seen[k / 8] |= (uint8_t)(1 << k % 8);
	}
	return (int64_t)(j - i) == ob->live ? j - i : 0;
}

static int
batch_requeue(struct sq *s, int64_t id, const struct requeue *rq)
{
	sqlite3_stmt *q = stmt(s, S_CK_REQUEUE);

	if (!q)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, rq->due_ms);
	sqlite3_bind_int(q, 3, rq->attempts);
	return run(q);
}

/*
 * Resolves the batched ids (negative) among ids before a mark: a
 * delivered slot is marked done in place (counters dp, dd, dx) and needs
 * nothing more (rid[i] = 0); so does a whole batch rescheduled by `rq`
 * (a retry or release of every live slot it has, as one delivery request
 * produces). Otherwise the event moves to a row of its own and rid[i] is
 * that row. Row ids pass through; a slot no longer live (marked before,
 * or superseded) gives 0.
 */
static int
resolve_batched(struct sq *s, const int64_t *ids, size_t n, bool done,
		const struct requeue *rq, int64_t dp, int64_t dd, int64_t dx,
		int64_t *rid)
{
	struct open_batch ob;
	struct chunk_rec c;
	int rc = SQLITE_OK;
	size_t run_len;

	memset(&ob, 0, sizeof(ob));
	buf_init(&ob.marks, 0);
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		size_t k = chunk_slot_of(-ids[i]);

		rid[i] = ids[i] > 0 ? ids[i] : 0;
		if (ids[i] > 0)
			continue;
		if ((rc = batch_open(s, &ob, chunk_id_of(-ids[i]))) !=
		    SQLITE_OK)
			break;
		if (rq && ob.id > 0 && !ob.dirty &&
		    (run_len = whole_batch_run(&ob, ids, i, n)) > 0) {
			rc = batch_requeue(s, ob.id, rq);
			memset(&rid[i], 0, run_len * sizeof(*rid));
			i += run_len - 1;
			continue;
		}
		if (ob.id < 0 || k >= ob.marks.len ||
		    ob.marks.data[k] != CHUNK_LIVE)
			continue;
		if (done) {
			ob.marks.data[k] = CHUNK_DONE;
			acct_delta(s, ob.account_id, dp, dd, dx);
		} else {
			if (!ob.have_recs) {
				rc = chunk_recs_read(s, ob.id, &s->scratch);
				if (rc != SQLITE_ROW)
					break;
				rc = SQLITE_OK;
				ob.have_recs = true;
			}
			if (chunk_get(s->scratch.data, s->scratch.len, k, &c)) {
				rc = SQLITE_CORRUPT;
				break;
			}
			c.attempts += ob.attempts;
			rc = move_slot(s, ob.account_id, &c, now_ms(s),
				       &rid[i]);
			ob.marks.data[k] = CHUNK_MOVED;
		}
		ob.live--;
		ob.dirty = true;
	}
	if (rc == SQLITE_OK)
		rc = batch_close(s, &ob);
	buf_release(&ob.marks);
	return rc == SQLITE_DONE ? SQLITE_CORRUPT : rc;
}

/*
 * Runs `id` once per pending row among ids, inside one transaction;
 * rows no longer pending (marked already, by a worker whose lease ran
 * out, or requeued) are left alone. dp, dd, dx: how the row's account
 * counters move. bind(q, arg, i) binds ?2... for row i.
 */
static int
mark_rows(struct sq *s, enum stmt_id id, const int64_t *ids, size_t n,
	  void (*bind)(sqlite3_stmt *q, const void *arg, size_t i),
	  const void *arg, const struct requeue *rq, int64_t dp, int64_t dd,
	  int64_t dx)
{
	sqlite3_stmt *q, *sel, *drop = NULL;
	int64_t *rid;
	int rc;

	if ((rc = txn_begin(s, RELAXED)) != SQLITE_OK)
		return fail(s, rc, "cannot begin update");
	if (!(q = stmt(s, id)) || !(sel = stmt(s, S_PENDING_ACCOUNT)) ||
	    (id == S_DONE && !(drop = stmt(s, S_PAYLOAD_DROP))))
		return txn_abort(s, SQLITE_ERROR, "cannot prepare update");
	rid = xmalloc(n * sizeof(*rid));
	rc = resolve_batched(s, ids, n, id == S_DONE, rq, dp, dd, dx, rid);
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		int64_t account_id;

		if (!rid[i])
			continue;
		sqlite3_bind_int64(sel, 1, rid[i]);
		rc = sqlite3_step(sel);
		account_id = rc == SQLITE_ROW ? sqlite3_column_int64(sel, 0)
					      : 0;
		sqlite3_reset(sel);
		if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
			continue;
		}
		if (rc != SQLITE_ROW)
			break;
		sqlite3_bind_int64(q, 1, rid[i]);
		if (bind)
			bind(q, arg, i);
		if ((rc = run(q)) != SQLITE_OK)
			break;
		if (dp || dd || dx)
			acct_delta(s, account_id, dp, dd, dx);
		/* Delivered: only the key is kept, for idempotency. */
		if (drop) {
			sqlite3_bind_int64(drop, 1, rid[i]);
			if ((rc = run(drop)) != SQLITE_OK)
				break;
		}
	}
	free(rid);
	if (rc != SQLITE_OK)
		return txn_abort(s, rc, "update failed");
	return txn_commit(s);
}

static void
bind_now(sqlite3_stmt *q, const void *arg, size_t i)
{
	(void)i;
	sqlite3_bind_int64(q, 2, *(const int64_t *)arg);
}

static int
sq_mark_done(struct store *st, const int64_t *ids, size_t n)
{
	struct sq *s = sq_of(st);
	int64_t now = now_ms(s);

	return mark_rows(s, S_DONE, ids, n, bind_now, &now, NULL, -1, 1, 0);
}

struct retry_arg {
	int64_t next;
	const char *error;
	size_t error_len;
};

static void
bind_retry(sqlite3_stmt *q, const void *arg, size_t i)
{
	const struct retry_arg *r = arg;

	(void)i;
	sqlite3_bind_int64(q, 2, r->next);
	if (r->error)
		sqlite3_bind_text(q, 3, r->error, (int)r->error_len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 3);
}

static size_t
clamp_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > MAX_ERROR_BYTES ? MAX_ERROR_BYTES : n;
}

static int
sq_mark_retry(struct store *st, const int64_t *ids, size_t n,
	      int64_t next_attempt_ms, const char *error)
{
	struct retry_arg r = { next_attempt_ms, error, clamp_len(error) };
	struct requeue rq = { next_attempt_ms, 1 };

	return mark_rows(sq_of(st), S_RETRY, ids, n, bind_retry, &r, &rq, 0,
	    0, 0);
}

struct dead_arg {
	int64_t now;
	const char *reason;
	const char *const *messages;	/* one per row, or NULL */
	const char *message;		/* when messages is NULL */
};

static void
bind_dead(sqlite3_stmt *q, const void *arg, size_t i)
{
	const struct dead_arg *d = arg;
	const char *m = d->messages ? d->messages[i] : d->message;

	sqlite3_bind_int64(q, 2, d->now);
	sqlite3_bind_text(q, 3, d->reason, -1, SQLITE_STATIC);
	if (m)
		sqlite3_bind_text(q, 4, m, (int)clamp_len(m), SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 4);
}

static int
sq_mark_dead_each(struct store *st, const int64_t *ids,
		  const char *const *messages, size_t n, const char *reason)
{
	struct sq *s = sq_of(st);
	struct dead_arg d = { now_ms(s), reason, messages, NULL };

	return mark_rows(s, S_DEAD, ids, n, bind_dead, &d, NULL, -1, 0, 1);
}

static int
sq_mark_dead(struct store *st, const int64_t *ids, size_t n,
	     const char *reason, const char *message)
{
	struct sq *s = sq_of(st);
	struct dead_arg d = { now_ms(s), reason, NULL, message };

	return mark_rows(s, S_DEAD, ids, n, bind_dead, &d, NULL, -1, 0, 1);
}

static int
sq_release(struct store *st, const int64_t *ids, size_t n)
{
	struct sq *s = sq_of(st);
	int64_t now = now_ms(s);
	struct requeue rq = { now, 0 };

	return mark_rows(s, S_RELEASE, ids, n, bind_now, &now, &rq, 0, 0, 0);
}

/* ---- monitoring and operations -------------------------------------- */

static int
sq_stats(struct store *st, struct arena *a, struct store_stats **out,
	 size_t *n)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = stmt(s, S_ACCOUNTS_ALL);
	sqlite3_stmt *qf = stmt(s, S_IN_FLIGHT);
	sqlite3_stmt *qo = stmt(s, S_OLDEST);
	sqlite3_stmt *cf = stmt(s, S_CK_IN_FLIGHT);
	sqlite3_stmt *co = stmt(s, S_CK_OLDEST);
	struct store_stats *v = NULL;
	size_t k = 0, cap = 0;
	int64_t now = now_ms(s);
	int rc;

	if (!q || !qf || !qo || !cf || !co)
		return STORE_EIO;
	/* A read transaction, so counters and indexes agree. */
	if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return fail(s, rc, "cannot read stats");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_stats *e;

		if (k == cap) {
			struct store_stats *nv;

			cap = cap ? 2 * cap : 16;
			nv = arena_alloc(a, cap * sizeof(*nv));
			if (k)
				memcpy(nv, v, k * sizeof(*nv));
			v = nv;
		}
		e = &v[k++];
		memset(e, 0, sizeof(*e));
		e->account = col_dup(a, q, 1);
		e->pending = sqlite3_column_int64(q, 2);
		e->done = sqlite3_column_int64(q, 3);
		e->dead = sqlite3_column_int64(q, 4);

		sqlite3_bind_int64(qf, 1, sqlite3_column_int64(q, 0));
		sqlite3_bind_int64(qf, 2, now);
		if (sqlite3_step(qf) == SQLITE_ROW)
			e->in_flight = sqlite3_column_int64(qf, 0);
		sqlite3_reset(qf);

		sqlite3_bind_int64(cf, 1, sqlite3_column_int64(q, 0));
		sqlite3_bind_int64(cf, 2, now);
		if (sqlite3_step(cf) == SQLITE_ROW)
			e->in_flight += sqlite3_column_int64(cf, 0);
		sqlite3_reset(cf);

		sqlite3_bind_int64(qo, 1, sqlite3_column_int64(q, 0));
		if (sqlite3_step(qo) == SQLITE_ROW)
			e->oldest_pending_time = sqlite3_column_int64(qo, 0);
		sqlite3_reset(qo);
		/* A batch's oldest counts until all of it is resolved. */
		sqlite3_bind_int64(co, 1, sqlite3_column_int64(q, 0));
		if (sqlite3_step(co) == SQLITE_ROW &&
		    sqlite3_column_type(co, 0) != SQLITE_NULL) {
			int64_t t = sqlite3_column_int64(co, 0);

			if (!e->oldest_pending_time ||
			    t < e->oldest_pending_time)
				e->oldest_pending_time = t;
		}
		sqlite3_reset(co);
	}
	sqlite3_reset(q);
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_DONE)
		return fail(s, rc, "cannot read stats");
	*out = v;
	*n = k;
	return 0;
}

/*
 * Binds a dead-letter filter. Returns 1 when the filter names an account
 * that does not exist (nothing can match), 0 when bound, or an error.
 */
static int
bind_filter(struct sq *s, sqlite3_stmt *q, const struct store_filter *f)
{
	if (f->account) {
		struct account *ac;
		int rc = acct_get(s, f->account, 0, &ac);

		if (rc != SQLITE_OK)
			return -rc;
		if (!ac)
			return 1;
		sqlite3_bind_int64(q, 1, ac->id);
	} else {
		sqlite3_bind_null(q, 1);
	}
	sqlite3_bind_int64(q, 2, f->from_time);
	sqlite3_bind_int64(q, 3, f->to_time);
	bind_text_or_null(q, 4, f->event_id);
	return 0;
}

static int
sq_dead_list(struct store *st, const struct store_filter *f, size_t limit,
	     store_dead_fn fn, void *arg)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = stmt(s, S_DEAD_LIST);
	size_t k = 0;
	int rc;

	if (!q)
		return STORE_EIO;
	if ((rc = bind_filter(s, q, f)) != 0) {
		sqlite3_reset(q);
		return rc == 1 ? 0 : fail(s, -rc, "cannot list dead letters");
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_dead d;

		d.id = sqlite3_column_int64(q, 0);
		d.account = (const char *)sqlite3_column_text(q, 1);
		d.event_id = (const char *)sqlite3_column_text(q, 2);
		d.event_name = (const char *)sqlite3_column_text(q, 3);
		d.order_id = (const char *)sqlite3_column_text(q, 4);
		d.event_time = sqlite3_column_int64(q, 5);
		d.received_at_ms = sqlite3_column_int64(q, 6);
		d.dead_at_ms = sqlite3_column_int64(q, 7);
		d.legs = (unsigned)sqlite3_column_int64(q, 8);
		d.attempts = (int)sqlite3_column_int64(q, 9);
		d.reason = (const char *)sqlite3_column_text(q, 10);
		d.message = (const char *)sqlite3_column_text(q, 11);
		d.payload = (const char *)sqlite3_column_text(q, 12);
		d.payload_len = (size_t)sqlite3_column_bytes(q, 12);
		if (!d.payload)
			d.payload = "";
		if (fn(arg, &d) || (limit && ++k == limit)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_DONE)
		return fail(s, rc, "cannot list dead letters");
	return 0;
}

static int
sq_dead_requeue(struct store *st, const struct store_filter *f,
		int64_t *count)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q, *u;
	int64_t now = now_ms(s), *ids = NULL, *accts = NULL;
	size_t k = 0, cap = 0;
	int rc;

	*count = 0;
	/* An operator's replay should not silently undo itself. */
	if ((rc = txn_begin(s, DURABLE)) != SQLITE_OK)
		return fail(s, rc, "cannot begin requeue");
	q = stmt(s, S_REQUEUE_SELECT);
	u = stmt(s, S_REQUEUE);
	if (!q || !u)
		return txn_abort(s, SQLITE_ERROR, "cannot prepare requeue");
	if ((rc = bind_filter(s, q, f)) != 0) {
		sqlite3_reset(q);
		if (rc == 1) {
			txn_rollback(s);
			return 0;
		}
		return txn_abort(s, -rc, "requeue failed");
	}
	/* Collect first: updating rows leaves ev_dead, which q walks. */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (k == cap) {
			cap = cap ? 2 * cap : 64;
			ids = xrealloc(ids, cap * sizeof(*ids));
			accts = xrealloc(accts, cap * sizeof(*accts));
		}
		ids[k] = sqlite3_column_int64(q, 0);
		accts[k++] = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_DONE)
		goto fail;
	for (size_t i = 0; i < k; i++) {
		sqlite3_bind_int64(u, 1, ids[i]);
		sqlite3_bind_int64(u, 2, now);
		if ((rc = run(u)) != SQLITE_OK)
			goto fail;
		acct_delta(s, accts[i], 1, 0, -1);
	}
	free(ids);
	free(accts);
	if ((rc = txn_commit(s)) != 0)
		return rc;
	*count = (int64_t)k;
	return 0;
fail:
	free(ids);
	free(accts);
	return txn_abort(s, rc, "requeue failed");
}

/*
 * Deletes up to PRUNE_STEP resolved batches that finished before
 * before_ms, with their index entries, stopping once they held `slots`
 * events. *step: how many batches; *count grows by the delivered events
 * among them.
 */
static int
prune_batches(struct sq *s, int64_t before_ms, int64_t slots, int64_t *step,
	      int64_t *count)
{
	sqlite3_stmt *q = stmt(s, S_CK_PRUNE_SELECT);
	sqlite3_stmt *d1 = stmt(s, S_CK_DELETE), *d2 = stmt(s, S_CK_DATA_DELETE);
	int rc = SQLITE_OK;

	*step = 0;
	if (!q || !d1 || !d2)
		return SQLITE_ERROR;
	sqlite3_bind_int64(q, 1, before_ms);
	sqlite3_bind_int64(q, 2, PRUNE_STEP);
	while (slots > 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0), done = 0;
		const unsigned char *marks = sqlite3_column_blob(q, 2);
		size_t nm = (size_t)sqlite3_column_bytes(q, 2);
		const unsigned char *keys = sqlite3_column_blob(q, 3);
		size_t nk = (size_t)sqlite3_column_bytes(q, 3) / 8;

		for (size_t i = 0; i < nm; i++) {
			uint64_t k;

			done += marks[i] == CHUNK_DONE;
			if (!s->ix_loaded || i >= nk)
				continue;
			memcpy(&k, keys + 8 * i, 8);
			slotindex_remove(&s->ix, k, chunk_slot_handle(id, i));
		}
		acct_delta(s, sqlite3_column_int64(q, 1), 0, -done, 0);
		*count += done;
		slots -= (int64_t)nm;
		(*step)++;
		/* Deleting the row the scan stands on is safe in SQLite. */
		sqlite3_bind_int64(d1, 1, id);
		sqlite3_bind_int64(d2, 1, id);
		if ((rc = run(d1)) != SQLITE_OK || (rc = run(d2)) != SQLITE_OK)
			break;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
sq_prune_done(struct store *st, int64_t before_ms, int64_t limit,
	      int64_t *count)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q;
	int64_t step, want;
	int rc;

	*count = 0;
	do {
		want = limit - *count < PRUNE_STEP ? limit - *count : PRUNE_STEP;
		if ((rc = txn_begin(s, RELAXED)) != SQLITE_OK)
			return fail(s, rc, "cannot begin prune");
		if (!(q = stmt(s, S_PRUNE)))
			return txn_abort(s, SQLITE_ERROR, "cannot prepare prune");
		sqlite3_bind_int64(q, 1, before_ms);
		sqlite3_bind_int64(q, 2, want);
		step = 0;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			acct_delta(s, sqlite3_column_int64(q, 0), 0, -1, 0);
			step++;
		}
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return txn_abort(s, rc, "prune failed");
		if ((rc = txn_commit(s)) != 0)
			return rc;
		*count += step;
	} while (step == want && *count < limit);
	while (*count < limit) {
		if ((rc = txn_begin(s, RELAXED)) != SQLITE_OK)
			return fail(s, rc, "cannot begin prune");
		if ((rc = prune_batches(s, before_ms, limit - *count, &step,
		    count)) != SQLITE_OK)
			return txn_abort(s, rc, "prune failed");
		if ((rc = txn_commit(s)) != 0)
			return rc;
		if (step < PRUNE_STEP)
			break;
	}
	return 0;
}

/* ---- open / close --------------------------------------------------- */

static int
sq_set_max_pages(struct store *st, int64_t max_pages)
{
	struct sq *s = sq_of(st);
	char sql[64];
	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld",
		 (long long)(max_pages > 0 ? max_pages : NO_PAGE_CAP));
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail(s, rc, "cannot set page cap");
}

static void
sq_close(struct store *st)
{
	struct sq *s = sq_of(st);

	checkpointer_stop(s->ckpt);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close_v2(s->db);
	acct_cache_clear(s);
	free(s->acct);
	buf_release(&s->merged);
	buf_release(&s->scratch);
	for (size_t i = 0; i < s->bld_cap; i++)
		chunk_builder_release(&s->bld[i]);
	free(s->bld);
	free(s->undo);
	slotindex_release(&s->ix);
	free(s->base.path);
	free(s);
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.set_max_pages = sq_set_max_pages,
	.append_spans = sq_append_spans,
	.claim = sq_claim,
	.mark_done = sq_mark_done,
	.mark_retry = sq_mark_retry,
	.mark_dead = sq_mark_dead,
	.mark_dead_each = sq_mark_dead_each,
	.release = sq_release,
	.stats = sq_stats,
	.dead_list = sq_dead_list,
	.dead_requeue = sq_dead_requeue,
	.prune_done = sq_prune_done,
};

/* mkdir -p for the directory part of path. */
static int
make_parent_dirs(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0750) && errno != EEXIST) {
			log_error("store: cannot create directory \"%s\": %s",
				  p, strerror(errno));
			rc = STORE_EIO;
			break;
		}
		*c = '/';
	}
	free(p);
	return rc;
}

static int
get_user_version(struct sq *s, int *v)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(q);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/*
 * Brings the schema to SCHEMA_VERSION, one step per version, each in the
 * same transaction as its user_version bump. Future steps add cases.
 */
static int
migrate(struct sq *s)
{
	char sql[48];
	int v, rc;

	if ((rc = txn_begin(s, DURABLE)) != SQLITE_OK)
		return fail(s, rc, "cannot begin migration");
	if ((rc = get_user_version(s, &v)) != SQLITE_OK)
		return txn_abort(s, rc, "cannot read schema version");
	if (v > SCHEMA_VERSION) {
		log_error("store: \"%s\" has schema %d, newer than %d",
			  s->base.path, v, SCHEMA_VERSION);
		txn_rollback(s);
		return STORE_ESCHEMA;
	}
	if (v == SCHEMA_VERSION) {
		txn_rollback(s);
		return 0;
	}
	/* A new file is created as v1 and upgraded like an old one. */
	if (v == 0) {
		rc = sqlite3_exec(s->db, schema_v1, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return txn_abort(s, rc, "cannot create schema");
	}
	if (v <= 1) {
		rc = sqlite3_exec(s->db, migrate_v2, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return txn_abort(s, rc, "cannot migrate to schema 2");
	}
	if (v <= 2) {
		rc = sqlite3_exec(s->db, migrate_v3, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return txn_abort(s, rc, "cannot migrate to schema 3");
	}
	if (v <= 3) {
		rc = sqlite3_exec(s->db, migrate_v4, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return txn_abort(s, rc, "cannot migrate to schema 4");
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", SCHEMA_VERSION);
	if ((rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return txn_abort(s, rc, "cannot set schema version");
	return txn_commit(s);
}

static int
exec_pragma(struct sq *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail(s, rc, "cannot configure");
}

/*
 * SQLite's memory statistics take a global mutex on every allocation
 * (~6% of a mark's instructions, measured); nothing reads them. This must
 * run before SQLite initialises, and only the store uses SQLite, so the
 * first open does it. Too late (MISUSE) just keeps the default.
 */
static void
sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)sqlite3_initialize();
}

int
store_sqlite_open(const struct store_config *cfg, struct store **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sq *s = xcalloc(1, sizeof(*s));
	char sql[64];
	int flags, rc, v;

	*out = NULL;
	pthread_once(&once, sqlite_setup);
	s->base.ops = &sqlite_ops;
	s->base.cfg = *cfg;
	s->base.path = xstrdup(cfg->path);
	s->base.cfg.path = s->base.path;
	if (!s->base.cfg.clock)
		s->base.cfg.clock = clock_system();
	buf_init(&s->merged, 0);
	buf_init(&s->scratch, 0);
	slotindex_init(&s->ix);

	flags = SQLITE_OPEN_NOMUTEX;
	if (cfg->readonly) {
		flags |= SQLITE_OPEN_READONLY;
	} else {
		flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		if ((rc = make_parent_dirs(cfg->path)) != 0)
			goto out;
	}
	rc = sqlite3_open_v2(cfg->path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(s, rc, "cannot open");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, cfg->busy_timeout_ms);
	rc = sqlite3_create_function_v2(s->db, "pb_key", 2,
					SQLITE_UTF8 | SQLITE_DETERMINISTIC,
					NULL, sql_key, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(s, rc, "cannot register pb_key");
		goto out;
	}
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", cfg->cache_kib);
	if ((rc = exec_pragma(s, sql)) != 0)
		goto out;
	if (cfg->readonly) {
		if ((rc = get_user_version(s, &v)) != SQLITE_OK) {
			rc = fail(s, rc, "cannot read schema version");
			goto out;
		}
		rc = v == SCHEMA_VERSION ? 0 : STORE_ESCHEMA;
		goto out;
	}
	/*
	 * WAL: readers never block the writer. synchronous=FULL: a commit
	 * returns only after the WAL is fsync'd, which is what a 2xx means
	 * (txn_begin() relaxes it for delivery transactions only). The hook
	 * replaces SQLite's autocheckpoint so the journal rarely pays for it.
	 */
	if ((rc = exec_pragma(s, "PRAGMA journal_mode=WAL")) != 0 ||
	    (rc = exec_pragma(s, "PRAGMA synchronous=FULL")) != 0 ||
	    (rc = exec_pragma(s, "PRAGMA temp_store=MEMORY")) != 0)
		goto out;
	s->sync = DURABLE;
	sqlite3_wal_hook(s->db, wal_hook, s);
	if ((rc = migrate(s)) != 0)
		goto out;
	if (cfg->background_checkpoint && (rc = checkpointer_start(s, cfg)) != 0)
		goto out;
	if (cfg->max_pages > 0)
		rc = sq_set_max_pages(&s->base, cfg->max_pages);
out:
	if (rc) {
		sq_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}

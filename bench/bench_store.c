/*
 * bench_store.c: throughput of the durable journal and of delivery claims.
 *
 *   bench_store [-d dir] [-s seconds] [-p payload_bytes] [-n claim_rows]
 *               [-r] [-o append|append1|append100|claim|retry]
 *               [-t threads]
 *
 * Appends 1-event and 100-event groups from 1..64 threads through the
 * group-commit journal (each thread waits for its ack, like a client),
 * then claims and marks done a prefilled backlog 1000 rows at a time,
 * then claims and marks for retry a fresh one the same way (a Pinterest
 * outage: every request fails as a whole).
 * Every run uses a fresh database in a temp dir under -d (default /tmp).
 *
 * -r uses random 32-hex event ids instead of sequential ones: real ids
 * are UUIDs or name:order_id, and random keys are what make the
 * idempotency index expensive. -o runs one part only and -t one thread
 * count only, so a profiler sees one path.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store/journal.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/banned.h"

struct opts {
	const char *dir;
	double seconds;
	size_t payload;
	int claim_rows;
	int random_ids;
	const char *only;		/* NULL: everything */
	int threads;			/* 0: 1, 4, 16, 64 */
};

static int random_ids;

/*
 * An event id for sequence number `seq`: "ev-<seq>", or with -r 32 hex
 * digits from a 64-bit mix of it (distinct for distinct seq, so no
 * duplicates, but in no useful order).
 */
static void
make_id(char *out, size_t n, long seq)
{
	uint64_t x = (uint64_t)seq, y;

	if (!random_ids) {
		snprintf(out, n, "ev-%ld", seq);
		return;
	}
	/* splitmix64 finalizer: a bijection, so ids never collide. */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	y = x * 0xd6e8feb86659fd93ull + 0x2545f4914f6cdd1dull;
	snprintf(out, n, "%016llx%016llx", (unsigned long long)x,
		 (unsigned long long)y);
}

struct run {
	struct journal *j;
	const char *payload;
	size_t payload_len;
	int group;
	int64_t stop_us;
	atomic_long seq;		/* event id source, shared */
	atomic_long rows;
	atomic_long errors;
};

static void
make_payload(char *p, size_t n)
{
	static const char head[] = "{\"event_name\":\"checkout\",\"action_source\":\"web\",\"user_data\":{\"em\":[\"";
	size_t k = 0;

	memcpy(p, head, sizeof(head) - 1);
	k = sizeof(head) - 1;
	for (; k < n - 4; k++)
		p[k] = "0123456789abcdef"[k % 16];
	memcpy(p + k, "\"]}}", 4);
	p[n] = '\0';
}

static void *
submitter(void *arg)
{
	struct run *r = arg;
	struct store_record *recs = calloc((size_t)r->group, sizeof(*recs));
	char (*ids)[40] = calloc((size_t)r->group, sizeof(*ids));

	while (clock_mono_us() < r->stop_us) {
		long base = atomic_fetch_add(&r->seq, r->group);
		int64_t now = clock_mono_ms();

		for (int i = 0; i < r->group; i++) {
			make_id(ids[i], sizeof(ids[i]), base + i);
			recs[i].account = (base + i) % 4 ? "shop" : "other";
			recs[i].event_id = ids[i];
			recs[i].event_name = "checkout";
			recs[i].event_time = 1750000000;
			recs[i].received_at_ms = now;
			recs[i].legs = 2;
			recs[i].order_id = ids[i];
			recs[i].payload = r->payload;
			recs[i].payload_len = r->payload_len;
		}
		if (journal_append_wait(r->j, recs, (size_t)r->group) == 0)
			atomic_fetch_add(&r->rows, r->group);
		else
			atomic_fetch_add(&r->errors, 1);
	}
	free(ids);
	free(recs);
	return NULL;
}

static void
fresh_path(const struct opts *o, char *dir, size_t dn, char *db, size_t n)
{
	snprintf(dir, dn, "%s/pb-bench-XXXXXX", o->dir);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(db, n, "%s/pinbridge.db", dir);
}

static void
remove_db(const char *dir, const char *db)
{
	char p[600];

	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
	rmdir(dir);
}

static void
bench_append(const struct opts *o, const char *payload, int group,
	     int threads)
{
	struct store_config cfg = { 0 };
	struct journal_stats js;
	struct store *st;
	struct run r;
	pthread_t th[64];
	char dir[512], db[560];
	int64_t t0, t1;

	fresh_path(o, dir, sizeof(dir), db, sizeof(db));
	cfg.path = db;
	if (store_open(&cfg, &st) || journal_start(st, NULL, &r.j)) {
		fprintf(stderr, "cannot open store\n");
		exit(1);
	}
	r.payload = payload;
	r.payload_len = strlen(payload);
	r.group = group;
	atomic_init(&r.seq, 0);
	atomic_init(&r.rows, 0);
	atomic_init(&r.errors, 0);
	t0 = clock_mono_us();
	r.stop_us = t0 + (int64_t)(o->seconds * 1e6);
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, submitter, &r);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = clock_mono_us();
	journal_get_stats(r.j, &js);
	printf("append  group=%-3d threads=%-2d  %9.0f rows/s  %7.0f req/s"
	       "  %6.1f rows/commit  errors=%ld\n",
	       group, threads, atomic_load(&r.rows) * 1e6 / (double)(t1 - t0),
	       atomic_load(&r.rows) / (double)group * 1e6 / (double)(t1 - t0),
	       js.commits ? (double)js.records / (double)js.commits : 0.0,
	       atomic_load(&r.errors));
	fflush(stdout);
	journal_close(r.j);
	remove_db(dir, db);
}

/* Claims a prefilled backlog 1000 at a time and marks it done or retry. */
static void
bench_claim(const struct opts *o, const char *payload, bool retry)
{
	struct store_config cfg = { 0 };
	struct store_record *recs = calloc(1000, sizeof(*recs));
	char (*ids)[40] = calloc(1000, sizeof(*ids));
	int64_t *done = calloc(1000, sizeof(*done));
	struct store_row *rows;
	struct store *st;
	struct arena a;
	char dir[512], db[560];
	int64_t t0, t1, total = 0, reopen_us;
	size_t n;
	struct rusage ru;

	fresh_path(o, dir, sizeof(dir), db, sizeof(db));
	cfg.path = db;
	if (store_open(&cfg, &st)) {
		fprintf(stderr, "cannot open store\n");
		exit(1);
	}
	for (int b = 0; b < o->claim_rows / 1000; b++) {
		for (int i = 0; i < 1000; i++) {
			make_id(ids[i], sizeof(ids[i]), (long)b * 1000 + i);
			recs[i].account = "shop";
			recs[i].event_id = ids[i];
			recs[i].event_name = "checkout";
			recs[i].event_time = 1750000000;
			recs[i].received_at_ms = 1;
			recs[i].legs = 2;
			recs[i].payload = payload;
			recs[i].payload_len = strlen(payload);
		}
		if (store_append(st, recs, 1000)) {
			fprintf(stderr, "prefill failed\n");
			exit(1);
		}
	}
	store_close(st);

	/* Restart with the backlog waiting: open + first stats + claim. */
	arena_init(&a, 0);
	t0 = clock_mono_us();
	if (store_open(&cfg, &st)) {
		fprintf(stderr, "cannot reopen store\n");
		exit(1);
	}
	{
		struct store_stats *sv;
		size_t sn;

		if (store_stats(st, &a, &sv, &sn) ||
		    store_claim(st, "shop", "bench", 1, 60000, &a, &rows, &n))
			exit(1);
		if (store_release(st, &rows[0].id, 1))
			exit(1);
	}
	reopen_us = clock_mono_us() - t0;
	arena_reset(&a);

	t0 = clock_mono_us();
	for (;;) {
		if (store_claim(st, "shop", "bench", 1000, 60000, &a, &rows,
				&n)) {
			fprintf(stderr, "claim failed\n");
			exit(1);
		}
		if (!n)
			break;
		for (size_t i = 0; i < n; i++)
			done[i] = rows[i].id;
		if (retry ? store_mark_retry(st, done, n,
		    clock_now_ms(clock_system()) + 3600 * 1000, "http 503") :
		    store_mark_done(st, done, n)) {
			fprintf(stderr, "mark failed\n");
			exit(1);
		}
		total += (int64_t)n;
		arena_reset(&a);
	}
	t1 = clock_mono_us();
	getrusage(RUSAGE_SELF, &ru);
	if (!retry)
		printf("reopen with %d waiting: open+stats+claim %.1f ms\n",
		       o->claim_rows, reopen_us / 1000.0);
	printf("claim(1000)+mark_%-5s %9.0f rows/s  (%lld rows)\n",
	       retry ? "retry" : "done",
	       (double)total * 1e6 / (double)(t1 - t0), (long long)total);
	printf("max RSS %ld KiB\n", ru.ru_maxrss);
	arena_release(&a);
	store_close(st);
	remove_db(dir, db);
	free(done);
	free(ids);
	free(recs);
}

int
main(int argc, char **argv)
{
	static const int threads[] = { 1, 4, 16, 64 };
	struct opts o = { "/tmp", 2.0, 700, 200000, 0, NULL, 0 };
	char *payload;
	int c;

	while ((c = getopt(argc, argv, "d:s:p:n:ro:t:")) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 's': o.seconds = strtod(optarg, NULL); break;
		case 'p': o.payload = (size_t)strtoul(optarg, NULL, 10); break;
		case 'n': o.claim_rows = (int)strtol(optarg, NULL, 10); break;
		case 'r': o.random_ids = 1; break;
		case 'o': o.only = optarg; break;
		case 't': o.threads = (int)strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench_store [-d dir] [-s seconds]"
				" [-p payload_bytes] [-n claim_rows] [-r]"
				" [-o append|append1|append100|claim|retry]"
				" [-t threads]\n");
			return 2;
		}
	}
	if (o.payload < 128)
		o.payload = 128;
	payload = malloc(o.payload + 1);
	make_payload(payload, o.payload);
	if (o.threads < 0 || o.threads > 64)
		o.threads = 64;
	random_ids = o.random_ids;
	printf("payload %zu bytes, %.1f s per run, dir %s, %s ids\n",
	       o.payload, o.seconds, o.dir,
	       o.random_ids ? "random" : "sequential");
	for (int g = 0; g < 2; g++) {
		const char *want = g ? "append100" : "append1";

		if (o.only && strcmp(o.only, "append") && strcmp(o.only, want))
			continue;
		for (size_t i = 0; i < sizeof(threads) / sizeof(*threads); i++) {
			if (o.threads && o.threads != threads[i])
				continue;
			bench_append(&o, payload, g ? 100 : 1, threads[i]);
		}
		if (o.threads && o.threads != 1 && o.threads != 4 &&
		    o.threads != 16 && o.threads != 64)
			bench_append(&o, payload, g ? 100 : 1, o.threads);
	}
	if (!o.only || !strcmp(o.only, "claim"))
		bench_claim(&o, payload, false);
	if (!o.only || !strcmp(o.only, "retry"))
		bench_claim(&o, payload, true);
	free(payload);
	return 0;
}

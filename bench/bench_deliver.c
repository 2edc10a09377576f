/*
 * bench_deliver.c: events/s moved from a store to a fake Pinterest on
 * loopback by the delivery worker (design §6: ≥ 100k events/s, so that
 * delivery is never the bottleneck).
 *
 *   bench_deliver [-n events] [-p payload_bytes] [-a accounts]
 *                 [-f in_flight] [-d dir]
 *
 * Prefills a fresh SQLite store in a temp dir under -d (default /tmp),
 * then times two runs over the same backlog size: the dry-run sink (store
 * plus body building, no HTTP) as the reference, and the real HTTP path
 * to the fake server (which parses and validates every body, as
 * Pinterest would, on the same cores). A third run sends prebuilt
 * batches through the client alone, to separate the HTTP leg's capacity
 * from the store's claim/mark rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "deliver/client.h"
#include "deliver/policy.h"
#include "deliver/response.h"
#include "deliver/worker.h"
#include "fake_pinterest.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

struct opts {
	long events;
	long payload;
	long accounts;
	long in_flight;
	const char *dir;
};

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* A schema-valid data[] item padded to about `size` bytes. */
static void
payload(struct buf *b, const char *id, int64_t t, long size)
{
	size_t start = b->len;

	buf_addf(b, "{\"event_name\":\"checkout\",\"action_source\":\"web\","
	    "\"event_time\":%lld,\"event_id\":\"%s\",\"user_data\":{\"em\":"
	    "[\"87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674\"],"
	    "\"client_user_agent\":\"", (long long)t, id);
	while ((long)(b->len - start) < size - 4)
		buf_addch(b, 'x');
	buf_adds(b, "\"}}");
}

static void
prefill(struct store *st, const struct opts *o, const char *prefix)
{
	const long chunk = 5000;
	int64_t now = clock_now_s(clock_system());

	for (long base = 0; base < o->events; base += chunk) {
		long n = o->events - base < chunk ? o->events - base : chunk;
		struct store_record *recs = calloc((size_t)n, sizeof(*recs));
		struct buf *ids = calloc((size_t)n, sizeof(*ids));
		struct buf *pl = calloc((size_t)n, sizeof(*pl));

		for (long i = 0; i < n; i++) {
			char acct[32];

			buf_init(&ids[i], 0);
			buf_init(&pl[i], 0);
			buf_addf(&ids[i], "%s-%ld", prefix, base + i);
			payload(&pl[i], ids[i].data, now, o->payload);
			snprintf(acct, sizeof(acct), "acct%ld",
			    (base + i) % o->accounts);
			recs[i].account = strdup(acct);
			recs[i].event_id = ids[i].data;
			recs[i].event_name = "checkout";
			recs[i].event_time = now;
			recs[i].received_at_ms = now * 1000;
			recs[i].legs = 2;
			recs[i].payload = pl[i].data;
			recs[i].payload_len = pl[i].len;
		}
		if (store_append(st, recs, (size_t)n) != 0) {
			fprintf(stderr, "bench_deliver: append failed\n");
			exit(1);
		}
		for (long i = 0; i < n; i++) {
			free((char *)recs[i].account);
			buf_release(&ids[i]);
			buf_release(&pl[i]);
		}
		free(recs);
		free(ids);
		free(pl);
	}
}

/* Delivers the backlog; returns events/s and the CPU seconds used. */
static double
run(const struct opts *o, const char *dbpath, const char *base,
    const char *sink, double *cpu)
{
	struct store_config sc = { 0 };
	struct store *st;
	struct deliver_config dc;
	struct deliver_account_config *ac;
	struct deliver *d;
	struct buf err = BUF_INIT;
	int64_t t0, t1;
	double c0;

	sc.path = dbpath;
	if (store_open(&sc, &st) != 0) {
		fprintf(stderr, "bench_deliver: cannot open store\n");
		exit(1);
	}
	prefill(st, o, base ? "http" : "sink");
	deliver_config_defaults(&dc);
	dc.http.api_base = base;
	dc.sink_path = sink;
	dc.sink_sync = PIN_SINK_SYNC_BATCH;
	dc.max_in_flight = (unsigned)o->in_flight;
	ac = calloc((size_t)o->accounts, sizeof(*ac));
	for (long i = 0; i < o->accounts; i++) {
		char name[32], id[32];

		snprintf(name, sizeof(name), "acct%ld", i);
		snprintf(id, sizeof(id), "%ld", 1000 + i);
		ac[i].name = strdup(name);
		ac[i].ad_account_id = strdup(id);
		ac[i].token = base ? "bench-token" : NULL;
		ac[i].rate_per_min = -1;
	}
	d = deliver_new(&dc, st, ac, (size_t)o->accounts, &err);
	if (!d) {
		fprintf(stderr, "bench_deliver: %s\n", err.data);
		exit(1);
	}
	c0 = cpu_s();
	t0 = clock_mono_us();
	if (deliver_start(d) != 0)
		exit(1);
	for (;;) {
		uint64_t done = 0;

		for (size_t i = 0; i < deliver_account_count(d); i++) {
			struct deliver_account_stats s;

			(void)deliver_account_stats(d, i, &s);
			done += s.delivered + s.dead;
		}
		if ((long)done >= o->events)
			break;
		usleep(1000);
	}
	t1 = clock_mono_us();
	*cpu = cpu_s() - c0;
	deliver_free(d);
	store_close(st);
	for (long i = 0; i < o->accounts; i++) {
		free((char *)ac[i].name);
		free((char *)ac[i].ad_account_id);
	}
	free(ac);
	return (double)o->events / ((double)(t1 - t0) / 1e6);
}

/*
 * The HTTP leg alone, without the store: prebuilt 1000-event bodies sent
 * through the client with in_flight requests outstanding, each answer
 * parsed and classified as the worker would. Shows what delivery can do
 * when the store keeps up.
 */
static double
run_http_only(const struct opts *o, const char *base, double *cpu)
{
	struct pin_client_config cc = { 0 };
	struct pin_client *c;
	struct pin_policy pol;
	struct buf body = BUF_INIT;
	long batches = o->events / 1000, sent = 0, done = 0;
	int64_t t0, now = clock_now_s(clock_system());
	double c0;

	pin_policy_defaults(&pol);
	buf_adds(&body, "{\"data\":[");
	for (int i = 0; i < 1000; i++) {
		char id[32];

		snprintf(id, sizeof(id), "raw-%d", i);
		if (i)
			buf_addch(&body, ',');
		payload(&body, id, now, o->payload);
	}
	buf_adds(&body, "]}");
	cc.api_base = base;
	c = pin_client_new(&cc);
	c0 = cpu_s();
	t0 = clock_mono_us();
	while (done < batches) {
		struct pin_result res;

		while (sent < batches && sent - done < o->in_flight) {
			if (pin_client_send(c, "1000", "bench-token", false,
			    body.data, body.len, NULL) != 0)
				exit(1);
			sent++;
		}
		(void)pin_client_run(c, 100);
		while (pin_client_next_done(c, &res)) {
			struct pin_response r;
			struct pin_outcome out;

			(void)pin_response_parse(&r, res.http_status, res.body,
			    res.body_len);
			pin_policy_batch(&pol, res.transport, &r, 1000, &out);
			if (out.verdict != PIN_V_PER_EVENT) {
				fprintf(stderr, "bench_deliver: unexpected %d\n",
				    res.http_status);
				exit(1);
			}
			pin_response_release(&r);
			pin_result_release(&res);
			done++;
		}
	}
	*cpu = cpu_s() - c0;
	pin_client_free(c);
	buf_release(&body);
	return (double)(batches * 1000) / ((double)(clock_mono_us() - t0) / 1e6);
}

static long
num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0) {
		fprintf(stderr, "bench_deliver: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct opts o = { 200000, 400, 1, 4, "/tmp" };
	struct fake_pinterest_config fc = { 0 };
	struct fake_pinterest *fp;
	struct fake_pinterest_stats fs;
	char dir[256], db1[300], db2[300], sink[300], base[64], cmd[300];
	double sink_rate, http_rate, raw_rate, cpu_sink, cpu_http, cpu_raw;
	int c;

	while ((c = getopt(argc, argv, "n:p:a:f:d:")) != -1) {
		switch (c) {
		case 'n': o.events = num(optarg); break;
		case 'p': o.payload = num(optarg); break;
		case 'a': o.accounts = num(optarg); break;
		case 'f': o.in_flight = num(optarg); break;
		case 'd': o.dir = optarg; break;
		default:
			fprintf(stderr, "usage: bench_deliver [-n events] "
			    "[-p payload_bytes] [-a accounts] [-f in_flight] "
			    "[-d dir]\n");
			return 2;
		}
	}
	log_set_level(LOG_WARN);
	snprintf(dir, sizeof(dir), "%s/pb-bench-deliver-XXXXXX", o.dir);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db1, sizeof(db1), "%s/sink.db", dir);
	snprintf(db2, sizeof(db2), "%s/http.db", dir);
	snprintf(sink, sizeof(sink), "%s/sink.ndjson", dir);

	sink_rate = run(&o, db1, NULL, sink, &cpu_sink);

	fc.token = "bench-token";
	fc.max_age_s = -1;
	fp = fake_pinterest_start(&fc);
	if (!fp)
		return 1;
	fake_pinterest_base_url(fp, base, sizeof(base));
	http_rate = run(&o, db2, base, sink, &cpu_http);
	fake_pinterest_get_stats(fp, &fs);
	raw_rate = run_http_only(&o, base, &cpu_raw);
	fake_pinterest_stop(fp);

	printf("bench_deliver: %ld events of ~%ld B, %ld account(s), "
	    "%ld in flight per account\n", o.events, o.payload, o.accounts,
	    o.in_flight);
	printf("  dry-run sink (store + batching, fdatasync per batch): "
	    "%.0f events/s, %.2f CPU s\n", sink_rate, cpu_sink);
	printf("  HTTP to fake Pinterest on loopback:                   "
	    "%.0f events/s, %.2f CPU s (incl. fake server), %zu requests, "
	    "max batch %zu, %zu accepted, %zu duplicates\n", http_rate,
	    cpu_http, fs.requests, fs.max_batch, fs.events_accepted,
	    fs.duplicate_accepts);
	printf("  HTTP leg alone (client + fake, no store):             "
	    "%.0f events/s, %.2f CPU s (incl. fake server)\n", raw_rate,
	    cpu_raw);
	printf("  ratio store+http / sink: %.2f; end to end >= 100000 "
	    "events/s: %s; HTTP leg alone: %s\n", http_rate / sink_rate,
	    http_rate >= 100000 ? "met" : "NOT met",
	    raw_rate >= 100000 ? "met" : "NOT met");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return fs.events_accepted == (size_t)o.events ? 0 : 1;
}

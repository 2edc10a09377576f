/*
 * worker.c: the delivery thread (see worker.h for the contract).
 *
 * Per account the worker keeps at most one batch "filling" (rows claimed
 * and leased, waiting for more), a queue of batches "ready" to send
 * (full ones, flushed ones, and the halves of bisected ones) and a count
 * of requests in flight. Every pass of the loop tops up, flushes and sends
 * for each account, then waits in curl_multi_poll() until the network,
 * deliver_wakeup() or the nearest timer needs it.
 */
#include "deliver/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/ratelimit.h"
#include "deliver/response.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Longest the loop sleeps without a timer due: bounds control latency. */
#define DELIVER_MAX_SLEEP_MS	100

struct row_ref {
	int64_t id;
	int64_t event_time;
	const char *payload;	/* in the batch arena */
	size_t len;
};

struct batch {
	struct batch *next;		/* ready queue */
	struct account *acct;
	struct arena arena;		/* claimed rows' strings */
	struct row_ref *rows;
	size_t n, cap;
	size_t bytes;			/* sum of payload lengths */
	struct buf body;
	bool probe;			/* sent while paused, to test credentials */
	int64_t first_claim_mono;	/* start of the flush delay */
	int64_t sent_wall_ms;
};

struct account {
	struct deliver *d;
	char *name;
	char *ad_account_id;
	char *token;			/* worker thread only; NULL: sink */
	bool test_mode;
	struct pin_ratelimit rl;

	struct batch *filling;
	struct batch *ready_head, *ready_tail;
	unsigned ready_n;		/* batches claimed, waiting to be sent */
	unsigned in_flight;

	bool paused;
	int64_t next_probe_mono;
	int64_t backoff_until_mono;
	unsigned failures;		/* consecutive retryable failures */
	int64_t next_claim_mono;	/* don't ask the store before this */

	/* Under d->mu: */
	bool resume_requested;
	char *resume_token;
	struct deliver_account_stats st;
};

struct deliver {
	struct deliver_config cfg;
	const struct clock *clock;
	struct store *st;
	struct pin_client *client;
	struct pin_sink *sink;		/* only when an account has no token */
	char owner[64];
	uint64_t rng;

	struct account *accts;
	size_t n_accts;
	struct batch *spare;		/* recycled batches */

	pthread_t thread;
	bool started;
	pthread_mutex_t mu;		/* guards stats, resume requests, stop */
	bool stop;
	bool wake;			/* a wakeup arrived since last claim pass */
};

void
deliver_config_defaults(struct deliver_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	pin_policy_defaults(&cfg->policy);
	cfg->batch_max = PB_MAX_BATCH_EVENTS;
	cfg->max_body_bytes = 8u * 1024 * 1024;
	cfg->flush_delay_ms = 200;
	cfg->idle_poll_ms = 200;
	cfg->max_in_flight = 4;
	cfg->stop_timeout_ms = 5000;
	cfg->http.connect_timeout_ms = 10000;
	cfg->http.timeout_ms = 60000;
}

const char *
deliver_state_name(enum deliver_state s)
{
	switch (s) {
	case DELIVER_IDLE:
		return "idle";
	case DELIVER_SENDING:
		return "sending";
	case DELIVER_BACKOFF:
		return "backoff";
	case DELIVER_PAUSED:
		return "paused";
	case DELIVER_DRY_RUN:
		return "dry_run";
	}
	return "unknown";
}

/* ---- batches -------------------------------------------------------- */

static struct batch *
batch_get(struct deliver *d, struct account *a)
{
	struct batch *b = d->spare;

	if (b) {
		d->spare = b->next;
	} else {
		b = xcalloc(1, sizeof(*b));
		arena_init(&b->arena, 64 * 1024);
		buf_init(&b->body, 0);
		b->cap = d->cfg.batch_max;
		b->rows = xcalloc(b->cap, sizeof(*b->rows));
	}
	b->next = NULL;
	b->acct = a;
	b->n = 0;
	b->bytes = 0;
	b->probe = false;
	b->first_claim_mono = 0;
	b->sent_wall_ms = 0;
	buf_reset(&b->body);
	return b;
}

static void
batch_put(struct deliver *d, struct batch *b)
{
	arena_reset(&b->arena);
	/* Keep big bodies from pinning memory after a burst. */
	if (b->body.cap > 2 * 1024 * 1024)
		buf_release(&b->body);
	b->next = d->spare;
	d->spare = b;
}

static void
batch_free(struct batch *b)
{
	arena_release(&b->arena);
	buf_release(&b->body);
	free(b->rows);
	free(b);
}

static void
ready_push(struct account *a, struct batch *b, bool front)
{
	b->next = NULL;
	a->ready_n++;
	if (!a->ready_head) {
		a->ready_head = a->ready_tail = b;
	} else if (front) {
		b->next = a->ready_head;
		a->ready_head = b;
	} else {
		a->ready_tail->next = b;
		a->ready_tail = b;
	}
}

static struct batch *
ready_pop(struct account *a)
{
	struct batch *b = a->ready_head;

	if (b) {
		a->ready_head = b->next;
		if (!a->ready_head)
			a->ready_tail = NULL;
		b->next = NULL;
		a->ready_n--;
	}
	return b;
}

/* ---- stats ---------------------------------------------------------- */

static void
note_error(struct account *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note_error(struct account *a, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&a->d->mu);
	a->st.last_status = status;
	va_start(ap, fmt);
	vsnprintf(a->st.last_error, sizeof(a->st.last_error), fmt, ap);
	va_end(ap);
	a->st.last_error_ms = clock_now_ms(a->d->clock);
	pthread_mutex_unlock(&a->d->mu);
}

static void
set_state(struct account *a, enum deliver_state s)
{
	pthread_mutex_lock(&a->d->mu);
	a->st.state = s;
	pthread_mutex_unlock(&a->d->mu);
}

/* ---- store marks ---------------------------------------------------- */

static void
log_store_error(struct account *a, const char *what, int rc)
{
	log_error("deliver: account '%s': %s failed: %s", a->name, what,
	    store_strerror(rc));
}

static void
mark_done(struct account *a, const int64_t *ids, size_t n)
{
	int rc;

	if (!n)
		return;
	rc = store_mark_done(a->d->st, ids, n);
	if (rc != 0)
		log_store_error(a, "mark done", rc);	/* lease runs out: resent */
}

/* messages: one per row, or NULL to use `message` for all of them. */
static void
mark_dead_each(struct account *a, const int64_t *ids, size_t n,
    const char *reason, const char *message, const char *const *messages)
{
	int rc;

	if (!n)
		return;
	rc = messages ? store_mark_dead_each(a->d->st, ids, messages, n, reason)
	    : store_mark_dead(a->d->st, ids, n, reason, message);
	if (rc != 0)
		log_store_error(a, "mark dead", rc);
	pthread_mutex_lock(&a->d->mu);
	a->st.dead += n;
	if (strcmp(reason, "expired") == 0)
		a->st.expired += n;
	else if (strcmp(reason, "rejected") == 0)
		a->st.failed += n;
	pthread_mutex_unlock(&a->d->mu);
}

static void
mark_dead(struct account *a, const int64_t *ids, size_t n,
    const char *reason, const char *message)
{
	mark_dead_each(a, ids, n, reason, message, NULL);
}

static void
release_rows(struct account *a, struct batch *b)
{
	int64_t *ids;
	int rc;

	if (!b->n)
		return;
	ids = xmalloc(b->n * sizeof(*ids));
	for (size_t i = 0; i < b->n; i++)
		ids[i] = b->rows[i].id;
	rc = store_release(a->d->st, ids, b->n);
	if (rc != 0)
		log_store_error(a, "release", rc);
	free(ids);
	b->n = 0;
}

/*
 * Schedules every row of b for another try after delay_ms, except those
 * that would be past max_age by then: they are dead as "expired".
 */
static void
retry_rows(struct account *a, struct batch *b, int64_t delay_ms,
    const char *error)
{
	struct deliver *d = a->d;
	int64_t next = clock_now_ms(d->clock) + delay_ms;
	int64_t *retry = xmalloc(b->n * sizeof(*retry));
	int64_t *dead = xmalloc(b->n * sizeof(*dead));
	size_t nr = 0, nd = 0;
	int rc;

	for (size_t i = 0; i < b->n; i++) {
		if (pin_policy_expired(&d->cfg.policy, b->rows[i].event_time, next))
			dead[nd++] = b->rows[i].id;
		else
			retry[nr++] = b->rows[i].id;
	}
	if (nr) {
		rc = store_mark_retry(d->st, retry, nr, next, error);
		if (rc != 0)
			log_store_error(a, "mark retry", rc);
	}
	mark_dead(a, dead, nd, "expired",
	    "event_time would be older than max_age at the next attempt");
	pthread_mutex_lock(&d->mu);
	a->st.retried += nr;
	pthread_mutex_unlock(&d->mu);
	free(retry);
	free(dead);
}

/* ---- claiming ------------------------------------------------------- */

/*
 * Tops up a->filling from the store. Rows already past max_age are dead
 * on arrival. Returns the number of rows added; sets *full when the
 * batch cannot take more (count or body size).
 */
static size_t
claim_into(struct account *a, size_t want, bool *full)
{
	struct deliver *d = a->d;
	struct batch *b = a->filling;
	struct store_row *rows = NULL;
	int64_t now = clock_now_ms(d->clock);
	int64_t *expired, *overflow;
	size_t n = 0, ne = 0, no = 0, added = 0;
	int rc;

	*full = false;
	rc = store_claim(d->st, a->name, d->owner, want, d->cfg.lease_ms,
	    &b->arena, &rows, &n);
	if (rc != 0) {
		log_store_error(a, "claim", rc);
		return 0;
	}
	if (!n)
		return 0;
	expired = xmalloc(n * sizeof(*expired));
	overflow = xmalloc(n * sizeof(*overflow));
	for (size_t i = 0; i < n; i++) {
		struct store_row *r = &rows[i];

		if (pin_policy_expired(&d->cfg.policy, r->event_time, now)) {
			expired[ne++] = r->id;
			continue;
		}
		/* The body is {"data":[...]} plus a comma per payload. */
		if (*full || (b->n > 0 && b->bytes + r->payload_len + b->n + 16 >
		    d->cfg.max_body_bytes)) {
			*full = true;
			overflow[no++] = r->id;
			continue;
		}
		b->rows[b->n++] = (struct row_ref){ r->id, r->event_time,
		    r->payload, r->payload_len };
		b->bytes += r->payload_len;
		added++;
	}
	if (b->n >= b->cap)
		*full = true;
	mark_dead(a, expired, ne, "expired",
	    "event_time older than max_age before it could be sent");
	if (no) {
		rc = store_release(d->st, overflow, no);
		if (rc != 0)
			log_store_error(a, "release", rc);
	}
	free(expired);
	free(overflow);
	return added;
}

/* ---- sending -------------------------------------------------------- */

static void
build_body(struct batch *b)
{
	buf_reset(&b->body);
	buf_grow(&b->body, b->bytes + b->n + 16);
	buf_adds(&b->body, "{\"data\":[");
	for (size_t i = 0; i < b->n; i++) {
		if (i)
			buf_addch(&b->body, ',');
		buf_add(&b->body, b->rows[i].payload, b->rows[i].len);
	}
	buf_adds(&b->body, "]}");
}

static void complete(struct account *a, struct batch *b,
    enum pin_transport t, struct pin_response *r, const char *retry_after,
    const char *request_id, const char *xfer_error);

static void
send_to_sink(struct account *a, struct batch *b)
{
	struct pin_response r = PIN_RESPONSE_INIT;
	int rc;

	rc = pin_sink_deliver(a->d->sink, b->body.data, b->body.len, b->n, &r);
	if (rc != 0) {
		/* Reported like a transport failure: retried with backoff. */
		complete(a, b, PIN_XFER_ERROR, NULL, NULL, NULL, strerror(-rc));
		return;
	}
	complete(a, b, PIN_XFER_OK, &r, NULL, NULL, NULL);
	pin_response_release(&r);
}

/* Sends what the rate limit allows; returns ms until it allows more, or -1. */
static int64_t
send_ready(struct account *a)
{
	struct deliver *d = a->d;

	while (a->ready_head && a->in_flight < d->cfg.max_in_flight) {
		struct batch *b;
		int rc;

		if (a->token && !pin_ratelimit_take(&a->rl))
			return pin_ratelimit_wait_ms(&a->rl);
		b = ready_pop(a);
		build_body(b);
		b->sent_wall_ms = clock_now_ms(d->clock);
		pthread_mutex_lock(&d->mu);
		a->st.sent += b->n;
		pthread_mutex_unlock(&d->mu);
		if (!a->token) {
			send_to_sink(a, b);
			continue;
		}
		rc = pin_client_send(d->client, a->ad_account_id, a->token,
		    a->test_mode, b->body.data, b->body.len, b);
		if (rc != 0) {
			complete(a, b, PIN_XFER_ERROR, NULL, NULL, NULL,
			    "cannot start request");
			continue;
		}
		a->in_flight++;
	}
	return -1;
}

/* ---- applying results ----------------------------------------------- */

static void
pause_account(struct account *a, int status, const char *message)
{
	struct deliver *d = a->d;

	if (!a->paused) {
		log_error("deliver: account '%s': credentials rejected (HTTP %d%s%s); "
		    "paused, probing every %lld ms", a->name, status,
		    message ? ": " : "", message ? message : "",
		    (long long)d->cfg.policy.pause_probe_ms);
		pthread_mutex_lock(&d->mu);
		a->st.pauses++;
		pthread_mutex_unlock(&d->mu);
	}
	a->paused = true;
	a->next_probe_mono = clock_mono_ms() + d->cfg.policy.pause_probe_ms;
	set_state(a, DELIVER_PAUSED);
	/* Keep the events: hand every unsent row back to the store. */
	if (a->filling) {
		release_rows(a, a->filling);
		batch_put(d, a->filling);
		a->filling = NULL;
	}
	for (struct batch *b; (b = ready_pop(a));) {
		release_rows(a, b);
		batch_put(d, b);
	}
}

/* Splits b into two ready batches, copied so that b can be recycled. */
static void
bisect(struct account *a, struct batch *b)
{
	struct deliver *d = a->d;
	size_t half = b->n / 2;
	struct batch *h[2] = { batch_get(d, a), batch_get(d, a) };

	for (size_t i = 0; i < b->n; i++) {
		struct batch *t = h[i < half ? 0 : 1];
		const struct row_ref *r = &b->rows[i];

		t->rows[t->n++] = (struct row_ref){ r->id, r->event_time,
		    arena_strndup(&t->arena, r->payload, r->len), r->len };
		t->bytes += r->len;
	}
	/* Front of the queue, second half behind the first. */
	ready_push(a, h[1], true);
	ready_push(a, h[0], true);
	pthread_mutex_lock(&d->mu);
	a->st.bisections++;
	pthread_mutex_unlock(&d->mu);
}

static void
per_event(struct account *a, struct batch *b, const struct pin_response *r)
{
	int64_t *done = xmalloc(b->n * sizeof(*done));
	int64_t *dead = xmalloc(b->n * sizeof(*dead));
	const char **msgs = xmalloc(b->n * sizeof(*msgs));
	size_t nd = 0, nx = 0, warnings = 0, lagged = 0;

	for (size_t i = 0; i < b->n; i++) {
		const char *msg = NULL;

		if (pin_policy_event(r->http_status, &r->events[i], &msg)) {
			done[nd++] = b->rows[i].id;
			if (r->events[i].warning_message)
				warnings++;
			if (pin_policy_offline(&a->d->cfg.policy,
			    b->rows[i].event_time, b->sent_wall_ms))
				lagged++;
			continue;
		}
		dead[nx] = b->rows[i].id;
		msgs[nx++] = msg;
		note_error(a, r->http_status, "event rejected: %s", msg);
	}
	/* Messages differ per event: one transaction, a message each. */
	mark_dead_each(a, dead, nx, "rejected", NULL, msgs);
	mark_done(a, done, nd);
	pthread_mutex_lock(&a->d->mu);
	a->st.delivered += nd;
	a->st.warnings += warnings;
	a->st.lag_over_1h += lagged;
	pthread_mutex_unlock(&a->d->mu);
	if (nd < b->n)
		log_warn("deliver: account '%s': %zu of %zu events rejected by "
		    "Pinterest (HTTP %d)", a->name, b->n - nd, b->n,
		    r->http_status);
	free(done);
	free(dead);
	free(msgs);
}

static void
all_done(struct account *a, struct batch *b)
{
	int64_t *ids = xmalloc(b->n * sizeof(*ids));
	size_t lagged = 0;

	for (size_t i = 0; i < b->n; i++) {
		ids[i] = b->rows[i].id;
		if (pin_policy_offline(&a->d->cfg.policy, b->rows[i].event_time,
		    b->sent_wall_ms))
			lagged++;
	}
	mark_done(a, ids, b->n);
	pthread_mutex_lock(&a->d->mu);
	a->st.delivered += b->n;
	a->st.lag_over_1h += lagged;
	pthread_mutex_unlock(&a->d->mu);
	free(ids);
}

static void
all_dead(struct account *a, struct batch *b, const char *reason,
    const char *message)
{
	int64_t *ids = xmalloc(b->n * sizeof(*ids));

	for (size_t i = 0; i < b->n; i++)
		ids[i] = b->rows[i].id;
	mark_dead(a, ids, b->n, reason, message);
	free(ids);
}

/*
 * Applies the outcome of one request (or sink write) to its rows, the
 * account's state and the counters, then recycles the batch.
 */
static void
complete(struct account *a, struct batch *b, enum pin_transport t,
    struct pin_response *r, const char *retry_after, const char *request_id,
    const char *xfer_error)
{
	struct deliver *d = a->d;
	struct pin_outcome o;
	int status = t == PIN_XFER_OK && r ? r->http_status : 0;
	char error[PIN_MAX_MESSAGE_BYTES + 64];

	pin_policy_batch(&d->cfg.policy, t, r, b->n, &o);
	pthread_mutex_lock(&d->mu);
	a->st.batches++;
	a->st.last_status = status;
	if (request_id && *request_id)
		snprintf(a->st.last_request_id, sizeof(a->st.last_request_id),
		    "%s", request_id);
	pthread_mutex_unlock(&d->mu);
	log_debug("deliver: account '%s': %zu events -> %s %d (rid %s)",
	    a->name, b->n, o.reason, status,
	    request_id && *request_id ? request_id : "-");

	if (o.message)
		snprintf(error, sizeof(error), "%s: %s", o.reason, o.message);
	else if (xfer_error && *xfer_error)
		snprintf(error, sizeof(error), "%s: %s", o.reason, xfer_error);
	else
		snprintf(error, sizeof(error), "%s", o.reason);

	if (o.verdict != PIN_V_PAUSE && b->probe && a->paused) {
		log_info("deliver: account '%s': credentials accepted again; "
		    "resuming", a->name);
		a->paused = false;
	}
	switch (o.verdict) {
	case PIN_V_PER_EVENT:
		per_event(a, b, r);
		break;
	case PIN_V_DONE_ALL:
		all_done(a, b);
		break;
	case PIN_V_DEAD_ALL:
		log_warn("deliver: account '%s': %zu events dead: %s (HTTP %d, "
		    "rid %s)", a->name, b->n, error, status,
		    request_id && *request_id ? request_id : "-");
		all_dead(a, b, o.reason, o.message ? o.message : error);
		note_error(a, status, "%s", error);
		break;
	case PIN_V_BISECT:
		log_info("deliver: account '%s': %s on a batch of %zu; "
		    "splitting it", a->name, o.reason, b->n);
		bisect(a, b);
		break;
	case PIN_V_PAUSE:
		note_error(a, status, "%s", error);
		release_rows(a, b);
		pause_account(a, status, o.message);
		break;
	case PIN_V_RETRY: {
		int64_t ra = -1, delay;

		if (retry_after && *retry_after &&
		    pin_retry_after_parse(retry_after, clock_now_ms(d->clock),
		    &ra) != 0)
			ra = -1;
		delay = pin_policy_retry_delay_ms(&d->cfg.policy, a->failures,
		    ra, &d->rng);
		a->failures++;
		a->backoff_until_mono = clock_mono_ms() + delay;
		log_warn("deliver: account '%s': %zu events: %s (HTTP %d, rid "
		    "%s); retry in %lld ms", a->name, b->n, error, status,
		    request_id && *request_id ? request_id : "-",
		    (long long)delay);
		note_error(a, status, "%s", error);
		retry_rows(a, b, delay, error);
		set_state(a, DELIVER_BACKOFF);
		break;
	}
	}
	if (o.verdict != PIN_V_RETRY && o.verdict != PIN_V_PAUSE) {
		a->failures = 0;
		pthread_mutex_lock(&d->mu);
		a->st.last_success_ms = clock_now_ms(d->clock);
		pthread_mutex_unlock(&d->mu);
	}
	batch_put(d, b);
}

static void
collect_results(struct deliver *d)
{
	struct pin_result res;

	while (pin_client_next_done(d->client, &res)) {
		struct batch *b = res.user;
		struct account *a = b->acct;
		struct pin_response r = PIN_RESPONSE_INIT;

		a->in_flight--;
		if (res.transport == PIN_XFER_OK)
			(void)pin_response_parse(&r, res.http_status, res.body,
			    res.body_len);
		complete(a, b, res.transport,
		    res.transport == PIN_XFER_OK ? &r : NULL, res.retry_after,
		    res.request_id, res.error);
		pin_response_release(&r);
		pin_result_release(&res);
	}
}

/* ---- the loop ------------------------------------------------------- */

static int64_t
min_deadline(int64_t cur, int64_t t)
{
	return cur < 0 || t < cur ? t : cur;
}

static void
apply_resume(struct account *a)
{
	struct deliver *d = a->d;
	char *tok = NULL;
	bool req;

	pthread_mutex_lock(&d->mu);
	req = a->resume_requested;
	a->resume_requested = false;
	tok = a->resume_token;
	a->resume_token = NULL;
	pthread_mutex_unlock(&d->mu);
	if (!req)
		return;
	if (tok) {
		if (a->token) {
			explicit_bzero(a->token, strlen(a->token));
			free(a->token);
		}
		a->token = tok;
	}
	log_info("deliver: account '%s': resumed", a->name);
	a->paused = false;
	a->failures = 0;
	a->backoff_until_mono = 0;
	a->next_claim_mono = 0;
	set_state(a, a->token ? DELIVER_IDLE : DELIVER_DRY_RUN);
}

/*
 * One pass over an account: claim, flush, send. Returns the monotonic
 * time at which it next needs attention, or -1 when only I/O or a wakeup
 * can change anything.
 */
static int64_t
service_account(struct account *a, int64_t now, bool woken)
{
	struct deliver *d = a->d;
	int64_t next = -1, wait;

	apply_resume(a);
	if (a->paused) {
		bool full;

		if (a->in_flight || now < a->next_probe_mono)
			return a->in_flight ? -1 : a->next_probe_mono;
		/* Probe: one event tells whether the credentials work now. */
		a->filling = batch_get(d, a);
		claim_into(a, 1, &full);
		if (a->filling->n) {
			a->filling->probe = true;
			ready_push(a, a->filling, false);
		} else {
			batch_put(d, a->filling);
		}
		a->filling = NULL;
		a->next_probe_mono = now + d->cfg.policy.pause_probe_ms;
		send_ready(a);
		return a->next_probe_mono;
	}
	if (now < a->backoff_until_mono)
		return a->backoff_until_mono;

	/*
	 * Fill: claim while there is room for another request. Batches in
	 * flight and batches waiting to be sent both count, so an outage or
	 * a backoff never pulls the whole backlog into memory.
	 */
	while (a->in_flight + a->ready_n < d->cfg.max_in_flight) {
		bool full = false;

		if (!a->filling) {
			if (!woken && now < a->next_claim_mono)
				break;
			a->filling = batch_get(d, a);
		} else if (!woken && now < a->next_claim_mono) {
			goto flush_check;
		}
		claim_into(a, a->filling->cap - a->filling->n, &full);
		if (!full) {
			/* Store drained for now: ask again a little later. */
			a->next_claim_mono = now + (a->filling->n ?
			    (d->cfg.flush_delay_ms / 4 > 0 ?
			    d->cfg.flush_delay_ms / 4 : 1) :
			    d->cfg.idle_poll_ms);
		}
		if (a->filling->n && !a->filling->first_claim_mono)
			a->filling->first_claim_mono = now;
flush_check:
		if (!a->filling->n) {
			batch_put(d, a->filling);
			a->filling = NULL;
			break;
		}
		if (full || now - a->filling->first_claim_mono >=
		    d->cfg.flush_delay_ms) {
			ready_push(a, a->filling, false);
			a->filling = NULL;
			continue;
		}
		break;
	}
	wait = send_ready(a);
	if (wait >= 0)
		next = min_deadline(next, now + wait);
	if (a->filling)
		next = min_deadline(next, a->filling->first_claim_mono +
		    d->cfg.flush_delay_ms);
	if (a->next_claim_mono > now)
		next = min_deadline(next, a->next_claim_mono);
	if (a->backoff_until_mono > now)
		next = min_deadline(next, a->backoff_until_mono);
	{
		enum deliver_state s = a->paused ? DELIVER_PAUSED :
		    !a->token ? DELIVER_DRY_RUN :
		    a->backoff_until_mono > now ? DELIVER_BACKOFF :
		    a->in_flight || a->ready_head || a->filling ?
		    DELIVER_SENDING : DELIVER_IDLE;

		set_state(a, s);
	}
	return next;
}

static bool
stopping(struct deliver *d)
{
	bool s;

	pthread_mutex_lock(&d->mu);
	s = d->stop;
	pthread_mutex_unlock(&d->mu);
	return s;
}

static bool
take_wake(struct deliver *d)
{
	bool w;

	pthread_mutex_lock(&d->mu);
	w = d->wake;
	d->wake = false;
	pthread_mutex_unlock(&d->mu);
	return w;
}

static void
shutdown_drain(struct deliver *d)
{
	int64_t deadline = clock_mono_ms() + d->cfg.stop_timeout_ms;
	size_t abandoned;

	for (size_t i = 0; i < d->n_accts; i++) {
		struct account *a = &d->accts[i];

		if (a->filling) {
			release_rows(a, a->filling);
			batch_put(d, a->filling);
			a->filling = NULL;
		}
		for (struct batch *b; (b = ready_pop(a));) {
			release_rows(a, b);
			batch_put(d, b);
		}
	}
	while (pin_client_in_flight(d->client) &&
	    clock_mono_ms() < deadline) {
		int64_t left = deadline - clock_mono_ms();

		(void)pin_client_run(d->client, (int)(left < 50 ? left : 50));
		collect_results(d);
		/* Bisected halves and such are not sent any more. */
		for (size_t i = 0; i < d->n_accts; i++)
			for (struct batch *b; (b = ready_pop(&d->accts[i]));) {
				release_rows(&d->accts[i], b);
				batch_put(d, b);
			}
	}
	abandoned = pin_client_in_flight(d->client);
	if (abandoned) {
		/*
		 * Their rows stay leased until lease_ms; they were possibly
		 * delivered, so being resent later is the at-least-once cost.
		 */
		log_warn("deliver: %zu requests still in flight at shutdown; "
		    "abandoned", abandoned);
	}
}

static void *
run(void *arg)
{
	struct deliver *d = arg;

	thread_name("pb-deliver");
	while (!stopping(d)) {
		int64_t now = clock_mono_ms(), next = -1, wait;
		bool woken = take_wake(d);

		for (size_t i = 0; i < d->n_accts; i++) {
			int64_t t = service_account(&d->accts[i], now, woken);

			if (t >= 0)
				next = min_deadline(next, t);
		}
		wait = next < 0 ? DELIVER_MAX_SLEEP_MS : next - clock_mono_ms();
		if (wait > DELIVER_MAX_SLEEP_MS)
			wait = DELIVER_MAX_SLEEP_MS;
		if (wait < 0)
			wait = 0;
		if (pin_client_run(d->client, (int)wait) != 0) {
			log_error("deliver: curl multi failed; pausing 100 ms");
			usleep(100000);
		}
		collect_results(d);
	}
	shutdown_drain(d);
	return NULL;
}

/* ---- public API ----------------------------------------------------- */

struct deliver *
deliver_new(const struct deliver_config *cfg, struct store *st,
    const struct deliver_account_config *accounts, size_t n, struct buf *err)
{
	struct deliver *d = xcalloc(1, sizeof(*d));
	bool need_sink = false;

	d->cfg = *cfg;
	d->clock = cfg->clock ? cfg->clock : clock_system();
	d->st = st;
	pthread_mutex_init(&d->mu, NULL);
	if (d->cfg.batch_max == 0 || d->cfg.batch_max > PB_MAX_BATCH_EVENTS)
		d->cfg.batch_max = PB_MAX_BATCH_EVENTS;
	if (d->cfg.batch_max > STORE_MAX_CLAIM)
		d->cfg.batch_max = STORE_MAX_CLAIM;
	if (d->cfg.max_body_bytes == 0)
		d->cfg.max_body_bytes = 8u * 1024 * 1024;
	if (d->cfg.max_in_flight == 0)
		d->cfg.max_in_flight = 4;
	if (d->cfg.idle_poll_ms <= 0)
		d->cfg.idle_poll_ms = 200;
	if (d->cfg.flush_delay_ms < 0)
		d->cfg.flush_delay_ms = 0;
	if (d->cfg.http.timeout_ms <= 0)
		d->cfg.http.timeout_ms = 60000;
	if (d->cfg.lease_ms <= 0)
		d->cfg.lease_ms = d->cfg.flush_delay_ms +
		    2 * d->cfg.http.timeout_ms + 60000;
	if (d->cfg.policy.backoff_cap_ms <= 0)
		pin_policy_defaults(&d->cfg.policy);
	snprintf(d->owner, sizeof(d->owner), "%s",
	    cfg->owner ? cfg->owner : "");
	if (!cfg->owner)
		snprintf(d->owner, sizeof(d->owner), "deliver-%ld",
		    (long)getpid());
	d->rng = (uint64_t)clock_mono_us() ^ ((uint64_t)(uintptr_t)d << 16) ^
	    0x9E3779B97F4A7C15ULL;
	if (!d->rng)
		d->rng = 1;

	d->accts = xcalloc(n ? n : 1, sizeof(*d->accts));
	for (size_t i = 0; i < n; i++) {
		const struct deliver_account_config *ac = &accounts[i];
		struct account *a = &d->accts[i];
		int64_t rate = ac->rate_per_min == 0 ?
		    PIN_RATELIMIT_DEFAULT_PER_MIN :
		    ac->rate_per_min < 0 ? 0 : ac->rate_per_min;

		if (!ac->name || !*ac->name) {
			buf_addf(err, "account %zu has no name", i);
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(d->accts[j].name, ac->name) == 0) {
				buf_addf(err, "account '%s' is listed twice",
				    ac->name);
				goto fail;
			}
		if (ac->token && !pin_ad_account_id_valid(ac->ad_account_id)) {
			buf_addf(err, "account '%s': ad_account_id must be 1 "
			    "to 18 digits", ac->name);
			goto fail;
		}
		a->d = d;
		a->name = xstrdup(ac->name);
		a->ad_account_id = xstrdup(ac->ad_account_id ?
		    ac->ad_account_id : "");
		a->token = ac->token ? xstrdup(ac->token) : NULL;
		a->test_mode = ac->test_mode;
		pin_ratelimit_init(&a->rl, d->clock, rate, ac->rate_burst);
		snprintf(a->st.name, sizeof(a->st.name), "%s", ac->name);
		a->st.state = a->token ? DELIVER_IDLE : DELIVER_DRY_RUN;
		if (!a->token)
			need_sink = true;
		d->n_accts++;
	}
	if (need_sink) {
		d->sink = pin_sink_open(cfg->sink_path, cfg->sink_sync, err);
		if (!d->sink)
			goto fail;
	}
	d->client = pin_client_new(&d->cfg.http);
	if (!d->client) {
		buf_adds(err, "cannot set up libcurl");
		goto fail;
	}
	return d;
fail:
	deliver_free(d);
	return NULL;
}

int
deliver_start(struct deliver *d)
{
	int rc;

	if (d->started)
		return -EALREADY;
	d->stop = false;
	rc = pthread_create(&d->thread, NULL, run, d);
	if (rc != 0)
		return -rc;
	d->started = true;
	return 0;
}

void
deliver_stop(struct deliver *d)
{
	if (!d || !d->started)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_mutex_unlock(&d->mu);
	pin_client_wakeup(d->client);
	pthread_join(d->thread, NULL);
	d->started = false;
}

void
deliver_free(struct deliver *d)
{
	if (!d)
		return;
	deliver_stop(d);
	pin_client_free(d->client);
	for (size_t i = 0; i < d->n_accts; i++) {
		struct account *a = &d->accts[i];

		if (a->filling)
			batch_free(a->filling);
		for (struct batch *b; (b = ready_pop(a));)
			batch_free(b);
		if (a->token) {
			explicit_bzero(a->token, strlen(a->token));
			free(a->token);
		}
		if (a->resume_token) {
			explicit_bzero(a->resume_token, strlen(a->resume_token));
			free(a->resume_token);
		}
		free(a->name);
		free(a->ad_account_id);
	}
	free(d->accts);
	while (d->spare) {
		struct batch *b = d->spare;

		d->spare = b->next;
		batch_free(b);
	}
	pin_sink_close(d->sink);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

void
deliver_wakeup(struct deliver *d)
{
	pthread_mutex_lock(&d->mu);
	d->wake = true;
	pthread_mutex_unlock(&d->mu);
	pin_client_wakeup(d->client);
}

static struct account *
find_account(struct deliver *d, const char *name)
{
	for (size_t i = 0; i < d->n_accts; i++)
		if (strcmp(d->accts[i].name, name) == 0)
			return &d->accts[i];
	return NULL;
}

int
deliver_resume_account(struct deliver *d, const char *name, const char *token)
{
	struct account *a = find_account(d, name);

	if (!a)
		return -ENOENT;
	pthread_mutex_lock(&d->mu);
	if (token) {
		if (a->resume_token) {
			explicit_bzero(a->resume_token, strlen(a->resume_token));
			free(a->resume_token);
		}
		a->resume_token = xstrdup(token);
	}
	a->resume_requested = true;
	d->wake = true;
	pthread_mutex_unlock(&d->mu);
	pin_client_wakeup(d->client);
	return 0;
}

size_t
deliver_account_count(const struct deliver *d)
{
	return d->n_accts;
}

int
deliver_account_stats(struct deliver *d, size_t i,
    struct deliver_account_stats *out)
{
	if (i >= d->n_accts)
		return -ENOENT;
	pthread_mutex_lock(&d->mu);
	*out = d->accts[i].st;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

int
deliver_account_stats_by_name(struct deliver *d, const char *name,
    struct deliver_account_stats *out)
{
	struct account *a = find_account(d, name);

	if (!a)
		return -ENOENT;
	pthread_mutex_lock(&d->mu);
	*out = a->st;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

/*
 * monitor.c: the engine: series registry, feeds, the per-tick rule state
 * machine, alerts, and the Prometheus / JSON surfaces.
 */
#include "monitor/monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "monitor/baseline.h"
#include "monitor/buckets.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define ANY_EVENT	"*"
#define MIN_TIME	INT64_MIN
/*
 * Past its grace an entry only pairs legs that come later still (counted
 * as matched, not as a second union event) and duplicates. Five minutes
 * give the same counts and alerts as an hour on the simulated stores,
 * server legs up to 15 minutes late included, for a quarter of the memory.
 */
#define RETENTION_MARGIN_MS	(5 * 60 * 1000)

/* Delivery lag histogram bounds, seconds (Pinterest's 1 h is the cliff). */
static const double lag_bounds[] = { 1, 5, 15, 60, 300, 900, 3600 };
#define N_LAG	(sizeof(lag_bounds) / sizeof(lag_bounds[0]))

struct account {
	char *name;
	uint64_t lag_hist[N_LAG + 1];	/* last slot: +Inf */
	double lag_sum_s;
	uint64_t lag_count;
	uint64_t queue_depth;
	bool has_queue;
};

struct rule_state {
	int64_t bad_since;		/* MIN_TIME: not bad */
	int64_t ok_since;		/* MIN_TIME: not ok */
	struct monitor_alert *open;	/* firing alert, or NULL */
};

struct series {
	uint32_t account;
	char *event_name;
	struct buckets *b;
	struct rule_config cfg;
	uint64_t totals[BC_COUNT];
	uint64_t quality[2][BQ_COUNT];
	struct rule_state st[RULE_COUNT];
	struct rule_eval last[RULE_COUNT];
	struct monitor_example examples[MONITOR_EXAMPLES];
	size_t n_examples;		/* most recent first */
	int64_t last_auth_fail_ms;	/* MIN_TIME: never */
	int64_t last_delivered_ms;
	uint64_t auth_fails_since_ok;
};

struct override {
	char *account;			/* NULL: any */
	char *event_name;		/* NULL: any */
	struct rule_config rc;
};

struct monitor {
	const struct clock *clk;
	struct monitor_config cfg;
	int64_t now;			/* engine time, never goes back */
	struct ledger *ledger;
	struct account *accounts;
	size_t n_accounts;
	struct series *series;
	size_t n_series;
	struct override *overrides;
	size_t n_overrides;
	struct monitor_alert **alerts;	/* firing order */
	size_t n_alerts;
	uint64_t next_alert_id;
	monitor_sink_fn sink;
	void *sink_ctx;
};

void
monitor_config_defaults(struct monitor_config *c)
{
	memset(c, 0, sizeof(*c));
	rule_config_defaults(&c->rules);
	c->grace_ms = 10 * 60 * 1000;
	c->retention_ms = 0;		/* grace + RETENTION_MARGIN_MS */
	c->max_ledger_entries = 2u * 1024 * 1024;
	c->max_ledger_bytes = LEDGER_DEFAULT_MAX_BYTES;
	c->max_resolved_kept = 256;
}

static int64_t
engine_now(struct monitor *m)
{
	int64_t t = clock_now_ms(m->clk);

	if (t > m->now)
		m->now = t;
	return m->now;
}

static void settle_unmatched(void *ctx, uint32_t series);

struct monitor *
monitor_new(const struct clock *clk, const struct monitor_config *cfg)
{
	struct monitor *m = xcalloc(1, sizeof(*m));

	m->clk = clk;
	if (cfg)
		m->cfg = *cfg;
	else
		monitor_config_defaults(&m->cfg);
	if (m->cfg.retention_ms <= 0)
		m->cfg.retention_ms = m->cfg.grace_ms + RETENTION_MARGIN_MS;
	if (m->cfg.retention_ms < m->cfg.grace_ms)
		m->cfg.retention_ms = m->cfg.grace_ms;
	m->now = MIN_TIME;
	m->now = engine_now(m);
	m->ledger = ledger_new(m->cfg.grace_ms, m->cfg.retention_ms,
	    m->cfg.max_ledger_entries);
	if (m->ledger && m->cfg.max_ledger_bytes)
		ledger_set_max_bytes(m->ledger, m->cfg.max_ledger_bytes);
	ledger_set_evict_cb(m->ledger, settle_unmatched, m);
	m->next_alert_id = 1;
	return m;
}

void
monitor_free(struct monitor *m)
{
	if (!m)
		return;
	ledger_free(m->ledger);
	for (size_t i = 0; i < m->n_accounts; i++)
		free(m->accounts[i].name);
	free(m->accounts);
	for (size_t i = 0; i < m->n_series; i++) {
		free(m->series[i].event_name);
		buckets_free(m->series[i].b);
	}
	free(m->series);
	for (size_t i = 0; i < m->n_overrides; i++) {
		free(m->overrides[i].account);
		free(m->overrides[i].event_name);
	}
	free(m->overrides);
	for (size_t i = 0; i < m->n_alerts; i++)
		free(m->alerts[i]);
	free(m->alerts);
	free(m);
}

void
monitor_set_sink(struct monitor *m, monitor_sink_fn fn, void *ctx)
{
	m->sink = fn;
	m->sink_ctx = ctx;
}

static char *
name_dup(const char *s)
{
	size_t n = strlen(s);

	return xstrndup(s, n < MONITOR_NAME_MAX - 1 ? n : MONITOR_NAME_MAX - 1);
}

static bool
name_eq(const char *stored, const char *s)
{
	size_t n = strlen(s);

	if (n > MONITOR_NAME_MAX - 1)
		n = MONITOR_NAME_MAX - 1;
	return !strncmp(stored, s, n) && stored[n] == '\0';
}

static uint32_t
account_get(struct monitor *m, const char *name)
{
	struct account *a;

	for (size_t i = 0; i < m->n_accounts; i++)
		if (name_eq(m->accounts[i].name, name))
			return (uint32_t)i;
	m->accounts = xrealloc(m->accounts,
	    (m->n_accounts + 1) * sizeof(*m->accounts));
	a = &m->accounts[m->n_accounts];
	memset(a, 0, sizeof(*a));
	a->name = name_dup(name);
	return (uint32_t)m->n_accounts++;
}

/* The most specific override for (account, event_name), else defaults. */
static void
resolve_rules(const struct monitor *m, const char *account,
    const char *event_name, struct rule_config *out)
{
	int best = -1, best_rank = -1;

	for (size_t i = 0; i < m->n_overrides; i++) {
		const struct override *o = &m->overrides[i];
		int rank;

		if (o->account && strcmp(o->account, account))
			continue;
		if (o->event_name && strcmp(o->event_name, event_name))
			continue;
		rank = (o->account ? 2 : 0) + (o->event_name ? 1 : 0);
		if (rank >= best_rank) {
			best_rank = rank;
			best = (int)i;
		}
	}
	*out = best >= 0 ? m->overrides[best].rc : m->cfg.rules;
}

static struct series *
series_get(struct monitor *m, const char *account, const char *event_name)
{
	uint32_t ai = account_get(m, account);
	struct series *s;

	for (size_t i = 0; i < m->n_series; i++)
		if (m->series[i].account == ai &&
		    name_eq(m->series[i].event_name, event_name))
			return &m->series[i];
	m->series = xrealloc(m->series, (m->n_series + 1) * sizeof(*m->series));
	s = &m->series[m->n_series++];
	memset(s, 0, sizeof(*s));
	s->account = ai;
	s->event_name = name_dup(event_name);
	s->b = buckets_new(m->now);
	resolve_rules(m, m->accounts[ai].name, s->event_name, &s->cfg);
	for (int r = 0; r < RULE_COUNT; r++) {
		s->st[r].bad_since = MIN_TIME;
		s->st[r].ok_since = MIN_TIME;
		s->last[r].verdict = VERDICT_UNKNOWN;
		s->last[r].value = NAN;
		s->last[r].p = NAN;
	}
	s->last_auth_fail_ms = MIN_TIME;
	s->last_delivered_ms = MIN_TIME;
	return s;
}

static const struct series *
series_find(const struct monitor *m, const char *account,
    const char *event_name)
{
	for (size_t i = 0; i < m->n_series; i++)
		if (name_eq(m->accounts[m->series[i].account].name, account) &&
		    name_eq(m->series[i].event_name, event_name))
			return &m->series[i];
	return NULL;
}

void
monitor_set_rules(struct monitor *m, const char *account,
    const char *event_name, const struct rule_config *rc)
{
	struct override *o = NULL;

	for (size_t i = 0; i < m->n_overrides; i++) {
		struct override *x = &m->overrides[i];

		if (!x->account != !account || !x->event_name != !event_name)
			continue;
		if ((account && strcmp(x->account, account)) ||
		    (event_name && strcmp(x->event_name, event_name)))
			continue;
		o = x;
	}
	if (!account && !event_name) {
		m->cfg.rules = *rc;
	} else if (o) {
		o->rc = *rc;
	} else {
		m->overrides = xrealloc(m->overrides,
		    (m->n_overrides + 1) * sizeof(*m->overrides));
		o = &m->overrides[m->n_overrides++];
		o->account = account ? name_dup(account) : NULL;
		o->event_name = event_name ? name_dup(event_name) : NULL;
		o->rc = *rc;
	}
	for (size_t i = 0; i < m->n_series; i++)
		resolve_rules(m, m->accounts[m->series[i].account].name,
		    m->series[i].event_name, &m->series[i].cfg);
}

static void
count(struct series *s, int64_t now, enum bucket_counter c, uint32_t n)
{
	buckets_add(s->b, now, c, n);
	s->totals[c] += n;
}

uint32_t
monitor_fields_of(const struct event *ev)
{
	uint32_t f = 0;

	if (ev->event_id && *ev->event_id && ev->id_origin != EVID_RANDOM)
		f |= 1u << BQ_EVENT_ID;
	if (ev->event_time)
		f |= 1u << BQ_EVENT_TIME;
	if (ev->event_name && *ev->event_name)
		f |= 1u << BQ_EVENT_NAME;
	if (ev->action_source && *ev->action_source)
		f |= 1u << BQ_ACTION_SOURCE;
	if (ev->user[UF_EM].n)
		f |= 1u << BQ_EM;
	if (ev->custom.value && *ev->custom.value)
		f |= 1u << BQ_VALUE;
	if (ev->custom.currency && *ev->custom.currency)
		f |= 1u << BQ_CURRENCY;
	if (ev->partner_name && *ev->partner_name)
		f |= 1u << BQ_PARTNER_NAME;
	if (ev->user[UF_PH].n)
		f |= 1u << BQ_PH;
	if (ev->click_id && *ev->click_id)
		f |= 1u << BQ_CLICK_ID;
	if (ev->client_ip_address && *ev->client_ip_address &&
	    ev->client_user_agent && *ev->client_user_agent)
		f |= 1u << BQ_IP_UA;
	if (ev->user[UF_EXTERNAL_ID].n)
		f |= 1u << BQ_EXTERNAL_ID;
	return f;
}

static void
copy_id(char dst[MONITOR_ID_MAX], const char *src)
{
	snprintf(dst, MONITOR_ID_MAX, "%s", src ? src : "");
}

static void
add_example(struct series *s, const struct ledger_result *r, int64_t now)
{
	struct monitor_example *e;

	memmove(&s->examples[1], &s->examples[0],
	    (MONITOR_EXAMPLES - 1) * sizeof(s->examples[0]));
	e = &s->examples[0];
	copy_id(e->order_id, r->order_id);
	copy_id(e->browser_id, r->browser_id);
	copy_id(e->server_id, r->server_id);
	e->at_ms = now;
	if (s->n_examples < MONITOR_EXAMPLES)
		s->n_examples++;
}

int
monitor_observe(struct monitor *m, const struct monitor_obs *o)
{
	struct ledger_obs lo;
	struct ledger_result r;
	struct series *s;
	int64_t now = engine_now(m);

	if (!o->event_id || !*o->event_id || !o->event_name ||
	    !*o->event_name ||
	    (o->leg != LEDGER_BROWSER && o->leg != LEDGER_SERVER))
		return -1;
	s = series_get(m, o->account ? o->account : "default", o->event_name);
	memset(&lo, 0, sizeof(lo));
	lo.account = s->account;
	lo.series = (uint32_t)(s - m->series);
	lo.event_id = o->event_id;
	lo.order_id = o->order_id;
	lo.leg = o->leg;
	lo.value = o->value;
	lo.fields = o->fields;
	lo.at_ms = now;
	ledger_observe(m->ledger, &lo, &r);
	if (r.dropped)
		return -1;
	/* The entry may belong to the series of the leg seen first. */
	s = &m->series[r.series];
	if (r.new_entry)
		count(s, now, BC_UNION, 1);
	if (r.new_leg) {
		int li = o->leg == LEDGER_SERVER;

		count(s, now, li ? BC_SERVER : BC_BROWSER, 1);
		buckets_add_quality(s->b, now, li, o->fields);
		s->quality[li][BQ_EVENTS]++;
		for (int i = 0; i < BQ_NBITS; i++)
			if (o->fields & (1u << i))
				s->quality[li][i]++;
	}
	if (r.matched)
		count(s, now, BC_MATCHED, 1);
	if (r.settled) {
		count(s, now, BC_SETTLED, 1);
		if (r.settled_matched)
			count(s, now, BC_SETTLED_MATCHED, 1);
	}
	if (r.mismatch) {
		count(s, now, BC_ID_MISMATCH, 1);
		/*
		 * Half a pair shows nothing; a busy break soon brings a
		 * whole one.
		 */
		if (r.browser_id && r.server_id)
			add_example(s, &r, now);
	}
	return 0;
}

int
monitor_observe_event(struct monitor *m, const char *account,
    const struct event *ev)
{
	struct monitor_obs o;

	memset(&o, 0, sizeof(o));
	o.account = account;
	o.event_name = ev->event_name;
	o.event_id = ev->event_id;
	o.order_id = ev->custom.order_id;
	o.leg = ev->leg == LEG_BROWSER ? LEDGER_BROWSER :
	    ev->leg == LEG_SERVER ? LEDGER_SERVER : 0;
	o.value = ev->custom.value ? strtod(ev->custom.value, NULL) : 0;
	o.fields = monitor_fields_of(ev);
	return monitor_observe(m, &o);
}

/* Ledger callback: a browser leg's grace ended without its server leg. */
static void
settle_unmatched(void *ctx, uint32_t series)
{
	struct monitor *m = ctx;

	count(&m->series[series], m->now, BC_SETTLED, 1);
}

static void
emit(struct monitor *m, const struct monitor_alert *a, enum alert_state st,
    int64_t at, double value)
{
	struct monitor_transition t = { a, st, at, value };

	if (m->sink)
		m->sink(m->sink_ctx, &t);
}

/* Drops the oldest resolved alerts beyond max_resolved_kept. */
static void
trim_alerts(struct monitor *m)
{
	size_t resolved = 0;

	for (size_t i = 0; i < m->n_alerts; i++)
		resolved += m->alerts[i]->state == ALERT_RESOLVED;
	for (size_t i = 0; i < m->n_alerts &&
	    resolved > m->cfg.max_resolved_kept;) {
		if (m->alerts[i]->state != ALERT_RESOLVED) {
			i++;
			continue;
		}
		free(m->alerts[i]);
		memmove(&m->alerts[i], &m->alerts[i + 1],
		    (m->n_alerts - i - 1) * sizeof(m->alerts[0]));
		m->n_alerts--;
		resolved--;
	}
}

static void
fire(struct monitor *m, struct series *s, enum rule_id r,
    const struct rule_eval *ev, int64_t now)
{
	struct monitor_alert *a = xcalloc(1, sizeof(*a));

	a->id = m->next_alert_id++;
	a->rule = r;
	a->state = ALERT_FIRING;
	snprintf(a->account, sizeof(a->account), "%s",
	    m->accounts[s->account].name);
	snprintf(a->event_name, sizeof(a->event_name), "%s", s->event_name);
	a->since_ms = s->st[r].bad_since;
	a->fired_ms = now;
	a->value = a->last_value = ev->value;
	a->threshold = ev->threshold;
	a->observed = ev->observed;
	a->total = ev->total;
	a->window_ms = ev->window_ms;
	a->match_rate = s->last[RULE_DEDUP_RATE_LOW].value;
	a->volume_ratio = s->last[RULE_VOLUME_LOW].value;
	if (r == RULE_DEDUP_RATE_LOW) {
		a->n_examples = s->n_examples;
		memcpy(a->examples, s->examples, sizeof(a->examples));
	}
	a->triage = rule_triage(r);
	m->alerts = xrealloc(m->alerts, (m->n_alerts + 1) * sizeof(*m->alerts));
	m->alerts[m->n_alerts++] = a;
	s->st[r].open = a;
	emit(m, a, ALERT_FIRING, now, ev->value);
}

static void
resolve(struct monitor *m, struct series *s, enum rule_id r, double value,
    int64_t now)
{
	struct monitor_alert *a = s->st[r].open;

	a->state = ALERT_RESOLVED;
	a->resolved_ms = now;
	a->last_value = value;
	s->st[r].open = NULL;
	emit(m, a, ALERT_RESOLVED, now, value);
	trim_alerts(m);
}

/* credentials_invalid: a 401/403 after the last successful delivery. */
static void
eval_credentials(const struct series *s, struct rule_eval *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = VERDICT_UNKNOWN;
	out->value = NAN;
	out->p = NAN;
	out->threshold = 1;
	if (s->last_auth_fail_ms == MIN_TIME)
		return;
	out->value = (double)s->auth_fails_since_ok;
	out->observed = out->value;
	out->verdict = s->last_auth_fail_ms > s->last_delivered_ms ?
	    VERDICT_BAD : VERDICT_OK;
}

static void
step_rule(struct monitor *m, struct series *s, enum rule_id r, int64_t now)
{
	struct rule_state *st = &s->st[r];
	struct rule_eval ev;
	int64_t sustain = s->cfg.sustain_ms, clear = s->cfg.clear_ms;

	if (r == RULE_CREDENTIALS_INVALID) {
		eval_credentials(s, &ev);
		sustain = clear = 0;
	} else {
		rule_evaluate(r, &s->cfg, s->b, now, &ev);
		if (r == RULE_DELIVERY_FAILING)
			sustain = s->cfg.delivery_sustain_ms;
		/*
		 * With the server leg down every browser event goes unmatched;
		 * server_leg_down explains that, and dedup_rate_low's triage
		 * (restore the shared id) would mislead.
		 */
		if (r == RULE_DEDUP_RATE_LOW &&
		    s->last[RULE_SERVER_LEG_DOWN].verdict == VERDICT_BAD)
			ev.verdict = VERDICT_UNKNOWN;
	}
	if (!s->cfg.enabled[r])
		ev.verdict = VERDICT_OK;
	s->last[r] = ev;

	switch (ev.verdict) {
	case VERDICT_BAD:
		st->ok_since = MIN_TIME;
		if (st->bad_since == MIN_TIME)
			st->bad_since = now;
		if (st->open) {
			st->open->last_value = ev.value;
			if (r == RULE_DEDUP_RATE_LOW) {
				st->open->n_examples = s->n_examples;
				memcpy(st->open->examples, s->examples,
				    sizeof(s->examples));
			}
		} else if (now - st->bad_since >= sustain) {
			fire(m, s, r, &ev, now);
		}
		break;
	case VERDICT_OK:
		st->bad_since = MIN_TIME;
		if (st->ok_since == MIN_TIME)
			st->ok_since = now;
		if (st->open) {
			st->open->last_value = ev.value;
			if (now - st->ok_since >= clear)
				resolve(m, s, r, ev.value, now);
		}
		break;
	default:
		/* No evidence: nothing advances, an open alert stays open. */
		st->bad_since = MIN_TIME;
		st->ok_since = MIN_TIME;
		break;
	}
}

void
monitor_tick(struct monitor *m)
{
	int64_t now = engine_now(m);

	ledger_advance(m->ledger, now, settle_unmatched, m);
	for (size_t i = 0; i < m->n_series; i++) {
		struct series *s = &m->series[i];

		buckets_touch(s->b, now);
		/* Leg rules first: dedup_rate_low reads server_leg_down. */
		step_rule(m, s, RULE_SERVER_LEG_DOWN, now);
		step_rule(m, s, RULE_BROWSER_LEG_DOWN, now);
		for (int r = 0; r < RULE_COUNT; r++)
			if (r != RULE_SERVER_LEG_DOWN &&
			    r != RULE_BROWSER_LEG_DOWN)
				step_rule(m, s, (enum rule_id)r, now);
	}
}

void
monitor_delivery(struct monitor *m, const char *account,
    const char *event_name, uint32_t delivered, uint32_t failed,
    int http_status)
{
	int64_t now = engine_now(m);
	struct series *s = series_get(m, account ? account : "default",
	    event_name && *event_name ? event_name : ANY_EVENT);

	count(s, now, BC_DELIVERED, delivered);
	count(s, now, BC_FAILED, failed);
	if (http_status == 401 || http_status == 403) {
		count(s, now, BC_AUTH_FAILED, 1);
		s->last_auth_fail_ms = now;
		s->auth_fails_since_ok++;
		/* Credentials are decided at once: no sustained window. */
		step_rule(m, s, RULE_CREDENTIALS_INVALID, now);
	} else if (delivered > 0) {
		s->last_delivered_ms = now;
		s->auth_fails_since_ok = 0;
		if (s->st[RULE_CREDENTIALS_INVALID].open)
			step_rule(m, s, RULE_CREDENTIALS_INVALID, now);
	}
}

void
monitor_delivery_lag(struct monitor *m, const char *account, int64_t lag_ms)
{
	struct account *a = &m->accounts[account_get(m,
	    account ? account : "default")];
	double s = (double)(lag_ms < 0 ? 0 : lag_ms) / 1000.0;
	size_t i = 0;

	while (i < N_LAG && s > lag_bounds[i])
		i++;
	a->lag_hist[i]++;
	a->lag_sum_s += s;
	a->lag_count++;
}

void
monitor_queue_depth(struct monitor *m, const char *account, uint64_t depth)
{
	struct account *a = &m->accounts[account_get(m,
	    account ? account : "default")];

	a->queue_depth = depth;
	a->has_queue = true;
}

int
monitor_series_status(const struct monitor *m, const char *account,
    const char *event_name, struct monitor_series_status *st)
{
	const struct series *s = series_find(m, account, event_name);

	if (!s)
		return -1;
	memcpy(st->totals, s->totals, sizeof(st->totals));
	memcpy(st->eval, s->last, sizeof(st->eval));
	for (int r = 0; r < RULE_COUNT; r++)
		st->firing[r] = s->st[r].open != NULL;
	st->n_examples = s->n_examples;
	memcpy(st->examples, s->examples, sizeof(st->examples));
	return 0;
}

size_t
monitor_alert_count(const struct monitor *m)
{
	return m->n_alerts;
}

const struct monitor_alert *
monitor_alert_at(const struct monitor *m, size_t i)
{
	return i < m->n_alerts ? m->alerts[i] : NULL;
}

/* ---- JSON ---- */

static void
json_num(struct buf *b, double v)
{
	if (isnan(v) || isinf(v))
		buf_adds(b, "null");
	else
		buf_addf(b, "%.6g", v);
}

static void
json_time(struct buf *b, int64_t ms)
{
	char t[21];

	time_format_iso8601(ms / 1000 - (ms % 1000 < 0), t);
	buf_add_json_cstr(b, t);
}

static void
json_kv_str(struct buf *b, const char *k, const char *v)
{
	buf_addf(b, ",\"%s\":", k);
	buf_add_json_cstr(b, v);
}

static void
json_kv_num(struct buf *b, const char *k, double v)
{
	buf_addf(b, ",\"%s\":", k);
	json_num(b, v);
}

static void
json_examples(struct buf *b, const struct monitor_alert *a)
{
	buf_adds(b, ",\"examples\":[");
	for (size_t i = 0; i < a->n_examples; i++) {
		const struct monitor_example *e = &a->examples[i];

		buf_adds(b, i ? ",{\"order_id\":" : "{\"order_id\":");
		buf_add_json_cstr(b, e->order_id);
		json_kv_str(b, "browser_event_id", e->browser_id);
		json_kv_str(b, "server_event_id", e->server_id);
		buf_addch(b, '}');
	}
	buf_addch(b, ']');
}

/* The evidence behind an alert: its window, counts, rates, examples. */
static void
json_alert_evidence(struct buf *b, const struct monitor_alert *a)
{
	buf_addf(b, ",\"window_minutes\":%lld",
	    (long long)(a->window_ms / 60000));
	json_kv_num(b, "observed", a->observed);
	json_kv_num(b, "total", a->total);
	json_kv_num(b, "match_rate", a->match_rate);
	json_kv_num(b, "volume_ratio", a->volume_ratio);
	if (a->rule == RULE_DEDUP_RATE_LOW)
		json_examples(b, a);
}

static void
json_alert_context(struct buf *b, const struct monitor_alert *a)
{
	buf_addf(b, ",\"id\":%llu", (unsigned long long)a->id);
	buf_adds(b, ",\"since\":");
	json_time(b, a->since_ms);
	json_alert_evidence(b, a);
}

void
monitor_transition_json(const struct monitor_transition *t, unsigned flags,
    struct buf *out)
{
	const struct monitor_alert *a = t->alert;

	buf_adds(out, "{\"alert\":");
	buf_add_json_cstr(out, rule_name(a->rule));
	json_kv_str(out, "state",
	    t->state == ALERT_FIRING ? "firing" : "resolved");
	buf_adds(out, ",\"at\":");
	json_time(out, t->at_ms);
	json_kv_str(out, "account", a->account);
	json_kv_str(out, "event_name", a->event_name);
	json_kv_num(out, "value", t->value);
	json_kv_num(out, "threshold", a->threshold);
	if (flags & MONITOR_JSON_CONTEXT)
		json_alert_context(out, a);
	if (flags & MONITOR_JSON_TRIAGE)
		json_kv_str(out, "triage", a->triage);
	buf_addch(out, '}');
}

void
monitor_alert_json(const struct monitor_alert *a, struct buf *out)
{
	buf_addf(out, "{\"id\":%llu,\"alert\":", (unsigned long long)a->id);
	buf_add_json_cstr(out, rule_name(a->rule));
	json_kv_str(out, "state",
	    a->state == ALERT_FIRING ? "firing" : "resolved");
	json_kv_str(out, "account", a->account);
	json_kv_str(out, "event_name", a->event_name);
	buf_adds(out, ",\"since\":");
	json_time(out, a->since_ms);
	buf_adds(out, ",\"fired_at\":");
	json_time(out, a->fired_ms);
	buf_adds(out, ",\"resolved_at\":");
	if (a->state == ALERT_RESOLVED)
		json_time(out, a->resolved_ms);
	else
		buf_adds(out, "null");
	json_kv_num(out, "value", a->value);
	json_kv_num(out, "threshold", a->threshold);
	json_kv_num(out, "last_value", a->last_value);
	json_alert_evidence(out, a);
	json_kv_str(out, "triage", a->triage);
	buf_addch(out, '}');
}

void
monitor_alerts_json(const struct monitor *m, struct buf *out)
{
	buf_adds(out, "{\"alerts\":[");
	for (size_t i = m->n_alerts; i-- > 0;) {
		monitor_alert_json(m->alerts[i], out);
		if (i)
			buf_addch(out, ',');
	}
	buf_adds(out, "]}");
}

static const char *
verdict_name(enum rule_verdict v)
{
	return v == VERDICT_BAD ? "bad" : v == VERDICT_OK ? "ok" : "unknown";
}

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

void
monitor_status_json(struct monitor *m, struct buf *out)
{
	int64_t now = engine_now(m);
	struct ledger_stats ls;
	size_t open = 0;

	ledger_get_stats(m->ledger, &ls);
	buf_adds(out, "{\"now\":");
	json_time(out, now);
	buf_addf(out, ",\"grace_minutes\":%lld",
	    (long long)(m->cfg.grace_ms / 60000));
	buf_addf(out, ",\"ledger\":{\"entries\":%zu,\"pending\":%zu,"
	    "\"dropped\":%llu,\"evicted\":%llu,\"evicted_pending\":%llu,"
	    "\"bytes\":%zu,\"capacity\":%zu}", ls.entries, ls.pending,
	    (unsigned long long)ls.dropped, (unsigned long long)ls.evicted,
	    (unsigned long long)ls.evicted_pending, ls.bytes, ls.capacity);
	buf_adds(out, ",\"series\":[");
	for (size_t i = 0; i < m->n_series; i++) {
		const struct series *s = &m->series[i];
		const int64_t hour = 3600 * 1000;
		uint64_t h[BC_COUNT];
		struct baseline bl;

		for (int c = 0; c < BC_COUNT; c++)
			h[c] = buckets_recent(s->b, (enum bucket_counter)c,
			    now - hour, now);
		baseline_expected(s->b, BC_UNION, now - hour, now, &bl);
		buf_adds(out, i ? ",{\"account\":" : "{\"account\":");
		buf_add_json_cstr(out, m->accounts[s->account].name);
		json_kv_str(out, "event_name", s->event_name);
		buf_adds(out, ",\"totals\":{");
		for (int c = 0; c < BC_COUNT; c++)
			buf_addf(out, "%s\"%s\":%llu", c ? "," : "",
			    bucket_counter_name((enum bucket_counter)c),
			    (unsigned long long)s->totals[c]);
		buf_adds(out, "},\"last_hour\":{");
		for (int c = 0; c < BC_COUNT; c++)
			buf_addf(out, "%s\"%s\":%llu", c ? "," : "",
			    bucket_counter_name((enum bucket_counter)c),
			    (unsigned long long)h[c]);
		json_kv_num(out, "match_rate", ratio((double)
		    h[BC_SETTLED_MATCHED], (double)h[BC_SETTLED]));
		json_kv_num(out, "browser_coverage", ratio((double)
		    h[BC_BROWSER], (double)h[BC_UNION]));
		json_kv_num(out, "expected", bl.source == BASELINE_NONE ? NAN :
		    bl.expected);
		json_kv_num(out, "volume_ratio", bl.source == BASELINE_NONE ?
		    NAN : ratio((double)h[BC_UNION], bl.expected));
		json_kv_str(out, "baseline", baseline_source_name(bl.source));
		buf_adds(out, "},\"rules\":{");
		for (int r = 0; r < RULE_COUNT; r++) {
			const struct rule_eval *e = &s->last[r];

			buf_addf(out, "%s\"%s\":{\"verdict\":\"%s\","
			    "\"firing\":%s", r ? "," : "",
			    rule_name((enum rule_id)r),
			    verdict_name(e->verdict),
			    s->st[r].open ? "true" : "false");
			json_kv_num(out, "value", e->value);
			json_kv_num(out, "threshold", e->threshold);
			buf_addf(out, ",\"window_minutes\":%lld}",
			    (long long)(e->window_ms / 60000));
			open += s->st[r].open != NULL;
		}
		buf_adds(out, "},\"completeness_24h\":{");
		for (int leg = 0; leg < 2; leg++) {
			uint64_t q[BQ_COUNT];

			buckets_quality_sum(s->b, leg, now - 24 * hour, now,
			    q);
			buf_addf(out, "%s\"%s\":{\"events\":%llu", leg ? "," : "",
			    leg ? "server" : "browser",
			    (unsigned long long)q[BQ_EVENTS]);
			for (int f = 0; f < BQ_NBITS; f++)
				json_kv_num(out, bucket_quality_name(
				    (enum bucket_quality)f), ratio((double)q[f],
				    (double)q[BQ_EVENTS]));
			buf_addch(out, '}');
		}
		buf_adds(out, "}}");
	}
	buf_addf(out, "],\"alerts_firing\":%zu,\"alerts\":[", open);
	open = 0;
	for (size_t i = 0; i < m->n_alerts; i++) {
		if (m->alerts[i]->state != ALERT_FIRING)
			continue;
		if (open++)
			buf_addch(out, ',');
		monitor_alert_json(m->alerts[i], out);
	}
	buf_adds(out, "]}");
}

/* ---- Prometheus ---- */

static void
prom_label(struct buf *b, const char *k, const char *v, bool first)
{
	buf_addf(b, "%s%s=\"", first ? "" : ",", k);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_addch(b, '\\');
		if (*v == '\n') {
			buf_adds(b, "\\n");
			continue;
		}
		buf_addch(b, *v);
	}
	buf_addch(b, '"');
}

static void
prom_head(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_series_labels(struct buf *b, const struct monitor *m,
    const struct series *s)
{
	prom_label(b, "account", m->accounts[s->account].name, true);
	prom_label(b, "event_name", s->event_name, false);
}

static void
prom_value(struct buf *b, double v)
{
	if (isnan(v))
		buf_adds(b, "} NaN\n");
	else
		buf_addf(b, "} %.17g\n", v);
}

/* One family with one sample per series: counter c or a gauge. */
static void
prom_per_series(struct buf *b, const struct monitor *m, const char *name,
    const char *type, const char *help, int counter, int rule)
{
	prom_head(b, name, type, help);
	for (size_t i = 0; i < m->n_series; i++) {
		const struct series *s = &m->series[i];

		buf_addf(b, "%s{", name);
		prom_series_labels(b, m, s);
		if (counter >= 0)
			prom_value(b, (double)s->totals[counter]);
		else
			prom_value(b, s->last[rule].value);
	}
}

void
monitor_metrics(struct monitor *m, struct buf *b)
{
	struct ledger_stats ls;

	(void)engine_now(m);
	prom_head(b, "pinbridge_events_total", "counter",
	    "Events received per leg (first sighting of each event_id).");
	for (size_t i = 0; i < m->n_series; i++) {
		for (int leg = 0; leg < 2; leg++) {
			buf_adds(b, "pinbridge_events_total{");
			prom_series_labels(b, m, &m->series[i]);
			prom_label(b, "leg", leg ? "server" : "browser", false);
			prom_value(b, (double)m->series[i].totals[leg ?
			    BC_SERVER : BC_BROWSER]);
		}
	}
	prom_per_series(b, m, "pinbridge_events_union_total", "counter",
	    "Distinct event_ids seen on either leg (conversions).", BC_UNION, 0);
	prom_per_series(b, m, "pinbridge_matched_total", "counter",
	    "Event_ids seen on both legs (deduplicated pairs).", BC_MATCHED, 0);
	prom_per_series(b, m, "pinbridge_browser_settled_total", "counter",
	    "Browser-leg events whose match outcome is decided.", BC_SETTLED,
	    0);
	prom_per_series(b, m, "pinbridge_browser_settled_matched_total",
	    "counter", "Settled browser-leg events that the server leg matched.",
	    BC_SETTLED_MATCHED, 0);
	prom_per_series(b, m, "pinbridge_id_mismatch_total", "counter",
	    "Same order_id on both legs under different event_ids.",
	    BC_ID_MISMATCH, 0);
	prom_per_series(b, m, "pinbridge_delivered_total", "counter",
	    "Events Pinterest accepted.", BC_DELIVERED, 0);
	prom_per_series(b, m, "pinbridge_delivery_failed_total", "counter",
	    "Events Pinterest rejected or that failed for good.", BC_FAILED, 0);
	prom_per_series(b, m, "pinbridge_delivery_auth_failures_total",
	    "counter", "Deliveries answered 401 or 403.", BC_AUTH_FAILED, 0);
	prom_per_series(b, m, "pinbridge_match_rate", "gauge",
	    "Settled browser events matched by the server leg, over the "
	    "dedup_rate_low window (NaN: too few events).", -1,
	    RULE_DEDUP_RATE_LOW);
	prom_per_series(b, m, "pinbridge_volume_ratio", "gauge",
	    "Conversions (union) over the seasonal baseline, over the "
	    "volume_low window (NaN: no baseline yet).", -1, RULE_VOLUME_LOW);

	prom_head(b, "pinbridge_volume_expected", "gauge",
	    "Baseline conversions expected over the volume_low window.");
	for (size_t i = 0; i < m->n_series; i++) {
		const struct series *s = &m->series[i];

		buf_adds(b, "pinbridge_volume_expected{");
		prom_series_labels(b, m, s);
		prom_value(b, s->last[RULE_VOLUME_LOW].baseline ==
		    BASELINE_NONE ? NAN : s->last[RULE_VOLUME_LOW].total);
	}
	prom_head(b, "pinbridge_browser_coverage", "gauge",
	    "Browser-leg events over conversions (union), last hour.");
	for (size_t i = 0; i < m->n_series; i++) {
		const struct series *s = &m->series[i];
		int64_t h = 3600 * 1000;

		buf_adds(b, "pinbridge_browser_coverage{");
		prom_series_labels(b, m, s);
		prom_value(b, ratio((double)buckets_recent(s->b, BC_BROWSER,
		    m->now - h, m->now), (double)buckets_recent(s->b, BC_UNION,
		    m->now - h, m->now)));
	}
	prom_head(b, "pinbridge_field_present_total", "counter",
	    "Events carrying a field or identifier, per leg (completeness = "
	    "this / pinbridge_events_total).");
	for (size_t i = 0; i < m->n_series; i++) {
		for (int leg = 0; leg < 2; leg++) {
			for (int f = 0; f < BQ_NBITS; f++) {
				buf_adds(b, "pinbridge_field_present_total{");
				prom_series_labels(b, m, &m->series[i]);
				prom_label(b, "leg", leg ? "server" : "browser",
				    false);
				prom_label(b, "field", bucket_quality_name(
				    (enum bucket_quality)f), false);
				prom_value(b, (double)
				    m->series[i].quality[leg][f]);
			}
		}
	}
	prom_head(b, "pinbridge_alert_firing", "gauge",
	    "1 while the alert is firing for the series.");
	for (size_t i = 0; i < m->n_series; i++) {
		for (int r = 0; r < RULE_COUNT; r++) {
			buf_adds(b, "pinbridge_alert_firing{");
			prom_label(b, "alert", rule_name((enum rule_id)r), true);
			buf_addch(b, ',');
			prom_series_labels(b, m, &m->series[i]);
			prom_value(b, m->series[i].st[r].open ? 1 : 0);
		}
	}
	prom_head(b, "pinbridge_queue_depth", "gauge",
	    "Events waiting for delivery.");
	for (size_t i = 0; i < m->n_accounts; i++) {
		if (!m->accounts[i].has_queue)
			continue;
		buf_adds(b, "pinbridge_queue_depth{");
		prom_label(b, "account", m->accounts[i].name, true);
		prom_value(b, (double)m->accounts[i].queue_depth);
	}
	prom_head(b, "pinbridge_delivery_lag_seconds", "histogram",
	    "Time from acceptance to Pinterest's answer.");
	for (size_t i = 0; i < m->n_accounts; i++) {
		const struct account *a = &m->accounts[i];
		uint64_t cum = 0;

		if (!a->lag_count)
			continue;
		for (size_t k = 0; k <= N_LAG; k++) {
			char le[32];

			cum += a->lag_hist[k];
			if (k < N_LAG)
				snprintf(le, sizeof(le), "%g", lag_bounds[k]);
			else
				snprintf(le, sizeof(le), "+Inf");
			buf_adds(b, "pinbridge_delivery_lag_seconds_bucket{");
			prom_label(b, "account", a->name, true);
			prom_label(b, "le", le, false);
			prom_value(b, (double)cum);
		}
		buf_adds(b, "pinbridge_delivery_lag_seconds_sum{");
		prom_label(b, "account", a->name, true);
		prom_value(b, a->lag_sum_s);
		buf_adds(b, "pinbridge_delivery_lag_seconds_count{");
		prom_label(b, "account", a->name, true);
		prom_value(b, (double)a->lag_count);
	}
	ledger_get_stats(m->ledger, &ls);
	prom_head(b, "pinbridge_ledger_entries", "gauge",
	    "Event_ids held by the parity ledger.");
	buf_addf(b, "pinbridge_ledger_entries %zu\n", ls.entries);
	prom_head(b, "pinbridge_ledger_pending", "gauge",
	    "Browser-leg events waiting for the server leg (grace period).");
	buf_addf(b, "pinbridge_ledger_pending %zu\n", ls.pending);
	prom_head(b, "pinbridge_ledger_dropped_total", "counter",
	    "Sightings not counted by the parity ledger.");
	buf_addf(b, "pinbridge_ledger_dropped_total %llu\n",
	    (unsigned long long)ls.dropped);
	prom_head(b, "pinbridge_ledger_evicted_total", "counter",
	    "Entries dropped before their retention at the ledger's cap "
	    "(entries or bytes).");
	buf_addf(b, "pinbridge_ledger_evicted_total %llu\n",
	    (unsigned long long)ls.evicted);
	prom_head(b, "pinbridge_ledger_evicted_pending_total", "counter",
	    "Browser legs settled as unmatched before their grace ended "
	    "because the ledger was at its cap.");
	buf_addf(b, "pinbridge_ledger_evicted_pending_total %llu\n",
	    (unsigned long long)ls.evicted_pending);
	prom_head(b, "pinbridge_ledger_bytes", "gauge",
	    "Heap held by the parity ledger.");
	buf_addf(b, "pinbridge_ledger_bytes %zu\n", ls.bytes);
}

/* ---- persistence ---- */

#define SAVE_MAGIC	0x50424d31u	/* "PBM1" */

static int
write_str(FILE *f, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	return fwrite(&n, sizeof(n), 1, f) == 1 &&
	    fwrite(s, 1, n, f) == n ? 0 : -1;
}

static int
read_str(FILE *f, char out[MONITOR_NAME_MAX])
{
	uint32_t n;

	if (fread(&n, sizeof(n), 1, f) != 1 || n >= MONITOR_NAME_MAX ||
	    fread(out, 1, n, f) != n)
		return -1;
	out[n] = '\0';
	return 0;
}

int
monitor_save(const struct monitor *m, FILE *f)
{
	uint32_t magic = SAVE_MAGIC, n = (uint32_t)m->n_series;

	if (fwrite(&magic, sizeof(magic), 1, f) != 1 ||
	    fwrite(&n, sizeof(n), 1, f) != 1)
		return -1;
	for (size_t i = 0; i < m->n_series; i++) {
		const struct series *s = &m->series[i];

		if (write_str(f, m->accounts[s->account].name) < 0 ||
		    write_str(f, s->event_name) < 0 ||
		    fwrite(s->totals, sizeof(s->totals), 1, f) != 1 ||
		    buckets_dump(s->b, f) < 0)
			return -1;
	}
	return fflush(f) == 0 ? 0 : -1;
}

int
monitor_load(struct monitor *m, FILE *f)
{
	char account[MONITOR_NAME_MAX], event_name[MONITOR_NAME_MAX];
	uint64_t totals[BC_COUNT];
	uint32_t magic, n;

	(void)engine_now(m);
	if (fread(&magic, sizeof(magic), 1, f) != 1 || magic != SAVE_MAGIC ||
	    fread(&n, sizeof(n), 1, f) != 1)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct series *s;

		if (read_str(f, account) < 0 || read_str(f, event_name) < 0 ||
		    fread(totals, sizeof(totals), 1, f) != 1)
			return -1;
		s = series_get(m, account, event_name);
		if (buckets_load(s->b, f) < 0)
			return -1;
		memcpy(s->totals, totals, sizeof(totals));
	}
	return 0;
}

/*
 * sim.c: seeded synthetic traffic and the replay loop for scenarios.
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
uniform(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static double
gauss(uint64_t *s)
{
	double u = uniform(s), v = uniform(s);

	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static unsigned
poisson(uint64_t *s, double lambda)
{
	double l = exp(-lambda), p = 1.0;
	unsigned k = 0;

	if (lambda > 30)	/* normal approximation */
		return (unsigned)fmax(0, floor(lambda + sqrt(lambda) *
		    gauss(s) + 0.5));
	do {
		k++;
		p *= uniform(s);
	} while (p > l);
	return k - 1;
}

void
sim_init(struct sim *s, const char *account, const char *event_name,
    uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->account = account;
	s->event_name = event_name;
	s->rng = seed;
}

void
sim_release(struct sim *s)
{
	free(s->ev);
	memset(s, 0, sizeof(*s));
}

void
sim_log_release(struct sim_log *l)
{
	free(l->a);
	memset(l, 0, sizeof(*l));
}

void
sim_store_default(struct sim_store *st)
{
	st->orders_per_hour = 120;
	st->night_floor = 0.08;
	st->weekend_factor = 1.25;
	st->day_noise = 0.12;
	st->hour_noise = 0.10;
	st->browser_day = 0.80;		/* 20% loss at the peak */
	st->browser_night = 0.65;	/* 35% loss at night */
	st->server_cov = 0.97;
	st->lag_mean_s = 40;
	st->late_share = 0.01;
}

/* 0 at 04:00 UTC, 1 at 16:00 UTC. */
static double
day_shape(int64_t t)
{
	double h = (double)(((t % SIM_DAY) + SIM_DAY) % SIM_DAY) / SIM_HOUR;

	return (1.0 - cos(2.0 * M_PI * (h - 4.0) / 24.0)) / 2.0;
}

static bool
weekend(int64_t t)
{
	int64_t d = (t / SIM_DAY + 4) % 7;	/* 1970-01-01 was a Thursday */

	return d == 5 || d == 6;		/* 0 = Monday */
}

static const struct sim_fault *
fault_at(const struct sim_fault *f, size_t nf, enum sim_fault_kind k,
    int64_t t)
{
	for (size_t i = 0; i < nf; i++)
		if (f[i].kind == k && t >= f[i].from_ms && t < f[i].to_ms)
			return &f[i];
	return NULL;
}

static void
push(struct sim *s, int64_t at, uint32_t order, uint8_t leg, uint8_t broken)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->ev = xrealloc(s->ev, s->cap * sizeof(*s->ev));
	}
	s->ev[s->n++] = (struct sim_event){ at, order, leg, broken };
}

static int
cmp_event(const void *a, const void *b)
{
	const struct sim_event *x = a, *y = b;

	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void
sim_generate(struct sim *s, const struct sim_store *st,
    const struct sim_fault *f, size_t nf, int64_t from_ms, int64_t to_ms)
{
	double day_level = 1, hour_level = 1;
	const struct sim_fault *x;

	for (int64_t t = from_ms; t < to_ms; t += SIM_MIN) {
		double shape = day_shape(t), lambda;
		unsigned n;

		if (t == from_ms || t % SIM_DAY == 0)
			day_level = exp(st->day_noise * gauss(&s->rng));
		if (t == from_ms || t % SIM_HOUR == 0)
			hour_level = exp(st->hour_noise * gauss(&s->rng));
		lambda = st->orders_per_hour / 60.0 * (st->night_floor +
		    (1 - st->night_floor) * shape) * day_level * hour_level *
		    (weekend(t) ? st->weekend_factor : 1.0);
		if ((x = fault_at(f, nf, SIM_SALE, t)) != NULL)
			lambda *= x->share;
		n = poisson(&s->rng, lambda);
		for (unsigned i = 0; i < n; i++) {
			int64_t at = t + (int64_t)(uniform(&s->rng) * SIM_MIN);
			uint32_t order = ++s->orders;
			double cov = st->browser_night + (st->browser_day -
			    st->browser_night) * shape;
			double lag;

			if ((x = fault_at(f, nf, SIM_VOLUME_DROP, at)) &&
			    uniform(&s->rng) < x->share)
				continue;
			if (uniform(&s->rng) < cov &&
			    !fault_at(f, nf, SIM_BROWSER_DOWN, at)) {
				x = fault_at(f, nf, SIM_ID_BREAK, at);
				push(s, at + (int64_t)(uniform(&s->rng) * 3000),
				    order, LEDGER_BROWSER,
				    x && uniform(&s->rng) < x->share);
			}
			if (uniform(&s->rng) >= st->server_cov)
				continue;
			if (uniform(&s->rng) < st->late_share)
				lag = 120 + uniform(&s->rng) * 780;
			else
				lag = -st->lag_mean_s * log(1 - uniform(&s->rng));
			if (!fault_at(f, nf, SIM_SERVER_DOWN, at + (int64_t)(
			    lag * 1000)))
				push(s, at + (int64_t)(lag * 1000), order,
				    LEDGER_SERVER, 0);
		}
	}
	qsort(s->ev, s->n, sizeof(*s->ev), cmp_event);
}

void
sim_sink(void *ctx, const struct monitor_transition *t)
{
	struct sim_log *l = ctx;
	struct sim_alert *a;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->a = xrealloc(l->a, l->cap * sizeof(*l->a));
	}
	a = &l->a[l->n++];
	memset(a, 0, sizeof(*a));
	a->rule = t->alert->rule;
	a->state = t->state;
	a->at_ms = t->at_ms;
	a->value = t->value;
	a->volume_ratio = t->alert->volume_ratio;
	a->n_examples = t->alert->n_examples;
	memcpy(a->examples, t->alert->examples, sizeof(a->examples));
	if (getenv("SIM_VERBOSE")) {
		char ts[21];

		time_format_iso8601(t->at_ms / 1000, ts);
		fprintf(stderr, "# %s %s %s value=%.3f\n", ts,
		    rule_name(a->rule), a->state == ALERT_FIRING ? "firing" :
		    "resolved", a->value);
	}
}

static void
feed(struct sim *s, struct monitor *m, const struct sim_event *e)
{
	char id[64], order[32];
	struct monitor_obs o;

	snprintf(order, sizeof(order), "%u", e->order);
	if (e->broken)
		snprintf(id, sizeof(id), "ord_%u_v2", e->order);
	else
		snprintf(id, sizeof(id), "%s:%u", s->event_name, e->order);
	memset(&o, 0, sizeof(o));
	o.account = s->account;
	o.event_name = s->event_name;
	o.event_id = id;
	o.order_id = order;
	o.leg = e->leg;
	o.value = 42.5;
	o.fields = (1u << BQ_EVENT_ID) | (1u << BQ_EVENT_NAME) |
	    (1u << BQ_EVENT_TIME) | (e->leg == LEDGER_SERVER ?
	    (1u << BQ_EM) | (1u << BQ_IP_UA) : (1u << BQ_CLICK_ID));
	monitor_observe(m, &o);
}

void
sim_replay(struct sim *s, struct monitor *m, struct clock *clk,
    int64_t to_ms)
{
	int64_t tick = clk->fixed_ms - clk->fixed_ms % SIM_MIN + SIM_MIN;

	for (; s->next < s->n && s->ev[s->next].at_ms < to_ms; s->next++) {
		const struct sim_event *e = &s->ev[s->next];

		for (; tick <= e->at_ms; tick += SIM_MIN) {
			clk->fixed_ms = tick;
			monitor_tick(m);
		}
		clk->fixed_ms = e->at_ms;
		feed(s, m, e);
	}
	for (; tick <= to_ms; tick += SIM_MIN) {
		clk->fixed_ms = tick;
		monitor_tick(m);
	}
}

size_t
sim_count(const struct sim_log *l, enum rule_id r)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->a[i].rule == r;
	return n;
}

const struct sim_alert *
sim_find(const struct sim_log *l, enum rule_id r, enum alert_state state)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->a[i].rule == r && l->a[i].state == state)
			return &l->a[i];
	return NULL;
}

void
sim_log_print(const struct sim_log *l)
{
	for (size_t i = 0; i < l->n; i++) {
		char t[21];

		time_format_iso8601(l->a[i].at_ms / 1000, t);
		fprintf(stderr, "# %s %s %s value=%.3f\n", t,
		    rule_name(l->a[i].rule),
		    l->a[i].state == ALERT_FIRING ? "firing" : "resolved",
		    l->a[i].value);
	}
}

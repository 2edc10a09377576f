/*
 * sim.h: synthetic conversion traffic for the monitoring scenarios.
 *
 * A seeded PRNG draws orders minute by minute from a store profile (daily
 * and weekly seasonality, day and hour noise), then the legs each order
 * produces: a browser leg with a coverage that is worse at night (ad
 * blockers, ITP), a server leg with a lag. Faults reshape a time range.
 * sim_replay() drives a monitor through the events with a fixed clock
 * that ticks every minute, exactly as `pinbridge backtest` does.
 */
#ifndef PB_TEST_SIM_H
#define PB_TEST_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/monitor.h"
#include "util/clock.h"

#define SIM_MIN		(60 * 1000LL)
#define SIM_HOUR	(60 * SIM_MIN)
#define SIM_DAY		(24 * SIM_HOUR)
#define SIM_WEEK	(7 * SIM_DAY)

struct sim_store {
	double orders_per_hour;	/* at the daily peak (16:00 UTC) */
	double night_floor;	/* share of the peak at 04:00 */
	double weekend_factor;	/* Saturday and Sunday */
	double day_noise;	/* lognormal sigma of a day's level */
	double hour_noise;	/* lognormal sigma of an hour's level */
	double browser_day;	/* browser coverage at the peak */
	double browser_night;	/* browser coverage at 04:00 */
	double server_cov;	/* share of orders the server leg reports */
	double lag_mean_s;	/* server leg lag, exponential */
	double late_share;	/* server legs 2-15 minutes late */
};

enum sim_fault_kind {
	SIM_ID_BREAK,		/* browser sends a new id format (share) */
	SIM_SERVER_DOWN,	/* server leg sends nothing */
	SIM_BROWSER_DOWN,	/* browser leg sends nothing */
	SIM_VOLUME_DROP,	/* orders lost on both legs (share) */
	SIM_SALE,		/* orders multiplied by share */
};

struct sim_fault {
	enum sim_fault_kind kind;
	int64_t from_ms, to_ms;
	double share;
};

struct sim_event {
	int64_t at_ms;
	uint32_t order;
	uint8_t leg;		/* LEDGER_BROWSER / LEDGER_SERVER */
	uint8_t broken;		/* browser id in the new format */
};

struct sim {
	const char *account;
	const char *event_name;
	struct sim_event *ev;
	size_t n, cap;
	size_t next;		/* replay position */
	uint32_t orders;
	uint64_t rng;
};

struct sim_alert {
	enum rule_id rule;
	enum alert_state state;
	int64_t at_ms;
	double value;
	double volume_ratio;
	size_t n_examples;
	struct monitor_example examples[MONITOR_EXAMPLES];
};

struct sim_log {
	struct sim_alert *a;
	size_t n, cap;
};

void sim_init(struct sim *s, const char *account, const char *event_name,
    uint64_t seed);
void sim_release(struct sim *s);
void sim_log_release(struct sim_log *l);

/* A medium store with realistic browser loss (20-35%, worse at night). */
void sim_store_default(struct sim_store *st);

/* Generates [from, to) and sorts all events by time. */
void sim_generate(struct sim *s, const struct sim_store *st,
    const struct sim_fault *f, size_t nf, int64_t from_ms, int64_t to_ms);

/* The sink to install: records transitions into a struct sim_log. */
void sim_sink(void *ctx, const struct monitor_transition *t);

/*
 * Feeds the events before to_ms (from where the last call stopped) and
 * ticks at every minute boundary up to and including to_ms.
 */
void sim_replay(struct sim *s, struct monitor *m, struct clock *clk,
    int64_t to_ms);

/* Transitions of a rule in the log (any state). */
size_t sim_count(const struct sim_log *l, enum rule_id r);
/* First transition of rule r into state, or NULL. */
const struct sim_alert *sim_find(const struct sim_log *l, enum rule_id r,
    enum alert_state state);

/* Prints the log (for a failing test's diagnosis). */
void sim_log_print(const struct sim_log *l);

#endif

/*
 * clock.h: the seam between pinbridge and wall-clock time.
 *
 * Code that needs "now" takes a struct clock so tests, `convert --now` and
 * `backtest` can pin or drive time. clock_system() is the real clock.
 */
#ifndef PB_CLOCK_H
#define PB_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct clock {
	int64_t (*now_ms)(const struct clock *c);
	int64_t fixed_ms;	/* used by clock_fixed() */
};

/* The real wall clock. */
const struct clock *clock_system(void);
/* A clock that always answers `ms`; change c->fixed_ms to move it. */
void clock_fixed(struct clock *c, int64_t ms);

static inline int64_t
clock_now_ms(const struct clock *c)
{
	return c->now_ms(c);
}

static inline int64_t
clock_now_s(const struct clock *c)
{
	return c->now_ms(c) / 1000;
}

/* Monotonic milliseconds, for timeouts and latencies (never wall time). */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

/*
 * Parses ISO 8601 / RFC 3339 date-times: "2026-06-18T15:05:00Z",
 * "2026-06-18 15:05:00.123+01:00", "2026-06-18" (midnight UTC). A time
 * without zone is UTC. Returns 0 and Unix milliseconds, or -1.
 */
int time_parse_iso8601(const char *s, int64_t *out_ms);
/* Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
void time_format_iso8601(int64_t unix_s, char out[21]);
/* Whether y-m-d exists in the proleptic Gregorian calendar. */
bool time_date_valid(int64_t y, int m, int d);
/* Days from 1970-01-01 for a valid date (negative before 1970). */
int64_t time_days_from_civil(int64_t y, int m, int d);

#endif

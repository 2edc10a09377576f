/*
 * ratelimit.c: integer token bucket; see ratelimit.h for the units.
 */
#include "deliver/ratelimit.h"

#include "util/clock.h"
#include "util/banned.h"

#define UNITS_PER_TOKEN	60000	/* ms per minute */

void
pin_ratelimit_init(struct pin_ratelimit *rl, const struct clock *clock,
    int64_t per_min, int64_t burst)
{
	rl->clock = clock;
	rl->per_min = per_min > 0 ? per_min : 0;
	if (burst <= 0)
		burst = rl->per_min / 60 > 0 ? rl->per_min / 60 : 1;
	rl->capacity = burst * UNITS_PER_TOKEN;
	rl->units = rl->capacity;
	rl->last_ms = clock_now_ms(clock);
}

static void
refill(struct pin_ratelimit *rl)
{
	int64_t now = clock_now_ms(rl->clock);
	int64_t elapsed = now - rl->last_ms;

	/* A wall clock stepping back must not mint or burn tokens. */
	if (elapsed <= 0) {
		if (elapsed < 0)
			rl->last_ms = now;
		return;
	}
	rl->last_ms = now;
	if (elapsed > rl->capacity / (rl->per_min ? rl->per_min : 1))
		rl->units = rl->capacity;
	else
		rl->units += elapsed * rl->per_min;
	if (rl->units > rl->capacity)
		rl->units = rl->capacity;
}

bool
pin_ratelimit_take(struct pin_ratelimit *rl)
{
	if (rl->per_min == 0)
		return true;
	refill(rl);
	if (rl->units < UNITS_PER_TOKEN)
		return false;
	rl->units -= UNITS_PER_TOKEN;
	return true;
}

int64_t
pin_ratelimit_wait_ms(struct pin_ratelimit *rl)
{
	int64_t missing;

	if (rl->per_min == 0)
		return 0;
	refill(rl);
	missing = UNITS_PER_TOKEN - rl->units;
	if (missing <= 0)
		return 0;
	return (missing + rl->per_min - 1) / rl->per_min;
}

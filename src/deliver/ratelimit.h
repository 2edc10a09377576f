/*
 * ratelimit.h: a token bucket per ad account.
 *
 * Pinterest documents 5,000 calls per minute per ad account for this
 * endpoint (spec §5, §12.1); the relay throttles itself below that rather
 * than learning it from 429s. Time comes from an injected struct clock so
 * tests can move it by hand. Not thread-safe: one bucket, one thread.
 */
#ifndef PB_DELIVER_RATELIMIT_H
#define PB_DELIVER_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct clock;

#define PIN_RATELIMIT_DEFAULT_PER_MIN	5000

struct pin_ratelimit {
	const struct clock *clock;	/* borrowed */
	int64_t per_min;	/* refill rate, requests per minute; 0 = unlimited */
	/*
	 * Tokens are kept in units of 1/60000 request so that refill is
	 * exact integer arithmetic: every millisecond adds per_min units.
	 */
	int64_t units;		/* 0 .. capacity */
	int64_t capacity;	/* burst * 60000 */
	int64_t last_ms;	/* clock time of the last refill */
};

/*
 * Sets up a bucket that starts full. burst is how many requests may go at
 * once (0: one second's worth, at least 1). per_min 0 disables limiting.
 */
void pin_ratelimit_init(struct pin_ratelimit *rl, const struct clock *clock,
    int64_t per_min, int64_t burst);

/* Takes one token if there is one. */
bool pin_ratelimit_take(struct pin_ratelimit *rl);

/* Milliseconds until one token is available (0: now). */
int64_t pin_ratelimit_wait_ms(struct pin_ratelimit *rl);

#endif

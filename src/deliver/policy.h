/*
 * policy.h: what to do after Pinterest (or the network) answered a batch.
 *
 * The rules follow spec §6: per-event verdicts on 200/422; retry 408, 423,
 * 429, 5xx except 501, timeouts and connection errors; split a batch that
 * got 400 (one bad item fails the whole request) until the bad event is
 * alone; pause an account on 401/403 so its events wait for new
 * credentials. Delays are exponential with full jitter unless Pinterest
 * sent Retry-After. Events that would be older than max_age by their next
 * attempt are dead-lettered as "expired" instead: Pinterest would refuse
 * them anyway. Nothing here does I/O; time and randomness come in.
 */
#ifndef PB_DELIVER_POLICY_H
#define PB_DELIVER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pin_response;
struct pin_event_result;

struct pin_policy {
	int64_t backoff_base_ms;	/* first retry waits up to this */
	int64_t backoff_cap_ms;		/* ceiling of the exponential */
	int64_t retry_after_cap_ms;	/* longest Retry-After we obey */
	int64_t max_age_s;		/* older events are dead ("expired") */
	int64_t offline_lag_s;		/* lag beyond which dedup is lost */
	int64_t pause_probe_ms;		/* paused account: probe this often */
};

/* Defaults: 1 s base, 10 min cap, 1 h Retry-After cap, 7 days, 1 h, 60 s. */
void pin_policy_defaults(struct pin_policy *p);

/* How the transfer itself ended, before any HTTP status. */
enum pin_transport {
	PIN_XFER_OK = 0,	/* an HTTP response arrived */
	PIN_XFER_TIMEOUT,	/* connect or total timeout */
	PIN_XFER_CONNECT,	/* refused, reset, closed before a response */
	PIN_XFER_ERROR,		/* anything else curl reported */
};

enum pin_verdict {
	PIN_V_PER_EVENT,	/* apply pin_policy_event() to each result */
	PIN_V_DONE_ALL,		/* accepted, but no usable per-event list */
	PIN_V_RETRY,		/* whole batch again after a delay */
	PIN_V_PAUSE,		/* credentials: stop the account, keep events */
	PIN_V_BISECT,		/* resend each half separately */
	PIN_V_DEAD_ALL,		/* every event of the batch is dead */
};

struct pin_outcome {
	enum pin_verdict verdict;
	char reason[32];	/* short code: "rate_limited", "bad_request", ... */
	const char *message;	/* Pinterest's message, borrowed from the response; may be NULL */
};

/*
 * Classifies a finished request that carried n_events events. `r` may be
 * NULL when t != PIN_XFER_OK.
 */
void pin_policy_batch(const struct pin_policy *p, enum pin_transport t,
    const struct pin_response *r, size_t n_events, struct pin_outcome *out);

/*
 * Per-event verdict for PIN_V_PER_EVENT: true when the event is done,
 * false when it is dead; then *message is Pinterest's error (never NULL).
 * http_status is 200 or 422: under 422 anything but "processed" failed,
 * under 200 only an explicit "failed" did.
 */
bool pin_policy_event(int http_status, const struct pin_event_result *e,
    const char **message);

/*
 * Delay before retry number `attempt` (0 for the first retry): uniform in
 * [0, min(cap, base * 2^attempt)]. A retry_after_ms >= 0 (from the
 * header) wins instead, bounded by retry_after_cap_ms. `rng` is the state
 * of pin_rng_next().
 */
int64_t pin_policy_retry_delay_ms(const struct pin_policy *p,
    unsigned attempt, int64_t retry_after_ms, uint64_t *rng);

/*
 * Parses a Retry-After value: delta-seconds or an HTTP date. Stores the
 * wait from now_ms (clamped at 0) in *delay_ms. Returns 0, or -1 when the
 * value is neither.
 */
int pin_retry_after_parse(const char *value, int64_t now_ms,
    int64_t *delay_ms);

/* Whether an event from event_time_s is past max_age at time at_ms. */
bool pin_policy_expired(const struct pin_policy *p, int64_t event_time_s,
    int64_t at_ms);

/* Whether sending at send_ms makes the event offline (lag > offline_lag_s). */
bool pin_policy_offline(const struct pin_policy *p, int64_t event_time_s,
    int64_t send_ms);

/* xorshift64*: fast, seedable, good enough for jitter. *state must be != 0. */
uint64_t pin_rng_next(uint64_t *state);

#endif

/*
 * policy.c: the retry/dead/pause/bisect table of spec §6 and the backoff
 * arithmetic. Pure functions: the worker supplies time and randomness.
 */
#include "deliver/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "deliver/response.h"
#include "util/banned.h"

void
pin_policy_defaults(struct pin_policy *p)
{
	p->backoff_base_ms = 1000;
	p->backoff_cap_ms = 10 * 60 * 1000;
	p->retry_after_cap_ms = 60 * 60 * 1000;
	p->max_age_s = 7 * 24 * 3600;
	p->offline_lag_s = 3600;
	p->pause_probe_ms = 60 * 1000;
}

static void
set(struct pin_outcome *out, enum pin_verdict v, const char *reason)
{
	out->verdict = v;
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
}

/* Statuses worth trying again (Segment's rule set, spec §6.2). */
static bool
retryable_status(int s)
{
	if (s == 408 || s == 423 || s == 429)
		return true;
	return s >= 500 && s <= 599 && s != 501;
}

void
pin_policy_batch(const struct pin_policy *p, enum pin_transport t,
    const struct pin_response *r, size_t n_events, struct pin_outcome *out)
{
	int s;

	(void)p;
	out->message = NULL;
	out->reason[0] = '\0';
	switch (t) {
	case PIN_XFER_OK:
		break;
	case PIN_XFER_TIMEOUT:
		set(out, PIN_V_RETRY, "timeout");
		return;
	case PIN_XFER_CONNECT:
		set(out, PIN_V_RETRY, "connection");
		return;
	case PIN_XFER_ERROR:
	default:
		set(out, PIN_V_RETRY, "transport");
		return;
	}
	s = r ? r->http_status : 0;
	out->message = r ? r->message : NULL;

	if (s == 200) {
		/*
		 * Accepted. Without a list that lines up with our batch we
		 * cannot blame any single event, and resending accepted
		 * events risks double counting; so all are done.
		 */
		if (r->parsed && r->n_events == n_events)
			set(out, PIN_V_PER_EVENT, "ok");
		else
			set(out, PIN_V_DONE_ALL, "ok_unreadable");
		return;
	}
	if (s == 422) {
		if (r->parsed && r->n_events == n_events)
			set(out, PIN_V_PER_EVENT, "partial");
		else if (n_events > 1)
			set(out, PIN_V_BISECT, "unprocessable");	/* find the culprits by halves */
		else
			set(out, PIN_V_DEAD_ALL, "unprocessable");
		return;
	}
	if (s >= 200 && s < 300) {
		set(out, PIN_V_DONE_ALL, "ok_other_2xx");
		return;
	}
	if (s == 400 || s == 413) {
		const char *why = s == 400 ? "bad_request" : "payload_too_large";

		set(out, n_events > 1 ? PIN_V_BISECT : PIN_V_DEAD_ALL, why);
		return;
	}
	if (s == 401 || s == 403) {
		set(out, PIN_V_PAUSE, "credentials_invalid");
		return;
	}
	if (s == 429) {
		set(out, PIN_V_RETRY, "rate_limited");
		return;
	}
	if (retryable_status(s)) {
		char why[32];

		snprintf(why, sizeof(why), "http_%d", s);
		set(out, PIN_V_RETRY, why);
		return;
	}
	if (s >= 400 && s < 600) {	/* other 4xx, and 501 */
		char why[32];

		snprintf(why, sizeof(why), "http_%d", s);
		set(out, PIN_V_DEAD_ALL, why);
		return;
	}
	/* 1xx/3xx/501/nonsense: not Pinterest's protocol; the next try may differ. */
	{
		char why[32];

		snprintf(why, sizeof(why), "http_%d", s);
		set(out, PIN_V_RETRY, why);
	}
}

bool
pin_policy_event(int http_status, const struct pin_event_result *e,
    const char **message)
{
	bool done;

	if (http_status == 422)
		done = e->status == PIN_EVENT_PROCESSED;
	else
		done = e->status != PIN_EVENT_FAILED;
	if (!done) {
		*message = e->error_message ? e->error_message :
		    e->status == PIN_EVENT_FAILED ? "failed" : "no status";
	}
	return done;
}

uint64_t
pin_rng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

int64_t
pin_policy_retry_delay_ms(const struct pin_policy *p, unsigned attempt,
    int64_t retry_after_ms, uint64_t *rng)
{
	int64_t ceiling = p->backoff_base_ms;

	if (retry_after_ms >= 0)
		return retry_after_ms < p->retry_after_cap_ms ?
		    retry_after_ms : p->retry_after_cap_ms;
	for (unsigned i = 0; i < attempt && ceiling < p->backoff_cap_ms; i++)
		ceiling *= 2;
	if (ceiling > p->backoff_cap_ms)
		ceiling = p->backoff_cap_ms;
	if (ceiling <= 0)
		return 0;
	return (int64_t)(pin_rng_next(rng) % ((uint64_t)ceiling + 1));
}

int
pin_retry_after_parse(const char *value, int64_t now_ms, int64_t *delay_ms)
{
	const char *p = value;
	time_t t;

	if (!value)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		char *end;
		long long secs;

		errno = 0;
		secs = strtoll(p, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		    *end == '\n')
			end++;
		if (*end != '\0')
			return -1;
		/* A huge value is still "a long time"; the cap applies later. */
		if (errno == ERANGE || secs > INT64_MAX / 1000)
			secs = INT64_MAX / 1000;
		*delay_ms = (int64_t)secs * 1000;
		return 0;
	}
	if (!*p)
		return -1;
	t = curl_getdate(p, NULL);
	if (t == (time_t)-1)
		return -1;
	/* Dates far in the future are "a long time" too, without overflow. */
	if (t > INT64_MAX / 1000)
		t = INT64_MAX / 1000;
	*delay_ms = t < 0 ? 0 : (int64_t)t * 1000 - now_ms;
	if (*delay_ms < 0)
		*delay_ms = 0;
	return 0;
}

bool
pin_policy_expired(const struct pin_policy *p, int64_t event_time_s,
    int64_t at_ms)
{
	return at_ms / 1000 - event_time_s > p->max_age_s;
}

bool
pin_policy_offline(const struct pin_policy *p, int64_t event_time_s,
    int64_t send_ms)
{
	return send_ms / 1000 - event_time_s > p->offline_lag_s;
}

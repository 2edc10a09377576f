/*
 * test_policy.c: the verdict for every status class, per-event verdicts,
 * backoff bounds and growth, Retry-After in both spellings, expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/policy.h"
#include "deliver/response.h"
#include "util/banned.h"

static void
classify(int status, const char *body, size_t n, struct pin_outcome *o)
{
	struct pin_policy p;
	struct pin_response r;

	pin_policy_defaults(&p);
	(void)pin_response_parse(&r, status, body, body ? strlen(body) : 0);
	pin_policy_batch(&p, PIN_XFER_OK, &r, n, o);
	/* message is borrowed from r; tests below check it before release */
	o->message = NULL;
	pin_response_release(&r);
}

static void
test_status_table(void **state)
{
	static const struct {
		int status;
		size_t n;
		enum pin_verdict v;
		const char *reason;
	} t[] = {
		{ 400, 10, PIN_V_BISECT, "bad_request" },
		{ 400, 1, PIN_V_DEAD_ALL, "bad_request" },
		{ 413, 10, PIN_V_BISECT, "payload_too_large" },
		{ 413, 1, PIN_V_DEAD_ALL, "payload_too_large" },
		{ 401, 10, PIN_V_PAUSE, "credentials_invalid" },
		{ 403, 1, PIN_V_PAUSE, "credentials_invalid" },
		{ 404, 5, PIN_V_DEAD_ALL, "http_404" },
		{ 405, 5, PIN_V_DEAD_ALL, "http_405" },
		{ 408, 5, PIN_V_RETRY, "http_408" },
		{ 409, 5, PIN_V_DEAD_ALL, "http_409" },
		{ 423, 5, PIN_V_RETRY, "http_423" },
		{ 429, 5, PIN_V_RETRY, "rate_limited" },
		{ 500, 5, PIN_V_RETRY, "http_500" },
		{ 501, 5, PIN_V_DEAD_ALL, "http_501" },
		{ 502, 5, PIN_V_RETRY, "http_502" },
		{ 503, 5, PIN_V_RETRY, "http_503" },
		{ 504, 5, PIN_V_RETRY, "http_504" },
		{ 599, 5, PIN_V_RETRY, "http_599" },
		{ 204, 5, PIN_V_DONE_ALL, "ok_other_2xx" },
		{ 302, 5, PIN_V_RETRY, "http_302" },
		{ 100, 5, PIN_V_RETRY, "http_100" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pin_outcome o;

		classify(t[i].status, "{\"code\":1,\"message\":\"m\"}", t[i].n, &o);
		if (o.verdict != t[i].v || strcmp(o.reason, t[i].reason) != 0)
			fail_msg("status %d n %zu: verdict %d reason %s",
			    t[i].status, t[i].n, (int)o.verdict, o.reason);
	}
}

static void
test_transport(void **state)
{
	struct pin_policy p;
	struct pin_outcome o;

	(void)state;
	pin_policy_defaults(&p);
	pin_policy_batch(&p, PIN_XFER_TIMEOUT, NULL, 3, &o);
	assert_int_equal(o.verdict, PIN_V_RETRY);
	assert_string_equal(o.reason, "timeout");
	pin_policy_batch(&p, PIN_XFER_CONNECT, NULL, 3, &o);
	assert_int_equal(o.verdict, PIN_V_RETRY);
	assert_string_equal(o.reason, "connection");
	pin_policy_batch(&p, PIN_XFER_ERROR, NULL, 3, &o);
	assert_int_equal(o.verdict, PIN_V_RETRY);
}

static void
test_200_and_422(void **state)
{
	const char *ok2 = "{\"num_events_received\":2,\"num_events_processed\":2,"
	    "\"events\":[{\"status\":\"processed\"},{\"status\":\"processed\"}]}";
	const char *part = "{\"code\":953,\"message\":\"m\",\"details\":{"
	    "\"num_events_received\":2,\"num_events_processed\":1,\"events\":"
	    "[{\"status\":\"processed\",\"error_message\":null},"
	    "{\"status\":\"failed\",\"error_message\":\"too old\"}]}}";
	struct pin_outcome o;

	(void)state;
	classify(200, ok2, 2, &o);
	assert_int_equal(o.verdict, PIN_V_PER_EVENT);
	/* Count mismatch on 200: accepted, cannot blame anyone. */
	classify(200, ok2, 3, &o);
	assert_int_equal(o.verdict, PIN_V_DONE_ALL);
	classify(200, "garbage", 3, &o);
	assert_int_equal(o.verdict, PIN_V_DONE_ALL);
	classify(422, part, 2, &o);
	assert_int_equal(o.verdict, PIN_V_PER_EVENT);
	/* A 422 we cannot map to events: split to find the culprits. */
	classify(422, part, 5, &o);
	assert_int_equal(o.verdict, PIN_V_BISECT);
	classify(422, "{}", 1, &o);
	assert_int_equal(o.verdict, PIN_V_DEAD_ALL);
}

static void
test_event_verdicts(void **state)
{
	struct pin_event_result ok = { PIN_EVENT_PROCESSED, NULL, NULL };
	struct pin_event_result bad = { PIN_EVENT_FAILED, (char *)"too old", NULL };
	struct pin_event_result bare = { PIN_EVENT_FAILED, NULL, NULL };
	struct pin_event_result unk = { PIN_EVENT_UNKNOWN, NULL, NULL };
	const char *m = NULL;

	(void)state;
	assert_true(pin_policy_event(200, &ok, &m));
	assert_true(pin_policy_event(422, &ok, &m));
	assert_false(pin_policy_event(422, &bad, &m));
	assert_string_equal(m, "too old");
	assert_false(pin_policy_event(200, &bad, &m));
	assert_string_equal(m, "too old");
	assert_false(pin_policy_event(422, &bare, &m));
	assert_string_equal(m, "failed");
	/* Unknown status: accepted under 200, rejected under 422. */
	assert_true(pin_policy_event(200, &unk, &m));
	assert_false(pin_policy_event(422, &unk, &m));
	assert_non_null(m);
}

static void
test_backoff_bounds(void **state)
{
	struct pin_policy p;
	uint64_t rng = 0x12345678;

	(void)state;
	pin_policy_defaults(&p);
	assert_int_equal(p.backoff_base_ms, 1000);
	assert_int_equal(p.backoff_cap_ms, 600000);
	for (unsigned a = 0; a < 40; a++) {
		int64_t ceiling = a < 20 ? 1000LL << a : p.backoff_cap_ms;
		int64_t maxseen = 0;

		if (ceiling > p.backoff_cap_ms)
			ceiling = p.backoff_cap_ms;
		for (int i = 0; i < 2000; i++) {
			int64_t d = pin_policy_retry_delay_ms(&p, a, -1, &rng);

			assert_true(d >= 0);
			assert_true(d <= ceiling);
			if (d > maxseen)
				maxseen = d;
		}
		/* Full jitter uses the whole range, not just its bottom. */
		assert_true(maxseen > ceiling / 2);
	}
}

static void
test_backoff_jitter_spreads(void **state)
{
	struct pin_policy p;
	uint64_t rng = 42;
	int buckets[10] = { 0 };

	(void)state;
	pin_policy_defaults(&p);
	for (int i = 0; i < 10000; i++) {
		int64_t d = pin_policy_retry_delay_ms(&p, 3, -1, &rng);

		buckets[d * 10 / 8001]++;
	}
	for (int i = 0; i < 10; i++)
		assert_in_range(buckets[i], 800, 1200);
}

static void
test_retry_after(void **state)
{
	struct pin_policy p;
	uint64_t rng = 7;
	int64_t d = -1;
	/* 2015-10-21T07:28:00Z */
	const int64_t at = 1445412480LL * 1000;

	(void)state;
	pin_policy_defaults(&p);
	assert_int_equal(pin_retry_after_parse("120", 0, &d), 0);
	assert_int_equal(d, 120000);
	assert_int_equal(pin_retry_after_parse(" 0 ", 0, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(pin_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT",
	    at - 5000, &d), 0);
	assert_int_equal(d, 5000);
	/* A date in the past means now. */
	assert_int_equal(pin_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT",
	    at + 5000, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(pin_retry_after_parse("soon", 0, &d), -1);
	assert_int_equal(pin_retry_after_parse("", 0, &d), -1);
	assert_int_equal(pin_retry_after_parse("12abc", 0, &d), -1);
	assert_int_equal(pin_retry_after_parse(NULL, 0, &d), -1);
	assert_int_equal(pin_retry_after_parse("99999999999999999999", 0, &d), 0);
	assert_true(d > 0);
	/* A date curl reads as year 2111111111: long, not an overflow. */
	assert_int_equal(pin_retry_after_parse(
	    "Wed, 21 Oct 2111111111 07:28:00 GMT", at, &d), 0);
	assert_true(d > 0);

	/* Retry-After wins over the backoff, within its cap. */
	assert_int_equal(pin_policy_retry_delay_ms(&p, 9, 7000, &rng), 7000);
	assert_int_equal(pin_policy_retry_delay_ms(&p, 0, 0, &rng), 0);
	assert_int_equal(pin_policy_retry_delay_ms(&p, 0, 24LL * 3600 * 1000,
	    &rng), p.retry_after_cap_ms);
}

static void
test_expiry_and_lag(void **state)
{
	struct pin_policy p;
	const int64_t now_s = 1800000000;

	(void)state;
	pin_policy_defaults(&p);
	assert_false(pin_policy_expired(&p, now_s - 7 * 86400, now_s * 1000));
	assert_true(pin_policy_expired(&p, now_s - 7 * 86400 - 1, now_s * 1000));
	/* Not expired now, but will be by a retry an hour from now. */
	assert_false(pin_policy_expired(&p, now_s - 7 * 86400 + 60, now_s * 1000));
	assert_true(pin_policy_expired(&p, now_s - 7 * 86400 + 60,
	    (now_s + 3600) * 1000));
	assert_false(pin_policy_offline(&p, now_s - 3600, now_s * 1000));
	assert_true(pin_policy_offline(&p, now_s - 3601, now_s * 1000));
	p.max_age_s = 10;
	assert_true(pin_policy_expired(&p, now_s - 11, now_s * 1000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_transport),
		cmocka_unit_test(test_200_and_422),
		cmocka_unit_test(test_event_verdicts),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_backoff_jitter_spreads),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_expiry_and_lag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

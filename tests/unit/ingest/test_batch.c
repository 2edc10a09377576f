/* ingest/batch: request bodies to records and the answers clients get. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/hash.h"
#include "ingest/batch.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/limits.h"

#define NOW_MS 1780000000000LL

static struct hasher *hasher;
static struct arena arena;
static struct batch_source src;
static struct batch b;
static struct batch_error err;
static struct buf out;

static int
setup(void **state)
{
	(void)state;
	hasher = hasher_new();
	arena_init(&arena, 0);
	buf_init(&out, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hasher_free(hasher);
	arena_release(&arena);
	buf_release(&out);
	return 0;
}

static void
reset_source(void)
{
	memset(&src, 0, sizeof(src));
	src.account = "shop";
	src.partner_name = "ss-test";
	src.leg = LEG_SERVER;
	src.now_ms = NOW_MS;
	src.max_age_s = PB_DEFAULT_MAX_AGE_S;
}

static int
decode(const char *body)
{
	arena_reset(&arena);
	buf_reset(&out);
	memset(&err, 0, sizeof(err));
	return batch_decode(&arena, hasher, &src, body, strlen(body), &b, &err);
}

static const char *
render(int commit_status, int *status)
{
	buf_reset(&out);
	batch_render(&b, src.dropin, commit_status, &out, status);
	return out.data;
}

static void
test_single_event_and_record(void **state)
{
	int status;

	(void)state;
	reset_source();
	assert_int_equal(decode("{\"event_name\":\"checkout\",\"order_id\":\"9\","
	    "\"email\":\"a@b.co\",\"value\":\"5\"}"), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.n_recs, 1);
	assert_string_equal(b.recs[0].account, "shop");
	assert_string_equal(b.recs[0].event_id, "checkout:9");
	assert_string_equal(b.recs[0].event_name, "checkout");
	assert_string_equal(b.recs[0].order_id, "9");
	assert_int_equal(b.recs[0].legs, LEG_SERVER);
	assert_int_equal(b.recs[0].received_at_ms, NOW_MS);
	assert_int_equal(b.recs[0].not_before_ms, 0);	/* not set: at once */
	assert_non_null(strstr(b.recs[0].payload, "\"partner_name\":\"ss-test\""));
	assert_null(strstr(b.recs[0].payload, "a@b.co"));
	assert_true(b.results[0].value > 4.99 && b.results[0].value < 5.01);
	assert_string_equal(render(0, &status), "{\"accepted\":1,\"rejected\":0,"
	    "\"events\":[{\"index\":0,\"status\":\"accepted\",\"event_id\":"
	    "\"checkout:9\"}]}");
	assert_int_equal(status, 202);
}

static void
test_mixed_list_and_outcomes(void **state)
{
	int status;
	const char *o;

	(void)state;
	reset_source();
	assert_int_equal(decode("{\"events\":[{\"event_name\":\"lead\","
	    "\"email\":\"a@b.co\",\"event_id\":\"x\"},{\"event_name\":\"nope\"},"
	    "{\"event_name\":\"lead\",\"email\":\"c@d.co\",\"event_id\":\"y\","
	    "\"shoe_size\":9}]}"), 0);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.n_recs, 2);
	assert_int_equal(b.results[2].record, 1);
	b.recs[0].outcome = STORE_MERGED;
	b.recs[1].outcome = STORE_DUPLICATE;
	o = render(0, &status);
	assert_int_equal(status, 202);
	assert_non_null(strstr(o, "\"accepted\":2,\"rejected\":1"));
	assert_non_null(strstr(o, "\"event_id\":\"x\",\"merged\":true"));
	assert_non_null(strstr(o, "{\"index\":1,\"status\":\"rejected\","
	    "\"error\":{\"code\":\"unknown_event_name\""));
	assert_non_null(strstr(o, "\"duplicate\":true,\"warning\":"));
	/* A failed commit means nothing was accepted: 503, not 202. */
	o = render(-1, &status);
	assert_int_equal(status, 503);
	assert_non_null(strstr(o, "store_unavailable"));
}

static void
test_all_rejected_is_400(void **state)
{
	int status;

	(void)state;
	reset_source();
	assert_int_equal(decode("{\"events\":[{\"event_name\":\"lead\"}]}"), 0);
	assert_int_equal(b.n_recs, 0);
	render(0, &status);
	assert_int_equal(status, 400);
	assert_non_null(strstr(out.data, "missing_identity"));
}

static void
test_request_errors(void **state)
{
	char *big;
	size_t n = PB_MAX_EVENTS_PER_REQUEST + 1, len = 0;

	(void)state;
	reset_source();
	assert_int_equal(decode("{\"events\":"), -1);
	assert_string_equal(err.code, "invalid_json");
	assert_int_equal(err.status, 400);
	assert_int_equal(decode("[1,2]"), -1);
	assert_string_equal(err.code, "invalid_body");
	assert_int_equal(decode("{\"events\":{}}"), -1);
	assert_string_equal(err.code, "invalid_body");
	assert_int_equal(decode("{\"events\":[]}"), -1);
	assert_string_equal(err.code, "no_events");
	assert_int_equal(decode("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]"), -1);
	assert_string_equal(err.code, "too_deep");
	big = malloc(n * 3 + 32);
	len = (size_t)sprintf(big, "{\"events\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(big + len, "%s{}", i ? "," : "");
	sprintf(big + len, "]}");
	assert_int_equal(decode(big), -1);
	assert_string_equal(err.code, "too_many_events");
	assert_int_equal(err.status, 413);
	free(big);
	buf_reset(&out);
	batch_render_error(&err, &out);
	assert_non_null(strstr(out.data, "{\"error\":{\"code\":\"too_many_events\""));
}

static void
test_browser_leg_takes_connection_facts(void **state)
{
	(void)state;
	reset_source();
	src.leg = LEG_BROWSER;
	src.client_ip = "198.51.100.20";
	src.user_agent = "Mozilla/5.0 (real)";
	src.click_id = "dj0yJnU9cookie";
	src.not_before_ms = NOW_MS + 60000;
	assert_int_equal(decode("{\"event_name\":\"checkout\",\"order_id\":\"7\","
	    "\"client_ip_address\":\"10.9.9.9\",\"client_user_agent\":\"forged\"}"),
	    0);
	assert_int_equal(b.n_recs, 1);
	assert_non_null(strstr(b.recs[0].payload,
	    "\"client_ip_address\":\"198.51.100.20\""));
	assert_non_null(strstr(b.recs[0].payload,
	    "\"client_user_agent\":\"Mozilla/5.0 (real)\""));
	assert_non_null(strstr(b.recs[0].payload, "\"click_id\":\"dj0yJnU9cookie\""));
	assert_null(strstr(b.recs[0].payload, "forged"));
	assert_int_equal(b.recs[0].legs, LEG_BROWSER);
	assert_int_equal(b.recs[0].not_before_ms, NOW_MS + 60000);
}

static void
test_dropin_shapes(void **state)
{
	int status;

	(void)state;
	reset_source();
	src.dropin = true;
	assert_int_equal(decode("{\"event_name\":\"lead\"}"), -1);
	assert_string_equal(err.code, "invalid_body");
	assert_int_equal(decode("{\"data\":[],\"extra\":1}"), -1);
	assert_int_equal(decode("{\"data\":[{\"event_name\":\"lead\","
	    "\"action_source\":\"web\",\"event_time\":1779999000,"
	    "\"event_id\":\"d1\",\"user_data\":{\"em\":[\"a@b.co\"]}}]}"), 0);
	assert_string_equal(render(0, &status), "{\"num_events_received\":1,"
	    "\"num_events_processed\":1,\"events\":[{\"status\":\"processed\","
	    "\"error_message\":\"\",\"warning_message\":\"\"}]}");
	assert_int_equal(status, 200);
	assert_int_equal(decode("{\"data\":[{\"event_name\":\"lead\","
	    "\"event_id\":\"d1\",\"user_data\":{\"em\":[\"a@b.co\"]}},"
	    "{\"event_name\":\"x\"}]}"), 0);
	render(0, &status);
	assert_int_equal(status, 422);
	assert_non_null(strstr(out.data, "{\"code\":953,"));
	assert_non_null(strstr(out.data, "\"num_events_processed\":1"));
	assert_non_null(strstr(out.data, "\"status\":\"failed\",\"error_message\":"
	    "\"event_name 'x'"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_event_and_record),
		cmocka_unit_test(test_mixed_list_and_outcomes),
		cmocka_unit_test(test_all_rejected_is_400),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_browser_leg_takes_connection_facts),
		cmocka_unit_test(test_dropin_shapes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_response.c: Pinterest response bodies of every documented shape,
 * the message spellings seen in the wild ("", null, missing), and bodies
 * that are not what they claim to be.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/response.h"
#include "util/banned.h"

static int
parse(struct pin_response *r, int status, const char *body)
{
	return pin_response_parse(r, status, body, body ? strlen(body) : 0);
}

static void
test_200_empty_strings(void **state)
{
	/* woocommerce/pinterest-for-woocommerce#945 debug log, verbatim. */
	const char *b = "{\"num_events_processed\":1,\"num_events_received\":1,"
	    "\"events\":[{\"status\":\"processed\",\"error_message\":\"\","
	    "\"warning_message\":\"\"}]}";
	struct pin_response r;

	(void)state;
	assert_int_equal(parse(&r, 200, b), 0);
	assert_true(r.parsed);
	assert_int_equal(r.num_received, 1);
	assert_int_equal(r.num_processed, 1);
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.events[0].status, PIN_EVENT_PROCESSED);
	assert_null(r.events[0].error_message);
	assert_null(r.events[0].warning_message);
	pin_response_release(&r);
	assert_null(r.events);
}

static void
test_200_null_missing_and_warning(void **state)
{
	const char *b = "{\"num_events_received\":3,\"num_events_processed\":2,"
	    "\"events\":[{\"status\":\"processed\",\"error_message\":null,"
	    "\"warning_message\":null},"
	    "{\"status\":\"processed\",\"warning_message\":"
	    "\"'external_id' is not in sha256 hashed format\"},"
	    "{\"status\":\"failed\",\"error_message\":\"bad thing\"}]}";
	struct pin_response r;

	(void)state;
	assert_int_equal(parse(&r, 200, b), 0);
	assert_int_equal(r.n_events, 3);
	assert_null(r.events[0].error_message);
	assert_null(r.events[0].warning_message);
	assert_null(r.events[1].error_message);
	assert_string_equal(r.events[1].warning_message,
	    "'external_id' is not in sha256 hashed format");
	assert_int_equal(r.events[2].status, PIN_EVENT_FAILED);
	assert_string_equal(r.events[2].error_message, "bad thing");
	assert_null(r.events[2].warning_message);
	pin_response_release(&r);
}

static void
test_422_detailed(void **state)
{
	/* segmentio/action-destinations#2465, as quoted in spec §6.2. */
	const char *b = "{\"code\":953,\"message\":\"The action could not be "
	    "processed properly due to some or all data provided being "
	    "invalid.\",\"details\":{\"num_events_processed\":0,"
	    "\"num_events_received\":1,\"events\":[{\"status\":\"failed\","
	    "\"error_message\":\"Invalid event_timestamp parameter. Given "
	    "timestamp is in the past.\",\"warning_message\":\"\"}]}}";
	struct pin_response r;

	(void)state;
	assert_int_equal(parse(&r, 422, b), 0);
	assert_int_equal(r.code, 953);
	assert_non_null(strstr(r.message, "could not be processed"));
	assert_int_equal(r.num_processed, 0);
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.events[0].status, PIN_EVENT_FAILED);
	assert_string_equal(r.events[0].error_message,
	    "Invalid event_timestamp parameter. Given timestamp is in the past.");
	pin_response_release(&r);
}

static void
test_422_without_details(void **state)
{
	struct pin_response r;

	(void)state;
	assert_int_equal(parse(&r, 422, "{\"code\":953,\"message\":\"x\"}"), -1);
	assert_false(r.parsed);
	assert_int_equal(r.code, 953);	/* still readable for the logs */
	assert_int_equal(r.n_events, 0);
	pin_response_release(&r);
}

static void
test_errors(void **state)
{
	static const struct {
		int status;
		const char *body;
		int64_t code;
		const char *msg;
	} cases[] = {
		{ 400, "{\"code\":4196,\"message\":\"The request was invalid.\"}",
		    4196, "The request was invalid." },
		{ 401, "{\"code\":2,\"message\":\"Authentication failed.\","
		    "\"status\":\"failure\"}", 2, "Authentication failed." },
		{ 403, "{\"code\":29,\"message\":\"You are not permitted to "
		    "access that resource.\"}", 29,
		    "You are not permitted to access that resource." },
		{ 429, "{\"code\":8,\"message\":\"rate\"}", 8, "rate" },
		{ 503, "{\"code\":4197,\"message\":\"ramped down\"}", 4197,
		    "ramped down" },
		{ 500, "{\"message\":\"oops\"}", -1, "oops" },
		{ 502, "{\"code\":1}", 1, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pin_response r;

		assert_int_equal(parse(&r, cases[i].status, cases[i].body), 0);
		assert_int_equal(r.http_status, cases[i].status);
		assert_int_equal(r.code, cases[i].code);
		if (cases[i].msg)
			assert_string_equal(r.message, cases[i].msg);
		else
			assert_null(r.message);
		assert_int_equal(r.n_events, 0);
		pin_response_release(&r);
	}
}

static void
test_garbage(void **state)
{
	static const char *const bodies[] = {
		NULL, "", "<html>502 Bad Gateway</html>", "{", "[]", "null",
		"{\"events\":5}", "{\"events\":{}}", "\"str\"", "{\"a\":1} x",
		"{\"num_events_received\":\"1\",\"events\":[1,\"x\",null]}",
		"{\"events\":[{\"status\":7,\"error_message\":[1]}]}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]",
		"{\"code\":-5,\"message\":1e999}",
		"{\"num_events_received\":1e300,\"events\":[]}",
	};
	static const int statuses[] = { 0, 200, 400, 422, 503, 999 };

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		for (size_t j = 0; j < sizeof(statuses) / sizeof(statuses[0]); j++) {
			struct pin_response r;

			(void)parse(&r, statuses[j], bodies[i]);
			if (r.parsed && statuses[j] == 200)
				assert_true(r.n_events == 0 || r.events != NULL);
			pin_response_release(&r);
		}
	}
}

static void
test_wrong_types_in_events(void **state)
{
	struct pin_response r;

	(void)state;
	/* Non-object entries stay UNKNOWN instead of shifting indexes. */
	assert_int_equal(parse(&r, 200,
	    "{\"events\":[1,{\"status\":\"failed\",\"error_message\":\"m\"},"
	    "{\"status\":\"weird\"}]}"), 0);
	assert_int_equal(r.n_events, 3);
	assert_int_equal(r.events[0].status, PIN_EVENT_UNKNOWN);
	assert_int_equal(r.events[1].status, PIN_EVENT_FAILED);
	assert_int_equal(r.events[2].status, PIN_EVENT_UNKNOWN);
	assert_int_equal(r.num_received, -1);
	pin_response_release(&r);
}

static void
test_not_nul_terminated_and_long_message(void **state)
{
	char body[3000];
	struct pin_response r;
	size_t n;

	(void)state;
	memcpy(body, "{\"code\":1,\"message\":\"", 21);
	memset(body + 21, 'a', 2000);
	memcpy(body + 2021, "\"}XXXX", 6);
	n = 2023;
	assert_int_equal(pin_response_parse(&r, 500, body, n), 0);
	assert_int_equal(strlen(r.message), PIN_MAX_MESSAGE_BYTES);
	pin_response_release(&r);
	/* Without the bound the trailing XXXX would make it garbage. */
	assert_int_equal(pin_response_parse(&r, 500, body, n + 4), -1);
	pin_response_release(&r);
}

/*
 * Every prefix of a valid 422 body and many byte-flipped variants: the
 * parser must neither crash nor leak (run under ASan) nor report events
 * for a body that did not parse.
 */
static void
test_truncations_and_mutations(void **state)
{
	const char *b = "{\"code\":953,\"message\":\"m\",\"details\":{"
	    "\"num_events_received\":2,\"num_events_processed\":1,\"events\":"
	    "[{\"status\":\"processed\",\"error_message\":null},"
	    "{\"status\":\"failed\",\"error_message\":\"x\\u00e9\"}]}}";
	size_t n = strlen(b);
	char *m = malloc(n);
	uint64_t rng = 99;

	(void)state;
	for (size_t len = 0; len <= n; len++) {
		struct pin_response r;
		char *copy = malloc(len ? len : 1);

		memcpy(copy, b, len);
		(void)pin_response_parse(&r, 422, copy, len);
		if (!r.parsed)
			assert_int_equal(r.n_events, 0);
		else
			assert_int_equal(len, n);
		pin_response_release(&r);
		free(copy);
	}
	for (int i = 0; i < 20000; i++) {
		struct pin_response r;

		memcpy(m, b, n);
		for (int k = 0; k < 3; k++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			m[rng % n] = (char)(rng >> 24);
		}
		(void)pin_response_parse(&r, i % 2 ? 422 : 200, m, n);
		assert_true(r.n_events <= 2);
		pin_response_release(&r);
	}
	free(m);
}

static void
test_all_processed(void **state)
{
	struct pin_response r;

	(void)state;
	pin_response_all_processed(&r, 4);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.n_events, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(r.events[i].status, PIN_EVENT_PROCESSED);
	pin_response_release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_200_empty_strings),
		cmocka_unit_test(test_200_null_missing_and_warning),
		cmocka_unit_test(test_422_detailed),
		cmocka_unit_test(test_422_without_details),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_wrong_types_in_events),
		cmocka_unit_test(test_not_nul_terminated_and_long_message),
		cmocka_unit_test(test_truncations_and_mutations),
		cmocka_unit_test(test_all_processed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

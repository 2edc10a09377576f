/*
 * test_sink.c: the dry-run sink writes exactly the request body plus a
 * newline per batch, appends across opens, and answers "all processed".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "deliver/response.h"
#include "deliver/sink.h"
#include "util/buf.h"
#include "util/banned.h"

static char dir[] = "/tmp/pb-sink-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.ndjson", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	char tmp[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(out, tmp, n);
	fclose(f);
}

static void
test_exact_bytes(void **state)
{
	const char *b1 = "{\"data\":[{\"event_id\":\"a\"},{\"event_id\":\"b\"}]}";
	const char *b2 = "{\"data\":[{\"event_id\":\"\\u00e9\"}]}";
	char path[256];
	struct pin_sink *s;
	struct pin_response r;
	struct buf got = BUF_INIT, want = BUF_INIT;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.ndjson", dir);
	s = pin_sink_open(path, PIN_SINK_SYNC_BATCH, NULL);
	assert_non_null(s);
	assert_int_equal(pin_sink_deliver(s, b1, strlen(b1), 2, &r), 0);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.n_events, 2);
	assert_int_equal(r.events[1].status, PIN_EVENT_PROCESSED);
	pin_response_release(&r);
	assert_int_equal(pin_sink_lines(s), 1);
	pin_sink_close(s);

	/* Reopening appends; it never truncates earlier batches. */
	s = pin_sink_open(path, PIN_SINK_SYNC_NONE, NULL);
	assert_non_null(s);
	assert_int_equal(pin_sink_deliver(s, b2, strlen(b2), 1, &r), 0);
	pin_response_release(&r);
	pin_sink_close(s);

	read_file(path, &got);
	buf_addf(&want, "%s\n%s\n", b1, b2);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf_release(&got);
	buf_release(&want);
}

static void
test_open_fails(void **state)
{
	struct buf err = BUF_INIT;

	(void)state;
	assert_null(pin_sink_open("/nonexistent-dir/x/sink.ndjson",
	    PIN_SINK_SYNC_BATCH, &err));
	assert_non_null(strstr(err.data, "cannot open sink"));
	buf_release(&err);
}

static void
test_write_error_reported(void **state)
{
	struct pin_sink *s;
	struct pin_response r = PIN_RESPONSE_INIT;

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	s = pin_sink_open("/dev/full", PIN_SINK_SYNC_NONE, NULL);
	assert_non_null(s);
	assert_true(pin_sink_deliver(s, "{}", 2, 1, &r) < 0);
	assert_int_equal(r.n_events, 0);	/* untouched: nothing reported done */
	assert_int_equal(pin_sink_lines(s), 0);
	pin_sink_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_open_fails),
		cmocka_unit_test(test_write_error_reported),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

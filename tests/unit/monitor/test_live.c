/*
 * monitor/live: what the server adds around the engine. An alert
 * transition is logged, appended to the alerts file, and posted to the
 * webhook, retried when the receiver fails; history survives a restart.
 */
#include "testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "monitor/live.h"
#include "util/buf.h"
#include "util/clock.h"

#define T0_MS 1780000020000LL	/* a minute boundary + 20 s */

struct receiver {
	struct MHD_Daemon *mhd;
	_Atomic int requests;
	_Atomic int fail_next;		/* answer 500 this many times */
	char last[4096];
};

static struct receiver rx;
static char dir[] = "/tmp/pb-live-XXXXXX";
static char alerts_path[256], state_path[256], url[128];
static struct clock clk;

struct body {
	char data[4096];
	size_t len;
};

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *u,
    const char *method, const char *version, const char *data, size_t *size,
    void **ctx)
{
	struct receiver *r = cls;
	struct body *b = *ctx;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int status = 200;

	(void)u; (void)method; (void)version;
	if (!b) {
		*ctx = calloc(1, sizeof(*b));
		return MHD_YES;
	}
	if (*size) {
		size_t n = *size < sizeof(b->data) - 1 - b->len ? *size :
		    sizeof(b->data) - 1 - b->len;

		memcpy(b->data + b->len, data, n);
		b->len += n;
		*size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&r->requests, 1);
	if (atomic_load(&r->fail_next) > 0) {
		atomic_fetch_sub(&r->fail_next, 1);
		status = 500;
	} else {
		memcpy(r->last, b->data, b->len + 1);
	}
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	free(b);
	*ctx = NULL;
	return ret;
}

static int
setup(void **state)
{
	const union MHD_DaemonInfo *info;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(alerts_path, sizeof(alerts_path), "%s/alerts.ndjson", dir);
	snprintf(state_path, sizeof(state_path), "%s/monitor.state", dir);
	rx.mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
	    NULL, on_request, &rx, MHD_OPTION_END);
	if (!rx.mhd)
		return -1;
	info = MHD_get_daemon_info(rx.mhd, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", info->port);
	clock_fixed(&clk, T0_MS);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	MHD_stop_daemon(rx.mhd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static struct live_monitor *
start(void)
{
	struct live_config lc;

	memset(&lc, 0, sizeof(lc));
	lc.clock = &clk;
	monitor_config_defaults(&lc.engine);
	lc.alerts_path = alerts_path;
	lc.state_path = state_path;
	lc.webhook_url = url;
	return live_start(&lc);
}

static void
report_401(struct monitor *m, void *arg)
{
	(void)arg;
	monitor_delivery(m, "shop", NULL, 0, 5, 401);
}

static void
report_ok(struct monitor *m, void *arg)
{
	(void)arg;
	monitor_delivery(m, "shop", NULL, 5, 0, 200);
}

static size_t
count_lines(const char *path, const char *needle)
{
	char line[8192];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* The monitor thread reads clk as the test moves it. */
static void
advance_clock(int64_t ms)
{
	__atomic_store_n(&clk.fixed_ms, clk.fixed_ms + ms, __ATOMIC_RELAXED);
}

static void
test_transitions_reach_file_and_webhook_with_retry(void **state)
{
	struct live_monitor *lm = start();
	struct monitor_obs o = { "shop", "checkout", "e1", "o1", LEDGER_SERVER, 10, 0 };
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(lm);
	live_observe(lm, &o);
	/* The receiver fails the first attempt: the alert must be retried. */
	atomic_store(&rx.fail_next, 1);
	live_with(lm, report_401, NULL);
	advance_clock(60000);
	live_tick_now(lm);
	assert_int_equal(count_lines(alerts_path, "\"credentials_invalid\""), 1);
	assert_int_equal(count_lines(alerts_path, "\"firing\""), 1);
	assert_int_equal(atomic_load(&rx.requests), 1);
	assert_int_equal(rx.last[0], '\0');
	live_alerts_json(lm, &b);
	assert_non_null(strstr(b.data, "credentials_invalid"));
	/* Retries wait (2 s, 4 s, ...): poll ticks until the retry lands. */
	for (int i = 0; i < 40 && !rx.last[0]; i++) {
		usleep(100 * 1000);
		live_tick_now(lm);
	}
	assert_int_equal(atomic_load(&rx.requests), 2);
	assert_non_null(strstr(rx.last, "\"credentials_invalid\""));
	assert_non_null(strstr(rx.last, "\"firing\""));
	/* A success resolves it: a second line and a second webhook. */
	live_with(lm, report_ok, NULL);
	advance_clock(60000);
	live_tick_now(lm);
	assert_int_equal(count_lines(alerts_path, "\"resolved\""), 1);
	assert_non_null(strstr(rx.last, "\"resolved\""));
	buf_release(&b);
	live_stop(lm);
}

static void
test_history_survives_restart(void **state)
{
	struct live_monitor *lm = start();
	struct monitor_obs o = { "shop", "lead", "h1", NULL, LEDGER_BROWSER, 0, 0 };
	struct buf b = BUF_INIT;

	(void)state;
	live_observe(lm, &o);
	advance_clock(60000);
	live_tick_now(lm);
	live_stop(lm);		/* saves */
	assert_int_equal(access(state_path, F_OK), 0);
	lm = start();		/* loads */
	live_status_json(lm, &b);
	assert_non_null(strstr(b.data, "\"event_name\":\"lead\""));
	buf_release(&b);
	live_stop(lm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transitions_reach_file_and_webhook_with_retry),
		cmocka_unit_test(test_history_survives_restart),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

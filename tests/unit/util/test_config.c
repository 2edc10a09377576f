/* util/config: INI parsing, errors that name file/line/key, secrets. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/config.h"

static char dir[] = "/tmp/pb-config-XXXXXX";
static char path[256];
static struct config cfg;
static char err[512];

static int
setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/p.ini", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
load(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	config_release(&cfg);
	config_defaults(&cfg);
	err[0] = '\0';
	return config_load(&cfg, path, err, sizeof(err));
}

static void
assert_err(const char *text, const char *want)
{
	if (load(text) == 0)
		fail_msg("expected an error containing '%s'", want);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void
test_defaults(void **state)
{
	(void)state;
	assert_int_equal(load("[server]\n"), 0);
	assert_string_equal(cfg.listen_host, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 8080);
	assert_int_equal(cfg.batch_size, 1000);
	assert_int_equal(cfg.max_age_s, 7 * 86400);
	assert_int_equal(cfg.flush_ms, 200);
	assert_int_equal(cfg.grace_ms, 600000);
	assert_string_equal(cfg.api_base, "https://api.pinterest.com");
}

static void
test_full_file(void **state)
{
	const struct account_config *a;

	(void)state;
	assert_int_equal(load(
	    "; comment\n[server]\nlisten = 0.0.0.0:9090\nthreads = 4\n"
	    "trusted_proxies = 10.0.0.0/8, ::1\nmax_age = 2d\n"
	    "[delivery]\nflush_delay = 50ms\nbatch_size = 500\n"
	    "api_base = http://127.0.0.1:1\n"
	    "[account \"shop-1\"]\nad_account_id = 549755885175\n"
	    "token_env = PB_TEST_TOKEN\nbrowser_key = pk_12345678\n"
	    "allowed_origins = https://a.example, http://localhost:3000\n"
	    "rate_limit = 100\nmerge_window = 2m\ntest_mode = yes\n"
	    "[monitor]\ndedup_threshold = 0.8\nwebhook_url = https://h.example/x\n"
	    "ledger_max_mb = 32\n"
	    "[rules \"shop-1/page_visit\"]\ndisable = dedup_rate_low\n"
	    "sustain = 45m\n"), 0);
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 9090);
	assert_int_equal(cfg.threads, 4);
	assert_int_equal(cfg.n_proxies, 2);
	assert_int_equal(cfg.max_age_s, 2 * 86400);
	assert_int_equal(cfg.flush_ms, 50);
	assert_int_equal(cfg.batch_size, 500);
	a = config_account_by_name(&cfg, "shop-1");
	assert_non_null(a);
	assert_ptr_equal(config_account_by_ad_id(&cfg, "549755885175"), a);
	assert_int_equal(a->n_origins, 2);
	assert_string_equal(a->origins[1], "http://localhost:3000");
	assert_int_equal(a->rate_limit_per_min, 100);
	assert_int_equal(a->merge_window_ms, 120000);
	assert_true(a->test_mode);
	assert_string_equal(a->partner_name, "ss-pinbridge");
	assert_true(cfg.monitor.dedup_threshold > 0.79);
	assert_true(cfg.monitor.volume_threshold < 0);	/* inherits */
	assert_int_equal(cfg.ledger_max_bytes, (size_t)32 << 20);
	assert_int_equal(cfg.n_rules, 1);
	assert_string_equal(cfg.rules[0].account, "shop-1");
	assert_string_equal(cfg.rules[0].event_name, "page_visit");
	assert_int_equal(cfg.rules[0].sustain_ms, 45 * 60000);
	assert_string_equal(cfg.rules[0].disable, "dedup_rate_low");
}

/*
 * Header lines inih and pinbridge's line reader would read differently
 * are refused with the line, not parsed two ways (the fuzz target found
 * an account key reaching no account that way).
 */
static void
test_header_lines_read_one_way(void **state)
{
	static const char nul[] = "[server]\nlisten = 127.0.0.1:0\0\n";
	char want[400];
	FILE *f;

	(void)state;
	snprintf(want, sizeof(want), "%s:3: [server] section: a section "
	    "header must start its line", path);
	assert_err("[server]\nlisten = 127.0.0.1:0\n\r[account \"demo\"]\n"
	    "ad_account_id = 1\n", want);
	assert_err("[server]\nlisten = 127.0.0.1:0\n  [account \"a\"]\n"
	    "ad_account_id = 1\n", want);
	assert_err("[delivery ]it\nbatch_size = 10\n", "text after ']'");
	/* Spaces inside the brackets and a comment after them are fine. */
	assert_int_equal(load("[ delivery ] ; the queue\nbatch_size = 10\n"), 0);
	assert_int_equal(cfg.batch_size, 10);

	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(nul, 1, sizeof(nul) - 1, f), sizeof(nul) - 1);
	fclose(f);
	config_release(&cfg);
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: contains a NUL byte", path);
	assert_non_null(strstr(err, want));
}

static void
test_errors_name_file_line_and_key(void **state)
{
	char want[300];

	(void)state;
	snprintf(want, sizeof(want), "%s:3: [server] threads:", path);
	assert_err("[server]\n\nthreads = 0\n", want);
	assert_err("[server]\nlisten = nowhere\n", "listen: must be HOST:PORT");
	assert_err("[bogus]\nx = 1\n", "unknown section");
	assert_err("[server]\ncolour = blue\n", "colour: unknown key");
	assert_err("[account \"a\"]\nad_account_id = 12x\n", "ad_account_id: must be");
	assert_err("[account \"a\"]\nad_account_id = 1\ntoken = secret\n",
	    "secrets are not read from the INI");
	assert_err("[account \"a\"]\nad_account_id = 1\nbrowser_key = pk_12345678\n",
	    "allowed_origins: is required");
	assert_err("[account \"a\"]\nad_account_id = 1\nbrowser_key = pk_12345678\n"
	    "allowed_origins = shop.example\n", "allowed_origins: must be");
	assert_err("[account \"a\"]\nbrowser_key = pk_12345678\n", "ad_account_id: is required");
	assert_err("[account \"a\"]\nad_account_id = 1\nserver_key_env = X\n"
	    "[account \"b\"]\nad_account_id = 1\nserver_key_env = Y\n",
	    "is also used by account \"a\"");
	assert_err("[account \"a\"]\nad_account_id = 1\nserver_key_env = X\n"
	    "[account \"a\"]\n", "defined twice");
	assert_err("[account bad]\n", "write [account \"NAME\"]");
	assert_err("[delivery]\nbatch_size = 1001\n", "from 1 to 1000");
	assert_err("[monitor]\ndedup_threshold = 1.5\n", "share from 0 to 1");
	assert_err("[monitor]\nsustain = 10s\n", "from 1m to 1d");
	assert_err("[monitor]\nledger_max_mb = 0\n", "whole MiB");
	assert_err("x = 1\n", "outside of any section");
	assert_err("[server\n", "syntax error");
}

static void
test_secrets(void **state)
{
	char tok[300];
	FILE *f;

	(void)state;
	snprintf(tok, sizeof(tok), "%s/token", dir);
	f = fopen(tok, "w");
	fputs("  tok_from_file \n\n", f);
	fclose(f);
	setenv("PB_TEST_KEY", "sk_from_env", 1);
	unsetenv("PB_TEST_MISSING");
	{
		char text[600];

		snprintf(text, sizeof(text), "[account \"a\"]\nad_account_id = 1\n"
		    "token_file = %s\nserver_key_env = PB_TEST_KEY\n", tok);
		assert_int_equal(load(text), 0);
	}
	assert_int_equal(config_load_secrets(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.accounts[0].token, "  tok_from_file");
	assert_string_equal(cfg.accounts[0].server_key, "sk_from_env");
	assert_null(cfg.admin_token);
	assert_int_equal(load("[account \"a\"]\nad_account_id = 1\n"
	    "server_key_env = PB_TEST_MISSING\n"), 0);
	assert_int_equal(config_load_secrets(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PB_TEST_MISSING is not set"));
}

static void
test_durations_and_cidrs(void **state)
{
	struct cidr c;
	unsigned char a4[4], a6[16];
	int64_t ms;

	(void)state;
	assert_int_equal(duration_parse_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(duration_parse_ms("1.5s", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(duration_parse_ms("7d", &ms), 0);
	assert_int_equal(ms, 7 * 86400000LL);
	assert_int_equal(duration_parse_ms("5 minutes", &ms), -1);
	assert_int_equal(duration_parse_ms("-1s", &ms), -1);
	assert_int_equal(cidr_parse("10.1.0.0/16", &c), 0);
	inet_pton(AF_INET, "10.1.200.3", a4);
	assert_true(cidr_contains(&c, AF_INET, a4));
	inet_pton(AF_INET, "10.2.0.1", a4);
	assert_false(cidr_contains(&c, AF_INET, a4));
	assert_int_equal(cidr_parse("2001:db8::/33", &c), 0);
	inet_pton(AF_INET6, "2001:db8:7fff::1", a6);
	assert_true(cidr_contains(&c, AF_INET6, a6));
	inet_pton(AF_INET6, "2001:db8:8000::1", a6);
	assert_false(cidr_contains(&c, AF_INET6, a6));
	assert_int_equal(cidr_parse("10.0.0.0/33", &c), -1);
	assert_int_equal(cidr_parse("example.com", &c), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_errors_name_file_line_and_key),
		cmocka_unit_test(test_header_lines_read_one_way),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_durations_and_cidrs),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	config_release(&cfg);
	return rc;
}

#include "cli/opsutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/config.h"
#include "util/banned.h"

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, 'd' },
	{ "account", required_argument, NULL, 'a' },
	{ "since", required_argument, NULL, 's' },
	{ "until", required_argument, NULL, 'u' },
	{ "event-id", required_argument, NULL, 'e' },
	{ "limit", required_argument, NULL, 'l' },
	{ "all", no_argument, NULL, 'A' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ISO 8601 or Unix seconds. */
static int
parse_time(const char *s, int64_t *out)
{
	int64_t ms;
	char *end;
	long long v;

	if (time_parse_iso8601(s, &ms) == 0) {
		*out = ms / 1000;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 0)
		return -1;
	*out = v;
	return 0;
}

int
ops_parse(const char *cmd, const char *usage, int argc, char **argv,
    struct ops_args *a)
{
	char *end;
	int opt;

	memset(a, 0, sizeof(*a));
	a->config = "pinbridge.ini";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': a->config = optarg; break;
		case 'd': a->db = optarg; break;
		case 'a': a->filter.account = optarg; break;
		case 'e': a->filter.event_id = optarg; break;
		case 'A': a->all = true; break;
		case 'j': a->json = true; break;
		case 's':
		case 'u':
			if (parse_time(optarg, opt == 's' ? &a->filter.from_time :
			    &a->filter.to_time) < 0) {
				fprintf(stderr, "pinbridge %s: --%s '%s' is not "
				    "ISO 8601 or Unix seconds\n", cmd,
				    opt == 's' ? "since" : "until", optarg);
				return -1;
			}
			break;
		case 'l':
			errno = 0;
			a->limit = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "pinbridge %s: --limit takes a "
				    "whole number\n", cmd);
				return -1;
			}
			break;
		case 'h':
			printf("usage: pinbridge %s %s\n", cmd, usage);
			return 1;
		default:
			fprintf(stderr, "usage: pinbridge %s %s\n", cmd, usage);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pinbridge %s: unexpected argument '%s'\n", cmd,
		    argv[optind]);
		return -1;
	}
	return 0;
}

int
ops_open_store(const char *cmd, const struct ops_args *a, bool readonly,
    struct store **out)
{
	static struct config cfg;
	struct store_config sc;
	char path[CONFIG_VALUE_MAX + 32], err[512];
	int rc;

	if (a->db) {
		snprintf(path, sizeof(path), "%s", a->db);
	} else {
		config_defaults(&cfg);
		if (config_load(&cfg, a->config, err, sizeof(err)) < 0) {
			fprintf(stderr, "pinbridge %s: %s\n", cmd, err);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/pinbridge.db", cfg.data_dir);
	}
	memset(&sc, 0, sizeof(sc));
	sc.path = path;
	sc.readonly = readonly;
	rc = store_open(&sc, out);
	if (rc < 0) {
		fprintf(stderr, "pinbridge %s: %s: %s\n", cmd, path,
		    store_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * fake_pinterest_main.c: `fake-pinterest`, the fake Pinterest as its own
 * process for integration scripts and benchmarks.
 *
 *   fake-pinterest [--port N] [--token T] [--record FILE] [--port-file F]
 *                  [--max-age-s S]
 *
 * Prints "listening on http://127.0.0.1:PORT" once ready (and writes the
 * port to --port-file, useful with --port 0), runs until SIGINT/SIGTERM.
 * Control it over HTTP:
 *
 *   POST /_control/fail?status=503&count=3[&retry_after=2][&body=...]
 *                                     (status=0 closes the connection)
 *   POST /_control/down[?mode=close]  503 (or dropped connections) for all
 *   POST /_control/recover            clears fail queue, down and delay
 *   POST /_control/token?value=T      401 until requests carry T
 *   POST /_control/delay?ms=N         answer every request N ms late
 *   POST /_control/reset              zero the counters
 *   GET  /_stats                      counters as JSON
 *   GET  /_event?id=ID                {"received":n,"accepted":m}
 */
#include "fake_pinterest.h"

#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *f)
{
	fputs("usage: fake-pinterest [--port N] [--token T] [--record FILE] "
	    "[--port-file FILE] [--max-age-s S]\n", f);
}

static int
parse_num(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "record", required_argument, NULL, 'r' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "max-age-s", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fake_pinterest_config cfg = { 0 };
	struct fake_pinterest *fp;
	struct sigaction sa;
	sigset_t block, old;
	const char *port_file = NULL;
	long long v;
	int c;

	cfg.admin = true;
	while ((c = getopt_long(argc, argv, "p:t:r:f:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_num(optarg, 0, 65535, &v) != 0) {
				usage(stderr);
				return 2;
			}
			cfg.port = (uint16_t)v;
			break;
		case 't':
			cfg.token = optarg;
			break;
		case 'r':
			cfg.record_path = optarg;
			break;
		case 'f':
			port_file = optarg;
			break;
		case 'a':
			if (parse_num(optarg, -1, 1LL << 40, &v) != 0) {
				usage(stderr);
				return 2;
			}
			cfg.max_age_s = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked until sigsuspend(), so a signal cannot slip past the check. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	fp = fake_pinterest_start(&cfg);
	if (!fp)
		return 1;
	if (port_file) {
		FILE *f = fopen(port_file, "w");

		if (!f || fprintf(f, "%u\n", (unsigned)fake_pinterest_port(fp)) < 0 ||
		    fclose(f) != 0) {
			fprintf(stderr, "fake-pinterest: cannot write '%s'\n",
			    port_file);
			fake_pinterest_stop(fp);
			return 1;
		}
	}
	printf("listening on http://127.0.0.1:%u\n",
	    (unsigned)fake_pinterest_port(fp));
	fflush(stdout);
	while (!stop_requested)
		sigsuspend(&old);
	fake_pinterest_stop(fp);
	return 0;
}

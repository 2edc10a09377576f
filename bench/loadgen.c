/*
 * loadgen.c: a small HTTP/1.1 load generator for POST /v1/events on
 * loopback, with fixed-rate (open-loop) scheduling.
 *
 *   loadgen -p PORT -e TEMPLATE [-r RATE] [-d SECONDS] [-c CONNS]
 *           [-b EVENTS] [-n REQUESTS] [-w WARMUP_S] [-k KEY] [-u PATH]
 *           [-t TAG]
 *
 * TEMPLATE is a file holding one JSON event with the marker @ID@ once;
 * every event sent gets a unique id "<TAG>-<request>-<k>" in its place.
 * -b 1 sends the event alone, -b N sends {"events":[...N events...]}.
 *
 * With -r RATE (requests/s) request i is due at start + i/RATE whether or
 * not earlier answers have come back (open loop, like wrk2). Its latency
 * runs from that intended time, not from when a connection was free to
 * send it, so a server stall shows up in the percentiles instead of
 * silently slowing the generator down (coordinated omission). With -r 0
 * every connection sends its next request as soon as the previous one is
 * answered (closed loop), which is how the benchmarks preload a queue.
 *
 * It stops after -d seconds or -n requests, whichever comes first, waits
 * up to 5 s for answers in flight, and prints one line of key=value
 * figures. Samples from the first -w seconds are not counted.
 *
 * One thread, epoll, nonblocking keep-alive sockets, a timerfd for the
 * schedule, every latency kept and sorted at the end (exact percentiles).
 * An answer's time is the kernel's receive timestamp (SO_TIMESTAMPNS),
 * not when this thread got round to reading it: on shared cores the
 * generator is often descheduled, and that delay is not the server's.
 * Only 127.0.0.1 is ever contacted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

#define MAX_CONNS	4096
#define MAX_BATCH	1000
#define IN_CAP		16384
#define DRAIN_NS	5000000000LL

struct conn {
	int fd;
	int busy;
	char *out;		/* the request being sent */
	size_t out_len, out_off, out_cap;
	char in[IN_CAP];	/* response headers (bodies are skipped) */
	size_t in_len;
	int in_head;		/* headers parsed, body_left bytes to go */
	long body_left;
	int status, closes;
	int64_t intended_ns;	/* when this request was due */
	int64_t rx_ns;		/* kernel receive time of the last bytes read */
};

struct opts {
	int port;
	double rate;
	double seconds;
	double warmup;
	int conns;
	int batch;
	long max_requests;
	const char *key;
	const char *path;
	const char *tag;
	const char *template;
};

struct gen {
	struct opts o;
	char *tmpl_head, *tmpl_tail;	/* template split at @ID@ */
	size_t head_len, tail_len;
	int ep, tfd;
	struct conn *c;
	int64_t start_ns, end_ns;
	long issued;		/* requests handed to a connection */
	long done, ok, errors, connect_errors;
	int64_t *lat;		/* ns, counted samples only */
	size_t n_lat, cap_lat;
	int64_t max_lag_ns;	/* worst wait between due and sent */
	int64_t *lag;		/* ns from due to sent, counted samples */
	size_t n_lag, cap_lag;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
load_template(struct gen *g)
{
	FILE *f = fopen(g->o.template, "rb");
	char *buf, *mark;
	long n;

	if (!f)
		die(g->o.template);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n <= 0 || n > 65536) {
		fprintf(stderr, "loadgen: template must be 1..65536 bytes\n");
		exit(2);
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("read template");
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	mark = strstr(buf, "@ID@");
	if (!mark) {
		fprintf(stderr, "loadgen: template has no @ID@ marker\n");
		exit(2);
	}
	*mark = '\0';
	g->tmpl_head = buf;
	g->head_len = (size_t)(mark - buf);
	g->tmpl_tail = mark + 4;
	g->tail_len = strlen(g->tmpl_tail);
}

static void
out_reserve(struct conn *c, size_t need)
{
	if (c->out_cap >= need)
		return;
	c->out_cap = need * 2;
	c->out = realloc(c->out, c->out_cap);
	if (!c->out)
		die("realloc");
}

/* Builds request number `seq` into c->out: headers, then the body. */
static void
build_request(struct gen *g, struct conn *c, long seq)
{
	char hdr[512], id[96];
	size_t body_len, idl, per, off;
	int hl;

	idl = (size_t)snprintf(id, sizeof(id), "%s-%ld-", g->o.tag, seq);
	per = g->head_len + idl + 4 + g->tail_len + 1;
	body_len = (size_t)g->o.batch * per + 16;
	out_reserve(c, sizeof(hdr) + body_len);

	/* body first, after room for the headers; moved down below */
	off = sizeof(hdr);
	if (g->o.batch > 1) {
		memcpy(c->out + off, "{\"events\":[", 11);
		off += 11;
	}
	for (int k = 0; k < g->o.batch; k++) {
		if (k)
			c->out[off++] = ',';
		memcpy(c->out + off, g->tmpl_head, g->head_len);
		off += g->head_len;
		memcpy(c->out + off, id, idl);
		off += idl;
		off += (size_t)snprintf(c->out + off, 8, "%d", k);
		memcpy(c->out + off, g->tmpl_tail, g->tail_len);
		off += g->tail_len;
	}
	if (g->o.batch > 1) {
		memcpy(c->out + off, "]}", 2);
		off += 2;
	}
	body_len = off - sizeof(hdr);
	hl = snprintf(hdr, sizeof(hdr), "POST %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n"
	    "Authorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    g->o.path, g->o.port, g->o.key, body_len);
	memmove(c->out + hl, c->out + sizeof(hdr), body_len);
	memcpy(c->out, hdr, (size_t)hl);
	c->out_len = (size_t)hl + body_len;
	c->out_off = 0;
}

static int
conn_open(struct gen *g, struct conn *c)
{
	struct sockaddr_in sa;
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)g->o.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->busy = 0;
	c->in_len = 0;
	c->in_head = 0;
	return 0;
}

static void
conn_reset(struct gen *g, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (conn_open(g, c) < 0)
		g->connect_errors++;
}

static void
flush_out(struct gen *g, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* the request is lost: count it, reconnect */
			g->errors++;
			g->done++;
			conn_reset(g, c);
			return;
		}
		c->out_off += (size_t)n;
	}
}

static void
push(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 65536;
		*v = realloc(*v, *cap * sizeof(**v));
		if (!*v)
			die("realloc");
	}
	(*v)[(*n)++] = x;
}

static int
counted(const struct gen *g, int64_t intended)
{
	return intended >= g->start_ns + (int64_t)(g->o.warmup * 1e9);
}

static void
record(struct gen *g, int64_t intended, int64_t t)
{
	if (counted(g, intended))
		push(&g->lat, &g->n_lat, &g->cap_lat, t - intended);
}

/*
 * Response headers complete in c->in? Returns their length and sets the
 * status, the body length and whether the server closes; 0 when more
 * bytes are needed, -1 when they cannot be parsed (chunked, no length).
 */
static long
parse_head(const struct conn *c, int *status, long *clen, int *closes)
{
	const char *p = c->in, *end, *h;
	size_t hlen;

	end = memmem(p, c->in_len, "\r\n\r\n", 4);
	if (!end)
		return c->in_len >= IN_CAP ? -1 : 0;
	hlen = (size_t)(end - p) + 4;
	if (hlen < 16 || memcmp(p, "HTTP/1.", 7))
		return -1;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	*closes = 0;
	*clen = -1;
	for (h = memchr(p, '\n', hlen); h && h < end; h = memchr(h, '\n',
	    (size_t)(end - h))) {
		h++;
		if (!strncasecmp(h, "Content-Length:", 15))
			*clen = strtol(h + 15, NULL, 10);
		else if (!strncasecmp(h, "Transfer-Encoding:", 18))
			return -1;
		else if (!strncasecmp(h, "Connection:", 11)) {
			const char *eol = memchr(h, '\r', (size_t)(end - h) + 1);

			if (eol && memmem(h, (size_t)(eol - h), "close", 5))
				*closes = 1;
		}
	}
	if (*status == 204 || *status == 304)
		*clen = 0;
	return *clen < 0 ? -1 : (long)hlen;
}

static void
finish(struct gen *g, struct conn *c)
{
	record(g, c->intended_ns, c->rx_ns);
	g->done++;
	if (c->status >= 200 && c->status < 300)
		g->ok++;
	else
		g->errors++;
	c->busy = 0;
	c->in_head = 0;
}

/*
 * recv() that also sets c->rx_ns: the kernel's (CLOCK_REALTIME) receive
 * stamp moved onto CLOCK_MONOTONIC with the clocks' offset taken now, so
 * a clock step or slew during the run does not leak in; the time of
 * reading if there is no stamp.
 */
static ssize_t
recv_stamped(struct conn *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { c->in + c->in_len, IN_CAP - c->in_len };
	struct msghdr mh;
	struct cmsghdr *cm;
	struct timespec real;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(c->fd, &mh, 0);
	if (n <= 0)
		return n;
	c->rx_ns = now_ns();
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		struct timespec ts;
		int64_t stamp, off;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		clock_gettime(CLOCK_REALTIME, &real);
		off = (int64_t)real.tv_sec * 1000000000LL + real.tv_nsec -
		    now_ns();
		stamp = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - off;
		if (stamp > 0 && stamp <= c->rx_ns)
			c->rx_ns = stamp;
	}
	return n;
}

static void
read_in(struct gen *g, struct conn *c)
{
	for (;;) {
		ssize_t n = recv_stamped(c);
		long hl;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			if (c->busy) {
				g->errors++;
				g->done++;
			}
			conn_reset(g, c);
			return;
		}
		if (n < 0)
			return;
		c->in_len += (size_t)n;
		for (;;) {
			if (c->in_head) {
				/* body bytes are only counted, never kept */
				size_t k = c->in_len < (size_t)c->body_left ?
				    c->in_len : (size_t)c->body_left;

				c->body_left -= (long)k;
				memmove(c->in, c->in + k, c->in_len - k);
				c->in_len -= k;
				if (c->body_left > 0)
					break;
				finish(g, c);
				if (c->closes) {
					conn_reset(g, c);
					return;
				}
				continue;
			}
			hl = parse_head(c, &c->status, &c->body_left,
			    &c->closes);
			if (hl == 0)
				break;
			if (hl < 0 || !c->busy) {
				fprintf(stderr, "loadgen: unexpected or "
				    "unparsable response\n");
				g->errors++;
				g->done++;
				conn_reset(g, c);
				return;
			}
			memmove(c->in, c->in + hl, c->in_len - (size_t)hl);
			c->in_len -= (size_t)hl;
			c->in_head = 1;
		}
	}
}

/* Requests due by `t` (all of them, at once, in closed-loop mode). */
static long
due(const struct gen *g, int64_t t)
{
	long n;

	if (t >= g->end_ns)
		t = g->end_ns - 1;
	if (g->o.rate <= 0)
		n = g->o.max_requests > 0 ? g->o.max_requests : LONG_MAX;
	else
		n = (long)((double)(t - g->start_ns) * g->o.rate / 1e9) + 1;
	if (g->o.max_requests > 0 && n > g->o.max_requests)
		n = g->o.max_requests;
	return n;
}

static int64_t
intended(const struct gen *g, long seq, int64_t t)
{
	if (g->o.rate <= 0)
		return t;
	return g->start_ns + (int64_t)((double)seq * 1e9 / g->o.rate);
}

/* Hands every due request to an idle connection. */
static void
dispatch(struct gen *g)
{
	int64_t t = now_ns();
	long limit = due(g, t);

	if (t >= g->end_ns)
		return;
	for (int i = 0; i < g->o.conns && g->issued < limit; i++) {
		struct conn *c = &g->c[i];

		if (c->busy || c->fd < 0)
			continue;
		c->intended_ns = intended(g, g->issued, t);
		if (t - c->intended_ns > g->max_lag_ns)
			g->max_lag_ns = t - c->intended_ns;
		/*
		 * The generator's own lateness, reported apart: a tail made
		 * here is the generator's, not the server's.
		 */
		if (counted(g, c->intended_ns))
			push(&g->lag, &g->n_lag, &g->cap_lag,
			    t - c->intended_ns);
		build_request(g, c, g->issued++);
		c->busy = 1;
		flush_out(g, c);
	}
}

static int
idle_conn(const struct gen *g)
{
	for (int i = 0; i < g->o.conns; i++)
		if (!g->c[i].busy && g->c[i].fd >= 0)
			return 1;
	return 0;
}

/*
 * Arms the timer for the next request due and returns the epoll_wait
 * timeout. The next request can fall due between dispatch() and here; the
 * timer must not then be left off with a connection idle and nothing in
 * flight, or the loop sleeps until epoll_wait's own timeout and every
 * request due meanwhile is sent late: that was a 100 ms stall, and a
 * 90-100 ms p99, against nginx at 20% of its capacity.
 */
static int
arm_timer(struct gen *g)
{
	struct itimerspec its;
	int64_t next;

	memset(&its, 0, sizeof(its));
	if (g->o.rate <= 0)
		return 100;
	next = intended(g, g->issued, 0);
	if (next >= g->end_ns) {
		timerfd_settime(g->tfd, 0, &its, NULL);
		return 100;
	}
	if (next <= now_ns()) {
		/*
		 * Past due: with a connection free, go round again at once;
		 * with none, an answer frees one and wakes the loop, so the
		 * timer stays off instead of spinning.
		 */
		timerfd_settime(g->tfd, 0, &its, NULL);
		return idle_conn(g) ? 0 : 100;
	}
	its.it_value.tv_sec = next / 1000000000LL;
	its.it_value.tv_nsec = next % 1000000000LL;
	timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	return 100;
}

static int
sort_ns(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double
pct_ms(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

static void
report(struct gen *g, int64_t stop_ns)
{
	struct rusage ru;
	double secs = (double)(stop_ns - g->start_ns) / 1e9;
	double cpu;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	qsort(g->lat, g->n_lat, sizeof(*g->lat), sort_ns);
	qsort(g->lag, g->n_lag, sizeof(*g->lag), sort_ns);
	printf("requests=%ld ok=%ld errors=%ld connect_errors=%ld "
	    "unanswered=%ld seconds=%.2f rps=%.0f events_per_s=%.0f "
	    "target_rps=%.0f samples=%zu p50_ms=%.3f p90_ms=%.3f "
	    "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f send_lag_p99_ms=%.3f "
	    "max_send_lag_ms=%.3f gen_cpu_s=%.2f\n",
	    g->done, g->ok, g->errors, g->connect_errors, g->issued - g->done,
	    secs, (double)g->ok / secs, (double)g->ok * g->o.batch / secs,
	    g->o.rate, g->n_lat, pct_ms(g->lat, g->n_lat, 50),
	    pct_ms(g->lat, g->n_lat, 90), pct_ms(g->lat, g->n_lat, 99),
	    pct_ms(g->lat, g->n_lat, 99.9),
	    g->n_lat ? (double)g->lat[g->n_lat - 1] / 1e6 : 0,
	    pct_ms(g->lag, g->n_lag, 99), (double)g->max_lag_ns / 1e6, cpu);
}

static double
num(const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "loadgen: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void
usage(void)
{
	fputs("usage: loadgen -p PORT -e TEMPLATE [-r RATE] [-d SECONDS] "
	    "[-c CONNS] [-b EVENTS] [-n REQUESTS] [-w WARMUP_S] [-k KEY] "
	    "[-u PATH] [-t TAG]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	struct gen g;
	struct epoll_event evs[256];
	int opt;

	memset(&g, 0, sizeof(g));
	g.o.rate = 0;
	g.o.seconds = 10;
	g.o.conns = 16;
	g.o.batch = 1;
	g.o.key = "";
	g.o.path = "/v1/events";
	g.o.tag = "lg";
	while ((opt = getopt(argc, argv, "p:r:d:c:b:n:w:k:u:t:e:")) != -1) {
		switch (opt) {
		case 'p': g.o.port = (int)num(optarg, 1, 65535); break;
		case 'r': g.o.rate = num(optarg, 0, 1e7); break;
		case 'd': g.o.seconds = num(optarg, 0.1, 3600); break;
		case 'c': g.o.conns = (int)num(optarg, 1, MAX_CONNS); break;
		case 'b': g.o.batch = (int)num(optarg, 1, MAX_BATCH); break;
		case 'n': g.o.max_requests = (long)num(optarg, 1, 1e9); break;
		case 'w': g.o.warmup = num(optarg, 0, 3600); break;
		case 'k': g.o.key = optarg; break;
		case 'u': g.o.path = optarg; break;
		case 't': g.o.tag = optarg; break;
		case 'e': g.o.template = optarg; break;
		default: usage();
		}
	}
	if (!g.o.port || !g.o.template)
		usage();
	load_template(&g);

	g.ep = epoll_create1(EPOLL_CLOEXEC);
	g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g.ep < 0 || g.tfd < 0)
		die("epoll/timerfd");
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		if (epoll_ctl(g.ep, EPOLL_CTL_ADD, g.tfd, &ev) < 0)
			die("epoll_ctl");
	}
	g.c = calloc((size_t)g.o.conns, sizeof(*g.c));
	if (!g.c)
		die("calloc");
	for (int i = 0; i < g.o.conns; i++) {
		g.c[i].fd = -1;
		if (conn_open(&g, &g.c[i]) < 0)
			die("connect");
	}

	g.start_ns = now_ns();
	g.end_ns = g.start_ns + (int64_t)(g.o.seconds * 1e9);
	for (;;) {
		int64_t t = now_ns();
		long limit = due(&g, g.end_ns - 1);
		int n, timeout;

		if (g.done >= limit && g.issued >= limit)
			break;
		if (t >= g.end_ns && g.done >= g.issued)
			break;
		if (t >= g.end_ns + DRAIN_NS)
			break;
		dispatch(&g);
		timeout = arm_timer(&g);
		n = epoll_wait(g.ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				uint64_t x;

				if (read(g.tfd, &x, sizeof(x)) < 0 &&
				    errno != EAGAIN)
					die("timerfd read");
				continue;
			}
			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT && c->busy)
				flush_out(&g, c);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				read_in(&g, c);
		}
	}
	report(&g, now_ns() < g.end_ns ? now_ns() : g.end_ns);
	return g.errors || g.connect_errors ? 1 : 0;
}

#include "ingest/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <nettle/memops.h>

#include "event/hash.h"
#include "ingest/batch.h"
#include "ingest/epik.h"
#include "ingest/tag.h"
#include "store/journal.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define REQUEST_ARENA_CHUNK	(32 * 1024)
#define CONNECTION_LIMIT	4096
/*
 * libmicrohttpd's per-connection pool holds the request headers and its
 * read buffer (bodies are copied out as they arrive), and it is zeroed for
 * every request: 64 KiB of memset was 7-9% of ingest CPU, 32 KiB ~3%.
 * 24 KiB still takes an 8 KB cookie header (16 KiB answered 431; tested
 * by gateway.sh).
 */
#define CONNECTION_POOL_BYTES	(24 * 1024)

enum route {
	ROUTE_NONE,
	ROUTE_EVENTS,		/* POST /v1/events */
	ROUTE_DROPIN,		/* POST /v5/ad_accounts/{id}/events */
	ROUTE_PREFLIGHT,	/* OPTIONS /v1/events */
	ROUTE_HEALTH,
	ROUTE_METRICS,
	ROUTE_STATUS,		/* GET /v1/status (admin) */
	ROUTE_ALERTS,		/* GET /v1/alerts (admin) */
};

struct ingest {
	struct MHD_Daemon *mhd;
	const struct config *cfg;
	struct journal *journal;
	const struct clock *clock;
	struct ingest_hooks hooks;
	int port;
	pthread_key_t hasher_key;
	_Atomic uint64_t requests, accepted, rejected, duplicate, r4xx, r5xx;
	_Atomic int64_t active;
};

/* One HTTP request from its first byte to its last. */
struct request {
	struct ingest *in;
	struct MHD_Connection *conn;
	enum route route;
	const struct account_config *acct;
	enum event_leg leg;
	char origin[CONFIG_VALUE_MAX];	/* allowed Origin to echo, or "" */
	struct buf body;
	bool body_too_large;
	struct arena arena;
	struct batch batch;
	/* Set by the journal's callback, read after resume. */
	pthread_mutex_t lock;
	bool submitted, committed, suspended;
	int commit_status;
	const char *set_cookie;		/* _epik refresh (ingest/epik.h), or NULL */
};

/* ---- responses ------------------------------------------------------ */

static enum MHD_Result
send_buf(struct request *r, unsigned status, const char *type,
    const struct buf *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(body->len, body->data,
	    MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->origin[0]) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin",
		    r->origin);
		MHD_add_response_header(resp, "Vary", "Origin");
	}
	if (r->set_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
		    r->set_cookie);
	if (status == 503)
		MHD_add_response_header(resp, "Retry-After", "5");
	if (status >= 500)
		atomic_fetch_add(&r->in->r5xx, 1);
	else if (status >= 400)
		atomic_fetch_add(&r->in->r4xx, 1);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_json(struct request *r, unsigned status, const struct buf *body)
{
	return send_buf(r, status, "application/json", body);
}

static enum MHD_Result
send_error(struct request *r, unsigned status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result
send_error(struct request *r, unsigned status, const char *code,
    const char *fmt, ...)
{
	struct batch_error err = { (int)status, code, "" };
	struct buf out = BUF_INIT;
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	batch_render_error(&err, &out);
	ret = send_json(r, status, &out);
	buf_release(&out);
	return ret;
}

/* ---- routing and authentication -------------------------------------- */

/* "/v5/ad_accounts/123/events" -> "123" into id; 0 or -1. */
static int
dropin_account(const char *url, char *id, size_t cap)
{
	static const char prefix[] = "/v5/ad_accounts/";
	const char *p, *end;

	if (strncmp(url, prefix, sizeof(prefix) - 1))
		return -1;
	p = url + sizeof(prefix) - 1;
	end = strchr(p, '/');
	if (!end || strcmp(end, "/events") || end == p ||
	    (size_t)(end - p) >= cap)
		return -1;
	memcpy(id, p, (size_t)(end - p));
	id[end - p] = '\0';
	return 0;
}

/* Constant-time comparison, so response timing does not leak a key. */
static bool
key_equal(const char *given, const char *want)
{
	size_t n;

	if (!want || !*want)
		return false;
	n = strlen(want);
	return strlen(given) == n && memeql_sec(given, want, n);
}

static const char *
bearer(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	return h + 7;
}

/* Which account a write key opens, and as which leg. */
static const struct account_config *
authenticate(struct request *r, const char *ad_id)
{
	const struct config *cfg = r->in->cfg;
	const char *server_key = bearer(r->conn);
	const char *browser_key = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "key");

	if (!browser_key)
		browser_key = MHD_lookup_connection_value(r->conn,
		    MHD_HEADER_KIND, "X-Pinbridge-Key");
	for (size_t i = 0; i < cfg->n_accounts; i++) {
		const struct account_config *a = &cfg->accounts[i];

		if (ad_id && strcmp(a->ad_account_id, ad_id))
			continue;
		if (server_key && a->server_key &&
		    key_equal(server_key, a->server_key)) {
			r->leg = LEG_SERVER;
			return a;
		}
		/* The drop-in is server-to-server: no browser keys there. */
		if (!ad_id && browser_key && key_equal(browser_key,
		    a->browser_key)) {
			r->leg = LEG_BROWSER;
			return a;
		}
	}
	return NULL;
}

/* For the browser key: the Origin must be on the account's list. */
static bool
origin_allowed(struct request *r)
{
	const char *origin = MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "Origin");

	if (r->leg != LEG_BROWSER)
		return true;
	if (!origin)
		return true;	/* not a cross-origin browser request */
	for (size_t i = 0; i < r->acct->n_origins; i++)
		if (!strcmp(origin, r->acct->origins[i])) {
			snprintf(r->origin, sizeof(r->origin), "%s", origin);
			return true;
		}
	return false;
}

static bool
admin_allowed(struct request *r)
{
	const char *token = bearer(r->conn);
	const char *want = r->in->cfg->admin_token;

	return token && want && key_equal(token, want);
}

/*
 * The client's address. Behind a trusted proxy, X-Forwarded-For is read
 * right to left, skipping trusted hops: the first untrusted address is the
 * client (the left part can be forged by the client itself).
 */
static void
client_ip(struct request *r, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const char *xff;

	out[0] = '\0';
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    out, (socklen_t)cap);
	if (!config_proxy_trusted(r->in->cfg, sa))
		return;
	xff = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "X-Forwarded-For");
	if (!xff)
		return;
	for (size_t end = strlen(xff); end > 0;) {
		size_t start = end;
		char hop[INET6_ADDRSTRLEN];
		struct cidr c;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		while (start < end && xff[start] == ' ')
			start++;
		if (end - start && end - start < sizeof(hop)) {
			memcpy(hop, xff + start, end - start);
			hop[end - start] = '\0';
			while (hop[0] && hop[strlen(hop) - 1] == ' ')
				hop[strlen(hop) - 1] = '\0';
			if (cidr_parse(hop, &c) < 0)
				return;	/* garbage: keep the socket address */
			snprintf(out, cap, "%s", hop);
			if (!config_proxy_trusted_addr(r->in->cfg, &c))
				return;
		}
		end = start > 0 ? start - 1 : 0;
	}
}

/* ---- the journal callback ------------------------------------------- */

static void
on_commit(void *arg, int status)
{
	struct request *r = arg;
	struct MHD_Connection *conn = r->conn;
	bool resume;

	pthread_mutex_lock(&r->lock);
	r->committed = true;
	r->commit_status = status;
	resume = r->suspended;
	r->suspended = false;
	pthread_mutex_unlock(&r->lock);
	/*
	 * Resume only after unlocking, and touch r no more: once resumed, the
	 * connection may be answered and r freed by an MHD thread at once.
	 * Until then the suspended connection keeps r alive.
	 */
	if (resume)
		MHD_resume_connection(conn);
}

/* ---- request processing ------------------------------------------- */

static struct hasher *
thread_hasher(struct ingest *in)
{
	struct hasher *h = pthread_getspecific(in->hasher_key);

	if (!h) {
		h = hasher_new();
		pthread_setspecific(in->hasher_key, h);
	}
	return h;
}

static enum MHD_Result
answer_events(struct request *r)
{
	struct buf out = BUF_INIT;
	enum MHD_Result ret;
	int status;

	for (size_t i = 0; i < r->batch.n; i++) {
		const struct batch_result *res = &r->batch.results[i];

		if (!res->accepted)
			atomic_fetch_add(&r->in->rejected, 1);
		else if (r->commit_status == 0 &&
		    r->batch.recs[res->record].outcome == STORE_DUPLICATE)
			atomic_fetch_add(&r->in->duplicate, 1);
		else if (r->commit_status == 0)
			atomic_fetch_add(&r->in->accepted, 1);
	}
	batch_render(&r->batch, r->route == ROUTE_DROPIN, r->commit_status,
	    &out, &status);
	if (status == 202 && r->batch.epik) {
		struct buf cookie = BUF_INIT;

		epik_set_cookie(&cookie, r->batch.epik, r->batch.epik_secure);
		r->set_cookie = arena_strndup(&r->arena, cookie.data, cookie.len);
		buf_release(&cookie);
	}
	if (r->commit_status < 0)
		log_error("journal commit failed: %s; answered 503",
		    store_strerror(r->commit_status));
	else if (r->batch.n_recs && r->in->hooks.observe)
		r->in->hooks.observe(r->in->hooks.arg, r->acct->name, &r->batch);
	ret = send_json(r, (unsigned)status, &out);
	buf_release(&out);
	return ret;
}

static enum MHD_Result
process_events(struct request *r)
{
	struct ingest *in = r->in;
	struct batch_source src;
	struct batch_error err;
	char ip[INET6_ADDRSTRLEN];
	const char *epik;
	bool done;
	int rc;

	if (r->body_too_large)
		return send_error(r, 413, "body_too_large", "the body is larger "
		    "than %u bytes", PB_MAX_BODY_BYTES);
	memset(&src, 0, sizeof(src));
	src.account = r->acct->name;
	src.partner_name = r->acct->partner_name[0] ? r->acct->partner_name : NULL;
	src.leg = r->leg;
	src.dropin = r->route == ROUTE_DROPIN;
	src.now_ms = clock_now_ms(in->clock);
	src.max_age_s = in->cfg->max_age_s;
	if (r->leg == LEG_BROWSER) {
		client_ip(r, ip, sizeof(ip));
		src.client_ip = ip[0] ? ip : NULL;
		src.user_agent = MHD_lookup_connection_value(r->conn,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
		epik = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
		    "_epik");
		src.click_id = epik ? epik_decode(&r->arena, epik,
		    strlen(epik)) : NULL;
	}
	/*
	 * Either leg may arrive first; holding both for the merge window lets
	 * the other one join, so Pinterest gets one event with the union of
	 * identifiers. An account without a browser key has no second leg.
	 */
	if (r->acct->browser_key[0])
		src.not_before_ms = src.now_ms + r->acct->merge_window_ms;
	if (batch_decode(&r->arena, thread_hasher(in), &src, r->body.data,
	    r->body.len, &r->batch, &err) < 0)
		return send_error(r, (unsigned)err.status, err.code, "%s",
		    err.message);
	buf_release(&r->body);
	if (r->batch.n_recs == 0) {
		r->committed = true;
		return answer_events(r);
	}
	pthread_mutex_lock(&r->lock);
	r->submitted = true;
	rc = journal_submit(in->journal, r->batch.recs, r->batch.n_recs,
	    on_commit, r);
	if (rc < 0) {
		pthread_mutex_unlock(&r->lock);
		return send_error(r, 503, rc == STORE_EBUSY ? "overloaded" :
		    "store_unavailable", "the journal cannot take events now "
		    "(%s); retry later", store_strerror(rc));
	}
	/*
	 * Decide under the lock: once it is released, the commit callback may
	 * run and resume the connection at any moment.
	 */
	done = r->committed;
	if (!done) {
		r->suspended = true;
		MHD_suspend_connection(r->conn);
	}
	pthread_mutex_unlock(&r->lock);
	return done ? answer_events(r) : MHD_YES;
}

static enum MHD_Result
answer_preflight(struct request *r)
{
	struct buf empty = BUF_INIT;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!r->origin[0])
		return send_error(r, 403, "origin_not_allowed", "this origin may "
		    "not use the browser key; add it to allowed_origins");
	resp = MHD_create_response_from_buffer(0, empty.data,
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", "POST");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
	    "Content-Type, X-Pinbridge-Key");
	MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
	MHD_add_response_header(resp, "Vary", "Origin");
	ret = MHD_queue_response(r->conn, MHD_HTTP_NO_CONTENT, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
answer_get(struct request *r)
{
	struct buf out = BUF_INIT;
	enum MHD_Result ret;
	int status = 200;

	if (r->route != ROUTE_HEALTH && !admin_allowed(r))
		return send_error(r, 401, "unauthorized", "this endpoint needs "
		    "Authorization: Bearer <admin token>");
	if (r->route == ROUTE_METRICS) {
		ingest_metrics(r->in, &out);
		if (r->in->hooks.metrics)
			r->in->hooks.metrics(r->in->hooks.arg, &out);
		ret = send_buf(r, 200, "text/plain; version=0.0.4", &out);
	} else if (r->route == ROUTE_STATUS || r->route == ROUTE_ALERTS) {
		void (*fn)(void *, struct buf *) = r->route == ROUTE_STATUS ?
		    r->in->hooks.status : r->in->hooks.alerts;

		if (fn)
			fn(r->in->hooks.arg, &out);
		else
			buf_adds(&out, "{}");
		ret = send_json(r, 200, &out);
	} else {
		if (r->in->hooks.health)
			status = r->in->hooks.health(r->in->hooks.arg, &out);
		else
			buf_adds(&out, "{\"status\":\"ok\"}");
		ret = send_json(r, (unsigned)status, &out);
	}
	buf_release(&out);
	return ret;
}

/* GET /v1/tag.js: public (no key, any origin), see ingest/tag.h. */
static enum MHD_Result
answer_tag(struct request *r, const char *method)
{
	unsigned status;
	enum MHD_Result ret = tag_serve(r->conn, method, &status);

	if (status >= 400)
		atomic_fetch_add(&r->in->r4xx, 1);
	return ret;
}

/*
 * First call for a request: route, authenticate and check limits from the
 * headers alone, so a refused request never has its body read or stored.
 */
static enum MHD_Result
begin(struct request *r, const char *url, const char *method)
{
	char ad_id[32];
	const char *cl;
	bool post = !strcmp(method, "POST");

	if (!strcmp(url, "/v1/events")) {
		r->route = !strcmp(method, "OPTIONS") ? ROUTE_PREFLIGHT :
		    ROUTE_EVENTS;
		if (!post && r->route != ROUTE_PREFLIGHT)
			return send_error(r, 405, "method_not_allowed", "use POST "
			    "for /v1/events");
	} else if (dropin_account(url, ad_id, sizeof(ad_id)) == 0) {
		r->route = ROUTE_DROPIN;
		if (!post)
			return send_error(r, 405, "method_not_allowed", "use POST "
			    "for %s", url);
	} else if (!strcmp(url, "/v1/health") || !strcmp(url, "/metrics") ||
	    !strcmp(url, "/v1/status") || !strcmp(url, "/v1/alerts")) {
		r->route = !strcmp(url, "/metrics") ? ROUTE_METRICS :
		    !strcmp(url, "/v1/status") ? ROUTE_STATUS :
		    !strcmp(url, "/v1/alerts") ? ROUTE_ALERTS : ROUTE_HEALTH;
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return send_error(r, 405, "method_not_allowed", "use GET "
			    "for %s", url);
		return MHD_YES;
	} else if (!strcmp(url, TAG_PATH)) {
		return answer_tag(r, method);
	} else {
		return send_error(r, 404, "not_found", "no route for %s %s",
		    method, url);
	}
	r->acct = authenticate(r, r->route == ROUTE_DROPIN ? ad_id : NULL);
	if (!r->acct) {
		if (r->route == ROUTE_DROPIN &&
		    !config_account_by_ad_id(r->in->cfg, ad_id))
			return send_error(r, 404, "unknown_ad_account", "ad account "
			    "%s is not configured in pinbridge", ad_id);
		return send_error(r, 401, "unauthorized", "a valid write key is "
		    "required: Authorization: Bearer <server key>, or "
		    "?key=<browser key> from an allowed origin");
	}
	if (!origin_allowed(r))
		return send_error(r, 403, "origin_not_allowed", "this origin may "
		    "not use the browser key; add it to allowed_origins");
	if (r->route == ROUTE_PREFLIGHT)
		return answer_preflight(r);
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > PB_MAX_BODY_BYTES)
		return send_error(r, 413, "body_too_large", "the body is larger "
		    "than %u bytes", PB_MAX_BODY_BYTES);
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct ingest *in = cls;
	struct request *r = *con_cls;

	(void)version;
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->in = in;
		r->conn = conn;
		arena_init(&r->arena, REQUEST_ARENA_CHUNK);
		buf_init(&r->body, 0);
		pthread_mutex_init(&r->lock, NULL);
		*con_cls = r;
		atomic_fetch_add(&in->requests, 1);
		atomic_fetch_add(&in->active, 1);
		return begin(r, url, method);
	}
	if (*upload_size) {
		if (!r->body_too_large && r->body.len + *upload_size <=
		    PB_MAX_BODY_BYTES)
			buf_add(&r->body, upload_data, *upload_size);
		else
			r->body_too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->route == ROUTE_HEALTH || r->route == ROUTE_METRICS ||
	    r->route == ROUTE_STATUS || r->route == ROUTE_ALERTS)
		return answer_get(r);
	if (r->submitted)
		return answer_events(r);	/* resumed after the commit */
	return process_events(r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct ingest *in = cls;
	struct request *r = *con_cls;

	(void)conn;
	(void)why;
	if (!r)
		return;
	buf_release(&r->body);
	arena_release(&r->arena);
	pthread_mutex_destroy(&r->lock);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&in->active, 1);
}

static void
free_hasher(void *h)
{
	hasher_free(h);
}

struct ingest *
ingest_start(const struct config *cfg, struct journal *j,
    const struct clock *clock, const struct ingest_hooks *hooks, char *err,
    size_t errlen)
{
	struct ingest *in = xcalloc(1, sizeof(*in));
	struct sockaddr_storage ss;
	socklen_t sslen;
	const union MHD_DaemonInfo *info;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->listen_host,
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)cfg->listen_port);
		sslen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, cfg->listen_host,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)cfg->listen_port);
		sslen = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errlen, "listen address '%s' is not an IP address",
		    cfg->listen_host);
		free(in);
		return NULL;
	}
	(void)sslen;
	in->cfg = cfg;
	in->journal = j;
	in->clock = clock;
	if (hooks)
		in->hooks = *hooks;
	pthread_key_create(&in->hasher_key, free_hasher);
	/*
	 * Thread pool, not a single epoll thread: libmicrohttpd 0.9.75 in
	 * single-thread epoll mode stalls at 128/256 connections (design §4).
	 * poll(), not epoll: every request is suspended until its commit, and
	 * with epoll libmicrohttpd takes the socket out of the set and puts it
	 * back (two epoll_ctl calls, ~6% of ingest CPU); poll() over a worker's
	 * share of the connections is cheaper (A/B with bench/ab-ingest.sh:
	 * -11% CPU per request, +10% requests/s at 64 and 256 connections).
	 */
	in->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
	    (((struct sockaddr *)&ss)->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    (uint16_t)cfg->listen_port, NULL, NULL, on_request, in,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_POOL_BYTES,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, in,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_END);
	if (!in->mhd) {
		snprintf(err, errlen, "cannot listen on %s:%d (address in use, "
		    "or not permitted)", cfg->listen_host, cfg->listen_port);
		pthread_key_delete(in->hasher_key);
		free(in);
		return NULL;
	}
	info = MHD_get_daemon_info(in->mhd, MHD_DAEMON_INFO_BIND_PORT);
	in->port = info ? info->port : cfg->listen_port;
	return in;
}

int
ingest_port(const struct ingest *in)
{
	return in->port;
}

void
ingest_stop(struct ingest *in, int64_t grace_ms)
{
	int64_t deadline = clock_mono_ms() + grace_ms;
	MHD_socket fd;

	if (!in)
		return;
	fd = MHD_quiesce_daemon(in->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	while (atomic_load(&in->active) > 0 && clock_mono_ms() < deadline)
		usleep(10 * 1000);
	MHD_stop_daemon(in->mhd);
	pthread_key_delete(in->hasher_key);
	free(in);
}

void
ingest_get_stats(const struct ingest *in, struct ingest_stats *s)
{
	s->requests = atomic_load(&in->requests);
	s->events_accepted = atomic_load(&in->accepted);
	s->events_rejected = atomic_load(&in->rejected);
	s->events_duplicate = atomic_load(&in->duplicate);
	s->responses_4xx = atomic_load(&in->r4xx);
	s->responses_5xx = atomic_load(&in->r5xx);
	s->active = (uint64_t)atomic_load(&in->active);
}

void
ingest_metrics(const struct ingest *in, struct buf *out)
{
	struct ingest_stats s;

	ingest_get_stats(in, &s);
	buf_addf(out,
	    "# HELP pinbridge_http_requests_total HTTP requests received.\n"
	    "# TYPE pinbridge_http_requests_total counter\n"
	    "pinbridge_http_requests_total %llu\n"
	    "# HELP pinbridge_http_errors_total Error responses by class.\n"
	    "# TYPE pinbridge_http_errors_total counter\n"
	    "pinbridge_http_errors_total{class=\"4xx\"} %llu\n"
	    "pinbridge_http_errors_total{class=\"5xx\"} %llu\n"
	    "# HELP pinbridge_ingest_events_total Events by ingest outcome.\n"
	    "# TYPE pinbridge_ingest_events_total counter\n"
	    "pinbridge_ingest_events_total{outcome=\"accepted\"} %llu\n"
	    "pinbridge_ingest_events_total{outcome=\"rejected\"} %llu\n"
	    "pinbridge_ingest_events_total{outcome=\"duplicate\"} %llu\n"
	    "# HELP pinbridge_http_requests_active Requests in progress.\n"
	    "# TYPE pinbridge_http_requests_active gauge\n"
	    "pinbridge_http_requests_active %llu\n",
	    (unsigned long long)s.requests, (unsigned long long)s.responses_4xx,
	    (unsigned long long)s.responses_5xx,
	    (unsigned long long)s.events_accepted,
	    (unsigned long long)s.events_rejected,
	    (unsigned long long)s.events_duplicate,
	    (unsigned long long)s.active);
}

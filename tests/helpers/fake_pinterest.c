/*
 * fake_pinterest.c: the scriptable Pinterest stand-in (see the header).
 * libmicrohttpd in epoll mode with a small thread pool.
 */
#include "fake_pinterest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define FAKE_MAX_BODY	(16u * 1024 * 1024)
#define FAKE_MAX_FORCED	1024
#define FAKE_MAX_BATCH_LOG	(1u << 20)
/*
 * epoll thread pool (design §4: clean up to 1024 connections where the
 * single-thread mode stalls). A scripted delay sleeps in a pool thread and
 * so holds up the other connections of that thread: fine for tests.
 */
#define FAKE_THREADS	4

struct forced {
	int status;
	char *body;
	char *retry_after;
};

struct seen {
	char *id;		/* NULL: empty slot */
	unsigned received;
	unsigned accepted;
};

struct fake_pinterest {
	struct MHD_Daemon *d;
	uint16_t port;
	int64_t max_age_s;
	bool admin;
	FILE *record;

	pthread_mutex_t mu;	/* guards everything below */
	char *token;
	enum fake_down down;
	int64_t delay_ms;
	struct forced forced[FAKE_MAX_FORCED];
	size_t forced_head, forced_n;
	struct fake_pinterest_stats st;
	struct seen *seen;	/* open addressing, power-of-two size */
	size_t seen_cap;
	size_t *batches;
	size_t n_batches, cap_batches;
	struct {
		char id[20];
		int status;
	} acct_fail[16];
	unsigned long rid;
};

/* Per-request state across MHD's calls for one request. */
struct req {
	struct buf body;
	bool too_big;
};

/* Known keys of a data[] item (spec §2.1, OAS 5.23). */
static const char *const item_keys[] = {
	"event_name", "action_source", "event_time", "event_id", "user_data",
	"custom_data", "event_source_url", "opt_out", "partner_name",
	"language", "wifi", "app_id", "app_name", "app_version",
	"device_brand", "device_carrier", "device_model", "device_type",
	"os_version", "app_info", "device_info", NULL,
};

/* ---- event_id table ------------------------------------------------- */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct seen *
seen_slot(struct seen *tab, size_t cap, const char *id)
{
	size_t i = (size_t)hash_str(id) & (cap - 1);

	while (tab[i].id && strcmp(tab[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* Finds or inserts id; caller holds mu. */
static struct seen *
seen_get(struct fake_pinterest *fp, const char *id, bool insert)
{
	struct seen *s;

	if (fp->seen_cap == 0) {
		if (!insert)
			return NULL;
		fp->seen_cap = 1024;
		fp->seen = xcalloc(fp->seen_cap, sizeof(*fp->seen));
	}
	s = seen_slot(fp->seen, fp->seen_cap, id);
	if (s->id || !insert)
		return s->id ? s : NULL;
	if ((fp->st.unique_events + 1) * 10 > fp->seen_cap * 7) {
		size_t ncap = fp->seen_cap * 2;
		struct seen *n = xcalloc(ncap, sizeof(*n));

		for (size_t i = 0; i < fp->seen_cap; i++)
			if (fp->seen[i].id)
				*seen_slot(n, ncap, fp->seen[i].id) = fp->seen[i];
		free(fp->seen);
		fp->seen = n;
		fp->seen_cap = ncap;
		s = seen_slot(fp->seen, fp->seen_cap, id);
	}
	s->id = xstrdup(id);
	fp->st.unique_events++;
	return s;
}

static void
seen_clear(struct fake_pinterest *fp)
{
	for (size_t i = 0; i < fp->seen_cap; i++)
		free(fp->seen[i].id);
	free(fp->seen);
	fp->seen = NULL;
	fp->seen_cap = 0;
}

/* ---- responses ------------------------------------------------------ */

static const char *
default_body(int status)
{
	switch (status) {
	case 400:
		return "{\"code\":4196,\"message\":\"The request was invalid.\"}";
	case 401:
		return "{\"code\":2,\"message\":\"Authentication failed.\",\"status\":\"failure\"}";
	case 403:
		return "{\"code\":29,\"message\":\"You are not permitted to access that resource.\"}";
	case 404:
		return "{\"code\":404,\"message\":\"Resource not found.\"}";
	case 429:
		return "{\"code\":8,\"message\":\"This request exceeded a rate limit. This can be caused by too many requests within a short time.\"}";
	case 503:
		return "{\"code\":4197,\"message\":\"The endpoint has been ramped down and is currently not accepting any traffic.\"}";
	default:
		return status >= 500 ?
		    "{\"code\":1,\"message\":\"Internal server error.\"}" :
		    "{\"code\":1,\"message\":\"Error.\"}";
	}
}

static void
count_status(struct fake_pinterest *fp, int status)
{
	if (status == 200)
		fp->st.status_200++;
	else if (status == 400)
		fp->st.status_400++;
	else if (status == 401)
		fp->st.status_401++;
	else if (status == 422)
		fp->st.status_422++;
	else if (status == 429)
		fp->st.status_429++;
	else if (status >= 500)
		fp->st.status_5xx++;
}

static enum MHD_Result
reply(struct fake_pinterest *fp, struct MHD_Connection *conn, int status,
    const char *body, const char *retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;
	char rid[32];

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	pthread_mutex_lock(&fp->mu);
	snprintf(rid, sizeof(rid), "fake-%lu", ++fp->rid);
	pthread_mutex_unlock(&fp->mu);
	MHD_add_response_header(resp, "x-pinterest-rid", rid);
	if (retry_after)
		MHD_add_response_header(resp, "Retry-After", retry_after);
	rc = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result
reply_error(struct fake_pinterest *fp, struct MHD_Connection *conn,
    int status, int code, const char *message)
{
	struct buf b = BUF_INIT;
	enum MHD_Result rc;

	buf_addf(&b, "{\"code\":%d,\"message\":", code);
	buf_add_json_cstr(&b, message);
	buf_addch(&b, '}');
	rc = reply(fp, conn, status, b.data, NULL);
	buf_release(&b);
	return rc;
}

/* ---- the events endpoint ------------------------------------------- */

static bool
valid_path(const char *url)
{
	const char *p = url, *pre = "/v5/ad_accounts/";
	size_t n = 0;

	if (strncmp(p, pre, strlen(pre)) != 0)
		return false;
	p += strlen(pre);
	while (isdigit((unsigned char)p[n]))
		n++;
	return n >= 1 && n <= 18 && strcmp(p + n, "/events") == 0;
}

static bool
key_known(const char *k)
{
	for (size_t i = 0; item_keys[i]; i++)
		if (strcmp(item_keys[i], k) == 0)
			return true;
	return false;
}

/*
 * Checks one data[] item like Pinterest's schema; on failure writes the
 * message to err and returns false.
 */
static bool
check_item(const cJSON *it, size_t idx, struct buf *err)
{
	const cJSON *k, *ud, *t;
	static const char *const strs[] = { "event_name", "action_source",
	    "event_id", NULL };

	if (!cJSON_IsObject(it)) {
		buf_addf(err, "Invalid request: data[%zu] is not an object", idx);
		return false;
	}
	cJSON_ArrayForEach(k, it) {
		if (!key_known(k->string)) {
			buf_addf(err, "Invalid request: Additional properties "
			    "are not allowed ('%s' was unexpected)", k->string);
			return false;
		}
	}
	for (size_t i = 0; strs[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, strs[i]);

		if (!cJSON_IsString(v)) {
			buf_addf(err, "Invalid request: '%s' is a required "
			    "property of data[%zu]", strs[i], idx);
			return false;
		}
	}
	t = cJSON_GetObjectItemCaseSensitive(it, "event_time");
	if (!cJSON_IsNumber(t) || t->valuedouble != (double)(int64_t)t->valuedouble) {
		buf_addf(err, "Invalid request: 'event_time' of data[%zu] "
		    "must be an integer", idx);
		return false;
	}
	ud = cJSON_GetObjectItemCaseSensitive(it, "user_data");
	if (!cJSON_IsObject(ud)) {
		buf_addf(err, "Invalid request: 'user_data' is a required "
		    "property of data[%zu]", idx);
		return false;
	}
	if (!cJSON_GetObjectItemCaseSensitive(ud, "em") &&
	    !cJSON_GetObjectItemCaseSensitive(ud, "hashed_maids") &&
	    !(cJSON_GetObjectItemCaseSensitive(ud, "client_ip_address") &&
	    cJSON_GetObjectItemCaseSensitive(ud, "client_user_agent"))) {
		buf_addf(err, "Invalid request: data[%zu].user_data is not "
		    "valid under any of the given schemas", idx);
		return false;
	}
	return true;
}

static void
record_body(struct fake_pinterest *fp, const char *body, size_t len,
    const cJSON *root)
{
	if (!fp->record)
		return;
	if (memchr(body, '\n', len)) {
		char *flat = cJSON_PrintUnformatted(root);

		fputs(flat, fp->record);
		cJSON_free(flat);
	} else {
		fwrite(body, 1, len, fp->record);
	}
	fputc('\n', fp->record);
	fflush(fp->record);
}

/* The events endpoint proper, with cJSON allocating from an arena. */
static enum MHD_Result
handle_events_in_arena(struct fake_pinterest *fp, struct MHD_Connection *conn,
    struct req *rq, const struct forced *f)
{
	const char *auth, *ctype, *test;
	cJSON *root = NULL, *data, *k, *it;
	struct buf err = BUF_INIT, out = BUF_INIT;
	enum MHD_Result rc;
	size_t n, failed = 0, i = 0;
	int64_t now = (int64_t)time(NULL);
	bool bad400 = false;

	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Authorization");
	pthread_mutex_lock(&fp->mu);
	if (fp->token && (!auth || strncmp(auth, "Bearer ", 7) != 0 ||
	    strcmp(auth + 7, fp->token) != 0)) {
		fp->st.status_401++;
		pthread_mutex_unlock(&fp->mu);
		return reply(fp, conn, 401, default_body(401), NULL);
	}
	test = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "test");
	if (test && strcmp(test, "true") == 0)
		fp->st.test_requests++;
	pthread_mutex_unlock(&fp->mu);

	ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Content-Type");
	if (rq->too_big) {
		rc = reply_error(fp, conn, 413, 413, "Request entity too large.");
		goto out;
	}
	if (!ctype || strncmp(ctype, "application/json", 16) != 0) {
		buf_adds(&err, "Invalid request: Content-Type must be application/json");
		goto bad;
	}
	root = cJSON_ParseWithLength(rq->body.data, rq->body.len);
	if (!cJSON_IsObject(root)) {
		buf_adds(&err, "Invalid request: body is not a JSON object");
		goto bad;
	}
	cJSON_ArrayForEach(k, root) {
		if (strcmp(k->string, "data") != 0) {
			buf_addf(&err, "Invalid request: Additional properties "
			    "are not allowed ('%s' was unexpected)", k->string);
			goto bad;
		}
	}
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (!cJSON_IsArray(data)) {
		buf_adds(&err, "Invalid request: 'data' is a required property");
		goto bad;
	}
	n = (size_t)cJSON_GetArraySize(data);
	if (n < 1 || n > 1000) {
		buf_addf(&err, "Invalid request: data must have 1..1000 items, "
		    "has %zu", n);
		goto bad;
	}
	cJSON_ArrayForEach(it, data) {
		if (!check_item(it, i++, &err))
			goto bad;
		if (strcmp(json_get_str(it, "event_id"), "bad-400") == 0)
			bad400 = true;
	}

	pthread_mutex_lock(&fp->mu);
	fp->st.events_received += n;
	if (n > fp->st.max_batch)
		fp->st.max_batch = n;
	if (fp->n_batches < FAKE_MAX_BATCH_LOG) {
		if (fp->n_batches == fp->cap_batches) {
			fp->cap_batches = fp->cap_batches ? fp->cap_batches * 2 : 256;
			fp->batches = xrealloc(fp->batches,
			    fp->cap_batches * sizeof(*fp->batches));
		}
		fp->batches[fp->n_batches++] = n;
	}
	cJSON_ArrayForEach(it, data)
		seen_get(fp, json_get_str(it, "event_id"), true)->received++;
	pthread_mutex_unlock(&fp->mu);

	if (f) {
		rc = reply(fp, conn, f->status,
		    f->body ? f->body : default_body(f->status), f->retry_after);
		goto out;
	}
	if (bad400) {
		buf_adds(&err, "Invalid request: event 'bad-400' is malformed");
		goto bad;
	}

	/* Per-event verdicts, in request order. */
	buf_adds(&out, "\"events\":[");
	i = 0;
	pthread_mutex_lock(&fp->mu);
	cJSON_ArrayForEach(it, data) {
		const char *id = json_get_str(it, "event_id");
		int64_t t = (int64_t)cJSON_GetObjectItemCaseSensitive(it,
		    "event_time")->valuedouble;
		char msg[256] = "";

		if (strncmp(id, "fail-", 5) == 0)
			snprintf(msg, sizeof(msg), "Invalid event: forced "
			    "failure for this event_id");
		else if (fp->max_age_s > 0 && now - t > fp->max_age_s)
			snprintf(msg, sizeof(msg), "Invalid event_timestamp "
			    "parameter. Given timestamp is in the past. Current "
			    "timestamp: %lld, Given event_timestamp: %lld",
			    (long long)now, (long long)t);
		else if (t > now + 300)
			snprintf(msg, sizeof(msg), "Invalid event_timestamp "
			    "parameter. Given timestamp is in the future.");
		if (i++)
			buf_addch(&out, ',');
		if (msg[0]) {
			failed++;
			buf_adds(&out, "{\"status\":\"failed\",\"error_message\":");
			buf_add_json_cstr(&out, msg);
			buf_adds(&out, ",\"warning_message\":\"\"}");
		} else {
			struct seen *s = seen_get(fp, id, true);

			if (s->accepted++)
				fp->st.duplicate_accepts++;
			fp->st.events_accepted++;
			buf_adds(&out, "{\"status\":\"processed\","
			    "\"error_message\":\"\",\"warning_message\":\"\"}");
		}
	}
	count_status(fp, failed ? 422 : 200);
	if (n > failed)
		record_body(fp, rq->body.data, rq->body.len, root);
	pthread_mutex_unlock(&fp->mu);
	buf_addch(&out, ']');
	{
		struct buf full = BUF_INIT;
#define COUNTS "\"num_events_received\":%zu,\"num_events_processed\":%zu,"

		if (failed) {
			buf_adds(&full, "{\"code\":953,\"message\":\"The action "
			    "could not be processed properly due to some or all "
			    "data provided being invalid.\",\"details\":{");
			buf_addf(&full, COUNTS, n, n - failed);
			buf_add(&full, out.data, out.len);
			buf_adds(&full, "}}");
		} else {
			buf_addch(&full, '{');
			buf_addf(&full, COUNTS, n, n);
			buf_add(&full, out.data, out.len);
			buf_addch(&full, '}');
		}
#undef COUNTS
		rc = reply(fp, conn, failed ? 422 : 200, full.data, NULL);
		buf_release(&full);
	}
	goto out;
bad:
	pthread_mutex_lock(&fp->mu);
	fp->st.status_400++;
	pthread_mutex_unlock(&fp->mu);
	rc = reply_error(fp, conn, 400, 4196, err.data);
out:
	buf_release(&err);
	buf_release(&out);
	return rc;
}

/*
 * The events endpoint proper: auth, schema, counting what arrived, then
 * either the forced answer `f` (when not NULL) or per-event verdicts.
 * The body's tree lives in an arena for the request: a fake that
 * malloc'd and freed every node cost twice the gateway's CPU per event
 * in the delivery benchmark, which shares the machine's two cores.
 */
static enum MHD_Result
handle_events(struct fake_pinterest *fp, struct MHD_Connection *conn,
    struct req *rq, const struct forced *f)
{
	struct arena tree;
	enum MHD_Result rc;

	arena_init(&tree, 0);
	json_use_arena(&tree);
	rc = handle_events_in_arena(fp, conn, rq, f);
	json_use_arena(NULL);
	arena_release(&tree);
	return rc;
}

/* ---- admin endpoints ------------------------------------------------ */

static const char *
arg(struct MHD_Connection *conn, const char *key)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static long
arg_long(struct MHD_Connection *conn, const char *key, long dflt)
{
	const char *v = arg(conn, key);
	char *end;
	long n;

	if (!v || !*v)
		return dflt;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end ? dflt : n;
}

static enum MHD_Result
handle_admin(struct fake_pinterest *fp, struct MHD_Connection *conn,
    const char *url, const char *method, struct req *rq)
{
	struct buf b = BUF_INIT;
	enum MHD_Result rc;

	if (strcmp(method, "GET") == 0 && strcmp(url, "/_stats") == 0) {
		fake_pinterest_stats_json(fp, &b);
		rc = reply(fp, conn, 200, b.data, NULL);
		buf_release(&b);
		return rc;
	}
	if (strcmp(method, "GET") == 0 && strcmp(url, "/_event") == 0) {
		const char *id = arg(conn, "id");

		if (!id)
			return reply_error(fp, conn, 400, 400, "need ?id=");
		buf_addf(&b, "{\"received\":%u,\"accepted\":%u}",
		    fake_pinterest_received(fp, id),
		    fake_pinterest_accepted(fp, id));
		rc = reply(fp, conn, 200, b.data, NULL);
		buf_release(&b);
		return rc;
	}
	if (strcmp(method, "POST") != 0)
		return reply_error(fp, conn, 404, 404, "no such admin endpoint");
	if (strcmp(url, "/_control/fail") == 0) {
		long status = arg_long(conn, "status", 503);
		long count = arg_long(conn, "count", 1);

		for (long i = 0; i < count && i < FAKE_MAX_FORCED; i++)
			fake_pinterest_push(fp, (int)status, arg(conn, "body"),
			    arg(conn, "retry_after"));
	} else if (strcmp(url, "/_control/down") == 0) {
		const char *mode = arg(conn, "mode");

		fake_pinterest_set_down(fp, mode && strcmp(mode, "close") == 0 ?
		    FAKE_DOWN_CLOSE : FAKE_DOWN_503);
	} else if (strcmp(url, "/_control/recover") == 0) {
		fake_pinterest_recover(fp);
	} else if (strcmp(url, "/_control/token") == 0) {
		const char *t = arg(conn, "value");
		char *copy = NULL;

		if (!t && rq->body.len) {
			size_t n = rq->body.len;

			while (n && isspace((unsigned char)rq->body.data[n - 1]))
				n--;
			copy = xstrndup(rq->body.data, n);
			t = copy;
		}
		fake_pinterest_set_token(fp, t);
		free(copy);
	} else if (strcmp(url, "/_control/delay") == 0) {
		fake_pinterest_set_delay_ms(fp, arg_long(conn, "ms", 0));
	} else if (strcmp(url, "/_control/reset") == 0) {
		fake_pinterest_reset_stats(fp);
	} else {
		return reply_error(fp, conn, 404, 404, "no such admin endpoint");
	}
	return reply(fp, conn, 200, "{\"ok\":true}", NULL);
}

/* ---- MHD plumbing --------------------------------------------------- */

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct fake_pinterest *fp = cls;
	struct req *rq = *con_cls;
	struct forced f = { 0, NULL, NULL };
	bool have_forced = false;
	enum fake_down down;
	int64_t delay;
	enum MHD_Result rc;

	(void)version;
	if (!rq) {
		rq = xcalloc(1, sizeof(*rq));
		buf_init(&rq->body, 0);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->body.len + *upload_size > FAKE_MAX_BODY)
			rq->too_big = true;
		else
			buf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}

	if (fp->admin && url[0] == '/' && url[1] == '_')
		return handle_admin(fp, conn, url, method, rq);
	if (!valid_path(url))
		return reply_error(fp, conn, 404, 404, "Resource not found.");
	if (strcmp(method, "POST") != 0)
		return reply_error(fp, conn, 405, 405, "Method not allowed.");

	pthread_mutex_lock(&fp->mu);
	fp->st.requests++;
	{
		/* url is /v5/ad_accounts/<id>/events, checked above. */
		const char *id = url + strlen("/v5/ad_accounts/");
		size_t idlen = (size_t)(strchr(id, '/') - id);

		for (size_t i = 0; i < 16; i++) {
			if (fp->acct_fail[i].status &&
			    strlen(fp->acct_fail[i].id) == idlen &&
			    memcmp(fp->acct_fail[i].id, id, idlen) == 0) {
				int status = fp->acct_fail[i].status;

				count_status(fp, status);
				pthread_mutex_unlock(&fp->mu);
				return reply(fp, conn, status,
				    default_body(status), NULL);
			}
		}
	}
	down = fp->down;
	delay = fp->delay_ms;
	if (down == FAKE_UP && fp->forced_n) {
		f = fp->forced[fp->forced_head];
		fp->forced_head = (fp->forced_head + 1) % FAKE_MAX_FORCED;
		fp->forced_n--;
		fp->st.forced++;
		have_forced = true;
	}
	if (down == FAKE_DOWN_CLOSE || (have_forced && f.status == 0))
		fp->st.closed++;
	else if (down == FAKE_DOWN_503)
		fp->st.status_5xx++;
	else if (have_forced)
		count_status(fp, f.status);
	pthread_mutex_unlock(&fp->mu);

	if (delay > 0) {
		struct timespec ts = { (time_t)(delay / 1000),
		    (long)(delay % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	if (down == FAKE_DOWN_CLOSE)
		return MHD_NO;
	if (down == FAKE_DOWN_503)
		return reply(fp, conn, 503, default_body(503), NULL);
	if (have_forced) {
		rc = f.status == 0 ? MHD_NO : handle_events(fp, conn, rq, &f);
		free(f.body);
		free(f.retry_after);
		return rc;
	}
	return handle_events(fp, conn, rq, NULL);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!rq)
		return;
	buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

struct fake_pinterest *
fake_pinterest_start(const struct fake_pinterest_config *cfg)
{
	struct fake_pinterest *fp = xcalloc(1, sizeof(*fp));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	json_init();
	pthread_mutex_init(&fp->mu, NULL);
	fp->token = cfg->token ? xstrdup(cfg->token) : NULL;
	fp->admin = cfg->admin;
	fp->max_age_s = cfg->max_age_s == 0 ? 7 * 24 * 3600 : cfg->max_age_s;
	if (cfg->record_path) {
		fp->record = fopen(cfg->record_path, "a");
		if (!fp->record) {
			fprintf(stderr, "fake-pinterest: cannot open '%s': %s\n",
			    cfg->record_path, strerror(errno));
			goto fail;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(cfg->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fp->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, fp,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, fp,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)FAKE_THREADS,
	    /* Room to read a large batch in big gulps, not 32 KB sips. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1024 * 1024),
	    MHD_OPTION_END);
	if (!fp->d) {
		fprintf(stderr, "fake-pinterest: cannot listen on 127.0.0.1:%u\n",
		    (unsigned)cfg->port);
		goto fail;
	}
	info = MHD_get_daemon_info(fp->d, MHD_DAEMON_INFO_BIND_PORT);
	fp->port = info ? info->port : cfg->port;
	return fp;
fail:
	fake_pinterest_stop(fp);
	return NULL;
}

void
fake_pinterest_stop(struct fake_pinterest *fp)
{
	if (!fp)
		return;
	if (fp->d)
		MHD_stop_daemon(fp->d);
	fake_pinterest_recover(fp);
	if (fp->record)
		fclose(fp->record);
	seen_clear(fp);
	free(fp->batches);
	free(fp->token);
	pthread_mutex_destroy(&fp->mu);
	free(fp);
}

uint16_t
fake_pinterest_port(const struct fake_pinterest *fp)
{
	return fp->port;
}

void
fake_pinterest_base_url(const struct fake_pinterest *fp, char *out,
    size_t outsz)
{
	snprintf(out, outsz, "http://127.0.0.1:%u", (unsigned)fp->port);
}

void
fake_pinterest_push(struct fake_pinterest *fp, int status, const char *body,
    const char *retry_after)
{
	pthread_mutex_lock(&fp->mu);
	if (fp->forced_n < FAKE_MAX_FORCED) {
		struct forced *f = &fp->forced[(fp->forced_head + fp->forced_n++)
		    % FAKE_MAX_FORCED];

		f->status = status;
		f->body = body ? xstrdup(body) : NULL;
		f->retry_after = retry_after ? xstrdup(retry_after) : NULL;
	}
	pthread_mutex_unlock(&fp->mu);
}

void
fake_pinterest_recover(struct fake_pinterest *fp)
{
	pthread_mutex_lock(&fp->mu);
	while (fp->forced_n) {
		struct forced *f = &fp->forced[fp->forced_head];

		free(f->body);
		free(f->retry_after);
		fp->forced_head = (fp->forced_head + 1) % FAKE_MAX_FORCED;
		fp->forced_n--;
	}
	fp->down = FAKE_UP;
	fp->delay_ms = 0;
	pthread_mutex_unlock(&fp->mu);
}

void
fake_pinterest_set_token(struct fake_pinterest *fp, const char *token)
{
	pthread_mutex_lock(&fp->mu);
	free(fp->token);
	fp->token = token ? xstrdup(token) : NULL;
	pthread_mutex_unlock(&fp->mu);
}

void
fake_pinterest_set_down(struct fake_pinterest *fp, enum fake_down mode)
{
	pthread_mutex_lock(&fp->mu);
	fp->down = mode;
	pthread_mutex_unlock(&fp->mu);
}

void
fake_pinterest_set_delay_ms(struct fake_pinterest *fp, int64_t ms)
{
	pthread_mutex_lock(&fp->mu);
	fp->delay_ms = ms;
	pthread_mutex_unlock(&fp->mu);
}

void
fake_pinterest_fail_account(struct fake_pinterest *fp,
    const char *ad_account_id, int status)
{
	size_t i, free_slot = 16;

	pthread_mutex_lock(&fp->mu);
	for (i = 0; i < 16; i++) {
		if (fp->acct_fail[i].status &&
		    strcmp(fp->acct_fail[i].id, ad_account_id) == 0)
			break;
		if (!fp->acct_fail[i].status && free_slot == 16)
			free_slot = i;
	}
	if (i == 16)
		i = free_slot;
	if (i < 16) {
		snprintf(fp->acct_fail[i].id, sizeof(fp->acct_fail[i].id), "%s",
		    ad_account_id);
		fp->acct_fail[i].status = status;
	}
	pthread_mutex_unlock(&fp->mu);
}

void
fake_pinterest_get_stats(struct fake_pinterest *fp,
    struct fake_pinterest_stats *out)
{
	pthread_mutex_lock(&fp->mu);
	*out = fp->st;
	pthread_mutex_unlock(&fp->mu);
}

void
fake_pinterest_reset_stats(struct fake_pinterest *fp)
{
	pthread_mutex_lock(&fp->mu);
	memset(&fp->st, 0, sizeof(fp->st));
	seen_clear(fp);
	fp->n_batches = 0;
	pthread_mutex_unlock(&fp->mu);
}

unsigned
fake_pinterest_received(struct fake_pinterest *fp, const char *event_id)
{
	struct seen *s;
	unsigned n;

	pthread_mutex_lock(&fp->mu);
	s = seen_get(fp, event_id, false);
	n = s ? s->received : 0;
	pthread_mutex_unlock(&fp->mu);
	return n;
}

unsigned
fake_pinterest_accepted(struct fake_pinterest *fp, const char *event_id)
{
	struct seen *s;
	unsigned n;

	pthread_mutex_lock(&fp->mu);
	s = seen_get(fp, event_id, false);
	n = s ? s->accepted : 0;
	pthread_mutex_unlock(&fp->mu);
	return n;
}

size_t
fake_pinterest_batch_sizes(struct fake_pinterest *fp, size_t *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&fp->mu);
	n = fp->n_batches;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = fp->batches[i];
	pthread_mutex_unlock(&fp->mu);
	return n;
}

void
fake_pinterest_stats_json(struct fake_pinterest *fp, struct buf *out)
{
	struct fake_pinterest_stats s;

	pthread_mutex_lock(&fp->mu);
	s = fp->st;
	buf_addf(out, "{\"requests\":%zu,\"status\":{\"200\":%zu,\"400\":%zu,"
	    "\"401\":%zu,\"422\":%zu,\"429\":%zu,\"5xx\":%zu,\"closed\":%zu},"
	    "\"forced\":%zu,\"test_requests\":%zu,\"events_received\":%zu,"
	    "\"events_accepted\":%zu,\"unique_events\":%zu,"
	    "\"duplicate_accepts\":%zu,\"max_batch\":%zu,\"batches\":%zu,"
	    "\"down\":%d,\"forced_queued\":%zu}",
	    s.requests, s.status_200, s.status_400, s.status_401,
	    s.status_422, s.status_429, s.status_5xx, s.closed, s.forced,
	    s.test_requests, s.events_received, s.events_accepted,
	    s.unique_events, s.duplicate_accepts, s.max_batch, fp->n_batches,
	    (int)fp->down, fp->forced_n);
	pthread_mutex_unlock(&fp->mu);
}

/*
 * client.c: libcurl multi plumbing for POSTs to Pinterest.
 *
 * Each request is a struct xfer around an easy handle. Finished xfers go
 * back to a free list and their easy handles are reused: with the multi's
 * shared connection cache this keeps connections (and TLS sessions) warm
 * across batches and accounts.
 */
#include "deliver/client.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#ifndef PB_VERSION
#define PB_VERSION "0.1.0"
#endif

struct xfer {
	struct xfer *next;		/* free list or done queue */
	struct xfer *all_next;		/* every xfer the client owns */
	bool attached;			/* added to the multi */
	CURL *easy;
	struct curl_slist *headers;	/* holds the token: wiped on reuse */
	struct buf body;		/* response body */
	bool body_too_big;
	void *user;
	int64_t start_us;
	char retry_after[64];
	char request_id[96];
	char errbuf[CURL_ERROR_SIZE];
	enum pin_transport transport;
	int http_status;
};

struct pin_client {
	CURLM *multi;
	char *api_base;			/* without a trailing '/' */
	char *user_agent;
	long connect_timeout_ms;
	long timeout_ms;
	size_t in_flight;
	struct xfer *all;
	struct xfer *free_list;
	struct xfer *done_head, *done_tail;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
global_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct pin_client *
pin_client_new(const struct pin_client_config *cfg)
{
	struct pin_client *c;
	const char *base;
	size_t n;
	long maxc;

	pthread_once(&curl_once, global_init);
	if (curl_init_rc != CURLE_OK) {
		log_error("deliver: curl_global_init failed: %s",
		    curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->multi = curl_multi_init();
	if (!c->multi) {
		log_error("deliver: curl_multi_init failed");
		free(c);
		return NULL;
	}
	base = cfg && cfg->api_base ? cfg->api_base : PIN_DEFAULT_API_BASE;
	n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	c->api_base = xstrndup(base, n);
	c->user_agent = xstrdup(cfg && cfg->user_agent ? cfg->user_agent :
	    "pinbridge/" PB_VERSION);
	c->connect_timeout_ms = cfg && cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : 10000;
	c->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 60000;
	maxc = cfg && cfg->max_host_connections > 0 ?
	    cfg->max_host_connections : 8;
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxc);
	/* Room in the cache for every connection we may open, so none is dropped. */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, maxc * 2);
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	return c;
}

static void
wipe_headers(struct xfer *x)
{
	for (struct curl_slist *h = x->headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(x->headers);
	x->headers = NULL;
}

static void
xfer_free(struct xfer *x)
{
	if (!x)
		return;
	wipe_headers(x);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	buf_release(&x->body);
	free(x);
}

void
pin_client_free(struct pin_client *c)
{
	struct xfer *x, *next;

	if (!c)
		return;
	for (x = c->all; x; x = next) {
		next = x->all_next;
		if (x->attached)
			curl_multi_remove_handle(c->multi, x->easy);
		xfer_free(x);
	}
	curl_multi_cleanup(c->multi);
	free(c->api_base);
	free(c->user_agent);
	free(c);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (x->body.len + n > PB_MAX_BODY_BYTES) {
		x->body_too_big = true;
		return 0;	/* curl aborts with CURLE_WRITE_ERROR */
	}
	buf_add(&x->body, data, n);
	return n;
}

/* Copies a header value, trimmed, if the line is "name: value". */
static void
grab_header(const char *line, size_t len, const char *name, char *out,
    size_t outsz)
{
	size_t nl = strlen(name), vlen;
	const char *v, *end;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	v = line + nl + 1;
	end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	vlen = (size_t)(end - v);
	if (vlen >= outsz)
		vlen = outsz - 1;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	grab_header(data, n, "retry-after", x->retry_after,
	    sizeof(x->retry_after));
	grab_header(data, n, "x-pinterest-rid", x->request_id,
	    sizeof(x->request_id));
	return n;
}

bool
pin_ad_account_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++)
		if (!isdigit((unsigned char)id[n]))
			return false;
	return n >= 1 && n <= 18;
}

int
pin_client_send(struct pin_client *c, const char *ad_account_id,
    const char *token, bool test, const char *body, size_t len, void *user)
{
	struct xfer *x;
	struct buf url = BUF_INIT, auth = BUF_INIT;
	int rc = 0;

	if (!pin_ad_account_id_valid(ad_account_id) || !token)
		return -EINVAL;
	x = c->free_list;
	if (x) {
		c->free_list = x->next;
		curl_easy_reset(x->easy);
	} else {
		x = xcalloc(1, sizeof(*x));
		buf_init(&x->body, 0);
		x->easy = curl_easy_init();
		if (!x->easy) {
			free(x);
			return -ENOMEM;
		}
		x->all_next = c->all;
		c->all = x;
	}
	x->next = NULL;
	x->user = user;
	x->body_too_big = false;
	x->retry_after[0] = x->request_id[0] = x->errbuf[0] = '\0';
	x->transport = PIN_XFER_OK;
	x->http_status = 0;
	buf_reset(&x->body);
	wipe_headers(x);

	buf_addf(&url, "%s/v5/ad_accounts/%s/events%s", c->api_base,
	    ad_account_id, test ? "?test=true" : "");
	buf_addf(&auth, "Authorization: Bearer %s", token);
	x->headers = curl_slist_append(NULL, auth.data);
	explicit_bzero(auth.data, auth.len);
	buf_release(&auth);
	x->headers = curl_slist_append(x->headers,
	    "Content-Type: application/json");
	/* Wait for no 100-continue round trip on large batches. */
	x->headers = curl_slist_append(x->headers, "Expect:");

	curl_easy_setopt(x->easy, CURLOPT_URL, url.data);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    c->connect_timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TCP_NODELAY, 1L);
	/* Only http(s); a redirect to elsewhere must not carry the token. */
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
	buf_release(&url);

	x->start_us = clock_mono_us();
	if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
		wipe_headers(x);
		x->next = c->free_list;
		c->free_list = x;
		rc = -ENOMEM;
	} else {
		x->attached = true;
		c->in_flight++;
	}
	return rc;
}

static enum pin_transport
classify_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return PIN_XFER_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return PIN_XFER_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return PIN_XFER_CONNECT;
	default:
		return PIN_XFER_ERROR;
	}
}

static void
collect(struct pin_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct xfer *x = NULL;
		long status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		x->transport = classify_curl(msg->data.result);
		if (x->transport == PIN_XFER_OK) {
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE,
			    &status);
			x->http_status = (int)status;
		} else if (!x->errbuf[0]) {
			snprintf(x->errbuf, sizeof(x->errbuf), "%s",
			    x->body_too_big ? "response body too large" :
			    curl_easy_strerror(msg->data.result));
		}
		curl_multi_remove_handle(c->multi, x->easy);
		x->attached = false;
		wipe_headers(x);
		x->next = NULL;
		if (c->done_tail)
			c->done_tail->next = x;
		else
			c->done_head = x;
		c->done_tail = x;
	}
}

int
pin_client_run(struct pin_client *c, int timeout_ms)
{
	int running = 0;
	CURLMcode mc;

	mc = curl_multi_perform(c->multi, &running);
	collect(c);
	if (mc != CURLM_OK)
		return -EIO;
	/* Nothing to wait on if results are already queued for the caller. */
	if (c->done_head || timeout_ms <= 0)
		return 0;
	mc = curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL);
	if (mc != CURLM_OK)
		return -EIO;
	mc = curl_multi_perform(c->multi, &running);
	collect(c);
	return mc == CURLM_OK ? 0 : -EIO;
}

bool
pin_client_next_done(struct pin_client *c, struct pin_result *out)
{
	struct xfer *x = c->done_head;

	if (!x)
		return false;
	c->done_head = x->next;
	if (!c->done_head)
		c->done_tail = NULL;
	c->in_flight--;

	memset(out, 0, sizeof(*out));
	out->user = x->user;
	out->transport = x->transport;
	out->http_status = x->http_status;
	if (x->body.len)
		out->body = buf_detach(&x->body, &out->body_len);
	memcpy(out->retry_after, x->retry_after, sizeof(out->retry_after));
	memcpy(out->request_id, x->request_id, sizeof(out->request_id));
	{
		size_t n = strnlen(x->errbuf, sizeof(out->error) - 1);

		memcpy(out->error, x->errbuf, n);
		out->error[n] = '\0';
	}
	out->elapsed_us = clock_mono_us() - x->start_us;

	x->user = NULL;
	x->next = c->free_list;
	c->free_list = x;
	return true;
}

void
pin_result_release(struct pin_result *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

size_t
pin_client_in_flight(const struct pin_client *c)
{
	return c->in_flight;
}

void
pin_client_wakeup(struct pin_client *c)
{
	curl_multi_wakeup(c->multi);
}

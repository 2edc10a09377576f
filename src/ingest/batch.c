#include "ingest/batch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/hash.h"
#include "monitor/monitor.h"
#include "ingest/epik.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/limits.h"
#include "util/banned.h"

static int
batch_fail(struct batch_error *err, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
batch_fail(struct batch_error *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* The array of events in a body, or the body itself as a single event. */
static const cJSON *
events_of(const cJSON *root, const struct batch_source *src, bool *single,
    struct batch_error *err)
{
	const char *key = src->dropin ? "data" : "events";
	const cJSON *arr;

	*single = false;
	if (!cJSON_IsObject(root)) {
		batch_fail(err, 400, "invalid_body", "the body must be a JSON "
		    "object: %s", src->dropin ? "{\"data\":[...]}" :
		    "one event, or {\"events\":[...]}");
		return NULL;
	}
	arr = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!arr && !src->dropin) {
		*single = true;
		return root;
	}
	if (!cJSON_IsArray(arr)) {
		batch_fail(err, 400, "invalid_body", "\"%s\" must be an array of "
		    "events", key);
		return NULL;
	}
	if (src->dropin && cJSON_GetArraySize(root) != 1) {
		/* Pinterest rejects unknown top-level keys; so do we. */
		batch_fail(err, 400, "invalid_body", "the body may only contain "
		    "\"data\"");
		return NULL;
	}
	return arr;
}

static void
apply_source(struct arena *a, const struct batch_source *src,
    struct event *ev, struct batch *b)
{
	const char *url_epik = epik_from_url(a, ev->event_source_url);

	ev->leg = src->leg;
	if (src->leg == LEG_BROWSER) {
		/* The browser cannot be trusted to say who it is; the socket can. */
		if (src->client_ip)
			ev->client_ip_address = src->client_ip;
		if (src->user_agent && *src->user_agent)
			ev->client_user_agent = src->user_agent;
		if (!ev->click_id && src->click_id)
			ev->click_id = src->click_id;
		/* A new click landed: the answer refreshes the cookie. */
		if (url_epik && !b->epik && (!src->click_id ||
		    strcmp(url_epik, src->click_id))) {
			b->epik = url_epik;
			b->epik_secure = !strncmp(ev->event_source_url, "https:", 6);
		}
	}
	if (!ev->click_id && url_epik)
		ev->click_id = url_epik;
}

static void
decode_one(struct arena *a, struct event_ctx *ctx,
    const struct batch_source *src, const cJSON *obj, struct batch *b,
    struct buf *payload)
{
	struct batch_result *r = &b->results[b->n];
	struct event_diag diag;
	struct event ev;
	struct store_record *rec;

	event_diag_reset(&diag);
	memset(r, 0, sizeof(*r));
	if (event_decode(ctx, obj, &ev, &diag) == 0) {
		apply_source(a, src, &ev, b);
		event_finish(ctx, &ev, &diag);
	}
	r->n_warnings = diag.n_warnings;
	if (diag.n_warnings)
		r->warning = arena_strdup(a, diag.warnings[0].message);
	if (diag.error.code) {
		r->error = diag.error;
		return;
	}
	buf_reset(payload);
	event_encode(&ev, payload);
	rec = &b->recs[b->n_recs];
	memset(rec, 0, sizeof(*rec));
	rec->account = src->account;
	rec->event_id = ev.event_id;
	rec->event_name = ev.event_name;
	rec->event_time = ev.event_time;
	rec->received_at_ms = src->now_ms;
	rec->not_before_ms = src->not_before_ms;
	rec->legs = src->leg;
	rec->order_id = ev.custom.order_id;
	rec->payload = arena_strndup(a, payload->data, payload->len);
	rec->payload_len = payload->len;
	r->accepted = true;
	r->event_id = ev.event_id;
	r->value = ev.custom.value ? strtod(ev.custom.value, NULL) : 0;
	r->fields = monitor_fields_of(&ev);
	r->record = b->n_recs++;
}

int
batch_decode(struct arena *a, struct hasher *h,
    const struct batch_source *src, const char *body, size_t len,
    struct batch *b, struct batch_error *err)
{
	struct event_ctx ctx = {
		.arena = a,
		.hasher = h,
		.now_s = src->now_ms / 1000,
		.max_age_s = src->max_age_s,
		.partner_name = src->partner_name,
	};
	struct buf payload = BUF_INIT;
	const cJSON *events, *item;
	cJSON *root;
	size_t off = 0, n;
	bool single;

	memset(b, 0, sizeof(*b));
	switch (json_precheck(body, len)) {
	case JSON_TOO_DEEP:
		return batch_fail(err, 400, "too_deep", "JSON nested deeper than "
		    "%d levels", PB_MAX_JSON_DEPTH);
	case JSON_STRING_TOO_LONG:
		return batch_fail(err, 400, "string_too_long", "a JSON string is "
		    "longer than %d bytes", PB_MAX_STRING_BYTES);
	case JSON_OK:
		break;
	}
	json_use_arena(a);
	root = json_parse(body, len, &off);
	if (!root) {
		json_use_arena(NULL);
		return batch_fail(err, 400, "invalid_json", "the body is not "
		    "valid JSON (error at byte %zu)", off + 1);
	}
	events = events_of(root, src, &single, err);
	if (!events) {
		json_use_arena(NULL);
		return -1;
	}
	n = single ? 1 : (size_t)cJSON_GetArraySize(events);
	if (n == 0 || n > PB_MAX_EVENTS_PER_REQUEST) {
		json_use_arena(NULL);
		return batch_fail(err, n ? 413 : 400, n ? "too_many_events" :
		    "no_events", "a request carries 1 to %d events; this one "
		    "has %zu", PB_MAX_EVENTS_PER_REQUEST, n);
	}
	b->results = arena_alloc(a, n * sizeof(*b->results));
	b->recs = arena_alloc(a, n * sizeof(*b->recs));
	if (single) {
		decode_one(a, &ctx, src, events, b, &payload);
		b->n = 1;
	} else {
		cJSON_ArrayForEach(item, events) {
			decode_one(a, &ctx, src, item, b, &payload);
			b->n++;
		}
	}
	json_use_arena(NULL);
	buf_release(&payload);
	return 0;
}

static void
render_native(const struct batch *b, int commit_status, struct buf *out,
    int *http_status)
{
	size_t accepted = 0;

	for (size_t i = 0; i < b->n; i++)
		accepted += b->results[i].accepted;
	if (commit_status < 0 && accepted) {
		buf_addf(out, "{\"error\":{\"code\":\"store_unavailable\","
		    "\"message\":\"the events could not be stored durably (%s); "
		    "nothing was accepted, retry later\"}}",
		    store_strerror(commit_status));
		*http_status = 503;
		return;
	}
	*http_status = accepted ? 202 : 400;
	buf_addf(out, "{\"accepted\":%zu,\"rejected\":%zu,\"events\":[",
	    accepted, b->n - accepted);
	for (size_t i = 0; i < b->n; i++) {
		const struct batch_result *r = &b->results[i];

		buf_addf(out, "%s{\"index\":%zu,\"status\":", i ? "," : "", i);
		if (r->accepted) {
			const struct store_record *rec = &b->recs[r->record];

			buf_adds(out, "\"accepted\",\"event_id\":");
			buf_add_json_cstr(out, r->event_id);
			if (rec->outcome == STORE_MERGED)
				buf_adds(out, ",\"merged\":true");
			else if (rec->outcome == STORE_DUPLICATE)
				buf_adds(out, ",\"duplicate\":true");
		} else {
			size_t start;

			buf_adds(out, "\"rejected\",");
			/* Same object `convert` prints, without its outer braces. */
			start = out->len;
			event_encode_error(&r->error, out);
			memmove(out->data + start, out->data + start + 1,
			    out->len - start - 2);
			buf_truncate(out, out->len - 2);
		}
		if (r->warning) {
			buf_adds(out, ",\"warning\":");
			buf_add_json_cstr(out, r->warning);
		}
		buf_addch(out, '}');
	}
	buf_adds(out, "]}");
}

static void
render_dropin(const struct batch *b, int commit_status, struct buf *out,
    int *http_status)
{
	size_t processed = 0;
	struct buf events = BUF_INIT;

	for (size_t i = 0; i < b->n; i++)
		processed += b->results[i].accepted;
	if (commit_status < 0 && processed) {
		buf_addf(out, "{\"code\":4197,\"message\":\"pinbridge could not "
		    "store the events durably (%s); retry later\"}",
		    store_strerror(commit_status));
		*http_status = 503;
		return;
	}
	buf_addf(&events, "{\"num_events_received\":%zu,"
	    "\"num_events_processed\":%zu,\"events\":[", b->n, processed);
	for (size_t i = 0; i < b->n; i++) {
		const struct batch_result *r = &b->results[i];

		buf_adds(&events, i ? ",{\"status\":" : "{\"status\":");
		buf_adds(&events, r->accepted ? "\"processed\"" : "\"failed\"");
		buf_adds(&events, ",\"error_message\":");
		buf_add_json_cstr(&events, r->accepted ? "" : r->error.message);
		buf_adds(&events, ",\"warning_message\":");
		buf_add_json_cstr(&events, r->warning ? r->warning : "");
		buf_addch(&events, '}');
	}
	buf_adds(&events, "]}");
	if (processed == b->n) {
		*http_status = 200;
		buf_add(out, events.data, events.len);
	} else {
		/* Pinterest's DetailedError for partial or total failure. */
		*http_status = 422;
		buf_adds(out, "{\"code\":953,\"message\":\"Not all events were "
		    "successfully processed.\",\"details\":");
		buf_add(out, events.data, events.len);
		buf_addch(out, '}');
	}
	buf_release(&events);
}

void
batch_render(const struct batch *b, bool dropin, int commit_status,
    struct buf *out, int *http_status)
{
	if (dropin)
		render_dropin(b, commit_status, out, http_status);
	else
		render_native(b, commit_status, out, http_status);
}

void
batch_render_error(const struct batch_error *err, struct buf *out)
{
	buf_adds(out, "{\"error\":{\"code\":");
	buf_add_json_cstr(out, err->code);
	buf_adds(out, ",\"message\":");
	buf_add_json_cstr(out, err->message);
	buf_adds(out, "}}");
}

/*
 * response.c: reads Pinterest's answer to a batch into per-event results.
 * The body is hostile input like any other: it is prechecked for size and
 * nesting before cJSON sees it, and every field is type-checked.
 */
#include "deliver/response.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/json.h"
#include "util/limits.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* NULL for "", null, absent or a non-string; else a bounded copy. */
static char *
dup_message(const cJSON *obj, const char *key)
{
	const char *s = json_get_str(obj, key);
	size_t n;

	if (!s || !*s)
		return NULL;
	n = strlen(s);
	if (n > PIN_MAX_MESSAGE_BYTES)
		n = PIN_MAX_MESSAGE_BYTES;
	return xstrndup(s, n);
}

static int64_t
get_int(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	/* NaN fails both comparisons and lands here too. */
	if (!(d >= 0 && d <= 9007199254740992.0))
		return -1;
	return (int64_t)d;
}

static enum pin_event_status
status_word(const cJSON *ev)
{
	const char *s = json_get_str(ev, "status");

	if (!s)
		return PIN_EVENT_UNKNOWN;
	if (strcmp(s, "processed") == 0)
		return PIN_EVENT_PROCESSED;
	if (strcmp(s, "failed") == 0)
		return PIN_EVENT_FAILED;
	return PIN_EVENT_UNKNOWN;
}

/* Reads the ConversionApiResponse shape (top level of a 200, details of a 422). */
static int
read_results(struct pin_response *r, const cJSON *obj)
{
	const cJSON *events, *ev;
	size_t n, i = 0;

	if (!cJSON_IsObject(obj))
		return -1;
	r->num_received = get_int(obj, "num_events_received");
	r->num_processed = get_int(obj, "num_events_processed");
	events = cJSON_GetObjectItemCaseSensitive(obj, "events");
	if (!cJSON_IsArray(events))
		return -1;
	n = (size_t)cJSON_GetArraySize(events);
	if (n > PB_MAX_EVENTS_PER_REQUEST)
		return -1;
	r->events = n ? xcalloc(n, sizeof(*r->events)) : NULL;
	r->n_events = n;
	cJSON_ArrayForEach(ev, events) {
		struct pin_event_result *e = &r->events[i++];

		if (!cJSON_IsObject(ev))
			continue;	/* stays PIN_EVENT_UNKNOWN */
		e->status = status_word(ev);
		e->error_message = dup_message(ev, "error_message");
		e->warning_message = dup_message(ev, "warning_message");
	}
	return 0;
}

int
pin_response_parse(struct pin_response *r, int status,
    const char *body, size_t len)
{
	cJSON *root = NULL;
	int rc = -1;

	*r = (struct pin_response)PIN_RESPONSE_INIT;
	r->http_status = status;
	if (!body || len == 0 || len > PB_MAX_BODY_BYTES)
		goto out;
	if (json_precheck(body, len) != JSON_OK)
		goto out;
	root = json_parse(body, len, NULL);
	if (!cJSON_IsObject(root))
		goto out;

	r->code = get_int(root, "code");
	r->message = dup_message(root, "message");
	if (status == 200) {
		rc = read_results(r, root);
	} else if (status == 422) {
		rc = read_results(r,
		    cJSON_GetObjectItemCaseSensitive(root, "details"));
	} else {
		rc = r->code >= 0 || r->message ? 0 : -1;
	}
	if (rc != 0) {
		/* A half-read result list must not be mistaken for a verdict. */
		for (size_t i = 0; i < r->n_events; i++) {
			free(r->events[i].error_message);
			free(r->events[i].warning_message);
		}
		free(r->events);
		r->events = NULL;
		r->n_events = 0;
	}
out:
	cJSON_Delete(root);
	r->parsed = rc == 0;
	return rc;
}

void
pin_response_release(struct pin_response *r)
{
	for (size_t i = 0; i < r->n_events; i++) {
		free(r->events[i].error_message);
		free(r->events[i].warning_message);
	}
	free(r->events);
	free(r->message);
	*r = (struct pin_response)PIN_RESPONSE_INIT;
}

void
pin_response_all_processed(struct pin_response *r, size_t n)
{
	*r = (struct pin_response)PIN_RESPONSE_INIT;
	r->http_status = 200;
	r->parsed = true;
	r->num_received = (int64_t)n;
	r->num_processed = (int64_t)n;
	r->n_events = n;
	r->events = n ? xcalloc(n, sizeof(*r->events)) : NULL;
	for (size_t i = 0; i < n; i++)
		r->events[i].status = PIN_EVENT_PROCESSED;
}

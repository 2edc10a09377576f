/*
 * event.c: the rules applied after decoding: defaults, the shared event_id,
 * Pinterest's time window and identity requirement.
 */
#include "event/event.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util/arena.h"
#include "util/banned.h"

void
event_diag_reset(struct event_diag *d)
{
	d->error.code = NULL;
	d->error.field = NULL;
	d->error.message[0] = '\0';
	d->n_warnings = 0;
	d->count_only = false;
}

void
event_warn(struct event_diag *d, const char *field, const char *fmt, ...)
{
	struct event_warning *w;
	va_list ap;

	if (d->n_warnings++ >= PB_MAX_WARNINGS)
		return;
	w = &d->warnings[d->n_warnings - 1];
	w->field = field;
	if (d->count_only) {
		w->message[0] = '\0';
		return;
	}
	va_start(ap, fmt);
	vsnprintf(w->message, sizeof(w->message), fmt, ap);
	va_end(ap);
}

int
event_fail(struct event_diag *d, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	d->error.code = code;
	d->error.field = field;
	va_start(ap, fmt);
	vsnprintf(d->error.message, sizeof(d->error.message), fmt, ap);
	va_end(ap);
	return -1;
}

const char *
event_id_for_order(struct arena *a, const char *event_name,
    const char *order_id)
{
	size_t nl = strlen(event_name), ol = strlen(order_id);
	char *id = arena_alloc(a, nl + ol + 2);

	memcpy(id, event_name, nl);
	id[nl] = ':';
	memcpy(id + nl + 1, order_id, ol + 1);
	return id;
}

static const char *
uuid_v4(struct arena *a)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	char *s = arena_alloc(a, 37);
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n > 0)
			got += (size_t)n;
	}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);	/* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (int i = 0, j = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[j++] = '-';
		s[j++] = hex[r[i] >> 4];
		s[j++] = hex[r[i] & 15];
	}
	s[36] = '\0';
	return s;
}

static int
check_identity(struct event *ev, struct event_diag *diag)
{
	bool ip = ev->client_ip_address != NULL;
	bool ua = ev->client_user_agent != NULL;

	if (ev->user[UF_EM].n || ev->user[UF_HASHED_MAIDS].n || (ip && ua))
		return 0;
	return event_fail(diag, "missing_identity", ip ? "client_user_agent" :
	    ua ? "client_ip_address" : "em",
	    "Pinterest needs an email (em), a mobile ad id (hashed_maids), or "
	    "both client_ip_address and client_user_agent; this event has %s",
	    ip ? "an IP address but no user agent" :
	    ua ? "a user agent but no IP address" : "none of them");
}

int
event_finish(struct event_ctx *ctx, struct event *ev, struct event_diag *diag)
{
	int64_t max_age = ctx->max_age_s > 0 ? ctx->max_age_s :
	    PB_DEFAULT_MAX_AGE_S;

	if (!ev->event_name)
		return event_fail(diag, "missing_event_name", "event_name",
		    "event_name is required");
	if (!ev->action_source)
		ev->action_source = "web";
	if (!ev->partner_name && ctx->partner_name && *ctx->partner_name)
		ev->partner_name = ctx->partner_name;
	if (ev->event_time == 0)
		ev->event_time = ctx->now_s;
	if (ev->event_time > ctx->now_s + PB_MAX_FUTURE_SKEW_S)
		return event_fail(diag, "event_time_in_future", "event_time",
		    "event_time is %lld s in the future; at most %d s of clock "
		    "skew is accepted", (long long)(ev->event_time - ctx->now_s),
		    PB_MAX_FUTURE_SKEW_S);
	if (ev->event_time < ctx->now_s - max_age)
		return event_fail(diag, "event_too_old", "event_time",
		    "event_time is %lld days old; the limit is %lld days",
		    (long long)((ctx->now_s - ev->event_time) / 86400),
		    (long long)(max_age / 86400));
	if (!ev->event_id && ev->custom.order_id) {
		ev->event_id = event_id_for_order(ctx->arena, ev->event_name,
		    ev->custom.order_id);
		ev->id_origin = EVID_ORDER;
	} else if (!ev->event_id) {
		ev->event_id = uuid_v4(ctx->arena);
		ev->id_origin = EVID_RANDOM;
		event_warn(diag, "event_id", "no event_id or order_id: minted a "
		    "random event_id, which cannot deduplicate with the tag");
	}
	return check_identity(ev, diag);
}

int
event_from_json(struct event_ctx *ctx, const cJSON *obj, struct event *ev,
    struct event_diag *diag)
{
	if (event_decode(ctx, obj, ev, diag) < 0)
		return -1;
	return event_finish(ctx, ev, diag);
}

/*
 * merge.c: one event out of the browser and server legs (merge.h).
 *
 * Runs inside the store's write transaction, so it parses both payloads
 * into a private arena and writes the result straight into the output
 * buffer, in event_encode()'s key order, with the same string escaping.
 */
#include "event/merge.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "event/event.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/limits.h"
#include "util/banned.h"

#define MERGE_ARENA_CHUNK	(16 * 1024)

/* Top-level keys before user_data, in event_encode()'s order. */
static const char *const head_keys[] = {
	"event_name", "action_source", "event_time", "event_id",
	"event_source_url", "partner_name", "opt_out", "language",
};

/* user_data scalars after the hashed arrays, in event_encode()'s order. */
static const char *const user_scalars[] = {
	"client_ip_address", "client_user_agent", "click_id", "partner_id",
};

struct out {
	struct buf *b;
	bool first;
};

static void emit_value(struct buf *b, const cJSON *v);

static void
emit_key(struct out *o, const char *k)
{
	if (!o->first)
		buf_addch(o->b, ',');
	o->first = false;
	buf_add_json_cstr(o->b, k);
	buf_addch(o->b, ':');
}

static void
emit_number(struct buf *b, double d)
{
	/* Integers (event_time, num_items, quantity) print without a dot. */
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		buf_add_i64(b, (int64_t)d);
	else if (isfinite(d))
		buf_addf(b, "%.17g", d);
	else
		buf_adds(b, "null");
}

static void
emit_value(struct buf *b, const cJSON *v)
{
	const cJSON *c;
	bool first = true;

	if (cJSON_IsString(v)) {
		buf_add_json_cstr(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		emit_number(b, v->valuedouble);
	} else if (cJSON_IsTrue(v)) {
		buf_adds(b, "true");
	} else if (cJSON_IsFalse(v)) {
		buf_adds(b, "false");
	} else if (cJSON_IsArray(v)) {
		buf_addch(b, '[');
		cJSON_ArrayForEach(c, v) {
			if (!first)
				buf_addch(b, ',');
			first = false;
			emit_value(b, c);
		}
		buf_addch(b, ']');
	} else if (cJSON_IsObject(v)) {
		buf_addch(b, '{');
		cJSON_ArrayForEach(c, v) {
			if (!first)
				buf_addch(b, ',');
			first = false;
			buf_add_json_cstr(b, c->string);
			buf_addch(b, ':');
			emit_value(b, c);
		}
		buf_addch(b, '}');
	} else {
		buf_adds(b, "null");
	}
}

static const cJSON *
get(const cJSON *obj, const char *k)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, k) : NULL;

	return cJSON_IsNull(v) ? NULL : v;
}

/* The winner's value, else the other leg's. */
static void
emit_pick(struct out *o, const cJSON *win, const cJSON *lose, const char *k)
{
	const cJSON *v = get(win, k);

	if (!v)
		v = get(lose, k);
	if (!v)
		return;
	emit_key(o, k);
	emit_value(o->b, v);
}

static bool
in_list(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(k, list[i]))
			return true;
	return false;
}

/*
 * Keys neither list knows (a newer encoder's field): kept rather than
 * dropped, winner first, after the known ones.
 */
static void
emit_extras(struct out *o, const cJSON *win, const cJSON *lose,
    bool (*known)(const char *))
{
	const cJSON *c;

	cJSON_ArrayForEach(c, win)
		if (c->string && !known(c->string) && !cJSON_IsNull(c)) {
			emit_key(o, c->string);
			emit_value(o->b, c);
		}
	cJSON_ArrayForEach(c, lose)
		if (c->string && !known(c->string) && !cJSON_IsNull(c) &&
		    !get(win, c->string)) {
			emit_key(o, c->string);
			emit_value(o->b, c);
		}
}

static bool
user_key_known(const char *k)
{
	for (int f = 0; f < UF_COUNT; f++)
		if (!strcmp(k, user_field_key((enum user_field)f)))
			return true;
	return in_list(k, user_scalars, sizeof(user_scalars) /
	    sizeof(user_scalars[0]));
}

static bool
top_key_known(const char *k)
{
	return in_list(k, head_keys, sizeof(head_keys) / sizeof(head_keys[0])) ||
	    !strcmp(k, "user_data") || !strcmp(k, "custom_data");
}

/* Adds v's strings to the set unless present, up to Pinterest's cap. */
static void
union_add(const cJSON *v, const char **set, size_t *n)
{
	const cJSON *c;

	if (!cJSON_IsArray(v))
		return;
	cJSON_ArrayForEach(c, v) {
		bool dup = false;

		if (!cJSON_IsString(c) || *n >= PB_MAX_FIELD_VALUES)
			continue;
		for (size_t i = 0; i < *n && !dup; i++)
			dup = !strcmp(set[i], c->valuestring);
		if (!dup)
			set[(*n)++] = c->valuestring;
	}
}

static void
emit_user(struct buf *b, const cJSON *win, const cJSON *lose)
{
	struct out o = { b, true };

	buf_addch(b, '{');
	for (int f = 0; f < UF_COUNT; f++) {
		const char *k = user_field_key((enum user_field)f);
		const char *set[PB_MAX_FIELD_VALUES];
		size_t n = 0;

		union_add(get(win, k), set, &n);
		union_add(get(lose, k), set, &n);
		if (!n)
			continue;
		emit_key(&o, k);
		buf_addch(b, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_addch(b, ',');
			buf_add_json_cstr(b, set[i]);
		}
		buf_addch(b, ']');
	}
	for (size_t i = 0; i < sizeof(user_scalars) / sizeof(user_scalars[0]);
	    i++)
		emit_pick(&o, win, lose, user_scalars[i]);
	emit_extras(&o, win, lose, user_key_known);
	buf_addch(b, '}');
}

static void
emit_merged(struct buf *b, const cJSON *stored, const cJSON *win,
    const cJSON *lose)
{
	struct out o = { b, true };
	const cJSON *custom;

	buf_addch(b, '{');
	for (size_t i = 0; i < sizeof(head_keys) / sizeof(head_keys[0]); i++) {
		if (!strcmp(head_keys[i], "event_id"))
			/* The row's key: never let a leg rename it. */
			emit_pick(&o, stored, NULL, "event_id");
		else
			emit_pick(&o, win, lose, head_keys[i]);
	}
	emit_key(&o, "user_data");
	emit_user(b, get(win, "user_data"), get(lose, "user_data"));
	custom = get(win, "custom_data");
	if (!custom)
		custom = get(lose, "custom_data");
	if (custom) {
		emit_key(&o, "custom_data");
		emit_value(b, custom);
	}
	emit_extras(&o, win, lose, top_key_known);
	buf_addch(b, '}');
}

int
event_merge_legs(void *arg, const char *stored, size_t stored_len,
    const char *incoming, size_t incoming_len, unsigned legs,
    unsigned incoming_legs, struct buf *out)
{
	struct arena a;
	cJSON *s, *in;
	int rc = -1;

	(void)arg;
	(void)legs;
	arena_init(&a, MERGE_ARENA_CHUNK);
	json_use_arena(&a);
	s = json_parse(stored, stored_len, NULL);
	in = json_parse(incoming, incoming_len, NULL);
	if (cJSON_IsObject(s) && cJSON_IsObject(in)) {
		bool server_in = (incoming_legs & LEG_SERVER) != 0;

		emit_merged(out, s, server_in ? in : s, server_in ? s : in);
		rc = 1;
	}
	json_use_arena(NULL);
	arena_release(&a);
	return rc;
}

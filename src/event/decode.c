/*
 * decode.c: one JSON event object in, one struct event out.
 *
 * The three input dialects share one key table. A native event is flat
 * (email, phone, value, ...); a tag-style event is flat with the tag's
 * keys (em, line_items, order_quantity, search_query); a Pinterest-shaped
 * event nests user_data and custom_data. Every key is looked up in the
 * table together with the scope it appeared in, so "em" is accepted at the
 * top level and in user_data, "value" at the top level and in custom_data.
 *
 * User data is normalized and hashed the moment it is read; the raw value
 * is never copied anywhere. Warnings name the field, never its value.
 */
#include "event/event.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/hash.h"
#include "event/names.h"
#include "event/normalize.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

enum scope {
	S_TOP = 1,
	S_USER = 2,
	S_CUSTOM = 4,
};

enum key_kind {
	K_EVENT_NAME,
	K_EVENT_TIME,
	K_EVENT_ID,
	K_ACTION_SOURCE,
	K_SOURCE_URL,
	K_PARTNER_NAME,
	K_OPT_OUT,
	K_LANGUAGE,
	K_USER,			/* hashed field; `field` says which */
	K_IP,
	K_USER_AGENT,
	K_CLICK_ID,
	K_PARTNER_ID,
	K_CURRENCY,
	K_VALUE,
	K_ORDER_ID,
	K_CONTENT_IDS,
	K_CONTENTS,
	K_LINE_ITEMS,
	K_NUM_ITEMS,
	K_SEARCH,
	K_CONTENT_NAME,
	K_CONTENT_CATEGORY,
	K_CONTENT_BRAND,
	K_OPT_OUT_TYPE,
	K_PREDICTED_LTV,
	K_USER_DATA,
	K_CUSTOM_DATA,
	K_LEG,
	K_RECEIVED_AT,
	K_IGNORE,		/* known, deliberately dropped, no warning */
	K_UNSUPPORTED,		/* Pinterest field pinbridge does not relay */
};

struct key_entry {
	const char *key;
	enum key_kind kind;
	int scopes;
	enum user_field field;
};

#define TOP		S_TOP
#define TU		(S_TOP | S_USER)
#define TC		(S_TOP | S_CUSTOM)
#define ANY		(S_TOP | S_USER | S_CUSTOM)

/* Indexed by key_index below; kept sorted for the reader. */
static const struct key_entry keys[] = {
	{ "action_source", K_ACTION_SOURCE, TOP, 0 },
	{ "advertiser_tracking_enabled", K_UNSUPPORTED, TOP, 0 },
	{ "app_id", K_UNSUPPORTED, TOP, 0 },
	{ "app_info", K_UNSUPPORTED, TOP, 0 },
	{ "app_name", K_UNSUPPORTED, TOP, 0 },
	{ "app_version", K_UNSUPPORTED, TOP, 0 },
	{ "city", K_USER, TU, UF_CT },
	{ "click_id", K_CLICK_ID, TU, 0 },
	{ "client_ip_address", K_IP, TU, 0 },
	{ "client_user_agent", K_USER_AGENT, TU, 0 },
	{ "content_brand", K_CONTENT_BRAND, TC, 0 },
	{ "content_category", K_CONTENT_CATEGORY, TC, 0 },
	{ "content_ids", K_CONTENT_IDS, TC, 0 },
	{ "content_name", K_CONTENT_NAME, TC, 0 },
	{ "contents", K_CONTENTS, TC, 0 },
	{ "country", K_USER, TU, UF_COUNTRY },
	{ "ct", K_USER, TU, UF_CT },
	{ "currency", K_CURRENCY, TC, 0 },
	{ "custom_data", K_CUSTOM_DATA, TOP, 0 },
	{ "date_of_birth", K_USER, TU, UF_DB },
	{ "db", K_USER, TU, UF_DB },
	{ "device_brand", K_UNSUPPORTED, TOP, 0 },
	{ "device_carrier", K_UNSUPPORTED, TOP, 0 },
	{ "device_info", K_UNSUPPORTED, TOP, 0 },
	{ "device_model", K_UNSUPPORTED, TOP, 0 },
	{ "device_type", K_UNSUPPORTED, TOP, 0 },
	{ "em", K_USER, TU, UF_EM },
	{ "email", K_USER, TU, UF_EM },
	{ "epik", K_CLICK_ID, TU, 0 },
	{ "event", K_EVENT_NAME, TOP, 0 },
	{ "event_id", K_EVENT_ID, TOP, 0 },
	{ "event_name", K_EVENT_NAME, TOP, 0 },
	{ "event_source_url", K_SOURCE_URL, TOP, 0 },
	{ "event_time", K_EVENT_TIME, TOP, 0 },
	{ "external_id", K_USER, TU, UF_EXTERNAL_ID },
	{ "first_name", K_USER, TU, UF_FN },
	{ "fn", K_USER, TU, UF_FN },
	{ "ge", K_USER, TU, UF_GE },
	{ "gender", K_USER, TU, UF_GE },
	{ "hashed_maids", K_USER, TU, UF_HASHED_MAIDS },
	{ "language", K_LANGUAGE, TOP, 0 },
	{ "last_name", K_USER, TU, UF_LN },
	{ "leg", K_LEG, TOP, 0 },
	{ "line_items", K_LINE_ITEMS, TC, 0 },
	{ "ln", K_USER, TU, UF_LN },
	{ "np", K_IGNORE, TC, 0 },
	{ "num_items", K_NUM_ITEMS, TC, 0 },
	{ "opt_out", K_OPT_OUT, TOP, 0 },
	{ "opt_out_type", K_OPT_OUT_TYPE, ANY, 0 },
	{ "order_id", K_ORDER_ID, TC, 0 },
	{ "order_quantity", K_NUM_ITEMS, TC, 0 },
	{ "os_version", K_UNSUPPORTED, TOP, 0 },
	{ "partner_id", K_PARTNER_ID, TU, 0 },
	{ "partner_name", K_PARTNER_NAME, TOP, 0 },
	{ "ph", K_USER, TU, UF_PH },
	{ "phone", K_USER, TU, UF_PH },
	{ "postal_code", K_USER, TU, UF_ZP },
	{ "predicted_ltv", K_PREDICTED_LTV, TC, 0 },
	{ "received_at", K_RECEIVED_AT, TOP, 0 },
	{ "search_query", K_SEARCH, TC, 0 },
	{ "search_string", K_SEARCH, TC, 0 },
	{ "source", K_LEG, TOP, 0 },
	{ "st", K_USER, TU, UF_ST },
	{ "state", K_USER, TU, UF_ST },
	{ "user_data", K_USER_DATA, TOP, 0 },
	{ "value", K_VALUE, TC, 0 },
	{ "wifi", K_UNSUPPORTED, TOP, 0 },
	{ "zip", K_USER, TU, UF_ZP },
	{ "zp", K_USER, TU, UF_ZP },
};

/* Pinterest's key for each hashed field, and the rule that normalizes it. */
static const struct {
	const char *key;
	norm_fn normalize;	/* NULL: zip, which needs the country */
} user_fields[UF_COUNT] = {
	[UF_EM] = { "em", norm_email },
	[UF_PH] = { "ph", norm_phone },
	[UF_FN] = { "fn", norm_name },
	[UF_LN] = { "ln", norm_name },
	[UF_GE] = { "ge", norm_gender },
	[UF_DB] = { "db", norm_dob },
	[UF_CT] = { "ct", norm_city },
	[UF_ST] = { "st", norm_state },
	[UF_ZP] = { "zp", NULL },
	[UF_COUNTRY] = { "country", norm_country },
	[UF_EXTERNAL_ID] = { "external_id", norm_external_id },
	[UF_HASHED_MAIDS] = { "hashed_maids", norm_maid },
};

const char *
user_field_key(enum user_field f)
{
	return f < UF_COUNT ? user_fields[f].key : NULL;
}

/* Decoding state for one event. */
struct decoder {
	struct event_ctx *ctx;
	struct event *ev;
	struct event_diag *diag;
	const cJSON *zips[PB_MAX_FIELD_VALUES];	/* wait for the country */
	size_t n_zips;
	const char *country;			/* first normalized country */
	char country_buf[3];
	/*
	 * The tree was parsed into ctx->arena, so its strings live as long
	 * as the event: an untrimmed string can be used in place.
	 */
	bool borrow;
};

/* contents[] item keys (Pinterest) and their line_items[] twins (the tag). */
enum item_key {
	IK_ID,
	IK_PRICE,
	IK_QUANTITY,
	IK_NAME,
	IK_CATEGORY,
	IK_BRAND,
};

static const struct {
	const char *key;
	enum item_key which;
	bool tag;
} item_keys[] = {
	{ "id", IK_ID, false },
	{ "item_price", IK_PRICE, false },
	{ "quantity", IK_QUANTITY, false },
	{ "item_name", IK_NAME, false },
	{ "item_category", IK_CATEGORY, false },
	{ "item_brand", IK_BRAND, false },
	{ "product_id", IK_ID, true },
	{ "product_price", IK_PRICE, true },
	{ "product_quantity", IK_QUANTITY, true },
	{ "product_name", IK_NAME, true },
	{ "product_category", IK_CATEGORY, true },
	{ "product_brand", IK_BRAND, true },
};

/* Every key of every event goes through these; see json_keys. */
static struct json_keys key_index, item_index;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void
build_indexes(void)
{
	json_keys_init(&key_index);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_keys_add(&key_index, keys[i].key, (int)i) < 0)
			abort();	/* a duplicate in the table above */
	json_keys_init(&item_index);
	for (size_t i = 0; i < sizeof(item_keys) / sizeof(item_keys[0]); i++)
		if (json_keys_add(&item_index, item_keys[i].key, (int)i) < 0)
			abort();
}

static const struct key_entry *
key_lookup(const char *key)
{
	int i = json_keys_find(&key_index, key);

	return i < 0 ? NULL : &keys[i];
}

/*
 * The text of a scalar: strings as they are, integral numbers without a
 * fraction (a zip or phone sent as a number). Returns NULL for other types.
 */
static const char *
scalar_text(const cJSON *v, char *tmp, size_t cap, size_t *len)
{
	if (json_is(v, cJSON_String)) {
		*len = strlen(v->valuestring);
		return v->valuestring;
	}
	if (json_is(v, cJSON_Number) && isfinite(v->valuedouble) &&
	    fabs(v->valuedouble) < 1e18 &&
	    v->valuedouble == floor(v->valuedouble) && cap > FMT_I64_MAX) {
		/* As "%.0f" prints it, "-0" included. */
		size_t n = 0;

		if (v->valuedouble == 0 && signbit(v->valuedouble))
			tmp[n++] = '-';
		n += fmt_i64(tmp + n, (int64_t)v->valuedouble);
		tmp[n] = '\0';
		*len = n;
		return tmp;
	}
	return NULL;
}

/* A trimmed, non-empty string copied into the arena; NULL if absent. */
static const char *
read_string(struct decoder *d, const cJSON *v, const char *field)
{
	char tmp[32];
	size_t len;
	const char *s;

	if (json_is(v, cJSON_NULL))
		return NULL;
	s = scalar_text(v, tmp, sizeof(tmp), &len);
	if (!s) {
		event_warn(d->diag, field, "%s must be a string; dropped", field);
		return NULL;
	}
	s = norm_trim(s, len, &len);
	if (!len)
		return NULL;
	if (d->borrow && s == v->valuestring && s[len] == '\0')
		return s;
	return arena_strndup(d->ctx->arena, s, len);
}

static void
hash_list_add(struct decoder *d, enum user_field f, const char hex[65])
{
	struct hash_list *l = &d->ev->user[f];
	sha256_hex *v;

	for (size_t i = 0; i < l->n; i++)
		if (!memcmp(l->v[i], hex, 64))
			return;
	if (l->n >= PB_MAX_FIELD_VALUES) {
		event_warn(d->diag, user_fields[f].key,
		    "more than %d values for %s; extra values dropped",
		    PB_MAX_FIELD_VALUES, user_fields[f].key);
		return;
	}
	/*
	 * The capacity is implicit: grow by doubling whenever n reaches a
	 * power of two (arena memory is never freed, so the old array stays).
	 */
	if ((l->n & (l->n - 1)) == 0) {
		v = arena_alloc(d->ctx->arena, (l->n ? 2 * l->n : 1) * sizeof(*v));
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
	}
	memcpy(l->v[l->n], hex, 65);
	l->n++;
}

static void
add_user_value(struct decoder *d, enum user_field f, const cJSON *v)
{
	const char *key = user_fields[f].key, *why = NULL, *s;
	char tmp[32], norm[NORM_OUT_MAX], hex[65];
	size_t len;
	int n;

	if (json_is(v, cJSON_NULL))
		return;
	s = scalar_text(v, tmp, sizeof(tmp), &len);
	if (!s) {
		event_warn(d->diag, key, "%s values must be strings; one dropped",
		    key);
		return;
	}
	s = norm_trim(s, len, &len);
	if (len == 0)
		return;
	if (is_sha256_hex(s, len)) {
		/* Already hashed upstream: pass through, never hash twice. */
		for (size_t i = 0; i < 64; i++)
			hex[i] = (char)tolower((unsigned char)s[i]);
		hex[64] = '\0';
		hash_list_add(d, f, hex);
		return;
	}
	if (f == UF_ZP) {
		n = norm_zip(s, len, d->country, norm, sizeof(norm), &why);
	} else {
		n = user_fields[f].normalize(s, len, norm, sizeof(norm), &why);
	}
	if (n < 0) {
		event_warn(d->diag, key, "%s dropped: %s", key,
		    why ? why : "cannot be normalized");
		return;
	}
	if (f == UF_COUNTRY && !d->country && n == 2) {
		memcpy(d->country_buf, norm, 3);
		d->country = d->country_buf;
	}
	hasher_sha256_hex(d->ctx->hasher, norm, (size_t)n, hex);
	hash_list_add(d, f, hex);
}

static void
read_user_field(struct decoder *d, enum user_field f, const cJSON *v)
{
	const cJSON *item;

	if (f == UF_ZP) {
		/* Zip rules depend on the country, which may come later. */
		if (json_is(v, cJSON_Array)) {
			cJSON_ArrayForEach(item, v)
				if (d->n_zips < PB_MAX_FIELD_VALUES)
					d->zips[d->n_zips++] = item;
		} else if (d->n_zips < PB_MAX_FIELD_VALUES) {
			d->zips[d->n_zips++] = v;
		}
		return;
	}
	if (json_is(v, cJSON_Array)) {
		cJSON_ArrayForEach(item, v)
			add_user_value(d, f, item);
	} else {
		add_user_value(d, f, v);
	}
}

static const char *
read_ip(struct decoder *d, const cJSON *v)
{
	const char *s = read_string(d, v, "client_ip_address");
	unsigned char addr[16];

	if (!s)
		return NULL;
	if (inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1)
		return s;
	event_warn(d->diag, "client_ip_address",
	    "client_ip_address is not an IPv4 or IPv6 address; dropped");
	return NULL;
}

/*
 * Decimal strings for value, item_price and predicted_ltv: numbers and
 * numeric strings in, "-?digits[.digits]" out. Anything else is an error.
 */
static int
read_decimal(struct decoder *d, const cJSON *v, const char *field,
    const char **out)
{
	char tmp[64];
	const char *s;
	size_t len, i = 0, digits = 0;
	bool dot = false;

	if (json_is(v, cJSON_NULL))
		return 0;
	if (json_is(v, cJSON_Number)) {
		if (!isfinite(v->valuedouble) || fabs(v->valuedouble) >= 1e15)
			return event_fail(d->diag, "invalid_value", field,
			    "%s is out of range", field);
		len = (size_t)fmt_fixed6(tmp, sizeof(tmp), v->valuedouble);
		while (len > 0 && tmp[len - 1] == '0')
			len--;
		if (len > 0 && tmp[len - 1] == '.')
			len--;
		if (len == 2 && !memcmp(tmp, "-0", 2)) {
			tmp[0] = '0';
			len = 1;
		}
		*out = arena_strndup(d->ctx->arena, tmp, len);
		return 0;
	}
	if (!json_is(v, cJSON_String))
		return event_fail(d->diag, "invalid_value", field,
		    "%s must be a number or a numeric string", field);
	s = norm_trim(v->valuestring, strlen(v->valuestring), &len);
	if (len == 0)
		return 0;
	if (s[0] == '-' || s[0] == '+')
		i++;
	for (; i < len; i++) {
		if (isdigit((unsigned char)s[i])) {
			digits++;
		} else if (s[i] == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (i != len || digits == 0 || len > 32)
		return event_fail(d->diag, "invalid_value", field,
		    "%s '%.*s' is not a decimal number", field,
		    (int)(len > 32 ? 32 : len), s);
	if (s[0] == '+') {
		s++;
		len--;
	}
	if (s[0] == '.') {
		char *p = arena_alloc(d->ctx->arena, len + 2);

		p[0] = '0';
		memcpy(p + 1, s, len);
		p[len + 1] = '\0';
		*out = p;
	} else {
		*out = arena_strndup(d->ctx->arena, s, len);
	}
	return 0;
}

static int
read_integer(struct decoder *d, const cJSON *v, const char *field,
    int64_t *out, bool *has)
{
	double x;

	if (json_is(v, cJSON_NULL))
		return 0;
	if (json_is(v, cJSON_String)) {
		size_t len;
		const char *s = norm_trim(v->valuestring,
		    strlen(v->valuestring), &len);
		char *end;
		long long n;

		if (len == 0)
			return 0;
		errno = 0;
		n = strtoll(s, &end, 10);
		if (end != s + len || errno)
			return event_fail(d->diag, "invalid_value", field,
			    "%s must be an integer", field);
		*out = n;
		*has = true;
		return 0;
	}
	if (!json_is(v, cJSON_Number))
		return event_fail(d->diag, "invalid_value", field,
		    "%s must be an integer", field);
	x = v->valuedouble;
	if (!isfinite(x) || x != floor(x) || fabs(x) > 9e15)
		return event_fail(d->diag, "invalid_value", field,
		    "%s must be an integer", field);
	*out = (int64_t)x;
	*has = true;
	return 0;
}

static int
read_event_time(struct decoder *d, const cJSON *v)
{
	struct event *ev = d->ev;
	double t;

	if (json_is(v, cJSON_NULL))
		return 0;
	if (json_is(v, cJSON_String)) {
		int64_t ms;
		size_t len;
		const char *s = norm_trim(v->valuestring,
		    strlen(v->valuestring), &len);
		char buf[64], *end;

		if (len == 0)
			return 0;
		if (len >= sizeof(buf))
			goto bad;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (time_parse_iso8601(buf, &ms) == 0) {
			ev->event_time = ms / 1000;
			return 0;
		}
		t = strtod(buf, &end);
		if (*end != '\0' || end == buf)
			goto bad;
	} else if (json_is(v, cJSON_Number)) {
		t = v->valuedouble;
	} else {
		goto bad;
	}
	if (!isfinite(t) || t <= 0)
		goto bad;
	/*
	 * Unix seconds stay below 1e11 until the year 5138; a larger number
	 * is milliseconds (JavaScript's Date.now()).
	 */
	if (t >= 1e11) {
		if (t >= 1e14)
			goto bad;
		event_warn(d->diag, "event_time",
		    "event_time looks like milliseconds; converted to seconds");
		t /= 1000;
	}
	ev->event_time = (int64_t)t;
	return 0;
bad:
	return event_fail(d->diag, "invalid_event_time", "event_time",
	    "event_time must be Unix seconds or an ISO 8601 date-time");
}

static int
read_event_name(struct decoder *d, const cJSON *v)
{
	const char *capi;

	if (!json_is(v, cJSON_String))
		return event_fail(d->diag, "invalid_event_name", "event_name",
		    "event_name must be a string");
	capi = event_name_to_capi(v->valuestring, strlen(v->valuestring));
	if (!capi)
		return event_fail(d->diag, "unknown_event_name", "event_name",
		    "event_name '%.40s' is not a Pinterest event; accepted: %s",
		    v->valuestring, event_names_accepted());
	d->ev->event_name = capi;
	return 0;
}

static int
read_action_source(struct decoder *d, const cJSON *v)
{
	static const char *const sources[] = {
		"web", "app_android", "app_ios", "offline",
	};
	const char *s = read_string(d, v, "action_source");

	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (!strcasecmp(s, sources[i])) {
			d->ev->action_source = sources[i];
			return 0;
		}
	return event_fail(d->diag, "invalid_action_source", "action_source",
	    "action_source '%.20s' must be one of web, app_android, app_ios, "
	    "offline", s);
}

static void
read_opt_out(struct decoder *d, const cJSON *v)
{
	if (cJSON_IsBool(v)) {
		d->ev->opt_out = cJSON_IsTrue(v);
	} else if (json_is(v, cJSON_Number) &&
	    (v->valueint == 0 || v->valueint == 1)) {
		d->ev->opt_out = v->valueint;
	} else if (json_is(v, cJSON_String) &&
	    (!strcasecmp(v->valuestring, "true") ||
	    !strcasecmp(v->valuestring, "false"))) {
		d->ev->opt_out = !strcasecmp(v->valuestring, "true");
	} else if (!json_is(v, cJSON_NULL)) {
		event_warn(d->diag, "opt_out", "opt_out must be a boolean; dropped");
	}
}

static void
read_language(struct decoder *d, const cJSON *v)
{
	const char *s = read_string(d, v, "language");
	char *lang;

	if (!s)
		return;
	/* ISO 639-1; accept "en-US" and "en_US" by keeping the language part. */
	if (strlen(s) >= 2 && isalpha((unsigned char)s[0]) &&
	    isalpha((unsigned char)s[1]) &&
	    (s[2] == '\0' || s[2] == '-' || s[2] == '_')) {
		lang = arena_strndup(d->ctx->arena, s, 2);
		lang[0] = (char)tolower((unsigned char)lang[0]);
		lang[1] = (char)tolower((unsigned char)lang[1]);
		d->ev->language = lang;
		return;
	}
	event_warn(d->diag, "language",
	    "language '%.16s' is not an ISO 639-1 code; dropped", s);
}

static int
read_currency(struct decoder *d, const cJSON *v)
{
	const char *s = read_string(d, v, "currency"), *why;
	char code[4];

	if (!s)
		return 0;
	if (norm_currency(s, strlen(s), code, &why) < 0)
		return event_fail(d->diag, "invalid_currency", "currency",
		    "currency '%.16s' is not an ISO 4217 code", s);
	d->ev->custom.currency = arena_strndup(d->ctx->arena, code, 3);
	return 0;
}

static void
read_content_ids(struct decoder *d, const cJSON *v)
{
	struct custom_data *c = &d->ev->custom;
	const cJSON *item;
	size_t n = json_is(v, cJSON_Array) ? (size_t)cJSON_GetArraySize(v) : 1;
	const char **ids;

	if (json_is(v, cJSON_NULL))
		return;
	if (n > PB_MAX_CONTENT_ITEMS) {
		event_warn(d->diag, "content_ids",
		    "more than %d content_ids; extra ids dropped",
		    PB_MAX_CONTENT_ITEMS);
		n = PB_MAX_CONTENT_ITEMS;
	}
	ids = arena_alloc(d->ctx->arena, n * sizeof(*ids));
	c->n_content_ids = 0;
	if (!json_is(v, cJSON_Array)) {
		if ((ids[0] = read_string(d, v, "content_ids")))
			c->n_content_ids = 1;
	} else {
		cJSON_ArrayForEach(item, v) {
			const char *id;

			if (c->n_content_ids == n)
				break;
			if ((id = read_string(d, item, "content_ids")))
				ids[c->n_content_ids++] = id;
		}
	}
	c->content_ids = ids;
}

/*
 * contents[] items (Pinterest) and line_items[] (the tag): the same item
 * under two sets of names.
 */
static int
read_item(struct decoder *d, const cJSON *obj, bool tag,
    struct content_item *it)
{
	const char *field = tag ? "line_items" : "contents";
	const cJSON *v;

	memset(it, 0, sizeof(*it));
	if (!json_is(obj, cJSON_Object)) {
		event_warn(d->diag, field, "%s items must be objects; one dropped",
		    field);
		return 1;
	}
	cJSON_ArrayForEach(v, obj) {
		const char *k = v->string;
		int i = json_keys_find(&item_index, k);

		if (i < 0 || item_keys[i].tag != tag) {
			/* The tag has many item keys CAPI lacks; drop them quietly. */
			if (!tag)
				event_warn(d->diag, field, "contents key '%.32s' "
				    "is not a Pinterest field; dropped", k);
			continue;
		}
		switch (item_keys[i].which) {
		case IK_ID:
			it->id = read_string(d, v, field);
			break;
		case IK_PRICE:
			if (read_decimal(d, v, tag ? "line_items.product_price" :
			    "contents.item_price", &it->item_price) < 0)
				return -1;
			break;
		case IK_QUANTITY:
			if (read_integer(d, v, tag ? "line_items.product_quantity" :
			    "contents.quantity", &it->quantity,
			    &it->has_quantity) < 0)
				return -1;
			break;
		case IK_NAME:
			it->item_name = read_string(d, v, field);
			break;
		case IK_CATEGORY:
			it->item_category = read_string(d, v, field);
			break;
		case IK_BRAND:
			it->item_brand = read_string(d, v, field);
			break;
		}
	}
	return 0;
}

static int
read_items(struct decoder *d, const cJSON *v, bool tag)
{
	struct custom_data *c = &d->ev->custom;
	const cJSON *item;
	size_t n;

	if (json_is(v, cJSON_NULL))
		return 0;
	if (!json_is(v, cJSON_Array)) {
		event_warn(d->diag, tag ? "line_items" : "contents",
		    "%s must be an array; dropped", tag ? "line_items" : "contents");
		return 0;
	}
	n = (size_t)cJSON_GetArraySize(v);
	if (n > PB_MAX_CONTENT_ITEMS)
		n = PB_MAX_CONTENT_ITEMS;
	c->contents = arena_alloc(d->ctx->arena, (n ? n : 1) * sizeof(*c->contents));
	c->n_contents = 0;
	cJSON_ArrayForEach(item, v) {
		int r;

		if (c->n_contents == n)
			break;
		r = read_item(d, item, tag, &c->contents[c->n_contents]);
		if (r < 0)
			return -1;
		if (r == 0)
			c->n_contents++;
	}
	return 0;
}

static void
read_leg(struct decoder *d, const cJSON *v)
{
	const char *s = json_is(v, cJSON_String) ? v->valuestring : NULL;

	if (s && !strcasecmp(s, "browser"))
		d->ev->leg = LEG_BROWSER;
	else if (s && !strcasecmp(s, "server"))
		d->ev->leg = LEG_SERVER;
	else if (!json_is(v, cJSON_NULL))
		event_warn(d->diag, "source",
		    "source must be \"browser\" or \"server\"; ignored");
}

static void
read_received_at(struct decoder *d, const cJSON *v)
{
	int64_t ms;

	if (json_is(v, cJSON_String) &&
	    time_parse_iso8601(v->valuestring, &ms) == 0) {
		d->ev->received_at_ms = ms;
	} else if (json_is(v, cJSON_Number) && v->valuedouble > 0) {
		/* Same seconds/milliseconds rule as event_time. */
		d->ev->received_at_ms = v->valuedouble >= 1e11 ?
		    (int64_t)v->valuedouble : (int64_t)(v->valuedouble * 1000);
	} else if (!json_is(v, cJSON_NULL)) {
		event_warn(d->diag, "received_at",
		    "received_at must be ISO 8601 or Unix time; ignored");
	}
}

static int read_object(struct decoder *d, const cJSON *obj, enum scope scope);

static int
read_key(struct decoder *d, const struct key_entry *k, const cJSON *v)
{
	struct event *ev = d->ev;
	struct custom_data *c = &ev->custom;
	bool has;

	switch (k->kind) {
	case K_EVENT_NAME:
		return read_event_name(d, v);
	case K_EVENT_TIME:
		return read_event_time(d, v);
	case K_EVENT_ID:
		ev->event_id = read_string(d, v, "event_id");
		ev->id_origin = EVID_GIVEN;
		return 0;
	case K_ACTION_SOURCE:
		return read_action_source(d, v);
	case K_SOURCE_URL:
		ev->event_source_url = read_string(d, v, "event_source_url");
		return 0;
	case K_PARTNER_NAME:
		ev->partner_name = read_string(d, v, "partner_name");
		return 0;
	case K_OPT_OUT:
		read_opt_out(d, v);
		return 0;
	case K_LANGUAGE:
		read_language(d, v);
		return 0;
	case K_USER:
		read_user_field(d, k->field, v);
		return 0;
	case K_IP:
		ev->client_ip_address = read_ip(d, v);
		return 0;
	case K_USER_AGENT:
		ev->client_user_agent = read_string(d, v, "client_user_agent");
		return 0;
	case K_CLICK_ID:
		ev->click_id = read_string(d, v, "click_id");
		return 0;
	case K_PARTNER_ID:
		ev->partner_id = read_string(d, v, "partner_id");
		return 0;
	case K_CURRENCY:
		return read_currency(d, v);
	case K_VALUE:
		return read_decimal(d, v, "value", &c->value);
	case K_PREDICTED_LTV:
		return read_decimal(d, v, "predicted_ltv", &c->predicted_ltv);
	case K_ORDER_ID:
		c->order_id = read_string(d, v, "order_id");
		return 0;
	case K_CONTENT_IDS:
		read_content_ids(d, v);
		return 0;
	case K_CONTENTS:
		return read_items(d, v, false);
	case K_LINE_ITEMS:
		return read_items(d, v, true);
	case K_NUM_ITEMS:
		has = c->has_num_items;
		if (read_integer(d, v, "num_items", &c->num_items, &has) < 0)
			return -1;
		c->has_num_items = has;
		return 0;
	case K_SEARCH:
		c->search_string = read_string(d, v, "search_string");
		return 0;
	case K_CONTENT_NAME:
		c->content_name = read_string(d, v, "content_name");
		return 0;
	case K_CONTENT_CATEGORY:
		c->content_category = read_string(d, v, "content_category");
		return 0;
	case K_CONTENT_BRAND:
		c->content_brand = read_string(d, v, "content_brand");
		return 0;
	case K_OPT_OUT_TYPE:
		c->opt_out_type = read_string(d, v, "opt_out_type");
		return 0;
	case K_USER_DATA:
	case K_CUSTOM_DATA:
		if (json_is(v, cJSON_NULL))
			return 0;
		if (!json_is(v, cJSON_Object))
			return event_fail(d->diag, "invalid_field_type", k->key,
			    "%s must be an object", k->key);
		return read_object(d, v, k->kind == K_USER_DATA ? S_USER :
		    S_CUSTOM);
	case K_LEG:
		read_leg(d, v);
		return 0;
	case K_RECEIVED_AT:
		read_received_at(d, v);
		return 0;
	case K_IGNORE:
		return 0;
	case K_UNSUPPORTED:
		event_warn(d->diag, k->key,
		    "%s is not relayed by pinbridge; dropped", k->key);
		return 0;
	}
	return 0;
}

static int
read_object(struct decoder *d, const cJSON *obj, enum scope scope)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, obj) {
		const struct key_entry *k;

		k = key_lookup(v->string);
		if (!k || !(k->scopes & (int)scope)) {
			event_warn(d->diag, v->string,
			    "'%.40s' is not a field pinbridge knows; dropped",
			    v->string);
			continue;
		}
		if (read_key(d, k, v) < 0)
			return -1;
	}
	return 0;
}

int
event_decode(struct event_ctx *ctx, const cJSON *obj, struct event *ev,
    struct event_diag *diag)
{
	struct decoder d = { .ctx = ctx, .ev = ev, .diag = diag,
	    .borrow = json_arena() == ctx->arena };

	pthread_once(&index_once, build_indexes);
	memset(ev, 0, sizeof(*ev));
	ev->opt_out = -1;
	if (!json_is(obj, cJSON_Object))
		return event_fail(diag, "invalid_event", NULL,
		    "an event must be a JSON object");
	if (read_object(&d, obj, S_TOP) < 0)
		return -1;
	for (size_t i = 0; i < d.n_zips; i++)
		add_user_value(&d, UF_ZP, d.zips[i]);
	/* The tag sends line_items only; Pinterest wants content_ids too. */
	if (!ev->custom.n_content_ids && ev->custom.n_contents) {
		struct custom_data *c = &ev->custom;
		const char **ids = arena_alloc(ctx->arena,
		    c->n_contents * sizeof(*ids));

		for (size_t i = 0; i < c->n_contents; i++)
			if (c->contents[i].id)
				ids[c->n_content_ids++] = c->contents[i].id;
		c->content_ids = ids;
	}
	return 0;
}

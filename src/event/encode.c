/*
 * encode.c: struct event -> the JSON object Pinterest's CAPI v5 accepts.
 *
 * Written straight into a buffer rather than through a cJSON tree: the
 * shape is fixed, every key is ours, and this is the hot path of both
 * `convert` and ingest (docs/PERFORMANCE.md has the measurement). Strings
 * go through buf_add_json_str(), which escapes them.
 */
#include "event/event.h"

#include <string.h>

#include "util/buf.h"
#include "util/banned.h"

/*
 * Emits `"key":` preceded by a comma unless it opens the object. Inline so
 * that strlen() of the literal key folds to a constant.
 */
static inline void
key(struct buf *b, bool *first, const char *k)
{
	size_t n = strlen(k);
	char *p;

	buf_grow(b, n + 4);
	p = b->data + b->len;
	if (!*first)
		*p++ = ',';
	*first = false;
	*p++ = '"';
	memcpy(p, k, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	*p = '\0';
	b->len = (size_t)(p - b->data);
}

static void
str_field(struct buf *b, bool *first, const char *k, const char *v)
{
	if (!v)
		return;
	key(b, first, k);
	buf_add_json_cstr(b, v);
}

static void
int_field(struct buf *b, bool *first, const char *k, int64_t v)
{
	key(b, first, k);
	buf_add_i64(b, v);
}

static void
encode_user(const struct event *ev, struct buf *b)
{
	bool first = true;
	char *p;

	buf_addch(b, '{');
	for (int f = 0; f < UF_COUNT; f++) {
		const struct hash_list *l = &ev->user[f];

		if (!l->n)
			continue;
		key(b, &first, user_field_key((enum user_field)f));
		/* Hex digits need no escaping: ["<64>","<64>"] in one go. */
		buf_grow(b, l->n * 67 + 1);
		p = b->data + b->len;
		for (size_t i = 0; i < l->n; i++) {
			*p++ = i ? ',' : '[';
			*p++ = '"';
			memcpy(p, l->v[i], 64);
			p += 64;
			*p++ = '"';
		}
		*p++ = ']';
		*p = '\0';
		b->len = (size_t)(p - b->data);
	}
	str_field(b, &first, "client_ip_address", ev->client_ip_address);
	str_field(b, &first, "client_user_agent", ev->client_user_agent);
	str_field(b, &first, "click_id", ev->click_id);
	str_field(b, &first, "partner_id", ev->partner_id);
	buf_addch(b, '}');
}

static void
encode_item(const struct content_item *it, struct buf *b)
{
	bool first = true;

	buf_addch(b, '{');
	str_field(b, &first, "id", it->id);
	str_field(b, &first, "item_price", it->item_price);
	if (it->has_quantity)
		int_field(b, &first, "quantity", it->quantity);
	str_field(b, &first, "item_name", it->item_name);
	str_field(b, &first, "item_category", it->item_category);
	str_field(b, &first, "item_brand", it->item_brand);
	buf_addch(b, '}');
}

static bool
custom_empty(const struct custom_data *c)
{
	return !c->currency && !c->value && !c->order_id && !c->n_content_ids &&
	    !c->n_contents && !c->has_num_items && !c->search_string &&
	    !c->content_name && !c->content_category && !c->content_brand &&
	    !c->opt_out_type && !c->predicted_ltv;
}

static void
encode_custom(const struct custom_data *c, struct buf *b)
{
	bool first = true;

	buf_addch(b, '{');
	str_field(b, &first, "currency", c->currency);
	str_field(b, &first, "value", c->value);
	if (c->n_content_ids) {
		key(b, &first, "content_ids");
		buf_addch(b, '[');
		for (size_t i = 0; i < c->n_content_ids; i++) {
			if (i)
				buf_addch(b, ',');
			buf_add_json_cstr(b, c->content_ids[i]);
		}
		buf_addch(b, ']');
	}
	if (c->n_contents) {
		key(b, &first, "contents");
		buf_addch(b, '[');
		for (size_t i = 0; i < c->n_contents; i++) {
			if (i)
				buf_addch(b, ',');
			encode_item(&c->contents[i], b);
		}
		buf_addch(b, ']');
	}
	if (c->has_num_items)
		int_field(b, &first, "num_items", c->num_items);
	str_field(b, &first, "order_id", c->order_id);
	str_field(b, &first, "search_string", c->search_string);
	str_field(b, &first, "content_name", c->content_name);
	str_field(b, &first, "content_category", c->content_category);
	str_field(b, &first, "content_brand", c->content_brand);
	str_field(b, &first, "opt_out_type", c->opt_out_type);
	str_field(b, &first, "predicted_ltv", c->predicted_ltv);
	buf_addch(b, '}');
}

void
event_encode(const struct event *ev, struct buf *b)
{
	bool first = true;

	buf_addch(b, '{');
	str_field(b, &first, "event_name", ev->event_name);
	str_field(b, &first, "action_source", ev->action_source);
	int_field(b, &first, "event_time", ev->event_time);
	str_field(b, &first, "event_id", ev->event_id);
	str_field(b, &first, "event_source_url", ev->event_source_url);
	str_field(b, &first, "partner_name", ev->partner_name);
	if (ev->opt_out >= 0) {
		key(b, &first, "opt_out");
		buf_adds(b, ev->opt_out ? "true" : "false");
	}
	str_field(b, &first, "language", ev->language);
	key(b, &first, "user_data");
	encode_user(ev, b);
	if (!custom_empty(&ev->custom)) {
		key(b, &first, "custom_data");
		encode_custom(&ev->custom, b);
	}
	buf_addch(b, '}');
}

void
event_encode_error(const struct event_error *err, struct buf *b)
{
	bool first = true;

	buf_add(b, "{\"error\":{", 10);
	str_field(b, &first, "code", err->code ? err->code : "internal");
	str_field(b, &first, "message", err->message);
	if (err->field)
		str_field(b, &first, "field", err->field);
	buf_add(b, "}}", 2);
}

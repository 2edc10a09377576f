/*
 * chunk.c: see chunk.h.
 */
#include "store/chunk.h"

#include <string.h>

#include "util/banned.h"

/* The fixed part of a record; no padding, in host byte order. */
struct rec_hdr {
	int64_t event_time;
	int64_t received_at_ms;
	uint32_t payload_len;
	int32_t attempts;
	uint16_t id_len;
	uint16_t name_len;
	uint16_t order_len;
	uint8_t legs;
	uint8_t has_order;
};

_Static_assert(sizeof(struct rec_hdr) == 32, "rec_hdr must not be padded");

void
chunk_builder_init(struct chunk_builder *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->recs, 0);
	buf_init(&b->ends, 0);
	buf_init(&b->keys, 0);
	buf_init(&b->marks, 0);
}

void
chunk_builder_release(struct chunk_builder *b)
{
	buf_release(&b->recs);
	buf_release(&b->ends);
	buf_release(&b->keys);
	buf_release(&b->marks);
}

void
chunk_builder_reset(struct chunk_builder *b, int64_t id, int64_t account_id)
{
	buf_reset(&b->recs);
	buf_reset(&b->ends);
	buf_reset(&b->keys);
	buf_reset(&b->marks);
	b->n = 0;
	b->id = id;
	b->account_id = account_id;
	b->due_ms = 0;
	b->min_event_time = INT64_MAX;
}

size_t
chunk_builder_add(struct chunk_builder *b, const struct chunk_rec *r,
		  uint64_t key, int64_t due_ms)
{
	struct rec_hdr h;
	uint32_t end;
	uint8_t mark = CHUNK_LIVE;

	memset(&h, 0, sizeof(h));
	h.event_time = r->event_time;
	h.received_at_ms = r->received_at_ms;
	h.payload_len = (uint32_t)r->payload_len;
	h.attempts = r->attempts;
	/* The store's limits keep these lengths far below 64 KiB. */
	h.id_len = (uint16_t)r->id_len;
	h.name_len = (uint16_t)r->name_len;
	h.order_len = (uint16_t)(r->order_id ? r->order_len : 0);
	h.legs = (uint8_t)r->legs;
	h.has_order = r->order_id != NULL;
	buf_add(&b->recs, &h, sizeof(h));
	buf_add(&b->recs, r->event_id, r->id_len);
	buf_add(&b->recs, r->event_name, r->name_len);
	if (r->order_id)
		buf_add(&b->recs, r->order_id, r->order_len);
	buf_add(&b->recs, r->payload, r->payload_len);
	end = (uint32_t)b->recs.len;
	buf_add(&b->ends, &end, sizeof(end));
	buf_add(&b->keys, &key, sizeof(key));
	buf_add(&b->marks, &mark, 1);
	if (due_ms > b->due_ms)
		b->due_ms = due_ms;
	if (r->event_time < b->min_event_time)
		b->min_event_time = r->event_time;
	return b->n++;
}

void
chunk_builder_blob(const struct chunk_builder *b, struct buf *out)
{
	uint32_t n = (uint32_t)b->n;

	buf_reset(out);
	buf_grow(out, sizeof(n) + b->ends.len + b->recs.len);
	buf_add(out, &n, sizeof(n));
	buf_add(out, b->ends.data, b->ends.len);
	buf_add(out, b->recs.data, b->recs.len);
}

int
chunk_decode(const void *blob, size_t len, struct chunk_rec *r)
{
	const unsigned char *rec = blob;
	struct rec_hdr h;
	size_t need;

	if (len < sizeof(h))
		return -1;
	memcpy(&h, rec, sizeof(h));
	need = sizeof(h) + h.id_len + h.name_len + h.order_len +
	    (size_t)h.payload_len;
	if (need != len)
		return -1;
	rec += sizeof(h);
	r->event_id = (const char *)rec;
	r->id_len = h.id_len;
	rec += h.id_len;
	r->event_name = (const char *)rec;
	r->name_len = h.name_len;
	rec += h.name_len;
	r->order_id = h.has_order ? (const char *)rec : NULL;
	r->order_len = h.order_len;
	rec += h.order_len;
	r->payload = (const char *)rec;
	r->payload_len = h.payload_len;
	r->event_time = h.event_time;
	r->received_at_ms = h.received_at_ms;
	r->attempts = h.attempts;
	r->legs = h.legs;
	return 0;
}

int
chunk_extent(uint32_t start, uint32_t end, size_t recs_len, size_t *s,
	     size_t *e)
{
	if (start > end || end > recs_len)
		return -1;
	*s = start;
	*e = end;
	return 0;
}

/* The extent of record `slot` given the end offsets and record bytes. */
static int
extent(const unsigned char *ends, size_t n, size_t recs_len, size_t slot,
       size_t *start, size_t *end)
{
	uint32_t s = 0, e;

	if (slot >= n)
		return -1;
	if (slot)
		memcpy(&s, ends + 4 * (slot - 1), 4);
	memcpy(&e, ends + 4 * slot, 4);
	return chunk_extent(s, e, recs_len, start, end);
}

int
chunk_builder_get(const struct chunk_builder *b, size_t slot,
		  struct chunk_rec *r)
{
	const unsigned char *recs = (const unsigned char *)b->recs.data;
	size_t s, e;

	if (extent((const unsigned char *)b->ends.data, b->n, b->recs.len,
	    slot, &s, &e) < 0)
		return -1;
	return chunk_decode(recs + s, e - s, r);
}

size_t
chunk_head_len(uint32_t n, size_t len)
{
	size_t head = sizeof(n) + 4 * (size_t)n;

	return n <= CHUNK_MAX_SLOTS && head <= len ? head : 0;
}

long
chunk_count(const void *blob, size_t len)
{
	uint32_t n;

	if (len < sizeof(n))
		return -1;
	memcpy(&n, blob, sizeof(n));
	return chunk_head_len(n, len) ? (long)n : -1;
}

int
chunk_get(const void *blob, size_t len, size_t slot, struct chunk_rec *r)
{
	const unsigned char *p = blob;
	long n = chunk_count(blob, len);
	size_t head, s, e;

	if (n < 0)
		return -1;
	head = chunk_head_len((uint32_t)n, len);
	if (extent(p + 4, (size_t)n, len - head, slot, &s, &e) < 0)
		return -1;
	return chunk_decode(p + head + s, e - s, r);
}

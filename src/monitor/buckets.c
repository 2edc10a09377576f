/*
 * buckets.c: the coarse (5-minute, 8-week, per-day chunks) and fine
 * (1-minute, 6-hour) counter rings of one series.
 */
#include "monitor/buckets.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

struct day_chunk {
	int64_t day;					/* days since epoch */
	uint32_t c[BUCKETS_PER_DAY][BC_COUNT];
	uint32_t q[24][2][BQ_COUNT];			/* hourly, per leg */
};

struct buckets {
	struct day_chunk *days[BUCKET_DAYS];	/* slot = day % BUCKET_DAYS */
	int64_t start_ms;			/* history begins here */
	int64_t last_ms;			/* latest time seen */
	int64_t fine_stamp[FINE_SLOTS];		/* minute held by the slot */
	uint32_t fine[FINE_SLOTS][BC_COUNT];
};

static const char *const quality_names[BQ_COUNT] = {
	"event_id", "event_time", "event_name", "action_source", "em",
	"value", "currency", "partner_name", "ph", "click_id", "ip_ua",
	"external_id", "events",
};

static const char *const counter_names[BC_COUNT] = {
	"browser", "server", "union", "matched", "settled",
	"settled_matched", "id_mismatch", "delivered", "failed",
	"auth_failed",
};

const char *
bucket_quality_name(enum bucket_quality q)
{
	return (unsigned)q < BQ_COUNT ? quality_names[q] : "?";
}

const char *
bucket_counter_name(enum bucket_counter c)
{
	return (unsigned)c < BC_COUNT ? counter_names[c] : "?";
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static size_t
ring_slot(int64_t n, int64_t size)
{
	int64_t r = n % size;

	return (size_t)(r < 0 ? r + size : r);
}

struct buckets *
buckets_new(int64_t start_ms)
{
	struct buckets *b = xcalloc(1, sizeof(*b));

	b->start_ms = start_ms;
	b->last_ms = start_ms;
	for (size_t i = 0; i < FINE_SLOTS; i++)
		b->fine_stamp[i] = INT64_MIN;
	return b;
}

void
buckets_free(struct buckets *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < BUCKET_DAYS; i++)
		free(b->days[i]);
	free(b);
}

int64_t
buckets_start_ms(const struct buckets *b)
{
	return b->start_ms;
}

void
buckets_touch(struct buckets *b, int64_t now_ms)
{
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
}

/* The chunk holding `day`, created or recycled when `create`. */
static struct day_chunk *
chunk_for(struct buckets *b, int64_t day, bool create)
{
	size_t slot = ring_slot(day, BUCKET_DAYS);
	struct day_chunk *ch = b->days[slot];

	if (ch && ch->day == day)
		return ch;
	if (!create)
		return NULL;
	if (ch && ch->day > day)
		return NULL;		/* older than the ring's reach */
	if (!ch)
		ch = b->days[slot] = xmalloc(sizeof(*ch));
	memset(ch, 0, sizeof(*ch));
	ch->day = day;
	return ch;
}

static const struct day_chunk *
chunk_get(const struct buckets *b, int64_t day)
{
	const struct day_chunk *ch = b->days[ring_slot(day, BUCKET_DAYS)];

	return ch && ch->day == day ? ch : NULL;
}

void
buckets_add(struct buckets *b, int64_t at_ms, enum bucket_counter c,
    uint32_t n)
{
	int64_t day = floor_div(at_ms, BUCKET_DAY_MS);
	int64_t minute = floor_div(at_ms, FINE_MS);
	struct day_chunk *ch;
	size_t fs;

	if (n == 0)
		return;
	buckets_touch(b, at_ms);
	if ((ch = chunk_for(b, day, true)) != NULL)
		ch->c[(at_ms - day * BUCKET_DAY_MS) / BUCKET_MS][c] += n;
	fs = ring_slot(minute, FINE_SLOTS);
	if (b->fine_stamp[fs] > minute)
		return;
	if (b->fine_stamp[fs] != minute) {
		memset(b->fine[fs], 0, sizeof(b->fine[fs]));
		b->fine_stamp[fs] = minute;
	}
	b->fine[fs][c] += n;
}

void
buckets_add_quality(struct buckets *b, int64_t at_ms, int leg, uint32_t bits)
{
	int64_t day = floor_div(at_ms, BUCKET_DAY_MS);
	struct day_chunk *ch;
	uint32_t *q;

	buckets_touch(b, at_ms);
	if ((ch = chunk_for(b, day, true)) == NULL)
		return;
	q = ch->q[(at_ms - day * BUCKET_DAY_MS) / (3600 * 1000)][leg ? 1 : 0];
	q[BQ_EVENTS]++;
	for (int i = 0; i < BQ_NBITS; i++)
		if (bits & (1u << i))
			q[i]++;
}

double
buckets_sum(const struct buckets *b, enum bucket_counter c, int64_t from_ms,
    int64_t to_ms)
{
	double sum = 0;
	int64_t bk, start, end, lo, hi;

	if (to_ms <= from_ms)
		return 0;
	for (bk = floor_div(from_ms, BUCKET_MS); bk * BUCKET_MS < to_ms; bk++) {
		int64_t day = floor_div(bk * BUCKET_MS, BUCKET_DAY_MS);
		const struct day_chunk *ch = chunk_get(b, day);
		uint32_t v;

		if (!ch)
			continue;
		v = ch->c[(bk * BUCKET_MS - day * BUCKET_DAY_MS) / BUCKET_MS][c];
		if (!v)
			continue;
		start = bk * BUCKET_MS;
		end = start + BUCKET_MS;
		lo = from_ms > start ? from_ms : start;
		hi = to_ms < end ? to_ms : end;
		sum += (double)v * (double)(hi - lo) / BUCKET_MS;
	}
	return sum;
}

uint64_t
buckets_recent(const struct buckets *b, enum bucket_counter c,
    int64_t from_ms, int64_t to_ms)
{
	uint64_t sum = 0;
	int64_t m, last;

	if (to_ms <= from_ms)
		return 0;
	last = floor_div(to_ms - 1, FINE_MS);
	m = floor_div(from_ms, FINE_MS);
	if (last - m >= FINE_SLOTS)
		m = last - FINE_SLOTS + 1;
	for (; m <= last; m++) {
		size_t s = ring_slot(m, FINE_SLOTS);

		if (b->fine_stamp[s] == m)
			sum += b->fine[s][c];
	}
	return sum;
}

bool
buckets_covered(const struct buckets *b, int64_t from_ms, int64_t to_ms)
{
	int64_t oldest_day = floor_div(b->last_ms, BUCKET_DAY_MS) -
	    BUCKET_DAYS + 1;

	return from_ms >= b->start_ms && to_ms <= b->last_ms + BUCKET_MS &&
	    floor_div(from_ms, BUCKET_DAY_MS) >= oldest_day;
}

void
buckets_quality_sum(const struct buckets *b, int leg, int64_t from_ms,
    int64_t to_ms, uint64_t out[BQ_COUNT])
{
	const int64_t hour = 3600 * 1000;

	memset(out, 0, sizeof(uint64_t) * BQ_COUNT);
	for (int64_t h = floor_div(from_ms + hour - 1, hour); h * hour < to_ms;
	    h++) {
		int64_t day = floor_div(h * hour, BUCKET_DAY_MS);
		const struct day_chunk *ch = chunk_get(b, day);

		if (!ch)
			continue;
		for (int i = 0; i < BQ_COUNT; i++)
			out[i] += ch->q[(h * hour - day * BUCKET_DAY_MS) /
			    hour][leg ? 1 : 0][i];
	}
}

#define DUMP_MAGIC	0x50424b31u	/* "PBK1" */

int
buckets_dump(const struct buckets *b, FILE *f)
{
	uint32_t magic = DUMP_MAGIC, n = 0;
	int64_t hdr[2] = { b->start_ms, b->last_ms };

	for (size_t i = 0; i < BUCKET_DAYS; i++)
		n += b->days[i] != NULL;
	if (fwrite(&magic, sizeof(magic), 1, f) != 1 ||
	    fwrite(hdr, sizeof(hdr), 1, f) != 1 ||
	    fwrite(&n, sizeof(n), 1, f) != 1)
		return -1;
	for (size_t i = 0; i < BUCKET_DAYS; i++)
		if (b->days[i] &&
		    fwrite(b->days[i], sizeof(*b->days[i]), 1, f) != 1)
			return -1;
	return 0;
}

int
buckets_load(struct buckets *b, FILE *f)
{
	struct day_chunk *days[BUCKET_DAYS] = { 0 };
	uint32_t magic, n;
	int64_t hdr[2];
	int rc = -1;

	if (fread(&magic, sizeof(magic), 1, f) != 1 || magic != DUMP_MAGIC ||
	    fread(hdr, sizeof(hdr), 1, f) != 1 ||
	    fread(&n, sizeof(n), 1, f) != 1 || n > BUCKET_DAYS)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct day_chunk *ch = xmalloc(sizeof(*ch));
		size_t slot;

		if (fread(ch, sizeof(*ch), 1, f) != 1) {
			free(ch);
			goto out;
		}
		slot = ring_slot(ch->day, BUCKET_DAYS);
		if (days[slot]) {
			free(ch);
			goto out;
		}
		days[slot] = ch;
	}
	for (size_t i = 0; i < BUCKET_DAYS; i++) {
		free(b->days[i]);
		b->days[i] = days[i];
		days[i] = NULL;
	}
	b->start_ms = hdr[0];
	b->last_ms = hdr[1] > b->last_ms ? hdr[1] : b->last_ms;
	rc = 0;
out:
	for (size_t i = 0; i < BUCKET_DAYS; i++)
		free(days[i]);
	return rc;
}

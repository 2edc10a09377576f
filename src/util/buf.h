/*
 * buf.h: a growable byte buffer.
 *
 * Invariants (as Git's strbuf): `data` is never NULL once initialised and is
 * always NUL-terminated at data[len], so it can be handed to C string APIs.
 * buf_detach() is the only way to take ownership of the bytes.
 */
#ifndef PB_BUF_H
#define PB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { buf_empty, 0, 0 }
extern char buf_empty[];

void buf_init(struct buf *b, size_t hint);
void buf_release(struct buf *b);	/* frees; b is BUF_INIT again */
char *buf_detach(struct buf *b, size_t *len);
void buf_reset(struct buf *b);		/* len = 0, memory kept */
void buf_truncate(struct buf *b, size_t len);

/* The out-of-line half of buf_grow(): reallocates. */
void buf_grow_slow(struct buf *b, size_t extra);

/*
 * The appenders below run several times per field on the convert and
 * ingest hot paths; inline, the common case is a compare and a memcpy
 * (profiled at ~9% of `convert` when they were out-of-line calls).
 */
static inline void
buf_grow(struct buf *b, size_t extra)
{
	if (extra < b->cap - b->len)
		return;
	buf_grow_slow(b, extra);
}

static inline void
buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static inline void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static inline void
buf_addch(struct buf *b, char c)
{
	buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

/* Longest fmt_i64() output: "-9223372036854775808". */
#define FMT_I64_MAX	20

/* Writes v in decimal (as "%" PRId64 would), no NUL; returns the length. */
size_t fmt_i64(char *out, int64_t v);
void buf_add_i64(struct buf *b, int64_t v);

/*
 * Writes x as snprintf("%.6f") would, into out[cap], NUL-terminated, and
 * returns the length (or what snprintf returns when it does not fit).
 */
int fmt_fixed6(char *out, size_t cap, double x);
__attribute__((format(printf, 2, 3)))
void buf_addf(struct buf *b, const char *fmt, ...);
__attribute__((format(printf, 2, 0)))
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/*
 * Appends s as a JSON string literal, quotes included. Control characters
 * are escaped; bytes >= 0x80 are copied as they are (inputs are UTF-8).
 */
void buf_add_json_str(struct buf *b, const char *s, size_t len);
void buf_add_json_cstr(struct buf *b, const char *s);

#endif

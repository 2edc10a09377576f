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
void buf_grow(struct buf *b, size_t extra);
void buf_truncate(struct buf *b, size_t len);

void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
__attribute__((format(printf, 2, 3)))
void buf_addf(struct buf *b, const char *fmt, ...);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/*
 * Appends s as a JSON string literal, quotes included. Control characters
 * are escaped; bytes >= 0x80 are copied as they are (inputs are UTF-8).
 */
void buf_add_json_str(struct buf *b, const char *s, size_t len);
void buf_add_json_cstr(struct buf *b, const char *s);

#endif

#include "util/buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

char buf_empty[1];

void
buf_init(struct buf *b, size_t hint)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
	if (hint)
		buf_grow(b, hint);
}

void
buf_release(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b, 0);
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (!b->cap)
		buf_grow(b, 1);
	p = b->data;
	if (len)
		*len = b->len;
	buf_init(b, 0);
	return p;
}

void
buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len)
		len = b->len;
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

void
buf_grow_slow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		xalloc_die(SIZE_MAX);
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap * 2 > cap ? cap * 2 : need;
	if (b->cap) {
		b->data = xrealloc(b->data, cap);
	} else {
		b->data = xmalloc(cap);
		b->data[0] = '\0';
	}
	b->cap = cap;
}

void
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

/* Bytes that need an escape inside a JSON string: controls, '"', '\\'. */
static const unsigned char json_esc[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

/*
 * Appends the escape for a byte json_esc[] flags (never NUL here).
 */
static void
add_json_escape(struct buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = { '\\', 0, '0', '0', hex[c >> 4], hex[c & 15] };

	switch (c) {
	case '"': e[1] = '"'; break;
	case '\\': e[1] = '\\'; break;
	case '\n': e[1] = 'n'; break;
	case '\r': e[1] = 'r'; break;
	case '\t': e[1] = 't'; break;
	case '\b': e[1] = 'b'; break;
	case '\f': e[1] = 'f'; break;
	default:
		e[1] = 'u';
		buf_add(b, e, 6);
		return;
	}
	buf_add(b, e, 2);
}

void
buf_add_json_str(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;

	buf_grow(b, len + 2);
	b->data[b->len++] = '"';
	for (;;) {
		/* Most strings have nothing to escape: one scan, one copy. */
		for (run = i; i < len && !json_esc[p[i]]; i++)
			;
		buf_add(b, s + run, i - run);
		if (i == len)
			break;
		add_json_escape(b, p[i++]);
	}
	buf_addch(b, '"');
}

void
buf_add_json_cstr(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;
	char *d;

	/*
	 * NUL is one of the bytes json_esc[] flags, so the scan for bytes to
	 * escape also finds the end: no separate strlen() pass.
	 */
	while (!json_esc[p[i]])
		i++;
	if (!p[i]) {
		/* Nothing to escape (nearly every value): one grow, one copy. */
		buf_grow(b, i + 2);
		d = b->data + b->len;
		d[0] = '"';
		memcpy(d + 1, s, i);
		d[i + 1] = '"';
		d[i + 2] = '\0';
		b->len += i + 2;
		return;
	}
	buf_addch(b, '"');
	for (run = 0;;) {
		buf_add(b, s + run, i - run);
		if (!p[i])
			break;
		add_json_escape(b, p[i++]);
		for (run = i; !json_esc[p[i]]; i++)
			;
	}
	buf_addch(b, '"');
}

size_t
fmt_i64(char *out, int64_t v)
{
	char tmp[FMT_I64_MAX];
	/* Negate as unsigned so INT64_MIN does not overflow. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	return len;
}

void
buf_add_i64(struct buf *b, int64_t v)
{
	char tmp[FMT_I64_MAX];

	buf_add(b, tmp, fmt_i64(tmp, v));
}

int
fmt_fixed6(char *out, size_t cap, double x)
{
	/*
	 * printf's "%.6f" rounds the exact binary value, half to even. Below
	 * 1e8, x * 1e6 < 2^47 is off from the exact product by at most 2^-7,
	 * so unless it lands within 0.05 of a half, rounding it to the nearest
	 * integer gives the digits printf would. The rare near-half case,
	 * large values and non-finite ones go to snprintf itself.
	 */
	if (isfinite(x) && fabs(x) < 1e8 && cap >= 17) {
		double m = x * 1e6, f = floor(m), frac = m - f;

		if (fabs(frac - 0.5) > 0.05) {
			int64_t r = (int64_t)f + (frac > 0.5);
			uint64_t u = r < 0 ? 0 - (uint64_t)r : (uint64_t)r;
			uint64_t ip = u / 1000000, fp = u % 1000000;
			size_t len = 0;

			if (signbit(x))
				out[len++] = '-';
			len += fmt_i64(out + len, (int64_t)ip);
			out[len++] = '.';
			for (int d = 5; d >= 0; d--) {
				out[len + (size_t)d] = (char)('0' + fp % 10);
				fp /= 10;
			}
			len += 6;
			out[len] = '\0';
			return (int)len;
		}
	}
	return snprintf(out, cap, "%.6f", x);
}

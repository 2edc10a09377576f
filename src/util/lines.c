#include "util/lines.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define LINES_BLOCK	(64 * 1024)

void
lines_init(struct lines *l, FILE *f, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->f = f;
	l->max = max;
	buf_init(&l->line, 0);
	l->block = xmalloc(LINES_BLOCK);
}

void
lines_release(struct lines *l)
{
	buf_release(&l->line);
	free(l->block);
	l->block = NULL;
}

static int
fill(struct lines *l)
{
	size_t n;

	if (l->eof)
		return 0;
	n = fread(l->block, 1, LINES_BLOCK, l->f);
	if (n == 0) {
		l->eof = 1;
		return ferror(l->f) ? -1 : 0;
	}
	l->pos = 0;
	l->end = n;
	return 1;
}

enum lines_result
lines_next(struct lines *l)
{
	int too_long = 0, any = 0;

	buf_reset(&l->line);
	for (;;) {
		char *nl;
		size_t take;
		int r;

		if (l->pos == l->end) {
			r = fill(l);
			if (r < 0)
				return LINES_ERROR;
			if (r == 0) {
				if (!any)
					return LINES_EOF;
				break;
			}
		}
		any = 1;
		nl = memchr(l->block + l->pos, '\n', l->end - l->pos);
		take = (nl ? (size_t)(nl - l->block) : l->end) - l->pos;
		if (!too_long && l->line.len + take > l->max) {
			too_long = 1;
			buf_reset(&l->line);
		}
		if (!too_long)
			buf_add(&l->line, l->block + l->pos, take);
		l->pos += take;
		if (nl) {
			l->pos++;
			break;
		}
	}
	l->lineno++;
	if (too_long)
		return LINES_TOO_LONG;
	if (l->line.len && l->line.data[l->line.len - 1] == '\r')
		buf_truncate(&l->line, l->line.len - 1);
	return LINES_OK;
}

enum lines_result
lines_next_view(struct lines *l, const char **s, size_t *len)
{
	enum lines_result r;
	const char *p = l->block + l->pos;
	const char *nl = l->pos < l->end ?
	    memchr(p, '\n', l->end - l->pos) : NULL;
	size_t n;

	/* The common case: the whole line is in the block, no copy needed. */
	if (nl && (n = (size_t)(nl - p)) <= l->max) {
		l->pos += n + 1;
		l->lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		*s = p;
		*len = n;
		return LINES_OK;
	}
	r = lines_next(l);
	*s = l->line.data;
	*len = l->line.len;
	return r;
}

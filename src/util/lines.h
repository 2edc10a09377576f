/*
 * lines.h: reads newline-delimited records with a hard length limit.
 *
 * A line longer than the limit is skipped to its end without being stored
 * (lines_next() reports it as too long), so one huge line can neither
 * exhaust memory nor desynchronise the line numbering.
 */
#ifndef PB_LINES_H
#define PB_LINES_H

#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"

struct lines {
	FILE *f;
	size_t max;
	size_t lineno;		/* number of the line last returned */
	struct buf line;
	char *block;
	size_t pos, end;
	int eof;
};

enum lines_result {
	LINES_OK,		/* line in l->line (without '\n' or '\r\n') */
	LINES_TOO_LONG,		/* line skipped; l->lineno counts it */
	LINES_EOF,
	LINES_ERROR,		/* read error: errno is set */
};

void lines_init(struct lines *l, FILE *f, size_t max);
enum lines_result lines_next(struct lines *l);
/*
 * lines_next() without the copy where it can: on LINES_OK, *s and *len
 * give the line (not NUL-terminated), pointing into the read block when
 * the line lies wholly inside it, else at l->line.data. Valid until the
 * next call; l->line is only filled in the second case.
 */
enum lines_result lines_next_view(struct lines *l, const char **s,
    size_t *len);
void lines_release(struct lines *l);

#endif

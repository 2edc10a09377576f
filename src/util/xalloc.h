/*
 * xalloc.h: allocation that never returns NULL. Out of memory is fatal:
 * the message names the size and the process aborts (Redis zmalloc, Git
 * xmalloc do the same).
 */
#ifndef PB_XALLOC_H
#define PB_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
_Noreturn void xalloc_die(size_t size);

#endif

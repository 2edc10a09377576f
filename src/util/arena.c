#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define ARENA_ALIGN		16
#define ARENA_DEFAULT_CHUNK	(64 * 1024)

static struct arena_chunk *
chunk_new(size_t size)
{
	struct arena_chunk *c = xmalloc(sizeof(*c) + size);

	c->next = NULL;
	c->size = size;
	c->used = 0;
	c->before = 0;
	return c;
}

static void
chunk_list_free(struct arena_chunk *c)
{
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
}

void
arena_init(struct arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->spare = NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
}

void
arena_release(struct arena *a)
{
	chunk_list_free(a->head);
	chunk_list_free(a->spare);
	a->head = NULL;
	a->spare = NULL;
}

void
arena_reset(struct arena *a)
{
	/*
	 * Keep only the first (default-sized) chunk; an oversized chunk made
	 * for one large request should not pin its memory forever.
	 */
	struct arena_chunk *c = a->head, *keep = NULL;

	while (c) {
		struct arena_chunk *next = c->next;
		if (!keep && c->size == a->chunk_size) {
			keep = c;
		} else {
			free(c);
		}
		c = next;
	}
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
		keep->before = 0;
	}
	chunk_list_free(a->spare);
	a->spare = NULL;
	a->head = keep;
}

void *
arena_alloc_slow(struct arena *a, size_t size)
{
	struct arena_chunk *c = a->head;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (need < size)
		xalloc_die(size);
	if (a->chunk_size == 0)
		a->chunk_size = ARENA_DEFAULT_CHUNK;
	if (!c || c->size - c->used < need) {
		size_t sz = need > a->chunk_size ? need : a->chunk_size;
		struct arena_chunk *n = chunk_new(sz);

		n->before = c ? c->before + c->used : 0;
		n->next = c;
		a->head = c = n;
	}
	p = c->data + c->used;
	c->used += need;
	return p;
}

void *
arena_calloc(struct arena *a, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		xalloc_die(SIZE_MAX);
	p = arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t
arena_used(const struct arena *a)
{
	return a->head ? a->head->before + a->head->used : 0;
}

/*
 * arena.h: a bump allocator for per-request and per-event memory.
 *
 * Everything allocated from an arena lives until arena_reset() or
 * arena_release(); there is no per-object free. One arena belongs to one
 * thread at a time. Allocation never fails: on OOM the process aborts, as
 * a gateway that cannot allocate a few KB cannot do anything useful.
 */
#ifndef PB_ARENA_H
#define PB_ARENA_H

#include <stddef.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;		/* usable bytes in data[] */
	size_t used;
	size_t before;		/* bytes used in the chunks below this one */
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct arena_chunk *head;	/* chunk being filled */
	struct arena_chunk *spare;	/* chunks kept by arena_reset() */
	size_t chunk_size;
};

#define ARENA_INIT { NULL, NULL, 0 }

void arena_init(struct arena *a, size_t chunk_size);
/* Frees every chunk; the arena can be used again afterwards. */
void arena_release(struct arena *a);
/* Forgets every allocation but keeps the memory for reuse. */
void arena_reset(struct arena *a);

/* The out-of-line half of arena_alloc(): a new chunk, or abort. */
void *arena_alloc_slow(struct arena *a, size_t size);

/*
 * 16-byte aligned. Inline because cJSON calls it (through json.c's hook)
 * for every node and string it parses: the common case is an add and a
 * compare.
 */
static inline void *
arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c = a->head;
	size_t need = (size + 15) & ~(size_t)15;

	if (c && need >= size && c->size - c->used >= need) {
		void *p = c->data + c->used;

		c->used += need;
		return p;
	}
	return arena_alloc_slow(a, size);
}

void *arena_calloc(struct arena *a, size_t n, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);

/* Bytes handed out since the last reset (for limits and tests). */
size_t arena_used(const struct arena *a);

#endif

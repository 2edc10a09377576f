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

struct arena_chunk;

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

void *arena_alloc(struct arena *a, size_t size);	/* 16-byte aligned */
void *arena_calloc(struct arena *a, size_t n, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);

/* Bytes handed out since the last reset (for limits and tests). */
size_t arena_used(const struct arena *a);

#endif

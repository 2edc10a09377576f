/*
 * json.h: the guard in front of cJSON, and cJSON's arena allocator.
 *
 * json_precheck() walks raw bytes once, without allocating, and rejects
 * input nested deeper than PB_MAX_JSON_DEPTH or holding a string longer
 * than PB_MAX_STRING_BYTES, so the parser never builds a tree we would
 * refuse anyway.
 *
 * cJSON's allocator hooks are process-wide. json_use_arena() points them,
 * for the calling thread only, at an arena: parse, read, drop the tree with
 * arena_reset(). Never cJSON_Delete() a tree built inside an arena scope;
 * never carry a tree out of it.
 */
#ifndef PB_JSON_H
#define PB_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct arena;

enum json_check {
	JSON_OK = 0,
	JSON_TOO_DEEP,
	JSON_STRING_TOO_LONG,
};

enum json_check json_precheck(const char *s, size_t len);

/* Installs the hooks once per process (idempotent, thread-safe). */
void json_init(void);
/* Routes this thread's cJSON allocations to `a` (NULL: back to malloc). */
void json_use_arena(struct arena *a);
/* The arena this thread's cJSON allocations go to, or NULL. */
struct arena *json_arena(void);

/*
 * Parses len bytes (need not be NUL-terminated). Returns NULL on a syntax
 * error and stores the byte offset of the error in *err_off.
 */
cJSON *json_parse(const char *s, size_t len, size_t *err_off);

/*
 * A fixed set of object keys (at most JSON_KEYS_MAX) mapped to small
 * integers, for decoders that dispatch on every key they read: one hash
 * over the key and usually one memcmp, where a sorted table and bsearch
 * cost ~6 strcmp calls per key.
 */
#define JSON_KEYS_MAX	128
#define JSON_KEYS_SLOTS	(JSON_KEYS_MAX * 2)

struct json_keys {
	struct {
		const char *key;	/* NULL: empty slot */
		unsigned len;
		int value;
	} slot[JSON_KEYS_SLOTS];
	size_t n;
};

void json_keys_init(struct json_keys *t);
/* Returns -1 when the key is already present or the table is full. */
int json_keys_add(struct json_keys *t, const char *key, int value);
/* The value added with a NUL-terminated key, or -1. */
int json_keys_find(const struct json_keys *t, const char *key);

/*
 * cJSON_IsString() and friends, inline: the library's are calls through
 * the PLT, and decoders test every value's type more than once. type is
 * one of cJSON_NULL, cJSON_Number, cJSON_String, cJSON_Array, cJSON_Object.
 */
static inline bool
json_is(const cJSON *v, int type)
{
	return v && (v->type & 0xFF) == type;
}

/* Convenience readers: NULL / default when the key is absent or mistyped. */
const char *json_get_str(const cJSON *obj, const char *key);

#endif

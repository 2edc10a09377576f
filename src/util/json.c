#include "util/json.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/arena.h"
#include "util/limits.h"
#include "util/banned.h"

static _Thread_local struct arena *thread_arena;

static void *
hook_malloc(size_t size)
{
	if (thread_arena)
		return arena_alloc(thread_arena, size);
	return malloc(size);
}

static void
hook_free(void *p)
{
	/* Arena memory is reclaimed by arena_reset(), never one by one. */
	if (!thread_arena)
		free(p);
}

static void
install_hooks(void)
{
	cJSON_Hooks hooks = { hook_malloc, hook_free };

	cJSON_InitHooks(&hooks);
}

void
json_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_hooks);
}

void
json_use_arena(struct arena *a)
{
	json_init();
	thread_arena = a;
}

enum json_check
json_precheck(const char *s, size_t len)
{
	size_t depth = 0, i = 0;

	while (i < len) {
		char c = s[i++];

		if (c == '{' || c == '[') {
			if (++depth > PB_MAX_JSON_DEPTH)
				return JSON_TOO_DEEP;
		} else if (c == '}' || c == ']') {
			if (depth)
				depth--;
		} else if (c == '"') {
			size_t start = i;

			while (i < len && s[i] != '"') {
				if (s[i] == '\\')
					i++;
				i++;
			}
			if (i - start > PB_MAX_STRING_BYTES)
				return JSON_STRING_TOO_LONG;
			i++;
		}
	}
	return JSON_OK;
}

cJSON *
json_parse(const char *s, size_t len, size_t *err_off)
{
	const char *end = NULL;
	cJSON *root;

	json_init();
	root = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (!root && err_off)
		*err_off = end && end >= s ? (size_t)(end - s) : 0;
	if (root && end) {
		/* Only whitespace may follow the value. */
		while ((size_t)(end - s) < len && (*end == ' ' || *end == '\t' ||
		    *end == '\r' || *end == '\n'))
			end++;
		if ((size_t)(end - s) < len) {
			if (!thread_arena)
				cJSON_Delete(root);
			if (err_off)
				*err_off = (size_t)(end - s);
			return NULL;
		}
	}
	return root;
}

const char *
json_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

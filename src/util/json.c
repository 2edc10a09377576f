#include "util/json.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/limits.h"
#include "util/banned.h"

/*
 * The library is built -fPIC, which makes a thread-local a call to
 * __tls_get_addr on every access (cJSON allocates ~100 times per event).
 * It is only ever linked into executables, so the initial-exec model, a
 * plain %fs-relative load, is valid.
 */
static _Thread_local struct arena *thread_arena
    __attribute__((tls_model("initial-exec")));

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

struct arena *
json_arena(void)
{
	return thread_arena;
}

/* Structural bytes json_precheck() stops at; everything else is skipped. */
enum { C_OTHER, C_OPEN, C_CLOSE, C_QUOTE };

static const unsigned char precheck_class[256] = {
	['{'] = C_OPEN, ['['] = C_OPEN,
	['}'] = C_CLOSE, [']'] = C_CLOSE,
	['"'] = C_QUOTE,
};

/*
 * Where the string whose contents start at s[i] ends: the index of its
 * closing quote, or, unterminated, len (len + 1 if the input ends inside
 * an escape, as a byte-wise walk that skips the byte after each backslash
 * would step past the end).
 */
static size_t
string_end(const char *s, size_t len, size_t i)
{
	/*
	 * Strings are most of the bytes of an event; memchr() finds the next
	 * quote a vector at a time. A quote is escaped iff an odd run of
	 * backslashes precedes it.
	 */
	for (;;) {
		const char *q = memchr(s + i, '"', len - i);
		size_t at = q ? (size_t)(q - s) : len, k = at;

		while (k > i && s[k - 1] == '\\')
			k--;
		if ((at - k) % 2 == 0)
			return at;
		if (!q)
			return len + 1;
		i = at + 1;
	}
}

/* How many times c occurs in s[len], counting no further than stop + 1. */
static size_t
count_byte(const char *s, size_t len, char c, size_t stop)
{
	const char *p = s, *end = s + len;
	size_t n = 0;

	while (n <= stop && (p = memchr(p, c, (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

enum json_check
json_precheck(const char *s, size_t len)
{
	size_t depth = 0, i = 0, opens;

	/*
	 * A typical event cannot break either limit: it is shorter than the
	 * longest string allowed, and has fewer '{' and '[' bytes, in or out
	 * of strings, than the depth allowed. Counting two bytes with
	 * memchr() is a fraction of the walk below.
	 */
	if (len <= PB_MAX_STRING_BYTES) {
		opens = count_byte(s, len, '{', PB_MAX_JSON_DEPTH);
		if (opens <= PB_MAX_JSON_DEPTH)
			opens += count_byte(s, len, '[',
			    PB_MAX_JSON_DEPTH - opens);
		if (opens <= PB_MAX_JSON_DEPTH)
			return JSON_OK;
	}

	while (i < len) {
		switch (precheck_class[(unsigned char)s[i++]]) {
		case C_OTHER:
			break;
		case C_OPEN:
			if (++depth > PB_MAX_JSON_DEPTH)
				return JSON_TOO_DEEP;
			break;
		case C_CLOSE:
			if (depth)
				depth--;
			break;
		case C_QUOTE: {
			size_t end = string_end(s, len, i);

			if (end - i > PB_MAX_STRING_BYTES)
				return JSON_STRING_TOO_LONG;
			i = end + 1;
			break;
		}
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

void
json_keys_init(struct json_keys *t)
{
	memset(t, 0, sizeof(*t));
}

/*
 * Hashes the length and three bytes of the key (first, middle, last)
 * with independent multiplies: keys are short and strlen() is a vector
 * scan, where a byte-serial hash is a chain of dependent multiplies.
 * Probing sorts out the collisions.
 */
static unsigned
key_hash(const char *key, size_t n)
{
	const unsigned char *p = (const unsigned char *)key;
	unsigned h;

	if (!n)
		return 0;
	h = (unsigned)n * 0x9e3779b1u ^ p[0] * 0x85ebca6bu ^
	    p[n - 1] * 0xc2b2ae35u ^ p[n / 2] * 0x27d4eb2fu;
	return h ^ h >> 15;
}

/*
 * Whether a[n] and b[n] are equal, in words: keys are 2 to 30 bytes, where
 * a call to memcmp() costs more than the compare (and every event's keys
 * come through here).
 */
static bool
key_equal(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;

	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		/* The last 8 bytes, overlapping the words before. */
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

int
json_keys_add(struct json_keys *t, const char *key, int value)
{
	size_t len = strlen(key);
	unsigned i;

	if (t->n >= JSON_KEYS_MAX || json_keys_find(t, key) >= 0)
		return -1;
	i = key_hash(key, len) % JSON_KEYS_SLOTS;
	while (t->slot[i].key)
		i = (i + 1) % JSON_KEYS_SLOTS;
	t->slot[i].key = key;
	t->slot[i].len = (unsigned)len;
	t->slot[i].value = value;
	t->n++;
	return 0;
}

int
json_keys_find(const struct json_keys *t, const char *key)
{
	size_t len = strlen(key);
	unsigned i = key_hash(key, len) % JSON_KEYS_SLOTS;

	/* At most half full, so a probe always reaches an empty slot. */
	for (; t->slot[i].key; i = (i + 1) % JSON_KEYS_SLOTS)
		if (t->slot[i].len == len && key_equal(t->slot[i].key, key, len))
			return t->slot[i].value;
	return -1;
}

const char *
json_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* util/: arena, buf, clock parsing, json precheck, lines. */
#include "testutil.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/limits.h"
#include "util/lines.h"

static void
test_arena_alignment_and_growth(void **state)
{
	struct arena a;
	char *big;

	(void)state;
	arena_init(&a, 256);
	for (int i = 1; i < 100; i++) {
		void *p = arena_alloc(&a, (size_t)i);

		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xab, (size_t)i);
	}
	big = arena_alloc(&a, 10000);	/* larger than a chunk */
	memset(big, 1, 10000);
	assert_true(arena_used(&a) >= 10000);
	arena_reset(&a);
	assert_int_equal(arena_used(&a), 0);
	assert_string_equal(arena_strndup(&a, "hello world", 5), "hello");
	assert_int_equal(((char *)arena_calloc(&a, 4, 4))[15], 0);
	arena_release(&a);
}

static void
test_buf_basics(void **state)
{
	struct buf b = BUF_INIT;
	char *s;
	size_t len;

	(void)state;
	assert_string_equal(b.data, "");
	buf_adds(&b, "abc");
	buf_addf(&b, "-%d-%s", 42, "x");
	assert_string_equal(b.data, "abc-42-x");
	for (int i = 0; i < 1000; i++)
		buf_addch(&b, 'z');
	assert_int_equal(b.len, 1008);
	buf_truncate(&b, 3);
	assert_string_equal(b.data, "abc");
	s = buf_detach(&b, &len);
	assert_int_equal(len, 3);
	assert_string_equal(s, "abc");
	free(s);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_buf_json_escape(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	buf_add_json_str(&b, "a\"b\\c\n\x01\xc3\xa9", 9);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
	buf_release(&b);
}

static void
test_buf_json_escape_all_bytes(void **state)
{
	struct buf b = BUF_INIT;
	char in[256], want[2048];
	size_t w = 0;

	(void)state;
	/* Every byte value, escaped or copied as the reference rules say. */
	want[w++] = '"';
	for (int c = 0; c < 256; c++) {
		in[c] = (char)c;
		if (c == '"' || c == '\\') {
			want[w++] = '\\';
			want[w++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
		    c == '\f') {
			want[w++] = '\\';
			want[w++] = c == '\n' ? 'n' : c == '\r' ? 'r' :
			    c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
		} else if (c < 0x20) {
			w += (size_t)snprintf(want + w, sizeof(want) - w,
			    "\\u%04x", c);
		} else {
			want[w++] = (char)c;
		}
	}
	want[w++] = '"';
	buf_adds(&b, "x");
	buf_add_json_str(&b, in, sizeof(in));
	assert_int_equal(b.len, w + 1);
	assert_memory_equal(b.data + 1, want, w);
	assert_int_equal(b.data[b.len], '\0');
	/* The C-string form stops at the NUL and escapes the same way. */
	buf_reset(&b);
	buf_add_json_str(&b, in + 1, sizeof(in) - 1);
	{
		struct buf c = BUF_INIT;
		char z[257];

		memcpy(z, in + 1, 255);
		z[255] = '\0';
		buf_add_json_cstr(&c, z);
		assert_string_equal(c.data, b.data);
		buf_reset(&c);
		buf_add_json_cstr(&c, "");
		assert_string_equal(c.data, "\"\"");
		buf_reset(&c);
		buf_add_json_cstr(&c, "tail\\");
		assert_string_equal(c.data, "\"tail\\\\\"");
		buf_release(&c);
	}
	buf_reset(&b);
	buf_add_json_str(&b, "", 0);
	assert_string_equal(b.data, "\"\"");
	buf_release(&b);
}

/* Byte-at-a-time escaping, the reference for the word-wise scan. */
static void
json_escape_ref(struct buf *b, const unsigned char *s, size_t len)
{
	buf_addch(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\b')
			buf_adds(b, "\\b");
		else if (c == '\f')
			buf_adds(b, "\\f");
		else if (c < 0x20)
			buf_addf(b, "\\u%04x", c);
		else
			buf_addch(b, (char)c);
	}
	buf_addch(b, '"');
}

static void
test_buf_json_escape_random(void **state)
{
	static const unsigned char alphabet[] = {
		'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', '"', '\\', '\n', 0x01,
		0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
	};
	struct buf got = BUF_INIT, want = BUF_INIT;
	unsigned char in[48];
	uint64_t r = 99;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		size_t n;

		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (size_t)(r >> 33) % sizeof(in);
		for (size_t j = 0; j < n; j++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			/* Mostly clean runs, so whole clean words occur. */
			in[j] = r >> 60 ? 'x' :
			    alphabet[(r >> 33) % sizeof(alphabet)];
		}
		buf_reset(&got);
		buf_reset(&want);
		buf_add_json_str(&got, (const char *)in, n);
		json_escape_ref(&want, in, n);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.data, want.data, want.len);
	}
	buf_release(&got);
	buf_release(&want);
}

static void
test_fmt_i64(void **state)
{
	static const int64_t cases[] = {
		0, 1, -1, 9, 10, -10, 1779997554, 1779996848929,
		INT64_MAX, INT64_MIN, INT64_MIN + 1,
	};
	struct buf b = BUF_INIT;
	char got[FMT_I64_MAX + 1], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = fmt_i64(got, cases[i]);

		got[n] = '\0';
		snprintf(want, sizeof(want), "%" PRId64, cases[i]);
		assert_string_equal(got, want);
		buf_reset(&b);
		buf_add_i64(&b, cases[i]);
		assert_string_equal(b.data, want);
	}
	buf_release(&b);
}

static void
check_fixed6(double x)
{
	char got[64], want[64];
	int ng = fmt_fixed6(got, sizeof(got), x);
	int nw = snprintf(want, sizeof(want), "%.6f", x);

	if (ng != nw || strcmp(got, want))
		fail_msg("%.17g: got '%s', want '%s'", x, got, want);
}

static void
test_fmt_fixed6(void **state)
{
	static const double cases[] = {
		0.0, -0.0, 1, -1, 0.5, 408.5, 372.08, 130.0, 50.99, 1.99,
		0.0000005, 0.0000015, 0.0000025, -0.0000005, 1e-7, -1e-7,
		0.1234565, 2.5e-7, 99999999.999999, 99999999.9999995, 1e8,
		-1e8, 123456789012.5, 1e15, 1e300, -0.4999999,
	};
	uint64_t r = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_fixed6(cases[i]);
	check_fixed6(1.0 / 0.0);
	check_fixed6(-1.0 / 0.0);
	check_fixed6(0.0 / 0.0);
	/* Prices with up to 7 decimals and arbitrary doubles, both signs. */
	for (int i = 0; i < 200000; i++) {
		double x;

		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		if (i % 2) {
			x = (double)(int64_t)(r >> 20) / 1e7;
		} else {
			x = (double)(r >> 11) / (double)(1ULL << 53) *
			    (double)(1 << (r & 15)) * 1e3;
		}
		check_fixed6(r & 0x10000 ? -x : x);
		check_fixed6(x / 1e6);
	}
}

static void
test_iso8601(void **state)
{
	static const struct {
		const char *in;
		bool ok;
		int64_t ms;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", true, 0 },
		{ "2026-06-18T15:05:00Z", true, 1781795100000 },
		{ "2026-06-18T15:05:00.250Z", true, 1781795100250 },
		{ "2026-06-18 16:05:00+01:00", true, 1781795100000 },
		{ "2026-06-18T10:05:00-0500", true, 1781795100000 },
		{ "2026-06-18", true, 1781740800000 },
		{ "1969-12-31T23:59:59Z", true, -1000 },
		{ "2024-02-29T00:00:00Z", true, 1709164800000 },
		{ "2023-02-29T00:00:00Z", false, 0 },
		{ "2026-13-01", false, 0 },
		{ "2026-06-18T25:00:00Z", false, 0 },
		{ "2026-06-18T15:05:00Zjunk", false, 0 },
		{ "18/06/2026", false, 0 },
		{ "", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t ms = 0;
		int r = time_parse_iso8601(cases[i].in, &ms);

		if (!cases[i].ok) {
			if (r != -1)
				fail_msg("'%s' should not parse", cases[i].in);
			continue;
		}
		if (r != 0 || ms != cases[i].ms)
			fail_msg("'%s': got %d %lld, want %lld", cases[i].in, r,
			    (long long)ms, (long long)cases[i].ms);
	}
}

static void
test_iso8601_format(void **state)
{
	char out[21];

	(void)state;
	time_format_iso8601(1781795100, out);
	assert_string_equal(out, "2026-06-18T15:05:00Z");
}

static void
test_json_precheck(void **state)
{
	char deep[64], *longstr;
	size_t n = PB_MAX_STRING_BYTES + 10;

	(void)state;
	assert_int_equal(json_precheck("{\"a\":[1,{\"b\":\"]]]]\"}]}", 22),
	    JSON_OK);
	memset(deep, '[', sizeof(deep));
	assert_int_equal(json_precheck(deep, PB_MAX_JSON_DEPTH), JSON_OK);
	assert_int_equal(json_precheck(deep, PB_MAX_JSON_DEPTH + 1),
	    JSON_TOO_DEEP);
	longstr = malloc(n);
	memset(longstr, 'x', n);
	longstr[0] = '"';
	longstr[n - 1] = '"';
	assert_int_equal(json_precheck(longstr, n), JSON_STRING_TOO_LONG);
	/* Escaped quotes do not end a string. */
	assert_int_equal(json_precheck("\"\\\"[[[[[[[[[[[[[[[[[[[\"", 23),
	    JSON_OK);
	free(longstr);
	/* Past the shortcut's bound of 16 '{' or '[' bytes: the full walk. */
	assert_int_equal(json_precheck("[\"{{{{{{{{{{{{{{{{{{\"]", 22),
	    JSON_OK);
	assert_int_equal(json_precheck("{{{{{{{{[[[[[[[[{", 17),
	    JSON_TOO_DEEP);
	assert_int_equal(json_precheck("{{{{{{{{[[[[[[[[]{", 18), JSON_OK);
}

/* The byte-at-a-time walk json_precheck() must agree with. */
static enum json_check
precheck_reference(const char *s, size_t len)
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

/* A quoted string of n content bytes, optionally without its closing quote. */
static char *
long_string(size_t n, bool close, char last, size_t *len)
{
	char *s = malloc(n + 2);

	s[0] = '"';
	memset(s + 1, 'x', n);
	if (n)
		s[n] = last;
	s[n + 1] = '"';
	*len = n + 1 + close;
	return s;
}

static void
test_json_precheck_edges(void **state)
{
	static const char alphabet[] = "\"\\[]{}a:";
	char deep[PB_MAX_JSON_DEPTH + 2], in[64];
	size_t len;
	char *s;
	uint64_t r = 7;

	(void)state;
	/* Depth exactly at the limit, one over, and closers resetting it. */
	memset(deep, '{', sizeof(deep));
	assert_int_equal(json_precheck(deep, PB_MAX_JSON_DEPTH), JSON_OK);
	assert_int_equal(json_precheck(deep, PB_MAX_JSON_DEPTH + 1),
	    JSON_TOO_DEEP);
	deep[PB_MAX_JSON_DEPTH] = '}';
	assert_int_equal(json_precheck(deep, PB_MAX_JSON_DEPTH + 2), JSON_OK);
	/* Brackets inside strings do not count, even after escapes. */
	assert_int_equal(json_precheck("\"\\\\\"[[[[[[[[[[[[[[[[[[", 22),
	    JSON_TOO_DEEP);
	assert_int_equal(json_precheck("\"\\\\\\\"[[[[[[[[[[[[[[[[[", 22),
	    JSON_OK);
	/* Unterminated strings and a backslash as the very last byte. */
	assert_int_equal(json_precheck("\"abc", 4), JSON_OK);
	assert_int_equal(json_precheck("\"abc\\", 5), JSON_OK);
	assert_int_equal(json_precheck("\"\\", 2), JSON_OK);
	assert_int_equal(json_precheck("\"", 1), JSON_OK);
	/* String length exactly at the limit and one over. */
	s = long_string(PB_MAX_STRING_BYTES, true, 'x', &len);
	assert_int_equal(json_precheck(s, len), JSON_OK);
	free(s);
	s = long_string(PB_MAX_STRING_BYTES + 1, true, 'x', &len);
	assert_int_equal(json_precheck(s, len), JSON_STRING_TOO_LONG);
	free(s);
	s = long_string(PB_MAX_STRING_BYTES, false, 'x', &len);
	assert_int_equal(json_precheck(s, len), JSON_OK);
	free(s);
	/* Ending inside an escape counts the byte that is not there. */
	s = long_string(PB_MAX_STRING_BYTES, false, '\\', &len);
	assert_int_equal(json_precheck(s, len), JSON_STRING_TOO_LONG);
	assert_int_equal(precheck_reference(s, len), JSON_STRING_TOO_LONG);
	free(s);
	/* Random short inputs over the interesting bytes match the walk. */
	for (int i = 0; i < 300000; i++) {
		size_t n;

		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (size_t)(r >> 58);
		for (size_t j = 0; j < n; j++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			in[j] = alphabet[(r >> 33) % (sizeof(alphabet) - 1)];
		}
		if (json_precheck(in, n) != precheck_reference(in, n))
			fail_msg("precheck disagrees on '%.*s'", (int)n, in);
	}
}

static void
test_json_keys(void **state)
{
	/* Every key event/decode.c indexes (event keys, then item keys). */
	static const char *const keys[] = {
		"action_source", "advertiser_tracking_enabled", "app_id",
		"app_info", "app_name", "app_version", "city", "click_id",
		"client_ip_address", "client_user_agent", "content_brand",
		"content_category", "content_ids", "content_name",
		"contents", "country", "ct", "currency", "custom_data",
		"date_of_birth", "db", "device_brand", "device_carrier",
		"device_info", "device_model", "device_type", "em", "email",
		"epik", "event", "event_id", "event_name",
		"event_source_url", "event_time", "external_id",
		"first_name", "fn", "ge", "gender", "hashed_maids",
		"language", "last_name", "leg", "line_items", "ln", "np",
		"num_items", "opt_out", "opt_out_type", "order_id",
		"order_quantity", "os_version", "partner_id", "partner_name",
		"ph", "phone", "postal_code", "predicted_ltv", "received_at",
		"search_query", "search_string", "source", "st", "state",
		"user_data", "value", "wifi", "zip", "zp", "id",
		"item_price", "quantity", "item_name", "item_category",
		"item_brand", "product_id", "product_price",
		"product_quantity", "product_name", "product_category",
		"product_brand",
	};
	static const char *const unknown[] = {
		"", "e", "em_", "emai", "Email", "EMAIL", "user", "user_dat",
		"user_data_", "event name", "product", "item", "value\x01",
	};
	struct json_keys *t = malloc(sizeof(*t));
	char name[16];
	size_t n = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	json_keys_init(t);
	assert_int_equal(json_keys_find(t, "em"), -1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_keys_add(t, keys[i], (int)i), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_keys_find(t, keys[i]), (int)i);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(json_keys_find(t, unknown[i]), -1);
	assert_int_equal(json_keys_add(t, "email", 1000), -1);
	assert_int_equal(json_keys_find(t, "email"), 27);
	/* Fill to capacity: every key still found, one more refused. */
	for (size_t i = n; i < JSON_KEYS_MAX; i++) {
		snprintf(name, sizeof(name), "k%zu", i);
		assert_int_equal(json_keys_add(t, strdup(name), (int)i), 0);
	}
	assert_int_equal(json_keys_add(t, "one_too_many", 0), -1);
	for (size_t i = 0; i < JSON_KEYS_MAX; i++) {
		if (i >= n)
			snprintf(name, sizeof(name), "k%zu", i);
		assert_int_equal(json_keys_find(t, i < n ? keys[i] : name),
		    (int)i);
	}
	/* The strdup()ed fillers are the only keys starting with 'k'. */
	for (size_t i = 0; i < JSON_KEYS_SLOTS; i++)
		if (t->slot[i].key && t->slot[i].key[0] == 'k')
			free((char *)t->slot[i].key);
	free(t);
}

static void
test_json_parse_trailing(void **state)
{
	size_t off = 0;
	cJSON *j;

	(void)state;
	j = json_parse("{\"a\":1}  \n", 10, &off);
	assert_non_null(j);
	cJSON_Delete(j);
	assert_null(json_parse("{\"a\":1} x", 9, &off));
	assert_int_equal(off, 8);
	assert_null(json_parse("{\"a\":", 5, &off));
	/* Not NUL-terminated input stops at len. */
	j = json_parse("{}garbage", 2, &off);
	assert_non_null(j);
	cJSON_Delete(j);
}

static void
test_lines(void **state)
{
	char text[] = "one\r\ntwo\n\nthree-is-too-long\nfour";
	FILE *f = fmemopen(text, strlen(text), "r");
	struct lines l;

	(void)state;
	lines_init(&l, f, 8);
	assert_int_equal(lines_next(&l), LINES_OK);
	assert_string_equal(l.line.data, "one");
	assert_int_equal(lines_next(&l), LINES_OK);
	assert_string_equal(l.line.data, "two");
	assert_int_equal(lines_next(&l), LINES_OK);
	assert_string_equal(l.line.data, "");
	assert_int_equal(lines_next(&l), LINES_TOO_LONG);
	assert_int_equal(l.lineno, 4);
	assert_int_equal(lines_next(&l), LINES_OK);
	assert_string_equal(l.line.data, "four");
	assert_int_equal(l.lineno, 5);
	assert_int_equal(lines_next(&l), LINES_EOF);
	lines_release(&l);
	fclose(f);
}

/*
 * lines_next_view() returns what lines_next() does, in place when it can:
 * lines across the 64 KiB block boundary, CRLF, empty, too long, and a
 * last line without a newline.
 */
static void
test_lines_view(void **state)
{
	struct buf text = BUF_INIT;
	struct lines a, b;
	enum lines_result ra, rb;
	FILE *fa, *fb;
	unsigned seed = 7;

	(void)state;
	while (text.len < 300 * 1024) {
		size_t n = (seed = seed * 1103515245 + 12345) >> 16 & 1023;

		for (size_t i = 0; i < n; i++)
			buf_addch(&text, (char)('a' + i % 26));
		buf_adds(&text, n % 3 ? "\n" : "\r\n");
		if (n % 7 == 0)
			buf_addch(&text, '\n');
	}
	buf_adds(&text, "last");
	fa = fmemopen(text.data, text.len, "r");
	fb = fmemopen(text.data, text.len, "r");
	lines_init(&a, fa, 900);
	lines_init(&b, fb, 900);
	do {
		const char *s;
		size_t len;

		ra = lines_next(&a);
		rb = lines_next_view(&b, &s, &len);
		assert_int_equal(ra, rb);
		assert_int_equal(a.lineno, b.lineno);
		if (ra == LINES_OK) {
			assert_int_equal(a.line.len, len);
			assert_memory_equal(a.line.data, s, len);
		}
	} while (ra != LINES_EOF);
	lines_release(&a);
	lines_release(&b);
	fclose(fa);
	fclose(fb);
	buf_release(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_alignment_and_growth),
		cmocka_unit_test(test_buf_basics),
		cmocka_unit_test(test_buf_json_escape),
		cmocka_unit_test(test_buf_json_escape_all_bytes),
		cmocka_unit_test(test_buf_json_escape_random),
		cmocka_unit_test(test_fmt_i64),
		cmocka_unit_test(test_fmt_fixed6),
		cmocka_unit_test(test_iso8601),
		cmocka_unit_test(test_iso8601_format),
		cmocka_unit_test(test_json_precheck),
		cmocka_unit_test(test_json_precheck_edges),
		cmocka_unit_test(test_json_keys),
		cmocka_unit_test(test_json_parse_trailing),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_lines_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

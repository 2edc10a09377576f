/*
 * The epik click id: parsing it out of page URLs and cookies, the cookie
 * the gateway sets, and the order batch_decode() picks a click id in
 * (event, then _epik cookie, then the page URL's epik).
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "event/hash.h"
#include "ingest/batch.h"
#include "ingest/epik.h"
#include "util/arena.h"
#include "util/buf.h"

static struct arena arena;

static int
setup(void **state)
{
	(void)state;
	arena_init(&arena, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	arena_release(&arena);
	return 0;
}

static const char *
from_url(const char *url)
{
	return epik_from_url(&arena, url);
}

static void
test_from_url(void **state)
{
	(void)state;
	assert_string_equal(from_url("https://s.example/p?epik=dj0yJnU9"),
	    "dj0yJnU9");
	assert_string_equal(from_url("https://s.example/?a=1&epik=X_y-Z&b=2"),
	    "X_y-Z");
	/* Percent escapes decode; '+' is kept (base64 carries it). */
	assert_string_equal(from_url("http://s/?epik=a%3D%3Db+c"), "a==b+c");
	/* The first epik counts, as in tag.js. */
	assert_string_equal(from_url("http://s/?epik=one&epik=two"), "one");
	/* A malformed escape keeps the raw value, like decodeURIComponent. */
	assert_string_equal(from_url("http://s/?epik=50%zz"), "50%zz");
	assert_string_equal(from_url("http://s/?epik=5%2"), "5%2");
	assert_null(from_url(NULL));
	assert_null(from_url("http://s/page"));
	assert_null(from_url("http://s/?xepik=1&notepik=2"));
	assert_null(from_url("http://s/?epik="));
	assert_null(from_url("http://s/?epik=&epik=late"));
	/* After '#' is the fragment, not the query. */
	assert_null(from_url("http://s/#?epik=frag"));
	assert_null(from_url("http://s/?a=1#&epik=frag"));
	assert_string_equal(from_url("http://s/?epik=q#epik=f"), "q");
	/* Control bytes are not a click id. */
	assert_null(from_url("http://s/?epik=a%0Ab"));
	assert_null(from_url("http://s/?epik=a%00b"));
}

static void
test_too_long(void **state)
{
	char url[EPIK_MAX_BYTES + 64];
	size_t n = (size_t)snprintf(url, sizeof(url), "http://s/?epik=");

	(void)state;
	memset(url + n, 'k', EPIK_MAX_BYTES);
	url[n + EPIK_MAX_BYTES] = '\0';
	assert_non_null(from_url(url));
	assert_int_equal(strlen(from_url(url)), EPIK_MAX_BYTES);
	url[n + EPIK_MAX_BYTES] = 'k';
	url[n + EPIK_MAX_BYTES + 1] = '\0';
	assert_null(from_url(url));
}

static void
test_decode_cookie(void **state)
{
	(void)state;
	assert_string_equal(epik_decode(&arena, "abc", 3), "abc");
	assert_string_equal(epik_decode(&arena, "a%3Bb%25c", 9), "a;b%c");
	assert_null(epik_decode(&arena, "", 0));
	assert_null(epik_decode(&arena, "%7F", 3));
}

static void
test_set_cookie(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	epik_set_cookie(&b, "dj0yJnU9=", false);
	assert_string_equal(b.data, "_epik=dj0yJnU9=; Max-Age=31536000; "
	    "Path=/; SameSite=Lax");
	buf_reset(&b);
	/* Bytes a cookie may not hold are escaped; epik_decode undoes it. */
	epik_set_cookie(&b, "a b;c\"d,e\\f%g\xc3\xa9", true);
	assert_string_equal(b.data, "_epik=a%20b%3Bc%22d%2Ce%5Cf%25g%C3%A9; "
	    "Max-Age=31536000; Path=/; SameSite=Lax; Secure");
	assert_string_equal(epik_decode(&arena, b.data + 6,
	    strcspn(b.data + 6, ";")), "a b;c\"d,e\\f%g\xc3\xa9");
	assert_null(strstr(b.data, "HttpOnly"));
	buf_release(&b);
}

/* ---- batch_decode: which click id an event ends up with ------------ */

struct decoded {
	struct batch b;
	char click_id[64];
	char ip[64];
	char ua[64];
};

static void
decode(const char *body, enum event_leg leg, const char *cookie,
    struct decoded *out)
{
	struct hasher *h = hasher_new();
	struct batch_source src;
	struct batch_error err;
	const char *p, *e;

	memset(&src, 0, sizeof(src));
	memset(out, 0, sizeof(*out));
	src.account = "shop";
	src.leg = leg;
	src.client_ip = "203.0.113.5";
	src.user_agent = "UA/2";
	src.click_id = cookie;
	src.now_ms = 1780000000000;
	src.max_age_s = 7 * 86400;
	assert_int_equal(batch_decode(&arena, h, &src, body, strlen(body),
	    &out->b, &err), 0);
	assert_int_equal(out->b.n_recs, 1);
	p = strstr(out->b.recs[0].payload, "\"click_id\":\"");
	if (p) {
		p += 12;
		e = strchr(p, '"');
		snprintf(out->click_id, sizeof(out->click_id), "%.*s",
		    (int)(e - p), p);
	}
	p = strstr(out->b.recs[0].payload, "\"client_ip_address\":\"");
	if (p) {
		p += 21;
		e = strchr(p, '"');
		snprintf(out->ip, sizeof(out->ip), "%.*s", (int)(e - p), p);
	}
	hasher_free(h);
}

#define PAGE	"\"event_source_url\":\"https://shop.example/p?epik=URL1\""

static void
test_batch_click_id_order(void **state)
{
	struct decoded d;

	(void)state;
	/* The event's own click id wins over the cookie and the URL. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\",\"click_id\":"
	    "\"EV1\"," PAGE "}", LEG_BROWSER, "COOKIE1", &d);
	assert_string_equal(d.click_id, "EV1");
	assert_string_equal(d.ip, "203.0.113.5");
	/* Then the cookie. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\"," PAGE "}",
	    LEG_BROWSER, "COOKIE1", &d);
	assert_string_equal(d.click_id, "COOKIE1");
	/* Then the page URL. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\"," PAGE "}",
	    LEG_BROWSER, NULL, &d);
	assert_string_equal(d.click_id, "URL1");
	/* The server leg reads its URL too, but never a cookie or socket. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\",\"email\":"
	    "\"a@b.co\"," PAGE "}", LEG_SERVER, "COOKIE1", &d);
	assert_string_equal(d.click_id, "URL1");
	assert_string_equal(d.ip, "");
	assert_null(d.b.epik);
	/* No epik anywhere: no click id. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\"}", LEG_BROWSER,
	    NULL, &d);
	assert_string_equal(d.click_id, "");
	assert_null(d.b.epik);
}

static void
test_batch_sets_cookie_for_new_epik(void **state)
{
	struct decoded d;

	(void)state;
	/* A page epik the cookie does not hold yet: the answer sets it. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\"," PAGE "}",
	    LEG_BROWSER, NULL, &d);
	assert_string_equal(d.b.epik, "URL1");
	assert_true(d.b.epik_secure);
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\"," PAGE "}",
	    LEG_BROWSER, "OLD", &d);
	assert_string_equal(d.b.epik, "URL1");
	/* Already the cookie's value: nothing to set. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\"," PAGE "}",
	    LEG_BROWSER, "URL1", &d);
	assert_null(d.b.epik);
	/* http page: no Secure attribute. */
	decode("{\"event_name\":\"checkout\",\"order_id\":\"1\","
	    "\"event_source_url\":\"http://127.0.0.1:8000/?epik=H\"}",
	    LEG_BROWSER, NULL, &d);
	assert_string_equal(d.b.epik, "H");
	assert_false(d.b.epik_secure);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_from_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_cookie, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_click_id_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_batch_sets_cookie_for_new_epik, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Merging the browser and server legs of one event (event/merge.h): the
 * union of identifiers, the server leg winning conflicts whichever leg
 * arrives first, and the wiring into a real SQLite store.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/event.h"
#include "event/hash.h"
#include "event/merge.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"

#define NOW 1780000000

/* 64 hex digits made of one repeated character. */
#define H4(c) c c c c
#define H16(c) H4(c) H4(c) H4(c) H4(c)
#define H(c) "\"" H16(c) H16(c) H16(c) H16(c) "\""

#define BROWSER \
	"{\"event_name\":\"checkout\",\"action_source\":\"web\"," \
	"\"event_time\":1780000005,\"event_id\":\"checkout:A-1\"," \
	"\"event_source_url\":\"https://shop.example/thanks?epik=E1\"," \
	"\"partner_name\":\"ss-pinbridge\",\"user_data\":{\"em\":[" H("a") \
	"],\"external_id\":[" H("c") "],\"client_ip_address\":\"203.0.113.9\"," \
	"\"client_user_agent\":\"Mozilla/5.0 (X11) Chrome\"," \
	"\"click_id\":\"E1\"},\"custom_data\":{\"currency\":\"USD\"," \
	"\"value\":\"10.00\",\"order_id\":\"A-1\"}}"

#define SERVER \
	"{\"event_name\":\"checkout\",\"action_source\":\"web\"," \
	"\"event_time\":1780000001,\"event_id\":\"checkout:A-1\"," \
	"\"partner_name\":\"ss-pinbridge\",\"user_data\":{\"em\":[" H("b") \
	"," H("a") "],\"ph\":[" H("d") "],\"client_ip_address\":\"198.51.100.7\"}," \
	"\"custom_data\":{\"currency\":\"USD\",\"value\":\"12.50\"," \
	"\"content_ids\":[\"sku-1\"],\"contents\":[{\"id\":\"sku-1\"," \
	"\"item_price\":\"12.50\",\"quantity\":1}],\"num_items\":1," \
	"\"order_id\":\"A-1\"}}"

/* Server scalars, browser gap fillers, unions in encoder order. */
#define MERGED \
	"{\"event_name\":\"checkout\",\"action_source\":\"web\"," \
	"\"event_time\":1780000001,\"event_id\":\"checkout:A-1\"," \
	"\"event_source_url\":\"https://shop.example/thanks?epik=E1\"," \
	"\"partner_name\":\"ss-pinbridge\",\"user_data\":{\"em\":[" H("b") \
	"," H("a") "],\"ph\":[" H("d") "],\"external_id\":[" H("c") "]," \
	"\"client_ip_address\":\"198.51.100.7\"," \
	"\"client_user_agent\":\"Mozilla/5.0 (X11) Chrome\"," \
	"\"click_id\":\"E1\"},\"custom_data\":{\"currency\":\"USD\"," \
	"\"value\":\"12.50\",\"content_ids\":[\"sku-1\"],\"contents\":[{" \
	"\"id\":\"sku-1\",\"item_price\":\"12.50\",\"quantity\":1}]," \
	"\"num_items\":1,\"order_id\":\"A-1\"}}"

static struct buf out;

static int
setup(void **state)
{
	(void)state;
	buf_init(&out, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	buf_release(&out);
	return 0;
}

static int
merge(const char *stored, const char *incoming, unsigned incoming_legs)
{
	unsigned other = incoming_legs == LEG_SERVER ? LEG_BROWSER : LEG_SERVER;

	buf_reset(&out);
	return event_merge_legs(NULL, stored, strlen(stored), incoming,
	    strlen(incoming), other | incoming_legs, incoming_legs, &out);
}

static void
test_server_arrives_second(void **state)
{
	(void)state;
	assert_int_equal(merge(BROWSER, SERVER, LEG_SERVER), 1);
	assert_string_equal(out.data, MERGED);
}

static void
test_server_arrives_first(void **state)
{
	(void)state;
	/* The stored row is the server's: the late browser leg only fills. */
	assert_int_equal(merge(SERVER, BROWSER, LEG_BROWSER), 1);
	assert_string_equal(out.data, MERGED);
}

static void
test_two_browser_legs_keep_first(void **state)
{
	const char *second = "{\"event_name\":\"checkout\",\"event_time\":9,"
	    "\"event_id\":\"checkout:A-1\",\"user_data\":{\"client_ip_address\":"
	    "\"192.0.2.1\",\"click_id\":\"E2\"}}";

	(void)state;
	buf_reset(&out);
	assert_int_equal(event_merge_legs(NULL, BROWSER, strlen(BROWSER),
	    second, strlen(second), LEG_BROWSER, LEG_BROWSER, &out), 1);
	assert_non_null(strstr(out.data, "\"client_ip_address\":\"203.0.113.9\""));
	assert_non_null(strstr(out.data, "\"click_id\":\"E1\""));
	assert_non_null(strstr(out.data, "\"event_time\":1780000005"));
	assert_null(strstr(out.data, "E2"));
}

static void
test_custom_data_from_browser_when_server_has_none(void **state)
{
	const char *server = "{\"event_name\":\"checkout\",\"event_time\":1,"
	    "\"event_id\":\"checkout:A-1\",\"user_data\":{\"em\":[" H("b") "]}}";

	(void)state;
	assert_int_equal(merge(BROWSER, server, LEG_SERVER), 1);
	assert_non_null(strstr(out.data, "\"custom_data\":{\"currency\":\"USD\","
	    "\"value\":\"10.00\",\"order_id\":\"A-1\"}"));
	/* The browser's hashes still join the server's. */
	assert_non_null(strstr(out.data, "\"em\":[" H("b") "," H("a") "]"));
}

static void
test_event_id_is_the_stored_one(void **state)
{
	const char *server = "{\"event_name\":\"checkout\",\"event_time\":1,"
	    "\"event_id\":\"renamed\",\"user_data\":{}}";

	(void)state;
	assert_int_equal(merge(BROWSER, server, LEG_SERVER), 1);
	assert_non_null(strstr(out.data, "\"event_id\":\"checkout:A-1\""));
	assert_null(strstr(out.data, "renamed"));
}

static void
test_union_is_capped(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	cJSON *root, *em;
	struct arena ar;

	(void)state;
	/* 20 distinct values on each side, 5 shared: 35 distinct, cap 32. */
	buf_adds(&a, "{\"event_id\":\"x\",\"user_data\":{\"em\":[");
	buf_adds(&b, "{\"event_id\":\"x\",\"user_data\":{\"em\":[");
	for (int i = 0; i < 20; i++) {
		buf_addf(&a, "%s\"%064d\"", i ? "," : "", i);
		buf_addf(&b, "%s\"%064d\"", i ? "," : "", i + 15);
	}
	buf_adds(&a, "]}}");
	buf_adds(&b, "]}}");
	buf_reset(&out);
	assert_int_equal(event_merge_legs(NULL, a.data, a.len, b.data, b.len,
	    3, LEG_SERVER, &out), 1);
	arena_init(&ar, 0);
	json_use_arena(&ar);
	root = json_parse(out.data, out.len, NULL);
	assert_non_null(root);
	em = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "user_data"), "em");
	assert_int_equal(cJSON_GetArraySize(em), PB_MAX_FIELD_VALUES);
	/* Winner's values first: the server's 15..34, then the browser's 0..11. */
	assert_string_equal(cJSON_GetArrayItem(em, 0)->valuestring,
	    "0000000000000000000000000000000000000000000000000000000000000015");
	assert_string_equal(cJSON_GetArrayItem(em, 20)->valuestring,
	    "0000000000000000000000000000000000000000000000000000000000000000");
	json_use_arena(NULL);
	arena_release(&ar);
	buf_release(&a);
	buf_release(&b);
}

static void
test_unknown_keys_survive(void **state)
{
	const char *s = "{\"event_id\":\"x\",\"user_data\":{\"new_id\":\"n1\"},"
	    "\"future\":{\"k\":[1,2.5,true,null]}}";
	const char *i = "{\"event_id\":\"x\",\"user_data\":{},\"future\":\"lose\"}";

	(void)state;
	assert_int_equal(merge(s, i, LEG_BROWSER), 1);
	assert_string_equal(out.data, "{\"event_id\":\"x\",\"user_data\":"
	    "{\"new_id\":\"n1\"},\"future\":{\"k\":[1,2.5,true,null]}}");
}

static void
test_bad_payload(void **state)
{
	(void)state;
	assert_int_equal(merge(BROWSER, "{not json", LEG_SERVER), -1);
	assert_int_equal(merge("[1]", SERVER, LEG_SERVER), -1);
	assert_int_equal(out.len, 0);
}

/* Encodes one event through the real pipeline into an arena string. */
static const char *
encode(struct arena *a, struct hasher *h, const char *json)
{
	struct event_ctx ctx = { a, h, NOW, PB_DEFAULT_MAX_AGE_S, NULL };
	struct event_diag d;
	struct event ev;
	struct buf b = BUF_INIT;
	cJSON *root;
	const char *s;

	event_diag_reset(&d);
	json_use_arena(a);
	root = json_parse(json, strlen(json), NULL);
	assert_non_null(root);
	assert_int_equal(event_from_json(&ctx, root, &ev, &d), 0);
	json_use_arena(NULL);
	event_encode(&ev, &b);
	s = arena_strdup(a, b.data);
	buf_release(&b);
	return s;
}

static void
set_rec(struct store_record *r, const char *payload, unsigned leg)
{
	memset(r, 0, sizeof(*r));
	r->account = "shop";
	r->event_id = "checkout:A-9";
	r->event_name = "checkout";
	r->event_time = NOW;
	r->received_at_ms = (int64_t)NOW * 1000 - 120000;
	r->legs = leg;
	r->order_id = "A-9";
	r->payload = payload;
	r->payload_len = strlen(payload);
}

static void
test_through_the_store(void **state)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char dir[] = "/tmp/pb-merge-XXXXXX";
	char path[64];
	struct store_config sc;
	struct store *st;
	struct store_record r;
	struct store_row *rows;
	struct arena a;
	struct hasher *h = hasher_new();
	const char *browser, *server;
	size_t n;
	cJSON *root, *ud;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pb.db", dir);
	arena_init(&a, 0);
	browser = encode(&a, h, "{\"event_name\":\"Checkout\",\"event_time\":"
	    "1780000000,\"order_id\":\"A-9\",\"client_ip_address\":\"203.0.113.9\","
	    "\"client_user_agent\":\"UA/1\",\"click_id\":\"E9\","
	    "\"event_source_url\":\"https://shop.example/done\"}");
	server = encode(&a, h, "{\"event_name\":\"checkout\",\"event_time\":"
	    "1780000000,\"order_id\":\"A-9\",\"email\":\"Jo@Example.com\","
	    "\"value\":\"42\",\"currency\":\"usd\"}");
	memset(&sc, 0, sizeof(sc));
	sc.path = path;
	sc.merge = event_merge_legs;
	assert_int_equal(store_open(&sc, &st), 0);
	set_rec(&r, browser, LEG_BROWSER);
	assert_int_equal(store_append(st, &r, 1), 0);
	assert_int_equal(r.outcome, STORE_NEW);
	set_rec(&r, server, LEG_SERVER);
	assert_int_equal(store_append(st, &r, 1), 0);
	assert_int_equal(r.outcome, STORE_MERGED);
	assert_int_equal(store_claim(st, "shop", "t", 10, 60000, &a, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].legs, LEG_BROWSER | LEG_SERVER);
	json_use_arena(&a);
	root = json_parse(rows[0].payload, rows[0].payload_len, NULL);
	assert_non_null(root);
	ud = cJSON_GetObjectItem(root, "user_data");
	assert_string_equal(json_get_str(root, "event_id"), "checkout:A-9");
	assert_string_equal(json_get_str(root, "event_source_url"),
	    "https://shop.example/done");
	assert_string_equal(json_get_str(ud, "click_id"), "E9");
	assert_string_equal(json_get_str(ud, "client_ip_address"), "203.0.113.9");
	assert_string_equal(json_get_str(ud, "client_user_agent"), "UA/1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ud, "em")), 1);
	assert_string_equal(json_get_str(cJSON_GetObjectItem(root, "custom_data"),
	    "value"), "42");
	json_use_arena(NULL);
	store_close(st);
	for (size_t i = 0; i < ARRAY_LEN(sfx); i++) {
		char f[96];

		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		unlink(f);
	}
	rmdir(dir);
	arena_release(&a);
	hasher_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_server_arrives_second, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_server_arrives_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_browser_legs_keep_first,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_custom_data_from_browser_when_server_has_none, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_event_id_is_the_stored_one,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_union_is_capped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_keys_survive, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_payload, setup, teardown),
		cmocka_unit_test(test_through_the_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

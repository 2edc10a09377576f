/*
 * The event pipeline end to end: JSON in, Pinterest JSON (or an error) out.
 * Hash vectors come from spec/pinterest-capi.md §10.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "event/event.h"
#include "event/hash.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"

#define NOW 1780000000	/* 2026-05-28T20:26:40Z */

static struct arena arena;
static struct event_ctx ctx;
static struct event_diag diag;
static struct event ev;
static struct buf out;

static int
setup(void **state)
{
	(void)state;
	arena_init(&arena, 0);
	ctx.arena = &arena;
	ctx.hasher = hasher_new();
	ctx.now_s = NOW;
	ctx.max_age_s = PB_DEFAULT_MAX_AGE_S;
	ctx.partner_name = "ss-pinbridge";
	buf_init(&out, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hasher_free(ctx.hasher);
	arena_release(&arena);
	buf_release(&out);
	return 0;
}

/* Converts one event; returns the output JSON or the error code. */
static const char *
convert(const char *json)
{
	cJSON *root;

	arena_reset(&arena);
	buf_reset(&out);
	event_diag_reset(&diag);
	json_use_arena(&arena);
	root = json_parse(json, strlen(json), NULL);
	assert_non_null(root);
	if (event_from_json(&ctx, root, &ev, &diag) < 0) {
		json_use_arena(NULL);
		return diag.error.code;
	}
	event_encode(&ev, &out);
	json_use_arena(NULL);
	/* Whatever we emit must itself be valid JSON. */
	root = cJSON_Parse(out.data);
	assert_non_null(root);
	cJSON_Delete(root);
	return out.data;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected\n  %s\nin\n  %s", needle, hay);
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("did not expect\n  %s\nin\n  %s", needle, hay);
}

static void
test_native_golden(void **state)
{
	(void)state;
	assert_string_equal(convert(
	    "{\"event_name\":\"checkout\",\"event_time\":1779999000,"
	    "\"order_id\":\"A-1001\",\"email\":\"test@gmail.com\","
	    "\"value\":19.99,\"currency\":\"usd\"}"),
	    "{\"event_name\":\"checkout\",\"action_source\":\"web\","
	    "\"event_time\":1779999000,\"event_id\":\"checkout:A-1001\","
	    "\"partner_name\":\"ss-pinbridge\",\"user_data\":{\"em\":"
	    "[\"87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674\"]},"
	    "\"custom_data\":{\"currency\":\"USD\",\"value\":\"19.99\","
	    "\"order_id\":\"A-1001\"}}");
	assert_int_equal(ev.id_origin, EVID_ORDER);
}

static void
test_spec_vectors_through_pipeline(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"lead\",\"email\":\" abc@gmail.com\","
	    "\"phone\":\"+1234589947 \",\"first_name\":\"Gaurav\","
	    "\"last_name\":\"Rudderlabs\",\"gender\":\"male\","
	    "\"city\":\"Kolkata\",\"state\":\"CA\",\"zip\":\"700114\","
	    "\"country\":\"IN\",\"date_of_birth\":\"19960314\","
	    "\"external_id\":\"50be5c78-6c3f-4b60-be84-97805a316fb1\","
	    "\"hashed_maids\":\"test123123\",\"event_id\":\"e1\"}");
	assert_contains(o, "\"em\":[\"48ddb93f0b30c475423fe177832912c5bcdce3cc72872f8051627967ef278e08\"]");
	assert_contains(o, "\"ph\":[\"d164bbe036663cb5c96835e9ccc6501e9a521127ea62f6359744928ba932413b\"]");
	assert_contains(o, "\"fn\":[\"44104fcaef8476724152090d6d7bd9afa8ca5b385f6a99d3c6cf36b943b9872d\"]");
	assert_contains(o, "\"ln\":[\"dcf000c2386fb76d22cefc0d118a8511bb75999019cd373df52044bccd1bd251\"]");
	assert_contains(o, "\"ge\":[\"62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a\"]");
	assert_contains(o, "\"ct\":[\"6689106ca7922c30b2fd2c175c85bc7fc2d52cc4941bdd7bb622c6cdc6284a85\"]");
	assert_contains(o, "\"st\":[\"6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126\"]");
	assert_contains(o, "\"zp\":[\"1a4292e00780e18d00e76fde9850aee5344e939ba593333cd5e4b4aa2cd33b0c\"]");
	assert_contains(o, "\"country\":[\"582967534d0f909d196b97f9e6921342777aea87b46fa52df165389db1fb8ccf\"]");
	assert_contains(o, "\"db\":[\"25f0dd07093aa653929e6e4d7710eeee84073ce654786612c09d1db67114c7ef\"]");
	assert_contains(o, "\"external_id\":[\"3217d71a74c219d6e31e28267b313a7ceb6a2c032db1a091c9416b25b2ae2bc8\"]");
	assert_contains(o, "\"hashed_maids\":[\"f4c2178860817a2c25d2cb3185aa25779b0ecaf17c30845926218e17a18a9f89\"]");
	assert_lacks(o, "gmail");
	assert_lacks(o, "Gaurav");
}

static void
test_more_spec_vectors(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"signup\",\"em\":\"x@y.com\","
	    "\"ph\":\"123456789\",\"ge\":\"non-binary\",\"country\":\"US\","
	    "\"event_id\":\"e2\"}");
	assert_contains(o, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225");
	assert_contains(o, "1b16b1df538ba12dc3f97edbb85caa7050d46c148134290feba80f8236c83db9");
	assert_contains(o, "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621");
}

static void
test_prehashed_passthrough(void **state)
{
	const char *o;

	(void)state;
	/* Upper-case hex is lowercased, never hashed a second time. */
	o = convert("{\"event_name\":\"checkout\",\"event_id\":\"x\","
	    "\"user_data\":{\"em\":[\"C551027F06BD3F307CCD6ABB61EDC500DEF2680944C010E932AB5B27A3A8F151\"]}}");
	assert_contains(o, "\"em\":[\"c551027f06bd3f307ccd6abb61edc500def2680944c010e932ab5b27a3a8f151\"]");
}

static void
test_pinterest_shaped(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"add_to_cart\",\"action_source\":\"web\","
	    "\"event_time\":1779990000,\"event_id\":\"evt-9\","
	    "\"event_source_url\":\"https://shop.example/p/1\","
	    "\"user_data\":{\"em\":[\"test@gmail.com\"],"
	    "\"client_ip_address\":\"203.0.113.9\","
	    "\"client_user_agent\":\"Mozilla/5.0\",\"click_id\":\"dj0yJnU9\"},"
	    "\"custom_data\":{\"currency\":\"EUR\",\"value\":\"12.50\","
	    "\"content_ids\":[\"sku-1\",42],\"contents\":[{\"id\":\"sku-1\","
	    "\"item_price\":12.5,\"quantity\":1}],\"num_items\":1}}");
	assert_contains(o, "\"client_ip_address\":\"203.0.113.9\"");
	assert_contains(o, "\"click_id\":\"dj0yJnU9\"");
	assert_contains(o, "\"content_ids\":[\"sku-1\",\"42\"]");
	assert_contains(o, "\"contents\":[{\"id\":\"sku-1\",\"item_price\":\"12.5\",\"quantity\":1}]");
	assert_contains(o, "\"value\":\"12.50\"");
	assert_contains(o, "\"num_items\":1");
	assert_contains(o, "\"event_source_url\":\"https://shop.example/p/1\"");
}

static void
test_tag_style(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"AddToCart\",\"em\":\"Test@Gmail.com\","
	    "\"order_quantity\":\"2\",\"value\":\"40\",\"currency\":\"GBP\","
	    "\"line_items\":[{\"product_id\":\"p1\",\"product_price\":\"20.00\","
	    "\"product_quantity\":2,\"product_name\":\"Mug\","
	    "\"product_variant\":\"blue\"}],\"event_id\":\"t1\"}");
	assert_contains(o, "\"event_name\":\"add_to_cart\"");
	assert_contains(o, "87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674");
	assert_contains(o, "\"num_items\":2");
	assert_contains(o, "\"content_ids\":[\"p1\"]");
	assert_contains(o, "\"contents\":[{\"id\":\"p1\",\"item_price\":\"20.00\",\"quantity\":2,\"item_name\":\"Mug\"}]");
	assert_lacks(o, "variant");
	o = convert("{\"event\":\"search\",\"search_query\":\"lamp\","
	    "\"em\":\"a@b.co\",\"event_id\":\"s\"}");
	assert_contains(o, "\"search_string\":\"lamp\"");
}

static void
test_event_names(void **state)
{
	static const struct {
		const char *in, *capi;
	} cases[] = {
		{ "PageVisit", "page_visit" }, { "pagevisit", "page_visit" },
		{ "ViewCategory", "view_category" }, { "Search", "search" },
		{ "AddToCart", "add_to_cart" }, { "addtocart", "add_to_cart" },
		{ "Checkout", "checkout" }, { "CHECKOUT", "checkout" },
		{ "Signup", "signup" }, { "sign_up", "signup" },
		{ "Lead", "lead" }, { "WatchVideo", "watch_video" },
		{ "Custom", "custom" }, { "AddPaymentInfo", "add_payment_info" },
		{ "AddToWishList", "add_to_wishlist" }, { "purchase", "checkout" },
		{ "view_content", "view_content" }, { "app_install", "app_install" },
	};
	char json[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char want[64];

		snprintf(json, sizeof(json), "{\"event_name\":\"%s\","
		    "\"em\":\"a@b.co\",\"event_id\":\"1\"}", cases[i].in);
		snprintf(want, sizeof(want), "\"event_name\":\"%s\"",
		    cases[i].capi);
		assert_contains(convert(json), want);
	}
	assert_string_equal(convert("{\"event_name\":\"Purchased\","
	    "\"em\":\"a@b.co\"}"), "unknown_event_name");
	assert_non_null(strstr(diag.error.message, "add_to_cart"));
	assert_string_equal(convert("{\"em\":\"a@b.co\"}"),
	    "missing_event_name");
}

static void
test_event_time(void **state)
{
	(void)state;
	convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\"}");
	assert_int_equal(ev.event_time, NOW);
	/* Milliseconds are detected, converted, and warned about. */
	convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":1779999000123}");
	assert_int_equal(ev.event_time, 1779999000);
	assert_true(diag.n_warnings >= 1);
	convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":\"2026-05-28T20:00:00+02:00\"}");
	assert_int_equal(ev.event_time, 1779991200);
	convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":\"1779999000\"}");
	assert_int_equal(ev.event_time, 1779999000);
	assert_string_equal(convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":1780000400}"), "event_time_in_future");
	/* 5 minutes of skew is fine. */
	convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":1780000290}");
	assert_int_equal(ev.event_time, 1780000290);
	assert_string_equal(convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":1779300000}"), "event_too_old");
	assert_string_equal(convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":\"yesterday\"}"), "invalid_event_time");
	assert_string_equal(convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":true}"), "invalid_event_time");
	ctx.max_age_s = 30 * 86400;
	convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_time\":1779300000}");
	assert_int_equal(ev.event_time, 1779300000);
	ctx.max_age_s = PB_DEFAULT_MAX_AGE_S;
}

static void
test_event_id(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"Checkout\",\"order_id\":\"  55 \","
	    "\"em\":\"a@b.co\"}");
	assert_contains(o, "\"event_id\":\"checkout:55\"");
	o = convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"event_id\":\"given\",\"order_id\":\"9\"}");
	assert_contains(o, "\"event_id\":\"given\"");
	assert_int_equal(ev.id_origin, EVID_GIVEN);
	convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\"}");
	assert_int_equal(ev.id_origin, EVID_RANDOM);
	assert_int_equal(strlen(ev.event_id), 36);
	assert_int_equal(ev.event_id[14], '4');
	assert_true(strchr("89ab", ev.event_id[19]) != NULL);
	assert_string_equal(diag.warnings[0].field, "event_id");
}

static void
test_identity_rule(void **state)
{
	(void)state;
	assert_string_equal(convert("{\"event_name\":\"lead\","
	    "\"client_ip_address\":\"198.51.100.7\"}"), "missing_identity");
	assert_string_equal(diag.error.field, "client_user_agent");
	assert_string_equal(convert("{\"event_name\":\"lead\","
	    "\"phone\":\"+44 20 7946 0958\"}"), "missing_identity");
	assert_non_null(strstr(diag.error.message, "none of them"));
	/* IP and UA together suffice. */
	assert_non_null(strstr(convert("{\"event_name\":\"lead\","
	    "\"client_ip_address\":\"2001:db8::1\",\"client_user_agent\":\"UA\"}"),
	    "\"client_ip_address\":\"2001:db8::1\""));
	assert_non_null(strstr(convert("{\"event_name\":\"lead\","
	    "\"hashed_maids\":\"AEBE52E7-03EE-455A-B3C4-E57283966239\"}"),
	    "hashed_maids"));
	/* A bad IP is dropped with a warning, and then identity fails. */
	assert_string_equal(convert("{\"event_name\":\"lead\","
	    "\"client_ip_address\":\"999.1.1.1\",\"client_user_agent\":\"UA\"}"),
	    "missing_identity");
}

static void
test_bad_values_dropped_with_warning(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"gender\":\"unknown\",\"date_of_birth\":\"13/45/1990\","
	    "\"country\":\"Atlantis\",\"event_id\":\"w\"}");
	assert_lacks(o, "\"ge\"");
	assert_lacks(o, "\"db\"");
	assert_lacks(o, "\"country\"");
	assert_int_equal(diag.n_warnings, 3);
	/* Warnings name the field, never the value (no raw PII in logs). */
	for (size_t i = 0; i < diag.n_warnings; i++) {
		assert_null(strstr(diag.warnings[i].message, "Atlantis"));
		assert_null(strstr(diag.warnings[i].message, "13/45"));
	}
}

static void
test_custom_data_types(void **state)
{
	(void)state;
	assert_string_equal(convert("{\"event_name\":\"checkout\","
	    "\"em\":\"a@b.co\",\"value\":\"twelve\"}"), "invalid_value");
	assert_string_equal(diag.error.field, "value");
	assert_string_equal(convert("{\"event_name\":\"checkout\","
	    "\"em\":\"a@b.co\",\"value\":[1]}"), "invalid_value");
	assert_string_equal(convert("{\"event_name\":\"checkout\","
	    "\"em\":\"a@b.co\",\"currency\":\"US$\"}"), "invalid_currency");
	assert_string_equal(convert("{\"event_name\":\"checkout\","
	    "\"em\":\"a@b.co\",\"num_items\":1.5}"), "invalid_value");
	assert_string_equal(convert("{\"event_name\":\"checkout\","
	    "\"em\":\"a@b.co\",\"contents\":[{\"id\":\"a\",\"quantity\":\"x\"}]}"),
	    "invalid_value");
	assert_contains(convert("{\"event_name\":\"checkout\",\"em\":\"a@b.co\","
	    "\"value\":0.1,\"num_items\":\"3\",\"event_id\":\"v\"}"),
	    "\"value\":\"0.1\",\"num_items\":3");
	assert_contains(convert("{\"event_name\":\"checkout\",\"em\":\"a@b.co\","
	    "\"value\":\" .5 \",\"event_id\":\"v\"}"), "\"value\":\"0.5\"");
	assert_contains(convert("{\"event_name\":\"checkout\",\"em\":\"a@b.co\","
	    "\"value\":100,\"event_id\":\"v\"}"), "\"value\":\"100\"");
	/* null and "" mean absent. */
	assert_lacks(convert("{\"event_name\":\"checkout\",\"em\":\"a@b.co\","
	    "\"value\":null,\"currency\":\"\",\"event_id\":\"v\"}"),
	    "custom_data");
}

static void
test_unknown_keys_never_reach_output(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"checkout\",\"em\":\"a@b.co\","
	    "\"event_id\":\"u\",\"category_name\":\"x\","
	    "\"custom_data\":{\"category_name\":\"y\",\"value\":\"1\"},"
	    "\"user_data\":{\"value\":\"2\"},\"np\":\"ss-x\","
	    "\"device_info\":{\"os\":\"x\"}}");
	assert_lacks(o, "category_name");
	assert_lacks(o, "device_info");
	assert_lacks(o, "\"np\"");
	assert_contains(o, "\"value\":\"1\"");
	assert_lacks(o, "\"value\":\"2\"");
}

static void
test_arrays_dedupe_and_mix(void **state)
{
	const char *o;

	(void)state;
	/* The same address three ways is one hash. */
	o = convert("{\"event_name\":\"lead\",\"event_id\":\"a\","
	    "\"email\":[\"test@gmail.com\",\" TEST@gmail.com\u00a0\"],"
	    "\"user_data\":{\"em\":[\"87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674\"]}}");
	assert_contains(o, "\"em\":[\"87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674\"]");
	o = convert("{\"event_name\":\"lead\",\"event_id\":\"a\","
	    "\"em\":[\"a@b.co\",\"c@d.co\",null,\"\",5]}");
	assert_int_equal(ev.user[UF_EM].n, 2);
}

static void
test_zip_uses_country(void **state)
{
	char hex[65];
	const char *o;

	(void)state;
	/* Country after zip in the object still governs the zip rule. */
	o = convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\",\"event_id\":\"z\","
	    "\"zip\":\"SW1A 1AA\",\"country\":\"United Kingdom\"}");
	hasher_sha256_hex(ctx.hasher, "sw1a1aa", 7, hex);
	assert_contains(o, hex);
	o = convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\",\"event_id\":\"z\","
	    "\"zip\":\"94025-1234\"}");
	hasher_sha256_hex(ctx.hasher, "94025", 5, hex);
	assert_contains(o, hex);
	o = convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\",\"event_id\":\"z\","
	    "\"zip\":2134,\"country\":\"us\"}");
	assert_int_equal(ev.user[UF_ZP].n, 0);	/* 4 digits: not a US ZIP */
}

static void
test_escaping_and_optional_fields(void **state)
{
	const char *o;

	(void)state;
	o = convert("{\"event_name\":\"page_visit\",\"event_id\":\"q\\\"x\","
	    "\"client_ip_address\":\"10.0.0.1\",\"client_user_agent\":\"A\\tB\","
	    "\"opt_out\":false,\"language\":\"en-GB\",\"partner_name\":\"ss-x\","
	    "\"action_source\":\"OFFLINE\",\"source\":\"browser\"}");
	assert_contains(o, "\"event_id\":\"q\\\"x\"");
	assert_contains(o, "\"client_user_agent\":\"A\\tB\"");
	assert_contains(o, "\"opt_out\":false");
	assert_contains(o, "\"language\":\"en\"");
	assert_contains(o, "\"partner_name\":\"ss-x\"");
	assert_contains(o, "\"action_source\":\"offline\"");
	assert_int_equal(ev.leg, LEG_BROWSER);
	assert_string_equal(convert("{\"event_name\":\"lead\",\"em\":\"a@b.co\","
	    "\"action_source\":\"email\"}"), "invalid_action_source");
	assert_string_equal(convert("[1]"), "invalid_event");
}

static void
test_error_encoding(void **state)
{
	struct event_error err = { "invalid_value", "value", "value \"x\"" };

	(void)state;
	buf_reset(&out);
	event_encode_error(&err, &out);
	assert_string_equal(out.data, "{\"error\":{\"code\":\"invalid_value\","
	    "\"message\":\"value \\\"x\\\"\",\"field\":\"value\"}}");
}

static void
test_order_id_derivation_matches_js_contract(void **state)
{
	(void)state;
	/* tag.js derives exactly this string; see web/tag.js. */
	assert_string_equal(event_id_for_order(&arena, "checkout", "A-1001"),
	    "checkout:A-1001");
}

/* Hashes of 1-2 lowercase letters come from a memo: same digests. */
static void
test_hash_memo(void **state)
{
	static const char hex[] = "0123456789abcdef";
	char in[3], want[65], got[65];
	unsigned char md[32];
	unsigned int mdlen;

	(void)state;
	for (int len = 1; len <= 2; len++) {
		for (int i = 0; i < 26 * 26; i++) {
			in[0] = (char)('a' + i / 26);
			in[1] = (char)('a' + i % 26);
			if (len == 1 && i % 26)
				continue;
			assert_true(EVP_Digest(in, (size_t)len, md, &mdlen,
			    EVP_sha256(), NULL));
			for (int k = 0; k < 32; k++) {
				want[2 * k] = hex[md[k] >> 4];
				want[2 * k + 1] = hex[md[k] & 15];
			}
			want[64] = '\0';
			/* First call fills the memo, the second reads it. */
			hasher_sha256_hex(ctx.hasher, in, (size_t)len, got);
			assert_string_equal(got, want);
			hasher_sha256_hex(ctx.hasher, in, (size_t)len, got);
			assert_string_equal(got, want);
		}
	}
	/* Not memoized: upper case, digits, longer, empty. */
	hasher_sha256_hex(ctx.hasher, "", 0, got);
	assert_string_equal(got, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	hasher_sha256_hex(ctx.hasher, "US", 2, got);
	hasher_sha256_hex(ctx.hasher, "us", 2, want);
	assert_string_not_equal(got, want);
}

/*
 * A tree parsed with malloc is not borrowed from: the event must survive
 * cJSON_Delete() (ASan checks this in the sanitizer build).
 */
static void
test_tree_outside_arena_is_copied(void **state)
{
	static const char json[] = "{\"event_name\":\"lead\","
	    "\"em\":\"a@b.co\",\"event_id\":\"id-1\","
	    "\"client_user_agent\":\"UA\",\"order_id\":\" o-1 \"}";
	cJSON *root;

	(void)state;
	arena_reset(&arena);
	buf_reset(&out);
	event_diag_reset(&diag);
	root = json_parse(json, strlen(json), NULL);
	assert_non_null(root);
	assert_int_equal(event_from_json(&ctx, root, &ev, &diag), 0);
	cJSON_Delete(root);
	event_encode(&ev, &out);
	assert_contains(out.data, "\"event_id\":\"id-1\"");
	assert_contains(out.data, "\"client_user_agent\":\"UA\"");
	assert_contains(out.data, "\"order_id\":\"o-1\"");
}

/* count_only: warnings are counted and name their field, no text. */
static void
test_warnings_count_only(void **state)
{
	static const char json[] = "{\"event_name\":\"lead\","
	    "\"em\":\"a@b.co\",\"event_id\":\"w\",\"foo\":1,"
	    "\"gender\":\"unknown\"}";
	cJSON *root;

	(void)state;
	arena_reset(&arena);
	event_diag_reset(&diag);
	diag.count_only = true;
	json_use_arena(&arena);
	root = json_parse(json, strlen(json), NULL);
	assert_int_equal(event_from_json(&ctx, root, &ev, &diag), 0);
	json_use_arena(NULL);
	assert_int_equal(diag.n_warnings, 2);
	assert_string_equal(diag.warnings[0].field, "foo");
	assert_string_equal(diag.warnings[0].message, "");
	assert_string_equal(diag.warnings[1].field, "ge");
	event_diag_reset(&diag);
	assert_false(diag.count_only);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_golden),
		cmocka_unit_test(test_spec_vectors_through_pipeline),
		cmocka_unit_test(test_more_spec_vectors),
		cmocka_unit_test(test_prehashed_passthrough),
		cmocka_unit_test(test_pinterest_shaped),
		cmocka_unit_test(test_tag_style),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_event_time),
		cmocka_unit_test(test_event_id),
		cmocka_unit_test(test_identity_rule),
		cmocka_unit_test(test_bad_values_dropped_with_warning),
		cmocka_unit_test(test_custom_data_types),
		cmocka_unit_test(test_unknown_keys_never_reach_output),
		cmocka_unit_test(test_arrays_dedupe_and_mix),
		cmocka_unit_test(test_zip_uses_country),
		cmocka_unit_test(test_escaping_and_optional_fields),
		cmocka_unit_test(test_error_encoding),
		cmocka_unit_test(test_order_id_derivation_matches_js_contract),
		cmocka_unit_test(test_hash_memo),
		cmocka_unit_test(test_tree_outside_arena_is_copied),
		cmocka_unit_test(test_warnings_count_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

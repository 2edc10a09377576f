/*
 * GET /v1/tag.js: the embedded script is web/tag.js byte for byte, served
 * with its caching headers and revalidated by ETag. And the script derives
 * the same event ids as the gateway: node runs the embedded bytes over a
 * table of (event name, data) pairs and every answer is checked against
 * the C pipeline (event_name_to_capi, event_finish's event_id).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "event/event.h"
#include "event/hash.h"
#include "event/names.h"
#include "ingest/tag.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, len);
}

static const char *
source_root(void)
{
	const char *r = getenv("PB_SOURCE_ROOT");

	return r ? r : ".";
}

static void
test_embedded_is_web_tag_js(void **state)
{
	char path[1024];
	size_t len, elen;
	char *disk;
	const char *js = tag_js(&elen);

	(void)state;
	snprintf(path, sizeof(path), "%s/web/tag.js", source_root());
	disk = slurp(path, &len);
	assert_non_null(disk);
	assert_int_equal(len, elen);
	assert_memory_equal(disk, js, len);
	/* A strong validator: quoted, not W/. */
	assert_int_equal(tag_etag()[0], '"');
	assert_int_equal(tag_etag()[strlen(tag_etag()) - 1], '"');
	assert_true(strlen(tag_etag()) > 10);
	free(disk);
}

static void
test_etag_matches(void **state)
{
	const char *e = "\"abc123\"";

	(void)state;
	assert_true(tag_etag_matches("\"abc123\"", e));
	assert_true(tag_etag_matches("W/\"abc123\"", e));
	assert_true(tag_etag_matches("\"old\", \"abc123\"", e));
	assert_true(tag_etag_matches("\"old\",W/\"abc123\"", e));
	assert_true(tag_etag_matches("*", e));
	assert_false(tag_etag_matches(NULL, e));
	assert_false(tag_etag_matches("", e));
	assert_false(tag_etag_matches("\"abc12\"", e));
	assert_false(tag_etag_matches("\"abc1234\"", e));
	assert_false(tag_etag_matches("abc123", e));
	assert_false(tag_etag_matches("\"abc123", e));
	assert_false(tag_etag_matches("\"x\", junk, \"y\"", e));
}

/* ---- over HTTP ------------------------------------------------------ */

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	unsigned status;

	(void)cls;
	(void)url;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	return tag_serve(c, method, &status);
}

struct reply {
	long status;
	struct buf headers;
	struct buf body;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

static void
fetch(int port, const char *method, const char *inm, struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[64], hdr[256];

	assert_non_null(c);
	buf_init(&r->headers, 0);
	buf_init(&r->body, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d" TAG_PATH, port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (inm) {
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", inm);
		h = curl_slist_append(h, hdr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void
reply_free(struct reply *r)
{
	buf_release(&r->headers);
	buf_release(&r->body);
}

static bool
has_header(const struct reply *r, const char *line)
{
	return strstr(r->headers.data, line) != NULL;
}

static void
test_serve(void **state)
{
	struct sockaddr_in sin;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	struct reply r;
	char etag_line[128], weak[128];
	size_t len;
	const char *js = tag_js(&len);
	int port;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
	    on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_END);
	assert_non_null(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info->port;
	snprintf(etag_line, sizeof(etag_line), "ETag: %s\r\n", tag_etag());

	fetch(port, "GET", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Type: application/javascript; "
	    "charset=utf-8\r\n"));
	assert_true(has_header(&r, "Cache-Control: public, max-age=3600\r\n"));
	assert_true(has_header(&r, etag_line));
	assert_int_equal(r.body.len, len);
	assert_memory_equal(r.body.data, js, len);
	reply_free(&r);

	fetch(port, "GET", tag_etag(), &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body.len, 0);
	assert_true(has_header(&r, etag_line));
	assert_true(has_header(&r, "Cache-Control: public, max-age=3600\r\n"));
	reply_free(&r);

	snprintf(weak, sizeof(weak), "\"stale\", W/%s", tag_etag());
	fetch(port, "GET", weak, &r);
	assert_int_equal(r.status, 304);
	reply_free(&r);

	fetch(port, "GET", "\"stale\"", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, len);
	reply_free(&r);

	fetch(port, "HEAD", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_true(has_header(&r, etag_line));
	reply_free(&r);

	fetch(port, "POST", NULL, &r);
	assert_int_equal(r.status, 405);
	assert_true(has_header(&r, "Allow: GET, HEAD\r\n"));
	reply_free(&r);

	MHD_stop_daemon(d);
}

/* ---- the same ids in JavaScript and C ------------------------------- */

/*
 * Event name and event data (JSON) pairs. Names cover the tag's, the
 * API's and the aliases; data covers what read_string() does to an
 * order id (trim, numbers, non-values) and a given event_id.
 */
static const struct {
	const char *name;
	const char *data;
} cases[] = {
	{ "Checkout", "{\"order_id\":\"1001\"}" },
	{ "checkout", "{\"order_id\":\"1001\"}" },
	{ "purchase", "{\"order_id\":\"A-77\"}" },
	{ "Order Completed", "{\"order_id\":\"A-77\"}" },
	{ "AddToCart", "{\"order_id\":\"c-1\"}" },
	{ "add_to_cart", "{\"order_id\":\"c-1\"}" },
	{ "Add To-Cart", "{\"order_id\":\"c-1\"}" },
	{ "addtocart", "{\"order_id\":\"c-1\"}" },
	{ "PageVisit", "{\"order_id\":\"p\"}" },
	{ "page_view", "{\"order_id\":\"p\"}" },
	{ "Signup", "{\"order_id\":\"s1\"}" },
	{ "sign_up", "{\"order_id\":\"s1\"}" },
	{ "CompleteRegistration", "{\"order_id\":\"s1\"}" },
	{ "WatchVideo", "{\"order_id\":\"v\"}" },
	{ "ViewCategory", "{\"order_id\":\"v\"}" },
	{ "view_item_list", "{\"order_id\":\"v\"}" },
	{ "Lead", "{\"order_id\":\"l\"}" },
	{ "generate_lead", "{\"order_id\":\"l\"}" },
	{ "Search", "{\"order_id\":\"q\"}" },
	{ "Custom", "{\"order_id\":\"c\"}" },
	{ "AddPaymentInfo", "{\"order_id\":\"x\"}" },
	{ "AddToWishList", "{\"order_id\":\"x\"}" },
	{ "Contact", "{\"order_id\":\"x\"}" },
	{ "begin_checkout", "{\"order_id\":\"x\"}" },
	{ "InitiateCheckout", "{\"order_id\":\"x\"}" },
	{ "view_content", "{\"order_id\":\"x\"}" },
	{ "StartTrial", "{\"order_id\":\"x\"}" },
	{ "checkout", "{\"order_id\":\"  1001 \\t\"}" },
	{ "checkout", "{\"order_id\":\"\\u200b\\u00a01001\\u0085\\u3000\"}" },
	{ "checkout", "{\"order_id\":\"Bestellung Nr. 5 \\u00fc\"}" },
	{ "checkout", "{\"order_id\":\"a:b/c?d#e\"}" },
	{ "checkout", "{\"order_id\":12345}" },
	{ "checkout", "{\"order_id\":-7}" },
	{ "checkout", "{\"order_id\":-0}" },
	{ "checkout", "{\"order_id\":1e3}" },
	{ "checkout", "{\"order_id\":9007199254740993}" },
	{ "checkout", "{\"order_id\":999999999999999999}" },
	{ "checkout", "{\"order_id\":1e18}" },
	{ "checkout", "{\"order_id\":12.5}" },
	{ "checkout", "{\"order_id\":true}" },
	{ "checkout", "{\"order_id\":null}" },
	{ "checkout", "{\"order_id\":\"\"}" },
	{ "checkout", "{\"order_id\":\"   \"}" },
	{ "checkout", "{\"order_id\":[\"1\"]}" },
	{ "checkout", "{}" },
	{ "checkout", "{\"event_id\":\"given-1\",\"order_id\":\"9\"}" },
	{ "checkout", "{\"event_id\":\" given-2 \"}" },
	{ "checkout", "{\"event_id\":42}" },
	{ "checkout", "{\"event_id\":\"\",\"order_id\":\"9\"}" },
	{ "checkout", "{\"custom_data\":{\"order_id\":\"nested-1\"}}" },
	/* Names the gateway refuses: no deterministic id on either side. */
	{ "MyCustomEvent", "{\"order_id\":\"1\"}" },
	{ "Step2", "{\"order_id\":\"1\"}" },
	{ "Ch\xc3\xa9" "ckout", "{\"order_id\":\"1\"}" },
	{ "checkout.", "{\"order_id\":\"1\"}" },
	{ "", "{\"order_id\":\"1\"}" },
	{ "addtocartaddtocartaddtocartaddto", "{\"order_id\":\"1\"}" },
};

/* The JS harness: the embedded tag.js, then one JSON line per case. */
static const char harness_head[] =
	"'use strict';\n"
	"globalThis.window = globalThis;\n";
static const char harness_tail[] =
	"\n;(function () {\n"
	"  const fs = require('fs');\n"
	"  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));\n"
	"  const src = fs.readFileSync(process.argv[3], 'utf8');\n"
	"  const keys = [];\n"
	"  for (const m of src.matchAll(/\\{ \"([a-z]+)\", \"([a-z_]+)\" \\}/g))\n"
	"    keys.push(m[1]);\n"
	"  const out = [];\n"
	"  for (const c of cases)\n"
	"    out.push([window.pinbridge.capiName(c[0]),\n"
	"              window.pinbridge.eventId(c[0], c[1])]);\n"
	"  for (const k of keys)\n"
	"    out.push([k, window.pinbridge.capiName(k)]);\n"
	"  process.stdout.write(JSON.stringify({cases: out, keys: keys.length}));\n"
	"})();\n";

static bool
is_uuid4(const char *s)
{
	if (strlen(s) != 36 || s[14] != '4' || !strchr("89ab", s[19]))
		return false;
	for (int i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' :
		    !strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* The gateway's id for one case, or NULL when it rejects the event. */
static const char *
c_event_id(struct arena *a, struct hasher *h, const char *name,
    const char *data, enum event_id_origin *origin)
{
	struct event_ctx ctx = { a, h, 1780000000, PB_DEFAULT_MAX_AGE_S, NULL };
	struct event_diag d;
	struct event ev;
	cJSON *obj;

	json_use_arena(a);
	obj = json_parse(data, strlen(data), NULL);
	assert_non_null(obj);
	cJSON_AddItemToObject(obj, "event_name", cJSON_CreateString(name));
	cJSON_AddItemToObject(obj, "client_ip_address",
	    cJSON_CreateString("192.0.2.1"));
	cJSON_AddItemToObject(obj, "client_user_agent",
	    cJSON_CreateString("UA"));
	event_diag_reset(&d);
	if (event_from_json(&ctx, obj, &ev, &d) < 0) {
		json_use_arena(NULL);
		return NULL;
	}
	json_use_arena(NULL);
	*origin = ev.id_origin;
	return ev.event_id;
}

/* Runs the harness; returns its exit status, the command in cmd. */
static int
run_node(const char *js_path, const char *cases_path, struct buf *out,
    char *cmd, size_t cmdlen)
{
	const char *node = getenv("PB_NODE") ? getenv("PB_NODE") : "node";
	char chunk[4096];
	FILE *p;
	size_t n;

	snprintf(cmd, cmdlen, "%s '%s' '%s' '%s/src/event/names.c'",
	    node, js_path, cases_path, source_root());
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_add(out, chunk, n);
	return pclose(p);
}

static void
test_same_ids_in_js_and_c(void **state)
{
	char dir[] = "/tmp/pb-tagids-XXXXXX";
	char js_path[64], cases_path[64];
	struct buf js = BUF_INIT, cj = BUF_INIT, out = BUF_INIT;
	struct arena a;
	struct hasher *h = hasher_new();
	size_t len, n_cases = ARRAY_LEN(cases), deterministic = 0;
	const char *tag = tag_js(&len);
	cJSON *root, *res, *item;
	FILE *f;
	char cmd[1024];
	int nkeys, rc, i = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(js_path, sizeof(js_path), "%s/harness.js", dir);
	snprintf(cases_path, sizeof(cases_path), "%s/cases.json", dir);
	buf_adds(&js, harness_head);
	buf_add(&js, tag, len);
	buf_adds(&js, harness_tail);
	buf_addch(&cj, '[');
	for (size_t k = 0; k < n_cases; k++) {
		buf_adds(&cj, k ? ",[" : "[");
		buf_add_json_cstr(&cj, cases[k].name);
		buf_addch(&cj, ',');
		buf_adds(&cj, cases[k].data);
		buf_addch(&cj, ']');
	}
	buf_addch(&cj, ']');
	f = fopen(js_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(js.data, 1, js.len, f), js.len);
	fclose(f);
	f = fopen(cases_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(cj.data, 1, cj.len, f), cj.len);
	fclose(f);

	rc = run_node(js_path, cases_path, &out, cmd, sizeof(cmd));
	unlink(js_path);
	unlink(cases_path);
	rmdir(dir);
	if (rc != 0)
		fail_msg("`%s` failed (status %d): node is needed for this test "
		    "(Debian package nodejs; `make test` installs it)", cmd, rc);

	arena_init(&a, 0);
	json_use_arena(&a);
	root = json_parse(out.data, out.len, NULL);
	json_use_arena(NULL);
	assert_non_null(root);
	res = cJSON_GetObjectItem(root, "cases");
	nkeys = cJSON_GetObjectItem(root, "keys")->valueint;
	/* names.c's table was found and read (it has 30-odd spellings). */
	assert_true(nkeys >= 30);
	assert_int_equal(cJSON_GetArraySize(res), (int)n_cases + nkeys);
	cJSON_ArrayForEach(item, res) {
		const cJSON *x = cJSON_GetArrayItem(item, 0);
		const cJSON *y = cJSON_GetArrayItem(item, 1);

		if ((size_t)i < n_cases) {
			const char *name = cases[i].name;
			const char *capi = event_name_to_capi(name, strlen(name));
			enum event_id_origin origin = EVID_RANDOM;
			const char *cid = c_event_id(&a, h, name, cases[i].data,
			    &origin);

			/* The name mapping. */
			if (capi)
				assert_string_equal(cJSON_GetStringValue(x), capi);
			else
				assert_true(cJSON_IsNull(x));
			/* The id: equal when C derives or takes one... */
			assert_true(cJSON_IsString(y));
			if (cid && origin != EVID_RANDOM) {
				if (strcmp(cid, y->valuestring))
					fail_msg("case %d (%s %s): C %s, JS %s", i,
					    name, cases[i].data, cid,
					    y->valuestring);
				deterministic++;
			} else {
				/* ...and random in JS when C has none to offer. */
				if (!is_uuid4(y->valuestring))
					fail_msg("case %d (%s %s): C has no "
					    "deterministic id, JS gave %s", i, name,
					    cases[i].data, y->valuestring);
			}
		} else {
			/* Every key of names.c maps alike. */
			const char *k = cJSON_GetStringValue(x);

			assert_non_null(cJSON_GetStringValue(y));
			assert_string_equal(cJSON_GetStringValue(y),
			    event_name_to_capi(k, strlen(k)));
		}
		i++;
	}
	/* The table must exercise the deterministic path, not only UUIDs. */
	assert_true(deterministic >= 35);
	arena_release(&a);
	hasher_free(h);
	buf_release(&js);
	buf_release(&cj);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_is_web_tag_js),
		cmocka_unit_test(test_etag_matches),
		cmocka_unit_test(test_serve),
		cmocka_unit_test(test_same_ids_in_js_and_c),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

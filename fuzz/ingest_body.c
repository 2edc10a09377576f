/*
 * Fuzz target: the HTTP request decoding path. A request body goes through
 * batch_decode() exactly as ingest runs it (native and drop-in shapes,
 * browser and server legs, chosen by the first byte), then the answer is
 * rendered for both a committed and a failed commit. Every rendered answer
 * must be valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/hash.h"
#include "ingest/batch.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must_be_json(const struct buf *b)
{
	cJSON *j = cJSON_ParseWithLength(b->data, b->len);

	if (!j)
		abort();
	cJSON_Delete(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hasher *hasher;
	struct batch_source src;
	struct batch_error err;
	struct batch b;
	struct arena a;
	struct buf out = BUF_INIT;
	int status;

	if (size < 1)
		return 0;
	if (!hasher)
		hasher = hasher_new();
	memset(&src, 0, sizeof(src));
	src.account = "shop";
	src.partner_name = "ss-fuzz";
	src.dropin = data[0] & 1;
	src.leg = data[0] & 2 ? LEG_BROWSER : LEG_SERVER;
	src.client_ip = "203.0.113.7";
	src.user_agent = "fuzz/1.0";
	src.click_id = data[0] & 4 ? "dj0yJnU9" : NULL;
	src.now_ms = 1780000000000;
	src.max_age_s = 7 * 86400;
	arena_init(&a, 0);
	if (batch_decode(&a, hasher, &src, (const char *)data + 1, size - 1,
	    &b, &err) == 0) {
		batch_render(&b, src.dropin, 0, &out, &status);
		must_be_json(&out);
		buf_reset(&out);
		batch_render(&b, src.dropin, -1, &out, &status);
		must_be_json(&out);
	} else {
		batch_render_error(&err, &out);
		must_be_json(&out);
	}
	buf_release(&out);
	arena_release(&a);
	return 0;
}

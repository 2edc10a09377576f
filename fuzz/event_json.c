/*
 * Fuzz target: one event as JSON through the whole pipeline (precheck,
 * parse, decode in any dialect, normalize, hash, finish, encode). Whatever
 * is accepted must encode to valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "event/hash.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hasher *hasher;
	static struct arena arena;
	struct event_ctx ctx;
	struct event_diag diag;
	struct event ev;
	struct buf out = BUF_INIT;
	cJSON *root;

	if (!hasher) {
		hasher = hasher_new();
		arena_init(&arena, 0);
	}
	if (json_precheck((const char *)data, size) != JSON_OK)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.arena = &arena;
	ctx.hasher = hasher;
	ctx.now_s = 1780000000;
	ctx.partner_name = "ss-fuzz";
	event_diag_reset(&diag);
	json_use_arena(&arena);
	root = json_parse((const char *)data, size, NULL);
	if (root && event_from_json(&ctx, root, &ev, &diag) == 0) {
		event_encode(&ev, &out);
		json_use_arena(NULL);
		root = cJSON_ParseWithLength(out.data, out.len);
		if (!root)
			abort();
		cJSON_Delete(root);
	} else if (root) {
		event_encode_error(&diag.error, &out);
	}
	json_use_arena(NULL);
	arena_reset(&arena);
	buf_release(&out);
	return 0;
}

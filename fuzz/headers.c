/*
 * Fuzz target: the header and cookie values the gateway parses off the
 * network: the _epik cookie and the epik URL parameter (browser leg), a
 * Retry-After from Pinterest, one hop of X-Forwarded-For (cidr_parse, as
 * ingest parses each hop) and a duration. The first byte picks the
 * parser; the rest is the value. Beyond memory safety it checks what each
 * promises: a decoded click id has no control bytes, a wait is never
 * negative, a parsed network contains its own address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/policy.h"
#include "ingest/epik.h"
#include "util/arena.h"
#include "util/config.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_click_id(const char *id)
{
	if (!id)
		return;
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a = ARENA_INIT;
	char value[1024];
	struct cidr net;
	int64_t ms;

	if (size < 1 || size > sizeof(value))
		return 0;
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		check_click_id(epik_decode(&a, value, size - 1));
		break;
	case 1:
		check_click_id(epik_from_url(&a, value));
		break;
	case 2:
		if (pin_retry_after_parse(value, 1780000000000LL, &ms) == 0 &&
		    ms < 0)
			abort();
		break;
	case 3:
		if (cidr_parse(value, &net) == 0 &&
		    !cidr_contains(&net, net.family, net.addr))
			abort();
		break;
	default:
		if (duration_parse_ms(value, &ms) == 0 && ms < 0)
			abort();
		break;
	}
	arena_reset(&a);
	return 0;
}

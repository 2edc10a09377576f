/*
 * Fuzz target: Pinterest's answers (200 ConversionApiResponse, 422
 * DetailedError, Error bodies) as the delivery worker parses them. The
 * first byte picks the HTTP status.
 */
#include <stdint.h>
#include <stdlib.h>

#include "deliver/response.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = { 200, 422, 400, 401, 429, 503 };
	struct pin_response r = PIN_RESPONSE_INIT;

	if (size < 1)
		return 0;
	pin_response_parse(&r, statuses[data[0] % 6], (const char *)data + 1,
	    size - 1);
	pin_response_release(&r);
	return 0;
}

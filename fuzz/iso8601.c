/* Fuzz target: the ISO 8601 date-time parser used for event_time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[128];
	int64_t ms;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (time_parse_iso8601(buf, &ms) == 0) {
		char round[21];

		/* Whole-second UTC times must survive format -> parse. */
		time_format_iso8601(ms / 1000 - (ms % 1000 < 0), round);
		(void)round;
	}
	return 0;
}

/*
 * Fuzz target: every user-data normalizer. The first byte picks the
 * field. Beyond memory safety it checks two properties: output is bounded
 * and NUL-terminated, and normalizing is idempotent (a normalized value
 * normalizes to itself), which is what makes hashes stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/normalize.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
zip_nocountry(const char *in, size_t len, char *out, size_t cap,
    const char **why)
{
	return norm_zip(in, len, NULL, out, cap, why);
}

static int
zip_gb(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	return norm_zip(in, len, "gb", out, cap, why);
}

static const norm_fn fns[] = {
	norm_email, norm_phone, norm_name, norm_gender, norm_dob, norm_city,
	norm_state, norm_country, zip_nocountry, zip_gb, norm_external_id,
	norm_maid,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[NORM_OUT_MAX], again[NORM_OUT_MAX];
	const char *why = NULL;
	norm_fn fn;
	int n, m;

	if (size < 1)
		return 0;
	fn = fns[data[0] % (sizeof(fns) / sizeof(fns[0]))];
	n = fn((const char *)data + 1, size - 1, out, sizeof(out), &why);
	if (n < 0) {
		if (!why)
			abort();
		return 0;
	}
	if ((size_t)n >= sizeof(out) || out[n] != '\0' || strlen(out) != (size_t)n)
		abort();
	m = fn(out, (size_t)n, again, sizeof(again), &why);
	if (m != n || memcmp(out, again, (size_t)n) != 0)
		abort();
	if (size >= 4) {
		char code[4];

		(void)norm_currency((const char *)data + 1, size - 1, code, &why);
	}
	return 0;
}

/*
 * normalize.h: Pinterest's documented normalization of user data, one
 * function per field (spec/pinterest-capi.md §3, issue 2).
 *
 * Every function takes the raw UTF-8 value (not NUL-terminated, any
 * length) and writes the normalized value, NUL-terminated, into out[cap]
 * (cap >= NORM_OUT_MAX is always enough). It returns the length written, or
 * -1 when the value cannot be normalized; then *why (if non-NULL) points at
 * a static, human-readable reason such as "not a recognisable date".
 * An empty or whitespace-only input returns -1 with why "empty"; one
 * longer than PB_MAX_FIELD_BYTES, before or after normalizing, returns
 * -1 with why "too long" or "too long once normalized". So a normalized
 * value is always a valid input, and normalizes to itself.
 *
 * None of these hash, allocate on the heap, log, or keep the input.
 */
#ifndef PB_NORMALIZE_H
#define PB_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/limits.h"

/*
 * Room for normalizing any bounded input: NFC can double its bytes and
 * lowercasing add half again before the result is checked against
 * PB_MAX_FIELD_BYTES.
 */
#define NORM_OUT_MAX	(PB_MAX_FIELD_BYTES * 4 + 1)

typedef int (*norm_fn)(const char *in, size_t len, char *out, size_t cap,
    const char **why);

/*
 * Trims Unicode white space (ASCII space, tabs, CR/LF, NBSP U+00A0, the
 * U+2000..U+200B spaces, U+3000, U+FEFF BOM) from both ends.
 * Returns the start and sets *out_len. Never fails.
 */
const char *norm_trim(const char *in, size_t len, size_t *out_len);

/* trim, lowercase (Unicode-aware). "  John.Doe@Example.COM " -> "john.doe@example.com" */
int norm_email(const char *in, size_t len, char *out, size_t cap, const char **why);
/* digits only, then strip leading zeros ("+1 (234) 589-947" -> "1234589947", "0044 20..." -> "4420...") */
int norm_phone(const char *in, size_t len, char *out, size_t cap, const char **why);
/* trim, NFC, Unicode lowercase ("  ÉLODIE " -> "élodie"); first and last names */
int norm_name(const char *in, size_t len, char *out, size_t cap, const char **why);
/* "m"/"male"/"man"/"M" -> "m"; "f"/"female"/"woman" -> "f"; "n"/"non-binary"/"nonbinary"/"non binary" -> "n"; else -1 */
int norm_gender(const char *in, size_t len, char *out, size_t cap, const char **why);
/* many date formats -> "YYYYMMDD"; an impossible date -> -1 */
int norm_dob(const char *in, size_t len, char *out, size_t cap, const char **why);
/* NFC, lowercase, remove white space and punctuation ("Menlo Park" -> "menlopark", "St. Louis" -> "stlouis") */
int norm_city(const char *in, size_t len, char *out, size_t cap, const char **why);
/* two-letter code, lowercase; US state names and abbreviations mapped ("California" -> "ca", "Calif." -> "ca") */
int norm_state(const char *in, size_t len, char *out, size_t cap, const char **why);
/* ISO 3166-1 alpha-2, lowercase; names and aliases mapped ("United States", "USA", "U.S.A." -> "us") */
int norm_country(const char *in, size_t len, char *out, size_t cap, const char **why);
/*
 * Postal code. country is the normalized alpha-2 code or NULL when unknown.
 * US (or unknown country and the value looks like a US ZIP / ZIP+4): the
 * first 5 digits. Otherwise: lowercase without spaces or punctuation
 * ("SW1A 1AA" -> "sw1a1aa").
 */
int norm_zip(const char *in, size_t len, const char *country, char *out,
    size_t cap, const char **why);
/* trim only: ids are case-sensitive */
int norm_external_id(const char *in, size_t len, char *out, size_t cap, const char **why);
/* trim, lowercase (IDFA/GAID are case-insensitive UUIDs) */
int norm_maid(const char *in, size_t len, char *out, size_t cap, const char **why);

/* ISO 4217 code check; writes the upper-case code into out[4]. */
int norm_currency(const char *in, size_t len, char out[4], const char **why);

/* Whether code (upper case, 3 letters) is an active ISO 4217 currency. */
bool currency_is_known(const char *code);

#endif

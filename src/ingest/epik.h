/*
 * epik.h: Pinterest's click id on the way in (spec §7.5).
 *
 * Pinterest appends ?epik=<value> to ad-click landing URLs; the tag keeps
 * it in the first-party `_epik` cookie (one year, Path=/, SameSite=Lax,
 * Secure on https, not HttpOnly so the tag can read it back). The gateway
 * reads the same value from an event's event_source_url and from the
 * cookie, and sets the cookie itself when a page brings a new one.
 *
 * Encoding matches web/tag.js: the URL parameter is percent-decoded ('+'
 * stays '+': base64 values carry it), and the cookie holds the value with
 * only the bytes a cookie may not contain percent-encoded.
 */
#ifndef PB_INGEST_EPIK_H
#define PB_INGEST_EPIK_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct buf;

/* Longest click id kept; longer ones are not Pinterest's and are ignored. */
#define EPIK_MAX_BYTES	512

#define EPIK_COOKIE		"_epik"
#define EPIK_COOKIE_MAX_AGE_S	31536000

/*
 * The first `epik` query parameter of url (before any '#'), decoded, in
 * the arena; NULL when url is NULL, has none, or it is empty, too long or
 * holds control bytes.
 */
const char *epik_from_url(struct arena *a, const char *url);

/*
 * A cookie or parameter value of len bytes, percent-decoded into the
 * arena (kept as is when an escape is malformed); NULL on the same
 * conditions as epik_from_url().
 */
const char *epik_decode(struct arena *a, const char *s, size_t len);

/*
 * Appends a Set-Cookie header value for `value`:
 * "_epik=<value>; Max-Age=31536000; Path=/; SameSite=Lax[; Secure]".
 */
void epik_set_cookie(struct buf *out, const char *value, bool secure);

#endif

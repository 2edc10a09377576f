/*
 * tag.h: GET /v1/tag.js, the browser script (web/tag.js) compiled into the
 * binary by tools/embed-file. Cached by browsers and CDNs for an hour and
 * revalidated with its ETag, so a new pinbridge release reaches pages
 * within the hour without re-downloading an unchanged script.
 */
#ifndef PB_INGEST_TAG_H
#define PB_INGEST_TAG_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#define TAG_PATH		"/v1/tag.js"
#define TAG_CONTENT_TYPE	"application/javascript; charset=utf-8"
#define TAG_CACHE_CONTROL	"public, max-age=3600"

/* The embedded script and its strong ETag (quotes included). */
const char *tag_js(size_t *len);
const char *tag_etag(void);

/*
 * Whether an If-None-Match header value names etag: "*", or a
 * comma-separated list of entity tags, weak (W/"...") ones included
 * (RFC 9110 13.1.2 uses the weak comparison here).
 */
bool tag_etag_matches(const char *if_none_match, const char *etag);

/*
 * Queues the answer for a request to TAG_PATH: 200 with the script, 304
 * when If-None-Match matches, 405 for methods other than GET and HEAD.
 * Sets *status to the code queued.
 */
enum MHD_Result tag_serve(struct MHD_Connection *conn, const char *method,
    unsigned *status);

#endif

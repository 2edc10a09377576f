/*
 * limits.h: every hard limit pinbridge enforces, in one place.
 *
 * Limits are checked before the memory they guard is allocated: body sizes
 * against Content-Length and as bytes arrive, JSON nesting and string
 * lengths by json_precheck() before the parser builds a tree.
 */
#ifndef PB_LIMITS_H
#define PB_LIMITS_H

/* One HTTP request body, and one NDJSON line for `convert`. */
#define PB_MAX_BODY_BYTES	(4u * 1024 * 1024)
#define PB_MAX_LINE_BYTES	(1u * 1024 * 1024)

/* Events in one request; Pinterest's own cap for data[] (spec §5). */
#define PB_MAX_EVENTS_PER_REQUEST	1000
#define PB_MAX_BATCH_EVENTS		1000

/*
 * Any single JSON string (a user agent can be long: Pinterest's own
 * app_info.user_agent allows 16384 bytes).
 */
#define PB_MAX_STRING_BYTES	16384

/* A value that is normalized and hashed (email, name, city, ...). */
#define PB_MAX_FIELD_BYTES	512

/* JSON objects and arrays nested inside each other. */
#define PB_MAX_JSON_DEPTH	16

/* Values in one hashed user_data field, ids in content_ids, contents[]. */
#define PB_MAX_FIELD_VALUES	32
#define PB_MAX_CONTENT_ITEMS	1000

/* Warnings kept per event; later ones are counted, not stored. */
#define PB_MAX_WARNINGS		16

/* Default window of acceptable event_time (issue 2: 7 days, 5 min). */
#define PB_DEFAULT_MAX_AGE_S	(7 * 24 * 3600)
#define PB_MAX_FUTURE_SKEW_S	(5 * 60)

#endif

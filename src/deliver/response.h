/*
 * response.h: what Pinterest said about one request to /v5/.../events.
 *
 * Three body shapes come back (spec §6): ConversionApiResponse on 200,
 * DetailedError on 422 (same shape nested under "details"), and
 * Error {code, message} on everything else. The parser never trusts the
 * body: garbage, truncation, wrong types and absurd sizes all yield a
 * response with `parsed` false and no per-event results, never a crash.
 */
#ifndef PB_DELIVER_RESPONSE_H
#define PB_DELIVER_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest message we keep from a body; longer ones are cut (logs, dead rows). */
#define PIN_MAX_MESSAGE_BYTES	1024

enum pin_event_status {
	PIN_EVENT_UNKNOWN = 0,	/* missing, mistyped or an unknown word */
	PIN_EVENT_PROCESSED,
	PIN_EVENT_FAILED,
};

struct pin_event_result {
	enum pin_event_status status;
	char *error_message;	/* NULL when "", null or missing */
	char *warning_message;	/* NULL when "", null or missing */
};

struct pin_response {
	int http_status;
	/*
	 * True when the body had the shape expected for http_status:
	 * 200 → ConversionApiResponse, 422 → DetailedError with details,
	 * others → Error (an object with code or message).
	 */
	bool parsed;
	int64_t code;		/* Error.code; -1 when absent */
	char *message;		/* Error.message; NULL when absent or "" */
	int64_t num_received;	/* -1 when absent */
	int64_t num_processed;	/* -1 when absent */
	size_t n_events;	/* entries in events[], in request order */
	struct pin_event_result *events;
};

#define PIN_RESPONSE_INIT { 0, false, -1, NULL, -1, -1, 0, NULL }

/*
 * Parses `len` bytes of `body` (need not be NUL-terminated; may be NULL
 * when len is 0) received with HTTP `status`. Always leaves *r in a state
 * pin_response_release() accepts. Returns 0 when the body matched the
 * shape for the status, -1 otherwise (r->parsed tells the same). Safe on
 * any input: this is the fuzz entry point.
 */
int pin_response_parse(struct pin_response *r, int status,
    const char *body, size_t len);

/* Frees everything *r owns and resets it to PIN_RESPONSE_INIT. */
void pin_response_release(struct pin_response *r);

/*
 * Fills *r as if Pinterest had answered 200 with n processed events (the
 * dry-run sink's answer). r must be released first or freshly initialised.
 */
void pin_response_all_processed(struct pin_response *r, size_t n);

#endif

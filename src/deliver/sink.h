/*
 * sink.h: the dry-run stand-in for Pinterest, used when an account has no
 * token. Each batch becomes one NDJSON line holding the exact request body
 * Pinterest would have received, so `pinbridge` runs end to end on a
 * machine without credentials and the output can be diffed or replayed.
 */
#ifndef PB_DELIVER_SINK_H
#define PB_DELIVER_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct pin_response;
struct pin_sink;

#define PIN_SINK_DEFAULT_PATH	"var/sink.ndjson"

enum pin_sink_sync {
	/*
	 * fdatasync before a batch is reported delivered: the store marks
	 * rows done only once the line is on disk, as with real delivery.
	 */
	PIN_SINK_SYNC_BATCH = 0,
	PIN_SINK_SYNC_NONE,	/* leave it to the kernel (tests, benchmarks) */
};

/*
 * Opens (creating, mode 0600, and appending to) the file at path; NULL
 * means PIN_SINK_DEFAULT_PATH. Returns NULL and appends a message to err
 * (may be NULL) on failure. Free with pin_sink_close().
 */
struct pin_sink *pin_sink_open(const char *path, enum pin_sink_sync sync,
    struct buf *err);

/*
 * Appends body (len bytes, one compact JSON object without newlines) and
 * "\n" as one line, then answers like Pinterest would on success: every
 * one of n_events processed. *resp must be unused or released. Returns 0,
 * or -errno with the file left as it was before the call (a partial line
 * is cut off again) and *resp untouched.
 */
int pin_sink_deliver(struct pin_sink *s, const char *body, size_t len,
    size_t n_events, struct pin_response *resp);

/* Lines written since open. */
size_t pin_sink_lines(const struct pin_sink *s);

/* Syncs, closes and frees; accepts NULL. */
void pin_sink_close(struct pin_sink *s);

#endif

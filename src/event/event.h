/*
 * event.h: the conversion event model and the pipeline that builds it.
 *
 *   JSON object (native, Pinterest-shaped or tag-style)
 *     -> event_decode(): read fields, map names, normalize and hash PII
 *     -> event_finish(): defaults, derived event_id, time and identity rules
 *     -> event_encode(): the exact object Pinterest's CAPI v5 accepts
 *
 * Raw PII never leaves event_decode(): the model holds only SHA-256 hex.
 * Every string in a struct event points into the ctx arena or at static
 * storage, and lives until that arena is reset. When the cJSON tree was
 * parsed into the ctx arena (json_use_arena), the event may point into the
 * tree's strings, which live just as long; a tree parsed with malloc is
 * always copied from.
 */
#ifndef PB_EVENT_H
#define PB_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/limits.h"

struct arena;
struct buf;
struct hasher;

/* user_data fields that travel as arrays of SHA-256 hex. */
enum user_field {
	UF_EM,
	UF_PH,
	UF_FN,
	UF_LN,
	UF_GE,
	UF_DB,
	UF_CT,
	UF_ST,
	UF_ZP,
	UF_COUNTRY,
	UF_EXTERNAL_ID,
	UF_HASHED_MAIDS,
	UF_COUNT
};

/* Pinterest's key for a user field ("em", "ph", ..., "hashed_maids"). */
const char *user_field_key(enum user_field f);

typedef char sha256_hex[65];

struct hash_list {
	size_t n;
	sha256_hex *v;
};

struct content_item {
	const char *id;
	const char *item_price;		/* decimal string */
	const char *item_name;
	const char *item_category;
	const char *item_brand;
	int64_t quantity;
	bool has_quantity;
};

/* Which leg of parity an event came from. */
enum event_leg {
	LEG_UNKNOWN = 0,
	LEG_BROWSER = 1,	/* tag.js beside pintrk */
	LEG_SERVER = 2,		/* the store's backend or CAPI client code */
};

enum event_id_origin {
	EVID_GIVEN,		/* the input carried one */
	EVID_ORDER,		/* derived: "<event_name>:<order_id>" */
	EVID_RANDOM,		/* minted UUIDv4: cannot dedupe with the tag */
};

struct custom_data {
	const char *currency;		/* ISO 4217, upper case */
	const char *value;		/* decimal string */
	const char *order_id;
	const char **content_ids;
	size_t n_content_ids;
	struct content_item *contents;
	size_t n_contents;
	int64_t num_items;
	bool has_num_items;
	const char *search_string;
	const char *content_name;
	const char *content_category;
	const char *content_brand;
	const char *opt_out_type;
	const char *predicted_ltv;	/* decimal string */
};

struct event {
	const char *event_name;		/* CAPI name, e.g. "add_to_cart" */
	int64_t event_time;		/* Unix seconds; 0 = not given */
	const char *event_id;
	enum event_id_origin id_origin;
	const char *action_source;
	const char *event_source_url;
	const char *partner_name;
	const char *language;
	int opt_out;			/* -1 not given, 0, 1 */

	struct hash_list user[UF_COUNT];
	const char *client_ip_address;
	const char *client_user_agent;
	const char *click_id;
	const char *partner_id;

	struct custom_data custom;

	enum event_leg leg;		/* from "source"/"leg" or the endpoint */
	int64_t received_at_ms;		/* optional "received_at" (backtest) */
};

/* A reason an event was rejected. `code` is stable API; see docs/api.md. */
struct event_error {
	const char *code;
	const char *field;		/* input field at fault, or NULL */
	char message[512];
};

struct event_warning {
	const char *field;
	char message[160];
};

struct event_diag {
	struct event_error error;	/* set when a call returns -1 */
	size_t n_warnings;		/* may exceed PB_MAX_WARNINGS */
	struct event_warning warnings[PB_MAX_WARNINGS];
	/*
	 * Set it after event_diag_reset() when nobody will read the warning
	 * texts (convert --quiet): event_warn() then only counts and records
	 * the field, skipping the vsnprintf().
	 */
	bool count_only;
};

/* What the pipeline needs besides the input. One per thread. */
struct event_ctx {
	struct arena *arena;
	struct hasher *hasher;
	int64_t now_s;			/* the clock, pinned by the caller */
	int64_t max_age_s;		/* default PB_DEFAULT_MAX_AGE_S */
	const char *partner_name;	/* default partner_name, or NULL */
};

/*
 * Reads one event object in any of the three dialects into ev. Hashes
 * user data as it reads it. Returns 0, or -1 with diag->error set.
 */
int event_decode(struct event_ctx *ctx, const cJSON *obj, struct event *ev,
    struct event_diag *diag);

/*
 * Applies defaults (action_source, partner_name, event_time), derives the
 * event_id, and checks the rules Pinterest enforces (time window, identity).
 * Returns 0, or -1 with diag->error set.
 */
int event_finish(struct event_ctx *ctx, struct event *ev,
    struct event_diag *diag);

/* event_decode() then event_finish(). */
int event_from_json(struct event_ctx *ctx, const cJSON *obj, struct event *ev,
    struct event_diag *diag);

/* Appends the Pinterest CAPI v5 data[] item for ev as compact JSON. */
void event_encode(const struct event *ev, struct buf *out);

/* Appends {"error":{"code":..,"message":..,"field":..}} for diag->error. */
void event_encode_error(const struct event_error *err, struct buf *out);

/* The deterministic id both legs derive: "<event_name>:<order_id>". */
const char *event_id_for_order(struct arena *a, const char *event_name,
    const char *order_id);

/* Clears the error and the warnings; count_only goes back to false. */
void event_diag_reset(struct event_diag *d);
__attribute__((format(printf, 3, 4)))
void event_warn(struct event_diag *d, const char *field, const char *fmt, ...);
__attribute__((format(printf, 4, 5)))
int event_fail(struct event_diag *d, const char *code, const char *field,
    const char *fmt, ...);

#endif

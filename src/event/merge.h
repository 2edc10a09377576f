/*
 * merge.h: folds the browser leg and the server leg of one conversion
 * (same account, same event_id) into the single event Pinterest receives.
 *
 * Both inputs are payloads event_encode() wrote. The result:
 *   - user_data hashed arrays (em, ph, ..., hashed_maids): the union of
 *     both legs, duplicates removed, at most PB_MAX_FIELD_VALUES each;
 *   - every other field (top level and user_data scalars such as
 *     client_ip_address or click_id): the server leg's value when it has
 *     one, else the browser leg's, so the browser only fills gaps;
 *   - custom_data: the server leg's object when it has one, else the
 *     browser leg's (never a mix: value, currency and contents belong
 *     together);
 *   - event_id: the stored one (both legs share it by construction).
 * Keys come out in event_encode()'s order, as compact JSON.
 */
#ifndef PB_EVENT_MERGE_H
#define PB_EVENT_MERGE_H

#include <stddef.h>

struct buf;

/*
 * A store_merge_fn (store.h). `legs` is the union of both rows' legs,
 * `incoming_legs` those of the record being appended: when the incoming
 * record carries the server leg it wins conflicts, otherwise the stored
 * row does (it already holds the server leg, or both are browser legs
 * and the first one stands). `arg` is unused. Returns 1 with the merged
 * payload in out, or -1 when either payload is not a JSON object (the
 * store then keeps the stored payload).
 */
int event_merge_legs(void *arg, const char *stored, size_t stored_len,
    const char *incoming, size_t incoming_len, unsigned legs,
    unsigned incoming_legs, struct buf *out);

#endif

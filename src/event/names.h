/*
 * names.h: Pinterest event names, tag <-> Conversions API (spec §7.3).
 *
 * Matching ignores case and the separators '_', '-', ' ', so the tag's
 * "AddToCart", "addtocart" and the API's "add_to_cart" are one name, and
 * "sign_up" lands on "signup" (a mistake peers have shipped).
 */
#ifndef PB_NAMES_H
#define PB_NAMES_H

#include <stddef.h>

/* The CAPI name for any accepted spelling, or NULL. Static storage. */
const char *event_name_to_capi(const char *name, size_t len);

/* The tag's name for a CAPI name ("add_to_cart" -> "AddToCart"), or NULL. */
const char *event_name_to_tag(const char *capi);

/* Comma-separated list of accepted CAPI names, for error messages. */
const char *event_names_accepted(void);

#endif

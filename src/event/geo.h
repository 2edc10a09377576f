/*
 * geo.h: lookup tables behind normalize.c (countries, US states and
 * Canadian provinces, ISO 4217 currencies). Internal to src/event.
 *
 * Name lookups take a "key": the value with accents stripped, lowercased,
 * and everything but [a-z0-9] removed ("Côte d'Ivoire" -> "cotedivoire");
 * normalize.c builds it. All tables are const, sorted and bsearch'd.
 */
#ifndef PB_GEO_H
#define PB_GEO_H

#include <stdbool.h>

/* Whether key (2 lowercase letters) is an assigned ISO 3166-1 alpha-2 code. */
bool geo_alpha2_known(const char *key);
/* The alpha-2 code for an alpha-3 code (3 lowercase letters), or NULL. */
const char *geo_alpha3_to_alpha2(const char *key);
/* The alpha-2 code for an English country name or alias key, or NULL. */
const char *geo_country_by_name(const char *key);
/* The postal code of a US state/territory or Canadian province name or
 * abbreviation key ("newyork", "calif", "quebec"), or NULL. */
const char *geo_state_by_name(const char *key);
/* Whether code (3 upper-case letters, NUL-terminated) is in ISO 4217. */
bool geo_currency_known(const char *code);

#endif

/*
 * gen_events: writes N messy conversion events as NDJSON, reproducibly
 * (seeded PRNG), mixing the three dialects and the inputs real stores
 * send: mixed case, stray white space and NBSP, phones in every format,
 * month-name dates, Unicode names, pre-hashed emails, numbers as strings.
 *
 *   gen_events N [SEED] [--now UNIX] [--source browser|server|mixed]
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* splitmix64: tiny, fast, and identical on every machine. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define PICK(a) (a[rng() % (sizeof(a) / sizeof(a[0]))])

static const char *const first[] = {
	"John", " mary ", "\u00c9lodie", "J\u00fcrgen", "Ana\u00a0", "O'Brien",
	"ZO\u00cb", "Li", "Siobh\u00e1n", "\\tkai", "Mar\u00eda Jos\u00e9",
};
static const char *const last[] = {
	"Smith", "GARC\u00cdA", " van der Berg", "M\u00fcller", "Nguyen ",
	"\u0160ime\u010dek", "O'Neil", "Kowalski",
};
static const char *const domains[] = {
	"gmail.com", "Example.COM", "yahoo.co.uk", "shop.example", "icloud.com",
};
static const char *const phones[] = {
	"+1 (415) 555-", "00 44 20 7946 ", "(415) 555.", "+49 30 1234",
	"0033 1 42 68 ",
};
static const char *const cities[] = {
	"Menlo Park", "S\u00e3o Paulo", " St. Louis", "NEW YORK", "M\u00fcnchen",
	"Winston-Salem",
};
static const char *const states[] = {
	"CA", "California", "ny", "N.Y.", "Tex.", "Ontario", "fl ",
};
static const char *const countries[] = {
	"US", "usa", "United States", "GB", "United Kingdom", "DE", "Canada",
};

static void
print_dob(unsigned day)
{
	switch (rng() % 5) {
	case 0: printf("1990-04-%02u", day); break;
	case 1: printf("04/%02u/1985", day); break;
	case 2: printf("%02u.07.1979", day); break;
	case 3: printf("March %u, 1996", day); break;
	default: printf("19960314"); break;
	}
}
static const char *const genders[] = {
	"male", "F", "Female", "non-binary", "m", "unknown",
};
static const char *const currencies[] = { "USD", "usd", "EUR", "gbp", "CAD" };
static const char *const names[] = {
	"checkout", "Checkout", "AddToCart", "add_to_cart", "PageVisit",
	"lead", "signup", "search", "ViewCategory",
};

static void
native(unsigned i, int64_t now, const char *source)
{
	printf("{\"event_name\":\"%s\",\"event_time\":%" PRId64 ","
	    "\"order_id\":\"ORD-%u\",\"email\":\" %s.%u@%s \","
	    "\"phone\":\"", PICK(names), now - (int64_t)(rng() % 3600), i,
	    PICK(first), i, PICK(domains));
	printf("%s%04u", PICK(phones), (unsigned)(rng() % 10000));
	printf("\",\"first_name\":\"%s\",\"last_name\":\"%s\","
	    "\"gender\":\"%s\",\"date_of_birth\":\"", PICK(first), PICK(last),
	    PICK(genders));
	print_dob((unsigned)(rng() % 28 + 1));
	printf("\",\"city\":\"%s\",\"state\":\"%s\",\"zip\":\"%05u-%04u\","
	    "\"country\":\"%s\",\"external_id\":\"cust-%u\","
	    "\"client_ip_address\":\"203.0.%u.%u\","
	    "\"client_user_agent\":\"Mozilla/5.0 (Macintosh; Intel Mac OS X "
	    "10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
	    "Safari/605.1.15\",\"value\":\"%u.%02u\",\"currency\":\"%s\","
	    "\"content_ids\":[\"sku-%u\",%u],\"num_items\":\"%u\"%s%s%s}\n",
	    PICK(cities), PICK(states), (unsigned)(rng() % 99999),
	    (unsigned)(rng() % 9999), PICK(countries), i,
	    (unsigned)(rng() % 256), (unsigned)(rng() % 256),
	    (unsigned)(rng() % 500), (unsigned)(rng() % 100), PICK(currencies),
	    (unsigned)(rng() % 1000), (unsigned)(rng() % 1000),
	    (unsigned)(rng() % 5 + 1), source ? ",\"source\":\"" : "",
	    source ? source : "", source ? "\"" : "");
}

static void
pinterest(unsigned i, int64_t now, const char *source)
{
	printf("{\"event_name\":\"checkout\",\"action_source\":\"web\","
	    "\"event_time\":%" PRId64 ",\"event_id\":\"checkout:ORD-%u\","
	    "\"event_source_url\":\"https://shop.example/checkout?epik=dj0y%u\","
	    "\"user_data\":{\"em\":[\"87924606B4131A8ACEEEAE8868531FBB9712AAA07A5D3A756B26CE0F5D6CA674\"],"
	    "\"ph\":[\"+1 415 555 %04u\"],\"client_ip_address\":\"2001:db8::%x\","
	    "\"client_user_agent\":\"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 "
	    "like Mac OS X)\",\"click_id\":\"dj0y%u\"},\"custom_data\":{"
	    "\"currency\":\"%s\",\"value\":%u.%u,\"order_id\":\"ORD-%u\","
	    "\"contents\":[{\"id\":\"sku-%u\",\"item_price\":\"%u.99\","
	    "\"quantity\":%u},{\"id\":\"sku-%u\",\"item_price\":%u,"
	    "\"quantity\":\"1\"}]}%s%s%s}\n", now - (int64_t)(rng() % 3600), i, i,
	    (unsigned)(rng() % 10000), (unsigned)(rng() % 65535), i,
	    PICK(currencies), (unsigned)(rng() % 500), (unsigned)(rng() % 10), i,
	    (unsigned)(rng() % 1000), (unsigned)(rng() % 100),
	    (unsigned)(rng() % 3 + 1), (unsigned)(rng() % 1000),
	    (unsigned)(rng() % 100), source ? ",\"source\":\"" : "",
	    source ? source : "", source ? "\"" : "");
}

static void
tag(unsigned i, int64_t now, const char *source)
{
	printf("{\"event_name\":\"%s\",\"event_time\":%" PRId64 "%03u,"
	    "\"event_id\":\"checkout:ORD-%u\",\"em\":\"%s%u@%s\","
	    "\"order_id\":\"ORD-%u\",\"value\":%u.%02u,\"currency\":\"%s\","
	    "\"order_quantity\":%u,\"line_items\":[{\"product_id\":\"sku-%u\","
	    "\"product_name\":\"Linen Cushion \\\"Blue\\\"\","
	    "\"product_price\":\"%u.00\",\"product_quantity\":%u,"
	    "\"product_category\":\"Home > Decor\",\"product_variant\":\"blue\"}],"
	    "\"client_ip_address\":\"198.51.100.%u\",\"client_user_agent\":"
	    "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"%s%s%s}\n",
	    PICK(names), now - (int64_t)(rng() % 3600), (unsigned)(rng() % 1000),
	    i, PICK(first), i, PICK(domains), i, (unsigned)(rng() % 500),
	    (unsigned)(rng() % 100), PICK(currencies), (unsigned)(rng() % 4 + 1),
	    (unsigned)(rng() % 1000), (unsigned)(rng() % 200),
	    (unsigned)(rng() % 4 + 1), (unsigned)(rng() % 256),
	    source ? ",\"source\":\"" : "", source ? source : "",
	    source ? "\"" : "");
}

int
main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	int64_t now = 1780000000;
	const char *source = NULL;

	rng_state = argc > 2 && argv[2][0] != '-' ? strtoull(argv[2], NULL, 10) : 42;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--now") && i + 1 < argc)
			now = strtoll(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--source") && i + 1 < argc)
			source = argv[++i];
	}
	for (unsigned long i = 0; i < n; i++) {
		const char *s = source && !strcmp(source, "mixed") ?
		    (rng() % 2 ? "browser" : "server") : source;

		switch (rng() % 3) {
		case 0: native((unsigned)i, now, s); break;
		case 1: pinterest((unsigned)i, now, s); break;
		default: tag((unsigned)i, now, s); break;
		}
	}
	return 0;
}

#include "event/names.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/banned.h"

struct name_entry {
	const char *key;	/* lowercase, separators removed */
	const char *capi;
};

/*
 * The OAS 5.23 list, the names Pinterest's conversion docs add (contact,
 * app_open, ...), and the event names other tools commonly emit (GA4's
 * purchase, Segment's "Order Completed"). Indexed by name_index below;
 * kept sorted for the reader.
 */
static const struct name_entry names[] = {
	{ "addpaymentinfo", "add_payment_info" },
	{ "addtocart", "add_to_cart" },
	{ "addtowishlist", "add_to_wishlist" },
	{ "appinstall", "app_install" },
	{ "appopen", "app_open" },
	{ "begincheckout", "initiate_checkout" },
	{ "checkout", "checkout" },
	{ "checkoutstarted", "initiate_checkout" },
	{ "completeregistration", "signup" },
	{ "contact", "contact" },
	{ "custom", "custom" },
	{ "customizeproduct", "customize_product" },
	{ "findlocation", "find_location" },
	{ "generatelead", "lead" },
	{ "initiatecheckout", "initiate_checkout" },
	{ "lead", "lead" },
	{ "ordercompleted", "checkout" },
	{ "pageview", "page_visit" },
	{ "pagevisit", "page_visit" },
	{ "productadded", "add_to_cart" },
	{ "purchase", "checkout" },
	{ "schedule", "schedule" },
	{ "search", "search" },
	{ "signup", "signup" },
	{ "starttrial", "start_trial" },
	{ "submitapplication", "submit_application" },
	{ "subscribe", "subscribe" },
	{ "viewcategory", "view_category" },
	{ "viewcontent", "view_content" },
	{ "viewitem", "view_content" },
	{ "viewitemlist", "view_category" },
	{ "watchvideo", "watch_video" },
};

static const struct {
	const char *capi;
	const char *tag;
} tag_names[] = {
	{ "add_payment_info", "AddPaymentInfo" },
	{ "add_to_cart", "AddToCart" },
	{ "add_to_wishlist", "AddToWishList" },
	{ "checkout", "Checkout" },
	{ "contact", "Contact" },
	{ "custom", "Custom" },
	{ "lead", "Lead" },
	{ "page_visit", "PageVisit" },
	{ "search", "Search" },
	{ "signup", "Signup" },
	{ "view_category", "ViewCategory" },
	{ "watch_video", "WatchVideo" },
};

/* Every event's name is looked up: a hash, not bsearch with strcmp. */
static struct json_keys name_index;
static pthread_once_t name_once = PTHREAD_ONCE_INIT;

static void
build_name_index(void)
{
	json_keys_init(&name_index);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (json_keys_add(&name_index, names[i].key, (int)i) < 0)
			abort();	/* a duplicate in the table above */
}

const char *
event_name_to_capi(const char *name, size_t len)
{
	char key[32];
	size_t n = 0;
	int found;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '_' || c == '-' || c == ' ')
			continue;
		/* ASCII letters, lowercased, without ctype calls. */
		c |= 0x20;
		if (c < 'a' || c > 'z' || n + 1 >= sizeof(key))
			return NULL;
		key[n++] = (char)c;
	}
	key[n] = '\0';
	pthread_once(&name_once, build_name_index);
	found = json_keys_find(&name_index, key);
	return found < 0 ? NULL : names[found].capi;
}

const char *
event_name_to_tag(const char *capi)
{
	for (size_t i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]); i++)
		if (!strcmp(tag_names[i].capi, capi))
			return tag_names[i].tag;
	return NULL;
}

const char *
event_names_accepted(void)
{
	return "add_payment_info, add_to_cart, add_to_wishlist, app_install, "
	    "app_open, checkout, contact, custom, customize_product, "
	    "find_location, initiate_checkout, lead, page_visit, schedule, "
	    "search, signup, start_trial, submit_application, subscribe, "
	    "view_category, view_content, watch_video (or the tag's names: "
	    "PageVisit, AddToCart, Checkout, ...)";
}

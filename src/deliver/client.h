/*
 * client.h: the HTTP leg to Pinterest, on one libcurl multi handle.
 *
 * Many requests fly at once (across accounts, and several per account);
 * connections are kept alive and shared through the multi's connection
 * cache, HTTP/2 is used where the server offers it over TLS. The client
 * never logs: the worker logs counts, status and Pinterest's request id,
 * never the token or a body. Owned and driven by one thread; only
 * pin_client_wakeup() may be called from others.
 */
#ifndef PB_DELIVER_CLIENT_H
#define PB_DELIVER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/policy.h"

struct pin_client;

#define PIN_DEFAULT_API_BASE	"https://api.pinterest.com"

struct pin_client_config {
	const char *api_base;		/* NULL: PIN_DEFAULT_API_BASE; copied */
	long connect_timeout_ms;	/* 0: 10 s */
	long timeout_ms;		/* whole request; 0: 60 s */
	long max_host_connections;	/* 0: 8 */
	const char *user_agent;		/* NULL: "pinbridge/<version>"; copied */
};

/* A finished request. Owns `body`; free with pin_result_release(). */
struct pin_result {
	void *user;			/* as given to pin_client_send() */
	enum pin_transport transport;
	int http_status;		/* 0 unless transport == PIN_XFER_OK */
	char *body;			/* NUL-terminated; NULL when empty */
	size_t body_len;
	char retry_after[64];		/* raw Retry-After value or "" */
	char request_id[96];		/* x-pinterest-rid or "" */
	int64_t elapsed_us;
	char error[128];		/* curl's words when transport failed */
};

/* Pinterest's ad_account_id pattern: 1 to 18 digits (spec §1). */
bool pin_ad_account_id_valid(const char *id);

/* Returns NULL (and logs) only when libcurl cannot be set up. */
struct pin_client *pin_client_new(const struct pin_client_config *cfg);

/* Aborts whatever is in flight and frees; accepts NULL. */
void pin_client_free(struct pin_client *c);

/*
 * Starts POST {api_base}/v5/ad_accounts/{ad_account_id}/events[?test=true]
 * with a Bearer token. Borrows `body` until the request's result has been
 * returned by pin_client_next_done() (or the client is freed); copies the
 * token and id. Returns 0, or -EINVAL for an ad_account_id that is not
 * 1..18 digits, -ENOMEM when curl refuses the handle.
 */
__attribute__((warn_unused_result))
int pin_client_send(struct pin_client *c, const char *ad_account_id,
    const char *token, bool test, const char *body, size_t len, void *user);

/*
 * Moves every transfer forward, waiting up to timeout_ms for network
 * activity or pin_client_wakeup(). Returns 0 or -EIO.
 */
int pin_client_run(struct pin_client *c, int timeout_ms);

/* Takes the next finished request into *out; false when none is ready. */
bool pin_client_next_done(struct pin_client *c, struct pin_result *out);

void pin_result_release(struct pin_result *r);

/* Requests started and not yet returned by pin_client_next_done(). */
size_t pin_client_in_flight(const struct pin_client *c);

/* Makes a pin_client_run() in another thread return early. Thread-safe. */
void pin_client_wakeup(struct pin_client *c);

#endif

/*
 * config.h: pinbridge.ini, read with libinih. Every key is documented in
 * docs/configuration.md; pinbridge.ini at the top of the repo is the
 * example `make run` uses.
 *
 * Secrets (the Pinterest access token, the server write key, the admin
 * token) are never read from the INI itself: the INI names an environment
 * variable (*_env) or a file (*_file) that holds them. They are loaded by
 * config_load_secrets() and never logged.
 *
 * Errors name the file, line and key: "pinbridge.ini:12: [account "shop"]
 * rate_limit: must be a whole number from 1 to 1000000".
 */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_ACCOUNTS	64
#define CONFIG_MAX_ORIGINS	16
#define CONFIG_MAX_PROXIES	16
#define CONFIG_NAME_MAX		64
#define CONFIG_VALUE_MAX	512
#define CONFIG_MAX_RULES	64

/* An IPv4 or IPv6 network, for trusted_proxies. */
struct cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

/* Where a secret comes from: at most one of env and file is set. */
struct secret_ref {
	char env[CONFIG_NAME_MAX];
	char file[CONFIG_VALUE_MAX];
};

struct account_config {
	char name[CONFIG_NAME_MAX];		/* [account "NAME"] */
	char ad_account_id[24];			/* digits, <= 18 */
	struct secret_ref token_ref;		/* Pinterest access token */
	struct secret_ref server_key_ref;	/* secret write key */
	char browser_key[CONFIG_NAME_MAX];	/* public write key */
	char origins[CONFIG_MAX_ORIGINS][CONFIG_VALUE_MAX];
	size_t n_origins;
	char partner_name[CONFIG_NAME_MAX];
	bool test_mode;
	int rate_limit_per_min;
	int64_t merge_window_ms;		/* hold browser-leg events */

	/* Loaded by config_load_secrets(); NULL when not configured. */
	char *token;
	char *server_key;
	int line;				/* where the section starts */
};

/*
 * Parity-monitoring thresholds: [monitor] holds the defaults, and
 * [rules "ACCOUNT"] / [rules "ACCOUNT/EVENT"] override them per series.
 * A field left unset is negative (or "") and inherits.
 */
struct rule_settings {
	char account[CONFIG_NAME_MAX];		/* "" = every account */
	char event_name[CONFIG_NAME_MAX];	/* "" = every event */
	double dedup_threshold;
	double volume_threshold;
	double leg_down_share;
	double fail_share;
	int64_t sustain_ms;
	int64_t clear_ms;
	long min_events;
	char disable[CONFIG_VALUE_MAX];		/* rule names, comma separated */
	int line;
};

struct config {
	char path[CONFIG_VALUE_MAX];

	/* [server] */
	char listen_host[CONFIG_NAME_MAX];
	int listen_port;
	char data_dir[CONFIG_VALUE_MAX];
	int threads;
	int connection_timeout_s;
	struct cidr proxies[CONFIG_MAX_PROXIES];
	size_t n_proxies;
	struct secret_ref admin_token_ref;
	char log_level[16];
	int64_t max_age_s;

	/* [delivery] */
	char api_base[CONFIG_VALUE_MAX];
	int64_t flush_ms;
	int batch_size;
	int64_t backoff_base_ms;
	int64_t backoff_max_ms;
	int64_t request_timeout_ms;
	char sink_path[CONFIG_VALUE_MAX];

	/* [monitor] */
	struct rule_settings monitor;
	char webhook_url[CONFIG_VALUE_MAX];
	int64_t grace_ms;
	size_t ledger_max_bytes;		/* 0: the engine's default */
	struct rule_settings rules[CONFIG_MAX_RULES];
	size_t n_rules;

	struct account_config accounts[CONFIG_MAX_ACCOUNTS];
	size_t n_accounts;

	char *admin_token;		/* loaded secret, or NULL */
};

/* Fills in every default (no accounts). */
void config_defaults(struct config *c);

/*
 * Reads path over the defaults. Returns 0, or -1 after writing a message
 * naming file, line and key into err.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Reads every *_env / *_file secret. A secret that is configured but
 * missing is an error (a typo must not silently mean "dry run").
 */
int config_load_secrets(struct config *c, char *err, size_t errlen);

/* Wipes and frees loaded secrets. */
void config_release(struct config *c);

const struct account_config *config_account_by_name(const struct config *c,
    const char *name);
const struct account_config *config_account_by_ad_id(const struct config *c,
    const char *ad_account_id);

/* Whether addr (a sockaddr) falls in one of the trusted proxies. */
bool config_proxy_trusted(const struct config *c, const void *sockaddr);

/* Whether a parsed single address (prefix 32/128) is a trusted proxy. */
bool config_proxy_trusted_addr(const struct config *c, const struct cidr *a);

/* Parses "1.2.3.0/24", "::1", "10.0.0.1"; 0 or -1. */
int cidr_parse(const char *s, struct cidr *out);
bool cidr_contains(const struct cidr *net, int family, const void *addr);

/* Parses "200ms", "5s", "10m", "2h", "7d", or bare milliseconds. */
int duration_parse_ms(const char *s, int64_t *out);

#endif

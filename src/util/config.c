#include "util/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ini.h>

#include "util/xalloc.h"
#include "util/banned.h"

/* Secrets longer than this are refused: nobody's token is 4 KB. */
#define SECRET_MAX	4096

struct loader {
	struct config *c;
	struct account_config *acct;	/* current [account] section */
	struct rule_settings *rules;	/* current [monitor] or [rules] section */
	char section[CONFIG_VALUE_MAX];
	FILE *f;
	int line;		/* of the line inih is handling */
	char *err;
	size_t errlen;
	int failed;
};

static int
fail(struct loader *l, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct loader *l, int line, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->failed++)
		return 0;
	n = snprintf(l->err, l->errlen, "%s:%d: [%s] %s: ", l->c->path, line,
	    l->section, key);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < l->errlen)
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return 0;	/* inih: stop parsing */
}

static int
copy_value(char *dst, size_t cap, const char *v)
{
	int n;

	if (!v)
		return -1;
	n = snprintf(dst, cap, "%s", v);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
parse_int(const char *v, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno || end == v || *end || *out < min || *out > max ? -1 : 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcmp(v, "1") || !strcasecmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	    !strcmp(v, "0") || !strcasecmp(v, "off")) {
		*out = false;
		return 0;
	}
	return -1;
}

int
duration_parse_ms(const char *s, int64_t *out)
{
	char *end;
	double v;
	double unit = 1;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "ms"))
		unit = 1;
	else if (!strcmp(end, "s"))
		unit = 1000;
	else if (!strcmp(end, "m"))
		unit = 60000;
	else if (!strcmp(end, "h"))
		unit = 3600000;
	else if (!strcmp(end, "d"))
		unit = 86400000;
	else
		return -1;
	if (v * unit > 9e15)
		return -1;
	*out = (int64_t)(v * unit);
	return 0;
}

int
cidr_parse(const char *s, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	long long prefix;

	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		return -1;
	}
	if (slash) {
		if (parse_int(slash + 1, 0, out->prefix, &prefix) < 0)
			return -1;
		out->prefix = (int)prefix;
	}
	return 0;
}

bool
cidr_contains(const struct cidr *net, int family, const void *addr)
{
	const unsigned char *a = addr;
	int bits = net->prefix, i = 0;

	if (family != net->family)
		return false;
	for (; bits >= 8; bits -= 8, i++)
		if (a[i] != net->addr[i])
			return false;
	if (bits) {
		unsigned char mask = (unsigned char)(0xff << (8 - bits));

		if ((a[i] & mask) != (net->addr[i] & mask))
			return false;
	}
	return true;
}

bool
config_proxy_trusted(const struct config *c, const void *sockaddr)
{
	const struct sockaddr *sa = sockaddr;
	const void *addr;

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sockaddr)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sockaddr)->sin6_addr;
	else
		return false;
	for (size_t i = 0; i < c->n_proxies; i++)
		if (cidr_contains(&c->proxies[i], sa->sa_family, addr))
			return true;
	return false;
}

bool
config_proxy_trusted_addr(const struct config *c, const struct cidr *a)
{
	for (size_t i = 0; i < c->n_proxies; i++)
		if (cidr_contains(&c->proxies[i], a->family, a->addr))
			return true;
	return false;
}

/* Splits a comma/space separated list, calling fn on each item. */
static int
each_item(const char *v, int (*fn)(void *, const char *), void *arg)
{
	char item[CONFIG_VALUE_MAX];

	while (*v) {
		size_t n;

		while (*v == ',' || isspace((unsigned char)*v))
			v++;
		n = strcspn(v, ", \t");
		if (!n)
			break;
		if (n >= sizeof(item))
			return -1;
		memcpy(item, v, n);
		item[n] = '\0';
		if (fn(arg, item) < 0)
			return -1;
		v += n;
	}
	return 0;
}

static int
add_proxy(void *arg, const char *item)
{
	struct config *c = arg;

	if (c->n_proxies == CONFIG_MAX_PROXIES)
		return -1;
	return cidr_parse(item, &c->proxies[c->n_proxies++]);
}

static int
add_origin(void *arg, const char *item)
{
	struct account_config *a = arg;

	if (a->n_origins == CONFIG_MAX_ORIGINS)
		return -1;
	/* An origin is scheme://host[:port], no path: that is what browsers send. */
	if ((strncmp(item, "http://", 7) && strncmp(item, "https://", 8)) ||
	    strchr(item + 8, '/'))
		return -1;
	return copy_value(a->origins[a->n_origins++], CONFIG_VALUE_MAX, item);
}

static int
set_secret_ref(struct secret_ref *r, const char *kind, const char *v)
{
	memset(r, 0, sizeof(*r));
	if (!strcmp(kind, "env"))
		return copy_value(r->env, sizeof(r->env), v);
	return copy_value(r->file, sizeof(r->file), v);
}

static int
server_key(struct loader *l, int line, const char *k, const char *v)
{
	struct config *c = l->c;
	long long n;

	if (!strcmp(k, "listen")) {
		const char *colon = strrchr(v, ':');

		if (!colon || colon == v || (size_t)(colon - v) >= sizeof(c->listen_host) ||
		    parse_int(colon + 1, 0, 65535, &n) < 0)
			return fail(l, line, k, "must be HOST:PORT, e.g. 127.0.0.1:8080");
		memcpy(c->listen_host, v, (size_t)(colon - v));
		c->listen_host[colon - v] = '\0';
		c->listen_port = (int)n;
	} else if (!strcmp(k, "data_dir")) {
		if (copy_value(c->data_dir, sizeof(c->data_dir), v) < 0)
			return fail(l, line, k, "path too long");
	} else if (!strcmp(k, "threads")) {
		if (parse_int(v, 1, 64, &n) < 0)
			return fail(l, line, k, "must be a whole number from 1 to 64");
		c->threads = (int)n;
	} else if (!strcmp(k, "connection_timeout")) {
		int64_t ms;

		if (duration_parse_ms(v, &ms) < 0 || ms < 1000 || ms > 3600000)
			return fail(l, line, k, "must be a duration from 1s to 1h");
		c->connection_timeout_s = (int)(ms / 1000);
	} else if (!strcmp(k, "trusted_proxies")) {
		c->n_proxies = 0;
		if (each_item(v, add_proxy, c) < 0)
			return fail(l, line, k, "must be a list of IP addresses or "
			    "CIDR networks (at most %d)", CONFIG_MAX_PROXIES);
	} else if (!strcmp(k, "admin_token_env") || !strcmp(k, "admin_token_file")) {
		if (set_secret_ref(&c->admin_token_ref, strstr(k, "_env") ?
		    "env" : "file", v) < 0)
			return fail(l, line, k, "value too long");
	} else if (!strcmp(k, "log_level")) {
		if (strcmp(v, "error") && strcmp(v, "warn") && strcmp(v, "info") &&
		    strcmp(v, "debug"))
			return fail(l, line, k, "must be error, warn, info or debug");
		copy_value(c->log_level, sizeof(c->log_level), v);
	} else if (!strcmp(k, "max_age")) {
		if (duration_parse_ms(v, &c->max_age_s) < 0 ||
		    c->max_age_s < 3600000)
			return fail(l, line, k, "must be a duration of at least 1h, e.g. 7d");
		c->max_age_s /= 1000;
	} else {
		return fail(l, line, k, "unknown key");
	}
	return 1;
}

static int
delivery_key(struct loader *l, int line, const char *k, const char *v)
{
	struct config *c = l->c;
	long long n;
	int64_t *ms = NULL;

	if (!strcmp(k, "api_base")) {
		if ((strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) ||
		    copy_value(c->api_base, sizeof(c->api_base), v) < 0)
			return fail(l, line, k, "must be an http(s) URL");
		return 1;
	}
	if (!strcmp(k, "sink")) {
		if (copy_value(c->sink_path, sizeof(c->sink_path), v) < 0)
			return fail(l, line, k, "path too long");
		return 1;
	}
	if (!strcmp(k, "batch_size")) {
		if (parse_int(v, 1, 1000, &n) < 0)
			return fail(l, line, k, "must be a whole number from 1 to 1000");
		c->batch_size = (int)n;
		return 1;
	}
	if (!strcmp(k, "flush_delay"))
		ms = &c->flush_ms;
	else if (!strcmp(k, "backoff_base"))
		ms = &c->backoff_base_ms;
	else if (!strcmp(k, "backoff_max"))
		ms = &c->backoff_max_ms;
	else if (!strcmp(k, "request_timeout"))
		ms = &c->request_timeout_ms;
	if (!ms)
		return fail(l, line, k, "unknown key");
	if (duration_parse_ms(v, ms) < 0)
		return fail(l, line, k, "must be a duration such as 200ms, 5s or 10m");
	return 1;
}

static int
account_key(struct loader *l, int line, const char *k, const char *v)
{
	struct account_config *a = l->acct;
	long long n;

	if (!strcmp(k, "ad_account_id")) {
		size_t len = strlen(v);

		if (len == 0 || len > 18 || strspn(v, "0123456789") != len)
			return fail(l, line, k, "must be Pinterest's numeric ad "
			    "account id (up to 18 digits)");
		copy_value(a->ad_account_id, sizeof(a->ad_account_id), v);
	} else if (!strcmp(k, "token_env") || !strcmp(k, "token_file")) {
		if (set_secret_ref(&a->token_ref, strstr(k, "_env") ? "env" :
		    "file", v) < 0)
			return fail(l, line, k, "value too long");
	} else if (!strcmp(k, "server_key_env") || !strcmp(k, "server_key_file")) {
		if (set_secret_ref(&a->server_key_ref, strstr(k, "_env") ?
		    "env" : "file", v) < 0)
			return fail(l, line, k, "value too long");
	} else if (!strcmp(k, "token") || !strcmp(k, "server_key")) {
		return fail(l, line, k, "secrets are not read from the INI file; "
		    "use %s_env (an environment variable) or %s_file", k, k);
	} else if (!strcmp(k, "browser_key")) {
		if (strlen(v) < 8 || copy_value(a->browser_key,
		    sizeof(a->browser_key), v) < 0)
			return fail(l, line, k, "must be 8 to %d characters",
			    CONFIG_NAME_MAX - 1);
	} else if (!strcmp(k, "allowed_origins")) {
		a->n_origins = 0;
		if (each_item(v, add_origin, a) < 0)
			return fail(l, line, k, "must be a list of origins such as "
			    "https://shop.example (scheme, host, optional port; "
			    "at most %d)", CONFIG_MAX_ORIGINS);
	} else if (!strcmp(k, "partner_name")) {
		if (copy_value(a->partner_name, sizeof(a->partner_name), v) < 0)
			return fail(l, line, k, "value too long");
	} else if (!strcmp(k, "test_mode")) {
		if (parse_bool(v, &a->test_mode) < 0)
			return fail(l, line, k, "must be true or false");
	} else if (!strcmp(k, "rate_limit")) {
		if (parse_int(v, 1, 1000000, &n) < 0)
			return fail(l, line, k, "must be requests per minute, a "
			    "whole number from 1 to 1000000");
		a->rate_limit_per_min = (int)n;
	} else if (!strcmp(k, "merge_window")) {
		if (duration_parse_ms(v, &a->merge_window_ms) < 0 ||
		    a->merge_window_ms > 3600000)
			return fail(l, line, k, "must be a duration up to 1h");
	} else {
		return fail(l, line, k, "unknown key");
	}
	return 1;
}

static int
parse_share(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return errno || end == v || *end || *out < 0 || *out > 1 ? -1 : 0;
}

/* Keys shared by [monitor] and [rules "..."]. */
static int
rules_key(struct loader *l, int line, const char *k, const char *v)
{
	struct rule_settings *r = l->rules;
	struct config *c = l->c;
	double *share = NULL;
	int64_t *ms = NULL;
	long long n;

	if (r == &c->monitor && !strcmp(k, "webhook_url")) {
		if ((strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) ||
		    copy_value(c->webhook_url, sizeof(c->webhook_url), v) < 0)
			return fail(l, line, k, "must be an http(s) URL");
		return 1;
	}
	if (r == &c->monitor && !strcmp(k, "ledger_max_mb")) {
		if (parse_int(v, 1, 4096, &n) < 0)
			return fail(l, line, k, "must be whole MiB from 1 to 4096");
		c->ledger_max_bytes = (size_t)n << 20;
		return 1;
	}
	if (r == &c->monitor && !strcmp(k, "grace")) {
		if (duration_parse_ms(v, &c->grace_ms) < 0 ||
		    c->grace_ms > 86400000)
			return fail(l, line, k, "must be a duration up to 1d, "
			    "e.g. 10m");
		return 1;
	}
	if (!strcmp(k, "dedup_threshold"))
		share = &r->dedup_threshold;
	else if (!strcmp(k, "volume_threshold"))
		share = &r->volume_threshold;
	else if (!strcmp(k, "leg_down_share"))
		share = &r->leg_down_share;
	else if (!strcmp(k, "fail_share"))
		share = &r->fail_share;
	else if (!strcmp(k, "sustain"))
		ms = &r->sustain_ms;
	else if (!strcmp(k, "clear"))
		ms = &r->clear_ms;
	if (share) {
		if (parse_share(v, share) < 0)
			return fail(l, line, k, "must be a share from 0 to 1, "
			    "e.g. 0.7");
		return 1;
	}
	if (ms) {
		if (duration_parse_ms(v, ms) < 0 || *ms < 60000 ||
		    *ms > 86400000)
			return fail(l, line, k, "must be a duration from 1m to "
			    "1d, e.g. 30m");
		return 1;
	}
	if (!strcmp(k, "min_events")) {
		if (parse_int(v, 1, 100000, &n) < 0)
			return fail(l, line, k, "must be a whole number from 1 "
			    "to 100000");
		r->min_events = (long)n;
		return 1;
	}
	if (!strcmp(k, "disable")) {
		if (copy_value(r->disable, sizeof(r->disable), v) < 0)
			return fail(l, line, k, "value too long");
		return 1;
	}
	return fail(l, line, k, "unknown key");
}

static void
rule_settings_unset(struct rule_settings *r)
{
	memset(r, 0, sizeof(*r));
	r->dedup_threshold = -1;
	r->volume_threshold = -1;
	r->leg_down_share = -1;
	r->fail_share = -1;
	r->sustain_ms = -1;
	r->clear_ms = -1;
	r->min_events = -1;
}

/* Parses `rules "ACCOUNT"` or `rules "ACCOUNT/EVENT"`. */
static int
rules_section(struct loader *l, const char *section)
{
	struct config *c = l->c;
	const char *p = section + 5, *end, *slash;
	struct rule_settings *r;

	while (*p == ' ')
		p++;
	if (*p != '"' || !(end = strchr(p + 1, '"')) || end[1] != '\0' ||
	    end == p + 1)
		return fail(l, l->line, section, "write [rules \"ACCOUNT\"] or "
		    "[rules \"ACCOUNT/EVENT\"] (\"*\" for every account)");
	if (c->n_rules == CONFIG_MAX_RULES)
		return fail(l, l->line, section, "at most %d [rules] sections",
		    CONFIG_MAX_RULES);
	r = &c->rules[c->n_rules++];
	rule_settings_unset(r);
	r->line = l->line;
	p++;
	slash = memchr(p, '/', (size_t)(end - p));
	if ((size_t)((slash ? slash : end) - p) >= sizeof(r->account) ||
	    (slash && (size_t)(end - slash - 1) >= sizeof(r->event_name)))
		return fail(l, l->line, section, "name too long");
	memcpy(r->account, p, (size_t)((slash ? slash : end) - p));
	if (!strcmp(r->account, "*"))
		r->account[0] = '\0';
	if (slash)
		memcpy(r->event_name, slash + 1, (size_t)(end - slash - 1));
	l->rules = r;
	return 1;
}

/* Parses `account "NAME"` (git-config style) into name. */
static int
account_section(const char *section, char *name, size_t cap)
{
	const char *p = section + 7, *end;

	while (*p == ' ')
		p++;
	if (*p != '"' || !(end = strchr(p + 1, '"')) || end[1] != '\0')
		return -1;
	p++;
	if (end == p || (size_t)(end - p) >= cap)
		return -1;
	for (const char *q = p; q < end; q++)
		if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
			return -1;
	memcpy(name, p, (size_t)(end - p));
	name[end - p] = '\0';
	return 0;
}

static void
account_defaults(struct account_config *a)
{
	memset(a, 0, sizeof(*a));
	copy_value(a->partner_name, sizeof(a->partner_name), "ss-pinbridge");
	a->rate_limit_per_min = 5000;
	a->merge_window_ms = 60000;
}

/* Starts a section: called for the first key inih reports in it. */
static int
begin_section(struct loader *l, const char *section)
{
	struct config *c = l->c;
	char name[CONFIG_NAME_MAX];

	copy_value(l->section, sizeof(l->section), section);
	l->acct = NULL;
	l->rules = NULL;
	if (!strcmp(section, "server") || !strcmp(section, "delivery"))
		return 1;
	if (!strcmp(section, "monitor")) {
		l->rules = &c->monitor;
		return 1;
	}
	if (!strncmp(section, "rules", 5) && (section[5] == ' ' ||
	    section[5] == '"'))
		return rules_section(l, section);
	if (strncmp(section, "account", 7) || (section[7] != ' ' &&
	    section[7] != '"'))
		return fail(l, l->line, section, "unknown section");
	if (account_section(section, name, sizeof(name)) < 0)
		return fail(l, l->line, section, "write [account \"NAME\"] with "
		    "NAME made of letters, digits, '-' and '_'");
	if (config_account_by_name(c, name))
		return fail(l, l->line, section, "account \"%s\" is defined "
		    "twice", name);
	if (c->n_accounts == CONFIG_MAX_ACCOUNTS)
		return fail(l, l->line, section, "at most %d accounts",
		    CONFIG_MAX_ACCOUNTS);
	l->acct = &c->accounts[c->n_accounts++];
	account_defaults(l->acct);
	copy_value(l->acct->name, sizeof(l->acct->name), name);
	l->acct->line = l->line;
	return 1;
}

/*
 * The part of [s, *end) without leading and trailing spaces (moving *end
 * back), as a section name is read from "[ name ]".
 */
static const char *
strip_spaces(const char *s, const char **end)
{
	while (s < *end && *s == ' ')
		s++;
	while (*end > s && (*end)[-1] == ' ')
		(*end)--;
	return s;
}

/*
 * Whether the section inih reports a key in is the one read_line() began
 * (inih keeps the spaces inside the brackets; read_line() trims them).
 * They differ only if the two read a header line differently; the rules
 * in read_line() and nul_line() are there so that they never do.
 */
static bool
same_section(const char *reported, const char *begun)
{
	const char *end = reported + strlen(reported);
	size_t n;

	reported = strip_spaces(reported, &end);
	n = (size_t)(end - reported);
	return strlen(begun) == n && !strncmp(reported, begun, n);
}

static int
on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct loader *l = user;

	if (l->failed)
		return 0;
	if (!*section)
		return fail(l, l->line, key, "key outside of any section");
	if (!same_section(section, l->section))
		return fail(l, l->line, key, "the section header above this "
		    "key cannot be read; write it on a line of its own as "
		    "[name]");
	/* By the section begin_section() took, as it trimmed the name. */
	if (!strcmp(l->section, "server"))
		return server_key(l, l->line, key, value);
	if (!strcmp(l->section, "delivery"))
		return delivery_key(l, l->line, key, value);
	if (l->rules)
		return rules_key(l, l->line, key, value);
	if (l->acct)
		return account_key(l, l->line, key, value);
	return fail(l, l->line, key, "no section to hold this key");
}

/*
 * inih's line reader. It counts lines so errors can name them, and starts
 * sections itself: inih reports a section only through its keys, so it
 * would never show an empty section or a header repeated later.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct loader *l = stream;
	char *r = fgets(str, num, l->f), *end, *rest;
	const char *p, *name_end;
	char name[CONFIG_VALUE_MAX];

	if (!r)
		return r;
	l->line++;
	for (p = str; *p != '\n' && isspace((unsigned char)*p); p++)
		;
	if (*p != '[' || l->failed)
		return r;
	/* inih reads an indented line as more of the value above it. */
	if (p > str) {
		fail(l, l->line, "section", "a section header must start its "
		    "line (an indented line continues the value above)");
		return r;
	}
	if (!(end = strchr(p, ']')))
		return r;
	for (rest = end + 1; *rest && isspace((unsigned char)*rest); rest++)
		;
	if (*rest && *rest != ';' && *rest != '#') {
		fail(l, l->line, "section", "text after ']' (a comment starts "
		    "with ';' or '#')");
		return r;
	}
	name_end = end;
	p = strip_spaces(p + 1, &name_end);
	if ((size_t)(name_end - p) >= sizeof(name)) {
		fail(l, l->line, "section", "name too long");
		return r;
	}
	memcpy(name, p, (size_t)(name_end - p));
	name[name_end - p] = '\0';
	begin_section(l, name);
	return r;
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	copy_value(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
	c->listen_port = 8080;
	copy_value(c->data_dir, sizeof(c->data_dir), "./var");
	c->threads = 2;
	c->connection_timeout_s = 30;
	copy_value(c->log_level, sizeof(c->log_level), "info");
	c->max_age_s = 7 * 86400;
	copy_value(c->api_base, sizeof(c->api_base), "https://api.pinterest.com");
	c->flush_ms = 200;
	c->batch_size = 1000;
	c->backoff_base_ms = 1000;
	c->backoff_max_ms = 600000;
	c->request_timeout_ms = 30000;
	rule_settings_unset(&c->monitor);
	c->grace_ms = 10 * 60000;
}

static int
validate(struct loader *l)
{
	struct config *c = l->c;

	for (size_t i = 0; i < c->n_accounts; i++) {
		struct account_config *a = &c->accounts[i];

		snprintf(l->section, sizeof(l->section), "account \"%s\"", a->name);
		if (!a->ad_account_id[0])
			return fail(l, a->line, "ad_account_id", "is required");
		if (!a->browser_key[0] && !a->server_key_ref.env[0] &&
		    !a->server_key_ref.file[0])
			return fail(l, a->line, "browser_key", "an account needs a "
			    "browser_key or a server_key_env/server_key_file to "
			    "accept events");
		if (a->browser_key[0] && a->n_origins == 0)
			return fail(l, a->line, "allowed_origins", "is required "
			    "with a browser_key (the browser key is public; "
			    "origins restrict where it works)");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->accounts[j].ad_account_id, a->ad_account_id))
				return fail(l, a->line, "ad_account_id", "is "
				    "also used by account \"%s\"",
				    c->accounts[j].name);
	}
	return l->failed ? 0 : 1;
}

/*
 * The line of the first NUL byte in f, or 0; rewinds f. C strings end at
 * a NUL, so inih and read_line() would each read such a line differently.
 */
static int
nul_line(FILE *f)
{
	int ch, line = 1;

	while ((ch = getc(f)) != EOF && ch != '\0')
		line += ch == '\n';
	rewind(f);
	return ch == '\0' ? line : 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct loader l = { .c = c, .err = err, .errlen = errlen };
	FILE *f;
	int r;

	copy_value(c->path, sizeof(c->path), path);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((r = nul_line(f)) > 0) {
		fclose(f);
		snprintf(err, errlen, "%s:%d: contains a NUL byte (is this a "
		    "text file?)", path, r);
		return -1;
	}
	l.f = f;
	r = ini_parse_stream(read_line, &l, on_entry, &l);
	fclose(f);
	if (l.failed)
		return -1;
	if (r > 0) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] "
		    "or key = value)", path, r);
		return -1;
	}
	validate(&l);
	return l.failed ? -1 : 0;
}

static char *
read_secret(const struct secret_ref *r, const char *what, char *err,
    size_t errlen, int *rc)
{
	char buf[SECRET_MAX + 1];
	const char *v;
	size_t n;

	*rc = 0;
	if (r->env[0]) {
		v = getenv(r->env);
		if (!v || !*v) {
			snprintf(err, errlen, "%s: environment variable %s is "
			    "not set", what, r->env);
			*rc = -1;
			return NULL;
		}
		n = strlen(v);
		if (n > SECRET_MAX)
			goto too_long;
		return xstrndup(v, n);
	}
	if (r->file[0]) {
		int fd = open(r->file, O_RDONLY | O_CLOEXEC);
		ssize_t got;

		if (fd < 0) {
			snprintf(err, errlen, "%s: %s: %s", what, r->file,
			    strerror(errno));
			*rc = -1;
			return NULL;
		}
		got = read(fd, buf, sizeof(buf));
		close(fd);
		if (got < 0) {
			snprintf(err, errlen, "%s: %s: %s", what, r->file,
			    strerror(errno));
			*rc = -1;
			return NULL;
		}
		n = (size_t)got;
		if (n > SECRET_MAX)
			goto too_long;
		while (n && isspace((unsigned char)buf[n - 1]))
			n--;
		if (!n) {
			snprintf(err, errlen, "%s: %s is empty", what, r->file);
			*rc = -1;
			return NULL;
		}
		return xstrndup(buf, n);
	}
	return NULL;
too_long:
	snprintf(err, errlen, "%s: longer than %d bytes", what, SECRET_MAX);
	*rc = -1;
	return NULL;
}

int
config_load_secrets(struct config *c, char *err, size_t errlen)
{
	char what[CONFIG_NAME_MAX + 32];
	int rc;

	c->admin_token = read_secret(&c->admin_token_ref, "[server] admin token",
	    err, errlen, &rc);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < c->n_accounts; i++) {
		struct account_config *a = &c->accounts[i];

		snprintf(what, sizeof(what), "[account \"%s\"] token", a->name);
		a->token = read_secret(&a->token_ref, what, err, errlen, &rc);
		if (rc < 0)
			return -1;
		snprintf(what, sizeof(what), "[account \"%s\"] server key", a->name);
		a->server_key = read_secret(&a->server_key_ref, what, err,
		    errlen, &rc);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void
wipe(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
config_release(struct config *c)
{
	wipe(&c->admin_token);
	for (size_t i = 0; i < c->n_accounts; i++) {
		wipe(&c->accounts[i].token);
		wipe(&c->accounts[i].server_key);
	}
}

const struct account_config *
config_account_by_name(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_accounts; i++)
		if (!strcmp(c->accounts[i].name, name))
			return &c->accounts[i];
	return NULL;
}

const struct account_config *
config_account_by_ad_id(const struct config *c, const char *id)
{
	for (size_t i = 0; i < c->n_accounts; i++)
		if (!strcmp(c->accounts[i].ad_account_id, id))
			return &c->accounts[i];
	return NULL;
}

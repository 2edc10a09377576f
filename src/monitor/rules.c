/*
 * rules.c: defaults, triage text and the decision of each rule over a
 * widening sliding window.
 */
#include "monitor/rules.h"

#include <math.h>
#include <string.h>

#include "monitor/stats.h"
#include "util/banned.h"

static const char *const names[RULE_COUNT] = {
	"dedup_rate_low",
	"volume_low",
	"server_leg_down",
	"browser_leg_down",
	"delivery_failing",
	"credentials_invalid",
};

static const char *const triage[RULE_COUNT] = {
	/* dedup_rate_low */
	"Dedup down + conversions up = double-counting. The browser (Tag) and "
	"server (CAPI) legs stopped sharing event_id, so Pinterest counts the "
	"same order twice and ROAS reads up to ~2x reality. Almost always a "
	"deploy: a theme update, tag manager republish, checkout or app update "
	"changed the event payload so the shared id is missing or formatted "
	"differently on one leg. Compare the example pairs (same order_id, "
	"different event_id) to see what changed, then restore the shared id "
	"(<event_name>:<order_id> from tag.js and the server) on both legs. "
	"Treat ROAS, CPA and conversion counts as unreliable until this "
	"resolves and a backfill window passes.",
	/* volume_low */
	"Conversions down toward zero = events stopped. Check that the Pinterest "
	"Tag and tag.js are still on the checkout/thank-you template (theme, "
	"tag manager publish) and that the store backend or CAPI client is "
	"still sending to pinbridge (its logs, write key, ingest 4xx/5xx in the "
	"pinbridge log). If both legs fell together, suspect the source (site "
	"down, checkout broken) or the path to pinbridge.",
	/* server_leg_down */
	"Tag count healthy but the server (CAPI) leg at or near zero = the "
	"server-side integration broke. Check the store backend, webhook or "
	"CAPI client that posts to pinbridge: is it running, was it redeployed, "
	"is its write key still valid (pinbridge logs 401s on ingest)? Until "
	"fixed, conversions are only as durable as the browser leg.",
	/* browser_leg_down */
	"CAPI count healthy but the Tag (browser) leg at or near zero = the "
	"browser tag was removed or blocked. Check the theme and tag manager: "
	"is pintrk and /v1/tag.js still loaded on the checkout/thank-you page, "
	"did a consent banner, CSP or script-loading change block it? "
	"Deduplication cannot work without the browser leg.",
	/* delivery_failing */
	"Pinterest is rejecting or failing a share of the events pinbridge "
	"delivers. Look at the per-event errors and the dead-letter queue "
	"(invalid or missing fields, event_time too old, unknown ad account), "
	"the delivery lag and queue depth, and Pinterest's API status. Fix the "
	"payload or configuration, then replay the dead letters.",
	/* credentials_invalid */
	"Pinterest answered 401/403: the conversion access token is invalid, "
	"expired or revoked, or lacks access to this ad account. Generate a "
	"new Conversions API token in Pinterest Ads Manager for the right ad "
	"account and update the configuration; events wait in the queue and "
	"are retried once the token works.",
};

void
rule_config_defaults(struct rule_config *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < RULE_COUNT; i++)
		c->enabled[i] = true;
	c->dedup_threshold = 0.70;
	c->volume_threshold = 0.50;
	c->leg_down_share = 0.10;
	c->leg_floor = 0.30;
	c->fail_share = 0.10;
	c->alpha = 0.01;
	c->min_events = 20;
	c->window_ms = 5 * 60 * 1000;
	c->max_window_ms = 6 * 3600 * 1000;
	c->sustain_ms = 30 * 60 * 1000;
	c->delivery_sustain_ms = 15 * 60 * 1000;
	c->clear_ms = 10 * 60 * 1000;
}

const char *
rule_name(enum rule_id r)
{
	return (unsigned)r < RULE_COUNT ? names[r] : "?";
}

int
rule_by_name(const char *name)
{
	for (int i = 0; i < RULE_COUNT; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

const char *
rule_triage(enum rule_id r)
{
	return (unsigned)r < RULE_COUNT ? triage[r] : "";
}

static int64_t
next_window(const struct rule_config *c, int64_t w)
{
	/* Fine steps while short (latency matters), then doubling. */
	w = w < 6 * c->window_ms ? w + c->window_ms : 2 * w;
	return w > c->max_window_ms ? c->max_window_ms : w;
}

static void
eval_dedup(const struct rule_config *c, const struct buckets *b, int64_t now,
    struct rule_eval *out)
{
	double z = stats_normal_upper_quantile(c->alpha);
	uint64_t s, sm;
	int64_t w = c->window_ms;

	out->threshold = c->dedup_threshold;
	for (;;) {
		s = buckets_recent(b, BC_SETTLED, now - w, now);
		sm = buckets_recent(b, BC_SETTLED_MATCHED, now - w, now);
		if (s >= c->min_events || w >= c->max_window_ms)
			break;
		w = next_window(c, w);
	}
	out->window_ms = w;
	out->observed = (double)sm;
	out->total = (double)s;
	if (s == 0)
		return;
	out->value = (double)sm / (double)s;
	if (s < c->min_events)
		return;
	out->p = stats_wilson_upper((double)sm, (double)s, z);
	out->verdict = out->value < c->dedup_threshold &&
	    out->p < c->dedup_threshold ? VERDICT_BAD : VERDICT_OK;
}

static void
eval_volume(const struct rule_config *c, const struct buckets *b, int64_t now,
    struct rule_eval *out)
{
	struct baseline bl;
	uint64_t obs;
	int64_t w = c->window_ms;

	out->threshold = c->volume_threshold;
	for (;;) {
		obs = buckets_recent(b, BC_UNION, now - w, now);
		baseline_expected(b, BC_UNION, now - w, now, &bl);
		if (bl.source == BASELINE_NONE)
			break;
		/* Enough evidence under H0 (volume at the threshold). */
		if (c->volume_threshold * bl.expected >= c->min_events ||
		    w >= c->max_window_ms)
			break;
		w = next_window(c, w);
	}
	out->window_ms = w;
	out->baseline = bl.source;
	out->observed = (double)obs;
	out->total = bl.expected;
	if (bl.source == BASELINE_NONE || !(bl.expected > 0))
		return;
	out->value = (double)obs / bl.expected;
	if (c->volume_threshold * bl.expected < c->min_events)
		return;
	/*
	 * H0: the volume is at least threshold x expected. Testing against
	 * the threshold, not the expectation, keeps ordinary dips (a slow
	 * day, Poisson noise at night) from counting as evidence.
	 */
	out->p = stats_poisson_cdf(obs, c->volume_threshold * bl.expected);
	out->verdict = out->value < c->volume_threshold && out->p < c->alpha ?
	    VERDICT_BAD : VERDICT_OK;
}

/* `down` at or near zero while `up` carries healthy traffic. */
static void
eval_leg(const struct rule_config *c, const struct buckets *b, int64_t now,
    enum bucket_counter down, enum bucket_counter up, struct rule_eval *out)
{
	struct baseline bl;
	uint64_t d, h;
	int64_t w = c->window_ms;

	out->threshold = c->leg_down_share;
	for (;;) {
		d = buckets_recent(b, down, now - w, now);
		h = buckets_recent(b, up, now - w, now);
		if (h >= c->min_events || w >= c->max_window_ms)
			break;
		w = next_window(c, w);
	}
	out->window_ms = w;
	out->observed = (double)d;
	out->total = (double)h;
	if (h == 0)
		return;
	out->value = (double)d / (double)h;
	if (h < c->min_events)
		return;
	/* The other leg must itself look healthy against its baseline. */
	baseline_expected(b, up, now - w, now, &bl);
	out->baseline = bl.source;
	if (bl.source != BASELINE_NONE &&
	    (double)h < c->volume_threshold * bl.expected)
		return;
	out->p = stats_poisson_cdf(d, c->leg_floor * (double)h);
	out->verdict = out->value < c->leg_down_share && out->p < c->alpha ?
	    VERDICT_BAD : VERDICT_OK;
}

static void
eval_delivery(const struct rule_config *c, const struct buckets *b,
    int64_t now, struct rule_eval *out)
{
	double z = stats_normal_upper_quantile(c->alpha);
	uint64_t d, f;
	int64_t w = c->window_ms;

	out->threshold = c->fail_share;
	for (;;) {
		d = buckets_recent(b, BC_DELIVERED, now - w, now);
		f = buckets_recent(b, BC_FAILED, now - w, now);
		if (d + f >= c->min_events || w >= c->max_window_ms)
			break;
		w = next_window(c, w);
	}
	out->window_ms = w;
	out->observed = (double)f;
	out->total = (double)(d + f);
	if (d + f == 0)
		return;
	out->value = (double)f / (double)(d + f);
	if (d + f < c->min_events)
		return;
	out->p = stats_wilson_lower((double)f, (double)(d + f), z);
	out->verdict = out->value > c->fail_share && out->p > c->fail_share ?
	    VERDICT_BAD : VERDICT_OK;
}

void
rule_evaluate(enum rule_id r, const struct rule_config *c,
    const struct buckets *b, int64_t now_ms, struct rule_eval *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = VERDICT_UNKNOWN;
	out->value = NAN;
	out->p = NAN;
	switch (r) {
	case RULE_DEDUP_RATE_LOW:
		eval_dedup(c, b, now_ms, out);
		break;
	case RULE_VOLUME_LOW:
		eval_volume(c, b, now_ms, out);
		break;
	case RULE_SERVER_LEG_DOWN:
		eval_leg(c, b, now_ms, BC_SERVER, BC_BROWSER, out);
		break;
	case RULE_BROWSER_LEG_DOWN:
		eval_leg(c, b, now_ms, BC_BROWSER, BC_SERVER, out);
		break;
	case RULE_DELIVERY_FAILING:
		eval_delivery(c, b, now_ms, out);
		break;
	default:
		break;
	}
}

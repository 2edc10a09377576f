#include "monitor/live.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WEBHOOK_QUEUE		64
#define WEBHOOK_ATTEMPTS	5
#define WEBHOOK_TIMEOUT_MS	5000
#define SAVE_EVERY_MS		(3600 * 1000)

struct webhook_job {
	char *body;
	int attempts;
	int64_t next_ms;		/* monotonic */
};

struct live_monitor {
	struct live_config cfg;
	struct monitor *m;
	pthread_mutex_t lock;		/* guards m */
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool stopping;
	pthread_t thread;
	/* Alert webhooks waiting to be (re)sent; jobs_lock guards them. */
	pthread_mutex_t jobs_lock;
	struct webhook_job jobs[WEBHOOK_QUEUE];
	size_t n_jobs;
	pthread_mutex_t flush_lock;	/* one flusher at a time; owns curl */
	CURL *curl;
	int64_t last_save_ms;
};

/* Sink: runs on whichever thread called monitor_tick (ours, under lock). */
static void
on_transition(void *ctx, const struct monitor_transition *t)
{
	struct live_monitor *lm = ctx;
	struct buf line = BUF_INIT;
	const struct monitor_alert *a = t->alert;

	monitor_transition_json(t, MONITOR_JSON_CONTEXT | MONITOR_JSON_TRIAGE,
	    &line);
	log_warn("alert %s %s: account=%s event=%s", rule_name(a->rule),
	    t->alert->state == ALERT_FIRING ? "FIRING" : "resolved",
	    a->account, a->event_name);
	if (lm->cfg.alerts_path) {
		FILE *f = fopen(lm->cfg.alerts_path, "a");

		if (f) {
			fprintf(f, "%s\n", line.data);
			fflush(f);
			fdatasync(fileno(f));
			fclose(f);
		} else {
			log_error("cannot append alert to %s: %s",
			    lm->cfg.alerts_path, strerror(errno));
		}
	}
	if (lm->cfg.webhook_url) {
		pthread_mutex_lock(&lm->jobs_lock);
		if (lm->n_jobs == WEBHOOK_QUEUE) {
			log_error("webhook queue full; dropping the oldest alert");
			free(lm->jobs[0].body);
			memmove(lm->jobs, lm->jobs + 1,
			    (WEBHOOK_QUEUE - 1) * sizeof(lm->jobs[0]));
			lm->n_jobs--;
		}
		lm->jobs[lm->n_jobs].body = buf_detach(&line, NULL);
		lm->jobs[lm->n_jobs].attempts = 0;
		lm->jobs[lm->n_jobs].next_ms = 0;
		lm->n_jobs++;
		pthread_mutex_unlock(&lm->jobs_lock);
	}
	buf_release(&line);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One POST; true when the receiver answered 2xx. */
static bool
post_webhook(struct live_monitor *lm, const char *body)
{
	struct curl_slist *h = NULL;
	long code = 0;
	CURLcode rc;

	if (!lm->curl && !(lm->curl = curl_easy_init()))
		return false;
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(lm->curl, CURLOPT_URL, lm->cfg.webhook_url);
	curl_easy_setopt(lm->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(lm->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(lm->curl, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
	curl_easy_setopt(lm->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(lm->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(lm->curl, CURLOPT_USERAGENT, "pinbridge-alerts");
	rc = curl_easy_perform(lm->curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(lm->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	return rc == CURLE_OK && code >= 200 && code < 300;
}

/*
 * Sends the jobs that are due. The queue lock is not held while posting,
 * so a slow receiver never stalls the sink (which runs under the engine
 * lock that ingest threads take).
 */
static void
flush_webhooks(struct live_monitor *lm, bool final)
{
	struct webhook_job due[WEBHOOK_QUEUE];
	int64_t now = clock_mono_ms();
	size_t n_due = 0, kept = 0;

	pthread_mutex_lock(&lm->flush_lock);
	pthread_mutex_lock(&lm->jobs_lock);
	for (size_t i = 0; i < lm->n_jobs; i++) {
		if (lm->jobs[i].next_ms <= now || final)
			due[n_due++] = lm->jobs[i];
		else
			lm->jobs[kept++] = lm->jobs[i];
	}
	lm->n_jobs = kept;
	pthread_mutex_unlock(&lm->jobs_lock);

	for (size_t i = 0; i < n_due; i++) {
		struct webhook_job *j = &due[i];

		if (post_webhook(lm, j->body)) {
			free(j->body);
			j->body = NULL;
			continue;
		}
		if (++j->attempts >= WEBHOOK_ATTEMPTS) {
			log_error("webhook: giving up on an alert after %d "
			    "attempts (it stays in the alerts file)", j->attempts);
			free(j->body);
			j->body = NULL;
			continue;
		}
		/* 2 s, 4 s, 8 s, ... between attempts. */
		j->next_ms = now + (1000LL << j->attempts);
	}

	pthread_mutex_lock(&lm->jobs_lock);
	for (size_t i = 0; i < n_due; i++) {
		if (!due[i].body)
			continue;
		if (lm->n_jobs < WEBHOOK_QUEUE)
			lm->jobs[lm->n_jobs++] = due[i];
		else
			free(due[i].body);
	}
	pthread_mutex_unlock(&lm->jobs_lock);
	pthread_mutex_unlock(&lm->flush_lock);
}

static void
save_state(struct live_monitor *lm)
{
	char tmp[1024];
	FILE *f;
	int rc;

	if (!lm->cfg.state_path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", lm->cfg.state_path);
	f = fopen(tmp, "wb");
	if (!f) {
		log_error("monitor: cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	pthread_mutex_lock(&lm->lock);
	rc = monitor_save(lm->m, f);
	pthread_mutex_unlock(&lm->lock);
	if (rc < 0 || fflush(f) != 0 || fdatasync(fileno(f)) != 0) {
		log_error("monitor: saving history to %s failed", tmp);
		fclose(f);
		unlink(tmp);
		return;
	}
	fclose(f);
	if (rename(tmp, lm->cfg.state_path) < 0)
		log_error("monitor: cannot rename %s: %s", tmp, strerror(errno));
}

static void
load_state(struct live_monitor *lm)
{
	FILE *f;

	if (!lm->cfg.state_path || !(f = fopen(lm->cfg.state_path, "rb")))
		return;
	if (monitor_load(lm->m, f) < 0)
		log_warn("monitor: %s is unreadable; starting without history",
		    lm->cfg.state_path);
	else
		log_info("monitor: history loaded from %s", lm->cfg.state_path);
	fclose(f);
}

void
live_tick_now(struct live_monitor *lm)
{
	pthread_mutex_lock(&lm->lock);
	if (lm->cfg.before_tick)
		lm->cfg.before_tick(lm->cfg.arg, lm->m);
	monitor_tick(lm->m);
	pthread_mutex_unlock(&lm->lock);
	flush_webhooks(lm, false);
}

static void *
run(void *arg)
{
	struct live_monitor *lm = arg;

	thread_name("pb-monitor");
	for (;;) {
		int64_t next = (clock_now_ms(lm->cfg.clock) / MONITOR_TICK_MS + 1) *
		    MONITOR_TICK_MS;
		bool stop;

		/* Sleep to the next minute boundary of the wall clock. */
		pthread_mutex_lock(&lm->wake_lock);
		while (!lm->stopping) {
			int64_t left = next - clock_now_ms(lm->cfg.clock);
			struct timespec until;

			if (left <= 0)
				break;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += left / 1000;
			until.tv_nsec += (left % 1000) * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&lm->wake, &lm->wake_lock, &until);
		}
		stop = lm->stopping;
		pthread_mutex_unlock(&lm->wake_lock);
		if (stop)
			break;
		live_tick_now(lm);
		if (clock_mono_ms() - lm->last_save_ms >= SAVE_EVERY_MS) {
			save_state(lm);
			lm->last_save_ms = clock_mono_ms();
		}
	}
	return NULL;
}

struct live_monitor *
live_start(const struct live_config *cfg)
{
	struct live_monitor *lm = xcalloc(1, sizeof(*lm));

	lm->cfg = *cfg;
	lm->m = monitor_new(cfg->clock, &cfg->engine);
	if (!lm->m) {
		free(lm);
		return NULL;
	}
	monitor_set_sink(lm->m, on_transition, lm);
	pthread_mutex_init(&lm->lock, NULL);
	pthread_mutex_init(&lm->jobs_lock, NULL);
	pthread_mutex_init(&lm->flush_lock, NULL);
	pthread_mutex_init(&lm->wake_lock, NULL);
	pthread_cond_init(&lm->wake, NULL);
	load_state(lm);
	lm->last_save_ms = clock_mono_ms();
	if (pthread_create(&lm->thread, NULL, run, lm) != 0) {
		monitor_free(lm->m);
		free(lm);
		return NULL;
	}
	return lm;
}

void
live_stop(struct live_monitor *lm)
{
	if (!lm)
		return;
	pthread_mutex_lock(&lm->wake_lock);
	lm->stopping = true;
	pthread_cond_signal(&lm->wake);
	pthread_mutex_unlock(&lm->wake_lock);
	pthread_join(lm->thread, NULL);
	if (lm->n_jobs)
		flush_webhooks(lm, true);
	for (size_t i = 0; i < lm->n_jobs; i++)
		free(lm->jobs[i].body);
	save_state(lm);
	if (lm->curl)
		curl_easy_cleanup(lm->curl);
	monitor_free(lm->m);
	pthread_mutex_destroy(&lm->lock);
	pthread_mutex_destroy(&lm->jobs_lock);
	pthread_mutex_destroy(&lm->flush_lock);
	pthread_mutex_destroy(&lm->wake_lock);
	pthread_cond_destroy(&lm->wake);
	free(lm);
}

void
live_with(struct live_monitor *lm, void (*fn)(struct monitor *m, void *arg),
    void *arg)
{
	pthread_mutex_lock(&lm->lock);
	fn(lm->m, arg);
	pthread_mutex_unlock(&lm->lock);
}

void
live_observe(struct live_monitor *lm, const struct monitor_obs *o)
{
	pthread_mutex_lock(&lm->lock);
	monitor_observe(lm->m, o);
	pthread_mutex_unlock(&lm->lock);
}

void
live_metrics(struct live_monitor *lm, struct buf *out)
{
	pthread_mutex_lock(&lm->lock);
	monitor_metrics(lm->m, out);
	pthread_mutex_unlock(&lm->lock);
}

void
live_status_json(struct live_monitor *lm, struct buf *out)
{
	pthread_mutex_lock(&lm->lock);
	monitor_status_json(lm->m, out);
	pthread_mutex_unlock(&lm->lock);
}

void
live_alerts_json(struct live_monitor *lm, struct buf *out)
{
	pthread_mutex_lock(&lm->lock);
	monitor_alerts_json(lm->m, out);
	pthread_mutex_unlock(&lm->lock);
}

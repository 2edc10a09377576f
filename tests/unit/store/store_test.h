/*
 * store_test.h: helpers shared by the store unit tests: a temp directory
 * per test, records with owned strings, and a wall-clock guard so a hung
 * test fails instead of stalling the suite.
 */
#ifndef PB_STORE_TEST_H
#define PB_STORE_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

struct tdir {
	char dir[64];
	char db[128];
};

/* A fresh directory under /tmp; the db path is one level deeper so that
 * store_open() has to create its parent. */
static inline void
tdir_make(struct tdir *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/pb-store-XXXXXX");
	if (!mkdtemp(t->dir))
		abort();
	snprintf(t->db, sizeof(t->db), "%s/var/pinbridge.db", t->dir);
}

/* Removes what the tests create: files and one level of directories. */
static inline void
rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[1024];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", path, e->d_name) <
		    (int)sizeof(p))
			rm_tree(p);
	}
	closedir(d);
	rmdir(path);
}

static inline void
tdir_remove(struct tdir *t)
{
	rm_tree(t->dir);
}

/* A record whose strings live in the struct (ids up to 47 chars). */
struct trec {
	struct store_record r;
	char event_id[48];
	char payload[160];
};

static inline void
trec_set(struct trec *t, const char *account, const char *event_id,
	 unsigned legs, int64_t event_time)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->event_id, sizeof(t->event_id), "%s", event_id);
	snprintf(t->payload, sizeof(t->payload),
		 "{\"event_name\":\"checkout\",\"event_id\":\"%s\","
		 "\"event_time\":%lld,\"leg\":%u}",
		 event_id, (long long)event_time, legs);
	t->r.account = account;
	t->r.event_id = t->event_id;
	t->r.event_name = "checkout";
	t->r.event_time = event_time;
	t->r.received_at_ms = event_time * 1000;
	t->r.legs = legs;
	t->r.order_id = NULL;
	t->r.payload = t->payload;
	t->r.payload_len = strlen(t->payload);
}

/* Every test binary aborts after `s` seconds rather than hang CI. */
static inline void
test_deadline(unsigned s)
{
	alarm(s);
}

#endif

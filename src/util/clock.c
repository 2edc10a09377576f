#include "util/clock.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

static int64_t
system_now_ms(const struct clock *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
fixed_now_ms(const struct clock *c)
{
	/* A test may move the clock while a thread under test reads it. */
	return __atomic_load_n(&c->fixed_ms, __ATOMIC_RELAXED);
}

const struct clock *
clock_system(void)
{
	static const struct clock system_clock = { system_now_ms, 0 };

	return &system_clock;
}

void
clock_fixed(struct clock *c, int64_t ms)
{
	c->now_ms = fixed_now_ms;
	c->fixed_ms = ms;
}

int64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

bool
time_date_valid(int64_t y, int m, int d)
{
	return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

int64_t
time_days_from_civil(int64_t y, int m, int d)
{
	/* Howard Hinnant's days_from_civil, valid for the whole int64 range we use. */
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Reads exactly n digits. */
static bool
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

int
time_parse_iso8601(const char *s, int64_t *out_ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, offset_min = 0;
	const char *p = s;
	int64_t days;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				int scale = 100;

				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++) {
					ms += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;

			if (!digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char)*p) && !digits(&p, 2, &om))
				return -1;
			if (oh > 23 || om > 59)
				return -1;
			offset_min = sign * (oh * 60 + om);
		}
	}
	if (*p != '\0')
		return -1;
	/* 60 allows a leap second; it folds into the next minute. */
	if (h > 23 || mi > 59 || sec > 60)
		return -1;
	if (!time_date_valid(y, mo, d))
		return -1;
	days = time_days_from_civil(y, mo, d);
	*out_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) -
	    (int64_t)offset_min * 60) * 1000 + ms;
	return 0;
}

void
time_format_iso8601(int64_t unix_s, char out[21])
{
	struct tm tm;
	time_t t = (time_t)unix_s;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

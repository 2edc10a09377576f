#include "ingest/epik.h"

#include <string.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/banned.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

const char *
epik_decode(struct arena *a, const char *s, size_t len)
{
	char *out;
	size_t n = 0;

	if (!s || !len)
		return NULL;
	out = arena_alloc(a, len + 1);
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		hi = i + 2 < len ? hexval(s[i + 1]) : -1;
		lo = hi >= 0 ? hexval(s[i + 2]) : -1;
		if (lo < 0) {
			/* Like decodeURIComponent failing in tag.js: keep it raw. */
			memcpy(out, s, len);
			n = len;
			break;
		}
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	if (!n || n > EPIK_MAX_BYTES)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return NULL;
	return out;
}

const char *
epik_from_url(struct arena *a, const char *url)
{
	const char *p, *end;

	if (!url)
		return NULL;
	p = strchr(url, '?');
	end = strchr(url, '#');
	if (!p || (end && end < p))
		return NULL;
	if (!end)
		end = url + strlen(url);
	p++;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if (stop - p >= 5 && !memcmp(p, "epik=", 5))
			return epik_decode(a, p + 5, (size_t)(stop - p - 5));
		p = stop + 1;
	}
	return NULL;
}

void
epik_set_cookie(struct buf *out, const char *value, bool secure)
{
	static const char hex[] = "0123456789ABCDEF";

	buf_adds(out, EPIK_COOKIE "=");
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		/* RFC 6265 cookie-octet, plus '%' so decoding is unambiguous. */
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == ',' ||
		    *p == ';' || *p == '\\' || *p == '%') {
			buf_addch(out, '%');
			buf_addch(out, hex[*p >> 4]);
			buf_addch(out, hex[*p & 15]);
		} else {
			buf_addch(out, (char)*p);
		}
	}
	buf_addf(out, "; Max-Age=%d; Path=/; SameSite=Lax%s",
	    EPIK_COOKIE_MAX_AGE_S, secure ? "; Secure" : "");
}

/*
 * normalize.c: Pinterest's user_data normalization (spec §3), one field at
 * a time. Values are decoded into a stack array of code points, rewritten,
 * and encoded into the caller's buffer, so no call touches the heap.
 * Pure-ASCII input (nearly all traffic) never reaches utf8proc.
 */
#include "event/normalize.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#include "event/geo.h"
#include "util/clock.h"
#include "util/banned.h"

/*
 * Canonical decomposition (the first half of NFC) turns one UTF-8 byte into
 * at most 1.5 code points (a 2-byte letter with two marks), so twice the
 * byte limit is a safe bound.
 */
#define CP_MAX		(PB_MAX_FIELD_BYTES * 2)

/* Longest lookup key; the longest country name key is 45 letters. */
#define KEY_MAX		64

/* Longest date we try to read, time suffix included. */
#define DATE_MAX	64

/* Date of birth years outside this range are typos, not people. */
#define DOB_YEAR_MIN	1900
#define DOB_YEAR_MAX	2100

struct cps {
	int32_t v[CP_MAX];
	size_t n;
};

struct out {
	char *p;
	size_t cap;
	size_t n;
	bool full;	/* something did not fit; the result is unusable */
};

static int
fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

static bool
is_ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool
is_ascii_alpha(int32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_ascii_digit(int32_t c)
{
	return c >= '0' && c <= '9';
}

static int32_t
ascii_lower(int32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * The Unicode White_Space characters plus U+200B and the BOM, which are not
 * White_Space but arrive at the ends of copy-pasted form values.
 */
static bool
is_space_cp(int32_t c)
{
	if (c < 0x80)
		return is_ascii_space((unsigned char)c);
	switch (c) {
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200B;
	}
}

static bool
is_ascii_str(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static bool
is_letter_cp(int32_t c)
{
	if (c < 0x80)
		return is_ascii_alpha(c);
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return true;
	default:
		return false;
	}
}

static bool
is_mark_cp(int32_t c)
{
	utf8proc_category_t cat;

	if (c < 0x80)
		return false;
	cat = utf8proc_category(c);
	return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
	    cat == UTF8PROC_CATEGORY_ME;
}

/* Letters, marks (they carry the vowels of many scripts) and numbers. */
static bool
is_alnum_cp(int32_t c)
{
	if (c < 0x80)
		return is_ascii_alpha(c) || is_ascii_digit(c);
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return true;
	default:
		return false;
	}
}

static int32_t
lower_cp(int32_t c)
{
	return c < 0x80 ? ascii_lower(c) : utf8proc_tolower(c);
}

/*
 * Lowercase of v[i]. A capital sigma that ends a word becomes final sigma,
 * as in every full lowercase mapping (ICU, Python, JavaScript); otherwise
 * this is utf8proc's per-code-point mapping.
 */
static int32_t
lower_at(const int32_t *v, size_t n, size_t i)
{
	if (v[i] == 0x3A3 && i > 0 && is_letter_cp(v[i - 1]) &&
	    (i + 1 == n || !is_letter_cp(v[i + 1])))
		return 0x3C2;
	return lower_cp(v[i]);
}

/*
 * The value of a decimal digit in any script ("٣" is 3), or -1. Unicode
 * assigns decimal digits only in contiguous runs 0..9 (a stability
 * policy), so the run's zero is found by walking back.
 */
static int
digit_value(int32_t c)
{
	int32_t z;

	if (is_ascii_digit(c))
		return c - '0';
	if (c < 0x80 || utf8proc_category(c) != UTF8PROC_CATEGORY_ND)
		return -1;
	for (z = c; utf8proc_category(z - 1) == UTF8PROC_CATEGORY_ND; z--)
		;
	return (int)((c - z) % 10);
}

/*
 * Decodes s into code points. opts 0 only decodes; otherwise it is passed
 * to utf8proc (UTF8PROC_COMPOSE for NFC, UTF8PROC_DECOMPOSE for NFD, with
 * UTF8PROC_COMPAT for the K forms). Returns 0, or -1 on invalid UTF-8 or
 * when the result does not fit (only possible for compatibility forms).
 */
static int
decode(const char *s, size_t n, utf8proc_option_t opts, struct cps *c)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t k;

	c->n = 0;
	if (is_ascii_str(s, n)) {
		/* Every normal form of ASCII is itself. */
		if (n > CP_MAX)
			return -1;
		for (size_t i = 0; i < n; i++)
			c->v[c->n++] = (unsigned char)s[i];
		return 0;
	}
	if (opts == 0 || opts == UTF8PROC_COMPOSE) {
		/*
		 * Code points below U+0300 are NFC_Quick_Check=Yes with
		 * combining class 0, so a string of them is already in NFC:
		 * accented Latin text as people type it skips utf8proc's
		 * decompose-and-recompose. Anything else (or an error) takes
		 * the full path below.
		 */
		utf8proc_int32_t max = 0;
		size_t i;

		for (i = 0; i < n && c->n < CP_MAX; i += (size_t)k) {
			k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i),
			    &c->v[c->n]);
			if (k <= 0)
				break;
			if (c->v[c->n] > max)
				max = c->v[c->n];
			c->n++;
		}
		if (opts == 0)
			return i == n ? 0 : -1;
		if (i == n && max < 0x300)
			return 0;
		c->n = 0;
	}
	k = utf8proc_decompose(p, (utf8proc_ssize_t)n, c->v, CP_MAX,
	    opts | UTF8PROC_STABLE);
	if (k < 0 || k > CP_MAX)
		return -1;
	if (opts & UTF8PROC_COMPOSE) {
		k = utf8proc_normalize_utf32(c->v, k, opts | UTF8PROC_STABLE);
		if (k < 0)
			return -1;
	}
	c->n = (size_t)k;
	return 0;
}

/* Whether s is valid UTF-8, checked without decoding the ASCII part. */
static bool
utf8_valid(const char *s, size_t n)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t c;
	utf8proc_ssize_t k;

	for (size_t i = 0; i < n; i += (size_t)k) {
		if (p[i] < 0x80) {
			k = 1;
			continue;
		}
		k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
		if (k <= 0)
			return false;
	}
	return true;
}

static void
out_init(struct out *o, char *p, size_t cap)
{
	o->p = p;
	o->cap = cap;
	o->n = 0;
	o->full = false;
}

static void
out_cp(struct out *o, int32_t c)
{
	utf8proc_uint8_t b[4];
	size_t k;

	/* Both branches keep one byte for the NUL. */
	if (c < 0x80) {
		if (o->cap - o->n > 1)
			o->p[o->n++] = (char)c;
		else
			o->full = true;
		return;
	}
	k = (size_t)utf8proc_encode_char(c, b);
	if (o->full || k == 0 || o->cap - o->n <= k) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, b, k);
	o->n += k;
}

static int
out_finish(struct out *o, const char **why)
{
	if (o->full || o->cap == 0 || o->n >= o->cap)
		return fail(why, "output buffer too small");
	/*
	 * Canonical decomposition can make a value longer (U+0344 is two
	 * bytes, its NFC form four). A normalized value must be accepted as
	 * input again, or the same person would hash one way from raw data
	 * and fail from pre-normalized data.
	 */
	if (o->n > PB_MAX_FIELD_BYTES)
		return fail(why, "too long once normalized");
	o->p[o->n] = '\0';
	return (int)o->n;
}

/*
 * Finishes a lowercased (or filtered) non-ASCII value: lowercasing can
 * make a letter composable with the mark after it (T, U+0308 is not a
 * character; t, U+0308 composes to U+1E97), so the result is put in NFC
 * once more. Without this, normalizing the output again would change it,
 * and the same name would hash two ways.
 */
static int
out_finish_nfc(struct out *o, const char **why)
{
	struct cps c;
	int n = out_finish(o, why);

	if (n < 0 || is_ascii_str(o->p, (size_t)n))
		return n;
	if (decode(o->p, (size_t)n, UTF8PROC_COMPOSE, &c) < 0)
		return fail(why, "invalid UTF-8");
	out_init(o, o->p, o->cap);
	for (size_t i = 0; i < c.n; i++)
		out_cp(o, c.v[i]);
	return out_finish(o, why);
}

static int
copy_out(const char *s, size_t n, char *out, size_t cap, const char **why)
{
	if (n >= cap)
		return fail(why, "output buffer too small");
	memcpy(out, s, n);
	out[n] = '\0';
	return (int)n;
}

/* ASCII lowercase copy: the fast path of every lowercasing field. */
static int
lower_out(const char *s, size_t n, char *out, size_t cap, const char **why)
{
	if (n >= cap)
		return fail(why, "output buffer too small");
	for (size_t i = 0; i < n; i++)
		out[i] = (char)ascii_lower((unsigned char)s[i]);
	out[n] = '\0';
	return (int)n;
}

/*
 * The checks every field shares: the length bound, trimming, emptiness.
 * On success *in and *len describe the trimmed value.
 */
static int
begin(const char **in, size_t *len, const char **why)
{
	if (*len > PB_MAX_FIELD_BYTES)
		return fail(why, "too long");
	if (*len == 0)
		return fail(why, "empty");
	*in = norm_trim(*in, *len, len);
	if (*len == 0)
		return fail(why, "empty");
	if (memchr(*in, '\0', *len))
		return fail(why, "contains a NUL byte");
	return 0;
}

/* Byte length of the white-space character at the start of p[n], or 0. */
static size_t
space_prefix(const unsigned char *p, size_t n)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k;

	if (p[0] < 0x80)
		return is_ascii_space(p[0]) ? 1 : 0;
	k = utf8proc_iterate(p, (utf8proc_ssize_t)n, &c);
	return k > 0 && is_space_cp(c) ? (size_t)k : 0;
}

/* Byte length of the white-space character that ends p[n], or 0. */
static size_t
space_suffix(const unsigned char *p, size_t n)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k;
	size_t start = n - 1;

	if (p[start] < 0x80)
		return is_ascii_space(p[start]) ? 1 : 0;
	while (start > 0 && n - start < 4 && (p[start] & 0xC0) == 0x80)
		start--;
	k = utf8proc_iterate(p + start, (utf8proc_ssize_t)(n - start), &c);
	if (k <= 0 || (size_t)k != n - start || !is_space_cp(c))
		return 0;
	return (size_t)k;
}

const char *
norm_trim(const char *in, size_t len, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t k;

	/* Most values start and end with a printable ASCII byte. */
	if (len > 0 && p[0] > ' ' && p[0] < 0x80 && p[len - 1] > ' ' &&
	    p[len - 1] < 0x80) {
		*out_len = len;
		return in;
	}
	while (len > 0 && (k = space_prefix(p, len)) > 0) {
		p += k;
		len -= k;
	}
	while (len > 0 && (k = space_suffix(p, len)) > 0)
		len -= k;
	*out_len = len;
	return (const char *)p;
}

/* norm_email() for ASCII, without decoding; the same rules. */
static int
email_ascii(const char *s, size_t n, char *out, size_t cap, const char **why)
{
	size_t at = 0, nat = 0, dot = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch == 0x7F)
			return fail(why, "not an email address");
		if (ch == '@') {
			at = i;
			nat++;
		}
	}
	if (nat != 1 || at == 0)
		return fail(why, "not an email address");
	/* The domain needs a dot with a label on each side of it. */
	for (size_t i = at + 2; i + 1 < n; i++)
		if (s[i] == '.')
			dot = i;
	if (dot == 0)
		return fail(why, "not an email address");
	return lower_out(s, n, out, cap, why);
}

int
norm_email(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	struct cps c;
	struct out o;
	size_t at = 0, nat = 0, dot = 0;

	if (begin(&in, &len, why) < 0)
		return -1;
	if (is_ascii_str(in, len))
		return email_ascii(in, len, out, cap, why);
	if (decode(in, len, 0, &c) < 0)
		return fail(why, "invalid UTF-8");
	for (size_t i = 0; i < c.n; i++) {
		int32_t ch = c.v[i];

		if (is_space_cp(ch) || ch < 0x20 || ch == 0x7F)
			return fail(why, "not an email address");
		if (ch == '@') {
			at = i;
			nat++;
		}
	}
	if (nat != 1 || at == 0)
		return fail(why, "not an email address");
	/* The domain needs a dot with a label on each side of it. */
	for (size_t i = at + 2; i + 1 < c.n; i++)
		if (c.v[i] == '.')
			dot = i;
	if (dot == 0)
		return fail(why, "not an email address");
	out_init(&o, out, cap);
	for (size_t i = 0; i < c.n; i++)
		out_cp(&o, lower_at(c.v, c.n, i));
	return out_finish(&o, why);
}

/*
 * E.164 allows 15 digits; fewer than 7 reaches no one. An extension marker
 * ("ext", "x", "#") ends the number once PHONE_MIN digits are in, so
 * "+1 415 555 2671 ext. 12" is 14155552671, while the letters of a vanity
 * number like "1-800-FLOWERS" are dropped.
 */
#define PHONE_MIN	7
#define PHONE_MAX	15

static bool
is_extension_word(const int32_t *v, size_t n)
{
	static const char *const words[] = { "x", "ex", "ext", "extn",
	    "extension" };
	char w[10];

	if (n >= sizeof(w))
		return false;
	for (size_t i = 0; i < n; i++)
		w[i] = (char)ascii_lower(v[i]);
	w[n] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(w, words[i]))
			return true;
	return false;
}

int
norm_phone(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	struct cps c;
	char d[PHONE_MAX + 1];
	size_t nd = 0, seen = 0;

	if (begin(&in, &len, why) < 0)
		return -1;
	if (decode(in, len, 0, &c) < 0)
		return fail(why, "invalid UTF-8");
	for (size_t i = 0; i < c.n; i++) {
		int32_t ch = c.v[i];
		int dv = digit_value(ch);

		if (dv >= 0) {
			seen++;
			/* Leading zeros are a trunk or 00 prefix. */
			if (nd == 0 && dv == 0)
				continue;
			if (nd == PHONE_MAX)
				return fail(why,
				    "too many digits for a phone number");
			d[nd++] = (char)('0' + dv);
		} else if (ch == '(' && seen > 0 && i + 2 < c.n &&
		    c.v[i + 1] == '0' && c.v[i + 2] == ')') {
			/* "+44 (0)20 ...": the (0) is dialled only at home. */
			i += 2;
		} else if (ch == '#' && nd >= PHONE_MIN) {
			break;
		} else if (is_ascii_alpha(ch)) {
			size_t j = i;

			while (j < c.n && is_ascii_alpha(c.v[j]))
				j++;
			if (nd >= PHONE_MIN &&
			    is_extension_word(c.v + i, j - i))
				break;
			i = j - 1;
		}
	}
	if (nd < PHONE_MIN)
		return fail(why, "too few digits for a phone number");
	return copy_out(d, nd, out, cap, why);
}

int
norm_name(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	struct cps c;
	struct out o;
	bool letter = false;

	if (begin(&in, &len, why) < 0)
		return -1;
	if (is_ascii_str(in, len)) {
		for (size_t i = 0; i < len && !letter; i++)
			letter = is_ascii_alpha((unsigned char)in[i]);
		if (!letter)
			return fail(why, "no letters in name");
		return lower_out(in, len, out, cap, why);
	}
	if (decode(in, len, UTF8PROC_COMPOSE, &c) < 0)
		return fail(why, "invalid UTF-8");
	out_init(&o, out, cap);
	for (size_t i = 0; i < c.n; i++) {
		letter = letter || is_letter_cp(c.v[i]);
		out_cp(&o, lower_at(c.v, c.n, i));
	}
	if (!letter)
		return fail(why, "no letters in name");
	return out_finish_nfc(&o, why);
}

int
norm_gender(const char *in, size_t len, char *out, size_t cap,
    const char **why)
{
	static const struct {
		const char *word;
		const char *code;
	} genders[] = {
		{ "m", "m" }, { "male", "m" }, { "man", "m" }, { "boy", "m" },
		{ "masculine", "m" },
		{ "f", "f" }, { "female", "f" }, { "woman", "f" },
		{ "girl", "f" }, { "feminine", "f" },
		{ "n", "n" }, { "non-binary", "n" }, { "nonbinary", "n" },
		{ "non binary", "n" }, { "non_binary", "n" }, { "nb", "n" },
		{ "enby", "n" },
	};
	char w[16];

	if (begin(&in, &len, why) < 0)
		return -1;
	if (!utf8_valid(in, len))
		return fail(why, "invalid UTF-8");
	if (len >= sizeof(w))
		return fail(why, "not a recognised gender");
	for (size_t i = 0; i < len; i++)
		w[i] = (char)ascii_lower((unsigned char)in[i]);
	w[len] = '\0';
	for (size_t i = 0; i < sizeof(genders) / sizeof(genders[0]); i++)
		if (!strcmp(w, genders[i].word))
			return copy_out(genders[i].code, 1, out, cap, why);
	return fail(why, "not a recognised gender");
}

/* 1..12 for an English month name or abbreviation, else 0. */
static int
month_from_word(const char *w)
{
	static const char *const months[] = { "january", "february",
	    "march", "april", "may", "june", "july", "august", "september",
	    "october", "november", "december" };
	size_t n = strlen(w);

	if (n < 3)
		return 0;
	for (int i = 0; i < 12; i++) {
		if (memcmp(w, months[i], 3))
			continue;
		if (n == 3 || !strcmp(w, months[i]) ||
		    (i == 8 && !strcmp(w, "sept")))
			return i + 1;
		return 0;
	}
	return 0;
}

enum dtok_kind { DT_NUM, DT_MONTH };

struct dtok {
	enum dtok_kind kind;
	int val;	/* the number, or the month 1..12 */
	int ndig;	/* digits in a DT_NUM, leading zeros included */
	char sep;	/* separator before it: '-', '/', '.', ' ', ',' or 0 */
};

static bool
is_date_sep(char c)
{
	return c == '-' || c == '/' || c == '.' || c == ',' || c == ' ';
}

/*
 * What may follow a complete date: nothing, or a time ("T00:00:00Z",
 * " 00:00:00.000+01:00"). The time itself is ignored: a birth date is the
 * calendar date as written, whatever the zone.
 */
static bool
is_time_suffix(const char *s)
{
	if (*s == '\0')
		return true;
	if ((*s != 't' && *s != ' ') || !is_ascii_digit(s[1]))
		return false;
	for (s++; *s; s++)
		if (!is_ascii_digit(*s) && !strchr(":.+- z", *s))
			return false;
	return true;
}

/*
 * Splits b into at most three tokens, stopping after an 8-digit number
 * (YYYYMMDD) or the third token; *rest is what follows. A token is a number
 * (with an optional ordinal "st/nd/rd/th") or a month name. Returns the
 * number of tokens, or -1 for anything else.
 */
static int
date_tokens(const char *b, struct dtok t[3], const char **rest)
{
	const char *p = b;
	int nt = 0;

	while (*p && nt < 3) {
		char sep = 0;
		char w[12];
		size_t nw = 0;

		while (is_date_sep(*p)) {
			/* Punctuation wins over the spaces around it. */
			if (sep == 0 || sep == ' ')
				sep = *p;
			else if (*p != ' ')
				sep = ',';
			p++;
		}
		if (nt == 0 && sep)
			return -1;
		if (nt > 0 && !sep && t[nt - 1].kind == DT_NUM &&
		    is_ascii_digit(*p))
			return -1;
		t[nt].sep = sep;
		if (is_ascii_digit(*p)) {
			t[nt].kind = DT_NUM;
			t[nt].val = 0;
			t[nt].ndig = 0;
			for (; is_ascii_digit(*p); p++) {
				if (++t[nt].ndig > 8)
					return -1;
				t[nt].val = t[nt].val * 10 + (*p - '0');
			}
			if ((!strncmp(p, "st", 2) || !strncmp(p, "nd", 2) ||
			    !strncmp(p, "rd", 2) || !strncmp(p, "th", 2)) &&
			    !is_ascii_alpha(p[2]))
				p += 2;
			if (nt++ == 0 && t[0].ndig == 8)
				break;
		} else if (is_ascii_alpha(*p)) {
			for (; is_ascii_alpha(*p); p++) {
				if (nw + 1 >= sizeof(w))
					return -1;
				w[nw++] = *p;
			}
			w[nw] = '\0';
			t[nt].kind = DT_MONTH;
			t[nt].val = month_from_word(w);
			if (t[nt].val == 0)
				return -1;
			nt++;
		} else {
			return -1;
		}
	}
	*rest = p;
	return nt;
}

static bool
numeric_sep(char c)
{
	return c == '-' || c == '/' || c == '.';
}

/*
 * Reads y, m, d from the tokens. Returns 0, -1 when the layout is not a
 * date, or -2 when the only year has two digits.
 */
static int
date_fields(const struct dtok *t, int nt, int *y, int *m, int *d)
{
	if (nt == 1 && t[0].kind == DT_NUM && t[0].ndig == 8) {
		*y = t[0].val / 10000;
		*m = t[0].val / 100 % 100;
		*d = t[0].val % 100;
		return 0;
	}
	if (nt != 3)
		return -1;
	if (t[0].kind == DT_NUM && t[1].kind == DT_NUM && t[2].kind == DT_NUM) {
		if (t[1].sep != t[2].sep || !numeric_sep(t[1].sep))
			return -1;
		if (t[0].ndig == 4 && t[1].ndig <= 2 && t[2].ndig <= 2) {
			*y = t[0].val;
			*m = t[1].val;
			*d = t[2].val;
			return 0;
		}
		if (t[2].ndig == 4 && t[0].ndig <= 2 && t[1].ndig <= 2) {
			*y = t[2].val;
			/* Dots are European (day first); otherwise US unless
			 * the first number cannot be a month. */
			if (t[1].sep == '.' || t[0].val > 12) {
				*d = t[0].val;
				*m = t[1].val;
			} else {
				*m = t[0].val;
				*d = t[1].val;
			}
			return 0;
		}
		if (t[0].ndig <= 2 && t[1].ndig <= 2 && t[2].ndig <= 2)
			return -2;
		return -1;
	}
	if (t[0].kind == DT_MONTH && t[1].kind == DT_NUM &&
	    t[2].kind == DT_NUM && t[1].ndig <= 2) {
		*m = t[0].val;
		*d = t[1].val;
		*y = t[2].val;
		return t[2].ndig == 4 ? 0 : t[2].ndig <= 2 ? -2 : -1;
	}
	if (t[0].kind == DT_NUM && t[1].kind == DT_MONTH &&
	    t[2].kind == DT_NUM) {
		*m = t[1].val;
		if (t[0].ndig == 4 && t[2].ndig <= 2) {
			*y = t[0].val;
			*d = t[2].val;
			return 0;
		}
		if (t[0].ndig > 2)
			return -1;
		*d = t[0].val;
		*y = t[2].val;
		return t[2].ndig == 4 ? 0 : t[2].ndig <= 2 ? -2 : -1;
	}
	return -1;
}

/* Writes v as exactly n decimal digits. */
static void
put_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Reads the lowercased, space-folded date in b and writes YYYYMMDD. */
static int
dob_parse(const char *b, char *out, size_t cap, const char **why)
{
	struct dtok t[3];
	const char *rest;
	char tmp[8];
	int nt, y, m, d, rc;

	nt = date_tokens(b, t, &rest);
	if (nt < 0 || !is_time_suffix(rest))
		return fail(why, "not a recognisable date");
	rc = date_fields(t, nt, &y, &m, &d);
	if (rc == -2)
		return fail(why, "two-digit year is ambiguous");
	if (rc < 0)
		return fail(why, "not a recognisable date");
	if (y < DOB_YEAR_MIN || y > DOB_YEAR_MAX)
		return fail(why, "year out of range");
	if (!time_date_valid(y, m, d))
		return fail(why, "not a calendar date");
	put_digits(tmp, y, 4);
	put_digits(tmp + 4, m, 2);
	put_digits(tmp + 6, d, 2);
	return copy_out(tmp, 8, out, cap, why);
}

int
norm_dob(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	struct cps c;
	char b[DATE_MAX];
	size_t n;

	if (begin(&in, &len, why) < 0)
		return -1;
	if (is_ascii_str(in, len)) {
		if (len >= sizeof(b))
			return fail(why, "not a recognisable date");
		for (n = 0; n < len; n++)
			b[n] = is_ascii_space((unsigned char)in[n]) ? ' ' :
			    (char)ascii_lower((unsigned char)in[n]);
	} else {
		if (decode(in, len, 0, &c) < 0)
			return fail(why, "invalid UTF-8");
		if (c.n >= sizeof(b))
			return fail(why, "not a recognisable date");
		for (n = 0; n < c.n; n++) {
			int32_t ch = c.v[n];

			/* An NBSP between "14" and "March" is a space. */
			if (is_space_cp(ch))
				ch = ' ';
			if (ch >= 0x80)
				return fail(why, "not a recognisable date");
			b[n] = (char)ascii_lower(ch);
		}
	}
	b[n] = '\0';
	return dob_parse(b, out, cap, why);
}

/*
 * Lowercase letters, marks and digits of in, everything else dropped:
 * the city rule, and the postcode rule outside the US.
 */
static int
keep_alnum(const char *in, size_t len, char *out, size_t cap,
    const char **why)
{
	struct cps c;
	struct out o;
	bool base_kept = false;

	if (is_ascii_str(in, len)) {
		size_t n = 0;

		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)in[i];

			if (!is_ascii_alpha(ch) && !is_ascii_digit(ch))
				continue;
			if (n + 1 >= cap)
				return fail(why, "output buffer too small");
			out[n++] = (char)ascii_lower(ch);
		}
		if (n == 0)
			return fail(why, "no letters or digits");
		out[n] = '\0';
		return (int)n;
	}
	if (decode(in, len, UTF8PROC_COMPOSE, &c) < 0)
		return fail(why, "invalid UTF-8");
	out_init(&o, out, cap);
	/*
	 * A mark goes with its base: keeping the mark of a dropped base
	 * would attach it to the previous letter, and the next pass would
	 * compose them (e, ")", U+0304 must not become e-macron).
	 */
	for (size_t i = 0; i < c.n; i++) {
		bool keep;

		if (is_mark_cp(c.v[i]))
			keep = base_kept;
		else
			keep = base_kept = is_alnum_cp(c.v[i]);
		if (keep)
			out_cp(&o, lower_at(c.v, c.n, i));
	}
	if (o.n == 0 && !o.full)
		return fail(why, "no letters or digits");
	return out_finish_nfc(&o, why);
}

int
norm_city(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	if (begin(&in, &len, why) < 0)
		return -1;
	return keep_alnum(in, len, out, cap, why);
}

/*
 * Builds the lookup key for names: compatibility-decomposed, accents
 * dropped, ASCII letters and digits lowercased, "&" spelled "and", and
 * spaces and punctuation removed ("Côte d'Ivoire" -> "cotedivoire").
 * Returns 0, -1 on invalid UTF-8, or -2 when the value cannot be a key
 * (a letter outside ASCII remains, or it is too long).
 */
static int
make_key(const char *in, size_t len, char key[KEY_MAX])
{
	struct cps c;
	size_t n = 0;

	if (len > KEY_MAX * 4)
		return utf8_valid(in, len) ? -2 : -1;
	if (decode(in, len, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &c) < 0)
		return utf8_valid(in, len) ? -2 : -1;
	for (size_t i = 0; i < c.n; i++) {
		int32_t ch = c.v[i];

		if (ch == '&') {
			if (n + 3 >= KEY_MAX)
				return -2;
			memcpy(key + n, "and", 3);
			n += 3;
		} else if (is_ascii_alpha(ch) || is_ascii_digit(ch)) {
			if (n + 1 >= KEY_MAX)
				return -2;
			key[n++] = (char)ascii_lower(ch);
		} else if (is_alnum_cp(ch) && !is_mark_cp(ch)) {
			return -2;
		}
	}
	key[n] = '\0';
	return 0;
}

int
norm_state(const char *in, size_t len, char *out, size_t cap,
    const char **why)
{
	char key[KEY_MAX];
	const char *code;
	int rc;

	if (begin(&in, &len, why) < 0)
		return -1;
	rc = make_key(in, len, key);
	if (rc == -1)
		return fail(why, "invalid UTF-8");
	if (rc < 0)
		return fail(why, "not a two-letter state code");
	code = geo_state_by_name(key);
	if (code)
		return copy_out(code, 2, out, cap, why);
	if (strlen(key) == 2 && is_ascii_alpha(key[0]) &&
	    is_ascii_alpha(key[1]))
		return copy_out(key, 2, out, cap, why);
	return fail(why, "not a two-letter state code");
}

static const char *
country_lookup(const char *key)
{
	char alt[KEY_MAX + 3];
	const char *code;
	size_t n = strlen(key);

	if (n == 2) {
		/* UK is reserved for the UK in ISO 3166 but never assigned. */
		if (!strcmp(key, "uk"))
			return "gb";
		return geo_alpha2_known(key) ? key : NULL;
	}
	if (n == 3 && (code = geo_alpha3_to_alpha2(key)) != NULL)
		return code;
	if ((code = geo_country_by_name(key)) != NULL)
		return code;
	/* "The Gambia", "The Netherlands". */
	if (n > 3 && !strncmp(key, "the", 3) &&
	    (code = geo_country_by_name(key + 3)) != NULL)
		return code;
	/* "St. Lucia", "St Kitts and Nevis". */
	if (n > 2 && !strncmp(key, "st", 2) && strncmp(key, "saint", 5)) {
		snprintf(alt, sizeof(alt), "saint%s", key + 2);
		return geo_country_by_name(alt);
	}
	return NULL;
}

int
norm_country(const char *in, size_t len, char *out, size_t cap,
    const char **why)
{
	char key[KEY_MAX];
	const char *code;
	int rc;

	if (begin(&in, &len, why) < 0)
		return -1;
	rc = make_key(in, len, key);
	if (rc == -1)
		return fail(why, "invalid UTF-8");
	if (rc < 0 || (code = country_lookup(key)) == NULL)
		return fail(why, "not a country");
	/* code may point into key; copy_out copies before key goes away. */
	return copy_out(code, 2, out, cap, why);
}

/* ZIP codes: the US and the territories that use USPS ZIP codes. */
static bool
country_uses_zip(const char *country)
{
	static const char zip_countries[][3] = { "as", "gu", "mp", "pr",
	    "um", "us", "vi" };
	char cc[3];

	if (!country || strlen(country) != 2)
		return false;
	cc[0] = (char)ascii_lower((unsigned char)country[0]);
	cc[1] = (char)ascii_lower((unsigned char)country[1]);
	cc[2] = '\0';
	for (size_t i = 0; i < sizeof(zip_countries) / sizeof(*zip_countries);
	    i++)
		if (!strcmp(cc, zip_countries[i]))
			return true;
	return false;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_ascii_digit((unsigned char)s[i]))
			return false;
	return true;
}

/* "94025", "94025-1234" or "94025 1234". */
static bool
looks_like_zip(const char *s, size_t n)
{
	if (n == 5)
		return all_digits(s, 5);
	return n == 10 && all_digits(s, 5) && (s[5] == '-' || s[5] == ' ') &&
	    all_digits(s + 6, 4);
}

int
norm_zip(const char *in, size_t len, const char *country, char *out,
    size_t cap, const char **why)
{
	struct cps c;
	char d[5];
	size_t nd = 0;

	if (begin(&in, &len, why) < 0)
		return -1;
	if (country && *country ? !country_uses_zip(country) :
	    !looks_like_zip(in, len))
		return keep_alnum(in, len, out, cap, why);
	if (decode(in, len, 0, &c) < 0)
		return fail(why, "invalid UTF-8");
	for (size_t i = 0; i < c.n && nd < sizeof(d); i++) {
		int dv = digit_value(c.v[i]);

		if (dv >= 0)
			d[nd++] = (char)('0' + dv);
	}
	if (nd < sizeof(d))
		return fail(why, "too few digits for a US ZIP code");
	return copy_out(d, nd, out, cap, why);
}

int
norm_external_id(const char *in, size_t len, char *out, size_t cap,
    const char **why)
{
	if (begin(&in, &len, why) < 0)
		return -1;
	if (!utf8_valid(in, len))
		return fail(why, "invalid UTF-8");
	return copy_out(in, len, out, cap, why);
}

int
norm_maid(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	struct cps c;
	struct out o;

	if (begin(&in, &len, why) < 0)
		return -1;
	if (is_ascii_str(in, len))
		return lower_out(in, len, out, cap, why);
	if (decode(in, len, 0, &c) < 0)
		return fail(why, "invalid UTF-8");
	out_init(&o, out, cap);
	for (size_t i = 0; i < c.n; i++)
		out_cp(&o, lower_at(c.v, c.n, i));
	return out_finish(&o, why);
}

int
norm_currency(const char *in, size_t len, char out[4], const char **why)
{
	char code[4];

	if (begin(&in, &len, why) < 0)
		return -1;
	if (len != 3)
		return fail(why, "not an ISO 4217 currency code");
	for (size_t i = 0; i < 3; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (!is_ascii_alpha(ch))
			return fail(why, "not an ISO 4217 currency code");
		code[i] = (char)(ch >= 'a' ? ch - ('a' - 'A') : ch);
	}
	code[3] = '\0';
	if (!geo_currency_known(code))
		return fail(why, "not an ISO 4217 currency code");
	memcpy(out, code, 4);
	return 3;
}

bool
currency_is_known(const char *code)
{
	if (!code)
		return false;
	for (size_t i = 0; i < 3; i++)
		if (code[i] < 'A' || code[i] > 'Z')
			return false;
	return code[3] == '\0' && geo_currency_known(code);
}

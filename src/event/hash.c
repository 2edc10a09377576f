#include "event/hash.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Gender, state and country codes normalize to one or two lowercase
 * letters: 702 possible values, which recur in event after event. Their
 * digests are kept once computed (hashes of two letters are public
 * constants, not PII): a hit is a 65-byte copy instead of a SHA-256.
 */
#define MEMO_SLOTS	(26 + 26 * 26)

struct hasher {
	char (*memo)[65];		/* MEMO_SLOTS; "" = not computed yet */
};

struct hasher *
hasher_new(void)
{
	struct hasher *h = xcalloc(1, sizeof(*h));

	h->memo = xcalloc(MEMO_SLOTS, sizeof(*h->memo));
	return h;
}

void
hasher_free(struct hasher *h)
{
	if (!h)
		return;
	free(h->memo);
	free(h);
}

/* The memo slot for 1 or 2 lowercase ASCII letters, or -1. */
static int
memo_slot(const unsigned char *p, size_t len)
{
	unsigned a, b;

	if (len == 0 || len > 2 || (a = p[0] - 'a') >= 26u)
		return -1;
	if (len == 1)
		return (int)a;
	b = p[1] - 'a';
	return b < 26u ? (int)(26 + a * 26 + b) : -1;
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	/* Two hex digits per byte in one load: this runs for every PII value. */
	static const char pairs[513] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	struct sha256_ctx ctx;
	uint8_t md[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(md), md);
	for (int i = 0; i < 32; i++)
		memcpy(out + 2 * i, pairs + 2 * md[i], 2);
	out[64] = '\0';
}

void
hasher_sha256_hex(struct hasher *h, const void *data, size_t len, char out[65])
{
	int slot = memo_slot(data, len);

	if (slot < 0) {
		sha256_hex(data, len, out);
		return;
	}
	if (!h->memo[slot][0])
		sha256_hex(data, len, h->memo[slot]);
	memcpy(out, h->memo[slot], 65);
}

bool
is_sha256_hex(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

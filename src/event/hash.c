#include "event/hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "util/xalloc.h"
#include "util/banned.h"

struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

struct hasher *
hasher_new(void)
{
	struct hasher *h = xcalloc(1, sizeof(*h));

	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx) {
		fprintf(stderr, "pinbridge: OpenSSL has no SHA-256\n");
		abort();
	}
	return h;
}

void
hasher_free(struct hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

void
hasher_sha256_hex(struct hasher *h, const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) ||
	    !EVP_DigestUpdate(h->ctx, data, len) ||
	    !EVP_DigestFinal_ex(h->ctx, md, &mdlen) || mdlen != 32) {
		fprintf(stderr, "pinbridge: SHA-256 failed\n");
		abort();
	}
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
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

/*
 * hash.h: SHA-256 as lowercase hex, through Nettle.
 *
 * Nettle hashes on a stack context with no allocation or provider lookup:
 * ~75 ns per short value against ~180 ns through OpenSSL 3's EVP with a
 * fetched digest and a reused context (docs/PERFORMANCE.md). A hasher holds
 * the memo of short codes and belongs to one thread.
 */
#ifndef PB_HASH_H
#define PB_HASH_H

#include <stdbool.h>
#include <stddef.h>

struct hasher;

struct hasher *hasher_new(void);
void hasher_free(struct hasher *h);

/* Writes 64 lowercase hex digits and a NUL into out. */
void hasher_sha256_hex(struct hasher *h, const void *data, size_t len,
    char out[65]);

/* Whether s is exactly 64 hex digits (any case). */
bool is_sha256_hex(const char *s, size_t len);

#endif

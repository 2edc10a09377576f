/*
 * hash.h: SHA-256 as lowercase hex, through OpenSSL 3.
 *
 * The digest is fetched once (EVP_MD_fetch) and one EVP_MD_CTX is reused:
 * looking the algorithm up per call costs ~4x more. A hasher belongs to one
 * thread.
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

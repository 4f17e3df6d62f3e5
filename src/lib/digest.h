#ifndef OMBU_DIGEST_H
#define OMBU_DIGEST_H

/* SHA-256 over OpenSSL 3's EVP interface (the algorithm is fetched once). */

#include <stddef.h>

#define SHA256_SIZE 32

struct sha256 {
	void *ctx; /* EVP_MD_CTX */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the digest and frees the context. */
void sha256_final(struct sha256 *s, unsigned char out[SHA256_SIZE]);
void sha256_once(const void *data, size_t len, unsigned char out[SHA256_SIZE]);
/* Lower-case hex of a digest: out must hold 65 bytes. */
void sha256_hex(const unsigned char digest[SHA256_SIZE], char out[65]);

#endif

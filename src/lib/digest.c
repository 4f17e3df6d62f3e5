#include "digest.h"
#include "util.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md_sha256 == NULL)
		ombu_panic("SHA-256 is not available in OpenSSL");
}

void sha256_init(struct sha256 *s)
{
	pthread_once(&md_once, fetch);
	s->ctx = EVP_MD_CTX_new();
	if (s->ctx == NULL || EVP_DigestInit_ex2(s->ctx, md_sha256, NULL) != 1)
		ombu_oom();
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	EVP_DigestUpdate(s->ctx, data, len);
}

void sha256_final(struct sha256 *s, unsigned char out[SHA256_SIZE])
{
	unsigned int n = SHA256_SIZE;
	EVP_DigestFinal_ex(s->ctx, out, &n);
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

void sha256_once(const void *data, size_t len, unsigned char out[SHA256_SIZE])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

void sha256_hex(const unsigned char d[SHA256_SIZE], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < SHA256_SIZE; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

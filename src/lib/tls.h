#ifndef OMBU_TLS_H
#define OMBU_TLS_H

/*
 * TLS contexts (OpenSSL 3).  A server context is loaded once per
 * configuration generation and shared by every connection of a worker;
 * connections get their SSL objects through conn_starttls().
 */

#include <stdbool.h>
#include <stddef.h>

struct tls_ctx;

/* TLS 1.2 and newer, no renegotiation, buffers released when idle. */
struct tls_ctx *tls_ctx_server_create(const char *cert_file, const char *key_file,
				      const char **error_r);
/* verify: check the peer against the system trust store. */
struct tls_ctx *tls_ctx_client_create(bool verify, const char **error_r);
void tls_ctx_free(struct tls_ctx **ctx);
/* The underlying SSL_CTX (for lib internals and tests). */
void *tls_ctx_ssl_ctx(struct tls_ctx *ctx);

/* Writes a new EC P-256 key (mode 0600) and a self-signed certificate
 * valid for ten years for the given DNS names and IP addresses. */
int tls_generate_self_signed(const char *cert_path, const char *key_path,
			     const char *const *names, size_t n_names,
			     const char **error_r);

/* The last OpenSSL error as text (thread-local buffer). */
const char *tls_last_error(void);

#endif

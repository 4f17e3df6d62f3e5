#ifndef OMBU_DNS_H
#define OMBU_DNS_H

/*
 * Asynchronous DNS on the event loop (c-ares): lookups never block the
 * loop, every query has a timeout.  One resolver per worker.
 */

#include <stddef.h>
#include <stdint.h>

struct ioloop;
struct dns;

/* servers: "" for the system's (/etc/resolv.conf), else
 * "127.0.0.1:5353,192.0.2.53" (a port is allowed). */
struct dns *dns_create(struct ioloop *loop, const char *servers, uint64_t timeout_ms,
		       const char **error_r);
void dns_destroy(struct dns **dns);

/* status: 0 answers found, 1 the name does not exist (NXDOMAIN or no
 * data), -1 timeout or failure.  For A lookups `answers` holds dotted
 * IPv4 strings; for TXT, the texts.  Valid during the callback only. */
typedef void dns_callback(void *ctx, int status, const char *const *answers, size_t n);
void dns_lookup_a(struct dns *dns, const char *name, dns_callback *cb, void *ctx);
void dns_lookup_txt(struct dns *dns, const char *name, dns_callback *cb, void *ctx);

#endif

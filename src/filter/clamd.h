#ifndef OMBU_CLAMD_H
#define OMBU_CLAMD_H

/*
 * A clamd client (INSTREAM, clamd's zero-copy-free streaming command):
 * blocking with timeouts, for the thread pool.
 */

#include <stddef.h>
#include <stdint.h>

enum clamd_result {
	CLAMD_CLEAN,
	CLAMD_VIRUS,     /* *name_r holds the signature */
	CLAMD_ERROR,     /* unreachable, timeout, or clamd said ERROR */
};

/* address: "unix:/path/clamd.ctl" or "host:port".  Messages longer than
 * max_size are sent truncated to it (clamd scans what it gets). */
enum clamd_result clamd_scan(const char *address, uint64_t timeout_ms, uint64_t max_size,
			     const void *data, size_t len, char *name_r, size_t name_size,
			     const char **error_r);
/* 0 when the address has a form clamd_scan understands. */
int clamd_address_check(const char *address, const char **error_r);

#endif

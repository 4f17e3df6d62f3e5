#ifndef OMBU_LMTP_CLIENT_H
#define OMBU_LMTP_CLIENT_H

/*
 * A blocking LMTP client for the thread pool: the MX and its queue hand
 * a message to a store node with it.  Every step has a timeout.
 */

#include <stddef.h>
#include <stdint.h>

struct lmtp_client_result {
	unsigned code;     /* the store's reply for this recipient; 0 = none */
	char text[256];
};

/* Delivers msg (CRLF lines, not dot-stuffed) to every recipient.
 * Returns 0 when the session got as far as per-recipient answers (read
 * them in res[]), -1 with *error_r when the store could not be reached or
 * broke the protocol (every recipient is then a temporary failure). */
int lmtp_client_deliver(const char *address, uint64_t timeout_ms, const char *helo,
			const char *sender, const char *const *rcpts, size_t n,
			const void *msg, size_t len, struct lmtp_client_result *res,
			const char **error_r);

#endif

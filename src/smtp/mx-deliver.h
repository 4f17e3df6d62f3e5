#ifndef OMBU_MX_DELIVER_H
#define OMBU_MX_DELIVER_H

/*
 * Final delivery for the MX and its queue (blocking: thread pool): each
 * recipient is looked up again, then stored in-process when its mailbox
 * is on this node, or handed by LMTP to the store the directory names.
 */

#include <stddef.h>
#include <stdint.h>

struct directory;
struct store;

enum mx_delivery_status {
	MXD_OK,
	MXD_TEMP,  /* retry later (queue) */
	MXD_PERM,  /* give up (bounce) */
};

struct mx_rcpt {
	const char *address;        /* a local user's address (after alias expansion) */
	/* DSN (RFC 3461): NOTIFY bits of the RCPT that reached this user
	 * (0 = not given: failures only), and the address as the sender
	 * wrote it (ORCPT, or the RCPT itself) */
	unsigned notify;
	const char *orcpt;
	const char *folder;         /* NULL = INBOX */
	const void *prefix;         /* per-recipient header lines (the filter's) */
	size_t prefix_len;
	/* results */
	enum mx_delivery_status status;
	unsigned code;
	char text[256];
};

struct mx_deliverer {
	struct directory *dir;
	struct store *st;           /* NULL when this node has no store */
	uint64_t lmtp_timeout_ms;
	const char *hostname;
};

/* msg: the message with the MX's Received: header, without Return-Path
 * (added here for local delivery; a remote store adds its own). */
void mx_deliver(const struct mx_deliverer *d, const char *sender, const void *msg, size_t len,
		struct mx_rcpt *rcpts, size_t n);

#endif

#ifndef OMBU_MX_QUEUE_H
#define OMBU_MX_QUEUE_H

/*
 * The MX queue: mail accepted with 250 that could not be stored yet (a
 * store down, a database hiccup).  Each entry is two files in
 * queue.path/mx/:
 *
 *   <id>.msg   the envelope header and the message, written once, fsynced
 *   <id>.rcpt  the recipients still to deliver, attempts and the next
 *              attempt time; replaced atomically after every attempt
 *
 * An entry exists once its .rcpt file does (written last, fsynced with
 * its directory), so a crash while queueing leaves nothing half-queued.
 * Every worker runs the queue; an entry being delivered is flock()ed so
 * that two workers never deliver it at once.  Retries back off from
 * queue.retry_min to queue.retry_max; after queue.max_age the remaining
 * recipients are bounced (a DSN to the sender unless the sender is
 * null).  Bounces to remote senders wait in queue.path/outbound/ for the
 * outbound queue.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"
#include "mx-deliver.h"

struct worker;
struct mx_queue;

extern const struct config_key queue_config_keys[];

struct mx_queue *mx_queue_create(struct worker *w, const struct mx_deliverer *d,
				 const char **error_r);
void mx_queue_destroy(struct mx_queue **q);

/* Queues msg for the recipients (blocking: fsync), keeping their DSN
 * parameters and the envelope id.  id_r gets the id. */
int mx_queue_put(const char *queue_dir, const char *sender, const char *envid,
		 const struct mx_rcpt *rcpts, size_t n, const void *msg, size_t len,
		 char id_r[40], const char **error_r);

/* Sends a delivery status notification (RFC 3464) for the failed
 * recipients that asked for one (NOTIFY) (blocking).  Nothing is sent
 * for a null sender. */
void mx_queue_bounce(const struct mx_deliverer *d, const char *queue_dir, const char *hostname,
		     const char *sender, const char *envid, const void *msg, size_t len,
		     const struct mx_rcpt *failed, size_t n);

struct mx_queue_entry {
	const char *id;
	const char *queue;      /* "mx" or "outbound" */
	const char *sender;
	const char *const *rcpts;
	size_t n_rcpts;
	uint64_t size;
	int64_t created, next;
	unsigned attempts;
	const char *last_error;
};

int mx_queue_list(const char *queue_dir, void (*fn)(const struct mx_queue_entry *e, void *ctx),
		  void *ctx, const char **error_r);
/* Makes every entry due now; returns how many. */
int mx_queue_flush(const char *queue_dir, size_t *n_r, const char **error_r);
int mx_queue_delete(const char *queue_dir, const char *id, const char **error_r);

#endif

#ifndef OMBU_FILTER_H
#define OMBU_FILTER_H

/*
 * The filter hook the MX calls at the end of DATA: the message is parsed
 * and scored once, then each recipient gets an action from its own
 * settings.  Until the rules engine lands this is a pass-through: every
 * recipient gets INBOX and nothing is rejected.
 *
 * filter_scan() blocks (rules, clamd): run it on the thread pool.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"

struct pool;
struct worker;
struct filter;

enum filter_action {
	FILTER_INBOX,
	FILTER_FOLDER,    /* into `folder` (the Spam folder) */
	FILTER_DISCARD,   /* accepted and dropped, logged */
};

struct filter_rcpt {
	const char *address;  /* the final local user */
	int64_t user_id;
	double tag, cutoff;   /* the user's spam level */
	/* results */
	enum filter_action action;
	const char *folder;
	const char *headers;  /* header lines to put in this copy, or NULL */
	size_t headers_len;
};

struct filter_verdict {
	bool reject;          /* refuse the whole message (a virus) */
	bool tempfail;        /* cannot scan now (clamd down): 451 */
	unsigned code;
	char text[256];
	double score;
	const char *rules;    /* the rules hit, for logs */
};

struct filter *filter_create(const struct config *cfg, const char **error_r);
void filter_destroy(struct filter **f);
/* The filter of a worker, created on first use. */
struct filter *filter_worker(struct worker *w, const char **error_r);

int filter_scan(struct filter *f, struct pool *pool, const void *msg, size_t len,
		const char *sender, const char *client_ip, struct filter_rcpt *rcpts, size_t n,
		struct filter_verdict *v, const char **error_r);

#endif

#ifndef OMBU_FILTER_H
#define OMBU_FILTER_H

/*
 * The filter the MX calls at the end of DATA (and `ombu check`): the
 * message is scanned once — clamd, the SpamAssassin-language rules
 * (src/filter/sa.h), the blocklist zones for the Received hops — and then
 * each recipient gets an action from its own spam level and white/black
 * lists (src/filter/policy.h), with X-Spam-* header lines for its copy.
 *
 * filter_scan() blocks (rules, clamd, directory): run it on the thread
 * pool.  A filter is read-only once created: threads share it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"

struct directory;
struct pool;
struct sa_engine;
struct sa_result;
struct worker;
struct zoneset;
struct filter;

extern const struct config_key filter_config_keys[];

enum filter_action {
	FILTER_INBOX,
	FILTER_FOLDER,    /* into `folder` (the Spam folder) */
	FILTER_DISCARD,   /* accepted and dropped, logged */
};

struct filter_rcpt {
	const char *address;  /* the final local user */
	/* results */
	enum filter_action action;
	const char *folder;
	const char *headers;  /* header lines to put in this copy, or NULL */
	size_t headers_len;
	double tag, cutoff;   /* the user's spam level */
	int list;             /* enum policy_list: 1 white, 2 black, 0 neither */
};

struct filter_verdict {
	bool reject;          /* refuse the whole message (a virus) */
	bool tempfail;        /* cannot scan now (clamd down): 451 */
	unsigned code;
	char text[256];
	char virus[200];      /* the signature, when reject is for a virus */
	bool scanned;         /* the rules ran (false over filter.max_scan_size) */
	double score;
	const char *rules;    /* the rules hit, comma-separated, for logs */
	/* the rules engine's own result (hits with scores, timings with
	 * FILTER_SCAN_STATS), or NULL when the rules did not run */
	struct sa_result *sa;
	/* zone rules hit (ZONE_NAME), with their scores */
	const char **zone_rules;
	double *zone_scores;
	size_t n_zone_rules;
};

#define FILTER_SCAN_STATS 0x1  /* time every rule (ombu check --stats) */

/* dir and zones are the caller's (the worker's shared ones). */
struct filter *filter_create(const struct config *cfg, struct directory *dir,
			     struct zoneset *zones, const char **error_r);
void filter_destroy(struct filter **f);
/* The filter of a worker, created on first use. */
struct filter *filter_worker(struct worker *w, const char **error_r);
/* The rules engine (for `ombu check --stats`); NULL when disabled. */
struct sa_engine *filter_engine(struct filter *f);

int filter_scan(struct filter *f, struct pool *pool, const void *msg, size_t len,
		const char *sender, const char *client_ip, struct filter_rcpt *rcpts, size_t n,
		unsigned flags, struct filter_verdict *v, const char **error_r);

#endif

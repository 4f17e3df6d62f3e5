#ifndef OMBU_POLICY_H
#define OMBU_POLICY_H

/*
 * The per-recipient policy: a message is scored once, then each
 * recipient's own spam level and lists decide what happens to its copy.
 * Pure functions (the lookups are the caller's).
 *
 *   sender whitelisted or in the address book  -> INBOX
 *   sender blacklisted                          -> discard (or the Spam folder)
 *   score below the level's tag                 -> INBOX
 *   tag <= score < cutoff                       -> the Spam folder
 *   score >= cutoff                             -> discard (logged)
 */

#include <stdbool.h>
#include <stddef.h>

#include "filter.h"

struct buf;

enum policy_list { POLICY_LIST_NONE = 0, POLICY_LIST_WHITE = 1, POLICY_LIST_BLACK = 2 };

enum filter_action policy_decide(double score, double tag, double cutoff, enum policy_list list,
				 enum filter_action blacklisted_action);

/* Appends X-Spam-Score, X-Spam-Level and X-Spam-Status (folded) for one
 * recipient: required is that recipient's tag score; tests the rule
 * names, comma-separated. */
void policy_headers(struct buf *out, double score, double required, const char *tests);

#endif

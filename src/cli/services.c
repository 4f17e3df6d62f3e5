/* The roles `ombu serve` can run, in the order their listeners are set up. */

#include "cli.h"
#include "lib/master.h"

#include <stddef.h>

const struct service *const cli_services[] = { NULL };
const size_t cli_n_services = 0;

/* Role sections whose servers are not written yet. */
const char *const cli_pending_roles[] = {
	"mx", "submission", "submissions", "lmtp", "imap", "imaps", "pop3", "pop3s", "web", NULL
};

/* The roles `ombu serve` can run, in the order their listeners are set up. */

#include "cli.h"
#include "lib/master.h"
#include "lmtp/lmtp.h"
#include "smtp/mx.h"
#include "imap/imap.h"
#include "pop3/pop3.h"

#include <stddef.h>

const struct service *const cli_services[] = {
	&mx_service, &lmtp_service, &imap_service, &imaps_service, &pop3_service, &pop3s_service,
};
const size_t cli_n_services = sizeof(cli_services) / sizeof(cli_services[0]);

/* Role sections whose servers are not written yet. */
const char *const cli_pending_roles[] = {
	"submission", "submissions", "web", NULL
};

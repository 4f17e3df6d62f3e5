#ifndef OMBU_IMAP_H
#define OMBU_IMAP_H

/* The IMAP role: imap.listen (STARTTLS/STLS) and imaps.listen (implicit
 * TLS), over the user's mailbox in the store. */

#include "lib/config.h"
#include "lib/master.h"

extern const struct config_key imap_config_keys[];
extern const struct service imap_service;
extern const struct service imaps_service;

#endif

#ifndef OMBU_POP3_H
#define OMBU_POP3_H

/* The POP3 role: pop3.listen (STARTTLS/STLS) and pop3s.listen (implicit
 * TLS), over the user's mailbox in the store. */

#include "lib/config.h"
#include "lib/master.h"

extern const struct config_key pop3_config_keys[];
extern const struct service pop3_service;
extern const struct service pop3s_service;

#endif

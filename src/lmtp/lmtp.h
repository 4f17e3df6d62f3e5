#ifndef OMBU_LMTP_H
#define OMBU_LMTP_H

/* The LMTP role (RFC 2033): delivery into this node's store, one reply
 * per recipient, on lmtp.listen. */

#include "lib/config.h"
#include "lib/master.h"

extern const struct config_key lmtp_config_keys[];
extern const struct service lmtp_service;

#endif

#ifndef OMBU_MX_H
#define OMBU_MX_H

/* The inbound MX: SMTP for local domains with the front-line defences,
 * filtering and durable delivery (store or queue) before every 250. */

#include "lib/config.h"
#include "lib/master.h"

extern const struct config_key mx_config_keys[];
extern const struct service mx_service;

#endif

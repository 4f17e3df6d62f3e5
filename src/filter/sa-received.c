/*
 * Received headers -> relays (placeholder: no relays parsed yet).
 */

#include "filter/sa-private.h"

void sa_received_parse(struct sa_msg *m)
{
	m->relays_trusted_str = "";
	m->relays_untrusted_str = "";
	m->relays_internal_str = "";
	m->relays_external_str = "";
}

/* Registers every module's configuration table, and the listener keys of
 * the roles (each role section owns a `listen` key; the role's other keys
 * come from its module). */

#include "cli.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/master.h"
#include "store/store.h"
#include "lmtp/lmtp.h"
#include "smtp/mx.h"
#include "smtp/mx-queue.h"
#include "filter/filter.h"
#include "filter/zoneset.h"
#include "imap/imap.h"
#include "pop3/pop3.h"

#define LISTEN(section, addr, doc) \
	{ section, "listen", CONFIG_LISTEN, addr, doc }

static const struct config_key role_keys[] = {
	LISTEN("mx", "127.0.0.1:2525", "inbound SMTP for local domains"),
	LISTEN("submission", "127.0.0.1:2587", "submission with STARTTLS (authenticated users)"),
	LISTEN("submissions", "127.0.0.1:2465", "submission over implicit TLS"),
	LISTEN("lmtp", "127.0.0.1:2424", "LMTP delivery into the store"),
	LISTEN("imap", "127.0.0.1:2143", "IMAP with STARTTLS"),
	LISTEN("imaps", "127.0.0.1:2993", "IMAP over implicit TLS"),
	LISTEN("pop3", "127.0.0.1:2110", "POP3 with STLS"),
	LISTEN("pop3s", "127.0.0.1:2995", "POP3 over implicit TLS"),
	LISTEN("web", "127.0.0.1:8080", "webmail, admin API and metrics"),
	{ NULL }
};

void cli_register_config(void)
{
	config_register(master_config_keys);
	config_register(role_keys);
	config_register(directory_config_keys);
	config_register(store_config_keys);
	config_register(lmtp_config_keys);
	config_register(mx_config_keys);
	config_register(queue_config_keys);
	config_register(zoneset_config_keys);
	config_register(filter_config_keys);
	config_register(imap_config_keys);
	config_register(pop3_config_keys);
}

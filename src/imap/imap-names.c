/* Mailbox names on the wire: modified UTF-7 (RFC 3501 5.1.3) unless the
 * client enabled UTF8=ACCEPT (RFC 6855), UTF-8 in the store. */

#include "imap-private.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <string.h>

const char *imap_name_in(struct imap_cmd *cmd, const char *wire)
{
	const char *name = wire;
	if (!cmd->client->utf8) {
		struct buf b;
		buf_init_pool(&b, cmd->pool, 0);
		if (imap_utf7_to_utf8(wire, &b) < 0) {
			imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name: not valid modified UTF-7.");
			return NULL;
		}
		name = buf_cstr(&b);
	} else if (!imap_utf8_valid(wire, strlen(wire))) {
		imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name: not valid UTF-8.");
		return NULL;
	}
	/* INBOX in any case is INBOX */
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/'))
		name = pool_printf(cmd->pool, "INBOX%s", name + 5);
	return name;
}

void imap_name_out(const struct imap_client *c, struct buf *out, const char *name)
{
	if (c->utf8) {
		imap_write_astring(out, name, strlen(name));
		return;
	}
	struct buf b;
	buf_init(&b, 0);
	if (imap_utf8_to_utf7(name, &b) < 0) {
		buf_reset(&b);
		buf_append_str(&b, name);
	}
	imap_write_astring(out, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
}

/* Placeholder until the IMAP server lands: the listeners answer that the
 * service is not available yet and close. */

#include "imap.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdlib.h>

const struct config_key imap_config_keys[] = {
	{ NULL }
};

static int dummy;

static void *imap_init(struct worker *w, const char **error_r)
{
	(void)w;
	(void)error_r;
	return &dummy;
}

static void imap_closed(struct conn *c, void *ctx, enum conn_close_reason why)
{
	(void)c;
	(void)ctx;
	(void)why;
}

static const struct conn_handler imap_handler = { .closed = imap_closed };

static void imap_accept(void *ctx, struct conn *c)
{
	(void)ctx;
	conn_set_handler(c, &imap_handler, NULL);
	conn_write_str(c, "imap" [0] == 'p' ? "-ERR [SYS/PERM] POP3 is not available yet\r\n"
					    : "* BYE IMAP is not available yet\r\n");
	conn_close(c);
}

const struct service imap_service = {
	.name = "imap",
	.init = imap_init,
	.accept = imap_accept,
};

const struct service imaps_service = {
	.name = "imaps",
	.implicit_tls = true,
	.init = imap_init,
	.accept = imap_accept,
};

/* Placeholder until the POP3 server lands: the listeners answer that the
 * service is not available yet and close. */

#include "pop3.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdlib.h>

const struct config_key pop3_config_keys[] = {
	{ NULL }
};

static int dummy;

static void *pop3_init(struct worker *w, const char **error_r)
{
	(void)w;
	(void)error_r;
	return &dummy;
}

static void pop3_closed(struct conn *c, void *ctx, enum conn_close_reason why)
{
	(void)c;
	(void)ctx;
	(void)why;
}

static const struct conn_handler pop3_handler = { .closed = pop3_closed };

static void pop3_accept(void *ctx, struct conn *c)
{
	(void)ctx;
	conn_set_handler(c, &pop3_handler, NULL);
	conn_write_str(c, "pop3" [0] == 'p' ? "-ERR [SYS/PERM] POP3 is not available yet\r\n"
					    : "* BYE IMAP is not available yet\r\n");
	conn_close(c);
}

const struct service pop3_service = {
	.name = "pop3",
	.init = pop3_init,
	.accept = pop3_accept,
};

const struct service pop3s_service = {
	.name = "pop3s",
	.implicit_tls = true,
	.init = pop3_init,
	.accept = pop3_accept,
};

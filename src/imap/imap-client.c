/*
 * IMAP sessions: the connection, the input loop (parser, literals,
 * AUTHENTICATE and IDLE lines), command dispatch onto the loop or the
 * thread pool, tagged replies, limits, and the end of a session.
 */

#include "imap-private.h"
#include "lib/anvil.h"
#include "lib/conn.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output a job may leave behind before it waits for the client to read. */
#define OUTPUT_LOWAT (128 * 1024)

static void client_input(struct conn *conn, void *ctx);
static void client_drained(struct conn *conn, void *ctx);
static void client_closed(struct conn *conn, void *ctx, enum conn_close_reason why);
static void process_input(struct imap_client *c);
static void cmd_complete(struct imap_cmd *cmd);

static const struct conn_handler handler = {
	.input = client_input,
	.drained = client_drained,
	.closed = client_closed,
};

/* ------------------------------------------------------------------ */
/* Capabilities                                                        */

void imap_capabilities(const struct imap_client *c, struct buf *out)
{
	const struct imap_server *srv = c->srv;
	buf_append_str(out, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ LITERAL- ID ENABLE IDLE");
	if (c->state == STATE_NOTAUTH) {
		if (!c->tls && srv->tls != NULL)
			buf_append_str(out, " STARTTLS");
		if (!c->tls && !srv->set.plaintext_ok)
			buf_append_str(out, " LOGINDISABLED");
		else
			buf_append_str(out, " AUTH=PLAIN AUTH=LOGIN");
		return;
	}
	buf_printf(out, " NAMESPACE UIDPLUS MOVE SPECIAL-USE CREATE-SPECIAL-USE UNSELECT CHILDREN"
		   " LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES CONDSTORE QRESYNC QUOTA"
		   " QUOTA=RES-STORAGE APPENDLIMIT=%llu SORT THREAD=ORDEREDSUBJECT"
		   " THREAD=REFERENCES UTF8=ACCEPT MULTIAPPEND BINARY WITHIN STATUS=SIZE",
		   (unsigned long long)srv->set.append_limit);
	if (!c->compressed)
		buf_append_str(out, " COMPRESS=DEFLATE");
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */

void imap_client_ref(struct imap_client *c)
{
	c->refs++;
}

static void cmd_free(struct imap_cmd *cmd)
{
	if (cmd == NULL)
		return;
	imap_client_mailbox_close(&cmd->mb);
	buf_free(&cmd->out);
	struct pool *p = cmd->pool;
	pool_destroy(&p);
}

void imap_client_unref(struct imap_client **cp)
{
	struct imap_client *c = *cp;
	*cp = NULL;
	if (c == NULL || --c->refs > 0)
		return;
	if (c->cmd != NULL) {
		cmd_free(c->cmd);
		c->cmd = NULL;
	}
	imap_view_close(c);
	free(c->user);
	free(c->owner);
	free(c->notify_path);
	free(c);
}

static const char *ip_key(struct imap_client *c, char *buf, size_t size)
{
	snprintf(buf, size, "imap-ip/%s", conn_peer_ip(c->conn));
	return buf;
}

void imap_client_accept(struct imap_server *srv, struct conn *conn)
{
	struct imap_client *c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->conn = conn;
	c->refs = 1;
	c->tls = conn_is_tls(conn);
	str_copy(c->ip, conn_peer_ip(conn), sizeof(c->ip));
	str_copy(c->id, conn_id(conn), sizeof(c->id));
	DLIST_PREPEND(srv->clients, c);
	srv->n_clients++;
	conn_set_handler(conn, &handler, c);
	/* the parser consumes input as it comes; this only bounds what
	 * waits while a command runs */
	conn_set_input_max(conn, srv->set.max_line + 1024);
	conn_set_idle_timeout(conn, srv->set.login_timeout_ms);
	conn_set_output_lowat(conn, OUTPUT_LOWAT);
	log_info("imap.connect", "service=%s session=%s ip=%s%s", srv->name, conn_id(conn),
		 conn_peer_ip(conn), c->tls ? " tls=yes" : "");
	if (srv->stopping) {
		imap_client_bye(c, "Server shutting down.");
		return;
	}
	char key[80];
	c->counted_ip = true;
	uint32_t n = anvil_connect(srv->anvil, ip_key(c, key, sizeof(key)));
	if (srv->set.max_ip_conns > 0 && n > srv->set.max_ip_conns) {
		log_info("imap.refused", "session=%s ip=%s reason=connections connections=%u",
			 conn_id(conn), conn_peer_ip(conn), n);
		imap_client_bye(c, "[UNAVAILABLE] Too many connections from your IP address.");
		return;
	}
	struct buf b;
	buf_init(&b, 0);
	buf_append_str(&b, "* OK [CAPABILITY ");
	imap_capabilities(c, &b);
	buf_append_str(&b, "] ombu IMAP ready.\r\n");
	conn_write(conn, b.data, b.len);
	buf_free(&b);
}

static void client_closed(struct conn *conn, void *ctx, enum conn_close_reason why)
{
	struct imap_client *c = ctx;
	struct imap_server *srv = c->srv;
	char key[80];
	log_info("imap.disconnect", "service=%s session=%s ip=%s user=%s reason=%s", srv->name,
		 conn_id(conn), conn_peer_ip(conn), log_str(c->user), conn_close_reason_str(why));
	if (c->counted_ip)
		anvil_disconnect(srv->anvil, ip_key(c, key, sizeof(key)));
	if (c->counted_user) {
		snprintf(key, sizeof(key), "imap-user/%s", c->user);
		anvil_disconnect(srv->anvil, key);
	}
	c->closed = true;
	c->conn = NULL;
	store_watch_remove(&c->watch);
	timer_remove(&c->delay);
	DLIST_REMOVE(srv->clients, c);
	srv->n_clients--;
	imap_client_unref(&c);
}

void imap_client_bye(struct imap_client *c, const char *text)
{
	if (c->closed || c->state == STATE_LOGOUT)
		return;
	c->state = STATE_LOGOUT;
	conn_printf(c->conn, "* BYE %s\r\n", text);
	conn_close(c->conn);
}

void imap_client_stop(struct imap_client *c)
{
	if (c->closed)
		return;
	/* a session between commands (or idling) goes now; one in the
	 * middle of a command after it */
	if (!c->busy && (c->cmd == NULL || c->mode == INPUT_IDLE))
		imap_client_bye(c, "Server shutting down.");
}

/* ------------------------------------------------------------------ */
/* Mailbox handles                                                     */

struct mailbox *imap_client_mailbox(struct imap_cmd *cmd)
{
	if (cmd->mb != NULL)
		return cmd->mb;
	struct imap_client *c = cmd->client;
	const char *err;
	int r = store_mailbox_open(c->srv->st, c->owner, true, &cmd->mb, &err);
	if (r != STORE_OK) {
		log_error("imap.store_failed", "user=%s error=%s", log_str(c->user), log_str(err));
		imap_cmd_no(cmd, "[SERVERBUG] The mailbox is not available now; try again later.");
		cmd->mb = NULL;
		return NULL;
	}
	return cmd->mb;
}

void imap_client_mailbox_close(struct mailbox **mb)
{
	store_mailbox_close(mb);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

static void set_reply(struct imap_cmd *cmd, const char *status, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void set_reply(struct imap_cmd *cmd, const char *status, const char *fmt, va_list ap)
{
	cmd->status = status;
	cmd->reply = pool_vprintf(cmd->pool, fmt, ap);
}

void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_reply(cmd, "OK", fmt, ap);
	va_end(ap);
}

void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_reply(cmd, "NO", fmt, ap);
	va_end(ap);
}

void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_reply(cmd, "BAD", fmt, ap);
	va_end(ap);
}

void imap_cmd_untagged(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	buf_append_str(&cmd->out, "* ");
	va_start(ap, fmt);
	buf_vprintf(&cmd->out, fmt, ap);
	va_end(ap);
	buf_append_str(&cmd->out, "\r\n");
}

void imap_cmd_store_error(struct imap_cmd *cmd, int result, const char *error)
{
	switch (result) {
	case STORE_NOTFOUND:
		imap_cmd_no(cmd, "[NONEXISTENT] Mailbox doesn't exist.");
		break;
	case STORE_EXISTS:
		imap_cmd_no(cmd, "[ALREADYEXISTS] Mailbox exists already.");
		break;
	case STORE_INVALID:
		imap_cmd_no(cmd, "[CANNOT] %s.", error != NULL ? error : "Invalid mailbox name");
		break;
	case STORE_QUOTA:
		imap_cmd_no(cmd, "[OVERQUOTA] Quota exceeded (mailbox for user is full).");
		break;
	case STORE_TOOBIG:
		imap_cmd_no(cmd, "[TOOBIG] Message too big.");
		break;
	default:
		log_error("imap.store_failed", "user=%s command=%s error=%s",
			  log_str(cmd->client->user), cmd->name, log_str(error));
		imap_cmd_no(cmd, "[SERVERBUG] Internal error; try again later.");
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Running commands                                                    */

static struct imap_cmd *cmd_new(struct imap_client *c)
{
	struct pool *pool = pool_create("imap-cmd", 2048);
	struct imap_cmd *cmd = pool_alloc(pool, sizeof(*cmd));
	cmd->client = c;
	cmd->pool = pool;
	struct imap_parser_settings set = {
		.max_line = c->srv->set.max_line,
		.max_depth = c->srv->set.max_depth,
	};
	cmd->parser = imap_parser_create(pool, &set);
	buf_init(&cmd->out, 0);
	return cmd;
}

static void flush_out(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->out.len > 0 && !c->closed)
		conn_write(c->conn, cmd->out.data, cmd->out.len);
	buf_reset(&cmd->out);
	/* a big FETCH's buffer is not kept between its parts */
	if (cmd->out.cap > 1024 * 1024)
		buf_free(&cmd->out);
}

/* The selected folder's changes after a command (pool thread). */
static void post_sync(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (c->view == NULL || (cmd->def != NULL && (cmd->def->flags & CMD_NOSYNC)) ||
	    (cmd->status != NULL && strcmp(cmd->status, "BAD") == 0))
		return;
	struct mailbox *mb = cmd->mb;
	if (mb == NULL) {
		const char *err;
		if (store_mailbox_open(c->srv->st, c->owner, false, &cmd->mb, &err) != STORE_OK)
			return;
		mb = cmd->mb;
	}
	unsigned int flags = cmd->uid ? SYNC_UID_FETCH : 0;
	if (!cmd->uid && cmd->def != NULL && (cmd->def->flags & CMD_NOEXPUNGE))
		flags |= SYNC_NO_EXPUNGE;
	if (imap_sync(c, mb, &cmd->out, flags) < 0)
		cmd->bye = true;
}

static void job_work(void *ctx)
{
	struct imap_cmd *cmd = ctx;
	cmd->finished = cmd->fn(cmd);
	if (cmd->finished) {
		post_sync(cmd);
		imap_client_mailbox_close(&cmd->mb);
	}
}

static void job_done(void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct imap_client *c = cmd->client;
	c->busy = false;
	if (c->closed) {
		if (c->cmd == cmd)
			c->cmd = NULL;
		cmd_free(cmd);
		imap_client_unref(&c);
		return;
	}
	if (!cmd->finished) {
		flush_out(cmd);
		if (conn_output_len(c->conn) > OUTPUT_LOWAT)
			c->wait_drain = true;
		else
			imap_cmd_submit(cmd, cmd->fn);
		imap_client_unref(&c);
		return;
	}
	cmd_complete(cmd);
	imap_client_unref(&c);
}

void imap_cmd_submit(struct imap_cmd *cmd, imap_cmd_fn *fn)
{
	struct imap_client *c = cmd->client;
	cmd->fn = fn;
	c->busy = true;
	imap_client_ref(c);
	threadpool_submit(c->srv->tp, job_work, job_done, cmd);
}

static void client_drained(struct conn *conn, void *ctx)
{
	struct imap_client *c = ctx;
	(void)conn;
	if (c->wait_drain && c->cmd != NULL && !c->busy) {
		c->wait_drain = false;
		imap_cmd_submit(c->cmd, c->cmd->fn);
	}
}

/* Writes the tagged reply, runs what follows it, frees the command and
 * goes on with the input. */
static void cmd_complete(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	flush_out(cmd);
	if (cmd->status == NULL)
		imap_cmd_ok(cmd, "%s completed.", cmd->name != NULL ? cmd->name : "Command");
	bool bad = strcmp(cmd->status, "BAD") == 0;
	if (!c->closed)
		conn_printf(c->conn, "%s %s %s\r\n", cmd->tag != NULL ? cmd->tag : "*", cmd->status,
			    cmd->reply);
	if (cmd->after != NULL && !c->closed)
		cmd->after(cmd);
	c->cmd = NULL;
	c->mode = INPUT_COMMAND;
	bool bye = cmd->bye;
	cmd_free(cmd);
	if (c->closed)
		return;
	if (bye) {
		imap_client_bye(c, "Mailbox was deleted or changed under the session.");
		return;
	}
	if (bad && ++c->errors >= c->srv->set.max_errors) {
		log_info("imap.too_many_errors", "session=%s ip=%s user=%s", conn_id(c->conn),
			 conn_peer_ip(c->conn), log_str(c->user));
		imap_client_bye(c, "Too many invalid IMAP commands.");
		return;
	}
	if (c->srv->stopping && c->state != STATE_LOGOUT) {
		imap_client_bye(c, "Server shutting down.");
		return;
	}
	if (conn_input_len(c->conn) > 0)
		conn_kick(c->conn);
}

void imap_cmd_finish(struct imap_cmd *cmd)
{
	cmd_complete(cmd);
}

void imap_cmd_continue(struct imap_cmd *cmd, const char *text, enum input_mode mode)
{
	struct imap_client *c = cmd->client;
	flush_out(cmd);
	conn_printf(c->conn, "+ %s\r\n", text);
	c->mode = mode;
}

static bool state_allows(const struct imap_client *c, unsigned int flags)
{
	switch (c->state) {
	case STATE_NOTAUTH: return flags & CMD_NOTAUTH;
	case STATE_AUTH: return flags & CMD_AUTH;
	case STATE_SELECTED: return flags & CMD_SELECTED;
	case STATE_LOGOUT: return false;
	}
	return false;
}

static void dispatch(struct imap_client *c)
{
	struct imap_cmd *cmd = c->cmd;
	const struct imap_command *pc = imap_parser_command(cmd->parser);
	cmd->tag = pc->tag;
	cmd->name = pc->name;
	cmd->args = pc->args;
	cmd->count = pc->count;
	const char *name = pc->name;
	if (strcmp(name, "UID") == 0) {
		if (cmd->count == 0 || cmd->args[0].type != IMAP_ARG_ATOM) {
			imap_cmd_bad(cmd, "Missing the command after UID.");
			cmd_complete(cmd);
			return;
		}
		char *sub = pool_strdup(cmd->pool, cmd->args[0].str);
		str_ucase(sub);
		name = sub;
		cmd->name = pool_printf(cmd->pool, "UID %s", sub);
		cmd->uid = true;
		cmd->args++;
		cmd->count--;
	}
	const struct imap_command_def *def = imap_command_find(name);
	if (def == NULL || (cmd->uid && !(def->flags & CMD_UIDOK))) {
		imap_cmd_bad(cmd, "Unknown command %s.", log_str(cmd->name));
		cmd_complete(cmd);
		return;
	}
	cmd->def = def;
	if (!state_allows(c, def->flags)) {
		if (c->state == STATE_NOTAUTH)
			imap_cmd_bad(cmd, "%s: log in first.", cmd->name);
		else if (c->state == STATE_AUTH && (def->flags & CMD_SELECTED))
			imap_cmd_bad(cmd, "%s: no mailbox selected.", cmd->name);
		else
			imap_cmd_bad(cmd, "%s: not allowed now.", cmd->name);
		cmd_complete(cmd);
		return;
	}
	if (def->flags & CMD_LOOP) {
		if (def->run(cmd))
			cmd_complete(cmd);
		return;
	}
	imap_cmd_submit(cmd, def->run);
}

static void parse_error(struct imap_client *c)
{
	struct imap_cmd *cmd = c->cmd;
	bool fatal;
	const char *err = imap_parser_error(cmd->parser, &fatal);
	cmd->tag = imap_parser_tag(cmd->parser);
	cmd->name = imap_parser_name(cmd->parser);
	if (fatal) {
		log_info("imap.protocol_error", "session=%s ip=%s error=%s", conn_id(c->conn),
			 conn_peer_ip(c->conn), log_str(err));
		cmd_free(cmd);
		c->cmd = NULL;
		imap_client_bye(c, err);
		return;
	}
	if (cmd->literal_refused_no)
		imap_cmd_no(cmd, "%s", err);
	else if (cmd->name != NULL)
		imap_cmd_bad(cmd, "Error in IMAP command %s: %s.", log_str(cmd->name), err);
	else
		imap_cmd_bad(cmd, "Error in IMAP command: %s.", err);
	cmd_complete(cmd);
}

static void literal_announced(struct imap_client *c)
{
	struct imap_cmd *cmd = c->cmd;
	const struct imap_settings *set = &c->srv->set;
	uint64_t size;
	bool sync, lit8;
	imap_parser_literal(cmd->parser, &size, &sync, &lit8);
	const char *name = imap_parser_name(cmd->parser);
	/* UID would be the name, but no UID command takes big literals */
	bool append = name != NULL && strcmp(name, "APPEND") == 0;
	uint64_t max = append && c->state != STATE_NOTAUTH ? set->append_limit : set->max_literal;
	if (size > max || cmd->literal_total + size > set->max_command) {
		if (append && c->state != STATE_NOTAUTH) {
			cmd->literal_refused_no = true;
			imap_parser_literal_refuse(cmd->parser, "[TOOBIG] Message too big.");
		} else {
			imap_parser_literal_refuse(cmd->parser, "Literal too big");
		}
		return;
	}
	cmd->literal_total += size;
	if (sync)
		conn_write_str(c->conn, "+ OK\r\n");
	imap_parser_literal_accept(cmd->parser);
}

static void process_line(struct imap_client *c)
{
	ssize_t n = conn_input_line_len(c->conn, c->srv->set.max_line);
	if (n == 0)
		return;
	if (n < 0) {
		imap_client_bye(c, "Line too long.");
		return;
	}
	const unsigned char *d = conn_input_peek(c->conn, (size_t)n);
	size_t len = (size_t)n - 1;
	if (len > 0 && d[len - 1] == '\r')
		len--;
	char *line = pool_strndup(c->cmd->pool, (const char *)d, len);
	conn_input_drain(c->conn, (size_t)n);
	c->cmd->line(c->cmd, line, len);
}

static void process_input(struct imap_client *c)
{
	while (!c->closed && !c->busy && c->state != STATE_LOGOUT && !c->wait_drain &&
	       c->delay == NULL && conn_input_len(c->conn) > 0) {
		if (c->cmd != NULL && c->mode != INPUT_COMMAND) {
			size_t before = conn_input_len(c->conn);
			process_line(c);
			if (!c->closed && conn_input_len(c->conn) == before)
				return; /* no full line yet */
			continue;
		}
		if (c->cmd != NULL && c->cmd->def != NULL)
			return; /* a command is running on the loop */
		if (c->cmd == NULL)
			c->cmd = cmd_new(c);
		size_t len, used;
		const unsigned char *d = conn_input_chunk(c->conn, &len);
		enum imap_parse_result r = imap_parser_feed(c->cmd->parser, d, len, &used);
		conn_input_drain(c->conn, used);
		switch (r) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_LITERAL:
			literal_announced(c);
			/* a refused synchronising literal ends the command now:
			 * the client sends nothing more for it */
			if (imap_parser_feed(c->cmd->parser, "", 0, &used) == IMAP_PARSE_ERROR)
				parse_error(c);
			break;
		case IMAP_PARSE_DONE:
			dispatch(c);
			break;
		case IMAP_PARSE_ERROR:
			parse_error(c);
			break;
		}
	}
}

static void client_input(struct conn *conn, void *ctx)
{
	struct imap_client *c = ctx;
	(void)conn;
	imap_client_ref(c);
	process_input(c);
	imap_client_unref(&c);
}

/* The SMTP server engine: see smtp-server.h. */

#include "smtp-server.h"
#include "lib/conn.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Input bounds: a command line (and a little pipelining beyond it) in
 * command mode; bigger reads in DATA mode. */
#define INPUT_MAX_COMMANDS (64 * 1024)
#define INPUT_MAX_DATA (256 * 1024)

enum session_state {
	S_CONNECT,     /* waiting for the role's connect verdict */
	S_GREET_DELAY, /* waiting to greet; input now is a pregreet */
	S_COMMANDS,
	S_DATA,        /* reading DATA or a BDAT chunk */
	S_SKIP,        /* discarding a refused BDAT chunk */
	S_QUIT,        /* closing after the last reply */
};

enum session_wait {
	W_NONE,
	W_CONNECT,
	W_MAIL,
	W_RCPT,
	W_DATA,
};

struct smtp_server {
	struct ioloop *loop;
	struct smtp_server_settings set;
	const struct smtp_server_callbacks *cb;
	void *ctx;
	struct smtp_parse_settings parse;
	struct smtp_session *sessions;
	size_t n_sessions;
	bool stopping;
	uint64_t serial;
};

struct smtp_session {
	struct smtp_session *prev, *next;
	struct smtp_server *srv;
	struct conn *conn;
	struct pool *pool;
	unsigned refs;
	bool closed, linked;
	enum session_state state;
	enum session_wait wait;
	struct smtp_command_reader *reader;
	struct smtp_data_decoder *dec;
	struct smtp_transaction *tx;
	struct smtp_recipient *pending_rcpt;
	size_t data_replies;
	uint64_t skip;
	char *helo;
	bool esmtp, tls, quit_after;
	unsigned errors, transactions;
	struct timer *timer;
	void *ctx;
	struct buf out;
	char id[40];
};

static void session_input(struct conn *c, void *ctx);
static void session_closed(struct conn *c, void *ctx, enum conn_close_reason why);
static void process(struct smtp_session *s);
static void cmd_bdat_chunk_done(struct smtp_session *s);
static void finish_data(struct smtp_session *s);

static const struct conn_handler handler = {
	.input = session_input,
	.closed = session_closed,
};

/* ------------------------------------------------------------------ */
/* Server                                                              */

struct smtp_server *smtp_server_create(struct ioloop *loop, const struct smtp_server_settings *set,
				       const struct smtp_server_callbacks *cb, void *ctx)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));
	srv->loop = loop;
	srv->set = *set;
	srv->cb = cb;
	srv->ctx = ctx;
	srv->parse.protocol = set->protocol;
	srv->parse.caps = set->caps;
	srv->parse.flags = set->parse_flags;
	if (srv->set.max_command_line < 512)
		srv->set.max_command_line = 512;
	return srv;
}

void *smtp_server_ctx(struct smtp_server *srv)
{
	return srv->ctx;
}

size_t smtp_server_sessions(const struct smtp_server *srv)
{
	return srv->n_sessions;
}

static bool session_idle(const struct smtp_session *s)
{
	return s->wait == W_NONE && s->state == S_COMMANDS &&
	       (s->tx == NULL || s->tx->n_rcpts == 0);
}

void smtp_server_stop(struct smtp_server *srv)
{
	srv->stopping = true;
	for (struct smtp_session *s = srv->sessions, *next; s != NULL; s = next) {
		next = s->next;
		if (session_idle(s) || s->state == S_CONNECT || s->state == S_GREET_DELAY)
			smtp_session_disconnect(s, "4.3.2", "Service shutting down");
		else
			s->quit_after = true;
	}
}

void smtp_server_destroy(struct smtp_server **sp)
{
	struct smtp_server *srv = *sp;
	if (srv == NULL)
		return;
	*sp = NULL;
	free(srv);
}

/* ------------------------------------------------------------------ */
/* Session lifetime                                                    */

void smtp_session_ref(struct smtp_session *s)
{
	s->refs++;
}

static void tx_free(struct smtp_session *s, bool notify)
{
	struct smtp_transaction *t = s->tx;
	if (t == NULL)
		return;
	s->tx = NULL;
	s->pending_rcpt = NULL;
	s->dec = NULL;
	if (notify && s->srv->cb->reset != NULL)
		s->srv->cb->reset(s, t);
	buf_free(&t->body);
	struct pool *p = t->pool;
	pool_destroy(&p);
}

void smtp_session_unref(struct smtp_session **sp)
{
	struct smtp_session *s = *sp;
	*sp = NULL;
	if (s == NULL || --s->refs > 0)
		return;
	tx_free(s, false);
	timer_remove(&s->timer);
	buf_free(&s->out);
	pool_destroy(&s->pool);
	free(s);
}

static void unlink_session(struct smtp_session *s)
{
	if (!s->linked)
		return;
	s->linked = false;
	struct smtp_server *srv = s->srv;
	DLIST_REMOVE(srv->sessions, s);
	srv->n_sessions--;
}

static void session_closed(struct conn *c, void *ctx, enum conn_close_reason why)
{
	struct smtp_session *s = ctx;
	(void)c;
	s->closed = true;
	s->conn = NULL;
	timer_remove(&s->timer);
	log_info("smtp.disconnect", "service=%s session=%s ip=%s reason=%s errors=%u",
		 s->srv->set.name, s->id, conn_peer_ip(c), conn_close_reason_str(why), s->errors);
	if (s->srv->cb->disconnect != NULL)
		s->srv->cb->disconnect(s);
	tx_free(s, true);
	unlink_session(s);
	smtp_session_unref(&s);
}

static void timeout_fire(void *ctx)
{
	struct smtp_session *s = ctx;
	timer_remove(&s->timer);
	if (s->state == S_GREET_DELAY) {
		smtp_session_greet(s);
		return;
	}
	if (s->wait != W_NONE) {
		/* waiting for ourselves, not for the client */
		s->timer = timer_add(s->srv->loop, s->srv->set.timeout_ms, false, timeout_fire, s);
		return;
	}
	log_info("smtp.timeout", "service=%s session=%s ip=%s", s->srv->set.name, s->id,
		 conn_peer_ip(s->conn));
	smtp_session_disconnect(s, "4.4.2", "Error: timeout exceeded");
}

static void touch_timer(struct smtp_session *s)
{
	if (s->srv->set.timeout_ms == 0 || s->closed)
		return;
	if (s->timer == NULL)
		s->timer = timer_add(s->srv->loop, s->srv->set.timeout_ms, false, timeout_fire, s);
	else
		timer_reset(s->timer, s->srv->set.timeout_ms);
}

void smtp_server_accept(struct smtp_server *srv, struct conn *c)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->conn = c;
	s->refs = 1;
	s->pool = pool_create("smtp-session", 1024);
	s->reader = smtp_command_reader_create(s->pool, srv->set.max_command_line,
					       srv->set.parse_flags & SMTP_PARSE_ALLOW_BARE_LF);
	buf_init(&s->out, 0);
	s->tls = conn_is_tls(c);
	snprintf(s->id, sizeof(s->id), "%s", conn_id(c));
	DLIST_PREPEND(srv->sessions, s);
	srv->n_sessions++;
	s->linked = true;
	conn_set_handler(c, &handler, s);
	conn_set_input_max(c, INPUT_MAX_COMMANDS);
	log_info("smtp.connect", "service=%s session=%s ip=%s port=%u%s", srv->set.name, s->id,
		 conn_peer_ip(c), net_addr_port(conn_peer(c)), s->tls ? " tls=yes" : "");
	s->state = S_CONNECT;
	touch_timer(s);
	if (srv->stopping) {
		smtp_session_refuse(s, 421, "4.3.2", "Service shutting down");
		return;
	}
	if (srv->cb->connect != NULL) {
		s->wait = W_CONNECT;
		srv->cb->connect(s);
	} else {
		smtp_session_greet(s);
	}
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

static void send_out(struct smtp_session *s)
{
	if (!s->closed && s->out.len > 0)
		conn_write(s->conn, s->out.data, s->out.len);
	buf_reset(&s->out);
}

static void vreply(struct smtp_session *s, unsigned code, const char *enhanced,
		   const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static void vreply(struct smtp_session *s, unsigned code, const char *enhanced,
		   const char *fmt, va_list ap)
{
	char text[1024];
	vsnprintf(text, sizeof(text), fmt, ap);
	if (smtp_reply_write(&s->out, code, s->srv->set.enhanced_codes ? enhanced : NULL,
			     text) < 0)
		smtp_reply_write(&s->out, 451, "4.3.0", "Internal error");
	send_out(s);
	if (code >= 400)
		log_info("smtp.reply", "service=%s session=%s ip=%s code=%u text=%s", s->srv->set.name,
			 s->id, s->closed ? "-" : conn_peer_ip(s->conn), code, log_str(text));
}

static void reply(struct smtp_session *s, unsigned code, const char *enhanced,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply(struct smtp_session *s, unsigned code, const char *enhanced,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(s, code, enhanced, fmt, ap);
	va_end(ap);
}

static void reply_error(struct smtp_session *s, const struct smtp_error *err)
{
	reply(s, err->code, err->enhanced, "%s", err->text);
}

static void close_after_reply(struct smtp_session *s)
{
	s->state = S_QUIT;
	if (!s->closed)
		conn_close(s->conn);
}

void smtp_session_disconnect(struct smtp_session *s, const char *enhanced, const char *fmt, ...)
{
	if (s->closed || s->state == S_QUIT)
		return;
	va_list ap;
	va_start(ap, fmt);
	char text[512];
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	reply(s, 421, enhanced, "%s %s", s->srv->set.hostname, text);
	close_after_reply(s);
}

void smtp_session_count_error(struct smtp_session *s)
{
	if (++s->errors >= s->srv->set.max_errors && s->srv->set.max_errors > 0)
		smtp_session_disconnect(s, "4.7.0", "Error: too many errors");
}

/* Continues processing buffered input from the loop (never recursively
 * from inside a role's callback). */
static void resume(struct smtp_session *s)
{
	s->wait = W_NONE;
	if (s->closed || s->state == S_QUIT)
		return;
	if (s->quit_after && session_idle(s)) {
		smtp_session_disconnect(s, "4.3.2", "Service shutting down");
		return;
	}
	conn_kick(s->conn);
}

void smtp_session_greet_after(struct smtp_session *s, uint64_t delay_ms)
{
	if (s->closed)
		return;
	if (s->state == S_CONNECT && conn_input_len(s->conn) > 0) {
		s->state = S_GREET_DELAY;
		process(s);
		return;
	}
	s->state = S_GREET_DELAY;
	s->wait = W_NONE;
	timer_remove(&s->timer);
	s->timer = timer_add(s->srv->loop, delay_ms, false, timeout_fire, s);
}

void smtp_session_greet(struct smtp_session *s)
{
	if (s->closed)
		return;
	if (s->state == S_CONNECT && conn_input_len(s->conn) > 0) {
		/* it spoke while we were still deciding: a bot */
		s->state = S_GREET_DELAY;
		process(s);
		return;
	}
	if (s->state == S_CONNECT && s->srv->set.greet_delay_ms > 0) {
		/* postscreen-like: a client that talks now is a bot */
		s->state = S_GREET_DELAY;
		s->wait = W_NONE;
		timer_remove(&s->timer);
		s->timer = timer_add(s->srv->loop, s->srv->set.greet_delay_ms, false, timeout_fire, s);
		if (conn_input_len(s->conn) > 0)
			conn_kick(s->conn);
		return;
	}
	s->state = S_COMMANDS;
	reply(s, 220, NULL, "%s %s ombu", s->srv->set.hostname,
	      s->srv->set.protocol == SMTP_PROTOCOL_LMTP ? "LMTP" : "ESMTP");
	touch_timer(s);
	resume(s);
}

void smtp_session_refuse(struct smtp_session *s, unsigned code, const char *enhanced,
			 const char *fmt, ...)
{
	if (s->closed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vreply(s, code, enhanced, fmt, ap);
	va_end(ap);
	close_after_reply(s);
}

void smtp_session_reply(struct smtp_session *s, unsigned code, const char *enhanced,
			const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(s, code, enhanced, fmt, ap);
	va_end(ap);
	enum session_wait was = s->wait;
	if (was == W_MAIL && code >= 300 && s->tx != NULL) {
		tx_free(s, false); /* MAIL refused: no transaction */
	} else if (was == W_RCPT) {
		if (s->tx != NULL)
			s->tx->rcpts_refused++;
		s->pending_rcpt = NULL;
	} else if (was == W_DATA) {
		/* the transaction is over, whatever the answer */
		tx_free(s, false);
	}
	if (code >= 500 && was != W_DATA)
		smtp_session_count_error(s);
	resume(s);
}

void smtp_session_rcpt_accept(struct smtp_session *s, void *rcpt_ctx)
{
	struct smtp_transaction *t = s->tx;
	struct smtp_recipient *r = s->pending_rcpt;
	if (t == NULL || r == NULL || s->wait != W_RCPT)
		ombu_panic("smtp_session_rcpt_accept without a pending RCPT");
	r->ctx = rcpt_ctx;
	t->rcpts = pool_realloc(t->pool, t->rcpts, t->n_rcpts * sizeof(*t->rcpts),
				(t->n_rcpts + 1) * sizeof(*t->rcpts));
	t->rcpts[t->n_rcpts++] = *r;
	s->pending_rcpt = NULL;
	reply(s, 250, "2.1.5", "Ok");
	resume(s);
}

void smtp_session_data_reply(struct smtp_session *s, size_t idx, unsigned code,
			     const char *enhanced, const char *fmt, ...)
{
	if (s->tx == NULL || idx >= s->tx->n_rcpts || idx != s->data_replies)
		ombu_panic("smtp_session_data_reply out of order");
	s->tx->rcpts[idx].data_code = code;
	s->data_replies++;
	va_list ap;
	va_start(ap, fmt);
	vreply(s, code, enhanced, fmt, ap);
	va_end(ap);
}

void smtp_session_data_done(struct smtp_session *s)
{
	if (s->tx != NULL && s->data_replies != s->tx->n_rcpts)
		ombu_panic("smtp_session_data_done before every recipient was answered");
	tx_free(s, false);
	resume(s);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static void tx_new(struct smtp_session *s)
{
	tx_free(s, true);
	struct smtp_transaction *t;
	struct pool *p = pool_create("smtp-tx", 4096);
	t = POOL_NEW(p, struct smtp_transaction);
	t->pool = p;
	t->id = pool_printf(p, "%s.%llu", s->id, (unsigned long long)++s->srv->serial);
	buf_init(&t->body, s->srv->set.max_message_size + 1);
	s->tx = t;
}

static void reset_session(struct smtp_session *s)
{
	tx_free(s, true);
}

static void cmd_helo(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_server *srv = s->srv;
	reset_session(s);
	s->helo = pool_strdup(s->pool, cmd->helo);
	s->esmtp = cmd->verb != SMTP_VERB_HELO;
	if (cmd->verb == SMTP_VERB_HELO) {
		reply(s, 250, NULL, "%s", srv->set.hostname);
		return;
	}
	const char *lines[16];
	char size[48];
	size_t n = 0;
	lines[n++] = srv->set.hostname;
	lines[n++] = "PIPELINING";
	if (srv->set.caps & SMTP_CAP_SIZE) {
		snprintf(size, sizeof(size), "SIZE %llu", (unsigned long long)srv->set.max_message_size);
		lines[n++] = size;
	}
	if (srv->set.tls != NULL && !s->tls)
		lines[n++] = "STARTTLS";
	if (srv->set.enhanced_codes)
		lines[n++] = "ENHANCEDSTATUSCODES";
	if (srv->set.caps & SMTP_CAP_8BITMIME)
		lines[n++] = "8BITMIME";
	if (srv->set.caps & SMTP_CAP_BINARYMIME)
		lines[n++] = "BINARYMIME";
	if (srv->set.caps & SMTP_CAP_CHUNKING)
		lines[n++] = "CHUNKING";
	if (srv->set.caps & SMTP_CAP_SMTPUTF8)
		lines[n++] = "SMTPUTF8";
	if (srv->set.caps & SMTP_CAP_DSN)
		lines[n++] = "DSN";
	buf_reset(&s->out);
	smtp_reply_write_lines(&s->out, 250, NULL, lines, n);
	send_out(s);
}

static bool check_sequence(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_server *srv = s->srv;
	bool lmtp = srv->set.protocol == SMTP_PROTOCOL_LMTP;
	switch (cmd->verb) {
	case SMTP_VERB_MAIL:
		if (s->helo == NULL && (lmtp || srv->set.require_helo)) {
			reply(s, 503, "5.5.1", "Error: send %s first", lmtp ? "LHLO" : "HELO/EHLO");
			return false;
		}
		if (srv->set.tls_required && !s->tls) {
			reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
			return false;
		}
		if (s->tx != NULL) {
			reply(s, 503, "5.5.1", "Error: nested MAIL command");
			return false;
		}
		if (srv->set.max_transactions > 0 && s->transactions >= srv->set.max_transactions) {
			reply(s, 452, "4.5.3", "Error: too many messages in this session; send the rest in a new one");
			return false;
		}
		return true;
	case SMTP_VERB_RCPT:
		if (s->tx == NULL) {
			reply(s, 503, "5.5.1", "Error: need MAIL command");
			return false;
		}
		if (s->tx->n_rcpts >= srv->set.max_recipients) {
			reply(s, 452, "4.5.3", "Error: too many recipients");
			return false;
		}
		return true;
	case SMTP_VERB_DATA:
	case SMTP_VERB_BDAT:
		if (s->tx == NULL) {
			reply(s, 503, "5.5.1", "Error: need MAIL command");
			return false;
		}
		if (cmd->verb == SMTP_VERB_DATA && s->tx->bdat) {
			reply(s, 503, "5.5.1", "Error: DATA after BDAT");
			return false;
		}
		if (s->tx->n_rcpts == 0) {
			reply(s, s->tx->rcpts_refused > 0 ? 554 : 503, "5.5.1",
			      "Error: no valid recipients");
			return false;
		}
		return true;
	default:
		return true;
	}
}

static void cmd_mail(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_server *srv = s->srv;
	if (cmd->params.has_size && srv->set.max_message_size > 0 &&
	    cmd->params.size > srv->set.max_message_size) {
		reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	tx_new(s);
	s->transactions++;
	struct smtp_transaction *t = s->tx;
	t->mail_from = cmd->path;
	t->mail_from.localpart = pool_strdup(t->pool, cmd->path.localpart);
	t->mail_from.domain = pool_strdup(t->pool, cmd->path.domain);
	t->mail_from.route = pool_strdup(t->pool, cmd->path.route);
	/* the params are in the session pool's command memory: copy */
	t->mail_params = cmd->params;
	t->mail_params.list = pool_memdup(t->pool, cmd->params.list,
					  cmd->params.count * sizeof(*cmd->params.list));
	for (size_t i = 0; i < cmd->params.count; i++) {
		t->mail_params.list[i].keyword = pool_strdup(t->pool, cmd->params.list[i].keyword);
		t->mail_params.list[i].value = pool_strdup(t->pool, cmd->params.list[i].value);
	}
	t->mail_params.envid = pool_strdup(t->pool, cmd->params.envid);
	t->mail_params.auth = pool_strdup(t->pool, cmd->params.auth);
	t->mail_params.orcpt = NULL;
	t->mail_params.orcpt_type = NULL;
	if (srv->cb->mail != NULL) {
		s->wait = W_MAIL;
		srv->cb->mail(s, t);
	} else {
		reply(s, 250, "2.1.0", "Ok");
	}
}

static void cmd_rcpt(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_transaction *t = s->tx;
	struct smtp_recipient *r = POOL_NEW(t->pool, struct smtp_recipient);
	r->addr = cmd->path;
	r->addr.localpart = pool_strdup(t->pool, cmd->path.localpart);
	r->addr.domain = pool_strdup(t->pool, cmd->path.domain);
	r->addr.route = pool_strdup(t->pool, cmd->path.route);
	r->params = cmd->params;
	r->params.list = NULL;
	r->params.count = 0;
	r->params.orcpt = pool_strdup(t->pool, cmd->params.orcpt);
	r->params.orcpt_type = pool_strdup(t->pool, cmd->params.orcpt_type);
	struct buf a;
	buf_init_pool(&a, t->pool, 0);
	smtp_address_write(&a, &r->addr);
	r->address = buf_cstr(&a);
	s->pending_rcpt = r;
	s->wait = W_RCPT;
	s->srv->cb->rcpt(s, t, r);
}

static int body_sink(void *ctx, const void *data, size_t len)
{
	struct smtp_transaction *t = ctx;
	return buf_append(&t->body, data, len);
}

static void start_data(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_server *srv = s->srv;
	struct smtp_transaction *t = s->tx;
	if (cmd->verb == SMTP_VERB_DATA) {
		struct smtp_data_settings ds = {
			.mode = SMTP_DATA_MODE_DATA,
			.max_line = srv->set.max_text_line,
			.max_size = srv->set.max_message_size,
		};
		s->dec = smtp_data_decoder_create(t->pool, &ds, body_sink, t);
		reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	} else {
		if (s->dec == NULL) {
			struct smtp_data_settings ds = {
				.mode = t->mail_params.body == SMTP_BODY_BINARYMIME
					? SMTP_DATA_MODE_BDAT_BINARY : SMTP_DATA_MODE_BDAT,
				.max_line = srv->set.max_text_line,
				.max_size = srv->set.max_message_size,
			};
			s->dec = smtp_data_decoder_create(t->pool, &ds, body_sink, t);
			t->bdat = true;
		}
		if (smtp_data_decoder_chunk(s->dec, cmd->bdat_size, cmd->bdat_last) < 0) {
			reply(s, 503, "5.5.1", "Error: BDAT out of sequence");
			s->skip = cmd->bdat_size;
			s->state = S_SKIP;
			return;
		}
	}
	s->state = S_DATA;
	conn_set_input_max(s->conn, INPUT_MAX_DATA);
	if (cmd->verb == SMTP_VERB_BDAT && cmd->bdat_size == 0) {
		size_t used;
		smtp_data_decoder_feed(s->dec, "", 0, &used);
		cmd_bdat_chunk_done(s);
	}
}

/* The engine's own checks on a complete message; then the role's. */
static void finish_data(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;
	struct smtp_transaction *t = s->tx;
	s->state = S_COMMANDS;
	conn_set_input_max(s->conn, INPUT_MAX_COMMANDS);
	t->data_flags = smtp_data_decoder_flags(s->dec);
	/* Bare LF/CR, NUL and smuggled terminators are always refused: a
	 * message that different software would split differently is not
	 * worth the risk.  Long lines only when a limit is set. */
	unsigned refuse = SMTP_DATA_F_TOO_BIG | SMTP_DATA_F_SMUGGLING | SMTP_DATA_F_NUL |
			  SMTP_DATA_F_SINK_FAILED | SMTP_DATA_F_LONG_LINE;
	if (!t->bdat || t->mail_params.body != SMTP_BODY_BINARYMIME)
		refuse |= SMTP_DATA_F_BARE_LF | SMTP_DATA_F_BARE_CR;
	struct smtp_error err;
	if (smtp_data_decoder_error(s->dec, refuse, &err)) {
		log_info("smtp.data_refused", "service=%s session=%s ip=%s tx=%s reason=%s",
			 srv->set.name, s->id, conn_peer_ip(s->conn), t->id, smtp_error_name(err.id));
		if (srv->set.protocol == SMTP_PROTOCOL_LMTP) {
			for (size_t i = 0; i < t->n_rcpts; i++)
				reply(s, err.code, err.enhanced, "%s", err.text);
		} else {
			reply_error(s, &err);
		}
		tx_free(s, true);
		smtp_session_count_error(s);
		return;
	}
	s->wait = W_DATA;
	s->data_replies = 0;
	srv->cb->data(s, t);
}

static void cmd_bdat_chunk_done(struct smtp_session *s);
static void finish_data(struct smtp_session *s);

static void cmd_bdat_chunk_done(struct smtp_session *s)
{
	if (smtp_data_decoder_finished(s->dec)) {
		finish_data(s);
		return;
	}
	s->state = S_COMMANDS;
	conn_set_input_max(s->conn, INPUT_MAX_COMMANDS);
	reply(s, 250, "2.0.0", "%llu octets received",
	      (unsigned long long)smtp_data_decoder_size(s->dec));
}

static void cmd_starttls(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;
	if (srv->set.tls == NULL || s->tls) {
		reply(s, s->tls ? 503 : 502, "5.5.1", s->tls ? "Error: TLS already active"
							: "Error: command not implemented");
		return;
	}
	reply(s, 220, "2.0.0", "Ready to start TLS");
	/* RFC 3207 4.2: anything the client sent after STARTTLS before the
	 * handshake is discarded (conn_starttls drops it; so do we). */
	if (smtp_command_reader_pending(s->reader) || conn_input_len(s->conn) > 0)
		log_info("smtp.starttls_injection", "service=%s session=%s ip=%s bytes=%zu",
			 srv->set.name, s->id, conn_peer_ip(s->conn), conn_input_len(s->conn));
	smtp_command_reader_reset(s->reader);
	conn_starttls(s->conn, srv->set.tls);
	s->tls = true;
	reset_session(s);
	s->helo = NULL;
	s->esmtp = false;
}

static void dispatch(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_server *srv = s->srv;
	if (!check_sequence(s, cmd)) {
		/* A refused BDAT's chunk follows anyway: it must be read and
		 * dropped, never taken for commands (RFC 3030 2). */
		if (cmd->verb == SMTP_VERB_BDAT && cmd->bdat_size > 0) {
			s->skip = cmd->bdat_size;
			s->state = S_SKIP;
		}
		smtp_session_count_error(s);
		return;
	}
	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
	case SMTP_VERB_LHLO:
		cmd_helo(s, cmd);
		break;
	case SMTP_VERB_MAIL:
		cmd_mail(s, cmd);
		break;
	case SMTP_VERB_RCPT:
		cmd_rcpt(s, cmd);
		break;
	case SMTP_VERB_DATA:
	case SMTP_VERB_BDAT:
		start_data(s, cmd);
		break;
	case SMTP_VERB_RSET:
		reset_session(s);
		reply(s, 250, "2.0.0", "Ok");
		break;
	case SMTP_VERB_NOOP:
		reply(s, 250, "2.0.0", "Ok");
		break;
	case SMTP_VERB_QUIT:
		reply(s, 221, "2.0.0", "Bye");
		close_after_reply(s);
		break;
	case SMTP_VERB_VRFY:
		/* Never tells who exists (RFC 5321 3.5.3). */
		reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
		break;
	case SMTP_VERB_EXPN:
		reply(s, 502, "5.5.1", "Error: command not implemented");
		break;
	case SMTP_VERB_HELP:
		reply(s, 214, "2.0.0", "See RFC 5321; ombu %s", srv->set.name);
		break;
	case SMTP_VERB_STARTTLS:
		cmd_starttls(s);
		break;
	case SMTP_VERB_AUTH:
		reply(s, 502, "5.5.1", "Error: authentication not enabled");
		smtp_session_count_error(s);
		break;
	default:
		reply(s, 500, "5.5.2", "Error: command not recognized");
		smtp_session_count_error(s);
		break;
	}
}

static bool read_command(struct smtp_session *s)
{
	size_t len;
	const unsigned char *chunk = conn_input_chunk(s->conn, &len);
	if (len == 0)
		return false;
	size_t used;
	const unsigned char *line;
	size_t llen;
	struct smtp_error err;
	int r = smtp_command_reader_read(s->reader, chunk, len, &used, &line, &llen, &err);
	if (r == 0) {
		conn_input_drain(s->conn, used);
		return true;
	}
	if (r < 0) {
		conn_input_drain(s->conn, used);
		reply_error(s, &err);
		smtp_session_count_error(s);
		return true;
	}
	/* one pool per command would be wasteful: parse into a scratch pool
	 * cleared for every command */
	struct pool *cp = pool_create("smtp-cmd", 1024);
	struct smtp_command cmd;
	struct smtp_parse_settings ps = s->srv->parse;
	if (s->tx != NULL && s->tx->mail_params.smtputf8)
		ps.flags |= SMTP_PARSE_UTF8;
	int pr = smtp_command_parse(cp, &ps, line, llen, &cmd, &err);
	conn_input_drain(s->conn, used);
	if (pr < 0) {
		reply_error(s, &err);
		smtp_session_count_error(s);
	} else {
		log_debug("smtp.command", "session=%s verb=%s", s->id, log_str(cmd.name));
		dispatch(s, &cmd);
	}
	pool_destroy(&cp);
	return true;
}

static bool read_data(struct smtp_session *s)
{
	size_t len;
	const unsigned char *chunk = conn_input_chunk(s->conn, &len);
	if (len == 0)
		return false;
	size_t used;
	int r = smtp_data_decoder_feed(s->dec, chunk, len, &used);
	conn_input_drain(s->conn, used);
	if (r < 0) {
		reply(s, 503, "5.5.1", "Error: unexpected data");
		s->state = S_COMMANDS;
		tx_free(s, true);
		return true;
	}
	if (r == 1) {
		if (s->tx->bdat)
			cmd_bdat_chunk_done(s);
		else
			finish_data(s);
	}
	return true;
}

static bool skip_data(struct smtp_session *s)
{
	size_t len = conn_input_len(s->conn);
	if (len == 0)
		return false;
	size_t n = (size_t)MIN((uint64_t)len, s->skip);
	conn_input_drain(s->conn, n);
	s->skip -= n;
	if (s->skip == 0)
		s->state = S_COMMANDS;
	return true;
}

static void process(struct smtp_session *s)
{
	while (!s->closed && s->wait == W_NONE) {
		bool progress;
		switch (s->state) {
		case S_GREET_DELAY:
			log_info("smtp.pregreet", "service=%s session=%s ip=%s", s->srv->set.name, s->id,
				 conn_peer_ip(s->conn));
			smtp_session_refuse(s, 554, "5.7.1", "%s Error: talked before the greeting",
					    s->srv->set.hostname);
			return;
		case S_COMMANDS:
			progress = read_command(s);
			break;
		case S_DATA:
			progress = read_data(s);
			break;
		case S_SKIP:
			progress = skip_data(s);
			break;
		default:
			return;
		}
		if (!progress)
			return;
		if (s->srv->stopping && session_idle(s) && !s->closed && s->state == S_COMMANDS) {
			smtp_session_disconnect(s, "4.3.2", "Service shutting down");
			return;
		}
	}
}

static void session_input(struct conn *c, void *ctx)
{
	struct smtp_session *s = ctx;
	(void)c;
	if (s->state == S_QUIT)
		return;
	if (s->state != S_CONNECT)
		touch_timer(s);
	if (s->state == S_CONNECT)
		return; /* kept until the verdict; a pregreet is seen then */
	smtp_session_ref(s);
	process(s);
	smtp_session_unref(&s);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */

struct conn *smtp_session_conn(struct smtp_session *s) { return s->conn; }
struct smtp_server *smtp_session_server(struct smtp_session *s) { return s->srv; }
const char *smtp_session_id(const struct smtp_session *s) { return s->id; }
const char *smtp_session_helo(const struct smtp_session *s) { return s->helo; }
bool smtp_session_esmtp(const struct smtp_session *s) { return s->esmtp; }
bool smtp_session_tls(const struct smtp_session *s) { return s->tls; }
void smtp_session_set_ctx(struct smtp_session *s, void *ctx) { s->ctx = ctx; }
void *smtp_session_ctx(const struct smtp_session *s) { return s->ctx; }
struct pool *smtp_session_pool(struct smtp_session *s) { return s->pool; }
bool smtp_session_closed(const struct smtp_session *s) { return s->closed; }

const char *smtp_session_peer_ip(const struct smtp_session *s)
{
	return s->closed ? "-" : conn_peer_ip(s->conn);
}

/* The POP3 role (RFC 1939, 2449, 2595, 5034): the service, the sessions,
 * the input loop and the command table.  See pop3-private.h. */

#include "pop3-private.h"
#include "directory/directory.h"
#include "lib/anvil.h"
#include "lib/conn.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int validate_expire(const char *value, const char **error_r)
{
	uint64_t days;
	if (value[0] == '\0' || strcmp(value, "NEVER") == 0 || num_parse_uint_max(value, 100000, &days) == 0)
		return 0;
	*error_r = "expected a number of days, NEVER, or nothing";
	return -1;
}

const struct config_key pop3_config_keys[] = {
	{ "pop3", "max_line_length", CONFIG_SIZE, "2k",
	  "longest command line or SASL response, CRLF included (RFC 2449 asks for 255 at least)", 256, 65536 },
	{ "pop3", "max_errors", CONFIG_UINT, "10",
	  "unknown, malformed or misplaced commands before the connection is closed", 1, 10000 },
	{ "pop3", "max_auth_failures", CONFIG_UINT, "3",
	  "failed logins on one connection before it is closed", 1, 1000 },
	{ "pop3", "max_connections_per_ip", CONFIG_UINT, "50",
	  "concurrent POP3 and POP3S connections from one client IP, over all workers (0 = no limit)", 0, 1000000 },
	{ "pop3", "login_timeout", CONFIG_DURATION, "1m",
	  "idle time allowed before a successful login", 1000, 3600000 },
	{ "pop3", "timeout", CONFIG_DURATION, "10m",
	  "idle time allowed after login (RFC 1939's autologout timer: at least 10 minutes)", 1000, 86400000 },
	{ "pop3", "login_delay", CONFIG_DURATION, "0",
	  "LOGIN-DELAY: shortest time between two logins of one user, advertised and enforced with -ERR [LOGIN-DELAY] (0 = none)",
	  0, 86400000 },
	{ "pop3", "readahead", CONFIG_SIZE, "256k",
	  "RETR/TOP read the requested message and those after it up to this many bytes in one go, and the next ones while the client reads (0 = one message at a time)",
	  0, 64ull << 20 },
	{ "pop3", "expire", CONFIG_STRING, "",
	  "EXPIRE policy to advertise: days mail stays after it was retrieved, or NEVER (empty = not advertised; ombu does not delete mail itself)",
	  .validate = validate_expire },
	{ NULL }
};

static void session_input(struct conn *c, void *ctx);
static void session_drained(struct conn *c, void *ctx);
static void session_closed(struct conn *c, void *ctx, enum conn_close_reason why);

static const struct conn_handler handler = {
	.input = session_input,
	.drained = session_drained,
	.closed = session_closed,
};

/* ------------------------------------------------------------------ */
/* The command table                                                   */

#define IN_AUTH 0x1
#define IN_TRANS 0x2

static const struct pop3_cmd_def {
	void (*fn)(struct pop3_session *s, const struct pop3_command *cmd);
	unsigned states;
} commands[POP3_VERB_COUNT] = {
	[POP3_VERB_USER] = { pop3_cmd_user, IN_AUTH },
	[POP3_VERB_PASS] = { pop3_cmd_pass, IN_AUTH },
	[POP3_VERB_APOP] = { pop3_cmd_apop, IN_AUTH },
	[POP3_VERB_AUTH] = { pop3_cmd_auth, IN_AUTH },
	[POP3_VERB_STLS] = { pop3_cmd_stls, IN_AUTH },
	[POP3_VERB_CAPA] = { pop3_cmd_capa, IN_AUTH | IN_TRANS },
	[POP3_VERB_QUIT] = { pop3_cmd_quit, IN_AUTH | IN_TRANS },
	[POP3_VERB_STAT] = { pop3_cmd_stat, IN_TRANS },
	[POP3_VERB_LIST] = { pop3_cmd_list, IN_TRANS },
	[POP3_VERB_UIDL] = { pop3_cmd_uidl, IN_TRANS },
	[POP3_VERB_RETR] = { pop3_cmd_retr, IN_TRANS },
	[POP3_VERB_TOP] = { pop3_cmd_retr, IN_TRANS },
	[POP3_VERB_DELE] = { pop3_cmd_dele, IN_TRANS },
	[POP3_VERB_NOOP] = { pop3_cmd_noop, IN_TRANS },
	[POP3_VERB_RSET] = { pop3_cmd_rset, IN_TRANS },
};

/* ------------------------------------------------------------------ */
/* Replies                                                             */

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	if (s->closed)
		return;
	va_list ap;
	va_start(ap, fmt);
	conn_vprintf(s->conn, fmt, ap);
	va_end(ap);
	conn_write(s->conn, "\r\n", 2);
}

void pop3_session_close_with(struct pop3_session *s, const char *fmt, ...)
{
	if (s->closed || s->state == POP3_STATE_CLOSING)
		return;
	va_list ap;
	va_start(ap, fmt);
	conn_vprintf(s->conn, fmt, ap);
	va_end(ap);
	conn_write(s->conn, "\r\n", 2);
	s->state = POP3_STATE_CLOSING;
	/* a session closed by the server never enters UPDATE: the lock
	 * goes now (or when the job using it ends), nothing is deleted */
	if (!s->busy)
		pop3_maildrop_free(&s->md);
	pop3_readahead_free(s);
	conn_close(s->conn);
}

void pop3_session_error(struct pop3_session *s)
{
	if (++s->errors >= s->srv->set.max_errors) {
		log_info("pop3.too_many_errors", "service=%s session=%s ip=%s errors=%u", s->srv->name, s->id,
			 conn_peer_ip(s->conn), s->errors);
		pop3_session_close_with(s, "-ERR Too many bad commands, closing the connection");
	}
}

bool pop3_plaintext_allowed(const struct pop3_session *s)
{
	return s->tls || s->srv->set.plaintext_without_tls;
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */

void pop3_session_ref(struct pop3_session *s)
{
	s->refs++;
}

void pop3_session_unref(struct pop3_session **sp)
{
	struct pop3_session *s = *sp;
	*sp = NULL;
	if (s == NULL || --s->refs > 0)
		return;
	timer_remove(&s->timer);
	pop3_stream_free(&s->stream);
	pop3_readahead_free(s);
	pop3_maildrop_free(&s->md);
	pool_destroy(&s->cmd_pool);
	pool_destroy(&s->pool);
	free(s);
}

static void unlink_session(struct pop3_session *s)
{
	if (!s->linked)
		return;
	s->linked = false;
	struct pop3_server *srv = s->srv;
	DLIST_REMOVE(srv->sessions, s);
	srv->n_sessions--;
}

static void session_closed(struct conn *c, void *ctx, enum conn_close_reason why)
{
	struct pop3_session *s = ctx;
	s->closed = true;
	s->conn = NULL;
	pop3_auth_closed(s);
	if (s->counted)
		anvil_disconnect(s->srv->anvil, s->key);
	log_info("pop3.disconnect",
		 "service=%s session=%s ip=%s user=%s reason=%s retr=%u top=%u dele=%u bytes_out=%llu%s",
		 s->srv->name, s->id, conn_peer_ip(c), s->address[0] != '\0' ? log_str(s->address) : "-",
		 conn_close_reason_str(why), s->n_retr, s->n_top, s->n_dele,
		 (unsigned long long)s->bytes_out,
		 s->md != NULL && s->md->n_deleted > 0 && !s->updating ? " deletions=discarded" : "");
	/* A dropped session deletes nothing: the maildrop is released as it
	 * is (once any job still running on it has finished). */
	if (!s->busy)
		pop3_maildrop_free(&s->md);
	unlink_session(s);
	pop3_session_unref(&s);
}

static bool session_idle(const struct pop3_session *s)
{
	/* waiting for the client (between commands, or in a SASL exchange) */
	return !s->busy && s->stream == NULL;
}

static void process(struct pop3_session *s);

void pop3_session_resume(struct pop3_session *s)
{
	if (s->closed || s->state == POP3_STATE_CLOSING)
		return;
	if (s->quit_after && session_idle(s)) {
		pop3_session_close_with(s, "-ERR [SYS/TEMP] Server shutting down, try again later");
		return;
	}
	process(s);
}

static void dispatch(struct pop3_session *s, const unsigned char *line, size_t len)
{
	struct pop3_command cmd;
	enum pop3_error err;
	if (pop3_command_parse(s->cmd_pool, line, len, &cmd, &err) < 0) {
		log_debug("pop3.bad_command", "session=%s error=%s", s->id, pop3_error_name(err));
		if (err == POP3_ERROR_UNKNOWN || err == POP3_ERROR_EMPTY || err == POP3_ERROR_CONTROL)
			pop3_reply(s, "-ERR %s", pop3_error_text(err));
		else
			pop3_reply(s, "-ERR %s %s", pop3_error_text(err), pop3_verb_name(cmd.verb));
		pop3_session_error(s);
		return;
	}
	const struct pop3_cmd_def *def = &commands[cmd.verb];
	unsigned state = s->state == POP3_STATE_AUTHORIZATION ? IN_AUTH : IN_TRANS;
	if (def->fn == NULL || (def->states & state) == 0) {
		pop3_reply(s, "-ERR %s is not allowed %s", pop3_verb_name(cmd.verb),
			   state == IN_AUTH ? "before login" : "after login");
		pop3_session_error(s);
		return;
	}
	log_debug("pop3.command", "session=%s verb=%s", s->id, pop3_verb_name(cmd.verb));
	def->fn(s, &cmd);
}

/* Reads and runs commands until the input is used up, or a job, a
 * stream or full output makes the session wait. */
static void process(struct pop3_session *s)
{
	while (!s->closed && s->state != POP3_STATE_CLOSING && !s->busy && s->stream == NULL) {
		if (conn_output_len(s->conn) > POP3_OUTPUT_HIGH)
			return; /* the drained callback resumes */
		size_t len;
		const unsigned char *chunk = conn_input_chunk(s->conn, &len);
		if (len == 0)
			return;
		const unsigned char *line;
		size_t llen, used;
		enum pop3_error err;
		int r = pop3_line_reader_read(s->reader, chunk, len, &used, &line, &llen, &err);
		if (r <= 0) {
			conn_input_drain(s->conn, used);
			if (r < 0) {
				pop3_reply(s, "-ERR %s", pop3_error_text(err));
				pop3_session_error(s);
			}
			continue;
		}
		/* the line may sit in the conn's buffer: copy it before draining,
		 * since a command (STLS) may reset the input */
		char *copy = pool_strndup(s->cmd_pool, (const char *)line, llen);
		conn_input_drain(s->conn, used);
		if (s->sasl != POP3_SASL_NONE)
			pop3_sasl_input(s, copy, llen);
		else
			dispatch(s, (const unsigned char *)copy, llen);
		pool_clear(s->cmd_pool);
		if (s->quit_after && session_idle(s) && s->state != POP3_STATE_CLOSING) {
			pop3_session_close_with(s, "-ERR [SYS/TEMP] Server shutting down, try again later");
			return;
		}
	}
}

static void session_input(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	(void)c;
	pop3_session_ref(s);
	process(s);
	pop3_session_unref(&s);
}

static void session_drained(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	(void)c;
	if (s->closed || s->state == POP3_STATE_CLOSING)
		return;
	pop3_session_ref(s);
	if (s->stream != NULL)
		pop3_stream_pump(s);
	else if (!s->busy && conn_input_len(s->conn) > 0)
		process(s);
	pop3_session_unref(&s);
}

static void accept_session(struct pop3_server *srv, struct conn *c)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->conn = c;
	s->refs = 1;
	s->pool = pool_create("pop3-session", 512);
	s->cmd_pool = pool_create("pop3-command", 512);
	s->reader = pop3_line_reader_create(s->pool, srv->set.max_line);
	s->tls = conn_is_tls(c);
	s->state = POP3_STATE_AUTHORIZATION;
	str_copy(s->id, conn_id(c), sizeof(s->id));
	snprintf(s->key, sizeof(s->key), "pop3:%s", conn_peer_ip(c));
	DLIST_PREPEND(srv->sessions, s);
	srv->n_sessions++;
	s->linked = true;
	conn_set_handler(c, &handler, s);
	/* commands and a little pipelining beyond them */
	conn_set_input_max(c, MAX(srv->set.max_line * 4, 16384));
	conn_set_output_lowat(c, POP3_OUTPUT_LOWAT);
	conn_set_idle_timeout(c, srv->set.login_timeout_ms);
	log_debug("pop3.connect", "service=%s session=%s ip=%s port=%u%s", srv->name, s->id,
		  conn_peer_ip(c), net_addr_port(conn_peer(c)), s->tls ? " tls=yes" : "");
	if (srv->stopping) {
		pop3_session_close_with(s, "-ERR [SYS/TEMP] Server shutting down, try again later");
		return;
	}
	if (srv->set.max_connections_per_ip > 0) {
		s->counted = true;
		uint32_t n = anvil_connect(srv->anvil, s->key);
		if (n > srv->set.max_connections_per_ip) {
			log_info("pop3.refused", "service=%s session=%s ip=%s reason=concurrency connections=%u",
				 srv->name, s->id, conn_peer_ip(c), n);
			pop3_session_close_with(s, "-ERR [SYS/TEMP] Too many connections from your address");
			return;
		}
	}
	/* No APOP timestamp: the directory keeps only crypt(3) hashes, so
	 * there is no shared secret to check an APOP digest against. */
	pop3_reply(s, "+OK %s POP3 ready", srv->hostname);
}

/* ------------------------------------------------------------------ */
/* The service                                                          */

static void *pop3_init_named(struct worker *w, const char *name, const char **error_r)
{
	const struct config *cfg = worker_config(w);
	struct pop3_server *srv = xcalloc(1, sizeof(*srv));
	srv->name = name;
	srv->w = w;
	srv->tp = worker_pool(w);
	srv->anvil = worker_anvil(w);
	srv->dir = directory_worker(w, error_r);
	srv->st = srv->dir != NULL ? store_worker(w, error_r) : NULL;
	if (srv->st == NULL) {
		free(srv);
		return NULL;
	}
	srv->throttle = auth_throttle_worker(w);
	srv->tls = worker_tls(w);
	struct pop3_settings *set = &srv->set;
	set->max_line = config_size(cfg, "pop3", "max_line_length");
	set->max_errors = (unsigned)config_uint(cfg, "pop3", "max_errors");
	set->max_auth_failures = (unsigned)config_uint(cfg, "pop3", "max_auth_failures");
	set->max_connections_per_ip = (unsigned)config_uint(cfg, "pop3", "max_connections_per_ip");
	set->login_timeout_ms = config_ms(cfg, "pop3", "login_timeout");
	set->timeout_ms = config_ms(cfg, "pop3", "timeout");
	set->login_delay_ms = config_ms(cfg, "pop3", "login_delay");
	set->readahead = config_size(cfg, "pop3", "readahead");
	set->expire = config_str(cfg, "pop3", "expire");
	set->plaintext_without_tls = config_bool(cfg, "auth", "plaintext_without_tls");
	str_copy(srv->hostname, worker_hostname(w), sizeof(srv->hostname));
	return srv;
}

static void *pop3_init(struct worker *w, const char **error_r)
{
	return pop3_init_named(w, "pop3", error_r);
}

static void *pop3s_init(struct worker *w, const char **error_r)
{
	return pop3_init_named(w, "pop3s", error_r);
}

static void pop3_accept(void *ctx, struct conn *c)
{
	accept_session(ctx, c);
}

/* Idle sessions are told at once and closed without UPDATE (nothing is
 * deleted); a session in the middle of a login, a RETR or an UPDATE
 * finishes it first. */
static void pop3_stop(void *ctx)
{
	struct pop3_server *srv = ctx;
	srv->stopping = true;
	for (struct pop3_session *s = srv->sessions, *next; s != NULL; s = next) {
		next = s->next;
		s->quit_after = true;
		if (session_idle(s))
			pop3_session_close_with(s, "-ERR [SYS/TEMP] Server shutting down, try again later");
	}
}

static void pop3_deinit(void *ctx)
{
	free(ctx);
}

const struct service pop3_service = {
	.name = "pop3",
	.init = pop3_init,
	.accept = pop3_accept,
	.stop = pop3_stop,
	.deinit = pop3_deinit,
};

const struct service pop3s_service = {
	.name = "pop3s",
	.implicit_tls = true,
	.init = pop3s_init,
	.accept = pop3_accept,
	.stop = pop3_stop,
	.deinit = pop3_deinit,
};

/* Commands of any state: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
 * AUTHENTICATE (PLAIN, LOGIN, SASL-IR), ID, ENABLE, NAMESPACE. */

#include "imap-private.h"
#include "directory/directory.h"
#include "lib/anvil.h"
#include "lib/conn.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/sasl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool imap_cmd_capability(struct imap_cmd *cmd)
{
	buf_append_str(&cmd->out, "* CAPABILITY ");
	imap_capabilities(cmd->client, &cmd->out);
	buf_append_str(&cmd->out, "\r\n");
	imap_cmd_ok(cmd, "Capability completed.");
	return true;
}

bool imap_cmd_noop(struct imap_cmd *cmd)
{
	/* the selected folder's news come with the sync after every command */
	imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
	return true;
}

static void do_logout(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	c->state = STATE_LOGOUT;
	conn_close(c->conn);
}

bool imap_cmd_logout(struct imap_cmd *cmd)
{
	imap_cmd_untagged(cmd, "BYE Logging out.");
	imap_cmd_ok(cmd, "Logout completed.");
	cmd->after = do_logout;
	return true;
}

static void do_starttls(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (conn_starttls(c->conn, c->srv->tls) < 0) {
		imap_client_bye(c, "TLS failed.");
		return;
	}
	c->tls = true;
}

bool imap_cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "STARTTLS takes no arguments.");
	} else if (c->tls) {
		imap_cmd_bad(cmd, "TLS is active already.");
	} else if (c->srv->tls == NULL || c->compressed) {
		imap_cmd_no(cmd, "TLS is not available.");
	} else {
		imap_cmd_ok(cmd, "Begin TLS negotiation now.");
		cmd->after = do_starttls;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Authentication                                                      */

struct auth_ctx {
	const char *user, *password;
};

static bool auth_work(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	struct imap_server *srv = c->srv;
	struct auth_ctx *a = cmd->ctx;
	const char *ip = c->ip;
	struct dir_user *u = NULL;
	const char *err = NULL;
	enum dir_auth_result r = dir_authenticate(srv->dir, cmd->pool, a->user, a->password, &u, &err);
	if (r == DIR_AUTH_TEMPFAIL) {
		log_error("imap.auth_tempfail", "session=%s ip=%s user=%s error=%s", c->id,
			  ip, log_str(a->user), log_str(err));
		imap_cmd_no(cmd, "[UNAVAILABLE] Temporary authentication failure; try again later.");
		return true;
	}
	if (r != DIR_AUTH_OK) {
		auth_throttle_failure(srv->throttle, ip, a->user);
		log_info("imap.login_failed", "session=%s ip=%s user=%s", c->id, ip,
			 log_str(a->user));
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed.");
		return true;
	}
	if (u->store != NULL) {
		imap_cmd_no(cmd, "[UNAVAILABLE] This mailbox is on another server.");
		return true;
	}
	char key[400];
	snprintf(key, sizeof(key), "imap-user/%s", u->address);
	uint32_t n = anvil_connect(srv->anvil, key);
	if (srv->set.max_user_conns > 0 && n > srv->set.max_user_conns) {
		anvil_disconnect(srv->anvil, key);
		log_info("imap.refused", "session=%s ip=%s user=%s reason=user_connections connections=%u",
			 c->id, ip, log_str(u->address), n);
		imap_cmd_no(cmd, "[LIMIT] Too many sessions for this user.");
		return true;
	}
	struct mailbox *mb;
	if (store_mailbox_open(srv->st, u->mailbox, true, &mb, &err) != STORE_OK) {
		anvil_disconnect(srv->anvil, key);
		log_error("imap.store_failed", "user=%s error=%s", log_str(u->address), log_str(err));
		imap_cmd_no(cmd, "[UNAVAILABLE] The mailbox is not available now; try again later.");
		return true;
	}
	c->notify_path = xstrdup(mailbox_notify_path(mb));
	store_mailbox_close(&mb);
	auth_throttle_success(srv->throttle, ip, a->user);
	c->counted_user = true;
	c->user = xstrdup(u->address);
	c->owner = xstrdup(u->mailbox);
	c->quota = u->quota;
	c->state = STATE_AUTH;
	log_info("imap.login", "session=%s ip=%s user=%s%s", c->id, ip, log_str(c->user),
		 c->tls ? " tls=yes" : "");
	struct buf b;
	buf_init_pool(&b, cmd->pool, 0);
	buf_append_str(&b, "[CAPABILITY ");
	imap_capabilities(c, &b);
	buf_append_str(&b, "] Logged in");
	imap_cmd_ok(cmd, "%s", buf_cstr(&b));
	return true;
}

static void auth_logged_in(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (c->state != STATE_NOTAUTH)
		conn_set_idle_timeout(c->conn, c->srv->set.timeout_ms);
}

static void auth_delay_done(void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct imap_client *c = cmd->client;
	timer_remove(&c->delay);
	imap_cmd_submit(cmd, auth_work);
}

/* Checks the throttle (on the loop), then verifies on the thread pool. */
static bool auth_begin(struct imap_cmd *cmd, const char *user, const char *password)
{
	struct imap_client *c = cmd->client;
	struct auth_ctx *a = pool_alloc(cmd->pool, sizeof(*a));
	a->user = user;
	a->password = password;
	cmd->ctx = a;
	cmd->after = auth_logged_in;
	uint64_t delay = 0;
	if (auth_throttle_check(c->srv->throttle, conn_peer_ip(c->conn), user, &delay) ==
	    AUTH_THROTTLE_REFUSE) {
		log_info("imap.login_refused", "session=%s ip=%s user=%s reason=throttle",
			 conn_id(c->conn), conn_peer_ip(c->conn), log_str(user));
		imap_cmd_no(cmd, "[UNAVAILABLE] Too many failed logins; try again later.");
		return true;
	}
	if (delay > 0) {
		c->delay = timer_add(c->srv->loop, delay, false, auth_delay_done, cmd);
		return false;
	}
	imap_cmd_submit(cmd, auth_work);
	return false;
}

static bool plaintext_refused(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (c->tls || c->srv->set.plaintext_ok)
		return false;
	imap_cmd_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS; use STARTTLS.");
	return true;
}

bool imap_cmd_login(struct imap_cmd *cmd)
{
	const char *user, *pw;
	if (cmd->count != 2 || !imap_arg_astring(&cmd->args[0], &user) ||
	    !imap_arg_astring(&cmd->args[1], &pw)) {
		imap_cmd_bad(cmd, "Usage: LOGIN user password");
		return true;
	}
	if (plaintext_refused(cmd))
		return true;
	return auth_begin(cmd, user, pw);
}

struct sasl_state {
	enum sasl_mech mech;
	const char *user;
};

static void sasl_fail(struct imap_cmd *cmd, const char *text)
{
	imap_cmd_bad(cmd, "%s", text);
	imap_cmd_finish(cmd);
}

static void auth_plain(struct imap_cmd *cmd, const char *b64, size_t len)
{
	const char *user, *pw, *err;
	if (sasl_plain_parse(cmd->pool, b64, len, &user, &pw, &err) < 0) {
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed: %s.", err);
		imap_cmd_finish(cmd);
		return;
	}
	if (auth_begin(cmd, user, pw))
		imap_cmd_finish(cmd);
}

static void auth_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	struct sasl_state *st = cmd->ctx;
	struct imap_client *c = cmd->client;
	c->mode = INPUT_COMMAND;
	if (sasl_is_cancel(line, len)) {
		sasl_fail(cmd, "Authentication aborted by client.");
		return;
	}
	if (st->mech == SASL_MECH_PLAIN) {
		auth_plain(cmd, line, len);
		return;
	}
	char *text;
	size_t tlen;
	if (sasl_base64_decode(cmd->pool, line, len, &text, &tlen) < 0 || memchr(text, 0, tlen) != NULL) {
		sasl_fail(cmd, "Invalid base64 data in the response.");
		return;
	}
	if (st->user == NULL) {
		st->user = text;
		imap_cmd_continue(cmd, SASL_LOGIN_CHALLENGE_PASS, INPUT_AUTH_LINE);
		return;
	}
	if (auth_begin(cmd, st->user, text))
		imap_cmd_finish(cmd);
}

bool imap_cmd_authenticate(struct imap_cmd *cmd)
{
	const char *mech_name, *ir = NULL;
	if (cmd->count < 1 || cmd->count > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->count == 2 && !imap_arg_astring(&cmd->args[1], &ir))) {
		imap_cmd_bad(cmd, "Usage: AUTHENTICATE mechanism [initial-response]");
		return true;
	}
	mech_name = cmd->args[0].str;
	enum sasl_mech mech = sasl_mech_parse(mech_name);
	if (mech == SASL_MECH_UNKNOWN) {
		imap_cmd_no(cmd, "Unsupported authentication mechanism.");
		return true;
	}
	if (plaintext_refused(cmd))
		return true;
	struct sasl_state *st = pool_alloc(cmd->pool, sizeof(*st));
	st->mech = mech;
	cmd->ctx = st;
	cmd->line = auth_line;
	/* SASL-IR: "=" is an empty initial response */
	if (ir != NULL && strcmp(ir, "=") == 0)
		ir = "";
	if (mech == SASL_MECH_PLAIN) {
		if (ir == NULL || ir[0] == '\0') {
			imap_cmd_continue(cmd, "", INPUT_AUTH_LINE);
			return false;
		}
		auth_plain(cmd, ir, strlen(ir));
		return false;
	}
	if (ir != NULL && ir[0] != '\0') {
		char *text;
		size_t tlen;
		if (sasl_base64_decode(cmd->pool, ir, strlen(ir), &text, &tlen) < 0 ||
		    memchr(text, 0, tlen) != NULL) {
			imap_cmd_bad(cmd, "Invalid base64 data in the initial response.");
			return true;
		}
		st->user = text;
		imap_cmd_continue(cmd, SASL_LOGIN_CHALLENGE_PASS, INPUT_AUTH_LINE);
		return false;
	}
	imap_cmd_continue(cmd, SASL_LOGIN_CHALLENGE_USER, INPUT_AUTH_LINE);
	return false;
}

/* ------------------------------------------------------------------ */
/* ID, ENABLE, NAMESPACE                                               */

bool imap_cmd_id(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->count != 1 || (cmd->args[0].type != IMAP_ARG_LIST && !imap_arg_is_nil(&cmd->args[0]))) {
		imap_cmd_bad(cmd, "Usage: ID (\"field\" \"value\" ...) or ID NIL");
		return true;
	}
	const struct imap_arg *l = &cmd->args[0];
	if (l->type == IMAP_ARG_LIST) {
		if (l->count % 2 != 0 || l->count > 60) {
			imap_cmd_bad(cmd, "ID takes at most 30 field-value pairs.");
			return true;
		}
		struct buf b;
		buf_init_pool(&b, cmd->pool, 2048);
		for (unsigned int i = 0; i < l->count; i++) {
			const struct imap_arg *a = &l->list[i];
			const char *s;
			if (!imap_arg_string(a, &s) && !imap_arg_is_nil(a)) {
				imap_cmd_bad(cmd, "ID fields and values are strings or NIL.");
				return true;
			}
			if (i % 2 == 0 && (a->type == IMAP_ARG_ATOM || a->len > 30)) {
				imap_cmd_bad(cmd, "ID field names are strings of at most 30 bytes.");
				return true;
			}
			if (a->len > 1024) {
				imap_cmd_bad(cmd, "ID values are at most 1024 bytes.");
				return true;
			}
			if (i % 2 == 0 && (str_eq_icase(a->str, "name") || str_eq_icase(a->str, "version")))
				buf_printf(&b, "%s%s=%s", b.len > 0 ? " " : "", a->str,
					   imap_arg_is_nil(&l->list[i + 1]) ? "NIL" : l->list[i + 1].str);
		}
		if (b.len > 0)
			log_info("imap.id", "session=%s client=%s", conn_id(c->conn), log_str(buf_cstr(&b)));
	}
	imap_cmd_untagged(cmd, "ID (\"name\" \"ombu\" \"vendor\" \"ombu\")");
	imap_cmd_ok(cmd, "ID completed.");
	return true;
}

bool imap_cmd_enable(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->count == 0) {
		imap_cmd_bad(cmd, "Usage: ENABLE capability...");
		return true;
	}
	struct buf b;
	buf_init_pool(&b, cmd->pool, 0);
	for (unsigned int i = 0; i < cmd->count; i++) {
		const struct imap_arg *a = &cmd->args[i];
		if (a->type != IMAP_ARG_ATOM) {
			imap_cmd_bad(cmd, "ENABLE takes capability names.");
			return true;
		}
		const char *name = NULL;
		if (str_eq_icase(a->str, "CONDSTORE") && !c->condstore) {
			imap_condstore_enable(cmd);
			name = "CONDSTORE";
		} else if (str_eq_icase(a->str, "QRESYNC") && !c->qresync) {
			imap_condstore_enable(cmd);
			c->qresync = true;
			name = "QRESYNC";
		} else if (str_eq_icase(a->str, "UTF8=ACCEPT") && !c->utf8) {
			c->utf8 = true;
			name = "UTF8=ACCEPT";
		} else if (str_eq_icase(a->str, "IMAP4rev2") && !c->imap4rev2) {
			c->imap4rev2 = true;
			name = "IMAP4rev2";
		}
		if (name != NULL)
			buf_printf(&b, " %s", name);
	}
	imap_cmd_untagged(cmd, "ENABLED%s", buf_cstr(&b));
	imap_cmd_ok(cmd, "Enabled.");
	return true;
}

bool imap_cmd_namespace(struct imap_cmd *cmd)
{
	imap_cmd_untagged(cmd, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_cmd_ok(cmd, "Namespace completed.");
	return true;
}

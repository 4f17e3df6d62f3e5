/* Logins: USER/PASS, AUTH PLAIN and LOGIN (RFC 5034), the throttle and
 * the login job, which authenticates and opens the maildrop in one trip
 * to the thread pool. */

#include "pop3-private.h"
#include "directory/directory.h"
#include "lib/anvil.h"
#include "lib/conn.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum login_result {
	LOGIN_OK,
	LOGIN_FAILED,    /* unknown user, wrong password, disabled */
	LOGIN_TEMPFAIL,  /* the directory could not be asked */
	LOGIN_REMOTE,    /* the mailbox lives on another store */
	LOGIN_DELAY,     /* LOGIN-DELAY not over */
	LOGIN_IN_USE,    /* another session holds the maildrop */
	LOGIN_STORE,     /* the maildrop could not be opened */
};

struct pop3_login_job {
	struct pop3_session *s;
	struct pop3_server *srv;
	char *user;
	char *password;
	const char *mech;
	/* results */
	enum login_result result;
	char error[256];
	char address[POP3_USER_MAX];
	struct pop3_maildrop *md;
};

static void job_free(struct pop3_login_job *j)
{
	if (j->password != NULL) {
		explicit_bzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j->user);
	pop3_maildrop_free(&j->md);
	free(j);
}

static void login_work(void *ctx)
{
	struct pop3_login_job *j = ctx;
	struct pop3_server *srv = j->srv;
	struct pool *pool = pool_create("pop3-login", 1024);
	struct dir_user *u = NULL;
	const char *err = "";
	enum dir_auth_result ar = dir_authenticate(srv->dir, pool, j->user, j->password, &u, &err);
	explicit_bzero(j->password, strlen(j->password));
	if (ar != DIR_AUTH_OK) {
		j->result = ar == DIR_AUTH_TEMPFAIL ? LOGIN_TEMPFAIL : LOGIN_FAILED;
		str_copy(j->error, err != NULL ? err : "", sizeof(j->error));
		pool_destroy(&pool);
		return;
	}
	str_copy(j->address, u->address, sizeof(j->address));
	if (u->store != NULL) {
		/* the proxy's job: this node does not hold the mailbox */
		j->result = LOGIN_REMOTE;
		pool_destroy(&pool);
		return;
	}
	char key[POP3_USER_MAX + 16];
	uint64_t now = 0;
	if (srv->set.login_delay_ms > 0) {
		snprintf(key, sizeof(key), "pop3-login:%s", u->address);
		now = anvil_now_ms();
		if (anvil_until(srv->anvil, key, 0) > now) {
			j->result = LOGIN_DELAY;
			pool_destroy(&pool);
			return;
		}
	}
	switch (pop3_maildrop_open(srv->st, u->mailbox, &j->md, &err)) {
	case POP3_OPEN_OK:
		j->result = LOGIN_OK;
		if (srv->set.login_delay_ms > 0)
			anvil_set_until(srv->anvil, key, 0, now + srv->set.login_delay_ms);
		break;
	case POP3_OPEN_IN_USE:
		j->result = LOGIN_IN_USE;
		break;
	case POP3_OPEN_FAIL:
		j->result = LOGIN_STORE;
		str_copy(j->error, err, sizeof(j->error));
		break;
	}
	pool_destroy(&pool);
}

/* A failed login attempt on this connection; closes after
 * pop3.max_auth_failures. */
static void count_auth_failure(struct pop3_session *s)
{
	if (++s->auth_failures >= s->srv->set.max_auth_failures)
		pop3_session_close_with(s, "-ERR [AUTH] Too many failed logins, closing the connection");
}

static void login_done(void *ctx)
{
	struct pop3_login_job *j = ctx;
	struct pop3_session *s = j->s;
	struct pop3_server *srv = s->srv;
	s->busy = false;
	if (s->closed) {
		/* the client left: release the maildrop untouched */
		job_free(j);
		pop3_session_unref(&s);
		return;
	}
	const char *ip = conn_peer_ip(s->conn);
	const char *luser = log_str(j->user);
	switch (j->result) {
	case LOGIN_OK:
		auth_throttle_success(srv->throttle, ip, j->user);
		s->md = j->md;
		j->md = NULL;
		s->state = POP3_STATE_TRANSACTION;
		str_copy(s->address, j->address, sizeof(s->address));
		conn_set_idle_timeout(s->conn, srv->set.timeout_ms);
		log_info("pop3.login", "service=%s session=%s ip=%s user=%s mech=%s tls=%s messages=%zu bytes=%llu",
			 srv->name, s->id, ip, log_str(s->address), j->mech, s->tls ? "yes" : "no", s->md->n,
			 (unsigned long long)s->md->bytes);
		pop3_reply(s, "+OK Logged in, %zu messages (%llu octets)", s->md->n,
			   (unsigned long long)s->md->bytes);
		break;
	case LOGIN_FAILED:
		auth_throttle_failure(srv->throttle, ip, j->user);
		log_info("pop3.login_failed", "service=%s session=%s ip=%s user=%s mech=%s reason=credentials",
			 srv->name, s->id, ip, luser, j->mech);
		pop3_reply(s, "-ERR [AUTH] Authentication failed");
		count_auth_failure(s);
		break;
	case LOGIN_TEMPFAIL:
		log_error("pop3.login_failed", "service=%s session=%s ip=%s user=%s reason=directory error=%s",
			  srv->name, s->id, ip, luser, log_str(j->error));
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure, try again later");
		break;
	case LOGIN_REMOTE:
		auth_throttle_success(srv->throttle, ip, j->user);
		log_info("pop3.login_failed", "service=%s session=%s ip=%s user=%s reason=remote_store",
			 srv->name, s->id, ip, luser);
		pop3_reply(s, "-ERR [SYS/PERM] Your mailbox is not on this server");
		break;
	case LOGIN_DELAY:
		auth_throttle_success(srv->throttle, ip, j->user);
		log_info("pop3.login_failed", "service=%s session=%s ip=%s user=%s reason=login_delay",
			 srv->name, s->id, ip, luser);
		pop3_reply(s, "-ERR [LOGIN-DELAY] Too soon after the last login, try again later");
		break;
	case LOGIN_IN_USE:
		auth_throttle_success(srv->throttle, ip, j->user);
		log_info("pop3.login_failed", "service=%s session=%s ip=%s user=%s reason=in_use",
			 srv->name, s->id, ip, luser);
		pop3_reply(s, "-ERR [IN-USE] Mailbox is locked by another POP3 session");
		break;
	case LOGIN_STORE:
		log_error("pop3.login_failed", "service=%s session=%s ip=%s user=%s reason=store error=%s",
			  srv->name, s->id, ip, luser, log_str(j->error));
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox, try again later");
		break;
	}
	job_free(j);
	pop3_session_resume(s);
	pop3_session_unref(&s);
}

static void submit(struct pop3_login_job *j)
{
	threadpool_submit(j->srv->tp, login_work, login_done, j);
}

static void delay_over(void *ctx)
{
	struct pop3_session *s = ctx;
	timer_remove(&s->timer);
	struct pop3_login_job *j = s->pending_login;
	s->pending_login = NULL;
	submit(j);
}

void pop3_auth_closed(struct pop3_session *s)
{
	/* the session's ref taken for the delayed login goes with it */
	struct pop3_login_job *j = s->pending_login;
	if (j == NULL)
		return;
	s->pending_login = NULL;
	timer_remove(&s->timer);
	s->busy = false;
	job_free(j);
	pop3_session_unref(&s);
}

/* Checks the throttle on the loop, then authenticates on the pool. */
static void login_start(struct pop3_session *s, const char *user, const char *password,
			const char *mech)
{
	struct pop3_server *srv = s->srv;
	const char *ip = conn_peer_ip(s->conn);
	uint64_t delay_ms = 0;
	if (auth_throttle_check(srv->throttle, ip, user, &delay_ms) == AUTH_THROTTLE_REFUSE) {
		log_info("pop3.login_failed", "service=%s session=%s ip=%s user=%s mech=%s reason=throttled",
			 srv->name, s->id, ip, log_str(user), mech);
		pop3_reply(s, "-ERR [SYS/TEMP] Too many failed logins, try again later");
		count_auth_failure(s);
		return;
	}
	struct pop3_login_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->srv = srv;
	j->user = xstrdup(user);
	j->password = xstrdup(password);
	j->mech = mech;
	s->busy = true;
	pop3_session_ref(s);
	if (delay_ms > 0) {
		/* earlier failures from this IP or for this user: answer late */
		s->pending_login = j;
		s->timer = timer_add(conn_loop(s->conn), delay_ms, false, delay_over, s);
		return;
	}
	submit(j);
}

static bool plaintext_check(struct pop3_session *s)
{
	if (pop3_plaintext_allowed(s))
		return true;
	pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections, use STLS");
	pop3_session_error(s);
	return false;
}

/* A login that cannot even be tried (a name too long for any user). */
static void login_refused(struct pop3_session *s, const char *mech)
{
	auth_throttle_failure(s->srv->throttle, conn_peer_ip(s->conn), "");
	log_info("pop3.login_failed", "service=%s session=%s ip=%s mech=%s reason=bad_name", s->srv->name, s->id,
		 conn_peer_ip(s->conn), mech);
	pop3_reply(s, "-ERR [AUTH] Authentication failed");
	count_auth_failure(s);
}

void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!plaintext_check(s))
		return;
	/* Never tells whether the user exists. */
	s->user_given = true;
	s->user_too_long = str_copy(s->user, cmd->arg, sizeof(s->user)) >= sizeof(s->user);
	pop3_reply(s, "+OK");
}

void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!s->user_given) {
		pop3_reply(s, "-ERR Give USER first");
		pop3_session_error(s);
		return;
	}
	s->user_given = false;
	if (!plaintext_check(s))
		return;
	if (s->user_too_long)
		login_refused(s, "USER");
	else
		login_start(s, s->user, cmd->arg, "USER");
}

void pop3_cmd_apop(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	/* APOP needs the plain password on the server; the directory keeps
	 * only crypt(3) hashes, so APOP is neither offered nor accepted. */
	pop3_reply(s, "-ERR APOP is not supported, use USER/PASS or AUTH over TLS");
	pop3_session_error(s);
}

/* Decodes a base64 SASL response holding text without NULs. */
static int decode_text(struct pop3_session *s, const char *b64, size_t len, char **out_r)
{
	size_t olen;
	if (len == 1 && b64[0] == '=') {
		/* RFC 5034 4: "=" is an empty initial response */
		*out_r = pool_strdup(s->cmd_pool, "");
		return 0;
	}
	if (sasl_base64_decode(s->cmd_pool, b64, len, out_r, &olen) < 0 || strlen(*out_r) != olen)
		return -1;
	return 0;
}

static void sasl_plain(struct pop3_session *s, const char *b64, size_t len)
{
	const char *user, *password, *err;
	if (len == 1 && b64[0] == '=')
		len = 0;
	if (sasl_plain_parse(s->cmd_pool, b64, len, &user, &password, &err) < 0) {
		pop3_reply(s, "-ERR [AUTH] Invalid PLAIN response");
		count_auth_failure(s);
		return;
	}
	if (strlen(user) >= POP3_USER_MAX) {
		login_refused(s, "PLAIN");
		return;
	}
	login_start(s, user, password, "PLAIN");
}

static void sasl_login_user(struct pop3_session *s, const char *b64, size_t len)
{
	char *user;
	if (decode_text(s, b64, len, &user) < 0) {
		s->sasl = POP3_SASL_NONE;
		pop3_reply(s, "-ERR [AUTH] Invalid base64 response");
		count_auth_failure(s);
		return;
	}
	s->user_too_long = str_copy(s->user, user, sizeof(s->user)) >= sizeof(s->user);
	s->sasl = POP3_SASL_LOGIN_PASS;
	pop3_reply(s, "+ " SASL_LOGIN_CHALLENGE_PASS);
}

void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->arg == NULL) {
		/* the pre-RFC 5034 listing that Outlook and others still ask for */
		pop3_reply(s, "+OK\r\nPLAIN\r\nLOGIN\r\n.");
		return;
	}
	enum sasl_mech mech = sasl_mech_parse(cmd->arg);
	if (mech == SASL_MECH_UNKNOWN) {
		pop3_reply(s, "-ERR Unsupported authentication mechanism");
		pop3_session_error(s);
		return;
	}
	if (!plaintext_check(s))
		return;
	s->user_given = false;
	s->mech = mech;
	if (mech == SASL_MECH_PLAIN) {
		if (cmd->arg2 != NULL) {
			sasl_plain(s, cmd->arg2, strlen(cmd->arg2));
		} else {
			s->sasl = POP3_SASL_PLAIN;
			pop3_reply(s, "+ ");
		}
		return;
	}
	if (cmd->arg2 != NULL) {
		sasl_login_user(s, cmd->arg2, strlen(cmd->arg2));
	} else {
		s->sasl = POP3_SASL_LOGIN_USER;
		pop3_reply(s, "+ " SASL_LOGIN_CHALLENGE_USER);
	}
}

void pop3_sasl_input(struct pop3_session *s, const char *line, size_t len)
{
	enum pop3_sasl_step step = s->sasl;
	if (sasl_is_cancel(line, len)) {
		s->sasl = POP3_SASL_NONE;
		pop3_reply(s, "-ERR Authentication cancelled");
		return;
	}
	switch (step) {
	case POP3_SASL_PLAIN:
		s->sasl = POP3_SASL_NONE;
		sasl_plain(s, line, len);
		break;
	case POP3_SASL_LOGIN_USER:
		sasl_login_user(s, line, len);
		break;
	case POP3_SASL_LOGIN_PASS: {
		s->sasl = POP3_SASL_NONE;
		char *password;
		if (decode_text(s, line, len, &password) < 0) {
			pop3_reply(s, "-ERR [AUTH] Invalid base64 response");
			count_auth_failure(s);
			break;
		}
		if (s->user_too_long)
			login_refused(s, "LOGIN");
		else
			login_start(s, s->user, password, "LOGIN");
		explicit_bzero(password, strlen(password));
		break;
	}
	case POP3_SASL_NONE:
		break;
	}
}

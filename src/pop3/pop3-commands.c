/* CAPA, STLS and the TRANSACTION state: STAT, LIST, UIDL, DELE, NOOP,
 * RSET, and QUIT with its UPDATE.  RETR and TOP: pop3-retr.c. */

#include "pop3-private.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* CAPA and STLS                                                       */

void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_server *srv = s->srv;
	bool auth = s->state == POP3_STATE_AUTHORIZATION;
	struct buf b;
	(void)cmd;
	buf_init(&b, 0);
	buf_append_str(&b, "+OK Capability list follows\r\n"
			   "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
			   "IMPLEMENTATION ombu\r\n");
	if (auth && pop3_plaintext_allowed(s))
		buf_append_str(&b, "USER\r\nSASL PLAIN LOGIN\r\n");
	if (auth && srv->tls != NULL && !s->tls)
		buf_append_str(&b, "STLS\r\n");
	if (srv->set.expire[0] != '\0')
		buf_printf(&b, "EXPIRE %s\r\n", srv->set.expire);
	if (srv->set.login_delay_ms > 0)
		buf_printf(&b, "LOGIN-DELAY %llu\r\n",
			   (unsigned long long)((srv->set.login_delay_ms + 999) / 1000));
	buf_append_str(&b, ".\r\n");
	if (!s->closed)
		conn_write(s->conn, b.data, b.len);
	buf_free(&b);
}

void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	if (s->tls) {
		pop3_reply(s, "-ERR TLS is already active");
		pop3_session_error(s);
		return;
	}
	if (s->srv->tls == NULL) {
		pop3_reply(s, "-ERR STLS is not available");
		pop3_session_error(s);
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	/* RFC 2595 4: whatever the client sent after STLS is not trusted:
	 * conn_starttls() drops the conn's input, and we drop ours. */
	if (pop3_line_reader_pending(s->reader) || conn_input_len(s->conn) > 0)
		log_info("pop3.stls_injection", "service=%s session=%s ip=%s bytes=%zu", s->srv->name, s->id,
			 conn_peer_ip(s->conn), conn_input_len(s->conn));
	pop3_line_reader_reset(s->reader);
	conn_starttls(s->conn, s->srv->tls);
	s->tls = true;
	s->user_given = false;
}

/* ------------------------------------------------------------------ */
/* Listing                                                             */

static struct pop3_msg *msg_arg(struct pop3_session *s, uint64_t n)
{
	struct pop3_msg *m = pop3_maildrop_get(s->md, n);
	if (m == NULL) {
		pop3_reply(s, "-ERR No such message, only %zu in the maildrop", s->md->n);
		return NULL;
	}
	if (m->deleted) {
		pop3_reply(s, "-ERR Message %llu is deleted", (unsigned long long)n);
		return NULL;
	}
	return m;
}

void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_maildrop *md = s->md;
	(void)cmd;
	pop3_reply(s, "+OK %zu %llu", md->n - md->n_deleted,
		   (unsigned long long)(md->bytes - md->deleted_bytes));
}

/* LIST and UIDL: one line for a message, or the whole listing. */
static void listing(struct pop3_session *s, const struct pop3_command *cmd, bool uidl)
{
	struct pop3_maildrop *md = s->md;
	if (cmd->has_msg) {
		struct pop3_msg *m = msg_arg(s, cmd->msg);
		if (m == NULL)
			return;
		if (uidl)
			pop3_reply(s, "+OK %llu %s", (unsigned long long)cmd->msg, m->uidl);
		else
			pop3_reply(s, "+OK %llu %llu", (unsigned long long)cmd->msg, (unsigned long long)m->size);
		return;
	}
	struct buf b;
	buf_init(&b, 0);
	if (uidl)
		buf_append_str(&b, "+OK Unique-ID listing follows\r\n");
	else
		buf_printf(&b, "+OK %zu messages (%llu octets)\r\n", md->n - md->n_deleted,
			   (unsigned long long)(md->bytes - md->deleted_bytes));
	for (size_t i = 0; i < md->n; i++) {
		const struct pop3_msg *m = &md->msgs[i];
		if (m->deleted)
			continue;
		if (uidl)
			buf_printf(&b, "%zu %s\r\n", i + 1, m->uidl);
		else
			buf_printf(&b, "%zu %llu\r\n", i + 1, (unsigned long long)m->size);
	}
	buf_append_str(&b, ".\r\n");
	if (!s->closed)
		conn_write(s->conn, b.data, b.len);
	buf_free(&b);
}

void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	listing(s, cmd, false);
}

void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd)
{
	listing(s, cmd, true);
}

/* ------------------------------------------------------------------ */
/* DELE, NOOP, RSET                                                    */

void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m = msg_arg(s, cmd->msg);
	if (m == NULL)
		return;
	/* only marked: the store changes at QUIT, in UPDATE */
	m->deleted = true;
	s->md->n_deleted++;
	s->md->deleted_bytes += m->size;
	s->n_dele++;
	pop3_reply(s, "+OK Message %llu deleted", (unsigned long long)cmd->msg);
}

void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	pop3_reply(s, "+OK");
}

void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_maildrop *md = s->md;
	(void)cmd;
	for (size_t i = 0; i < md->n; i++)
		md->msgs[i].deleted = false;
	md->n_deleted = 0;
	md->deleted_bytes = 0;
	pop3_reply(s, "+OK Maildrop has %zu messages (%llu octets)", md->n, (unsigned long long)md->bytes);
}

/* ------------------------------------------------------------------ */
/* QUIT and UPDATE                                                     */

struct update_job {
	struct pop3_session *s;
	struct store *st;
	struct pop3_maildrop *md;
	int result;
	char error[256];
};

static void update_work(void *ctx)
{
	struct update_job *j = ctx;
	const char *err = "";
	j->result = pop3_maildrop_update(j->st, j->md, &err);
	if (j->result < 0)
		str_copy(j->error, err, sizeof(j->error));
}

static void update_done(void *ctx)
{
	struct update_job *j = ctx;
	struct pop3_session *s = j->s;
	size_t n = s->md->n_deleted;
	s->busy = false;
	if (j->result < 0) {
		log_error("pop3.update_failed", "service=%s session=%s user=%s error=%s", s->srv->name, s->id,
			  log_str(s->address), log_str(j->error));
	} else {
		log_info("pop3.update", "service=%s session=%s user=%s expunged=%zu", s->srv->name, s->id,
			 log_str(s->address), n);
		/* committed: the session's marks are spent, whatever happens
		 * to the connection now */
		s->md->n_deleted = 0;
	}
	/* the lock goes before the reply, so that a client that reconnects
	 * at once does not find its own maildrop in use */
	pop3_maildrop_free(&s->md);
	if (!s->closed) {
		if (j->result < 0)
			pop3_session_close_with(s, "-ERR [SYS/TEMP] Deleted messages were not removed, try again later");
		else
			pop3_session_close_with(s, "+OK Bye, %zu messages deleted", n);
	}
	free(j);
	pop3_session_unref(&s);
}

void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	if (s->state != POP3_STATE_TRANSACTION || s->md->n_deleted == 0) {
		pop3_maildrop_free(&s->md);
		pop3_session_close_with(s, "+OK Bye");
		return;
	}
	/* UPDATE: every marked message goes in one store transaction, and
	 * +OK is sent only once it is committed */
	struct update_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->st = s->srv->st;
	j->md = s->md;
	s->busy = true;
	s->updating = true;
	pop3_session_ref(s);
	threadpool_submit(s->srv->tp, update_work, update_done, j);
}

#ifndef OMBU_SMTP_SERVER_H
#define OMBU_SMTP_SERVER_H

/*
 * The SMTP server engine shared by the mx, submission and lmtp roles:
 * connection handling, pipelined command reading, the command state
 * machine, DATA and BDAT, STARTTLS, limits, error counting, timeouts and
 * replies.  A role supplies callbacks for what differs (who may connect,
 * which senders and recipients are accepted, what happens to a message).
 *
 * Every callback may answer later (after a thread-pool job): the engine
 * processes nothing further for that session until the role calls the
 * matching smtp_session_* reply function.  Replies may be given from the
 * callback itself too.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "proto/smtp-proto.h"

struct conn;
struct ioloop;
struct pool;
struct tls_ctx;
struct smtp_server;
struct smtp_session;

struct smtp_server_settings {
	enum smtp_protocol protocol;
	const char *name;            /* role name for logs: "mx", "lmtp" */
	const char *hostname;        /* in the greeting and EHLO reply */
	size_t max_command_line;     /* bytes including CRLF */
	size_t max_text_line;        /* DATA line limit including CRLF; 0 = none */
	uint64_t max_message_size;   /* advertised with SIZE and enforced */
	unsigned max_recipients;
	unsigned max_transactions;   /* MAIL commands per session; 0 = no limit */
	unsigned max_errors;         /* then 421 and disconnect */
	uint64_t timeout_ms;         /* idle time allowed between commands and in DATA */
	uint64_t greet_delay_ms;     /* wait before the greeting; talking first = pregreet */
	unsigned caps;               /* SMTP_CAP_* to advertise */
	unsigned parse_flags;        /* SMTP_PARSE_* */
	bool enhanced_codes;         /* ENHANCEDSTATUSCODES */
	struct tls_ctx *tls;         /* STARTTLS when not NULL */
	bool tls_required;           /* MAIL refused before STARTTLS */
	bool require_helo;           /* MAIL refused before HELO/EHLO (always for LMTP) */
};

struct smtp_recipient {
	struct smtp_address addr;
	struct smtp_params params;
	const char *address;         /* "local@domain" as written, for logs */
	void *ctx;                   /* the role's data (a resolved user, say) */
	/* LMTP: the reply given at the end of DATA */
	unsigned data_code;
};

struct smtp_transaction {
	struct pool *pool;           /* freed at RSET, MAIL after DATA, close */
	const char *id;              /* for logs and Received: headers */
	struct smtp_address mail_from;
	struct smtp_params mail_params;
	struct smtp_recipient *rcpts; /* accepted ones only */
	size_t n_rcpts;
	unsigned rcpts_refused;
	struct buf body;             /* the message as received (CRLF lines) */
	unsigned data_flags;         /* SMTP_DATA_F_* seen */
	bool bdat;
	void *ctx;                   /* the role's */
};

struct smtp_server_callbacks {
	/* A new connection, before the greeting.  Answer with
	 * smtp_session_greet() or smtp_session_refuse(). */
	void (*connect)(struct smtp_session *s);
	/* MAIL FROM (syntax checked; the transaction exists).  Answer with
	 * smtp_session_reply(); a 2xx starts the transaction. */
	void (*mail)(struct smtp_session *s, struct smtp_transaction *t);
	/* RCPT TO: answer with smtp_session_rcpt_accept() (2xx, the
	 * recipient is kept with its ctx) or smtp_session_reply() (refused). */
	void (*rcpt)(struct smtp_session *s, struct smtp_transaction *t,
		     struct smtp_recipient *r);
	/* The whole message is in t->body and passed the engine's checks.
	 * SMTP: answer with smtp_session_reply().  LMTP: answer each
	 * recipient with smtp_session_data_reply() (in order), then call
	 * smtp_session_data_done(). */
	void (*data)(struct smtp_session *s, struct smtp_transaction *t);
	/* The transaction is abandoned (RSET, a new HELO, STARTTLS, close). */
	void (*reset)(struct smtp_session *s, struct smtp_transaction *t);
	/* An unknown recipient or similar counted as a bad one (the MX's
	 * dictionary-attack defence hooks in here); optional. */
	void (*disconnect)(struct smtp_session *s);
};

struct smtp_server *smtp_server_create(struct ioloop *loop, const struct smtp_server_settings *set,
				       const struct smtp_server_callbacks *cb, void *ctx);
/* Closes every session immediately. */
void smtp_server_destroy(struct smtp_server **srv);
void *smtp_server_ctx(struct smtp_server *srv);
/* Takes an accepted connection. */
void smtp_server_accept(struct smtp_server *srv, struct conn *c);
/* Graceful stop: idle sessions get 421 now, busy ones after their
 * current transaction. */
void smtp_server_stop(struct smtp_server *srv);
size_t smtp_server_sessions(const struct smtp_server *srv);

/* --- answering --- */

void smtp_session_greet(struct smtp_session *s);
/* Greets after delay_ms; a client that talks before is refused (pregreet). */
void smtp_session_greet_after(struct smtp_session *s, uint64_t delay_ms);
/* Refuses the connection with this reply (a 4xx or 5xx) and closes. */
void smtp_session_refuse(struct smtp_session *s, unsigned code, const char *enhanced,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void smtp_session_reply(struct smtp_session *s, unsigned code, const char *enhanced,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void smtp_session_rcpt_accept(struct smtp_session *s, void *rcpt_ctx);
void smtp_session_data_reply(struct smtp_session *s, size_t rcpt_index, unsigned code,
			     const char *enhanced, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void smtp_session_data_done(struct smtp_session *s);
/* Replies 421 and closes once the reply is written. */
void smtp_session_disconnect(struct smtp_session *s, const char *enhanced, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Counts one error (as a refused command does); may disconnect. */
void smtp_session_count_error(struct smtp_session *s);

/* --- about the session --- */

struct conn *smtp_session_conn(struct smtp_session *s);
struct smtp_server *smtp_session_server(struct smtp_session *s);
const char *smtp_session_id(const struct smtp_session *s);
const char *smtp_session_peer_ip(const struct smtp_session *s);
const char *smtp_session_helo(const struct smtp_session *s);
bool smtp_session_esmtp(const struct smtp_session *s);
bool smtp_session_tls(const struct smtp_session *s);
void smtp_session_set_ctx(struct smtp_session *s, void *ctx);
void *smtp_session_ctx(const struct smtp_session *s);
struct pool *smtp_session_pool(struct smtp_session *s);
/* Keeps the session object alive across an asynchronous job even if the
 * connection closes meanwhile; every ref needs an unref. */
void smtp_session_ref(struct smtp_session *s);
void smtp_session_unref(struct smtp_session **s);
/* True once the connection is gone (replies are then dropped). */
bool smtp_session_closed(const struct smtp_session *s);

#endif

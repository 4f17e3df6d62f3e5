#ifndef OMBU_POP3_PRIVATE_H
#define OMBU_POP3_PRIVATE_H

/*
 * Internals of the POP3 role, shared by its files:
 *
 *   pop3.c           the service, sessions, the input loop, the command table
 *   pop3-auth.c      USER/PASS, AUTH PLAIN/LOGIN, throttling, the login job
 *   pop3-commands.c  CAPA, STLS and the TRANSACTION commands but RETR/TOP
 *   pop3-retr.c      RETR and TOP: batched reads, read-ahead, streaming
 *   pop3-maildrop.c  the snapshot of INBOX, UIDLs, the lock, the UPDATE
 *
 * Threads: a session lives on its worker's loop.  Everything that may
 * block (the directory, the store) runs as a thread-pool job holding a
 * reference on the session; while a job (or a throttle delay, or a
 * streamed RETR) is in flight the session reads no further command, so
 * pipelined commands are answered in order.
 */

#include "pop3.h"
#include "proto/pop3-proto.h"
#include "proto/sasl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct anvil;
struct auth_throttle;
struct conn;
struct directory;
struct pool;
struct pop3_login_job;
struct store;
struct threadpool;
struct timer;
struct tls_ctx;

/* Output above this stops the session from reading commands or pumping
 * a message until the client has read some of it. */
#define POP3_OUTPUT_HIGH (256 * 1024)
/* The low-water mark that wakes a stopped session up again. */
#define POP3_OUTPUT_LOWAT (64 * 1024)
/* Bytes of a message stuffed into the output per step. */
#define POP3_STREAM_CHUNK (64 * 1024)
/* Longest user name kept from USER or AUTH (the directory's limit is
 * 320; a longer name is kept as "too long" and fails). */
#define POP3_USER_MAX 400

struct pop3_settings {
	size_t max_line;
	unsigned max_errors;
	unsigned max_auth_failures;
	unsigned max_connections_per_ip;
	uint64_t login_timeout_ms;
	uint64_t timeout_ms;
	uint64_t login_delay_ms;
	uint64_t readahead;          /* bytes read per batch for RETR/TOP */
	const char *expire;          /* "" = not advertised */
	bool plaintext_without_tls;
};

/* One service (pop3 or pop3s) in one worker. */
struct pop3_server {
	const char *name;
	struct worker *w;
	struct directory *dir;
	struct store *st;
	struct threadpool *tp;
	struct auth_throttle *throttle;
	struct anvil *anvil;
	struct tls_ctx *tls;         /* NULL: no STLS */
	struct pop3_settings set;
	struct pop3_session *sessions;
	size_t n_sessions;
	bool stopping;
	char hostname[256];
};

/* A message of the snapshot taken at login. */
struct pop3_msg {
	uint32_t uid;
	bool deleted;
	uint64_t size;               /* octets as stored (CRLF) */
	const char *uidl;
	const char *blob;
	bool blob_file;
	const void *prefix;
	size_t prefix_len;
};

/* The maildrop of a logged-in session: INBOX as it was at login, and
 * the exclusive lock that keeps a second POP3 session out. */
struct pop3_maildrop {
	struct pool *pool;
	char *owner;                 /* mailbox path in the store */
	int64_t folder_id;
	uint32_t uidvalidity;
	struct pop3_msg *msgs;
	size_t n;
	uint64_t bytes;
	size_t n_deleted;
	uint64_t deleted_bytes;
	int lock_fd;
};

enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_CLOSING,          /* the last reply is written; closing */
};

enum pop3_sasl_step {
	POP3_SASL_NONE,
	POP3_SASL_PLAIN,             /* waiting for the PLAIN response */
	POP3_SASL_LOGIN_USER,
	POP3_SASL_LOGIN_PASS,
};

/* A RETR or TOP being written out as the client reads it. */
struct pop3_stream {
	char *data;
	size_t len, pos;
	struct pop3_stuffer st;
	bool top;
};

/* Messages read ahead of the client's RETR/TOP (pop3-retr.c). */
struct pop3_cached {
	uint64_t n;
	char *data;
	size_t len;
};

struct pop3_readahead {
	struct pop3_cached *items;   /* in message order */
	size_t count;
	uint64_t bytes;
	bool in_flight;              /* a batch is being read */
	uint64_t first, last;        /* its message numbers */
	uint64_t next;               /* where the next batch starts (0: none yet) */
	unsigned gen;                /* batches of older generations are dropped */
	/* a RETR or TOP waiting for the batch */
	bool waiting, wait_top;
	uint64_t wait_n, wait_lines;
};

struct pop3_session {
	struct pop3_session *prev, *next;
	struct pop3_server *srv;
	struct conn *conn;
	struct pool *pool;           /* the session's */
	struct pool *cmd_pool;       /* cleared after every command */
	struct pop3_line_reader *reader;
	unsigned refs;
	bool closed;                 /* the conn is gone */
	bool linked;
	bool busy;                   /* a job or a delay is in flight */
	bool counted;                /* anvil_connect() done */
	bool tls;
	bool quit_after;             /* the worker stops: close once idle */
	bool user_given, user_too_long;
	bool updating;               /* QUIT's expunge is running */
	enum pop3_state state;
	enum pop3_sasl_step sasl;
	enum sasl_mech mech;
	unsigned errors, auth_failures;
	struct timer *timer;         /* a throttled login's delay */
	struct pop3_login_job *pending_login;
	struct pop3_maildrop *md;
	struct pop3_stream *stream;
	struct pop3_readahead ra;
	/* statistics for the disconnect line */
	unsigned n_retr, n_top, n_dele;
	uint64_t bytes_out;
	char user[POP3_USER_MAX];    /* from USER or AUTH LOGIN */
	char address[POP3_USER_MAX]; /* the logged-in user */
	char id[40];
	char key[80];                /* anvil key of the client IP */
};

/* pop3.c */
void pop3_session_ref(struct pop3_session *s);
void pop3_session_unref(struct pop3_session **s);
/* Continues with buffered commands after a job, a delay or a stream. */
void pop3_session_resume(struct pop3_session *s);
void pop3_reply(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes the reply, then closes once it is sent. */
void pop3_session_close_with(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Counts a protocol error; closes after pop3.max_errors. */
void pop3_session_error(struct pop3_session *s);
bool pop3_plaintext_allowed(const struct pop3_session *s);

/* pop3-auth.c */
void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_apop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd);
/* A line while a SASL exchange is under way. */
void pop3_sasl_input(struct pop3_session *s, const char *line, size_t len);
/* The connection is gone: drops a login waiting for its delay. */
void pop3_auth_closed(struct pop3_session *s);

/* pop3-commands.c */
void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd);

/* pop3-retr.c */
/* RETR and TOP. */
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd);
/* Writes more of the message being streamed, if the output has room. */
void pop3_stream_pump(struct pop3_session *s);
void pop3_stream_free(struct pop3_stream **st);
/* Frees what was read ahead. */
void pop3_readahead_free(struct pop3_session *s);

/* pop3-maildrop.c (the open and the update block: thread pool only) */
enum pop3_open_result {
	POP3_OPEN_OK,
	POP3_OPEN_IN_USE,            /* another session holds the lock */
	POP3_OPEN_FAIL,              /* temporary: disk, database */
};
enum pop3_open_result pop3_maildrop_open(struct store *st, const char *owner,
					 struct pop3_maildrop **md_r, const char **error_r);
/* Releases the lock and frees the snapshot (safe on the loop). */
void pop3_maildrop_free(struct pop3_maildrop **md);
/* The derived UIDL of a message without a kept one:
 * "ombu.<UIDVALIDITY>.<UID>", decimal. */
void pop3_uidl_derive(char *dst, size_t size, uint32_t uidvalidity, uint32_t uid);
/* Gives every message its UIDL: the kept one when it is a valid RFC 1939
 * unique-id, is not already taken by an earlier message and cannot be
 * mistaken for a derived one; else the derived one.  (Exposed for tests.) */
void pop3_maildrop_assign_uidls(struct pop3_maildrop *md, const char *const *kept);
/* Expunges the messages marked deleted in one store transaction. */
int pop3_maildrop_update(struct store *st, struct pop3_maildrop *md, const char **error_r);
/* The message numbered n (1-based), or NULL. */
struct pop3_msg *pop3_maildrop_get(struct pop3_maildrop *md, uint64_t n);

#endif

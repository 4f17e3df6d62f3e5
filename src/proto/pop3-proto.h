#ifndef OMBU_POP3_PROTO_H
#define OMBU_POP3_PROTO_H

/*
 * The pure POP3 codec (RFC 1939, 2449, 5034): the pipelining line
 * reader, the command parser and the multi-line response encoder that
 * dot-stuffs a message (RETR) or its head (TOP).  No sockets, no I/O, no
 * global state.  Whatever a parser returns is allocated from the pool the
 * caller passes, or points into the line the caller handed in.
 *
 * Conventions: one-shot parsers return 0 / -1 with an error id; the
 * line reader returns 1 (a line), 0 (need more input) or -1 (a line
 * was refused).  The decision for a line never depends on how the input
 * was chunked.
 *
 * Policy is the server's: which commands a state allows, whether USER
 * and PASS are allowed before TLS, and what a message number means.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pool;

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

enum pop3_verb {
	POP3_VERB_UNKNOWN = 0,
	POP3_VERB_USER,  /* USER name */
	POP3_VERB_PASS,  /* PASS the rest of the line (may hold spaces) */
	POP3_VERB_APOP,  /* APOP name digest */
	POP3_VERB_AUTH,  /* AUTH [mechanism [initial-response]] */
	POP3_VERB_STLS,
	POP3_VERB_CAPA,
	POP3_VERB_STAT,
	POP3_VERB_LIST,  /* LIST [msg] */
	POP3_VERB_RETR,  /* RETR msg */
	POP3_VERB_DELE,  /* DELE msg */
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_QUIT,
	POP3_VERB_TOP,   /* TOP msg n */
	POP3_VERB_UIDL,  /* UIDL [msg] */
	POP3_VERB_COUNT
};

enum pop3_error {
	POP3_ERROR_NONE = 0,
	POP3_ERROR_LINE_TOO_LONG, /* the reader: over the line limit */
	POP3_ERROR_CONTROL,       /* NUL, a bare CR or another control byte */
	POP3_ERROR_EMPTY,         /* an empty line */
	POP3_ERROR_UNKNOWN,       /* not a POP3 keyword */
	POP3_ERROR_ARGS_MISSING,  /* "RETR" */
	POP3_ERROR_ARGS_EXTRA,    /* "STAT 1" */
	POP3_ERROR_NUMBER,        /* "RETR x", "TOP 1 -1", "LIST 99999999999999999999" */
	POP3_ERROR_COUNT
};

/* A one-line text for the -ERR reply (never holds peer bytes). */
const char *pop3_error_text(enum pop3_error err);
/* A short name for logs ("line_too_long"). */
const char *pop3_error_name(enum pop3_error err);

struct pop3_command {
	enum pop3_verb verb;
	/* USER/APOP: the name; PASS: everything after "PASS "; AUTH: the
	 * mechanism (NULL: none given).  NUL-terminated, in the pool. */
	const char *arg;
	/* AUTH: the initial response ("=" for an empty one), APOP: the
	 * digest; else NULL. */
	const char *arg2;
	/* LIST/UIDL with an argument, RETR, DELE, TOP: the message number
	 * as sent (0 and numbers past the maildrop are the server's to
	 * refuse). */
	bool has_msg;
	uint64_t msg;
	/* TOP: the number of body lines. */
	uint64_t lines;
};

/* The keyword of a verb ("RETR"); "" for UNKNOWN. */
const char *pop3_verb_name(enum pop3_verb verb);

/* Parses one command line (without its line end).  Keywords are
 * case-insensitive; arguments are separated by one or more spaces and
 * trailing spaces are ignored, except for PASS, whose argument is the
 * rest of the line after one space (a password may hold spaces).  On
 * error returns -1 with *err_r and cmd_r->verb set to the verb when it
 * was recognised (for logs and error counting). */
int pop3_command_parse(struct pool *pool, const unsigned char *line, size_t len,
		       struct pop3_command *cmd_r, enum pop3_error *err_r);

/* ------------------------------------------------------------------ */
/* The line reader                                                     */
/* ------------------------------------------------------------------ */

struct pop3_line_reader;

/* max_line: the longest line accepted, counting its CRLF. */
struct pop3_line_reader *pop3_line_reader_create(struct pool *pool, size_t max_line);
/* Consumes input up to and including the next line end (LF, or CRLF).
 * Returns 1 with the line (line end stripped; valid until the next call)
 * and *consumed_r; 0 when all of data was consumed and the line is not
 * complete yet; -1 (POP3_ERROR_LINE_TOO_LONG) as soon as the line passes
 * max_line: the rest of it, up to its LF, is then skipped. */
int pop3_line_reader_read(struct pop3_line_reader *r, const void *data, size_t len,
			  size_t *consumed_r, const unsigned char **line_r, size_t *len_r,
			  enum pop3_error *err_r);
/* True when part of a line is buffered (or being skipped). */
bool pop3_line_reader_pending(const struct pop3_line_reader *r);
/* Forgets buffered input (STLS: nothing sent before the handshake counts). */
void pop3_line_reader_reset(struct pop3_line_reader *r);

/* ------------------------------------------------------------------ */
/* Multi-line responses: dot-stuffing                                  */
/* ------------------------------------------------------------------ */

typedef void pop3_write_fn(void *ctx, const void *data, size_t len);

/*
 * Encodes a message as the body of a multi-line response: every line
 * that starts with "." gets one more "." in front (RFC 1939 3); every
 * other byte passes through unchanged, so what a client un-stuffs is
 * byte for byte what the store holds.  A line ends at LF.
 *
 * With TOP, output stops after the header, the empty line that ends it
 * and `body_lines` lines of the body (a message without an empty line is
 * all header).  Output is written through the callback in as few pieces
 * as the dots allow, so that a large message is never copied twice.
 */
struct pop3_stuffer {
	bool top;            /* stop after the header and body_lines */
	bool in_body, done;
	bool bol;            /* the next byte starts a line */
	uint64_t lines_left; /* TOP: body lines still to send */
	uint8_t col;         /* bytes of the current line so far (saturating) */
	uint8_t last[2];     /* the last two bytes consumed, last[1] the latest */
	uint64_t consumed;   /* message bytes consumed */
	uint64_t written;    /* bytes written, dots and terminator included */
};

void pop3_stuffer_init(struct pop3_stuffer *s, bool top, uint64_t body_lines);
/* Feeds message bytes; returns how many were consumed: all of them,
 * unless TOP's limit was reached (then pop3_stuffer_done() is true and
 * the rest is to be dropped). */
size_t pop3_stuffer_feed(struct pop3_stuffer *s, const void *data, size_t len,
			 pop3_write_fn *out, void *ctx);
bool pop3_stuffer_done(const struct pop3_stuffer *s);
/* Ends the response: a CRLF when the output so far does not end with one
 * (so that the terminator is always "CRLF.CRLF"), then ".\r\n". */
void pop3_stuffer_finish(struct pop3_stuffer *s, pop3_write_fn *out, void *ctx);

/* ------------------------------------------------------------------ */
/* Unique ids                                                          */
/* ------------------------------------------------------------------ */

/* RFC 1939 7: 1 to 70 characters in 0x21..0x7E. */
#define POP3_UIDL_MAX 70
bool pop3_uidl_valid(const char *s, size_t len);

#endif

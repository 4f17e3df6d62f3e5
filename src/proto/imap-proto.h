#ifndef OMBU_IMAP_PROTO_H
#define OMBU_IMAP_PROTO_H

/*
 * The IMAP codec (RFC 3501, RFC 9051 and the extensions ombu speaks):
 * the command parser, sequence sets, dates, mailbox-name encoding
 * (modified UTF-7) and the string forms of responses.  Pure: bytes in,
 * structures out, no I/O, memory from the caller's pool.
 *
 * The command parser is resumable: feed it any number of bytes (one at
 * a time works) and it says "more", "a literal is announced", "a
 * command is complete" or "syntax error".  It knows nothing of what
 * commands mean; the server checks the arguments against its table.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct pool;

/* --- arguments --- */

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* includes NIL, sequence sets, flags, BODY[...]<..> */
	IMAP_ARG_STRING,  /* "quoted" */
	IMAP_ARG_LITERAL, /* {n} {n+} or ~{n} (literal8) */
	IMAP_ARG_LIST,    /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	bool literal8;       /* ~{n}: may hold NUL bytes */
	unsigned int count;  /* LIST: items */
	size_t len;          /* ATOM/STRING/LITERAL: bytes (NUL-terminated too) */
	const char *str;
	struct imap_arg *list;
};

/* True for an atom (not a quoted string) equal to s, case-insensitively. */
bool imap_arg_atom_is(const struct imap_arg *arg, const char *s);
/* Atom NIL. */
bool imap_arg_is_nil(const struct imap_arg *arg);
/* astring: atom, quoted or literal (not a list); *s_r NUL-terminated. */
bool imap_arg_astring(const struct imap_arg *arg, const char **s_r);
/* string: quoted or literal only. */
bool imap_arg_string(const struct imap_arg *arg, const char **s_r);
/* True when the string holds a NUL byte (literal8 content). */
bool imap_arg_has_nul(const struct imap_arg *arg);
/* Renders arguments back to text for logs and tests (lists parenthesised,
 * strings quoted, literals as {n}). */
void imap_args_write(struct buf *out, const struct imap_arg *args, unsigned int count);

/* --- command parser --- */

struct imap_parser_settings {
	size_t max_line;       /* bytes of one line, literals excluded */
	unsigned int max_depth; /* parenthesis nesting */
	unsigned int max_args;  /* arguments in one command, all levels */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,    /* everything consumed; feed more */
	IMAP_PARSE_LITERAL, /* a literal was announced: accept or refuse it */
	IMAP_PARSE_DONE,    /* a command is complete */
	IMAP_PARSE_ERROR,   /* syntax error; the command was consumed */
};

struct imap_command {
	const char *tag;     /* NULL when the line had no valid tag */
	const char *name;    /* upper-cased; NULL when missing */
	struct imap_arg *args;
	unsigned int count;
};

struct imap_parser;

/* The parser and everything it returns live in pool (a command's pool:
 * nothing to free one by one).  Zero settings take defaults. */
struct imap_parser *imap_parser_create(struct pool *pool, const struct imap_parser_settings *set);
/* Starts over for another command in the same pool (tests, fuzzing). */
void imap_parser_reset(struct imap_parser *p);
/* Consumes bytes up to a result; *consumed_r says how many. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
					size_t *consumed_r);
/* After IMAP_PARSE_LITERAL: its size, whether the client waits for a
 * continuation ("+"), and literal8. */
void imap_parser_literal(const struct imap_parser *p, uint64_t *size_r, bool *sync_r,
			 bool *literal8_r);
/* Reads the literal (the caller sends "+ ..." first for a synchronising
 * one). */
void imap_parser_literal_accept(struct imap_parser *p);
/* Refuses it: a synchronising literal ends the command now (the client
 * sends nothing more for it); a non-synchronising one is read and
 * dropped together with the rest of the command.  The next feed then
 * returns IMAP_PARSE_ERROR with `error` once the command is consumed
 * (at once for a synchronising literal). */
void imap_parser_literal_refuse(struct imap_parser *p, const char *error);
/* After IMAP_PARSE_DONE. */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* After IMAP_PARSE_ERROR: what was wrong, the tag if it was read, and
 * whether the session must end (a line over the limit: the stream can no
 * longer be trusted). */
const char *imap_parser_error(const struct imap_parser *p, bool *fatal_r);
const char *imap_parser_tag(const struct imap_parser *p);
/* The command name once it has been read (for literal limits), or NULL. */
const char *imap_parser_name(const struct imap_parser *p);
/* True when nothing of a command has been read yet. */
bool imap_parser_idle(const struct imap_parser *p);

/* --- sequence sets (RFC 9051 sequence-set; "*" is the largest) --- */

struct imap_range {
	uint32_t lo, hi;  /* lo <= hi */
};

struct imap_seqset {
	struct imap_range *r;
	unsigned int count;
};

/* "*" before imap_seqset_resolve() (0 is never a valid number) */
#define IMAP_SEQ_STAR 0

/* Parses "1,3:5,7:*" (numbers up to 4294967295); ranges are as written,
 * ends in either order, IMAP_SEQ_STAR for "*".  -1 on bad syntax (also
 * "0"). */
int imap_seqset_parse(struct pool *pool, const char *s, struct imap_seqset *set_r);
/* Replaces "*" with max (when max is 0, ranges with "*" are dropped),
 * orders each range's ends, and sorts and merges the ranges. */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t max);
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* Writes "1:3,5" from sorted, merged ranges. */
void imap_seqset_write(struct buf *out, const struct imap_range *r, unsigned int count);
/* Writes a sorted list of numbers compactly. */
void imap_numbers_write(struct buf *out, const uint32_t *n, size_t count);

/* --- dates --- */

/* date: "1-Feb-1994" or "01-Feb-1994" (quoted or not): midnight UTC of
 * that day in *t_r.  -1 when invalid. */
int imap_date_parse(const char *s, time_t *t_r);
/* date-time: "17-Jul-1996 02:44:25 -0700" -> UTC seconds and zone
 * minutes. */
int imap_datetime_parse(const char *s, time_t *t_r, int *tz_r);
/* Writes the quoted date-time of t in zone tz (minutes east). */
void imap_datetime_write(struct buf *out, time_t t, int tz);

/* --- mailbox names --- */

/* Modified UTF-7 (RFC 3501 5.1.3) to UTF-8; -1 when not valid mUTF-7
 * (also a needlessly encoded printable ASCII character). */
int imap_utf7_to_utf8(const char *in, struct buf *out);
/* UTF-8 to modified UTF-7; -1 when in is not valid UTF-8. */
int imap_utf8_to_utf7(const char *in, struct buf *out);
bool imap_utf8_valid(const char *s, size_t len);

/* --- response strings --- */

/* astring: an atom when possible, else quoted, else a literal. */
void imap_write_astring(struct buf *out, const char *s, size_t len);
/* string: quoted when possible (no CR/LF/NUL/8-bit unless utf8, at most
 * 1 KiB), else a literal. */
void imap_write_string(struct buf *out, const char *s, size_t len, bool utf8);
void imap_write_nstring(struct buf *out, const char *s, size_t len, bool utf8);
/* A literal header "{n}\r\n" (or "~{n}\r\n") followed by the data. */
void imap_write_literal(struct buf *out, const void *data, size_t len, bool literal8);

#endif

#ifndef OMBU_SMTP_PROTO_H
#define OMBU_SMTP_PROTO_H

/*
 * The pure SMTP/LMTP codec: command lines, addresses, ESMTP parameters,
 * the DATA/BDAT body stream and replies.  No sockets, no I/O, no global
 * state.  Everything a parser returns is allocated from the pool the
 * caller passes and lives as long as that pool; nothing is freed one by
 * one.  The SMTP server engine (mx, submission, lmtp) and the outbound
 * client sit on top of this.
 *
 * Conventions:
 *  - one-shot parsers return 0 on success, -1 on error;
 *  - streaming parsers return 1 done, 0 need more input, -1 error;
 *  - every error refusing something a peer sent comes as a struct
 *    smtp_error holding the exact reply to send (code, enhanced status
 *    code of RFC 3463 / RFC 5248, short text).  The text never holds
 *    bytes the peer sent except validated ESMTP keywords.
 *
 * Policy is not decided here: the codec parses, validates syntax and
 * reports what it saw (flags); whether a source route, an IP literal or
 * a bare LF in a message is refused is the engine's or the MX's call.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct pool;

/* ------------------------------------------------------------------ */
/* Errors: the reply for every refusal                                 */
/* ------------------------------------------------------------------ */

enum smtp_error_id {
	SMTP_ERROR_NONE = 0,
	/* The line itself: 500 5.5.2 */
	SMTP_ERROR_LINE_NUL,          /* NUL byte in a command line */
	SMTP_ERROR_LINE_BARE_CR,      /* CR not followed by LF */
	SMTP_ERROR_LINE_BARE_LF,      /* line ended by LF alone */
	SMTP_ERROR_LINE_8BIT,         /* 8-bit byte where not allowed, or bad UTF-8 */
	SMTP_ERROR_LINE_TOO_LONG,     /* over the command line limit */
	SMTP_ERROR_UNKNOWN_COMMAND,   /* 500 5.5.2 */
	SMTP_ERROR_WRONG_PROTOCOL,    /* 500 5.5.2: HELO in LMTP, LHLO in SMTP */
	/* Arguments: 501 5.5.4 */
	SMTP_ERROR_ARGS_NOT_ALLOWED,  /* "DATA x" */
	SMTP_ERROR_ARGS_REQUIRED,     /* "HELO" */
	SMTP_ERROR_SYNTAX,            /* "MAIL FRM:<>", junk after the path */
	SMTP_ERROR_SPACE_AFTER_COLON, /* "MAIL FROM: <a@b>" under SMTP_PARSE_STRICT */
	/* Addresses */
	SMTP_ERROR_BAD_SENDER,        /* 553 5.1.7 */
	SMTP_ERROR_BAD_RECIPIENT,     /* 553 5.1.3 */
	SMTP_ERROR_UTF8_ADDRESS,      /* 553 5.6.7: non-ASCII address without SMTPUTF8 */
	/* ESMTP parameters */
	SMTP_ERROR_PARAM_SYNTAX,      /* 501 5.5.4: bad keyword or value characters */
	SMTP_ERROR_PARAM_VALUE,       /* 501 5.5.4: "SIZE=abc", "ENVID=+4" */
	SMTP_ERROR_PARAM_UNKNOWN,     /* 555 5.5.4: unknown, not advertised, or wrong command */
	SMTP_ERROR_PARAM_DUPLICATE,   /* 555 5.5.4 */
	SMTP_ERROR_PARAM_UNSUPPORTED, /* 555 5.5.4: "BODY=9BIT", "RET=ALL" */
	/* Other commands */
	SMTP_ERROR_BDAT_SYNTAX,       /* 501 5.5.4 */
	SMTP_ERROR_AUTH_MECHANISM,    /* 504 5.5.4: not a SASL mechanism name */
	SMTP_ERROR_AUTH_BASE64,       /* 501 5.5.2: initial response not base64 */
	/* Message content (smtp_data_decoder_error) */
	SMTP_ERROR_DATA_TOO_BIG,      /* 552 5.3.4 */
	SMTP_ERROR_DATA_SMUGGLING,    /* 554 5.7.0: a "." line not framed by CRLF */
	SMTP_ERROR_DATA_BARE_LF,      /* 554 5.6.0 */
	SMTP_ERROR_DATA_BARE_CR,      /* 554 5.6.0 */
	SMTP_ERROR_DATA_NUL,          /* 554 5.6.0 */
	SMTP_ERROR_DATA_LONG_LINE,    /* 554 5.6.0 */
	SMTP_ERROR_DATA_SINK,         /* 451 4.3.0: the sink failed (disk) */
	SMTP_ERROR_COUNT
};

struct smtp_error {
	enum smtp_error_id id;
	unsigned code;         /* 500 */
	const char *enhanced;  /* "5.5.2" */
	const char *text;      /* "Unknown command"; static or from the pool */
};

/* Fills err with the standard reply for id (static text). */
void smtp_error_set(struct smtp_error *err, enum smtp_error_id id);
/* A short stable name for logs and tests ("param_duplicate"). */
const char *smtp_error_name(enum smtp_error_id id);

/* ------------------------------------------------------------------ */
/* Settings shared by the command parsers                              */
/* ------------------------------------------------------------------ */

enum smtp_protocol {
	SMTP_PROTOCOL_SMTP = 0,
	SMTP_PROTOCOL_LMTP,
};
#define SMTP_PROTOCOLS_ALL ((1u << SMTP_PROTOCOL_SMTP) | (1u << SMTP_PROTOCOL_LMTP))

/* Extensions the server advertised; an ESMTP parameter whose extension
 * is not in the set is refused as unknown (555 5.5.4). */
#define SMTP_CAP_SIZE       0x0001u /* RFC 1870 */
#define SMTP_CAP_8BITMIME   0x0002u /* RFC 6152: BODY=7BIT|8BITMIME */
#define SMTP_CAP_BINARYMIME 0x0004u /* RFC 3030: BODY=BINARYMIME */
#define SMTP_CAP_CHUNKING   0x0008u /* RFC 3030: BDAT */
#define SMTP_CAP_SMTPUTF8   0x0010u /* RFC 6531 */
#define SMTP_CAP_DSN        0x0020u /* RFC 3461: RET ENVID NOTIFY ORCPT */
#define SMTP_CAP_AUTH       0x0040u /* RFC 4954: AUTH= on MAIL */
#define SMTP_CAP_ALL        0x007fu

/* Leniencies and strictness; 0 is the default every role starts from. */
/* Refuse "MAIL FROM: <a@b>" (space after the colon); accepted and
 * flagged SMTP_COMMAND_F_SPACE_AFTER_COLON by default. */
#define SMTP_PARSE_STRICT             0x0001u
/* Accept "MAIL FROM:a@b" (flagged SMTP_ADDRESS_F_NO_BRACKETS). */
#define SMTP_PARSE_ALLOW_NO_BRACKETS  0x0002u
/* Accept dot-string local parts with leading, trailing or doubled dots
 * ("a..b@c"; flagged SMTP_ADDRESS_F_BAD_DOTS). */
#define SMTP_PARSE_ALLOW_BAD_LOCALPART 0x0004u
/* The transaction is SMTPUTF8 (MAIL had SMTPUTF8): UTF-8 addresses in
 * RCPT are accepted.  MAIL decides from its own parameters. */
#define SMTP_PARSE_UTF8               0x0008u
/* Command reader: accept lines ended by LF alone. */
#define SMTP_PARSE_ALLOW_BARE_LF      0x0010u

struct smtp_parse_settings {
	enum smtp_protocol protocol;
	unsigned caps;  /* SMTP_CAP_* */
	unsigned flags; /* SMTP_PARSE_* */
	/* Extra ESMTP keywords accepted with any syntactically valid value
	 * on MAIL and RCPT (NULL-terminated; NULL for none), for extensions
	 * the engine implements itself ("MT-PRIORITY"). */
	const char *const *extra_params;
};

/* ------------------------------------------------------------------ */
/* Addresses (smtp-address.c)                                          */
/* ------------------------------------------------------------------ */

/* What was seen in an address.  Syntax is valid whatever the flags say;
 * they exist so that the MX can refuse the relay tricks. */
#define SMTP_ADDRESS_F_NULL          0x00001u /* "<>" (or "<@>") */
#define SMTP_ADDRESS_F_AT_NULL       0x00002u /* "<@>", taken as null */
#define SMTP_ADDRESS_F_POSTMASTER    0x00004u /* "<Postmaster>" without domain */
#define SMTP_ADDRESS_F_SOURCE_ROUTE  0x00008u /* "<@a,@b:u@d>" (route dropped) */
#define SMTP_ADDRESS_F_QUOTED        0x00010u /* local part was a quoted-string */
#define SMTP_ADDRESS_F_NEEDS_QUOTES  0x00020u /* local part is not a dot-atom */
#define SMTP_ADDRESS_F_LOCAL_AT      0x00040u /* '@' in the local part */
#define SMTP_ADDRESS_F_LOCAL_PERCENT 0x00080u /* '%' in the local part */
#define SMTP_ADDRESS_F_LOCAL_BANG    0x00100u /* '!' in the local part */
#define SMTP_ADDRESS_F_BAD_DOTS      0x00200u /* "a..b", ".a", "a." unquoted */
#define SMTP_ADDRESS_F_LITERAL       0x00400u /* "[192.0.2.1]", "[IPv6:...]" */
#define SMTP_ADDRESS_F_TRAILING_DOT  0x00800u /* "example.com." */
#define SMTP_ADDRESS_F_DOTLESS       0x01000u /* "localhost" */
#define SMTP_ADDRESS_F_UTF8          0x02000u /* non-ASCII (valid UTF-8) */
#define SMTP_ADDRESS_F_NO_BRACKETS   0x04000u /* path without "<>" */
/* Flags that make an address "not plain": see smtp_address_is_plain(). */
#define SMTP_ADDRESS_F_NOT_PLAIN \
	(SMTP_ADDRESS_F_NULL | SMTP_ADDRESS_F_POSTMASTER | \
	 SMTP_ADDRESS_F_SOURCE_ROUTE | SMTP_ADDRESS_F_NEEDS_QUOTES | \
	 SMTP_ADDRESS_F_LOCAL_AT | SMTP_ADDRESS_F_LOCAL_PERCENT | \
	 SMTP_ADDRESS_F_LOCAL_BANG | SMTP_ADDRESS_F_BAD_DOTS | \
	 SMTP_ADDRESS_F_LITERAL | SMTP_ADDRESS_F_TRAILING_DOT | \
	 SMTP_ADDRESS_F_DOTLESS | SMTP_ADDRESS_F_NO_BRACKETS)

struct smtp_address {
	/* Unescaped local part (quotes and backslashes removed); "" for the
	 * null path.  May hold any byte a quoted-string allows. */
	const char *localpart;
	/* Domain as sent ("Example.COM.", "[192.0.2.1]"); NULL for the null
	 * path and "<Postmaster>". */
	const char *domain;
	/* The source route as sent ("@a,@b"), NULL when none. */
	const char *route;
	unsigned flags; /* SMTP_ADDRESS_F_* */
};

/* Parse flags for the address functions. */
#define SMTP_ADDRESS_PARSE_UTF8          0x01u /* allow UTF-8 (RFC 6531) */
#define SMTP_ADDRESS_PARSE_ALLOW_NULL    0x02u /* "<>" and "<@>" (MAIL) */
#define SMTP_ADDRESS_PARSE_POSTMASTER    0x04u /* "<Postmaster>" (RCPT) */
#define SMTP_ADDRESS_PARSE_NO_BRACKETS   0x08u /* accept a path without <> */
#define SMTP_ADDRESS_PARSE_BAD_LOCALPART 0x10u /* accept "a..b" */

/* Parses a path ("<local@domain>", "<@route:local@domain>", "<>"...)
 * at the start of data; *used_r is how many bytes it took (the path
 * ends at '>' or, without brackets, at SP or the end).  On error
 * returns -1 with *error_r a short reason ("Missing domain"). */
int smtp_address_parse_path(struct pool *pool, const void *data, size_t len,
			    unsigned parse_flags, struct smtp_address *addr_r,
			    size_t *used_r, const char **error_r);
/* Parses a whole bare mailbox "local@domain" (no brackets, no route). */
int smtp_address_parse(struct pool *pool, const char *str, unsigned parse_flags,
		       struct smtp_address *addr_r, const char **error_r);
/* Checks a domain or address literal as used in EHLO or after '@':
 * 0 when valid, -1 when not; *flags_r gets the SMTP_ADDRESS_F_LITERAL,
 * _TRAILING_DOT, _DOTLESS and _UTF8 bits either way. */
int smtp_address_check_domain(const char *domain, size_t len, bool utf8,
			      unsigned *flags_r);
/* True for "local@domain" with a dot-atom local part holding none of
 * '@' '%' '!', an ordinary domain name (not a literal, no trailing dot,
 * at least one dot), no route, brackets present.  UTF-8 is allowed. */
bool smtp_address_is_plain(const struct smtp_address *addr);
/* A copy with the ASCII letters of the domain lowercased, a trailing
 * dot and the route dropped; the local part is kept (it is case
 * sensitive) except that "Postmaster" becomes "postmaster". */
void smtp_address_normalize(struct pool *pool, const struct smtp_address *addr,
			    struct smtp_address *norm_r);
/* Compares as normalized addresses would: the local part byte-exact
 * (case-insensitively when icase_local), the domain ASCII
 * case-insensitively, ignoring a trailing dot.  <0, 0, >0. */
int smtp_address_cmp(const struct smtp_address *a, const struct smtp_address *b,
		     bool icase_local);
/* Appends "local@domain", quoting the local part when it needs it. */
void smtp_address_write(struct buf *out, const struct smtp_address *addr);
/* Appends "<local@domain>" or "<>". */
void smtp_address_write_path(struct buf *out, const struct smtp_address *addr);

/* ------------------------------------------------------------------ */
/* ESMTP parameters (smtp-params.c)                                    */
/* ------------------------------------------------------------------ */

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };
#define SMTP_NOTIFY_NEVER   0x1u
#define SMTP_NOTIFY_SUCCESS 0x2u
#define SMTP_NOTIFY_FAILURE 0x4u
#define SMTP_NOTIFY_DELAY   0x8u

struct smtp_param {
	const char *keyword; /* uppercased */
	const char *value;   /* raw, NULL when there was no "=" */
};

struct smtp_params {
	/* Every parameter as sent, in order. */
	struct smtp_param *list;
	size_t count;
	/* The standard ones, decoded. */
	bool has_size;
	uint64_t size;          /* SIZE= */
	enum smtp_body body;    /* BODY= */
	bool smtputf8;          /* SMTPUTF8 */
	enum smtp_ret ret;      /* RET= */
	const char *envid;      /* ENVID=, xtext decoded; NULL when absent */
	const char *auth;       /* AUTH=, xtext decoded ("<>" kept); NULL when absent */
	unsigned notify;        /* NOTIFY=, SMTP_NOTIFY_*; 0 when absent */
	const char *orcpt_type; /* ORCPT= addr-type ("rfc822"); NULL when absent */
	const char *orcpt;      /* ORCPT= address, xtext decoded */
};

enum smtp_params_command { SMTP_PARAMS_MAIL, SMTP_PARAMS_RCPT };

/* Parses "KEY[=VALUE] *(SP KEY[=VALUE])" (several spaces tolerated)
 * for MAIL or RCPT, validating the standard parameters; anything not
 * advertised in set->caps or not belonging to the command is unknown.
 * Returns 0, or -1 with *err_r (PARAM_SYNTAX, PARAM_VALUE,
 * PARAM_UNKNOWN, PARAM_DUPLICATE, PARAM_UNSUPPORTED). */
int smtp_params_parse(struct pool *pool, const struct smtp_parse_settings *set,
		      enum smtp_params_command cmd, const char *data, size_t len,
		      struct smtp_params *params_r, struct smtp_error *err_r);
/* The raw value of a parameter (keyword case-insensitive); NULL when
 * absent, "" when present without a value. */
const char *smtp_params_get(const struct smtp_params *params, const char *keyword);
/* RFC 3461 xtext: decodes into a NUL-terminated pool string; -1 on a
 * bad "+XX", a character outside xtext, or an encoded NUL. */
int smtp_params_xtext_decode(struct pool *pool, const char *data, size_t len,
			     const char **out_r);
/* Appends the xtext encoding of data ('+', '=', controls, SP, 8-bit as
 * "+XX"). */
void smtp_params_xtext_encode(struct buf *out, const void *data, size_t len);

/* ------------------------------------------------------------------ */
/* Commands (smtp-command.c, smtp-command-reader.c)                   */
/* ------------------------------------------------------------------ */

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_LHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

enum smtp_args { SMTP_ARGS_NONE, SMTP_ARGS_OPTIONAL, SMTP_ARGS_REQUIRED };

struct smtp_verb_info {
	enum smtp_verb verb;
	const char *name;       /* "MAIL" */
	enum smtp_args args;
	unsigned protocols;     /* 1 << SMTP_PROTOCOL_* */
	bool utf8;              /* UTF-8 allowed in the arguments */
};

/* The verb table, indexed by enum smtp_verb (UNKNOWN has name NULL). */
const struct smtp_verb_info *smtp_command_verb_info(enum smtp_verb verb);
/* Looks a verb name up case-insensitively; NULL when unknown. */
const struct smtp_verb_info *smtp_command_verb_lookup(const char *name, size_t len);

/* Leniencies seen in a command. */
#define SMTP_COMMAND_F_SPACE_AFTER_COLON 0x01u /* "MAIL FROM: <a@b>" */
#define SMTP_COMMAND_F_EXTRA_SPACE       0x02u /* several SP between words */
#define SMTP_COMMAND_F_TRAILING_SPACE    0x04u /* SP at the end of the line */

struct smtp_command {
	enum smtp_verb verb;
	/* The verb as sent (NUL-safe, at most 32 bytes shown) for logs and
	 * the unknown-command case. */
	const char *name;
	/* Everything after the verb and its space(s), trailing SP removed;
	 * "" when none. */
	const char *args;
	unsigned flags; /* SMTP_COMMAND_F_* */

	/* HELO, EHLO, LHLO: the argument as sent (lenient: anything
	 * printable is kept), and whether it is a valid domain or address
	 * literal; helo_flags holds SMTP_ADDRESS_F_LITERAL etc. */
	const char *helo;
	bool helo_valid;
	unsigned helo_flags;

	/* MAIL, RCPT */
	struct smtp_address path;
	struct smtp_params params;

	/* BDAT */
	uint64_t bdat_size;
	bool bdat_last;

	/* AUTH: mechanism uppercased; initial response as sent ("=" for an
	 * empty one), NULL when absent. */
	const char *auth_mech;
	const char *auth_initial;
};

/* Parses one command line (without its CRLF; the caller bounded its
 * length).  set may be NULL for defaults (SMTP, no extensions).
 * Returns 0 with *cmd_r filled, or -1 with *err_r; on error cmd_r->verb
 * still tells which command it was when the verb was recognized, so
 * that the engine can count errors per command.
 *
 * Refusals: NUL, CR, LF (500 5.5.2); invalid UTF-8 anywhere, or valid
 * UTF-8 in commands whose table entry does not allow it (only MAIL, RCPT,
 * HELO/EHLO/LHLO, VRFY, EXPN, HELP and NOOP do) (500 5.5.2);
 * unknown verb or verb of the other protocol (500 5.5.2); missing or
 * extra arguments (501 5.5.4); path syntax (553 5.1.7 sender, 553 5.1.3
 * recipient, 553 5.6.7 non-ASCII without SMTPUTF8); parameters (501 /
 * 555 5.5.4); BDAT size (501 5.5.4); AUTH mechanism (504 5.5.4) and
 * initial response (501 5.5.2). */
int smtp_command_parse(struct pool *pool, const struct smtp_parse_settings *set,
		       const void *line, size_t len, struct smtp_command *cmd_r,
		       struct smtp_error *err_r);

/* Splits pipelined input into command lines.  Feed it whatever arrived;
 * it stops after each line so that the engine can switch to DATA or
 * BDAT for the bytes that follow. */
struct smtp_command_reader;

/* max_line: longest line accepted, including CRLF (RFC 5321: 512; more
 * with extensions such as AUTH).  flags: SMTP_PARSE_ALLOW_BARE_LF. */
struct smtp_command_reader *smtp_command_reader_create(struct pool *pool, size_t max_line,
						       unsigned flags);
/* Consumes input up to and including the end of one line.  Returns:
 *  1: a line is complete: *line_r / *len_r (without CRLF, valid until
 *     the next call) — hand it to smtp_command_parse();
 *  0: all of data was consumed, the line is not complete yet;
 * -1: the line is refused with *err_r: LINE_TOO_LONG as soon as the
 *     limit is passed (the rest of that line is then skipped silently up
 *     to its LF), LINE_BARE_LF when the line ended in LF alone.
 * *consumed_r is set in every case; input after it belongs to the next
 * call or to DATA/BDAT. */
int smtp_command_reader_read(struct smtp_command_reader *r, const void *data, size_t len,
			     size_t *consumed_r, const unsigned char **line_r, size_t *len_r,
			     struct smtp_error *err_r);
/* True when a partial line is buffered (pipelining after a command that
 * must be last in a group, such as STARTTLS, is an attack). */
bool smtp_command_reader_pending(const struct smtp_command_reader *r);
/* Forgets any partial line (after STARTTLS). */
void smtp_command_reader_reset(struct smtp_command_reader *r);

/* ------------------------------------------------------------------ */
/* Message body: DATA and BDAT (smtp-data.c)                           */
/* ------------------------------------------------------------------ */

/* Receives the message as it is decoded, in chunks; returns 0, or -1 to
 * say it failed (the decoder stops calling it, keeps consuming and
 * reports SMTP_DATA_F_SINK_FAILED). */
typedef int smtp_data_sink_fn(void *ctx, const void *data, size_t len);

enum smtp_data_mode {
	SMTP_DATA_MODE_DATA = 0,   /* dot-stuffed, ends at CRLF.CRLF */
	SMTP_DATA_MODE_BDAT,       /* exact chunks, line checks */
	SMTP_DATA_MODE_BDAT_BINARY /* exact chunks, no checks (BINARYMIME) */
};

struct smtp_data_settings {
	enum smtp_data_mode mode;
	/* Longest line including CRLF; 0 = unlimited.  RFC 5321: 1000. */
	size_t max_line;
	/* Largest message (decoded bytes); 0 = unlimited.  Beyond it nothing
	 * more is appended but input is still consumed. */
	uint64_t max_size;
};

/* What the decoder saw; it never stops consuming because of them. */
#define SMTP_DATA_F_BARE_LF     0x001u /* LF not preceded by CR */
#define SMTP_DATA_F_BARE_CR     0x002u /* CR not followed by LF */
#define SMTP_DATA_F_NUL         0x004u
#define SMTP_DATA_F_LONG_LINE   0x008u /* a line over max_line */
#define SMTP_DATA_F_TOO_BIG     0x010u /* over max_size: truncated */
#define SMTP_DATA_F_SMUGGLING   0x020u /* "\n.\n", "\r.\r", "\r\n.\n"... */
#define SMTP_DATA_F_8BIT        0x040u /* any byte >= 0x80 */
#define SMTP_DATA_F_SINK_FAILED 0x080u

struct smtp_data_decoder;

/* set may be NULL (DATA, no limits).  sink is called with the decoded
 * message in order; in DATA mode that excludes the final ".CRLF" and the
 * stuffed dots and includes the CRLF ending the last line. */
struct smtp_data_decoder *smtp_data_decoder_create(struct pool *pool,
						   const struct smtp_data_settings *set,
						   smtp_data_sink_fn *sink, void *ctx);
/* BDAT mode: the next chunk is `size` bytes; last for "BDAT n LAST".
 * Returns -1 when called in DATA mode, after the last chunk, or while
 * the previous chunk is still incomplete. */
int smtp_data_decoder_chunk(struct smtp_data_decoder *dec, uint64_t size, bool last);
/* Consumes input.  Returns 1 when the end was reached (DATA: the
 * terminating ".CRLF" has been consumed; BDAT: the current chunk is
 * complete) with *consumed_r bytes used — the rest is the next command;
 * 0 when all of data was consumed and more is needed; -1 when fed with
 * no chunk open in BDAT mode or after the end of DATA. */
int smtp_data_decoder_feed(struct smtp_data_decoder *dec, const void *data, size_t len,
			   size_t *consumed_r);
/* True once DATA ended or the last BDAT chunk completed. */
bool smtp_data_decoder_finished(const struct smtp_data_decoder *dec);
unsigned smtp_data_decoder_flags(const struct smtp_data_decoder *dec);
/* Decoded size so far (counting what max_size cut off). */
uint64_t smtp_data_decoder_size(const struct smtp_data_decoder *dec);
/* Raw bytes consumed so far (stuffed, with the terminator). */
uint64_t smtp_data_decoder_raw_size(const struct smtp_data_decoder *dec);
/* The reply for the most serious problem seen, in this order: SINK
 * (451 4.3.0), TOO_BIG (552 5.3.4), SMUGGLING (554 5.7.0), BARE_LF,
 * BARE_CR, NUL, LONG_LINE (554 5.6.0).  Returns false when none; the
 * engine decides which ones it refuses (see flags). */
bool smtp_data_decoder_error(const struct smtp_data_decoder *dec, unsigned refuse_mask,
			     struct smtp_error *err_r);

/* ------------------------------------------------------------------ */
/* Replies (smtp-reply.c, smtp-reply-parser.c)                         */
/* ------------------------------------------------------------------ */

#define SMTP_REPLY_LINE_MAX 512 /* octets including CRLF (RFC 5321 4.5.3.1.5) */

/* Appends a reply.  code 200..599; enhanced "X.Y.Z" whose class matches
 * the code's first digit, or NULL for none.  The text is one logical
 * line: CR and LF become spaces, other control characters and invalid
 * UTF-8 become '?', and it is wrapped at spaces (or cut) into as many
 * "code-" lines as needed to keep each within SMTP_REPLY_LINE_MAX.
 * Returns 0, or -1 (nothing appended) on a bad code or enhanced code or
 * when out's max is reached. */
int smtp_reply_write(struct buf *out, unsigned code, const char *enhanced, const char *text);
int smtp_reply_writef(struct buf *out, unsigned code, const char *enhanced,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A multi-line reply: one logical line per element (EHLO keywords);
 * the enhanced code, when given, starts every line (RFC 2034). */
int smtp_reply_write_lines(struct buf *out, unsigned code, const char *enhanced,
			   const char *const *lines, size_t n);
/* The reply for a parser error; with_enhanced false drops the enhanced
 * code (for a server configured without ENHANCEDSTATUSCODES). */
int smtp_reply_write_error(struct buf *out, const struct smtp_error *err, bool with_enhanced);

/* A parsed reply. */
struct smtp_reply {
	unsigned code;
	/* The enhanced code of the first line ("2.1.0") when it starts with
	 * one of the code's class (RFC 2034); NULL otherwise. */
	const char *enhanced;
	/* The text of each line, without the code, the separator and the
	 * line's enhanced code when it has one of the code's class. */
	const char **lines;
	size_t n_lines;
	bool bare_lf; /* some line ended in LF alone (accepted) */
};

struct smtp_reply_parser;

struct smtp_reply_parser_settings {
	size_t max_line;  /* including CRLF; 0 = SMTP_REPLY_LINE_MAX * 2 */
	size_t max_lines; /* per reply; 0 = 100 */
};

struct smtp_reply_parser *smtp_reply_parser_create(struct pool *pool,
						   const struct smtp_reply_parser_settings *set);
/* Consumes input until one complete reply.  Returns 1 with *reply_r
 * (allocated from reply_pool, which must stay the same until 1 or -1 is
 * returned), 0 when all input was consumed, -1 with *error_r on a
 * malformed reply (bad code, codes differing between lines, line too
 * long, too many lines, NUL).  *consumed_r is set in every case.  After
 * -1 the parser must be reset before further use. */
int smtp_reply_parser_feed(struct smtp_reply_parser *p, struct pool *reply_pool,
			   const void *data, size_t len, size_t *consumed_r,
			   struct smtp_reply **reply_r, const char **error_r);
void smtp_reply_parser_reset(struct smtp_reply_parser *p);

#endif

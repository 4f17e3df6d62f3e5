#ifndef OMBU_MIME_H
#define OMBU_MIME_H

/*
 * MIME message parsing: headers, the MIME tree, transfer decodings,
 * charsets, addresses, dates, and what IMAP computes from them (ENVELOPE,
 * BODY/BODYSTRUCTURE, BODY[section] ranges).
 *
 * Contract shared by everything here:
 *
 *  - Pure.  No I/O, no global state, nothing blocks.  A function may be
 *    called from any thread as long as the objects it is given are not
 *    shared with another thread at the same time.
 *  - Memory comes from the caller's pool (src/lib/pool.h) and lives as
 *    long as that pool; nothing here needs to be freed one by one except
 *    the parser's scratch buffers, which mime_parser_destroy() releases.
 *  - Never fails on content.  Broken, truncated or hostile input gives a
 *    best-effort tree with flags saying what was odd; limits turn parts
 *    into opaque leaves, never into errors.  -1 returns are for misuse
 *    and for malformed *requests* (an IMAP section spec), and come with a
 *    readable message in *error_r.
 *  - Offsets are absolute byte offsets into the whole message as it was
 *    fed to the parser.  The tree never holds body bytes; functions that
 *    need them take the raw message (msg, msg_size) from the caller.
 *  - Every string handed out is NUL-terminated and valid UTF-8 where the
 *    function says "UTF-8"; otherwise it is the raw header bytes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct pool;

/*
 * Limits
 */

/* Nesting beyond this depth (multipart and message/rfc822 levels; the
   top-level message is depth 0) is not parsed: the part becomes a leaf. */
#define MIME_DEFAULT_MAX_DEPTH 100
/* Parts beyond this count are not created; see MIME_PART_FLAG_LIMIT_PARTS. */
#define MIME_DEFAULT_MAX_PARTS 10000
/* Header bytes kept (as fields) per part.  Past it, only the fields the
   structure needs (Content-*, MIME-Version and the ENVELOPE fields) are
   still kept, up to twice this size. */
#define MIME_DEFAULT_MAX_HEADER_SIZE (64 * 1024)
/* Header bytes kept for the whole message. */
#define MIME_DEFAULT_MAX_HEADERS_TOTAL (4 * 1024 * 1024)

struct mime_limits {
	unsigned int max_depth;   /* 0 = MIME_DEFAULT_MAX_DEPTH */
	unsigned int max_parts;   /* 0 = MIME_DEFAULT_MAX_PARTS */
	size_t max_header_size;   /* 0 = MIME_DEFAULT_MAX_HEADER_SIZE */
	size_t max_headers_total; /* 0 = MIME_DEFAULT_MAX_HEADERS_TOTAL */
};

enum mime_parser_flags {
	/* A header line that is neither a field ("Name: value") nor a
	   continuation ends the header and starts the body (mime4j's
	   "malformedHeaderStartsBody").  By default such lines are skipped
	   as fields but stay in the header block, as Dovecot does. */
	MIME_PARSER_FLAG_MALFORMED_HEADER_STARTS_BODY = 1 << 0,
};

struct mime_parser_settings {
	struct mime_limits limits;
	unsigned int flags; /* enum mime_parser_flags */
};

/*
 * The tree
 */

enum mime_encoding {
	MIME_ENCODING_7BIT = 0, /* also the default when absent */
	MIME_ENCODING_8BIT,
	MIME_ENCODING_BINARY,
	MIME_ENCODING_BASE64,
	MIME_ENCODING_QP,
	/* x-uuencode, garbage, ...: decoded as identity */
	MIME_ENCODING_UNKNOWN,
};

enum mime_part_flags {
	/* multipart/ *: the children are the body parts */
	MIME_PART_FLAG_MULTIPART = 1 << 0,
	/* message/rfc822 or message/global in 7bit/8bit/binary: the single
	   child is the encapsulated message.  A base64 or quoted-printable
	   message/rfc822 stays a leaf (offsets cannot point into encoded
	   bytes); decode it and parse the result as a new message if its
	   structure is wanted. */
	MIME_PART_FLAG_RFC822 = 1 << 1,
	/* Content type text/ * (or no/invalid Content-Type: text/plain) */
	MIME_PART_FLAG_TEXT = 1 << 2,
	/* Would have had children but the depth limit was reached */
	MIME_PART_FLAG_LIMIT_DEPTH = 1 << 3,
	/* The part limit was reached inside this multipart: the rest of the
	   message is its epilogue and no boundary is recognised any more;
	   or (on a message/rfc822 part) the child was not created. */
	MIME_PART_FLAG_LIMIT_PARTS = 1 << 4,
	/* Some header fields were not kept (header size limits) */
	MIME_PART_FLAG_HEADER_TRUNCATED = 1 << 5,
	/* The header ended without its blank line (end of input, a
	   boundary, or a malformed line in STARTS_BODY mode) */
	MIME_PART_FLAG_HEADER_UNTERMINATED = 1 << 6,
	/* Multipart whose close delimiter was never seen */
	MIME_PART_FLAG_NO_CLOSE = 1 << 7,
	/* Header has bytes >= 0x80 (raw UTF-8 / SMTPUTF8 or junk) */
	MIME_PART_FLAG_8BIT_HEADER = 1 << 8,
	/* multipart/ * without a usable boundary: parsed as text/plain */
	MIME_PART_FLAG_BAD_MULTIPART = 1 << 9,
	/* Header has lines that are neither fields nor continuations */
	MIME_PART_FLAG_BAD_HEADER_LINE = 1 << 10,
};

struct mime_field {
	const char *name;  /* as written, whitespace trimmed */
	const char *value; /* raw bytes after the colon, folding kept */
	size_t value_len;
	uint64_t offset;   /* absolute offset of the field's first byte */
	uint64_t size;     /* bytes including the final line break */
};

/* A Content-Type or Content-Disposition parameter after RFC 2231
   reassembly.  Names are lower-cased.  For an extended (name*=) value,
   `value` is the joined percent-encoded text and `charset`/`language`
   what came before it; use mime_param_value_utf8() for the text. */
struct mime_param {
	const char *name;
	const char *value;
	const char *charset;  /* NULL unless extended */
	const char *language; /* NULL unless extended */
	bool extended;
};

struct mime_part {
	struct mime_part *parent, *next, *children;
	unsigned int children_count;
	unsigned int depth;
	unsigned int flags; /* enum mime_part_flags */

	uint64_t header_offset, header_size; /* header_size includes the blank line */
	uint64_t body_offset, body_size;
	/* LF count of the body, and sizes with every bare LF counted as
	   CRLF (for stores that send CRLF for messages kept with LF) */
	uint64_t body_lines;
	uint64_t header_vsize, body_vsize;

	/* Child of a multipart: where its "--boundary" line starts */
	uint64_t delim_offset;
	/* Multipart: text before the first delimiter line, and after the
	   close delimiter line (epilogue_size 0 when there is none) */
	uint64_t preamble_size;
	uint64_t epilogue_offset, epilogue_size;

	/* Header fields kept, in order */
	struct mime_field *fields;
	unsigned int fields_count;

	/* Content-Type, lower-cased, defaults applied (text/plain, or
	   message/rfc822 inside multipart/digest) */
	const char *type, *subtype;
	struct mime_param *params;
	unsigned int params_count;
	const char *boundary; /* multipart only */
	const char *charset;  /* the charset parameter or NULL */
	enum mime_encoding encoding;
};

/*
 * Parser: incremental and resumable.  Feed the message in chunks of any
 * size (even one byte); the tree is the same whatever the chunking.
 */

struct mime_parser;

/* set may be NULL for the defaults.  The tree is allocated from pool. */
struct mime_parser *mime_parser_create(struct pool *pool,
				       const struct mime_parser_settings *set);
void mime_parser_feed(struct mime_parser *parser, const void *data, size_t size);
/* Ends the input and returns the root (never NULL; the same root on
   every call).  Feeding after finish is ignored. */
struct mime_part *mime_parser_finish(struct mime_parser *parser);
/* Frees the scratch buffers; the tree stays in the pool. */
void mime_parser_destroy(struct mime_parser **parser);

/* One-shot convenience: create, feed, finish, destroy. */
struct mime_part *mime_parse(struct pool *pool, const void *msg, size_t size,
			     const struct mime_parser_settings *set);

/*
 * Parts
 */

/* True for the root and for the child of a message/rfc822 part: parts
   whose header is an RFC 5322 message header (ENVELOPE applies). */
bool mime_part_is_message(const struct mime_part *part);
/* Pre-order walk of the tree below root (root first).  NULL at the end. */
struct mime_part *mime_part_next(const struct mime_part *root,
				 const struct mime_part *part);
/* Next leaf text/ * part after prev (NULL: the first), pre-order. */
struct mime_part *mime_part_next_text(const struct mime_part *root,
				      const struct mime_part *prev);
/* Count of parts in the tree below and including root. */
unsigned int mime_part_count(const struct mime_part *root);
/* Parameter by name (case-insensitive) or NULL. */
const struct mime_param *mime_part_param(const struct mime_part *part,
					 const char *name);

/* Transfer-decodes the part's body from the raw message into out (which
   the caller initialises; its max bounds the result).  Returns 1 when
   all of it fit, 0 when it was cut at out's max. */
int mime_part_decode(const struct mime_part *part, const void *msg,
		     size_t msg_size, struct buf *out);
/* The part's body as UTF-8 text: transfer-decoded, then converted from
   its charset (see mime_charset_to_utf8 for the fallbacks), at most
   max_size bytes of decoded input.  *truncated_r (may be NULL) tells
   whether it was cut.  Never NULL. */
const char *mime_part_text(struct pool *pool, const struct mime_part *part,
			   const void *msg, size_t msg_size, size_t max_size,
			   size_t *len_r, bool *truncated_r);

/*
 * Headers
 */

/* First field with this name (case-insensitive) or NULL. */
const struct mime_field *mime_header_find(const struct mime_part *part,
					  const char *name);
/* Next field with this name after prev, or NULL. */
const struct mime_field *mime_header_find_next(const struct mime_part *part,
					       const struct mime_field *prev,
					       const char *name);
/* Unfolded raw value (CR and LF removed, leading white space trimmed)
   of the first field, or NULL when absent. */
const char *mime_header_get(struct pool *pool, const struct mime_part *part,
			    const char *name);
/* The same, RFC 2047-decoded to UTF-8. */
const char *mime_header_get_utf8(struct pool *pool,
				 const struct mime_part *part, const char *name);
/* Every occurrence, NULL-terminated (empty array when none). */
const char **mime_header_get_all(struct pool *pool,
				 const struct mime_part *part, const char *name);
const char **mime_header_get_all_utf8(struct pool *pool,
				      const struct mime_part *part,
				      const char *name);
/* Removes CR and LF, trims leading and trailing white space. */
char *mime_header_unfold(struct pool *pool, const char *value, size_t len);
/* Unfolds and decodes RFC 2047 encoded words (B and Q, charset*lang,
   adjacent words joined across white space, a character split between
   two words of the same charset rejoined).  Raw 8-bit text is taken as
   UTF-8 when valid, else as Windows-1252.  Always valid UTF-8. */
char *mime_header_decode(struct pool *pool, const char *value, size_t len);

/* Parses a Content-Type / Content-Disposition style value: the leading
   token (lower-cased into *token_r, "" if missing) and the parameters
   (RFC 2231 continuations and charsets joined, names lower-cased). */
void mime_param_parse(struct pool *pool, const char *value, size_t len,
		      const char **token_r, struct mime_param **params_r,
		      unsigned int *count_r);
/* A parameter's value as UTF-8: RFC 2231 charset applied for extended
   values, RFC 2047 words decoded for plain ones (a common violation). */
const char *mime_param_value_utf8(struct pool *pool,
				  const struct mime_param *param);

/*
 * Addresses (RFC 5322 with groups, obsolete routes and lenient recovery)
 */

struct mime_address {
	struct mime_address *next;
	/* Display name (raw, quotes removed, encoded words kept) or the
	   comment after a bare addr-spec; NULL when none. */
	const char *name;
	const char *route;   /* "@a,@b" or NULL */
	/* Group start: mailbox = group name, domain = NULL.
	   Group end: mailbox = domain = NULL. */
	const char *mailbox;
	const char *domain;
	/* Recovered from broken syntax: missing parts are filled with
	   "MISSING_MAILBOX" / "MISSING_DOMAIN" / "SYNTAX_ERROR" as Dovecot
	   does, so that IMAP never sees a NIL host for a mailbox. */
	bool invalid;
};

/* Parses an address-list header value; NULL when it holds none. */
struct mime_address *mime_address_parse(struct pool *pool, const char *value,
					size_t len);

/*
 * Dates (RFC 5322, obsolete forms, named and military zones, asctime)
 */

/* 0 and *time_r (UTC seconds) + *tz_offset_r (minutes east of UTC) on
   success, -1 when no date could be recognised. */
int mime_date_parse(const char *value, size_t len, time_t *time_r,
		    int *tz_offset_r);

/*
 * Transfer decoding, incremental
 */

struct mime_decoder {
	enum mime_encoding encoding;
	unsigned int state;
	unsigned char pending[80];
	size_t pending_len;
	uint32_t bits;
	unsigned int nbits;
	bool last_cr;
};

void mime_decode_init(struct mime_decoder *dec, enum mime_encoding encoding);
/* Appends decoded bytes to out; -1 when out's max was hit (out then
   holds what fitted). */
int mime_decode_feed(struct mime_decoder *dec, const void *data, size_t size,
		     struct buf *out);
int mime_decode_finish(struct mime_decoder *dec, struct buf *out);
/* Parses a Content-Transfer-Encoding value. */
enum mime_encoding mime_decode_encoding(const char *value, size_t len);

/*
 * Charsets
 */

/* Converts to UTF-8, appending to out.  Never fails on content; the
   result is always valid UTF-8:
   - UTF-8 declared: kept, invalid sequences become U+FFFD;
   - US-ASCII, missing, or a charset iconv does not know: the bytes are
     kept if they are valid UTF-8, otherwise each byte is read as
     Windows-1252 (ISO-8859-1 with printable characters in 0x80-0x9F);
   - a charset iconv knows: converted, invalid or truncated sequences
     become U+FFFD (ISO-8859-1 is read as Windows-1252, GB2312 as
     GB18030).
   Returns 1 when the conversion was exact, 0 when a fallback or a
   replacement was used, -1 when out's max was hit. */
int mime_charset_to_utf8(const char *charset, const void *data, size_t size,
			 struct buf *out);
/* True when iconv can convert from this charset. */
bool mime_charset_is_known(const char *charset);
bool mime_charset_is_valid_utf8(const void *data, size_t size);

/*
 * IMAP (RFC 3501 / RFC 9051)
 */

enum mime_imap_flags {
	/* BODYSTRUCTURE (extension data) rather than BODY */
	MIME_IMAP_EXTENDED = 1 << 0,
	/* Sizes with bare LF counted as CRLF */
	MIME_IMAP_VIRTUAL_SIZES = 1 << 1,
};

/* Appends the ENVELOPE list, parenthesised.  part must be a message
   (mime_part_is_message).  Uses a short-lived pool of its own. */
void mime_imap_envelope(struct buf *out, const struct mime_part *part);
/* Appends BODY (or BODYSTRUCTURE with MIME_IMAP_EXTENDED) for the part,
   parenthesised.  Type, subtype and encoding are upper-cased ("TEXT"
   "PLAIN", "7BIT"); text parts without a charset get ("charset"
   "us-ascii"); everything else is written as in the message. */
void mime_imap_bodystructure(struct buf *out, const struct mime_part *part,
			     unsigned int flags);
/* IMAP string: quoted, or a literal for 8-bit/CR/LF/long data; "NIL" for
   NULL. */
void mime_imap_append_nstring(struct buf *out, const char *str, size_t len);

enum mime_section_kind {
	MIME_SECTION_BODY = 0,       /* "" (whole message) or "1.2" */
	MIME_SECTION_HEADER,
	MIME_SECTION_HEADER_FIELDS,
	MIME_SECTION_HEADER_FIELDS_NOT,
	MIME_SECTION_TEXT,
	MIME_SECTION_MIME,
};

struct mime_section {
	enum mime_section_kind kind;
	/* The part the numbers point at, and the part whose header/body the
	   range comes from (the encapsulated message for a message/rfc822
	   part's HEADER/TEXT). */
	const struct mime_part *part, *source;
	uint64_t offset, size;         /* byte range in the raw message */
	const char *const *fields;     /* HEADER.FIELDS names, NULL-terminated */
	unsigned int fields_count;
};

/* Resolves a section spec as written inside BODY[...] ("", "1.2",
   "HEADER", "2.TEXT", "1.MIME", "3.HEADER.FIELDS (From To)").
   1: found, *section_r filled; 0: well-formed but no such part (send
   an empty string); -1: syntax error (*error_r). */
int mime_imap_section(struct pool *pool, const struct mime_part *root,
		      const char *spec, struct mime_section *section_r,
		      const char **error_r);
/* Writes the header lines selected by HEADER.FIELDS (not=false) or
   HEADER.FIELDS.NOT (not=true) from a raw header block, with CRLF line
   ends, followed by the blank line. */
void mime_imap_header_fields(struct buf *out, const void *header, size_t size,
			     const char *const *names, bool not_);
/* The bytes BODY[...] returns for the section (HEADER.FIELDS filtered). */
void mime_imap_section_data(struct buf *out, const struct mime_section *section,
			    const void *msg, size_t msg_size);
/* Partial fetch <origin.count>: clamps to [0, size).  *offset_r is
   relative to the section data. */
void mime_imap_partial(uint64_t size, uint64_t origin, uint64_t count,
		       uint64_t *offset_r, uint64_t *len_r);

/*
 * ===================================================================
 * HTML rendering and URI extraction for the filter (issue 7).
 *
 * These follow SpamAssassin 4.0 (Mail::SpamAssassin::HTML over
 * HTML::Parser, and PerMsgStatus/Util for URIs) byte for byte where the
 * rules can see it, so that SpamAssassin's rule set hits the same text.
 * Pure, allocate from the caller's pool, never fail on content.
 * ===================================================================
 */

/* Tags that can carry a URI (SpamAssassin's uri "types"). */
enum mime_html_tag {
	MIME_HTML_TAG_A = 1 << 0,
	MIME_HTML_TAG_AREA = 1 << 1,
	MIME_HTML_TAG_LINK = 1 << 2,
	MIME_HTML_TAG_IMG = 1 << 3,
	MIME_HTML_TAG_FRAME = 1 << 4,
	MIME_HTML_TAG_IFRAME = 1 << 5,
	MIME_HTML_TAG_EMBED = 1 << 6,
	MIME_HTML_TAG_SCRIPT = 1 << 7,
	MIME_HTML_TAG_FORM = 1 << 8,
	MIME_HTML_TAG_BASE = 1 << 9,
	MIME_HTML_TAG_BGSOUND = 1 << 10,
	MIME_HTML_TAG_META = 1 << 11,
	MIME_HTML_TAG_BODY = 1 << 12,
	MIME_HTML_TAG_TABLE = 1 << 13,
	MIME_HTML_TAG_TR = 1 << 14,
	MIME_HTML_TAG_TD = 1 << 15,
};

struct mime_html_uri {
	const char *uri;             /* resolved against <base href> */
	unsigned tags;               /* enum mime_html_tag */
	const char **anchor_text;    /* text inside each <a> pointing here */
	size_t n_anchor_text;
};

/* How often a tag was opened minus closed (never below 0). */
struct mime_html_tag_count {
	const char *tag;             /* lower case */
	int inside;
};

struct mime_html_result {
	/* everything rendered; the visible and the invisible parts (text
	   in a font too small, in the background colour, display:none) */
	const char *text;
	size_t text_len;
	const char *visible;
	size_t visible_len;
	const char *invisible;
	size_t invisible_len;

	struct mime_html_uri *uris;  /* first-seen order */
	size_t n_uris;
	bool uri_truncated;
	const char **anchors;        /* text of each <a>, in order */
	size_t n_anchors;
	const char **titles;
	size_t n_titles;
	const char **comments;
	size_t n_comments;
	const char **scripts;
	size_t n_scripts;
	struct mime_html_tag_count *inside;
	size_t n_inside;
	const char *charsets;        /* from <meta http-equiv=Content-Type>, or NULL */

	/* statistics (HTML.pm's results) */
	size_t length;               /* input bytes */
	unsigned tags, elements, tags_seen, elements_seen;
	unsigned closed_extra, obfuscation, backhair_count;
	bool closed_html, closed_body;
	double image_area;
	int min_size, max_size;
	bool font_low_contrast, font_invalid_color, font_face_bad;
	bool form_action_mailto, embeds;
};

/* Renders HTML to text.  utf8_chars: the input is known-valid UTF-8
   text (SpamAssassin decodes us-ascii/utf-8 declared parts that are
   valid UTF-8 to characters); otherwise bytes of an unknown charset. */
void mime_html_render(struct pool *pool, const char *html, size_t len,
		      bool utf8_chars, struct mime_html_result *r);
/* "#rrggbb" for an HTML colour (names, #rgb, rgb(...)), or "invalid". */
const char *mime_html_color(struct pool *pool, const char *value);
/* Resolves a relative URI against a base (RFC 3986 merge, as HTML.pm's
   target_uri(); a schemeless www./ftp. authority gets http:/ftp:). */
char *mime_uri_resolve(struct pool *pool, const char *base, const char *rel);

/* URIs in plain text the way SpamAssassin (and Thunderbird) find them:
   with a scheme, www./ftp. hosts, bare host names with a valid TLD,
   and e-mail addresses.  is_tld decides which TLDs count. */
struct mime_text_uri {
	const char *uri;             /* with http://, mailto: ... added */
	const char *raw;             /* as found */
	bool schemeless, unlinked;
};
size_t mime_uri_find_text(struct pool *pool, const char *text, size_t len,
			  bool (*is_tld)(void *ctx, const char *tld, size_t len),
			  void *ctx, struct mime_text_uri **uris_r);
/* A host name as SpamAssassin's is_fqdn_valid checks it: 2+ labels of
   1-63 letters, digits, '_' and inner '-' ('_' not in the last two),
   253 bytes at most, trailing dots ignored. */
bool mime_fqdn_valid(const char *host, size_t len);

/* SpamAssassin's uri_list_canonicalize(): the URI and its cleaned
   variants (percent-decoding, host obfuscations, numeric IPs, embedded
   redirect targets).  redirect(ctx, uri) returns a redirect target or
   NULL (the configured redirector patterns); is_domain_valid tells
   whether a bare word host is a real domain.  Results are unique. */
size_t mime_uri_canonicalize(struct pool *pool, const char *uri,
			     const char *(*redirect)(void *ctx, struct pool *pool,
						     const char *uri),
			     bool (*is_domain_valid)(void *ctx, const char *host),
			     void *ctx, const char ***out_r);
/* url_encode() of Util.pm: percent-escapes decoded where harmless. */
char *mime_uri_url_encode(struct pool *pool, const char *uri);

#endif

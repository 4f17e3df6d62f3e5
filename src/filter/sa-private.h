#ifndef OMBU_SA_PRIVATE_H
#define OMBU_SA_PRIVATE_H

/*
 * Internals of the rules engine (sa.h).  Files:
 *
 *   sa-conf.c      rule files: lines, conditionals, commands, overrides
 *   sa-regex.c     Perl regular expressions -> PCRE2, literal extraction
 *   sa-prefilter.c Aho-Corasick over the literals: which rules may match
 *   sa-meta.c      meta expressions: parse once, evaluate per message
 *   sa-replace.c   the ReplaceTags plugin (<A>, <inter W1> ...)
 *   sa-engine.c    load: files in order, finishing, the unsupported list
 *   sa-msg.c       the message as SpamAssassin presents it to rules
 *   sa-addr.c      address parsing of headers (:addr, :name)
 *   sa-received.c  Received headers -> relays (X-Spam-Relays-*)
 *   sa-scan.c      running the rules over one message
 *   sa-eval*.c     the eval: tests, by SpamAssassin plugin
 */

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/sa.h"
#include "lib/buf.h"

struct hash;
struct pool;
struct sa_scan;
struct mime_html_result;

#define SA_VERSION 4.000001
#define SA_MAX_BODY_LINE 2048
#define SA_BODY_PART_SCAN_SIZE 50000
#define SA_RAWBODY_PART_SCAN_SIZE 500000
#define SA_MAX_URI_LENGTH 8192
#define SA_MAX_HEADER_KEY 256
#define SA_MAX_HEADER_VALUE 8192
#define SA_MAX_HEADER_LENGTH 65536

enum sa_type {
	SA_T_HEADER,
	SA_T_BODY,
	SA_T_RAWBODY,
	SA_T_FULL,
	SA_T_URI,
	SA_T_META,
	SA_T_EVAL_HEAD,
	SA_T_EVAL_BODY,
	SA_T_EVAL_RAWBODY,
	SA_T_EVAL_FULL,
	SA_T_EVAL_RBL,
	SA_T_MIMEHEADER,
	SA_T_URI_DETAIL,
	SA_T_EMPTY,   /* `reuse` of an undefined rule */
	SA_T_NETWORK, /* askdns, urirhssub, urirhsbl, uridnsbl, hashbl ... */
	SA_T_COUNT
};

extern const char *const sa_type_names[SA_T_COUNT];

enum sa_tflag {
	SA_TF_NICE = 1 << 0,
	SA_TF_MULTIPLE = 1 << 1,
	SA_TF_NET = 1 << 2,
	SA_TF_LEARN = 1 << 3,
	SA_TF_NOSUBJECT = 1 << 4,
	SA_TF_USERCONF = 1 << 5,
};

/* Header modifiers (`From:addr`, `Subject:raw` ...). */
enum sa_hmod {
	SA_HM_RAW = 1 << 0,
	SA_HM_ADDR = 1 << 1,
	SA_HM_NAME = 1 << 2,
	SA_HM_HOST = 1 << 3,
	SA_HM_DOMAIN = 1 << 4,
	SA_HM_IP = 1 << 5,
	SA_HM_REVIP = 1 << 6,
	SA_HM_FIRST = 1 << 7,
	SA_HM_LAST = 1 << 8,
};

/* A compiled regular expression and what the prefilter knows of it. */
struct sa_re {
	/* what a scan reads first, together */
	pcre2_code *code;
	bool jit;               /* JIT-compiled: pcre2_jit_match applies */
	uint32_t minlen;        /* no match in a shorter subject (PCRE2's own
				   bound, which pcre2_match checks first) */
	bool multiline;
	unsigned n_lits;
	unsigned lit_count;     /* a match holds at least this many of them */
	/* Literals one of which every match contains (lower-cased), or
	   n_lits == 0 when the rule must always run. */
	char **lits;
	size_t *lit_lens;
	/* When n_lits == 0: agate says that on a clean line (no byte >=
	   0x80, no "&#") every match holds one of alits (alit_count times),
	   or, with n_alits == 0, that the pattern cannot match there. */
	bool agate;
	/* with agate: alits are literals of the line's skeleton, not of
	   the line (sa-regex.c, skeleton mode; sa_skel_byte()) */
	bool askel;
	unsigned n_alits, alit_count;
	char **alits;
	size_t *alit_lens;
	const char *pat, *mods; /* as written in the rule (delimiters off) */
	const char *src;        /* the pattern as PCRE2 got it */
};

/* The bytes a line's skeleton keeps: the skeleton literals are read for
   it (sa-regex.c) and a scan builds it (sa-scan.c), so both ask here. */
static inline bool sa_skel_byte(unsigned char b)
{
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

struct sa_meta;

/* An eval: test once parsed. */
struct sa_eval_call {
	int fn;                 /* index in sa_evals[], -1 unknown */
	const char *name;
	char **args;
	unsigned n_args;
	void *data;             /* per-rule precompiled data (regexes ...) */
};

#define SA_DEFER_TIERS 2

/* A meta as a scan evaluates it, apart from its rule, so that the loop
   over a thousand metas reads one array instead of a thousand rules. */
struct sa_meta_step {
	const struct sa_meta *meta;
	const unsigned *deps;
	unsigned n_deps;
	unsigned idx;
	double zero;            /* its value when none of deps hit */
	bool reported;          /* not a __ sub-rule */
};

struct sa_rule {
	/* The fields a scan reads, first: a scan walks every rule and the
	   rule set does not fit the CPU's caches, so the fewer cache lines a
	   rule's test touches the better. */
	enum sa_type type;
	unsigned idx;
	unsigned tflags;
	unsigned maxhits;
	int hslot;              /* index into the engine's header requests */
	bool neg, exists;
	/* defer: a body or rawbody sub-rule (__, not multiple) that a scan
	   without statistics runs only when a reported rule's outcome
	   depends on it (sa-scan.c); may_defer: a meta whose value may
	   depend on one */
	bool defer, may_defer;
	uint8_t defer_tier;     /* 0 cheap .. SA_DEFER_TIERS costly (by size) */
	const char *if_unset;
	/* metas: the rules named (indexes) and the expression */
	unsigned n_deps;
	unsigned *deps;
	struct sa_meta *meta;
	struct sa_re re;        /* header/body/rawbody/full/uri/mimeheader */

	const char *name;
	const char *file;
	unsigned line;
	const char *text;       /* definition after the name (before replace) */

	double score;
	bool has_score;
	const char *describe;
	const char *tflags_str;
	int priority;
	bool replace;           /* named by replace_rules */

	/* header rules (and mimeheader) */
	const char *hdr;        /* name without modifiers */
	unsigned hmods;

	struct sa_eval_call eval;
	/* uri_detail: key =~ /re/ pairs */
	struct sa_uri_detail *ud;

	/* After finishing */
	bool enabled;           /* will run and can hit */
	const char *off_why;    /* why not: "score 0", "network", ... */
	bool broken;            /* failed to compile */
};

struct sa_uri_detail {
	struct sa_uri_detail *next;
	const char *key;        /* raw, type, cleaned, text, domain, host */
	bool neg;
	struct sa_re re;
};

/* One distinct header request of header rules: all rules asking for
   "From:addr" share the computed value. */
struct sa_hreq {
	const char *name;       /* as written ("From", "ALL", "ToCc") */
	unsigned mods;
	const char *req;        /* for sa_msg_get(): "From:addr" */
	unsigned *rules;        /* rule indexes */
	unsigned n_rules, cap_rules;
};

struct sa_prefilter;

struct sa_engine {
	struct pool *pool;
	struct sa_rule **rules;     /* every rule, in definition order */
	size_t n_rules, cap_rules;
	struct hash *by_name;       /* name -> struct sa_rule * */

	/* settings that are not rules */
	struct hash *scores;        /* name -> double * (score set 0) */
	struct hash *describes;     /* name -> const char * */
	struct hash *tflags;        /* name -> const char * */
	struct hash *priorities;    /* name -> int * */
	struct hash *replace_tag, *replace_pre, *replace_post, *replace_inter;
	struct hash *replace_rules; /* name -> (void *)1 */
	char replace_start[16], replace_end[16];

	struct hash *tlds;          /* util_rb_tld (lower case) -> 1 */
	struct hash *tlds2;         /* util_rb_2tld */
	struct hash *tlds3;         /* util_rb_3tld */
	struct hash *freemail;      /* freemail_domains (exact) */
	char **freemail_globs;      /* freemail_domains with * or ? */
	size_t n_freemail_globs;
	struct hash *freemail_welcome;
	struct hash *url_shorteners;
	pcre2_code **redirectors;   /* redirector_pattern */
	size_t n_redirectors;
	struct hash *enlist_uri_host; /* list name -> struct hash * of hosts */
	char **orig_ip_headers;     /* originating_ip_headers */
	size_t n_orig_ip_headers;

	/* runnable rules by kind (indexes into rules) */
	unsigned *run[SA_T_COUNT];
	size_t n_run[SA_T_COUNT];
	unsigned *metas;            /* enabled metas in dependency order */
	size_t n_metas;
	/* the same as a scan walks them: those that cannot depend on a
	   deferred rule first, [0, n_fixed), then the others, each part in
	   dependency order */
	struct sa_meta_step *steps;
	size_t n_fixed;
	struct sa_hreq *hreqs;
	size_t n_hreqs, cap_hreqs;

	struct sa_prefilter *pf_body, *pf_rawbody, *pf_full, *pf_uri;
	/* body rules without literals that have some for clean lines
	   (sa_re.agate); NULL when there are none */
	struct sa_prefilter *pf_body_ascii;
	/* the same for rules with literals of a clean line's skeleton
	   (sa_re.askel): it scans the skeletons of the clean lines */
	struct sa_prefilter *pf_body_skel;
	/* per header request (hreqs), the literals of its header rules in
	   one table, scanned once over the value; NULL for a request with
	   fewer than SA_HEADER_PF_MIN such rules (each then looks for its
	   own literals) */
	struct sa_prefilter **pf_header;
#define SA_HEADER_PF_MIN 4
	pcre2_code *email_re;       /* FreeMail's address pattern, with the TLDs */

	struct sa_unsupported *unsupported;
	size_t n_unsupported;
	size_t n_active;

	sa_warn_fn *warn_fn;
	void *warn_ctx;
	/* plugins loaded, short names */
	struct hash *plugins;
	/* loader state */
	const char *cur_file;
	unsigned cur_line;
};

/* Warnings while loading: "file:line: fmt". */
void sa_warn(struct sa_engine *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sa_rule_warn(struct sa_engine *e, const struct sa_rule *r,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* sa-conf.c: parse one file's text (name for messages). */
void sa_conf_parse(struct sa_engine *e, const char *file, const char *text,
		   size_t len);
struct sa_rule *sa_rule_get(const struct sa_engine *e, const char *name);

/* sa-regex.c */
/* Parses "/re/mods", "m{re}mods", "m!re!mods"...  into pattern + flags;
   strip: 1 delimiters required (rules), 2 optional.  Returns 0 or -1
   with *error_r. */
int sa_re_split(struct pool *pool, const char *text, char **pat_r,
		char **mods_r, const char **error_r);
/* Translates a Perl pattern (with its modifiers as an (?imsx) prefix
   already applied, or not) into what PCRE2 accepts, and compiles it with
   JIT.  Fills re (literals included).  -1 with a readable *error_r. */
int sa_re_compile(struct pool *pool, const char *pat, const char *mods,
		  struct sa_re *re, const char **error_r);
void sa_re_free(struct sa_re *re);
/* Extracts the prefilter literals of an already compiled pattern. */
void sa_re_literals(struct pool *pool, const char *pat, bool icase,
		    struct sa_re *re);
/* Plain compile of an internal pattern (abort on error). */
pcre2_code *sa_re_internal(const char *pat, uint32_t options);

/* Per-thread match data big enough for every engine regex. */
pcre2_match_data *sa_match_data(void);
/* 1 match, 0 none; start offset for `multiple` loops. */
int sa_re_match(const struct sa_re *re, const char *s, size_t len,
		size_t start, size_t *end_r);
int sa_pcre_match(const pcre2_code *code, const char *s, size_t len,
		  size_t start, size_t *ovec_r, unsigned max_pairs);

/* sa-prefilter.c */
enum sa_pf_mode {
	SA_PF_ALL,      /* every rule; one without literals always runs */
	SA_PF_MAIN,     /* the same, but agate rules are left to SA_PF_ASCII */
	SA_PF_ASCII,    /* only the agate rules, with their clean-line literals */
	SA_PF_SKEL,     /* only the agate rules with skeleton literals */
};
/* NULL when mode is SA_PF_ASCII or SA_PF_SKEL and no rule is its. */
struct sa_prefilter *sa_prefilter_build(struct sa_engine *e,
					const unsigned *rules, size_t n,
					enum sa_pf_mode mode);
void sa_prefilter_free(struct sa_prefilter **pf);
/* Marks in cand (a byte per rule index) the rules of this prefilter that
   may match text; rules without literals are always marked. */
void sa_prefilter_scan(const struct sa_prefilter *pf, const char *text,
		       size_t len, uint8_t *cand);
void sa_prefilter_mark_all(const struct sa_prefilter *pf, uint8_t *cand);
/* The same line by line (a match never spans lines): for each rule with
   literals, the lines holding one, as a chain from head[rule]
   (UINT32_MAX: none) through next[], newest first.  head must be
   filled with UINT32_MAX by the caller, one entry per rule.  A line
   where fewer literals occur than the rule's lit_count is not entered. */
struct sa_pf_lines {
	uint32_t *head;
	uint32_t *line, *next;
	uint32_t *count;        /* literal occurrences of the rule on the line */
	size_t n, cap;
};
/* skip (NULL: none) marks lines not to scan. */
void sa_prefilter_scan_lines(const struct sa_prefilter *pf, struct pool *pool,
			     const char *const *lines, const size_t *lens, size_t n,
			     const uint8_t *skip, uint8_t *cand, struct sa_pf_lines *out);

/* sa-meta.c */
struct sa_meta *sa_meta_parse(struct sa_engine *e, struct sa_rule *r,
			      const char *expr, const char **error_r);
/* Calls fn for each rule name the expression names. */
void sa_meta_names(const struct sa_meta *m,
		   void (*fn)(void *ctx, const char *name, unsigned *slot),
		   void *ctx);
double sa_meta_eval(const struct sa_meta *m, const double *values);
/* The same over ranges: every rule's value lies in [lo[i], hi[i]]; the
   meta's value is then in [*lo_r, *hi_r] (a sound bound, a point when
   it cannot vary). */
void sa_meta_eval_range(const struct sa_meta *m, const double *lo, const double *hi,
			double *lo_r, double *hi_r);

/* sa-replace.c: applies replace_tag & co. to rule patterns. */
char *sa_replace_tags(struct sa_engine *e, struct pool *pool,
		      const char *pat);
/* The same with each tag defined once and called, for patterns whose
   inlined form is too large for PCRE2. */
char *sa_replace_tags_define(struct sa_engine *e, struct pool *pool,
			     const char *pat);

/* sa-engine.c: glob helper for rules_matching() and freemail. */
bool sa_glob_match(const char *glob, const char *s);
bool sa_is_tld(const struct sa_engine *e, const char *s, size_t len);

/*
 * The message as rules see it (sa-msg.c).
 */

struct sa_hdr {
	const char *name;       /* as written */
	uint32_t name_hash;     /* sa_name_hash(name): a lookup compares it
				   before the name */
	const char *raw;        /* raw value after the colon, line ends kept */
	size_t raw_len;
	const char *dec;        /* unfolded, decoded value (no line end) */
	size_t dec_len;
};

struct sa_part {
	struct sa_part *next;   /* leaves in find_parts order */
	struct sa_part *parent, *children, *sibling;
	const char *type;       /* lower case type/subtype */
	const char *charset;    /* NULL when none */
	const char *name;       /* filename (disposition or type) or NULL */
	const char *cte;        /* lower-cased Content-Transfer-Encoding or "" */
	struct sa_hdr *hdrs;
	size_t n_hdrs;
	const char *raw;        /* raw body */
	size_t raw_len;
	bool leaf;
	/* decoded lazily */
	const char *decoded;
	size_t decoded_len;
	bool decoded_done;
	/* rendered (text/plain, text/html) */
	const char *rendered;
	size_t rendered_len;
	bool rendered_chars;    /* decoded as UTF-8 characters by SA */
	bool rendered_done;
	struct mime_html_result *html;
	double html_ratio;      /* text vs html length, for HTML parts */
	double html_non_space;  /* non-space characters of the rendering */
};

struct sa_relay {
	const char *ip, *by, *helo, *rdns, *ident, *envfrom, *id, *auth;
	bool ip_private, msa, internal, trusted;
	bool no_reverse_dns;       /* the MTA looked rDNS up and found none */
	bool rdns_not_in_headers;  /* the MTA does not record rDNS */
};

struct sa_uri {
	const char *raw;
	unsigned types;         /* SA_UT_* */
	unsigned html_tags;     /* enum mime_html_tag of the tags naming it */
	const char **cleaned;
	size_t n_cleaned;
	const char **anchors;
	size_t n_anchors;
	const char **domains;
	size_t n_domains;
	const char **hosts;
	size_t n_hosts;
};

enum sa_uri_type {
	SA_UT_PARSED = 1 << 0,
	SA_UT_SCHEMELESS = 1 << 1,
	SA_UT_UNLINKED = 1 << 2,
	SA_UT_A = 1 << 3,
	SA_UT_IMG = 1 << 4,
	SA_UT_FORM = 1 << 5,
	SA_UT_OTHER_HTML = 1 << 6,
	SA_UT_DOMAINKEYS = 1 << 7,
};

struct sa_msg {
	struct pool *pool;
	const struct sa_engine *e;
	const char *data;       /* the message (mbox From line removed) */
	size_t len;
	bool crlf;
	const char *header_block; /* pristine header incl. blank line */
	size_t header_len;
	const char *body;       /* pristine body */
	size_t body_len;

	struct sa_hdr *hdrs;
	size_t n_hdrs;
	bool missing_head_body_separator;
	bool truncated_header;
	bool missing_mime_headers;
	bool missing_mime_head_body_separator;
	bool mime_epilogue_exists;
	bool mimepart_limit_exceeded;
	struct sa_part *root;
	struct sa_part *leaves;  /* find_parts(qr/./, 1) order */
	size_t n_leaves;

	/* body as rules see it */
	const char **body_lines;   /* rendered text array, subject first */
	size_t *body_lens;
	size_t n_body;
	const char *body_all;      /* the lines joined (for the prefilter) */
	size_t body_all_len;
	const char **raw_lines;    /* rawbody array */
	size_t *raw_lens;
	size_t n_raw;
	const char *raw_all;
	size_t raw_all_len;
	bool body_done, raw_done;
	/* html of the first text/html part, and all of them */
	struct mime_html_result **htmls;
	size_t n_htmls;

	struct sa_uri *uris;
	size_t n_uris, cap_uris;
	struct hash *uri_index;
	const char **uri_list;     /* every cleaned URI, unique */
	size_t n_uri_list;
	bool uris_done;
	const char *uri_all;
	size_t uri_all_len;

	/* relays */
	struct sa_relay *relays;   /* parsed Received, top (newest) first */
	size_t n_relays;
	size_t n_trusted;          /* relays[0..n_trusted) are trusted (SA order) */
	size_t n_internal;
	const char *relays_trusted_str, *relays_untrusted_str;
	const char *relays_internal_str, *relays_external_str;
	size_t n_received_unparsed;
	long last_trusted_idx;     /* SpamAssassin's last_trusted_relay_index */
	long last_internal_idx;
	bool relays_done;

	const char *envelope_from;
	bool envelope_from_done;
	const struct sa_scan_info *info;

	struct hash *get_cache;    /* request -> struct sa_hval * */
	bool mime_missing_boundary;
	size_t pristine_body_length;
	/* parts in find_parts order, every node (multiparts and the root too) */
	struct sa_part **all_parts;
	size_t n_all_parts;
};

/* A header request's value as header rules match it. */
struct sa_hval {
	const char **vals;      /* every value (list context) */
	size_t *lens;
	size_t n;
	const char *joined;     /* as matched (joined with "\n" when needed) */
	size_t joined_len;
};

struct sa_msg *sa_msg_parse(struct pool *pool, const struct sa_engine *e,
			    const void *data, size_t len,
			    const struct sa_scan_info *info);
/* get(): "From:addr", "ALL", "ToCc" ... (cached). */
const struct sa_hval *sa_msg_get(struct sa_msg *m, const char *request);
/* $pms->get() in scalar context: the first value (:addr and the like,
   EnvelopeFrom) or all values joined; "" when absent, and *present_r
   (may be NULL) false. */
const char *sa_get(struct sa_msg *m, const char *request, bool *present_r);
/* A header name's hash, case ignored (sa_hdr.name_hash). */
uint32_t sa_name_hash(const char *name);
/* The last value of a header (decoded), or NULL. */
const char *sa_msg_header(struct sa_msg *m, const char *name, size_t *len_r);
/* Body arrays. */
void sa_msg_body(struct sa_msg *m);
void sa_msg_rawbody(struct sa_msg *m);
void sa_msg_uris(struct sa_msg *m);
void sa_msg_relays(struct sa_msg *m);
const char *sa_msg_envelope_from(struct sa_msg *m);
const char *sa_part_decode(struct sa_msg *m, struct sa_part *p, size_t *len_r);
void sa_part_render(struct sa_msg *m, struct sa_part *p);
const char *sa_part_header(const struct sa_part *p, const char *name,
			   size_t *len_r);
/* Decodes a header value as SpamAssassin's _decode_header does. */
char *sa_decode_header(struct pool *pool, const char *name, const char *v,
		       size_t len, size_t *len_r);

/* sa-addr.c */
struct sa_addr {
	const char *phrase;     /* display name or comment, NULL if none */
	const char *address;    /* user@host or NULL */
	const char *user, *host;
	bool invalid;
};
size_t sa_parse_addresses(struct pool *pool, const char *s, size_t len,
			  struct sa_addr **r);
bool sa_is_fqdn_valid(const struct sa_engine *e, const char *host, size_t len);
/* The registered domain (RegistryBoundaries::trim_domain). */
const char *sa_trim_domain(const struct sa_engine *e, struct pool *pool,
			   const char *host);
/* (domain, host) of a URI or an address, or NULL (uri_to_domain). */
const char *sa_uri_to_domain(const struct sa_engine *e, struct pool *pool,
			     const char *uri, const char **host_r);

/* sa-received.c */
void sa_received_parse(struct sa_msg *m);

/*
 * Evals (sa-eval*.c)
 */
enum sa_eval_kind {
	SA_EK_HEAD = 1 << 0,
	SA_EK_BODY = 1 << 1,
	SA_EK_RAWBODY = 1 << 2,
	SA_EK_FULL = 1 << 3,
	SA_EK_ANY = 0xf,
};

/* Returns the value (0 = no hit; > 0 the meta value). */
typedef double sa_eval_fn(struct sa_scan *s, const struct sa_rule *r,
			  const struct sa_eval_call *c);
/* Checks/compiles arguments at load; 0 or -1 with *error_r. */
typedef int sa_eval_prep_fn(struct sa_engine *e, struct sa_rule *r,
			    struct sa_eval_call *c, const char **error_r);

struct sa_eval_def {
	const char *name;
	sa_eval_fn *fn;         /* NULL: known but not implemented */
	sa_eval_prep_fn *prep;
	const char *why;        /* for unimplemented: "network", "Bayes"... */
};

extern const struct sa_eval_def *sa_evals;
extern size_t sa_n_evals;
int sa_eval_lookup(const char *name);

/* SpamAssassin's parse_rfc822_date(): seconds, or -1 when no date. */
int64_t sa_parse_date(const char *s);
/* The RegistryBoundaries TLD alternation, for patterns that need it. */
const char *sa_tlds_re(const struct sa_engine *e, struct pool *pool);

/* Per-scan state shared by the runner and the evals. */
struct sa_scan {
	const struct sa_engine *e;
	struct pool *pool;
	struct sa_msg *m;
	double *value;          /* per rule: hits (0 = not hit) */
	bool with_stats;
	double *usec;
	/* per rule, when rules were deferred: 1 deferred, 2 deferred and
	   needed, 3 a meta walked (sa-scan.c) */
	uint8_t *need;
	/* per rule, the header rules a header table (sa_engine.pf_header)
	   lets through; per header request, whether its table has run */
	uint8_t *cand;
	uint8_t *hscanned;
	/* caches for evals */
	void *cache[16];
};

/* uri_detail rules (URIDetail plugin), sa-eval-uri.c */
double sa_eval_uri_detail(struct sa_scan *s, const struct sa_rule *r);
/* Frees what the evals of one scan keep outside its pool. */
void sa_eval_scan_done(struct sa_scan *s);

/* Small helpers for evals */
const char *sa_arg(const struct sa_eval_call *c, unsigned i);
double sa_arg_num(const struct sa_eval_call *c, unsigned i, double def);

#endif

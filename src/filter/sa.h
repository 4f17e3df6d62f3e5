#ifndef OMBU_SA_H
#define OMBU_SA_H

/*
 * The SpamAssassin-language rules engine.
 *
 * Loads SpamAssassin rule files (the Debian `spamassassin` package's
 * /usr/share/spamassassin/ *.cf, about 2,900 rules, plus a local folder
 * that overrides them) and scores messages with them, the way
 * `spamassassin -L` does with Bayes off: score set 0, network tests and
 * Bayes never hit.  docs/filter-rules.md lists what is supported and what
 * is not; docs/filter-parity.md measures the agreement with SpamAssassin.
 *
 * Life cycle and threads: an engine is loaded once (worker start, and
 * again on SIGHUP: load a new one, swap, free the old one when no scan
 * uses it) and never changes afterwards.  Any number of threads may scan
 * with one engine at the same time; a scan keeps its scratch space (PCRE2
 * match data, the rendered message) in the caller's pool and in
 * thread-local storage, never in the engine.
 *
 * Blocking: loading reads files and compiles ~3,000 regular expressions
 * (PCRE2 JIT), about a second; scanning is CPU work of a few milliseconds
 * per message.  Both belong on a worker thread, never on the event loop.
 */

#include <stdbool.h>
#include <stddef.h>

struct pool;
struct sa_engine;

/* Called for every problem found while loading: a rule that does not
   compile, a bad line, an unknown conditional.  msg is one line,
   "file:line: rule NAME: what" for a rule, "file:line: what" otherwise;
   it is valid only during the call. */
typedef void sa_warn_fn(void *ctx, const char *msg);

/*
 * Loads every *.cf file of sa_dir in name order (C collation, like
 * SpamAssassin), then every *.cf file of local_dir (may be NULL or
 * missing), whose definitions override earlier ones: a rule defined again
 * replaces the first definition, a later `score` line wins.
 *
 * plugins: the SpamAssassin plugins that count as loaded for `ifplugin`
 * and `if plugin(...)`, by full name ("Mail::SpamAssassin::Plugin::
 * HTMLEval") or short name ("HTMLEval"), NULL-terminated.  NULL means
 * sa_default_plugins: Debian's /etc/spamassassin/ *.pre set, which is what
 * the parity measurement compares against.
 *
 * A rule that fails to compile (a regular expression PCRE2 refuses even
 * after translation, a meta with a syntax error, an eval with bad
 * arguments) is reported through warn_fn and skipped; it never fails the
 * load.  Returns NULL with *error_r (a static or thread-local string) only
 * when sa_dir cannot be read or holds no .cf file.
 */
struct sa_engine *sa_engine_load(const char *sa_dir, const char *local_dir,
				 const char *const *plugins, sa_warn_fn *warn_fn,
				 void *ctx, const char **error_r);
void sa_engine_free(struct sa_engine **e);

/* The plugin list used when sa_engine_load() gets NULL. */
extern const char *const sa_default_plugins[];

/* Rules defined (every type, `__` sub-rules included, disabled ones
   included) and rules that can hit (score not 0, supported, not a
   network or Bayes test). */
size_t sa_engine_rule_count(const struct sa_engine *e);
size_t sa_engine_active_count(const struct sa_engine *e);

/* What the envelope says.  Every field may be NULL (`ombu check` has no
   envelope).  envelope_from is used for the EnvelopeFrom pseudo-header
   when the message has no Return-Path; client_ip and helo are not used
   for scoring yet (the MX's own Received line carries them). */
struct sa_scan_info {
	const char *envelope_from;
	const char *const *rcpts;
	size_t n_rcpts;
	const char *client_ip;
	const char *helo;
};

struct sa_hit {
	const char *name;      /* engine-owned, lives as long as the engine */
	double score;          /* the score it added (times hits for `multiple`) */
	const char *describe;  /* engine-owned; "" when the rule has none */
	double usec;           /* time spent in the rule (with_stats only) */
};

struct sa_result {
	double score;          /* sum of hits, rounded to 3 decimals like SA */
	struct sa_hit *hits;   /* scored rules hit, by name; no `__` rules */
	size_t n_hits;
	bool gtube;            /* the GTUBE test string was present */
	/* with_stats: the `__` sub-rules hit too, and every rule that ran
	   with its time, slowest first (hits and misses). */
	const char **subrules;
	size_t n_subrules;
	struct sa_hit *timings;
	size_t n_timings;
	double scan_usec;      /* whole scan */
};

/*
 * Scans one complete message (header and body, CRLF or LF line ends; an
 * mbox "From " line is ignored like SpamAssassin does).  Everything in
 * *r is allocated from pool.  Returns 0; -1 only on misuse (NULL engine
 * or message), with r->score 0.  Blocking CPU work: call it on a thread.
 *
 * with_stats adds per-rule times and the sub-rules (slower: every rule is
 * timed); `ombu check --stats` uses it.
 */
int sa_engine_scan(const struct sa_engine *e, struct pool *pool,
		   const void *msg, size_t len, const struct sa_scan_info *info,
		   bool with_stats, struct sa_result *r);

/*
 * What the engine does not support, for `ombu check --stats` and
 * docs/filter-rules.md.  Each entry is one eval function or rule type
 * left out, and the rules (with a score in set 0) that need it.  The
 * arrays live as long as the engine.
 */
struct sa_unsupported {
	const char *what;       /* "eval:check_dkim_valid" or "rule type askdns" */
	const char *why;        /* "network", "Bayes", "not implemented", ... */
	const char *const *rules;
	size_t n_rules;
};
size_t sa_engine_unsupported(const struct sa_engine *e,
			     const struct sa_unsupported **list_r);

/* Count of eval functions the engine implements, and their names
   (NULL-terminated, static). */
size_t sa_eval_supported(const char *const **names_r);

#endif

/*
 * SpamAssassin configuration files, line by line, as Conf/Parser.pm
 * reads them: comments (an unescaped #) removed, `lang xx` lines for
 * other languages skipped, if/ifplugin/else/endif with a stack that a
 * file's end resets, then one command per line.  Rule definitions are
 * checked (and their regular expressions compiled) when they are read,
 * like SpamAssassin's add_test(): a definition that fails is reported
 * and leaves any earlier definition of the same name in place.
 *
 * Settings that do not change what a rule hits (report templates, DNS
 * options, Bayes and AWL settings, welcome lists of authenticated
 * senders...) are accepted and ignored.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"

#define SA_IF_DEPTH 64

const char *const sa_type_names[SA_T_COUNT] = {
	[SA_T_HEADER] = "header", [SA_T_BODY] = "body", [SA_T_RAWBODY] = "rawbody",
	[SA_T_FULL] = "full", [SA_T_URI] = "uri", [SA_T_META] = "meta",
	[SA_T_EVAL_HEAD] = "header eval", [SA_T_EVAL_BODY] = "body eval",
	[SA_T_EVAL_RAWBODY] = "rawbody eval", [SA_T_EVAL_FULL] = "full eval",
	[SA_T_EVAL_RBL] = "rbl eval", [SA_T_MIMEHEADER] = "mimeheader",
	[SA_T_URI_DETAIL] = "uri_detail", [SA_T_EMPTY] = "reuse",
	[SA_T_NETWORK] = "network",
};

/* `can(Module::method)` answers of SpamAssassin 4.0.1: Conf features
   always, plugin methods only when the plugin is loaded. */
static const char *const can_conf[] = {
	"feature_originating_ip_headers", "feature_dns_local_ports_permit_avoid",
	"feature_bayes_auto_learn_on_error", "feature_uri_host_listed",
	"feature_yesno_takes_args", "feature_bug6558_free", "feature_edns",
	"feature_dns_query_restriction", "feature_registryboundaries",
	"feature_geodb", "feature_dns_block_rule", "feature_compile_regexp",
	"feature_meta_rules_matching", "feature_subjprefix", "feature_bayes_stopwords",
	"feature_get_host", "feature_blocklist_welcomelist",
	"feature_welcomelist_blocklist", "feature_header_address_parser",
	"feature_local_tests_only", "feature_header_first_last",
	"feature_header_match_many", "feature_capture_rules", "has_tflags_nosubject",
	"has_tflags_nolog", "perl_min_version_5010000",
};

static const char *const can_plugin[] = {
	"BodyEval::has_check_body_length",
	"MIMEEval::has_check_abundant_unicode_ratio",
	"MIMEEval::has_check_for_ascii_text_illegal",
	"MIMEEval::has_check_qp_ratio",
	"DKIM::has_arc",
	"URIDNSBL::has_uridnsbl_for_a",
	"URIDNSBL::has_uridnsbl_a_ns",
	"URIDNSBL::has_tflags_domains_only",
	"URIDNSBL::has_tflags_ips_only",
	"URIDNSBL::has_uridnsbl_skip_mailto",
	"SPF::has_check_for_spf_errors",
	"SPF::has_check_spf_skipped_noenvfrom",
	"AskDNS::has_tag_header",
	"HashBL::has_hashbl_bodyre",
	"HashBL::has_hashbl_emails",
	"HashBL::has_hashbl_uris",
	"HashBL::has_hashbl_ignore",
	"HashBL::has_hashbl_tag",
	"ASN::has_check_asn",
	"DecodeShortURLs::has_short_url",
	"DecodeShortURLs::has_short_url_redir",
	"DecodeShortURLs::has_get",
};

void sa_warn(struct sa_engine *e, const char *fmt, ...)
{
	char msg[1024];
	int n;
	va_list ap;

	if (e->warn_fn == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "%s:%u: ", e->cur_file ? e->cur_file : "(none)",
		     e->cur_line);
	n = MIN(n, (int)sizeof(msg) - 1); /* a path longer than msg */
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	e->warn_fn(e->warn_ctx, msg);
}

void sa_rule_warn(struct sa_engine *e, const struct sa_rule *r, const char *fmt, ...)
{
	char msg[1024];
	int n;
	va_list ap;

	if (e->warn_fn == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "%s:%u: rule %s: ", r->file ? r->file : "(none)",
		     r->line, r->name);
	n = MIN(n, (int)sizeof(msg) - 1);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	e->warn_fn(e->warn_ctx, msg);
}

static bool is_rulename(const char *s)
{
	size_t n = 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return n <= 128;
}

struct sa_rule *sa_rule_get(const struct sa_engine *e, const char *name)
{
	return hash_get_str(e->by_name, name);
}

/* Splits "NAME rest" (both trimmed); *rest_r "" when none. */
static char *split_word(struct pool *pool, const char *v, const char **rest_r)
{
	const char *p = v;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	char *w = pool_strndup(pool, v, (size_t)(p - v));
	while (*p == ' ' || *p == '\t')
		p++;
	*rest_r = p;
	return w;
}

/* Defines (or redefines) a rule with its common fields; the caller
   fills the type-specific ones.  Returns NULL when the name is bad. */
static struct sa_rule *rule_new(struct sa_engine *e, const char *name,
				enum sa_type type, const char *text)
{
	struct sa_rule *r;

	if (!is_rulename(name)) {
		sa_warn(e, "rule '%s' has invalid characters", name);
		return NULL;
	}
	if (strlen(name) > 100) {
		sa_warn(e, "rule '%s' is too long", name);
		return NULL;
	}
	r = pool_alloc(e->pool, sizeof(*r));
	r->name = pool_strdup(e->pool, name);
	r->type = type;
	r->file = e->cur_file;
	r->line = e->cur_line;
	r->text = pool_strdup(e->pool, text);
	r->hslot = -1;
	r->eval.fn = -1;
	return r;
}

static void uri_detail_free(struct sa_uri_detail *d)
{
	for (; d != NULL; d = d->next)
		sa_re_free(&d->re);
}

/* Installs a checked definition: replaces an earlier one in place so
   that definition order (for `rules_matching`) stays the first. */
static void rule_install(struct sa_engine *e, struct sa_rule *r)
{
	struct sa_rule *old = hash_get_str(e->by_name, r->name);
	if (old != NULL) {
		sa_re_free(&old->re);
		uri_detail_free(old->ud);
		r->idx = old->idx;
		e->rules[r->idx] = r;
	} else {
		if (e->n_rules == e->cap_rules) {
			size_t nc = e->cap_rules ? e->cap_rules * 2 : 1024;
			e->rules = pool_realloc(e->pool, e->rules, sizeof(*e->rules) * e->cap_rules,
						sizeof(*e->rules) * nc);
			e->cap_rules = nc;
		}
		r->idx = (unsigned)e->n_rules;
		e->rules[e->n_rules++] = r;
	}
	hash_put(e->by_name, r->name, strlen(r->name), r);
}

/* /re/mods: compiled now so that a broken pattern is reported at its
   line (JIT comes when the engine is finished). */
static int rule_regex(struct sa_engine *e, struct sa_rule *r, const char *text,
		      struct sa_re *re)
{
	char *pat, *mods;
	const char *err;

	if (sa_re_split(e->pool, text, &pat, &mods, &err) < 0 ||
	    sa_re_compile(e->pool, pat, mods, re, &err) < 0) {
		sa_rule_warn(e, r, "invalid regexp '%s': %s", text, err);
		return -1;
	}
	if (strstr(pat, "%{") != NULL) {
		/* capture templates (%{TAG}) need the capturing rules: a rule
		   using one runs only once its tag exists, which we never set */
		sa_re_free(re);
		sa_rule_warn(e, r, "capture template %%{...} not supported");
		return -1;
	}
	return 0;
}

static const char *const hmod_names[] = {
	"raw", "addr", "name", "host", "domain", "ip", "revip", "first", "last",
};

static void def_header(struct sa_engine *e, const char *name, const char *v)
{
	struct sa_rule *r;

	if (strncmp(v, "eval:", 5) == 0 || strncmp(v, "rbleval:", 8) == 0) {
		const char *fn = strchr(v, ':') + 1;
		bool rbl = strncmp(fn, "check_rbl", 9) == 0 || strncmp(fn, "check_dns", 9) == 0;
		size_t l = strlen(fn);
		const char *paren = strchr(fn, '(');
		if (paren == NULL || l == 0 || fn[l - 1] != ')' || paren == fn) {
			sa_warn(e, "rule %s: invalid eval '%s'", name, fn);
			return;
		}
		r = rule_new(e, name, rbl ? SA_T_EVAL_RBL : SA_T_EVAL_HEAD, fn);
		if (r != NULL)
			rule_install(e, r);
		return;
	}
	r = rule_new(e, name, SA_T_HEADER, v);
	if (r == NULL)
		return;
	if (strncmp(v, "exists:", 7) == 0) {
		const char *h = v + 7;
		size_t l = strlen(h);
		if (l > 0 && h[l - 1] == ':')
			l--;
		for (size_t i = 0; i < l; i++) {
			char c = h[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
				sa_rule_warn(e, r, "invalid head test header: %s", h);
				return;
			}
		}
		if (l == 0) {
			sa_rule_warn(e, r, "invalid head test header: %s", h);
			return;
		}
		r->hdr = pool_strndup(e->pool, h, l);
		r->exists = true;
		rule_install(e, r);
		return;
	}
	/* ^([\w.-]+(?::|(?::[a-z]+){1,2})?)\s*([=!]~)\s*(.+)$ */
	const char *p = v;
	while (*p != '\0' && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
		p++;
	if (p == v) {
		sa_rule_warn(e, r, "invalid head test: %s", v);
		return;
	}
	r->hdr = pool_strndup(e->pool, v, (size_t)(p - v));
	unsigned nmods = 0;
	while (*p == ':') {
		const char *q = ++p;
		while (*p >= 'a' && *p <= 'z')
			p++;
		if (p == q)
			break; /* a trailing colon */
		size_t l = (size_t)(p - q);
		unsigned i;
		for (i = 0; i < N_ELEMENTS(hmod_names); i++)
			if (strlen(hmod_names[i]) == l && strncmp(hmod_names[i], q, l) == 0)
				break;
		if (i == N_ELEMENTS(hmod_names) || ++nmods > 2) {
			sa_rule_warn(e, r, "invalid header modifier: %.*s", (int)l, q);
			return;
		}
		r->hmods |= 1u << i;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if ((p[0] != '=' && p[0] != '!') || p[1] != '~') {
		sa_rule_warn(e, r, "invalid head test: %s", v);
		return;
	}
	r->neg = p[0] == '!';
	p += 2;
	while (*p == ' ' || *p == '\t')
		p++;
	char *pat = pool_strdup(e->pool, p);
	/* \s+\[if-unset:\s+(.+)\]$ */
	size_t pl = strlen(pat);
	if (pl > 0 && pat[pl - 1] == ']') {
		char *u = strstr(pat, "[if-unset:");
		while (u != NULL) {
			char *next = strstr(u + 1, "[if-unset:");
			if (next == NULL)
				break;
			u = next;
		}
		if (u != NULL && u > pat && (u[-1] == ' ' || u[-1] == '\t') &&
		    (u[10] == ' ' || u[10] == '\t')) {
			char *val = u + 10;
			while (*val == ' ' || *val == '\t')
				val++;
			r->if_unset = pool_strndup(e->pool, val, (size_t)(pat + pl - 1 - val));
			char *t = u;
			while (t > pat && (t[-1] == ' ' || t[-1] == '\t'))
				t--;
			*t = '\0';
		}
	}
	if (rule_regex(e, r, pat, &r->re) < 0)
		return;
	rule_install(e, r);
}

static void def_simple(struct sa_engine *e, const char *name, const char *v,
		       enum sa_type type, enum sa_type evtype)
{
	struct sa_rule *r;

	if (evtype != SA_T_COUNT && strncmp(v, "eval:", 5) == 0) {
		const char *fn = v + 5;
		size_t l = strlen(fn);
		const char *paren = strchr(fn, '(');
		if (paren == NULL || paren == fn || fn[l - 1] != ')') {
			sa_warn(e, "rule %s: invalid eval '%s'", name, fn);
			return;
		}
		r = rule_new(e, name, evtype, fn);
		if (r != NULL)
			rule_install(e, r);
		return;
	}
	r = rule_new(e, name, type, v);
	if (r == NULL)
		return;
	if (rule_regex(e, r, v, &r->re) < 0)
		return;
	rule_install(e, r);
}

/* META_RULES_MATCHING_RE replaced by " 0 " for the validity check. */
static char *strip_rules_matching(struct pool *pool, const char *v)
{
	struct buf b;
	buf_init_pool(&b, pool, 0);
	const char *p = v;
	for (;;) {
		const char *f = strstr(p, "rules_matching(");
		if (f == NULL)
			break;
		const char *c = strchr(f, ')');
		if (c == NULL)
			break;
		buf_append(&b, p, (size_t)(f - p));
		buf_append_str(&b, " 0 ");
		p = c + 1;
	}
	buf_append_str(&b, p);
	return (char *)buf_cstr(&b);
}

static void def_meta(struct sa_engine *e, const char *name, const char *v)
{
	const char *err;
	struct sa_rule *r;

	if (strstr(v, "**") != NULL) {
		sa_warn(e, "rule %s: invalid '**' operator in meta", name);
		return;
	}
	r = rule_new(e, name, SA_T_META, v);
	if (r == NULL)
		return;
	if (sa_meta_parse(e, r, strip_rules_matching(e->pool, v), &err) == NULL) {
		/* the reason must survive a long expression */
		sa_rule_warn(e, r, "invalid expression \"%.200s%s\": %s", v,
			     strlen(v) > 200 ? "..." : "", err);
		return;
	}
	rule_install(e, r);
}

static void def_mimeheader(struct sa_engine *e, const char *name, const char *v)
{
	struct sa_rule *r = rule_new(e, name, SA_T_MIMEHEADER, v);
	if (r == NULL)
		return;
	/* ^([^:\s]+(?:\:(?:raw)?)?)\s*([=!]~)\s*(.+)$ */
	const char *p = v;
	while (*p != '\0' && *p != ':' && *p != ' ' && *p != '\t' && *p != '=' && *p != '!')
		p++;
	r->hdr = pool_strndup(e->pool, v, (size_t)(p - v));
	if (*p == ':') {
		p++;
		if (strncmp(p, "raw", 3) == 0) {
			r->hmods |= SA_HM_RAW;
			p += 3;
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if ((p[0] != '=' && p[0] != '!') || p[1] != '~' || r->hdr[0] == '\0') {
		sa_rule_warn(e, r, "invalid mimeheader: %s", v);
		return;
	}
	r->neg = p[0] == '!';
	p += 2;
	while (*p == ' ' || *p == '\t')
		p++;
	char *pat = pool_strdup(e->pool, p);
	char *u = strstr(pat, " [if-unset:");
	if (u != NULL && pat[strlen(pat) - 1] == ']') {
		char *val = u + 11;
		while (*val == ' ')
			val++;
		r->if_unset = pool_strndup(e->pool, val, strlen(val) - 1);
		*u = '\0';
	}
	if (rule_regex(e, r, pat, &r->re) < 0)
		return;
	rule_install(e, r);
}

/* uri_detail NAME key =~ /re/ [key !~ /re/ ...] */
static void def_uri_detail(struct sa_engine *e, const char *name, const char *v)
{
	struct sa_rule *r = rule_new(e, name, SA_T_URI_DETAIL, v);
	struct sa_uri_detail **tail;
	const char *p = v;

	if (r == NULL)
		return;
	tail = &r->ud;
	while (*p != '\0') {
		const char *k = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		char *key = pool_strndup(e->pool, k, (size_t)(p - k));
		while (*p == ' ' || *p == '\t')
			p++;
		if ((p[0] != '=' && p[0] != '!') || p[1] != '~') {
			sa_rule_warn(e, r, "invalid uri_detail: %s", v);
			goto fail;
		}
		bool neg = p[0] == '!';
		p += 2;
		while (*p == ' ' || *p == '\t')
			p++;
		/* the pattern runs to its closing delimiter followed by
		   modifiers and white space; "m" or nothing at the end of the
		   line has no delimiter to skip */
		const char *s = p;
		if (*p == 'm')
			p++;
		char open = *p;
		char close = open == '{' ? '}' : open == '(' ? ')' : open == '<' ? '>' :
			     open == '[' ? ']' : open;
		if (open != '\0')
			p++;
		while (*p != '\0' && *p != close) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			p++;
		}
		if (*p == '\0') {
			sa_rule_warn(e, r, "invalid uri_detail pattern: %s", s);
			goto fail;
		}
		p++;
		while (*p >= 'a' && *p <= 'z')
			p++;
		struct sa_uri_detail *d = pool_alloc(e->pool, sizeof(*d));
		d->key = key;
		d->neg = neg;
		if (rule_regex(e, r, pool_strndup(e->pool, s, (size_t)(p - s)), &d->re) < 0)
			goto fail;
		*tail = d;
		tail = &d->next;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	rule_install(e, r);
	return;
fail:
	/* the patterns compiled so far belong to no rule */
	uri_detail_free(r->ud);
}

/* Rule types of network plugins: known, never run. */
static void def_network(struct sa_engine *e, const char *key, const char *name,
			const char *v)
{
	struct sa_rule *r = rule_new(e, name, SA_T_NETWORK, v);
	if (r != NULL) {
		r->hdr = pool_strdup(e->pool, key); /* the rule type */
		rule_install(e, r);
	}
}

static void set_score(struct sa_engine *e, const char *v)
{
	const char *rest;
	char *name = split_word(e->pool, v, &rest);
	double vals[4];
	int n = 0;
	bool relative = false;

	while (*rest != '\0' && n < 5) {
		const char *s;
		char *w = split_word(e->pool, rest, &s);
		rest = s;
		size_t l = strlen(w);
		if (l >= 2 && w[0] == '(' && w[l - 1] == ')') {
			relative = true;
			w[l - 1] = '\0';
			w++;
		}
		char *end;
		/* ^-?\d+(?:\.\d+)?$ */
		const char *q = w;
		if (*q == '-')
			q++;
		bool ok = *q >= '0' && *q <= '9';
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == '.') {
			q++;
			ok = ok && *q >= '0' && *q <= '9';
			while (*q >= '0' && *q <= '9')
				q++;
		}
		if (!ok || *q != '\0') {
			sa_warn(e, "score: the non-numeric score (%s) is not valid", w);
			return;
		}
		if (n < 4)
			vals[n] = strtod(w, &end);
		n++;
	}
	if (name[0] == '\0' || (n != 1 && n != 4)) {
		sa_warn(e, "score: requires a symbolic rule name and 1 or 4 scores");
		return;
	}
	double *old = hash_get_str(e->scores, name);
	if (relative && old == NULL) {
		sa_warn(e, "score: relative score without previous setting");
		return;
	}
	double *d = old != NULL ? old : pool_alloc(e->pool, sizeof(*d));
	*d = relative ? *d + vals[0] : vals[0];
	*d += 0.0;
	hash_put(e->scores, name, strlen(name), d);
}

static void set_kv(struct sa_engine *e, struct hash *h, const char *v)
{
	const char *rest;
	char *k = split_word(e->pool, v, &rest);
	if (k[0] == '\0' || rest[0] == '\0') {
		sa_warn(e, "missing value");
		return;
	}
	hash_put(h, k, strlen(k), pool_strdup(e->pool, rest));
}

static void set_words(struct sa_engine *e, struct hash *h, const char *v, bool lower)
{
	const char *p = v;
	while (*p != '\0') {
		const char *rest;
		char *w = split_word(e->pool, p, &rest);
		p = rest;
		if (w[0] == '\0')
			break;
		if (lower)
			str_lcase(w);
		hash_put(h, w, strlen(w), (void *)1);
	}
}

static void set_freemail(struct sa_engine *e, const char *v)
{
	const char *p = v;
	while (*p != '\0') {
		const char *rest;
		char *w = split_word(e->pool, p, &rest);
		p = rest;
		if (w[0] == '\0')
			break;
		str_lcase(w);
		if (strpbrk(w, "*?") != NULL) {
			e->freemail_globs = pool_realloc(e->pool, e->freemail_globs,
							 sizeof(char *) * e->n_freemail_globs,
							 sizeof(char *) * (e->n_freemail_globs + 1));
			e->freemail_globs[e->n_freemail_globs++] = w;
		} else {
			hash_put(e->freemail, w, strlen(w), (void *)1);
		}
	}
}

static void set_redirector(struct sa_engine *e, const char *v)
{
	char *pat, *mods;
	const char *err;
	struct sa_re re;

	if (sa_re_split(e->pool, v, &pat, &mods, &err) < 0 ||
	    sa_re_compile(e->pool, pat, mods, &re, &err) < 0) {
		sa_warn(e, "invalid redirector_pattern '%s': %s", v, err);
		return;
	}
	e->redirectors = pool_realloc(e->pool, e->redirectors,
				      sizeof(pcre2_code *) * e->n_redirectors,
				      sizeof(pcre2_code *) * (e->n_redirectors + 1));
	e->redirectors[e->n_redirectors++] = re.code;
}

static void set_enlist_uri_host(struct sa_engine *e, const char *v)
{
	/* enlist_uri_host (LISTNAME) host ... */
	if (v[0] != '(')
		return;
	const char *c = strchr(v, ')');
	if (c == NULL)
		return;
	char *list = pool_strndup(e->pool, v + 1, (size_t)(c - v - 1));
	struct hash *h = hash_get_str(e->enlist_uri_host, list);
	if (h == NULL) {
		h = hash_create(64);
		hash_put(e->enlist_uri_host, list, strlen(list), h);
	}
	set_words(e, h, c + 1 + strspn(c + 1, " \t"), true);
}

static const char *const ignored_settings[] = {
	"add_header", "adsp_override", "bayes_ignore_header", "bayes_auto_learn",
	"bayes_stopword_de", "clear_headers", "clear_report_template",
	"clear_unsafe_report_template", "def_welcomelist_auth", "def_whitelist_auth",
	"def_welcomelist_from_dkim", "def_whitelist_from_dkim", "def_welcomelist_from_spf",
	"def_whitelist_from_spf", "dns_local_ports_avoid", "dns_block_rule",
	"enlist_addrlist", "fns_check", "fns_ignore_dkim", "fns_ignore_headers",
	"lang", "ok_languages", "ok_locales", "report",
	"report_contact", "report_safe", "required_score", "unsafe_report",
	"uridnsbl_skip_domain", "url_shortener_get", "use_bayes", "use_auto_welcomelist",
	"report_charset", "welcomelist_from", "whitelist_from", "blocklist_from",
	"blacklist_from", "require_version", "bayes_auto_learn_threshold_spam",
	"bayes_auto_learn_threshold_nonspam", "enable_compat", "loadplugin",
	"tryplugin", "dns_server", "dns_available", "skip_rbl_checks",
	"trusted_networks", "internal_networks", "msa_networks", "util_rb_tld_clear",
	"askdns_tag", "hashbl_acl_freemail", "hashbl_ignore", "hashbl_email_domain",
	"hashbl_email_domain_alias", "hashbl_email_regex", "hashbl_email_welcomelist",
	"hashbl_email_whitelist", "clear_util_rb", "whitelist_auth", "welcomelist_auth",
	"freemail_import_welcomelist_auth", "freemail_import_whitelist_auth",
	"freemail_import_def_welcomelist_auth", "freemail_import_def_whitelist_auth",
	"freemail_max_body_emails", "freemail_max_body_freemails", "freemail_skip_bulk_envfrom",
	"freemail_skip_when_over_max", "subjprefix", "rewrite_header",
};

static bool ignored(const char *key)
{
	if (strncmp(key, "bayes_", 6) == 0 || strncmp(key, "dns_", 4) == 0 ||
	    strncmp(key, "clear_", 6) == 0 || strncmp(key, "def_", 4) == 0 ||
	    strncmp(key, "txrep_", 6) == 0 || strncmp(key, "auto_", 5) == 0)
		return true;
	for (size_t i = 0; i < N_ELEMENTS(ignored_settings); i++)
		if (strcmp(key, ignored_settings[i]) == 0)
			return true;
	return false;
}

static void command(struct sa_engine *e, const char *key, const char *v)
{
	const char *rest;
	char *name;

	if (strcmp(key, "header") == 0 || strcmp(key, "body") == 0 ||
	    strcmp(key, "rawbody") == 0 || strcmp(key, "full") == 0 ||
	    strcmp(key, "uri") == 0 || strcmp(key, "meta") == 0 ||
	    strcmp(key, "mimeheader") == 0 || strcmp(key, "uri_detail") == 0 ||
	    strcmp(key, "askdns") == 0 || strcmp(key, "urirhssub") == 0 ||
	    strcmp(key, "urirhsbl") == 0 || strcmp(key, "uridnsbl") == 0 ||
	    strcmp(key, "uridnssub") == 0 || strcmp(key, "urinsrhsbl") == 0 ||
	    strcmp(key, "urinsrhssub") == 0 || strcmp(key, "urifullnsrhsbl") == 0 ||
	    strcmp(key, "urifullnsrhssub") == 0 || strcmp(key, "urianamesrhsbl") == 0) {
		name = split_word(e->pool, v, &rest);
		if (name[0] == '\0') {
			sa_warn(e, "%s: invalid value", key);
			return;
		}
		if (rest[0] == '\0') {
			sa_warn(e, "rule %s: missing '%s' value", name, key);
			return;
		}
		if (strcmp(key, "header") == 0)
			def_header(e, name, rest);
		else if (strcmp(key, "body") == 0)
			def_simple(e, name, rest, SA_T_BODY, SA_T_EVAL_BODY);
		else if (strcmp(key, "rawbody") == 0)
			def_simple(e, name, rest, SA_T_RAWBODY, SA_T_EVAL_RAWBODY);
		else if (strcmp(key, "full") == 0)
			def_simple(e, name, rest, SA_T_FULL, SA_T_EVAL_FULL);
		else if (strcmp(key, "uri") == 0)
			def_simple(e, name, rest, SA_T_URI, SA_T_COUNT);
		else if (strcmp(key, "meta") == 0)
			def_meta(e, name, rest);
		else if (strcmp(key, "mimeheader") == 0)
			def_mimeheader(e, name, rest);
		else if (strcmp(key, "uri_detail") == 0)
			def_uri_detail(e, name, rest);
		else
			def_network(e, key, name, rest);
		return;
	}
	if (strcmp(key, "score") == 0) {
		set_score(e, v);
	} else if (strcmp(key, "describe") == 0) {
		set_kv(e, e->describes, v);
	} else if (strcmp(key, "tflags") == 0) {
		set_kv(e, e->tflags, v);
	} else if (strcmp(key, "priority") == 0) {
		name = split_word(e->pool, v, &rest);
		char *end;
		long pr = strtol(rest, &end, 10);
		if (rest[0] == '\0' || *end != '\0') {
			sa_warn(e, "priority: invalid value '%s'", v);
			return;
		}
		int *pp = pool_alloc(e->pool, sizeof(int));
		*pp = (int)pr;
		hash_put(e->priorities, name, strlen(name), pp);
	} else if (strcmp(key, "reuse") == 0) {
		name = split_word(e->pool, v, &rest);
		if (name[0] != '\0' && sa_rule_get(e, name) == NULL) {
			struct sa_rule *r = rule_new(e, name, SA_T_EMPTY, "");
			if (r != NULL)
				rule_install(e, r);
		}
	} else if (strcmp(key, "replace_tag") == 0) {
		set_kv(e, e->replace_tag, v);
	} else if (strcmp(key, "replace_pre") == 0) {
		set_kv(e, e->replace_pre, v);
	} else if (strcmp(key, "replace_post") == 0) {
		set_kv(e, e->replace_post, v);
	} else if (strcmp(key, "replace_inter") == 0) {
		set_kv(e, e->replace_inter, v);
	} else if (strcmp(key, "replace_rules") == 0) {
		set_words(e, e->replace_rules, v, false);
	} else if (strcmp(key, "replace_start") == 0 || strcmp(key, "replace_end") == 0) {
		/* a string setting: SpamAssassin refuses an empty one, and the
		   tag search needs its delimiters */
		if (v[0] == '\0') {
			sa_warn(e, "missing '%s' value", key);
			return;
		}
		if (key[8] == 's')
			str_copy(e->replace_start, v, sizeof(e->replace_start));
		else
			str_copy(e->replace_end, v, sizeof(e->replace_end));
	} else if (strcmp(key, "util_rb_tld") == 0) {
		set_words(e, e->tlds, v, true);
	} else if (strcmp(key, "util_rb_2tld") == 0) {
		set_words(e, e->tlds2, v, true);
	} else if (strcmp(key, "util_rb_3tld") == 0) {
		set_words(e, e->tlds3, v, true);
	} else if (strcmp(key, "freemail_domains") == 0) {
		set_freemail(e, v);
	} else if (strcmp(key, "freemail_welcomelist") == 0 ||
		   strcmp(key, "freemail_whitelist") == 0) {
		set_words(e, e->freemail_welcome, v, true);
	} else if (strcmp(key, "url_shortener") == 0) {
		set_words(e, e->url_shorteners, v, true);
	} else if (strcmp(key, "redirector_pattern") == 0) {
		set_redirector(e, v);
	} else if (strcmp(key, "enlist_uri_host") == 0) {
		set_enlist_uri_host(e, v);
	} else if (strcmp(key, "originating_ip_headers") == 0) {
		const char *q = v;
		while (*q != '\0') {
			const char *rest2;
			char *w = split_word(e->pool, q, &rest2);
			q = rest2;
			if (w[0] == '\0')
				break;
			bool dup = false;
			for (size_t i = 0; i < e->n_orig_ip_headers; i++)
				if (strcasecmp(e->orig_ip_headers[i], w) == 0)
					dup = true;
			if (dup)
				continue;
			e->orig_ip_headers = pool_realloc(e->pool, e->orig_ip_headers,
							  sizeof(char *) * e->n_orig_ip_headers,
							  sizeof(char *) * (e->n_orig_ip_headers + 1));
			e->orig_ip_headers[e->n_orig_ip_headers++] = w;
		}
	} else if (strcmp(key, "clear_originating_ip_headers") == 0) {
		e->n_orig_ip_headers = 0;
	} else if (strcmp(key, "test") == 0 || ignored(key)) {
		/* regression tests and settings that do not change hits */
	} else {
		/* SpamAssassin knows hundreds of settings; unknown ones are
		   reported once per line so that typos in local rules show */
		sa_warn(e, "unknown setting '%s'", key);
	}
}

static void flag_name(void *ctx, const char *n, unsigned *slot)
{
	(void)n;
	(void)slot;
	*(bool *)ctx = true;
}

/* Evaluates an `if` condition: plugin(), can(), has(), version,
   perl_version, local_tests_only, numbers, operators. */
static int eval_condition(struct sa_engine *e, const char *cond, bool *r_out)
{
	struct buf b;
	const char *p = cond;

	buf_init_pool(&b, e->pool, 0);
	while (*p != '\0') {
		if (strncmp(p, "plugin", 6) == 0 || strncmp(p, "can", 3) == 0 ||
		    strncmp(p, "has", 3) == 0) {
			size_t kl = p[0] == 'p' ? 6 : 3;
			const char *q = p + kl;
			while (*q == ' ')
				q++;
			if (*q == '(' && (p == cond || !((p[-1] >= 'a' && p[-1] <= 'z') || p[-1] == '_'))) {
				const char *c = strchr(q, ')');
				if (c == NULL)
					return -1;
				char *arg = pool_strndup(e->pool, q + 1, (size_t)(c - q - 1));
				str_trim(arg);
				bool v = false;
				if (p[0] == 'p') {
					const char *shortn = arg;
					if (strncmp(arg, "Mail::SpamAssassin::Plugin::", 28) == 0)
						shortn = arg + 28;
					if (strcmp(shortn, "Dmarc") == 0)
						shortn = "DMARC";
					if (strcmp(shortn, "WhiteListSubject") == 0)
						shortn = "WelcomeListSubject";
					v = hash_get_str(e->plugins, shortn) != NULL;
				} else {
					const char *m = arg;
					if (strncmp(m, "Mail::SpamAssassin::Conf::", 26) == 0) {
						for (size_t i = 0; i < N_ELEMENTS(can_conf); i++)
							if (strcmp(m + 26, can_conf[i]) == 0)
								v = true;
					} else if (strncmp(m, "Mail::SpamAssassin::Plugin::", 28) == 0) {
						const char *pm = m + 28;
						const char *sep = strstr(pm, "::");
						if (sep != NULL) {
							char *plug = pool_strndup(e->pool, pm, (size_t)(sep - pm));
							if (hash_get_str(e->plugins, plug) != NULL)
								for (size_t i = 0; i < N_ELEMENTS(can_plugin); i++)
									if (strcmp(pm, can_plugin[i]) == 0)
										v = true;
						}
					}
				}
				buf_append_str(&b, v ? " 1 " : " 0 ");
				p = c + 1;
				continue;
			}
		}
		if (strncmp(p, "version", 7) == 0 && (p == cond || !((p[-1] >= 'a' && p[-1] <= 'z') || p[-1] == '_'))) {
			buf_append_str(&b, " 4.000001 ");
			p += 7;
			continue;
		}
		if (strncmp(p, "perl_version", 12) == 0) {
			buf_append_str(&b, " 5.036000 ");
			p += 12;
			continue;
		}
		if (strncmp(p, "local_tests_only", 16) == 0) {
			buf_append_str(&b, " 1 ");
			p += 16;
			continue;
		}
		buf_append_c(&b, *p++);
	}
	const char *err;
	struct sa_rule dummy = { .name = "if" };
	struct sa_meta *m = sa_meta_parse(e, &dummy, buf_cstr(&b), &err);
	if (m == NULL)
		return -1;
	/* a name left over is something we do not know */
	bool unknown = false;
	sa_meta_names(m, flag_name, &unknown);
	if (unknown)
		return -1;
	*r_out = sa_meta_eval(m, NULL) != 0.0;
	return 0;
}

struct ifstate {
	bool skip;      /* skip_parsing before this if */
	unsigned line;
};

void sa_conf_parse(struct sa_engine *e, const char *file, const char *text, size_t len)
{
	struct ifstate stack[SA_IF_DEPTH];
	unsigned depth = 0;
	/* ifs nested beyond the stack: counted, and all they hold skipped
	   (deep_skip is the state to return to), so that each endif still
	   closes its own if */
	unsigned too_deep = 0;
	bool deep_skip = false;
	bool skip = false;
	const char *p = text, *end = text + len;
	struct buf line;

	e->cur_file = pool_strdup(e->pool, file);
	e->cur_line = 0;
	buf_init(&line, 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		e->cur_line++;
		buf_reset(&line);
		buf_append(&line, p, (size_t)(le - p));
		p = nl != NULL ? nl + 1 : end;

		/* (?<!\\)#.*$ removed, then \# -> # */
		char *s = line.data;
		if (s == NULL)
			continue;
		for (char *h = s; *h != '\0'; h++)
			if (*h == '#' && (h == s || h[-1] != '\\')) {
				*h = '\0';
				break;
			}
		char *w = s;
		for (char *r = s; *r != '\0'; r++) {
			if (r[0] == '\\' && r[1] == '#')
				continue;
			*w++ = *r;
		}
		*w = '\0';
		s = str_trim(s);
		if (*s == '\0')
			continue;
		if (strncmp(s, "lang", 4) == 0 && (s[4] == ' ' || s[4] == '\t')) {
			/* lang LL ...: only for that locale; ours is en_US */
			char *q = s + 4;
			while (*q == ' ' || *q == '\t')
				q++;
			if (!(q[0] == 'e' && q[1] == 'n' && (q[2] == ' ' || q[2] == '\t' || q[2] == '_')))
				continue;
			while (*q != '\0' && *q != ' ' && *q != '\t')
				q++;
			while (*q == ' ' || *q == '\t')
				q++;
			s = q;
		}
		char *v = s;
		while (*v != '\0' && *v != ' ' && *v != '\t')
			v++;
		char *key = pool_strndup(e->pool, s, (size_t)(v - s));
		while (*v == ' ' || *v == '\t')
			v++;
		for (char *k = key; *k != '\0'; k++) {
			*k = ascii_lower(*k);
			if (*k == '-')
				*k = '_';
		}

		if (strcmp(key, "endif") == 0) {
			if (*v != '\0') {
				sa_warn(e, "'endif' must be standalone");
				continue;
			}
			if (too_deep > 0) {
				if (--too_deep == 0)
					skip = deep_skip;
				continue;
			}
			if (depth == 0) {
				sa_warn(e, "missing starting 'if' for 'endif'");
				continue;
			}
			skip = stack[--depth].skip;
			continue;
		}
		if (strcmp(key, "if") == 0 || strcmp(key, "ifplugin") == 0) {
			if (*v == '\0') {
				sa_warn(e, "missing '%s' condition", key);
				continue;
			}
			if (depth == SA_IF_DEPTH) {
				if (too_deep++ == 0) {
					sa_warn(e, "conditionals nested too deep, skipped");
					deep_skip = skip;
				}
				skip = true;
				continue;
			}
			stack[depth].skip = skip;
			stack[depth].line = e->cur_line;
			depth++;
			bool r = false;
			const char *cond = key[2] == 'p' ? pool_printf(e->pool, "plugin (%s)", v) : v;
			if (eval_condition(e, cond, &r) < 0) {
				sa_warn(e, "unparseable condition '%s'", v);
				r = false;
			}
			if (!r)
				skip = true;
			continue;
		}
		if (strcmp(key, "else") == 0) {
			if (*v != '\0') {
				sa_warn(e, "'else' must be standalone");
				continue;
			}
			if (too_deep > 0)
				continue;
			if (depth == 0) {
				sa_warn(e, "'else' missing starting if");
				continue;
			}
			bool outer = false;
			for (unsigned i = 0; i < depth; i++)
				if (stack[i].skip)
					outer = true;
			skip = outer ? true : !skip;
			continue;
		}
		if (skip)
			continue;
		command(e, key, v);
	}
	for (unsigned i = 0; i < depth; i++) {
		e->cur_line = stack[i].line;
		sa_warn(e, "unclosed 'if' found");
	}
	buf_free(&line);
}

/*
 * SpamAssassin rules are Perl regular expressions; PCRE2 accepts almost
 * all of Perl's dialect.  What it does not, we translate here ({,n}
 * quantifiers); what cannot be translated (variable-length lookbehind,
 * code points above 0xff in a byte pattern) is reported with the rule.
 *
 * Rules match bytes, never characters: SpamAssassin compiles with /aa
 * and gives rules raw (UTF-8 or other) octets, which is PCRE2's
 * non-UTF mode with ASCII-only \d \s \w and case folding.
 *
 * The second half extracts from each pattern a set of literal strings
 * one of which every match must contain (an "and" of the sequence's best
 * factor, an "or" over alternatives), for the Aho-Corasick prefilter
 * that decides which rules to run at all.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/pool.h"
#include "lib/util.h"

#define SA_MATCH_LIMIT 5000000
#define SA_DEPTH_LIMIT 100000
#define SA_JIT_STACK_MAX (4 * 1024 * 1024)

int sa_re_split(struct pool *pool, const char *text, char **pat_r,
		char **mods_r, const char **error_r)
{
	const char *p = text;
	char close;
	size_t len = strlen(text);

	if (*p == '/') {
		close = '/';
		p++;
	} else if (p[0] == 'm' && p[1] != '\0' &&
		   !((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') ||
		     (p[1] >= '0' && p[1] <= '9') || p[1] == '_' || p[1] == ' ' ||
		     p[1] == '\t')) {
		char open = p[1];
		switch (open) {
		case '{': close = '}'; break;
		case '(': close = ')'; break;
		case '<': close = '>'; break;
		case '[': close = ']'; break;
		default: close = open; break;
		}
		if (open == '\\') {
			*error_r = "backslash delimiter not allowed";
			return -1;
		}
		p += 2;
	} else if (p[0] == 'q' && p[1] == 'r' && p[2] != '\0') {
		char open = p[2];
		switch (open) {
		case '{': close = '}'; break;
		case '(': close = ')'; break;
		case '<': close = '>'; break;
		case '[': close = ']'; break;
		default: close = open; break;
		}
		p += 3;
	} else {
		*error_r = "missing regexp delimiters";
		return -1;
	}
	/* The end delimiter is the last one, followed only by modifiers
	   ([a-df-z]*), as SpamAssassin's compile_regexp() finds it. */
	const char *end = text + len;
	const char *m = end;
	while (m > p && ((m[-1] >= 'a' && m[-1] <= 'z') && m[-1] != 'e'))
		m--;
	/* modifiers may be absent: find the delimiter right before them,
	   trying the longest modifier run first */
	const char *d = NULL;
	for (const char *q = m; q <= end; q++) {
		if (q > p && q[-1] == close) {
			/* everything from q to end must be modifiers */
			bool ok = true;
			for (const char *r = q; r < end; r++)
				if (!(*r >= 'a' && *r <= 'z') || *r == 'e')
					ok = false;
			if (ok) {
				d = q - 1;
				break;
			}
		}
	}
	if (d == NULL || d < p) {
		*error_r = "invalid end delimiter/mods";
		return -1;
	}
	/* An unescaped delimiter inside (not for bracketing delimiters). */
	if (close != '}' && close != ')' && close != ']' && close != '>') {
		for (const char *q = p; q < d; q++) {
			if (*q == '\\' && q + 1 < d) {
				q++;
				continue;
			}
			if (*q == close) {
				*error_r = pool_printf(pool, "unquoted delimiter '%c' found", close);
				return -1;
			}
		}
	}
	*pat_r = pool_strndup(pool, p, (size_t)(d - p));
	*mods_r = pool_strndup(pool, d + 1, (size_t)(end - d - 1));
	return 0;
}

/* Perl accepts {,n} (since 5.34) for {0,n}; PCRE2 10.42 reads it as
   literal text.  Also drops (?{ }) code blocks (refused). */
static char *translate(struct pool *pool, const char *pat, const char **error_r)
{
	struct buf b;
	bool in_class = false;
	size_t n = strlen(pat);

	buf_init_pool(&b, pool, 0);
	for (size_t i = 0; i < n; i++) {
		char c = pat[i];
		if (c == '\\' && i + 1 < n) {
			if (!in_class && pat[i + 1] == 'Q') {
				/* copy \Q...\E verbatim */
				size_t j = i + 2;
				const char *e = strstr(pat + j, "\\E");
				size_t stop = e != NULL ? (size_t)(e - pat) + 2 : n;
				buf_append(&b, pat + i, stop - i);
				i = stop - 1;
				continue;
			}
			buf_append(&b, pat + i, 2);
			i++;
			continue;
		}
		if (in_class) {
			if (c == ']')
				in_class = false;
			buf_append_c(&b, c);
			continue;
		}
		if (c == '[') {
			in_class = true;
			buf_append_c(&b, c);
			/* a leading ] or ^] is literal */
			if (i + 1 < n && pat[i + 1] == '^') {
				buf_append_c(&b, '^');
				i++;
			}
			if (i + 1 < n && pat[i + 1] == ']') {
				buf_append_c(&b, ']');
				i++;
			}
			continue;
		}
		if (c == '(' && i + 2 < n && pat[i + 1] == '?' &&
		    (pat[i + 2] == '{' || (pat[i + 2] == '?' && i + 3 < n && pat[i + 3] == '{'))) {
			*error_r = "eval (?{}) found";
			return NULL;
		}
		if (c == '{' && i + 1 < n && pat[i + 1] == ',') {
			size_t j = i + 2;
			while (j < n && pat[j] >= '0' && pat[j] <= '9')
				j++;
			if (j > i + 2 && j < n && pat[j] == '}') {
				buf_append_str(&b, "{0");
				continue;
			}
		}
		buf_append_c(&b, c);
	}
	return (char *)buf_cstr(&b);
}

static __thread pcre2_match_data *tls_md;
static __thread pcre2_match_context *tls_mctx;
static __thread pcre2_jit_stack *tls_jit_stack;

pcre2_match_data *sa_match_data(void)
{
	if (tls_md == NULL) {
		tls_md = pcre2_match_data_create(64, NULL);
		if (tls_md == NULL)
			ombu_oom();
	}
	return tls_md;
}

static pcre2_match_context *match_context(void)
{
	if (tls_mctx == NULL) {
		tls_mctx = pcre2_match_context_create(NULL);
		if (tls_mctx == NULL)
			ombu_oom();
		pcre2_set_match_limit(tls_mctx, SA_MATCH_LIMIT);
		pcre2_set_depth_limit(tls_mctx, SA_DEPTH_LIMIT);
		tls_jit_stack = pcre2_jit_stack_create(64 * 1024, SA_JIT_STACK_MAX, NULL);
		if (tls_jit_stack != NULL)
			pcre2_jit_stack_assign(tls_mctx, NULL, tls_jit_stack);
	}
	return tls_mctx;
}

static pcre2_compile_context *compile_context(void)
{
	static __thread pcre2_compile_context *cctx;
	if (cctx == NULL) {
		cctx = pcre2_compile_context_create(NULL);
		if (cctx == NULL)
			ombu_oom();
		pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
		pcre2_set_bsr(cctx, PCRE2_BSR_UNICODE);
	}
	return cctx;
}

static uint32_t mods_options(const char *mods)
{
	uint32_t o = 0;
	for (const char *m = mods; m != NULL && *m != '\0'; m++) {
		switch (*m) {
		case 'i': o |= PCRE2_CASELESS; break;
		case 'm': o |= PCRE2_MULTILINE; break;
		case 's': o |= PCRE2_DOTALL; break;
		case 'x': o |= PCRE2_EXTENDED; break;
		case 'n': o |= PCRE2_NO_AUTO_CAPTURE; break;
		default: break; /* o g a u l p: no effect on a byte match */
		}
	}
	return o;
}

int sa_re_compile(struct pool *pool, const char *pat, const char *mods,
		  struct sa_re *re, const char **error_r)
{
	int err;
	PCRE2_SIZE erroff;
	uint32_t opts = mods_options(mods);
	char *tr;

	memset(re, 0, sizeof(*re));
	tr = translate(pool, pat, error_r);
	if (tr == NULL)
		return -1;
	re->code = pcre2_compile((PCRE2_SPTR)tr, PCRE2_ZERO_TERMINATED, opts, &err,
				 &erroff, compile_context());
	if (re->code == NULL) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(err, msg, sizeof(msg));
		*error_r = pool_printf(pool, "%s at offset %zu", (const char *)msg,
				       (size_t)erroff);
		return -1;
	}
	re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
	if (pcre2_pattern_info(re->code, PCRE2_INFO_MINLENGTH, &re->minlen) != 0)
		re->minlen = 0;
	re->src = tr;
	re->pat = pool_strdup(pool, pat);
	re->mods = pool_strdup(pool, mods != NULL ? mods : "");
	re->multiline = (opts & PCRE2_MULTILINE) != 0;
	if (opts & PCRE2_EXTENDED)
		sa_re_literals(pool, pool_printf(pool, "(?x)%s", tr), true, re);
	else
		sa_re_literals(pool, tr, true, re);
	return 0;
}

void sa_re_free(struct sa_re *re)
{
	if (re->code != NULL)
		pcre2_code_free(re->code);
	re->code = NULL;
}

pcre2_code *sa_re_internal(const char *pat, uint32_t options)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, options,
				      &err, &off, compile_context());
	if (c == NULL) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(err, msg, sizeof(msg));
		ombu_panic("sa: internal regex %s: %s at %zu", pat, (const char *)msg,
			   (size_t)off);
	}
	(void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
	return c;
}

int sa_pcre_match(const pcre2_code *code, const char *s, size_t len,
		  size_t start, size_t *ovec_r, unsigned max_pairs)
{
	pcre2_match_data *md = sa_match_data();
	int rc = pcre2_match(code, (PCRE2_SPTR)s, len, start, 0, md, match_context());
	if (rc < 0)
		return 0;
	if (ovec_r != NULL) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		uint32_t n = pcre2_get_ovector_count(md);
		for (unsigned i = 0; i < max_pairs; i++) {
			if (i < n && i < (unsigned)(rc == 0 ? n : (uint32_t)rc)) {
				ovec_r[2 * i] = ov[2 * i];
				ovec_r[2 * i + 1] = ov[2 * i + 1];
			} else {
				ovec_r[2 * i] = ovec_r[2 * i + 1] = PCRE2_UNSET;
			}
		}
	}
	return 1;
}

int sa_re_match(const struct sa_re *re, const char *s, size_t len, size_t start,
		size_t *end_r)
{
	pcre2_match_data *md = sa_match_data();
	int rc;

	if (re->code == NULL)
		return 0;
	/* what pcre2_match would find first, without the call: many texts
	   (header values, short lines) are shorter than a rule's shortest
	   match */
	if (start > len || len - start < re->minlen)
		return 0;
	/* the JIT entry point skips pcre2_match's checks of the arguments,
	   a measurable share of the many matches on short texts */
	if (re->jit)
		rc = pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, start, 0, md, match_context());
	else
		rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, 0, md, match_context());
	if (rc < 0)
		return 0;
	if (end_r != NULL) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		end_r[0] = ov[0];
		end_r[1] = ov[1];
	}
	return 1;
}

/*
 * Literal extraction.
 */

/* exact strings of a fixed run, multiplied out: ASCII mode allows more,
   since its look-alike classes are wider (and the strings longer) */
#define LIT_MAX_SET 24
#define LIT_MAX_SET_ASCII 64
#define LIT_MAX_UNION 160
#define LIT_MAX_UNION_ASCII 320
/* skeleton mode: a look-alike letter repeated once or twice (SpamAssassin's
   <post P2>) doubles a product, so its sets are larger */
#define LIT_MAX_SET_SKEL 256
#define LIT_MAX_UNION_SKEL 512
#define LIT_MAX_LEN 48

/* count: every match holds at least this many occurrences of the
   strings, at distinct end positions (0 means 1), as "(?:x){5}" holds
   five of x's; the prefilter skips a line with fewer. */
#define LIT_MAX_COUNT 64

/* A set's arrays live in the parser's scratch pool and are never
   changed once made, so a set is copied by value. */
struct litset {
	bool ok;
	unsigned n;
	unsigned count;
	char **s;
	unsigned *len;
};

struct linfo {
	struct litset exact; /* the node matches exactly one of these */
	struct litset must;  /* every match contains one of these */
	bool never;          /* ASCII mode: cannot match a clean line */
};

/* ASCII mode reads the pattern as it can match a "clean" line: one with
   no byte >= 0x80 and no "&#".  What cannot occur there (a UTF-8
   sequence, a numeric entity's "&#") makes its node "never": a sequence
   holding one that must occur is never, an alternation drops its never
   branches.  What is left of SpamAssassin's look-alike tags (<A> =
   [aA@] or any of forty UTF-8 letters or entities) is a short class of
   ASCII bytes, and the rule gets literals for clean lines. */
struct lparser {
	struct pool *pool;
	const char *p, *end;
	bool x;          /* extended mode */
	bool fail;
	bool ascii;
	bool skel;       /* skeleton mode (implies ascii), see below */
	unsigned max_set, max_union;
};

/* Skeleton mode reads the pattern as it matches the skeleton of a clean
   line: the line with every byte but [A-Za-z0-9] taken out and letters
   lower-cased.  A separator the obfuscation rules allow between letters
   ([_\W]{0,3}, \W?, \s+) leaves nothing there, a look-alike class keeps
   its letters and digits (and may leave nothing, for its '@' or '|'),
   so "v_i.a-g r a" holds "viagra" and the letters of such a rule become
   literals of the skeleton.  The skeleton of a match is a substring of
   the skeleton of its line, so a line whose skeleton holds none of the
   literals cannot match.  The bytes kept: sa_skel_byte(). */

static bool ascii_clean_byte(int b)
{
	return b >= 0 && b < 0x80;
}

static void skip_ignored(struct lparser *lp);

/* After a literal '&' (lp->p just past it): whether a '#' that must
   occur follows, making "&#", which a clean line does not hold. */
static bool amp_hash_follows(const struct lparser *lp)
{
	struct lparser t = *lp;
	if (t.p < t.end && *t.p == '#' && !t.x)
		t.p++;
	else if (t.p + 1 < t.end && t.p[0] == '\\' && t.p[1] == '#')
		t.p += 2;
	else
		return false;
	/* not #?, #*, #{0,...}, also with ignored text between */
	skip_ignored(&t);
	return t.p >= t.end || (*t.p != '?' && *t.p != '*' && *t.p != '{');
}

static unsigned set_count(const struct litset *s)
{
	return s->count == 0 ? 1 : s->count;
}

static unsigned set_minlen(const struct litset *s)
{
	unsigned m = ~0u;
	if (!s->ok || s->n == 0)
		return 0;
	for (unsigned i = 0; i < s->n; i++)
		if (s->len[i] < m)
			m = s->len[i];
	return m;
}

/* Prefer the set with the longer shortest string, then fewer strings. */
static bool set_better(const struct litset *a, const struct litset *b)
{
	unsigned ma = set_minlen(a), mb = set_minlen(b);
	if (!a->ok || a->n == 0)
		return false;
	if (!b->ok || b->n == 0)
		return true;
	if (MIN(ma, 4u) != MIN(mb, 4u))
		return ma > mb;
	if (set_count(a) != set_count(b))
		return set_count(a) > set_count(b);
	if (a->n != b->n)
		return a->n < b->n;
	return ma > mb;
}

/* Skeleton mode: the same string reached twice (a class that may leave
   nothing, repeated) is kept once, so that products stay small. */
static void set_dedupe(struct lparser *lp, struct litset *s)
{
	if (!lp->skel)
		return;
	unsigned k = 0;
	for (unsigned i = 0; i < s->n; i++) {
		bool dup = false;
		for (unsigned j = 0; j < k && !dup; j++)
			dup = s->len[j] == s->len[i] && memcmp(s->s[j], s->s[i], s->len[i]) == 0;
		if (!dup) {
			s->s[k] = s->s[i];
			s->len[k++] = s->len[i];
		}
	}
	s->n = k;
}

/* Room for n strings in s, which holds none yet. */
static void set_alloc(struct lparser *lp, struct litset *s, unsigned n)
{
	s->ok = true;
	s->n = 0;
	s->count = 0;
	s->s = pool_alloc_nz(lp->pool, sizeof(char *) * (n + 1));
	s->len = pool_alloc_nz(lp->pool, sizeof(unsigned) * (n + 1));
}

static void set_add(struct litset *s, char *str, unsigned len)
{
	s->s[s->n] = str;
	s->len[s->n++] = len;
}

/* A new set: a's strings then b's. */
static struct litset set_union(struct lparser *lp, const struct litset *a,
			       const struct litset *b)
{
	struct litset u;
	set_alloc(lp, &u, a->n + b->n);
	for (unsigned i = 0; i < a->n; i++)
		set_add(&u, a->s[i], a->len[i]);
	for (unsigned i = 0; i < b->n; i++)
		set_add(&u, b->s[i], b->len[i]);
	return u;
}

static void set_single(struct lparser *lp, struct litset *s, const char *str,
		       unsigned len)
{
	set_alloc(lp, s, 1);
	set_add(s, pool_strndup(lp->pool, str, len), len);
}

static void info_literal(struct lparser *lp, struct linfo *li, const char *str,
			 unsigned len)
{
	char tmp[LIT_MAX_LEN] = { 0 };
	unsigned n = 0;
	for (unsigned i = 0; i < len && n < LIT_MAX_LEN; i++)
		if (!lp->skel || sa_skel_byte((unsigned char)str[i]))
			tmp[n++] = ascii_lower(str[i]);
	set_single(lp, &li->exact, tmp, n);
	li->must.ok = false;
	li->must.n = 0;
	li->never = false;
	if (lp->ascii) {
		for (unsigned i = 0; i < len; i++)
			if (!ascii_clean_byte((unsigned char)str[i]) ||
			    (str[i] == '&' && i + 1 < len && str[i + 1] == '#'))
				li->never = true;
		if (len > 0 && str[len - 1] == '&' && amp_hash_follows(lp))
			li->never = true;
	}
}

static void info_empty(struct lparser *lp, struct linfo *li)
{
	set_single(lp, &li->exact, "", 0);
	li->must.ok = false;
	li->must.n = 0;
	li->never = false;
}

static void info_any(struct linfo *li)
{
	li->exact.ok = false;
	li->exact.n = 0;
	li->must.ok = false;
	li->must.n = 0;
	li->never = false;
}

static void info_never(struct linfo *li)
{
	info_any(li);
	li->never = true;
}

/* The best "must" of a node: its must or its exact set. */
static struct litset best_must(const struct linfo *li)
{
	struct litset r = { 0 };
	if (li->exact.ok && li->exact.n > 0 && set_minlen(&li->exact) > 0 &&
	    set_better(&li->exact, &li->must))
		return li->exact;
	if (li->must.ok)
		return li->must;
	if (li->exact.ok && set_minlen(&li->exact) > 0)
		return li->exact;
	return r;
}

static void seq_append(struct lparser *lp, struct linfo *acc, const struct linfo *b)
{
	struct litset ma = best_must(acc), mb = best_must(b);
	struct litset best = set_better(&ma, &mb) ? ma : mb;

	if (acc->exact.ok && b->exact.ok && acc->exact.n * b->exact.n <= lp->max_set) {
		struct litset x;
		bool too_long = false;
		set_alloc(lp, &x, acc->exact.n * b->exact.n);
		for (unsigned i = 0; i < acc->exact.n; i++)
			for (unsigned j = 0; j < b->exact.n; j++) {
				unsigned l = acc->exact.len[i] + b->exact.len[j];
				if (l > LIT_MAX_LEN) {
					too_long = true;
					l = LIT_MAX_LEN;
				}
				char *s = pool_alloc(lp->pool, l + 1);
				unsigned la = MIN(acc->exact.len[i], l);
				memcpy(s, acc->exact.s[i], la);
				memcpy(s + la, b->exact.s[j], l - la);
				set_add(&x, s, l);
			}
		set_dedupe(lp, &x);
		if (too_long) {
			/* keep the strings as a "must" only */
			acc->exact.ok = false;
			acc->must = set_better(&x, &best) ? x : best;
			return;
		}
		acc->exact = x;
		acc->must = best;
		return;
	}
	acc->exact.ok = false;
	acc->exact.n = 0;
	acc->must = best;
}

static void alt_merge(struct lparser *lp, struct linfo *acc, const struct linfo *b, bool first)
{
	if (first) {
		*acc = *b;
		acc->must = best_must(b);
		return;
	}
	if (acc->exact.ok && b->exact.ok && acc->exact.n + b->exact.n <= lp->max_set) {
		acc->exact = set_union(lp, &acc->exact, &b->exact);
		set_dedupe(lp, &acc->exact);
	} else {
		acc->exact.ok = false;
		acc->exact.n = 0;
	}
	struct litset mb = best_must(b);
	if (acc->must.ok && mb.ok && set_minlen(&mb) > 0 && set_minlen(&acc->must) > 0 &&
	    acc->must.n + mb.n <= lp->max_union) {
		unsigned count = MIN(set_count(&acc->must), set_count(&mb));
		acc->must = set_union(lp, &acc->must, &mb);
		acc->must.count = count;
	} else {
		acc->must.ok = false;
		acc->must.n = 0;
	}
}

static void parse_alt(struct lparser *lp, struct linfo *out);

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads one escaped character after '\\'; returns the byte or -1 for a
   class escape / something that is not a single byte. */
static int escape_byte(struct lparser *lp)
{
	char c = *lp->p++;
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'e': return 0x1b;
	case 'a': return 0x07;
	case 'x': {
		int v = 0;
		if (lp->p < lp->end && *lp->p == '{') {
			lp->p++;
			while (lp->p < lp->end && *lp->p != '}') {
				int h = hexval(*lp->p++);
				if (h < 0)
					return -2;
				v = v * 16 + h;
			}
			if (lp->p < lp->end)
				lp->p++;
			return v <= 0xff ? v : -2;
		}
		for (int k = 0; k < 2 && lp->p < lp->end && hexval(*lp->p) >= 0; k++)
			v = v * 16 + hexval(*lp->p++);
		return v;
	}
	case '0': {
		int v = 0;
		for (int k = 0; k < 2 && lp->p < lp->end && *lp->p >= '0' && *lp->p <= '7'; k++)
			v = v * 8 + (*lp->p++ - '0');
		return v;
	}
	case 'c':
		if (lp->p < lp->end)
			return (ascii_upper(*lp->p++) ^ 0x40) & 0xff;
		return -2;
	default:
		if (c >= '1' && c <= '9') {
			/* a backreference or an octal byte, all its digits */
			while (lp->p < lp->end && *lp->p >= '0' && *lp->p <= '9')
				lp->p++;
			return -2;
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return -2; /* class, assertion... */
		return (unsigned char)c;
	}
}

/* Skeleton mode: the ASCII bytes of a class escape into set; false for
   one that is not handled (\p, \N, ...). */
static bool class_escape(char e, bool *set)
{
	bool in[128] = { false };
	char base = (char)(e | 0x20);
	for (int k = 0; k < 128; k++) {
		bool m;
		switch (base) {
		case 'd': m = k >= '0' && k <= '9'; break;
		case 'w': m = sa_skel_byte((unsigned char)k) || k == '_'; break;
		case 's': m = k == ' ' || (k >= '\t' && k <= '\r'); break;
		case 'h': m = k == ' ' || k == '\t'; break;
		case 'v': m = k >= '\n' && k <= '\r'; break;
		default: return false;
		}
		in[k] = m;
	}
	bool upper = e >= 'A' && e <= 'Z';
	for (int k = 0; k < 128; k++)
		if (in[k] != upper)
			set[k] = true;
	return true;
}

/* Skeleton mode: a class as it leaves a byte of the skeleton -- one of
   its letters and digits (lower-cased), or nothing for its other
   bytes. */
static void skel_class(struct lparser *lp, struct linfo *li, const bool *set, bool neg)
{
	bool low[128] = { false };
	bool eps = false, any = false;
	unsigned n = 0;
	for (int k = 0; k < 128; k++) {
		if (set[k] == neg)
			continue;
		any = true;
		if (!sa_skel_byte((unsigned char)k)) {
			eps = true;
			continue;
		}
		int l = (unsigned char)ascii_lower((char)k);
		if (!low[l]) {
			low[l] = true;
			n++;
		}
	}
	if (!any) {
		info_never(li);
		return;
	}
	if (n > 8) {
		info_any(li);
		return;
	}
	set_alloc(lp, &li->exact, n + 1);
	for (int k = 0; k < 128; k++)
		if (low[k]) {
			char ch = (char)k;
			set_add(&li->exact, pool_strndup(lp->pool, &ch, 1), 1);
		}
	if (eps)
		set_add(&li->exact, pool_strndup(lp->pool, "", 0), 0);
	li->must.ok = false;
	li->must.n = 0;
	li->never = false;
}

/* At "[:", "[=" or "[.": the end of the POSIX class it starts, or NULL
   when it is not one (PCRE2's check_posix_syntax(): a ']' before the
   terminator makes the '[' an ordinary byte). */
static const char *posix_class_end(const char *p, const char *end)
{
	char t = p[1];
	for (const char *q = p + 2; q < end; q++) {
		if (q[0] == '\\' && q + 1 < end && (q[1] == ']' || q[1] == '\\'))
			q++;
		else if ((q[0] == '[' && q + 1 < end && q[1] == t) || q[0] == ']')
			return NULL;
		else if (q[0] == t && q + 1 < end && q[1] == ']')
			return q + 2;
	}
	return NULL;
}

/* A bracketed class: the set of bytes (lower-cased), as exact strings
   when it holds few. */
static void parse_class(struct lparser *lp, struct linfo *li)
{
	bool set[256] = { false };
	bool neg = false, complex = false;
	int prev = -1;

	/* \Q or \E where PCRE2 still looks for '^' or a first ']': not
	   worth reading */
	for (int k = 0; k < 2; k++) {
		if (lp->p + 1 < lp->end && lp->p[0] == '\\' && (lp->p[1] == 'Q' || lp->p[1] == 'E')) {
			lp->fail = true;
			return;
		}
		if (k == 0 && lp->p < lp->end && *lp->p == '^') {
			neg = true;
			lp->p++;
		}
	}
	bool first = true;
	while (lp->p < lp->end) {
		char c = *lp->p;
		if (c == ']' && !first) {
			lp->p++;
			break;
		}
		first = false;
		if (c == '[' && lp->p + 1 < lp->end && (lp->p[1] == ':' || lp->p[1] == '=' || lp->p[1] == '.')) {
			const char *e = posix_class_end(lp->p, lp->end);
			if (e != NULL) {
				lp->p = e;
				complex = true;
				prev = -1;
				continue;
			}
			/* not one: a '[' like any other */
		}
		int v;
		bool esc = c == '\\';
		lp->p++;
		if (c == '\\') {
			if (lp->p >= lp->end) {
				lp->fail = true;
				return;
			}
			char e = *lp->p;
			if (e == 'Q' || e == 'E') {
				/* \Q...\E: its bytes as written; a lone \E is ignored */
				lp->p++;
				if (e == 'E')
					continue;
				while (lp->p < lp->end &&
				       !(lp->p[0] == '\\' && lp->p + 1 < lp->end && lp->p[1] == 'E')) {
					prev = (unsigned char)*lp->p++;
					set[prev] = true;
				}
				if (lp->p < lp->end)
					lp->p += 2;
				continue;
			}
			if (lp->skel && class_escape(e, set)) {
				lp->p++;
				prev = -1;
				continue;
			}
			if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S' ||
			    e == 'h' || e == 'H' || e == 'v' || e == 'V' || e == 'p' || e == 'P' ||
			    e == 'N' || e == 'R') {
				lp->p++;
				if ((e == 'p' || e == 'P') && lp->p < lp->end && *lp->p == '{') {
					while (lp->p < lp->end && *lp->p != '}')
						lp->p++;
					if (lp->p < lp->end)
						lp->p++;
				} else if (e == 'p' || e == 'P') {
					if (lp->p < lp->end)
						lp->p++;
				}
				complex = true;
				prev = -1;
				continue;
			}
			if (e == 'b') {
				lp->p++;
				v = 8;
			} else {
				v = escape_byte(lp);
				if (v < 0) {
					complex = true;
					prev = -1;
					continue;
				}
			}
		} else {
			v = (unsigned char)c;
		}
		/* a range (not for an escaped \-) */
		if (v == '-' && !esc && prev >= 0 && lp->p < lp->end && *lp->p != ']') {
			int hi;
			char d = *lp->p++;
			if (d == '\\' && lp->p < lp->end && (*lp->p == 'Q' || *lp->p == 'E')) {
				/* a range up to a quoted byte: not worth reading */
				lp->fail = true;
				return;
			}
			if (d == '\\') {
				hi = escape_byte(lp);
				if (hi < 0) {
					complex = true;
					prev = -1;
					continue;
				}
			} else {
				hi = (unsigned char)d;
			}
			/* ASCII mode: only the range's ASCII part counts;
			   skeleton mode counts what is left at the end */
			int top = lp->ascii ? MIN(hi, 0x7f) : hi;
			if (top - prev > 8 && !lp->skel)
				complex = true;
			for (int k = prev; k <= hi && k < 256; k++)
				set[k] = true;
			prev = -1;
			continue;
		}
		set[v] = true;
		prev = v;
	}
	if (lp->skel && !complex) {
		skel_class(lp, li, set, neg);
		return;
	}
	if (neg || complex) {
		info_any(li);
		return;
	}
	bool low[256] = { false };
	unsigned n = 0;
	for (int k = 0; k < 256; k++)
		if (set[k] && (!lp->ascii || ascii_clean_byte(k))) {
			int l = (unsigned char)ascii_lower((char)k);
			if (!low[l]) {
				low[l] = true;
				n++;
			}
		}
	if (n == 0 && lp->ascii) {
		info_never(li);
		return;
	}
	/* a look-alike tag keeps up to seven ASCII bytes ([iIl|!1y?]) */
	if (n == 0 || n > (lp->ascii ? 8u : 4u)) {
		info_any(li);
		return;
	}
	set_alloc(lp, &li->exact, n);
	for (int k = 0; k < 256; k++)
		if (low[k]) {
			char ch = (char)k;
			set_add(&li->exact, pool_strndup(lp->pool, &ch, 1), 1);
		}
	li->must.ok = false;
	li->must.n = 0;
	li->never = false;
}

/* What PCRE2 passes over between atoms, so that a quantifier after it
   still applies to the atom before: white space and # comments in
   extended mode (0x85 is white space there too), (?#...) comments, an
   empty \Q\E and a lone \E. */
static void skip_ignored(struct lparser *lp)
{
	while (lp->p < lp->end) {
		char c = *lp->p;
		size_t left = (size_t)(lp->end - lp->p);
		if (lp->x && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
			      c == '\v' || (unsigned char)c == 0x85)) {
			lp->p++;
		} else if (lp->x && c == '#') {
			while (lp->p < lp->end && *lp->p != '\n')
				lp->p++;
		} else if (left >= 3 && memcmp(lp->p, "(?#", 3) == 0) {
			while (lp->p < lp->end && *lp->p != ')')
				lp->p++;
			if (lp->p < lp->end)
				lp->p++;
		} else if (left >= 4 && memcmp(lp->p, "\\Q\\E", 4) == 0) {
			lp->p += 4;
		} else if (left >= 2 && memcmp(lp->p, "\\E", 2) == 0) {
			lp->p += 2;
		} else {
			break;
		}
	}
}

/* Whether a quantifier follows (after what PCRE2 ignores). */
static bool quant_follows(struct lparser *lp)
{
	skip_ignored(lp);
	if (lp->p >= lp->end)
		return false;
	char c = *lp->p;
	return c == '*' || c == '+' || c == '?' ||
	       (c == '{' && lp->p + 1 < lp->end && ((lp->p[1] >= '0' && lp->p[1] <= '9') || lp->p[1] == ','));
}

/* One atom: literal, class, group, escape.  Returns false at the end of
   a branch ('|', ')' or end). */
static bool parse_atom(struct lparser *lp, struct linfo *li)
{
	skip_ignored(lp);
	if (lp->p >= lp->end || *lp->p == '|' || *lp->p == ')')
		return false;
	char c = *lp->p++;
	switch (c) {
	case '.':
		info_any(li);
		return true;
	case '^':
	case '$':
		info_empty(lp, li);
		return true;
	case '[':
		parse_class(lp, li);
		return true;
	case '(': {
		bool saved_x = lp->x;
		bool zero = false;
		if (lp->p < lp->end && *lp->p == '*') {
			lp->fail = true; /* (*VERB) */
			return false;
		}
		if (lp->p < lp->end && *lp->p == '?') {
			lp->p++;
			char k = lp->p < lp->end ? *lp->p : '\0';
			if (k == ':' || k == '>' || k == '|') {
				lp->p++;
			} else if (k == '=' || k == '!') {
				lp->p++;
				zero = true;
			} else if (k == '<' && lp->p + 1 < lp->end &&
				   (lp->p[1] == '=' || lp->p[1] == '!')) {
				lp->p += 2;
				zero = true;
			} else if (k == '<' || k == 'P' || k == '\'') {
				/* named group: (?<n>...), (?'n'...), (?P<n>...) */
				if (k == 'P')
					lp->p++;
				if (lp->p >= lp->end || (*lp->p != '<' && *lp->p != '\'')) {
					/* (?P=n) backreference, (?P>n) call */
					lp->fail = true;
					return false;
				}
				char close = *lp->p == '\'' ? '\'' : '>';
				lp->p++;
				while (lp->p < lp->end && *lp->p != close)
					lp->p++;
				if (lp->p < lp->end)
					lp->p++;
			} else if (k == '&' || k == 'R' || (k >= '0' && k <= '9') ||
				   ((k == '+' || k == '-') && lp->p + 1 < lp->end &&
				    lp->p[1] >= '0' && lp->p[1] <= '9')) {
				lp->fail = true; /* recursion, subroutine call */
				return false;
			} else {
				/* flags: (?imsx-imsx) or (?imsx-imsx:...) */
				bool on = true, x = lp->x;
				while (lp->p < lp->end && *lp->p != ')' && *lp->p != ':') {
					char f = *lp->p++;
					if (f == '-')
						on = false;
					else if (f == 'x' && lp->p < lp->end && *lp->p == 'x') {
						/* (?xx): white space in classes too */
						lp->fail = true;
						return false;
					} else if (f == 'x')
						x = on;
					else if (f == '^')
						x = false;
					else if (strchr("imnsJU", f) == NULL) {
						/* (?C) callouts and what else is not an option */
						lp->fail = true;
						return false;
					}
				}
				if (lp->p >= lp->end) {
					lp->fail = true;
					return false;
				}
				if (*lp->p == ')') {
					/* applies to the rest of the enclosing group */
					lp->p++;
					lp->x = x;
					info_empty(lp, li);
					return true;
				}
				lp->p++;
				lp->x = x;
			}
		}
		struct linfo inner;
		parse_alt(lp, &inner);
		if (lp->fail)
			return false;
		if (lp->p >= lp->end || *lp->p != ')') {
			lp->fail = true;
			return false;
		}
		lp->p++;
		lp->x = saved_x;
		if (zero)
			info_empty(lp, li);
		else
			*li = inner;
		return true;
	}
	case '\\': {
		if (lp->p >= lp->end) {
			lp->fail = true;
			return false;
		}
		char e = *lp->p;
		if (e == 'Q') {
			lp->p++;
			const char *q = lp->p;
			while (lp->p < lp->end && !(lp->p[0] == '\\' && lp->p + 1 < lp->end && lp->p[1] == 'E'))
				lp->p++;
			unsigned n = (unsigned)(lp->p - q);
			if (lp->p < lp->end)
				lp->p += 2;
			/* a quantifier after it applies to its last byte only (an
			   empty one is skipped as ignored text) */
			if (n >= 2 && quant_follows(lp))
				info_any(li);
			else
				info_literal(lp, li, q, n);
			return true;
		}
		if (e == 'b' || e == 'B' || e == 'A' || e == 'z' || e == 'Z' || e == 'G' || e == 'K') {
			lp->p++;
			info_empty(lp, li);
			return true;
		}
		if (e == 'p' || e == 'P') {
			lp->p++;
			if (lp->p < lp->end && *lp->p == '{') {
				while (lp->p < lp->end && *lp->p != '}')
					lp->p++;
				if (lp->p < lp->end)
					lp->p++;
			} else if (lp->p < lp->end) {
				lp->p++;
			}
			info_any(li);
			return true;
		}
		if (e == 'g' || e == 'k') {
			lp->fail = true; /* backreference: anything */
			return false;
		}
		if (lp->skel && (e == 's' || e == 'W' || e == 'h' || e == 'v')) {
			/* bytes the skeleton does not hold */
			lp->p++;
			info_empty(lp, li);
			return true;
		}
		int v = escape_byte(lp);
		if (v == -2) {
			info_any(li);
			return true;
		}
		char ch = (char)v;
		info_literal(lp, li, &ch, 1);
		return true;
	}
	case '*':
	case '+':
	case '?':
	case '{':
		if (c == '{') {
			/* a { that is not a quantifier is a literal */
			info_literal(lp, li, &c, 1);
			return true;
		}
		lp->fail = true;
		return false;
	default:
		info_literal(lp, li, &c, 1);
		return true;
	}
}

/* Skeleton mode: x{lo,hi} of an exact x with a small hi is exact too
   (the union of x repeated lo to hi times), and nothing repeated is
   nothing; false when neither applies. */
static bool skel_repeat(struct lparser *lp, struct linfo *li, unsigned lo, unsigned hi)
{
	if (!li->exact.ok)
		return false;
	bool empty = true;
	for (unsigned i = 0; i < li->exact.n && empty; i++)
		empty = li->exact.len[i] == 0;
	if (empty)
		return true;
	if (hi > 3)
		return false;
	struct linfo x = *li, acc;
	struct litset all;
	info_empty(lp, &acc);
	set_alloc(lp, &all, lp->max_set);
	for (unsigned k = 0; k <= hi; k++) {
		if (k >= lo) {
			if (all.n + acc.exact.n > lp->max_set)
				return false;
			for (unsigned i = 0; i < acc.exact.n; i++)
				set_add(&all, acc.exact.s[i], acc.exact.len[i]);
			set_dedupe(lp, &all);
		}
		if (k < hi) {
			seq_append(lp, &acc, &x);
			if (!acc.exact.ok)
				return false;
		}
	}
	li->exact = all;
	li->must.ok = false;
	li->must.n = 0;
	return true;
}

/* A quantifier after an atom: adjusts li. */
/* *head_r: when the atom was exact and must occur at least once, its
   exact strings (the sequence may continue its run with them, then
   break). */
static void parse_quant(struct lparser *lp, struct linfo *li, struct litset *head_r)
{
	head_r->ok = false;
	head_r->n = 0;
	for (;;) {
		skip_ignored(lp);
		if (lp->p >= lp->end)
			return;
		char c = *lp->p;
		unsigned lo, hi;
		if (c == '*') {
			lo = 0;
			hi = ~0u;
			lp->p++;
		} else if (c == '+') {
			lo = 1;
			hi = ~0u;
			lp->p++;
		} else if (c == '?') {
			lo = 0;
			hi = 1;
			lp->p++;
		} else if (c == '{') {
			const char *q = lp->p + 1;
			unsigned a = 0, b;
			bool digits = false;
			while (q < lp->end && *q >= '0' && *q <= '9') {
				a = a * 10 + (unsigned)(*q++ - '0');
				digits = true;
			}
			if (q < lp->end && *q == ',') {
				q++;
				if (q < lp->end && *q >= '0' && *q <= '9') {
					b = 0;
					while (q < lp->end && *q >= '0' && *q <= '9')
						b = b * 10 + (unsigned)(*q++ - '0');
				} else {
					b = ~0u;
				}
				if (!digits) {
					/* {,n} was translated to {0,n} */
					a = 0;
					digits = true;
				}
			} else {
				b = a;
			}
			if (!digits || q >= lp->end || *q != '}')
				return; /* a literal { */
			lo = a;
			hi = b;
			lp->p = q + 1;
		} else {
			return;
		}
		/* lazy or possessive suffix */
		if (lp->p < lp->end && (*lp->p == '?' || *lp->p == '+'))
			lp->p++;
		if (li->never) {
			/* x? of a never x matches the empty string only */
			if (lo == 0)
				info_empty(lp, li);
			continue;
		}
		if (lp->skel && skel_repeat(lp, li, lo, hi))
			continue;
		if (lo == 0) {
			if (hi == 1 && li->exact.ok && li->exact.n < lp->max_set) {
				struct litset empty;
				set_single(lp, &empty, "", 0);
				li->exact = set_union(lp, &li->exact, &empty);
			} else {
				li->exact.ok = false;
				li->exact.n = 0;
			}
			li->must.ok = false;
			li->must.n = 0;
		} else if (lo == 1 && hi == 1) {
			/* unchanged */
		} else {
			if (li->exact.ok && !head_r->ok)
				*head_r = li->exact;
			struct litset m = best_must(li);
			/* lo repetitions: lo matches of the node side by side */
			m.count = MIN(set_count(&m) * MIN(lo, LIT_MAX_COUNT), LIT_MAX_COUNT);
			li->exact.ok = false;
			li->exact.n = 0;
			li->must = m;
		}
	}
}

/* A sequence: the exact strings of the current run of fixed atoms are
   multiplied out; a variable atom ends the run, and the sequence needs
   the best of the runs' and the atoms' literal sets. */
static void parse_seq(struct lparser *lp, struct linfo *out)
{
	struct linfo run;
	struct litset best = { 0 };
	bool broken = false, never = false;

	info_empty(lp, &run);
	for (;;) {
		struct linfo a;
		struct litset head;
		if (!parse_atom(lp, &a))
			break;
		parse_quant(lp, &a, &head);
		if (lp->fail)
			return;
		if (a.never) {
			never = true;
			continue;
		}
		if (!a.exact.ok && head.ok) {
			/* x+ or x{2,}: the run goes on with one x, then breaks */
			struct linfo h = { .exact = head };
			struct linfo tmp = run;
			seq_append(lp, &tmp, &h);
			struct litset m = tmp.exact.ok ? best_must(&tmp) : tmp.must;
			if (set_better(&m, &best))
				best = m;
			m = best_must(&run);
			if (set_better(&m, &best))
				best = m;
			/* x{3}: three of x's strings */
			if (set_better(&a.must, &best))
				best = a.must;
			broken = true;
			info_empty(lp, &run);
			/* what follows x+ may start with more x: a new run */
			run.exact = head;
			continue;
		}
		if (a.exact.ok) {
			struct linfo tmp = run;
			seq_append(lp, &tmp, &a);
			if (tmp.exact.ok) {
				run = tmp;
				continue;
			}
			/* too many or too long: close the run, start again */
			struct litset m = best_must(&run);
			if (set_better(&m, &best))
				best = m;
			m = tmp.must;
			if (set_better(&m, &best))
				best = m;
			broken = true;
			run = a;
			continue;
		}
		struct litset m = best_must(&run);
		if (set_better(&m, &best))
			best = m;
		m = best_must(&a);
		if (set_better(&m, &best))
			best = m;
		broken = true;
		info_empty(lp, &run);
	}
	if (never) {
		info_never(out);
		return;
	}
	if (!broken) {
		*out = run;
		return;
	}
	struct litset m = best_must(&run);
	if (set_better(&m, &best))
		best = m;
	out->exact.ok = false;
	out->exact.n = 0;
	out->must = best;
	out->never = false;
}

static void parse_alt(struct lparser *lp, struct linfo *out)
{
	bool first = true;
	for (;;) {
		struct linfo b;
		parse_seq(lp, &b);
		if (lp->fail)
			return;
		/* a never branch adds nothing to what a match holds */
		if (!b.never) {
			alt_merge(lp, out, &b, first);
			first = false;
		}
		if (lp->p < lp->end && *lp->p == '|') {
			/* an option set in one branch carries on into the next */
			lp->p++;
			continue;
		}
		if (first)
			info_never(out);
		return;
	}
}

/* The literals of one reading of the pattern: false when there are
   none worth a prefilter entry; *never_r in ASCII mode when it cannot
   match a clean line at all. */
enum lit_mode { LIT_PLAIN, LIT_ASCII, LIT_SKEL };

static bool extract(struct pool *pool, const char *pat, enum lit_mode mode, char ***lits_r,
		    size_t **lens_r, unsigned *n_r, unsigned *count_r, bool *never_r)
{
	bool ascii = mode != LIT_PLAIN;
	/* the sets made on the way go to a scratch pool; the answer is
	   copied to the caller's */
	struct pool *scratch = pool_create("sa-literals", 16384);
	struct lparser lp = { .pool = scratch, .p = pat, .end = pat + strlen(pat), .ascii = ascii,
			      .skel = mode == LIT_SKEL,
			      .max_set = mode == LIT_SKEL ? LIT_MAX_SET_SKEL :
					 ascii ? LIT_MAX_SET_ASCII : LIT_MAX_SET,
			      .max_union = mode == LIT_SKEL ? LIT_MAX_UNION_SKEL :
					   ascii ? LIT_MAX_UNION_ASCII : LIT_MAX_UNION };
	struct linfo root;
	bool found = false;

	*never_r = false;
	parse_alt(&lp, &root);
	if (getenv("SA_LITDEBUG") != NULL && (lp.fail || lp.p != lp.end))
		fprintf(stderr, "lit: stop at %zu/%zu: %.40s\n", (size_t)(lp.p - pat),
			(size_t)(lp.end - pat), lp.p);
	if (lp.fail || lp.p != lp.end) {
		/* nothing known */
	} else if (root.never) {
		*never_r = true;
	} else {
		struct litset m = best_must(&root);
		if (m.ok && m.n > 0 && set_minlen(&m) >= 2) {
			*lits_r = pool_alloc(pool, sizeof(char *) * m.n);
			*lens_r = pool_alloc(pool, sizeof(size_t) * m.n);
			for (unsigned i = 0; i < m.n; i++) {
				(*lits_r)[i] = pool_strndup(pool, m.s[i], m.len[i]);
				(*lens_r)[i] = m.len[i];
			}
			*n_r = m.n;
			*count_r = set_count(&m);
			found = true;
		}
	}
	pool_destroy(&scratch);
	return found;
}

void sa_re_literals(struct pool *pool, const char *pat, bool icase,
		    struct sa_re *re)
{
	bool never;

	(void)icase;
	re->n_lits = 0;
	re->lit_count = 1;
	re->n_alits = 0;
	re->alit_count = 1;
	re->agate = false;
	re->askel = false;
	if (extract(pool, pat, LIT_PLAIN, &re->lits, &re->lit_lens, &re->n_lits, &re->lit_count,
		    &never))
		return;
	/* no literal for every line: perhaps for the clean ones, or for
	   their skeletons */
	if (extract(pool, pat, LIT_ASCII, &re->alits, &re->alit_lens, &re->n_alits,
		    &re->alit_count, &never) || never)
		re->agate = true;
	else if (extract(pool, pat, LIT_SKEL, &re->alits, &re->alit_lens, &re->n_alits,
			 &re->alit_count, &never))
		re->agate = re->askel = true;
}

/*
 * Running the rules over one message, in SpamAssassin's order of
 * effects: every header, body, uri, rawbody, full, mimeheader and eval
 * rule first (all independent of each other), then the metas in
 * dependency order.  A rule hits at most once unless it has `tflags
 * multiple`, in which case each match counts (up to maxhits) and, as in
 * SpamAssassin, each adds the rule's score.  A rule's value for metas
 * is its hit count, or the eval's result.
 *
 * Body, rawbody, uri and full rules go through the prefilter first: an
 * Aho-Corasick pass over the text marks the rules whose required
 * literals occur, and only those run their regular expression.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter/sa-private.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"

static double now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Matches re against s: the number of hits (1 at most without
   multiple, maxhits at most with it). */
static unsigned count_matches(const struct sa_rule *r, const char *s, size_t len,
			      unsigned already)
{
	size_t ov[2];
	if (!(r->tflags & SA_TF_MULTIPLE))
		return sa_re_match(&r->re, s, len, 0, ov) ? 1 : 0;
	unsigned n = 0, max = r->maxhits;
	size_t pos = 0;
	while (pos <= len) {
		if (max > 0 && already + n >= max)
			break;
		if (!sa_re_match(&r->re, s, len, pos, ov))
			break;
		n++;
		if (ov[1] == ov[0]) {
			/* an empty match: Perl's //g moves on by one */
			pos = ov[1] + 1;
		} else {
			pos = ov[1];
		}
	}
	return n;
}

static void record(struct sa_scan *s, const struct sa_rule *r, double value)
{
	if (value <= 0)
		value = 1;
	if (s->value[r->idx] != 0 && !(r->tflags & SA_TF_MULTIPLE))
		return;
	s->value[r->idx] += value;
}

/* Whether a rule with a few literals can match a header value: one of
   them must occur in it.  Cheaper than the regex on a short value when
   there are only a few; low is the value ASCII-lower-cased, as the
   literals are. */
#define HEADER_LITS_MAX 8

static bool header_may_match(const struct sa_rule *r, const char *low, size_t len)
{
	for (unsigned i = 0; i < r->re.n_lits; i++)
		if (memmem(low, len, r->re.lits[i], r->re.lit_lens[i]) != NULL)
			return true;
	return false;
}

static void run_header(struct sa_scan *s, const struct sa_rule *r, const struct sa_hval **hv,
		       const char **low)
{
	if (hv[r->hslot] == NULL)
		hv[r->hslot] = sa_msg_get(s->m, s->e->hreqs[r->hslot].req);
	const struct sa_hval *v = hv[r->hslot];
	if (r->exists) {
		if (v->n > 0 || r->if_unset != NULL)
			record(s, r, 1);
		return;
	}
	const char *text = v->n > 0 ? v->joined : (r->if_unset != NULL ? r->if_unset : "");
	size_t len = v->n > 0 ? v->joined_len : strlen(text);
	const struct sa_prefilter *pf = s->e->pf_header != NULL ? s->e->pf_header[r->hslot] : NULL;
	if (v->n > 0 && r->re.n_lits > 0 && pf != NULL) {
		/* the request's table marks its rules in one scan */
		if (!s->hscanned[r->hslot]) {
			sa_prefilter_scan(pf, text, len, s->cand);
			s->hscanned[r->hslot] = 1;
		}
		if (!s->cand[r->idx]) {
			if (r->neg)
				record(s, r, 1);
			return;
		}
	} else if (v->n > 0 && r->re.n_lits > 0 && r->re.n_lits <= HEADER_LITS_MAX) {
		if (low[r->hslot] == NULL) {
			char *l = pool_alloc_nz(s->pool, len + 1);
			for (size_t i = 0; i < len; i++)
				l[i] = ascii_lower(text[i]);
			l[len] = '\0';
			low[r->hslot] = l;
		}
		if (!header_may_match(r, low[r->hslot], len)) {
			if (r->neg)
				record(s, r, 1);
			return;
		}
	}
	if (r->neg) {
		size_t ov[2];
		if (!sa_re_match(&r->re, text, len, 0, ov))
			record(s, r, 1);
		return;
	}
	unsigned n = count_matches(r, text, len, 0);
	if (n > 0)
		record(s, r, n);
}

static void run_lines(struct sa_scan *s, const struct sa_rule *r, const char *const *lines,
		      const size_t *lens, size_t n, bool skip_first)
{
	unsigned hits = 0;
	for (size_t i = skip_first ? 1 : 0; i < n; i++) {
		unsigned h = count_matches(r, lines[i], lens[i], hits);
		if (h == 0)
			continue;
		hits += h;
		if (!(r->tflags & SA_TF_MULTIPLE))
			break;
		if (r->maxhits > 0 && hits >= r->maxhits)
			break;
	}
	if (hits > 0)
		record(s, r, hits);
}

/* The skeleton prefilter over the clean body lines (the others are
   marked in skip): each line's letters and digits, the text the
   skeleton literals were read for (sa-regex.c; the prefilter ignores
   case). */
static void scan_skeletons(const struct sa_prefilter *pf, struct pool *pool,
			   const struct sa_msg *m, const uint8_t *skip, uint8_t *cand,
			   struct sa_pf_lines *pl)
{
	const char **sk = pool_alloc_nz(pool, sizeof(char *) * (m->n_body + 1));
	size_t *sl = pool_alloc(pool, sizeof(size_t) * (m->n_body + 1));
	for (size_t l = 0; l < m->n_body; l++) {
		sk[l] = "";
		if (skip[l])
			continue;
		const unsigned char *t = (const unsigned char *)m->body_lines[l];
		char *o = pool_alloc_nz(pool, m->body_lens[l] + 1);
		size_t k = 0;
		for (size_t i = 0; i < m->body_lens[l]; i++)
			if (sa_skel_byte(t[i]))
				o[k++] = (char)t[i];
		sk[l] = o;
		sl[l] = k;
	}
	sa_prefilter_scan_lines(pf, pool, sk, sl, m->n_body, skip, cand, pl);
}

/* The lines that are not clean (a byte >= 0x80 or "&#"), where the
   ASCII prefilter's rules run without a literal. */
struct dirty_lines {
	const uint32_t *line;   /* ascending */
	size_t n;
};

/* Lines of a rule with literals: only those where one occurs, in line
   order (the chain is newest first).  An agate rule (dirty != NULL) has
   literals for the clean lines only, and runs on every dirty line. */
static void run_some_lines(struct sa_scan *s, const struct sa_rule *r,
			   const char *const *lines, const size_t *lens, size_t n,
			   const struct sa_pf_lines *pl, const struct dirty_lines *dirty,
			   bool skip_first)
{
	uint32_t idx[512];
	size_t k = 0;
	uint32_t h = pl->head[r->idx];
	bool ag = dirty != NULL && r->re.n_lits == 0 && r->re.agate;
	unsigned need = ag ? r->re.alit_count : r->re.lit_count;
	size_t n_dirty = ag ? dirty->n : 0;
	if (r->re.n_lits == 0 && !ag) {
		run_lines(s, r, lines, lens, n, skip_first);
		return;
	}
	if (h == UINT32_MAX && n_dirty == 0)
		return;
	while (h != UINT32_MAX && k < N_ELEMENTS(idx)) {
		if (pl->count[h] >= need)
			idx[k++] = pl->line[h];
		h = pl->next[h];
	}
	if (h != UINT32_MAX || k + n_dirty > N_ELEMENTS(idx)) {
		/* more lines than we track: all of them */
		run_lines(s, r, lines, lens, n, skip_first);
		return;
	}
	if (n_dirty > 0) {
		/* merge the (descending) literal lines with the dirty ones */
		uint32_t lit[512];
		memcpy(lit, idx, sizeof(uint32_t) * k);
		size_t a = k, b = n_dirty, o = k + n_dirty;
		while (o > 0) {
			/* fill idx from its end with the smallest lines */
			uint32_t x;
			if (a > 0 && (b == 0 || lit[a - 1] < dirty->line[n_dirty - b]))
				x = lit[--a];
			else
				x = dirty->line[n_dirty - b--];
			idx[--o] = x;
		}
		k += n_dirty;
	}
	unsigned hits = 0;
	for (size_t i = k; i-- > 0;) {
		uint32_t l = idx[i];
		if (skip_first && l == 0)
			continue;
		unsigned c = count_matches(r, lines[l], lens[l], hits);
		if (c == 0)
			continue;
		hits += c;
		if (!(r->tflags & SA_TF_MULTIPLE))
			break;
		if (r->maxhits > 0 && hits >= r->maxhits)
			break;
	}
	(void)n;
	if (hits > 0)
		record(s, r, hits);
}

/* A body or rawbody rule over its text: the rendered body with its
   chains (and the dirty lines, once a clean-line table has marked
   them), or the raw body with its own chains. */
static void run_text_rule(struct sa_scan *s, const struct sa_rule *r,
			  const struct sa_pf_lines *pl, const struct sa_pf_lines *rl,
			  const struct dirty_lines *dl)
{
	const struct sa_msg *m = s->m;
	if (r->type == SA_T_RAWBODY)
		run_some_lines(s, r, m->raw_lines, m->raw_lens, m->n_raw, rl, NULL, false);
	else
		run_some_lines(s, r, m->body_lines, m->body_lens, m->n_body, pl,
			       dl->line != NULL ? dl : NULL, (r->tflags & SA_TF_NOSUBJECT) != 0);
}

static void run_mimeheader(struct sa_scan *s, const struct sa_rule *r, const struct sa_part *p,
			   unsigned *hits)
{
	/* every part, the message itself and multiparts included */
	for (; p != NULL; p = p->sibling) {
		const char *val = NULL;
		size_t len = 0;
		const struct sa_hdr *h = NULL;
		for (size_t i = 0; i < p->n_hdrs; i++)
			if (strcasecmp(p->hdrs[i].name, r->hdr) == 0)
				h = &p->hdrs[i];
		if (h != NULL) {
			if (r->hmods & SA_HM_RAW) {
				val = h->raw;
				len = h->raw_len;
			} else {
				char *v = pool_alloc_nz(s->pool, h->dec_len + 2);
				memcpy(v, h->dec, h->dec_len);
				v[h->dec_len] = '\n';
				v[h->dec_len + 1] = '\0';
				val = v;
				len = h->dec_len + 1;
			}
		} else {
			val = r->if_unset != NULL ? r->if_unset : "";
			len = strlen(val);
		}
		if (!r->neg) {
			unsigned max = (r->tflags & SA_TF_MULTIPLE) ? (r->maxhits ? r->maxhits : 1000) : 1;
			unsigned n = count_matches(r, val, len, 0);
			if (n > max)
				n = max;
			if (n > 0 && (*hits == 0 || (r->tflags & SA_TF_MULTIPLE)))
				*hits += n;
		}
		if (p->children != NULL)
			run_mimeheader(s, r, p->children, hits);
	}
}

/* A meta's exact value, recorded as record() would: metas are
   evaluated once per scan, and a negative value counts as a hit of 1. */
static void meta_exact(struct sa_scan *s, const struct sa_meta_step *st)
{
	double v = st->zero;
	bool any = false;
	for (unsigned k = 0; k < st->n_deps && !any; k++)
		any = s->value[st->deps[k]] != 0;
	if (any)
		v = sa_meta_eval(st->meta, s->value);
	if (v != 0)
		s->value[st->idx] = v <= 0 ? 1 : v;
}

/*
 * Deferred rules.  A body or rawbody sub-rule is worth 0 or 1 and only
 * metas read it, so a scan without statistics first runs everything
 * else and then evaluates the metas over ranges, a deferred candidate
 * being [0, 1]: the metas that cannot depend on one get their exact
 * value now; a reported meta (not __) whose range is not a single value
 * needs the deferred rules below it, which s->need marks with 2.  Every
 * other deferred rule is left at 0: no reported outcome changes with it
 * (the range evaluation is sound), only the __ metas nobody reports.
 * The FILL_THIS_FORM sub-rules, the costliest of the rule set, end in
 * metas that also require "not from a mailing list" or money, and run
 * on fewer than half of the messages that hold their literals.
 */
/* lo and hi: the caller's room for one range per rule, kept across the
   rounds of a scan. */
static void settle_deferred(struct sa_scan *s, const uint32_t *deferred, size_t n_deferred,
			    bool first, double *lo, double *hi)
{
	const struct sa_engine *e = s->e;
	size_t n = e->n_rules + 1;
	uint32_t *stack = NULL;
	size_t sp = 0;

	if (s->need == NULL)
		s->need = pool_alloc_nz(s->pool, n);
	memset(s->need, 0, n);
	for (size_t i = 0; i < n_deferred; i++)
		s->need[deferred[i]] = 1;
	/* the metas that cannot depend on a deferred rule, exactly, once */
	if (first)
		for (size_t i = 0; i < e->n_fixed; i++)
			meta_exact(s, &e->steps[i]);
	memcpy(lo, s->value, sizeof(double) * e->n_rules);
	memcpy(hi, s->value, sizeof(double) * e->n_rules);
	for (size_t i = 0; i < n_deferred; i++) {
		lo[deferred[i]] = 0.0;
		hi[deferred[i]] = 1.0;
	}
	for (size_t i = e->n_fixed; i < e->n_metas; i++) {
		const struct sa_meta_step *st = &e->steps[i];
		bool any = false;
		for (unsigned k = 0; k < st->n_deps && !any; k++)
			any = lo[st->deps[k]] != 0 || hi[st->deps[k]] != 0;
		if (any) {
			sa_meta_eval_range(st->meta, lo, hi, &lo[st->idx], &hi[st->idx]);
		} else {
			lo[st->idx] = hi[st->idx] = st->zero;
		}
		if (lo[st->idx] == hi[st->idx] || !st->reported)
			continue;
		/* a reported meta still open: every deferred rule below it */
		if (stack == NULL)
			stack = pool_alloc_nz(s->pool, sizeof(uint32_t) * n);
		if (s->need[st->idx] == 0) {
			s->need[st->idx] = 3;
			stack[sp++] = st->idx;
		}
		while (sp > 0) {
			const struct sa_rule *x = e->rules[stack[--sp]];
			for (unsigned k = 0; k < x->n_deps; k++) {
				unsigned d = x->deps[k];
				if (s->need[d] == 1) {
					s->need[d] = 2;
				} else if (s->need[d] == 0 && e->rules[d]->may_defer) {
					s->need[d] = 3;
					stack[sp++] = d;
				}
			}
		}
	}
}

static int cmp_hit(const void *a, const void *b)
{
	return strcmp(((const struct sa_hit *)a)->name, ((const struct sa_hit *)b)->name);
}

static int cmp_time(const void *a, const void *b)
{
	double x = ((const struct sa_hit *)a)->usec, y = ((const struct sa_hit *)b)->usec;
	return x < y ? 1 : x > y ? -1 : 0;
}

int sa_engine_scan(const struct sa_engine *e, struct pool *pool, const void *msg, size_t len,
		   const struct sa_scan_info *info, bool with_stats, struct sa_result *r)
{
	struct sa_scan s;
	double t_start = now_usec(), t0 = 0;

	memset(r, 0, sizeof(*r));
	if (e == NULL || msg == NULL)
		return -1;
	memset(&s, 0, sizeof(s));
	s.e = e;
	s.pool = pool;
	s.with_stats = with_stats;
	s.value = pool_alloc(pool, sizeof(double) * (e->n_rules + 1));
	if (with_stats)
		s.usec = pool_alloc(pool, sizeof(double) * (e->n_rules + 1));
	uint8_t *cand = pool_alloc(pool, e->n_rules + 1);
	s.cand = cand;
	s.hscanned = pool_alloc(pool, e->n_hreqs + 1);
	uint8_t *ran = with_stats ? pool_alloc(pool, e->n_rules + 1) : NULL;
	s.m = sa_msg_parse(pool, e, msg, len, info);
	struct sa_msg *m = s.m;

#define TIMED(rule, stmt)                                                     \
	do {                                                                  \
		if (with_stats) {                                             \
			t0 = now_usec();                                      \
			stmt;                                                 \
			s.usec[(rule)->idx] += now_usec() - t0;               \
			ran[(rule)->idx] = 1;                                 \
		} else {                                                      \
			stmt;                                                 \
		}                                                             \
	} while (0)

	/* header */
	const struct sa_hval **hv = pool_alloc(pool, sizeof(void *) * (e->n_hreqs + 1));
	const char **low = pool_alloc(pool, sizeof(char *) * (e->n_hreqs + 1));
	/* deferred sub-rules (see settle_deferred()) */
	uint32_t *deferred = NULL;
	size_t n_deferred = 0;
#define DEFER(rule)                                                            \
	if ((rule)->defer && !with_stats) {                                   \
		if (deferred == NULL)                                          \
			deferred = pool_alloc_nz(pool, sizeof(uint32_t) *     \
						 (e->n_rules + 1));           \
		deferred[n_deferred++] = (rule)->idx;                          \
		continue;                                                      \
	}
	for (size_t i = 0; i < e->n_run[SA_T_HEADER]; i++) {
		const struct sa_rule *rule = e->rules[e->run[SA_T_HEADER][i]];
		TIMED(rule, run_header(&s, rule, hv, low));
	}
	/* body: line by line, and a rule only on the lines holding one of
	   its literals */
	struct sa_pf_lines pl = { 0 };
	pl.head = pool_alloc_nz(pool, sizeof(uint32_t) * (e->n_rules + 1));
	memset(pl.head, 0xff, sizeof(uint32_t) * (e->n_rules + 1));
	struct dirty_lines dl = { 0 };
	struct sa_pf_lines rl = { 0 };
	if (e->n_run[SA_T_BODY] > 0) {
		sa_msg_body(m);
		sa_prefilter_scan_lines(e->pf_body, pool, m->body_lines, m->body_lens, m->n_body,
					NULL, cand, &pl);
		if (e->pf_body_ascii != NULL || e->pf_body_skel != NULL) {
			uint8_t *dirty = pool_alloc(pool, m->n_body + 1);
			uint32_t *dline = pool_alloc_nz(pool, sizeof(uint32_t) * (m->n_body + 1));
			for (size_t l = 0; l < m->n_body; l++) {
				const unsigned char *t = (const unsigned char *)m->body_lines[l];
				unsigned char acc = 0;
				for (size_t i = 0; i < m->body_lens[l]; i++)
					acc |= t[i];
				if ((acc & 0x80) || memmem(t, m->body_lens[l], "&#", 2) != NULL) {
					dirty[l] = 1;
					dline[dl.n++] = (uint32_t)l;
				}
			}
			dl.line = dline;
			if (e->pf_body_ascii != NULL) {
				sa_prefilter_scan_lines(e->pf_body_ascii, pool, m->body_lines,
							m->body_lens, m->n_body, dirty, cand, &pl);
				if (dl.n > 0)
					sa_prefilter_mark_all(e->pf_body_ascii, cand);
			}
			if (e->pf_body_skel != NULL) {
				scan_skeletons(e->pf_body_skel, pool, m, dirty, cand, &pl);
				if (dl.n > 0)
					sa_prefilter_mark_all(e->pf_body_skel, cand);
			}
		}
		for (size_t i = 0; i < e->n_run[SA_T_BODY]; i++) {
			const struct sa_rule *rule = e->rules[e->run[SA_T_BODY][i]];
			if (!cand[rule->idx])
				continue;
			DEFER(rule);
			TIMED(rule, run_text_rule(&s, rule, &pl, &rl, &dl));
		}
	}
	/* uri */
	if (e->n_run[SA_T_URI] > 0) {
		sa_msg_uris(m);
		sa_prefilter_scan(e->pf_uri, m->uri_all, m->uri_all_len, cand);
		size_t *lens = pool_alloc(pool, sizeof(size_t) * (m->n_uri_list + 1));
		for (size_t i = 0; i < m->n_uri_list; i++)
			lens[i] = strlen(m->uri_list[i]);
		for (size_t i = 0; i < e->n_run[SA_T_URI]; i++) {
			const struct sa_rule *rule = e->rules[e->run[SA_T_URI][i]];
			if (!cand[rule->idx])
				continue;
			TIMED(rule, run_lines(&s, rule, m->uri_list, lens, m->n_uri_list, false));
		}
	}
	/* rawbody */
	if (e->n_run[SA_T_RAWBODY] > 0) {
		sa_msg_rawbody(m);
		/* its own chains: the body's serve the deferred rules later */
		rl.head = pool_alloc_nz(pool, sizeof(uint32_t) * (e->n_rules + 1));
		memset(rl.head, 0xff, sizeof(uint32_t) * (e->n_rules + 1));
		sa_prefilter_scan_lines(e->pf_rawbody, pool, m->raw_lines, m->raw_lens, m->n_raw,
					NULL, cand, &rl);
		for (size_t i = 0; i < e->n_run[SA_T_RAWBODY]; i++) {
			const struct sa_rule *rule = e->rules[e->run[SA_T_RAWBODY][i]];
			if (!cand[rule->idx])
				continue;
			DEFER(rule);
			TIMED(rule, run_text_rule(&s, rule, &pl, &rl, &dl));
		}
	}
#undef DEFER
	/* full */
	if (e->n_run[SA_T_FULL] > 0) {
		sa_prefilter_scan(e->pf_full, m->data, m->len, cand);
		for (size_t i = 0; i < e->n_run[SA_T_FULL]; i++) {
			const struct sa_rule *rule = e->rules[e->run[SA_T_FULL][i]];
			if (!cand[rule->idx])
				continue;
			const char *full = m->data;
			size_t fl = m->len;
			TIMED(rule, run_lines(&s, rule, &full, &fl, 1, false));
		}
	}
	/* mimeheader */
	for (size_t i = 0; i < e->n_run[SA_T_MIMEHEADER]; i++) {
		const struct sa_rule *rule = e->rules[e->run[SA_T_MIMEHEADER][i]];
		unsigned hits = 0;
		TIMED(rule, run_mimeheader(&s, rule, m->root, &hits));
		if (rule->neg)
			hits = 1; /* the plugin returns 1 for every negated rule */
		if (hits > 0)
			record(&s, rule, hits);
	}
	/* evals */
	static const enum sa_type ev_types[] = {
		SA_T_EVAL_HEAD, SA_T_EVAL_BODY, SA_T_EVAL_RAWBODY, SA_T_EVAL_FULL, SA_T_URI_DETAIL,
	};
	for (size_t t = 0; t < N_ELEMENTS(ev_types); t++) {
		for (size_t i = 0; i < e->n_run[ev_types[t]]; i++) {
			const struct sa_rule *rule = e->rules[e->run[ev_types[t]][i]];
			double v = 0;
			if (rule->type == SA_T_URI_DETAIL) {
				TIMED(rule, v = sa_eval_uri_detail(&s, rule));
			} else {
				const struct sa_eval_def *d = &sa_evals[rule->eval.fn];
				TIMED(rule, v = d->fn(&s, rule, &rule->eval));
			}
			if (v != 0)
				record(&s, rule, v);
		}
	}
	/* metas; with deferred rules, first those that cannot depend on
	   them, the others over ranges, then the deferred rules a reported
	   meta still depends on -- the cheap ones first: what they find may
	   settle a meta that would otherwise need a costly one -- then the
	   others exactly */
	bool settled = n_deferred > 0;
	double *lo = NULL, *hi = NULL;
	if (settled) {
		lo = pool_alloc_nz(pool, sizeof(double) * (e->n_rules + 1));
		hi = pool_alloc_nz(pool, sizeof(double) * (e->n_rules + 1));
	}
	for (unsigned tier = 0; n_deferred > 0 && tier <= SA_DEFER_TIERS; tier++) {
		settle_deferred(&s, deferred, n_deferred, tier == 0, lo, hi);
		size_t keep = 0;
		bool more = false;
		for (size_t i = 0; i < n_deferred; i++) {
			const struct sa_rule *rule = e->rules[deferred[i]];
			if (s.need[rule->idx] != 2 || rule->defer_tier > tier) {
				/* what is needed only shrinks as rules run: when no
				   costlier one is needed now, none will be */
				more = more || s.need[rule->idx] == 2;
				deferred[keep++] = deferred[i];
				continue;
			}
			TIMED(rule, run_text_rule(&s, rule, &pl, &rl, &dl));
		}
		n_deferred = more ? keep : 0;
	}
	/* the rest of the metas (all of them when nothing was deferred) */
	for (size_t i = settled ? e->n_fixed : 0; i < e->n_metas; i++) {
		const struct sa_meta_step *st = &e->steps[i];
		TIMED(e->rules[st->idx], meta_exact(&s, st));
	}
#undef TIMED

	/* results */
	size_t nh = 0, ns = 0;
	for (size_t i = 0; i < e->n_rules; i++) {
		if (s.value[i] == 0)
			continue;
		if (strncmp(e->rules[i]->name, "__", 2) == 0)
			ns++;
		else
			nh++;
	}
	r->hits = pool_alloc(pool, sizeof(*r->hits) * (nh + 1));
	if (with_stats)
		r->subrules = pool_alloc(pool, sizeof(char *) * (ns + 1));
	double score = 0;
	for (size_t i = 0; i < e->n_rules; i++) {
		const struct sa_rule *rule = e->rules[i];
		if (s.value[i] == 0)
			continue;
		if (strncmp(rule->name, "__", 2) == 0) {
			if (with_stats)
				r->subrules[r->n_subrules++] = rule->name;
			continue;
		}
		double times = (rule->tflags & SA_TF_MULTIPLE) && rule->type != SA_T_META ?
			       s.value[i] : 1;
		struct sa_hit *h = &r->hits[r->n_hits++];
		h->name = rule->name;
		h->score = rule->score * times;
		h->describe = rule->describe != NULL ? rule->describe : "";
		h->usec = with_stats ? s.usec[i] : 0;
		score += h->score;
		if (strcmp(rule->name, "GTUBE") == 0)
			r->gtube = true;
	}
	qsort(r->hits, r->n_hits, sizeof(*r->hits), cmp_hit);
	/* SpamAssassin keeps the score to three decimals */
	r->score = (double)llround(score * 1000.0) / 1000.0;
	if (with_stats) {
		size_t nt = 0;
		for (size_t i = 0; i < e->n_rules; i++)
			if (ran[i])
				nt++;
		r->timings = pool_alloc(pool, sizeof(*r->timings) * (nt + 1));
		for (size_t i = 0; i < e->n_rules; i++) {
			if (!ran[i])
				continue;
			struct sa_hit *h = &r->timings[r->n_timings++];
			h->name = e->rules[i]->name;
			h->score = s.value[i] != 0 ? e->rules[i]->score : 0;
			h->describe = e->rules[i]->describe != NULL ? e->rules[i]->describe : "";
			h->usec = s.usec[i];
		}
		qsort(r->timings, r->n_timings, sizeof(*r->timings), cmp_time);
	}
	if (m->get_cache != NULL)
		hash_destroy(&m->get_cache);
	sa_eval_scan_done(&s);
	r->scan_usec = now_usec() - t_start;
	return 0;
}

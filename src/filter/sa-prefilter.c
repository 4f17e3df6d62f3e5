/*
 * Which rules can match a text, in one pass.  Every rule whose pattern
 * holds required literals (sa-regex.c) is entered into one Aho-Corasick
 * automaton per rule kind; a scan of the (ASCII-lower-cased) text marks
 * the rules one of whose literals occurs, and only those run their
 * regular expression.  A rule without usable literals always runs.  The
 * automaton is a full DFA over byte classes (the bytes that occur in
 * literals), so the scan costs one table load per byte.
 */

#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/pool.h"
#include "lib/util.h"

struct sa_prefilter {
	uint8_t cls[256];       /* byte (any case) -> class */
	unsigned n_cls;
	uint32_t *delta;        /* state * n_cls + class -> state */
	uint32_t n_states;
	uint32_t *out_off;      /* state -> first output, n_states + 1 entries */
	unsigned *out;          /* rule indexes */
	unsigned *always;       /* rules without literals */
	size_t n_always;
	unsigned *all;          /* every rule */
	size_t n_all;
};

struct trie {
	uint32_t *next;         /* n_states * n_cls, 0 = none (root is 0) */
	uint32_t n, cap;
	unsigned **outs;        /* per state, dynamic lists */
	unsigned *n_outs;
};

static uint32_t trie_new_state(struct trie *t, unsigned n_cls)
{
	if (t->n == t->cap) {
		uint32_t nc = t->cap ? t->cap * 2 : 1024;
		t->next = xrealloc(t->next, sizeof(uint32_t) * nc * n_cls);
		t->outs = xrealloc(t->outs, sizeof(unsigned *) * nc);
		t->n_outs = xrealloc(t->n_outs, sizeof(unsigned) * nc);
		t->cap = nc;
	}
	memset(t->next + (size_t)t->n * n_cls, 0, sizeof(uint32_t) * n_cls);
	t->outs[t->n] = NULL;
	t->n_outs[t->n] = 0;
	return t->n++;
}

static void add_out(struct trie *t, uint32_t s, unsigned rule)
{
	for (unsigned i = 0; i < t->n_outs[s]; i++)
		if (t->outs[s][i] == rule)
			return;
	t->outs[s] = xrealloc(t->outs[s], sizeof(unsigned) * (t->n_outs[s] + 1));
	t->outs[s][t->n_outs[s]++] = rule;
}

/* The literals a rule enters in a prefilter of this mode. */
static unsigned rule_lits(const struct sa_re *re, enum sa_pf_mode mode, char ***lits_r,
			  size_t **lens_r)
{
	if (mode == SA_PF_ASCII || mode == SA_PF_SKEL) {
		*lits_r = re->alits;
		*lens_r = re->alit_lens;
		return re->n_alits;
	}
	*lits_r = re->lits;
	*lens_r = re->lit_lens;
	return re->n_lits;
}

struct sa_prefilter *sa_prefilter_build(struct sa_engine *e, const unsigned *rules,
					size_t n, enum sa_pf_mode mode)
{
	struct sa_prefilter *pf;
	bool used[256] = { false };
	struct trie t = { 0 };
	unsigned *mine = xmalloc(sizeof(unsigned) * (n + 1));
	size_t n_mine = 0;

	/* an agate rule (no literal for every line) is the ASCII or the
	   skeleton prefilter's; the main one leaves it out of its always
	   list */
	bool part = mode == SA_PF_ASCII || mode == SA_PF_SKEL;
	for (size_t i = 0; i < n; i++) {
		const struct sa_re *re = &e->rules[rules[i]]->re;
		bool ag = re->n_lits == 0 && re->agate;
		if (!part || (ag && re->askel == (mode == SA_PF_SKEL)))
			mine[n_mine++] = rules[i];
	}
	if (part && n_mine == 0) {
		free(mine);
		return NULL;
	}
	pf = xcalloc(1, sizeof(*pf));
	pf->all = mine;
	pf->n_all = n_mine;
	rules = mine;
	n = n_mine;
	pf->always = xmalloc(sizeof(unsigned) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		const struct sa_re *re = &e->rules[rules[i]]->re;
		char **lits;
		size_t *lens;
		unsigned nl = rule_lits(re, mode, &lits, &lens);
		if (nl == 0) {
			if (mode == SA_PF_ALL || (mode == SA_PF_MAIN && !re->agate))
				pf->always[pf->n_always++] = rules[i];
			continue;
		}
		for (unsigned j = 0; j < nl; j++)
			for (size_t k = 0; k < lens[j]; k++)
				used[(unsigned char)lits[j][k]] = true;
	}
	/* class 0: bytes in no literal */
	pf->n_cls = 1;
	for (int b = 0; b < 256; b++)
		if (used[b])
			pf->cls[b] = (uint8_t)pf->n_cls++;
	for (int b = 'A'; b <= 'Z'; b++)
		pf->cls[b] = pf->cls[b + 32];
	if (pf->n_cls > 255)
		ombu_panic("sa prefilter: too many byte classes");

	unsigned nc = pf->n_cls;
	trie_new_state(&t, nc);
	for (size_t i = 0; i < n; i++) {
		const struct sa_re *re = &e->rules[rules[i]]->re;
		char **lits;
		size_t *lens;
		unsigned nl = rule_lits(re, mode, &lits, &lens);
		for (unsigned j = 0; j < nl; j++) {
			uint32_t s = 0;
			for (size_t k = 0; k < lens[j]; k++) {
				unsigned c = pf->cls[(unsigned char)lits[j][k]];
				uint32_t nx = t.next[(size_t)s * nc + c];
				if (nx == 0) {
					nx = trie_new_state(&t, nc);
					t.next[(size_t)s * nc + c] = nx;
				}
				s = nx;
			}
			add_out(&t, s, rules[i]);
		}
	}

	/* BFS: failure links folded into a full DFA */
	uint32_t *fail = xcalloc(t.n, sizeof(uint32_t));
	uint32_t *queue = xmalloc(sizeof(uint32_t) * t.n);
	size_t qh = 0, qt = 0;
	pf->n_states = t.n;
	pf->delta = xmalloc(sizeof(uint32_t) * (size_t)t.n * nc);
	for (unsigned c = 0; c < nc; c++) {
		uint32_t nx = t.next[c];
		pf->delta[c] = nx;
		if (nx != 0) {
			fail[nx] = 0;
			queue[qt++] = nx;
		}
	}
	while (qh < qt) {
		uint32_t s = queue[qh++];
		for (unsigned i = 0; i < t.n_outs[fail[s]]; i++)
			add_out(&t, s, t.outs[fail[s]][i]);
		for (unsigned c = 0; c < nc; c++) {
			uint32_t nx = t.next[(size_t)s * nc + c];
			if (nx != 0) {
				fail[nx] = pf->delta[(size_t)fail[s] * nc + c];
				pf->delta[(size_t)s * nc + c] = nx;
				queue[qt++] = nx;
			} else {
				pf->delta[(size_t)s * nc + c] = pf->delta[(size_t)fail[s] * nc + c];
			}
		}
	}
	free(fail);
	free(queue);

	pf->out_off = xmalloc(sizeof(uint32_t) * (t.n + 1));
	size_t total = 0;
	for (uint32_t s = 0; s < t.n; s++)
		total += t.n_outs[s];
	pf->out = xmalloc(sizeof(unsigned) * (total + 1));
	total = 0;
	for (uint32_t s = 0; s < t.n; s++) {
		pf->out_off[s] = (uint32_t)total;
		for (unsigned i = 0; i < t.n_outs[s]; i++)
			pf->out[total++] = t.outs[s][i];
		free(t.outs[s]);
	}
	pf->out_off[t.n] = (uint32_t)total;
	free(t.outs);
	free(t.n_outs);
	free(t.next);
	return pf;
}

void sa_prefilter_free(struct sa_prefilter **pfp)
{
	struct sa_prefilter *pf = *pfp;
	if (pf == NULL)
		return;
	*pfp = NULL;
	free(pf->delta);
	free(pf->out_off);
	free(pf->out);
	free(pf->always);
	free(pf->all);
	free(pf);
}

void sa_prefilter_scan(const struct sa_prefilter *pf, const char *text, size_t len,
		       uint8_t *cand)
{
	const uint32_t *delta = pf->delta;
	const uint32_t *off = pf->out_off;
	const uint8_t *cls = pf->cls;
	unsigned nc = pf->n_cls;
	uint32_t s = 0;

	for (size_t i = 0; i < pf->n_always; i++)
		cand[pf->always[i]] = 1;
	for (size_t i = 0; i < len; i++) {
		s = delta[(size_t)s * nc + cls[(unsigned char)text[i]]];
		uint32_t a = off[s], b = off[s + 1];
		for (uint32_t k = a; k < b; k++)
			cand[pf->out[k]] = 1;
	}
}

void sa_prefilter_mark_all(const struct sa_prefilter *pf, uint8_t *cand)
{
	for (size_t i = 0; i < pf->n_all; i++)
		cand[pf->all[i]] = 1;
}

void sa_prefilter_scan_lines(const struct sa_prefilter *pf, struct pool *pool,
			     const char *const *lines, const size_t *lens, size_t n,
			     const uint8_t *skip, uint8_t *cand, struct sa_pf_lines *out)
{
	const uint32_t *delta = pf->delta;
	const uint32_t *off = pf->out_off;
	const uint8_t *cls = pf->cls;
	unsigned nc = pf->n_cls;

	for (size_t i = 0; i < pf->n_always; i++)
		cand[pf->always[i]] = 1;
	for (size_t l = 0; l < n; l++) {
		if (skip != NULL && skip[l])
			continue;
		const char *text = lines[l];
		size_t len = lens[l];
		uint32_t s = 0;
		for (size_t i = 0; i < len; i++) {
			s = delta[(size_t)s * nc + cls[(unsigned char)text[i]]];
			uint32_t a = off[s], b = off[s + 1];
			for (uint32_t k = a; k < b; k++) {
				unsigned r = pf->out[k];
				cand[r] = 1;
				uint32_t h = out->head[r];
				if (h != UINT32_MAX && out->line[h] == (uint32_t)l) {
					out->count[h]++;
					continue;
				}
				if (out->n == out->cap) {
					size_t nc2 = out->cap ? out->cap * 2 : 256;
					size_t o = sizeof(uint32_t) * out->cap, nw = sizeof(uint32_t) * nc2;
					out->line = pool_realloc(pool, out->line, o, nw);
					out->next = pool_realloc(pool, out->next, o, nw);
					out->count = pool_realloc(pool, out->count, o, nw);
					out->cap = nc2;
				}
				out->line[out->n] = (uint32_t)l;
				out->next[out->n] = h;
				out->count[out->n] = 1;
				out->head[r] = (uint32_t)out->n++;
			}
		}
	}
}

/*
 * Sorted UID sets as ranges.  A folder whose messages were never
 * expunged is one range however many messages it holds, so a selected
 * session's sequence map costs a few bytes until messages are removed
 * from the middle; lookups are binary searches over the ranges.
 */

#include "imap-private.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

void seqmap_init(struct seqmap *m)
{
	memset(m, 0, sizeof(*m));
}

void seqmap_free(struct seqmap *m)
{
	free(m->r);
	free(m->start);
	seqmap_init(m);
}

void seqmap_clear(struct seqmap *m)
{
	m->nr = 0;
	m->count = 0;
}

static void grow(struct seqmap *m, uint32_t need)
{
	if (need <= m->cap)
		return;
	uint32_t cap = m->cap ? m->cap : 2;
	while (cap < need)
		cap *= 2;
	m->r = xrealloc(m->r, cap * sizeof(*m->r));
	m->start = xrealloc(m->start, cap * sizeof(*m->start));
	m->cap = cap;
}

static void renumber(struct seqmap *m, uint32_t from)
{
	uint32_t seq = from == 0 ? 1 : m->start[from - 1] + (m->r[from - 1].hi - m->r[from - 1].lo + 1);
	for (uint32_t i = from; i < m->nr; i++) {
		m->start[i] = seq;
		seq += m->r[i].hi - m->r[i].lo + 1;
	}
	m->count = seq - 1;
}

void seqmap_append(struct seqmap *m, uint32_t uid)
{
	if (m->nr > 0 && m->r[m->nr - 1].hi + 1 == uid) {
		m->r[m->nr - 1].hi = uid;
		m->count++;
		return;
	}
	if (m->nr > 0 && uid <= m->r[m->nr - 1].hi) {
		seqmap_add(m, uid);
		return;
	}
	grow(m, m->nr + 1);
	m->r[m->nr].lo = m->r[m->nr].hi = uid;
	m->start[m->nr] = m->count + 1;
	m->nr++;
	m->count++;
}

/* Index of the range holding uid, or of the first range above it. */
static uint32_t find(const struct seqmap *m, uint32_t uid)
{
	uint32_t lo = 0, hi = m->nr;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (m->r[mid].hi < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void seqmap_add_range(struct seqmap *m, uint32_t lo, uint32_t hi)
{
	if (lo > hi)
		return;
	if (m->nr == 0 || lo > m->r[m->nr - 1].hi + 1) {
		grow(m, m->nr + 1);
		m->r[m->nr].lo = lo;
		m->r[m->nr].hi = hi;
		m->nr++;
		renumber(m, m->nr - 1);
		return;
	}
	/* merge with every range it touches */
	uint32_t i = find(m, lo > 0 ? lo - 1 : 0);
	uint32_t j = i;
	uint32_t nlo = lo, nhi = hi;
	while (j < m->nr && m->r[j].lo <= (hi == UINT32_MAX ? hi : hi + 1)) {
		nlo = MIN(nlo, m->r[j].lo);
		nhi = MAX(nhi, m->r[j].hi);
		j++;
	}
	if (j == i) {
		grow(m, m->nr + 1);
		memmove(&m->r[i + 1], &m->r[i], (m->nr - i) * sizeof(*m->r));
		m->nr++;
	} else if (j > i + 1) {
		memmove(&m->r[i + 1], &m->r[j], (m->nr - j) * sizeof(*m->r));
		m->nr -= j - i - 1;
	}
	m->r[i].lo = nlo;
	m->r[i].hi = nhi;
	renumber(m, i);
}

void seqmap_add(struct seqmap *m, uint32_t uid)
{
	seqmap_add_range(m, uid, uid);
}

uint32_t seqmap_uid(const struct seqmap *m, uint32_t seq)
{
	if (seq == 0 || seq > m->count)
		return 0;
	uint32_t lo = 0, hi = m->nr;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (m->start[mid] <= seq)
			lo = mid;
		else
			hi = mid;
	}
	return m->r[lo].lo + (seq - m->start[lo]);
}

uint32_t seqmap_seq(const struct seqmap *m, uint32_t uid)
{
	uint32_t i = find(m, uid);
	if (i == m->nr || uid < m->r[i].lo)
		return 0;
	return m->start[i] + (uid - m->r[i].lo);
}

bool seqmap_has(const struct seqmap *m, uint32_t uid)
{
	return seqmap_seq(m, uid) != 0;
}

uint32_t seqmap_seq_ge(const struct seqmap *m, uint32_t uid)
{
	uint32_t i = find(m, uid);
	if (i == m->nr)
		return m->count + 1;
	if (uid < m->r[i].lo)
		return m->start[i];
	return m->start[i] + (uid - m->r[i].lo);
}

uint32_t seqmap_remove(struct seqmap *m, uint32_t uid)
{
	uint32_t i = find(m, uid);
	if (i == m->nr || uid < m->r[i].lo)
		return 0;
	uint32_t seq = m->start[i] + (uid - m->r[i].lo);
	struct uid_range *r = &m->r[i];
	if (r->lo == r->hi) {
		memmove(&m->r[i], &m->r[i + 1], (m->nr - i - 1) * sizeof(*m->r));
		m->nr--;
	} else if (uid == r->lo) {
		r->lo++;
	} else if (uid == r->hi) {
		r->hi--;
	} else {
		grow(m, m->nr + 1);
		r = &m->r[i];
		memmove(&m->r[i + 2], &m->r[i + 1], (m->nr - i - 1) * sizeof(*m->r));
		m->r[i + 1].lo = uid + 1;
		m->r[i + 1].hi = r->hi;
		r->hi = uid - 1;
		m->nr++;
	}
	if (m->nr == 0)
		m->count = 0;
	else
		renumber(m, i < m->nr ? i : m->nr - 1);
	return seq;
}

uint32_t seqmap_last(const struct seqmap *m)
{
	return m->nr > 0 ? m->r[m->nr - 1].hi : 0;
}

void seqmap_write(const struct seqmap *m, struct buf *out)
{
	for (uint32_t i = 0; i < m->nr; i++) {
		if (i > 0)
			buf_append_c(out, ',');
		if (m->r[i].lo == m->r[i].hi)
			buf_printf(out, "%u", m->r[i].lo);
		else
			buf_printf(out, "%u:%u", m->r[i].lo, m->r[i].hi);
	}
}

uint32_t seqmap_intersect_count(const struct seqmap *a, const struct seqmap *b)
{
	uint32_t n = 0, i = 0, j = 0;
	while (i < a->nr && j < b->nr) {
		uint32_t lo = MAX(a->r[i].lo, b->r[j].lo);
		uint32_t hi = MIN(a->r[i].hi, b->r[j].hi);
		if (lo <= hi)
			n += hi - lo + 1;
		if (a->r[i].hi < b->r[j].hi)
			i++;
		else
			j++;
	}
	return n;
}

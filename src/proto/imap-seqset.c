/* IMAP sequence sets: "1,3:5,7:*" (RFC 9051 sequence-set). */

#include "imap-proto.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static int parse_number(const char **sp, uint32_t *n_r)
{
	const char *s = *sp;
	if (*s == '*') {
		*n_r = IMAP_SEQ_STAR;
		*sp = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	uint64_t v = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > 0xffffffffull)
			return -1;
		s++;
	}
	*n_r = (uint32_t)v;
	*sp = s;
	return 0;
}

int imap_seqset_parse(struct pool *pool, const char *s, struct imap_seqset *set_r)
{
	unsigned int cap = 4, n = 0;
	struct imap_range *r = pool_alloc(pool, cap * sizeof(*r));
	if (*s == '\0')
		return -1;
	for (;;) {
		uint32_t a, b;
		if (parse_number(&s, &a) < 0)
			return -1;
		b = a;
		if (*s == ':') {
			s++;
			if (parse_number(&s, &b) < 0)
				return -1;
		}
		if (n == cap) {
			r = pool_realloc(pool, r, cap * sizeof(*r), cap * 2 * sizeof(*r));
			cap *= 2;
		}
		r[n].lo = a;
		r[n].hi = b;
		n++;
		if (*s == '\0')
			break;
		if (*s != ',')
			return -1;
		s++;
	}
	set_r->r = r;
	set_r->count = n;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t max)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < set->count; i++) {
		struct imap_range r = set->r[i];
		if ((r.lo == IMAP_SEQ_STAR || r.hi == IMAP_SEQ_STAR) && max == 0)
			continue;
		if (r.lo == IMAP_SEQ_STAR)
			r.lo = max;
		if (r.hi == IMAP_SEQ_STAR)
			r.hi = max;
		if (r.lo > r.hi) {
			/* "5:*" with max 3 means 3:5 */
			uint32_t t = r.lo;
			r.lo = r.hi;
			r.hi = t;
		}
		set->r[n++] = r;
	}
	set->count = n;
	if (n == 0)
		return;
	qsort(set->r, n, sizeof(*set->r), cmp_range);
	unsigned int m = 0;
	for (unsigned int i = 1; i < n; i++) {
		if (set->r[m].hi == UINT32_MAX || set->r[i].lo <= set->r[m].hi + 1) {
			if (set->r[i].hi > set->r[m].hi)
				set->r[m].hi = set->r[i].hi;
		} else {
			set->r[++m] = set->r[i];
		}
	}
	set->count = m + 1;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned int lo = 0, hi = set->count;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		if (n < set->r[mid].lo)
			hi = mid;
		else if (n > set->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void imap_seqset_write(struct buf *out, const struct imap_range *r, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		if (i > 0)
			buf_append_c(out, ',');
		if (r[i].lo == r[i].hi)
			buf_printf(out, "%u", r[i].lo);
		else
			buf_printf(out, "%u:%u", r[i].lo, r[i].hi);
	}
}

void imap_numbers_write(struct buf *out, const uint32_t *n, size_t count)
{
	size_t i = 0;
	bool first = true;
	while (i < count) {
		size_t j = i;
		while (j + 1 < count && n[j + 1] == n[j] + 1)
			j++;
		if (!first)
			buf_append_c(out, ',');
		first = false;
		if (j == i)
			buf_printf(out, "%u", n[i]);
		else
			buf_printf(out, "%u:%u", n[i], n[j]);
		i = j + 1;
	}
}

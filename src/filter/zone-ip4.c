/*
 * IPv4 entries of ip4set and ip4trie zones: parsing the address forms of
 * rbldnsd(8), and the flat range table lookups search.
 *
 * Both dataset types end up as a set of prefixes with a value each (or
 * an exclusion), decided by the longest prefix.  ip4set is rbldnsd's
 * octet-level set: a range is cut into /32, /24, /16 and /8 blocks and a
 * query takes the most specific level that has one, which is the longest
 * prefix among those blocks; where one block is both listed and
 * excluded, the exclusion wins.  ip4trie takes CIDR prefixes of any
 * length; the first of two equal prefixes wins, the second is reported.
 *
 * Instead of a tree, the prefixes are sorted once and swept into disjoint
 * ranges (the way rbldnsd -d dumps an ip4trie), which costs 8 bytes per
 * range and makes a lookup one binary search over one flat array.
 * Prefixes nest or are disjoint, so the sweep needs only a stack of the
 * (at most 33) prefixes around the current address.
 */

#include "filter/zone-private.h"

#include "lib/num.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

/* A file of huge ranges could ask for billions of blocks. */
#define ZONE_IP4_RECORDS_MAX (1u << 27)

static inline uint32_t prefix_mask(unsigned plen)
{
	return plen == 0 ? 0 : ~0u << (32 - plen);
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One to four dotted decimal octets, left-aligned in *addr_r; returns
 * how many. */
static int parse_octets(const char *s, uint32_t *addr_r, const char **end_r,
			const char **error_r)
{
	uint32_t addr = 0;
	int n = 0;

	for (;;) {
		const char *p = s;
		uint64_t v;

		while (is_digit(*p))
			p++;
		if (p == s) {
			*error_r = "invalid address: a number was expected";
			return -1;
		}
		if (num_parse_u64n(s, (size_t)(p - s), &v) < 0 || v > 255) {
			*error_r = "invalid address: an octet is over 255";
			return -1;
		}
		addr |= (uint32_t)v << (24 - 8 * n);
		n++;
		s = p;
		if (n == 4 || *s != '.')
			break;
		s++;
	}
	*addr_r = addr;
	*end_r = s;
	return n;
}

/* "/bits" after a prefix, s on the slash. */
static int parse_plen(const char *s, unsigned *plen_r, const char **end_r,
		      const char **error_r)
{
	const char *p = ++s;
	uint64_t v;

	while (is_digit(*p))
		p++;
	if (p == s || num_parse_u64n(s, (size_t)(p - s), &v) < 0 || v > 32) {
		*error_r = "invalid address: the prefix length must be 0 to 32";
		return -1;
	}
	*plen_r = (unsigned)v;
	*end_r = p;
	return 0;
}

static int check_host_part(uint32_t addr, unsigned plen, const char **error_r)
{
	if ((addr & ~prefix_mask(plen)) != 0) {
		*error_r = "invalid range: the address has bits set beyond the "
			   "prefix length (10.1.2.3/8 should be 10.0.0.0/8)";
		return -1;
	}
	return 0;
}

int zone_ip4_parse_range(const char *s, uint32_t *lo_r, uint32_t *hi_r, const char **end_r,
			 const char **error_r)
{
	uint32_t a, b;
	int n, n2;

	if ((n = parse_octets(s, &a, &s, error_r)) < 0)
		return -1;
	if (*s == '-') {
		if ((n2 = parse_octets(s + 1, &b, &s, error_r)) < 0)
			return -1;
		if (n2 == 1) {
			/* 127.0.0.1-9: the end is the last octet given */
			b = (b >> (8 * (n - 1))) | (a & prefix_mask(8 * (unsigned)(n - 1)));
			n2 = n;
		}
		b |= ~prefix_mask(8 * (unsigned)n2);
		if (a > b) {
			*error_r = "invalid range: the start is after the end";
			return -1;
		}
		*lo_r = a;
		*hi_r = b;
	} else if (*s == '/') {
		unsigned plen;
		if (parse_plen(s, &plen, &s, error_r) < 0)
			return -1;
		if (plen == 0) {
			*error_r = "invalid range: /0 is not allowed in ip4set";
			return -1;
		}
		if (check_host_part(a, plen, error_r) < 0)
			return -1;
		*lo_r = a;
		*hi_r = a | ~prefix_mask(plen);
	} else {
		if (n == 1) {
			*error_r = "invalid address: a bare number (write 10.0.0.0/8 or 10.0.0)";
			return -1;
		}
		*lo_r = a;
		*hi_r = a | ~prefix_mask(8 * (unsigned)n);
	}
	*end_r = s;
	return 0;
}

int zone_ip4_parse_cidr(const char *s, uint32_t *addr_r, unsigned *plen_r,
			const char **end_r, const char **error_r)
{
	uint32_t a;
	unsigned plen;
	int n;

	if ((n = parse_octets(s, &a, &s, error_r)) < 0)
		return -1;
	if (*s == '/') {
		if (parse_plen(s, &plen, &s, error_r) < 0)
			return -1;
	} else if (*s == '-') {
		*error_r = "invalid address: ip4trie takes CIDR prefixes, not a-b ranges";
		return -1;
	} else if (n == 1) {
		*error_r = "invalid address: a bare number (write 10.0.0.0/8 or 10.0.0)";
		return -1;
	} else {
		plen = 8 * (unsigned)n;
	}
	if (check_host_part(a, plen, error_r) < 0)
		return -1;
	*addr_r = a;
	*plen_r = plen;
	*end_r = s;
	return 0;
}

int zone_ip4_parse_a(const char *s, uint32_t *a_r, const char **end_r)
{
	const char *error;
	uint32_t a;
	int n = parse_octets(s, &a, end_r, &error);

	/* inet_aton: the last number given is the last octet */
	switch (n) {
	case 1:
		a >>= 24;
		break;
	case 2:
		a = (a & 0xff000000u) | ((a >> 16) & 255);
		break;
	case 3:
		a = (a & 0xffff0000u) | ((a >> 8) & 255);
		break;
	case 4:
		break;
	default:
		return -1;
	}
	if (a == 0)
		return -1;
	if (n == 1)
		a |= 0x7f000000u; /* ":2" is 127.0.0.2 */
	*a_r = a;
	return 0;
}

static void push_rec(struct zone_loader *ld, uint32_t addr, unsigned plen, uint32_t value)
{
	if (ld->fatal)
		return;
	if (ld->n_recs == ld->cap_recs) {
		if (ld->cap_recs >= ZONE_IP4_RECORDS_MAX) {
			zone_parse_fail(ld, "%s:%u: too many address blocks (over %u); "
					    "the ranges are too large or too many",
					ld->file, ld->line, ZONE_IP4_RECORDS_MAX);
			return;
		}
		ld->cap_recs = ld->cap_recs ? ld->cap_recs * 2 : 1024;
		ld->recs = xrealloc(ld->recs, ld->cap_recs * sizeof(*ld->recs));
	}
	struct zone_ip4_rec *r = &ld->recs[ld->n_recs++];
	r->addr = addr;
	r->plen = (uint8_t)plen;
	r->value = value;
	r->line = ld->line;
}

/* [from, to) as CIDR prefixes, largest first. */
static void push_cidrs(struct zone_loader *ld, uint64_t from, uint64_t to, uint32_t value)
{
	while (from < to && !ld->fatal) {
		unsigned plen = 32;
		while (plen > 0 && from % (2ull << (32 - plen)) == 0 &&
		       from + (2ull << (32 - plen)) <= to)
			plen--;
		push_rec(ld, (uint32_t)from, plen, value);
		from += 1ull << (32 - plen);
	}
}

void zone_ip4_add_range(struct zone_loader *ld, uint32_t lo, uint32_t hi, uint32_t value)
{
	uint64_t from = lo, to = (uint64_t)hi + 1;

	/* Peel the unaligned ends off at each octet level (rbldnsd's
	 * ip4range_expand), then list the aligned middle one level up.
	 * rbldnsd keeps one entry per block; the blocks of one level that
	 * sit side by side are stored here as the CIDR prefixes that cover
	 * them.  Those never reach into another level: a run of /32 blocks
	 * never holds a whole /24, so its prefixes are /25 to /32, and so on
	 * up (the prefix length tells the level back, see set_level()). */
	for (unsigned plen = 32; plen > 8; plen -= 8) {
		uint64_t big = 1ull << (32 - plen + 8);
		uint64_t from_up = (from + big - 1) & ~(big - 1);
		uint64_t to_down = to & ~(big - 1);

		if (from_up >= to_down) {
			push_cidrs(ld, from, to, value);
			return;
		}
		push_cidrs(ld, from, from_up, value);
		push_cidrs(ld, to_down, to, value);
		from = from_up;
		to = to_down;
	}
	push_cidrs(ld, from, to, value);
}

void zone_ip4_add_prefix(struct zone_loader *ld, uint32_t addr, unsigned plen, uint32_t value)
{
	push_rec(ld, addr, plen, value);
}

static int rec_cmp(const struct zone_ip4_rec *a, const struct zone_ip4_rec *b)
{
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return 0;
}

static int rec_cmp_set(const struct zone_ip4_rec *a, const struct zone_ip4_rec *b)
{
	int r = rec_cmp(a, b);
	bool xa = a->value == ZONE_VALUE_NONE, xb = b->value == ZONE_VALUE_NONE;

	if (r != 0)
		return r;
	if (xa != xb) /* an exclusion of the same block wins */
		return xa ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int rec_cmp_trie(const struct zone_ip4_rec *a, const struct zone_ip4_rec *b)
{
	int r = rec_cmp(a, b);

	if (r != 0)
		return r;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* An in-place sort: glibc's qsort() would copy the whole array into a
 * second one (a merge sort), doubling what a big zone needs to load.
 * Introsort: quicksort on the middle of three, heapsort if the
 * partitions go bad, insertion sort for the small ends. */
typedef int rec_cmp_fn(const struct zone_ip4_rec *a, const struct zone_ip4_rec *b);

static void rec_swap(struct zone_ip4_rec *a, struct zone_ip4_rec *b)
{
	struct zone_ip4_rec t = *a;
	*a = *b;
	*b = t;
}

static void heap_down(struct zone_ip4_rec *r, size_t i, size_t n, rec_cmp_fn *cmp)
{
	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && cmp(&r[c], &r[c + 1]) < 0)
			c++;
		if (cmp(&r[i], &r[c]) >= 0)
			return;
		rec_swap(&r[i], &r[c]);
	}
}

static void heap_sort(struct zone_ip4_rec *r, size_t n, rec_cmp_fn *cmp)
{
	for (size_t i = n / 2; i-- > 0;)
		heap_down(r, i, n, cmp);
	for (size_t end = n; end-- > 1;) {
		rec_swap(&r[0], &r[end]);
		heap_down(r, 0, end, cmp);
	}
}

static void sort_recs(struct zone_ip4_rec *r, size_t n, unsigned depth, rec_cmp_fn *cmp)
{
	while (n > 16) {
		if (depth-- == 0) {
			heap_sort(r, n, cmp);
			return;
		}
		size_t mid = n / 2;
		if (cmp(&r[mid], &r[0]) < 0)
			rec_swap(&r[mid], &r[0]);
		if (cmp(&r[n - 1], &r[mid]) < 0) {
			rec_swap(&r[n - 1], &r[mid]);
			if (cmp(&r[mid], &r[0]) < 0)
				rec_swap(&r[mid], &r[0]);
		}
		/* Hoare: [0, j] <= pivot <= [j + 1, n) and both are non-empty */
		struct zone_ip4_rec pivot = r[mid];
		ptrdiff_t i = -1, j = (ptrdiff_t)n;
		for (;;) {
			do
				i++;
			while (cmp(&r[i], &pivot) < 0);
			do
				j--;
			while (cmp(&pivot, &r[j]) < 0);
			if (i >= j)
				break;
			rec_swap(&r[i], &r[j]);
		}
		size_t left = (size_t)j + 1;
		if (left < n - left) {
			sort_recs(r, left, depth, cmp);
			r += left;
			n -= left;
		} else {
			sort_recs(r + left, n - left, depth, cmp);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct zone_ip4_rec x = r[i];
		size_t k = i;
		for (; k > 0 && cmp(&x, &r[k - 1]) < 0; k--)
			r[k] = r[k - 1];
		r[k] = x;
	}
}

/* The ranges are written over the sorted prefixes they come from: after
 * the i-th prefix at most 2(i+1) ranges exist (one where each prefix
 * starts, one where each ends), 8 bytes each, which is where the
 * (i+1)-th 16-byte prefix begins.  Loading then needs no second array. */
void zone_ip4_sort(struct zone_ip4_rec *recs, size_t n, enum zone_type type, unsigned depth)
{
	sort_recs(recs, n, depth, type == ZONE_IP4SET ? rec_cmp_set : rec_cmp_trie);
}

struct range_out {
	struct zone_range *r;
	uint32_t n;
};

/* Appends "from start on, value", merging with what is already there. */
static void emit(struct range_out *o, uint32_t start, uint32_t value)
{
	if (o->n > 0 && o->r[o->n - 1].start == start)
		o->n--; /* a more specific answer from the same address on */
	if ((o->n > 0 ? o->r[o->n - 1].value : ZONE_VALUE_NONE) == value)
		return;
	o->r[o->n].start = start;
	o->r[o->n].value = value;
	o->n++;
}

/* ip4set: the octet level of a prefix made by zone_ip4_add_range. */
static unsigned set_level(unsigned plen)
{
	return plen == 0 ? 8 : (plen + 7) / 8 * 8;
}

/* Whether a wins over b where both apply (a inside b, or equal):
 * ip4trie, the longer prefix, then the earlier line; ip4set, the more
 * specific octet level, then an exclusion, then the earlier line. */
static bool beats(enum zone_type type, const struct zone_ip4_rec *a,
		  const struct zone_ip4_rec *b)
{
	unsigned la = a->plen, lb = b->plen;

	if (type == ZONE_IP4SET) {
		la = set_level(la);
		lb = set_level(lb);
	}
	if (la != lb)
		return la > lb;
	if (type == ZONE_IP4SET &&
	    (a->value == ZONE_VALUE_NONE) != (b->value == ZONE_VALUE_NONE))
		return a->value == ZONE_VALUE_NONE;
	return a->line < b->line;
}

struct open_prefix {
	uint32_t hi;
	/* the winner among this prefix and those around it (a copy: the
	 * prefixes get overwritten by the ranges) */
	struct zone_ip4_rec best;
};

/* Sorted prefixes (an enclosing one before what it encloses; prefixes
 * never overlap otherwise) to ranges: a stack holds the prefixes around
 * the current address. */
static void sweep(struct zone_loader *ld, struct range_out *o)
{
	enum zone_type type = ld->z->type;
	struct open_prefix stack[34];
	unsigned sp = 0;
	struct zone_ip4_rec prev;

	for (size_t i = 0; i < ld->n_recs; i++) {
		const struct zone_ip4_rec r = ld->recs[i];

		if (i > 0 && rec_cmp(&prev, &r) == 0) {
			/* sorted best first: the others never win */
			if (type == ZONE_IP4TRIE) {
				char ip[16];
				zone_value_format_a(r.addr, ip);
				zone_parse_warn(ld, r.line, "duplicated entry for %s/%u "
						"(line %u is used)", ip, r.plen, prev.line);
			}
			continue;
		}
		prev = r;
		while (sp > 0 && stack[sp - 1].hi < r.addr) {
			sp--;
			emit(o, stack[sp].hi + 1,
			     sp > 0 ? stack[sp - 1].best.value : ZONE_VALUE_NONE);
		}
		stack[sp].hi = r.addr | ~prefix_mask(r.plen);
		stack[sp].best = sp == 0 || beats(type, &r, &stack[sp - 1].best) ?
				 r : stack[sp - 1].best;
		emit(o, r.addr, stack[sp].best.value);
		sp++;
	}
	while (sp > 0) {
		sp--;
		if (stack[sp].hi != UINT32_MAX)
			emit(o, stack[sp].hi + 1,
			     sp > 0 ? stack[sp - 1].best.value : ZONE_VALUE_NONE);
	}
}

static void build_index(struct zone_ip4 *t)
{
	uint32_t i = 0;

	t->index = xmalloc(65537 * sizeof(*t->index));
	for (uint32_t k = 0; k < 65536; k++) {
		while (i < t->n && t->ranges[i].start <= k << 16)
			i++;
		t->index[k] = i;
	}
	t->index[65536] = t->n;
}

bool zone_ip4_build(struct zone_loader *ld)
{
	struct zone_ip4 *t = &ld->z->ip4;
	struct range_out o = { (struct zone_range *)(void *)ld->recs, 0 };

	_Static_assert(2 * sizeof(struct zone_range) == sizeof(struct zone_ip4_rec),
		       "ranges are written over the prefixes");
	zone_ip4_sort(ld->recs, ld->n_recs, ld->z->type, 64);
	sweep(ld, &o);
	if (o.n > 0) {
		t->ranges = xrealloc(ld->recs, o.n * sizeof(*t->ranges));
	} else {
		free(ld->recs);
		t->ranges = NULL;
	}
	ld->recs = NULL;
	ld->n_recs = ld->cap_recs = 0;
	t->n = o.n;
	if (t->n >= ZONE_IP4_INDEX_MIN)
		build_index(t);
	return true;
}

uint32_t zone_ip4_find(const struct zone *z, uint32_t ip)
{
	const struct zone_ip4 *t = &z->ip4;
	uint32_t lo = 0, hi = t->n;

	if (t->index != NULL) {
		lo = t->index[ip >> 16];
		hi = t->index[(ip >> 16) + 1];
	}
	/* the first range that starts after ip; the answer is the one before */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->ranges[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? ZONE_VALUE_NONE : t->ranges[lo - 1].value;
}

void zone_ip4_free(struct zone_ip4 *ip4)
{
	free(ip4->ranges);
	free(ip4->index);
	memset(ip4, 0, sizeof(*ip4));
}

size_t zone_ip4_memory(const struct zone_ip4 *ip4)
{
	return (size_t)ip4->n * sizeof(*ip4->ranges) +
	       (ip4->index != NULL ? 65537 * sizeof(uint32_t) : 0);
}

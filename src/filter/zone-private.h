#ifndef OMBU_ZONE_PRIVATE_H
#define OMBU_ZONE_PRIVATE_H

/*
 * Inside a zone.  Everything a lookup reads lives in a few flat arrays
 * addressed by 32-bit indexes, allocated once at load and never changed:
 *
 *  - text: one byte arena holding every TXT template, $n variable and
 *    dnset name, each NUL-terminated, addressed by offset;
 *  - values: (A, TXT template) pairs that entries point to;
 *  - ip4: the IPv4 prefixes of ip4set/ip4trie flattened into sorted,
 *    disjoint ranges: from ranges[i].start up to ranges[i+1].start - 1
 *    the answer is ranges[i].value (below ranges[0], not listed).  The
 *    longest-prefix rule (and the exclusions) are resolved once when
 *    loading, so a lookup is one binary search; a 64K-slot index on the
 *    top 16 bits narrows the search on big zones;
 *  - names: the dnset names in two open-addressing hash tables (exact
 *    names, and the parents of wildcards) keyed by keyed SipHash.
 */

#include "filter/zone.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An entry with this value is an exclusion; a range with it is not
 * listed. */
#define ZONE_VALUE_NONE UINT32_MAX
/* rbldnsd's answer when nothing else is said: 127.0.0.2, no TXT. */
#define ZONE_DEFAULT_A 0x7f000002u
#define ZONE_VALUE_DEFAULT 0u
/* $0..$9 and $= (the base template). */
#define ZONE_SUBST_BASE 10
#define ZONE_SUBST_N 11
/* Templates are cut to this many bytes when loaded (rbldnsd). */
#define ZONE_TEMPLATE_MAX 255
/* Longest dnset name, in text form without the trailing dot. */
#define ZONE_NAME_MAX 253
#define ZONE_LABEL_MAX 63
/* Size of the buffer a failed load's error goes to. */
#define ZONE_ERROR_MAX 512
/* The ip4 index on the top 16 bits is built from this many ranges on. */
#define ZONE_IP4_INDEX_MIN 4096u

struct zone_value {
	uint32_t a;   /* host order */
	uint32_t txt; /* template: offset in text ("" = none) */
};

struct zone_text {
	char *data;
	size_t len, cap;
};

struct zone_range {
	uint32_t start;   /* strictly ascending */
	uint32_t value;   /* never the same as the range before */
};

struct zone_ip4 {
	struct zone_range *ranges;
	uint32_t n;
	/* index[k]: how many ranges start at or before k << 16 (k < 65536);
	 * index[65536] = n.  NULL on small zones. */
	uint32_t *index;
};

struct zone_dn {
	uint32_t name;    /* offset in text */
	uint32_t value;
	uint8_t len;      /* of the name */
	uint8_t labels;
};

struct zone_name_table {
	uint32_t *slots;  /* index in names.dn + 1; 0 = empty */
	uint32_t mask;    /* slots - 1 */
	uint32_t count;
	uint8_t min_labels, max_labels;
};

struct zone_names {
	struct zone_dn *dn;
	uint32_t n, cap;
	struct zone_name_table plain, wild;
};

struct zone {
	char *name;
	enum zone_type type;
	size_t entries, bad_lines;
	int64_t expires;
	uint32_t subst[ZONE_SUBST_N]; /* offset in text + 1; 0 = unset */
	struct zone_value *values;
	uint32_t n_values, cap_values;
	struct zone_text text;
	struct zone_ip4 ip4;
	struct zone_names names;
};

/* One IPv4 prefix as read, before the ranges are built. */
struct zone_ip4_rec {
	uint32_t addr;
	uint32_t value;
	uint32_t line;
	uint8_t plen;
};

#define ZONE_CACHE_SLOTS 4096u

struct zone_loader {
	struct zone *z;
	const char *file;
	uint32_t line;
	zone_warn_fn *warn_fn;
	void *ctx;
	size_t warned;
	uint32_t def_value;  /* the ":A:TXT" default in force */
	uint64_t maxrange;   /* $MAXRANGE4: largest range size, 0 = any */
	bool have_soa, have_ns;
	bool fatal;          /* the load fails: error holds why */
	char *error;         /* ZONE_ERROR_MAX bytes */
	struct zone_ip4_rec *recs;
	size_t n_recs, cap_recs;
	/* Recently made templates and values, to share repeated ones. */
	uint32_t text_cache[ZONE_CACHE_SLOTS];  /* offset + 1 */
	uint32_t value_cache[ZONE_CACHE_SLOTS]; /* index + 1 */
};

/* zone-parse.c */
void zone_parse_init(struct zone_loader *ld, struct zone *z, const char *file,
		     zone_warn_fn *warn_fn, void *ctx, char *error);
void zone_parse_line(struct zone_loader *ld, const char *line, size_t len);
/* Builds the lookup structures; false (ld->error set) on failure. */
bool zone_parse_finish(struct zone_loader *ld);
void zone_parse_deinit(struct zone_loader *ld);
/* A bad line, skipped. */
void zone_parse_warn(struct zone_loader *ld, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A line that loads all the same (a TXT cut short): reported, not bad. */
void zone_parse_notice(struct zone_loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool zone_parse_fail(struct zone_loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* zone-value.c */
/* Adds a template (cut at ZONE_TEMPLATE_MAX, control bytes replaced);
 * returns its offset in text. */
uint32_t zone_value_text(struct zone_loader *ld, const char *s, size_t len);
/* Adds raw bytes to text (a NUL is appended); returns the offset. */
uint32_t zone_value_text_raw(struct zone_loader *ld, const char *s, size_t len);
uint32_t zone_value_add(struct zone_loader *ld, uint32_t a, uint32_t txt);
static inline const char *zone_value_str(const struct zone *z, uint32_t off)
{
	return z->text.data + off;
}
/* Expands the template of value v with subject for $; returns the
 * length written to out (0 = no TXT). */
size_t zone_value_subst(const struct zone *z, uint32_t v, const char *subject,
			char out[ZONE_TXT_MAX + 1]);
void zone_value_format_a(uint32_t a, char out[16]);
void zone_value_shrink(struct zone *z);

/* zone-ip4.c */
/* Parsers: 0 with the address(es) and *end_r after them, or -1 with a
 * reason in *error_r. */
int zone_ip4_parse_range(const char *s, uint32_t *lo_r, uint32_t *hi_r, const char **end_r,
			 const char **error_r);
int zone_ip4_parse_cidr(const char *s, uint32_t *addr_r, unsigned *plen_r,
			const char **end_r, const char **error_r);
/* inet_aton-like A value: "2" is 127.0.0.2, "127.2" is 127.0.0.2. */
int zone_ip4_parse_a(const char *s, uint32_t *a_r, const char **end_r);
void zone_ip4_add_range(struct zone_loader *ld, uint32_t lo, uint32_t hi, uint32_t value);
void zone_ip4_add_prefix(struct zone_loader *ld, uint32_t addr, unsigned plen, uint32_t value);
/* Sorts prefixes in place by address, then length, then the order in
 * which equal ones compete; past depth bad partitions, by heapsort. */
void zone_ip4_sort(struct zone_ip4_rec *recs, size_t n, enum zone_type type, unsigned depth);
bool zone_ip4_build(struct zone_loader *ld);
uint32_t zone_ip4_find(const struct zone *z, uint32_t ip);
void zone_ip4_free(struct zone_ip4 *ip4);
size_t zone_ip4_memory(const struct zone_ip4 *ip4);

/* zone-name.c */
/* Lower-cases a domain name into out (no trailing dot, empty labels
 * dropped); returns its length, or -1 with *error_r. */
int zone_name_normalize(const char *s, size_t len, char out[ZONE_NAME_MAX + 1],
			unsigned *labels_r, const char **error_r);
void zone_name_add(struct zone_loader *ld, const char *name, size_t len, unsigned labels,
		   bool plain, bool wild, uint32_t value);
/* The value of the entry that decides name (ZONE_VALUE_NONE if none or
 * excluded); *matched_r is the listed name. */
uint32_t zone_name_find(const struct zone *z, const char *name, size_t len, unsigned labels,
			const char **matched_r);
void zone_name_finish(struct zone *z);
void zone_name_free(struct zone_names *names);
size_t zone_name_memory(const struct zone_names *names);

#endif

/*
 * dnset zones: domain names, exact or wildcard, as rbldnsd(8) reads them:
 *
 *   example.com     example.com only
 *   *.example.com   every name under example.com, not example.com
 *   .example.com    both
 *   !name           an exclusion of the same forms
 *
 * A query first looks for the name itself among the exact names (an
 * exclusion there ends the search: not listed); then for its parents,
 * nearest first, among the wildcards, and the first one found decides.
 * Where one name is both listed and excluded in the same table, the
 * exclusion wins; two listings keep the first.  Names are lower-cased and
 * compared without the trailing dot.
 *
 * Two open-addressing hash tables (exact names; wildcard parents) hold
 * entry indexes; the names themselves sit in the zone's text arena.  The
 * hash is the process's keyed SipHash, since the names asked are chosen
 * by whoever sends the mail.
 */

#include "filter/zone-private.h"

#include "lib/hash.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

int zone_name_normalize(const char *s, size_t len, char out[ZONE_NAME_MAX + 1],
			unsigned *labels_r, const char **error_r)
{
	size_t n = 0, label = 0;
	unsigned labels = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			label = 0; /* empty labels are dropped, as rbldnsd does */
			continue;
		}
		if (c == '\\') {
			*error_r = "invalid domain name: backslash escapes are not supported";
			return -1;
		}
		if (c <= 0x20 || c == 0x7f) {
			*error_r = "invalid domain name: control character or space";
			return -1;
		}
		if (label == 0 && n > 0) {
			if (n >= ZONE_NAME_MAX)
				goto too_long;
			out[n++] = '.';
		}
		if (label == 0)
			labels++;
		if (++label > ZONE_LABEL_MAX) {
			*error_r = "invalid domain name: a label is longer than 63 bytes";
			return -1;
		}
		if (n >= ZONE_NAME_MAX)
			goto too_long;
		out[n++] = ascii_lower((char)c);
	}
	if (n == 0) {
		*error_r = "invalid domain name: empty";
		return -1;
	}
	out[n] = '\0';
	*labels_r = labels;
	return (int)n;
too_long:
	*error_r = "invalid domain name: longer than 253 bytes";
	return -1;
}

/* The slot that holds name, or the empty slot where it would go. */
static uint32_t table_slot(const struct zone *z, const struct zone_name_table *t,
			   const char *name, size_t len, uint64_t h, bool *found_r)
{
	const struct zone_names *nm = &z->names;

	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t e = t->slots[i];
		if (e == 0) {
			*found_r = false;
			return i;
		}
		const struct zone_dn *dn = &nm->dn[e - 1];
		if (dn->len == len && memcmp(zone_value_str(z, dn->name), name, len) == 0) {
			*found_r = true;
			return i;
		}
	}
}

static void table_grow(struct zone *z, struct zone_name_table *t)
{
	uint32_t *old = t->slots;
	uint32_t old_size = t->slots != NULL ? t->mask + 1 : 0;
	uint32_t size = old_size ? old_size * 2 : 64;

	t->slots = xcalloc(size, sizeof(*t->slots));
	t->mask = size - 1;
	for (uint32_t i = 0; i < old_size; i++) {
		if (old[i] == 0)
			continue;
		const struct zone_dn *dn = &z->names.dn[old[i] - 1];
		const char *name = zone_value_str(z, dn->name);
		uint32_t j = (uint32_t)hash_bytes(name, dn->len) & t->mask;
		while (t->slots[j] != 0)
			j = (j + 1) & t->mask;
		t->slots[j] = old[i];
	}
	free(old);
}

static void table_add(struct zone_loader *ld, struct zone_name_table *t, const char *name,
		      size_t len, unsigned labels, uint32_t value, uint32_t *name_off)
{
	struct zone *z = ld->z;
	struct zone_names *nm = &z->names;
	uint64_t h = hash_bytes(name, len);
	bool found;
	uint32_t slot;

	if (t->slots == NULL || (uint64_t)(t->count + 1) * 2 > (uint64_t)t->mask + 1)
		table_grow(z, t);
	slot = table_slot(z, t, name, len, h, &found);
	if (found) {
		struct zone_dn *dn = &nm->dn[t->slots[slot] - 1];
		if (value == ZONE_VALUE_NONE)
			dn->value = ZONE_VALUE_NONE; /* an exclusion wins */
		*name_off = dn->name;
		return;
	}
	if (*name_off == UINT32_MAX) {
		*name_off = zone_value_text_raw(ld, name, len);
		if (ld->fatal)
			return;
	}
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 64;
		nm->dn = xrealloc(nm->dn, nm->cap * sizeof(*nm->dn));
	}
	nm->dn[nm->n] = (struct zone_dn){ *name_off, value, (uint8_t)len, (uint8_t)labels };
	t->slots[slot] = ++nm->n;
	if (t->count == 0 || labels < t->min_labels)
		t->min_labels = (uint8_t)labels;
	if (labels > t->max_labels)
		t->max_labels = (uint8_t)labels;
	t->count++;
}

void zone_name_add(struct zone_loader *ld, const char *name, size_t len, unsigned labels,
		   bool plain, bool wild, uint32_t value)
{
	uint32_t name_off = UINT32_MAX;

	if (ld->z->names.n >= UINT32_MAX / 4) {
		zone_parse_fail(ld, "%s:%u: too many names", ld->file, ld->line);
		return;
	}
	if (plain)
		table_add(ld, &ld->z->names.plain, name, len, labels, value, &name_off);
	if (wild && !ld->fatal)
		table_add(ld, &ld->z->names.wild, name, len, labels, value, &name_off);
}

static const struct zone_dn *table_find(const struct zone *z, const struct zone_name_table *t,
					const char *name, size_t len)
{
	bool found;
	uint32_t slot = table_slot(z, t, name, len, hash_bytes(name, len), &found);

	return found ? &z->names.dn[t->slots[slot] - 1] : NULL;
}

/* Drops the first label: false when none is left. */
static bool parent(const char **name, size_t *len, unsigned *labels)
{
	const char *dot = memchr(*name, '.', *len);

	if (dot == NULL)
		return false;
	*len -= (size_t)(dot + 1 - *name);
	*name = dot + 1;
	(*labels)--;
	return true;
}

uint32_t zone_name_find(const struct zone *z, const char *name, size_t len, unsigned labels,
			const char **matched_r)
{
	const struct zone_names *nm = &z->names;
	const struct zone_dn *dn = NULL;

	if (nm->plain.count > 0 && labels >= nm->plain.min_labels &&
	    labels <= nm->plain.max_labels)
		dn = table_find(z, &nm->plain, name, len);
	if (dn == NULL && nm->wild.count > 0) {
		/* the nearest wildcard parent, at least one label up */
		do {
			if (!parent(&name, &len, &labels))
				return ZONE_VALUE_NONE;
		} while (labels > nm->wild.max_labels);
		while (labels >= nm->wild.min_labels) {
			if ((dn = table_find(z, &nm->wild, name, len)) != NULL)
				break;
			if (!parent(&name, &len, &labels))
				return ZONE_VALUE_NONE;
		}
	}
	if (dn == NULL)
		return ZONE_VALUE_NONE;
	*matched_r = zone_value_str(z, dn->name);
	return dn->value;
}

void zone_name_finish(struct zone *z)
{
	struct zone_names *nm = &z->names;

	if (nm->n > 0 && nm->n < nm->cap) {
		nm->dn = xrealloc(nm->dn, nm->n * sizeof(*nm->dn));
		nm->cap = nm->n;
	}
}

void zone_name_free(struct zone_names *names)
{
	free(names->dn);
	free(names->plain.slots);
	free(names->wild.slots);
	memset(names, 0, sizeof(*names));
}

size_t zone_name_memory(const struct zone_names *names)
{
	size_t m = (size_t)names->cap * sizeof(*names->dn);

	if (names->plain.slots != NULL)
		m += ((size_t)names->plain.mask + 1) * sizeof(uint32_t);
	if (names->wild.slots != NULL)
		m += ((size_t)names->wild.mask + 1) * sizeof(uint32_t);
	return m;
}

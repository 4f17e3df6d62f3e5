/*
 * A and TXT values of zone entries, and the TXT template expansion of
 * rbldnsd(8) ("Resulting A values and TXT templates"):
 *
 *   $      the subject: the address asked, or the dnset name that matched
 *   $$     a dollar sign
 *   $0-$9  the zone's substitution variable, or "$n" as is when unset
 *   $=     with a base template ($= line): the entry's own text, or the
 *          subject when the entry has none; without one, the raw template
 *
 * With a base template every entry's TXT is the base template expanded,
 * unless the entry's text starts with '=' (then that text, without the
 * '=', is used alone).  The result is cut at ZONE_TXT_MAX bytes.
 *
 * Many entries share one value (the default), and files often repeat a
 * per-entry text; small direct-mapped caches share recent repeats without
 * keeping a table of every string while loading.
 */

#include "filter/zone-private.h"

#include "lib/hash.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static uint32_t text_append(struct zone_loader *ld, const char *s, size_t len)
{
	struct zone_text *t = &ld->z->text;
	size_t need = t->len + len + 1;

	if (need > UINT32_MAX) {
		zone_parse_fail(ld, "%s:%u: the zone's text is over 4 GB", ld->file, ld->line);
		return 0;
	}
	if (need > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < need)
			cap *= 2;
		t->data = xrealloc(t->data, cap);
		t->cap = cap;
	}
	uint32_t off = (uint32_t)t->len;
	memcpy(t->data + off, s, len);
	t->data[off + len] = '\0';
	t->len = need;
	return off;
}

uint32_t zone_value_text_raw(struct zone_loader *ld, const char *s, size_t len)
{
	return text_append(ld, s, len);
}

uint32_t zone_value_text(struct zone_loader *ld, const char *s, size_t len)
{
	char clean[ZONE_TEMPLATE_MAX];
	const struct zone_text *t = &ld->z->text;

	if (len > ZONE_TEMPLATE_MAX)
		len = ZONE_TEMPLATE_MAX;
	/* The text ends up in SMTP replies and headers: no control bytes. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		clean[i] = c == '\t' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (len == 0)
		return 0; /* the text arena starts with "" */

	uint32_t slot = (uint32_t)hash_bytes(clean, len) & (ZONE_CACHE_SLOTS - 1);
	uint32_t hit = ld->text_cache[slot];
	if (hit != 0) {
		uint32_t off = hit - 1;
		if (t->len - off > len && memcmp(t->data + off, clean, len) == 0 &&
		    t->data[off + len] == '\0')
			return off;
	}
	uint32_t off = text_append(ld, clean, len);
	if (!ld->fatal)
		ld->text_cache[slot] = off + 1;
	return off;
}

uint32_t zone_value_add(struct zone_loader *ld, uint32_t a, uint32_t txt)
{
	struct zone *z = ld->z;
	uint32_t slot = ((a * 0x9e3779b1u) ^ (txt * 0x85ebca77u)) >> 20;
	uint32_t hit = ld->value_cache[slot & (ZONE_CACHE_SLOTS - 1)];

	if (hit != 0 && z->values[hit - 1].a == a && z->values[hit - 1].txt == txt)
		return hit - 1;
	if (z->n_values == z->cap_values) {
		if (z->cap_values >= UINT32_MAX / 4) {
			zone_parse_fail(ld, "%s:%u: too many distinct values", ld->file, ld->line);
			return ZONE_VALUE_DEFAULT;
		}
		z->cap_values = z->cap_values ? z->cap_values * 2 : 64;
		z->values = xrealloc(z->values, z->cap_values * sizeof(*z->values));
	}
	z->values[z->n_values].a = a;
	z->values[z->n_values].txt = txt;
	ld->value_cache[slot & (ZONE_CACHE_SLOTS - 1)] = z->n_values + 1;
	return z->n_values++;
}

static size_t append(char *out, size_t n, const char *s, size_t len)
{
	if (len > ZONE_TXT_MAX - n)
		len = ZONE_TXT_MAX - n;
	memcpy(out + n, s, len);
	return n + len;
}

size_t zone_value_subst(const struct zone *z, uint32_t v, const char *subject,
			char out[ZONE_TXT_MAX + 1])
{
	const char *tmpl = zone_value_str(z, z->values[v].txt);
	const char *base = z->subst[ZONE_SUBST_BASE] != 0 ?
			   zone_value_str(z, z->subst[ZONE_SUBST_BASE] - 1) : NULL;
	const char *own; /* what $= stands for */
	size_t n = 0;

	if (tmpl[0] == '=') {
		own = ++tmpl;
	} else if (base != NULL && base[0] != '\0') {
		own = tmpl[0] != '\0' ? tmpl : subject;
		tmpl = base;
	} else {
		own = tmpl;
	}
	while (*tmpl != '\0' && n < ZONE_TXT_MAX) {
		const char *dollar = strchr(tmpl, '$');
		size_t lit = dollar != NULL ? (size_t)(dollar - tmpl) : strlen(tmpl);

		n = append(out, n, tmpl, lit);
		if (dollar == NULL)
			break;
		tmpl = dollar + 1;
		if (*tmpl == '$') {
			n = append(out, n, "$", 1);
			tmpl++;
		} else if (*tmpl >= '0' && *tmpl <= '9') {
			uint32_t var = z->subst[*tmpl - '0'];
			if (var != 0) {
				const char *val = zone_value_str(z, var - 1);
				n = append(out, n, val, strlen(val));
			} else {
				n = append(out, n, dollar, 2);
			}
			tmpl++;
		} else if (*tmpl == '=') {
			n = append(out, n, own, strlen(own));
			tmpl++;
		} else {
			n = append(out, n, subject, strlen(subject));
		}
	}
	out[n] = '\0';
	return n;
}

void zone_value_format_a(uint32_t a, char out[16])
{
	char *p = out;

	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned o = (a >> shift) & 255;
		if (o >= 100)
			*p++ = (char)('0' + o / 100);
		if (o >= 10)
			*p++ = (char)('0' + o / 10 % 10);
		*p++ = (char)('0' + o % 10);
		if (shift > 0)
			*p++ = '.';
	}
	*p = '\0';
}

void zone_value_shrink(struct zone *z)
{
	if (z->n_values > 0 && z->n_values < z->cap_values) {
		z->values = xrealloc(z->values, z->n_values * sizeof(*z->values));
		z->cap_values = z->n_values;
	}
	if (z->text.len > 0 && z->text.len < z->text.cap) {
		z->text.data = xrealloc(z->text.data, z->text.len);
		z->text.cap = z->text.len;
	}
}

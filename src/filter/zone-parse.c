/*
 * The rbldnsd data file syntax, line by line (rbldnsd(8), "DATASET TYPES
 * AND FORMATS"), checked against rbldnsd 1.0 itself:
 *
 *   - white space around a line is ignored; empty lines and lines that
 *     start with '#' or ';' are comments;
 *   - "$KEYWORD ..." (also "#$", ";$", ":$") is a special entry: $SOA,
 *     $NS, $TTL, $MAXRANGE4, $TIMESTAMP, $0-$9 and $= text;
 *   - ":A:TXT" alone on a line sets the default value of the entries
 *     after it (until the end of the file);
 *   - anything else is an entry: an optional '!' (exclusion), the
 *     address or name, and an optional value: ":A:TXT", ":A" (the
 *     default TXT), ":A:" (no TXT) or a TXT alone (the default A).  A
 *     value that starts with '#' or ';' is a comment.
 *
 * A bad line is reported with file:line and skipped.  Only what makes the
 * whole data untrustworthy fails the load (a $TIMESTAMP in the future, as
 * in rbldnsd, or a file too large to index).
 */

#include "filter/zone-private.h"

#include "lib/log.h"
#include "lib/num.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_comment(char c)
{
	return c == '#' || c == ';';
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

static void vreport(struct zone_loader *ld, uint32_t line, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vreport(struct zone_loader *ld, uint32_t line, const char *fmt, va_list ap)
{
	char msg[512];
	int n;

	if (ld->warn_fn == NULL || ++ld->warned > ZONE_WARN_MAX)
		return;
	n = snprintf(msg, sizeof(msg), "%s:%u: ", ld->file, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	ld->warn_fn(ld->ctx, msg);
}

void zone_parse_warn(struct zone_loader *ld, uint32_t line, const char *fmt, ...)
{
	va_list ap;

	ld->z->bad_lines++;
	va_start(ap, fmt);
	vreport(ld, line, fmt, ap);
	va_end(ap);
}

void zone_parse_notice(struct zone_loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ld, ld->line, fmt, ap);
	va_end(ap);
}

bool zone_parse_fail(struct zone_loader *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->fatal)
		return false;
	ld->fatal = true;
	va_start(ap, fmt);
	vsnprintf(ld->error, ZONE_ERROR_MAX, fmt, ap);
	va_end(ap);
	return false;
}

/* "kw" followed by white space, case-insensitively; returns what follows
 * the white space. */
static const char *keyword(const char *s, const char *kw)
{
	for (; *kw != '\0'; s++, kw++) {
		if (ascii_lower(*s) != *kw)
			return NULL;
	}
	return is_space(*s) ? skip_space(s) : NULL;
}

/* A time with an optional unit (s, m, h, d, w), then the end, a colon or
 * white space. */
static const char *parse_time(const char *s, uint32_t *t_r)
{
	const char *p = s;
	uint64_t v, mult = 1;

	while (*p >= '0' && *p <= '9')
		p++;
	if (num_parse_u64n(s, (size_t)(p - s), &v) < 0 || v > UINT32_MAX)
		return NULL;
	switch (ascii_lower(*p)) {
	case 'w': mult = 7 * 86400; p++; break;
	case 'd': mult = 86400; p++; break;
	case 'h': mult = 3600; p++; break;
	case 'm': mult = 60; p++; break;
	case 's': p++; break;
	default: break;
	}
	if (v * mult > UINT32_MAX)
		return NULL;
	if (*p != '\0' && *p != ':' && !is_space(*p))
		return NULL;
	*t_r = (uint32_t)(v * mult);
	return skip_space(p);
}

static const char *parse_u32_word(const char *s, uint32_t *v_r)
{
	const char *p = s;
	uint64_t v;

	while (*p >= '0' && *p <= '9')
		p++;
	if (num_parse_u64n(s, (size_t)(p - s), &v) < 0 || v > UINT32_MAX)
		return NULL;
	if (*p != '\0' && !is_space(*p))
		return NULL;
	*v_r = (uint32_t)v;
	return skip_space(p);
}

/* A domain name in a $SOA or $NS line. */
static const char *parse_dn_word(const char *s)
{
	const char *end = s, *error;
	char name[ZONE_NAME_MAX + 1];
	unsigned labels;

	while (*end != '\0' && !is_space(*end))
		end++;
	if (end == s || zone_name_normalize(s, (size_t)(end - s), name, &labels, &error) < 0)
		return NULL;
	return skip_space(end);
}

static bool special_soa(struct zone_loader *ld, const char *s)
{
	uint32_t v;

	if (ld->have_soa)
		return true; /* only the first one counts */
	if ((s = parse_time(s, &v)) == NULL || (s = parse_dn_word(s)) == NULL ||
	    (s = parse_dn_word(s)) == NULL || (s = parse_u32_word(s, &v)) == NULL)
		return false;
	for (int i = 0; i < 4; i++) {
		if ((s = parse_time(s, &v)) == NULL)
			return false;
	}
	if (*s != '\0')
		return false;
	ld->have_soa = true;
	return true;
}

static bool special_ns(struct zone_loader *ld, const char *s)
{
	uint32_t ttl;

	if (ld->have_ns)
		return true;
	if ((s = parse_time(s, &ttl)) == NULL)
		return false;
	do {
		if (*s == '-') { /* a name commented out */
			while (*s != '\0' && !is_space(*s))
				s++;
			s = skip_space(s);
			continue;
		}
		if ((s = parse_dn_word(s)) == NULL)
			return false;
	} while (*s != '\0');
	ld->have_ns = true;
	return true;
}

static bool special_maxrange(struct zone_loader *ld, const char *s)
{
	bool cidr = *s == '/';
	uint32_t r;
	uint64_t size;

	if ((s = parse_u32_word(s + cidr, &r)) == NULL || *s != '\0' || r == 0)
		return false;
	if (cidr && r > 32)
		return false;
	size = cidr ? 1ull << (32 - r) : r;
	if (ld->maxrange != 0 && ld->maxrange < size) {
		zone_parse_notice(ld, "$MAXRANGE4 cannot grow (from %llu to %llu); ignored",
				(unsigned long long)ld->maxrange, (unsigned long long)size);
		return true;
	}
	ld->maxrange = size;
	return true;
}

static bool special_subst(struct zone_loader *ld, const char *s)
{
	unsigned n = s[0] == '=' ? ZONE_SUBST_BASE : (unsigned)(s[0] - '0');

	if (ld->z->subst[n] != 0)
		return true; /* the first definition counts */
	s = skip_space(s + 2);
	if (*s == '\0')
		return false;
	uint32_t off = zone_value_text(ld, s, strlen(s));
	if (!ld->fatal)
		ld->z->subst[n] = off + 1;
	return true;
}

/* yyyy[-:]mm[-:]dd[[-:]hh[[-:]mi[[-:]ss]]], "0" or "-" for none. */
static const char *parse_stamp(const char *s, int64_t *t_r)
{
	static const unsigned max[6] = { 9999, 12, 31, 23, 59, 59 };
	static const unsigned width[6] = { 4, 2, 2, 2, 2, 2 };
	unsigned v[6] = { 0, 0, 0, 0, 0, 0 };

	if ((s[0] == '0' || s[0] == '-' || s[0] == ':') && (s[1] == '\0' || is_space(s[1]))) {
		*t_r = 0;
		return skip_space(s + 1);
	}
	for (int i = 0; i < 6; i++) {
		const char *p = s;
		uint64_t n;

		if (i >= 3 && (*s == '\0' || is_space(*s)))
			break;
		while (*p >= '0' && *p <= '9' && (unsigned)(p - s) < width[i])
			p++;
		if (num_parse_u64n(s, (size_t)(p - s), &n) < 0 || n > max[i] ||
		    (i == 0 && n < 1970) || ((i == 1 || i == 2) && n == 0))
			return NULL;
		v[i] = (unsigned)n;
		s = p;
		if (*s == ':' || *s == '-')
			s++;
	}
	if (*s != '\0' && !is_space(*s))
		return NULL;

	struct tm tm = { .tm_year = (int)v[0] - 1900, .tm_mon = (int)v[1] - 1,
			 .tm_mday = (int)v[2], .tm_hour = (int)v[3], .tm_min = (int)v[4],
			 .tm_sec = (int)v[5] };
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != (int)v[2]) /* 31 February */
		return NULL;
	*t_r = (int64_t)t;
	return skip_space(s);
}

static bool special_timestamp(struct zone_loader *ld, const char *s)
{
	int64_t stamp, expires = 0;

	if ((s = parse_stamp(s, &stamp)) == NULL)
		return false;
	if (*s == '+') {
		uint32_t rel;
		if ((s = parse_time(s + 1, &rel)) == NULL || *s != '\0' || stamp == 0 || rel == 0)
			return false;
		expires = stamp + rel;
	} else if (*s != '\0') {
		if ((s = parse_stamp(s, &expires)) == NULL || *s != '\0')
			return false;
	}
	if (stamp != 0 && stamp > (int64_t)time(NULL)) {
		zone_parse_fail(ld, "%s:%u: $TIMESTAMP lies in the future: the data is not loaded",
				ld->file, ld->line);
		return true;
	}
	if (expires != 0 && (ld->z->expires == 0 || expires < ld->z->expires))
		ld->z->expires = expires;
	return true;
}

static void parse_special(struct zone_loader *ld, const char *s)
{
	const char *w;
	bool ok;

	if ((w = keyword(s, "soa")) != NULL)
		ok = special_soa(ld, w);
	else if ((w = keyword(s, "ns")) != NULL || (w = keyword(s, "nameserver")) != NULL)
		ok = special_ns(ld, w);
	else if ((w = keyword(s, "ttl")) != NULL)
		ok = (w = parse_time(w, &(uint32_t){ 0 })) != NULL && *w == '\0';
	else if ((w = keyword(s, "maxrange4")) != NULL)
		ok = special_maxrange(ld, w);
	else if (((s[0] >= '0' && s[0] <= '9') || s[0] == '=') && is_space(s[1]))
		ok = special_subst(ld, s);
	else if ((w = keyword(s, "timestamp")) != NULL)
		ok = special_timestamp(ld, w);
	else
		ok = false;
	if (!ok)
		zone_parse_warn(ld, ld->line, "invalid or unrecognized special entry");
}

/* The value after an entry (or of a default line, s on the colon);
 * base is the value that fills in what the line leaves out. */
static bool parse_value(struct zone_loader *ld, const char *s, uint32_t base, uint32_t *value_r)
{
	const struct zone_value *bv = &ld->z->values[base];
	uint32_t a = bv->a, txt = bv->txt;

	if (*s == ':') {
		if (zone_ip4_parse_a(s + 1, &a, &s) < 0) {
			zone_parse_warn(ld, ld->line, "invalid A value (want :127.0.0.2 or :2)");
			return false;
		}
		s = skip_space(s);
		if (*s == ':') {
			s = skip_space(s + 1);
		} else if (*s != '\0') {
			zone_parse_warn(ld, ld->line, "unrecognized value after the A value "
					"(a TXT needs a second colon: :127.0.0.2:text)");
			return false;
		} else {
			*value_r = zone_value_add(ld, a, txt);
			return true;
		}
	}
	size_t len = strlen(s);
	if (len > ZONE_TEMPLATE_MAX)
		zone_parse_notice(ld, "TXT longer than %d bytes, cut", ZONE_TEMPLATE_MAX);
	txt = zone_value_text(ld, s, len);
	*value_r = zone_value_add(ld, a, txt);
	return true;
}

static bool entry_value(struct zone_loader *ld, const char *s, bool excluded, uint32_t *value_r)
{
	if (excluded) {
		*value_r = ZONE_VALUE_NONE; /* whatever follows is ignored */
		return true;
	}
	s = skip_space(s);
	if (*s == '\0' || is_comment(*s)) {
		*value_r = ld->def_value;
		return true;
	}
	return parse_value(ld, s, ld->def_value, value_r);
}

static void bad_address(struct zone_loader *ld, const char *s, const char *why)
{
	char shown[64];
	size_t n = 0;

	while (s[n] != '\0' && !is_space(s[n]) && n < 40)
		n++;
	log_sanitize(shown, sizeof(shown), s, n);
	zone_parse_warn(ld, ld->line, "%s: %s", why, shown);
}

static bool address_end_ok(const char *end)
{
	return *end == '\0' || is_space(*end) || is_comment(*end) || *end == ':';
}

static void parse_ip4_entry(struct zone_loader *ld, const char *s, bool excluded)
{
	const char *end, *error;
	uint32_t lo, hi, value;
	unsigned plen = 32;
	int r;

	if (ld->z->type == ZONE_IP4SET)
		r = zone_ip4_parse_range(s, &lo, &hi, &end, &error);
	else if ((r = zone_ip4_parse_cidr(s, &lo, &plen, &end, &error)) == 0)
		hi = lo | (plen == 0 ? UINT32_MAX : ~(~0u << (32 - plen)));
	if (r == 0 && !address_end_ok(end)) {
		error = "invalid address";
		r = -1;
	}
	if (r < 0) {
		bad_address(ld, s, error);
		return;
	}
	if (ld->maxrange != 0 && (uint64_t)hi - lo + 1 > ld->maxrange) {
		zone_parse_warn(ld, ld->line, "range of %llu addresses is over $MAXRANGE4 (%llu); ignored",
				(unsigned long long)((uint64_t)hi - lo + 1),
				(unsigned long long)ld->maxrange);
		return;
	}
	if (!entry_value(ld, end, excluded, &value))
		return;
	if (ld->z->type == ZONE_IP4SET)
		zone_ip4_add_range(ld, lo, hi, value);
	else
		zone_ip4_add_prefix(ld, lo, plen, value);
	ld->z->entries++;
}

static void parse_name_entry(struct zone_loader *ld, const char *s, bool excluded)
{
	char name[ZONE_NAME_MAX + 1];
	const char *end, *error;
	bool plain = true, wild = false;
	unsigned labels;
	uint32_t value;
	int len;

	if (s[0] == '.') {
		wild = true;
		s++;
	} else if (s[0] == '*' && s[1] == '.') {
		wild = true;
		plain = false;
		s += 2;
	}
	for (end = s; *end != '\0' && !is_space(*end); end++)
		;
	if ((len = zone_name_normalize(s, (size_t)(end - s), name, &labels, &error)) < 0) {
		bad_address(ld, s, error);
		return;
	}
	if (!entry_value(ld, end, excluded, &value))
		return;
	zone_name_add(ld, name, (size_t)len, labels, plain, wild, value);
	ld->z->entries++;
}

static void parse_entry(struct zone_loader *ld, const char *s)
{
	bool excluded = false;

	if (*s == ':') { /* the default for the lines after it */
		uint32_t value;
		if (parse_value(ld, s, ZONE_VALUE_DEFAULT, &value))
			ld->def_value = value;
		return;
	}
	if (*s == '!') {
		excluded = true;
		s = skip_space(s + 1);
	}
	if (ld->z->type == ZONE_DNSET)
		parse_name_entry(ld, s, excluded);
	else
		parse_ip4_entry(ld, s, excluded);
}

void zone_parse_line(struct zone_loader *ld, const char *line, size_t len)
{
	char buf[ZONE_LINE_MAX + 1];
	char *s, *e;

	ld->line++;
	if (ld->fatal)
		return;
	if (ld->line == 1 && len >= 2 && memcmp(line, "\x1f\x8b", 2) == 0) {
		/* rbldnsd reads gzip files; here they would be a screen of bad lines */
		zone_parse_fail(ld, "%s: the file is gzip-compressed; decompress it first",
				ld->file);
		return;
	}
	if (len > ZONE_LINE_MAX) {
		zone_parse_warn(ld, ld->line, "line longer than %d bytes", ZONE_LINE_MAX);
		return;
	}
	if (memchr(line, '\0', len) != NULL) {
		zone_parse_warn(ld, ld->line, "NUL byte in the line");
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	s = (char *)skip_space(buf);
	e = buf + len;
	while (e > s && (is_space(e[-1]) || e[-1] == '\r'))
		e--;
	*e = '\0';

	if (s[0] == '$' || ((is_comment(s[0]) || s[0] == ':') && s[1] == '$'))
		parse_special(ld, s[0] == '$' ? s + 1 : s + 2);
	else if (s[0] != '\0' && !is_comment(s[0]))
		parse_entry(ld, s);
}

void zone_parse_init(struct zone_loader *ld, struct zone *z, const char *file,
		     zone_warn_fn *warn_fn, void *ctx, char *error)
{
	memset(ld, 0, sizeof(*ld));
	ld->z = z;
	ld->file = file;
	ld->warn_fn = warn_fn;
	ld->ctx = ctx;
	ld->error = error;
	/* offset 0 is "", value 0 is rbldnsd's default: 127.0.0.2, no TXT */
	zone_value_text_raw(ld, "", 0);
	zone_value_add(ld, ZONE_DEFAULT_A, 0);
	ld->def_value = ZONE_VALUE_DEFAULT;
}

bool zone_parse_finish(struct zone_loader *ld)
{
	size_t more;

	if (ld->fatal)
		return false;
	if (ld->z->type != ZONE_DNSET && !zone_ip4_build(ld))
		return false;
	if (ld->z->type == ZONE_DNSET)
		zone_name_finish(ld->z);
	zone_value_shrink(ld->z);
	more = ld->warned > ZONE_WARN_MAX ? ld->warned - ZONE_WARN_MAX : 0;
	if (more > 0 && ld->warn_fn != NULL) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %zu more warnings not shown", ld->file, more);
		ld->warn_fn(ld->ctx, msg);
	}
	return true;
}

void zone_parse_deinit(struct zone_loader *ld)
{
	free(ld->recs);
	ld->recs = NULL;
}

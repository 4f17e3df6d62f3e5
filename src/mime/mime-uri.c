/*
 * URIs for the filter, found and cleaned the way SpamAssassin 4.0 does
 * (PerMsgStatus::_tbirdurire and _process_text_uri_list, HTML.pm's
 * target_uri, Util::uri_list_canonicalize and url_encode), so that uri
 * rules see the same strings.  The text scanner emulates SpamAssassin's
 * Thunderbird-derived regular expression by hand (this layer does not
 * link a regex library): a start boundary, then the first of three
 * alternatives that matches: a known scheme or www./ftp. prefix, an
 * e-mail address (or mailto:), a bare host name ending in a known TLD.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime.h"

#define URI_MAX_SCHEME_RUN 2048
#define URI_MAX_MAIL_PART 251
#define URI_MAX_HOST 252

static bool is_w(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ><"'`,{[(|\s \x1b \xa0 */
static bool start_delim(unsigned char c)
{
	return c == '>' || c == '<' || c == '"' || c == '\'' || c == '`' || c == ',' ||
	       c == '{' || c == '[' || c == '(' || c == '|' || is_space(c) || c == 0x1b ||
	       c == 0xa0;
}

/* ><"`}]{[|\s \x1b \xa0 */
static bool end_delim(unsigned char c)
{
	return c == '>' || c == '<' || c == '"' || c == '`' || c == '}' || c == ']' ||
	       c == '{' || c == '[' || c == '|' || is_space(c) || c == 0x1b || c == 0xa0;
}

/* end_delim plus ,(' and non-ASCII */
static bool end_delim_email(unsigned char c)
{
	return end_delim(c) || c == ',' || c == '(' || c == '\'' || c >= 0x80;
}

/* [!"#$&'()*+,/:;<=>?@[\]^`{|}~\s\x1b\xa0] */
static bool sc_start_delim(unsigned char c)
{
	return (c != '%' && c != '-' && c != '.' && c != '_' &&
		((c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
		 (c >= 0x7b && c <= 0x7e))) ||
	       is_space(c) || c == 0x1b || c == 0xa0;
}

static bool label_char(unsigned char c)
{
	return is_alnum(c) || c == '-';
}

/* A run [^delim]{1,max} at p followed by a delimiter or the end. */
static size_t scheme_run(const char *s, size_t len, size_t p, size_t max,
			 bool (*delim)(unsigned char))
{
	size_t q = p;
	while (q < len && q - p < max && !delim((unsigned char)s[q]))
		q++;
	if (q == p)
		return 0;
	if (q < len && !delim((unsigned char)s[q]))
		return 0; /* capped before a delimiter: backtracking cannot help */
	return q - p;
}

static size_t match_known_scheme(const char *s, size_t len, size_t p)
{
	size_t q = p;
	/* every word start comes here: the first letter rules out most */
	char c0 = (char)(s[p] | 0x20);
	if (c0 != 'h' && c0 != 'f' && c0 != 'w')
		return 0;
	if (len - p >= 7 && strncasecmp(s + p, "http://", 7) == 0)
		q = p + 7;
	else if (len - p >= 8 && strncasecmp(s + p, "https://", 8) == 0)
		q = p + 8;
	else if (len - p >= 6 && strncasecmp(s + p, "ftp://", 6) == 0)
		q = p + 6;
	else if (len - p >= 4 && strncasecmp(s + p, "ftp.", 4) == 0)
		q = p + 4;
	else if (len - p >= 3 && strncasecmp(s + p, "www", 3) == 0) {
		/* www\d{0,2}\. */
		size_t d = p + 3;
		size_t k = 0;
		while (d < len && k < 2 && s[d] >= '0' && s[d] <= '9') {
			d++;
			k++;
		}
		if (d < len && s[d] == '.')
			q = d + 1;
		else
			return 0;
	} else {
		return 0;
	}
	size_t r = scheme_run(s, len, q, URI_MAX_SCHEME_RUN, end_delim);
	return r > 0 ? q + r - p : 0;
}

static bool not_email_or_at(unsigned char c)
{
	return end_delim_email(c) || c == '@';
}

static size_t match_mail(const char *s, size_t len, size_t p)
{
	if ((s[p] | 0x20) == 'm' && len - p >= 7 && strncasecmp(s + p, "mailto:", 7) == 0) {
		size_t r = scheme_run(s, len, p + 7, URI_MAX_SCHEME_RUN, end_delim_email);
		if (r > 0)
			return 7 + r;
	}
	size_t q = p;
	while (q < len && q - p < URI_MAX_MAIL_PART && !not_email_or_at((unsigned char)s[q]))
		q++;
	if (q == p || q >= len || s[q] != '@')
		return 0;
	size_t r = scheme_run(s, len, q + 1, URI_MAX_MAIL_PART, end_delim_email);
	return r > 0 ? q + 1 + r - p : 0;
}

/* ([a-z\d][a-z\d._-]{0,251}\.TLD)\.?(?::\d{1,5})?(?:/[^delim]{1,2048})?
   followed by a delimiter or the end; *host_len_r the host's length. */
static size_t match_schemeless(const char *s, size_t len, size_t p,
			       bool (*is_tld)(void *, const char *, size_t), void *ctx,
			       size_t *host_len_r)
{
	if (!is_alnum((unsigned char)s[p]))
		return 0;
	size_t q = p + 1;
	while (q < len && q - p <= URI_MAX_HOST - 1 &&
	       (is_alnum((unsigned char)s[q]) || s[q] == '.' || s[q] == '_' || s[q] == '-'))
		q++;
	/* backtrack over candidate ".TLD" ends, longest host first */
	for (size_t hend = q; hend > p + 1; hend--) {
		/* (?![a-zA-Z0-9-]|\.[a-zA-Z0-9]) after the TLD, checked first:
		   only the ends of labels are worth the walk back */
		if (hend < len && label_char((unsigned char)s[hend]))
			continue;
		/* the TLD is the label ending at hend, preceded by '.' */
		size_t ts = hend;
		while (ts > p && label_char((unsigned char)s[ts - 1]))
			ts--;
		/* (?<![a-zA-Z0-9-]) holds (s[ts-1] is '.') */
		if (ts == hend || ts <= p + 1 || s[ts - 1] != '.')
			continue;
		if (hend + 1 < len && s[hend] == '.' && is_alnum((unsigned char)s[hend + 1]))
			continue;
		if (!is_tld(ctx, s + ts, hend - ts))
			continue;
		/* the rest: \.? (:\d{1,5})? (/[^delim]{1,2048})? (?=delim|\z),
		   trying the longest first */
		size_t r = hend;
		size_t opts[8];
		size_t n = 0;
		size_t a = r;
		size_t dots[2] = { r, r };
		size_t nd = 1;
		if (a < len && s[a] == '.')
			dots[nd++] = a + 1;
		for (size_t di = nd; di-- > 0;) {
			size_t b = dots[di];
			size_t ports[2] = { b, b };
			size_t np = 1;
			if (b < len && s[b] == ':') {
				size_t c = b + 1, k = 0;
				while (c < len && k < 5 && s[c] >= '0' && s[c] <= '9') {
					c++;
					k++;
				}
				if (k > 0)
					ports[np++] = c;
			}
			for (size_t pi = np; pi-- > 0;) {
				size_t c = ports[pi];
				if (c < len && s[c] == '/') {
					size_t run = scheme_run(s, len, c + 1, URI_MAX_SCHEME_RUN, end_delim);
					if (run > 0 && n < N_ELEMENTS(opts))
						opts[n++] = c + 1 + run;
				}
				if (c >= len || end_delim((unsigned char)s[c])) {
					if (n < N_ELEMENTS(opts))
						opts[n++] = c;
				}
			}
		}
		if (n > 0) {
			*host_len_r = hend - p;
			return opts[0] - p;
		}
	}
	return 0;
}

bool mime_fqdn_valid(const char *h, size_t len)
{
	while (len > 0 && h[len - 1] == '.')
		len--;
	if (len > 253 || len == 0)
		return false;
	size_t labels = 1;
	for (size_t i = 0; i < len; i++)
		if (h[i] == '.')
			labels++;
	if (labels < 2)
		return false;
	size_t cnt = labels, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && h[i] != '.')
			continue;
		size_t l = i - start;
		const char *lab = h + start;
		if (l < 1 || l > 63)
			return false;
		for (size_t k = 0; k < l; k++) {
			unsigned char c = (unsigned char)ascii_lower(lab[k]);
			bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
				  (c == '-' && k > 0 && k < l - 1);
			if (!ok)
				return false;
			if (c == '_' && cnt <= 2)
				return false;
		}
		cnt--;
		start = i + 1;
	}
	return true;
}

size_t mime_uri_find_text(struct pool *pool, const char *s, size_t len,
			  bool (*is_tld)(void *ctx, const char *tld, size_t len), void *ctx,
			  struct mime_text_uri **uris_r)
{
	struct mime_text_uri *out = NULL;
	size_t n = 0, cap = 0;
	struct hash *seen = hash_create(16);

	for (size_t p = 0; p < len;) {
		unsigned char prev = p > 0 ? (unsigned char)s[p - 1] : 0;
		bool wb = (p > 0 && is_w(prev)) != is_w((unsigned char)s[p]);
		bool iso = p >= 3 && s[p - 3] == 0x1b && s[p - 2] == '(';
		bool sd = p > 0 && start_delim(prev);
		if (!(wb || iso || sd)) {
			p++;
			continue;
		}
		size_t m, host_len = 0;
		int kind = 0;
		if ((m = match_known_scheme(s, len, p)) > 0)
			kind = 1;
		else if ((m = match_mail(s, len, p)) > 0)
			kind = 2;
		else if ((p == 0 || sc_start_delim(prev)) &&
			 (m = match_schemeless(s, len, p, is_tld, ctx, &host_len)) > 0)
			kind = 3;
		if (kind == 0) {
			p++;
			continue;
		}
		size_t start = p;
		p += m;
		/* ) ends the URI unless a ( precedes it */
		size_t l = m;
		const char *raw = s + start;
		const char *cp = memchr(raw, ')', l);
		if (cp != NULL && memchr(raw, '(', (size_t)(cp - raw)) == NULL)
			l = (size_t)(cp - raw);
		/* trailing punctuation Thunderbird ignores */
		while (l > 0 && strchr("-~!@#^&*()_+=:;'?,.", raw[l - 1]) != NULL)
			l--;
		char *r = pool_strndup(pool, raw, l);
		if (hash_get(seen, r, l) != NULL)
			continue;
		hash_put(seen, r, l, (void *)1);
		if (kind == 2 && memchr(r, '@', l) == NULL)
			continue;
		if (kind == 3 && !mime_fqdn_valid(s + start, host_len))
			continue;
		if ((l >= 4 && (strncasecmp(r, "cid:", 4) == 0 || strncasecmp(r, "mid:", 4) == 0)))
			continue;
		{
			/* ^\w+:/{0,2}$ */
			size_t k = 0;
			while (k < l && is_w((unsigned char)r[k]))
				k++;
			if (k > 0 && k < l && r[k] == ':') {
				size_t j = k + 1, sl = 0;
				while (j < l && r[j] == '/' && sl < 2) {
					j++;
					sl++;
				}
				if (j == l)
					continue;
			}
		}
		struct mime_text_uri u = { .raw = r };
		const char *uri = r;
		if (!(strncasecmp(r, "http:", 5) == 0 || strncasecmp(r, "https:", 6) == 0 ||
		      strncasecmp(r, "ftp:", 4) == 0 || strncasecmp(r, "mailto:", 7) == 0)) {
			const char *at = strchr(r, '@');
			const char *sl = strchr(r, '/');
			if (strncasecmp(r, "ftp.", 4) == 0) {
				uri = pool_printf(pool, "ftp://%s", r);
			} else if (strncasecmp(r, "www", 3) == 0 && (r[3] == '.' ||
				   (r[3] >= '0' && r[3] <= '9' && (r[4] == '.' ||
				    (r[4] >= '0' && r[4] <= '9' && r[5] == '.'))))) {
				uri = pool_printf(pool, "http://%s", r);
			} else if (sl != NULL && at != NULL && strchr(sl, '@') != NULL &&
				   strchr(sl, '@') > sl + 1) {
				/* \/.+\@ */
				uri = pool_printf(pool, "http://%s", r);
			} else if (at != NULL) {
				/* \@.+?\. */
				const char *dot = strchr(at + 1, '.');
				if (dot == NULL || dot == at + 1)
					continue;
				if (strstr(r, "&nbsp;") != NULL)
					continue;
				/* s/^(?:skype|e?-?mail)?:+//i */
				const char *q = r;
				if (strncasecmp(q, "skype", 5) == 0 && q[5] == ':')
					q += 5;
				else {
					const char *t = q;
					if (*t == 'e' || *t == 'E')
						t++;
					if (*t == '-')
						t++;
					if (strncasecmp(t, "mail", 4) == 0 && t[4] == ':')
						q = t + 4;
				}
				while (*q == ':')
					q++;
				uri = pool_printf(pool, "mailto:%s", q);
			} else {
				if (strchr(r, '.') == NULL)
					continue;
				uri = pool_printf(pool, "http://%s", r);
				u.unlinked = true;
			}
			u.schemeless = true;
		}
		if (strncasecmp(uri, "mailto:", 7) == 0) {
			/* url_encode when escapes, then the host after @ must have a
			   known TLD */
			bool esc = false;
			for (const char *q = uri; q[0] != '\0'; q++)
				if (q[0] == '%' && q[1] != '\0' && q[2] != '\0' &&
				    strchr("0123456789abcdefABCDEF", q[1]) != NULL &&
				    strchr("0123456789abcdefABCDEF", q[2]) != NULL)
					esc = true;
			if (esc)
				uri = mime_uri_url_encode(pool, uri);
			const char *at = strchr(uri, '@');
			if (at == NULL)
				continue;
			size_t hl = strcspn(at + 1, "?&>");
			char *host = pool_strndup(pool, at + 1, hl);
			size_t hlen = strlen(host);
			while (hlen >= 3 && strcmp(host + hlen - 3, "%20") == 0)
				host[hlen -= 3] = '\0';
			/* is_domain_valid: no white space, a dot, a known TLD */
			const char *dot = strrchr(host, '.');
			if (strpbrk(host, " \t\r\n\f\v") != NULL || dot == NULL ||
			    !is_tld(ctx, dot + 1, strlen(dot + 1)))
				continue;
		}
		u.uri = uri;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			out = pool_realloc(pool, out, sizeof(*out) * cap, sizeof(*out) * nc);
			cap = nc;
		}
		out[n++] = u;
	}
	hash_destroy(&seen);
	*uris_r = out;
	return n;
}

/*
 * target_uri() of HTML.pm
 */

struct puri {
	const char *scheme, *authority, *path, *query, *fragment;
};

static void parse_uri(struct pool *pool, const char *u, struct puri *p)
{
	/* ^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))? */
	const char *s = u;
	memset(p, 0, sizeof(*p));
	size_t k = strcspn(s, ":/?#");
	if (k > 0 && s[k] == ':') {
		p->scheme = pool_strndup(pool, s, k);
		s += k + 1;
	}
	if (s[0] == '/' && s[1] == '/') {
		s += 2;
		k = strcspn(s, "/?#");
		p->authority = pool_strndup(pool, s, k);
		s += k;
	}
	k = strcspn(s, "?#");
	p->path = pool_strndup(pool, s, k);
	s += k;
	if (*s == '?') {
		s++;
		k = strcspn(s, "#");
		p->query = pool_strndup(pool, s, k);
		s += k;
	}
	if (*s == '#')
		p->fragment = pool_strdup(pool, s + 1);
}

static char *remove_dot_segments(struct pool *pool, const char *in)
{
	struct buf out;
	char *input = pool_strdup(pool, in);
	buf_init_pool(&out, pool, 0);
	/* s@^(?:\.\.?/)@/@ */
	if (strncmp(input, "./", 2) == 0)
		input = pool_printf(pool, "/%s", input + 2);
	else if (strncmp(input, "../", 3) == 0)
		input = pool_printf(pool, "/%s", input + 3);
	while (*input != '\0') {
		if (strncmp(input, "/.", 2) == 0 && (input[2] == '\0' || input[2] == '/')) {
			input = input[2] == '\0' ? pool_strdup(pool, "/") : input + 2;
		} else if (strncmp(input, "/..", 3) == 0 && (input[3] == '\0' || input[3] == '/')) {
			input = input[3] == '\0' ? pool_strdup(pool, "/") : input + 3;
			/* s@/?[^/]*$@@ on the output */
			size_t l = out.len;
			while (l > 0 && out.data[l - 1] != '/')
				l--;
			if (l > 0)
				l--;
			buf_truncate(&out, l);
		} else {
			/* (/?[^/]*) */
			size_t k = input[0] == '/' ? 1 : 0;
			k += strcspn(input + k, "/");
			buf_append(&out, input, k);
			input += k;
		}
	}
	return (char *)buf_cstr(&out);
}

char *mime_uri_resolve(struct pool *pool, const char *base, const char *rel)
{
	struct puri r, b, t;
	memset(&t, 0, sizeof(t));
	parse_uri(pool, rel, &r);
	parse_uri(pool, base, &b);
	if (r.scheme != NULL && b.scheme != NULL && strcmp(r.scheme, b.scheme) == 0)
		r.scheme = NULL;
	if (r.scheme != NULL) {
		t.scheme = r.scheme;
		t.authority = r.authority;
		t.path = remove_dot_segments(pool, r.path);
		t.query = r.query;
	} else {
		if (r.authority != NULL) {
			t.authority = r.authority;
			t.path = remove_dot_segments(pool, r.path);
			t.query = r.query;
		} else {
			if (r.path[0] == '\0') {
				t.path = b.path;
				t.query = r.query != NULL ? r.query : b.query;
			} else {
				if (r.path[0] == '/') {
					t.path = remove_dot_segments(pool, r.path);
				} else {
					/* merge */
					const char *merged;
					if (b.authority != NULL && b.path[0] == '\0') {
						merged = pool_printf(pool, "/%s", r.path);
					} else {
						const char *sl = strrchr(b.path, '/');
						size_t keep = sl != NULL ? (size_t)(sl - b.path) + 1 : 0;
						merged = pool_printf(pool, "%.*s%s", (int)keep, b.path, r.path);
					}
					t.path = remove_dot_segments(pool, merged);
				}
				t.query = r.query;
			}
			t.authority = b.authority;
		}
		t.scheme = b.scheme;
	}
	t.fragment = r.fragment;

	struct buf out;
	buf_init_pool(&out, pool, 0);
	if (t.scheme != NULL && t.scheme[0] != '\0' && strcmp(t.scheme, "0") != 0) {
		buf_printf(&out, "%s:", t.scheme);
	} else if (t.authority != NULL) {
		if (strncasecmp(t.authority, "www", 3) == 0) {
			size_t d = 3;
			while (t.authority[d] >= '0' && t.authority[d] <= '9')
				d++;
			if (t.authority[d] == '.')
				buf_append_str(&out, "http:");
		} else if (strncasecmp(t.authority, "ftp", 3) == 0) {
			size_t d = 3;
			while (t.authority[d] >= '0' && t.authority[d] <= '9')
				d++;
			if (t.authority[d] == '.')
				buf_append_str(&out, "ftp:");
		}
	}
	if (t.authority != NULL)
		buf_printf(&out, "//%s", t.authority);
	buf_append_str(&out, t.path != NULL ? t.path : "");
	if (t.query != NULL)
		buf_printf(&out, "?%s", t.query);
	if (t.fragment != NULL)
		buf_printf(&out, "#%s", t.fragment);
	return (char *)buf_cstr(&out);
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *mime_uri_url_encode(struct pool *pool, const char *uri)
{
	struct buf out;
	buf_init_pool(&out, pool, 0);
	for (const char *p = uri; *p != '\0';) {
		if (p[0] == '%' && hexv(p[1]) >= 0 && p[2] != '\0' && hexv(p[2]) >= 0) {
			/* keep escapes of 0x00-0x20, 0x7f-0xff (the
			   (20|7f|[0189a-fA-F][0-9a-fA-F]) test looks at both
			   digits anywhere in "%XY") */
			char x = p[1], y = p[2];
			bool keep = (x == '2' && y == '0') || (x == '7' && (y == 'f' || y == 'F')) ||
				    strchr("0189aAbBcCdDeEfF", x) != NULL;
			if (!keep && x >= '2' && x <= '7') {
				buf_append_c(&out, (char)(hexv(x) * 16 + hexv(y)));
			} else {
				buf_append(&out, p, 3);
			}
			p += 3;
			continue;
		}
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '%' || c == '<' || c == '>')
			buf_printf(&out, "%%%02x", c);
		else
			buf_append_c(&out, (char)c);
		p++;
	}
	return (char *)buf_cstr(&out);
}

struct ulist {
	struct pool *pool;
	const char **v;
	size_t n, cap;
	struct hash *seen;
};

static void ul_add(struct ulist *l, const char *s)
{
	if (hash_get_str(l->seen, s) != NULL)
		return;
	hash_put(l->seen, s, strlen(s), (void *)1);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		l->v = pool_realloc(l->pool, l->v, sizeof(char *) * l->cap, sizeof(char *) * nc);
		l->cap = nc;
	}
	l->v[l->n++] = pool_strdup(l->pool, s);
}

static const char *ulong_to_ip(struct pool *pool, unsigned long long v)
{
	v &= 0xffffffffULL;
	return pool_printf(pool, "%llu.%llu.%llu.%llu", (v >> 24) & 255, (v >> 16) & 255,
			   (v >> 8) & 255, v & 255);
}

/* One URI's cleaned variants; may queue more URIs (redirect targets). */
static void canon_one(struct pool *pool, const char *in, struct ulist *queue,
		      struct ulist *out,
		      const char *(*redirect)(void *, struct pool *, const char *),
		      bool (*domain_valid)(void *, const char *), void *ctx)
{
	struct buf b;
	buf_init_pool(&b, pool, 0);
	for (const char *p = in; *p != '\0'; p++)
		if (*p != '\n' && *p != '\r')
			buf_append_c(&b, *p);
	char *uri = str_trim((char *)buf_cstr(&b));
	size_t ul = strlen(uri);
	ul_add(out, uri);
	if (ul <= 1 || uri[0] == '#' || uri[0] == '?' || uri[0] == '&' ||
	    (uri[0] == '/' && uri[1] != '/'))
		return;
	char *nuri = pool_strdup(pool, uri);
	/* mailto: or user@ */
	const char *colon = strchr(nuri, ':');
	const char *at = strchr(nuri, '@');
	if (strncasecmp(nuri, "mailto:", 7) == 0 || (at != NULL && (colon == NULL || colon > at))) {
		/* ^([^\@]+\@[^?]+)\? */
		if (at != NULL && at > nuri) {
			const char *q = strchr(at, '?');
			if (q != NULL && q > at + 1)
				ul_add(out, pool_strndup(pool, nuri, (size_t)(q - nuri)));
			const char *amp = at + 1 + strcspn(at + 1, "?&");
			if (*amp == '&' && amp > at + 1)
				ul_add(out, pool_strndup(pool, nuri, (size_t)(amp - nuri)));
		}
		if (strstr(nuri, "%20") != NULL) {
			const char *q = nuri;
			if (strncasecmp(q, "mailto:", 7) == 0)
				q += 7;
			while (strncmp(q, "%20", 3) == 0)
				q += 3;
			const char *a2 = strchr(q, '@');
			if (a2 != NULL && a2 > q) {
				size_t hl = strcspn(a2 + 1, "?&%");
				if (hl > 0)
					ul_add(out, pool_printf(pool, "mailto:%.*s", (int)(a2 + 1 + hl - q), q));
			}
		}
		/* ^[^?&]*<([^\@>]+\@[^>]+)> */
		const char *lt = strchr(nuri, '<');
		if (lt != NULL && strcspn(nuri, "?&") > (size_t)(lt - nuri)) {
			const char *gt = strchr(lt, '>');
			const char *a2 = strchr(lt, '@');
			if (gt != NULL && a2 != NULL && a2 < gt && a2 > lt + 1 && gt > a2 + 1)
				ul_add(out, pool_printf(pool, "mailto:%.*s", (int)(gt - lt - 1), lt + 1));
		}
		return;
	}
	for (char *p = nuri; *p != '\0'; p++)
		if (*p == '\\')
			*p = '/';
	/* s{^(https?:)/{0,2}}{$1//}i */
	if (strncasecmp(nuri, "http:", 5) == 0 || strncasecmp(nuri, "https:", 6) == 0) {
		size_t sl = nuri[4] == ':' ? 5 : 6;
		const char *r = nuri + sl;
		int k = 0;
		while (*r == '/' && k < 2) {
			r++;
			k++;
		}
		nuri = pool_printf(pool, "%.*s//%s", (int)sl, nuri, r);
	}
	bool esc = false;
	for (const char *q = nuri; q[0] != '\0'; q++)
		if (q[0] == '%' && hexv(q[1]) >= 0 && q[2] != '\0' && hexv(q[2]) >= 0)
			esc = true;
	if (esc)
		nuri = mime_uri_url_encode(pool, nuri);
	/* no scheme: ftp:// or http:// */
	{
		size_t k = 0;
		while (is_alnum((unsigned char)nuri[k]) || nuri[k] == '-' || nuri[k] == '_')
			k++;
		if (!(k > 0 && nuri[k] == ':')) {
			if (strncmp(nuri, "ftp.", 4) == 0)
				nuri = pool_printf(pool, "ftp://%s", nuri);
			else
				nuri = pool_printf(pool, "http://%s", nuri);
		}
	}
	/* s{^(https?://[^/?#]+)([?#])}{$1/$2}i */
	if (strncasecmp(nuri, "http://", 7) == 0 || strncasecmp(nuri, "https://", 8) == 0) {
		size_t hs = nuri[4] == ':' ? 7 : 8;
		size_t k = strcspn(nuri + hs, "/?#");
		if (k > 0 && (nuri[hs + k] == '?' || nuri[hs + k] == '#'))
			nuri = pool_printf(pool, "%.*s/%s", (int)(hs + k), nuri, nuri + hs + k);
	}
	/* numeric character references for printable ASCII and dots */
	if (strstr(nuri, "&#") != NULL) {
		struct buf e;
		buf_init_pool(&e, pool, 0);
		for (const char *p = nuri; *p != '\0';) {
			if (p[0] == '&' && p[1] == '#') {
				const char *q = p + 2;
				bool hex = *q == 'x' || *q == 'X';
				if (hex)
					q++;
				const char *ds = q;
				unsigned long v = 0;
				while (*q != '\0' && (hex ? hexv(*q) >= 0 : (*q >= '0' && *q <= '9'))) {
					v = v * (hex ? 16 : 10) + (unsigned)(hex ? hexv(*q) : *q - '0');
					if (v > 100000)
						v = 100000;
					q++;
				}
				if (q > ds && *q == ';') {
					bool dot = v == 0x2e || v == 12290 || v == 65294 || v == 65377;
					if (v >= 33 && v <= 126) {
						buf_append_c(&e, (char)v);
						p = q + 1;
						continue;
					}
					if (dot) {
						buf_append_c(&e, '.');
						p = q + 1;
						continue;
					}
				}
			}
			buf_append_c(&e, *p++);
		}
		nuri = (char *)buf_cstr(&e);
	}
	if (strcmp(nuri, uri) != 0)
		ul_add(out, nuri);

	/* ^(https?://)([^\@/?#]*\@)?([^/?#:]+)((?::(\d*))?.*)$ */
	size_t pl;
	if (strncasecmp(nuri, "http://", 7) == 0)
		pl = 7;
	else if (strncasecmp(nuri, "https://", 8) == 0)
		pl = 8;
	else
		return;
	char *proto = pool_strndup(pool, nuri, pl);
	const char *p = nuri + pl;
	const char *auth_end = p + strcspn(p, "@/?#");
	char *auth = pool_strdup(pool, "");
	if (*auth_end == '@') {
		auth = pool_strndup(pool, p, (size_t)(auth_end + 1 - p));
		p = auth_end + 1;
	}
	size_t hl = strcspn(p, "/?#:");
	if (hl == 0)
		return;
	char *host = pool_strndup(pool, p, hl);
	const char *rest = p + hl;
	const char *port = "";
	const char *rest_noport = NULL;
	bool is_http = strcasecmp(proto, "http://") == 0;
	if (*rest == ':') {
		size_t d = strspn(rest + 1, "0123456789");
		port = pool_strndup(pool, rest + 1, d);
		/* s/^:80\b// or s/^:443\b// */
		const char *want = is_http ? ":80" : ":443";
		size_t wl = strlen(want);
		if (strncmp(rest, want, wl) == 0 && !is_alnum((unsigned char)rest[wl]) &&
		    rest[wl] != '_') {
			rest_noport = rest + wl;
			ul_add(out, pool_printf(pool, "%s%s%s", proto, host, rest_noport));
		}
	}
	if (port[0] == '\0')
		port = is_http ? "80" : "443";
	/* idn_to_ascii without libidn: lower case */
	char *nhost = pool_strdup(pool, host);
	str_lcase(nhost);
	(void)nhost;
	/* host with control/space chars removed */
	{
		struct buf hb;
		buf_init_pool(&hb, pool, 0);
		bool removed = false;
		for (const char *q = host; *q != '\0'; q++) {
			if ((unsigned char)*q <= 0x20) {
				removed = true;
				continue;
			}
			buf_append_c(&hb, *q);
		}
		if (removed) {
			host = (char *)buf_cstr(&hb);
			ul_add(out, pool_printf(pool, "%s%s%s", proto, host, rest));
		}
	}
	const char *full = pool_printf(pool, "%s%s%s", proto, host, rest);
	const char *target = redirect != NULL ? redirect(ctx, pool, full) : NULL;
	if (target != NULL) {
		ul_add(queue, target);
	} else {
		/* hard-coded redirector: (https?:/{0,2}[^&#]+) in the rest */
		const char *h = rest;
		for (; *h != '\0'; h++) {
			if (strncasecmp(h, "http", 4) != 0)
				continue;
			const char *q = h + 4;
			if (*q == 's' || *q == 'S')
				q++;
			if (*q != ':')
				continue;
			size_t l = strcspn(h, "&#");
			char *t = pool_strndup(pool, h, l);
			if (strchr(t, '.') != NULL)
				ul_add(queue, t);
			break;
		}
	}
	/* s/^[^\@]+\@//gs */
	const char *a2 = strchr(host, '@');
	if (a2 != NULL && a2 > host) {
		host = pool_strdup(pool, a2 + 1);
		ul_add(out, pool_printf(pool, "%s%s%s", proto, host, rest));
	}
	/* s/[^0-9A-Za-z]+$// */
	size_t hlen = strlen(host);
	if (hlen > 0 && !is_alnum((unsigned char)host[hlen - 1])) {
		while (hlen > 0 && !is_alnum((unsigned char)host[hlen - 1]))
			hlen--;
		host = pool_strndup(pool, host, hlen);
		ul_add(out, pool_printf(pool, "%s%s%s", proto, host, rest));
	}
	/* numeric hosts: 4 parts of hex/octal/decimal, one hex, one decimal */
	{
		char *parts[5];
		int np = 0;
		char *h2 = pool_strdup(pool, host);
		char *save = NULL;
		bool ok = true;
		size_t dots = 0;
		for (const char *q = h2; *q != '\0'; q++)
			if (*q == '.')
				dots++;
		if (dots == 3 && h2[0] != '.' && h2[strlen(h2) - 1] != '.' && strstr(h2, "..") == NULL) {
			for (char *t = strtok_r(h2, ".", &save); t != NULL && np < 5;
			     t = strtok_r(NULL, ".", &save))
				parts[np++] = t;
			if (np != 4)
				ok = false;
			for (int i = 0; ok && i < 4; i++) {
				const char *t = parts[i];
				if ((t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))) {
					if (t[2] == '\0' || strspn(t + 2, "0123456789abcdefABCDEF") != strlen(t + 2))
						ok = false;
				} else if (strspn(t, "0123456789") != strlen(t) || t[0] == '\0') {
					ok = false;
				}
			}
			if (ok) {
				struct buf ip;
				buf_init_pool(&ip, pool, 0);
				for (int i = 0; i < 4; i++) {
					char *t = parts[i];
					char num[32];
					if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
						snprintf(num, sizeof(num), "%lu", strtoul(t + 2, NULL, 16));
					} else if (t[0] == '0' && t[1] != '\0') {
						/* s/^0+([1-3][0-7]{0,2}|[4-7][0-7]?)\b/oct/ then s/^0+// */
						const char *z = t;
						while (*z == '0')
							z++;
						size_t ol = strspn(z, "01234567");
						bool octal = ol == strlen(z) && ol > 0 &&
							     ((z[0] >= '1' && z[0] <= '3' && ol <= 3) ||
							      (z[0] >= '4' && z[0] <= '7' && ol <= 2));
						if (octal)
							snprintf(num, sizeof(num), "%lu", strtoul(z, NULL, 8));
						else
							snprintf(num, sizeof(num), "%s", *z ? z : "");
					} else {
						snprintf(num, sizeof(num), "%s", t);
					}
					buf_append_str(&ip, num);
					if (i < 3)
						buf_append_c(&ip, '.');
				}
				ul_add(out, pool_printf(pool, "%s%s%s", proto, buf_cstr(&ip), rest));
			}
		} else if ((host[0] == '0' && (host[1] == 'x' || host[1] == 'X')) &&
			   host[2] != '\0' && strspn(host + 2, "0123456789abcdefABCDEF") == strlen(host + 2)) {
			size_t hx = strlen(host + 2);
			const char *last8 = host + 2 + (hx > 8 ? hx - 8 : 0);
			ul_add(out, pool_printf(pool, "%s%s%s", proto,
						ulong_to_ip(pool, strtoull(last8, NULL, 16)), rest));
		} else if (host[0] != '\0' && strspn(host, "0123456789") == strlen(host)) {
			ul_add(out, pool_printf(pool, "%s%s%s", proto,
						ulong_to_ip(pool, strtoull(host, NULL, 10)), rest));
		} else if (is_http && auth[0] == '\0' && strcmp(port, "80") == 0) {
			/* ^(?:www\.)?([^.]+)$ : a bare word is tried as www.word.com */
			char *lh = pool_strdup(pool, p);
			lh[hl] = '\0';
			str_lcase(lh);
			if (strcmp(lh, "localhost") != 0) {
				const char *w = lh;
				if (strncmp(w, "www.", 4) == 0)
					w += 4;
				if (w[0] != '\0' && strchr(w, '.') == NULL &&
				    !(domain_valid != NULL && domain_valid(ctx, lh)))
					ul_add(out, pool_printf(pool, "%swww.%s.com%s", proto, w, rest));
			}
		}
	}
}

size_t mime_uri_canonicalize(struct pool *pool, const char *uri,
			     const char *(*redirect)(void *ctx, struct pool *pool,
						     const char *uri),
			     bool (*is_domain_valid)(void *ctx, const char *host), void *ctx,
			     const char ***out_r)
{
	struct ulist queue = { .pool = pool, .seen = hash_create(8) };
	struct ulist out = { .pool = pool, .seen = hash_create(16) };

	ul_add(&queue, uri);
	for (size_t i = 0; i < queue.n && i < 64; i++)
		canon_one(pool, queue.v[i], &queue, &out, redirect, is_domain_valid, ctx);
	/* the queued redirect targets are results too */
	for (size_t i = 1; i < queue.n; i++)
		ul_add(&out, queue.v[i]);
	hash_destroy(&queue.seen);
	hash_destroy(&out.seen);
	*out_r = out.v;
	return out.n;
}

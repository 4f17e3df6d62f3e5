/*
 * The message as SpamAssassin's rules see it.  SpamAssassin parses mail
 * with its own Mail::SpamAssassin::Message, and what its rules match
 * depends on that parser's choices: header fields split at the first
 * colon with up to three bad lines tolerated, parts cut at
 * "--boundary" lines with trailing white space only, lines over 2,048
 * bytes split inside multiparts, runs of more than 20 blank lines cut,
 * CRLF squashed to LF.  To hit what SpamAssassin hits, the filter parses
 * the same way here rather than through src/mime's RFC-oriented tree;
 * decoding, charsets (src/mime), HTML rendering and URI extraction
 * (mime-html.c, mime-uri.c) are shared.
 *
 * What rules get:
 *  - header: get() of PerMsgStatus: decoded values (RFC 2047 to UTF-8,
 *    except Received, Message-ID, Date, References...), :raw, :addr,
 *    :name, ALL, ToCc, MESSAGEID, EnvelopeFrom, X-Spam-Relays-*;
 *  - body: the rendered text parts joined, white space collapsed,
 *    paragraphs as lines, the Subject first, lines cut at 2,048 bytes;
 *  - rawbody: decoded text parts in paragraphs of 2-4 KB;
 *  - full: the message as received;
 *  - uri: URIs of the text and HTML, with their cleaned variants.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"

#define SA_SUBPARSE 20
#define SA_MAX_PARTS 1000
#define SA_MAX_BLANK_LINES 20

struct line {
	const char *p;
	size_t len;     /* with its "\n" when it has one */
};

struct lines {
	struct line *v;
	size_t n, cap;
};

static void lines_push(struct pool *pool, struct lines *l, const char *p, size_t len)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		l->v = pool_realloc(pool, l->v, sizeof(*l->v) * l->cap, sizeof(*l->v) * nc);
		l->cap = nc;
	}
	l->v[l->n].p = p;
	l->v[l->n].len = len;
	l->n++;
}

static void split_lines(struct pool *pool, const char *s, size_t len, struct lines *out)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - s) + 1 : len;
		lines_push(pool, out, s + i, e - i);
		i = e;
	}
}

static bool line_blank(const struct line *l)
{
	for (size_t i = 0; i < l->len; i++) {
		char c = l->p[i];
		if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'))
			return false;
	}
	return true;
}

static bool is_hdr_name_char(unsigned char c)
{
	return (c >= 0x21 && c <= 0x39) || (c >= 0x3b && c <= 0x7e);
}

/* ^[\041-\071\073-\176]+[ \t]*: */
static bool looks_like_field(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len && is_hdr_name_char((unsigned char)p[i]))
		i++;
	if (i == 0)
		return false;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < len && p[i] == ':';
}

/*
 * Header values
 */

static bool no_mime_decode(const char *name)
{
	/* Received, (Resent-)Message-ID, (Resent-)Date, MIME-Version,
	   References, In-Reply-To, List-* keep their encoded words */
	const char *n = name;
	if (strcasecmp(n, "Received") == 0 || strcasecmp(n, "MIME-Version") == 0 ||
	    strcasecmp(n, "References") == 0 || strcasecmp(n, "In-Reply-To") == 0 ||
	    strncasecmp(n, "List-", 5) == 0)
		return true;
	if (strncasecmp(n, "Resent-", 7) == 0)
		n += 7;
	return strcasecmp(n, "Message-ID") == 0 || strcasecmp(n, "Date") == 0;
}

static int hexd(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* SpamAssassin's qp_decode(): trailing white space, soft breaks, =XX */
static void qp_decode(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (c == ' ' || c == '\t') {
			size_t j = i;
			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j < len && (s[j] == '\n' || (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n'))) {
				i = j;
				continue;
			}
			buf_append(out, s + i, j - i);
			i = j;
			continue;
		}
		if (c == '=') {
			if (i + 1 < len && s[i + 1] == '\n') {
				i += 2;
				continue;
			}
			if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
				i += 3;
				continue;
			}
			if (i + 2 < len && hexd(s[i + 1]) >= 0 && hexd(s[i + 2]) >= 0) {
				buf_append_c(out, (char)(hexd(s[i + 1]) * 16 + hexd(s[i + 2])));
				i += 3;
				continue;
			}
		}
		buf_append_c(out, c);
		i++;
	}
}

static int b64v(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* SpamAssassin's base64_decode(): junk dropped, '=' inside read as 'A'
   (well-formed input) or as the last alphabet entry, a trailing single
   character dropped. */
static void base64_decode(struct pool *pool, struct buf *out, const char *s, size_t len)
{
	struct buf t;
	buf_init_pool(&t, pool, len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
			continue;
		buf_append_c(&t, (char)c);
	}
	const char *d = t.data != NULL ? t.data : "";
	size_t n = t.len;
	bool fast = n % 4 == 0 && n >= 2;
	size_t pad = 0;
	for (size_t i = 0; fast && i < n; i++) {
		if (d[i] == '=') {
			pad++;
		} else if (b64v((unsigned char)d[i]) < 0) {
			fast = false;
		} else if (pad > 0) {
			pad = 0; /* '=' inside: becomes 'A' */
		}
	}
	if (fast && pad > 2)
		fast = false;
	struct buf q;
	buf_init_pool(&q, pool, n + 1);
	if (fast) {
		size_t trail = 0;
		while (trail < n && d[n - 1 - trail] == '=')
			trail++;
		for (size_t i = 0; i < n; i++)
			buf_append_c(&q, (char)(d[i] == '=' && i < n - trail ? 0 : d[i] == '=' ? -1 :
					       b64v((unsigned char)d[i])));
	} else {
		for (size_t i = 0; i < n; i++) {
			int v = b64v((unsigned char)d[i]);
			if (v >= 0)
				buf_append_c(&q, (char)v);
			else if (d[i] == '=')
				buf_append_c(&q, (char)-1);
		}
		/* s/=+$// then '=' inside reads as 63 */
		while (q.len > 0 && q.data[q.len - 1] == (char)-1)
			q.len--;
		for (size_t i = 0; i < q.len; i++)
			if (q.data[i] == (char)-1)
				q.data[i] = 63;
		if (q.len % 4 == 1)
			q.len--;
	}
	const signed char *v = (const signed char *)(q.data != NULL ? q.data : "");
	size_t vn = q.len;
	for (size_t i = 0; i + 1 < vn || (i < vn && false); i += 4) {
		int a = v[i], b = i + 1 < vn ? v[i + 1] : -1;
		int c = i + 2 < vn ? v[i + 2] : -1, e = i + 3 < vn ? v[i + 3] : -1;
		if (a < 0 || b < 0)
			break;
		buf_append_c(out, (char)((a << 2) | (b >> 4)));
		if (c < 0)
			break;
		buf_append_c(out, (char)(((b & 15) << 4) | (c >> 2)));
		if (e < 0)
			break;
		buf_append_c(out, (char)(((c & 3) << 6) | e));
	}
}

/* Raw 8-bit header text: kept when valid UTF-8, else read as
   Windows-1252 (SpamAssassin's _normalize guess for headers). */
static void append_8bit(struct buf *out, const char *s, size_t len)
{
	if (mime_charset_is_valid_utf8(s, len)) {
		buf_append(out, s, len);
		return;
	}
	mime_charset_to_utf8("windows-1252", s, len, out);
}

/* One encoded word's decoded bytes (B or Q). */
static void decode_word(struct pool *pool, struct buf *out, char enc, const char *s,
			size_t len)
{
	if (enc == 'B' || enc == 'b') {
		base64_decode(pool, out, s, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '_') {
			buf_append_c(out, ' ');
		} else if (s[i] == '=' && i + 2 < len && hexd(s[i + 1]) >= 0 && hexd(s[i + 2]) >= 0) {
			buf_append_c(out, (char)(hexd(s[i + 1]) * 16 + hexd(s[i + 2])));
			i += 2;
		} else {
			buf_append_c(out, s[i]);
		}
	}
}

/* =?charset?[bq]?text?= at s (no '?' in text); fills the pieces. */
static size_t encoded_word(const char *s, size_t len, const char **cs, size_t *csl, char *enc,
			   const char **txt, size_t *tl)
{
	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	size_t i = 2;
	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			   (s[i] >= '0' && s[i] <= '9') || s[i] == '*' || s[i] == '_' || s[i] == '-'))
		i++;
	if (i == 2 || i + 3 > len || s[i] != '?')
		return 0;
	*cs = s + 2;
	*csl = i - 2;
	char e = s[i + 1];
	if (!(e == 'b' || e == 'B' || e == 'q' || e == 'Q') || s[i + 2] != '?')
		return 0;
	*enc = e;
	size_t t = i + 3;
	size_t k = t;
	while (k < len && s[k] != '?')
		k++;
	if (k + 1 >= len || s[k + 1] != '=')
		return 0;
	*txt = s + t;
	*tl = k - t;
	return k + 2;
}

char *sa_decode_header(struct pool *pool, const char *name, const char *v, size_t len,
		       size_t *len_r)
{
	struct buf b, out;
	bool eight = false;

	/* unfold: s/\n[ \t]+/ /g, trim, then the line ends go */
	buf_init_pool(&b, pool, len + 1);
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\n' && i + 1 < len && (v[i + 1] == ' ' || v[i + 1] == '\t')) {
			buf_append_c(&b, ' ');
			while (i + 1 < len && (v[i + 1] == ' ' || v[i + 1] == '\t'))
				i++;
			continue;
		}
		if ((unsigned char)v[i] >= 0x80)
			eight = true;
		buf_append_c(&b, v[i]);
	}
	const char *s = b.data != NULL ? b.data : "";
	size_t n = b.len;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
			 s[n - 1] == '\f' || s[n - 1] == '\v'))
		n--;
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' ||
			 *s == '\v')) {
		s++;
		n--;
	}
	/* remaining CR/LF are removed */
	buf_init_pool(&out, pool, n + 1);
	struct buf clean;
	buf_init_pool(&clean, pool, n + 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\n' && s[i] != '\r')
			buf_append_c(&clean, s[i]);
		else if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		else if (s[i] == '\r')
			buf_append_c(&clean, s[i]);
	s = clean.data != NULL ? clean.data : "";
	n = clean.len;
	if (eight) {
		struct buf u;
		buf_init_pool(&u, pool, n + 1);
		append_8bit(&u, s, n);
		s = u.data != NULL ? u.data : "";
		n = u.len;
	}
	if (no_mime_decode(name) || memmem(s, n, "=?", 2) == NULL) {
		buf_append(&out, s, n);
		*len_r = out.len;
		return (char *)buf_cstr(&out);
	}
	/* sections: encoded words (white space between two dropped) and plain
	   text; adjacent sections of the same charset joined before
	   conversion */
	struct buf sect;
	buf_init_pool(&sect, pool, 0);
	const char *sect_cs = NULL;
	size_t sect_csl = 0;
	bool have = false;
	for (size_t i = 0; i < n;) {
		const char *cs, *txt;
		size_t csl, tl;
		char enc;
		size_t w = encoded_word(s + i, n - i, &cs, &csl, &enc, &txt, &tl);
		if (w > 0) {
			struct buf dec;
			buf_init_pool(&dec, pool, 0);
			decode_word(pool, &dec, enc, txt, tl);
			/* charset*lang: the language goes */
			const char *star = memchr(cs, '*', csl);
			size_t cl = star != NULL ? (size_t)(star - cs) : csl;
			if (have && sect_cs != NULL && sect_csl == cl && strncasecmp(sect_cs, cs, cl) == 0) {
				buf_append(&sect, dec.data, dec.len);
			} else {
				if (have) {
					if (sect_cs != NULL)
						mime_charset_to_utf8(pool_strndup(pool, sect_cs, sect_csl),
								     sect.data, sect.len, &out);
					else
						buf_append(&out, sect.data, sect.len);
				}
				buf_reset(&sect);
				buf_append(&sect, dec.data, dec.len);
				sect_cs = cs;
				sect_csl = cl;
				have = true;
			}
			i += w;
			/* white space followed by another encoded word vanishes */
			size_t j = i;
			while (j < n && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j > i && encoded_word(s + j, n - j, &cs, &csl, &enc, &txt, &tl) > 0)
				i = j;
			continue;
		}
		/* plain text up to the next "=?" */
		size_t j = i + 1;
		while (j < n && !(s[j] == '=' && j + 1 < n && s[j + 1] == '?'))
			j++;
		if (have && sect_cs == NULL) {
			buf_append(&sect, s + i, j - i);
		} else {
			if (have)
				mime_charset_to_utf8(pool_strndup(pool, sect_cs, sect_csl), sect.data,
						     sect.len, &out);
			buf_reset(&sect);
			buf_append(&sect, s + i, j - i);
			sect_cs = NULL;
			have = true;
		}
		i = j;
	}
	if (have) {
		if (sect_cs != NULL)
			mime_charset_to_utf8(pool_strndup(pool, sect_cs, sect_csl), sect.data,
					     sect.len, &out);
		else
			buf_append(&out, sect.data, sect.len);
	}
	*len_r = out.len;
	return (char *)buf_cstr(&out);
}

/* A header name's hash, case ignored (FNV-1a over the lower-cased
   bytes): a rule set asks for some three hundred names per message, and
   comparing hashes first keeps each lookup from a strcasecmp per
   field. */
uint32_t sa_name_hash(const char *name)
{
	uint32_t h = 2166136261u;
	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)ascii_lower(*p)) * 16777619u;
	return h;
}

static void hdr_add(struct pool *pool, struct sa_hdr **v, size_t *n, size_t *cap,
		    const char *name, size_t nl, const char *raw, size_t rl)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		*v = pool_realloc(pool, *v, sizeof(**v) * *cap, sizeof(**v) * nc);
		*cap = nc;
	}
	struct sa_hdr *h = &(*v)[(*n)++];
	if (nl > SA_MAX_HEADER_KEY)
		nl = SA_MAX_HEADER_KEY;
	if (rl > SA_MAX_HEADER_VALUE)
		rl = SA_MAX_HEADER_VALUE;
	h->name = pool_strndup(pool, name, nl);
	h->name_hash = sa_name_hash(h->name);
	h->raw = pool_strndup(pool, raw, rl);
	h->raw_len = rl;
	h->dec = sa_decode_header(pool, h->name, raw, rl, &h->dec_len);
}

/*
 * Content-Type as Util::parse_content_type reads it
 */

struct ctype {
	const char *type;
	const char *boundary;
	const char *charset;
	const char *name;
	bool missing;
};

static const char *find_param(struct pool *pool, const char *ct, const char *key, bool fname)
{
	/* \b(?:file)?name\s*=\s*["']?(.*?)["']?(?:;|$) , \bcharset\s*=... */
	size_t kl = strlen(key);
	for (const char *p = ct; (p = strcasestr(p, key)) != NULL; p++) {
		const char *st = p;
		if (fname && p - ct >= 4 && strncasecmp(p - 4, "file", 4) == 0)
			st = p - 4;
		if (st > ct && ((st[-1] >= 'a' && st[-1] <= 'z') || (st[-1] >= 'A' && st[-1] <= 'Z') ||
				(st[-1] >= '0' && st[-1] <= '9') || st[-1] == '_'))
			continue;
		const char *q = p + kl;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q == '"' || *q == '\'')
			q++;
		const char *e = strchr(q, ';');
		if (e == NULL)
			e = q + strlen(q);
		/* (.*?)["']?(?:;|$) : the optional quote before the end is not
		   part of the value; $ also before a final newline */
		while (e > q && (e[-1] == '\n'))
			e--;
		if (e > q && (e[-1] == '"' || e[-1] == '\''))
			e--;
		return pool_strndup(pool, q, (size_t)(e - q));
	}
	return NULL;
}

static void parse_ctype(struct pool *pool, const char *ct_in, struct ctype *r)
{
	const char *ct = ct_in;
	memset(r, 0, sizeof(*r));
	if (ct == NULL || ct[0] == '\0') {
		r->missing = true;
		ct = "text/plain; charset=us-ascii";
	}
	/* \bboundary\s*=\s*("[^"]+|[^\s";]+(?=[\s;]|$)) */
	for (const char *p = ct; (p = strcasestr(p, "boundary")) != NULL; p++) {
		if (p > ct && ((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
			       (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '_'))
			continue;
		const char *q = p + 8;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q == '"') {
			size_t l = strcspn(q + 1, "\"");
			if (l > 0) {
				r->boundary = pool_strndup(pool, q + 1, l);
				break;
			}
		} else {
			size_t l = strcspn(q, " \t\n\r\f\v\";");
			if (l > 0 && (q[l] == '\0' || q[l] == ' ' || q[l] == '\t' || q[l] == '\n' ||
				      q[l] == '\r' || q[l] == ';' || q[l] == '\f' || q[l] == '\v')) {
				r->boundary = pool_strndup(pool, q, l);
				break;
			}
		}
	}
	r->charset = find_param(pool, ct, "charset", false);
	r->name = find_param(pool, ct, "name", true);
	if (r->name == NULL || r->name[0] == '\0') {
		/* name*0= continuations */
		const char *c0 = strcasestr(ct, "name*0");
		if (c0 != NULL) {
			struct buf b;
			buf_init_pool(&b, pool, 0);
			for (int k = 0; k < 32; k++) {
				char key[16];
				snprintf(key, sizeof(key), "name*%d", k);
				const char *v = find_param(pool, ct, key, true);
				if (v == NULL)
					break;
				buf_append_str(&b, v);
			}
			r->name = buf_cstr(&b);
		}
	}
	/* the type: leading space off, up to ';', "x/y" only */
	const char *s = ct;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
		s++;
	size_t l = strcspn(s, ";");
	char *t = pool_strndup(pool, s, l);
	/* ^([^/]+(?:/[^/\s]*)?).*$ */
	char *slash = strchr(t, '/');
	if (slash != NULL) {
		char *e = slash + 1;
		while (*e != '\0' && *e != '/' && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r' &&
		       *e != '\f' && *e != '\v')
			e++;
		*e = '\0';
	}
	str_lcase(t);
	if (t[0] == '\0')
		r->missing = true;
	if (t[0] == '\0' || (strncmp(t, "text", 4) == 0 && !(t[4] >= 'a' && t[4] <= 'z') &&
			     !(t[4] >= '0' && t[4] <= '9') && t[4] != '_' &&
			     strcmp(t, "text/x-vcard") != 0 && strcmp(t, "text/calendar") != 0 &&
			     strcmp(t, "text/html") != 0))
		t = pool_strdup(pool, "text/plain");
	/* strip inappropriate chars */
	char *w = t;
	for (char *p = t; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '(' || c == ')' || c == ',' ||
		    (c >= 0x3a && c <= 0x3f) || c == '@' || (c >= 0x5b && c <= 0x5d))
			continue;
		*w++ = (char)c;
	}
	*w = '\0';
	r->type = t;
}

/* The decoded value of the last field of hdrs[] named name (case
   ignored), its length in *len_r (may be NULL); NULL when none. */
static const char *last_value(const struct sa_hdr *hdrs, size_t n, const char *name,
			      size_t *len_r)
{
	const struct sa_hdr *h = NULL;
	uint32_t hh = sa_name_hash(name);
	for (size_t i = 0; i < n; i++)
		if (hdrs[i].name_hash == hh && strcasecmp(hdrs[i].name, name) == 0)
			h = &hdrs[i];
	if (h == NULL)
		return NULL;
	if (len_r != NULL)
		*len_r = h->dec_len;
	return h->dec;
}

static const char *part_last(const struct sa_part *p, const char *name)
{
	return last_value(p->hdrs, p->n_hdrs, name, NULL);
}

const char *sa_part_header(const struct sa_part *p, const char *name, size_t *len_r)
{
	return last_value(p->hdrs, p->n_hdrs, name, len_r);
}

/*
 * The MIME tree
 */

struct job {
	struct sa_part *part;
	const char *boundary;
	struct lines body;
	int subparse;
};

struct parser {
	struct sa_msg *m;
	struct job *q;
	size_t qh, qn, qcap;
	size_t parts;
};

static void queue(struct parser *ps, struct sa_part *part, const char *boundary,
		  struct lines body, int subparse)
{
	if (ps->qn == ps->qcap) {
		size_t nc = ps->qcap ? ps->qcap * 2 : 16;
		ps->q = pool_realloc(ps->m->pool, ps->q, sizeof(*ps->q) * ps->qcap,
				     sizeof(*ps->q) * nc);
		ps->qcap = nc;
	}
	ps->q[ps->qn].part = part;
	ps->q[ps->qn].boundary = boundary;
	ps->q[ps->qn].body = body;
	ps->q[ps->qn].subparse = subparse;
	ps->qn++;
}

static void add_child(struct sa_part *parent, struct sa_part *child)
{
	child->parent = parent;
	struct sa_part **t = &parent->children;
	while (*t != NULL)
		t = &(*t)->sibling;
	*t = child;
	parent->leaf = false;
}

/* ^--\Qb\E(--)?\s*$ ; 1 delimiter, 2 close delimiter */
static int boundary_line(const struct line *l, const char *b, size_t bl)
{
	if (l->len < bl + 2 || l->p[0] != '-' || l->p[1] != '-' || memcmp(l->p + 2, b, bl) != 0)
		return 0;
	size_t i = bl + 2;
	int kind = 1;
	if (i + 2 <= l->len && l->p[i] == '-' && l->p[i + 1] == '-') {
		/* (--)? is greedy but \s*$ must hold after it */
		size_t j = i + 2;
		bool ok = true;
		for (; j < l->len; j++)
			if (!(l->p[j] == ' ' || l->p[j] == '\t' || l->p[j] == '\n' || l->p[j] == '\r' ||
			      l->p[j] == '\f' || l->p[j] == '\v'))
				ok = false;
		if (ok)
			return 2;
	}
	for (; i < l->len; i++)
		if (!(l->p[i] == ' ' || l->p[i] == '\t' || l->p[i] == '\n' || l->p[i] == '\r' ||
		      l->p[i] == '\f' || l->p[i] == '\v'))
			return 0;
	return kind;
}

/* Headers of a part inside a multipart: split(/:\s*\/, $header, 2) */
static void part_header(struct parser *ps, struct sa_part *p, struct buf *h,
			size_t *cap)
{
	const char *s = h->data;
	size_t len = h->len;
	const char *c = memchr(s, ':', len);
	if (c == NULL)
		return;
	const char *v = c + 1;
	while (v < s + len && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' || *v == '\f' ||
			       *v == '\v'))
		v++;
	hdr_add(ps->m->pool, &p->hdrs, &p->n_hdrs, cap, s, (size_t)(c - s), v,
		(size_t)(s + len - v));
}

static void push_body_line(struct pool *pool, struct lines *a, const char *p, size_t len)
{
	/* lines over 2,048 bytes are cut, each piece with its own "\n" */
	while (len > SA_MAX_BODY_LINE) {
		char *piece = pool_alloc_nz(pool, SA_MAX_BODY_LINE + 1);
		memcpy(piece, p, SA_MAX_BODY_LINE);
		piece[SA_MAX_BODY_LINE] = '\n';
		lines_push(pool, a, piece, SA_MAX_BODY_LINE + 1);
		p += SA_MAX_BODY_LINE;
		len -= SA_MAX_BODY_LINE;
	}
	lines_push(pool, a, p, len);
}

static void parse_multipart(struct parser *ps, struct job *j)
{
	struct pool *pool = ps->m->pool;
	struct sa_msg *m = ps->m;
	const char *b = j->boundary;
	size_t bl = strlen(b);
	struct line *v = j->body.v;
	size_t n = j->body.n, start = 0;
	int subparse = j->subparse - 1;
	bool nested = false;

	j->part->leaf = false;
	/* the preamble goes up to the first "--boundary" line */
	int bstate = 0;
	for (size_t i = 0; i < n; i++) {
		if (boundary_line(&v[i], b, bl) == 1) {
			bstate = 1;
			if (i + 1 < n && !looks_like_field(v[i + 1].p, v[i + 1].len))
				m->missing_mime_headers = true;
			start = i + 1;
			break;
		}
	}

	struct sa_part *part = pool_alloc(pool, sizeof(*part));
	size_t hcap = 0;
	struct buf header;
	buf_init_pool(&header, pool, 0);
	bool have_header = false, in_body = false;
	struct lines arr = { 0 };
	bool arr_set = false;
	size_t remaining = n - start;

	for (size_t i = start; i < n; i++) {
		const struct line *l = &v[i];
		int bk = boundary_line(l, b, bl);
		bool end_b = bk != 0;
		bool last_b = bk == 2;
		if (end_b && nested) {
			end_b = false;
			if (last_b)
				nested = false;
			last_b = false;
		}
		remaining--;
		if (remaining == 0 || end_b) {
			if (!end_b) {
				push_body_line(pool, &arr, l->p, l->len);
				arr_set = true;
			} else if (arr_set && arr.n > 0) {
				/* the line break before the delimiter belongs to it */
				struct line *last = &arr.v[arr.n - 1];
				if (last->len > 0 && last->p[last->len - 1] == '\n')
					last->len--;
				if (last->len == 0)
					arr.n--;
			}
			if (have_header && !in_body)
				part_header(ps, part, &header, &hcap);
			struct ctype ct;
			parse_ctype(pool, part_last(part, "content-type"), &ct);
			part->type = ct.type;
			if (ct.missing && strcmp(j->part->type, "multipart/digest") == 0)
				part->type = "message/rfc822";
			const char *pb = ct.boundary != NULL ? ct.boundary : b;
			queue(ps, part, pb, arr, subparse);
			add_child(j->part, part);
			if (last_b) {
				bstate--;
				break;
			}
			if (remaining > 0 && !looks_like_field(v[i + 1].p, v[i + 1].len))
				m->missing_mime_headers = true;
			if (++ps->parts >= SA_MAX_PARTS) {
				m->mimepart_limit_exceeded = true;
				return;
			}
			part = pool_alloc(pool, sizeof(*part));
			hcap = 0;
			buf_init_pool(&header, pool, 0);
			have_header = false;
			in_body = false;
			memset(&arr, 0, sizeof(arr));
			arr_set = false;
			continue;
		}
		if (!in_body) {
			if (looks_like_field(l->p, l->len)) {
				if (have_header)
					part_header(ps, part, &header, &hcap);
				buf_reset(&header);
				buf_append(&header, l->p, l->len);
				have_header = true;
				continue;
			}
			if (l->len > 0 && (l->p[0] == ' ' || l->p[0] == '\t') && have_header) {
				buf_append(&header, l->p, l->len);
				continue;
			}
			if (have_header) {
				part_header(ps, part, &header, &hcap);
				const char *ctv = part_last(part, "content-type");
				struct ctype ct;
				parse_ctype(pool, ctv, &ct);
				if (ct.boundary != NULL && strcmp(ct.boundary, b) == 0)
					nested = true;
				have_header = false;
			}
			in_body = true;
			/* ^\r?$ : the blank line ends the header */
			if ((l->len == 1 && l->p[0] == '\n') || (l->len == 2 && l->p[0] == '\r' && l->p[1] == '\n') ||
			    l->len == 0 || (l->len == 1 && l->p[0] == '\r'))
				continue;
			m->missing_mime_head_body_separator = true;
		}
		push_body_line(pool, &arr, l->p, l->len);
		arr_set = true;
	}
	if (bstate != 0)
		m->mime_missing_boundary = true;
	/* an epilogue with more than dots and white space */
	for (size_t i = n - remaining; remaining > 0 && i < n; i++) {
		for (size_t k = 0; k < v[i].len; k++) {
			char c = v[i].p[k];
			if (!(c == '.' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
			      c == '\v')) {
				m->mime_epilogue_exists = true;
				return;
			}
		}
	}
}

static void parse_message(struct parser *ps, struct sa_part *node, const char *data,
			  size_t len, int subparse, bool top);

static void parse_normal(struct parser *ps, struct job *j)
{
	struct pool *pool = ps->m->pool;
	struct sa_part *p = j->part;
	struct ctype ct;

	parse_ctype(pool, part_last(p, "content-type"), &ct);
	if (!ct.missing)
		p->type = (strncmp(ct.type, "multipart/", 10) != 0 || j->boundary != NULL) ?
			  ct.type : "text/plain";
	p->charset = ct.charset;
	const char *disp = part_last(p, "content-disposition");
	const char *nm = NULL;
	if (disp != NULL) {
		/* name=\s*"?([^";]+)"? */
		const char *q = strcasestr(disp, "name=");
		if (q != NULL) {
			q += 5;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '"')
				q++;
			size_t l = strcspn(q, "\";");
			if (l > 0)
				nm = pool_strndup(pool, q, l);
		}
	}
	if (nm == NULL && ct.name != NULL && ct.name[0] != '\0')
		nm = ct.name;
	p->name = nm;
	p->leaf = true;
	/* raw body */
	size_t total = 0;
	for (size_t i = 0; i < j->body.n; i++)
		total += j->body.v[i].len;
	char *raw = pool_alloc_nz(pool, total + 1);
	size_t off = 0;
	for (size_t i = 0; i < j->body.n; i++) {
		memcpy(raw + off, j->body.v[i].p, j->body.v[i].len);
		off += j->body.v[i].len;
	}
	raw[off] = '\0';
	p->raw = raw;
	p->raw_len = off;
	const char *cte = part_last(p, "content-transfer-encoding");
	char *c = pool_strdup(pool, cte != NULL ? cte : "");
	str_lcase(c);
	p->cte = c;

	if (strncmp(p->type, "message/", 8) == 0 && strcmp(p->type, "message/partial") != 0 &&
	    j->subparse > 0) {
		size_t dl;
		const char *d = sa_part_decode(ps->m, p, &dl);
		if ((strcmp(p->type, "message/rfc822") == 0 || strcmp(p->type, "message/global") == 0) &&
		    dl > 0) {
			struct sa_part *child = pool_alloc(pool, sizeof(*child));
			add_child(p, child);
			parse_message(ps, child, d, dl, j->subparse - 1, false);
		}
	}
}

/* A message: header per Message->new(), its body queued. */
static void parse_message(struct parser *ps, struct sa_part *node, const char *data,
			  size_t len, int subparse, bool top)
{
	struct sa_msg *m = ps->m;
	struct pool *pool = m->pool;
	struct lines ls = { 0 };
	size_t hcap = 0;
	struct sa_hdr *hdrs = NULL;
	size_t nh = 0;

	split_lines(pool, data, len, &ls);
	size_t i = 0;
	if (ls.n > 0 && ls.v[0].len > 5 && strncmp(ls.v[0].p, "From", 4) == 0 &&
	    (ls.v[0].p[4] == ' ' || ls.v[0].p[4] == '\t')) {
		size_t k = 4;
		while (k < ls.v[0].len && (ls.v[0].p[k] == ' ' || ls.v[0].p[k] == '\t'))
			k++;
		if (k < ls.v[0].len && ls.v[0].p[k] != ':')
			i = 1;
	}
	struct buf header;
	bool have = false;
	int errors = 0;
	bool missing_sep = false;
	buf_init_pool(&header, pool, 0);
	size_t body_start = ls.n;
	for (;;) {
		bool eof = i >= ls.n;
		struct line cur = eof ? (struct line){ "\n", 1 } : ls.v[i];
		if (!eof)
			i++;
		if (cur.len > 0 && (cur.p[0] == ' ' || cur.p[0] == '\t')) {
			buf_append(&header, cur.p, cur.len);
			have = true;
			if (eof)
				break;
			continue;
		}
		if (have) {
			const char *c = memchr(header.data, ':', header.len);
			if (c != NULL) {
				const char *k = header.data;
				size_t kl = (size_t)(c - k);
				while (kl > 0 && (k[kl - 1] == ' ' || k[kl - 1] == '\t'))
					kl--;
				hdr_add(pool, &hdrs, &nh, &hcap, k, kl, c + 1,
					header.len - (size_t)(c + 1 - header.data));
			}
		}
		if (cur.len == 1 && cur.p[0] == '\n') {
			if (eof)
				missing_sep = true;
			body_start = i;
			break;
		}
		if (cur.len >= 2 && cur.p[0] == '-' && cur.p[1] == '-') {
			missing_sep = true;
			body_start = i - 1;
			break;
		}
		if (!looks_like_field(cur.p, cur.len) && ++errors > 3) {
			missing_sep = true;
			body_start = i - 1;
			break;
		}
		buf_reset(&header);
		buf_append(&header, cur.p, cur.len);
		have = true;
	}
	node->hdrs = hdrs;
	node->n_hdrs = nh;
	if (top) {
		m->hdrs = hdrs;
		m->n_hdrs = nh;
		m->missing_head_body_separator = missing_sep;
		m->header_block = data;
		size_t hl = 0;
		for (size_t k = 0; k < body_start && k < ls.n; k++)
			hl += ls.v[k].len;
		m->header_len = hl;
		m->body = data + hl;
		m->body_len = len - hl;
	}
	/* body lines; runs of more than 20 blank lines are cut */
	struct lines body = { 0 };
	for (size_t k = body_start; k < ls.n; k++)
		lines_push(pool, &body, ls.v[k].p, ls.v[k].len);
	{
		struct lines kept = { 0 };
		size_t k = 0;
		while (k < body.n) {
			if (!line_blank(&body.v[k])) {
				lines_push(pool, &kept, body.v[k].p, body.v[k].len);
				k++;
				continue;
			}
			size_t e = k;
			while (e < body.n && line_blank(&body.v[e]))
				e++;
			size_t run = e - k;
			/* SpamAssassin keeps the first line of the run, drops
			   run-20 lines after it, keeps the rest */
			bool at_start = k == 0;
			if (run > SA_MAX_BLANK_LINES && !(at_start && false)) {
				lines_push(pool, &kept, body.v[k].p, body.v[k].len);
				for (size_t x = k + 1 + (run - SA_MAX_BLANK_LINES); x < e; x++)
					lines_push(pool, &kept, body.v[x].p, body.v[x].len);
			} else {
				for (size_t x = k; x < e; x++)
					lines_push(pool, &kept, body.v[x].p, body.v[x].len);
			}
			k = e;
		}
		body = kept;
	}
	struct ctype ct;
	parse_ctype(pool, part_last(node, "content-type"), &ct);
	node->type = ct.type;
	if (strncmp(node->type, "multipart/", 10) == 0 && body.n > 1 && !line_blank(&body.v[0])) {
		if (ct.boundary == NULL ||
		    !(body.v[0].len >= 2 + strlen(ct.boundary) && body.v[0].p[0] == '-' &&
		      body.v[0].p[1] == '-' &&
		      memcmp(body.v[0].p + 2, ct.boundary, strlen(ct.boundary)) == 0)) {
			struct lines nb = { 0 };
			lines_push(pool, &nb, "\n", 1);
			for (size_t k = 0; k < body.n; k++)
				lines_push(pool, &nb, body.v[k].p, body.v[k].len);
			body = nb;
		}
	}
	queue(ps, node, ct.boundary, body, subparse);
}

static void collect_all(struct sa_msg *m, struct sa_part *p, size_t *cap)
{
	if (m->n_all_parts == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		m->all_parts = pool_realloc(m->pool, m->all_parts, sizeof(void *) * *cap,
					    sizeof(void *) * nc);
		*cap = nc;
	}
	m->all_parts[m->n_all_parts++] = p;
	for (struct sa_part *c = p->children; c != NULL; c = c->sibling)
		collect_all(m, c, cap);
}

static void collect_leaves(struct sa_msg *m, struct sa_part *p, struct sa_part ***tail)
{
	if (p->leaf) {
		if (p->type != NULL && p->type[0] != '\0') {
			**tail = p;
			*tail = &p->next;
			m->n_leaves++;
		}
		return;
	}
	for (struct sa_part *c = p->children; c != NULL; c = c->sibling)
		collect_leaves(m, c, tail);
}

struct sa_msg *sa_msg_parse(struct pool *pool, const struct sa_engine *e, const void *data,
			    size_t len, const struct sa_scan_info *info)
{
	struct sa_msg *m = pool_alloc(pool, sizeof(*m));
	struct parser ps = { .m = m };
	const char *d = data;

	m->pool = pool;
	m->e = e;
	m->info = info;
	/* the mbox separator is not part of the message */
	if (len > 5 && memcmp(d, "From ", 5) == 0) {
		const char *nl = memchr(d, '\n', len);
		size_t k = 5;
		while (k < len && (d[k] == ' ' || d[k] == '\t'))
			k++;
		if (k < len && d[k] != ':') {
			size_t skip = nl != NULL ? (size_t)(nl - d) + 1 : len;
			d += skip;
			len -= skip;
		}
	}
	m->data = d;
	m->len = len;
	/* CRLF: squashed to LF for everything but full rules */
	const char *nl = memchr(d, '\n', len);
	if (nl != NULL && nl > d && nl[-1] == '\r')
		m->crlf = true;
	else if (len >= 2 && d[len - 1] == '\n' && d[len - 2] == '\r')
		m->crlf = true;
	const char *norm = d;
	size_t nlen = len;
	if (m->crlf) {
		char *c = pool_alloc_nz(pool, len + 1);
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			if (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n')
				continue;
			c[o++] = d[i];
		}
		c[o] = '\0';
		norm = c;
		nlen = o;
	}
	m->get_cache = hash_create(64);
	m->root = pool_alloc(pool, sizeof(*m->root));
	parse_message(&ps, m->root, norm, nlen, SA_SUBPARSE, true);
	while (ps.qh < ps.qn) {
		struct job j = ps.q[ps.qh++];
		if (strncmp(j.part->type, "multipart/", 10) == 0 && j.boundary != NULL &&
		    j.subparse > 0)
			parse_multipart(&ps, &j);
		else
			parse_normal(&ps, &j);
		if (m->mimepart_limit_exceeded)
			break;
	}
	struct sa_part **tail = &m->leaves;
	collect_leaves(m, m->root, &tail);
	size_t cap = 0;
	collect_all(m, m->root, &cap);
	m->pristine_body_length = m->body_len;
	return m;
}


/*
 * Decoding and rendering
 */

const char *sa_part_decode(struct sa_msg *m, struct sa_part *p, size_t *len_r)
{
	if (p->decoded_done) {
		*len_r = p->decoded_len;
		return p->decoded;
	}
	p->decoded_done = true;
	if (p->raw == NULL) {
		p->decoded = "";
		p->decoded_len = 0;
		*len_r = 0;
		return p->decoded;
	}
	struct buf out;
	buf_init_pool(&out, m->pool, 0);
	bool crlf_fix = false;
	if (strcmp(p->cte, "quoted-printable") == 0) {
		qp_decode(&out, p->raw, p->raw_len);
		crlf_fix = true;
	} else if (strcmp(p->cte, "base64") == 0) {
		base64_decode(m->pool, &out, p->raw, p->raw_len);
		crlf_fix = strncasecmp(p->type, "text/", 5) == 0 ||
			   strncasecmp(p->type, "message/", 8) == 0;
	} else {
		p->decoded = p->raw;
		p->decoded_len = p->raw_len;
		*len_r = p->decoded_len;
		return p->decoded;
	}
	if (crlf_fix && out.len > 0 && memchr(out.data, '\r', out.len) != NULL) {
		size_t o = 0;
		for (size_t i = 0; i < out.len; i++) {
			if (out.data[i] == '\r' && i + 1 < out.len && out.data[i + 1] == '\n')
				continue;
			out.data[o++] = out.data[i];
		}
		buf_truncate(&out, o);
	}
	p->decoded = buf_cstr(&out);
	p->decoded_len = out.len;
	*len_r = out.len;
	return p->decoded;
}

static const char *effective_type(const struct sa_part *p)
{
	if (p->name != NULL) {
		size_t l = strlen(p->name);
		/* \.s?html?$ */
		const char *n = p->name;
		if ((l >= 4 && strcasecmp(n + l - 4, ".htm") == 0) ||
		    (l >= 5 && (strcasecmp(n + l - 5, ".html") == 0 || strcasecmp(n + l - 5, ".shtm") == 0)) ||
		    (l >= 6 && strcasecmp(n + l - 6, ".shtml") == 0))
			return "text/html";
	}
	return p->type;
}

static bool has_non_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

static size_t space_at(const char *s, size_t i, size_t len, bool uni);

void sa_part_render(struct sa_msg *m, struct sa_part *p)
{
	if (p->rendered_done)
		return;
	p->rendered_done = true;
	const char *type = effective_type(p);
	if (strcmp(type, "text/plain") != 0 && strcmp(type, "text/html") != 0)
		return;
	size_t len;
	const char *text = sa_part_decode(m, p, &len);
	const char *cs = p->charset != NULL ? p->charset : "us-ascii";
	bool chars = (strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "utf-8") == 0) &&
		     has_non_ascii(text, len) && mime_charset_is_valid_utf8(text, len);
	p->rendered_chars = chars;
	if (len > 0 && strcmp(type, "text/html") == 0) {
		struct mime_html_result *r = pool_alloc(m->pool, sizeof(*r));
		mime_html_render(m->pool, text, len, chars, r);
		p->html = r;
		p->rendered = r->text;
		p->rendered_len = r->text_len;
		/* html_length and non_space_len count characters when the text
		   was decoded as UTF-8, bytes otherwise */
		size_t hl = 0, sp = 0;
		for (size_t i = 0; i < r->text_len;) {
			unsigned char c = (unsigned char)r->text[i];
			size_t w = 1;
			if (chars) {
				size_t us = space_at(r->text, i, r->text_len, true);
				if (us > 0) {
					sp++;
					w = us;
				} else if (c >= 0xf0) {
					w = 4;
				} else if (c >= 0xe0) {
					w = 3;
				} else if (c >= 0xc0) {
					w = 2;
				}
			} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b) {
				sp++;
			}
			hl++;
			i += w;
		}
		p->html_non_space = (double)hl - (double)sp;
		p->html_ratio = len > 0 ? ((double)len - (double)hl) / (double)len : 0;
		return;
	}
	p->rendered = text;
	p->rendered_len = len;
}

/* Perl's \s for the joined text: ASCII, or Unicode spaces when the
   text is characters. */
static size_t space_at(const char *s, size_t i, size_t len, bool uni)
{
	unsigned char c = (unsigned char)s[i];
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
		return 1;
	if (!uni || c < 0xc2)
		return 0;
	unsigned char c1 = i + 1 < len ? (unsigned char)s[i + 1] : 0;
	unsigned char c2 = i + 2 < len ? (unsigned char)s[i + 2] : 0;
	if (c == 0xc2 && (c1 == 0x85 || c1 == 0xa0))
		return 2;
	if (c == 0xe1 && c1 == 0x9a && c2 == 0x80)
		return 3;
	if (c == 0xe2 && c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8a) || c2 == 0xa8 || c2 == 0xa9 ||
					c2 == 0xaf))
		return 3;
	if (c == 0xe2 && c1 == 0x81 && c2 == 0x9f)
		return 3;
	if (c == 0xe3 && c1 == 0x80 && c2 == 0x80)
		return 3;
	return 0;
}

/* body_part_scan_size: cut at a line end (or space) past the limit */
static size_t scan_cut(const char *s, size_t len, size_t limit, const char *seps)
{
	if (limit == 0 || len <= limit)
		return len;
	for (const char *c = seps; *c != '\0'; c++) {
		const char *f = memchr(s + limit, *c, len - limit);
		if (f != NULL && (size_t)(f - s) - limit <= 1024)
			return (size_t)(f - s) + 1;
	}
	return limit;
}

static void add_line(struct sa_msg *m, struct lines *out, const char *p, size_t len)
{
	(void)m;
	while (len > SA_MAX_BODY_LINE) {
		/* rindex($line, ' ', 2048) + 1, or 2048 */
		size_t cut = 0;
		for (size_t k = SA_MAX_BODY_LINE + 1; k-- > 0;)
			if (k < len && p[k] == ' ') {
				cut = k + 1;
				break;
			}
		if (cut == 0)
			cut = SA_MAX_BODY_LINE;
		lines_push(m->pool, out, p, cut);
		p += cut;
		len -= cut;
	}
	lines_push(m->pool, out, p, len);
}

void sa_msg_body(struct sa_msg *m)
{
	if (m->body_done)
		return;
	m->body_done = true;
	struct buf text;
	bool uni = false;
	buf_init_pool(&text, m->pool, 0);
	for (struct sa_part *p = m->leaves; p != NULL; p = p->next) {
		sa_part_render(m, p);
		if (p->rendered != NULL && p->rendered_chars)
			uni = true;
	}
	for (struct sa_part *p = m->leaves; p != NULL; p = p->next) {
		if (text.len > 0)
			buf_append_c(&text, '\n');
		if (p->rendered == NULL)
			continue;
		size_t l = scan_cut(p->rendered, p->rendered_len, SA_BODY_PART_SCAN_SIZE, "\n ");
		if (uni && !p->rendered_chars && has_non_ascii(p->rendered, l)) {
			/* a byte string joined to characters is read as Latin-1 */
			for (size_t i = 0; i < l; i++) {
				unsigned char c = (unsigned char)p->rendered[i];
				if (c < 0x80)
					buf_append_c(&text, (char)c);
				else
					buf_append_utf8(&text, c);
			}
		} else {
			buf_append(&text, p->rendered, l);
		}
		if (p->html != NULL) {
			m->htmls = pool_realloc(m->pool, m->htmls, sizeof(void *) * m->n_htmls,
						sizeof(void *) * (m->n_htmls + 1));
			m->htmls[m->n_htmls++] = p->html;
		}
	}
	/* s/\n+\s*\n+/\0/gs; s/\s+/ /gs; tr/\0/\n/ */
	struct buf norm;
	buf_init_pool(&norm, m->pool, text.len + 1);
	const char *t = text.data != NULL ? text.data : "";
	for (size_t i = 0; i < text.len;) {
		size_t w = space_at(t, i, text.len, uni);
		if (w == 0) {
			buf_append_c(&norm, t[i]);
			i++;
			continue;
		}
		size_t s = i, first_nl = (size_t)-1, last_nl = (size_t)-1;
		while (i < text.len && (w = space_at(t, i, text.len, uni)) > 0) {
			if (t[i] == '\n') {
				if (first_nl == (size_t)-1)
					first_nl = i;
				last_nl = i;
			}
			i += w;
		}
		if (first_nl != (size_t)-1 && last_nl != first_nl) {
			if (first_nl > s)
				buf_append_c(&norm, ' ');
			buf_append_c(&norm, '\n');
			if (last_nl + 1 < i)
				buf_append_c(&norm, ' ');
		} else {
			buf_append_c(&norm, ' ');
		}
	}
	size_t sl = 0;
	const char *subj = sa_msg_header(m, "Subject", &sl);
	struct buf all;
	buf_init_pool(&all, m->pool, norm.len + sl + 2);
	if (subj != NULL) {
		buf_append(&all, subj, sl);
	}
	buf_append_c(&all, '\n');
	buf_append(&all, norm.data, norm.len);
	struct lines out = { 0 };
	const char *a = all.data;
	size_t al = all.len;
	for (size_t i = 0; i < al;) {
		const char *nl = memchr(a + i, '\n', al - i);
		size_t e = nl != NULL ? (size_t)(nl - a) + 1 : al;
		add_line(m, &out, a + i, e - i);
		i = e;
	}
	m->body_lines = pool_alloc(m->pool, sizeof(char *) * (out.n + 1));
	m->body_lens = pool_alloc(m->pool, sizeof(size_t) * (out.n + 1));
	for (size_t i = 0; i < out.n; i++) {
		m->body_lines[i] = out.v[i].p;
		m->body_lens[i] = out.v[i].len;
	}
	m->n_body = out.n;
	m->body_all = a;
	m->body_all_len = al;
}

void sa_msg_rawbody(struct sa_msg *m)
{
	if (m->raw_done)
		return;
	m->raw_done = true;
	struct lines out = { 0 };
	struct buf all;
	buf_init_pool(&all, m->pool, 0);
	for (struct sa_part *p = m->leaves; p != NULL; p = p->next) {
		const char *et = effective_type(p);
		if (!(strncmp(et, "text", 4) == 0 || strncmp(et, "message", 7) == 0))
			continue;
		/* ^(?:text|message)\b */
		char c = strncmp(et, "text", 4) == 0 ? et[4] : et[7];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
			continue;
		if (strcmp(p->type, "text/calendar") == 0)
			continue;
		size_t len;
		const char *d = sa_part_decode(m, p, &len);
		len = scan_cut(d, len, SA_RAWBODY_PART_SCAN_SIZE, "\n> ");
		/* split_into_array_of_short_paragraphs */
		if (len <= SA_MAX_BODY_LINE) {
			lines_push(m->pool, &out, d, len);
		} else {
			size_t ofs = 0;
			const size_t L = SA_MAX_BODY_LINE;
			while (len - ofs > 2 * L) {
				const char *f;
				size_t j = (size_t)-1;
				const char *seps = "\n> ";
				for (const char *sp = seps; *sp != '\0'; sp++) {
					f = memchr(d + ofs + L, *sp, len - ofs - L);
					if (f != NULL && (size_t)(f - d) - ofs + 1 <= 2 * L) {
						j = (size_t)(f - d);
						break;
					}
				}
				if (j == (size_t)-1)
					j = ofs + L;
				lines_push(m->pool, &out, d + ofs, j - ofs + 1);
				ofs = j + 1;
			}
			if (ofs < len)
				lines_push(m->pool, &out, d + ofs, len - ofs);
		}
		buf_append(&all, d, len);
		buf_append_c(&all, '\n');
	}
	m->raw_lines = pool_alloc(m->pool, sizeof(char *) * (out.n + 1));
	m->raw_lens = pool_alloc(m->pool, sizeof(size_t) * (out.n + 1));
	for (size_t i = 0; i < out.n; i++) {
		m->raw_lines[i] = out.v[i].p;
		m->raw_lens[i] = out.v[i].len;
	}
	m->n_raw = out.n;
	m->raw_all = buf_cstr(&all);
	m->raw_all_len = all.len;
}

/*
 * Headers: get()
 */

const char *sa_msg_header(struct sa_msg *m, const char *name, size_t *len_r)
{
	return last_value(m->hdrs, m->n_hdrs, name, len_r);
}

struct vlist {
	const char **v;
	size_t *l;
	size_t n, cap;
};

static void vl_add(struct pool *pool, struct vlist *vl, const char *s, size_t len)
{
	if (vl->n == vl->cap) {
		size_t nc = vl->cap ? vl->cap * 2 : 8;
		vl->v = pool_realloc(pool, vl->v, sizeof(char *) * vl->cap, sizeof(char *) * nc);
		vl->l = pool_realloc(pool, vl->l, sizeof(size_t) * vl->cap, sizeof(size_t) * nc);
		vl->cap = nc;
	}
	vl->v[vl->n] = s;
	vl->l[vl->n] = len;
	vl->n++;
}

/* get_header($name, $raw) in list context: decoded values + "\n", or
   raw values unfolded */
static void header_values(struct sa_msg *m, const char *name, bool raw, bool unfold,
			  struct vlist *out)
{
	uint32_t hh = sa_name_hash(name);
	for (size_t i = 0; i < m->n_hdrs; i++) {
		const struct sa_hdr *h = &m->hdrs[i];
		if (h->name_hash != hh || strcasecmp(h->name, name) != 0)
			continue;
		if (raw) {
			if (!unfold) {
				vl_add(m->pool, out, h->raw, h->raw_len);
				continue;
			}
			/* s/\015?\012\s+/ /gs */
			struct buf b;
			buf_init_pool(&b, m->pool, h->raw_len + 1);
			for (size_t k = 0; k < h->raw_len; k++) {
				const char *r = h->raw;
				size_t z = k;
				if (r[z] == '\r' && z + 1 < h->raw_len && r[z + 1] == '\n')
					z++;
				if (r[z] == '\n' && z + 1 < h->raw_len &&
				    (r[z + 1] == ' ' || r[z + 1] == '\t' || r[z + 1] == '\n' ||
				     r[z + 1] == '\r' || r[z + 1] == '\f' || r[z + 1] == '\v')) {
					z++;
					while (z < h->raw_len && (r[z] == ' ' || r[z] == '\t' || r[z] == '\n' ||
								  r[z] == '\r' || r[z] == '\f' || r[z] == '\v'))
						z++;
					buf_append_c(&b, ' ');
					k = z - 1;
					continue;
				}
				buf_append_c(&b, r[k]);
			}
			vl_add(m->pool, out, buf_cstr(&b), b.len);
		} else {
			char *s = pool_alloc_nz(m->pool, h->dec_len + 2);
			memcpy(s, h->dec, h->dec_len);
			s[h->dec_len] = '\n';
			s[h->dec_len + 1] = '\0';
			vl_add(m->pool, out, s, h->dec_len + 1);
		}
	}
}

static char *decode_phrase(struct pool *pool, const char *p)
{
	size_t l;
	char *d = sa_decode_header(pool, "x", p, strlen(p), &l);
	bool nonspace = false;
	for (size_t i = 0; i < l; i++)
		if (!(d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r' || d[i] == '\f' ||
		      d[i] == '\v'))
			nonspace = true;
	if (!nonspace)
		return d;
	struct buf b;
	buf_init_pool(&b, pool, l + 1);
	for (size_t i = 0; i < l; i++) {
		bool ws = d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r' || d[i] == '\f' ||
			  d[i] == '\v';
		if (ws) {
			while (i + 1 < l && (d[i + 1] == ' ' || d[i + 1] == '\t' || d[i + 1] == '\n' ||
					     d[i + 1] == '\r' || d[i + 1] == '\f' || d[i + 1] == '\v'))
				i++;
			buf_append_c(&b, ' ');
		} else {
			buf_append_c(&b, d[i]);
		}
	}
	char *s = str_trim((char *)buf_cstr(&b));
	size_t sl = strlen(s);
	if (sl >= 2 && s[0] == '\'' && s[sl - 1] == '\'') {
		/* s/^'(.*?)'$/$1/ */
		s[sl - 1] = '\0';
		s++;
	}
	return s;
}

static struct sa_hval *compute(struct sa_msg *m, const char *request)
{
	struct pool *pool = m->pool;
	struct sa_hval *hv = pool_alloc(pool, sizeof(*hv));
	struct vlist vl = { 0 };
	unsigned mods = 0;
	char *name = pool_strdup(pool, request);
	char *c = strchr(name, ':');
	if (c != NULL) {
		char *mp = c;
		*c = '\0';
		while (mp != NULL) {
			char *mod = mp + 1;
			mp = strchr(mod, ':');
			if (mp != NULL)
				*mp = '\0';
			if (strcmp(mod, "raw") == 0)
				mods |= SA_HM_RAW;
			else if (strcmp(mod, "addr") == 0)
				mods |= SA_HM_ADDR;
			else if (strcmp(mod, "name") == 0)
				mods |= SA_HM_NAME;
			else if (strcmp(mod, "host") == 0)
				mods |= SA_HM_HOST;
			else if (strcmp(mod, "domain") == 0)
				mods |= SA_HM_HOST | SA_HM_DOMAIN;
			else if (strcmp(mod, "ip") == 0)
				mods |= SA_HM_IP;
			else if (strcmp(mod, "revip") == 0)
				mods |= SA_HM_IP | SA_HM_REVIP;
			else if (strcmp(mod, "first") == 0)
				mods |= SA_HM_FIRST;
			else if (strcmp(mod, "last") == 0)
				mods |= SA_HM_LAST;
		}
	}
	bool raw = (mods & SA_HM_RAW) != 0;
	bool needraw = (mods & (SA_HM_ADDR | SA_HM_NAME)) != 0;

	if (strcmp(name, "ALL-TRUSTED") == 0 || strcmp(name, "ALL-INTERNAL") == 0 ||
	    strcmp(name, "ALL-UNTRUSTED") == 0 || strcmp(name, "ALL-EXTERNAL") == 0) {
		/* get_all_hdrs_in_rcvd_index_range(): the fields up to and with
		   the last trusted Received, or from the first untrusted on */
		sa_msg_relays(m);
		long last = name[4] == 'T' || name[4] == 'I' ? m->last_trusted_idx : m->last_internal_idx;
		bool upto = name[4] == 'T' || name[4] == 'I';
		long start = upto ? -1 : last + 1, end = upto ? last + 1 : -1;
		long cur = -1;
		if (upto && end < 0)
			goto done;
		for (size_t i = 0; i < m->n_hdrs; i++) {
			const struct sa_hdr *h = &m->hdrs[i];
			if (strcasecmp(h->name, "Received") == 0)
				cur++;
			const char *line;
			if (raw)
				line = pool_printf(pool, "%s:%s", h->name, h->raw);
			else
				line = pool_printf(pool, "%s: %.*s\n", h->name, (int)h->dec_len, h->dec);
			if ((!upto && start <= cur) || (upto && cur < end)) {
				vl_add(pool, &vl, line, strlen(line));
			} else if (upto && cur == end) {
				vl_add(pool, &vl, line, strlen(line));
				break;
			}
		}
		goto done;
	}
	if (strcmp(name, "ALL") == 0) {
		if (raw) {
			/* the pristine header, one (folded) field per value */
			const char *s = m->header_block;
			size_t len = m->header_len;
			size_t i = 0;
			while (i < len) {
				size_t st = i;
				for (;;) {
					const char *nl = memchr(s + i, '\n', len - i);
					i = nl != NULL ? (size_t)(nl - s) + 1 : len;
					if (i >= len || !(s[i] == ' ' || s[i] == '\t'))
						break;
				}
				if (s[st] == ' ' || s[st] == '\t')
					continue;
				if (i - st == 1 && s[st] == '\n')
					continue;
				vl_add(pool, &vl, s + st, i - st);
			}
		} else {
			size_t total = 0;
			for (size_t i = 0; i < m->n_hdrs; i++) {
				const struct sa_hdr *h = &m->hdrs[i];
				total += strlen(h->name) + h->dec_len + 3;
				if (total > SA_MAX_HEADER_LENGTH)
					break;
				char *s = pool_printf(pool, "%s: %.*s\n", h->name, (int)h->dec_len, h->dec);
				vl_add(pool, &vl, s, strlen(s));
			}
		}
		goto done;
	}
	if (strcasecmp(name, "EnvelopeFrom") == 0) {
		const char *ef = sa_msg_envelope_from(m);
		if (ef != NULL)
			vl_add(pool, &vl, ef, strlen(ef));
	} else if (strncasecmp(name, "X-Spam-Relays-", 14) == 0) {
		sa_msg_relays(m);
		const char *r = NULL, *k = name + 14;
		if (strcasecmp(k, "Untrusted") == 0)
			r = m->relays_untrusted_str;
		else if (strcasecmp(k, "Trusted") == 0)
			r = m->relays_trusted_str;
		else if (strcasecmp(k, "External") == 0)
			r = m->relays_external_str;
		else if (strcasecmp(k, "Internal") == 0)
			r = m->relays_internal_str;
		if (r != NULL)
			vl_add(pool, &vl, r, strlen(r));
		else
			header_values(m, name, raw || needraw, false, &vl);
	} else if (strcasecmp(name, "ToCc") == 0) {
		header_values(m, "To", raw, true, &vl);
		header_values(m, "Cc", raw, true, &vl);
	} else if (strcmp(name, "MESSAGEID") == 0) {
		struct vlist t = { 0 };
		header_values(m, "X-Message-Id", raw, true, &t);
		header_values(m, "Resent-Message-Id", raw, true, &t);
		header_values(m, "X-Original-Message-ID", raw, true, &t);
		header_values(m, "Message-Id", raw, true, &t);
		for (size_t i = 0; i < t.n; i++)
			if (t.l[i] > 0)
				vl_add(pool, &vl, t.v[i], t.l[i]);
	} else {
		header_values(m, name, raw || needraw, false, &vl);
	}
	if (vl.n == 0)
		goto done;
	if (mods & SA_HM_FIRST) {
		vl.n = 1;
	} else if (mods & SA_HM_LAST) {
		vl.v[0] = vl.v[vl.n - 1];
		vl.l[0] = vl.l[vl.n - 1];
		vl.n = 1;
	}
	if (needraw) {
		struct vlist r = { 0 };
		for (size_t i = 0; i < vl.n; i++) {
			struct sa_addr *a;
			size_t na = sa_parse_addresses(pool, vl.v[i], vl.l[i], &a);
			for (size_t k = 0; k < na; k++) {
				if (mods & SA_HM_ADDR) {
					if (a[k].address != NULL)
						vl_add(pool, &r, a[k].address, strlen(a[k].address));
				} else if (a[k].phrase != NULL) {
					const char *ph = raw ? a[k].phrase : decode_phrase(pool, a[k].phrase);
					vl_add(pool, &r, ph, strlen(ph));
				}
			}
		}
		vl = r;
	}
	if (vl.n > 0 && (mods & (SA_HM_HOST | SA_HM_IP))) {
		struct vlist r = { 0 };
		for (size_t i = 0; i < vl.n; i++) {
			const char *v = pool_strndup(pool, vl.v[i], vl.l[i]);
			if (mods & SA_HM_HOST) {
				const char *host = NULL;
				const char *at = strrchr(v, '@');
				if (at != NULL && (mods & SA_HM_ADDR)) {
					host = at + 1;
				} else {
					const char *hs = at != NULL ? at + 1 : v;
					size_t hl = strcspn(hs, " \t\n\r>;,)");
					char *cand = pool_strndup(pool, hs, hl);
					if (sa_is_fqdn_valid(m->e, cand, hl))
						host = cand;
				}
				if (host != NULL) {
					if (mods & SA_HM_DOMAIN)
						host = sa_trim_domain(m->e, pool, host);
					vl_add(pool, &r, host, strlen(host));
				}
			} else {
				/* the first dotted quad */
				for (const char *p = v; *p != '\0'; p++) {
					if (!(*p >= '0' && *p <= '9') || (p > v && (p[-1] == '.' ||
								     (p[-1] >= '0' && p[-1] <= '9'))))
						continue;
					unsigned a, b, cc, d;
					int n = 0;
					if (sscanf(p, "%3u.%3u.%3u.%3u%n", &a, &b, &cc, &d, &n) == 4 && a < 256 &&
					    b < 256 && cc < 256 && d < 256 && p[n] != '.') {
						const char *ip = (mods & SA_HM_REVIP) ?
								 pool_printf(pool, "%u.%u.%u.%u", d, cc, b, a) :
								 pool_strndup(pool, p, (size_t)n);
						vl_add(pool, &r, ip, strlen(ip));
						break;
					}
				}
			}
		}
		vl = r;
	}
done:
	hv->vals = vl.v;
	hv->lens = vl.l;
	hv->n = vl.n;
	if (vl.n == 0) {
		hv->joined = NULL;
		hv->joined_len = 0;
		return hv;
	}
	/* join($harr[0] =~ /\n\z/ ? "" : "\n", @harr) */
	bool nl = vl.l[0] > 0 && vl.v[0][vl.l[0] - 1] == '\n';
	size_t total = 0;
	for (size_t i = 0; i < vl.n; i++)
		total += vl.l[i] + 1;
	char *j = pool_alloc_nz(pool, total + 1);
	size_t o = 0;
	for (size_t i = 0; i < vl.n; i++) {
		if (i > 0 && !nl)
			j[o++] = '\n';
		memcpy(j + o, vl.v[i], vl.l[i]);
		o += vl.l[i];
	}
	j[o] = '\0';
	hv->joined = j;
	hv->joined_len = o;
	return hv;
}

const char *sa_get(struct sa_msg *m, const char *request, bool *present_r)
{
	const struct sa_hval *v = sa_msg_get(m, request);
	if (present_r != NULL)
		*present_r = v->n > 0;
	if (v->n == 0)
		return "";
	const char *c = strrchr(request, ':');
	bool first = strcasecmp(request, "EnvelopeFrom") == 0;
	for (const char *q = strchr(request, ':'); q != NULL; q = strchr(q + 1, ':'))
		if (strncmp(q, ":addr", 5) == 0 || strncmp(q, ":name", 5) == 0 ||
		    strncmp(q, ":host", 5) == 0 || strncmp(q, ":domain", 7) == 0 ||
		    strncmp(q, ":ip", 3) == 0 || strncmp(q, ":revip", 6) == 0)
			first = true;
	(void)c;
	if (first) {
		size_t l = v->lens[0];
		if (l > 0 && v->vals[0][l - 1] == '\n')
			l--;
		return pool_strndup(m->pool, v->vals[0], l);
	}
	if (v->n == 1)
		return pool_strndup(m->pool, v->vals[0], v->lens[0]);
	struct buf b;
	buf_init_pool(&b, m->pool, 0);
	for (size_t i = 0; i < v->n; i++)
		buf_append(&b, v->vals[i], v->lens[i]);
	return buf_cstr(&b);
}

const struct sa_hval *sa_msg_get(struct sa_msg *m, const char *request)
{
	struct sa_hval *hv = hash_get_str(m->get_cache, request);
	if (hv != NULL)
		return hv;
	hv = compute(m, request);
	hash_put(m->get_cache, request, strlen(request), hv);
	return hv;
}

/* get_envelope_from(): the relay's envelope sender, X-Envelope-From,
   Envelope-Sender, Return-Path (when above every Received). */
const char *sa_msg_envelope_from(struct sa_msg *m)
{
	if (m->envelope_from_done)
		return m->envelope_from;
	m->envelope_from_done = true;
	sa_msg_relays(m);
	const struct sa_relay *hop = NULL;
	if (m->n_relays > m->n_trusted)
		hop = &m->relays[m->n_trusted];
	else if (m->n_trusted > 0)
		hop = &m->relays[m->n_trusted - 1];
	if (hop != NULL && hop->envfrom != NULL &&
	    (hop->envfrom[0] == '\0' || (strchr(hop->envfrom, '@') != NULL && hop->envfrom[0] != '@'))) {
		m->envelope_from = hop->envfrom;
		return m->envelope_from;
	}
	const struct sa_hval *xs = sa_msg_get(m, "X-Sender:first:addr");
	if (xs->n > 0 && memchr(xs->vals[0], '@', xs->lens[0]) != NULL) {
		const struct sa_hval *rc = sa_msg_get(m, "Received");
		for (size_t i = 0; i < rc->n; i++)
			if (memmem(rc->vals[i], rc->lens[i], "(fetchmail", 10) != NULL)
				return NULL;
	}
	static const char *const hdrs[] = { "X-Envelope-From", "Envelope-Sender", "Return-Path" };
	for (size_t k = 0; k < N_ELEMENTS(hdrs); k++) {
		char req[64];
		snprintf(req, sizeof(req), "%s:first:addr", hdrs[k]);
		const struct sa_hval *v = sa_msg_get(m, req);
		if (v->n == 0)
			continue;
		/* ^Received:.*?^X-Envelope-From: in ALL: a Received above it */
		bool after = false, seen_rcvd = false;
		for (size_t i = 0; i < m->n_hdrs; i++) {
			if (strcasecmp(m->hdrs[i].name, "Received") == 0)
				seen_rcvd = true;
			else if (strcasecmp(m->hdrs[i].name, hdrs[k]) == 0) {
				after = seen_rcvd;
				break;
			}
		}
		if (after) {
			if (k == 0)
				return NULL;
			continue;
		}
		m->envelope_from = pool_strndup(m->pool, v->vals[0], v->lens[0]);
		return m->envelope_from;
	}
	if (m->info != NULL && m->info->envelope_from != NULL)
		m->envelope_from = m->info->envelope_from;
	return m->envelope_from;
}

void sa_msg_relays(struct sa_msg *m)
{
	if (m->relays_done)
		return;
	m->relays_done = true;
	sa_received_parse(m);
}

/*
 * URIs
 */

static bool tld_cb(void *ctx, const char *tld, size_t len)
{
	return sa_is_tld(ctx, tld, len);
}

static const char *redirect_cb(void *ctx, struct pool *pool, const char *uri)
{
	const struct sa_engine *e = ctx;
	for (size_t i = 0; i < e->n_redirectors; i++) {
		size_t ov[4];
		if (sa_pcre_match(e->redirectors[i], uri, strlen(uri), 0, ov, 2) &&
		    ov[2] != PCRE2_UNSET) {
			const char *t = pool_strndup(pool, uri + ov[2], ov[3] - ov[2]);
			if (strchr(t, '.') != NULL)
				return t;
		}
	}
	return NULL;
}

static bool domain_valid_cb(void *ctx, const char *host)
{
	const struct sa_engine *e = ctx;
	if (strpbrk(host, " \t\r\n\f\v") != NULL)
		return false;
	const char *dot = strrchr(host, '.');
	return dot != NULL && sa_is_tld(e, dot + 1, strlen(dot + 1));
}

static void add_uri(struct sa_msg *m, const char *raw, unsigned types, unsigned html_tags,
		    bool valid_domain, const char *const *anchors, size_t n_anchors)
{
	const char **cl;
	size_t n = mime_uri_canonicalize(m->pool, raw, redirect_cb, domain_valid_cb,
					 (void *)m->e, &cl);
	if (n == 0)
		return;
	const char **doms = pool_alloc(m->pool, sizeof(char *) * (n + 1));
	const char **hosts = pool_alloc(m->pool, sizeof(char *) * (n + 1));
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (strlen(cl[i]) > SA_MAX_URI_LENGTH)
			cl[i] = pool_strndup(m->pool, cl[i], SA_MAX_URI_LENGTH);
		const char *host;
		const char *d = sa_uri_to_domain(m->e, m->pool, cl[i], &host);
		if (d != NULL) {
			doms[nd] = d;
			hosts[nd++] = host;
		}
	}
	if (valid_domain && nd == 0)
		return;
	void *idx = hash_get_str(m->uri_index, raw);
	struct sa_uri *u;
	if (idx != NULL) {
		u = &m->uris[(uintptr_t)idx - 1];
	} else {
		if (m->n_uris == m->cap_uris) {
			size_t nc = m->cap_uris ? m->cap_uris * 2 : 16;
			m->uris = pool_realloc(m->pool, m->uris, sizeof(*m->uris) * m->cap_uris,
					       sizeof(*m->uris) * nc);
			m->cap_uris = nc;
		}
		u = &m->uris[m->n_uris++];
		memset(u, 0, sizeof(*u));
		u->raw = pool_strdup(m->pool, raw);
		hash_put(m->uri_index, raw, strlen(raw), (void *)(uintptr_t)m->n_uris);
	}
	/* merge cleaned, domains, hosts */
	const char **nc = pool_alloc(m->pool, sizeof(char *) * (u->n_cleaned + n));
	size_t k = 0;
	for (size_t i = 0; i < u->n_cleaned; i++)
		nc[k++] = u->cleaned[i];
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t x = 0; x < k; x++)
			if (strcmp(nc[x], cl[i]) == 0)
				dup = true;
		if (!dup)
			nc[k++] = cl[i];
	}
	u->cleaned = nc;
	u->n_cleaned = k;
	const char **nd2 = pool_alloc(m->pool, sizeof(char *) * (u->n_domains + nd));
	const char **nh2 = pool_alloc(m->pool, sizeof(char *) * (u->n_hosts + nd));
	size_t kd = 0, kh = 0;
	for (size_t i = 0; i < u->n_domains; i++)
		nd2[kd++] = u->domains[i];
	for (size_t i = 0; i < u->n_hosts; i++)
		nh2[kh++] = u->hosts[i];
	for (size_t i = 0; i < nd; i++) {
		bool dup = false;
		for (size_t x = 0; x < kd; x++)
			if (strcmp(nd2[x], doms[i]) == 0)
				dup = true;
		if (!dup)
			nd2[kd++] = doms[i];
		dup = false;
		for (size_t x = 0; x < kh; x++)
			if (strcmp(nh2[x], hosts[i]) == 0)
				dup = true;
		if (!dup)
			nh2[kh++] = hosts[i];
	}
	u->domains = nd2;
	u->n_domains = kd;
	u->hosts = nh2;
	u->n_hosts = kh;
	u->types |= types;
	u->html_tags |= html_tags;
	if (n_anchors > 0) {
		const char **na = pool_alloc(m->pool, sizeof(char *) * (u->n_anchors + n_anchors));
		size_t ka = 0;
		for (size_t i = 0; i < u->n_anchors; i++)
			na[ka++] = u->anchors[i];
		for (size_t i = 0; i < n_anchors; i++) {
			bool dup = false;
			for (size_t x = 0; x < ka; x++)
				if (strcmp(na[x], anchors[i]) == 0)
					dup = true;
			if (!dup)
				na[ka++] = anchors[i];
		}
		u->anchors = na;
		u->n_anchors = ka;
	}
}

void sa_msg_uris(struct sa_msg *m)
{
	if (m->uris_done)
		return;
	m->uris_done = true;
	sa_msg_body(m);
	m->uri_index = hash_create(32);
	for (size_t i = 0; i < m->n_body; i++) {
		struct mime_text_uri *tu;
		size_t n = mime_uri_find_text(m->pool, m->body_lines[i], m->body_lens[i], tld_cb,
					      (void *)m->e, &tu);
		for (size_t k = 0; k < n; k++) {
			unsigned t = SA_UT_PARSED;
			if (tu[k].schemeless)
				t |= SA_UT_SCHEMELESS;
			if (tu[k].unlinked)
				t |= SA_UT_UNLINKED;
			add_uri(m, tu[k].uri, t, 0, true, NULL, 0);
		}
	}
	for (size_t h = 0; h < m->n_htmls; h++) {
		const struct mime_html_result *r = m->htmls[h];
		if (r->uri_truncated)
			(void)0;
		for (size_t k = 0; k < r->n_uris; k++) {
			const struct mime_html_uri *hu = &r->uris[k];
			unsigned t = 0;
			if (hu->tags == 0)
				t |= SA_UT_PARSED;
			if (hu->tags & MIME_HTML_TAG_A)
				t |= SA_UT_A;
			if (hu->tags & MIME_HTML_TAG_IMG)
				t |= SA_UT_IMG;
			if (hu->tags & MIME_HTML_TAG_FORM)
				t |= SA_UT_FORM;
			if (hu->tags & ~(MIME_HTML_TAG_A | MIME_HTML_TAG_IMG | MIME_HTML_TAG_FORM))
				t |= SA_UT_OTHER_HTML;
			add_uri(m, hu->uri, t, hu->tags, false, hu->anchor_text, hu->n_anchor_text);
		}
	}
	/* every cleaned URI once */
	struct hash *seen = hash_create(64);
	struct buf all;
	buf_init_pool(&all, m->pool, 0);
	size_t total = 0;
	for (size_t i = 0; i < m->n_uris; i++)
		total += m->uris[i].n_cleaned;
	m->uri_list = pool_alloc(m->pool, sizeof(char *) * (total + 1));
	for (size_t i = 0; i < m->n_uris; i++)
		for (size_t k = 0; k < m->uris[i].n_cleaned; k++) {
			const char *c = m->uris[i].cleaned[k];
			if (hash_get_str(seen, c) != NULL)
				continue;
			hash_put(seen, c, strlen(c), (void *)1);
			m->uri_list[m->n_uri_list++] = c;
			buf_append_str(&all, c);
			buf_append_c(&all, '\n');
		}
	hash_destroy(&seen);
	hash_destroy(&m->uri_index);
	m->uri_all = buf_cstr(&all);
	m->uri_all_len = all.len;
}

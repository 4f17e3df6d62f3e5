/*
 * Body, MIME and HTML evals: SpamAssassin's BodyEval, MIMEEval and
 * HTMLEval over the parts and renderings of sa-msg.c.
 */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * BodyEval
 */

static double ev_check_body_length(struct sa_scan *s, const struct sa_rule *r,
				   const struct sa_eval_call *c)
{
	(void)r;
	return (double)s->m->pristine_body_length <= sa_arg_num(c, 0, 0);
}

static double ev_tvd_vertical_words(struct sa_scan *s, const struct sa_rule *r,
				    const struct sa_eval_call *c)
{
	(void)r;
	double mn = sa_arg_num(c, 0, 0), mx = sa_arg_num(c, 1, 0);
	if (mx >= 100)
		mx = 101;
	double *v = s->cache[3];
	if (v == NULL) {
		v = s->cache[3] = pool_alloc(s->pool, sizeof(double));
		*v = -1;
		sa_msg_body(s->m);
		for (size_t i = 0; i < s->m->n_body; i++) {
			size_t l = s->m->body_lens[i];
			if (l <= 5)
				continue;
			size_t spaces = 0;
			for (size_t k = 0; k < l; k++)
				if (s->m->body_lines[i][k] == ' ')
					spaces++;
			size_t non = l - spaces;
			double pct = (spaces > non || non == 0) ? 100 : floor(100.0 * (double)spaces / (double)non);
			if (pct > *v)
				*v = pct;
		}
	}
	return *v >= mn && *v < mx;
}

static double ev_check_blank_line_ratio(struct sa_scan *s, const struct sa_rule *r,
					const struct sa_eval_call *c)
{
	(void)r;
	double mn = sa_arg_num(c, 0, 0), mx = sa_arg_num(c, 1, 0), minlines = sa_arg_num(c, 2, 1);
	if (minlines < 1)
		minlines = 1;
	sa_msg_rawbody(s->m);
	double blank = 0, nlines = 0;
	for (size_t i = 0; i < s->m->n_raw; i++) {
		const char *t = s->m->raw_lines[i];
		size_t l = s->m->raw_lens[i];
		/* split(/^/m, $chunk, -1) */
		size_t st = 0;
		for (size_t k = 0; k <= l; k++) {
			if (k == l || t[k] == '\n') {
				size_t e = k < l ? k + 1 : k;
				if (e > st || k == l) {
					if (e == st && k == l)
						break;
					nlines++;
					bool nb = false;
					for (size_t z = st; z < e; z++)
						if (!is_ws(t[z]))
							nb = true;
					if (!nb)
						blank++;
				}
				st = e;
			}
		}
	}
	double ratio = nlines < minlines ? -1 : 100 * blank / nlines;
	return (mn == 0 && ratio <= mx) || (ratio > mn && ratio <= mx);
}

/* split(/\s+/) words with a \w, counted */
static void words(struct hash *h, const char *t, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && is_ws(t[i]))
			i++;
		size_t st = i;
		while (i < len && !is_ws(t[i]))
			i++;
		if (i == st)
			continue;
		bool w = false;
		for (size_t k = st; k < i; k++) {
			char c = t[k];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
				w = true;
		}
		if (!w)
			continue;
		uintptr_t n = (uintptr_t)hash_get(h, t + st, i - st);
		hash_put(h, t + st, i - st, (void *)(n + 1));
	}
}

struct madiff {
	double diff, html, text;
};

static struct madiff *madiff(struct sa_scan *s)
{
	struct madiff *md = s->cache[4];
	if (md != NULL)
		return md;
	md = s->cache[4] = pool_alloc(s->pool, sizeof(*md));
	struct sa_msg *m = s->m;
	/* content_summary == (multipart/alternative, text/html, text/calendar) */
	for (size_t i = 0; i < m->n_all_parts; i++) {
		struct sa_part *ma = m->all_parts[i];
		if (strncmp(ma->type, "multipart/alternative", 21) != 0)
			continue;
		char ch = ma->type[21];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')
			continue;
		struct hash *html = hash_create(64), *text = hash_create(64);
		/* text parts below ma, pre-order (leaves and nodes) */
		struct sa_part *stack[256];
		size_t sp = 0;
		stack[sp++] = ma;
		while (sp > 0) {
			struct sa_part *p = stack[--sp];
			/* children pushed in reverse to keep order */
			struct sa_part *kids[256];
			size_t nk = 0;
			for (struct sa_part *k = p->children; k != NULL && nk < 256; k = k->sibling)
				kids[nk++] = k;
			while (nk > 0 && sp < 256)
				stack[sp++] = kids[--nk];
			if (strncmp(p->type, "text", 4) != 0 || !p->leaf)
				continue;
			sa_part_render(m, p);
			if (p->rendered == NULL)
				continue;
			if (p->html != NULL) {
				words(html, p->rendered, p->rendered_len);
				if (hash_count(html) == 0) {
					for (size_t k = 0; k < p->html->n_inside; k++)
						if (strcmp(p->html->inside[k].tag, "img") == 0)
							hash_put(html, "\n", 1, (void *)1);
				}
			} else {
				words(text, p->rendered, p->rendered_len);
			}
		}
		size_t orig = hash_count(html);
		if (orig > 0) {
			md->html = (double)orig;
			md->text = (double)hash_count(text);
			size_t it = 0;
			const void *k;
			size_t kl;
			void *v;
			while (hash_iter(text, &it, &k, &kl, &v)) {
				uintptr_t hn = (uintptr_t)hash_get(html, k, kl);
				/* removing from html leaves text, which we walk, as it is */
				if (hn != 0 && (double)hn - (double)(uintptr_t)v < 1)
					hash_remove(html, k, kl);
			}
			double d = (double)hash_count(html) / (double)orig * 100;
			if (d > md->diff)
				md->diff = d;
		}
		hash_destroy(&html);
		hash_destroy(&text);
	}
	return md;
}

static double ev_multipart_alternative_difference(struct sa_scan *s, const struct sa_rule *r,
						  const struct sa_eval_call *c)
{
	(void)r;
	double mn = sa_arg_num(c, 0, 0);
	const char *mx = sa_arg(c, 1);
	struct madiff *md = madiff(s);
	return (mn == 0 || md->diff > mn) &&
	       (mx == NULL || strcmp(mx, "undef") == 0 || md->diff <= strtod(mx, NULL));
}

static double ev_multipart_alternative_difference_count(struct sa_scan *s, const struct sa_rule *r,
							const struct sa_eval_call *c)
{
	(void)r;
	double ratio = sa_arg_num(c, 0, 0), minhtml = sa_arg_num(c, 1, 0);
	struct madiff *md = madiff(s);
	if (!(md->html > minhtml))
		return 0;
	return md->text / md->html > ratio;
}

/*
 * MIMEEval
 */

struct mimestat {
	double base64_count, qp_count, html_count, text_count, attachment;
	bool base64_encoded_text, faraway, missing_boundary, multipart_alternative;
	bool qp_long_line, bad_iso_charset;
	double multipart_ratio, qp_ratio, ascii_text_illegal, unicode_ratio;
	const char *html_charsets;
};

static bool charset_ascii_like(const char *cs)
{
	static const char *const l[] = {
		"us-ascii", "ansi_x3.4-1968", "iso-ir-6", "ansi_x3.4-1986", "iso_646.irv:1991",
		"ascii", "iso646-us", "us", "ibm367", "cp367", "csascii",
	};
	for (size_t i = 0; i < N_ELEMENTS(l); i++)
		if (strstr(cs, l[i]) != NULL)
			return true;
	return false;
}

static struct mimestat *mimestat(struct sa_scan *s)
{
	struct mimestat *ms = s->cache[5];
	if (ms != NULL)
		return ms;
	ms = s->cache[5] = pool_alloc(s->pool, sizeof(*ms));
	ms->multipart_ratio = 1.0;
	struct sa_msg *m = s->m;
	double qp_bytes = 0, qp_cnt = 0, normal = 0, uni = 0;
	double *part_bytes = pool_alloc(s->pool, sizeof(double) * (m->n_all_parts + 1));
	bool *has_bytes = pool_alloc(s->pool, sizeof(bool) * (m->n_all_parts + 1));
	const char **part_type = pool_alloc(s->pool, sizeof(char *) * (m->n_all_parts + 1));
	int part = -1;
	struct buf charsets;
	buf_init_pool(&charsets, s->pool, 0);
	for (size_t i = 0; i < m->n_all_parts; i++) {
		struct sa_part *p = m->all_parts[i];
		const char *ctv = sa_part_header(p, "content-type", NULL);
		/* parse_content_type of the part's Content-Type */
		const char *ctype = p->type;
		const char *charset = p->charset;
		if (ctv != NULL) {
			const char *csp = strcasestr(ctv, "charset");
			(void)csp;
		}
		if (strcmp(ctype, "multipart/alternative") == 0)
			ms->multipart_alternative = true;
		char *cte = pool_strdup(s->pool, p->cte != NULL ? p->cte : "");
		if (p->cte == NULL) {
			const char *v = sa_part_header(p, "content-transfer-encoding", NULL);
			cte = pool_strdup(s->pool, v != NULL ? v : "");
			str_lcase(cte);
		}
		const char *cdv = sa_part_header(p, "content-disposition", NULL);
		char *cd = pool_strdup(s->pool, cdv != NULL ? cdv : "");
		str_lcase(cd);
		char *cs = charset != NULL ? pool_strdup(s->pool, charset) : NULL;
		if (cs != NULL)
			str_lcase(cs);
		/* _check_mime_header */
		if (strcmp(ctype, "text/html") == 0)
			ms->html_count++;
		else if (strncasecmp(ctype, "text", 4) == 0)
			ms->text_count++;
		if (strstr(cte, "base64") != NULL)
			ms->base64_count++;
		else if (strstr(cte, "quoted-printable") != NULL)
			ms->qp_count++;
		if (cd[0] != '\0' && strstr(cd, "attachment") != NULL)
			ms->attachment++;
		if (strncmp(ctype, "text", 4) == 0 && strstr(cte, "base64") != NULL &&
		    (cs == NULL || cs[0] == '\0' || charset_ascii_like(cs)) &&
		    !(cd[0] != '\0' && (strncmp(cd, "attachment", 10) == 0 || strncmp(cd, "inline", 6) == 0)))
			ms->base64_encoded_text = true;
		if (cs != NULL && strncasecmp(cs, "iso-", 4) == 0 && strchr(cs + 4, '-') != NULL &&
		    !(strncmp(cs, "iso-8859-", 9) == 0 || strncmp(cs, "iso-2022-jp", 11) == 0 ||
		      strncmp(cs, "iso-2022-kr", 11) == 0))
			ms->bad_iso_charset = true;
		if (cs != NULL && strpbrk(cs, "abcdefghijklmnopqrstuvwxyz") != NULL) {
			if (charsets.len > 0)
				buf_append_c(&charsets, ' ');
			buf_append_str(&charsets, cs);
		}
		if (!p->leaf)
			continue;
		part++;
		part_type[part] = ctype;
		has_bytes[part] = strstr(cd, "attachment") == NULL;
		part_bytes[part] = 0;
		/* the raw lines */
		const char *raw = p->raw != NULL ? p->raw : "";
		size_t rl = p->raw_len;
		for (size_t st = 0; st < rl;) {
			const char *nl = memchr(raw + st, '\n', rl - st);
			size_t e = nl != NULL ? (size_t)(nl - raw) + 1 : rl;
			const char *line = raw + st;
			size_t ll = e - st;
			st = e;
			if (ms->multipart_alternative && strstr(cd, "attachment") == NULL &&
			    (strcmp(ctype, "text/plain") == 0 || strcmp(ctype, "text/html") == 0))
				part_bytes[part] += (double)ll;
			if (strcmp(cte, "quoted-printable") == 0 && !(ll >= 6 && strncmp(line, "SPAM: ", 6) == 0)) {
				if (ll > 79)
					ms->qp_long_line = true;
				qp_bytes += (double)ll;
				if (memchr(line, '=', ll) != NULL) {
					double q = 0;
					for (size_t k = 0; k + 2 < ll; k++) {
						if (line[k] != '=')
							continue;
						char a = line[k + 1], b = line[k + 2];
						bool hit = (a == '0' && b == '9') ||
							   (a == '3' && ((b >= '0' && b <= '9') || b == 'A' || b == 'B' ||
									 b == 'C' || b == 'E' || b == 'F')) ||
							   ((a == '2' || a == '4' || a == '5' || a == '6') &&
							    ((b >= '0' && b <= '9') || (b >= 'A' && b <= 'F'))) ||
							   (a == '7' && ((b >= '0' && b <= '9') || (b >= 'A' && b <= 'E')));
						if (hit) {
							q++;
							k += 2;
						}
					}
					if (q > 0) {
						qp_cnt += q;
						/* ((?:=09|=20)+)\s*$ */
						size_t e2 = ll;
						while (e2 > 0 && is_ws(line[e2 - 1]))
							e2--;
						size_t t = 0;
						while (e2 >= 3 && line[e2 - 3] == '=' &&
						       ((line[e2 - 2] == '0' && line[e2 - 1] == '9') ||
							(line[e2 - 2] == '2' && line[e2 - 1] == '0'))) {
							t += 3;
							e2 -= 3;
						}
						qp_cnt -= (double)t / 3;
					}
				}
			}
			if (strcmp(ctype, "text/plain") == 0 && (cs == NULL || strcmp(cs, "us-ascii") == 0)) {
				for (size_t k = 0; k < ll; k++) {
					unsigned char ch = (unsigned char)line[k];
					if (ch == 0 || ch == 0x0d || ch >= 0x80) {
						ms->ascii_text_illegal++;
						break;
					}
				}
			}
			if (strcmp(ctype, "text/plain") == 0 &&
			    (cte[0] == '\0' || strcmp(cte, "7bit") == 0 || strcmp(cte, "8bit") == 0)) {
				size_t subs = 0, len = ll;
				for (size_t k = 0; k + 8 <= ll; k++) {
					if (line[k] == '&' && line[k + 1] == '#' && line[k + 2] == 'x') {
						bool ok = true;
						for (int z = 3; z < 7; z++) {
							char h = line[k + (size_t)z];
							if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F')))
								ok = false;
						}
						if (ok && line[k + 7] == ';') {
							subs++;
							len -= 8;
							k += 7;
						}
					}
				}
				normal += (double)len;
				uni += (double)subs;
			}
		}
	}
	if (qp_bytes > 0) {
		ms->qp_ratio = qp_cnt / qp_bytes;
		ms->qp_count = qp_cnt;
	}
	if (normal > 0)
		ms->unicode_ratio = uni / normal;
	if (ms->multipart_alternative) {
		bool have_t = false, have_h = false;
		double text = 0, html = 0;
		for (int i = part; i >= 0; i--) {
			if (!has_bytes[i])
				continue;
			if (!have_h && strcmp(part_type[i], "text/html") == 0) {
				html = part_bytes[i];
				have_h = true;
			} else if (!have_t && strcmp(part_type[i], "text/plain") == 0) {
				text = part_bytes[i];
				have_t = true;
			}
			if (have_h && have_t)
				break;
		}
		if (have_t && have_h && html > 0)
			ms->multipart_ratio = text / html;
	}
	ms->missing_boundary = m->mime_missing_boundary;
	ms->html_charsets = charsets.len > 0 ? buf_cstr(&charsets) : NULL;
	return ms;
}

static double ev_check_for_mime(struct sa_scan *s, const struct sa_rule *r,
				const struct sa_eval_call *c)
{
	(void)r;
	const char *t = sa_arg(c, 0);
	struct mimestat *ms = mimestat(s);
	if (t == NULL)
		return 0;
	if (strcmp(t, "mime_base64_count") == 0)
		return ms->base64_count > 0;
	if (strcmp(t, "mime_base64_encoded_text") == 0)
		return ms->base64_encoded_text;
	if (strcmp(t, "mime_body_html_count") == 0)
		return ms->html_count > 0;
	if (strcmp(t, "mime_body_text_count") == 0)
		return ms->text_count > 0;
	if (strcmp(t, "mime_faraway_charset") == 0)
		return 0;
	if (strcmp(t, "mime_missing_boundary") == 0)
		return ms->missing_boundary;
	if (strcmp(t, "mime_multipart_alternative") == 0)
		return ms->multipart_alternative;
	if (strcmp(t, "mime_multipart_ratio") == 0)
		return ms->multipart_ratio != 0;
	if (strcmp(t, "mime_qp_count") == 0)
		return ms->qp_count != 0;
	if (strcmp(t, "mime_qp_long_line") == 0)
		return ms->qp_long_line;
	if (strcmp(t, "mime_qp_ratio") == 0)
		return ms->qp_ratio != 0;
	if (strcmp(t, "mime_ascii_text_illegal") == 0)
		return ms->ascii_text_illegal > 0;
	if (strcmp(t, "mime_text_unicode_ratio") == 0)
		return ms->unicode_ratio != 0;
	if (strcmp(t, "mime_attachment") == 0)
		return ms->attachment > 0;
	if (strcmp(t, "mime_bad_iso_charset") == 0)
		return ms->bad_iso_charset;
	return 0;
}

static double ev_check_for_mime_html(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	if (strncasecmp(sa_get(s->m, "Content-Type", NULL), "text/html", 9) == 0)
		return 1;
	return mimestat(s)->html_count > 0;
}

static double ev_check_for_mime_html_only(struct sa_scan *s, const struct sa_rule *r,
					  const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	if (strncasecmp(sa_get(s->m, "Content-Type", NULL), "text/html", 9) == 0)
		return 1;
	struct mimestat *ms = mimestat(s);
	return ms->html_count > 0 && ms->text_count == 0;
}

static double ev_check_mime_multipart_ratio(struct sa_scan *s, const struct sa_rule *r,
					    const struct sa_eval_call *c)
{
	(void)r;
	struct mimestat *ms = mimestat(s);
	return ms->multipart_ratio >= sa_arg_num(c, 0, 0) && ms->multipart_ratio < sa_arg_num(c, 1, 0);
}

static double ev_check_for_ascii_text_illegal(struct sa_scan *s, const struct sa_rule *r,
					      const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	return mimestat(s)->ascii_text_illegal > 0;
}

static double ev_check_abundant_unicode_ratio(struct sa_scan *s, const struct sa_rule *r,
					      const struct sa_eval_call *c)
{
	(void)r;
	const char *a = sa_arg(c, 0);
	if (a == NULL)
		return 0;
	return mimestat(s)->unicode_ratio >= strtod(a, NULL);
}

static double ev_check_qp_ratio(struct sa_scan *s, const struct sa_rule *r,
				const struct sa_eval_call *c)
{
	(void)r;
	return mimestat(s)->qp_ratio >= sa_arg_num(c, 0, 0);
}

static double ev_check_msg_parse_flags(struct sa_scan *s, const struct sa_rule *r,
				       const struct sa_eval_call *c)
{
	(void)r;
	const char *t = sa_arg(c, 0);
	struct sa_msg *m = s->m;
	if (t == NULL)
		return 0;
	if (strcmp(t, "missing_head_body_separator") == 0)
		return m->missing_head_body_separator;
	if (strcmp(t, "missing_mime_head_body_separator") == 0)
		return m->missing_mime_head_body_separator;
	if (strcmp(t, "missing_mime_headers") == 0)
		return m->missing_mime_headers;
	if (strcmp(t, "truncated_header") == 0)
		return m->truncated_header;
	if (strcmp(t, "mime_epilogue_exists") == 0)
		return m->mime_epilogue_exists;
	if (strcmp(t, "mimepart_limit_exceeded") == 0)
		return m->mimepart_limit_exceeded;
	return 0;
}

static bool charset_fp(const char *cs)
{
	/* ^[-_a-z0-9]*(?:koi|jp|jis|euc|gb|big5|isoir|cp1251|windows-1251|georgianps|pt154|tis)[-_a-z0-9]*$ (i) */
	static const char *const l[] = {
		"koi", "jp", "jis", "euc", "gb", "big5", "isoir", "cp1251", "windows-1251",
		"georgianps", "pt154", "tis",
	};
	char *low = strdup(cs);
	if (low == NULL)
		return false;
	str_lcase(low);
	bool allowed = true;
	for (const char *p = low; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			allowed = false;
	bool hit = false;
	for (size_t i = 0; allowed && i < N_ELEMENTS(l); i++)
		if (strstr(low, l[i]) != NULL)
			hit = true;
	free(low);
	return hit;
}

static const char *ct_charset(struct pool *pool, const char *type)
{
	const char *p = strcasestr(type, "charset=");
	if (p == NULL)
		return NULL;
	p += 8;
	if (*p == '"' || *p == '\'') {
		char q = *p++;
		size_t l = strcspn(p, q == '"' ? "\"" : "'");
		if (p[l] != q || l == 0)
			return NULL;
		return pool_strndup(pool, p, l);
	}
	size_t l = strcspn(p, " \t\n\r\f\v");
	return l > 0 ? pool_strndup(pool, p, l) : NULL;
}

static double ev_check_for_uppercase(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	double mn = sa_arg_num(c, 0, 0), mx = sa_arg_num(c, 1, 0);
	double *up = s->cache[6];
	if (up == NULL) {
		up = s->cache[6] = pool_alloc(s->pool, sizeof(double));
		bool fp = false;
		bool have;
		const char *type = sa_get(s->m, "Content-Type", &have);
		const char *cs = have ? ct_charset(s->pool, type) : NULL;
		if (cs != NULL && charset_fp(cs))
			fp = true;
		const char *hc = mimestat(s)->html_charsets;
		if (hc != NULL) {
			char *copy = pool_strdup(s->pool, hc), *save = NULL;
			for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
				if (charset_fp(t))
					fp = true;
		}
		if (!fp) {
			sa_msg_body(s->m);
			double len = 0, lower = 0, upper = 0;
			for (size_t i = 0; i < s->m->n_body; i++) {
				const char *t = s->m->body_lines[i];
				size_t l = s->m->body_lens[i];
				/* \S\s+\S */
				bool ok = false;
				for (size_t k = 1; k + 1 < l && !ok; k++)
					if (is_ws(t[k]) && !is_ws(t[k - 1])) {
						size_t e = k;
						while (e < l && is_ws(t[e]))
							e++;
						if (e < l)
							ok = true;
					}
				if (!ok)
					continue;
				/* ^(?:[A-Za-z0-9+\/=]{60,76} ){2} : base64 junk */
				size_t z = 0;
				int words2 = 0;
				for (int w = 0; w < 2; w++) {
					size_t st = z;
					while (z < l && ((t[z] >= 'A' && t[z] <= 'Z') || (t[z] >= 'a' && t[z] <= 'z') ||
							 (t[z] >= '0' && t[z] <= '9') || t[z] == '+' || t[z] == '/' ||
							 t[z] == '='))
						z++;
					if (z - st >= 60 && z - st <= 76 && z < l && t[z] == ' ') {
						z++;
						words2++;
					} else {
						break;
					}
				}
				if (words2 == 2)
					continue;
				len += (double)l;
				for (size_t k = 0; k < l; k++) {
					char ch = t[k];
					if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
						lower++;
						len--; /* tr/a-z0-9//d shortens the line, after len */
					} else if (ch >= 'A' && ch <= 'Z') {
						upper++;
					}
				}
				/* len counted before tr///d in SpamAssassin */
				for (size_t k = 0; k < l; k++) {
					char ch = t[k];
					if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
						len++;
				}
			}
			if (len >= 200 && upper + lower > 0)
				*up = upper / (upper + lower) * 100;
		}
	}
	return *up > mn && *up <= mx;
}

static double ev_check_ma_non_text(struct sa_scan *s, const struct sa_rule *r,
				   const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	for (size_t i = 0; i < s->m->n_all_parts; i++) {
		struct sa_part *ma = s->m->all_parts[i];
		if (strcmp(ma->type, "multipart/alternative") != 0)
			continue;
		/* find_parts(qr/./, 1, 0): the direct children that are leaves */
		for (struct sa_part *p = ma->children; p != NULL; p = p->sibling) {
			if (!p->leaf)
				continue;
			if (strcasecmp(p->type, "multipart/related") == 0 ||
			    strcasecmp(p->type, "application/rtf") == 0 ||
			    strncasecmp(p->type, "text/", 5) == 0)
				continue;
			return 1;
		}
	}
	return 0;
}

static double ev_check_base64_length(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	double mn = sa_arg_num(c, 0, 0);
	const char *mx = sa_arg(c, 1);
	double res = 0;
	for (struct sa_part *p = s->m->leaves; p != NULL; p = p->next) {
		if (strcmp(p->type, "application/ics") == 0 || strcmp(p->cte, "base64") != 0)
			continue;
		const char *raw = p->raw != NULL ? p->raw : "";
		for (size_t st = 0; st < p->raw_len;) {
			const char *nl = memchr(raw + st, '\n', p->raw_len - st);
			size_t e = nl != NULL ? (size_t)(nl - raw) + 1 : p->raw_len;
			if ((double)(e - st) > res)
				res = (double)(e - st);
			st = e;
		}
	}
	if (mx != NULL && res > strtod(mx, NULL))
		return 0;
	return res >= mn;
}

/*
 * HTMLEval
 */

static const struct mime_html_result *const *htmls(struct sa_scan *s, size_t *n)
{
	sa_msg_body(s->m);
	*n = s->m->n_htmls;
	return (const struct mime_html_result *const *)s->m->htmls;
}

static const struct sa_part *html_part(struct sa_scan *s, const struct mime_html_result *h)
{
	for (struct sa_part *p = s->m->leaves; p != NULL; p = p->next)
		if (p->html == h)
			return p;
	return NULL;
}

static bool inside_has(const struct mime_html_result *h, const char *tag, int *v)
{
	for (size_t i = 0; i < h->n_inside; i++)
		if (strcmp(h->inside[i].tag, tag) == 0) {
			if (v != NULL)
				*v = h->inside[i].inside;
			return true;
		}
	return false;
}

static double ev_html_tag_exists(struct sa_scan *s, const struct sa_rule *r,
				 const struct sa_eval_call *c)
{
	(void)r;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	const char *tag = sa_arg(c, 0);
	for (size_t i = 0; tag != NULL && i < n; i++)
		if (inside_has(h[i], tag, NULL))
			return 1;
	return 0;
}

/* "$val $expr" for expr like "!= 0", "> 3", "< 512" */
static bool cmp_expr(double v, const char *expr)
{
	const char *p = expr;
	while (*p == ' ')
		p++;
	char op[3] = { 0 };
	size_t k = 0;
	while (k < 2 && (*p == '<' || *p == '>' || *p == '=' || *p == '!')) {
		op[k++] = *p;
		p++;
	}
	double x = strtod(p, NULL);
	if (strcmp(op, "==") == 0)
		return v == x;
	if (strcmp(op, "!=") == 0)
		return v != x;
	if (strcmp(op, "<") == 0)
		return v < x;
	if (strcmp(op, "<=") == 0)
		return v <= x;
	if (strcmp(op, ">") == 0)
		return v > x;
	if (strcmp(op, ">=") == 0)
		return v >= x;
	return false;
}

static double ev_html_tag_balance(struct sa_scan *s, const struct sa_rule *r,
				  const struct sa_eval_call *c)
{
	(void)r;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	const char *tag = sa_arg(c, 0), *expr = sa_arg(c, 1);
	if (tag == NULL || expr == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int v;
		if (inside_has(h[i], tag, &v) && cmp_expr(v, expr))
			return 1;
	}
	return 0;
}

/* A named HTML result as SpamAssassin stores it; false when undefined */
static bool html_value(struct sa_scan *s, const struct mime_html_result *h, const char *t,
		       double *v)
{
	if (strcmp(t, "html") == 0) {
		*v = 1;
		return true;
	}
	if (strcmp(t, "length") == 0) {
		*v = (double)h->length;
		return true;
	}
	if (strcmp(t, "min_size") == 0) {
		*v = h->min_size;
		return true;
	}
	if (strcmp(t, "max_size") == 0) {
		*v = h->max_size;
		return true;
	}
	if (strcmp(t, "image_area") == 0) {
		*v = h->image_area;
		return true;
	}
	if (strcmp(t, "backhair_count") == 0) {
		*v = h->backhair_count;
		return true;
	}
	if (strcmp(t, "closed_extra_ratio") == 0 || strcmp(t, "bad_tag_ratio") == 0 ||
	    strcmp(t, "obfuscation_ratio") == 0) {
		if (h->tags == 0)
			return false;
		*v = strcmp(t, "closed_extra_ratio") == 0 ? (double)h->closed_extra / h->tags :
		     strcmp(t, "bad_tag_ratio") == 0 ? ((double)h->tags - h->elements) / h->tags :
						       (double)h->obfuscation / h->tags;
		return true;
	}
	if (strcmp(t, "non_element_ratio") == 0) {
		if (h->tags_seen == 0)
			return false;
		*v = ((double)h->tags_seen - h->elements_seen) / h->tags_seen;
		return true;
	}
	if (strcmp(t, "font_low_contrast") == 0) {
		*v = h->font_low_contrast;
		return h->font_low_contrast;
	}
	if (strcmp(t, "font_invalid_color") == 0) {
		*v = h->font_invalid_color;
		return h->font_invalid_color;
	}
	if (strcmp(t, "font_face_bad") == 0) {
		*v = h->font_face_bad;
		return h->font_face_bad;
	}
	if (strcmp(t, "form_action_mailto") == 0) {
		*v = h->form_action_mailto;
		return h->form_action_mailto;
	}
	if (strcmp(t, "embeds") == 0) {
		*v = h->embeds;
		return h->embeds;
	}
	if (strcmp(t, "uri_truncated") == 0) {
		*v = h->uri_truncated;
		return h->uri_truncated;
	}
	const struct sa_part *p = html_part(s, h);
	if (p != NULL && strcmp(t, "non_space_len") == 0) {
		*v = p->html_non_space;
		return true;
	}
	if (p != NULL && strcmp(t, "ratio") == 0) {
		*v = p->html_ratio;
		return true;
	}
	return false;
}

static double ev_html_test(struct sa_scan *s, const struct sa_rule *r, const struct sa_eval_call *c)
{
	(void)r;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	const char *t = sa_arg(c, 0);
	for (size_t i = 0; t != NULL && i < n; i++) {
		double v;
		if (html_value(s, h[i], t, &v) && v != 0)
			return 1;
	}
	return 0;
}

static double ev_html_eval(struct sa_scan *s, const struct sa_rule *r, const struct sa_eval_call *c)
{
	(void)r;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	const char *t = sa_arg(c, 0), *expr = sa_arg(c, 1);
	for (size_t i = 0; t != NULL && expr != NULL && i < n; i++) {
		double v;
		if (html_value(s, h[i], t, &v) && cmp_expr(v, expr))
			return 1;
	}
	return 0;
}

static double ev_html_range(struct sa_scan *s, const struct sa_rule *r, const struct sa_eval_call *c)
{
	(void)r;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	const char *t = sa_arg(c, 0), *mx = sa_arg(c, 2);
	double mn = sa_arg_num(c, 1, 0);
	for (size_t i = 0; t != NULL && i < n; i++) {
		double v;
		if (!html_value(s, h[i], t, &v))
			continue;
		if (mx == NULL || strcmp(mx, "inf") == 0) {
			if (v > mn)
				return 1;
		} else if (v > mn && v <= strtod(mx, NULL)) {
			return 1;
		}
	}
	return 0;
}

static double ev_html_image_only(struct sa_scan *s, const struct sa_rule *r,
				 const struct sa_eval_call *c)
{
	(void)r;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	double mn = sa_arg_num(c, 0, 0), mx = sa_arg_num(c, 1, 0);
	for (size_t i = 0; i < n; i++)
		if (inside_has(h[i], "img", NULL) && (double)h[i]->length > mn &&
		    (double)h[i]->length <= mx)
			return 1;
	return 0;
}

static double ev_html_image_ratio(struct sa_scan *s, const struct sa_rule *r,
				  const struct sa_eval_call *c)
{
	(void)r;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	double mn = sa_arg_num(c, 0, 0), mx = sa_arg_num(c, 1, 0);
	for (size_t i = 0; i < n; i++) {
		const struct sa_part *p = html_part(s, h[i]);
		if (p == NULL || !(h[i]->image_area > 0))
			continue;
		double ratio = p->html_non_space / h[i]->image_area;
		if (ratio > mn && ratio <= mx)
			return 1;
	}
	return 0;
}

static double ev_html_text_match(struct sa_scan *s, const struct sa_rule *r,
				 const struct sa_eval_call *c)
{
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	const char *t = sa_arg(c, 0);
	const struct sa_re *re = c->data;
	(void)r;
	for (size_t i = 0; t != NULL && re != NULL && i < n; i++) {
		const char *const *list = NULL;
		size_t nl = 0;
		if (strcmp(t, "title") == 0) {
			list = h[i]->titles;
			nl = h[i]->n_titles;
		} else if (strcmp(t, "comment") == 0) {
			list = h[i]->comments;
			nl = h[i]->n_comments;
		} else if (strcmp(t, "anchor") == 0) {
			list = h[i]->anchors;
			nl = h[i]->n_anchors;
		} else if (strcmp(t, "script") == 0) {
			list = h[i]->scripts;
			nl = h[i]->n_scripts;
		}
		for (size_t k = 0; k < nl; k++) {
			size_t ov[2];
			if (sa_re_match(re, list[k], strlen(list[k]), 0, ov))
				return 1;
		}
	}
	return 0;
}

static int prep_html_text_match(struct sa_engine *e, struct sa_rule *r, struct sa_eval_call *c,
				const char **error_r)
{
	(void)r;
	const char *pat = sa_arg(c, 1);
	if (pat == NULL) {
		*error_r = "needs a pattern";
		return -1;
	}
	struct sa_re *re = pool_alloc(e->pool, sizeof(*re));
	if (sa_re_compile(e->pool, pat, "", re, error_r) < 0)
		return -1;
	c->data = re;
	return 0;
}

static double ev_html_title_subject_ratio(struct sa_scan *s, const struct sa_rule *r,
					  const struct sa_eval_call *c)
{
	(void)r;
	const char *subj = sa_get(s->m, "Subject", NULL);
	if (subj[0] == '\0')
		return 0;
	double ratio = sa_arg_num(c, 0, 0);
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	for (size_t i = 0; i < n; i++) {
		double mx = 0;
		for (size_t k = 0; k < h[i]->n_titles; k++) {
			const char *t = h[i]->titles[k];
			if (t[0] == '\0' || strcmp(t, "0") == 0)
				continue;
			double rs = (double)strlen(t) / (double)strlen(subj);
			if (rs > mx)
				mx = rs;
		}
		if (mx > ratio)
			return 1;
	}
	return 0;
}

static double ev_check_iframe_src(struct sa_scan *s, const struct sa_rule *r,
				  const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	size_t n;
	const struct mime_html_result *const *h = htmls(s, &n);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < h[i]->n_uris; k++)
			if (h[i]->uris[k].tags & MIME_HTML_TAG_IFRAME)
				return 1;
	return 0;
}

const struct sa_eval_def sa_evals_body[] = {
	{ "check_body_length", ev_check_body_length, NULL, NULL },
	{ "tvd_vertical_words", ev_tvd_vertical_words, NULL, NULL },
	{ "check_blank_line_ratio", ev_check_blank_line_ratio, NULL, NULL },
	{ "multipart_alternative_difference", ev_multipart_alternative_difference, NULL, NULL },
	{ "multipart_alternative_difference_count", ev_multipart_alternative_difference_count, NULL, NULL },
	{ "check_for_mime", ev_check_for_mime, NULL, NULL },
	{ "check_for_mime_html", ev_check_for_mime_html, NULL, NULL },
	{ "check_for_mime_html_only", ev_check_for_mime_html_only, NULL, NULL },
	{ "check_mime_multipart_ratio", ev_check_mime_multipart_ratio, NULL, NULL },
	{ "check_for_ascii_text_illegal", ev_check_for_ascii_text_illegal, NULL, NULL },
	{ "check_abundant_unicode_ratio", ev_check_abundant_unicode_ratio, NULL, NULL },
	{ "check_qp_ratio", ev_check_qp_ratio, NULL, NULL },
	{ "check_msg_parse_flags", ev_check_msg_parse_flags, NULL, NULL },
	{ "check_for_uppercase", ev_check_for_uppercase, NULL, NULL },
	{ "check_ma_non_text", ev_check_ma_non_text, NULL, NULL },
	{ "check_base64_length", ev_check_base64_length, NULL, NULL },
	{ "html_tag_exists", ev_html_tag_exists, NULL, NULL },
	{ "html_tag_balance", ev_html_tag_balance, NULL, NULL },
	{ "html_test", ev_html_test, NULL, NULL },
	{ "html_eval", ev_html_eval, NULL, NULL },
	{ "html_range", ev_html_range, NULL, NULL },
	{ "html_image_only", ev_html_image_only, NULL, NULL },
	{ "html_image_ratio", ev_html_image_ratio, NULL, NULL },
	{ "html_text_match", ev_html_text_match, prep_html_text_match, NULL },
	{ "html_title_subject_ratio", ev_html_title_subject_ratio, NULL, NULL },
	{ "check_iframe_src", ev_check_iframe_src, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

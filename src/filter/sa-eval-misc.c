/*
 * The remaining local evals: FreeMail, ImageInfo, URIDetail, URIEval,
 * HTTPSMismatch, the stock-info and locale tests, and the registry of
 * every eval the Debian rule set names (sa_evals[]).
 */

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

/*
 * FreeMail
 */

static pthread_once_t fm_once = PTHREAD_ONCE_INIT;
static pcre2_code *re_fm_welcome, *re_skip_envfrom, *re_body_url_at;

static void fm_init(void)
{
	re_fm_welcome = sa_re_internal(
		"^(?:abuse|support|sales|info|helpdesk|contact|kontakt|(?:post|host|domain)master|"
		"undisclosed.*|request-[a-f0-9]{16}|bounced?-|"
		"[a-f0-9]{8}(?:\\.[a-f0-9]{8}|-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})|"
		".+=.+=.+)\\@",
		PCRE2_CASELESS);
	re_skip_envfrom = sa_re_internal(
		"(?:^(?:post|host|domain)master|^double-bounce|^(?:sentto|owner|return|(?:gr)?bounced?)-.+|"
		"-(?:request|bounces?|admin|owner)|\\b(?:do[._-t]?)?no[._-t]?repl(?:y|ies)|.+=.+)\\@",
		PCRE2_CASELESS);
	re_body_url_at = sa_re_internal("<?https?://\\S{0,255}(?:\\@|%40)\\S{0,255}", PCRE2_CASELESS);
}

static bool is_freemail(const struct sa_engine *e, const char *email)
{
	if (email[0] == '\0')
		return false;
	if (hash_get_str(e->freemail_welcome, email) != NULL)
		return false;
	const char *at = strrchr(email, '@');
	const char *dom = at != NULL ? at + 1 : email;
	if (hash_get_str(e->freemail_welcome, dom) != NULL)
		return false;
	pthread_once(&fm_once, fm_init);
	if (sa_pcre_match(re_fm_welcome, email, strlen(email), 0, NULL, 0))
		return false;
	if (hash_get_str(e->freemail, dom) != NULL)
		return true;
	for (size_t i = 0; i < e->n_freemail_globs; i++) {
		/* * matches [^.]*, ? one character, anchored after the @ */
		const char *g = e->freemail_globs[i], *d = dom;
		const char *star = NULL, *ss = NULL;
		bool ok = true;
		while (*d != '\0') {
			if (*g == '?' || (*g != '*' && *g == *d)) {
				g++;
				d++;
			} else if (*g == '*') {
				star = g++;
				ss = d;
			} else if (star != NULL && *ss != '.') {
				g = star + 1;
				d = ++ss;
			} else {
				ok = false;
				break;
			}
		}
		while (ok && *g == '*')
			g++;
		if (ok && *g == '\0')
			return true;
	}
	return false;
}

static const char **lower_addrs(struct sa_scan *s, const char *req, size_t *n)
{
	const struct sa_hval *v = sa_msg_get(s->m, req);
	const char **r = pool_alloc(s->pool, sizeof(char *) * (v->n + 1));
	for (size_t i = 0; i < v->n; i++) {
		char *a = pool_strndup(s->pool, v->vals[i], v->lens[i]);
		str_lcase(a);
		r[i] = a;
	}
	*n = v->n;
	return r;
}

static double ev_check_freemail_header(struct sa_scan *s, const struct sa_rule *r,
				       const struct sa_eval_call *c)
{
	(void)r;
	const char *h = sa_arg(c, 0);
	const struct sa_re *re = c->data;
	if (h == NULL)
		return 0;
	size_t n;
	const char **a = lower_addrs(s, pool_printf(s->pool, "%s:addr", h), &n);
	for (size_t i = 0; i < n; i++) {
		if (!is_freemail(s->e, a[i]))
			continue;
		size_t ov[2];
		if (re != NULL && !sa_re_match(re, a[i], strlen(a[i]), 0, ov))
			continue;
		return 1;
	}
	return 0;
}

static int prep_regex_arg(struct sa_engine *e, struct sa_eval_call *c, unsigned i,
			  const char **error_r)
{
	const char *pat = sa_arg(c, i);
	if (pat == NULL)
		return 0;
	struct sa_re *re = pool_alloc(e->pool, sizeof(*re));
	char *p2, *mods;
	const char *err;
	/* compile_regexp($regex, 0): delimiters optional */
	if (sa_re_split(e->pool, pat, &p2, &mods, &err) < 0) {
		p2 = (char *)pat;
		mods = "";
	}
	if (sa_re_compile(e->pool, p2, mods, re, error_r) < 0)
		return -1;
	c->data = re;
	return 0;
}

static int prep_freemail_header(struct sa_engine *e, struct sa_rule *r, struct sa_eval_call *c,
				const char **error_r)
{
	(void)r;
	return prep_regex_arg(e, c, 1, error_r);
}

static int prep_freemail_from(struct sa_engine *e, struct sa_rule *r, struct sa_eval_call *c,
			      const char **error_r)
{
	(void)r;
	return prep_regex_arg(e, c, 0, error_r);
}

/* all_from_addrs(): Resent-From, or From/Envelope-Sender/Resent-Sender/
   X-Envelope-From/EnvelopeFrom */
static size_t all_from_addrs(struct sa_scan *s, const char ***out)
{
	size_t n;
	const char **rs = lower_addrs(s, "Resent-From:first:addr", &n);
	if (n > 0) {
		*out = rs;
		return n;
	}
	static const char *const reqs[] = {
		"From:addr", "Envelope-Sender:addr", "Resent-Sender:addr", "X-Envelope-From:addr",
		"EnvelopeFrom:addr",
	};
	const char **all = pool_alloc(s->pool, sizeof(char *) * 64);
	size_t k = 0;
	for (size_t i = 0; i < N_ELEMENTS(reqs); i++) {
		const char **v = lower_addrs(s, reqs[i], &n);
		for (size_t j = 0; j < n && k < 64; j++) {
			if (v[j][0] == '\0')
				continue;
			/* tr/././s */
			char *d = pool_strdup(s->pool, v[j]), *w = d;
			for (char *p = d; *p; p++) {
				if (*p == '.' && w > d && w[-1] == '.')
					continue;
				*w++ = *p;
			}
			*w = '\0';
			bool dup = false;
			for (size_t z = 0; z < k; z++)
				if (strcmp(all[z], d) == 0)
					dup = true;
			if (!dup)
				all[k++] = d;
		}
	}
	*out = all;
	return k;
}

static double ev_check_freemail_from(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	const struct sa_re *re = c->data;
	const char **a;
	size_t n = all_from_addrs(s, &a);
	for (size_t i = 0; i < n; i++) {
		if (!is_freemail(s->e, a[i]))
			continue;
		size_t ov[2];
		if (re != NULL && !sa_re_match(re, a[i], strlen(a[i]), 0, ov))
			continue;
		return 1;
	}
	return 0;
}

/* The freemail addresses of the body (FreeMail's _parse_body), or NULL
   when over the limits. */
struct fmbody {
	bool skip;
	const char **emails;
	size_t n;
};

static struct fmbody *fm_body(struct sa_scan *s)
{
	struct fmbody *fb = s->cache[7];
	if (fb != NULL)
		return fb;
	fb = s->cache[7] = pool_alloc(s->pool, sizeof(*fb));
	if (s->e->email_re == NULL)
		return fb;
	pthread_once(&fm_once, fm_init);
	struct hash *seen = hash_create(16);
	const char *found[64];
	size_t nf = 0;
	sa_msg_uris(s->m);
	for (size_t i = 0; i < s->m->n_uris && nf < 20; i++) {
		const struct sa_uri *u = &s->m->uris[i];
		if (!(u->html_tags & MIME_HTML_TAG_A) || (u->types & SA_UT_PARSED))
			continue;
		if (strncasecmp(u->raw, "mailto:", 7) != 0)
			continue;
		size_t ov[4];
		const char *rest = u->raw + 7;
		if (sa_pcre_match(s->e->email_re, rest, strlen(rest), 0, ov, 2) && ov[0] == 0) {
			char *em = pool_strndup(s->pool, rest + ov[2], ov[3] - ov[2]);
			str_lcase(em);
			if (hash_get_str(seen, em) == NULL) {
				hash_put(seen, em, strlen(em), (void *)1);
				found[nf++] = em;
			}
		}
	}
	sa_msg_body(s->m);
	for (size_t i = 0; i < s->m->n_body && nf < 40; i++) {
		/* URLs with @ and addresses followed by a label ("x@y.com Fax:")
		   are blanked first */
		char *t = pool_strndup(s->pool, s->m->body_lines[i], s->m->body_lens[i]);
		size_t tl = strlen(t), ov[4], pos = 0;
		while (pos < tl && sa_pcre_match(re_body_url_at, t, tl, pos, ov, 1)) {
			for (size_t k = ov[0]; k < ov[1]; k++)
				t[k] = ' ';
			pos = ov[1] > pos ? ov[1] : pos + 1;
		}
		pos = 0;
		while (pos < tl && sa_pcre_match(s->e->email_re, t, tl, pos, ov, 2)) {
			char *em = pool_strndup(s->pool, t + ov[2], ov[3] - ov[2]);
			str_lcase(em);
			pos = ov[1] > pos ? ov[1] : pos + 1;
			if (hash_get_str(seen, em) != NULL)
				continue;
			hash_put(seen, em, strlen(em), (void *)1);
			found[nf++] = em;
			if (nf >= 40)
				break;
		}
	}
	hash_destroy(&seen);
	size_t all = 0, fm = 0;
	fb->emails = pool_alloc(s->pool, sizeof(char *) * (nf + 1));
	for (size_t i = 0; i < nf; i++) {
		if (++all == 5) {
			fb->skip = true;
			return fb;
		}
		if (!is_freemail(s->e, found[i]))
			continue;
		if (++fm == 3) {
			fb->skip = true;
			return fb;
		}
		fb->emails[fb->n++] = found[i];
	}
	return fb;
}

static double ev_check_freemail_body(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	struct fmbody *fb = fm_body(s);
	const struct sa_re *re = c->data;
	if (fb->skip)
		return 0;
	if (re != NULL) {
		for (size_t i = 0; i < fb->n; i++) {
			size_t ov[2];
			if (sa_re_match(re, fb->emails[i], strlen(fb->emails[i]), 0, ov))
				return 1;
		}
		return 0;
	}
	return fb->n > 0;
}

static double ev_check_freemail_replyto(struct sa_scan *s, const struct sa_rule *r,
					const struct sa_eval_call *c)
{
	(void)r;
	const char *what = sa_arg(c, 0);
	if (what == NULL)
		what = "replyto";
	if (strcmp(what, "replyto") != 0 && strcmp(what, "reply") != 0)
		return 0;
	pthread_once(&fm_once, fm_init);
	const struct sa_hval *ef = sa_msg_get(s->m, "EnvelopeFrom");
	if (ef->n > 0 && sa_pcre_match(re_skip_envfrom, ef->vals[0], ef->lens[0], 0, NULL, 0))
		return 0;
	size_t nf, nr;
	const char **from = lower_addrs(s, "From:addr", &nf);
	const char **rep = lower_addrs(s, "Reply-To:addr", &nr);
	bool from_fm = false, rep_fm = false, not_in = true;
	for (size_t i = 0; i < nf; i++)
		if (is_freemail(s->e, from[i]))
			from_fm = true;
	for (size_t i = 0; i < nr; i++)
		if (is_freemail(s->e, rep[i]))
			rep_fm = true;
	for (size_t i = 0; i < nf; i++)
		for (size_t j = 0; j < nr; j++)
			if (strcmp(from[i], rep[j]) == 0)
				not_in = false;
	if (from_fm && rep_fm && not_in)
		return 1;
	if (strcmp(what, "replyto") == 0) {
		if (!rep_fm)
			return 0;
	} else {
		if (nr > 0 && !rep_fm)
			return 0;
		else if (!from_fm)
			return 0;
	}
	struct fmbody *fb = fm_body(s);
	if (fb->skip || fb->n == 0)
		return 0;
	const char **cmp = strcmp(what, "replyto") == 0 || rep_fm ? rep : from;
	size_t nc = strcmp(what, "replyto") == 0 || rep_fm ? nr : nf;
	for (size_t i = 0; i < fb->n; i++)
		for (size_t j = 0; j < nc; j++)
			if (strcmp(fb->emails[i], cmp[j]) != 0)
				return 1;
	return 0;
}

/*
 * ImageInfo
 */

struct imginfo {
	double count[4], pc[4];   /* all, gif, png, jpeg */
	struct hash *dems[4];
	struct hash *names;
};

static int img_type(const char *t)
{
	if (strcmp(t, "all") == 0)
		return 0;
	if (strcmp(t, "gif") == 0)
		return 1;
	if (strcmp(t, "png") == 0)
		return 2;
	if (strcmp(t, "jpeg") == 0 || strcmp(t, "jpg") == 0)
		return 3;
	return -1;
}

static void img_add(struct sa_scan *s, struct imginfo *ii, int t, unsigned long w, unsigned long h,
		    const char *name)
{
	if (w == 0 || h == 0)
		return;
	ii->pc[t] += (double)w * (double)h;
	char key[64];
	snprintf(key, sizeof(key), "%lux%lu", h, w);
	if (ii->dems[t] == NULL)
		ii->dems[t] = hash_create(4);
	hash_put(ii->dems[t], key, strlen(key), (void *)1);
	if (ii->dems[0] == NULL)
		ii->dems[0] = hash_create(4);
	hash_put(ii->dems[0], key, strlen(key), (void *)1);
	if (name != NULL && name[0] != '\0')
		hash_put(ii->names, name, strlen(name), (void *)1);
	(void)s;
}

/* The image statistics keep hashes (not pool memory): freed when the
 * scan ends. */
void sa_eval_scan_done(struct sa_scan *s)
{
	struct imginfo *ii = s->cache[8];
	if (ii == NULL)
		return;
	for (size_t i = 0; i < N_ELEMENTS(ii->dems); i++)
		if (ii->dems[i] != NULL)
			hash_destroy(&ii->dems[i]);
	hash_destroy(&ii->names);
	s->cache[8] = NULL;
}

static struct imginfo *imginfo(struct sa_scan *s)
{
	struct imginfo *ii = s->cache[8];
	if (ii != NULL)
		return ii;
	ii = s->cache[8] = pool_alloc(s->pool, sizeof(*ii));
	ii->names = hash_create(4);
	for (struct sa_part *p = s->m->leaves; p != NULL; p = p->next) {
		int t = -1;
		if (strcmp(p->type, "image/gif") == 0)
			t = 1;
		else if (strcmp(p->type, "image/png") == 0)
			t = 2;
		else if (strcmp(p->type, "image/jpeg") == 0 || strcmp(p->type, "image/jpg") == 0)
			t = 3;
		if (t < 0 || strcmp(p->cte, "base64") != 0)
			continue;
		size_t len;
		const unsigned char *d = (const unsigned char *)sa_part_decode(s->m, p, &len);
		if (t == 1 && len >= 10 && memcmp(d, "GIF8", 4) == 0 && (d[4] == '7' || d[4] == '9') &&
		    d[5] == 'a') {
			img_add(s, ii, 1, d[6] | (unsigned)d[7] << 8, d[8] | (unsigned)d[9] << 8, p->name);
		} else if (t == 2 && len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
			for (size_t pos = 8; pos + 8 <= len; pos += 8) {
				unsigned long cl = (unsigned long)d[pos] << 24 | (unsigned long)d[pos + 1] << 16 |
						   (unsigned long)d[pos + 2] << 8 | d[pos + 3];
				if (memcmp(d + pos + 4, "IEND", 4) == 0)
					break;
				if (memcmp(d + pos + 4, "IHDR", 4) == 0 && cl == 13 && pos + 16 <= len) {
					const unsigned char *b = d + pos + 8;
					unsigned long w = (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 |
							  (unsigned long)b[2] << 8 | b[3];
					unsigned long h = (unsigned long)b[4] << 24 | (unsigned long)b[5] << 16 |
							  (unsigned long)b[6] << 8 | b[7];
					img_add(s, ii, 2, w, h, p->name);
					break;
				}
			}
		} else if (t == 3 && len >= 2 && d[0] == 0xff && d[1] == 0xd8) {
			size_t pos = 2;
			while (pos + 4 <= len) {
				if (d[pos] != 0xff)
					break;
				unsigned mark = d[pos + 1];
				unsigned bl = (unsigned)d[pos + 2] << 8 | d[pos + 3];
				if (mark == 0xda || mark == 0xd9 || bl < 2)
					break;
				pos += 4;
				if ((mark >= 0xc0 && mark <= 0xc3) || (mark >= 0xc5 && mark <= 0xc7) ||
				    (mark >= 0xc9 && mark <= 0xcb) || (mark >= 0xcd && mark <= 0xcf)) {
					if (pos + 5 <= len)
						img_add(s, ii, 3, (unsigned long)d[pos + 3] << 8 | d[pos + 4],
							(unsigned long)d[pos + 1] << 8 | d[pos + 2], p->name);
					break;
				}
				pos += bl - 2;
			}
		}
		ii->count[t]++;
	}
	for (int t = 1; t < 4; t++) {
		ii->count[0] += ii->count[t];
		ii->pc[0] += ii->pc[t];
	}
	return ii;
}

static bool result_check(double mn, const char *mx, double v, bool nomaxequal)
{
	if (v < mn)
		return false;
	if (mx != NULL && v > strtod(mx, NULL))
		return false;
	if (nomaxequal && mx != NULL && v == strtod(mx, NULL))
		return false;
	return true;
}

static double ev_image_count(struct sa_scan *s, const struct sa_rule *r, const struct sa_eval_call *c)
{
	(void)r;
	const char *t = sa_arg(c, 0);
	if (t == NULL || sa_arg(c, 1) == NULL || img_type(t) < 0)
		return 0;
	return result_check(sa_arg_num(c, 1, 0), sa_arg(c, 2), imginfo(s)->count[img_type(t)], false);
}

static double ev_pixel_coverage(struct sa_scan *s, const struct sa_rule *r,
				const struct sa_eval_call *c)
{
	(void)r;
	const char *t = sa_arg(c, 0);
	if (t == NULL || sa_arg(c, 1) == NULL || img_type(t) < 0)
		return 0;
	return result_check(sa_arg_num(c, 1, 0), sa_arg(c, 2), imginfo(s)->pc[img_type(t)], false);
}

static double ev_image_to_text_ratio(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	const char *t = sa_arg(c, 0);
	if (t == NULL || sa_arg(c, 1) == NULL || sa_arg(c, 2) == NULL || img_type(t) < 0)
		return 0;
	sa_msg_body(s->m);
	double textlen = 0;
	for (size_t i = 0; i < s->m->n_body; i++)
		textlen += (double)s->m->body_lens[i];
	double pc = imginfo(s)->pc[img_type(t)];
	if (!(textlen > 0 && pc > 0))
		return 0;
	return result_check(sa_arg_num(c, 1, 0), sa_arg(c, 2), textlen / pc, true);
}

static double ev_image_size_exact(struct sa_scan *s, const struct sa_rule *r,
				  const struct sa_eval_call *c)
{
	(void)r;
	const char *t = sa_arg(c, 0), *h = sa_arg(c, 1), *w = sa_arg(c, 2);
	if (t == NULL || h == NULL || w == NULL || img_type(t) < 0)
		return 0;
	struct hash *d = imginfo(s)->dems[img_type(t)];
	char key[64];
	snprintf(key, sizeof(key), "%sx%s", h, w);
	return d != NULL && hash_get_str(d, key) != NULL;
}

static double ev_image_size_range(struct sa_scan *s, const struct sa_rule *r,
				  const struct sa_eval_call *c)
{
	(void)r;
	const char *t = sa_arg(c, 0);
	if (t == NULL || sa_arg(c, 1) == NULL || sa_arg(c, 2) == NULL || img_type(t) < 0)
		return 0;
	struct hash *d = imginfo(s)->dems[img_type(t)];
	if (d == NULL)
		return 0;
	double minh = sa_arg_num(c, 1, 0), minw = sa_arg_num(c, 2, 0);
	const char *maxh = sa_arg(c, 3), *maxw = sa_arg(c, 4);
	size_t it = 0;
	const void *k;
	size_t kl;
	void *v;
	while (hash_iter(d, &it, &k, &kl, &v)) {
		char key[64];
		snprintf(key, sizeof(key), "%.*s", (int)kl, (const char *)k);
		double hh = strtod(key, NULL);
		const char *x = strchr(key, 'x');
		double ww = x != NULL ? strtod(x + 1, NULL) : 0;
		if (hh < minh || ww < minw)
			continue;
		if (maxh != NULL && hh > strtod(maxh, NULL))
			continue;
		if (maxw != NULL && ww > strtod(maxw, NULL))
			continue;
		return 1;
	}
	return 0;
}

static double ev_image_named(struct sa_scan *s, const struct sa_rule *r, const struct sa_eval_call *c)
{
	(void)r;
	const char *n = sa_arg(c, 0);
	return n != NULL && hash_get_str(imginfo(s)->names, n) != NULL;
}

/*
 * URIs
 */

double sa_eval_uri_detail(struct sa_scan *s, const struct sa_rule *r)
{
	static const char *const tagnames[] = {
		"a", "area", "link", "img", "frame", "iframe", "embed", "script", "form", "base",
		"bgsound", "meta", "body", "table", "tr", "td",
	};
	sa_msg_uris(s->m);
	for (size_t i = 0; i < s->m->n_uris; i++) {
		const struct sa_uri *u = &s->m->uris[i];
		bool ok = true;
		for (const struct sa_uri_detail *d = r->ud; d != NULL && ok; d = d->next) {
			const char *vals[64];
			size_t nv = 0;
			if (strcmp(d->key, "raw") == 0) {
				vals[nv++] = u->raw;
			} else if (strcmp(d->key, "type") == 0) {
				if (u->types & SA_UT_PARSED)
					vals[nv++] = "parsed";
				if (u->types & SA_UT_SCHEMELESS)
					vals[nv++] = "schemeless";
				if (u->types & SA_UT_UNLINKED)
					vals[nv++] = "unlinked";
				for (size_t t = 0; t < N_ELEMENTS(tagnames) && nv < 64; t++)
					if (u->html_tags & (1u << t))
						vals[nv++] = tagnames[t];
			} else if (strcmp(d->key, "cleaned") == 0) {
				for (size_t k = 0; k < u->n_cleaned && nv < 64; k++)
					vals[nv++] = u->cleaned[k];
			} else if (strcmp(d->key, "text") == 0) {
				for (size_t k = 0; k < u->n_anchors && nv < 64; k++)
					vals[nv++] = u->anchors[k];
			} else if (strcmp(d->key, "domain") == 0) {
				for (size_t k = 0; k < u->n_domains && nv < 64; k++)
					vals[nv++] = u->domains[k];
			} else if (strcmp(d->key, "host") == 0) {
				for (size_t k = 0; k < u->n_hosts && nv < 64; k++)
					vals[nv++] = u->hosts[k];
			} else {
				continue;
			}
			bool any = false;
			for (size_t k = 0; k < nv && !any; k++) {
				size_t ov[2];
				bool mt = sa_re_match(&d->re, vals[k], strlen(vals[k]), 0, ov);
				if (mt != d->neg)
					any = true;
			}
			if (!any)
				ok = false;
		}
		if (ok)
			return 1;
	}
	return 0;
}

static double ev_check_uri_truncated(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_body(s->m);
	for (size_t i = 0; i < s->m->n_htmls; i++)
		if (s->m->htmls[i]->uri_truncated)
			return 1;
	return 0;
}

static bool dotted_quad_after_scheme(const char *k, const char *scheme_re_https)
{
	/* http(s): slashes, an optional user@, then a dotted quad (https only
	   when asked) */
	const char *p = k;
	if (scheme_re_https != NULL) {
		if (strncasecmp(p, "https:", 6) != 0)
			return false;
		p += 6;
	} else if (strncasecmp(p, "https:", 6) == 0) {
		p += 6;
	} else if (strncasecmp(p, "http:", 5) == 0) {
		p += 5;
	} else {
		return false;
	}
	while (*p == '/')
		p++;
	const char *at = p + strcspn(p, "@/");
	if (*at == '@' && at > p)
		p = at + 1;
	unsigned a, b, cc, d;
	return sscanf(p, "%u.%u.%u.%u", &a, &b, &cc, &d) == 4 && p[0] >= '0' && p[0] <= '9';
}

static double ev_check_https_ip_mismatch(struct sa_scan *s, const struct sa_rule *r,
					 const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_body(s->m);
	for (size_t i = 0; i < s->m->n_htmls; i++) {
		const struct mime_html_result *h = s->m->htmls[i];
		for (size_t k = 0; k < h->n_uris; k++) {
			if (!dotted_quad_after_scheme(h->uris[k].uri, NULL))
				continue;
			for (size_t a = 0; a < h->uris[k].n_anchor_text; a++) {
				const char *t = h->uris[k].anchor_text[a];
				if (dotted_quad_after_scheme(t, "https"))
					continue;
				if (strcasestr(t, "https:") != NULL)
					return 1;
			}
		}
	}
	return 0;
}

/* HTTPSMismatch: an anchor text showing https://X linking elsewhere */
static double ev_check_https_http_mismatch(struct sa_scan *s, const struct sa_rule *r,
					   const struct sa_eval_call *c)
{
	(void)r;
	double minanchors = sa_arg_num(c, 0, 0);
	const char *maxs = sa_arg(c, 1);
	if (minanchors == 0)
		minanchors = 1;
	sa_msg_body(s->m);
	for (size_t i = 0; i < s->m->n_htmls; i++) {
		const struct mime_html_result *h = s->m->htmls[i];
		bool hit = false;
		double anchors = 0;
		for (size_t k = 0; k < h->n_uris; k++) {
			const struct mime_html_uri *u = &h->uris[k];
			if (u->n_anchor_text == 0)
				continue;
			const char *host = NULL;
			if (strncasecmp(u->uri, "http://", 7) == 0 || strncasecmp(u->uri, "https://", 8) == 0) {
				const char *hs = u->uri + (u->uri[4] == ':' ? 7 : 8);
				size_t hl = strcspn(hs, "/:?#");
				char *hh = pool_strndup(s->pool, hs, hl);
				unsigned a, b, cc, d;
				int nn = 0;
				if (sscanf(hh, "%3u.%3u.%3u.%3u%n", &a, &b, &cc, &d, &nn) == 4 && hh[nn] == '\0')
					continue;
				const char *dom = sa_trim_domain(s->e, s->pool, hh);
				const char *dot = strrchr(dom, '.');
				if (dot != NULL && sa_is_tld(s->e, dot + 1, strlen(dot + 1)))
					host = dom;
			}
			if (host == NULL)
				continue;
			anchors++;
			for (size_t a = 0; a < u->n_anchor_text && !hit; a++) {
				const char *t = strcasestr(u->anchor_text[a], "https://");
				if (t == NULL)
					continue;
				t += 8;
				size_t hl = strcspn(t, " \t\n\r\f\v/:?#");
				if (hl == 0)
					continue;
				char *hh = pool_strndup(s->pool, t, hl);
				unsigned x1, x2, x3, x4;
				int nn = 0;
				const char *https = hh;
				if (!(sscanf(hh, "%3u.%3u.%3u.%3u%n", &x1, &x2, &x3, &x4, &nn) == 4 &&
				      hh[nn] == '\0')) {
					https = sa_trim_domain(s->e, s->pool, hh);
					const char *dot = strrchr(https, '.');
					if (dot == NULL || !sa_is_tld(s->e, dot + 1, strlen(dot + 1)))
						continue;
				}
				if (strcmp(host, https) == 0)
					continue;
				hit = true;
			}
		}
		if (hit && anchors >= minanchors && (maxs == NULL || anchors < strtod(maxs, NULL)))
			return 1;
	}
	return 0;
}

static double ev_check_uri_host_listed(struct sa_scan *s, const struct sa_rule *r,
				       const struct sa_eval_call *c)
{
	(void)r;
	const char *list = sa_arg(c, 0);
	if (list == NULL)
		return 0;
	struct hash *h = hash_get_str(s->e->enlist_uri_host, list);
	if (h == NULL)
		return 0;
	sa_msg_uris(s->m);
	for (size_t i = 0; i < s->m->n_uris; i++)
		for (size_t k = 0; k < s->m->uris[i].n_hosts; k++) {
			/* the host and each parent domain */
			const char *d = s->m->uris[i].hosts[k];
			while (d != NULL && *d != '\0') {
				if (hash_get_str(h, d) != NULL)
					return 1;
				d = strchr(d, '.');
				if (d != NULL)
					d++;
			}
		}
	return 0;
}

static double ev_zero(struct sa_scan *s, const struct sa_rule *r, const struct sa_eval_call *c)
{
	(void)s;
	(void)r;
	(void)c;
	return 0;
}

static int prep_freemail_body(struct sa_engine *e, struct sa_rule *r, struct sa_eval_call *c,
			      const char **error_r)
{
	(void)r;
	return prep_regex_arg(e, c, 0, error_r);
}

const struct sa_eval_def sa_evals_misc[] = {
	{ "check_freemail_header", ev_check_freemail_header, prep_freemail_header, NULL },
	{ "check_freemail_from", ev_check_freemail_from, prep_freemail_from, NULL },
	{ "check_freemail_replyto", ev_check_freemail_replyto, NULL, NULL },
	{ "check_freemail_body", ev_check_freemail_body, prep_freemail_body, NULL },
	{ "image_count", ev_image_count, NULL, NULL },
	{ "pixel_coverage", ev_pixel_coverage, NULL, NULL },
	{ "image_to_text_ratio", ev_image_to_text_ratio, NULL, NULL },
	{ "image_size_exact", ev_image_size_exact, NULL, NULL },
	{ "image_size_range", ev_image_size_range, NULL, NULL },
	{ "image_named", ev_image_named, NULL, NULL },
	{ "check_uri_truncated", ev_check_uri_truncated, NULL, NULL },
	{ "check_https_ip_mismatch", ev_check_https_ip_mismatch, NULL, NULL },
	{ "check_https_http_mismatch", ev_check_https_http_mismatch, NULL, NULL },
	{ "check_uri_host_listed", ev_check_uri_host_listed, NULL, NULL },
	/* ok_locales is "all" by default: nothing is a faraway charset */
	{ "check_for_faraway_charset", ev_zero, NULL, NULL },
	{ "check_for_faraway_charset_in_headers", ev_zero, NULL, NULL },
	{ "html_charset_faraway", ev_zero, NULL, NULL },
	/* VBounce: no welcomelist_bounce_relays configured */
	{ "have_any_bounce_relays", ev_zero, NULL, NULL },
	{ "check_welcomelist_bounce_relays", ev_zero, NULL, NULL },
	{ "check_whitelist_bounce_relays", ev_zero, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

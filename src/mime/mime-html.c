/*
 * HTML to text the way SpamAssassin renders it, so that its body rules
 * see the same text: Mail::SpamAssassin::HTML's handlers over the event
 * stream of Perl's HTML::Parser (version 3.x, api_version 3, non-strict
 * comments, marked sections on).  Both are emulated here: where a
 * browser would differ (unterminated comments, literal-mode elements,
 * text split at every '<' that starts no markup), we follow the parser
 * SpamAssassin uses, not the browser.
 *
 * Rendering: block elements add line breaks (br, div: one; p, hr, pre,
 * title...: two), cells and list items a space; runs of white space
 * collapse to one space per text event; text in <script> and <style>
 * is dropped; text whose font is too small or the colour of the
 * background is kept but marked invisible.  Alongside: the URIs of
 * a/area/link/img/frame/iframe/embed/script/form/base/meta-refresh and
 * background attributes, resolved against <base href>, with anchor
 * texts, and the statistics SpamAssassin's HTML eval tests read.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime.h"

#define HTML_MAX_URI_LENGTH 8192
#define HTML_MAX_STYLE_DEPTH 1024
#define HTML_MAX_CLOSE_LOOPS 64

struct entity {
	const char *name;
	unsigned cp;
};

static const struct entity entities[] = {
	{ "AElig", 198 }, { "Aacute", 193 }, { "Acirc", 194 }, { "Agrave", 192 },
	{ "Alpha;", 913 }, { "Aring", 197 }, { "Atilde", 195 }, { "Auml", 196 },
	{ "Beta;", 914 }, { "Ccedil", 199 }, { "Chi;", 935 }, { "Dagger;", 8225 },
	{ "Delta;", 916 }, { "ETH", 208 }, { "Eacute", 201 }, { "Ecirc", 202 },
	{ "Egrave", 200 }, { "Epsilon;", 917 }, { "Eta;", 919 }, { "Euml", 203 },
	{ "Gamma;", 915 }, { "Iacute", 205 }, { "Icirc", 206 }, { "Igrave", 204 },
	{ "Iota;", 921 }, { "Iuml", 207 }, { "Kappa;", 922 }, { "Lambda;", 923 },
	{ "Mu;", 924 }, { "Ntilde", 209 }, { "Nu;", 925 }, { "OElig;", 338 },
	{ "Oacute", 211 }, { "Ocirc", 212 }, { "Ograve", 210 }, { "Omega;", 937 },
	{ "Omicron;", 927 }, { "Oslash", 216 }, { "Otilde", 213 }, { "Ouml", 214 },
	{ "Phi;", 934 }, { "Pi;", 928 }, { "Prime;", 8243 }, { "Psi;", 936 },
	{ "Rho;", 929 }, { "Scaron;", 352 }, { "Sigma;", 931 }, { "THORN", 222 },
	{ "Tau;", 932 }, { "Theta;", 920 }, { "Uacute", 218 }, { "Ucirc", 219 },
	{ "Ugrave", 217 }, { "Upsilon;", 933 }, { "Uuml", 220 }, { "Xi;", 926 },
	{ "Yacute", 221 }, { "Yuml;", 376 }, { "Zeta;", 918 }, { "aacute", 225 },
	{ "acirc", 226 }, { "acute", 180 }, { "aelig", 230 }, { "agrave", 224 },
	{ "alefsym;", 8501 }, { "alpha;", 945 }, { "amp", 38 }, { "and;", 8743 },
	{ "ang;", 8736 }, { "apos", 39 }, { "aring", 229 }, { "asymp;", 8776 },
	{ "atilde", 227 }, { "auml", 228 }, { "bdquo;", 8222 }, { "beta;", 946 },
	{ "brvbar", 166 }, { "bull;", 8226 }, { "cap;", 8745 }, { "ccedil", 231 },
	{ "cedil", 184 }, { "cent", 162 }, { "chi;", 967 }, { "circ;", 710 },
	{ "clubs;", 9827 }, { "cong;", 8773 }, { "copy", 169 }, { "crarr;", 8629 },
	{ "cup;", 8746 }, { "curren", 164 }, { "dArr;", 8659 }, { "dagger;", 8224 },
	{ "darr;", 8595 }, { "deg", 176 }, { "delta;", 948 }, { "diams;", 9830 },
	{ "divide", 247 }, { "eacute", 233 }, { "ecirc", 234 }, { "egrave", 232 },
	{ "empty;", 8709 }, { "emsp;", 8195 }, { "ensp;", 8194 },
	{ "epsilon;", 949 }, { "equiv;", 8801 }, { "eta;", 951 }, { "eth", 240 },
	{ "euml", 235 }, { "euro;", 8364 }, { "exist;", 8707 }, { "fnof;", 402 },
	{ "forall;", 8704 }, { "frac12", 189 }, { "frac14", 188 },
	{ "frac34", 190 }, { "frasl;", 8260 }, { "gamma;", 947 }, { "ge;", 8805 },
	{ "gt", 62 }, { "hArr;", 8660 }, { "harr;", 8596 }, { "hearts;", 9829 },
	{ "hellip;", 8230 }, { "iacute", 237 }, { "icirc", 238 }, { "iexcl", 161 },
	{ "igrave", 236 }, { "image;", 8465 }, { "infin;", 8734 }, { "int;", 8747 },
	{ "iota;", 953 }, { "iquest", 191 }, { "isin;", 8712 }, { "iuml", 239 },
	{ "kappa;", 954 }, { "lArr;", 8656 }, { "lambda;", 955 }, { "lang;", 9001 },
	{ "laquo", 171 }, { "larr;", 8592 }, { "lceil;", 8968 }, { "ldquo;", 8220 },
	{ "le;", 8804 }, { "lfloor;", 8970 }, { "lowast;", 8727 }, { "loz;", 9674 },
	{ "lrm;", 8206 }, { "lsaquo;", 8249 }, { "lsquo;", 8216 }, { "lt", 60 },
	{ "macr", 175 }, { "mdash;", 8212 }, { "micro", 181 }, { "middot", 183 },
	{ "minus;", 8722 }, { "mu;", 956 }, { "nabla;", 8711 }, { "nbsp", 160 },
	{ "ndash;", 8211 }, { "ne;", 8800 }, { "ni;", 8715 }, { "not", 172 },
	{ "notin;", 8713 }, { "nsub;", 8836 }, { "ntilde", 241 }, { "nu;", 957 },
	{ "oacute", 243 }, { "ocirc", 244 }, { "oelig;", 339 }, { "ograve", 242 },
	{ "oline;", 8254 }, { "omega;", 969 }, { "omicron;", 959 },
	{ "oplus;", 8853 }, { "or;", 8744 }, { "ordf", 170 }, { "ordm", 186 },
	{ "oslash", 248 }, { "otilde", 245 }, { "otimes;", 8855 }, { "ouml", 246 },
	{ "para", 182 }, { "part;", 8706 }, { "permil;", 8240 }, { "perp;", 8869 },
	{ "phi;", 966 }, { "pi;", 960 }, { "piv;", 982 }, { "plusmn", 177 },
	{ "pound", 163 }, { "prime;", 8242 }, { "prod;", 8719 }, { "prop;", 8733 },
	{ "psi;", 968 }, { "quot", 34 }, { "rArr;", 8658 }, { "radic;", 8730 },
	{ "rang;", 9002 }, { "raquo", 187 }, { "rarr;", 8594 }, { "rceil;", 8969 },
	{ "rdquo;", 8221 }, { "real;", 8476 }, { "reg", 174 }, { "rfloor;", 8971 },
	{ "rho;", 961 }, { "rlm;", 8207 }, { "rsaquo;", 8250 }, { "rsquo;", 8217 },
	{ "sbquo;", 8218 }, { "scaron;", 353 }, { "sdot;", 8901 }, { "sect", 167 },
	{ "shy", 173 }, { "sigma;", 963 }, { "sigmaf;", 962 }, { "sim;", 8764 },
	{ "spades;", 9824 }, { "sub;", 8834 }, { "sube;", 8838 }, { "sum;", 8721 },
	{ "sup1", 185 }, { "sup2", 178 }, { "sup3", 179 }, { "sup;", 8835 },
	{ "supe;", 8839 }, { "szlig", 223 }, { "tau;", 964 }, { "there4;", 8756 },
	{ "theta;", 952 }, { "thetasym;", 977 }, { "thinsp;", 8201 },
	{ "thorn", 254 }, { "tilde;", 732 }, { "times", 215 }, { "trade;", 8482 },
	{ "uArr;", 8657 }, { "uacute", 250 }, { "uarr;", 8593 }, { "ucirc", 251 },
	{ "ugrave", 249 }, { "uml", 168 }, { "upsih;", 978 }, { "upsilon;", 965 },
	{ "uuml", 252 }, { "weierp;", 8472 }, { "xi;", 958 }, { "yacute", 253 },
	{ "yen", 165 }, { "yuml", 255 }, { "zeta;", 950 }, { "zwj;", 8205 },
	{ "zwnj;", 8204 },
};

static int entity_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct entity *)e)->name);
}

static const struct entity *entity_find(const char *name, size_t len)
{
	char key[16];
	if (len == 0 || len >= sizeof(key))
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	return bsearch(key, entities, N_ELEMENTS(entities), sizeof(entities[0]), entity_cmp);
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool is_hspace(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_name_first(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool is_name_char(unsigned char c)
{
	return is_name_first(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static bool valid_utf8_nonascii(const char *s, size_t len)
{
	bool high = false;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		high = true;
		size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		if (n == 0 || c >= 0xf5 || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return high;
}

/* HTML::Parser's decode_entities(): &#N; &#xN; and named entities
   (HTML 4's 253), the ';' optional; with expand_prefix (text, not
   attributes) an unknown name may be a known one followed by letters.
   A decoded character up to 255 is one byte unless the text already
   holds UTF-8 (HTML::Parser's utf8_mode upgrades it then). */
static char *decode_entities(struct pool *pool, const char *s, size_t len,
			     bool expand_prefix, bool utf8, size_t *len_r)
{
	struct buf b;
	bool as_utf8 = utf8 || valid_utf8_nonascii(s, len);

	if (memchr(s, '&', len) == NULL) {
		*len_r = len;
		return pool_strndup(pool, s, len);
	}
	buf_init_pool(&b, pool, 0);
	for (size_t i = 0; i < len;) {
		if (s[i] != '&') {
			size_t j = i;
			while (j < len && s[j] != '&')
				j++;
			buf_append(&b, s + i, j - i);
			i = j;
			continue;
		}
		size_t p = i + 1;
		long cp = -1;
		if (p < len && s[p] == '#') {
			p++;
			unsigned long num = 0;
			bool ok = false;
			if (p < len && (s[p] == 'x' || s[p] == 'X')) {
				p++;
				while (p < len) {
					char c = s[p];
					int h = (c >= '0' && c <= '9') ? c - '0' :
						(c >= 'a' && c <= 'f') ? c - 'a' + 10 :
						(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
					if (h < 0)
						break;
					num = num * 16 + (unsigned)h;
					if (num > 0x10ffff)
						num = 0x110000;
					p++;
					ok = true;
				}
			} else {
				while (p < len && s[p] >= '0' && s[p] <= '9') {
					num = num * 10 + (unsigned)(s[p] - '0');
					if (num > 0x10ffff)
						num = 0x110000;
					p++;
					ok = true;
				}
			}
			if (ok) {
				if ((num >= 0xd800 && num <= 0xdfff) || (num >= 0xfdd0 && num <= 0xfdef) ||
				    (num & 0xfffe) == 0xfffe || num > 0x10ffff)
					num = num <= 255 ? num : 0xfffd;
				cp = (long)num;
			}
		} else {
			size_t n = p;
			while (n < len && is_alnum((unsigned char)s[n]))
				n++;
			const struct entity *e = entity_find(s + p, n - p);
			if (e == NULL && n < len && s[n] == ';') {
				char key[17];
				if (n - p + 1 < sizeof(key)) {
					memcpy(key, s + p, n - p);
					key[n - p] = ';';
					e = entity_find(key, n - p + 1);
				}
			}
			if (e == NULL && expand_prefix && (n >= len || s[n] != ';')) {
				for (size_t m = n - 1; m > p && e == NULL; m--) {
					e = entity_find(s + p, m - p);
					if (e != NULL)
						n = m;
				}
			}
			if (e != NULL) {
				cp = e->cp;
				p = n;
			}
		}
		if (cp < 0) {
			buf_append_c(&b, '&');
			i++;
			continue;
		}
		if (p < len && s[p] == ';')
			p++;
		if (cp <= 255 && !as_utf8)
			buf_append_c(&b, (char)cp);
		else
			buf_append_utf8(&b, (uint32_t)cp);
		i = p;
	}
	*len_r = b.len;
	return (char *)buf_cstr(&b);
}

/*
 * SpamAssassin's handlers (HTML.pm)
 */

/* in strcmp order (is_element() searches it) */
static const char *const elements[] = {
	"a", "abbr", "acronym", "address", "applet", "area", "b", "base", "basefont",
	"bdo", "big", "blockquote", "body", "br", "button", "caption", "center", "cite",
	"code", "col", "colgroup", "dd", "del", "dfn", "dir", "div", "dl", "dt", "em",
	"fieldset", "font", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5",
	"h6", "head", "hr", "html", "i", "iframe", "img", "input", "ins", "isindex",
	"kbd", "label", "legend", "li", "link", "map", "menu", "meta", "nobr",
	"noframes", "noscript", "object", "ol", "optgroup", "option", "p", "param",
	"pre", "q", "s", "samp", "script", "select", "small", "span", "strike",
	"strong", "style", "sub", "sup", "table", "tbody", "td", "textarea", "tfoot",
	"th", "thead", "title", "tr", "tt", "u", "ul", "var", "x-sigsep", "x-tab",
};

static bool in_list(const char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

static int cmp_name(const void *k, const void *e)
{
	return strcmp(k, *(const char *const *)e);
}

/* elements[] is in strcmp order: every tag of a message is looked up */
static bool is_element(const char *t)
{
	return bsearch(t, elements, N_ELEMENTS(elements), sizeof(elements[0]), cmp_name) != NULL;
}

static bool is_trick(const char *t)
{
	static const char *const l[] = { "bgsound", "embed", "listing", "plaintext", "xmp" };
	return in_list(l, N_ELEMENTS(l), t);
}

static bool is_text_style(const char *t)
{
	static const char *const l[] = {
		"body", "font", "table", "tr", "th", "td", "big", "small", "basefont",
		"marquee", "span", "p", "div", "a",
	};
	return in_list(l, N_ELEMENTS(l), t);
}

static bool is_whitespace_el(const char *t)
{
	static const char *const l[] = {
		"br", "div", "li", "th", "td", "dt", "dd", "p", "hr", "blockquote", "pre",
		"embed", "listing", "plaintext", "xmp", "title", "h1", "h2", "h3", "h4",
		"h5", "h6",
	};
	return in_list(l, N_ELEMENTS(l), t);
}

static bool is_uri_el(const char *t)
{
	static const char *const l[] = {
		"body", "table", "tr", "td", "a", "area", "link", "img", "frame", "iframe",
		"embed", "script", "form", "base", "bgsound", "meta",
	};
	return in_list(l, N_ELEMENTS(l), t);
}

static unsigned tag_bit(const char *t)
{
	static const char *const l[] = {
		"a", "area", "link", "img", "frame", "iframe", "embed", "script", "form",
		"base", "bgsound", "meta", "body", "table", "tr", "td",
	};
	for (unsigned i = 0; i < N_ELEMENTS(l); i++)
		if (strcmp(l[i], t) == 0)
			return 1u << i;
	return 0;
}

/* ok_attributes of HTML.pm's text_style() */
static bool ok_attribute(const char *tag, const char *a)
{
	if (strcmp(tag, "basefont") == 0 || strcmp(tag, "font") == 0)
		return strcmp(a, "color") == 0 || strcmp(a, "face") == 0 || strcmp(a, "size") == 0;
	if (strcmp(tag, "body") == 0)
		return strcmp(a, "text") == 0 || strcmp(a, "bgcolor") == 0 || strcmp(a, "link") == 0 ||
		       strcmp(a, "alink") == 0 || strcmp(a, "vlink") == 0 ||
		       strcmp(a, "background") == 0;
	if (strcmp(tag, "marquee") == 0)
		return strcmp(a, "bgcolor") == 0 || strcmp(a, "background") == 0;
	if (strcmp(tag, "table") == 0 || strcmp(tag, "td") == 0 || strcmp(tag, "th") == 0 ||
	    strcmp(tag, "tr") == 0)
		return strcmp(a, "bgcolor") == 0 || strcmp(a, "style") == 0;
	if (strcmp(tag, "span") == 0 || strcmp(tag, "p") == 0 || strcmp(tag, "div") == 0 ||
	    strcmp(tag, "a") == 0)
		return strcmp(a, "style") == 0;
	return false;
}

struct attr {
	const char *name;       /* lower case */
	const char *value;      /* entity-decoded; the name for a boolean */
	size_t len;
};

struct style {
	const char *tag;
	const char *fg, *bg;
	int size;
	const char *display, *visibility;
};

struct piece {
	size_t off, len;
	bool ws, inv;
};

struct uri_ent {
	const char *uri;
	unsigned tags;
	struct buf **anchors;
	size_t n_anchors;
};

struct hs {
	struct pool *pool;
	struct mime_html_result *r;
	bool utf8;
	struct buf text;
	struct piece *pieces;
	size_t n_pieces, cap_pieces;
	struct style *styles;
	size_t n_styles, cap_styles;
	int basefont;
	struct uri_ent *uris;
	size_t n_uris, cap_uris;
	struct hash *uri_idx;
	const char *anchor_last;
	struct buf **anchors;
	size_t n_anchors;
	struct buf **titles;
	size_t n_titles;
	int title_index;
	struct hash *inside_idx;
	struct mime_html_tag_count *inside;
	size_t n_inside, cap_inside;
	struct hash *backhair;
	const char *base_href;
	struct buf comments, scripts;
	const char **comment_list, **script_list;
	size_t n_comment_list, n_script_list;
	struct buf charsets;
	bool has_charsets;
};

static int *inside_get(struct hs *h, const char *tag, bool create)
{
	void *v = hash_get_str(h->inside_idx, tag);
	if (v != NULL)
		return &h->inside[(uintptr_t)v - 1].inside;
	if (!create)
		return NULL;
	if (h->n_inside == h->cap_inside) {
		size_t nc = h->cap_inside ? h->cap_inside * 2 : 32;
		h->inside = pool_realloc(h->pool, h->inside, sizeof(*h->inside) * h->cap_inside,
					 sizeof(*h->inside) * nc);
		h->cap_inside = nc;
	}
	h->inside[h->n_inside].tag = pool_strdup(h->pool, tag);
	h->inside[h->n_inside].inside = 0;
	h->n_inside++;
	hash_put(h->inside_idx, tag, strlen(tag), (void *)(uintptr_t)h->n_inside);
	return &h->inside[h->n_inside - 1].inside;
}

static int inside(struct hs *h, const char *tag)
{
	int *p = inside_get(h, tag, false);
	return p != NULL ? *p : 0;
}

static struct style *style_top(struct hs *h)
{
	return h->n_styles > 0 ? &h->styles[h->n_styles - 1] : NULL;
}

static void style_push(struct hs *h, const struct style *s)
{
	if (h->n_styles >= HTML_MAX_STYLE_DEPTH)
		return;
	if (h->n_styles == h->cap_styles) {
		size_t nc = h->cap_styles ? h->cap_styles * 2 : 16;
		h->styles = pool_realloc(h->pool, h->styles, sizeof(*h->styles) * h->cap_styles,
					 sizeof(*h->styles) * nc);
		h->cap_styles = nc;
	}
	h->styles[h->n_styles++] = *s;
}

static const struct {
	const char *name;
	unsigned rgb;
} colors[] = {
	{ "aliceblue", 0xf0f8ff }, { "antiquewhite", 0xfaebd7 }, { "aqua", 0x00ffff },
	{ "aquamarine", 0x7fffd4 }, { "azure", 0xf0ffff }, { "beige", 0xf5f5dc },
	{ "bisque", 0xffe4c4 }, { "black", 0x000000 }, { "blanchedalmond", 0xffebcd },
	{ "blue", 0x0000ff }, { "blueviolet", 0x8a2be2 }, { "brown", 0xa52a2a },
	{ "burlywood", 0xdeb887 }, { "cadetblue", 0x5f9ea0 }, { "chartreuse", 0x7fff00 },
	{ "chocolate", 0xd2691e }, { "coral", 0xff7f50 }, { "cornflowerblue", 0x6495ed },
	{ "cornsilk", 0xfff8dc }, { "crimson", 0xdc143c }, { "cyan", 0x00ffff },
	{ "darkblue", 0x00008b }, { "darkcyan", 0x008b8b }, { "darkgoldenrod", 0xb8860b },
	{ "darkgray", 0xa9a9a9 }, { "darkgreen", 0x006400 }, { "darkgrey", 0xa9a9a9 },
	{ "darkkhaki", 0xbdb76b }, { "darkmagenta", 0x8b008b }, { "darkolivegreen", 0x556b2f },
	{ "darkorange", 0xff8c00 }, { "darkorchid", 0x9932cc }, { "darkred", 0x8b0000 },
	{ "darksalmon", 0xe9967a }, { "darkseagreen", 0x8fbc8f }, { "darkslateblue", 0x483d8b },
	{ "darkslategray", 0x2f4f4f }, { "darkslategrey", 0x2f4f4f },
	{ "darkturquoise", 0x00ced1 }, { "darkviolet", 0x9400d3 }, { "deeppink", 0xff1493 },
	{ "deepskyblue", 0x00bfff }, { "dimgray", 0x696969 }, { "dimgrey", 0x696969 },
	{ "dodgerblue", 0x1e90ff }, { "firebrick", 0xb22222 }, { "floralwhite", 0xfffaf0 },
	{ "forestgreen", 0x228b22 }, { "fuchsia", 0xff00ff }, { "gainsboro", 0xdcdcdc },
	{ "ghostwhite", 0xf8f8ff }, { "gold", 0xffd700 }, { "goldenrod", 0xdaa520 },
	{ "gray", 0x808080 }, { "green", 0x008000 }, { "greenyellow", 0xadff2f },
	{ "grey", 0x808080 }, { "honeydew", 0xf0fff0 }, { "hotpink", 0xff69b4 },
	{ "indianred", 0xcd5c5c }, { "indigo", 0x4b0082 }, { "ivory", 0xfffff0 },
	{ "khaki", 0xf0e68c }, { "lavender", 0xe6e6fa }, { "lavenderblush", 0xfff0f5 },
	{ "lawngreen", 0x7cfc00 }, { "lemonchiffon", 0xfffacd }, { "lightblue", 0xadd8e6 },
	{ "lightcoral", 0xf08080 }, { "lightcyan", 0xe0ffff },
	{ "lightgoldenrodyellow", 0xfafad2 }, { "lightgray", 0xd3d3d3 },
	{ "lightgreen", 0x90ee90 }, { "lightgrey", 0xd3d3d3 }, { "lightpink", 0xffb6c1 },
	{ "lightsalmon", 0xffa07a }, { "lightseagreen", 0x20b2aa }, { "lightskyblue", 0x87cefa },
	{ "lightslategray", 0x778899 }, { "lightslategrey", 0x778899 },
	{ "lightsteelblue", 0xb0c4de }, { "lightyellow", 0xffffe0 }, { "lime", 0x00ff00 },
	{ "limegreen", 0x32cd32 }, { "linen", 0xfaf0e6 }, { "magenta", 0xff00ff },
	{ "maroon", 0x800000 }, { "mediumaquamarine", 0x66cdaa }, { "mediumblue", 0x0000cd },
	{ "mediumorchid", 0xba55d3 }, { "mediumpurple", 0x9370db },
	{ "mediumseagreen", 0x3cb371 }, { "mediumslateblue", 0x7b68ee },
	{ "mediumspringgreen", 0x00fa9a }, { "mediumturquoise", 0x48d1cc },
	{ "mediumvioletred", 0xc71585 }, { "midnightblue", 0x191970 }, { "mintcream", 0xf5fffa },
	{ "mistyrose", 0xffe4e1 }, { "moccasin", 0xffe4b5 }, { "navajowhite", 0xffdead },
	{ "navy", 0x000080 }, { "oldlace", 0xfdf5e6 }, { "olive", 0x808000 },
	{ "olivedrab", 0x6b8e23 }, { "orange", 0xffa500 }, { "orangered", 0xff4500 },
	{ "orchid", 0xda70d6 }, { "palegoldenrod", 0xeee8aa }, { "palegreen", 0x98fb98 },
	{ "paleturquoise", 0xafeeee }, { "palevioletred", 0xdb7093 }, { "papayawhip", 0xffefd5 },
	{ "peachpuff", 0xffdab9 }, { "peru", 0xcd853f }, { "pink", 0xffc0cb },
	{ "plum", 0xdda0dd }, { "powderblue", 0xb0e0e6 }, { "purple", 0x800080 },
	{ "red", 0xff0000 }, { "rosybrown", 0xbc8f8f }, { "royalblue", 0x4169e1 },
	{ "saddlebrown", 0x8b4513 }, { "salmon", 0xfa8072 }, { "sandybrown", 0xf4a460 },
	{ "seagreen", 0x2e8b57 }, { "seashell", 0xfff5ee }, { "sienna", 0xa0522d },
	{ "silver", 0xc0c0c0 }, { "skyblue", 0x87ceeb }, { "slateblue", 0x6a5acd },
	{ "slategray", 0x708090 }, { "slategrey", 0x708090 }, { "snow", 0xfffafa },
	{ "springgreen", 0x00ff7f }, { "steelblue", 0x4682b4 }, { "tan", 0xd2b48c },
	{ "teal", 0x008080 }, { "thistle", 0xd8bfd8 }, { "tomato", 0xff6347 },
	{ "turquoise", 0x40e0d0 }, { "violet", 0xee82ee }, { "wheat", 0xf5deb3 },
	{ "white", 0xffffff }, { "whitesmoke", 0xf5f5f5 }, { "yellow", 0xffff00 },
	{ "yellowgreen", 0x9acd32 },
};

/* name_to_rgb() of HTML.pm */
const char *mime_html_color(struct pool *pool, const char *value)
{
	char *c = pool_strdup(pool, value);
	size_t n;
	str_lcase(c);
	c = str_trim(c);
	for (size_t i = 0; i < N_ELEMENTS(colors); i++)
		if (strcmp(colors[i].name, c) == 0)
			return pool_printf(pool, "#%06x", colors[i].rgb);
	/* ^[#a-f0-9]*$ or contains rgb( [\d%, ]* ) */
	bool hexish = true;
	for (const char *p = c; *p != '\0'; p++)
		if (!(*p == '#' || (*p >= 'a' && *p <= 'f') || (*p >= '0' && *p <= '9')))
			hexish = false;
	const char *rgb = strstr(c, "rgb(");
	bool rgbok = false;
	if (rgb != NULL) {
		const char *q = rgb + 4;
		while ((*q >= '0' && *q <= '9') || *q == '%' || *q == ',' || *q == ' ')
			q++;
		rgbok = *q == ')';
	}
	if (!hexish && !rgbok)
		return "invalid";
	if (rgbok) {
		unsigned v[3];
		bool pct = strchr(rgb, '%') != NULL;
		const char *q = rgb + 4;
		int k;
		for (k = 0; k < 3; k++) {
			while (*q == ' ' || *q == ',')
				q++;
			if (!(*q >= '0' && *q <= '9'))
				break;
			v[k] = (unsigned)strtoul(q, (char **)&q, 10);
			if (pct) {
				if (*q != '%')
					break;
				q++;
				v[k] = (unsigned)(v[k] / 100.0 * 255);
			}
		}
		if (k == 3)
			c = pool_printf(pool, "#%02x%02x%02x", v[0], v[1], v[2]);
	}
	if (c[0] != '#')
		return "invalid";
	char hex[16];
	n = 0;
	for (const char *p = c; *p != '\0' && n < sizeof(hex) - 1; p++)
		if ((*p >= 'a' && *p <= 'f') || (*p >= '0' && *p <= '9'))
			hex[n++] = *p;
	if (n > 6)
		n = 6;
	if (n > 3 && n < 6)
		n = 3;
	while (n % 3 != 0)
		hex[n++] = '0';
	hex[n] = '\0';
	if (n == 3)
		return pool_printf(pool, "#%c%c%c%c%c%c", hex[0], hex[0], hex[1], hex[1], hex[2],
				   hex[2]);
	return pool_printf(pool, "#%s", hex);
}

static void push_piece(struct hs *h, const char *s, size_t len, bool ws, bool inv)
{
	if (h->n_pieces == h->cap_pieces) {
		size_t nc = h->cap_pieces ? h->cap_pieces * 2 : 64;
		h->pieces = pool_realloc(h->pool, h->pieces, sizeof(*h->pieces) * h->cap_pieces,
					 sizeof(*h->pieces) * nc);
		h->cap_pieces = nc;
	}
	h->pieces[h->n_pieces].off = h->text.len;
	h->pieces[h->n_pieces].len = len;
	h->pieces[h->n_pieces].ws = ws;
	h->pieces[h->n_pieces].inv = inv;
	h->n_pieces++;
	buf_append(&h->text, s, len);
}

/* display_text() */
static void display(struct hs *h, const char *s, size_t len, bool ws, bool inv)
{
	if (ws) {
		if (h->n_pieces > 0) {
			struct piece *last = &h->pieces[h->n_pieces - 1];
			if (!last->ws && !last->inv && last->len > 0 &&
			    h->text.data[last->off + last->len - 1] == ' ') {
				last->len--;
				buf_truncate(&h->text, h->text.len - 1);
			}
		}
		push_piece(h, s, len, true, inv);
		return;
	}
	/* s/[ \t\n\r\f\x0b]+|\xc2\xa0/ / */
	struct buf t;
	buf_init_pool(&t, h->pool, 0);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b) {
			while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
					   s[i] == '\r' || s[i] == '\f' || s[i] == 0x0b))
				i++;
			buf_append_c(&t, ' ');
		} else if (!h->utf8 && c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] == 0xa0) {
			buf_append_c(&t, ' ');
			i += 2;
		} else {
			buf_append_c(&t, (char)c);
			i++;
		}
	}
	const char *p = t.data != NULL ? t.data : "";
	size_t l = t.len;
	if (h->n_pieces > 0 && !inv && h->pieces[h->n_pieces - 1].ws && l > 0 && p[0] == ' ') {
		p++;
		l--;
	}
	push_piece(h, p, l, false, inv);
}

static bool invisible(struct hs *h)
{
	struct style *st = style_top(h);
	if (st == NULL)
		return false;
	const char *fg = st->fg, *bg = st->bg;
	size_t fl = strlen(fg), bl = strlen(bg);
	const char *f6 = fl >= 6 ? fg + fl - 6 : fg, *b6 = bl >= 6 ? bg + bl - 6 : bg;
	if (strcmp(f6, b6) == 0) {
		h->r->font_low_contrast = true;
		return true;
	}
	unsigned r1, g1, b1, r2, g2, b2;
	const char *fx = fg[0] == '#' ? fg + 1 : fg, *bx = bg[0] == '#' ? bg + 1 : bg;
	bool fhex = strlen(fx) == 6 && strspn(fx, "0123456789abcdef") == 6;
	bool bhex = strlen(bx) == 6 && strspn(bx, "0123456789abcdef") == 6;
	if (fhex && bhex) {
		unsigned long fv = strtoul(fx, NULL, 16), bv = strtoul(bx, NULL, 16);
		r1 = (fv >> 16) & 0xff;
		g1 = (fv >> 8) & 0xff;
		b1 = fv & 0xff;
		r2 = (bv >> 16) & 0xff;
		g2 = (bv >> 8) & 0xff;
		b2 = bv & 0xff;
		double dr = 0.2126 * ((double)r1 - r2), dg = 0.7152 * ((double)g1 - g2),
		       db = 0.0722 * ((double)b1 - b2);
		double d2 = dr * dr + dg * dg + db * db;
		if (d2 < 144.0) {
			h->r->font_low_contrast = true;
			return true;
		}
	}
	if (strcmp(fg, "invalid") == 0 || strcmp(bg, "invalid") == 0) {
		h->r->font_invalid_color = true;
		return true;
	}
	if (st->size <= 1)
		return true;
	if (st->display != NULL && strcasecmp(st->display, "none") == 0)
		return true;
	if (st->visibility != NULL && strcasecmp(st->visibility, "hidden") == 0)
		return true;
	return false;
}

static bool is_punct_or_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
	       (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
	       (c >= 0x7b && c <= 0x7e);
}

static bool is_w(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* obfuscation: a word continued across markup; backhair: the lengths of
   the two halves (\b(\w-ish{1,7})\z of the last piece, ^(\w-ish{1,7})\b
   of this text), counted as distinct pairs */
static void word_stats(struct hs *h, const char *s, size_t len)
{
	const struct piece *last = &h->pieces[h->n_pieces - 1];
	const char *lt = h->text.data != NULL ? h->text.data + last->off : "";
	size_t ll = last->len;

	if (len > 0 && ll > 0 && !is_punct_or_space((unsigned char)s[0]) &&
	    !is_punct_or_space((unsigned char)lt[ll - 1]))
		h->r->obfuscation++;
	size_t a = 0;
	while (a < ll && a < 7 && !is_punct_or_space((unsigned char)lt[ll - 1 - a]))
		a++;
	size_t start = 0;
	for (size_t p = ll - a; a > 0 && p < ll; p++) {
		bool prev = p > 0 && is_w((unsigned char)lt[p - 1]);
		if (prev != is_w((unsigned char)lt[p])) {
			start = ll - p;
			break;
		}
	}
	if (start == 0)
		return;
	size_t b = 0;
	while (b < len && b < 7 && !is_punct_or_space((unsigned char)s[b]))
		b++;
	while (b > 0) {
		bool next = b < len && is_w((unsigned char)s[b]);
		if (is_w((unsigned char)s[b - 1]) != next)
			break;
		b--;
	}
	if (b == 0)
		return;
	char key[32];
	snprintf(key, sizeof(key), "%zu_%zu", start, b);
	hash_put(h->backhair, key, strlen(key), (void *)1);
}

static void html_text(struct hs *h, const char *s, size_t len)
{
	if (inside(h, "script") > 0) {
		h->script_list = pool_realloc(h->pool, h->script_list,
					      sizeof(char *) * h->n_script_list,
					      sizeof(char *) * (h->n_script_list + 1));
		h->script_list[h->n_script_list++] = pool_strndup(h->pool, s, len);
		return;
	}
	if (inside(h, "style") > 0)
		return;
	if (inside(h, "a") > 0) {
		void *v = hash_get_str(h->uri_idx, h->anchor_last ? h->anchor_last : "");
		if (v != NULL) {
			struct uri_ent *u = &h->uris[(uintptr_t)v - 1];
			if (u->n_anchors > 0)
				buf_append(u->anchors[u->n_anchors - 1], s, len);
		}
		if (h->n_anchors > 0)
			buf_append(h->anchors[h->n_anchors - 1], s, len);
	}
	if (inside(h, "title") > 0 && h->title_index >= 0 && (size_t)h->title_index < h->n_titles)
		buf_append(h->titles[h->title_index], s, len);
	bool inv = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b)
			continue;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] == 0xa0) {
			i++;
			continue;
		}
		inv = invisible(h);
		break;
	}
	if (h->n_pieces > 0)
		word_stats(h, s, len);
	display(h, s, len, false, inv);
}

static struct uri_ent *uri_entry(struct hs *h, const char *uri)
{
	void *v = hash_get_str(h->uri_idx, uri);
	if (v != NULL)
		return &h->uris[(uintptr_t)v - 1];
	if (h->n_uris == h->cap_uris) {
		size_t nc = h->cap_uris ? h->cap_uris * 2 : 16;
		h->uris = pool_realloc(h->pool, h->uris, sizeof(*h->uris) * h->cap_uris,
				       sizeof(*h->uris) * nc);
		h->cap_uris = nc;
	}
	struct uri_ent *u = &h->uris[h->n_uris++];
	memset(u, 0, sizeof(*u));
	u->uri = pool_strdup(h->pool, uri);
	hash_put(h->uri_idx, uri, strlen(uri), (void *)(uintptr_t)h->n_uris);
	return u;
}

/* canon_uri(): trims white space and NBSP, truncates */
static char *canon_uri(struct hs *h, const char *v)
{
	const char *s = v, *e = v + strlen(v);
	while (s < e && (is_hspace((unsigned char)*s) || (unsigned char)*s == 0xa0))
		s++;
	while (e > s && (is_hspace((unsigned char)e[-1]) || (unsigned char)e[-1] == 0xa0))
		e--;
	size_t l = (size_t)(e - s);
	if (l > HTML_MAX_URI_LENGTH) {
		h->r->uri_truncated = true;
		l = HTML_MAX_URI_LENGTH;
	}
	return pool_strndup(h->pool, s, l);
}

static void push_uri(struct hs *h, const char *tag, const char *raw)
{
	char *uri = canon_uri(h, raw);
	if (uri[0] == '\0')
		return;
	const char *target = uri;
	if (!(strncasecmp(uri, "data:", 5) == 0 || strncasecmp(uri, "mailto:", 7) == 0 ||
	      strncasecmp(uri, "file:", 5) == 0 || strncasecmp(uri, "cid:", 4) == 0 ||
	      strncasecmp(uri, "tel:", 4) == 0)) {
		target = mime_uri_resolve(h->pool, h->base_href ? h->base_href : "", uri);
		if (target[0] == '\0')
			return;
	}
	uri_entry(h, target)->tags |= tag_bit(tag);
}

static const struct attr *attr_get(const struct attr *a, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].name, name) == 0)
			return &a[i];
	return NULL;
}

/* an attribute named like "x/href" (\w{1,8}/href) counts as href */
static const struct attr *attr_slash(const struct attr *a, size_t n, const char *name)
{
	const struct attr *r = attr_get(a, n, name);
	size_t nl = strlen(name);
	for (size_t i = 0; i < n; i++) {
		const char *sl = strchr(a[i].name, '/');
		if (sl == NULL || sl == a[i].name || strcmp(sl + 1, name) != 0)
			continue;
		/* \w{1,8}/href anywhere in the name */
		size_t w = 0;
		const char *p = sl;
		while (p > a[i].name && is_w((unsigned char)p[-1]) && w < 8) {
			p--;
			w++;
		}
		if (w >= 1 && strlen(sl + 1) == nl)
			r = &a[i];
	}
	return r;
}

static void html_uri(struct hs *h, const char *tag, const struct attr *a, size_t n)
{
	const struct attr *v;
	if (strcmp(tag, "body") == 0 || strcmp(tag, "table") == 0 || strcmp(tag, "tr") == 0 ||
	    strcmp(tag, "td") == 0) {
		if ((v = attr_get(a, n, "background")) != NULL)
			push_uri(h, tag, v->value);
	} else if (strcmp(tag, "a") == 0 || strcmp(tag, "area") == 0 || strcmp(tag, "link") == 0) {
		if ((v = attr_slash(a, n, "href")) != NULL) {
			/* a byte-order mark inside an href is dropped */
			struct buf b;
			buf_init_pool(&b, h->pool, 0);
			for (const char *p = v->value; *p != '\0'; p++) {
				if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
				    (unsigned char)p[2] == 0xbf) {
					p += 2;
					continue;
				}
				buf_append_c(&b, *p);
			}
			push_uri(h, tag, buf_cstr(&b));
		}
		if ((v = attr_get(a, n, "data-saferedirecturl")) != NULL)
			push_uri(h, tag, v->value);
	} else if (strcmp(tag, "img") == 0 || strcmp(tag, "frame") == 0 ||
		   strcmp(tag, "iframe") == 0 || strcmp(tag, "embed") == 0 ||
		   strcmp(tag, "script") == 0 || strcmp(tag, "bgsound") == 0) {
		if ((v = attr_slash(a, n, "src")) != NULL)
			push_uri(h, tag, v->value);
	} else if (strcmp(tag, "form") == 0) {
		if ((v = attr_get(a, n, "action")) != NULL)
			push_uri(h, tag, v->value);
	} else if (strcmp(tag, "base") == 0) {
		if ((v = attr_get(a, n, "href")) != NULL && v->value[0] != '\0' &&
		    strcmp(v->value, "0") != 0) {
			char *uri = canon_uri(h, v->value);
			push_uri(h, tag, uri);
			/* ^(?:https?|ftp):/{0,2} : strip a trailing file name */
			const char *c = strchr(uri, ':');
			if (c != NULL && ((c - uri == 4 && strncasecmp(uri, "http", 4) == 0) ||
					  (c - uri == 5 && strncasecmp(uri, "https", 5) == 0) ||
					  (c - uri == 3 && strncasecmp(uri, "ftp", 3) == 0))) {
				/* ^([a-z]+:/{0,2}[^/]+/.*?)[^/\.]+\.[^/\.]{2,4}$ */
				const char *host = c + 1;
				int sl = 0;
				while (*host == '/' && sl < 2) {
					host++;
					sl++;
				}
				const char *slash = strchr(host, '/');
				if (slash != NULL && slash > host) {
					size_t l = strlen(uri);
					const char *dot = strrchr(uri, '.');
					const char *lsl = strrchr(uri, '/');
					if (dot != NULL && dot > lsl && lsl >= slash) {
						size_t ext = l - (size_t)(dot + 1 - uri);
						bool extok = ext >= 2 && ext <= 4 &&
							     strpbrk(dot + 1, "/.") == NULL;
						bool nameok = dot > lsl + 1;
						for (const char *q = lsl + 1; q < dot; q++)
							if (*q == '.')
								nameok = false;
						if (extok && nameok)
							uri = pool_strndup(h->pool, uri, (size_t)(lsl + 1 - uri));
					}
				}
				size_t l = strlen(uri);
				if (l == 0 || uri[l - 1] != '/')
					uri = pool_printf(h->pool, "%s/", uri);
				h->base_href = uri;
			}
		}
	} else if (strcmp(tag, "meta") == 0) {
		const struct attr *he = attr_get(a, n, "http-equiv"), *ct = attr_get(a, n, "content");
		if (he != NULL && ct != NULL && strcasestr(he->value, "refresh") != NULL) {
			/* \burl\s*= */
			const char *c = ct->value, *u = NULL;
			for (const char *p = c; (p = strcasestr(p, "url")) != NULL; p++) {
				if (p > c && is_w((unsigned char)p[-1]))
					continue;
				const char *q = p + 3;
				while (is_hspace((unsigned char)*q))
					q++;
				if (*q == '=')
					u = p;
			}
			if (u != NULL) {
				/* everything up to the last "url=" goes, then from ';' on */
				const char *q = u + 3;
				while (is_hspace((unsigned char)*q))
					q++;
				q++;
				while (is_hspace((unsigned char)*q))
					q++;
				const char *e = strchr(q, ';');
				size_t l = e != NULL ? (size_t)(e - q) : strlen(q);
				while (l > 0 && is_hspace((unsigned char)q[l - 1]))
					l--;
				push_uri(h, tag, pool_strndup(h->pool, q, l));
			}
		}
	}
}

static void close_table_tag(struct hs *h, const char *tag)
{
	bool found = false;
	for (size_t i = 0; i < h->n_styles; i++)
		if (strcmp(h->styles[i].tag, tag) == 0)
			found = true;
	if (!found)
		return;
	while (h->n_styles > 0) {
		const char *top = h->styles[h->n_styles - 1].tag;
		if ((strcmp(tag, "td") == 0 && (strcmp(top, "font") == 0 || strcmp(top, "td") == 0)) ||
		    (strcmp(tag, "tr") == 0 && (strcmp(top, "font") == 0 || strcmp(top, "td") == 0 ||
						strcmp(top, "tr") == 0)))
			h->n_styles--;
		else
			break;
	}
}

static void close_tag(struct hs *h, const char *tag)
{
	bool found = false;
	for (size_t i = 0; i < h->n_styles; i++)
		if (strcmp(h->styles[i].tag, tag) == 0)
			found = true;
	if (!found)
		return;
	while (h->n_styles > 0) {
		const char *t = h->styles[--h->n_styles].tag;
		if (strcmp(t, tag) == 0)
			break;
	}
}

static int leading_int(const char *s, bool signed_ok, bool *ok)
{
	while (is_hspace((unsigned char)*s))
		s++;
	*ok = false;
	if (signed_ok) {
		if (!(*s == '+' || *s == '-') || !(s[1] >= '0' && s[1] <= '9'))
			return 0;
	} else if (!(*s >= '0' && *s <= '9')) {
		return 0;
	}
	*ok = true;
	return (int)strtol(s, NULL, 10);
}

/* The last layer's first colour of a CSS `background:` (HTML.pm's
   parse_css_background()): tokens split at spaces outside () and
   quotes, layers at commas. */
static const char *css_background_color(struct pool *pool, const char *v)
{
	const char *last_layer = v;
	int depth = 0;
	char quote = 0;
	for (const char *p = v; *p != '\0'; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && depth > 0) {
			depth--;
		} else if (*p == ',' && depth == 0) {
			last_layer = p + 1;
		}
	}
	const char *p = last_layer;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *s = p;
		depth = 0;
		quote = 0;
		while (*p != '\0' && !(*p == ' ' && depth == 0 && !quote)) {
			if (quote) {
				if (*p == quote)
					quote = 0;
			} else if (*p == '"' || *p == '\'') {
				quote = *p;
			} else if (*p == '(') {
				depth++;
			} else if (*p == ')' && depth > 0) {
				depth--;
				if (depth == 0) {
					p++;
					break;
				}
			}
			p++;
		}
		if (p > s) {
			const char *c = mime_html_color(pool, pool_strndup(pool, s, (size_t)(p - s)));
			if (strcmp(c, "invalid") != 0)
				return c;
		}
	}
	return NULL;
}

static void text_style(struct hs *h, const char *tag, const struct attr *a, size_t n, int num)
{
	if (strcmp(tag, "th") == 0)
		tag = "td";
	if (num != 1) {
		if (strcmp(tag, "body") != 0)
			close_tag(h, tag);
		return;
	}
	if (strcmp(tag, "basefont") == 0) {
		const struct attr *sz = attr_get(a, n, "size");
		bool ok;
		int v = sz != NULL ? leading_int(sz->value, false, &ok) : 0;
		if (sz != NULL && ok) {
			h->basefont = v;
			return;
		}
	}
	if (strcmp(tag, "td") == 0 || strcmp(tag, "tr") == 0)
		close_table_tag(h, tag);
	struct style nw;
	struct style *top = style_top(h);
	if (top != NULL)
		nw = *top;
	else
		nw = (struct style){ "default", "#000000", "#ffffff", 3, NULL, NULL };
	nw.tag = tag;
	if (strcmp(tag, "big") == 0) {
		nw.size++;
		style_push(h, &nw);
		return;
	}
	if (strcmp(tag, "small") == 0) {
		nw.size--;
		style_push(h, &nw);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = a[i].name;
		if (!ok_attribute(tag, name))
			continue;
		if (strcmp(name, "text") == 0 || strcmp(name, "color") == 0) {
			nw.fg = mime_html_color(h->pool, a[i].value);
		} else if (strcmp(name, "size") == 0) {
			bool ok;
			int v = leading_int(a[i].value, true, &ok);
			if (ok) {
				nw.size = h->basefont + v;
			} else {
				v = leading_int(a[i].value, false, &ok);
				if (ok)
					nw.size = v;
			}
		} else if (strcmp(name, "style") == 0) {
			char *st = pool_strdup(h->pool, a[i].value);
			char *save = NULL;
			for (char *part = strtok_r(st, ";", &save); part != NULL;
			     part = strtok_r(NULL, ";", &save)) {
				char *p = part;
				while (is_hspace((unsigned char)*p))
					p++;
				bool bgc = strncasecmp(p, "background-color:", 17) == 0;
				if (bgc || strncasecmp(p, "color:", 6) == 0) {
					char *v = p + (bgc ? 17 : 6);
					while (is_hspace((unsigned char)*v))
						v++;
					char *val = str_trim(pool_strdup(h->pool, v));
					str_lcase(val);
					if (val[0] == '\0')
						goto generic;
					/* s/\s*!\s*important$// */
					size_t vl = strlen(val);
					if (vl >= 9 && strcmp(val + vl - 9, "important") == 0) {
						char *q = val + vl - 9;
						while (q > val && is_hspace((unsigned char)q[-1]))
							q--;
						if (q > val && q[-1] == '!') {
							q--;
							while (q > val && is_hspace((unsigned char)q[-1]))
								q--;
							*q = '\0';
						}
					}
					const char **dst = bgc ? &nw.bg : &nw.fg;
					if (strstr(val, "rgb") != NULL) {
						unsigned v3[3] = { 0, 0, 0 };
						int k = 0;
						char digits[64];
						size_t dl = 0;
						for (const char *q = val; *q != '\0' && dl < sizeof(digits) - 1; q++)
							if ((*q >= '0' && *q <= '9') || *q == ',')
								digits[dl++] = *q;
						digits[dl] = '\0';
						char *save2 = NULL;
						char *tok = digits;
						/* split(/,/) keeps empty fields between commas */
						for (k = 0; k < 3 && tok != NULL; k++) {
							char *c = strchr(tok, ',');
							if (c != NULL)
								*c = '\0';
							unsigned long x = strtoul(tok, NULL, 10);
							v3[k] = x > 255 ? 255 : (unsigned)x;
							tok = c != NULL ? c + 1 : NULL;
						}
						(void)save2;
						*dst = pool_printf(h->pool, "#%02x%02x%02x", v3[0], v3[1], v3[2]);
					} else if (strcmp(val, "inherit") == 0) {
						/* keep */
					} else if (strcmp(val, "transparent") == 0) {
						*dst = "transparent";
					} else {
						*dst = mime_html_color(h->pool, val);
					}
					continue;
				}
				if (strncmp(p, "background:", 11) == 0) {
					char *v = str_trim(pool_strdup(h->pool, p + 11));
					if (v[0] != '\0') {
						str_lcase(v);
						const char *c = css_background_color(h->pool, v);
						if (c != NULL)
							nw.bg = c;
						continue;
					}
				}
generic:
				/* ^\s*([a-z_-]+)\s*:\s*(\S.*?)\s*$ : style_display, style_visibility */
				{
					char *q = p;
					while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
					       *q == '_' || *q == '-')
						q++;
					if (q == p)
						continue;
					char *nend = q;
					while (is_hspace((unsigned char)*q))
						q++;
					if (*q != ':')
						continue;
					q++;
					while (is_hspace((unsigned char)*q))
						q++;
					char *val = str_trim(pool_strdup(h->pool, q));
					if (val[0] == '\0')
						continue;
					size_t nl = (size_t)(nend - p);
					if (nl == 7 && strncmp(p, "display", 7) == 0)
						nw.display = val;
					else if (nl == 10 && strncmp(p, "visibility", 10) == 0)
						nw.visibility = val;
				}
			}
			if (strcmp(nw.bg, "transparent") == 0)
				nw.bg = top != NULL ? top->bg : "#ffffff";
			if (strcmp(nw.fg, "transparent") == 0)
				nw.fg = nw.bg;
		} else if (strcmp(name, "bgcolor") == 0) {
			/* HTML.pm normalises the attribute but never applies it */
		}
		if (nw.size > h->r->max_size)
			h->r->max_size = nw.size;
		else if (nw.size < h->r->min_size)
			h->r->min_size = nw.size;
	}
	style_push(h, &nw);
}

static void html_whitespace(struct hs *h, const char *tag)
{
	if (strcmp(tag, "br") == 0 || strcmp(tag, "div") == 0) {
		display(h, "\n", 1, true, false);
	} else if (strcmp(tag, "li") == 0 || strcmp(tag, "th") == 0 || strcmp(tag, "td") == 0 ||
		   strcmp(tag, "dd") == 0 || strcmp(tag, "dt") == 0 || strcmp(tag, "embed") == 0 ||
		   (tag[0] == 'h' && tag[1] >= '0' && tag[1] <= '9' && tag[2] == '\0')) {
		display(h, " ", 1, true, false);
	} else if (strcmp(tag, "p") == 0 || strcmp(tag, "hr") == 0 ||
		   strcmp(tag, "blockquote") == 0 || strcmp(tag, "pre") == 0 ||
		   strcmp(tag, "listing") == 0 || strcmp(tag, "plaintext") == 0 ||
		   strcmp(tag, "xmp") == 0 || strcmp(tag, "title") == 0) {
		display(h, "\n\n", 2, true, false);
	}
}

static bool font_face_ok(const char *f)
{
	/* ^\s*["'.]?[a-z ][a-z -]*[a-z]\d?["']?(?:,\s*["']?[a-z][a-z -]*[a-z]\d?["']?)*;?$ (i) */
	const char *p = f;
	while (is_hspace((unsigned char)*p))
		p++;
	bool first = true;
	for (;;) {
		if (first) {
			if (*p == '"' || *p == '\'' || *p == '.')
				p++;
		} else {
			if (*p != ',')
				break;
			p++;
			while (is_hspace((unsigned char)*p))
				p++;
			if (*p == '"' || *p == '\'')
				p++;
		}
		/* [a-z ][a-z -]*[a-z] (first) or [a-z][a-z -]*[a-z] */
		const char *s = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == ' ' || *p == '-')
			p++;
		/* backtrack to end on a letter */
		while (p > s && !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z')))
			p--;
		size_t l = (size_t)(p - s);
		if (l < 2)
			return false;
		if (!first && !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
			return false;
		if (first && s[0] == '-')
			return false;
		if (*p >= '0' && *p <= '9')
			p++;
		if (*p == '"' || *p == '\'')
			p++;
		first = false;
	}
	if (*p == ';')
		p++;
	return *p == '\0';
}

static void html_tests(struct hs *h, const char *tag, const struct attr *a, size_t n)
{
	const struct attr *v;
	if (strcmp(tag, "font") == 0 && (v = attr_get(a, n, "face")) != NULL &&
	    !font_face_ok(v->value))
		h->r->font_face_bad = true;
	if (strcmp(tag, "img") == 0 && inside(h, "a") > 0) {
		void *x = hash_get_str(h->uri_idx, h->anchor_last ? h->anchor_last : "");
		if (x != NULL) {
			struct uri_ent *u = &h->uris[(uintptr_t)x - 1];
			if (u->n_anchors > 0)
				buf_append_str(u->anchors[u->n_anchors - 1], "<img>\n");
		}
		if (h->n_anchors > 0)
			buf_append_str(h->anchors[h->n_anchors - 1], "<img>\n");
	}
	const struct attr *w, *ht;
	if (strcmp(tag, "img") == 0 && (w = attr_get(a, n, "width")) != NULL &&
	    (ht = attr_get(a, n, "height")) != NULL) {
		double width = 0, height = 0;
		/* ^(\d+)(\%)?$ */
		const char *p = w->value;
		size_t d = strspn(p, "0123456789");
		if (d > 0 && (p[d] == '\0' || (p[d] == '%' && p[d + 1] == '\0')))
			width = strtod(p, NULL) * (p[d] == '%' ? 8 : 1);
		p = ht->value;
		d = strspn(p, "0123456789");
		if (d > 0 && (p[d] == '\0' || (p[d] == '%' && p[d + 1] == '\0')))
			height = strtod(p, NULL) * (p[d] == '%' ? 6 : 1);
		if (width <= 0)
			width = 200;
		if (height <= 0)
			height = 200;
		h->r->image_area += width * height;
	}
	if (strcmp(tag, "form") == 0 && (v = attr_get(a, n, "action")) != NULL &&
	    strcasestr(v->value, "mailto:") != NULL)
		h->r->form_action_mailto = true;
	if (strcmp(tag, "object") == 0 || strcmp(tag, "embed") == 0)
		h->r->embeds = true;
	if (strcmp(tag, "a") == 0) {
		v = attr_get(a, n, "href");
		const char *uri = v != NULL ? canon_uri(h, v->value) : "";
		h->anchor_last = uri;
		struct uri_ent *u = uri_entry(h, uri);
		u->anchors = pool_realloc(h->pool, u->anchors, sizeof(void *) * u->n_anchors,
					  sizeof(void *) * (u->n_anchors + 1));
		u->anchors[u->n_anchors] = pool_alloc(h->pool, sizeof(struct buf));
		buf_init_pool(u->anchors[u->n_anchors++], h->pool, 0);
		h->anchors = pool_realloc(h->pool, h->anchors, sizeof(void *) * h->n_anchors,
					  sizeof(void *) * (h->n_anchors + 1));
		h->anchors[h->n_anchors] = pool_alloc(h->pool, sizeof(struct buf));
		buf_init_pool(h->anchors[h->n_anchors++], h->pool, 0);
	}
	if (strcmp(tag, "title") == 0) {
		h->title_index++;
		h->titles = pool_realloc(h->pool, h->titles, sizeof(void *) * h->n_titles,
					 sizeof(void *) * (h->n_titles + 1));
		h->titles[h->n_titles] = pool_alloc(h->pool, sizeof(struct buf));
		buf_init_pool(h->titles[h->n_titles++], h->pool, 0);
	}
	const struct attr *he = attr_get(a, n, "http-equiv"), *ct = attr_get(a, n, "content");
	if (strcmp(tag, "meta") == 0 && he != NULL && ct != NULL &&
	    strcasestr(he->value, "content-type") != NULL) {
		const char *c = strcasestr(ct->value, "charset");
		while (c != NULL && c > ct->value && is_w((unsigned char)c[-1]))
			c = strcasestr(c + 1, "charset");
		if (c != NULL) {
			const char *q = c + 7;
			while (is_hspace((unsigned char)*q))
				q++;
			if (*q == '=') {
				q++;
				while (is_hspace((unsigned char)*q))
					q++;
				if (*q == '"' || *q == '\'')
					q++;
				size_t l = strcspn(q, "\"'");
				if (l > 0) {
					if (h->has_charsets)
						buf_append_c(&h->charsets, ' ');
					buf_append(&h->charsets, q, l);
					h->has_charsets = true;
				}
			}
		}
	}
}

static bool maybe_namespace(const char *tag)
{
	/* ^(?:o|st\d):[\w-]+/?$ */
	const char *p = tag;
	if (p[0] == 'o' && p[1] == ':')
		p += 2;
	else if (p[0] == 's' && p[1] == 't' && p[2] >= '0' && p[2] <= '9' && p[3] == ':')
		p += 4;
	else
		return false;
	const char *s = p;
	while (is_w((unsigned char)*p) || *p == '-')
		p++;
	if (p == s)
		return false;
	if (*p == '/')
		p++;
	return *p == '\0';
}

static void html_tag(struct hs *h, const char *tag, const struct attr *a, size_t n, int num)
{
	bool ns = maybe_namespace(tag);
	bool el = is_element(tag);
	bool seen = inside_get(h, tag, false) != NULL;
	if (el || ns) {
		h->r->elements++;
		if (!seen)
			h->r->elements_seen++;
	}
	h->r->tags++;
	if (!seen)
		h->r->tags_seen++;
	int *in = inside_get(h, tag, true);
	*in += num;
	if (*in < 0) {
		*in = 0;
		h->r->closed_extra++;
	}
	if (ns)
		return;
	if (el || is_trick(tag)) {
		if (is_text_style(tag))
			text_style(h, tag, a, n, num);
		if (is_whitespace_el(tag))
			html_whitespace(h, tag);
		if (num == 1) {
			if (is_uri_el(tag))
				html_uri(h, tag, a, n);
			html_tests(h, tag, a, n);
		} else {
			if (strcmp(tag, "html") == 0)
				h->r->closed_html = true;
			if (strcmp(tag, "body") == 0)
				h->r->closed_body = true;
		}
	}
}

static void html_comment(struct hs *h, const char *s, size_t len)
{
	h->comment_list = pool_realloc(h->pool, h->comment_list,
				       sizeof(char *) * h->n_comment_list,
				       sizeof(char *) * (h->n_comment_list + 1));
	h->comment_list[h->n_comment_list++] = pool_strndup(h->pool, s, len);
}

static void html_declaration(struct hs *h, const char *s, size_t len)
{
	if (len >= 9 && strncasecmp(s, "<!doctype", 9) == 0) {
		h->r->elements++;
		h->r->tags++;
		*inside_get(h, "!doctype", true) = 0;
	}
}

/*
 * The tokenizer: HTML::Parser's parse_buf() state machine.
 */

enum ms_level { MS_NONE, MS_INCLUDE, MS_RCDATA, MS_CDATA, MS_IGNORE };

#define MS_MAX 32

struct hp {
	struct hs *h;
	const char *literal;    /* literal-mode element or NULL */
	bool is_cdata;
	int ms_stack[MS_MAX];
	unsigned n_ms;
	int ms;
	bool no_dash_dash;
	const char *pending_end;
};

static void ms_update(struct hp *p)
{
	p->ms = MS_NONE;
	for (unsigned i = 0; i < p->n_ms; i++)
		if (p->ms_stack[i] > p->ms)
			p->ms = p->ms_stack[i];
	p->is_cdata = p->ms == MS_CDATA;
}

static void flush_pending_end(struct hp *p)
{
	if (p->pending_end != NULL) {
		const char *t = p->pending_end;
		p->pending_end = NULL;
		if (p->ms != MS_IGNORE)
			html_tag(p->h, t, NULL, 0, -1);
	}
}

static void ev_text(struct hp *p, const char *s, const char *e)
{
	if (p->ms == MS_IGNORE || e <= s)
		return;
	if (p->is_cdata) {
		html_text(p->h, s, (size_t)(e - s));
	} else {
		size_t l;
		char *d = decode_entities(p->h->pool, s, (size_t)(e - s), true, p->h->utf8, &l);
		html_text(p->h, d, l);
	}
}

static void ev_comment(struct hp *p, const char *s, const char *e)
{
	if (p->ms == MS_IGNORE)
		return;
	html_comment(p->h, s, (size_t)(e - s));
}

static void ev_end(struct hp *p, const char *name, size_t len)
{
	flush_pending_end(p);
	if (p->ms == MS_IGNORE)
		return;
	char *t = pool_strndup(p->h->pool, name, len);
	str_lcase(t);
	html_tag(p->h, t, NULL, 0, -1);
}

static const char *skip_until_gt(const char *s, const char *end)
{
	char quote = 0, prev = ' ';
	while (s < end) {
		if (!quote && *s == '>')
			return s;
		if (*s == '"' || *s == '\'') {
			if (*s == quote)
				quote = 0;
			else if (!quote && (prev == ' ' || prev == '='))
				quote = *s;
		}
		prev = *s++;
	}
	return end;
}

#define PREMATURE ((const char *)1)

/* Each parse_* returns the position after the markup, NULL when this is
   not markup (the '<' is text), or PREMATURE when more input is needed. */
static const char *parse_comment(struct hp *p, const char *beg, const char *s, const char *end)
{
	if (p->no_dash_dash) {
		while (s < end && *s != '>')
			s++;
		if (s < end) {
			s++;
			ev_comment(p, beg, s);
			return s;
		}
		return PREMATURE;
	}
	for (;;) {
		while (s < end && *s != '-')
			s++;
		if (s >= end)
			return PREMATURE;
		const char *dash = s;
		s++;
		if (s < end && *s == '-') {
			s++;
			while (s < end && is_hspace((unsigned char)*s))
				s++;
			if (s < end && *s == '>') {
				s++;
				ev_comment(p, beg, s);
				return s;
			}
		}
		if (s >= end)
			return PREMATURE;
		s = dash + 1;
	}
}

static const char *parse_decl(struct hp *p, const char *beg, const char *end)
{
	const char *s = beg + 2;

	if (s < end && *s == '-') {
		s++;
		if (s >= end)
			return PREMATURE;
		if (*s == '-')
			return parse_comment(p, beg, s + 1, end);
		goto decl_fail;
	}
	if (s < end && *s == '[') {
		/* marked section: <![ names [ */
		int level = MS_NONE;
		bool any = false;
		s++;
		for (;;) {
			while (s < end && is_hspace((unsigned char)*s))
				s++;
			if (s < end && is_name_first((unsigned char)*s)) {
				const char *n = s++;
				while (s < end && is_name_char((unsigned char)*s))
					s++;
				size_t l = (size_t)(s - n);
				while (s < end && is_hspace((unsigned char)*s))
					s++;
				if (s >= end)
					return PREMATURE;
				int tok = MS_NONE;
				if (l == 7 && strncasecmp(n, "include", 7) == 0)
					tok = MS_INCLUDE;
				else if (l == 6 && strncasecmp(n, "rcdata", 6) == 0)
					tok = MS_RCDATA;
				else if (l == 5 && strncasecmp(n, "cdata", 5) == 0)
					tok = MS_CDATA;
				else if (l == 6 && strncasecmp(n, "ignore", 6) == 0)
					tok = MS_IGNORE;
				if (tok > level)
					level = tok;
				any = true;
				continue;
			}
			if (s < end && *s == '-') {
				s++;
				if (s < end && *s == '-') {
					s++;
					for (;;) {
						while (s < end && *s != '-')
							s++;
						if (s >= end)
							return PREMATURE;
						s++;
						if (s < end && *s == '-') {
							s++;
							break;
						}
					}
					continue;
				}
				goto decl_fail;
			}
			break;
		}
		if (s < end && *s == '[') {
			s++;
			if (!any)
				level = MS_INCLUDE;
			if (p->n_ms < MS_MAX)
				p->ms_stack[p->n_ms++] = level;
			ms_update(p);
			flush_pending_end(p);
			return s;
		}
		goto decl_fail;
	}
	if (s < end && *s == '>') {
		s++;
		ev_comment(p, beg, s);
		return s;
	}
	if (s < end && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) {
		const char *id = s++;
		while (s < end && is_name_char((unsigned char)*s))
			s++;
		size_t idl = (size_t)(s - id);
		if (s >= end)
			return PREMATURE;
		if (!((idl == 7 && strncasecmp(id, "doctype", 7) == 0) ||
		      (idl == 6 && strncasecmp(id, "entity", 6) == 0)))
			goto decl_fail;
		for (;;) {
			while (s < end && is_hspace((unsigned char)*s))
				s++;
			if (s >= end)
				return PREMATURE;
			if (*s == '"' || *s == '\'') {
				char q = *s++;
				while (s < end && *s != q)
					s++;
				if (s >= end)
					return PREMATURE;
				s++;
			} else if (*s == '-') {
				s++;
				if (s >= end)
					return PREMATURE;
				if (*s != '-')
					goto decl_fail;
				s++;
				for (;;) {
					while (s < end && *s != '-')
						s++;
					if (s >= end)
						return PREMATURE;
					s++;
					if (s >= end)
						return PREMATURE;
					if (*s == '-') {
						s++;
						break;
					}
				}
			} else if (*s != '>') {
				s++;
				while (s < end && !is_hspace((unsigned char)*s) && *s != '>')
					s++;
				if (s >= end)
					return PREMATURE;
			} else {
				break;
			}
		}
		s++;
		flush_pending_end(p);
		if (p->ms != MS_IGNORE)
			html_declaration(p->h, beg, (size_t)(s - beg));
		return s;
	}
decl_fail:
	/* everything up to the first '>' is a comment */
	while (s < end && *s != '>')
		s++;
	if (s < end) {
		s++;
		ev_comment(p, beg, s);
		return s;
	}
	return PREMATURE;
}

static bool literal_elem(const char *name, size_t len, const char **lit, bool *cdata)
{
	static const struct {
		const char *name;
		bool cdata;
	} l[] = {
		{ "script", true }, { "style", true }, { "xmp", true }, { "iframe", true },
		{ "plaintext", true }, { "title", false }, { "textarea", false },
	};
	for (size_t i = 0; i < N_ELEMENTS(l); i++)
		if (strlen(l[i].name) == len && strncasecmp(l[i].name, name, len) == 0) {
			*lit = l[i].name;
			*cdata = l[i].cdata;
			return true;
		}
	return false;
}

static const char *parse_start(struct hp *p, const char *beg, const char *end)
{
	const char *s = beg + 1;
	struct attr attrs[64];
	size_t n = 0;

	while (s < end && !is_hspace((unsigned char)*s) && *s != '>')
		s++;
	const char *name = beg + 1;
	size_t nlen = (size_t)(s - name);
	while (s < end && is_hspace((unsigned char)*s))
		s++;
	if (s >= end)
		return PREMATURE;
	while (!is_hspace((unsigned char)*s) && *s != '>') {
		const char *an = s++;
		while (s < end && !is_hspace((unsigned char)*s) && *s != '=' && *s != '>')
			s++;
		if (s >= end)
			return PREMATURE;
		size_t anl = (size_t)(s - an);
		while (s < end && is_hspace((unsigned char)*s))
			s++;
		if (s >= end)
			return PREMATURE;
		const char *val = NULL;
		size_t vl = 0;
		bool boolean = false, stop = false;
		if (*s == '=') {
			s++;
			while (s < end && is_hspace((unsigned char)*s))
				s++;
			if (s >= end)
				return PREMATURE;
			if (*s == '>') {
				val = s;
				vl = 0;
				stop = true;
			} else if (*s == '"' || *s == '\'') {
				char q = *s;
				const char *vs = ++s;
				while (s < end && *s != q)
					s++;
				if (s >= end)
					return PREMATURE;
				val = vs;
				vl = (size_t)(s - vs);
				s++;
			} else {
				const char *vs = s;
				while (s < end && !is_hspace((unsigned char)*s) && *s != '>')
					s++;
				if (s >= end)
					return PREMATURE;
				val = vs;
				vl = (size_t)(s - vs);
			}
			if (!stop) {
				while (s < end && is_hspace((unsigned char)*s))
					s++;
				if (s >= end)
					return PREMATURE;
			}
		} else {
			boolean = true;
		}
		if (n < N_ELEMENTS(attrs)) {
			char *nm = pool_strndup(p->h->pool, an, anl);
			str_lcase(nm);
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				if (strcmp(attrs[i].name, nm) == 0)
					dup = true;
			if (!dup) {
				attrs[n].name = nm;
				if (boolean) {
					attrs[n].value = pool_strndup(p->h->pool, an, anl);
					attrs[n].len = anl;
				} else {
					attrs[n].value = decode_entities(p->h->pool, val, vl, false,
									 p->h->utf8, &attrs[n].len);
				}
				n++;
			}
		}
		if (stop)
			break;
	}
	if (*s != '>')
		return NULL;
	s++;
	flush_pending_end(p);
	if (p->ms != MS_IGNORE) {
		char *t = pool_strndup(p->h->pool, name, nlen);
		str_lcase(t);
		html_tag(p->h, t, attrs, n, 1);
	}
	const char *lit;
	bool cd;
	if (literal_elem(name, nlen, &lit, &cd)) {
		p->literal = lit;
		p->is_cdata = cd;
	}
	return s;
}

static const char *parse_end(struct hp *p, const char *beg, const char *end)
{
	const char *s = beg + 2;
	if (s < end && !is_hspace((unsigned char)*s) && *s != '>') {
		const char *n = s++;
		while (s < end && !is_hspace((unsigned char)*s) && *s != '>')
			s++;
		size_t nl = (size_t)(s - n);
		s = skip_until_gt(s, end);
		if (s < end) {
			ev_end(p, n, nl);
			return s + 1;
		}
		return PREMATURE;
	}
	s = skip_until_gt(s, end);
	if (s < end) {
		s++;
		ev_comment(p, beg, s);
		return s;
	}
	return PREMATURE;
}

static const char *parse_process(struct hp *p, const char *beg, const char *end)
{
	const char *s = beg + 2;
	while (s < end) {
		if (*s == '>') {
			flush_pending_end(p);
			return s + 1; /* no handler: ignored */
		}
		s++;
	}
	return PREMATURE;
}

static const char *parse_buf(struct hp *p, const char *beg, const char *end)
{
	const char *s = beg, *t = beg;

	for (;;) {
		while (p->literal != NULL) {
			const char *l = p->literal;
			while (s < end && *s != '<')
				s++;
			if (s >= end)
				return t;
			const char *end_text = s++;
			if (s < end && *s == '/') {
				s++;
				const char *ns = s;
				while (*l != '\0' && s < end && ascii_lower(*s) == *l) {
					s++;
					l++;
				}
				if (*l == '\0' && strcmp(p->literal, "plaintext") != 0) {
					size_t nl = (size_t)(s - ns);
					while (s < end && is_hspace((unsigned char)*s))
						s++;
					if (s < end && *s == '>') {
						s++;
						ev_text(p, t, end_text);
						ev_end(p, ns, nl);
						p->literal = NULL;
						p->is_cdata = false;
						t = s;
					}
				}
			}
		}
		while (p->ms == MS_CDATA || p->ms == MS_RCDATA) {
			while (s < end && *s != ']')
				s++;
			if (s < end && *s == ']') {
				const char *end_text = s++;
				if (s + 1 < end && s[0] == ']' && s[1] == '>') {
					s += 2;
					ev_text(p, t, end_text);
					t = s;
					if (p->n_ms > 0)
						p->n_ms--;
					ms_update(p);
					continue;
				}
			}
			if (s >= end)
				return t;
		}
		while (s < end && *s != '<') {
			if (p->ms != MS_NONE && *s == ']') {
				const char *end_text = s++;
				if (s < end && *s == ']') {
					s++;
					if (s < end && *s == '>') {
						s++;
						ev_text(p, t, end_text);
						t = s;
						if (p->n_ms > 0)
							p->n_ms--;
						ms_update(p);
						continue;
					}
				}
				continue;
			}
			s++;
		}
		if (s != t) {
			if (s < end) {
				ev_text(p, t, s);
				t = s;
			} else {
				/* hold back trailing white space, or a trailing word
				   with the white space before it (a cut entity) */
				s--;
				if (is_hspace((unsigned char)*s)) {
					while (s >= t && is_hspace((unsigned char)*s))
						s--;
				} else {
					while (s >= t && !is_hspace((unsigned char)*s))
						s--;
					while (s >= t && is_hspace((unsigned char)*s))
						s--;
				}
				s++;
				if (s != t)
					ev_text(p, t, s);
				return s;
			}
		}
		if (end - s < 3)
			return s;
		s++;
		const char *np;
		if (is_name_first((unsigned char)*s))
			np = parse_start(p, t, end);
		else if (*s == '/')
			np = parse_end(p, t, end);
		else if (*s == '!')
			np = parse_decl(p, t, end);
		else if (*s == '?')
			np = parse_process(p, t, end);
		else
			np = NULL;
		if (np == PREMATURE)
			return t;
		if (np != NULL)
			t = s = np;
	}
}

/* parse() of a chunk: parse_buf over the held-back rest plus the chunk */
static void hp_parse(struct hp *p, struct buf *pending, const char *data, size_t len)
{
	buf_append(pending, data, len);
	const char *beg = pending->data != NULL ? pending->data : "";
	const char *end = beg + pending->len;
	const char *s = parse_buf(p, beg, end);
	buf_consume(pending, (size_t)(s - beg));
}

static void hp_eof(struct hp *p, struct buf *pending)
{
	const char *s = pending->data != NULL ? pending->data : "";
	const char *end = s + pending->len;

	while (s < end) {
		if (p->literal != NULL) {
			const char *l = p->literal;
			if (strcmp(l, "plaintext") == 0 || strcmp(l, "xmp") == 0 ||
			    strcmp(l, "iframe") == 0 || strcmp(l, "textarea") == 0)
				break;
			if (strcmp(l, "script") == 0 || strcmp(l, "style") == 0)
				ev_end(p, l, strlen(l));
			else
				p->pending_end = l;
			p->literal = NULL;
			p->is_cdata = false;
			s = parse_buf(p, s, end);
			continue;
		}
		if (!p->no_dash_dash && *s == '<') {
			p->no_dash_dash = true;
			s = parse_buf(p, s, end);
			continue;
		}
		if (*s == '<') {
			const char *s1 = s + 1;
			if (s1 == end || is_name_first((unsigned char)*s1) || *s1 == '/' ||
			    *s1 == '!' || *s1 == '?') {
				ev_comment(p, s, end);
				s = end;
			}
		}
		break;
	}
	if (s < end)
		ev_text(p, s, end);
	flush_pending_end(p);
	buf_reset(pending);
	p->literal = NULL;
	p->is_cdata = false;
}

void mime_html_render(struct pool *pool, const char *html, size_t len, bool utf8_chars,
		      struct mime_html_result *r)
{
	struct hs h;
	struct hp p;
	struct buf in, pending;

	memset(r, 0, sizeof(*r));
	memset(&h, 0, sizeof(h));
	memset(&p, 0, sizeof(p));
	h.pool = pool;
	h.r = r;
	h.utf8 = utf8_chars;
	h.basefont = 3;
	h.title_index = -1;
	h.uri_idx = hash_create(16);
	h.inside_idx = hash_create(32);
	h.backhair = hash_create(16);
	buf_init_pool(&h.text, pool, 0);
	buf_init_pool(&h.charsets, pool, 0);
	r->min_size = r->max_size = 3;
	r->length = len;
	struct style def = { "default", "#000000", "#ffffff", 3, NULL, NULL };
	style_push(&h, &def);
	p.h = &h;

	/* s/&nbsp;/ /g; s/<(\w+)\s*\/>/<$1>/gi; curly double quotes -> " */
	buf_init(&in, 0);
	for (size_t i = 0; i < len;) {
		if (html[i] == '&' && len - i >= 6 && memcmp(html + i, "&nbsp;", 6) == 0) {
			buf_append_c(&in, ' ');
			i += 6;
		} else if (html[i] == '<' && i + 1 < len && is_w((unsigned char)html[i + 1])) {
			size_t j = i + 1;
			while (j < len && is_w((unsigned char)html[j]))
				j++;
			size_t k = j;
			while (k < len && is_hspace((unsigned char)html[k]))
				k++;
			if (k + 1 < len && html[k] == '/' && html[k + 1] == '>') {
				buf_append(&in, html + i, j - i);
				buf_append_c(&in, '>');
				i = k + 2;
			} else {
				buf_append(&in, html + i, j - i);
				i = j;
			}
		} else if ((unsigned char)html[i] == 0xe2 && i + 2 < len &&
			   (unsigned char)html[i + 1] == 0x80 &&
			   ((unsigned char)html[i + 2] == 0x9c || (unsigned char)html[i + 2] == 0x9d)) {
			buf_append_c(&in, '"');
			i += 3;
		} else {
			buf_append_c(&in, html[i]);
			i++;
		}
	}
	buf_init(&pending, 0);
	hp_parse(&p, &pending, in.data != NULL ? in.data : "", in.len);
	for (int i = 0; i < HTML_MAX_CLOSE_LOOPS && inside(&h, "style") > 0; i++)
		hp_parse(&p, &pending, "</style>", 8);
	for (int i = 0; i < HTML_MAX_CLOSE_LOOPS && inside(&h, "script") > 0; i++)
		hp_parse(&p, &pending, "</script>", 9);
	hp_eof(&p, &pending);
	buf_free(&pending);
	buf_free(&in);

	/* results */
	struct buf vis, inv;
	buf_init_pool(&vis, pool, 0);
	buf_init_pool(&inv, pool, 0);
	for (size_t i = 0; i < h.n_pieces; i++) {
		const char *t = h.text.data + h.pieces[i].off;
		if (h.pieces[i].inv)
			buf_append(&inv, t, h.pieces[i].len);
		else
			buf_append(&vis, t, h.pieces[i].len);
	}
	r->text = buf_cstr(&h.text);
	r->text_len = h.text.len;
	r->visible = buf_cstr(&vis);
	r->visible_len = vis.len;
	r->invisible = buf_cstr(&inv);
	r->invisible_len = inv.len;
	r->uris = pool_alloc(pool, sizeof(*r->uris) * (h.n_uris + 1));
	for (size_t i = 0; i < h.n_uris; i++) {
		struct mime_html_uri *u = &r->uris[r->n_uris++];
		u->uri = h.uris[i].uri;
		u->tags = h.uris[i].tags;
		u->anchor_text = pool_alloc(pool, sizeof(char *) * (h.uris[i].n_anchors + 1));
		for (size_t k = 0; k < h.uris[i].n_anchors; k++)
			u->anchor_text[u->n_anchor_text++] = buf_cstr(h.uris[i].anchors[k]);
	}
	r->anchors = pool_alloc(pool, sizeof(char *) * (h.n_anchors + 1));
	for (size_t i = 0; i < h.n_anchors; i++)
		r->anchors[r->n_anchors++] = buf_cstr(h.anchors[i]);
	r->titles = pool_alloc(pool, sizeof(char *) * (h.n_titles + 1));
	for (size_t i = 0; i < h.n_titles; i++)
		r->titles[r->n_titles++] = buf_cstr(h.titles[i]);
	r->comments = h.comment_list;
	r->n_comments = h.n_comment_list;
	r->scripts = h.script_list;
	r->n_scripts = h.n_script_list;
	r->inside = h.inside;
	r->n_inside = h.n_inside;
	r->charsets = h.has_charsets ? buf_cstr(&h.charsets) : NULL;
	r->backhair_count = (unsigned)hash_count(h.backhair);
	hash_destroy(&h.uri_idx);
	hash_destroy(&h.inside_idx);
	hash_destroy(&h.backhair);
}

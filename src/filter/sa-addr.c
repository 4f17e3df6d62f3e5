/*
 * Addresses in header values (`From:addr`, `To:name`) with
 * SpamAssassin's own regular-expression parser (Util.pm's
 * _parse_header_addresses, the one used when Email::Address::XS is not
 * installed, as on Debian), run through PCRE2 with the same patterns;
 * and the domain helpers of RegistryBoundaries.pm and Util.pm.
 */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"

#define MAILRE \
	"(?:\"(?:|(?:[^\"\\\\]++|\\\\.)*+)\"|[^\\@\\s\\<\\>\\(\\)\\[\\]\\,\\:\\;]+)" \
	"\\@(?:[^\\\"\\s\\<\\>\\(\\)\\[\\]\\,\\:\\;]+|\\[[\\d:.]+\\])"

static const char address_re[] =
	"^\\s*"
	"(?:"
	"(?:((?:\"(?:|(?:[^\"\\\\]++|\\\\.)*+)\"|[^\",;<]++)+)\\s*)?"
	"<\\s*([^>\\@]*\\S+|\\s*)\\s*>"
	"(?:\\s*<\\s*(?:(?:\"(?:|(?:[^\"\\\\]++|\\\\.)*+)\")?\\S+|\\s*)\\s*>)*"
	"|"
	"(?:(" MAILRE ")|((?:\"(?:|(?:[^\"\\\\]++|\\\\.)*+)\"|[^\",;<]++)+))"
	")"
	"(?:\\s*\\(((?:|(?:[^()\\\\]++|\\\\.)*+))\\))?"
	"\\s*(?:[,;]|\\z)";

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pcre2_code *re_address, *re_mail_full, *re_comment, *re_angle_mail, *re_phrase_part;

static void init_res(void)
{
	re_address = sa_re_internal(address_re, PCRE2_CASELESS | PCRE2_DOTALL);
	re_mail_full = sa_re_internal("^" MAILRE "$", PCRE2_CASELESS);
	re_comment = sa_re_internal("\\((?:|(?:[^()\\\\]++|\\\\.)*+)\\)", PCRE2_DOTALL);
	re_angle_mail = sa_re_internal("<(" MAILRE ")>", PCRE2_CASELESS | PCRE2_DOTALL);
	re_phrase_part = sa_re_internal("(?:\"(|(?:[^\"\\\\]++|\\\\.)*+)\"|([^\"]++))",
					PCRE2_CASELESS | PCRE2_DOTALL);
}

static char *remove_comments(struct pool *pool, const char *s)
{
	struct buf b;
	size_t ov[2];
	size_t len = strlen(s), pos = 0;
	buf_init_pool(&b, pool, len + 1);
	while (pos <= len && sa_pcre_match(re_comment, s, len, pos, ov, 1)) {
		buf_append(&b, s + pos, ov[0] - pos);
		pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
		if (ov[1] == ov[0] && ov[0] < len)
			buf_append_c(&b, s[ov[0]]);
	}
	if (pos < len)
		buf_append(&b, s + pos, len - pos);
	return (char *)buf_cstr(&b);
}

static bool valid_parsed(const char *a)
{
	if (a == NULL)
		return false;
	if (strncmp(a, "\"\"@", 3) == 0)
		return false;
	size_t q = 0;
	for (const char *p = a; *p != '\0'; p++)
		if (*p == '"')
			q++;
	return q != 1;
}

static char *cap(struct pool *pool, const char *s, const size_t *ov, int i)
{
	if (ov[2 * i] == PCRE2_UNSET)
		return NULL;
	return pool_strndup(pool, s + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
}

static void push(struct pool *pool, struct sa_addr **v, size_t *n, const struct sa_addr *a)
{
	*v = pool_realloc(pool, *v, sizeof(**v) * *n, sizeof(**v) * (*n + 1));
	(*v)[(*n)++] = *a;
}

/* s/^(([^\@]*)\@([^\@]*)).*\/$1/ and the user/host split */
static void split_address(struct pool *pool, struct sa_addr *a)
{
	const char *at = strchr(a->address, '@');
	if (at == NULL)
		return;
	const char *at2 = strchr(at + 1, '@');
	size_t hl = at2 != NULL ? (size_t)(at2 - at - 1) : strlen(at + 1);
	a->user = pool_strndup(pool, a->address, (size_t)(at - a->address));
	a->host = pool_strndup(pool, at + 1, hl);
	a->address = pool_printf(pool, "%s@%s", a->user, a->host);
}

size_t sa_parse_addresses(struct pool *pool, const char *in, size_t len, struct sa_addr **r)
{
	struct sa_addr *out = NULL;
	size_t n = 0;

	pthread_once(&once, init_res);
	*r = NULL;
	/* s/\s+\z//; s/\\\\//g; s/^[^"()<>]+:\s*(.*?)\s*(?:;.*)?/$1/ */
	struct buf b;
	buf_init_pool(&b, pool, len + 1);
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\\' && i + 1 < len && in[i + 1] == '\\') {
			i++;
			continue;
		}
		buf_append_c(&b, in[i]);
	}
	char *s = (char *)buf_cstr(&b);
	size_t sl = b.len;
	while (sl > 0 && (s[sl - 1] == ' ' || s[sl - 1] == '\t' || s[sl - 1] == '\n' ||
			  s[sl - 1] == '\r' || s[sl - 1] == '\f' || s[sl - 1] == '\v'))
		s[--sl] = '\0';
	{
		size_t k = 0;
		while (k < sl && s[k] != '"' && s[k] != '(' && s[k] != ')' && s[k] != '<' &&
		       s[k] != '>' && s[k] != ':')
			k++;
		if (k > 0 && k < sl && s[k] == ':') {
			k++;
			while (k < sl && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ||
					  s[k] == '\f' || s[k] == '\v'))
				k++;
			s += k;
			sl -= k;
		}
	}
	bool nonspace = false;
	for (size_t i = 0; i < sl; i++)
		if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			nonspace = true;
	if (!nonspace)
		return 0;
	size_t ov[12];
	while (sl > 0 && sa_pcre_match(re_address, s, sl, 0, ov, 6)) {
		if (ov[1] == 0)
			break;
		char *phrase = cap(pool, s, ov, 1) ? cap(pool, s, ov, 1) : cap(pool, s, ov, 4);
		char *address = cap(pool, s, ov, 2) ? cap(pool, s, ov, 2) : cap(pool, s, ov, 3);
		char *comment = cap(pool, s, ov, 5);
		bool angle = ov[4] != PCRE2_UNSET;
		s += ov[1];
		sl -= ov[1];
		if (angle && address != NULL) {
			address = remove_comments(pool, address);
			size_t t[2];
			if (!sa_pcre_match(re_mail_full, address, strlen(address), 0, t, 1))
				address = NULL;
		}
		if (!valid_parsed(address))
			address = NULL;
		if (phrase != NULL) {
			struct buf np;
			size_t pl = strlen(phrase), pos = 0, pv[6];
			buf_init_pool(&np, pool, pl + 1);
			while (pos < pl && sa_pcre_match(re_phrase_part, phrase, pl, pos, pv, 3)) {
				if (pv[2] != PCRE2_UNSET) {
					/* s/\\(?!\\)//g; s/\\\\/\\/g */
					for (size_t i = pv[2]; i < pv[3]; i++) {
						if (phrase[i] == '\\' && !(i + 1 < pv[3] && phrase[i + 1] == '\\'))
							continue;
						if (phrase[i] == '\\' && i + 1 < pv[3] && phrase[i + 1] == '\\') {
							buf_append_c(&np, '\\');
							i++;
							continue;
						}
						buf_append_c(&np, phrase[i]);
					}
				} else if (pv[4] != PCRE2_UNSET) {
					char *part = pool_strndup(pool, phrase + pv[4], pv[5] - pv[4]);
					buf_append_str(&np, remove_comments(pool, part));
				}
				pos = pv[1] > pos ? pv[1] : pos + 1;
			}
			phrase = (char *)buf_cstr(&np);
			size_t t[2];
			const char *at;
			if (address == NULL && sa_pcre_match(re_mail_full, phrase, strlen(phrase), 0, t, 1) &&
			    valid_parsed(phrase) && (at = strchr(phrase, '@')) != NULL) {
				const char *h = at + 1;
				size_t hl = strcspn(h, "@");
				if (sa_is_fqdn_valid(NULL, h, hl)) {
					address = phrase;
					phrase = NULL;
				}
			}
			if (phrase != NULL) {
				if (address != NULL && strcmp(phrase, address) == 0)
					phrase = NULL;
				else if (phrase[0] == '\0')
					phrase = NULL;
			}
		}
		if (phrase == NULL && comment != NULL)
			phrase = comment;
		struct sa_addr a = { .phrase = phrase, .address = address };
		if (address != NULL)
			split_address(pool, &a);
		a.invalid = a.host == NULL || !sa_is_fqdn_valid(NULL, a.host, strlen(a.host));
		push(pool, &out, &n, &a);
	}
	if (memchr(s, '@', sl) != NULL) {
		size_t pos = 0;
		while (pos < sl && sa_pcre_match(re_angle_mail, s, sl, pos, ov, 2)) {
			char *address = cap(pool, s, ov, 1);
			pos = ov[1] > pos ? ov[1] : pos + 1;
			if (!valid_parsed(address))
				continue;
			struct sa_addr a = { .address = address };
			split_address(pool, &a);
			a.invalid = a.host == NULL || !sa_is_fqdn_valid(NULL, a.host, strlen(a.host));
			push(pool, &out, &n, &a);
		}
	}
	*r = out;
	return n;
}

bool sa_is_fqdn_valid(const struct sa_engine *e, const char *h, size_t len)
{
	(void)e;
	return mime_fqdn_valid(h, len);
}

static const char *const us_states[] = {
	"ak", "al", "ar", "az", "ca", "co", "ct", "dc", "de", "fl", "ga", "gu", "hi", "ia",
	"id", "il", "in", "ks", "ky", "la", "ma", "md", "me", "mi", "mn", "mo", "ms", "mt",
	"nc", "nd", "ne", "nh", "nj", "nm", "nv", "ny", "oh", "ok", "or", "pa", "pr", "ri",
	"sc", "sd", "tn", "tx", "ut", "va", "vi", "vt", "wa", "wi", "wv", "wy",
};

static bool us_state(const char *s, size_t l)
{
	for (size_t i = 0; i < N_ELEMENTS(us_states); i++)
		if (l == 2 && strncmp(us_states[i], s, 2) == 0)
			return true;
	return false;
}

/* split_domain() of RegistryBoundaries: the registered domain. */
const char *sa_trim_domain(const struct sa_engine *e, struct pool *pool, const char *host)
{
	char *d = pool_strdup(pool, host);
	str_lcase(d);
	/* tr/././s; strip dots at both ends */
	char *w = d;
	for (char *p = d; *p != '\0'; p++) {
		if (*p == '.' && w > d && w[-1] == '.')
			continue;
		*w++ = *p;
	}
	*w = '\0';
	while (*d == '.')
		d++;
	size_t l = strlen(d);
	while (l > 0 && d[l - 1] == '.')
		d[--l] = '\0';
	if (l == 0)
		return d;
	const char *parts[128];
	size_t np = 0;
	for (char *p = d; np < N_ELEMENTS(parts);) {
		parts[np++] = p;
		char *dot = strchr(p, '.');
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	size_t first = 0;
	while (np - first > 1) {
		size_t left = np - first;
		const char *rest = parts[first];
		if (left == 2) {
			if (hash_get_str(e->tlds2, rest) != NULL)
				break;
		} else if (left == 3) {
			if (strcmp(parts[first + 2], "us") == 0) {
				if (us_state(parts[first + 1], strcspn(parts[first + 1], ".")))
					break;
			} else if (hash_get_str(e->tlds3, rest) != NULL) {
				break;
			}
		} else if (left == 4) {
			const char *p0 = parts[first];
			if (strcmp(parts[first + 3], "us") == 0 &&
			    ((strncmp(p0, "pvt.k12.", 8) == 0) || strncmp(p0, "ci.", 3) == 0 ||
			     strncmp(p0, "co.", 3) == 0) &&
			    us_state(parts[first + 2], strcspn(parts[first + 2], ".")))
				break;
		}
		first++;
	}
	/* unshift @domparts, pop @hostname: one more label */
	if (first > 0)
		first--;
	return pool_strdup(pool, parts[first]);
}

static bool is_ip(const char *s)
{
	unsigned a, b, c, d;
	int n = 0;
	if (sscanf(s, "%3u.%3u.%3u.%3u%n", &a, &b, &c, &d, &n) == 4 && s[n] == '\0' && a < 256 &&
	    b < 256 && c < 256 && d < 256)
		return true;
	/* IPv6 (loosely): hex digits and colons */
	if (strchr(s, ':') != NULL && strspn(s, "0123456789abcdefABCDEF:.") == strlen(s))
		return true;
	return false;
}

const char *sa_uri_to_domain(const struct sa_engine *e, struct pool *pool, const char *uri,
			     const char **host_r)
{
	char *u = pool_strdup(pool, uri);
	str_lcase(u);
	*host_r = NULL;
	if (strncmp(u, "javascript:", 11) == 0 || strncmp(u, "cid:", 4) == 0 ||
	    strncmp(u, "file:", 5) == 0)
		return NULL;
	if (strncmp(u, "mailto:", 7) == 0) {
		u += 7;
		u[strcspn(u, "?")] = '\0';
		const char *at = strchr(u, '@');
		if (at == NULL || strchr(at + 1, '@') != NULL)
			return NULL;
		u = strrchr(u, '@') + 1;
	} else {
		/* s{^[a-z]+:/{0,2}}{} */
		char *p = u;
		while (*p >= 'a' && *p <= 'z')
			p++;
		if (p > u && *p == ':') {
			p++;
			int k = 0;
			while (*p == '/' && k < 2) {
				p++;
				k++;
			}
			u = p;
		}
		u[strcspn(u, "/?#")] = '\0';
		char *at = strrchr(u, '@');
		if (at != NULL)
			u = at + 1;
		/* s{:\d*$}{} */
		char *c = strrchr(u, ':');
		if (c != NULL && strspn(c + 1, "0123456789") == strlen(c + 1))
			*c = '\0';
	}
	/* encoded bits that url_encode would have decoded: skip */
	for (const char *p = u; *p != '\0'; p++)
		if (p[0] == '%' && p[1] != '\0' && p[2] != '\0') {
			char x = p[1], y = ascii_lower(p[2]);
			bool hy = (y >= '0' && y <= '9') || (y >= 'a' && y <= 'f');
			if ((x == '2' && ((y >= '1' && y <= '9') || (y >= 'a' && y <= 'f'))) ||
			    (x >= '3' && x <= '6' && hy) || (x == '7' && hy && y != 'f'))
				return NULL;
		}
	const char *host = u;
	const char *domain = host;
	if (!is_ip(host)) {
		if (!sa_is_fqdn_valid(e, host, strlen(host)))
			return NULL;
		if (strpbrk(host, " \t\r\n") != NULL)
			return NULL;
		const char *dot = strrchr(host, '.');
		if (dot == NULL || !sa_is_tld(e, dot + 1, strlen(dot + 1)))
			return NULL;
		domain = sa_trim_domain(e, pool, host);
	}
	*host_r = host;
	return domain;
}

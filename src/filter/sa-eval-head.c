/*
 * Header and relay evals: SpamAssassin's HeaderEval, RelayEval and the
 * local part of WLBLEval (no welcome or block list is configured, so
 * those answer "not listed"), ported test by test with their own
 * patterns through PCRE2.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter/sa-private.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"

/* IP_ADDRESS, IPV4_ADDRESS and IP_PRIVATE of Constants.pm */
#define IPV4 "(?:1\\d\\d|2[0-4]\\d|25[0-5]|[1-9]\\d|\\d)"
#define IPV4_ADDRESS "\\b" IPV4 "\\." IPV4 "\\." IPV4 "\\." IPV4 "\\b"

static const char *const head_patterns[] = {
#define P_IP 0
	"(?<!:)" IPV4_ADDRESS,
#define P_IS_IPV4 1
	"^" IPV4_ADDRESS "$",
#define P_PRIVATE 2
	"^(?:(?:10|127|169\\.254|172\\.(?:1[6-9]|2[0-9]|3[01])|192\\.168|100\\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))\\..*)",
#define P_NUMERIC_HELO 3
	"\\bhelo=(" IPV4_ADDRESS ")(?=[\\000-\\040,;\\[()<>]|\\z)",
#define P_DOTCOM_HELO 4
	"(?:\\.|^)(lycos\\.com|lycos\\.co\\.uk|hotmail\\.com|localhost\\.com|excite\\.com|caramail\\.com|cs\\.com|aol\\.com|msn\\.com|yahoo\\.com|drizzle\\.com)$",
#define P_HOSTNAME 5
	"^\\w+(?:[\\w.-]+\\.)+\\w+$",
#define P_RCVD_DATE 6
	"(\\s.?\\d+ \\S\\S\\S \\d+ \\d+:\\d+:\\d+ \\S+)",
#define P_LOCAL_FIRST 7
	"\\bfrom (?:localhost\\s|(?:\\S+ ){1,2}\\S*\\b127\\.0\\.0\\.1\\b)",
#define P_QMAIL_UID 8
	"qmail \\d+ invoked by uid \\d+",
#define P_FETCHMAIL 9
	"\\bby localhost with \\w+ \\(fetchmail-[\\d.]+",
#define P_OUTLOOK_MID 10
	"^<[0-9a-f]{4}([0-9a-f]{8})\\$[0-9a-f]{8}\\$[0-9a-f]{8}\\@",
#define P_RCVD_DATE_LAST 11
	"(\\s.?\\d+ \\S\\S\\S \\d+ \\d+:\\d+:\\d+ \\S+).*?$",
#define P_SUBJ_PREFIX 12
	"^(?:(?:Re|Fwd|Fw|Aw|Antwort|WG|SV|VB|VS|VL):\\s*)+",
#define P_CLTFAC 13
	"=\\?[-_a-z0-9]*(?:koi|jp|jis|euc|gb|big5|isoir|cp1251|windows-1251|georgianps|pt154|tis)[-_a-z0-9]*\\?",
#define P_EZMLM 14
	"^contact \\S+\\@\\S+\\; run by ezmlm$",
#define P_DLTO_ML 15
	"^mailing list \\S+\\@\\S+",
#define P_QMAIL_INVOKED 16
	"qmail \\d+ invoked (?:from network|by .{3,20})\\); \\d+ ... \\d+",
#define P_MSN_GROUPS 17
	"from groups\\.msn\\.com \\(\\S+\\.msn\\.com ",
#define P_YAHOO_TRUSTED 18
	" rdns=\\S+\\.yahoo\\.com ",
#define P_YAHOO_UNTRUSTED 19
	"^[^\\]]+ rdns=\\S+\\.yahoo\\.com ",
#define P_YAHOO_WEB 20
	"by web\\S+\\.mail\\S*\\.yahoo\\.com via HTTP",
#define P_YAHOO_SONIC 21
	"by sonic\\S+\\.consmr\\.mail\\S*\\.yahoo\\.com with HTTP",
#define P_YAHOO_SMTP 22
	"by smtp\\S+\\.yahoo\\.com with SMTP",
#define P_YAHOO_NNFMP 23
	"from \\[(?<!:)" IPV4_ADDRESS "\\] by \\S+\\.(?:groups|scd|dcn)\\.yahoo\\.com with NNFMP",
#define P_YAHOO_BULK 24
	"\\bmailer\\d+\\.bulk\\.scd\\.yahoo\\.com\\b",
#define P_YAHOO_ID 25
	"by \\w+\\.\\w+\\.yahoo\\.com \\(\\d+\\.\\d+\\.\\d+\\/\\d+\\.\\d+\\.\\d+\\)(?: with ESMTP)? id \\w+",
#define P_HOT_PICKUP 26
	"from mail pickup service by hotmail\\.com with Microsoft SMTPSVC;",
#define P_HOT_1 27
	"from (?:\\S*\\.)?hotmail.com \\(\\S+\\.hotmail(?:\\.msn)?\\.com[ \\)]",
#define P_HOT_2 28
	"from \\S*\\.outbound\\.protection\\.outlook\\.com \\(\\S+\\.outbound\\.protection\\.outlook\\.com[ \\)]",
#define P_HOT_3 29
	"from \\S*\\.(?:eur|nam)prd\\d+\\.prod\\.outlook\\.com \\((?<!:)" IPV4_ADDRESS "\\)",
#define P_HOT_4 30
	"from \\S*\\.hotmail.com \\(\\[(?<!:)" IPV4_ADDRESS "\\][ \\):]",
#define P_HOT_5 31
	"from \\S+ by \\S+\\.hotmail(?:\\.msn)?\\.com with HTTP\\;",
#define P_HOT_6 32
	"from \\[66\\.218.\\S+\\] by \\S+\\.yahoo\\.com",
#define P_HOT_FORGED 33
	"(?:from |HELO |helo=)\\S*hotmail\\.com\\b",
#define P_AOL 34
	" rly-[a-z][a-z]\\d\\d\\.",
#define P_AOL_RELAY 35
	"\\/AOL-\\d+\\.\\d+\\.\\d+\\)",
#define P_AOL_ID 36
	"ESMTP id (?:RELAY|MAILRELAY|MAILIN)",
#define P_UNRESOLVED 37
	"%[A-Z][A-Z_-]",
#define P_UNRESOLVED_OK 38
	"^(?:X-VMS-To|X-UIDL|X-Face|To|Cc|From|Subject|References|In-Reply-To|(?:X-|Resent-|X-Original-)?Message-Id):",
#define P_RATWARE_MID 39
	"<[A-Z]{28}\\.([^>]+?)>",
#define P_JUNO_1 40
	"from.*\\b(?:juno|untd)\\.com.*[\\[\\(](?<!:)" IPV4_ADDRESS "[\\]\\)].*by",
#define P_JUNO_2 41
	" cookie\\.(?:juno|untd)\\.com ",
#define P_JUNO_3 42
	"from.*\\bmail\\.com.*\\[(?<!:)" IPV4_ADDRESS "\\].*by",
#define P_JUNO_4 43
	"from (webmail\\S+\\.untd\\.com) \\(\\1 \\[(?<!:)" IPV4_ADDRESS "\\]\\) by",
#define P_JUNO_5 44
	"^Webmail Version \\d",
#define P_EUDORA 45
	"by \\S*whowhere.com\\;",
#define P_SRS 46
	"^SRS\\d[=+-]",
#define P_HEX_FIRST3 47
	"^(\\d+\\.\\d+\\.\\d+\\.)",
#define P_CLASSB 48
	"^(\\d+\\.\\d+)\\.\\d+\\.\\d+$",
#define P_DOTTED 49
	"^\\d+\\.\\d+\\.\\d+\\.\\d+$",
#define P_LIST_UNSUB 50
	"<mailto:(?:leave-\\S+|\\S+-unsubscribe)\\@\\S+>$",
#define P_GMAIL_XR1 51
	"by 10\\.\\S+ with SMTP id \\S+",
#define P_GMAIL_XR2 52
	"by 2002\\:a\\d\\d\\:\\w+\\:\\S+ with SMTP id \\S+",
#define P_GMAIL_R 53
	"by smtp\\.googlemail\\.com with ESMTPSA id \\S+",
#define P_N 54
};

static const uint32_t head_opts[P_N] = {
	[P_IP] = PCRE2_CASELESS,
	[P_NUMERIC_HELO] = PCRE2_CASELESS,
	[P_DOTCOM_HELO] = PCRE2_CASELESS,
	[P_SUBJ_PREFIX] = PCRE2_CASELESS,
	[P_CLTFAC] = PCRE2_CASELESS,
	[P_EZMLM] = PCRE2_MULTILINE,
	[P_DLTO_ML] = PCRE2_MULTILINE,
	[P_LIST_UNSUB] = PCRE2_CASELESS,
	[P_SRS] = PCRE2_CASELESS,
	[P_UNRESOLVED_OK] = PCRE2_CASELESS,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pcre2_code *hre[P_N];

static void init_res(void)
{
	for (size_t i = 0; i < P_N; i++)
		hre[i] = sa_re_internal(head_patterns[i], head_opts[i]);
}

static bool m(int id, const char *s)
{
	pthread_once(&once, init_res);
	return s != NULL && sa_pcre_match(hre[id], s, strlen(s), 0, NULL, 0);
}

static char *m1(struct pool *pool, int id, const char *s)
{
	size_t ov[4];
	pthread_once(&once, init_res);
	if (s == NULL || !sa_pcre_match(hre[id], s, strlen(s), 0, ov, 2) || ov[2] == PCRE2_UNSET)
		return NULL;
	return pool_strndup(pool, s + ov[2], ov[3] - ov[2]);
}

/* s/\s+/ /gs */
static char *squash(struct pool *pool, const char *s)
{
	struct buf b;
	buf_init_pool(&b, pool, strlen(s) + 1);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') {
			while (p[1] == ' ' || p[1] == '\t' || p[1] == '\n' || p[1] == '\r' || p[1] == '\f' ||
			       p[1] == '\v')
				p++;
			buf_append_c(&b, ' ');
		} else {
			buf_append_c(&b, *p);
		}
	}
	return (char *)buf_cstr(&b);
}

static bool ends_with_icase(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* \bDOMAIN$ on an address */
static bool addr_in_domain(const char *from, const char *dom)
{
	size_t a = strlen(from), b = strlen(dom);
	if (a < b || strcasecmp(from + a - b, dom) != 0)
		return false;
	if (a == b)
		return true;
	char c = from[a - b - 1];
	bool w = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
	return !w;
}

/*
 * Dates
 */

static const struct {
	const char *name;
	int off;
} tzs[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "NDT", -230 }, { "AST", -400 }, { "ADT", -300 },
	{ "NST", -330 }, { "EST", -500 }, { "EDT", -400 }, { "CST", -600 }, { "CDT", -500 },
	{ "MST", -700 }, { "MDT", -600 }, { "PST", -800 }, { "PDT", -700 }, { "HST", -1000 },
	{ "AKST", -900 }, { "AKDT", -800 }, { "HADT", -900 }, { "HAST", -1000 }, { "GMT", 0 },
	{ "BST", 100 }, { "IST", 100 }, { "WET", 0 }, { "WEST", 100 }, { "CET", 100 },
	{ "CEST", 200 }, { "EET", 200 }, { "EEST", 300 }, { "MSK", 300 }, { "MSD", 400 },
	{ "MET", 100 }, { "MEZ", 100 }, { "MEST", 200 }, { "MESZ", 200 }, { "BRST", -200 },
	{ "BRT", -300 }, { "AEST", 1000 }, { "AEDT", 1100 }, { "ACST", 930 }, { "ACDT", 1030 },
	{ "AWST", 800 }, { "NZST", 1200 }, { "NZDT", 1300 }, { "JST", 900 }, { "KST", 900 },
	{ "HKT", 800 }, { "SGT", 800 }, { "PHT", 800 }, { "IDT", 300 },
};

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};

static int month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

static int64_t days_from_civil(int64_t y, unsigned mo, unsigned d)
{
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Date::Parse-like reading of RFC 822 dates, as Util.pm does it */
int64_t sa_parse_date(const char *date)
{
	char buf[512];
	size_t o = 0;
	buf[o++] = ' ';
	bool sp = false;
	for (const char *p = date; *p != '\0' && o < sizeof(buf) - 3; p++) {
		char c = *p;
		if (c == ',') {
			buf[o++] = ' ';
			while (p[1] == ' ')
				p++;
			sp = true;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			if (!sp)
				buf[o++] = ' ';
			sp = true;
			continue;
		}
		sp = false;
		buf[o++] = c;
	}
	if (!sp)
		buf[o++] = ' ';
	buf[o] = '\0';
	/* collapse double spaces from ", " */
	char s[512];
	size_t so = 0;
	for (size_t i = 0; i < o; i++) {
		if (buf[i] == ' ' && so > 0 && s[so - 1] == ' ')
			continue;
		s[so++] = buf[i];
	}
	s[so] = '\0';
	/* tokenise */
	char *tok[64];
	size_t nt = 0;
	char *save = NULL;
	char copy[512];
	memcpy(copy, s, so + 1);
	for (char *t = strtok_r(copy, " ", &save); t != NULL && nt < 64; t = strtok_r(NULL, " ", &save))
		tok[nt++] = t;
	bool used[64] = { false };
	long dd = 0, yyyy = 0;
	int mon = 0;
	bool found = false;
	/* (\d+) (Mon) (\d{4}) ; (Mon) +(\d+) \d+:\d+:\d+ (\d{4}) ; (\d+) (Mon) (\d{2,3}) */
	for (size_t i = 0; i + 2 < nt && !found; i++) {
		size_t l0 = strlen(tok[i]), l2 = strlen(tok[i + 2]);
		if (strspn(tok[i], "0123456789") == l0 && strlen(tok[i + 1]) == 3 && month_of(tok[i + 1]) &&
		    l2 == 4 && strspn(tok[i + 2], "0123456789") == 4) {
			dd = atol(tok[i]);
			mon = month_of(tok[i + 1]);
			yyyy = atol(tok[i + 2]);
			used[i] = used[i + 1] = used[i + 2] = true;
			found = true;
		}
	}
	for (size_t i = 0; i + 3 < nt && !found; i++) {
		if (strlen(tok[i]) == 3 && month_of(tok[i]) &&
		    strspn(tok[i + 1], "0123456789") == strlen(tok[i + 1]) &&
		    strchr(tok[i + 2], ':') != NULL && strlen(tok[i + 3]) == 4 &&
		    strspn(tok[i + 3], "0123456789") == 4) {
			int c1 = 0;
			for (const char *q = tok[i + 2]; *q; q++)
				if (*q == ':')
					c1++;
			if (c1 != 2)
				continue;
			dd = atol(tok[i + 1]);
			mon = month_of(tok[i]);
			yyyy = atol(tok[i + 3]);
			used[i] = used[i + 1] = used[i + 3] = true;
			found = true;
		}
	}
	for (size_t i = 0; i + 2 < nt && !found; i++) {
		size_t l0 = strlen(tok[i]), l2 = strlen(tok[i + 2]);
		if (strspn(tok[i], "0123456789") == l0 && strlen(tok[i + 1]) == 3 && month_of(tok[i + 1]) &&
		    (l2 == 2 || l2 == 3) && strspn(tok[i + 2], "0123456789") == l2) {
			dd = atol(tok[i]);
			mon = month_of(tok[i + 1]);
			yyyy = atol(tok[i + 2]);
			if (l2 == 2 && yyyy < 50)
				yyyy += 2000;
			else
				yyyy += 1900;
			used[i] = used[i + 1] = used[i + 2] = true;
			found = true;
		}
	}
	if (!found)
		return -1;
	long hh = 0, mm = 0, ss = 0;
	for (size_t i = 0; i < nt; i++) {
		if (used[i])
			continue;
		/* (\d?\d):(\d\d)(:(\d\d))? as a whole token */
		int a, b, c, n1 = 0, n2 = 0;
		if (sscanf(tok[i], "%2d:%2d%n:%2d%n", &a, &b, &n1, &c, &n2) >= 2) {
			size_t tl = strlen(tok[i]);
			bool ok = false;
			if (n2 > 0 && (size_t)n2 == tl && tok[i][n1 + 1] != '\0' && strlen(tok[i] + n1 + 1) == 2) {
				ss = c;
				ok = true;
			} else if ((size_t)n1 == tl) {
				ok = true;
				ss = 0;
			}
			const char *colon = strchr(tok[i], ':');
			if (ok && colon - tok[i] <= 2 && colon - tok[i] >= 1 && strlen(colon + 1) >= 2 &&
			    colon[1] >= '0' && colon[1] <= '9' && colon[2] >= '0' && colon[2] <= '9') {
				hh = a;
				mm = b;
				used[i] = true;
				break;
			}
		}
	}
	long tzoff = 0;
	bool tz = false;
	for (size_t i = 0; i < nt && !tz; i++) {
		if (used[i])
			continue;
		const char *t = tok[i];
		if ((t[0] == '+' || t[0] == '-') && strlen(t) == 5 && strspn(t + 1, "0123456789") == 4) {
			long v = atol(t + 1);
			tzoff = (t[0] == '-' ? -1 : 1) * ((v / 100) * 3600 + (v % 100) * 60);
			tz = true;
			used[i] = true;
		}
	}
	if (!tz) {
		/* \b([A-Z]{2,4}(?:-DST)?)\b, the first such word */
		for (const char *p = s; *p != '\0' && !tz; p++) {
			bool wb = p == s || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
					     (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '_');
			if (!wb)
				continue;
			size_t k = 0;
			while (p[k] >= 'A' && p[k] <= 'Z' && k < 5)
				k++;
			if (k < 2 || k > 4)
				continue;
			char nx = p[k];
			if ((nx >= 'a' && nx <= 'z') || (nx >= '0' && nx <= '9') || nx == '_')
				continue;
			for (size_t z = 0; z < N_ELEMENTS(tzs); z++)
				if (strlen(tzs[z].name) == k && strncmp(tzs[z].name, p, k) == 0) {
					int v = tzs[z].off < 0 ? -tzs[z].off : tzs[z].off;
					tzoff = (tzs[z].off < 0 ? -1 : 1) * ((v / 100) * 3600 + (v % 100) * 60);
					tz = true;
				}
			break; /* only the first [A-Z]{2,4} word is tried */
		}
	}
	if (ss > 59)
		ss = 59;
	if (mm > 59)
		mm = 59;
	if (hh > 23)
		hh = 23;
	int max_dd = 31;
	if (mon == 4 || mon == 6 || mon == 9 || mon == 11)
		max_dd = 30;
	else if (mon == 2)
		max_dd = (!(yyyy % 4) && ((yyyy % 100) || !(yyyy % 400))) ? 29 : 28;
	if (dd > max_dd) {
		dd = 1;
		mon++;
		if (mon > 12) {
			mon = 1;
			yyyy++;
		}
	}
	if (yyyy > 2037)
		yyyy = 2037;
	else if (yyyy < 1970)
		yyyy = 1970;
	if (dd < 1 || mon < 1)
		return -1; /* timegm croaks on day 0 */
	int64_t t = days_from_civil(yyyy, (unsigned)mon, (unsigned)dd) * 86400 + hh * 3600 + mm * 60 + ss;
	if (tzoff < 0)
		t += -tzoff;
	else if (t < tzoff)
		t = 0;
	else
		t -= tzoff;
	return t;
}

/* The times of the Received headers, and the fetchmail one. */
struct rtimes {
	bool done;
	int64_t *t;
	size_t n;
	int64_t fetch;
	bool has_fetch;
	int64_t date;
	bool has_date;
	int64_t diff;
	bool diff_done;
};

static struct rtimes *rtimes(struct sa_scan *s)
{
	struct rtimes *rt = s->cache[0];
	if (rt != NULL && rt->done)
		return rt;
	if (rt == NULL)
		rt = s->cache[0] = pool_alloc(s->pool, sizeof(*rt));
	rt->done = true;
	struct sa_msg *msg = s->m;
	/* the Date (Resent-Date first) */
	static const char *const dh[] = { "Resent-Date", "Date" };
	for (size_t k = 0; k < 2 && !rt->has_date; k++) {
		for (size_t i = 0; i < msg->n_hdrs && !rt->has_date; i++) {
			if (strcasecmp(msg->hdrs[i].name, dh[k]) != 0 || msg->hdrs[i].dec_len == 0)
				continue;
			int64_t t = sa_parse_date(msg->hdrs[i].dec);
			if (t >= 0) {
				rt->date = t;
				rt->has_date = true;
			}
			break; /* only the first of each is tried */
		}
	}
	/* split(/\n/, get('Received')) with non-blank lines */
	const struct sa_hval *rv = sa_msg_get(msg, "Received");
	const char **rc = pool_alloc(s->pool, sizeof(char *) * (rv->n + 1));
	size_t nr = 0;
	for (size_t i = 0; i < rv->n; i++) {
		char *v = pool_strndup(s->pool, rv->vals[i], rv->lens[i]);
		size_t l = strlen(v);
		if (l > 0 && v[l - 1] == '\n')
			v[l - 1] = '\0';
		bool nonblank = false;
		for (const char *q = v; *q; q++)
			if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\f' && *q != '\v')
				nonblank = true;
		if (nonblank)
			rc[nr++] = v;
	}
	if (nr == 0)
		return rt;
	const char *local[2];
	size_t nl = 0, start = 0;
	if (m(P_LOCAL_FIRST, rc[0]) || m(P_QMAIL_UID, rc[0]))
		local[nl++] = rc[start++];
	if (start < nr && m(P_FETCHMAIL, rc[start])) {
		local[nl++] = rc[start++];
	} else if (nl > 0) {
		start--;
		nl--;
	}
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < nl; i++) {
		char *d = m1(s->pool, P_RCVD_DATE, local[i]);
		if (d == NULL)
			continue;
		int64_t t = sa_parse_date(d);
		if (t >= 0 && now >= t && (!rt->has_fetch || t > rt->fetch)) {
			rt->fetch = t;
			rt->has_fetch = true;
		}
	}
	rt->t = pool_alloc(s->pool, sizeof(int64_t) * (nr + 1));
	for (size_t i = start; i < nr; i++) {
		char *d = m1(s->pool, P_RCVD_DATE, rc[i]);
		if (d == NULL)
			continue;
		int64_t t = sa_parse_date(d);
		if (t >= 0)
			rt->t[rt->n++] = t;
	}
	return rt;
}

static int64_t date_diff(struct sa_scan *s)
{
	struct rtimes *rt = rtimes(s);
	if (rt->diff_done)
		return rt->diff;
	rt->diff_done = true;
	rt->diff = 0;
	if (!rt->has_date || rt->n == 0)
		return 0;
	size_t n = rt->n;
	int64_t *d = pool_alloc(s->pool, sizeof(int64_t) * n);
	for (size_t i = 0; i < n; i++)
		d[i] = rt->date - rt->t[i];
	if (n > 1 && d[n - 1] == 0)
		n--;
	/* sort by absolute value (stable, Perl's mergesort) */
	int64_t best = d[0];
	for (size_t i = 1; i < n; i++)
		if (llabs(d[i]) < llabs(best))
			best = d[i];
	rt->diff = best;
	return best;
}

static double ev_check_for_shifted_date(struct sa_scan *s, const struct sa_rule *r,
					const struct sa_eval_call *c)
{
	(void)r;
	const char *mn = sa_arg(c, 0), *mx = sa_arg(c, 1);
	int64_t d = date_diff(s);
	bool lo = mn == NULL || strcmp(mn, "undef") == 0 || d >= 3600 * strtod(mn, NULL);
	bool hi = mx == NULL || strcmp(mx, "undef") == 0 || d < 3600 * strtod(mx, NULL);
	return lo && hi;
}

static double ev_check_outlook_message_id(struct sa_scan *s, const struct sa_rule *r,
					  const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *id = sa_get(s->m, "MESSAGEID", NULL);
	char *tok = m1(s->pool, P_OUTLOOK_MID, id);
	if (tok == NULL)
		return 0;
	long long timetoken = strtoll(tok, NULL, 16);
	const double x = 0.0023283064365387, y = 27111902.8329849;
	const long long fudge = 250;
	int64_t dt = sa_parse_date(sa_get(s->m, "Date", NULL));
	if (dt < 0)
		dt = 0;
	long long expected = (long long)((double)dt * x + y);
	if (llabs(timetoken - expected) < fudge)
		return 0;
	const char *rcvd = sa_get(s->m, "Received", NULL);
	/* /(\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+).*?$/ : the first date
	   (.*?$ does not need the last line) */
	char *d = m1(s->pool, P_RCVD_DATE_LAST, rcvd);
	int64_t rt = d != NULL ? sa_parse_date(d) : -1;
	if (d == NULL) {
		/* $_ keeps the whole Received text: parsed as a date itself */
		rt = sa_parse_date(rcvd);
	}
	if (rt < 0)
		rt = 0;
	expected = (long long)((double)rt * x + y);
	return llabs(timetoken - expected) >= fudge;
}

static double ev_check_for_missing_to_header(struct sa_scan *s, const struct sa_rule *r,
					     const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *to = sa_get(s->m, "To", NULL);
	if (to[0] == '\0')
		to = sa_get(s->m, "Apparently-To", NULL);
	return to[0] == '\0';
}

static double ev_check_equal_from_domains(struct sa_scan *s, const struct sa_rule *r,
					  const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *from = sa_get(s->m, "From:addr", NULL);
	const char *env = sa_get(s->m, "EnvelopeFrom:addr", NULL);
	char *fd[2] = { NULL, NULL };
	const char *src[2] = { from, env };
	for (int k = 0; k < 2; k++) {
		/* \@([^@]*)\z, then the last two labels */
		const char *at = strrchr(src[k], '@');
		if (at == NULL)
			return 0;
		char *d = pool_strdup(s->pool, at + 1);
		/* s/^.+\.([^\.]+\.[^\.]+)$/$1/ */
		size_t l = strlen(d);
		char *last = NULL, *prev = NULL;
		for (char *q = d; *q; q++)
			if (*q == '.') {
				prev = last;
				last = q;
			}
		if (prev != NULL && prev > d && last != NULL && last[1] != '\0' && last > prev + 1)
			d = prev + 1;
		(void)l;
		if (d[0] == '\0')
			return 0;
		fd[k] = d;
	}
	return strcasecmp(fd[0], fd[1]) != 0;
}

static double ev_check_for_matching_env_and_hdr_from(struct sa_scan *s, const struct sa_rule *r,
						     const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	return strcasecmp(sa_get(s->m, "EnvelopeFrom:addr", NULL), sa_get(s->m, "From:addr", NULL)) == 0;
}

static double ev_subject_is_all_caps(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	char *subj = str_trim(pool_strdup(s->pool, sa_get(s->m, "Subject", NULL)));
	size_t ov[2];
	pthread_once(&once, init_res);
	if (sa_pcre_match(hre[P_SUBJ_PREFIX], subj, strlen(subj), 0, ov, 1))
		subj += ov[1];
	if (strpbrk(subj, " \t\n\r\f\v") == NULL)
		return 0;
	if (strlen(subj) < 10)
		return 0;
	size_t letters = 0;
	bool lower = false;
	for (const char *p = subj; *p; p++) {
		if (*p >= 'a' && *p <= 'z') {
			lower = true;
			letters++;
		} else if (*p >= 'A' && *p <= 'Z') {
			letters++;
		}
	}
	if (m(P_CLTFAC, sa_get(s->m, "Subject:raw", NULL)))
		return 0;
	return letters > 0 && !lower;
}

static bool gated_through(struct sa_scan *s)
{
	bool have;
	const char *txt = sa_get(s->m, "Mailing-List", &have);
	if (have && m(P_EZMLM, txt)) {
		if (m(P_DLTO_ML, sa_get(s->m, "Delivered-To", NULL)) &&
		    m(P_QMAIL_INVOKED, sa_get(s->m, "Received", NULL)))
			return true;
	}
	const char *rcvd = sa_get(s->m, "Received", &have);
	if (!have)
		return true;
	return m(P_MSN_GROUPS, rcvd);
}

static double ev_gated_through_received_hdr_remover(struct sa_scan *s, const struct sa_rule *r,
						    const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	return gated_through(s);
}

static double ev_check_for_forged_yahoo_received_headers(struct sa_scan *s, const struct sa_rule *r,
							 const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *from = sa_get(s->m, "From:addr", NULL);
	if (!addr_in_domain(from, "yahoo.com"))
		return 0;
	const char *rcvd = sa_get(s->m, "Received", NULL);
	if (sa_get(s->m, "Resent-From", NULL)[0] != '\0' && sa_get(s->m, "Resent-To", NULL)[0] != '\0') {
		const char *x = sa_get(s->m, "X-Received", NULL);
		if (x[0] != '\0')
			rcvd = x;
	}
	rcvd = squash(s->pool, rcvd);
	if (gated_through(s))
		return 0;
	sa_msg_relays(s->m);
	if (m(P_YAHOO_TRUSTED, s->m->relays_trusted_str) ||
	    m(P_YAHOO_UNTRUSTED, s->m->relays_untrusted_str))
		return 0;
	if (m(P_YAHOO_WEB, rcvd) || m(P_YAHOO_SONIC, rcvd) || m(P_YAHOO_SMTP, rcvd) ||
	    m(P_YAHOO_NNFMP, rcvd))
		return 0;
	if (m(P_YAHOO_BULK, rcvd) && ends_with_icase(from, "@reply.yahoo.com"))
		return 0;
	if (m(P_YAHOO_ID, rcvd))
		return 0;
	return 1;
}

/* 1: forged hotmail Received, 2: hotmail address but no hotmail Received */
static int hotmail_state(struct sa_scan *s)
{
	int *st = s->cache[1];
	if (st != NULL)
		return *st;
	st = s->cache[1] = pool_alloc(s->pool, sizeof(int));
	*st = 0;
	const char *rcvd = squash(s->pool, sa_get(s->m, "Received", NULL));
	if (m(P_HOT_PICKUP, rcvd))
		return 0;
	/* check_for_msn_groups_headers: rare; treated as not MSN groups */
	bool have;
	const char *ipv = sa_get(s->m, "X-Originating-Ip", &have);
	bool ip = have && m(P_IP, ipv);
	const char *orgv = sa_get(s->m, "X-OriginatorOrg", &have);
	bool org = have && (strstr(orgv, "hotmail.com") != NULL || strstr(orgv, "msonline-outlook") != NULL);
	if (gated_through(s))
		return 0;
	if ((m(P_HOT_1, rcvd) && ip) || (m(P_HOT_2, rcvd) && org) || (m(P_HOT_3, rcvd) && org) ||
	    (m(P_HOT_4, rcvd) && ip) || (m(P_HOT_5, rcvd) && ip) || (m(P_HOT_6, rcvd) && ip))
		return 0;
	if (m(P_HOT_FORGED, rcvd)) {
		*st = 1;
	} else {
		if (!addr_in_domain(sa_get(s->m, "From:addr", NULL), "hotmail.com"))
			return 0;
		*st = 2;
	}
	return *st;
}

static double ev_check_for_forged_hotmail_received_headers(struct sa_scan *s, const struct sa_rule *r,
							   const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	return hotmail_state(s) == 1;
}

static double ev_check_for_no_hotmail_received_headers(struct sa_scan *s, const struct sa_rule *r,
						       const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	return hotmail_state(s) == 2;
}

static double ev_check_for_forged_eudoramail_received_headers(struct sa_scan *s,
							      const struct sa_rule *r,
							      const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	if (!addr_in_domain(sa_get(s->m, "From:addr", NULL), "eudoramail.com"))
		return 0;
	const char *rcvd = squash(s->pool, sa_get(s->m, "Received", NULL));
	bool have;
	const char *ipv = sa_get(s->m, "X-Sender-Ip", &have);
	bool ip = have && m(P_IP, ipv);
	if (gated_through(s))
		return 0;
	if (m(P_EUDORA, rcvd) && ip)
		return 0;
	return 1;
}

static double ev_check_for_forged_juno_received_headers(struct sa_scan *s, const struct sa_rule *r,
							const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	if (!addr_in_domain(sa_get(s->m, "From:addr", NULL), "juno.com"))
		return 0;
	if (gated_through(s))
		return 0;
	const char *xorig = sa_get(s->m, "X-Originating-IP", NULL);
	const char *xmailer = sa_get(s->m, "X-Mailer", NULL);
	const char *rcvd = sa_get(s->m, "Received", NULL);
	if (xorig[0] != '\0') {
		if (!m(P_JUNO_1, rcvd) && !m(P_JUNO_2, rcvd))
			return 1;
		if (strstr(xmailer, "Juno ") == NULL)
			return 1;
	} else {
		if (m(P_JUNO_3, rcvd)) {
			if (strstr(xmailer, "mail.com") == NULL)
				return 1;
		} else if (m(P_JUNO_4, rcvd)) {
			if (!m(P_JUNO_5, xmailer))
				return 1;
		} else {
			return 1;
		}
		if (!m(P_IP, xorig))
			return 1;
	}
	return 0;
}

static double ev_check_for_forged_gmail_received_headers(struct sa_scan *s, const struct sa_rule *r,
							 const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	if (!addr_in_domain(sa_get(s->m, "From:addr", NULL), "gmail.com"))
		return 0;
	const char *xgms = sa_get(s->m, "X-Gm-Message-State", NULL);
	const char *xss = sa_get(s->m, "X-Google-Smtp-Source", NULL);
	const char *xr = sa_get(s->m, "X-Received", NULL);
	if (m(P_GMAIL_XR1, xr) || m(P_GMAIL_XR2, xr))
		return 0;
	if (m(P_GMAIL_R, sa_get(s->m, "Received", NULL)))
		return 0;
	if (strlen(xgms) >= 60 && strlen(xss) >= 60)
		return 0;
	return 1;
}

static double ev_check_for_fake_aol_relay_in_rcvd(struct sa_scan *s, const struct sa_rule *r,
						  const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *rc = squash(s->pool, sa_get(s->m, "Received", NULL));
	if (!m(P_AOL, rc))
		return 0;
	if (m(P_AOL_RELAY, rc) || m(P_AOL_ID, rc))
		return 0;
	return 1;
}

/* ToCc/Bcc addresses: sorted and similar recipients */
struct recips {
	bool sorted;
	double similar;
};

static struct recips *recips(struct sa_scan *s)
{
	struct recips *rc = s->cache[2];
	if (rc != NULL)
		return rc;
	rc = s->cache[2] = pool_alloc(s->pool, sizeof(*rc));
	const char *in[512];
	size_t n = 0;
	static const char *const reqs[] = { "ToCc:addr", "Bcc:addr" };
	for (size_t k = 0; k < 2; k++) {
		const struct sa_hval *v = sa_msg_get(s->m, reqs[k]);
		for (size_t i = 0; i < v->n && n < N_ELEMENTS(in); i++)
			in[n++] = pool_strndup(s->pool, v->vals[i], v->lens[i]);
		if (n >= 5)
			break;
	}
	const char *addr[256];
	size_t na = 0;
	const char *prev = "";
	for (size_t i = 0; i < n && na < 256; i++) {
		if (in[i][0] == '\0')
			break; /* while (my $current = shift): "" ends it */
		if (strcasecmp(in[i], prev) != 0)
			addr[na++] = prev = in[i];
	}
	if (na >= 7) {
		bool sorted = true;
		for (size_t i = 1; i < na; i++)
			if (strcmp(addr[i - 1], addr[i]) > 0)
				sorted = false;
		rc->sorted = sorted;
	}
	if (na >= 5) {
		double hits = 0, comb = 0;
		char (*user)[3] = pool_alloc(s->pool, 3 * na);
		char (*host)[3] = pool_alloc(s->pool, 3 * na);
		const char **fq = pool_alloc(s->pool, sizeof(char *) * na);
		for (size_t i = 0; i < na; i++) {
			snprintf(user[i], 3, "%s", addr[i]);
			const char *at = strchr(addr[i], '@');
			fq[i] = at != NULL ? at + 1 : "";
			snprintf(host[i], 3, "%s", fq[i]);
		}
		for (size_t i = 0; i < na; i++)
			for (size_t j = i + 1; j < na; j++) {
				if (strcmp(user[i], user[j]) == 0)
					hits++;
				if (strcmp(host[i], host[j]) == 0 && strcmp(fq[i], fq[j]) != 0)
					hits++;
				comb++;
			}
		rc->similar = comb > 0 ? hits / comb : 0;
	}
	return rc;
}

static double ev_sorted_recipients(struct sa_scan *s, const struct sa_rule *r,
				   const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	return recips(s)->sorted;
}

static double ev_similar_recipients(struct sa_scan *s, const struct sa_rule *r,
				    const struct sa_eval_call *c)
{
	(void)r;
	const char *mn = sa_arg(c, 0), *mx = sa_arg(c, 1);
	double v = recips(s)->similar;
	return (mn == NULL || strcmp(mn, "undef") == 0 || v >= strtod(mn, NULL)) &&
	       (mx == NULL || strcmp(mx, "undef") == 0 || v < strtod(mx, NULL));
}

static double ev_check_illegal_chars(struct sa_scan *s, const struct sa_rule *r,
				     const struct sa_eval_call *c)
{
	(void)r;
	const char *h = sa_arg(c, 0);
	if (h == NULL)
		return 0;
	double ratio = sa_arg_num(c, 1, 0), count = sa_arg_num(c, 2, 0);
	size_t hl = strlen(h);
	const char *req = hl >= 4 && strcmp(h + hl - 4, ":raw") == 0 ? h : pool_printf(s->pool, "%s:raw", h);
	const char *str = sa_get(s->m, req, NULL);
	if (strpbrk(str, "") == NULL && str[0] == '\0')
		return 0;
	bool nonspace = false;
	bool high = false;
	for (const char *p = str; *p; p++) {
		if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v'))
			nonspace = true;
		if ((unsigned char)*p >= 0x80)
			high = true;
	}
	if (!nonspace)
		return 0;
	size_t len = strlen(str);
	if (high && mime_charset_is_valid_utf8(str, len)) {
		bool ctl = false;
		for (const char *p = str; *p; p++) {
			unsigned char ch = (unsigned char)*p;
			if (ch <= 0x08 || ch == 0x0b || ch == 0x0c || (ch >= 0x0e && ch <= 0x1f))
				ctl = true;
		}
		if (!ctl)
			return 0;
	}
	double illegal = 0;
	size_t exempt = 0;
	for (const char *p = str; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= 0x08 || ch == 0x0b || ch == 0x0c || (ch >= 0x0e && ch <= 0x1f) || ch >= 0x7f)
			illegal++;
		if (ch == 0xa2 || ch == 0xa3 || ch == 0xae)
			exempt++;
	}
	if (illegal > 0 && strcasecmp(req, "subject:raw") == 0 && exempt == 1)
		illegal--;
	return illegal / (double)len >= ratio && illegal >= count;
}

static double ev_check_header_count_range(struct sa_scan *s, const struct sa_rule *r,
					  const struct sa_eval_call *c)
{
	(void)r;
	const char *h = sa_arg(c, 0);
	if (h == NULL)
		return 0;
	double mn = sa_arg_num(c, 1, 0), mx = sa_arg_num(c, 2, 0);
	size_t uniq = 0;
	const char *seen[256];
	for (size_t i = 0; i < s->m->n_hdrs; i++) {
		const struct sa_hdr *hd = &s->m->hdrs[i];
		if (strcasecmp(hd->name, h) != 0)
			continue;
		bool dup = false;
		for (size_t k = 0; k < uniq && k < N_ELEMENTS(seen); k++)
			if (strcmp(seen[k], hd->dec) == 0)
				dup = true;
		if (!dup && uniq < N_ELEMENTS(seen))
			seen[uniq++] = hd->dec;
	}
	return uniq >= mn && uniq <= mx;
}

static double ev_check_unresolved_template(struct sa_scan *s, const struct sa_rule *r,
					   const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *all = sa_get(s->m, "ALL", NULL);
	char *copy = pool_strdup(s->pool, all), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (m(P_UNRESOLVED, line) && !m(P_UNRESOLVED_OK, line))
			return 1;
	return 0;
}

static double ev_check_ratware_name_id(struct sa_scan *s, const struct sa_rule *r,
				       const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	char *id = m1(s->pool, P_RATWARE_MID, sa_get(s->m, "MESSAGEID", NULL));
	if (id == NULL)
		return 0;
	const char *from = sa_get(s->m, "From", NULL);
	/* "[^"]+"\s*<\Qid\E> */
	for (const char *q = strchr(from, '"'); q != NULL; q = strchr(q + 1, '"')) {
		const char *e = strchr(q + 1, '"');
		if (e == NULL || e == q + 1)
			continue;
		const char *p = e + 1;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		size_t il = strlen(id);
		if (*p == '<' && strncmp(p + 1, id, il) == 0 && p[1 + il] == '>')
			return 1;
	}
	return 0;
}

static double ev_check_ratware_envelope_from(struct sa_scan *s, const struct sa_rule *r,
					     const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *to = sa_get(s->m, "To:addr", NULL);
	const char *from = sa_get(s->m, "EnvelopeFrom:addr", NULL);
	if (from[0] == '\0' || to[0] == '\0' || m(P_SRS, from))
		return 0;
	const char *at = strchr(to, '@');
	if (at == NULL || at == to || at[1] == '\0')
		return 0;
	char *user = pool_strndup(s->pool, to, (size_t)(at - to));
	const char *dom = sa_trim_domain(s->e, s->pool, at + 1);
	const char *dot = strrchr(dom, '.');
	if (dot == NULL || !sa_is_tld(s->e, dot + 1, strlen(dot + 1)))
		return 0;
	/* \bDOM.USER@ */
	char *pat = pool_printf(s->pool, "%s", dom);
	for (const char *p = from; (p = strcasestr(p, pat)) != NULL; p++) {
		if (p > from && ((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
				 (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '_'))
			continue;
		const char *q = p + strlen(pat);
		if (*q == '\0')
			break;
		q++;
		size_t ul = strlen(user);
		if (strncasecmp(q, user, ul) == 0 && q[ul] == '@')
			return 1;
	}
	return 0;
}

static double ev_check_for_to_in_subject(struct sa_scan *s, const struct sa_rule *r,
					 const struct sa_eval_call *c)
{
	(void)r;
	const char *test = sa_arg(c, 0);
	const char *to = sa_get(s->m, "To:addr", NULL);
	if (to[0] == '\0' || test == NULL)
		return 0;
	const char *subj = sa_get(s->m, "Subject", NULL);
	if (strcmp(test, "address") == 0) {
		for (const char *p = subj; (p = strcasestr(p, to)) != NULL; p++) {
			size_t tl = strlen(to);
			bool b1 = p == subj || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
						 (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '_');
			char nx = p[tl];
			bool b2 = !((nx >= 'a' && nx <= 'z') || (nx >= 'A' && nx <= 'Z') ||
				    (nx >= '0' && nx <= '9') || nx == '_');
			if (b1 && b2)
				return 1;
		}
		return 0;
	}
	if (strcmp(test, "user") == 0) {
		char *user = pool_strdup(s->pool, to);
		char *at = strchr(user, '@');
		if (at != NULL)
			*at = '\0';
		/* the quoted user in the four forms of HeaderEval */
		struct buf q;
		buf_init_pool(&q, s->pool, 0);
		for (const char *p = user; *p; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      *p == '_'))
				buf_append_c(&q, '\\');
			buf_append_c(&q, *p);
		}
		const char *u = buf_cstr(&q);
		char *pat = pool_printf(s->pool,
					"^(?:(?:re|fw):\\s*(?:\\w+\\s+)?%s$|(?-i:%s)\\s*[,:;!?-](?:$|\\s)|%s$|,\\s*%s[,:;!?-]$)",
					u, u, u, u);
		/* one match on a short subject: interpreted, without the
		   cost of a JIT compile per message */
		int err;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
					       PCRE2_CASELESS, &err, &off, NULL);
		if (re == NULL)
			return 0;
		int hit = sa_pcre_match(re, subj, strlen(subj), 0, NULL, 0);
		pcre2_code_free(re);
		return hit;
	}
	return 0;
}

/*
 * RelayEval
 */

static double ev_check_all_trusted(struct sa_scan *s, const struct sa_rule *r,
				   const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_relays(s->m);
	struct sa_msg *mm = s->m;
	return mm->n_trusted > 0 && mm->n_relays == mm->n_trusted && mm->n_received_unparsed == 0;
}

static double ev_check_no_relays(struct sa_scan *s, const struct sa_rule *r,
				 const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_relays(s->m);
	return s->m->n_relays == 0 && s->m->n_received_unparsed == 0;
}

static double ev_check_relays_unparseable(struct sa_scan *s, const struct sa_rule *r,
					  const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_relays(s->m);
	return s->m->n_received_unparsed > 0;
}

static double ev_check_for_numeric_helo(struct sa_scan *s, const struct sa_rule *r,
					const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_relays(s->m);
	char *ip = m1(s->pool, P_NUMERIC_HELO, s->m->relays_untrusted_str);
	return ip != NULL && !m(P_PRIVATE, ip);
}

static double ev_helo_ip_mismatch(struct sa_scan *s, const struct sa_rule *r,
				  const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_relays(s->m);
	for (size_t i = s->m->n_trusted; i < s->m->n_relays; i++) {
		const struct sa_relay *rl = &s->m->relays[i];
		if (!m(P_IS_IPV4, rl->helo) || m(P_PRIVATE, rl->helo))
			continue;
		if (m(P_IS_IPV4, rl->ip) && !m(P_PRIVATE, rl->ip) && strcmp(rl->helo, rl->ip) != 0) {
			char *pre = m1(s->pool, P_HEX_FIRST3, rl->helo);
			if (pre != NULL && strncmp(rl->ip, pre, strlen(pre)) != 0)
				return 1;
		}
	}
	return 0;
}

static double ev_check_for_no_rdns_dotcom_helo(struct sa_scan *s, const struct sa_rule *r,
					       const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_relays(s->m);
	bool hit = false;
	for (size_t i = s->m->n_trusted; i < s->m->n_relays; i++) {
		const struct sa_relay *rl = &s->m->relays[i];
		if (rl->ip_private)
			continue;
		hit = false; /* each public relay resets it, as the plugin does */
		if (m(P_DOTCOM_HELO, rl->helo) && rl->no_reverse_dns)
			hit = true;
	}
	return hit;
}

static const char *host_to_domain(struct pool *pool, const char *h)
{
	bool alpha = false;
	for (const char *p = h; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			alpha = true;
	if (!alpha)
		return h;
	const char *parts[128];
	size_t n = 0;
	char *c = pool_strdup(pool, h), *save = NULL;
	/* split(/\./) drops trailing empty fields but keeps inner ones */
	const char *p = c;
	size_t k = 0;
	char *dup = pool_strdup(pool, h);
	(void)save;
	(void)p;
	(void)k;
	char *start = dup;
	for (char *q = dup;; q++) {
		if (*q == '.' || *q == '\0') {
			bool end = *q == '\0';
			*q = '\0';
			if (n < N_ELEMENTS(parts))
				parts[n++] = start;
			if (end)
				break;
			start = q + 1;
		}
	}
	while (n > 0 && parts[n - 1][0] == '\0')
		n--;
	(void)c;
	if (n > 1) {
		const char *last = parts[n - 1];
		size_t nonspace = 0;
		for (const char *q = last; *q; q++)
			if (!(*q == ' ' || *q == '\t'))
				nonspace++;
		bool three = false;
		/* (?:\S{3,}|ie|fr|de) anywhere in the last label */
		size_t run = 0;
		for (const char *q = last; *q; q++) {
			run = (*q == ' ' || *q == '\t') ? 0 : run + 1;
			if (run >= 3)
				three = true;
		}
		if (three || strstr(last, "ie") || strstr(last, "fr") || strstr(last, "de"))
			return pool_printf(pool, "%s.%s", parts[n - 2], parts[n - 1]);
	}
	if (n > 2)
		return pool_printf(pool, "%s.%s.%s", parts[n - 3], parts[n - 2], parts[n - 1]);
	return h;
}

static double ev_check_for_forged_received_trail(struct sa_scan *s, const struct sa_rule *r,
						 const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	sa_msg_relays(s->m);
	struct sa_msg *mm = s->m;
	size_t n = mm->n_relays - mm->n_trusted;
	const struct sa_relay *u = mm->relays + mm->n_trusted;
	const char **from = pool_alloc(s->pool, sizeof(char *) * (n + 1));
	const char **by = pool_alloc(s->pool, sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		char *lb = pool_strdup(s->pool, u[i].by), *lr = pool_strdup(s->pool, u[i].rdns);
		str_lcase(lb);
		str_lcase(lr);
		by[i] = host_to_domain(s->pool, lb);
		from[i] = host_to_domain(s->pool, lr);
	}
	int mismatch = 0;
	for (size_t i = 0; i < n; i++) {
		if (!m(P_HOSTNAME, by[i]))
			continue;
		if ((strcmp(from[i], "localhost") == 0 || strcmp(from[i], "localhost.localdomain") == 0) &&
		    strcmp(u[i].ip, "127.0.0.1") == 0)
			from[i] = NULL;
		/* $from[$i-1] with i == 0 is the last element in Perl */
		const char *prev = i > 0 ? from[i - 1] : NULL;
		if (prev != NULL && m(P_HOSTNAME, prev) && strcmp(by[i], prev) != 0 &&
		    !(strcmp(by[i], "msn.com") == 0 && strcmp(prev, "hotmail.com") == 0))
			mismatch++;
	}
	return mismatch > 1;
}

static double ev_check_mailfrom_matches_rcvd(struct sa_scan *s, const struct sa_rule *r,
					     const struct sa_eval_call *c)
{
	(void)r;
	(void)c;
	const char *sender = sa_get(s->m, "EnvelopeFrom:addr", NULL);
	if (sender[0] == '\0')
		return 0;
	/* \@([^\@]+\.[^\@]+)\z */
	const char *at = strrchr(sender, '@');
	if (at == NULL || strchr(at + 1, '.') == NULL || at[1] == '.' ||
	    at[strlen(at) - 1] == '.')
		return 0;
	char *ad = pool_strdup(s->pool, at + 1);
	str_lcase(ad);
	sa_msg_relays(s->m);
	struct sa_msg *mm = s->m;
	size_t from = 0, to = 0;
	if (mm->n_relays > mm->n_trusted) {
		from = mm->n_trusted;
		to = from + 1;
	} else if (mm->n_trusted > 0) {
		from = 0;
		to = mm->n_trusted;
	} else {
		return 0;
	}
	const char *add = sa_trim_domain(s->e, s->pool, ad);
	for (size_t i = from; i < to; i++) {
		if (mm->relays[i].rdns[0] == '\0')
			continue;
		char *lr = pool_strdup(s->pool, mm->relays[i].rdns);
		str_lcase(lr);
		if (strcmp(add, sa_trim_domain(s->e, s->pool, lr)) == 0)
			return 1;
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

const struct sa_eval_def sa_evals_head[] = {
	{ "check_for_shifted_date", ev_check_for_shifted_date, NULL, NULL },
	{ "check_outlook_message_id", ev_check_outlook_message_id, NULL, NULL },
	{ "check_for_missing_to_header", ev_check_for_missing_to_header, NULL, NULL },
	{ "check_equal_from_domains", ev_check_equal_from_domains, NULL, NULL },
	{ "check_for_matching_env_and_hdr_from", ev_check_for_matching_env_and_hdr_from, NULL, NULL },
	{ "subject_is_all_caps", ev_subject_is_all_caps, NULL, NULL },
	{ "gated_through_received_hdr_remover", ev_gated_through_received_hdr_remover, NULL, NULL },
	{ "check_for_forged_yahoo_received_headers", ev_check_for_forged_yahoo_received_headers, NULL, NULL },
	{ "check_for_forged_hotmail_received_headers", ev_check_for_forged_hotmail_received_headers, NULL, NULL },
	{ "check_for_no_hotmail_received_headers", ev_check_for_no_hotmail_received_headers, NULL, NULL },
	{ "check_for_forged_eudoramail_received_headers", ev_check_for_forged_eudoramail_received_headers, NULL, NULL },
	{ "check_for_forged_juno_received_headers", ev_check_for_forged_juno_received_headers, NULL, NULL },
	{ "check_for_forged_gmail_received_headers", ev_check_for_forged_gmail_received_headers, NULL, NULL },
	{ "check_for_fake_aol_relay_in_rcvd", ev_check_for_fake_aol_relay_in_rcvd, NULL, NULL },
	{ "sorted_recipients", ev_sorted_recipients, NULL, NULL },
	{ "similar_recipients", ev_similar_recipients, NULL, NULL },
	{ "check_illegal_chars", ev_check_illegal_chars, NULL, NULL },
	{ "check_header_count_range", ev_check_header_count_range, NULL, NULL },
	{ "check_unresolved_template", ev_check_unresolved_template, NULL, NULL },
	{ "check_ratware_name_id", ev_check_ratware_name_id, NULL, NULL },
	{ "check_ratware_envelope_from", ev_check_ratware_envelope_from, NULL, NULL },
	{ "check_for_to_in_subject", ev_check_for_to_in_subject, NULL, NULL },
	{ "check_all_trusted", ev_check_all_trusted, NULL, NULL },
	{ "check_no_relays", ev_check_no_relays, NULL, NULL },
	{ "check_relays_unparseable", ev_check_relays_unparseable, NULL, NULL },
	{ "check_for_numeric_helo", ev_check_for_numeric_helo, NULL, NULL },
	{ "helo_ip_mismatch", ev_helo_ip_mismatch, NULL, NULL },
	{ "check_for_no_rdns_dotcom_helo", ev_check_for_no_rdns_dotcom_helo, NULL, NULL },
	{ "check_for_forged_received_trail", ev_check_for_forged_received_trail, NULL, NULL },
	{ "check_mailfrom_matches_rcvd", ev_check_mailfrom_matches_rcvd, NULL, NULL },
	/* WLBLEval: nothing is welcome- or block-listed in ombu's rules
	   (per-user lists are the policy's, src/filter/policy.c) */
	{ "check_from_in_blocklist", ev_zero, NULL, NULL },
	{ "check_from_in_blacklist", ev_zero, NULL, NULL },
	{ "check_from_in_welcomelist", ev_zero, NULL, NULL },
	{ "check_from_in_whitelist", ev_zero, NULL, NULL },
	{ "check_from_in_default_welcomelist", ev_zero, NULL, NULL },
	{ "check_from_in_default_whitelist", ev_zero, NULL, NULL },
	{ "check_to_in_blocklist", ev_zero, NULL, NULL },
	{ "check_to_in_blacklist", ev_zero, NULL, NULL },
	{ "check_to_in_welcomelist", ev_zero, NULL, NULL },
	{ "check_to_in_whitelist", ev_zero, NULL, NULL },
	{ "check_to_in_more_spam", ev_zero, NULL, NULL },
	{ "check_to_in_all_spam", ev_zero, NULL, NULL },
	{ "check_uri_host_in_blocklist", ev_zero, NULL, NULL },
	{ "check_uri_host_in_blacklist", ev_zero, NULL, NULL },
	{ "check_uri_host_in_welcomelist", ev_zero, NULL, NULL },
	{ "check_uri_host_in_whitelist", ev_zero, NULL, NULL },
	{ "check_subject_in_welcomelist", ev_zero, NULL, NULL },
	{ "check_subject_in_whitelist", ev_zero, NULL, NULL },
	{ "check_subject_in_blocklist", ev_zero, NULL, NULL },
	{ "check_subject_in_blacklist", ev_zero, NULL, NULL },
	{ "check_from_in_list", ev_zero, NULL, NULL },
	{ "check_replyto_in_list", ev_zero, NULL, NULL },
	{ "check_uri_host_listed", ev_zero, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

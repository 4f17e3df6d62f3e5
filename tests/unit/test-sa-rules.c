/* src/filter/sa-conf.c, sa-meta.c, sa-engine.c: small rule files written
 * to a temporary folder, loaded with sa_engine_load() and run over small
 * messages.  Every rule type, score, describe, tflags, priority, the
 * conditionals, the local folder's overrides and the warnings; each rule
 * is checked on a message where it hits and on one where it does not. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "filter/sa-private.h"
#include "filter/sa.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_WARNINGS 64

struct t {
	char dir[64];
	char sys[96], local[96];
	char *warnings[MAX_WARNINGS];
	size_t n_warnings;
	struct sa_engine *e;
	struct pool *pool;
	struct sa_result r;
};

static void on_warn(void *ctx, const char *msg)
{
	struct t *t = ctx;

	assert_null(strchr(msg, '\n'));
	if (getenv("TEST_SA_VERBOSE") != NULL)
		fprintf(stderr, "warning: %s\n", msg);
	if (t->n_warnings < MAX_WARNINGS)
		t->warnings[t->n_warnings++] = xstrdup(msg);
}

/* The first warning holding needle (and needle2 unless NULL), or NULL. */
static const char *warned(const struct t *t, const char *needle, const char *needle2)
{
	for (size_t i = 0; i < t->n_warnings; i++)
		if (strstr(t->warnings[i], needle) != NULL &&
		    (needle2 == NULL || strstr(t->warnings[i], needle2) != NULL))
			return t->warnings[i];
	return NULL;
}

static int setup(void **state)
{
	struct t *t = xcalloc(1, sizeof(*t));

	str_copy(t->dir, "/tmp/ombu-test-sa-XXXXXX", sizeof(t->dir));
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->sys, sizeof(t->sys), "%s/sys", t->dir);
	snprintf(t->local, sizeof(t->local), "%s/local", t->dir);
	if (mkdir(t->sys, 0700) < 0 || mkdir(t->local, 0700) < 0)
		return -1;
	t->pool = pool_create("test-sa-rules", 0);
	*state = t;
	return 0;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[256];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0)
			rm_dir(path);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct t *t = *state;

	sa_engine_free(&t->e);
	pool_destroy(&t->pool);
	for (size_t i = 0; i < t->n_warnings; i++)
		free(t->warnings[i]);
	rm_dir(t->dir);
	free(t);
	return 0;
}

/* Writes dir/name (dir is t->sys or t->local). */
static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void load_with(struct t *t, const char *const *plugins)
{
	const char *error = NULL;

	t->e = sa_engine_load(t->sys, t->local, plugins, on_warn, t, &error);
	if (t->e == NULL)
		fail_msg("load: %s", error);
}

/* One file in the system folder, the default plugins. */
static void load(struct t *t, const char *text)
{
	put(t->sys, "10_test.cf", text);
	load_with(t, NULL);
}

static const struct sa_result *scan_info(struct t *t, const char *msg,
					 const struct sa_scan_info *info)
{
	assert_int_equal(sa_engine_scan(t->e, t->pool, msg, strlen(msg), info, false, &t->r), 0);
	return &t->r;
}

static const struct sa_result *scan(struct t *t, const char *msg)
{
	return scan_info(t, msg, NULL);
}

static const struct sa_hit *hit(const struct sa_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_hits; i++)
		if (strcmp(r->hits[i].name, name) == 0)
			return &r->hits[i];
	return NULL;
}

/* Asserts that exactly the rules of `yes` hit among `yes` and `no`. */
static void expect(const struct sa_result *r, const char *const *yes, size_t n_yes,
		   const char *const *no, size_t n_no)
{
	for (size_t i = 0; i < n_yes; i++)
		if (hit(r, yes[i]) == NULL)
			fail_msg("%s should hit", yes[i]);
	for (size_t i = 0; i < n_no; i++)
		if (hit(r, no[i]) != NULL)
			fail_msg("%s should not hit", no[i]);
}

#define EXPECT(r, yes, no) expect((r), (yes), N_ELEMENTS(yes), (no), N_ELEMENTS(no))

static void assert_score(double got, double want)
{
	if (fabs(got - want) > 1e-9)
		fail_msg("score %.6f, expected %.6f", got, want);
}

static const char msg_spam[] =
	"From: \"Alice Example\" <alice@example.com>\n"
	"To: bob@example.org\n"
	"Cc: carol@example.net\n"
	"Subject: =?utf-8?Q?cheap_pills_Gr=C3=BC=C3=9Fe?=\n"
	"Message-ID: <123@spam.example>\n"
	"X-Mailer: Foo Mailer 1.0\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"Buy cheap pills now at http://www.example.com/promo foo-word\n"
	"\n"
	"spam spam spam\n"
	"\n"
	"spam\n";

static const char msg_ham[] =
	"Return-Path: <bob@example.org>\n"
	"From: Bob <bob@example.org>\n"
	"To: alice@example.com\n"
	"Subject: lunch\n"
	"Message-ID: <456@ham.example>\n"
	"\n"
	"See you at noon, bar-word.\n";

static const char msg_html[] =
	"From: x@example.com\r\n"
	"Subject: html\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/html; charset=us-ascii\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"<html><body><p>Hello <b>bold</b> world and <a href=3D\"http://click.example.net/x\">=\r\n"
	"click here</a></p></body></html>\r\n";

static void header_rules(void **state)
{
	struct t *t = *state;
	load(t, "header H_SUBJ Subject =~ /cheap pills/\n"
		"header H_SUBJ_RAW Subject:raw =~ /=\\?utf-8\\?Q\\?/i\n"
		"header H_SUBJ_DEC Subject =~ /=\\?utf-8/i\n"
		"header H_NAME From:name =~ /^Alice Example$/\n"
		"header H_NAME_NO_ADDR From:name =~ /alice\\@/\n"
		"header H_ADDR From:addr =~ /^alice\\@example\\.com$/\n"
		"header H_ADDR_NO_NAME From:addr =~ /Alice/\n"
		"header H_EXISTS exists:X-Mailer\n"
		"header H_NEG X-Mailer !~ /Foo/\n"
		"header H_UNSET X-Mailer =~ /^unset$/ [if-unset: unset]\n"
		"header H_ALL ALL =~ /^X-Mailer: Foo/m\n"
		"header H_TOCC ToCc =~ /carol\\@example\\.net/\n"
		"header H_TO_ONLY To =~ /carol/\n"
		"header H_MSGID MESSAGEID =~ /\\@spam\\.example>/\n"
		"header H_ENVFROM EnvelopeFrom =~ /bounce\\@lists\\.example/\n"
		"header H_CASE subject =~ /CHEAP/i\n");
	assert_int_equal(t->n_warnings, 0);

	static const char *const spam_yes[] = {
		"H_SUBJ", "H_SUBJ_RAW", "H_NAME", "H_ADDR", "H_EXISTS", "H_ALL", "H_TOCC",
		"H_MSGID", "H_CASE",
	};
	static const char *const spam_no[] = {
		"H_SUBJ_DEC", "H_NAME_NO_ADDR", "H_ADDR_NO_NAME", "H_NEG", "H_UNSET",
		"H_TO_ONLY", "H_ENVFROM",
	};
	EXPECT(scan(t, msg_spam), spam_yes, spam_no);

	static const char *const ham_yes[] = { "H_NEG", "H_UNSET" };
	static const char *const ham_no[] = {
		"H_SUBJ", "H_SUBJ_RAW", "H_NAME", "H_ADDR", "H_EXISTS", "H_ALL", "H_TOCC",
		"H_MSGID", "H_ENVFROM", "H_CASE",
	};
	EXPECT(scan(t, msg_ham), ham_yes, ham_no);

	/* EnvelopeFrom: the envelope when there is no Return-Path */
	struct sa_scan_info info = { .envelope_from = "bounce@lists.example" };
	assert_non_null(hit(scan_info(t, msg_spam, &info), "H_ENVFROM"));
	info.envelope_from = "other@lists.example";
	assert_null(hit(scan_info(t, msg_spam, &info), "H_ENVFROM"));
}

static void body_rawbody_full_uri(void **state)
{
	struct t *t = *state;
	/* text URIs are found by their TLD (20_aux_tlds.cf in the real set) */
	load(t, "util_rb_tld com net\n"
		"body B_PILLS /cheap pills now/\n"
		"body B_SUBJECT /pills Gr/\n"
		"body B_NOSUBJECT /pills Gr/\n"
		"tflags B_NOSUBJECT nosubject\n"
		"body B_HEADER /X-Mailer/\n"
		"body B_RENDERED /Hello bold world/\n"
		"body B_TAG /<b>/\n"
		"rawbody R_TAG /<b>bold<\\/b>/\n"
		"rawbody R_QP /href=3D/\n"
		"rawbody R_HEADER /X-Mailer/\n"
		"full F_HEADER /^X-Mailer: Foo/m\n"
		"full F_QP /href=3D\"http/\n"
		"full F_NONE /no such text/\n"
		"uri U_PROMO /www\\.example\\.com\\/promo/\n"
		"uri U_CLICK /^http:\\/\\/click\\.example\\.net\\/x$/\n"
		"uri U_NONE /nowhere\\.example/\n"
		"uri_detail UD_TEXT text =~ /^click here$/ domain =~ /^example\\.net$/\n"
		"uri_detail UD_NOT text =~ /^click here$/ domain !~ /^example\\.net$/\n");
	assert_int_equal(t->n_warnings, 0);

	static const char *const spam_yes[] = { "B_PILLS", "B_SUBJECT", "F_HEADER", "U_PROMO" };
	static const char *const spam_no[] = {
		"B_NOSUBJECT", "B_HEADER", "B_RENDERED", "B_TAG", "R_TAG", "R_QP", "R_HEADER",
		"F_QP", "F_NONE", "U_CLICK", "U_NONE", "UD_TEXT", "UD_NOT",
	};
	EXPECT(scan(t, msg_spam), spam_yes, spam_no);

	/* body is rendered HTML, rawbody the decoded source, full the raw
	   message */
	static const char *const html_yes[] = {
		"B_RENDERED", "R_TAG", "F_QP", "U_CLICK", "UD_TEXT",
	};
	static const char *const html_no[] = {
		"B_PILLS", "B_TAG", "R_QP", "F_HEADER", "F_NONE", "U_PROMO", "U_NONE", "UD_NOT",
	};
	EXPECT(scan(t, msg_html), html_yes, html_no);
}

static void meta_rules(void **state)
{
	struct t *t = *state;
	load(t, "body __A /cheap/\n"
		"body __B /pills/\n"
		"body __C /nonexistent-zzz/\n"
		"body __SPAM /spam/\n"
		"tflags __SPAM multiple\n"
		"meta M_AND __A && __B\n"
		"meta M_AND_C __A && __C\n"
		"meta M_OR __C || __B\n"
		"meta M_NOT __A && !__C\n"
		"meta M_NOT_A !__A\n"
		"meta M_SUM2 (__A + __B + __C) > 1\n"
		"meta M_SUM3 (__A + __B + __C) > 2\n"
		"meta M_COUNT4 __SPAM > 3\n"
		"meta M_COUNT5 __SPAM > 4\n"
		"meta M_PREC __C || __A && __B\n"
		"meta M_META M_AND && M_NOT\n"
		"meta M_META_NEG M_AND && !M_NOT\n"
		"meta M_MISSING __A && NO_SUCH_RULE\n"
		"meta M_MISSING_NOT __A && !NO_SUCH_RULE\n"
		"meta M_LATER __A && LATER_RULE\n"
		"meta M_BAD __A && (\n"
		"meta M_PERL __A && system('x')\n"
		"meta M_CYC1 M_CYC2\n"
		"meta M_CYC2 M_CYC1 || __A\n"
		"body LATER_RULE /pills/\n"
		/* chains of one operator (evaluated flat): || gives the first
		   true value, && the last, + sums left to right */
		"meta M_OR_VAL (__C || __C || __SPAM) > 3\n"
		"meta M_AND_VAL (__A && __B && __SPAM) > 3\n"
		"meta M_AND_FALSE __A && __B && __C\n"
		"meta M_OR_FALSE __C || __C || NO_SUCH_RULE\n"
		"meta M_SUM_NESTED (__SPAM + (__A + __B) + 0.5) > 6.4\n"
		"meta M_SUM_NESTED2 (__SPAM + (__A + __B) + 0.5) > 6.5\n"
		"meta M_MIXED __C || __A && __B && !__C || __C\n");
	assert_non_null(warned(t, "10_test.cf:21: rule M_BAD:", NULL));
	assert_non_null(warned(t, "10_test.cf:22: rule M_PERL:", NULL));
	assert_non_null(warned(t, "rule M_CYC1", "cycle"));
	assert_null(warned(t, "M_MISSING", NULL));

	static const char *const spam_yes[] = {
		"M_AND", "M_OR", "M_NOT", "M_SUM2", "M_COUNT4", "M_PREC", "M_META",
		"M_MISSING_NOT", "M_LATER", "LATER_RULE", "M_OR_VAL", "M_AND_VAL",
		"M_SUM_NESTED", "M_MIXED",
	};
	static const char *const spam_no[] = {
		"M_AND_C", "M_NOT_A", "M_SUM3", "M_COUNT5", "M_META_NEG", "M_MISSING", "M_BAD",
		"M_PERL", "M_CYC1", "M_CYC2", "__A", "__B", "__SPAM", "M_AND_FALSE",
		"M_OR_FALSE", "M_SUM_NESTED2",
	};
	const struct sa_result *r = scan(t, msg_spam);
	EXPECT(r, spam_yes, spam_no);
	/* a meta scores once, whatever the value of its expression */
	assert_score(hit(r, "M_COUNT4")->score, 1.0);

	static const char *const ham_yes[] = { "M_NOT_A" };
	static const char *const ham_no[] = {
		"M_AND", "M_OR", "M_NOT", "M_SUM2", "M_COUNT4", "M_PREC", "M_META",
		"M_MISSING_NOT", "M_LATER",
	};
	EXPECT(scan(t, msg_ham), ham_yes, ham_no);
}

/* The prefilter's literals (sa-regex.c) and how many of them a match
   needs: a rule runs its regex only on lines holding that many. */
static void literal_counts(void **state)
{
	struct t *t = *state;
	static const struct {
		const char *pat;
		unsigned n_lits, count;
	} cases[] = {
		{ "cheap pills", 1, 1 },
		{ "(?:foo|bar){3}", 2, 3 },
		{ "(?:x(?:foo|bar)y\\s*){2,4}", 2, 2 },
		{ "(?:(?:foo|bar)\\W){2}(?:baz){3}", 1, 3 },
		{ "(?:foo){2}|bar", 2, 1 },
		{ "(?:foo){0,3}bar", 1, 1 },
		{ "(?:a\\s(?:foo|bar)){100}", 2, 64 },
		{ "\\w+", 0, 1 },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sa_re re;
		const char *err = NULL;
		if (sa_re_compile(t->pool, cases[i].pat, "i", &re, &err) < 0)
			fail_msg("%s: %s", cases[i].pat, err);
		if (re.n_lits != cases[i].n_lits || re.lit_count != cases[i].count)
			fail_msg("%s: %u literals x %u, expected %u x %u", cases[i].pat, re.n_lits,
				 re.lit_count, cases[i].n_lits, cases[i].count);
		sa_re_free(&re);
	}

	load(t, "body B_THREE /(?:\\b(?:spam|ham)\\W*){3}/\n"
		"body B_FIVE /(?:\\b(?:spam|ham)\\W*){5}/\n"
		"rawbody R_THREE /(?:spam\\W*){3}/\n"
		"rawbody R_FIVE /(?:spam\\W*){5}/\n"
		"body B_THREE_PARA /(?:pills|now|cheap)\\W.*(?:pills|now|cheap)\\W.*(?:pills|now|cheap)/\n");
	/* msg_spam: "spam spam spam" on one line, "spam" on another; the
	   body rules see paragraphs, rawbody the lines */
	static const char *const yes[] = { "B_THREE", "R_THREE", "B_THREE_PARA" };
	static const char *const no[] = { "B_FIVE", "R_FIVE" };
	EXPECT(scan(t, msg_spam), yes, no);
	/* four in all, but two per paragraph; rawbody sees the part whole */
	static const char msg_split[] =
		"Subject: x\n\nspam spam\n\nspam spam\n";
	static const char *const yes2[] = { "R_THREE" };
	static const char *const no2[] = { "B_THREE", "B_FIVE", "R_FIVE" };
	EXPECT(scan(t, msg_split), yes2, no2);
}

/* ASCII mode (sa-regex.c): a rule with no literal for every line may
   have some for the clean lines (no byte >= 0x80, no '&'), and then
   runs its regex on those lines only where one occurs, and on every
   line that is not clean. */
static void ascii_literals(void **state)
{
	struct t *t = *state;
	static const struct {
		const char *pat;
		unsigned n_lits;
		bool agate;
		unsigned n_alits;
	} cases[] = {
		/* <P><A><Y> in small: the UTF-8 look-alikes leave {pay, p@y} */
		{ "(?:[pP]|\\xd1\\x80)(?:[aA@\\xe0-\\xe6]|\\xc3[\\xa0-\\xa6])(?:[yY]|\\xc3\\xbd)", 0, true, 2 },
		/* only high bytes or an entity: never on a clean line */
		{ "(?:[\\xe0-\\xff]{2}|&#\\d+;)\\d", 0, true, 0 },
		/* literals for every line win: {xy, x\xc3\xa9y} */
		{ "x(?:\\xc3\\xa9)?[yY]", 2, false, 0 },
		/* an optional never part matches the empty string: {to} */
		{ "(?:[a-z]|\\xc3\\xa9)?(?:[\\xe0-\\xff]|t)(?:[\\xe0-\\xff]|o)", 0, true, 1 },
		/* a literal for every line: no ASCII set needed */
		{ "\\xc3\\xa9t\\xc3\\xa9", 1, false, 0 },
		/* nothing to know */
		{ "\\w+", 0, false, 0 },
		{ "(?:\\xc3\\xa9|\\w)\\w", 0, false, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sa_re re;
		const char *err = NULL;
		if (sa_re_compile(t->pool, cases[i].pat, "i", &re, &err) < 0)
			fail_msg("%s: %s", cases[i].pat, err);
		if (re.n_lits != cases[i].n_lits || re.agate != cases[i].agate ||
		    re.n_alits != cases[i].n_alits)
			fail_msg("%s: %u literals, agate %d with %u, expected %u, %d with %u",
				 cases[i].pat, re.n_lits, re.agate, re.n_alits, cases[i].n_lits,
				 cases[i].agate, cases[i].n_alits);
		sa_re_free(&re);
	}

	load(t, "body A_PAY /(?:[pP]|\\xd1\\x80)(?:[aA@\\xe0-\\xe6]|\\xc3[\\xa0-\\xa6])(?:[yY]|\\xc3\\xbd)\\b/i\n"
		"tflags A_PAY multiple\n"
		"meta A_PAY_4 A_PAY > 3\n"
		"meta A_PAY_5 A_PAY > 4\n"
		"body A_PAY_ONCE /(?:[pP]|\\xd1\\x80)(?:[aA@\\xe0-\\xe6]|\\xc3[\\xa0-\\xa6])(?:[yY]|\\xc3\\xbd)\\b/i\n"
		"body A_ENTITY /(?:[\\xe0-\\xff]{2}|&\\#\\d+;)\\d/\n"
		"body A_UTF8_ONLY /(?:[\\xe0-\\xff]{2}|&\\#\\d+;)z/\n");
	/* a match on clean lines (p@y, PAY), on a line made dirty by an '&'
	   elsewhere (pay & more), and through a UTF-8 look-alike (p\xc3\xa4y);
	   the entity rule matches where only a dirty line can */
	static const char msg[] =
		"Subject: nothing here\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"send p@y now\n\n"
		"p\xc3\xa4y it\n\n"
		"a plain line between\n\n"
		"pay & more, &#233;5\n\n"
		"PAY again\n";
	static const char *const yes[] = { "A_PAY_4", "A_PAY_ONCE", "A_ENTITY" };
	static const char *const no[] = { "A_PAY_5", "A_UTF8_ONLY" };
	EXPECT(scan(t, msg), yes, no);
	/* clean lines only: the gate alone decides */
	static const char clean[] =
		"Subject: nothing here\n\n"
		"no payment, a paycheck\n\n"
		"but pay now\n";
	static const char *const yes2[] = { "A_PAY_ONCE" };
	static const char *const no2[] = { "A_ENTITY", "A_UTF8_ONLY" };
	EXPECT(scan(t, clean), yes2, no2);
	static const char none[] = "Subject: x\n\nno payment, a paycheck\n";
	const struct sa_result *r = scan(t, none);
	assert_null(hit(r, "A_PAY_ONCE"));
	assert_null(hit(r, "A_ENTITY"));
}

/* Whether re's skeleton literals hold s. */
static bool has_alit(const struct sa_re *re, const char *s)
{
	for (unsigned i = 0; i < re->n_alits; i++)
		if (re->alit_lens[i] == strlen(s) && memcmp(re->alits[i], s, re->alit_lens[i]) == 0)
			return true;
	return false;
}

static void skeleton_literals(void **state)
{
	struct t *t = *state;
	static const struct {
		const char *pat;
		bool askel;
		unsigned n_alits;
		const char *has, *hasnt;
	} cases[] = {
		/* a drug name with separators and look-alikes: each letter
		   class keeps its letters and digits, '@' and '|' leave
		   nothing (3 x 1 x 1 x 4 x 2 x 1 strings) */
		{ "(?:\\b|\\s)[_\\W]{0,3}[a4@][_\\W]{0,3}m[_\\W]{0,3}b[_\\W]{0,3}[i1!|l][_\\W]{0,3}[e3][_\\W]{0,3}n",
		  true, 24, "ambien", "ambie" },
		{ "(?:\\b|\\s)[_\\W]{0,3}[a4@][_\\W]{0,3}m[_\\W]{0,3}b[_\\W]{0,3}[i1!|l][_\\W]{0,3}[e3][_\\W]{0,3}n",
		  true, 24, "mben", "mbn" },
		/* SpamAssassin's <post P2>: a letter once or twice */
		{ "(?:[pP]){1,2}\\W?(?:[hH]){1,2}\\W?(?:[aA]){1,2}\\W?(?:[rR]){1,2}", true, 16, "pphaar", "pha" },
		/* separators of their own: spaces, punctuation, \\s, classes
		   of them, repeated */
		{ "\\bp[-\\s_]?a[-\\s_]?s[-\\s_]?s[-\\s_]?w", true, 1, "passw", NULL },
		{ "a[^\\w]{0,3}b[^\\w]*c", true, 1, "abc", NULL },
		{ "x[\\s\\x00-\\x2f]*y[\\h\\v]+z", true, 1, "xyz", NULL },
		/* an entity leaves its letters */
		{ "v[_\\W]?(?:i|&iuml;)[_\\W]?a[_\\W]?g", true, 2, "viumlag", NULL },
		/* letters a class may leave out shorten the strings, down to
		   two; below that there is no literal */
		{ "c[_\\W]?[i!|]?[_\\W]?[a@]?[_\\W]?s", true, 4, "cs", "ci" },
		{ "c[_\\W]?[i!|]?[_\\W]?[a@]?", false, 0, NULL, NULL },
		/* too many letters in a class, a negated class with letters,
		   \\w, a digit class, '.' */
		{ "a[_\\W]?[^a-c][_\\W]?b", false, 0, NULL, NULL },
		{ "\\b(?:[a-z]{5,}[\\s.]+){6}", false, 0, NULL, NULL },
		{ "x\\W?\\w\\W?y", false, 0, NULL, NULL },
		{ "q[_\\W]?\\d[_\\W]?r", false, 0, NULL, NULL },
		{ "q[_\\W]?.[_\\W]?r", false, 0, NULL, NULL },
		/* literals of the line itself win */
		{ "viagra[_\\W]?x", false, 0, NULL, NULL },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sa_re re;
		const char *err = NULL;
		if (sa_re_compile(t->pool, cases[i].pat, "i", &re, &err) < 0)
			fail_msg("%s: %s", cases[i].pat, err);
		if (re.askel != cases[i].askel || (re.askel && re.n_alits != cases[i].n_alits))
			fail_msg("%s: skeleton %d with %u literals, expected %d with %u", cases[i].pat,
				 re.askel, re.n_alits, cases[i].askel, cases[i].n_alits);
		if (re.askel && !re.agate)
			fail_msg("%s: skeleton literals without the clean-line gate", cases[i].pat);
		if (cases[i].has != NULL && !has_alit(&re, cases[i].has))
			fail_msg("%s: no literal %s", cases[i].pat, cases[i].has);
		if (cases[i].hasnt != NULL && has_alit(&re, cases[i].hasnt))
			fail_msg("%s: literal %s", cases[i].pat, cases[i].hasnt);
		sa_re_free(&re);
	}

	/* scans: matches on clean lines the prefilter must let through,
	   one on a dirty line (which runs without a literal), lines whose
	   skeleton holds a literal but that do not match, and lines
	   without one */
	static const char pat[] =
		"(?:\\b|\\s)[_\\W]{0,3}v[_\\W]{0,3}[i1!|l][_\\W]{0,3}[a4@][_\\W]{0,3}g[_\\W]{0,3}r[_\\W]{0,3}[a4@]";
	struct sa_re re;
	const char *err = NULL;
	assert_int_equal(sa_re_compile(t->pool, pat, "i", &re, &err), 0);
	assert_true(re.askel);
	sa_re_free(&re);
	char *rules = pool_printf(t->pool,
		"body K_DRUG /%s/i\n"
		"tflags K_DRUG multiple\n"
		"meta K_DRUG_3 K_DRUG > 2\n"
		"meta K_DRUG_4 K_DRUG > 3\n"
		"body K_ONCE /%s/i\n", pat, pat);
	load(t, rules);
	static const char msg[] =
		"Subject: nothing here\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"buy v-1 a g.r@a today\n\n"
		"a plain line, v.ag.ue graces\n\n"
		"caf\xc3\xa9 and V_I_A_G_R_A\n\n"
		"nothing to see\n\n"
		"cheap   v | a   g r 4 here\n";
	static const char *const yes[] = { "K_DRUG_3", "K_ONCE" };
	static const char *const no[] = { "K_DRUG_4" };
	EXPECT(scan(t, msg), yes, no);
	static const char clean_no[] =
		"Subject: nothing here\n\n"
		"vagrant graves, avi agr\n\n"
		"divagrams\n";
	const struct sa_result *r = scan(t, clean_no);
	assert_null(hit(r, "K_ONCE"));
	assert_null(hit(r, "K_DRUG"));
	static const char clean_yes[] = "Subject: x\n\nno, it is V!agra\n";
	r = scan(t, clean_yes);
	assert_non_null(hit(r, "K_ONCE"));
}

/* Header rules with literals on one header share a table: hits, misses
   and negations must come out as each rule's own regex says. */
static void header_tables(void **state)
{
	struct t *t = *state;
	load(t, "header H_CHEAP Subject =~ /cheap/i\n"
		"header H_PILLS Subject =~ /\\bpills?\\b/i\n"
		"header H_NOT_HELLO Subject !~ /hello/i\n"
		"header H_NOT_CHEAP Subject !~ /cheap/i\n"
		"header H_LIT_NO_MATCH Subject =~ /cheap\\s+watches/i\n"
		"header H_MANY Subject =~ /(?:alpha|bravo|charlie|delta|echo|foxtrot|golf|hotel|india|juliet)-now/i\n"
		"header H_COUNT Subject =~ /pill/i\n"
		"tflags H_COUNT multiple\n"
		"meta H_COUNT_2 H_COUNT > 1\n"
		"header H_FROM From =~ /cheap/i\n");
	/* the rules on Subject got a table, the single one on From not */
	size_t with = 0, without = 0;
	for (size_t i = 0; i < t->e->n_hreqs; i++) {
		if (t->e->pf_header[i] != NULL)
			with++;
		else
			without++;
	}
	assert_int_equal(with, 1);
	assert_true(without >= 1);
	static const char msg[] =
		"From: someone@example.com\n"
		"Subject: CHEAP Pills, more pills and Golf-now\n\n"
		"body\n";
	static const char *const yes[] = { "H_CHEAP", "H_PILLS", "H_NOT_HELLO", "H_MANY", "H_COUNT_2" };
	static const char *const no[] = { "H_NOT_CHEAP", "H_LIT_NO_MATCH", "H_FROM" };
	EXPECT(scan(t, msg), yes, no);
	/* nothing on Subject: the table lets no rule through and the
	   negations hold */
	static const char plain[] = "From: cheap@example.com\nSubject: hello there\n\nbody\n";
	static const char *const yes2[] = { "H_NOT_CHEAP", "H_FROM" };
	static const char *const no2[] = { "H_CHEAP", "H_PILLS", "H_NOT_HELLO", "H_MANY", "H_COUNT_2" };
	EXPECT(scan(t, plain), yes2, no2);
}

/* Occurrences of any of lits in text (every end position counts). */
static unsigned lit_hits(char *const *lits, const size_t *lens, unsigned n, const char *text,
			 size_t len)
{
	unsigned hits = 0;
	for (size_t i = 0; i < len; i++)
		for (unsigned k = 0; k < n; k++)
			if (lens[k] <= i + 1 && memcmp(text + i + 1 - lens[k], lits[k], lens[k]) == 0)
				hits++;
	return hits;
}

/* Patterns with a line they match: the literals the extractor gives
   must occur in it (in its skeleton, for skeleton literals), as often
   as it says.  The cases are constructs the extractor once misread. */
static void literal_soundness(void **state)
{
	struct t *t = *state;
	static const struct {
		const char *pat, *mods, *line;
	} cases[] = {
		/* an escaped hyphen in a class is a hyphen, not a range */
		{ "v[_\\W]?i[_\\W]?[a\\-c][_\\W]?g[_\\W]?r[_\\W]?a", "i", "v-i---g-r-a" },
		{ "zz[x\\-z]qq", "", "zz-qq" },
		/* a quantifier after a comment, an empty \\Q\\E or a lone \\E
		   applies to the atom before it */
		{ "v[_\\W]?i[_\\W]?a(?#x)?[_\\W]?g[_\\W]?r[_\\W]?a", "", "v-i-g-r-a" },
		{ "v[_\\W]?i\\Q\\E?[_\\W]?g[_\\W]?r[_\\W]?a", "", "v-g-r-a" },
		{ "qwer\\E?tyu", "", "qwetyu" },
		/* after \\Q...\\E, to its last byte only */
		{ "v[_\\W]?\\Qia\\E?[_\\W]?g[_\\W]?r[_\\W]?a", "", "v-i-g-r-a" },
		{ "\\QB;\\E{1,}+b", "", "B;;b" },
		/* \\11 is one escape (a tab here), not \\1 and '1' */
		{ "abc\\11defg", "", "abc\tdefg" },
		/* named groups and subroutine calls */
		{ "(?'n'hello)", "", "hello" },
		{ "(?<n>[xy]zz)q(?P>n)", "", "xzzqyzz" },
		{ "(?<n>[xy]zz)q(?&n)", "", "xzzqyzz" },
		{ "(ab[xy]zz)q(?1)", "", "abxzzqabyzz" },
		/* "[:" that does not start a POSIX class, \\Q...\\E in a class */
		{ "[[:x]|yy:]]qqqq", "", "x" },
		{ "[\\Q]x\\E]yz", "", "xyz" },
		{ "[a\\Q\\E-c]qq", "", "bqq" },
		/* 0x85 is white space in extended mode */
		{ "a\x85" "bcd", "x", "abcd" },
		/* \Q and \E at the start or the end of a class's range */
		{ "q[!-\\Q]\\E]z", "", "q!z" },
		{ "[\\E]x]y", "", "]y" },
		{ "[\\Q\\E^a]bc", "", "xbc" },
		/* "&#" only where the '#' must occur */
		{ "&\\#(?#c)?", "", "x&x" },
		{ "&\\# ?", "x", "x&x" },
		/* (?xx) ignores spaces in classes */
		{ "(?xx)q[ ]]z", "", "q]z" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sa_re re;
		const char *err = NULL;
		if (sa_re_compile(t->pool, cases[i].pat, cases[i].mods, &re, &err) < 0)
			fail_msg("%s: %s", cases[i].pat, err);
		const char *line = cases[i].line;
		size_t len = strlen(line), ov[2];
		if (!sa_re_match(&re, line, len, 0, ov))
			fail_msg("%s does not match %s", cases[i].pat, line);
		char *low = pool_strdup(t->pool, line), *skel = pool_strdup(t->pool, "");
		size_t sl = 0;
		skel = pool_alloc(t->pool, len + 1);
		for (size_t k = 0; k < len; k++) {
			low[k] = ascii_lower(line[k]);
			if ((low[k] >= 'a' && low[k] <= 'z') || (low[k] >= '0' && low[k] <= '9'))
				skel[sl++] = low[k];
		}
		if (re.n_lits > 0) {
			if (lit_hits(re.lits, re.lit_lens, re.n_lits, low, len) < re.lit_count)
				fail_msg("%s: %s holds fewer than %u of its %u literals (%s...)",
					 cases[i].pat, line, re.lit_count, re.n_lits, re.lits[0]);
		} else if (re.agate) {
			/* every line here is clean */
			if (re.n_alits == 0)
				fail_msg("%s: said not to match the clean line %s", cases[i].pat, line);
			const char *text = re.askel ? skel : low;
			size_t tl = re.askel ? sl : len;
			if (lit_hits(re.alits, re.alit_lens, re.n_alits, text, tl) < re.alit_count)
				fail_msg("%s: %s holds fewer than %u of its %u %s literals (%s...)",
					 cases[i].pat, text, re.alit_count, re.n_alits,
					 re.askel ? "skeleton" : "clean-line", re.alits[0]);
		}
		sa_re_free(&re);
	}
}

static void scores(void **state)
{
	struct t *t = *state;
	load(t, "body S_DEFAULT /cheap/\n"
		"body T_TESTING /cheap/\n"
		"body S_ONE /cheap/\n"
		"score S_ONE 2.5\n"
		"body S_FOUR /cheap/\n"
		"score S_FOUR 1.1 2.2 3.3 4.4\n"
		"body S_ZERO /cheap/\n"
		"score S_ZERO 0\n"
		"body S_LATER /cheap/\n"
		"score S_LATER 1.0\n"
		"score S_LATER 3.0\n"
		"body S_THREE /cheap/\n"
		"score S_THREE 7 7 7\n"
		"body S_WORD /cheap/\n"
		"score S_WORD lots\n"
		"body S_REL /cheap/\n"
		"score S_REL 1\n"
		"score S_REL (0.5)\n"
		"score S_BEFORE 4\n"
		"body S_BEFORE /cheap/\n"
		"body S_HAM /bar-word/\n"
		"score S_HAM 9\n"
		"score NOT_A_RULE 5\n");
	assert_non_null(warned(t, "10_test.cf:13:", "1 or 4 scores"));
	assert_non_null(warned(t, "10_test.cf:15:", "lots"));
	assert_int_equal(t->n_warnings, 2);

	const struct sa_result *r = scan(t, msg_spam);
	assert_score(hit(r, "S_DEFAULT")->score, 1.0);
	assert_score(hit(r, "T_TESTING")->score, 0.01);
	assert_score(hit(r, "S_ONE")->score, 2.5);
	assert_score(hit(r, "S_FOUR")->score, 1.1); /* set 0: no Bayes, no network */
	assert_null(hit(r, "S_ZERO"));
	assert_score(hit(r, "S_LATER")->score, 3.0);
	assert_score(hit(r, "S_THREE")->score, 1.0);
	assert_score(hit(r, "S_WORD")->score, 1.0);
	assert_score(hit(r, "S_REL")->score, 1.5);
	assert_score(hit(r, "S_BEFORE")->score, 4.0);
	assert_null(hit(r, "S_HAM"));
	assert_null(hit(r, "NOT_A_RULE"));
	assert_int_equal(r->n_hits, 9);
	assert_score(r->score, 1 + 0.01 + 2.5 + 1.1 + 3 + 1 + 1 + 1.5 + 4);

	r = scan(t, msg_ham);
	assert_int_equal(r->n_hits, 1);
	assert_score(r->score, 9.0);
}

static void describe_tflags_priority(void **state)
{
	struct t *t = *state;
	load(t, "body D_ONE /cheap/\n"
		"describe D_ONE Cheap, with  two spaces\n"
		"body D_NONE /cheap/\n"
		"describe D_NONE\n"
		"body N_NICE /cheap/\n"
		"tflags N_NICE nice\n"
		"body N_NICE_SCORED /cheap/\n"
		"tflags N_NICE_SCORED nice\n"
		"score N_NICE_SCORED -2.5\n"
		"body N_MULT /spam/\n"
		"tflags N_MULT multiple\n"
		"score N_MULT 0.5\n"
		"body N_MAX /spam/\n"
		"tflags N_MAX multiple maxhits=2\n"
		"score N_MAX 0.5\n"
		"body N_ONCE /spam/\n"
		"score N_ONCE 0.5\n"
		"header N_HMULT ALL =~ /example/\n"
		"tflags N_HMULT multiple\n"
		"score N_HMULT 0.1\n"
		"body P_HIGH /cheap/\n"
		"priority P_HIGH 500\n"
		"body P_LOW /cheap/\n"
		"priority P_LOW -100\n"
		"body P_NONE /cheap/\n"
		"priority P_NONE x\n");
	assert_non_null(warned(t, "10_test.cf:4:", "missing value"));
	assert_non_null(warned(t, "10_test.cf:26:", "priority"));
	assert_int_equal(t->n_warnings, 2);

	const struct sa_result *r = scan(t, msg_spam);
	assert_string_equal(hit(r, "D_ONE")->describe, "Cheap, with  two spaces");
	assert_string_equal(hit(r, "D_NONE")->describe, "");
	assert_score(hit(r, "N_NICE")->score, -1.0);
	assert_score(hit(r, "N_NICE_SCORED")->score, -2.5);
	assert_score(hit(r, "N_MULT")->score, 4 * 0.5);
	assert_score(hit(r, "N_MAX")->score, 2 * 0.5);
	assert_score(hit(r, "N_ONCE")->score, 0.5);
	/* From, To, Cc and Message-ID... hold "example": several matches */
	assert_true(hit(r, "N_HMULT")->score > 0.25);

	r = scan(t, msg_ham);
	assert_null(hit(r, "N_MULT"));
	assert_null(hit(r, "N_NICE"));
	assert_null(hit(r, "D_ONE"));

	assert_int_equal(sa_rule_get(t->e, "P_HIGH")->priority, 500);
	assert_int_equal(sa_rule_get(t->e, "P_LOW")->priority, -100);
	assert_int_equal(sa_rule_get(t->e, "P_NONE")->priority, 0);
	assert_int_equal(sa_rule_get(t->e, "D_ONE")->priority, 0);
}

static void conditionals(void **state)
{
	struct t *t = *state;
	static const char *const plugins[] = {
		"Mail::SpamAssassin::Plugin::Loaded", "BodyEval", NULL,
	};
	put(t->sys, "10_if.cf",
	    "ifplugin Mail::SpamAssassin::Plugin::Loaded\n"
	    "body C_LOADED /cheap/\n"
	    "else\n"
	    "body C_LOADED_ELSE /cheap/\n"
	    "endif\n"
	    "ifplugin Missing\n"
	    "body C_MISSING /cheap/\n"
	    "else\n"
	    "body C_MISSING_ELSE /cheap/\n"
	    "endif\n"
	    "if plugin(Loaded)\n"
	    "  ifplugin Missing\n"
	    "    body C_NEST_A /cheap/\n"
	    "  else\n"
	    "    body C_NEST_B /cheap/\n"
	    "  endif\n"
	    "  body C_NEST_AFTER /cheap/\n"
	    "endif\n"
	    "if plugin(Missing)\n"
	    "  ifplugin Loaded\n"
	    "    body C_NEST_C /cheap/\n"
	    "  else\n"
	    "    body C_NEST_D /cheap/\n"
	    "  endif\n"
	    "  body C_NEST_E /cheap/\n"
	    "else\n"
	    "  body C_NEST_F /cheap/\n"
	    "endif\n"
	    "if !plugin(Missing)\n"
	    "body C_NOT /cheap/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Conf::feature_bug6558_free)\n"
	    "body C_CAN /cheap/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Conf::feature_no_such_thing)\n"
	    "body C_CANNOT /cheap/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Plugin::BodyEval::has_check_body_length)\n"
	    "body C_CAN_PLUGIN /cheap/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Plugin::DKIM::has_arc)\n"
	    "body C_CAN_MISSING_PLUGIN /cheap/\n"
	    "endif\n"
	    "if version >= 3.004000\n"
	    "body C_VERSION /cheap/\n"
	    "endif\n"
	    "if version >= 5.000000\n"
	    "body C_VERSION5 /cheap/\n"
	    "endif\n"
	    "if (version > 3.0) && plugin(Loaded)\n"
	    "body C_AND /cheap/\n"
	    "endif\n"
	    "if version < 3 || plugin(Missing)\n"
	    "body C_OR /cheap/\n"
	    "endif\n"
	    "if perl_version >= 5.010\n"
	    "body C_PERL /cheap/\n"
	    "endif\n"
	    "if frobnicate(1)\n"
	    "body C_UNKNOWN /cheap/\n"
	    "endif\n"
	    "endif\n"
	    "else\n"
	    "body C_AFTER /cheap/\n"
	    "if plugin(Missing)\n"
	    "body C_UNCLOSED /cheap/\n");
	/* a file's end closes what it left open */
	put(t->sys, "20_next.cf", "body C_NEXT_FILE /cheap/\n");
	load_with(t, plugins);
	assert_non_null(warned(t, "10_if.cf:59:", "unparseable condition"));
	assert_non_null(warned(t, "10_if.cf:62:", "endif"));
	assert_non_null(warned(t, "10_if.cf:63:", "else"));
	assert_non_null(warned(t, "10_if.cf:65:", "unclosed"));
	assert_int_equal(t->n_warnings, 4);

	static const char *const yes[] = {
		"C_LOADED", "C_MISSING_ELSE", "C_NEST_B", "C_NEST_AFTER", "C_NEST_F", "C_NOT",
		"C_CAN", "C_CAN_PLUGIN", "C_VERSION", "C_AND", "C_PERL", "C_AFTER",
		"C_NEXT_FILE",
	};
	static const char *const no[] = {
		"C_LOADED_ELSE", "C_MISSING", "C_NEST_A", "C_NEST_C", "C_NEST_D", "C_NEST_E",
		"C_CANNOT", "C_CAN_MISSING_PLUGIN", "C_VERSION5", "C_OR", "C_UNKNOWN",
		"C_UNCLOSED",
	};
	EXPECT(scan(t, msg_spam), yes, no);
	/* skipped rules are not defined at all */
	assert_null(sa_rule_get(t->e, "C_MISSING"));
	assert_non_null(sa_rule_get(t->e, "C_LOADED"));
}

/* Bug: an if nested beyond the stack was dropped, so its endif closed
   an outer if and what that outer if should skip was read. */
static void if_nested_too_deep(void **state)
{
	struct t *t = *state;
	char text[4096];
	size_t o = 0;

	o += (size_t)snprintf(text + o, sizeof(text) - o, "if plugin(Missing)\n");
	for (int i = 0; i < 69; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "if version > 1\n");
	o += (size_t)snprintf(text + o, sizeof(text) - o, "body DEEP_INSIDE /cheap/\n");
	for (int i = 0; i < 69; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "endif\n");
	o += (size_t)snprintf(text + o, sizeof(text) - o,
			      "body INSIDE_MISSING /cheap/\nendif\nbody OUTSIDE /cheap/\n");
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "if version > 1\n");
	o += (size_t)snprintf(text + o, sizeof(text) - o, "else\nbody DEEP_ELSE /cheap/\n");
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "endif\n");
	snprintf(text + o, sizeof(text) - o, "body LAST /cheap/\n");
	load(t, text);
	assert_non_null(warned(t, "10_test.cf:65:", "too deep"));
	assert_int_equal(t->n_warnings, 2);
	static const char *const yes[] = { "OUTSIDE", "LAST" };
	static const char *const no[] = { "DEEP_INSIDE", "INSIDE_MISSING", "DEEP_ELSE" };
	EXPECT(scan(t, msg_spam), yes, no);
}

/* plugins NULL: Debian's default set counts as loaded. */
static void default_plugins(void **state)
{
	struct t *t = *state;
	load(t, "ifplugin Mail::SpamAssassin::Plugin::HTMLEval\n"
		"body DP_HTMLEVAL /cheap/\n"
		"endif\n"
		"ifplugin Mail::SpamAssassin::Plugin::TextCat\n"
		"body DP_TEXTCAT /cheap/\n"
		"endif\n"
		"if plugin(Mail::SpamAssassin::Plugin::Dmarc)\n"
		"body DP_DMARC /cheap/\n"
		"endif\n");
	static const char *const yes[] = { "DP_HTMLEVAL", "DP_DMARC" };
	static const char *const no[] = { "DP_TEXTCAT" };
	EXPECT(scan(t, msg_spam), yes, no);
}

static void local_overrides(void **state)
{
	struct t *t = *state;
	put(t->sys, "10_base.cf",
	    "body OVR /foo-word/\n"
	    "score OVR 1.0\n"
	    "describe OVR system\n"
	    "body KEEP /foo-word/\n"
	    "score KEEP 2.0\n"
	    "body KEEP_DEF /foo-word/\n"
	    "uri_detail UD_OVR raw =~ /www\\.example\\.com/\n"
	    "util_rb_tld com\n");
	put(t->sys, "20_later.cf", "score KEEP 4.0\n");
	/* C collation: "9_" comes after "20_" */
	put(t->sys, "9_last.cf", "score KEEP 5.0\n");
	put(t->sys, "README", "body IGNORED_README /foo-word/\n");
	put(t->sys, "30_x.cf.bak", "body IGNORED_BAK /foo-word/\n");
	put(t->sys, ".hidden.cf", "body IGNORED_HIDDEN /foo-word/\n");
	put(t->local, "local.cf",
	    "body OVR /bar-word/\n"
	    "score OVR 3.0\n"
	    "describe OVR local\n"
	    "body KEEP_DEF /foo(/\n"
	    "uri_detail UD_OVR raw =~ /nowhere\\.example/\n");
	load_with(t, NULL);
	assert_non_null(warned(t, "local.cf:4: rule KEEP_DEF:", NULL));
	assert_int_equal(t->n_warnings, 1);
	/* a rule defined again replaces the first definition */
	assert_int_equal(sa_engine_rule_count(t->e), 4);

	static const char *const spam_yes[] = { "KEEP", "KEEP_DEF" };
	static const char *const spam_no[] = {
		"OVR", "IGNORED_README", "IGNORED_BAK", "IGNORED_HIDDEN", "UD_OVR",
	};
	const struct sa_result *r = scan(t, msg_spam);
	EXPECT(r, spam_yes, spam_no);
	assert_score(hit(r, "KEEP")->score, 5.0);

	static const char *const ham_yes[] = { "OVR" };
	static const char *const ham_no[] = { "KEEP", "KEEP_DEF" };
	r = scan(t, msg_ham);
	EXPECT(r, ham_yes, ham_no);
	assert_score(hit(r, "OVR")->score, 3.0);
	assert_string_equal(hit(r, "OVR")->describe, "local");
}

static void broken_rules(void **state)
{
	struct t *t = *state;
	load(t, "body GOOD1 /foo-word/\n"
		"body BAD_RE /foo(/\n"
		"header BAD_HDR Subject =~ /[z-a]/\n"
		"header BAD_MOD Subject:bogus =~ /x/\n"
		"header BAD_OP Subject == /x/\n"
		"body BAD_DELIM foo-word\n"
		"body BAD-NAME /foo-word/\n"
		"body BAD_EVAL eval:check_nothing(\n"
		"uri_detail BAD_UD text =~ m\n"
		"uri_detail BAD_UD2 raw =~ /x/ text =~\n"
		"uri_detail BAD_UD3 raw =~ /example/ text =~ /(/\n"
		"frobnicate_setting 1\n"
		"body GOOD2 /foo-word/\n");
	static const struct {
		const char *where, *what;
	} warnings[] = {
		{ "10_test.cf:2: rule BAD_RE:", "invalid regexp" },
		{ "10_test.cf:3: rule BAD_HDR:", "invalid regexp" },
		{ "10_test.cf:4: rule BAD_MOD:", "modifier" },
		{ "10_test.cf:5: rule BAD_OP:", "invalid head test" },
		{ "10_test.cf:6: rule BAD_DELIM:", "delimiters" },
		{ "10_test.cf:7:", "BAD-NAME" },
		{ "10_test.cf:8:", "BAD_EVAL" },
		{ "10_test.cf:9: rule BAD_UD:", "uri_detail" },
		{ "10_test.cf:10: rule BAD_UD2:", "uri_detail" },
		{ "10_test.cf:11: rule BAD_UD3:", "invalid regexp" },
		{ "10_test.cf:12:", "frobnicate_setting" },
	};
	for (size_t i = 0; i < N_ELEMENTS(warnings); i++)
		if (warned(t, warnings[i].where, warnings[i].what) == NULL)
			fail_msg("no warning '%s' ... '%s'", warnings[i].where, warnings[i].what);
	assert_int_equal(t->n_warnings, N_ELEMENTS(warnings));
	/* the path is in the message */
	assert_non_null(warned(t, t->sys, "BAD_RE"));
	assert_int_equal(sa_engine_rule_count(t->e), 2);

	static const char *const yes[] = { "GOOD1", "GOOD2" };
	static const char *const no[] = { "BAD_RE", "BAD_HDR", "BAD_DELIM", "BAD_UD3" };
	EXPECT(scan(t, msg_spam), yes, no);
	static const char *const ham_no[] = { "GOOD1", "GOOD2" };
	expect(scan(t, msg_ham), NULL, 0, ham_no, N_ELEMENTS(ham_no));
}

/* Lines end in CRLF, comments, escaped #, `lang`. */
static void file_syntax(void **state)
{
	struct t *t = *state;
	load(t, "# a comment\r\n"
		"body CRLF_RULE /foo-word/ # trailing comment\r\n"
		"score CRLF_RULE 2\r\n"
		"   \r\n"
		"body HASH_RULE /spam \\#1/\r\n"
		"lang de describe CRLF_RULE Deutsch\r\n"
		"lang en describe CRLF_RULE English\r\n"
		"lang de body LANG_DE /foo-word/\r\n"
		"body LAST_NO_NEWLINE /cheap/");
	assert_int_equal(t->n_warnings, 0);
	const struct sa_result *r = scan(t, msg_spam);
	assert_score(hit(r, "CRLF_RULE")->score, 2.0);
	assert_string_equal(hit(r, "CRLF_RULE")->describe, "English");
	assert_non_null(hit(r, "LAST_NO_NEWLINE"));
	assert_null(hit(r, "LANG_DE"));
	assert_null(hit(r, "HASH_RULE"));
	const char msg[] = "Subject: x\n\nspam #1\n";
	assert_non_null(hit(scan(t, msg), "HASH_RULE"));
}

static void gtube(void **state)
{
	struct t *t = *state;
	load(t, "body GTUBE /XJS\\*C4JDBQADN1\\.NSBN3\\*2IDNEN\\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\\*C\\.34X/\n"
		"describe GTUBE Generic Test for Unsolicited Bulk Email\n"
		"tflags GTUBE userconf noautolearn\n"
		"score GTUBE 1000.000\n");
	const char msg[] =
		"Subject: Test spam mail (GTUBE)\n"
		"\n"
		"This is the GTUBE, the\n"
		"\tGeneric\n"
		"\n"
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n";
	const struct sa_result *r = scan(t, msg);
	assert_true(r->gtube);
	assert_score(r->score, 1000.0);
	assert_string_equal(hit(r, "GTUBE")->describe, "Generic Test for Unsolicited Bulk Email");
	r = scan(t, msg_spam);
	assert_false(r->gtube);
	assert_int_equal(r->n_hits, 0);
}

static void load_errors(void **state)
{
	struct t *t = *state;
	const char *error = NULL;
	char missing[128];

	/* an empty folder */
	assert_null(sa_engine_load(t->sys, NULL, NULL, on_warn, t, &error));
	assert_non_null(strstr(error, "no .cf file"));
	snprintf(missing, sizeof(missing), "%s/none", t->dir);
	error = NULL;
	assert_null(sa_engine_load(missing, NULL, NULL, on_warn, t, &error));
	assert_non_null(strstr(error, "No such file"));
	/* a local folder that does not exist is fine; a .cf that is not a
	   file is reported */
	put(t->sys, "10_x.cf", "body X /cheap/\n");
	snprintf(missing, sizeof(missing), "%s/20_dir.cf", t->sys);
	assert_int_equal(mkdir(missing, 0700), 0);
	snprintf(missing, sizeof(missing), "%s/none", t->dir);
	t->e = sa_engine_load(t->sys, missing, NULL, on_warn, t, &error);
	assert_non_null(t->e);
	assert_non_null(warned(t, "20_dir.cf:0: cannot read", "Is a directory"));
	assert_int_equal(t->n_warnings, 1);
	assert_int_equal(sa_engine_rule_count(t->e), 1);
	assert_int_equal(sa_engine_active_count(t->e), 1);
	assert_int_equal(sa_engine_scan(t->e, t->pool, NULL, 0, NULL, false, &t->r), -1);
}

/* Bug: a meta nested a hundred thousand deep, or a chain of thousands
   of terms, overflowed the stack while parsing or evaluating. */
static void meta_too_deep(void **state)
{
	struct t *t = *state;
	size_t n = 100000;
	struct buf b;

	buf_init(&b, 0);
	buf_append_str(&b, "body __A /cheap/\nmeta M_PARENS ");
	for (size_t i = 0; i < n; i++)
		buf_append_c(&b, '(');
	buf_append_str(&b, "__A\nmeta M_NOTS ");
	for (size_t i = 0; i < n; i++)
		buf_append_c(&b, '!');
	buf_append_str(&b, "__A\nmeta M_CHAIN __A");
	for (size_t i = 0; i < n / 2; i++)
		buf_append_str(&b, "+1");
	buf_append_str(&b, "\nmeta M_FINE ((((((((((__A))))))))))\n");
	load(t, buf_cstr(&b));
	buf_free(&b);
	assert_non_null(warned(t, "rule M_PARENS", "too deep"));
	assert_non_null(warned(t, "rule M_NOTS", "too deep"));
	assert_non_null(warned(t, "rule M_CHAIN", "too deep"));
	assert_int_equal(t->n_warnings, 3);
	assert_non_null(hit(scan(t, msg_spam), "M_FINE"));
	assert_null(hit(scan(t, msg_ham), "M_FINE"));
}

/* The range evaluation of metas (sa-meta.c) that deferred rules rely
   on: sound, exact on single values, and Perl's && and || return an
   operand. */
static void meta_ranges(void **state)
{
	struct t *t = *state;
	load(t, "body __A /aaa/\nbody __B /bbb/\nbody __C /ccc/\n"
		"meta M_AND __A && __B\n"
		"meta M_OR __A || __B\n"
		"meta M_NOT !__A\n"
		"meta M_SUM (__A + __B + __C) > 1\n"
		"meta M_VAL (__A && 5) + 1\n"
		"meta M_ORV __A || 3\n"
		"meta M_COND __A ? __B : 2\n"
		"meta M_MUL __A * 2\n"
		"meta M_EQ __A == 1\n"
		"meta M_SUB 3 - __A\n");
	struct sa_rule *a = sa_rule_get(t->e, "__A"), *b = sa_rule_get(t->e, "__B"),
		       *c = sa_rule_get(t->e, "__C");
	assert_non_null(a);
	size_t n = sa_engine_rule_count(t->e) + 1;
	double *lo = calloc(n, sizeof(double)), *hi = calloc(n, sizeof(double));
	static const struct {
		const char *meta;
		double alo, ahi, blo, bhi, clo, chi;
		double lo, hi;
	} cases[] = {
		{ "M_AND", 0, 1, 0, 0, 0, 0, 0, 0 },    /* B is 0: so is A && B */
		{ "M_AND", 0, 1, 1, 1, 0, 0, 0, 1 },
		{ "M_AND", 1, 1, 0, 1, 0, 0, 0, 1 },
		{ "M_AND", 0, 0, 0, 1, 0, 0, 0, 0 },
		{ "M_OR", 1, 1, 0, 1, 0, 0, 1, 1 },
		{ "M_OR", 0, 0, 0, 1, 0, 0, 0, 1 },
		{ "M_NOT", 0, 1, 0, 0, 0, 0, 0, 1 },
		{ "M_NOT", 1, 1, 0, 0, 0, 0, 0, 0 },
		{ "M_NOT", 0, 0, 0, 1, 0, 0, 1, 1 },
		{ "M_SUM", 0, 1, 0, 0, 0, 0, 0, 0 },    /* at most 1: never > 1 */
		{ "M_SUM", 0, 1, 0, 1, 0, 0, 0, 1 },
		{ "M_SUM", 1, 1, 1, 1, 0, 1, 1, 1 },    /* at least 2 */
		{ "M_VAL", 0, 1, 0, 0, 0, 0, 1, 6 },    /* 0 + 1 or 5 + 1 */
		{ "M_VAL", 1, 1, 0, 0, 0, 0, 6, 6 },
		{ "M_ORV", 0, 0, 0, 0, 0, 0, 3, 3 },
		{ "M_ORV", 0, 1, 0, 0, 0, 0, 0, 3 },
		{ "M_COND", 0, 1, 0, 0, 0, 0, 0, 2 },
		{ "M_COND", 1, 1, 0, 0, 0, 0, 0, 0 },
		{ "M_MUL", 1, 1, 0, 0, 0, 0, 2, 2 },
		{ "M_MUL", 0, 1, 0, 0, 0, 0, -INFINITY, INFINITY },
		{ "M_EQ", 0, 1, 0, 0, 0, 0, 0, 1 },
		{ "M_EQ", 1, 1, 0, 0, 0, 0, 1, 1 },
		{ "M_SUB", 0, 1, 0, 0, 0, 0, 2, 3 },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sa_rule *m = sa_rule_get(t->e, cases[i].meta);
		assert_non_null(m);
		lo[a->idx] = cases[i].alo;
		hi[a->idx] = cases[i].ahi;
		lo[b->idx] = cases[i].blo;
		hi[b->idx] = cases[i].bhi;
		lo[c->idx] = cases[i].clo;
		hi[c->idx] = cases[i].chi;
		double rl, rh;
		sa_meta_eval_range(m->meta, lo, hi, &rl, &rh);
		if (rl != cases[i].lo || rh != cases[i].hi)
			fail_msg("case %zu %s: [%g, %g], expected [%g, %g]", i, cases[i].meta, rl, rh,
				 cases[i].lo, cases[i].hi);
		/* sound: every corner of the box lands inside */
		for (int k = 0; k < 8; k++) {
			double v[3] = { k & 1 ? cases[i].ahi : cases[i].alo,
					k & 2 ? cases[i].bhi : cases[i].blo,
					k & 4 ? cases[i].chi : cases[i].clo };
			double *pt = calloc(n, sizeof(double));
			pt[a->idx] = v[0];
			pt[b->idx] = v[1];
			pt[c->idx] = v[2];
			double x = sa_meta_eval(m->meta, pt);
			free(pt);
			if (x < rl || x > rh)
				fail_msg("case %zu %s: %g outside [%g, %g]", i, cases[i].meta, x, rl, rh);
		}
	}
	free(lo);
	free(hi);
}

/* Deferred rules (sa-scan.c): a body sub-rule runs only when a reported
   rule depends on it, and the results are those of running every rule
   (which a scan with statistics does). */
static void deferred_rules(void **state)
{
	struct t *t = *state;
	load(t, "body __FOO /foo/\n"
		"body __BAR /bar/\n"
		"body __BAZ /baz/\n"
		"body __COUNT /qux/\n"
		"tflags __COUNT multiple\n"
		"header __LIST Subject =~ /list/\n"
		"meta R_FOO_NOT_LIST __FOO && !__LIST\n"
		"meta R_TWO (__FOO + __BAR + __BAZ) > 1\n"
		"meta __EITHER __BAR || __BAZ\n"
		"meta R_EITHER_LIST __EITHER && __LIST\n"
		"meta R_COUNT __COUNT > 1 && __FOO\n"
		"meta R_NOT_BAZ !__BAZ\n");
	static const char *const msgs[] = {
		"Subject: a list\n\nfoo bar\n",
		"Subject: hello\n\nfoo bar\n",
		"Subject: hello\n\nfoo\n\nqux qux\n",
		"Subject: a list\n\nbaz\n",
		"Subject: hello\n\nnothing\n",
		"Subject: list\n\nfoo bar baz qux\n",
	};
	static const char *const names[] = {
		"R_FOO_NOT_LIST", "R_TWO", "R_EITHER_LIST", "R_COUNT", "R_NOT_BAZ",
	};
	for (size_t i = 0; i < N_ELEMENTS(msgs); i++) {
		struct sa_result full, lazy;
		assert_int_equal(sa_engine_scan(t->e, t->pool, msgs[i], strlen(msgs[i]), NULL, true,
						&full), 0);
		assert_int_equal(sa_engine_scan(t->e, t->pool, msgs[i], strlen(msgs[i]), NULL, false,
						&lazy), 0);
		assert_true(full.score == lazy.score);
		for (size_t k = 0; k < N_ELEMENTS(names); k++)
			if ((hit(&full, names[k]) != NULL) != (hit(&lazy, names[k]) != NULL))
				fail_msg("message %zu: %s differs with deferral", i, names[k]);
	}
	/* and the expected values */
	static const char *const yes0[] = { "R_TWO", "R_EITHER_LIST", "R_NOT_BAZ" };
	static const char *const no0[] = { "R_FOO_NOT_LIST", "R_COUNT" };
	EXPECT(scan(t, msgs[0]), yes0, no0);
	static const char *const yes2[] = { "R_FOO_NOT_LIST", "R_COUNT", "R_NOT_BAZ" };
	static const char *const no2[] = { "R_TWO", "R_EITHER_LIST" };
	EXPECT(scan(t, msgs[2]), yes2, no2);
	static const char *const yes3[] = { "R_EITHER_LIST" };
	static const char *const no3[] = { "R_FOO_NOT_LIST", "R_TWO", "R_COUNT", "R_NOT_BAZ" };
	EXPECT(scan(t, msgs[3]), yes3, no3);
}

/* Bug: ^ cast a double out of the range of uint64_t (undefined); Perl
   takes a negative number as its two's complement and saturates. */
static void meta_xor_out_of_range(void **state)
{
	struct t *t = *state;
	load(t, "body __A /cheap/\n"
		"meta M_XOR_BIG (99999999999999999999999 * __A) ^ 0\n"
		"meta M_XOR_NEG (__A - 2) ^ 18446744073709551615\n"
		"meta M_XOR_SMALL (__A + 2) ^ 3\n");
	assert_int_equal(t->n_warnings, 0);
	/* spam: __A is 1, so BIG ^ 0, -1 ^ UV_MAX, 3 ^ 3; ham: 0 ^ 0,
	   -2 ^ UV_MAX, 2 ^ 3 */
	static const char *const spam_yes[] = { "M_XOR_BIG" };
	static const char *const spam_no[] = { "M_XOR_NEG", "M_XOR_SMALL" };
	EXPECT(scan(t, msg_spam), spam_yes, spam_no);
	static const char *const ham_yes[] = { "M_XOR_NEG", "M_XOR_SMALL" };
	static const char *const ham_no[] = { "M_XOR_BIG" };
	EXPECT(scan(t, msg_ham), ham_yes, ham_no);
}

/* Bug: a warning about a file whose path is longer than the message
   buffer wrote past it. */
static void warning_long_path(void **state)
{
	struct t *t = *state;
	char path[2048], name[201];

	memset(name, 'd', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	str_copy(path, t->sys, sizeof(path));
	for (int i = 0; i < 7; i++) {
		size_t l = strlen(path);
		snprintf(path + l, sizeof(path) - l, "/%s", name);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	put(path, "10_long.cf", "body BAD /(/\nfrobnicate 1\nbody GOOD /cheap/\n");
	const char *error = NULL;
	t->e = sa_engine_load(path, NULL, NULL, on_warn, t, &error);
	assert_non_null(t->e);
	assert_int_equal(t->n_warnings, 2);
	assert_true(strlen(t->warnings[0]) < 1024);
	assert_int_equal(strncmp(t->warnings[0], path, 100), 0);
	assert_non_null(hit(scan(t, msg_spam), "GOOD"));
	assert_null(hit(scan(t, msg_ham), "GOOD"));
}

/* Evals: one that runs, the unsupported ones listed; the regular
   expressions an eval compiles at load are freed with the engine (a
   leak the sanitizer build reported). */
static void evals(void **state)
{
	struct t *t = *state;
	load(t, "util_rb_tld com org\n"
		"freemail_domains example.com\n"
		"header E_FM eval:check_freemail_header('From', 'alice\\@')\n"
		"header E_FM_NOT eval:check_freemail_header('From', 'zzz\\@')\n"
		"body E_HTML eval:html_text_match('title', 'x')\n"
		"header E_NOT_IMPL eval:check_not_implemented_anywhere()\n"
		"header E_RBL eval:check_rbl('x', 'zen.example.')\n"
		"header E_BAD_ARGS eval:check_freemail_header('From', unquoted\\@)\n"
		"askdns E_ASK _SENDERDOMAIN_ A /^127/\n");
	assert_non_null(warned(t, "rule E_BAD_ARGS", "syntax error"));
	assert_int_equal(t->n_warnings, 1);
	static const char *const yes[] = { "E_FM" };
	static const char *const no[] = { "E_FM_NOT", "E_HTML", "E_NOT_IMPL", "E_RBL", "E_ASK" };
	EXPECT(scan(t, msg_spam), yes, no);
	static const char *const ham_no[] = { "E_FM", "E_FM_NOT" };
	expect(scan(t, msg_ham), NULL, 0, ham_no, N_ELEMENTS(ham_no));

	const struct sa_unsupported *u;
	size_t nu = sa_engine_unsupported(t->e, &u);
	static const struct {
		const char *what, *why, *rule;
	} want[] = {
		{ "eval:check_not_implemented_anywhere", "not implemented", "E_NOT_IMPL" },
		{ "eval:check_rbl", "network", "E_RBL" },
		{ "rule type askdns", "network", "E_ASK" },
	};
	assert_int_equal(nu, N_ELEMENTS(want));
	for (size_t i = 0; i < N_ELEMENTS(want); i++) {
		size_t k;
		for (k = 0; k < nu; k++)
			if (strcmp(u[k].what, want[i].what) == 0)
				break;
		if (k == nu)
			fail_msg("%s not listed as unsupported", want[i].what);
		assert_string_equal(u[k].why, want[i].why);
		assert_int_equal(u[k].n_rules, 1);
		assert_string_equal(u[k].rules[0], want[i].rule);
	}
	/* E_BAD_ARGS is defined, but broken */
	assert_int_equal(sa_engine_rule_count(t->e), 7);
	assert_int_equal(sa_engine_active_count(t->e), 3);
}

/* ReplaceTags; bug: an empty replace_start (or replace_end) was taken,
   and the tag search then ran off the end of the pattern (fuzzer). */
static void replace_tags_empty_delimiter(void **state)
{
	struct t *t = *state;
	load(t, "replace_tag P (?:p|\\|)\n"
		"replace_tag ILLS ills\n"
		"body RT_PILLS /<P><ILLS>/\n"
		"body RT_LITERAL /<P><ILLS>/\n"
		"replace_rules RT_PILLS\n"
		"replace_start\n"
		"replace_end\n");
	assert_non_null(warned(t, "10_test.cf:6:", "replace_start"));
	assert_non_null(warned(t, "10_test.cf:7:", "replace_end"));
	assert_int_equal(t->n_warnings, 2);
	static const char *const yes[] = { "RT_PILLS" };
	static const char *const no[] = { "RT_LITERAL" };
	EXPECT(scan(t, msg_spam), yes, no);
	static const char *const ham_no[] = { "RT_PILLS", "RT_LITERAL" };
	expect(scan(t, msg_ham), NULL, 0, ham_no, N_ELEMENTS(ham_no));
}

/* The whole Debian rule set, when installed: it loads, and is large. */
static void full_rule_set(void **state)
{
	struct t *t = *state;
	const char *dir = "/usr/share/spamassassin";
	const char *error = NULL;
	struct stat st;

	if (stat(dir, &st) < 0)
		skip();
	t->e = sa_engine_load(dir, NULL, NULL, NULL, NULL, &error);
	assert_non_null(t->e);
	assert_true(sa_engine_rule_count(t->e) > 1000);
	assert_true(sa_engine_active_count(t->e) > 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(header_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(body_rawbody_full_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(meta_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(literal_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(scores, setup, teardown),
		cmocka_unit_test_setup_teardown(describe_tflags_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(conditionals, setup, teardown),
		cmocka_unit_test_setup_teardown(if_nested_too_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(default_plugins, setup, teardown),
		cmocka_unit_test_setup_teardown(local_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(file_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(gtube, setup, teardown),
		cmocka_unit_test_setup_teardown(load_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(meta_too_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(meta_xor_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(warning_long_path, setup, teardown),
		cmocka_unit_test_setup_teardown(evals, setup, teardown),
		cmocka_unit_test_setup_teardown(replace_tags_empty_delimiter, setup, teardown),
		cmocka_unit_test_setup_teardown(full_rule_set, setup, teardown),
		cmocka_unit_test_setup_teardown(ascii_literals, setup, teardown),
		cmocka_unit_test_setup_teardown(skeleton_literals, setup, teardown),
		cmocka_unit_test_setup_teardown(header_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(literal_soundness, setup, teardown),
		cmocka_unit_test_setup_teardown(meta_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(deferred_rules, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

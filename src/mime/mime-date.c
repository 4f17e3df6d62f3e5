/*
 * Dates: RFC 5322 date-time and what mail really carries.
 *
 *   [day-of-week ","] day month year hour ":" minute [":" second] [zone]
 *
 * Accepted leniently: comments anywhere, missing comma or seconds, dots
 * or dashes between day, month and year, 2-digit years (< 50 is 20xx,
 * else 19xx) and 3-digit years (+1900), full month names, zones as
 * +hhmm, +hh:mm, +hh, named (UT, GMT, UTC, Z, EST/EDT, CST/CDT, MST/MDT,
 * PST/PDT and a few common others), military letters (read as +0000:
 * RFC 5322 4.3 says their sign was used both ways), missing zone
 * (+0000), and the asctime form "Wed Jun 19 18:12:02 1996 [zone]".
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/util.h"

#include <string.h>

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};

static const struct {
	const char *name;
	int minutes;
} zones[] = {
	{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 },
	{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
	{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
	{ "bst", 60 }, { "cet", 60 }, { "cest", 120 }, { "met", 60 },
	{ "mest", 120 }, { "eet", 120 }, { "eest", 180 }, { "jst", 540 },
	{ "ist", 330 }, { "hst", -600 }, { "akst", -540 }, { "akdt", -480 },
};

enum tok_type { TOK_END, TOK_NUM, TOK_WORD, TOK_SIGN, TOK_COLON };

struct date_lexer {
	const char *s, *end;
	enum tok_type type;
	char word[16];
	long num;
	unsigned int digits;
	char sign;
};

/* Next token; punctuation other than ':' and signs is a separator. */
static void next(struct date_lexer *lx)
{
	unsigned int depth = 0;

	while (lx->s < lx->end) {
		char c = *lx->s;
		if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && (c == ':' || c == '+' || c == '-' ||
					  (c >= '0' && c <= '9') ||
					  (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'z'))) {
			break;
		}
		lx->s++;
	}
	if (lx->s >= lx->end) {
		lx->type = TOK_END;
		return;
	}
	char c = *lx->s;
	if (c == ':') {
		lx->type = TOK_COLON;
		lx->s++;
	} else if (c == '+' || c == '-') {
		lx->type = TOK_SIGN;
		lx->sign = c;
		lx->s++;
	} else if (c >= '0' && c <= '9') {
		lx->type = TOK_NUM;
		lx->num = 0;
		lx->digits = 0;
		while (lx->s < lx->end && *lx->s >= '0' && *lx->s <= '9') {
			if (lx->digits < 9)
				lx->num = lx->num * 10 + (*lx->s - '0');
			lx->digits++;
			lx->s++;
		}
	} else {
		size_t n = 0;
		lx->type = TOK_WORD;
		while (lx->s < lx->end && ascii_lower(*lx->s) >= 'a' &&
		       ascii_lower(*lx->s) <= 'z') {
			if (n + 1 < sizeof(lx->word))
				lx->word[n++] = ascii_lower(*lx->s);
			lx->s++;
		}
		lx->word[n] = '\0';
	}
}

static int month_of(const char *word)
{
	if (strlen(word) < 3)
		return -1;
	for (int i = 0; i < 12; i++) {
		if (strncmp(word, months[i], 3) == 0)
			return i + 1;
	}
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned int yoe = (unsigned int)(y - era * 400);
	unsigned int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

struct date_parts {
	int year, month, day, hour, min, sec, tz;
	bool have_time;
};

/* hh:mm[:ss] with the lexer on the hour. */
static bool parse_time(struct date_lexer *lx, struct date_parts *d)
{
	if (lx->type != TOK_NUM || lx->digits > 2)
		return false;
	d->hour = (int)lx->num;
	next(lx);
	if (lx->type != TOK_COLON)
		return false;
	next(lx);
	if (lx->type != TOK_NUM || lx->digits > 2)
		return false;
	d->min = (int)lx->num;
	next(lx);
	if (lx->type == TOK_COLON) {
		next(lx);
		if (lx->type != TOK_NUM || lx->digits > 2)
			return false;
		d->sec = (int)lx->num;
		next(lx);
	}
	d->have_time = true;
	return true;
}

static void parse_zone(struct date_lexer *lx, struct date_parts *d)
{
	d->tz = 0;
	if (lx->type == TOK_SIGN) {
		char sign = lx->sign;
		next(lx);
		if (lx->type != TOK_NUM)
			return;
		int h, m = 0;
		if (lx->digits <= 2) {
			h = (int)lx->num;
			next(lx);
			if (lx->type == TOK_COLON) {
				next(lx);
				if (lx->type == TOK_NUM)
					m = (int)lx->num;
			}
		} else {
			h = (int)(lx->num / 100);
			m = (int)(lx->num % 100);
		}
		if (h > 23 || m > 59)
			return;
		d->tz = (sign == '-' ? -1 : 1) * (h * 60 + m);
		return;
	}
	if (lx->type != TOK_WORD)
		return;
	for (size_t i = 0; i < N_ELEMENTS(zones); i++) {
		if (strcmp(lx->word, zones[i].name) == 0) {
			d->tz = zones[i].minutes;
			next(lx);
			/* "GMT+0200" */
			if ((d->tz == 0) && lx->type == TOK_SIGN)
				parse_zone(lx, d);
			return;
		}
	}
}

static int fix_year(long y, unsigned int digits)
{
	if (digits <= 2)
		return (int)(y < 50 ? 2000 + y : 1900 + y);
	if (digits == 3)
		return (int)(1900 + y);
	return (int)y;
}

/* day month year | month day [time] year (asctime) */
static bool parse_date_part(struct date_lexer *lx, struct date_parts *d)
{
	if (lx->type == TOK_WORD && month_of(lx->word) > 0) {
		/* asctime: Jun 19 18:12:02 1996 */
		d->month = month_of(lx->word);
		next(lx);
		if (lx->type != TOK_NUM)
			return false;
		d->day = (int)lx->num;
		next(lx);
		if (lx->type == TOK_NUM && lx->digits <= 2 && !parse_time(lx, d))
			return false;
		if (lx->type != TOK_NUM)
			return false;
		d->year = fix_year(lx->num, lx->digits);
		next(lx);
		return true;
	}
	if (lx->type != TOK_NUM)
		return false;
	d->day = (int)lx->num;
	next(lx);
	if (lx->type == TOK_SIGN)
		next(lx);
	if (lx->type != TOK_WORD || (d->month = month_of(lx->word)) < 0)
		return false;
	next(lx);
	if (lx->type == TOK_SIGN)
		next(lx);
	if (lx->type != TOK_NUM)
		return false;
	d->year = fix_year(lx->num, lx->digits);
	next(lx);
	return true;
}

int mime_date_parse(const char *value, size_t len, time_t *time_r,
		    int *tz_offset_r)
{
	struct date_lexer lx = { .s = value, .end = value + len };
	struct date_parts d;

	memset(&d, 0, sizeof(d));
	next(&lx);
	/* optional day of week */
	if (lx.type == TOK_WORD && month_of(lx.word) < 0)
		next(&lx);
	if (!parse_date_part(&lx, &d))
		return -1;
	if (!d.have_time && lx.type == TOK_NUM && !parse_time(&lx, &d))
		return -1;
	parse_zone(&lx, &d);
	if (d.day < 1 || d.day > 31 || d.hour > 23 || d.min > 59 || d.sec > 60 ||
	    d.year < 1 || d.year > 9999)
		return -1;
	if (d.sec == 60)
		d.sec = 59; /* leap second */
	int64_t t = days_from_civil(d.year, (unsigned int)d.month,
				    (unsigned int)d.day) * 86400 +
		d.hour * 3600 + d.min * 60 + d.sec - (int64_t)d.tz * 60;
	*time_r = (time_t)t;
	*tz_offset_r = d.tz;
	return 0;
}

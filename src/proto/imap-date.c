/* IMAP dates: "1-Feb-1994" (SEARCH) and "17-Jul-1996 02:44:25 -0700"
 * (INTERNALDATE, APPEND). */

#include "imap-proto.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <string.h>
#include <time.h>

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int days_in_month(int year, int mon)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return mon == 1 && leap ? 29 : d[mon];
}

/* Days since 1970-01-01 (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int parse_digits(const char **sp, int min, int max, int *v_r)
{
	const char *s = *sp;
	int v = 0, n = 0;
	while (*s >= '0' && *s <= '9' && n < max) {
		v = v * 10 + (*s - '0');
		s++;
		n++;
	}
	if (n < min)
		return -1;
	*v_r = v;
	*sp = s;
	return 0;
}

/* "d-Mon-yyyy" with the day as one or two digits (or space-padded). */
static int parse_date(const char **sp, int *y, int *m, int *d)
{
	const char *s = *sp;
	if (*s == ' ')
		s++;
	if (parse_digits(&s, 1, 2, d) < 0 || *s++ != '-')
		return -1;
	*m = -1;
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(s, months[i], 3) == 0) {
			*m = i;
			break;
		}
	}
	if (*m < 0)
		return -1;
	s += 3;
	if (*s++ != '-' || parse_digits(&s, 4, 4, y) < 0)
		return -1;
	if (*d < 1 || *d > days_in_month(*y, *m))
		return -1;
	*sp = s;
	return 0;
}

int imap_date_parse(const char *s, time_t *t_r)
{
	int y, m, d;
	if (parse_date(&s, &y, &m, &d) < 0 || *s != '\0')
		return -1;
	*t_r = (time_t)(days_from_civil(y, (unsigned)m + 1, (unsigned)d) * 86400);
	return 0;
}

int imap_datetime_parse(const char *s, time_t *t_r, int *tz_r)
{
	int y, m, d, hh, mm, ss, zh, zm;
	if (parse_date(&s, &y, &m, &d) < 0 || *s++ != ' ')
		return -1;
	if (parse_digits(&s, 2, 2, &hh) < 0 || *s++ != ':' || parse_digits(&s, 2, 2, &mm) < 0 ||
	    *s++ != ':' || parse_digits(&s, 2, 2, &ss) < 0 || *s++ != ' ')
		return -1;
	if (hh > 23 || mm > 59 || ss > 60)
		return -1;
	int sign = *s == '+' ? 1 : *s == '-' ? -1 : 0;
	if (sign == 0)
		return -1;
	s++;
	if (parse_digits(&s, 2, 2, &zh) < 0 || parse_digits(&s, 2, 2, &zm) < 0 || *s != '\0' ||
	    zm > 59)
		return -1;
	int tz = sign * (zh * 60 + zm);
	int64_t t = days_from_civil(y, (unsigned)m + 1, (unsigned)d) * 86400 + hh * 3600 + mm * 60 +
		    ss - (int64_t)tz * 60;
	*t_r = (time_t)t;
	*tz_r = tz;
	return 0;
}

void imap_datetime_write(struct buf *out, time_t t, int tz)
{
	time_t local = t + (time_t)tz * 60;
	struct tm tm;
	gmtime_r(&local, &tm);
	int a = tz < 0 ? -tz : tz;
	buf_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", tm.tm_mday, months[tm.tm_mon],
		   tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, tz < 0 ? '-' : '+', a / 60,
		   a % 60);
}

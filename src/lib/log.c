#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define LOG_STR_MAX 400
#define LOG_STR_SLOTS 16

static char log_process[32] = "ombu";
static enum log_level log_min = LOG_INFO;
static void (*log_sink)(const char *, size_t, void *);
static void *log_sink_ctx;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *process)
{
	str_copy(log_process, process, sizeof(log_process));
}

void log_set_level(enum log_level min)
{
	log_min = min;
}

enum log_level log_get_level(void)
{
	return log_min;
}

int log_parse_level(const char *s, enum log_level *r)
{
	for (size_t i = 0; i < N_ELEMENTS(level_names); i++) {
		if (str_eq_icase(s, level_names[i])) {
			*r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_set_sink(void (*sink)(const char *, size_t, void *), void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

void log_sanitize(char *dst, size_t dstsize, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	bool quote = len == 0;
	for (size_t i = 0; i < len && !quote; i++) {
		if (s[i] == ' ' || s[i] == '"' || s[i] == '=' || s[i] == '\\')
			quote = true;
	}
	if (dstsize < 8) {
		if (dstsize > 0)
			dst[0] = '\0';
		return;
	}
	size_t limit = dstsize - 6; /* room for an escape, "..." and quote */
	if (quote)
		dst[o++] = '"';
	size_t i;
	for (i = 0; i < len && o < limit; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			if (o + 4 > limit)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	if (i < len) {
		dst[o++] = '.';
		dst[o++] = '.';
		dst[o++] = '.';
	}
	if (quote)
		dst[o++] = '"';
	dst[o] = '\0';
}

const char *log_strn(const char *s, size_t len)
{
	static __thread char slots[LOG_STR_SLOTS][LOG_STR_MAX + 8];
	static __thread unsigned next;
	if (s == NULL)
		return "-";
	char *dst = slots[next++ % LOG_STR_SLOTS];
	log_sanitize(dst, LOG_STR_MAX + 8, s, len);
	return dst;
}

const char *log_str(const char *s)
{
	return s == NULL ? "-" : log_strn(s, strlen(s));
}

void log_eventv(enum log_level level, const char *event, const char *fmt, va_list ap)
{
	if (level < log_min)
		return;
	char line[LOG_LINE_MAX];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s[%d] event=%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
			 level_names[level], log_process, (int)getpid(), event);
	if (n < 0)
		return;
	size_t len = MIN((size_t)n, sizeof(line) - 1);
	if (fmt != NULL && fmt[0] != '\0' && len < sizeof(line) - 2) {
		line[len++] = ' ';
		int m = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		if (m > 0)
			len = MIN(len + (size_t)m, sizeof(line) - 1);
	}
	/* Last line of defence against log injection. */
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20)
			line[i] = '?';
	}
	line[len++] = '\n';
	if (log_sink != NULL) {
		log_sink(line, len, log_sink_ctx);
		return;
	}
	/* One write() per line keeps lines whole across processes. */
	(void)!write(STDERR_FILENO, line, len);
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_eventv(level, event, fmt, ap);
	va_end(ap);
}

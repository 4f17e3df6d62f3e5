#include "util.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ombu_oom(void)
{
	static const char msg[] = "ombu: out of memory\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	abort();
}

void ombu_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ombu: panic: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		ombu_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		ombu_oom();
	return p;
}

void *xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);
	if (p == NULL)
		ombu_oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		ombu_oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (p == NULL)
		ombu_oom();
	return p;
}

size_t str_copy(char *dst, const char *src, size_t dstsize)
{
	size_t len = strlen(src);
	if (dstsize > 0) {
		size_t n = len < dstsize - 1 ? len : dstsize - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t str_append(char *dst, const char *src, size_t dstsize)
{
	size_t dl = strnlen(dst, dstsize);
	if (dl == dstsize)
		return dl + strlen(src);
	return dl + str_copy(dst + dl, src, dstsize - dl);
}

void str_lcase(char *s)
{
	for (; *s != '\0'; s++)
		*s = ascii_lower(*s);
}

void str_ucase(char *s)
{
	for (; *s != '\0'; s++)
		*s = ascii_upper(*s);
}

bool str_eq_icase(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	}
	return *a == *b;
}

bool mem_eq_icase(const void *a, const void *b, size_t n)
{
	const char *x = a, *y = b;
	for (size_t i = 0; i < n; i++) {
		if (ascii_lower(x[i]) != ascii_lower(y[i]))
			return false;
	}
	return true;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_prefix_icase(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strnlen(s, n) == n && mem_eq_icase(s, prefix, n);
}

char *str_trim(char *s)
{
	char *start = s;
	while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
		start++;
	size_t len = strlen(start);
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t' ||
			   start[len - 1] == '\r' || start[len - 1] == '\n'))
		len--;
	memmove(s, start, len);
	s[len] = '\0';
	return s;
}

uint64_t time_monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t time_now(void)
{
	return (int64_t)time(NULL);
}

void random_bytes(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		ombu_panic("RAND_bytes failed");
}

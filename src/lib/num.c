#include "num.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int num_parse_u64n(const char *s, size_t len, uint64_t *r)
{
	uint64_t v = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*r = v;
	return 0;
}

int num_parse_u64(const char *s, uint64_t *r)
{
	return num_parse_u64n(s, strlen(s), r);
}

int num_parse_uint_max(const char *s, uint64_t max, uint64_t *r)
{
	uint64_t v;
	if (num_parse_u64(s, &v) < 0 || v > max)
		return -1;
	*r = v;
	return 0;
}

int num_parse_u32(const char *s, uint32_t *r)
{
	uint64_t v;
	if (num_parse_uint_max(s, UINT32_MAX, &v) < 0)
		return -1;
	*r = (uint32_t)v;
	return 0;
}

int num_parse_i64(const char *s, int64_t *r)
{
	bool neg = *s == '-';
	uint64_t v;
	if (num_parse_u64(s + neg, &v) < 0)
		return -1;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > INT64_MAX)
			return -1;
		*r = (int64_t)v;
	}
	return 0;
}

int num_parse_double(const char *s, double *r)
{
	/* Only plain decimal notation: no hex, inf, nan or exponents. */
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	size_t digits = 0;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	if (*p != '\0' || digits == 0)
		return -1;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*r = v;
	return 0;
}

static int split_unit(const char *s, char *digits, size_t dsize, const char **unit)
{
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= dsize)
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	*unit = s + n;
	return 0;
}

int num_parse_size(const char *s, uint64_t *r)
{
	char digits[32];
	const char *unit;
	uint64_t v, mult;
	if (split_unit(s, digits, sizeof(digits), &unit) < 0 ||
	    num_parse_u64(digits, &v) < 0)
		return -1;
	if (*unit == '\0' || str_eq_icase(unit, "b"))
		mult = 1;
	else if (str_eq_icase(unit, "k") || str_eq_icase(unit, "kb") || str_eq_icase(unit, "kib"))
		mult = 1024;
	else if (str_eq_icase(unit, "m") || str_eq_icase(unit, "mb") || str_eq_icase(unit, "mib"))
		mult = 1024 * 1024;
	else if (str_eq_icase(unit, "g") || str_eq_icase(unit, "gb") || str_eq_icase(unit, "gib"))
		mult = 1024ull * 1024 * 1024;
	else if (str_eq_icase(unit, "t") || str_eq_icase(unit, "tb") || str_eq_icase(unit, "tib"))
		mult = 1024ull * 1024 * 1024 * 1024;
	else
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*r = v * mult;
	return 0;
}

int num_parse_duration_ms(const char *s, uint64_t *r)
{
	char digits[32];
	const char *unit;
	uint64_t v, mult;
	if (split_unit(s, digits, sizeof(digits), &unit) < 0 ||
	    num_parse_u64(digits, &v) < 0)
		return -1;
	if (strcmp(unit, "ms") == 0)
		mult = 1;
	else if (*unit == '\0' || strcmp(unit, "s") == 0)
		mult = 1000;
	else if (strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0)
		mult = 60 * 1000;
	else if (strcmp(unit, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(unit, "d") == 0)
		mult = 86400ull * 1000;
	else
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*r = v * mult;
	return 0;
}

int num_parse_bool(const char *s, bool *r)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		if (str_eq_icase(s, yes[i])) {
			*r = true;
			return 0;
		}
		if (str_eq_icase(s, no[i])) {
			*r = false;
			return 0;
		}
	}
	return -1;
}

void num_format_size(uint64_t v, char *dst, size_t dstsize)
{
	static const char units[] = "KMGT";
	int u = -1;
	uint64_t x = v;
	while (x != 0 && x % 1024 == 0 && u < 3) {
		x /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(dst, dstsize, "%llu", (unsigned long long)v);
	else
		snprintf(dst, dstsize, "%llu%c", (unsigned long long)x, units[u]);
}

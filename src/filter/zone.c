/*
 * Zones: loading a file (or bytes) into an immutable zone, and the
 * lookups.  The syntax is in zone-parse.c, the data structures in
 * zone-ip4.c and zone-name.c.
 */

#include "filter/zone-private.h"

#include "lib/net.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Read size; a line must fit (ZONE_LINE_MAX). */
#define ZONE_READ_CHUNK (64 * 1024)

static char *error_buffer(void)
{
	static __thread char errbuf[ZONE_ERROR_MAX];

	errbuf[0] = '\0';
	return errbuf;
}

static struct zone *zone_new(const char *name, enum zone_type type)
{
	struct zone *z = xcalloc(1, sizeof(*z));

	z->name = xstrdup(name != NULL ? name : "");
	z->type = type;
	return z;
}

void zone_free(struct zone **zp)
{
	struct zone *z = *zp;

	if (z == NULL)
		return;
	*zp = NULL;
	zone_ip4_free(&z->ip4);
	zone_name_free(&z->names);
	free(z->values);
	free(z->text.data);
	free(z->name);
	free(z);
}

/* Finishes a load: the zone, or NULL with *error_r. */
static struct zone *load_end(struct zone_loader *ld, struct zone *z, const char **error_r)
{
	bool ok = zone_parse_finish(ld);

	zone_parse_deinit(ld);
	if (!ok) {
		*error_r = ld->error;
		zone_free(&z);
	}
#ifdef __GLIBC__
	/* Loading grows and drops big arrays; give the holes back so that a
	 * worker's resident size is the zone's, not its loading peak. */
	malloc_trim(0);
#endif
	return z;
}

struct zone *zone_load_data(const char *name, enum zone_type type, const char *label,
			    const void *data, size_t size, zone_warn_fn *warn_fn,
			    void *ctx, const char **error_r)
{
	struct zone_loader ld;
	struct zone *z = zone_new(name, type);
	const char *p = data, *end = p + size;

	zone_parse_init(&ld, z, label, warn_fn, ctx, error_buffer());
	while (p < end && !ld.fatal) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;

		zone_parse_line(&ld, p, (size_t)(eol - p));
		p = eol + (nl != NULL);
	}
	return load_end(&ld, z, error_r);
}

/* Feeds the lines of fd to the loader; -1 on a read error. */
static int read_lines(struct zone_loader *ld, int fd)
{
	char *buf = xmalloc(ZONE_READ_CHUNK);
	size_t have = 0;
	bool skipping = false; /* in the rest of an over-long line */
	ssize_t r;

	while (!ld->fatal && (r = read(fd, buf + have, ZONE_READ_CHUNK - have)) != 0) {
		size_t start = 0;
		char *nl;

		if (r < 0) {
			int saved = errno;
			if (saved == EINTR)
				continue;
			free(buf);
			errno = saved;
			return -1;
		}
		have += (size_t)r;
		while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
			if (!skipping)
				zone_parse_line(ld, buf + start, (size_t)(nl - (buf + start)));
			skipping = false;
			start = (size_t)(nl + 1 - buf);
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have > ZONE_LINE_MAX) {
			if (!skipping)
				zone_parse_line(ld, buf, have); /* reported as too long */
			skipping = true;
			have = 0;
		}
	}
	if (have > 0 && !skipping)
		zone_parse_line(ld, buf, have);
	free(buf);
	return 0;
}

struct zone *zone_load(const char *name, enum zone_type type, const char *path,
		       zone_warn_fn *warn_fn, void *ctx, const char **error_r)
{
	char *errbuf = error_buffer();
	struct zone_loader ld;
	struct stat st0, st1;
	struct zone *z;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(errbuf, ZONE_ERROR_MAX, "%s: cannot open: %s", path, strerror(errno));
		*error_r = errbuf;
		return NULL;
	}
	if (fstat(fd, &st0) < 0 || !S_ISREG(st0.st_mode)) {
		snprintf(errbuf, ZONE_ERROR_MAX, "%s: not a regular file", path);
		close(fd);
		*error_r = errbuf;
		return NULL;
	}
	z = zone_new(name, type);
	zone_parse_init(&ld, z, path, warn_fn, ctx, errbuf);
	if (read_lines(&ld, fd) < 0)
		zone_parse_fail(&ld, "%s: read error: %s", path, strerror(errno));
	else if (fstat(fd, &st1) < 0 || st1.st_size != st0.st_size ||
		 st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
		 st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec)
		/* a half-written file must not replace good data */
		zone_parse_fail(&ld, "%s: the file changed while it was read (write a "
				     "temporary file and rename it into place)", path);
	close(fd);
	return load_end(&ld, z, error_r);
}

static const char *const type_names[] = {
	[ZONE_IP4SET] = "ip4set",
	[ZONE_IP4TRIE] = "ip4trie",
	[ZONE_DNSET] = "dnset",
};

int zone_type_parse(const char *s, enum zone_type *t)
{
	for (size_t i = 0; i < N_ELEMENTS(type_names); i++) {
		if (str_eq_icase(s, type_names[i])) {
			*t = (enum zone_type)i;
			return 0;
		}
	}
	return -1;
}

const char *zone_type_name(enum zone_type t)
{
	return (size_t)t < N_ELEMENTS(type_names) ? type_names[t] : "unknown";
}

const char *zone_name(const struct zone *z)
{
	return z->name;
}

enum zone_type zone_get_type(const struct zone *z)
{
	return z->type;
}

size_t zone_entries(const struct zone *z)
{
	return z->entries;
}

size_t zone_bad_lines(const struct zone *z)
{
	return z->bad_lines;
}

int64_t zone_expires(const struct zone *z)
{
	return z->expires;
}

size_t zone_memory(const struct zone *z)
{
	return sizeof(*z) + strlen(z->name) + 1 +
	       (size_t)z->cap_values * sizeof(*z->values) + z->text.cap +
	       zone_ip4_memory(&z->ip4) + zone_name_memory(&z->names);
}

static bool zone_live(const struct zone *z)
{
	return z->expires == 0 || (int64_t)time(NULL) <= z->expires;
}

static void fill_result(const struct zone *z, uint32_t v, const char *subject,
			struct zone_result *r)
{
	r->a = z->values[v].a;
	zone_value_format_a(r->a, r->a_text);
	r->has_txt = zone_value_subst(z, v, subject, r->txt) > 0;
}

int zone_lookup_ipv4(const struct zone *z, uint32_t ip, struct zone_result *r)
{
	uint32_t v;

	if (z == NULL || z->type == ZONE_DNSET || !zone_live(z))
		return 0;
	if ((v = zone_ip4_find(z, ip)) == ZONE_VALUE_NONE)
		return 0;
	if (r != NULL) {
		char subject[16];
		zone_value_format_a(ip, subject);
		fill_result(z, v, subject, r);
	}
	return 1;
}

int zone_lookup_ip(const struct zone *z, const struct net_addr *ip, struct zone_result *r)
{
	uint32_t v4;

	if (net_addr_ipv4(ip, &v4) < 0)
		return 0; /* IPv6: ip4set and ip4trie hold IPv4 only */
	return zone_lookup_ipv4(z, v4, r);
}

int zone_lookup_name(const struct zone *z, const char *name, struct zone_result *r)
{
	char norm[ZONE_NAME_MAX + 1];
	const char *error, *matched = NULL;
	unsigned labels;
	uint32_t v;
	int len;

	if (z == NULL || z->type != ZONE_DNSET || !zone_live(z))
		return 0;
	len = zone_name_normalize(name, strlen(name), norm, &labels, &error);
	if (len < 0)
		return 0;
	if ((v = zone_name_find(z, norm, (size_t)len, labels, &matched)) == ZONE_VALUE_NONE)
		return 0;
	if (r != NULL)
		fill_result(z, v, matched, r);
	return 1;
}

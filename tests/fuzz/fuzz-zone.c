/*
 * libFuzzer target for the zone file parser (src/filter/zone.h).
 *
 * Input: byte 0 picks the type (ip4set, ip4trie, dnset), the rest is the
 * data file.  Besides crashes and sanitizer reports it checks:
 *  - every warning is "fuzz:LINE: ..." on one line;
 *  - IPv4 zones: the range table is well formed (strictly ascending, no
 *    two neighbours with the same answer, the index points at the right
 *    ranges) and every lookup agrees with a naive scan of
 *    all the prefixes read, with the priority rules written out again;
 *  - lookups with and without a result agree, the public loader gives
 *    the same answers, and a TXT is at most ZONE_TXT_MAX printable bytes.
 */

#include "filter/zone-private.h"
#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	CHECK(strncmp(msg, "fuzz:", 5) == 0);
	CHECK(strlen(msg) < 512);
	CHECK(strchr(msg, '\n') == NULL && strchr(msg, '\r') == NULL);
}

static uint32_t naive(enum zone_type type, const struct zone_ip4_rec *r, size_t n, uint32_t ip)
{
	size_t best = SIZE_MAX;
	unsigned best_rank = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t mask = r[i].plen ? ~0u << (32 - r[i].plen) : 0;
		unsigned rank = r[i].plen;
		bool better;

		if ((ip & mask) != r[i].addr)
			continue;
		if (type == ZONE_IP4SET) /* the octet level: /25../32 are /32 blocks */
			rank = rank == 0 ? 8 : (rank + 7) / 8 * 8;
		if (best == SIZE_MAX || rank > best_rank)
			better = true;
		else if (rank < best_rank)
			better = false;
		else if (type == ZONE_IP4SET &&
			 (r[i].value == ZONE_VALUE_NONE) != (r[best].value == ZONE_VALUE_NONE))
			better = r[i].value == ZONE_VALUE_NONE;
		else
			better = r[i].line < r[best].line;
		if (better) {
			best = i;
			best_rank = rank;
		}
	}
	return best == SIZE_MAX ? ZONE_VALUE_NONE : r[best].value;
}

static void check_result(const struct zone_result *r)
{
	size_t len = strlen(r->txt);

	CHECK(len <= ZONE_TXT_MAX);
	CHECK(r->has_txt == (len > 0));
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)r->txt[i] >= 0x20 && r->txt[i] != 0x7f);
	char a[16];
	zone_value_format_a(r->a, a);
	CHECK(strcmp(a, r->a_text) == 0);
}

static void same_answer(const struct zone *z, const struct zone *z2, uint32_t ip,
			const char *name)
{
	struct zone_result r, r2;
	int a = name ? zone_lookup_name(z, name, &r) : zone_lookup_ipv4(z, ip, &r);
	int b = name ? zone_lookup_name(z2, name, &r2) : zone_lookup_ipv4(z2, ip, &r2);
	int c = name ? zone_lookup_name(z, name, NULL) : zone_lookup_ipv4(z, ip, NULL);

	CHECK(a == b && a == c);
	if (a) {
		check_result(&r);
		CHECK(r.a == r2.a && r.has_txt == r2.has_txt && strcmp(r.txt, r2.txt) == 0);
	}
}

static void check_table(const struct zone *z)
{
	const struct zone_ip4 *t = &z->ip4;

	for (uint32_t i = 0; i < t->n; i++) {
		CHECK(t->ranges[i].value == ZONE_VALUE_NONE || t->ranges[i].value < z->n_values);
		CHECK(t->ranges[i].value != (i > 0 ? t->ranges[i - 1].value : ZONE_VALUE_NONE));
		CHECK(i == 0 || t->ranges[i - 1].start < t->ranges[i].start);
	}
	if (t->index != NULL) {
		for (uint32_t k = 0; k < 65536; k++) {
			uint32_t i = t->index[k];
			CHECK(i <= t->n);
			CHECK(i == 0 || t->ranges[i - 1].start <= k << 16);
			CHECK(i == t->n || t->ranges[i].start > k << 16);
		}
		CHECK(t->index[65536] == t->n);
	}
}

static void check_ip(const struct zone *z, const struct zone *z2,
		     const struct zone_ip4_rec *recs, size_t n, uint32_t ip)
{
	CHECK(zone_ip4_find(z, ip) == naive(z->type, recs, n, ip));
	same_answer(z, z2, ip, NULL);
}

static void check_ips(const struct zone *z, const struct zone *z2,
		      const struct zone_ip4_rec *recs, size_t n, const uint8_t *data, size_t size)
{
	check_table(z);
	check_ip(z, z2, recs, n, 0);
	check_ip(z, z2, recs, n, UINT32_MAX);
	for (size_t i = 0; i < n && i < 200; i++) {
		uint32_t hi = recs[i].addr | (recs[i].plen ? ~(~0u << (32 - recs[i].plen)) : ~0u);
		check_ip(z, z2, recs, n, recs[i].addr);
		check_ip(z, z2, recs, n, recs[i].addr - 1);
		check_ip(z, z2, recs, n, hi);
		check_ip(z, z2, recs, n, hi + 1);
	}
	for (size_t i = 0; i + 4 <= size && i < 256; i += 4) {
		uint32_t ip;
		memcpy(&ip, data + i, 4);
		check_ip(z, z2, recs, n, ip);
	}
}

/* Every word of the input as a name, and with a label in front. */
static void check_names(const struct zone *z, const struct zone *z2, const uint8_t *data,
			size_t size)
{
	char name[300];
	size_t i = 0, words = 0;

	while (i < size && words < 200) {
		size_t start, len;
		while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n'))
			i++;
		start = i;
		while (i < size && data[i] != ' ' && data[i] != '\t' && data[i] != '\n')
			i++;
		len = i - start;
		if (len == 0 || len > 280)
			continue;
		memcpy(name + 2, data + start, len);
		name[2 + len] = '\0';
		if (memchr(name + 2, '\0', len) != NULL)
			continue;
		name[0] = 'x';
		name[1] = '.';
		same_answer(z, z2, 0, name + 2);
		same_answer(z, z2, 0, name);
		words++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zone_loader ld;
	char error[ZONE_ERROR_MAX] = "";
	struct zone_ip4_rec *recs = NULL;
	size_t n_recs = 0;
	const char *error2 = NULL;

	if (size < 1)
		return 0;
	enum zone_type type = (enum zone_type)(data[0] % 3);
	data++;
	size--;

	/* the loader by hand, to keep the prefixes it read */
	struct zone *z = xcalloc(1, sizeof(*z));
	z->name = xstrdup("fuzz");
	z->type = type;
	zone_parse_init(&ld, z, "fuzz", warn, NULL, error);
	for (const uint8_t *p = data, *end = data + size; p < end && !ld.fatal;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *eol = nl != NULL ? nl : end;
		zone_parse_line(&ld, (const char *)p, (size_t)(eol - p));
		p = eol + (nl != NULL);
	}
	if (ld.n_recs > 0) {
		n_recs = ld.n_recs;
		recs = xmalloc(n_recs * sizeof(*recs));
		memcpy(recs, ld.recs, n_recs * sizeof(*recs));
	}
	bool ok = zone_parse_finish(&ld);
	zone_parse_deinit(&ld);

	struct zone *z2 = zone_load_data("fuzz", type, "fuzz", data, size, warn, NULL, &error2);
	CHECK((z2 != NULL) == ok);
	if (!ok) {
		CHECK(error[0] != '\0' && strcmp(error, error2) == 0);
		zone_free(&z);
		free(recs);
		return 0;
	}
	CHECK(zone_entries(z) == zone_entries(z2));
	if (type == ZONE_DNSET)
		check_names(z, z2, data, size);
	else
		check_ips(z, z2, recs, n_recs, data, size);
	zone_free(&z);
	zone_free(&z2);
	free(recs);
	return 0;
}

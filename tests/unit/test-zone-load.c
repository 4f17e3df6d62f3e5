/* src/filter/zone*.c at scale: a generated 1,000,000-entry file of each
 * type is loaded from disk; the load time, the memory the zone holds, the
 * process's resident and peak memory, and the lookup rate are printed
 * (docs/zones.md quotes them).  The bounds asserted are loose on purpose:
 * this is a check that nothing went quadratic or bloated, not a
 * benchmark.  OMBU_ZONE_ENTRIES changes the size. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "filter/zone.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t n_entries = 1000000;
static char dir[64];

static uint32_t seed = 12345;

static uint32_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return seed;
}

/* kB from /proc/self/status ("VmRSS:", "VmHWM:"), 0 when unknown. */
static long status_kb(const char *field)
{
	char line[256];
	long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, strlen(field)) == 0) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Restarts the peak (VmHWM) at the current resident size. */
static void reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f != NULL) {
		fputs("5", f);
		fclose(f);
	}
}

static const char *const words[] = { "cheap", "pills", "win", "casino", "loan", "x",
				     "mail", "promo", "deal", "bit", "shop", "free" };

static void gen_file(const char *path, enum zone_type type)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "# generated, %zu entries\n$TTL 35m\n", n_entries);
	if (type == ZONE_DNSET)
		fputs(":2:Listed, see https://bl.example/lookup?d=$\n", f);
	else
		fputs(":2:Listed, see https://bl.example/lookup?ip=$\n", f);
	for (size_t i = 0; i < n_entries; i++) {
		uint32_t a = rnd(), r = rnd() % 100;

		if (type == ZONE_DNSET) {
			/* about 17 bytes a name, as in real domain lists */
			fprintf(f, "%s%s%x.%s", r < 20 ? "." : r < 25 ? "*." : "",
				words[rnd() % N_ELEMENTS(words)], a & 0xfffff, r % 3 ? "com" : "net");
		} else if (type == ZONE_IP4SET && r < 5) {
			fprintf(f, "%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255);
		} else if (type == ZONE_IP4SET && r < 8) {
			fprintf(f, "%u.%u.%u.%u-%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, 0,
				a & 255);
		} else if (type == ZONE_IP4TRIE && r < 10) {
			unsigned plen = 16 + rnd() % 16;
			a &= ~0u << (32 - plen);
			fprintf(f, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				a & 255, plen);
		} else {
			fprintf(f, "%s%u.%u.%u.%u", r == 99 ? "!" : "", a >> 24, (a >> 16) & 255,
				(a >> 8) & 255, a & 255);
		}
		if (r >= 97 && r < 99)
			fprintf(f, " :3:Listed for reason %zu: $", i);
		fputc('\n', f);
	}
	fclose(f);
}

static void measure(enum zone_type type)
{
	char path[128];
	const char *error;
	struct zone *z;
	uint64_t t0, t1;
	long rss0, rss1, hwm;
	size_t listed = 0;

	snprintf(path, sizeof(path), "%s/big.%s", dir, zone_type_name(type));
	gen_file(path, type);

	rss0 = status_kb("VmRSS:");
	reset_peak();
	t0 = time_monotonic_us();
	z = zone_load("big", type, path, NULL, NULL, &error);
	t1 = time_monotonic_us();
	if (z == NULL)
		fail_msg("%s", error);
	rss1 = status_kb("VmRSS:");
	hwm = status_kb("VmHWM:");

	/* lookups: random keys, plus keys from the file's own space */
	enum { LOOKUPS = 2000000 };
	uint64_t l0 = time_monotonic_us(), l1;
	struct zone_result r;
	if (type == ZONE_DNSET) {
		enum { NAMES = 65536 };
		char(*names)[48] = xmalloc(NAMES * sizeof(*names));
		for (int i = 0; i < NAMES; i++)
			snprintf(names[i], sizeof(names[i]), "www.%s%x.%s", words[rnd() % N_ELEMENTS(words)],
				 rnd() & 0xfffff, i % 3 ? "com" : "net");
		l0 = time_monotonic_us();
		for (int i = 0; i < LOOKUPS; i++)
			listed += (size_t)zone_lookup_name(z, names[i % NAMES], i % 16 == 0 ? &r : NULL);
		l1 = time_monotonic_us();
		free(names);
	} else {
		for (int i = 0; i < LOOKUPS; i++)
			listed += (size_t)zone_lookup_ipv4(z, rnd(), i % 16 == 0 ? &r : NULL);
		l1 = time_monotonic_us();
	}

	printf("%-7s %zu entries: load %.2f s, zone holds %.1f MB, RSS +%.1f MB, "
	       "peak while loading +%.1f MB; %.0f ns per lookup (%zu of %d listed)\n",
	       zone_type_name(type), zone_entries(z), (double)(t1 - t0) / 1e6,
	       (double)zone_memory(z) / 1048576.0, (double)(rss1 - rss0) / 1024.0,
	       (double)(hwm - rss0) / 1024.0, (double)(l1 - l0) * 1000.0 / LOOKUPS, listed,
	       LOOKUPS);
	/* random ip4trie prefixes repeat now and then: reported and skipped */
	if (type != ZONE_IP4TRIE)
		assert_int_equal(zone_bad_lines(z), 0);
	assert_true(zone_entries(z) == n_entries);
	/* loose bounds: 64 bytes per entry, 60 s (sanitizer builds are slow) */
	assert_true(zone_memory(z) < n_entries * 64 + (1 << 20));
	assert_true(t1 - t0 < 60 * 1000000ull);
	zone_free(&z);
	unlink(path);
}

/* Each size in a process of its own, so that one load's peak and heap
 * holes do not count against the next. */
static void measure_apart(enum zone_type type)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		measure(type);
		fflush(stdout);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the %s measurement failed", zone_type_name(type));
}

static void ip4set_1m(void **state)
{
	(void)state;
	measure_apart(ZONE_IP4SET);
}

static void ip4trie_1m(void **state)
{
	(void)state;
	measure_apart(ZONE_IP4TRIE);
}

static void dnset_1m(void **state)
{
	(void)state;
	measure_apart(ZONE_DNSET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ip4set_1m),
		cmocka_unit_test(ip4trie_1m),
		cmocka_unit_test(dnset_1m),
	};
	const char *env = getenv("OMBU_ZONE_ENTRIES");
	int rc;

	if (env != NULL && atol(env) > 0)
		n_entries = (size_t)atol(env);
	str_copy(dir, "/tmp/test-zone-load-XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL) {
		printf("skipped: no temporary directory\n");
		return 77;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}

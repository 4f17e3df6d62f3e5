/* src/filter/zone*.c against the real rbldnsd: the same generated data
 * files (ip4set, ip4trie, dnset, a base template, bad lines mixed in) are
 * served by rbldnsd on 127.0.0.1 and loaded by ombu; a few hundred keys
 * per zone are asked of both (A and TXT, over a small UDP DNS client
 * written here), and the answers must agree: listed or not, the A value
 * and the TXT.  Where rbldnsd answers several records (one ip4set block
 * listed twice with different values) ombu's one answer must be among
 * them.
 *
 * Needs the rbldnsd binary (Debian package rbldnsd); without it the test
 * says why and exits 77 (skipped).  OMBU_RBLDNSD names another binary,
 * OMBU_ZONE_SEED another seed for the generated data, OMBU_ZONE_KEEP keeps
 * the data files. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "filter/zone.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_KEYS 600

static const char *rbldnsd_bin;
static char dir[64];
static pid_t server_pid = -1;
static int server_port;
static int dns_fd = -1;
static uint32_t seed = 20240601;

static uint32_t rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) ^ (seed << 15);
}

static uint32_t rnd_n(uint32_t n)
{
	return rnd() % n;
}

/* ---- a tiny DNS client ---- */

struct answer {
	int rcode;
	int n_a, n_txt;
	uint32_t a[32];
	char txt[32][256];
};

static size_t put_name(unsigned char *p, const char *name)
{
	size_t n = 0;

	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t len = dot != NULL ? (size_t)(dot - name) : strlen(name);
		assert_true(len > 0 && len < 64);
		p[n++] = (unsigned char)len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot != NULL);
	}
	p[n++] = 0;
	return n;
}

static size_t skip_name(const unsigned char *p, size_t len, size_t i)
{
	while (i < len) {
		if (p[i] == 0)
			return i + 1;
		if ((p[i] & 0xc0) == 0xc0)
			return i + 2;
		i += (size_t)p[i] + 1;
	}
	fail_msg("truncated name in a DNS answer");
	return len;
}

static void parse_answer(const unsigned char *p, size_t len, struct answer *ans)
{
	size_t i = 12;
	unsigned an;

	assert_true(len >= 12);
	ans->rcode = p[3] & 15;
	an = (unsigned)p[6] << 8 | p[7];
	i = skip_name(p, len, i) + 4;
	for (unsigned k = 0; k < an; k++) {
		i = skip_name(p, len, i);
		assert_true(i + 10 <= len);
		unsigned type = (unsigned)p[i] << 8 | p[i + 1];
		size_t rdlen = (size_t)p[i + 8] << 8 | p[i + 9];
		i += 10;
		assert_true(i + rdlen <= len);
		if (type == 1 && rdlen == 4 && ans->n_a < 32) {
			ans->a[ans->n_a++] = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
					     (uint32_t)p[i + 2] << 8 | p[i + 3];
		} else if (type == 16 && ans->n_txt < 32) {
			char *t = ans->txt[ans->n_txt++];
			size_t tl = 0;
			for (size_t j = i; j < i + rdlen;) {
				size_t sl = p[j++];
				if (j + sl > i + rdlen || tl + sl > 255)
					fail_msg("bad TXT rdata");
				memcpy(t + tl, p + j, sl);
				tl += sl;
				j += sl;
			}
			t[tl] = '\0';
		}
		i += rdlen;
	}
}

static int dns_query(const char *name, unsigned type, struct answer *ans)
{
	unsigned char q[512], r[1500];
	uint16_t id = (uint16_t)rnd();
	size_t n = 12;

	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[5] = 1; /* one question */
	n += put_name(q + n, name);
	q[n++] = 0;
	q[n++] = (unsigned char)type;
	q[n++] = 0;
	q[n++] = 1;
	for (int attempt = 0; attempt < 5; attempt++) {
		if (send(dns_fd, q, n, 0) < 0)
			continue;
		for (;;) {
			ssize_t got = recv(dns_fd, r, sizeof(r), 0);
			if (got < 0)
				break; /* timeout: send again */
			if (got < 12 || r[0] != q[0] || r[1] != q[1])
				continue;
			memset(ans, 0, sizeof(*ans));
			parse_answer(r, (size_t)got, ans);
			return 0;
		}
	}
	return -1;
}

/* ---- the server ---- */

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
}

static void show_log(void)
{
	char path[128], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/rbldnsd.log", dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "rbldnsd: %s", line);
	fclose(f);
}

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
	if (dns_fd >= 0) {
		close(dns_fd);
		dns_fd = -1;
	}
}

static bool start_once(char *const *zones, size_t n_zones)
{
	char bind[64], log[128];
	char *argv[32];
	size_t argc = 0;

	server_port = 20000 + (int)rnd_n(40000);
	snprintf(bind, sizeof(bind), "127.0.0.1/%d", server_port);
	snprintf(log, sizeof(log), "%s/rbldnsd.log", dir);
	argv[argc++] = (char *)rbldnsd_bin;
	argv[argc++] = "-n"; /* foreground */
	argv[argc++] = "-b";
	argv[argc++] = bind;
	argv[argc++] = "-w";
	argv[argc++] = dir;
	argv[argc++] = "-c";
	argv[argc++] = "0"; /* no reloads */
	for (size_t i = 0; i < n_zones; i++)
		argv[argc++] = zones[i];
	argv[argc] = NULL;

	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(rbldnsd_bin, argv);
		_exit(127);
	}

	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)server_port) };
	struct timeval tv = { 0, 200 * 1000 };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(dns_fd >= 0);
	assert_int_equal(setsockopt(dns_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(dns_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	for (int i = 0; i < 50; i++) {
		struct answer ans;
		int status;
		if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
			server_pid = -1; /* exited: the port was taken? */
			close(dns_fd);
			dns_fd = -1;
			return false;
		}
		if (dns_query("2.0.0.127.set.example", 1, &ans) == 0)
			return true;
		usleep(100 * 1000); /* refused at once until it listens */
	}
	stop_server();
	return false;
}

static void start_server(char *const *zones, size_t n_zones)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		if (start_once(zones, n_zones))
			return;
	}
	show_log();
	fail_msg("rbldnsd did not start");
}

/* ---- generated data ---- */

struct gen {
	char *text;
	size_t len, cap;
	char keys[MAX_KEYS][80]; /* what to ask */
	size_t n_keys;
};

static void out(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (g->text == NULL) {
		g->cap = 65536;
		g->text = xmalloc(g->cap);
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(g->text + g->len, g->cap - g->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < g->cap - g->len)
			break;
		g->cap *= 2;
		g->text = xrealloc(g->text, g->cap);
	}
	g->len += (size_t)n;
}

static void key(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void key(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	if (g->n_keys >= MAX_KEYS)
		return;
	va_start(ap, fmt);
	vsnprintf(g->keys[g->n_keys++], sizeof(g->keys[0]), fmt, ap);
	va_end(ap);
}

static void key_ip(struct gen *g, uint64_t ip)
{
	if (ip > UINT32_MAX)
		return;
	key(g, "%u.%u.%u.%u", (unsigned)(ip >> 24), (unsigned)(ip >> 16) & 255,
	    (unsigned)(ip >> 8) & 255, (unsigned)ip & 255);
}

static void ip_text(char *dst, size_t size, uint32_t ip, int octets)
{
	unsigned o[4] = { ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255 };
	size_t n = 0;

	for (int i = 0; i < octets; i++)
		n += (size_t)snprintf(dst + n, size - n, i ? ".%u" : "%u", o[i]);
}

/* A value after an entry, in every form rbldnsd takes. */
static void value(struct gen *g, int i)
{
	switch (rnd_n(9)) {
	case 0: case 1: out(g, "\n"); break;
	case 2: out(g, " :%u\n", 2 + rnd_n(8)); break;
	case 3: out(g, " :%u:\n", 2 + rnd_n(8)); break;
	case 4: out(g, " :127.0.1.%u:entry %d at $ $1\n", 1 + rnd_n(200), i); break;
	case 5: out(g, "\tlisted (%d) $$ for $\n", i); break;
	case 6: out(g, " # just a comment\n"); break;
	case 7: out(g, " :%u: $2 %d\n", 2 + rnd_n(8), i); break;
	default: out(g, " ; comment\n"); break;
	}
}

static void preamble(struct gen *g)
{
	out(g, "# generated\n$SOA 1h ns1.example admin.example 0 2h 2h 1w 1h\n"
	       "$NS 1d ns1.example ns2.example\n$TTL 35m\n"
	       "$1 see http://bl.example/q?$\n$2 (two)\n");
}

static void bad_line(struct gen *g)
{
	static const char *const bad[] = { "1.2.3.256", "10", "1.2.3.4/24", "junk here",
					   "1.2.3.4 :0:zero", "$FOO bar", "5.6.7.8 :x" };
	out(g, "%s\n", bad[rnd_n(N_ELEMENTS(bad))]);
}

/* The octet-level blocks rbldnsd cuts an ip4set range into: from the
 * left, the largest aligned /8, /16, /24 or /32 that fits.  Two listings
 * with different values on one block make rbldnsd answer both (ombu
 * answers the first), so the generator keeps listings off each other's
 * blocks; exclusions may fall anywhere. */
#define USED_SLOTS (1u << 20)
static uint64_t *used;

static bool used_has(uint64_t k, bool add)
{
	uint32_t i = (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 44) & (USED_SLOTS - 1);

	for (; used[i] != 0; i = (i + 1) & (USED_SLOTS - 1))
		if (used[i] == k)
			return true;
	if (add)
		used[i] = k;
	return false;
}

static bool blocks(uint32_t lo, uint32_t hi, bool add)
{
	for (uint64_t x = lo; x <= hi;) {
		unsigned plen = 32;
		while (plen > 8) {
			uint64_t size = 1ull << (32 - plen + 8);
			if (x % size != 0 || x + size - 1 > hi)
				break;
			plen -= 8;
		}
		if (used_has((uint64_t)plen << 32 | x | 1ull << 40, add) && !add)
			return true;
		x += 1ull << (32 - plen);
	}
	return false;
}

/* One ip4set entry in one of the address forms; *b_r is its last
 * address. */
static void ip4set_form(uint32_t a, uint32_t *a_r, uint32_t *b_r, char *entry, size_t size)
{
	char s1[20], s2[20];
	uint32_t b;

	switch (rnd_n(8)) {
	case 0: /* one address */
		b = a;
		ip_text(entry, size, a, 4);
		break;
	case 1: /* a.b.c */
		a &= 0xffffff00u;
		b = a | 255;
		ip_text(entry, size, a, 3);
		break;
	case 2: { /* CIDR */
		unsigned plen = 13 + rnd_n(20);
		a &= ~0u << (32 - plen);
		b = a | ~(~0u << (32 - plen));
		ip_text(s1, sizeof(s1), a, 4);
		snprintf(entry, size, "%s/%u", s1, plen);
		break;
	}
	case 3: /* full range */
		b = a + rnd_n(rnd_n(2) ? 300 : 200000);
		ip_text(s1, sizeof(s1), a, 4);
		ip_text(s2, sizeof(s2), b, 4);
		snprintf(entry, size, "%s-%s", s1, s2);
		break;
	case 4: /* a.b.c.d-e */
		b = (a & 0xffffff00u) | ((a & 255) + rnd_n(256 - (a & 255)));
		ip_text(s1, sizeof(s1), a, 4);
		snprintf(entry, size, "%s-%u", s1, b & 255);
		break;
	case 5: /* a.b.c-d */
		a &= 0xffffff00u;
		b = (a & 0xffff0000u) | (((a >> 8) & 255) + rnd_n(256 - ((a >> 8) & 255))) << 8 | 255;
		ip_text(s1, sizeof(s1), a, 3);
		snprintf(entry, size, "%s-%u", s1, (b >> 8) & 255);
		break;
	case 6: /* a.b-c */
		a &= 0xffff0000u;
		b = a | 0xffff;
		ip_text(s1, sizeof(s1), a, 2);
		snprintf(entry, size, "%s-%u", s1, (a >> 16) & 255);
		break;
	default: /* a.b.c-e.f.g */
		a &= 0xffffff00u;
		b = (a + (rnd_n(600) << 8)) | 255;
		ip_text(s1, sizeof(s1), a, 3);
		ip_text(s2, sizeof(s2), b, 3);
		snprintf(entry, size, "%s-%s", s1, s2);
		break;
	}
	*a_r = a;
	*b_r = b;
}

static void gen_ip4set(struct gen *g)
{
	used = xcalloc(USED_SLOTS, sizeof(*used));
	preamble(g);
	for (int i = 0; i < 220; i++) {
		uint32_t a, b;
		char entry[64];
		bool excl = rnd_n(4) == 0;

		if (rnd_n(25) == 0)
			out(g, ":%u:default %d for $\n", 2 + rnd_n(8), i);
		if (rnd_n(30) == 0)
			bad_line(g);
		if (i == 180)
			out(g, "$MAXRANGE4 /16\n");
		/* 10.0.0.0/13: small enough for entries to overlap */
		ip4set_form(0x0a000000u | (rnd() & 0x7ffff), &a, &b, entry, sizeof(entry));
		bool skipped = i >= 180 && b - a >= 65536;
		if (!excl && !skipped) {
			if (blocks(a, b, false))
				continue;
			blocks(a, b, true);
		}
		out(g, "%s%s", excl ? (rnd_n(2) ? "!" : "! ") : "", entry);
		value(g, i);
		if (i % 3 == 0) {
			key_ip(g, a);
			key_ip(g, (uint64_t)b);
			key_ip(g, (uint64_t)a - 1);
			key_ip(g, (uint64_t)b + 1);
		}
	}
	/* one block listed twice, once more excluded and listed */
	out(g, "10.200.0.0/16 :8:one\n10.200.0.0/16 :9:two\n!10.201.0.0/16\n10.201.0.0/16\n");
	key(g, "10.200.1.1");
	key(g, "10.201.1.1");
	while (g->n_keys < 420)
		key_ip(g, 0x0a000000u | (rnd() & 0x7ffff));
	free(used);
}

static void gen_ip4trie(struct gen *g)
{
	preamble(g);
	out(g, ":3:trie $ $1\n");
	for (int i = 0; i < 200; i++) {
		unsigned plen = 12 + rnd_n(21);
		uint32_t a = (0x0a000000u | (rnd() & 0xfffff)) & (~0u << (32 - plen));
		uint32_t b = a | ~(~0u << (32 - plen));
		char s1[20];

		if (rnd_n(30) == 0)
			bad_line(g);
		if (rnd_n(5) == 0)
			out(g, "!");
		ip_text(s1, sizeof(s1), a, 4);
		if (plen % 8 == 0 && plen < 32 && rnd_n(2)) {
			ip_text(s1, sizeof(s1), a, (int)plen / 8);
			out(g, "%s", s1);
		} else {
			out(g, "%s/%u", s1, plen);
		}
		value(g, i);
		if (i % 3 == 0) {
			key_ip(g, a);
			key_ip(g, b);
			key_ip(g, (uint64_t)a - 1);
			key_ip(g, (uint64_t)b + 1);
		}
	}
	out(g, "10.99.0.0/16 :4:first\n10.99.0.0/16 :5:second\n");
	key(g, "10.99.1.1");
	while (g->n_keys < 420)
		key_ip(g, 0x0a000000u | (rnd() & 0xfffff));
}

static const char *const labels[] = { "a", "b", "mail", "www", "x-1", "Mx", "c0" };
static const char *const bases[] = { "example.com", "example.net", "Test.Org", "b.example.com" };

static void rand_name(char *dst, size_t size, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(dst + n, size - n, "%s.", labels[rnd_n(N_ELEMENTS(labels))]);
	snprintf(dst + n, size - n, "%s", bases[rnd_n(N_ELEMENTS(bases))]);
}

/* As for ip4set blocks: one name is listed at most once per table (exact
 * names; wildcard parents), as rbldnsd would answer every value. */
static bool name_taken(char (*taken)[80], size_t *n, const char *kind, const char *name)
{
	char k[80];

	snprintf(k, sizeof(k), "%s%s", kind, name);
	for (size_t i = 0; i < *n; i++)
		if (str_eq_icase(taken[i], k))
			return true;
	str_copy(taken[(*n)++], k, sizeof(taken[0]));
	return false;
}

static void gen_dnset(struct gen *g)
{
	static char taken[400][80];
	size_t n_taken = 0;

	preamble(g);
	out(g, ":2:name $ listed\n");
	for (int i = 0; i < 200; i++) {
		char name[80];
		static const char *const forms[] = { "", "*.", "." };
		int form = (int)rnd_n(3);
		bool excl = rnd_n(5) == 0;

		rand_name(name, sizeof(name), (int)rnd_n(3));
		if (!excl && ((form != 1 && name_taken(taken, &n_taken, "p:", name)) ||
			      (form != 0 && name_taken(taken, &n_taken, "w:", name))))
			continue;
		if (rnd_n(30) == 0)
			bad_line(g);
		if (rnd_n(25) == 0)
			out(g, ":%u:default %d for $\n", 2 + rnd_n(8), i);
		out(g, "%s%s%s%s", excl ? "!" : "", forms[form], name, rnd_n(4) == 0 ? "." : "");
		value(g, i);
		if (i % 2 == 0) {
			key(g, "%s", name);
			key(g, "%s.%s", labels[rnd_n(N_ELEMENTS(labels))], name);
			key(g, "q.%s.%s", labels[rnd_n(N_ELEMENTS(labels))], name);
			const char *dot = strchr(name, '.');
			if (dot != NULL)
				key(g, "%s", dot + 1);
		}
	}
	while (g->n_keys < 500) {
		char name[80];
		rand_name(name, sizeof(name), (int)rnd_n(4));
		key(g, "%s", name);
	}
}

static void gen_base(struct gen *g)
{
	char big[301];

	memset(big, 'x', 300);
	big[300] = '\0';
	out(g, "$= Listed: $= see http://bl.example/$ [$1]\n$1 one\n"
	       "127.0.0.2 r123\n127.0.0.3\n127.0.0.4 =Own text for $ only\n"
	       "127.0.0.5 :5:\n127.0.0.6 :6\n127.0.0.7 :7:seven $$\n");
	/* texts over 255 bytes, before and after substitution */
	out(g, "127.0.0.8 =%s\n127.0.0.9 =%.200s $ $ $ $ $\n127.0.0.10 %.240s\n", big, big, big);
	for (unsigned i = 1; i <= 11; i++)
		key(g, "127.0.0.%u", i);
}

/* ---- comparing ---- */

static bool in_a(const struct answer *ans, uint32_t a)
{
	for (int i = 0; i < ans->n_a; i++)
		if (ans->a[i] == a)
			return true;
	return false;
}

static bool in_txt(const struct answer *ans, const char *t)
{
	for (int i = 0; i < ans->n_txt; i++)
		if (strcmp(ans->txt[i], t) == 0)
			return true;
	return false;
}

static void reverse_ip(char *dst, size_t size, const char *ip)
{
	unsigned o[4];

	assert_int_equal(sscanf(ip, "%u.%u.%u.%u", &o[0], &o[1], &o[2], &o[3]), 4);
	snprintf(dst, size, "%u.%u.%u.%u", o[3], o[2], o[1], o[0]);
}

static size_t compare(const char *zone_name, enum zone_type type, const char *file,
		      const struct gen *g)
{
	char path[128];
	const char *error;
	struct zone *z;
	size_t listed = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	z = zone_load(zone_name, type, path, NULL, NULL, &error);
	if (z == NULL)
		fail_msg("%s", error);
	for (size_t i = 0; i < g->n_keys; i++) {
		const char *k = g->keys[i];
		char qname[160], rev[20];
		struct answer a, t;
		struct zone_result r;
		int ours;
		uint32_t ip = 0;

		if (type == ZONE_DNSET) {
			snprintf(qname, sizeof(qname), "%s.%s", k, zone_name);
			ours = zone_lookup_name(z, k, &r);
		} else {
			reverse_ip(rev, sizeof(rev), k);
			snprintf(qname, sizeof(qname), "%s.%s", rev, zone_name);
			assert_int_equal(inet_pton(AF_INET, k, &ip), 1);
			ours = zone_lookup_ipv4(z, ntohl(ip), &r);
		}
		if (dns_query(qname, 1, &a) < 0 || dns_query(qname, 16, &t) < 0)
			fail_msg("no answer from rbldnsd for %s", qname);
		bool theirs = a.n_a > 0;
		if (ours != theirs)
			fail_msg("%s %s: ombu says %s, rbldnsd says %s (rcode %d)", zone_name, k,
				 ours ? "listed" : "not listed", theirs ? "listed" : "not listed",
				 a.rcode);
		if (!ours)
			continue;
		listed++;
		if (!in_a(&a, r.a))
			fail_msg("%s %s: A %s is not among rbldnsd's (%d, first %08x)", zone_name,
				 k, r.a_text, a.n_a, a.a[0]);
		if (r.has_txt ? !in_txt(&t, r.txt) : t.n_txt != 0)
			fail_msg("%s %s: TXT \"%s\", rbldnsd \"%s\"", zone_name, k,
				 r.has_txt ? r.txt : "(none)", t.n_txt ? t.txt[0] : "(none)");
	}
	zone_free(&z);
	return listed;
}

static void agreement(void **state)
{
	static struct gen gs[4];
	static char *zones[] = { "set.example:ip4set:set.txt", "trie.example:ip4trie:trie.txt",
				 "dn.example:dnset:dn.txt", "base.example:ip4set:base.txt" };
	const char *env = getenv("OMBU_ZONE_SEED");
	(void)state;

	if (env != NULL)
		seed = (uint32_t)strtoul(env, NULL, 10);
	printf("seed %u (set OMBU_ZONE_SEED to repeat)\n", seed);
	memset(gs, 0, sizeof(gs));
	gen_ip4set(&gs[0]);
	gen_ip4trie(&gs[1]);
	gen_dnset(&gs[2]);
	gen_base(&gs[3]);
	write_file("set.txt", gs[0].text);
	write_file("trie.txt", gs[1].text);
	write_file("dn.txt", gs[2].text);
	write_file("base.txt", gs[3].text);
	start_server(zones, N_ELEMENTS(zones));

	static const struct { const char *zone; enum zone_type type; const char *file; } z[] = {
		{ "set.example", ZONE_IP4SET, "set.txt" },
		{ "trie.example", ZONE_IP4TRIE, "trie.txt" },
		{ "dn.example", ZONE_DNSET, "dn.txt" },
		{ "base.example", ZONE_IP4SET, "base.txt" },
	};
	size_t total = 0;
	for (size_t i = 0; i < N_ELEMENTS(z); i++) {
		size_t listed = compare(z[i].zone, z[i].type, z[i].file, &gs[i]);
		printf("%s: %zu keys agree (%zu listed)\n", z[i].zone, gs[i].n_keys, listed);
		total += gs[i].n_keys;
		/* the data must test both answers */
		assert_true(listed > gs[i].n_keys / 20 || i == 3);
		assert_true(listed < gs[i].n_keys);
		free(gs[i].text);
	}
	printf("%zu keys asked of rbldnsd and ombu, all agree\n", total);
	stop_server();
}

static const char *find_rbldnsd(void)
{
	const char *env = getenv("OMBU_RBLDNSD");

	if (env != NULL && access(env, X_OK) == 0)
		return env;
	if (access("/usr/sbin/rbldnsd", X_OK) == 0)
		return "/usr/sbin/rbldnsd";
	return NULL;
}

static int cleanup(void **state)
{
	char cmd[160];
	(void)state;

	stop_server();
	if (getenv("OMBU_ZONE_KEEP") != NULL) {
		printf("data kept in %s\n", dir);
		return 0;
	}
	if (dir[0] != '\0') {
		static const char *const files[] = { "set.txt", "trie.txt", "dn.txt", "base.txt",
						     "rbldnsd.log" };
		for (size_t i = 0; i < N_ELEMENTS(files); i++) {
			snprintf(cmd, sizeof(cmd), "%s/%s", dir, files[i]);
			unlink(cmd);
		}
		rmdir(dir);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(agreement, cleanup),
	};

	if ((rbldnsd_bin = find_rbldnsd()) == NULL) {
		printf("skipped: rbldnsd is not installed (Debian package rbldnsd)\n");
		return 77;
	}
	str_copy(dir, "/tmp/test-zone-rbldnsd-XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL) {
		printf("skipped: cannot make a temporary directory: %s\n", strerror(errno));
		return 77;
	}
	/* rbldnsd started as root drops to its own user: it must read them */
	chmod(dir, 0755);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

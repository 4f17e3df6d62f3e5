/*
 * The filter: one scan per message (clamd, then the SpamAssassin-language
 * rules, then the blocklist zones for Received hops and URI hosts), then
 * one action per recipient from that recipient's own level and lists.
 */

#include "filter.h"
#include "clamd.h"
#include "policy.h"
#include "psl.h"
#include "sa.h"
#include "zoneset.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/master.h"
#include "lib/net.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "lib/num.h"
#include "mime/mime.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_clamd(const char *v, const char **error_r)
{
	return v[0] == '\0' ? 0 : clamd_address_check(v, error_r);
}

static int check_networks(const char *v, const char **error_r);

static const char *const blacklisted_actions[] = { "discard", "spam", NULL };

const struct config_key filter_config_keys[] = {
	{ "filter", "enabled", CONFIG_BOOL, "yes", "scan inbound mail (no: everything goes to INBOX unscanned)" },
	{ "filter", "sa_rules", CONFIG_PATH, "/usr/share/spamassassin", "the SpamAssassin rule set to load (*.cf)" },
	{ "filter", "local_rules", CONFIG_PATH, "rules", "local rule files (*.cf), loaded after sa_rules and overriding them" },
	{ "filter", "plugins", CONFIG_STRING, "", "extra plugin names that count as loaded for ifplugin (space-separated)" },
	{ "filter", "max_scan_size", CONFIG_SIZE, "1M", "messages larger than this are not scored by the rules (clamd still sees them)", 0, 1ull << 30 },
	{ "filter", "clamd", CONFIG_STRING, "", "clamd address: unix:/path/clamd.ctl or 127.0.0.1:3310; empty = no virus scan", .validate = check_clamd },
	{ "filter", "clamd_timeout", CONFIG_DURATION, "30s", "time allowed for one clamd scan", 100, 600000 },
	{ "filter", "clamd_max_size", CONFIG_SIZE, "25M", "bytes of a message sent to clamd (keep it within clamd's StreamMaxLength)", 1024, 1ull << 31 },
	{ "filter", "clamd_fail_open", CONFIG_BOOL, "no", "when clamd cannot scan: no = 451 (the sender retries), yes = deliver unscanned (logged)" },
	{ "filter", "spam_folder", CONFIG_STRING, "Spam", "the folder for mail between a recipient's tag and cutoff scores" },
	{ "filter", "blacklisted", CONFIG_ENUM, "discard", "what a recipient's blacklisted senders get: discard or spam (the Spam folder)", .enum_values = blacklisted_actions },
	{ "filter", "trusted_networks", CONFIG_STRING, "127.0.0.0/8 ::1/128", "Received hops from these networks are not checked against zones", .validate = check_networks },
	{ NULL }
};

struct net_range {
	unsigned char addr[16];
	unsigned bits;
	bool v4;
};

struct filter {
	const struct config *cfg;
	struct directory *dir;
	struct zoneset *zones;
	struct sa_engine *sa;
	char clamd[256];
	uint64_t clamd_timeout, clamd_max, max_scan;
	bool clamd_fail_open, enabled;
	enum filter_action blacklisted;
	char spam_folder[128];
	struct net_range trusted[32];
	size_t n_trusted;
	char *plugin_names;
	struct psl *psl;
	bool uri_zones;
};

static int parse_range(const char *s, struct net_range *r)
{
	char tmp[64];
	str_copy(tmp, s, sizeof(tmp));
	char *slash = strchr(tmp, '/');
	uint64_t bits = 0;
	if (slash != NULL) {
		*slash = '\0';
		if (num_parse_uint_max(slash + 1, 128, &bits) < 0)
			return -1;
	}
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, tmp, r->addr) == 1) {
		r->v4 = true;
		r->bits = slash != NULL ? (unsigned)bits : 32;
		return r->bits <= 32 ? 0 : -1;
	}
	if (inet_pton(AF_INET6, tmp, r->addr) == 1) {
		r->bits = slash != NULL ? (unsigned)bits : 128;
		return 0;
	}
	return -1;
}

static int check_networks(const char *v, const char **error_r)
{
	char tmp[2048];
	str_copy(tmp, v, sizeof(tmp));
	char *save = NULL;
	size_t n = 0;
	for (char *t = strtok_r(tmp, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
		struct net_range r;
		if (parse_range(t, &r) < 0) {
			*error_r = "expected addresses or networks such as 127.0.0.0/8 ::1/128";
			return -1;
		}
		if (++n > 32) {
			*error_r = "at most 32 networks";
			return -1;
		}
	}
	return 0;
}

static bool in_range(const struct net_range *r, const unsigned char *a, bool v4)
{
	if (r->v4 != v4)
		return false;
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(r->addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (r->addr[full] & mask) == (a[full] & mask);
}

static bool trusted(const struct filter *f, const char *ip)
{
	unsigned char a[16];
	bool v4 = inet_pton(AF_INET, ip, a) == 1;
	if (!v4 && inet_pton(AF_INET6, ip, a) != 1)
		return false;
	for (size_t i = 0; i < f->n_trusted; i++) {
		if (in_range(&f->trusted[i], a, v4))
			return true;
	}
	return false;
}

struct warn_ctx {
	unsigned n;
};

static void sa_warn(void *ctx, const char *msg)
{
	struct warn_ctx *w = ctx;
	/* the Debian set has a few rules PCRE2 cannot take; say each once */
	if (w->n++ < 200)
		log_warn("filter.rule_skipped", "problem=%s", log_str(msg));
}

struct filter *filter_create(const struct config *cfg, struct directory *dir, struct zoneset *zones,
			     const char **error_r)
{
	static __thread char msg[512];
	struct filter *f = xcalloc(1, sizeof(*f));
	f->cfg = cfg;
	f->dir = dir;
	f->zones = zones;
	f->enabled = config_bool(cfg, "filter", "enabled");
	str_copy(f->clamd, config_str(cfg, "filter", "clamd"), sizeof(f->clamd));
	f->clamd_timeout = config_ms(cfg, "filter", "clamd_timeout");
	f->clamd_max = config_size(cfg, "filter", "clamd_max_size");
	f->clamd_fail_open = config_bool(cfg, "filter", "clamd_fail_open");
	f->max_scan = config_size(cfg, "filter", "max_scan_size");
	str_copy(f->spam_folder, config_str(cfg, "filter", "spam_folder"), sizeof(f->spam_folder));
	f->blacklisted = strcmp(config_str(cfg, "filter", "blacklisted"), "spam") == 0 ? FILTER_FOLDER
										      : FILTER_DISCARD;
	char tmp[2048];
	str_copy(tmp, config_str(cfg, "filter", "trusted_networks"), sizeof(tmp));
	char *save = NULL;
	for (char *t = strtok_r(tmp, ", \t", &save); t != NULL && f->n_trusted < 32;
	     t = strtok_r(NULL, ", \t", &save)) {
		if (parse_range(t, &f->trusted[f->n_trusted]) == 0)
			f->n_trusted++;
	}
	for (size_t z = 0; zones != NULL && z < zones->n; z++)
		f->uri_zones = f->uri_zones || (zones->zones[z].use & ZONE_USE_URI) != 0;
	if (!f->enabled)
		return f;
	if (f->uri_zones) {
		const char *perr;
		f->psl = psl_load(PSL_DEFAULT_PATH, &perr);
		if (f->psl == NULL)
			log_warn("filter.psl", "error=%s note=\"URI hosts are checked as they are\"", log_str(perr));
	}
	/* plugins: the engine's default set plus the configured names */
	const char *extra = config_str(cfg, "filter", "plugins");
	const char **plugins = NULL;
	if (extra[0] != '\0') {
		size_t n = 0;
		while (sa_default_plugins[n] != NULL)
			n++;
		plugins = xcalloc(n + 64, sizeof(char *));
		memcpy(plugins, sa_default_plugins, n * sizeof(char *));
		char *copy = xstrdup(extra);
		f->plugin_names = copy;
		size_t max = n + 63;
		save = NULL;
		for (char *t = strtok_r(copy, ", \t", &save); t != NULL && n < max;
		     t = strtok_r(NULL, ", \t", &save))
			plugins[n++] = t;
	}
	struct warn_ctx wc = { 0 };
	uint64_t t0 = time_monotonic_us();
	f->sa = sa_engine_load(config_path_value(cfg, "filter", "sa_rules"),
			       config_path_value(cfg, "filter", "local_rules"), plugins, sa_warn, &wc, error_r);
	free(plugins);
	if (f->sa == NULL) {
		snprintf(msg, sizeof(msg), "cannot load the rules from %s: %s",
			 config_path_value(cfg, "filter", "sa_rules"), *error_r);
		*error_r = msg;
		filter_destroy(&f);
		return NULL;
	}
	log_info("filter.rules_loaded", "rules=%zu active=%zu skipped=%u ms=%llu",
		 sa_engine_rule_count(f->sa), sa_engine_active_count(f->sa), wc.n,
		 (unsigned long long)((time_monotonic_us() - t0) / 1000));
	return f;
}

void filter_destroy(struct filter **fp)
{
	struct filter *f = *fp;
	if (f == NULL)
		return;
	*fp = NULL;
	sa_engine_free(&f->sa);
	psl_free(&f->psl);
	free(f->plugin_names);
	free(f);
}

struct sa_engine *filter_engine(struct filter *f)
{
	return f->sa;
}

static void *worker_filter_create(struct worker *w, const char **error_r)
{
	struct directory *dir = directory_worker(w, error_r);
	struct zoneset *zs = dir != NULL ? zoneset_worker(w, error_r) : NULL;
	return zs != NULL ? filter_create(worker_config(w), dir, zs, error_r) : NULL;
}

static void worker_filter_destroy(void *obj)
{
	struct filter *f = obj;
	filter_destroy(&f);
}

struct filter *filter_worker(struct worker *w, const char **error_r)
{
	return worker_shared(w, "filter", worker_filter_create, worker_filter_destroy, error_r);
}

/* ------------------------------------------------------------------ */
/* Scanning                                                            */

struct scan {
	struct buf rules;   /* "A,B,C" */
	double score;
};

static void add_rule(struct scan *sc, const char *name, double score)
{
	if (sc->rules.len > 0)
		buf_append_c(&sc->rules, ',');
	buf_append_str(&sc->rules, name);
	sc->score += score;
}

/* IPs in [brackets] of the Received lines that are not ours or trusted:
 * the hops a spammer controls. */
static void zone_rule_name(char *out, size_t size, const char *zone);

static void note_zone(struct pool *pool, struct filter_verdict *v, const char *name, double score)
{
	size_t n = v->n_zone_rules;
	v->zone_rules = pool_realloc(pool, v->zone_rules, n * sizeof(char *), (n + 1) * sizeof(char *));
	v->zone_scores = pool_realloc(pool, v->zone_scores, n * sizeof(double), (n + 1) * sizeof(double));
	v->zone_rules[n] = pool_strdup(pool, name);
	v->zone_scores[n] = score;
	v->n_zone_rules = n + 1;
}

static void check_received(struct filter *f, struct pool *pool, const struct mime_part *root,
			   struct scan *sc, struct filter_verdict *v)
{
	bool *seen = pool_alloc(pool, f->zones->n + 1);
	const char **recv = mime_header_get_all(pool, root, "Received");
	for (size_t i = 0; recv != NULL && recv[i] != NULL && i < 16; i++) {
		const char *p = recv[i];
		while ((p = strchr(p, '[')) != NULL) {
			p++;
			const char *end = strchr(p, ']');
			if (end == NULL || end - p >= 46)
				break;
			char ip[48];
			memcpy(ip, p, (size_t)(end - p));
			ip[end - p] = '\0';
			if (str_has_prefix_icase(ip, "IPv6:"))
				memmove(ip, ip + 5, strlen(ip + 5) + 1);
			struct net_addr a;
			if (net_ip_parse(ip, &a) < 0 || trusted(f, ip)) {
				p = end;
				continue;
			}
			for (size_t z = 0; z < f->zones->n; z++) {
				const struct zoneset_entry *e = &f->zones->zones[z];
				if ((e->use & ZONE_USE_RECEIVED) == 0 || zone_get_type(e->zone) == ZONE_DNSET)
					continue;
				if (!seen[z] && zone_lookup_ip(e->zone, &a, NULL) == 1) {
					char name[80];
					zone_rule_name(name, sizeof(name), e->name);
					add_rule(sc, name, e->score);
					seen[z] = true;
					note_zone(pool, v, name, e->score);
				}
			}
			p = end;
		}
	}
}

static void zone_rule_name(char *out, size_t size, const char *zone)
{
	snprintf(out, size, "ZONE_%s", zone);
	for (char *p = out; *p != '\0'; p++) {
		*p = ascii_upper(*p);
		if (*p == '-')
			*p = '_';
	}
}

/* ------------------------------------------------------------------ */
/* URI hosts                                                           */

#define MAX_URI_HOSTS 64
#define MAX_URI_TEXT (512 * 1024)

struct uri_hosts {
	const char *h[MAX_URI_HOSTS];
	size_t n;
};

/* The host of an http(s)/ftp URI or the domain of a mailto:, lower-cased. */
static const char *uri_host(struct pool *pool, const char *uri)
{
	const char *p = NULL;
	if (str_has_prefix_icase(uri, "mailto:")) {
		p = strrchr(uri, '@');
		if (p == NULL)
			return NULL;
		p++;
	} else {
		const char *colon = strstr(uri, "://");
		if (colon == NULL)
			return NULL;
		p = colon + 3;
		const char *end = p + strcspn(p, "/?#");
		const char *at = memchr(p, '@', (size_t)(end - p));
		if (at != NULL)
			p = at + 1;
	}
	size_t n = strcspn(p, ":/?#> \t\"'");
	if (n == 0 || n > 253)
		return NULL;
	char *h = pool_strndup(pool, p, n);
	str_lcase(h);
	return h;
}

static void add_host(struct uri_hosts *u, const char *h)
{
	if (h == NULL || u->n == MAX_URI_HOSTS)
		return;
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->h[i], h) == 0)
			return;
	u->h[u->n++] = h;
}

static bool is_tld(void *ctx, const char *tld, size_t len)
{
	const struct psl *psl = ctx;
	return psl != NULL ? psl_known_tld(psl, tld, len) : len >= 2;
}

static void collect_uri_hosts(struct filter *f, struct pool *pool, const void *msg, size_t len,
			      const struct mime_part *root, struct uri_hosts *u)
{
	for (const struct mime_part *part = mime_part_next_text(root, NULL); part != NULL;
	     part = mime_part_next_text(root, part)) {
		size_t tl;
		bool trunc;
		const char *text = mime_part_text(pool, part, msg, len, MAX_URI_TEXT, &tl, &trunc);
		if (text == NULL)
			continue;
		if (part->subtype != NULL && strcmp(part->subtype, "html") == 0) {
			struct mime_html_result hr;
			mime_html_render(pool, text, tl, true, &hr);
			for (size_t i = 0; i < hr.n_uris; i++)
				add_host(u, uri_host(pool, hr.uris[i].uri));
			text = hr.text;
			tl = hr.text_len;
		}
		struct mime_text_uri *tu;
		size_t n = mime_uri_find_text(pool, text, tl, is_tld, f->psl, &tu);
		for (size_t i = 0; i < n; i++)
			add_host(u, uri_host(pool, tu[i].uri));
	}
}

static void check_uris(struct filter *f, struct pool *pool, const void *msg, size_t len,
		       const struct mime_part *root, struct scan *sc, struct filter_verdict *v)
{
	if (!f->uri_zones)
		return;
	struct uri_hosts u = { .n = 0 };
	collect_uri_hosts(f, pool, msg, len, root, &u);
	bool *seen = pool_alloc(pool, f->zones->n + 1);
	for (size_t i = 0; i < u.n; i++) {
		char reg[256];
		bool has_reg = f->psl != NULL && psl_registered_domain(f->psl, u.h[i], reg, sizeof(reg));
		struct net_addr ip;
		bool numeric = net_ip_parse(u.h[i], &ip) == 0;
		for (size_t z = 0; z < f->zones->n; z++) {
			const struct zoneset_entry *e = &f->zones->zones[z];
			if (seen[z] || (e->use & ZONE_USE_URI) == 0)
				continue;
			bool hit;
			if (zone_get_type(e->zone) == ZONE_DNSET)
				hit = !numeric && (zone_lookup_name(e->zone, u.h[i], NULL) == 1 ||
						   (has_reg && zone_lookup_name(e->zone, reg, NULL) == 1));
			else
				hit = numeric && zone_lookup_ip(e->zone, &ip, NULL) == 1;
			if (!hit)
				continue;
			char name[80];
			zone_rule_name(name, sizeof(name), e->name);
			add_rule(sc, name, e->score);
			note_zone(pool, v, name, e->score);
			seen[z] = true;
		}
	}
}

static enum policy_list sender_list(struct filter *f, int64_t user_id, const char *envelope,
				    const char *header_from)
{
	/* a whitelist entry or a contact wins; either address may match */
	const char *err;
	int a = envelope != NULL && envelope[0] != '\0' ? dir_sender_policy(f->dir, user_id, envelope, &err) : 0;
	int b = header_from != NULL ? dir_sender_policy(f->dir, user_id, header_from, &err) : 0;
	if (a == 1 || b == 1)
		return POLICY_LIST_WHITE;
	if (a == 2 || b == 2)
		return POLICY_LIST_BLACK;
	return POLICY_LIST_NONE;
}

/* The address of the first From: mailbox, lower-cased, or NULL. */
static const char *header_from(struct pool *pool, const struct mime_part *root)
{
	const char *v = mime_header_get(pool, root, "From");
	if (v == NULL)
		return NULL;
	struct mime_address *a = mime_address_parse(pool, v, strlen(v));
	for (; a != NULL; a = a->next) {
		if (a->mailbox != NULL && a->domain != NULL && a->mailbox[0] != '\0')
			return pool_printf(pool, "%s@%s", a->mailbox, a->domain);
	}
	return NULL;
}

static int virus_scan(struct filter *f, const void *msg, size_t len, struct filter_verdict *v)
{
	if (f->clamd[0] == '\0')
		return 0;
	char name[200];
	const char *err = NULL;
	switch (clamd_scan(f->clamd, f->clamd_timeout, f->clamd_max, msg, len, name, sizeof(name), &err)) {
	case CLAMD_CLEAN:
		return 0;
	case CLAMD_VIRUS:
		v->reject = true;
		v->code = 554;
		snprintf(v->text, sizeof(v->text), "Virus found: %s", name);
		str_copy(v->virus, name, sizeof(v->virus));
		return 1;
	case CLAMD_ERROR:
		break;
	}
	if (f->clamd_fail_open) {
		log_warn("filter.clamd_failed", "action=deliver_unscanned error=%s", log_str(err));
		return 0;
	}
	log_error("filter.clamd_failed", "action=tempfail error=%s", log_str(err));
	v->tempfail = true;
	v->code = 451;
	str_copy(v->text, "Virus scanner unavailable; try again later", sizeof(v->text));
	return 1;
}

int filter_scan(struct filter *f, struct pool *pool, const void *msg, size_t len,
		const char *sender, const char *client_ip, struct filter_rcpt *rcpts, size_t n,
		unsigned flags, struct filter_verdict *v, const char **error_r)
{
	(void)error_r;
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		rcpts[i].action = FILTER_INBOX;
		rcpts[i].folder = NULL;
		rcpts[i].headers = NULL;
		rcpts[i].headers_len = 0;
	}
	if (!f->enabled)
		return 0;
	if (virus_scan(f, msg, len, v) != 0)
		return 0;

	struct scan sc = { .score = 0 };
	buf_init_pool(&sc.rules, pool, 0);
	struct mime_part *root = mime_parse(pool, msg, len, NULL);
	bool scored = false;
	if (f->sa != NULL && len <= f->max_scan) {
		struct sa_scan_info info = { .envelope_from = sender, .client_ip = client_ip };
		struct sa_result *r = POOL_NEW(pool, struct sa_result);
		sa_engine_scan(f->sa, pool, msg, len, &info, (flags & FILTER_SCAN_STATS) != 0, r);
		for (size_t i = 0; i < r->n_hits; i++)
			add_rule(&sc, r->hits[i].name, 0);
		sc.score = r->score;
		v->sa = r;
		scored = true;
	}
	check_received(f, pool, root, &sc, v);
	if (len <= f->max_scan)
		check_uris(f, pool, msg, len, root, &sc, v);
	v->score = sc.score;
	v->rules = buf_cstr(&sc.rules);
	v->scanned = scored;

	const char *from = header_from(pool, root);
	for (size_t i = 0; i < n; i++) {
		struct dir_user *u = NULL;
		const char *err;
		double tag = 5.0, cutoff = 15.0;
		int64_t uid = 0;
		if (rcpts[i].address != NULL &&
		    dir_user_lookup(f->dir, pool, rcpts[i].address, &u, &err) == 1) {
			tag = u->tag;
			cutoff = u->cutoff;
			uid = u->id;
		}
		enum policy_list list = uid != 0 ? sender_list(f, uid, sender, from) : POLICY_LIST_NONE;
		rcpts[i].action = policy_decide(sc.score, tag, cutoff, list, f->blacklisted);
		rcpts[i].list = list;
		rcpts[i].tag = tag;
		rcpts[i].cutoff = cutoff;
		if (rcpts[i].action == FILTER_FOLDER)
			rcpts[i].folder = f->spam_folder;
		struct buf h;
		buf_init_pool(&h, pool, 0);
		policy_headers(&h, sc.score, tag, v->rules);
		rcpts[i].headers = h.data;
		rcpts[i].headers_len = h.len;
	}
	return 0;
}

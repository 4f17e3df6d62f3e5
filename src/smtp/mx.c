/*
 * The MX role: the SMTP engine with the inbound policy.
 *
 * At connect: a client IP blocked for dictionary attacks, over its
 * concurrency or rate, or listed in a DNS blocklist is refused; the
 * first connection of an IP is greeted only after mx.greet_delay, and a
 * client that talks before the greeting is a bot (pregreet).
 * At RCPT: only local domains, no relay tricks, the directory decides;
 * unknown recipients are answered ever more slowly and end the session
 * after mx.max_unknown_recipients; an IP with too many of them across
 * sessions is blocked for mx.block_time.
 * At the end of DATA: the filter hook, then delivery into the store (or
 * by LMTP to the user's store node); what cannot be stored now is queued
 * durably.  250 comes only after every recipient is stored or queued.
 */

#include "mx.h"
#include "mx-deliver.h"
#include "mx-queue.h"
#include "smtp-server.h"
#include "directory/directory.h"
#include "filter/filter.h"
#include "filter/zoneset.h"
#include "lib/anvil.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/dns.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/threadpool.h"
#include "lib/tls.h"
#include "lib/util.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* anvil counters */
#define W_RATE 0
#define W_UNKNOWN 1
#define U_BLOCKED 0
#define U_PASSED 1

static int check_dnsbl(const char *v, const char **error_r);

const struct config_key mx_config_keys[] = {
	{ "mx", "max_message_size", CONFIG_SIZE, "50M", "largest message accepted (advertised with SIZE)", 1024, 1ull << 31 },
	{ "mx", "max_recipients", CONFIG_UINT, "100", "recipients per message", 1, 100000 },
	{ "mx", "max_messages_per_session", CONFIG_UINT, "1000", "MAIL commands in one session before 452 (0 = no limit)", 0, 1000000 },
	{ "mx", "max_errors", CONFIG_UINT, "10", "protocol errors before 421 and disconnect", 1, 1000 },
	{ "mx", "timeout", CONFIG_DURATION, "5m", "idle time allowed between commands and in DATA", 1000, 3600000 },
	{ "mx", "max_command_line", CONFIG_SIZE, "2048", "longest command line, CRLF included (RFC 5321: 512)", 512, 65536 },
	{ "mx", "max_line_length", CONFIG_SIZE, "10000", "longest line in a message, CRLF included; longer is refused (0 = no limit)", 0, 1ull << 20 },
	{ "mx", "require_helo", CONFIG_BOOL, "yes", "refuse MAIL before HELO/EHLO" },
	{ "mx", "greet_delay", CONFIG_DURATION, "3s", "wait before greeting an IP not seen for pass_ttl; talking first is a pregreet (0 = greet at once)", 0, 60000 },
	{ "mx", "pass_ttl", CONFIG_DURATION, "1d", "how long an IP that waited for the greeting is greeted at once", 0, 31536000000ull },
	{ "mx", "max_connections_per_ip", CONFIG_UINT, "20", "concurrent connections from one IP (IPv6: one /64); 0 = no limit", 0, 1000000 },
	{ "mx", "max_connection_rate", CONFIG_UINT, "120", "connections from one IP per rate_window; 0 = no limit", 0, 100000000 },
	{ "mx", "rate_window", CONFIG_DURATION, "1m", "the window of max_connection_rate", 1000, 86400000 },
	{ "mx", "max_unknown_recipients", CONFIG_UINT, "3", "unknown recipients in one session before 421 and disconnect", 1, 1000 },
	{ "mx", "unknown_limit", CONFIG_UINT, "20", "unknown recipients from one IP within unknown_window before it is blocked", 1, 1000000 },
	{ "mx", "unknown_window", CONFIG_DURATION, "10m", "window of unknown_limit", 1000, 86400000 },
	{ "mx", "block_time", CONFIG_DURATION, "30m", "how long an IP over unknown_limit is refused at connect (421 4.7.0)", 1000, 604800000 },
	{ "mx", "tarpit_delay", CONFIG_DURATION, "1s", "delay before answering an unknown recipient, times the session's unknown count", 0, 60000 },
	{ "mx", "tarpit_max", CONFIG_DURATION, "10s", "longest tarpit delay", 0, 300000 },
	{ "mx", "dnsbl", CONFIG_STRING, "", "remote DNS blocklists with weights: zen.example*2, bl.example", .validate = check_dnsbl },
	{ "mx", "dnsbl_threshold", CONFIG_UINT, "1", "refuse the client when the weights of the lists it is on reach this", 1, 1000 },
	{ "mx", "dnsbl_timeout", CONFIG_DURATION, "2s", "time allowed for the DNS blocklist answers (a slow list never blocks mail)", 100, 60000 },
	{ "mx", "dns_servers", CONFIG_STRING, "", "DNS servers for blocklist lookups (\"127.0.0.1:5353\"); empty = /etc/resolv.conf" },
	{ "mx", "postmaster", CONFIG_STRING, "", "where RCPT TO:<Postmaster> goes (default: postmaster@ the first local domain)" },
	{ NULL }
};

struct dnsbl_site {
	char domain[200];
	unsigned weight;
};

struct mx {
	struct worker *w;
	const struct config *cfg;
	struct smtp_server *srv;
	struct directory *dir;
	struct store *st;
	struct filter *filter;
	struct zoneset *zones;
	struct threadpool *pool;
	struct anvil *anvil;
	struct dns *dns;
	struct mx_queue *queue;
	struct mx_deliverer deliverer;
	char *queue_dir;
	char hostname[256];
	struct dnsbl_site sites[16];
	size_t n_sites;
	uint64_t greet_delay, pass_ttl, rate_window, unknown_window, block_time;
	uint64_t tarpit_delay, tarpit_max, dnsbl_timeout;
	unsigned max_conn, max_rate, max_unknown, unknown_limit, dnsbl_threshold;
};

/* What an accepted RCPT resolved to: local users. */
struct mx_rcpt_ctx {
	const char **users;
	size_t n;
};

struct rcpt_job {
	struct mx *mx;
	struct smtp_session *s;
	struct pool *pool;
	const char *address;
	struct dir_resolution res;
	int status;            /* 0 resolved, -1 lookup failed */
	char error[256];
};

struct mx_session {
	struct mx *mx;
	char key[64];          /* the IP, or the /64 of an IPv6 client */
	bool counted;          /* anvil_connect() done */
	unsigned unknown;      /* unknown recipients in this session */
	struct timer *tarpit;
	struct rcpt_job *tarpit_job;
	/* DNSBL */
	unsigned dnsbl_pending, dnsbl_score;
	char dnsbl_hit[200];
	struct timer *dnsbl_timer;
	bool dnsbl_done;
};

static int parse_dnsbl(const char *v, struct dnsbl_site *sites, size_t max, size_t *n_r,
		       const char **error_r)
{
	char tmp[2048];
	str_copy(tmp, v, sizeof(tmp));
	size_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(tmp, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (n == max) {
			*error_r = "at most 16 lists";
			return -1;
		}
		char *star = strchr(tok, '*');
		uint64_t w = 1;
		if (star != NULL) {
			*star = '\0';
			if (num_parse_uint_max(star + 1, 100, &w) < 0 || w == 0) {
				*error_r = "a weight is *1 to *100";
				return -1;
			}
		}
		if (tok[0] == '\0' || strlen(tok) >= sizeof(sites[n].domain) || strchr(tok, '.') == NULL) {
			*error_r = "expected list domains such as zen.example*2";
			return -1;
		}
		if (sites != NULL) {
			str_copy(sites[n].domain, tok, sizeof(sites[n].domain));
			sites[n].weight = (unsigned)w;
		}
		n++;
	}
	*n_r = n;
	return 0;
}

static int check_dnsbl(const char *v, const char **error_r)
{
	struct dnsbl_site sites[16];
	size_t n;
	return parse_dnsbl(v, sites, 16, &n, error_r);
}

/* ------------------------------------------------------------------ */
/* Connect                                                             */

static void client_key(struct conn *c, char *out, size_t size)
{
	const struct net_addr *a = conn_peer(c);
	uint32_t v4;
	if (net_addr_ipv4(a, &v4) == 0 || a->ss.ss_family != AF_INET6) {
		str_copy(out, conn_peer_ip(c), size);
		return;
	}
	/* IPv6: a client owns its /64 */
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
	struct in6_addr p = in6->sin6_addr;
	memset(p.s6_addr + 8, 0, 8);
	char ip[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &p, ip, sizeof(ip));
	snprintf(out, size, "%s/64", ip);
}

static void greet(struct smtp_session *s)
{
	struct mx_session *ms = smtp_session_ctx(s);
	struct mx *mx = ms->mx;
	/* First contact: greeted after the delay, and a client that talks
	 * first is refused.  Passing vouches for the IP for pass_ttl (marked
	 * when it sends MAIL). */
	if (mx->greet_delay > 0 && anvil_until(mx->anvil, ms->key, U_PASSED) <= anvil_now_ms())
		smtp_session_greet_after(s, mx->greet_delay);
	else
		smtp_session_greet(s);
}

static void dnsbl_finish(struct smtp_session *s)
{
	struct mx_session *ms = smtp_session_ctx(s);
	if (ms->dnsbl_done)
		return;
	ms->dnsbl_done = true;
	timer_remove(&ms->dnsbl_timer);
	if (ms->dnsbl_score >= ms->mx->dnsbl_threshold && ms->dnsbl_score > 0) {
		log_info("mx.refused", "session=%s ip=%s reason=dnsbl list=%s score=%u",
			 smtp_session_id(s), smtp_session_peer_ip(s), ms->dnsbl_hit, ms->dnsbl_score);
		smtp_session_refuse(s, 554, "5.7.1", "Service unavailable; client [%s] blocked using %s",
				    smtp_session_peer_ip(s), ms->dnsbl_hit);
		return;
	}
	greet(s);
}

struct dnsbl_query {
	struct smtp_session *s;
	size_t site;
};

static void dnsbl_answer(void *ctx, int status, const char *const *answers, size_t n)
{
	struct dnsbl_query *q = ctx;
	struct smtp_session *s = q->s;
	struct mx_session *ms = smtp_session_ctx(s);
	if (!smtp_session_closed(s) && ms != NULL && !ms->dnsbl_done) {
		bool listed = false;
		for (size_t i = 0; i < n; i++)
			listed = listed || str_has_prefix(answers[i], "127.");
		if (status == 0 && listed) {
			ms->dnsbl_score += ms->mx->sites[q->site].weight;
			if (ms->dnsbl_hit[0] == '\0')
				str_copy(ms->dnsbl_hit, ms->mx->sites[q->site].domain, sizeof(ms->dnsbl_hit));
		}
		if (--ms->dnsbl_pending == 0)
			dnsbl_finish(s);
	}
	smtp_session_unref(&q->s);
	free(q);
}

static void dnsbl_timeout(void *ctx)
{
	struct smtp_session *s = ctx;
	struct mx_session *ms = smtp_session_ctx(s);
	timer_remove(&ms->dnsbl_timer);
	log_info("mx.dnsbl_timeout", "session=%s ip=%s pending=%u", smtp_session_id(s),
		 smtp_session_peer_ip(s), ms->dnsbl_pending);
	dnsbl_finish(s);
}

static bool start_dnsbl(struct mx *mx, struct smtp_session *s, struct mx_session *ms)
{
	uint32_t v4;
	if (mx->n_sites == 0 || mx->dns == NULL ||
	    net_addr_ipv4(conn_peer(smtp_session_conn(s)), &v4) < 0)
		return false; /* IPv6 lists: not yet */
	char rev[32];
	snprintf(rev, sizeof(rev), "%u.%u.%u.%u", v4 & 255, (v4 >> 8) & 255, (v4 >> 16) & 255, v4 >> 24);
	ms->dnsbl_pending = (unsigned)mx->n_sites;
	ms->dnsbl_timer = timer_add(worker_loop(mx->w), mx->dnsbl_timeout, false, dnsbl_timeout, s);
	for (size_t i = 0; i < mx->n_sites; i++) {
		char name[300];
		snprintf(name, sizeof(name), "%s.%s", rev, mx->sites[i].domain);
		struct dnsbl_query *q = xcalloc(1, sizeof(*q));
		q->s = s;
		q->site = i;
		smtp_session_ref(s);
		dns_lookup_a(mx->dns, name, dnsbl_answer, q);
	}
	return true;
}

static void mx_connect(struct smtp_session *s)
{
	struct mx *mx = smtp_server_ctx(smtp_session_server(s));
	struct mx_session *ms = pool_alloc(smtp_session_pool(s), sizeof(*ms));
	ms->mx = mx;
	smtp_session_set_ctx(s, ms);
	client_key(smtp_session_conn(s), ms->key, sizeof(ms->key));
	uint64_t now = anvil_now_ms();
	const char *ip = smtp_session_peer_ip(s);
	if (anvil_until(mx->anvil, ms->key, U_BLOCKED) > now) {
		log_info("mx.refused", "session=%s ip=%s reason=blocked", smtp_session_id(s), ip);
		smtp_session_refuse(s, 421, "4.7.0", "%s Too many unknown recipients from your address; try again later",
				    mx->hostname);
		return;
	}
	ms->counted = true;
	uint32_t conns = anvil_connect(mx->anvil, ms->key);
	if (mx->max_conn > 0 && conns > mx->max_conn) {
		log_info("mx.refused", "session=%s ip=%s reason=concurrency connections=%u", smtp_session_id(s),
			 ip, conns);
		smtp_session_refuse(s, 421, "4.7.0", "%s Too many connections from your address", mx->hostname);
		return;
	}
	if (mx->max_rate > 0) {
		uint32_t rate = anvil_count(mx->anvil, ms->key, W_RATE, 1, mx->rate_window);
		if (rate > mx->max_rate) {
			log_info("mx.refused", "session=%s ip=%s reason=rate connections=%u", smtp_session_id(s),
				 ip, rate);
			smtp_session_refuse(s, 421, "4.7.0", "%s Too many connections from your address; slow down",
					    mx->hostname);
			return;
		}
	}
	struct zone_result zr;
	const char *zone;
	if (zoneset_check_connect(mx->zones, conn_peer(smtp_session_conn(s)), &zone, &zr) == 1) {
		log_info("mx.refused", "session=%s ip=%s reason=zone zone=%s value=%s", smtp_session_id(s),
			 ip, zone, zr.a_text);
		if (zr.has_txt && zr.txt[0] != '\0')
			smtp_session_refuse(s, 554, "5.7.1", "%s", zr.txt);
		else
			smtp_session_refuse(s, 554, "5.7.1", "Service unavailable; client [%s] blocked using %s",
					    ip, zone);
		return;
	}
	if (start_dnsbl(mx, s, ms))
		return;
	greet(s);
}

static void mx_disconnect(struct smtp_session *s)
{
	struct mx_session *ms = smtp_session_ctx(s);
	if (ms == NULL)
		return;
	timer_remove(&ms->tarpit);
	if (ms->tarpit_job != NULL) {
		struct rcpt_job *j = ms->tarpit_job;
		ms->tarpit_job = NULL;
		smtp_session_unref(&j->s);
		free(j);
	}
	timer_remove(&ms->dnsbl_timer);
	ms->dnsbl_done = true;
	if (ms->counted)
		anvil_disconnect(ms->mx->anvil, ms->key);
	ms->counted = false;
}

/* ------------------------------------------------------------------ */
/* MAIL and RCPT                                                       */

static void mx_mail(struct smtp_session *s, struct smtp_transaction *t)
{
	struct mx_session *ms = smtp_session_ctx(s);
	/* a client that got this far waited for the greeting */
	if (ms->mx->greet_delay > 0 && ms->mx->pass_ttl > 0)
		anvil_set_until(ms->mx->anvil, ms->key, U_PASSED, anvil_now_ms() + ms->mx->pass_ttl);
	(void)t;
	smtp_session_reply(s, 250, "2.1.0", "Ok");
}

static void rcpt_work(void *ctx)
{
	struct rcpt_job *j = ctx;
	const char *err;
	if (dir_resolve(j->mx->dir, j->pool, j->address, &j->res, &err) < 0) {
		j->status = -1;
		str_copy(j->error, err, sizeof(j->error));
	}
}

static void unknown_done(void *ctx);

static void answer_unknown(struct smtp_session *s, struct rcpt_job *j)
{
	struct mx_session *ms = smtp_session_ctx(s);
	struct mx *mx = ms->mx;
	ms->unknown++;
	uint32_t n = anvil_count(mx->anvil, ms->key, W_UNKNOWN, 1, mx->unknown_window);
	if (n >= mx->unknown_limit) {
		anvil_set_until(mx->anvil, ms->key, U_BLOCKED, anvil_now_ms() + mx->block_time);
		log_warn("mx.blocked", "ip=%s reason=dictionary_attack unknown=%u block_s=%llu",
			 smtp_session_peer_ip(s), n, (unsigned long long)(mx->block_time / 1000));
	}
	log_info("mx.unknown_recipient", "session=%s ip=%s to=%s session_unknown=%u ip_unknown=%u",
		 smtp_session_id(s), smtp_session_peer_ip(s), log_str(j->address), ms->unknown, n);
	/* Tarpit: each unknown recipient is answered more slowly.  The job
	 * (and its reference on the session) waits in ms->tarpit_job. */
	uint64_t delay = MIN(mx->tarpit_delay * ms->unknown, mx->tarpit_max);
	if (delay > 0) {
		ms->tarpit_job = j;
		ms->tarpit = timer_add(worker_loop(mx->w), delay, false, unknown_done, j);
		return;
	}
	unknown_done(j);
}

static void unknown_done(void *ctx)
{
	struct rcpt_job *j = ctx;
	struct smtp_session *s = j->s;
	struct mx_session *ms = smtp_session_ctx(s);
	timer_remove(&ms->tarpit);
	ms->tarpit_job = NULL;
	if (!smtp_session_closed(s)) {
		smtp_session_reply(s, 550, "5.1.1", "<%s>: Recipient address rejected: User unknown",
				   j->address);
		if (ms->unknown >= ms->mx->max_unknown)
			smtp_session_disconnect(s, "4.7.0", "Error: too many unknown recipients");
	}
	smtp_session_unref(&j->s);
	free(j);
}

static void rcpt_done(void *ctx)
{
	struct rcpt_job *j = ctx;
	struct smtp_session *s = j->s;
	if (smtp_session_closed(s)) {
		smtp_session_unref(&j->s);
		free(j);
		return;
	}
	if (j->status < 0) {
		log_error("mx.directory_failed", "to=%s error=%s", log_str(j->address), log_str(j->error));
		smtp_session_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", j->address);
	} else if (j->res.status == DIR_NOT_LOCAL) {
		smtp_session_reply(s, 554, "5.7.1", "<%s>: Relay access denied", j->address);
	} else if (j->res.status == DIR_UNKNOWN_USER) {
		answer_unknown(s, j);
		return; /* answer_unknown owns j */
	} else {
		struct mx_rcpt_ctx *rc = pool_alloc(j->pool, sizeof(*rc));
		rc->users = pool_alloc(j->pool, j->res.n_targets * sizeof(char *));
		bool remote = false;
		for (size_t i = 0; i < j->res.n_targets; i++) {
			if (j->res.targets[i].kind == DIR_TARGET_REMOTE)
				remote = true;
			else
				rc->users[rc->n++] = j->res.targets[i].address;
		}
		if (remote) {
			/* forwarding needs the outbound queue: nothing is lost
			 * by asking the sender to try again */
			log_info("mx.remote_alias", "session=%s to=%s note=\"needs the outbound queue; 451 until then\"",
				 smtp_session_id(s), log_str(j->address));
			smtp_session_reply(s, 451, "4.3.0", "<%s>: Forwarding is not available yet; try again later",
					   j->address);
		} else {
			smtp_session_rcpt_accept(s, rc);
		}
	}
	smtp_session_unref(&j->s);
	free(j);
}

/* The relay tricks: anything but a plain local@domain is refused before
 * the directory is asked. */
static const char *relay_trick(const struct smtp_address *a)
{
	if (a->flags & SMTP_ADDRESS_F_SOURCE_ROUTE)
		return "source route";
	if (a->flags & SMTP_ADDRESS_F_LOCAL_PERCENT)
		return "% in the local part";
	if (a->flags & SMTP_ADDRESS_F_LOCAL_BANG)
		return "! in the local part";
	if (a->flags & (SMTP_ADDRESS_F_LOCAL_AT | SMTP_ADDRESS_F_QUOTED))
		return "quoted local part";
	if (a->flags & SMTP_ADDRESS_F_LITERAL)
		return "address literal";
	if (a->flags & SMTP_ADDRESS_F_TRAILING_DOT)
		return "trailing dot";
	if (a->flags & SMTP_ADDRESS_F_DOTLESS)
		return "dotless domain";
	if (a->flags & (SMTP_ADDRESS_F_NEEDS_QUOTES | SMTP_ADDRESS_F_BAD_DOTS | SMTP_ADDRESS_F_NO_BRACKETS))
		return "unusual local part";
	return NULL;
}

static void mx_rcpt(struct smtp_session *s, struct smtp_transaction *t, struct smtp_recipient *r)
{
	struct mx *mx = smtp_server_ctx(smtp_session_server(s));
	const char *address = r->address;
	if (r->addr.flags & SMTP_ADDRESS_F_POSTMASTER) {
		address = config_str(mx->cfg, "mx", "postmaster");
		if (address[0] == '\0')
			address = pool_printf(t->pool, "postmaster@%s", mx->hostname);
	} else {
		const char *trick = relay_trick(&r->addr);
		if (trick != NULL) {
			log_info("mx.relay_denied", "session=%s ip=%s to=%s reason=%s", smtp_session_id(s),
				 smtp_session_peer_ip(s), log_str(r->address), trick);
			smtp_session_reply(s, 554, "5.7.1", "<%s>: Relay access denied", r->address);
			return;
		}
	}
	struct rcpt_job *j = xcalloc(1, sizeof(*j));
	j->mx = mx;
	j->s = s;
	j->pool = t->pool;
	j->address = pool_strdup(t->pool, address);
	smtp_session_ref(s);
	threadpool_submit(mx->pool, rcpt_work, rcpt_done, j);
}

/* ------------------------------------------------------------------ */
/* DATA                                                                */

struct data_job {
	struct mx *mx;
	struct smtp_session *s;
	struct smtp_transaction *t;
	struct buf msg;
	const char *sender;
	const char *client_ip;
	struct mx_rcpt *rcpts;
	size_t n;
	/* results */
	unsigned code;
	char enh[16];
	char text[300];
};

static void data_work(void *ctx)
{
	struct data_job *j = ctx;
	struct mx *mx = j->mx;
	const char *err;
	struct filter_rcpt *fr = pool_alloc(j->t->pool, j->n * sizeof(*fr));
	for (size_t i = 0; i < j->n; i++)
		fr[i].address = j->rcpts[i].address;
	struct filter_verdict v;
	if (filter_scan(mx->filter, j->t->pool, j->msg.data, j->msg.len, j->sender, j->client_ip,
			fr, j->n, 0, &v, &err) < 0 || v.tempfail) {
		j->code = 451;
		str_copy(j->enh, "4.7.1", sizeof(j->enh));
		str_copy(j->text, "Message could not be scanned; try again later", sizeof(j->text));
		return;
	}
	if (v.reject) {
		log_info("mx.rejected", "tx=%s reason=%s virus=%s", j->t->id, log_str(v.text), log_str(v.virus));
		j->code = v.code != 0 ? v.code : 554;
		str_copy(j->enh, "5.7.1", sizeof(j->enh));
		str_copy(j->text, v.text, sizeof(j->text));
		return;
	}
	log_info("mx.filtered", "tx=%s score=%.1f rules=%s", j->t->id, v.score, log_str(v.rules));
	/* per-recipient actions */
	size_t m = 0;
	for (size_t i = 0; i < j->n; i++) {
		if (fr[i].action == FILTER_DISCARD) {
			log_info("mx.discarded", "tx=%s to=%s score=%.1f cutoff=%.1f list=%s rules=%s", j->t->id,
				 log_str(j->rcpts[i].address), v.score, fr[i].cutoff,
				 fr[i].list == 2 ? "black" : "none", log_str(v.rules));
			continue;
		}
		j->rcpts[m] = j->rcpts[i];
		j->rcpts[m].folder = fr[i].action == FILTER_FOLDER ? fr[i].folder : NULL;
		j->rcpts[m].prefix = fr[i].headers;
		j->rcpts[m].prefix_len = fr[i].headers_len;
		m++;
	}
	mx_deliver(&mx->deliverer, j->sender, j->msg.data, j->msg.len, j->rcpts, m);
	/* what failed for now is queued; what failed for good bounces */
	struct mx_rcpt *temp = pool_alloc(j->t->pool, (m + 1) * sizeof(*temp));
	struct mx_rcpt *perm = pool_alloc(j->t->pool, (m + 1) * sizeof(*perm));
	size_t nt = 0, np = 0, ok = 0;
	for (size_t i = 0; i < m; i++) {
		if (j->rcpts[i].status == MXD_OK)
			ok++;
		else if (j->rcpts[i].status == MXD_TEMP)
			temp[nt++] = j->rcpts[i];
		else
			perm[np++] = j->rcpts[i];
	}
	char qid[40] = "";
	const char *envid = j->t->mail_params.envid;
	if (nt > 0 && mx_queue_put(mx->queue_dir, j->sender, envid, temp, nt, j->msg.data, j->msg.len,
				   qid, &err) < 0) {
		log_error("mx.queue_failed", "tx=%s error=%s", j->t->id, log_str(err));
		j->code = 451;
		str_copy(j->enh, "4.3.0", sizeof(j->enh));
		str_copy(j->text, "Temporary failure storing the message; try again", sizeof(j->text));
		return;
	}
	if (nt > 0)
		log_info("mx.queued", "tx=%s queue_id=%s recipients=%zu reason=%s", j->t->id, qid, nt,
			 log_str(j->rcpts[0].text));
	if (np > 0 && ok == 0 && nt == 0) {
		/* every recipient failed for good: say so now, no bounce */
		j->code = perm[0].code >= 500 ? perm[0].code : 550;
		const char *sp = strchr(perm[0].text, ' ');
		size_t el = sp != NULL ? (size_t)(sp - perm[0].text) : 0;
		if (el > 0 && el < sizeof(j->enh)) {
			memcpy(j->enh, perm[0].text, el);
			j->enh[el] = '\0';
		} else {
			str_copy(j->enh, "5.0.0", sizeof(j->enh));
		}
		str_copy(j->text, sp != NULL ? sp + 1 : perm[0].text, sizeof(j->text));
		return;
	}
	if (np > 0)
		mx_queue_bounce(&mx->deliverer, mx->queue_dir, mx->hostname, j->sender, envid,
				j->msg.data, j->msg.len, perm, np);
	j->code = 250;
	str_copy(j->enh, "2.0.0", sizeof(j->enh));
	if (nt > 0)
		snprintf(j->text, sizeof(j->text), "Ok: queued as %s", qid);
	else
		snprintf(j->text, sizeof(j->text), "Ok: %s", j->t->id);
}

static void data_done(void *ctx)
{
	struct data_job *j = ctx;
	if (!smtp_session_closed(j->s)) {
		log_info("mx.data", "session=%s tx=%s from=%s recipients=%zu size=%zu code=%u",
			 smtp_session_id(j->s), j->t->id, log_str(j->sender), j->n, j->msg.len, j->code);
		smtp_session_reply(j->s, j->code, j->enh, "%s", j->text);
	}
	buf_free(&j->msg);
	smtp_session_unref(&j->s);
	free(j);
}

static void received_header(struct mx *mx, struct smtp_session *s, struct smtp_transaction *t,
			    struct buf *out)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	const char *helo = smtp_session_helo(s);
	struct conn *c = smtp_session_conn(s);
	const char *proto = smtp_session_esmtp(s) ? (conn_is_tls(c) ? "ESMTPS" : "ESMTP")
						  : (conn_is_tls(c) ? "SMTPS" : "SMTP");
	if (t->mail_params.smtputf8)
		proto = conn_is_tls(c) ? "UTF8SMTPS" : "UTF8SMTP";
	char helo_clean[128];
	log_sanitize(helo_clean, sizeof(helo_clean), helo != NULL ? helo : "unknown",
		     helo != NULL ? strlen(helo) : 7);
	for (char *p = helo_clean; *p != '\0'; p++) {
		if (*p == '"' || *p == '(' || *p == ')' || *p == ';')
			*p = '_';
	}
	buf_printf(out, "Received: from %s ([%s])\r\n\tby %s (ombu) with %s", helo_clean,
		   smtp_session_peer_ip(s), mx->hostname, proto);
	if (conn_tls_version(c) != NULL)
		buf_printf(out, "\r\n\t(version=%s cipher=%s bits=%d)", conn_tls_version(c),
			   conn_tls_cipher(c), conn_tls_bits(c));
	buf_printf(out, " id %s", t->id);
	if (t->n_rcpts == 1)
		buf_printf(out, "\r\n\tfor <%s>", t->rcpts[0].address);
	buf_printf(out, "; %s\r\n", date);
}

static void mx_data(struct smtp_session *s, struct smtp_transaction *t)
{
	struct mx *mx = smtp_server_ctx(smtp_session_server(s));
	struct data_job *j = xcalloc(1, sizeof(*j));
	j->mx = mx;
	j->s = s;
	j->t = t;
	buf_init(&j->msg, 0);
	received_header(mx, s, t, &j->msg);
	buf_append(&j->msg, t->body.data, t->body.len);
	struct buf from;
	buf_init_pool(&from, t->pool, 0);
	if (!(t->mail_from.flags & SMTP_ADDRESS_F_NULL))
		smtp_address_write(&from, &t->mail_from);
	j->sender = buf_cstr(&from);
	j->client_ip = pool_strdup(t->pool, smtp_session_peer_ip(s));
	/* one delivery per final user, even when two RCPTs reach the same one */
	size_t total = 0;
	for (size_t i = 0; i < t->n_rcpts; i++)
		total += ((struct mx_rcpt_ctx *)t->rcpts[i].ctx)->n;
	j->rcpts = pool_alloc(t->pool, (total + 1) * sizeof(*j->rcpts));
	for (size_t i = 0; i < t->n_rcpts; i++) {
		const struct mx_rcpt_ctx *rc = t->rcpts[i].ctx;
		const struct smtp_recipient *sr = &t->rcpts[i];
		for (size_t u = 0; u < rc->n; u++) {
			bool dup = false;
			for (size_t k = 0; k < j->n && !dup; k++)
				dup = strcmp(j->rcpts[k].address, rc->users[u]) == 0;
			if (dup)
				continue;
			struct mx_rcpt *mr = &j->rcpts[j->n++];
			mr->address = rc->users[u];
			mr->notify = sr->params.notify;
			mr->orcpt = sr->params.orcpt != NULL ? sr->params.orcpt : sr->address;
		}
	}
	smtp_session_ref(s);
	threadpool_submit(mx->pool, data_work, data_done, j);
}

static const struct smtp_server_callbacks mx_callbacks = {
	.connect = mx_connect,
	.mail = mx_mail,
	.rcpt = mx_rcpt,
	.data = mx_data,
	.disconnect = mx_disconnect,
};

/* ------------------------------------------------------------------ */
/* The service                                                          */

static void *mx_init(struct worker *w, const char **error_r)
{
	const struct config *cfg = worker_config(w);
	struct mx *mx = xcalloc(1, sizeof(*mx));
	mx->w = w;
	mx->cfg = cfg;
	mx->pool = worker_pool(w);
	mx->anvil = worker_anvil(w);
	mx->dir = directory_worker(w, error_r);
	mx->st = mx->dir != NULL ? store_worker(w, error_r) : NULL;
	mx->filter = mx->st != NULL ? filter_worker(w, error_r) : NULL;
	mx->zones = mx->filter != NULL ? zoneset_worker(w, error_r) : NULL;
	if (mx->zones == NULL) {
		free(mx);
		return NULL;
	}
	str_copy(mx->hostname, worker_hostname(w), sizeof(mx->hostname));
	mx->greet_delay = config_ms(cfg, "mx", "greet_delay");
	mx->pass_ttl = config_ms(cfg, "mx", "pass_ttl");
	mx->rate_window = config_ms(cfg, "mx", "rate_window");
	mx->unknown_window = config_ms(cfg, "mx", "unknown_window");
	mx->block_time = config_ms(cfg, "mx", "block_time");
	mx->tarpit_delay = config_ms(cfg, "mx", "tarpit_delay");
	mx->tarpit_max = config_ms(cfg, "mx", "tarpit_max");
	mx->dnsbl_timeout = config_ms(cfg, "mx", "dnsbl_timeout");
	mx->max_conn = (unsigned)config_uint(cfg, "mx", "max_connections_per_ip");
	mx->max_rate = (unsigned)config_uint(cfg, "mx", "max_connection_rate");
	mx->max_unknown = (unsigned)config_uint(cfg, "mx", "max_unknown_recipients");
	mx->unknown_limit = (unsigned)config_uint(cfg, "mx", "unknown_limit");
	mx->dnsbl_threshold = (unsigned)config_uint(cfg, "mx", "dnsbl_threshold");
	parse_dnsbl(config_str(cfg, "mx", "dnsbl"), mx->sites, N_ELEMENTS(mx->sites), &mx->n_sites,
		    error_r);
	if (mx->n_sites > 0) {
		mx->dns = dns_create(worker_loop(w), config_str(cfg, "mx", "dns_servers"),
				     mx->dnsbl_timeout, error_r);
		if (mx->dns == NULL) {
			free(mx);
			return NULL;
		}
	}
	mx->queue_dir = xstrdup(config_path_value(cfg, "queue", "path"));
	mx->deliverer.dir = mx->dir;
	mx->deliverer.st = mx->st;
	mx->deliverer.lmtp_timeout_ms = config_ms(cfg, "queue", "lmtp_timeout");
	mx->deliverer.hostname = mx->hostname;
	mx->queue = mx_queue_create(w, &mx->deliverer, error_r);
	if (mx->queue == NULL) {
		dns_destroy(&mx->dns);
		free(mx->queue_dir);
		free(mx);
		return NULL;
	}
	struct smtp_server_settings set = {
		.protocol = SMTP_PROTOCOL_SMTP,
		.name = "mx",
		.hostname = mx->hostname,
		.max_command_line = config_size(cfg, "mx", "max_command_line"),
		.max_text_line = config_size(cfg, "mx", "max_line_length"),
		.max_message_size = config_size(cfg, "mx", "max_message_size"),
		.max_recipients = (unsigned)config_uint(cfg, "mx", "max_recipients"),
		.max_transactions = (unsigned)config_uint(cfg, "mx", "max_messages_per_session"),
		.max_errors = (unsigned)config_uint(cfg, "mx", "max_errors"),
		.timeout_ms = config_ms(cfg, "mx", "timeout"),
		.greet_delay_ms = 0,
		.caps = SMTP_CAP_SIZE | SMTP_CAP_8BITMIME | SMTP_CAP_SMTPUTF8 | SMTP_CAP_CHUNKING |
			SMTP_CAP_DSN,
		.enhanced_codes = true,
		.tls = worker_tls(w),
		.require_helo = config_bool(cfg, "mx", "require_helo"),
	};
	mx->srv = smtp_server_create(worker_loop(w), &set, &mx_callbacks, mx);
	return mx;
}

static void mx_accept(void *ctx, struct conn *c)
{
	struct mx *mx = ctx;
	smtp_server_accept(mx->srv, c);
}

static void mx_stop(void *ctx)
{
	struct mx *mx = ctx;
	smtp_server_stop(mx->srv);
}

static void mx_deinit(void *ctx)
{
	struct mx *mx = ctx;
	smtp_server_destroy(&mx->srv);
	mx_queue_destroy(&mx->queue);
	dns_destroy(&mx->dns);
	free(mx->queue_dir);
	free(mx);
}

const struct service mx_service = {
	.name = "mx",
	.init = mx_init,
	.accept = mx_accept,
	.stop = mx_stop,
	.deinit = mx_deinit,
};

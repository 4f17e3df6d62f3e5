#include "dns.h"
#include "ioloop-private.h"
#include "log.h"
#include "util.h"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#define DNS_MAX_SOCKS 16

struct dns_sock {
	ares_socket_t fd;
	struct event *ev;
};

struct dns {
	struct ioloop *loop;
	ares_channel ch;
	struct dns_sock socks[DNS_MAX_SOCKS];
	struct event *timer;
};

static void process(struct dns *d, ares_socket_t rfd, ares_socket_t wfd);

static void sock_ready(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	process(d, (what & EV_READ) ? fd : ARES_SOCKET_BAD, (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
}

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	(void)fd;
	(void)what;
	process(d, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

static void rearm_timer(struct dns *d)
{
	struct timeval tv, *t = ares_timeout(d->ch, NULL, &tv);
	if (t != NULL)
		evtimer_add(d->timer, t);
	else
		evtimer_del(d->timer);
}

static void process(struct dns *d, ares_socket_t rfd, ares_socket_t wfd)
{
	ares_process_fd(d->ch, rfd, wfd);
	rearm_timer(d);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock *slot = NULL, *free_slot = NULL;
	for (size_t i = 0; i < DNS_MAX_SOCKS; i++) {
		if (d->socks[i].ev != NULL && d->socks[i].fd == fd)
			slot = &d->socks[i];
		else if (d->socks[i].ev == NULL && free_slot == NULL)
			free_slot = &d->socks[i];
	}
	if (slot != NULL) {
		event_free(slot->ev);
		slot->ev = NULL;
	}
	if (!readable && !writable)
		return;
	if (slot == NULL)
		slot = free_slot;
	if (slot == NULL) {
		log_error("dns.sockets", "error=\"too many resolver sockets\"");
		return;
	}
	slot->fd = fd;
	slot->ev = event_new(ioloop_base(d->loop), fd,
			     (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0) | EV_PERSIST),
			     sock_ready, d);
	event_add(slot->ev, NULL);
}

struct dns *dns_create(struct ioloop *loop, const char *servers, uint64_t timeout_ms,
		       const char **error_r)
{
	static int lib_init;
	if (!lib_init) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
			*error_r = "c-ares initialisation failed";
			return NULL;
		}
		lib_init = 1;
	}
	struct dns *d = xcalloc(1, sizeof(*d));
	d->loop = loop;
	struct ares_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.sock_state_cb = sock_state;
	opt.sock_state_cb_data = d;
	opt.timeout = (int)(timeout_ms > 0 ? timeout_ms : 2000);
	opt.tries = 2;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	int r = ares_init_options(&d->ch, &opt, mask);
	if (r != ARES_SUCCESS) {
		*error_r = ares_strerror(r);
		free(d);
		return NULL;
	}
	if (servers != NULL && servers[0] != '\0') {
		r = ares_set_servers_ports_csv(d->ch, servers);
		if (r != ARES_SUCCESS) {
			*error_r = ares_strerror(r);
			ares_destroy(d->ch);
			free(d);
			return NULL;
		}
	}
	d->timer = evtimer_new(ioloop_base(loop), timer_fire, d);
	return d;
}

void dns_destroy(struct dns **dp)
{
	struct dns *d = *dp;
	if (d == NULL)
		return;
	*dp = NULL;
	/* pending callbacks run with ARES_EDESTRUCTION: status -1 */
	ares_destroy(d->ch);
	for (size_t i = 0; i < DNS_MAX_SOCKS; i++) {
		if (d->socks[i].ev != NULL)
			event_free(d->socks[i].ev);
	}
	event_free(d->timer);
	free(d);
}

struct query {
	dns_callback *cb;
	void *ctx;
	int type;
};

static int status_of(int ares_status)
{
	if (ares_status == ARES_SUCCESS)
		return 0;
	if (ares_status == ARES_ENOTFOUND || ares_status == ARES_ENODATA)
		return 1;
	return -1;
}

static void answer_a(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	(void)timeouts;
	const char *answers[16];
	char texts[16][INET_ADDRSTRLEN];
	size_t n = 0;
	int st = status_of(status);
	if (st == 0) {
		struct ares_addrttl ttls[16];
		int nttl = 16;
		struct hostent *he = NULL;
		if (ares_parse_a_reply(abuf, alen, &he, ttls, &nttl) == ARES_SUCCESS) {
			for (int i = 0; i < nttl && n < 16; i++) {
				inet_ntop(AF_INET, &ttls[i].ipaddr, texts[n], sizeof(texts[n]));
				answers[n] = texts[n];
				n++;
			}
			ares_free_hostent(he);
		}
		if (n == 0)
			st = 1;
	}
	q->cb(q->ctx, st, answers, n);
	free(q);
}

static void answer_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	(void)timeouts;
	const char *answers[16];
	size_t n = 0;
	int st = status_of(status);
	struct ares_txt_reply *txt = NULL;
	if (st == 0 && ares_parse_txt_reply(abuf, alen, &txt) == ARES_SUCCESS) {
		for (struct ares_txt_reply *t = txt; t != NULL && n < 16; t = t->next)
			answers[n++] = (const char *)t->txt;
	}
	if (st == 0 && n == 0)
		st = 1;
	q->cb(q->ctx, st, answers, n);
	if (txt != NULL)
		ares_free_data(txt);
	free(q);
}

static void lookup(struct dns *d, const char *name, int type, dns_callback *cb, void *ctx)
{
	struct query *q = xcalloc(1, sizeof(*q));
	q->cb = cb;
	q->ctx = ctx;
	q->type = type;
	ares_query(d->ch, name, 1 /* C_IN */, type, type == 1 ? answer_a : answer_txt, q);
	rearm_timer(d);
}

void dns_lookup_a(struct dns *d, const char *name, dns_callback *cb, void *ctx)
{
	lookup(d, name, 1 /* T_A */, cb, ctx);
}

void dns_lookup_txt(struct dns *d, const char *name, dns_callback *cb, void *ctx)
{
	lookup(d, name, 16 /* T_TXT */, cb, ctx);
}

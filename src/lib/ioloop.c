#include "ioloop-private.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>

struct ioloop {
	struct event_base *base;
};

struct timer {
	struct event *ev;
	timer_cb *cb;
	void *ctx;
	uint64_t ms;
	bool repeat;
};

struct ioloop_signal {
	struct event *ev;
	timer_cb *cb;
	void *ctx;
};

struct io_watch {
	struct event *ev;
	timer_cb *cb;
	void *ctx;
};

struct ioloop *ioloop_create(void)
{
	struct ioloop *l = xcalloc(1, sizeof(*l));
	struct event_config *cfg = event_config_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	l->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (l->base == NULL)
		ombu_panic("event_base_new failed");
	return l;
}

void ioloop_destroy(struct ioloop **lp)
{
	struct ioloop *l = *lp;
	if (l == NULL)
		return;
	*lp = NULL;
	event_base_free(l->base);
	free(l);
}

struct event_base *ioloop_base(struct ioloop *l)
{
	return l->base;
}

void ioloop_run(struct ioloop *l)
{
	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
}

void ioloop_stop(struct ioloop *l)
{
	event_base_loopbreak(l->base);
}

static struct timeval ms_tv(uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct timer *t = arg;
	t->cb(t->ctx);
}

struct timer *timer_add(struct ioloop *l, uint64_t ms, bool repeat, timer_cb *cb, void *ctx)
{
	struct timer *t = xcalloc(1, sizeof(*t));
	t->cb = cb;
	t->ctx = ctx;
	t->ms = ms;
	t->repeat = repeat;
	t->ev = event_new(l->base, -1, repeat ? EV_PERSIST : 0, timer_fire, t);
	struct timeval tv = ms_tv(ms);
	event_add(t->ev, &tv);
	return t;
}

void timer_reset(struct timer *t, uint64_t ms)
{
	struct timeval tv = ms_tv(ms);
	t->ms = ms;
	event_add(t->ev, &tv);
}

void timer_remove(struct timer **tp)
{
	struct timer *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	event_free(t->ev);
	free(t);
}

struct deferred {
	timer_cb *cb;
	void *ctx;
};

static void deferred_fire(evutil_socket_t fd, short what, void *arg)
{
	struct deferred *d = arg;
	timer_cb *cb = d->cb;
	void *ctx = d->ctx;
	free(d);
	cb(ctx);
}

void ioloop_defer(struct ioloop *l, timer_cb *cb, void *ctx)
{
	struct deferred *d = xmalloc(sizeof(*d));
	d->cb = cb;
	d->ctx = ctx;
	if (event_base_once(l->base, -1, EV_TIMEOUT, deferred_fire, d, NULL) < 0)
		ombu_panic("event_base_once failed");
}

static void signal_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ioloop_signal *s = arg;
	s->cb(s->ctx);
}

struct ioloop_signal *ioloop_signal_add(struct ioloop *l, int signo, timer_cb *cb, void *ctx)
{
	struct ioloop_signal *s = xcalloc(1, sizeof(*s));
	s->cb = cb;
	s->ctx = ctx;
	s->ev = evsignal_new(l->base, signo, signal_fire, s);
	event_add(s->ev, NULL);
	return s;
}

void ioloop_signal_remove(struct ioloop_signal **sp)
{
	struct ioloop_signal *s = *sp;
	if (s == NULL)
		return;
	*sp = NULL;
	event_free(s->ev);
	free(s);
}

static void watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct io_watch *w = arg;
	w->cb(w->ctx);
}

struct io_watch *io_watch_add(struct ioloop *l, int fd, timer_cb *cb, void *ctx)
{
	struct io_watch *w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->ctx = ctx;
	w->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, watch_fire, w);
	event_add(w->ev, NULL);
	return w;
}

void io_watch_remove(struct io_watch **wp)
{
	struct io_watch *w = *wp;
	if (w == NULL)
		return;
	*wp = NULL;
	event_free(w->ev);
	free(w);
}

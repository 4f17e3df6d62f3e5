#include "conn.h"
#include "buf.h"
#include "ioloop-private.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONN_CLOSE_FLUSH_MS 10000

struct conn {
	struct conn *prev, *next; /* all conns of this process */
	struct ioloop *loop;
	struct bufferevent *bev;
	int fd;
	bool owns_fd;        /* plain bev: we close fd; TLS bev closes it */
	bool tls, tls_up;
	bool closing;        /* conn_close() called: flushing */
	bool dead;           /* closed callback has run or is due */
	bool paused;
	bool tls_pending;    /* STARTTLS waiting for output to flush */
	SSL *ssl;
	struct tls_ctx *pending_tls_ctx;
	struct event *kick_ev, *close_ev;
	enum conn_close_reason close_reason;
	const struct conn_handler *h;
	void *ctx;
	size_t input_max, out_lowat;
	uint64_t idle_ms;
	struct net_addr peer, local;
	char peer_ip[48];
	char id[32];
	/* a stream codec (COMPRESS): decoded input waits in `plain` */
	const struct conn_codec *codec;
	void *codec_ctx;
	struct evbuffer *plain;
	bool codec_failed;
};

static struct conn *all_conns;
static size_t n_conns;
static uint64_t next_conn_serial;

static void setup_bev(struct conn *c);
static void finish(struct conn *c, enum conn_close_reason why);

const char *conn_close_reason_str(enum conn_close_reason why)
{
	switch (why) {
	case CONN_CLOSE_LOCAL: return "closed";
	case CONN_CLOSE_EOF: return "disconnected";
	case CONN_CLOSE_ERROR: return "error";
	case CONN_CLOSE_TIMEOUT: return "timeout";
	case CONN_CLOSE_SHUTDOWN: return "shutdown";
	}
	return "?";
}

static void kick_fire(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->dead || c->closing || c->paused || c->h == NULL)
		return;
	if (conn_input_len(c) > 0)
		c->h->input(c, c->ctx);
}

static void close_fire(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	/* Reached when a close was requested from a callback path, or the
	 * flush timed out. */
	finish(c, c->close_reason);
}

struct conn *conn_create(struct ioloop *loop, int fd, const struct net_addr *peer,
			 const struct net_addr *local)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->fd = fd;
	c->owns_fd = true;
	c->peer = *peer;
	c->local = *local;
	net_addr_ip_string(peer, c->peer_ip, sizeof(c->peer_ip));
	snprintf(c->id, sizeof(c->id), "%d.%llu", (int)getpid(),
		 (unsigned long long)++next_conn_serial);
	c->kick_ev = event_new(ioloop_base(loop), -1, 0, kick_fire, c);
	c->close_ev = event_new(ioloop_base(loop), -1, 0, close_fire, c);
	c->bev = bufferevent_socket_new(ioloop_base(loop), fd, 0);
	if (c->bev == NULL)
		ombu_panic("bufferevent_socket_new failed");
	setup_bev(c);
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	n_conns++;
	return c;
}

static void unlink_conn(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	n_conns--;
}

static void conn_free(struct conn *c)
{
	unlink_conn(c);
	if (c->codec != NULL && c->codec->free != NULL)
		c->codec->free(c->codec_ctx);
	if (c->plain != NULL)
		evbuffer_free(c->plain);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->owns_fd && c->fd >= 0)
		close(c->fd);
	event_free(c->kick_ev);
	event_free(c->close_ev);
	free(c);
}

/* Runs the closed callback once, then frees. */
static void finish(struct conn *c, enum conn_close_reason why)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->h != NULL && c->h->closed != NULL)
		c->h->closed(c, c->ctx, why);
	conn_free(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->dead || c->closing || c->paused || c->h == NULL)
		return;
	if (c->codec != NULL && conn_input_len(c) == 0)
		return;
	c->h->input(c, c->ctx);
}

static void swap_to_tls(struct conn *c);

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->dead)
		return;
	if (c->tls_pending) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			swap_to_tls(c);
		return;
	}
	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			finish(c, CONN_CLOSE_LOCAL);
		return;
	}
	if (c->h != NULL && c->h->drained != NULL)
		c->h->drained(c, c->ctx);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (c->dead)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		c->tls_up = true;
		return;
	}
	if (c->closing && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
		finish(c, CONN_CLOSE_LOCAL);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		finish(c, CONN_CLOSE_TIMEOUT);
	} else if (what & BEV_EVENT_EOF) {
		finish(c, CONN_CLOSE_EOF);
	} else if (what & BEV_EVENT_ERROR) {
		if (c->tls) {
			unsigned long e;
			while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
				char msg[200];
				ERR_error_string_n(e, msg, sizeof(msg));
				log_debug("conn.tls_error", "conn=%s ip=%s error=%s", c->id,
					  c->peer_ip, log_str(msg));
			}
		}
		finish(c, CONN_CLOSE_ERROR);
	}
}

static void apply_timeouts(struct conn *c)
{
	if (c->idle_ms == 0) {
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		return;
	}
	struct timeval tv = { (time_t)(c->idle_ms / 1000), (suseconds_t)((c->idle_ms % 1000) * 1000) };
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

static void setup_bev(struct conn *c)
{
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, c->input_max);
	bufferevent_setwatermark(c->bev, EV_WRITE, c->out_lowat, 0);
	apply_timeouts(c);
	if (!c->paused)
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	else
		bufferevent_enable(c->bev, EV_WRITE);
}

void conn_set_handler(struct conn *c, const struct conn_handler *h, void *ctx)
{
	c->h = h;
	c->ctx = ctx;
}

void conn_set_input_max(struct conn *c, size_t max)
{
	c->input_max = max;
	bufferevent_setwatermark(c->bev, EV_READ, 0, max);
}

void conn_set_idle_timeout(struct conn *c, uint64_t ms)
{
	c->idle_ms = ms;
	apply_timeouts(c);
}

void conn_set_output_lowat(struct conn *c, size_t lowat)
{
	c->out_lowat = lowat;
	bufferevent_setwatermark(c->bev, EV_WRITE, lowat, 0);
}

/* Decodes received bytes into `plain` while it holds less than the
 * input bound (a codec may expand its input a thousandfold). */
static void decode_more(struct conn *c)
{
	if (c->codec_failed)
		return;
	struct evbuffer *src = bufferevent_get_input(c->bev);
	size_t limit = c->input_max != 0 ? c->input_max : 65536;
	struct buf tmp;
	buf_init(&tmp, 0);
	while (evbuffer_get_length(c->plain) < limit && evbuffer_get_length(src) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(src, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		buf_reset(&tmp);
		ssize_t used = c->codec->decode(c->codec_ctx, v.iov_base, v.iov_len, &tmp,
						limit - evbuffer_get_length(c->plain));
		if (used < 0) {
			log_debug("conn.codec_error", "conn=%s ip=%s", c->id, c->peer_ip);
			c->codec_failed = true;
			c->close_reason = CONN_CLOSE_ERROR;
			event_active(c->close_ev, EV_TIMEOUT, 0);
			break;
		}
		evbuffer_drain(src, (size_t)used);
		if (tmp.len > 0)
			evbuffer_add(c->plain, tmp.data, tmp.len);
		if (used == 0 && tmp.len == 0)
			break;
	}
	buf_free(&tmp);
}

static struct evbuffer *inbuf(struct conn *c)
{
	if (c->codec == NULL)
		return bufferevent_get_input(c->bev);
	decode_more(c);
	return c->plain;
}

size_t conn_input_len(struct conn *c)
{
	return evbuffer_get_length(inbuf(c));
}

const unsigned char *conn_input_peek(struct conn *c, size_t n)
{
	return evbuffer_pullup(inbuf(c), (ev_ssize_t)n);
}

const unsigned char *conn_input_chunk(struct conn *c, size_t *len_r)
{
	struct evbuffer_iovec v;
	int n = evbuffer_peek(inbuf(c), -1, NULL, &v, 1);
	if (n < 1 || v.iov_len == 0) {
		*len_r = 0;
		return NULL;
	}
	*len_r = v.iov_len;
	return v.iov_base;
}

void conn_input_drain(struct conn *c, size_t n)
{
	evbuffer_drain(c->codec != NULL ? c->plain : bufferevent_get_input(c->bev), n);
}

ssize_t conn_input_line_len(struct conn *c, size_t max)
{
	struct evbuffer *in = inbuf(c);
	size_t len = evbuffer_get_length(in);
	size_t scan = MIN(len, max);
	if (scan == 0)
		return 0;
	struct evbuffer_ptr end;
	evbuffer_ptr_set(in, &end, scan, EVBUFFER_PTR_SET);
	struct evbuffer_ptr p = evbuffer_search_range(in, "\n", 1, NULL, &end);
	if (p.pos >= 0)
		return (ssize_t)p.pos + 1;
	return len >= max ? -1 : 0;
}

void conn_pause(struct conn *c)
{
	if (c->paused || c->dead)
		return;
	c->paused = true;
	if (!c->tls_pending)
		bufferevent_disable(c->bev, EV_READ);
}

void conn_kick(struct conn *c)
{
	if (!c->dead)
		event_active(c->kick_ev, EV_TIMEOUT, 0);
}

void conn_resume(struct conn *c)
{
	if (!c->paused || c->dead)
		return;
	c->paused = false;
	if (!c->closing && !c->tls_pending)
		bufferevent_enable(c->bev, EV_READ);
	conn_kick(c);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->dead || c->closing)
		return;
	if (c->codec == NULL) {
		bufferevent_write(c->bev, data, len);
		return;
	}
	struct buf enc;
	buf_init(&enc, 0);
	if (c->codec->encode(c->codec_ctx, data, len, &enc) < 0) {
		c->close_reason = CONN_CLOSE_ERROR;
		event_active(c->close_ev, EV_TIMEOUT, 0);
	} else if (enc.len > 0) {
		bufferevent_write(c->bev, enc.data, enc.len);
	}
	buf_free(&enc);
}

void conn_write_str(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void conn_vprintf(struct conn *c, const char *fmt, va_list ap)
{
	if (c->dead || c->closing)
		return;
	if (c->codec == NULL) {
		evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
		return;
	}
	struct buf b;
	buf_init(&b, 0);
	buf_vprintf(&b, fmt, ap);
	conn_write(c, b.data, b.len);
	buf_free(&b);
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	conn_vprintf(c, fmt, ap);
	va_end(ap);
}

size_t conn_output_len(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void swap_to_tls(struct conn *c)
{
	struct tls_ctx *tctx = c->pending_tls_ctx;
	c->tls_pending = false;
	c->pending_tls_ctx = NULL;
	SSL *ssl = SSL_new(tls_ctx_ssl_ctx(tctx));
	if (ssl == NULL) {
		log_error("conn.tls_error", "conn=%s error=%s", c->id, log_str(tls_last_error()));
		c->close_reason = CONN_CLOSE_ERROR;
		event_active(c->close_ev, EV_TIMEOUT, 0);
		return;
	}
	/* Whatever a client sent before the handshake is discarded. */
	evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
	bufferevent_free(c->bev);
	c->bev = bufferevent_openssl_socket_new(ioloop_base(c->loop), c->fd, ssl,
						 BUFFEREVENT_SSL_ACCEPTING,
						 BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		ombu_panic("bufferevent_openssl_socket_new failed");
	c->owns_fd = false; /* the TLS bufferevent closes it */
	c->ssl = ssl;
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	setup_bev(c);
}

int conn_set_codec(struct conn *c, const struct conn_codec *codec, void *ctx)
{
	if (c->codec != NULL || c->tls_pending || c->dead)
		return -1;
	c->codec = codec;
	c->codec_ctx = ctx;
	c->plain = evbuffer_new();
	if (c->plain == NULL)
		ombu_panic("evbuffer_new failed");
	return 0;
}

bool conn_has_codec(const struct conn *c)
{
	return c->codec != NULL;
}

int conn_starttls(struct conn *c, struct tls_ctx *ctx)
{
	if (c->tls || c->dead || c->codec != NULL)
		return -1;
	c->tls = true;
	/* Stop reading now: bytes that arrive later belong to the
	 * handshake and must be left in the socket for the TLS layer. */
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
	c->pending_tls_ctx = ctx;
	c->tls_pending = true;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		swap_to_tls(c);
	return 0;
}

bool conn_is_tls(const struct conn *c)
{
	return c->tls;
}

bool conn_tls_established(const struct conn *c)
{
	return c->tls_up;
}

const char *conn_tls_version(const struct conn *c)
{
	return c->ssl != NULL && c->tls_up ? SSL_get_version(c->ssl) : NULL;
}

const char *conn_tls_cipher(const struct conn *c)
{
	return c->ssl != NULL && c->tls_up ? SSL_get_cipher_name(c->ssl) : NULL;
}

int conn_tls_bits(const struct conn *c)
{
	return c->ssl != NULL && c->tls_up ? SSL_get_cipher_bits(c->ssl, NULL) : 0;
}

void conn_close(struct conn *c)
{
	if (c->closing || c->dead)
		return;
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	/* Flush with a bound: a peer that never reads cannot hold us. */
	struct timeval tv = { CONN_CLOSE_FLUSH_MS / 1000, 0 };
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	c->close_reason = CONN_CLOSE_LOCAL;
	if (c->tls_pending || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		/* Nothing to flush: finish from the loop, never from inside
		 * the caller's stack. */
		event_active(c->close_ev, EV_TIMEOUT, 0);
	} else {
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		struct timeval ftv = { CONN_CLOSE_FLUSH_MS / 1000, 0 };
		event_add(c->close_ev, &ftv);
	}
}

bool conn_is_closing(const struct conn *c)
{
	return c->closing || c->dead;
}

const struct net_addr *conn_peer(const struct conn *c)
{
	return &c->peer;
}

const struct net_addr *conn_local(const struct conn *c)
{
	return &c->local;
}

const char *conn_peer_ip(const struct conn *c)
{
	return c->peer_ip;
}

const char *conn_id(const struct conn *c)
{
	return c->id;
}

struct ioloop *conn_loop(const struct conn *c)
{
	return c->loop;
}

size_t conn_count(void)
{
	return n_conns;
}

void conn_close_all(void)
{
	while (all_conns != NULL)
		finish(all_conns, CONN_CLOSE_SHUTDOWN);
}

#include "lmtp-client.h"
#include "lib/buf.h"
#include "lib/net.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/smtp-proto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct lc {
	int fd;
	uint64_t deadline_us;
	struct pool *pool;
	struct smtp_reply_parser *parser;
	unsigned char in[8192];
	size_t in_len, in_pos;
	char err[256];
};

static int wait_fd(struct lc *c, short events)
{
	uint64_t now = time_monotonic_us();
	if (now >= c->deadline_us)
		return -1;
	struct pollfd p = { c->fd, events, 0 };
	int r = poll(&p, 1, (int)((c->deadline_us - now) / 1000) + 1);
	return r > 0 ? 0 : -1;
}

static int send_all(struct lc *c, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_fd(c, POLLOUT) == 0)
				continue;
			snprintf(c->err, sizeof(c->err), "send: %s", errno == EAGAIN ? "timeout" : strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one reply; the code, and its first line's text. */
static int read_reply(struct lc *c, unsigned *code_r, char *text, size_t tsize)
{
	for (;;) {
		if (c->in_pos < c->in_len) {
			size_t used;
			struct smtp_reply *r;
			const char *e;
			int pr = smtp_reply_parser_feed(c->parser, c->pool, c->in + c->in_pos,
							c->in_len - c->in_pos, &used, &r, &e);
			c->in_pos += used;
			if (pr < 0) {
				snprintf(c->err, sizeof(c->err), "bad reply from the store: %s", e);
				return -1;
			}
			if (pr == 1) {
				*code_r = r->code;
				if (text != NULL)
					snprintf(text, tsize, "%s%s%s", r->enhanced != NULL ? r->enhanced : "",
						 r->enhanced != NULL ? " " : "", r->n_lines > 0 ? r->lines[0] : "");
				return 0;
			}
		}
		c->in_pos = c->in_len = 0;
		if (wait_fd(c, POLLIN) < 0) {
			snprintf(c->err, sizeof(c->err), "timeout waiting for the store");
			return -1;
		}
		ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n <= 0) {
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			snprintf(c->err, sizeof(c->err), "the store closed the connection");
			return -1;
		}
		c->in_len = (size_t)n;
	}
}

static int command(struct lc *c, const char *line, unsigned expect_class, char *text, size_t tsize)
{
	if (send_all(c, line, strlen(line)) < 0)
		return -1;
	unsigned code;
	if (read_reply(c, &code, text, tsize) < 0)
		return -1;
	if (code / 100 != expect_class) {
		snprintf(c->err, sizeof(c->err), "the store answered %u to %.*s", code,
			 (int)strcspn(line, "\r"), line);
		return (int)code;
	}
	return 0;
}

static int connect_to(struct lc *c, const char *address)
{
	struct net_addr a;
	const char *e;
	if (net_addr_parse(address, &a, &e) < 0) {
		snprintf(c->err, sizeof(c->err), "bad store address %s: %s", address, e);
		return -1;
	}
	c->fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(c->err, sizeof(c->err), "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&a.ss, a.len) < 0 && errno != EINPROGRESS) {
		snprintf(c->err, sizeof(c->err), "connect to %s: %s", address, strerror(errno));
		return -1;
	}
	if (wait_fd(c, POLLOUT) < 0) {
		snprintf(c->err, sizeof(c->err), "connect to %s: timeout", address);
		return -1;
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr != 0) {
		snprintf(c->err, sizeof(c->err), "connect to %s: %s", address, strerror(soerr));
		return -1;
	}
	return 0;
}

static int send_data(struct lc *c, const unsigned char *msg, size_t len)
{
	/* dot-stuffing, streamed in slices */
	struct buf out;
	buf_init(&out, 0);
	bool bol = true;
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i++) {
		if (bol && msg[i] == '.')
			buf_append_c(&out, '.');
		buf_append_c(&out, (char)msg[i]);
		bol = msg[i] == '\n';
		if (out.len >= 65536) {
			r = send_all(c, out.data, out.len);
			buf_reset(&out);
		}
	}
	if (r == 0 && !bol)
		buf_append_str(&out, "\r\n");
	if (r == 0) {
		buf_append_str(&out, ".\r\n");
		r = send_all(c, out.data, out.len);
	}
	buf_free(&out);
	return r;
}

int lmtp_client_deliver(const char *address, uint64_t timeout_ms, const char *helo,
			const char *sender, const char *const *rcpts, size_t n,
			const void *msg, size_t len, struct lmtp_client_result *res,
			const char **error_r)
{
	static __thread char errbuf[256];
	struct lc c = { .fd = -1 };
	c.deadline_us = time_monotonic_us() + timeout_ms * 1000;
	c.pool = pool_create("lmtp-client", 1024);
	c.parser = smtp_reply_parser_create(c.pool, NULL);
	int ret = -1;
	char line[1100], text[256];
	unsigned code;
	for (size_t i = 0; i < n; i++) {
		res[i].code = 0;
		res[i].text[0] = '\0';
	}
	if (connect_to(&c, address) < 0 || read_reply(&c, &code, NULL, 0) < 0)
		goto out;
	if (code != 220) {
		snprintf(c.err, sizeof(c.err), "the store greeted with %u", code);
		goto out;
	}
	snprintf(line, sizeof(line), "LHLO %s\r\n", helo);
	if (command(&c, line, 2, NULL, 0) != 0)
		goto out;
	snprintf(line, sizeof(line), "MAIL FROM:<%s>\r\n", sender);
	if (command(&c, line, 2, NULL, 0) != 0)
		goto out;
	size_t accepted = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpts[i]);
		int r = command(&c, line, 2, text, sizeof(text));
		if (r < 0)
			goto out;
		if (r > 0) {
			res[i].code = (unsigned)r;
			str_copy(res[i].text, text, sizeof(res[i].text));
		} else {
			accepted++;
		}
	}
	if (accepted > 0) {
		if (command(&c, "DATA\r\n", 3, NULL, 0) != 0 || send_data(&c, msg, len) < 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			if (res[i].code != 0)
				continue;
			/* the store dying mid-answer leaves the rest unknown (code
			 * 0): the caller retries them, at worst a duplicate */
			if (read_reply(&c, &res[i].code, res[i].text, sizeof(res[i].text)) < 0)
				goto out;
		}
	}
	send_all(&c, "QUIT\r\n", 6);
	ret = 0;
out:
	if (ret < 0) {
		str_copy(errbuf, c.err[0] != '\0' ? c.err : "LMTP failure", sizeof(errbuf));
		*error_r = errbuf;
	}
	if (c.fd >= 0)
		close(c.fd);
	pool_destroy(&c.pool);
	return ret;
}

#ifndef OMBU_CONN_H
#define OMBU_CONN_H

/*
 * The thin io layer between servers and libevent: one `struct conn` per
 * client connection, plaintext or TLS.  Implicit TLS (993, 465) and
 * STARTTLS use the same object: the listener starts TLS before the
 * server sees the connection, STARTTLS starts it later, and from then on
 * the server reads and writes cleartext either way.
 *
 * Ownership: the server that accepted a conn owns it until the `closed`
 * callback, which is called exactly once (peer EOF, error, timeout, or
 * after conn_close() has flushed the output).  The conn is freed right
 * after `closed` returns; the server must drop its pointer there.
 *
 * Callbacks are never called from inside a conn_* call made by the
 * server (no reentrancy); they come from the loop.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net.h"

struct buf;

struct conn;
struct ioloop;
struct tls_ctx;

enum conn_close_reason {
	CONN_CLOSE_LOCAL,    /* conn_close() finished */
	CONN_CLOSE_EOF,      /* the peer closed */
	CONN_CLOSE_ERROR,    /* socket or TLS error */
	CONN_CLOSE_TIMEOUT,  /* idle longer than the timeout */
	CONN_CLOSE_SHUTDOWN, /* the worker is stopping */
};

struct conn_handler {
	/* New input is available (or conn_kick() was called). */
	void (*input)(struct conn *c, void *ctx);
	/* Output fell to or below the low-water mark set with
	 * conn_set_output_lowat(); optional. */
	void (*drained)(struct conn *c, void *ctx);
	void (*closed)(struct conn *c, void *ctx, enum conn_close_reason why);
};

const char *conn_close_reason_str(enum conn_close_reason why);

/* Creates a connection on an accepted socket; takes the fd. */
struct conn *conn_create(struct ioloop *loop, int fd, const struct net_addr *peer,
			 const struct net_addr *local);
void conn_set_handler(struct conn *c, const struct conn_handler *h, void *ctx);

/* Bounds the input buffer: reading stops when it holds max bytes, so a
 * line protocol sees "no LF within max" and refuses it. */
void conn_set_input_max(struct conn *c, size_t max);
/* Closes with CONN_CLOSE_TIMEOUT after ms without input (0 = never). */
void conn_set_idle_timeout(struct conn *c, uint64_t ms);
void conn_set_output_lowat(struct conn *c, size_t lowat);

/* --- input --- */
size_t conn_input_len(struct conn *c);
/* Makes the first n bytes contiguous and returns them (n <= len). */
const unsigned char *conn_input_peek(struct conn *c, size_t n);
/* The first contiguous chunk, without copying; *len_r = 0 when empty. */
const unsigned char *conn_input_chunk(struct conn *c, size_t *len_r);
void conn_input_drain(struct conn *c, size_t n);
/* Finds the first LF within the first `max` bytes: returns the length
 * of the line including the LF, 0 when there is none yet (fewer than
 * max bytes buffered), or -1 when max bytes hold no LF. */
ssize_t conn_input_line_len(struct conn *c, size_t max);
/* Stops / restarts reading from the socket; resume re-delivers input
 * that is already buffered. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Calls the input callback soon if input is buffered. */
void conn_kick(struct conn *c);

/* --- output --- */
void conn_write(struct conn *c, const void *data, size_t len);
void conn_write_str(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conn_vprintf(struct conn *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
size_t conn_output_len(struct conn *c);

/* --- TLS --- */
/* Starts TLS as the server.  Input already buffered is discarded (a
 * client that pipelined commands after STARTTLS tried to inject them:
 * RFC 3207 section 4.2) and reading stops until output written before
 * this call is flushed in clear.  Returns -1 when already under TLS. */
int conn_starttls(struct conn *c, struct tls_ctx *ctx);
bool conn_is_tls(const struct conn *c);
/* True once the handshake has completed. */
bool conn_tls_established(const struct conn *c);
/* "TLSv1.3", "TLS_AES_256_GCM_SHA384", bits; NULL/0 before the handshake. */
const char *conn_tls_version(const struct conn *c);
const char *conn_tls_cipher(const struct conn *c);
int conn_tls_bits(const struct conn *c);

/* --- stream codecs (COMPRESS=DEFLATE, RFC 4978) --- */
/* A transformation of both directions of the byte stream, installed once
 * and kept until the connection ends.  The codec itself (zlib for IMAP
 * COMPRESS) lives with the protocol that uses it, so this layer needs no
 * compression library. */
struct conn_codec {
	/* Encodes data written by the server, appending to out, and flushes
	 * so that the peer can decode all of it.  -1 on failure. */
	int (*encode)(void *ctx, const void *data, size_t len, struct buf *out);
	/* Decodes received bytes: uses some of in (returns how many, -1 on
	 * failure) and appends at most `room` decoded bytes to out. */
	ssize_t (*decode)(void *ctx, const void *in, size_t len, struct buf *out, size_t room);
	void (*free)(void *ctx);
};
/* From now on output written is encoded (what was written before goes
 * out as it was) and input is decoded as the server reads it, at most
 * conn_set_input_max() bytes (64 KiB when unset) ahead, so that a small
 * input cannot expand into a big buffer.  Takes ctx (freed with
 * codec->free).  -1 when a codec is installed already or STARTTLS is in
 * progress; STARTTLS is refused afterwards. */
int conn_set_codec(struct conn *c, const struct conn_codec *codec, void *ctx);
bool conn_has_codec(const struct conn *c);

/* --- closing --- */
/* Stops reading, flushes output (bounded by 10 s), then closes and calls
 * `closed` with CONN_CLOSE_LOCAL.  Idempotent. */
void conn_close(struct conn *c);
bool conn_is_closing(const struct conn *c);

/* --- identity --- */
const struct net_addr *conn_peer(const struct conn *c);
const struct net_addr *conn_local(const struct conn *c);
/* The peer's IP as text. */
const char *conn_peer_ip(const struct conn *c);
/* A short id unique within this machine for logs ("4242.17"). */
const char *conn_id(const struct conn *c);
struct ioloop *conn_loop(const struct conn *c);

/* Every live connection of this process; used for graceful shutdown. */
size_t conn_count(void);
/* Closes every connection immediately with CONN_CLOSE_SHUTDOWN. */
void conn_close_all(void);

#endif

/* COMPRESS=DEFLATE (RFC 4978): raw deflate both ways, plugged into the
 * connection as a codec.  Our window is 8 KiB (memLevel 6: about 64 KiB
 * of zlib state instead of 256 KiB) since any deflate decoder reads a
 * smaller window; the client's stream may use the full 32 KiB one. */

#include "imap-private.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/util.h"

#include <stdlib.h>
#include <zlib.h>

struct zcodec {
	z_stream in, out;
};

static int z_encode(void *ctx, const void *data, size_t len, struct buf *out)
{
	struct zcodec *z = ctx;
	z->out.next_in = (Bytef *)data;
	z->out.avail_in = (uInt)len;
	for (;;) {
		if (buf_reserve(out, 16384 + len / 4) < 0)
			return -1;
		size_t room = out->cap - out->len - 1;
		z->out.next_out = (Bytef *)out->data + out->len;
		z->out.avail_out = (uInt)room;
		int r = deflate(&z->out, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return -1;
		out->len += room - z->out.avail_out;
		out->data[out->len] = '\0';
		if (z->out.avail_in == 0 && z->out.avail_out > 0)
			return 0;
	}
}

static ssize_t z_decode(void *ctx, const void *in, size_t len, struct buf *out, size_t room)
{
	struct zcodec *z = ctx;
	z->in.next_in = (Bytef *)in;
	z->in.avail_in = (uInt)MIN(len, (size_t)UINT32_MAX);
	while (room > 0 && z->in.avail_in > 0) {
		size_t chunk = MIN(room, (size_t)16384);
		if (buf_reserve(out, chunk) < 0)
			return -1;
		z->in.next_out = (Bytef *)out->data + out->len;
		z->in.avail_out = (uInt)chunk;
		int r = inflate(&z->in, Z_SYNC_FLUSH);
		size_t got = chunk - z->in.avail_out;
		out->len += got;
		out->data[out->len] = '\0';
		room -= got;
		if (r == Z_BUF_ERROR)
			break;
		if (r != Z_OK)
			return -1;
		if (got == 0)
			break;
	}
	return (ssize_t)(len - z->in.avail_in);
}

static void z_free(void *ctx)
{
	struct zcodec *z = ctx;
	deflateEnd(&z->out);
	inflateEnd(&z->in);
	free(z);
}

static const struct conn_codec zlib_codec = {
	.encode = z_encode,
	.decode = z_decode,
	.free = z_free,
};

/* After "OK DEFLATE active": everything from here on is compressed. */
static void start_compress(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	struct zcodec *z = xcalloc(1, sizeof(*z));
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -13, 6, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		imap_client_bye(c, "Compression failed.");
		return;
	}
	if (inflateInit2(&z->in, -15) != Z_OK) {
		deflateEnd(&z->out);
		free(z);
		imap_client_bye(c, "Compression failed.");
		return;
	}
	if (conn_set_codec(c->conn, &zlib_codec, z) < 0) {
		z_free(z);
		imap_client_bye(c, "Compression failed.");
		return;
	}
	c->compressed = true;
}

bool imap_cmd_compress(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->count != 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Usage: COMPRESS DEFLATE");
		return true;
	}
	if (!imap_arg_atom_is(&cmd->args[0], "DEFLATE")) {
		imap_cmd_no(cmd, "Unknown compression mechanism.");
		return true;
	}
	if (c->compressed) {
		imap_cmd_no(cmd, "[COMPRESSIONACTIVE] Compression is active already.");
		return true;
	}
	imap_cmd_ok(cmd, "DEFLATE active");
	cmd->after = start_compress;
	return true;
}

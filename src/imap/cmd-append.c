/* APPEND with MULTIAPPEND (RFC 3502), literal8 (BINARY, RFC 3516),
 * UTF8 (RFC 6855), APPENDUID (UIDPLUS) and the owner's quota.  The size
 * limit (APPENDLIMIT) is enforced before the literal is read, in
 * imap-client.c. */

#include "imap-private.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"
#include "proto/sasl.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct append_msg {
	uint32_t flags;
	const char *keywords;
	time_t date;
	const char *data;
	size_t len;
	bool literal8;
};

/* --- binary parts to base64 (RFC 3516 4.4: the server converts) --- */

static bool part_needs_base64(const struct mime_part *p, const char *msg)
{
	if (p->children != NULL)
		return false;
	if (p->encoding == MIME_ENCODING_BINARY)
		return true;
	return memchr(msg + p->body_offset, 0, (size_t)p->body_size) != NULL;
}

char *imap_binary_to_base64(struct pool *pool, const char *msg, size_t len, size_t *len_r)
{
	struct mime_part *root = mime_parse(pool, msg, len, NULL);
	bool any = false;
	for (struct mime_part *p = root; p != NULL; p = mime_part_next(root, p))
		any = any || part_needs_base64(p, msg);
	if (!any)
		return NULL;
	struct buf out;
	buf_init_pool(&out, pool, 0);
	size_t pos = 0;
	for (struct mime_part *p = root; p != NULL; p = mime_part_next(root, p)) {
		if (!part_needs_base64(p, msg))
			continue;
		/* the header without its Content-Transfer-Encoding, then ours */
		buf_append(&out, msg + pos, (size_t)p->header_offset - pos);
		uint64_t hend = p->header_offset + p->header_size;
		uint64_t cur = p->header_offset;
		for (unsigned int i = 0; i < p->fields_count; i++) {
			const struct mime_field *f = &p->fields[i];
			if (f->offset < cur)
				continue;
			if (str_eq_icase(f->name, "Content-Transfer-Encoding")) {
				buf_append(&out, msg + cur, (size_t)(f->offset - cur));
				cur = f->offset + f->size;
			}
		}
		/* up to the blank line */
		uint64_t blank = hend;
		if (blank >= 2 && msg[blank - 1] == '\n' && msg[blank - 2] == '\r')
			blank -= 2;
		else if (blank >= 1 && msg[blank - 1] == '\n')
			blank -= 1;
		if (blank < cur)
			blank = cur;
		buf_append(&out, msg + cur, (size_t)(blank - cur));
		buf_append_str(&out, "Content-Transfer-Encoding: base64\r\n\r\n");
		const char *body = msg + p->body_offset;
		for (uint64_t off = 0; off < p->body_size; off += 57) {
			size_t n = (size_t)MIN((uint64_t)57, p->body_size - off);
			sasl_base64_encode(&out, body + off, n);
			buf_append_str(&out, "\r\n");
		}
		pos = (size_t)(p->body_offset + p->body_size);
	}
	buf_append(&out, msg + pos, len - pos);
	*len_r = out.len;
	return out.data;
}

/* Line ends to CRLF: the store keeps the wire form. */
static const char *crlf(struct pool *pool, const char *data, size_t len, size_t *len_r)
{
	size_t bare = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			bare++;
	}
	if (bare == 0) {
		*len_r = len;
		return data;
	}
	char *out = pool_alloc_nz(pool, len + bare + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = data[i];
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

/* --- parsing --- */

static int parse_messages(struct imap_cmd *cmd, struct append_msg **msgs_r, size_t *n_r)
{
	size_t n = 0, cap = 4;
	struct append_msg *m = pool_alloc(cmd->pool, cap * sizeof(*m));
	unsigned int i = 1;
	while (i < cmd->count) {
		if (n == cap) {
			m = pool_realloc(cmd->pool, m, cap * sizeof(*m), cap * 2 * sizeof(*m));
			cap *= 2;
		}
		struct append_msg *x = &m[n];
		memset(x, 0, sizeof(*x));
		if (cmd->args[i].type == IMAP_ARG_LIST) {
			if (imap_flags_parse(cmd, &cmd->args[i], true, &x->flags, &x->keywords) < 0)
				return -1;
			i++;
		}
		if (i < cmd->count && cmd->args[i].type == IMAP_ARG_STRING) {
			int tz;
			if (imap_datetime_parse(cmd->args[i].str, &x->date, &tz) < 0) {
				imap_cmd_bad(cmd, "Invalid date-time.");
				return -1;
			}
			i++;
		}
		const struct imap_arg *lit = i < cmd->count ? &cmd->args[i] : NULL;
		if (lit != NULL && imap_arg_atom_is(lit, "UTF8") && i + 1 < cmd->count &&
		    cmd->args[i + 1].type == IMAP_ARG_LIST && cmd->args[i + 1].count == 1) {
			i++;
			lit = &cmd->args[i].list[0];
		}
		if (lit == NULL || lit->type != IMAP_ARG_LITERAL) {
			imap_cmd_bad(cmd, "Usage: APPEND mailbox [(flags)] [date-time] {literal}");
			return -1;
		}
		x->data = lit->str;
		x->len = lit->len;
		x->literal8 = lit->literal8;
		i++;
		n++;
	}
	if (n == 0) {
		imap_cmd_bad(cmd, "Usage: APPEND mailbox [(flags)] [date-time] {literal}");
		return -1;
	}
	*msgs_r = m;
	*n_r = n;
	return 0;
}

/* --- storing --- */

static int store_one(struct imap_cmd *cmd, struct mailbox *mb, const char *folder,
		     struct append_msg *x, uint32_t *uid_r, const char **error_r)
{
	struct imap_client *c = cmd->client;
	const char *data = x->data;
	size_t len = x->len;
	if (memchr(data, 0, len) != NULL) {
		if (!x->literal8) {
			*error_r = "NUL";
			return STORE_INVALID;
		}
	}
	if (x->literal8) {
		size_t nlen;
		char *conv = imap_binary_to_base64(cmd->pool, data, len, &nlen);
		if (conv != NULL) {
			data = conv;
			len = nlen;
		}
	}
	data = crlf(cmd->pool, data, len, &len);
	struct store_blob blob;
	int r = store_blob_put(c->srv->st, data, len, &blob, error_r);
	if (r != STORE_OK)
		return r;
	struct store_append a = {
		.folder = folder,
		.internal_date = x->date,
		.flags = x->flags,
		.keywords = x->keywords,
		.quota = c->quota,
	};
	store_cache_compute(cmd->pool, data, len, &a.cache);
	return mailbox_append(mb, &blob, &a, uid_r, error_r);
}

bool imap_cmd_append(struct imap_cmd *cmd)
{
	const char *wire;
	if (cmd->count < 2 || !imap_arg_astring(&cmd->args[0], &wire)) {
		imap_cmd_bad(cmd, "Usage: APPEND mailbox [(flags)] [date-time] {literal}");
		return true;
	}
	struct append_msg *msgs;
	size_t n;
	if (parse_messages(cmd, &msgs, &n) < 0)
		return true;
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return true;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	struct store_folder f;
	const char *err = NULL;
	int r = mailbox_folder_get(mb, cmd->pool, name, &f, &err);
	if (r == STORE_NOTFOUND) {
		imap_cmd_no(cmd, "[TRYCREATE] Mailbox doesn't exist.");
		return true;
	}
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	uint32_t *uids = pool_alloc(cmd->pool, n * sizeof(*uids));
	size_t done = 0;
	for (; done < n; done++) {
		r = store_one(cmd, mb, f.name, &msgs[done], &uids[done], &err);
		if (r != STORE_OK)
			break;
	}
	if (r != STORE_OK) {
		/* MULTIAPPEND is all or nothing: take back what went in */
		if (done > 0) {
			const char *e2;
			mailbox_expunge(mb, f.id, uids, done, &e2);
		}
		if (r == STORE_INVALID)
			imap_cmd_no(cmd, "Invalid message: it holds NUL bytes (send them in a literal8).");
		else if (r == STORE_NOTFOUND)
			imap_cmd_no(cmd, "[TRYCREATE] Mailbox doesn't exist.");
		else
			imap_cmd_store_error(cmd, r, err);
		return true;
	}
	struct buf set;
	buf_init_pool(&set, cmd->pool, 0);
	imap_numbers_write(&set, uids, n);
	imap_cmd_ok(cmd, "[APPENDUID %u %s] Append completed.", f.uidvalidity, buf_cstr(&set));
	return true;
}

/*
 * FETCH and UID FETCH: every RFC 3501/9051 item, BINARY (RFC 3516),
 * MODSEQ and CHANGEDSINCE/VANISHED (RFC 7162).
 *
 * ENVELOPE, BODY, BODYSTRUCTURE and the usual header fields come from the
 * index row (cached at delivery), so listing a folder never decompresses
 * a body.  The answer is produced in parts of about 256 KiB: a part is
 * written to the client, and the next one is made once the connection's
 * output has drained, so a FETCH 1:* of a big folder holds little
 * memory.
 */

#include "imap-private.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define FETCH_PART_BYTES (256 * 1024)
#define FETCH_BATCH 250

enum fetch_kind {
	F_FLAGS,
	F_UID,
	F_INTERNALDATE,
	F_SIZE,
	F_ENVELOPE,
	F_BODY,
	F_BODYSTRUCTURE,
	F_MODSEQ,
	F_SECTION,      /* BODY[...], BINARY[...], RFC822, RFC822.HEADER/TEXT */
	F_BINARY_SIZE,
};

struct fetch_item {
	enum fetch_kind kind;
	bool peek, binary;
	const char *section;      /* inside the brackets */
	const char *name;         /* as the response names it */
	bool partial;
	uint64_t origin, count;
	const char *const *fields; /* HEADER.FIELDS, to answer from the cache */
	bool cached_fields;
};

struct fetch_ctx {
	struct fetch_item *items;
	unsigned int n_items;
	bool need_cache;          /* ENVELOPE, BODY[STRUCTURE], cached header fields */
	bool need_body, set_seen, has_modseq;
	uint64_t changedsince;
	bool changedsince_set, vanished;
	uint32_t *uids;
	size_t n_uids, pos, missing;
	bool started;
	struct buf msg;           /* the message being answered (malloc'd) */
};

/* --- parsing --- */

static struct fetch_item *add_item(struct imap_cmd *cmd, struct fetch_ctx *fc, enum fetch_kind k)
{
	if (fc->n_items % 8 == 0)
		fc->items = pool_realloc(cmd->pool, fc->items, fc->n_items * sizeof(*fc->items),
					 (fc->n_items + 8) * sizeof(*fc->items));
	struct fetch_item *it = &fc->items[fc->n_items++];
	memset(it, 0, sizeof(*it));
	it->kind = k;
	return it;
}

static bool has_item(const struct fetch_ctx *fc, enum fetch_kind k)
{
	for (unsigned int i = 0; i < fc->n_items; i++) {
		if (fc->items[i].kind == k)
			return true;
	}
	return false;
}

/* "BODY.PEEK[1.HEADER]<0.100>" and friends */
static int parse_section_item(struct imap_cmd *cmd, struct fetch_ctx *fc, const char *atom)
{
	const char *lb = strchr(atom, '[');
	const char *rb = strrchr(atom, ']');
	if (lb == NULL || rb == NULL || rb < lb)
		return -1;
	size_t nlen = (size_t)(lb - atom);
	struct fetch_item *it;
	if (nlen == 4 && strncasecmp(atom, "BODY", 4) == 0) {
		it = add_item(cmd, fc, F_SECTION);
	} else if (nlen == 9 && strncasecmp(atom, "BODY.PEEK", 9) == 0) {
		it = add_item(cmd, fc, F_SECTION);
		it->peek = true;
	} else if (nlen == 6 && strncasecmp(atom, "BINARY", 6) == 0) {
		it = add_item(cmd, fc, F_SECTION);
		it->binary = true;
	} else if (nlen == 11 && strncasecmp(atom, "BINARY.PEEK", 11) == 0) {
		it = add_item(cmd, fc, F_SECTION);
		it->binary = it->peek = true;
	} else if (nlen == 11 && strncasecmp(atom, "BINARY.SIZE", 11) == 0) {
		it = add_item(cmd, fc, F_BINARY_SIZE);
		it->binary = it->peek = true;
	} else {
		return -1;
	}
	char *sec = pool_strndup(cmd->pool, lb + 1, (size_t)(rb - lb - 1));
	str_ucase(sec);
	it->section = sec;
	const char *rest = rb + 1;
	if (*rest == '<' && it->kind == F_SECTION) {
		const char *dot = strchr(rest, '.');
		const char *gt = strchr(rest, '>');
		if (dot == NULL || gt == NULL || dot > gt || gt[1] != '\0' ||
		    num_parse_u64n(rest + 1, (size_t)(dot - rest - 1), &it->origin) < 0 ||
		    num_parse_u64n(dot + 1, (size_t)(gt - dot - 1), &it->count) < 0 || it->count == 0)
			return -1;
		it->partial = true;
	} else if (*rest != '\0') {
		return -1;
	}
	/* the section's syntax, checked on no message at all */
	struct mime_section ms;
	const char *err;
	if (it->binary) {
		for (const char *p = sec; *p != '\0'; p++) {
			if (!((*p >= '0' && *p <= '9') || *p == '.'))
				return -1;
		}
	}
	if (mime_imap_section(cmd->pool, NULL, sec, &ms, &err) < 0)
		return -1;
	if (ms.kind == MIME_SECTION_HEADER_FIELDS && sec[0] >= 'A' && ms.fields != NULL) {
		it->fields = ms.fields;
		it->cached_fields = true;
		for (unsigned int i = 0; ms.fields[i] != NULL; i++)
			it->cached_fields = it->cached_fields && store_cache_has_field(ms.fields[i]);
	}
	const char *base = it->kind == F_BINARY_SIZE ? "BINARY.SIZE" : it->binary ? "BINARY" : "BODY";
	it->name = it->partial ? pool_printf(cmd->pool, "%s[%s]<%llu>", base, sec,
					     (unsigned long long)it->origin)
			       : pool_printf(cmd->pool, "%s[%s]", base, sec);
	if (!it->cached_fields)
		fc->need_body = true;
	else
		fc->need_cache = true;
	if (!it->peek)
		fc->set_seen = true;
	return 0;
}

static int parse_item(struct imap_cmd *cmd, struct fetch_ctx *fc, const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	const char *s = a->str;
	if (strchr(s, '[') != NULL)
		return parse_section_item(cmd, fc, s);
	static const struct {
		const char *name;
		enum fetch_kind kind;
	} simple[] = {
		{ "FLAGS", F_FLAGS }, { "UID", F_UID }, { "INTERNALDATE", F_INTERNALDATE },
		{ "RFC822.SIZE", F_SIZE }, { "ENVELOPE", F_ENVELOPE }, { "BODY", F_BODY },
		{ "BODYSTRUCTURE", F_BODYSTRUCTURE }, { "MODSEQ", F_MODSEQ },
	};
	for (size_t i = 0; i < N_ELEMENTS(simple); i++) {
		if (str_eq_icase(s, simple[i].name)) {
			add_item(cmd, fc, simple[i].kind);
			if (simple[i].kind == F_ENVELOPE || simple[i].kind == F_BODY ||
			    simple[i].kind == F_BODYSTRUCTURE)
				fc->need_cache = true;
			if (simple[i].kind == F_MODSEQ) {
				fc->has_modseq = true;
				imap_condstore_enable(cmd);
			}
			return 0;
		}
	}
	/* RFC822, RFC822.HEADER, RFC822.TEXT: BODY[], BODY.PEEK[HEADER], BODY[TEXT] */
	const char *sec = NULL, *name = NULL;
	bool peek = false;
	if (str_eq_icase(s, "RFC822")) {
		sec = "";
		name = "RFC822";
	} else if (str_eq_icase(s, "RFC822.HEADER")) {
		sec = "HEADER";
		name = "RFC822.HEADER";
		peek = true;
	} else if (str_eq_icase(s, "RFC822.TEXT")) {
		sec = "TEXT";
		name = "RFC822.TEXT";
	}
	if (sec != NULL) {
		struct fetch_item *it = add_item(cmd, fc, F_SECTION);
		it->section = sec;
		it->name = name;
		it->peek = peek;
		fc->need_body = true;
		fc->set_seen = fc->set_seen || !peek;
		return 0;
	}
	return -1;
}

static int add_macro(struct imap_cmd *cmd, struct fetch_ctx *fc, const char *m)
{
	static const char *const all[] = { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", NULL };
	static const char *const fast[] = { "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL };
	static const char *const full[] = { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", NULL };
	const char *const *list = str_eq_icase(m, "ALL") ? all : str_eq_icase(m, "FAST") ? fast
		: str_eq_icase(m, "FULL") ? full : NULL;
	if (list == NULL)
		return 0;
	for (; *list != NULL; list++) {
		struct imap_arg a = { .type = IMAP_ARG_ATOM, .str = *list, .len = strlen(*list) };
		parse_item(cmd, fc, &a);
	}
	return 1;
}

static int parse_modifiers(struct imap_cmd *cmd, struct fetch_ctx *fc, const struct imap_arg *l)
{
	for (unsigned int i = 0; i < l->count; i++) {
		const struct imap_arg *a = &l->list[i];
		if (imap_arg_atom_is(a, "CHANGEDSINCE") && i + 1 < l->count &&
		    l->list[i + 1].type == IMAP_ARG_ATOM &&
		    num_parse_u64(l->list[i + 1].str, &fc->changedsince) == 0) {
			fc->changedsince_set = true;
			imap_condstore_enable(cmd);
			i++;
		} else if (imap_arg_atom_is(a, "VANISHED") && cmd->uid && cmd->client->qresync) {
			fc->vanished = true;
		} else {
			imap_cmd_bad(cmd, "Invalid FETCH modifier.");
			return -1;
		}
	}
	if (fc->vanished && !fc->changedsince_set) {
		imap_cmd_bad(cmd, "VANISHED needs CHANGEDSINCE.");
		return -1;
	}
	return 0;
}

static struct fetch_ctx *fetch_parse(struct imap_cmd *cmd)
{
	if (cmd->count < 2 || cmd->count > 3 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->count == 3 && cmd->args[2].type != IMAP_ARG_LIST)) {
		imap_cmd_bad(cmd, "Usage: FETCH set items [(modifiers)]");
		return NULL;
	}
	struct fetch_ctx *fc = pool_alloc(cmd->pool, sizeof(*fc));
	const struct imap_arg *items = &cmd->args[1];
	int ok = 0;
	if (items->type == IMAP_ARG_LIST) {
		for (unsigned int i = 0; i < items->count && ok == 0; i++)
			ok = parse_item(cmd, fc, &items->list[i]);
		if (items->count == 0)
			ok = -1;
	} else if (add_macro(cmd, fc, items->str) == 0) {
		ok = parse_item(cmd, fc, items);
	}
	if (ok < 0) {
		imap_cmd_bad(cmd, "Invalid FETCH item.");
		return NULL;
	}
	if (cmd->count == 3 && parse_modifiers(cmd, fc, &cmd->args[2]) < 0)
		return NULL;
	/* UID FETCH answers with UIDs, and so does every FETCH once QRESYNC
	 * is on (RFC 7162 3.2.4) */
	if ((cmd->uid || cmd->client->qresync) && !has_item(fc, F_UID))
		add_item(cmd, fc, F_UID);
	if (fc->changedsince_set && !fc->has_modseq) {
		add_item(cmd, fc, F_MODSEQ);
		fc->has_modseq = true;
	}
	if (cmd->client->view->readonly)
		fc->set_seen = false;
	buf_init(&fc->msg, 0);
	return fc;
}

/* --- answering --- */

struct batch {
	struct imap_cmd *cmd;
	struct fetch_ctx *fc;
	struct mailbox *mb;
	struct pool *pool;
	const uint32_t *uids;
	size_t n, next;
	const struct store_flags_result *seen; /* \Seen set by this FETCH, per uid */
	size_t n_seen;
};

static const struct store_flags_result *seen_change(const struct batch *b, uint32_t uid)
{
	for (size_t i = 0; i < b->n_seen; i++) {
		if (b->seen[i].uid == uid && b->seen[i].status == STORE_FLAGS_CHANGED)
			return &b->seen[i];
	}
	return NULL;
}

/* The message text, read once per message. */
static int load_body(struct batch *b, const struct store_message *m, bool *loaded)
{
	if (*loaded)
		return 0;
	buf_reset(&b->fc->msg);
	const char *err;
	if (mailbox_message_read(b->mb, m, &b->fc->msg, &err) != STORE_OK) {
		log_error("imap.fetch_read", "user=%s uid=%u error=%s", log_str(b->cmd->client->user),
			  m->uid, log_str(err));
		return -1;
	}
	*loaded = true;
	return 0;
}

static void write_section(struct batch *b, const struct fetch_item *it, const struct store_message *m,
			  struct mime_part **root, bool *loaded, struct buf *out)
{
	struct buf data;
	buf_init_pool(&data, b->pool, 0);
	bool lit8 = false;
	/* what is sent: data, or the whole message itself (BODY[], the
	   most fetched section, is not copied) */
	const char *src = NULL;
	size_t srclen = 0;
	if (it->cached_fields && m->cache.headers != NULL) {
		mime_imap_header_fields(&data, m->cache.headers, strlen(m->cache.headers), it->fields, false);
	} else {
		if (load_body(b, m, loaded) < 0) {
			buf_printf(out, "%s NIL", it->name);
			return;
		}
		const char *msg = b->fc->msg.data;
		size_t len = b->fc->msg.len;
		if (it->section[0] == '\0') {
			src = msg;
			srclen = len;
		} else {
			if (*root == NULL)
				*root = mime_parse(b->pool, msg, len, NULL);
			struct mime_section ms;
			const char *err;
			if (mime_imap_section(b->pool, *root, it->section, &ms, &err) == 1) {
				if (it->binary && ms.part != NULL && ms.part->children == NULL &&
				    ms.kind == MIME_SECTION_BODY) {
					mime_part_decode(ms.part, msg, len, &data);
					lit8 = memchr(data.data != NULL ? data.data : "", 0, data.len) != NULL;
				} else {
					mime_imap_section_data(&data, &ms, msg, len);
				}
			}
		}
	}
	if (src == NULL) {
		src = data.data != NULL ? data.data : "";
		srclen = data.len;
	}
	if (it->kind == F_BINARY_SIZE) {
		buf_printf(out, "%s %zu", it->name, srclen);
		return;
	}
	uint64_t off = 0, n = srclen;
	if (it->partial)
		mime_imap_partial(srclen, it->origin, it->count, &off, &n);
	buf_printf(out, "%s ", it->name);
	if (n == 0 && !lit8)
		buf_append_str(out, "\"\"");
	else
		imap_write_literal(out, src + off, (size_t)n, lit8);
}

static void write_structure(struct batch *b, const char *cached, const struct store_message *m,
			    bool *loaded, struct mime_part **root, unsigned int which, struct buf *out)
{
	if (cached != NULL) {
		buf_append_str(out, cached);
		return;
	}
	/* no cache in the row: compute it from the message */
	if (load_body(b, m, loaded) < 0) {
		buf_append_str(out, "NIL");
		return;
	}
	if (*root == NULL)
		*root = mime_parse(b->pool, b->fc->msg.data, b->fc->msg.len, NULL);
	if (which == 0)
		mime_imap_envelope(out, *root);
	else
		mime_imap_bodystructure(out, *root, which == 2 ? MIME_IMAP_EXTENDED : 0);
}

static int fetch_one(const struct store_message *m, void *ctx)
{
	struct batch *b = ctx;
	struct imap_cmd *cmd = b->cmd;
	struct imap_client *c = cmd->client;
	struct fetch_ctx *fc = b->fc;
	while (b->next < b->n && b->uids[b->next] < m->uid) {
		b->next++;
		if (!fc->changedsince_set)
			fc->missing++;
	}
	if (b->next == b->n || b->uids[b->next] != m->uid)
		return 0;
	b->next++;
	uint32_t seq = seqmap_seq(&c->view->map, m->uid);
	if (seq == 0)
		return 0;
	uint32_t flags = m->flags;
	const char *keywords = m->keywords;
	uint64_t modseq = m->modseq;
	const struct store_flags_result *sc = seen_change(b, m->uid);
	if (sc != NULL) {
		flags = sc->flags;
		keywords = sc->keywords;
		modseq = sc->modseq;
	}
	struct buf *out = &cmd->out;
	buf_printf(out, "* %u FETCH (", seq);
	bool loaded = false, first = true, flags_done = false;
	struct mime_part *root = NULL;
	/* UID first, as clients expect it there */
	for (unsigned int i = 0; i < fc->n_items; i++) {
		if (fc->items[i].kind == F_UID) {
			buf_printf(out, "UID %u", m->uid);
			first = false;
			break;
		}
	}
	for (unsigned int i = 0; i < fc->n_items; i++) {
		const struct fetch_item *it = &fc->items[i];
		if (it->kind == F_UID)
			continue;
		if (!first)
			buf_append_c(out, ' ');
		first = false;
		switch (it->kind) {
		case F_FLAGS:
			buf_append_str(out, "FLAGS ");
			imap_write_flags(c, out, m->uid, flags, keywords);
			flags_done = true;
			break;
		case F_INTERNALDATE:
			buf_append_str(out, "INTERNALDATE ");
			imap_datetime_write(out, (time_t)m->internal_date, 0);
			break;
		case F_SIZE:
			buf_printf(out, "RFC822.SIZE %llu", (unsigned long long)m->size);
			break;
		case F_ENVELOPE:
			buf_append_str(out, "ENVELOPE ");
			write_structure(b, m->cache.envelope, m, &loaded, &root, 0, out);
			break;
		case F_BODY:
			buf_append_str(out, "BODY ");
			write_structure(b, m->cache.body, m, &loaded, &root, 1, out);
			break;
		case F_BODYSTRUCTURE:
			buf_append_str(out, "BODYSTRUCTURE ");
			write_structure(b, m->cache.bodystructure, m, &loaded, &root, 2, out);
			break;
		case F_MODSEQ:
			buf_printf(out, "MODSEQ (%llu)", (unsigned long long)modseq);
			break;
		case F_SECTION:
		case F_BINARY_SIZE:
			write_section(b, it, m, &root, &loaded, out);
			break;
		case F_UID:
			break;
		}
	}
	/* \Seen set by this FETCH: the new flags come along (RFC 3501 6.4.5) */
	if (sc != NULL && !flags_done) {
		buf_append_str(out, " FLAGS ");
		imap_write_flags(c, out, m->uid, flags, keywords);
	}
	buf_append_str(out, ")\r\n");
	return 0;
}

/* One batch of messages: [pos, end) of the UID list. */
static int fetch_batch(struct imap_cmd *cmd, struct fetch_ctx *fc, struct mailbox *mb)
{
	struct imap_client *c = cmd->client;
	size_t end = fc->pos;
	while (end < fc->n_uids && end - fc->pos < FETCH_BATCH &&
	       fc->uids[end] - fc->uids[fc->pos] < FETCH_BATCH * 4)
		end++;
	struct batch b = {
		.cmd = cmd, .fc = fc, .mb = mb, .uids = fc->uids + fc->pos, .n = end - fc->pos,
	};
	b.pool = pool_create("fetch", 16384);
	const char *err = NULL;
	int r = STORE_OK;
	if (fc->set_seen) {
		struct store_flags_op op = { .mode = 1, .flags = STORE_FLAG_SEEN };
		struct store_flags_result *res = pool_alloc(b.pool, b.n * sizeof(*res));
		r = mailbox_flags_store(mb, b.pool, c->view->folder_id, b.uids, b.n, &op, res, &err);
		if (r == STORE_OK) {
			b.seen = res;
			b.n_seen = b.n;
			for (size_t i = 0; i < b.n; i++) {
				if (res[i].status == STORE_FLAGS_CHANGED) {
					imap_view_own_modseq(c->view, res[i].modseq);
					break;
				}
			}
		}
	}
	if (r == STORE_OK) {
		struct store_query q = {
			.folder_id = c->view->folder_id,
			.uid_lo = b.uids[0],
			.uid_hi = b.uids[b.n - 1],
			.changedsince = fc->changedsince_set ? fc->changedsince : 0,
			.want = fc->need_body ? STORE_WANT_BLOB : 0,
		};
		/* the blob columns too: a row without a cache needs its body */
		if (fc->need_cache)
			q.want |= STORE_WANT_CACHE | STORE_WANT_BLOB;
		r = mailbox_query(mb, b.pool, &q, fetch_one, &b, &err);
		if (!fc->changedsince_set)
			fc->missing += b.n - b.next;
	}
	pool_destroy(&b.pool);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return -1;
	}
	fc->pos = end;
	return 0;
}

static void write_vanished(struct imap_cmd *cmd, struct fetch_ctx *fc, struct mailbox *mb)
{
	if (fc->n_uids == 0 && seqmap_last(&cmd->client->view->map) == 0)
		return;
	uint32_t *gone;
	size_t n;
	const char *err;
	struct imap_seqset set;
	if (imap_seqset_parse(cmd->pool, cmd->args[0].str, &set) < 0)
		return;
	imap_seqset_resolve(&set, cmd->client->view->uidnext - 1);
	if (mailbox_expunged(mb, cmd->client->view->folder_id, fc->changedsince, 1, UINT32_MAX - 1,
			     &gone, &n, &err) != STORE_OK)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (imap_seqset_contains(&set, gone[i]))
			gone[k++] = gone[i];
	}
	if (k > 0) {
		buf_append_str(&cmd->out, "* VANISHED (EARLIER) ");
		imap_numbers_write(&cmd->out, gone, k);
		buf_append_str(&cmd->out, "\r\n");
	}
	free(gone);
}

static void fetch_free(struct fetch_ctx *fc)
{
	free(fc->uids);
	fc->uids = NULL;
	buf_free(&fc->msg);
}

bool imap_cmd_fetch(struct imap_cmd *cmd)
{
	struct fetch_ctx *fc = cmd->ctx;
	if (fc == NULL) {
		fc = fetch_parse(cmd);
		if (fc == NULL)
			return true;
		cmd->ctx = fc;
		if (imap_uids_from_set(cmd, cmd->args[0].str, cmd->uid, &fc->uids, &fc->n_uids) < 0)
			return true;
	}
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL) {
		fetch_free(fc);
		return true;
	}
	if (!fc->started) {
		fc->started = true;
		if (fc->vanished)
			write_vanished(cmd, fc, mb);
	}
	while (fc->pos < fc->n_uids) {
		if (fetch_batch(cmd, fc, mb) < 0) {
			fetch_free(fc);
			return true;
		}
		if (cmd->out.len >= FETCH_PART_BYTES && fc->pos < fc->n_uids)
			return false;
	}
	if (fc->missing > 0 && !cmd->uid)
		imap_cmd_no(cmd, "[EXPUNGEISSUED] Some messages were expunged.");
	else
		imap_cmd_ok(cmd, "Fetch completed.");
	fetch_free(fc);
	return true;
}

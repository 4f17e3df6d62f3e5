/*
 * What SORT and THREAD (RFC 5256) compare: the base subject, the sent
 * date, the first address of From/To/Cc, the message ids, taken from the
 * header lines cached in the index row (the body is read only for a
 * message without them).
 */

#include "imap-private.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* --- base subject (RFC 5256 2.1) --- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP; returns the end or NULL */
static const char *blob(const char *s)
{
	if (*s != '[')
		return NULL;
	s++;
	while (*s != '\0' && *s != '[' && *s != ']')
		s++;
	if (*s != ']')
		return NULL;
	s++;
	while (is_wsp(*s))
		s++;
	return s;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static const char *refwd(const char *s)
{
	if (strncasecmp(s, "re", 2) == 0)
		s += 2;
	else if (strncasecmp(s, "fwd", 3) == 0)
		s += 3;
	else if (strncasecmp(s, "fw", 2) == 0)
		s += 2;
	else
		return NULL;
	while (is_wsp(*s))
		s++;
	const char *b = blob(s);
	if (b != NULL)
		s = b;
	return *s == ':' ? s + 1 : NULL;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP */
static const char *leader(const char *s, bool *reply)
{
	if (is_wsp(*s))
		return s + 1;
	const char *p = s, *b;
	while ((b = blob(p)) != NULL) {
		const char *r = refwd(b);
		if (r != NULL) {
			*reply = true;
			return r;
		}
		p = b;
	}
	const char *r = refwd(s);
	if (r != NULL)
		*reply = true;
	return r;
}

const char *imap_base_subject(struct pool *pool, const char *subject, bool *reply_r)
{
	bool reply = false;
	const char *dec = mime_header_decode(pool, subject, strlen(subject));
	/* runs of white space to one space */
	size_t len = strlen(dec);
	char *s = pool_alloc(pool, len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = dec[i] == '\t' || dec[i] == '\r' || dec[i] == '\n' ? ' ' : dec[i];
		if (c == ' ' && (o == 0 || s[o - 1] == ' '))
			continue;
		s[o++] = c;
	}
	s[o] = '\0';
	for (;;) {
		/* (2) trailers: "(fwd)" and white space */
		for (;;) {
			size_t n = strlen(s);
			if (n > 0 && s[n - 1] == ' ') {
				s[n - 1] = '\0';
			} else if (n >= 5 && strcasecmp(s + n - 5, "(fwd)") == 0) {
				s[n - 5] = '\0';
				reply = true;
			} else {
				break;
			}
		}
		/* (3)-(5) leaders and blobs */
		for (;;) {
			const char *l = leader(s, &reply);
			if (l != NULL) {
				s += l - s;
				continue;
			}
			const char *b = blob(s);
			if (b != NULL && *b != '\0') {
				s += b - s;
				continue;
			}
			break;
		}
		/* (6) "[fwd: ... ]" */
		size_t n = strlen(s);
		if (n >= 6 && strncasecmp(s, "[fwd:", 5) == 0 && s[n - 1] == ']') {
			s[n - 1] = '\0';
			s += 5;
			reply = true;
			continue;
		}
		break;
	}
	while (*s == ' ')
		s++;
	struct buf b;
	buf_init_pool(&b, pool, 0);
	imap_fold(&b, s, strlen(s));
	*reply_r = reply;
	return buf_cstr(&b);
}

/* --- loading --- */

struct load {
	struct imap_cmd *cmd;
	struct mailbox *mb;
	struct pool *pool;          /* the command's: the keys live there */
	struct pool *scratch;       /* one message's header */
	const uint32_t *uids;
	size_t n, next;
	struct sort_msg *msgs;
	size_t got;
	bool refs;
	struct buf body;
};

static const char *first_mailbox(struct pool *pool, const struct mime_part *hdr, const char *name)
{
	const struct mime_field *f = mime_header_find(hdr, name);
	if (f == NULL)
		return "";
	for (struct mime_address *a = mime_address_parse(pool, f->value, f->value_len); a != NULL;
	     a = a->next) {
		/* the first address, or the name of a group that comes first */
		if (a->mailbox != NULL && !a->invalid) {
			struct buf b;
			buf_init_pool(&b, pool, 0);
			imap_fold(&b, a->mailbox, strlen(a->mailbox));
			return buf_cstr(&b);
		}
	}
	return "";
}

/* Message ids "<...>" of a References/In-Reply-To value, in order. */
static unsigned int msgids(struct pool *pool, const char *v, size_t len, const char ***ids_r)
{
	unsigned int n = 0, cap = 0;
	const char **ids = NULL;
	const char *s = v, *end = v + len;
	while (s < end) {
		const char *lt = memchr(s, '<', (size_t)(end - s));
		if (lt == NULL)
			break;
		const char *gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt == NULL)
			break;
		/* an id without "@" or with spaces is not one */
		bool ok = gt - lt > 2;
		for (const char *p = lt + 1; p < gt && ok; p++)
			ok = *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '<';
		if (ok) {
			if (n == cap) {
				unsigned int ncap = cap ? cap * 2 : 8;
				ids = pool_realloc(pool, ids, cap * sizeof(*ids), ncap * sizeof(*ids));
				cap = ncap;
			}
			ids[n++] = pool_strndup(pool, lt, (size_t)(gt - lt + 1));
		}
		s = gt + 1;
	}
	*ids_r = ids;
	return n;
}

static int load_one(const struct store_message *m, void *ctx)
{
	struct load *l = ctx;
	while (l->next < l->n && l->uids[l->next] < m->uid)
		l->next++;
	if (l->next == l->n || l->uids[l->next] != m->uid)
		return 0;
	l->next++;
	struct sort_msg *x = &l->msgs[l->got++];
	memset(x, 0, sizeof(*x));
	x->uid = m->uid;
	x->seq = seqmap_seq(&l->cmd->client->view->map, m->uid);
	x->arrival = m->internal_date;
	x->size = m->size;
	struct mime_part *hdr = NULL;
	struct pool *sp = l->scratch;
	pool_clear(sp);
	if (m->cache.headers != NULL) {
		hdr = mime_parse(sp, m->cache.headers, strlen(m->cache.headers), NULL);
	} else {
		const char *err;
		buf_reset(&l->body);
		if (mailbox_message_read(l->mb, m, &l->body, &err) == STORE_OK)
			hdr = mime_parse(sp, l->body.data, l->body.len, NULL);
	}
	x->date = x->arrival;
	x->subject = x->from = x->to = x->cc = "";
	if (hdr == NULL)
		return 0;
	const struct mime_field *f = mime_header_find(hdr, "Date");
	time_t t;
	int tz;
	if (f != NULL && mime_date_parse(f->value, f->value_len, &t, &tz) == 0)
		x->date = t;
	const char *subj = mime_header_get(sp, hdr, "Subject");
	x->subject = pool_strdup(l->pool, imap_base_subject(sp, subj != NULL ? subj : "", &x->reply));
	x->from = pool_strdup(l->pool, first_mailbox(sp, hdr, "From"));
	x->to = pool_strdup(l->pool, first_mailbox(sp, hdr, "To"));
	x->cc = pool_strdup(l->pool, first_mailbox(sp, hdr, "Cc"));
	if (l->refs) {
		const char **ids;
		f = mime_header_find(hdr, "Message-ID");
		if (f != NULL && msgids(l->pool, f->value, f->value_len, &ids) > 0)
			x->message_id = ids[0];
		f = mime_header_find(hdr, "References");
		if (f != NULL)
			x->n_refs = msgids(l->pool, f->value, f->value_len, &x->references);
		if (x->n_refs == 0) {
			f = mime_header_find(hdr, "In-Reply-To");
			if (f != NULL && msgids(l->pool, f->value, f->value_len, &ids) > 0) {
				x->references = ids;
				x->n_refs = 1;
			}
		}
	}
	return 0;
}

int imap_sort_load(struct imap_cmd *cmd, struct mailbox *mb, const uint32_t *uids, size_t n,
		   bool want_refs, struct sort_msg **msgs_r)
{
	struct load l = { .cmd = cmd, .mb = mb, .pool = cmd->pool, .uids = uids, .n = n,
			  .refs = want_refs };
	l.msgs = pool_alloc(cmd->pool, (n ? n : 1) * sizeof(*l.msgs));
	buf_init(&l.body, 0);
	l.scratch = pool_create("sort-msg", 8192);
	const char *err = NULL;
	int r = STORE_OK;
	for (size_t i = 0; i < n && r == STORE_OK;) {
		size_t end = MIN(i + 500, n);
		struct store_query q = { .folder_id = cmd->client->view->folder_id, .uid_lo = uids[i],
					 .uid_hi = uids[end - 1],
					 .want = STORE_WANT_CACHE | STORE_WANT_BLOB };
		struct pool *qp = pool_create("sort-rows", 65536);
		r = mailbox_query(mb, qp, &q, load_one, &l, &err);
		pool_destroy(&qp);
		i = end;
	}
	buf_free(&l.body);
	pool_destroy(&l.scratch);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return -1;
	}
	*msgs_r = l.msgs;
	return (int)l.got;
}

/*
 * SEARCH keys (RFC 3501 6.4.4, RFC 9051, WITHIN RFC 5032, MODSEQ RFC
 * 7162, "$" RFC 5182): parsing into a tree, and evaluation in three
 * steps so that the cheap keys decide first: the index row alone
 * (flags, dates, sizes, UIDs), then the header lines cached in the row,
 * and only then the message itself.  Strings match case-insensitively
 * (imap-fold.c) as substrings of the decoded text: RFC 2047 words,
 * transfer encodings and charsets are undone, addresses are compared in
 * a normal form ("Name <local@domain>").
 */

#include "imap-private.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* decoded text per part, at most */
#define TEXT_MAX (16 * 1024 * 1024)

enum skey {
	K_ALL,
	K_AND,
	K_OR,
	K_NOT,
	K_UIDSET,
	K_FLAG,        /* set: num = flag */
	K_KEYWORD,
	K_RECENT,
	K_BEFORE,
	K_ON,
	K_SINCE,
	K_SENTBEFORE,
	K_SENTON,
	K_SENTSINCE,
	K_OLDER,
	K_YOUNGER,
	K_LARGER,
	K_SMALLER,
	K_HEADER,
	K_ADDRESS,
	K_BODY,
	K_TEXT,
	K_MODSEQ,
};

struct snode {
	enum skey key;
	struct snode *kids;
	unsigned int n;
	int64_t num;
	const char *name;       /* header name */
	const char *needle;     /* folded */
	size_t needle_len;
	struct imap_seqset set; /* UID ranges */
	bool cached;            /* the header is among the cached lines */
};

struct imap_search {
	struct snode root;
	bool has_modseq, need_cache, need_body;
};

struct sparse {
	struct imap_cmd *cmd;
	struct imap_search *s;
	const struct imap_arg *args;
	unsigned int count, pos;
	unsigned int depth;
};

static const struct {
	const char *name;
	uint32_t flag;
	bool set;
} flag_keys[] = {
	{ "ANSWERED", STORE_FLAG_ANSWERED, true }, { "DELETED", STORE_FLAG_DELETED, true },
	{ "DRAFT", STORE_FLAG_DRAFT, true }, { "FLAGGED", STORE_FLAG_FLAGGED, true },
	{ "SEEN", STORE_FLAG_SEEN, true }, { "UNANSWERED", STORE_FLAG_ANSWERED, false },
	{ "UNDELETED", STORE_FLAG_DELETED, false }, { "UNDRAFT", STORE_FLAG_DRAFT, false },
	{ "UNFLAGGED", STORE_FLAG_FLAGGED, false }, { "UNSEEN", STORE_FLAG_SEEN, false },
};

static const char *const address_headers[] = { "FROM", "TO", "CC", "BCC", NULL };

/* --- parsing --- */

static int parse_key(struct sparse *p, struct snode *n);

static const struct imap_arg *next_arg(struct sparse *p)
{
	return p->pos < p->count ? &p->args[p->pos++] : NULL;
}

static int fail(struct sparse *p, const char *what)
{
	imap_cmd_bad(p->cmd, "Invalid search: %s.", what);
	return -1;
}

static int string_arg(struct sparse *p, const char **s_r)
{
	const struct imap_arg *a = next_arg(p);
	if (a == NULL || !imap_arg_astring(a, s_r))
		return fail(p, "missing string");
	return 0;
}

static int needle(struct sparse *p, struct snode *n)
{
	const char *s;
	if (string_arg(p, &s) < 0)
		return -1;
	struct buf b;
	buf_init_pool(&b, p->cmd->pool, 0);
	imap_fold(&b, s, strlen(s));
	n->needle = buf_cstr(&b);
	n->needle_len = b.len;
	return 0;
}

static int number_arg(struct sparse *p, int64_t *v)
{
	const struct imap_arg *a = next_arg(p);
	uint64_t x;
	if (a == NULL || a->type != IMAP_ARG_ATOM || num_parse_u64(a->str, &x) < 0 ||
	    x > INT64_MAX)
		return fail(p, "missing number");
	*v = (int64_t)x;
	return 0;
}

static int date_arg(struct sparse *p, int64_t *v)
{
	const char *s;
	time_t t;
	if (string_arg(p, &s) < 0)
		return -1;
	if (imap_date_parse(s, &t) < 0)
		return fail(p, "invalid date");
	*v = (int64_t)t;
	return 0;
}

/* A sequence set or UID set as UID ranges of the view. */
static int set_from(struct sparse *p, struct snode *n, const char *s, bool uid)
{
	struct imap_view *v = p->cmd->client->view;
	n->key = K_UIDSET;
	if (strcmp(s, "$") == 0) {
		n->set.count = v->searchres.nr;
		n->set.r = pool_alloc(p->cmd->pool, (v->searchres.nr + 1) * sizeof(struct imap_range));
		for (uint32_t i = 0; i < v->searchres.nr; i++) {
			n->set.r[i].lo = v->searchres.r[i].lo;
			n->set.r[i].hi = v->searchres.r[i].hi;
		}
		return 0;
	}
	if (imap_seqset_parse(p->cmd->pool, s, &n->set) < 0)
		return fail(p, uid ? "invalid UID set" : "invalid sequence set");
	if (uid) {
		imap_seqset_resolve(&n->set, seqmap_last(&v->map));
		return 0;
	}
	imap_seqset_resolve(&n->set, v->map.count);
	for (unsigned int i = 0; i < n->set.count; i++) {
		uint32_t hi = MIN(n->set.r[i].hi, v->map.count);
		n->set.r[i].lo = seqmap_uid(&v->map, n->set.r[i].lo);
		n->set.r[i].hi = seqmap_uid(&v->map, hi);
		if (n->set.r[i].lo == 0)
			n->set.r[i].lo = n->set.r[i].hi = 0;
	}
	return 0;
}

static bool is_set_atom(const char *s)
{
	if (strcmp(s, "$") == 0)
		return true;
	for (; *s != '\0'; s++) {
		if (!((*s >= '0' && *s <= '9') || *s == '*' || *s == ':' || *s == ','))
			return false;
	}
	return true;
}

static int parse_list(struct sparse *p, struct snode *n, const struct imap_arg *args,
		      unsigned int count)
{
	n->key = K_AND;
	n->kids = pool_alloc(p->cmd->pool, (count ? count : 1) * sizeof(*n->kids));
	const struct imap_arg *save_args = p->args;
	unsigned int save_count = p->count, save_pos = p->pos;
	p->args = args;
	p->count = count;
	p->pos = 0;
	while (p->pos < p->count) {
		if (parse_key(p, &n->kids[n->n++]) < 0)
			return -1;
	}
	p->args = save_args;
	p->count = save_count;
	p->pos = save_pos;
	if (n->n == 0)
		return fail(p, "empty parenthesis");
	return 0;
}

static int parse_key(struct sparse *p, struct snode *n)
{
	const struct imap_arg *a = next_arg(p);
	memset(n, 0, sizeof(*n));
	if (a == NULL)
		return fail(p, "missing key");
	if (++p->depth > p->cmd->client->srv->set.max_depth)
		return fail(p, "too deeply nested");
	int r = 0;
	if (a->type == IMAP_ARG_LIST) {
		r = parse_list(p, n, a->list, a->count);
		p->depth--;
		return r;
	}
	if (a->type != IMAP_ARG_ATOM)
		return fail(p, "a key must be an atom");
	const char *k = a->str;
	if (is_set_atom(k)) {
		r = set_from(p, n, k, false);
		p->depth--;
		return r;
	}
	for (size_t i = 0; i < N_ELEMENTS(flag_keys); i++) {
		if (str_eq_icase(k, flag_keys[i].name)) {
			n->key = K_FLAG;
			n->num = flag_keys[i].flag;
			if (!flag_keys[i].set) {
				struct snode *kid = pool_alloc(p->cmd->pool, sizeof(*kid));
				*kid = *n;
				n->key = K_NOT;
				n->kids = kid;
				n->n = 1;
			}
			p->depth--;
			return 0;
		}
	}
	for (const char *const *h = address_headers; *h != NULL; h++) {
		if (str_eq_icase(k, *h)) {
			n->key = K_ADDRESS;
			n->name = *h;
			n->cached = true;
			p->s->need_cache = true;
			r = needle(p, n);
			p->depth--;
			return r;
		}
	}
	if (str_eq_icase(k, "ALL")) {
		n->key = K_ALL;
	} else if (str_eq_icase(k, "NOT") || str_eq_icase(k, "OR")) {
		bool or = str_eq_icase(k, "OR");
		n->key = or ? K_OR : K_NOT;
		n->n = or ? 2 : 1;
		n->kids = pool_alloc(p->cmd->pool, n->n * sizeof(*n->kids));
		for (unsigned int i = 0; i < n->n && r == 0; i++)
			r = parse_key(p, &n->kids[i]);
	} else if (str_eq_icase(k, "NEW") || str_eq_icase(k, "OLD") || str_eq_icase(k, "RECENT")) {
		/* NEW = RECENT UNSEEN, OLD = NOT RECENT */
		if (str_eq_icase(k, "RECENT")) {
			n->key = K_RECENT;
		} else if (str_eq_icase(k, "OLD")) {
			n->key = K_NOT;
			n->n = 1;
			n->kids = pool_alloc(p->cmd->pool, sizeof(*n->kids));
			n->kids[0].key = K_RECENT;
		} else {
			n->key = K_AND;
			n->n = 2;
			n->kids = pool_alloc(p->cmd->pool, 2 * sizeof(*n->kids));
			n->kids[0].key = K_RECENT;
			n->kids[1].key = K_NOT;
			n->kids[1].n = 1;
			n->kids[1].kids = pool_alloc(p->cmd->pool, sizeof(struct snode));
			n->kids[1].kids[0].key = K_FLAG;
			n->kids[1].kids[0].num = STORE_FLAG_SEEN;
		}
	} else if (str_eq_icase(k, "KEYWORD") || str_eq_icase(k, "UNKEYWORD")) {
		n->key = K_KEYWORD;
		r = string_arg(p, &n->name);
		if (r == 0 && str_eq_icase(k, "UNKEYWORD")) {
			struct snode *kid = pool_alloc(p->cmd->pool, sizeof(*kid));
			*kid = *n;
			memset(n, 0, sizeof(*n));
			n->key = K_NOT;
			n->kids = kid;
			n->n = 1;
		}
	} else if (str_eq_icase(k, "BEFORE") || str_eq_icase(k, "ON") || str_eq_icase(k, "SINCE")) {
		n->key = str_eq_icase(k, "BEFORE") ? K_BEFORE : str_eq_icase(k, "ON") ? K_ON : K_SINCE;
		r = date_arg(p, &n->num);
	} else if (str_eq_icase(k, "SENTBEFORE") || str_eq_icase(k, "SENTON") ||
		   str_eq_icase(k, "SENTSINCE")) {
		n->key = str_eq_icase(k, "SENTBEFORE") ? K_SENTBEFORE
			: str_eq_icase(k, "SENTON") ? K_SENTON : K_SENTSINCE;
		n->name = "Date";
		n->cached = true;
		p->s->need_cache = true;
		r = date_arg(p, &n->num);
	} else if (str_eq_icase(k, "OLDER") || str_eq_icase(k, "YOUNGER")) {
		n->key = str_eq_icase(k, "OLDER") ? K_OLDER : K_YOUNGER;
		r = number_arg(p, &n->num);
		if (r == 0 && n->num == 0)
			r = fail(p, "the interval must be positive");
	} else if (str_eq_icase(k, "LARGER") || str_eq_icase(k, "SMALLER")) {
		n->key = str_eq_icase(k, "LARGER") ? K_LARGER : K_SMALLER;
		r = number_arg(p, &n->num);
	} else if (str_eq_icase(k, "SUBJECT")) {
		n->key = K_HEADER;
		n->name = "Subject";
		n->cached = true;
		p->s->need_cache = true;
		r = needle(p, n);
	} else if (str_eq_icase(k, "HEADER")) {
		n->key = K_HEADER;
		r = string_arg(p, &n->name);
		if (r == 0)
			r = needle(p, n);
		if (r == 0) {
			n->cached = store_cache_has_field(n->name);
			if (n->cached)
				p->s->need_cache = true;
			else
				p->s->need_body = true;
		}
	} else if (str_eq_icase(k, "BODY") || str_eq_icase(k, "TEXT")) {
		n->key = str_eq_icase(k, "BODY") ? K_BODY : K_TEXT;
		p->s->need_body = true;
		r = needle(p, n);
	} else if (str_eq_icase(k, "UID")) {
		const struct imap_arg *s = next_arg(p);
		if (s == NULL || s->type != IMAP_ARG_ATOM)
			r = fail(p, "missing UID set");
		else
			r = set_from(p, n, s->str, true);
	} else if (str_eq_icase(k, "MODSEQ")) {
		/* MODSEQ [entry-name entry-type] mod-sequence */
		n->key = K_MODSEQ;
		if (p->pos < p->count && p->args[p->pos].type == IMAP_ARG_STRING) {
			p->pos++; /* entry-name: one MODSEQ per message here */
			const struct imap_arg *t = next_arg(p);
			if (t == NULL || !(imap_arg_atom_is(t, "priv") || imap_arg_atom_is(t, "shared") ||
					   imap_arg_atom_is(t, "all")))
				r = fail(p, "invalid MODSEQ entry type");
		}
		if (r == 0)
			r = number_arg(p, &n->num);
		p->s->has_modseq = true;
		imap_condstore_enable(p->cmd);
	} else {
		r = fail(p, "unknown key");
	}
	p->depth--;
	return r;
}

struct imap_search *imap_search_parse(struct imap_cmd *cmd, const struct imap_arg *args,
				      unsigned int count)
{
	struct imap_search *s = pool_alloc(cmd->pool, sizeof(*s));
	struct sparse p = { .cmd = cmd, .s = s, .args = args, .count = count };
	if (count == 0) {
		fail(&p, "missing key");
		return NULL;
	}
	if (parse_list(&p, &s->root, args, count) < 0)
		return NULL;
	return s;
}

/* --- evaluation --- */

struct seval {
	struct imap_cmd *cmd;
	struct imap_search *s;
	struct mailbox *mb;
	struct imap_view *v;
	struct pool *pool;           /* per message */
	const struct store_message *m;
	int64_t now;
	struct mime_part *cached;    /* the cached header lines, parsed */
	struct buf body;             /* the message (malloc'd, reused) */
	bool loaded, load_failed;
	struct mime_part *root;
	/* results */
	uint32_t *uids;
	uint64_t *modseqs;
	size_t n, cap;
	int error;
};

static bool has_keyword(const char *list, const char *kw)
{
	size_t kl = strlen(kw);
	const char *s = list != NULL ? list : "";
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		const char *e = s;
		while (*e != '\0' && *e != ' ')
			e++;
		if ((size_t)(e - s) == kl && kl > 0 && mem_eq_icase(s, kw, kl))
			return true;
		s = e;
	}
	return false;
}

static bool fold_match(struct seval *e, const char *text, size_t len, const struct snode *n)
{
	struct buf b;
	buf_init_pool(&b, e->pool, 0);
	imap_fold(&b, text, len);
	return imap_fold_contains(b.data != NULL ? b.data : "", b.len, n->needle, n->needle_len);
}

/* "Name <local@domain>, group: ...;" of an address header */
static void address_text(struct pool *pool, struct buf *out, const char *value, size_t len)
{
	struct mime_address *a = mime_address_parse(pool, value, len);
	for (; a != NULL; a = a->next) {
		if (a->mailbox != NULL && a->domain == NULL) {
			if (out->len > 0)
				buf_append_str(out, ", ");
			buf_printf(out, "%s:", a->mailbox);
			continue;
		}
		if (a->mailbox == NULL) {
			buf_append_c(out, ';');
			continue;
		}
		if (out->len > 0)
			buf_append_str(out, ", ");
		if (a->name != NULL) {
			const char *nm = mime_header_decode(pool, a->name, strlen(a->name));
			buf_printf(out, "%s <%s@%s>", nm, a->mailbox, a->domain);
		} else {
			buf_printf(out, "%s@%s", a->mailbox, a->domain);
		}
	}
}

static int header_match(struct seval *e, const struct mime_part *part, const struct snode *n)
{
	bool exists = false;
	for (const struct mime_field *f = mime_header_find(part, n->name); f != NULL;
	     f = mime_header_find_next(part, f, n->name)) {
		exists = true;
		if (n->needle_len == 0)
			return 1;
		if (n->key == K_ADDRESS) {
			struct buf b;
			buf_init_pool(&b, e->pool, 0);
			address_text(e->pool, &b, f->value, f->value_len);
			if (fold_match(e, b.data != NULL ? b.data : "", b.len, n))
				return 1;
			/* what no address parser made sense of is matched raw */
		}
		const char *dec = mime_header_decode(e->pool, f->value, f->value_len);
		if (fold_match(e, dec, strlen(dec), n))
			return 1;
	}
	(void)exists;
	return 0;
}

static int load_message(struct seval *e)
{
	if (e->loaded)
		return e->load_failed ? -1 : 0;
	e->loaded = true;
	buf_reset(&e->body);
	const char *err;
	if (mailbox_message_read(e->mb, e->m, &e->body, &err) != STORE_OK) {
		log_error("imap.search_read", "user=%s uid=%u error=%s", log_str(e->cmd->client->user),
			  e->m->uid, log_str(err));
		e->load_failed = true;
		return -1;
	}
	e->root = mime_parse(e->pool, e->body.data, e->body.len, NULL);
	return 0;
}

static bool body_match(struct seval *e, const struct snode *n)
{
	for (struct mime_part *p = mime_part_next_text(e->root, NULL); p != NULL;
	     p = mime_part_next_text(e->root, p)) {
		size_t len;
		const char *text = mime_part_text(e->pool, p, e->body.data, e->body.len, TEXT_MAX, &len, NULL);
		if (fold_match(e, text, len, n))
			return true;
	}
	return false;
}

static bool text_match(struct seval *e, const struct snode *n)
{
	/* the header, decoded field by field */
	for (unsigned int i = 0; i < e->root->fields_count; i++) {
		const struct mime_field *f = &e->root->fields[i];
		const char *dec = mime_header_decode(e->pool, f->value, f->value_len);
		if (fold_match(e, f->name, strlen(f->name), n) || fold_match(e, dec, strlen(dec), n))
			return true;
	}
	return body_match(e, n);
}

static int64_t day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

/* The Date: header's own calendar day, or the internal date's. */
static int sent_day(struct seval *e, const struct mime_part *hdr, int64_t *day_r)
{
	const struct mime_field *f = hdr != NULL ? mime_header_find(hdr, "Date") : NULL;
	time_t t;
	int tz;
	if (f != NULL && mime_date_parse(f->value, f->value_len, &t, &tz) == 0)
		*day_r = day_of((int64_t)t + (int64_t)tz * 60);
	else
		*day_r = day_of(e->m->internal_date);
	return 1;
}

static bool set_has(const struct imap_seqset *set, uint32_t uid)
{
	return uid != 0 && imap_seqset_contains(set, uid);
}

/* 1 match, 0 no match, -1 not decidable at this level:
 * 0 the index row, 1 plus cached header lines, 2 the message. */
static int eval(struct seval *e, const struct snode *n, int level)
{
	const struct store_message *m = e->m;
	switch (n->key) {
	case K_ALL:
		return 1;
	case K_AND: {
		int r = 1;
		for (unsigned int i = 0; i < n->n; i++) {
			int x = eval(e, &n->kids[i], level);
			if (x == 0)
				return 0;
			if (x < 0)
				r = -1;
		}
		return r;
	}
	case K_OR: {
		int r = 0;
		for (unsigned int i = 0; i < n->n; i++) {
			int x = eval(e, &n->kids[i], level);
			if (x == 1)
				return 1;
			if (x < 0)
				r = -1;
		}
		return r;
	}
	case K_NOT: {
		int x = eval(e, &n->kids[0], level);
		return x < 0 ? -1 : !x;
	}
	case K_UIDSET:
		return set_has(&n->set, m->uid);
	case K_FLAG:
		return (m->flags & (uint32_t)n->num) != 0;
	case K_KEYWORD:
		return has_keyword(m->keywords, n->name);
	case K_RECENT:
		return seqmap_has(&e->v->recent, m->uid);
	case K_BEFORE:
		return day_of(m->internal_date) < day_of(n->num);
	case K_ON:
		return day_of(m->internal_date) == day_of(n->num);
	case K_SINCE:
		return day_of(m->internal_date) >= day_of(n->num);
	case K_OLDER:
		return e->now - m->internal_date > n->num;
	case K_YOUNGER:
		return e->now - m->internal_date <= n->num;
	case K_LARGER:
		return m->size > (uint64_t)n->num;
	case K_SMALLER:
		return m->size < (uint64_t)n->num;
	case K_MODSEQ:
		return m->modseq >= (uint64_t)n->num;
	case K_SENTBEFORE:
	case K_SENTON:
	case K_SENTSINCE: {
		const struct mime_part *hdr = NULL;
		if (level == 1 && e->cached != NULL)
			hdr = e->cached;
		else if (level == 2)
			hdr = e->root;
		else
			return -1;
		int64_t day;
		sent_day(e, hdr, &day);
		int64_t want = day_of(n->num);
		return n->key == K_SENTBEFORE ? day < want : n->key == K_SENTON ? day == want : day >= want;
	}
	case K_HEADER:
	case K_ADDRESS:
		if (level == 1 && n->cached && e->cached != NULL)
			return header_match(e, e->cached, n);
		if (level < 2)
			return -1;
		return header_match(e, e->root, n);
	case K_BODY:
		return level < 2 ? -1 : body_match(e, n);
	case K_TEXT:
		return level < 2 ? -1 : text_match(e, n);
	}
	return 0;
}

static int search_one(const struct store_message *m, void *ctx)
{
	struct seval *e = ctx;
	if (!seqmap_has(&e->v->map, m->uid))
		return 0;
	pool_clear(e->pool);
	e->m = m;
	e->cached = NULL;
	e->loaded = e->load_failed = false;
	e->root = NULL;
	int r = eval(e, &e->s->root, 0);
	if (r < 0 && m->cache.headers != NULL) {
		e->cached = mime_parse(e->pool, m->cache.headers, strlen(m->cache.headers), NULL);
		r = eval(e, &e->s->root, 1);
	}
	if (r < 0) {
		if (load_message(e) < 0)
			return 0;
		r = eval(e, &e->s->root, 2);
	}
	if (r == 1) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 64;
			e->uids = xrealloc(e->uids, e->cap * sizeof(*e->uids));
			if (e->s->has_modseq)
				e->modseqs = xrealloc(e->modseqs, e->cap * sizeof(*e->modseqs));
		}
		if (e->s->has_modseq)
			e->modseqs[e->n] = m->modseq;
		e->uids[e->n++] = m->uid;
	}
	return 0;
}

int imap_search_run(struct imap_cmd *cmd, struct mailbox *mb, struct imap_search *s,
		    uint32_t **uids_r, size_t *n_r, uint64_t **modseqs_r)
{
	struct imap_view *v = cmd->client->view;
	struct seval e = { .cmd = cmd, .s = s, .mb = mb, .v = v, .now = time_now() };
	e.pool = pool_create("search", 16384);
	buf_init(&e.body, 0);
	unsigned int want = 0;
	if (s->need_cache)
		want |= STORE_WANT_CACHE;
	if (s->need_body || s->need_cache)
		want |= STORE_WANT_BLOB;
	/* in batches along the sequence map: rows in memory stay bounded */
	const char *err = NULL;
	int r = STORE_OK;
	for (uint32_t seq = 1; seq <= v->map.count && r == STORE_OK;) {
		uint32_t last = MIN(seq + 499, v->map.count);
		struct store_query q = { .folder_id = v->folder_id, .uid_lo = seqmap_uid(&v->map, seq),
					 .uid_hi = seqmap_uid(&v->map, last), .want = want };
		struct pool *qp = pool_create("search-rows", 65536);
		r = mailbox_query(mb, qp, &q, search_one, &e, &err);
		pool_destroy(&qp);
		seq = last + 1;
	}
	buf_free(&e.body);
	pool_destroy(&e.pool);
	if (r != STORE_OK) {
		free(e.uids);
		free(e.modseqs);
		imap_cmd_store_error(cmd, r, err);
		return -1;
	}
	*uids_r = e.uids;
	*n_r = e.n;
	if (modseqs_r != NULL)
		*modseqs_r = e.modseqs;
	else
		free(e.modseqs);
	return 0;
}

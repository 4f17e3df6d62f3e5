/*
 * THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 section 4): the
 * latter is Jamie Zawinski's algorithm as the RFC words it, with
 * containers for message ids, pruning of empty containers, and the
 * gathering of roots by base subject.
 */

#include "imap-private.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static uint32_t num(const struct sort_msg *m, bool uid)
{
	return uid ? m->uid : m->seq;
}

static int cmp_date(const struct sort_msg *a, const struct sort_msg *b)
{
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* --- ORDEREDSUBJECT --- */

static int cmp_subject_date(const void *x, const void *y)
{
	const struct sort_msg *a = *(const struct sort_msg *const *)x;
	const struct sort_msg *b = *(const struct sort_msg *const *)y;
	int c = strcmp(a->subject, b->subject);
	return c != 0 ? c : cmp_date(a, b);
}

struct group {
	struct sort_msg **m;
	size_t n;
};

static int cmp_group(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	return cmp_date(a->m[0], b->m[0]);
}

void imap_thread_orderedsubject(struct sort_msg *msgs, size_t n, bool uid, struct buf *out)
{
	struct sort_msg **v = xmalloc((n ? n : 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = &msgs[i];
	qsort(v, n, sizeof(*v), cmp_subject_date);
	struct group *g = xmalloc((n ? n : 1) * sizeof(*g));
	size_t ng = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(v[j]->subject, v[i]->subject) == 0)
			j++;
		g[ng].m = &v[i];
		g[ng].n = j - i;
		ng++;
		i = j;
	}
	qsort(g, ng, sizeof(*g), cmp_group);
	for (size_t k = 0; k < ng; k++) {
		buf_printf(out, "(%u", num(g[k].m[0], uid));
		if (g[k].n == 2) {
			buf_printf(out, " %u", num(g[k].m[1], uid));
		} else if (g[k].n > 2) {
			buf_append_c(out, ' ');
			for (size_t i = 1; i < g[k].n; i++)
				buf_printf(out, "(%u)", num(g[k].m[i], uid));
		}
		buf_append_c(out, ')');
	}
	free(g);
	free(v);
}

/* --- REFERENCES --- */

struct cont {
	struct sort_msg *msg;
	struct cont *parent, *child, *next;
	int64_t date;       /* for sorting: the message's, or the first child's */
	uint32_t seq;
	int ri;             /* position in the root set */
};

struct tctx {
	struct pool *pool;
	struct hash *ids;
};

static struct cont *get(struct tctx *t, const char *id)
{
	struct cont *c = hash_get_str(t->ids, id);
	if (c == NULL) {
		c = pool_alloc(t->pool, sizeof(*c));
		hash_put(t->ids, id, strlen(id), c);
	}
	return c;
}

static bool is_ancestor(const struct cont *a, const struct cont *c)
{
	for (const struct cont *p = c; p != NULL; p = p->parent) {
		if (p == a)
			return true;
	}
	return false;
}

static void unlink_cont(struct cont *c)
{
	struct cont *p = c->parent;
	if (p == NULL)
		return;
	struct cont **pp = &p->child;
	while (*pp != NULL && *pp != c)
		pp = &(*pp)->next;
	if (*pp == c)
		*pp = c->next;
	c->next = NULL;
	c->parent = NULL;
}

static void add_child(struct cont *parent, struct cont *c)
{
	c->parent = parent;
	c->next = NULL;
	struct cont **pp = &parent->child;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = c;
}

/* Prunes a list (RFC 5256 4.2 step 4); returns its new head. */
static struct cont *prune(struct cont *list, struct cont *parent, bool root)
{
	struct cont *head = NULL, **tail = &head;
	for (struct cont *c = list, *next; c != NULL; c = next) {
		next = c->next;
		c->next = NULL;
		c->child = prune(c->child, c, false);
		if (c->msg == NULL && c->child == NULL)
			continue;
		if (c->msg == NULL && !(root && c->child->next != NULL)) {
			/* promote the children to this level */
			for (struct cont *k = c->child; k != NULL; k = k->next)
				k->parent = parent;
			*tail = c->child;
			while (*tail != NULL)
				tail = &(*tail)->next;
			continue;
		}
		c->parent = parent;
		*tail = c;
		tail = &c->next;
	}
	return head;
}

static int cmp_cont(const void *x, const void *y)
{
	const struct cont *a = *(const struct cont *const *)x;
	const struct cont *b = *(const struct cont *const *)y;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static struct cont *sort_list(struct cont *list)
{
	size_t n = 0;
	for (struct cont *c = list; c != NULL; c = c->next)
		n++;
	if (n < 2)
		return list;
	struct cont **v = xmalloc(n * sizeof(*v));
	n = 0;
	for (struct cont *c = list; c != NULL; c = c->next)
		v[n++] = c;
	qsort(v, n, sizeof(*v), cmp_cont);
	for (size_t i = 0; i + 1 < n; i++)
		v[i]->next = v[i + 1];
	v[n - 1]->next = NULL;
	struct cont *head = v[0];
	free(v);
	return head;
}

/* Sorts every sibling list below c, and sets the dates dummies sort by. */
static void sort_tree(struct cont *c)
{
	for (struct cont *k = c->child; k != NULL; k = k->next)
		sort_tree(k);
	c->child = sort_list(c->child);
	if (c->msg != NULL) {
		c->date = c->msg->date;
		c->seq = c->msg->seq;
	} else if (c->child != NULL) {
		c->date = c->child->date;
		c->seq = c->child->seq;
	}
}

static const struct sort_msg *subject_msg(const struct cont *c)
{
	return c->msg != NULL ? c->msg : c->child != NULL ? c->child->msg : NULL;
}

static void write_tree(const struct cont *c, bool uid, struct buf *out)
{
	if (c->msg != NULL)
		buf_printf(out, "%u", num(c->msg, uid));
	if (c->child == NULL)
		return;
	if (c->child->next == NULL) {
		if (c->msg != NULL)
			buf_append_c(out, ' ');
		write_tree(c->child, uid, out);
		return;
	}
	if (c->msg != NULL)
		buf_append_c(out, ' ');
	for (const struct cont *k = c->child; k != NULL; k = k->next) {
		buf_append_c(out, '(');
		write_tree(k, uid, out);
		buf_append_c(out, ')');
	}
}

void imap_thread_references(struct pool *pool, struct sort_msg *msgs, size_t n, bool uid,
			    struct buf *out)
{
	struct tctx t = { .pool = pool, .ids = hash_create(n * 2 + 16) };
	/* (1) containers and links from References */
	for (size_t i = 0; i < n; i++) {
		struct sort_msg *m = &msgs[i];
		struct cont *c = NULL;
		if (m->message_id != NULL) {
			c = get(&t, m->message_id);
			if (c->msg != NULL)
				c = NULL; /* a duplicate id: this one stands alone */
		}
		if (c == NULL)
			c = get(&t, pool_printf(pool, "<ombu-dup-%u@>", m->uid));
		c->msg = m;
		struct cont *prev = NULL;
		for (unsigned int r = 0; r < m->n_refs; r++) {
			struct cont *rc = get(&t, m->references[r]);
			if (prev != NULL && rc->parent == NULL && rc != prev && !is_ancestor(rc, prev))
				add_child(prev, rc);
			prev = rc;
		}
		if (prev == c || (prev != NULL && is_ancestor(c, prev)))
			prev = NULL;
		if (c->parent != prev) {
			unlink_cont(c);
			if (prev != NULL)
				add_child(prev, c);
		}
	}
	/* (2) the root set */
	struct cont *roots = NULL, **tail = &roots;
	size_t it = 0;
	void *val;
	while (hash_iter(t.ids, &it, NULL, NULL, &val)) {
		struct cont *c = val;
		if (c->parent == NULL) {
			*tail = c;
			tail = &c->next;
		}
	}
	hash_destroy(&t.ids);
	/* (4) prune, (5) sort */
	roots = prune(roots, NULL, true);
	for (struct cont *c = roots; c != NULL; c = c->next)
		sort_tree(c);
	roots = sort_list(roots);
	/* (6) gather roots with the same base subject; a merged thread takes
	 * the place of the earlier of the two */
	size_t nr = 0;
	for (struct cont *c = roots; c != NULL; c = c->next)
		nr++;
	struct cont **rv = xmalloc((nr ? nr : 1) * sizeof(*rv));
	nr = 0;
	for (struct cont *c = roots; c != NULL; c = c->next) {
		c->ri = (int)nr;
		rv[nr++] = c;
	}
	struct hash *subj = hash_create(64);
	for (size_t i = 0; i < nr; i++) {
		struct cont *c = rv[i];
		const struct sort_msg *m = subject_msg(c);
		if (m == NULL || m->subject[0] == '\0')
			continue;
		struct cont *o = hash_get_str(subj, m->subject);
		if (o == NULL || (c->msg == NULL && o->msg != NULL) ||
		    (o->msg != NULL && c->msg != NULL && o->msg->reply && !c->msg->reply))
			hash_put(subj, m->subject, strlen(m->subject), c);
	}
	for (size_t i = 0; i < nr; i++) {
		struct cont *c = rv[i];
		if (c == NULL)
			continue;
		const struct sort_msg *m = subject_msg(c);
		struct cont *o = m != NULL && m->subject[0] != '\0' ? hash_get_str(subj, m->subject) : NULL;
		if (o == NULL || o == c)
			continue;
		int lo = MIN(o->ri, c->ri), hi = MAX(o->ri, c->ri);
		struct cont *top;
		if (o->msg == NULL && c->msg == NULL) {
			for (struct cont *k = c->child, *kn; k != NULL; k = kn) {
				kn = k->next;
				add_child(o, k);
			}
			top = o;
		} else if (o->msg == NULL || (!o->msg->reply && c->msg != NULL && c->msg->reply)) {
			add_child(o, c);
			top = o;
		} else if (c->msg == NULL || (o->msg->reply && !c->msg->reply)) {
			add_child(c, o);
			top = c;
		} else {
			top = pool_alloc(pool, sizeof(*top));
			add_child(top, o);
			add_child(top, c);
		}
		top->parent = NULL;
		top->ri = lo;
		rv[lo] = top;
		rv[hi] = NULL;
		hash_put(subj, m->subject, strlen(m->subject), top);
	}
	hash_destroy(&subj);
	/* (7) siblings by date */
	for (size_t i = 0; i < nr; i++) {
		struct cont *c = rv[i];
		if (c == NULL)
			continue;
		sort_tree(c);
		buf_append_c(out, '(');
		if (c->msg == NULL && c->child != NULL && c->child->next == NULL)
			write_tree(c->child, uid, out);
		else
			write_tree(c, uid, out);
		buf_append_c(out, ')');
	}
	free(rv);
}

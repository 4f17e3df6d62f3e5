/*
 * Meta rules: boolean and arithmetic expressions over other rules.
 *
 * SpamAssassin lexes the expression with ARITH_EXPRESSION_LEXER, turns
 * each rule name into ($h->{NAME}||0) and evaluates the result as Perl.
 * We parse the same tokens once, with Perl's precedence, into a small
 * tree, and evaluate it per message over the rules' values (0 = not hit,
 * otherwise the hit count or the eval's value).  Perl's && and || return
 * the deciding operand, not 1, and that is kept: `A || B` is worth A.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/pool.h"
#include "lib/util.h"

/* Parsing and evaluating recurse: bounds on the parser's nesting (a
   line of "((((" or "!!!!") and on the tree's depth (a chain of a
   million "A+A+..."), far above what any rule set writes, so that a
   rule file cannot exhaust a thread's stack. */
#define META_MAX_NESTING 500
#define META_MAX_DEPTH 5000

enum mop {
	M_NUM, M_RULE, M_NOT, M_NEG, M_MUL, M_DIV, M_ADD, M_SUB,
	M_LT, M_GT, M_LE, M_GE, M_EQ, M_NE, M_XOR, M_AND, M_OR, M_COND,
	/* chains of +, || and && flattened after parsing (see flatten()) */
	M_SUM, M_ANY, M_ALL,
};

struct mnode {
	enum mop op;
	double num;
	const char *name;
	unsigned slot;          /* rule index, or ~0u when undefined */
	unsigned depth;         /* of the tree below, this node included */
	struct mnode *a, *b, *c;
	struct mnode **kids;    /* M_SUM, M_ANY, M_ALL: the operands in order */
	unsigned n_kids;
};

struct sa_meta {
	struct mnode *root;
	const char **names;
	unsigned *slots;        /* pointers into nodes */
	struct mnode **name_nodes;
	unsigned n_names;
};

enum tk { T_END, T_NUM, T_NAME, T_OP, T_LP, T_RP };

struct tok {
	enum tk kind;
	char op[3];
	double num;
	const char *name;
};

struct mparser {
	struct pool *pool;
	struct tok *t;
	size_t n, i;
	const char *err;
	struct sa_meta *m;
	unsigned cap_names;
	unsigned nesting;       /* parse_expr() and parse_unary() calls active */
};

static bool is_w(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static void push_tok(struct pool *pool, struct tok **t, size_t *n, size_t *cap,
		     struct tok v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		*t = pool_realloc(pool, *t, sizeof(**t) * *cap, sizeof(**t) * nc);
		*cap = nc;
	}
	(*t)[(*n)++] = v;
}

/* A [-+\d.]+ run: numbers with their signs, or bare operators. */
static void lex_numish(struct pool *pool, const char *s, size_t len,
		       struct tok **t, size_t *n, size_t *cap)
{
	size_t i = 0;
	while (i < len) {
		if (s[i] == '+' || s[i] == '-') {
			struct tok v = { .kind = T_OP };
			v.op[0] = s[i];
			push_tok(pool, t, n, cap, v);
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.'))
			j++;
		char buf[64];
		size_t l = MIN(j - i, sizeof(buf) - 1);
		memcpy(buf, s + i, l);
		buf[l] = '\0';
		struct tok v = { .kind = T_NUM, .num = strtod(buf, NULL) };
		push_tok(pool, t, n, cap, v);
		i = j;
	}
}

static int lex(struct pool *pool, const char *s, struct tok **t_r, size_t *n_r,
	       const char **error_r)
{
	struct tok *t = NULL;
	size_t n = 0, cap = 0;
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
			size_t j = i;
			while (j < len && (s[j] == '-' || s[j] == '+' || s[j] == '.' ||
					   (s[j] >= '0' && s[j] <= '9')))
				j++;
			lex_numish(pool, s + i, j - i, &t, &n, &cap);
			i = j;
		} else if (is_w(c)) {
			size_t j = i + 1;
			while (j < len && (is_w(s[j]) || s[j] == ':'))
				j++;
			struct tok v = { .kind = T_NAME, .name = pool_strndup(pool, s + i, j - i) };
			push_tok(pool, &t, &n, &cap, v);
			i = j;
		} else if (c == '(' || c == ')') {
			struct tok v = { .kind = c == '(' ? T_LP : T_RP };
			push_tok(pool, &t, &n, &cap, v);
			i++;
		} else {
			struct tok v = { .kind = T_OP };
			if ((c == '|' || c == '&') && i + 1 < len && s[i + 1] == c) {
				v.op[0] = c;
				v.op[1] = c;
				i += 2;
			} else if ((c == '>' || c == '<' || c == '=' || c == '!') && i + 1 < len &&
				   s[i + 1] == '=') {
				if (c == '=' || c == '!' || c == '<' || c == '>') {
					v.op[0] = c;
					v.op[1] = '=';
					i += 2;
				}
			} else if (c == '^' || c == '!' || c == '>' || c == '<' || c == '*' ||
				   c == '/' || c == '?' || c == ':') {
				v.op[0] = c;
				i++;
			} else if (c == ' ' || c == '\t') {
				i++;
				continue;
			} else {
				/* SpamAssassin's lexer skips what it does not know,
				   and its Perl then fails on the gap: so do we. */
				*error_r = pool_printf(pool, "unexpected '%c'", c);
				return -1;
			}
			push_tok(pool, &t, &n, &cap, v);
		}
	}
	struct tok end = { .kind = T_END };
	push_tok(pool, &t, &n, &cap, end);
	*t_r = t;
	*n_r = n;
	return 0;
}

static struct mnode *node3(struct mparser *p, enum mop op, struct mnode *a,
			   struct mnode *b, struct mnode *c)
{
	struct mnode *nd = pool_alloc(p->pool, sizeof(*nd));
	nd->op = op;
	nd->a = a;
	nd->b = b;
	nd->c = c;
	nd->slot = ~0u;
	unsigned d = 0;
	struct mnode *kids[] = { a, b, c };
	for (size_t i = 0; i < N_ELEMENTS(kids); i++)
		if (kids[i] != NULL && kids[i]->depth > d)
			d = kids[i]->depth;
	nd->depth = d + 1;
	if (nd->depth > META_MAX_DEPTH && p->err == NULL)
		p->err = "expression too deep";
	return nd;
}

static struct mnode *node(struct mparser *p, enum mop op, struct mnode *a,
			  struct mnode *b)
{
	return node3(p, op, a, b, NULL);
}

static bool is_op(const struct tok *t, const char *op)
{
	return t->kind == T_OP && strcmp(t->op, op) == 0;
}

static struct mnode *parse_expr(struct mparser *p, int minprec);

static struct mnode *parse_unary1(struct mparser *p);

static struct mnode *parse_unary(struct mparser *p)
{
	if (p->err != NULL)
		return NULL;
	if (++p->nesting > META_MAX_NESTING) {
		p->err = "expression nested too deep";
		return NULL;
	}
	struct mnode *nd = parse_unary1(p);
	p->nesting--;
	return nd;
}

static struct mnode *parse_unary1(struct mparser *p)
{
	struct tok *t = &p->t[p->i];
	if (is_op(t, "!")) {
		p->i++;
		return node(p, M_NOT, parse_unary(p), NULL);
	}
	if (is_op(t, "-")) {
		p->i++;
		return node(p, M_NEG, parse_unary(p), NULL);
	}
	if (is_op(t, "+")) {
		p->i++;
		return parse_unary(p);
	}
	if (t->kind == T_NUM) {
		p->i++;
		struct mnode *nd = node(p, M_NUM, NULL, NULL);
		nd->num = t->num;
		return nd;
	}
	if (t->kind == T_NAME) {
		p->i++;
		struct mnode *nd = node(p, M_RULE, NULL, NULL);
		nd->name = t->name;
		if (p->m->n_names == p->cap_names) {
			unsigned nc = p->cap_names ? p->cap_names * 2 : 8;
			p->m->name_nodes = pool_realloc(p->pool, p->m->name_nodes,
						       sizeof(void *) * p->cap_names,
						       sizeof(void *) * nc);
			p->cap_names = nc;
		}
		p->m->name_nodes[p->m->n_names++] = nd;
		return nd;
	}
	if (t->kind == T_LP) {
		p->i++;
		if (p->t[p->i].kind == T_RP) {
			/* "( )" evaluates to 0 in SpamAssassin */
			p->i++;
			struct mnode *nd = node(p, M_NUM, NULL, NULL);
			return nd;
		}
		struct mnode *e = parse_expr(p, 0);
		if (p->t[p->i].kind != T_RP) {
			if (p->err == NULL)
				p->err = "missing ')'";
			return NULL;
		}
		p->i++;
		return e;
	}
	if (p->err == NULL)
		p->err = t->kind == T_END ? "unexpected end of expression" :
			 t->kind == T_RP ? "unexpected ')'" : "unexpected operator";
	return NULL;
}

struct binop {
	const char *op;
	int prec;
	enum mop m;
};

static const struct binop binops[] = {
	{ "?", 1, M_COND },
	{ "||", 2, M_OR }, { "&&", 3, M_AND }, { "^", 4, M_XOR },
	{ "==", 5, M_EQ }, { "!=", 5, M_NE },
	{ "<", 6, M_LT }, { ">", 6, M_GT }, { "<=", 6, M_LE }, { ">=", 6, M_GE },
	{ "+", 7, M_ADD }, { "-", 7, M_SUB },
	{ "*", 8, M_MUL }, { "/", 8, M_DIV },
};

static const struct binop *find_binop(const struct tok *t)
{
	if (t->kind != T_OP)
		return NULL;
	for (size_t i = 0; i < N_ELEMENTS(binops); i++)
		if (strcmp(binops[i].op, t->op) == 0)
			return &binops[i];
	return NULL;
}

static struct mnode *parse_expr1(struct mparser *p, int minprec);

static struct mnode *parse_expr(struct mparser *p, int minprec)
{
	if (++p->nesting > META_MAX_NESTING) {
		if (p->err == NULL)
			p->err = "expression nested too deep";
		return NULL;
	}
	struct mnode *nd = parse_expr1(p, minprec);
	p->nesting--;
	return nd;
}

static struct mnode *parse_expr1(struct mparser *p, int minprec)
{
	struct mnode *lhs = parse_unary(p);
	for (;;) {
		if (p->err != NULL)
			return NULL;
		const struct binop *bo = find_binop(&p->t[p->i]);
		if (bo == NULL || bo->prec < minprec)
			return lhs;
		p->i++;
		if (bo->m == M_COND) {
			struct mnode *yes = parse_expr(p, 1);
			if (!is_op(&p->t[p->i], ":")) {
				if (p->err == NULL)
					p->err = "missing ':'";
				return NULL;
			}
			p->i++;
			struct mnode *no = parse_expr(p, 1);
			lhs = node3(p, M_COND, lhs, yes, no);
			continue;
		}
		struct mnode *rhs = parse_expr(p, bo->prec + 1);
		lhs = node(p, bo->m, lhs, rhs);
	}
}

/* The parser builds a chain "A + B + C" as ((A + B) + C): most metas
   are such chains of + or || over dozens of rules, and walking them
   recursively was the larger part of evaluating the metas.  A chain of
   one operator down the left side becomes one node over an array of the
   operands, evaluated left to right: the same operations in the same
   order, so the same result (floating-point sums included).  A
   parenthesised chain on the right stays a node of its own. */
static void flatten(struct pool *pool, struct mnode *n)
{
	if (n == NULL)
		return;
	enum mop op = n->op, to;
	switch (op) {
	case M_ADD: to = M_SUM; break;
	case M_OR: to = M_ANY; break;
	case M_AND: to = M_ALL; break;
	default:
		flatten(pool, n->a);
		flatten(pool, n->b);
		flatten(pool, n->c);
		return;
	}
	unsigned k = 1;
	const struct mnode *x;
	for (x = n; x->op == op; x = x->a)
		k++;
	struct mnode **kids = pool_alloc(pool, sizeof(*kids) * k);
	unsigned i = k;
	struct mnode *y;
	for (y = n; y->op == op; y = y->a)
		kids[--i] = y->b;
	kids[0] = y;
	for (i = 0; i < k; i++)
		flatten(pool, kids[i]);
	n->op = to;
	n->kids = kids;
	n->n_kids = k;
	n->a = n->b = NULL;
}

struct sa_meta *sa_meta_parse(struct sa_engine *e, struct sa_rule *r,
			      const char *expr, const char **error_r)
{
	struct mparser p = { .pool = e->pool };
	struct sa_meta *m = pool_alloc(e->pool, sizeof(*m));

	(void)r;
	/* Bug 7557: no Perl sneaking in. */
	if (strstr(expr, "::") != NULL || strstr(expr, "->") != NULL ||
	    strpbrk(expr, "$@%;{}") != NULL) {
		*error_r = "invalid characters in meta";
		return NULL;
	}
	if (lex(e->pool, expr, &p.t, &p.n, error_r) < 0)
		return NULL;
	p.m = m;
	m->root = parse_expr(&p, 0);
	if (p.err == NULL && p.t[p.i].kind != T_END)
		p.err = "trailing tokens";
	if (p.err != NULL) {
		*error_r = p.err;
		return NULL;
	}
	flatten(e->pool, m->root);
	return m;
}

void sa_meta_names(const struct sa_meta *m,
		   void (*fn)(void *ctx, const char *name, unsigned *slot), void *ctx)
{
	for (unsigned i = 0; i < m->n_names; i++)
		fn(ctx, m->name_nodes[i]->name, &m->name_nodes[i]->slot);
}

/* Perl's numeric ^ works on unsigned integers: a negative number is
   its IV in two's complement, what is out of range saturates, NaN is 0
   (perl -e 'print -2.7 ^ 0, 1e30 ^ 0').  A plain cast would be undefined
   out of range. */
static uint64_t to_uv(double d)
{
	if (d >= 18446744073709551616.0)
		return UINT64_MAX;
	if (d >= 0)
		return (uint64_t)d;
	if (d < 0)
		return d <= -9223372036854775808.0 ? (uint64_t)INT64_MIN : (uint64_t)(int64_t)d;
	return 0;
}

static double ev(const struct mnode *n, const double *v);

static inline double operand(const struct mnode *n, const double *v)
{
	if (n->op == M_RULE)
		return n->slot == ~0u ? 0.0 : v[n->slot];
	return ev(n, v);
}

static double ev(const struct mnode *n, const double *v)
{
	double a, b;
	switch (n->op) {
	case M_SUM:
		a = operand(n->kids[0], v);
		for (unsigned i = 1; i < n->n_kids; i++)
			a += operand(n->kids[i], v);
		return a;
	case M_ANY:
		for (unsigned i = 0;; i++) {
			a = operand(n->kids[i], v);
			if (a != 0.0 || i + 1 == n->n_kids)
				return a;
		}
	case M_ALL:
		for (unsigned i = 0;; i++) {
			a = operand(n->kids[i], v);
			if (a == 0.0 || i + 1 == n->n_kids)
				return a;
		}
	case M_NUM: return n->num;
	case M_RULE: return n->slot == ~0u ? 0.0 : v[n->slot];
	case M_NOT: return operand(n->a, v) != 0.0 ? 0.0 : 1.0;
	case M_NEG: return -operand(n->a, v);
	case M_MUL: return operand(n->a, v) * operand(n->b, v);
	case M_DIV:
		b = operand(n->b, v);
		return b == 0.0 ? 0.0 : operand(n->a, v) / b;
	case M_ADD: return operand(n->a, v) + operand(n->b, v);
	case M_SUB: return operand(n->a, v) - operand(n->b, v);
	case M_LT: return operand(n->a, v) < operand(n->b, v);
	case M_GT: return operand(n->a, v) > operand(n->b, v);
	case M_LE: return operand(n->a, v) <= operand(n->b, v);
	case M_GE: return operand(n->a, v) >= operand(n->b, v);
	case M_EQ: return operand(n->a, v) == operand(n->b, v);
	case M_NE: return operand(n->a, v) != operand(n->b, v);
	case M_XOR:
		return (double)(to_uv(operand(n->a, v)) ^ to_uv(operand(n->b, v)));
	case M_AND:
		a = operand(n->a, v);
		return a != 0.0 ? operand(n->b, v) : a;
	case M_OR:
		a = operand(n->a, v);
		return a != 0.0 ? a : operand(n->b, v);
	case M_COND:
		return operand(n->a, v) != 0.0 ? operand(n->b, v) : operand(n->c, v);
	}
	return 0.0;
}

double sa_meta_eval(const struct sa_meta *m, const double *values)
{
	return m->root != NULL ? operand(m->root, values) : 0.0;
}

/*
 * Range evaluation: what ev() can return when each rule's value is only
 * known to lie in a range (a deferred rule: [0, 1]).  Each case follows
 * ev() -- Perl's && and || return an operand, not a boolean -- and
 * widens where it cannot decide; a range that is a single point is
 * exactly ev()'s value, computed in the same order.
 */
struct range {
	double lo, hi;
};

static const struct range R_ANY = { -INFINITY, INFINITY };

static bool r_point(struct range r)
{
	return r.lo == r.hi;
}

static bool r_zero(struct range r)
{
	return r.lo == 0.0 && r.hi == 0.0;
}

static bool r_nonzero(struct range r)
{
	return r.lo > 0.0 || r.hi < 0.0;
}

static struct range r_join(struct range a, struct range b)
{
	struct range r = { a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi };
	return r;
}

static struct range r_bool(bool known, bool value)
{
	struct range r = { known && value ? 1.0 : 0.0, !known || value ? 1.0 : 0.0 };
	return r;
}

static struct range er(const struct mnode *n, const double *lo, const double *hi);

static struct range r_operand(const struct mnode *n, const double *lo, const double *hi)
{
	if (n->op == M_RULE) {
		struct range r = { 0.0, 0.0 };
		if (n->slot != ~0u) {
			r.lo = lo[n->slot];
			r.hi = hi[n->slot];
		}
		return r;
	}
	return er(n, lo, hi);
}

/* NaN anywhere: nothing known */
static struct range r_check(struct range r)
{
	return isnan(r.lo) || isnan(r.hi) ? R_ANY : r;
}

static struct range er(const struct mnode *n, const double *lo, const double *hi)
{
	struct range a, b, r;
	switch (n->op) {
	case M_SUM:
		a = r_operand(n->kids[0], lo, hi);
		for (unsigned i = 1; i < n->n_kids; i++) {
			b = r_operand(n->kids[i], lo, hi);
			a.lo += b.lo;
			a.hi += b.hi;
		}
		return r_check(a);
	case M_ANY: {
		/* the first operand that is not 0, or the last */
		bool have = false;
		for (unsigned i = 0;; i++) {
			a = r_operand(n->kids[i], lo, hi);
			bool last = i + 1 == n->n_kids;
			if (!r_zero(a) || last) {
				r = have ? r_join(r, a) : a;
				have = true;
			}
			if (last || r_nonzero(a))
				return r;
		}
	}
	case M_ALL: {
		/* the first operand that is 0, or the last */
		static const struct range zero = { 0.0, 0.0 };
		bool have = false;
		for (unsigned i = 0;; i++) {
			a = r_operand(n->kids[i], lo, hi);
			bool last = i + 1 == n->n_kids;
			if (last) {
				r = have ? r_join(r, a) : a;
				return r;
			}
			if (!r_nonzero(a)) {
				r = have ? r_join(r, zero) : zero;
				have = true;
				if (r_zero(a))
					return r;
			}
		}
	}
	case M_NUM:
		r.lo = r.hi = n->num;
		return r;
	case M_RULE:
		return r_operand(n, lo, hi);
	case M_NOT:
		a = r_operand(n->a, lo, hi);
		return r_bool(r_nonzero(a) || r_zero(a), r_zero(a));
	case M_NEG:
		a = r_operand(n->a, lo, hi);
		r.lo = -a.hi;
		r.hi = -a.lo;
		return r;
	case M_MUL:
	case M_DIV:
	case M_XOR:
		/* exact on points, nothing known otherwise */
		a = r_operand(n->a, lo, hi);
		b = r_operand(n->b, lo, hi);
		if (!r_point(a) || !r_point(b))
			return R_ANY;
		if (n->op == M_MUL)
			r.lo = a.lo * b.lo;
		else if (n->op == M_DIV)
			r.lo = b.lo == 0.0 ? 0.0 : a.lo / b.lo;
		else
			r.lo = (double)(to_uv(a.lo) ^ to_uv(b.lo));
		r.hi = r.lo;
		return r_check(r);
	case M_ADD:
	case M_SUB:
		a = r_operand(n->a, lo, hi);
		b = r_operand(n->b, lo, hi);
		if (n->op == M_ADD) {
			r.lo = a.lo + b.lo;
			r.hi = a.hi + b.hi;
		} else {
			r.lo = a.lo - b.hi;
			r.hi = a.hi - b.lo;
		}
		return r_check(r);
	case M_LT:
	case M_GT:
	case M_LE:
	case M_GE:
	case M_EQ:
	case M_NE: {
		a = r_operand(n->a, lo, hi);
		b = r_operand(n->b, lo, hi);
		if (r_point(a) && r_point(b)) {
			double x = a.lo, y = b.lo;
			bool v = n->op == M_LT ? x < y : n->op == M_GT ? x > y :
				 n->op == M_LE ? x <= y : n->op == M_GE ? x >= y :
				 n->op == M_EQ ? x == y : x != y;
			return r_bool(true, v);
		}
		/* a < b for every value, or for none */
		bool yes, no;
		switch (n->op) {
		case M_LT: yes = a.hi < b.lo; no = a.lo >= b.hi; break;
		case M_GT: yes = a.lo > b.hi; no = a.hi <= b.lo; break;
		case M_LE: yes = a.hi <= b.lo; no = a.lo > b.hi; break;
		case M_GE: yes = a.lo >= b.hi; no = a.hi < b.lo; break;
		case M_EQ: yes = false; no = a.hi < b.lo || a.lo > b.hi; break;
		default: yes = a.hi < b.lo || a.lo > b.hi; no = false; break;
		}
		return r_bool(yes || no, yes);
	}
	case M_AND:
		a = r_operand(n->a, lo, hi);
		if (r_zero(a))
			return a;
		b = r_operand(n->b, lo, hi);
		if (r_nonzero(a))
			return b;
		r.lo = 0.0;
		r.hi = 0.0;
		return r_join(r, b);
	case M_OR:
		a = r_operand(n->a, lo, hi);
		if (r_nonzero(a))
			return a;
		b = r_operand(n->b, lo, hi);
		if (r_zero(a))
			return b;
		return r_join(a, b);
	case M_COND:
		a = r_operand(n->a, lo, hi);
		if (r_nonzero(a))
			return r_operand(n->b, lo, hi);
		if (r_zero(a))
			return r_operand(n->c, lo, hi);
		return r_join(r_operand(n->b, lo, hi), r_operand(n->c, lo, hi));
	}
	return R_ANY;
}

void sa_meta_eval_range(const struct sa_meta *m, const double *lo, const double *hi,
			double *lo_r, double *hi_r)
{
	struct range r = { 0.0, 0.0 };
	if (m->root != NULL)
		r = r_operand(m->root, lo, hi);
	*lo_r = r.lo;
	*hi_r = r.hi;
}

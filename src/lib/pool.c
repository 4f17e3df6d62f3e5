#include "pool.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_ALIGN 16
#define POOL_DEFAULT_SIZE 4096

struct pool_block {
	struct pool_block *next;
	size_t size, used;
	/* data follows, aligned */
	_Alignas(POOL_ALIGN) unsigned char data[];
};

struct pool {
	const char *name;
	struct pool_block *blocks;   /* current block first */
	size_t first_size;
	size_t used;
	int debug;
	/* debug mode: every allocation is its own chunk on this list */
	struct debug_chunk *chunks;
	/* blocks pool_clear() kept for reuse (pool_set_retain) */
	struct pool_block *spare;
	size_t spare_size, retain;
};

struct debug_chunk {
	struct debug_chunk *next;
	_Alignas(POOL_ALIGN) unsigned char data[];
};

static int pool_debug_mode(void)
{
	static int mode = -1;
	if (mode < 0) {
		const char *env = getenv("OMBU_POOL_DEBUG");
#ifdef OMBU_POOL_DEBUG_DEFAULT
		mode = env == NULL || strcmp(env, "0") != 0;
#else
		mode = env != NULL && strcmp(env, "0") != 0;
#endif
	}
	return mode;
}

static struct pool_block *block_new(size_t size)
{
	struct pool_block *b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct pool *pool_create(const char *name, size_t initial_size)
{
	struct pool *p = xcalloc(1, sizeof(*p));
	p->name = name;
	p->debug = pool_debug_mode();
	p->first_size = initial_size ? initial_size : POOL_DEFAULT_SIZE;
	if (!p->debug)
		p->blocks = block_new(p->first_size);
	return p;
}

static void free_rest(struct pool *p, int keep_first)
{
	struct debug_chunk *c = p->chunks;
	while (c != NULL) {
		struct debug_chunk *n = c->next;
		free(c);
		c = n;
	}
	p->chunks = NULL;

	/* The first block allocated is the last on the list. */
	struct pool_block *b = p->blocks, *last = NULL;
	while (b != NULL) {
		struct pool_block *n = b->next;
		if (n == NULL && keep_first) {
			last = b;
			break;
		}
		if (keep_first && p->spare_size + b->size <= p->retain) {
			b->next = p->spare;
			p->spare = b;
			p->spare_size += b->size;
		} else {
			free(b);
		}
		b = n;
	}
	if (!keep_first) {
		while (p->spare != NULL) {
			struct pool_block *n = p->spare->next;
			free(p->spare);
			p->spare = n;
		}
		p->spare_size = 0;
	}
	p->blocks = last;
	if (last != NULL)
		last->used = 0;
	p->used = 0;
}

void pool_set_retain(struct pool *p, size_t bytes)
{
	p->retain = bytes;
}

/* A spare block of at least need bytes, or a new one of size bytes. */
static struct pool_block *block_get(struct pool *p, size_t need, size_t size)
{
	for (struct pool_block **bp = &p->spare; *bp != NULL; bp = &(*bp)->next) {
		struct pool_block *b = *bp;
		if (b->size >= need) {
			*bp = b->next;
			p->spare_size -= b->size;
			b->next = NULL;
			b->used = 0;
			return b;
		}
	}
	return block_new(size);
}

void pool_clear(struct pool *p)
{
	free_rest(p, 1);
}

void pool_destroy(struct pool **pp)
{
	struct pool *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	free_rest(p, 0);
	free(p);
}

void *pool_alloc_nz(struct pool *p, size_t size)
{
	if (size == 0)
		size = 1;
	p->used += size;
	if (p->debug) {
		if (size > SIZE_MAX - sizeof(struct debug_chunk))
			ombu_oom();
		struct debug_chunk *c = xmalloc(sizeof(*c) + size);
		c->next = p->chunks;
		p->chunks = c;
		return c->data;
	}
	size_t asize = (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	if (asize < size)
		ombu_oom();
	struct pool_block *b = p->blocks;
	if (b == NULL || b->size - b->used < asize) {
		size_t bsize = b == NULL ? p->first_size : b->size * 2;
		if (bsize > 1024 * 1024)
			bsize = 1024 * 1024;
		if (bsize < asize)
			bsize = asize;
		if (asize > bsize / 4 && b != NULL && b->size - b->used > 256) {
			/* Big allocation: give it a block of its own behind the
			 * current one, so the current block's free space is kept. */
			struct pool_block *own = block_get(p, asize, asize);
			own->used = asize;
			own->next = b->next;
			b->next = own;
			return own->data;
		}
		struct pool_block *nb = block_get(p, asize, bsize);
		nb->next = b;
		p->blocks = nb;
		b = nb;
	}
	void *r = b->data + b->used;
	b->used += asize;
	return r;
}

void *pool_alloc(struct pool *p, size_t size)
{
	void *r = pool_alloc_nz(p, size);
	memset(r, 0, size);
	return r;
}

void *pool_realloc(struct pool *p, void *old, size_t old_size, size_t new_size)
{
	if (new_size <= old_size && old != NULL)
		return old;
	void *r = pool_alloc_nz(p, new_size);
	if (old != NULL && old_size > 0)
		memcpy(r, old, old_size);
	return r;
}

void *pool_memdup(struct pool *p, const void *src, size_t len)
{
	void *r = pool_alloc_nz(p, len);
	if (len > 0)
		memcpy(r, src, len);
	return r;
}

char *pool_strndup(struct pool *p, const char *s, size_t len)
{
	char *r = pool_alloc_nz(p, len + 1);
	if (len > 0)
		memcpy(r, s, len);
	r[len] = '\0';
	return r;
}

char *pool_strdup(struct pool *p, const char *s)
{
	if (s == NULL)
		return NULL;
	return pool_strndup(p, s, strlen(s));
}

char *pool_vprintf(struct pool *p, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	char *r = pool_alloc_nz(p, (size_t)n + 1);
	vsnprintf(r, (size_t)n + 1, fmt, ap);
	return r;
}

char *pool_printf(struct pool *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *r = pool_vprintf(p, fmt, ap);
	va_end(ap);
	return r;
}

size_t pool_used(const struct pool *p)
{
	return p->used;
}

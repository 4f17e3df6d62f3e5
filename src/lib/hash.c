#include "hash.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct hash_slot {
	uint64_t h;       /* 0 = empty */
	void *key;
	size_t klen;
	void *value;
};

struct hash {
	struct hash_slot *slots;
	size_t cap, count;
};

static uint64_t sip_key[2];
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_init(void)
{
	random_bytes(sip_key, sizeof(sip_key));
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

uint64_t hash_bytes(const void *data, size_t len)
{
	pthread_once(&sip_once, sip_init);
	const unsigned char *in = data;
	uint64_t k0 = sip_key[0], k1 = sip_key[1];
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t i;
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m;
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct hash *hash_create(size_t initial)
{
	struct hash *h = xcalloc(1, sizeof(*h));
	size_t cap = 16;
	while (cap < initial * 2)
		cap *= 2;
	h->cap = cap;
	h->slots = xcalloc(cap, sizeof(*h->slots));
	return h;
}

void hash_clear(struct hash *h, void (*free_value)(void *))
{
	for (size_t i = 0; i < h->cap; i++) {
		if (h->slots[i].h != 0) {
			if (free_value != NULL)
				free_value(h->slots[i].value);
			free(h->slots[i].key);
		}
	}
	memset(h->slots, 0, h->cap * sizeof(*h->slots));
	h->count = 0;
}

void hash_destroy(struct hash **hp)
{
	struct hash *h = *hp;
	if (h == NULL)
		return;
	*hp = NULL;
	hash_clear(h, NULL);
	free(h->slots);
	free(h);
}

static uint64_t key_hash(const void *key, size_t klen)
{
	uint64_t v = hash_bytes(key, klen);
	return v == 0 ? 1 : v;
}

static ptrdiff_t find_slot(const struct hash *h, uint64_t hv, const void *key, size_t klen)
{
	size_t mask = h->cap - 1;
	for (size_t i = hv & mask;; i = (i + 1) & mask) {
		const struct hash_slot *s = &h->slots[i];
		if (s->h == 0)
			return -1 - (ptrdiff_t)i;
		if (s->h == hv && s->klen == klen && memcmp(s->key, key, klen) == 0)
			return (ptrdiff_t)i;
	}
}

void *hash_get(const struct hash *h, const void *key, size_t klen)
{
	ptrdiff_t i = find_slot(h, key_hash(key, klen), key, klen);
	return i >= 0 ? h->slots[i].value : NULL;
}

static void grow(struct hash *h)
{
	struct hash_slot *old = h->slots;
	size_t ocap = h->cap;
	h->cap *= 2;
	h->slots = xcalloc(h->cap, sizeof(*h->slots));
	size_t mask = h->cap - 1;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].h == 0)
			continue;
		size_t j = old[i].h & mask;
		while (h->slots[j].h != 0)
			j = (j + 1) & mask;
		h->slots[j] = old[i];
	}
	free(old);
}

void *hash_put(struct hash *h, const void *key, size_t klen, void *value)
{
	uint64_t hv = key_hash(key, klen);
	ptrdiff_t i = find_slot(h, hv, key, klen);
	if (i >= 0) {
		void *prev = h->slots[i].value;
		h->slots[i].value = value;
		return prev;
	}
	if ((h->count + 1) * 4 > h->cap * 3) {
		grow(h);
		i = find_slot(h, hv, key, klen);
	}
	struct hash_slot *s = &h->slots[-1 - i];
	s->h = hv;
	s->key = xmalloc(klen ? klen : 1);
	memcpy(s->key, key, klen);
	s->klen = klen;
	s->value = value;
	h->count++;
	return NULL;
}

void *hash_remove(struct hash *h, const void *key, size_t klen)
{
	ptrdiff_t found = find_slot(h, key_hash(key, klen), key, klen);
	if (found < 0)
		return NULL;
	size_t i = (size_t)found, mask = h->cap - 1;
	void *value = h->slots[i].value;
	free(h->slots[i].key);
	h->slots[i].h = 0;
	h->count--;
	/* Backward-shift deletion keeps probe chains intact. */
	for (size_t j = (i + 1) & mask; h->slots[j].h != 0; j = (j + 1) & mask) {
		size_t home = h->slots[j].h & mask;
		bool move = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
		if (move) {
			h->slots[i] = h->slots[j];
			h->slots[j].h = 0;
			i = j;
		}
	}
	return value;
}

size_t hash_count(const struct hash *h)
{
	return h->count;
}

bool hash_iter(const struct hash *h, size_t *iter, const void **key,
	       size_t *klen, void **value)
{
	for (size_t i = *iter; i < h->cap; i++) {
		if (h->slots[i].h != 0) {
			if (key != NULL)
				*key = h->slots[i].key;
			if (klen != NULL)
				*klen = h->slots[i].klen;
			if (value != NULL)
				*value = h->slots[i].value;
			*iter = i + 1;
			return true;
		}
	}
	*iter = h->cap;
	return false;
}

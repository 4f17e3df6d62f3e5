#include "anvil.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define KEY_MAX 48
#define PROBE 32

struct slot {
	char key[KEY_MAX];
	uint64_t last_used_ms;
	uint32_t conns;
	uint32_t used;
	struct {
		uint64_t start_ms;
		uint32_t count;
	} win[ANVIL_WINDOWS];
	uint64_t until[ANVIL_UNTILS];
};

struct anvil_shared {
	pthread_mutex_t lock;
	uint64_t seed;
	size_t n_slots;
	struct slot slots[];
};

struct anvil {
	struct anvil_shared *sh;
	size_t map_size;
};

uint64_t anvil_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct anvil *anvil_create(size_t slots, const char **error_r)
{
	if (slots < 64)
		slots = 64;
	size_t size = sizeof(struct anvil_shared) + slots * sizeof(struct slot);
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		*error_r = strerror(errno);
		return NULL;
	}
	struct anvil_shared *sh = m;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&sh->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	random_bytes(&sh->seed, sizeof(sh->seed));
	sh->n_slots = slots;
	struct anvil *a = xcalloc(1, sizeof(*a));
	a->sh = sh;
	a->map_size = size;
	return a;
}

void anvil_destroy(struct anvil **ap)
{
	struct anvil *a = *ap;
	if (a == NULL)
		return;
	*ap = NULL;
	munmap(a->sh, a->map_size);
	free(a);
}

static void lock(struct anvil *a)
{
	int r = pthread_mutex_lock(&a->sh->lock);
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&a->sh->lock);
}

static void unlock(struct anvil *a)
{
	pthread_mutex_unlock(&a->sh->lock);
}

static uint64_t key_hash(uint64_t seed, const char *key)
{
	uint64_t h = 1469598103934665603ull ^ seed;
	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

/* The slot for key (created when `create`), or NULL. */
static struct slot *find(struct anvil *a, const char *key, bool create, uint64_t now)
{
	struct anvil_shared *sh = a->sh;
	char k[KEY_MAX];
	str_copy(k, key, sizeof(k));
	size_t start = key_hash(sh->seed, k) % sh->n_slots;
	struct slot *victim = NULL;
	for (size_t i = 0; i < PROBE; i++) {
		struct slot *s = &sh->slots[(start + i) % sh->n_slots];
		if (s->used && strcmp(s->key, k) == 0) {
			s->last_used_ms = now;
			return s;
		}
		if (!s->used) {
			if (victim == NULL || victim->used)
				victim = s;
		} else if (s->conns == 0 && (victim == NULL ||
					     (victim->used && s->last_used_ms < victim->last_used_ms))) {
			victim = s;
		}
	}
	if (!create || victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	str_copy(victim->key, k, sizeof(victim->key));
	victim->used = 1;
	victim->last_used_ms = now;
	return victim;
}

uint32_t anvil_connect(struct anvil *a, const char *key)
{
	lock(a);
	struct slot *s = find(a, key, true, anvil_now_ms());
	uint32_t n = s != NULL ? ++s->conns : 1;
	unlock(a);
	return n;
}

void anvil_disconnect(struct anvil *a, const char *key)
{
	lock(a);
	struct slot *s = find(a, key, false, anvil_now_ms());
	if (s != NULL && s->conns > 0)
		s->conns--;
	unlock(a);
}

uint32_t anvil_connections(struct anvil *a, const char *key)
{
	lock(a);
	struct slot *s = find(a, key, false, anvil_now_ms());
	uint32_t n = s != NULL ? s->conns : 0;
	unlock(a);
	return n;
}

uint32_t anvil_count(struct anvil *a, const char *key, unsigned which, uint32_t n,
		     uint64_t window_ms)
{
	if (which >= ANVIL_WINDOWS)
		return 0;
	uint64_t now = anvil_now_ms();
	lock(a);
	struct slot *s = find(a, key, n > 0, now);
	uint32_t c = 0;
	if (s != NULL) {
		if (now - s->win[which].start_ms >= window_ms || s->win[which].start_ms == 0) {
			s->win[which].start_ms = now;
			s->win[which].count = 0;
		}
		s->win[which].count += n;
		c = s->win[which].count;
	}
	unlock(a);
	return c;
}

void anvil_set_until(struct anvil *a, const char *key, unsigned which, uint64_t until_ms)
{
	if (which >= ANVIL_UNTILS)
		return;
	lock(a);
	struct slot *s = find(a, key, true, anvil_now_ms());
	if (s != NULL)
		s->until[which] = until_ms;
	unlock(a);
}

uint64_t anvil_until(struct anvil *a, const char *key, unsigned which)
{
	if (which >= ANVIL_UNTILS)
		return 0;
	lock(a);
	struct slot *s = find(a, key, false, anvil_now_ms());
	uint64_t u = s != NULL ? s->until[which] : 0;
	unlock(a);
	return u;
}

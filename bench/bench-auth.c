/*
 * Password verification cost: cold (yescrypt every time, as on a cache
 * miss) and warm (through the verified-credentials cache), and the whole
 * dir_authenticate() path (SQLite user lookup + cache).
 *
 *   build/bench/bench-auth [users] [seconds]
 */

#include "directory/directory.h"
#include "lib/config.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double now_s(void)
{
	return (double)time_monotonic_us() / 1e6;
}

struct cold_arg {
	const char *hash;
	double seconds;
	unsigned long count;
};

static void *cold_thread(void *p)
{
	struct cold_arg *a = p;
	double end = now_s() + a->seconds;
	while (now_s() < end) {
		if (dir_password_verify("password-1", a->hash) != 1)
			abort();
		a->count++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int users = argc > 1 ? atoi(argv[1]) : 1000;
	double seconds = argc > 2 ? atof(argv[2]) : 3.0;
	char dbpath[256], ov[300];
	snprintf(dbpath, sizeof(dbpath), "/tmp/ombu-bench-auth-%d.sqlite", (int)getpid());
	snprintf(ov, sizeof(ov), "directory.path=%s", dbpath);
	const char *ovs[] = { ov };
	config_register(directory_config_keys);
	char *err;
	struct config *cfg = config_load(NULL, "/tmp", ovs, 1, true, &err);
	const char *e;
	struct directory *dir = directory_open(cfg, &e);
	if (dir == NULL) {
		fprintf(stderr, "%s\n", e);
		return 1;
	}
	dir_domain_add(dir, "example.test", &e);
	char *hash;
	dir_password_hash("password-1", &hash, &e);
	for (int i = 0; i < users; i++) {
		char addr[64];
		snprintf(addr, sizeof(addr), "user%d@example.test", i);
		struct dir_user_settings set = { .password_hash = hash };
		dir_user_add(dir, addr, &set, &e);
	}
	printf("hash: %.8s... (yescrypt, libxcrypt default cost)\n", hash);

	/* cold, 1 and 2 threads */
	for (int threads = 1; threads <= 2; threads++) {
		pthread_t t[2];
		struct cold_arg a[2] = { { hash, seconds, 0 }, { hash, seconds, 0 } };
		double t0 = now_s();
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, cold_thread, &a[i]);
		unsigned long total = 0;
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			total += a[i].count;
		}
		double el = now_s() - t0;
		printf("cold verify, %d thread%s: %.1f verifications/s (%.2f ms each)\n", threads,
		       threads > 1 ? "s" : "", total / el, 1000.0 * el * threads / total);
	}

	/* warm: fill the cache, then the cache check alone */
	struct pool *pool = pool_create("bench", 0);
	struct dir_user **u = xcalloc((size_t)users, sizeof(*u));
	for (int i = 0; i < users; i++) {
		char addr[64];
		snprintf(addr, sizeof(addr), "user%d@example.test", i);
		if (dir_authenticate(dir, pool, addr, "password-1", &u[i], &e) != DIR_AUTH_OK)
			abort();
	}
	unsigned long n = 0;
	double t0 = now_s(), end = t0 + seconds;
	while (now_s() < end) {
		for (int k = 0; k < 1000; k++) {
			if (dir_auth_cache_check(dir, u[n % (unsigned)users], "password-1") != 1)
				abort();
			n++;
		}
	}
	double el = now_s() - t0;
	printf("warm cache verification: %.0f/s, %.2f us each\n", n / el, 1e6 * el / n);

	/* the whole login path: SQLite lookup + cache */
	n = 0;
	t0 = now_s();
	end = t0 + seconds;
	while (now_s() < end) {
		char addr[64];
		snprintf(addr, sizeof(addr), "user%lu@example.test", n % (unsigned long)users);
		struct dir_user *du;
		if (dir_authenticate(dir, pool, addr, "password-1", &du, &e) != DIR_AUTH_OK)
			abort();
		n++;
		if (n % 1000 == 0)
			pool_clear(pool);
	}
	el = now_s() - t0;
	printf("warm dir_authenticate (lookup + cache): %.0f/s, %.2f us each\n", n / el, 1e6 * el / n);
	struct dir_auth_stats st;
	dir_auth_stats(dir, &st);
	printf("hashes computed in the warm phases: %llu (expected %d, one per user)\n",
	       (unsigned long long)st.hashes, users);
	directory_close(&dir);
	config_free(&cfg);
	pool_destroy(&pool);
	free(u);
	free(hash);
	unlink(dbpath);
	char p[300];
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

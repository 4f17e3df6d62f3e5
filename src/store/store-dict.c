/*
 * zstd dictionaries trained on the volume's own mail.  A mail body of a
 * few kilobytes compresses to about 45 % alone, but to under 30 % with a
 * dictionary that knows what mail headers look like.  The first
 * store.dict_after bodies are compressed plainly; then a dictionary is
 * trained from the packed bodies and used from then on.  Every
 * dictionary ever used is kept (blobs/dict/<id>.zdict): a frame names
 * its dictionary, so old bodies stay readable.  `ombu store gc`
 * recompresses packed bodies with the current dictionary.
 */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
#include <zstd.h>
#include <zstd_errors.h>

#define DICT_SIZE (112 * 1024)
#define SAMPLES_PER_SHARD 160
#define SAMPLE_MAX 8192
#define CHECK_INTERVAL_US 5000000

static __thread ZSTD_CCtx *cctx;
static __thread ZSTD_DCtx *dctx;

static void dict_dir(const struct store *st, char *out, size_t size)
{
	snprintf(out, size, "%s/blobs/dict", st->root);
}

static int read_all(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(out, chunk, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

static ZSTD_DDict *ddict_get(struct store *st, uint32_t id)
{
	struct store_dicts *d = &st->dicts;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_dd; i++) {
		if (d->dd[i].id == id) {
			ZSTD_DDict *r = d->dd[i].ddict;
			pthread_mutex_unlock(&d->lock);
			return r;
		}
	}
	char dir[4096], path[4200];
	dict_dir(st, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%08x.zdict", dir, id);
	struct buf b;
	buf_init(&b, 0);
	ZSTD_DDict *dd = NULL;
	if (read_all(path, &b) == 0 && d->n_dd < N_ELEMENTS(d->dd)) {
		dd = ZSTD_createDDict(b.data, b.len);
		if (dd != NULL) {
			d->dd[d->n_dd].id = id;
			d->dd[d->n_dd].ddict = dd;
			d->n_dd++;
		}
	}
	buf_free(&b);
	pthread_mutex_unlock(&d->lock);
	return dd;
}

/* Picks up a dictionary trained by another process (checked every few
 * seconds: one stat). */
static void refresh_current(struct store *st)
{
	struct store_dicts *d = &st->dicts;
	uint64_t now = time_monotonic_us();
	if (now - d->last_check_us < CHECK_INTERVAL_US && d->last_check_us != 0)
		return;
	d->last_check_us = now;
	char dir[4096], path[4200];
	dict_dir(st, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/current", dir);
	struct stat sb;
	if (stat(path, &sb) < 0 || sb.st_mtime == d->cur_mtime)
		return;
	struct buf b;
	buf_init(&b, 64);
	uint32_t id = 0;
	if (read_all(path, &b) == 0 && b.len > 0)
		id = (uint32_t)strtoul(buf_cstr(&b), NULL, 16);
	buf_free(&b);
	if (id == 0 || id == d->cur_id)
		return;
	snprintf(path, sizeof(path), "%s/%08x.zdict", dir, id);
	buf_init(&b, 0);
	if (read_all(path, &b) == 0) {
		/* A compression running without the lock may still use the
		 * old one: it is freed with the store.  After a few changes
		 * in one process's life the old one simply stays (every
		 * dictionary remains readable). */
		ZSTD_CDict *cd = d->n_retired < N_ELEMENTS(d->retired)
			? ZSTD_createCDict(b.data, b.len, st->level) : NULL;
		if (cd != NULL) {
			if (d->cdict != NULL)
				d->retired[d->n_retired++] = d->cdict;
			d->cdict = cd;
			d->cur_id = id;
			d->cur_mtime = sb.st_mtime;
			log_info("store.dictionary", "id=%08x bytes=%zu", id, b.len);
		}
	}
	buf_free(&b);
}

static size_t compress(struct store *st, const void *src, size_t len, void *dst, size_t cap,
		       bool *used_dict_r, bool body)
{
	struct store_dicts *d = &st->dicts;
	if (cctx == NULL)
		cctx = ZSTD_createCCtx();
	pthread_mutex_lock(&d->lock);
	refresh_current(st);
	ZSTD_CDict *cd = d->cdict;
	/* only bodies count towards training: the dictionary is trained
	 * from them */
	if (cd == NULL && body)
		d->plain_written++;
	pthread_mutex_unlock(&d->lock);
	/* without the lock: every delivery thread compresses, and a
	 * replaced dictionary stays alive until the store closes */
	size_t r;
	if (cd != NULL)
		r = ZSTD_compress_usingCDict(cctx, dst, cap, src, len, cd);
	else
		r = ZSTD_compressCCtx(cctx, dst, cap, src, len, st->level);
	*used_dict_r = cd != NULL;
	return r;
}

size_t dict_compress(struct store *st, const void *src, size_t len, void *dst, size_t cap,
		     bool *used_dict_r)
{
	return compress(st, src, len, dst, cap, used_dict_r, true);
}

size_t dict_compress_cache(struct store *st, const void *src, size_t len, void *dst, size_t cap)
{
	bool with;
	return compress(st, src, len, dst, cap, &with, false);
}

size_t dict_decompress(struct store *st, const void *z, size_t zlen, void *dst, size_t size)
{
	if (dctx == NULL)
		dctx = ZSTD_createDCtx();
	unsigned id = ZSTD_getDictID_fromFrame(z, zlen);
	if (id == 0)
		return ZSTD_decompressDCtx(dctx, dst, size, z, zlen);
	ZSTD_DDict *dd = ddict_get(st, id);
	if (dd == NULL)
		return (size_t)-ZSTD_error_dictionary_wrong;
	return ZSTD_decompress_usingDDict(dctx, dst, size, z, zlen, dd);
}

/* Samples: the start of recent packed bodies (headers matter most). */
static void collect_samples(struct store *st, struct buf *samples, size_t **sizes_r, size_t *n_r)
{
	size_t cap = STORE_PACK_SHARDS * SAMPLES_PER_SHARD, n = 0;
	size_t *sizes = xcalloc(cap, sizeof(size_t));
	char *tmp = xmalloc(1 << 20);
	for (int i = 0; i < STORE_PACK_SHARDS; i++) {
		struct pack_shard *p = &st->packs[i];
		pthread_mutex_lock(&p->lock);
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(p->db, "SELECT data, size FROM blobs ORDER BY rowid DESC LIMIT ?",
				       -1, &s, NULL) == SQLITE_OK) {
			sqlite3_bind_int(s, 1, SAMPLES_PER_SHARD);
			while (sqlite3_step(s) == SQLITE_ROW && n < cap) {
				const void *z = sqlite3_column_blob(s, 0);
				size_t zl = (size_t)sqlite3_column_bytes(s, 0);
				size_t sz = (size_t)sqlite3_column_int64(s, 1);
				if (sz > (1 << 20))
					continue;
				size_t got = dict_decompress(st, z, zl, tmp, sz);
				if (ZSTD_isError(got))
					continue;
				size_t take = MIN(got, (size_t)SAMPLE_MAX);
				buf_append(samples, tmp, take);
				sizes[n++] = take;
			}
			sqlite3_finalize(s);
		}
		pthread_mutex_unlock(&p->lock);
	}
	free(tmp);
	*sizes_r = sizes;
	*n_r = n;
}

static int write_file(const char *path, const void *data, size_t len)
{
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	bool ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int dict_train(struct store *st, const char **error_r)
{
	char dir[4096], path[4200];
	dict_dir(st, dir, sizeof(dir));
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		*error_r = store_errf("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	/* one trainer per volume at a time, whatever the process */
	snprintf(path, sizeof(path), "%s/.lock", dir);
	int lfd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (lfd >= 0)
			close(lfd);
		return 0;
	}
	struct buf samples;
	buf_init(&samples, 0);
	size_t *sizes, n;
	collect_samples(st, &samples, &sizes, &n);
	int ret = 0;
	if (n >= 100) {
		void *dict = xmalloc(DICT_SIZE);
		size_t dl = ZDICT_trainFromBuffer(dict, DICT_SIZE, samples.data, sizes, (unsigned)n);
		if (ZDICT_isError(dl)) {
			*error_r = store_errf("dictionary training failed: %s", ZDICT_getErrorName(dl));
			ret = -1;
		} else {
			unsigned id = ZDICT_getDictID(dict, dl);
			char cur[32];
			snprintf(path, sizeof(path), "%s/%08x.zdict", dir, id);
			int len = snprintf(cur, sizeof(cur), "%08x\n", id);
			char cpath[4200];
			snprintf(cpath, sizeof(cpath), "%s/current", dir);
			if (write_file(path, dict, dl) < 0 || fsync_dir(dir) < 0 ||
			    write_file(cpath, cur, (size_t)len) < 0 || fsync_dir(dir) < 0) {
				*error_r = store_errf("cannot save the dictionary: %s", strerror(errno));
				ret = -1;
			} else {
				log_info("store.dictionary_trained", "id=%08x bytes=%zu samples=%zu", id, dl, n);
				st->dicts.last_check_us = 0; /* use it now */
				ret = 1;
			}
		}
		free(dict);
	}
	free(sizes);
	buf_free(&samples);
	close(lfd);
	return ret;
}

static void *train_main(void *arg)
{
	struct store *st = arg;
	struct store_dicts *d = &st->dicts;
	const char *err;
	int r = dict_train(st, &err);
	if (r < 0)
		log_warn("store.dictionary_failed", "error=%s", log_str(err));
	pthread_mutex_lock(&d->lock);
	d->training = false;
	/* failed or not enough samples: try again after as many more */
	if (r <= 0)
		d->plain_written = 0;
	d->last_check_us = 0;
	refresh_current(st);
	pthread_mutex_unlock(&d->lock);
	/* this thread's contexts die with it */
	ZSTD_freeDCtx(dctx);
	dctx = NULL;
	ZSTD_freeCCtx(cctx);
	cctx = NULL;
	return NULL;
}

void dict_maybe_train(struct store *st)
{
	struct store_dicts *d = &st->dicts;
	pthread_mutex_lock(&d->lock);
	if (d->cdict == NULL && d->dict_after > 0 && d->plain_written >= d->dict_after) {
		/* another process may have trained one meanwhile */
		d->last_check_us = 0;
		refresh_current(st);
	}
	bool go = d->cdict == NULL && !d->training && d->dict_after > 0 &&
		  d->plain_written >= d->dict_after;
	if (go)
		d->training = true;
	pthread_mutex_unlock(&d->lock);
	if (!go)
		return;
	/* Training takes a second or two of CPU: on a thread of its own, so
	 * that the delivery that crossed the threshold is answered now, not
	 * after it (its client stalled, and the bench with it).  Only the
	 * thread that set d->training gets here; the previous trainer has
	 * finished, it is only joined now. */
	if (d->trainer_started)
		pthread_join(d->trainer, NULL);
	d->trainer_started = pthread_create(&d->trainer, NULL, train_main, st) == 0;
	if (!d->trainer_started)
		train_main(st);
}

void dict_wait(struct store *st)
{
	struct store_dicts *d = &st->dicts;
	if (d->trainer_started)
		pthread_join(d->trainer, NULL);
	d->trainer_started = false;
}

/* The current dictionary prepared for another level (store gc's). */
static ZSTD_CDict *cdict_at(struct store *st, unsigned id, int level)
{
	char dir[4096], path[4200];
	dict_dir(st, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%08x.zdict", dir, id);
	struct buf b;
	buf_init(&b, 0);
	ZSTD_CDict *cd = read_all(path, &b) == 0 ? ZSTD_createCDict(b.data, b.len, level) : NULL;
	buf_free(&b);
	return cd;
}

/* One packed body at the gc's level with the current dictionary: the
 * new frame into *nz (malloc'd), 0 when it is not smaller. */
static size_t recompress_one(struct store *st, ZSTD_CDict *cd, int level, const void *z,
			     size_t zl, size_t sz, void **nz)
{
	*nz = NULL;
	void *plain = xmalloc(sz ? sz : 1);
	size_t got = dict_decompress(st, z, zl, plain, sz);
	size_t nl = 0;
	if (!ZSTD_isError(got) && got == sz) {
		size_t cap = ZSTD_compressBound(sz);
		*nz = xmalloc(cap);
		nl = cd != NULL ? ZSTD_compress_usingCDict(cctx, *nz, cap, plain, sz, cd)
				: ZSTD_compressCCtx(cctx, *nz, cap, plain, sz, level);
		if (ZSTD_isError(nl) || nl >= zl)
			nl = 0;
	}
	free(plain);
	return nl;
}

/* Bodies written before the current dictionary existed, or at the
 * delivery's fast level, again with the dictionary at the gc's level:
 * delivery is latency-bound and cannot spend level 15's time, the
 * nightly gc can, and bodies are read far less than they are kept
 * (level 3 to 15 makes packed mail about 12 % smaller; decompression
 * is as fast).  Each body once: its row remembers the level. */
int dict_recompress(struct store *st, uint64_t *n_r, const char **error_r)
{
	struct store_dicts *d = &st->dicts;
	pthread_mutex_lock(&d->lock);
	d->last_check_us = 0;
	refresh_current(st);
	unsigned cur = d->cur_id;
	pthread_mutex_unlock(&d->lock);
	int level = st->gc_level > st->level ? st->gc_level : st->level;
	*n_r = 0;
	if (cur == 0 && st->gc_level == 0)
		return 0;
	if (cctx == NULL)
		cctx = ZSTD_createCCtx();
	ZSTD_CDict *cd = cur != 0 ? cdict_at(st, cur, level) : NULL;
	if (cur != 0 && cd == NULL) {
		*error_r = store_errf("cannot load the dictionary %08x", cur);
		return -1;
	}
	int ret = 0;
	for (int i = 0; i < STORE_PACK_SHARDS && ret == 0; i++) {
		struct pack_shard *p = &st->packs[i];
		pthread_mutex_lock(&p->lock);
		sqlite3_stmt *s = NULL, *u = NULL;
		int rc = sqlite3_prepare_v2(p->db, "SELECT rowid, data, size, level FROM blobs", -1, &s, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v2(p->db, "UPDATE blobs SET data = coalesce(?, data), level = ?"
						" WHERE rowid = ?", -1, &u, NULL);
		if (rc != SQLITE_OK) {
			*error_r = store_errf("pack %x: %s", i, sqlite3_errmsg(p->db));
			sqlite3_finalize(s);
			pthread_mutex_unlock(&p->lock);
			ret = -1;
			break;
		}
		sqlite3_exec(p->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		while (sqlite3_step(s) == SQLITE_ROW) {
			const void *z = sqlite3_column_blob(s, 1);
			size_t zl = (size_t)sqlite3_column_bytes(s, 1);
			size_t sz = (size_t)sqlite3_column_int64(s, 2);
			if (ZSTD_getDictID_fromFrame(z, zl) == cur && sqlite3_column_int(s, 3) >= level)
				continue;
			void *nz;
			size_t nl = recompress_one(st, cd, level, z, zl, sz, &nz);
			/* not smaller: the old frame stays, marked as done */
			if (nl > 0)
				sqlite3_bind_blob(u, 1, nz, (int)nl, SQLITE_STATIC);
			sqlite3_bind_int(u, 2, level);
			sqlite3_bind_int64(u, 3, sqlite3_column_int64(s, 0));
			if (sqlite3_step(u) == SQLITE_DONE && nl > 0)
				(*n_r)++;
			sqlite3_reset(u);
			sqlite3_clear_bindings(u);
			free(nz);
		}
		sqlite3_finalize(s);
		sqlite3_finalize(u);
		sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL);
		/* give the freed pages back to the file system */
		sqlite3_exec(p->db, "VACUUM", NULL, NULL, NULL);
		pthread_mutex_unlock(&p->lock);
	}
	if (cd != NULL)
		ZSTD_freeCDict(cd);
	return ret;
}

void dict_free(struct store *st)
{
	struct store_dicts *d = &st->dicts;
	if (d->cdict != NULL)
		ZSTD_freeCDict(d->cdict);
	for (size_t i = 0; i < d->n_retired; i++)
		ZSTD_freeCDict(d->retired[i]);
	d->n_retired = 0;
	for (size_t i = 0; i < d->n_dd; i++)
		ZSTD_freeDDict(d->dd[i].ddict);
	d->cdict = NULL;
	d->n_dd = 0;
	pthread_mutex_destroy(&d->lock);
}

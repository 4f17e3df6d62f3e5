/*
 * libFuzzer target for the SpamAssassin rule files (src/filter/sa-conf.c,
 * sa-meta.c and the finishing in sa-engine.c).
 *
 * Input: a .cf file; a NUL byte, if any, ends it and what follows is a
 * second file in the local folder (overrides).  Both are written to a
 * temporary folder and loaded with sa_engine_load(), then one fixed
 * message (headers, text and HTML parts, URIs) is scanned with and
 * without stats, so that what was compiled also runs.  Besides crashes,
 * leaks and sanitizer reports it checks:
 *  - every warning is one line starting with "<folder>/";
 *  - the active rules are at most the rules;
 *  - the result is consistent: hits by name, no `__` rule among them,
 *    the score the sum of the hits, the same hits with stats.
 */

#include "filter/sa.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static char dir[64], sys_dir[96], local_dir[96], sys_file[128], local_file[128];

static const char msg[] =
	"Received: from mail.example.net (mail.example.net [192.0.2.1])\n"
	"\tby mx.example.org with ESMTP id 1234; Mon, 1 Jan 2024 10:00:00 +0000\n"
	"From: \"Alice Example\" <alice@example.com>\n"
	"To: bob@example.org\n"
	"Cc: carol@example.net\n"
	"Subject: =?utf-8?Q?cheap_pills_Gr=C3=BC=C3=9Fe?=\n"
	"Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
	"Message-ID: <123@spam.example>\n"
	"X-Mailer: Foo Mailer 1.0\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/alternative; boundary=\"b1\"\n"
	"\n"
	"--b1\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"Buy cheap pills now at http://www.example.com/promo and www.example.net\n"
	"spam spam spam\n"
	"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n"
	"--b1\n"
	"Content-Type: text/html; charset=utf-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"<html><body><p>Hello <b>bold</b> world <a href=3D\"http://click.example.net/x\">=\n"
	"click here</a><img src=3D\"http://img.example.com/i.png\"></p></body></html>\n"
	"--b1--\n";

static void cleanup(void)
{
	unlink(sys_file);
	unlink(local_file);
	rmdir(sys_dir);
	rmdir(local_dir);
	rmdir(dir);
}

static void init(void)
{
	/* tmpfs when there is one: a file is written per input */
	const char *tmpl = access("/dev/shm", W_OK) == 0 ? "/dev/shm/fuzz-sa-conf-XXXXXX" :
							   "/tmp/fuzz-sa-conf-XXXXXX";
	str_copy(dir, tmpl, sizeof(dir));
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sys_dir, sizeof(sys_dir), "%s/sys", dir);
	snprintf(local_dir, sizeof(local_dir), "%s/local", dir);
	snprintf(sys_file, sizeof(sys_file), "%s/10_fuzz.cf", sys_dir);
	snprintf(local_file, sizeof(local_file), "%s/local.cf", local_dir);
	CHECK(mkdir(sys_dir, 0700) == 0 && mkdir(local_dir, 0700) == 0);
	atexit(cleanup);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	CHECK(fwrite(data, 1, size, f) == size);
	CHECK(fclose(f) == 0);
}

static void warn(void *ctx, const char *m)
{
	(void)ctx;
	CHECK(strncmp(m, dir, strlen(dir)) == 0);
	CHECK(strchr(m, '\n') == NULL);
}

static void check_result(const struct sa_result *r)
{
	double sum = 0;
	for (size_t i = 0; i < r->n_hits; i++) {
		CHECK(strncmp(r->hits[i].name, "__", 2) != 0);
		CHECK(r->hits[i].describe != NULL);
		CHECK(i == 0 || strcmp(r->hits[i - 1].name, r->hits[i].name) < 0);
		sum += r->hits[i].score;
	}
	/* the score is the sum rounded to 3 decimals */
	if (isfinite(sum) && fabs(sum) < 1e12)
		CHECK(fabs(r->score - sum) <= 0.0005 + fabs(sum) * 1e-12);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* every pool allocation its own malloc, so that ASan sees overruns
	   inside the engine's pool too */
	setenv("OMBU_POOL_DEBUG", "1", 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error = NULL;
	struct sa_result r, rs;

	if (dir[0] == '\0')
		init();
	const uint8_t *nul = memchr(data, '\0', size);
	size_t sys_len = nul != NULL ? (size_t)(nul - data) : size;
	write_file(sys_file, data, sys_len);
	if (nul != NULL)
		write_file(local_file, nul + 1, size - sys_len - 1);
	else
		unlink(local_file);

	struct sa_engine *e = sa_engine_load(sys_dir, local_dir, NULL, warn, NULL, &error);
	CHECK(e != NULL);
	CHECK(sa_engine_active_count(e) <= sa_engine_rule_count(e));
	const struct sa_unsupported *u;
	size_t nu = sa_engine_unsupported(e, &u);
	for (size_t i = 0; i < nu; i++)
		CHECK(u[i].n_rules > 0 && u[i].what != NULL && u[i].why != NULL);

	struct pool *pool = pool_create("fuzz-sa-conf", 0);
	CHECK(sa_engine_scan(e, pool, msg, sizeof(msg) - 1, NULL, false, &r) == 0);
	check_result(&r);
	CHECK(sa_engine_scan(e, pool, msg, sizeof(msg) - 1, NULL, true, &rs) == 0);
	check_result(&rs);
	CHECK(r.n_hits == rs.n_hits && r.gtube == rs.gtube);
	for (size_t i = 0; i < r.n_hits; i++)
		CHECK(strcmp(r.hits[i].name, rs.hits[i].name) == 0);
	pool_destroy(&pool);
	sa_engine_free(&e);
	CHECK(e == NULL);
	return 0;
}

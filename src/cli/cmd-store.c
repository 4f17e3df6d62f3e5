/* Store commands: deliver, export, import, folder list, store check|gc. */

#include "cli.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct store *cli_store(struct cli *cli)
{
	const char *err;
	struct store *st = store_open(cli_load_config(cli), &err);
	if (st == NULL)
		cli_fail(cli, "%s", err);
	return st;
}

/* Reads all of stdin, bounded by max; exits when it is bigger. */
static void read_stdin(struct cli *cli, struct buf *in, uint64_t max)
{
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (in->len + n > max)
			cli_fail(cli, "the message is larger than store.max_message_size (%llu bytes)",
				 (unsigned long long)max);
		buf_append(in, chunk, n);
	}
	if (ferror(stdin))
		cli_fail(cli, "cannot read standard input: %s", strerror(errno));
}

/* Messages from files often end lines in LF alone; the store keeps the
 * wire form (CRLF) so that IMAP sizes and offsets are right. */
static void to_crlf(const char *p, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_append_c(out, '\r');
		buf_append_c(out, p[i]);
	}
}

/* The local user an address reaches (aliases to several local users are
 * refused: deliver stores one copy for one mailbox). */
static struct dir_user *local_user(struct cli *cli, struct pool *pool, const char *address,
				   int fail_code)
{
	struct dir_resolution r;
	const char *err;
	if (dir_resolve(cli_directory(cli), pool, address, &r, &err) < 0) {
		fprintf(stderr, "ombu: %s\n", err);
		exit(EXIT_TEMPFAIL);
	}
	if (r.status == DIR_NOT_LOCAL)
		cli_fail(cli, "%s is not in a local domain", address);
	if (r.status == DIR_UNKNOWN_USER || r.n_targets == 0) {
		fprintf(stderr, "ombu: no such user: %s\n", address);
		exit(fail_code);
	}
	if (r.n_targets > 1 || r.targets[0].kind != DIR_TARGET_LOCAL)
		cli_fail(cli, "%s is an alias for several or remote addresses; deliver through the MX or LMTP", address);
	struct dir_user *u = r.targets[0].user;
	if (u->store != NULL)
		cli_fail(cli, "the mailbox of %s lives on store %s; deliver there", u->address, u->store);
	return u;
}

static struct mailbox *open_mailbox(struct cli *cli, struct store *st, struct dir_user *u,
				    bool create)
{
	struct mailbox *mb;
	const char *err;
	int r = store_mailbox_open(st, u->mailbox, create, &mb, &err);
	if (r == STORE_NOTFOUND && !create)
		return NULL;
	if (r != STORE_OK) {
		fprintf(stderr, "ombu: %s\n", err);
		exit(r == STORE_FAIL ? EXIT_TEMPFAIL : EXIT_FAIL);
	}
	return mb;
}

int cmd_deliver(struct cli *cli)
{
	const char *rcpt = cli_take_option(cli, "--rcpt");
	const char *folder = cli_take_option(cli, "--folder");
	cli_expect_args(cli, 0, 0, "deliver --rcpt ADDRESS [--folder NAME] < MESSAGE");
	if (rcpt == NULL)
		cli_usage(cli, "usage: ombu deliver --rcpt ADDRESS [--folder NAME] < MESSAGE");
	cli_become_data_owner(cli);
	struct pool *pool = pool_create("deliver", 0);
	struct dir_user *u = local_user(cli, pool, rcpt, 67 /* EX_NOUSER */);
	struct store *st = cli_store(cli);
	struct buf raw, msg;
	buf_init(&raw, 0);
	buf_init(&msg, 0);
	read_stdin(cli, &raw, store_max_message_size(st));
	to_crlf(raw.data != NULL ? raw.data : "", raw.len, &msg);
	buf_free(&raw);
	if (msg.len == 0)
		cli_fail(cli, "the message on standard input is empty");

	struct mailbox *mb = open_mailbox(cli, st, u, true);
	struct store_blob blob;
	const char *err;
	int r = store_blob_put(st, msg.data, msg.len, &blob, &err);
	if (r == STORE_OK) {
		struct store_append a = { .folder = folder, .quota = u->quota };
		store_cache_compute(pool, msg.data, msg.len, &a.cache);
		uint32_t uid;
		r = mailbox_append(mb, &blob, &a, &uid, &err);
	}
	store_mailbox_close(&mb);
	store_close(&st);
	buf_free(&msg);
	pool_destroy(&pool);
	if (r == STORE_OK)
		return EXIT_OK;
	fprintf(stderr, "ombu: deliver: %s\n", err);
	/* A missing folder or a bad name is permanent; anything else,
	 * including a full mailbox, may succeed later. */
	return r == STORE_NOTFOUND || r == STORE_INVALID || r == STORE_TOOBIG ? EXIT_FAIL
										 : EXIT_TEMPFAIL;
}

struct export_ctx {
	struct mailbox *mb;
	struct buf body;
	uint64_t count;
	int error;
};

/* mboxrd: a line that starts with ">*From " gets one more '>'. */
static void write_mboxrd(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t ll = nl != NULL ? (size_t)(nl - (p + i)) + 1 : len - i;
		size_t g = 0;
		while (g < ll && p[i + g] == '>')
			g++;
		if (ll - g >= 5 && memcmp(p + i + g, "From ", 5) == 0)
			fputc('>', stdout);
		fwrite(p + i, 1, ll, stdout);
		i += ll;
	}
}

static int export_one(const struct store_message *m, void *ctx)
{
	struct export_ctx *ec = ctx;
	const char *err;
	buf_reset(&ec->body);
	if (mailbox_message_read(ec->mb, m, &ec->body, &err) != STORE_OK) {
		fprintf(stderr, "ombu: export: uid %u: %s\n", m->uid, err);
		ec->error = 1;
		return -1;
	}
	char date[64];
	time_t t = (time_t)m->internal_date;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	printf("From MAILER-DAEMON %s\n", date);
	write_mboxrd(ec->body.data, ec->body.len);
	/* the blank line that ends a message in an mbox */
	if (ec->body.len == 0 || ec->body.data[ec->body.len - 1] != '\n')
		fputc('\n', stdout);
	fputc('\n', stdout);
	ec->count++;
	return 0;
}

int cmd_export(struct cli *cli)
{
	const char *folder = cli_take_option(cli, "--folder");
	cli_expect_args(cli, 1, 1, "export ADDRESS [--folder NAME]");
	cli_become_data_owner(cli);
	struct pool *pool = pool_create("export", 0);
	struct dir_user *u = local_user(cli, pool, cli->argv[0], EXIT_FAIL);
	struct store *st = cli_store(cli);
	struct mailbox *mb = open_mailbox(cli, st, u, true);
	struct store_folder f;
	const char *err;
	int r = mailbox_folder_get(mb, pool, folder != NULL ? folder : "INBOX", &f, &err);
	if (r != STORE_OK)
		cli_fail(cli, "export: %s", err);
	struct export_ctx ec = { .mb = mb };
	buf_init(&ec.body, 0);
	r = mailbox_messages(mb, pool, f.id, 1, UINT32_MAX, export_one, &ec, &err);
	fflush(stdout);
	buf_free(&ec.body);
	store_mailbox_close(&mb);
	store_close(&st);
	pool_destroy(&pool);
	if (r != STORE_OK || ec.error)
		cli_fail(cli, "export failed%s%s", ec.error ? "" : ": ", ec.error ? "" : err);
	return EXIT_OK;
}

/* Splits an mboxrd stream into messages (unquoting ">From "). */
struct mbox_reader {
	const char *p;
	size_t len, pos;
};

static bool mbox_next(struct mbox_reader *mr, struct buf *out)
{
	buf_reset(out);
	/* skip to the first "From " line */
	while (mr->pos < mr->len && !(mr->len - mr->pos >= 5 && memcmp(mr->p + mr->pos, "From ", 5) == 0 &&
				      (mr->pos == 0 || mr->p[mr->pos - 1] == '\n'))) {
		const char *nl = memchr(mr->p + mr->pos, '\n', mr->len - mr->pos);
		mr->pos = nl != NULL ? (size_t)(nl - mr->p) + 1 : mr->len;
	}
	if (mr->pos >= mr->len)
		return false;
	const char *nl = memchr(mr->p + mr->pos, '\n', mr->len - mr->pos);
	mr->pos = nl != NULL ? (size_t)(nl - mr->p) + 1 : mr->len;
	while (mr->pos < mr->len) {
		const char *line = mr->p + mr->pos;
		nl = memchr(line, '\n', mr->len - mr->pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) + 1 : mr->len - mr->pos;
		if (ll >= 5 && memcmp(line, "From ", 5) == 0)
			break;
		size_t g = 0;
		while (g < ll && line[g] == '>')
			g++;
		if (g > 0 && ll - g >= 5 && memcmp(line + g, "From ", 5) == 0)
			buf_append(out, line + 1, ll - 1);
		else
			buf_append(out, line, ll);
		mr->pos += ll;
	}
	/* the separating blank line belongs to the mbox, not the message */
	if (out->len >= 2 && out->data[out->len - 1] == '\n' && out->data[out->len - 2] == '\n')
		out->len--;
	else if (out->len >= 3 && memcmp(out->data + out->len - 3, "\n\r\n", 3) == 0)
		out->len -= 2; /* an mbox written with CRLF line ends */
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return true;
}

/* The value of an X-UIDL header in the message's header block. */
static const char *find_uidl(struct pool *pool, const char *msg, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *line = msg + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - i;
		size_t trimmed = ll > 0 && line[ll - 1] == '\r' ? ll - 1 : ll;
		if (trimmed == 0)
			break; /* end of the header */
		if (trimmed > 7 && strncasecmp(line, "X-UIDL:", 7) == 0) {
			const char *v = line + 7;
			while (v < line + trimmed && (*v == ' ' || *v == '\t'))
				v++;
			size_t vl = (size_t)(line + trimmed - v);
			if (vl > 0 && vl <= 70)
				return pool_strndup(pool, v, vl);
		}
		i += ll + 1;
	}
	return NULL;
}

int cmd_import(struct cli *cli)
{
	const char *folder = cli_take_option(cli, "--folder");
	bool keep_uidl = cli_take_flag(cli, "--keep-uidl");
	cli_expect_args(cli, 1, 1, "import ADDRESS [--folder NAME] [--keep-uidl] < MBOX");
	cli_become_data_owner(cli);
	struct pool *pool = pool_create("import", 0);
	struct dir_user *u = local_user(cli, pool, cli->argv[0], EXIT_FAIL);
	struct store *st = cli_store(cli);
	struct mailbox *mb = open_mailbox(cli, st, u, true);
	struct buf in, one, crlf;
	buf_init(&in, 0);
	buf_init(&one, 0);
	buf_init(&crlf, 0);
	read_stdin(cli, &in, UINT64_MAX / 2);
	struct mbox_reader mr = { in.data != NULL ? in.data : "", in.len, 0 };
	uint64_t n = 0;
	const char *err = NULL;
	int r = STORE_OK;
	while (r == STORE_OK && mbox_next(&mr, &one)) {
		buf_reset(&crlf);
		to_crlf(one.data != NULL ? one.data : "", one.len, &crlf);
		struct store_blob blob;
		r = store_blob_put(st, crlf.data, crlf.len, &blob, &err);
		if (r != STORE_OK)
			break;
		struct store_append a = { .folder = folder, .quota = u->quota };
		struct pool *mp = pool_create("import-message", 4096);
		store_cache_compute(mp, crlf.data, crlf.len, &a.cache);
		if (keep_uidl)
			a.pop3_uidl = find_uidl(mp, crlf.data, crlf.len);
		r = mailbox_append(mb, &blob, &a, NULL, &err);
		pool_destroy(&mp);
		n++;
	}
	buf_free(&in);
	buf_free(&one);
	buf_free(&crlf);
	store_mailbox_close(&mb);
	store_close(&st);
	pool_destroy(&pool);
	if (r != STORE_OK)
		cli_fail(cli, "import stopped after %llu messages: %s", (unsigned long long)n, err);
	fprintf(stderr, "ombu: imported %llu messages\n", (unsigned long long)n);
	return EXIT_OK;
}

int cmd_folder(struct cli *cli)
{
	if (cli->argc < 1 || strcmp(cli->argv[0], "list") != 0)
		cli_usage(cli, "usage: ombu folder list ADDRESS");
	cli->argv++;
	cli->argc--;
	cli_expect_args(cli, 1, 1, "folder list ADDRESS");
	cli_become_data_owner(cli);
	struct pool *pool = pool_create("folder", 0);
	struct dir_user *u = local_user(cli, pool, cli->argv[0], EXIT_FAIL);
	struct store *st = cli_store(cli);
	struct mailbox *mb = open_mailbox(cli, st, u, true);
	struct store_folder *f;
	size_t n;
	const char *err;
	if (mailbox_folder_list(mb, pool, &f, &n, &err) != STORE_OK)
		cli_fail(cli, "%s", err);
	for (size_t i = 0; i < n; i++)
		printf("%-24s %8u messages %12llu bytes%s%s\n", f[i].name, f[i].messages,
		       (unsigned long long)f[i].bytes, f[i].special_use != NULL ? " " : "",
		       f[i].special_use != NULL ? f[i].special_use : "");
	store_mailbox_close(&mb);
	store_close(&st);
	pool_destroy(&pool);
	return EXIT_OK;
}

int cmd_store(struct cli *cli)
{
	static const char usage[] = "store check ADDRESS [--repair] | store gc";
	if (cli->argc < 1)
		cli_usage(cli, "usage: ombu %s", usage);
	const char *sub = cli->argv[0];
	cli->argv++;
	cli->argc--;
	cli_become_data_owner(cli);
	if (strcmp(sub, "gc") == 0) {
		cli_expect_args(cli, 0, 0, "store gc");
		struct store *st = cli_store(cli);
		uint64_t removed;
		const char *err;
		if (store_gc(st, &removed, &err) != STORE_OK)
			cli_fail(cli, "store gc: %s", err);
		printf("removed %llu unreferenced blobs\n", (unsigned long long)removed);
		store_close(&st);
		return EXIT_OK;
	}
	if (strcmp(sub, "check") != 0)
		cli_usage(cli, "usage: ombu %s", usage);
	bool repair = cli_take_flag(cli, "--repair");
	cli_expect_args(cli, 1, 1, "store check ADDRESS [--repair]");
	struct pool *pool = pool_create("check", 0);
	struct dir_user *u = local_user(cli, pool, cli->argv[0], EXIT_FAIL);
	struct store *st = cli_store(cli);
	struct mailbox *mb = open_mailbox(cli, st, u, false);
	if (mb == NULL) {
		printf("%s: no mailbox yet (nothing delivered)\n", u->address);
		return EXIT_OK;
	}
	struct store_check_report rep;
	const char *err;
	int r = mailbox_check(mb, &rep, repair, &err);
	if (r < 0)
		cli_fail(cli, "store check: %s", err);
	printf("%s: %llu messages, %llu bytes, quota recorded %llu bytes (limit %llu)\n",
	       u->address, (unsigned long long)rep.messages, (unsigned long long)rep.bytes,
	       (unsigned long long)rep.quota_recorded, (unsigned long long)u->quota);
	if (rep.missing_blobs || rep.corrupt_blobs || rep.orphan_links || rep.count_mismatches)
		printf("missing blobs %llu, corrupt blobs %llu, orphan links %llu, folder counter mismatches %llu\n",
		       (unsigned long long)rep.missing_blobs, (unsigned long long)rep.corrupt_blobs,
		       (unsigned long long)rep.orphan_links, (unsigned long long)rep.count_mismatches);
	if (r != STORE_OK)
		fprintf(stderr, "ombu: %s is not consistent%s\n", u->address,
			repair ? " (repaired what could be repaired; run the check again)" : "; see above");
	else
		printf("%s: consistent\n", u->address);
	store_mailbox_close(&mb);
	store_close(&st);
	pool_destroy(&pool);
	return r != STORE_OK ? EXIT_FAIL : EXIT_OK;
}

/* `ombu check [--rcpt ADDRESS] [--json] [--stats] < MESSAGE`: scores a
 * message exactly as the MX would and says what would happen to it. */

#include "cli.h"
#include "directory/directory.h"
#include "filter/filter.h"
#include "filter/sa.h"
#include "filter/zoneset.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <errno.h>
#include <limits.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static const char *action_name(const struct filter_verdict *v, const struct filter_rcpt *r)
{
	if (v->tempfail)
		return "tempfail";
	if (v->reject)
		return "reject";
	switch (r->action) {
	case FILTER_INBOX: return "inbox";
	case FILTER_FOLDER: return "spam";
	case FILTER_DISCARD: return "discard";
	}
	return "?";
}

static void print_text(const struct filter_verdict *v, const struct filter_rcpt *r, bool stats,
		       struct sa_engine *sa)
{
	printf("score: %.1f\n", v->score);
	if (v->virus[0] != '\0')
		printf("virus: %s\n", v->virus);
	if (!v->scanned && v->virus[0] == '\0' && !v->tempfail)
		printf("rules: not run (message over filter.max_scan_size or the filter is off)\n");
	else
		printf("rules:\n");
	for (size_t i = 0; v->sa != NULL && i < v->sa->n_hits; i++)
		printf("  %7.3f  %-28s %s\n", v->sa->hits[i].score, v->sa->hits[i].name,
		       v->sa->hits[i].describe);
	for (size_t i = 0; i < v->n_zone_rules; i++)
		printf("  %7.3f  %-28s listed in a blocklist zone\n", v->zone_scores[i], v->zone_rules[i]);
	printf("recipient: %s (tag %.1f, cutoff %.1f)%s\n", r->address != NULL ? r->address : "(none: level normal)",
	       r->tag, r->cutoff, r->list == 1 ? " sender whitelisted" : r->list == 2 ? " sender blacklisted" : "");
	printf("action: %s%s%s\n", action_name(v, r), r->folder != NULL ? " folder=" : "",
	       r->folder != NULL ? r->folder : "");
	if (v->tempfail || v->reject)
		printf("reply: %u %s\n", v->code, v->text);
	if (!stats || v->sa == NULL)
		return;
	printf("scan time: %.0f us\nslowest rules:\n", v->sa->scan_usec);
	for (size_t i = 0; i < v->sa->n_timings && i < 25; i++)
		printf("  %9.1f us  %s\n", v->sa->timings[i].usec, v->sa->timings[i].name);
	const struct sa_unsupported *u;
	size_t nu = sa_engine_unsupported(sa, &u);
	printf("not supported (%zu):\n", nu);
	for (size_t i = 0; i < nu; i++)
		printf("  %s (%s): %zu rule%s\n", u[i].what, u[i].why, u[i].n_rules, u[i].n_rules == 1 ? "" : "s");
}

static void print_json(const struct filter_verdict *v, const struct filter_rcpt *r, bool stats,
		       struct sa_engine *sa, const char *path, double usec)
{
	printf("{");
	if (path != NULL) {
		printf("\"file\": ");
		json_string(path);
		printf(", ");
	}
	printf("\"score\": %.3f, \"usec\": %.1f, \"action\": ", v->score, usec);
	json_string(action_name(v, r));
	printf(", \"folder\": ");
	if (r->folder != NULL)
		json_string(r->folder);
	else
		printf("null");
	printf(", \"recipient\": ");
	if (r->address != NULL)
		json_string(r->address);
	else
		printf("null");
	printf(", \"tag\": %.3f, \"cutoff\": %.3f, \"list\": ", r->tag, r->cutoff);
	json_string(r->list == 1 ? "white" : r->list == 2 ? "black" : "none");
	printf(", \"virus\": ");
	if (v->virus[0] != '\0')
		json_string(v->virus);
	else
		printf("null");
	printf(", \"scanned\": %s, \"rules\": [", v->scanned ? "true" : "false");
	size_t k = 0;
	for (size_t i = 0; v->sa != NULL && i < v->sa->n_hits; i++, k++) {
		printf("%s{\"name\": ", k > 0 ? ", " : "");
		json_string(v->sa->hits[i].name);
		printf(", \"score\": %.3f, \"description\": ", v->sa->hits[i].score);
		json_string(v->sa->hits[i].describe);
		printf("}");
	}
	for (size_t i = 0; i < v->n_zone_rules; i++, k++) {
		printf("%s{\"name\": ", k > 0 ? ", " : "");
		json_string(v->zone_rules[i]);
		printf(", \"score\": %.3f, \"description\": \"listed in a blocklist zone\"}", v->zone_scores[i]);
	}
	printf("]");
	if (stats && v->sa != NULL) {
		printf(", \"scan_usec\": %.1f, \"timings\": [", v->sa->scan_usec);
		for (size_t i = 0; i < v->sa->n_timings; i++) {
			printf("%s{\"name\": ", i > 0 ? ", " : "");
			json_string(v->sa->timings[i].name);
			printf(", \"usec\": %.1f}", v->sa->timings[i].usec);
		}
		const struct sa_unsupported *u;
		size_t nu = sa_engine_unsupported(sa, &u);
		printf("], \"unsupported\": [");
		for (size_t i = 0; i < nu; i++) {
			printf("%s{\"what\": ", i > 0 ? ", " : "");
			json_string(u[i].what);
			printf(", \"why\": ");
			json_string(u[i].why);
			printf(", \"rules\": %zu}", u[i].n_rules);
		}
		printf("]");
	}
	printf("}\n");
}

/* A whole message from a file or standard input; a leading mbox "From "
 * line (a saved message) is dropped, as SpamAssassin does. */
static bool read_message(FILE *fp, size_t max, struct buf *msg)
{
	char chunk[65536];
	size_t n;
	buf_reset(msg);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (msg->len + n > max)
			return false;
		buf_append(msg, chunk, n);
	}
	if (msg->len > 5 && memcmp(msg->data, "From ", 5) == 0) {
		const char *nl = memchr(msg->data, '\n', msg->len);
		size_t skip = nl != NULL ? (size_t)(nl - (const char *)msg->data) + 1 : msg->len;
		buf_consume(msg, skip);
	}
	return true;
}

static double now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int cmd_check(struct cli *cli)
{
	const char *rcpt = cli_take_option(cli, "--rcpt");
	bool json = cli_take_flag(cli, "--json");
	bool stats = cli_take_flag(cli, "--stats");
	cli_expect_args(cli, 0, INT_MAX, "check [--rcpt ADDRESS] [--json] [--stats] [FILE...] (or < MESSAGE)");
	cli_become_data_owner(cli);
	struct config *cfg = cli_load_config(cli);
	struct directory *dir = cli_directory(cli);
	const char *err;
	/* the rules the engine skips are listed by --stats, not as warnings */
	log_set_level(LOG_ERROR);
	struct zoneset *zones = zoneset_load(cfg, &err);
	if (zones == NULL)
		cli_fail(cli, "%s", err);
	struct filter *f = filter_create(cfg, dir, zones, &err);
	if (f == NULL)
		cli_fail(cli, "%s", err);
	struct pool *pool = pool_create("check", 65536);
	/* a scan per message: keep the memory of one big scan around */
	pool_set_retain(pool, 16 * 1024 * 1024);
	char norm[400] = "";
	struct filter_rcpt proto = { .address = NULL };
	if (rcpt != NULL) {
		struct dir_resolution res;
		if (dir_resolve(dir, pool, rcpt, &res, &err) < 0)
			cli_fail(cli, "%s", err);
		if (res.status != DIR_RESOLVED || res.targets[0].kind != DIR_TARGET_LOCAL)
			cli_fail(cli, "%s is not a local user", rcpt);
		str_copy(norm, res.targets[0].address, sizeof(norm));
		proto.address = norm;
	}
	size_t max = config_size(cfg, "mx", "max_message_size");
	size_t nfiles = (size_t)cli->argc;
	int status = EXIT_OK;
	struct buf msg;
	buf_init(&msg, 0);
	for (size_t i = 0; i < (nfiles > 0 ? nfiles : 1); i++) {
		const char *path = nfiles > 0 ? cli->argv[i] : NULL;
		FILE *fp = path != NULL ? fopen(path, "rb") : stdin;
		if (fp == NULL) {
			fprintf(stderr, "ombu: %s: %s\n", path, strerror(errno));
			status = EXIT_FAIL;
			continue;
		}
		bool ok = read_message(fp, max, &msg);
		if (fp != stdin)
			fclose(fp);
		if (!ok) {
			fprintf(stderr, "ombu: %s: larger than mx.max_message_size\n", path != NULL ? path : "message");
			status = EXIT_FAIL;
			continue;
		}
		if (msg.len == 0) {
			if (path == NULL)
				cli_usage(cli, "check: no message on standard input");
			fprintf(stderr, "ombu: %s: empty\n", path);
			status = EXIT_FAIL;
			continue;
		}
		struct filter_rcpt r = proto;
		struct filter_verdict v;
		double t0 = now_usec();
		if (filter_scan(f, pool, msg.data, msg.len, NULL, NULL, &r, 1,
				stats ? FILTER_SCAN_STATS : 0, &v, &err) < 0) {
			fprintf(stderr, "ombu: %s: %s\n", path != NULL ? path : "message", err);
			status = EXIT_FAIL;
			pool_clear(pool);
			continue;
		}
		double usec = now_usec() - t0;
		if (json) {
			print_json(&v, &r, stats, filter_engine(f), path, usec);
		} else {
			if (nfiles > 1)
				printf("%s==> %s <==\n", i > 0 ? "\n" : "", path);
			print_text(&v, &r, stats, filter_engine(f));
		}
		pool_clear(pool);
	}
	pool_destroy(&pool);
	buf_free(&msg);
	filter_destroy(&f);
	zoneset_free(&zones);
	return status;
}

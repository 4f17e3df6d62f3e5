/* `ombu queue list|flush|delete ID`: the MX and outbound queues. */

#include "cli.h"
#include "lib/config.h"
#include "lib/util.h"
#include "smtp/mx-queue.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void print_entry(const struct mx_queue_entry *e, void *ctx)
{
	size_t *n = ctx;
	char created[32], next[32];
	time_t c = (time_t)e->created, nx = (time_t)e->next;
	struct tm tm;
	gmtime_r(&c, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (e->next > 0) {
		gmtime_r(&nx, &tm);
		strftime(next, sizeof(next), "%Y-%m-%dT%H:%M:%SZ", &tm);
	} else {
		str_copy(next, "now", sizeof(next));
	}
	printf("%s %s size=%llu created=%s attempts=%u next=%s from=<%s>\n", e->id, e->queue,
	       (unsigned long long)e->size, created, e->attempts, next, e->sender);
	for (size_t i = 0; i < e->n_rcpts; i++)
		printf("    to=<%s>\n", e->rcpts[i]);
	if (e->last_error != NULL && e->last_error[0] != '\0')
		printf("    last error: %s\n", e->last_error);
	(*n)++;
}

int cmd_queue(struct cli *cli)
{
	static const char usage[] = "queue list | queue flush | queue delete ID";
	if (cli->argc < 1)
		cli_usage(cli, "usage: ombu %s", usage);
	const char *sub = cli->argv[0];
	cli->argv++;
	cli->argc--;
	cli_become_data_owner(cli);
	const char *dir = config_path_value(cli_load_config(cli), "queue", "path");
	const char *err;
	if (strcmp(sub, "list") == 0) {
		cli_expect_args(cli, 0, 0, "queue list");
		size_t n = 0;
		if (mx_queue_list(dir, print_entry, &n, &err) < 0)
			cli_fail(cli, "queue list: %s", err);
		if (n == 0)
			printf("the queues are empty\n");
	} else if (strcmp(sub, "flush") == 0) {
		cli_expect_args(cli, 0, 0, "queue flush");
		size_t n;
		if (mx_queue_flush(dir, &n, &err) < 0)
			cli_fail(cli, "queue flush: %s", err);
		printf("%zu entr%s due now (a running server retries them within queue.scan_interval)\n",
		       n, n == 1 ? "y" : "ies");
	} else if (strcmp(sub, "delete") == 0) {
		cli_expect_args(cli, 1, 1, "queue delete ID");
		if (mx_queue_delete(dir, cli->argv[0], &err) < 0)
			cli_fail(cli, "queue delete: %s", err);
	} else {
		cli_usage(cli, "usage: ombu %s", usage);
	}
	return EXIT_OK;
}

/* The directory commands: domain, user, alias, list, contact, level. */

#include "cli.h"
#include "directory/directory.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *subcommand(struct cli *cli, const char *usage)
{
	if (cli->argc < 1)
		cli_usage(cli, "usage: ombu %s", usage);
	const char *sub = cli->argv[0];
	cli->argv++;
	cli->argc--;
	return sub;
}

static void print_line(const char *s, void *ctx)
{
	(void)ctx;
	printf("%s\n", s);
}

static void print_pair(const char *a, const char *b, void *ctx)
{
	const char *sep = ctx;
	if (b != NULL && b[0] != '\0')
		printf("%s%s%s\n", a, sep, b);
	else
		printf("%s\n", a);
}

/* Runs a directory call that reports errors through its last argument. */
#define DIR_CALL(call, ...) \
	do { \
		const char *err_ = NULL; \
		if (call(__VA_ARGS__, &err_) < 0) \
			cli_fail(cli, "%s", err_ != NULL ? err_ : "directory error"); \
	} while (0)

int cmd_domain(struct cli *cli)
{
	static const char usage[] = "domain add NAME | domain del NAME | domain list";
	const char *sub = subcommand(cli, usage);
	cli_become_data_owner(cli);
	struct directory *dir = cli_directory(cli);
	if (strcmp(sub, "add") == 0) {
		cli_expect_args(cli, 1, 1, "domain add NAME");
		DIR_CALL(dir_domain_add, dir, cli->argv[0]);
	} else if (strcmp(sub, "del") == 0) {
		cli_expect_args(cli, 1, 1, "domain del NAME");
		DIR_CALL(dir_domain_del, dir, cli->argv[0]);
	} else if (strcmp(sub, "list") == 0) {
		cli_expect_args(cli, 0, 0, "domain list");
		DIR_CALL(dir_domain_list, dir, print_line, NULL);
	} else {
		cli_usage(cli, "usage: ombu %s", usage);
	}
	return EXIT_OK;
}

static void print_user_row(const struct dir_user *u, void *ctx)
{
	(void)ctx;
	char q[32];
	num_format_size(u->quota, q, sizeof(q));
	printf("%-40s quota=%-6s level=%-8s store=%s%s\n", u->address, q, u->level,
	       u->store != NULL ? u->store : "local", u->disabled ? " disabled" : "");
}

static void user_show(struct cli *cli, struct directory *dir, const char *address)
{
	struct pool *pool = pool_create("cli", 0);
	struct dir_user *u;
	const char *err;
	int r = dir_user_lookup(dir, pool, address, &u, &err);
	if (r < 0)
		cli_fail(cli, "%s", err);
	if (r == 0)
		cli_fail(cli, "user %s does not exist; see 'ombu user list'", address);
	char q[32];
	num_format_size(u->quota, q, sizeof(q));
	printf("address: %s\n", u->address);
	printf("domain: %s\n", u->domain);
	printf("quota: %s\n", q);
	printf("level: %s (tag %.1f, cutoff %.1f)\n", u->level, u->tag, u->cutoff);
	printf("store: %s\n", u->store != NULL ? u->store : "local");
	printf("mailbox: %s\n", u->mailbox);
	printf("state: %s\n", u->disabled ? "disabled" : "active");
	printf("password: %s\n", u->password == NULL ? "none (login disabled)"
				 : u->password[1] == 'y' ? "yescrypt" : "set");
	pool_destroy(&pool);
}

static char *hash_stdin_password(struct cli *cli)
{
	char *pw = cli_read_password(cli);
	char *hash;
	const char *err;
	if (dir_password_hash(pw, &hash, &err) < 0)
		cli_fail(cli, "%s", err);
	explicit_bzero(pw, strlen(pw));
	free(pw);
	return hash;
}

static void user_add(struct cli *cli, struct directory *dir)
{
	static const char usage[] =
		"user add ADDRESS [--password-stdin] [--quota SIZE] [--level NAME] [--store NAME]";
	bool pw = cli_take_flag(cli, "--password-stdin");
	const char *quota = cli_take_option(cli, "--quota");
	const char *level = cli_take_option(cli, "--level");
	const char *store = cli_take_option(cli, "--store");
	cli_expect_args(cli, 1, 1, usage);
	struct dir_user_settings set = { .level = level, .store = store };
	if (quota != NULL) {
		if (num_parse_size(quota, &set.quota) < 0)
			cli_usage(cli, "--quota: expected a size such as 300M or 2G, not '%s'", quota);
		set.quota_set = true;
	}
	char *hash = pw ? hash_stdin_password(cli) : NULL;
	set.password_hash = hash;
	DIR_CALL(dir_user_add, dir, cli->argv[0], &set);
	free(hash);
}

int cmd_user(struct cli *cli)
{
	static const char usage[] =
		"user add ADDRESS [--password-stdin] [--quota SIZE] [--level NAME] [--store NAME] | "
		"user del ADDRESS | user list | user show ADDRESS | "
		"user passwd ADDRESS --password-stdin | user set ADDRESS KEY VALUE";
	const char *sub = subcommand(cli, usage);
	cli_become_data_owner(cli);
	struct directory *dir = cli_directory(cli);
	if (strcmp(sub, "add") == 0) {
		user_add(cli, dir);
	} else if (strcmp(sub, "del") == 0) {
		cli_expect_args(cli, 1, 1, "user del ADDRESS");
		DIR_CALL(dir_user_del, dir, cli->argv[0]);
	} else if (strcmp(sub, "list") == 0) {
		cli_expect_args(cli, 0, 0, "user list");
		struct pool *pool = pool_create("cli", 0);
		DIR_CALL(dir_user_list, dir, pool, print_user_row, NULL);
		pool_destroy(&pool);
	} else if (strcmp(sub, "show") == 0) {
		cli_expect_args(cli, 1, 1, "user show ADDRESS");
		user_show(cli, dir, cli->argv[0]);
	} else if (strcmp(sub, "passwd") == 0) {
		if (!cli_take_flag(cli, "--password-stdin"))
			cli_usage(cli, "usage: ombu user passwd ADDRESS --password-stdin (passwords are never taken on the command line)");
		cli_expect_args(cli, 1, 1, "user passwd ADDRESS --password-stdin");
		char *hash = hash_stdin_password(cli);
		DIR_CALL(dir_user_set, dir, cli->argv[0], "password_hash", hash);
		free(hash);
	} else if (strcmp(sub, "set") == 0) {
		cli_expect_args(cli, 3, 3, "user set ADDRESS KEY VALUE");
		DIR_CALL(dir_user_set, dir, cli->argv[0], cli->argv[1], cli->argv[2]);
	} else {
		cli_usage(cli, "usage: ombu %s", usage);
	}
	return EXIT_OK;
}

int cmd_alias(struct cli *cli)
{
	static const char usage[] = "alias add SOURCE TARGET | alias del SOURCE TARGET | alias list";
	const char *sub = subcommand(cli, usage);
	cli_become_data_owner(cli);
	struct directory *dir = cli_directory(cli);
	if (strcmp(sub, "add") == 0) {
		cli_expect_args(cli, 2, 2, "alias add SOURCE TARGET");
		DIR_CALL(dir_alias_add, dir, cli->argv[0], cli->argv[1]);
	} else if (strcmp(sub, "del") == 0) {
		cli_expect_args(cli, 2, 2, "alias del SOURCE TARGET");
		DIR_CALL(dir_alias_del, dir, cli->argv[0], cli->argv[1]);
	} else if (strcmp(sub, "list") == 0) {
		cli_expect_args(cli, 0, 0, "alias list");
		DIR_CALL(dir_alias_list, dir, print_pair, (void *)" -> ");
	} else {
		cli_usage(cli, "usage: ombu %s", usage);
	}
	return EXIT_OK;
}

int cmd_list(struct cli *cli)
{
	static const char usage[] =
		"list add ADDRESS white|black PATTERN | list del ADDRESS white|black PATTERN | list show ADDRESS";
	const char *sub = subcommand(cli, usage);
	cli_become_data_owner(cli);
	struct directory *dir = cli_directory(cli);
	if (strcmp(sub, "add") == 0 || strcmp(sub, "del") == 0) {
		cli_expect_args(cli, 3, 3, "list add|del ADDRESS white|black PATTERN");
		if (strcmp(cli->argv[1], "white") != 0 && strcmp(cli->argv[1], "black") != 0)
			cli_usage(cli, "the list is 'white' or 'black', not '%s'", cli->argv[1]);
		if (sub[0] == 'a')
			DIR_CALL(dir_list_add, dir, cli->argv[0], cli->argv[1], cli->argv[2]);
		else
			DIR_CALL(dir_list_del, dir, cli->argv[0], cli->argv[1], cli->argv[2]);
	} else if (strcmp(sub, "show") == 0) {
		cli_expect_args(cli, 1, 1, "list show ADDRESS");
		DIR_CALL(dir_list_show, dir, cli->argv[0], print_pair, (void *)" ");
	} else {
		cli_usage(cli, "usage: ombu %s", usage);
	}
	return EXIT_OK;
}

int cmd_contact(struct cli *cli)
{
	static const char usage[] =
		"contact add ADDRESS CONTACT [--name NAME] | contact del ADDRESS CONTACT | contact list ADDRESS";
	const char *sub = subcommand(cli, usage);
	cli_become_data_owner(cli);
	struct directory *dir = cli_directory(cli);
	if (strcmp(sub, "add") == 0) {
		const char *name = cli_take_option(cli, "--name");
		cli_expect_args(cli, 2, 2, "contact add ADDRESS CONTACT [--name NAME]");
		DIR_CALL(dir_contact_add, dir, cli->argv[0], cli->argv[1], name);
	} else if (strcmp(sub, "del") == 0) {
		cli_expect_args(cli, 2, 2, "contact del ADDRESS CONTACT");
		DIR_CALL(dir_contact_del, dir, cli->argv[0], cli->argv[1]);
	} else if (strcmp(sub, "list") == 0) {
		cli_expect_args(cli, 1, 1, "contact list ADDRESS");
		DIR_CALL(dir_contact_list, dir, cli->argv[0], print_pair, (void *)"\t");
	} else {
		cli_usage(cli, "usage: ombu %s", usage);
	}
	return EXIT_OK;
}

static void print_level(const struct dir_level *l, void *ctx)
{
	(void)ctx;
	printf("%-12s tag=%-6.1f cutoff=%.1f\n", l->name, l->tag, l->cutoff);
}

int cmd_level(struct cli *cli)
{
	static const char usage[] = "level add NAME TAG CUTOFF | level list";
	const char *sub = subcommand(cli, usage);
	cli_become_data_owner(cli);
	struct directory *dir = cli_directory(cli);
	if (strcmp(sub, "add") == 0) {
		cli_expect_args(cli, 3, 3, "level add NAME TAG CUTOFF");
		double tag, cutoff;
		if (num_parse_double(cli->argv[1], &tag) < 0 ||
		    num_parse_double(cli->argv[2], &cutoff) < 0)
			cli_usage(cli, "TAG and CUTOFF are scores such as 5.0 and 15");
		DIR_CALL(dir_level_add, dir, cli->argv[0], tag, cutoff);
	} else if (strcmp(sub, "list") == 0) {
		cli_expect_args(cli, 0, 0, "level list");
		DIR_CALL(dir_level_list, dir, print_level, NULL);
	} else {
		cli_usage(cli, "usage: ombu %s", usage);
	}
	return EXIT_OK;
}

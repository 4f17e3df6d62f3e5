#include "cli.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/master.h"
#include "lib/util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OMBU_VERSION "0.1.0"
#define DEFAULT_DATA_DIR "/var/lib/ombu"

struct command {
	const char *name;
	int (*fn)(struct cli *cli);
	const char *usage;
};

static const struct command commands[] = {
	{ "init", cmd_init, "init" },
	{ "serve", cmd_serve, "serve" },
	{ "domain", cmd_domain, "domain add|del NAME | domain list" },
	{ "user", cmd_user, "user add|del|list|show|passwd|set ..." },
	{ "alias", cmd_alias, "alias add|del SOURCE TARGET | alias list" },
	{ "list", cmd_list, "list add|del ADDRESS white|black PATTERN | list show ADDRESS" },
	{ "contact", cmd_contact, "contact add ADDRESS CONTACT [--name NAME] | contact del ADDRESS CONTACT | contact list ADDRESS" },
	{ "level", cmd_level, "level add NAME TAG CUTOFF | level list" },
	{ "deliver", cmd_deliver, "deliver --rcpt ADDRESS [--folder NAME] < MESSAGE" },
	{ "export", cmd_export, "export ADDRESS [--folder NAME]" },
	{ "import", cmd_import, "import ADDRESS [--folder NAME] [--keep-uidl] < MBOX" },
	{ "folder", cmd_folder, "folder list ADDRESS" },
	{ "store", cmd_store, "store check ADDRESS [--repair] | store gc" },
	{ "queue", cmd_queue, "queue list | queue flush | queue delete ID" },
	{ "check", cmd_check, "check [--rcpt ADDRESS] [--json] [--stats] [FILE...] (or < MESSAGE)" },
	{ "config-reference", cmd_config_reference, "config-reference   (prints docs/configuration.md)" },
};

static void usage_all(FILE *f)
{
	fprintf(f, "usage: ombu [--data DIR] [--set SECTION.KEY=VALUE]... COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_ELEMENTS(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

void cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ombu: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	(void)cli;
	exit(EXIT_USAGE);
}

void cli_fail(struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ombu: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	(void)cli;
	exit(EXIT_FAIL);
}

const char *cli_take_option(struct cli *cli, const char *name)
{
	for (int i = 0; i < cli->argc; i++) {
		if (strcmp(cli->argv[i], name) != 0)
			continue;
		if (i + 1 >= cli->argc)
			cli_usage(cli, "%s needs a value", name);
		const char *v = cli->argv[i + 1];
		memmove(&cli->argv[i], &cli->argv[i + 2], (size_t)(cli->argc - i - 2) * sizeof(char *));
		cli->argc -= 2;
		return v;
	}
	return NULL;
}

bool cli_take_flag(struct cli *cli, const char *name)
{
	for (int i = 0; i < cli->argc; i++) {
		if (strcmp(cli->argv[i], name) == 0) {
			memmove(&cli->argv[i], &cli->argv[i + 1], (size_t)(cli->argc - i - 1) * sizeof(char *));
			cli->argc--;
			return true;
		}
	}
	return false;
}

void cli_expect_args(struct cli *cli, int min, int max, const char *usage)
{
	for (int i = 0; i < cli->argc; i++) {
		if (cli->argv[i][0] == '-' && cli->argv[i][1] == '-')
			cli_usage(cli, "unknown option %s; usage: ombu %s", cli->argv[i], usage);
	}
	if (cli->argc < min || cli->argc > max)
		cli_usage(cli, "usage: ombu %s", usage);
}

char *cli_read_password(struct cli *cli)
{
	char buf[1100];
	if (fgets(buf, sizeof(buf), stdin) == NULL)
		cli_usage(cli, "--password-stdin: no password on standard input");
	size_t len = strlen(buf);
	if (len > 1024)
		cli_usage(cli, "--password-stdin: the password is longer than 1024 bytes");
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0)
		cli_usage(cli, "--password-stdin: the password is empty");
	return xstrdup(buf);
}

struct config *cli_load_config(struct cli *cli)
{
	if (cli->cfg != NULL)
		return cli->cfg;
	char path[4096];
	snprintf(path, sizeof(path), "%s/ombu.conf", cli->data_dir);
	struct stat st;
	if (stat(cli->data_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		cli_fail(cli, "data directory %s does not exist; create it with 'ombu --data %s init'",
			 cli->data_dir, cli->data_dir);
	char *err = NULL;
	cli->cfg = config_load(path, cli->data_dir, cli->overrides, cli->n_overrides, false, &err);
	if (cli->cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		exit(EXIT_USAGE);
	}
	return cli->cfg;
}

struct config *cli_reload_config(void *ctx, char **error_r)
{
	struct cli *cli = ctx;
	char path[4096];
	snprintf(path, sizeof(path), "%s/ombu.conf", cli->data_dir);
	return config_load(path, cli->data_dir, cli->overrides, cli->n_overrides, false, error_r);
}

struct directory *cli_directory(struct cli *cli)
{
	if (cli->dir != NULL)
		return cli->dir;
	const char *err;
	cli->dir = directory_open(cli_load_config(cli), &err);
	if (cli->dir == NULL)
		cli_fail(cli, "%s", err);
	return cli->dir;
}

void cli_become_data_owner(struct cli *cli)
{
	if (geteuid() != 0)
		return;
	struct stat st;
	if (stat(cli->data_dir, &st) < 0 || st.st_uid == 0)
		return;
	struct passwd *pw = getpwuid(st.st_uid);
	if (pw != NULL && initgroups(pw->pw_name, st.st_gid) < 0)
		cli_fail(cli, "cannot switch to the owner of %s: %s", cli->data_dir, strerror(errno));
	if (setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)
		cli_fail(cli, "cannot switch to the owner of %s: %s", cli->data_dir, strerror(errno));
}

int main(int argc, char **argv)
{
	struct cli cli = { .prog = argv[0] };
	const char **overrides = xcalloc((size_t)argc + 1, sizeof(char *));
	cli.overrides = overrides;
	const char *data = getenv("OMBU_DATA");
	int i = 1;
	/* Files we create (the directory with its password hashes, mail)
	 * are not for other users. */
	umask(027);
	log_init("cli");
	log_set_level(LOG_WARN);
	cli_register_config();

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--data") == 0 || strcmp(a, "--set") == 0) {
			if (i + 1 >= argc)
				cli_usage(&cli, "%s needs a value", a);
			if (a[2] == 'd')
				data = argv[++i];
			else
				overrides[cli.n_overrides++] = argv[++i];
		} else if (str_has_prefix(a, "--data=")) {
			data = a + 7;
		} else if (str_has_prefix(a, "--set=")) {
			overrides[cli.n_overrides++] = a + 6;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage_all(stdout);
			return EXIT_OK;
		} else if (strcmp(a, "--version") == 0) {
			printf("ombu %s\n", OMBU_VERSION);
			return EXIT_OK;
		} else {
			cli_usage(&cli, "unknown option %s; see 'ombu --help'", a);
		}
	}
	if (i >= argc) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (data == NULL || data[0] == '\0')
		data = DEFAULT_DATA_DIR;
	/* An absolute data dir, so paths stay right whatever the cwd. */
	char *abs = realpath(data, NULL);
	cli.data_dir = abs != NULL ? abs : xstrdup(data);
	const char *name = argv[i];
	cli.argc = argc - i - 1;
	cli.argv = argv + i + 1;
	for (size_t c = 0; c < N_ELEMENTS(commands); c++) {
		if (strcmp(commands[c].name, name) == 0) {
			int rc = commands[c].fn(&cli);
			directory_close(&cli.dir);
			config_free(&cli.cfg);
			free(cli.data_dir);
			free(overrides);
			return rc;
		}
	}
	cli_usage(&cli, "unknown command '%s'; see 'ombu --help'", name);
}

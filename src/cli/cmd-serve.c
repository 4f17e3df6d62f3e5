/* `ombu serve`: runs the enabled roles in the foreground (lib/master.c). */

#include "cli.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/master.h"
#include "lib/util.h"
#include "store/store.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Run as root, the server works as server.user: the data dir must be
 * that user's.  Fixing it here saves a confusing permission error later. */
static void own_data_dir(struct cli *cli, const struct config *cfg)
{
	if (geteuid() != 0)
		return;
	const char *user = config_str(cfg, "server", "user");
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		cli_fail(cli, "server.user '%s' does not exist; create it (scripts/bootstrap does) or set server.user", user);
	struct stat st;
	if (stat(cli->data_dir, &st) == 0 && st.st_uid == pw->pw_uid)
		return;
	log_info("server.chown", "dir=%s user=%s", log_str(cli->data_dir), log_str(user));
	if (cli_chown_tree(cli->data_dir, pw->pw_uid, pw->pw_gid) < 0)
		cli_fail(cli, "cannot give %s to %s: %s", cli->data_dir, user, strerror(errno));
}

int cmd_serve(struct cli *cli)
{
	cli_expect_args(cli, 0, 0, "serve");
	struct config *cfg = cli_load_config(cli);
	log_init("master");
	log_set_level(LOG_INFO);
	own_data_dir(cli, cfg);

	/* Migrate the directory once, before any worker opens it, as the
	 * data dir's owner so that the files SQLite creates are theirs. */
	{
		struct stat st;
		bool as_owner = geteuid() == 0 && stat(cli->data_dir, &st) == 0;
		if (as_owner && (setegid(st.st_gid) < 0 || seteuid(st.st_uid) < 0))
			cli_fail(cli, "cannot act as the owner of %s: %s", cli->data_dir, strerror(errno));
		const char *err;
		struct directory *dir = directory_open(cfg, &err);
		if (dir == NULL)
			cli_fail(cli, "%s", err);
		directory_close(&dir);
		/* likewise the store's pack databases */
		struct store *store = store_open(cfg, &err);
		if (store == NULL)
			cli_fail(cli, "%s", err);
		store_close(&store);
		if (as_owner && (seteuid(0) < 0 || setegid(0) < 0))
			cli_fail(cli, "cannot return to root: %s", strerror(errno));
	}
	for (const char *const *r = cli_pending_roles; *r != NULL; r++) {
		if (config_str(cfg, *r, "listen")[0] != '\0')
			log_warn("server.role_pending", "role=%s note=\"not implemented yet; listener ignored\"", *r);
	}
	struct service *svcs = xcalloc(cli_n_services + 1, sizeof(*svcs));
	for (size_t i = 0; i < cli_n_services; i++)
		svcs[i] = *cli_services[i];
	cli->cfg = NULL; /* the master owns it now */
	int rc = master_run(svcs, cli_n_services, cfg, cli_reload_config, cli);
	free(svcs);
	return rc;
}

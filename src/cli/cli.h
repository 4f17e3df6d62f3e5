#ifndef OMBU_CLI_H
#define OMBU_CLI_H

/*
 * The `ombu` command.  Exit codes (INTERFACE.md): 0 success, 1 runtime
 * failure, 2 usage error; every failure says what went wrong on stderr
 * in one line a person can act on.
 */

#include <stdbool.h>
#include <stddef.h>

struct config;
struct directory;

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_TEMPFAIL 75

struct cli {
	const char *prog;
	char *data_dir;
	const char **overrides;
	size_t n_overrides;
	struct config *cfg;
	struct directory *dir;
	int argc;
	char **argv;
};

/* Registers every module's configuration table. */
void cli_register_config(void);
/* Loads DIR/ombu.conf with the --set overrides; exits 2 on a bad file. */
struct config *cli_load_config(struct cli *cli);
/* For SIGHUP. */
struct config *cli_reload_config(void *cli, char **error_r);
struct directory *cli_directory(struct cli *cli);
/* Switches to the data dir's owner when run as root (so that files we
 * create belong to the server's user). */
void cli_become_data_owner(struct cli *cli);

__attribute__((noreturn, format(printf, 2, 3)))
void cli_usage(struct cli *cli, const char *fmt, ...);
__attribute__((noreturn, format(printf, 2, 3)))
void cli_fail(struct cli *cli, const char *fmt, ...);
/* Reads a password (one line) from stdin; exits on empty input. */
char *cli_read_password(struct cli *cli);

/* Option helpers for subcommands: returns the value of --name VALUE and
 * removes both from argv; NULL when absent. */
const char *cli_take_option(struct cli *cli, const char *name);
bool cli_take_flag(struct cli *cli, const char *name);
/* Fails with a usage error when unknown options or a wrong number of
 * positional arguments remain. */
void cli_expect_args(struct cli *cli, int min, int max, const char *usage);

/* The commented ombu.conf that init writes (malloc'd). */
char *cli_config_template(void);
int cli_chown_tree(const char *dir, unsigned uid, unsigned gid);

/* The services `serve` runs, and the role sections that have no service
 * yet (their listeners are ignored with a warning). */
struct service;
extern const struct service *const cli_services[];
extern const size_t cli_n_services;
extern const char *const cli_pending_roles[];

int cmd_init(struct cli *cli);
int cmd_serve(struct cli *cli);
int cmd_domain(struct cli *cli);
int cmd_user(struct cli *cli);
int cmd_alias(struct cli *cli);
int cmd_list(struct cli *cli);
int cmd_contact(struct cli *cli);
int cmd_level(struct cli *cli);
int cmd_deliver(struct cli *cli);
int cmd_export(struct cli *cli);
int cmd_import(struct cli *cli);
int cmd_folder(struct cli *cli);
int cmd_store(struct cli *cli);
int cmd_config_reference(struct cli *cli);
int cmd_queue(struct cli *cli);
int cmd_check(struct cli *cli);

#endif

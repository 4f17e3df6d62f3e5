/* `ombu init`: a new data directory with a commented configuration, the
 * directory database, the store and queue folders and a self-signed TLS
 * certificate for 127.0.0.1 and localhost. */

#include "cli.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Values `init` writes instead of the compiled defaults. */
static const struct {
	const char *section, *key, *value;
} init_values[] = {
	{ "auth", "plaintext_without_tls", "yes" },
};

struct tmpl {
	struct buf b;
	const char *sections[64];
	size_t n_sections;
};

static const char *init_value(const struct config_key *k)
{
	for (size_t i = 0; i < N_ELEMENTS(init_values); i++) {
		if (strcmp(init_values[i].section, k->section) == 0 &&
		    strcmp(init_values[i].key, k->key) == 0)
			return init_values[i].value;
	}
	return NULL;
}

static void collect_section(const struct config_key *k, void *ctx)
{
	struct tmpl *t = ctx;
	for (size_t i = 0; i < t->n_sections; i++) {
		if (strcmp(t->sections[i], k->section) == 0)
			return;
	}
	if (t->n_sections < N_ELEMENTS(t->sections))
		t->sections[t->n_sections++] = k->section;
}

struct section_ctx {
	struct tmpl *t;
	const char *section;
};

static void write_key(const struct config_key *k, void *ctx)
{
	struct section_ctx *sc = ctx;
	struct buf *b = &sc->t->b;
	if (strcmp(k->section, sc->section) != 0 || (k->flags & CONFIG_HIDDEN))
		return;
	buf_printf(b, "# %s (%s)\n", k->doc, config_type_name(k->type));
	const char *iv = init_value(k);
	if (iv != NULL)
		buf_printf(b, "%s = %s\n", k->key, iv);
	else if (k->type == CONFIG_LISTEN)
		buf_printf(b, "%s = %s\n", k->key, k->def != NULL ? k->def : "");
	else
		buf_printf(b, "#%s = %s\n", k->key, k->def != NULL ? k->def : "");
}

static void write_named_key(const struct config_key *k, void *ctx)
{
	struct section_ctx *sc = ctx;
	if (strcmp(k->section, sc->section) != 0 || (k->flags & CONFIG_HIDDEN))
		return;
	buf_printf(&sc->t->b, "# %s = %s   # %s\n", k->key, k->def != NULL ? k->def : "", k->doc);
}

static void first_key_flags(const struct config_key *k, void *ctx)
{
	struct section_ctx *sc = ctx;
	if (strcmp(k->section, sc->section) == 0 && (k->flags & CONFIG_NAMED))
		sc->t = NULL; /* marks a named section */
}

char *cli_config_template(void)
{
	struct tmpl t = { 0 };
	buf_init(&t.b, 0);
	buf_append_str(&t.b,
		       "# ombu configuration.  Every key is shown with its default; uncomment\n"
		       "# to change one.  A key can also be set for one run with\n"
		       "# 'ombu --set SECTION.KEY=VALUE'.  An empty listen address disables\n"
		       "# that listener.  Reference: docs/configuration.md.\n");
	config_foreach_key(collect_section, &t);
	for (size_t i = 0; i < t.n_sections; i++) {
		struct section_ctx probe = { &t, t.sections[i] };
		config_foreach_key(first_key_flags, &probe);
		struct section_ctx sc = { &t, t.sections[i] };
		if (probe.t == NULL) {
			/* A named section: an example, commented out. */
			buf_printf(&t.b, "\n# [%s NAME]\n", t.sections[i]);
			sc.t = &t;
			config_foreach_key(write_named_key, &sc);
			continue;
		}
		buf_printf(&t.b, "\n[%s]\n", t.sections[i]);
		config_foreach_key(write_key, &sc);
	}
	return buf_steal(&t.b, NULL);
}

static int write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	size_t len = strlen(content), off = 0;
	while (off < len) {
		ssize_t n = write(fd, content + off, len - off);
		if (n < 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

/* Gives the tree to uid:gid (serve as root does the same before it drops
 * privileges). */
int cli_chown_tree(const char *dir, unsigned uid, unsigned gid)
{
	chown_uid = uid;
	chown_gid = gid;
	return nftw(dir, chown_one, 32, FTW_PHYS);
}

int cmd_init(struct cli *cli)
{
	cli_expect_args(cli, 0, 0, "init");
	char path[4096];
	const char *d = cli->data_dir;
	if (mkdir(d, 0750) < 0 && errno != EEXIST)
		cli_fail(cli, "cannot create %s: %s", d, strerror(errno));
	/* The data dir may not exist before: resolve it again. */
	char *abs = realpath(d, NULL);
	if (abs != NULL) {
		free(cli->data_dir);
		cli->data_dir = abs;
		d = abs;
	}
	snprintf(path, sizeof(path), "%s/ombu.conf", d);
	if (access(path, F_OK) == 0)
		cli_fail(cli, "%s already exists: %s is set up already", path, d);

	static const char *const subdirs[] = { "store", "queue", "tls", "rules", "zones" };
	for (size_t i = 0; i < N_ELEMENTS(subdirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", d, subdirs[i]);
		if (mkdir(path, subdirs[i][0] == 't' ? 0700 : 0750) < 0 && errno != EEXIST)
			cli_fail(cli, "cannot create %s: %s", path, strerror(errno));
	}
	char *tmpl = cli_config_template();
	snprintf(path, sizeof(path), "%s/ombu.conf", d);
	if (write_file(path, tmpl, 0640) < 0)
		cli_fail(cli, "cannot write %s: %s", path, strerror(errno));
	free(tmpl);

	struct config *cfg = cli_load_config(cli);
	const char *names[] = { "localhost", "127.0.0.1", "::1" };
	const char *err;
	if (tls_generate_self_signed(config_path_value(cfg, "server", "tls_cert"),
				     config_path_value(cfg, "server", "tls_key"), names,
				     N_ELEMENTS(names), &err) < 0)
		cli_fail(cli, "cannot create the TLS certificate: %s", err);
	cli_directory(cli); /* creates and migrates the database */
	directory_close(&cli->dir);

	if (geteuid() == 0) {
		const char *user = config_str(cfg, "server", "user");
		struct passwd *pw = getpwnam(user);
		if (pw == NULL)
			cli_fail(cli, "server.user '%s' does not exist; create it (scripts/bootstrap does) or set server.user", user);
		if (cli_chown_tree(d, pw->pw_uid, pw->pw_gid) < 0)
			cli_fail(cli, "cannot give %s to %s: %s", d, user, strerror(errno));
	}
	printf("ombu: initialised %s\n", d);
	return EXIT_OK;
}

struct ref_ctx {
	const char *section;
};

static void ref_key(const struct config_key *k, void *ctx)
{
	struct ref_ctx *rc = ctx;
	if (strcmp(k->section, rc->section) != 0)
		return;
	char def[128];
	if (k->def == NULL || k->def[0] == '\0')
		str_copy(def, "(empty)", sizeof(def));
	else
		snprintf(def, sizeof(def), "`%s`", k->def);
	printf("| `%s.%s` | %s | %s | %s", k->section, k->key, config_type_name(k->type), def, k->doc);
	if (k->max != 0 && (k->type == CONFIG_UINT || k->type == CONFIG_SIZE))
		printf(" (%llu to %llu)", (unsigned long long)k->min, (unsigned long long)k->max);
	if (k->type == CONFIG_ENUM) {
		printf(":");
		for (const char *const *e = k->enum_values; *e != NULL; e++)
			printf(" `%s`", *e);
	}
	printf(" |\n");
}

/* The configuration reference (docs/configuration.md), generated from the
 * same tables that validate the file, so that it cannot drift. */
int cmd_config_reference(struct cli *cli)
{
	cli_expect_args(cli, 0, 0, "config-reference");
	struct tmpl t = { 0 };
	config_foreach_key(collect_section, &t);
	printf("# Configuration reference\n\n"
	       "Generated by `ombu config-reference` from the schema that validates\n"
	       "`ombu.conf`; do not edit by hand (`scripts/gen-docs` rewrites it).\n\n"
	       "`ombu.conf` is an INI file: `[section]`, `key = value`, `#` comments\n"
	       "(also after a value, following white space), `\"quoted values\"`.  An\n"
	       "unknown section or key, or a bad value, is refused with `file:line:`\n"
	       "and exit code 2.  `--set SECTION.KEY=VALUE` overrides a key for one run\n"
	       "(`--set zone.NAME.KEY=VALUE` for a named section).  Sizes take `k`,\n"
	       "`M`, `G` (powers of 1024); durations `ms`, `s`, `m`, `h`, `d`.\n"
	       "Relative paths are taken from the data directory.\n");
	for (size_t i = 0; i < t.n_sections; i++) {
		printf("\n## [%s]\n\n| key | type | default | meaning |\n| --- | --- | --- | --- |\n",
		       t.sections[i]);
		struct ref_ctx rc = { t.sections[i] };
		config_foreach_key(ref_key, &rc);
	}
	return EXIT_OK;
}

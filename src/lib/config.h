#ifndef OMBU_CONFIG_H
#define OMBU_CONFIG_H

/*
 * Configuration: an INI file (`[section]`, `key = value`, `#` comments,
 * also after a value when preceded by white space) plus `--set S.K=V`
 * overrides.  Every key is declared in a schema table with its type,
 * default, bounds and one line of documentation; modules register their
 * tables before the file is read.  Loading validates every value, so the
 * typed getters below cannot fail.  An unknown section or key, a bad
 * value or a duplicate is refused with "file:line: what is wrong".
 *
 * Named sections ("[zone local-bl]") are declared with the section name
 * "zone" and the flag CONFIG_NAMED; each instance is found with
 * config_instances() and read with the *_in() getters.
 *
 * A loaded config is immutable; reloading builds a new one.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum config_type {
	CONFIG_STRING,
	CONFIG_BOOL,
	CONFIG_UINT,     /* decimal, bounded by min/max */
	CONFIG_SIZE,     /* 300M, 4k: bytes */
	CONFIG_DURATION, /* 30s, 5m, 250ms: milliseconds */
	CONFIG_DOUBLE,
	CONFIG_ENUM,     /* one of enum_values */
	CONFIG_LISTEN,   /* "host:port[, host:port]"; empty disables */
	CONFIG_PATH,     /* relative paths are taken from the data dir */
};

struct config_key {
	const char *section;
	const char *key;
	enum config_type type;
	const char *def;  /* default as text ("" when empty) */
	const char *doc;
	uint64_t min, max; /* UINT/SIZE/DURATION bounds when max != 0 */
	const char *const *enum_values; /* NULL-terminated */
	/* Extra check; returns -1 and sets *error_r on a bad value. */
	int (*validate)(const char *value, const char **error_r);
	unsigned flags;
};

#define CONFIG_NAMED 0x1 /* the section is "[section NAME]" */
#define CONFIG_HIDDEN 0x2 /* not written into the init template */

struct config;

/* Registers a schema table ending in an entry with section == NULL.
 * Must be called before config_load(); the table must stay valid. */
void config_register(const struct config_key *keys);
/* Visits every registered key, in registration order (documentation,
 * the init template). */
void config_foreach_key(void (*fn)(const struct config_key *key, void *ctx), void *ctx);
const char *config_type_name(enum config_type type);

/* Loads `path` (must exist unless missing_ok) and applies overrides, each
 * "section.key=value" (for a named section: "section.NAME.key=value").
 * data_dir anchors relative paths.  On error returns NULL with *error_r
 * set to "file:line: message" (allocated; free it). */
struct config *config_load(const char *path, const char *data_dir,
			   const char *const *overrides, size_t n_overrides,
			   bool missing_ok, char **error_r);
void config_free(struct config **cfg);

const char *config_data_dir(const struct config *cfg);
const char *config_path(const struct config *cfg);

const char *config_str(const struct config *cfg, const char *section, const char *key);
bool config_bool(const struct config *cfg, const char *section, const char *key);
uint64_t config_uint(const struct config *cfg, const char *section, const char *key);
uint64_t config_size(const struct config *cfg, const char *section, const char *key);
uint64_t config_ms(const struct config *cfg, const char *section, const char *key);
double config_double(const struct config *cfg, const char *section, const char *key);
/* CONFIG_PATH: absolute, resolved against the data dir; "" when empty. */
const char *config_path_value(const struct config *cfg, const char *section, const char *key);
/* True when the value was set in the file or by an override. */
bool config_is_set(const struct config *cfg, const char *section, const char *key);

/* Named sections: the instance names of `section`, in file order. */
size_t config_instances(const struct config *cfg, const char *section,
			const char *const **names_r);
const char *config_str_in(const struct config *cfg, const char *section,
			  const char *name, const char *key);
double config_double_in(const struct config *cfg, const char *section,
			const char *name, const char *key);
uint64_t config_uint_in(const struct config *cfg, const char *section,
			const char *name, const char *key);
bool config_bool_in(const struct config *cfg, const char *section,
		    const char *name, const char *key);
const char *config_path_in(const struct config *cfg, const char *section,
			   const char *name, const char *key);

/* Validates one value against a key's type (used by load and tests). */
int config_check_value(const struct config_key *k, const char *value, const char **error_r);

#endif

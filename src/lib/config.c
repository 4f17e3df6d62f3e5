#include "config.h"
#include "buf.h"
#include "hash.h"
#include "net.h"
#include "num.h"
#include "util.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLES 64

static const struct config_key *tables[MAX_TABLES];
static size_t n_tables;

struct config_value {
	char *value;      /* as written, comments stripped */
	char *resolved;   /* CONFIG_PATH: absolute */
	const struct config_key *key;
	bool set;
};

struct config {
	char *path, *data_dir;
	/* "section\0key" or "section\0name\0key" -> struct config_value */
	struct hash *values;
	/* named section instances: section -> array of names */
	struct hash *instances;
};

struct instance_list {
	char **names;
	size_t count;
};

void config_register(const struct config_key *keys)
{
	for (size_t i = 0; i < n_tables; i++) {
		if (tables[i] == keys)
			return;
	}
	if (n_tables == MAX_TABLES)
		ombu_panic("too many configuration tables");
	tables[n_tables++] = keys;
}

void config_foreach_key(void (*fn)(const struct config_key *, void *), void *ctx)
{
	for (size_t t = 0; t < n_tables; t++) {
		for (const struct config_key *k = tables[t]; k->section != NULL; k++)
			fn(k, ctx);
	}
}

const char *config_type_name(enum config_type type)
{
	switch (type) {
	case CONFIG_STRING: return "string";
	case CONFIG_BOOL: return "yes/no";
	case CONFIG_UINT: return "number";
	case CONFIG_SIZE: return "size";
	case CONFIG_DURATION: return "duration";
	case CONFIG_DOUBLE: return "decimal";
	case CONFIG_ENUM: return "choice";
	case CONFIG_LISTEN: return "addresses";
	case CONFIG_PATH: return "path";
	}
	return "?";
}

static const struct config_key *find_key(const char *section, const char *key)
{
	for (size_t t = 0; t < n_tables; t++) {
		for (const struct config_key *k = tables[t]; k->section != NULL; k++) {
			if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0)
				return k;
		}
	}
	return NULL;
}

static bool section_known(const char *section, bool *named_r)
{
	for (size_t t = 0; t < n_tables; t++) {
		for (const struct config_key *k = tables[t]; k->section != NULL; k++) {
			if (strcmp(k->section, section) == 0) {
				*named_r = (k->flags & CONFIG_NAMED) != 0;
				return true;
			}
		}
	}
	return false;
}

static size_t make_key(char *dst, size_t dsize, const char *section,
		       const char *name, const char *key)
{
	size_t n = 0;
	int w = snprintf(dst, dsize, "%s%c%s%c%s", section, 0, name ? name : "", 0, key);
	n = w < 0 ? 0 : MIN((size_t)w, dsize - 1);
	return n;
}

int config_check_value(const struct config_key *k, const char *v, const char **error_r)
{
	uint64_t u;
	double d;
	bool b;
	static __thread char msg[256];

	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		break;
	case CONFIG_BOOL:
		if (num_parse_bool(v, &b) < 0) {
			*error_r = "expected yes or no";
			return -1;
		}
		break;
	case CONFIG_UINT:
	case CONFIG_SIZE:
	case CONFIG_DURATION: {
		int r = k->type == CONFIG_UINT ? num_parse_u64(v, &u)
			: k->type == CONFIG_SIZE ? num_parse_size(v, &u)
			: num_parse_duration_ms(v, &u);
		if (r < 0) {
			*error_r = k->type == CONFIG_UINT ? "expected a whole number"
				: k->type == CONFIG_SIZE ? "expected a size such as 4096, 64k, 300M or 2G"
				: "expected a duration such as 250ms, 30s, 5m, 2h or 7d";
			return -1;
		}
		if (k->max != 0 && (u < k->min || u > k->max)) {
			snprintf(msg, sizeof(msg), "out of range (%llu..%llu%s)",
				 (unsigned long long)k->min, (unsigned long long)k->max,
				 k->type == CONFIG_SIZE ? " bytes"
				 : k->type == CONFIG_DURATION ? " ms" : "");
			*error_r = msg;
			return -1;
		}
		break;
	}
	case CONFIG_DOUBLE:
		if (num_parse_double(v, &d) < 0) {
			*error_r = "expected a decimal number";
			return -1;
		}
		break;
	case CONFIG_ENUM: {
		bool ok = false;
		for (const char *const *e = k->enum_values; *e != NULL; e++)
			ok = ok || strcmp(*e, v) == 0;
		if (!ok) {
			struct buf m;
			buf_init(&m, 0);
			buf_append_str(&m, "expected one of:");
			for (const char *const *e = k->enum_values; *e != NULL; e++)
				buf_printf(&m, " %s", *e);
			str_copy(msg, buf_cstr(&m), sizeof(msg));
			buf_free(&m);
			*error_r = msg;
			return -1;
		}
		break;
	}
	case CONFIG_LISTEN: {
		struct net_addr *addrs;
		size_t n;
		if (net_addr_parse_list(v, &addrs, &n, error_r) < 0)
			return -1;
		free(addrs);
		break;
	}
	}
	if (k->validate != NULL && k->validate(v, error_r) < 0)
		return -1;
	return 0;
}

struct load_ctx {
	struct config *cfg;
	const char *file;
	int line;
	char *error;
	char section[128];
	char name[128];
	bool named;
};

static void set_error(struct load_ctx *lc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct load_ctx *lc, const char *fmt, ...)
{
	if (lc->error != NULL)
		return;
	struct buf b;
	buf_init(&b, 0);
	if (lc->line > 0)
		buf_printf(&b, "%s:%d: ", lc->file, lc->line);
	else
		buf_printf(&b, "%s: ", lc->file);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	lc->error = buf_steal(&b, NULL);
}

static char *resolve_path(const char *data_dir, const char *v)
{
	if (v[0] == '\0' || v[0] == '/' || data_dir == NULL)
		return xstrdup(v);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s/%s", data_dir, v);
	return buf_steal(&b, NULL);
}

static void value_free(void *p)
{
	struct config_value *cv = p;
	free(cv->value);
	free(cv->resolved);
	free(cv);
}

static int store_value(struct load_ctx *lc, const char *section, const char *name,
		       const char *key, const char *value, bool allow_dup)
{
	const struct config_key *k = find_key(section, key);
	if (k == NULL) {
		set_error(lc, "unknown key '%s' in section [%s%s%s]", key, section,
			  name ? " " : "", name ? name : "");
		return -1;
	}
	const char *err;
	if (config_check_value(k, value, &err) < 0) {
		set_error(lc, "bad value '%s' for %s.%s: %s", value, section, key, err);
		return -1;
	}
	char hk[512];
	size_t hl = make_key(hk, sizeof(hk), section, name, key);
	struct config_value *cv = hash_get(lc->cfg->values, hk, hl);
	if (cv != NULL && cv->set && !allow_dup) {
		set_error(lc, "%s.%s is set twice", section, key);
		return -1;
	}
	if (cv == NULL) {
		cv = xcalloc(1, sizeof(*cv));
		hash_put(lc->cfg->values, hk, hl, cv);
	}
	free(cv->value);
	free(cv->resolved);
	cv->key = k;
	cv->value = xstrdup(value);
	cv->resolved = k->type == CONFIG_PATH ? resolve_path(lc->cfg->data_dir, value) : NULL;
	cv->set = true;
	return 0;
}

static void add_instance(struct config *cfg, const char *section, const char *name)
{
	struct instance_list *il = hash_get_str(cfg->instances, section);
	if (il == NULL) {
		il = xcalloc(1, sizeof(*il));
		hash_put(cfg->instances, section, strlen(section), il);
	}
	for (size_t i = 0; i < il->count; i++) {
		if (strcmp(il->names[i], name) == 0)
			return;
	}
	il->names = xrealloc(il->names, (il->count + 1) * sizeof(char *));
	il->names[il->count++] = xstrdup(name);
}

static bool valid_instance_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

/* Parses "[zone local-bl]" style headers into section and name. */
static int parse_section(struct load_ctx *lc, const char *header)
{
	char tmp[256];
	str_copy(tmp, header, sizeof(tmp));
	str_trim(tmp);
	char *sp = strpbrk(tmp, " \t");
	const char *name = NULL;
	if (sp != NULL) {
		*sp = '\0';
		name = sp + 1;
		while (*name == ' ' || *name == '\t')
			name++;
	}
	bool named;
	if (!section_known(tmp, &named)) {
		set_error(lc, "unknown section [%s]", header);
		return -1;
	}
	if (named && name == NULL) {
		set_error(lc, "section [%s] needs a name: [%s NAME]", tmp, tmp);
		return -1;
	}
	if (!named && name != NULL) {
		set_error(lc, "section [%s] takes no name", tmp);
		return -1;
	}
	if (named && !valid_instance_name(name)) {
		set_error(lc, "bad name '%s' for [%s]: use letters, digits, '-' and '_'", name, tmp);
		return -1;
	}
	str_copy(lc->section, tmp, sizeof(lc->section));
	str_copy(lc->name, named ? name : "", sizeof(lc->name));
	lc->named = named;
	if (named)
		add_instance(lc->cfg, tmp, name);
	return 0;
}

/* Line reader that counts lines for error messages. */
static char *counting_reader(char *str, int num, void *stream)
{
	struct load_ctx *lc = ((void **)stream)[1];
	FILE *f = ((void **)stream)[0];
	char *r = fgets(str, num, f);
	if (r != NULL) {
		/* No continuation lines: an indented "key = value" is a key,
		 * not a surprise extension of the previous value. */
		size_t lead = strspn(r, " \t");
		if (lead > 0)
			memmove(r, r + lead, strlen(r + lead) + 1);
		size_t len = strlen(r);
		if (len > 0 && r[len - 1] == '\n')
			lc->line++;
		else if (feof(f))
			lc->line++;
		else {
			/* Line longer than inih's buffer. */
			lc->line++;
			set_error(lc, "line too long");
		}
		/* Section headers are checked here, where every one is seen
		 * (inih reports a section only with its first key). */
		char tmp[300];
		str_copy(tmp, r, sizeof(tmp));
		str_trim(tmp);
		size_t tl = strlen(tmp);
		if (tl >= 2 && tmp[0] == '[' && lc->error == NULL) {
			char *end = strchr(tmp, ']');
			if (end == NULL) {
				set_error(lc, "syntax error: section header without ']'");
			} else {
				*end = '\0';
				parse_section(lc, tmp + 1);
			}
		}
	}
	return r;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	if (lc->error != NULL)
		return 0;
	if (section[0] == '\0') {
		set_error(lc, "'%s' outside of any section", name ? name : "line");
		return 0;
	}
	if (name == NULL) {
		/* inih reports new sections with name == NULL when built with
		 * INI_CALL_HANDLER_ON_NEW_SECTION; otherwise handled below. */
		return 1;
	}
	if (lc->section[0] == '\0')
		return 0; /* the header was refused by the reader */

	char v[4096];
	str_copy(v, value, sizeof(v));
	if (v[0] == '"') {
		/* A "quoted value" may hold " #"; only a comment may follow. */
		char *close = strchr(v + 1, '"');
		if (close == NULL) {
			set_error(lc, "unterminated quoted value for %s", name);
			return 0;
		}
		char *rest = close + 1;
		rest += strspn(rest, " \t");
		if (*rest != '\0' && *rest != '#') {
			set_error(lc, "text after the quoted value of %s", name);
			return 0;
		}
		*close = '\0';
		memmove(v, v + 1, strlen(v + 1) + 1);
	} else {
		/* '#' after white space starts a comment. */
		for (char *p = v; *p != '\0'; p++) {
			if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
				*p = '\0';
				break;
			}
		}
		str_trim(v);
	}
	if (store_value(lc, lc->section, lc->named ? lc->name : NULL, name, v, false) < 0)
		return 0;
	return 1;
}

static int apply_override(struct load_ctx *lc, const char *ov)
{
	const char *eq = strchr(ov, '=');
	lc->file = "--set";
	lc->line = 0;
	if (eq == NULL) {
		set_error(lc, "'%s': expected SECTION.KEY=VALUE", ov);
		return -1;
	}
	char lhs[256];
	if ((size_t)(eq - ov) >= sizeof(lhs)) {
		set_error(lc, "'%s': key too long", ov);
		return -1;
	}
	memcpy(lhs, ov, (size_t)(eq - ov));
	lhs[eq - ov] = '\0';
	str_trim(lhs);
	char *dot1 = strchr(lhs, '.');
	if (dot1 == NULL) {
		set_error(lc, "'%s': expected SECTION.KEY=VALUE", ov);
		return -1;
	}
	*dot1 = '\0';
	const char *section = lhs, *name = NULL, *key = dot1 + 1;
	bool named;
	if (!section_known(section, &named)) {
		set_error(lc, "%s: unknown section [%s]", ov, section);
		return -1;
	}
	if (named) {
		char *dot2 = strrchr(dot1 + 1, '.');
		if (dot2 == NULL) {
			set_error(lc, "'%s': expected %s.NAME.KEY=VALUE", ov, section);
			return -1;
		}
		*dot2 = '\0';
		name = dot1 + 1;
		key = dot2 + 1;
		if (!valid_instance_name(name)) {
			set_error(lc, "'%s': bad section name '%s'", ov, name);
			return -1;
		}
		add_instance(lc->cfg, section, name);
	}
	char err_prefix[300];
	snprintf(err_prefix, sizeof(err_prefix), "--set %.*s", (int)(eq - ov), ov);
	lc->file = err_prefix;
	char v[4096];
	str_copy(v, eq + 1, sizeof(v));
	str_trim(v);
	return store_value(lc, section, name, key, v, true);
}

static void instances_free(void *p)
{
	struct instance_list *il = p;
	for (size_t i = 0; i < il->count; i++)
		free(il->names[i]);
	free(il->names);
	free(il);
}

void config_free(struct config **cp)
{
	struct config *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	hash_clear(c->values, value_free);
	hash_destroy(&c->values);
	hash_clear(c->instances, instances_free);
	hash_destroy(&c->instances);
	free(c->path);
	free(c->data_dir);
	free(c);
}

static void put_path_default(struct config *cfg, const struct config_key *k,
			     const char *name)
{
	char hk[512];
	size_t hl = make_key(hk, sizeof(hk), k->section, name, k->key);
	if (hash_get(cfg->values, hk, hl) != NULL)
		return;
	struct config_value *cv = xcalloc(1, sizeof(*cv));
	cv->key = k;
	cv->value = xstrdup(k->def != NULL ? k->def : "");
	cv->resolved = resolve_path(cfg->data_dir, cv->value);
	hash_put(cfg->values, hk, hl, cv);
}

/* Path defaults are resolved against the data dir once, at load, so that
 * a loaded config is never written to (threads share it). */
static void resolve_path_defaults(struct config *cfg)
{
	for (size_t t = 0; t < n_tables; t++) {
		for (const struct config_key *k = tables[t]; k->section != NULL; k++) {
			if (k->type != CONFIG_PATH)
				continue;
			if ((k->flags & CONFIG_NAMED) == 0) {
				put_path_default(cfg, k, NULL);
				continue;
			}
			const char *const *names;
			size_t n = config_instances(cfg, k->section, &names);
			for (size_t i = 0; i < n; i++)
				put_path_default(cfg, k, names[i]);
		}
	}
}

struct config *config_load(const char *path, const char *data_dir,
			   const char *const *overrides, size_t n_overrides,
			   bool missing_ok, char **error_r)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path != NULL ? path : "");
	cfg->data_dir = data_dir != NULL ? xstrdup(data_dir) : NULL;
	cfg->values = hash_create(128);
	cfg->instances = hash_create(8);

	struct load_ctx lc = { .cfg = cfg, .file = cfg->path };
	if (path != NULL) {
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			if (errno != ENOENT || !missing_ok) {
				set_error(&lc, "cannot open: %s", strerror(errno));
				goto fail;
			}
		} else {
			void *stream[2] = { f, &lc };
			int r = ini_parse_stream(counting_reader, stream, config_ini_handler, &lc);
			fclose(f);
			if (lc.error == NULL && r != 0) {
				lc.line = r > 0 ? r : lc.line;
				set_error(&lc, r > 0 ? "syntax error (expected [section] or key = value)"
						     : "cannot read the file");
			}
			if (lc.error != NULL)
				goto fail;
		}
	}
	for (size_t i = 0; i < n_overrides; i++) {
		if (apply_override(&lc, overrides[i]) < 0)
			goto fail;
	}
	resolve_path_defaults(cfg);
	return cfg;
fail:
	*error_r = lc.error;
	config_free(&cfg);
	return NULL;
}

const char *config_data_dir(const struct config *cfg)
{
	return cfg->data_dir != NULL ? cfg->data_dir : ".";
}

const char *config_path(const struct config *cfg)
{
	return cfg->path;
}

static const struct config_value *lookup(const struct config *cfg, const char *section,
					 const char *name, const char *key,
					 const struct config_key **k_r)
{
	const struct config_key *k = find_key(section, key);
	if (k == NULL)
		ombu_panic("configuration key %s.%s is not registered", section, key);
	*k_r = k;
	char hk[512];
	size_t hl = make_key(hk, sizeof(hk), section, name, key);
	return hash_get(cfg->values, hk, hl);
}

static const char *raw_value(const struct config *cfg, const char *section,
			     const char *name, const char *key, const struct config_key **k_r)
{
	const struct config_value *cv = lookup(cfg, section, name, key, k_r);
	if (cv != NULL)
		return cv->value;
	return (*k_r)->def != NULL ? (*k_r)->def : "";
}

static void expect_type(const struct config_key *k, enum config_type t)
{
	if (k->type != t && !(t == CONFIG_STRING && (k->type == CONFIG_ENUM ||
						    k->type == CONFIG_LISTEN ||
						    k->type == CONFIG_PATH)))
		ombu_panic("configuration key %s.%s read as %s but declared %s",
			   k->section, k->key, config_type_name(t), config_type_name(k->type));
}

const char *config_str(const struct config *cfg, const char *section, const char *key)
{
	return config_str_in(cfg, section, NULL, key);
}

const char *config_str_in(const struct config *cfg, const char *section,
			  const char *name, const char *key)
{
	const struct config_key *k;
	const char *v = raw_value(cfg, section, name, key, &k);
	expect_type(k, CONFIG_STRING);
	return v;
}

bool config_bool_in(const struct config *cfg, const char *section, const char *name,
		    const char *key)
{
	const struct config_key *k;
	const char *v = raw_value(cfg, section, name, key, &k);
	expect_type(k, CONFIG_BOOL);
	bool b = false;
	if (num_parse_bool(v, &b) < 0)
		ombu_panic("bad default for %s.%s", section, key);
	return b;
}

bool config_bool(const struct config *cfg, const char *section, const char *key)
{
	return config_bool_in(cfg, section, NULL, key);
}

static uint64_t number(const struct config *cfg, const char *section, const char *name,
		       const char *key, enum config_type t)
{
	const struct config_key *k;
	const char *v = raw_value(cfg, section, name, key, &k);
	expect_type(k, t);
	uint64_t u = 0;
	int r = t == CONFIG_UINT ? num_parse_u64(v, &u)
		: t == CONFIG_SIZE ? num_parse_size(v, &u) : num_parse_duration_ms(v, &u);
	if (r < 0)
		ombu_panic("bad default for %s.%s", section, key);
	return u;
}

uint64_t config_uint(const struct config *cfg, const char *section, const char *key)
{
	return number(cfg, section, NULL, key, CONFIG_UINT);
}

uint64_t config_uint_in(const struct config *cfg, const char *section, const char *name,
			const char *key)
{
	return number(cfg, section, name, key, CONFIG_UINT);
}

uint64_t config_size(const struct config *cfg, const char *section, const char *key)
{
	return number(cfg, section, NULL, key, CONFIG_SIZE);
}

uint64_t config_ms(const struct config *cfg, const char *section, const char *key)
{
	return number(cfg, section, NULL, key, CONFIG_DURATION);
}

double config_double_in(const struct config *cfg, const char *section, const char *name,
			const char *key)
{
	const struct config_key *k;
	const char *v = raw_value(cfg, section, name, key, &k);
	expect_type(k, CONFIG_DOUBLE);
	double d = 0;
	if (num_parse_double(v, &d) < 0)
		ombu_panic("bad default for %s.%s", section, key);
	return d;
}

double config_double(const struct config *cfg, const char *section, const char *key)
{
	return config_double_in(cfg, section, NULL, key);
}

const char *config_path_in(const struct config *cfg, const char *section,
			   const char *name, const char *key)
{
	const struct config_key *k;
	const struct config_value *cv = lookup(cfg, section, name, key, &k);
	expect_type(k, CONFIG_PATH);
	if (cv == NULL)
		ombu_panic("path %s.%s has no resolved value", section, key);
	return cv->resolved;
}

const char *config_path_value(const struct config *cfg, const char *section, const char *key)
{
	return config_path_in(cfg, section, NULL, key);
}

bool config_is_set(const struct config *cfg, const char *section, const char *key)
{
	const struct config_key *k;
	const struct config_value *cv = lookup(cfg, section, NULL, key, &k);
	return cv != NULL && cv->set;
}

size_t config_instances(const struct config *cfg, const char *section,
			const char *const **names_r)
{
	struct instance_list *il = hash_get_str(cfg->instances, section);
	if (il == NULL) {
		*names_r = NULL;
		return 0;
	}
	*names_r = (const char *const *)il->names;
	return il->count;
}

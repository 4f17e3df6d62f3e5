#include "zoneset.h"
#include "lib/log.h"
#include "lib/master.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const zone_types[] = { "ip4set", "ip4trie", "dnset", NULL };

static int parse_use(const char *v, unsigned *use_r, const char **error_r)
{
	char tmp[128];
	str_copy(tmp, v, sizeof(tmp));
	unsigned use = 0;
	char *save = NULL;
	for (char *t = strtok_r(tmp, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(t, "connect") == 0)
			use |= ZONE_USE_CONNECT;
		else if (strcmp(t, "received") == 0)
			use |= ZONE_USE_RECEIVED;
		else if (strcmp(t, "uri") == 0)
			use |= ZONE_USE_URI;
		else {
			*error_r = "expected connect, received or uri (comma-separated)";
			return -1;
		}
	}
	if (use == 0) {
		*error_r = "expected connect, received or uri (comma-separated)";
		return -1;
	}
	*use_r = use;
	return 0;
}

static int check_use(const char *v, const char **error_r)
{
	unsigned u;
	return parse_use(v, &u, error_r);
}

const struct config_key zoneset_config_keys[] = {
	{ "zone", "file", CONFIG_PATH, "", "the zone's data file, rbldnsd format", .flags = CONFIG_NAMED },
	{ "zone", "type", CONFIG_ENUM, "ip4set", "its rbldnsd dataset type", .enum_values = zone_types, .flags = CONFIG_NAMED },
	{ "zone", "use", CONFIG_STRING, "connect", "connect (refuse at connect), received, uri; comma-separated", .validate = check_use, .flags = CONFIG_NAMED },
	{ "zone", "score", CONFIG_DOUBLE, "1.0", "added to a message's score when a received or uri check hits", .flags = CONFIG_NAMED },
	{ NULL }
};

struct warn_ctx {
	const char *zone;
};

static void zone_warn(void *ctx, const char *msg)
{
	struct warn_ctx *wc = ctx;
	log_warn("zone.bad_line", "zone=%s problem=%s", log_str(wc->zone), log_str(msg));
}

struct zoneset *zoneset_load(const struct config *cfg, const char **error_r)
{
	static __thread char msg[512];
	struct zoneset *zs = xcalloc(1, sizeof(*zs));
	const char *const *names;
	size_t n = config_instances(cfg, "zone", &names);
	zs->zones = xcalloc(n ? n : 1, sizeof(*zs->zones));
	for (size_t i = 0; i < n; i++) {
		struct zoneset_entry *e = &zs->zones[zs->n];
		const char *file = config_path_in(cfg, "zone", names[i], "file");
		enum zone_type type;
		const char *err;
		if (file[0] == '\0') {
			snprintf(msg, sizeof(msg), "[zone %s] has no file", names[i]);
			*error_r = msg;
			zoneset_free(&zs);
			return NULL;
		}
		zone_type_parse(config_str_in(cfg, "zone", names[i], "type"), &type);
		parse_use(config_str_in(cfg, "zone", names[i], "use"), &e->use, &err);
		e->score = config_double_in(cfg, "zone", names[i], "score");
		e->name = names[i];
		struct warn_ctx wc = { names[i] };
		uint64_t t0 = time_monotonic_us();
		e->zone = zone_load(names[i], type, file, zone_warn, &wc, &err);
		if (e->zone == NULL) {
			snprintf(msg, sizeof(msg), "[zone %s]: %s", names[i], err);
			*error_r = msg;
			zoneset_free(&zs);
			return NULL;
		}
		log_info("zone.loaded", "zone=%s type=%s entries=%zu bad_lines=%zu ms=%llu", names[i],
			 zone_type_name(type), zone_entries(e->zone), zone_bad_lines(e->zone),
			 (unsigned long long)((time_monotonic_us() - t0) / 1000));
		zs->n++;
	}
	return zs;
}

void zoneset_free(struct zoneset **zsp)
{
	struct zoneset *zs = *zsp;
	if (zs == NULL)
		return;
	*zsp = NULL;
	for (size_t i = 0; i < zs->n; i++)
		zone_free(&zs->zones[i].zone);
	free(zs->zones);
	free(zs);
}

static void *worker_zs_create(struct worker *w, const char **error_r)
{
	return zoneset_load(worker_config(w), error_r);
}

static void worker_zs_destroy(void *obj)
{
	struct zoneset *zs = obj;
	zoneset_free(&zs);
}

struct zoneset *zoneset_worker(struct worker *w, const char **error_r)
{
	return worker_shared(w, "zones", worker_zs_create, worker_zs_destroy, error_r);
}

int zoneset_check_connect(const struct zoneset *zs, const struct net_addr *ip,
			  const char **zone_r, struct zone_result *r)
{
	for (size_t i = 0; i < zs->n; i++) {
		const struct zoneset_entry *e = &zs->zones[i];
		if ((e->use & ZONE_USE_CONNECT) == 0 || zone_get_type(e->zone) == ZONE_DNSET)
			continue;
		if (zone_lookup_ip(e->zone, ip, r) == 1) {
			*zone_r = e->name;
			return 1;
		}
	}
	return 0;
}

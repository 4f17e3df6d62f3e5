#ifndef OMBU_ZONESET_H
#define OMBU_ZONESET_H

/*
 * The configured blocklist zones ([zone NAME] sections), loaded into
 * memory once per worker (a reload starts new workers, which load the
 * files again).  Immutable once loaded: shared by threads.
 */

#include <stdbool.h>
#include <stddef.h>

#include "lib/config.h"
#include "zone.h"

struct net_addr;
struct worker;

extern const struct config_key zoneset_config_keys[];

#define ZONE_USE_CONNECT  0x1
#define ZONE_USE_RECEIVED 0x2
#define ZONE_USE_URI      0x4

struct zoneset_entry {
	const char *name;
	struct zone *zone;
	unsigned use;      /* ZONE_USE_* */
	double score;
};

struct zoneset {
	struct zoneset_entry *zones;
	size_t n;
};

/* Loads every [zone] of the configuration.  A missing or unreadable file
 * fails the load (a worker must not start without its blocklists); bad
 * lines are logged and skipped. */
struct zoneset *zoneset_load(const struct config *cfg, const char **error_r);
void zoneset_free(struct zoneset **zs);
struct zoneset *zoneset_worker(struct worker *w, const char **error_r);

/* The first zone used at connect that lists ip: 1 with its name and
 * result, else 0. */
int zoneset_check_connect(const struct zoneset *zs, const struct net_addr *ip,
			  const char **zone_r, struct zone_result *r);

#endif

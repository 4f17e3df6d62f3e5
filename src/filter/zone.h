#ifndef OMBU_ZONE_H
#define OMBU_ZONE_H

/*
 * Blocklist zones: rbldnsd data files (ip4set, ip4trie, dnset) loaded
 * into memory, so that the MX and the filter ask them without a DNS
 * round trip.  docs/zones.md describes the file format for operators.
 *
 * Life cycle: a zone is loaded once (worker start, SIGHUP = a new
 * generation loads the files again) and never changes afterwards.  A
 * loaded zone is immutable: any number of threads may look it up at the
 * same time without locks; lookups never allocate and never block.
 *
 * Loading: a file that cannot be read (or that changed while it was read,
 * or whose $TIMESTAMP lies in the future) fails the load with *error_r.
 * A bad line never fails the load: it is reported through warn_fn as
 * "file:line: what is wrong" and skipped, and the rest of the file loads.
 * At most ZONE_WARN_MAX lines are reported one by one; the rest are
 * counted in one last message.  warn_fn may be NULL.
 *
 * *error_r points to a thread-local buffer, valid until the next load in
 * the same thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_addr;
struct zone;

enum zone_type {
	ZONE_IP4SET,  /* IPv4 addresses, prefixes, CIDR and a-b ranges */
	ZONE_IP4TRIE, /* IPv4 CIDR prefixes, longest prefix wins */
	ZONE_DNSET,   /* domain names, exact or wildcard */
};

/* A TXT answer is at most this long (as rbldnsd: 254 bytes after $
 * substitution, templates cut to 255 bytes when loaded). */
#define ZONE_TXT_MAX 254
/* Longest line accepted; a longer one is reported and skipped. */
#define ZONE_LINE_MAX 4096
/* Bad lines reported one by one per load. */
#define ZONE_WARN_MAX 100

struct zone_result {
	uint32_t a;             /* the A value, host order (0x7f000002) */
	char a_text[16];        /* "127.0.0.2" */
	bool has_txt;           /* false: the entry has no TXT */
	/* The TXT with $, $n and $= substituted; printable (control bytes
	 * of the file were replaced when it was loaded). */
	char txt[ZONE_TXT_MAX + 1];
};

typedef void zone_warn_fn(void *ctx, const char *msg);

/* Loads the rbldnsd data file at path.  name is the zone's name, kept
 * for the caller's logs. */
struct zone *zone_load(const char *name, enum zone_type type, const char *path,
		       zone_warn_fn *warn_fn, void *ctx, const char **error_r);
/* The same from memory; label stands for the file name in messages. */
struct zone *zone_load_data(const char *name, enum zone_type type, const char *label,
			    const void *data, size_t size, zone_warn_fn *warn_fn,
			    void *ctx, const char **error_r);
void zone_free(struct zone **z);

/* "ip4set", "ip4trie", "dnset" (case-insensitive); 0 or -1. */
int zone_type_parse(const char *s, enum zone_type *t);
const char *zone_type_name(enum zone_type t);

const char *zone_name(const struct zone *z);
enum zone_type zone_get_type(const struct zone *z);
/* Entry lines loaded (listings and exclusions). */
size_t zone_entries(const struct zone *z);
/* Bad lines skipped while loading. */
size_t zone_bad_lines(const struct zone *z);
/* Bytes the loaded zone holds. */
size_t zone_memory(const struct zone *z);
/* The expiry of $TIMESTAMP (Unix time), 0 = none.  An expired zone lists
 * nothing, as rbldnsd stops answering for it. */
int64_t zone_expires(const struct zone *z);

/*
 * Lookups return 1 when listed and fill *r (r may be NULL when only the
 * answer matters), 0 when not listed, when the zone is of the other kind
 * (an address in a dnset, a name in an IP zone) or has expired.
 *
 * In the TXT, $ stands for the address asked (ip4set, ip4trie) or for the
 * listed name that matched (dnset, as rbldnsd does: "example.com" for a
 * query of a.example.com against *.example.com).
 */
/* IPv6 addresses are never listed (rbldnsd's ip4set and ip4trie hold
 * IPv4 only); IPv4-mapped IPv6 addresses are looked up as IPv4. */
int zone_lookup_ip(const struct zone *z, const struct net_addr *ip, struct zone_result *r);
/* ip in host order. */
int zone_lookup_ipv4(const struct zone *z, uint32_t ip, struct zone_result *r);
/* A host name, case-insensitive, with or without the trailing dot. */
int zone_lookup_name(const struct zone *z, const char *name, struct zone_result *r);

#endif

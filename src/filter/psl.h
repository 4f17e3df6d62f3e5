#ifndef OMBU_PSL_H
#define OMBU_PSL_H

/*
 * The Public Suffix List (Debian package publicsuffix): reduces a host
 * name to its registered domain ("www.shop.example.co.uk" ->
 * "example.co.uk"), as URI blocklists list them.  Immutable once loaded.
 */

#include <stdbool.h>
#include <stddef.h>

#define PSL_DEFAULT_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

struct psl;

/* NULL with *error_r when the file cannot be read. */
struct psl *psl_load(const char *path, const char **error_r);
void psl_free(struct psl **psl);

/* The registered domain of host (lower-cased, trailing dot ignored),
 * written into out; false when host is itself a public suffix or not a
 * name (an IP address).  Unknown TLDs follow the "*" default rule. */
bool psl_registered_domain(const struct psl *psl, const char *host, char *out, size_t size);
/* True when the last label of host is a suffix the list knows. */
bool psl_known_tld(const struct psl *psl, const char *tld, size_t len);

#endif

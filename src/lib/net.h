#ifndef OMBU_NET_H
#define OMBU_NET_H

/*
 * Socket addresses and listening sockets.  Listen addresses are numeric:
 * "127.0.0.1:2525", "[::1]:2525", "*:25" (every IPv4 address), "[::]:25"
 * (every IPv6 address only); a list is separated by commas or spaces.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NET_ADDR_TEXT_MAX 64 /* "[ffff:...:ffff]:65535" fits */

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

int net_addr_parse(const char *s, struct net_addr *r, const char **error_r);
/* *addrs_r is malloc'd (free it); an empty string yields 0 addresses. */
int net_addr_parse_list(const char *s, struct net_addr **addrs_r, size_t *n_r,
			const char **error_r);
/* "192.0.2.1:25" / "[2001:db8::1]:25" */
void net_addr_to_string(const struct net_addr *a, char *dst, size_t dstsize);
/* The IP alone ("192.0.2.1", "2001:db8::1"); IPv4-mapped IPv6 is shown
 * as IPv4. */
void net_addr_ip_string(const struct net_addr *a, char *dst, size_t dstsize);
uint16_t net_addr_port(const struct net_addr *a);
bool net_addr_is_loopback(const struct net_addr *a);
/* Parses a bare IP (no port) into a; port 0. */
int net_ip_parse(const char *s, struct net_addr *a);
/* IPv4 as a 32-bit host-order number when a is IPv4 (or mapped); else -1. */
int net_addr_ipv4(const struct net_addr *a, uint32_t *v4_r);
void net_addr_from_sockaddr(struct net_addr *a, const struct sockaddr *sa, socklen_t len);

/* Opens a non-blocking listening socket (SO_REUSEADDR, IPV6_V6ONLY for
 * IPv6).  Returns the fd or -1 with *error_r. */
int net_listen(const struct net_addr *a, int backlog, const char **error_r);
int net_set_nonblock(int fd);
int net_set_cloexec(int fd, bool on);

#endif

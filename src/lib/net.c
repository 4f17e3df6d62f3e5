#include "net.h"
#include "num.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int net_ip_parse(const char *s, struct net_addr *a)
{
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		a->len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		a->len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int net_addr_parse(const char *s, struct net_addr *r, const char **error_r)
{
	char host[NET_ADDR_TEXT_MAX];
	const char *port;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':') {
			*error_r = "expected [IPv6]:port";
			return -1;
		}
		if ((size_t)(end - s - 1) >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL || strchr(s, ':') != colon) {
			*error_r = "expected host:port (IPv6 as [addr]:port)";
			return -1;
		}
		if ((size_t)(colon - s) >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	uint64_t p;
	if (num_parse_uint_max(port, 65535, &p) < 0) {
		*error_r = "bad port number";
		return -1;
	}
	if (strcmp(host, "*") == 0)
		str_copy(host, "0.0.0.0", sizeof(host));
	else if (strcmp(host, "localhost") == 0)
		str_copy(host, "127.0.0.1", sizeof(host));
	if (net_ip_parse(host, r) < 0) {
		*error_r = "expected a numeric IP address";
		return -1;
	}
	if (r->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&r->ss)->sin_port = htons((uint16_t)p);
	else
		((struct sockaddr_in6 *)&r->ss)->sin6_port = htons((uint16_t)p);
	return 0;
}

int net_addr_parse_list(const char *s, struct net_addr **addrs_r, size_t *n_r,
			const char **error_r)
{
	char *copy = xstrdup(s), *save = NULL;
	struct net_addr *addrs = NULL;
	size_t n = 0;
	for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		addrs = xrealloc(addrs, (n + 1) * sizeof(*addrs));
		if (net_addr_parse(tok, &addrs[n], error_r) < 0) {
			free(addrs);
			free(copy);
			return -1;
		}
		n++;
	}
	free(copy);
	*addrs_r = addrs;
	*n_r = n;
	return 0;
}

static bool is_v4_mapped(const struct sockaddr_in6 *in6)
{
	return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
}

void net_addr_ip_string(const struct net_addr *a, char *dst, size_t dstsize)
{
	char tmp[INET6_ADDRSTRLEN];
	if (a->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, tmp, sizeof(tmp));
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		if (is_v4_mapped(in6))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], tmp, sizeof(tmp));
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, tmp, sizeof(tmp));
	} else {
		str_copy(tmp, "unix", sizeof(tmp));
	}
	str_copy(dst, tmp, dstsize);
}

uint16_t net_addr_port(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}

void net_addr_to_string(const struct net_addr *a, char *dst, size_t dstsize)
{
	char ip[INET6_ADDRSTRLEN];
	net_addr_ip_string(a, ip, sizeof(ip));
	if (strchr(ip, ':') != NULL)
		snprintf(dst, dstsize, "[%s]:%u", ip, net_addr_port(a));
	else
		snprintf(dst, dstsize, "%s:%u", ip, net_addr_port(a));
}

int net_addr_ipv4(const struct net_addr *a, uint32_t *v4_r)
{
	if (a->ss.ss_family == AF_INET) {
		*v4_r = ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr);
		return 0;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		if (is_v4_mapped(in6)) {
			const uint8_t *b = &in6->sin6_addr.s6_addr[12];
			*v4_r = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
				((uint32_t)b[2] << 8) | b[3];
			return 0;
		}
	}
	return -1;
}

bool net_addr_is_loopback(const struct net_addr *a)
{
	uint32_t v4;
	if (net_addr_ipv4(a, &v4) == 0)
		return (v4 >> 24) == 127;
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return false;
}

void net_addr_from_sockaddr(struct net_addr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if (len > sizeof(a->ss))
		len = sizeof(a->ss);
	memcpy(&a->ss, sa, len);
	a->len = len;
}

int net_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int net_set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC));
}

int net_listen(const struct net_addr *a, int backlog, const char **error_r)
{
	static __thread char msg[160];
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "socket: %s", strerror(errno));
		*error_r = msg;
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    listen(fd, backlog) < 0) {
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
		*error_r = msg;
		close(fd);
		return -1;
	}
	return fd;
}

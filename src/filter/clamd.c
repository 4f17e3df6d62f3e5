#include "clamd.h"
#include "lib/net.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

int clamd_address_check(const char *address, const char **error_r)
{
	if (str_has_prefix(address, "unix:")) {
		if (address[5] != '/' || strlen(address + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*error_r = "expected unix:/absolute/path";
			return -1;
		}
		return 0;
	}
	struct net_addr a;
	return net_addr_parse(address, &a, error_r);
}

static int wait_fd(int fd, short ev, uint64_t deadline_us)
{
	uint64_t now = time_monotonic_us();
	if (now >= deadline_us)
		return -1;
	struct pollfd p = { fd, ev, 0 };
	return poll(&p, 1, (int)((deadline_us - now) / 1000) + 1) > 0 ? 0 : -1;
}

static int connect_clamd(const char *address, uint64_t deadline_us, const char **error_r)
{
	static __thread char msg[200];
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (str_has_prefix(address, "unix:")) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		str_copy(un->sun_path, address + 5, sizeof(un->sun_path));
		sl = sizeof(*un);
	} else {
		struct net_addr a;
		if (net_addr_parse(address, &a, error_r) < 0)
			return -1;
		memcpy(&ss, &a.ss, a.len);
		sl = a.len;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		snprintf(msg, sizeof(msg), "cannot connect to clamd at %s: %s", address, strerror(errno));
		*error_r = msg;
		close(fd);
		return -1;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	if (wait_fd(fd, POLLOUT, deadline_us) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
		snprintf(msg, sizeof(msg), "cannot connect to clamd at %s: %s", address,
			 err != 0 ? strerror(err) : "timeout");
		*error_r = msg;
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *data, size_t len, uint64_t deadline_us)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_fd(fd, POLLOUT, deadline_us) == 0)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum clamd_result clamd_scan(const char *address, uint64_t timeout_ms, uint64_t max_size,
			     const void *data, size_t len, char *name_r, size_t name_size,
			     const char **error_r)
{
	static __thread char msg[300];
	uint64_t deadline = time_monotonic_us() + timeout_ms * 1000;
	name_r[0] = '\0';
	int fd = connect_clamd(address, deadline, error_r);
	if (fd < 0)
		return CLAMD_ERROR;
	if (max_size > 0 && len > max_size)
		len = (size_t)max_size;
	enum clamd_result res = CLAMD_ERROR;
	if (send_all(fd, "zINSTREAM", 10, deadline) < 0)
		goto io_error;
	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = MIN((size_t)CHUNK, len - off);
		uint32_t be = htonl((uint32_t)n);
		if (send_all(fd, &be, 4, deadline) < 0 ||
		    send_all(fd, (const char *)data + off, n, deadline) < 0)
			goto io_error;
	}
	uint32_t zero = 0;
	if (send_all(fd, &zero, 4, deadline) < 0)
		goto io_error;
	char reply[512];
	size_t got = 0;
	while (got < sizeof(reply) - 1) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			goto io_error;
		ssize_t n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(reply, '\0', got) != NULL)
			break;
	}
	reply[got] = '\0';
	/* "stream: OK", "stream: Eicar-Test-Signature FOUND", "... ERROR" */
	const char *body = strncmp(reply, "stream: ", 8) == 0 ? reply + 8 : reply;
	size_t bl = strlen(body);
	if (strcmp(body, "OK") == 0) {
		res = CLAMD_CLEAN;
	} else if (bl > 6 && strcmp(body + bl - 6, " FOUND") == 0) {
		size_t nl = MIN(bl - 6, name_size - 1);
		memcpy(name_r, body, nl);
		name_r[nl] = '\0';
		res = CLAMD_VIRUS;
	} else {
		snprintf(msg, sizeof(msg), "clamd answered: %.200s", got > 0 ? body : "(nothing)");
		*error_r = msg;
	}
	close(fd);
	return res;
io_error:
	snprintf(msg, sizeof(msg), "clamd at %s: %s", address,
		 time_monotonic_us() >= deadline ? "timeout" : strerror(errno));
	*error_r = msg;
	close(fd);
	return CLAMD_ERROR;
}

/* sock: the sockets dnsd listens on: bound with SO_REUSEPORT, one of each kind per
 * worker and address, and the probe that keeps a second dnsd off a port one holds. */
#include "sock.h"
#include "err.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void addr_text(struct net_addr *a)
{
	char h[INET6_ADDRSTRLEN];
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &s->sin_addr, h, sizeof(h));
		snprintf(a->text, sizeof(a->text), "%s:%u", h, ntohs(s->sin_port));
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &s->sin6_addr, h, sizeof(h));
		snprintf(a->text, sizeof(a->text), "[%s]:%u", h, ntohs(s->sin6_port));
	}
}

int sock_open(struct net_addr *a, int type, int probe, int *fd, char *err, size_t errlen)
{
	int one = 1, rc = DNSD_EIO;
	*fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		goto fail;
	/* SO_REUSEADDR on a probe too: a connection of an earlier dnsd that lingers
	 * in TIME-WAIT on the port is no one holding it. */
	if ((!probe && setsockopt(*fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    (type == SOCK_STREAM && setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) ||
	    (a->ss.ss_family == AF_INET6 &&
	     setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))))
		goto fail;
	if (type == SOCK_DGRAM && !probe) {
		/* Room for bursts: a resolver farm's retries, or dnsperf's opening
		 * salvo, overflow the default buffer (about 270 queries) at once.
		 * FORCE passes rmem_max when we are root; otherwise the kernel caps it. */
		int sz = 4 << 20;
		if (setsockopt(*fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
			setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		if (setsockopt(*fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (bind(*fd, (struct sockaddr *)&a->ss, a->len) != 0) {
		if (probe && errno == EADDRINUSE)
			rc = DNSD_EEXIST;
		goto fail;
	}
	if (type == SOCK_STREAM && !probe && listen(*fd, 128) != 0)
		goto fail;
	/* A port of 0 is resolved by the first bind; every later socket takes it. */
	struct net_addr b = *a;
	if (getsockname(*fd, (struct sockaddr *)&b.ss, &b.len) == 0) {
		*a = b;
		addr_text(a);
	}
	return 0;
fail:
	if (rc == DNSD_EEXIST)
		snprintf(err, errlen, "%s is already in use over %s (another dnsd?)", a->text,
			 type == SOCK_STREAM ? "tcp" : "udp");
	else
		snprintf(err, errlen, "cannot listen on %s (%s): %s", a->text,
			 type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return rc;
}

/* SO_REUSEPORT lets any socket of the same user join a port: a second dnsd on an
 * address this one holds would bind beside it and take a share of its queries,
 * answering them from its own store. A bind without it fails wherever anyone holds
 * the port, so net_bind probes before it binds the serving sockets. */
int sock_probe(struct net_addr *a, char *err, size_t errlen)
{
	int udp, tcp;
	int rc = sock_open(a, SOCK_DGRAM, 1, &udp, err, errlen);
	if (rc)
		return rc;
	rc = sock_open(a, SOCK_STREAM, 1, &tcp, err, errlen);
	close(udp);
	if (!rc)
		close(tcp);
	return rc;
}

int sock_port(const struct net_addr *a)
{
	return a->ss.ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)&a->ss)->sin_port)
					  : ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* The address part alone, and whether it is the wildcard. */
static int addr_is_any(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

static int addr_same(const struct net_addr *a, const struct net_addr *b)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
		       &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, sizeof(struct in6_addr));
}

int sock_overlap(const struct net_addr *a, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (a[i].ss.ss_family != a[j].ss.ss_family || !sock_port(&a[i]) ||
			    sock_port(&a[i]) != sock_port(&a[j]))
				continue;
			if (addr_same(&a[i], &a[j]) || addr_is_any(&a[i]) || addr_is_any(&a[j])) {
				snprintf(err, errlen,
					 "--listen %s and --listen %s take the same port twice: "
					 "give one",
					 a[i].text, a[j].text);
				return DNSD_EINVAL;
			}
		}
	return 0;
}

/* sock: the sockets dnsd listens on: bound with SO_REUSEPORT, one of each kind per
 * worker and address, and the probe that keeps a second dnsd off a port one holds. */
#ifndef DNSD_SOCK_H
#define DNSD_SOCK_H
#include "net.h"
#include <stddef.h>

/* A socket of type (SOCK_DGRAM or SOCK_STREAM) bound to a: with SO_REUSEPORT, and
 * listening if TCP, to serve; or, for a probe, neither. For port 0, *a takes the
 * port the bind picked. Returns 0 with *fd set (the caller's to close), DNSD_EEXIST
 * when another socket holds the port (a probe's finding), or DNSD_EIO; err says why. */
int sock_open(struct net_addr *a, int type, int probe, int *fd, char *err, size_t errlen);
/* Whether a's port is free over UDP and TCP: probes bound and let go. For port 0,
 * *a takes a port free for both. Returns 0, DNSD_EEXIST (held) or DNSD_EIO, err set. */
int sock_probe(struct net_addr *a, char *err, size_t errlen);
/* Whether two of the n addresses would take one port twice: the same address and
 * port, or a wildcard (0.0.0.0, ::) and an address of its family on the same port.
 * Port 0 never overlaps. Returns 0, or DNSD_EINVAL with err naming both. */
int sock_overlap(const struct net_addr *a, size_t n, char *err, size_t errlen);
/* a's port, in host order. */
int sock_port(const struct net_addr *a);
#endif

/* net: the listeners: one libuv loop per worker thread, each with its own
 * SO_REUSEPORT UDP and TCP socket on every address. */
#ifndef DNSD_NET_H
#define DNSD_NET_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "answer.h"
#include "db.h"
#include "rrl.h"

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64];
};

/* Parses "127.0.0.1:5300", "[::1]:5300" (port 0: one the OS picks). Returns 0 or DNSD_EINVAL. */
int net_parse_addr(const char *text, struct net_addr *a);

/* The most zone transfers served at once (--xfr-max's upper bound). */
#define NET_MAX_XFR 256

struct tsig_keys;
struct config_acl;
struct xfr_hist;

/* What every worker reads. The view pointer is swapped atomically by the owner
 * of the data; workers load it once per message. */
struct net_shared {
	struct db_view *view; /* atomic: use __atomic_load_n / __atomic_store_n */
	struct answer_cfg acfg;
	unsigned tcp_idle_ms;          /* close idle TCP connections after this */
	unsigned tcp_query_timeout_ms; /* ... and those holding half a message this long */
	unsigned tcp_max_conns;        /* in all, over every worker */
	unsigned tcp_max_per_client;   /* from one source address */
	size_t tcp_max_unsent;         /* a connection past this many octets of unsent
					* answers is not read until they drain (0: the default) */
	size_t tcp_max_unsent_total;   /* in all: each worker gets its share (0: the default) */
	struct rrl_cfg rrl;            /* UDP response rate limiting */
	const struct tsig_keys *tsig;  /* atomic pointer; swapped on SIGHUP (NULL: no keys).
					* A set replaced stays valid until exit */
	const struct config_acl *acl;  /* --allow-transfer, nacl entries (none: no transfers) */
	size_t nacl;
	unsigned xfr_max;              /* 0: transfers refused to everyone */
	struct xfr_hist *hist;         /* NULL: IXFR answered with the whole zone */
};

/* The defaults of tcp_max_unsent and tcp_max_unsent_total: room for the largest
 * DNS message per connection, and for 256 such connections in all. */
#define NET_TCP_MAX_UNSENT (64u << 10)
#define NET_TCP_MAX_UNSENT_TOTAL (16u << 20)

struct net;

/* Creates and binds every socket (nworkers of each kind per address) before any
 * thread starts, so a port 0 resolves once and privileges can be dropped after.
 * An address whose port another socket holds (another dnsd, say) is refused, though
 * SO_REUSEPORT would let it in. addrs[i] is updated to the bound address. *out is
 * owned by the caller (net_free). Returns 0, DNSD_EEXIST (held) or DNSD_EIO, with
 * err set. */
int net_bind(struct net_addr *addrs, size_t naddrs, int nworkers, struct net **out, char *err,
	     size_t errlen);
/* Starts the worker threads. Returns 0 or DNSD_EIO. */
int net_start(struct net *n, struct net_shared *sh);
/* Wakes every worker so that each passes a quiescent point soon. */
void net_wake(struct net *n);
/* Copies each worker's quiescent-point counter into snap (nworkers entries). */
void net_snapshot(struct net *n, uint64_t *snap);
/* 1 when every worker has passed a quiescent point since snap was taken. */
int net_passed(struct net *n, const uint64_t *snap);
int net_workers(struct net *n);
struct stats_worker;
/* The workers' counters, summed into *sum (read while they count). */
void net_stats(struct net *n, struct stats_worker *sum);
/* TCP connections open now, over every worker. */
unsigned net_tcp_open(struct net *n);
/* The epoch (db_view.epoch) of the oldest view a transfer in progress still reads,
 * or UINT64_MAX when none: what replaced parts of that view or a later one waits. */
uint64_t net_oldest_pin(struct net *n);
/* 1 when the address may transfer: an --allow-transfer entry holds it and asks no
 * key, or asks key (a TSIG key name the request was signed with; NULL: unsigned). */
int net_acl_allows(const struct config_acl *acl, size_t nacl, const struct sockaddr *sa,
		   const char *key);
/* Stops accepting, lets the answers in flight finish (at most a few seconds),
 * and joins the threads. */
void net_stop(struct net *n);
void net_free(struct net *n); /* NULL is safe */
#endif

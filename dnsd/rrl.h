/* rrl: response rate limiting, as NSD, Knot and BIND have it: a token bucket per
 * (source prefix, response), so that dnsd cannot be used to amplify a flood of
 * spoofed queries. One table for all workers (SO_REUSEPORT spreads one prefix's
 * addresses over them), with a spin lock per bucket: short, and rarely contended. */
#ifndef DNSD_RRL_H
#define DNSD_RRL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rrl_cfg {
	unsigned rate;  /* responses per second per bucket; 0: off */
	unsigned slip;  /* every slip-th limited response goes out truncated; 0: none */
};

enum { RRL_SEND = 0, RRL_DROP = 1, RRL_SLIP = 2 };

struct rrl;

/* A table of 2^bits buckets. Caller owns it (rrl_free). NULL on ENOMEM. */
struct rrl *rrl_new(const struct rrl_cfg *cfg, unsigned bits);
void rrl_free(struct rrl *r); /* NULL is safe */

/* Decides the fate of the UDP response resp[0..len) to a client at addr, at time
 * now_ms: send it, drop it, or send it truncated (slip). The response's question,
 * rcode and authority say which bucket it counts against: the name and type for
 * answers and NODATA, the zone for NXDOMAIN, one per prefix for errors. */
int rrl_check(struct rrl *r, const struct sockaddr *addr, const uint8_t *resp, size_t len,
	      uint64_t now_ms);

/* Turns resp into its truncated form in place (header and question, TC set).
 * Returns the new length. */
size_t rrl_truncate(uint8_t *resp, size_t len);
#endif

/* rrl: response rate limiting, as NSD, Knot and BIND have it: a token bucket per
 * (source prefix, response), so that dnsd cannot be used to amplify a flood of
 * spoofed queries. One table for all workers (SO_REUSEPORT spreads one prefix's
 * addresses over them), with a spin lock per slot: short, and rarely contended. */
#ifndef DNSD_RRL_H
#define DNSD_RRL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rrl_cfg {
	unsigned rate; /* responses per second per bucket, and the burst; 0: off */
	unsigned slip; /* every slip-th limited response goes out truncated; 0: none */
};

enum { RRL_SEND = 0, RRL_DROP = 1, RRL_SLIP = 2 };

struct rrl;

/* A table of 2^bits buckets (at least 2), in slots of two, hashed with a key drawn
 * from getrandom(). Caller owns it (rrl_free). NULL on ENOMEM, or when the kernel
 * gives no random key. */
struct rrl *rrl_new(const struct rrl_cfg *cfg, unsigned bits);
void rrl_free(struct rrl *r); /* NULL is safe */

/* Decides the fate of the UDP response resp[0..len) to a client at addr, at time
 * now_ms: send it, drop it, or send it truncated (slip). The response's question,
 * rcode and authority say which bucket of the client's prefix (/24, /56) it counts
 * against: the name for answers (whatever the type), the name for NODATA (whatever
 * the type), the zone for NXDOMAIN, one per prefix for errors. A bucket holds rate
 * responses and gains rate a second. */
int rrl_check(struct rrl *r, const struct sockaddr *addr, const uint8_t *resp, size_t len,
	      uint64_t now_ms);

/* Turns resp into its truncated form in place (header and question, TC set).
 * Returns the new length. */
size_t rrl_truncate(uint8_t *resp, size_t len);

/* SipHash-2-4 of p[0..n) under key: the bucket hash, public for its test vectors. */
uint64_t rrl_siphash24(const uint8_t key[16], const uint8_t *p, size_t n);
#endif

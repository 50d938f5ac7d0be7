/* rrl: response rate limiting: a token bucket per (source prefix, response). */
#include "rrl.h"
#include "db.h"
#include "wire.h"
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
	uint8_t lock;       /* workers share the table: a spin lock per bucket */
	uint64_t key;
	int64_t tokens;     /* in thousandths of a response */
	uint64_t last_ms;
	uint32_t limited;   /* responses limited in a row, for slip */
};

struct rrl {
	struct rrl_cfg cfg;
	uint64_t mask;
	struct bucket b[];
};

struct rrl *rrl_new(const struct rrl_cfg *cfg, unsigned bits)
{
	size_t n = (size_t)1 << bits;
	struct rrl *r = calloc(1, sizeof(*r) + n * sizeof(r->b[0]));
	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->mask = n - 1;
	return r;
}

void rrl_free(struct rrl *r)
{
	free(r);
}

/* Length of the name at off in resp (no compression in our own questions), or 0. */
static size_t name_len(const uint8_t *p, size_t len, size_t off)
{
	size_t i = off;
	while (i < len && p[i] && !(p[i] & 0xC0))
		i += p[i] + 1u;
	return i < len && !p[i] ? i + 1 - off : 0;
}

static int bucket_take(struct rrl *r, struct bucket *b, uint64_t h, uint64_t now_ms);

int rrl_check(struct rrl *r, const struct sockaddr *addr, const uint8_t *resp, size_t len,
	      uint64_t now_ms)
{
	if (!r || !r->cfg.rate || len < WIRE_HDR)
		return RRL_SEND;
	/* The source prefix: /24 for IPv4, /56 for IPv6. */
	uint8_t key[8 + 1 + WIRE_MAXNAME + 2];
	size_t kl = 0;
	memset(key, 0, 9);
	if (addr->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)addr)->sin_addr, 3);
	} else if (addr->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)addr)->sin6_addr, 7);
		key[7] = 6;
	}
	kl = 8;
	int rcode = resp[3] & 0x0F;
	size_t ql = wire_get16(resp + 4) ? name_len(resp, len, WIRE_HDR) : 0;
	uint8_t name[WIRE_MAXNAME];
	if (rcode == WIRE_RC_NOERROR && ql && WIRE_HDR + ql + 4 <= len) {
		/* An answer or NODATA: its own bucket, by name and type. */
		key[kl++] = 'a';
		memcpy(name, resp + WIRE_HDR, ql);
		wire_name_lower(name, ql);
		memcpy(key + kl, name, ql);
		kl += ql;
		memcpy(key + kl, resp + WIRE_HDR + ql, 2);
		kl += 2;
	} else if (rcode == WIRE_RC_NXDOMAIN && ql) {
		/* NXDOMAIN: one bucket per zone, so random names do not each get one. The
		 * authority SOA's owner points into the question at the apex. */
		key[kl++] = 'n';
		size_t off = WIRE_HDR + ql + 4;
		size_t apex = WIRE_HDR + ql - 1;
		if (off + 2 <= len && (resp[off] & 0xC0) == 0xC0) {
			size_t ptr = (size_t)(resp[off] & 0x3F) << 8 | resp[off + 1];
			if (ptr >= WIRE_HDR && ptr < WIRE_HDR + ql)
				apex = ptr;
		}
		size_t al = WIRE_HDR + ql - apex;
		memcpy(name, resp + apex, al);
		wire_name_lower(name, al);
		memcpy(key + kl, name, al);
		kl += al;
	} else {
		key[kl++] = 'e'; /* errors: one bucket per prefix */
	}
	uint64_t h = db_hash(key, kl);
	struct bucket *b = &r->b[h & r->mask];
	while (__atomic_test_and_set(&b->lock, __ATOMIC_ACQUIRE))
		;
	int verdict = bucket_take(r, b, h, now_ms);
	__atomic_clear(&b->lock, __ATOMIC_RELEASE);
	return verdict;
}

/* Takes a token from the bucket for key h, or says how to limit. Under its lock. */
static int bucket_take(struct rrl *r, struct bucket *b, uint64_t h, uint64_t now_ms)
{
	int64_t cap = (int64_t)r->cfg.rate * 1000;
	if (b->key != h) {
		/* A new or evicted bucket starts full: a collision only forgives. */
		b->key = h;
		b->tokens = cap;
		b->last_ms = now_ms;
		b->limited = 0;
	} else if (now_ms > b->last_ms) {
		int64_t add = (int64_t)(now_ms - b->last_ms) * r->cfg.rate;
		b->tokens = b->tokens + add > cap ? cap : b->tokens + add;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1000) {
		b->tokens -= 1000;
		b->limited = 0;
		return RRL_SEND;
	}
	b->limited++;
	if (r->cfg.slip && b->limited % r->cfg.slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}

size_t rrl_truncate(uint8_t *resp, size_t len)
{
	size_t ql = wire_get16(resp + 4) ? name_len(resp, len, WIRE_HDR) : 0;
	size_t end = ql ? WIRE_HDR + ql + 4 : WIRE_HDR;
	if (end > len)
		end = WIRE_HDR;
	resp[2] |= 0x02;
	memset(resp + 6, 0, 6);
	if (end == WIRE_HDR)
		resp[5] = resp[4] = 0;
	return end;
}

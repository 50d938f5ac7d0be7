/* rrl: response rate limiting: a token bucket per (source prefix, class of response,
 * name), found through a hash keyed at start so that no one can aim two at one bucket. */
#include "rrl.h"
#include "wire.h"
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* One token bucket. */
struct way {
	uint64_t key;     /* the keyed hash of what it counts; 0: never used */
	uint64_t last_ms; /* when its tokens were last brought up to date */
	int32_t tokens;   /* in thousandths of a response, at most rate * 1000 */
	uint32_t limited; /* responses limited in a row, for slip */
};

/* The table's slot: two buckets on one cache line under one lock. A key that owns
 * neither takes over a stale one (full again: its owner lost nothing) or else
 * shares one; a bucket still counting is never reset, so colliding keys are limited
 * together instead of forgiving each other. */
struct set {
	uint8_t lock; /* workers share the table: a spin lock per set */
	struct way w[2];
} __attribute__((aligned(64)));

struct rrl {
	struct rrl_cfg cfg;
	uint64_t mask;   /* sets - 1 */
	uint8_t key[16]; /* the SipHash key, from getrandom() at start */
	struct set s[];
};

struct rrl *rrl_new(const struct rrl_cfg *cfg, unsigned bits)
{
	size_t n = bits > 1 ? (size_t)1 << (bits - 1) : 1;
	size_t size = sizeof(struct rrl) + n * sizeof(struct set);
	struct rrl *r = aligned_alloc(_Alignof(struct rrl), size);
	if (!r)
		return NULL;
	memset(r, 0, size);
	r->cfg = *cfg;
	r->mask = n - 1;
	for (size_t got = 0; got < sizeof(r->key);) {
		ssize_t k = getrandom(r->key + got, sizeof(r->key) - got, 0);
		if (k < 0 && errno != EINTR) {
			free(r);
			return NULL;
		}
		got += k > 0 ? (size_t)k : 0;
	}
	return r;
}

void rrl_free(struct rrl *r)
{
	free(r);
}

/* ---- SipHash-2-4 (Aumasson and Bernstein, 2012) ---- */

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static inline void sip_rounds(uint64_t v[4], int n)
{
	for (int i = 0; i < n; i++) {
		v[0] += v[1];
		v[1] = rotl(v[1], 13) ^ v[0];
		v[0] = rotl(v[0], 32);
		v[2] += v[3];
		v[3] = rotl(v[3], 16) ^ v[2];
		v[0] += v[3];
		v[3] = rotl(v[3], 21) ^ v[0];
		v[2] += v[1];
		v[1] = rotl(v[1], 17) ^ v[2];
		v[2] = rotl(v[2], 32);
	}
}

uint64_t rrl_siphash24(const uint8_t key[16], const uint8_t *p, size_t n)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
			 k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
	size_t whole = n & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = le64(p + i);
		v[3] ^= m;
		sip_rounds(v, 2);
		v[0] ^= m;
	}
	uint64_t m = (uint64_t)n << 56;
	for (size_t i = 0; i < (n & 7); i++)
		m |= (uint64_t)p[whole + i] << (8 * i);
	v[3] ^= m;
	sip_rounds(v, 2);
	v[0] ^= m;
	v[2] ^= 0xff;
	sip_rounds(v, 4);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- what a response counts against ---- */

/* Length of the name at off in resp (no compression in our own questions), or 0. */
static size_t name_len(const uint8_t *p, size_t len, size_t off)
{
	size_t i = off;
	while (i < len && p[i] && !(p[i] & 0xC0))
		i += p[i] + 1u;
	return i < len && !p[i] ? i + 1 - off : 0;
}

/* The offset just past the owner name at off, compressed or not, or 0. */
static size_t skip_name(const uint8_t *p, size_t len, size_t off)
{
	while (off < len && p[off] && !(p[off] & 0xC0))
		off += p[off] + 1u;
	if (off < len && !p[off])
		return off + 1;
	return off + 2 <= len && (p[off] & 0xC0) == 0xC0 ? off + 2 : 0;
}

/* The rcode with its EDNS extension: BADVERS is 0 in the header, and counting it
 * as NODATA would give every random name a bucket of its own. off is the end of
 * the question. */
static int full_rcode(const uint8_t *p, size_t len, size_t off)
{
	int rcode = p[3] & 0x0F;
	unsigned before = wire_get16(p + 6) + wire_get16(p + 8), ar = wire_get16(p + 10);
	for (unsigned i = 0; ar && i < before + ar; i++) {
		if (!(off = skip_name(p, len, off)) || off + 10 > len)
			break;
		if (i >= before && wire_get16(p + off) == WIRE_T_OPT)
			return rcode | p[off + 4] << 4;
		off += 10u + wire_get16(p + off + 8);
	}
	return rcode;
}

/* Copies the name src[0..n) to dst in lowercase, eight octets at a time (this is on
 * every answer's path; wire_name_lower walks octet by octet). Every octet may be
 * folded: a length octet is at most 63, below 'A'. */
static void copy_lower(uint8_t *dst, const uint8_t *src, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x, low;
		memcpy(&x, src + i, 8);
		low = x & ~high; /* the sums below then stay within each octet */
		uint64_t from_a = low + ones * (0x80 - 'A'), past_z = low + ones * (0x80 - 'Z' - 1);
		x |= (from_a & ~past_z & ~x & high) >> 2; /* 0x20 where 'A' <= octet <= 'Z' */
		memcpy(dst + i, &x, 8);
	}
	for (; i < n; i++)
		dst[i] = (uint8_t)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] | 0x20 : src[i]);
}

/* The key of resp's bucket into key[]: the source prefix, a class, a name. Returns
 * its length. The classes follow NSD and Knot: an answer counts against its name
 * whatever the type asked, NODATA against its name too (so rotating types gains
 * nothing), NXDOMAIN against its zone (so random names gain nothing), and every
 * error (REFUSED, FORMERR, NOTIMP, BADVERS...) against the prefix alone. */
static size_t bucket_key(const struct sockaddr *addr, const uint8_t *resp, size_t len,
			 uint8_t key[8 + 1 + WIRE_MAXNAME])
{
	memset(key, 0, 8);
	if (addr->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)addr)->sin_addr, 3); /* /24 */
	} else if (addr->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)addr)->sin6_addr, 7); /* /56 */
		key[7] = 6;
	}
	size_t ql = wire_get16(resp + 4) ? name_len(resp, len, WIRE_HDR) : 0;
	if (ql && WIRE_HDR + ql + 4 > len)
		ql = 0;
	int rcode = full_rcode(resp, len, ql ? WIRE_HDR + ql + 4 : WIRE_HDR);
	size_t from = WIRE_HDR, nl = 0;
	if (rcode == WIRE_RC_NOERROR && ql) {
		key[8] = wire_get16(resp + 6) ? 'a' : 'd';
		nl = ql;
	} else if (rcode == WIRE_RC_NXDOMAIN && ql) {
		/* The authority SOA's owner points into the question at the apex; without
		 * it, the root stands for the zone. */
		key[8] = 'n';
		size_t off = WIRE_HDR + ql + 4;
		from = WIRE_HDR + ql - 1;
		if (off + 2 <= len && (resp[off] & 0xC0) == 0xC0) {
			size_t ptr = (size_t)(resp[off] & 0x3F) << 8 | resp[off + 1];
			if (ptr >= WIRE_HDR && ptr < WIRE_HDR + ql)
				from = ptr;
		}
		nl = WIRE_HDR + ql - from;
	} else {
		key[8] = 'e';
	}
	copy_lower(key + 9, resp + from, nl);
	return 9 + nl;
}

/* ---- the buckets ---- */

/* w's tokens at now_ms; a bucket never used is full. */
static int64_t level(const struct rrl *r, const struct way *w, uint64_t now_ms)
{
	int64_t cap = (int64_t)r->cfg.rate * 1000;
	if (!w->key || now_ms >= w->last_ms + 1000)
		return cap;
	if (now_ms <= w->last_ms) /* another worker's clock ran ahead: nothing to add */
		return w->tokens;
	int64_t t = w->tokens + (int64_t)(now_ms - w->last_ms) * r->cfg.rate;
	return t > cap ? cap : t;
}

/* Finds h's bucket in s, takes a token from it or says how to limit. Under s's lock. */
static int take(struct rrl *r, struct set *s, uint64_t h, uint64_t now_ms)
{
	int64_t cap = (int64_t)r->cfg.rate * 1000;
	struct way *w = s->w[0].key == h ? &s->w[0] : s->w[1].key == h ? &s->w[1] : NULL;
	if (!w) {
		if (level(r, &s->w[0], now_ms) >= cap)
			w = &s->w[0];
		else if (level(r, &s->w[1], now_ms) >= cap)
			w = &s->w[1];
		if (w) {
			w->key = h;
			w->tokens = (int32_t)cap;
			w->last_ms = now_ms;
			w->limited = 0;
		} else {
			w = &s->w[h >> 63]; /* both still counting: share one, always the same */
		}
	}
	w->tokens = (int32_t)level(r, w, now_ms);
	if (now_ms > w->last_ms)
		w->last_ms = now_ms;
	if (w->tokens >= 1000) {
		w->tokens -= 1000;
		w->limited = 0;
		return RRL_SEND;
	}
	w->limited++;
	if (r->cfg.slip && w->limited % r->cfg.slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}

int rrl_check(struct rrl *r, const struct sockaddr *addr, const uint8_t *resp, size_t len,
	      uint64_t now_ms)
{
	if (!r || !r->cfg.rate || len < WIRE_HDR)
		return RRL_SEND;
	uint8_t key[8 + 1 + WIRE_MAXNAME];
	uint64_t h = rrl_siphash24(r->key, key, bucket_key(addr, resp, len, key));
	h += !h; /* 0 marks a bucket never used */
	struct set *s = &r->s[h & r->mask];
	while (__atomic_test_and_set(&s->lock, __ATOMIC_ACQUIRE))
		;
	int verdict = take(r, s, h, now_ms);
	__atomic_clear(&s->lock, __ATOMIC_RELEASE);
	return verdict;
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

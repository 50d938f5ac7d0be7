/* test_rrl: response rate limiting: buckets, refill, slip, prefixes, truncation,
 * the keyed hash, collisions, and how responses are classed. */
#include "rrl.h"
#include "t.h"
#include "wire.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

/* What a response holds besides its question. */
struct shape {
	int rcode; /* the header's four bits */
	int an;    /* an answer TXT record */
	int ns;    /* an authority SOA owned by the apex demo.example (or the root) */
	int opt;   /* an OPT record, with ext as its extended rcode */
	int ext;
};

/* A response as answer_query builds it, for the question NAME/TYPE, into p. */
static size_t reply(uint8_t *p, const char *name, uint16_t type, struct shape s)
{
	memset(p, 0, 12);
	p[2] = 0x84;
	p[3] = (uint8_t)s.rcode;
	p[5] = 1;
	int n = wire_name_from_text(name, p + 12);
	size_t l = 12 + (size_t)n;
	wire_put16(p + l, type);
	wire_put16(p + l + 2, WIRE_C_IN);
	l += 4;
	if (s.an) {
		/* owner: the question; TXT IN, TTL 256, the string "test" */
		static const uint8_t txt[] = {0xC0, 12, 0, 16, 0, 1, 0, 0, 1, 0, 0, 5,
					      4, 't', 'e', 's', 't'};
		memcpy(p + l, txt, sizeof(txt));
		l += sizeof(txt);
		p[7] = 1;
	}
	if (s.ns) {
		/* the owner points at "demo.example." inside the question */
		size_t apex = 12;
		while (p[apex] && !(p[apex] == 4 && !memcmp(p + apex + 1, "demo", 4)))
			apex += p[apex] + 1u;
		wire_put16(p + l, (uint16_t)(0xC000 | apex));
		static const uint8_t soa[] = {0, 6, 0, 1, 0, 0, 0, 60, 0, 22, 0, 0, 0, 0, 0, 1,
					      0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 60};
		memcpy(p + l + 2, soa, sizeof(soa));
		l += 2 + sizeof(soa);
		p[9] = 1;
	}
	if (s.opt) {
		static const uint8_t opt[] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0};
		memcpy(p + l, opt, sizeof(opt));
		p[l + 5] = (uint8_t)s.ext;
		l += sizeof(opt);
		p[11] = 1;
	}
	return l;
}

/* A TXT answer, NXDOMAIN with the SOA, or another rcode with the question alone. */
static size_t resp(uint8_t *p, const char *name, int rcode)
{
	return reply(p, name, WIRE_T_TXT,
		     (struct shape){rcode, rcode == 0, rcode == WIRE_RC_NXDOMAIN, 0, 0});
}

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in s = { 0 };
	s.sin_family = AF_INET;
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 v6(const char *a)
{
	struct sockaddr_in6 s = { 0 };
	s.sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &s.sin6_addr);
	return s;
}

static void test_limit_and_slip(void)
{
	struct rrl_cfg cfg = { 10, 2 };
	struct rrl *r = rrl_new(&cfg, 16);
	uint8_t p[512];
	size_t n = resp(p, "a.demo.example", 0);
	struct sockaddr_in a = v4("192.0.2.1");
	int sent = 0, dropped = 0, slipped = 0;
	for (int i = 0; i < 30; i++) {
		int v = rrl_check(r, (struct sockaddr *)&a, p, n, 1000);
		sent += v == RRL_SEND;
		dropped += v == RRL_DROP;
		slipped += v == RRL_SLIP;
	}
	T_EQ_INT(sent, 10);
	T_EQ_INT(slipped, 10);
	T_EQ_INT(dropped, 10);
	/* Half a second refills half the bucket. */
	sent = 0;
	for (int i = 0; i < 30; i++)
		sent += rrl_check(r, (struct sockaddr *)&a, p, n, 1500) == RRL_SEND;
	T_EQ_INT(sent, 5);
	/* The same /24 shares the bucket; another /24 has its own. */
	struct sockaddr_in b = v4("192.0.2.200"), c = v4("192.0.3.1");
	T_EQ_INT(rrl_check(r, (struct sockaddr *)&b, p, n, 1500) != RRL_SEND, 1);
	T_EQ_INT(rrl_check(r, (struct sockaddr *)&c, p, n, 1500), RRL_SEND);
	/* Another name is another response. */
	uint8_t q[512];
	size_t m = resp(q, "b.demo.example", 0);
	T_EQ_INT(rrl_check(r, (struct sockaddr *)&a, q, m, 1500), RRL_SEND);
	/* Case does not make a new bucket. */
	m = resp(q, "A.Demo.Example", 0);
	T_EQ_INT(rrl_check(r, (struct sockaddr *)&a, q, m, 1500) != RRL_SEND, 1);
	rrl_free(r);
}

static void test_nxdomain_and_v6(void)
{
	struct rrl_cfg cfg = { 5, 0 };
	struct rrl *r = rrl_new(&cfg, 16);
	uint8_t p[512];
	char name[64];
	struct sockaddr_in a = v4("198.51.100.7");
	int sent = 0, slipped = 0;
	/* Random names under one zone share one NXDOMAIN bucket. */
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "x%d.demo.example", i);
		size_t n = resp(p, name, WIRE_RC_NXDOMAIN);
		int v = rrl_check(r, (struct sockaddr *)&a, p, n, 5000);
		sent += v == RRL_SEND;
		slipped += v == RRL_SLIP;
	}
	T_EQ_INT(sent, 5);
	T_EQ_INT(slipped, 0); /* slip 0: never */
	/* IPv6: one /56 shares, the next /56 does not. */
	size_t n = resp(p, "a.demo.example", 0);
	struct sockaddr_in6 x = v6("2001:db8:0:1::1"), y = v6("2001:db8:0:ff::2"), z = v6("2001:db8:0:100::1");
	for (int i = 0; i < 5; i++)
		T_EQ_INT(rrl_check(r, (struct sockaddr *)&x, p, n, 5000), RRL_SEND);
	T_EQ_INT(rrl_check(r, (struct sockaddr *)&y, p, n, 5000) != RRL_SEND, 1);
	T_EQ_INT(rrl_check(r, (struct sockaddr *)&z, p, n, 5000), RRL_SEND);
	rrl_free(r);
}

static void test_off_and_truncate(void)
{
	struct rrl_cfg cfg = { 0, 2 };
	struct rrl *r = rrl_new(&cfg, 4);
	uint8_t p[512];
	size_t n = resp(p, "a.demo.example", 0);
	struct sockaddr_in a = v4("192.0.2.1");
	int sent = 0;
	for (int i = 0; i < 1000; i++)
		sent += rrl_check(r, (struct sockaddr *)&a, p, n, 1) == RRL_SEND;
	T_EQ_INT(sent, 1000);
	T_EQ_INT(rrl_check(NULL, (struct sockaddr *)&a, p, n, 1), RRL_SEND);
	rrl_free(r);
	rrl_free(NULL);
	/* Truncation keeps header and question, sets TC, zeroes the other counts. */
	p[7] = 1;
	p[11] = 1;
	size_t qend = 12 + 16 + 4;
	T_EQ_INT(rrl_truncate(p, n + 40), qend);
	T_CHECK(p[2] & 0x02);
	T_EQ_INT(wire_get16(p + 4), 1);
	T_EQ_INT(wire_get16(p + 6) + wire_get16(p + 8) + wire_get16(p + 10), 0);
}

/* The reference vectors of the SipHash paper: key 00..0f, messages 00 01 .. n-1. */
static void test_siphash_vectors(void)
{
	static const struct {
		size_t n;
		uint64_t h;
	} v[] = {{0, 0x726FDB47DD0E0E31ULL},
		 {1, 0x74F839C593DC67FDULL},
		 {8, 0x93F5F5799A932462ULL},
		 {15, 0xA129CA6149BE45E5ULL},
		 {32, 0x7127512F72F27CCEULL}};
	uint8_t key[16], msg[32];
	for (int i = 0; i < 32; i++)
		msg[i] = (uint8_t)i;
	memcpy(key, msg, 16);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		T_CHECK(rrl_siphash24(key, msg, v[i].n) == v[i].h);
	/* Another key, another hash: the key is really used. */
	key[15] ^= 1;
	T_CHECK(rrl_siphash24(key, msg, 15) != 0xA129CA6149BE45E5ULL);
}

/* rrl_check for the response p from src at now: 1 when it is sent whole. */
static int sent(struct rrl *r, const char *src, const uint8_t *p, size_t n, uint64_t now)
{
	struct sockaddr_in a = v4(src);
	return rrl_check(r, (struct sockaddr *)&a, p, n, now) == RRL_SEND;
}

/* Two answers alternating at a thousand a second for ten seconds, in a table of one
 * slot: each is held to its own rate (10 a second, and a burst of 10), 220 at most.
 * They used to reset each other's bucket and got all 10,000 answers. */
static void test_alternating_collision(void)
{
	struct rrl_cfg cfg = {10, 2};
	struct rrl *r = rrl_new(&cfg, 0);
	uint8_t a[512], b[512];
	size_t na = resp(a, "a.demo.example", 0), nb = resp(b, "b.demo.example", 0);
	int full = 0;
	for (uint64_t t = 1000; t < 11000; t++)
		full += t & 1 ? sent(r, "192.0.2.1", a, na, t) : sent(r, "192.0.2.1", b, nb, t);
	T_CHECK(full >= 200 && full <= 2 * (10 * 10 + 10));
	printf("# alternating: %d full answers of 10000\n", full);
	rrl_free(r);
}

/* Three answers rotating in a table of two buckets: at most two buckets' worth get
 * out, for the third shares a bucket still counting instead of resetting it. */
static void test_three_in_two(void)
{
	struct rrl_cfg cfg = {10, 0};
	struct rrl *r = rrl_new(&cfg, 1);
	uint8_t p[3][512];
	size_t n[3] = {resp(p[0], "a.demo.example", 0), resp(p[1], "b.demo.example", 0),
		       resp(p[2], "c.demo.example", 0)};
	int full = 0;
	for (uint64_t t = 1000; t < 11000; t++)
		for (int k = 0; k < 3; k++)
			full += sent(r, "192.0.2.1", p[k], n[k], t);
	T_CHECK(full >= 200 && full <= 2 * (10 * 10 + 10));
	printf("# three in two buckets: %d full answers of 30000\n", full);
	rrl_free(r);
}

/* A key that finds its slot taken by buckets still counting shares one of them and is
 * limited with it; it never resets them. A stale bucket (full again) may be taken. */
static void test_live_bucket_not_reset(void)
{
	struct rrl_cfg cfg = {10, 0};
	struct rrl *r = rrl_new(&cfg, 0);
	uint8_t a[512], b[512], c[512];
	size_t na = resp(a, "a.demo.example", 0), nb = resp(b, "b.demo.example", 0),
	       nc = resp(c, "c.demo.example", 0);
	int full_a = 0, full_b = 0, full_c = 0;
	for (int i = 0; i < 20; i++) {
		full_a += sent(r, "192.0.2.1", a, na, 1000);
		full_b += sent(r, "192.0.2.1", b, nb, 1000);
	}
	T_EQ_INT(full_a, 10);
	T_EQ_INT(full_b, 10);
	for (int i = 0; i < 20; i++)
		full_c += sent(r, "192.0.2.1", c, nc, 1000);
	T_EQ_INT(full_c, 0);                                /* shares a drained bucket */
	T_EQ_INT(sent(r, "192.0.2.1", a, na, 1000), 0);     /* a was not reset by c */
	T_EQ_INT(sent(r, "192.0.2.1", b, nb, 1000), 0);     /* nor was b */
	/* 1.5 s later both are full again: c takes one over, and a and b still answer. */
	T_EQ_INT(sent(r, "192.0.2.1", c, nc, 2500), 1);
	T_EQ_INT(sent(r, "192.0.2.1", a, na, 2500), 1);
	T_EQ_INT(sent(r, "192.0.2.1", b, nb, 2500), 1);
	rrl_free(r);
}

/* NODATA counts against its name whatever the type: rotating a thousand types gets
 * no more than one name's burst. Answers count against the name too (TXT and ANY
 * share), apart from its NODATA. */
static void test_classes_by_name(void)
{
	struct rrl_cfg cfg = {10, 0};
	struct rrl *r = rrl_new(&cfg, 16);
	uint8_t p[512];
	int full = 0;
	struct shape nodata = {0, 0, 1, 1, 0};
	for (int t = 1; t <= 1000; t++) {
		size_t n = reply(p, "a.demo.example", (uint16_t)t, nodata);
		full += sent(r, "192.0.2.1", p, n, 1000);
	}
	T_EQ_INT(full, 10);
	/* The name's answers are apart from its NODATA. */
	struct shape answer = {0, 1, 0, 1, 0};
	full = 0;
	for (int i = 0; i < 20; i++) {
		size_t n = reply(p, "a.demo.example", i & 1 ? WIRE_T_TXT : WIRE_T_ANY, answer);
		full += sent(r, "192.0.2.1", p, n, 1000);
	}
	T_EQ_INT(full, 10);
	/* Another name's NODATA has its own bucket. */
	size_t n = reply(p, "b.demo.example", WIRE_T_MX, nodata);
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 1);
	rrl_free(r);
}

/* Case folds in every octet of a long name, and only A-Z fold: 0xC1 is not 'A'. */
static void test_case_folding(void)
{
	struct rrl_cfg cfg = {1, 0};
	struct rrl *r = rrl_new(&cfg, 16);
	uint8_t p[512];
	size_t n = resp(p, "esp1.abcdefghijklmnopqrstuvwxyz.dkim.auth.demo.example", 0);
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 1);
	n = resp(p, "ESP1.AbCdEfGhIjKlMnOpQrStUvWxYz.DKIM.Auth.Demo.EXAMPLE", 0);
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 0);
	n = resp(p, "a.demo.example", 0);
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 1);
	p[13] = 0xC1; /* the label 'a' becomes the octet 0xC1: another name */
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 1);
	p[13] = 0xE1; /* and 0xE1 another again: 0xC1 did not fold into it */
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 1);
	p[13] = 'A';
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 0);
	rrl_free(r);
}

/* Errors count against the source prefix alone, whatever the name: REFUSED, FORMERR
 * (no question) and BADVERS, whose rcode is 0 in the header and 1 in the OPT. */
static void test_errors_per_prefix(void)
{
	struct rrl_cfg cfg = {10, 0};
	struct rrl *r = rrl_new(&cfg, 16);
	uint8_t p[512];
	char name[64];
	int full = 0;
	struct shape badvers = {0, 0, 0, 1, 1};
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d.demo.example", i);
		size_t n = reply(p, name, WIRE_T_TXT, badvers);
		full += sent(r, "192.0.2.1", p, n, 1000);
	}
	T_EQ_INT(full, 10);
	/* REFUSED and FORMERR share that bucket. */
	size_t n = resp(p, "elsewhere.example", WIRE_RC_REFUSED);
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 0);
	n = resp(p, "x.example", WIRE_RC_FORMERR);
	p[5] = 0;
	T_EQ_INT(sent(r, "192.0.2.1", p, WIRE_HDR, 1000), 0);
	/* Another prefix has its own; the same prefix's answers and NXDOMAIN go on. */
	n = resp(p, "elsewhere.example", WIRE_RC_REFUSED);
	T_EQ_INT(sent(r, "192.0.3.1", p, n, 1000), 1);
	n = reply(p, "a.demo.example", WIRE_T_TXT, (struct shape){0, 1, 0, 1, 0});
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 1);
	n = reply(p, "r1.demo.example", WIRE_T_TXT, (struct shape){WIRE_RC_NXDOMAIN, 0, 1, 1, 0});
	T_EQ_INT(sent(r, "192.0.2.1", p, n, 1000), 1);
	rrl_free(r);
}

/* Workers share the table: four threads taking from one bucket at one instant get
 * exactly its burst between them, never more (the set's lock holds). */
struct racer {
	struct rrl *r;
	const uint8_t *p;
	size_t n;
	pthread_barrier_t *go;
	int full;
};

static void *race(void *arg)
{
	struct racer *x = arg;
	pthread_barrier_wait(x->go);
	for (int i = 0; i < 100000; i++)
		x->full += sent(x->r, "192.0.2.1", x->p, x->n, 1000);
	return NULL;
}

static void test_threads_share(void)
{
	struct rrl_cfg cfg = {100000, 0};
	struct rrl *r = rrl_new(&cfg, 4);
	uint8_t p[512];
	size_t n = resp(p, "a.demo.example", 0);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 4);
	struct racer x[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		x[i] = (struct racer){r, p, n, &go, 0};
		T_EQ_INT(pthread_create(&t[i], NULL, race, &x[i]), 0);
	}
	int full = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		full += x[i].full;
	}
	T_EQ_INT(full, 100000);
	pthread_barrier_destroy(&go);
	rrl_free(r);
}

int main(void)
{
	T_RUN(test_limit_and_slip);
	T_RUN(test_nxdomain_and_v6);
	T_RUN(test_off_and_truncate);
	T_RUN(test_siphash_vectors);
	T_RUN(test_alternating_collision);
	T_RUN(test_three_in_two);
	T_RUN(test_live_bucket_not_reset);
	T_RUN(test_classes_by_name);
	T_RUN(test_case_folding);
	T_RUN(test_errors_per_prefix);
	T_RUN(test_threads_share);
	return t_done();
}

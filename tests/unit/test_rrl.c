/* test_rrl: response rate limiting: buckets, refill, slip, prefixes, truncation. */
#include "rrl.h"
#include "t.h"
#include "wire.h"
#include <arpa/inet.h>
#include <netinet/in.h>

/* A response: header, the question name, type TXT class IN; for NXDOMAIN an
 * authority SOA owner pointing at the apex (the last two labels). */
static size_t resp(uint8_t *p, const char *name, int rcode)
{
	memset(p, 0, 12);
	p[2] = 0x84;
	p[3] = (uint8_t)rcode;
	p[5] = 1;
	int n = wire_name_from_text(name, p + 12);
	size_t l = 12 + (size_t)n;
	wire_put16(p + l, WIRE_T_TXT);
	wire_put16(p + l + 2, WIRE_C_IN);
	l += 4;
	if (rcode == WIRE_RC_NXDOMAIN) {
		/* point at "demo.example." inside the question */
		size_t apex = 12;
		while (p[apex] && !(p[apex] == 4 && !memcmp(p + apex + 1, "demo", 4)))
			apex += p[apex] + 1u;
		wire_put16(p + l, (uint16_t)(0xC000 | apex));
		l += 2;
		p[9] = 1;
	}
	return l;
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
	struct rrl *r = rrl_new(&cfg, 10);
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
	struct rrl *r = rrl_new(&cfg, 10);
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

int main(void)
{
	T_RUN(test_limit_and_slip);
	T_RUN(test_nxdomain_and_v6);
	T_RUN(test_off_and_truncate);
	return t_done();
}

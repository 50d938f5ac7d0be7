/* test_notify: the NOTIFY sender against a little secondary of this test's own:
 * a real UDP socket on loopback in the same libuv loop, which reads each NOTIFY
 * with ldns and answers it (or not, or wrongly) as a case asks. One NOTIFY for a
 * burst of changes; retries with back-off while unanswered; none after the
 * answer; TSIG that ldns verifies; wrong answers and garbage ignored. */
#include "err.h"
#include "log.h"
#include "notify.h"
#include "t.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>

#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
#define WRONG  "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmct"

enum mode {
	ANSWER,	   /* a right answer */
	SILENT,	   /* none */
	WRONG_ID,  /* the ID plus one */
	OTHER_SRC, /* from another port */
	REFUSE,	   /* REFUSED */
	UNSIGNED,  /* an answer without TSIG (to a signed NOTIFY) */
	BAD_TSIG,  /* signed with another secret */
	NOT_NOTIFY /* opcode QUERY */
};

/* The secondary. */
static struct {
	uv_udp_t h, other;
	struct net_addr addr;
	enum mode mode;
	int got;	   /* NOTIFYs received */
	uint32_t serial;   /* of the last one */
	uint16_t id;	   /* and its ID */
	int tsig, tsig_ok; /* it was signed; ldns verified it */
	int shape_ok;	   /* opcode, AA, question, answer as they should be */
	uint64_t at[64];   /* when each came (loop ms) */
	struct sockaddr_storage from;
} sec;

static uv_loop_t loop;
static uint8_t rbuf[65536];

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	*b = uv_buf_init((char *)rbuf, sizeof(rbuf));
}

static void reply(uv_udp_t *via, const uint8_t *m, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)m, (unsigned)len);
	uv_udp_try_send(via, &b, 1, (const struct sockaddr *)&sec.from);
}

static const uint8_t apex[] = "\x04"
			      "auth\x04"
			      "demo\x07"
			      "example";

static void on_notify(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *sa,
		      unsigned flags)
{
	if (nread <= 0 || !sa)
		return;
	memcpy(&sec.from, sa,
	       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, (uint8_t *)buf->base, (size_t)nread) != LDNS_STATUS_OK)
		return;
	if (sec.got < 64)
		sec.at[sec.got] = uv_now(&loop);
	sec.got++;
	sec.id = ldns_pkt_id(p);
	ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	char *qn = q ? ldns_rdf2str(ldns_rr_owner(q)) : NULL;
	sec.shape_ok = ldns_pkt_get_opcode(p) == LDNS_PACKET_NOTIFY && ldns_pkt_aa(p) &&
		       !ldns_pkt_qr(p) && ldns_pkt_qdcount(p) == 1 && qn &&
		       !strcmp(qn, "auth.demo.example.") &&
		       ldns_rr_get_type(q) == LDNS_RR_TYPE_SOA &&
		       ldns_rr_get_class(q) == LDNS_RR_CLASS_IN && soa &&
		       ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA && ldns_rr_ttl(soa) == 3600;
	free(qn);
	sec.serial = soa ? ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) : 0;
	sec.tsig = ldns_pkt_tsig(p) != NULL;
	sec.tsig_ok = sec.tsig && ldns_pkt_tsig_verify(p, (uint8_t *)buf->base, (size_t)nread,
						       "xfr-key.", SECRET, NULL);
	if (sec.mode == SILENT) {
		ldns_pkt_free(p);
		return;
	}
	/* The answer: the NOTIFY echoed, QR set; signed over the NOTIFY's MAC. */
	ldns_pkt *r = ldns_pkt_clone(p);
	ldns_rdf *mac = sec.tsig ? ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3)) : NULL;
	ldns_rr_free(ldns_pkt_tsig(r));
	ldns_pkt_set_tsig(r, NULL);
	ldns_pkt_set_qr(r, 1);
	ldns_pkt_set_aa(r, 1);
	if (sec.mode == WRONG_ID)
		ldns_pkt_set_id(r, (uint16_t)(sec.id + 1));
	if (sec.mode == REFUSE)
		ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
	if (sec.mode == NOT_NOTIFY)
		ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
	if (mac && sec.mode != UNSIGNED)
		ldns_pkt_tsig_sign(r, "xfr-key.", sec.mode == BAD_TSIG ? WRONG : SECRET, 300,
				   "hmac-sha256.", mac);
	uint8_t *w;
	size_t wl;
	if (ldns_pkt2wire(&w, r, &wl) == LDNS_STATUS_OK) {
		reply(sec.mode == OTHER_SRC ? &sec.other : h, w, wl);
		free(w);
	}
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(r);
	ldns_pkt_free(p);
}

static void on_stop(uv_timer_t *t)
{
	uv_stop(&loop);
}

/* Runs the loop for ms milliseconds. */
static void run_for(unsigned ms)
{
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, on_stop, ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* An SOA RDATA: ns1.auth.demo.example. hostmaster.auth.demo.example. 1 ... */
static size_t soa_rdata(uint8_t *out)
{
	static const uint8_t names[] = "\x03ns1\x04"
				       "auth\x04"
				       "demo\x07"
				       "example\x00"
				       "\x0ahostmaster\x04"
				       "auth\x04"
				       "demo\x07"
				       "example";
	size_t n = sizeof(names); /* with the final root label */
	memcpy(out, names, n);
	for (int i = 0; i < 5; i++)
		wire_put32(out + n + 4 * i, i == 0 ? 1u : 3600u);
	return n + 20;
}

static struct notify *make(const char *key, struct tsig_keys *keys)
{
	struct config_notify t;
	char err[256];
	struct notify *n = NULL;
	memset(&t, 0, sizeof(t));
	t.to = sec.addr;
	t.key = key;
	T_EQ_INT(notify_new(&loop, &t, 1, keys, &n, err, sizeof(err)), 0);
	if (n)
		notify_set_timing(n, 50, 400);
	return n;
}

static void zone(struct notify *n, uint32_t serial)
{
	uint8_t soa[600];
	size_t sl = soa_rdata(soa);
	notify_zone(n, apex, sizeof(apex), serial, soa, sl, 3600);
}

static void reset(enum mode m)
{
	sec.mode = m;
	sec.got = 0;
	sec.serial = 0;
	sec.tsig = sec.tsig_ok = sec.shape_ok = 0;
}

/* A burst of changes in one turn of the loop: one NOTIFY, of the last serial;
 * answered, nothing more; the same serial again sends nothing. */
static void test_burst(void)
{
	struct notify *n = make(NULL, NULL);
	if (!n)
		return;
	reset(ANSWER);
	for (uint32_t s = 100; s < 110; s++)
		zone(n, s);
	T_EQ_INT(notify_pending(n), 1);
	run_for(300);
	T_EQ_INT(sec.got, 1);
	T_EQ_INT(sec.serial, 109);
	T_CHECK(sec.shape_ok);
	T_EQ_INT(sec.tsig, 0);
	T_EQ_INT(notify_pending(n), 0);
	zone(n, 109);
	T_EQ_INT(notify_pending(n), 0);
	run_for(100);
	T_EQ_INT(sec.got, 1);
	/* A change while one is in flight: after the answer, the new serial at once. */
	reset(ANSWER);
	zone(n, 110);
	run_for(0);
	zone(n, 111);
	run_for(200);
	T_EQ_INT(sec.got, 2);
	T_EQ_INT(sec.serial, 111);
	T_EQ_INT(notify_pending(n), 0);
	notify_free(n);
	run_for(10);
}

/* Unanswered: sent again at 50, 100, 200, 400, 400 ms; answered, no more. A
 * newer serial meanwhile goes out within the first step. */
static void test_retry(void)
{
	struct notify *n = make(NULL, NULL);
	if (!n)
		return;
	reset(SILENT);
	zone(n, 200);
	run_for(1300);
	/* At 0, 50, 150, 350, 750 and 1150 ms (later on a busy machine). */
	T_CHECK(sec.got >= 5 && sec.got <= 7);
	if (sec.got < 5)
		return;
	uint64_t d1 = sec.at[1] - sec.at[0], d2 = sec.at[2] - sec.at[1], d3 = sec.at[3] - sec.at[2],
		 d4 = sec.at[4] - sec.at[3];
	printf("retries after %llu, %llu, %llu, %llu ms\n", (unsigned long long)d1,
	       (unsigned long long)d2, (unsigned long long)d3, (unsigned long long)d4);
	T_CHECK(d1 >= 45 && d1 < 150);
	T_CHECK(d2 >= 95 && d2 < 250);
	T_CHECK(d3 >= 195 && d3 < 380);
	T_CHECK(d4 >= 395 && d4 < 600); /* capped */
	T_EQ_INT(sec.serial, 200);
	T_EQ_INT(notify_pending(n), 1);
	/* A newer serial: within the first step, and the schedule starts again. */
	int before = sec.got;
	zone(n, 201);
	run_for(80);
	T_EQ_INT(sec.got, before + 1);
	T_EQ_INT(sec.serial, 201);
	/* Answered: no more. */
	sec.mode = ANSWER;
	run_for(150);
	T_EQ_INT(notify_pending(n), 0);
	int answered = sec.got;
	run_for(500);
	T_EQ_INT(sec.got, answered);
	notify_free(n);
	run_for(10);
}

/* Answers that do not count: another ID, another port, REFUSED, another
 * opcode; garbage from the target's address. The NOTIFY stays pending and is
 * sent again; a right answer ends it. */
static void test_ignored(void)
{
	static const enum mode modes[] = {WRONG_ID, OTHER_SRC, REFUSE, NOT_NOTIFY};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct notify *n = make(NULL, NULL);
		if (!n)
			return;
		reset(modes[i]);
		zone(n, 300 + (uint32_t)i);
		run_for(120);
		T_EQ_INT(notify_pending(n), 1);
		T_CHECK(sec.got >= 2);
		sec.mode = ANSWER;
		run_for(250);
		T_EQ_INT(notify_pending(n), 0);
		notify_free(n);
		run_for(10);
	}
	/* Garbage at the sender's socket, from the target: dropped, no crash. */
	struct notify *n = make(NULL, NULL);
	if (!n)
		return;
	reset(SILENT);
	zone(n, 400);
	run_for(20);
	T_EQ_INT(sec.got, 1);
	uint8_t g[64];
	memset(g, 0xff, sizeof(g));
	for (size_t len = 0; len < sizeof(g); len += 3)
		reply(&sec.h, g, len);
	/* The right ID and flags, a broken question. */
	memset(g, 0, sizeof(g));
	wire_put16(g, sec.id);
	g[2] = 0x80 | 0x20 | 0x04;
	wire_put16(g + 4, 1);
	g[12] = 60;
	reply(&sec.h, g, 20);
	/* The right ID, another zone in the question. */
	memcpy(g + 12, "\x03org\x00\x00\x06\x00\x01", 9);
	reply(&sec.h, g, 21);
	run_for(30);
	T_EQ_INT(notify_pending(n), 1);
	/* That answer with the zone's name: counts. */
	memcpy(g + 12, apex, sizeof(apex));
	wire_put16(g + 12 + sizeof(apex), WIRE_T_SOA);
	wire_put16(g + 14 + sizeof(apex), WIRE_C_IN);
	reply(&sec.h, g, 16 + sizeof(apex));
	run_for(30);
	T_EQ_INT(notify_pending(n), 0);
	notify_free(n);
	run_for(10);
}

/* Signed with the target's key: ldns verifies it; the answer must be signed
 * over it with the same key. */
static void test_tsig(void)
{
	struct tsig_keys *keys = NULL;
	char err[256];
	const char *text = "xfr-key. hmac-sha256 " SECRET "\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	T_EQ_INT(tsig_keys_parse(f, "mem", &keys, err, sizeof(err)), 0);
	fclose(f);
	if (!keys)
		return;
	/* A key not in the set: refused. */
	struct config_notify t = {.to = sec.addr, .key = "other."};
	struct notify *n = NULL;
	T_EQ_INT(notify_new(&loop, &t, 1, keys, &n, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(n == NULL);
	T_CHECK(strstr(err, "no TSIG key other.") != NULL);

	static const enum mode modes[] = {UNSIGNED, BAD_TSIG, ANSWER};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		n = make("xfr-key.", keys);
		if (!n)
			break;
		reset(modes[i]);
		zone(n, 500 + (uint32_t)i);
		run_for(120);
		T_CHECK(sec.tsig);
		T_CHECK(sec.tsig_ok);
		T_CHECK(sec.shape_ok);
		T_EQ_INT(sec.serial, 500 + i);
		T_EQ_INT(notify_pending(n), modes[i] == ANSWER ? 0 : 1);
		if (modes[i] == ANSWER)
			T_EQ_INT(sec.got, 1);
		else
			T_CHECK(sec.got >= 2);
		notify_free(n);
		run_for(10);
	}
	tsig_keys_free(keys);
}

/* Two targets, one over IPv6, both told. */
static void test_v6(void)
{
	uv_udp_t h6;
	struct net_addr a6;
	struct sockaddr_in6 s6;
	int len = sizeof(s6);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_loopback;
	uv_udp_init(&loop, &h6);
	if (uv_udp_bind(&h6, (struct sockaddr *)&s6, 0)) {
		printf("no IPv6 on loopback: skipped\n");
		uv_close((uv_handle_t *)&h6, NULL);
		return;
	}
	uv_udp_getsockname(&h6, (struct sockaddr *)&s6, &len);
	char text[64];
	snprintf(text, sizeof(text), "[::1]:%u", ntohs(s6.sin6_port));
	T_EQ_INT(net_parse_addr(text, &a6), 0);
	uv_udp_recv_start(&h6, on_alloc, on_notify);
	struct config_notify t[2] = {{.to = sec.addr}, {.to = a6}};
	struct notify *n = NULL;
	char err[256];
	T_EQ_INT(notify_new(&loop, t, 2, NULL, &n, err, sizeof(err)), 0);
	if (n) {
		reset(ANSWER);
		zone(n, 600);
		run_for(100);
		T_EQ_INT(sec.got, 2);
		T_EQ_INT(notify_pending(n), 0);
		notify_free(n);
	}
	uv_close((uv_handle_t *)&h6, NULL);
	run_for(10);
}

int main(void)
{
	struct sockaddr_in sin;
	int len = sizeof(sin);
	log_set_level(LOG_WARN);
	uv_loop_init(&loop);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	uv_udp_init(&loop, &sec.h);
	uv_udp_init(&loop, &sec.other);
	if (uv_udp_bind(&sec.h, (struct sockaddr *)&sin, 0) ||
	    uv_udp_bind(&sec.other, (struct sockaddr *)&sin, 0))
		return 1;
	uv_udp_getsockname(&sec.h, (struct sockaddr *)&sin, &len);
	char text[64];
	snprintf(text, sizeof(text), "127.0.0.1:%u", ntohs(sin.sin_port));
	if (net_parse_addr(text, &sec.addr))
		return 1;
	uv_udp_recv_start(&sec.h, on_alloc, on_notify);
	T_RUN(test_burst);
	T_RUN(test_retry);
	T_RUN(test_ignored);
	T_RUN(test_tsig);
	T_RUN(test_v6);
	uv_close((uv_handle_t *)&sec.h, NULL);
	uv_close((uv_handle_t *)&sec.other, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	T_EQ_INT(uv_loop_close(&loop), 0);
	return t_done();
}

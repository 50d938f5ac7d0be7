/* net: the listeners: one libuv loop per worker thread, each with its own
 * SO_REUSEPORT UDP and TCP socket on every address. */
#include "net.h"
#include "err.h"
#include "log.h"
#include "sock.h"
#include "stats.h"
#include "config.h"
#include "tsig.h"
#include "xfr.h"
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define UDP_BUF 65536
/* UDP: up to UDP_BATCH queries are read with one recvmmsg and their answers
 * sent with one sendmmsg. Answers never pass 4096 bytes (--max-udp's upper
 * bound); a query longer than UDP_MSG is not one we answer. */
#define UDP_BATCH 32
#define UDP_MSG 4096
#define UDP_ROUNDS 8 /* batches per wakeup, so TCP is served between floods */
/* When stopping, how long a TCP connection with work left may take to finish it. */
#define STOP_GRACE_MS 1000

struct worker;

/* Every handle's data points at a struct that starts with its kind. */
enum { K_WORKER, K_UDP, K_TCP, K_CONN };

struct udp_listener {
	int kind;
	uv_poll_t h;
	int fd;
	struct worker *w;
};

/* One worker's UDP buffers, reused for every batch. */
struct udp_batch {
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec iin[UDP_BATCH], iout[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	uint8_t q[UDP_BATCH][UDP_MSG];
	uint8_t a[UDP_BATCH][UDP_MSG];
	uint8_t tok[UDP_BATCH][16];
	struct db_prefetch pf[UDP_BATCH];
};

struct tcp_listener {
	int kind;
	uv_tcp_t h;
	struct worker *w;
};

struct worker {
	int kind;
	int inited;
	struct net *net;
	int index;
	uv_loop_t loop;
	uv_async_t wake;
	uv_prepare_t quiet;
	pthread_t thread;
	struct udp_listener *udp;  /* one per address */
	struct tcp_listener *tcp;
	unsigned nconns;
	int stopping;
	struct rrl *rrl;
	uint64_t qcount;           /* atomic: quiescent points passed */
	struct stats_worker st;    /* its counters (stats.h) */
	size_t unsent;             /* octets queued on its TCP connections, not yet sent */
	size_t unsent_max;         /* its share of tcp_max_unsent_total */
	struct udp_batch *ub;
	uint8_t obuf[UDP_BUF];     /* the TCP answer being sent */
};

#define CLIENT_SLOTS 4096

struct net {
	unsigned conns;                 /* atomic: TCP connections, all workers */
	unsigned per_client[CLIENT_SLOTS]; /* atomic: by hash of the source address */
	int nworkers;
	size_t naddrs;
	int *udp_fd, *tcp_fd;      /* [worker * naddrs + addr] */
	struct worker *workers;
	struct net_shared *sh;
	struct rrl *rrl;                /* shared by the workers; NULL when off */
	int started;
	unsigned nxfr;                  /* atomic: transfers in progress */
	uint64_t pins[NET_MAX_XFR];     /* atomic: the epochs of the views they read (0: free) */
};

struct tcp_conn {
	int kind;
	uv_tcp_t h;
	uv_timer_t idle;
	struct worker *w;
	int closing, handles;
	int counted;                    /* holds a place in the connection counts */
	int paused;                     /* not read: its unsent answers passed a bound */
	size_t unsent;                  /* octets queued, not yet sent (with their requests) */
	unsigned client;                /* its slot in per_client */
	uint64_t partial_since;         /* when the message in rbuf began arriving */
	struct xfr_stream *xs;          /* a zone transfer being sent: nothing else is read */
	struct tsig_ctx *tctx;          /* its TSIG chain, when the request was signed */
	int pin;                        /* its slot in net.pins */
	uint64_t xfr_started;           /* uv_now when it began */
	char xfr_kind[5];
	struct sockaddr_storage peer;
	size_t rlen;
	uint8_t rbuf[2 + 65535];
};

struct tcp_write {
	uv_write_t req;
	struct tcp_conn *c;
	size_t len;
	uint8_t data[];
};

/* The send buffer of an accepted TCP connection (see tcp_accept). */
#define NET_TCP_SNDBUF (256 << 10)

/* What a queued answer costs, as counted against the bounds. */
#define WRITE_COST(len) (sizeof(struct tcp_write) + (len))

/* A transfer keeps at most this much queued beyond the socket's buffer: a client
 * that reads slowly holds this, the socket buffer and its view, nothing more. */
#define XFR_QUEUE (256u << 10)
/* Messages a transfer writes per turn of the loop, so that queries on the same
 * worker are answered between them. */
#define XFR_ROUND 4

int net_parse_addr(const char *text, struct net_addr *a)
{
	char host[64];
	const char *colon;
	memset(a, 0, sizeof(*a));
	if (text[0] == '[') {
		const char *e = strchr(text, ']');
		if (!e || e[1] != ':' || (size_t)(e - text - 1) >= sizeof(host))
			return DNSD_EINVAL;
		memcpy(host, text + 1, (size_t)(e - text - 1));
		host[e - text - 1] = 0;
		colon = e + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host))
			return DNSD_EINVAL;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = 0;
	}
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 0 || port > 65535)
		return DNSD_EINVAL;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		a->len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		a->len = sizeof(*s6);
	} else {
		return DNSD_EINVAL;
	}
	snprintf(a->text, sizeof(a->text), "%s", text);
	return 0;
}

/* Binds address ai's UDP and TCP socket of every worker. Returns 0, or DNSD_EIO with
 * err set and none of them left open. */
static int bind_workers(struct net *n, struct net_addr *a, size_t ai, char *err, size_t errlen)
{
	for (int w = 0; w < n->nworkers; w++) {
		size_t k = (size_t)w * n->naddrs + ai;
		if (sock_open(a, SOCK_DGRAM, 0, &n->udp_fd[k], err, errlen) == 0 &&
		    sock_open(a, SOCK_STREAM, 0, &n->tcp_fd[k], err, errlen) == 0)
			continue;
		for (int v = 0; v <= w; v++) {
			k = (size_t)v * n->naddrs + ai;
			if (n->udp_fd[k] >= 0)
				close(n->udp_fd[k]);
			if (n->tcp_fd[k] >= 0)
				close(n->tcp_fd[k]);
			n->udp_fd[k] = n->tcp_fd[k] = -1;
		}
		return DNSD_EIO;
	}
	return 0;
}

int net_bind(struct net_addr *addrs, size_t naddrs, int nworkers, struct net **out, char *err,
	     size_t errlen)
{
	struct net *n = calloc(1, sizeof(*n));
	*out = NULL;
	if (!n)
		return DNSD_ENOMEM;
	n->nworkers = nworkers;
	n->naddrs = naddrs;
	n->udp_fd = malloc(sizeof(int) * naddrs * (size_t)nworkers);
	n->tcp_fd = malloc(sizeof(int) * naddrs * (size_t)nworkers);
	if (!n->udp_fd || !n->tcp_fd) {
		net_free(n);
		return DNSD_ENOMEM;
	}
	for (size_t i = 0; i < naddrs * (size_t)nworkers; i++)
		n->udp_fd[i] = n->tcp_fd[i] = -1;
	for (size_t a = 0; a < naddrs; a++) {
		struct net_addr asked = addrs[a];
		/* For port 0, another program may take the port picked between the
		 * probe and the bind, or hold it for TCP only: pick again. */
		for (int tries = 0;; tries++) {
			addrs[a] = asked;
			int rc = sock_probe(&addrs[a], err, errlen);
			if (!rc)
				rc = bind_workers(n, &addrs[a], a, err, errlen);
			if (!rc)
				break;
			if (sock_port(&asked) != 0 || tries == 20) {
				net_free(n);
				return rc;
			}
		}
	}
	*out = n;
	return 0;
}

/* ---- UDP ---- */

static int query_type(const uint8_t *p, size_t len);
static int is_xfr_type(int t);
static void count_query(struct worker *w, int tr, int t);
static void count_answer(struct worker *w, int tr, const uint8_t *a, size_t len);
static size_t udp_xfr(struct worker *w, const struct db_view *v, uint8_t *pkt, size_t len,
		      const struct sockaddr *from, uint8_t *out, size_t cap);
static size_t answer_signed(struct worker *w, const struct db_view *v, uint8_t *pkt, size_t len,
			    uint8_t *out, size_t cap, int tcp);

static void udp_ready(uv_poll_t *h, int status, int events)
{
	struct udp_listener *l = h->data;
	struct worker *w = l->w;
	struct udp_batch *b = w->ub;
	if (status < 0 || !(events & UV_READABLE))
		return;
	for (int round = 0; round < UDP_ROUNDS; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			b->in[i].msg_hdr.msg_name = &b->from[i];
			b->in[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
			b->in[i].msg_hdr.msg_iov = &b->iin[i];
			b->in[i].msg_hdr.msg_iovlen = 1;
			b->in[i].msg_hdr.msg_control = NULL;
			b->in[i].msg_hdr.msg_controllen = 0;
			b->in[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(l->fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* EAGAIN: drained; other errors (ICMP reports) are not ours to act on */
		struct db_view *v = __atomic_load_n(&w->net->sh->view, __ATOMIC_ACQUIRE);
		uint64_t now = uv_now(&w->loop);
		/* The lookups of the whole batch, a step at a time: their cache
		 * misses overlap instead of following one another. */
		int hint[UDP_BATCH];
		for (int i = 0; i < n; i++)
			hint[i] = answer_token_hint(b->q[i], b->in[i].msg_len, b->tok[i]);
		for (int stage = 0; stage < 4; stage++)
			for (int i = 0; i < n; i++)
				if (hint[i])
					db_view_prefetch_token(v, b->tok[i], &b->pf[i], stage);
		int m = 0;
		for (int i = 0; i < n; i++) {
			if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			const struct sockaddr *from = (const struct sockaddr *)&b->from[i];
			size_t len;
			int signed_q = 0, qt = query_type(b->q[i], b->in[i].msg_len);
			count_query(w, STATS_UDP, qt);
			if (is_xfr_type(qt))
				len = udp_xfr(w, v, b->q[i], b->in[i].msg_len, from, b->a[m], UDP_MSG);
			else if ((len = answer_query_tsig(v, &w->net->sh->acfg, b->q[i], b->in[i].msg_len,
							  b->a[m], UDP_MSG, 0, &signed_q)) &&
				 signed_q)
				len = answer_signed(w, v, b->q[i], b->in[i].msg_len, b->a[m], UDP_MSG, 0);
			if (!len) {
				stats_inc(&w->st.malformed);
				continue;
			}
			switch (rrl_check(w->rrl, from, b->a[m], len, now)) {
			case RRL_DROP:
				stats_inc(&w->st.rrl_dropped);
				continue;
			case RRL_SLIP:
				stats_inc(&w->st.rrl_slipped);
				len = rrl_truncate(b->a[m], len);
				break;
			}
			count_answer(w, STATS_UDP, b->a[m], len);
			b->iout[m].iov_base = b->a[m];
			b->iout[m].iov_len = len;
			memset(&b->out[m].msg_hdr, 0, sizeof(b->out[m].msg_hdr));
			b->out[m].msg_hdr.msg_name = &b->from[i];
			b->out[m].msg_hdr.msg_namelen = b->in[i].msg_hdr.msg_namelen;
			b->out[m].msg_hdr.msg_iov = &b->iout[m];
			b->out[m].msg_hdr.msg_iovlen = 1;
			m++;
		}
		for (int off = 0; off < m;) {
			int sent = sendmmsg(l->fd, b->out + off, (unsigned)(m - off), MSG_DONTWAIT);
			if (sent > 0) {
				off += sent;
			} else if (sent < 0 && errno == EINTR) {
				continue;
			} else if (sent < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
				/* The socket buffer is full: these answers are lost, as a
				 * packet would be; the resolvers ask again. */
				stats_add(&w->st.udp_send_dropped, (uint64_t)(m - off));
				break;
			} else {
				off++; /* this destination is refused (EPERM, EINVAL...): skip it */
			}
		}
		if (n < UDP_BATCH)
			return;
	}
}

static void udp_closed(uv_handle_t *h)
{
	struct udp_listener *l = h->data;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* ---- TCP ---- */

static void conn_closed(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;
	if (--c->handles == 0) {
		c->w->nconns--;
		if (c->counted) {
			__atomic_sub_fetch(&c->w->net->conns, 1, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&c->w->net->per_client[c->client], 1, __ATOMIC_RELAXED);
		}
		free(c);
	}
}

static void xfr_finish(struct tcp_conn *c, int complete);

static void conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (c->xs)
		xfr_finish(c, 0);
	uv_close((uv_handle_t *)&c->h, conn_closed);
	uv_close((uv_handle_t *)&c->idle, conn_closed);
}

static void conn_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

/* An idle connection gets tcp_idle_ms; one holding half a message gets what is
 * left of tcp_query_timeout_ms since that message began, however slowly it trickles.
 * A paused one waits for its client to read: that is idleness too. Once
 * stopping, a connection keeps the last moment close_walk gave it, however busy:
 * a client that reads and asks on and on cannot hold dnsd up. */
static void conn_arm(struct tcp_conn *c)
{
	const struct net_shared *sh = c->w->net->sh;
	uint64_t wait = sh->tcp_idle_ms;
	if (c->w->stopping)
		return;
	if (c->rlen && !c->paused && !c->xs) {
		uint64_t spent = uv_now(&c->w->loop) - c->partial_since;
		if (spent >= sh->tcp_query_timeout_ms) {
			conn_close(c);
			return;
		}
		if (sh->tcp_query_timeout_ms - spent < wait)
			wait = sh->tcp_query_timeout_ms - spent;
	}
	uv_timer_start(&c->idle, conn_idle, wait, 0);
}

/* 1 when c may not answer more now: its own unsent answers passed
 * tcp_max_unsent, or it has some and the worker's passed its share of the total.
 * A connection with nothing queued may always answer one more, so the total never
 * starves a client that reads (its answers go straight to the socket). */
static int conn_full(const struct tcp_conn *c)
{
	const struct worker *w = c->w;
	return c->unsent >= w->net->sh->tcp_max_unsent || (c->unsent && w->unsent >= w->unsent_max);
}

static int conn_process(struct tcp_conn *c);
static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_reread(struct tcp_conn *c);

/* Reads again once what a paused connection queued has half drained. */
static void conn_resume(struct tcp_conn *c)
{
	if (c->unsent > c->w->net->sh->tcp_max_unsent / 2 || conn_full(c))
		return;
	c->paused = 0;
	/* The time paused was the client's to read, not to send its query. */
	c->partial_since = uv_now(&c->w->loop);
	conn_reread(c);
}

static int xfr_pump(struct tcp_conn *c);

static void conn_written(uv_write_t *req, int status)
{
	struct tcp_write *wr = (struct tcp_write *)req;
	struct tcp_conn *c = wr->c;
	c->unsent -= WRITE_COST(wr->len);
	c->w->unsent -= WRITE_COST(wr->len);
	free(wr);
	if (status < 0 || c->closing) {
		conn_close(c);
		return;
	}
	if (c->xs) {
		/* The client reads: the transfer goes on, and so does its time. */
		conn_arm(c);
		if (xfr_pump(c) && !c->closing)
			conn_reread(c);
		return;
	}
	if (c->paused) {
		conn_resume(c);
		return;
	}
	if (c->w->stopping && !c->rlen && uv_stream_get_write_queue_size((uv_stream_t *)&c->h) == 0)
		conn_close(c);
}

static int conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t *p = c->w->obuf;
	wire_put16(p, (uint16_t)len);
	if (p + 2 != msg)
		memmove(p + 2, msg, len);
	size_t total = len + 2;
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)total);
	int r = uv_try_write((uv_stream_t *)&c->h, &b, 1);
	if (r == (int)total)
		return 0;
	if (r < 0 && r != UV_EAGAIN)
		return r;
	size_t done = r > 0 ? (size_t)r : 0;
	struct tcp_write *wr = malloc(WRITE_COST(total - done));
	if (!wr)
		return UV_ENOMEM;
	wr->c = c;
	wr->len = total - done;
	memcpy(wr->data, p + done, wr->len);
	b = uv_buf_init((char *)wr->data, (unsigned)wr->len);
	r = uv_write(&wr->req, (uv_stream_t *)&c->h, &b, 1, conn_written);
	if (r) {
		free(wr);
		return r;
	}
	c->unsent += WRITE_COST(wr->len);
	c->w->unsent += WRITE_COST(wr->len);
	return 0;
}

/* ---- zone transfers over TCP ---- */

/* 1 when the message's one question asks AXFR or IXFR: a cheap look, so that the
 * answer path pays nothing for transfers. A question with a compressed name is
 * not a transfer request a secondary sends; answer_query refuses it. */
/* The type of a message's one question, read without a copy; -1 when it
 * holds no plain question (answer_query says what is wrong with it). */
static int query_type(const uint8_t *p, size_t len)
{
	if (len < WIRE_HDR + 5 || wire_get16(p + 4) != 1)
		return -1;
	size_t i = WIRE_HDR;
	while (i < len && p[i]) {
		if (p[i] & 0xC0)
			return -1;
		i += p[i] + 1u;
	}
	if (i + 3 > len)
		return -1;
	return wire_get16(p + i + 1);
}

static int is_xfr_type(int t)
{
	return t == WIRE_T_AXFR || t == WIRE_T_IXFR;
}

/* Counts a message received over transport tr, of type t (query_type). */
static void count_query(struct worker *w, int tr, int t)
{
#ifdef DNSD_NO_STATS
	return;
#endif
	stats_inc(&w->st.queries[tr]);
	stats_inc(&w->st.qtype[t < 0 ? STATS_T_OTHER : stats_type_index((uint16_t)t)]);
}

/* Counts a response about to be sent (len octets at a; 0: none is). */
static void count_answer(struct worker *w, int tr, const uint8_t *a, size_t len)
{
#ifdef DNSD_NO_STATS
	return;
#endif
	if (len < WIRE_HDR) {
		stats_inc(&w->st.malformed);
		return;
	}
	stats_inc(&w->st.answers[tr]);
	stats_inc(&w->st.rcode[a[3] & 0x0F]);
	if ((a[3] & 0x0F) == 1) /* FORMERR */
		stats_inc(&w->st.malformed);
	if (a[2] & 0x02)
		stats_inc(&w->st.truncated);
}

static int key_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

int net_acl_allows(const struct config_acl *acl, size_t nacl, const struct sockaddr *sa,
		   const char *key)
{
	for (size_t i = 0; i < nacl; i++)
		if (config_acl_match(&acl[i], sa) && (!acl[i].key || (key && key_same(acl[i].key, key))))
			return 1;
	return 0;
}

/* ---- TSIG ---- */

/* Verifies a request's TSIG (with the keys loaded now) and, when it has one the
 * request is then read without (in place: one record fewer in ARCOUNT, *len
 * shortened). Returns a tsig_status; ctx as tsig_verify. */
static int tsig_check(const struct net_shared *sh, uint8_t *pkt, size_t *len, struct tsig_ctx *ctx)
{
	const struct tsig_keys *keys = __atomic_load_n(&sh->tsig, __ATOMIC_ACQUIRE);
	size_t lw = *len;
	int st = tsig_verify(keys, pkt, *len, (uint64_t)time(NULL), ctx, &lw);
	if (st != TSIG_NONE && st != TSIG_FORMERR) {
		wire_put16(pkt + 10, (uint16_t)(wire_get16(pkt + 10) - 1));
		*len = lw;
	}
	return st;
}

/* The answer to a request whose TSIG failed (status st): FORMERR for a malformed
 * one, else NOTAUTH with the TSIG error (RFC 8945 5.3.2). */
static size_t tsig_refusal(struct tsig_ctx *ctx, int st, const uint8_t *pkt, size_t question_end,
			   uint8_t *out, size_t cap)
{
	if (st == TSIG_FORMERR)
		return xfr_error_answer(pkt, 0, WIRE_RC_FORMERR, out, cap);
	size_t n = xfr_error_answer(pkt, question_end, WIRE_RC_NOERROR, out, cap);
	if (tsig_sign_error(ctx, st, out, &n, cap, (uint64_t)time(NULL)))
		return 0;
	return n;
}

/* The end of the question of a message already parsed once (0: none). */
static size_t question_end(const uint8_t *pkt, size_t len)
{
	struct wire_query q;
	return wire_parse_query(pkt, len, &q) == 0 ? q.question_end : 0;
}

/* A signed query (not a transfer): verified, answered, and its answer signed
 * with the same key; a secondary checking the SOA before a transfer signs it. */
static size_t answer_signed(struct worker *w, const struct db_view *v, uint8_t *pkt, size_t len,
			    uint8_t *out, size_t cap, int tcp)
{
	struct tsig_ctx ctx;
	int st = tsig_check(w->net->sh, pkt, &len, &ctx);
	if (st != TSIG_OK)
		return tsig_refusal(&ctx, st, pkt, question_end(pkt, len), out, cap);
	size_t n = answer_query(v, &w->net->sh->acfg, pkt, len, out, cap - TSIG_MAX_RR, tcp);
	if (n && tsig_sign(&ctx, out, &n, cap, (uint64_t)time(NULL)))
		return 0;
	return n;
}

/* A transfer request over UDP: an IXFR from an allowed address gets the current
 * SOA alone (RFC 1995 §2: up to date, or ask again over TCP); AXFR, which has no
 * UDP form (RFC 5936 §4.2), and everything not allowed get REFUSED. One small
 * answer to one question, and rate-limited like the others: never an amplifier. */
static size_t udp_xfr(struct worker *w, const struct db_view *v, uint8_t *pkt, size_t len,
		      const struct sockaddr *from, uint8_t *out, size_t cap)
{
	const struct net_shared *sh = w->net->sh;
	struct xfr_req r;
	struct tsig_ctx ctx;
	if (len < WIRE_HDR || (pkt[2] & 0x80))
		return 0;
	int st = tsig_check(sh, pkt, &len, &ctx);
	int k = xfr_parse(v, pkt, len, &r);
	if (st != TSIG_OK && st != TSIG_NONE)
		return tsig_refusal(&ctx, st, pkt, k == DNSD_EFORMAT ? 0 : r.question_end, out, cap);
	if (k == XFR_NONE)
		return answer_query(v, &sh->acfg, pkt, len, out, cap, 0);
	size_t n = 0;
	if (k == XFR_IXFR && sh->xfr_max &&
	    net_acl_allows(sh->acl, sh->nacl, from, st == TSIG_OK ? ctx.key->name : NULL))
		n = xfr_udp_answer(v, &r, pkt, out, cap - TSIG_MAX_RR);
	if (!n)
		n = xfr_error_answer(pkt, k == DNSD_EFORMAT ? 0 : r.question_end,
				     k == DNSD_EFORMAT ? WIRE_RC_FORMERR : WIRE_RC_REFUSED, out, cap);
	if (st == TSIG_OK && tsig_sign(&ctx, out, &n, cap, (uint64_t)time(NULL)))
		return 0;
	return n;
}

uint64_t net_oldest_pin(struct net *n)
{
	uint64_t min = UINT64_MAX;
	for (size_t i = 0; i < NET_MAX_XFR; i++) {
		uint64_t e = __atomic_load_n(&n->pins[i], __ATOMIC_ACQUIRE);
		if (e && e < min)
			min = e;
	}
	return min;
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	}
	snprintf(out, cap, "%s#%u", a, port);
}

static void zone_text(const struct db_zone *z, char *out, size_t cap)
{
	if (!z || wire_name_to_text(z->apex, out, cap) < 0)
		snprintf(out, cap, "?");
}

/* Ends the transfer: complete, or cut short (the connection closes). */
static void xfr_finish(struct tcp_conn *c, int complete)
{
	struct net *n = c->w->net;
	uint64_t msgs, rrs;
	xfr_counts(c->xs, &msgs, &rrs);
	char peer[80];
	peer_text(&c->peer, peer, sizeof(peer));
	log_msg(complete ? LOG_INFO : LOG_WARN, "%s to %s %s: %llu messages, %llu records, %llu ms%s",
		c->xfr_kind, peer, complete ? "done" : "cut short", (unsigned long long)msgs,
		(unsigned long long)rrs, (unsigned long long)(uv_now(&c->w->loop) - c->xfr_started),
		xfr_is_full(c->xs) ? " (the whole zone)" : "");
	xfr_end(c->xs);
	c->xs = NULL;
	free(c->tctx);
	c->tctx = NULL;
	if (c->pin >= 0)
		__atomic_store_n(&n->pins[c->pin], 0, __ATOMIC_RELEASE);
	c->pin = -1;
	__atomic_sub_fetch(&n->nxfr, 1, __ATOMIC_RELAXED);
}

static void conn_reread(struct tcp_conn *c);

/* The next turn of a transfer that was ordering its zone. */
static void xfr_tick(uv_timer_t *t)
{
	struct tcp_conn *c = t->data;
	conn_arm(c); /* the idle timer again, unless the pump needs another turn */
	if (xfr_pump(c) && !c->closing)
		conn_reread(c);
}

/* Queues the transfer's next messages, a few per turn and as long as the client
 * keeps up. Returns 1 when the transfer has ended (or the connection is closing). */
static int xfr_pump(struct tcp_conn *c)
{
	for (int round = 0; c->xs && !c->closing && c->unsent < XFR_QUEUE && round < XFR_ROUND; round++) {
		struct tcp_write *wr = malloc(WRITE_COST(2 + 65535));
		if (!wr) {
			conn_close(c);
			return 1;
		}
		size_t len = xfr_next(c->xs, wr->data + 2, 65535, c->tctx ? TSIG_MAX_RR : 0);
		if (!len && xfr_blocked(c->xs)) {
			/* Ordering the zone: again on the next turn, after the queries.
			 * 1 ms, not 0: libuv 1.44 runs a timer restarted with 0 from its
			 * own callback again in the same pass, before any I/O. */
			free(wr);
			uv_timer_start(&c->idle, xfr_tick, 1, 0);
			return 0;
		}
		if (!len) {
			free(wr);
			xfr_finish(c, 1);
			return 1;
		}
		if (c->tctx && tsig_sign(c->tctx, wr->data + 2, &len, 65535, (uint64_t)time(NULL))) {
			free(wr);
			conn_close(c);
			return 1;
		}
		wire_put16(wr->data, (uint16_t)len);
		wr->c = c;
		wr->len = len + 2;
		uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)wr->len);
		if (uv_write(&wr->req, (uv_stream_t *)&c->h, &b, 1, conn_written)) {
			free(wr);
			conn_close(c);
			return 1;
		}
		c->unsent += WRITE_COST(wr->len);
		c->w->unsent += WRITE_COST(wr->len);
	}
	return !c->xs || c->closing;
}

/* After a pause or a transfer: the queries the client sent meanwhile, then
 * reading again. */
static void conn_reread(struct tcp_conn *c)
{
	if (conn_process(c) || c->paused || c->xs)
		return;
	if (uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read)) {
		conn_close(c);
		return;
	}
	conn_arm(c);
}

/* A transfer request: refused, or started. Returns -1 when the connection closes. */
static int xfr_start(struct tcp_conn *c, uint8_t *pkt, size_t len)
{
	struct worker *w = c->w;
	struct net *n = w->net;
	const struct net_shared *sh = n->sh;
	struct db_view *v = __atomic_load_n(&sh->view, __ATOMIC_ACQUIRE);
	struct xfr_req r;
	struct tsig_ctx tctx;
	int st = tsig_check(sh, pkt, &len, &tctx);
	int k = xfr_parse(v, pkt, len, &r);
	int rcode = WIRE_RC_NOERROR;
	char peer[80], zone[WIRE_MAXNAME * 4 + 8];
	peer_text(&c->peer, peer, sizeof(peer));
	if (st != TSIG_OK && st != TSIG_NONE) {
		log_msg(LOG_INFO, "%s from %s refused: TSIG %s", r.kind == XFR_IXFR ? "IXFR" : "AXFR", peer,
			tsig_status_name(st));
		size_t al = tsig_refusal(&tctx, st, pkt, k == DNSD_EFORMAT ? 0 : r.question_end, w->obuf + 2,
					 sizeof(w->obuf) - 2);
		return al && conn_send(c, w->obuf + 2, al) ? -1 : 0;
	}
	if (k == DNSD_EFORMAT)
		rcode = WIRE_RC_FORMERR;
	else if (k < 0 || k == XFR_NONE)
		rcode = WIRE_RC_REFUSED;
	else if (!sh->xfr_max || !net_acl_allows(sh->acl, sh->nacl, (const struct sockaddr *)&c->peer,
						 st == TSIG_OK ? tctx.key->name : NULL))
		rcode = WIRE_RC_REFUSED;
	if (rcode == WIRE_RC_NOERROR) {
		unsigned now = __atomic_add_fetch(&n->nxfr, 1, __ATOMIC_RELAXED);
		int slot = -1;
		uint64_t epoch = v->epoch ? v->epoch : 1;
		for (int i = 0; now <= sh->xfr_max && i < NET_MAX_XFR && slot < 0; i++) {
			uint64_t zero = 0;
			if (__atomic_compare_exchange_n(&n->pins[i], &zero, epoch, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED))
				slot = i;
		}
		if (slot < 0) {
			__atomic_sub_fetch(&n->nxfr, 1, __ATOMIC_RELAXED);
			rcode = WIRE_RC_SERVFAIL; /* busy: the secondary retries later */
		} else if (!(c->xs = xfr_begin(v, sh->hist, &r, pkt, len))) {
			__atomic_store_n(&n->pins[slot], 0, __ATOMIC_RELEASE);
			__atomic_sub_fetch(&n->nxfr, 1, __ATOMIC_RELAXED);
			rcode = WIRE_RC_SERVFAIL;
		} else if (st == TSIG_OK && !(c->tctx = malloc(sizeof(*c->tctx)))) {
			xfr_end(c->xs);
			c->xs = NULL;
			__atomic_store_n(&n->pins[slot], 0, __ATOMIC_RELEASE);
			__atomic_sub_fetch(&n->nxfr, 1, __ATOMIC_RELAXED);
			rcode = WIRE_RC_SERVFAIL;
		} else {
			c->pin = slot;
			if (c->tctx)
				*c->tctx = tctx;
		}
	}
	zone_text(k >= 0 ? r.zone : NULL, zone, sizeof(zone));
	if (rcode != WIRE_RC_NOERROR) {
		log_msg(LOG_INFO, "%s of %s from %s refused (rcode %d)",
			r.kind == XFR_IXFR ? "IXFR" : "AXFR", zone, peer, rcode);
		uint8_t *o = w->obuf + 2;
		size_t al = xfr_error_answer(pkt, k == DNSD_EFORMAT ? 0 : r.question_end, rcode, o,
					     sizeof(w->obuf) - 2);
		if (st == TSIG_OK && tsig_sign(&tctx, o, &al, sizeof(w->obuf) - 2, (uint64_t)time(NULL)))
			return -1;
		count_answer(w, STATS_TCP, o, al);
		return conn_send(c, o, al) ? -1 : 0;
	}
	snprintf(c->xfr_kind, sizeof(c->xfr_kind), "%s", r.kind == XFR_IXFR ? "IXFR" : "AXFR");
	c->xfr_started = uv_now(&w->loop);
	stats_inc(&w->st.xfr_started);
	stats_inc(&w->st.answers[STATS_TCP]);
	stats_inc(&w->st.rcode[WIRE_RC_NOERROR]);
	if (r.kind == XFR_IXFR)
		log_msg(LOG_INFO, "IXFR of %s from serial %u to %s", zone, r.client_serial, peer);
	else
		log_msg(LOG_INFO, "AXFR of %s to %s", zone, peer);
	xfr_pump(c);
	if (c->closing)
		return -1;
	if (c->xs)
		uv_read_stop((uv_stream_t *)&c->h); /* nothing else until it is sent */
	return 0;
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = h->data;
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = sizeof(c->rbuf) - c->rlen;
}

/* Answers every whole message in rbuf, in order (pipelining, RFC 7766 §6.2.1),
 * until the unsent answers pass a bound (conn_full); then stops reading, so that
 * a client that never reads holds at most rbuf and its bound, and TCP's own flow
 * control holds back the rest of its queries. Returns 0, or -1 when closing. */
static int conn_process(struct tcp_conn *c)
{
	struct worker *w = c->w;
	size_t off = 0;
	while (c->rlen - off >= 2 && !conn_full(c) && !c->xs) {
		size_t ml = wire_get16(c->rbuf + off);
		if (c->rlen - off - 2 < ml)
			break;
		int qt = query_type(c->rbuf + off + 2, ml);
		count_query(w, STATS_TCP, qt);
		if (is_xfr_type(qt)) {
			int r = xfr_start(c, c->rbuf + off + 2, ml);
			off += 2 + ml;
			if (r) {
				conn_close(c);
				return -1;
			}
			continue;
		}
		struct db_view *v = __atomic_load_n(&w->net->sh->view, __ATOMIC_ACQUIRE);
		int signed_q = 0;
		size_t n = answer_query_tsig(v, &w->net->sh->acfg, c->rbuf + off + 2, ml, w->obuf + 2,
					     sizeof(w->obuf) - 2, 1, &signed_q);
		if (n && signed_q)
			n = answer_signed(w, v, c->rbuf + off + 2, ml, w->obuf + 2, sizeof(w->obuf) - 2, 1);
		off += 2 + ml;
		count_answer(w, STATS_TCP, w->obuf + 2, n);
		if (n && conn_send(c, w->obuf + 2, n)) {
			conn_close(c);
			return -1;
		}
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
		c->partial_since = uv_now(&w->loop);
	}
	if (!c->paused && !c->xs && conn_full(c)) {
		c->paused = 1;
		uv_read_stop((uv_stream_t *)&c->h);
	}
	return 0;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = s->data;
	struct worker *w = c->w;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (!c->rlen && nread > 0)
		c->partial_since = uv_now(&w->loop);
	c->rlen += (size_t)nread;
	if (conn_process(c))
		return;
	if (w->stopping && !c->rlen && uv_stream_get_write_queue_size((uv_stream_t *)&c->h) == 0) {
		conn_close(c);
		return;
	}
	conn_arm(c);
}

static void tcp_accept(uv_stream_t *server, int status)
{
	struct tcp_listener *l = server->data;
	struct worker *w = l->w;
	if (status < 0 || w->stopping)
		return;
	struct tcp_conn *c = malloc(sizeof(*c));
	if (!c)
		return;
	struct net *n = w->net;
	c->kind = K_CONN;
	c->w = w;
	c->closing = 0;
	c->handles = 2;
	c->rlen = 0;
	c->counted = 0;
	c->paused = 0;
	c->unsent = 0;
	c->partial_since = 0;
	c->xs = NULL;
	c->tctx = NULL;
	c->pin = -1;
	memset(&c->peer, 0, sizeof(c->peer));
	uv_tcp_init(&w->loop, &c->h);
	uv_timer_init(&w->loop, &c->idle);
	c->h.data = c->idle.data = c;
	w->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
		conn_close(c);
		return;
	}
	/* Limits, over all workers: in total, and per source address (hashed into
	 * slots, so that a table of fixed size serves any number of clients). */
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	uint64_t hk = 0;
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&ss, &sl) == 0) {
		c->peer = ss;
		if (ss.ss_family == AF_INET)
			hk = db_hash((const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr, 4);
		else
			hk = db_hash((const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	}
	c->client = (unsigned)(hk % CLIENT_SLOTS);
	c->counted = 1;
	unsigned total = __atomic_add_fetch(&n->conns, 1, __ATOMIC_RELAXED);
	unsigned mine = __atomic_add_fetch(&n->per_client[c->client], 1, __ATOMIC_RELAXED);
	if (total > n->sh->tcp_max_conns || mine > n->sh->tcp_max_per_client) {
		stats_inc(&w->st.tcp_refused);
		conn_close(c);
		return;
	}
	stats_inc(&w->st.tcp_accepted);
	/* The kernel's share of what a client does not read: with autotuning a send
	 * buffer grows to net.ipv4.tcp_wmem's maximum (4 MiB by default), times
	 * --tcp-max-conns, outside every bound of ours. 256 KiB holds four of the
	 * largest DNS messages (the kernel doubles it for its bookkeeping). */
	uv_os_fd_t fd;
	int sndbuf = NET_TCP_SNDBUF;
	if (uv_fileno((uv_handle_t *)&c->h, &fd) == 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	conn_arm(c);
	if (uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read))
		conn_close(c);
}

/* ---- workers ---- */

static void worker_quiet(uv_prepare_t *p)
{
	struct worker *w = p->data;
	/* Between loop iterations no callback holds a view pointer. */
	__atomic_add_fetch(&w->qcount, 1, __ATOMIC_RELEASE);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (uv_is_closing(h) || !h->data)
		return;
	if (*(int *)h->data == K_UDP) {
		uv_close(h, udp_closed);
		return;
	}
	if (*(int *)h->data != K_CONN) {
		uv_close(h, NULL);
		return;
	}
	struct tcp_conn *c = h->data;
	if (h != (uv_handle_t *)&c->h)
		return; /* the idle timer goes with its connection */
	/* A connection with a query half read or answers in flight gets a moment to
	 * finish; the loop ends once every connection is closed. */
	if (!c->rlen && uv_stream_get_write_queue_size((uv_stream_t *)h) == 0)
		conn_close(c);
	else
		uv_timer_start(&c->idle, conn_idle, STOP_GRACE_MS, 0);
}

static void worker_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	if (w->stopping == 1) {
		w->stopping = 2;
		uv_walk(&w->loop, close_walk, w);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "dnsd-w%d", w->index);
	pthread_setname_np(pthread_self(), name); /* for ps, perf and the allocation test */
	uv_run(&w->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int worker_init(struct net *n, struct worker *w, int index)
{
	w->kind = K_WORKER;
	w->net = n;
	w->index = index;
	if (uv_loop_init(&w->loop))
		return DNSD_EIO;
	w->inited = 1;
	uv_async_init(&w->loop, &w->wake, worker_wake);
	w->wake.data = w;
	uv_prepare_init(&w->loop, &w->quiet);
	w->quiet.data = w;
	uv_prepare_start(&w->quiet, worker_quiet);
	w->rrl = n->rrl;
	w->unsent_max = n->sh->tcp_max_unsent_total / (size_t)n->nworkers;
	if (w->unsent_max < n->sh->tcp_max_unsent)
		w->unsent_max = n->sh->tcp_max_unsent; /* room for one connection at least */
	w->udp = calloc(n->naddrs, sizeof(*w->udp));
	w->tcp = calloc(n->naddrs, sizeof(*w->tcp));
	w->ub = calloc(1, sizeof(*w->ub));
	if (!w->udp || !w->tcp || !w->ub)
		return DNSD_ENOMEM;
	for (int i = 0; i < UDP_BATCH; i++) {
		w->ub->iin[i].iov_base = w->ub->q[i];
		w->ub->iin[i].iov_len = UDP_MSG;
	}
	for (size_t a = 0; a < n->naddrs; a++) {
		size_t k = (size_t)index * n->naddrs + a;
		struct udp_listener *u = &w->udp[a];
		struct tcp_listener *t = &w->tcp[a];
		u->w = t->w = w;
		u->kind = K_UDP;
		t->kind = K_TCP;
		u->fd = -1;
		if (uv_poll_init(&w->loop, &u->h, n->udp_fd[k]))
			return DNSD_EIO;
		u->h.data = u;
		u->fd = n->udp_fd[k];
		n->udp_fd[k] = -1; /* closed with its handle from now on */
		uv_tcp_init(&w->loop, &t->h);
		t->h.data = t;
		if (uv_tcp_open(&t->h, n->tcp_fd[k]))
			return DNSD_EIO;
		n->tcp_fd[k] = -1; /* libuv owns it now */
		if (uv_poll_start(&u->h, UV_READABLE, udp_ready) ||
		    uv_listen((uv_stream_t *)&t->h, 128, tcp_accept))
			return DNSD_EIO;
	}
	return 0;
}

int net_start(struct net *n, struct net_shared *sh)
{
	n->sh = sh;
	if (!sh->tcp_max_unsent)
		sh->tcp_max_unsent = NET_TCP_MAX_UNSENT;
	if (!sh->tcp_max_unsent_total)
		sh->tcp_max_unsent_total = NET_TCP_MAX_UNSENT_TOTAL;
	n->workers = calloc((size_t)n->nworkers, sizeof(*n->workers));
	if (!n->workers)
		return DNSD_ENOMEM;
	if (sh->rrl.rate && !(n->rrl = rrl_new(&sh->rrl, 18)))
		return DNSD_ENOMEM;
	for (int i = 0; i < n->nworkers; i++) {
		if (worker_init(n, &n->workers[i], i))
			return DNSD_EIO;
	}
	for (int i = 0; i < n->nworkers; i++) {
		if (pthread_create(&n->workers[i].thread, NULL, worker_main, &n->workers[i]))
			return DNSD_EIO;
		n->started = i + 1;
	}
	return 0;
}

void net_wake(struct net *n)
{
	for (int i = 0; i < n->started; i++)
		uv_async_send(&n->workers[i].wake);
}

void net_snapshot(struct net *n, uint64_t *snap)
{
	for (int i = 0; i < n->nworkers; i++)
		snap[i] = n->workers ? __atomic_load_n(&n->workers[i].qcount, __ATOMIC_ACQUIRE) : 0;
}

int net_passed(struct net *n, const uint64_t *snap)
{
	for (int i = 0; i < n->started; i++)
		if (__atomic_load_n(&n->workers[i].qcount, __ATOMIC_ACQUIRE) == snap[i])
			return 0;
	return 1;
}

void net_stats(struct net *n, struct stats_worker *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < n->nworkers; i++)
		stats_sum(sum, &n->workers[i].st);
}

unsigned net_tcp_open(struct net *n)
{
	return __atomic_load_n(&n->conns, __ATOMIC_RELAXED);
}

int net_workers(struct net *n)
{
	return n->nworkers;
}

void net_stop(struct net *n)
{
	for (int i = 0; i < n->started; i++) {
		n->workers[i].stopping = 1;
		uv_async_send(&n->workers[i].wake);
	}
	for (int i = 0; i < n->started; i++)
		pthread_join(n->workers[i].thread, NULL);
	n->started = 0;
}

void net_free(struct net *n)
{
	if (!n)
		return;
	for (size_t i = 0; n->udp_fd && i < n->naddrs * (size_t)n->nworkers; i++) {
		if (n->udp_fd[i] >= 0)
			close(n->udp_fd[i]);
		if (n->tcp_fd[i] >= 0)
			close(n->tcp_fd[i]);
	}
	for (int i = 0; n->workers && i < n->nworkers; i++) {
		struct worker *w = &n->workers[i];
		if (w->inited) {
			/* Stopped, or never started: close what is left and the loop. */
			w->stopping = 2;
			uv_walk(&w->loop, close_walk, w);
			uv_run(&w->loop, UV_RUN_DEFAULT);
			uv_loop_close(&w->loop);
		}
		free(w->udp);
		free(w->tcp);
		free(w->ub);
	}
	free(n->workers);
	rrl_free(n->rrl);
	free(n->udp_fd);
	free(n->tcp_fd);
	free(n);
}

/* net: the listeners: one libuv loop per worker thread, each with its own
 * SO_REUSEPORT UDP and TCP socket on every address. */
#include "net.h"
#include "err.h"
#include "log.h"
#include "sock.h"
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	uint64_t udp_dropped;      /* answers not sent: the socket buffer was full */
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
			size_t len = answer_query(v, &w->net->sh->acfg, b->q[i], b->in[i].msg_len, b->a[m],
						  UDP_MSG, 0);
			if (!len)
				continue;
			const struct sockaddr *from = (const struct sockaddr *)&b->from[i];
			switch (rrl_check(w->rrl, from, b->a[m], len, now)) {
			case RRL_DROP:
				continue;
			case RRL_SLIP:
				len = rrl_truncate(b->a[m], len);
				break;
			}
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
				w->udp_dropped += (uint64_t)(m - off);
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

static void conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
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
	if (c->rlen && !c->paused) {
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

/* Reads again once what a paused connection queued has half drained. */
static void conn_resume(struct tcp_conn *c)
{
	if (c->unsent > c->w->net->sh->tcp_max_unsent / 2 || conn_full(c))
		return;
	c->paused = 0;
	/* The time paused was the client's to read, not to send its query. */
	c->partial_since = uv_now(&c->w->loop);
	if (conn_process(c) || c->paused)
		return;
	if (uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read)) {
		conn_close(c);
		return;
	}
	conn_arm(c);
}

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
	while (c->rlen - off >= 2 && !conn_full(c)) {
		size_t ml = wire_get16(c->rbuf + off);
		if (c->rlen - off - 2 < ml)
			break;
		struct db_view *v = __atomic_load_n(&w->net->sh->view, __ATOMIC_ACQUIRE);
		size_t n = answer_query(v, &w->net->sh->acfg, c->rbuf + off + 2, ml, w->obuf + 2,
					sizeof(w->obuf) - 2, 1);
		off += 2 + ml;
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
	if (!c->paused && conn_full(c)) {
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
		conn_close(c);
		return;
	}
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

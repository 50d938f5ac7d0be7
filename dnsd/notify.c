/* notify: the NOTIFY sender (RFC 1996), on one libuv loop. */
#include "notify.h"
#include "err.h"
#include "log.h"
#include "wire.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* A message is signed again (with a new ID) when it is older than this: the
 * secondary checks its time against the fudge. */
#define RESIGN_MS (TSIG_FUDGE * 1000 / 3)
#define MSG_MAX	  (WIRE_HDR + WIRE_MAXNAME + 4 + 12 + 2 * WIRE_MAXNAME + 20 + TSIG_MAX_RR)

/* A zone as last announced. */
struct zone {
	uint8_t apex[WIRE_MAXNAME];
	uint8_t apex_len;
	char text[WIRE_MAXNAME * 4 + 2];
	uint32_t serial;
	uint8_t soa[2 * WIRE_MAXNAME + 20];
	uint16_t soa_len; /* 0: no SOA in the answer section */
	uint32_t soa_ttl;
};

/* One zone at one target. */
struct state {
	uint32_t want; /* the serial to tell */
	uint32_t told; /* the serial the target acknowledged */
	int have_told;
	int active;  /* a NOTIFY is due or waits for its answer */
	int has_msg; /* msg (for serial sent) has gone out at least once */
	uint32_t sent;
	uint16_t id;
	uint8_t msg[MSG_MAX];
	size_t len;
	uint64_t built; /* when msg was made (loop ms) */
	int is_signed;
	struct tsig_ctx tctx; /* for its answer's TSIG */
	uint64_t due;	      /* when to send again (loop ms) */
	unsigned wait_ms;     /* the next back-off step */
	unsigned unanswered;  /* sent since the last answer */
	int warned, refused;  /* said once, until an answer */
};

struct target {
	struct net_addr to;
	char *key_name;
	const struct tsig_key *key;
	struct state *st[CONFIG_MAX_ZONES];
};

struct notify {
	uv_loop_t *loop;
	uv_udp_t sock4, sock6;
	int have4, have6;
	uv_timer_t timer;
	int open; /* handles not yet closed */
	struct target *t;
	size_t nt;
	struct zone zones[CONFIG_MAX_ZONES];
	size_t nzones;
	unsigned first_ms, max_ms;
	uint8_t rbuf[65536];
};

static uint16_t random_id(void)
{
	uint16_t id;
	while (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		;
	return id;
}

/* Builds (and signs) the NOTIFY of zone z for target t into s. Returns 0 or -1. */
static int build(struct notify *n, struct target *t, const struct zone *z, struct state *s)
{
	uint8_t *m = s->msg;
	size_t len = WIRE_HDR;
	s->id = random_id();
	memset(m, 0, WIRE_HDR);
	wire_put16(m, s->id);
	m[2] = (uint8_t)(WIRE_OP_NOTIFY << 3 | 0x04); /* opcode NOTIFY, AA */
	wire_put16(m + 4, 1);
	memcpy(m + len, z->apex, z->apex_len);
	len += z->apex_len;
	wire_put16(m + len, WIRE_T_SOA);
	wire_put16(m + len + 2, WIRE_C_IN);
	len += 4;
	if (z->soa_len) {
		wire_put16(m + len, 0xc000 | WIRE_HDR);
		wire_put16(m + len + 2, WIRE_T_SOA);
		wire_put16(m + len + 4, WIRE_C_IN);
		wire_put32(m + len + 6, z->soa_ttl);
		wire_put16(m + len + 10, z->soa_len);
		memcpy(m + len + 12, z->soa, z->soa_len);
		/* The serial follows the two names. */
		size_t p = 0;
		for (int names = 0; names < 2; p++)
			if (z->soa[p] == 0)
				names++;
			else
				p += z->soa[p];
		wire_put32(m + len + 12 + p, z->serial);
		len += 12 + z->soa_len;
		wire_put16(m + 6, 1);
	}
	s->is_signed = 0;
	if (t->key) {
		if (tsig_sign_request(t->key, &s->tctx, m, &len, sizeof(s->msg),
				      (uint64_t)time(NULL)))
			return -1;
		s->is_signed = 1;
	}
	s->len = len;
	s->sent = z->serial;
	s->built = uv_now(n->loop);
	return 0;
}

static void schedule(struct notify *n);

/* Sends (or sends again) zone zi's NOTIFY to target t. */
static void send_one(struct notify *n, struct target *t, size_t zi)
{
	struct state *s = t->st[zi];
	const struct zone *z = &n->zones[zi];
	uint64_t now = uv_now(n->loop);
	if (!s->has_msg || s->sent != z->serial || now - s->built > RESIGN_MS) {
		if (!s->has_msg || s->sent != z->serial)
			s->wait_ms = n->first_ms;
		if (build(n, t, z, s)) {
			log_msg(LOG_ERR, "cannot build the NOTIFY of %s for %s", z->text,
				t->to.text);
			s->active = s->has_msg = 0;
			return;
		}
		s->has_msg = 1;
	}
	uv_buf_t b = uv_buf_init((char *)s->msg, (unsigned)s->len);
	uv_udp_t *h = t->to.ss.ss_family == AF_INET ? &n->sock4 : &n->sock6;
	int rc = uv_udp_try_send(h, &b, 1, (const struct sockaddr *)&t->to.ss);
	if (rc < 0)
		log_msg(LOG_DEBUG, "NOTIFY of %s to %s not sent: %s", z->text, t->to.text,
			uv_strerror(rc));
	else
		log_msg(LOG_DEBUG, "NOTIFY of %s serial %u sent to %s", z->text, s->sent,
			t->to.text);
	s->due = now + s->wait_ms;
	s->wait_ms = s->wait_ms * 2 > n->max_ms ? n->max_ms : s->wait_ms * 2;
	if (++s->unanswered == NOTIFY_WARN_TRIES && !s->warned) {
		log_msg(LOG_WARN,
			"%s has not answered %u NOTIFYs of %s (serial %u); still trying, every "
			"%.3g s at most",
			t->to.text, s->unanswered, z->text, s->sent, n->max_ms / 1000.0);
		s->warned = 1;
	}
}

static void on_timer(uv_timer_t *h)
{
	struct notify *n = h->data;
	uint64_t now = uv_now(n->loop);
	for (size_t i = 0; i < n->nt; i++)
		for (size_t z = 0; z < n->nzones; z++) {
			struct state *s = n->t[i].st[z];
			if (s && s->active && s->due <= now)
				send_one(n, &n->t[i], z);
		}
	schedule(n);
}

/* Sets the timer for the earliest retry. */
static void schedule(struct notify *n)
{
	uint64_t due = UINT64_MAX, now = uv_now(n->loop);
	for (size_t i = 0; i < n->nt; i++)
		for (size_t z = 0; z < n->nzones; z++) {
			struct state *s = n->t[i].st[z];
			if (s && s->active && s->due < due)
				due = s->due;
		}
	if (due == UINT64_MAX)
		uv_timer_stop(&n->timer);
	else
		uv_timer_start(&n->timer, on_timer, due > now ? due - now : 0, 0);
}

/* 1 if sa is the target's address and port. */
static int same_addr(const struct net_addr *a, const struct sockaddr *sa)
{
	if (sa->sa_family != a->ss.ss_family)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)sa,
					 *y = (const struct sockaddr_in *)&a->ss;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)sa,
				  *y = (const struct sockaddr_in6 *)&a->ss;
	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

static const char *rcode_name(unsigned rc)
{
	static const char *names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
				      "NOTIMP",	 "REFUSED", "YXDOMAIN", "YXRRSET",
				      "NXRRSET", "NOTAUTH", "NOTZONE"};
	return rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "an unknown rcode";
}

/* An answer: it counts when it comes from the target, has the ID, QR and
 * opcode NOTIFY, the question (when echoed), NOERROR and a good TSIG when the
 * NOTIFY was signed. Anything else is dropped; nothing is ever sent back. */
static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *sa,
		    unsigned flags)
{
	struct notify *n = h->data;
	const uint8_t *m = (const uint8_t *)buf->base;
	size_t len = nread > 0 ? (size_t)nread : 0;
	if (!sa || len < WIRE_HDR || (flags & UV_UDP_PARTIAL))
		return;
	if (!(m[2] & 0x80) || ((m[2] >> 3) & 0x0f) != WIRE_OP_NOTIFY)
		return;
	struct target *t = NULL;
	for (size_t i = 0; i < n->nt && !t; i++)
		if (same_addr(&n->t[i].to, sa))
			t = &n->t[i];
	if (!t)
		return;
	uint16_t id = wire_get16(m);
	size_t zi;
	struct state *s = NULL;
	for (zi = 0; zi < n->nzones; zi++)
		if (t->st[zi] && t->st[zi]->active && t->st[zi]->has_msg && t->st[zi]->id == id) {
			s = t->st[zi];
			break;
		}
	if (!s)
		return;
	const struct zone *z = &n->zones[zi];
	unsigned qd = wire_get16(m + 4);
	if (qd > 1)
		return;
	if (qd == 1) {
		uint8_t name[WIRE_MAXNAME];
		struct wire_cur c = {m, len, WIRE_HDR};
		int nl = wire_read_name(&c, name);
		if (nl < 0 || c.pos + 4 > len)
			return;
		wire_name_lower(name, (size_t)nl);
		if (nl != z->apex_len || memcmp(name, z->apex, (size_t)nl) ||
		    wire_get16(m + c.pos) != WIRE_T_SOA)
			return;
	}
	if (s->is_signed) {
		struct tsig_ctx c = s->tctx;
		size_t without;
		int st = tsig_verify_response(&c, m, len, (uint64_t)time(NULL), &without);
		if (st != TSIG_OK) {
			log_msg(LOG_DEBUG, "answer from %s to the NOTIFY of %s dropped: TSIG %s",
				t->to.text, z->text, tsig_status_name(st));
			return;
		}
	}
	unsigned rc = m[3] & 0x0f;
	if (rc != WIRE_RC_NOERROR) {
		if (!s->refused)
			log_msg(LOG_WARN, "%s answered the NOTIFY of %s with %s; trying again",
				t->to.text, z->text, rcode_name(rc));
		s->refused = 1;
		return;
	}
	log_msg(LOG_INFO, "NOTIFY of %s serial %u answered by %s%s", z->text, s->sent, t->to.text,
		s->warned ? " (at last)" : "");
	s->active = s->has_msg = 0;
	s->told = s->sent;
	s->have_told = 1;
	s->unanswered = 0;
	s->warned = s->refused = 0;
	if (s->told != z->serial) {
		s->active = 1;
		send_one(n, t, zi);
	}
	schedule(n);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct notify *n = h->data;
	*buf = uv_buf_init((char *)n->rbuf, sizeof(n->rbuf));
}

/* Opens the socket of one family on a port the system picks; *inited says
 * whether the handle needs closing. */
static int open_sock(struct notify *n, uv_udp_t *h, int family, int *inited, char *err,
		     size_t errlen)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	int rc = uv_udp_init_ex(n->loop, h, (unsigned)family);
	if (rc) {
		snprintf(err, errlen, "cannot open a UDP socket for NOTIFY: %s", uv_strerror(rc));
		return DNSD_EIO;
	}
	h->data = n;
	n->open++;
	*inited = 1;
	rc = uv_udp_bind(h, (const struct sockaddr *)&ss, family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
	if (!rc)
		rc = uv_udp_recv_start(h, on_alloc, on_recv);
	if (rc) {
		snprintf(err, errlen, "cannot bind a UDP socket for NOTIFY: %s", uv_strerror(rc));
		return DNSD_EIO;
	}
	return 0;
}

static void on_close(uv_handle_t *h)
{
	struct notify *n = h->data;
	if (--n->open > 0)
		return;
	for (size_t i = 0; i < n->nt; i++) {
		for (size_t z = 0; z < CONFIG_MAX_ZONES; z++)
			free(n->t[i].st[z]);
		free(n->t[i].key_name);
	}
	free(n->t);
	free(n);
}

void notify_free(struct notify *n)
{
	if (!n)
		return;
	if (n->have4)
		uv_close((uv_handle_t *)&n->sock4, on_close);
	if (n->have6)
		uv_close((uv_handle_t *)&n->sock6, on_close);
	uv_close((uv_handle_t *)&n->timer, on_close);
}

void notify_set_keys(struct notify *n, const struct tsig_keys *keys)
{
	for (size_t i = 0; i < n->nt; i++) {
		const struct tsig_key *k;
		if (n->t[i].key_name && (k = tsig_key_find(keys, n->t[i].key_name)))
			n->t[i].key = k;
	}
}

void notify_set_timing(struct notify *n, unsigned first_ms, unsigned max_ms)
{
	n->first_ms = first_ms ? first_ms : 1;
	n->max_ms = max_ms < n->first_ms ? n->first_ms : max_ms;
}

int notify_new(uv_loop_t *loop, const struct config_notify *targets, size_t nt,
	       const struct tsig_keys *keys, struct notify **out, char *err, size_t errlen)
{
	struct notify *n = calloc(1, sizeof(*n));
	*out = NULL;
	if (!n || !(n->t = calloc(nt ? nt : 1, sizeof(*n->t)))) {
		free(n);
		snprintf(err, errlen, "out of memory");
		return DNSD_ENOMEM;
	}
	n->loop = loop;
	n->nt = nt;
	n->first_ms = NOTIFY_FIRST_MS;
	n->max_ms = NOTIFY_MAX_MS;
	int rc = 0, need4 = 0, need6 = 0;
	for (size_t i = 0; i < nt && !rc; i++) {
		struct target *t = &n->t[i];
		t->to = targets[i].to;
		if (t->to.ss.ss_family == AF_INET)
			need4 = 1;
		else
			need6 = 1;
		if (!targets[i].key)
			continue;
		if (!(t->key_name = strdup(targets[i].key))) {
			snprintf(err, errlen, "out of memory");
			rc = DNSD_ENOMEM;
		} else if (!(t->key = tsig_key_find(keys, t->key_name))) {
			snprintf(err, errlen, "--notify %s: no TSIG key %s", t->to.text,
				 t->key_name);
			rc = DNSD_EINVAL;
		}
	}
	if (rc) {
		for (size_t i = 0; i < nt; i++)
			free(n->t[i].key_name);
		free(n->t);
		free(n);
		return rc;
	}
	/* From here on, a failure frees through the close callbacks. */
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	n->open = 1;
	if (need4)
		rc = open_sock(n, &n->sock4, AF_INET, &n->have4, err, errlen);
	if (!rc && need6)
		rc = open_sock(n, &n->sock6, AF_INET6, &n->have6, err, errlen);
	if (rc) {
		notify_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void notify_zone(struct notify *n, const uint8_t *apex, size_t apex_len, uint32_t serial,
		 const uint8_t *soa, size_t soa_len, uint32_t soa_ttl)
{
	uint8_t a[WIRE_MAXNAME];
	size_t zi;
	if (!n || !apex_len || apex_len > WIRE_MAXNAME)
		return;
	memcpy(a, apex, apex_len);
	wire_name_lower(a, apex_len);
	for (zi = 0; zi < n->nzones; zi++)
		if (n->zones[zi].apex_len == apex_len && !memcmp(n->zones[zi].apex, a, apex_len))
			break;
	if (zi == n->nzones) {
		if (n->nzones == CONFIG_MAX_ZONES)
			return;
		memset(&n->zones[zi], 0, sizeof(n->zones[zi]));
		memcpy(n->zones[zi].apex, a, apex_len);
		n->zones[zi].apex_len = (uint8_t)apex_len;
		if (wire_name_to_text(a, n->zones[zi].text, sizeof(n->zones[zi].text)) < 0)
			return;
		n->nzones++;
	}
	struct zone *z = &n->zones[zi];
	z->serial = serial;
	z->soa_len = 0;
	/* The SOA RDATA: two uncompressed names and five numbers, or none at all. */
	size_t p = 0;
	for (int names = 0; soa && names < 2 && p < soa_len; p++)
		if (soa[p] == 0)
			names++;
		else if (soa[p] > 63)
			p = soa_len;
		else
			p += soa[p];
	if (soa && p + 20 == soa_len && soa_len <= sizeof(z->soa)) {
		memcpy(z->soa, soa, soa_len);
		z->soa_len = (uint16_t)soa_len;
		z->soa_ttl = soa_ttl;
	}
	uint64_t now = uv_now(n->loop);
	for (size_t i = 0; i < n->nt; i++) {
		struct target *t = &n->t[i];
		struct state *s = t->st[zi];
		if (!s && !(s = t->st[zi] = calloc(1, sizeof(*s)))) {
			log_msg(LOG_ERR, "out of memory: no NOTIFY of %s for %s", z->text,
				t->to.text);
			continue;
		}
		if (s->active && s->has_msg) {
			/* The newer serial goes with the next try, which comes soon. */
			if (s->sent != serial && s->due > now + n->first_ms)
				s->due = now + n->first_ms;
		} else if (!s->active && (!s->have_told || s->told != serial)) {
			/* Sent from the timer, at the next turn of the loop: a burst of
			 * changes in one turn sends one NOTIFY, of the last serial. */
			s->active = 1;
			s->due = now;
		}
	}
	schedule(n);
}

size_t notify_pending(const struct notify *n)
{
	size_t k = 0;
	for (size_t i = 0; n && i < n->nt; i++)
		for (size_t z = 0; z < n->nzones; z++)
			if (n->t[i].st[z] && n->t[i].st[z]->active)
				k++;
	return k;
}

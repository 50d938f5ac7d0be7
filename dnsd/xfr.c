/* xfr: zone transfers out of a view (AXFR streamed from the view, IXFR from the
 * history of differences). See xfr.h. */
#include "xfr.h"
#include "err.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int xfr_serial_lt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000u;
}

/* ---- the records of one customer domain, as a transfer sends them ---- */

/* The most records a domain has: a TXT per slot, the SPF TXT and up to ten MX
 * at T.rp, the DMARC TXT, the report TXT. */
#define DOM_MAX_RR (DB_MAX_SLOTS + 16)

struct rrref {
	const uint8_t *owner; /* wire, lowercase, absolute */
	uint8_t owner_len;
	const uint8_t *tail; /* type, class, TTL, RDLENGTH, RDATA */
	uint16_t tail_len;
};

struct dom_rrs {
	int n;
	struct rrref rr[DOM_MAX_RR];
	size_t names_len;
	uint8_t names[(DB_MAX_SLOTS + 3) * WIRE_MAXNAME];
};

/* Appends labels (wire, without the root) and then the apex as a new owner name;
 * returns it, or NULL when the name would pass 255 octets (it cannot be asked for,
 * so it is not served either). */
static const uint8_t *dom_owner(struct dom_rrs *d, const uint8_t *const *parts, const size_t *lens,
				int nparts, const struct db_zone *z, uint8_t *len_out)
{
	size_t total = z->apex_len;
	for (int i = 0; i < nparts; i++)
		total += lens[i];
	if (total > WIRE_MAXNAME || d->names_len + total > sizeof(d->names))
		return NULL;
	uint8_t *o = d->names + d->names_len;
	size_t at = 0;
	for (int i = 0; i < nparts; i++) {
		memcpy(o + at, parts[i], lens[i]);
		at += lens[i];
	}
	memcpy(o + at, z->apex, z->apex_len);
	d->names_len += total;
	*len_out = (uint8_t)total;
	return o;
}

/* Adds every record of the RRset rs at owner. */
static void dom_rrset(struct dom_rrs *d, const uint8_t *owner, uint8_t owner_len,
		      const struct db_rrset *rs)
{
	if (!rs || !owner)
		return;
	size_t off = 0;
	for (uint16_t i = 0; i < rs->count && off + 10 <= rs->len && d->n < DOM_MAX_RR; i++) {
		size_t l = 10u + wire_get16(rs->data + off + 8);
		if (off + l > rs->len)
			break;
		d->rr[d->n++] = (struct rrref){owner, owner_len, rs->data + off, (uint16_t)l};
		off += l;
	}
}

/* Which of a domain's records dom_render gives. */
enum { PART_DKIM = 1, PART_RP = 2, PART_DMARC = 4, PART_REPORT = 8, PART_ALL = 15 };

/* The records domain dm answers in view v, exactly as answer.c's lookups find them
 * (those of the parts asked). */
static void dom_render(const struct db_view *v, const struct db_domain *dm, struct dom_rrs *d,
		       int parts)
{
	static const uint8_t dkim[] = "\4dkim", rp[] = "\2rp", dmarc[] = "\5dmarc",
			     report[] = "\7_report\6_dmarc";
	const struct db_zone *z = v->dyn;
	uint8_t tok[17], ol = 0;
	d->n = 0;
	d->names_len = 0;
	if (!z)
		return;
	tok[0] = 16;
	memcpy(tok + 1, dm->token, 16);
	for (int i = 0; (parts & PART_DKIM) && i < dm->nslots; i++) {
		if (!dm->slots[i].txt)
			continue;
		const uint8_t *p[3] = {dm->slots[i].sel, tok, dkim};
		size_t l[3] = {1u + dm->slots[i].sel[0], 17, 5};
		const uint8_t *o = dom_owner(d, p, l, 3, z, &ol);
		dom_rrset(d, o, ol, dm->slots[i].txt);
	}
	if (dm->removed)
		return;
	const uint8_t *p[2] = {tok, rp};
	size_t l[2] = {17, 3};
	const uint8_t *o;
	if (parts & PART_RP) {
		o = dom_owner(d, p, l, 2, z, &ol);
		dom_rrset(d, o, ol, db_view_policy(v, dm, DB_POL_SPF));
		dom_rrset(d, o, ol, db_view_policy(v, dm, DB_POL_MX));
	}
	if (parts & PART_DMARC) {
		p[1] = dmarc;
		l[1] = 6;
		o = dom_owner(d, p, l, 2, z, &ol);
		dom_rrset(d, o, ol, db_view_policy(v, dm, DB_POL_DMARC));
	}
	if ((parts & PART_REPORT) && dm->name_len > 1) {
		p[0] = dm->name;
		l[0] = dm->name_len - 1u; /* without its root label */
		p[1] = report;
		l[1] = 15;
		o = dom_owner(d, p, l, 2, z, &ol);
		dom_rrset(d, o, ol, v->report_txt);
	}
}

static int rr_same(const struct rrref *a, const struct rrref *b)
{
	return a->owner_len == b->owner_len && a->tail_len == b->tail_len &&
	       memcmp(a->owner, b->owner, a->owner_len) == 0 &&
	       memcmp(a->tail, b->tail, a->tail_len) == 0;
}

/* ---- the history ---- */

/* One serial step: the records it deleted and added, each as owner length, owner,
 * tail length (2 octets), tail. Immutable once in the history; counted references. */
struct step {
	uint32_t from, to;
	int64_t at;
	unsigned refs; /* atomic */
	size_t ndel, nadd;
	size_t del_len, add_len, cap_del, cap_add;
	uint8_t *del, *add;
	uint16_t soa_from_len, soa_to_len;
	uint8_t soa_from[10 + 2 * WIRE_MAXNAME + 20], soa_to[10 + 2 * WIRE_MAXNAME + 20];
};

struct xfr_hist {
	pthread_mutex_t mu;
	size_t max_bytes;
	int64_t max_age;
	struct step **steps;
	size_t n, cap;
	size_t bytes;
};

static size_t step_bytes(const struct step *s)
{
	return sizeof(*s) + s->cap_del + s->cap_add;
}

static void step_unref(struct step *s)
{
	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(s->del);
		free(s->add);
		free(s);
	}
}

struct xfr_hist *xfr_hist_new(size_t max_bytes, int64_t max_age)
{
	struct xfr_hist *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	h->max_bytes = max_bytes;
	h->max_age = max_age;
	return h;
}

/* Drops the oldest step; call with mu held. */
static void hist_drop_oldest(struct xfr_hist *h)
{
	struct step *s = h->steps[0];
	h->bytes -= step_bytes(s);
	memmove(h->steps, h->steps + 1, (h->n - 1) * sizeof(*h->steps));
	h->n--;
	step_unref(s);
}

static void hist_clear(struct xfr_hist *h)
{
	pthread_mutex_lock(&h->mu);
	while (h->n)
		hist_drop_oldest(h);
	pthread_mutex_unlock(&h->mu);
}

void xfr_hist_free(struct xfr_hist *h)
{
	if (!h)
		return;
	hist_clear(h);
	free(h->steps);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void xfr_hist_stats(struct xfr_hist *h, struct xfr_hist_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	st->steps = h->n;
	st->bytes = h->bytes;
	if (h->n) {
		st->oldest = h->steps[0]->from;
		st->newest = h->steps[h->n - 1]->to;
	}
	pthread_mutex_unlock(&h->mu);
}

static int buf_put(uint8_t **b, size_t *len, size_t *cap, const struct rrref *r)
{
	size_t need = 1u + r->owner_len + 2u + r->tail_len;
	if (*cap - *len < need) {
		size_t nc = *cap ? *cap * 2 : 4096;
		while (nc - *len < need)
			nc *= 2;
		uint8_t *nb = realloc(*b, nc);
		if (!nb)
			return DNSD_ENOMEM;
		*b = nb;
		*cap = nc;
	}
	uint8_t *p = *b + *len;
	p[0] = r->owner_len;
	memcpy(p + 1, r->owner, r->owner_len);
	wire_put16(p + 1 + r->owner_len, r->tail_len);
	memcpy(p + 3 + r->owner_len, r->tail, r->tail_len);
	*len += need;
	return 0;
}

struct diff_ctx {
	const struct db_view *a, *b;
	struct step *s;
	int failed;
	int too_big; /* the step outgrew the history's bound */
	size_t max_bytes;
	struct dom_rrs x, y;
};

static void diff_domain(void *ctx, const struct db_domain *od, const struct db_domain *nd)
{
	struct diff_ctx *c = ctx;
	if (c->failed || c->too_big)
		return;
	if (c->s->del_len + c->s->add_len > c->max_bytes) {
		c->too_big = 1; /* the history could not keep it: no use going on */
		return;
	}
	if (od)
		dom_render(c->a, od, &c->x, PART_ALL);
	else
		c->x.n = 0;
	if (nd)
		dom_render(c->b, nd, &c->y, PART_ALL);
	else
		c->y.n = 0;
	for (int i = 0; i < c->x.n; i++) {
		int kept = 0;
		for (int k = 0; k < c->y.n && !kept; k++)
			kept = rr_same(&c->x.rr[i], &c->y.rr[k]);
		if (!kept) {
			if (buf_put(&c->s->del, &c->s->del_len, &c->s->cap_del, &c->x.rr[i]))
				c->failed = 1;
			c->s->ndel++;
		}
	}
	for (int k = 0; k < c->y.n; k++) {
		int had = 0;
		for (int i = 0; i < c->x.n && !had; i++)
			had = rr_same(&c->x.rr[i], &c->y.rr[k]);
		if (!had) {
			if (buf_put(&c->s->add, &c->s->add_len, &c->s->cap_add, &c->y.rr[k]))
				c->failed = 1;
			c->s->nadd++;
		}
	}
}

static void soa_copy(uint8_t *dst, uint16_t *len, const struct db_rrset *soa, size_t cap)
{
	*len = 0;
	if (soa && soa->len <= cap) {
		memcpy(dst, soa->data, soa->len);
		*len = (uint16_t)soa->len;
	}
}

int xfr_hist_note(struct xfr_hist *h, const struct db_view *a, const struct db_view *b, int64_t now)
{
	if (!h || !b || !b->dyn || !b->dyn_soa)
		return 0;
	/* A new zone file, or no view before: nothing a secondary holds can be
	 * brought up to b by differences of ours. */
	if (h->max_bytes == 0 || !a || !a->dyn || !a->dyn_soa ||
	    a->dyn->apex_len != b->dyn->apex_len ||
	    memcmp(a->dyn->apex, b->dyn->apex, a->dyn->apex_len) ||
	    memcmp(a->dyn->digest, b->dyn->digest, sizeof(a->dyn->digest))) {
		hist_clear(h);
		return 0;
	}
	if (a->set.serial != b->set.serial && !xfr_serial_lt(a->set.serial, b->set.serial)) {
		hist_clear(h); /* the serial went back: a store put back by hand */
		return 0;
	}
	struct diff_ctx *c = calloc(1, sizeof(*c));
	struct step *s = calloc(1, sizeof(*s));
	if (!c || !s) {
		free(c);
		free(s);
		hist_clear(h);
		return DNSD_ENOMEM;
	}
	s->from = a->set.serial;
	s->to = b->set.serial;
	s->at = now;
	s->refs = 1;
	soa_copy(s->soa_from, &s->soa_from_len, a->dyn_soa, sizeof(s->soa_from));
	soa_copy(s->soa_to, &s->soa_to_len, b->dyn_soa, sizeof(s->soa_to));
	c->a = a;
	c->b = b;
	c->s = s;
	c->max_bytes = h->max_bytes;
	db_view_diff_domains(a, b, diff_domain, c);
	if (!c->failed && db_view_policies_differ(a, b)) {
		/* A policy every domain of a tenant (or all) inherits: the domains whose
		 * own object did not change may answer differently now. */
		struct db_cursor cur = {0};
		const struct db_domain *nd;
		while (!c->failed && !c->too_big && (nd = db_view_next_domain(b, &cur)))
			if (db_view_by_token(a, (const uint8_t *)nd->token, 16) == nd)
				diff_domain(c, nd, nd);
	}
	int failed = c->failed || !s->soa_from_len || !s->soa_to_len, too_big = c->too_big;
	free(c);
	if (too_big) {
		/* Bigger than the whole history may be: a secondary behind it gets the
		 * whole zone, which is no bigger. */
		step_unref(s);
		hist_clear(h);
		return 0;
	}
	if (failed) {
		step_unref(s);
		hist_clear(h);
		return DNSD_ENOMEM;
	}
	if (s->from == s->to) {
		/* The same serial: fine when nothing changed (a view rebuilt alike);
		 * otherwise one serial now names two contents, and the history must go. */
		int same = !s->ndel && !s->nadd;
		step_unref(s);
		if (!same)
			hist_clear(h);
		return 0;
	}
	pthread_mutex_lock(&h->mu);
	if (h->n && h->steps[h->n - 1]->to != s->from)
		while (h->n)
			hist_drop_oldest(h);
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 64;
		struct step **ns = realloc(h->steps, nc * sizeof(*ns));
		if (!ns) {
			while (h->n)
				hist_drop_oldest(h);
			pthread_mutex_unlock(&h->mu);
			step_unref(s);
			return DNSD_ENOMEM;
		}
		h->steps = ns;
		h->cap = nc;
	}
	h->steps[h->n++] = s;
	h->bytes += step_bytes(s);
	while (h->n && (h->bytes > h->max_bytes || h->steps[0]->at < now - h->max_age))
		hist_drop_oldest(h);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

/* ---- requests ---- */

const struct db_rrset *xfr_soa(const struct db_view *v, const struct db_zone *z)
{
	return (z == v->dyn && v->dyn_soa) ? v->dyn_soa : z->soa;
}

/* Reads the serial of the SOA record at the cursor (owner already read). */
static int read_soa_serial(struct wire_cur *c, uint32_t *serial)
{
	uint8_t name[WIRE_MAXNAME];
	if (c->len - c->pos < 10)
		return DNSD_EFORMAT;
	const uint8_t *p = c->pkt + c->pos;
	uint16_t type = wire_get16(p), rdlen = wire_get16(p + 8);
	size_t end = c->pos + 10u + rdlen;
	if (type != WIRE_T_SOA || end > c->len)
		return DNSD_EFORMAT;
	/* The names are read within the RDATA: an RDLENGTH too short for them must
	 * not let the serial be read past it (or past the message). */
	struct wire_cur rd = {c->pkt, end, c->pos + 10};
	if (wire_read_name(&rd, name) < 0 || wire_read_name(&rd, name) < 0 || end - rd.pos < 20)
		return DNSD_EFORMAT;
	*serial = wire_get32(c->pkt + rd.pos);
	c->pos = end;
	return 0;
}

int xfr_parse(const struct db_view *v, const uint8_t *pkt, size_t len, struct xfr_req *r)
{
	struct wire_query q;
	memset(r, 0, sizeof(*r));
	if (wire_parse_query(pkt, len, &q))
		return XFR_NONE;
	if (((q.flags1 >> 3) & 0x0F) != WIRE_OP_QUERY ||
	    (q.qtype != WIRE_T_AXFR && q.qtype != WIRE_T_IXFR))
		return XFR_NONE;
	r->kind = q.qtype == WIRE_T_AXFR ? XFR_AXFR : XFR_IXFR;
	r->question_end = q.question_end;
	if (q.qclass != WIRE_C_IN)
		return DNSD_ENOENT;
	for (size_t i = 0; v && i < v->nzones; i++)
		if (v->zones[i]->apex_len == q.qname_len &&
		    memcmp(v->zones[i]->apex, q.qname, q.qname_len) == 0)
			r->zone = v->zones[i];
	if (!r->zone)
		return DNSD_ENOENT;
	if (r->kind == XFR_AXFR)
		return XFR_AXFR;
	/* IXFR: the client's SOA, in the authority section (RFC 1995 §3). */
	struct wire_cur c = {pkt, len, q.question_end};
	uint8_t name[WIRE_MAXNAME];
	for (unsigned i = 0; i < q.ancount; i++) {
		if (wire_read_name(&c, name) < 0 || c.len - c.pos < 10 ||
		    c.len - c.pos - 10 < wire_get16(c.pkt + c.pos + 8))
			return DNSD_EFORMAT;
		c.pos += 10u + wire_get16(c.pkt + c.pos + 8);
	}
	if (q.nscount < 1 || wire_read_name(&c, name) < 0 || read_soa_serial(&c, &r->client_serial))
		return DNSD_EFORMAT;
	return XFR_IXFR;
}

/* ---- writing messages ---- */

enum { P_SOA_FIRST, P_NODES, P_DOMAINS, P_STEPS, P_SOA_LAST, P_DONE };

struct xfr_stream {
	const struct db_view *v;
	const struct db_zone *z;
	uint8_t hdr2; /* the RD bit of the request, copied */
	uint16_t id;
	uint16_t qlen;
	uint8_t question[WIRE_MAXNAME + 4];
	int full, phase;
	uint8_t soa[10 + 2 * WIRE_MAXNAME + 20]; /* the SOA the answer begins and ends with */
	uint16_t soa_len;
	/* AXFR: the static nodes, then the customer domains */
	size_t tab_i;
	const struct db_node *node;
	int rrset_k;
	uint32_t rr_off;
	struct db_cursor cur;
	int dom_i;
	struct dom_rrs dom;
	/* The customer domains in the order their names sort (RFC 4034 §6.1), so that
	 * a secondary inserts into its tree in order: bucketed by the token's first two
	 * characters at the start, each bucket sorted when the transfer reaches it, and
	 * sent part by part (all DKIM records, then DMARC, Return-Path, report). */
	const struct db_domain **order;
	uint32_t *bstart; /* bucket b is order[bstart[b] .. bstart[b + 1]) */
	uint8_t *bsorted;
	size_t oi; /* the next domain in order */
	int pass;  /* index into passes[] */
	/* The bucketing is done a slice per call of xfr_next (two walks of the map:
	 * counting, then filling), so that a worker answers queries between slices. */
	int build; /* 0: counting, 1: filling, 2: done */
	struct db_cursor bcur;
	size_t bseen, bdone;
	uint32_t *bfill;
	int blocked; /* xfr_next returned 0 because a slice was done, not the end */
	/* IXFR: the steps, each as SOA(from), deletions, SOA(to), additions */
	struct step **steps;
	size_t nsteps, step_i;
	int sub;
	size_t off;
	uint64_t msgs, rrs;
};

static int order_begin(struct xfr_stream *s);

struct xfr_stream *xfr_begin(const struct db_view *v, struct xfr_hist *h, const struct xfr_req *r,
			     const uint8_t *pkt, size_t len)
{
	struct xfr_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->v = v;
	s->z = r->zone;
	s->id = wire_get16(pkt);
	s->hdr2 = pkt[2] & 0x01;
	s->qlen = (uint16_t)(r->question_end - WIRE_HDR);
	memcpy(s->question, pkt + WIRE_HDR, s->qlen);
	const struct db_rrset *soa = xfr_soa(v, r->zone);
	if (soa && soa->len <= sizeof(s->soa)) {
		memcpy(s->soa, soa->data, soa->len);
		s->soa_len = (uint16_t)soa->len;
	}
	s->full = 1;
	s->phase = P_SOA_FIRST;
	if (r->kind == XFR_IXFR && h && r->zone == v->dyn && s->soa_len >= 30) {
		uint32_t cur = wire_get32(s->soa + s->soa_len - 20);
		if (r->client_serial == cur || xfr_serial_lt(cur, r->client_serial)) {
			s->full = 0; /* up to date (or ahead): the SOA alone */
			s->phase = P_SOA_LAST;
			return s;
		}
		pthread_mutex_lock(&h->mu);
		size_t from = h->n;
		for (size_t i = 0; i < h->n; i++)
			if (h->steps[i]->from == r->client_serial)
				from = i;
		if (from < h->n && (s->steps = malloc((h->n - from) * sizeof(*s->steps)))) {
			for (size_t i = from; i < h->n; i++) {
				s->steps[s->nsteps++] = h->steps[i];
				__atomic_add_fetch(&h->steps[i]->refs, 1, __ATOMIC_ACQ_REL);
			}
		}
		pthread_mutex_unlock(&h->mu);
		if (s->nsteps) {
			/* The answer ends at the newest step, which may be a serial newer
			 * than the view this request found: it is served by now too. */
			const struct step *last = s->steps[s->nsteps - 1];
			memcpy(s->soa, last->soa_to, last->soa_to_len);
			s->soa_len = last->soa_to_len;
			s->full = 0;
		}
	}
	if (s->full && r->zone == v->dyn)
		order_begin(s); /* on failure, the map's order: slower for the secondary only */
	return s;
}

int xfr_blocked(const struct xfr_stream *s)
{
	return s->blocked;
}

int xfr_is_full(const struct xfr_stream *s)
{
	return s->full;
}

void xfr_counts(const struct xfr_stream *s, uint64_t *msgs, uint64_t *rrs)
{
	*msgs = s->msgs;
	*rrs = s->rrs;
}

void xfr_end(struct xfr_stream *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsteps; i++)
		step_unref(s->steps[i]);
	free(s->steps);
	free(s->order);
	free(s->bstart);
	free(s->bsorted);
	free(s->bfill);
	free(s);
}

/* The record at the cursor, without moving it: 1, or 0 when the phase is done. */
static int node_rr(struct xfr_stream *s, struct rrref *r)
{
	const struct db_zone *z = s->z;
	for (;;) {
		if (!s->node) {
			while (s->tab_i < z->tabsize && !z->tab[s->tab_i])
				s->tab_i++;
			if (s->tab_i >= z->tabsize)
				return 0;
			s->node = z->tab[s->tab_i++];
			s->rrset_k = 0;
			s->rr_off = 0;
		}
		const struct db_node *n = s->node;
		while (s->rrset_k < n->nrrsets) {
			const struct db_rrset *rs = n->rrsets[s->rrset_k];
			if ((rs->type == WIRE_T_SOA && n->name_len == z->apex_len) ||
			    s->rr_off + 10 > rs->len) {
				s->rrset_k++;
				s->rr_off = 0;
				continue;
			}
			size_t l = 10u + wire_get16(rs->data + s->rr_off + 8);
			*r = (struct rrref){n->name, n->name_len, rs->data + s->rr_off,
					    (uint16_t)l};
			return 1;
		}
		s->node = n->next;
		s->rrset_k = 0;
		s->rr_off = 0;
	}
}

static void node_next(struct xfr_stream *s)
{
	const struct db_rrset *rs = s->node->rrsets[s->rrset_k];
	s->rr_off += 10u + wire_get16(rs->data + s->rr_off + 8);
}

/* A token's bucket: its first two characters, in the order their octets sort
 * (digits before letters). Any other octet (a token written past the checks)
 * still gets a bucket: the order is for speed, not for correctness. */
#define NBUCKETS 1024
static unsigned b32(uint8_t c)
{
	if (c >= '2' && c <= '7')
		return c - '2';
	if (c >= 'a' && c <= 'z')
		return 6u + (c - 'a');
	return c & 31u;
}

static unsigned bucket_of(const struct db_domain *d)
{
	return b32((uint8_t)d->token[0]) * 32u + b32((uint8_t)d->token[1]);
}

static int token_cmp(const void *a, const void *b)
{
	const struct db_domain *x = *(const struct db_domain *const *)a;
	const struct db_domain *y = *(const struct db_domain *const *)b;
	return memcmp(x->token, y->token, 16);
}

/* How many domains one slice of the bucketing walks: a few milliseconds. */
#define BUILD_SLICE 20000

/* Starts bucketing the view's domains. Returns 0 or DNSD_ENOMEM (then the map's
 * own order is used). */
static int order_begin(struct xfr_stream *s)
{
	size_t n = s->v->ndomains;
	s->bstart = calloc(NBUCKETS + 1, sizeof(*s->bstart));
	s->bsorted = calloc(NBUCKETS, 1);
	s->bfill = malloc(NBUCKETS * sizeof(*s->bfill));
	s->order = malloc((n ? n : 1) * sizeof(*s->order));
	if (!s->bstart || !s->bsorted || !s->bfill || !s->order || n > UINT32_MAX) {
		free(s->order);
		free(s->bstart);
		free(s->bsorted);
		free(s->bfill);
		s->order = NULL;
		s->bstart = NULL;
		s->bsorted = NULL;
		s->bfill = NULL;
		return DNSD_ENOMEM;
	}
	return 0;
}

/* One slice of the bucketing. Returns 1 once it is complete. */
static int order_build(struct xfr_stream *s)
{
	size_t n = s->v->ndomains;
	const struct db_domain *d;
	int budget = BUILD_SLICE;
	while (s->build == 0 && budget-- > 0) {
		if (s->bseen == n || !(d = db_view_next_domain(s->v, &s->bcur))) {
			for (unsigned b = 0; b < NBUCKETS; b++)
				s->bstart[b + 1] += s->bstart[b];
			memcpy(s->bfill, s->bstart, NBUCKETS * sizeof(*s->bfill));
			memset(&s->bcur, 0, sizeof(s->bcur));
			s->build = 1;
			break;
		}
		s->bstart[bucket_of(d) + 1]++;
		s->bseen++;
	}
	while (s->build == 1 && budget-- > 0) {
		if (s->bdone == s->bseen || !(d = db_view_next_domain(s->v, &s->bcur))) {
			s->build = 2;
			break;
		}
		s->order[s->bfill[bucket_of(d)]++] = d;
		s->bdone++;
	}
	return s->build == 2;
}

/* The next domain in order (its bucket sorted first), or NULL after the last. */
static const struct db_domain *order_next(struct xfr_stream *s)
{
	uint32_t total = s->bstart[NBUCKETS];
	if (s->oi >= total)
		return NULL;
	/* The bucket holding oi: the first whose end is past it. */
	unsigned b = bucket_of(s->order[s->oi]);
	if (!s->bsorted[b]) {
		/* oi is this bucket's start: nothing of it was sent yet. */
		qsort(s->order + s->bstart[b], s->bstart[b + 1] - s->bstart[b], sizeof(*s->order),
		      token_cmp);
		s->bsorted[b] = 1;
	}
	return s->order[s->oi++];
}

/* The record at the cursor of the domains: 1; 0 at their end; -1 when the order
 * is still being built (xfr_next then stops, blocked). */
static int domain_rr(struct xfr_stream *s, struct rrref *r)
{
	static const int passes[] = {PART_DKIM, PART_DMARC, PART_RP, PART_REPORT};
	if (s->order && s->build != 2)
		return order_build(s) ? domain_rr(s, r) : -1;
	while (s->dom_i >= s->dom.n) {
		const struct db_domain *d;
		if (s->order) {
			while (!(d = order_next(s))) {
				if (++s->pass == (int)(sizeof(passes) / sizeof(passes[0])))
					return 0;
				s->oi = 0;
			}
			dom_render(s->v, d, &s->dom, passes[s->pass]);
		} else {
			if (!(d = db_view_next_domain(s->v, &s->cur)))
				return 0;
			dom_render(s->v, d, &s->dom, PART_ALL);
		}
		s->dom_i = 0;
	}
	*r = s->dom.rr[s->dom_i];
	return 1;
}

/* IXFR: the record at the cursor of the steps. */
static int step_rr(struct xfr_stream *s, struct rrref *r)
{
	while (s->step_i < s->nsteps) {
		const struct step *st = s->steps[s->step_i];
		const uint8_t *b = s->sub == 1 ? st->del : st->add;
		size_t bl = s->sub == 1 ? st->del_len : st->add_len;
		if (s->sub == 0 || s->sub == 2) {
			*r = (struct rrref){s->z->apex, s->z->apex_len,
					    s->sub ? st->soa_to : st->soa_from,
					    s->sub ? st->soa_to_len : st->soa_from_len};
			return 1;
		}
		if (s->off < bl) {
			r->owner_len = b[s->off];
			r->owner = b + s->off + 1;
			r->tail_len = wire_get16(b + s->off + 1 + r->owner_len);
			r->tail = b + s->off + 3 + r->owner_len;
			return 1;
		}
		s->off = 0;
		if (++s->sub == 4) {
			s->sub = 0;
			s->step_i++;
		}
	}
	return 0;
}

static void step_next(struct xfr_stream *s)
{
	if (s->sub == 0 || s->sub == 2) {
		s->sub++;
		return;
	}
	const struct step *st = s->steps[s->step_i];
	const uint8_t *b = s->sub == 1 ? st->del : st->add;
	s->off += 3u + b[s->off] + wire_get16(b + s->off + 1 + b[s->off]);
}

/* The record the answer sends next, or 0 at its end. */
static int next_rr(struct xfr_stream *s, struct rrref *r)
{
	for (;;) {
		switch (s->phase) {
		case P_SOA_FIRST:
		case P_SOA_LAST:
			*r = (struct rrref){s->z->apex, s->z->apex_len, s->soa, s->soa_len};
			return s->soa_len != 0;
		case P_NODES:
			if (node_rr(s, r))
				return 1;
			s->phase = s->z == s->v->dyn ? P_DOMAINS : P_SOA_LAST;
			break;
		case P_DOMAINS: {
			int k = domain_rr(s, r);
			if (k)
				return k;
			s->phase = P_SOA_LAST;
			break;
		}
		case P_STEPS:
			if (step_rr(s, r))
				return 1;
			s->phase = P_SOA_LAST;
			break;
		default:
			return 0;
		}
	}
}

static void advance(struct xfr_stream *s)
{
	switch (s->phase) {
	case P_SOA_FIRST:
		s->phase = s->nsteps ? P_STEPS : P_NODES;
		break;
	case P_SOA_LAST:
		s->phase = P_DONE;
		break;
	case P_NODES:
		node_next(s);
		break;
	case P_DOMAINS:
		s->dom_i++;
		break;
	case P_STEPS:
		step_next(s);
		break;
	}
}

/* Writes an owner under the zone's apex: its own labels, then a pointer to the
 * question's name (the apex, at offset 12). */
static size_t put_owner(uint8_t *p, const struct rrref *r, const struct db_zone *z)
{
	size_t pre = r->owner_len - z->apex_len;
	if (r->owner_len < z->apex_len || memcmp(r->owner + pre, z->apex, z->apex_len)) {
		memcpy(p, r->owner, r->owner_len);
		return r->owner_len;
	}
	memcpy(p, r->owner, pre);
	wire_put16(p + pre, 0xC000 | WIRE_HDR);
	return pre + 2;
}

static size_t msg_start(const struct xfr_stream *s, uint8_t *out)
{
	wire_put16(out, s->id);
	out[2] = (uint8_t)(0x84 | s->hdr2); /* QR, opcode QUERY, AA */
	out[3] = 0;
	wire_put16(out + 4, 1);
	memset(out + 6, 0, 6);
	memcpy(out + WIRE_HDR, s->question, s->qlen);
	return WIRE_HDR + s->qlen;
}

size_t xfr_next(struct xfr_stream *s, uint8_t *out, size_t cap, size_t reserve)
{
	if (cap > 65535)
		cap = 65535;
	if (s->phase == P_DONE || cap < reserve + WIRE_HDR + s->qlen + 64)
		return 0;
	size_t limit = cap - reserve, len = msg_start(s, out);
	uint16_t an = 0;
	struct rrref r;
	int k;
	s->blocked = 0;
	while ((k = next_rr(s, &r)) != 0) {
		if (k < 0) {
			/* A slice of the ordering was done: the message goes as it is,
			 * or, empty, the caller comes back (xfr_blocked). */
			s->blocked = !an;
			break;
		}
		size_t need = (size_t)r.owner_len + r.tail_len;
		if (len + need > limit) {
			if (an)
				break;
			/* One record bigger than a message: cannot be sent; skip it. */
			advance(s);
			continue;
		}
		len += put_owner(out + len, &r, s->z);
		memcpy(out + len, r.tail, r.tail_len);
		len += r.tail_len;
		an++;
		advance(s);
	}
	if (!an)
		return 0;
	wire_put16(out + 6, an);
	s->msgs++;
	s->rrs += an;
	return len;
}

size_t xfr_udp_answer(const struct db_view *v, const struct xfr_req *r, const uint8_t *pkt,
		      uint8_t *out, size_t cap)
{
	const struct db_rrset *soa = xfr_soa(v, r->zone);
	size_t ql = r->question_end - WIRE_HDR;
	if (!soa || WIRE_HDR + ql + 2 + soa->len > cap || soa->len < 10)
		return 0;
	wire_put16(out, wire_get16(pkt));
	out[2] = (uint8_t)(0x84 | (pkt[2] & 0x01));
	out[3] = 0;
	wire_put16(out + 4, 1);
	wire_put16(out + 6, 1);
	memset(out + 8, 0, 4);
	memcpy(out + WIRE_HDR, pkt + WIRE_HDR, ql);
	size_t len = WIRE_HDR + ql;
	wire_put16(out + len, 0xC000 | WIRE_HDR);
	memcpy(out + len + 2, soa->data, 10u + wire_get16(soa->data + 8));
	return len + 2 + 10u + wire_get16(soa->data + 8);
}

size_t xfr_error_answer(const uint8_t *pkt, size_t question_end, int rcode, uint8_t *out,
			size_t cap)
{
	if (question_end < WIRE_HDR || question_end > cap)
		question_end = WIRE_HDR;
	wire_put16(out, wire_get16(pkt));
	out[2] = (uint8_t)(0x80 | (pkt[2] & 0x79)); /* QR; opcode and RD as asked */
	out[3] = (uint8_t)(rcode & 0x0F);
	wire_put16(out + 4, question_end > WIRE_HDR ? 1 : 0);
	memset(out + 6, 0, 6);
	memcpy(out + WIRE_HDR, pkt + WIRE_HDR, question_end - WIRE_HDR);
	return question_end;
}

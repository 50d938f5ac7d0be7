/* answer: turns one query message into its response, from a view. Pure: no sockets,
 * no store, no logging, no allocation. */
#include "answer.h"
#include "err.h"
#include <string.h>
#include <strings.h>

/* The response being written: everything is bounds-checked against limit. */
struct resp {
	uint8_t *out;
	size_t len, limit;
	uint16_t ancount, nscount;
	int overflow;
};

/* Label starts of the uncompressed name at n (at most max), into at[]; returns
 * their count, or -1 if the name is not a plain uncompressed name within len. */
static int name_labels(const uint8_t *n, size_t len, uint16_t *at, int max)
{
	int k = 0;
	size_t i = 0;
	while (i < len && n[i]) {
		if ((n[i] & 0xC0) || k == max || i + 1 + n[i] >= len)
			return -1;
		at[k++] = (uint16_t)i;
		i += 1u + n[i];
	}
	return i < len ? k : -1;
}

/* An MX rdata (preference, then the exchange, uncompressed) written at rd in
 * the message msg: points the longest suffix of the exchange that equals a
 * suffix of the question's name (at WIRE_HDR) at the question, as NSD and Knot
 * do (RFC 1035 4.1.4). Returns the rdata's new length, written into its RDLENGTH
 * (the two octets before rd). */
static size_t mx_compress(uint8_t *msg, uint8_t *rd, size_t rdlen)
{
	uint16_t q[128], x[128];
	int nq = name_labels(msg + WIRE_HDR, 256, q, 128);
	int nx = name_labels(rd + 2, rdlen - 2, x, 128);
	if (nq <= 0 || nx <= 0)
		return rdlen;
	for (int k = 0; k < nx; k++) {
		int j = nq - (nx - k); /* the question's label with as many after it */
		if (j < 0)
			continue;
		const uint8_t *a = rd + 2 + x[k], *b = msg + WIRE_HDR + q[j];
		size_t la = (size_t)(rd + rdlen - a), lb = 1; /* the question's suffix, with its root */
		for (int t = j; t < nq; t++)
			lb += 1u + b[q[t] - q[j]];
		/* Length octets are below 'A', so a caseless compare of the octets
		 * compares the labels; the exchange (from the store, checked as text)
		 * holds no zero octet but its root, where the compare may stop. */
		if (la != lb || strncasecmp((const char *)a, (const char *)b, la) != 0)
			continue;
		size_t head = 2u + x[k];
		wire_put16(rd + head, (uint16_t)(0xC000 | (WIRE_HDR + q[j])));
		wire_put16(rd - 2, (uint16_t)(head + 2));
		return head + 2;
	}
	return rdlen;
}

/* Appends one RRset with a compressed owner pointing at offset owner. ttl, if not
 * negative, replaces each RR's TTL (negative answers use the SOA's negative TTL). */
static void put_rrset(struct resp *r, const struct db_rrset *rs, uint16_t owner, int64_t ttl,
		      uint16_t *counter)
{
	if (r->overflow)
		return;
	if (r->len + rs->len + 2u * rs->count > r->limit) {
		r->overflow = 1;
		return;
	}
	const uint8_t *p = rs->data, *end = rs->data + rs->len;
	while (p < end) {
		size_t rl = 10u + wire_get16(p + 8);
		wire_put16(r->out + r->len, (uint16_t)(0xC000 | owner));
		memcpy(r->out + r->len + 2, p, rl);
		if (ttl >= 0)
			wire_put32(r->out + r->len + 2 + 4, (uint32_t)ttl);
		size_t wl = rl; /* what it takes in the message */
		if (rs->type == WIRE_T_MX && rl > 12)
			wl = 10u + mx_compress(r->out, r->out + r->len + 2 + 10, rl - 10);
		r->len += 2 + wl;
		p += rl;
		(*counter)++;
	}
}

static int label_is(const uint8_t *l, const char *s)
{
	size_t n = strlen(s);
	return l[0] == n && memcmp(l + 1, s, n) == 0;
}

enum { R_DATA, R_NODATA, R_NXDOMAIN };

/* Dynamic names: <sel>.T.dkim.Z, T.rp.Z, T.dmarc.Z, D._report._dmarc.Z. below is the
 * number of labels under the apex; returns R_* with *rs set for R_DATA, or -1 when
 * the name is not in a dynamic subtree. */
static int lookup_dynamic(const struct db_view *v, const struct wire_query *q, int below,
			  const struct db_rrset **rs)
{
	const uint8_t *n = q->qname;
	const uint8_t *top = n + q->label_off[below - 1];
	uint16_t qt = q->qtype;
	int is_txt = qt == WIRE_T_TXT || qt == WIRE_T_ANY;

	if (label_is(top, "dkim") || label_is(top, "rp") || label_is(top, "dmarc")) {
		/* dkim.Z has names while removed domains answer p=; the others only
		 * while live domains exist. */
		if (below == 1)
			return (label_is(top, "dkim") ? v->ndomains : v->nlive) ? R_NODATA : R_NXDOMAIN;
		const uint8_t *tl = n + q->label_off[below - 2];
		const struct db_domain *d = db_view_by_token(v, tl + 1, tl[0]);
		if (!d)
			return R_NXDOMAIN;
		if (label_is(top, "dkim")) {
			if (below == 2)
				return R_NODATA;
			if (below > 3)
				return R_NXDOMAIN;
			for (int i = 0; i < d->nslots; i++) {
				if (d->slots[i].sel[0] == n[0] &&
				    memcmp(d->slots[i].sel, n, 1u + n[0]) == 0) {
					*rs = is_txt ? d->slots[i].txt : NULL;
					return *rs ? R_DATA : R_NODATA;
				}
			}
			return R_NXDOMAIN;
		}
		if (below != 2 || d->removed)
			return R_NXDOMAIN;
		if (label_is(top, "rp")) {
			if (is_txt || qt == WIRE_T_MX)
				*rs = db_view_policy(v, d, is_txt ? DB_POL_SPF : DB_POL_MX);
			if (!*rs && qt == WIRE_T_ANY)
				*rs = db_view_policy(v, d, DB_POL_MX);
		} else {
			*rs = is_txt ? db_view_policy(v, d, DB_POL_DMARC) : NULL;
		}
		return *rs ? R_DATA : R_NODATA;
	}
	if (below >= 2 && label_is(top, "_dmarc") && label_is(n + q->label_off[below - 2], "_report")) {
		if (below == 2)
			return v->nlive ? R_NODATA : R_NXDOMAIN;
		/* D is the name left of _report: its labels, then the root. */
		uint8_t d[WIRE_MAXNAME];
		size_t dl = q->label_off[below - 2];
		memcpy(d, n, dl);
		d[dl++] = 0;
		if (!db_view_by_name(v, d, dl))
			return db_view_is_ent(v, d, dl) ? R_NODATA : R_NXDOMAIN;
		*rs = is_txt ? v->report_txt : NULL;
		return *rs ? R_DATA : R_NODATA;
	}
	return -1;
}

static size_t finish(struct resp *r, const struct wire_query *q, int rcode, int aa, int tc,
		     size_t qend, const struct answer_cfg *cfg)
{
	uint8_t *o = r->out;
	o[2] = (uint8_t)(0x80 | (q->flags1 & 0x79) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0));
	o[3] = (uint8_t)((q->flags2 & 0x10) | (rcode & 0x0F)); /* CD is copied */
	wire_put16(o + 6, r->ancount);
	wire_put16(o + 8, r->nscount);
	wire_put16(o + 10, 0);
	if (tc) {
		/* Truncated: header and question only, the client retries over TCP. */
		r->len = qend;
		wire_put16(o + 6, 0);
		wire_put16(o + 8, 0);
	}
	if (q->edns) {
		/* The OPT record: room for it (and the NSID) was reserved below the limit. */
		uint8_t *p = o + r->len;
		p[0] = 0;
		wire_put16(p + 1, WIRE_T_OPT);
		wire_put16(p + 3, cfg->max_udp);
		p[5] = (uint8_t)(rcode >> 4);
		p[6] = 0;
		p[7] = q->edns_do ? 0x80 : 0;
		p[8] = 0;
		uint16_t rdlen = 0;
		if (q->edns_nsid && cfg->nsid_len && rcode != WIRE_RC_FORMERR) {
			wire_put16(p + 11, WIRE_OPT_NSID);
			wire_put16(p + 13, cfg->nsid_len);
			memcpy(p + 15, cfg->nsid, cfg->nsid_len);
			rdlen = (uint16_t)(4 + cfg->nsid_len);
		}
		wire_put16(p + 9, rdlen);
		r->len += 11u + rdlen;
		wire_put16(o + 10, 1);
	}
	return r->len;
}

/* CHAOS TXT: version.bind and version.server, id.server and hostname.bind, when
 * configured; everything else in class CH is refused. */
static size_t answer_chaos(struct resp *r, const struct wire_query *q, size_t qend,
			   const struct answer_cfg *cfg)
{
	static const struct {
		const char *wire;
		int id;
	} names[] = {
		{ "\007version\004bind", 0 }, { "\007version\006server", 0 },
		{ "\002id\006server", 1 },    { "\010hostname\004bind", 1 },
	};
	const char *text = NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (q->qname_len == strlen(names[i].wire) + 1 &&
		    !memcmp(q->qname, names[i].wire, q->qname_len))
			text = names[i].id ? cfg->identity : cfg->version;
	if (!text)
		return finish(r, q, WIRE_RC_REFUSED, 0, 0, qend, cfg);
	if (q->qtype == WIRE_T_TXT || q->qtype == WIRE_T_ANY) {
		uint8_t rd[512];
		int n = wire_txt_rdata(text, strlen(text), rd, sizeof(rd));
		if (n > 0 && r->len + 12u + (size_t)n <= r->limit) {
			uint8_t *p = r->out + r->len;
			wire_put16(p, 0xC000 | WIRE_HDR);
			wire_put16(p + 2, WIRE_T_TXT);
			wire_put16(p + 4, WIRE_C_CH);
			wire_put32(p + 6, 0);
			wire_put16(p + 10, (uint16_t)n);
			memcpy(p + 12, rd, (size_t)n);
			r->len += 12u + (size_t)n;
			r->ancount = 1;
		}
	}
	return finish(r, q, WIRE_RC_NOERROR, 1, 0, qend, cfg);
}

size_t answer_query(const struct db_view *v, const struct answer_cfg *cfg, const uint8_t *pkt,
		    size_t len, uint8_t *out, size_t outcap, int tcp)
{
	int signed_q;
	return answer_query_tsig(v, cfg, pkt, len, out, outcap, tcp, &signed_q);
}

size_t answer_query_tsig(const struct db_view *v, const struct answer_cfg *cfg, const uint8_t *pkt,
			 size_t len, uint8_t *out, size_t outcap, int tcp, int *signed_q)
{
	struct wire_query q;
	struct resp r = { out, WIRE_HDR, 0, 0, 0, 0 };

	*signed_q = 0;
	if (len < WIRE_HDR || (pkt[2] & 0x80))
		return 0; /* too short to answer, or a response: always silence */
	int pr = wire_parse_query(pkt, len, &q);
	*signed_q = q.tsig;
	memcpy(out, pkt, 2);
	memset(out + 4, 0, 8);
	if (pr) {
		/* FORMERR carries no question: what we could not parse we do not echo.
		 * An opcode we do not implement gets NOTIMP however its message is laid
		 * out (RFC 8906 §3.1.4: a DSO message, say, has no question). */
		int op = (pkt[2] >> 3) & 0x0F;
		q.edns = 0;
		wire_put16(out + 4, 0);
		return finish(&r, &q, op != WIRE_OP_QUERY && op != WIRE_OP_NOTIFY ? WIRE_RC_NOTIMP : WIRE_RC_FORMERR,
			      0, 0, WIRE_HDR, cfg);
	}

	/* The size the answer may take: RFC 6891 §6.2.5, never below 512. */
	size_t limit = 512;
	if (tcp)
		limit = 65535;
	else if (q.edns)
		limit = q.edns_size < 512 ? 512 : q.edns_size > cfg->max_udp ? cfg->max_udp : q.edns_size;
	if (limit > outcap)
		limit = outcap;
	/* Keep room for the OPT record (and the NSID, when asked). */
	r.limit = limit - (q.edns ? 11u + (q.edns_nsid && cfg->nsid_len ? 4u + cfg->nsid_len : 0u) : 0u);

	size_t qend = WIRE_HDR + q.qname_len + 4u;
	wire_put16(out + 4, 1);
	memcpy(out + WIRE_HDR, q.qname_orig, q.qname_len);
	wire_put16(out + WIRE_HDR + q.qname_len, q.qtype);
	wire_put16(out + WIRE_HDR + q.qname_len + 2, q.qclass);
	r.len = qend;

	int opcode = (q.flags1 >> 3) & 0x0F;
	if (q.edns > 1 || q.edns_badopt)
		return finish(&r, &q, WIRE_RC_FORMERR, 0, 0, qend, cfg);
	if (q.edns && q.edns_version > 0)
		return finish(&r, &q, WIRE_RC_BADVERS, 0, 0, qend, cfg);
	/* NOTIFY is a primary's business to send, not take (until transfers come). */
	if (opcode == WIRE_OP_NOTIFY)
		return finish(&r, &q, WIRE_RC_REFUSED, 0, 0, qend, cfg);
	if (opcode != WIRE_OP_QUERY)
		return finish(&r, &q, WIRE_RC_NOTIMP, 0, 0, qend, cfg);
	if (q.qclass == WIRE_C_CH)
		return answer_chaos(&r, &q, qend, cfg);
	if (q.qclass != WIRE_C_IN && q.qclass != WIRE_C_ANY)
		return finish(&r, &q, WIRE_RC_REFUSED, 0, 0, qend, cfg);

	/* The closest enclosing zone. */
	const struct db_zone *z = NULL;
	for (size_t i = 0; v && i < v->nzones; i++) {
		const struct db_zone *c = v->zones[i];
		if (c->apex_len <= q.qname_len && (!z || c->apex_len > z->apex_len) &&
		    (c->apex_labels == 0 ||
		     (c->apex_labels <= q.nlabels &&
		      q.label_off[q.nlabels - c->apex_labels] == q.qname_len - c->apex_len)) &&
		    memcmp(q.qname + q.qname_len - c->apex_len, c->apex, c->apex_len) == 0)
			z = c;
	}
	if (!z)
		return finish(&r, &q, WIRE_RC_REFUSED, 0, 0, qend, cfg);
	/* Transfers are the network layer's (xfr.c), for the addresses allowed;
	 * what reaches here is not allowed. */
	if (q.qtype == WIRE_T_AXFR || q.qtype == WIRE_T_IXFR)
		return finish(&r, &q, WIRE_RC_REFUSED, 0, 0, qend, cfg);

	uint16_t apex_off = (uint16_t)(qend - 4 - z->apex_len);
	const struct db_rrset *soa = (z == v->dyn && v->dyn_soa) ? v->dyn_soa : z->soa;
	int below = q.nlabels - z->apex_labels;
	const struct db_rrset *rs = NULL;
	int res = -1;

	if (z == v->dyn && below > 0)
		res = lookup_dynamic(v, &q, below, &rs);
	if (res < 0) {
		const struct db_node *node = db_zone_find(z, q.qname, q.qname_len);
		if (!node) {
			res = R_NXDOMAIN;
		} else if (q.qtype == WIRE_T_SOA && below == 0) {
			rs = soa;
			res = R_DATA;
		} else if ((rs = db_node_rrset(node, q.qtype)) != NULL) {
			res = R_DATA;
		} else if ((rs = db_node_rrset(node, WIRE_T_CNAME)) != NULL) {
			res = R_DATA;
		} else if (q.qtype == WIRE_T_ANY && node->nrrsets) {
			/* RFC 8482: one RRset is enough. */
			rs = below == 0 ? soa : node->rrsets[0];
			res = R_DATA;
		} else {
			res = R_NODATA;
		}
	}
	if (res == R_DATA) {
		put_rrset(&r, rs, WIRE_HDR, -1, &r.ancount);
	} else if (soa) {
		put_rrset(&r, soa, apex_off, z->neg_ttl, &r.nscount);
	}
	if (r.overflow)
		return finish(&r, &q, WIRE_RC_NOERROR, 1, 1, qend, cfg);
	return finish(&r, &q, res == R_NXDOMAIN ? WIRE_RC_NXDOMAIN : WIRE_RC_NOERROR, 1, 0, qend, cfg);
}

int answer_token_hint(const uint8_t *msg, size_t len, uint8_t token[16])
{
	size_t off = 12;
	const uint8_t *prev = NULL;
	while (off < len && msg[off] && msg[off] < 64) {
		const uint8_t *l = msg + off;
		if (off + 1 + l[0] > len)
			return 0;
		if (prev && prev[0] == 16 &&
		    ((l[0] == 4 && !strncasecmp((const char *)l + 1, "dkim", 4)) ||
		     (l[0] == 2 && !strncasecmp((const char *)l + 1, "rp", 2)) ||
		     (l[0] == 5 && !strncasecmp((const char *)l + 1, "dmarc", 5)))) {
			for (int i = 0; i < 16; i++)
				token[i] = (uint8_t)(prev[1 + i] >= 'A' && prev[1 + i] <= 'Z' ? prev[1 + i] + 32 : prev[1 + i]);
			return 1;
		}
		prev = l;
		off += 1u + l[0];
	}
	return 0;
}

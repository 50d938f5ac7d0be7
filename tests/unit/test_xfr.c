/* test_xfr: zone transfers out of views. Every message is read back with ldns;
 * an AXFR holds the records the answers serve; the IXFR from any serial in the
 * history, applied to that serial's AXFR, gives the newest AXFR; the history is
 * bounded by size and age and starts over when the serial goes back; and the
 * transfer ACL matches prefixes and keys. */
#include "config.h"
#include "db.h"
#include "err.h"
#include "net.h"
#include "t.h"
#include "xfr.h"
#include "zone.h"
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>

#define APEX "auth.esp.example."
#define TOK1 "aaaaaaaaaaaaaaaa"
#define TOK2 "bbbbbbbbbbbbbbbb"
#define TOK3 "cccccccccccccccc"

static struct db_zone *dyn;

/* A set of records as text, one line each, sorted, for comparing transfers. */
struct rrs {
	char **s;
	size_t n, cap;
};

static void rrs_add(struct rrs *r, const char *line)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->s = realloc(r->s, r->cap * sizeof(*r->s));
	}
	r->s[r->n++] = strdup(line);
}

static int rrs_find(const struct rrs *r, const char *line)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->s[i] && !strcmp(r->s[i], line))
			return (int)i;
	return -1;
}

static void rrs_del(struct rrs *r, const char *line)
{
	int i = rrs_find(r, line);
	if (i >= 0) {
		free(r->s[i]);
		r->s[i] = NULL;
	}
}

static int cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	return strcmp(x ? x : "", y ? y : "");
}

/* Equal as sets (NULL holes ignored). */
static int rrs_same(struct rrs *a, struct rrs *b)
{
	qsort(a->s, a->n, sizeof(char *), cmp);
	qsort(b->s, b->n, sizeof(char *), cmp);
	size_t i = 0, k = 0;
	while (i < a->n && !a->s[i])
		i++;
	while (k < b->n && !b->s[k])
		k++;
	for (; i < a->n && k < b->n; i++, k++)
		if (strcmp(a->s[i], b->s[k])) {
			fprintf(stderr, "    differ: %s / %s\n", a->s[i], b->s[k]);
			return 0;
		}
	return i == a->n && k == b->n;
}

static void rrs_free(struct rrs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->s[i]);
	free(r->s);
	memset(r, 0, sizeof(*r));
}

static char *rr_text(const ldns_rr *rr)
{
	char *s = ldns_rr2str(rr);
	size_t l = s ? strlen(s) : 0;
	if (l && s[l - 1] == '\n')
		s[l - 1] = 0;
	return s;
}

/* The request: AXFR, or IXFR with the client's serial. */
static size_t request(uint8_t *out, const char *zone, ldns_rr_type type, uint32_t serial)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(zone), type, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, 4242);
	if (type == LDNS_RR_TYPE_IXFR) {
		char text[256];
		ldns_rr *soa = NULL;
		snprintf(text, sizeof(text), "%s 0 IN SOA a. b. %u 1 1 1 1", zone, serial);
		ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
	}
	uint8_t *w = NULL;
	size_t n = 0;
	ldns_pkt2wire(&w, p, &n);
	memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

/* Runs a transfer from view v and history h, messages of at most cap octets, and
 * returns the records in order (as text); *msgs gets how many messages. */
static struct rrs transfer(const struct db_view *v, struct xfr_hist *h, ldns_rr_type type,
			   uint32_t serial, size_t cap, int *msgs)
{
	struct rrs out = {0};
	uint8_t q[512], m[65535];
	size_t ql = request(q, APEX, type, serial);
	struct xfr_req r;
	int k = xfr_parse(v, q, ql, &r);
	T_EQ_INT(k, type == LDNS_RR_TYPE_AXFR ? XFR_AXFR : XFR_IXFR);
	struct xfr_stream *s = xfr_begin(v, h, &r, q, ql);
	size_t len;
	*msgs = 0;
	while (s && ((len = xfr_next(s, m, cap, 100)) > 0 || xfr_blocked(s))) {
		if (!len)
			continue; /* a slice of ordering: call again */
		T_CHECK(len <= cap - 100);
		ldns_pkt *p = NULL;
		T_EQ_INT(ldns_wire2pkt(&p, m, len), LDNS_STATUS_OK);
		if (!p)
			break;
		T_EQ_INT(ldns_pkt_id(p), 4242);
		T_CHECK(ldns_pkt_qr(p) && ldns_pkt_aa(p));
		T_EQ_INT(ldns_pkt_get_rcode(p), 0);
		ldns_rr_list *an = ldns_pkt_answer(p);
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			char *t = rr_text(ldns_rr_list_rr(an, i));
			rrs_add(&out, t);
			free(t);
		}
		ldns_pkt_free(p);
		(*msgs)++;
	}
	xfr_end(s);
	return out;
}

static uint32_t soa_serial(const char *line)
{
	const char *p = strstr(line, "\tSOA\t");
	unsigned long s = 0;
	if (p && sscanf(p, "\tSOA\t%*s %*s %lu", &s) == 1)
		return (uint32_t)s;
	return 0;
}

static int is_soa(const char *line)
{
	return strstr(line, "\tSOA\t") != NULL;
}

static void put_domain(struct db_edit *e, int64_t id, const char *name, const char *tok,
		       const char *key, int removed)
{
	struct db_domain_spec d = {0};
	d.id = id;
	d.tenant_id = 1;
	d.name = name;
	d.token = tok;
	d.removed = removed;
	d.nslots = 2;
	d.slots[0].selector = "esp1";
	d.slots[0].txt = key;
	d.slots[1].selector = "esp2";
	T_EQ_INT(db_edit_put_domain(e, &d), 0);
}

/* An edit of base whose view will have serial (settings come first, as the store
 * reads them: the records are built with their TTLs). */
static struct db_edit *edit(const struct db_view *base, uint32_t serial)
{
	struct db_edit *e = db_edit_begin(base, &dyn, 1, dyn);
	struct db_settings set = {serial, 600, 900};
	db_edit_settings(e, &set, serial);
	return e;
}

static struct db_view *v1, *v2, *v3, *v4; /* v4: v3 and 30,000 more domains */
static struct db_garbage g;

static void build(void)
{
	const char *text = "$ORIGIN " APEX "\n$TTL 300\n"
			   "@ IN SOA ns1 hostmaster 7 3600 600 86400 300\n"
			   "@ IN NS ns1\n@ IN NS ns2\nns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n"
			   "_spf IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\nbounce IN A 192.0.2.25\n";
	char err[256];
	T_EQ_INT(zone_parse(text, strlen(text), "mem.zone", APEX, APEX, &dyn, err, sizeof(err)), 0);
	struct db_edit *e = edit(NULL, 100);
	put_domain(e, 1, "example.com", TOK1, "v=DKIM1; k=ed25519; p=one", 0);
	put_domain(e, 2, "gone.example", TOK2, "v=DKIM1; k=ed25519; p=two", 1);
	T_EQ_INT(db_edit_put_policy(e, 0, "v=spf1 include:_spf." APEX " -all",
				    "10 bounce." APEX ", 20 bounce2." APEX, "v=DMARC1; p=none"),
		 0);
	v1 = db_edit_commit(e, NULL, &g);
	T_CHECK(v1 != NULL);
	/* v2: a key rotated, a domain added */
	e = edit(v1, 101);
	put_domain(e, 1, "example.com", TOK1, "v=DKIM1; k=ed25519; p=ONE", 0);
	put_domain(e, 3, "example.org", TOK3, "v=DKIM1; k=ed25519; p=three", 0);
	v2 = db_edit_commit(e, v1, &g);
	/* v3: the global DMARC policy, which both live domains inherit */
	e = edit(v2, 102);
	T_EQ_INT(db_edit_put_policy(e, 0, "v=spf1 include:_spf." APEX " -all",
				    "10 bounce." APEX ", 20 bounce2." APEX, "v=DMARC1; p=reject"),
		 0);
	v3 = db_edit_commit(e, v2, &g);
	T_CHECK(v2 && v3);
}

static void test_axfr(void)
{
	int msgs;
	struct rrs a = transfer(v1, NULL, LDNS_RR_TYPE_AXFR, 0, 65535, &msgs);
	T_EQ_INT(msgs, 1);
	/* SOA, NS x2, A x3, TXT; live domain: 2 DKIM, SPF, 2 MX, DMARC, report;
	 * removed domain: 2 DKIM p=; SOA */
	T_EQ_INT(a.n, 1 + 6 + 7 + 2 + 1);
	if (a.n != 17)
		for (size_t i = 0; i < a.n; i++)
			fprintf(stderr, "    %s\n", a.s[i]);
	T_CHECK(a.n > 2 && is_soa(a.s[0]) && is_soa(a.s[a.n - 1]));
	T_EQ_INT(soa_serial(a.s[0]), 100);
	T_EQ_INT(soa_serial(a.s[a.n - 1]), 100);
	T_CHECK(rrs_find(&a, "esp1." TOK1 ".dkim." APEX
			     "\t600\tIN\tTXT\t\"v=DKIM1; k=ed25519; p=one\"") >= 0);
	T_CHECK(rrs_find(&a, "esp2." TOK1 ".dkim." APEX "\t600\tIN\tTXT\t\"v=DKIM1; p=\"") >= 0);
	T_CHECK(rrs_find(&a, "esp1." TOK2 ".dkim." APEX "\t600\tIN\tTXT\t\"v=DKIM1; p=\"") >= 0);
	T_CHECK(rrs_find(&a, TOK1 ".rp." APEX "\t900\tIN\tMX\t20 bounce2." APEX) >= 0);
	T_CHECK(rrs_find(&a, TOK1 ".dmarc." APEX "\t900\tIN\tTXT\t\"v=DMARC1; p=none\"") >= 0);
	T_CHECK(rrs_find(&a, "example.com._report._dmarc." APEX "\t900\tIN\tTXT\t\"v=DMARC1\"") >=
		0);
	T_CHECK(rrs_find(&a, TOK2 ".rp." APEX "\t900\tIN\tMX\t20 bounce2." APEX) < 0);
	T_CHECK(rrs_find(&a, "gone.example._report._dmarc." APEX "\t900\tIN\tTXT\t\"v=DMARC1\"") <
		0);
	/* The same in small messages: every record once, SOA first and last only. */
	struct rrs b = transfer(v1, NULL, LDNS_RR_TYPE_AXFR, 0, 300, &msgs);
	T_CHECK(msgs >= 6);
	T_CHECK(rrs_same(&a, &b));
	size_t soas = 0;
	for (size_t i = 0; i < b.n; i++)
		soas += b.s[i] && is_soa(b.s[i]);
	T_EQ_INT(soas, 2);
	rrs_free(&a);
	rrs_free(&b);
}

/* Applies an IXFR answer (RFC 1995 §4) to the records of its first serial. */
static void apply_ixfr(struct rrs *zone, const struct rrs *ix)
{
	int adding = 1; /* each step: SOA (old), deletions, SOA (new), additions */
	for (size_t i = 1; i + 1 < ix->n; i++) {
		if (is_soa(ix->s[i])) {
			adding = !adding;
			if (adding) {
				/* SOA of the step's new serial: replaces the old one. */
				for (size_t k = 0; k < zone->n; k++)
					if (zone->s[k] && is_soa(zone->s[k]))
						rrs_del(zone, zone->s[k]);
				rrs_add(zone, ix->s[i]);
			}
			continue;
		}
		if (adding)
			rrs_add(zone, ix->s[i]);
		else
			rrs_del(zone, ix->s[i]);
	}
}

/* The AXFR of v as a set with one SOA. */
static struct rrs zone_set(const struct db_view *v)
{
	int msgs;
	struct rrs a = transfer(v, NULL, LDNS_RR_TYPE_AXFR, 0, 65535, &msgs);
	if (a.n) {
		free(a.s[a.n - 1]);
		a.n--;
	}
	return a;
}

static void test_ixfr(void)
{
	struct xfr_hist *h = xfr_hist_new(1 << 20, 3600);
	T_EQ_INT(xfr_hist_note(h, NULL, v1, 0), 0);
	T_EQ_INT(xfr_hist_note(h, v1, v2, 1), 0);
	T_EQ_INT(xfr_hist_note(h, v2, v3, 2), 0);
	struct xfr_hist_stats st;
	xfr_hist_stats(h, &st);
	T_EQ_INT(st.steps, 2);
	T_EQ_INT(st.oldest, 100);
	T_EQ_INT(st.newest, 102);
	int msgs;
	for (uint32_t from = 100; from <= 101; from++) {
		struct rrs ix = transfer(v3, h, LDNS_RR_TYPE_IXFR, from, 700, &msgs);
		T_CHECK(ix.n > 4 && soa_serial(ix.s[0]) == 102 && soa_serial(ix.s[1]) == from &&
			soa_serial(ix.s[ix.n - 1]) == 102);
		struct rrs z = zone_set(from == 100 ? v1 : v2), want = zone_set(v3);
		apply_ixfr(&z, &ix);
		T_CHECK(rrs_same(&z, &want));
		rrs_free(&z);
		rrs_free(&want);
		rrs_free(&ix);
	}
	/* v2 -> v3 changed the two live domains' DMARC and nothing else. */
	struct rrs ix = transfer(v3, h, LDNS_RR_TYPE_IXFR, 101, 65535, &msgs);
	T_EQ_INT(ix.n, 1 + 1 + 2 + 1 + 2 + 1);
	rrs_free(&ix);
	/* Current: the SOA alone. Unknown (too old): the whole zone. */
	ix = transfer(v3, h, LDNS_RR_TYPE_IXFR, 102, 65535, &msgs);
	T_EQ_INT(ix.n, 1);
	rrs_free(&ix);
	ix = transfer(v3, h, LDNS_RR_TYPE_IXFR, 99, 65535, &msgs);
	struct rrs full = transfer(v3, NULL, LDNS_RR_TYPE_AXFR, 0, 65535, &msgs);
	T_CHECK(rrs_same(&ix, &full));
	rrs_free(&ix);
	rrs_free(&full);
	/* Age: the first step is an hour and more old at 3602 s. */
	T_EQ_INT(xfr_hist_note(h, v3, v3, 3602), 0);
	xfr_hist_stats(h, &st);
	T_EQ_INT(st.steps, 2); /* nothing happened: nothing trimmed, nothing added */
	xfr_hist_free(h);

	h = xfr_hist_new(1 << 20, 10);
	xfr_hist_note(h, v1, v2, 0);
	xfr_hist_note(h, v2, v3, 100);
	xfr_hist_stats(h, &st);
	T_EQ_INT(st.steps, 1);
	T_EQ_INT(st.oldest, 101);
	ix = transfer(v3, h, LDNS_RR_TYPE_IXFR, 100, 65535, &msgs);
	T_CHECK(ix.n > 10); /* the whole zone */
	rrs_free(&ix);
	/* Back in time (a store put back): the history starts over. */
	xfr_hist_note(h, v3, v1, 101);
	xfr_hist_stats(h, &st);
	T_EQ_INT(st.steps, 0);
	xfr_hist_free(h);

	/* Size: a history of a few hundred octets keeps nothing. */
	h = xfr_hist_new(300, 3600);
	xfr_hist_note(h, v1, v2, 0);
	xfr_hist_stats(h, &st);
	T_EQ_INT(st.steps, 0);
	xfr_hist_free(h);
}

/* A zone of 30,000 domains: the AXFR orders them a slice at a time (xfr_next
 * blocks at least once), and sends each part in the order the names sort: every
 * DKIM record by token, then every DMARC record, then every Return-Path one. */
static void test_order(void)
{
	enum { N = 30000 };
	struct db_edit *e = edit(v3, 103);
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t x = 88172645463325252ull;
	int bad = 0;
	for (int i = 0; i < N; i++) {
		char tok[17], name[32];
		for (int k = 0; k < 16; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: random tokens */
			tok[k] = b32[x % 32];
		}
		tok[16] = 0;
		snprintf(name, sizeof(name), "o%d.example", i);
		struct db_domain_spec d = {
			.id = 100 + i, .tenant_id = 1, .name = name, .token = tok, .nslots = 2};
		d.slots[0].selector = "esp1";
		d.slots[0].txt = "v=DKIM1; k=ed25519; p=x";
		d.slots[1].selector = "esp2";
		bad += db_edit_put_domain(e, &d) != 0;
	}
	T_EQ_INT(bad, 0);
	struct db_view *v = v4 = db_edit_commit(e, v3, &g);
	T_CHECK(v != NULL);
	if (!v)
		return;
	uint8_t q[512];
	static uint8_t m[65535];
	size_t ql = request(q, APEX, LDNS_RR_TYPE_AXFR, 0), len;
	struct xfr_req r;
	T_EQ_INT(xfr_parse(v, q, ql, &r), XFR_AXFR);
	struct xfr_stream *s = xfr_begin(v, NULL, &r, q, ql);
	int blocked = 0, sorted = 1, parts = 0;
	size_t rrs = 0;
	char prev[256] = "", part[16] = "";
	while (s && ((len = xfr_next(s, m, sizeof(m), 0)) > 0 || xfr_blocked(s))) {
		if (!len) {
			blocked++;
			continue;
		}
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, m, len) != LDNS_STATUS_OK)
			break;
		for (size_t i = 0; i < ldns_pkt_ancount(p); i++) {
			char *o =
				ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), i)));
			rrs++;
			/* SEL.TOKEN.dkim.Z, TOKEN.dmarc.Z, TOKEN.rp.Z: token and part */
			const char *t = strchr(o, '.'), *kind = NULL;
			char key[256];
			if (strstr(o, ".dkim." APEX) && t)
				kind = "dkim", snprintf(key, sizeof(key), "%.16s %s", t + 1, o);
			else if (strstr(o, ".dmarc." APEX) && !strstr(o, "_report"))
				kind = "dmarc", snprintf(key, sizeof(key), "%s", o);
			else if (strstr(o, ".rp." APEX))
				kind = "rp", snprintf(key, sizeof(key), "%s", o);
			if (kind) {
				if (strcmp(kind, part)) {
					snprintf(part, sizeof(part), "%s", kind);
					prev[0] = 0;
					parts++;
				}
				if (strcmp(prev, key) > 0)
					sorted = 0;
				snprintf(prev, sizeof(prev), "%s", key);
			}
			free(o);
		}
		ldns_pkt_free(p);
	}
	xfr_end(s);
	T_CHECK(blocked >= 1);
	T_EQ_INT(parts, 3); /* each part in one run: dkim, dmarc, rp */
	T_CHECK(sorted);
	/* The SOA twice, the zone file's 6 others, the removed domain's 2 DKIM
	 * records, 7 for each live one: 2 DKIM, SPF, 2 MX, DMARC, report. */
	T_EQ_INT(rrs, 2 + 6 + (N + 2) * 7 + 2);
}

static void test_parse(void)
{
	uint8_t q[512];
	struct xfr_req r;
	size_t ql = request(q, "ns1." APEX, LDNS_RR_TYPE_AXFR, 0);
	T_EQ_INT(xfr_parse(v1, q, ql, &r), DNSD_ENOENT); /* not an apex */
	ql = request(q, "other.example.", LDNS_RR_TYPE_AXFR, 0);
	T_EQ_INT(xfr_parse(v1, q, ql, &r), DNSD_ENOENT);
	ql = request(q, APEX, LDNS_RR_TYPE_SOA, 0);
	T_EQ_INT(xfr_parse(v1, q, ql, &r), XFR_NONE);
	ql = request(q, APEX, LDNS_RR_TYPE_IXFR, 5);
	T_EQ_INT(xfr_parse(v1, q, ql, &r), XFR_IXFR);
	T_EQ_INT(r.client_serial, 5);
	/* IXFR without its SOA */
	ql = request(q, APEX, LDNS_RR_TYPE_AXFR, 0);
	q[ql - 3] = 251; /* qtype IXFR: the last four octets are type and class */
	T_EQ_INT(xfr_parse(v1, q, ql, &r), DNSD_EFORMAT);
	/* Every truncation of an IXFR request is refused or malformed, never read past. */
	size_t full = request(q, APEX, LDNS_RR_TYPE_IXFR, 5);
	for (size_t n = 0; n < full; n++) {
		uint8_t *c = malloc(n ? n : 1);
		memcpy(c, q, n);
		int k = xfr_parse(v1, c, n, &r);
		T_CHECK(k == XFR_NONE || k == DNSD_EFORMAT);
		free(c);
	}
	/* UDP: the SOA alone. */
	uint8_t out[512];
	ql = request(q, APEX, LDNS_RR_TYPE_IXFR, 5);
	xfr_parse(v1, q, ql, &r);
	size_t n = xfr_udp_answer(v1, &r, q, out, sizeof(out));
	ldns_pkt *p = NULL;
	T_EQ_INT(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
	T_CHECK(p && ldns_pkt_ancount(p) == 1 &&
		ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)) == LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);
	n = xfr_error_answer(q, r.question_end, 5, out, sizeof(out));
	T_EQ_INT(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
	T_CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED && ldns_pkt_qdcount(p) == 1);
	ldns_pkt_free(p);
}

static void test_acl(void)
{
	struct config c;
	char err[256];
	config_init(&c);
	T_EQ_INT(config_option(&c, "allow-transfer", "192.0.2.0/24", 0, err, sizeof(err)), 0);
	T_EQ_INT(config_option(&c, "allow-transfer", "2001:db8::1 key xfr.", 0, err, sizeof(err)),
		 0);
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET, "192.0.2.77", &a4.sin_addr);
	T_CHECK(net_acl_allows(c.allow_xfr, c.nallow_xfr, (struct sockaddr *)&a4, NULL));
	inet_pton(AF_INET, "192.0.3.77", &a4.sin_addr);
	T_CHECK(!net_acl_allows(c.allow_xfr, c.nallow_xfr, (struct sockaddr *)&a4, NULL));
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &a6.sin6_addr);
	T_CHECK(net_acl_allows(c.allow_xfr, c.nallow_xfr, (struct sockaddr *)&a6, NULL));
	inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
	T_CHECK(!net_acl_allows(c.allow_xfr, c.nallow_xfr, (struct sockaddr *)&a6, NULL));
	T_CHECK(!net_acl_allows(c.allow_xfr, c.nallow_xfr, (struct sockaddr *)&a6, "other."));
	T_CHECK(net_acl_allows(c.allow_xfr, c.nallow_xfr, (struct sockaddr *)&a6, "XFR"));
	T_CHECK(!net_acl_allows(c.allow_xfr, 0, (struct sockaddr *)&a4, NULL));
	config_free(&c);
}

int main(void)
{
	T_RUN(build);
	if (!v3)
		return t_done();
	T_RUN(test_axfr);
	T_RUN(test_ixfr);
	T_RUN(test_order);
	T_RUN(test_parse);
	T_RUN(test_acl);
	db_view_free_all(v4 ? v4 : v3);
	db_garbage_free(&g);
	db_zone_free(dyn);
	return t_done();
}

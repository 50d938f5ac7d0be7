/* test_answer: the query layer in-process: hand-made queries against a view of a zone
 * file and a few customer domains; every response is parsed back with ldns. */
#include "answer.h"
#include "db.h"
#include "err.h"
#include "t_store.h"
#include "wire.h"
#include "zone.h"

#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <ldns/ldns.h>

#define TOK	     "abcdefghijklmnop"
#define GONE	     "qrstuvwxyz234567"
#define STORE_SERIAL 2024010200u

static struct db_zone *zones[2];
static struct db_view *view;
static struct answer_cfg cfg = { .max_udp = 1232 };
static char key_short[300], key_4096[800], key_huge[2100];

/* ---- building queries ---- */

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct msg *m, uint8_t v)
{
	m->b[m->n++] = v;
}

static void put16(struct msg *m, uint16_t v)
{
	wire_put16(m->b + m->n, v);
	m->n += 2;
}

static void put32(struct msg *m, uint32_t v)
{
	wire_put32(m->b + m->n, v);
	m->n += 4;
}

/* A name as wire labels, keeping the text's case. */
static void putname(struct msg *m, const char *text)
{
	const char *p = text;
	while (*p && strcmp(p, ".") != 0) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		put8(m, (uint8_t)l);
		memcpy(m->b + m->n, p, l);
		m->n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	put8(m, 0);
}

static void putopt(struct msg *m, uint16_t size, uint8_t version, int dob)
{
	put8(m, 0);
	put16(m, WIRE_T_OPT);
	put16(m, size);
	put32(m, (uint32_t)version << 16 | (dob ? 0x8000u : 0));
	put16(m, 0);
}

/* A query: edns < 0 means no OPT, else the OPT's UDP size. */
static void mkq(struct msg *m, uint16_t id, uint8_t flags1, const char *name, uint16_t type,
		uint16_t class, int edns)
{
	m->n = 0;
	put16(m, id);
	put8(m, flags1);
	put8(m, 0);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, edns >= 0 ? 1 : 0);
	putname(m, name);
	put16(m, type);
	put16(m, class);
	if (edns >= 0)
		putopt(m, (uint16_t)edns, 0, 0);
}

/* ---- asking ---- */

#define CANARY 256
static uint8_t out[65536 + CANARY];
static size_t outlen;
static ldns_pkt *resp;
static int unparsable, overruns;

/* Answers m into out (capacity cap) and parses the response into resp. */
static size_t ask_cap(const struct msg *m, int tcp, size_t cap)
{
	ldns_pkt_free(resp);
	resp = NULL;
	memset(out, 0xA5, sizeof(out));
	outlen = answer_query(view, &cfg, m->b, m->n, out, cap, tcp);
	for (size_t i = cap; i < cap + CANARY; i++)
		if (out[i] != 0xA5) {
			overruns++;
			break;
		}
	if (outlen > cap)
		overruns++;
	if (outlen && ldns_wire2pkt(&resp, out, outlen) != LDNS_STATUS_OK) {
		unparsable++;
		resp = NULL;
	}
	return outlen;
}

static size_t ask(const struct msg *m, int tcp)
{
	return ask_cap(m, tcp, 65535);
}

static int rcode(void)
{
	return out[3] & 0x0F;
}

static uint16_t count(int section)
{
	return wire_get16(out + 4 + 2 * section);
}

/* The TXT strings of rr joined. */
static const char *txt_of(const ldns_rr *rr)
{
	static char buf[70000];
	size_t n = 0;
	for (size_t i = 0; rr && i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(f);
		memcpy(buf + n, d + 1, d[0]);
		n += d[0];
	}
	buf[n] = 0;
	return buf;
}

static int owner_is(const ldns_rr *rr, const char *text)
{
	ldns_rdf *want = ldns_dname_new_frm_str(text);
	int same = rr && want && ldns_dname_compare(ldns_rr_owner(rr), want) == 0;
	ldns_rdf_deep_free(want);
	return same;
}

static ldns_rr *an(size_t i)
{
	return resp ? ldns_rr_list_rr(ldns_pkt_answer(resp), i) : NULL;
}

static ldns_rr *ns(size_t i)
{
	return resp ? ldns_rr_list_rr(ldns_pkt_authority(resp), i) : NULL;
}

/* A negative answer: rcode, nothing in the answer section, the zone's SOA in the
 * authority section with the negative TTL. */
static int negative(int rc, const char *apex, uint32_t ttl, uint32_t serial)
{
	ldns_rr *soa = ns(0);
	int ok = resp && rcode() == rc && (out[2] & 0x04) && count(1) == 0 && count(2) == 1 &&
		 soa && ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA && ldns_rr_ttl(soa) == ttl &&
		 owner_is(soa, apex) && ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) == serial;
	if (!ok)
		fprintf(stderr, "  negative answer: rcode %d an %d ns %d soa ttl %u\n", rcode(),
			count(1), count(2), soa ? ldns_rr_ttl(soa) : 0);
	return ok;
}

/* A positive answer of n RRs of type at the question's name, with ttl. */
static int positive(int n, ldns_rr_type type, uint32_t ttl)
{
	int ok = resp && rcode() == 0 && (out[2] & 0x04) && !(out[2] & 0x02) && count(1) == n &&
		 count(2) == 0;
	for (int i = 0; ok && i < n; i++) {
		ldns_rr *rr = an((size_t)i);
		ok = rr && ldns_rr_get_type(rr) == type && ldns_rr_ttl(rr) == ttl &&
		     ldns_dname_compare(
			     ldns_rr_owner(rr),
			     ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(resp), 0))) == 0;
	}
	if (!ok)
		fprintf(stderr, "  positive answer: rcode %d an %d ns %d\n", rcode(), count(1),
			count(2));
	return ok;
}

/* ---- the data ---- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void fill_b64(char *buf, size_t n, uint32_t seed)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = b64[(seed >> 16) & 63];
	}
	buf[n] = 0;
}

static int setup(void)
{
	char path[128], err[256] = "";
	static char txt_short[400], txt_4096[900], txt_huge[2200];

	snprintf(path, sizeof(path), "%s/auth.zone", tmpdir);
	if (write_file(path,
		       "$ORIGIN auth.esp.example.\n$TTL 3600\n"
		       "@ IN SOA ns1 hostmaster.esp.example. ( 2024010101 3600 600 1209600 300 )\n"
		       "@ IN NS ns1\n@ IN NS ns2\n"
		       "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n"
		       "_spf IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
		       "_dmarc IN TXT \"v=DMARC1; p=reject\"\n"
		       "a.b.c IN A 192.0.2.3\n"
		       "www IN CNAME ns1\n"))
		return -1;
	if (zone_load(path, NULL, "auth.esp.example.", &zones[0], err, sizeof(err))) {
		fprintf(stderr, "zone_load: %s\n", err);
		return -1;
	}
	/* a second, static zone whose SOA TTL is below its MINIMUM */
	snprintf(path, sizeof(path), "%s/other.zone", tmpdir);
	if (write_file(path, "$ORIGIN other.example.\n"
			     "@ 120 IN SOA ns1 hostmaster ( 77 3600 600 1209600 86400 )\n"
			     "@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.9\n"))
		return -1;
	if (zone_load(path, NULL, "auth.esp.example.", &zones[1], err, sizeof(err))) {
		fprintf(stderr, "zone_load: %s\n", err);
		return -1;
	}

	struct db_edit *e = db_edit_begin(NULL, zones, 2, zones[0]);
	if (!e)
		return -1;
	struct db_settings set = {STORE_SERIAL, 600, 900};
	db_edit_settings(e, &set, 1);

	fill_b64(key_short, 216, 1);
	fill_b64(key_4096, 736, 2); /* the size of an RSA-4096 SubjectPublicKeyInfo */
	fill_b64(key_huge, 2000, 3);
	snprintf(txt_short, sizeof(txt_short), "v=DKIM1; k=rsa; p=%s", key_short);
	snprintf(txt_4096, sizeof(txt_4096), "v=DKIM1; k=rsa; p=%s", key_4096);
	snprintf(txt_huge, sizeof(txt_huge), "v=DKIM1; k=rsa; p=%s", key_huge);

	struct db_domain_spec d = {0};
	d.id = 1;
	d.tenant_id = 1;
	d.name = "Example.com";
	d.token = TOK;
	d.nslots = 4;
	d.slots[0].selector = "esp1";
	d.slots[0].txt = txt_short;
	d.slots[1].selector = "esp2";
	d.slots[1].txt = txt_4096;
	d.slots[2].selector = "esp3";
	d.slots[2].txt = txt_huge;
	d.slots[3].selector = "esp4";
	int rc = db_edit_put_domain(e, &d);
	d.id = 2;
	d.name = "gone.example";
	d.token = GONE;
	d.removed = 1;
	rc |= db_edit_put_domain(e, &d);
	rc |= db_edit_put_policy(e, 0, "v=spf1 include:_spf.auth.esp.example -all",
				 "10 bounce.auth.esp.example., 20 bounce2.auth.esp.example.",
				 "v=DMARC1; p=none; rua=mailto:dmarc@auth.esp.example");
	struct db_garbage g = {0};
	view = rc ? NULL : db_edit_commit(e, NULL, &g);
	if (rc)
		db_edit_abort(e);
	db_garbage_free(&g);
	return view ? 0 : -1;
}

/* ---- the tests ---- */

static void test_header_and_dkim(void)
{
	struct msg m;
	const char *qn = "Esp1.ABCDEFGHIJKLMNOP.Dkim.Auth.Esp.Example.";
	char want[2200];

	snprintf(want, sizeof(want), "v=DKIM1; k=rsa; p=%s", key_short);
	mkq(&m, 0xBEEF, 0x01, qn, WIRE_T_TXT, WIRE_C_IN, -1);
	T_CHECK(ask(&m, 0) > 0);
	T_EQ_INT(wire_get16(out), 0xBEEF);
	T_CHECK(out[2] & 0x80);		   /* QR */
	T_EQ_INT((out[2] >> 3) & 0x0F, 0); /* opcode */
	T_CHECK(out[2] & 0x04);		   /* AA */
	T_CHECK(!(out[2] & 0x02));	   /* TC */
	T_CHECK(out[2] & 0x01);		   /* RD copied */
	T_CHECK(!(out[3] & 0x80));	   /* no RA */
	T_EQ_INT(rcode(), 0);
	T_EQ_INT(count(0), 1);
	T_EQ_INT(count(1), 1);
	T_EQ_INT(count(2), 0);
	T_EQ_INT(count(3), 0);
	size_t qlen = m.n - 12;
	T_CHECK(memcmp(out + 12, m.b + 12, qlen) == 0); /* the question, in the client's case */
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	T_EQ_STR(txt_of(an(0)), want);
	T_CHECK(resp && ldns_pkt_id(resp) == 0xBEEF && ldns_pkt_aa(resp) && ldns_pkt_qr(resp));
	/* the owner of the answer points at the question: the same case comes back */
	T_EQ_INT(wire_get16(out + 12 + qlen), 0xC00C);

	/* RD clear stays clear; the other header bits of the query do not leak */
	mkq(&m, 0x0001, 0x00, qn, WIRE_T_TXT, WIRE_C_IN, -1);
	m.b[2] |= 0x04 | 0x02; /* AA and TC in a query */
	m.b[3] = 0x80 | 0x0F;  /* RA and an rcode */
	T_CHECK(ask(&m, 0) > 0);
	T_EQ_INT(out[2], 0x80 | 0x04);
	T_EQ_INT(rcode(), 0);
	T_CHECK(!(out[3] & 0x80));
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));

	/* the long keys are split into 255-octet strings that join back */
	mkq(&m, 2, 0, "esp2." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 1);
	snprintf(want, sizeof(want), "v=DKIM1; k=rsa; p=%s", key_4096);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	T_EQ_STR(txt_of(an(0)), want);
	T_CHECK(an(0) && ldns_rr_rd_count(an(0)) == 3);
	/* ANY at a selector: the TXT */
	mkq(&m, 3, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_ANY, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	/* class ANY is answered like IN */
	mkq(&m, 3, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_ANY, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	/* a slot with no key, and a removed domain: p= */
	mkq(&m, 4, 0, "esp4." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	T_EQ_STR(txt_of(an(0)), "v=DKIM1; p=");
	for (int s = 1; s <= 4; s++) {
		char qname[100];
		snprintf(qname, sizeof(qname), "ESP%d." GONE ".dkim.auth.esp.example.", s);
		mkq(&m, 5, 0, qname, WIRE_T_TXT, WIRE_C_IN, -1);
		ask(&m, 0);
		T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
		T_EQ_STR(txt_of(an(0)), "v=DKIM1; p=");
	}
}

static void test_negative(void)
{
	struct msg m;
	const char *Z = "auth.esp.example.";

	/* NXDOMAIN in the zone file's part, with the store's serial and the RFC 2308 TTL */
	mkq(&m, 10, 0, "nothere.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_EQ_INT(rcode(), WIRE_RC_NXDOMAIN);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, Z, 300, STORE_SERIAL));
	T_CHECK(resp && ldns_pkt_get_rcode(resp) == LDNS_RCODE_NXDOMAIN);
	mkq(&m, 10, 0, "deep.er.nothere.AUTH.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, Z, 300, STORE_SERIAL));
	/* NODATA */
	mkq(&m, 11, 0, "_spf.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	mkq(&m, 11, 0, "auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	/* empty non-terminals: NODATA, never NXDOMAIN */
	mkq(&m, 12, 0, "b.c.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	mkq(&m, 12, 0, "C.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	mkq(&m, 12, 0, "x.b.c.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, Z, 300, STORE_SERIAL));
	/* the dynamic subtrees' empty non-terminals */
	static const char *const ents[] = {"dkim.auth.esp.example.", "rp.auth.esp.example.",
					   "dmarc.auth.esp.example.", TOK ".dkim.auth.esp.example.",
					   "_report._dmarc.auth.esp.example."};
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		mkq(&m, 13, 0, ents[i], WIRE_T_TXT, WIRE_C_IN, -1);
		ask(&m, 0);
		T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	}
	/* names that do not exist in the dynamic subtrees */
	static const char *const nx[] = {
		"esp1.aaaaaaaaaaaaaaaa.dkim.auth.esp.example.", /* unknown token */
		"esp1.abcdefghijklmno.dkim.auth.esp.example.",	/* 15 characters */
		"esp9." TOK ".dkim.auth.esp.example.",		/* unknown selector */
		"x.esp1." TOK ".dkim.auth.esp.example.",	/* below a selector */
		"x." TOK ".rp.auth.esp.example.",
		GONE ".rp.auth.esp.example.", /* a removed domain */
		GONE ".dmarc.auth.esp.example.",
		"gone.example._report._dmarc.auth.esp.example.",
		"other.example._report._dmarc.auth.esp.example.",
	};
	for (size_t i = 0; i < sizeof(nx) / sizeof(nx[0]); i++) {
		mkq(&m, 14, 0, nx[i], WIRE_T_TXT, WIRE_C_IN, -1);
		ask(&m, 0);
		if (rcode() != WIRE_RC_NXDOMAIN)
			fprintf(stderr, "  %s: rcode %d\n", nx[i], rcode());
		T_CHECK(negative(WIRE_RC_NXDOMAIN, Z, 300, STORE_SERIAL));
	}
	/* the data a name has, but not of the type asked */
	mkq(&m, 15, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	mkq(&m, 15, 0, TOK ".rp.auth.esp.example.", WIRE_T_AAAA, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	mkq(&m, 15, 0, TOK ".dmarc.auth.esp.example.", WIRE_T_MX, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));
	mkq(&m, 15, 0, "example.com._report._dmarc.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, Z, 300, STORE_SERIAL));

	/* the static zone: its own serial, and min(SOA TTL, MINIMUM) */
	mkq(&m, 16, 0, "nothere.other.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, "other.example.", 120, 77));
	mkq(&m, 16, 0, "ns1.other.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(0, "other.example.", 120, 77));
	/* "dkim" means nothing special outside the dynamic zone */
	mkq(&m, 16, 0, "x." TOK ".dkim.other.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, "other.example.", 120, 77));
}

static void test_positive(void)
{
	struct msg m;

	/* the return-path name: SPF, the bounce MX, and one RRset for ANY */
	mkq(&m, 20, 0, TOK ".RP.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 900));
	T_EQ_STR(txt_of(an(0)), "v=spf1 include:_spf.auth.esp.example -all");
	mkq(&m, 21, 0, TOK ".rp.auth.esp.example.", WIRE_T_MX, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(2, LDNS_RR_TYPE_MX, 900));
	if (an(1)) {
		char *t = ldns_rdf2str(ldns_rr_rdf(an(1), 1));
		T_EQ_STR(t, "bounce2.auth.esp.example.");
		free(t);
	}
	/* The exchanges point into the question for auth.esp.example (RFC 1035
	 * 4.1.4): each MX rdata is the preference, one label and a pointer. The
	 * question: the header, the token, rp, auth.esp.example, type and class. */
	{
		size_t q = 12 + 1 + 16 + 3 + 18 + 4, rr = 2 + 10;
		T_EQ_INT(outlen, q + rr + (2 + 7 + 2) + rr + (2 + 8 + 2));
		T_EQ_INT(out[q + rr + 2 + 7], 0xC0); /* "bounce", then the pointer */
		T_EQ_INT(out[q + rr + 2 + 8], 12 + 1 + 16 + 3);
	}
	mkq(&m, 22, 0, TOK ".rp.auth.esp.example.", WIRE_T_ANY, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 900));
	mkq(&m, 23, 0, TOK ".dmarc.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 900));
	T_EQ_STR(txt_of(an(0)), "v=DMARC1; p=none; rua=mailto:dmarc@auth.esp.example");
	mkq(&m, 24, 0, "EXAMPLE.com._report._dmarc.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 900));
	T_EQ_STR(txt_of(an(0)), "v=DMARC1");

	/* the zone file's data */
	mkq(&m, 25, 0, "Auth.Esp.Example.", WIRE_T_SOA, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_SOA, 3600));
	T_CHECK(an(0) && ldns_rdf2native_int32(ldns_rr_rdf(an(0), 2)) == STORE_SERIAL);
	T_CHECK(an(0) && ldns_rdf2native_int32(ldns_rr_rdf(an(0), 6)) == 300);
	mkq(&m, 26, 0, "auth.esp.example.", WIRE_T_NS, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(2, LDNS_RR_TYPE_NS, 3600));
	mkq(&m, 27, 0, "ns1.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_A, 3600));
	if (an(0)) {
		char *t = ldns_rdf2str(ldns_rr_rdf(an(0), 0));
		T_EQ_STR(t, "192.0.2.1");
		free(t);
	}
	mkq(&m, 28, 0, "_spf.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 3600));
	T_EQ_STR(txt_of(an(0)), "v=spf1 ip4:192.0.2.0/24 -all");
	mkq(&m, 29, 0, "_dmarc.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 3600));
	mkq(&m, 30, 0, "www.auth.esp.example.", WIRE_T_A, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_CNAME, 3600));
	/* ANY at the apex: one RRset (RFC 8482) */
	mkq(&m, 31, 0, "auth.esp.example.", WIRE_T_ANY, WIRE_C_IN, -1);
	ask(&m, 0);
	T_EQ_INT(count(1), 1);
	T_EQ_INT(rcode(), 0);
	mkq(&m, 32, 0, "other.example.", WIRE_T_SOA, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_SOA, 120));
	T_CHECK(an(0) && ldns_rdf2native_int32(ldns_rr_rdf(an(0), 2)) == 77);
}

static void test_refused_notimp(void)
{
	struct msg m;
	static const char *const outside[] = {
		"example.org.", "esp.example.", "xauth.esp.example.", "auth.esp.example.org.", ".",
		"example."};
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		mkq(&m, 40, 0x01, outside[i], WIRE_T_A, WIRE_C_IN, -1);
		T_CHECK(ask(&m, 0) == m.n);
		T_EQ_INT(rcode(), WIRE_RC_REFUSED);
		T_CHECK(!(out[2] & 0x04)); /* not authoritative */
		T_CHECK((out[2] & 0x81) == 0x81);
		T_CHECK(count(0) == 1 && count(1) == 0 && count(2) == 0 && count(3) == 0);
		T_CHECK(memcmp(out + 12, m.b + 12, m.n - 12) == 0);
	}
	/* a class other than IN or ANY */
	mkq(&m, 41, 0, "auth.esp.example.", WIRE_T_SOA, WIRE_C_CH, -1);
	ask(&m, 0);
	T_EQ_INT(rcode(), WIRE_RC_REFUSED);
	/* zone transfers that reach the answer path are not allowed (the network
	 * layer serves the allowed ones): REFUSED, as RFC 5936 asks, not NOTIMP */
	mkq(&m, 42, 0, "auth.esp.example.", WIRE_T_AXFR, WIRE_C_IN, -1);
	ask(&m, 1);
	T_EQ_INT(rcode(), WIRE_RC_REFUSED);
	T_EQ_INT(count(1), 0);
	mkq(&m, 42, 0, "auth.esp.example.", WIRE_T_IXFR, WIRE_C_IN, -1);
	ask(&m, 1);
	T_EQ_INT(rcode(), WIRE_RC_REFUSED);
	/* opcodes other than QUERY: STATUS, NOTIFY (REFUSED: dnsd takes no NOTIFY), UPDATE */
	static const int ops[] = {2, 4, 5, 15};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		mkq(&m, 43, (uint8_t)(ops[i] << 3 | 1), "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN,
		    -1);
		T_CHECK(ask(&m, 0) > 0);
		T_EQ_INT(rcode(), ops[i] == WIRE_OP_NOTIFY ? WIRE_RC_REFUSED : WIRE_RC_NOTIMP);
		T_EQ_INT((out[2] >> 3) & 0x0F, ops[i]);
		T_EQ_INT(wire_get16(out), 43);
		T_EQ_INT(count(1), 0);
		T_CHECK(out[2] & 0x80);
	}
}

/* The OPT record at the end of the response, or NULL. */
static const uint8_t *resp_opt(void)
{
	if (count(3) != 1 || outlen < 12 + 11)
		return NULL;
	const uint8_t *p = out + outlen - 11;
	return p[0] == 0 && wire_get16(p + 1) == WIRE_T_OPT ? p : NULL;
}

static void test_edns(void)
{
	struct msg m;
	const uint8_t *o;

	mkq(&m, 50, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, 4096);
	m.b[m.n - 11 + 7] = 0x80; /* DO */
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	o = resp_opt();
	T_CHECK(o != NULL);
	if (o) {
		T_EQ_INT(wire_get16(o + 3), 1232); /* our size, not the client's */
		T_EQ_INT(o[5], 0);
		T_EQ_INT(o[6], 0);	     /* version 0 */
		T_EQ_INT(o[7] & 0x80, 0x80); /* DO echoed */
		T_EQ_INT(wire_get16(o + 9), 0);
	}
	T_CHECK(resp && ldns_pkt_edns(resp) && ldns_pkt_edns_udp_size(resp) == 1232 &&
		ldns_pkt_edns_do(resp));
	/* without DO */
	mkq(&m, 51, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, 1232);
	ask(&m, 0);
	o = resp_opt();
	T_CHECK(o && !(o[7] & 0x80));
	/* negative answers carry the OPT after the SOA */
	mkq(&m, 52, 0, "nothere.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, 1232);
	ask(&m, 0);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, "auth.esp.example.", 300, STORE_SERIAL));
	T_CHECK(resp_opt() != NULL);
	/* REFUSED too */
	mkq(&m, 53, 0, "example.org.", WIRE_T_TXT, WIRE_C_IN, 1232);
	ask(&m, 0);
	T_EQ_INT(rcode(), WIRE_RC_REFUSED);
	T_CHECK(resp_opt() != NULL);

	/* an unknown EDNS version: BADVERS (16) is 1 in the OPT's extended rcode, 0 in the header
	 */
	mkq(&m, 54, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	wire_put16(m.b + 10, 1);
	putopt(&m, 4096, 1, 0);
	T_CHECK(ask(&m, 0) > 0);
	T_EQ_INT(rcode(), 0);
	T_EQ_INT(count(1), 0);
	o = resp_opt();
	T_CHECK(o != NULL);
	if (o) {
		T_EQ_INT(o[5], 1);
		T_EQ_INT(o[6], 0); /* our version */
	}
	T_CHECK(resp && ldns_pkt_edns_extended_rcode(resp) == 1);
	T_CHECK(memcmp(out + 12, m.b + 12, m.n - 12 - 11) == 0); /* question echoed */

	/* two OPTs: FORMERR */
	mkq(&m, 55, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, 4096);
	wire_put16(m.b + 10, 2);
	putopt(&m, 4096, 0, 0);
	T_CHECK(ask(&m, 0) > 0);
	T_EQ_INT(rcode(), WIRE_RC_FORMERR);
	T_EQ_INT(count(1), 0);
	T_EQ_INT(wire_get16(out), 55);
	/* a malformed option: FORMERR */
	mkq(&m, 56, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, 4096);
	wire_put16(m.b + m.n - 2, 4);
	put16(&m, 10);
	put16(&m, 8); /* 8 octets promised, none there */
	T_CHECK(ask(&m, 0) > 0);
	T_EQ_INT(rcode(), WIRE_RC_FORMERR);
	/* an OPT in the answer section: FORMERR, and the question is not echoed */
	mkq(&m, 57, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, 4096);
	wire_put16(m.b + 6, 1);
	wire_put16(m.b + 10, 0);
	T_CHECK(ask(&m, 0) == 12);
	T_EQ_INT(rcode(), WIRE_RC_FORMERR);
	T_EQ_INT(count(0), 0);
	T_EQ_INT(wire_get16(out), 57);
	T_CHECK(out[2] & 0x80);
}

static void test_malformed(void)
{
	struct msg m;

	/* responses are never answered */
	mkq(&m, 60, 0x80, "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN, -1);
	T_EQ_INT(ask(&m, 0), 0);
	mkq(&m, 60, 0x84, "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN, 4096);
	T_EQ_INT(ask(&m, 1), 0);
	mkq(&m, 60, 0x80 | (2 << 3), "x", 1, 1, -1);
	T_EQ_INT(ask(&m, 0), 0);
	/* nor is anything shorter than a header */
	for (size_t l = 0; l < 12; l++) {
		mkq(&m, 61, 0, "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN, -1);
		m.n = l;
		T_EQ_INT(ask(&m, 0), 0);
	}
	/* a header and nothing else: FORMERR with the ID */
	mkq(&m, 62, 0x01, "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN, -1);
	m.n = 12;
	T_EQ_INT(ask(&m, 0), 12);
	T_EQ_INT(rcode(), WIRE_RC_FORMERR);
	T_EQ_INT(wire_get16(out), 62);
	T_CHECK(out[2] & 0x81);
	T_CHECK(count(0) == 0 && count(1) == 0 && count(2) == 0 && count(3) == 0);
	/* qdcount 2 */
	mkq(&m, 63, 0, "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN, -1);
	wire_put16(m.b + 4, 2);
	T_EQ_INT(ask(&m, 0), 12);
	T_EQ_INT(rcode(), WIRE_RC_FORMERR);
	/* no view yet (dnsd before its first load): REFUSED, not a crash */
	mkq(&m, 65, 0, "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN, 4096);
	uint8_t buf[600];
	size_t n = answer_query(NULL, &cfg, m.b, m.n, buf, sizeof(buf), 0);
	T_CHECK(n > 12 && (buf[3] & 0x0F) == WIRE_RC_REFUSED && wire_get16(buf) == 65);
	/* a compression loop in the question */
	mkq(&m, 64, 0, "auth.esp.example.", WIRE_T_SOA, WIRE_C_IN, -1);
	m.n = 12;
	put8(&m, 1);
	put8(&m, 'a');
	put16(&m, 0xC00C);
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(ask(&m, 0), 12);
	T_EQ_INT(rcode(), WIRE_RC_FORMERR);
}

static void test_truncation(void)
{
	struct msg m;
	char want[2200];
	const char *q4096 = "esp2." TOK ".dkim.auth.esp.example.";
	const char *qhuge = "Esp3." TOK ".dkim.auth.esp.example.";

	/* a 4096-bit key over UDP without EDNS: 512 octets at most, so TC and nothing else */
	mkq(&m, 70, 1, q4096, WIRE_T_TXT, WIRE_C_IN, -1);
	size_t n = ask(&m, 0);
	T_CHECK(n > 0 && n <= 512);
	T_CHECK(out[2] & 0x02);
	T_CHECK(out[2] & 0x04);
	T_EQ_INT(rcode(), 0);
	T_EQ_INT(count(0), 1);
	T_EQ_INT(count(1), 0);
	T_EQ_INT(count(2), 0);
	T_EQ_INT(count(3), 0);
	T_EQ_INT(n, m.n);
	T_CHECK(memcmp(out + 12, m.b + 12, m.n - 12) == 0);
	T_CHECK(resp && ldns_pkt_tc(resp));
	/* EDNS below 512 counts as 512 */
	mkq(&m, 71, 0, q4096, WIRE_T_TXT, WIRE_C_IN, 100);
	n = ask(&m, 0);
	T_CHECK(n > 0 && n <= 512 && (out[2] & 0x02) && count(1) == 0);
	T_CHECK(resp_opt() != NULL);
	mkq(&m, 71, 0, q4096, WIRE_T_TXT, WIRE_C_IN, 512);
	n = ask(&m, 0);
	T_CHECK(n > 0 && n <= 512 && (out[2] & 0x02));
	/* with EDNS 4096 it fits the server's 1232 */
	mkq(&m, 72, 0, q4096, WIRE_T_TXT, WIRE_C_IN, 4096);
	n = ask(&m, 0);
	T_CHECK(n > 512 && n <= 1232);
	T_CHECK(!(out[2] & 0x02));
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	T_CHECK(resp_opt() != NULL);
	/* the client's smaller size wins over ours */
	mkq(&m, 72, 0, q4096, WIRE_T_TXT, WIRE_C_IN, 700);
	n = ask(&m, 0);
	T_CHECK(n <= 700 && (out[2] & 0x02));
	/* the room for the OPT record counts: find the exact size that fits */
	mkq(&m, 73, 0, q4096, WIRE_T_TXT, WIRE_C_IN, 4096);
	size_t full = ask(&m, 0);
	mkq(&m, 73, 0, q4096, WIRE_T_TXT, WIRE_C_IN, (int)full);
	T_EQ_INT(ask(&m, 0), full);
	T_CHECK(!(out[2] & 0x02));
	mkq(&m, 73, 0, q4096, WIRE_T_TXT, WIRE_C_IN, (int)full - 1);
	n = ask(&m, 0);
	T_CHECK(n < full && (out[2] & 0x02) && resp_opt() != NULL);

	/* a key larger than 1232: truncated over UDP whatever the client says */
	for (int size = 512; size <= 65535; size = size * 2 + 1) {
		mkq(&m, 74, 0, qhuge, WIRE_T_TXT, WIRE_C_IN, size > 65535 ? 65535 : size);
		n = ask(&m, 0);
		T_CHECK(n > 0 && n <= 1232 && (out[2] & 0x02) && count(1) == 0 &&
			resp_opt() != NULL);
	}
	mkq(&m, 74, 0, qhuge, WIRE_T_TXT, WIRE_C_IN, -1);
	n = ask(&m, 0);
	T_CHECK(n <= 512 && (out[2] & 0x02));
	/* the whole answer over TCP, with or without EDNS */
	snprintf(want, sizeof(want), "v=DKIM1; k=rsa; p=%s", key_huge);
	mkq(&m, 75, 0, qhuge, WIRE_T_TXT, WIRE_C_IN, -1);
	n = ask(&m, 1);
	T_CHECK(n > 2000);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	T_EQ_STR(txt_of(an(0)), want);
	mkq(&m, 76, 0, qhuge, WIRE_T_TXT, WIRE_C_IN, 512);
	n = ask(&m, 1);
	T_CHECK(n > 2000 && !(out[2] & 0x02) && resp_opt() != NULL);
	T_EQ_STR(txt_of(an(0)), want);
	/* a server configured for larger UDP answers sends it whole */
	cfg.max_udp = 4096;
	mkq(&m, 77, 0, qhuge, WIRE_T_TXT, WIRE_C_IN, 4096);
	n = ask(&m, 0);
	T_CHECK(n > 2000 && n <= 4096 && !(out[2] & 0x02));
	cfg.max_udp = 1232;
	/* a small output buffer bounds even TCP */
	mkq(&m, 78, 0, qhuge, WIRE_T_TXT, WIRE_C_IN, -1);
	n = ask_cap(&m, 1, 512);
	T_CHECK(n > 0 && n <= 512 && (out[2] & 0x02));
	mkq(&m, 79, 0, qhuge, WIRE_T_TXT, WIRE_C_IN, 4096);
	n = ask_cap(&m, 0, 600);
	T_CHECK(n > 0 && n <= 600 && (out[2] & 0x02));
}

/* ---- random and mutated queries ---- */

static uint64_t rng = 0x243F6A8885A308D3ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void test_random(void)
{
	static const char *const names[] = {
		"esp3." TOK ".dkim.auth.esp.example.",
		"esp2." TOK ".dkim.auth.esp.example.",
		TOK ".rp.auth.esp.example.",
		"example.com._report._dmarc.auth.esp.example.",
		"nothere.auth.esp.example.",
		"b.c.auth.esp.example.",
		"x.other.example.",
		"example.org.",
	};
	struct msg base, m;
	int bad_limit = 0, bad_id = 0, answered = 0, runs = 0;
	int before_unparsable = unparsable, before_overruns = overruns;

	for (int i = 0; i < 6000; i++) {
		int tcp = (int)(rnd() % 4 == 0);
		size_t cap = rnd() % 3 ? 65535 : 512 + rnd() % 1024;
		int edns = rnd() % 3 ? (int)(rnd() % 5000) : -1;
		mkq(&base, (uint16_t)rnd(), (uint8_t)(rnd() % 2), names[rnd() % 8],
		    (uint16_t)(rnd() % 3 ? WIRE_T_TXT : rnd() % 260), WIRE_C_IN, edns);
		m = base;
		switch (i % 4) {
		case 0: /* random octets after a plausible header */
			m.n = 12 + rnd() % 300;
			for (size_t k = 2; k < m.n; k++)
				m.b[k] = (uint8_t)rnd();
			if (rnd() % 2)
				wire_put16(m.b + 4, 1);
			m.b[2] &= 0x7F;
			break;
		case 1: /* a few octets changed */
			for (int k = 0, f = 1 + (int)(rnd() % 4); k < f; k++)
				m.b[rnd() % m.n] = (uint8_t)rnd();
			break;
		case 2: /* cut short or extended with junk */
			if (rnd() % 2) {
				m.n = rnd() % (m.n + 1);
			} else {
				for (int k = 0, f = (int)(rnd() % 40); k < f; k++)
					m.b[m.n++] = (uint8_t)rnd();
				wire_put16(m.b + 6 + 2 * (rnd() % 3), (uint16_t)(rnd() % 3));
			}
			break;
		default: /* the question's name damaged */
			m.b[12 + rnd() % 20] =
				(uint8_t)(rnd() % 2 ? 0xC0 | rnd() % 64 : rnd() % 256);
			break;
		}
		size_t n = ask_cap(&m, tcp, cap);
		runs++;
		if (!n)
			continue;
		answered++;
		/* the UDP limit the server must keep */
		struct wire_query q;
		size_t limit = 512;
		if (tcp)
			limit = 65535;
		else if (wire_parse_query(m.b, m.n, &q) == 0 && q.edns == 1)
			limit = q.edns_size < 512	    ? 512
				: q.edns_size > cfg.max_udp ? cfg.max_udp
							    : q.edns_size;
		if (limit > cap)
			limit = cap;
		if (n > limit)
			bad_limit++;
		if (n < 12 || memcmp(out, m.b, 2) != 0 || !(out[2] & 0x80))
			bad_id++;
	}
	T_EQ_INT(runs, 6000);
	T_CHECK(answered > 3000);
	T_EQ_INT(bad_limit, 0);
	T_EQ_INT(bad_id, 0);
	T_EQ_INT(unparsable - before_unparsable, 0);
	T_EQ_INT(overruns - before_overruns, 0);

	/* the fuzz corpus, when the test runs from the top directory */
	char path[64];
	int seen = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path), "tests/fuzz/corpus/seed-%03d", i);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		m.n = fread(m.b, 1, sizeof(m.b), f);
		fclose(f);
		seen++;
		ask_cap(&m, 0, 512);
		ask(&m, 1);
	}
	T_EQ_INT(unparsable - before_unparsable, 0);
	T_EQ_INT(overruns - before_overruns, 0);
	(void)seen;
}

/* When the last domain goes, the dkim, rp and dmarc names no longer exist. */
static void test_no_domains_left(void)
{
	struct msg m;
	struct db_garbage g = {0};
	struct db_edit *e = db_edit_begin(view, zones, 2, zones[0]);
	T_CHECK(e != NULL);
	if (!e)
		return;
	T_EQ_INT(db_edit_del_domain(e, TOK), 0);
	T_EQ_INT(db_edit_del_domain(e, GONE), 0);
	struct db_view *nv = db_edit_commit(e, view, &g);
	T_CHECK(nv != NULL);
	if (!nv)
		return;
	/* the old view still answers for the domain until its garbage goes */
	mkq(&m, 90, 0, "esp1." TOK ".dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(positive(1, LDNS_RR_TYPE_TXT, 600));
	db_garbage_free(&g);
	view = nv;
	ask(&m, 0);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, "auth.esp.example.", 300, STORE_SERIAL));
	mkq(&m, 91, 0, "dkim.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	if (rcode() != WIRE_RC_NXDOMAIN)
		fprintf(stderr, "  dkim.Z with no domains: rcode %d, view->ndomains %zu\n", rcode(),
			view->ndomains);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, "auth.esp.example.", 300, STORE_SERIAL));
	mkq(&m, 92, 0, "_report._dmarc.auth.esp.example.", WIRE_T_TXT, WIRE_C_IN, -1);
	ask(&m, 0);
	T_CHECK(negative(WIRE_RC_NXDOMAIN, "auth.esp.example.", 300, STORE_SERIAL));
}

/* The prefetch hint finds the token left of dkim/rp/dmarc, in any case, and
 * nothing in other names or in broken ones. */
static void test_token_hint(void)
{
	uint8_t q[512], tok[16];
	static const struct {
		const char *name;
		const char *want;
	} cases[] = {
		{ "esp1.abcdefghijklmnop.dkim.auth.demo.example.", "abcdefghijklmnop" },
		{ "ABCDEFGHIJKLMNOP.RP.auth.demo.example.", "abcdefghijklmnop" },
		{ "abcdefghijklmnop.DmArC.auth.demo.example.", "abcdefghijklmnop" },
		{ "abcdefghijklmno.dkim.auth.demo.example.", NULL },   /* 15 bytes */
		{ "abcdefghijklmnop.mail.auth.demo.example.", NULL },  /* not a dynamic label */
		{ "dkim.abcdefghijklmnop.auth.demo.example.", NULL },  /* wrong order */
		{ "example.com._report._dmarc.auth.demo.example.", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(q, 0, 12);
		int l = wire_name_from_text(cases[i].name, q + 12);
		T_CHECK(l > 0);
		memset(tok, 0, sizeof(tok));
		int got = answer_token_hint(q, 12 + (size_t)l + 4, tok);
		T_EQ_INT(got, cases[i].want != NULL);
		if (cases[i].want)
			T_CHECK(memcmp(tok, cases[i].want, 16) == 0);
		/* cut anywhere inside the name: never reads past the end */
		for (int cut = 12; cut < 12 + l; cut++)
			answer_token_hint(q, (size_t)cut, tok);
	}
	/* a compression pointer or a label of 64+ stops the walk */
	uint8_t bad[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C };
	T_EQ_INT(answer_token_hint(bad, sizeof(bad), tok), 0);
}

int main(void)
{
	if (t_tmp("answer"))
		return 1;
	int ok = setup() == 0;
	T_CHECK(ok);
	if (ok) {
		T_EQ_INT(zones[0]->neg_ttl, 300);
		T_EQ_INT(zones[1]->neg_ttl, 120);
		T_RUN(test_header_and_dkim);
		T_RUN(test_negative);
		T_RUN(test_positive);
		T_RUN(test_refused_notimp);
		T_RUN(test_edns);
		T_RUN(test_malformed);
		T_RUN(test_truncation);
		T_RUN(test_random);
		T_RUN(test_no_domains_left);
		T_RUN(test_token_hint);
		t_name = "every response";
		T_EQ_INT(unparsable, 0);
		T_EQ_INT(overruns, 0);
	}
	ldns_pkt_free(resp);
	db_view_free_all(view);
	db_zone_free(zones[0]);
	db_zone_free(zones[1]);
	t_tmp_rm();
	return t_done();
}

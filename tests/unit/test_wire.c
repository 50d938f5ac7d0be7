/* test_wire: the query parser, names (read, text in and out, lowercasing) and TXT RDATA. */
#include "err.h"
#include "t.h"
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>

/* A message being built by hand. */
struct msg {
	uint8_t b[2048];
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

static void putbytes(struct msg *m, const void *p, size_t n)
{
	if (n)
		memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* A name as wire labels, keeping the case of the text ("." is the root). */
static void putname(struct msg *m, const char *text)
{
	const char *p = text;
	while (*p && strcmp(p, ".") != 0) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		put8(m, (uint8_t)l);
		putbytes(m, p, l);
		p += l;
		if (*p == '.')
			p++;
	}
	put8(m, 0);
}

static void hdr(struct msg *m, uint16_t id, uint8_t f1, uint8_t f2, uint16_t qd, uint16_t an,
		uint16_t ns, uint16_t ar)
{
	m->n = 0;
	put16(m, id);
	put8(m, f1);
	put8(m, f2);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* An OPT RR: owner root, class = size, TTL = ext-rcode|version|DO. */
static void opt(struct msg *m, uint16_t size, uint8_t ext, uint8_t version, int dob,
		const uint8_t *rdata, uint16_t rdlen)
{
	put8(m, 0);
	put16(m, WIRE_T_OPT);
	put16(m, size);
	put32(m, (uint32_t)ext << 24 | (uint32_t)version << 16 | (dob ? 0x8000u : 0));
	put16(m, rdlen);
	putbytes(m, rdata, rdlen);
}

/* A standard query for name/type/IN with the given additional count. */
static void query(struct msg *m, const char *name, uint16_t type, uint16_t ar)
{
	hdr(m, 0x1234, 0x01, 0x00, 1, 0, 0, ar);
	putname(m, name);
	put16(m, type);
	put16(m, WIRE_C_IN);
}

static void test_parse_good(void)
{
	struct msg m;
	struct wire_query q;

	query(&m, "WwW.ExAmple.COM.", WIRE_T_TXT, 0);
	memset(&q, 0xEE, sizeof(q));
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.id, 0x1234);
	T_EQ_INT(q.flags1, 0x01);
	T_EQ_INT(q.flags2, 0x00);
	T_EQ_INT(q.qdcount, 1);
	T_EQ_INT(q.ancount, 0);
	T_EQ_INT(q.nscount, 0);
	T_EQ_INT(q.arcount, 0);
	T_EQ_INT(q.qname_len, 17);
	T_CHECK(memcmp(q.qname, "\003www\007example\003com\000", 17) == 0);
	T_CHECK(memcmp(q.qname_orig, "\003WwW\007ExAmple\003COM\000", 17) == 0);
	T_EQ_INT(q.nlabels, 3);
	T_EQ_INT(q.label_off[0], 0);
	T_EQ_INT(q.label_off[1], 4);
	T_EQ_INT(q.label_off[2], 12);
	T_EQ_INT(q.qtype, WIRE_T_TXT);
	T_EQ_INT(q.qclass, WIRE_C_IN);
	T_EQ_INT(q.question_end, 12 + 17 + 4);
	T_EQ_INT(q.edns, 0);
	T_EQ_INT(q.edns_size, 0);
	T_EQ_INT(q.edns_version, 0);
	T_EQ_INT(q.edns_do, 0);
	T_EQ_INT(q.edns_badopt, 0);

	/* the root */
	query(&m, ".", WIRE_T_NS, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.qname_len, 1);
	T_EQ_INT(q.qname[0], 0);
	T_EQ_INT(q.nlabels, 0);
	T_EQ_INT(q.qtype, WIRE_T_NS);
	T_EQ_INT(q.question_end, 12 + 1 + 4);

	/* other flags and header bytes come through as received */
	hdr(&m, 0xFFFF, 0x79, 0x30, 1, 0, 0, 0);
	putname(&m, "a.");
	put16(&m, WIRE_T_A);
	put16(&m, WIRE_C_CH);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.id, 0xFFFF);
	T_EQ_INT(q.flags1, 0x79);
	T_EQ_INT(q.flags2, 0x30);
	T_EQ_INT(q.qclass, WIRE_C_CH);

	/* non-letters are not touched by lowercasing: '@' (0x40) and '[' (0x5B) sit next to A and Z
	 */
	query(&m, "@AZ[\xC1.x", WIRE_T_A, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_CHECK(memcmp(q.qname, "\005@az[\xC1\001x\000", 9) == 0);
	T_CHECK(memcmp(q.qname_orig, "\005@AZ[\xC1\001x\000", 9) == 0);
}

static void test_parse_label_offsets(void)
{
	struct msg m;
	struct wire_query q;
	char name[300];

	/* 127 one-character labels: 255 octets, the longest name */
	size_t n = 0;
	for (int i = 0; i < 127; i++) {
		name[n++] = (char)('a' + i % 26);
		name[n++] = '.';
	}
	name[n] = 0;
	query(&m, name, WIRE_T_A, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.qname_len, 255);
	T_EQ_INT(q.nlabels, 127);
	int ok = 1;
	for (int i = 0; i < 127; i++)
		ok &= q.label_off[i] == 2 * i && q.qname[q.label_off[i]] == 1;
	T_CHECK(ok);

	/* labels of different lengths */
	query(&m, "a.bb.ccc.dddd.", WIRE_T_A, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.nlabels, 4);
	T_EQ_INT(q.label_off[0], 0);
	T_EQ_INT(q.label_off[1], 2);
	T_EQ_INT(q.label_off[2], 5);
	T_EQ_INT(q.label_off[3], 9);
	T_EQ_INT(q.qname_len, 15);

	/* 63 + 63 + 63 + 61: exactly 255 octets */
	struct msg big;
	hdr(&big, 1, 0, 0, 1, 0, 0, 0);
	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : 61;
		put8(&big, (uint8_t)len);
		for (int i = 0; i < len; i++)
			put8(&big, 'A');
	}
	put8(&big, 0);
	put16(&big, WIRE_T_A);
	put16(&big, WIRE_C_IN);
	T_EQ_INT(wire_parse_query(big.b, big.n, &q), 0);
	T_EQ_INT(q.qname_len, 255);
	T_EQ_INT(q.nlabels, 4);
	T_EQ_INT(q.label_off[3], 192);
	T_EQ_INT(q.qname[1], 'a');
	T_EQ_INT(q.qname_orig[1], 'A');
}

static void test_parse_edns(void)
{
	struct msg m;
	struct wire_query q;
	static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t twoopts[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 8, 0, 0};

	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 4096, 0, 0, 1, NULL, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns, 1);
	T_EQ_INT(q.edns_size, 4096);
	T_EQ_INT(q.edns_version, 0);
	T_EQ_INT(q.edns_do, 1);
	T_EQ_INT(q.edns_badopt, 0);
	T_EQ_INT(q.arcount, 1);
	T_EQ_INT(q.question_end, 12 + 13 + 4);

	/* version and DO read from their own bits; the extended rcode byte is not the version */
	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 1232, 0xAB, 1, 0, NULL, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns_size, 1232);
	T_EQ_INT(q.edns_version, 1);
	T_EQ_INT(q.edns_do, 0);

	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 512, 0, 255, 0, NULL, 0);
	put32(&m, 0); /* trailing octets after the sections are ignored */
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns_version, 255);

	/* well-formed options */
	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 1400, 0, 0, 1, cookie, sizeof(cookie));
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns_badopt, 0);
	T_EQ_INT(q.edns_size, 1400);
	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 1400, 0, 0, 1, twoopts, sizeof(twoopts));
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns_badopt, 0);

	/* an option longer than the RDATA: the OPT is bad */
	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 1400, 0, 0, 0, cookie, 10);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns, 1);
	T_EQ_INT(q.edns_badopt, 1);
	/* fewer than 4 octets left for an option header */
	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 1400, 0, 0, 0, cookie, 2);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns_badopt, 1);
	query(&m, "example.com.", WIRE_T_TXT, 1);
	opt(&m, 1400, 0, 0, 0, twoopts, 14);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns_badopt, 1);

	/* an OPT whose owner is not the root */
	query(&m, "example.com.", WIRE_T_TXT, 1);
	putname(&m, "x.");
	put16(&m, WIRE_T_OPT);
	put16(&m, 4096);
	put32(&m, 0);
	put16(&m, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns, 1);
	T_EQ_INT(q.edns_badopt, 1);

	/* two OPTs are counted; the first one's fields are kept */
	query(&m, "example.com.", WIRE_T_TXT, 2);
	opt(&m, 4096, 0, 0, 1, NULL, 0);
	opt(&m, 512, 0, 1, 0, NULL, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns, 2);
	T_EQ_INT(q.edns_size, 4096);
	T_EQ_INT(q.edns_version, 0);

	/* an OPT after another additional record (a TSIG-less A, with a compressed owner) */
	query(&m, "example.com.", WIRE_T_TXT, 2);
	put16(&m, 0xC00C);
	put16(&m, WIRE_T_A);
	put16(&m, WIRE_C_IN);
	put32(&m, 60);
	put16(&m, 4);
	put32(&m, 0x7f000001);
	opt(&m, 2048, 0, 0, 0, NULL, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns, 1);
	T_EQ_INT(q.edns_size, 2048);

	/* records in the answer and authority sections are skipped */
	hdr(&m, 7, 0, 0, 1, 1, 1, 1);
	putname(&m, "example.com.");
	put16(&m, WIRE_T_SOA);
	put16(&m, WIRE_C_IN);
	for (int i = 0; i < 2; i++) {
		put16(&m, 0xC00C);
		put16(&m, WIRE_T_TXT);
		put16(&m, WIRE_C_IN);
		put32(&m, 1);
		put16(&m, 3);
		putbytes(&m, "\002hi", 3);
	}
	opt(&m, 777, 0, 0, 0, NULL, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), 0);
	T_EQ_INT(q.edns_size, 777);
	T_EQ_INT(q.qtype, WIRE_T_SOA);
}

static void test_parse_formerr(void)
{
	struct msg m, base;
	struct wire_query q;

	/* shorter than a header: drop */
	query(&m, "example.com.", WIRE_T_A, 0);
	T_EQ_INT(wire_parse_query(m.b, 11, &q), DNSD_EINVAL);
	T_EQ_INT(wire_parse_query(m.b, 0, &q), DNSD_EINVAL);
	/* a header and nothing else */
	T_EQ_INT(wire_parse_query(m.b, 12, &q), DNSD_EFORMAT);
	/* every truncation of the question */
	query(&base, "example.com.", WIRE_T_A, 0);
	int bad = 0;
	for (size_t l = 12; l < base.n; l++)
		bad += wire_parse_query(base.b, l, &q) == DNSD_EFORMAT;
	T_EQ_INT(bad, (int)(base.n - 12));
	T_EQ_INT(wire_parse_query(base.b, base.n, &q), 0);

	/* qdcount 0 and 2 */
	hdr(&m, 1, 0, 0, 0, 0, 0, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	hdr(&m, 1, 0, 0, 2, 0, 0, 0);
	putname(&m, "a.");
	put16(&m, 1);
	put16(&m, 1);
	putname(&m, "b.");
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	memcpy(&m, &base, sizeof(m));
	m.b[5] = 0; /* qdcount 0 with a question present */
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);

	/* extended label types 0x40 and 0x80 */
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	putbytes(&m,
		 "\x41"
		 "a",
		 2);
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	m.b[12] = 0x81;
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	m.b[12] = 0x40; /* "label length 64" */
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	/* a label running past the end */
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	put8(&m, 63);
	putbytes(&m, "abc", 3);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);

	/* names over 255 octets: 63+63+63+62 labels (256), and five 63s */
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : 62;
		put8(&m, (uint8_t)len);
		for (int i = 0; i < len; i++)
			put8(&m, 'a');
	}
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	for (int l = 0; l < 5; l++) {
		put8(&m, 63);
		for (int i = 0; i < 63; i++)
			put8(&m, 'a');
	}
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	/* a name over 255 octets only through pointers: 2 x 63 then a pointer back to the start */
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	for (int l = 0; l < 2; l++) {
		put8(&m, 63);
		for (int i = 0; i < 63; i++)
			put8(&m, 'a');
	}
	put16(&m, 0xC00C);
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);

	/* compression pointers in the question: to itself, a loop, forward, out of bounds */
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	put16(&m, 0xC00C);
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	putbytes(&m, "\001a", 2);
	put16(&m, 0xC00C); /* a.a.a.a... for ever */
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	put16(&m, 0xC012); /* forward, to a valid name after the question */
	put16(&m, 1);
	put16(&m, 1);
	putname(&m, "a.");
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	put16(&m, 0xFFFF);
	put16(&m, 1);
	put16(&m, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	hdr(&m, 1, 0, 0, 1, 0, 0, 0);
	put8(&m, 0xC0); /* half a pointer at the very end */
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);

	/* an OPT in the answer or authority section */
	for (int sec = 0; sec < 2; sec++) {
		hdr(&m, 1, 0, 0, 1, sec == 0, sec == 1, 0);
		putname(&m, "example.com.");
		put16(&m, 1);
		put16(&m, 1);
		opt(&m, 4096, 0, 0, 0, NULL, 0);
		T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	}

	/* the counts promise more than the message holds */
	query(&m, "example.com.", WIRE_T_A, 1);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	query(&m, "example.com.", WIRE_T_A, 2);
	opt(&m, 4096, 0, 0, 0, NULL, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	/* every truncation of the OPT record */
	query(&base, "example.com.", WIRE_T_A, 1);
	size_t qend = base.n;
	static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	opt(&base, 4096, 0, 0, 0, cookie, sizeof(cookie));
	bad = 0;
	for (size_t l = qend; l < base.n; l++)
		bad += wire_parse_query(base.b, l, &q) == DNSD_EFORMAT;
	T_EQ_INT(bad, (int)(base.n - qend));
	/* RDLENGTH past the end of the message */
	memcpy(&m, &base, sizeof(m));
	wire_put16(m.b + qend + 9, (uint16_t)(sizeof(cookie) + 1));
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
	/* a bad name in the additional section */
	query(&m, "example.com.", WIRE_T_A, 1);
	put16(&m, 0xC0FF);
	put16(&m, WIRE_T_OPT);
	put16(&m, 4096);
	put32(&m, 0);
	put16(&m, 0);
	T_EQ_INT(wire_parse_query(m.b, m.n, &q), DNSD_EFORMAT);
}

static void test_read_name(void)
{
	struct msg m;
	uint8_t out[WIRE_MAXNAME];
	struct wire_cur c;

	/* Example.COM at 12, www -> 12 at 25, FTP -> 25 at 31 */
	hdr(&m, 0, 0, 0, 0, 0, 0, 0);
	putname(&m, "Example.COM.");
	T_EQ_INT(m.n, 25);
	putbytes(&m, "\003www", 4);
	put16(&m, 0xC00C);
	T_EQ_INT(m.n, 31);
	putbytes(&m, "\003FTP", 4);
	put16(&m, 0xC019);
	put8(&m, 0xAA); /* something after, not to be read */

	c = (struct wire_cur){m.b, m.n, 12};
	T_EQ_INT(wire_read_name(&c, out), 13);
	T_CHECK(memcmp(out, "\007Example\003COM\000", 13) == 0);
	T_EQ_INT(c.pos, 25);
	T_EQ_INT(wire_read_name(&c, out), 17);
	T_CHECK(memcmp(out, "\003www\007Example\003COM\000", 17) == 0);
	T_EQ_INT(c.pos, 31);
	T_EQ_INT(wire_read_name(&c, out), 21);
	T_CHECK(memcmp(out, "\003FTP\003www\007Example\003COM\000", 21) == 0);
	T_EQ_INT(c.pos, 37);
	/* a pointer into the middle of a name: COM. */
	wire_put16(m.b + 31 + 4, 0xC014);
	c = (struct wire_cur){m.b, m.n, 31};
	T_EQ_INT(wire_read_name(&c, out), 9);
	T_CHECK(memcmp(out, "\003FTP\003COM\000", 9) == 0);
	T_EQ_INT(c.pos, 37);
	/* a failed read leaves the cursor where it was */
	wire_put16(m.b + 31 + 4, 0xC030);
	c = (struct wire_cur){m.b, m.n, 31};
	T_EQ_INT(wire_read_name(&c, out), DNSD_EFORMAT);
	T_EQ_INT(c.pos, 31);
	/* at the end of the message */
	c = (struct wire_cur){m.b, m.n, m.n};
	T_EQ_INT(wire_read_name(&c, out), DNSD_EFORMAT);

	/* a chain of pointers, each to the one before: 127 jumps are fine, 128 are not */
	static uint8_t chain[12 + 1 + 2 * 130];
	memset(chain, 0, sizeof(chain));
	chain[12] = 0; /* the root */
	for (int i = 0; i < 130; i++) {
		size_t at = 13 + 2 * (size_t)i;
		size_t target = i == 0 ? 12 : at - 2;
		wire_put16(chain + at, (uint16_t)(0xC000 | target));
	}
	c = (struct wire_cur){chain, sizeof(chain), 13 + 2 * 126}; /* 127 pointers */
	T_EQ_INT(wire_read_name(&c, out), 1);
	T_EQ_INT(out[0], 0);
	T_EQ_INT(c.pos, 13 + 2 * 127);
	c = (struct wire_cur){chain, sizeof(chain), 13 + 2 * 127}; /* 128 pointers */
	T_EQ_INT(wire_read_name(&c, out), DNSD_EFORMAT);
}

static void test_name_text(void)
{
	uint8_t w[WIRE_MAXNAME];
	char t[300], lab[70], big[300];

	T_EQ_INT(wire_name_from_text("Example.COM", w), 13);
	T_CHECK(memcmp(w, "\007example\003com\000", 13) == 0);
	T_EQ_INT(wire_name_from_text("example.com.", w), 13);
	T_CHECK(memcmp(w, "\007example\003com\000", 13) == 0);
	T_EQ_INT(wire_name_from_text(".", w), 1);
	T_EQ_INT(w[0], 0);
	T_EQ_INT(wire_name_from_text("_dmarc.x", w), 10);
	T_CHECK(memcmp(w, "\006_dmarc\001x\000", 10) == 0);

	T_EQ_INT(wire_name_to_text((const uint8_t *)"\007example\003com\000", t, sizeof(t)), 12);
	T_EQ_STR(t, "example.com.");
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\000", t, sizeof(t)), 1);
	T_EQ_STR(t, ".");
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\000", t, 1), DNSD_ERANGE);
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\001a\001b\000", t, 5), 4);
	T_EQ_STR(t, "a.b.");
	/* A name from the network cannot forge a log line: control bytes, and a dot
	 * or backslash inside a label, are escaped. */
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\004x\ny.\002a\\\000", t, sizeof(t)), 13);
	T_EQ_STR(t, "x\\010y\\..a\\\\.");
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\001\377\000", t, sizeof(t)), 5);
	T_EQ_STR(t, "\\255.");
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\001\001\000", t, 5), DNSD_ERANGE);
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\001a\001b\000", t, 4), DNSD_ERANGE);
	T_EQ_INT(wire_name_to_text((const uint8_t *)"\001a\001b\000", t, 2), DNSD_ERANGE);

	/* round trips */
	static const char *const names[] = {"a.", "esp1.abcdefghijklmnop.dkim.auth.esp.example.",
					    "example.com._report._dmarc.auth.esp.example.",
					    "x-y.z0."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = wire_name_from_text(names[i], w);
		T_CHECK(n > 0);
		if (n > 0) {
			T_EQ_INT(wire_name_to_text(w, t, sizeof(t)), (int)strlen(names[i]));
			T_EQ_STR(t, names[i]);
		}
	}

	/* labels: 63 is the most */
	memset(lab, 'q', 63);
	strcpy(lab + 63, ".com");
	T_EQ_INT(wire_name_from_text(lab, w), 1 + 63 + 4 + 1);
	T_EQ_INT(w[0], 63);
	memset(lab, 'q', 64);
	strcpy(lab + 64, ".com");
	T_EQ_INT(wire_name_from_text(lab, w), DNSD_EINVAL);

	/* names: 253 characters (255 octets) is the most */
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		memset(big + n, 'a' + i, 63);
		n += 63;
		big[n++] = '.';
	}
	memset(big + n, 'd', 61);
	n += 61;
	big[n] = 0;
	T_EQ_INT(strlen(big), 253);
	T_EQ_INT(wire_name_from_text(big, w), 255);
	T_EQ_INT(wire_name_to_text(w, t, sizeof(t)), 254);
	T_CHECK(strncmp(t, big, 253) == 0 && t[253] == '.');
	T_EQ_INT(wire_name_to_text(w, t, 254), DNSD_ERANGE);
	T_EQ_INT(wire_name_to_text(w, t, 255), 254);
	big[n++] = 'd';
	big[n] = 0;
	T_EQ_INT(wire_name_from_text(big, w), DNSD_EINVAL);
	strcpy(big + 200, ".x.y.z.w.v.u.t.s.r.q.p.o.n.m.l.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y");
	T_EQ_INT(wire_name_from_text(big, w), DNSD_EINVAL);

	/* empty labels, spaces and control characters */
	T_EQ_INT(wire_name_from_text("a..b", w), DNSD_EINVAL);
	T_EQ_INT(wire_name_from_text(".a", w), DNSD_EINVAL);
	T_EQ_INT(wire_name_from_text("..", w), DNSD_EINVAL);
	T_EQ_INT(wire_name_from_text("a..", w), DNSD_EINVAL); /* an empty last label */
	T_EQ_INT(wire_name_from_text("a b.com", w), DNSD_EINVAL);
	T_EQ_INT(wire_name_from_text("a\tb.com", w), DNSD_EINVAL);
	T_EQ_INT(wire_name_from_text("a\x7f.com", w), DNSD_EINVAL);
	T_EQ_INT(wire_name_from_text("caf\xc3\xa9.com", w), DNSD_EINVAL);
}

static void test_name_lower(void)
{
	uint8_t n[] = "\003A@Z\002[`\007ExAMPLE\000";
	wire_name_lower(n, sizeof(n) - 1);
	T_CHECK(memcmp(n, "\003a@z\002[`\007example\000", sizeof(n) - 1) == 0);
	/* length octets are never changed, even when they look like letters: a 65-octet label */
	uint8_t l[70];
	l[0] = 'A'; /* 65 */
	memset(l + 1, 'Q', 65);
	l[66] = 0;
	wire_name_lower(l, 67);
	T_EQ_INT(l[0], 'A');
	T_EQ_INT(l[1], 'q');
	T_EQ_INT(l[65], 'q');
	/* stops at len even if the labels claim more */
	uint8_t s[] = "\005ABCDE";
	wire_name_lower(s, 3);
	T_CHECK(memcmp(s, "\005abCDE", 6) == 0);
}

/* Checks that rd[0..n) is text split into 255-octet character-strings. */
static int txt_is(const uint8_t *rd, int n, const char *text, size_t tl)
{
	size_t p = 0, i = 0;
	if (n < 0)
		return 0;
	do {
		size_t want = tl - i > 255 ? 255 : tl - i;
		if (p >= (size_t)n || rd[p] != want || p + 1 + want > (size_t)n ||
		    memcmp(rd + p + 1, text + i, want) != 0)
			return 0;
		p += 1 + want;
		i += want;
	} while (i < tl);
	return p == (size_t)n;
}

static void test_txt_rdata(void)
{
	static char text[1001];
	static uint8_t rd[2000];

	for (int i = 0; i < 1000; i++)
		text[i] = (char)('A' + i % 57);
	text[1000] = 0;

	T_EQ_INT(wire_txt_rdata("", 0, rd, sizeof(rd)), 1);
	T_EQ_INT(rd[0], 0);
	T_EQ_INT(wire_txt_rdata("v=DKIM1; p=", 11, rd, sizeof(rd)), 12);
	T_CHECK(rd[0] == 11 && memcmp(rd + 1, "v=DKIM1; p=", 11) == 0);
	T_EQ_INT(wire_txt_rdata(text, 255, rd, sizeof(rd)), 256);
	T_CHECK(txt_is(rd, 256, text, 255));
	T_EQ_INT(wire_txt_rdata(text, 256, rd, sizeof(rd)), 258);
	T_CHECK(txt_is(rd, 258, text, 256));
	T_EQ_INT(rd[0], 255);
	T_EQ_INT(rd[256], 1);
	T_EQ_INT(rd[257], text[255]);
	T_EQ_INT(wire_txt_rdata(text, 1000, rd, sizeof(rd)), 1004);
	T_CHECK(txt_is(rd, 1004, text, 1000));
	T_EQ_INT(rd[768], 235);
	T_EQ_INT(wire_txt_rdata(text, 510, rd, sizeof(rd)), 512);
	T_CHECK(txt_is(rd, 512, text, 510));

	/* capacity: exact fits, one less does not, and nothing is written past cap */
	T_EQ_INT(wire_txt_rdata(text, 1000, rd, 1004), 1004);
	memset(rd, 0x5A, sizeof(rd));
	T_EQ_INT(wire_txt_rdata(text, 1000, rd, 1003), DNSD_ERANGE);
	int clean = 1;
	for (size_t i = 1003; i < sizeof(rd); i++)
		clean &= rd[i] == 0x5A;
	T_CHECK(clean);
	T_EQ_INT(wire_txt_rdata(text, 255, rd, 255), DNSD_ERANGE);
	T_EQ_INT(wire_txt_rdata(text, 256, rd, 257), DNSD_ERANGE);
	T_EQ_INT(wire_txt_rdata("", 0, rd, 0), DNSD_ERANGE);
	T_EQ_INT(wire_txt_rdata("", 0, rd, 1), 1);
}

static void test_put_get(void)
{
	uint8_t b[4];
	wire_put16(b, 0xBEEF);
	T_CHECK(b[0] == 0xBE && b[1] == 0xEF);
	T_EQ_INT(wire_get16(b), 0xBEEF);
	wire_put32(b, 0xDEADBEEF);
	T_CHECK(b[0] == 0xDE && b[1] == 0xAD && b[2] == 0xBE && b[3] == 0xEF);
	T_EQ_INT(wire_get32(b), 0xDEADBEEFu);
}

/* Random and mutated messages: the parser never reads past the end (ASan) and its
 * results stay inside their arrays. */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void test_parse_random(void)
{
	struct msg base;
	struct wire_query q;
	int sane = 1, runs = 0, parsed = 0;
	static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};

	query(&base, "Esp1.ABCDEFGHIJKLMNOP.dkim.Auth.Esp.Example.", WIRE_T_TXT, 1);
	opt(&base, 4096, 0, 0, 1, cookie, sizeof(cookie));
	for (int i = 0; i < 20000; i++) {
		size_t len;
		uint8_t *p = malloc(600); /* exact-size copies, so that ASan sees any overread */
		if (!p)
			return;
		if (i % 4 == 0) {
			len = rnd() % 600;
			for (size_t k = 0; k < len; k++)
				p[k] = (uint8_t)rnd();
			if (len >= 6 && i % 8 == 0) {
				p[4] = 0;
				p[5] = 1;
			}
		} else {
			len = base.n;
			memcpy(p, base.b, len);
			int flips = 1 + (int)(rnd() % 4);
			for (int k = 0; k < flips; k++)
				p[rnd() % len] = (uint8_t)rnd();
			if (i % 3 == 0)
				len = rnd() % (len + 1);
		}
		uint8_t *exact = malloc(len ? len : 1);
		memcpy(exact, p, len);
		free(p);
		int r = wire_parse_query(exact, len, &q);
		runs++;
		if (r == 0) {
			parsed++;
			sane &= q.qdcount == 1 && q.qname_len >= 1 &&
				q.qname[q.qname_len - 1] == 0 && q.nlabels <= 127 &&
				q.question_end <= len && q.question_end >= 12u + 1u + 4u;
			size_t off = 0;
			for (int k = 0; k < q.nlabels; k++) {
				sane &= q.label_off[k] == off;
				off += q.qname[off] + 1u;
			}
			sane &= off == q.qname_len - 1u;
		} else {
			sane &= r == (len < 12 ? DNSD_EINVAL : DNSD_EFORMAT);
		}
		free(exact);
	}
	T_EQ_INT(runs, 20000);
	T_CHECK(parsed > 1000); /* the mutations reach past the header */
	T_CHECK(sane);
}

int main(void)
{
	T_RUN(test_put_get);
	T_RUN(test_parse_good);
	T_RUN(test_parse_label_offsets);
	T_RUN(test_parse_edns);
	T_RUN(test_parse_formerr);
	T_RUN(test_read_name);
	T_RUN(test_name_text);
	T_RUN(test_name_lower);
	T_RUN(test_txt_rdata);
	T_RUN(test_parse_random);
	return t_done();
}

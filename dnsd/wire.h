/* wire: bounds-checked DNS message parsing and building, without allocation. */
#ifndef DNSD_WIRE_H
#define DNSD_WIRE_H
#include <stddef.h>
#include <stdint.h>

#define WIRE_HDR 12
#define WIRE_MAXNAME 255

enum {
	WIRE_T_A = 1, WIRE_T_NS = 2, WIRE_T_CNAME = 5, WIRE_T_SOA = 6, WIRE_T_MX = 15,
	WIRE_T_TXT = 16, WIRE_T_AAAA = 28, WIRE_T_OPT = 41, WIRE_T_IXFR = 251,
	WIRE_T_AXFR = 252, WIRE_T_ANY = 255,
};
enum { WIRE_C_IN = 1, WIRE_C_CH = 3, WIRE_C_ANY = 255 };
enum {
	WIRE_RC_NOERROR = 0, WIRE_RC_FORMERR = 1, WIRE_RC_SERVFAIL = 2, WIRE_RC_NXDOMAIN = 3,
	WIRE_RC_NOTIMP = 4, WIRE_RC_REFUSED = 5, WIRE_RC_BADVERS = 16,
};
enum { WIRE_OP_QUERY = 0, WIRE_OP_NOTIFY = 4, WIRE_OP_UPDATE = 5 };
enum { WIRE_OPT_NSID = 3, WIRE_OPT_COOKIE = 10 };

/* A read cursor over a message: every read checks what remains. */
struct wire_cur {
	const uint8_t *pkt;
	size_t len;
	size_t pos;
};

/* A parsed query. Lives on the caller's stack; points into nothing but itself. */
struct wire_query {
	uint16_t id;
	uint8_t flags1, flags2;   /* header bytes 2 and 3, as received */
	uint16_t qdcount, ancount, nscount, arcount;
	uint8_t qname[WIRE_MAXNAME];    /* question name, wire form, lowercased */
	uint8_t qname_orig[WIRE_MAXNAME]; /* the same with the client's case, to echo */
	uint8_t qname_len;        /* octets, including the root label */
	uint8_t nlabels;          /* labels, not counting the root */
	uint8_t label_off[128];   /* offset of each label in qname, leftmost first */
	uint16_t qtype, qclass;
	size_t question_end;      /* offset just past the question in the message */
	int edns;                 /* number of OPT records seen (0, 1, or more) */
	uint16_t edns_size;       /* the client's UDP payload size */
	uint8_t edns_version;
	uint8_t edns_do;
	uint8_t edns_badopt;      /* OPT with a bad owner or malformed options */
	uint8_t edns_nsid;        /* the query asks for the server's NSID (RFC 5001) */
	uint8_t tsig;             /* a TSIG record (type 250) in the additional section */
};

/* Reads a name at the cursor (following compression pointers, at most 127 jumps
 * back-only) into out (wire form, original case), advancing the cursor past the
 * name as it sits in the message. Returns the name's length or DNSD_EFORMAT. */
int wire_read_name(struct wire_cur *c, uint8_t out[WIRE_MAXNAME]);

/* Parses the message. Returns 0, or DNSD_EFORMAT when the message is malformed past
 * the header (answer FORMERR), or DNSD_EINVAL when it is shorter than a header
 * (drop). Checking QR and the opcode is the caller's business. */
int wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q);

/* 1 if the wire name is apex or under it, at a label boundary (both lowercase). */
int wire_name_under(const uint8_t *name, size_t len, const uint8_t *apex, size_t apex_len);

/* Lowercases a wire-form name in place. */
void wire_name_lower(uint8_t *name, size_t len);

/* Converts a text name ("a.example.com" or "a.example.com.", "." for the root) to
 * lowercase wire form. Returns the wire length or DNSD_EINVAL (empty text, empty
 * label, label over 63, name over 255). No escapes are understood. */
int wire_name_from_text(const char *text, uint8_t out[WIRE_MAXNAME]);

/* Writes a wire name as dotted text with a trailing dot into out, in
 * presentation format: a dot or backslash inside a label as \. or \\, bytes
 * outside printable ASCII as \DDD. Returns the length or DNSD_ERANGE. */
int wire_name_to_text(const uint8_t *name, char *out, size_t outlen);

/* Writes a TXT RDATA from a logical string, split into 255-octet character-strings.
 * Returns the RDATA length or DNSD_ERANGE when it does not fit in cap. */
int wire_txt_rdata(const char *text, size_t textlen, uint8_t *out, size_t cap);

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
#endif

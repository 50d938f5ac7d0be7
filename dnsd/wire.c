/* wire: bounds-checked DNS message parsing and building, without allocation. */
#include "wire.h"
#include "err.h"
#include <string.h>

static int cur_u16(struct wire_cur *c, uint16_t *v)
{
	if (c->len - c->pos < 2)
		return DNSD_EFORMAT;
	*v = wire_get16(c->pkt + c->pos);
	c->pos += 2;
	return 0;
}

static int cur_u32(struct wire_cur *c, uint32_t *v)
{
	if (c->len - c->pos < 4)
		return DNSD_EFORMAT;
	*v = wire_get32(c->pkt + c->pos);
	c->pos += 4;
	return 0;
}

int wire_read_name(struct wire_cur *c, uint8_t out[WIRE_MAXNAME])
{
	size_t pos = c->pos, end = 0, n = 0;
	int jumps = 0;

	for (;;) {
		if (pos >= c->len)
			return DNSD_EFORMAT;
		uint8_t l = c->pkt[pos];
		if ((l & 0xC0) == 0xC0) {
			if (pos + 1 >= c->len)
				return DNSD_EFORMAT;
			size_t target = (size_t)(l & 0x3F) << 8 | c->pkt[pos + 1];
			/* Pointers must go strictly backwards: that alone rules out loops,
			 * and the jump limit bounds the work. */
			if (target >= pos || ++jumps > 127)
				return DNSD_EFORMAT;
			if (!end)
				end = pos + 2;
			pos = target;
			continue;
		}
		if (l & 0xC0)
			return DNSD_EFORMAT; /* 0x40 and 0x80: extended label types */
		if (pos + 1 + l > c->len || n + 1 + l > WIRE_MAXNAME)
			return DNSD_EFORMAT;
		memcpy(out + n, c->pkt + pos, 1 + (size_t)l);
		n += 1 + (size_t)l;
		pos += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	c->pos = end ? end : pos;
	return (int)n;
}

int wire_name_under(const uint8_t *name, size_t len, const uint8_t *apex, size_t apex_len)
{
	if (apex_len > len || memcmp(name + len - apex_len, apex, apex_len) != 0)
		return 0;
	for (size_t i = 0; i < len; i += name[i] + 1u)
		if (i == len - apex_len)
			return 1;
	return 0;
}

void wire_name_lower(uint8_t *name, size_t len)
{
	size_t i = 0;
	while (i < len && name[i]) {
		size_t l = name[i];
		for (size_t j = i + 1; j <= i + l && j < len; j++)
			if (name[j] >= 'A' && name[j] <= 'Z')
				name[j] = (uint8_t)(name[j] + 32);
		i += l + 1;
	}
}

/* Skips one resource record; reads its type and, for OPT, the EDNS fields. */
static int parse_rr(struct wire_cur *c, struct wire_query *q, int additional)
{
	uint8_t name[WIRE_MAXNAME];
	uint16_t type, class, rdlen;
	uint32_t ttl;
	int nl = wire_read_name(c, name);
	if (nl < 0 || cur_u16(c, &type) || cur_u16(c, &class) || cur_u32(c, &ttl) ||
	    cur_u16(c, &rdlen) || c->len - c->pos < rdlen)
		return DNSD_EFORMAT;
	if (type == 250 && additional)
		q->tsig = 1; /* verified (and stripped) by the caller, tsig.c */
	if (type == WIRE_T_OPT) {
		if (!additional)
			return DNSD_EFORMAT;
		q->edns++;
		if (q->edns == 1) {
			q->edns_size = class;
			q->edns_version = (uint8_t)(ttl >> 16);
			q->edns_do = (ttl & 0x8000) ? 1 : 0;
			if (nl != 1)
				q->edns_badopt = 1; /* OPT owner must be the root */
			/* Options: walk them to check their lengths; none is acted on yet. */
			size_t p = c->pos, e = c->pos + rdlen;
			while (p < e) {
				if (e - p < 4) {
					q->edns_badopt = 1;
					break;
				}
				size_t ol = wire_get16(c->pkt + p + 2);
				if (e - p - 4 < ol) {
					q->edns_badopt = 1;
					break;
				}
				if (wire_get16(c->pkt + p) == WIRE_OPT_NSID)
					q->edns_nsid = 1;
				p += 4 + ol;
			}
		}
	}
	c->pos += rdlen;
	return 0;
}

int wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q)
{
	struct wire_cur c = { pkt, len, WIRE_HDR };

	if (len < WIRE_HDR)
		return DNSD_EINVAL;
	q->id = wire_get16(pkt);
	q->flags1 = pkt[2];
	q->flags2 = pkt[3];
	q->qdcount = wire_get16(pkt + 4);
	q->ancount = wire_get16(pkt + 6);
	q->nscount = wire_get16(pkt + 8);
	q->arcount = wire_get16(pkt + 10);
	q->qname_len = 0;
	q->nlabels = 0;
	q->question_end = WIRE_HDR;
	q->edns = 0;
	q->edns_size = 0;
	q->edns_version = 0;
	q->edns_do = 0;
	q->edns_badopt = 0;
	q->edns_nsid = 0;
	q->tsig = 0;
	q->qtype = q->qclass = 0;

	if (q->qdcount != 1)
		return DNSD_EFORMAT;
	int nl = wire_read_name(&c, q->qname_orig);
	if (nl < 0 || cur_u16(&c, &q->qtype) || cur_u16(&c, &q->qclass))
		return DNSD_EFORMAT;
	q->qname_len = (uint8_t)nl;
	q->question_end = c.pos;
	memcpy(q->qname, q->qname_orig, (size_t)nl);
	wire_name_lower(q->qname, (size_t)nl);
	for (int i = 0; q->qname[i]; i += q->qname[i] + 1)
		q->label_off[q->nlabels++] = (uint8_t)i;

	/* Answer and authority sections of a query are unusual but legal to skip;
	 * the additional section may carry the OPT record. */
	unsigned total = (unsigned)q->ancount + q->nscount;
	for (unsigned i = 0; i < total; i++)
		if (parse_rr(&c, q, 0))
			return DNSD_EFORMAT;
	for (unsigned i = 0; i < q->arcount; i++)
		if (parse_rr(&c, q, 1))
			return DNSD_EFORMAT;
	return 0;
}

int wire_name_from_text(const char *text, uint8_t out[WIRE_MAXNAME])
{
	size_t n = 0, tl = strlen(text);
	if (tl == 1 && text[0] == '.') {
		out[0] = 0;
		return 1;
	}
	if (tl == 0)
		return DNSD_EINVAL;
	if (text[tl - 1] == '.')
		tl--;
	if (tl == 0 || text[tl - 1] == '.')
		return DNSD_EINVAL; /* an empty last label */
	size_t i = 0;
	while (i < tl) {
		size_t j = i;
		while (j < tl && text[j] != '.')
			j++;
		size_t l = j - i;
		if (l == 0 || l > 63 || n + 1 + l + 1 > WIRE_MAXNAME)
			return DNSD_EINVAL;
		out[n++] = (uint8_t)l;
		for (size_t k = i; k < j; k++) {
			unsigned char ch = (unsigned char)text[k];
			if (ch <= ' ' || ch >= 127)
				return DNSD_EINVAL;
			out[n++] = (uint8_t)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
		}
		i = j + 1;
	}
	out[n++] = 0;
	return (int)n;
}

int wire_name_to_text(const uint8_t *name, char *out, size_t outlen)
{
	size_t n = 0;
	if (!name[0]) {
		if (outlen < 2)
			return DNSD_ERANGE;
		out[0] = '.';
		out[1] = 0;
		return 1;
	}
	for (size_t i = 0; name[i]; i += name[i] + 1) {
		for (size_t j = 1; j <= name[i]; j++) {
			/* Presentation format (RFC 1035 5.1): a dot or backslash inside a
			 * label, and every byte that is not printable ASCII, escaped, so
			 * that a name from the network cannot forge a log line. */
			uint8_t c = name[i + j];
			int esc = c == '.' || c == '\\', dec = c <= ' ' || c >= 0x7f;
			if (n + (dec ? 4 : esc ? 2 : 1) + 2 > outlen)
				return DNSD_ERANGE;
			if (dec) {
				out[n++] = '\\';
				out[n++] = (char)('0' + c / 100);
				out[n++] = (char)('0' + c / 10 % 10);
				out[n++] = (char)('0' + c % 10);
			} else {
				if (esc)
					out[n++] = '\\';
				out[n++] = (char)c;
			}
		}
		out[n++] = '.';
	}
	out[n] = 0;
	return (int)n;
}

int wire_txt_rdata(const char *text, size_t textlen, uint8_t *out, size_t cap)
{
	size_t n = 0, i = 0;
	do {
		size_t chunk = textlen - i > 255 ? 255 : textlen - i;
		if (n + 1 + chunk > cap)
			return DNSD_ERANGE;
		out[n++] = (uint8_t)chunk;
		memcpy(out + n, text + i, chunk);
		n += chunk;
		i += chunk;
	} while (i < textlen);
	return (int)n;
}

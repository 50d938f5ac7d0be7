/* zone: reads zone files (through ldns) into static db zones. */
#include "zone.h"
#include "err.h"
#include <errno.h>
#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dyn_subtrees[] = { "dkim", "rp", "dmarc", "_report._dmarc" };

/* 1 if name (lowercase wire) is at or under sub.apex. */
static int under(const uint8_t *name, size_t nl, const char *sub, const struct db_zone *z)
{
	char text[WIRE_MAXNAME * 4 + 64];
	uint8_t w[WIRE_MAXNAME];
	char apex[WIRE_MAXNAME * 4 + 2];
	if (wire_name_to_text(z->apex, apex, sizeof(apex)) < 0)
		return 0;
	snprintf(text, sizeof(text), "%s.%s", sub, apex);
	int wl = wire_name_from_text(text, w);
	return wl > 0 && wire_name_under(name, nl, w, (size_t)wl);
}

/* ldns ends a record at the end of its line even inside a quoted string, and
 * reads a '(' that is never closed to the end of the file: a TXT record
 * "v=spf1 -all with no closing quote was served as if it had one, and a record
 * with a stray '(' swallowed the records after it. This reads the text as
 * ldns's tokenizer will (comments, backslash escapes, quotes, parentheses) and
 * refuses a quoted string that does not close on its own line, a ')' with no
 * '(' and a '(' still open at the end. Returns 0 or DNSD_EINVAL with err. */
static int check_syntax(const char *t, size_t n, const char *name, char *err, size_t errlen)
{
	int line = 1, quoted = 0, comment = 0, depth = 0, open_line = 0;
	char prev = 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (c == '\n') {
			if (quoted) {
				snprintf(err, errlen,
					 "zone file %s, line %d: a quoted string is not closed on "
					 "its line "
					 "(a missing closing quote)",
					 name, line);
				return DNSD_EINVAL;
			}
			comment = 0;
			line++;
			prev = c;
			continue;
		}
		if (comment)
			continue;
		if (prev != '\\') {
			if (c == '"') {
				quoted = !quoted;
			} else if (!quoted && c == ';') {
				comment = 1;
			} else if (!quoted && c == '(') {
				if (!depth++)
					open_line = line;
			} else if (!quoted && c == ')' && !depth) {
				snprintf(err, errlen,
					 "zone file %s, line %d: a ')' with no '(' before it", name,
					 line);
				return DNSD_EINVAL;
			} else if (!quoted && c == ')') {
				depth--;
			}
		}
		/* An escaped backslash escapes nothing after it. */
		prev = c == '\\' && prev == '\\' ? 0 : c;
	}
	if (quoted) {
		snprintf(err, errlen,
			 "zone file %s, line %d: a quoted string is not closed at the end of the "
			 "file "
			 "(a missing closing quote)",
			 name, line);
		return DNSD_EINVAL;
	}
	if (depth) {
		snprintf(err, errlen,
			 "zone file %s, line %d: a '(' is never closed (a missing parenthesis)",
			 name, open_line);
		return DNSD_EINVAL;
	}
	return 0;
}

/* 0 if a name of rr (its owner, or one in its data) is longer than a name can
 * be. ldns joins a relative name to $ORIGIN without looking at the length: a
 * 262-octet owner came out of a fuzzed file and overran the name buffers here. */
static int names_fit(const ldns_rr *rr)
{
	if (ldns_rdf_size(ldns_rr_owner(rr)) > WIRE_MAXNAME)
		return 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		if (f && ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME && ldns_rdf_size(f) > WIRE_MAXNAME)
			return 0;
	}
	return 1;
}

int zone_load(const char *path, const char *origin, const char *dyn_zone, struct db_zone **out,
	      char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0, cap = 0;
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open zone file %s: %s", path, strerror(errno));
		return DNSD_EIO;
	}
	/* Read whole, so that its syntax is checked before ldns sees any of it. */
	for (;;) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 65536;
			char *nt = cap >= ZONE_MAX_FILE ? NULL : realloc(text, nc);
			if (!nt) {
				snprintf(err, errlen,
					 cap >= ZONE_MAX_FILE ? "zone file %s: larger than %u MB"
							      : "zone file %s: out of memory",
					 path, ZONE_MAX_FILE >> 20);
				free(text);
				fclose(f);
				return cap >= ZONE_MAX_FILE ? DNSD_EINVAL : DNSD_ENOMEM;
			}
			text = nt;
			cap = nc;
		}
		size_t r = fread(text + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read zone file %s: %s", path, strerror(errno));
		free(text);
		fclose(f);
		return DNSD_EIO;
	}
	fclose(f);
	int rc = zone_parse(text, len, path, origin, dyn_zone, out, err, errlen);
	free(text);
	return rc;
}

int zone_parse(const char *text, size_t len, const char *path, const char *origin,
	       const char *dyn_zone, struct db_zone **out, char *err, size_t errlen)
{
	ldns_rr_list *all = NULL;
	ldns_rr *soa = NULL;
	ldns_rdf *orig = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	ldns_buffer *buf = NULL;
	struct db_zone *z = NULL;
	int line = 0, rc = DNSD_EINVAL;
	char owner_text[WIRE_MAXNAME * 4 + 2];

	*out = NULL;
	if (check_syntax(text, len, path, err, errlen))
		return DNSD_EINVAL;
	if (!len) {
		snprintf(err, errlen, "zone file %s: no SOA record", path);
		return DNSD_EINVAL;
	}
	FILE *fp = fmemopen((void *)text, len, "r");
	if (!fp) {
		snprintf(err, errlen, "zone file %s: %s", path, strerror(errno));
		return DNSD_ENOMEM;
	}
	if (origin && !(orig = ldns_dname_new_frm_str(origin))) {
		snprintf(err, errlen, "zone file %s: bad origin '%s'", path, origin);
		goto out;
	}
	/* Record by record rather than ldns_zone_new_frm_fp_l, which leaks what it had
	 * read when a later line is bad (a SIGHUP with a broken file must not leak). */
	all = ldns_rr_list_new();
	if (!all) {
		snprintf(err, errlen, "zone file %s: out of memory", path);
		rc = DNSD_ENOMEM;
		goto out;
	}
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &orig, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			/* Refused: a file named in the zone file would be read with
			 * dnsd's rights, from wherever the line says. */
			snprintf(
				err, errlen,
				"zone file %s, line %d: $INCLUDE is not supported (put the records "
				"in the file itself)",
				path, line);
			goto out_list;
		}
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "zone file %s, line %d: %s", path, line,
				 ldns_get_errorstr_by_id(st));
			ldns_rr_free(rr);
			goto out_list;
		}
		if (!names_fit(rr)) {
			snprintf(err, errlen,
				 "zone file %s, line %d: a name longer than 255 octets (RFC 1035 "
				 "3.1)",
				 path, line);
			ldns_rr_free(rr);
			goto out_list;
		}
		if (!ldns_rr_list_push_rr(all, rr)) {
			ldns_rr_free(rr);
			snprintf(err, errlen, "zone file %s: out of memory", path);
			rc = DNSD_ENOMEM;
			goto out_list;
		}
		if (!soa && ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
			soa = rr;
	}
	if (!soa || ldns_rr_rd_count(soa) != 7) {
		snprintf(err, errlen, "zone file %s: no SOA record", path);
		goto out_list;
	}
	ldns_rdf *apex = ldns_rr_owner(soa);
	z = db_zone_new(ldns_rdf_data(apex), ldns_rdf_size(apex));
	buf = ldns_buffer_new(65535);
	if (!z || !buf || !(z->path = strdup(path))) {
		snprintf(err, errlen, "zone file %s: out of memory", path);
		rc = DNSD_ENOMEM;
		goto out_list;
	}
	char apex_text[WIRE_MAXNAME * 4 + 2];
	wire_name_to_text(z->apex, apex_text, sizeof(apex_text));
	int dyn = 0;
	if (dyn_zone) {
		uint8_t dw[WIRE_MAXNAME];
		int dl = wire_name_from_text(dyn_zone, dw);
		dyn = dl == z->apex_len && memcmp(dw, z->apex, (size_t)dl) == 0;
	}

	/* Canonical order, for the digest. The SOA fields are read first: sorting
	 * moves the records, not what they hold. */
	z->file_serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	uint32_t min = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
	z->neg_ttl = min < ldns_rr_ttl(soa) ? min : ldns_rr_ttl(soa);
	ldns_rr_list_sort(all);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	int nsoa = 0;
	rc = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(all) && !rc; i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		ldns_rdf *ow = ldns_rr_owner(rr);
		uint8_t name[WIRE_MAXNAME];
		size_t nl = ldns_rdf_size(ow);
		ldns_rr_type t = ldns_rr_get_type(rr);
		memcpy(name, ldns_rdf_data(ow), nl);
		wire_name_lower(name, nl);
		wire_name_to_text(name, owner_text, sizeof(owner_text));
		rc = DNSD_EINVAL;
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			snprintf(err, errlen, "zone file %s: %s has a class other than IN", path, owner_text);
			break;
		}
		if (!wire_name_under(name, nl, z->apex, z->apex_len)) {
			snprintf(err, errlen, "zone file %s: %s is outside the zone %s", path, owner_text,
				 apex_text);
			break;
		}
		if (t == LDNS_RR_TYPE_SOA && ++nsoa > 1) {
			snprintf(err, errlen, "zone file %s: more than one SOA record", path);
			break;
		}
		if ((t == LDNS_RR_TYPE_SOA || t == LDNS_RR_TYPE_NS) && nl != z->apex_len) {
			snprintf(err, errlen,
				 "zone file %s: %s: delegations and SOA records below the apex are not supported",
				 path, owner_text);
			break;
		}
		if (nl > 1 && name[0] == 1 && name[1] == '*') {
			snprintf(err, errlen, "zone file %s: %s: wildcards are not supported", path,
				 owner_text);
			break;
		}
		for (size_t s = 0; dyn && s < sizeof(dyn_subtrees) / sizeof(dyn_subtrees[0]); s++) {
			if (under(name, nl, dyn_subtrees[s], z)) {
				snprintf(err, errlen,
					 "zone file %s: %s is in the dynamic subtree %s.%s, which the store answers",
					 path, owner_text, dyn_subtrees[s], apex_text);
				goto refused;
			}
		}
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
			snprintf(err, errlen, "zone file %s: %s: cannot encode record", path, owner_text);
			break;
		}
		size_t rdlen = ldns_buffer_position(buf);
		rc = db_zone_add(z, name, nl, (uint16_t)t, ldns_rr_ttl(rr), ldns_buffer_begin(buf), rdlen);
		if (rc) {
			snprintf(err, errlen, "zone file %s: %s: cannot add record: %s", path, owner_text,
				 dnsd_strerror(rc));
			break;
		}
		uint8_t hdr[10];
		wire_put16(hdr, (uint16_t)t);
		wire_put32(hdr + 2, ldns_rr_ttl(rr));
		wire_put16(hdr + 6, (uint16_t)rdlen);
		EVP_DigestUpdate(md, name, nl);
		EVP_DigestUpdate(md, hdr, 8);
		EVP_DigestUpdate(md, ldns_buffer_begin(buf), rdlen);
		continue;
refused:
		rc = DNSD_EINVAL;
		break;
}
	EVP_DigestFinal_ex(md, z->digest, NULL);
	EVP_MD_CTX_free(md);
	if (rc)
		goto out_list;
	*out = z;
	z = NULL;
out_list:
	ldns_rr_list_deep_free(all);
out:
	ldns_rdf_deep_free(orig);
	ldns_rdf_deep_free(prev);
	if (buf)
		ldns_buffer_free(buf);
	db_zone_free(z);
	fclose(fp);
	return rc;
}

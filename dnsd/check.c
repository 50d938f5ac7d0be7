/* check: the check (dnsdctl check, the API's POST .../check): looks up a customer domain's records
 * the way receivers will, through a recursive resolver (the system's or --resolver), follows each
 * CNAME chain itself, and says for every record whether it is in place and, if
 * not, what is wrong and how to fix it; then which way of sending is safe now. */
#include "check.h"
#include "names.h"
#include "probe.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* GCC's -Wrestrict (at -O1) takes two members of one struct check_domain, such
 * as x->detail written from x->expect, for a possible overlap: they never do. */
#pragma GCC diagnostic ignored "-Wrestrict"

const char *const check_outcome_name[] = {
	[CO_IN_PLACE] = "in-place",	  [CO_FLATTENED] = "flattened",
	[CO_MISSING] = "missing",	  [CO_WRONG] = "wrong-target",
	[CO_STALE] = "copied-stale",	  [CO_OTHER] = "other-content",
	[CO_OWN_DMARC] = "own-dmarc",	  [CO_ERROR] = "lookup-failed",
	[CO_PROBING] = "served-directly",
};

const char *const check_way_name[] = {
	[CW_ALIGNED] = "fully-aligned",
	[CW_DKIM] = "dkim-aligned",
	[CW_PLATFORM] = "platform-domain",
};

int check_outcome_ok(enum check_outcome o)
{
	return o == CO_IN_PLACE || o == CO_FLATTENED;
}

/* ---- the resolver ---- */

int check_parse_addr(const char *in, char *addr, size_t n, int *port)
{
	unsigned char buf[16];
	*port = 53;
	const char *p = in, *end;
	if (*in == '[') {
		end = strchr(in, ']');
		if (!end)
			return -1;
		p = in + 1;
		if (end[1] == ':')
			*port = atoi(end + 2);
		else if (end[1])
			return -1;
	} else {
		const char *colon = strchr(in, ':');
		end = colon && !strchr(colon + 1, ':') ? colon : in + strlen(in);
		if (*end == ':')
			*port = atoi(end + 1);
	}
	if ((size_t)(end - p) >= n)
		return -1;
	memcpy(addr, p, (size_t)(end - p));
	addr[end - p] = 0;
	if (*port < 1 || *port > 65535)
		return -1;
	return inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1 ? 0 : -1;
}

ldns_resolver *check_resolver(const char *spec, char *why, size_t n)
{
	ldns_resolver *r = NULL;
	if (!spec) {
		ldns_status s = ldns_resolver_new_frm_file(&r, NULL);
		if (s != LDNS_STATUS_OK || !r) {
			snprintf(why, n,
				 "cannot read the system's resolver from /etc/resolv.conf: %s; "
				 "give --resolver",
				 ldns_get_errorstr_by_id(s));
			return NULL;
		}
	} else {
		char addr[64];
		int port;
		if (check_parse_addr(spec, addr, sizeof(addr), &port)) {
			snprintf(why, n,
				 "--resolver '%s' is not ADDRESS[:PORT] (an IPv4 or IPv6 address)",
				 spec);
			return NULL;
		}
		ldns_rdf *ns = ldns_rdf_new_frm_str(
			strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
		r = ldns_resolver_new();
		if (!r || !ns || ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
			snprintf(why, n, "out of memory");
			if (ns)
				ldns_rdf_deep_free(ns);
			if (r)
				ldns_resolver_deep_free(r);
			return NULL;
		}
		ldns_rdf_deep_free(ns); /* the resolver holds a copy */
		ldns_resolver_set_port(r, (uint16_t)port);
	}
	ldns_resolver_set_recursive(r, true);
	ldns_resolver_set_dnssec(r, false);
	ldns_resolver_set_defnames(r, false);
	ldns_resolver_set_dnsrch(r, false);
	ldns_resolver_set_retry(r, 2);
	ldns_resolver_set_timeout(r, (struct timeval){2, 0});
	/* An RSA-4096 key is a TXT of some 800 octets: EDNS, then TCP when cut. */
	ldns_resolver_set_edns_udp_size(r, 1232);
	ldns_resolver_set_fallback(r, true);
	return r;
}

/* One answer: the rcode, or -1 (no answer) with why. */
struct ans {
	ldns_pkt *pkt;
	int rcode;
};

static int ask(ldns_resolver *r, const char *name, ldns_rr_type t, struct ans *a, char *why,
	       size_t n)
{
	ldns_rdf *q = ldns_dname_new_frm_str(name);
	a->pkt = NULL;
	a->rcode = -1;
	if (!q) {
		snprintf(why, n, "'%s' is not a domain name", name);
		return -1;
	}
	ldns_status s = ldns_resolver_send(&a->pkt, r, q, t, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rdf_deep_free(q);
	if (s != LDNS_STATUS_OK || !a->pkt) {
		snprintf(why, n, "no answer from the resolver for %s (%s)", name,
			 ldns_get_errorstr_by_id(s));
		if (a->pkt)
			ldns_pkt_free(a->pkt);
		a->pkt = NULL;
		return -1;
	}
	a->rcode = ldns_pkt_get_rcode(a->pkt);
	if (a->rcode != LDNS_RCODE_NOERROR && a->rcode != LDNS_RCODE_NXDOMAIN) {
		snprintf(why, n, "the resolver answered %s for %s %s",
			 ldns_lookup_by_id(ldns_rcodes, a->rcode)
				 ? ldns_lookup_by_id(ldns_rcodes, a->rcode)->name
				 : "an error",
			 name,
			 t == LDNS_RR_TYPE_CNAME ? "CNAME"
			 : t == LDNS_RR_TYPE_MX	 ? "MX"
						 : "TXT");
		ldns_pkt_free(a->pkt);
		a->pkt = NULL;
		return -1;
	}
	return 0;
}

/* A domain name as lowercase absolute text. */
static void dname_text(const ldns_rdf *d, char *out, size_t n)
{
	char *s = ldns_rdf2str(d);
	snprintf(out, n, "%s", s ? s : "");
	free(s);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

static int same_name(const char *a, const char *b)
{
	return !strcasecmp(a, b);
}

/* The RRs of type t owned by name in the answer section. */
static ldns_rr_list *owned(const struct ans *a, const char *name, ldns_rr_type t)
{
	ldns_rr_list *all = ldns_pkt_rr_list_by_type(a->pkt, t, LDNS_SECTION_ANSWER);
	ldns_rr_list *out = ldns_rr_list_new();
	char own[300];
	for (size_t i = 0; all && i < ldns_rr_list_rr_count(all); i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		dname_text(ldns_rr_owner(rr), own, sizeof(own));
		if (same_name(own, name))
			ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
	ldns_rr_list_deep_free(all);
	return out;
}

/* The CNAME at name: 1 with its target, 0 when there is none (*rcode says
 * NXDOMAIN or NOERROR), -1 on a failed lookup. */
static int cname_at(ldns_resolver *r, const char *name, char *target, size_t tn, int *rcode,
		    char *why, size_t wn)
{
	struct ans a;
	if (ask(r, name, LDNS_RR_TYPE_CNAME, &a, why, wn))
		return -1;
	*rcode = a.rcode;
	ldns_rr_list *l = owned(&a, name, LDNS_RR_TYPE_CNAME);
	int found = ldns_rr_list_rr_count(l) > 0 && ldns_rr_rd_count(ldns_rr_list_rr(l, 0)) == 1;
	if (found)
		dname_text(ldns_rr_rdf(ldns_rr_list_rr(l, 0), 0), target, tn);
	ldns_rr_list_deep_free(l);
	ldns_pkt_free(a.pkt);
	return found;
}

/* The TXT records at name (each one's strings joined), sorted, into out (a
 * "\n"-separated list); or, for MX, "PREF HOST" entries; their longest TTL
 * into *ttl (may be NULL). Returns how many, or -1 on a failed lookup. */
static int rrs_at(ldns_resolver *r, const char *name, ldns_rr_type t, char *out, size_t n,
		  uint32_t *ttl, char *why, size_t wn)
{
	struct ans a;
	char items[16][1100];
	int k = 0;
	out[0] = 0;
	if (ask(r, name, t, &a, why, wn))
		return -1;
	ldns_rr_list *l = owned(&a, name, t);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && k < 16; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		size_t o = 0, cap = sizeof(items[0]);
		if (ttl && ldns_rr_ttl(rr) > *ttl)
			*ttl = ldns_rr_ttl(rr);
		char *it = items[k];
		it[0] = 0;
		if (t == LDNS_RR_TYPE_MX && ldns_rr_rd_count(rr) == 2) {
			char host[300];
			dname_text(ldns_rr_rdf(rr, 1), host, sizeof(host));
			snprintf(it, cap, "%u %s", ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)), host);
		} else if (t == LDNS_RR_TYPE_TXT) {
			for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
				const ldns_rdf *f = ldns_rr_rdf(rr, j);
				const uint8_t *d = ldns_rdf_data(f);
				size_t sl = ldns_rdf_size(f) ? d[0] : 0;
				if (sl + 1 > ldns_rdf_size(f) || o + sl + 1 > cap)
					break;
				snprintf(it + o, cap - o, "%.*s", (int)sl, (const char *)d + 1);
				o += sl;
			}
		}
		/* Bytes as they come, as UTF-8 (U+FFFD for the others): the text goes
		 * into the store and into JSON. */
		char clean[sizeof(items[0])];
		snprintf(it, cap, "%s", names_utf8(clean, sizeof(clean), it));
		k++;
	}
	ldns_rr_list_deep_free(l);
	ldns_pkt_free(a.pkt);
	qsort(items, (size_t)k, sizeof(items[0]), (int (*)(const void *, const void *))strcmp);
	size_t o = 0;
	for (int i = 0; i < k; i++) {
		int w = snprintf(out + o, n - o, "%s%s", i ? "\n" : "", items[i]);
		if (w < 0 || (size_t)w >= n - o)
			break;
		o += (size_t)w;
	}
	return k;
}

/* ---- what the records hold ---- */

/* The value of tag in a tag=value list (DKIM, DMARC), blanks cut, into out;
 * 1 if found. */
int check_tag(const char *rec, const char *tag, char *out, size_t n)
{
	size_t tl = strlen(tag);
	for (const char *p = rec; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		const char *eq = strchr(p, '=');
		if (!end)
			end = p + strlen(p);
		if (eq && eq < end) {
			const char *k = p, *ke = eq;
			while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
				ke--;
			if ((size_t)(ke - k) == tl && !strncasecmp(k, tag, tl)) {
				size_t o = 0;
				for (const char *v = eq + 1; v < end && o + 1 < n; v++)
					if (!isspace((unsigned char)*v))
						out[o++] = *v;
				if (n)
					out[o] = 0;
				return 1;
			}
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* The first line of a "\n"-separated list that starts with prefix (case
 * ignored), into out; and how many lines do. */
int check_lines(const char *list, const char *prefix, char *out, size_t n)
{
	int k = 0;
	size_t pl = strlen(prefix);
	if (out && n)
		out[0] = 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l >= pl && !strncasecmp(p, prefix, pl) &&
		    (l == pl || p[pl] == ' ' || p[pl] == ';')) {
			if (!k++ && out)
				snprintf(out, n, "%.*s", (int)l, p);
		}
		p += l + (e ? 1 : 0);
	}
	return k;
}

/* Levenshtein distance of two short strings (at most 63 characters). */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[64];
	if (la > 63 || lb > 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cur = row[j];
			int best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* A value to show on one line: cut to 60 characters. */
const char *check_brief(const char *s, char *buf, size_t n)
{
	size_t l = strcspn(s, "\n");
	if (l > 60)
		snprintf(buf, n, "%.40s...%.17s", s, s + l - 17);
	else
		snprintf(buf, n, "%.*s", (int)l, s);
	return buf;
}

/* ---- one record ---- */

void check_direct(struct check_record *x, enum check_outcome o, const char *fix, const char *fmt,
		  ...)
{
	va_list ap;
	x->out = o;
	va_start(ap, fmt);
	vsnprintf(x->detail, sizeof(x->detail), fmt, ap);
	va_end(ap);
	if (fix)
		snprintf(x->hint, sizeof(x->hint), "%s the CNAME to %s", fix, x->expect);
}

/* Hints for a CNAME to the wrong target. */
static void wrong_target(const struct check_domain *d, struct check_record *x, const char *found)
{
	char exp_d[400], sel[300], tok[300], kind[300];
	size_t zl = strlen(d->zone), fl = strlen(found);
	snprintf(x->detail, sizeof(x->detail), "CNAME to %s, not to %s", found, x->expect);
	/* The host appended the customer's domain to a target without its final dot. */
	snprintf(exp_d, sizeof(exp_d), "%s%s.", x->expect, d->name);
	if (same_name(found, exp_d)) {
		snprintf(x->hint, sizeof(x->hint),
			 "the DNS host appended %s to the target: enter it with a final dot (%s), "
			 "or without "
			 "the domain if the host asks for a name relative to it",
			 d->name, x->expect);
		return;
	}
	/* Under the hosted zone: LABELS.KIND.ZONE. */
	if (fl > zl + 1 && same_name(found + fl - zl, d->zone) && found[fl - zl - 1] == '.') {
		char head[300];
		snprintf(head, sizeof(head), "%.*s", (int)(fl - zl - 1), found);
		char *dot = strrchr(head, '.');
		if (!dot)
			goto generic;
		snprintf(kind, sizeof(kind), "%s", dot + 1);
		*dot = 0;
		sel[0] = 0;
		char *d2 = strchr(head, '.');
		if (d2) {
			snprintf(sel, sizeof(sel), "%.*s", (int)(d2 - head), head);
			snprintf(tok, sizeof(tok), "%s", d2 + 1);
		} else {
			snprintf(tok, sizeof(tok), "%s", head);
		}
		if (!strcmp(x->purpose, "dkim") && !strcmp(kind, "dkim") &&
		    !strcmp(tok, d->token) && strcmp(sel, x->selector)) {
			for (int i = 0; i < d->nrec; i++)
				if (!strcmp(d->rec[i].purpose, "dkim") &&
				    !strcmp(d->rec[i].selector, sel)) {
					snprintf(x->hint, sizeof(x->hint),
						 "the selector %s points to another slot (%s): "
						 "each selector's CNAME "
						 "must point to its own name, %s",
						 x->selector, sel, x->expect);
					return;
				}
		}
		if (strcmp(tok, d->token)) {
			for (int i = 0; i < d->nother; i++)
				if (!strcmp(d->other_tokens[i].token, tok)) {
					snprintf(x->hint, sizeof(x->hint),
						 "%s is the code of another domain (%s): the "
						 "records were copied from "
						 "it; this domain's code is %s",
						 tok, d->other_tokens[i].name, d->token);
					return;
				}
			if (distance(tok, d->token) <= 3) {
				snprintf(x->hint, sizeof(x->hint),
					 "the code in the target has a typo: %s where it should be "
					 "%s",
					 tok, d->token);
				return;
			}
		}
	}
generic:
	snprintf(x->hint, sizeof(x->hint), "change the CNAME's target to %s", x->expect);
}

/* A record other than DKIM served directly with what dnsd serves now at its
 * target (the Return-Path's SPF and MX, the DMARC record): judged by what the
 * marker test found of the DNS host (probe_host), copies, flattens, or not
 * known, with each case's detail and what to do (check_direct's fix). */
struct same_texts {
	enum check_outcome copied; /* what a copy made by hand is */
	const char *copied_detail, *copied_fix;
	const char *flattens_detail;
	const char *unknown_detail, *unknown_fix;
};

static void judge_same(struct check_record *x, const char *host, const struct same_texts *t)
{
	if (host && !strcmp(host, "copies"))
		check_direct(x, t->copied, t->copied_fix, "%s", t->copied_detail);
	else if (host)
		check_direct(x, CO_FLATTENED, NULL, "%s", t->flattens_detail);
	else
		check_direct(x, CO_FLATTENED, t->unknown_fix, "%s", t->unknown_detail);
}

/* What the record serves directly (no CNAME at its name), compared with what
 * dnsd serves now at its target, through the same resolver, and with the
 * domain's earlier keys from the store. */
static void direct_content(ldns_resolver *r, struct check_domain *d, struct check_record *x,
			   const char *txt, int ntxt)
{
	char now[2200], why[300], b[80];
	/* What the marker test found of the host, for the records without a marker. */
	const char *host = probe_host(d);
	int nnow = rrs_at(r, x->expect, LDNS_RR_TYPE_TXT, now, sizeof(now), NULL, why, sizeof(why));
	if (!strcmp(x->purpose, "dkim")) {
		char p[1100] = "", pnow[1100] = "", rec[1100];
		check_lines(txt, "v=DKIM1", rec, sizeof(rec));
		if (!rec[0])
			snprintf(rec, sizeof(rec), "%.*s", (int)strcspn(txt, "\n"), txt);
		int has_p = check_tag(rec, "p", p, sizeof(p));
		if (nnow > 0)
			check_tag(now, "p", pnow, sizeof(pnow));
		/* What the resolver got from dnsd may be a cached older answer: the
		 * store says which key the slot holds now. */
		if (has_p && nnow > 0 && !strcmp(p, pnow) && strcmp(p, x->cur_pub)) {
			check_direct(
				x, CO_STALE, "replace the TXT with",
				"a TXT, not a CNAME, with the key the resolver still holds for the "
				"slot, not the one dnsd serves now: a copy made by hand, or a "
				"flattening host that has not caught up yet");
			return;
		}
		/* The key dnsd serves now: its marker tells a flattening host
		 * from a copy. */
		if (has_p && nnow > 0 && !strcmp(p, pnow)) {
			probe_dkim(d, x, rec);
			return;
		}
		for (int i = 0; has_p && p[0] && i < d->nkeys; i++)
			if (!strcmp(d->keys[i].pub, p)) {
				check_direct(
					x, CO_STALE, "delete the TXT and add",
					"a TXT copied by hand with a key this domain had before "
					"(%s in slot %s, %s), not a CNAME: it broke at a rotation",
					d->keys[i].state, d->keys[i].selector, d->keys[i].when);
				return;
			}
		check_direct(x, nnow < 0 ? CO_ERROR : CO_OTHER,
			     "an old copy or another provider's key: delete the TXT and add",
			     "a TXT that is not what dnsd serves (%s), not a CNAME",
			     check_brief(rec, b, sizeof(b)));
		return;
	}
	if (!strcmp(x->purpose, "return-path")) {
		char spf[1100], spfnow[1100], mx[600], mxnow[600], del[700];
		check_lines(txt, "v=spf1", spf, sizeof(spf));
		check_lines(nnow > 0 ? now : "", "v=spf1", spfnow, sizeof(spfnow));
		int nmx =
			rrs_at(r, x->name, LDNS_RR_TYPE_MX, mx, sizeof(mx), NULL, why, sizeof(why));
		int nmxnow = rrs_at(r, x->expect, LDNS_RR_TYPE_MX, mxnow, sizeof(mxnow), NULL, why,
				    sizeof(why));
		snprintf(del, sizeof(del), "delete the records at %s and add", x->name);
		if (spf[0] && !strcmp(spf, spfnow) && nmx >= 0 && nmx == nmxnow &&
		    !strcmp(mx, mxnow)) {
			const struct same_texts t = {
				.copied = CO_STALE,
				.copied_detail =
					"the SPF and MX dnsd serves now, copied by hand, not a "
					"CNAME (dnsd's DKIM marker found this domain's records "
					"copied): they go stale when the platform changes its "
					"SPF or bounce servers",
				.copied_fix = del,
				.flattens_detail =
					"the SPF and MX dnsd serves now, not a CNAME: the DNS "
					"host flattens the CNAME (dnsd's DKIM marker showed "
					"it), so they follow every change",
				.unknown_detail =
					"the SPF and MX dnsd serves now, not a CNAME: fine for "
					"now if the DNS host flattens the CNAME (it follows "
					"every change)",
				.unknown_fix =
					"if they were copied by hand they go stale when the "
					"platform changes its SPF or bounce servers: replace them "
					"with"};
			judge_same(x, host, &t);
			return;
		}
		check_direct(x, CO_STALE, del, "%s, not a CNAME, and not what dnsd serves now (%s)",
			     spf[0] ? "an SPF TXT" : "a TXT", check_brief(spfnow, b, sizeof(b)));
		return;
	}
	/* _dmarc: the hosted DMARC copied, or the customer's own. */
	char dm[1100], dmnow[1100];
	int ndm = check_lines(txt, "v=DMARC1", dm, sizeof(dm));
	check_lines(nnow > 0 ? now : "", "v=DMARC1", dmnow, sizeof(dmnow));
	if (ndm == 1 && !strcmp(dm, dmnow)) {
		static const struct same_texts t = {
			.copied = CO_OWN_DMARC,
			.copied_detail =
				"not delegated: a copy of the platform's DMARC record made by "
				"hand (dnsd's DKIM marker found this domain's records "
				"copied), so the domain's own: it does not follow the "
				"platform's changes",
			.copied_fix = "to have the platform publish DMARC, replace it with",
			.flattens_detail =
				"the DMARC record dnsd serves now, not a CNAME: the DNS host "
				"flattens the CNAME (dnsd's DKIM marker showed it), so it "
				"follows every change",
			.unknown_detail =
				"the DMARC record dnsd serves now, not a CNAME: fine for now "
				"if the DNS host flattens the CNAME",
			.unknown_fix = "if it was copied by hand it does not follow the platform's "
				       "changes: replace it with"};
		judge_same(x, host, &t);
		return;
	}
	check_direct(x, CO_OWN_DMARC, NULL, "not delegated: the domain's own DMARC record%s",
		     ndm > 1 ? "s (more than one)"
		     : ndm   ? ""
			     : " is missing its v=DMARC1");
	(void)ntxt;
}

/* Checks one record: follows the chain from its name, then judges. */
static void check_record(ldns_resolver *r, struct check_domain *d, struct check_record *x)
{
	char cur[300], tgt[300], why[300], txt[2200];
	int rcode = 0;
	snprintf(cur, sizeof(cur), "%s", x->name);
	x->nchain = 0;
	x->found[0] = x->detail[0] = x->hint[0] = 0;
	for (int i = 0; i < CHECK_CHAIN_MAX; i++) {
		int k = cname_at(r, cur, tgt, sizeof(tgt), &rcode, why, sizeof(why));
		if (k < 0) {
			x->out = CO_ERROR;
			snprintf(x->detail, sizeof(x->detail), "%s", why);
			return;
		}
		if (!k)
			break;
		snprintf(x->chain[x->nchain++], sizeof(x->chain[0]), "%s", tgt);
		snprintf(cur, sizeof(cur), "%s", tgt);
		/* The expected target is dnsd's: a TXT and MX name, never a CNAME. */
		if (same_name(tgt, x->expect))
			break;
	}
	if (x->nchain) {
		int hit = 0;
		for (int i = 0; i < x->nchain; i++)
			hit |= same_name(x->chain[i], x->expect);
		if (!hit) {
			x->out = CO_WRONG;
			wrong_target(d, x, x->chain[0]);
			return;
		}
		/* In place: the end of the chain answers what dnsd serves (read for
		 * the DMARC policy, and to show; check --all reads only the DMARC). */
		int n = 0;
		txt[0] = 0;
		if (!d->quick || !strcmp(x->purpose, "dmarc"))
			n = rrs_at(r, cur, LDNS_RR_TYPE_TXT, txt, sizeof(txt), NULL, why,
				   sizeof(why));
		x->out = CO_IN_PLACE;
		snprintf(x->found, sizeof(x->found), "%s", n > 0 ? txt : "");
		if (n < 0)
			snprintf(x->detail, sizeof(x->detail),
				 "CNAME in place, but its target did not answer: %s", why);
		else
			snprintf(x->detail, sizeof(x->detail), "CNAME to %s%s", x->expect,
				 x->nchain > 1 ? " (through a chain)" : "");
		return;
	}
	x->ttl = 0;
	int n = rrs_at(r, x->name, LDNS_RR_TYPE_TXT, txt, sizeof(txt), &x->ttl, why, sizeof(why));
	if (n < 0) {
		x->out = CO_ERROR;
		snprintf(x->detail, sizeof(x->detail), "%s", why);
		return;
	}
	if (n > 0) {
		snprintf(x->found, sizeof(x->found), "%s", txt);
		direct_content(r, d, x, txt, n);
		return;
	}
	x->out = CO_MISSING;
	snprintf(x->detail, sizeof(x->detail), "no record at %s (%s)", x->name,
		 rcode == LDNS_RCODE_NXDOMAIN ? "the name does not exist"
					      : "the name has no CNAME or TXT");
	/* The host appended the domain to the name: NAME.DOMAIN. */
	char alt[600];
	snprintf(alt, sizeof(alt), "%s%s.", x->name, d->name);
	if (strlen(alt) < 254 && cname_at(r, alt, tgt, sizeof(tgt), &rcode, why, sizeof(why)) == 1)
		snprintf(x->hint, sizeof(x->hint),
			 "there is a CNAME at %s instead: the DNS host appended %s to the name; "
			 "enter the name "
			 "without it (%.*s)",
			 alt, d->name, (int)(strlen(x->name) - strlen(d->name) - 2), x->name);
	else if (!strcmp(x->purpose, "dmarc"))
		snprintf(x->hint, sizeof(x->hint),
			 "optional: add the CNAME to %s to have the platform publish DMARC, or a "
			 "DMARC TXT of "
			 "your own",
			 x->expect);
	else
		snprintf(x->hint, sizeof(x->hint), "add the CNAME %s -> %s", x->name, x->expect);
}

/* ---- one domain ---- */

static void warn(struct check_domain *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(struct check_domain *d, const char *fmt, ...)
{
	if (d->nwarn >= CHECK_WARN_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->warn[d->nwarn++], sizeof(d->warn[0]), fmt, ap);
	va_end(ap);
}

void check_run(ldns_resolver *r, struct check_domain *d)
{
	char apex[300], txt[4400], why[300], dm[1100], v[64];
	int dkim_ok = 0, rp_ok = 0, aspf_s = 0, enforce = 0;
	struct check_record *dmarc = NULL;

	d->nwarn = d->nbad = 0;
	d->all_ok = 1;
	d->probe_start = d->nwaiting = 0;
	d->new_until = 0;
	d->verdict[0] = 0;
	for (int i = 0; i < d->nrec; i++) {
		struct check_record *x = &d->rec[i];
		check_record(r, d, x);
		int ok = check_outcome_ok(x->out);
		if (!x->optional && !ok)
			d->all_ok = 0;
		if (!x->optional && !ok && x->out != CO_PROBING)
			d->nbad++;
		/* A TXT whose marker test waits holds the key dnsd serves: DKIM
		 * passes with it now. A domain whose keys are all waiting: any
		 * in-place slot with a key. */
		if (!strcmp(x->purpose, "dkim") && (x->active || !d->has_active) &&
		    (ok || x->out == CO_PROBING))
			dkim_ok = 1;
		if (!strcmp(x->purpose, "return-path") && ok)
			rp_ok = 1;
		if (!strcmp(x->purpose, "dmarc"))
			dmarc = x;
		if (x->out == CO_ERROR)
			d->errors++;
	}
	/* At the domain itself: one SPF record only. */
	snprintf(apex, sizeof(apex), "%s.", d->name);
	int n = rrs_at(r, apex, LDNS_RR_TYPE_TXT, txt, sizeof(txt), NULL, why, sizeof(why));
	if (n > 0 && check_lines(txt, "v=spf1", NULL, 0) > 1)
		warn(d,
		     "conflict: %s has %d SPF records (v=spf1): receivers treat that as a "
		     "permanent error "
		     "(RFC 7208 3.2); merge them into one (the platform's SPF is at the "
		     "Return-Path, not here)",
		     d->name, check_lines(txt, "v=spf1", NULL, 0));
	/* The DMARC policy in force: the customer's own, or the hosted one. */
	dm[0] = 0;
	if (dmarc && (dmarc->out == CO_OWN_DMARC || check_outcome_ok(dmarc->out))) {
		int ndm = check_lines(dmarc->found, "v=DMARC1", dm, sizeof(dm));
		if (ndm > 1)
			warn(d,
			     "conflict: _dmarc.%s has %d DMARC records: receivers then apply none "
			     "(RFC 7489 6.6.3); "
			     "delete the old one",
			     d->name, ndm);
	}
	if (dm[0]) {
		if (check_tag(dm, "aspf", v, sizeof(v)) && !strcasecmp(v, "s")) {
			aspf_s = 1;
			warn(d,
			     "DMARC aspf=s: SPF aligns only when the Return-Path domain is %s "
			     "itself, and the "
			     "platform's is %s.%s; remove aspf=s (relaxed is the default) or rely "
			     "on DKIM alone",
			     d->name, d->rp, d->name);
		}
		if (check_tag(dm, "adkim", v, sizeof(v)) && !strcasecmp(v, "s"))
			warn(d,
			     "DMARC adkim=s: DKIM aligns only when the From domain is exactly %s: "
			     "mail From a "
			     "subdomain of it fails DMARC; remove adkim=s (relaxed is the default)",
			     d->name);
		if (check_tag(dm, "p", v, sizeof(v)) &&
		    (!strcasecmp(v, "quarantine") || !strcasecmp(v, "reject")))
			enforce = 1;
	}
	if (dkim_ok && rp_ok && !aspf_s)
		d->way = CW_ALIGNED;
	else if (dkim_ok)
		d->way = CW_DKIM;
	else
		d->way = CW_PLATFORM;
	if (enforce && d->way == CW_PLATFORM)
		warn(d,
		     "DMARC p=%s while DKIM is not in place: mail the platform sends From %s is "
		     "%s; "
		     "send From the platform's own domain until the DKIM records are in place",
		     v, d->name, !strcasecmp(v, "reject") ? "rejected" : "sent to spam");
}

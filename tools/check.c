/* check: dnsdctl check: looks up a customer domain's records the way receivers
 * will, through a recursive resolver (the system's or --resolver), follows each
 * CNAME chain itself, and says for every record whether it is in place and, if
 * not, what is wrong and how to fix it; then which way of sending is safe now. */
#include "check.h"
#include "err.h"
#include "names.h"
#include "probe.h"
#include <ctype.h>
#include <ldns/ldns.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
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
		if (ctl_parse_addr(spec, addr, sizeof(addr), &port)) {
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
			x->out = CO_STALE;
			snprintf(x->detail, sizeof(x->detail),
				 "a TXT, not a CNAME, with the key the resolver still holds for "
				 "the slot, "
				 "not the one dnsd serves now: a copy made by hand, or a "
				 "flattening host "
				 "that has not caught up yet");
			snprintf(x->hint, sizeof(x->hint), "replace the TXT with the CNAME to %s",
				 x->expect);
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
				x->out = CO_STALE;
				snprintf(x->detail, sizeof(x->detail),
					 "a TXT copied by hand with a key this domain had before "
					 "(%s in slot %s, "
					 "%s), not a CNAME: it broke at a rotation",
					 d->keys[i].state, d->keys[i].selector, d->keys[i].when);
				snprintf(x->hint, sizeof(x->hint),
					 "delete the TXT and add the CNAME to %s", x->expect);
				return;
			}
		x->out = nnow < 0 ? CO_ERROR : CO_OTHER;
		snprintf(x->detail, sizeof(x->detail),
			 "a TXT that is not what dnsd serves (%s), not a CNAME",
			 check_brief(rec, b, sizeof(b)));
		snprintf(x->hint, sizeof(x->hint),
			 "an old copy or another provider's key: delete the TXT and add the CNAME "
			 "to %s",
			 x->expect);
		return;
	}
	if (!strcmp(x->purpose, "return-path")) {
		char spf[1100], spfnow[1100], mx[600], mxnow[600];
		check_lines(txt, "v=spf1", spf, sizeof(spf));
		check_lines(nnow > 0 ? now : "", "v=spf1", spfnow, sizeof(spfnow));
		int nmx =
			rrs_at(r, x->name, LDNS_RR_TYPE_MX, mx, sizeof(mx), NULL, why, sizeof(why));
		int nmxnow = rrs_at(r, x->expect, LDNS_RR_TYPE_MX, mxnow, sizeof(mxnow), NULL, why,
				    sizeof(why));
		if (spf[0] && !strcmp(spf, spfnow) && nmx >= 0 && nmx == nmxnow &&
		    !strcmp(mx, mxnow) && host && !strcmp(host, "copies")) {
			x->out = CO_STALE;
			snprintf(x->detail, sizeof(x->detail),
				 "the SPF and MX dnsd serves now, copied by hand, not a CNAME "
				 "(dnsd's "
				 "DKIM marker found this domain's records copied): they go stale "
				 "when "
				 "the platform changes its SPF or bounce servers");
			snprintf(x->hint, sizeof(x->hint),
				 "delete the records at %s and add the CNAME to %s", x->name,
				 x->expect);
			return;
		}
		if (spf[0] && !strcmp(spf, spfnow) && nmx >= 0 && nmx == nmxnow &&
		    !strcmp(mx, mxnow) && host) {
			x->out = CO_FLATTENED;
			snprintf(x->detail, sizeof(x->detail),
				 "the SPF and MX dnsd serves now, not a CNAME: the DNS host "
				 "flattens "
				 "the CNAME (dnsd's DKIM marker showed it), so they follow every "
				 "change");
			return;
		}
		if (spf[0] && !strcmp(spf, spfnow) && nmx >= 0 && nmx == nmxnow &&
		    !strcmp(mx, mxnow)) {
			x->out = CO_FLATTENED;
			snprintf(x->detail, sizeof(x->detail),
				 "the SPF and MX dnsd serves now, not a CNAME: fine for now if the "
				 "DNS host flattens "
				 "the CNAME (it follows every change)");
			snprintf(x->hint, sizeof(x->hint),
				 "if they were copied by hand they go stale when the platform "
				 "changes its SPF or "
				 "bounce servers: replace them with the CNAME to %s",
				 x->expect);
			return;
		}
		x->out = CO_STALE;
		snprintf(x->detail, sizeof(x->detail),
			 "%s, not a CNAME, and not what dnsd serves now (%s)",
			 spf[0] ? "an SPF TXT" : "a TXT", check_brief(spfnow, b, sizeof(b)));
		snprintf(x->hint, sizeof(x->hint),
			 "delete the records at %s and add the CNAME to %s", x->name, x->expect);
		return;
	}
	/* _dmarc: the hosted DMARC copied, or the customer's own. */
	char dm[1100], dmnow[1100];
	int ndm = check_lines(txt, "v=DMARC1", dm, sizeof(dm));
	check_lines(nnow > 0 ? now : "", "v=DMARC1", dmnow, sizeof(dmnow));
	if (ndm == 1 && !strcmp(dm, dmnow) && host && !strcmp(host, "copies")) {
		x->out = CO_OWN_DMARC;
		snprintf(
			x->detail, sizeof(x->detail),
			"not delegated: a copy of the platform's DMARC record made by hand (dnsd's "
			"DKIM marker found this domain's records copied), so the domain's own: it "
			"does not follow the platform's changes");
		snprintf(x->hint, sizeof(x->hint),
			 "to have the platform publish DMARC, replace it with the CNAME to %s",
			 x->expect);
		return;
	}
	if (ndm == 1 && !strcmp(dm, dmnow) && host) {
		x->out = CO_FLATTENED;
		snprintf(x->detail, sizeof(x->detail),
			 "the DMARC record dnsd serves now, not a CNAME: the DNS host flattens the "
			 "CNAME (dnsd's DKIM marker showed it), so it follows every change");
		return;
	}
	if (ndm == 1 && !strcmp(dm, dmnow)) {
		x->out = CO_FLATTENED;
		snprintf(x->detail, sizeof(x->detail),
			 "the DMARC record dnsd serves now, not a CNAME: fine for now if the DNS "
			 "host flattens the "
			 "CNAME");
		snprintf(x->hint, sizeof(x->hint),
			 "if it was copied by hand it does not follow the platform's "
			 "changes: replace it with the CNAME to %s",
			 x->expect);
		return;
	}
	x->out = CO_OWN_DMARC;
	snprintf(x->detail, sizeof(x->detail), "not delegated: the domain's own DMARC record%s",
		 ndm > 1 ? "s (more than one)"
		 : ndm	 ? ""
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
		 * passes with it now. */
		if (!strcmp(x->purpose, "dkim") && x->active && (ok || x->out == CO_PROBING))
			dkim_ok = 1;
		if (!strcmp(x->purpose, "return-path") && ok)
			rp_ok = 1;
		if (!strcmp(x->purpose, "dmarc"))
			dmarc = x;
		if (x->out == CO_ERROR)
			d->errors++;
	}
	/* A domain whose keys are all waiting: any in-place slot with a key. */
	if (!d->has_active)
		for (int i = 0; i < d->nrec; i++)
			if (!strcmp(d->rec[i].purpose, "dkim") &&
			    (check_outcome_ok(d->rec[i].out) || d->rec[i].out == CO_PROBING))
				dkim_ok = 1;
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

void check_print(const struct check_domain *d, int json)
{
	static const char *const verdict[] = {
		[CW_ALIGNED] = "fully aligned: send From %s (DKIM signs as %s, bounces go to "
			       "%s.%s: SPF aligns too)",
		[CW_DKIM] = "DKIM-aligned only: send From %s; DMARC passes on DKIM alone (d=%s); "
			    "the Return-Path "
			    "stays the platform's own%s%s",
		[CW_PLATFORM] = "not yet: send From the platform's own domain, with %s as the From "
				"name only%s%s%s",
	};
	char b[80];
	if (json) {
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "domain", d->name);
		json_kv(stdout, &f, "token", d->token);
		json_kv(stdout, &f, "way", check_way_name[d->way]);
		printf(", \"ok\": %s, \"records\": [", d->all_ok ? "true" : "false");
		for (int i = 0; i < d->nrec; i++) {
			const struct check_record *x = &d->rec[i];
			int g = 1;
			printf("%s{", i ? ", " : "");
			json_kv(stdout, &g, "name", x->name);
			json_kv(stdout, &g, "purpose", x->purpose);
			if (x->selector[0])
				json_kv(stdout, &g, "selector", x->selector);
			printf(", \"optional\": %s", x->optional ? "true" : "false");
			g = 0;
			json_kv(stdout, &g, "expected", x->expect);
			json_kv(stdout, &g, "outcome", check_outcome_name[x->out]);
			json_kv(stdout, &g, "detail", x->detail);
			if (x->hint[0])
				json_kv(stdout, &g, "hint", x->hint);
			if (x->found[0])
				json_kv(stdout, &g, "found", x->found);
			printf(", \"chain\": [");
			for (int j = 0; j < x->nchain; j++) {
				printf("%s", j ? ", " : "");
				json_str(stdout, x->chain[j]);
			}
			printf("]}");
		}
		printf("], \"warnings\": [");
		for (int i = 0; i < d->nwarn; i++) {
			printf("%s", i ? ", " : "");
			json_str(stdout, d->warn[i]);
		}
		printf("], \"changes\": [");
		for (int i = 0; i < d->nchanges; i++) {
			printf("%s", i ? ", " : "");
			json_str(stdout, d->changes[i]);
		}
		printf("]");
		f = 0;
		if (d->state[0]) {
			char t[40];
			json_kv(stdout, &f, "state", d->state);
			json_kv(stdout, &f, "since", fmt_time(d->since, t, sizeof(t)));
		}
		if (d->mark[0])
			json_kv(stdout, &f, "marker", d->mark);
		if (d->host[0] && !d->mark_at)
			json_kv(stdout, &f, "host", d->host);
		if (d->mark_at) {
			char t[40];
			json_kv(stdout, &f, "marker_changed", fmt_time(d->mark_at, t, sizeof(t)));
			json_kv(stdout, &f, "marker_test_until",
				fmt_time(d->probe_until, t, sizeof(t)));
		}
		printf("}\n");
		return;
	}
	printf("%s (code %s):\n", shown(d->name), d->token);
	for (int i = 0; i < d->nrec; i++) {
		const struct check_record *x = &d->rec[i];
		printf("  %-13s %s%s\n", check_outcome_name[x->out], shown(x->name),
		       x->optional ? " (optional)" : "");
		for (int j = 0; j < x->nchain; j++)
			printf("                  -> CNAME %s\n", shown(x->chain[j]));
		if (x->found[0])
			printf("                  -> TXT \"%s\"\n",
			       shown(check_brief(x->found, b, sizeof(b))));
		printf("                %s\n", shown(x->detail));
		if (x->hint[0])
			printf("                fix: %s\n", shown(x->hint));
	}
	for (int i = 0; i < d->nwarn; i++)
		printf("  warning: %s\n", shown(d->warn[i]));
	printf("  way of sending now: ");
	if (d->way == CW_ALIGNED)
		printf(verdict[CW_ALIGNED], d->name, d->name, d->rp, d->name);
	else if (d->way == CW_DKIM)
		printf(verdict[CW_DKIM], d->name, d->name,
		       d->all_ok ? "" : "; for full alignment, ",
		       d->all_ok ? "" : "put the Return-Path record in place");
	else
		printf(verdict[CW_PLATFORM], d->name, d->errors ? " (some lookups failed)" : "",
		       "; DKIM for the domain needs its selector records in place", "");
	printf("\n  %s\n", d->all_ok ? "every required record is in place"
				     : "not every required record is in place");
	if (d->state[0]) {
		char t[40];
		printf("  state: %s since %s\n", d->state, fmt_time(d->since, t, sizeof(t)));
	}
	if (d->mark_at) {
		char t1[16], t2[16];
		printf("  marker test: dnsd changed the marker of its DKIM records to n=%s at %s; "
		       "check again after %s\n",
		       d->mark, probe_hhmm(d->mark_at, t1, sizeof(t1)),
		       probe_hhmm(d->probe_until, t2, sizeof(t2)));
	} else if (d->host[0]) {
		char t[40];
		printf("  DNS host: %s (dnsd's marker test, %s)\n",
		       !strcmp(d->host, "flattens")
			       ? "flattens the CNAMEs: the records served directly follow dnsd"
			       : "the records served directly were copied by hand",
		       fmt_time(d->host_at, t, sizeof(t)));
	}
	for (int i = 0; i < d->nchanges; i++)
		printf("  changed: %s\n", shown(d->changes[i]));
}

/* ---- from the store ---- */

void check_load(struct ctx *c, const struct domain_row *row, struct check_domain *d)
{
	memset(d, 0, sizeof(*d));
	d->id = row->id;
	snprintf(d->name, sizeof(d->name), "%s", row->name);
	snprintf(d->token, sizeof(d->token), "%s", row->token);
	snprintf(d->rp, sizeof(d->rp), "%s", row->rp);
	snprintf(d->zone, sizeof(d->zone), "%s", c->zone);
	sqlite3_stmt *st = q(
		c,
		"SELECT s.id, s.selector, EXISTS (SELECT 1 FROM keys k WHERE k.slot_id = s.id AND "
		"k.state = 'active'), s.eligible, ifnull((SELECT public_key FROM keys k WHERE "
		"k.slot_id = s.id AND k.state != 'revoked'), '') FROM slots s WHERE s.domain_id = "
		"? "
		"ORDER BY s.position",
		"i", row->id);
	while (sqlite3_step(st) == SQLITE_ROW && d->nrec < CHECK_REC_MAX - 2) {
		const char *sel = (const char *)sqlite3_column_text(st, 1);
		if (!sel || !names_label(sel, 63))
			continue;
		struct check_record *x = &d->rec[d->nrec++];
		x->slot_id = sqlite3_column_int64(st, 0);
		snprintf(x->selector, sizeof(x->selector), "%s", sel);
		x->active = sqlite3_column_int(st, 2);
		x->eligible = sqlite3_column_int(st, 3);
		snprintf(x->cur_pub, sizeof(x->cur_pub), "%s", sqlite3_column_text(st, 4));
		d->has_active |= x->active;
		x->purpose = "dkim";
		snprintf(x->name, sizeof(x->name), "%s._domainkey.%s.", sel, row->name);
		snprintf(x->expect, sizeof(x->expect), "%s.%s.dkim.%s", sel, row->token, c->zone);
	}
	sqlite3_finalize(st);
	struct check_record *x = &d->rec[d->nrec++];
	x->purpose = "return-path";
	snprintf(x->name, sizeof(x->name), "%s.%s.", row->rp, row->name);
	snprintf(x->expect, sizeof(x->expect), "%s.rp.%s", row->token, c->zone);
	x = &d->rec[d->nrec++];
	x->purpose = "dmarc";
	x->optional = 1;
	snprintf(x->name, sizeof(x->name), "_dmarc.%s.", row->name);
	snprintf(x->expect, sizeof(x->expect), "%s.dmarc.%s", row->token, c->zone);

	/* The keys it had: a TXT copied from one of them is stale. */
	st = q(c,
	       "SELECT k.public_key, k.state, s.selector, coalesce(k.revoked_at, k.retired_at, "
	       "k.created_at) "
	       "FROM keys k JOIN slots s ON s.id = k.slot_id WHERE s.domain_id = ? AND +k.state IN "
	       "('retired', "
	       "'revoked') ORDER BY k.id DESC",
	       "i", row->id);
	while (sqlite3_step(st) == SQLITE_ROW && d->nkeys < CHECK_KEYS_MAX) {
		struct check_key *k = &d->keys[d->nkeys++];
		snprintf(k->pub, sizeof(k->pub), "%s", sqlite3_column_text(st, 0));
		snprintf(k->state, sizeof(k->state), "%s", sqlite3_column_text(st, 1));
		snprintf(k->selector, sizeof(k->selector), "%s", sqlite3_column_text(st, 2));
		char t[40];
		snprintf(k->when, sizeof(k->when), "since %s",
			 fmt_time(sqlite3_column_int64(st, 3), t, sizeof(t)));
	}
	sqlite3_finalize(st);
	/* Other domains of the same tenant: records copied from one name its code. */
	st = q(c,
	       "SELECT name, token FROM domains WHERE tenant_id = ? AND id != ? AND state = "
	       "'active' LIMIT ?",
	       "iii", row->tenant_id, row->id, (int64_t)CHECK_OTHER_MAX);
	while (sqlite3_step(st) == SQLITE_ROW && d->nother < CHECK_OTHER_MAX) {
		snprintf(d->other_tokens[d->nother].name, sizeof(d->other_tokens[0].name), "%s",
			 sqlite3_column_text(st, 0));
		snprintf(d->other_tokens[d->nother].token, sizeof(d->other_tokens[0].token), "%s",
			 sqlite3_column_text(st, 1));
		d->nother++;
	}
	sqlite3_finalize(st);
	probe_load(c, d);
}

/* ---- state ---- */

static void change(struct check_domain *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void change(struct check_domain *d, const char *fmt, ...)
{
	if (d->nchanges >= (int)(sizeof(d->changes) / sizeof(d->changes[0])))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->changes[d->nchanges++], sizeof(d->changes[0]), fmt, ap);
	va_end(ap);
}

static void event(struct ctx *c, int64_t domain_id, const char *name, const char *ev,
		  const char *outcome, int64_t now, const char *cause)
{
	sqlite3_stmt *st =
		prep(c, "INSERT INTO check_events(domain_id, name, event, outcome, at, cause) "
			"VALUES (?, ?, ?, ?, ?, ?)");
	sqlite3_bind_int64(st, 1, domain_id);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev, -1, SQLITE_STATIC);
	if (outcome)
		sqlite3_bind_text(st, 4, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_text(st, 6, cause, -1, SQLITE_STATIC);
	run(c, st);
}

/* The next state from the last one and whether the record (or domain) is in
 * place now: verified; drifted once verified and no longer; else pending. */
static const char *next_state(const char *old, int ok)
{
	if (ok)
		return "verified";
	return old && (!strcmp(old, "verified") || !strcmp(old, "drifted")) ? "drifted" : "pending";
}

/* check_save's work, inside the caller's transaction. */
static void save_rows(struct ctx *c, struct check_domain *d, int64_t now)
{
	char cause[700];
	d->nchanges = 0;
	for (int i = 0; i < d->nrec; i++) {
		struct check_record *x = &d->rec[i];
		if (x->out == CO_ERROR)
			continue;
		int ok = check_outcome_ok(x->out);
		const char *outn = check_outcome_name[x->out];
		char *old = one_text(
			c, q(c, "SELECT state FROM record_checks WHERE domain_id = ? AND name = ?",
			     "is", d->id, x->name));
		/* While its marker test waits, a record checked before keeps its state
		 * and its slot's eligibility: the test, not the record, changed. */
		int keep = x->out == CO_PROBING && old && strcmp(old, "pending");
		const char *st = keep ? old : next_state(old, ok);
		snprintf(cause, sizeof(cause), "check: %s: %s", outn, x->detail);
		if (!old || strcmp(old, st)) {
			event(c, d->id, x->name, st, outn, now, cause);
			change(d, "%s: %s %s -> %s (%s)", d->name, x->name, old ? old : "new", st,
			       outn);
		}
		run(c, q(c,
			 "INSERT INTO record_checks(domain_id, name, purpose, state, outcome, "
			 "detail, since, checked_at, "
			 "verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, CASE WHEN ?8 THEN "
			 "?7 END) "
			 "ON CONFLICT (domain_id, name) DO UPDATE SET state = ?4, outcome = ?5, "
			 "detail = ?6, "
			 "since = CASE WHEN state = ?4 THEN since ELSE ?7 END, checked_at = ?7, "
			 "verified_at = CASE WHEN ?8 THEN ?7 ELSE verified_at END",
			 "isssssii", d->id, x->name, x->purpose, st, outn, x->detail, now,
			 (int64_t)ok));
		free(old);
		/* The key lifecycle activates keys only in eligible slots: a slot is
		 * eligible while its record is in place. */
		if (!strcmp(x->purpose, "dkim") && x->slot_id && !keep) {
			run(c,
			    q(c, "UPDATE slots SET eligible = ?1 WHERE id = ?2 AND eligible != ?1",
			      "ii", (int64_t)ok, x->slot_id));
			if (sqlite3_changes(c->db)) {
				event(c, d->id, x->name, ok ? "eligible" : "ineligible", outn, now,
				      cause);
				change(d, "%s: slot %s %s", d->name, x->selector,
				       ok ? "eligible again (its record is in place)"
					  : "not eligible: no key activates there until its record "
					    "is in place");
			}
		}
	}
	char *old = one_text(
		c, q(c, "SELECT state FROM domain_checks WHERE domain_id = ?", "i", d->id));
	int keep = !d->all_ok && !d->nbad && old && strcmp(old, "pending"); /* a test waits */
	const char *st = (d->errors && !d->all_ok) || keep ? (old ? old : "pending")
							   : next_state(old, d->all_ok);
	int64_t again = d->errors && !d->all_ok	  ? CHECK_AGAIN_FAILED
			: !strcmp(st, "verified") ? CHECK_AGAIN_VERIFIED
			: !strcmp(st, "drifted")  ? CHECK_AGAIN_DRIFTED
						  : CHECK_AGAIN_PENDING;
	if (again > CHECK_AGAIN_PENDING && one_int(c,
						   q(c,
						     "SELECT count(*) FROM keys k JOIN slots s ON "
						     "s.id = k.slot_id WHERE s.domain_id = ? AND "
						     "+k.state = 'published'",
						     "i", d->id),
						   0))
		again = CHECK_AGAIN_PENDING;
	if (!old || strcmp(old, st)) {
		snprintf(cause, sizeof(cause), "check: %s",
			 d->all_ok ? "every required record in place"
				   : "a required record is not in place");
		event(c, d->id, NULL, st, NULL, now, cause);
		change(d, "%s: %s -> %s", d->name, old ? old : "new", st);
	}
	run(c,
	    q(c,
	      "INSERT INTO domain_checks(domain_id, state, way, since, checked_at, verified_at, "
	      "next_at) "
	      "VALUES (?1, ?2, ?3, ?4, ?4, CASE WHEN ?5 THEN ?4 END, ?6) ON CONFLICT (domain_id) "
	      "DO UPDATE SET "
	      "state = ?2, way = ?3, since = CASE WHEN state = ?2 THEN since ELSE ?4 END, "
	      "checked_at = ?4, "
	      "verified_at = CASE WHEN ?5 THEN ?4 ELSE verified_at END, next_at = ?6",
	      "issiii", d->id, st, check_way_name[d->way], now, (int64_t)d->all_ok, now + again));
	snprintf(d->state, sizeof(d->state), "%s", st); /* st may be old's text */
	/* The marker test: a new marker, or its answer; a test that waits has the
	 * domain checked again once the TTLs ran out. */
	int64_t probe = probe_save(c, d, now);
	if (probe && probe < again)
		run(c, q(c, "UPDATE domain_checks SET next_at = ? WHERE domain_id = ?", "ii",
			 now + probe, d->id));
	free(old);
	d->since = one_int(
		c, q(c, "SELECT since FROM domain_checks WHERE domain_id = ?", "i", d->id), now);
}

void check_save(struct ctx *c, struct check_domain *d, int64_t now)
{
	begin(c);
	save_rows(c, d, now);
	commit(c);
}

/* ---- check --all ---- */

struct pool {
	struct check_domain **d;
	int n, next, errors;
	const char *spec;
	double rate;
	struct timespec pace; /* when the next domain may start */
	pthread_mutex_t mu;
	char why[300];
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	char why[300];
	ldns_resolver *r = check_resolver(p->spec, why, sizeof(why));
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int i = p->next < p->n && r ? p->next++ : -1;
		struct timespec at = p->pace, now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (at.tv_sec < now.tv_sec || (at.tv_sec == now.tv_sec && at.tv_nsec < now.tv_nsec))
			at = now;
		if (i >= 0) {
			long step = (long)(1e9 / p->rate);
			p->pace.tv_sec = at.tv_sec + (at.tv_nsec + step) / 1000000000L;
			p->pace.tv_nsec = (at.tv_nsec + step) % 1000000000L;
		}
		if (!r && !p->errors++)
			snprintf(p->why, sizeof(p->why), "%s", why);
		pthread_mutex_unlock(&p->mu);
		if (i < 0)
			break;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
		check_run(r, p->d[i]);
	}
	if (r)
		ldns_resolver_deep_free(r);
	return NULL;
}

void cmd_check_all(struct ctx *c)
{
	long conc = num_arg(c, c->o.concurrency, "--concurrency", 1, 256, 32);
	long rate = num_arg(c, c->o.rate, "--rate", 1, 100000, 50);
	long max = num_arg(c, c->o.max_domains, "--max-domains", 1, 100000000, 10000);
	char why[300];
	/* Every write of a check row runs its table's CHECK constraints, and SQLite
	 * builds an ephemeral table (with its own page cache) for each IN list of
	 * three or more values in them, freed at the end of the statement. glibc
	 * then gives the top of the heap back (brk) and takes it again at the next
	 * statement: a page fault per page and, once the workers have run on other
	 * CPUs, a TLB shootdown each time. Keeping the heap (a few MiB at most, the
	 * most the run ever held) takes that out (docs/benchmarks.md). */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 1 << 20);
	open_store(c, 0);
	/* The resolver is read once here, so that a bad one fails before any work. */
	ldns_resolver *r0 = check_resolver(c->o.resolver, why, sizeof(why));
	if (!r0)
		fail(c, "%s", why);
	ldns_resolver_deep_free(r0);
	struct pool p = {.spec = c->o.resolver, .rate = (double)rate};
	pthread_mutex_init(&p.mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &p.pace);
	int batch = (int)(conc * 2 < 64 ? 64 : conc * 2);
	p.d = calloc((size_t)batch, sizeof(*p.d));
	pthread_t *th = calloc((size_t)conc, sizeof(*th));
	if (!p.d || !th)
		fail(c, "out of memory");
	long done = 0, nstate[3] = {0}, nfail = 0, nchanges = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0); /* the run's length: not the test clock */
	int first = 1;
	if (c->o.json)
		printf("{\"changes\": [");
	/* First the domains checked before and due again, the oldest due first
	 * (index domain_checks_next: CROSS JOIN keeps it first); then those never
	 * checked, in id order from a cursor. Each query reads one batch, never
	 * the whole table. The keys are found through the domain's slots (+state:
	 * not through keys_state, which holds every domain's revoked keys). */
	int phase = 0;
	int64_t last_new = 0;
	while (done < max) {
		int64_t now = store_now(), lim = max - done < batch ? max - done : batch;
		struct domain_row row;
		sqlite3_stmt *st = phase == 0
					   ? q(c,
					       "SELECT d.id, d.tenant_id, d.name, d.token, "
					       "d.return_path FROM domain_checks k "
					       "CROSS JOIN domains d ON d.id = k.domain_id WHERE "
					       "k.next_at <= ? AND d.state = 'active' "
					       "ORDER BY k.next_at LIMIT ?",
					       "ii", now, lim)
					   : q(c,
					       "SELECT d.id, d.tenant_id, d.name, d.token, "
					       "d.return_path FROM domains d "
					       "WHERE d.state = 'active' AND d.id > ? AND NOT "
					       "EXISTS (SELECT 1 FROM domain_checks k "
					       "WHERE k.domain_id = d.id) ORDER BY d.id LIMIT ?",
					       "ii", last_new, lim);
		int fetched = 0;
		p.n = p.next = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			fetched++;
			memset(&row, 0, sizeof(row));
			row.id = sqlite3_column_int64(st, 0);
			row.tenant_id = sqlite3_column_int64(st, 1);
			snprintf(row.name, sizeof(row.name), "%s", sqlite3_column_text(st, 2));
			snprintf(row.token, sizeof(row.token), "%s", sqlite3_column_text(st, 3));
			snprintf(row.rp, sizeof(row.rp), "%s", sqlite3_column_text(st, 4));
			if (phase)
				last_new = row.id;
			/* A row no record can be made of (SQL past the checks) is passed by. */
			if (!keys_token_valid(row.token) || !names_label(row.rp, 63))
				continue;
			if (!p.d[p.n] && !(p.d[p.n] = malloc(sizeof(struct check_domain))))
				fail(c, "out of memory");
			check_load(c, &row, p.d[p.n]);
			p.d[p.n++]->quick = 1;
		}
		sqlite3_finalize(st);
		if (!fetched) {
			if (phase++)
				break;
			continue;
		}
		if (!p.n)
			continue;
		int nth = (int)(conc < p.n ? conc : p.n);
		for (int i = 0; i < nth; i++)
			if (pthread_create(&th[i], NULL, worker, &p))
				fail(c, "cannot start a thread");
		for (int i = 0; i < nth; i++)
			pthread_join(th[i], NULL);
		if (p.errors)
			fail(c, "%s", p.why);
		/* One transaction a batch: a few dozen domains' rows, one commit. */
		begin(c);
		for (int i = 0; i < p.n; i++)
			save_rows(c, p.d[i], store_now());
		commit(c);
		for (int i = 0; i < p.n; i++) {
			struct check_domain *d = p.d[i];
			done++;
			nfail += d->errors > 0;
			nstate[!strcmp(d->state, "verified")  ? 1
			       : !strcmp(d->state, "drifted") ? 2
							      : 0]++;
			for (int j = 0; j < d->nchanges; j++, nchanges++) {
				if (c->o.json) {
					printf("%s", first ? "" : ", ");
					json_str(stdout, d->changes[j]);
				} else {
					printf("%s\n", shown(d->changes[j]));
				}
				first = 0;
			}
		}
		fflush(stdout);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t secs = (int64_t)(t1.tv_sec - t0.tv_sec);
	if (c->o.json) {
		printf("], \"checked\": %ld, \"pending\": %ld, \"verified\": %ld, \"drifted\": "
		       "%ld, "
		       "\"lookups_failed\": %ld, \"seconds\": %lld}\n",
		       done, nstate[0], nstate[1], nstate[2], nfail, (long long)secs);
	} else {
		printf("checked %ld domain(s) in %lld s: %ld verified, %ld pending, %ld drifted "
		       "(%ld with failed "
		       "lookups); %ld change(s)\n",
		       done, (long long)secs, nstate[1], nstate[0], nstate[2], nfail, nchanges);
	}
	for (int i = 0; i < batch; i++)
		free(p.d[i]);
	free(p.d);
	free(th);
	pthread_mutex_destroy(&p.mu);
}

/* ---- the command ---- */

void cmd_check(struct ctx *c)
{
	char why[300];
	if (c->o.all) {
		if (c->o.npos != 1)
			die_usage("check --all takes no domain");
		cmd_check_all(c);
		return;
	}
	if (c->o.npos != 2)
		die_usage("check DOMAIN [--resolver ADDR[:PORT]] [--json], or check --all");
	open_store(c, 0);
	struct domain_row row;
	need_domain(c, c->o.pos[1], &row, 0);
	struct check_domain *d = calloc(1, sizeof(*d));
	if (!d)
		fail(c, "out of memory");
	check_load(c, &row, d);
	ldns_resolver *r = check_resolver(c->o.resolver, why, sizeof(why));
	if (!r)
		fail(c, "%s", why);
	check_run(r, d);
	ldns_resolver_deep_free(r);
	check_save(c, d, store_now());
	check_print(d, c->o.json);
	int rc = d->all_ok ? 0 : d->errors ? 1 : EXIT_CHECK;
	free(d);
	if (rc) {
		fflush(stdout);
		wr_close(&c->w);
		exit(rc);
	}
}

/* ns: the name servers that must serve a key before it signs (ns.h). */
#include "ns.h"
#include "err.h"
#include "store.h"
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Asks one name server for the zone's SOA serial. Returns the serial, or -1
 * with why filled in. */
static int64_t ns_serial(const char *zone, const char *addr, int port, char *why, size_t n)
{
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *ns = ldns_rdf_new_frm_str(
		strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
	ldns_rdf *name = ldns_dname_new_frm_str(zone);
	ldns_pkt *pkt = NULL;
	int64_t serial = -1;
	if (!r || !ns || !name) {
		snprintf(why, n, "out of memory");
		goto out;
	}
	ldns_resolver_push_nameserver(r, ns);
	ldns_resolver_set_port(r, (uint16_t)port);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_retry(r, 2);
	ldns_resolver_set_timeout(r, (struct timeval){1, 0});
	ldns_status s = ldns_resolver_send(&pkt, r, name, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	if (s != LDNS_STATUS_OK || !pkt) {
		snprintf(why, n, "no answer (%s)", ldns_get_errorstr_by_id(s));
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR || !ldns_pkt_aa(pkt)) {
		snprintf(why, n, "not authoritative for %s (rcode %d)", zone,
			 ldns_pkt_get_rcode(pkt));
		goto out;
	}
	ldns_rr_list *ans = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_SOA, LDNS_SECTION_ANSWER);
	if (ans && ldns_rr_list_rr_count(ans) && ldns_rr_rd_count(ldns_rr_list_rr(ans, 0)) >= 3)
		serial = ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ans, 0), 2));
	else
		snprintf(why, n, "no SOA in its answer");
	ldns_rr_list_deep_free(ans);
out:
	if (pkt)
		ldns_pkt_free(pkt);
	if (name)
		ldns_rdf_deep_free(name);
	if (r)
		ldns_resolver_deep_free(r); /* frees the pushed name server too (a copy) */
	if (ns)
		ldns_rdf_deep_free(ns);
	return serial;
}

int ns_gather(struct wr *w, struct ns_answer **out, size_t *n)
{
	struct ns_answer *a = NULL;
	size_t na = 0;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st =
		wr_q(w, "SELECT id, name, address, port FROM nameservers ORDER BY name", "");
	while (wr_step(w, st)) {
		struct ns_answer *x = realloc(a, (na + 1) * sizeof(*a));
		if (!x) {
			wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
			break;
		}
		a = x;
		struct ns_answer *r = &a[na++];
		r->id = sqlite3_column_int64(st, 0);
		snprintf(r->name, sizeof(r->name), "%s", sqlite3_column_text(st, 1));
		r->why[0] = 0;
		r->serial = ns_serial(w->zone, (const char *)sqlite3_column_text(st, 2),
				      sqlite3_column_int(st, 3), r->why, sizeof(r->why));
	}
	sqlite3_finalize(st);
	if (w->rc) {
		free(a);
		return w->rc;
	}
	*out = a;
	*n = na;
	return 0;
}

int ns_record_tx(struct wr *w, const struct ns_answer *a, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++)
		wr_run(w,
		       wr_q(w,
			    "UPDATE nameservers SET serial = CASE WHEN ?2 >= 0 THEN ?2 ELSE serial "
			    "END, checked_at = ?3, error = nullif(?4, '') WHERE id = ?1",
			    "iiis", a[i].id, a[i].serial, now, a[i].why));
	return w->rc;
}

int ns_check(struct wr *w)
{
	struct ns_answer *a;
	size_t n;
	if (ns_gather(w, &a, &n))
		return w->rc;
	if (!wr_begin(w))
		ns_record_tx(w, a, n, store_now());
	free(a);
	return wr_commit(w);
}

int ns_add(struct wr *w, const char *name, const char *address, int port)
{
	unsigned char buf[16];
	size_t nl = name ? strlen(name) : 0;
	if (w->rc)
		return w->rc;
	if (!nl || nl > 100 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != nl)
		return wr_fail(w, DNSD_EINVAL, "name",
			       "invalid name server name '%s': letters, digits, '.', '-', '_'",
			       name ? name : "");
	if (!address ||
	    (inet_pton(AF_INET, address, buf) != 1 && inet_pton(AF_INET6, address, buf) != 1))
		return wr_fail(w, DNSD_EINVAL, "address",
			       "invalid address '%s': an IPv4 or IPv6 address",
			       address ? address : "");
	if (port < 1 || port > 65535)
		return wr_fail(w, DNSD_EINVAL, "port", "invalid port %d: 1 to 65535", port);
	if (wr_begin(w))
		return w->rc;
	wr_run(w, wr_q(w,
		       "INSERT INTO nameservers(name, address, port) VALUES (?1, ?2, ?3) "
		       "ON CONFLICT(name) DO UPDATE SET address = ?2, port = ?3, serial = NULL, "
		       "checked_at = NULL, error = NULL",
		       "ssi", name, address, (int64_t)port));
	return wr_commit(w);
}

int ns_remove(struct wr *w, const char *name)
{
	if (wr_begin(w))
		return w->rc;
	wr_run(w, wr_q(w, "DELETE FROM nameservers WHERE name = ?", "s", name));
	if (!w->rc && !sqlite3_changes(w->db))
		wr_fail(w, DNSD_ENOENT, "name", "no name server '%s' (see 'dnsdctl ns list')",
			name);
	return wr_commit(w);
}

int ns_list(struct wr *w, int (*each)(void *arg, const struct ns_info *ns), void *arg)
{
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT name, address, port, serial, ifnull(checked_at, 0), error, "
		     "CASE WHEN serial IS NULL OR " NS_SERIAL_GE_SQL(
			     "serial",
			     "(SELECT value FROM serial)") " THEN 0 ELSE max(1, ?1 - "
							   "ifnull((SELECT min(at) FROM journal j "
							   "WHERE NOT (" NS_SERIAL_GE_SQL(
								   "n.serial",
								   "j.serial") ")), ?1)) END "
									       "FROM nameservers n "
									       "ORDER BY name",
		     "i", store_now());
	int stop = 0;
	while (!stop && wr_step(w, st)) {
		struct ns_info i = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.address = (const char *)sqlite3_column_text(st, 1),
			.port = sqlite3_column_int64(st, 2),
			.has_serial = sqlite3_column_type(st, 3) != SQLITE_NULL,
			.serial = sqlite3_column_int64(st, 3),
			.checked_at = sqlite3_column_int64(st, 4),
			.error = (const char *)sqlite3_column_text(st, 5),
			.lag_seconds = sqlite3_column_int64(st, 6),
		};
		stop = each(arg, &i);
	}
	sqlite3_finalize(st);
	return w->rc ? w->rc : stop;
}

/* probe: the DKIM marker test: tells a DNS host that flattens the customer's
 * CNAMEs from TXT records copied by hand, by a marker in dnsd's DKIM answers
 * that the check changes (see probe.h). The marker is in the store, so the
 * secondaries get it by IXFR, and it changes only for the domains whose records
 * are served directly, once per test: never the whole zone on a clock. */
#include "probe.h"
#include "err.h"
#include "lifecycle.h"
#include "schema.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *probe_hhmm(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		snprintf(buf, n, "?");
	else
		strftime(buf, n, "%H:%M UTC", &tm);
	return buf;
}

int probe_load(struct wr *w, struct check_domain *d)
{
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT d.mark, k.mark_at, k.probe_until, k.host, k.host_at FROM domains d "
		     "LEFT JOIN domain_checks k ON k.domain_id = d.id WHERE d.id = ?",
		     "i", d->id);
	if (wr_step(w, st)) {
		const char *m = (const char *)sqlite3_column_text(st, 0);
		const char *h = (const char *)sqlite3_column_text(st, 3);
		if (store_mark_valid(m))
			memcpy(d->mark, m, SCHEMA_MARK_LEN + 1);
		d->mark_at = sqlite3_column_int64(st, 1);
		d->probe_until = sqlite3_column_int64(st, 2);
		if (h && (!strcmp(h, "flattens") || !strcmp(h, "copies")))
			snprintf(d->host, sizeof(d->host), "%s", h);
		d->host_at = sqlite3_column_int64(st, 4);
	}
	wr_done(w, st);
	/* A test without a marker to look for (SQL past dnsdctl): none in flight. */
	if (!d->mark[0] || !d->probe_until)
		d->mark_at = 0;
	d->ttl_dkim = (uint32_t)lc_setting_i64(w, "ttl_dkim", 3600);
	d->now = store_now();
	return w->rc;
}

/* The answer of this check: a copy anywhere in the domain outweighs the rest. */
static void found(struct check_domain *d, const char *host)
{
	if (strcmp(d->verdict, "copies"))
		snprintf(d->verdict, sizeof(d->verdict), "%s", host);
}

void probe_dkim(struct check_domain *d, struct check_record *x, const char *rec)
{
	char cn[64] = "", t1[16], t2[16], when[40];
	check_tag(rec, "n", cn, sizeof(cn));
	int shows = d->mark[0] && !strcmp(cn, d->mark);
	const char *again = "replace the TXT with";

	if (d->mark_at && shows) {
		check_direct(
			x, CO_FLATTENED, NULL,
			"a TXT, not a CNAME, that follows what dnsd serves: it shows the marker "
			"dnsd changed at %s (n=%s), so the DNS host flattens the CNAME (fine: "
			"it follows every change)",
			probe_hhmm(d->mark_at, t1, sizeof(t1)), d->mark);
		found(d, "flattens");
		return;
	}
	if (d->mark_at && d->now >= d->probe_until) {
		check_direct(
			x, CO_STALE, again,
			"a TXT copied by hand, not a CNAME: dnsd changed its marker (n=) at %s "
			"and this TXT still shows %s%s after the TTLs ran out; it has the key "
			"dnsd serves now, but breaks at the next rotation",
			probe_hhmm(d->mark_at, t1, sizeof(t1)), cn[0] ? "n=" : "no marker",
			cn[0] ? cn : "");
		found(d, "copies");
		return;
	}
	if (!d->mark_at && !strcmp(d->host, "flattens") && shows &&
	    d->now < d->host_at + PROBE_AGAIN) {
		check_direct(x, CO_FLATTENED, NULL,
			     "a TXT, not a CNAME, with the key and marker dnsd serves now: the DNS "
			     "host flattens the CNAME (dnsd's marker test found it %s; fine: it "
			     "follows every change)",
			     lc_time(d->host_at, when, sizeof(when)));
		return;
	}
	if (!d->mark_at && !strcmp(d->host, "copies") && !shows) {
		check_direct(
			x, CO_STALE, again,
			"a TXT copied by hand, not a CNAME (dnsd's marker test found it %s: the "
			"TXT does not follow what dnsd serves); it has the key dnsd serves now, "
			"but breaks at the next rotation",
			lc_time(d->host_at, when, sizeof(when)));
		return;
	}
	/* Not known yet (or known a day ago, or a fresh copy of the marker): a
	 * test starts now, or is waiting for the TTLs. */
	int64_t until = d->probe_until;
	if (!d->mark_at) {
		int64_t wait = (int64_t)d->ttl_dkim + x->ttl + PROBE_MARGIN;
		until = d->now + (wait < PROBE_WAIT_MAX ? wait : PROBE_WAIT_MAX);
		d->probe_start = 1;
		if (until > d->new_until)
			d->new_until = until;
	}
	d->nwaiting++;
	/* A host found flattening before stays in place while it is tested again. */
	check_direct(x,
		     !strcmp(d->host, "flattens") && (shows || d->mark_at) ? CO_FLATTENED
									   : CO_PROBING,
		     NULL,
		     "served directly (a TXT with the key dnsd serves now, not a CNAME): dnsd "
		     "changed a marker in it at %s; a check after %s tells whether your DNS host "
		     "follows it (a host that flattens the CNAME does; a copy made by hand does "
		     "not, and breaks at the next rotation)",
		     probe_hhmm(d->mark_at ? d->mark_at : d->now, t1, sizeof(t1)),
		     probe_hhmm(until, t2, sizeof(t2)));
	snprintf(x->hint, sizeof(x->hint), "nothing to do but wait; or %s the CNAME to %s now",
		 again, x->expect);
}

const char *probe_host(const struct check_domain *d)
{
	if (d->verdict[0])
		return d->verdict;
	return d->host[0] ? d->host : NULL;
}

int64_t probe_save(struct wr *w, struct check_domain *d, int64_t now)
{
	if (d->probe_start) {
		char m[17];
		do {
			if (keys_token_new(m)) {
				wr_fail(w, DNSD_ESTORE, NULL, "cannot make a random marker");
				return 0;
			}
			m[SCHEMA_MARK_LEN] = 0;
		} while (!strcmp(m, d->mark));
		wr_run(w, wr_q(w, "UPDATE domains SET mark = ? WHERE id = ?", "si", m, d->id));
		wr_run(w, wr_q(w,
			       "UPDATE domain_checks SET mark_at = ?, probe_until = ? WHERE "
			       "domain_id = ?",
			       "iii", d->now, d->new_until, d->id));
		if (w->rc)
			return 0;
		memcpy(d->mark, m, SCHEMA_MARK_LEN + 1);
		d->mark_at = d->now;
		d->probe_until = d->new_until;
	} else if (d->mark_at && !d->nwaiting) {
		/* Answered; or nothing is served directly any more: over. */
		wr_run(w, wr_q(w,
			       "UPDATE domain_checks SET mark_at = NULL, probe_until = NULL, "
			       "host = CASE WHEN ?1 != '' THEN ?1 ELSE host END, "
			       "host_at = CASE WHEN ?1 != '' THEN ?2 ELSE host_at END WHERE "
			       "domain_id = ?3",
			       "sii", d->verdict, now, d->id));
		if (w->rc)
			return 0;
		d->mark_at = 0;
		if (d->verdict[0]) {
			snprintf(d->host, sizeof(d->host), "%s", d->verdict);
			d->host_at = now;
		}
		return 0;
	}
	if (!d->mark_at)
		return 0;
	return d->probe_until - now > 1 ? d->probe_until - now : 1;
}

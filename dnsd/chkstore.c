/* chkstore: the check's store part (check.h): what to check for a domain, what
 * the check found kept as each record's and the domain's state with an event
 * for each change, the slots' eligibility, the domains due for check --all, and
 * the stored state the API reads. */
#include "check.h"
#include "err.h"
#include "lifecycle.h"
#include "names.h"
#include "probe.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- from the store ---- */

int check_load(struct wr *w, const struct reg_domain *row, struct check_domain *d)
{
	memset(d, 0, sizeof(*d));
	d->id = row->id;
	snprintf(d->name, sizeof(d->name), "%s", row->name);
	snprintf(d->token, sizeof(d->token), "%s", row->token);
	snprintf(d->rp, sizeof(d->rp), "%s", row->rp);
	snprintf(d->zone, sizeof(d->zone), "%s", w->zone);
	sqlite3_stmt *st = wr_q(
		w,
		"SELECT s.id, s.selector, EXISTS (SELECT 1 FROM keys k WHERE k.slot_id = s.id AND "
		"k.state = 'active'), s.eligible, ifnull((SELECT public_key FROM keys k WHERE "
		"k.slot_id = s.id AND k.state != 'revoked'), '') FROM slots s WHERE s.domain_id = "
		"? "
		"ORDER BY s.position",
		"i", row->id);
	while (d->nrec < CHECK_REC_MAX - 2 && wr_step(w, st)) {
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
		snprintf(x->expect, sizeof(x->expect), "%s.%s.dkim.%s", sel, row->token, w->zone);
	}
	wr_done(w, st);
	struct check_record *x = &d->rec[d->nrec++];
	x->purpose = "return-path";
	snprintf(x->name, sizeof(x->name), "%s.%s.", row->rp, row->name);
	snprintf(x->expect, sizeof(x->expect), "%s.rp.%s", row->token, w->zone);
	x = &d->rec[d->nrec++];
	x->purpose = "dmarc";
	x->optional = 1;
	snprintf(x->name, sizeof(x->name), "_dmarc.%s.", row->name);
	snprintf(x->expect, sizeof(x->expect), "%s.dmarc.%s", row->token, w->zone);

	/* The keys it had: a TXT copied from one of them is stale. */
	st = wr_q(w,
		  "SELECT k.public_key, k.state, s.selector, coalesce(k.revoked_at, k.retired_at, "
		  "k.created_at) "
		  "FROM keys k JOIN slots s ON s.id = k.slot_id WHERE s.domain_id = ? AND +k.state "
		  "IN "
		  "('retired', "
		  "'revoked') ORDER BY k.id DESC",
		  "i", row->id);
	while (d->nkeys < CHECK_KEYS_MAX && wr_step(w, st)) {
		struct check_key *k = &d->keys[d->nkeys++];
		snprintf(k->pub, sizeof(k->pub), "%s", sqlite3_column_text(st, 0));
		snprintf(k->state, sizeof(k->state), "%s", sqlite3_column_text(st, 1));
		snprintf(k->selector, sizeof(k->selector), "%s", sqlite3_column_text(st, 2));
		char t[40];
		snprintf(k->when, sizeof(k->when), "since %s",
			 lc_time(sqlite3_column_int64(st, 3), t, sizeof(t)));
	}
	wr_done(w, st);
	/* Other domains of the same tenant: records copied from one name its code. */
	st = wr_q(w,
		  "SELECT name, token FROM domains WHERE tenant_id = ? AND id != ? AND state = "
		  "'active' LIMIT ?",
		  "iii", row->tenant_id, row->id, (int64_t)CHECK_OTHER_MAX);
	while (d->nother < CHECK_OTHER_MAX && wr_step(w, st)) {
		snprintf(d->other_tokens[d->nother].name, sizeof(d->other_tokens[0].name), "%s",
			 sqlite3_column_text(st, 0));
		snprintf(d->other_tokens[d->nother].token, sizeof(d->other_tokens[0].token), "%s",
			 sqlite3_column_text(st, 1));
		d->nother++;
	}
	wr_done(w, st);
	if (w->rc)
		return w->rc;
	return probe_load(w, d);
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

static void event(struct wr *w, int64_t domain_id, const char *name, const char *ev,
		  const char *outcome, int64_t now, const char *cause)
{
	wr_run(w, wr_q(w,
		       "INSERT INTO check_events(domain_id, name, event, outcome, at, cause) "
		       "VALUES (?, ?, ?, ?, ?, ?)",
		       "isssis", domain_id, name, ev, outcome, now, cause));
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
static int save_rows(struct wr *w, struct check_domain *d, int64_t now)
{
	char cause[700];
	d->nchanges = 0;
	for (int i = 0; i < d->nrec; i++) {
		struct check_record *x = &d->rec[i];
		if (x->out == CO_ERROR)
			continue;
		int ok = check_outcome_ok(x->out);
		const char *outn = check_outcome_name[x->out];
		char *old = wr_text(
			w,
			wr_q(w, "SELECT state FROM record_checks WHERE domain_id = ? AND name = ?",
			     "is", d->id, x->name));
		/* While its marker test waits, a record checked before keeps its state
		 * and its slot's eligibility: the test, not the record, changed. */
		int keep = x->out == CO_PROBING && old && strcmp(old, "pending");
		const char *st = keep ? old : next_state(old, ok);
		snprintf(cause, sizeof(cause), "check: %s: %s", outn, x->detail);
		if (!old || strcmp(old, st)) {
			event(w, d->id, x->name, st, outn, now, cause);
			change(d, "%s: %s %s -> %s (%s)", d->name, x->name, old ? old : "new", st,
			       outn);
		}
		wr_run(w,
		       wr_q(w,
			    "INSERT INTO record_checks(domain_id, name, purpose, state, outcome, "
			    "detail, since, checked_at, "
			    "verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, CASE WHEN ?8 "
			    "THEN "
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
			wr_run(w, wr_q(w,
				       "UPDATE slots SET eligible = ?1 WHERE id = ?2 AND eligible "
				       "!= ?1",
				       "ii", (int64_t)ok, x->slot_id));
			if (!w->rc && sqlite3_changes(w->db)) {
				event(w, d->id, x->name, ok ? "eligible" : "ineligible", outn, now,
				      cause);
				change(d, "%s: slot %s %s", d->name, x->selector,
				       ok ? "eligible again (its record is in place)"
					  : "not eligible: no key activates there until its record "
					    "is in place");
			}
		}
	}
	char *old = wr_text(
		w, wr_q(w, "SELECT state FROM domain_checks WHERE domain_id = ?", "i", d->id));
	int keep = !d->all_ok && !d->nbad && old && strcmp(old, "pending"); /* a test waits */
	const char *st = (d->errors && !d->all_ok) || keep ? (old ? old : "pending")
							   : next_state(old, d->all_ok);
	int64_t again = d->errors && !d->all_ok	  ? CHECK_AGAIN_FAILED
			: !strcmp(st, "verified") ? CHECK_AGAIN_VERIFIED
			: !strcmp(st, "drifted")  ? CHECK_AGAIN_DRIFTED
						  : CHECK_AGAIN_PENDING;
	if (again > CHECK_AGAIN_PENDING &&
	    wr_int(w,
		   wr_q(w,
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
		event(w, d->id, NULL, st, NULL, now, cause);
		change(d, "%s: %s -> %s", d->name, old ? old : "new", st);
	}
	wr_run(w, wr_q(w,
		       "INSERT INTO domain_checks(domain_id, state, way, since, checked_at, "
		       "verified_at, "
		       "next_at) "
		       "VALUES (?1, ?2, ?3, ?4, ?4, CASE WHEN ?5 THEN ?4 END, ?6) ON CONFLICT "
		       "(domain_id) "
		       "DO UPDATE SET "
		       "state = ?2, way = ?3, since = CASE WHEN state = ?2 THEN since ELSE ?4 END, "
		       "checked_at = ?4, "
		       "verified_at = CASE WHEN ?5 THEN ?4 ELSE verified_at END, next_at = ?6",
		       "issiii", d->id, st, check_way_name[d->way], now, (int64_t)d->all_ok,
		       now + again));
	snprintf(d->state, sizeof(d->state), "%s", st); /* st may be old's text */
	/* The marker test: a new marker, or its answer; a test that waits has the
	 * domain checked again once the TTLs ran out. */
	int64_t probe = probe_save(w, d, now);
	if (probe && probe < again)
		wr_run(w, wr_q(w, "UPDATE domain_checks SET next_at = ? WHERE domain_id = ?", "ii",
			       now + probe, d->id));
	free(old);
	d->since = wr_int(
		w, wr_q(w, "SELECT since FROM domain_checks WHERE domain_id = ?", "i", d->id), now);
	return w->rc;
}

int check_save(struct wr *w, struct check_domain *d, int64_t now)
{
	if (wr_begin(w))
		return w->rc;
	if (save_rows(w, d, now)) {
		wr_rollback(w);
		return w->rc;
	}
	return wr_commit(w);
}

int check_save_all(struct wr *w, struct check_domain **d, int n)
{
	if (wr_begin(w))
		return w->rc;
	for (int i = 0; i < n; i++)
		if (save_rows(w, d[i], store_now())) {
			wr_rollback(w);
			return w->rc;
		}
	return wr_commit(w);
}

/* ---- check --all ---- */

int check_due(struct wr *w, int phase, int64_t now, int limit, int64_t *after, int *nread,
	      int (*each)(void *arg, const struct reg_domain *d), void *arg)
{
	/* First the domains checked before and due again, the oldest due first
	 * (index domain_checks_next: CROSS JOIN keeps it first); then those never
	 * checked, in id order from a cursor. Each query reads one batch, never
	 * the whole table. */
	sqlite3_stmt *st = phase == 0 ? wr_q(w,
					     "SELECT d.id, d.tenant_id, d.name, d.token, "
					     "d.return_path FROM domain_checks k "
					     "CROSS JOIN domains d ON d.id = k.domain_id WHERE "
					     "k.next_at <= ? AND d.state = 'active' "
					     "ORDER BY k.next_at LIMIT ?",
					     "ii", now, (int64_t)limit)
				      : wr_q(w,
					     "SELECT d.id, d.tenant_id, d.name, d.token, "
					     "d.return_path FROM domains d "
					     "WHERE d.state = 'active' AND d.id > ? AND NOT "
					     "EXISTS (SELECT 1 FROM domain_checks k "
					     "WHERE k.domain_id = d.id) ORDER BY d.id LIMIT ?",
					     "ii", *after, (int64_t)limit);
	int rc = 0;
	*nread = 0;
	while (!rc && wr_step(w, st)) {
		struct reg_domain row;
		const char *name = (const char *)sqlite3_column_text(st, 2);
		const char *token = (const char *)sqlite3_column_text(st, 3);
		const char *rp = (const char *)sqlite3_column_text(st, 4);
		memset(&row, 0, sizeof(row));
		(*nread)++;
		row.id = sqlite3_column_int64(st, 0);
		row.tenant_id = sqlite3_column_int64(st, 1);
		if (phase)
			*after = row.id;
		/* A row no record can be made of (SQL past the checks) is passed by. */
		if (!name || !token || !rp || !keys_token_valid(token) || !names_label(rp, 63))
			continue;
		snprintf(row.name, sizeof(row.name), "%s", name);
		snprintf(row.token, sizeof(row.token), "%s", token);
		snprintf(row.rp, sizeof(row.rp), "%s", rp);
		snprintf(row.state, sizeof(row.state), "active");
		rc = each(arg, &row);
	}
	wr_done(w, st);
	return w->rc ? w->rc : rc;
}

/* ---- what the store holds (the API's GET) ---- */

static void col_text(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const char *v = (const char *)sqlite3_column_text(st, i);
	snprintf(out, n, "%s", v ? v : "");
}

int check_stored(struct wr *w, const struct reg_domain *row, struct check_state *cs,
		 int (*each)(void *arg, const struct check_stored_rec *r), void *arg)
{
	struct check_domain *d = malloc(sizeof(*d));
	memset(cs, 0, sizeof(*cs));
	if (!d)
		return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	if (check_load(w, row, d)) {
		free(d);
		return w->rc;
	}
	sqlite3_stmt *st = wr_q(w,
				"SELECT state, way, since, checked_at, verified_at, next_at, host, "
				"mark_at, probe_until FROM domain_checks WHERE domain_id = ?",
				"i", row->id);
	if (wr_step(w, st)) {
		col_text(st, 0, cs->state, sizeof(cs->state));
		col_text(st, 1, cs->way, sizeof(cs->way));
		cs->since = sqlite3_column_int64(st, 2);
		cs->checked_at = sqlite3_column_int64(st, 3);
		cs->verified_at = sqlite3_column_int64(st, 4);
		cs->next_at = sqlite3_column_int64(st, 5);
		col_text(st, 6, cs->host, sizeof(cs->host));
		cs->marker_changed = sqlite3_column_int64(st, 7);
		cs->marker_test_until = cs->marker_changed ? sqlite3_column_int64(st, 8) : 0;
	}
	wr_done(w, st);
	int rc = 0;
	for (int i = 0; !rc && !w->rc && i < d->nrec; i++) {
		const struct check_record *x = &d->rec[i];
		struct check_stored_rec r = {.name = x->name,
					     .purpose = x->purpose,
					     .expect = x->expect,
					     .optional = x->optional};
		st = wr_q(w,
			  "SELECT state, outcome, detail, since, checked_at, verified_at FROM "
			  "record_checks WHERE domain_id = ? AND name = ?",
			  "is", row->id, x->name);
		if (wr_step(w, st)) {
			r.state = (const char *)sqlite3_column_text(st, 0);
			r.outcome = (const char *)sqlite3_column_text(st, 1);
			r.detail = (const char *)sqlite3_column_text(st, 2);
			r.since = sqlite3_column_int64(st, 3);
			r.checked_at = sqlite3_column_int64(st, 4);
			r.verified_at = sqlite3_column_int64(st, 5);
		}
		if (!w->rc)
			rc = each(arg, &r);
		wr_done(w, st);
	}
	free(d);
	return w->rc ? w->rc : rc;
}

/* maintain: the job's due steps, in one batch (lifecycle.h: lc_maintain). */
#include "err.h"
#include "keyfile.h"
#include "lifecycle.h"
#include "names.h"
#include "ns.h"
#include "store.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A successor generated before the batch for an active key due for rotation. */
struct gen {
	int64_t domain_id, key_id; /* the active key it replaces */
	char role[16], alg[32], path[4096], pub[2048], name[256], cause[64], guess[64];
	int used;
};

/* A published key found ready to activate. */
struct act {
	int64_t id, did;
	char role[16], name[256], sel[64];
};

static void note(const struct lc_maintain_in *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(const struct lc_maintain_in *in, const char *fmt, ...)
{
	char line[1500];
	va_list ap;
	if (!in->note)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	in->note(in->note_arg, line);
}

/* Grows *v (of *n elements of size sz) by one zeroed element; NULL with
 * w->rc set when out of memory. */
static void *grow(struct wr *w, void *v, size_t *n, size_t sz)
{
	char *x = realloc(*(void **)v, (*n + 1) * sz);
	if (!x) {
		wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	*(void **)v = x;
	memset(x + *n * sz, 0, sz);
	return x + (*n)++ * sz;
}

/* 2. Keys due for rotation get their successors generated now, outside the
 * transaction (RSA generation is slow): at most max_keys a run; a key due with
 * no free eligible slot in its role (its retired keys still published, or
 * the customer's CNAMEs missing) waits, and the run says so. */
static int generate_due(struct wr *w, const struct lc_maintain_in *in, struct lc_maintain_out *out,
			int64_t now, struct gen **gens, size_t *ngen)
{
	int64_t rdays = lc_setting_i64(w, "rotation_days", 180);
	int64_t spread = lc_setting_i64(w, "rotation_spread_hours", 24) * 3600;
	sqlite3_stmt *st = wr_q(
		w,
		"SELECT d.id, d.name, d.token, s.role, k.id, k.algorithm, k.rotate_at IS NOT NULL "
		"FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id "
		"WHERE k.state = 'active' AND d.state = 'active' AND " LC_ROTATE_DUE_SQL(
			"?2", "?3") " <= ?1 "
				    "AND NOT EXISTS (SELECT 1 FROM keys p JOIN slots ps ON ps.id = "
				    "p.slot_id WHERE "
				    "ps.domain_id = d.id AND ps.role = s.role AND p.state = "
				    "'published') ORDER BY k.id",
		"iii", now, rdays, spread);
	while (wr_step(w, st)) {
		char sel0[64], why[400], qn[96];
		int64_t did = sqlite3_column_int64(st, 0), kid = sqlite3_column_int64(st, 4);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *token = (const char *)sqlite3_column_text(st, 2);
		const char *role = (const char *)sqlite3_column_text(st, 3);
		if (!lc_free_slot(w, did, role, 0, sel0, sizeof(sel0))) {
			if (out->blocked++ < 20)
				note(in,
				     "%s: key %lld (%s role) is due for rotation, but the role has "
				     "no "
				     "free eligible slot: it waits",
				     name, (long long)kid, role);
			continue;
		}
		if ((int64_t)*ngen >= in->max_keys) {
			out->more_due = 1;
			continue;
		}
		/* A row no dnsdctl wrote (a name that is no host name, a token of
		 * another alphabet) makes no key file: it is said and left alone, and
		 * the other keys go on. */
		if (keyfile_names_check(name, sel0, token, why, sizeof(why), NULL)) {
			note(in, "domain row %lld '%s': key %lld is due for rotation, but %s",
			     (long long)did, names_show(qn, sizeof(qn), name), (long long)kid, why);
			out->skipped++;
			continue;
		}
		struct gen *g = grow(w, gens, ngen, sizeof(**gens));
		if (!g)
			break;
		g->domain_id = did;
		g->key_id = kid;
		snprintf(g->name, sizeof(g->name), "%s", name);
		snprintf(g->role, sizeof(g->role), "%s", role);
		lc_next_algorithm((const char *)sqlite3_column_text(st, 5), g->role, g->alg,
				  sizeof(g->alg));
		snprintf(g->cause, sizeof(g->cause), "%s",
			 sqlite3_column_int(st, 6) ? "scheduled rotation" : "rotation by age");
		snprintf(g->guess, sizeof(g->guess), "%s", sel0);
		keyfile_new(w, g->name, token, g->alg, g->guess, g->pub, sizeof(g->pub), g->path,
			    sizeof(g->path));
	}
	sqlite3_finalize(st);
	if (out->blocked > 20)
		note(in, "... and %lld more due keys wait for a free slot",
		     (long long)(out->blocked - 20));
	return w->rc;
}

/* 3a. Retired keys past their retention are revoked. */
static void revoke_retired(struct wr *w, const struct lc_maintain_in *in,
			   struct lc_maintain_out *out, int64_t now, int64_t kret)
{
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT k.id, s.domain_id, d.name, s.selector FROM keys k JOIN slots s "
		     "ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE "
		     "k.state = 'retired' AND k.retired_at <= ? ORDER BY k.id",
		     "i", now - kret);
	struct act *todo = NULL;
	size_t n = 0;
	while (wr_step(w, st)) {
		struct act *a = grow(w, &todo, &n, sizeof(*todo));
		if (!a)
			break;
		a->id = sqlite3_column_int64(st, 0);
		a->did = sqlite3_column_int64(st, 1);
		note(in, "%s %s: key %lld revoked (retired for %lld day(s))",
		     sqlite3_column_text(st, 2), sqlite3_column_text(st, 3), (long long)a->id,
		     (long long)(kret / LC_DAY));
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && !w->rc; i++, out->revoked++)
		lc_key_set_state(w, todo[i].id, todo[i].did, "revoked", now, "retention ended");
	free(todo);
}

/* 3b. Published keys that every name server serves and that waited long
 * enough become active; their role's active key retires. */
static void activate_ready(struct wr *w, const struct lc_maintain_in *in,
			   struct lc_maintain_out *out, int64_t now, int64_t kret)
{
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT k.id, s.domain_id, d.name, s.selector, s.role, s.eligible, "
		     "ifnull(k.active_after, k.published_at + 3600), ifnull(k.published_serial, "
		     "(SELECT "
		     "value FROM serial)), (SELECT group_concat(n.name || ' serves ' || "
		     "ifnull(n.serial, "
		     "'no known serial'), ', ') FROM nameservers n WHERE n.serial IS NULL OR "
		     "NOT (" NS_SERIAL_GE_SQL("n.serial",
					      "ifnull(k.published_serial, (SELECT value FROM "
					      "serial))") ")) "
							  "FROM keys k JOIN slots s ON s.id = "
							  "k.slot_id JOIN domains d ON d.id = "
							  "s.domain_id "
							  "WHERE k.state = 'published' AND d.state "
							  "= 'active' ORDER BY k.id DESC",
		     "");
	struct act *acts = NULL;
	size_t n = 0;
	while (wr_step(w, st)) {
		int64_t kid = sqlite3_column_int64(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 2);
		const char *sel = (const char *)sqlite3_column_text(st, 3);
		int64_t after = sqlite3_column_int64(st, 6), pserial = sqlite3_column_int64(st, 7);
		const char *lag = (const char *)sqlite3_column_text(st, 8);
		char t[32];
		if (after > now)
			note(in,
			     "%s %s: key %lld waits until %s (resolvers may still hold the slot's "
			     "old "
			     "answer)",
			     name, sel, (long long)kid, lc_time(after, t, sizeof(t)));
		else if (!sqlite3_column_int(st, 5))
			note(in, "%s %s: key %lld waits: the slot is not eligible", name, sel,
			     (long long)kid);
		else if (lag)
			note(in, "%s %s: key %lld waits: it is in serial %lld, but %s", name, sel,
			     (long long)kid, (long long)pserial, lag);
		if (after > now || !sqlite3_column_int(st, 5) || lag) {
			out->waiting++;
			continue;
		}
		struct act *a = grow(w, &acts, &n, sizeof(*acts));
		if (!a)
			break;
		a->id = kid;
		a->did = sqlite3_column_int64(st, 1);
		snprintf(a->role, sizeof(a->role), "%s", sqlite3_column_text(st, 4));
		snprintf(a->name, sizeof(a->name), "%s", name);
		snprintf(a->sel, sizeof(a->sel), "%s", sel);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && !w->rc; i++) {
		struct act *a = &acts[i];
		struct lc_key cur;
		char cause[96];
		/* Newest first: an older published key of the same role (only SQL
		 * written by hand makes one) is superseded. */
		size_t j;
		for (j = 0; j < i; j++)
			if (acts[j].did == a->did && !strcmp(acts[j].role, a->role))
				break;
		if (j < i) {
			snprintf(cause, sizeof(cause), "superseded by key %lld",
				 (long long)acts[j].id);
			lc_key_set_state(w, a->id, a->did, "revoked", now, cause);
			continue;
		}
		if (lc_key_in_order(w, a->did, a->role, "active", &cur, 0)) {
			snprintf(cause, sizeof(cause), "replaced by key %lld", (long long)a->id);
			lc_key_set_state(w, cur.id, a->did, "retired", now, cause);
			note(in, "%s %s: key %lld retired (still published for %lld day(s))",
			     a->name, cur.selector, (long long)cur.id, (long long)(kret / LC_DAY));
		}
		lc_key_set_state(w, a->id, a->did, "active", now,
				 "rotation: published long enough and served by every name server");
		note(in, "%s %s: key %lld activated (rotation)", a->name, a->sel, (long long)a->id);
		out->activated++;
	}
	free(acts);
}

/* 3c. The successors generated before are published, if still wanted: a job
 * running beside this one may have published one already. */
static void publish_successors(struct wr *w, const struct lc_maintain_in *in,
			       struct lc_maintain_out *out, struct gen *gens, size_t ngen)
{
	for (size_t i = 0; i < ngen && !w->rc; i++) {
		struct gen *g = &gens[i];
		struct lc_key pub;
		char sel[64], t[32];
		int still =
			wr_int(w,
			       wr_q(w,
				    "SELECT count(*) FROM keys WHERE id = ? AND state = 'active'",
				    "i", g->key_id),
			       0) > 0;
		if (!still || lc_key_in_order(w, g->domain_id, g->role, "published", &pub, 0))
			continue;
		int64_t slot = lc_free_slot(w, g->domain_id, g->role, 0, sel, sizeof(sel));
		if (!slot)
			continue;
		keyfile_rename(w, g->path, sizeof(g->path), g->guess, sel);
		struct lc_key_new k = {.domain_id = g->domain_id,
				       .slot_id = slot,
				       .alg = g->alg,
				       .pub = g->pub,
				       .path = g->path,
				       .state = "published",
				       .first_event = "generated",
				       .cause = g->cause};
		int64_t kid = lc_key_insert(w, &k);
		int64_t after = wr_int(
			w, wr_q(w, "SELECT active_after FROM keys WHERE id = ?", "i", kid), 0);
		note(in, "%s %s: key %lld (%s) published (%s of key %lld); active from %s", g->name,
		     sel, (long long)kid, g->alg, g->cause, (long long)g->key_id,
		     lc_time(after, t, sizeof(t)));
		g->used = 1;
		out->published++;
	}
}

int lc_maintain(struct wr *w, const struct lc_maintain_in *in, struct lc_maintain_out *out)
{
	struct gen *gens = NULL;
	size_t ngen = 0;
	memset(out, 0, sizeof(*out));
	if (w->rc)
		return w->rc;
	if (in->max_keys < 0 || in->max_keys > 1000000)
		return wr_fail(w, DNSD_EINVAL, "max_keys",
			       "--max-keys must be a whole number from 0 to 1000000");
	int64_t now = store_now();
	out->retention_days = store_setting_int(w->st, "retention_days", 7);
	int64_t kret = lc_setting_i64(w, "key_retention_days", 7) * LC_DAY;

	/* 1. What every name server serves now (the network, before any lock). */
	if (ns_gather(w, &out->ns, &out->nns) ||
	    /* 2. The successors of the keys due, generated before it too. */
	    generate_due(w, in, out, now, &gens, &ngen) ||
	    /* 3. One batch. */
	    wr_begin(w))
		goto out;
	ns_record_tx(w, out->ns, out->nns, now);
	revoke_retired(w, in, out, now, kret);
	activate_ready(w, in, out, now, kret);
	publish_successors(w, in, out, gens, ngen);
	/* d. Removed domains past their retention are purged. */
	wr_run(w, wr_q(w,
		       "UPDATE domains SET state = 'purged' WHERE state = 'removed' AND "
		       "removed_at <= ?",
		       "i", now - (int64_t)out->retention_days * LC_DAY));
	out->purged = w->rc ? 0 : sqlite3_changes(w->db);
out:
	if (!wr_commit(w)) {
		/* The successors no longer wanted were published by the commit
		 * with the rest (a staged batch moves whole): they go. */
		for (size_t i = 0; i < ngen; i++)
			if (!gens[i].used && gens[i].path[0])
				unlink(gens[i].path);
	}
	free(gens);
	if (w->rc) {
		free(out->ns);
		memset(out, 0, sizeof(*out));
	}
	out->serial = store_serial(w->st);
	return w->rc;
}

void lc_maintain_free(struct lc_maintain_out *out)
{
	free(out->ns);
	out->ns = NULL;
	out->nns = 0;
}

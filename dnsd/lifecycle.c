/* lifecycle: key states, the store's facts they depend on, and the manual
 * steps: rotate, rotate --all, slot eligibility, key list (lifecycle.h). */
#include "lifecycle.h"
#include "db.h"
#include "err.h"
#include "keyfile.h"
#include "names.h"
#include "policy.h"
#include "store.h"
#include "zone.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the store's facts ---- */

const char *lc_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int lc_domain_find(struct wr *w, const char *in, int any_state, struct lc_domain *d)
{
	char why[512], name[256];
	if (w->rc)
		return w->rc;
	if (strlen(in) >= sizeof(name))
		return wr_fail(w, DNSD_EINVAL, "domain", "domain '%.40s...' is too long", in);
	if (policy_name_check(in, 0, why, sizeof(why)))
		return wr_fail(w, DNSD_EINVAL, "domain", "%s", why);
	size_t l = strlen(in);
	for (size_t i = 0; i <= l; i++)
		name[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
	if (l && name[l - 1] == '.')
		name[l - 1] = 0;
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT id, tenant_id, name, token, state FROM domains WHERE name = ?1 "
		     "AND (?2 OR state = 'active') "
		     "ORDER BY state = 'active' DESC, id DESC LIMIT 1",
		     "si", name, (int64_t)any_state);
	int found = wr_step(w, st);
	if (found) {
		d->id = sqlite3_column_int64(st, 0);
		d->tenant_id = sqlite3_column_int64(st, 1);
		snprintf(d->name, sizeof(d->name), "%s", sqlite3_column_text(st, 2));
		snprintf(d->token, sizeof(d->token), "%s", sqlite3_column_text(st, 3));
		snprintf(d->state, sizeof(d->state), "%s", sqlite3_column_text(st, 4));
	}
	sqlite3_finalize(st);
	if (!found && !w->rc)
		wr_fail(w, DNSD_ENOENT, "domain", "no domain '%s' (see 'dnsdctl domain list')",
			name);
	return w->rc;
}

int64_t lc_setting_i64(struct wr *w, const char *name, int64_t def)
{
	char *v = store_setting(w->st, name), *end;
	int64_t n = def;
	if (v) {
		long long x = strtoll(v, &end, 10);
		if (end != v && !*end && x >= 0)
			n = x;
		free(v);
	}
	return n;
}

int64_t lc_negative_ttl(struct wr *w)
{
	const char *zf = w->conf.zone_file;
	char err[256];
	struct db_zone *z;
	/* What resolvers commonly cap negative caching at. */
	int64_t neg = 10800;
	if (zf && !zone_load(zf, w->zone, w->zone, &z, err, sizeof(err))) {
		neg = z->neg_ttl;
		db_zone_free(z);
	}
	return neg;
}

int64_t lc_key_hold(struct wr *w, int64_t slot_id, int64_t now)
{
	/* Positive answers: the DKIM TTL, or a larger one still in caches after
	 * init lowered it. */
	int64_t hold = lc_setting_i64(w, "ttl_dkim", 3600);
	int64_t held = lc_setting_i64(w, "ttl_dkim_hold", 0);
	if (now < lc_setting_i64(w, "ttl_dkim_hold_until", 0) && held > hold)
		hold = held;
	/* Negative answers: a slot made recently answered NXDOMAIN before. */
	int64_t made = wr_int(
		w, wr_q(w, "SELECT ifnull(created_at, 0) FROM slots WHERE id = ?", "i", slot_id),
		0);
	if (made > 0 && now - made < 7 * LC_DAY) {
		int64_t until = made + lc_negative_ttl(w);
		if (until - now > hold)
			hold = until - now;
	}
	return hold;
}

const char *lc_role_name(const char *r)
{
	return !strcmp(r, "ed25519") ? "Ed25519 pair" : "main";
}

void lc_next_algorithm(const char *cur, const char *role, char *out, size_t n)
{
	int is_ed = 0, bits = 2048;
	if (!strcmp(role, "ed25519") ||
	    (cur && !keys_parse_algorithm(cur, &is_ed, &bits) && is_ed)) {
		snprintf(out, n, "ed25519");
		return;
	}
	/* An imported rsa-1024 key is replaced by rsa-2048. */
	if (cur && !strncmp(cur, "rsa-", 4))
		bits = atoi(cur + 4);
	snprintf(out, n, "rsa-%d", bits <= 2048 ? 2048 : bits <= 3072 ? 3072 : 4096);
}

/* ---- states ---- */

int lc_event(struct wr *w, int64_t key_id, int64_t domain_id, const char *ev, int64_t at,
	     const char *cause)
{
	return wr_run(w, wr_q(w,
			      "INSERT INTO key_events(key_id, domain_id, event, at, cause) "
			      "VALUES (?, ?, ?, ?, ?)",
			      "iisis", key_id, domain_id, ev, at, cause));
}

int64_t lc_key_insert(struct wr *w, const struct lc_key_new *k)
{
	int64_t now = store_now();
	int active = !strcmp(k->state, "active");
	int64_t after = k->first_keys ? now : now + lc_key_hold(w, k->slot_id, now);
	wr_run(w, wr_q(w,
		       "INSERT INTO keys(slot_id, algorithm, public_key, private_ref, state, "
		       "created_at, published_at, activated_at, published_serial, active_after) "
		       "VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?, ?)",
		       "issssiiiii", k->slot_id, k->alg, k->pub, k->path, k->state, now, now,
		       active ? now : (int64_t)0, store_batch_serial(w->st), after));
	if (w->rc)
		return 0;
	int64_t kid = sqlite3_last_insert_rowid(w->db);
	lc_event(w, kid, k->domain_id, k->first_event, now, k->cause);
	lc_event(w, kid, k->domain_id, "published", now, k->cause);
	if (active)
		lc_event(w, kid, k->domain_id, "activated", now, k->cause);
	return w->rc ? 0 : kid;
}

int lc_key_set_state(struct wr *w, int64_t kid, int64_t domain_id, const char *state, int64_t now,
		     const char *cause)
{
	static const struct {
		const char *state, *column, *event;
	} map[] = {{"active", "activated_at", "activated"},
		   {"retired", "retired_at", "retired"},
		   {"revoked", "revoked_at", "revoked"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].state, state))
			continue;
		char sql[200];
		snprintf(sql, sizeof(sql),
			 "UPDATE keys SET state = ?, %s = ?, rotate_at = NULL WHERE id = ?",
			 map[i].column);
		wr_run(w, wr_q(w, sql, "sii", state, now, kid));
		return lc_event(w, kid, domain_id, map[i].event, now, cause);
	}
	return wr_fail(w, DNSD_EINVAL, "state", "internal error: state %s", state);
}

int64_t lc_free_slot(struct wr *w, int64_t domain_id, const char *role, int64_t except, char *sel,
		     size_t n)
{
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT s.id, s.selector FROM slots s WHERE s.domain_id = ? AND s.role = ? "
		     "AND s.eligible AND s.id != ? AND NOT EXISTS (SELECT 1 FROM keys k WHERE "
		     "k.slot_id = s.id AND k.state != 'revoked') ORDER BY s.position LIMIT 1",
		     "isi", domain_id, role, except);
	int64_t id = 0;
	if (wr_step(w, st)) {
		id = sqlite3_column_int64(st, 0);
		if (sel)
			snprintf(sel, n, "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return id;
}

/* The key of st's first row (the columns lc_key_in_order and lc_key_by_id select) into *k:
 * its id, or 0; finalizes st. */
static int64_t key_row(struct wr *w, sqlite3_stmt *st, struct lc_key *k)
{
	int64_t id = 0;
	if (wr_step(w, st)) {
		id = k->id = sqlite3_column_int64(st, 0);
		k->slot_id = sqlite3_column_int64(st, 1);
		k->active_after = sqlite3_column_int64(st, 2);
		k->published_at = sqlite3_column_int64(st, 3);
		snprintf(k->selector, sizeof(k->selector), "%s", sqlite3_column_text(st, 4));
		snprintf(k->role, sizeof(k->role), "%s", sqlite3_column_text(st, 5));
		snprintf(k->alg, sizeof(k->alg), "%s", sqlite3_column_text(st, 6));
		snprintf(k->state, sizeof(k->state), "%s", sqlite3_column_text(st, 7));
		k->eligible = sqlite3_column_int(st, 8);
	}
	sqlite3_finalize(st);
	return id;
}

#define KEY_COLUMNS                                                                                \
	"SELECT k.id, k.slot_id, ifnull(k.active_after, 0), ifnull(k.published_at, 0), "           \
	"s.selector, s.role, k.algorithm, k.state, s.eligible FROM keys k "                        \
	"JOIN slots s ON s.id = k.slot_id "

int64_t lc_key_in_order(struct wr *w, int64_t domain_id, const char *role, const char *state,
			struct lc_key *k, int oldest)
{
	return key_row(w,
		       wr_q(w,
			    KEY_COLUMNS "WHERE s.domain_id = ?1 AND s.role = ?2 AND "
					"k.state = ?3 ORDER BY CASE WHEN ?4 THEN "
					"ifnull(k.retired_at, 0) ELSE -k.id END, k.id LIMIT 1",
			    "issi", domain_id, role, state, (int64_t)oldest),
		       k);
}

int64_t lc_key_by_id(struct wr *w, int64_t domain_id, int64_t key_id, struct lc_key *k)
{
	return key_row(
		w,
		wr_q(w, KEY_COLUMNS "WHERE s.domain_id = ? AND k.id = ?", "ii", domain_id, key_id),
		k);
}

int64_t lc_key_at(struct wr *w, int64_t domain_id, const char *selector, int64_t *slot_id,
		  char *role, size_t rn, struct lc_key *k)
{
	sqlite3_stmt *st =
		wr_q(w, "SELECT id, role FROM slots WHERE domain_id = ? AND selector = ?", "is",
		     domain_id, selector);
	*slot_id = 0;
	if (wr_step(w, st)) {
		*slot_id = sqlite3_column_int64(st, 0);
		snprintf(role, rn, "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (!*slot_id)
		return 0;
	char *state = wr_text(
		w, wr_q(w, "SELECT state FROM keys WHERE slot_id = ? AND state != 'revoked'", "i",
			*slot_id));
	int64_t id =
		state && lc_key_in_order(w, domain_id, role, state, k, 0) && k->slot_id == *slot_id
			? k->id
			: 0;
	free(state);
	return id;
}

int64_t *lc_ids(struct wr *w, sqlite3_stmt *st, size_t *n)
{
	int64_t *ids = NULL;
	size_t cap = 0;
	*n = 0;
	while (wr_step(w, st)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *x = realloc(ids, cap * sizeof(*x));
			if (!x) {
				wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
				break;
			}
			ids = x;
		}
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return ids;
}

int lc_has_role(struct wr *w, int64_t domain_id, const char *role)
{
	return wr_int(w,
		      wr_q(w, "SELECT count(*) FROM slots WHERE domain_id = ? AND role = ?", "is",
			   domain_id, role),
		      0) > 0;
}

void lc_slots_report(struct wr *w, int64_t domain_id, const char *role, char *out, size_t n)
{
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT s.selector, s.eligible, ifnull((SELECT state FROM keys k WHERE "
		     "k.slot_id = s.id AND k.state != 'revoked'), 'free') FROM slots s "
		     "WHERE s.domain_id = ? AND s.role = ? ORDER BY s.position",
		     "is", domain_id, role);
	size_t used = 0;
	out[0] = 0;
	while (used < n && wr_step(w, st)) {
		int len = snprintf(out + used, n - used, "%s%s %s%s", used ? ", " : "",
				   sqlite3_column_text(st, 0), sqlite3_column_text(st, 2),
				   sqlite3_column_int(st, 1) ? "" : " (not eligible)");
		if (len < 0)
			break;
		used += (size_t)len;
	}
	sqlite3_finalize(st);
}

/* ---- key list ---- */

int lc_key_list(struct wr *w, const char *domain,
		int (*each)(void *arg, const struct lc_key_info *k), void *arg)
{
	struct lc_domain d;
	if (lc_domain_find(w, domain, 1, &d))
		return w->rc;
	int64_t rdays = lc_setting_i64(w, "rotation_days", 180);
	int64_t spread = lc_setting_i64(w, "rotation_spread_hours", 24) * 3600;
	sqlite3_stmt *st = wr_q(
		w,
		"SELECT k.id, s.selector, s.role, k.algorithm, k.state, k.created_at, "
		"ifnull(k.published_at, 0), ifnull(k.activated_at, 0), ifnull(k.retired_at, 0), "
		"ifnull(k.revoked_at, 0), ifnull(k.active_after, 0), "
		"CASE WHEN k.state != 'active' THEN 0 ELSE ifnull(" LC_ROTATE_DUE_SQL(
			"?2", "?3") ", 0) END, "
				    "ifnull(k.published_serial, 0), k.private_ref, k.public_key "
				    "FROM keys k JOIN slots s ON s.id = k.slot_id WHERE "
				    "s.domain_id = ?1 ORDER BY k.id",
		"iii", d.id, rdays, spread);
	int stop = 0;
	while (!stop && wr_step(w, st)) {
		struct lc_key_info k = {
			.id = sqlite3_column_int64(st, 0),
			.selector = (const char *)sqlite3_column_text(st, 1),
			.role = (const char *)sqlite3_column_text(st, 2),
			.alg = (const char *)sqlite3_column_text(st, 3),
			.state = (const char *)sqlite3_column_text(st, 4),
			.published_serial = sqlite3_column_int64(st, 12),
			.private_key = (const char *)sqlite3_column_text(st, 13),
			.public_key = (const char *)sqlite3_column_text(st, 14),
		};
		for (int i = 0; i < 7; i++)
			k.at[i] = sqlite3_column_int64(st, 5 + i);
		stop = each(arg, &k);
	}
	sqlite3_finalize(st);
	return w->rc ? w->rc : stop;
}

/* ---- key rotate ---- */

int lc_key_rotate_all(struct wr *w, const struct lc_rotate_all_in *in,
		      struct lc_rotate_all_out *out)
{
	memset(out, 0, sizeof(*out));
	if (w->rc)
		return w->rc;
	if (in->older_than_days < 0 || in->older_than_days > 36500)
		return wr_fail(w, DNSD_EINVAL, "older_than",
			       "--older-than (days) must be a whole number from 0 to 36500");
	if (in->over_hours < 0 || in->over_hours > 24 * 365)
		return wr_fail(w, DNSD_EINVAL, "over",
			       "--over (hours) must be a whole number from 0 to 8760");
	int64_t tid = 0;
	if (in->tenant) {
		tid = wr_int(w, wr_q(w, "SELECT id FROM tenants WHERE name = ?", "s", in->tenant),
			     0);
		if (!tid && !w->rc)
			return wr_fail(w, DNSD_ENOENT, "tenant",
				       "no tenant '%s' (see 'dnsdctl tenant list')", in->tenant);
	}
	int64_t now = store_now();
	if (wr_begin(w))
		return w->rc;
	/* Keys in the middle of a rotation (a key published and waiting in their
	 * role) are left alone; the rest get times spread evenly over the window, in
	 * random order, so that neighbours do not switch together. */
	sqlite3_stmt *st = wr_q(
		w,
		"SELECT k.id FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON "
		"d.id = s.domain_id WHERE k.state = 'active' AND d.state = 'active' AND "
		"k.activated_at <= ?1 AND (?2 = 0 OR d.tenant_id = ?2) AND NOT EXISTS (SELECT 1 "
		"FROM keys p JOIN slots ps ON ps.id = p.slot_id WHERE ps.domain_id = s.domain_id "
		"AND "
		"ps.role = s.role AND p.state = 'published') ORDER BY random()",
		"ii", now - in->older_than_days * LC_DAY, tid);
	size_t n;
	int64_t *ids = lc_ids(w, st, &n);
	int64_t window = in->over_hours * 3600;
	st = wr_prep(w, "UPDATE keys SET rotate_at = ? WHERE id = ?");
	for (size_t i = 0; st && !w->rc && i < n; i++) {
		sqlite3_bind_int64(st, 1,
				   now + (n > 1 ? window * (int64_t)i / (int64_t)(n - 1) : 0));
		sqlite3_bind_int64(st, 2, ids[i]);
		wr_step(w, st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(ids);
	if (wr_commit(w))
		return w->rc;
	out->scheduled = (int64_t)n;
	out->first = now;
	out->last = now + (n ? window : 0);
	return 0;
}

/* The role of a rotation, and the algorithm it generates (cur: the role's
 * active key's). 0 or EINVAL. */
static int rotate_algorithm(struct wr *w, const char *given, const char *role, const char *cur,
			    char *alg, size_t n)
{
	int is_ed, bits;
	if (!given) {
		lc_next_algorithm(cur, role, alg, n);
		return 0;
	}
	if (keys_parse_algorithm(given, &is_ed, &bits))
		return wr_fail(
			w, DNSD_EINVAL, "algorithm",
			"unknown algorithm '%s': use rsa-2048, rsa-3072, rsa-4096 or ed25519",
			given);
	if (!is_ed && bits < 2048)
		return wr_fail(w, DNSD_EINVAL, "algorithm",
			       "%s is too weak to generate: new keys are rsa-2048 or larger (RFC "
			       "8301), or ed25519",
			       given);
	if (!strcmp(role, "ed25519") && !is_ed)
		return wr_fail(w, DNSD_EINVAL, "algorithm",
			       "the Ed25519 pair holds ed25519 keys only");
	snprintf(alg, n, "%s", given);
	return 0;
}

int lc_key_rotate(struct wr *w, const struct lc_rotate_in *in, struct lc_key_out *out)
{
	struct lc_domain d, again;
	struct lc_key cur, pub;
	char sel[64], why[512], pk[2048], guess[64];
	const char *role = in->role ? in->role : "main";
	memset(out, 0, sizeof(*out));
	if (w->rc)
		return w->rc;
	if (strcmp(role, "main") && strcmp(role, "ed25519"))
		return wr_fail(w, DNSD_EINVAL, "role", "--role is main or ed25519");
	if (lc_domain_find(w, in->domain, 0, &d))
		return w->rc;
	if (!lc_has_role(w, d.id, role))
		return wr_fail(w, DNSD_EINVAL, "role", "%s has no %s slots", d.name,
			       lc_role_name(role));
	if (lc_key_in_order(w, d.id, role, "published", &pub, 0)) {
		char t[32];
		return wr_fail(
			w, DNSD_EEXIST, NULL,
			"%s already has key %lld published in %s, waiting to become active "
			"from %s: run 'dnsdctl maintain' after that (or key revoke it first)",
			d.name, (long long)pub.id, pub.selector,
			lc_time(pub.active_after, t, sizeof(t)));
	}
	int has_cur = lc_key_in_order(w, d.id, role, "active", &cur, 0) != 0;
	if (rotate_algorithm(w, in->algorithm, role, has_cur ? cur.alg : NULL, out->alg,
			     sizeof(out->alg)))
		return w->rc;
	if (!lc_free_slot(w, d.id, role, 0, sel, sizeof(sel))) {
		lc_slots_report(w, d.id, role, why, sizeof(why));
		return wr_fail(w, DNSD_EEXIST, NULL,
			       "%s has no free eligible %s slot for a new key (%s): wait until a "
			       "retired key is revoked, or mark a slot eligible",
			       d.name, lc_role_name(role), why);
	}
	if (keyfile_new(w, d.name, d.token, out->alg, sel, pk, sizeof(pk), out->path,
			sizeof(out->path)) ||
	    wr_begin(w))
		goto out;
	/* What was true before the slow generation is checked again inside. */
	if (lc_domain_find(w, d.name, 0, &again) || again.id != d.id) {
		wr_clear(w);
		wr_fail(w, DNSD_ENOENT, "domain", "%s was removed meanwhile; nothing was changed",
			d.name);
		goto out;
	}
	if (lc_key_in_order(w, d.id, role, "published", &pub, 0)) {
		wr_fail(w, DNSD_EEXIST, NULL,
			"%s: another command published key %lld meanwhile; nothing was changed",
			d.name, (long long)pub.id);
		goto out;
	}
	snprintf(guess, sizeof(guess), "%s", sel);
	int64_t slot = lc_free_slot(w, d.id, role, 0, sel, sizeof(sel));
	if (!slot) {
		wr_fail(w, DNSD_EEXIST, NULL,
			"%s: its free slot was taken meanwhile; nothing was changed", d.name);
		goto out;
	}
	keyfile_rename(w, out->path, sizeof(out->path), guess, sel);
	struct lc_key_new k = {.domain_id = d.id,
			       .slot_id = slot,
			       .alg = out->alg,
			       .pub = pk,
			       .path = out->path,
			       .state = "published",
			       .first_event = "generated",
			       .cause = "key rotate"};
	out->key_id = lc_key_insert(w, &k);
	out->active_after = wr_int(
		w, wr_q(w, "SELECT active_after FROM keys WHERE id = ?", "i", out->key_id), 0);
	snprintf(out->domain, sizeof(out->domain), "%s", d.name);
	snprintf(out->selector, sizeof(out->selector), "%s", sel);
	snprintf(out->state, sizeof(out->state), "published");
out:
	return wr_commit(w);
}

/* ---- slots ---- */

int lc_slot_set(struct wr *w, const char *domain, const char *selector, int eligible, int *changed)
{
	struct lc_domain d;
	*changed = 0;
	if (lc_domain_find(w, domain, 0, &d) || wr_begin(w))
		return w->rc;
	wr_run(w, wr_q(w,
		       "UPDATE slots SET eligible = ?1 WHERE domain_id = ?2 AND selector = ?3 AND "
		       "eligible != ?1",
		       "iis", (int64_t)(eligible != 0), d.id, selector));
	*changed = sqlite3_changes(w->db) > 0;
	if (!wr_int(w,
		    wr_q(w, "SELECT count(*) FROM slots WHERE domain_id = ? AND selector = ?", "is",
			 d.id, selector),
		    0) &&
	    !w->rc)
		wr_fail(w, DNSD_ENOENT, "selector", "%s has no selector '%s'", d.name, selector);
	return wr_commit(w);
}

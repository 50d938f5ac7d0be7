/* lcrevoke: the lifecycle's emergency and migration steps: key revoke, the
 * bulk revoke, key import and key put (lifecycle.h). */
#include "err.h"
#include "keyfile.h"
#include "lifecycle.h"
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- key revoke ---- */

int lc_key_revoke(struct wr *w, const struct lc_revoke_in *in, struct lc_revoke_out *out)
{
	struct lc_domain d;
	struct lc_key k, pub, old;
	char alg[32], sel[64] = "", path[4096] = "", pk[2048], cause[600];
	int64_t slot_id;
	const char *selector = in->selector;
	memset(out, 0, sizeof(*out));
	if (lc_domain_find(w, in->domain, 0, &d))
		return w->rc;
	snprintf(out->domain, sizeof(out->domain), "%s", d.name);
	if (!lc_key_at(w, d.id, selector, &slot_id, out->role, sizeof(out->role), &k)) {
		if (w->rc)
			return w->rc;
		if (!slot_id)
			return wr_fail(w, DNSD_ENOENT, "selector",
				       "%s has no selector '%s' (see 'dnsdctl domain show %s')",
				       d.name, selector, d.name);
		return wr_fail(w, DNSD_ENOENT, "selector",
			       "%s: selector %s holds no key to revoke (it already answers p=)",
			       d.name, selector);
	}
	const char *role = out->role;
	snprintf(cause, sizeof(cause), "emergency revoke%s%.500s", in->reason ? ": " : "",
		 in->reason ? in->reason : "");
	int was_active = out->was_active = !strcmp(k.state, "active");
	char was_state[16];
	snprintf(was_state, sizeof(was_state), "%s", k.state);
	int have_pub = lc_key_in_order(w, d.id, role, "published", &pub, 0) != 0 && pub.eligible;
	/* A replacement is generated before the transaction when no published key
	 * can take over. */
	if (was_active && !have_pub) {
		lc_next_algorithm(k.alg, role, alg, sizeof(alg));
		if (!lc_free_slot(w, d.id, role, k.slot_id, sel, sizeof(sel)))
			snprintf(sel, sizeof(sel), "%s", selector);
		if (keyfile_new(w, d.name, d.token, alg, sel, pk, sizeof(pk), path, sizeof(path)))
			return wr_commit(w);
	}
	int64_t now = out->now = store_now(), orig = k.id;
	out->window_until = now;
	if (wr_begin(w))
		return wr_commit(w); /* takes back the replacement's file */
	if (lc_key_at(w, d.id, selector, &slot_id, out->role, sizeof(out->role), &k) != orig ||
	    strcmp(k.state, was_state)) {
		wr_fail(w, DNSD_EEXIST, NULL,
			"%s: the key in %s changed meanwhile; nothing was changed", d.name,
			selector);
		return wr_commit(w);
	}
	lc_key_set_state(w, k.id, d.id, "revoked", now, cause);
	out->revoked = k.id;
	if (was_active) {
		char rc[128];
		snprintf(rc, sizeof(rc), "replaces key %lld (emergency revoke)", (long long)k.id);
		if (lc_key_in_order(w, d.id, role, "published", &pub, 0) && pub.eligible) {
			lc_key_set_state(w, pub.id, d.id, "active", now, rc);
			out->replacement = pub.id;
			out->window_until = pub.active_after;
			snprintf(out->replacement_selector, sizeof(out->replacement_selector), "%s",
				 pub.selector);
			out->how = "the key already published there";
		} else if (path[0]) {
			char *rsel = out->replacement_selector;
			size_t rn = sizeof(out->replacement_selector);
			int64_t slot = lc_free_slot(w, d.id, role, k.slot_id, rsel, rn);
			if (!slot && lc_key_in_order(w, d.id, role, "retired", &old, 1)) {
				char oc[128];
				snprintf(oc, sizeof(oc),
					 "emergency: its slot is needed for the replacement of key "
					 "%lld",
					 (long long)k.id);
				lc_key_set_state(w, old.id, d.id, "revoked", now, oc);
				slot = old.slot_id;
				snprintf(rsel, rn, "%s", old.selector);
			}
			if (!slot)
				slot = lc_free_slot(w, d.id, role, 0, rsel, rn);
			if (slot) {
				keyfile_rename(w, path, sizeof(path), sel, rsel);
				struct lc_key_new nk = {.domain_id = d.id,
							.slot_id = slot,
							.alg = alg,
							.pub = pk,
							.path = path,
							.state = "active",
							.first_event = "generated",
							.cause = rc};
				out->replacement = lc_key_insert(w, &nk);
				out->window_until =
					wr_int(w,
					       wr_q(w, "SELECT active_after FROM keys WHERE id = ?",
						    "i", out->replacement),
					       now);
				out->how = "a new key";
			} else {
				rsel[0] = 0;
			}
		}
	}
	if (wr_commit(w))
		return w->rc;
	/* A replacement made for a slot that was not there: never named, so
	 * gone. (Published already; the store does not name it.) */
	if (path[0] && !out->replacement)
		unlink(path);
	return 0;
}

/* ---- the bulk revoke ---- */

/* A role of a domain whose keys the bulk revoke replaces. */
struct target {
	int64_t domain_id, old_slot; /* old_slot: the active key's */
	char name[256], role[16], alg[32], sel[64], pub[2048], path[4096];
};

/* Appends the roles with an active key of the domains chosen (domain_id, or
 * all of tenant_id) to *t. */
static int targets_of(struct wr *w, int64_t domain_id, int64_t tenant_id, struct target **t,
		      size_t *n)
{
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT d.id, d.name, s.role, k.algorithm, s.id FROM keys k JOIN slots s ON "
		     "s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE k.state = "
		     "'active' AND "
		     "d.state = 'active' AND (d.id = ?1 OR (?1 = 0 AND d.tenant_id = ?2)) ORDER BY "
		     "d.id, "
		     "s.role",
		     "ii", domain_id, tenant_id);
	while (wr_step(w, st)) {
		struct target *x = realloc(*t, (*n + 1) * sizeof(**t));
		if (!x) {
			wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
			break;
		}
		*t = x;
		struct target *g = &x[(*n)++];
		memset(g, 0, sizeof(*g));
		g->domain_id = sqlite3_column_int64(st, 0);
		g->old_slot = sqlite3_column_int64(st, 4);
		snprintf(g->name, sizeof(g->name), "%s", sqlite3_column_text(st, 1));
		snprintf(g->role, sizeof(g->role), "%s", sqlite3_column_text(st, 2));
		lc_next_algorithm((const char *)sqlite3_column_text(st, 3), g->role, g->alg,
				  sizeof(g->alg));
	}
	sqlite3_finalize(st);
	return w->rc;
}

int lc_key_revoke_all(struct wr *w, const struct lc_revoke_all_in *in,
		      struct lc_revoke_all_out *out)
{
	struct target *t = NULL;
	size_t nt = 0;
	int64_t *dids = NULL;
	size_t nd = 0;
	char cause[600];
	memset(out, 0, sizeof(*out));
	if (w->rc)
		return w->rc;
	if (!in->tenant == !in->ndomains)
		return wr_fail(w, DNSD_EINVAL, "tenant",
			       "key revoke --all takes either --tenant NAME or a list of domains");
	snprintf(cause, sizeof(cause), "emergency revoke (bulk)%s%.500s", in->reason ? ": " : "",
		 in->reason ? in->reason : "");
	/* The domains, each checked first: a list with a name that is not there
	 * is refused whole. */
	if (in->tenant) {
		int64_t tid = wr_int(
			w, wr_q(w, "SELECT id FROM tenants WHERE name = ?", "s", in->tenant), 0);
		if (!tid && !w->rc)
			return wr_fail(w, DNSD_ENOENT, "tenant",
				       "no tenant '%s' (see 'dnsdctl tenant list')", in->tenant);
		targets_of(w, 0, tid, &t, &nt);
		sqlite3_stmt *st =
			wr_q(w, "SELECT id FROM domains WHERE tenant_id = ? AND state = 'active'",
			     "i", tid);
		dids = lc_ids(w, st, &nd);
	} else {
		dids = calloc(in->ndomains, sizeof(*dids));
		if (!dids)
			return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
		for (size_t i = 0; i < in->ndomains && !w->rc; i++) {
			struct lc_domain d;
			size_t j = 0;
			if (lc_domain_find(w, in->domains[i], 0, &d))
				break;
			/* Listed twice (in two spellings): once, or its roles get two keys. */
			while (j < nd && dids[j] != d.id)
				j++;
			if (j < nd)
				continue;
			dids[nd++] = d.id;
			targets_of(w, d.id, 0, &t, &nt);
		}
	}
	/* The replacements are generated before the transaction (RSA is slow). */
	for (size_t i = 0; i < nt && !w->rc && !in->no_replace; i++) {
		struct target *g = &t[i];
		char *token = wr_text(
			w, wr_q(w, "SELECT token FROM domains WHERE id = ?", "i", g->domain_id));
		char why[400];
		snprintf(g->sel, sizeof(g->sel), "key");
		lc_free_slot(w, g->domain_id, g->role, g->old_slot, g->sel, sizeof(g->sel));
		/* A row no dnsdctl wrote (a name no key file may have) still has
		 * its keys revoked: it only goes without a replacement, said. */
		if (token && keyfile_names_check(g->name, g->sel, token, why, sizeof(why), NULL))
			wr_warn(w, "domain row %lld: no replacement key: %s",
				(long long)g->domain_id, why);
		else if (token)
			keyfile_new(w, g->name, token, g->alg, g->sel, g->pub, sizeof(g->pub),
				    g->path, sizeof(g->path));
		free(token);
	}
	int64_t now = store_now();
	if (w->rc || wr_begin(w))
		goto out;
	/* Every live key of the domains, whatever its state: a leak of the key
	 * files is a leak of all of them. */
	for (size_t i = 0; i < nd && !w->rc; i++) {
		sqlite3_stmt *st =
			wr_q(w,
			     "SELECT k.id FROM keys k JOIN slots s ON s.id = k.slot_id "
			     "WHERE s.domain_id = ? AND k.state != 'revoked' ORDER BY k.id",
			     "i", dids[i]);
		size_t nk;
		int64_t *kids = lc_ids(w, st, &nk);
		for (size_t j = 0; j < nk; j++)
			lc_key_set_state(w, kids[j], dids[i], "revoked", now, cause);
		free(kids);
		out->revoked += (int64_t)nk;
		out->domains++;
	}
	for (size_t i = 0; i < nt && !w->rc; i++) {
		struct target *g = &t[i];
		char sel[64];
		/* Not the slot whose old answer resolvers hold, while there is
		 * another: mail the new key signs verifies at once there. */
		int64_t slot = 0;
		if (g->path[0] &&
		    !(slot = lc_free_slot(w, g->domain_id, g->role, g->old_slot, sel, sizeof(sel))))
			slot = lc_free_slot(w, g->domain_id, g->role, 0, sel, sizeof(sel));
		if (!slot) {
			out->unreplaced++;
			continue;
		}
		keyfile_rename(w, g->path, sizeof(g->path), g->sel, sel);
		struct lc_key_new nk = {.domain_id = g->domain_id,
					.slot_id = slot,
					.alg = g->alg,
					.pub = g->pub,
					.path = g->path,
					.state = "active",
					.first_event = "generated",
					.cause = "replaces the keys of an emergency revoke (bulk)"};
		if (lc_key_insert(w, &nk))
			out->replaced++;
	}
	wr_commit(w);
out:
	if (w->rc) {
		wr_rollback(w);
		memset(out, 0, sizeof(*out));
	}
	free(t);
	free(dids);
	return w->rc;
}

/* ---- key import and key put ---- */

/* The checks of an import against the store as it is: the slot (given, or
 * found) into sel, role and *slot. With replace, the selector's live key is the
 * one to replace (*old). */
static int import_slot(struct wr *w, const struct lc_import_in *in, const struct lc_domain *d,
		       const keys_key *key, char *sel, size_t seln, char *role, size_t rn,
		       int64_t *slot, struct lc_key *old)
{
	char why[512];
	memset(old, 0, sizeof(*old));
	if (in->selector) {
		struct lc_key k;
		if (lc_key_at(w, d->id, in->selector, slot, role, rn, &k)) {
			if (!in->replace)
				return wr_fail(
					w, DNSD_EEXIST, "selector",
					"%s: selector %s already holds key %lld (%s); choose a "
					"free slot",
					d->name, in->selector, (long long)k.id, k.state);
			*old = k;
		}
		if (!*slot && !w->rc)
			return wr_fail(w, DNSD_ENOENT, "selector", "%s has no selector '%s'",
				       d->name, in->selector);
		snprintf(sel, seln, "%s", in->selector);
		if (!wr_int(w, wr_q(w, "SELECT eligible FROM slots WHERE id = ?", "i", *slot), 0) &&
		    !w->rc)
			return wr_fail(
				w, DNSD_EINVAL, "selector",
				"%s: slot %s is not eligible (its CNAME is missing?): 'dnsdctl "
				"slot set %s %s --eligible yes' first",
				d->name, sel, d->name, sel);
	} else {
		if (keys_is_ed25519(key) && lc_has_role(w, d->id, "ed25519"))
			snprintf(role, rn, "ed25519");
		*slot = lc_free_slot(w, d->id, role, 0, sel, seln);
		if (!*slot && !w->rc) {
			lc_slots_report(w, d->id, role, why, sizeof(why));
			return wr_fail(w, DNSD_EEXIST, NULL, "%s has no free eligible %s slot (%s)",
				       d->name, lc_role_name(role), why);
		}
	}
	if (!strcmp(role, "ed25519") && !keys_is_ed25519(key))
		return wr_fail(w, DNSD_EINVAL, "selector",
			       "%s: %s belongs to the Ed25519 pair; %s is %s", d->name, sel,
			       in->file ? in->file : in->source, keys_algorithm_name(key));
	struct lc_key pub;
	/* The role's waiting key blocks an import beside it; key put over that
	 * very key replaces it. */
	if (lc_key_in_order(w, d->id, role, "published", &pub, 0) && pub.id != old->id)
		return wr_fail(w, DNSD_EEXIST, NULL,
			       "%s already has key %lld published in %s, waiting to become active: "
			       "import after it activates, or key revoke it first",
			       d->name, (long long)pub.id, pub.selector);
	return w->rc;
}

int lc_key_import(struct wr *w, const struct lc_import_in *in, struct lc_import_out *out)
{
	struct lc_domain d;
	struct lc_key old, again, cur;
	char why[512], pk[2048], role[16] = "main", sel[64] = "";
	const char *src = in->file ? in->file : in->source ? in->source : "the key";
	keys_key *key = NULL;
	int64_t slot = 0;
	memset(out, 0, sizeof(*out));
	if (w->rc)
		return w->rc;
	if (in->replace && !in->selector)
		return wr_fail(w, DNSD_EINVAL, "selector",
			       "key put needs the selector to put the "
			       "key at");
	int rc = in->file ? keys_load_private(in->file, &key, why, sizeof(why))
			  : keys_load_private_mem(in->pem ? in->pem : "", in->pem_len, src, &key,
						  why, sizeof(why));
	if (rc)
		return wr_fail(w, rc == DNSD_ENOMEM ? rc : DNSD_EINVAL, "file",
			       "%s; nothing was changed", why);
	if (keys_public_b64(key, pk, sizeof(pk)) < 0) {
		keys_free(key);
		return wr_fail(w, DNSD_ECRYPTO, "file", "cannot encode the public key of %s", src);
	}
	out->bits = keys_bits(key);
	out->is_ed25519 = keys_is_ed25519(key);
	snprintf(out->key.alg, sizeof(out->key.alg), "%s", keys_algorithm_name(key));
	if (lc_domain_find(w, in->domain, 0, &d) ||
	    import_slot(w, in, &d, key, sel, sizeof(sel), role, sizeof(role), &slot, &old))
		goto out;
	/* key put of the key the selector holds already: done before, nothing to do (a retried
	 * PUT must not revoke the key and add it back). */
	if (in->replace && old.id) {
		char *cur_pub = wr_text(
			w, wr_q(w, "SELECT public_key FROM keys WHERE id = ?", "i", old.id));
		char *ref = wr_text(
			w, wr_q(w, "SELECT private_ref FROM keys WHERE id = ?", "i", old.id));
		int same = cur_pub && !strcmp(cur_pub, pk);
		if (same) {
			out->unchanged = 1;
			out->key.key_id = old.id;
			out->key.active_after = old.active_after;
			snprintf(out->key.domain, sizeof(out->key.domain), "%s", d.name);
			snprintf(out->key.selector, sizeof(out->key.selector), "%s", sel);
			snprintf(out->key.state, sizeof(out->key.state), "%s", old.state);
			snprintf(out->key.path, sizeof(out->key.path), "%s", ref ? ref : "");
		}
		free(cur_pub);
		free(ref);
		if (same || w->rc)
			goto out;
	}
	/* The same key twice would sign as two selectors: refused. */
	if (wr_int(w,
		   wr_q(w,
			"SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id WHERE "
			"s.domain_id = ? AND k.public_key = ? AND k.state != 'revoked'",
			"is", d.id, pk),
		   0)) {
		wr_fail(w, DNSD_EEXIST, "file", "%s already has this key", d.name);
		goto out;
	}
	/* The store refers to a copy in the key directory, mode 0600, never to the
	 * file given (which its owner may move or delete). */
	if (keyfile_store(w, key, d.name, sel, d.token, "-imported", out->key.path,
			  sizeof(out->key.path))) {
		char e[sizeof(w->err)];
		snprintf(e, sizeof(e), "%s", w->err);
		snprintf(w->err, sizeof(w->err), "%.990s; nothing was changed", e);
		goto out;
	}
	int64_t now = store_now();
	/* key put keeps the state of the key it replaces: an active key's
	 * successor signs at once, with the window import --active has. */
	int activate = in->activate || (old.id && !strcmp(old.state, "active"));
	if (wr_begin(w))
		goto out;
	int64_t k2;
	if (lc_key_at(w, d.id, sel, &k2, role, sizeof(role), &again) != old.id ||
	    (lc_key_in_order(w, d.id, role, "published", &cur, 0) && cur.id != old.id)) {
		wr_fail(w, DNSD_EEXIST, NULL,
			"%s: slot %s was taken meanwhile; nothing was changed", d.name, sel);
		goto commit;
	}
	if (old.id) {
		lc_key_set_state(w, old.id, d.id, "revoked", now,
				 "replaced by an imported key at its selector (key put)");
		out->replaced = old.id;
	}
	if (activate && lc_key_in_order(w, d.id, role, "active", &cur, 0))
		lc_key_set_state(w, cur.id, d.id, "retired", now,
				 "replaced by an imported key (key import --active yes)");
	struct lc_key_new nk = {.domain_id = d.id,
				.slot_id = slot,
				.alg = out->key.alg,
				.pub = pk,
				.path = out->key.path,
				.state = activate ? "active" : "published",
				.first_event = "imported",
				.cause = in->replace ? "key put"
					 : activate  ? "key import --active yes"
						     : "key import"};
	out->key.key_id = lc_key_insert(w, &nk);
	out->key.active_after = wr_int(
		w, wr_q(w, "SELECT active_after FROM keys WHERE id = ?", "i", out->key.key_id), 0);
	snprintf(out->key.domain, sizeof(out->key.domain), "%s", d.name);
	snprintf(out->key.selector, sizeof(out->key.selector), "%s", sel);
	snprintf(out->key.state, sizeof(out->key.state), "%s", nk.state);
commit:
	wr_commit(w);
out:
	keys_free(key);
	if (w->rc)
		wr_rollback(w);
	return w->rc;
}

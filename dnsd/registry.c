/* registry: tenants, customer domains and their first keys, policies and
 * settings, as the write library's operations (registry.h). */
#include "registry.h"
#include "err.h"
#include "keyfile.h"
#include "names.h"
#include "policy.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- names ---- */

int reg_domain_norm(struct wr *w, const char *in, char *out, size_t n)
{
	char why[512];
	if (w->rc)
		return w->rc;
	if (!in) /* "" is policy_name_check's to explain */
		return wr_fail(w, DNSD_EINVAL, "domain", "no domain given");
	if (strlen(in) >= n)
		return wr_fail(w, DNSD_EINVAL, "domain", "domain '%.40s...' is too long", in);
	if (policy_name_check(in, 0, why, sizeof(why)))
		return wr_fail(w, DNSD_EINVAL, "domain", "%s", why);
	size_t l = strlen(in);
	for (size_t i = 0; i <= l; i++)
		out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
	if (l && out[l - 1] == '.')
		out[l - 1] = 0;
	return 0;
}

int reg_slot_selector(const char *prefix, int pos, int nmain, char *out, size_t n)
{
	if (pos > nmain) {
		snprintf(out, n, "%s-ed%d", prefix, pos - nmain);
		return 1;
	}
	snprintf(out, n, "%s%d", prefix, pos);
	return 0;
}

/* A setting (malloc'd; NULL when unset) through a kept statement: a batch
 * reads some for every row. */
static char *setting(struct wr *w, const char *name)
{
	int keep = (w->depth > 0 || w->snapshot) && strlen(name) < sizeof(w->scache[0].name);
	for (int i = 0; keep && i < w->nscache; i++) {
		if (strcmp(w->scache[i].name, name))
			continue;
		char *v = w->scache[i].value ? strdup(w->scache[i].value) : NULL;
		if (w->scache[i].value && !v)
			wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
		return v;
	}
	char *v = wr_text(w, wr_qk(w, "SELECT value FROM settings WHERE name = ?", "s", name));
	if (keep && !w->rc && w->nscache < (int)(sizeof(w->scache) / sizeof(w->scache[0]))) {
		char *c = v ? strdup(v) : NULL;
		if (c || !v) {
			snprintf(w->scache[w->nscache].name, sizeof(w->scache[0].name), "%s", name);
			w->scache[w->nscache++].value = c;
		}
	}
	return v;
}

static int setting_int(struct wr *w, const char *name, int def)
{
	char *v = setting(w, name), *end;
	long n = v ? strtol(v, &end, 10) : def;
	if (v && (end == v || *end))
		n = def;
	free(v);
	return (int)n;
}

const char *reg_prefix(struct wr *w, char *out, size_t n)
{
	char *ps = setting(w, "selector_prefix");
	snprintf(out, n, "%s", ps ? ps : "dnsd");
	free(ps);
	return out;
}

/* ---- tenants ---- */

int64_t reg_tenant_id(struct wr *w, const char *name, int must)
{
	if (!name) {
		if (must)
			wr_fail(w, DNSD_EINVAL, "tenant", "no tenant given");
		return 0;
	}
	int keep = (w->depth > 0 || w->snapshot) && strlen(name) < sizeof(w->tcache.name);
	if (keep && w->tcache.id && !strcmp(w->tcache.name, name))
		return w->tcache.id;
	sqlite3_stmt *st = wr_qk(
		w, "SELECT id, ifnull(slots, 0), ifnull(ed25519, -1) FROM tenants WHERE name = ?",
		"s", name);
	int64_t id = 0;
	if (wr_step(w, st)) {
		id = sqlite3_column_int64(st, 0);
		if (keep) {
			snprintf(w->tcache.name, sizeof(w->tcache.name), "%s", name);
			w->tcache.id = id;
			w->tcache.slots = sqlite3_column_int(st, 1);
			w->tcache.ed25519 = sqlite3_column_int(st, 2);
		}
	}
	wr_done(w, st);
	if (!id && must)
		wr_fail(w, DNSD_ENOENT, "tenant", "no tenant '%s' (see 'dnsdctl tenant list')",
			name);
	return id;
}

/* ---- domains ---- */

static void col_text(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	snprintf(out, n, "%s", v ? (const char *)v : "");
}

/* One domain row by name: the live one, or with any_state the newest. */
static int domain_row(struct wr *w, const char *name, struct reg_domain *d, int any_state)
{
	/* Two statements, not one with an OR: only the live rows' names have an
	 * index (domains_live_name), which "state = 'active'" lets SQLite use;
	 * an OR over the state scanned every domain (an import of n rows took
	 * n^2). */
	static const char *const sql[2] = {
		"SELECT d.id, d.tenant_id, d.name, d.token, d.return_path, d.state, t.name, "
		"d.created_at, ifnull(d.removed_at, 0) FROM domains d JOIN tenants t ON t.id = "
		"d.tenant_id WHERE d.name = ? AND d.state = 'active'",
		"SELECT d.id, d.tenant_id, d.name, d.token, d.return_path, d.state, t.name, "
		"d.created_at, ifnull(d.removed_at, 0) FROM domains d JOIN tenants t ON t.id = "
		"d.tenant_id WHERE d.name = ? ORDER BY d.id DESC LIMIT 1"};
	sqlite3_stmt *st = wr_qk(w, sql[any_state], "s", name);
	int found = wr_step(w, st);
	if (found) {
		d->id = sqlite3_column_int64(st, 0);
		d->tenant_id = sqlite3_column_int64(st, 1);
		col_text(st, 2, d->name, sizeof(d->name));
		col_text(st, 3, d->token, sizeof(d->token));
		col_text(st, 4, d->rp, sizeof(d->rp));
		col_text(st, 5, d->state, sizeof(d->state));
		col_text(st, 6, d->tenant, sizeof(d->tenant));
		d->created_at = sqlite3_column_int64(st, 7);
		d->removed_at = sqlite3_column_int64(st, 8);
	}
	wr_done(w, st);
	return found;
}

int reg_domain_find(struct wr *w, const char *name, struct reg_domain *d, int any_state)
{
	return domain_row(w, name, d, 0) || (any_state && domain_row(w, name, d, 1));
}

int reg_domain_need(struct wr *w, const char *arg, struct reg_domain *d, int any_state)
{
	char name[256];
	if (reg_domain_norm(w, arg, name, sizeof(name)))
		return w->rc;
	if (!reg_domain_find(w, name, d, any_state) && !w->rc)
		wr_fail(w, DNSD_ENOENT, "domain", "no domain '%s' (see 'dnsdctl domain list')",
			name);
	return w->rc;
}

/* ---- a new domain ---- */

void reg_new_free(struct reg_new *nd)
{
	if (!nd)
		return;
	free(nd->name);
	free(nd->tenant);
	free(nd->token);
	free(nd->rp);
	for (int i = 0; i < 2; i++) {
		free(nd->alg[i]);
		free(nd->pub[i]);
		free(nd->path[i]);
	}
	free(nd->cause);
	free(nd);
}

/* The slot layout of a new domain: the input's, else the tenant's, else the
 * store's. An Ed25519 pair beside Ed25519 main keys is dropped unless it was
 * asked for (then refused); one that does not fit is refused. */
static int slot_layout(struct wr *w, int64_t tid, const struct reg_domain_in *in, int main_is_ed,
		       int *nmain, int *pair)
{
	int64_t ts, te;
	if (tid && w->tcache.id == tid) { /* kept only while a transaction is open */
		ts = w->tcache.slots;
		te = w->tcache.ed25519;
	} else {
		ts = wr_int(w,
			    wr_qk(w, "SELECT ifnull(slots, 0) FROM tenants WHERE id = ?", "i", tid),
			    0);
		te = wr_int(
			w,
			wr_qk(w, "SELECT ifnull(ed25519, -1) FROM tenants WHERE id = ?", "i", tid),
			-1);
	}
	char *ge = setting(w, "ed25519");
	int g = ge && !strcmp(ge, "yes");
	free(ge);
	if (in->slots && (in->slots < 2 || in->slots > REG_MAX_SLOTS))
		return wr_fail(w, DNSD_EINVAL, "slots", "slots must be from 2 to %d, not %d",
			       REG_MAX_SLOTS, in->slots);
	*nmain = in->slots ? in->slots : ts ? (int)ts : setting_int(w, "slots", 3);
	if (*nmain < 2 || *nmain > REG_MAX_SLOTS)
		*nmain = 3;
	*pair = in->ed25519 >= 0 ? in->ed25519 > 0 : te >= 0 ? te > 0 : g;
	if (*pair && main_is_ed) {
		if (in->ed25519 > 0)
			return wr_fail(
				w, DNSD_EINVAL, "ed25519",
				"the Ed25519 pair goes beside RSA keys; this domain's keys are "
				"ed25519 already");
		*pair = 0;
	}
	if (*pair && *nmain + 2 > REG_MAX_SLOTS)
		return wr_fail(w, DNSD_EINVAL, "ed25519",
			       "%d slots plus the Ed25519 pair pass the %d slots a domain may have",
			       *nmain, REG_MAX_SLOTS);
	return w->rc;
}

/* The first main key from the input: read from key_file, or checked from
 * public_key, into *k (NULL for a public key only), alg and pub. */
static int given_key(struct wr *w, const char *name, const struct reg_domain_in *in, keys_key **k,
		     char *alg, size_t algn, char *pub, size_t pubn, int *weak_bits)
{
	char why[600];
	*k = NULL;
	if (in->key_file || in->key_pem) {
		/* A key as PEM text is named "key" (the API's member), a file by its path. */
		const char *field = in->key_file ? "key_file" : "key";
		const char *src = in->key_file ? in->key_file : "the key";
		if (in->key_file && in->key_pem)
			return wr_fail(w, DNSD_EINVAL, "key",
				       "give a key file or its text, not both");
		if (in->key_file ? keys_load_private(in->key_file, k, why, sizeof(why))
				 : keys_load_private_mem(in->key_pem, in->key_pem_len, "key", k,
							 why, sizeof(why)))
			return wr_fail(w, DNSD_EINVAL, field, "%s", why);
		snprintf(alg, algn, "%s", keys_algorithm_name(*k));
		if (keys_public_b64(*k, pub, pubn) < 0)
			return wr_fail(w, DNSD_ECRYPTO, field, "cannot encode the public key of %s",
				       src);
		if (in->public_key && strcmp(in->public_key, pub))
			return wr_fail(w, DNSD_EINVAL, "public_key",
				       "public_key is not the public half of %s", src);
		if (!keys_is_ed25519(*k) && keys_bits(*k) < 2048)
			*weak_bits = keys_bits(*k);
	} else {
		if (keys_check_public(in->public_key, alg, algn, why, sizeof(why)))
			return wr_fail(w, DNSD_EINVAL, "public_key", "%s: %s", name, why);
		snprintf(pub, pubn, "%s", in->public_key);
	}
	if (in->algorithm && strcmp(in->algorithm, alg))
		return wr_fail(w, DNSD_EINVAL, "algorithm", "the key is %s, not the algorithm's %s",
			       alg, in->algorithm);
	return 0;
}

/* Drops the key files staged since mark (a prep that failed after them). */
static void unstage_since(struct wr *w, size_t mark)
{
	while (w->nundo > mark) {
		w->nundo--;
		unlink(w->undo[w->nundo]);
		free(w->undo[w->nundo]);
		free(w->final[w->nundo]);
	}
}

/* Generates (k NULL) or copies k as a key file of the new domain: its public
 * value and path go into nd's slot i. */
static int key_out(struct wr *w, struct reg_new *nd, int i, const char *alg, keys_key *k,
		   const char *label, const char *suffix)
{
	char pub[2048], path[8192];
	keys_key *gen = NULL;
	if (!k && keys_generate(alg, &gen))
		return wr_fail(w, DNSD_ECRYPTO, NULL, "cannot generate a %s key", alg);
	const keys_key *use = k ? k : gen;
	if (keys_public_b64(use, pub, sizeof(pub)) < 0) {
		keys_free(gen);
		return wr_fail(w, DNSD_ECRYPTO, NULL, "cannot encode the public key");
	}
	int rc = keyfile_store(w, use, nd->name, label, nd->token, suffix, path, sizeof(path));
	keys_free(gen);
	if (rc)
		return rc;
	if (!(nd->alg[i] = strdup(alg)) || !(nd->pub[i] = strdup(pub)) ||
	    !(nd->path[i] = strdup(path)))
		return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	return 0;
}

/* No live domain has the name, and no domain ever had the token: EEXIST. */
static int unused(struct wr *w, const struct reg_new *nd)
{
	struct reg_domain d;
	if (reg_domain_find(w, nd->name, &d, 0))
		return wr_fail(w, DNSD_EEXIST, "domain",
			       "domain %s already exists (tenant %s, token %s)", nd->name, d.tenant,
			       d.token);
	if (wr_int(w, wr_qk(w, "SELECT count(*) FROM tokens WHERE token = ?", "s", nd->token), 0))
		return wr_fail(w, DNSD_EEXIST, "token",
			       "token %s was already used; tokens are never reused", nd->token);
	return w->rc;
}

/* The live domain name is the row in as given already: the same tenant, the
 * token if one is given, and a key of its with the public value pub. Then the
 * error (EEXIST) is cleared and 1 returned. */
static int same_domain(struct wr *w, const struct reg_domain_in *in, const char *name,
		       const char *pub)
{
	struct reg_domain d;
	int code = w->rc;
	char err[sizeof(w->err)], field[sizeof(w->field)];
	memcpy(err, w->err, sizeof(err));
	memcpy(field, w->field, sizeof(field));
	wr_clear(w);
	int same = reg_domain_find(w, name, &d, 0) && !strcasecmp(d.tenant, in->tenant) &&
		   (!in->token || !strcmp(d.token, in->token)) &&
		   wr_int(w,
			  wr_qk(w,
				"SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id "
				"WHERE s.domain_id = ? AND k.public_key = ?",
				"is", d.id, pub),
			  0) > 0;
	if (same || w->rc)
		return same && !w->rc;
	w->rc = code;
	memcpy(w->err, err, sizeof(err));
	memcpy(w->field, field, sizeof(field));
	return 0;
}

/* The checks of a new domain that need the store but no key. */
static int new_checks(struct wr *w, const struct reg_domain_in *in, struct reg_new *nd,
		      int main_is_ed, const char *prefix)
{
	char dotted[300];
	size_t zl = strlen(w->zone), nl = strlen(nd->name);
	snprintf(dotted, sizeof(dotted), ".%s.", nd->name);
	if (nl + 2 >= zl && !strcmp(dotted + nl + 2 - zl, w->zone) &&
	    (nl + 2 == zl || dotted[nl + 1 - zl] == '.'))
		return wr_fail(w, DNSD_EINVAL, "domain", "domain %s is inside the hosted zone %s",
			       nd->name, w->zone);
	int64_t tid = reg_tenant_id(w, in->tenant, 1);
	if (!tid || slot_layout(w, tid, in, main_is_ed, &nd->nslots, &nd->pair))
		return w->rc;
	/* <prefix>-ed2._domainkey.D (or <prefix><n>) and D._report._dmarc.Z,
	 * without the final dot (zl counts it), must stay within 253 characters. */
	size_t sel_len = strlen(prefix) + (nd->pair ? 4 : 1);
	if (sel_len + 12 + nl > 253 || nl + 15 + zl > 253)
		return wr_fail(w, DNSD_EINVAL, "domain",
			       "domain %s is too long: the longest selector name under "
			       "_domainkey.%s or %s._report._dmarc.%s would pass 253 characters",
			       nd->name, nd->name, nd->name, w->zone);
	char *rps = in->return_path ? NULL : setting(w, "return_path");
	const char *rp = in->return_path ? in->return_path : rps ? rps : "bounce";
	if (!names_label(rp, 63)) {
		wr_fail(w, DNSD_EINVAL, "return_path", "invalid return-path label '%s'", rp);
		free(rps);
		return w->rc;
	}
	nd->rp = strdup(rp);
	free(rps);
	char token[32];
	if (in->token && !keys_token_valid(in->token))
		return wr_fail(w, DNSD_EINVAL, "token",
			       "invalid token '%s': 16 characters of a-z and 2-7", in->token);
	if (!in->token && keys_token_new(token))
		return wr_fail(w, DNSD_ECRYPTO, "token", "cannot draw a random token");
	if (!nd->rp || !(nd->token = strdup(in->token ? in->token : token)))
		return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	if (unused(w, nd))
		return w->rc;
	nd->tid = tid;
	nd->checked_txn = w->depth ? w->txn : 0;
	return 0;
}

int reg_domain_prep(struct wr *w, const struct reg_domain_in *in, struct reg_new **out)
{
	char name[256], prefix[64], alg[16], pub[2048];
	keys_key *k = NULL;
	int is_ed = 0, bits = 2048;
	*out = NULL;
	if (w->rc)
		return w->rc;
	if (reg_domain_norm(w, in->name, name, sizeof(name)))
		return w->rc;
	if (!in->tenant)
		return wr_fail(w, DNSD_EINVAL, "tenant", "a new domain needs its tenant");
	struct reg_new *nd = calloc(1, sizeof(*nd));
	if (!nd || !(nd->name = strdup(name)) || !(nd->tenant = strdup(in->tenant)) ||
	    !(nd->cause = strdup(in->cause ? in->cause : "domain add"))) {
		reg_new_free(nd);
		return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	}
	size_t mark = w->nundo;
	if (in->key_file || in->key_pem || in->public_key) {
		if (given_key(w, name, in, &k, alg, sizeof(alg), pub, sizeof(pub), &nd->weak_bits))
			goto out;
		is_ed = !strcmp(alg, "ed25519");
	} else {
		snprintf(alg, sizeof(alg), "%s", in->algorithm ? in->algorithm : "rsa-2048");
		if (keys_parse_algorithm(alg, &is_ed, &bits)) {
			wr_fail(w, DNSD_EINVAL, "algorithm",
				"unknown algorithm '%s': use rsa-2048, rsa-3072, rsa-4096 or "
				"ed25519",
				alg);
			goto out;
		}
		if (!is_ed && bits < 2048) {
			wr_fail(w, DNSD_EINVAL, "algorithm",
				"%s is too weak to generate: new keys are rsa-2048 or larger (RFC "
				"8301), or ed25519",
				alg);
			goto out;
		}
	}
	reg_prefix(w, prefix, sizeof(prefix));
	if (new_checks(w, in, nd, is_ed, prefix)) {
		if (w->rc == DNSD_EEXIST && in->done_ok && (in->key_file || in->public_key) &&
		    same_domain(w, in, name, pub))
			nd->done = 1;
		goto out;
	}
	if (in->check_only)
		goto out;
	/* The slow part, before any transaction: the keys and their files. */
	char sel1[80], sele[80];
	snprintf(sel1, sizeof(sel1), "%s1", prefix);
	snprintf(sele, sizeof(sele), "%s-ed1", prefix);
	nd->first_event = in->key_file || in->key_pem || in->public_key ? "imported" : "generated";
	if (in->key_file || in->key_pem)
		key_out(w, nd, 0, alg, k, sel1, "-imported");
	else if (in->public_key) {
		if (!(nd->alg[0] = strdup(alg)) || !(nd->pub[0] = strdup(pub)))
			wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	} else
		key_out(w, nd, 0, alg, NULL, sel1, "");
	if (nd->pair && !w->rc)
		key_out(w, nd, 1, "ed25519", NULL, sele, "");
out:
	keys_free(k);
	if (w->rc) {
		unstage_since(w, mark);
		reg_new_free(nd);
		return w->rc;
	}
	*out = nd;
	return 0;
}

/* The first key of a slot, active at once, and its events. */
static void first_key(struct wr *w, const struct reg_new *nd, int i, int64_t did, int64_t slot,
		      int64_t now)
{
	char cause[200];
	snprintf(cause, sizeof(cause),
		 "%s: the first key of a new domain (its names were never answered)", nd->cause);
	/* The batch's serial, read once per batch: an import writes thousands of
	 * first keys in one. */
	if (!w->batch_serial)
		w->batch_serial = store_batch_serial(w->st);
	wr_run(w, wr_qk(w,
			"INSERT INTO keys(slot_id, algorithm, public_key, private_ref, state, "
			"created_at, published_at, activated_at, published_serial, active_after) "
			"VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?5, ?5, ?6, ?5)",
			"isssii", slot, nd->alg[i], nd->pub[i], nd->path[i], now, w->batch_serial));
	int64_t kid = sqlite3_last_insert_rowid(w->db);
	/* Its three events in one statement. */
	wr_run(w, wr_qk(w,
			"INSERT INTO key_events(key_id, domain_id, event, at, cause) "
			"VALUES (?1, ?2, ?3, ?4, ?5), (?1, ?2, 'published', ?4, ?5), "
			"(?1, ?2, 'activated', ?4, ?5)",
			"iisis", kid, did, i ? "generated" : nd->first_event, now, cause));
}

int reg_domain_write(struct wr *w, const struct reg_new *nd, int write, int64_t *id)
{
	char prefix[64];
	int64_t tid = nd->tid;
	/* Checked in this very transaction (an import's batch): nothing changed
	 * since. Checked before it (domain add, outside the lock): again. */
	if (!nd->checked_txn || !w->depth || nd->checked_txn != w->txn) {
		if (unused(w, nd))
			return w->rc;
		tid = reg_tenant_id(w, nd->tenant, 1);
	}
	if (!write || w->rc)
		return w->rc;
	int64_t now = store_now();
	wr_run(w, wr_qk(w, "INSERT INTO tokens(token, created_at) VALUES (?, ?)", "si", nd->token,
			now));
	wr_run(w, wr_qk(w,
			"INSERT INTO domains(tenant_id, name, token, return_path, created_at) "
			"VALUES (?, ?, ?, ?, ?)",
			"isssi", tid, nd->name, nd->token, nd->rp, now));
	int64_t did = sqlite3_last_insert_rowid(w->db);
	reg_prefix(w, prefix, sizeof(prefix));
	for (int i = 1; i <= nd->nslots + (nd->pair ? 2 : 0) && !w->rc; i++) {
		char sel[80];
		int ped = reg_slot_selector(prefix, i, nd->nslots, sel, sizeof(sel));
		wr_run(w,
		       wr_qk(w,
			     "INSERT INTO slots(domain_id, selector, position, role, created_at) "
			     "VALUES (?, ?, ?, ?, ?)",
			     "isisi", did, sel, (int64_t)i, ped ? "ed25519" : "main", now));
		/* The first keys of a new domain are active at once: its names were
		 * never answered before (the token is new), so no resolver holds an
		 * older answer. */
		if (!w->rc && (i == 1 || i == nd->nslots + 1))
			first_key(w, nd, ped, did, sqlite3_last_insert_rowid(w->db), now);
	}
	if (id)
		*id = did;
	return w->rc;
}

int reg_domain_add_tx(struct wr *w, const struct reg_new *nd, int64_t *id)
{
	return reg_domain_write(w, nd, 1, id);
}

int reg_domain_add(struct wr *w, const struct reg_domain_in *in, struct reg_domain *d)
{
	struct reg_new *nd;
	if (reg_domain_prep(w, in, &nd))
		return w->rc;
	if (!wr_begin(w))
		reg_domain_add_tx(w, nd, NULL);
	if (!wr_commit(w) && d)
		reg_domain_find(w, nd->name, d, 0);
	if (!w->rc && nd->weak_bits)
		wr_warn(w,
			"warning: a %d-bit RSA key is weak (RFC 8301 asks for 2048): rotate it "
			"soon "
			"with 'dnsdctl key rotate %s'",
			nd->weak_bits, nd->name);
	reg_new_free(nd);
	return w->rc;
}

/* ---- tenants: the operations ---- */

static int tenant_layout(struct wr *w, int slots, int ed25519)
{
	if (slots && (slots < 2 || slots > REG_MAX_SLOTS))
		return wr_fail(w, DNSD_EINVAL, "slots", "slots must be from 2 to %d, not %d",
			       REG_MAX_SLOTS, slots);
	if (ed25519 < -1 || ed25519 > 1)
		return wr_fail(w, DNSD_EINVAL, "ed25519", "ed25519 is yes or no");
	return w->rc;
}

int reg_tenant_add(struct wr *w, const char *name, int slots, int ed25519)
{
	if (!name || !names_tenant(name))
		return wr_fail(
			w, DNSD_EINVAL, "tenant",
			"invalid tenant name '%s': a letter or digit, then up to %d letters, "
			"digits, '.', '_' or '-'",
			name, NAMES_TENANT_MAX - 1);
	if (tenant_layout(w, slots, ed25519) || wr_begin(w))
		return w->rc;
	/* Names are compared without case (the column's collation). */
	char *have = wr_text(w, wr_q(w, "SELECT name FROM tenants WHERE name = ?", "s", name));
	if (have && strcmp(have, name))
		wr_fail(w, DNSD_EEXIST, "tenant",
			"tenant '%s' already exists as '%s' (tenant names are compared without "
			"case)",
			name, have);
	else if (have)
		wr_fail(w, DNSD_EEXIST, "tenant", "tenant '%s' already exists", name);
	free(have);
	wr_run(w, wr_q(w,
		       "INSERT INTO tenants(name, created_at, slots, ed25519) "
		       "VALUES (?, ?, nullif(?, 0), nullif(?, -1))",
		       "siii", name, store_now(), (int64_t)slots, (int64_t)ed25519));
	wr_cache_clear(w);
	return wr_commit(w);
}

int reg_tenant_set(struct wr *w, const char *name, int slots, int ed25519)
{
	if (tenant_layout(w, slots, ed25519) || wr_begin(w))
		return w->rc;
	int64_t id = reg_tenant_id(w, name, 1);
	if (slots)
		wr_run(w, wr_q(w, "UPDATE tenants SET slots = ? WHERE id = ?", "ii", (int64_t)slots,
			       id));
	if (ed25519 >= 0)
		wr_run(w, wr_q(w, "UPDATE tenants SET ed25519 = ? WHERE id = ?", "ii",
			       (int64_t)ed25519, id));
	wr_cache_clear(w);
	return wr_commit(w);
}

int reg_tenant_remove(struct wr *w, const char *name)
{
	if (wr_begin(w))
		return w->rc;
	int64_t id = reg_tenant_id(w, name, 1);
	int64_t live = wr_int(w,
			      wr_q(w,
				   "SELECT count(*) FROM domains WHERE tenant_id = ? AND "
				   "state != 'purged'",
				   "i", id),
			      0);
	int64_t any =
		wr_int(w, wr_q(w, "SELECT count(*) FROM domains WHERE tenant_id = ?", "i", id), 0);
	if (live)
		wr_fail(w, DNSD_EEXIST, "tenant",
			"tenant '%s' still has %lld domain(s): remove them first (dnsdctl domain "
			"list --tenant %s)",
			name, (long long)live, name);
	else if (any)
		wr_fail(w, DNSD_EEXIST, "tenant",
			"tenant '%s' has purged domains whose tokens it keeps; it cannot be "
			"deleted, only left empty",
			name);
	wr_run(w, wr_q(w, "DELETE FROM policies WHERE tenant_id = ?", "i", id));
	wr_run(w, wr_q(w, "DELETE FROM tenants WHERE id = ?", "i", id));
	wr_cache_clear(w);
	return wr_commit(w);
}

int reg_tenant_list(struct wr *w, const char *name,
		    int (*each)(void *arg, const struct reg_tenant *t), void *arg)
{
	if (name && !reg_tenant_id(w, name, 1))
		return w->rc;
	sqlite3_stmt *st = wr_q(
		w,
		"SELECT t.name, t.created_at, "
		"(SELECT count(*) FROM domains d WHERE d.tenant_id = t.id AND d.state = 'active'), "
		"(SELECT value FROM policies p WHERE p.tenant_id = t.id AND kind = 'spf'), "
		"(SELECT value FROM policies p WHERE p.tenant_id = t.id AND kind = 'mx'), "
		"(SELECT value FROM policies p WHERE p.tenant_id = t.id AND kind = 'dmarc'), "
		"ifnull(t.slots, 0), ifnull(t.ed25519, -1) "
		"FROM tenants t WHERE ?1 IS NULL OR t.name = ?1 ORDER BY t.name",
		"s", name);
	int rc = 0;
	while (!rc && wr_step(w, st)) {
		struct reg_tenant t = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.created_at = sqlite3_column_int64(st, 1),
			.domains = sqlite3_column_int64(st, 2),
			.spf = (const char *)sqlite3_column_text(st, 3),
			.mx = (const char *)sqlite3_column_text(st, 4),
			.dmarc = (const char *)sqlite3_column_text(st, 5),
			.slots = sqlite3_column_int(st, 6),
			.ed25519 = sqlite3_column_int(st, 7),
		};
		rc = each(arg, &t);
	}
	sqlite3_finalize(st);
	return w->rc ? w->rc : rc;
}

/* ---- domains: the rest of their operations ---- */

int reg_domain_remove(struct wr *w, const char *name, struct reg_domain *d)
{
	struct reg_domain tmp;
	d = d ? d : &tmp;
	if (wr_begin(w) || reg_domain_need(w, name, d, 0))
		return wr_commit(w);
	int64_t now = store_now();
	wr_run(w, wr_q(w,
		       "INSERT INTO key_events(key_id, domain_id, event, at, cause) "
		       "SELECT k.id, s.domain_id, 'revoked', ?1, 'domain remove' FROM keys k "
		       "JOIN slots s ON s.id = k.slot_id WHERE k.state != 'revoked' AND "
		       "s.domain_id = ?2",
		       "ii", now, d->id));
	wr_run(w, wr_q(w,
		       "UPDATE keys SET state = 'revoked', revoked_at = ? WHERE state != 'revoked' "
		       "AND slot_id IN (SELECT id FROM slots WHERE domain_id = ?)",
		       "ii", now, d->id));
	wr_run(w, wr_q(w, "UPDATE domains SET state = 'removed', removed_at = ? WHERE id = ?", "ii",
		       now, d->id));
	return wr_commit(w);
}

int reg_domain_list(struct wr *w, const struct reg_filter *f,
		    int (*each)(void *arg, const struct reg_domain *d), void *arg)
{
	int64_t tid = f->tenant ? reg_tenant_id(w, f->tenant, 1) : 0;
	if (f->state && strcmp(f->state, "active") && strcmp(f->state, "removed"))
		wr_fail(w, DNSD_EINVAL, "state", "a domain's state is active or removed, not '%s'",
			f->state);
	if (f->check && strcmp(f->check, "pending") && strcmp(f->check, "verified") &&
	    strcmp(f->check, "drifted"))
		wr_fail(w, DNSD_EINVAL, "check",
			"a check state is pending, verified or drifted, not '%s'", f->check);
	if (f->limit < 0)
		wr_fail(w, DNSD_EINVAL, "limit", "a limit is 0 (none) or more, not %d", f->limit);
	/* The text q is searched as it is stored: lowercase, no final dot. */
	char q[256];
	if (f->q) {
		size_t ql = strlen(f->q);
		if (ql >= sizeof(q))
			wr_fail(w, DNSD_EINVAL, "q", "q is at most %zu characters", sizeof(q) - 1);
		for (size_t i = 0; i <= ql && i < sizeof(q); i++)
			q[i] = (char)((f->q[i] >= 'A' && f->q[i] <= 'Z') ? f->q[i] + 32 : f->q[i]);
	}
	/* The live rows' names have an index (domains_live_name), which SQLite uses
	 * only when the statement says state = 'active' itself: a page of the
	 * active domains is then a search from the cursor (1 ms at 200,000
	 * domains), not a sort of all of them (94 ms, and growing with the store).
	 * The rows of every state have no index by name: their pages are sorted.
	 * instr, not LIKE: the text is matched as it is, '%' and '_' too. */
#define DOMAIN_LIST(STATE)                                                                         \
	"SELECT d.id, d.tenant_id, d.name, d.token, d.return_path, d.state, t.name, "              \
	"d.created_at, ifnull(d.removed_at, 0) FROM domains d JOIN tenants t ON t.id = "           \
	"d.tenant_id WHERE " STATE " AND (?1 = 0 OR d.tenant_id = ?1) AND d.name >= ?3 AND "       \
	"(d.name, d.id) > (?3, ?4) AND (?6 IS NULL OR instr(d.name, ?6) > 0) AND (?7 IS NULL OR "  \
	"?7 = ifnull((SELECT c.state FROM domain_checks c WHERE c.domain_id = d.id), "             \
	"'pending')) ORDER BY d.name, d.id LIMIT ?5"
	static const char *const sql[2] = {
		DOMAIN_LIST("d.state != 'purged' AND (?2 IS NULL OR d.state = ?2)"),
		DOMAIN_LIST("d.state = 'active' AND ?2 = 'active'")};
#undef DOMAIN_LIST
	int live = f->state && !strcmp(f->state, "active");
	/* No cursor: from "", before every name. */
	sqlite3_stmt *st =
		wr_q(w, sql[live], "issiiss", tid, f->state, f->after_name ? f->after_name : "",
		     f->after_name ? f->after_id : 0, (int64_t)f->limit, f->q ? q : NULL, f->check);
	if (!st)
		return w->rc;
	sqlite3_bind_int(st, 5, f->limit > 0 ? f->limit : -1);
	int rc = 0;
	while (!rc && wr_step(w, st)) {
		struct reg_domain d = {
			.id = sqlite3_column_int64(st, 0),
			.tenant_id = sqlite3_column_int64(st, 1),
			.created_at = sqlite3_column_int64(st, 7),
			.removed_at = sqlite3_column_int64(st, 8),
		};
		col_text(st, 2, d.name, sizeof(d.name));
		col_text(st, 3, d.token, sizeof(d.token));
		col_text(st, 4, d.rp, sizeof(d.rp));
		col_text(st, 5, d.state, sizeof(d.state));
		col_text(st, 6, d.tenant, sizeof(d.tenant));
		rc = each(arg, &d);
	}
	sqlite3_finalize(st);
	return w->rc ? w->rc : rc;
}

int reg_domain_slots(struct wr *w, int64_t domain_id,
		     int (*each)(void *arg, const struct reg_slot *s), void *arg)
{
	sqlite3_stmt *st = wr_q(w,
				"SELECT s.selector, s.role, s.eligible, k.algorithm, k.state, "
				"ifnull(k.activated_at, 0), k.private_ref FROM slots s "
				"LEFT JOIN keys k ON k.slot_id = s.id AND k.state != 'revoked' "
				"WHERE s.domain_id = ? ORDER BY s.position",
				"i", domain_id);
	int rc = 0;
	while (!rc && wr_step(w, st)) {
		struct reg_slot s = {
			.selector = (const char *)sqlite3_column_text(st, 0),
			.role = (const char *)sqlite3_column_text(st, 1),
			.eligible = sqlite3_column_int(st, 2),
			.algorithm = (const char *)sqlite3_column_text(st, 3),
			.state = (const char *)sqlite3_column_text(st, 4),
			.activated_at = sqlite3_column_int64(st, 5),
			.private_ref = (const char *)sqlite3_column_text(st, 6),
		};
		rc = each(arg, &s);
	}
	sqlite3_finalize(st);
	return w->rc ? w->rc : rc;
}

int reg_domain_records(struct wr *w, const struct reg_domain *d, struct reg_record *r, int *n,
		       int *ttl)
{
	char q[200];
	*n = 0;
	if (!keys_token_valid(d->token))
		return wr_fail(
			w, DNSD_ESTORE, NULL,
			"%s: its token '%s' in the store is not 16 characters of a-z, 2-7; no "
			"records printed",
			d->name, names_show(q, sizeof(q), d->token));
	if (!names_label(d->rp, 63))
		return wr_fail(w, DNSD_ESTORE, NULL,
			       "%s: its Return-Path label '%s' in the store is not a DNS label; no "
			       "records printed",
			       d->name, names_show(q, sizeof(q), d->rp));
	sqlite3_stmt *st = wr_q(
		w, "SELECT selector FROM slots WHERE domain_id = ? ORDER BY position", "i", d->id);
	while (wr_step(w, st) && *n < REG_MAX_SLOTS) {
		const char *sel = (const char *)sqlite3_column_text(st, 0);
		if (!sel || !names_label(sel, 63)) {
			wr_warn(w, "%s: slot '%s' left out: not a DNS label", d->name,
				names_show(q, sizeof(q), sel ? sel : ""));
			continue;
		}
		snprintf(r[*n].name, sizeof(r[0].name), "%s._domainkey.%s.", sel, d->name);
		snprintf(r[*n].value, sizeof(r[0].value), "%s.%s.dkim.%s", sel, d->token, w->zone);
		r[*n].purpose = "dkim";
		r[(*n)++].optional = 0;
	}
	sqlite3_finalize(st);
	snprintf(r[*n].name, sizeof(r[0].name), "%s.%s.", d->rp, d->name);
	snprintf(r[*n].value, sizeof(r[0].value), "%s.rp.%s", d->token, w->zone);
	r[*n].purpose = "return-path";
	r[(*n)++].optional = 0;
	snprintf(r[*n].name, sizeof(r[0].name), "_dmarc.%s.", d->name);
	snprintf(r[*n].value, sizeof(r[0].value), "%s.dmarc.%s", d->token, w->zone);
	r[*n].purpose = "dmarc";
	r[(*n)++].optional = 1;
	*ttl = store_setting_int(w->st, "ttl_policy", 3600);
	return w->rc;
}

int reg_domain_history(struct wr *w, int64_t domain_id,
		       int (*each)(void *arg, const struct reg_event *e), void *arg)
{
	static const char *const sql[2] = {
		"SELECT e.at, e.event, s.selector, k.algorithm, k.id, e.cause FROM key_events e "
		"JOIN keys k ON k.id = e.key_id JOIN slots s ON s.id = k.slot_id "
		"WHERE e.domain_id = ? ORDER BY e.at, e.id",
		/* What dnsdctl check found: each change of state, and of a slot's
		 * eligibility. */
		"SELECT at, event, name, outcome, 0, cause FROM check_events "
		"WHERE domain_id = ? ORDER BY at, id"};
	int rc = 0;
	for (int check = 0; check < 2 && !rc; check++) {
		sqlite3_stmt *st = wr_q(w, sql[check], "i", domain_id);
		while (!rc && wr_step(w, st)) {
			const char *c2 = (const char *)sqlite3_column_text(st, 2),
				   *c3 = (const char *)sqlite3_column_text(st, 3);
			struct reg_event e = {
				.check = check,
				.at = sqlite3_column_int64(st, 0),
				.event = (const char *)sqlite3_column_text(st, 1),
				.selector = check ? NULL : c2,
				.algorithm = check ? NULL : c3,
				.name = check ? c2 : NULL,
				.outcome = check ? c3 : NULL,
				.key_id = sqlite3_column_int64(st, 4),
				.cause = (const char *)sqlite3_column_text(st, 5),
			};
			rc = each(arg, &e);
		}
		sqlite3_finalize(st);
	}
	return w->rc ? w->rc : rc;
}

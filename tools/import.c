/* import: many customer domains at once, with the keys they already have, in one
 * transaction: for platforms moving thousands of customers from another system
 * (their public keys are already in the customers' DNS or their signer holds
 * the private keys), and for loading benchmarks. Every row is checked before
 * anything is written; one bad row and nothing changes. */
#include "csv.h"
#include "ctl.h"
#include "err.h"
#include "keys.h"
#include "names.h"
#include "policy.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct row {
	int line;
	char *domain, *tenant, *token, *rp, *pub, *path; /* path: the copy in the key directory */
	char alg[16];
	int64_t tid;
};

struct errs {
	int n;
	char text[20][1300];
};

static void err_add(struct errs *e, int line, const char *fmt, const char *a, const char *b)
{
	if (e->n < 20) {
		char msg[1200];
		snprintf(msg, sizeof(msg), fmt, a, b);
		snprintf(e->text[e->n], sizeof(e->text[0]), "line %d: %s", line, msg);
	}
	e->n++;
}

static int row_by_domain(const void *a, const void *b)
{
	const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;
	int d = strcmp(x->domain, y->domain);
	return d ? d : x->line - y->line;
}

static int row_by_token(const void *a, const void *b)
{
	const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;
	int d = strcmp(x->token, y->token);
	return d ? d : x->line - y->line;
}

/* A statement prepared once and reset for every row. */
static sqlite3_stmt *again(struct ctx *c, sqlite3_stmt **st, const char *sql)
{
	if (!*st)
		*st = prep(c, sql);
	else
		sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

static void step_done(struct ctx *c, sqlite3_stmt *st, int line)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		fail(c, "line %d: store error: %s; nothing was changed", line, sqlite3_errmsg(c->db));
}

void cmd_import(struct ctx *c)
{
	if (c->o.npos != 2)
		die_usage("import FILE.csv (or - for standard input) [--tenant NAME]");
	const char *file = c->o.pos[1];
	FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!in)
		fail(NULL, "cannot open %s: %s", file, strerror(errno));
	open_store(c, 0);
	char prefix[64];
	char *ps = store_setting(c->st, "selector_prefix");
	snprintf(prefix, sizeof(prefix), "%s", ps ? ps : "dnsd");
	free(ps);

	/* 1. Read and check every row. */
	struct row *rows = NULL;
	size_t nrows = 0, cap = 0;
	struct errs e = { 0 };
	int lineno = 0;
	char *line = NULL;
	size_t lcap = 0;
	struct csv cv;
	struct csv_row cr;
	csv_init(&cv, c->zone, prefix, c->o.tenant != NULL);
	while (getline(&line, &lcap, in) > 0) {
		lineno++;
		char why[600];
		int kind = csv_line(&cv, line, &cr, why, sizeof(why));
		if (kind == CSV_EHEADER)
			fail(c, "line %d: %s", lineno, why);
		if (kind == DNSD_EINVAL)
			err_add(&e, lineno, "%s%s", why, "");
		if (kind != CSV_ROW)
			continue;
		const char *name = cr.name, *tok = cr.token, *rp = cr.rp, *alg = cr.alg,
			   *pub = cr.pub, *priv = cr.priv;
		struct row r = { .line = lineno };
		char pubbuf[2048], kalg[16] = "";
		keys_key *k = NULL;
		if (priv) {
			if (keys_load_private(priv, &k, why, sizeof(why))) {
				err_add(&e, lineno, "%s%s", why, "");
				continue;
			}
			snprintf(kalg, sizeof(kalg), "%s", keys_algorithm_name(k));
			if (keys_public_b64(k, pubbuf, sizeof(pubbuf)) < 0) {
				keys_free(k);
				err_add(&e, lineno, "cannot encode the public key of %s%s", priv, "");
				continue;
			}
			if (pub && strcmp(pub, pubbuf)) {
				keys_free(k);
				err_add(&e, lineno, "public_key is not the public half of %s%s", priv, "");
				continue;
			}
			pub = pubbuf;
		} else if (keys_check_public(pub, kalg, sizeof(kalg), why, sizeof(why))) {
			err_add(&e, lineno, "%s: %s", name, why);
			continue;
		}
		if (alg && strcmp(alg, kalg)) {
			keys_free(k);
			err_add(&e, lineno, "the key is %s, not the algorithm column's %s", kalg, alg);
			continue;
		}
		snprintf(r.alg, sizeof(r.alg), "%s", kalg);
		char tokbuf[32];
		if (!tok) {
			if (keys_token_new(tokbuf)) {
				keys_free(k);
				fail(c, "cannot draw a random token");
			}
			tok = tokbuf;
		}
		r.domain = strdup(name);
		const char *tn = cr.tenant ? cr.tenant : c->o.tenant;
		r.tenant = strdup(tn ? tn : "");
		r.token = strdup(tok);
		r.rp = rp ? strdup(rp) : NULL;
		r.pub = strdup(pub);
		if (!r.domain || !r.tenant || !r.token || !r.pub || (rp && !r.rp))
			fail(c, "out of memory");
		if (k) {
			/* The store refers to a copy in the key directory, as key import does. */
			char path[8192], sel1[80];
			snprintf(sel1, sizeof(sel1), "%s1", prefix);
			int rc = key_store_file(c, k, name, sel1, r.token, "-imported", path, sizeof(path), why,
						sizeof(why));
			keys_free(k);
			if (rc)
				fail(c, "line %d: %s; nothing was changed", lineno, why);
			if (!(r.path = strdup(path)))
				fail(c, "out of memory");
		}
		if (nrows == cap) {
			cap = cap ? cap * 2 : 1024;
			struct row *x = realloc(rows, cap * sizeof(*rows));
			if (!x)
				fail(c, "out of memory");
			rows = x;
		}
		rows[nrows++] = r;
	}
	free(line);
	if (in != stdin)
		fclose(in);
	if (!cv.ncols)
		fail(c, "%s is empty: the first line must name the columns", file);
	/* The same domain or token twice in the file. */
	struct row **by = malloc((nrows ? nrows : 1) * sizeof(*by));
	if (!by)
		fail(c, "out of memory");
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nrows; i++)
			by[i] = &rows[i];
		qsort(by, nrows, sizeof(*by), pass ? row_by_token : row_by_domain);
		for (size_t i = 1; i < nrows; i++)
			if (!strcmp(pass ? by[i]->token : by[i]->domain, pass ? by[i - 1]->token : by[i - 1]->domain))
				err_add(&e, by[i]->line, pass ? "token %s is used twice in the file%s"
							       : "domain %s is twice in the file%s",
					pass ? by[i]->token : by[i]->domain, "");
	}
	free(by);

	/* 2. One transaction. A large page cache keeps the indexes (random
	 * tokens, names) in memory while a million rows go in. */
	sqlite3_exec(c->db, "PRAGMA cache_size = -262144", NULL, NULL, NULL);
	begin(c);
	char *ge = store_setting(c->st, "ed25519");
	int gpair = ge && !strcmp(ge, "yes");
	free(ge);
	int gslots = store_setting_int(c->st, "slots", 3);
	char *grp = store_setting(c->st, "return_path");
	int64_t now = store_now(), serial = store_batch_serial(c->st), serial_before = store_serial(c->st);
	sqlite3_stmt *s_tenant = NULL, *s_dom_exists = NULL, *s_tok_exists = NULL, *s_tok = NULL, *s_dom = NULL,
		     *s_slot = NULL, *s_key = NULL, *s_ev = NULL;
	int64_t last_tid = 0;
	char last_tenant[128] = "";
	int nslots = gslots, pair = gpair;
	for (size_t i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		if (strcmp(r->tenant, last_tenant)) {
			sqlite3_stmt *st = again(c, &s_tenant,
						 "SELECT id, ifnull(slots, 0), ifnull(ed25519, -1) FROM tenants WHERE name = ?");
			sqlite3_bind_text(st, 1, r->tenant, -1, SQLITE_STATIC);
			last_tid = 0;
			if (sqlite3_step(st) == SQLITE_ROW) {
				last_tid = sqlite3_column_int64(st, 0);
				int ts = sqlite3_column_int(st, 1), te = sqlite3_column_int(st, 2);
				nslots = ts ? ts : gslots;
				pair = te >= 0 ? te : gpair;
				if (nslots < 2 || nslots > MAX_SLOTS)
					nslots = 3;
				if (pair && nslots + 2 > MAX_SLOTS)
					pair = 0;
			}
			snprintf(last_tenant, sizeof(last_tenant), "%s", r->tenant);
		}
		if (!last_tid) {
			err_add(&e, r->line, "no tenant '%s'%s", r->tenant, " (dnsdctl tenant add)");
			continue;
		}
		sqlite3_stmt *st = again(c, &s_dom_exists, "SELECT 1 FROM domains WHERE name = ? AND state = 'active'");
		sqlite3_bind_text(st, 1, r->domain, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			err_add(&e, r->line, "domain %s already exists%s", r->domain, "");
			continue;
		}
		st = again(c, &s_tok_exists, "SELECT 1 FROM tokens WHERE token = ?");
		sqlite3_bind_text(st, 1, r->token, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			err_add(&e, r->line, "token %s was already used%s", r->token, "; tokens are never reused");
			continue;
		}
		if (e.n)
			continue; /* keep checking, but write nothing more */
		st = again(c, &s_tok, "INSERT INTO tokens(token, created_at) VALUES (?, ?)");
		sqlite3_bind_text(st, 1, r->token, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		step_done(c, st, r->line);
		st = again(c, &s_dom,
			   "INSERT INTO domains(tenant_id, name, token, return_path, created_at) VALUES (?, ?, ?, ?, ?)");
		sqlite3_bind_int64(st, 1, last_tid);
		sqlite3_bind_text(st, 2, r->domain, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->token, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->rp ? r->rp : grp ? grp : "bounce", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		if (sqlite3_step(st) != SQLITE_DONE) {
			/* the same domain twice in the file */
			err_add(&e, r->line, "domain %s: %s", r->domain, sqlite3_errmsg(c->db));
			continue;
		}
		int64_t did = sqlite3_last_insert_rowid(c->db), slot1 = 0;
		int is_ed = !strcmp(r->alg, "ed25519");
		int dpair = pair && !is_ed;
		for (int s = 1; s <= nslots + (dpair ? 2 : 0); s++) {
			char sel[80];
			int ped = slot_selector(prefix, s, nslots, sel, sizeof(sel));
			st = again(c, &s_slot,
				   "INSERT INTO slots(domain_id, selector, position, role, created_at) VALUES (?, ?, ?, ?, ?)");
			sqlite3_bind_int64(st, 1, did);
			sqlite3_bind_text(st, 2, sel, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(st, 3, s);
			sqlite3_bind_text(st, 4, ped ? "ed25519" : "main", -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, now);
			step_done(c, st, r->line);
			if (s == 1)
				slot1 = sqlite3_last_insert_rowid(c->db);
		}
		/* Active at once, as a new domain's first key: its token is new, so no
		 * resolver holds an older answer for its names. */
		st = again(c, &s_key,
			   "INSERT INTO keys(slot_id, algorithm, public_key, private_ref, state, created_at, published_at, "
			   "activated_at, published_serial, active_after) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)");
		sqlite3_bind_int64(st, 1, slot1);
		sqlite3_bind_text(st, 2, r->alg, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->pub, -1, SQLITE_STATIC);
		if (r->path)
			sqlite3_bind_text(st, 4, r->path, -1, SQLITE_STATIC);
		for (int k = 5; k <= 7; k++)
			sqlite3_bind_int64(st, k, now);
		sqlite3_bind_int64(st, 8, serial);
		sqlite3_bind_int64(st, 9, now);
		step_done(c, st, r->line);
		int64_t kid = sqlite3_last_insert_rowid(c->db);
		static const char *const evs[] = { "imported", "published", "activated" };
		for (int k = 0; k < 3; k++) {
			st = again(c, &s_ev, "INSERT INTO key_events(key_id, domain_id, event, at, cause) VALUES (?, ?, ?, ?, ?)");
			sqlite3_bind_int64(st, 1, kid);
			sqlite3_bind_int64(st, 2, did);
			sqlite3_bind_text(st, 3, evs[k], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, now);
			sqlite3_bind_text(st, 5, "import: the first key of a new domain", -1, SQLITE_STATIC);
			step_done(c, st, r->line);
		}
	}
	sqlite3_stmt *all[] = { s_tenant, s_dom_exists, s_tok_exists, s_tok, s_dom, s_slot, s_key, s_ev };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	free(grp);
	if (e.n) {
		store_write_rollback(c->st);
		for (int i = 0; i < e.n && i < 20; i++)
			fprintf(stderr, "dnsdctl: %s\n", e.text[i]);
		fail(c, "%d bad row(s)%s in %s; nothing was imported", e.n, e.n > 20 ? " (the first 20 above)" : "",
		     file);
	}
	int any_private = 0;
	for (size_t i = 0; i < nrows; i++)
		any_private |= rows[i].path != NULL;
	if (!any_private)
		c->export_same_from = serial_before;
	commit(c);
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].domain);
		free(rows[i].tenant);
		free(rows[i].token);
		free(rows[i].rp);
		free(rows[i].pub);
		free(rows[i].path);
	}
	free(rows);
	int changed = 0, status = export_refresh(c, &changed);
	if (c->o.json)
		printf("{\"imported\": %zu, \"serial\": %lld}\n", nrows, (long long)store_serial(c->st));
	else
		printf("%zu domain(s) imported in one batch; serial %lld\n", nrows, (long long)store_serial(c->st));
	if (status)
		exit(status);
}

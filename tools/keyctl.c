/* keyctl: the DKIM key lifecycle in dnsdctl. Keys live in selector slots and
 * move published -> active -> retired -> revoked. The job (`maintain`) commits
 * every due transition as one batch; `key rotate|revoke|import` are the manual
 * steps; the exports tell the signer which key is active. dnsd never sees a
 * private key: it serves the public halves from the store. */
#include "ctl.h"
#include "db.h"
#include "err.h"
#include "fsafe.h"
#include "export.h"
#include "keyfile.h"
#include "keys.h"
#include "names.h"
#include "zone.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <limits.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DAY 86400

/* ---- settings and times ---- */

static int64_t setting_i64(struct ctx *c, const char *name, int64_t def)
{
	char *v = store_setting(c->st, name), *end;
	int64_t n = def;
	if (v) {
		long long x = strtoll(v, &end, 10);
		if (end != v && !*end && x >= 0)
			n = x;
		free(v);
	}
	return n;
}

/* RFC 2308 negative TTL of the hosted zone, from the zone file (--zone-file or the
 * config's); three hours (what resolvers commonly cap negative caching at) if
 * unknown. */
static int64_t negative_ttl(struct ctx *c)
{
	const char *zf = c->o.zone_file;
	char err[256];
	struct db_zone *z;
	int64_t neg = 10800;
	if (zf && !zone_load(zf, c->zone, c->zone, &z, err, sizeof(err))) {
		neg = z->neg_ttl;
		db_zone_free(z);
	}
	return neg;
}

int64_t key_hold(struct ctx *c, int64_t slot_id, int64_t now)
{
	/* Positive answers: the DKIM TTL, or a larger one still in caches after
	 * init lowered it. */
	int64_t hold = setting_i64(c, "ttl_dkim", 3600);
	int64_t held = setting_i64(c, "ttl_dkim_hold", 0);
	if (now < setting_i64(c, "ttl_dkim_hold_until", 0) && held > hold)
		hold = held;
	/* Negative answers: a slot made recently answered NXDOMAIN before. */
	int64_t made = one_int(c, q(c, "SELECT ifnull(created_at, 0) FROM slots WHERE id = ?", "i", slot_id), 0);
	if (made > 0 && now - made < 7 * DAY) {
		int64_t until = made + negative_ttl(c);
		if (until - now > hold)
			hold = until - now;
	}
	return hold;
}

static const char *role_name(const char *r)
{
	return !strcmp(r, "ed25519") ? "Ed25519 pair" : "main";
}

/* The algorithm a rotation generates: the one the role uses now, never weaker
 * than what we generate (an imported rsa-1024 key is replaced by rsa-2048). */
static void next_algorithm(const char *cur, const char *role, char *out, size_t n)
{
	int is_ed = 0, bits = 2048;
	if (!strcmp(role, "ed25519") || (cur && !keys_parse_algorithm(cur, &is_ed, &bits) && is_ed)) {
		snprintf(out, n, "ed25519");
		return;
	}
	if (cur && !strncmp(cur, "rsa-", 4))
		bits = atoi(cur + 4);
	snprintf(out, n, "rsa-%d", bits <= 2048 ? 2048 : bits <= 3072 ? 3072 : 4096);
}

/* ---- writing keys (the library's keyfile; these keep the names the other
 * commands of dnsdctl call, until they call keyfile_* themselves) ---- */

int key_names_check(const char *domain, const char *label, const char *token, char *why, size_t n)
{
	return keyfile_names_check(domain, label, token, why, n, NULL);
}

int key_store_file(struct ctx *c, const keys_key *k, const char *domain, const char *label, const char *token,
		   const char *suffix, char *path, size_t pathlen, char *why, size_t whylen)
{
	int rc = keyfile_store(&c->w, k, domain, label, token, suffix, path, pathlen);
	if (rc) {
		size_t l = strnlen(c->w.err, whylen - 1);
		memcpy(why, c->w.err, l);
		why[l] = 0;
		wr_clear(&c->w);
	}
	return rc;
}

void key_new_file(struct ctx *c, const char *domain, const char *token, const char *alg, const char *label,
		  char *pub, size_t publen, char *path, size_t pathlen)
{
	if (keyfile_new(&c->w, domain, token, alg, label, pub, publen, path, pathlen))
		fail(c, "%s", c->w.err);
}

static void event(struct ctx *c, int64_t key_id, int64_t domain_id, const char *ev, int64_t at, const char *cause)
{
	run(c, q(c, "INSERT INTO key_events(key_id, domain_id, event, at, cause) VALUES (?, ?, ?, ?, ?)", "iisis",
		 key_id, domain_id, ev, at, cause));
}

int64_t key_insert(struct ctx *c, int64_t domain_id, int64_t slot_id, const char *alg, const char *pub,
		   const char *path, const char *state, const char *first_event, const char *cause)
{
	int64_t now = store_now();
	int active = !strcmp(state, "active");
	/* A domain's first keys sign at once (nothing was ever answered for their
	 * names); any other key is safe to sign with only after the hold. */
	int64_t after = strncmp(cause, "domain add", 10) ? now + key_hold(c, slot_id, now) : now;
	run(c, q(c,
		 "INSERT INTO keys(slot_id, algorithm, public_key, private_ref, state, created_at, published_at, "
		 "activated_at, published_serial, active_after) VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?, ?)",
		 "issssiiiii", slot_id, alg, pub, path, state, now, now, active ? now : (int64_t)0,
		 store_batch_serial(c->st), after));
	int64_t kid = sqlite3_last_insert_rowid(c->db);
	event(c, kid, domain_id, first_event, now, cause);
	event(c, kid, domain_id, "published", now, cause);
	if (active)
		event(c, kid, domain_id, "activated", now, cause);
	return kid;
}

/* Moves a key to a new state and records the event. */
static void key_set_state(struct ctx *c, int64_t kid, int64_t domain_id, const char *state, int64_t now,
			  const char *cause)
{
	static const struct {
		const char *state, *column, *event;
	} map[] = { { "active", "activated_at", "activated" },
		    { "retired", "retired_at", "retired" },
		    { "revoked", "revoked_at", "revoked" } };
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].state, state))
			continue;
		char sql[200];
		snprintf(sql, sizeof(sql), "UPDATE keys SET state = ?, %s = ?, rotate_at = NULL WHERE id = ?",
			 map[i].column);
		run(c, q(c, sql, "sii", state, now, kid));
		event(c, kid, domain_id, map[i].event, now, cause);
		return;
	}
	fail(c, "internal error: state %s", state);
}

/* A slot of the role with no live key and, if must_be_eligible, eligible; the
 * lowest position first. Returns its id (and selector), or 0. */
static int64_t free_slot(struct ctx *c, int64_t domain_id, const char *role, int64_t except, char *sel, size_t n)
{
	sqlite3_stmt *st = q(c,
			     "SELECT s.id, s.selector FROM slots s WHERE s.domain_id = ? AND s.role = ? AND s.eligible "
			     "AND s.id != ? AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.slot_id = s.id AND "
			     "k.state != 'revoked') ORDER BY s.position LIMIT 1",
			     "isi", domain_id, role, except);
	int64_t id = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (sel)
			snprintf(sel, n, "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return id;
}

struct keyrow {
	int64_t id, slot_id, active_after, published_at;
	char selector[64], role[16], alg[32], state[16];
	int eligible;
};

/* The key of the domain in the given state and role (the newest, or with
 * oldest the one longest in that state), or 0. */
static int64_t key_in_order(struct ctx *c, int64_t domain_id, const char *role, const char *state, struct keyrow *k,
			    int oldest)
{
	sqlite3_stmt *st = q(c,
			     "SELECT k.id, k.slot_id, ifnull(k.active_after, 0), ifnull(k.published_at, 0), s.selector, "
			     "s.role, k.algorithm, k.state, s.eligible FROM keys k JOIN slots s ON s.id = k.slot_id "
			     "WHERE s.domain_id = ?1 AND s.role = ?2 AND k.state = ?3 "
			     "ORDER BY CASE WHEN ?4 THEN ifnull(k.retired_at, 0) ELSE -k.id END, k.id LIMIT 1",
			     "issi", domain_id, role, state, (int64_t)oldest);
	int64_t id = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
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

static int64_t key_in(struct ctx *c, int64_t domain_id, const char *role, const char *state, struct keyrow *k)
{
	return key_in_order(c, domain_id, role, state, k, 0);
}

static void key_file_name(struct ctx *c, char *path, size_t n, const char *oldsel, const char *newsel)
{
	keyfile_rename(&c->w, path, n, oldsel, newsel);
	ctl_check(c);
}

/* The live key in the slot named selector, or 0; *slot_id and role set if the slot exists. */
static int64_t key_at(struct ctx *c, int64_t domain_id, const char *selector, int64_t *slot_id, char *role,
		      size_t rn, struct keyrow *k)
{
	sqlite3_stmt *st = q(c, "SELECT id, role FROM slots WHERE domain_id = ? AND selector = ?", "is", domain_id,
			     selector);
	*slot_id = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*slot_id = sqlite3_column_int64(st, 0);
		snprintf(role, rn, "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (!*slot_id)
		return 0;
	st = q(c, "SELECT state FROM keys WHERE slot_id = ? AND state != 'revoked'", "i", *slot_id);
	char state[16] = "";
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(state, sizeof(state), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!state[0])
		return 0;
	return key_in(c, domain_id, role, state, k) && k->slot_id == *slot_id ? k->id : 0;
}

static int has_role(struct ctx *c, int64_t domain_id, const char *role)
{
	return one_int(c, q(c, "SELECT count(*) FROM slots WHERE domain_id = ? AND role = ?", "is", domain_id, role),
		       0) > 0;
}

/* Why no free slot: one line naming what each slot of the role holds. */
static void slots_report(struct ctx *c, int64_t domain_id, const char *role, char *out, size_t n)
{
	sqlite3_stmt *st = q(c,
			     "SELECT s.selector, s.eligible, ifnull((SELECT state FROM keys k WHERE k.slot_id = s.id "
			     "AND k.state != 'revoked'), 'free') FROM slots s WHERE s.domain_id = ? AND s.role = ? "
			     "ORDER BY s.position",
			     "is", domain_id, role);
	size_t used = 0;
	out[0] = 0;
	while (sqlite3_step(st) == SQLITE_ROW && used < n) {
		int w = snprintf(out + used, n - used, "%s%s %s%s", used ? ", " : "", sqlite3_column_text(st, 0),
				 sqlite3_column_text(st, 2), sqlite3_column_int(st, 1) ? "" : " (not eligible)");
		if (w < 0)
			break;
		used += (size_t)w;
	}
	sqlite3_finalize(st);
}

static void finish_change(struct ctx *c, int *status)
{
	int changed = 0;
	*status = export_refresh(c, &changed);
}

/* The JSON answer of a command that made a key. */
static void json_new_key(const char *domain, int64_t kid, const char *sel, const char *alg, const char *state,
			 const char *after, const char *path)
{
	int f = 1;
	printf("{");
	json_kv(stdout, &f, "domain", domain);
	json_ki(stdout, &f, "key_id", kid);
	json_kv(stdout, &f, "selector", sel);
	json_kv(stdout, &f, "algorithm", alg);
	json_kv(stdout, &f, "state", state);
	json_kv(stdout, &f, "active_after", after);
	json_kv(stdout, &f, "private_key", path);
	printf("}\n");
}

/* ---- key list ---- */

static void key_list(struct ctx *c)
{
	struct domain_row d;
	if (c->o.npos != 3)
		die_usage("key list DOMAIN");
	open_store(c, 0);
	need_domain(c, c->o.pos[2], &d, 1);
	int64_t rdays = setting_i64(c, "rotation_days", 180);
	int64_t spread = setting_i64(c, "rotation_spread_hours", 24) * 3600;
	sqlite3_stmt *st = q(c,
			     "SELECT k.id, s.selector, s.role, k.algorithm, k.state, k.created_at, ifnull(k.published_at, 0), "
			     "ifnull(k.activated_at, 0), ifnull(k.retired_at, 0), ifnull(k.revoked_at, 0), "
			     "ifnull(k.active_after, 0), "
			     "CASE WHEN k.state != 'active' THEN 0 WHEN k.rotate_at IS NOT NULL THEN k.rotate_at "
			     "WHEN ?2 > 0 THEN k.activated_at + ?2 * 86400 - (k.id * 2654435761) % max(?3, 1) ELSE 0 END, "
			     "ifnull(k.published_serial, 0), k.private_ref "
			     "FROM keys k JOIN slots s ON s.id = k.slot_id WHERE s.domain_id = ?1 ORDER BY k.id",
			     "iii", d.id, rdays, spread);
	static const char *const when[] = { "created", "published", "activated", "retired", "revoked",
					    "active_after", "rotate_due" };
	int first = 1;
	if (c->o.json)
		printf("[");
	else
		printf("%-6s %-9s %-8s %-9s %-10s %-21s %-21s %-21s %s\n", "ID", "SELECTOR", "ROLE", "KEY", "STATE",
		       "PUBLISHED", "ACTIVATED", "RETIRED/REVOKED", "NEXT");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char buf[7][32];
		const char *tb[7];
		int64_t t[7];
		for (int i = 0; i < 7; i++) {
			t[i] = sqlite3_column_int64(st, 5 + i);
			tb[i] = fmt_time(t[i], buf[i], sizeof(buf[i]));
		}
		const char *sel = (const char *)sqlite3_column_text(st, 1);
		const char *role = (const char *)sqlite3_column_text(st, 2);
		const char *alg = (const char *)sqlite3_column_text(st, 3);
		const char *state = (const char *)sqlite3_column_text(st, 4);
		int published = !strcmp(state, "published");
		if (c->o.json) {
			int f = 1;
			printf("%s{", first ? "" : ", ");
			json_ki(stdout, &f, "id", sqlite3_column_int64(st, 0));
			json_kv(stdout, &f, "selector", sel);
			json_kv(stdout, &f, "role", role);
			json_kv(stdout, &f, "algorithm", alg);
			json_kv(stdout, &f, "state", state);
			for (int i = 0; i < 7; i++)
				json_kv(stdout, &f, when[i], t[i] > 0 ? tb[i] : NULL);
			json_ki(stdout, &f, "published_serial", sqlite3_column_int64(st, 12));
			json_kv(stdout, &f, "private_key", (const char *)sqlite3_column_text(st, 13));
			printf("}");
		} else {
			char next[64];
			if (published)
				snprintf(next, sizeof(next), "active from %s", tb[5]);
			else if (t[6] > 0)
				snprintf(next, sizeof(next), "rotates %s", tb[6]);
			else
				snprintf(next, sizeof(next), "-");
			printf("%-6lld %-9s %-8s %-9s %-10s %-21s %-21s %-21s %s\n",
			       (long long)sqlite3_column_int64(st, 0), sel, role, alg, state, tb[1], tb[2],
			       t[4] > 0 ? tb[4] : tb[3], next);
		}
		first = 0;
	}
	sqlite3_finalize(st);
	if (c->o.json)
		printf("]\n");
}

/* ---- key rotate ---- */

static void key_rotate_all(struct ctx *c)
{
	long older = num_arg(c, c->o.older_than, "--older-than (days)", 0, 36500, 0);
	long over = num_arg(c, c->o.over, "--over (hours)", 0, 24 * 365, 24);
	open_store(c, 0);
	int64_t tid = c->o.tenant ? tenant_id(c, c->o.tenant, 1) : 0;
	int64_t now = store_now();
	begin(c);
	/* Keys in the middle of a rotation (a key published and waiting in their
	 * role) are left alone; the rest get times spread evenly over the window, in
	 * random order, so that neighbours do not switch together. */
	sqlite3_stmt *st = q(c,
			     "SELECT k.id FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id "
			     "WHERE k.state = 'active' AND d.state = 'active' AND k.activated_at <= ?1 "
			     "AND (?2 = 0 OR d.tenant_id = ?2) AND NOT EXISTS (SELECT 1 FROM keys p JOIN slots ps ON "
			     "ps.id = p.slot_id WHERE ps.domain_id = s.domain_id AND ps.role = s.role AND p.state = 'published') "
			     "ORDER BY random()",
			     "ii", now - (int64_t)older * DAY, tid);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			int64_t *x = realloc(ids, cap * sizeof(*x));
			if (!x) {
				sqlite3_finalize(st);
				fail(c, "out of memory");
			}
			ids = x;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	int64_t window = (int64_t)over * 3600;
	sqlite3_stmt *up = prep(c, "UPDATE keys SET rotate_at = ? WHERE id = ?");
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(up, 1, now + (n > 1 ? window * (int64_t)i / (int64_t)(n - 1) : 0));
		sqlite3_bind_int64(up, 2, ids[i]);
		if (sqlite3_step(up) != SQLITE_DONE) {
			sqlite3_finalize(up);
			fail(c, "store error: %s; nothing was changed", sqlite3_errmsg(c->db));
		}
		sqlite3_reset(up);
	}
	sqlite3_finalize(up);
	free(ids);
	commit(c);
	char a[32], b[32];
	if (c->o.json)
		printf("{\"scheduled\": %zu, \"first\": \"%s\", \"last\": \"%s\"}\n", n, fmt_time(now, a, sizeof(a)),
		       fmt_time(now + (n ? window : 0), b, sizeof(b)));
	else
		printf("%zu key(s) scheduled for rotation between %s and %s; 'dnsdctl maintain' (the timer) publishes "
		       "each at its time\n",
		       n, fmt_time(now, a, sizeof(a)), fmt_time(now + (n ? window : 0), b, sizeof(b)));
}

static void key_rotate(struct ctx *c)
{
	if (c->o.all) {
		if (c->o.npos != 2)
			die_usage("key rotate --all [--older-than DAYS] [--over HOURS] [--tenant NAME] takes no domain");
		key_rotate_all(c);
		return;
	}
	if (c->o.npos != 3)
		die_usage("key rotate DOMAIN [--role main|ed25519] [--algorithm A], or key rotate --all");
	const char *role = c->o.role ? c->o.role : "main";
	if (strcmp(role, "main") && strcmp(role, "ed25519"))
		die_usage("--role is main or ed25519");
	struct domain_row d;
	struct keyrow cur, pub;
	char alg[32], sel[64], why[512], path[8192], pk[2048];
	open_store(c, 0);
	need_domain(c, c->o.pos[2], &d, 0);
	if (!has_role(c, d.id, role))
		fail(c, "%s has no %s slots", d.name, role_name(role));
	if (key_in(c, d.id, role, "published", &pub)) {
		char t[32];
		fail(c, "%s already has key %lld published in %s, waiting to become active from %s: run 'dnsdctl "
			"maintain' after that (or key revoke it first)",
		     d.name, (long long)pub.id, pub.selector, fmt_time(pub.active_after, t, sizeof(t)));
	}
	int has_cur = key_in(c, d.id, role, "active", &cur) != 0;
	if (c->o.algorithm) {
		int is_ed, bits;
		if (keys_parse_algorithm(c->o.algorithm, &is_ed, &bits))
			fail(c, "unknown algorithm '%s': use rsa-2048, rsa-3072, rsa-4096 or ed25519", c->o.algorithm);
		if (!is_ed && bits < 2048)
			fail(c, "%s is too weak to generate: new keys are rsa-2048 or larger (RFC 8301), or ed25519",
			     c->o.algorithm);
		if (!strcmp(role, "ed25519") && !is_ed)
			fail(c, "the Ed25519 pair holds ed25519 keys only");
		snprintf(alg, sizeof(alg), "%s", c->o.algorithm);
	} else {
		next_algorithm(has_cur ? cur.alg : NULL, role, alg, sizeof(alg));
	}
	if (!free_slot(c, d.id, role, 0, sel, sizeof(sel))) {
		slots_report(c, d.id, role, why, sizeof(why));
		fail(c, "%s has no free eligible %s slot for a new key (%s): wait until a retired key is revoked, "
			"or mark a slot eligible",
		     d.name, role_name(role), why);
	}
	key_new_file(c, d.name, d.token, alg, sel, pk, sizeof(pk), path, sizeof(path));
	begin(c);
	struct domain_row again;
	if (!find_domain(c, d.name, &again, 0) || again.id != d.id)
		fail(c, "%s was removed meanwhile; nothing was changed", d.name);
	if (key_in(c, d.id, role, "published", &pub))
		fail(c, "%s: another command published key %lld meanwhile; nothing was changed", d.name,
		     (long long)pub.id);
	char guess[64];
	snprintf(guess, sizeof(guess), "%s", sel);
	int64_t slot = free_slot(c, d.id, role, 0, sel, sizeof(sel));
	if (!slot)
		fail(c, "%s: its free slot was taken meanwhile; nothing was changed", d.name);
	key_file_name(c, path, sizeof(path), guess, sel);
	int64_t kid = key_insert(c, d.id, slot, alg, pk, path, "published", "generated", "key rotate");
	int64_t after = one_int(c, q(c, "SELECT active_after FROM keys WHERE id = ?", "i", kid), 0);
	commit(c);
	int status;
	finish_change(c, &status);
	char t[32];
	fmt_time(after, t, sizeof(t));
	if (c->o.json) {
		json_new_key(d.name, kid, sel, alg, "published", t, path);
	} else {
		printf("%s: key %lld (%s) published in %s; it becomes active at the first 'dnsdctl maintain' from %s "
		       "(once every name server serves it)\n",
		       d.name, (long long)kid, alg, sel, t);
	}
	if (status)
		exit(status);
}

/* ---- key revoke (emergency) ---- */

static void key_revoke(struct ctx *c)
{
	if (c->o.npos != 4)
		die_usage("key revoke DOMAIN SELECTOR [--reason TEXT]");
	struct domain_row d;
	struct keyrow k, pub, old;
	char role[16] = "", alg[32], sel[64] = "", path[8192] = "", pk[2048], cause[600];
	int64_t slot_id;
	open_store(c, 0);
	need_domain(c, c->o.pos[2], &d, 0);
	const char *selector = c->o.pos[3];
	if (!key_at(c, d.id, selector, &slot_id, role, sizeof(role), &k)) {
		if (!slot_id)
			fail(c, "%s has no selector '%s' (see 'dnsdctl domain show %s')", d.name, selector, d.name);
		fail(c, "%s: selector %s holds no key to revoke (it already answers p=)", d.name, selector);
	}
	snprintf(cause, sizeof(cause), "emergency revoke%s%s", c->o.reason ? ": " : "",
		 c->o.reason ? c->o.reason : "");
	int was_active = !strcmp(k.state, "active");
	int have_pub = key_in(c, d.id, role, "published", &pub) != 0 && pub.eligible;
	/* A replacement is generated before the transaction when no published key
	 * can take over. */
	if (was_active && !have_pub) {
		next_algorithm(k.alg, role, alg, sizeof(alg));
		if (!free_slot(c, d.id, role, k.slot_id, sel, sizeof(sel)))
			snprintf(sel, sizeof(sel), "%s", selector);
		key_new_file(c, d.name, d.token, alg, sel, pk, sizeof(pk), path, sizeof(path));
	}
	int64_t now = store_now(), orig = k.id;
	begin(c);
	if (key_at(c, d.id, selector, &slot_id, role, sizeof(role), &k) != orig ||
	    strcmp(k.state, was_active ? "active" : k.state))
		fail(c, "%s: the key in %s changed meanwhile; nothing was changed", d.name, selector);
	key_set_state(c, k.id, d.id, "revoked", now, cause);
	int64_t rid = 0, window_until = now;
	const char *how = NULL;
	char rsel[64] = "";
	if (was_active) {
		char rc[128];
		snprintf(rc, sizeof(rc), "replaces key %lld (emergency revoke)", (long long)k.id);
		if (key_in(c, d.id, role, "published", &pub) && pub.eligible) {
			key_set_state(c, pub.id, d.id, "active", now, rc);
			rid = pub.id;
			window_until = pub.active_after;
			snprintf(rsel, sizeof(rsel), "%s", pub.selector);
			how = "the key already published there";
		} else if (path[0]) {
			int64_t slot = free_slot(c, d.id, role, k.slot_id, rsel, sizeof(rsel));
			if (!slot && key_in_order(c, d.id, role, "retired", &old, 1)) {
				char oc[128];
				snprintf(oc, sizeof(oc), "emergency: its slot is needed for the replacement of key %lld",
					 (long long)k.id);
				key_set_state(c, old.id, d.id, "revoked", now, oc);
				slot = old.slot_id;
				snprintf(rsel, sizeof(rsel), "%s", old.selector);
			}
			if (!slot)
				slot = free_slot(c, d.id, role, 0, rsel, sizeof(rsel));
			if (slot) {
				key_file_name(c, path, sizeof(path), sel, rsel);
				rid = key_insert(c, d.id, slot, alg, pk, path, "active", "generated", rc);
				window_until = one_int(c, q(c, "SELECT active_after FROM keys WHERE id = ?", "i", rid), now);
				how = "a new key";
			}
		}
	}
	commit(c);
	if (path[0] && !rid)
		unlink(path);
	int status;
	finish_change(c, &status);
	char t[32];
	fmt_time(window_until, t, sizeof(t));
	if (c->o.json) {
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "domain", d.name);
		json_ki(stdout, &f, "revoked", k.id);
		json_kv(stdout, &f, "selector", selector);
		if (rid) {
			json_ki(stdout, &f, "replacement", rid);
			json_kv(stdout, &f, "replacement_selector", rsel);
		}
		json_kv(stdout, &f, "window_until", window_until > now ? t : NULL);
		printf("}\n");
	} else {
		printf("%s: key %lld in %s revoked: %s now answers p= (resolvers holding the old answer keep it for "
		       "at most the DKIM TTL)\n",
		       d.name, (long long)k.id, selector, selector);
		if (rid && window_until > now)
			printf("replacement: key %lld in %s (%s), active now; mail it signs may fail DKIM at resolvers "
			       "that cached %s's previous answer, until %s\n",
			       (long long)rid, rsel, how, rsel, t);
		else if (rid)
			printf("replacement: key %lld in %s (%s), active now; it was published long enough: no window\n",
			       (long long)rid, rsel, how);
		else if (was_active)
			fprintf(stderr, "dnsdctl: warning: %s has no eligible slot for a replacement: it signs "
					"nothing in its %s role until 'dnsdctl key rotate %s'\n",
				d.name, role_name(role), d.name);
	}
	if (status)
		exit(status);
}

/* ---- key import ---- */

static void key_import(struct ctx *c)
{
	if (c->o.npos != 3 || !c->o.file)
		die_usage("key import DOMAIN --file PEM [--selector SEL] [--active yes|no]");
	int activate = yes_no(c, c->o.active, "--active", 0);
	struct domain_row d;
	struct keyrow cur, pub;
	char why[512], pk[2048], role[16] = "main", sel[64] = "", path[8192];
	keys_key *key = NULL;
	if (keys_load_private(c->o.file, &key, why, sizeof(why)))
		fail(NULL, "%s; nothing was changed", why);
	const char *alg = keys_algorithm_name(key);
	if (keys_public_b64(key, pk, sizeof(pk)) < 0) {
		keys_free(key);
		fail(NULL, "cannot encode the public key of %s", c->o.file);
	}
	open_store(c, 0);
	need_domain(c, c->o.pos[2], &d, 0);
	int64_t slot = 0;
	if (c->o.selector) {
		struct keyrow k;
		if (key_at(c, d.id, c->o.selector, &slot, role, sizeof(role), &k))
			fail(c, "%s: selector %s already holds key %lld (%s); choose a free slot", d.name, c->o.selector,
			     (long long)k.id, k.state);
		if (!slot)
			fail(c, "%s has no selector '%s'", d.name, c->o.selector);
		snprintf(sel, sizeof(sel), "%s", c->o.selector);
		if (!one_int(c, q(c, "SELECT eligible FROM slots WHERE id = ?", "i", slot), 0))
			fail(c, "%s: slot %s is not eligible (its CNAME is missing?): 'dnsdctl slot set %s %s "
				"--eligible yes' first",
			     d.name, sel, d.name, sel);
	} else {
		if (keys_is_ed25519(key) && has_role(c, d.id, "ed25519"))
			snprintf(role, sizeof(role), "ed25519");
		slot = free_slot(c, d.id, role, 0, sel, sizeof(sel));
		if (!slot) {
			slots_report(c, d.id, role, why, sizeof(why));
			fail(c, "%s has no free eligible %s slot (%s)", d.name, role_name(role), why);
		}
	}
	if (!strcmp(role, "ed25519") && !keys_is_ed25519(key))
		fail(c, "%s: %s belongs to the Ed25519 pair; %s is %s", d.name, sel, c->o.file, alg);
	if (one_int(c, q(c,
			 "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id WHERE s.domain_id = ? AND "
			 "k.public_key = ? AND k.state != 'revoked'",
			 "is", d.id, pk),
		    0))
		fail(c, "%s already has this key", d.name);
	if (key_in(c, d.id, role, "published", &pub))
		fail(c, "%s already has key %lld published in %s, waiting to become active: import after it "
			"activates, or key revoke it first",
		     d.name, (long long)pub.id, pub.selector);
	/* The store refers to a copy in the key directory, mode 0600, never to the
	 * file given (which its owner may move or delete). */
	int rc = key_store_file(c, key, d.name, sel, d.token, "-imported", path, sizeof(path), why, sizeof(why));
	int64_t now = store_now();
	int bits = keys_bits(key), is_ed = keys_is_ed25519(key);
	char algbuf[32];
	snprintf(algbuf, sizeof(algbuf), "%s", alg);
	keys_free(key);
	if (rc)
		fail(c, "%s; nothing was changed", why);
	begin(c);
	int64_t k2;
	struct keyrow tmp;
	if (key_at(c, d.id, sel, &k2, role, sizeof(role), &tmp) || key_in(c, d.id, role, "published", &pub))
		fail(c, "%s: slot %s was taken meanwhile; nothing was changed", d.name, sel);
	if (activate && key_in(c, d.id, role, "active", &cur)) {
		char rc2[128];
		snprintf(rc2, sizeof(rc2), "replaced by an imported key (key import --active yes)");
		key_set_state(c, cur.id, d.id, "retired", now, rc2);
	}
	int64_t kid = key_insert(c, d.id, slot, algbuf, pk, path, activate ? "active" : "published", "imported",
				 activate ? "key import --active yes" : "key import");
	int64_t after = one_int(c, q(c, "SELECT active_after FROM keys WHERE id = ?", "i", kid), 0);
	commit(c);
	int status;
	finish_change(c, &status);
	char t[32];
	fmt_time(after, t, sizeof(t));
	if (c->o.json) {
		json_new_key(d.name, kid, sel, algbuf, activate ? "active" : "published", t, path);
	} else {
		printf("%s: imported %s as key %lld in %s (%s), copied to %s\n", d.name, c->o.file, (long long)kid, sel,
		       algbuf, path);
		if (activate)
			printf("active now (--active yes): resolvers that cached %s's previous answer may fail its "
			       "signatures until %s\n",
			       sel, t);
		else
			printf("published; it becomes active at the first 'dnsdctl maintain' from %s\n", t);
	}
	if (!is_ed && bits < 2048)
		fprintf(stderr, "dnsdctl: warning: a %d-bit RSA key is weak (RFC 8301 asks for 2048): rotate it "
				"soon with 'dnsdctl key rotate %s'\n",
			bits, d.name);
	if (status)
		exit(status);
}

void cmd_key(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!strcmp(sub, "list"))
		key_list(c);
	else if (!strcmp(sub, "rotate"))
		key_rotate(c);
	else if (!strcmp(sub, "revoke"))
		key_revoke(c);
	else if (!strcmp(sub, "import"))
		key_import(c);
	else
		die_usage("key list|rotate|revoke|import");
}

/* ---- slots ---- */

void cmd_slot(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (strcmp(sub, "set") || c->o.npos != 4 || !c->o.eligible)
		die_usage("slot set DOMAIN SELECTOR --eligible yes|no");
	int el = yes_no(c, c->o.eligible, "--eligible", 1);
	struct domain_row d;
	open_store(c, 0);
	need_domain(c, c->o.pos[2], &d, 0);
	begin(c);
	run(c, q(c, "UPDATE slots SET eligible = ?1 WHERE domain_id = ?2 AND selector = ?3 AND eligible != ?1", "iis",
		 (int64_t)el, d.id, c->o.pos[3]));
	int changed = sqlite3_changes(c->db);
	if (!one_int(c, q(c, "SELECT count(*) FROM slots WHERE domain_id = ? AND selector = ?", "is", d.id,
			  c->o.pos[3]),
		     0))
		fail(c, "%s has no selector '%s'", d.name, c->o.pos[3]);
	commit(c);
	printf("%s: slot %s is %seligible%s\n", d.name, c->o.pos[3], el ? "" : "not ", changed ? "" : " (unchanged)");
}

/* ---- name servers ---- */

/* Asks one name server for the zone's SOA serial. Returns the serial, or -1
 * with why filled in. */
static int64_t ns_serial(const char *zone, const char *addr, int port, char *why, size_t n)
{
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *ns = ldns_rdf_new_frm_str(strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
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
	ldns_resolver_set_timeout(r, (struct timeval){ 1, 0 });
	ldns_status s = ldns_resolver_send(&pkt, r, name, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	if (s != LDNS_STATUS_OK || !pkt) {
		snprintf(why, n, "no answer (%s)", ldns_get_errorstr_by_id(s));
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR || !ldns_pkt_aa(pkt)) {
		snprintf(why, n, "not authoritative for %s (rcode %d)", zone, ldns_pkt_get_rcode(pkt));
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

/* RFC 1982: a >= b for 32-bit serials. */
#define SERIAL_GE_SQL(a, b) "(((" a ") - (" b ")) % 4294967296 + 4294967296) % 4294967296 < 2147483648"

/* What a name server answered for the zone's SOA. */
struct nsres {
	int64_t id, serial;
	char name[128], why[256];
};

/* Asks every listed name server for the zone's SOA (network, before any lock).
 * Returns the answers; *n gets how many. */
static struct nsres *ns_gather(struct ctx *c, size_t *n)
{
	struct nsres *ns = NULL;
	size_t nns = 0;
	sqlite3_stmt *st = q(c, "SELECT id, name, address, port FROM nameservers ORDER BY name", "");
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct nsres *x = realloc(ns, (nns + 1) * sizeof(*ns));
		if (!x)
			fail(c, "out of memory");
		ns = x;
		struct nsres *r = &ns[nns++];
		r->id = sqlite3_column_int64(st, 0);
		snprintf(r->name, sizeof(r->name), "%s", sqlite3_column_text(st, 1));
		r->why[0] = 0;
		r->serial = ns_serial(c->zone, (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3),
				      r->why, sizeof(r->why));
	}
	sqlite3_finalize(st);
	*n = nns;
	return ns;
}

/* Inside a write transaction: records the answers. One that did not answer keeps
 * the serial it last reported. */
static void ns_record(struct ctx *c, const struct nsres *ns, size_t nns, int64_t now)
{
	for (size_t i = 0; i < nns; i++)
		run(c, q(c,
			 "UPDATE nameservers SET serial = CASE WHEN ?2 >= 0 THEN ?2 ELSE serial END, checked_at = ?3, "
			 "error = nullif(?4, '') WHERE id = ?1",
			 "iiis", ns[i].id, ns[i].serial, now, ns[i].why));
}

void cmd_ns(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!strcmp(sub, "add")) {
		char addr[64];
		int port;
		if (c->o.npos != 4)
			die_usage("ns add NAME ADDRESS[:PORT]");
		const char *nm = c->o.pos[2];
		size_t nl = strlen(nm);
		if (!nl || nl > 100 || strspn(nm, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != nl)
			fail(NULL, "invalid name server name '%s': letters, digits, '.', '-', '_'", nm);
		if (ctl_parse_addr(c->o.pos[3], addr, sizeof(addr), &port))
			fail(NULL, "invalid address '%s': an IPv4 or IPv6 address, optionally with :PORT ([v6]:PORT)",
			     c->o.pos[3]);
		open_store(c, 0);
		begin(c);
		run(c, q(c,
			 "INSERT INTO nameservers(name, address, port) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE "
			 "SET address = ?2, port = ?3, serial = NULL, checked_at = NULL, error = NULL",
			 "ssi", c->o.pos[2], addr, (int64_t)port));
		commit(c);
		printf("name server %s at %s port %d: a key becomes active only once it serves the key's serial\n",
		       c->o.pos[2], addr, port);
	} else if (!strcmp(sub, "remove")) {
		if (c->o.npos != 3)
			die_usage("ns remove NAME");
		open_store(c, 0);
		begin(c);
		run(c, q(c, "DELETE FROM nameservers WHERE name = ?", "s", c->o.pos[2]));
		if (!sqlite3_changes(c->db))
			fail(c, "no name server '%s' (see 'dnsdctl ns list')", c->o.pos[2]);
		commit(c);
		printf("name server %s removed\n", c->o.pos[2]);
	} else if (!strcmp(sub, "list") || !strcmp(sub, "check")) {
		open_store(c, 0);
		if (!strcmp(sub, "check")) {
			size_t nns;
			struct nsres *ns = ns_gather(c, &nns);
			begin(c);
			ns_record(c, ns, nns, store_now());
			commit(c);
			free(ns);
		}
		/* Lag: how long the store has held changes the name server did not
		 * serve when last asked (0: it served the store's serial). */
		sqlite3_stmt *st = q(c,
				     "SELECT name, address, port, serial, ifnull(checked_at, 0), error, "
				     "CASE WHEN serial IS NULL OR " SERIAL_GE_SQL("serial", "(SELECT value FROM serial)")
				     " THEN 0 ELSE max(1, ?1 - ifnull((SELECT min(at) FROM journal j "
				     "WHERE NOT (" SERIAL_GE_SQL("n.serial", "j.serial") ")), ?1)) END "
				     "FROM nameservers n ORDER BY name",
				     "i", store_now());
		int first = 1;
		if (c->o.json)
			printf("[");
		else
			printf("%-16s %-28s %-6s %-11s %-18s %-21s %s\n", "NAME", "ADDRESS", "PORT", "SERIAL", "LAG",
			       "CHECKED", "ERROR");
		while (sqlite3_step(st) == SQLITE_ROW) {
			char tb[32];
			int has_serial = sqlite3_column_type(st, 3) != SQLITE_NULL;
			fmt_time(sqlite3_column_int64(st, 4), tb, sizeof(tb));
			const char *err = (const char *)sqlite3_column_text(st, 5);
			int64_t lag_s = sqlite3_column_int64(st, 6);
			if (c->o.json) {
				int f = 1;
				printf("%s{", first ? "" : ", ");
				json_kv(stdout, &f, "name", (const char *)sqlite3_column_text(st, 0));
				json_kv(stdout, &f, "address", (const char *)sqlite3_column_text(st, 1));
				json_ki(stdout, &f, "port", sqlite3_column_int64(st, 2));
				if (has_serial)
					json_ki(stdout, &f, "serial", sqlite3_column_int64(st, 3));
				else
					json_kv(stdout, &f, "serial", NULL);
				json_kv(stdout, &f, "checked", sqlite3_column_int64(st, 4) ? tb : NULL);
				if (has_serial)
					json_ki(stdout, &f, "lag_seconds", lag_s);
				json_kv(stdout, &f, "error", err);
				printf("}");
			} else {
				char sb[24], lb[40];
				snprintf(sb, sizeof(sb), "%lld", (long long)sqlite3_column_int64(st, 3));
				if (!has_serial)
					snprintf(lb, sizeof(lb), "-");
				else if (!lag_s)
					snprintf(lb, sizeof(lb), "current");
				else
					snprintf(lb, sizeof(lb), "%llds behind", (long long)lag_s);
				printf("%-16s %-28s %-6lld %-11s %-18s %-21s %s\n", sqlite3_column_text(st, 0),
				       sqlite3_column_text(st, 1), (long long)sqlite3_column_int64(st, 2),
				       has_serial ? sb : "-", lb, tb, err ? err : "");
			}
			first = 0;
		}
		sqlite3_finalize(st);
		if (c->o.json)
			printf("]\n");
	} else {
		die_usage("ns add NAME ADDRESS[:PORT] | ns list | ns check | ns remove NAME");
	}
}

/* ---- the job ---- */

struct gen {
	int64_t domain_id, key_id; /* the active key it replaces */
	char role[16], alg[32], path[8192], pub[2048], name[256], cause[64], guess[64];
	int used;
};

void cmd_maintain(struct ctx *c)
{
	long max_keys = num_arg(c, c->o.max_keys, "--max-keys", 0, 1000000, 200);
	open_store(c, 0);
	int64_t now = store_now();
	int days = store_setting_int(c->st, "retention_days", 7);
	int64_t kret = setting_i64(c, "key_retention_days", 7) * DAY;
	int64_t rdays = setting_i64(c, "rotation_days", 180);
	int64_t spread = setting_i64(c, "rotation_spread_hours", 24) * 3600;
	char *log = NULL;
	size_t loglen = 0;
	FILE *out = open_memstream(&log, &loglen);
	if (!out)
		fail(c, "out of memory");

	/* 1. What every name server serves now (network, before any lock). */
	size_t nns = 0;
	struct nsres *ns = ns_gather(c, &nns);
	sqlite3_stmt *st;

	/* 2. Keys due for rotation get their successors generated now, outside
	 * the transaction (RSA generation is slow). */
	struct gen *gens = NULL;
	size_t ngen = 0;
	st = q(c,
	       "SELECT d.id, d.name, d.token, s.role, k.id, k.algorithm, k.rotate_at IS NOT NULL FROM keys k "
	       "JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id "
	       "WHERE k.state = 'active' AND d.state = 'active' AND "
	       "(CASE WHEN k.rotate_at IS NOT NULL THEN k.rotate_at WHEN ?2 > 0 THEN "
	       "k.activated_at + ?2 * 86400 - (k.id * 2654435761) % max(?3, 1) ELSE NULL END) <= ?1 "
	       "AND NOT EXISTS (SELECT 1 FROM keys p JOIN slots ps ON ps.id = p.slot_id WHERE ps.domain_id = d.id "
	       "AND ps.role = s.role AND p.state = 'published') ORDER BY k.id",
	       "iii", now, rdays, spread);
	/* Successors are made for at most --max-keys keys a run; a key due with no
	 * free eligible slot in its role (its retired keys still published, or
	 * the customer's CNAMEs missing) waits, and the run says so. */
	int64_t more_due = 0, nblocked = 0, nskipped = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char sel0[64];
		if (!free_slot(c, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 3), 0, sel0,
			       sizeof(sel0))) {
			if (nblocked++ < 20)
				fprintf(out, "%s: key %lld (%s role) is due for rotation, but the role has no free "
					     "eligible slot: it waits\n",
					sqlite3_column_text(st, 1), (long long)sqlite3_column_int64(st, 4),
					sqlite3_column_text(st, 3));
			continue;
		}
		if ((int64_t)ngen >= max_keys) {
			more_due = 1;
			continue;
		}
		/* A row no dnsdctl wrote (a name that is no host name, a token of
		 * another alphabet) makes no key file: it is said and left alone, and
		 * the other keys go on. */
		char why[400], qn[96];
		if (key_names_check((const char *)sqlite3_column_text(st, 1), sel0,
				    (const char *)sqlite3_column_text(st, 2), why, sizeof(why))) {
			fprintf(out, "domain row %lld '%s': key %lld is due for rotation, but %s\n",
				(long long)sqlite3_column_int64(st, 0),
				names_show(qn, sizeof(qn), (const char *)sqlite3_column_text(st, 1)),
				(long long)sqlite3_column_int64(st, 4), why);
			nskipped++;
			continue;
		}
		struct gen *x = realloc(gens, (ngen + 1) * sizeof(*gens));
		if (!x) {
			sqlite3_finalize(st);
			fail(c, "out of memory");
		}
		gens = x;
		struct gen *g = &gens[ngen++];
		memset(g, 0, sizeof(*g));
		g->domain_id = sqlite3_column_int64(st, 0);
		snprintf(g->name, sizeof(g->name), "%s", sqlite3_column_text(st, 1));
		const char *token = (const char *)sqlite3_column_text(st, 2);
		snprintf(g->role, sizeof(g->role), "%s", sqlite3_column_text(st, 3));
		g->key_id = sqlite3_column_int64(st, 4);
		next_algorithm((const char *)sqlite3_column_text(st, 5), g->role, g->alg, sizeof(g->alg));
		snprintf(g->cause, sizeof(g->cause), "%s",
			 sqlite3_column_int(st, 6) ? "scheduled rotation" : "rotation by age");
		snprintf(g->guess, sizeof(g->guess), "key");
		free_slot(c, g->domain_id, g->role, 0, g->guess, sizeof(g->guess));
		key_new_file(c, g->name, token, g->alg, g->guess, g->pub, sizeof(g->pub), g->path, sizeof(g->path));
	}
	sqlite3_finalize(st);
	if (nblocked > 20)
		fprintf(out, "... and %lld more due keys wait for a free slot\n", (long long)(nblocked - 20));

	/* 3. One batch. */
	begin(c);
	ns_record(c, ns, nns, now);
	int nrevoked = 0, nactivated = 0, npublished = 0, nwaiting = 0;
	/* a. Retired keys past retention are revoked. */
	st = q(c,
	       "SELECT k.id, s.domain_id, d.name, s.selector FROM keys k JOIN slots s ON s.id = k.slot_id "
	       "JOIN domains d ON d.id = s.domain_id WHERE k.state = 'retired' AND k.retired_at <= ? ORDER BY k.id",
	       "i", now - kret);
	struct {
		int64_t id, did;
	} *todo = NULL;
	size_t ntodo = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		void *x = realloc(todo, (ntodo + 1) * sizeof(*todo));
		if (!x) {
			sqlite3_finalize(st);
			fail(c, "out of memory");
		}
		todo = x;
		todo[ntodo].id = sqlite3_column_int64(st, 0);
		todo[ntodo++].did = sqlite3_column_int64(st, 1);
		fprintf(out, "%s %s: key %lld revoked (retired for %lld day(s))\n", sqlite3_column_text(st, 2),
			sqlite3_column_text(st, 3), (long long)sqlite3_column_int64(st, 0), (long long)(kret / DAY));
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < ntodo; i++, nrevoked++)
		key_set_state(c, todo[i].id, todo[i].did, "revoked", now, "retention ended");
	free(todo);

	/* b. Published keys that every name server serves and that waited long
	 * enough become active; their role's active key retires. */
	st = q(c,
	       "SELECT k.id, s.domain_id, d.name, s.selector, s.role, s.eligible, ifnull(k.active_after, "
	       "k.published_at + 3600), ifnull(k.published_serial, (SELECT value FROM serial)), "
	       "(SELECT group_concat(n.name || ' serves ' || ifnull(n.serial, 'no known serial'), ', ') "
	       " FROM nameservers n WHERE n.serial IS NULL OR NOT (" SERIAL_GE_SQL(
		       "n.serial", "ifnull(k.published_serial, (SELECT value FROM serial))") ")) "
	       "FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id "
	       "WHERE k.state = 'published' AND d.state = 'active' ORDER BY k.id DESC",
	       "");
	struct act {
		int64_t id, did;
		char role[16], name[256], sel[64];
	} *acts = NULL;
	size_t nacts = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 2);
		const char *sel = (const char *)sqlite3_column_text(st, 3);
		int64_t after = sqlite3_column_int64(st, 6), pserial = sqlite3_column_int64(st, 7);
		const char *lag = (const char *)sqlite3_column_text(st, 8);
		char t[32];
		if (after > now) {
			fprintf(out, "%s %s: key %lld waits until %s (resolvers may still hold the slot's old answer)\n",
				name, sel, (long long)sqlite3_column_int64(st, 0), fmt_time(after, t, sizeof(t)));
			nwaiting++;
			continue;
		}
		if (!sqlite3_column_int(st, 5)) {
			fprintf(out, "%s %s: key %lld waits: the slot is not eligible\n", name, sel,
				(long long)sqlite3_column_int64(st, 0));
			nwaiting++;
			continue;
		}
		if (lag) {
			fprintf(out, "%s %s: key %lld waits: it is in serial %lld, but %s\n", name, sel,
				(long long)sqlite3_column_int64(st, 0), (long long)pserial, lag);
			nwaiting++;
			continue;
		}
		void *x = realloc(acts, (nacts + 1) * sizeof(*acts));
		if (!x) {
			sqlite3_finalize(st);
			fail(c, "out of memory");
		}
		acts = x;
		struct act *a = &acts[nacts++];
		a->id = sqlite3_column_int64(st, 0);
		a->did = sqlite3_column_int64(st, 1);
		snprintf(a->role, sizeof(a->role), "%s", sqlite3_column_text(st, 4));
		snprintf(a->name, sizeof(a->name), "%s", name);
		snprintf(a->sel, sizeof(a->sel), "%s", sel);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < nacts; i++) {
		struct act *a = &acts[i];
		struct keyrow cur;
		char cause[96];
		/* Newest first: an older published key of the same role (only SQL
		 * written by hand makes one) is superseded. */
		size_t j;
		for (j = 0; j < i; j++)
			if (acts[j].did == a->did && !strcmp(acts[j].role, a->role))
				break;
		if (j < i) {
			snprintf(cause, sizeof(cause), "superseded by key %lld", (long long)acts[j].id);
			key_set_state(c, a->id, a->did, "revoked", now, cause);
			continue;
		}
		if (key_in(c, a->did, a->role, "active", &cur)) {
			snprintf(cause, sizeof(cause), "replaced by key %lld", (long long)a->id);
			key_set_state(c, cur.id, a->did, "retired", now, cause);
			fprintf(out, "%s %s: key %lld retired (still published for %lld day(s))\n", a->name,
				cur.selector, (long long)cur.id, (long long)(kret / DAY));
		}
		snprintf(cause, sizeof(cause), "rotation: published long enough and served by every name server");
		key_set_state(c, a->id, a->did, "active", now, cause);
		fprintf(out, "%s %s: key %lld activated (rotation)\n", a->name, a->sel, (long long)a->id);
		nactivated++;
	}
	free(acts);

	/* c. The successors generated above are published, if still wanted: a job
	 * running beside this one may have published one already. */
	for (size_t i = 0; i < ngen; i++) {
		struct gen *g = &gens[i];
		struct keyrow pub;
		char sel[64];
		int still = one_int(c, q(c, "SELECT count(*) FROM keys WHERE id = ? AND state = 'active'", "i", g->key_id), 0);
		if (!still || key_in(c, g->domain_id, g->role, "published", &pub))
			continue;
		int64_t slot = free_slot(c, g->domain_id, g->role, 0, sel, sizeof(sel));
		if (!slot)
			continue;
		key_file_name(c, g->path, sizeof(g->path), g->guess, sel);
		int64_t kid = key_insert(c, g->domain_id, slot, g->alg, g->pub, g->path, "published", "generated", g->cause);
		int64_t after = one_int(c, q(c, "SELECT active_after FROM keys WHERE id = ?", "i", kid), 0);
		char t[32];
		fprintf(out, "%s %s: key %lld (%s) published (%s of key %lld); active from %s\n", g->name, sel,
			(long long)kid, g->alg, g->cause, (long long)g->key_id, fmt_time(after, t, sizeof(t)));
		g->used = 1;
		npublished++;
	}

	/* d. Removed domains past their retention are purged. */
	run(c, q(c, "UPDATE domains SET state = 'purged' WHERE state = 'removed' AND removed_at <= ?", "i",
		 now - (int64_t)days * DAY));
	int purged = sqlite3_changes(c->db);
	commit(c);
	for (size_t i = 0; i < ngen; i++)
		if (!gens[i].used)
			unlink(gens[i].path);
	free(gens);
	fclose(out);

	/* 4. The signer's view. */
	int changed = 0;
	int status = export_refresh(c, &changed);
	if (c->o.json) {
		printf("{\"revoked\": %d, \"activated\": %d, \"published\": %d, \"purged\": %d, \"waiting\": %d, "
		       "\"more_due\": %s, \"blocked\": %lld, \"skipped\": %lld, \"serial\": %lld, \"exports\": \"%s\", "
		       "\"name_servers\": [",
		       nrevoked, nactivated, npublished, purged, nwaiting, more_due ? "true" : "false",
		       (long long)nblocked, (long long)nskipped,
		       (long long)store_serial(c->st), status ? "failed" : changed ? "rewritten" : "unchanged");
		for (size_t i = 0; i < nns; i++) {
			int f = 1;
			printf("%s{", i ? ", " : "");
			json_kv(stdout, &f, "name", ns[i].name);
			json_ki(stdout, &f, "serial", ns[i].serial);
			json_kv(stdout, &f, "error", ns[i].why[0] ? ns[i].why : NULL);
			printf("}");
		}
		printf("]}\n");
	} else {
		fputs(log, stdout);
		for (size_t i = 0; i < nns; i++)
			if (ns[i].serial < 0)
				printf("name server %s: %s\n", ns[i].name, ns[i].why);
		if (!nns)
			printf("no name servers listed ('dnsdctl ns add'): activation waits only for the DKIM TTL\n");
		printf("%d revoked, %d activated, %d published, %d waiting; %d removed domain(s) purged (past the "
		       "%d-day retention); serial %lld; exports %s\n",
		       nrevoked, nactivated, npublished, nwaiting, purged, days, (long long)store_serial(c->st),
		       status ? "FAILED" : changed ? "rewritten" : "unchanged");
		if (more_due)
			printf("more keys are due than --max-keys %ld: the next run goes on\n", max_keys);
		if (nskipped)
			printf("%lld key(s) due for rotation skipped: their rows hold names no key file may have "
			       "(see above); fix the rows\n",
			       (long long)nskipped);
	}
	free(log);
	free(ns);
	if (status)
		exit(status);
}

/* ---- exports ---- */

int export_refresh(struct ctx *c, int *changed)
{
	struct export_conf ec = { .dir = c->o.export_dir,
				  .command = c->o.export_command,
				  .force = c->export_force,
				  .same_from = c->export_same_from };
	if (!export_write(&c->w, &ec, changed))
		return 0;
	fprintf(stderr, "dnsdctl: %s\n", c->w.err);
	wr_clear(&c->w);
	return EXIT_EXPORT;
}

void cmd_export(struct ctx *c)
{
	if (c->o.npos != 1)
		die_usage("export");
	open_store(c, 0);
	int changed = 0;
	c->export_force = 1;
	int status = export_refresh(c, &changed);
	char *dir = export_dir(c->o.export_dir, c->o.db);
	if (!status)
		printf("exports in %s %s\n", dir && *dir ? dir : "(turned off)", changed ? "rewritten" : "unchanged");
	free(dir);
	if (status)
		exit(status);
}

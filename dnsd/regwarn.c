/* regwarn: the names a customer is told to CNAME that would answer nothing now: the
 * Return-Path's target with no SPF or no MX in force, the hosted DMARC's with no DMARC, and a
 * DKIM selector whose role has no key that signs. What `domain add`, `domain records` and
 * `status` warn about before the customer's records point at an empty answer. */
#include "err.h"
#include "registry.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The policy kinds in the order of REG_DANGLING_SPF, _MX, _DMARC. */
static const char *const kinds[3] = {"spf", "mx", "dmarc"};

/* A slot s whose role has no active key: its selector answers no key that signs. The join
 * goes from the domain's slots to their keys (CROSS JOIN keeps that order, + keeps the state's
 * index out): by the state first, it would read every active key of the store per slot. */
#define ROLE_UNSIGNED                                                                              \
	"NOT EXISTS (SELECT 1 FROM slots s2 CROSS JOIN keys k ON k.slot_id = s2.id WHERE "         \
	"s2.domain_id = s.domain_id AND s2.role = s.role AND +k.state = 'active')"

static void add(struct reg_dangling *out, int *n, const struct reg_record *r, const char *missing,
		const char *fix)
{
	if (*n >= REG_MAX_DANGLING)
		return;
	struct reg_dangling *x = &out[(*n)++];
	_Static_assert(sizeof(x->name) == sizeof(r->name) && sizeof(x->target) == sizeof(r->value),
		       "reg_dangling holds reg_record's names");
	memcpy(x->name, r->name, sizeof(x->name));
	memcpy(x->target, r->value, sizeof(x->target));
	x->purpose = r->purpose;
	x->missing = missing;
	x->fix = fix;
}

int reg_domain_dangling(struct wr *w, const struct reg_domain *d, struct reg_dangling *out, int *n)
{
	struct reg_record r[REG_MAX_RECORDS];
	int nr, ttl;
	*n = 0;
	if (reg_domain_records(w, d, r, &nr, &ttl))
		return w->rc;
	int have[3];
	for (int k = 0; k < 3; k++) {
		char *v = reg_policy_effective(w, d->id, d->tenant_id, kinds[k]);
		have[k] = v != NULL;
		free(v);
	}
	/* The selectors that answer no signing key: their role has none active. */
	char unsigned_sel[REG_MAX_SLOTS][64];
	int nu = 0;
	sqlite3_stmt *st = wr_q(w,
				"SELECT s.selector FROM slots s WHERE s.domain_id = ? "
				"AND " ROLE_UNSIGNED " ORDER BY s.position",
				"i", d->id);
	while (wr_step(w, st) && nu < REG_MAX_SLOTS)
		snprintf(unsigned_sel[nu++], sizeof(unsigned_sel[0]), "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (w->rc)
		return w->rc;
	for (int i = 0; i < nr; i++) {
		if (!strcmp(r[i].purpose, "return-path")) {
			if (!have[0])
				add(out, n, &r[i], "spf", "dnsdctl spf set");
			if (!have[1])
				add(out, n, &r[i], "mx", "dnsdctl mx set");
		} else if (!strcmp(r[i].purpose, "dmarc")) {
			if (!have[2])
				add(out, n, &r[i], "dmarc", "dnsdctl dmarc set");
		} else {
			for (int u = 0; u < nu; u++) {
				size_t sl = strlen(unsigned_sel[u]);
				if (!strncmp(r[i].name, unsigned_sel[u], sl) &&
				    r[i].name[sl] == '.')
					add(out, n, &r[i], "key", "dnsdctl key rotate");
			}
		}
	}
	return 0;
}

/* The store-wide count reads each table it needs once, in whatever order SQLite keeps it, and
 * marks each domain by id in a byte of flags; a per-domain test (the policy's three lookups,
 * the role's slots and their keys) costs seconds at a million domains, and SQLite joins the
 * slots to their keys only by a lookup per slot or a sort. */
enum {
	DG_ACTIVE = 1,
	DG_SPF = 2, /* a policy of the kind is in force: the domain's own or its tenant's (<< k) */
	DG_MAIN = 16,	     /* the domain has slots of the main role */
	DG_MAIN_SIGNS = 32,  /* ... and one of them holds the active key */
	DG_OTHER = 64,	     /* slots of the other role (ed25519: slots.role's CHECK allows two) */
	DG_OTHER_SIGNS = 128 /* ... and an active key in one of them */
};

static int dg_lacks(uint8_t f, int k, const int *global)
{
	if (!(f & DG_ACTIVE))
		return 0;
	if (k < REG_DANGLING_KEY)
		return !global[k] && !(f & (DG_SPF << k));
	return ((f & DG_MAIN) && !(f & DG_MAIN_SIGNS)) || ((f & DG_OTHER) && !(f & DG_OTHER_SIGNS));
}

/* Reads column 0 (and 1) of every row of sql into flags: v[id] |= bits, for the ids within n;
 * with two columns, v[col 0] |= bits when col 1 (a kind, "spf" ...) names bit k's policy, as
 * DG_SPF << k. */
static void dg_mark(struct wr *w, const char *sql, uint8_t *v, int64_t n, uint8_t bits)
{
	sqlite3_stmt *st = wr_prep(w, sql);
	while (wr_step(w, st)) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id < 0 || id > n)
			continue;
		if (sqlite3_column_count(st) == 1) {
			v[id] |= bits;
			continue;
		}
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		for (int k = 0; k < 3; k++)
			if (kind && !strcmp(kind, kinds[k]))
				v[id] |= DG_SPF << k;
	}
	sqlite3_finalize(st);
}

/* Keeps name among the REG_DANGLING_FIRST first by name in first (sorted, "" past the end). */
static void dg_keep(char (*first)[256], const char *name)
{
	int i = REG_DANGLING_FIRST;
	while (i > 0 && (!first[i - 1][0] || strcmp(name, first[i - 1]) < 0))
		i--;
	if (i == REG_DANGLING_FIRST)
		return;
	memmove(first[i + 1], first[i], (size_t)(REG_DANGLING_FIRST - 1 - i) * sizeof(first[0]));
	snprintf(first[i], sizeof(first[0]), "%s", name);
}

/* The first names of kind k's domains: by their ids when they are few (one lookup each), else
 * along the names in order until enough are found (about nactive / count names apart). */
static void dg_first(struct wr *w, const uint8_t *v, int64_t n, int k, const int *global,
		     int64_t count, int64_t nactive, struct reg_dangling_sum *s)
{
	sqlite3_stmt *st;
	if ((double)count * (double)count <= (double)REG_DANGLING_FIRST * (double)nactive) {
		st = wr_prep(w, "SELECT name FROM domains WHERE id = ?");
		for (int64_t id = 0; id <= n && st && !w->rc; id++) {
			if (!dg_lacks(v[id], k, global))
				continue;
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, id);
			if (wr_step(w, st))
				dg_keep(s->first[k], (const char *)sqlite3_column_text(st, 0));
		}
	} else {
		int i = 0;
		st = wr_prep(w,
			     "SELECT id, name FROM domains WHERE state = 'active' ORDER BY name");
		while (i < REG_DANGLING_FIRST && wr_step(w, st)) {
			int64_t id = sqlite3_column_int64(st, 0);
			if (id >= 0 && id <= n && dg_lacks(v[id], k, global))
				snprintf(s->first[k][i++], sizeof(s->first[0][0]), "%s",
					 (const char *)sqlite3_column_text(st, 1));
		}
	}
	sqlite3_finalize(st);
}

static void dg_summary(struct wr *w, struct reg_dangling_sum *s)
{
	int global[3], all_global = 1;
	for (int k = 0; k < 3; k++) {
		/* A global policy is in force everywhere (the usual case). */
		global[k] =
			wr_int(w,
			       wr_q(w,
				    "SELECT count(*) FROM policies WHERE kind = ? AND tenant_id IS "
				    "NULL AND domain_id IS NULL",
				    "s", kinds[k]),
			       0) > 0;
		all_global &= global[k];
	}
	int64_t n = wr_int(w, wr_prep(w, "SELECT max(0, ifnull(max(id), 0)) FROM domains"), 0);
	int64_t ns = wr_int(w, wr_prep(w, "SELECT max(0, ifnull(max(id), 0)) FROM slots"), 0);
	int64_t nt = wr_int(w, wr_prep(w, "SELECT max(0, ifnull(max(id), 0)) FROM tenants"), 0);
	if (w->rc)
		return;
	uint8_t *v = calloc((size_t)n + 1, 1), *act = calloc((size_t)ns / 8 + 1, 1),
		*tv = calloc((size_t)nt + 1, 1);
	if (!v || !act || !tv) {
		wr_fail(w, DNSD_ENOMEM, NULL,
			"out of memory for a byte per domain id up to %lld and a bit per slot id "
			"up to %lld",
			(long long)n, (long long)ns);
		goto out;
	}
	if (all_global) {
		/* The active domains: their names' index holds the ids. */
		dg_mark(w, "SELECT id FROM domains WHERE state = 'active'", v, n, DG_ACTIVE);
	} else {
		/* The tenants' policies, then each active domain takes its tenant's (the table
		 * in its order: + keeps the names' index out, which would seek each row at
		 * random), then the domains' own. */
		dg_mark(w,
			"SELECT tenant_id, kind FROM policies WHERE tenant_id IS NOT NULL AND "
			"domain_id IS NULL",
			tv, nt, 0);
		sqlite3_stmt *st =
			wr_prep(w, "SELECT id, tenant_id FROM domains WHERE +state = 'active'");
		while (wr_step(w, st)) {
			int64_t id = sqlite3_column_int64(st, 0), t = sqlite3_column_int64(st, 1);
			if (id >= 0 && id <= n)
				v[id] |= DG_ACTIVE | (t >= 0 && t <= nt ? tv[t] : 0);
		}
		sqlite3_finalize(st);
		dg_mark(w, "SELECT domain_id, kind FROM policies WHERE domain_id IS NOT NULL", v, n,
			0);
	}
	/* The slots that hold an active key, from keys_one_live_per_slot, which answers without
	 * reading the keys' rows: the live keys less the few published and retired ones (a
	 * rotation under way) are the active ones. */
	sqlite3_stmt *st = wr_prep(w, "SELECT slot_id FROM keys WHERE state != 'revoked' AND rowid "
				      "NOT IN (SELECT rowid FROM keys WHERE state IN ('published', "
				      "'retired'))");
	while (wr_step(w, st)) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id >= 0 && id <= ns)
			act[id / 8] |= (uint8_t)(1u << (id % 8));
	}
	sqlite3_finalize(st);
	/* Each slot marks its domain's role: present, and signing when its key is active. */
	st = wr_prep(w, "SELECT id, domain_id, role = 'main' FROM slots");
	while (wr_step(w, st)) {
		int64_t id = sqlite3_column_int64(st, 0), d = sqlite3_column_int64(st, 1);
		if (d < 0 || d > n || id < 0 || id > ns)
			continue;
		int is_main = sqlite3_column_int(st, 2), signs = act[id / 8] >> (id % 8) & 1;
		v[d] |= is_main ? DG_MAIN | (signs ? DG_MAIN_SIGNS : 0)
				: DG_OTHER | (signs ? DG_OTHER_SIGNS : 0);
	}
	sqlite3_finalize(st);
	int64_t nactive = 0;
	for (int64_t id = 0; id <= n && !w->rc; id++) {
		nactive += v[id] & DG_ACTIVE;
		for (int k = 0; k < REG_DANGLING_KINDS; k++)
			s->count[k] += dg_lacks(v[id], k, global);
	}
	for (int k = 0; k < REG_DANGLING_KINDS && !w->rc; k++)
		if (s->count[k])
			dg_first(w, v, n, k, global, s->count[k], nactive, s);
out:
	free(v);
	free(act);
	free(tv);
}

int reg_dangling_summary(struct wr *w, struct reg_dangling_sum *s)
{
	memset(s, 0, sizeof(*s));
	if (w->rc)
		return w->rc;
	/* One read transaction: every table as of one commit. */
	int own = wr_read_begin(w);
	if (own < 0)
		return w->rc;
	dg_summary(w, s);
	if (own)
		wr_read_end(w);
	return w->rc;
}

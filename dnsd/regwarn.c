/* regwarn: the names a customer is told to CNAME that would answer nothing now: the
 * Return-Path's target with no SPF or no MX in force, the hosted DMARC's with no DMARC, and a
 * DKIM selector whose role has no key that signs. What `domain add`, `domain records` and
 * `status` warn about before the customer's records point at an empty answer. */
#include "err.h"
#include "registry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The policy of kind in force for domain d (its own, its tenant's, the global one), as SQL
 * over a domain row named d: two lookups by index (policies_domain, then policies_scope's
 * expressions), never a scan of every domain's own policies per domain. */
#define IN_FORCE(kind)                                                                             \
	"(EXISTS (SELECT 1 FROM policies p WHERE p.domain_id = d.id AND p.kind = '" kind "') OR "  \
	"EXISTS (SELECT 1 FROM policies p WHERE p.kind = '" kind "' AND ifnull(p.tenant_id, 0) "   \
	"IN (0, d.tenant_id) AND ifnull(p.domain_id, 0) = 0))"
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
	static const char *const kinds[3] = {"spf", "mx", "dmarc"};
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

int reg_dangling_summary(struct wr *w, struct reg_dangling_sum *s)
{
	static const char *const sql[REG_DANGLING_KINDS] = {
		"SELECT d.name FROM domains d WHERE d.state = 'active' AND NOT " IN_FORCE("spf"),
		"SELECT d.name FROM domains d WHERE d.state = 'active' AND NOT " IN_FORCE("mx"),
		"SELECT d.name FROM domains d WHERE d.state = 'active' AND NOT " IN_FORCE("dmarc"),
		"SELECT d.name FROM domains d WHERE d.state = 'active' AND EXISTS (SELECT 1 FROM "
		"slots s WHERE s.domain_id = d.id AND " ROLE_UNSIGNED ")",
	};
	static const char *const kinds[] = {"spf", "mx", "dmarc"};
	memset(s, 0, sizeof(*s));
	for (int k = 0; k < REG_DANGLING_KINDS && !w->rc; k++) {
		/* A global policy is in force everywhere: no domain to look at (the usual case,
		 * and the one a store of a million domains must not scan for). */
		if (k < 3 && wr_int(w,
				    wr_q(w,
					 "SELECT count(*) FROM policies WHERE kind = ? AND "
					 "tenant_id IS NULL AND domain_id IS NULL",
					 "s", kinds[k]),
				    0))
			continue;
		/* The count, and the first names (by name) to show. */
		char q[600];
		snprintf(q, sizeof(q), "SELECT count(*) FROM (%s)", sql[k]);
		if (!(s->count[k] = wr_int(w, wr_prep(w, q), 0)))
			continue;
		snprintf(q, sizeof(q), "%s ORDER BY d.name LIMIT %d", sql[k], REG_DANGLING_FIRST);
		sqlite3_stmt *st = wr_prep(w, q);
		int i = 0;
		while (wr_step(w, st) && i < REG_DANGLING_FIRST)
			snprintf(s->first[k][i++], sizeof(s->first[0][0]), "%s",
				 (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	return w->rc;
}

/* regpolicy: the SPF, MX and DMARC policies at the global, tenant and domain
 * levels (registry.h), checked before they are stored: an SPF value's
 * includes inside the hosted zone are followed through the store and the zone
 * file, so that a loop or too many lookups is refused before any resolver
 * sees it. */
#include "db.h"
#include "err.h"
#include "policy.h"
#include "registry.h"
#include "wire.h"
#include "zone.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int kind_ok(struct wr *w, const char *kind)
{
	if (kind && (!strcmp(kind, "spf") || !strcmp(kind, "mx") || !strcmp(kind, "dmarc")))
		return 0;
	return wr_fail(w, DNSD_EINVAL, "kind", "a policy is spf, mx or dmarc, not '%s'",
		       kind ? kind : "");
}

int reg_policy_scope(struct wr *w, const char *tenant, const char *domain, struct reg_scope *s)
{
	*s = (struct reg_scope){.level = "global"};
	if (tenant && domain)
		return wr_fail(w, DNSD_EINVAL, "domain", "give a tenant or a domain, not both");
	if (tenant && (s->tenant_id = reg_tenant_id(w, tenant, 1))) {
		s->level = "tenant";
		snprintf(s->who, sizeof(s->who), "%s", tenant);
	}
	struct reg_domain d;
	if (domain && !reg_domain_need(w, domain, &d, 0)) {
		s->level = "domain";
		s->domain_id = d.id;
		s->domain_tenant = d.tenant_id;
		snprintf(s->who, sizeof(s->who), "%s", d.name);
	}
	return w->rc;
}

char *reg_policy_effective(struct wr *w, int64_t domain_id, int64_t tenant_id, const char *kind)
{
	return wr_text(w, wr_q(w,
			       "SELECT value FROM policies WHERE kind = ?1 AND "
			       "((domain_id = ?2) OR (tenant_id = ?3 AND domain_id IS NULL) OR "
			       "(tenant_id IS NULL AND domain_id IS NULL)) "
			       "ORDER BY domain_id IS NULL, tenant_id IS NULL LIMIT 1",
			       "sii", kind, domain_id, tenant_id));
}

/* What the SPF check looks up inside the hosted zone: the store's policies
 * (with the value being set in its place) and the zone file. */
struct spf_lookup {
	struct wr *w;
	struct db_zone *zf;	/* the zone file, if known */
	const char *value;	/* the SPF being set... */
	int64_t tenant, domain; /* ...where (0, 0: global) */
	char err[600];
};

/* The SPF a domain would have once the value being set is in place: so that a
 * tenant or global policy that includes one of the domains inheriting it is
 * seen to loop. */
static char *spf_after(struct spf_lookup *l, int64_t did, int64_t tid)
{
	struct wr *w = l->w;
	if (l->domain == did)
		return strdup(l->value);
	char *v = wr_text(w,
			  wr_q(w, "SELECT value FROM policies WHERE kind = 'spf' AND domain_id = ?",
			       "i", did));
	if (v)
		return v;
	if (!l->domain && l->tenant == tid)
		return strdup(l->value);
	v = wr_text(w, wr_q(w,
			    "SELECT value FROM policies WHERE kind = 'spf' AND tenant_id = ? AND "
			    "domain_id IS NULL",
			    "i", tid));
	if (v)
		return v;
	if (!l->domain && !l->tenant)
		return strdup(l->value);
	return wr_text(w, wr_q(w,
			       "SELECT value FROM policies WHERE kind = 'spf' AND tenant_id IS "
			       "NULL AND domain_id IS NULL",
			       ""));
}

/* T.rp.Z: another customer domain's Return-Path policy (its SPF and MX; dnsd
 * serves no address there). */
static int lookup_rp(struct spf_lookup *l, const char *tok, int what, char *out, size_t outlen)
{
	struct wr *w = l->w;
	sqlite3_stmt *st =
		wr_q(w, "SELECT id, tenant_id FROM domains WHERE token = ? AND state = 'active'",
		     "s", tok);
	int found = wr_step(w, st);
	int64_t did = found ? sqlite3_column_int64(st, 0) : 0;
	int64_t tid = found ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_finalize(st);
	if (!found || (what != POLICY_SPF_TXT && what != POLICY_SPF_MX))
		return 0;
	char *v = what == POLICY_SPF_MX ? reg_policy_effective(w, did, tid, "mx")
					: spf_after(l, did, tid);
	if (!v)
		return 0;
	if (out)
		snprintf(out, outlen, "%s", v);
	free(v);
	return 1;
}

static int spf_lookup_fn(void *ctxp, const char *name, int what, char *out, size_t outlen)
{
	struct spf_lookup *l = ctxp;
	const char *zone = l->w->zone;
	uint8_t wn[WIRE_MAXNAME];
	int wl = wire_name_from_text(name, wn);
	if (wl < 0)
		return 0;
	char tok[64];
	size_t zl = strlen(zone), nl = strlen(name);
	if (nl > zl + 4 && !strcmp(name + nl - zl, zone) &&
	    !strncmp(name + nl - zl - 4, ".rp.", 4) && nl - zl - 4 < sizeof(tok)) {
		memcpy(tok, name, nl - zl - 4);
		tok[nl - zl - 4] = 0;
		return lookup_rp(l, tok, what, out, outlen);
	}
	if (!l->zf) {
		snprintf(l->err, sizeof(l->err),
			 "cannot check %s, in the hosted zone: dnsdctl needs the zone file "
			 "(zone-file in its config file, or --zone-file)",
			 name);
		return DNSD_ENOENT;
	}
	wire_name_lower(wn, (size_t)wl);
	const struct db_node *n = db_zone_find(l->zf, wn, (size_t)wl);
	if (what != POLICY_SPF_TXT)
		return n && (db_node_rrset(n, what == POLICY_SPF_MX ? WIRE_T_MX : WIRE_T_A) ||
			     (what == POLICY_SPF_ADDR && db_node_rrset(n, WIRE_T_AAAA)));
	const struct db_rrset *rs = n ? db_node_rrset(n, WIRE_T_TXT) : NULL;
	if (!rs)
		return 0;
	/* Each TXT RR: join its strings; the one starting with v=spf1 is the policy. */
	for (const uint8_t *p = rs->data; p < rs->data + rs->len;) {
		size_t rdlen = wire_get16(p + 8), o = 0;
		const uint8_t *rd = p + 10;
		for (size_t i = 0; i < rdlen && o + 1 < outlen; i += 1u + rd[i]) {
			size_t sl = rd[i];
			if (i + 1 + sl > rdlen || o + sl + 1 > outlen)
				break;
			memcpy(out + o, rd + i + 1, sl);
			o += sl;
		}
		out[o] = 0;
		if (!strncasecmp(out, "v=spf1", 6) && (out[6] == ' ' || out[6] == 0))
			return 1;
		p += 10 + rdlen;
	}
	return 0;
}

int reg_policy_check(struct wr *w, const struct reg_scope *s, const char *kind, const char *value)
{
	char why[1024];
	int rc;
	if (kind_ok(w, kind))
		return w->rc;
	if (!value)
		return wr_fail(w, DNSD_EINVAL, kind, "no %s value given", kind);
	if (!strcmp(kind, "spf")) {
		struct spf_lookup l = {.w = w, .value = value};
		l.tenant = s->tenant_id;
		l.domain = s->domain_id;
		const char *zf = w->conf.zone_file;
		if (zf && zone_load(zf, w->zone, w->zone, &l.zf, l.err, sizeof(l.err)))
			return wr_fail(w, DNSD_EIO, NULL, "%s", l.err);
		l.err[0] = 0;
		int lookups = 0;
		rc = policy_spf_check(value, w->zone, spf_lookup_fn, &l, &lookups, why,
				      sizeof(why));
		db_zone_free(l.zf);
		if (w->rc)
			return w->rc;
		if (rc && l.err[0])
			return wr_fail(w, DNSD_EIO, NULL, "%s", l.err);
	} else if (!strcmp(kind, "mx")) {
		rc = policy_mx_check(value, why, sizeof(why));
	} else {
		rc = policy_dmarc_check(value, why, sizeof(why));
	}
	if (rc)
		return wr_fail(w, DNSD_EINVAL, kind, "%s; nothing was changed", why);
	return 0;
}

static void policy_delete(struct wr *w, const struct reg_scope *s, const char *kind)
{
	wr_run(w, wr_q(w,
		       "DELETE FROM policies WHERE kind = ? AND ifnull(tenant_id, 0) = ? AND "
		       "ifnull(domain_id, 0) = ?",
		       "sii", kind, s->tenant_id, s->domain_id));
}

int reg_policy_set(struct wr *w, const struct reg_scope *s, const char *kind, const char *value)
{
	if (reg_policy_check(w, s, kind, value) || wr_begin(w))
		return w->rc;
	policy_delete(w, s, kind);
	sqlite3_stmt *st = wr_prep(w, "INSERT INTO policies(tenant_id, domain_id, kind, value, "
				      "updated_at) VALUES (nullif(?, 0), nullif(?, 0), ?, ?, ?)");
	if (st) {
		sqlite3_bind_int64(st, 1, s->tenant_id);
		sqlite3_bind_int64(st, 2, s->domain_id);
		sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, value, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, store_now());
	}
	wr_run(w, st);
	return wr_commit(w);
}

int reg_policy_unset(struct wr *w, const struct reg_scope *s, const char *kind, int *was_set)
{
	*was_set = 0;
	if (kind_ok(w, kind) || wr_begin(w))
		return w->rc;
	policy_delete(w, s, kind);
	if (!w->rc)
		*was_set = sqlite3_changes(w->db) > 0;
	return wr_commit(w);
}

int reg_policy_get(struct wr *w, const struct reg_scope *s, const char *kind, char **own,
		   char **effective)
{
	*own = *effective = NULL;
	if (kind_ok(w, kind))
		return w->rc;
	*own = wr_text(w, wr_q(w,
			       "SELECT value FROM policies WHERE kind = ? AND ifnull(tenant_id, 0) "
			       "= ? AND ifnull(domain_id, 0) = ?",
			       "sii", kind, s->tenant_id, s->domain_id));
	if (s->domain_id)
		*effective = reg_policy_effective(w, s->domain_id, s->domain_tenant, kind);
	else if (s->tenant_id)
		*effective = reg_policy_effective(w, -1, s->tenant_id, kind);
	else if (*own && !(*effective = strdup(*own)))
		wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	return w->rc;
}

int reg_policy_put(struct wr *w, const struct reg_scope *s, const char *spf, const char *mx,
		   const char *dmarc, int flags)
{
	/* MX and DMARC first, then SPF: an SPF check follows a Return-Path's MX through the
	 * store, which then holds this call's. Clears before sets, for the same reason. */
	static const struct {
		const char *kind;
		int bit;
	} order[] = {{"mx", REG_POLICY_MX}, {"dmarc", REG_POLICY_DMARC}, {"spf", REG_POLICY_SPF}};
	const char *val[] = {mx, dmarc, spf};
	if (wr_begin(w))
		return w->rc;
	for (int set = 0; set < 2; set++)
		for (size_t i = 0; i < 3 && !w->rc; i++) {
			if (!(flags & order[i].bit) || !val[i] != !set)
				continue;
			int was;
			if (set)
				reg_policy_set(w, s, order[i].kind, val[i]);
			else
				reg_policy_unset(w, s, order[i].kind, &was);
		}
	return wr_commit(w);
}

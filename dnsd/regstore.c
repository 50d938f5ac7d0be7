/* regstore: the store as a whole (registry.h): init, which creates or
 * upgrades it for its hosted zone and keeps its settings, and the status
 * counts. */
#include "db.h"
#include "err.h"
#include "names.h"
#include "policy.h"
#include "registry.h"
#include "wire.h"
#include "zone.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The numeric settings init takes: where each is in the input, its range and
 * the value a new store gets. */
static const struct {
	const char *name;
	size_t off;
	long lo, hi;
	const char *def;
} numeric[] = {
#define N(n, lo, hi, def)                                                                          \
	{                                                                                          \
#n, offsetof(struct reg_init_in, n), lo, hi, def                                   \
	}
	N(slots, 2, REG_MAX_SLOTS, "3"),    N(ttl_dkim, 60, 604800, "3600"),
	N(ttl_policy, 60, 604800, "3600"),  N(retention_days, 0, 3650, "7"),
	N(rotation_days, 0, 3650, "180"),   N(rotation_spread_hours, 0, 720, "24"),
	N(key_retention_days, 1, 365, "7"),
#undef N
};

static long num_in(const struct reg_init_in *in, size_t i)
{
	return *(const long *)((const char *)in + numeric[i].off);
}

int reg_init_check(struct wr *w, const struct reg_init_in *in, char *zone, size_t n, int64_t *floor,
		   char *zone_bad, size_t badn)
{
	uint8_t wn[WIRE_MAXNAME];
	const char *z = in->zone ? in->zone : "";
	size_t zl = strlen(z);
	*floor = in->serial;
	zone_bad[0] = 0;
	if (zl == 0 || zl > 200 || wire_name_from_text(z, wn) < 0 ||
	    policy_name_check(z, 1, NULL, 0))
		return wr_fail(w, DNSD_EINVAL, "zone", "invalid zone name '%s'", z);
	snprintf(zone, n, "%s%s", z, z[zl - 1] == '.' ? "" : ".");
	for (char *p = zone; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	if (in->selector_prefix && !names_label(in->selector_prefix, NAMES_PREFIX_MAX))
		return wr_fail(w, DNSD_EINVAL, "selector_prefix",
			       "invalid selector prefix '%s': lowercase letters, digits and "
			       "hyphens, at most %d",
			       in->selector_prefix, NAMES_PREFIX_MAX);
	if (in->return_path && !names_label(in->return_path, 63))
		return wr_fail(w, DNSD_EINVAL, "return_path",
			       "invalid return-path label '%s': one DNS label of letters, digits "
			       "and hyphens",
			       in->return_path);
	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		long v = num_in(in, i);
		if (v != -1 && (v < numeric[i].lo || v > numeric[i].hi))
			return wr_fail(w, DNSD_EINVAL, numeric[i].name,
				       "%s must be from %ld to %ld, not %ld", numeric[i].name,
				       numeric[i].lo, numeric[i].hi, v);
	}
	if (in->serial < 0 || in->serial > 4294967295LL)
		return wr_fail(w, DNSD_EINVAL, "serial", "the serial must be from 1 to 4294967295");
	if (in->ed25519 < -1 || in->ed25519 > 1)
		return wr_fail(w, DNSD_EINVAL, "ed25519", "ed25519 is yes or no");
	/* The serial starts above the zone file's too; a zone file for another
	 * zone is said once the store has said whether it serves another. */
	const char *zf = w->conf.zone_file;
	struct db_zone *dz;
	if (zf && zone_load(zf, zone, zone, &dz, zone_bad, badn) == 0) {
		char apex[300];
		wire_name_to_text(dz->apex, apex, sizeof(apex));
		if ((int64_t)dz->file_serial + 1 > *floor)
			*floor = (int64_t)dz->file_serial + 1;
		db_zone_free(dz);
		if (strcmp(apex, zone))
			snprintf(zone_bad, badn, "zone file %s is for %s, not %s", zf, apex, zone);
	}
	return 0;
}

static void set_setting(struct wr *w, const char *name, const char *value, int only_if_missing)
{
	wr_run(w, wr_q(w,
		       only_if_missing
			       ? "INSERT OR IGNORE INTO settings(name, value) VALUES (?, ?)"
			       : "INSERT INTO settings(name, value) VALUES (?1, ?2) "
				 "ON CONFLICT(name) DO UPDATE SET value = ?2 WHERE value != ?2",
		       "ss", name, value));
	wr_cache_clear(w);
}

/* A setting the store's domains depend on may change only while it has none. */
static void fixed_setting(struct wr *w, const char *name, const char *want, const char *what,
			  const char *quote)
{
	char *cur = store_setting(w->st, name);
	if (want && cur && strcmp(cur, want) &&
	    wr_int(w, wr_q(w, "SELECT count(*) FROM domains", ""), 0))
		wr_fail(w, DNSD_EEXIST, name,
			"the %s is already %s%s%s and domains use it; it cannot change", what,
			quote, cur, quote);
	free(cur);
}

/* Lowering the DKIM TTL: answers given before still sit in caches with the old
 * one, so key activations wait for it until it has run out. */
static void ttl_dkim_hold(struct wr *w, long ttl)
{
	char b1[32], b2[32];
	int64_t old = store_setting_int(w->st, "ttl_dkim", 0), now = store_now();
	int64_t held = store_setting_int(w->st, "ttl_dkim_hold", 0);
	char *hu = store_setting(w->st, "ttl_dkim_hold_until");
	int64_t until = hu ? strtoll(hu, NULL, 10) : 0;
	free(hu);
	if (now >= until)
		held = 0;
	if (old > held)
		held = old;
	if (held > ttl && old != ttl) {
		snprintf(b1, sizeof(b1), "%lld", (long long)held);
		snprintf(b2, sizeof(b2), "%lld", (long long)(now + held));
		set_setting(w, "ttl_dkim_hold", b1, 0);
		set_setting(w, "ttl_dkim_hold_until", b2, 0);
	}
}

int reg_init(struct wr *w, const struct reg_init_in *in)
{
	char zone[300], bad[1400], num[32];
	int64_t floor;
	if (reg_init_check(w, in, zone, sizeof(zone), &floor, bad, sizeof(bad)) || wr_begin(w))
		return w->rc;
	char *cur = store_setting(w->st, "zone");
	if (cur && strcmp(cur, zone))
		wr_fail(w, DNSD_EEXIST, "zone",
			"%s already serves zone %s; one store serves one zone", w->conf.db, cur);
	free(cur);
	if (bad[0])
		wr_fail(w, DNSD_EINVAL, "zone_file", "%s", bad);
	snprintf(num, sizeof(num), "%ld", in->slots);
	fixed_setting(w, "selector_prefix", in->selector_prefix, "selector prefix", "'");
	fixed_setting(w, "slots", in->slots != -1 ? num : NULL, "slot count", "");
	wr_run(w, wr_q(w, "UPDATE serial SET value = max(value, ?) WHERE id = 1", "i", floor));
	set_setting(w, "zone", zone, 1);
	set_setting(w, "selector_prefix", in->selector_prefix ? in->selector_prefix : "dnsd",
		    !in->selector_prefix);
	set_setting(w, "return_path", in->return_path ? in->return_path : "bounce",
		    !in->return_path);
	if (in->ttl_dkim != -1 && !w->rc)
		ttl_dkim_hold(w, in->ttl_dkim);
	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		long v = num_in(in, i);
		snprintf(num, sizeof(num), "%ld", v);
		set_setting(w, numeric[i].name, v != -1 ? num : numeric[i].def, v == -1);
	}
	set_setting(w, "ed25519", in->ed25519 == 1 ? "yes" : "no", in->ed25519 < 0);
	/* Paths and the export command came from the store up to schema 3; a row
	 * there could make a writer run anything. They are never read now: say so
	 * once, by name only (a command may hold secrets), and drop them. */
	static const char *const legacy[] = {"keys_dir", "export_dir", "export_command",
					     "zone_file"};
	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]) && !w->rc; i++) {
		char *v = store_setting(w->st, legacy[i]);
		if (v)
			wr_warn(w,
				"removed the setting %s from the store: directories and commands "
				"come from the config file or the command line only",
				legacy[i]);
		free(v);
		wr_run(w, wr_q(w, "DELETE FROM settings WHERE name = ?", "s", legacy[i]));
	}
	set_setting(w, "journal_max_age_days", "7", 1);
	set_setting(w, "journal_max_rows", "1000000", 1);
	/* The global policies, checked as `spf set` checks them: the SPF's includes inside the
	 * zone are followed, so the zone must be known first. */
	char *was = w->zone;
	if (!w->rc && !(w->zone = strdup(zone))) {
		w->zone = was;
		wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	}
	struct reg_scope global = {.level = "global"};
	const char *const kinds[3] = {"spf", "mx", "dmarc"};
	const char *const values[3] = {in->spf, in->mx, in->dmarc};
	for (int i = 0; i < 3 && !w->rc; i++)
		if (values[i])
			reg_policy_set(w, &global, kinds[i], values[i]);
	if (wr_commit(w)) {
		if (w->zone != was) {
			free(w->zone);
			w->zone = was;
		}
		return w->rc;
	}
	if (w->zone != was)
		free(was);
	return 0;
}

int reg_status(struct wr *w, struct reg_status *s)
{
	static const char *const states[3] = {"active", "published", "retired"};
	*s = (struct reg_status){.schema_version = store_schema_version(w->st),
				 .serial = store_serial(w->st)};
	s->tenants = wr_int(w, wr_q(w, "SELECT count(*) FROM tenants", ""), 0);
	s->domains =
		wr_int(w, wr_q(w, "SELECT count(*) FROM domains WHERE state = 'active'", ""), 0);
	s->keys = wr_int(w, wr_q(w, "SELECT count(*) FROM keys WHERE state != 'revoked'", ""), 0);
	for (int i = 0; i < 3; i++)
		s->keys_in[i] = wr_int(
			w, wr_q(w, "SELECT count(*) FROM keys WHERE state = ?", "s", states[i]), 0);
	s->journal_rows = wr_int(w, wr_q(w, "SELECT count(*) FROM journal", ""), 0);
	/* The name servers as the last check found them (ns check). */
	s->nameservers = wr_int(w, wr_q(w, "SELECT count(*) FROM nameservers", ""), 0);
	s->nameservers_current =
		wr_int(w,
		       wr_q(w,
			    "SELECT count(*) FROM nameservers WHERE serial IS NOT NULL AND (("
			    "serial - (SELECT value FROM serial)) % 4294967296 + 4294967296) % "
			    "4294967296 < 2147483648",
			    ""),
		       0);
	return w->rc;
}

/* dnsdctl: manages the tenant store that dnsd answers from: tenants, customer
 * domains, DKIM keys and policies. Every write is one transaction; slow work (key
 * generation) happens before it opens; a failing command changes nothing. */
#include "apitokenctl.h"
#include "check.h"
#include "commands.h"
#include "ctl.h"
#include "err.h"
#include "registry.h"
#include "store.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- init ---- */

void cmd_init(struct ctx *c)
{
	if (!c->o.zone)
		die_usage("init needs --zone ZONE");
	struct reg_init_in in = {
		.zone = c->o.zone,
		.selector_prefix = c->o.selector_prefix,
		.return_path = c->o.return_path,
		.slots = num_arg(c, c->o.slots, "--slots", 2, MAX_SLOTS, -1),
		.ttl_dkim = num_arg(c, c->o.ttl_dkim, "--ttl-dkim", 60, 604800, -1),
		.ttl_policy = num_arg(c, c->o.ttl_policy, "--ttl-policy", 60, 604800, -1),
		.retention_days = num_arg(c, c->o.retention_days, "--retention-days", 0, 3650, -1),
		.rotation_days = num_arg(c, c->o.rotation_days, "--rotation-days", 0, 3650, -1),
		.rotation_spread_hours = num_arg(c, c->o.rotation_spread_hours,
						 "--rotation-spread-hours", 0, 720, -1),
		.key_retention_days =
			num_arg(c, c->o.key_retention_days, "--key-retention-days", 1, 365, -1),
		.serial = num_arg(c, c->o.serial, "--serial", 1, 4294967295L, 0),
		.ed25519 = yes_no(c, c->o.ed25519, "--ed25519", -1),
		.spf = c->o.spf,
		.mx = c->o.mx,
		.dmarc = c->o.dmarc,
	};
	/* The input and the zone file are judged before the store is opened: a
	 * new store is not made for nothing (but a store that serves another zone
	 * says so first). */
	struct wr pre = {.conf = {.db = c->o.db, .zone_file = c->o.zone_file}};
	char zone[300], bad[1400];
	int64_t floor;
	struct stat sb;
	if (reg_init_check(&pre, &in, zone, sizeof(zone), &floor, bad, sizeof(bad)))
		fail(NULL, "%s", pre.err);
	if (bad[0] && stat(c->o.db, &sb) != 0)
		fail(NULL, "%s", bad);
	open_store(c, 1);
	if (reg_init(&c->w, &in))
		fail(c, "%s", c->w.err);
	if (c->o.json) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "store", c->o.db);
		ctl_jset(v, "zone", zone);
		ctl_jseti(v, "schema_version", store_schema_version(c->st));
		ctl_jseti(v, "serial", store_serial(c->st));
		ctl_print(v);
	} else {
		printf("store %s serves zone %s (schema version %d, serial %lld)\n", c->o.db, zone,
		       store_schema_version(c->st), (long long)store_serial(c->st));
		const char *const kinds[3] = {"spf", "mx", "dmarc"};
		const char *const values[3] = {in.spf, in.mx, in.dmarc};
		for (int i = 0; i < 3; i++)
			if (values[i])
				printf("global %s set: %s\n", kinds[i], shown(values[i]));
	}
}

/* ---- tenants ---- */

struct tenant_out {
	int json, show;
	json_t *all; /* --json: the tenants */
};

static int print_tenant(void *arg, const struct reg_tenant *t)
{
	struct tenant_out *o = arg;
	char tb[32], sb[16];
	const char *pol[3] = {t->spf, t->mx, t->dmarc};
	fmt_time(t->created_at, tb, sizeof(tb));
	if (o->json) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "name", t->name);
		ctl_jset(v, "created", tb);
		ctl_jseti(v, "domains", t->domains);
		ctl_jset(v, "spf", pol[0]);
		ctl_jset(v, "mx", pol[1]);
		ctl_jset(v, "dmarc", pol[2]);
		if (t->slots)
			ctl_jseti(v, "slots", t->slots);
		else
			ctl_jset(v, "slots", NULL);
		ctl_jset(v, "ed25519", t->ed25519 < 0 ? NULL : t->ed25519 ? "yes" : "no");
		ctl_jpush(o->all, v);
	} else if (o->show) {
		printf("tenant:  %s\ncreated: %s\ndomains: %lld\nspf:     %s\nmx:      %s\ndmarc:  "
		       " "
		       "%s\n",
		       shown(t->name), tb, (long long)t->domains,
		       pol[0] ? shown(pol[0]) : "(inherits global)",
		       pol[1] ? shown(pol[1]) : "(inherits global)",
		       pol[2] ? shown(pol[2]) : "(inherits global)");
		snprintf(sb, sizeof(sb), "%d", t->slots);
		printf("slots:   %s\ned25519: %s\n", t->slots ? sb : "(global setting)",
		       t->ed25519 < 0 ? "(global setting)"
		       : t->ed25519   ? "yes"
				      : "no");
	} else {
		printf("%-24s %-8lld %s\n", shown(t->name), (long long)t->domains, tb);
	}
	return 0;
}

void cmd_tenant(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	const char *name = c->o.npos > 2 ? c->o.pos[2] : NULL;
	open_store(c, 0);
	int slots = (int)num_arg(c, c->o.slots, "--slots", 2, MAX_SLOTS, 0);
	int ed = yes_no(c, c->o.ed25519, "--ed25519", -1);
	if (!strcmp(sub, "add")) {
		if (!name)
			die_usage("tenant add NAME");
		if (reg_tenant_add(&c->w, name, slots, ed))
			fail(c, "%s", c->w.err);
		printf("tenant %s added\n", name);
	} else if (!strcmp(sub, "set")) {
		if (!name || (!c->o.slots && !c->o.ed25519))
			die_usage("tenant set NAME [--slots N] [--ed25519 yes|no]");
		if (reg_tenant_set(&c->w, name, slots, ed))
			fail(c, "%s", c->w.err);
		printf("tenant %s: its new domains get %s%s%s (domains already added keep their "
		       "slots)\n",
		       name, slots ? "" : "the default number of slots", slots ? c->o.slots : "",
		       ed < 0 ? ""
		       : ed   ? ", with the Ed25519 pair"
			      : ", without the Ed25519 pair");
	} else if (!strcmp(sub, "remove")) {
		if (!name)
			die_usage("tenant remove NAME");
		if (reg_tenant_remove(&c->w, name))
			fail(c, "%s", c->w.err);
		printf("tenant %s removed\n", name);
	} else if (!strcmp(sub, "list") || !strcmp(sub, "show")) {
		struct tenant_out o = {.json = c->o.json, .show = !strcmp(sub, "show")};
		if (o.show && !name)
			die_usage("tenant show NAME");
		if (o.json)
			o.all = ctl_jarr();
		else if (!o.show)
			printf("%-24s %-8s %s\n", "TENANT", "DOMAINS", "CREATED");
		if (reg_tenant_list(&c->w, o.show ? name : NULL, print_tenant, &o))
			fail(c, "%s", c->w.err);
		if (o.json && o.show && json_array_size(o.all))
			ctl_print(json_incref(json_array_get(o.all, 0)));
		else if (o.json && !o.show)
			ctl_print(json_incref(o.all));
		json_decref(o.all);
	} else {
		die_usage("tenant add|set|list|show|remove");
	}
}

/* ---- policies ---- */

void cmd_policy(struct ctx *c)
{
	const char *kind = c->o.pos[0];
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	struct reg_scope s;
	open_store(c, 0);
	if (c->o.tenant && c->o.domain)
		die_usage("give --tenant or --domain, not both");
	if (reg_policy_scope(&c->w, c->o.tenant, c->o.domain, &s))
		fail(c, "%s", c->w.err);
	const char *who = s.who, *level = s.level;
	if (!strcmp(sub, "set")) {
		if (c->o.npos != 3)
			die_usage("%s set VALUE (quote it)", kind);
		const char *v = c->o.pos[2];
		if (reg_policy_set(&c->w, &s, kind, v))
			fail(c, "%s", c->w.err);
		printf("%s %s%s%s set: %s\n", level, who, *who ? " " : "", kind, v);
	} else if (!strcmp(sub, "unset")) {
		int ch;
		if (reg_policy_unset(&c->w, &s, kind, &ch))
			fail(c, "%s", c->w.err);
		printf(ch ? "%s %s%s%s unset\n" : "%s %s%s%s was not set\n", level, who,
		       *who ? " " : "", kind);
	} else if (!strcmp(sub, "show")) {
		char *own, *eff;
		if (reg_policy_get(&c->w, &s, kind, &own, &eff))
			fail(c, "%s", c->w.err);
		if (c->o.json) {
			json_t *v = ctl_jobj();
			ctl_jset(v, "kind", kind);
			ctl_jset(v, "level", level);
			if (*who)
				ctl_jset(v, level, who);
			ctl_jset(v, "value", own);
			ctl_jset(v, "effective", eff);
			ctl_print(v);
		} else {
			printf("%s (%s%s%s): %s\n", kind, level, *who ? " " : "", shown(who),
			       own ? shown(own) : "(not set here)");
			if (level[0] != 'g')
				printf("effective: %s\n", eff ? shown(eff) : "(none)");
		}
		free(own);
		free(eff);
	} else {
		die_usage("%s set|unset|show", kind);
	}
}

/* ---- domains ---- */

/* Says on stderr, after the records (stdout flushed first), each name the customer would point
 * at an empty answer. */
static void warn_dangling(const struct reg_dangling *dg, int n)
{
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int key = !strcmp(dg[i].missing, "key");
		const char *what = key				   ? "DKIM key"
				   : !strcmp(dg[i].missing, "spf") ? "SPF record"
				   : !strcmp(dg[i].missing, "mx")  ? "MX record"
								   : "DMARC record";
		fprintf(stderr, "dnsdctl: warning: %s -> %s answers no %s yet: %s; run '%s'\n",
			shown(dg[i].name), shown(dg[i].target), what,
			key ? "its role has no active key" : "no such policy is in force",
			dg[i].fix);
	}
}

static void print_records(struct ctx *c, const struct reg_domain *d, const char *format)
{
	struct reg_record r[REG_MAX_RECORDS];
	struct reg_dangling dg[REG_MAX_DANGLING];
	int n, ttl, ndg;
	if (reg_domain_records(&c->w, d, r, &n, &ttl) || reg_domain_dangling(&c->w, d, dg, &ndg))
		fail(c, "%s", c->w.err);

	if (!strcmp(format, "json")) {
		json_t *v = ctl_jobj(), *recs = ctl_jarr();
		ctl_jset(v, "domain", d->name);
		ctl_jset(v, "tenant", d->tenant);
		ctl_jset(v, "token", d->token);
		ctl_jset(v, "state", d->state);
		ctl_jsetv(v, "records", recs);
		for (int i = 0; i < n; i++) {
			json_t *rec = ctl_jobj(), *ways = ctl_jarr();
			ctl_jset(rec, "type", "CNAME");
			ctl_jset(rec, "name", r[i].name);
			ctl_jset(rec, "value", r[i].value);
			ctl_jset(rec, "purpose", r[i].purpose);
			ctl_jsetv(rec, "optional", json_boolean(r[i].optional));
			/* The ways of sending (dnsdctl check) each record is needed for. */
			if (!strcmp(r[i].purpose, "dkim") || !strcmp(r[i].purpose, "return-path"))
				ctl_jpush(ways, json_string("fully-aligned"));
			if (!strcmp(r[i].purpose, "dkim"))
				ctl_jpush(ways, json_string("dkim-aligned"));
			ctl_jsetv(rec, "needed_for", ways);
			ctl_jpush(recs, rec);
		}
		json_t *warns = ctl_jarr();
		for (int i = 0; i < ndg; i++) {
			json_t *g = ctl_jobj();
			ctl_jset(g, "name", dg[i].name);
			ctl_jset(g, "target", dg[i].target);
			ctl_jset(g, "purpose", dg[i].purpose);
			ctl_jset(g, "missing", dg[i].missing);
			ctl_jset(g, "fix", dg[i].fix);
			ctl_jpush(warns, g);
		}
		ctl_jsetv(v, "warnings", warns);
		ctl_print(v);
		return;
	} else if (!strcmp(format, "zone")) {
		printf("; records for %s to add once at its DNS host (dnsd token %s)\n", d->name,
		       d->token);
		for (int i = 0; i < n; i++)
			printf("%s%s %d IN CNAME %s\n",
			       r[i].optional ? "; optional, replaces any _dmarc TXT:\n" : "",
			       r[i].name, ttl, r[i].value);
	} else {
		printf("Add these records to the DNS of %s, once:\n\n", d->name);
		printf("%-6s %-48s %s\n", "TYPE", "NAME", "VALUE");
		for (int i = 0; i < n; i++)
			printf("%-6s %-48s %s%s\n", "CNAME", r[i].name, r[i].value,
			       r[i].optional ? "   (optional: hosted DMARC; remove any _dmarc TXT first)" : "");
		int policy_gap = 0;
		for (int i = 0; i < ndg; i++)
			policy_gap |= strcmp(dg[i].missing, "key") != 0;
		if (policy_gap)
			printf("\nThe DKIM keys behind them are then managed for you. Not every name answers yet:\n"
			       "the platform has still to set the policies the warnings name (dnsdctl spf set,\n"
			       "mx set, dmarc set); until then those records point at an empty answer.\n");
		else if (ndg)
			printf("\nThe SPF, MX and DMARC policies behind them are then managed for you. Some DKIM\n"
			       "selectors answer no key yet: see the warnings.\n");
		else
			printf("\nThe DKIM keys and the SPF, MX and DMARC policies behind them are then managed for\n"
			       "you.\n");
		printf("The DKIM records let mail From %s pass DMARC on DKIM; with the Return-Path record too it\n"
		       "is fully aligned (SPF as well). Until the DKIM records are in place, mail is sent From the\n"
		       "platform's own domain with your name as the sender's name. Your provider's check says\n"
		       "which way holds now.\n",
		       shown(d->name));
	}
	warn_dangling(dg, ndg);
}

static void cmd_domain_add(struct ctx *c)
{
	if (c->o.npos != 3)
		die_usage("domain add DOMAIN --tenant NAME");
	if (!c->o.tenant)
		die_usage("domain add needs --tenant NAME");
	const char *format = c->o.format ? c->o.format : (c->o.json ? "json" : "table");
	if (strcmp(format, "table") && strcmp(format, "zone") && strcmp(format, "json"))
		die_usage("--format is table, zone or json");
	struct reg_domain_in in = {
		.name = c->o.pos[2],
		.tenant = c->o.tenant,
		.token = c->o.token,
		.return_path = c->o.return_path,
		.slots = (int)num_arg(c, c->o.slots, "--slots", 2, MAX_SLOTS, 0),
		.ed25519 = yes_no(c, c->o.ed25519, "--ed25519", -1),
		.algorithm = c->o.algorithm,
		.key_file = c->o.key,
		.cause = "domain add",
	};
	struct reg_domain d;
	open_store(c, 0);
	if (reg_domain_add(&c->w, &in, &d))
		fail(c, "%s", c->w.err);
	int st = export_refresh(c, &(int){0});
	print_records(c, &d, format);
	if (st)
		exit(st);
}

static void cmd_domain_remove(struct ctx *c)
{
	struct reg_domain d;
	if (c->o.npos != 3)
		die_usage("domain remove DOMAIN");
	open_store(c, 0);
	if (reg_domain_remove(&c->w, c->o.pos[2], &d))
		fail(c, "%s", c->w.err);
	int st = export_refresh(c, &(int){0});
	int days = store_setting_int(c->st, "retention_days", 7);
	printf("domain %s removed: its DKIM names answer a revoked key (p=) for %d day(s), then "
	       "NXDOMAIN (after 'dnsdctl maintain'); token %s is never reused\n",
	       d.name, days, d.token);
	if (st)
		exit(st);
}

static int print_domain(void *arg, const struct reg_domain *d)
{
	json_t *all = arg; /* --json: the domains; else NULL */
	char tb[32];
	fmt_time(d->created_at, tb, sizeof(tb));
	if (all) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "domain", d->name);
		ctl_jset(v, "tenant", d->tenant);
		ctl_jset(v, "token", d->token);
		ctl_jset(v, "state", d->state);
		ctl_jset(v, "created", tb);
		ctl_jpush(all, v);
	} else {
		printf("%-40s %-20s %-17s %-8s %s\n", shown(d->name), shown(d->tenant),
		       shown(d->token), shown(d->state), tb);
	}
	return 0;
}

static void cmd_domain_list(struct ctx *c)
{
	struct reg_filter f = {.tenant = c->o.tenant};
	open_store(c, 0);
	if (c->o.tenant && !reg_tenant_id(&c->w, c->o.tenant, 1))
		fail(c, "%s", c->w.err);
	json_t *all = c->o.json ? ctl_jarr() : NULL;
	if (!all)
		printf("%-40s %-20s %-17s %-8s %s\n", "DOMAIN", "TENANT", "TOKEN", "STATE",
		       "CREATED");
	if (reg_domain_list(&c->w, &f, print_domain, all))
		fail(c, "%s", c->w.err);
	if (all)
		ctl_print(all);
}

struct slot_out {
	json_t *all; /* --json: the slots; else NULL */
	int ineligible;
};

static int print_slot(void *arg, const struct reg_slot *s)
{
	struct slot_out *o = arg;
	char tb[32];
	if (o->all) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "selector", s->selector);
		ctl_jset(v, "role", s->role);
		ctl_jseti(v, "eligible", s->eligible);
		ctl_jset(v, "algorithm", s->algorithm);
		ctl_jset(v, "state", s->state ? s->state : "empty");
		ctl_jset(v, "activated",
			 s->activated_at ? fmt_time(s->activated_at, tb, sizeof(tb)) : NULL);
		ctl_jset(v, "private_key", s->private_ref);
		ctl_jpush(o->all, v);
	} else {
		char st2[32];
		snprintf(st2, sizeof(st2), "%s%s", s->state ? s->state : "empty",
			 s->eligible ? "" : "*");
		printf("%-10s %-8s %-9s %-10s %-21s %s\n", shown(s->selector), shown(s->role),
		       s->algorithm ? shown(s->algorithm) : "-", st2,
		       fmt_time(s->activated_at, tb, sizeof(tb)),
		       s->private_ref ? shown(s->private_ref) : "-");
	}
	o->ineligible += !s->eligible;
	return 0;
}

static void cmd_domain_show(struct ctx *c)
{
	struct reg_domain d;
	char tb[32], tb2[32];
	if (c->o.npos != 3)
		die_usage("domain show DOMAIN");
	open_store(c, 0);
	if (reg_domain_need(&c->w, c->o.pos[2], &d, 1))
		fail(c, "%s", c->w.err);
	char *pol[3];
	const char *kinds[3] = {"spf", "mx", "dmarc"};
	for (int i = 0; i < 3; i++)
		pol[i] = d.state[0] == 'a'
				 ? reg_policy_effective(&c->w, d.id, d.tenant_id, kinds[i])
				 : NULL;
	ctl_check(c);
	json_t *v = NULL;
	struct slot_out o = {0};
	if (c->o.json) {
		v = ctl_jobj();
		ctl_jset(v, "domain", d.name);
		ctl_jset(v, "tenant", d.tenant);
		ctl_jset(v, "token", d.token);
		ctl_jset(v, "state", d.state);
		ctl_jset(v, "return_path", d.rp);
		ctl_jset(v, "created", fmt_time(d.created_at, tb, sizeof(tb)));
		ctl_jset(v, "removed",
			 d.removed_at ? fmt_time(d.removed_at, tb2, sizeof(tb2)) : NULL);
		for (int i = 0; i < 3; i++)
			ctl_jset(v, kinds[i], pol[i]);
		o.all = ctl_jarr();
		ctl_jsetv(v, "slots", o.all);
	} else {
		printf("domain:      %s\ntenant:      %s\ntoken:       %s\nstate:       "
		       "%s\nreturn-path: %s.%s\ncreated:     %s\n",
		       shown(d.name), shown(d.tenant), shown(d.token), shown(d.state), shown(d.rp),
		       shown(d.name), fmt_time(d.created_at, tb, sizeof(tb)));
		if (d.removed_at)
			printf("removed:     %s\n", fmt_time(d.removed_at, tb, sizeof(tb)));
		for (int i = 0; i < 3; i++)
			printf("%-12s %s\n",
			       i == 0	? "spf:"
			       : i == 1 ? "mx:"
					: "dmarc:",
			       pol[i] ? shown(pol[i]) : "(none)");
		printf("%-10s %-8s %-9s %-10s %-21s %s\n", "SELECTOR", "ROLE", "KEY", "STATE",
		       "ACTIVE SINCE", "PRIVATE KEY");
	}
	if (reg_domain_slots(&c->w, d.id, print_slot, &o))
		fail(c, "%s", c->w.err);
	if (v)
		ctl_print(v);
	else if (o.ineligible)
		printf("* not eligible: no new key becomes active there ('dnsdctl slot set')\n");
	for (int i = 0; i < 3; i++)
		free(pol[i]);
}

struct history_out {
	json_t *events, *checks; /* --json: the two lists; else NULL */
	int first, check;	 /* check: the check events have begun */
};

static int print_event(void *arg, const struct reg_event *e)
{
	struct history_out *o = arg;
	char tb[32];
	const char *when = fmt_time(e->at, tb, sizeof(tb));
	const char *name = e->name && *e->name ? e->name : NULL;
	const char *outcome = e->outcome && *e->outcome ? e->outcome : NULL;
	if (e->check && !o->check)
		o->check = o->first = 1;
	if (o->events) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "time", when);
		ctl_jset(v, "event", e->event);
		if (e->check) {
			ctl_jset(v, "record", name);
			ctl_jset(v, "outcome", outcome);
		} else {
			ctl_jset(v, "selector", e->selector);
			ctl_jset(v, "algorithm", e->algorithm);
			ctl_jseti(v, "key_id", e->key_id);
		}
		ctl_jset(v, "cause", e->cause);
		ctl_jpush(e->check ? o->checks : o->events, v);
	} else if (e->check) {
		if (o->first)
			printf("\n%-21s %-10s %-40s %s\n", "TIME", "CHECK", "RECORD", "CAUSE");
		printf("%-21s %-10s %-40s %s\n", when, shown(e->event),
		       name ? shown(name) : "(the domain)", shown(e->cause));
	} else {
		printf("%-21s %-10s %-9s %-9s %-6lld %s\n", when, shown(e->event),
		       shown(e->selector), shown(e->algorithm), (long long)e->key_id,
		       shown(e->cause));
	}
	o->first = 0;
	return 0;
}

/* domain history DOMAIN: every key event, then every check event, oldest first. */
static void cmd_domain_history(struct ctx *c)
{
	struct reg_domain d;
	if (c->o.npos != 3)
		die_usage("domain history DOMAIN");
	open_store(c, 0);
	if (reg_domain_need(&c->w, c->o.pos[2], &d, 1))
		fail(c, "%s", c->w.err);
	struct history_out o = {.first = 1};
	json_t *v = NULL;
	if (c->o.json) {
		v = ctl_jobj();
		ctl_jset(v, "domain", d.name);
		ctl_jsetv(v, "events", o.events = ctl_jarr());
		ctl_jsetv(v, "checks", o.checks = ctl_jarr());
	} else {
		printf("%-21s %-10s %-9s %-9s %-6s %s\n", "TIME", "EVENT", "SELECTOR", "KEY", "ID",
		       "CAUSE");
	}
	if (reg_domain_history(&c->w, d.id, print_event, &o))
		fail(c, "%s", c->w.err);
	if (v)
		ctl_print(v);
}

void cmd_domain(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!strcmp(sub, "add"))
		cmd_domain_add(c);
	else if (!strcmp(sub, "remove"))
		cmd_domain_remove(c);
	else if (!strcmp(sub, "list"))
		cmd_domain_list(c);
	else if (!strcmp(sub, "show"))
		cmd_domain_show(c);
	else if (!strcmp(sub, "history"))
		cmd_domain_history(c);
	else if (!strcmp(sub, "records")) {
		struct reg_domain d;
		if (c->o.npos != 3)
			die_usage("domain records DOMAIN");
		const char *format = c->o.format ? c->o.format : (c->o.json ? "json" : "table");
		if (strcmp(format, "table") && strcmp(format, "zone") && strcmp(format, "json"))
			die_usage("--format is table, zone or json");
		open_store(c, 0);
		if (reg_domain_need(&c->w, c->o.pos[2], &d, 0))
			fail(c, "%s", c->w.err);
		print_records(c, &d, format);
	} else
		die_usage("domain add|list|show|records|history|remove");
}

void cmd_status(struct ctx *c)
{
	static const char *const states[3] = {"active", "published", "retired"};
	static const char *const dangling_kind[REG_DANGLING_KINDS] = {"spf", "mx", "dmarc", "key"};
	static const char *const dangling_text[REG_DANGLING_KINDS] = {
		"no SPF policy in force", "no MX policy in force", "no DMARC policy in force",
		"a key role with no active key"};
	static const char *const dangling_name[REG_DANGLING_KINDS] = {
		"Return-Path answers no SPF", "Return-Path answers no MX", "_dmarc answers nothing",
		"DKIM selectors answer no key"};
	static const char *const dangling_fix[REG_DANGLING_KINDS] = {
		"run 'dnsdctl spf set'", "run 'dnsdctl mx set'", "run 'dnsdctl dmarc set'",
		"see 'dnsdctl key list'"};
	struct reg_status s;
	struct reg_dangling_sum dg;
	open_store(c, 0);
	if (reg_status(&c->w, &s) || reg_dangling_summary(&c->w, &dg))
		fail(c, "%s", c->w.err);
	if (c->o.json) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "store", c->o.db);
		ctl_jset(v, "zone", c->zone);
		ctl_jseti(v, "schema_version", s.schema_version);
		ctl_jseti(v, "serial", s.serial);
		ctl_jseti(v, "tenants", s.tenants);
		ctl_jseti(v, "domains", s.domains);
		ctl_jseti(v, "keys", s.keys);
		for (int i = 0; i < 3; i++) {
			char k[32];
			snprintf(k, sizeof(k), "keys_%s", states[i]);
			ctl_jseti(v, k, s.keys_in[i]);
		}
		ctl_jseti(v, "journal_rows", s.journal_rows);
		ctl_jseti(v, "nameservers", s.nameservers);
		ctl_jseti(v, "nameservers_current", s.nameservers_current);
		json_t *warns = ctl_jarr();
		for (int k = 0; k < REG_DANGLING_KINDS; k++) {
			if (!dg.count[k])
				continue;
			json_t *g = ctl_jobj(), *first = ctl_jarr();
			ctl_jset(g, "missing", dangling_kind[k]);
			ctl_jseti(g, "domains", dg.count[k]);
			for (int i = 0; i < REG_DANGLING_FIRST && dg.first[k][i][0]; i++)
				ctl_jpush(first, json_string(dg.first[k][i]));
			ctl_jsetv(g, "first", first);
			ctl_jpush(warns, g);
		}
		ctl_jsetv(v, "warnings", warns);
		ctl_print(v);
	} else {
		printf("store:   %s (schema %d)\nzone:    %s\nserial:  %lld\ntenants: "
		       "%lld\ndomains: "
		       "%lld\nkeys:    %lld in DNS (%lld active, %lld published and waiting, %lld "
		       "retired)\njournal: %lld rows\n",
		       c->o.db, s.schema_version, c->zone, (long long)s.serial,
		       (long long)s.tenants, (long long)s.domains, (long long)s.keys,
		       (long long)s.keys_in[0], (long long)s.keys_in[1], (long long)s.keys_in[2],
		       (long long)s.journal_rows);
		if (s.nameservers)
			printf("name servers: %lld, %lld serving the store's serial at their last "
			       "check ('dnsdctl ns list')\n",
			       (long long)s.nameservers, (long long)s.nameservers_current);
		for (int k = 0; k < REG_DANGLING_KINDS; k++) {
			if (!dg.count[k])
				continue;
			printf("warning: %s: %lld domain(s)' %s (", dangling_text[k],
			       (long long)dg.count[k], dangling_name[k]);
			for (int i = 0; i < REG_DANGLING_FIRST && dg.first[k][i][0]; i++)
				printf("%s%s", i ? ", " : "", shown(dg.first[k][i]));
			printf("%s); %s\n", dg.count[k] > REG_DANGLING_FIRST ? ", ..." : "",
			       dangling_fix[k]);
		}
	}
}

int main(int argc, char **argv)
{
	static struct ctx c;
	ctl_guard_output();
	const struct ctl_cmd *cmd = ctl_parse(&c.o, argc, argv);
	ctl_json = c.o.json;
	cmd->fn(&c);
	if (fflush(stdout) || ferror(stdout))
		fail(NULL, "cannot write the output: %s", strerror(errno));
	wr_close(&c.w);
	return 0;
}

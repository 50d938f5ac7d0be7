/* dnsdctl: manages the tenant store that dnsd answers from: tenants, customer
 * domains, DKIM keys and policies. Every write is one transaction; slow work (key
 * generation) happens before it opens; a failing command changes nothing. */
#include "apitokenctl.h"
#include "check.h"
#include "ctl.h"
#include "err.h"
#include "registry.h"
#include "store.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(void)
{
	printf("usage: dnsdctl [--config FILE] --db DB [--keys DIR] [--zone-file FILE]\n"
	       "               [--export-dir DIR] [--export-command CMD] COMMAND ...\n"
	       "\n"
	       "Manages the store dnsd answers from. Read commands take --json.\n"
	       "\n"
	       "  init --zone Z [--selector-prefix P] [--slots N] [--return-path LABEL]\n"
	       "       [--ttl-dkim S] [--ttl-policy S] [--retention-days D] [--serial N]\n"
	       "       [--rotation-days D] [--rotation-spread-hours H] [--key-retention-days D]\n"
	       "       [--ed25519 yes|no] [--spf V] [--mx \"PREF HOST\"] [--dmarc V]\n"
	       "                                create or upgrade the store for hosted zone Z;\n"
	       "                                --spf, --mx, --dmarc: the global policies, at once\n"
	       "  tenant add NAME [--slots N] [--ed25519 yes|no] | set NAME [--slots N] [--ed25519 yes|no]\n"
	       "  tenant list | show NAME | remove NAME\n"
	       "  domain add DOMAIN --tenant NAME [--algorithm rsa-2048|rsa-3072|rsa-4096|ed25519]\n"
	       "         [--slots N] [--ed25519 yes|no] [--token T] [--return-path LABEL]\n"
	       "         [--key PEM] [--format table|zone|json]\n"
	       "                                --key: the first key is this private key (copied)\n"
	       "  domain list [--tenant NAME] | show DOMAIN | records DOMAIN [--format table|zone|json]\n"
	       "  domain remove DOMAIN          revoke its keys; its names go after the retention period\n"
	       "  domain history DOMAIN         every key event (generated, published, activated, ...)\n"
	       "                                and every change dnsdctl check found\n"
	       "  key list DOMAIN               every key the domain had: state and dates\n"
	       "  key rotate DOMAIN [--role main|ed25519] [--algorithm A]\n"
	       "                                publish a new key now; the job activates it after the hold\n"
	       "  key rotate --all [--older-than DAYS] [--over HOURS] [--tenant NAME]\n"
	       "                                schedule rotations spread over the window\n"
	       "  key revoke DOMAIN SELECTOR [--reason TEXT]\n"
	       "                                emergency: revoke now, a replacement signs at once\n"
	       "  key import DOMAIN --file PEM [--selector SEL] [--active yes|no]\n"
	       "  slot set DOMAIN SELECTOR --eligible yes|no\n"
	       "  ns add NAME ADDRESS[:PORT] | ns list | ns check | ns remove NAME\n"
	       "                                the zone's name servers: keys activate once all serve them\n"
	       "  export                        rewrite the signer's exports now (if changed)\n"
	       "  import FILE.csv [--tenant NAME]\n"
	       "                                many domains with their existing keys, in one batch; columns:\n"
	       "                                domain,tenant,algorithm,public_key,private_key,token,return_path\n"
	       "  spf set VALUE [--tenant NAME | --domain DOMAIN]   (no --tenant/--domain: global)\n"
	       "  mx set \"PREF HOST[, PREF HOST]\" [--tenant NAME | --domain DOMAIN]\n"
	       "  dmarc set VALUE [--tenant NAME | --domain DOMAIN]\n"
	       "  spf|mx|dmarc unset|show [--tenant NAME | --domain DOMAIN]\n"
	       "  maintain [--max-keys N] [--metrics-file PATH]\n"
	       "                                the job (run by dnsd-maintain.timer): revoke, activate and\n"
	       "                                publish due keys in one batch, purge removed domains,\n"
	       "                                rewrite the exports; --metrics-file: leave the run's\n"
	       "                                figures there for node_exporter's textfile collector\n"
	       "  check DOMAIN [--resolver ADDR[:PORT]] [--json]\n"
	       "                                look the customer's records up through a recursive\n"
	       "                                resolver (default: /etc/resolv.conf's): what is wrong\n"
	       "                                and how to fix it, and the way of sending safe now;\n"
	       "                                keeps each record's state (pending, verified, drifted)\n"
	       "                                and makes a DKIM slot eligible only while it is in place\n"
	       "  check --all [--resolver ADDR[:PORT]] [--concurrency N] [--rate N] [--max-domains N]\n"
	       "                                the domains that are due (run by dnsd-check.timer):\n"
	       "                                N at a time (32), N domains a second at most (20),\n"
	       "                                N domains a run at most (10000); lists what changed\n"
	       "  domain-connect template --provider-id ID [--provider-name NAME] [--service-id ID]\n"
	       "         [--tenant NAME] [--slots N] [--ed25519 yes|no] [--return-path LABEL]\n"
	       "                                the Domain Connect template of a slot layout (JSON)\n"
	       "  domain-connect apply DOMAIN --provider-id ID [--json]\n"
	       "                                the template and variables that apply DOMAIN's records\n"
	       "  api-token add NAME [--tenant T] | list [--tenant T] | revoke NAME   dnsd-api's tokens\n"
	       "  status                        store, zone, serial, counts\n"
	       "  backup FILE                   a consistent copy of the store (never over a file)\n"
	       "  restore FILE                  put a backup back while dnsd runs: one transaction,\n"
	       "                                the serial moves on; never move a file over a store\n"
	       "\n"
	       "--config FILE    db, keys, zone-file, export-dir, export-command and\n"
	       "                 metrics-file, one\n"
	       "                 \"name value\" a line (default /etc/dnsd/dnsdctl.conf if it\n"
	       "                 exists; DNSDCTL_CONFIG too); the command line wins. It must\n"
	       "                 belong to root or you, and be writable by no one else\n"
	       "--keys DIR       private keys (PEM, mode 0600); default: keys/ beside the store\n"
	       "--zone-file F    the zone file, to check SPF mechanisms pointing inside the zone\n"
	       "--export-dir DIR the signer's exports; default: exports/ beside the store; ''\n"
	       "                 turns them off\n"
	       "--export-command CMD  run by /bin/sh -c after the exports changed\n"
	       "                 Directories and commands never come from the store.\n"
	       "DNSD_DB          the store, when --db is not given\n"
	       "DNSD_NOW      seconds since the epoch: the clock, for tests\n"
	       "\n"
	       "Exit status: 0 done; 1 error (nothing changed); 2 usage; 3 the store change is\n"
	       "committed but the exports or the export command failed; 4 (check) a required\n"
	       "record is not in place.\n");
	exit(0);
}

static void parse(struct opts *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t off;
	} opt[] = {
#define O(n, f) { n, offsetof(struct opts, f) }
		O("--db", db), O("--keys", keys), O("--zone-file", zone_file), O("--format", format),
		O("--tenant", tenant), O("--domain", domain), O("--algorithm", algorithm),
		O("--token", token), O("--return-path", return_path), O("--zone", zone),
		O("--selector-prefix", selector_prefix), O("--slots", slots), O("--ttl-dkim", ttl_dkim),
		O("--ttl-policy", ttl_policy), O("--retention-days", retention_days),
		O("--serial", serial), O("--older-than", older_than), O("--over", over), O("--role", role),
		O("--reason", reason), O("--file", file), O("--selector", selector), O("--active", active),
		O("--eligible", eligible), O("--max-keys", max_keys), O("--ed25519", ed25519),
		O("--rotation-days", rotation_days), O("--rotation-spread-hours", rotation_spread_hours),
		O("--key-retention-days", key_retention_days), O("--export-dir", export_dir),
		O("--export-command", export_command), O("--config", config), O("--resolver", resolver),
		O("--concurrency", concurrency), O("--rate", rate), O("--max-domains", max_domains),
		O("--provider-id", provider_id), O("--provider-name", provider_name), O("--service-id", service_id), O("--key", key),
		O("--metrics-file", metrics_file), O("--spf", spf), O("--mx", mx), O("--dmarc", dmarc),
#undef O
	};
	o->db = getenv("DNSD_DB");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			usage();
		if (!strcmp(a, "--json")) {
			o->json = 1;
			continue;
		}
		if (!strcmp(a, "--all")) {
			o->all = 1;
			continue;
		}
		if (!strncmp(a, "--", 2)) {
			size_t k;
			const char *eq = strchr(a, '=');
			size_t nl = eq ? (size_t)(eq - a) : strlen(a);
			for (k = 0; k < sizeof(opt) / sizeof(opt[0]); k++)
				if (strlen(opt[k].name) == nl && !strncmp(opt[k].name, a, nl))
					break;
			if (k == sizeof(opt) / sizeof(opt[0]))
				die_usage("unknown option %s", a);
			const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v)
				die_usage("option %s needs a value", a);
			*(const char **)((char *)o + opt[k].off) = v;
			continue;
		}
		if (o->npos == 8)
			die_usage("too many arguments");
		o->pos[o->npos++] = a;
	}
	if (!o->npos)
		die_usage("no command");
	ctlconf_load(o);
	if (!o->db)
		die_usage("--db DB is needed (or db in the config file)");
}

/* ---- init ---- */

static void cmd_init(struct ctx *c)
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
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "store", c->o.db);
		json_kv(stdout, &f, "zone", zone);
		json_ki(stdout, &f, "schema_version", store_schema_version(c->st));
		json_ki(stdout, &f, "serial", store_serial(c->st));
		printf("}\n");
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
	int json, show, first;
};

static int print_tenant(void *arg, const struct reg_tenant *t)
{
	struct tenant_out *o = arg;
	char tb[32], sb[16];
	const char *pol[3] = {t->spf, t->mx, t->dmarc};
	fmt_time(t->created_at, tb, sizeof(tb));
	if (o->json) {
		int f = 1;
		printf("%s{", o->first ? "" : ", ");
		json_kv(stdout, &f, "name", t->name);
		json_kv(stdout, &f, "created", tb);
		json_ki(stdout, &f, "domains", t->domains);
		json_kv(stdout, &f, "spf", pol[0]);
		json_kv(stdout, &f, "mx", pol[1]);
		json_kv(stdout, &f, "dmarc", pol[2]);
		if (t->slots)
			json_ki(stdout, &f, "slots", t->slots);
		else
			json_kv(stdout, &f, "slots", NULL);
		json_kv(stdout, &f, "ed25519", t->ed25519 < 0 ? NULL : t->ed25519 ? "yes" : "no");
		printf("}");
	} else if (o->show) {
		printf("tenant:  %s\ncreated: %s\ndomains: %lld\nspf:     %s\nmx:      %s\ndmarc:   "
		       "%s\n",
		       shown(t->name), tb, (long long)t->domains,
		       pol[0] ? shown(pol[0]) : "(inherits global)",
		       pol[1] ? shown(pol[1]) : "(inherits global)",
		       pol[2] ? shown(pol[2]) : "(inherits global)");
		snprintf(sb, sizeof(sb), "%d", t->slots);
		printf("slots:   %s\ned25519: %s\n", t->slots ? sb : "(global setting)",
		       t->ed25519 < 0 ? "(global setting)" : t->ed25519 ? "yes" : "no");
	} else {
		printf("%-24s %-8lld %s\n", shown(t->name), (long long)t->domains, tb);
	}
	o->first = 0;
	return 0;
}

static void cmd_tenant(struct ctx *c)
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
		       ed < 0	? ""
		       : ed	? ", with the Ed25519 pair"
			: ", without the Ed25519 pair");
	} else if (!strcmp(sub, "remove")) {
		if (!name)
			die_usage("tenant remove NAME");
		if (reg_tenant_remove(&c->w, name))
			fail(c, "%s", c->w.err);
		printf("tenant %s removed\n", name);
	} else if (!strcmp(sub, "list") || !strcmp(sub, "show")) {
		struct tenant_out o = {.json = c->o.json, .show = !strcmp(sub, "show"), .first = 1};
		if (o.show && !name)
			die_usage("tenant show NAME");
		if (o.json && !o.show)
			printf("[");
		else if (!o.json && !o.show)
			printf("%-24s %-8s %s\n", "TENANT", "DOMAINS", "CREATED");
		if (reg_tenant_list(&c->w, o.show ? name : NULL, print_tenant, &o))
			fail(c, "%s", c->w.err);
		if (o.json)
			printf(o.show ? "\n" : "]\n");
	} else {
		die_usage("tenant add|set|list|show|remove");
	}
}

/* ---- policies ---- */

static void cmd_policy(struct ctx *c)
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
			int f = 1;
			printf("{");
			json_kv(stdout, &f, "kind", kind);
			json_kv(stdout, &f, "level", level);
			if (*who)
				json_kv(stdout, &f, level, who);
			json_kv(stdout, &f, "value", own);
			json_kv(stdout, &f, "effective", eff);
			printf("}\n");
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
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "domain", d->name);
		json_kv(stdout, &f, "tenant", d->tenant);
		json_kv(stdout, &f, "token", d->token);
		json_kv(stdout, &f, "state", d->state);
		printf(", \"records\": [");
		for (int i = 0; i < n; i++) {
			int g = 1;
			printf("%s{", i ? ", " : "");
			json_kv(stdout, &g, "type", "CNAME");
			json_kv(stdout, &g, "name", r[i].name);
			json_kv(stdout, &g, "value", r[i].value);
			json_kv(stdout, &g, "purpose", r[i].purpose);
			printf(", \"optional\": %s", r[i].optional ? "true" : "false");
			/* The ways of sending (dnsdctl check) each record is needed for. */
			const char *ways = !strcmp(r[i].purpose, "dkim") ? "\"fully-aligned\", \"dkim-aligned\""
					   : !strcmp(r[i].purpose, "return-path") ? "\"fully-aligned\""
										   : "";
			printf(", \"needed_for\": [%s]}", ways);
		}
		printf("], \"warnings\": [");
		for (int i = 0; i < ndg; i++) {
			int g = 1;
			printf("%s{", i ? ", " : "");
			json_kv(stdout, &g, "name", dg[i].name);
			json_kv(stdout, &g, "target", dg[i].target);
			json_kv(stdout, &g, "purpose", dg[i].purpose);
			json_kv(stdout, &g, "missing", dg[i].missing);
			json_kv(stdout, &g, "fix", dg[i].fix);
			printf("}");
		}
		printf("]}\n");
		return;
	} else if (!strcmp(format, "zone")) {
		printf("; records for %s to add once at its DNS host (dnsd token %s)\n", d->name, d->token);
		for (int i = 0; i < n; i++)
			printf("%s%s %d IN CNAME %s\n", r[i].optional ? "; optional, replaces any _dmarc TXT:\n" : "",
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
	int *first = arg, json = first[1];
	char tb[32];
	fmt_time(d->created_at, tb, sizeof(tb));
	if (json) {
		int f = 1;
		printf("%s{", *first ? "" : ", ");
		json_kv(stdout, &f, "domain", d->name);
		json_kv(stdout, &f, "tenant", d->tenant);
		json_kv(stdout, &f, "token", d->token);
		json_kv(stdout, &f, "state", d->state);
		json_kv(stdout, &f, "created", tb);
		printf("}");
	} else {
		printf("%-40s %-20s %-17s %-8s %s\n", shown(d->name), shown(d->tenant),
		       shown(d->token), shown(d->state), tb);
	}
	*first = 0;
	return 0;
}

static void cmd_domain_list(struct ctx *c)
{
	int out[2] = {1, c->o.json};
	struct reg_filter f = {.tenant = c->o.tenant};
	open_store(c, 0);
	if (c->o.tenant)
		tenant_id(c, c->o.tenant, 1);
	if (c->o.json)
		printf("[");
	else
		printf("%-40s %-20s %-17s %-8s %s\n", "DOMAIN", "TENANT", "TOKEN", "STATE",
		       "CREATED");
	if (reg_domain_list(&c->w, &f, print_domain, out))
		fail(c, "%s", c->w.err);
	if (c->o.json)
		printf("]\n");
}

struct slot_out {
	int json, first, ineligible;
};

static int print_slot(void *arg, const struct reg_slot *s)
{
	struct slot_out *o = arg;
	char tb[32];
	if (o->json) {
		int f = 1;
		printf("%s{", o->first ? "" : ", ");
		json_kv(stdout, &f, "selector", s->selector);
		json_kv(stdout, &f, "role", s->role);
		json_ki(stdout, &f, "eligible", s->eligible);
		json_kv(stdout, &f, "algorithm", s->algorithm);
		json_kv(stdout, &f, "state", s->state ? s->state : "empty");
		json_kv(stdout, &f, "activated",
			s->activated_at ? fmt_time(s->activated_at, tb, sizeof(tb)) : NULL);
		json_kv(stdout, &f, "private_key", s->private_ref);
		printf("}");
	} else {
		char st2[32];
		snprintf(st2, sizeof(st2), "%s%s", s->state ? s->state : "empty",
			 s->eligible ? "" : "*");
		printf("%-10s %-8s %-9s %-10s %-21s %s\n", shown(s->selector), shown(s->role),
		       s->algorithm ? shown(s->algorithm) : "-", st2,
		       fmt_time(s->activated_at, tb, sizeof(tb)),
		       s->private_ref ? shown(s->private_ref) : "-");
	}
	o->first = 0;
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
		pol[i] = d.state[0] == 'a' ? reg_policy_effective(&c->w, d.id, d.tenant_id, kinds[i])
					   : NULL;
	ctl_check(c);
	if (c->o.json) {
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "domain", d.name);
		json_kv(stdout, &f, "tenant", d.tenant);
		json_kv(stdout, &f, "token", d.token);
		json_kv(stdout, &f, "state", d.state);
		json_kv(stdout, &f, "return_path", d.rp);
		json_kv(stdout, &f, "created", fmt_time(d.created_at, tb, sizeof(tb)));
		json_kv(stdout, &f, "removed",
			d.removed_at ? fmt_time(d.removed_at, tb2, sizeof(tb2)) : NULL);
		for (int i = 0; i < 3; i++)
			json_kv(stdout, &f, kinds[i], pol[i]);
		printf(", \"slots\": [");
	} else {
		printf("domain:      %s\ntenant:      %s\ntoken:       %s\nstate:       "
		       "%s\nreturn-path: %s.%s\ncreated:     %s\n",
		       shown(d.name), shown(d.tenant), shown(d.token), shown(d.state), shown(d.rp),
		       shown(d.name), fmt_time(d.created_at, tb, sizeof(tb)));
		if (d.removed_at)
			printf("removed:     %s\n", fmt_time(d.removed_at, tb, sizeof(tb)));
		for (int i = 0; i < 3; i++)
			printf("%-12s %s\n", i == 0 ? "spf:" : i == 1 ? "mx:" : "dmarc:",
			       pol[i] ? shown(pol[i]) : "(none)");
		printf("%-10s %-8s %-9s %-10s %-21s %s\n", "SELECTOR", "ROLE", "KEY", "STATE",
		       "ACTIVE SINCE", "PRIVATE KEY");
	}
	struct slot_out o = {.json = c->o.json, .first = 1};
	if (reg_domain_slots(&c->w, d.id, print_slot, &o))
		fail(c, "%s", c->w.err);
	if (c->o.json)
		printf("]}\n");
	else if (o.ineligible)
		printf("* not eligible: no new key becomes active there ('dnsdctl slot set')\n");
	for (int i = 0; i < 3; i++)
		free(pol[i]);
}

struct history_out {
	int json, first, checks; /* checks: the check events have begun */
};

static int print_event(void *arg, const struct reg_event *e)
{
	struct history_out *o = arg;
	char tb[32];
	const char *when = fmt_time(e->at, tb, sizeof(tb));
	const char *name = e->name && *e->name ? e->name : NULL;
	const char *outcome = e->outcome && *e->outcome ? e->outcome : NULL;
	if (e->check && !o->checks) {
		o->checks = o->first = 1;
		if (o->json)
			printf("], \"checks\": [");
	}
	if (o->json) {
		int f = 1;
		printf("%s{", o->first ? "" : ", ");
		json_kv(stdout, &f, "time", when);
		json_kv(stdout, &f, "event", e->event);
		if (e->check) {
			json_kv(stdout, &f, "record", name);
			json_kv(stdout, &f, "outcome", outcome);
		} else {
			json_kv(stdout, &f, "selector", e->selector);
			json_kv(stdout, &f, "algorithm", e->algorithm);
			json_ki(stdout, &f, "key_id", e->key_id);
		}
		json_kv(stdout, &f, "cause", e->cause);
		printf("}");
	} else if (e->check) {
		if (o->first)
			printf("\n%-21s %-10s %-40s %s\n", "TIME", "CHECK", "RECORD", "CAUSE");
		printf("%-21s %-10s %-40s %s\n", when, shown(e->event),
		       name ? shown(name) : "(the domain)", shown(e->cause));
	} else {
		printf("%-21s %-10s %-9s %-9s %-6lld %s\n", when, shown(e->event), shown(e->selector),
		       shown(e->algorithm), (long long)e->key_id, shown(e->cause));
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
	struct history_out o = {.json = c->o.json, .first = 1};
	if (c->o.json) {
		printf("{\"domain\": ");
		json_str(stdout, d.name);
		printf(", \"events\": [");
	} else {
		printf("%-21s %-10s %-9s %-9s %-6s %s\n", "TIME", "EVENT", "SELECTOR", "KEY", "ID",
		       "CAUSE");
	}
	if (reg_domain_history(&c->w, d.id, print_event, &o))
		fail(c, "%s", c->w.err);
	if (c->o.json)
		printf("%s]}\n", o.checks ? "" : "], \"checks\": [");
}

static void cmd_domain(struct ctx *c)
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

static void cmd_status(struct ctx *c)
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
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "store", c->o.db);
		json_kv(stdout, &f, "zone", c->zone);
		json_ki(stdout, &f, "schema_version", s.schema_version);
		json_ki(stdout, &f, "serial", s.serial);
		json_ki(stdout, &f, "tenants", s.tenants);
		json_ki(stdout, &f, "domains", s.domains);
		json_ki(stdout, &f, "keys", s.keys);
		for (int i = 0; i < 3; i++) {
			char k[32];
			snprintf(k, sizeof(k), "keys_%s", states[i]);
			json_ki(stdout, &f, k, s.keys_in[i]);
		}
		json_ki(stdout, &f, "journal_rows", s.journal_rows);
		json_ki(stdout, &f, "nameservers", s.nameservers);
		json_ki(stdout, &f, "nameservers_current", s.nameservers_current);
		printf(", \"warnings\": [");
		for (int k = 0, first = 1; k < REG_DANGLING_KINDS; k++) {
			if (!dg.count[k])
				continue;
			int g = 1;
			printf("%s{", first ? "" : ", ");
			first = 0;
			json_kv(stdout, &g, "missing", dangling_kind[k]);
			json_ki(stdout, &g, "domains", dg.count[k]);
			printf(", \"first\": [");
			for (int i = 0; i < REG_DANGLING_FIRST && dg.first[k][i][0]; i++) {
				printf("%s", i ? ", " : "");
				json_str(stdout, dg.first[k][i]);
			}
			printf("]}");
		}
		printf("]}\n");
	} else {
		printf("store:   %s (schema %d)\nzone:    %s\nserial:  %lld\ntenants: %lld\ndomains: "
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
	parse(&c.o, argc, argv);
	const char *cmd = c.o.pos[0];
	if (!strcmp(cmd, "init"))
		cmd_init(&c);
	else if (!strcmp(cmd, "tenant"))
		cmd_tenant(&c);
	else if (!strcmp(cmd, "domain"))
		cmd_domain(&c);
	else if (!strcmp(cmd, "spf") || !strcmp(cmd, "mx") || !strcmp(cmd, "dmarc"))
		cmd_policy(&c);
	else if (!strcmp(cmd, "key"))
		cmd_key(&c);
	else if (!strcmp(cmd, "backup") || !strcmp(cmd, "restore"))
		cmd_backup_restore(&c);
	else if (!strcmp(cmd, "maintain"))
		cmd_maintain(&c);
	else if (!strcmp(cmd, "slot"))
		cmd_slot(&c);
	else if (!strcmp(cmd, "ns"))
		cmd_ns(&c);
	else if (!strcmp(cmd, "export"))
		cmd_export(&c);
	else if (!strcmp(cmd, "import"))
		cmd_import(&c);
	else if (!strcmp(cmd, "status"))
		cmd_status(&c);
	else if (!strcmp(cmd, "check"))
		cmd_check(&c);
	else if (!strcmp(cmd, "domain-connect"))
		cmd_domain_connect(&c);
	else if (!strcmp(cmd, "api-token"))
		cmd_api_token(&c);
	else
		die_usage("unknown command '%s'", cmd);
	if (fflush(stdout) || ferror(stdout))
		fail(NULL, "cannot write the output: %s", strerror(errno));
	wr_close(&c.w);
	return 0;
}

/* commands: dnsdctl's command table, the command line parsed against it, and
 * the help printed from it. */
#include "commands.h"
#include "apitokenctl.h"
#include "check.h"
#include "version.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- the options ---- */

enum { OPT_VALUE, OPT_FLAG };

struct ctl_opt {
	const char *name; /* with its "--" */
	size_t off;	  /* where it goes in struct opts */
	int kind;	  /* OPT_VALUE: a const char *; OPT_FLAG: an int set to 1 */
	const char *arg;  /* the value's name in usage lines */
	const char *help;
	int global; /* every command takes it */
};

#define V(n, f, a, h)                                                                              \
	{                                                                                          \
		"--" n, offsetof(struct opts, f), OPT_VALUE, a, h, 0                               \
	}
#define G(n, f, a, h)                                                                              \
	{                                                                                          \
		"--" n, offsetof(struct opts, f), OPT_VALUE, a, h, 1                               \
	}
#define F(n, f, h)                                                                                 \
	{                                                                                          \
		"--" n, offsetof(struct opts, f), OPT_FLAG, NULL, h, 0                             \
	}
static const struct ctl_opt opts[] = {
	/* global (G): every command takes these */
	G("config", config, "FILE", "the config file (default /etc/dnsd/dnsdctl.conf)"),
	G("db", db, "DB", "the store (default: $DNSD_DB, or db in the config file)"),
	G("keys", keys, "DIR", "private keys (PEM, mode 0600); default: keys/ beside the store"),
	G("zone-file", zone_file, "FILE", "the zone file, to check SPF mechanisms inside the zone"),
	G("export-dir", export_dir, "DIR",
	  "the signer's exports; default exports/ beside the store; '' turns them off"),
	G("export-command", export_command, "CMD", "run by /bin/sh -c after the exports changed"),
	G("lock-timeout", lock_timeout, "MS",
	  "how long a write waits for another writer's lock (default 5000; 0: not at all)"),
	/* the commands' own */
	F("json", json, "JSON output (errors too)"),
	F("all", all, "every domain that is due"),
	V("format", format, "table|zone|json", "how to print the records"),
	V("tenant", tenant, "NAME", "the tenant"),
	V("domain", domain, "DOMAIN", "the customer domain"),
	V("algorithm", algorithm, "rsa-2048|rsa-3072|rsa-4096|ed25519", "the key algorithm"),
	V("token", token, "T", "the domain's token (default: a new random one)"),
	V("return-path", return_path, "LABEL", "the Return-Path label"),
	V("zone", zone, "ZONE", "the hosted zone"),
	V("selector-prefix", selector_prefix, "P", "DKIM selectors are P1, P2, ..."),
	V("slots", slots, "N", "DKIM slots of a domain (2 to 8)"),
	V("ttl-dkim", ttl_dkim, "S", "TTL of the DKIM records"),
	V("ttl-policy", ttl_policy, "S", "TTL of the SPF, MX and DMARC records"),
	V("retention-days", retention_days, "D", "days a removed domain's names still answer"),
	V("serial", serial, "N", "the zone's first serial"),
	V("rotation-days", rotation_days, "D", "days between key rotations (0: never)"),
	V("rotation-spread-hours", rotation_spread_hours, "H", "rotations spread over H hours"),
	V("key-retention-days", key_retention_days, "D", "days a retired key stays in DNS"),
	V("ed25519", ed25519, "yes|no", "the Ed25519 pair of slots"),
	V("older-than", older_than, "DAYS", "only keys active longer than DAYS"),
	V("over", over, "HOURS", "spread the rotations over HOURS"),
	V("role", role, "main|ed25519", "which slot set to rotate"),
	V("reason", reason, "TEXT", "why, in the key's history"),
	V("file", file, "PEM", "the private key file"),
	V("selector", selector, "SEL", "the slot's selector"),
	V("active", active, "yes|no", "sign with the key at once"),
	V("eligible", eligible, "yes|no", "whether a new key may become active there"),
	V("max-keys", max_keys, "N", "keys one run changes at most"),
	V("metrics-file", metrics_file, "PATH", "write the job's figures there (node exporter)"),
	V("resolver", resolver, "ADDR[:PORT]",
	  "the recursive resolver (default: /etc/resolv.conf's)"),
	V("concurrency", concurrency, "N", "domains checked at a time (32)"),
	V("rate", rate, "N", "domains a second at most (50)"),
	V("max-domains", max_domains, "N", "domains a run at most (10000)"),
	V("provider-id", provider_id, "ID", "the platform's domain name"),
	V("provider-name", provider_name, "NAME", "the platform's name"),
	V("service-id", service_id, "ID", "the template's service id"),
	V("key", key, "PEM", "the first key is this private key (copied)"),
	V("batch", batch, "N", "rows a transaction"),
	F("progress", progress, "print progress"),
	F("no-progress", no_progress, "no progress line"),
	V("spf", spf, "VALUE", "the global SPF policy"),
	V("mx", mx, "VALUE", "the global MX records"),
	V("domains", domains, "A,B,...", "these domains (comma-separated)"),
	V("replace", replace, "yes|no", "give each revoked active key a successor (default yes)"),
	V("dmarc", dmarc, "VALUE", "the global DMARC policy"),
};
#undef V
#undef G
#undef F
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* ---- the commands ---- */

#define POLICY(k, what)                                                                            \
	{k " set",                                                                                 \
	 cmd_policy,                                                                               \
	 "tenant domain",                                                                          \
	 "VALUE",                                                                                  \
	 "set the " what " (global, a tenant's or a domain's)",                                    \
	 "Without --tenant or --domain: the global one."},                                         \
		{k " unset",                                                                       \
		 cmd_policy,                                                                       \
		 "tenant domain",                                                                  \
		 "",                                                                               \
		 "remove the " what " set at that level",                                          \
		 NULL},                                                                            \
	{                                                                                          \
		k " show", cmd_policy, "tenant domain json", "",                                   \
			"the " what " set at that level and the one in effect", NULL               \
	}

const struct ctl_cmd ctl_cmds[] = {
	{"init", cmd_init,
	 "zone selector-prefix slots return-path ttl-dkim ttl-policy retention-days serial "
	 "rotation-days "
	 "rotation-spread-hours key-retention-days ed25519 spf mx dmarc json",
	 "--zone ZONE", "create or upgrade the store for the hosted zone", NULL},
	{"tenant add", cmd_tenant, "slots ed25519", "NAME", "add a tenant", NULL},
	{"tenant set", cmd_tenant, "slots ed25519", "NAME",
	 "change what a tenant's new domains get", NULL},
	{"tenant list", cmd_tenant, "json", "", "every tenant", NULL},
	{"tenant show", cmd_tenant, "json", "NAME", "a tenant and its policies", NULL},
	{"tenant remove", cmd_tenant, "", "NAME", "remove a tenant that has no domains", NULL},
	{"domain add", cmd_domain,
	 "tenant algorithm slots ed25519 token return-path key format json", "DOMAIN --tenant NAME",
	 "add a customer domain: its keys, and the records to give the customer",
	 "--key PEM: the first key is this private key (copied)."},
	{"domain list", cmd_domain, "tenant json", "", "every domain (of a tenant)", NULL},
	{"domain show", cmd_domain, "json", "DOMAIN", "a domain, its policies and its slots", NULL},
	{"domain records", cmd_domain, "format json", "DOMAIN", "the records the customer adds",
	 NULL},
	{"domain history", cmd_domain, "json", "DOMAIN",
	 "every key event (generated, published, ...) and every change check found", NULL},
	{"domain remove", cmd_domain, "", "DOMAIN",
	 "revoke its keys; its names go after the retention period", NULL},
	{"key list", cmd_key, "json", "DOMAIN",
	 "every key the domain had: state, dates and public value", NULL},
	{"key rotate", cmd_key, "all older-than over tenant role algorithm json", "DOMAIN | --all",
	 "publish a new key now; the job activates it after the hold",
	 "With --all: schedule the rotations of every domain (of --tenant, with keys older than\n"
	 "--older-than DAYS) spread over --over HOURS."},
	{"key revoke", cmd_key, "all tenant domains reason replace json",
	 "DOMAIN SELECTOR | --all (--tenant NAME | --domains A,B,... | DOMAIN...)",
	 "emergency: revoke now, a replacement signs at once",
	 "With --all: every live key of the domains, in one commit; each active one is replaced\n"
	 "by a new key at once unless --replace no."},
	{"key import", cmd_key, "file selector active json", "DOMAIN --file PEM",
	 "add an existing private key to a domain", NULL},
	{"key put", cmd_key, "file selector json", "DOMAIN --selector SEL --file PEM",
	 "replace the key of a slot by an existing one, in the same state", NULL},
	{"slot set", cmd_slot, "eligible", "DOMAIN SELECTOR --eligible yes|no",
	 "whether a new key may become active in a slot", NULL},
	{"ns add", cmd_ns, "", "NAME ADDRESS[:PORT]",
	 "a name server of the zone: keys activate once all serve them", NULL},
	{"ns list", cmd_ns, "json", "", "the zone's name servers and the serial each served", NULL},
	{"ns check", cmd_ns, "json", "", "ask each name server its serial now, then list them",
	 NULL},
	{"ns remove", cmd_ns, "", "NAME", "forget a name server", NULL},
	{"export", cmd_export, "", "", "rewrite the signer's exports now (if changed)", NULL},
	{"import", cmd_import, "tenant batch progress no-progress json", "FILE.csv",
	 "many domains with their existing keys: every row checked, then written in batches",
	 "FILE.csv (- for standard input) has the columns\n"
	 "domain,tenant,algorithm,public_key,private_key,token,return_path.\n"
	 "Rows already in the store as given are skipped, so a stopped import is finished by\n"
	 "running it again."},
	POLICY("spf", "SPF policy"),
	POLICY("mx", "MX records (\"PREF HOST[, PREF HOST]\")"),
	POLICY("dmarc", "DMARC policy"),
	{"maintain", cmd_maintain, "max-keys metrics-file json", "",
	 "the job (run by dnsd-maintain.timer): revoke, activate and publish due keys in one "
	 "batch, "
	 "purge removed domains, rewrite the exports",
	 NULL},
	{"check", cmd_check, "all resolver concurrency rate max-domains json", "DOMAIN | --all",
	 "look the customer's records up through a recursive resolver: what is wrong and how to "
	 "fix it",
	 "Keeps each record's state (pending, verified, drifted) and makes a DKIM slot eligible "
	 "only\n"
	 "while it is in place. With --all: the domains that are due (run by dnsd-check.timer)."},
	{"domain-connect template", cmd_domain_connect,
	 "provider-id provider-name service-id tenant slots ed25519 return-path json",
	 "--provider-id ID", "the Domain Connect template of a slot layout (JSON)", NULL},
	{"domain-connect apply", cmd_domain_connect, "provider-id provider-name service-id json",
	 "DOMAIN --provider-id ID", "the template and variables that apply DOMAIN's records", NULL},
	{"api-token add", cmd_api_token, "tenant json", "NAME",
	 "a token for dnsd-api (printed once)", NULL},
	{"api-token list", cmd_api_token, "tenant json", "", "dnsd-api's tokens", NULL},
	{"api-token revoke", cmd_api_token, "", "NAME", "revoke a token of dnsd-api", NULL},
	{"status", cmd_status, "json", "", "store, zone, serial, counts", NULL},
	{"backup", cmd_backup_restore, "", "FILE",
	 "a consistent copy of the store (never over a file)", NULL},
	{"restore", cmd_backup_restore, "", "FILE",
	 "put a backup back while dnsd runs: one transaction, the serial moves on", NULL},
	{NULL, NULL, NULL, NULL, NULL, NULL},
};
#undef POLICY

/* ---- lookups ---- */

static const struct ctl_opt *opt_find(const char *a, size_t len)
{
	for (size_t k = 0; k < NOPTS; k++)
		if (strlen(opts[k].name) == len && !strncmp(opts[k].name, a, len))
			return &opts[k];
	return NULL;
}

int ctl_cmd_takes(const struct ctl_cmd *cmd, const char *name)
{
	const struct ctl_opt *o = opt_find(name, strlen(name));
	if (!o)
		return 0;
	if (o->global)
		return 1;
	size_t n = strlen(name + 2);
	for (const char *p = cmd->opts; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && !strncmp(p, name + 2, n))
			return 1;
		p += w;
		p += strspn(p, " ");
	}
	return 0;
}

/* The row whose words are the first of pos: two words, or one. */
static const struct ctl_cmd *cmd_find(int npos, const char *const *pos)
{
	char two[256];
	if (npos >= 2) {
		snprintf(two, sizeof(two), "%s %s", pos[0], pos[1]);
		for (const struct ctl_cmd *c = ctl_cmds; c->name; c++)
			if (!strcmp(c->name, two))
				return c;
	}
	for (const struct ctl_cmd *c = ctl_cmds; c->name; c++)
		if (npos >= 1 && !strcmp(c->name, pos[0]))
			return c;
	return NULL;
}

/* 1 when row c belongs to group word (its first word is word). */
static int in_group(const struct ctl_cmd *c, const char *word)
{
	size_t n = strlen(word);
	return !strncmp(c->name, word, n) && c->name[n] == ' ';
}

/* ---- help ---- */

static void print_usage_line(FILE *f, const struct ctl_cmd *c)
{
	int col = fprintf(f, "usage: dnsdctl %s%s%s", c->name, *c->args ? " " : "", c->args);
	for (const char *p = c->opts; *p;) {
		char name[64];
		size_t w = strcspn(p, " ");
		snprintf(name, sizeof(name), "--%.*s", (int)w, p);
		p += w;
		p += strspn(p, " ");
		const struct ctl_opt *o = opt_find(name, strlen(name));
		if (!o)
			abort(); /* a row names an option opts[] lacks: help --all finds it */
		size_t nl = strlen(name);
		/* an option the arguments already name is not repeated */
		const char *hit = strstr(c->args, name);
		if (hit && !(hit[nl] >= 'a' && hit[nl] <= 'z') && hit[nl] != '-')
			continue;
		char item[160];
		int len = snprintf(item, sizeof(item), "[%s%s%s]", name, o->arg ? " " : "",
				   o->arg ? o->arg : "");
		if (col + 1 + len > 100)
			col = fprintf(f, "\n       ") - 1;
		col += fprintf(f, " %s", item);
	}
	fputc('\n', f);
}

static void print_cmd_help(FILE *f, const struct ctl_cmd *c)
{
	print_usage_line(f, c);
	fprintf(f, "\n%s.\n", c->summary);
	if (c->text)
		fprintf(f, "%s\n", c->text);
	if (*c->opts) {
		fprintf(f, "\noptions:\n");
		for (size_t k = 0; k < NOPTS; k++) {
			if (opts[k].global || !ctl_cmd_takes(c, opts[k].name))
				continue;
			char item[128];
			snprintf(item, sizeof(item), "%s%s%s", opts[k].name, opts[k].arg ? " " : "",
				 opts[k].arg ? opts[k].arg : "");
			fprintf(f, "  %-28s %s\n", item, opts[k].help);
		}
	}
	fprintf(f, "\nand the global options (dnsdctl --help).\n");
}

/* Prints text from column col to 100, going on at col on the next lines. */
static void print_wrapped(FILE *f, const char *text, int col)
{
	int at = col;
	while (*text) {
		size_t w = strcspn(text, " ");
		if (at > col && at + 1 + (int)w > 100) {
			fprintf(f, "\n%*s", col - 1, "");
			at = col;
		}
		at += fprintf(f, " %.*s", (int)w, text);
		text += w;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

static void print_overview(FILE *f)
{
	int col = fprintf(f, "usage: dnsdctl");
	for (size_t k = 0; k < NOPTS; k++) {
		if (!opts[k].global)
			continue;
		if (col + (int)strlen(opts[k].name) + (int)strlen(opts[k].arg) + 4 > 90)
			col = fprintf(f, "\n              ");
		col += fprintf(f, " [%s %s]", opts[k].name, opts[k].arg);
	}
	fprintf(f,
		" COMMAND ... [--json]\n"
		"       dnsdctl help [COMMAND | --all] | --version | --check-config [--config "
		"FILE]\n"
		"\n"
		"Manages the store dnsd answers from. Read commands take --json.\n"
		"\n"
		"commands (dnsdctl help COMMAND, or COMMAND --help: its arguments and options):\n");
	for (const struct ctl_cmd *c = ctl_cmds; c->name; c++) {
		fprintf(f, "  %-24s", c->name);
		print_wrapped(f, c->summary, 27);
	}
	fprintf(f, "\nglobal options:\n");
	for (size_t k = 0; k < NOPTS; k++) {
		if (!opts[k].global)
			continue;
		char item[64];
		snprintf(item, sizeof(item), "%s %s", opts[k].name, opts[k].arg);
		fprintf(f, "  %-24s", item);
		print_wrapped(f, opts[k].help, 27);
	}
	fprintf(f,
		"\n"
		"The config file has db, keys, zone-file, export-dir, export-command,\n"
		"metrics-file and lock-timeout, one\n"
		"\"name value\" a line (DNSDCTL_CONFIG names it too); the command line wins. It "
		"must\n"
		"belong to root or you, and be writable by no one else. Directories and commands\n"
		"never come from the store. --check-config reports every error in it.\n"
		"DNSD_DB          the store, when --db is not given\n"
		"DNSD_NOW         seconds since the epoch: the clock, for tests\n"
		"\n"
		"Exit status: 0 done; 1 error (nothing changed); 2 usage; 3 the store change is\n"
		"committed but the exports or the export command failed; 4 (check) a required\n"
		"record is not in place; 5 the store was locked by another writer past\n"
		"--lock-timeout (nothing changed: try again).\n");
}

/* Prints the help of the command (or group of commands) words names, or
 * every command's (--all); exits 0, or 2 when there is no such command. */
static void help(int n, const char *const *words)
{
	if (!n) {
		print_overview(stdout);
		exit(0);
	}
	if (!strcmp(words[0], "--all")) {
		for (const struct ctl_cmd *c = ctl_cmds; c->name; c++) {
			print_cmd_help(stdout, c);
			fputc('\n', stdout);
		}
		exit(0);
	}
	const struct ctl_cmd *c = cmd_find(n, words);
	if (c) {
		print_cmd_help(stdout, c);
		exit(0);
	}
	int any = 0;
	for (c = ctl_cmds; c->name; c++)
		if (in_group(c, words[0])) {
			if (any++)
				fputc('\n', stdout);
			print_cmd_help(stdout, c);
		}
	if (!any)
		die_usage("no command '%s'", words[0]);
	exit(0);
}

/* "tenant add|set|list|show|remove": the group's commands. */
static const char *group_list(const char *word)
{
	static char out[512];
	size_t o = 0;
	for (const struct ctl_cmd *c = ctl_cmds; c->name; c++)
		if (in_group(c, word) && o + strlen(c->name) + 2 < sizeof(out))
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? "|" : c->name,
					      o ? c->name + strlen(word) + 1 : "");
	return out;
}

/* ---- the command line ---- */

const struct ctl_cmd *ctl_parse(struct opts *o, int argc, char **argv)
{
	const struct ctl_opt *seen[64];
	size_t nseen = 0;
	const char *unknown = NULL;
	int want_help = 0, want_version = 0;
	o->db = getenv("DNSD_DB");
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			ctl_json = 1; /* usage errors are JSON too */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			want_help = 1;
			continue;
		}
		if (!strcmp(a, "--version")) {
			want_version = 1;
			continue;
		}
		if (!strcmp(a, "--check-config")) {
			o->check_config = 1;
			continue;
		}
		if (!strncmp(a, "--", 2) && !(o->npos && !strcmp(o->pos[0], "help"))) {
			const char *eq = strchr(a, '=');
			const struct ctl_opt *k = opt_find(a, eq ? (size_t)(eq - a) : strlen(a));
			if (!k) {
				if (!unknown)
					unknown = a;
				continue;
			}
			if (nseen < sizeof(seen) / sizeof(seen[0]))
				seen[nseen++] = k;
			if (k->kind == OPT_FLAG) {
				if (eq)
					die_usage("option %.*s takes no value", (int)(eq - a), a);
				*(int *)((char *)o + k->off) = 1;
				continue;
			}
			const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v)
				die_usage("option %s needs a value", a);
			*(const char **)((char *)o + k->off) = v;
			continue;
		}
		if (o->npos == 8)
			die_usage("too many arguments");
		o->pos[o->npos++] = a;
	}
	if (want_version || (o->npos == 1 && !strcmp(o->pos[0], "version"))) {
		printf("dnsdctl %s\n", DNSD_VERSION);
		exit(0);
	}
	if (o->npos && !strcmp(o->pos[0], "help"))
		help(o->npos - 1, o->pos + 1);
	if (o->check_config) {
		if (o->npos || unknown)
			die_usage("--check-config takes only --config FILE");
		exit(ctlconf_check(o) ? 1 : 0);
	}
	if (!o->npos) {
		if (want_help)
			help(0, NULL);
		if (unknown)
			die_usage("unknown option %s", unknown);
		die_usage("no command");
	}
	const struct ctl_cmd *cmd = cmd_find(o->npos, o->pos);
	if (!cmd) {
		const char *list = group_list(o->pos[0]);
		if (!*list) {
			if (unknown)
				die_usage("unknown option %s", unknown);
			die_usage("unknown command '%s'", o->pos[0]);
		}
		if (want_help)
			help(1, o->pos);
		if (o->npos > 1)
			die_usage("unknown command '%s %s' (%s)", o->pos[0], o->pos[1], list);
		die_usage("%s needs a subcommand: %s", o->pos[0], list);
	}
	ctl_cmd_name = cmd->name;
	if (want_help) {
		print_cmd_help(stdout, cmd);
		exit(0);
	}
	if (unknown)
		die_usage("unknown option %s", unknown);
	for (size_t i = 0; i < nseen; i++)
		if (!ctl_cmd_takes(cmd, seen[i]->name))
			die_usage("unknown option %s", seen[i]->name);
	ctlconf_load(o);
	if (!o->db)
		die_usage("--db DB is needed (or db in the config file)");
	return cmd;
}

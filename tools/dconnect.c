/* dconnect: Domain Connect for dnsdctl: the service template with which a DNS
 * host applies a customer's records in one click (the records of `domain
 * records`, with the domain's code as the variable %token%), and the values a
 * domain applies it with. */
#include "ctl.h"
#include "names.h"
#include "policy.h"
#include <stdlib.h>
#include <string.h>

/* A slot layout: the selectors in order and the Return-Path label. */
struct layout {
	char sel[MAX_SLOTS][64];
	int nsel, nmain, pair;
	char rp[64];
};

/* The service id of a layout: "<prefix>-<main slots>", "-ed" with the Ed25519
 * pair, and "-rp-<label>" when the Return-Path label is not the store's. */
static void service_id(struct ctx *c, const struct layout *l, const char *prefix, char *out,
		       size_t n)
{
	char *def = store_setting(c->st, "return_path");
	snprintf(out, n, "%s-%d%s%s%s", prefix, l->nmain, l->pair ? "-ed" : "",
		 def && strcmp(def, l->rp) ? "-rp-" : "", def && strcmp(def, l->rp) ? l->rp : "");
	free(def);
}

static void json_rec(int *first, const char *group, const char *host, const char *points_to,
		     int ttl)
{
	int f = 1;
	printf("%s\n    {", *first ? "" : ",");
	*first = 0;
	json_kv(stdout, &f, "groupId", group);
	json_kv(stdout, &f, "type", "CNAME");
	json_kv(stdout, &f, "host", host);
	json_kv(stdout, &f, "pointsTo", points_to);
	json_ki(stdout, &f, "ttl", ttl);
	printf("}");
}

/* domain-connect template: the template of a layout (the options, else the
 * tenant's, else the store's). */
static void dc_template(struct ctx *c)
{
	struct layout l = {0};
	char prefix[64], sid[200], host[200], to[600], desc[600];
	char *p = store_setting(c->st, "selector_prefix");
	snprintf(prefix, sizeof(prefix), "%s", p ? p : "dnsd");
	free(p);
	int64_t tid = c->o.tenant ? tenant_id(c, c->o.tenant, 1) : 0;
	int64_t ts =
		tid ? one_int(c,
			      q(c, "SELECT ifnull(slots, 0) FROM tenants WHERE id = ?", "i", tid),
			      0)
		    : 0;
	int64_t te = tid ? one_int(c,
				   q(c, "SELECT ifnull(ed25519, -1) FROM tenants WHERE id = ?", "i",
				     tid),
				   -1)
			 : -1;
	char *ge = store_setting(c->st, "ed25519");
	l.nmain = (int)num_arg(c, c->o.slots, "--slots", 2, MAX_SLOTS,
			       ts ? ts : store_setting_int(c->st, "slots", 3));
	l.pair = yes_no(c, c->o.ed25519, "--ed25519", te >= 0 ? (int)te : ge && !strcmp(ge, "yes"));
	free(ge);
	if (l.nmain + 2 * l.pair > MAX_SLOTS)
		fail(c, "%d slots plus the Ed25519 pair pass the %d slots a domain may have",
		     l.nmain, MAX_SLOTS);
	char *rp =
		c->o.return_path ? strdup(c->o.return_path) : store_setting(c->st, "return_path");
	snprintf(l.rp, sizeof(l.rp), "%s", rp ? rp : "bounce");
	free(rp);
	if (!names_label(l.rp, 63))
		fail(c, "--return-path '%s' is not a DNS label", shown(l.rp));
	for (int i = 1; i <= l.nmain + 2 * l.pair; i++)
		slot_selector(prefix, i, l.nmain, l.sel[l.nsel++], sizeof(l.sel[0]));
	if (c->o.service_id)
		snprintf(sid, sizeof(sid), "%s", c->o.service_id);
	else
		service_id(c, &l, prefix, sid, sizeof(sid));
	if (!names_label(sid, 63))
		fail(c, "--service-id '%s' is not a name of letters, digits and hyphens",
		     shown(sid));
	int ttl = store_setting_int(c->st, "ttl_policy", 3600);
	/* The hosted zone without its final dot: pointsTo names are absolute. */
	size_t zl = strlen(c->zone);
	snprintf(desc, sizeof(desc),
		 "The DKIM selectors (%d%s), the Return-Path and optionally DMARC of a customer "
		 "domain, "
		 "delegated by CNAME to %.*s. Groups: dkim and return-path are required, dmarc is "
		 "optional "
		 "(it replaces the domain's own _dmarc record). The variable token is the domain's "
		 "code.",
		 l.nmain, l.pair ? " and the Ed25519 pair" : "", (int)(zl - 1), c->zone);
	int f = 1, first = 1;
	printf("{");
	json_kv(stdout, &f, "providerId", c->o.provider_id);
	json_kv(stdout, &f, "providerName",
		c->o.provider_name ? c->o.provider_name : c->o.provider_id);
	json_kv(stdout, &f, "serviceId", sid);
	json_kv(stdout, &f, "serviceName", "Email authentication (DKIM, Return-Path, DMARC)");
	json_ki(stdout, &f, "version", 1);
	json_kv(stdout, &f, "description", desc);
	json_kv(stdout, &f, "variableDescription",
		"token: the domain's code, 16 characters of a-z and 2-7");
	/* The variable only picks a name inside the hosted zone; but a link made
	 * with another domain's code would point this domain at that one's keys:
	 * sign the links (syncPubKeyDomain) or let the DNS host warn. */
	printf(", \"syncBlock\": false, \"warnPhishing\": true, \"hostRequired\": false, "
	       "\"records\": [");
	for (int i = 0; i < l.nsel; i++) {
		snprintf(host, sizeof(host), "%s._domainkey", l.sel[i]);
		snprintf(to, sizeof(to), "%s.%%token%%.dkim.%.*s", l.sel[i], (int)(zl - 1),
			 c->zone);
		json_rec(&first, "dkim", host, to, ttl);
	}
	snprintf(to, sizeof(to), "%%token%%.rp.%.*s", (int)(zl - 1), c->zone);
	json_rec(&first, "return-path", l.rp, to, ttl);
	snprintf(to, sizeof(to), "%%token%%.dmarc.%.*s", (int)(zl - 1), c->zone);
	json_rec(&first, "dmarc", "_dmarc", to, ttl);
	printf("\n]}\n");
}

/* domain-connect apply DOMAIN: the service and variables that apply the
 * domain's records, and the path of the synchronous flow's apply URL. */
static void dc_apply(struct ctx *c)
{
	struct domain_row d;
	struct layout l = {0};
	char prefix[64], sid[200];
	if (c->o.npos != 3)
		die_usage("domain-connect apply DOMAIN --provider-id ID");
	need_domain(c, c->o.pos[2], &d, 0);
	if (!keys_token_valid(d.token) || !names_label(d.rp, 63))
		fail(c,
		     "%s: its token or Return-Path label in the store is not one; nothing printed",
		     d.name);
	char *p = store_setting(c->st, "selector_prefix");
	snprintf(prefix, sizeof(prefix), "%s", p ? p : "dnsd");
	free(p);
	sqlite3_stmt *st = q(
		c, "SELECT role, count(*) FROM slots WHERE domain_id = ? GROUP BY role", "i", d.id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!strcmp((const char *)sqlite3_column_text(st, 0), "main"))
			l.nmain = sqlite3_column_int(st, 1);
		else
			l.pair = 1;
	}
	sqlite3_finalize(st);
	snprintf(l.rp, sizeof(l.rp), "%s", d.rp);
	/* Selectors the template of that layout does not name (an import's own):
	 * no template fits; the records are added by hand. */
	int odd = (int)one_int(
		c,
		q(c,
		  "SELECT count(*) FROM slots WHERE domain_id = ? AND NOT (selector GLOB ?2 || "
		  "'[0-9]' OR selector GLOB ?2 || '-ed[12]')",
		  "is", d.id, prefix),
		0);
	if (odd)
		fail(c,
		     "%s has selectors of its own (imported): no template names them; give the "
		     "customer "
		     "'domain records' instead",
		     d.name);
	if (c->o.service_id)
		snprintf(sid, sizeof(sid), "%s", c->o.service_id);
	else
		service_id(c, &l, prefix, sid, sizeof(sid));
	char path[1200];
	snprintf(path, sizeof(path),
		 "/v2/domainTemplates/providers/%s/services/%s/apply?domain=%s&token=%s",
		 c->o.provider_id, sid, d.name, d.token);
	if (c->o.json) {
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "providerId", c->o.provider_id);
		json_kv(stdout, &f, "serviceId", sid);
		json_kv(stdout, &f, "domain", d.name);
		printf(", \"variables\": {");
		f = 1;
		json_kv(stdout, &f, "token", d.token);
		printf("}, \"groups\": {\"required\": \"dkim,return-path\", \"optional\": "
		       "\"dmarc\"}");
		f = 0;
		json_kv(stdout, &f, "path", path);
		printf("}\n");
	} else {
		printf("service %s, variables token=%s\napply: {urlSyncUX}%s\n"
		       "(groupId=dkim,return-path leaves the optional _dmarc CNAME out; the domain "
		       "is the one "
		       "the customer's DNS host serves: for a subdomain, domain=ITS ZONE&host=THE "
		       "REST)\n",
		       sid, d.token, path);
	}
}

void cmd_domain_connect(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!c->o.provider_id)
		die_usage("domain-connect template|apply needs --provider-id ID (the platform's "
			  "domain)");
	if (policy_name_check(c->o.provider_id, 0, NULL, 0))
		die_usage("--provider-id is the platform's domain name");
	open_store(c, 0);
	if (!strcmp(sub, "template") && c->o.npos == 2)
		dc_template(c);
	else if (!strcmp(sub, "apply"))
		dc_apply(c);
	else
		die_usage("domain-connect template [--tenant NAME] [--slots N] [--ed25519 yes|no] "
			  "[--return-path "
			  "LABEL] | apply DOMAIN (with --provider-id ID [--provider-name NAME] "
			  "[--service-id ID])");
}

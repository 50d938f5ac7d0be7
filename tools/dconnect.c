/* dconnect: Domain Connect for dnsdctl: the service template with which a DNS
 * host applies a customer's records in one click (the records of `domain
 * records`, with the domain's code as the variable %token%), and the values a
 * domain applies it with. */
#include "ctl.h"
#include "names.h"
#include "policy.h"
#include "registry.h"
#include <jansson.h>
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

/* One record of the template: a CNAME of group at host. */
static json_t *template_rec(const char *group, const char *host, const char *points_to, int ttl)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "groupId", group, "type", "CNAME", "host",
			 host, "pointsTo", points_to, "ttl", ttl);
}

/* Prints v (taken) as JSON and a line end; fails the command when out of memory. */
static void print_json(struct ctx *c, json_t *v)
{
	if (!v || json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) ||
	    fputc('\n', stdout) == EOF)
		fail(c, "cannot print the JSON");
	json_decref(v);
}

/* reg_tenant_list's callback: the tenant's layout (0 slots: the store's; ed25519 -1: the
 * store's). */
static int tenant_layout(void *arg, const struct reg_tenant *t)
{
	int *v = arg;
	v[0] = t->slots;
	v[1] = t->ed25519;
	return 0;
}

/* reg_domain_slots' callback: the layout of a domain's slots; odd counts the selectors a
 * template of the store's prefix does not name (an import's own). */
struct dom_layout {
	struct layout *l;
	const char *prefix;
	int odd;
};

static int slot_layout(void *arg, const struct reg_slot *s)
{
	struct dom_layout *d = arg;
	size_t pl = strlen(d->prefix);
	const char *rest =
		s->selector && !strncmp(s->selector, d->prefix, pl) ? s->selector + pl : NULL;
	if (!strcmp(s->role, "main"))
		d->l->nmain++;
	else
		d->l->pair = 1;
	if (!rest || !((rest[0] >= '0' && rest[0] <= '9' && !rest[1]) || !strcmp(rest, "-ed1") ||
		       !strcmp(rest, "-ed2")))
		d->odd++;
	return 0;
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
	int tl[2] = {0, -1}; /* the tenant's slots and pair */
	if (c->o.tenant && reg_tenant_list(&c->w, c->o.tenant, tenant_layout, tl))
		fail(c, "%s", c->w.err);
	int64_t ts = tl[0], te = tl[1];
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
	json_t *recs = json_array();
	for (int i = 0; i < l.nsel; i++) {
		snprintf(host, sizeof(host), "%s._domainkey", l.sel[i]);
		snprintf(to, sizeof(to), "%s.%%token%%.dkim.%.*s", l.sel[i], (int)(zl - 1),
			 c->zone);
		json_array_append_new(recs, template_rec("dkim", host, to, ttl));
	}
	snprintf(to, sizeof(to), "%%token%%.rp.%.*s", (int)(zl - 1), c->zone);
	json_array_append_new(recs, template_rec("return-path", l.rp, to, ttl));
	snprintf(to, sizeof(to), "%%token%%.dmarc.%.*s", (int)(zl - 1), c->zone);
	json_array_append_new(recs, template_rec("dmarc", "_dmarc", to, ttl));
	/* The variable only picks a name inside the hosted zone; but a link made
	 * with another domain's code would point this domain at that one's keys:
	 * sign the links (syncPubKeyDomain) or let the DNS host warn. */
	print_json(c,
		   json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:b, s:b, s:b, s:o}",
			     "providerId", c->o.provider_id, "providerName",
			     c->o.provider_name ? c->o.provider_name : c->o.provider_id,
			     "serviceId", sid, "serviceName",
			     "Email authentication (DKIM, Return-Path, DMARC)", "version", 1,
			     "description", desc, "variableDescription",
			     "token: the domain's code, 16 characters of a-z and 2-7", "syncBlock",
			     0, "warnPhishing", 1, "hostRequired", 0, "records", recs));
}

/* domain-connect apply DOMAIN: the service and variables that apply the
 * domain's records, and the path of the synchronous flow's apply URL. */
static void dc_apply(struct ctx *c)
{
	struct reg_domain d;
	struct layout l = {0};
	char prefix[64], sid[200];
	if (c->o.npos != 3)
		die_usage("domain-connect apply DOMAIN --provider-id ID");
	if (reg_domain_need(&c->w, c->o.pos[2], &d, 0))
		fail(c, "%s", c->w.err);
	if (!keys_token_valid(d.token) || !names_label(d.rp, 63))
		fail(c,
		     "%s: its token or Return-Path label in the store is not one; nothing printed",
		     d.name);
	char *p = store_setting(c->st, "selector_prefix");
	snprintf(prefix, sizeof(prefix), "%s", p ? p : "dnsd");
	free(p);
	struct dom_layout dl = {&l, prefix, 0};
	if (reg_domain_slots(&c->w, d.id, slot_layout, &dl))
		fail(c, "%s", c->w.err);
	snprintf(l.rp, sizeof(l.rp), "%s", d.rp);
	/* Selectors the template of that layout does not name (an import's own):
	 * no template fits; the records are added by hand. */
	int odd = dl.odd;
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
		print_json(c, json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:s}", "providerId",
					c->o.provider_id, "serviceId", sid, "domain", d.name,
					"variables", "token", d.token, "groups", "required",
					"dkim,return-path", "optional", "dmarc", "path", path));
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

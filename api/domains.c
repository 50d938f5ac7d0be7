/* domains: dnsd-api's customer domains (add, list, show, records, remove) as handlers over the
 * registry (registry.h), with the same results as dnsdctl's domain commands. A tenant's token
 * reaches its own tenant's domains only: another's is answered 404, as a name nobody has. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apijson.h"
#include "err.h"

#define LIST_DEFAULT 100  /* domains a page when the query gives no limit */
#define LIST_MAX     1000 /* the largest limit taken */

/* The optional string member k of the body into *out (left NULL when absent); 0, or -1 with a
 * 400 when it is not a string. */
static int body_opt_string(struct api_req *r, const char *k, const char **out)
{
	json_t *v = json_object_get(r->body, k);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		api_error(r, 400, "invalid_field", k, "\"%s\" must be a string", k);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* d's records to publish into v (an object): "records" and "ttl". 0, or -1 with the reply set. */
static int put_records(struct api_req *r, const struct reg_domain *d, json_t *v)
{
	struct reg_record rec[REG_MAX_RECORDS];
	int n, ttl;
	if (reg_domain_records(r->w, d, rec, &n, &ttl)) {
		api_wr_fail(r);
		return -1;
	}
	json_t *a = apijson_records(rec, n);
	if (!a || json_object_set_new(v, "records", a) ||
	    json_object_set_new(v, "ttl", json_integer(ttl))) {
		api_error(r, 500, "internal", NULL, "out of memory");
		return -1;
	}
	return 0;
}

/* The tenant a new domain goes to: the body's "tenant", which a platform token must give and a
 * tenant's token may only give as its own (another is answered 404, as one nobody has). NULL
 * with the reply set. */
static const char *new_tenant(struct api_req *r)
{
	const char *t;
	if (body_opt_string(r, "tenant", &t))
		return NULL;
	if (!r->token.tenant_id)
		return t ? t : api_body_string(r, "tenant"); /* says it is missing */
	if (t && strcasecmp(t, r->token.tenant)) {
		api_error(r, 404, "not_found", NULL, "no tenant '%s'", t);
		return NULL;
	}
	return r->token.tenant;
}

/* POST /v1/domains {domain, tenant?, key?, algorithm?, slots?, ed25519?, return_path?}: 201
 * with the records the customer adds, and Location. */
void api_domain_add(struct api_req *r)
{
	static const char *const known[] = {"domain", "tenant",	 "key",		"algorithm",
					    "slots",  "ed25519", "return_path", NULL};
	struct reg_domain_in in = {.ed25519 = -1, .cause = "domain add (API)"};
	if (api_unknown_member(r, known) || !(in.name = api_body_string(r, "domain")) ||
	    !(in.tenant = new_tenant(r)) || body_opt_string(r, "key", &in.key_pem) ||
	    body_opt_string(r, "algorithm", &in.algorithm) ||
	    body_opt_string(r, "return_path", &in.return_path) ||
	    api_body_layout(r, &in.slots, &in.ed25519))
		return;
	in.key_pem_len = in.key_pem ? strlen(in.key_pem) : 0;
	struct reg_domain d;
	if (reg_domain_add(r->w, &in, &d)) {
		struct wr *w = r->w;
		if (w->rc == DNSD_ENOENT && !strcmp(w->field, "tenant")) /* the path exists */
			api_error(r, 400, "invalid", "tenant", "%s", w->err);
		else if (w->rc == DNSD_EEXIST && !strcmp(w->field, "domain"))
			/* The library's sentence names the owner and its token: not for another
			 * tenant's eyes. */
			api_error(r, 409, "exists", "domain", "domain %s already exists", in.name);
		else
			api_wr_fail(r);
		return;
	}
	json_t *v = apijson_domain(&d);
	if (!v || put_records(r, &d, v)) {
		json_decref(v);
		if (!v)
			api_error(r, 500, "internal", NULL, "out of memory");
		return;
	}
	if (asprintf(&r->location, "/v1/domains/%s", d.name) < 0)
		r->location = NULL;
	api_reply(r, 201, v);
}

static int add_slot(void *arg, const struct reg_slot *s)
{
	json_t *v = json_pack("{s:s, s:s, s:b, s:o, s:s, s:o}", "selector", s->selector, "role",
			      s->role, "eligible", s->eligible, "algorithm",
			      apijson_str(s->algorithm), "state", s->state ? s->state : "empty",
			      "activated_at", apijson_time(s->activated_at));
	return v && !json_array_append_new(arg, v) ? 0 : DNSD_ENOMEM;
}

/* GET /v1/domains/{domain}: the domain (a removed one too), the policies in force for it, and
 * its slots with their live keys. */
void api_domain_get(struct api_req *r)
{
	static const char *const kinds[] = {"spf", "mx", "dmarc"};
	struct reg_domain d;
	if (api_domain_in_scope(r, r->param, &d, 1))
		return;
	json_t *v = apijson_domain(&d), *pol = json_object(), *slots = json_array();
	for (size_t i = 0; i < 3 && pol; i++) {
		/* A removed domain has no policy in force: its names answer none. */
		char *e = d.state[0] == 'a'
				  ? reg_policy_effective(r->w, d.id, d.tenant_id, kinds[i])
				  : NULL;
		json_object_set_new(pol, kinds[i], apijson_str(e));
		free(e);
	}
	int rc = slots ? reg_domain_slots(r->w, d.id, add_slot, slots) : DNSD_ENOMEM;
	if (v && pol && slots && !rc && !r->w->rc) {
		/* set_new takes its value even when it fails */
		int bad = json_object_set_new(v, "policy", pol);
		if (!(bad |= json_object_set_new(v, "slots", slots))) {
			api_reply(r, 200, v);
			return;
		}
		pol = slots = NULL;
	}
	if (r->w->rc)
		api_wr_fail(r);
	else
		api_error(r, 500, "internal", NULL, "out of memory");
	json_decref(v);
	json_decref(pol);
	json_decref(slots);
}

/* GET /v1/domains/{domain}/records: what the customer adds to its DNS, once. */
void api_domain_records(struct api_req *r)
{
	struct reg_domain d;
	if (api_domain_in_scope(r, r->param, &d, 0))
		return;
	json_t *v = json_object();
	if (!v)
		api_error(r, 500, "internal", NULL, "out of memory");
	else if (put_records(r, &d, v))
		json_decref(v);
	else
		api_reply(r, 200, v);
}

static void domain_remove(struct api_req *r)
{
	struct reg_domain d;
	if (api_domain_in_scope(r, r->param, &d, 0))
		return;
	if (reg_domain_remove(r->w, d.name, NULL))
		api_wr_fail(r);
	else
		api_reply(r, 204, NULL);
}

/* DELETE /v1/domains/{domain}: its keys revoked, as dnsdctl domain remove. The scope is checked
 * in the transaction that removes it. */
void api_domain_remove(struct api_req *r)
{
	api_in_tx(r, domain_remove);
}

/* ---- the list ---- */

struct page {
	json_t *a;
	int limit, more;
	char last[300]; /* the cursor of the last domain given */
};

static int add_domain(void *arg, const struct reg_domain *d)
{
	struct page *p = arg;
	if ((int)json_array_size(p->a) == p->limit) {
		p->more = 1; /* one more than the page: there is a next one */
		return 1;
	}
	json_t *v = apijson_domain(d);
	if (!v || json_array_append_new(p->a, v))
		return DNSD_ENOMEM;
	snprintf(p->last, sizeof(p->last), "%s:%lld", d->name, (long long)d->id);
	return 0;
}

/* The cursor "NAME:ID" of "next" into f's after_name (in buf) and after_id; 0, or -1 with a
 * 400 naming "after". */
static int parse_after(struct api_req *r, const char *s, struct reg_filter *f, char *buf, size_t n)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long long id = colon ? strtoll(colon + 1, &end, 10) : 0;
	if (!colon || colon == s || (size_t)(colon - s) >= n || !colon[1] || *end || id <= 0) {
		api_error(r, 400, "invalid", "after",
			  "\"after\" is the \"next\" of an earlier page");
		return -1;
	}
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	f->after_name = buf;
	f->after_id = id;
	return 0;
}

/* GET /v1/domains?tenant=&state=&check=&q=&limit=&after=: a page of domains by name, and the
 * cursor of the next page ("next", null on the last). A tenant's token lists its own tenant's. */
void api_domains_list(struct api_req *r)
{
	struct reg_filter f = {.tenant = api_query(r, "tenant"),
			       .state = api_query(r, "state"),
			       .check = api_query(r, "check"),
			       .q = api_query(r, "q")};
	const char *limit = api_query(r, "limit"), *after = api_query(r, "after");
	char after_name[300];
	struct page p = {.limit = LIST_DEFAULT};
	if (limit) {
		char *end;
		long l = strtol(limit, &end, 10);
		if (!*limit || *end || l < 1 || l > LIST_MAX) {
			api_error(r, 400, "invalid", "limit", "\"limit\" is from 1 to %d",
				  LIST_MAX);
			return;
		}
		p.limit = (int)l;
	}
	if (after && parse_after(r, after, &f, after_name, sizeof(after_name)))
		return;
	if (r->token.tenant_id) {
		if (f.tenant && strcasecmp(f.tenant, r->token.tenant)) {
			api_error(r, 404, "not_found", NULL, "no tenant '%s'", f.tenant);
			return;
		}
		f.tenant = r->token.tenant;
	}
	f.limit = p.limit + 1;
	if (!(p.a = json_array())) {
		api_error(r, 500, "internal", NULL, "out of memory");
		return;
	}
	int rc = reg_domain_list(r->w, &f, add_domain, &p);
	if (r->w->rc == DNSD_ENOENT) /* a filter naming no tenant: the path exists */
		api_error(r, 400, "invalid", "tenant", "%s", r->w->err);
	else if (r->w->rc)
		api_wr_fail(r);
	else if (rc && rc != 1)
		api_error(r, 500, "internal", NULL, "out of memory");
	else {
		api_reply(r, 200,
			  json_pack("{s:o, s:o}", "domains", p.a, "next",
				    p.more ? json_string(p.last) : json_null()));
		return;
	}
	json_decref(p.a);
}

/* tenants: dnsd-api's tenants, and the SPF, MX and DMARC policies at the global, tenant and
 * domain levels, as handlers over the registry (registry.h). A tenant's token sees its own
 * tenant only: another tenant is answered 404, as a name nobody has. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "err.h"

void api_wr_fail(struct api_req *r)
{
	api_fail(r, r->w->rc, r->w->field[0] ? r->w->field : NULL, r->w->err);
}

void api_in_tx(struct api_req *r, api_handler fn)
{
	if (wr_begin(r->w)) {
		api_wr_fail(r);
		return;
	}
	fn(r);
	if (r->status < 200 || r->status > 299)
		wr_rollback(r->w);
	else if (wr_commit(r->w))
		api_wr_fail(r);
}

/* Whether the tenant named may be seen by r's token; if not, the 404 a name nobody has gets. */
static int tenant_scoped(struct api_req *r, const char *name)
{
	if (!r->token.tenant_id || reg_tenant_id(r->w, name, 0) == r->token.tenant_id)
		return 1;
	if (r->w->rc)
		api_wr_fail(r);
	else
		api_error(r, 404, "not_found", NULL, "no tenant '%s'", name);
	return 0;
}

static int add_tenant(void *arg, const struct reg_tenant *t)
{
	json_t *v = apijson_tenant(t);
	return v && !json_array_append_new(arg, v) ? 0 : DNSD_ENOMEM;
}

/* The tenants named (NULL: all) as an array, or NULL with the reply set. */
static json_t *tenants(struct api_req *r, const char *name)
{
	json_t *a = json_array();
	int rc = a ? reg_tenant_list(r->w, name, add_tenant, a) : DNSD_ENOMEM;
	if (rc) {
		json_decref(a);
		if (r->w->rc)
			api_wr_fail(r);
		else
			api_error(r, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	return a;
}

/* GET /v1/tenants: every tenant, by name; a tenant's token gets its own. */
void api_tenants_list(struct api_req *r)
{
	json_t *a = tenants(r, r->token.tenant_id ? r->token.tenant : NULL);
	if (a)
		api_reply(r, 200, json_pack("{s:o}", "tenants", a));
}

/* One tenant's object as the reply, with status. */
static void tenant_reply(struct api_req *r, const char *name, int status)
{
	json_t *a = tenants(r, name);
	if (!a)
		return;
	json_t *t = json_array_get(a, 0);
	api_reply(r, status, t ? json_incref(t) : NULL);
	json_decref(a);
}

/* GET /v1/tenants/{tenant} */
void api_tenant_get(struct api_req *r)
{
	if (tenant_scoped(r, r->param))
		tenant_reply(r, r->param, 200);
}

/* An optional integer member k of the body from lo to hi (*out unchanged when absent or null);
 * 0, or -1 with a 400. */
static int body_int(struct api_req *r, const char *k, int lo, int hi, int *out)
{
	json_t *v = json_object_get(r->body, k);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		api_error(r, 400, "invalid_field", k, "\"%s\" must be an integer from %d to %d", k,
			  lo, hi);
		return -1;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

/* An optional boolean member k: *out 1 or 0, unchanged when absent or null; 0, or -1 with a
 * 400. */
static int body_bool(struct api_req *r, const char *k, int *out)
{
	json_t *v = json_object_get(r->body, k);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		api_error(r, 400, "invalid_field", k, "\"%s\" must be true, false or null", k);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int api_body_layout(struct api_req *r, int *slots, int *ed25519)
{
	return body_int(r, "slots", 2, REG_MAX_SLOTS, slots) || body_bool(r, "ed25519", ed25519)
		       ? -1
		       : 0;
}

/* POST /v1/tenants {name, slots?, ed25519?} (platform tokens) */
void api_tenant_add(struct api_req *r)
{
	static const char *const known[] = {"name", "slots", "ed25519", NULL};
	int slots = 0, ed = -1;
	if (api_unknown_member(r, known))
		return;
	const char *name = api_body_string(r, "name");
	if (!name || api_body_layout(r, &slots, &ed))
		return;
	if (reg_tenant_add(r->w, name, slots, ed)) {
		/* The library names its argument "tenant"; here it is the body's "name". */
		const char *f = r->w->field;
		api_fail(r, r->w->rc, !strcmp(f, "tenant") ? "name" : f[0] ? f : NULL, r->w->err);
		return;
	}
	if (asprintf(&r->location, "/v1/tenants/%s", name) < 0)
		r->location = NULL;
	tenant_reply(r, name, 201);
}

/* DELETE /v1/tenants/{tenant} (platform tokens): 409 while it has domains. */
void api_tenant_remove(struct api_req *r)
{
	if (reg_tenant_remove(r->w, r->param))
		api_wr_fail(r);
	else
		api_reply(r, 204, NULL);
}

/* ---- policies ---- */

static const char *const kinds[] = {"spf", "mx", "dmarc"};

/* The policies at s as the reply: {level, own: {spf, mx, dmarc}, effective: {...}}. */
static void policy_reply(struct api_req *r, const struct reg_scope *s)
{
	json_t *own = json_object(), *eff = json_object();
	for (size_t i = 0; i < 3 && own && eff; i++) {
		char *o, *e;
		if (reg_policy_get(r->w, s, kinds[i], &o, &e)) {
			json_decref(own);
			json_decref(eff);
			api_wr_fail(r);
			return;
		}
		json_object_set_new(own, kinds[i], apijson_str(o));
		json_object_set_new(eff, kinds[i], apijson_str(e));
		free(o);
		free(e);
	}
	if (own && eff) {
		api_reply(r, 200,
			  json_pack("{s:s, s:o, s:o}", "level", s->level, "own", own, "effective",
				    eff));
		return;
	}
	json_decref(own);
	json_decref(eff);
	api_error(r, 500, "internal", NULL, "out of memory");
}

/* GET or PUT (put) the policies at the level of tenant or domain (both NULL: global). PUT's
 * members spf, mx, dmarc: a string sets, null clears, absent leaves; all in one transaction. */
static void policy(struct api_req *r, const char *tenant, const char *domain, int put)
{
	struct reg_scope s;
	if (reg_policy_scope(r->w, tenant, domain, &s)) {
		api_wr_fail(r);
		return;
	}
	if (put) {
		static const char *const known[] = {"spf", "mx", "dmarc", NULL};
		static const int bits[] = {REG_POLICY_SPF, REG_POLICY_MX, REG_POLICY_DMARC};
		const char *v[3] = {NULL, NULL, NULL};
		int flags = 0;
		if (api_unknown_member(r, known))
			return;
		for (size_t i = 0; i < 3; i++) {
			json_t *m = json_object_get(r->body, kinds[i]);
			if (!m)
				continue;
			if (!json_is_string(m) && !json_is_null(m)) {
				api_error(r, 400, "invalid_field", kinds[i],
					  "\"%s\" must be a string (sets it) or null (clears it)",
					  kinds[i]);
				return;
			}
			v[i] = json_string_value(m);
			flags |= bits[i];
		}
		if (reg_policy_put(r->w, &s, v[0], v[1], v[2], flags)) {
			api_wr_fail(r);
			return;
		}
	}
	policy_reply(r, &s);
}

/* GET /v1/policy: the global policies (any token may read them). */
void api_policy_get(struct api_req *r)
{
	policy(r, NULL, NULL, 0);
}

/* PUT /v1/policy (platform tokens) */
void api_policy_put(struct api_req *r)
{
	policy(r, NULL, NULL, 1);
}

/* GET /v1/tenants/{tenant}/policy */
void api_tenant_policy_get(struct api_req *r)
{
	if (tenant_scoped(r, r->param))
		policy(r, r->param, NULL, 0);
}

static void tenant_policy_put(struct api_req *r)
{
	if (tenant_scoped(r, r->param))
		policy(r, r->param, NULL, 1);
}

/* PUT /v1/tenants/{tenant}/policy */
void api_tenant_policy_put(struct api_req *r)
{
	api_in_tx(r, tenant_policy_put);
}

/* GET /v1/domains/{domain}/policy */
void api_domain_policy_get(struct api_req *r)
{
	struct reg_domain d;
	if (!api_domain_in_scope(r, r->param, &d, 0))
		policy(r, NULL, d.name, 0);
}

static void domain_policy_put(struct api_req *r)
{
	struct reg_domain d;
	if (!api_domain_in_scope(r, r->param, &d, 0))
		policy(r, NULL, d.name, 1);
}

/* PUT /v1/domains/{domain}/policy */
void api_domain_policy_put(struct api_req *r)
{
	api_in_tx(r, domain_policy_put);
}

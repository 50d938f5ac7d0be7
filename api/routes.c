/* routes: the route table of dnsd-api, and the resources served here, each a handler over the
 * library in dnsd/: the status and the tokens. tenants.c and domains.c hold the tenants, the
 * domains and the policies. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "apitoken.h"
#include "err.h"
#include "keys.h"
#include "status.h"

/* GET /v1/status: the store's serial, schema version and counts; a tenant's token sees its own
 * domains only. */
static void get_status(struct api_req *r)
{
	struct status_counts c;
	char err[512];
	int rc = status_read(r->st, r->token.tenant_id, &c, err, sizeof(err));
	if (rc) {
		api_fail(r, rc, NULL, err);
		return;
	}
	json_t *v = json_pack("{s:I, s:i, s:s, s:I, s:s, s:o}", "serial", (json_int_t)c.serial,
			      "schema_version", c.schema_version, "zone", c.zone, "domains",
			      (json_int_t)c.domains, "scope",
			      r->token.tenant_id ? "tenant" : "platform", "tenant",
			      r->token.tenant_id ? json_string(r->token.tenant) : json_null());
	if (v && !r->token.tenant_id)
		json_object_set_new(v, "tenants", json_integer(c.tenants));
	api_reply(r, 200, v);
}

/* GET /v1/tokens: every token of the caller's scope, revoked ones too. */
static void list_tokens(struct api_req *r)
{
	struct apitoken *v;
	size_t n;
	char err[512];
	int rc = apitoken_list(r->st, r->token.tenant_id, &v, &n, err, sizeof(err));
	if (rc) {
		api_fail(r, rc, NULL, err);
		return;
	}
	json_t *a = apijson_tokens(v, n);
	free(v);
	api_reply(r, 200, a ? json_pack("{s:o}", "tokens", a) : NULL);
}

const char *api_body_string(struct api_req *r, const char *k)
{
	json_t *v = json_object_get(r->body, k);
	if (!v)
		api_error(r, 400, "missing_field", k, "the body needs \"%s\"", k);
	else if (!json_is_string(v))
		api_error(r, 400, "invalid_field", k, "\"%s\" must be a string", k);
	else
		return json_string_value(v);
	return NULL;
}

int api_unknown_member(struct api_req *r, const char *const *known)
{
	const char *k;
	json_t *v;
	json_object_foreach(r->body, k, v)
	{
		size_t i = 0;
		while (known[i] && strcmp(known[i], k))
			i++;
		if (!known[i]) {
			api_error(r, 400, "unknown_field", k, "unknown field \"%s\"", k);
			return 1;
		}
	}
	return 0;
}

/* POST /v1/tokens {"name", "tenant"}: a tenant's token, made by a platform token. Its text is in
 * this reply only. */
static void add_token(struct api_req *r)
{
	static const char *const known[] = {"name", "tenant", NULL};
	if (api_unknown_member(r, known))
		return;
	const char *name = api_body_string(r, "name");
	const char *tenant = name ? api_body_string(r, "tenant") : NULL;
	if (!tenant)
		return;
	struct apitoken t;
	char text[APITOKEN_TEXT_LEN + 1], err[512];
	int rc = apitoken_add(r->st, name, tenant, &t, text, err, sizeof(err));
	if (rc == DNSD_ENOENT) /* the body names a tenant that is not there: the path exists */
		api_error(r, 400, "invalid", "tenant", "%s", err);
	if (rc) {
		if (rc != DNSD_ENOENT)
			api_fail(r, rc, "name", err);
		return;
	}
	json_t *v = apijson_token(&t);
	if (v)
		json_object_set_new(v, "token", json_string(text));
	if (asprintf(&r->location, "/v1/tokens/%s", t.name) < 0)
		r->location = NULL;
	api_reply(r, 201, v);
}

/* DELETE /v1/tokens/{name}: revokes it. A tenant's token reaches its own tenant's only, and is
 * told 404 for the others, as if they did not exist. */
static void revoke_token(struct api_req *r)
{
	char err[512];
	int rc = apitoken_revoke(r->st, r->param, r->token.tenant_id, err, sizeof(err));
	if (rc)
		api_fail(r, rc, NULL, err);
	else
		api_reply(r, 204, NULL);
}

const struct api_route api_routes[] = {
	{"GET", "/v1/status", get_status, 0},
	{"GET", "/v1/tokens", list_tokens, 0},
	{"POST", "/v1/tokens", add_token, API_BODY | API_PLATFORM | API_IDEMPOTENT},
	{"DELETE", "/v1/tokens/{name}", revoke_token, 0},
	/* tenants, domains, policies (tenants.c, domains.c) */
	{"GET", "/v1/tenants", api_tenants_list, 0},
	{"POST", "/v1/tenants", api_tenant_add, API_BODY | API_PLATFORM | API_IDEMPOTENT},
	{"GET", "/v1/tenants/{tenant}", api_tenant_get, 0},
	{"DELETE", "/v1/tenants/{tenant}", api_tenant_remove, API_PLATFORM},
	{"GET", "/v1/tenants/{tenant}/policy", api_tenant_policy_get, 0},
	{"PUT", "/v1/tenants/{tenant}/policy", api_tenant_policy_put, API_BODY},
	{"GET", "/v1/policy", api_policy_get, 0},
	{"PUT", "/v1/policy", api_policy_put, API_BODY | API_PLATFORM},
	{"GET", "/v1/domains", api_domains_list, 0},
	{"POST", "/v1/domains", api_domain_add, API_BODY | API_IDEMPOTENT | API_EXPORTS_SOON},
	{"GET", "/v1/domains/{domain}", api_domain_get, 0},
	{"DELETE", "/v1/domains/{domain}", api_domain_remove, API_EXPORTS_SOON},
	{"GET", "/v1/domains/{domain}/records", api_domain_records, 0},
	{"GET", "/v1/domains/{domain}/policy", api_domain_policy_get, 0},
	{"PUT", "/v1/domains/{domain}/policy", api_domain_policy_put, API_BODY},
	/* keys (keys.c) */
	{"GET", "/v1/domains/{domain}/keys", keys_list, 0},
	{"POST", "/v1/domains/{domain}/keys", keys_import, API_BODY | API_IDEMPOTENT | API_EXPORTS},
	{"POST", "/v1/domains/{domain}/keys/rotate", keys_rotate, API_BODY | API_IDEMPOTENT},
	{"POST", "/v1/domains/{domain}/keys/{id}/revoke", keys_revoke,
	 API_BODY | API_IDEMPOTENT | API_EXPORTS},
	{"PUT", "/v1/domains/{domain}/selectors/{selector}/key", keys_put, API_BODY | API_EXPORTS},
	{"POST", "/v1/keys/rotate", keys_rotate_all, API_BODY | API_IDEMPOTENT},
	{"POST", "/v1/keys/revoke", keys_revoke_all, API_BODY | API_IDEMPOTENT | API_EXPORTS},
	/* the check (check.c) */
	{"GET", "/v1/domains/{domain}/check", api_check_get, 0},
	{"POST", "/v1/domains/{domain}/check", api_check_run, API_NETWORK},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

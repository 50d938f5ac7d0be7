/* keys: the DKIM key resources of dnsd-api: a domain's keys (list, rotate, revoke by id,
 * import, put at a selector) and the platform's bulk rotate and emergency bulk revoke, each a
 * handler over the key lifecycle in dnsd/lifecycle.h. A tenant's token reaches its own tenant's
 * domains only; another tenant's domain is answered 404 exactly like a missing one. */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "err.h"
#include "lifecycle.h"

/* ---- the body ---- */

enum { F_STRING, F_BOOL, F_COUNT, F_ARRAY };

/* A member a body may have: its JSON type, and whether it must be there. */
struct field {
	const char *name;
	int type;
	int required;
};

/* Checks r's body against fields (ended by a NULL name): no member that is not one of them, each
 * of the right type, the required ones there. 0, or -1 with the 400 reply naming the member. */
static int body_check(struct api_req *r, const struct field *fields)
{
	static const char *const types[] = {"a string", "true or false", "a whole number >= 0",
					    "an array"};
	const char *k;
	json_t *v;
	json_object_foreach(r->body, k, v)
	{
		const struct field *f = fields;
		while (f->name && strcmp(f->name, k))
			f++;
		if (!f->name) {
			api_error(r, 400, "unknown_field", k, "unknown field \"%s\"", k);
			return -1;
		}
		int good = f->type == F_STRING	? json_is_string(v)
			   : f->type == F_BOOL	? json_is_boolean(v)
			   : f->type == F_COUNT ? json_is_integer(v) && json_integer_value(v) >= 0
						: json_is_array(v);
		if (!good) {
			api_error(r, 400, "invalid_field", k, "\"%s\" must be %s", k,
				  types[f->type]);
			return -1;
		}
	}
	for (const struct field *f = fields; f->name; f++)
		if (f->required && !json_object_get(r->body, f->name)) {
			api_error(r, 400, "missing_field", f->name, "the body needs \"%s\"",
				  f->name);
			return -1;
		}
	return 0;
}

/* The string member k of the (checked) body, or NULL when absent. */
static const char *opt_string(const struct api_req *r, const char *k)
{
	return json_string_value(json_object_get(r->body, k));
}

/* The boolean member k of the (checked) body, or def when absent. */
static int opt_bool(const struct api_req *r, const char *k, int def)
{
	json_t *v = json_object_get(r->body, k);
	return v ? json_is_true(v) : def;
}

/* ---- scope ---- */

/* The reply for the library's error on r's writer, naming its field (none when ""); the field
 * "file" is the body's "key" (the library reads PEM text as it reads a file). */
static void fail_w(struct api_req *r)
{
	const char *field = r->w->field[0] ? r->w->field : NULL;
	if (field && !strcmp(field, "file"))
		field = "key";
	api_fail(r, r->w->rc, field, r->w->err);
}

/* ---- one key as JSON ---- */

struct find_key {
	int64_t id;
	json_t *v;
};

static int find_one(void *arg, const struct lc_key_info *k)
{
	struct find_key *f = arg;
	if (k->id != f->id)
		return 0;
	f->v = apijson_key(k, APIJSON_KEY_API);
	return 1;
}

/* Key id of domain as the list shows it: a new reference, or NULL (out of memory, or gone). */
static json_t *key_json(struct api_req *r, const char *domain, int64_t id)
{
	struct find_key f = {id, NULL};
	if (lc_key_list(r->w, domain, find_one, &f) < 0)
		wr_clear(r->w);
	return f.v;
}

/* ---- the handlers ---- */

static int list_one(void *arg, const struct lc_key_info *k)
{
	/* 1: out of memory */
	return json_array_append_new(arg, apijson_key(k, APIJSON_KEY_API)) ? 1 : 0;
}

/* GET /v1/domains/{domain}/keys: every key the domain had, oldest first, removed domains too. */
void keys_list(struct api_req *r)
{
	struct reg_domain d;
	if (api_domain_in_scope(r, r->param, &d, 1))
		return;
	json_t *a = json_array();
	int rc = a ? lc_key_list(r->w, d.name, list_one, a) : 1;
	if (rc < 0)
		fail_w(r);
	else if (rc > 0)
		api_error(r, 500, "internal", NULL, "out of memory");
	else
		api_reply(r, 200, json_pack("{s:O}", "keys", a));
	json_decref(a);
}

/* POST /v1/domains/{domain}/keys/rotate {role?, algorithm?}: a new key, published now; the job
 * activates it once every name server serves it and the hold has passed. */
void keys_rotate(struct api_req *r)
{
	static const struct field fields[] = {
		{"role", F_STRING, 0}, {"algorithm", F_STRING, 0}, {NULL, 0, 0}};
	struct reg_domain d;
	if (body_check(r, fields) || api_domain_in_scope(r, r->param, &d, 0))
		return;
	struct lc_rotate_in in = {.domain = d.name,
				  .role = opt_string(r, "role"),
				  .algorithm = opt_string(r, "algorithm")};
	struct lc_key_out k;
	if (lc_key_rotate(r->w, &in, &k)) {
		fail_w(r);
		return;
	}
	api_reply(r, 201, key_json(r, d.name, k.key_id));
}

/* POST /v1/domains/{domain}/keys/{id}/revoke {reason?}: the emergency revoke of one key. Its
 * selector answers p= at once; an active key's role gets the published key, or a new one, active
 * now. */
void keys_revoke(struct api_req *r)
{
	static const struct field fields[] = {{"reason", F_STRING, 0}, {NULL, 0, 0}};
	struct reg_domain d;
	struct lc_key k;
	if (body_check(r, fields) || api_domain_in_scope(r, r->param, &d, 0))
		return;
	char *end;
	long long id = strtoll(r->param2, &end, 10);
	/* The key found by id and its revoke by selector in one transaction: the selector's key
	 * is the one named. */
	if (wr_begin(r->w)) {
		fail_w(r);
		return;
	}
	int depth = r->w->depth; /* a failed commit has closed it already */
	struct lc_revoke_out out;
	if (*end || id <= 0 || !lc_key_by_id(r->w, d.id, id, &k)) {
		if (r->w->rc)
			fail_w(r);
		else
			api_error(r, 404, "not_found", NULL, "%s has no key '%s'", d.name,
				  r->param2);
	} else if (!strcmp(k.state, "revoked")) {
		api_error(r, 409, "exists", NULL, "%s: key %lld is already revoked", d.name, id);
	} else {
		struct lc_revoke_in in = {.domain = d.name,
					  .selector = k.selector,
					  .reason = opt_string(r, "reason")};
		if (lc_key_revoke(r->w, &in, &out) || wr_commit(r->w))
			fail_w(r);
		else
			r->status = 200;
	}
	if (r->status != 200) {
		if (r->w->depth == depth)
			wr_rollback(r->w);
		return;
	}
	json_t *v = json_pack("{s:o, s:o, s:o, s:o}", "revoked", key_json(r, d.name, out.revoked),
			      "replacement",
			      out.replacement ? key_json(r, d.name, out.replacement) : json_null(),
			      "how", out.how ? json_string(out.how) : json_null(), "window_until",
			      apijson_time(out.window_until > out.now ? out.window_until : 0));
	api_reply(r, 200, v);
}

/* The PEM text of the body's "key", into in. */
static void pem_in(struct api_req *r, struct lc_import_in *in)
{
	json_t *v = json_object_get(r->body, "key");
	in->pem = json_string_value(v);
	in->pem_len = json_string_length(v);
	in->source = "\"key\""; /* messages say: key file "key" ... */
}

/* POST /v1/domains/{domain}/keys {key, selector?, active?}: a private key (PEM) imported and
 * published in the selector (or a free slot of the role it fits), or active at once. */
void keys_import(struct api_req *r)
{
	static const struct field fields[] = {{"key", F_STRING, 1},
					      {"selector", F_STRING, 0},
					      {"active", F_BOOL, 0},
					      {NULL, 0, 0}};
	struct reg_domain d;
	if (body_check(r, fields) || api_domain_in_scope(r, r->param, &d, 0))
		return;
	struct lc_import_in in = {.domain = d.name,
				  .selector = opt_string(r, "selector"),
				  .activate = opt_bool(r, "active", 0)};
	pem_in(r, &in);
	struct lc_import_out out;
	if (lc_key_import(r->w, &in, &out)) {
		fail_w(r);
		return;
	}
	api_reply(r, 201, key_json(r, d.name, out.key.key_id));
}

/* PUT /v1/domains/{domain}/selectors/{selector}/key {key, active?}: key put, one commit: the
 * selector's live key is revoked and this one takes its place (and state) without the selector
 * ever answering p=. The key the selector holds already: 200, nothing changed. */
void keys_put(struct api_req *r)
{
	static const struct field fields[] = {
		{"key", F_STRING, 1}, {"active", F_BOOL, 0}, {NULL, 0, 0}};
	struct reg_domain d;
	if (body_check(r, fields) || api_domain_in_scope(r, r->param, &d, 0))
		return;
	struct lc_import_in in = {.domain = d.name,
				  .selector = r->param2,
				  .activate = opt_bool(r, "active", 0),
				  .replace = 1};
	pem_in(r, &in);
	struct lc_import_out out;
	if (lc_key_import(r->w, &in, &out)) {
		fail_w(r);
		return;
	}
	json_t *v = json_pack("{s:o, s:o, s:b}", "key", key_json(r, d.name, out.key.key_id),
			      "replaced", out.replaced ? json_integer(out.replaced) : json_null(),
			      "unchanged", out.unchanged);
	api_reply(r, 200, v);
}

/* The tenant a bulk operation names (the body's "tenant"), in the caller's scope: a tenant's
 * token its own (the default), a platform token the one named or NULL for all. 0, or -1 with a
 * 404 for another tenant's name. */
static int bulk_tenant(struct api_req *r, const char **tenant)
{
	*tenant = opt_string(r, "tenant");
	if (!r->token.tenant_id)
		return 0;
	if (*tenant && strcmp(*tenant, r->token.tenant)) {
		api_error(r, 404, "not_found", NULL, "no tenant '%s' (see 'dnsdctl tenant list')",
			  *tenant);
		return -1;
	}
	*tenant = r->token.tenant;
	return 0;
}

/* The body's whole number k, at most max, or def when absent; -1 with a 400 past max. */
static int64_t bounded(struct api_req *r, const char *k, int64_t max, int64_t def)
{
	json_t *v = json_object_get(r->body, k);
	int64_t n = v ? (int64_t)json_integer_value(v) : def;
	if (n > max) {
		api_error(r, 400, "invalid", k, "\"%s\" is at most %lld", k, (long long)max);
		return -1;
	}
	return n;
}

/* POST /v1/keys/rotate {tenant?, older_than_days?, over_hours?}: schedules the active keys
 * activated at least older_than_days ago to rotate at times spread over over_hours (24). */
void keys_rotate_all(struct api_req *r)
{
	static const struct field fields[] = {{"tenant", F_STRING, 0},
					      {"older_than_days", F_COUNT, 0},
					      {"over_hours", F_COUNT, 0},
					      {NULL, 0, 0}};
	struct lc_rotate_all_in in;
	if (body_check(r, fields) || bulk_tenant(r, &in.tenant) ||
	    (in.older_than_days = bounded(r, "older_than_days", 36500, 0)) < 0 ||
	    (in.over_hours = bounded(r, "over_hours", 24 * 365, 24)) < 0)
		return;
	struct lc_rotate_all_out out;
	if (lc_key_rotate_all(r->w, &in, &out)) {
		fail_w(r);
		return;
	}
	api_reply(r, 200,
		  json_pack("{s:I, s:o, s:o}", "scheduled", (json_int_t)out.scheduled, "first",
			    apijson_time(out.scheduled ? out.first : 0), "last",
			    apijson_time(out.scheduled ? out.last : 0)));
}

/* The body's "domains" into in, each checked in the caller's scope first: one that is not
 * there, or is another tenant's, refuses the whole list (404 naming it). 0, or -1 with the reply
 * set. in->domains is malloc'd (the caller frees it); its strings are the body's. */
static int bulk_domains(struct api_req *r, json_t *list, struct lc_revoke_all_in *in)
{
	size_t n = json_array_size(list);
	if (!n) {
		api_error(r, 400, "invalid", "domains", "\"domains\" lists no domain");
		return -1;
	}
	const char **names = calloc(n, sizeof(*names));
	if (!names) {
		api_error(r, 500, "internal", NULL, "out of memory");
		return -1;
	}
	in->domains = names;
	in->ndomains = n;
	for (size_t i = 0; i < n; i++) {
		struct reg_domain d;
		if (!(names[i] = json_string_value(json_array_get(list, i)))) {
			api_error(r, 400, "invalid_field", "domains",
				  "\"domains\" is an array of domain names");
			return -1;
		}
		if (api_domain_in_scope(r, names[i], &d, 0))
			return -1;
	}
	return 0;
}

/* POST /v1/keys/revoke {tenant? | domains?, reason, replace?}: the emergency bulk revoke, one
 * commit: every live key of a tenant's domains, or of the domains listed, revoked; each role
 * that had an active key gets a new key, active at once (unless replace is false). A platform
 * token names one of tenant or domains; a tenant's token may name neither (its own tenant). */
void keys_revoke_all(struct api_req *r)
{
	static const struct field fields[] = {{"tenant", F_STRING, 0},
					      {"domains", F_ARRAY, 0},
					      {"reason", F_STRING, 1},
					      {"replace", F_BOOL, 0},
					      {NULL, 0, 0}};
	if (body_check(r, fields))
		return;
	json_t *list = json_object_get(r->body, "domains");
	int has_tenant = json_object_get(r->body, "tenant") != NULL;
	struct lc_revoke_all_in in = {.reason = opt_string(r, "reason"),
				      .no_replace = !opt_bool(r, "replace", 1)};
	struct lc_revoke_all_out out;
	if (!*in.reason)
		api_error(r, 400, "invalid", "reason", "\"reason\" says why: it may not be empty");
	else if (list && has_tenant)
		api_error(r, 400, "invalid", "domains", "give \"tenant\" or \"domains\", not both");
	else if (!list && !has_tenant && !r->token.tenant_id)
		api_error(r, 400, "missing_field", "tenant",
			  "the body needs \"tenant\" or \"domains\"");
	else if (list ? bulk_domains(r, list, &in) : bulk_tenant(r, &in.tenant))
		; /* the reply says why */
	else if (lc_key_revoke_all(r->w, &in, &out))
		fail_w(r);
	else
		api_reply(r, 200,
			  json_pack("{s:I, s:I, s:I, s:I}", "domains", (json_int_t)out.domains,
				    "revoked", (json_int_t)out.revoked, "replaced",
				    (json_int_t)out.replaced, "unreplaced",
				    (json_int_t)out.unreplaced));
	free((void *)in.domains);
}

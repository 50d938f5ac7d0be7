/* apijson: a token, a tenant, a domain, its records, a key, and a time, as JSON. */
#include "apijson.h"

#include <time.h>

json_t *apijson_time(int64_t t)
{
	if (t <= 0)
		return json_null();
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

json_t *apijson_token(const struct apitoken *t)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "name", t->name, "scope",
			 t->tenant_id ? "tenant" : "platform", "tenant",
			 t->tenant_id ? json_string(t->tenant) : json_null(), "created_at",
			 apijson_time(t->created_at), "last_used_at", apijson_time(t->last_used_at),
			 "revoked_at", apijson_time(t->revoked_at));
}

json_t *apijson_tokens(const struct apitoken *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, apijson_token(&v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *apijson_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *apijson_tenant(const struct reg_tenant *t)
{
	return json_pack(
		"{s:s, s:o, s:I, s:o, s:o, s:{s:o, s:o, s:o}}", "name", t->name, "created_at",
		apijson_time(t->created_at), "domains", (json_int_t)t->domains, "slots",
		t->slots ? json_integer(t->slots) : json_null(), "ed25519",
		t->ed25519 < 0 ? json_null() : json_boolean(t->ed25519), "policy", "spf",
		apijson_str(t->spf), "mx", apijson_str(t->mx), "dmarc", apijson_str(t->dmarc));
}

json_t *apijson_domain(const struct reg_domain *d)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "domain", d->name, "tenant",
			 d->tenant, "token", d->token, "state", d->state, "return_path", d->rp,
			 "created_at", apijson_time(d->created_at), "removed_at",
			 apijson_time(d->removed_at));
}

json_t *apijson_records(const struct reg_record *r, int n)
{
	json_t *a = json_array();
	for (int i = 0; a && i < n; i++)
		if (json_array_append_new(a,
					  json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", r[i].name,
						    "type", "CNAME", "value", r[i].value, "purpose",
						    r[i].purpose, "optional", r[i].optional))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *apijson_key(const struct lc_key_info *k)
{
	/* k->at: created, published, activated, retired, revoked, active_after, rotate_due */
	return json_pack("{s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)k->id, "selector", k->selector, "role", k->role,
			 "algorithm", k->alg, "state", k->state, "public_key", k->public_key,
			 "created_at", apijson_time(k->at[0]), "published_at",
			 apijson_time(k->at[1]), "activated_at", apijson_time(k->at[2]),
			 "retired_at", apijson_time(k->at[3]), "revoked_at", apijson_time(k->at[4]),
			 "active_after", apijson_time(k->at[5]), "rotate_due",
			 apijson_time(k->at[6]));
}

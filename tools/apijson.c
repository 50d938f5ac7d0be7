/* apijson: a token, a tenant, a domain, its records, a key, a time, and text, as JSON. */
#include "apijson.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"

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

json_t *apijson_key(const struct lc_key_info *k, enum apijson_key_style style)
{
	/* k->at's order */
	static const char *const when[2][7] = {{"created_at", "published_at", "activated_at",
						"retired_at", "revoked_at", "active_after",
						"rotate_due"},
					       {"created", "published", "activated", "retired",
						"revoked", "active_after", "rotate_due"}};
	int cli = style == APIJSON_KEY_CLI;
	json_t *v = json_pack("{s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)k->id, "selector",
			      apijson_text(k->selector), "role", apijson_text(k->role), "algorithm",
			      apijson_text(k->alg), "state", apijson_text(k->state));
	/* set_new takes its value even when it fails */
	int bad = !v || (!cli && json_object_set_new(v, "public_key", apijson_text(k->public_key)));
	for (int i = 0; i < 7 && !bad; i++)
		bad = json_object_set_new(v, when[cli][i], apijson_time(k->at[i]));
	if (cli && !bad)
		bad = json_object_set_new(v, "published_serial",
					  json_integer(k->published_serial)) ||
		      json_object_set_new(v, "private_key", apijson_text(k->private_key)) ||
		      json_object_set_new(v, "public_key", apijson_text(k->public_key));
	if (bad) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *apijson_text(const char *s)
{
	if (!s)
		return json_null();
	size_t n = strlen(s) * 3 + 1; /* each byte at most U+FFFD's three */
	char *buf = malloc(n);
	json_t *v = buf ? json_string(names_utf8(buf, n, s)) : NULL;
	free(buf);
	return v;
}

/* apijson: a token, a time, and text, as JSON. */
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

/* apitokenctl: dnsdctl api-token: makes, lists and revokes the HTTP API's tokens. */
#include "apitokenctl.h"

#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "apitoken.h"
#include "err.h"
#include "registry.h"

static void token_add(struct ctx *c)
{
	char text[APITOKEN_TEXT_LEN + 1];
	struct apitoken t;
	int rc = apitoken_add(c->st, c->o.pos[2], c->o.tenant, &t, text, c->err, sizeof(c->err));
	if (rc) {
		c->w.rc = rc; /* the code of a --json error */
		fail(c, "api-token add: %s", c->err);
	}
	if (c->o.json) {
		json_t *v = apijson_token(&t);
		if (v)
			json_object_set_new(v, "token", json_string(text));
		ctl_print(v);
	} else {
		printf("%s\n", text);
		fprintf(stderr,
			"api token '%s' (%s%s) added: its text above is shown only now, and never "
			"stored\n",
			shown(t.name), t.tenant_id ? "tenant " : "platform", shown(t.tenant));
	}
}

static void token_list(struct ctx *c)
{
	struct apitoken *v;
	size_t n;
	int64_t tid = c->o.tenant ? reg_tenant_id(&c->w, c->o.tenant, 1) : 0;
	if (c->o.tenant && !tid)
		fail(c, "%s", c->w.err);
	int rc = apitoken_list(c->st, tid, &v, &n, c->err, sizeof(c->err));
	if (rc) {
		c->w.rc = rc;
		fail(c, "api-token list: %s", c->err);
	}
	if (c->o.json) {
		json_t *a = apijson_tokens(v, n);
		free(v);
		ctl_print(a);
		return;
	}
	printf("%-24s %-16s %-20s %-20s %s\n", "NAME", "TENANT", "CREATED", "LAST USED", "REVOKED");
	for (size_t i = 0; i < n; i++) {
		char b1[32], b2[32], b3[32];
		printf("%-24s %-16s %-20s %-20s %s\n", shown(v[i].name),
		       v[i].tenant_id ? shown(v[i].tenant) : "(platform)",
		       fmt_time(v[i].created_at, b1, sizeof(b1)),
		       fmt_time(v[i].last_used_at, b2, sizeof(b2)),
		       fmt_time(v[i].revoked_at, b3, sizeof(b3)));
	}
	free(v);
}

void cmd_api_token(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!strcmp(sub, "add") && c->o.npos == 3) {
		open_store(c, 0);
		token_add(c);
	} else if (!strcmp(sub, "list") && c->o.npos == 2) {
		open_store(c, 0);
		token_list(c);
	} else if (!strcmp(sub, "revoke") && c->o.npos == 3 && !c->o.tenant) {
		open_store(c, 0);
		int rc = apitoken_revoke(c->st, c->o.pos[2], 0, c->err, sizeof(c->err));
		if (rc) {
			c->w.rc = rc;
			fail(c, "api-token revoke: %s", c->err);
		}
		printf("api token '%s' revoked\n", shown(c->o.pos[2]));
	} else
		die_usage("api-token add NAME [--tenant T] [--json] | list [--tenant T] [--json] | "
			  "revoke NAME");
}

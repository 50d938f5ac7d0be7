/* check: the check of a customer domain's records over the API: GET /v1/domains/{domain}/check
 * (what the last check kept) and POST /v1/domains/{domain}/check (runs it now through the
 * resolver of --resolver, keeps it as dnsdctl check does, and answers the same object with what
 * this run found). The lookups and the store are the library's (dnsd/check.h). */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "check.h"
#include "err.h"
#include "registry.h"

const char *api_resolver;

/* A string, or null for NULL or "". */
static json_t *str_or_null(const char *s)
{
	return s && s[0] ? apijson_text(s) : json_null();
}

/* A name in the stored form: without its final dot. */
static json_t *stored_name(const char *s)
{
	size_t n = strlen(s);
	return json_stringn(s, n && s[n - 1] == '.' ? n - 1 : n);
}

/* Builds the records list of the reply, one record at a time; run is this check's run (NULL for
 * a GET), its records in the same order. */
struct build {
	json_t *recs;
	const struct check_domain *run;
	int i, in_place, pending, drifted, unchecked;
};

static int add_rec(void *arg, const struct check_stored_rec *s)
{
	struct build *b = arg;
	json_t *o = json_pack(
		"{s:o, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", stored_name(s->name),
		"purpose", s->purpose, "optional", s->optional, "expected", stored_name(s->expect),
		"state", str_or_null(s->state), "outcome", str_or_null(s->outcome), "detail",
		str_or_null(s->detail), "since", apijson_time(s->since), "checked_at",
		apijson_time(s->checked_at), "verified_at", apijson_time(s->verified_at));
	if (!o)
		return DNSD_ENOMEM;
	if (!s->state)
		b->unchecked++;
	else if (!strcmp(s->state, "verified"))
		b->in_place++;
	else if (!strcmp(s->state, "drifted"))
		b->drifted++;
	else
		b->pending++;
	if (b->run && b->i < b->run->nrec) {
		const struct check_record *x = &b->run->rec[b->i];
		json_t *chain = json_array();
		for (int j = 0; j < x->nchain; j++)
			json_array_append_new(chain, stored_name(x->chain[j]));
		/* This run's outcome, also when a failed lookup left the state as it was. */
		json_object_set_new(o, "outcome", json_string(check_outcome_name[x->out]));
		json_object_set_new(o, "detail", apijson_text(x->detail));
		json_object_set_new(o, "hint", str_or_null(x->hint));
		json_object_set_new(o, "found", str_or_null(x->found));
		json_object_set_new(o, "chain", chain);
	}
	b->i++;
	json_array_append_new(b->recs, o);
	return 0;
}

/* The reply: the domain's stored check and its records; with run, what this run found too. */
static void reply_check(struct api_req *r, const struct reg_domain *d,
			const struct check_domain *run)
{
	struct check_state cs;
	struct build b = {.recs = json_array(), .run = run};
	int rc = b.recs ? check_stored(r->w, d, &cs, add_rec, &b) : DNSD_ENOMEM;
	if (rc) {
		json_decref(b.recs);
		api_fail(r, rc, NULL, r->w->rc ? r->w->err : "out of memory");
		return;
	}
	json_t *v = json_pack(
		"{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:i, s:i, s:i, s:i}}",
		"domain", d->name, "tenant", d->tenant, "state", str_or_null(cs.state), "way",
		str_or_null(cs.way), "since", apijson_time(cs.since), "checked_at",
		apijson_time(cs.checked_at), "verified_at", apijson_time(cs.verified_at),
		"next_check", apijson_time(cs.next_at), "host", str_or_null(cs.host), "records",
		b.recs, "summary", "in_place", b.in_place, "pending", b.pending, "drifted",
		b.drifted, "unchecked", b.unchecked);
	if (v && run) {
		json_t *warn = json_array(), *changes = json_array();
		for (int i = 0; i < run->nwarn; i++)
			json_array_append_new(warn, apijson_text(run->warn[i]));
		for (int i = 0; i < run->nchanges; i++)
			json_array_append_new(changes, apijson_text(run->changes[i]));
		json_object_set_new(v, "ok", json_boolean(run->all_ok));
		json_object_set_new(v, "lookups_failed", json_integer(run->errors));
		json_object_set_new(v, "warnings", warn);
		json_object_set_new(v, "changes", changes);
	}
	api_reply(r, 200, v);
}

/* GET /v1/domains/{domain}/check: what the last check found, record by record. */
void api_check_get(struct api_req *r)
{
	struct reg_domain d;
	if (api_domain_in_scope(r, r->param, &d, 0))
		return;
	reply_check(r, &d, NULL);
}

/* POST /v1/domains/{domain}/check: checks it now and keeps what it found. Safe to repeat: each
 * run judges the records as they are then. */
void api_check_run(struct api_req *r)
{
	struct reg_domain d;
	char why[300];
	if (api_domain_in_scope(r, r->param, &d, 0))
		return;
	struct check_domain *c = calloc(1, sizeof(*c));
	if (!c) {
		api_fail(r, DNSD_ENOMEM, NULL, "out of memory");
		return;
	}
	if (check_load(r->w, &d, c)) {
		api_fail(r, r->w->rc, NULL, r->w->err);
		free(c);
		return;
	}
	ldns_resolver *res = check_resolver(api_resolver, why, sizeof(why));
	if (!res) {
		api_error(r, 500, "internal", NULL, "%s", why);
		free(c);
		return;
	}
	check_run(res, c);
	ldns_resolver_deep_free(res);
	if (check_save(r->w, c, store_now()))
		api_fail(r, r->w->rc, NULL, r->w->err);
	else
		reply_check(r, &d, c);
	free(c);
}

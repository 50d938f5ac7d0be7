/* keyctl: dnsdctl's front-end to the key lifecycle: key, slot, ns, maintain
 * and export parse their options, call the write library (lifecycle.h, ns.h,
 * export.h) and print what it answers. */
#include "apijson.h"
#include "ctl.h"
#include "err.h"
#include "export.h"
#include "jobmetrics.h"
#include "keyfile.h"
#include "keys.h"
#include "lifecycle.h"
#include "ns.h"
#include "registry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the library's lifecycle under the names the rest of dnsdctl calls (domain
 * add, import and the job, until they call lc_* themselves) ---- */

int64_t key_hold(struct ctx *c, int64_t slot_id, int64_t now)
{
	int64_t hold = lc_key_hold(&c->w, slot_id, now);
	ctl_check(c);
	return hold;
}

int key_names_check(const char *domain, const char *label, const char *token, char *why, size_t n)
{
	return keyfile_names_check(domain, label, token, why, n, NULL);
}

int key_store_file(struct ctx *c, const keys_key *k, const char *domain, const char *label, const char *token,
		   const char *suffix, char *path, size_t pathlen, char *why, size_t whylen)
{
	int rc = keyfile_store(&c->w, k, domain, label, token, suffix, path, pathlen);
	if (rc) {
		size_t l = strnlen(c->w.err, whylen - 1);
		memcpy(why, c->w.err, l);
		why[l] = 0;
		wr_clear(&c->w);
	}
	return rc;
}

void key_new_file(struct ctx *c, const char *domain, const char *token, const char *alg, const char *label,
		  char *pub, size_t publen, char *path, size_t pathlen)
{
	if (keyfile_new(&c->w, domain, token, alg, label, pub, publen, path, pathlen))
		fail(c, "%s", c->w.err);
}

/* Fails the command (inside its transaction) on the writer's error. */
static void tx_check(struct ctx *c)
{
	if (c->w.rc)
		fail(c, "%s; nothing was changed", c->w.err);
}

int64_t key_insert(struct ctx *c, int64_t domain_id, int64_t slot_id, const char *alg, const char *pub,
		   const char *path, const char *state, const char *first_event, const char *cause)
{
	/* The seam: domain add says its keys are a domain's first in its cause,
	 * until it fills lc_key_new.first_keys itself. */
	struct lc_key_new k = { .domain_id = domain_id,
				.slot_id = slot_id,
				.alg = alg,
				.pub = pub,
				.path = path,
				.state = state,
				.first_event = first_event,
				.cause = cause,
				.first_keys = !strncmp(cause, "domain add", 10) };
	int64_t kid = lc_key_insert(&c->w, &k);
	tx_check(c);
	return kid;
}

/* The exports after a change; the exit status they call for. */
static int finish_change(struct ctx *c)
{
	int changed = 0;
	return export_refresh(c, &changed);
}

/* The JSON answer of a command that made a key. */
static void json_new_key(const struct lc_key_out *k)
{
	char t[32];
	json_t *v = ctl_jobj();
	ctl_jset(v, "domain", k->domain);
	ctl_jseti(v, "key_id", k->key_id);
	ctl_jset(v, "selector", k->selector);
	ctl_jset(v, "algorithm", k->alg);
	ctl_jset(v, "state", k->state);
	ctl_jset(v, "active_after", fmt_time(k->active_after, t, sizeof(t)));
	ctl_jset(v, "private_key", k->path);
	ctl_print(v);
}

/* ---- key list ---- */

struct list_arg {
	struct ctx *c;
	json_t *all; /* --json: the keys */
};

static int list_one(void *arg, const struct lc_key_info *k)
{
	struct list_arg *a = arg;
	char buf[7][32];
	const char *tb[7];
	for (int i = 0; i < 7; i++)
		tb[i] = fmt_time(k->at[i], buf[i], sizeof(buf[i]));
	if (a->c->o.json) {
		ctl_jpush(a->all, apijson_key(k, APIJSON_KEY_CLI));
	} else {
		char next[64];
		if (!strcmp(k->state, "published"))
			snprintf(next, sizeof(next), "active from %s", tb[5]);
		else if (k->at[6] > 0)
			snprintf(next, sizeof(next), "rotates %s", tb[6]);
		else
			snprintf(next, sizeof(next), "-");
		printf("%-6lld %-9s %-8s %-9s %-10s %-21s %-21s %-21s %-34s %s\n", (long long)k->id,
		       shown(k->selector), shown(k->role), shown(k->alg), shown(k->state), tb[1], tb[2],
		       k->at[4] > 0 ? tb[4] : tb[3], next, k->public_key ? shown(k->public_key) : "-");
	}
	return 0;
}

static void key_list(struct ctx *c)
{
	if (c->o.npos != 3)
		die_usage("key list DOMAIN");
	open_store(c, 0);
	struct list_arg a = {c, c->o.json ? ctl_jarr() : NULL};
	if (!a.all)
		printf("%-6s %-9s %-8s %-9s %-10s %-21s %-21s %-21s %-34s %s\n", "ID", "SELECTOR", "ROLE", "KEY",
		       "STATE", "PUBLISHED", "ACTIVATED", "RETIRED/REVOKED", "NEXT", "PUBLIC (p=)");
	if (lc_key_list(&c->w, c->o.pos[2], list_one, &a)) {
		fflush(stdout);
		fail(c, "%s", c->w.err);
	}
	if (a.all)
		ctl_print(a.all);
}

/* ---- key rotate ---- */

static void key_rotate_all(struct ctx *c)
{
	struct lc_rotate_all_in in = { .older_than_days = num_arg(c, c->o.older_than, "--older-than (days)", 0, 36500, 0),
				       .over_hours = num_arg(c, c->o.over, "--over (hours)", 0, 24 * 365, 24),
				       .tenant = c->o.tenant };
	struct lc_rotate_all_out out;
	open_store(c, 0);
	if (lc_key_rotate_all(&c->w, &in, &out))
		fail(c, "%s", c->w.err);
	char a[32], b[32];
	fmt_time(out.first, a, sizeof(a));
	fmt_time(out.last, b, sizeof(b));
	if (c->o.json)
		ctl_print(json_pack("{s:I, s:s, s:s}", "scheduled", (json_int_t)out.scheduled,
				    "first", a, "last", b));
	else
		printf("%lld key(s) scheduled for rotation between %s and %s; 'dnsdctl maintain' (the timer) "
		       "publishes each at its time\n",
		       (long long)out.scheduled, a, b);
}

static void key_rotate(struct ctx *c)
{
	if (c->o.all) {
		if (c->o.npos != 2)
			die_usage("key rotate --all [--older-than DAYS] [--over HOURS] [--tenant NAME] takes no domain");
		key_rotate_all(c);
		return;
	}
	if (c->o.npos != 3)
		die_usage("key rotate DOMAIN [--role main|ed25519] [--algorithm A], or key rotate --all");
	if (c->o.role && strcmp(c->o.role, "main") && strcmp(c->o.role, "ed25519"))
		die_usage("--role is main or ed25519");
	struct lc_rotate_in in = { .domain = c->o.pos[2], .role = c->o.role, .algorithm = c->o.algorithm };
	struct lc_key_out k;
	open_store(c, 0);
	if (lc_key_rotate(&c->w, &in, &k))
		fail(c, "%s", c->w.err);
	int status = finish_change(c);
	char t[32];
	fmt_time(k.active_after, t, sizeof(t));
	if (c->o.json)
		json_new_key(&k);
	else
		printf("%s: key %lld (%s) published in %s; it becomes active at the first 'dnsdctl maintain' from %s "
		       "(once every name server serves it)\n",
		       k.domain, (long long)k.key_id, k.alg, k.selector, t);
	if (status)
		exit(status);
}

/* ---- key revoke (emergency) ---- */

/* The names of a comma-separated list (--domains), in a malloc'd array of pointers into a
 * malloc'd copy (*copy); their number into *n. Dies on an empty name. */
static const char **split_list(const char *list, char **copy, size_t *n)
{
	size_t cap = 1;
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	const char **v = calloc(cap, sizeof(*v));
	if (!v || !(*copy = strdup(list)))
		fail(NULL, "out of memory");
	*n = 0;
	for (char *save = NULL, *t = strtok_r(*copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		v[(*n)++] = t;
	if (*n != cap)
		die_usage("--domains is a comma-separated list of domains, none empty");
	return v;
}

static void key_revoke_all(struct ctx *c)
{
	int listed = c->o.npos > 2;
	if (!!c->o.tenant + !!c->o.domains + listed != 1)
		die_usage("key revoke --all --tenant NAME, or key revoke --all --domains A,B,... (or "
			  "DOMAIN...) [--reason TEXT] [--replace yes|no]");
	char *copy = NULL;
	size_t nd = listed ? (size_t)(c->o.npos - 2) : 0;
	const char **names = c->o.domains ? split_list(c->o.domains, &copy, &nd) : NULL;
	struct lc_revoke_all_in in = { .tenant = c->o.tenant,
				       .domains = names ? names : listed ? c->o.pos + 2 : NULL,
				       .ndomains = nd,
				       .reason = c->o.reason,
				       .no_replace = !yes_no(c, c->o.replace, "--replace", 1) };
	struct lc_revoke_all_out out;
	open_store(c, 0);
	int rc = lc_key_revoke_all(&c->w, &in, &out);
	free(names);
	free(copy);
	if (rc)
		fail(c, "%s", c->w.err);
	int status = finish_change(c);
	if (c->o.json)
		ctl_print(json_pack("{s:I, s:I, s:I, s:I}", "domains", (json_int_t)out.domains,
				    "revoked", (json_int_t)out.revoked, "replaced",
				    (json_int_t)out.replaced, "unreplaced",
				    (json_int_t)out.unreplaced));
	else
		printf("%lld domain(s): %lld key(s) revoked, now answering p=; %lld new key(s) active now "
		       "(mail they sign may fail DKIM at resolvers that cached their selector, for at most the "
		       "DKIM TTL)\n",
		       (long long)out.domains, (long long)out.revoked, (long long)out.replaced);
	if (out.unreplaced)
		fprintf(stderr, "dnsdctl: warning: %lld role(s) %s: they sign nothing until 'dnsdctl key rotate'\n",
			(long long)out.unreplaced,
			in.no_replace ? "got no new key (--replace no)" : "had no eligible slot for a new key");
	if (status)
		exit(status);
}

static void key_revoke(struct ctx *c)
{
	if (c->o.all) {
		key_revoke_all(c);
		return;
	}
	if (c->o.npos != 4)
		die_usage("key revoke DOMAIN SELECTOR [--reason TEXT], or key revoke --all");
	struct lc_revoke_in in = { .domain = c->o.pos[2], .selector = c->o.pos[3], .reason = c->o.reason };
	struct lc_revoke_out r;
	open_store(c, 0);
	if (lc_key_revoke(&c->w, &in, &r))
		fail(c, "%s", c->w.err);
	int status = finish_change(c);
	char t[32];
	fmt_time(r.window_until, t, sizeof(t));
	const char *selector = in.selector;
	if (c->o.json) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "domain", r.domain);
		ctl_jseti(v, "revoked", r.revoked);
		ctl_jset(v, "selector", selector);
		if (r.replacement) {
			ctl_jseti(v, "replacement", r.replacement);
			ctl_jset(v, "replacement_selector", r.replacement_selector);
		}
		ctl_jset(v, "window_until", r.window_until > r.now ? t : NULL);
		ctl_print(v);
	} else {
		printf("%s: key %lld in %s revoked: %s now answers p= (resolvers holding the old answer keep it for "
		       "at most the DKIM TTL)\n",
		       r.domain, (long long)r.revoked, selector, selector);
		if (r.replacement && r.window_until > r.now)
			printf("replacement: key %lld in %s (%s), active now; mail it signs may fail DKIM at resolvers "
			       "that cached %s's previous answer, until %s\n",
			       (long long)r.replacement, r.replacement_selector, r.how, r.replacement_selector, t);
		else if (r.replacement)
			printf("replacement: key %lld in %s (%s), active now; it was published long enough: no window\n",
			       (long long)r.replacement, r.replacement_selector, r.how);
		else if (r.was_active)
			fprintf(stderr, "dnsdctl: warning: %s has no eligible slot for a replacement: it signs "
					"nothing in its %s role until 'dnsdctl key rotate %s'\n",
				r.domain, lc_role_name(r.role), r.domain);
	}
	if (status)
		exit(status);
}

/* ---- key import, key put ---- */

static void key_import(struct ctx *c, int put)
{
	if (put ? c->o.npos != 3 || !c->o.file || !c->o.selector : c->o.npos != 3 || !c->o.file)
		die_usage(put ? "key put DOMAIN --selector SEL --file PEM"
			      : "key import DOMAIN --file PEM [--selector SEL] [--active yes|no]");
	if (put && c->o.active)
		die_usage("key put takes the state of the key it replaces: no --active");
	struct lc_import_in in = { .domain = c->o.pos[2],
				   .selector = c->o.selector,
				   .file = c->o.file,
				   .activate = yes_no(c, c->o.active, "--active", 0),
				   .replace = put };
	struct lc_import_out r;
	open_store(c, 0);
	if (lc_key_import(&c->w, &in, &r))
		fail(c, "%s", c->w.err);
	if (r.unchanged) {
		if (c->o.json)
			json_new_key(&r.key);
		else
			printf("%s: %s already holds this key (key %lld, %s): unchanged\n",
			       r.key.domain, r.key.selector, (long long)r.key.key_id, r.key.state);
		return;
	}
	int status = finish_change(c);
	char t[32];
	fmt_time(r.key.active_after, t, sizeof(t));
	int active = !strcmp(r.key.state, "active");
	if (c->o.json) {
		json_new_key(&r.key);
	} else {
		printf("%s: %s %s as key %lld in %s (%s), copied to %s\n", r.key.domain, put ? "put" : "imported",
		       c->o.file, (long long)r.key.key_id, r.key.selector, r.key.alg, r.key.path);
		if (r.replaced)
			printf("key %lld, which %s held, is revoked in the same commit: the selector went from the "
			       "old key to the new one without answering p=\n",
			       (long long)r.replaced, r.key.selector);
		if (active)
			printf("active now%s: resolvers that cached %s's previous answer may fail its signatures "
			       "until %s\n",
			       put ? "" : " (--active yes)", r.key.selector, t);
		else
			printf("published; it becomes active at the first 'dnsdctl maintain' from %s\n", t);
	}
	if (!r.is_ed25519 && r.bits < 2048)
		fprintf(stderr, "dnsdctl: warning: a %d-bit RSA key is weak (RFC 8301 asks for 2048): rotate it "
				"soon with 'dnsdctl key rotate %s'\n",
			r.bits, r.key.domain);
	if (status)
		exit(status);
}

void cmd_key(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!strcmp(sub, "list"))
		key_list(c);
	else if (!strcmp(sub, "rotate"))
		key_rotate(c);
	else if (!strcmp(sub, "revoke"))
		key_revoke(c);
	else if (!strcmp(sub, "import"))
		key_import(c, 0);
	else if (!strcmp(sub, "put"))
		key_import(c, 1);
	else
		die_usage("key list|rotate|revoke|import|put");
}

/* ---- slots ---- */

void cmd_slot(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (strcmp(sub, "set") || c->o.npos != 4 || !c->o.eligible)
		die_usage("slot set DOMAIN SELECTOR --eligible yes|no");
	int el = yes_no(c, c->o.eligible, "--eligible", 1), changed;
	open_store(c, 0);
	if (lc_slot_set(&c->w, c->o.pos[2], c->o.pos[3], el, &changed))
		fail(c, "%s", c->w.err);
	char name[256];
	if (reg_domain_norm(&c->w, c->o.pos[2], name, sizeof(name)))
		fail(c, "%s", c->w.err);
	printf("%s: slot %s is %seligible%s\n", name, c->o.pos[3], el ? "" : "not ", changed ? "" : " (unchanged)");
}

/* ---- name servers ---- */

struct ns_print {
	struct ctx *c;
	json_t *all; /* --json: the name servers */
};

static int ns_one(void *arg, const struct ns_info *n)
{
	struct ns_print *p = arg;
	char tb[32];
	fmt_time(n->checked_at, tb, sizeof(tb));
	if (p->c->o.json) {
		json_t *v = ctl_jobj();
		ctl_jset(v, "name", n->name);
		ctl_jset(v, "address", n->address);
		ctl_jseti(v, "port", n->port);
		if (n->has_serial)
			ctl_jseti(v, "serial", n->serial);
		else
			ctl_jset(v, "serial", NULL);
		ctl_jset(v, "checked", n->checked_at ? tb : NULL);
		if (n->has_serial)
			ctl_jseti(v, "lag_seconds", n->lag_seconds);
		ctl_jset(v, "error", n->error);
		ctl_jpush(p->all, v);
	} else {
		char sb[24], lb[40];
		snprintf(sb, sizeof(sb), "%lld", (long long)n->serial);
		if (!n->has_serial)
			snprintf(lb, sizeof(lb), "-");
		else if (!n->lag_seconds)
			snprintf(lb, sizeof(lb), "current");
		else
			snprintf(lb, sizeof(lb), "%llds behind", (long long)n->lag_seconds);
		printf("%-16s %-28s %-6lld %-11s %-18s %-21s %s\n", n->name, n->address, (long long)n->port,
		       n->has_serial ? sb : "-", lb, tb, n->error ? n->error : "");
	}
	return 0;
}

void cmd_ns(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!strcmp(sub, "add")) {
		char addr[64];
		int port;
		if (c->o.npos != 4)
			die_usage("ns add NAME ADDRESS[:PORT]");
		if (ctl_parse_addr(c->o.pos[3], addr, sizeof(addr), &port))
			fail(NULL, "invalid address '%s': an IPv4 or IPv6 address, optionally with :PORT ([v6]:PORT)",
			     c->o.pos[3]);
		open_store(c, 0);
		if (ns_add(&c->w, c->o.pos[2], addr, port))
			fail(c, "%s", c->w.err);
		printf("name server %s at %s port %d: a key becomes active only once it serves the key's serial\n",
		       c->o.pos[2], addr, port);
	} else if (!strcmp(sub, "remove")) {
		if (c->o.npos != 3)
			die_usage("ns remove NAME");
		open_store(c, 0);
		if (ns_remove(&c->w, c->o.pos[2]))
			fail(c, "%s", c->w.err);
		printf("name server %s removed\n", c->o.pos[2]);
	} else if (!strcmp(sub, "list") || !strcmp(sub, "check")) {
		open_store(c, 0);
		if (!strcmp(sub, "check") && ns_check(&c->w))
			fail(c, "%s", c->w.err);
		struct ns_print p = {c, c->o.json ? ctl_jarr() : NULL};
		if (!p.all)
			printf("%-16s %-28s %-6s %-11s %-18s %-21s %s\n", "NAME", "ADDRESS", "PORT", "SERIAL", "LAG",
			       "CHECKED", "ERROR");
		if (ns_list(&c->w, ns_one, &p)) {
			fflush(stdout);
			fail(c, "%s", c->w.err);
		}
		if (p.all)
			ctl_print(p.all);
	} else {
		die_usage("ns add NAME ADDRESS[:PORT] | ns list | ns check | ns remove NAME");
	}
}

/* ---- the job ---- */

/* The job's lines, printed after the exports as they always were. */
static void maintain_note(void *arg, const char *line)
{
	fprintf(arg, "%s\n", line);
}

/* --metrics-file: the run's figures for node_exporter, after a failed run too
 * (ok 0), so that an alert sees a job that runs and fails. A file that cannot be
 * written is said on stderr and does not change the exit status. */
static void maintain_metrics(struct ctx *c, const struct jobmetrics_run *run)
{
	if (!c->o.metrics_file || !*c->o.metrics_file)
		return;
	char err[sizeof(c->w.err)];
	int rc = c->w.rc;
	memcpy(err, c->w.err, sizeof(err));
	wr_clear(&c->w);
	if (jobmetrics_write(&c->w, run, c->o.metrics_file))
		fprintf(stderr, "dnsdctl: %s\n", c->w.err);
	wr_clear(&c->w);
	if (rc) { /* the run's error stays the one fail() reports */
		c->w.rc = rc;
		memcpy(c->w.err, err, sizeof(err));
	}
}

void cmd_maintain(struct ctx *c)
{
	struct lc_maintain_in in = { .max_keys = num_arg(c, c->o.max_keys, "--max-keys", 0, 1000000, 200),
				     .note = maintain_note };
	struct lc_maintain_out r;
	char *log = NULL;
	size_t loglen = 0;
	FILE *out = open_memstream(&log, &loglen);
	if (!out)
		fail(c, "out of memory");
	in.note_arg = out;
	open_store(c, 0);
	struct jobmetrics_run run = {.now = store_now()};
	if (lc_maintain(&c->w, &in, &r)) {
		maintain_metrics(c, &run);
		fail(c, "%s", c->w.err);
	}
	fclose(out);

	/* 4. The signer's view. */
	int changed = 0;
	int status = export_refresh(c, &changed);
	run = (struct jobmetrics_run){.now = run.now,
				      .ok = 1,
				      .exports_ok = !status,
				      .revoked = r.revoked,
				      .activated = r.activated,
				      .published = r.published,
				      .purged = r.purged,
				      .waiting = r.waiting};
	maintain_metrics(c, &run);
	if (c->o.json) {
		json_t *ns = ctl_jarr();
		for (size_t i = 0; i < r.nns; i++) {
			json_t *v = ctl_jobj();
			ctl_jset(v, "name", r.ns[i].name);
			ctl_jseti(v, "serial", r.ns[i].serial);
			ctl_jset(v, "error", r.ns[i].why[0] ? r.ns[i].why : NULL);
			ctl_jpush(ns, v);
		}
		ctl_print(json_pack("{s:i, s:i, s:i, s:i, s:i, s:b, s:I, s:I, s:I, s:s, s:o}",
				    "revoked", r.revoked, "activated", r.activated, "published",
				    r.published, "purged", r.purged, "waiting", r.waiting,
				    "more_due", r.more_due, "blocked", (json_int_t)r.blocked,
				    "skipped", (json_int_t)r.skipped, "serial",
				    (json_int_t)r.serial, "exports",
				    status    ? "failed"
				    : changed ? "rewritten"
					      : "unchanged",
				    "name_servers", ns));
	} else {
		fputs(log, stdout);
		for (size_t i = 0; i < r.nns; i++)
			if (r.ns[i].serial < 0)
				printf("name server %s: %s\n", r.ns[i].name, r.ns[i].why);
		if (!r.nns)
			printf("no name servers listed ('dnsdctl ns add'): activation waits only for the DKIM TTL\n");
		printf("%d revoked, %d activated, %d published, %d waiting; %d removed domain(s) purged (past the "
		       "%d-day retention); serial %lld; exports %s\n",
		       r.revoked, r.activated, r.published, r.waiting, r.purged, r.retention_days,
		       (long long)r.serial, status ? "FAILED" : changed ? "rewritten" : "unchanged");
		if (r.more_due)
			printf("more keys are due than --max-keys %lld: the next run goes on\n", (long long)in.max_keys);
		if (r.skipped)
			printf("%lld key(s) due for rotation skipped: their rows hold names no key file may have "
			       "(see above); fix the rows\n",
			       (long long)r.skipped);
	}
	free(log);
	lc_maintain_free(&r);
	if (status)
		exit(status);
}

/* ---- exports ---- */

int export_refresh(struct ctx *c, int *changed)
{
	struct export_conf ec = { .dir = c->o.export_dir,
				  .command = c->o.export_command,
				  .force = c->export_force,
				  .same_from = c->export_same_from };
	if (!export_write(&c->w, &ec, changed))
		return 0;
	fprintf(stderr, "dnsdctl: %s\n", c->w.err);
	wr_clear(&c->w);
	return EXIT_EXPORT;
}

void cmd_export(struct ctx *c)
{
	if (c->o.npos != 1)
		die_usage("export");
	open_store(c, 0);
	int changed = 0;
	c->export_force = 1;
	int status = export_refresh(c, &changed);
	char *dir = export_dir(c->o.export_dir, c->o.db);
	if (!status)
		printf("exports in %s %s\n", dir && *dir ? dir : "(turned off)", changed ? "rewritten" : "unchanged");
	free(dir);
	if (status)
		exit(status);
}

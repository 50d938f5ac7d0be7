/* keyctl: the DKIM key lifecycle in dnsdctl. Keys live in selector slots and
 * move published -> active -> retired -> revoked. The job (`maintain`) commits
 * every due transition as one batch; `key rotate|revoke|import` are the manual
 * steps; the exports tell the signer which key is active. dnsd never sees a
 * private key: it serves the public halves from the store. */
#include "ctl.h"
#include "db.h"
#include "err.h"
#include "fsafe.h"
#include "export.h"
#include "keyfile.h"
#include "lifecycle.h"
#include "keys.h"
#include "names.h"
#include "zone.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <limits.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DAY LC_DAY

/* ---- the library's lifecycle under the names the rest of dnsdctl calls (domain
 * add, import and the job, until they call lc_* themselves) ---- */

static int64_t setting_i64(struct ctx *c, const char *name, int64_t def)
{
	return lc_setting_i64(&c->w, name, def);
}

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

static void key_set_state(struct ctx *c, int64_t kid, int64_t domain_id, const char *state, int64_t now,
			  const char *cause)
{
	lc_key_set_state(&c->w, kid, domain_id, state, now, cause);
	tx_check(c);
}

static int64_t free_slot(struct ctx *c, int64_t domain_id, const char *role, int64_t except, char *sel, size_t n)
{
	int64_t id = lc_free_slot(&c->w, domain_id, role, except, sel, n);
	tx_check(c);
	return id;
}

static int64_t key_in(struct ctx *c, int64_t domain_id, const char *role, const char *state, struct lc_key *k)
{
	int64_t id = lc_key_in_order(&c->w, domain_id, role, state, k, 0);
	tx_check(c);
	return id;
}

static void key_file_name(struct ctx *c, char *path, size_t n, const char *oldsel, const char *newsel)
{
	keyfile_rename(&c->w, path, n, oldsel, newsel);
	tx_check(c);
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
	int f = 1;
	printf("{");
	json_kv(stdout, &f, "domain", k->domain);
	json_ki(stdout, &f, "key_id", k->key_id);
	json_kv(stdout, &f, "selector", k->selector);
	json_kv(stdout, &f, "algorithm", k->alg);
	json_kv(stdout, &f, "state", k->state);
	json_kv(stdout, &f, "active_after", fmt_time(k->active_after, t, sizeof(t)));
	json_kv(stdout, &f, "private_key", k->path);
	printf("}\n");
}

/* ---- key list ---- */

struct list_arg {
	struct ctx *c;
	int first;
};

static int list_one(void *arg, const struct lc_key_info *k)
{
	static const char *const when[] = { "created", "published", "activated", "retired", "revoked",
					    "active_after", "rotate_due" };
	struct list_arg *a = arg;
	char buf[7][32];
	const char *tb[7];
	for (int i = 0; i < 7; i++)
		tb[i] = fmt_time(k->at[i], buf[i], sizeof(buf[i]));
	if (a->c->o.json) {
		int f = 1;
		printf("%s{", a->first ? "" : ", ");
		json_ki(stdout, &f, "id", k->id);
		json_kv(stdout, &f, "selector", k->selector);
		json_kv(stdout, &f, "role", k->role);
		json_kv(stdout, &f, "algorithm", k->alg);
		json_kv(stdout, &f, "state", k->state);
		for (int i = 0; i < 7; i++)
			json_kv(stdout, &f, when[i], k->at[i] > 0 ? tb[i] : NULL);
		json_ki(stdout, &f, "published_serial", k->published_serial);
		json_kv(stdout, &f, "private_key", k->private_key);
		json_kv(stdout, &f, "public_key", k->public_key);
		printf("}");
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
	a->first = 0;
	return 0;
}

static void key_list(struct ctx *c)
{
	if (c->o.npos != 3)
		die_usage("key list DOMAIN");
	open_store(c, 0);
	struct list_arg a = { c, 1 };
	if (c->o.json)
		printf("[");
	else
		printf("%-6s %-9s %-8s %-9s %-10s %-21s %-21s %-21s %-34s %s\n", "ID", "SELECTOR", "ROLE", "KEY",
		       "STATE", "PUBLISHED", "ACTIVATED", "RETIRED/REVOKED", "NEXT", "PUBLIC (p=)");
	if (lc_key_list(&c->w, c->o.pos[2], list_one, &a)) {
		fflush(stdout);
		fail(c, "%s", c->w.err);
	}
	if (c->o.json)
		printf("]\n");
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
		printf("{\"scheduled\": %lld, \"first\": \"%s\", \"last\": \"%s\"}\n", (long long)out.scheduled, a, b);
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

static void key_revoke_all(struct ctx *c)
{
	if (!c->o.tenant == !(c->o.npos > 2))
		die_usage("key revoke --all --tenant NAME, or key revoke --all DOMAIN... [--reason TEXT]");
	struct lc_revoke_all_in in = { .tenant = c->o.tenant,
				       .domains = c->o.npos > 2 ? c->o.pos + 2 : NULL,
				       .ndomains = c->o.npos > 2 ? (size_t)(c->o.npos - 2) : 0,
				       .reason = c->o.reason };
	struct lc_revoke_all_out out;
	open_store(c, 0);
	if (lc_key_revoke_all(&c->w, &in, &out))
		fail(c, "%s", c->w.err);
	int status = finish_change(c);
	if (c->o.json)
		printf("{\"domains\": %lld, \"revoked\": %lld, \"replaced\": %lld, \"unreplaced\": %lld}\n",
		       (long long)out.domains, (long long)out.revoked, (long long)out.replaced,
		       (long long)out.unreplaced);
	else
		printf("%lld domain(s): %lld key(s) revoked, now answering p=; %lld new key(s) active now "
		       "(mail they sign may fail DKIM at resolvers that cached their selector, for at most the "
		       "DKIM TTL)\n",
		       (long long)out.domains, (long long)out.revoked, (long long)out.replaced);
	if (out.unreplaced)
		fprintf(stderr, "dnsdctl: warning: %lld role(s) had no eligible slot for a new key: they sign "
				"nothing until 'dnsdctl key rotate'\n",
			(long long)out.unreplaced);
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
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "domain", r.domain);
		json_ki(stdout, &f, "revoked", r.revoked);
		json_kv(stdout, &f, "selector", selector);
		if (r.replacement) {
			json_ki(stdout, &f, "replacement", r.replacement);
			json_kv(stdout, &f, "replacement_selector", r.replacement_selector);
		}
		json_kv(stdout, &f, "window_until", r.window_until > r.now ? t : NULL);
		printf("}\n");
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
	norm_domain(c, c->o.pos[2], name, sizeof(name));
	printf("%s: slot %s is %seligible%s\n", name, c->o.pos[3], el ? "" : "not ", changed ? "" : " (unchanged)");
}

/* ---- name servers ---- */

/* Asks one name server for the zone's SOA serial. Returns the serial, or -1
 * with why filled in. */
static int64_t ns_serial(const char *zone, const char *addr, int port, char *why, size_t n)
{
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *ns = ldns_rdf_new_frm_str(strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
	ldns_rdf *name = ldns_dname_new_frm_str(zone);
	ldns_pkt *pkt = NULL;
	int64_t serial = -1;
	if (!r || !ns || !name) {
		snprintf(why, n, "out of memory");
		goto out;
	}
	ldns_resolver_push_nameserver(r, ns);
	ldns_resolver_set_port(r, (uint16_t)port);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_retry(r, 2);
	ldns_resolver_set_timeout(r, (struct timeval){ 1, 0 });
	ldns_status s = ldns_resolver_send(&pkt, r, name, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	if (s != LDNS_STATUS_OK || !pkt) {
		snprintf(why, n, "no answer (%s)", ldns_get_errorstr_by_id(s));
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR || !ldns_pkt_aa(pkt)) {
		snprintf(why, n, "not authoritative for %s (rcode %d)", zone, ldns_pkt_get_rcode(pkt));
		goto out;
	}
	ldns_rr_list *ans = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_SOA, LDNS_SECTION_ANSWER);
	if (ans && ldns_rr_list_rr_count(ans) && ldns_rr_rd_count(ldns_rr_list_rr(ans, 0)) >= 3)
		serial = ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ans, 0), 2));
	else
		snprintf(why, n, "no SOA in its answer");
	ldns_rr_list_deep_free(ans);
out:
	if (pkt)
		ldns_pkt_free(pkt);
	if (name)
		ldns_rdf_deep_free(name);
	if (r)
		ldns_resolver_deep_free(r); /* frees the pushed name server too (a copy) */
	if (ns)
		ldns_rdf_deep_free(ns);
	return serial;
}

/* RFC 1982: a >= b for 32-bit serials. */
#define SERIAL_GE_SQL(a, b) "(((" a ") - (" b ")) % 4294967296 + 4294967296) % 4294967296 < 2147483648"

/* What a name server answered for the zone's SOA. */
struct nsres {
	int64_t id, serial;
	char name[128], why[256];
};

/* Asks every listed name server for the zone's SOA (network, before any lock).
 * Returns the answers; *n gets how many. */
static struct nsres *ns_gather(struct ctx *c, size_t *n)
{
	struct nsres *ns = NULL;
	size_t nns = 0;
	sqlite3_stmt *st = q(c, "SELECT id, name, address, port FROM nameservers ORDER BY name", "");
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct nsres *x = realloc(ns, (nns + 1) * sizeof(*ns));
		if (!x)
			fail(c, "out of memory");
		ns = x;
		struct nsres *r = &ns[nns++];
		r->id = sqlite3_column_int64(st, 0);
		snprintf(r->name, sizeof(r->name), "%s", sqlite3_column_text(st, 1));
		r->why[0] = 0;
		r->serial = ns_serial(c->zone, (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3),
				      r->why, sizeof(r->why));
	}
	sqlite3_finalize(st);
	*n = nns;
	return ns;
}

/* Inside a write transaction: records the answers. One that did not answer keeps
 * the serial it last reported. */
static void ns_record(struct ctx *c, const struct nsres *ns, size_t nns, int64_t now)
{
	for (size_t i = 0; i < nns; i++)
		run(c, q(c,
			 "UPDATE nameservers SET serial = CASE WHEN ?2 >= 0 THEN ?2 ELSE serial END, checked_at = ?3, "
			 "error = nullif(?4, '') WHERE id = ?1",
			 "iiis", ns[i].id, ns[i].serial, now, ns[i].why));
}

void cmd_ns(struct ctx *c)
{
	const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
	if (!strcmp(sub, "add")) {
		char addr[64];
		int port;
		if (c->o.npos != 4)
			die_usage("ns add NAME ADDRESS[:PORT]");
		const char *nm = c->o.pos[2];
		size_t nl = strlen(nm);
		if (!nl || nl > 100 || strspn(nm, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != nl)
			fail(NULL, "invalid name server name '%s': letters, digits, '.', '-', '_'", nm);
		if (ctl_parse_addr(c->o.pos[3], addr, sizeof(addr), &port))
			fail(NULL, "invalid address '%s': an IPv4 or IPv6 address, optionally with :PORT ([v6]:PORT)",
			     c->o.pos[3]);
		open_store(c, 0);
		begin(c);
		run(c, q(c,
			 "INSERT INTO nameservers(name, address, port) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE "
			 "SET address = ?2, port = ?3, serial = NULL, checked_at = NULL, error = NULL",
			 "ssi", c->o.pos[2], addr, (int64_t)port));
		commit(c);
		printf("name server %s at %s port %d: a key becomes active only once it serves the key's serial\n",
		       c->o.pos[2], addr, port);
	} else if (!strcmp(sub, "remove")) {
		if (c->o.npos != 3)
			die_usage("ns remove NAME");
		open_store(c, 0);
		begin(c);
		run(c, q(c, "DELETE FROM nameservers WHERE name = ?", "s", c->o.pos[2]));
		if (!sqlite3_changes(c->db))
			fail(c, "no name server '%s' (see 'dnsdctl ns list')", c->o.pos[2]);
		commit(c);
		printf("name server %s removed\n", c->o.pos[2]);
	} else if (!strcmp(sub, "list") || !strcmp(sub, "check")) {
		open_store(c, 0);
		if (!strcmp(sub, "check")) {
			size_t nns;
			struct nsres *ns = ns_gather(c, &nns);
			begin(c);
			ns_record(c, ns, nns, store_now());
			commit(c);
			free(ns);
		}
		/* Lag: how long the store has held changes the name server did not
		 * serve when last asked (0: it served the store's serial). */
		sqlite3_stmt *st = q(c,
				     "SELECT name, address, port, serial, ifnull(checked_at, 0), error, "
				     "CASE WHEN serial IS NULL OR " SERIAL_GE_SQL("serial", "(SELECT value FROM serial)")
				     " THEN 0 ELSE max(1, ?1 - ifnull((SELECT min(at) FROM journal j "
				     "WHERE NOT (" SERIAL_GE_SQL("n.serial", "j.serial") ")), ?1)) END "
				     "FROM nameservers n ORDER BY name",
				     "i", store_now());
		int first = 1;
		if (c->o.json)
			printf("[");
		else
			printf("%-16s %-28s %-6s %-11s %-18s %-21s %s\n", "NAME", "ADDRESS", "PORT", "SERIAL", "LAG",
			       "CHECKED", "ERROR");
		while (sqlite3_step(st) == SQLITE_ROW) {
			char tb[32];
			int has_serial = sqlite3_column_type(st, 3) != SQLITE_NULL;
			fmt_time(sqlite3_column_int64(st, 4), tb, sizeof(tb));
			const char *err = (const char *)sqlite3_column_text(st, 5);
			int64_t lag_s = sqlite3_column_int64(st, 6);
			if (c->o.json) {
				int f = 1;
				printf("%s{", first ? "" : ", ");
				json_kv(stdout, &f, "name", (const char *)sqlite3_column_text(st, 0));
				json_kv(stdout, &f, "address", (const char *)sqlite3_column_text(st, 1));
				json_ki(stdout, &f, "port", sqlite3_column_int64(st, 2));
				if (has_serial)
					json_ki(stdout, &f, "serial", sqlite3_column_int64(st, 3));
				else
					json_kv(stdout, &f, "serial", NULL);
				json_kv(stdout, &f, "checked", sqlite3_column_int64(st, 4) ? tb : NULL);
				if (has_serial)
					json_ki(stdout, &f, "lag_seconds", lag_s);
				json_kv(stdout, &f, "error", err);
				printf("}");
			} else {
				char sb[24], lb[40];
				snprintf(sb, sizeof(sb), "%lld", (long long)sqlite3_column_int64(st, 3));
				if (!has_serial)
					snprintf(lb, sizeof(lb), "-");
				else if (!lag_s)
					snprintf(lb, sizeof(lb), "current");
				else
					snprintf(lb, sizeof(lb), "%llds behind", (long long)lag_s);
				printf("%-16s %-28s %-6lld %-11s %-18s %-21s %s\n", sqlite3_column_text(st, 0),
				       sqlite3_column_text(st, 1), (long long)sqlite3_column_int64(st, 2),
				       has_serial ? sb : "-", lb, tb, err ? err : "");
			}
			first = 0;
		}
		sqlite3_finalize(st);
		if (c->o.json)
			printf("]\n");
	} else {
		die_usage("ns add NAME ADDRESS[:PORT] | ns list | ns check | ns remove NAME");
	}
}

/* ---- the job ---- */

struct gen {
	int64_t domain_id, key_id; /* the active key it replaces */
	char role[16], alg[32], path[8192], pub[2048], name[256], cause[64], guess[64];
	int used;
};

void cmd_maintain(struct ctx *c)
{
	long max_keys = num_arg(c, c->o.max_keys, "--max-keys", 0, 1000000, 200);
	open_store(c, 0);
	int64_t now = store_now();
	int days = store_setting_int(c->st, "retention_days", 7);
	int64_t kret = setting_i64(c, "key_retention_days", 7) * DAY;
	int64_t rdays = setting_i64(c, "rotation_days", 180);
	int64_t spread = setting_i64(c, "rotation_spread_hours", 24) * 3600;
	char *log = NULL;
	size_t loglen = 0;
	FILE *out = open_memstream(&log, &loglen);
	if (!out)
		fail(c, "out of memory");

	/* 1. What every name server serves now (network, before any lock). */
	size_t nns = 0;
	struct nsres *ns = ns_gather(c, &nns);
	sqlite3_stmt *st;

	/* 2. Keys due for rotation get their successors generated now, outside
	 * the transaction (RSA generation is slow). */
	struct gen *gens = NULL;
	size_t ngen = 0;
	st = q(c,
	       "SELECT d.id, d.name, d.token, s.role, k.id, k.algorithm, k.rotate_at IS NOT NULL FROM keys k "
	       "JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id "
	       "WHERE k.state = 'active' AND d.state = 'active' AND "
	       "(CASE WHEN k.rotate_at IS NOT NULL THEN k.rotate_at WHEN ?2 > 0 THEN "
	       "k.activated_at + ?2 * 86400 - (k.id * 2654435761) % max(?3, 1) ELSE NULL END) <= ?1 "
	       "AND NOT EXISTS (SELECT 1 FROM keys p JOIN slots ps ON ps.id = p.slot_id WHERE ps.domain_id = d.id "
	       "AND ps.role = s.role AND p.state = 'published') ORDER BY k.id",
	       "iii", now, rdays, spread);
	/* Successors are made for at most --max-keys keys a run; a key due with no
	 * free eligible slot in its role (its retired keys still published, or
	 * the customer's CNAMEs missing) waits, and the run says so. */
	int64_t more_due = 0, nblocked = 0, nskipped = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char sel0[64];
		if (!free_slot(c, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 3), 0, sel0,
			       sizeof(sel0))) {
			if (nblocked++ < 20)
				fprintf(out, "%s: key %lld (%s role) is due for rotation, but the role has no free "
					     "eligible slot: it waits\n",
					sqlite3_column_text(st, 1), (long long)sqlite3_column_int64(st, 4),
					sqlite3_column_text(st, 3));
			continue;
		}
		if ((int64_t)ngen >= max_keys) {
			more_due = 1;
			continue;
		}
		/* A row no dnsdctl wrote (a name that is no host name, a token of
		 * another alphabet) makes no key file: it is said and left alone, and
		 * the other keys go on. */
		char why[400], qn[96];
		if (key_names_check((const char *)sqlite3_column_text(st, 1), sel0,
				    (const char *)sqlite3_column_text(st, 2), why, sizeof(why))) {
			fprintf(out, "domain row %lld '%s': key %lld is due for rotation, but %s\n",
				(long long)sqlite3_column_int64(st, 0),
				names_show(qn, sizeof(qn), (const char *)sqlite3_column_text(st, 1)),
				(long long)sqlite3_column_int64(st, 4), why);
			nskipped++;
			continue;
		}
		struct gen *x = realloc(gens, (ngen + 1) * sizeof(*gens));
		if (!x) {
			sqlite3_finalize(st);
			fail(c, "out of memory");
		}
		gens = x;
		struct gen *g = &gens[ngen++];
		memset(g, 0, sizeof(*g));
		g->domain_id = sqlite3_column_int64(st, 0);
		snprintf(g->name, sizeof(g->name), "%s", sqlite3_column_text(st, 1));
		const char *token = (const char *)sqlite3_column_text(st, 2);
		snprintf(g->role, sizeof(g->role), "%s", sqlite3_column_text(st, 3));
		g->key_id = sqlite3_column_int64(st, 4);
		lc_next_algorithm((const char *)sqlite3_column_text(st, 5), g->role, g->alg, sizeof(g->alg));
		snprintf(g->cause, sizeof(g->cause), "%s",
			 sqlite3_column_int(st, 6) ? "scheduled rotation" : "rotation by age");
		snprintf(g->guess, sizeof(g->guess), "key");
		free_slot(c, g->domain_id, g->role, 0, g->guess, sizeof(g->guess));
		key_new_file(c, g->name, token, g->alg, g->guess, g->pub, sizeof(g->pub), g->path, sizeof(g->path));
	}
	sqlite3_finalize(st);
	if (nblocked > 20)
		fprintf(out, "... and %lld more due keys wait for a free slot\n", (long long)(nblocked - 20));

	/* 3. One batch. */
	begin(c);
	ns_record(c, ns, nns, now);
	int nrevoked = 0, nactivated = 0, npublished = 0, nwaiting = 0;
	/* a. Retired keys past retention are revoked. */
	st = q(c,
	       "SELECT k.id, s.domain_id, d.name, s.selector FROM keys k JOIN slots s ON s.id = k.slot_id "
	       "JOIN domains d ON d.id = s.domain_id WHERE k.state = 'retired' AND k.retired_at <= ? ORDER BY k.id",
	       "i", now - kret);
	struct {
		int64_t id, did;
	} *todo = NULL;
	size_t ntodo = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		void *x = realloc(todo, (ntodo + 1) * sizeof(*todo));
		if (!x) {
			sqlite3_finalize(st);
			fail(c, "out of memory");
		}
		todo = x;
		todo[ntodo].id = sqlite3_column_int64(st, 0);
		todo[ntodo++].did = sqlite3_column_int64(st, 1);
		fprintf(out, "%s %s: key %lld revoked (retired for %lld day(s))\n", sqlite3_column_text(st, 2),
			sqlite3_column_text(st, 3), (long long)sqlite3_column_int64(st, 0), (long long)(kret / DAY));
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < ntodo; i++, nrevoked++)
		key_set_state(c, todo[i].id, todo[i].did, "revoked", now, "retention ended");
	free(todo);

	/* b. Published keys that every name server serves and that waited long
	 * enough become active; their role's active key retires. */
	st = q(c,
	       "SELECT k.id, s.domain_id, d.name, s.selector, s.role, s.eligible, ifnull(k.active_after, "
	       "k.published_at + 3600), ifnull(k.published_serial, (SELECT value FROM serial)), "
	       "(SELECT group_concat(n.name || ' serves ' || ifnull(n.serial, 'no known serial'), ', ') "
	       " FROM nameservers n WHERE n.serial IS NULL OR NOT (" SERIAL_GE_SQL(
		       "n.serial", "ifnull(k.published_serial, (SELECT value FROM serial))") ")) "
	       "FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id "
	       "WHERE k.state = 'published' AND d.state = 'active' ORDER BY k.id DESC",
	       "");
	struct act {
		int64_t id, did;
		char role[16], name[256], sel[64];
	} *acts = NULL;
	size_t nacts = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 2);
		const char *sel = (const char *)sqlite3_column_text(st, 3);
		int64_t after = sqlite3_column_int64(st, 6), pserial = sqlite3_column_int64(st, 7);
		const char *lag = (const char *)sqlite3_column_text(st, 8);
		char t[32];
		if (after > now) {
			fprintf(out, "%s %s: key %lld waits until %s (resolvers may still hold the slot's old answer)\n",
				name, sel, (long long)sqlite3_column_int64(st, 0), fmt_time(after, t, sizeof(t)));
			nwaiting++;
			continue;
		}
		if (!sqlite3_column_int(st, 5)) {
			fprintf(out, "%s %s: key %lld waits: the slot is not eligible\n", name, sel,
				(long long)sqlite3_column_int64(st, 0));
			nwaiting++;
			continue;
		}
		if (lag) {
			fprintf(out, "%s %s: key %lld waits: it is in serial %lld, but %s\n", name, sel,
				(long long)sqlite3_column_int64(st, 0), (long long)pserial, lag);
			nwaiting++;
			continue;
		}
		void *x = realloc(acts, (nacts + 1) * sizeof(*acts));
		if (!x) {
			sqlite3_finalize(st);
			fail(c, "out of memory");
		}
		acts = x;
		struct act *a = &acts[nacts++];
		a->id = sqlite3_column_int64(st, 0);
		a->did = sqlite3_column_int64(st, 1);
		snprintf(a->role, sizeof(a->role), "%s", sqlite3_column_text(st, 4));
		snprintf(a->name, sizeof(a->name), "%s", name);
		snprintf(a->sel, sizeof(a->sel), "%s", sel);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < nacts; i++) {
		struct act *a = &acts[i];
		struct lc_key cur;
		char cause[96];
		/* Newest first: an older published key of the same role (only SQL
		 * written by hand makes one) is superseded. */
		size_t j;
		for (j = 0; j < i; j++)
			if (acts[j].did == a->did && !strcmp(acts[j].role, a->role))
				break;
		if (j < i) {
			snprintf(cause, sizeof(cause), "superseded by key %lld", (long long)acts[j].id);
			key_set_state(c, a->id, a->did, "revoked", now, cause);
			continue;
		}
		if (key_in(c, a->did, a->role, "active", &cur)) {
			snprintf(cause, sizeof(cause), "replaced by key %lld", (long long)a->id);
			key_set_state(c, cur.id, a->did, "retired", now, cause);
			fprintf(out, "%s %s: key %lld retired (still published for %lld day(s))\n", a->name,
				cur.selector, (long long)cur.id, (long long)(kret / DAY));
		}
		snprintf(cause, sizeof(cause), "rotation: published long enough and served by every name server");
		key_set_state(c, a->id, a->did, "active", now, cause);
		fprintf(out, "%s %s: key %lld activated (rotation)\n", a->name, a->sel, (long long)a->id);
		nactivated++;
	}
	free(acts);

	/* c. The successors generated above are published, if still wanted: a job
	 * running beside this one may have published one already. */
	for (size_t i = 0; i < ngen; i++) {
		struct gen *g = &gens[i];
		struct lc_key pub;
		char sel[64];
		int still = one_int(c, q(c, "SELECT count(*) FROM keys WHERE id = ? AND state = 'active'", "i", g->key_id), 0);
		if (!still || key_in(c, g->domain_id, g->role, "published", &pub))
			continue;
		int64_t slot = free_slot(c, g->domain_id, g->role, 0, sel, sizeof(sel));
		if (!slot)
			continue;
		key_file_name(c, g->path, sizeof(g->path), g->guess, sel);
		int64_t kid = key_insert(c, g->domain_id, slot, g->alg, g->pub, g->path, "published", "generated", g->cause);
		int64_t after = one_int(c, q(c, "SELECT active_after FROM keys WHERE id = ?", "i", kid), 0);
		char t[32];
		fprintf(out, "%s %s: key %lld (%s) published (%s of key %lld); active from %s\n", g->name, sel,
			(long long)kid, g->alg, g->cause, (long long)g->key_id, fmt_time(after, t, sizeof(t)));
		g->used = 1;
		npublished++;
	}

	/* d. Removed domains past their retention are purged. */
	run(c, q(c, "UPDATE domains SET state = 'purged' WHERE state = 'removed' AND removed_at <= ?", "i",
		 now - (int64_t)days * DAY));
	int purged = sqlite3_changes(c->db);
	commit(c);
	for (size_t i = 0; i < ngen; i++)
		if (!gens[i].used)
			unlink(gens[i].path);
	free(gens);
	fclose(out);

	/* 4. The signer's view. */
	int changed = 0;
	int status = export_refresh(c, &changed);
	if (c->o.json) {
		printf("{\"revoked\": %d, \"activated\": %d, \"published\": %d, \"purged\": %d, \"waiting\": %d, "
		       "\"more_due\": %s, \"blocked\": %lld, \"skipped\": %lld, \"serial\": %lld, \"exports\": \"%s\", "
		       "\"name_servers\": [",
		       nrevoked, nactivated, npublished, purged, nwaiting, more_due ? "true" : "false",
		       (long long)nblocked, (long long)nskipped,
		       (long long)store_serial(c->st), status ? "failed" : changed ? "rewritten" : "unchanged");
		for (size_t i = 0; i < nns; i++) {
			int f = 1;
			printf("%s{", i ? ", " : "");
			json_kv(stdout, &f, "name", ns[i].name);
			json_ki(stdout, &f, "serial", ns[i].serial);
			json_kv(stdout, &f, "error", ns[i].why[0] ? ns[i].why : NULL);
			printf("}");
		}
		printf("]}\n");
	} else {
		fputs(log, stdout);
		for (size_t i = 0; i < nns; i++)
			if (ns[i].serial < 0)
				printf("name server %s: %s\n", ns[i].name, ns[i].why);
		if (!nns)
			printf("no name servers listed ('dnsdctl ns add'): activation waits only for the DKIM TTL\n");
		printf("%d revoked, %d activated, %d published, %d waiting; %d removed domain(s) purged (past the "
		       "%d-day retention); serial %lld; exports %s\n",
		       nrevoked, nactivated, npublished, nwaiting, purged, days, (long long)store_serial(c->st),
		       status ? "FAILED" : changed ? "rewritten" : "unchanged");
		if (more_due)
			printf("more keys are due than --max-keys %ld: the next run goes on\n", max_keys);
		if (nskipped)
			printf("%lld key(s) due for rotation skipped: their rows hold names no key file may have "
			       "(see above); fix the rows\n",
			       (long long)nskipped);
	}
	free(log);
	free(ns);
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

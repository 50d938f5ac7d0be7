/* test_registry: the registry's operations on a real SQLite file: each one's
 * success, its refusals (the code and the field), that a refusal changes
 * nothing (rows and key files counted before and after), a store locked by
 * another writer, and that one domain and an import take the same path. */
#include "err.h"
#include "registry.h"
#include "t_store.h"
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static long nfiles;
static int count_files(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)p, (void)sb, (void)ftw;
	nfiles += flag == FTW_F;
	return 0;
}

/* What a refusal must leave as it was: every row of the objects, and the key
 * files, folded into one number (unsigned: it wraps, it never overflows). */
static uint64_t snapshot(struct wr *w)
{
	static const char *const tables[] = {"tenants", "domains",    "tokens",	  "slots",
					     "keys",	"key_events", "policies", "settings"};
	uint64_t n = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[100];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		n = n * 1000 + (uint64_t)wr_int(w, wr_prep(w, sql), -1);
	}
	nfiles = 0;
	nftw(keysdir, count_files, 16, FTW_PHYS);
	return n * 1000 + (uint64_t)nfiles;
}

/* A store as init leaves it, with a tenant acme (no pair) and pairs (a pair). */
static int make_store(void)
{
	static const char *const sql[] = {
		"INSERT INTO settings(name, value) VALUES ('selector_prefix', 'esp'), "
		"('slots', '3'), ('return_path', 'bounce'), ('ed25519', 'no')",
		"INSERT INTO tenants(name, created_at) VALUES ('acme', 1)",
		"INSERT INTO tenants(name, created_at, ed25519) VALUES ('pairs', 1, 1)",
		"INSERT INTO tenants(name, created_at, slots, ed25519) VALUES ('wide', 1, 7, 1)",
		NULL};
	return t_store_make(NULL, "dkim.example.", sql);
}

/* The slots of a domain and the algorithm of each one's key, "-" for none. */
static char *layout(struct wr *w, const char *domain)
{
	return wr_text(w,
		       wr_q(w,
			    "SELECT group_concat(x, ' ') FROM (SELECT s.selector || '=' || "
			    "ifnull(k.algorithm, '-') AS x FROM slots s JOIN domains d ON d.id = "
			    "s.domain_id LEFT JOIN keys k ON k.slot_id = s.id WHERE d.name = ? "
			    "ORDER BY s.position)",
			    "s", domain));
}

static void test_names(void)
{
	struct wr w = {0};
	char out[256], sel[32];
	T_EQ_INT(reg_domain_norm(&w, "Example.COM.", out, sizeof(out)), 0);
	T_EQ_STR(out, "example.com");
	T_EQ_INT(reg_domain_norm(&w, "bad..example", out, sizeof(out)), DNSD_EINVAL);
	T_EQ_STR(w.field, "domain");
	wr_clear(&w);
	T_EQ_INT(reg_domain_norm(&w, NULL, out, sizeof(out)), DNSD_EINVAL);
	T_EQ_STR(w.field, "domain");
	wr_clear(&w);
	T_EQ_INT(reg_slot_selector("esp", 2, 3, sel, sizeof(sel)), 0);
	T_EQ_STR(sel, "esp2");
	T_EQ_INT(reg_slot_selector("esp", 5, 3, sel, sizeof(sel)), 1);
	T_EQ_STR(sel, "esp-ed2");
}

static void test_domain_add(void)
{
	struct wr w;
	struct reg_domain d;
	t_open(&w, 0);
	struct reg_domain_in in = {
		.name = "One.Example.", .tenant = "acme", .ed25519 = -1, .algorithm = "ed25519"};
	T_EQ_INT(reg_domain_add(&w, &in, &d), 0);
	T_EQ_STR(d.name, "one.example");
	T_EQ_STR(d.tenant, "acme");
	T_EQ_STR(d.rp, "bounce");
	T_CHECK(keys_token_valid(d.token));
	char *l = layout(&w, "one.example");
	T_EQ_STR(l, "esp1=ed25519 esp2=- esp3=-");
	free(l);
	char *ev = wr_text(&w, wr_q(&w,
				    "SELECT group_concat(event, ',') FROM key_events WHERE "
				    "domain_id = ? ORDER BY id",
				    "i", d.id));
	T_EQ_STR(ev, "generated,published,activated");
	free(ev);
	/* Its key file is in its place, named in the store. */
	char *ref = wr_text(&w, wr_q(&w,
				     "SELECT private_ref FROM keys k JOIN slots s ON s.id = "
				     "k.slot_id WHERE s.domain_id = ?",
				     "i", d.id));
	struct stat sb;
	T_CHECK(ref && stat(ref, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	free(ref);
	/* A tenant's pair gets its first key; slots and the pair from the input. */
	in = (struct reg_domain_in){
		.name = "two.example", .tenant = "pairs", .ed25519 = -1, .algorithm = "ed25519"};
	T_EQ_INT(reg_domain_add(&w, &in, NULL), 0);
	l = layout(&w, "two.example");
	T_EQ_STR(l, "esp1=ed25519 esp2=- esp3=-"); /* no pair beside Ed25519 main keys */
	free(l);
	in = (struct reg_domain_in){.name = "three.example",
				    .tenant = "acme",
				    .slots = 2,
				    .ed25519 = 1,
				    .algorithm = "rsa-2048",
				    .return_path = "mail"};
	T_EQ_INT(reg_domain_add(&w, &in, &d), 0);
	l = layout(&w, "three.example");
	T_EQ_STR(l, "esp1=rsa-2048 esp2=- esp-ed1=ed25519 esp-ed2=-");
	free(l);
	T_EQ_STR(d.rp, "mail");
	wr_close(&w);
}

/* Each refusal: its code, its field, and nothing changed. */
static void refused(struct wr *w, const struct reg_domain_in *in, int code, const char *field)
{
	uint64_t before = snapshot(w);
	T_EQ_INT(reg_domain_add(w, in, NULL), code);
	T_EQ_STR(w->field, field);
	wr_clear(w);
	T_EQ_INT(snapshot(w), before);
}

static void test_domain_refused(void)
{
	struct wr w;
	t_open(&w, 0);
	char tok[32];
	char *t = wr_text(&w, wr_q(&w, "SELECT token FROM domains WHERE name = 'one.example'", ""));
	snprintf(tok, sizeof(tok), "%s", t ? t : "");
	free(t);
	struct {
		struct reg_domain_in in;
		int code;
		const char *field;
	} cases[] = {
		{{.name = "bad..example", .tenant = "acme", .ed25519 = -1}, DNSD_EINVAL, "domain"},
		{{.name = "x.dkim.example", .tenant = "acme", .ed25519 = -1},
		 DNSD_EINVAL,
		 "domain"},
		{{.name = "n.example", .tenant = "nobody", .ed25519 = -1}, DNSD_ENOENT, "tenant"},
		{{.name = "one.example", .tenant = "acme", .ed25519 = -1}, DNSD_EEXIST, "domain"},
		{{.name = "n.example", .tenant = "acme", .ed25519 = -1, .token = tok},
		 DNSD_EEXIST,
		 "token"},
		{{.name = "n.example", .tenant = "acme", .ed25519 = -1, .token = "short"},
		 DNSD_EINVAL,
		 "token"},
		{{.name = "n.example", .tenant = "acme", .ed25519 = -1, .algorithm = "rsa-1024"},
		 DNSD_EINVAL,
		 "algorithm"},
		{{.name = "n.example", .tenant = "acme", .ed25519 = -1, .algorithm = "dsa"},
		 DNSD_EINVAL,
		 "algorithm"},
		{{.name = "n.example", .tenant = "acme", .ed25519 = -1, .return_path = "a.b"},
		 DNSD_EINVAL,
		 "return_path"},
		{{.name = "n.example", .tenant = "acme", .slots = 9, .ed25519 = -1},
		 DNSD_EINVAL,
		 "slots"},
		{{.name = "n.example", .tenant = "wide", .ed25519 = -1}, DNSD_EINVAL, "ed25519"},
		{{.name = "n.example", .tenant = "acme", .ed25519 = 1, .algorithm = "ed25519"},
		 DNSD_EINVAL,
		 "ed25519"},
		{{.name = "n.example",
		  .tenant = "acme",
		  .ed25519 = -1,
		  .key_file = "/nonexistent.pem"},
		 DNSD_EINVAL,
		 "key_file"},
		{{.name = "n.example", .tenant = "acme", .ed25519 = -1, .public_key = "AAAA"},
		 DNSD_EINVAL,
		 "public_key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(&w, &cases[i].in, cases[i].code, cases[i].field);
	wr_close(&w);
}

/* domain add --key: an existing private key, copied; the algorithm must agree. */
static void test_domain_key(void)
{
	struct wr w;
	char pem[200], pub[2048];
	keys_key *k = NULL;
	snprintf(pem, sizeof(pem), "%s/given.pem", tmpdir);
	T_EQ_INT(keys_generate("ed25519", &k), 0);
	T_EQ_INT(keys_write_private(k, pem, NULL, 0), 0);
	T_CHECK(keys_public_b64(k, pub, sizeof(pub)) > 0);
	keys_free(k);
	t_open(&w, 0);
	struct reg_domain_in in = {.name = "keyed.example",
				   .tenant = "acme",
				   .ed25519 = -1,
				   .key_file = pem,
				   .algorithm = "rsa-2048"};
	refused(&w, &in, DNSD_EINVAL, "algorithm");
	in.algorithm = NULL;
	in.public_key = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=";
	refused(&w, &in, DNSD_EINVAL, "public_key");
	in.public_key = pub;
	struct reg_domain d;
	T_EQ_INT(reg_domain_add(&w, &in, &d), 0);
	char *got = wr_text(&w, wr_q(&w,
				     "SELECT k.public_key || ' ' || k.private_ref FROM keys k JOIN "
				     "slots s ON s.id = k.slot_id WHERE s.domain_id = ?",
				     "i", d.id));
	T_CHECK(got && !strncmp(got, pub, strlen(pub)) && strstr(got, "-imported.pem"));
	free(got);
	wr_close(&w);
}

/* A private key given as PEM text (the API's "key") is taken as a key file is,
 * and its faults name the field "key". */
static void test_domain_key_pem(void)
{
	struct wr w;
	char path[200], pem[4096];
	keys_key *k = NULL;
	snprintf(path, sizeof(path), "%s/text.pem", tmpdir);
	T_EQ_INT(keys_generate("ed25519", &k), 0);
	T_EQ_INT(keys_write_private(k, path, NULL, 0), 0);
	keys_free(k);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(pem, 1, sizeof(pem) - 1, f) : 0;
	if (f)
		fclose(f);
	pem[n] = 0;
	T_CHECK(n > 0);
	t_open(&w, 0);
	struct reg_domain_in in = {.name = "pem.example",
				   .tenant = "pairs",
				   .ed25519 = -1,
				   .key_pem = "-----BEGIN PRIVATE KEY-----\nnot base64\n"};
	in.key_pem_len = strlen(in.key_pem);
	refused(&w, &in, DNSD_EINVAL, "key");
	in.key_pem = pem;
	in.key_pem_len = n;
	in.key_file = path;
	refused(&w, &in, DNSD_EINVAL, "key");
	in.key_file = NULL;
	in.algorithm = "rsa-2048";
	refused(&w, &in, DNSD_EINVAL, "algorithm");
	in.algorithm = NULL;
	struct reg_domain d;
	T_EQ_INT(reg_domain_add(&w, &in, &d), 0);
	char *got = wr_text(&w, wr_q(&w,
				     "SELECT k.algorithm || ' ' || k.private_ref FROM keys k JOIN "
				     "slots s ON s.id = k.slot_id WHERE s.domain_id = ? AND "
				     "s.position = 1",
				     "i", d.id));
	T_CHECK(got && !strncmp(got, "ed25519 ", 8) && strstr(got, "-imported.pem"));
	/* The copy in the keys directory is the key given. */
	char copy[4096] = "";
	f = got ? fopen(strchr(got, ' ') + 1, "r") : NULL;
	size_t cn = f ? fread(copy, 1, sizeof(copy) - 1, f) : 0;
	if (f)
		fclose(f);
	copy[cn] = 0;
	T_EQ_STR(copy, pem);
	free(got);
	T_EQ_INT(reg_domain_remove(&w, "pem.example", NULL), 0); /* the counts later tests expect */
	wr_close(&w);
}

static void test_busy(void)
{
	struct wr a, b;
	t_open(&a, 0);
	t_open(&b, 200);
	T_EQ_INT(wr_begin(&a), 0);
	uint64_t before = snapshot(&b);
	struct reg_domain_in in = {
		.name = "busy.example", .tenant = "acme", .ed25519 = -1, .algorithm = "ed25519"};
	T_EQ_INT(reg_domain_add(&b, &in, NULL), DNSD_EBUSY);
	wr_clear(&b);
	wr_rollback(&a);
	T_EQ_INT(snapshot(&b), before); /* and its staged key file went back */
	wr_close(&a);
	wr_close(&b);
}

/* An import takes the same path as domain add: the same layout, first keys
 * and refusals; every row is checked before any is written; the rows go in
 * batches; a row there already as given is done, not bad. */
static void test_import(void)
{
	struct wr w;
	struct reg_new *rows[1];
	int done;
	size_t n;
	t_open(&w, 0);
	struct reg_import *im = reg_import_new(&w);
	T_CHECK(im != NULL);
	struct reg_domain_in in = {.name = "imp1.example",
				   .tenant = "pairs",
				   .ed25519 = -1,
				   .algorithm = "rsa-2048",
				   .cause = "import"};
	uint64_t before = snapshot(&w);
	T_EQ_INT(reg_import_check(im, &in, &done), 0);
	T_EQ_INT(done, 0);
	in.name = "imp2.example";
	in.algorithm = "ed25519";
	T_EQ_INT(reg_import_check(im, &in, &done), 0);
	in.name = "Imp1.example";
	T_EQ_INT(reg_import_check(im, &in, &done), DNSD_EINVAL); /* twice in the file */
	T_CHECK(strstr(w.err, "imp1.example is twice") != NULL);
	wr_clear(&w);
	reg_import_checked(im);
	T_EQ_INT((int64_t)(snapshot(&w) - before), 0); /* checks stage no key file */
	/* Written in two batches, laid out as domain add lays out. */
	in.name = "imp1.example";
	in.algorithm = "rsa-2048";
	T_EQ_INT(reg_import_add(im, &in, &done), 0);
	T_EQ_INT(reg_import_commit(im, &n), 0);
	T_EQ_INT(n, 1);
	in.name = "imp2.example";
	in.algorithm = "ed25519";
	T_EQ_INT(reg_import_add(im, &in, &done), 0);
	T_EQ_INT(reg_import_commit(im, &n), 0);
	T_EQ_INT(n, 1);
	struct reg_domain_in add = {.name = "add1.example", .tenant = "pairs", .ed25519 = -1};
	T_EQ_INT(reg_domain_add(&w, &add, NULL), 0);
	char *a = layout(&w, "imp1.example"), *c = layout(&w, "add1.example"),
	     *e = layout(&w, "imp2.example"), *f = layout(&w, "two.example");
	T_EQ_STR(a, "esp1=rsa-2048 esp2=- esp3=- esp-ed1=ed25519 esp-ed2=-");
	T_EQ_STR(a, c);
	T_EQ_STR(e, f);
	free(a), free(c), free(e), free(f);
	/* A row there as given (its public key) is done; with another key it is bad. */
	char pub[2048];
	char *p = wr_text(&w, wr_q(&w,
				   "SELECT k.public_key FROM keys k JOIN slots s ON s.id = "
				   "k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = "
				   "'imp1.example' AND s.position = 1",
				   ""));
	snprintf(pub, sizeof(pub), "%s", p ? p : "");
	free(p);
	struct reg_domain_in again = {.name = "imp1.example",
				      .tenant = "pairs",
				      .ed25519 = -1,
				      .public_key = pub,
				      .cause = "import"};
	reg_import_free(im);
	im = reg_import_new(&w); /* a run again: the file's names are new to it */
	T_EQ_INT(reg_import_check(im, &again, &done), 0);
	T_EQ_INT(done, 1);
	T_EQ_INT(reg_import_add(im, &again, &done), 0);
	T_EQ_INT(done, 1);
	T_EQ_INT(reg_import_commit(im, &n), 0);
	T_EQ_INT(n, 0);
	again.tenant = "acme";
	T_EQ_INT(reg_import_check(im, &again, &done), DNSD_EEXIST);
	wr_clear(&w);
	reg_import_free(im);
	/* The refusal of a pair that does not fit is the same too. */
	in = (struct reg_domain_in){.name = "w.example", .tenant = "wide", .ed25519 = -1};
	T_EQ_INT(reg_domain_prep(&w, &in, &rows[0]), DNSD_EINVAL);
	T_EQ_STR(w.field, "ed25519");
	T_CHECK(strstr(w.err, "7 slots plus the Ed25519 pair") != NULL);
	wr_close(&w);
}

static int count_tenant(void *arg, const struct reg_tenant *t)
{
	int *n = arg;
	(*n)++;
	return 0;
}

static int first_tenant(void *arg, const struct reg_tenant *t)
{
	struct reg_tenant *out = arg;
	*out = *t;
	out->name = NULL; /* the row's strings do not outlive the callback */
	out->spf = out->mx = out->dmarc = NULL;
	return 7; /* stops the list, and comes back */
}

static void test_tenants(void)
{
	struct wr w;
	t_open(&w, 0);
	uint64_t before = snapshot(&w);
	T_EQ_INT(reg_tenant_add(&w, "-bad", 0, -1), DNSD_EINVAL);
	T_EQ_STR(w.field, "tenant");
	wr_clear(&w);
	/* Absent input (an API's JSON without the field) is refused, not a crash. */
	T_EQ_INT(reg_tenant_add(&w, NULL, 0, -1), DNSD_EINVAL);
	wr_clear(&w);
	T_EQ_INT(reg_tenant_set(&w, NULL, 3, -1), DNSD_EINVAL);
	T_EQ_STR(w.field, "tenant");
	wr_clear(&w);
	T_EQ_INT(reg_tenant_remove(&w, NULL), DNSD_EINVAL);
	wr_clear(&w);
	T_EQ_INT(reg_domain_remove(&w, NULL, NULL), DNSD_EINVAL);
	wr_clear(&w);
	struct reg_domain_in none = {.ed25519 = -1, .tenant = "acme"};
	struct reg_new *nd;
	T_EQ_INT(reg_domain_prep(&w, &none, &nd), DNSD_EINVAL);
	T_EQ_STR(w.field, "domain");
	wr_clear(&w);
	struct reg_scope g = {.level = "global"};
	T_EQ_INT(reg_policy_set(&w, &g, NULL, "x"), DNSD_EINVAL);
	wr_clear(&w);
	T_EQ_INT(reg_policy_set(&w, &g, "mx", NULL), DNSD_EINVAL);
	T_EQ_STR(w.field, "mx");
	wr_clear(&w);
	T_EQ_INT(reg_tenant_add(&w, "globex", 9, -1), DNSD_EINVAL);
	T_EQ_STR(w.field, "slots");
	wr_clear(&w);
	T_EQ_INT(reg_tenant_add(&w, "ACME", 0, -1), DNSD_EEXIST);
	T_CHECK(strstr(w.err, "already exists as 'acme'") != NULL);
	wr_clear(&w);
	T_EQ_INT(reg_tenant_set(&w, "nobody", 4, -1), DNSD_ENOENT);
	T_EQ_STR(w.field, "tenant");
	wr_clear(&w);
	T_EQ_INT(reg_tenant_remove(&w, "acme"), DNSD_EEXIST); /* it has domains */
	wr_clear(&w);
	T_EQ_INT(snapshot(&w), before);
	T_EQ_INT(reg_tenant_add(&w, "globex", 4, 1), 0);
	struct reg_tenant t;
	T_EQ_INT(reg_tenant_list(&w, "globex", first_tenant, &t), 7);
	T_EQ_INT(t.slots, 4);
	T_EQ_INT(t.ed25519, 1);
	T_EQ_INT(reg_tenant_set(&w, "globex", 0, 0), 0);
	T_EQ_INT(reg_tenant_list(&w, "globex", first_tenant, &t), 7);
	T_EQ_INT(t.slots, 4);
	T_EQ_INT(t.ed25519, 0);
	int n = 0;
	T_EQ_INT(reg_tenant_list(&w, NULL, count_tenant, &n), 0);
	T_EQ_INT(n, 4);
	T_EQ_INT(reg_tenant_list(&w, "nobody", count_tenant, &n), DNSD_ENOENT);
	wr_clear(&w);
	T_EQ_INT(reg_tenant_remove(&w, "globex"), 0);
	T_EQ_INT(reg_tenant_id(&w, "globex", 0), 0);
	wr_close(&w);
}

static void test_policies(void)
{
	struct wr w;
	struct reg_scope g, t, d;
	char *own, *eff;
	int was;
	t_open(&w, 0);
	T_EQ_INT(reg_policy_scope(&w, NULL, NULL, &g), 0);
	T_EQ_STR(g.level, "global");
	T_EQ_INT(reg_policy_scope(&w, "acme", NULL, &t), 0);
	T_EQ_INT(reg_policy_scope(&w, NULL, "One.Example.", &d), 0);
	T_EQ_STR(d.who, "one.example");
	T_EQ_INT(reg_policy_scope(&w, "acme", "one.example", &d), DNSD_EINVAL);
	wr_clear(&w);
	T_EQ_INT(reg_policy_scope(&w, NULL, "none.example", &d), DNSD_ENOENT);
	T_EQ_STR(w.field, "domain");
	wr_clear(&w);
	T_EQ_INT(reg_policy_scope(&w, NULL, "one.example", &d), 0);
	uint64_t before = snapshot(&w);
	T_EQ_INT(reg_policy_set(&w, &g, "spf", "v=spf1 bogus"), DNSD_EINVAL);
	T_EQ_STR(w.field, "spf");
	wr_clear(&w);
	T_EQ_INT(reg_policy_set(&w, &g, "dmarc", "p=none"), DNSD_EINVAL);
	T_EQ_STR(w.field, "dmarc");
	wr_clear(&w);
	T_EQ_INT(reg_policy_set(&w, &g, "txt", "x"), DNSD_EINVAL);
	T_EQ_STR(w.field, "kind");
	wr_clear(&w);
	T_EQ_INT(snapshot(&w), before);
	T_EQ_INT(reg_policy_set(&w, &g, "spf", "v=spf1 ip4:192.0.2.1 -all"), 0);
	T_EQ_INT(reg_policy_set(&w, &t, "spf", "v=spf1 ip4:192.0.2.2 -all"), 0);
	T_EQ_INT(reg_policy_get(&w, &d, "spf", &own, &eff), 0);
	T_CHECK(own == NULL);
	T_EQ_STR(eff, "v=spf1 ip4:192.0.2.2 -all"); /* the tenant's, inherited */
	free(own), free(eff);
	/* A domain's SPF that includes its own Return-Path policy loops. */
	char *tok =
		wr_text(&w, wr_q(&w, "SELECT token FROM domains WHERE id = ?", "i", d.domain_id));
	char loop[200];
	snprintf(loop, sizeof(loop), "v=spf1 include:%s.rp.dkim.example -all", tok);
	free(tok);
	before = snapshot(&w);
	T_EQ_INT(reg_policy_set(&w, &d, "spf", loop), DNSD_EINVAL);
	wr_clear(&w);
	T_EQ_INT(snapshot(&w), before);
	T_EQ_INT(reg_policy_unset(&w, &t, "spf", &was), 0);
	T_EQ_INT(was, 1);
	T_EQ_INT(reg_policy_unset(&w, &t, "spf", &was), 0);
	T_EQ_INT(was, 0);
	T_EQ_INT(reg_policy_get(&w, &t, "spf", &own, &eff), 0);
	T_CHECK(own == NULL);
	T_EQ_STR(eff, "v=spf1 ip4:192.0.2.1 -all");
	free(own), free(eff);
	wr_close(&w);
}

/* reg_policy_put: several kinds in one transaction; a bad one leaves all as they were. */
static void test_policy_put(void)
{
	struct wr w;
	struct reg_scope t;
	char *own, *eff;
	t_open(&w, 0);
	T_EQ_INT(reg_policy_scope(&w, "pairs", NULL, &t), 0);
	T_EQ_INT(reg_policy_put(&w, &t, "v=spf1 ip4:192.0.2.9 -all", "10 mx.pairs.example.",
				"v=DMARC1; p=none",
				REG_POLICY_SPF | REG_POLICY_MX | REG_POLICY_DMARC),
		 0);
	T_EQ_INT(reg_policy_get(&w, &t, "mx", &own, &eff), 0);
	T_EQ_STR(own, "10 mx.pairs.example.");
	free(own), free(eff);
	/* A good SPF and a bad DMARC: neither is applied. */
	uint64_t before = snapshot(&w);
	T_EQ_INT(reg_policy_put(&w, &t, "v=spf1 ip4:192.0.2.10 -all", NULL, "p=none",
				REG_POLICY_SPF | REG_POLICY_MX | REG_POLICY_DMARC),
		 DNSD_EINVAL);
	T_EQ_STR(w.field, "dmarc");
	wr_clear(&w);
	T_EQ_INT(snapshot(&w), before);
	T_EQ_INT(reg_policy_get(&w, &t, "spf", &own, &eff), 0);
	T_EQ_STR(own, "v=spf1 ip4:192.0.2.9 -all");
	free(own), free(eff);
	T_EQ_INT(reg_policy_get(&w, &t, "mx", &own, &eff), 0);
	T_EQ_STR(own, "10 mx.pairs.example."); /* the clear in the same call was undone */
	free(own), free(eff);
	/* NULL with its bit clears; a kind without its bit is left. */
	T_EQ_INT(reg_policy_put(&w, &t, NULL, NULL, "ignored", REG_POLICY_MX), 0);
	T_EQ_INT(reg_policy_get(&w, &t, "mx", &own, &eff), 0);
	T_CHECK(own == NULL);
	free(own), free(eff);
	T_EQ_INT(reg_policy_get(&w, &t, "dmarc", &own, &eff), 0);
	T_EQ_STR(own, "v=DMARC1; p=none");
	free(own), free(eff);
	T_EQ_INT(reg_policy_put(&w, &t, NULL, NULL, NULL, REG_POLICY_SPF | REG_POLICY_DMARC), 0);
	T_EQ_INT(wr_int(&w,
			wr_q(&w, "SELECT count(*) FROM policies WHERE tenant_id = ?", "i",
			     t.tenant_id),
			-1),
		 0);
	wr_close(&w);
}

static int collect(void *arg, const struct reg_domain *d)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 400 - l, "%s%s/%s", l ? " " : "", d->name, d->state);
	return 0;
}

static int count_slot(void *arg, const struct reg_slot *s)
{
	int *n = arg;
	n[0]++;
	n[1] += s->state != NULL;
	return 0;
}

static int count_event(void *arg, const struct reg_event *e)
{
	int *n = arg;
	n[e->check]++;
	return 0;
}

/* Steps of full table scans by every statement the writer keeps prepared
 * since the last call (which resets them). */
static int scans(struct wr *w)
{
	int n = 0;
	for (sqlite3_stmt *st = sqlite3_next_stmt(w->db, NULL); st;
	     st = sqlite3_next_stmt(w->db, st))
		n += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
	return n;
}

/* A live domain is found through the index of live names: the lookup that
 * scanned every domain made an import of n rows take n^2. */
static void test_find_uses_index(void)
{
	struct wr w;
	struct reg_domain d;
	t_open(&w, 0);
	T_EQ_INT(reg_domain_find(&w, "imp1.example", &d, 0), 1);
	scans(&w);
	T_EQ_INT(reg_domain_find(&w, "imp2.example", &d, 0), 1);
	T_EQ_INT(reg_domain_find(&w, "none.example", &d, 0), 0);
	T_EQ_INT(scans(&w), 0);
	wr_close(&w);
}

/* Sorts and full-scan steps of the statements that ran since it was set (a
 * profile trace: it sees each statement as it ends, before it is finalized). */
static int list_cost;
static int on_profile(unsigned what, void *arg, void *p, void *x)
{
	(void)what, (void)arg, (void)x;
	list_cost += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_SORT, 0) +
		     sqlite3_stmt_status(p, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	return 0;
}

/* A page of the active domains is a search of the index of live names from the
 * cursor, not a sort of every domain (which grew with the store: 94 ms a page
 * at 200,000 domains). Every state: sorted (no index has them all). */
static void test_list_uses_index(void)
{
	struct wr w;
	char got[400] = "";
	t_open(&w, 0);
	sqlite3_trace_v2(w.db, SQLITE_TRACE_PROFILE, on_profile, NULL);
	struct reg_domain d;
	T_EQ_INT(reg_domain_need(&w, "imp1.example", &d, 0), 0);
	struct reg_filter f = {
		.state = "active", .after_name = "imp1.example", .after_id = d.id, .limit = 1};
	list_cost = 0;
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_EQ_STR(got, "imp2.example/active");
	T_EQ_INT(list_cost, 0);
	f.state = NULL;
	list_cost = 0;
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_CHECK(list_cost > 0); /* the measure sees a sort when there is one */
	sqlite3_trace_v2(w.db, 0, NULL, NULL);
	wr_close(&w);
}

static void test_domains(void)
{
	struct wr w;
	struct reg_domain d;
	char got[400] = "";
	t_open(&w, 0);
	/* Removed: its keys revoked, its token kept. */
	uint64_t before = snapshot(&w);
	T_EQ_INT(reg_domain_remove(&w, "nothere.example", NULL), DNSD_ENOENT);
	wr_clear(&w);
	T_EQ_INT(snapshot(&w), before);
	T_EQ_INT(reg_domain_remove(&w, "Three.Example", &d), 0);
	T_EQ_STR(d.name, "three.example");
	int ev[2] = {0, 0};
	T_EQ_INT(reg_domain_history(&w, d.id, count_event, ev), 0);
	T_EQ_INT(ev[0], 8); /* two keys generated, published, activated, then revoked */
	T_EQ_INT(ev[1], 0);
	T_EQ_INT(wr_int(&w,
			wr_q(&w,
			     "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id "
			     "WHERE s.domain_id = ? AND k.state != 'revoked'",
			     "i", d.id),
			-1),
		 0);
	struct reg_domain_in in = {.name = "three.example",
				   .tenant = "acme",
				   .ed25519 = -1,
				   .algorithm = "ed25519",
				   .token = d.token};
	T_EQ_INT(reg_domain_add(&w, &in, NULL), DNSD_EEXIST);
	T_EQ_STR(w.field, "token");
	wr_clear(&w);
	/* Listed by name, filtered, paged. */
	struct reg_filter f = {.tenant = "acme"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_EQ_STR(got, "keyed.example/active one.example/active three.example/removed");
	got[0] = 0;
	T_EQ_INT(reg_domain_need(&w, "add1.example", &d, 0), 0);
	f = (struct reg_filter){
		.state = "active", .after_name = d.name, .after_id = d.id, .limit = 2};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_EQ_STR(got, "imp1.example/active imp2.example/active");
	/* By a piece of the name (any case), and by the state of the last check. */
	got[0] = 0;
	f = (struct reg_filter){.q = "IMP", .state = "active"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_EQ_STR(got, "imp1.example/active imp2.example/active");
	got[0] = 0;
	f = (struct reg_filter){.q = "%"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_EQ_STR(got, "");
	T_EQ_INT(reg_domain_need(&w, "imp2.example", &d, 0), 0);
	T_EQ_INT(wr_run(&w, wr_q(&w,
				 "INSERT INTO domain_checks(domain_id, state, since, checked_at, "
				 "next_at) VALUES (?, 'verified', 1, 1, 1)",
				 "i", d.id)),
		 0);
	f = (struct reg_filter){.q = "imp", .check = "verified"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_EQ_STR(got, "imp2.example/active");
	got[0] = 0;
	f = (struct reg_filter){.q = "imp", .check = "pending"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), 0);
	T_EQ_STR(got, "imp1.example/active");
	f = (struct reg_filter){.check = "ok"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), DNSD_EINVAL);
	T_EQ_STR(w.field, "check");
	wr_clear(&w);
	f = (struct reg_filter){.state = "gone"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), DNSD_EINVAL);
	T_EQ_STR(w.field, "state");
	wr_clear(&w);
	f = (struct reg_filter){.tenant = "nobody"};
	T_EQ_INT(reg_domain_list(&w, &f, collect, got), DNSD_ENOENT);
	wr_clear(&w);
	/* Its slots, and the records the customer adds. */
	T_EQ_INT(reg_domain_need(&w, "imp1.example", &d, 0), 0);
	int n[2] = {0, 0};
	T_EQ_INT(reg_domain_slots(&w, d.id, count_slot, n), 0);
	T_EQ_INT(n[0], 5);
	T_EQ_INT(n[1], 2);
	struct reg_record r[REG_MAX_RECORDS];
	int nr, ttl;
	T_EQ_INT(reg_domain_records(&w, &d, r, &nr, &ttl), 0);
	T_EQ_INT(nr, 7);
	T_EQ_INT(ttl, 3600);
	char want[200];
	snprintf(want, sizeof(want), "esp-ed1.%s.dkim.dkim.example.", d.token);
	T_EQ_STR(r[3].value, want);
	T_EQ_STR(r[5].name, "bounce.imp1.example.");
	T_EQ_INT(r[6].optional, 1);
	snprintf(d.token, sizeof(d.token), "../x");
	T_EQ_INT(reg_domain_records(&w, &d, r, &nr, &ttl), DNSD_ESTORE);
	wr_clear(&w);
	wr_close(&w);
}

static int warned;
static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	warned += strstr(msg, "removed the setting export_command") != NULL;
}

/* init's input that keeps every setting but the zone. */
static struct reg_init_in keep(const char *zone)
{
	return (struct reg_init_in){.zone = zone,
				    .slots = -1,
				    .ttl_dkim = -1,
				    .ttl_policy = -1,
				    .retention_days = -1,
				    .rotation_days = -1,
				    .rotation_spread_hours = -1,
				    .key_retention_days = -1,
				    .ed25519 = -1};
}

/* What a transaction keeps (settings, its tenant) is forgotten when it is written: in one
 * outer transaction, as the API's Idempotency-Key holds one, the second domain gets what the
 * writes between gave. */
static void test_kept_reads(void)
{
	struct wr w;
	struct reg_domain d;
	t_open(&w, 0);
	T_EQ_INT(wr_begin(&w), 0);
	struct reg_domain_in in = {
		.name = "kept1.example", .tenant = "acme", .ed25519 = -1, .algorithm = "ed25519"};
	T_EQ_INT(reg_domain_add(&w, &in, &d), 0);
	T_EQ_STR(d.rp, "bounce");
	T_EQ_INT(reg_tenant_set(&w, "acme", 4, -1), 0);
	struct reg_init_in ri = keep("dkim.example.");
	ri.return_path = "rp2";
	T_EQ_INT(reg_init(&w, &ri), 0);
	in.name = "kept2.example";
	T_EQ_INT(reg_domain_add(&w, &in, &d), 0);
	T_EQ_STR(d.rp, "rp2");
	char *l = layout(&w, "kept2.example");
	T_EQ_STR(l, "esp1=ed25519 esp2=- esp3=- esp4=-");
	free(l);
	wr_rollback(&w);
	T_EQ_INT(reg_domain_find(&w, "kept1.example", &d, 1), 0);
	wr_close(&w);
}

static void test_init(void)
{
	struct wr w = {0};
	char db[200];
	snprintf(db, sizeof(db), "%s/init.db", tmpdir);
	struct wr_conf conf = {.db = db, .keys = keysdir};
	T_EQ_INT(wr_open(&w, &conf, 1), 0);
	struct reg_init_in in = keep("bad zone");
	T_EQ_INT(reg_init(&w, &in), DNSD_EINVAL);
	T_EQ_STR(w.field, "zone");
	wr_clear(&w);
	in = keep("Auth.Example");
	in.slots = 9;
	T_EQ_INT(reg_init(&w, &in), DNSD_EINVAL);
	T_EQ_STR(w.field, "slots");
	wr_clear(&w);
	in = keep("Auth.Example");
	in.selector_prefix = "A_b";
	T_EQ_INT(reg_init(&w, &in), DNSD_EINVAL);
	T_EQ_STR(w.field, "selector_prefix");
	wr_clear(&w);
	T_EQ_INT(wr_int(&w, wr_prep(&w, "SELECT count(*) FROM settings"), -1), 0);
	in = keep("Auth.Example");
	in.serial = 1000;
	T_EQ_INT(reg_init(&w, &in), 0);
	T_EQ_STR(w.zone, "auth.example.");
	char *v = store_setting(w.st, "selector_prefix");
	T_EQ_STR(v, "dnsd");
	free(v);
	T_EQ_INT(store_setting_int(w.st, "slots", 0), 3);
	T_CHECK(store_serial(w.st) >= 1000);
	/* Another zone: refused, nothing changed. */
	uint64_t before = snapshot(&w);
	in = keep("other.example");
	T_EQ_INT(reg_init(&w, &in), DNSD_EEXIST);
	T_EQ_STR(w.field, "zone");
	wr_clear(&w);
	T_EQ_INT(snapshot(&w), before);
	/* A lower DKIM TTL is held at the old one while caches may hold it; an
	 * old path row is dropped, by name. */
	wr_begin(&w);
	wr_run(&w, wr_q(&w, "INSERT INTO settings VALUES ('export_command', 'x')", ""));
	wr_commit(&w);
	w.warn = on_warn;
	in = keep("auth.example.");
	in.ttl_dkim = 60;
	T_EQ_INT(reg_init(&w, &in), 0);
	T_EQ_INT(store_setting_int(w.st, "ttl_dkim", 0), 60);
	T_EQ_INT(store_setting_int(w.st, "ttl_dkim_hold", 0), 3600);
	T_EQ_INT(warned, 1);
	T_CHECK((v = store_setting(w.st, "export_command")) == NULL);
	free(v);
	wr_close(&w);
	/* The main store has domains: its prefix and slot count stay. */
	t_open(&w, 0);
	in = keep("dkim.example");
	in.selector_prefix = "sel";
	T_EQ_INT(reg_init(&w, &in), DNSD_EEXIST);
	T_EQ_STR(w.field, "selector_prefix");
	wr_clear(&w);
	in = keep("dkim.example");
	in.slots = 4;
	T_EQ_INT(reg_init(&w, &in), DNSD_EEXIST);
	T_EQ_STR(w.field, "slots");
	wr_clear(&w);
	struct reg_status st;
	T_EQ_INT(reg_status(&w, &st), 0);
	T_EQ_INT(st.tenants, 3);
	T_EQ_INT(st.domains, 6);
	T_EQ_INT(st.keys, st.keys_in[0] + st.keys_in[1] + st.keys_in[2]);
	T_EQ_INT(st.keys_in[0], 8);
	wr_close(&w);
}

/* A new store file, name in the test's directory, opened to be made (init not run). Its path
 * lives as long as w (static: one at a time). */
static void open_new(struct wr *w, const char *name)
{
	static char db[200];
	snprintf(db, sizeof(db), "%s/%s", tmpdir, name);
	struct wr_conf conf = {.db = db, .keys = keysdir};
	*w = (struct wr){0};
	T_EQ_INT(wr_open(w, &conf, 1), 0);
}

/* open_new, initialised for zone with two tenants of the store's layout. */
static void open_tenants(struct wr *w, const char *name, const char *zone, const char *t1,
			 const char *t2)
{
	open_new(w, name);
	struct reg_init_in in = keep(zone);
	T_EQ_INT(reg_init(w, &in), 0);
	T_EQ_INT(reg_tenant_add(w, t1, 0, -1), 0);
	T_EQ_INT(reg_tenant_add(w, t2, 0, -1), 0);
}

/* init --spf --mx --dmarc: the global policies in init's transaction, checked as `spf set`
 * checks them; a bad one leaves the new store as it was (not initialised). */
static void test_init_policies(void)
{
	struct wr w;
	char *v;
	open_new(&w, "initpol.db");
	struct reg_init_in in = keep("pol.example");
	in.spf = "v=spf1 ip4:192.0.2.1 -all";
	in.mx = "10 mx.example.net.";
	in.dmarc = "v=DMARC1; p=nonsense";
	T_EQ_INT(reg_init(&w, &in), DNSD_EINVAL);
	T_EQ_STR(w.field, "dmarc");
	wr_clear(&w);
	T_CHECK(w.zone == NULL);
	T_EQ_INT(wr_int(&w, wr_prep(&w, "SELECT count(*) FROM settings"), -1), 0);
	T_EQ_INT(wr_int(&w, wr_prep(&w, "SELECT count(*) FROM policies"), -1), 0);
	in.dmarc = "v=DMARC1; p=none";
	T_EQ_INT(reg_init(&w, &in), 0);
	T_EQ_STR(w.zone, "pol.example.");
	T_EQ_STR((v = reg_policy_effective(&w, 0, 0, "spf")), "v=spf1 ip4:192.0.2.1 -all");
	free(v);
	T_EQ_STR((v = reg_policy_effective(&w, 0, 0, "mx")), "10 mx.example.net.");
	free(v);
	T_EQ_STR((v = reg_policy_effective(&w, 0, 0, "dmarc")), "v=DMARC1; p=none");
	free(v);
	/* Again without them: kept. */
	in = keep("pol.example");
	T_EQ_INT(reg_init(&w, &in), 0);
	T_EQ_INT(wr_int(&w, wr_prep(&w, "SELECT count(*) FROM policies"), -1), 3);
	/* Its domains answer on every name. */
	struct reg_domain d;
	struct reg_dangling dg[REG_MAX_DANGLING];
	int n = -1;
	T_EQ_INT(reg_tenant_add(&w, "t", 0, -1), 0);
	struct reg_domain_in din = {
		.name = "full.example", .tenant = "t", .ed25519 = -1, .algorithm = "ed25519"};
	T_EQ_INT(reg_domain_add(&w, &din, &d), 0);
	T_EQ_INT(reg_domain_dangling(&w, &d, dg, &n), 0);
	T_EQ_INT(n, 0);
	wr_close(&w);
}

/* The names a customer is told to CNAME that would answer nothing: found per domain and per
 * store as the policies in force (the domain's, its tenant's, the global one) and the keys
 * change. */
static void test_dangling(void)
{
	struct wr w;
	open_tenants(&w, "dangling.db", "dg.example", "a", "b");
	struct reg_domain da, db2;
	struct reg_domain_in din = {
		.name = "a.example", .tenant = "a", .ed25519 = -1, .algorithm = "ed25519"};
	T_EQ_INT(reg_domain_add(&w, &din, &da), 0);
	din.name = "b.example";
	din.tenant = "b";
	T_EQ_INT(reg_domain_add(&w, &din, &db2), 0);
	struct reg_dangling dg[REG_MAX_DANGLING];
	struct reg_dangling_sum sum;
	int n = -1;
	char want[600];
	/* No policy at all: the Return-Path lacks SPF and MX, _dmarc lacks DMARC. */
	T_EQ_INT(reg_domain_dangling(&w, &da, dg, &n), 0);
	T_EQ_INT(n, 3);
	snprintf(want, sizeof(want), "%s.rp.dg.example.", da.token);
	T_EQ_STR(dg[0].name, "bounce.a.example.");
	T_EQ_STR(dg[0].target, want);
	T_EQ_STR(dg[0].purpose, "return-path");
	T_EQ_STR(dg[0].missing, "spf");
	T_EQ_STR(dg[0].fix, "dnsdctl spf set");
	T_EQ_STR(dg[1].missing, "mx");
	T_EQ_STR(dg[2].name, "_dmarc.a.example.");
	T_EQ_STR(dg[2].missing, "dmarc");
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_SPF], 2);
	T_EQ_INT(sum.count[REG_DANGLING_MX], 2);
	T_EQ_INT(sum.count[REG_DANGLING_DMARC], 2);
	T_EQ_INT(sum.count[REG_DANGLING_KEY], 0);
	T_EQ_STR(sum.first[REG_DANGLING_SPF][0], "a.example");
	T_EQ_STR(sum.first[REG_DANGLING_SPF][1], "b.example");
	T_EQ_STR(sum.first[REG_DANGLING_SPF][2], "");
	/* A global SPF, tenant a's MX, b.example's own DMARC. */
	struct reg_scope s;
	T_EQ_INT(reg_policy_scope(&w, NULL, NULL, &s), 0);
	T_EQ_INT(reg_policy_set(&w, &s, "spf", "v=spf1 ip4:192.0.2.1 -all"), 0);
	T_EQ_INT(reg_policy_scope(&w, "a", NULL, &s), 0);
	T_EQ_INT(reg_policy_set(&w, &s, "mx", "10 mx.example.net."), 0);
	T_EQ_INT(reg_policy_scope(&w, NULL, "b.example", &s), 0);
	T_EQ_INT(reg_policy_set(&w, &s, "dmarc", "v=DMARC1; p=none"), 0);
	T_EQ_INT(reg_domain_dangling(&w, &da, dg, &n), 0);
	T_EQ_INT(n, 1);
	T_EQ_STR(dg[0].missing, "dmarc");
	T_EQ_INT(reg_domain_dangling(&w, &db2, dg, &n), 0);
	T_EQ_INT(n, 1);
	T_EQ_STR(dg[0].missing, "mx");
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_SPF], 0);
	T_EQ_INT(sum.count[REG_DANGLING_MX], 1);
	T_EQ_STR(sum.first[REG_DANGLING_MX][0], "b.example");
	T_EQ_INT(sum.count[REG_DANGLING_DMARC], 1);
	T_EQ_STR(sum.first[REG_DANGLING_DMARC][0], "a.example");
	/* a.example's only key retired, none active: every selector of its role answers no
	 * signing key. The spare slots of a role that signs are not counted. */
	T_EQ_INT(wr_begin(&w), 0);
	wr_run(&w, wr_q(&w,
			"UPDATE keys SET state = 'retired' WHERE state = 'active' AND slot_id IN "
			"(SELECT id FROM slots WHERE domain_id = ?)",
			"i", da.id));
	T_EQ_INT(wr_commit(&w), 0);
	T_EQ_INT(reg_domain_dangling(&w, &da, dg, &n), 0);
	T_EQ_INT(n, 4);
	T_EQ_STR(dg[0].purpose, "dkim");
	T_EQ_STR(dg[0].missing, "key");
	T_EQ_STR(dg[0].name, "dnsd1._domainkey.a.example.");
	T_EQ_STR(dg[2].name, "dnsd3._domainkey.a.example.");
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_KEY], 1);
	T_EQ_STR(sum.first[REG_DANGLING_KEY][0], "a.example");
	/* A removed domain is no one's to fix. */
	T_EQ_INT(reg_domain_remove(&w, "a.example", NULL), 0);
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_KEY] + sum.count[REG_DANGLING_DMARC], 0);
	wr_close(&w);
}

/* Runs sql on the store in a transaction of its own (what dnsdctl cannot do: a state the
 * summary must read right all the same). */
static void dg_sql(struct wr *w, const char *sql)
{
	T_EQ_INT(wr_begin(w), 0);
	wr_run(w, wr_prep(w, sql));
	T_EQ_INT(wr_commit(w), 0);
}

/* How many of the store's active domains reg_domain_dangling finds missing kind: the
 * per-domain answer the summary's count must agree with. */
static int dg_per_domain(struct wr *w, const char *const *names, int nn, const char *kind)
{
	int c = 0;
	for (int i = 0; i < nn; i++) {
		struct reg_domain d;
		struct reg_dangling dg[REG_MAX_DANGLING];
		int n = 0, hit = 0;
		T_EQ_INT(reg_domain_need(w, names[i], &d, 0), 0);
		T_EQ_INT(reg_domain_dangling(w, &d, dg, &n), 0);
		for (int j = 0; j < n; j++)
			hit |= !strcmp(dg[j].missing, kind);
		c += hit;
	}
	return c;
}

/* The summary over more domains than it names: the first names by name whether it finds them
 * along the names (many domains concerned) or by their ids (few), the tenant's and the
 * domain's own policies, and a role (the main keys', or the Ed25519 one) with no active key,
 * counted as reg_domain_dangling finds each domain. */
static void test_dangling_summary(void)
{
	static const char *const names[] = {"f.example", "b.example", "d.example",
					    "a.example", "e.example", "c.example"};
	struct wr w;
	open_tenants(&w, "dgsum.db", "dgs.example", "t", "u");
	for (int i = 0; i < 6; i++) {
		struct reg_domain d;
		struct reg_domain_in din = {.name = names[i],
					    .tenant = i ? "t" : "u",
					    .ed25519 = -1,
					    .algorithm = "ed25519"};
		T_EQ_INT(reg_domain_add(&w, &din, &d), 0);
	}
	struct reg_dangling_sum sum;
	struct reg_scope sc;
	/* All six miss every policy: the first three by name, though added in another order. */
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_SPF], 6);
	T_EQ_STR(sum.first[REG_DANGLING_SPF][0], "a.example");
	T_EQ_STR(sum.first[REG_DANGLING_SPF][1], "b.example");
	T_EQ_STR(sum.first[REG_DANGLING_SPF][2], "c.example");
	T_EQ_INT(sum.count[REG_DANGLING_KEY], 0);
	/* Their own SPF for five of them: f.example is left. Tenant u's MX covers f.example, the
	 * domains' own MX a, b and d: c and e are left, named in order (e was added first). */
	for (int i = 1; i < 6; i++) {
		T_EQ_INT(reg_policy_scope(&w, NULL, names[i], &sc), 0);
		T_EQ_INT(reg_policy_set(&w, &sc, "spf", "v=spf1 ip4:192.0.2.1 -all"), 0);
	}
	T_EQ_INT(reg_policy_scope(&w, "u", NULL, &sc), 0);
	T_EQ_INT(reg_policy_set(&w, &sc, "mx", "10 mx.example.net."), 0);
	for (int i = 1; i < 4; i++) {
		T_EQ_INT(reg_policy_scope(&w, NULL, names[i], &sc), 0);
		T_EQ_INT(reg_policy_set(&w, &sc, "mx", "10 mx.example.net."), 0);
	}
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_SPF], 1);
	T_EQ_INT(dg_per_domain(&w, names, 6, "spf"), 1);
	T_EQ_STR(sum.first[REG_DANGLING_SPF][0], "f.example");
	T_EQ_STR(sum.first[REG_DANGLING_SPF][1], "");
	T_EQ_INT(sum.count[REG_DANGLING_MX], 2);
	T_EQ_INT(dg_per_domain(&w, names, 6, "mx"), 2);
	T_EQ_STR(sum.first[REG_DANGLING_MX][0], "c.example");
	T_EQ_STR(sum.first[REG_DANGLING_MX][1], "e.example");
	T_EQ_STR(sum.first[REG_DANGLING_MX][2], "");
	T_EQ_INT(sum.count[REG_DANGLING_DMARC], 6);
	/* b.example gets a slot of the Ed25519 role with no key: that role signs nothing while
	 * its main key still does. d.example's key only published: it does not sign. */
	dg_sql(&w, "UPDATE slots SET role = 'ed25519' WHERE id = (SELECT max(s.id) FROM slots s "
		   "JOIN domains d ON d.id = s.domain_id WHERE d.name = 'b.example' AND s.id NOT "
		   "IN (SELECT slot_id FROM keys))");
	dg_sql(&w, "UPDATE keys SET state = 'published' WHERE state = 'active' AND slot_id IN "
		   "(SELECT s.id FROM slots s JOIN domains d ON d.id = s.domain_id WHERE d.name = "
		   "'d.example')");
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_KEY], 2);
	T_EQ_INT(dg_per_domain(&w, names, 6, "key"), 2);
	T_EQ_STR(sum.first[REG_DANGLING_KEY][0], "b.example");
	T_EQ_STR(sum.first[REG_DANGLING_KEY][1], "d.example");
	/* The global DMARC: no domain is looked at for it. */
	T_EQ_INT(reg_policy_scope(&w, NULL, NULL, &sc), 0);
	T_EQ_INT(reg_policy_set(&w, &sc, "dmarc", "v=DMARC1; p=none"), 0);
	T_EQ_INT(reg_dangling_summary(&w, &sum), 0);
	T_EQ_INT(sum.count[REG_DANGLING_DMARC], 0);
	T_EQ_STR(sum.first[REG_DANGLING_DMARC][0], "");
	T_EQ_INT(sum.count[REG_DANGLING_SPF], 1);
	wr_close(&w);
}

int main(void)
{
	if (t_tmp("reg") || make_store())
		return 1;
	T_RUN(test_names);
	T_RUN(test_domain_add);
	T_RUN(test_domain_refused);
	T_RUN(test_domain_key);
	T_RUN(test_domain_key_pem);
	T_RUN(test_busy);
	T_RUN(test_import);
	T_RUN(test_tenants);
	T_RUN(test_policies);
	T_RUN(test_policy_put);
	T_RUN(test_find_uses_index);
	T_RUN(test_list_uses_index);
	T_RUN(test_domains);
	T_RUN(test_init);
	T_RUN(test_init_policies);
	T_RUN(test_dangling);
	T_RUN(test_dangling_summary);
	T_RUN(test_kept_reads);
	t_tmp_rm();
	return t_done();
}

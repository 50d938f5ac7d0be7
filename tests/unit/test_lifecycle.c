/* test_lifecycle: the key lifecycle's operations on a real SQLite file and a
 * real keys directory: each one's success, its refusals (the field named),
 * and that a refusal or a lock held by another writer changes no row and
 * leaves no key file. */
#include "err.h"
#include "jobmetrics.h"
#include "keyfile.h"
#include "keys.h"
#include "lifecycle.h"
#include "ns.h"
#include "t_store.h"
#include "wr.h"
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int npem;
static int count_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	size_t l = strlen(p);
	if (flag == FTW_F && l > 4 && !strcmp(p + l - 4, ".pem"))
		npem++;
	return 0;
}

/* Key files anywhere under the keys directory, staged ones too. */
static int key_files(void)
{
	npem = 0;
	nftw(keysdir, count_entry, 16, FTW_PHYS);
	return npem;
}

static int64_t count(struct wr *w, const char *sql)
{
	wr_clear(w);
	return wr_int(w, wr_prep(w, sql), -1);
}

/* What a failed operation must not have changed. */
struct snap {
	int64_t keys, live, events, eligible;
	int files;
};

static struct snap snap(struct wr *w)
{
	struct snap s = {count(w, "SELECT count(*) FROM keys"),
			 count(w, "SELECT count(*) FROM keys WHERE state != 'revoked'"),
			 count(w, "SELECT count(*) FROM key_events"),
			 count(w, "SELECT sum(eligible) FROM slots"), key_files()};
	return s;
}

#define T_SAME(a, b)                                                                               \
	do {                                                                                       \
		struct snap t_s_ = (b);                                                            \
		T_EQ_INT((a).keys, t_s_.keys);                                                     \
		T_EQ_INT((a).live, t_s_.live);                                                     \
		T_EQ_INT((a).events, t_s_.events);                                                 \
		T_EQ_INT((a).eligible, t_s_.eligible);                                             \
		T_EQ_INT((a).files, t_s_.files);                                                   \
	} while (0)

/* A domain of tenant acme with three main slots and the Ed25519 pair, and
 * an active Ed25519 key in esp1 (rotations then generate Ed25519: fast). */
static int64_t add_domain(struct wr *w, const char *name, const char *token)
{
	char pk[2048], path[4096];
	T_EQ_INT(keyfile_new(w, name, token, "ed25519", "esp1", pk, sizeof(pk), path, sizeof(path)),
		 0);
	T_EQ_INT(wr_begin(w), 0);
	wr_run(w,
	       wr_q(w, "INSERT OR IGNORE INTO tenants(name, created_at) VALUES ('acme', 1)", ""));
	wr_run(w, wr_q(w, "INSERT INTO tokens(token, created_at) VALUES (?, 1)", "s", token));
	wr_run(w, wr_q(w,
		       "INSERT INTO domains(tenant_id, name, token, return_path, created_at) "
		       "VALUES ((SELECT id FROM tenants WHERE name = 'acme'), ?, ?, 'rp', 1)",
		       "ss", name, token));
	int64_t did = sqlite3_last_insert_rowid(w->db);
	static const char *const sel[] = {"esp1", "esp2", "esp3", "esp-ed1", "esp-ed2"};
	int64_t first = 0;
	for (int i = 0; i < 5; i++) {
		wr_run(w, wr_q(w,
			       "INSERT INTO slots(domain_id, selector, position, role, created_at) "
			       "VALUES (?, ?, ?, ?, 1)",
			       "isis", did, sel[i], (int64_t)(i + 1), i < 3 ? "main" : "ed25519"));
		if (!i)
			first = sqlite3_last_insert_rowid(w->db);
	}
	struct lc_key_new k = {.domain_id = did,
			       .slot_id = first,
			       .alg = "ed25519",
			       .pub = pk,
			       .path = path,
			       .state = "active",
			       .first_event = "generated",
			       .cause = "test",
			       .first_keys = 1};
	T_CHECK(lc_key_insert(w, &k) > 0);
	T_EQ_INT(wr_commit(w), 0);
	return did;
}

static void test_keyfile_names(void)
{
	char why[300];
	const char *field = NULL;
	T_EQ_INT(keyfile_names_check("example.com", "esp1", "abcdefghijklmnop", why, sizeof(why),
				     &field),
		 0);
	T_CHECK(field == NULL);
	T_EQ_INT(keyfile_names_check("../../x", "esp1", "abcdefghijklmnop", why, sizeof(why),
				     &field),
		 DNSD_EINVAL);
	T_EQ_STR(field, "domain");
	T_EQ_INT(keyfile_names_check("example.com", "a/b", "abcdefghijklmnop", why, sizeof(why),
				     &field),
		 DNSD_EINVAL);
	T_EQ_STR(field, "selector");
	T_EQ_INT(keyfile_names_check("example.com", "esp1", "ABC", why, sizeof(why), &field),
		 DNSD_EINVAL);
	T_EQ_STR(field, "token");
	/* keyfile_store refuses the same, writing nothing. */
	struct wr w;
	t_open(&w, 0);
	keys_key *k = NULL;
	char path[4096];
	T_EQ_INT(keys_generate("ed25519", &k), 0);
	int before = key_files();
	T_EQ_INT(keyfile_store(&w, k, "example.com", "esp1\n", "abcdefghijklmnop", "", path,
			       sizeof(path)),
		 DNSD_EINVAL);
	T_EQ_STR(w.field, "selector");
	T_EQ_INT(key_files(), before);
	keys_free(k);
	wr_close(&w);
}

static void test_rotate(void)
{
	struct wr w;
	struct lc_key_out out;
	t_open(&w, 0);
	struct snap s0 = snap(&w);
	/* Refusals: each names its field and changes nothing. */
	struct lc_rotate_in bad_role = {.domain = "example.com", .role = "spare"};
	T_EQ_INT(lc_key_rotate(&w, &bad_role, &out), DNSD_EINVAL);
	T_EQ_STR(w.field, "role");
	wr_clear(&w);
	struct lc_rotate_in weak = {.domain = "example.com", .algorithm = "rsa-1024"};
	T_EQ_INT(lc_key_rotate(&w, &weak, &out), DNSD_EINVAL);
	T_EQ_STR(w.field, "algorithm");
	wr_clear(&w);
	struct lc_rotate_in bad_name = {.domain = "exa mple.com"};
	T_EQ_INT(lc_key_rotate(&w, &bad_name, &out), DNSD_EINVAL);
	T_EQ_STR(w.field, "domain");
	wr_clear(&w);
	struct lc_rotate_in none = {.domain = "nowhere.example"};
	T_EQ_INT(lc_key_rotate(&w, &none, &out), DNSD_ENOENT);
	T_EQ_STR(w.field, "domain");
	T_SAME(snap(&w), s0);
	/* Success: published in the next free slot, its file in place. */
	struct lc_rotate_in in = {.domain = "Example.COM."};
	T_EQ_INT(lc_key_rotate(&w, &in, &out), 0);
	T_EQ_STR(out.selector, "esp2");
	T_EQ_STR(out.state, "published");
	T_EQ_STR(out.alg, "ed25519");
	T_CHECK(out.key_id > 0 && out.active_after > 0);
	struct stat sb;
	T_CHECK(stat(out.path, &sb) == 0 && (sb.st_mode & 0077) == 0);
	T_CHECK(strstr(out.path, "/example.com/esp2-") != NULL);
	struct snap s1 = snap(&w);
	T_EQ_INT(s1.keys, s0.keys + 1);
	T_EQ_INT(s1.files, s0.files + 1);
	/* A second rotation while one waits: EEXIST, nothing changed. */
	T_EQ_INT(lc_key_rotate(&w, &in, &out), DNSD_EEXIST);
	T_CHECK(strstr(w.err, "already has key") != NULL);
	T_SAME(snap(&w), s1);
	wr_close(&w);
}

static void test_busy(void)
{
	struct wr w;
	sqlite3 *other;
	struct lc_key_out out;
	t_open(&w, 100);
	struct snap s0 = snap(&w);
	T_EQ_INT(sqlite3_open(dbpath, &other), SQLITE_OK);
	T_EQ_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	struct lc_rotate_in in = {.domain = "other.example"};
	T_EQ_INT(lc_key_rotate(&w, &in, &out), DNSD_EBUSY);
	struct lc_revoke_in rv = {.domain = "other.example", .selector = "esp1"};
	struct lc_revoke_out ro;
	T_EQ_INT((wr_clear(&w), lc_key_revoke(&w, &rv, &ro)), DNSD_EBUSY);
	int changed;
	T_EQ_INT((wr_clear(&w), lc_slot_set(&w, "other.example", "esp3", 0, &changed)), DNSD_EBUSY);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	/* The generated key files were taken back. */
	T_SAME(snap(&w), s0);
	wr_close(&w);
}

static void test_slot_set(void)
{
	struct wr w;
	int changed = -1;
	t_open(&w, 0);
	T_EQ_INT(lc_slot_set(&w, "example.com", "esp3", 0, &changed), 0);
	T_EQ_INT(changed, 1);
	T_EQ_INT(lc_slot_set(&w, "example.com", "esp3", 0, &changed), 0);
	T_EQ_INT(changed, 0);
	struct snap s0 = snap(&w);
	T_EQ_INT(lc_slot_set(&w, "example.com", "esp9", 1, &changed), DNSD_ENOENT);
	T_EQ_STR(w.field, "selector");
	T_SAME(snap(&w), s0);
	wr_clear(&w);
	T_EQ_INT(lc_slot_set(&w, "example.com", "esp3", 1, &changed), 0);
	T_EQ_INT(changed, 1);
	wr_close(&w);
}

/* Writes a new key of alg to dir/name; its public value into pub. */
static void pem_file(const char *alg, const char *name, char *path, size_t n, char *pub, size_t pn)
{
	keys_key *k = NULL;
	char why[256];
	snprintf(path, n, "%s/%s", tmpdir, name);
	T_EQ_INT(keys_generate(alg, &k), 0);
	T_CHECK(keys_public_b64(k, pub, pn) > 0);
	T_EQ_INT(keys_write_private(k, path, why, sizeof(why)), 0);
	keys_free(k);
}

struct seen {
	const char *sel;
	char state[16], pub[2048];
	int live;
};

static int see(void *arg, const struct lc_key_info *k)
{
	struct seen *s = arg;
	if (strcmp(k->selector, s->sel) || !strcmp(k->state, "revoked"))
		return 0;
	s->live++;
	snprintf(s->state, sizeof(s->state), "%s", k->state);
	snprintf(s->pub, sizeof(s->pub), "%s", k->public_key ? k->public_key : "");
	return 0;
}

static void test_import_put(void)
{
	struct wr w;
	struct lc_import_out out;
	char f1[200], f2[200], p1[2048], p2[2048];
	t_open(&w, 0);
	pem_file("ed25519", "a.pem", f1, sizeof(f1), p1, sizeof(p1));
	pem_file("ed25519", "b.pem", f2, sizeof(f2), p2, sizeof(p2));
	struct snap s0 = snap(&w);
	/* Refusals. */
	struct lc_import_in missing = {.domain = "other.example", .file = "/nonexistent.pem"};
	T_EQ_INT(lc_key_import(&w, &missing, &out), DNSD_EINVAL);
	T_EQ_STR(w.field, "file");
	wr_clear(&w);
	struct lc_import_in nosel = {.domain = "other.example", .selector = "esp9", .file = f1};
	T_EQ_INT(lc_key_import(&w, &nosel, &out), DNSD_ENOENT);
	T_EQ_STR(w.field, "selector");
	wr_clear(&w);
	struct lc_import_in taken = {.domain = "other.example", .selector = "esp1", .file = f1};
	T_EQ_INT(lc_key_import(&w, &taken, &out), DNSD_EEXIST);
	T_EQ_STR(w.field, "selector");
	wr_clear(&w);
	struct lc_import_in put_nosel = {.domain = "other.example", .file = f1, .replace = 1};
	T_EQ_INT(lc_key_import(&w, &put_nosel, &out), DNSD_EINVAL);
	T_SAME(snap(&w), s0);
	wr_clear(&w);
	/* key put over the active key: one commit, the selector's live key is the
	 * new one, active, and the old one revoked. */
	struct lc_import_in put = {
		.domain = "other.example", .selector = "esp1", .file = f1, .replace = 1};
	T_EQ_INT(lc_key_import(&w, &put, &out), 0);
	T_EQ_STR(out.key.state, "active");
	T_EQ_STR(out.key.selector, "esp1");
	T_CHECK(out.replaced > 0);
	struct seen s = {.sel = "esp1"};
	T_EQ_INT(lc_key_list(&w, "other.example", see, &s), 0);
	T_EQ_INT(s.live, 1);
	T_EQ_STR(s.state, "active");
	T_EQ_STR(s.pub, p1); /* key list shows the public value */
	/* The same key put again (a retried PUT): done, unchanged, the same key still live; no
	 * revoke and re-add. */
	int64_t put_id = out.key.key_id;
	struct snap s1 = snap(&w);
	T_EQ_INT(lc_key_import(&w, &put, &out), 0);
	T_EQ_INT(out.unchanged, 1);
	T_EQ_INT(out.replaced, 0);
	T_EQ_INT(out.key.key_id, put_id);
	T_EQ_STR(out.key.state, "active");
	T_EQ_STR(out.key.selector, "esp1");
	T_SAME(snap(&w), s1);
	s.live = 0;
	T_EQ_INT(lc_key_list(&w, "other.example", see, &s), 0);
	T_EQ_INT(s.live, 1);
	T_EQ_STR(s.pub, p1);
	/* The same key imported beside itself (not a put at its selector): refused. */
	struct lc_import_in twice = {.domain = "other.example", .file = f1};
	T_EQ_INT(lc_key_import(&w, &twice, &out), DNSD_EEXIST);
	T_SAME(snap(&w), s1);
	wr_clear(&w);
	/* lc_key_by_id: the API's revoke by id finds the selector. */
	struct lc_domain dom;
	struct lc_key byid;
	T_EQ_INT(lc_domain_find(&w, "other.example", 0, &dom), 0);
	T_EQ_INT(lc_key_by_id(&w, dom.id, put_id, &byid), put_id);
	T_EQ_STR(byid.selector, "esp1");
	T_EQ_STR(byid.state, "active");
	T_EQ_INT(lc_key_by_id(&w, dom.id, put_id + 1000, &byid), 0);
	T_EQ_INT(w.rc, 0);
	/* key put into an empty slot is an import there: published. */
	struct lc_import_in put3 = {
		.domain = "other.example", .selector = "esp-ed1", .file = f2, .replace = 1};
	T_EQ_INT(lc_key_import(&w, &put3, &out), 0);
	T_EQ_STR(out.key.state, "published");
	T_EQ_INT(out.replaced, 0);
	T_EQ_INT(lc_key_list(&w, "nowhere.example", see, &s), DNSD_ENOENT);
	wr_clear(&w);
	/* PEM text from memory (the API's way in): refused garbage names its
	 * source; a good Ed25519 key goes to the domain's Ed25519 pair. */
	struct lc_import_in junk = {.domain = "example.com",
				    .pem = "-----BEGIN PRIVATE KEY-----\nxx\n",
				    .pem_len = 31,
				    .source = "upload.pem"};
	T_EQ_INT(lc_key_import(&w, &junk, &out), DNSD_EINVAL);
	T_CHECK(strstr(w.err, "upload.pem") != NULL);
	wr_clear(&w);
	char pem[4096];
	FILE *f = fopen(f1, "r");
	size_t len = f ? fread(pem, 1, sizeof(pem), f) : 0;
	if (f)
		fclose(f);
	struct lc_import_in mem = {
		.domain = "example.com", .pem = pem, .pem_len = len, .source = "upload.pem"};
	T_EQ_INT(lc_key_import(&w, &mem, &out), 0);
	T_EQ_STR(out.key.selector, "esp-ed1");
	T_EQ_STR(out.key.state, "published");
	wr_close(&w);
}

static void test_revoke(void)
{
	struct wr w;
	struct lc_revoke_out out;
	t_open(&w, 0);
	struct snap s0 = snap(&w);
	struct lc_revoke_in nosel = {.domain = "example.com", .selector = "esp9"};
	T_EQ_INT(lc_key_revoke(&w, &nosel, &out), DNSD_ENOENT);
	T_EQ_STR(w.field, "selector");
	wr_clear(&w);
	struct lc_revoke_in empty = {.domain = "example.com", .selector = "esp3"};
	T_EQ_INT(lc_key_revoke(&w, &empty, &out), DNSD_ENOENT);
	T_CHECK(strstr(w.err, "holds no key to revoke") != NULL);
	T_SAME(snap(&w), s0);
	wr_clear(&w);
	/* The active key of example.com: the published key (esp2, from
	 * test_rotate) takes over. */
	struct lc_revoke_in in = {.domain = "example.com", .selector = "esp1", .reason = "leak"};
	T_EQ_INT(lc_key_revoke(&w, &in, &out), 0);
	T_CHECK(out.was_active && out.revoked > 0 && out.replacement > 0);
	T_EQ_STR(out.replacement_selector, "esp2");
	T_EQ_INT(
		count(&w, "SELECT count(*) FROM key_events WHERE cause = 'emergency revoke: leak'"),
		1);
	/* Again, with no published key: a new key is made, active now. */
	struct lc_revoke_in in2 = {.domain = "example.com", .selector = "esp2"};
	T_EQ_INT(lc_key_revoke(&w, &in2, &out), 0);
	T_CHECK(out.replacement > 0);
	T_EQ_STR(out.how, "a new key");
	T_EQ_INT(count(&w, "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN "
			   "domains d ON d.id = s.domain_id WHERE d.name = 'example.com' AND "
			   "k.state = 'active'"),
		 1);
	wr_close(&w);
}

static void test_revoke_all(void)
{
	struct wr w;
	struct lc_revoke_all_out out;
	t_open(&w, 0);
	struct snap s0 = snap(&w);
	struct lc_revoke_all_in none = {.tenant = "nobody"};
	T_EQ_INT(lc_key_revoke_all(&w, &none, &out), DNSD_ENOENT);
	T_EQ_STR(w.field, "tenant");
	wr_clear(&w);
	const char *const list[] = {"example.com", "missing.example"};
	struct lc_revoke_all_in partial = {.domains = list, .ndomains = 2};
	T_EQ_INT(lc_key_revoke_all(&w, &partial, &out), DNSD_ENOENT);
	T_EQ_STR(w.field, "domain");
	T_SAME(snap(&w), s0);
	wr_clear(&w);
	struct lc_revoke_all_in both = {.tenant = "acme", .domains = list, .ndomains = 1};
	T_EQ_INT(lc_key_revoke_all(&w, &both, &out), DNSD_EINVAL);
	wr_clear(&w);
	/* A domain listed twice (in two spellings) is one domain: one new key per role, never two
	 * active keys in a role. */
	const char *const twice[] = {"example.com", "EXAMPLE.COM."};
	int64_t d_active = count(&w, "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id "
				     "JOIN domains d ON d.id = s.domain_id WHERE d.name = "
				     "'example.com' AND k.state = 'active'");
	struct lc_revoke_all_in dup = {.domains = twice, .ndomains = 2, .reason = "drill"};
	T_EQ_INT(lc_key_revoke_all(&w, &dup, &out), 0);
	T_EQ_INT(out.domains, 1);
	T_EQ_INT(out.replaced, d_active);
	T_EQ_INT(count(&w, "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN "
			   "domains d ON d.id = s.domain_id WHERE d.name = 'example.com' AND "
			   "k.state = 'active'"),
		 d_active);
	T_EQ_INT(count(&w, "SELECT count(*) FROM (SELECT s.domain_id, s.role FROM keys k JOIN "
			   "slots s ON s.id = k.slot_id WHERE k.state = 'active' GROUP BY "
			   "s.domain_id, s.role HAVING count(*) > 1)"),
		 0);
	s0 = snap(&w);
	/* The tenant's every live key, in one commit; each role that had an
	 * active key gets a new one, active. */
	int64_t live = s0.live,
		roles = count(&w, "SELECT count(*) FROM keys WHERE state = 'active'");
	struct lc_revoke_all_in all = {.tenant = "acme", .reason = "key server breach"};
	T_EQ_INT(lc_key_revoke_all(&w, &all, &out), 0);
	T_EQ_INT(out.domains, 2);
	T_EQ_INT(out.revoked, live);
	T_EQ_INT(out.replaced, roles);
	T_EQ_INT(count(&w, "SELECT count(*) FROM keys WHERE state != 'revoked'"), roles);
	T_EQ_INT(count(&w, "SELECT count(*) FROM keys WHERE state = 'active' AND created_at >= "
			   "(SELECT max(revoked_at) FROM keys)"),
		 roles);
	wr_close(&w);
}

static void test_rotate_all(void)
{
	struct wr w;
	struct lc_rotate_all_out out;
	t_open(&w, 0);
	struct lc_rotate_all_in none = {.tenant = "nobody"};
	T_EQ_INT(lc_key_rotate_all(&w, &none, &out), DNSD_ENOENT);
	wr_clear(&w);
	struct lc_rotate_all_in in = {.over_hours = 2, .tenant = "acme"};
	T_EQ_INT(lc_key_rotate_all(&w, &in, &out), 0);
	T_EQ_INT(out.scheduled, count(&w, "SELECT count(*) FROM keys WHERE state = 'active'"));
	T_EQ_INT(out.last - out.first, 7200);
	T_EQ_INT(count(&w, "SELECT count(*) FROM keys WHERE rotate_at IS NOT NULL"), out.scheduled);
	wr_close(&w);
}

static int ns_count(void *arg, const struct ns_info *n)
{
	(void)n;
	++*(int *)arg;
	return 0;
}

static void test_ns(void)
{
	struct wr w;
	int n = 0;
	t_open(&w, 0);
	T_EQ_INT(ns_add(&w, "a b", "127.0.0.1", 53), DNSD_EINVAL);
	T_EQ_STR(w.field, "name");
	wr_clear(&w);
	T_EQ_INT(ns_add(&w, "sec1", "192.0.2.300", 53), DNSD_EINVAL);
	T_EQ_STR(w.field, "address");
	wr_clear(&w);
	T_EQ_INT(ns_add(&w, "sec1", "::1", 70000), DNSD_EINVAL);
	T_EQ_STR(w.field, "port");
	wr_clear(&w);
	T_EQ_INT(ns_remove(&w, "sec9"), DNSD_ENOENT);
	T_EQ_STR(w.field, "name");
	wr_clear(&w);
	T_EQ_INT(ns_list(&w, ns_count, &n), 0);
	T_EQ_INT(n, 0);
	T_EQ_INT(ns_add(&w, "sec1", "::1", 5353), 0);
	T_EQ_INT(ns_add(&w, "sec1", "127.0.0.1", 5353), 0); /* moved, not doubled */
	T_EQ_INT(ns_list(&w, ns_count, &n), 0);
	T_EQ_INT(n, 1);
	T_EQ_INT(ns_remove(&w, "sec1"), 0);
	wr_close(&w);
}

static void collect(void *arg, const char *line)
{
	(void)line;
	++*(int *)arg;
}

static void test_maintain(void)
{
	struct wr w;
	struct lc_maintain_out out;
	int lines = 0;
	t_open(&w, 0);
	struct lc_maintain_in bad = {.max_keys = -1};
	T_EQ_INT(lc_maintain(&w, &bad, &out), DNSD_EINVAL);
	T_EQ_STR(w.field, "max_keys");
	wr_clear(&w);
	/* A published key held long enough (no name servers listed), and a
	 * retired key past its retention. */
	int64_t pub = count(&w, "SELECT max(id) FROM keys");
	T_EQ_INT(wr_begin(&w), 0);
	wr_run(&w, wr_q(&w,
			"UPDATE keys SET state = 'published', activated_at = NULL, "
			"active_after = 1 WHERE id = ?",
			"i", pub));
	wr_run(&w, wr_q(&w,
			"UPDATE keys SET state = 'retired', retired_at = 1 WHERE id = (SELECT "
			"min(id) FROM keys WHERE state = 'active')",
			""));
	T_EQ_INT(wr_commit(&w), 0);
	struct lc_maintain_in in = {.max_keys = 0, .note = collect, .note_arg = &lines};
	T_EQ_INT(lc_maintain(&w, &in, &out), 0);
	T_EQ_INT(out.activated, 1);
	T_EQ_INT(out.revoked, 1);
	T_EQ_INT(out.published, 0);
	T_EQ_INT(out.nns, 0);
	T_CHECK(lines >= 2);
	T_EQ_INT(count(&w, "SELECT count(*) FROM keys WHERE state = 'retired'"), 0);
	char *state = wr_text(&w, wr_q(&w, "SELECT state FROM keys WHERE id = ?", "i", pub));
	T_EQ_STR(state, "active");
	free(state);
	lc_maintain_free(&out);
	/* Due for rotation (rotate_at in the past): a successor is published. */
	T_EQ_INT(wr_begin(&w), 0);
	wr_run(&w, wr_q(&w, "UPDATE keys SET rotate_at = 1 WHERE id = ?", "i", pub));
	T_EQ_INT(wr_commit(&w), 0);
	int files = key_files();
	in.max_keys = 10;
	T_EQ_INT(lc_maintain(&w, &in, &out), 0);
	T_EQ_INT(out.published, 1);
	T_EQ_INT(key_files(), files + 1);
	lc_maintain_free(&out);
	wr_close(&w);
}

/* The value of one metric line (name with its labels) in text, or -2. */
static long long metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -2;
}

static void test_jobmetrics(void)
{
	struct wr w;
	char *text = NULL;
	size_t len = 0;
	t_open(&w, 0);
	int64_t active = count(
		&w,
		"SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN "
		"domains d ON d.id = s.domain_id WHERE d.state = 'active' AND k.state = 'active'");
	T_CHECK(active > 0);
	T_EQ_INT(ns_add(&w, "sec-m", "127.0.0.1", 5353), 0);
	struct jobmetrics_run run = {.now = store_now(), .ok = 1, .exports_ok = 0, .published = 2};
	FILE *f = open_memstream(&text, &len);
	T_EQ_INT(jobmetrics_print(&w, &run, f), 0);
	fclose(f);
	T_EQ_INT(metric(text, "dnsd_keys{state=\"active\"}"), active);
	long long due0 = metric(text, "dnsd_keys_rotation_due"),
		  late0 = metric(text, "dnsd_keys_rotation_overdue_seconds");
	/* what is due now depends on the tests before (rotate --all made some due) */
	T_CHECK(due0 >= 0 && due0 <= active);
	T_CHECK(metric(text, "dnsd_keys_next_rotation_timestamp_seconds") >= 0);
	T_EQ_INT(metric(text, "dnsd_job_exports_success"), 0);
	T_EQ_INT(metric(text, "dnsd_job_run_steps{step=\"published\"}"), 2);
	T_EQ_INT(metric(text, "dnsd_secondary_serial{name=\"sec-m\"}"), -1); /* never asked */
	T_EQ_INT(metric(text, "dnsd_secondary_lag_seconds{name=\"sec-m\"}"), 0);
	T_EQ_INT(metric(text, "dnsd_store_serial"), store_serial(w.st));
	T_CHECK(store_serial(w.st) > 0);
	free(text);
	/* 400 days on: every active key is due, the most overdue 400 days later. */
	run.now += 400 * 86400;
	f = open_memstream(&text, &len);
	T_EQ_INT(jobmetrics_print(&w, &run, f), 0);
	fclose(f);
	T_EQ_INT(metric(text, "dnsd_keys_rotation_due"), active);
	if (due0 > 0)
		T_EQ_INT(metric(text, "dnsd_keys_rotation_overdue_seconds"), late0 + 400 * 86400);
	T_CHECK(metric(text, "dnsd_keys_rotation_overdue_seconds") > 200 * 86400);
	T_EQ_INT(metric(text, "dnsd_keys_next_rotation_timestamp_seconds"), 0);
	free(text);
	/* The file: whole, by a rename, nothing left beside it; a directory that
	 * is not there is an error with the field named. */
	char path[256], tmpf[300];
	snprintf(path, sizeof(path), "%s/dnsd.prom", tmpdir);
	T_EQ_INT(jobmetrics_write(&w, &run, path), 0);
	struct stat sb;
	T_CHECK(stat(path, &sb) == 0 && sb.st_size > 500);
	snprintf(tmpf, sizeof(tmpf), "%s.tmp-%ld", path, (long)getpid());
	T_CHECK(stat(tmpf, &sb) != 0);
	snprintf(path, sizeof(path), "%s/nodir/dnsd.prom", tmpdir);
	T_EQ_INT(jobmetrics_write(&w, &run, path), DNSD_EIO);
	T_EQ_STR(w.field, "metrics-file");
	wr_clear(&w);
	T_EQ_INT(ns_remove(&w, "sec-m"), 0);
	wr_close(&w);
}

int main(void)
{
	struct wr w;
	if (t_tmp("lc") || t_store_make(NULL, "dkim.example.", NULL))
		return 1;
	t_open(&w, 0);
	add_domain(&w, "example.com", "abcdefghijklmnop");
	add_domain(&w, "other.example", "bcdefghijklmnopq");
	wr_close(&w);
	T_RUN(test_keyfile_names);
	T_RUN(test_rotate);
	T_RUN(test_busy);
	T_RUN(test_slot_set);
	T_RUN(test_import_put);
	T_RUN(test_revoke);
	T_RUN(test_revoke_all);
	T_RUN(test_rotate_all);
	T_RUN(test_ns);
	T_RUN(test_maintain);
	T_RUN(test_jobmetrics);
	t_tmp_rm();
	return t_done();
}

/* test_store: opening and migrating the SQLite store, the journal triggers and the
 * serial, and the reads dnsd makes (full, incremental, after a trim), with rows
 * written by plain SQL as a platform's own code would write them. */
#include "db.h"
#include "err.h"
#include "spki.h"
#include "store.h"
#include "t_store.h"

#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

/* Real keys: dnsd checks every key it loads (two RSA-2048, one Ed25519). */
#define KEY1                                                                                        \
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtGUe5ak7IcHgoGFCXN0x9JtHu+lwfjorVbq4rse18x9d5qCx/" \
	"oFCltCYtNA9slSBqTtfdVL0YBPBhmt0XxLKFCl6OiKLxIeCUYjVLsYwCWK8jE5xL6yOsMaDAUrK+/"                \
	"rx4mpsUCjMBiwe0LZjiGSfuJQDaDUMuXPHSGauJ7xJTf351VvvSaJ/cg6ymp1AmTSom/"                          \
	"1iGhlOBivkRPIF2u6gBraIhzz+8JuMnQ52/3WkALt/NaxdzHTHBEcDtvX4dVwk9IiD0qjgqLTpV6z1/"               \
	"3ooqUeZ4QMFv2HjQeJxe+4aAhuN1ahDc8pzyKE/qiLegFPz0vXhQRhWe/91fOcWxKOv5wIDAQAB"
#define KEY2 "8WyPUMXC96YvfHld1o5aI2xH+DV9g+caSDHUMdiAYRI="
#define KEY3                                                                                        \
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwLtdYxxU5RlwE/949Rq07NrU8zcAHNUYrUPUynOg5bu8Clodir2+" \
	"6p3UKP6ww4iESyUYLY0SZLEoiCJyLiPGF7QxP+OdmXUN3mAMSpCZvozBwubut7B8T+xPwfryUVYjFVcEFmOOkH/"        \
	"QbEFAWrfWPxxCsv+pTv4Fr8kKFPT/VkI3DNmCqrDhOB/dAEn84lbzrFj1wJnIgDjQvvZPnb0WigLit1JkyRZP4+"       \
	"XEUD+55duwFE4h5UtQUpGjcAdDEQbpcpSAtyurdl16YNR/gNMGEY4nZaq3V/VcYZXkuMCB2jcaMG9S6hcZUomt7iNbUuiad" \
	"VpRhCssTwvu8A5YrbbGzQIDAQAB"

static int sql(struct store *s, const char *q)
{
	char *msg = NULL;
	int rc = sqlite3_exec(store_db(s), q, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  sql: %s: %s\n", q, msg ? msg : "?");
	sqlite3_free(msg);
	return rc;
}

/* Runs q expecting it to fail; returns the error message (static) or NULL if it worked. */
static const char *sql_fails(struct store *s, const char *q)
{
	static char buf[256];
	char *msg = NULL;
	int rc = sqlite3_exec(store_db(s), q, NULL, NULL, &msg);
	snprintf(buf, sizeof(buf), "%s", msg ? msg : "");
	sqlite3_free(msg);
	return rc == SQLITE_OK ? NULL : buf;
}

static int64_t qint(struct store *s, const char *q)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(store_db(s), q, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One committed batch of plain SQL, as dnsdctl or a platform would write it. */
static int batch(struct store *s, const char *q)
{
	char err[256] = "";
	int rc = store_write_begin(s, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "  write_begin: %s\n", err);
		return rc;
	}
	if (sql(s, q) != SQLITE_OK) {
		store_write_rollback(s);
		return DNSD_ESTORE;
	}
	rc = store_write_commit(s, err, sizeof(err));
	if (rc)
		fprintf(stderr, "  write_commit: %s\n", err);
	return rc;
}

static int write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(p, 1, n, f);
	return fclose(f);
}

/* Makes a plain SQLite file (not a store) with the given user_version. */
static int make_sqlite(const char *path, int version)
{
	sqlite3 *db;
	char q[128];
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	snprintf(q, sizeof(q),
		 "CREATE TABLE other(x); INSERT INTO other VALUES (42); PRAGMA user_version = %d;",
		 version);
	int rc = sqlite3_exec(db, q, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static void test_open(void)
{
	char path[128], err[512] = "";
	struct store *s = (struct store *)1;

	/* missing, without CREATE */
	t_path(path, sizeof(path), "missing.db");
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_ENOENT);
	T_CHECK(s == NULL);
	T_CHECK(strstr(err, "init") != NULL);
	T_CHECK(strstr(err, path) != NULL);
	T_CHECK(access(path, F_OK) != 0); /* nothing was created */
	T_EQ_INT(store_open(path, STORE_READONLY, &s, err, sizeof(err)), DNSD_ENOENT);

	/* CREATE makes it, at the current schema */
	T_EQ_INT(store_open(path, STORE_CREATE, &s, err, sizeof(err)), 0);
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_EQ_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	T_EQ_INT(qint(s, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	T_EQ_INT(qint(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
			 "('settings','serial','tenants','tokens','domains','slots','keys','"
			 "policies','journal')"),
		 9);
	T_CHECK(store_serial(s) > 1600000000); /* starts at the clock */
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), 0);
	store_close(s);
	/* again, without CREATE, and read-only: the same store */
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), 0);
	T_EQ_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	store_close(s);
	T_EQ_INT(store_open(path, STORE_READONLY, &s, err, sizeof(err)), 0);
	T_EQ_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	T_CHECK(s && sql_fails(s, "INSERT INTO settings VALUES ('x', 'y')") != NULL);
	store_close(s);
	store_close(NULL);

	/* a schema newer than this program */
	t_path(path, sizeof(path), "future.db");
	T_EQ_INT(make_sqlite(path, 99), 0);
	s = (struct store *)1;
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_EVERSION);
	T_CHECK(s == NULL);
	T_CHECK(strstr(err, "99") != NULL);
	T_EQ_INT(store_open(path, STORE_READONLY, &s, err, sizeof(err)), DNSD_EVERSION);
	T_EQ_INT(store_open(path, STORE_CREATE, &s, err, sizeof(err)), DNSD_EVERSION);

	/* garbage: not a database, and left as it was */
	static char junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = "this is not a database\n"[i % 23];
	t_path(path, sizeof(path), "junk.db");
	T_EQ_INT(write_bytes(path, junk, sizeof(junk)), 0);
	err[0] = 0;
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_ESTORE);
	T_CHECK(s == NULL);
	T_CHECK(strstr(err, path) != NULL);
	T_EQ_INT(store_open(path, STORE_CREATE, &s, err, sizeof(err)), DNSD_ESTORE);
	T_EQ_INT(store_open(path, STORE_READONLY, &s, err, sizeof(err)), DNSD_ESTORE);
	struct stat st;
	T_CHECK(stat(path, &st) == 0 && st.st_size == (off_t)sizeof(junk));
	FILE *f = fopen(path, "rb");
	static char back[8192];
	T_CHECK(f && fread(back, 1, sizeof(back), f) == sizeof(back) &&
		memcmp(back, junk, sizeof(junk)) == 0);
	if (f)
		fclose(f);

	/* version 0 with tables: another program's database, refused by every mode
	 * and left as it was */
	t_path(path, sizeof(path), "other.db");
	T_EQ_INT(make_sqlite(path, 0), 0);
	T_EQ_INT(store_open(path, STORE_READONLY, &s, err, sizeof(err)), DNSD_ESTORE);
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_ESTORE);
	T_CHECK(strstr(err, "not a dnsd store") != NULL);
	T_EQ_INT(store_open(path, STORE_CREATE, &s, err, sizeof(err)), DNSD_ESTORE);
	{
		sqlite3 *raw;
		T_EQ_INT(sqlite3_open(path, &raw), SQLITE_OK);
		sqlite3_stmt *q1;
		T_EQ_INT(sqlite3_prepare_v2(raw, "SELECT count(*) FROM sqlite_schema", -1, &q1, NULL), SQLITE_OK);
		T_EQ_INT(sqlite3_step(q1), SQLITE_ROW);
		T_EQ_INT(sqlite3_column_int(q1, 0), 1); /* only its own table */
		sqlite3_finalize(q1);
		sqlite3_close(raw);
	}

	/* an empty file (a copy in progress, say): refused unless creating, and
	 * left empty */
	t_path(path, sizeof(path), "empty.db");
	FILE *ef = fopen(path, "w");
	T_CHECK(ef != NULL);
	if (ef)
		fclose(ef);
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_ESTORE);
	T_CHECK(strstr(err, "is empty") != NULL);
	T_CHECK(stat(path, &st) == 0 && st.st_size == 0);
	T_EQ_INT(store_open(path, STORE_CREATE, &s, err, sizeof(err)), 0);
	if (s) {
		T_EQ_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
		store_close(s);
	}

	/* a directory that does not exist */
	t_path(path, sizeof(path), "no/such/dir/x.db");
	err[0] = 0;
	T_CHECK(store_open(path, STORE_CREATE, &s, err, sizeof(err)) < 0);
	T_CHECK(s == NULL && err[0] != 0);
}

/* A store with the settings dnsdctl init writes. */
static struct store *new_store(const char *name)
{
	char path[128], err[512] = "";
	struct store *s;
	t_path(path, sizeof(path), name);
	if (store_open(path, STORE_CREATE, &s, err, sizeof(err))) {
		fprintf(stderr, "  store_open: %s\n", err);
		return NULL;
	}
	if (batch(s, "INSERT INTO settings(name, value) VALUES ('zone', 'auth.esp.example.'), "
		     "('selector_prefix', 'esp'), ('ttl_dkim', '600'), ('ttl_policy', '900'), "
		     "('slots', '3'), ('return_path', 'bounce')")) {
		store_close(s);
		return NULL;
	}
	return s;
}

static void test_settings(void)
{
	struct store *s = new_store("settings.db");
	T_CHECK(s != NULL);
	if (!s)
		return;
	char *v = store_setting(s, "zone");
	T_EQ_STR(v, "auth.esp.example.");
	free(v);
	T_CHECK(store_setting(s, "nope") == NULL);
	T_EQ_INT(store_setting_int(s, "ttl_dkim", 1), 600);
	T_EQ_INT(store_setting_int(s, "nope", 77), 77);
	T_EQ_INT(batch(s, "INSERT INTO settings VALUES ('a', 'abc'), ('b', '-1'), ('c', '12x'), "
			  "('d', '99999999999'), ('e', ''), ('f', '0')"),
		 0);
	T_EQ_INT(store_setting_int(s, "a", 5), 5);
	T_EQ_INT(store_setting_int(s, "b", 5), 5);
	T_EQ_INT(store_setting_int(s, "c", 5), 5);
	T_EQ_INT(store_setting_int(s, "d", 5), 5);
	T_EQ_INT(store_setting_int(s, "e", 5), 5);
	T_EQ_INT(store_setting_int(s, "f", 5), 0);
	store_close(s);
}

#define TENANT "INSERT INTO tenants(name, created_at) VALUES ('acme', 1);"
#define TOK1   "abcdefghijklmnop"
#define TOK2   "qrstuvwxyz234567"
#define TOK3   "aaaaaaaaaaaaaaaa"
#define TOK4   "bbbbbbbbbbbbbbbb"
#define TOK5   "cccccccccccccccc"

/* The SQL that adds domain id with token and three slots, a key in the first. */
static const char *add_domain_sql(int id, const char *name, const char *tok, const char *alg,
				  const char *key)
{
	static char q[4096];
	snprintf(q, sizeof(q),
		 "INSERT INTO tokens(token, created_at) VALUES ('%s', 1);"
		 "INSERT INTO domains(id, tenant_id, name, token, return_path, created_at) "
		 "VALUES (%d, 1, '%s', '%s', 'bounce', 1);"
		 "INSERT INTO slots(id, domain_id, selector, position) VALUES (%d, %d, 'esp1', 1), "
		 "(%d, %d, 'esp2', 2), (%d, %d, 'esp3', 3);"
		 "INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) "
		 "VALUES (%d, '%s', '%s', 'active', 1);",
		 tok, id, name, tok, 10 * id + 1, id, 10 * id + 2, id, 10 * id + 3, id, 10 * id + 1,
		 alg, key);
	return q;
}

static void test_journal(void)
{
	struct store *s = new_store("journal.db");
	T_CHECK(s != NULL);
	if (!s)
		return;
	int64_t j0 = qint(s, "SELECT count(*) FROM journal");
	T_EQ_INT(j0, 6); /* the settings rows */
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE tbl = 'settings' AND op = 'insert'"),
		 6);
	int64_t s0 = store_serial(s);
	T_EQ_INT(qint(s, "SELECT count(DISTINCT serial) FROM journal"), 1);
	T_EQ_INT(qint(s, "SELECT max(serial) FROM journal"), s0);

	/* what nothing serves: a tenant, an empty batch, a rolled-back batch */
	T_EQ_INT(batch(s, TENANT), 0);
	T_EQ_INT(store_serial(s), s0);
	T_EQ_INT(batch(s, "UPDATE tenants SET name = 'acme-inc' WHERE id = 1"), 0);
	T_EQ_INT(batch(s, "SELECT 1"), 0);
	T_EQ_INT(batch(s, "UPDATE domains SET state = 'removed' WHERE id = 12345"), 0);
	T_EQ_INT(store_serial(s), s0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), j0);
	char err[256];
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	T_EQ_INT(sql(s, add_domain_sql(1, "example.com", TOK1, "rsa-2048", KEY1)), SQLITE_OK);
	T_CHECK(qint(s, "SELECT count(*) FROM journal") >
		j0); /* journaled inside the transaction */
	store_write_rollback(s);
	T_EQ_INT(store_serial(s), s0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), j0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM domains"), 0);

	/* a domain with three slots and a key, and a tenant policy: one batch, one serial */
	char q[4096];
	snprintf(q, sizeof(q),
		 "%s INSERT INTO policies(tenant_id, kind, value, updated_at) "
		 "VALUES (1, 'spf', 'v=spf1 include:_spf.auth.esp.example -all', 1);",
		 add_domain_sql(1, "example.com", TOK1, "rsa-2048", KEY1));
	T_EQ_INT(batch(s, q), 0);
	T_EQ_INT(store_serial(s), s0 + 1);
	/* one row names the domain (version 8): its slots and key add none */
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), j0 + 2);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE serial = (SELECT value FROM serial)"),
		 2);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE tbl = 'domains' AND op = 'insert' AND "
			 "token = '" TOK1 "' AND domain_id = 1 AND tenant_id = 1"),
		 1);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE tbl = 'slots' AND token = '" TOK1 "'"),
		 0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE tbl = 'keys' AND token = '" TOK1 "'"),
		 0);
	T_EQ_INT(qint(s,
		      "SELECT count(*) FROM journal WHERE tbl = 'policies' AND tenant_id = 1 AND "
		      "domain_id IS NULL"),
		 1);

	/* each later batch moves the serial once, however many rows it touches */
	T_EQ_INT(batch(s, "UPDATE keys SET state = 'retired'; UPDATE keys SET state = 'revoked';"
			  "UPDATE slots SET eligible = 0;"),
		 0);
	T_EQ_INT(store_serial(s), s0 + 2);
	/* the domain once in this batch too, by the first of its rows that changed */
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE serial = (SELECT value FROM serial)"),
		 1);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE serial = (SELECT value FROM serial) "
			 "AND tbl = 'keys' AND domain_id = 1 AND token = '" TOK1 "'"),
		 1);
	/* a batch of its slots alone: the rows of the sealed batches do not count */
	T_EQ_INT(batch(s, "UPDATE slots SET eligible = 1"), 0);
	T_EQ_INT(store_serial(s), s0 + 3);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE serial = (SELECT value FROM serial) "
			 "AND tbl = 'slots' AND domain_id = 1 AND token = '" TOK1 "'"),
		 1);
	T_EQ_INT(batch(s, "UPDATE policies SET value = 'v=spf1 -all'"), 0);
	T_EQ_INT(batch(s, "DELETE FROM policies"), 0);
	T_EQ_INT(batch(s, "UPDATE settings SET value = '300' WHERE name = 'ttl_dkim'"), 0);
	T_EQ_INT(store_serial(s), s0 + 6);
	T_EQ_INT(qint(s,
		      "SELECT count(*) FROM journal WHERE serial = (SELECT value FROM serial) AND "
		      "tbl = 'settings' AND op = 'update'"),
		 1);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE serial > (SELECT value FROM serial)"),
		 0);
	/* seq only grows */
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal a JOIN journal b ON a.seq < b.seq AND "
			 "a.serial > b.serial"),
		 0);

	/* tokens are never deleted nor changed, and never reused */
	const char *m = sql_fails(s, "DELETE FROM tokens");
	T_CHECK(m && strstr(m, "never deleted") != NULL);
	m = sql_fails(s, "UPDATE tokens SET token = 'zzzzzzzzzzzzzzzz'");
	T_CHECK(m && strstr(m, "never change") != NULL);
	m = sql_fails(s, "UPDATE tokens SET created_at = 5");
	T_CHECK(m != NULL);
	m = sql_fails(s, "INSERT INTO tokens(token, created_at) VALUES ('" TOK1 "', 2)");
	T_CHECK(m != NULL);
	T_EQ_INT(batch(s, "DELETE FROM keys; DELETE FROM slots; DELETE FROM domains;"), 0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM tokens WHERE token = '" TOK1 "'"), 1);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal WHERE tbl = 'domains' AND op = 'delete' AND "
			 "token = '" TOK1 "'"),
		 1);
	T_EQ_INT(store_serial(s), s0 + 7);
	/* a failed statement inside a batch: the whole batch rolls back */
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	T_EQ_INT(sql(s, "INSERT INTO settings VALUES ('x', '1')"), SQLITE_OK);
	T_CHECK(sql_fails(s, "DELETE FROM tokens") != NULL);
	store_write_rollback(s);
	T_CHECK(store_setting(s, "x") == NULL);
	T_EQ_INT(store_serial(s), s0 + 7);

	/* the journal is trimmed on commit by the journal_max_rows setting */
	T_EQ_INT(batch(s, "INSERT INTO settings VALUES ('journal_max_rows', '3')"), 0);
	T_EQ_INT(batch(s, "INSERT INTO settings VALUES ('y1', '1'), ('y2', '2'), ('y3', '3'), "
			  "('y4', '4')"),
		 0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), 3);
	T_EQ_INT(qint(s, "SELECT min(seq) FROM journal"),
		 qint(s, "SELECT max(seq) FROM journal") - 2);
	/* store_journal_trim with 0 rows: all of it */
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	T_EQ_INT(store_journal_trim(s, 1000000000, 0), 0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), 0);
	store_write_rollback(s);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), 3);
	store_close(s);
}

/* ---- reading ---- */

struct warns {
	int n;
	char all[4096];
};

static void on_warn(void *ctx, const char *msg)
{
	struct warns *w = ctx;
	size_t l = strlen(w->all);
	w->n++;
	snprintf(w->all + l, sizeof(w->all) - l, "%s\n", msg);
}

/* Reads the changes since base's seq into a new view; frees the garbage only if
 * free_old, else hands it back in g. Returns NULL on failure (printed). */
static struct db_view *refresh(struct store *s, struct db_view *base, struct store_changes *ch,
			       struct warns *w, struct db_garbage *g)
{
	char err[512] = "";
	struct db_edit *e = db_edit_begin(base, NULL, 0, NULL);
	if (!e)
		return NULL;
	int rc = store_read_changes(s, base ? base->seq : 0, e, ch, on_warn, w, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "  store_read_changes: %s\n", err);
		db_edit_abort(e);
		return NULL;
	}
	return db_edit_commit(e, base, g);
}

static const struct db_domain *tok(const struct db_view *v, const char *t)
{
	return db_view_by_token(v, (const uint8_t *)t, 16);
}

static const struct db_domain *named(const struct db_view *v, const char *text)
{
	uint8_t w[WIRE_MAXNAME];
	int l = wire_name_from_text(text, w);
	return l < 0 ? NULL : db_view_by_name(v, w, (size_t)l);
}

/* The TXT of an RRset's first RR, joined. */
static const char *txt(const struct db_rrset *rs)
{
	static char buf[4096];
	size_t n = 0;
	buf[0] = 0;
	if (!rs || rs->len < 10)
		return "(none)";
	uint16_t l = wire_get16(rs->data + 8);
	const uint8_t *rd = rs->data + 10;
	for (size_t p = 0; p < l; p += 1u + rd[p]) {
		memcpy(buf + n, rd + p + 1, rd[p]);
		n += rd[p];
	}
	buf[n] = 0;
	return buf;
}

static uint32_t ttl(const struct db_rrset *rs)
{
	return rs ? wire_get32(rs->data + 4) : 0;
}

static const char *slot_txt(const struct db_view *v, const char *t, int slot)
{
	const struct db_domain *d = tok(v, t);
	if (!d || slot >= d->nslots)
		return "(no domain)";
	return txt(d->slots[slot].txt);
}

/* refresh, with what the new view replaced freed at once: nothing else reads
 * the old one. */
static struct db_view *advance(struct store *s, struct db_view *base, struct store_changes *ch,
			       struct warns *w)
{
	struct db_garbage g = {0};
	struct db_view *v = refresh(s, base, ch, w, &g);
	db_garbage_free(&g);
	return v;
}

static void test_read_changes(void)
{
	struct store *s = new_store("read.db");
	struct store_changes ch;
	struct warns w = {0};
	struct db_garbage g = {0};
	char q[4096], err[256];

	T_CHECK(s != NULL);
	if (!s)
		return;
	snprintf(q, sizeof(q),
		 TENANT "%s INSERT INTO policies(tenant_id, kind, value, updated_at) "
			"VALUES (1, 'spf', 'v=spf1 include:_spf.auth.esp.example -all', 1);",
		 add_domain_sql(1, "example.com", TOK1, "rsa-2048", KEY1));
	T_EQ_INT(batch(s, q), 0);

	/* the first read is full */
	struct db_view *v1 = refresh(s, NULL, &ch, &w, &g);
	T_CHECK(v1 != NULL);
	if (!v1)
		return;
	db_garbage_free(&g);
	T_EQ_INT(ch.full, 1);
	T_EQ_INT(ch.seq, qint(s, "SELECT max(seq) FROM journal"));
	T_EQ_INT(ch.set.serial, store_serial(s));
	T_EQ_INT(ch.set.ttl_dkim, 600);
	T_EQ_INT(ch.set.ttl_policy, 900);
	T_EQ_INT(v1->seq, ch.seq);
	T_EQ_INT(v1->set.serial, ch.set.serial);
	T_EQ_INT(v1->ndomains, 1);
	T_EQ_INT(w.n, 0);
	const struct db_domain *d = tok(v1, TOK1);
	T_CHECK(d && d->id == 1 && d->tenant_id == 1 && !d->removed && d->nslots == 3);
	T_CHECK(d && named(v1, "example.com") == d);
	T_EQ_STR(slot_txt(v1, TOK1, 0), "v=DKIM1; k=rsa; p=" KEY1);
	T_EQ_STR(slot_txt(v1, TOK1, 1), "v=DKIM1; p=");
	T_EQ_STR(slot_txt(v1, TOK1, 2), "v=DKIM1; p=");
	T_CHECK(d && ttl(d->slots[0].txt) == 600 && memcmp(d->slots[2].sel, "\004esp3", 5) == 0);
	T_CHECK(d && strcmp(txt(db_view_policy(v1, d, DB_POL_SPF)),
			    "v=spf1 include:_spf.auth.esp.example -all") == 0);
	T_CHECK(d && ttl(db_view_policy(v1, d, DB_POL_SPF)) == 900);
	T_CHECK(d && db_view_policy(v1, d, DB_POL_MX) == NULL);

	/* nothing changed: the same position, the edit untouched */
	struct db_edit *e = db_edit_begin(v1, NULL, 0, NULL);
	T_EQ_INT(store_read_changes(s, v1->seq, e, &ch, on_warn, &w, err, sizeof(err)), 0);
	T_EQ_INT(ch.full, 0);
	T_EQ_INT(ch.seq, v1->seq);
	db_edit_abort(e);

	/* more writes: incremental */
	snprintf(q, sizeof(q),
		 "%s UPDATE keys SET state = 'revoked', revoked_at = 2 WHERE slot_id = 11;"
		 "INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (12, "
		 "'rsa-2048', '" KEY3 "', 'published', 2);"
		 "INSERT INTO policies(tenant_id, domain_id, kind, value, updated_at) VALUES "
		 "(NULL, NULL, 'dmarc', 'v=DMARC1; p=none', 2);"
		 "INSERT INTO policies(tenant_id, domain_id, kind, value, updated_at) VALUES "
		 "(NULL, NULL, 'mx', '10 bounce.auth.esp.example.', 2);"
		 "INSERT INTO policies(domain_id, kind, value, updated_at) VALUES (1, 'spf', "
		 "'v=spf1 ip4:192.0.2.1 -all', 2);",
		 add_domain_sql(2, "example.org", TOK2, "ed25519", KEY2));
	T_EQ_INT(batch(s, q), 0);
	struct db_view *v2 = refresh(s, v1, &ch, &w, &g);
	T_CHECK(v2 != NULL);
	if (!v2)
		return;
	T_EQ_INT(ch.full, 0);
	T_EQ_INT(ch.seq, qint(s, "SELECT max(seq) FROM journal"));
	T_CHECK(ch.seq > v1->seq);
	T_EQ_INT(v2->set.serial, store_serial(s));
	T_EQ_INT(v2->ndomains, 2);
	T_EQ_STR(slot_txt(v2, TOK2, 0), "v=DKIM1; k=ed25519; p=" KEY2);
	T_CHECK(named(v2, "example.org") == tok(v2, TOK2));
	T_EQ_STR(slot_txt(v2, TOK1, 0), "v=DKIM1; p=");
	T_EQ_STR(slot_txt(v2, TOK1, 1), "v=DKIM1; k=rsa; p=" KEY3);
	d = tok(v2, TOK1);
	T_CHECK(d &&
		strcmp(txt(db_view_policy(v2, d, DB_POL_SPF)), "v=spf1 ip4:192.0.2.1 -all") == 0);
	T_CHECK(d && strcmp(txt(db_view_policy(v2, d, DB_POL_DMARC)), "v=DMARC1; p=none") == 0);
	T_CHECK(d && db_view_policy(v2, d, DB_POL_MX) != NULL);
	const struct db_domain *d2 = tok(v2, TOK2);
	T_CHECK(d2 && strcmp(txt(db_view_policy(v2, d2, DB_POL_SPF)),
			     "v=spf1 include:_spf.auth.esp.example -all") == 0);
	/* the old view is as it was until its garbage goes */
	T_CHECK(tok(v1, TOK2) == NULL);
	T_EQ_STR(slot_txt(v1, TOK1, 0), "v=DKIM1; k=rsa; p=" KEY1);
	T_CHECK(v1->global.dmarc == NULL);
	db_garbage_free(&g);
	T_EQ_INT(w.n, 0);

	/* a domain removed: revoked keys everywhere, no longer found by name */
	T_EQ_INT(batch(s, "UPDATE domains SET state = 'removed', removed_at = 3 WHERE id = 1"), 0);
	struct db_view *v3 = refresh(s, v2, &ch, &w, &g);
	db_garbage_free(&g);
	T_CHECK(v3 != NULL);
	if (!v3)
		return;
	T_EQ_INT(ch.full, 0);
	d = tok(v3, TOK1);
	T_CHECK(d && d->removed);
	T_EQ_STR(slot_txt(v3, TOK1, 0), "v=DKIM1; p=");
	T_EQ_STR(slot_txt(v3, TOK1, 1), "v=DKIM1; p=");
	T_CHECK(named(v3, "example.com") == NULL);
	T_CHECK(tok(v3, TOK2) != NULL);

	/* a tenant policy deleted; then the domain purged; then another deleted outright */
	T_EQ_INT(batch(s, "DELETE FROM policies WHERE tenant_id = 1"), 0);
	struct db_view *v4 = refresh(s, v3, &ch, &w, &g);
	db_garbage_free(&g);
	T_CHECK(v4 != NULL);
	if (!v4)
		return;
	T_EQ_INT(ch.full, 0);
	d2 = tok(v4, TOK2);
	T_CHECK(d2 && db_view_policy(v4, d2, DB_POL_SPF) == NULL);
	T_CHECK(d2 && db_view_policy(v4, d2, DB_POL_DMARC) != NULL);
	T_EQ_INT(batch(s, "UPDATE domains SET state = 'purged' WHERE id = 1;"
			  "DELETE FROM keys WHERE slot_id IN (21, 22, 23); DELETE FROM slots WHERE "
			  "domain_id = 2;"
			  "DELETE FROM domains WHERE id = 2;"),
		 0);
	struct db_view *v5 = refresh(s, v4, &ch, &w, &g);
	db_garbage_free(&g);
	T_CHECK(v5 != NULL);
	if (!v5)
		return;
	T_EQ_INT(ch.full, 0);
	T_CHECK(tok(v5, TOK1) == NULL && tok(v5, TOK2) == NULL);
	T_CHECK(named(v5, "example.org") == NULL);
	T_EQ_INT(v5->ndomains, 0);
	uint64_t reader = v5->seq;

	/* the journal trimmed past the reader: the next read is full */
	T_EQ_INT(batch(s, add_domain_sql(3, "three.example", TOK3, "rsa-2048", KEY1)), 0);
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	T_EQ_INT(store_journal_trim(s, 1000000000, 0), 0);
	T_EQ_INT(store_write_commit(s, err, sizeof(err)), 0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM journal"), 0);
	T_EQ_INT(batch(s, add_domain_sql(4, "four.example", TOK4, "ed25519", KEY2)), 0);
	T_CHECK(qint(s, "SELECT min(seq) FROM journal") > (int64_t)reader + 1);
	struct db_view *v6 = refresh(s, v5, &ch, &w, &g);
	db_garbage_free(&g);
	T_CHECK(v6 != NULL);
	if (!v6)
		return;
	T_EQ_INT(ch.full, 1);
	T_EQ_INT(v6->ndomains, 2);
	T_EQ_STR(slot_txt(v6, TOK3, 0), "v=DKIM1; k=rsa; p=" KEY1);
	T_EQ_STR(slot_txt(v6, TOK4, 0), "v=DKIM1; k=ed25519; p=" KEY2);
	T_CHECK(tok(v6, TOK1) == NULL && tok(v6, TOK2) == NULL);
	d = tok(v6, TOK3);
	T_CHECK(d && strcmp(txt(db_view_policy(v6, d, DB_POL_DMARC)), "v=DMARC1; p=none") == 0);
	/* trimmed with nothing after it: also full */
	reader = v6->seq;
	T_EQ_INT(batch(s, "UPDATE keys SET state = 'revoked' WHERE slot_id = 31"), 0);
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	T_EQ_INT(store_journal_trim(s, 1000000000, 0), 0);
	T_EQ_INT(store_write_commit(s, err, sizeof(err)), 0);
	struct db_view *v7 = refresh(s, v6, &ch, &w, &g);
	db_garbage_free(&g);
	T_CHECK(v7 != NULL);
	if (!v7)
		return;
	T_EQ_INT(ch.full, 1);
	T_CHECK(ch.seq > reader);
	T_EQ_STR(slot_txt(v7, TOK3, 0), "v=DKIM1; p=");

	/* a settings change is a full reload, with the new TTLs */
	T_EQ_INT(batch(s, "UPDATE settings SET value = '120' WHERE name = 'ttl_dkim'"), 0);
	struct db_view *v8 = refresh(s, v7, &ch, &w, &g);
	db_garbage_free(&g);
	T_CHECK(v8 != NULL);
	if (!v8)
		return;
	T_EQ_INT(ch.full, 1);
	T_EQ_INT(ch.set.ttl_dkim, 120);
	d = tok(v8, TOK4);
	T_CHECK(d && ttl(d->slots[0].txt) == 120 && ttl(d->slots[1].txt) == 120);
	T_EQ_INT(w.n, 0);

	/* rows dnsd refuses (written past the schema's checks): warned about, not served */
	snprintf(q, sizeof(q),
		 "PRAGMA ignore_check_constraints = ON;"
		 "%s INSERT INTO policies(domain_id, kind, value, updated_at) VALUES (5, 'spf', "
		 "'v=spf1 frobnicate -all', 4);"
		 "INSERT INTO policies(domain_id, kind, value, updated_at) VALUES (5, 'dmarc', "
		 "'v=DMARC1; p=reject', 4);"
		 "INSERT INTO policies(tenant_id, kind, value, updated_at) VALUES (1, 'mx', 'ten "
		 "bounce', 4);"
		 "INSERT INTO policies(tenant_id, kind, value, updated_at) VALUES (1, 'spf', "
		 "'v=spf1 mx -all', 4);",
		 add_domain_sql(5, "five.example", TOK5, "rsa-2048", "not base64!"));
	T_EQ_INT(batch(s, q), 0);
	T_EQ_INT(batch(s,
		       "PRAGMA ignore_check_constraints = ON;"
		       "INSERT INTO tokens VALUES ('dddddddddddddddd', 5);"
		       "INSERT INTO domains(id, tenant_id, name, token, return_path, created_at) "
		       "VALUES (6, 1, 'bad..name', 'dddddddddddddddd', 'bounce', 5);"
		       "INSERT INTO tokens VALUES ('short', 5);"
		       "INSERT INTO domains(id, tenant_id, name, token, return_path, created_at) "
		       "VALUES (7, 1, 'seven.example', 'short', 'bounce', 5);"),
		 0);
	w.n = 0;
	w.all[0] = 0;
	struct db_view *v9 = refresh(s, v8, &ch, &w, &g);
	db_garbage_free(&g);
	T_CHECK(v9 != NULL);
	if (!v9)
		return;
	T_EQ_INT(ch.full, 0);
	T_CHECK(w.n >= 5);
	T_CHECK(strstr(w.all, "five.example selector esp1: key") &&
		strstr(w.all, "not served, the selector answers NODATA"));
	T_CHECK(strstr(w.all, "frobnicate") != NULL);
	T_CHECK(strstr(w.all, "ten bounce") != NULL);
	T_CHECK(strstr(w.all, "bad..name") != NULL);
	T_CHECK(strstr(w.all, "token 'short'") != NULL);
	d = tok(v9, TOK5);
	T_CHECK(d != NULL);
	T_EQ_STR(slot_txt(v9, TOK5, 0), "(none)"); /* NODATA: neither a key nor "revoked" */
	T_CHECK(d && d->pol.spf == NULL);
	T_CHECK(d && strcmp(txt(db_view_policy(v9, d, DB_POL_DMARC)), "v=DMARC1; p=reject") == 0);
	/* An invalid level answers nothing: the broader level does not stand in for it
	 * (the domain's own SPF was meant, not the tenant's). */
	T_CHECK(d && db_view_policy(v9, d, DB_POL_SPF) == NULL);
	T_CHECK(d && db_view_policy(v9, d, DB_POL_MX) == NULL && v9->global.mx); /* tenant's bad MX */
	T_CHECK(tok(v9, "dddddddddddddddd") == NULL);
	T_CHECK(named(v9, "seven.example") == NULL);
	T_EQ_INT(v9->ndomains, 3);
	/* a full reload refuses the same rows */
	w.n = 0;
	w.all[0] = 0;
	e = db_edit_begin(v9, NULL, 0, NULL);
	T_EQ_INT(store_read_changes(s, 0, e, &ch, on_warn, &w, err, sizeof(err)), 0);
	T_EQ_INT(ch.full, 1);
	struct db_view *v10 = db_edit_commit(e, v9, &g);
	db_garbage_free(&g);
	T_CHECK(v10 != NULL);
	if (!v10)
		return;
	T_CHECK(w.n >= 5);
	T_EQ_INT(v10->ndomains, 3);
	T_EQ_STR(slot_txt(v10, TOK5, 0), "(none)");
	T_CHECK(tok(v10, "dddddddddddddddd") == NULL);
	d = tok(v10, TOK5);
	T_CHECK(d && db_view_policy(v10, d, DB_POL_SPF) == NULL && db_view_policy(v10, d, DB_POL_MX) == NULL);
	T_CHECK(d && db_view_policy(v10, d, DB_POL_DMARC) != NULL);

	/* a reader ahead of the journal (the store was rebuilt under it): full */
	e = db_edit_begin(v10, NULL, 0, NULL);
	T_EQ_INT(store_read_changes(s, v10->seq + 100, e, &ch, on_warn, &w, err, sizeof(err)), 0);
	T_EQ_INT(ch.full, 1);
	T_EQ_INT(ch.seq, qint(s, "SELECT max(seq) FROM journal"));
	struct db_view *v11 = db_edit_commit(e, v10, &g);
	db_garbage_free(&g);
	T_CHECK(v11 != NULL);
	if (!v11)
		return;
	T_EQ_INT(v11->ndomains, 3);
	T_CHECK(tok(v11, TOK4) != NULL && named(v11, "Four.Example.") == tok(v11, TOK4));

	db_view_free_all(v11);
	store_close(s);
}

/* Rows written by SQL that no dnsdctl would write (planted past the schema's
 * checks, as PRAGMA ignore_check_constraints lets anyone): each is warned about
 * once and not served, and never stops the others being served or the next
 * change being applied (a 76,411-character DMARC on a tenant did). */
/* The DKIM marker of dnsdctl check's probe: n= in each of the domain's DKIM
 * TXT records, keyless ones too, read incrementally like any domain change;
 * other domains keep theirs. */
static void test_mark(void)
{
	struct store *s = new_store("mark.db");
	struct store_changes ch;
	struct warns w = {0};
	char q[4096];

	T_CHECK(s != NULL);
	if (!s)
		return;
	snprintf(q, sizeof(q), TENANT "%s",
		 add_domain_sql(1, "example.com", TOK1, "rsa-2048", KEY1));
	T_EQ_INT(batch(s, q), 0);
	snprintf(q, sizeof(q), "%s", add_domain_sql(2, "example.org", TOK2, "ed25519", KEY2));
	T_EQ_INT(batch(s, q), 0);
	struct db_view *v1 = advance(s, NULL, &ch, &w);
	T_CHECK(v1 != NULL);
	if (!v1)
		return;
	T_EQ_STR(slot_txt(v1, TOK1, 0), "v=DKIM1; k=rsa; p=" KEY1);
	int64_t serial = store_serial(s);
	T_EQ_INT(batch(s, "UPDATE domains SET mark = 'abc234' WHERE id = 1"), 0);
	T_CHECK(store_serial(s) > serial); /* journaled: the secondaries get it by IXFR */
	struct db_view *v2 = advance(s, v1, &ch, &w);
	T_CHECK(v2 != NULL);
	if (!v2)
		return;
	T_EQ_INT(ch.full, 0);
	T_EQ_STR(slot_txt(v2, TOK1, 0), "v=DKIM1; k=rsa; n=abc234; p=" KEY1);
	T_EQ_STR(slot_txt(v2, TOK1, 1), "v=DKIM1; n=abc234; p=");
	T_EQ_STR(slot_txt(v2, TOK2, 0), "v=DKIM1; k=ed25519; p=" KEY2);
	/* a full load reads it too */
	struct db_view *v3 = advance(s, NULL, &ch, &w);
	T_CHECK(v3 != NULL);
	if (v3)
		T_EQ_STR(slot_txt(v3, TOK1, 0), "v=DKIM1; k=rsa; n=abc234; p=" KEY1);
	T_EQ_INT(w.n, 0);
	T_EQ_INT(store_mark_valid("abc234"), 1);
	T_EQ_INT(store_mark_valid("abc23"), 0);
	T_EQ_INT(store_mark_valid("abc2;4"), 0);
	T_EQ_INT(store_mark_valid(NULL), 0);
	db_view_free_all(v3);
	db_view_free_all(v2); /* v1 went with the garbage of advance */
	store_close(s);
}

static void test_read_foreign(void)
{
	struct store *s = new_store("foreign.db");
	struct store_changes ch;
	struct warns w = {0};
	char q[8192], huge[2400];

	T_CHECK(s != NULL);
	if (!s)
		return;
	T_EQ_INT(batch(s, TENANT "INSERT INTO tenants(name, created_at) VALUES ('beta', 1);"
			      "INSERT INTO policies(kind, value, updated_at) VALUES ('dmarc', 'v=DMARC1; p=none', 1);"),
		 0);
	T_EQ_INT(batch(s, add_domain_sql(1, "good.example", TOK1, "rsa-2048", KEY1)), 0);
	T_EQ_INT(batch(s, add_domain_sql(2, "other.example", TOK2, "ed25519", KEY2)), 0);
	T_EQ_INT(batch(s, "UPDATE domains SET tenant_id = 2 WHERE id = 2"), 0);
	spki_b64(1536, huge, sizeof(huge)); /* 12288 bits: 2,100 characters */
	snprintf(q, sizeof(q),
		 "PRAGMA ignore_check_constraints = ON;"
		 "%s UPDATE domains SET name = '../../x' WHERE id = 3;",
		 add_domain_sql(3, "three.example", TOK3, "rsa-2048", KEY1));
	T_EQ_INT(batch(s, q), 0);
	snprintf(q, sizeof(q), "PRAGMA ignore_check_constraints = ON; %s",
		 add_domain_sql(4, "a\nb.example", TOK4, "rsa-2048", KEY3));
	T_EQ_INT(batch(s, q), 0);
	T_EQ_INT(batch(s, "PRAGMA ignore_check_constraints = ON;"
			  "INSERT INTO tokens VALUES ('AAAAAAAAAAAAAAAA', 1);"
			  "INSERT INTO domains(id, tenant_id, name, token, return_path, created_at) "
			  "VALUES (5, 1, 'five.example', 'AAAAAAAAAAAAAAAA', 'bounce', 1);"),
		 0);
	snprintf(q, sizeof(q),
		 "PRAGMA ignore_check_constraints = ON; %s UPDATE slots SET selector = '../x' WHERE id = 62;"
		 "INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES "
		 "(63, 'ed25519', '" KEY1 "', 'active', 1);",
		 add_domain_sql(6, "six.example", TOK5, "rsa-12288", huge));
	T_EQ_INT(batch(s, q), 0);
	/* A tenant's DMARC no DNS message can hold; a policy of no known kind; a
	 * tenant MX with a tab, which policy_mx_check allows. */
	T_EQ_INT(batch(s, "PRAGMA ignore_check_constraints = ON;"
			  "INSERT INTO policies(tenant_id, kind, value, updated_at) VALUES (2, 'dmarc', "
			  "'v=DMARC1; p=none; rua=mailto:a@example.com' || "
			  "replace(hex(zeroblob(2450)), '00', ',mailto:r@reports.example.net'), 1);"
			  "INSERT INTO policies(tenant_id, kind, value, updated_at) VALUES (1, 'evil', 'x', 1);"
			  "INSERT INTO policies(tenant_id, kind, value, updated_at) VALUES "
			  "(1, 'mx', '10' || char(9) || 'bounce.auth.esp.example.', 1);"),
		 0);
	T_CHECK(qint(s, "SELECT length(value) FROM policies WHERE tenant_id = 2") > 70000);

	struct db_view *v1 = advance(s, NULL, &ch, &w);
	T_CHECK(v1 != NULL);
	if (!v1)
		return;
	T_EQ_INT(ch.full, 1);
	T_EQ_INT(v1->ndomains, 3); /* good, other, six */
	T_CHECK(tok(v1, TOK3) == NULL && tok(v1, TOK4) == NULL && tok(v1, "AAAAAAAAAAAAAAAA") == NULL);
	T_CHECK(strstr(w.all, "domain row 3 not served") && strstr(w.all, "'../../x'"));
	T_CHECK(strstr(w.all, "domain row 4 not served") && strstr(w.all, "'a?b.example'"));
	T_CHECK(strstr(w.all, "domain row 5 not served") && strstr(w.all, "token 'AAAAAAAAAAAAAAAA'"));
	T_CHECK(strchr(w.all, '\x0a') && !memchr(w.all, '\x1b', sizeof(w.all))); /* only line ends */
	/* six.example: the oversized key's selector answers NODATA, the bad
	 * selector is not served, the mismatched key neither */
	const struct db_domain *d = tok(v1, TOK5);
	T_CHECK(d && d->nslots == 2);
	T_EQ_STR(slot_txt(v1, TOK5, 0), "(none)");
	T_EQ_STR(slot_txt(v1, TOK5, 1), "(none)");
	T_CHECK(d && d->nslots == 2 && memcmp(d->slots[1].sel, "\004esp3", 5) == 0);
	T_CHECK(strstr(w.all, "selector esp1: key") && strstr(w.all, "12288-bit RSA key"));
	T_CHECK(strstr(w.all, "slot '../x' not served"));
	T_CHECK(strstr(w.all, "selector esp3: key") && strstr(w.all, "'ed25519' does not name its key"));
	/* beta's DMARC is blocked: its domain answers none; acme's domains keep the global one */
	T_CHECK(strstr(w.all, "(tenant 2 dmarc) not served") && strstr(w.all, "over the limit of 2048"));
	d = tok(v1, TOK2);
	T_CHECK(d && db_view_policy(v1, d, DB_POL_DMARC) == NULL);
	d = tok(v1, TOK1);
	T_CHECK(d && strcmp(txt(db_view_policy(v1, d, DB_POL_DMARC)), "v=DMARC1; p=none") == 0);
	T_CHECK(d && db_view_policy(v1, d, DB_POL_MX) != NULL); /* the tab is a blank */
	T_CHECK(strstr(w.all, "kind 'evil' is not spf, mx or dmarc"));
	int warned = w.n;

	/* The next change is applied, and warns about nothing it did not touch. */
	T_EQ_INT(batch(s, "INSERT INTO policies(domain_id, kind, value, updated_at) VALUES "
			  "(1, 'spf', 'v=spf1 ip4:192.0.2.1 -all', 2);"),
		 0);
	struct db_view *v2 = advance(s, v1, &ch, &w);
	T_CHECK(v2 != NULL);
	if (!v2)
		return;
	T_EQ_INT(ch.full, 0);
	T_EQ_INT(w.n, warned);
	d = tok(v2, TOK1);
	T_CHECK(d && strcmp(txt(db_view_policy(v2, d, DB_POL_SPF)), "v=spf1 ip4:192.0.2.1 -all") == 0);
	T_CHECK(d && db_view_policy(v2, tok(v2, TOK2), DB_POL_DMARC) == NULL);

	/* Putting a row right serves it at the next change. */
	T_EQ_INT(batch(s, "UPDATE policies SET value = 'v=DMARC1; p=reject' WHERE tenant_id = 2"), 0);
	struct db_view *v3 = advance(s, v2, &ch, &w);
	T_CHECK(v3 && strcmp(txt(db_view_policy(v3, tok(v3, TOK2), DB_POL_DMARC)), "v=DMARC1; p=reject") == 0);
	db_view_free_all(v3 ? v3 : v2);
	store_close(s);
}

static void test_changed_and_zone(void)
{
	char path[128], err[256];
	struct store *s = new_store("changed.db"), *s2 = NULL;
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_EQ_INT(store_open(t_path(path, sizeof(path), "changed.db"), 0, &s2, err, sizeof(err)), 0);
	if (!s2) {
		store_close(s);
		return;
	}
	store_changed(s2);
	T_EQ_INT(store_changed(s), 1); /* the first call does not know */
	T_EQ_INT(store_changed(s), 0);
	T_EQ_INT(batch(s2, TENANT), 0);
	T_EQ_INT(store_changed(s), 1);
	T_EQ_INT(store_changed(s), 0);

	/* a batch moves the serial by one (the zone file's part is dnsd's: test_serial) */
	int64_t cur = store_serial(s);
	T_EQ_INT(store_changed(s2), 0); /* its own commits do not count */
	T_EQ_INT(batch(s2, "INSERT INTO settings VALUES ('z', '1')"), 0);
	T_EQ_INT(store_serial(s), cur + 1);

	/* another writer holds the lock: EBUSY, saying so, and nothing changes */
	char w2err[256] = "";
	T_EQ_INT(store_write_begin(s2, w2err, sizeof(w2err)), 0);
	T_EQ_INT(sql(s2, "INSERT INTO settings VALUES ('held', '1')"), SQLITE_OK);
	sqlite3_busy_timeout(store_db(s), 50);
	err[0] = 0;
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), DNSD_EBUSY);
	T_CHECK(strstr(err, "locked") != NULL);
	store_write_rollback(s2);
	T_CHECK(store_setting(s, "held") == NULL);
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	store_write_rollback(s);
	store_close(s2);
	store_close(s);
}

int main(void)
{
	if (t_tmp("store"))
		return 1;
	T_RUN(test_open);
	T_RUN(test_settings);
	T_RUN(test_journal);
	T_RUN(test_read_changes);
	T_RUN(test_mark);
	T_RUN(test_read_foreign);
	T_RUN(test_changed_and_zone);
	t_tmp_rm();
	return t_done();
}

/* test_schema: schema version 4's CHECK constraints refuse what no valid row holds, and the
 * migration from version 3 keeps every row, index and trigger, or, when a row would break the
 * checks, changes nothing and names the row. Run from the repository's root (for the fixture). */
#include "err.h"
#include "spki.h"
#include "store.h"
#include "t_store.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURE_V3 "tests/system/fixtures/store-v3.sql"

/* Runs sql on db: SQLITE_OK, or the error code. */
static int run(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int64_t qint(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The whole file at path, NUL-terminated (malloc'd), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		buf[n] = '\0';
	else if (buf)
		free(buf), buf = NULL;
	if (f)
		fclose(f);
	return buf;
}

/* Makes a version 3 store at path from the fixture, then runs extra (may be NULL) on it. */
static int make_v3(const char *path, const char *extra)
{
	char *sql = slurp(FIXTURE_V3);
	sqlite3 *db;
	int rc = -1;
	unlink(path);
	if (sql && sqlite3_open(path, &db) == SQLITE_OK) {
		rc = run(db, sql);
		if (!rc && extra)
			rc = run(db, extra);
		sqlite3_close(db);
	}
	free(sql);
	return rc;
}

/* A digest of everything in the file: its schema, its rows, its version. */
static char *dump(const char *path)
{
	static const char *const q =
		"SELECT group_concat(x, '|') FROM ("
		"SELECT type || name || ifnull(sql, '') AS x FROM sqlite_schema "
		"UNION ALL SELECT name || value FROM settings UNION ALL SELECT name FROM tenants "
		"UNION ALL SELECT name || token || state FROM domains UNION ALL SELECT selector "
		"FROM slots "
		"UNION ALL SELECT public_key || state FROM keys UNION ALL SELECT value FROM "
		"policies "
		"UNION ALL SELECT count(*) FROM journal UNION ALL SELECT count(*) FROM key_events)";
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return NULL;
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		size_t n = strlen(v) + 32;
		if ((out = malloc(n)))
			snprintf(out, n, "%s|v%lld", v, (long long)qint(db, "PRAGMA user_version"));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void test_migrate_v3(void)
{
	char path[128], err[1024] = "";
	struct store *s = NULL;

	t_path(path, sizeof(path), "v3.db");
	T_EQ_INT(make_v3(path, NULL), SQLITE_OK);
	char *before = dump(path);
	T_CHECK(before && strstr(before, "|v3"));
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), 0);
	if (!s) {
		fprintf(stderr, "  store_open: %s\n", err);
		free(before);
		return;
	}
	sqlite3 *db = store_db(s);
	T_EQ_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	T_EQ_INT(qint(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	T_EQ_INT(qint(db, "SELECT count(*) FROM domains"), 3);
	T_EQ_INT(qint(db, "SELECT count(*) FROM slots"), 12);
	T_EQ_INT(qint(db, "SELECT count(*) FROM keys"), 5);
	T_EQ_INT(qint(db, "SELECT count(*) FROM policies"), 5);
	T_EQ_INT(qint(db, "SELECT count(*) FROM key_events"), 15);
	T_EQ_INT(qint(db, "SELECT count(*) FROM journal"), 43);
	/* every index and trigger is there again, and nothing is left aside */
	T_EQ_INT(qint(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"), 17);
	T_EQ_INT(
		qint(db,
		     "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"),
		15); /* journal_domain: version 8 */
	T_EQ_INT(qint(db, "SELECT count(*) FROM sqlite_schema WHERE name GLOB '*_v3'"), 0);
	T_EQ_INT(qint(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	T_EQ_INT(
		qint(db, "SELECT count(*) FROM sqlite_schema WHERE sql GLOB '*domain_name CHECK*'"),
		1);
	/* the journal triggers fire, and the tokens' guard holds */
	int64_t j = qint(db, "SELECT max(seq) FROM journal");
	T_EQ_INT(run(db, "UPDATE policies SET value = 'v=DMARC1; p=quarantine' WHERE value = "
			 "'v=DMARC1; p=reject'"),
		 SQLITE_OK);
	T_EQ_INT(qint(db, "SELECT count(*) FROM journal WHERE tbl = 'policies' AND seq > (SELECT "
			  "max(seq) - 2 "
			  "FROM journal)"),
		 2);
	T_CHECK(qint(db, "SELECT max(seq) FROM journal") == j + 2);
	T_EQ_INT(run(db, "DELETE FROM tokens"), SQLITE_CONSTRAINT);
	/* foreign keys are on once open */
	T_EQ_INT(run(db, "INSERT INTO slots(domain_id, selector, position) VALUES (999, 'x', 1)"),
		 SQLITE_CONSTRAINT);
	/* tenant names without case: Globex is found as globex, and a second GLOBEX refused */
	T_EQ_INT(qint(db, "SELECT count(*) FROM tenants WHERE name = 'globex'"), 1);
	T_EQ_INT(run(db, "INSERT INTO tenants(name, created_at) VALUES ('GLOBEX', 1)"),
		 SQLITE_CONSTRAINT);
	store_close(s);
	free(before);
}

static void test_migrate_refused(void)
{
	char path[128], err[1024] = "";
	struct store *s = (struct store *)1;

	/* What review found written by SQL, and more: each row is named, with its
	 * text escaped, and the store is left as it was. */
	t_path(path, sizeof(path), "bad.db");
	T_EQ_INT(make_v3(path,
			 "INSERT INTO tokens VALUES ('AAAAAAAAAAAAAAAA', 1);"
			 "INSERT INTO domains(id, tenant_id, name, token, return_path, created_at) "
			 "VALUES (41, 1, '../../x', 'AAAAAAAAAAAAAAAA', 'bounce', 1);"
			 "INSERT INTO tokens VALUES ('aaaaaaaaaaaaaaaa', 1);"
			 "INSERT INTO domains(id, tenant_id, name, token, return_path, created_at) "
			 "VALUES (42, 1, 'a' || char(10) || 'b.example', 'aaaaaaaaaaaaaaaa', "
			 "'bounce', 1);"
			 "INSERT INTO tenants(id, name, created_at) VALUES (43, 'ACME', 1);"
			 "INSERT INTO tenants(id, name, created_at) VALUES (44, 'x' || char(27) || "
			 "'[2J', 1);"),
		 SQLITE_OK);
	char *before = dump(path);
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(s == NULL);
	T_CHECK(strstr(err, "cannot be upgraded to schema version 4") &&
		strstr(err, "nothing was changed"));
	T_CHECK(strstr(err,
		       "domains row 41 ('../../x, token AAAAAAAAAAAAAAAA, return path bounce')") !=
		NULL);
	T_CHECK(strstr(err, "domains row 42 ('a\\x0ab.example, token") != NULL);
	T_CHECK(strstr(err, "tokens row") && strstr(err, "'AAAAAAAAAAAAAAAA'"));
	T_CHECK(strstr(err, "tenants row 43 ('ACME (also acme, without case)')") != NULL);
	T_CHECK(strstr(err, "tenants row 44 ('x\\x1b[2J')") != NULL);
	T_CHECK(strchr(err, '\x1b') == NULL && strchr(err, '\n') == NULL);
	char *after = dump(path);
	T_CHECK(before && after && strcmp(before, after) == 0);
	free(before);
	free(after);
	/* the same for a read-only open: it does not migrate at all */
	T_EQ_INT(store_open(path, STORE_READONLY, &s, err, sizeof(err)), DNSD_EVERSION);

	/* many rows: the first five, and how many more */
	T_EQ_INT(make_v3(path, "UPDATE slots SET selector = upper(selector)"), SQLITE_OK);
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "slots row") && strstr(err, "'ESP1'") && strstr(err, "and 7 more"));

	/* a row whose reference points nowhere (written with foreign keys off) */
	T_EQ_INT(make_v3(path, "INSERT INTO policies(domain_id, kind, value, updated_at) VALUES "
			       "(77, 'spf', "
			       "'v=spf1 -all', 1)"),
		 SQLITE_OK);
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "policies row") && strstr(err, "refers to a missing domains row"));
}

/* Each statement is refused by a version 4 store; fine, in the same place, is accepted. */
static void test_checks(void)
{
	static const char *const refused[] = {
		/* domain names: not a host name, not in the stored form */
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, '../../x', 'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, 'a' || char(10) || 'b.example', "
		"'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, 'Example.com', 'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, 'example.com.', 'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, 'localhost', 'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, '192.0.2.1', 'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, '-a.example', 'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, printf('%.64c.example', 'a'), "
		"'zzzzzzzzzzzzzzzz', 'bounce', "
		"'active', 1, NULL)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, 'ok.example', 'zzzzzzzzzzzzzzzz', 'bou/nce', "
		"'active', 1, NULL)",
		/* tokens */
		"INSERT INTO tokens VALUES ('AAAAAAAAAAAAAAAA', 1)",
		"INSERT INTO tokens VALUES ('../../../../x123', 1)",
		"INSERT INTO tokens VALUES ('abcdefghijklmno', 1)",
		"INSERT INTO tokens VALUES (x'61626364656667686162636465666768', 1)",
		/* selectors, slots */
		"INSERT INTO slots(domain_id, selector, position) VALUES (1, '../x', 5)",
		"INSERT INTO slots(domain_id, selector, position) VALUES (1, 'Esp9', 5)",
		"INSERT INTO slots(domain_id, selector, position) VALUES (1, 'esp9', 9)",
		/* keys: the algorithm's known set and size limits, the p= shape */
		"INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (2, "
		"'rsa-512', 'AAAA', "
		"'published', 1)",
		"INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (2, "
		"'rsa-12288', "
		"'AAAA', 'published', 1)",
		"INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (2, "
		"'dsa', 'AAAA', "
		"'published', 1)",
		"INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (2, "
		"'ed25519', "
		"'not base64!', 'published', 1)",
		"INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (2, "
		"'ed25519', "
		"printf('%.40cAAA=', 'A'), 'published', 1)",
		"INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (2, "
		"'rsa-4096', "
		"printf('%.2100c', 'A'), 'published', 1)",
		"INSERT INTO keys(slot_id, algorithm, public_key, private_ref, state, created_at) "
		"VALUES (2, "
		"'ed25519', printf('%.43c=', 'A'), '/k/x.pem' || char(10) || '*@victim.example x', "
		"'published', 1)",
		"INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) VALUES (2, "
		"'ed25519', "
		"printf('%.43c=', 'A'), 'lost', 1)",
		/* policies: length, characters, kind */
		"INSERT INTO policies(kind, value, updated_at) VALUES ('dmarc', 'v=DMARC1; "
		"p=none;' || "
		"printf('%.2032c', ' '), 1)",
		"INSERT INTO policies(kind, value, updated_at) VALUES ('spf', 'v=spf1 -all' || "
		"char(10), 1)",
		"INSERT INTO policies(kind, value, updated_at) VALUES ('spf', '', 1)",
		"INSERT INTO policies(kind, value, updated_at) VALUES ('txt', 'x', 1)",
		/* tenant names: '.', '..', '-x', control characters, the same without case */
		"INSERT INTO tenants(name, created_at) VALUES ('.', 1)",
		"INSERT INTO tenants(name, created_at) VALUES ('..', 1)",
		"INSERT INTO tenants(name, created_at) VALUES ('-x', 1)",
		"INSERT INTO tenants(name, created_at) VALUES ('a b', 1)",
		"INSERT INTO tenants(name, created_at) VALUES ('x' || char(27) || '[31m', 1)",
		"INSERT INTO tenants(name, created_at) VALUES ('ACME', 1)",
		"INSERT INTO tenants(name, created_at, slots) VALUES ('big', 1, 12)",
		/* settings dnsdctl keeps to its rules */
		"UPDATE settings SET value = 'Auth.Demo.Example.' WHERE name = 'zone'",
		"UPDATE settings SET value = '../k' WHERE name = 'selector_prefix'",
		"UPDATE settings SET value = 'bounce' || char(10) WHERE name = 'return_path'",
		/* the DKIM marker (version 7): six characters of lowercase base32 */
		"UPDATE domains SET mark = 'ABC234' WHERE id = 1",
		"UPDATE domains SET mark = 'abc23' WHERE id = 1",
		"UPDATE domains SET mark = 'abc2341' WHERE id = 1",
		"UPDATE domains SET mark = 'abc189' WHERE id = 1",
		"UPDATE domains SET mark = 'ab; p=' WHERE id = 1",
		"UPDATE domains SET mark = 123456 WHERE id = 1",
	};
	static const char *const accepted[] = {
		"INSERT INTO tokens VALUES ('zzzzzzzzzzzzzzzz', 1)",
		"INSERT INTO domains(id, tenant_id, name, token, return_path, state, created_at, "
		"removed_at) VALUES (9, 1, 'a-b.c0.xn--p1ai', 'zzzzzzzzzzzzzzzz', 'mail', "
		"'active', 1, NULL)",
		"INSERT INTO slots(domain_id, selector, position) VALUES (9, 'esp-ed1', 5)",
		"INSERT INTO keys(slot_id, algorithm, public_key, private_ref, state, created_at) "
		"VALUES "
		"(last_insert_rowid(), 'ed25519', printf('%.43c=', 'A'), "
		"'/var/lib/dnsd/keys/x.pem', 'published', 1)",
		"INSERT INTO policies(tenant_id, kind, value, updated_at) VALUES (1, 'dmarc', "
		"'v=DMARC1;' || char(9) || 'p=none;' || printf('%.2031c', ' '), 1)",
		"INSERT INTO tenants(name, created_at) VALUES ('0day_Corp.eu-2', 1)",
		"UPDATE settings SET value = 'esp-x' WHERE name = 'selector_prefix'",
		"UPDATE domains SET mark = 'abc234' WHERE id = 9",
		"UPDATE domains SET mark = NULL WHERE id = 9",
	};
	char path[128], err[512] = "", q[2600], rsa[800];
	struct store *s = NULL;

	t_path(path, sizeof(path), "v4.db");
	T_EQ_INT(make_v3(path, NULL), SQLITE_OK);
	T_EQ_INT(store_open(path, 0, &s, err, sizeof(err)), 0);
	if (!s)
		return;
	sqlite3 *db = store_db(s);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int rc = run(db, refused[i]);
		if (rc != SQLITE_CONSTRAINT)
			fprintf(stderr, "  not refused (%d): %s\n", rc, refused[i]);
		T_EQ_INT(rc, SQLITE_CONSTRAINT);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		int rc = run(db, accepted[i]);
		if (rc != SQLITE_OK)
			fprintf(stderr, "  refused: %s: %s\n", accepted[i], sqlite3_errmsg(db));
		T_EQ_INT(rc, SQLITE_OK);
	}
	/* RSA keys at the limits, 1024 and 4096 bits */
	for (size_t bytes = 128; bytes <= 512; bytes += 384) {
		spki_b64(bytes, rsa, sizeof(rsa));
		snprintf(q, sizeof(q),
			 "INSERT INTO keys(slot_id, algorithm, public_key, state, created_at) "
			 "VALUES (%zu, 'rsa-%zu', "
			 "'%s', 'revoked', 1)",
			 bytes == 128 ? (size_t)2 : (size_t)3, bytes * 8, rsa);
		T_EQ_INT(run(db, q), SQLITE_OK);
	}
	/* the checks name themselves */
	T_EQ_INT(run(db, refused[0]), SQLITE_CONSTRAINT);
	T_CHECK(strstr(sqlite3_errmsg(db), "domain_name") != NULL);
	/* what any writer can do: switch the checks off (dnsd and dnsdctl check
	 * at the point of use too) */
	T_EQ_INT(run(db, "PRAGMA ignore_check_constraints = ON"), SQLITE_OK);
	T_EQ_INT(run(db, "INSERT INTO tokens VALUES ('AAAAAAAAAAAAAAAA', 1)"), SQLITE_OK);
	store_close(s);
}

int main(void)
{
	if (t_tmp("schema"))
		return 1;
	T_RUN(test_migrate_v3);
	T_RUN(test_migrate_refused);
	T_RUN(test_checks);
	t_tmp_rm();
	return t_done();
}

/* test_apitoken: the API's tokens and kept responses, and the status counts, on a real SQLite
 * store: what is stored (only hashes), scopes, revocation, the lock held by another writer. */
#include "apitoken.h"
#include "err.h"
#include "status.h"
#include "store.h"
#include "t_store.h"

#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

static char tmpdir[64];
static int nstore;

/* A new store with tenants acme and beta, and one active domain of acme. */
static struct store *new_store(char *path, size_t n)
{
	struct store *s = NULL;
	char err[512];
	snprintf(path, n, "%s/store%d.db", tmpdir, nstore++);
	if (store_open(path, STORE_CREATE, &s, err, sizeof(err))) {
		fprintf(stderr, "  store_open: %s\n", err);
		return NULL;
	}
	int rc =
		sqlite3_exec(store_db(s),
			     "INSERT INTO settings VALUES ('zone', 'auth.example.');"
			     "UPDATE serial SET value = 7 WHERE id = 1;"
			     "INSERT INTO tenants(id, name, created_at) VALUES (1, 'acme', 1), "
			     "(2, 'beta', 1);"
			     "INSERT INTO tokens VALUES ('aaaaaaaaaaaaaaaa', 1);"
			     "INSERT INTO domains(tenant_id, name, token, return_path, created_at) "
			     "VALUES (1, 'a.example', 'aaaaaaaaaaaaaaaa', 'bounce', 1);",
			     NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "  seeding: %s\n", sqlite3_errmsg(store_db(s)));
		store_close(s);
		return NULL;
	}
	return s;
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

static void test_add_auth_revoke(void)
{
	char path[128], err[512], text[APITOKEN_TEXT_LEN + 1], text2[APITOKEN_TEXT_LEN + 1];
	struct apitoken t, a;
	struct store *s = new_store(path, sizeof(path));
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_EQ_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	T_EQ_INT(apitoken_add(s, "ops", NULL, &t, text, err, sizeof(err)), 0);
	T_EQ_INT(strlen(text), APITOKEN_TEXT_LEN);
	T_CHECK(!strncmp(text, "dnsd_", 5));
	T_EQ_INT(t.tenant_id, 0);
	T_EQ_STR(t.tenant, "");
	/* Only the hash is stored: the text appears nowhere in the table. */
	char hash[65], q[256];
	apitoken_sha256_hex(text, strlen(text), hash);
	snprintf(q, sizeof(q), "SELECT count(*) FROM api_tokens WHERE hash = '%s'", hash);
	T_EQ_INT(qint(s, q), 1);
	snprintf(q, sizeof(q), "SELECT count(*) FROM api_tokens WHERE instr(hash || name, '%s')",
		 text + 5);
	T_EQ_INT(qint(s, q), 0);

	T_EQ_INT(apitoken_auth(s, text, &a), 0);
	T_EQ_STR(a.name, "ops");
	T_CHECK(a.last_used_at > 0);
	T_EQ_INT(qint(s, "SELECT last_used_at > 0 FROM api_tokens WHERE name = 'ops'"), 1);

	/* Tenant names are compared without case; the stored spelling is kept. */
	T_EQ_INT(apitoken_add(s, "acme-app", "ACME", &t, text2, err, sizeof(err)), 0);
	T_EQ_STR(t.tenant, "acme");
	T_EQ_INT(apitoken_auth(s, text2, &a), 0);
	T_EQ_INT(a.tenant_id, 1);
	T_EQ_STR(a.tenant, "acme");

	/* Texts that are not tokens, or not ours. */
	T_EQ_INT(apitoken_auth(s, "", &a), DNSD_ENOENT);
	T_EQ_INT(apitoken_auth(s, "dnsd_", &a), DNSD_ENOENT);
	char other[APITOKEN_TEXT_LEN + 1];
	memcpy(other, text, sizeof(other));
	other[10] = other[10] == '0' ? '1' : '0';
	T_EQ_INT(apitoken_auth(s, other, &a), DNSD_ENOENT);
	memcpy(other, text, sizeof(other));
	other[10] = 'A'; /* the hash of an upper-case text is another hash: refused before */
	T_EQ_INT(apitoken_auth(s, other, &a), DNSD_ENOENT);

	/* A tenant's revoke does not reach another scope's token, and says nothing more. */
	T_EQ_INT(apitoken_revoke(s, "ops", 1, err, sizeof(err)), DNSD_ENOENT);
	T_EQ_INT(apitoken_auth(s, text, &a), 0);
	T_EQ_INT(apitoken_revoke(s, "ops", 0, err, sizeof(err)), 0);
	T_EQ_INT(apitoken_auth(s, text, &a), DNSD_ENOENT);
	T_EQ_INT(apitoken_revoke(s, "ops", 0, err, sizeof(err)), DNSD_ENOENT);
	T_EQ_INT(apitoken_revoke(s, "acme-app", 2, err, sizeof(err)), DNSD_ENOENT);
	T_EQ_INT(apitoken_revoke(s, "acme-app", 1, err, sizeof(err)), 0);
	T_EQ_INT(apitoken_auth(s, text2, &a), DNSD_ENOENT);
	store_close(s);
}

static void test_names_and_scopes(void)
{
	char path[128], err[512], text[APITOKEN_TEXT_LEN + 1];
	struct store *s = new_store(path, sizeof(path));
	T_CHECK(s != NULL);
	if (!s)
		return;
	static const char *const bad[] = {"",
					  "-x",
					  ".",
					  "a b",
					  "a/b",
					  "a\nb",
					  "x123456789012345678901234567890123456789012345678"
					  "9012345678901234"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_EQ_INT(apitoken_add(s, bad[i], NULL, NULL, text, err, sizeof(err)), DNSD_EINVAL);
		T_EQ_STR(text, "");
	}
	T_EQ_INT(apitoken_add(s, "app", "nope", NULL, text, err, sizeof(err)), DNSD_ENOENT);
	T_CHECK(strstr(err, "nope") != NULL);
	T_EQ_INT(apitoken_add(s, "app", "acme", NULL, text, err, sizeof(err)), 0);
	T_EQ_INT(apitoken_add(s, "app", NULL, NULL, text, err, sizeof(err)), DNSD_EEXIST);
	T_EQ_INT(apitoken_add(s, "beta-app", "beta", NULL, text, err, sizeof(err)), 0);
	T_EQ_INT(apitoken_add(s, "root", NULL, NULL, text, err, sizeof(err)), 0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM api_tokens"), 3);
	/* A revoked name may be used again; both rows are listed. */
	T_EQ_INT(apitoken_revoke(s, "app", 0, err, sizeof(err)), 0);
	T_EQ_INT(apitoken_add(s, "app", "acme", NULL, text, err, sizeof(err)), 0);

	struct apitoken *v;
	size_t n;
	T_EQ_INT(apitoken_list(s, 0, &v, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 4);
	if (n == 4) {
		T_EQ_STR(v[0].name, "app");
		T_CHECK(v[0].revoked_at > 0);
		T_EQ_STR(v[1].name, "app");
		T_EQ_INT(v[1].revoked_at, 0);
		T_EQ_STR(v[2].tenant, "beta");
		T_EQ_STR(v[3].name, "root");
	}
	free(v);
	T_EQ_INT(apitoken_list(s, 2, &v, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 1);
	if (n == 1)
		T_EQ_STR(v[0].name, "beta-app");
	free(v);

	/* The schema refuses what the library would: a name, a hash that is not one. */
	T_CHECK(sqlite3_exec(
			store_db(s),
			"INSERT INTO api_tokens(name, hash, created_at) VALUES ('x y', "
			"'0000000000000000000000000000000000000000000000000000000000000000', 1)",
			NULL, NULL, NULL) != SQLITE_OK);
	T_CHECK(sqlite3_exec(
			store_db(s),
			"INSERT INTO api_tokens(name, hash, created_at) VALUES ('x', 'dnsd_1', 1)",
			NULL, NULL, NULL) != SQLITE_OK);
	/* A tenant's tokens go with it, never left as platform tokens. */
	T_EQ_INT(sqlite3_exec(store_db(s), "DELETE FROM tenants WHERE name = 'beta'", NULL, NULL,
			      NULL),
		 SQLITE_OK);
	T_EQ_INT(qint(s, "SELECT count(*) FROM api_tokens WHERE name = 'beta-app'"), 0);
	store_close(s);
}

static void test_idempotency(void)
{
	char path[128], err[512], text[APITOKEN_TEXT_LEN + 1], h1[65], h2[65];
	struct apitoken t;
	struct store *s = new_store(path, sizeof(path));
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_EQ_INT(apitoken_add(s, "ops", NULL, &t, text, err, sizeof(err)), 0);
	apitoken_sha256_hex("POST /v1/tokens\n{}", 18, h1);
	apitoken_sha256_hex("POST /v1/tokens\n{\"a\":1}", 23, h2);
	int status = 0;
	char *body = NULL;
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	T_EQ_INT(apitoken_idem_find(s, t.id, "k1", h1, &status, &body, err, sizeof(err)),
		 DNSD_ENOENT);
	T_EQ_INT(apitoken_idem_keep(s, t.id, "k1", h1, 201, "{\"x\":1}", err, sizeof(err)), 0);
	T_EQ_INT(apitoken_idem_keep(s, t.id, "bad\nkey", h1, 201, "{}", err, sizeof(err)),
		 DNSD_EINVAL);
	T_EQ_INT(store_write_commit(s, err, sizeof(err)), 0);

	T_EQ_INT(apitoken_idem_find(s, t.id, "k1", h1, &status, &body, err, sizeof(err)), 0);
	T_EQ_INT(status, 201);
	T_EQ_STR(body, "{\"x\":1}");
	free(body);
	T_EQ_INT(apitoken_idem_find(s, t.id, "k1", h2, &status, &body, err, sizeof(err)),
		 DNSD_EEXIST);
	/* Keys belong to a token: another token's k1 is another key. */
	T_EQ_INT(apitoken_idem_find(s, t.id + 1, "k1", h1, &status, &body, err, sizeof(err)),
		 DNSD_ENOENT);

	/* After a day the key is forgotten, and the next keep replaces it. */
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL) + APITOKEN_IDEM_TTL + 1);
	setenv("DNSD_NOW", now, 1);
	T_EQ_INT(apitoken_idem_find(s, t.id, "k1", h2, &status, &body, err, sizeof(err)),
		 DNSD_ENOENT);
	T_EQ_INT(store_write_begin(s, err, sizeof(err)), 0);
	T_EQ_INT(apitoken_idem_keep(s, t.id, "k1", h2, 200, "{}", err, sizeof(err)), 0);
	T_EQ_INT(store_write_commit(s, err, sizeof(err)), 0);
	T_EQ_INT(qint(s, "SELECT count(*) FROM api_idempotency"), 1);
	unsetenv("DNSD_NOW");
	store_close(s);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Another writer holds the lock: writes wait the store's busy timeout and say EBUSY with
 * nothing changed; reads and token checks still answer, without waiting. */
static void test_locked(void)
{
	char path[128], err[512], text[APITOKEN_TEXT_LEN + 1], t2[APITOKEN_TEXT_LEN + 1];
	struct apitoken a;
	struct store *s = new_store(path, sizeof(path));
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_EQ_INT(apitoken_add(s, "ops", NULL, NULL, text, err, sizeof(err)), 0);
	sqlite3_exec(store_db(s), "UPDATE api_tokens SET last_used_at = 1", NULL, NULL, NULL);
	sqlite3 *other;
	T_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
	T_EQ_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_busy_timeout(store_db(s), 200);
	double t0 = now_ms();
	T_EQ_INT(apitoken_add(s, "app", NULL, NULL, t2, err, sizeof(err)), DNSD_EBUSY);
	double waited = now_ms() - t0;
	T_CHECK(waited >= 150 && waited < 3000);
	T_EQ_INT(apitoken_revoke(s, "ops", 0, err, sizeof(err)), DNSD_EBUSY);
	t0 = now_ms();
	T_EQ_INT(apitoken_auth(s, text, &a), 0);
	T_CHECK(now_ms() - t0 < 150);
	struct status_counts c;
	T_EQ_INT(status_read(s, 0, &c, err, sizeof(err)), 0);
	T_EQ_INT(c.domains, 1);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	T_EQ_INT(qint(s, "SELECT count(*) FROM api_tokens"), 1);
	T_EQ_INT(qint(s, "PRAGMA busy_timeout"), 200);
	T_EQ_INT(apitoken_add(s, "app", NULL, NULL, t2, err, sizeof(err)), 0);
	store_close(s);
}

static void test_status(void)
{
	char path[128], err[512];
	struct status_counts c;
	struct store *s = new_store(path, sizeof(path));
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_EQ_INT(status_read(s, 0, &c, err, sizeof(err)), 0);
	T_EQ_INT(c.schema_version, STORE_SCHEMA_VERSION);
	T_EQ_INT(c.serial, 7);
	T_EQ_STR(c.zone, "auth.example.");
	T_EQ_INT(c.tenants, 2);
	T_EQ_INT(c.domains, 1);
	T_EQ_INT(status_read(s, 2, &c, err, sizeof(err)), 0);
	T_EQ_INT(c.tenants, 1);
	T_EQ_INT(c.domains, 0);
	store_close(s);
}

int main(void)
{
	if (t_tmp("apitoken"))
		return 1;
	T_RUN(test_add_auth_revoke);
	T_RUN(test_names_and_scopes);
	T_RUN(test_idempotency);
	T_RUN(test_locked);
	T_RUN(test_status);
	t_tmp_rm();
	return t_done();
}

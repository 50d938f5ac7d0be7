/* schema: version 4's CHECK constraints, and the migration that rebuilds the tables with them;
 * version 5's tables of what dnsdctl check found; version 6's DKIM marker. Each check is written once, here, and serves
 * both the table definitions and the query that names the rows a store must lose before it can
 * be migrated. */
#include "schema.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "keys.h"
#include "names.h"
#include "policy.h"

/* The checks are SQL built from C strings, laid out by hand. */
/* clang-format off */
#define STR_(x) #x
#define STR(x) STR_(x)

/* No control character (C0 or DEL) in column c. */
#define NO_CTL(c) "NOT " c " GLOB '*[' || char(1) || '-' || char(31) || char(127) || ']*'"

/* A token: 16 characters of lowercase base32. */
#define CK_TOKEN(c) "(typeof(" c ") = 'text' AND length(" c ") = 16 AND " c " NOT GLOB '*[^a-z2-7]*')"

/* One lowercase LDH label of at most max characters: a selector, a Return-Path label. */
#define CK_LABEL(c, max) \
	"(typeof(" c ") = 'text' AND length(" c ") BETWEEN 1 AND " max " AND " \
	c " NOT GLOB '*[^a-z0-9-]*' AND " c " NOT GLOB '-*' AND " c " NOT GLOB '*-')"

/* 64 characters without a dot: a label too long. */
#define NODOT4 "[^.][^.][^.][^.]"
#define NODOT16 NODOT4 NODOT4 NODOT4 NODOT4
#define NODOT64 NODOT16 NODOT16 NODOT16 NODOT16

/* A customer domain as stored (names_domain): lowercase LDH labels of 1..63 characters, at least
 * two, at most 253 characters, no trailing dot, a top-level label not all digits. */
#define CK_DOMAIN(c) \
	"(typeof(" c ") = 'text' AND length(" c ") BETWEEN 3 AND 253 AND " \
	c " NOT GLOB '*[^a-z0-9.-]*' AND " c " GLOB '?*.?*' AND " \
	c " NOT GLOB '.*' AND " c " NOT GLOB '*.' AND " c " NOT GLOB '*..*' AND " \
	c " NOT GLOB '-*' AND " c " NOT GLOB '*-' AND " c " NOT GLOB '*.-*' AND " c " NOT GLOB '*-.*' AND " \
	c " NOT GLOB '*" NODOT64 "*' AND substr(rtrim(" c ", '0123456789'), -1) != '.')"

/* A tenant name (names_tenant): a letter or digit, then letters, digits, '.', '_', '-'. */
#define CK_TENANT(c) \
	"(typeof(" c ") = 'text' AND length(" c ") BETWEEN 1 AND " STR(NAMES_TENANT_MAX) " AND " \
	c " GLOB '[A-Za-z0-9]*' AND " c " NOT GLOB '*[^A-Za-z0-9._-]*')"

/* The hosted zone: lowercase, with its trailing dot. */
#define CK_ZONE(c) \
	"(length(" c ") BETWEEN 2 AND 254 AND " c " GLOB '?*.' AND " \
	c " NOT GLOB '*[^a-z0-9._-]*' AND " c " NOT GLOB '.*' AND " c " NOT GLOB '*..*')"

#define CK_ALGORITHM \
	"(algorithm = 'ed25519' OR (algorithm GLOB 'rsa-[1-9][0-9][0-9][0-9]' AND " \
	"CAST(substr(algorithm, 5) AS INTEGER) BETWEEN " STR(KEYS_RSA_MIN_BITS) " AND " \
	STR(KEYS_RSA_MAX_BITS) "))"

/* A p= value: base64, 44 characters for Ed25519's 32 bytes, 216 (RSA-1024) to 1024 (RSA-4096
 * takes 736) for RSA. dnsd checks the key itself (keys_check_public) when it loads the row. */
#define CK_PUBLIC_KEY \
	"(typeof(public_key) = 'text' AND length(public_key) % 4 = 0 AND " \
	"public_key NOT GLOB '*[^A-Za-z0-9+/=]*' AND CASE WHEN algorithm = 'ed25519' " \
	"THEN length(public_key) = 44 ELSE length(public_key) BETWEEN 216 AND 1024 END)"

#define CK_PRIVATE_REF \
	"(private_ref IS NULL OR (typeof(private_ref) = 'text' AND " NO_CTL("private_ref") "))"

/* A policy value: printable ASCII (and tabs, which DMARC and MX allow), POLICY_MAX_LEN at most. */
#define CK_POLICY_VALUE \
	"(typeof(value) = 'text' AND length(value) BETWEEN 1 AND " STR(POLICY_MAX_LEN) " AND " \
	"value NOT GLOB '*[^' || char(9) || ' -~]*')"

/* The settings dnsdctl keeps to its rules; the others are free text. */
#define CK_SETTING \
	"(CASE name WHEN 'zone' THEN " CK_ZONE("value") \
	" WHEN 'selector_prefix' THEN " CK_LABEL("value", STR(NAMES_PREFIX_MAX)) \
	" WHEN 'return_path' THEN " CK_LABEL("value", "63") " ELSE 1 END)"

#define CK_TENANT_SLOTS "(slots IS NULL OR slots BETWEEN 2 AND 8)"
#define CK_TENANT_ED "(ed25519 IS NULL OR ed25519 IN (0, 1))"
#define CK_SLOT_POS "(position BETWEEN 1 AND 8)"
#define CK_SLOT_ELIG "(eligible IN (0, 1))"

/* Each table's rows as the checks see them: what a row must pass, and what names it. */
static const struct {
	const char *table, *name, *ok;
} rows[] = {
	{ "settings", "name", CK_SETTING },
	{ "tenants", "name", CK_TENANT("name") " AND " CK_TENANT_SLOTS " AND " CK_TENANT_ED },
	{ "tokens", "token", CK_TOKEN("token") },
	{ "domains", "name || ', token ' || token || ', return path ' || return_path",
	  CK_DOMAIN("name") " AND " CK_TOKEN("token") " AND " CK_LABEL("return_path", "63") },
	{ "slots", "selector", CK_LABEL("selector", "63") " AND " CK_SLOT_POS " AND " CK_SLOT_ELIG },
	{ "keys", "algorithm", CK_ALGORITHM " AND " CK_PUBLIC_KEY " AND " CK_PRIVATE_REF },
	{ "policies", "kind", CK_POLICY_VALUE },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

const char schema_v4_sql[] =
	/* Aside, under names nothing refers to (a legacy rename leaves the
	 * references of other tables as they are): the new tables then take the
	 * old ones' places. */
	"ALTER TABLE settings RENAME TO settings_v3;\n"
	"ALTER TABLE tenants RENAME TO tenants_v3;\n"
	"ALTER TABLE tokens RENAME TO tokens_v3;\n"
	"ALTER TABLE domains RENAME TO domains_v3;\n"
	"ALTER TABLE slots RENAME TO slots_v3;\n"
	"ALTER TABLE keys RENAME TO keys_v3;\n"
	"ALTER TABLE policies RENAME TO policies_v3;\n"
	"CREATE TABLE settings (\n"
	"  name  TEXT PRIMARY KEY,\n"
	"  value TEXT NOT NULL,\n"
	"  CONSTRAINT setting_value CHECK " CK_SETTING ");\n"
	/* Tenant names are compared without case: Acme and acme are one tenant. */
	"CREATE TABLE tenants (\n"
	"  id         INTEGER PRIMARY KEY,\n"
	"  name       TEXT NOT NULL UNIQUE COLLATE NOCASE\n"
	"             CONSTRAINT tenant_name CHECK " CK_TENANT("name") ",\n"
	"  created_at INTEGER NOT NULL,\n"
	"  slots      INTEGER CONSTRAINT tenant_slots CHECK " CK_TENANT_SLOTS ",\n"
	"  ed25519    INTEGER CONSTRAINT tenant_ed25519 CHECK " CK_TENANT_ED ");\n"
	"CREATE TABLE tokens (\n"
	"  token      TEXT PRIMARY KEY CONSTRAINT token_value CHECK " CK_TOKEN("token") ",\n"
	"  created_at INTEGER NOT NULL);\n"
	"CREATE TABLE domains (\n"
	"  id          INTEGER PRIMARY KEY,\n"
	"  tenant_id   INTEGER NOT NULL REFERENCES tenants(id),\n"
	"  name        TEXT NOT NULL CONSTRAINT domain_name CHECK " CK_DOMAIN("name") ",\n"
	"  token       TEXT NOT NULL UNIQUE REFERENCES tokens(token)\n"
	"              CONSTRAINT domain_token CHECK " CK_TOKEN("token") ",\n"
	"  return_path TEXT NOT NULL CONSTRAINT domain_return_path CHECK " CK_LABEL("return_path", "63") ",\n"
	"  state       TEXT NOT NULL DEFAULT 'active'\n"
	"              CHECK (state IN ('active', 'removed', 'purged')),\n"
	"  created_at  INTEGER NOT NULL,\n"
	"  removed_at  INTEGER);\n"
	"CREATE TABLE slots (\n"
	"  id         INTEGER PRIMARY KEY,\n"
	"  domain_id  INTEGER NOT NULL REFERENCES domains(id),\n"
	"  selector   TEXT NOT NULL CONSTRAINT slot_selector CHECK " CK_LABEL("selector", "63") ",\n"
	"  position   INTEGER NOT NULL CONSTRAINT slot_position CHECK " CK_SLOT_POS ",\n"
	"  eligible   INTEGER NOT NULL DEFAULT 1 CONSTRAINT slot_eligible CHECK " CK_SLOT_ELIG ",\n"
	"  role       TEXT NOT NULL DEFAULT 'main' CHECK (role IN ('main', 'ed25519')),\n"
	"  created_at INTEGER,\n"
	"  UNIQUE (domain_id, selector));\n"
	"CREATE TABLE keys (\n"
	"  id               INTEGER PRIMARY KEY,\n"
	"  slot_id          INTEGER NOT NULL REFERENCES slots(id),\n"
	"  algorithm        TEXT NOT NULL CONSTRAINT key_algorithm CHECK " CK_ALGORITHM ",\n"
	"  public_key       TEXT NOT NULL CONSTRAINT key_public_key CHECK " CK_PUBLIC_KEY ",\n"
	"  private_ref      TEXT CONSTRAINT key_private_ref CHECK " CK_PRIVATE_REF ",\n"
	"  state            TEXT NOT NULL\n"
	"                   CHECK (state IN ('published', 'active', 'retired', 'revoked')),\n"
	"  created_at       INTEGER NOT NULL,\n"
	"  published_at     INTEGER,\n"
	"  activated_at     INTEGER,\n"
	"  retired_at       INTEGER,\n"
	"  revoked_at       INTEGER,\n"
	"  published_serial INTEGER,\n"
	"  active_after     INTEGER,\n"
	"  rotate_at        INTEGER);\n"
	"CREATE TABLE policies (\n"
	"  id         INTEGER PRIMARY KEY,\n"
	"  tenant_id  INTEGER REFERENCES tenants(id),\n"
	"  domain_id  INTEGER REFERENCES domains(id),\n"
	"  kind       TEXT NOT NULL CHECK (kind IN ('spf', 'mx', 'dmarc')),\n"
	"  value      TEXT NOT NULL CONSTRAINT policy_value CHECK " CK_POLICY_VALUE ",\n"
	"  updated_at INTEGER NOT NULL,\n"
	"  CHECK (tenant_id IS NULL OR domain_id IS NULL));\n"
	"INSERT INTO settings SELECT name, value FROM settings_v3;\n"
	"INSERT INTO tenants SELECT id, name, created_at, slots, ed25519 FROM tenants_v3;\n"
	"INSERT INTO tokens SELECT token, created_at FROM tokens_v3;\n"
	"INSERT INTO domains SELECT id, tenant_id, name, token, return_path, state, created_at,\n"
	"  removed_at FROM domains_v3;\n"
	"INSERT INTO slots SELECT id, domain_id, selector, position, eligible, role, created_at\n"
	"  FROM slots_v3;\n"
	"INSERT INTO keys SELECT id, slot_id, algorithm, public_key, private_ref, state, created_at,\n"
	"  published_at, activated_at, retired_at, revoked_at, published_serial, active_after,\n"
	"  rotate_at FROM keys_v3;\n"
	"INSERT INTO policies SELECT id, tenant_id, domain_id, kind, value, updated_at\n"
	"  FROM policies_v3;\n"
	/* Their indexes and triggers go with them, and are made again after. */
	"DROP TABLE settings_v3;\n"
	"DROP TABLE tenants_v3;\n"
	"DROP TABLE tokens_v3;\n"
	"DROP TABLE domains_v3;\n"
	"DROP TABLE slots_v3;\n"
	"DROP TABLE keys_v3;\n"
	"DROP TABLE policies_v3;\n";

#define CK_CHECK_STATE(c) "(" c " IN ('pending', 'verified', 'drifted'))"

const char schema_v5_sql[] =
	/* What dnsdctl check found, per customer domain and per record. Not
	 * journaled: nothing in them is served. */
	"CREATE TABLE domain_checks (\n"
	"  domain_id   INTEGER PRIMARY KEY REFERENCES domains(id),\n"
	"  state       TEXT NOT NULL CONSTRAINT domain_check_state CHECK " CK_CHECK_STATE("state") ",\n"
	"  way         TEXT CHECK (way IN ('fully-aligned', 'dkim-aligned', 'platform-domain')),\n"
	"  since       INTEGER NOT NULL,\n"
	"  checked_at  INTEGER NOT NULL,\n"
	"  verified_at INTEGER,\n"
	"  next_at     INTEGER NOT NULL);\n"
	"CREATE INDEX domain_checks_next ON domain_checks(next_at);\n"
	"CREATE TABLE record_checks (\n"
	"  id          INTEGER PRIMARY KEY,\n"
	"  domain_id   INTEGER NOT NULL REFERENCES domains(id),\n"
	"  name        TEXT NOT NULL CONSTRAINT record_check_name CHECK (" NO_CTL("name") "),\n"
	"  purpose     TEXT NOT NULL CHECK (purpose IN ('dkim', 'return-path', 'dmarc')),\n"
	"  state       TEXT NOT NULL CONSTRAINT record_check_state CHECK " CK_CHECK_STATE("state") ",\n"
	"  outcome     TEXT NOT NULL,\n"
	"  detail      TEXT,\n"
	"  since       INTEGER NOT NULL,\n"
	"  checked_at  INTEGER NOT NULL,\n"
	"  verified_at INTEGER,\n"
	"  UNIQUE (domain_id, name));\n"
	/* The audit trail of checks, like key_events: every change of state, and
	 * every slot the check made eligible or not. */
	"CREATE TABLE check_events (\n"
	"  id        INTEGER PRIMARY KEY,\n"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id),\n"
	"  name      TEXT,\n"
	"  event     TEXT NOT NULL CHECK (event IN ('pending', 'verified', 'drifted', 'eligible',\n"
	"                                           'ineligible')),\n"
	"  outcome   TEXT,\n"
	"  at        INTEGER NOT NULL,\n"
	"  cause     TEXT NOT NULL);\n"
	"CREATE INDEX check_events_domain ON check_events(domain_id, at);\n";

/* Version 6: the HTTP API's tokens and the responses it keeps for retried POSTs (apitoken.c).
 * Neither is journaled: nothing in them is served. A token is kept only as the SHA-256 of its
 * text; its name is unique among the tokens not revoked, so that a revoked name may be used
 * again. A tenant's tokens go with the tenant: a token whose scope is gone must not outlive it
 * as a platform token. */
#define CK_API_NAME(c) \
	"(typeof(" c ") = 'text' AND length(" c ") BETWEEN 1 AND 64 AND " \
	c " GLOB '[A-Za-z0-9]*' AND " c " NOT GLOB '*[^A-Za-z0-9._-]*')"
#define CK_SHA256_HEX(c) \
	"(typeof(" c ") = 'text' AND length(" c ") = 64 AND " c " NOT GLOB '*[^0-9a-f]*')"

const char schema_v6_sql[] =
	"CREATE TABLE api_tokens (\n"
	"  id           INTEGER PRIMARY KEY,\n"
	"  name         TEXT NOT NULL CONSTRAINT api_token_name CHECK " CK_API_NAME("name") ",\n"
	"  hash         TEXT NOT NULL UNIQUE CONSTRAINT api_token_hash CHECK " CK_SHA256_HEX("hash") ",\n"
	"  tenant_id    INTEGER REFERENCES tenants(id) ON DELETE CASCADE,\n"
	"  created_at   INTEGER NOT NULL,\n"
	"  last_used_at INTEGER,\n"
	"  revoked_at   INTEGER);\n"
	"CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_at IS NULL;\n"
	"CREATE TABLE api_idempotency (\n"
	"  token_id     INTEGER NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,\n"
	"  key          TEXT NOT NULL CONSTRAINT api_idempotency_key CHECK\n"
	"               (length(key) BETWEEN 1 AND 255 AND " NO_CTL("key") "),\n"
	"  request_hash TEXT NOT NULL CHECK " CK_SHA256_HEX("request_hash") ",\n"
	"  status       INTEGER NOT NULL CHECK (status BETWEEN 200 AND 599),\n"
	"  body         TEXT NOT NULL,\n"
	"  created_at   INTEGER NOT NULL,\n"
	"  PRIMARY KEY (token_id, key));\n"
	"CREATE INDEX api_idempotency_created ON api_idempotency(created_at);\n";

/* A mark: SCHEMA_MARK_LEN characters of lowercase base32, as a DKIM n= value needs no quoting. */
#define CK_MARK(c) "(" c " IS NULL OR (typeof(" c ") = 'text' AND length(" c ") = " STR(SCHEMA_MARK_LEN) \
	" AND " c " NOT GLOB '*[^a-z2-7]*'))"

const char schema_v7_sql[] =
	/* The marker dnsd serves in the domain's DKIM TXT (n=, which verifiers
	 * ignore). A copy of the TXT made by hand keeps the old one: the check
	 * changes it and looks again after the TTLs to tell a host that flattens the
	 * CNAME from a copy. On domains, so that the journal trigger on domains
	 * reloads that one domain, and the secondaries get it by IXFR. */
	"ALTER TABLE domains ADD COLUMN mark TEXT CONSTRAINT domain_mark CHECK " CK_MARK("mark") ";\n"
	/* The probe in flight (when the mark changed, when to judge) and what the
	 * last one found about the customer's DNS host. Not served. */
	"ALTER TABLE domain_checks ADD COLUMN mark_at INTEGER;\n"
	"ALTER TABLE domain_checks ADD COLUMN probe_until INTEGER;\n"
	"ALTER TABLE domain_checks ADD COLUMN host TEXT\n"
	"  CONSTRAINT domain_check_host CHECK (host IN ('flattens', 'copies'));\n"
	"ALTER TABLE domain_checks ADD COLUMN host_at INTEGER;\n";
/* clang-format on */

/* Appends one sentence part to err at *used, while there is room. */
static void add(char *err, size_t errlen, size_t *used, const char *text)
{
	int n = snprintf(err + *used, errlen - *used, "%s", text);
	if (n > 0)
		*used += (size_t)n < errlen - *used ? (size_t)n : errlen - *used - 1;
}

/* Names the rows a version 4 store cannot hold. Returns how many there are (up to 1000 counted),
 * with the first few written into err after what it holds already, or -1 on a store error. */
static int refused_rows(sqlite3 *db, char *err, size_t errlen, size_t *used)
{
	char sql[16384], part[200], q[64];
	size_t n = 0;
	sqlite3_stmt *st;
	int count = 0, rc;

	for (size_t i = 0; i < NROWS; i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n,
				      "SELECT '%s', rowid, %s FROM %s WHERE NOT (%s) UNION ALL ",
				      rows[i].table, rows[i].name, rows[i].table, rows[i].ok);
	/* Two tenant names the same but for case; rows whose references point nowhere. */
	n += (size_t)snprintf(
		sql + n, sizeof(sql) - n,
		"SELECT 'tenants', b.id, b.name || ' (also ' || a.name || ', without case)' "
		"FROM tenants a JOIN tenants b ON a.name = b.name COLLATE NOCASE AND a.id < b.id "
		"UNION ALL SELECT fk.\"table\", fk.rowid, 'refers to a missing ' || fk.parent "
		"|| ' row' FROM pragma_foreign_key_check AS fk LIMIT 1000");
	if (n >= sizeof(sql) || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count++ < 5) {
			snprintf(
				part, sizeof(part), "%s%s row %lld ('%s')", count > 1 ? "; " : "",
				(const char *)sqlite3_column_text(st, 0),
				(long long)sqlite3_column_int64(st, 1),
				names_show(q, sizeof(q), (const char *)sqlite3_column_text(st, 2)));
			add(err, errlen, used, part);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (count > 5) {
		snprintf(part, sizeof(part), "; and %d more", count - 5);
		add(err, errlen, used, part);
	}
	return count;
}

/* The SQL of the indexes and triggers of the tables migration 4 rebuilds, in the order to make them
 * again (indexes first), as one script; NULL on failure. The caller frees it (sqlite3_free). */
static char *saved_objects(sqlite3 *db)
{
	sqlite3_stmt *st;
	sqlite3_str *out = sqlite3_str_new(db);
	const char *sql =
		"SELECT sql FROM sqlite_schema WHERE type IN ('index', 'trigger') "
		"AND sql IS NOT NULL AND tbl_name IN ('settings', 'tenants', 'tokens', "
		"'domains', 'slots', 'keys', 'policies') ORDER BY type = 'trigger', rowid";
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(out));
		return NULL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		sqlite3_str_appendf(out, "%s;\n", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sqlite3_free(sqlite3_str_finish(out));
		return NULL;
	}
	return sqlite3_str_finish(out);
}

/* Runs sql; on failure writes "what: SQLite's message" into err. */
static int run(sqlite3 *db, const char *sql, const char *what, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "upgrading the store to schema version 4: %s: %s", what,
		 msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return DNSD_ESTORE;
}

int schema_migrate_v4(sqlite3 *db, char *err, size_t errlen)
{
	size_t used = 0;
	int n, rc;
	char *objects;

	err[0] = '\0';
	add(err, errlen, &used,
	    "the store cannot be upgraded to schema version 4: rows there hold what no valid "
	    "row holds, and nothing was changed; fix or delete them with SQL (docs/schema.md), "
	    "then run dnsdctl again: ");
	if ((n = refused_rows(db, err, errlen, &used)) != 0) {
		if (n > 0)
			return DNSD_EINVAL;
		snprintf(err, errlen, "upgrading the store to schema version 4: %s",
			 sqlite3_errmsg(db));
		return DNSD_ESTORE;
	}
	if (!(objects = saved_objects(db))) {
		snprintf(err, errlen, "upgrading the store to schema version 4: %s",
			 sqlite3_errmsg(db));
		return DNSD_ESTORE;
	}
	/* legacy_alter_table: a rename aside changes no other table's references. */
	rc = run(db, "PRAGMA legacy_alter_table = ON", "setting up", err, errlen);
	if (!rc)
		rc = run(db, schema_v4_sql, "rebuilding the tables", err, errlen);
	sqlite3_exec(db, "PRAGMA legacy_alter_table = OFF", NULL, NULL, NULL);
	if (!rc)
		rc = run(db, objects, "making the indexes and triggers again", err, errlen);
	sqlite3_free(objects);
	return rc;
}

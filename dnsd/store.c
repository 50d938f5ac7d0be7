/* store: the SQLite tenant store: schema and migrations, journal and serial, reads. */
#include "store.h"
#include "err.h"
#include "keys.h"
#include "names.h"
#include "policy.h"
#include "schema.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store {
	sqlite3 *db;
	char *path;
	int version;
	int64_t data_version;
	sqlite3_stmt *look[2];    /* store_changed's, kept prepared: it runs at every look */
};

/* Version 8's triggers on slots and keys fire only WHEN the domain (of a
 * slot: the column given; of a key: through its slot) has no row in the open
 * batch yet: rows the batch wrote are above the stored serial. In the WHEN
 * clause, not in the INSERT's SELECT: an INSERT that reads the journal it
 * writes first copies its rows into a temporary table, which cost more than
 * the rows saved. Any row for the domain will do: one that changes its token
 * writes the new token too (j_domains_u). */
#define J_SLOT_NEW(col)                                                                    \
	"NOT EXISTS (SELECT 1 FROM journal j WHERE j.domain_id = " col " AND j.serial > " \
	"(SELECT value FROM serial))"
#define J_KEY_NEW(col)                                                                     \
	"NOT EXISTS (SELECT 1 FROM slots s JOIN journal j ON j.domain_id = s.domain_id "   \
	"WHERE s.id = " col " AND j.serial > (SELECT value FROM serial))"

/* Migrations, in order: entry i takes the schema from version i to i + 1. Never
 * edit one that has shipped; add the next. */
static const char *const migrations[] = {
	/* 1: the first schema. See docs/schema.md. */
	"CREATE TABLE settings (\n"
	"  name  TEXT PRIMARY KEY,\n"
	"  value TEXT NOT NULL);\n"
	"CREATE TABLE serial (\n"
	"  id          INTEGER PRIMARY KEY CHECK (id = 1),\n"
	"  value       INTEGER NOT NULL,\n"
	"  zone_digest TEXT);\n"
	"CREATE TABLE tenants (\n"
	"  id         INTEGER PRIMARY KEY,\n"
	"  name       TEXT NOT NULL UNIQUE,\n"
	"  created_at INTEGER NOT NULL);\n"
	"CREATE TABLE tokens (\n"
	"  token      TEXT PRIMARY KEY,\n"
	"  created_at INTEGER NOT NULL);\n"
	"CREATE TRIGGER tokens_never_deleted BEFORE DELETE ON tokens BEGIN\n"
	"  SELECT RAISE(ABORT, 'tokens are never deleted: they must never be reused');\n"
	"END;\n"
	"CREATE TRIGGER tokens_never_changed BEFORE UPDATE ON tokens BEGIN\n"
	"  SELECT RAISE(ABORT, 'tokens never change');\n"
	"END;\n"
	"CREATE TABLE domains (\n"
	"  id          INTEGER PRIMARY KEY,\n"
	"  tenant_id   INTEGER NOT NULL REFERENCES tenants(id),\n"
	"  name        TEXT NOT NULL,\n"
	"  token       TEXT NOT NULL UNIQUE REFERENCES tokens(token),\n"
	"  return_path TEXT NOT NULL,\n"
	"  state       TEXT NOT NULL DEFAULT 'active'\n"
	"              CHECK (state IN ('active', 'removed', 'purged')),\n"
	"  created_at  INTEGER NOT NULL,\n"
	"  removed_at  INTEGER);\n"
	"CREATE UNIQUE INDEX domains_live_name ON domains(name) WHERE state = 'active';\n"
	"CREATE INDEX domains_tenant ON domains(tenant_id);\n"
	"CREATE TABLE slots (\n"
	"  id        INTEGER PRIMARY KEY,\n"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id),\n"
	"  selector  TEXT NOT NULL,\n"
	"  position  INTEGER NOT NULL,\n"
	"  eligible  INTEGER NOT NULL DEFAULT 1,\n"
	"  UNIQUE (domain_id, selector));\n"
	"CREATE TABLE keys (\n"
	"  id           INTEGER PRIMARY KEY,\n"
	"  slot_id      INTEGER NOT NULL REFERENCES slots(id),\n"
	"  algorithm    TEXT NOT NULL CHECK (algorithm = 'ed25519' OR algorithm GLOB 'rsa-[0-9]*'),\n"
	"  public_key   TEXT NOT NULL,\n"
	"  private_ref  TEXT,\n"
	"  state        TEXT NOT NULL\n"
	"               CHECK (state IN ('published', 'active', 'retired', 'revoked')),\n"
	"  created_at   INTEGER NOT NULL,\n"
	"  published_at INTEGER,\n"
	"  activated_at INTEGER,\n"
	"  retired_at   INTEGER,\n"
	"  revoked_at   INTEGER);\n"
	"CREATE UNIQUE INDEX keys_one_live_per_slot ON keys(slot_id) WHERE state != 'revoked';\n"
	"CREATE INDEX keys_slot ON keys(slot_id);\n"
	"CREATE TABLE policies (\n"
	"  id         INTEGER PRIMARY KEY,\n"
	"  tenant_id  INTEGER REFERENCES tenants(id),\n"
	"  domain_id  INTEGER REFERENCES domains(id),\n"
	"  kind       TEXT NOT NULL CHECK (kind IN ('spf', 'mx', 'dmarc')),\n"
	"  value      TEXT NOT NULL,\n"
	"  updated_at INTEGER NOT NULL,\n"
	"  CHECK (tenant_id IS NULL OR domain_id IS NULL));\n"
	"CREATE UNIQUE INDEX policies_scope ON policies(kind, ifnull(tenant_id, 0), ifnull(domain_id, 0));\n"
	"CREATE INDEX policies_domain ON policies(domain_id);\n"
	"CREATE TABLE journal (\n"
	"  seq       INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  serial    INTEGER NOT NULL,\n"
	"  at        INTEGER NOT NULL,\n"
	"  tbl       TEXT NOT NULL,\n"
	"  op        TEXT NOT NULL,\n"
	"  domain_id INTEGER,\n"
	"  tenant_id INTEGER,\n"
	"  token     TEXT);\n"
	"CREATE INDEX journal_at ON journal(at);\n"
	"CREATE INDEX journal_serial ON journal(serial);\n"
	/* The triggers: every change to served data is journaled in its own
	 * transaction, whoever writes it. serial is the one the change will be
	 * served at, once its batch is sealed. */
	"CREATE TRIGGER j_domains_i AFTER INSERT ON domains BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'domains', 'insert', NEW.id, NEW.tenant_id, NEW.token);\n"
	"END;\n"
	"CREATE TRIGGER j_domains_u AFTER UPDATE ON domains BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'domains', 'update', NEW.id, NEW.tenant_id, NEW.token);\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'domains', 'update', OLD.id, OLD.tenant_id, OLD.token\n"
	"  WHERE OLD.token != NEW.token;\n"
	"END;\n"
	"CREATE TRIGGER j_domains_d AFTER DELETE ON domains BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'domains', 'delete', OLD.id, OLD.tenant_id, OLD.token);\n"
	"END;\n"
	"CREATE TRIGGER j_slots_i AFTER INSERT ON slots BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'slots', 'insert', NEW.domain_id,\n"
	"          (SELECT token FROM domains WHERE id = NEW.domain_id));\n"
	"END;\n"
	"CREATE TRIGGER j_slots_u AFTER UPDATE ON slots BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'slots', 'update', id, token\n"
	"  FROM domains WHERE id IN (NEW.domain_id, OLD.domain_id);\n"
	"END;\n"
	"CREATE TRIGGER j_slots_d AFTER DELETE ON slots BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'slots', 'delete', OLD.domain_id,\n"
	"          (SELECT token FROM domains WHERE id = OLD.domain_id));\n"
	"END;\n"
	"CREATE TRIGGER j_keys_i AFTER INSERT ON keys BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'keys', 'insert', d.id, d.token\n"
	"  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE s.id = NEW.slot_id;\n"
	"END;\n"
	"CREATE TRIGGER j_keys_u AFTER UPDATE ON keys BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'keys', 'update', d.id, d.token\n"
	"  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE s.id IN (NEW.slot_id, OLD.slot_id);\n"
	"END;\n"
	"CREATE TRIGGER j_keys_d AFTER DELETE ON keys BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'keys', 'delete', d.id, d.token\n"
	"  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE s.id = OLD.slot_id;\n"
	"END;\n"
	"CREATE TRIGGER j_policies_i AFTER INSERT ON policies BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'policies', 'insert', NEW.domain_id,\n"
	"          NEW.tenant_id, (SELECT token FROM domains WHERE id = NEW.domain_id));\n"
	"END;\n"
	"CREATE TRIGGER j_policies_u AFTER UPDATE ON policies BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'policies', 'update', OLD.domain_id,\n"
	"          OLD.tenant_id, (SELECT token FROM domains WHERE id = OLD.domain_id));\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'policies', 'update', NEW.domain_id,\n"
	"          NEW.tenant_id, (SELECT token FROM domains WHERE id = NEW.domain_id));\n"
	"END;\n"
	"CREATE TRIGGER j_policies_d AFTER DELETE ON policies BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, tenant_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'policies', 'delete', OLD.domain_id,\n"
	"          OLD.tenant_id, (SELECT token FROM domains WHERE id = OLD.domain_id));\n"
	"END;\n"
	"CREATE TRIGGER j_settings_i AFTER INSERT ON settings BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op) VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'settings', 'insert');\n"
	"END;\n"
	"CREATE TRIGGER j_settings_u AFTER UPDATE ON settings BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op) VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'settings', 'update');\n"
	"END;\n"
	"CREATE TRIGGER j_settings_d AFTER DELETE ON settings BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op) VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'settings', 'delete');\n"
	"END;\n"
	/* The serial starts at the clock, so that a rebuilt store starts above the
	 * old one's serial unless that made more batches than seconds have passed. */
	"INSERT INTO serial(id, value) VALUES (1, unixepoch());\n",
	/* 2: the audit trail of keys: every event with its time and cause. Not
	 * journaled: nothing in it is served. */
	"CREATE TABLE key_events (\n"
	"  id        INTEGER PRIMARY KEY,\n"
	"  key_id    INTEGER NOT NULL REFERENCES keys(id),\n"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id),\n"
	"  event     TEXT NOT NULL CHECK (event IN ('generated', 'imported', 'published', 'activated',\n"
	"                                           'retired', 'revoked')),\n"
	"  at        INTEGER NOT NULL,\n"
	"  cause     TEXT NOT NULL);\n"
	"CREATE INDEX key_events_domain ON key_events(domain_id, at);\n"
	/* Keys that existed before: what their time columns say happened. */
	"INSERT INTO key_events(key_id, domain_id, event, at, cause)\n"
	"  SELECT k.id, s.domain_id, ev.event, ev.at, 'recorded before the audit trail existed'\n"
	"  FROM keys k JOIN slots s ON s.id = k.slot_id JOIN (\n"
	"    SELECT id, 'generated' AS event, created_at AS at FROM keys\n"
	"    UNION ALL SELECT id, 'published', published_at FROM keys\n"
	"    UNION ALL SELECT id, 'activated', activated_at FROM keys\n"
	"    UNION ALL SELECT id, 'retired', retired_at FROM keys\n"
	"    UNION ALL SELECT id, 'revoked', revoked_at FROM keys) ev ON ev.id = k.id\n"
	"  WHERE ev.at IS NOT NULL ORDER BY ev.at, k.id;\n",
	/* 3: the key lifecycle. Slots belong to a role (the main keys, or the
	 * optional Ed25519 pair signed beside them); keys carry the serial that first
	 * served them, the earliest time they may sign, and an explicit rotation
	 * date; tenants may override the slot layout; the zone's name servers report
	 * the serial they serve. A key's schedule is not served, so updating it no
	 * longer journals: j_keys_u fires only on the columns dnsd reads. */
	"ALTER TABLE slots ADD COLUMN role TEXT NOT NULL DEFAULT 'main'\n"
	"  CHECK (role IN ('main', 'ed25519'));\n"
	"ALTER TABLE slots ADD COLUMN created_at INTEGER;\n"
	"ALTER TABLE keys ADD COLUMN published_serial INTEGER;\n"
	"ALTER TABLE keys ADD COLUMN active_after INTEGER;\n"
	"ALTER TABLE keys ADD COLUMN rotate_at INTEGER;\n"
	"ALTER TABLE tenants ADD COLUMN slots INTEGER;\n"
	"ALTER TABLE tenants ADD COLUMN ed25519 INTEGER;\n"
	"CREATE INDEX keys_state ON keys(state);\n"
	"CREATE TABLE nameservers (\n"
	"  id         INTEGER PRIMARY KEY,\n"
	"  name       TEXT NOT NULL UNIQUE,\n"
	"  address    TEXT NOT NULL,\n"
	"  port       INTEGER NOT NULL DEFAULT 53,\n"
	"  serial     INTEGER,\n"
	"  checked_at INTEGER,\n"
	"  error      TEXT);\n"
	"DROP TRIGGER j_keys_u;\n"
	"CREATE TRIGGER j_keys_u AFTER UPDATE OF slot_id, algorithm, public_key, state ON keys BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'keys', 'update', d.id, d.token\n"
	"  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE s.id IN (NEW.slot_id, OLD.slot_id);\n"
	"END;\n",
	/* 4: CHECK constraints: the schema refuses what no valid row holds (names,
	 * tokens, selectors, key sizes, policy lengths, tenant names compared
	 * without case). SQLite adds no CHECK to a table, so the tables are made
	 * again: schema.c, run through schema_migrate_v4. */
	schema_v4_sql,
	/* 5: the state of the customers' records, as dnsdctl check finds them:
	 * schema.c. */
	schema_v5_sql,
	/* 6: the HTTP API's tokens and kept responses: schema.c. */
	schema_v6_sql,
	/* 7: the DKIM marker that tells a flattening DNS host from a copy: schema.c. */
	schema_v7_sql,
	/* 8: one journal row per domain and batch. Readers reload the domains the
	 * journal names (by id and token, DISTINCT), so a slot's or key's row for a
	 * domain the open batch has journaled already tells them nothing more: a
	 * new domain wrote five (its row, three slots, its key), the rows were
	 * stamped again when the batch was sealed and deleted again by the trim,
	 * most of a bulk import's writes. The triggers on slots and keys now look
	 * for that row first (journal_domain finds it). */
	"CREATE INDEX journal_domain ON journal(domain_id, serial);\n"
	"DROP TRIGGER j_slots_i;\n"
	"DROP TRIGGER j_slots_u;\n"
	"DROP TRIGGER j_slots_d;\n"
	"DROP TRIGGER j_keys_i;\n"
	"DROP TRIGGER j_keys_u;\n"
	"DROP TRIGGER j_keys_d;\n"
	"CREATE TRIGGER j_slots_i AFTER INSERT ON slots WHEN " J_SLOT_NEW("NEW.domain_id") " BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'slots', 'insert', NEW.domain_id,\n"
	"          (SELECT token FROM domains WHERE id = NEW.domain_id));\n"
	"END;\n"
	"CREATE TRIGGER j_slots_u AFTER UPDATE ON slots\n"
	"WHEN NEW.domain_id != OLD.domain_id OR " J_SLOT_NEW("NEW.domain_id") " BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'slots', 'update', id, token\n"
	"  FROM domains WHERE id IN (NEW.domain_id, OLD.domain_id);\n"
	"END;\n"
	"CREATE TRIGGER j_slots_d AFTER DELETE ON slots WHEN " J_SLOT_NEW("OLD.domain_id") " BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  VALUES ((SELECT value FROM serial) + 1, unixepoch(), 'slots', 'delete', OLD.domain_id,\n"
	"          (SELECT token FROM domains WHERE id = OLD.domain_id));\n"
	"END;\n"
	"CREATE TRIGGER j_keys_i AFTER INSERT ON keys WHEN " J_KEY_NEW("NEW.slot_id") " BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'keys', 'insert', d.id, d.token\n"
	"  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE s.id = NEW.slot_id;\n"
	"END;\n"
	"CREATE TRIGGER j_keys_u AFTER UPDATE OF slot_id, algorithm, public_key, state ON keys\n"
	"WHEN NEW.slot_id != OLD.slot_id OR " J_KEY_NEW("NEW.slot_id") " BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'keys', 'update', d.id, d.token\n"
	"  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE s.id IN (NEW.slot_id, OLD.slot_id);\n"
	"END;\n"
	"CREATE TRIGGER j_keys_d AFTER DELETE ON keys WHEN " J_KEY_NEW("OLD.slot_id") " BEGIN\n"
	"  INSERT INTO journal(serial, at, tbl, op, domain_id, token)\n"
	"  SELECT (SELECT value FROM serial) + 1, unixepoch(), 'keys', 'delete', d.id, d.token\n"
	"  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE s.id = OLD.slot_id;\n"
	"END;\n",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(NMIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");

int64_t store_now(void)
{
	const char *t = getenv("DNSD_NOW");
	if (t && *t)
		return strtoll(t, NULL, 10);
	return (int64_t)time(NULL);
}

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_FULL)
			snprintf(err, errlen, "disk full (%s)", msg ? msg : sqlite3_errstr(rc));
		else
			snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? DNSD_EBUSY
		       : (rc & 0xff) == SQLITE_FULL		     ? DNSD_EFULL
								     : DNSD_ESTORE;
	}
	return 0;
}

/* Steps st once: its first column, or def. */
static int64_t step_int(sqlite3_stmt *st, int64_t def)
{
	int64_t v = def;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	return v;
}

static int64_t query_int(sqlite3 *db, const char *sql, int64_t def)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return def;
	int64_t v = step_int(st, def);
	sqlite3_finalize(st);
	return v;
}

/* Before SQLite's first use in the process: no count of the memory it holds
 * (nothing here reads it), which took a global mutex and two counters on every
 * allocation, a tenth of a bulk import's instructions. Too late once SQLite
 * has started (then it says so and keeps counting: harmless). */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const char *path, int flags, struct store **out, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct store *s;
	struct stat sb;
	int rc;

	pthread_once(&once, sqlite_setup);
	*out = NULL;
	if (!(flags & STORE_CREATE) && stat(path, &sb) != 0) {
		snprintf(err, errlen, "no store at %s (%s): create it with 'dnsdctl --db %s init --zone ZONE'",
			 path, strerror(errno), path);
		return DNSD_ENOENT;
	}
	if (!(s = calloc(1, sizeof(*s))) || !(s->path = strdup(path))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return DNSD_ENOMEM;
	}
	int oflags = (flags & STORE_READONLY) ? SQLITE_OPEN_READONLY
					      : SQLITE_OPEN_READWRITE | ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		set_err(err, errlen, path, s->db);
		rc = DNSD_ESTORE;
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 0);
	if (!(flags & STORE_READONLY)) {
		/* The writers keep the -wal and -shm files when they close: dnsd reads
		 * the store without write access to it or its directory, so it cannot
		 * create them itself (SQLite's read-only WAL readers need them). */
		int one = 1;
		sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	}
	/* A file that is not a database fails here, on the first read. */
	int64_t ver = query_int(s->db, "PRAGMA user_version", -1);
	if (ver < 0 || sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK) {
		int code = sqlite3_errcode(s->db), sys = sqlite3_system_errno(s->db);
		if (code == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT) {
			snprintf(err, errlen, "%s: disk full: SQLite cannot make the files it keeps beside the store; "
					      "free some space",
				 path);
			rc = DNSD_EFULL;
		} else if ((flags & STORE_READONLY) && code == SQLITE_READONLY) {
			snprintf(err, errlen,
				 "%s: cannot read it without its -wal and -shm files, and this user may not create "
				 "them: run any dnsdctl command on the store once, as its owner (dnsdctl keeps them)",
				 path);
			rc = DNSD_ESTORE;
		} else {
			snprintf(err, errlen, "%s: not a readable dnsd store: %s", path, sqlite3_errmsg(s->db));
			rc = DNSD_ESTORE;
		}
		goto fail;
	}
	/* Version 0 is a database no dnsd program made: an empty file (a copy in
	 * progress, a truncated file), or another program's. Only init may start
	 * a store there, and only in an empty one. */
	if (ver == 0) {
		int64_t objects = query_int(s->db, "SELECT count(*) FROM sqlite_schema", -1);
		if (!(flags & STORE_CREATE) || objects != 0) {
			snprintf(err, errlen,
				 objects ? "%s is an SQLite database, but not a dnsd store"
					 : "%s is empty, not a dnsd store: create it with 'dnsdctl init'",
				 path);
			rc = DNSD_ESTORE;
			goto fail;
		}
	}
	if (ver > NMIGRATIONS) {
		snprintf(err, errlen,
			 "%s has schema version %lld, newer than the %d this program knows: upgrade dnsd",
			 path, (long long)ver, NMIGRATIONS);
		rc = DNSD_EVERSION;
		goto fail;
	}
	if (!(flags & STORE_READONLY)) {
		/* Foreign keys go on after the migrations: a rebuild (version 4)
		 * would trip them, and checks them itself. */
		if ((rc = exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=OFF;", err, errlen)))
			goto fail;
		if (ver < NMIGRATIONS) {
			if ((rc = exec(s->db, "BEGIN IMMEDIATE", err, errlen)))
				goto fail;
			/* Read again under the write lock: another program may have migrated. */
			ver = query_int(s->db, "PRAGMA user_version", 0);
			for (int64_t v = ver; v < NMIGRATIONS; v++) {
				char sql[64];
				if ((rc = v == 3 ? schema_migrate_v4(s->db, err, errlen)
						 : exec(s->db, migrations[v], err, errlen))) {
					exec(s->db, "ROLLBACK", NULL, 0);
					goto fail;
				}
				snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)v + 1);
				if ((rc = exec(s->db, sql, err, errlen))) {
					exec(s->db, "ROLLBACK", NULL, 0);
					goto fail;
				}
			}
			if ((rc = exec(s->db, "COMMIT", err, errlen))) {
				exec(s->db, "ROLLBACK", NULL, 0);
				goto fail;
			}
			ver = NMIGRATIONS;
		}
		if ((rc = exec(s->db, "PRAGMA foreign_keys=ON;", err, errlen)))
			goto fail;
	} else if (ver < NMIGRATIONS) {
		snprintf(err, errlen, "%s has schema version %lld, older than %d: upgrade it with 'dnsdctl --db %s init "
				      "--zone ZONE' (dnsd only reads the store)",
			 path, (long long)ver, NMIGRATIONS, path);
		rc = DNSD_EVERSION;
		goto fail;
	}
	s->version = (int)ver;
	*out = s;
	return 0;
fail:
	sqlite3_close(s->db);
	free(s->path);
	free(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < 2; i++)
		sqlite3_finalize(s->look[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

int store_schema_version(struct store *s)
{
	return s->version;
}

char *store_setting(struct store *s, const char *name)
{
	sqlite3_stmt *st;
	char *v = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM settings WHERE name = ?", -1, &st, NULL))
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

int store_setting_int(struct store *s, const char *name, int def)
{
	char *v = store_setting(s, name);
	int r = def;
	if (v) {
		char *end;
		long l = strtol(v, &end, 10);
		if (end != v && !*end && l >= 0 && l <= 0x7fffffff)
			r = (int)l;
		free(v);
	}
	return r;
}

int64_t store_serial(struct store *s)
{
	return query_int(s->db, "SELECT value FROM serial WHERE id = 1", 0);
}

int64_t store_batch_serial(struct store *s)
{
	int64_t v = store_serial(s) + 1, now = store_now();
	return v > now ? v : now;
}

int store_write_begin(struct store *s, char *err, size_t errlen)
{
	int rc = exec(s->db, "BEGIN IMMEDIATE", err, errlen);
	if (rc == DNSD_EBUSY)
		snprintf(err, errlen, "%s is locked by another writer; nothing was changed", s->path);
	return rc;
}

int store_journal_trim(struct store *s, int64_t max_age, int64_t max_rows)
{
	sqlite3_stmt *st;
	int rc = 0;
	const char *sql = "DELETE FROM journal WHERE at < ?1 OR seq <= "
			  "(SELECT ifnull(max(seq), 0) FROM journal) - ?2";
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return DNSD_ESTORE;
	/* Journal times come from SQLite's clock, not the test clock. */
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL) - max_age);
	sqlite3_bind_int64(st, 2, max_rows);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = DNSD_ESTORE;
	sqlite3_finalize(st);
	return rc;
}

int store_write_commit(struct store *s, char *err, size_t errlen)
{
	/* Seal the batch: its rows (stamped value + 1 by the triggers) get the serial
	 * it is served at, which moves once per batch and never below the clock, so a
	 * store rebuilt later starts above every serial the old one served (unless
	 * that one ran more batches than seconds). Then the serial takes it. */
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "UPDATE journal SET serial = max((SELECT value FROM serial WHERE id = 1) + 1, %lld) "
		 "WHERE serial > (SELECT value FROM serial WHERE id = 1);"
		 "UPDATE serial SET value = (SELECT max(serial) FROM journal) "
		 "WHERE id = 1 AND (SELECT max(serial) FROM journal) > value;",
		 (long long)store_now());
	int rc = exec(s->db, sql, err, errlen);
	if (!rc) {
		int64_t age = (int64_t)store_setting_int(s, "journal_max_age_days", 7) * 86400;
		int64_t rows = store_setting_int(s, "journal_max_rows", 1000000);
		if (store_journal_trim(s, age, rows))
			set_err(err, errlen, "journal trim", s->db), rc = DNSD_ESTORE;
	}
	if (!rc)
		rc = exec(s->db, "COMMIT", err, errlen);
	if (rc)
		store_write_rollback(s);
	return rc;
}

void store_write_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Steps the kept statement i (prepared from sql the first time) and returns its
 * first column, or def. */
static int64_t look_int(struct store *s, int i, const char *sql, int64_t def)
{
	if (!s->look[i] &&
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->look[i], NULL) != SQLITE_OK)
		return def;
	int64_t v = step_int(s->look[i], def);
	sqlite3_reset(s->look[i]);
	return v;
}

int store_changed(struct store *s)
{
	/* A real read, cheap, so that a store nobody can read is noticed (and said)
	 * even when nothing was committed. */
	if (look_int(s, 0, "SELECT value FROM serial WHERE id = 1", -1) < 0)
		return -1;
	int64_t v = look_int(s, 1, "PRAGMA data_version", -1);
	if (v < 0 || v != s->data_version) {
		s->data_version = v;
		return 1;
	}
	return 0;
}

/* ---- reading for dnsd ---- */

int store_mark_valid(const char *m)
{
	if (!m || strlen(m) != SCHEMA_MARK_LEN)
		return 0;
	for (const char *p = m; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7')))
			return 0;
	return 1;
}

/* Rows may come from anyone's SQL: each is checked as dnsdctl checks what it
 * writes, and one that fails is said (its text quoted escaped) and not served,
 * never taking the others with it. */
static void warnf(store_warn_fn warn, void *wctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warnf(store_warn_fn warn, void *wctx, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(wctx, msg);
}

/* 0 spf, 1 mx, 2 dmarc; -1 for a kind no store holds. */
static int policy_kind_index(const char *kind)
{
	static const char *const kinds[] = { "spf", "mx", "dmarc" };
	for (int i = 0; kind && i < 3; i++)
		if (!strcmp(kind, kinds[i]))
			return i;
	return -1;
}

/* A policy value loaded from a row: a copy of v, or, when v is NULL (the row is
 * invalid), the marker that makes the level answer nothing. */
static void pol_clear(char **slot)
{
	if (*slot != db_policy_blocked)
		free(*slot);
	*slot = NULL;
}

static void pol_set(char **slot, const char *v)
{
	pol_clear(slot);
	*slot = v ? strdup(v) : (char *)db_policy_blocked;
}

/* Checks policy row id (of scope, "global", "tenant 3" or "domain D"): returns
 * its kind's index (0 spf, 1 mx, 2 dmarc) with *use set to v, or to NULL when
 * the value must not be served (the level then answers nothing for its kind);
 * -1 for a row of no known kind, which is ignored. */
static int policy_row(int64_t id, const char *scope, const char *kind, const char *v,
		      const char **use, store_warn_fn warn, void *wctx)
{
	char why[256], q[96];
	int k = policy_kind_index(kind);
	*use = v;
	if (k < 0) {
		warnf(warn, wctx,
		      "store: policy row %lld (%s) ignored: its kind '%s' is not spf, mx or dmarc",
		      (long long)id, scope, names_show(q, sizeof(q), kind));
		return -1;
	}
	int bad = !v	   ? (snprintf(why, sizeof(why), "no value"), DNSD_EINVAL)
		  : k == 0 ? policy_spf_check(v, ".", NULL, NULL, NULL, why, sizeof(why))
		  : k == 1 ? policy_mx_check(v, why, sizeof(why))
			   : policy_dmarc_check(v, why, sizeof(why));
	if (bad) {
		warnf(warn, wctx, "store: policy row %lld (%s %s) not served, no %s there: %s: '%s'",
		      (long long)id, scope, kind, kind, why, names_show(q, sizeof(q), v));
		*use = NULL;
	}
	return k;
}

/* Checks a key row as dnsdctl's imports check a key: a public key within the
 * size limits, and an algorithm of its family (the served k= comes from it).
 * Returns 0, or DNSD_EINVAL with why. */
static int key_row(const char *alg, const char *pub, char *why, size_t n)
{
	char kalg[16], q[48];
	if (keys_check_public(pub, kalg, sizeof(kalg), why, n))
		return DNSD_EINVAL;
	if (!strcmp(alg, "ed25519") ? strcmp(kalg, "ed25519") != 0
				    : strncmp(alg, "rsa-", 4) || !strcmp(kalg, "ed25519")) {
		snprintf(why, n, "algorithm '%s' does not name its key, %s",
			 names_show(q, sizeof(q), alg), kalg);
		return DNSD_EINVAL;
	}
	return 0;
}

/* Loads the policies of one tenant (tenant_id > 0), the global ones (0), or all
 * tenant and global ones (-1) into e. */
static int load_policies(struct store *s, int64_t tenant_id, struct db_edit *e, store_warn_fn warn,
			 void *wctx)
{
	sqlite3_stmt *st;
	const char *sql =
		"SELECT ifnull(tenant_id, 0) AS t, kind, value, id FROM policies "
		"WHERE domain_id IS NULL AND (?1 < 0 OR ifnull(tenant_id, 0) = ?1) ORDER BY t";
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return DNSD_ESTORE;
	sqlite3_bind_int64(st, 1, tenant_id);
	int rc = 0, step;
	int64_t cur = -1;
	char *val[3] = {NULL, NULL, NULL}, scope[32] = "";
	for (;;) {
		step = sqlite3_step(st);
		int64_t t = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -2;
		if (cur >= 0 && t != cur) {
			rc = db_edit_put_policy(e, cur, val[0], val[1], val[2]);
			if (rc == DNSD_EINVAL) {
				/* Checked, yet not buildable: this level answers nothing,
				 * and every other level and domain is served. */
				warnf(warn, wctx, "store: the %s policies do not build: none is served there",
				      scope);
				rc = db_edit_put_policy(e, cur, db_policy_blocked,
							db_policy_blocked, db_policy_blocked);
			}
			for (int i = 0; i < 3; i++)
				pol_clear(&val[i]);
			if (rc)
				break;
		}
		if (step != SQLITE_ROW)
			break;
		cur = t;
		if (t)
			snprintf(scope, sizeof(scope), "tenant %lld", (long long)t);
		else
			snprintf(scope, sizeof(scope), "global");
		const char *v;
		int k = policy_row(sqlite3_column_int64(st, 3), scope,
				   (const char *)sqlite3_column_text(st, 1),
				   (const char *)sqlite3_column_text(st, 2), &v, warn, wctx);
		if (k >= 0)
			pol_set(&val[k], v);
	}
	if (!rc && step != SQLITE_DONE)
		rc = DNSD_ESTORE;
	/* A tenant or global level with no rows left: clear it. */
	if (!rc && tenant_id >= 0 && cur < 0)
		rc = db_edit_put_policy(e, tenant_id, NULL, NULL, NULL);
	for (int i = 0; i < 3; i++)
		pol_clear(&val[i]);
	sqlite3_finalize(st);
	return rc;
}

/* Per-domain scratch: the strings of one domain, copied out of SQLite's rows. */
struct dom_buf {
	struct db_domain_spec spec;
	char name[256], token[32], mark[16];
	char sel[DB_MAX_SLOTS][64];
	char txt[DB_MAX_SLOTS][2200];
	char *pol[3];
};

static void dom_reset(struct dom_buf *b)
{
	for (int i = 0; i < 3; i++)
		pol_clear(&b->pol[i]);
	memset(&b->spec, 0, sizeof(b->spec));
}

/* The tokens a change touched, sorted, to tell the domains that are gone. */
struct toklist {
	char (*t)[32];
	size_t n, cap;
};

static int toklist_add(struct toklist *l, const char *tok)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		char(*nt)[32] = realloc(l->t, nc * sizeof(*nt));
		if (!nt)
			return DNSD_ENOMEM;
		l->t = nt;
		l->cap = nc;
	}
	snprintf(l->t[l->n++], sizeof(l->t[0]), "%s", tok);
	return 0;
}

static int tokcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Loads domains with their slots, keys and domain-level policies: three
 * ordered scans merged by domain id. since < 0: every domain (a full load);
 * else only the domains the journal names after seq since, found by id, so
 * that a change costs what it touches, not what the store holds; their tokens
 * go to loaded. A removed domain's own policies are not served. */
static int load_domains(struct store *s, int64_t since, struct db_edit *e, store_warn_fn warn, void *wctx,
			int *found, struct toklist *loaded)
{
	static const char *const all[3] = {
		"SELECT id, tenant_id, name, token, state, mark FROM domains "
		"WHERE state IN ('active', 'removed') ORDER BY id",
		"SELECT s.domain_id, s.selector, k.algorithm, k.public_key, k.id FROM slots s "
		"JOIN domains d ON d.id = s.domain_id "
		"LEFT JOIN keys k ON k.slot_id = s.id AND k.state IN ('published', 'active', 'retired') "
		"WHERE d.state IN ('active', 'removed') ORDER BY s.domain_id, s.position",
		"SELECT p.domain_id, p.kind, p.value, p.id FROM policies p "
		"JOIN domains d ON d.id = p.domain_id WHERE d.state = 'active' ORDER BY p.domain_id",
	};
#define CHANGED "(SELECT DISTINCT domain_id AS id FROM journal WHERE seq > ?1 AND domain_id IS NOT NULL) j "
	static const char *const some[3] = {
		/* CROSS JOIN fixes SQLite's join order: from the few changed ids out,
		 * never a scan of every slot with a probe into the ids. The slots and
		 * policies of ids that are not (or no longer) served domains are
		 * skipped by the merge below, which follows the domains. */
		"SELECT d.id, d.tenant_id, d.name, d.token, d.state, d.mark FROM " CHANGED
		"CROSS JOIN domains d ON d.id = j.id WHERE d.state IN ('active', 'removed') ORDER BY d.id",
		"SELECT s.domain_id, s.selector, k.algorithm, k.public_key, k.id FROM " CHANGED
		"CROSS JOIN slots s ON s.domain_id = j.id "
		"LEFT JOIN keys k INDEXED BY keys_slot ON k.slot_id = s.id "
		"AND k.state IN ('published', 'active', 'retired') ORDER BY s.domain_id, s.position",
		"SELECT p.domain_id, p.kind, p.value, p.id FROM " CHANGED
		"CROSS JOIN policies p ON p.domain_id = j.id ORDER BY p.domain_id",
	};
#undef CHANGED
	sqlite3_stmt *st[3] = { NULL, NULL, NULL };
	int rc = 0, srow = SQLITE_DONE, prow = SQLITE_DONE, drow;
	struct dom_buf *b = calloc(1, sizeof(*b));
	if (!b)
		return DNSD_ENOMEM;
	*found = 0;
	for (int i = 0; i < 3; i++) {
		if (sqlite3_prepare_v2(s->db, since < 0 ? all[i] : some[i], -1, &st[i], NULL) != SQLITE_OK) {
			rc = DNSD_ESTORE;
			goto out;
		}
		if (since >= 0)
			sqlite3_bind_int64(st[i], 1, since);
	}
	srow = sqlite3_step(st[1]);
	prow = sqlite3_step(st[2]);
	while ((drow = sqlite3_step(st[0])) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st[0], 0);
		dom_reset(b);
		struct db_domain_spec *d = &b->spec;
		d->id = id;
		d->tenant_id = sqlite3_column_int64(st[0], 1);
		snprintf(b->name, sizeof(b->name), "%s", (const char *)sqlite3_column_text(st[0], 2));
		snprintf(b->token, sizeof(b->token), "%s", (const char *)sqlite3_column_text(st[0], 3));
		d->name = b->name;
		d->token = b->token;
		d->removed = strcmp((const char *)sqlite3_column_text(st[0], 4), "removed") == 0;
		/* The marker (dnsdctl check's probe) goes into every DKIM TXT as n=,
		 * which verifiers ignore; one that is not a mark is not served. */
		const char *mk = (const char *)sqlite3_column_text(st[0], 5);
		snprintf(b->mark, sizeof(b->mark), "%s", store_mark_valid(mk) ? mk : "");
		/* The row itself first: a name or token that is not one serves nothing. */
		char why[256], qn[96], qt[48];
		int bad = names_domain(b->name, why, sizeof(why));
		if (!bad && !keys_token_valid(b->token))
			bad = DNSD_EINVAL, snprintf(why, sizeof(why), "token '%s' is not 16 characters of a-z, 2-7",
						    names_show(qt, sizeof(qt), b->token));
		if (bad)
			warnf(warn, wctx,
			      "store: domain row %lld not served, its names answer NXDOMAIN: %s",
			      (long long)id, why);
		names_show(qn, sizeof(qn), b->name);
		for (; srow == SQLITE_ROW && sqlite3_column_int64(st[1], 0) <= id; srow = sqlite3_step(st[1])) {
			if (sqlite3_column_int64(st[1], 0) < id || bad)
				continue;
			const char *sel = (const char *)sqlite3_column_text(st[1], 1);
			const char *alg = (const char *)sqlite3_column_text(st[1], 2);
			const char *pub = (const char *)sqlite3_column_text(st[1], 3);
			char qs[96];
			if (!names_label(sel, 63)) {
				warnf(warn, wctx, "store: domain %s: slot '%s' not served: not a DNS label",
				      qn, names_show(qs, sizeof(qs), sel));
				continue;
			}
			if (d->nslots == DB_MAX_SLOTS) {
				warnf(warn, wctx,
				      "store: domain %s: slot %s not served: more than %d slots",
				      qn, sel, DB_MAX_SLOTS);
				continue;
			}
			int n = d->nslots++;
			snprintf(b->sel[n], sizeof(b->sel[n]), "%s", sel);
			d->slots[n].selector = b->sel[n];
			d->slots[n].txt = NULL;
			if (alg && pub) {
				if (key_row(alg, pub, why, sizeof(why))) {
					warnf(warn, wctx,
					      "store: domain %s selector %s: key %lld not served, "
					      "the selector answers NODATA: %s",
					      qn, sel, (long long)sqlite3_column_int64(st[1], 4),
					      why);
					d->slots[n].txt = db_key_blocked;
					continue;
				}
				snprintf(b->txt[n], sizeof(b->txt[n]), "v=DKIM1; k=%s; %s%s%sp=%s",
					 strcmp(alg, "ed25519") ? "rsa" : "ed25519",
					 b->mark[0] ? "n=" : "", b->mark, b->mark[0] ? "; " : "", pub);
				d->slots[n].txt = b->txt[n];
			} else if (b->mark[0]) {
				/* No key: the revoked form, marked too, so that a copy of an
				 * empty slot shows before a key is published there. */
				snprintf(b->txt[n], sizeof(b->txt[n]), "v=DKIM1; n=%s; p=", b->mark);
				d->slots[n].txt = b->txt[n];
			}
		}
		for (; prow == SQLITE_ROW && sqlite3_column_int64(st[2], 0) <= id; prow = sqlite3_step(st[2])) {
			if (sqlite3_column_int64(st[2], 0) < id || d->removed || bad)
				continue;
			char scope[128];
			const char *v;
			snprintf(scope, sizeof(scope), "domain %s", qn);
			int k = policy_row(sqlite3_column_int64(st[2], 3), scope,
					   (const char *)sqlite3_column_text(st[2], 1),
					   (const char *)sqlite3_column_text(st[2], 2), &v, warn,
					   wctx);
			if (k >= 0)
				pol_set(&b->pol[k], v);
		}
		d->spf = b->pol[0];
		d->mx = b->pol[1];
		d->dmarc = b->pol[2];
		if (bad)
			continue;
		if ((rc = db_edit_put_domain(e, d)) == DNSD_EINVAL) {
			warnf(warn, wctx, "store: domain %s (token %s) not served: the row does not build",
			      qn, b->token);
			rc = 0;
			continue;
		}
		if (rc)
			goto out;
		(*found)++;
		if (loaded && (rc = toklist_add(loaded, b->token)))
			goto out;
	}
	if (drow != SQLITE_DONE || (srow != SQLITE_DONE && srow != SQLITE_ROW) ||
	    (prow != SQLITE_DONE && prow != SQLITE_ROW))
		rc = DNSD_ESTORE;
out:
	for (int i = 0; i < 3; i++)
		sqlite3_finalize(st[i]);
	dom_reset(b);
	free(b);
	return rc;
}

int store_read_changes(struct store *s, uint64_t seq, struct db_edit *e, struct store_changes *ch,
		       store_warn_fn warn, void *wctx, char *err, size_t errlen)
{
	int rc = exec(s->db, "BEGIN", err, errlen);
	if (rc)
		return rc;
	sqlite3_stmt *st = NULL;
	struct toklist loaded = { 0 };
	memset(ch, 0, sizeof(*ch));
	ch->seq = seq;
	int64_t maxseq = query_int(s->db, "SELECT seq FROM sqlite_sequence WHERE name = 'journal'", 0);
	int64_t minseq = query_int(s->db, "SELECT min(seq) FROM journal", -1);
	ch->set.serial = (uint32_t)store_serial(s);
	{
		sqlite3_stmt *zd;
		if (sqlite3_prepare_v2(s->db, "SELECT zone_digest FROM serial WHERE id = 1", -1, &zd, NULL) == SQLITE_OK) {
			if (sqlite3_step(zd) == SQLITE_ROW) {
				const char *h = (const char *)sqlite3_column_text(zd, 0);
				ch->have_zone_digest = h && strlen(h) == 64;
				for (int i = 0; ch->have_zone_digest && i < 32; i++) {
					unsigned v;
					if (sscanf(h + 2 * i, "%2x", &v) != 1)
						ch->have_zone_digest = 0;
					ch->zone_digest[i] = (uint8_t)v;
				}
			}
			sqlite3_finalize(zd);
		}
	}
	ch->set.ttl_dkim = (uint32_t)store_setting_int(s, "ttl_dkim", 3600);
	ch->set.ttl_policy = (uint32_t)store_setting_int(s, "ttl_policy", 3600);
	if (seq != 0 && (uint64_t)maxseq == seq) {
		exec(s->db, "COMMIT", NULL, 0);
		return 0;
	}
	ch->full = seq == 0 || (uint64_t)maxseq < seq || (minseq < 0 ? (uint64_t)maxseq > seq : (uint64_t)minseq > seq + 1);
	if (!ch->full) {
		char q[128];
		snprintf(q, sizeof(q), "SELECT count(*) FROM journal WHERE seq > %llu AND tbl = 'settings'",
			 (unsigned long long)seq);
		ch->full = query_int(s->db, q, 1) > 0;
	}
	db_edit_settings(e, &ch->set, (uint64_t)maxseq);
	int found;
	if (ch->full) {
		if ((rc = db_edit_clear(e)) || (rc = load_policies(s, -1, e, warn, wctx)) ||
		    (rc = load_domains(s, -1, e, warn, wctx, &found, NULL)))
			goto fail;
	} else {
		/* The domains the journal names, in one go; those it names that are
		 * no longer served (purged, or never valid) are dropped below. */
		if ((rc = load_domains(s, (int64_t)seq, e, warn, wctx, &found, &loaded)))
			goto fail;
		if (loaded.n)
			qsort(loaded.t, loaded.n, sizeof(*loaded.t), tokcmp);
		const char *sql =
			"SELECT DISTINCT token, NULL FROM journal WHERE seq > ?1 AND token IS NOT NULL "
			"UNION ALL SELECT DISTINCT NULL, ifnull(tenant_id, 0) FROM journal "
			"WHERE seq > ?1 AND tbl = 'policies' AND domain_id IS NULL";
		if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
			rc = DNSD_ESTORE;
			goto fail;
		}
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		int step;
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
				char tok[32];
				snprintf(tok, sizeof(tok), "%s", (const char *)sqlite3_column_text(st, 0));
				if (!(loaded.n && bsearch(tok, loaded.t, loaded.n, sizeof(*loaded.t), tokcmp)) &&
				    (rc = db_edit_del_domain(e, tok)) && rc != DNSD_EINVAL)
					goto fail;
				rc = 0;
			} else if ((rc = load_policies(s, sqlite3_column_int64(st, 1), e, warn, wctx))) {
				goto fail;
			}
		}
		if (step != SQLITE_DONE) {
			rc = DNSD_ESTORE;
			goto fail;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	ch->seq = (uint64_t)maxseq;
	exec(s->db, "COMMIT", NULL, 0);
	free(loaded.t);
	return 0;
fail:
	free(loaded.t);
	if (rc == DNSD_ESTORE || rc == DNSD_EBUSY)
		set_err(err, errlen, "reading the store", s->db);
	else
		snprintf(err, errlen, "reading the store: %s", dnsd_strerror(rc));
	sqlite3_finalize(st);
	exec(s->db, "ROLLBACK", NULL, 0);
	return rc ? rc : DNSD_ESTORE;
}

int store_zone_note(struct store *s, uint32_t file_serial, const uint8_t digest[32], char *err, size_t errlen)
{
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE serial SET value = max(value + 1, ?1 + 1), zone_digest = ?2 WHERE id = 1 "
			       "AND (zone_digest IS NOT ?2 OR value <= ?1)",
			       -1, &st, NULL)) {
		set_err(err, errlen, "recording the zone file", s->db);
		return DNSD_ESTORE;
	}
	sqlite3_bind_int64(st, 1, file_serial);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : DNSD_ESTORE;
	if (rc)
		set_err(err, errlen, "recording the zone file", s->db);
	sqlite3_finalize(st);
	return rc;
}

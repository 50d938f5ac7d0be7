/* backup: dnsdctl backup FILE and restore FILE: copies of the store taken and put
 * back through SQLite's own machinery, never by moving files over a live store
 * (a file renamed over a store in WAL mode is read with the old -wal's pages mixed
 * in: dnsd served the old data beside the new rows, and integrity_check said ok). */
#include "ctl.h"
#include "err.h"
#include "fsafe.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* backup FILE: a consistent copy of the store as of one moment (VACUUM INTO reads
 * in one transaction), never over an existing file. */
static void cmd_backup(struct ctx *c, const char *file)
{
	struct stat st;
	if (lstat(file, &st) == 0)
		fail(NULL, "%s exists; a backup never replaces a file", file);
	open_store(c, 0);
	sqlite3_stmt *s = prep(c, "VACUUM INTO ?");
	sqlite3_bind_text(s, 1, file, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		int full = sqlite3_errcode(c->db) == SQLITE_FULL;
		unlink(file);
		fail(NULL, "backup to %s failed: %s", file,
		     full ? "disk full" : sqlite3_errmsg(c->db));
	}
	printf("backup of %s (serial %lld) written to %s\n", c->o.db,
	       (long long)store_serial(c->st), file);
}

/* Checks that file is a dnsd store of our zone, whole; returns it open, read-only. */
static sqlite3 *open_backup(struct ctx *c, const char *file)
{
	sqlite3 *b = NULL;
	char why[1200];
	if (fsafe_check(file, FSAFE_READ, why, sizeof(why)))
		fail(NULL, "refusing the backup: %s", why);
	if (sqlite3_open_v2(file, &b, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fail(NULL, "cannot open %s: %s", file, b ? sqlite3_errmsg(b) : "out of memory");
	}
	const char *bad = NULL;
	char zone[300] = "";
	int64_t ver = -1;
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(b, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			ver = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	if (ver < 1 || ver > STORE_SCHEMA_VERSION)
		bad = "not a dnsd store this dnsdctl knows";
	if (!bad && sqlite3_prepare_v2(b, "SELECT value FROM settings WHERE name = 'zone'", -1, &s,
				       NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			snprintf(zone, sizeof(zone), "%s", sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	if (!bad && strcmp(zone, c->zone))
		bad = "a store of another zone";
	if (!bad && sqlite3_prepare_v2(b, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(s, 0), "ok"))
			bad = "damaged (integrity_check failed)";
		sqlite3_finalize(s);
	}
	if (bad) {
		sqlite3_close(b);
		fail(NULL, "%s is %s; nothing was changed", file, bad);
	}
	return b;
}

/* restore FILE: the store's content becomes FILE's, in one SQLite transaction
 * (the backup API), while dnsd keeps reading; then one batch moves the serial
 * above the one before and journals a settings change, so that dnsd and the
 * secondaries reload in full and the serial never goes back. */
static void cmd_restore(struct ctx *c, const char *file)
{
	open_store(c, 0);
	sqlite3 *b = open_backup(c, file);
	int64_t serial0 = store_serial(c->st);
	int64_t seq0 =
		one_int(c, q(c, "SELECT seq FROM sqlite_sequence WHERE name = 'journal'", ""), 0);
	sqlite3_backup *bk = sqlite3_backup_init(c->db, "main", b, "main");
	if (!bk) {
		sqlite3_close(b);
		fail(NULL, "cannot restore: %s; nothing was changed", sqlite3_errmsg(c->db));
	}
	int rc;
	while ((rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(100);
	sqlite3_backup_finish(bk);
	sqlite3_close(b);
	if (rc != SQLITE_DONE)
		fail(NULL, "cannot restore: %s; nothing was changed",
		     rc == SQLITE_FULL ? "disk full" : sqlite3_errstr(rc));
	/* Bring an older backup's schema up to date, then seal. */
	wr_close(&c->w);
	memset(&c->w, 0, sizeof(c->w));
	open_store(c, 0);
	begin(c);
	run(c, q(c, "UPDATE serial SET value = max(value, ?) WHERE id = 1", "i", serial0));
	run(c,
	    q(c, "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'journal'", "i", seq0));
	run(c, q(c,
		 "INSERT INTO settings(name, value) VALUES ('restored_at', ?1) "
		 "ON CONFLICT(name) DO UPDATE SET value = ?1",
		 "i", store_now()));
	commit(c);
	printf("restored %s from %s: serial %lld (was %lld); dnsd reloads it in full\n", c->o.db,
	       file, (long long)store_serial(c->st), (long long)serial0);
}

void cmd_backup_restore(struct ctx *c)
{
	const char *cmd = c->o.pos[0];
	if (c->o.npos != 2)
		die_usage("%s FILE", cmd);
	if (!strcmp(cmd, "backup"))
		cmd_backup(c, c->o.pos[1]);
	else
		cmd_restore(c, c->o.pos[1]);
}

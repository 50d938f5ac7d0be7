/* backup: dnsdctl backup and restore's store part (backup.h). */
#include "backup.h"
#include "err.h"
#include "fsafe.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int backup_write(struct wr *w, const char *file, int64_t *serial)
{
	struct stat st;
	if (lstat(file, &st) == 0)
		return wr_fail(w, DNSD_EEXIST, "file", "%s exists; a backup never replaces a file",
			       file);
	sqlite3_stmt *s = wr_q(w, "VACUUM INTO ?", "s", file);
	if (!s)
		return w->rc;
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		int full = sqlite3_errcode(w->db) == SQLITE_FULL;
		wr_fail(w, full ? DNSD_EFULL : DNSD_ESTORE, NULL, "backup to %s failed: %s", file,
			full ? "disk full" : sqlite3_errmsg(w->db));
		unlink(file);
		return w->rc;
	}
	if (serial)
		*serial = store_serial(w->st);
	return 0;
}

/* One value of a statement on b: its first column as text into out (or "" when none); the
 * integer of it into *v (may be NULL). */
static void one(sqlite3 *b, const char *sql, char *out, size_t n, int64_t *v)
{
	sqlite3_stmt *s;
	out[0] = 0;
	if (sqlite3_prepare_v2(b, sql, -1, &s, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		snprintf(out, n, "%s", t ? t : "");
		if (v)
			*v = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
}

/* Checks that file is a whole dnsd store of w's zone; returns it open, read-only, or NULL with
 * the error set. */
static sqlite3 *open_backup(struct wr *w, const char *file)
{
	sqlite3 *b = NULL;
	char why[1200], zone[300], ok[64];
	int64_t ver = -1;
	if (fsafe_check(file, FSAFE_READ, why, sizeof(why))) {
		wr_fail(w, DNSD_EPERM, "file", "refusing the backup: %s", why);
		return NULL;
	}
	if (sqlite3_open_v2(file, &b, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		wr_fail(w, DNSD_EINVAL, "file", "cannot open %s: %s", file,
			b ? sqlite3_errmsg(b) : "out of memory");
		sqlite3_close(b);
		return NULL;
	}
	const char *bad = NULL;
	one(b, "PRAGMA user_version", why, sizeof(why), &ver);
	if (ver < 1 || ver > STORE_SCHEMA_VERSION)
		bad = "not a dnsd store this dnsdctl knows";
	if (!bad)
		one(b, "SELECT value FROM settings WHERE name = 'zone'", zone, sizeof(zone), NULL);
	if (!bad && strcmp(zone, w->zone))
		bad = "a store of another zone";
	if (!bad)
		one(b, "PRAGMA integrity_check", ok, sizeof(ok), NULL);
	if (!bad && strcmp(ok, "ok"))
		bad = "damaged (integrity_check failed)";
	if (bad) {
		sqlite3_close(b);
		wr_fail(w, DNSD_EINVAL, "file", "%s is %s; nothing was changed", file, bad);
		return NULL;
	}
	return b;
}

int backup_restore(struct wr *w, const char *file, int64_t *before, int64_t *after)
{
	sqlite3 *b = open_backup(w, file);
	if (!b)
		return w->rc;
	int64_t serial0 = store_serial(w->st);
	int64_t seq0 =
		wr_int(w, wr_q(w, "SELECT seq FROM sqlite_sequence WHERE name = 'journal'", ""), 0);
	sqlite3_backup *bk = w->rc ? NULL : sqlite3_backup_init(w->db, "main", b, "main");
	if (!bk) {
		sqlite3_close(b);
		return w->rc ? w->rc
			     : wr_fail(w, DNSD_ESTORE, NULL,
				       "cannot restore: %s; nothing was changed",
				       sqlite3_errmsg(w->db));
	}
	int rc;
	while ((rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(100);
	sqlite3_backup_finish(bk);
	sqlite3_close(b);
	if (rc != SQLITE_DONE)
		return wr_fail(w, rc == SQLITE_FULL ? DNSD_EFULL : DNSD_ESTORE, NULL,
			       "cannot restore: %s; nothing was changed",
			       rc == SQLITE_FULL ? "disk full" : sqlite3_errstr(rc));
	/* Bring an older backup's schema up to date (the opening does), then seal. */
	struct wr_conf conf = w->conf;
	wr_warn_fn warn = w->warn;
	void *warn_arg = w->warn_arg;
	wr_close(w);
	memset(w, 0, sizeof(*w));
	w->warn = warn;
	w->warn_arg = warn_arg;
	if (wr_open(w, &conf, 0) || wr_begin(w))
		return w->rc;
	wr_run(w, wr_q(w, "UPDATE serial SET value = max(value, ?) WHERE id = 1", "i", serial0));
	wr_run(w, wr_q(w, "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'journal'",
		       "i", seq0));
	wr_run(w, wr_q(w,
		       "INSERT INTO settings(name, value) VALUES ('restored_at', ?1) "
		       "ON CONFLICT(name) DO UPDATE SET value = ?1",
		       "i", store_now()));
	if (w->rc) {
		wr_rollback(w);
		return w->rc;
	}
	if (wr_commit(w))
		return w->rc;
	if (before)
		*before = serial0;
	if (after)
		*after = store_serial(w->st);
	return 0;
}
